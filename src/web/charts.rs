//! Charts as SVG rendered on the server: readable without JavaScript, no CDN. A line chart
//! carries its own legend (each series has a colour, a dash pattern and a marker shape, so
//! colour is never the only difference), leaves a gap where a rate is undefined, and shows
//! every series' value for the day under the pointer (CSS `:hover`, plus a `<title>` tooltip).
//! Text sizes follow the card's width (container queries in `app.css`), so labels stay
//! readable on a phone. Only numbers and dates (which we format) go into the SVG, so nothing
//! upstream sent needs escaping here.

use std::fmt::Write;

/// One line of a chart: `None` where the value is undefined (a rate on a day with no sends).
pub struct Series<'a> {
    pub label: &'a str,
    /// `s1`..`s4`: colour, dash pattern and marker together.
    pub class: &'a str,
    pub values: Vec<Option<f64>>,
}

/// What the values are: counts get integer ticks, rates percent ticks from 0 to 100 %.
#[derive(Clone, Copy, PartialEq)]
pub enum Scale {
    Count,
    Rate,
}

const W: f64 = 1100.0;
const H: f64 = 280.0;
const PAD_L: f64 = 120.0;
const PAD_R: f64 = 16.0;
const PAD_B: f64 = 44.0;
/// Room above the plot for the readout of the day under the pointer.
const PAD_T: f64 = 52.0;
/// Days up to which a chart carries a per-day readout.
const MAX_READOUTS: usize = 186;
/// Date labels along the x axis at most.
const X_LABELS: usize = 7;

/// Ticks from 0: a "nice" step (1, 2 or 5 times a power of ten; at least 1 for counts) and
/// the top of the axis. Never two equal labels.
pub fn ticks(max: f64, scale: Scale) -> Vec<f64> {
    if scale == Scale::Rate {
        return vec![0.0, 0.25, 0.5, 0.75, 1.0];
    }
    let max = max.max(1.0);
    let raw = max / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
        .max(1.0)
        .round();
    let top = (max / step).ceil() * step;
    (0..=((top / step) as usize))
        .map(|i| i as f64 * step)
        .collect()
}

/// A tick or readout label: `12`, `1.5k`, `2M`, `45%`.
fn label(v: f64, scale: Scale) -> String {
    match scale {
        Scale::Rate => format!("{:.0}%", v * 100.0),
        Scale::Count if v >= 1_000_000.0 => trim(format!("{:.1}", v / 1e6)) + "M",
        Scale::Count if v >= 10_000.0 => trim(format!("{:.1}", v / 1e3)) + "k",
        Scale::Count => format!("{v:.0}"),
    }
}

