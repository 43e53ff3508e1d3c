//! Inline SVG charts, drawn in Rust so the report needs no script, font or network.
//! A withheld cell is drawn as a hatched grey mark labelled `[c]`, never as a zero-length
//! bar or a gap that could be read as zero.

use crate::html::{Datum, all_withheld, esc, fmt_count, withheld_note};
use crate::table::Cell;

/// Chart width in SVG units; charts scale to the page width.
const WIDTH: f64 = 1100.0;
const FONT: &str = "font-size=\"12\" fill=\"#334155\"";
/// Series colours: blue, amber, slate, green (distinguishable in greyscale print too).
pub const PALETTE: [&str; 4] = ["#1d4ed8", "#d97706", "#64748b", "#059669"];

/// The hatch pattern every suppressed mark uses; emitted once per page.
pub fn defs() -> String {
    "<svg width=\"0\" height=\"0\" style=\"position:absolute\" aria-hidden=\"true\"><defs>\
<pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">\
<rect width=\"6\" height=\"6\" fill=\"#e2e8f0\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#94a3b8\" stroke-width=\"2.5\"/>\
</pattern></defs></svg>\n"
        .to_string()
}

/// A rounded-up axis maximum and its tick step (1, 2 or 5 × a power of ten).
pub fn nice_axis(max: f64) -> (f64, f64) {
    if max <= 0.0 {
        return (1.0, 1.0);
    }
    let rough = max / 5.0;
    let magnitude = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= rough)
        .unwrap_or(10.0 * magnitude);
    ((max / step).ceil() * step, step)
}

fn max_value(data: impl Iterator<Item = Cell>) -> f64 {
    data.filter_map(Cell::value).fold(0.0, f64::max)
}

fn svg_open(height: f64, label: &str) -> String {
    format!(
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {height}\" width=\"100%\" role=\"img\" aria-label=\"{}\">\n",
        esc(label)
    )
}

/// A suppressed mark: a hatched box with a dashed outline and the `[c]` label.
fn suppressed_box(datum: &Datum, x: f64, y: f64, w: f64, h: f64, label: &str) -> String {
    format!(
        "<g class=\"sup\"{}><title>{}</title>\
<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" fill=\"url(#hatch)\" stroke=\"#64748b\" stroke-dasharray=\"3 2\"/>{label}</g>\n",
        datum.attrs,
        datum.withheld_title()
    )
}

/// One point of a line chart.
pub struct Point {
    pub label: String,
    pub datum: Datum,
}

/// A line chart over ordered points (months). A withheld point breaks the line and is
/// shown as a hatched band across the plot, labelled `[c]`.
pub fn line_chart(points: &[Point], y_label: &str) -> String {
    if let Some(cells) = all_withheld(points.iter().map(|p| p.datum.cell)) {
        return withheld_note(y_label, cells);
    }
    let (left, right, top, bottom, height) = (64.0, 16.0, 16.0, 44.0, 320.0);
    let plot_w = WIDTH - left - right;
    let plot_h = height - top - bottom;
    let (y_max, y_step) = nice_axis(max_value(points.iter().map(|p| p.datum.cell)));
    let step = plot_w / (points.len().max(2) - 1) as f64;
    let x = |i: usize| left + i as f64 * step;
    let y = |v: f64| top + plot_h - v / y_max * plot_h;
    let mut out = svg_open(height, y_label);
    out.push_str(&y_grid(y_max, y_step, left, WIDTH - right, &y));
    out.push_str(&format!(
        "<text x=\"14\" y=\"{:.1}\" {FONT} transform=\"rotate(-90 14 {:.1})\" text-anchor=\"middle\">{}</text>\n",
        top + plot_h / 2.0,
        top + plot_h / 2.0,
        esc(y_label)
    ));
    out.push_str(&month_axis(points, &x, height - bottom, top));
    out.push_str(&line_path(points, &x, &y));
    for (i, p) in points.iter().enumerate() {
        out.push_str(&point_mark(p, x(i), &y, step, top, plot_h));
    }
    out.push_str("</svg>\n");
    out
}

fn y_grid(y_max: f64, y_step: f64, x0: f64, x1: f64, y: &dyn Fn(f64) -> f64) -> String {
    let mut out = String::new();
    let mut tick = 0.0;
    while tick <= y_max + y_step / 2.0 {
        let at = y(tick);
        out.push_str(&format!(
            "<line x1=\"{x0}\" x2=\"{x1}\" y1=\"{at:.1}\" y2=\"{at:.1}\" stroke=\"#e2e8f0\"/>\
<text x=\"{:.1}\" y=\"{:.1}\" {FONT} text-anchor=\"end\">{}</text>\n",
            x0 - 6.0,
            at + 4.0,
            fmt_count(tick)
        ));
        tick += y_step;
    }
    out
}

