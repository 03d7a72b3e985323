//! Charts as SVG rendered on the server: readable without JavaScript, no CDN; each point and
//! bar carries a `<title>`, which browsers show on hover. Only numbers and dates (which we
//! format) go into the SVG, so nothing upstream sent needs escaping here.

use std::fmt::Write;

/// One line of a chart.
pub struct Series<'a> {
    pub label: &'a str,
    /// CSS class giving the colour (`s1`..`s4`).
    pub class: &'a str,
    pub values: Vec<f64>,
}

const W: f64 = 720.0;
const H: f64 = 220.0;
const PAD_L: f64 = 48.0;
const PAD_B: f64 = 28.0;
const PAD_T: f64 = 10.0;

fn nice_max(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    let n = v / mag;
    let step = if n <= 1.0 {
        1.0
    } else if n <= 2.0 {
        2.0
    } else if n <= 5.0 {
        5.0
    } else {
        10.0
    };
    step * mag
}

fn label(v: f64, percent: bool) -> String {
    if percent {
        format!("{:.0}%", v * 100.0)
    } else if v >= 1_000_000.0 {
        format!("{:.1}M", v / 1e6)
    } else if v >= 1000.0 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

/// A line chart of `series` over `days` (`YYYY-MM-DD`); `percent` formats the axis as rates.
pub fn lines(days: &[String], series: &[Series<'_>], percent: bool) -> String {
    let n = days.len().max(1);
    let max = if percent {
        1.0
    } else {
        nice_max(
            series
                .iter()
                .flat_map(|s| s.values.iter().copied())
                .fold(0.0, f64::max),
        )
    };
    let x = |i: usize| {
        PAD_L
            + (W - PAD_L - 8.0)
                * if n == 1 {
                    0.5
                } else {
                    i as f64 / (n - 1) as f64
                }
    };
    let y = |v: f64| PAD_T + (H - PAD_T - PAD_B) * (1.0 - (v / max).clamp(0.0, 1.0));
    let mut s = format!(
        r#"<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="chart" xmlns="http://www.w3.org/2000/svg">"#
    );
    for k in 0..=4 {
        let v = max * k as f64 / 4.0;
        let _ = write!(
            s,
            r#"<line class="grid" x1="{PAD_L}" x2="{}" y1="{y:.1}" y2="{y:.1}"/><text class="axis" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            W - 8.0,
            PAD_L - 6.0,
            y(v) + 4.0,
            label(v, percent),
            y = y(v)
        );
    }
    let every = (n / 6).max(1);
    for (i, d) in days.iter().enumerate() {
        if i % every == 0 || i == n - 1 {
            let _ = write!(
                s,
                r#"<text class="axis" x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
                x(i),
                H - 8.0,
                d.get(5..).unwrap_or(d)
            );
        }
    }
    for se in series {
        let pts: Vec<String> = se
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        let _ = write!(
            s,
            r#"<polyline class="line {}" points="{}"/>"#,
            se.class,
            pts.join(" ")
        );
        for (i, v) in se.values.iter().enumerate() {
            let shown = if percent {
                format!("{:.1} %", v * 100.0)
            } else {
                format!("{v:.0}")
            };
            let _ = write!(
                s,
                r#"<circle class="dot {}" cx="{:.1}" cy="{:.1}" r="3"><title>{} {}: {shown}</title></circle>"#,
                se.class,
                x(i),
                y(*v),
                days.get(i).map_or("", |d| d.as_str()),
                se.label
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// Horizontal funnel bars: (label, value), the first being 100 %.
pub fn funnel(steps: &[(&str, i64)]) -> String {
    let top = steps.first().map_or(0, |s| s.1).max(1) as f64;
    let row = 30.0;
    let h = row * steps.len() as f64 + 4.0;
    let mut s = format!(
        r#"<svg class="chart funnel" viewBox="0 0 {W} {h}" role="img" aria-label="funnel" xmlns="http://www.w3.org/2000/svg">"#
    );
    for (i, (label, v)) in steps.iter().enumerate() {
        let w = (W - 220.0) * (*v as f64 / top).min(1.0);
        let y = i as f64 * row + 2.0;
        let pct = *v as f64 * 100.0 / top;
        let _ = write!(
            s,
            r#"<text class="axis" x="0" y="{:.1}">{label}</text><rect class="bar s{}" x="100" y="{y:.1}" width="{w:.1}" height="{}" rx="3"><title>{label}: {v} ({pct:.1} %)</title></rect><text class="axis" x="{:.1}" y="{:.1}">{v} · {pct:.1} %</text>"#,
            y + 18.0,
            i % 4 + 1,
            row - 8.0,
            106.0 + w,
            y + 18.0
        );
    }
    s.push_str("</svg>");
    s
}