fn trim(s: String) -> String {
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// The exact value for the readout: every digit of a count, one decimal of a rate.
fn exact(v: Option<f64>, scale: Scale) -> String {
    match (v, scale) {
        (None, _) => "—".into(),
        (Some(v), Scale::Rate) => format!("{:.1}%", v * 100.0),
        (Some(v), Scale::Count) => crate::web::fmt::int(v as i64),
    }
}

/// A small SVG of one series' line and marker, for the legend.
fn key(class: &str) -> String {
    format!(
        r#"<svg class="key" viewBox="0 0 30 12" aria-hidden="true"><line class="line {class}" x1="1" y1="6" x2="29" y2="6"/>{}</svg>"#,
        marker(class, 15.0, 6.0, 4.0)
    )
}

/// The marker of a series: circle, square, triangle or diamond.
fn marker(class: &str, x: f64, y: f64, r: f64) -> String {
    match class {
        "s2" => format!(
            r#"<rect class="mark {class}" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}"/>"#,
            x - r,
            y - r,
            2.0 * r,
            2.0 * r
        ),
        "s3" => format!(
            r#"<path class="mark {class}" d="M{x:.1},{:.1}L{:.1},{:.1}L{:.1},{:.1}Z"/>"#,
            y - r,
            x + r,
            y + r,
            x - r,
            y + r
        ),
        "s4" => format!(
            r#"<path class="mark {class}" d="M{x:.1},{:.1}L{:.1},{y:.1}L{x:.1},{:.1}L{:.1},{y:.1}Z"/>"#,
            y - r,
            x + r,
            y + r,
            x - r
        ),
        _ => format!(r#"<circle class="mark {class}" cx="{x:.1}" cy="{y:.1}" r="{r:.1}"/>"#),
    }
}

/// A line chart of `series` over `days` (`YYYY-MM-DD`), with its legend; `empty` instead when
/// no series has a value above zero.
pub fn lines(days: &[String], series: &[Series<'_>], scale: Scale, empty: &str) -> String {
    marked(days, series, scale, empty, &[])
}

/// [`lines`] with labelled vertical marks: (day index, label), e.g. where a template's content
/// version changed. Labels are ours (`v2`), never upstream text.
pub fn marked(
    days: &[String],
    series: &[Series<'_>],
    scale: Scale,
    empty: &str,
    marks: &[(usize, String)],
) -> String {
    let any = series
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .any(|v| *v > 0.0);
    if !any || days.is_empty() {
        return format!(r#"<p class="empty muted">{empty}</p>"#);
    }
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().flatten().copied())
        .fold(0.0, f64::max);
    let ticks = ticks(max, scale);
    let top = ticks.last().copied().unwrap_or(1.0).max(f64::MIN_POSITIVE);
    let n = days.len();
    let plot_w = W - PAD_L - PAD_R;
    let step = if n > 1 { plot_w / (n - 1) as f64 } else { 0.0 };
    let x = |i: usize| {
        if n == 1 {
            PAD_L + plot_w / 2.0
        } else {
            PAD_L + step * i as f64
        }
    };
    let y = |v: f64| PAD_T + (H - PAD_T - PAD_B) * (1.0 - (v / top).clamp(0.0, 1.0));

    let mut s = String::from(r#"<figure class="linechart"><ul class="legend">"#);
    for se in series {
        let _ = write!(s, "<li>{}{}</li>", key(se.class), se.label);
    }
    let names: Vec<&str> = series.iter().map(|se| se.label).collect();
    let _ = write!(
        s,
        r#"</ul><svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{} per day, {} to {}" xmlns="http://www.w3.org/2000/svg">"#,
        names.join(", "),
        days[0],
        days[n - 1]
    );
    for t in &ticks {
        let _ = write!(
            s,
            r#"<line class="grid" x1="{PAD_L}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}"/><text class="axis" x="{:.1}" y="{:.1}" text-anchor="end" dominant-baseline="middle">{}</text>"#,
            W - PAD_R,
            PAD_L - 10.0,
            y(*t),
            label(*t, scale),
            y = y(*t)
        );
    }
    x_labels(&mut s, days, &x);
    for se in series {
        let _ = write!(
            s,
            r#"<path class="line {}" d="{}"/>"#,
            se.class,
            path(&se.values, &x, &y)
        );
        if n <= 45 {
            for (i, v) in se.values.iter().enumerate() {
                if let Some(v) = v {
                    s.push_str(&marker(se.class, x(i), y(*v), 5.0));
                }
            }
        }
    }
    for (i, text) in marks.iter().filter(|(i, _)| *i < n) {
        let _ = write!(
            s,
            r#"<line class="vmark" x1="{x:.1}" x2="{x:.1}" y1="{PAD_T}" y2="{:.1}"/><text class="axis vmark" x="{x:.1}" y="{:.1}" text-anchor="middle">{text}</text>"#,
            H - PAD_B,
            PAD_T - 6.0,
            x = x(*i)
        );
    }
    // A readout per day up to half a year; a ten-year chart would carry 3,650 of them (about
    // 1.5 MB a page: 265 MB peak RSS in the dashboard benchmark's 128-long-periods burst).
    if n <= MAX_READOUTS {
        readouts(&mut s, days, series, scale, &x, step);
    }
    s.push_str("</svg></figure>");
    s
}

/// Date labels: the first and the last always (anchored inwards, so neither is clipped) and
/// evenly spaced ones between, at most [`X_LABELS`] in all.
fn x_labels(s: &mut String, days: &[String], x: &dyn Fn(usize) -> f64) {
    let n = days.len();
    let every = n.div_ceil(X_LABELS).max(1);
    for (i, d) in days.iter().enumerate() {
        let last = i + 1 == n;
        // Every `every`-th day and the last; a middle label closer than that to the last
        // would run into it (the last is anchored at its end).
        if !(last || (i % every == 0 && n - 1 - i >= every)) {
            continue;
        }
        let anchor = match (i, last) {
            (0, _) if n > 1 => "start",
            (_, true) if n > 1 => "end",
            _ => "middle",
        };
        // Month and day; the year too when the period is longer than about ten months.
        let shown = if n > 300 {
            d.as_str()
        } else {
            d.get(5..).unwrap_or(d)
        };
        let _ = write!(
            s,
            r#"<text class="axis" x="{:.1}" y="{:.1}" text-anchor="{anchor}">{shown}</text>"#,
            x(i),
            H - 12.0,
        );
    }
}

/// The line through the defined values; an undefined value breaks it.
fn path(values: &[Option<f64>], x: &dyn Fn(usize) -> f64, y: &dyn Fn(f64) -> f64) -> String {
    let mut d = String::new();
    let mut pen_down = false;
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) => {
                let _ = write!(
                    d,
                    "{}{:.1},{:.1}",
                    if pen_down { "L" } else { "M" },
                    x(i),
                    y(*v)
                );
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    d
}

/// One invisible column per day: under the pointer it shows a guide line and every series'
/// value for that day at the top of the chart; its `<title>` says the same as a tooltip.
fn readouts(
    s: &mut String,
    days: &[String],
    series: &[Series<'_>],
    scale: Scale,
    x: &dyn Fn(usize) -> f64,
    step: f64,
) {
    let n = days.len();
    let width = if n > 1 { step } else { W - PAD_L - PAD_R };
    for (i, day) in days.iter().enumerate() {
        let values: Vec<String> = series
            .iter()
            .map(|se| {
                format!(
                    "{} {}",
                    se.label,
                    exact(se.values.get(i).copied().flatten(), scale)
                )
            })
            .collect();
        let text = format!("{day} · {}", values.join(" · "));
        let cx = x(i);
        let (tx, anchor) = if cx < W / 2.0 {
            (cx.max(PAD_L), "start")
        } else {
            (cx.min(W - PAD_R), "end")
        };
        let _ = write!(
            s,
            r#"<g class="col"><rect class="hit" x="{:.1}" y="0" width="{:.1}" height="{H}"/><line class="guide" x1="{cx:.1}" x2="{cx:.1}" y1="{PAD_T}" y2="{:.1}"/><text class="readout" x="{tx:.1}" y="4" text-anchor="{anchor}" dominant-baseline="hanging">{text}</text><title>{text}</title></g>"#,
            cx - width / 2.0,
            width,
            H - PAD_B,
        );
    }
}

/// Horizontal funnel bars: (label, value), widths against the first step; each step after
/// the first says its share of the step before, which is how templar defines every rate
/// (delivered ÷ sent is the delivery rate, read ÷ delivered the read rate).
pub fn funnel(steps: &[(&str, i64)]) -> String {
    let top = steps.first().map_or(0, |s| s.1).max(1) as f64;
    let row = 40.0;
    let h = row * steps.len() as f64 + 4.0;
    let mut s = format!(
        r#"<svg class="chart funnel" viewBox="0 0 {W} {h}" role="img" aria-label="funnel" xmlns="http://www.w3.org/2000/svg">"#
    );
    for (i, (label, v)) in steps.iter().enumerate() {
        let w = (W - 520.0) * (*v as f64 / top).min(1.0);
        let y = i as f64 * row + 2.0;
        let share = match i.checked_sub(1).and_then(|p| steps.get(p)) {
            Some((before, n)) if *n > 0 => {
                format!(" · {:.1} % of {before}", *v as f64 * 100.0 / *n as f64)
            }
            Some((before, _)) => format!(" · none {before}"),
            None => String::new(),
        };
        let count = crate::web::fmt::int(*v);
        let _ = write!(
            s,
            r#"<text class="axis" x="0" y="{:.1}">{label}</text><rect class="bar s{}" x="160" y="{y:.1}" width="{w:.1}" height="{}" rx="3"><title>{label}: {count}{share}</title></rect><text class="axis" x="{:.1}" y="{:.1}">{count}{share}</text>"#,
            y + 26.0,
            i % 4 + 1,
            row - 10.0,
            170.0 + w,
            y + 26.0
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_nice_integers_for_counts_and_never_repeat() {
        assert_eq!(ticks(10.0, Scale::Count), [0.0, 5.0, 10.0]);
        assert_eq!(ticks(1.0, Scale::Count), [0.0, 1.0]);
        assert_eq!(ticks(0.4, Scale::Count), [0.0, 1.0]);
        assert_eq!(ticks(7.0, Scale::Count), [0.0, 2.0, 4.0, 6.0, 8.0]);
        assert_eq!(ticks(1234.0, Scale::Count), [0.0, 500.0, 1000.0, 1500.0]);
        for max in [0.0, 1.0, 3.0, 9.0, 11.0, 99.0, 101.0, 12_345.0, 987_654.0] {
            let t = ticks(max, Scale::Count);
            let labels: Vec<String> = t.iter().map(|v| label(*v, Scale::Count)).collect();
            let mut unique = labels.clone();
            unique.dedup();
            assert_eq!(labels, unique, "{max}");
            assert!(t.iter().all(|v| v.fract() == 0.0), "{max}: {t:?}");
            assert!(*t.last().unwrap() >= max && t.len() <= 6, "{max}: {t:?}");
        }
        let rates: Vec<String> = ticks(1.0, Scale::Rate)
            .iter()
            .map(|v| label(*v, Scale::Rate))
            .collect();
        assert_eq!(rates, ["0%", "25%", "50%", "75%", "100%"]);
    }

    #[test]
    fn an_undefined_value_breaks_the_line() {
        let x = |i: usize| i as f64;
        let y = |v: f64| v;
        assert_eq!(
            path(&[Some(1.0), None, Some(2.0), Some(3.0)], &x, &y),
            "M0.0,1.0M2.0,2.0L3.0,3.0"
        );
    }
}
