-- Observed deliveries per template, day, recipient country and pricing category: what a cost
-- estimate multiplies by the rate card where Meta reports no cost (EU and Japan WABAs, Kapso,
-- observed-only numbers); Meta charges a template message when it is delivered. Kept by the
-- webhook writer as it counts each `delivered`; the country is
-- read from the recipient's calling code (or a business-scoped user id's prefix), `ZZ` when
-- unknown. `category` is Meta's pricing category from the status (empty when none said).
CREATE TABLE template_daily_countries (
    template_row INTEGER NOT NULL REFERENCES templates(id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    country TEXT NOT NULL,
    category TEXT NOT NULL,
    delivered BIGINT NOT NULL,
    PRIMARY KEY (template_row, day, country, category)
);
-- Estimates read a period of days.
CREATE INDEX template_daily_countries_day ON template_daily_countries (day, template_row);

-- The messages already stored, with the same calling codes as `pricing::country_of`.
INSERT INTO template_daily_countries (template_row, day, country, category, delivered)
SELECT template_row, day, country, category, COUNT(*) FROM (
    SELECT template_row, day, UPPER(COALESCE(category, '')) AS category,
      CASE
        WHEN recipient GLOB '[A-Za-z][A-Za-z].*' THEN UPPER(SUBSTR(recipient, 1, 2))
        WHEN d LIKE '966%' THEN 'SA'
        WHEN d LIKE '971%' THEN 'AE'
        WHEN d LIKE '358%' THEN 'FI'
        WHEN d LIKE '353%' THEN 'IE'
        WHEN d LIKE '351%' THEN 'PT'
        WHEN d LIKE '91%' THEN 'IN'
        WHEN d LIKE '55%' THEN 'BR'
        WHEN d LIKE '62%' THEN 'ID'
        WHEN d LIKE '52%' THEN 'MX'
        WHEN d LIKE '49%' THEN 'DE'
        WHEN d LIKE '44%' THEN 'GB'
        WHEN d LIKE '34%' THEN 'ES'
        WHEN d LIKE '39%' THEN 'IT'
        WHEN d LIKE '33%' THEN 'FR'
        WHEN d LIKE '43%' THEN 'AT'
        WHEN d LIKE '32%' THEN 'BE'
        WHEN d LIKE '45%' THEN 'DK'
        WHEN d LIKE '30%' THEN 'GR'
        WHEN d LIKE '31%' THEN 'NL'
        WHEN d LIKE '47%' THEN 'NO'
        WHEN d LIKE '46%' THEN 'SE'
        WHEN d LIKE '41%' THEN 'CH'
        WHEN d LIKE '1%' THEN 'US'
        ELSE 'ZZ'
      END AS country
    FROM (SELECT template_row, day, category, recipient, LTRIM(recipient, '+') AS d FROM messages
          WHERE template_row IS NOT NULL AND delivered_at IS NOT NULL)
)
GROUP BY template_row, day, country, category;
