//! The ratios as a bar chart (SVG): one bar per ratio target, on a log scale, with the
//! target marked. Written by hand: a few rectangles and labels do not justify a plotting
//! crate and its font stack.

use std::fmt::Write as _;

use crate::report::Report;

const LEFT: f64 = 330.0;
const WIDTH: f64 = 520.0;
const ROW: f64 = 26.0;
const TOP: f64 = 48.0;
/// The axis spans 10^MIN_EXP … 10^MAX_EXP.
const MIN_EXP: f64 = -1.0;
const MAX_EXP: f64 = 3.0;

fn x(value: f64) -> f64 {
    let e = value.max(1e-6).log10().clamp(MIN_EXP, MAX_EXP);
    LEFT + (e - MIN_EXP) / (MAX_EXP - MIN_EXP) * WIDTH
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The chart of every ratio target in `report`.
pub fn svg(report: &Report) -> String {
    let checks: Vec<_> = report
        .checks()
        .into_iter()
        .filter(|c| c.unit == "×" || c.unit == "%")
        .collect();
    let height = TOP + ROW * checks.len() as f64 + 50.0;
    let total_width = LEFT + WIDTH + 90.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{total_width}" height="{height}" viewBox="0 0 {total_width} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="10" y="22" font-size="15" font-weight="bold">Ours ÷ peer and ours ÷ floor (log scale; | marks the target){}</text>"#,
        if report.smoke { " — smoke run" } else { "" }
    );
    for exp in (MIN_EXP as i32)..=(MAX_EXP as i32) {
        let value = 10f64.powi(exp);
        let gx = x(value);
        let _ = writeln!(
            s,
            r##"<line x1="{gx:.1}" y1="{TOP}" x2="{gx:.1}" y2="{:.1}" stroke="#ddd"/><text x="{gx:.1}" y="{:.1}" text-anchor="middle" fill="#555">{}×</text>"##,
            height - 40.0,
            height - 26.0,
            if exp < 0 {
                format!("{value:.1}")
            } else {
                format!("{value:.0}")
            }
        );
    }
    for (i, c) in checks.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let colour = if c.met() { "#2e7d32" } else { "#c62828" };
        let label = format!("{} ({})", c.what, c.db.label());
        let value = match c.unit {
            "%" => format!("{:.0}%", c.value * 100.0),
            _ => format!("{:.1}×", c.value),
        };
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text><rect x="{LEFT}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{colour}"/><line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="black" stroke-width="2"/><text x="{:.1}" y="{:.1}">{value}</text>"##,
            LEFT - 8.0,
            y + 15.0,
            escape(&label),
            y + 4.0,
            (x(c.value) - LEFT).max(1.0),
            ROW - 8.0,
            x(c.threshold),
            y + 1.0,
            x(c.threshold),
            y + ROW - 1.0,
            x(c.value).max(x(c.threshold)) + 6.0,
            y + 15.0,
        );
    }
    let _ = writeln!(
        s,
        r##"<text x="10" y="{:.1}" fill="#555">green: target met; red: not met. Floors: RS256 signatures/s and argon2id hashes/s on this machine.</text>"##,
        height - 8.0
    );
    s.push_str("</svg>\n");
    s
}
