-- Meta's template analytics per product (Cloud API, Marketing Messages API), with unique URL
-- clicks kept apart from total clicks. The origin 'meta' row of template_daily_stats holds the
-- sum over products, so the roll-ups and their triggers are unchanged; this table is the split
-- the template page shows.
CREATE TABLE template_daily_products (
    template_row INTEGER NOT NULL REFERENCES templates(id),
    day TEXT NOT NULL,
    product TEXT NOT NULL,
    sent BIGINT NOT NULL DEFAULT 0,
    delivered BIGINT NOT NULL DEFAULT 0,
    read BIGINT NOT NULL DEFAULT 0,
    clicked BIGINT NOT NULL DEFAULT 0,
    unique_clicked BIGINT NOT NULL DEFAULT 0,
    cost DOUBLE NOT NULL DEFAULT 0,
    PRIMARY KEY (template_row, day, product)
);