/// X-axis labels: a year label and a faint gridline at each January (labels `YYYY-MM`),
/// otherwise every label when there are few points.
fn month_axis(points: &[Point], x: &dyn Fn(usize) -> f64, base: f64, top: f64) -> String {
    let mut out = format!(
        "<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{base}\" y2=\"{base}\" stroke=\"#94a3b8\"/>\n",
        x(0),
        x(points.len().saturating_sub(1))
    );
    let monthly = points
        .iter()
        .all(|p| p.label.len() == 7 && p.label.as_bytes()[4] == b'-');
    for (i, p) in points.iter().enumerate() {
        let label = if monthly {
            match p.label.split_once('-') {
                Some((year, "01")) => year.to_string(),
                _ => continue,
            }
        } else if points.len() <= 24 {
            p.label.clone()
        } else {
            continue;
        };
        out.push_str(&format!(
            "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{top}\" y2=\"{base}\" stroke=\"#f1f5f9\"/>\
<text x=\"{0:.1}\" y=\"{1:.1}\" {FONT} text-anchor=\"middle\">{2}</text>\n",
            x(i),
            base + 18.0,
            esc(&label)
        ));
    }
    out
}

/// The line through published points; it is broken (not drawn to zero) at withheld ones.
fn line_path(points: &[Point], x: &dyn Fn(usize) -> f64, y: &dyn Fn(f64) -> f64) -> String {
    let mut d = String::new();
    let mut pen_down = false;
    for (i, p) in points.iter().enumerate() {
        match p.datum.cell.value() {
            Some(v) => {
                d.push_str(&format!(
                    "{}{:.1},{:.1} ",
                    if pen_down { "L" } else { "M" },
                    x(i),
                    y(v)
                ));
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    format!(
        "<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>\n",
        d.trim_end(),
        PALETTE[0]
    )
}

fn point_mark(
    p: &Point,
    x: f64,
    y: &dyn Fn(f64) -> f64,
    step: f64,
    top: f64,
    plot_h: f64,
) -> String {
    match p.datum.cell {
        Cell::Value(v) => format!(
            "<circle class=\"val\"{} cx=\"{x:.1}\" cy=\"{:.1}\" r=\"2.5\" fill=\"{}\"><title>{}: {}</title></circle>\n",
            p.datum.attrs,
            y(v),
            PALETTE[0],
            esc(&p.label),
            fmt_count(v)
        ),
        Cell::Suppressed => {
            let w = step.max(6.0);
            let label = format!(
                "<text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"#334155\" text-anchor=\"middle\">{}</text>",
                top + plot_h - 4.0,
                p.datum.marker()
            );
            suppressed_box(&p.datum, x - w / 2.0, top, w, plot_h, &label)
        }
        Cell::Blank => String::new(),
    }
}

/// One row of a heatmap.
pub struct HeatRow {
    pub label: String,
    pub cells: Vec<Datum>,
}

/// A heatmap: darker is more. Every cell shows its number; a withheld one is hatched `[c]`.
pub fn heatmap(rows: &[HeatRow], columns: &[String], label: &str) -> String {
    if let Some(cells) = all_withheld(rows.iter().flat_map(|r| r.cells.iter().map(|d| d.cell))) {
        return withheld_note(label, cells);
    }
    let (left, top, cell_h) = (48.0, 24.0, 30.0);
    let cell_w = (WIDTH - left) / columns.len().max(1) as f64;
    let height = top + cell_h * rows.len() as f64 + 8.0;
    let max = max_value(rows.iter().flat_map(|r| r.cells.iter().map(|d| d.cell)));
    let mut out = svg_open(height, label);
    for (j, c) in columns.iter().enumerate() {
        out.push_str(&format!(
            "<text x=\"{:.1}\" y=\"16\" {FONT} text-anchor=\"middle\">{}</text>\n",
            left + (j as f64 + 0.5) * cell_w,
            esc(c)
        ));
    }
    for (i, row) in rows.iter().enumerate() {
        let y = top + i as f64 * cell_h;
        out.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" {FONT} text-anchor=\"end\">{}</text>\n",
            left - 8.0,
            y + cell_h / 2.0 + 4.0,
            esc(&row.label)
        ));
        for (j, datum) in row.cells.iter().enumerate() {
            let x = left + j as f64 * cell_w;
            out.push_str(&heat_cell(datum, x, y, cell_w, cell_h, max));
        }
    }
    out.push_str("</svg>\n");
    out
}

fn heat_cell(datum: &Datum, x: f64, y: f64, w: f64, h: f64, max: f64) -> String {
    let (cx, cy) = (x + w / 2.0, y + h / 2.0 + 4.0);
    match datum.cell {
        Cell::Value(v) => {
            let t = if max > 0.0 { v / max } else { 0.0 };
            let ink = if t > 0.55 { "#ffffff" } else { "#1e293b" };
            format!(
                "<g class=\"val\"{}><rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"/>\
<text x=\"{cx:.1}\" y=\"{cy:.1}\" font-size=\"10\" fill=\"{ink}\" text-anchor=\"middle\">{}</text></g>\n",
                datum.attrs,
                w - 1.0,
                h - 1.0,
                blend(t),
                fmt_count(v)
            )
        }
        Cell::Suppressed => {
            let label = format!(
                "<text x=\"{cx:.1}\" y=\"{cy:.1}\" font-size=\"10\" fill=\"#1e293b\" text-anchor=\"middle\">{}</text>",
                datum.marker()
            );
            suppressed_box(datum, x, y, w - 1.0, h - 1.0, &label)
        }
        Cell::Blank => String::new(),
    }
}

/// The heatmap colour for a share `t` of the maximum: pale blue to deep blue.
pub fn blend(t: f64) -> String {
    let t = t.clamp(0.0, 1.0);
    let low = [239.0, 246.0, 255.0];
    let high = [30.0, 58.0, 138.0];
    let c: Vec<u8> = (0..3)
        .map(|i| (low[i] + (high[i] - low[i]) * t).round() as u8)
        .collect();
    format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
}

/// A group of bars (one per series) sharing a label, e.g. an age band.
pub struct BarGroup {
    pub label: String,
    pub bars: Vec<(usize, Datum)>,
}

/// Horizontal grouped bars with their numbers. A withheld bar is a short hatched box with
/// `[c] suppressed`: its length is fixed and means nothing, which the legend says.
pub fn bar_chart(
    groups: &[BarGroup],
    series: &[&str],
    label: &str,
    format: fn(f64) -> String,
) -> String {
    let cells = |series: Option<usize>| {
        groups.iter().flat_map(move |g| {
            g.bars
                .iter()
                .filter(move |(s, _)| series.is_none_or(|want| *s == want))
                .map(|(_, d)| d.cell)
        })
    };
    if let Some(count) = all_withheld(cells(None)) {
        return withheld_note(label, count);
    }
    let mut out = bars_svg(groups, series, label, format);
    // A series withheld throughout (firearm offences in every year) is said in words too:
    // its hatched bars alone look like a drawing fault.
    if series.len() > 1 {
        for (i, name) in series.iter().enumerate() {
            if let Some(count) = all_withheld(cells(Some(i))) {
                out.push_str(&withheld_note(name, count));
            }
        }
    }
    out
}

fn bars_svg(
    groups: &[BarGroup],
    series: &[&str],
    label: &str,
    format: fn(f64) -> String,
) -> String {
    let (left, right, bar_h, gap) = (150.0, 150.0, 16.0, 10.0);
    // A single series needs no legend, so no room for one.
    let legend_h = if series.len() < 2 { 6.0 } else { 28.0 };
    let plot_w = WIDTH - left - right;
    let bars: usize = groups.iter().map(|g| g.bars.len()).sum();
    let height = legend_h + bars as f64 * (bar_h + 2.0) + groups.len() as f64 * gap + 4.0;
    let max = max_value(
        groups
            .iter()
            .flat_map(|g| g.bars.iter().map(|(_, d)| d.cell)),
    );
    let mut out = svg_open(height, label);
    out.push_str(&legend(series, left));
    let mut y = legend_h;
    for group in groups {
        out.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" {FONT} text-anchor=\"end\">{}</text>\n",
            left - 10.0,
            y + (group.bars.len() as f64 * (bar_h + 2.0)) / 2.0 + 4.0,
            esc(&group.label)
        ));
        for (s, datum) in &group.bars {
            out.push_str(&bar(datum, *s, left, y, plot_w, bar_h, max, format));
            y += bar_h + 2.0;
        }
        y += gap;
    }
    out.push_str("</svg>\n");
    out
}

