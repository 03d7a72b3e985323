-- Meta's template analytics per button (`clicked[].button_content`), summed over products:
-- which of a template's buttons people press, day by day.
CREATE TABLE template_daily_buttons (
    template_row INTEGER NOT NULL REFERENCES templates(id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    -- Meta's click type: url_button, quick_reply_button, unique_url_button, ...
    kind TEXT NOT NULL,
    button TEXT NOT NULL,
    clicks BIGINT NOT NULL,
    PRIMARY KEY (template_row, day, kind, button)
);