fn legend(series: &[&str], left: f64) -> String {
    if series.len() < 2 {
        return String::new();
    }
    let mut out = String::new();
    for (i, name) in series.iter().enumerate() {
        let x = left + i as f64 * 120.0;
        out.push_str(&format!(
            "<rect x=\"{x:.1}\" y=\"6\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"{:.1}\" y=\"16\" {FONT}>{}</text>\n",
            PALETTE[i % PALETTE.len()],
            x + 18.0,
            esc(name)
        ));
    }
    out
}

#[allow(clippy::too_many_arguments)] // geometry of one bar; a struct would only rename them
fn bar(
    datum: &Datum,
    series: usize,
    left: f64,
    y: f64,
    plot_w: f64,
    bar_h: f64,
    max: f64,
    format: fn(f64) -> String,
) -> String {
    let text_y = y + bar_h - 4.0;
    match datum.cell {
        Cell::Value(v) => {
            let w = if max > 0.0 { v / max * plot_w } else { 0.0 };
            format!(
                "<g class=\"val\"{}><rect x=\"{left}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{bar_h}\" fill=\"{}\"/>\
<text x=\"{:.1}\" y=\"{text_y:.1}\" {FONT}>{}</text></g>\n",
                datum.attrs,
                PALETTE[series % PALETTE.len()],
                left + w + 6.0,
                format(v)
            )
        }
        Cell::Suppressed => {
            let label = format!(
                "<text x=\"{:.1}\" y=\"{text_y:.1}\" {FONT} font-style=\"italic\">{} {}</text>",
                left + 46.0,
                datum.marker(),
                if datum.by_partner {
                    "withheld by the partner"
                } else {
                    "suppressed"
                }
            );
            suppressed_box(datum, left, y, 40.0, bar_h, &label)
        }
        Cell::Blank => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_maxima_are_round() {
        assert_eq!(nice_axis(1446.0), (1500.0, 500.0));
        assert_eq!(nice_axis(9.0), (10.0, 2.0));
        assert_eq!(nice_axis(0.0), (1.0, 1.0));
    }

    #[test]
    fn colours_run_from_pale_to_deep() {
        assert_eq!(blend(0.0), "#eff6ff");
        assert_eq!(blend(1.0), "#1e3a8a");
    }

    #[test]
    fn a_withheld_bar_is_hatched_and_labelled_not_zero() {
        let groups = [
            BarGroup {
                label: "0-9".into(),
                bars: vec![(0, Datum::derived(Cell::Suppressed))],
            },
            BarGroup {
                label: "10-17".into(),
                bars: vec![(0, Datum::derived(Cell::Value(7.0)))],
            },
        ];
        let svg = bar_chart(&groups, &["All"], "test", fmt_count);
        assert!(svg.contains("url(#hatch)"));
        assert!(svg.contains("[c] suppressed"));
        assert!(!svg.contains(">0<"));
        assert!(!svg.contains("too few to publish"));
    }

    #[test]
    fn a_wholly_withheld_chart_is_a_note_not_hatching() {
        let withheld = || Datum::derived(Cell::Suppressed);
        let groups = [
            BarGroup {
                label: "2022".into(),
                bars: vec![(0, withheld()), (1, withheld())],
            },
            BarGroup {
                label: "2023".into(),
                bars: vec![(0, withheld()), (1, withheld())],
            },
        ];
        let out = bar_chart(&groups, &["Knife", "Firearm"], "Weapons", fmt_count);
        assert!(!out.contains("<svg"), "nothing to draw: {out}");
        assert!(out.contains("Weapons: all 4 cells withheld: too few to publish at this level"));
        let points: Vec<Point> = ["2020-01", "2020-02"]
            .iter()
            .map(|m| Point {
                label: m.to_string(),
                datum: withheld(),
            })
            .collect();
        assert!(line_chart(&points, "Admissions").contains("Admissions: all 2 cells withheld"));
    }

    #[test]
    fn a_series_withheld_throughout_is_noted_beside_the_chart() {
        let groups = [BarGroup {
            label: "2023".into(),
            bars: vec![
                (0, Datum::derived(Cell::Value(12.0))),
                (1, Datum::derived(Cell::Suppressed)),
            ],
        }];
        let out = bar_chart(&groups, &["Knife", "Firearm"], "Weapons", fmt_count);
        assert!(out.contains("<svg"));
        assert!(out.contains("Firearm: the only cell withheld"));
        assert!(!out.contains("Knife: "));
    }

    #[test]
    fn a_withheld_month_breaks_the_line() {
        let point = |label: &str, cell| Point {
            label: label.into(),
            datum: Datum::derived(cell),
        };
        let points = [
            point("2020-01", Cell::Value(10.0)),
            point("2020-02", Cell::Suppressed),
            point("2020-03", Cell::Value(12.0)),
        ];
        let svg = line_chart(&points, "offences");
        let path = svg.split("<path d=\"").nth(1).unwrap();
        let d = path.split('"').next().unwrap();
        assert_eq!(d.matches('M').count(), 2, "two segments: {d}");
        assert!(!d.contains('L'));
        assert!(svg.contains(">[c]<"));
    }
}
