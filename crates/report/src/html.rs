//! HTML building blocks: escaping, number formatting, and the marks that tie each drawn
//! number back to the published cell it came from.

use crate::table::{Cell, PARTNER_SUPPRESSED, Row, SUPPRESSED};

/// A piece of HTML. Text becomes HTML escaped by default: [`Html::text`], and `From` a
/// `&str` or `String`, escape it; only markup the report spells out itself is taken as it is,
/// through [`Html::markup`]. A value from the release (a table, area or column value, a note)
/// handed where HTML is wanted is therefore escaped unless the code says otherwise: a
/// mistake shows as visible `&lt;` on the page, never as markup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Html(String);

impl Html {
    /// Text, escaped.
    pub fn text(text: &str) -> Html {
        Html(esc(text))
    }

    /// Markup the report writes itself; any release value inside it must already be escaped
    /// (with [`esc`], or as an [`Html`] interpolated with `{}`).
    pub fn markup(markup: impl Into<String>) -> Html {
        Html(markup.into())
    }

    /// Text in a `<code>` element, escaped.
    pub fn code(text: &str) -> Html {
        Html(format!("<code>{}</code>", esc(text)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Html {
    fn from(text: &str) -> Html {
        Html::text(text)
    }
}

impl From<String> for Html {
    fn from(text: String) -> Html {
        Html::text(&text)
    }
}

/// Writes the HTML as it is (it is HTML already).
impl std::fmt::Display for Html {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Escapes text for HTML element content and attribute values alike.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole number with thousands separators (counts are published as integers).
pub fn fmt_count(value: f64) -> String {
    let rounded = value.round() as i64;
    let digits = rounded.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    if rounded < 0 { format!("-{out}") } else { out }
}

/// A rate or mean to one decimal place, with thousands separators.
pub fn fmt_rate(value: f64) -> String {
    let tenths = (value * 10.0).round();
    let whole = (tenths / 10.0).trunc();
    let sign = if tenths < 0.0 && whole == 0.0 {
        "-"
    } else {
        ""
    };
    format!("{sign}{}.{}", fmt_count(whole), (tenths.abs() % 10.0) as u8)
}

/// A relative change as a signed percentage.
pub fn fmt_change(now: f64, before: f64) -> String {
    if before == 0.0 {
        return "n/a".to_string();
    }
    format!("{:+.1}%", (now - before) / before * 100.0)
}

/// How a cell reads in text: its count, or the suppression marker, never 0 for a withheld cell.
pub fn cell_text(cell: Cell, format: fn(f64) -> String) -> String {
    match cell {
        Cell::Value(v) => format(v),
        Cell::Suppressed => SUPPRESSED.to_string(),
        Cell::Blank => "–".to_string(),
    }
}

/// A number drawn from one published cell, with the attributes that name that cell
/// (`data-t` table, `data-c` column, `data-k` dimension values, `data-v` the CSV text), so
/// the report can be checked mark by mark against the release.
#[derive(Debug, Clone)]
pub struct Datum {
    pub cell: Cell,
    pub attrs: String,
    /// Withheld by the partner before sharing (`[p]`) rather than by disclosure control.
    pub by_partner: bool,
    /// A lower bound: the figure includes parts the partner withheld before sharing.
    pub lower_bound: bool,
}

impl Datum {
    pub fn of(row: &Row, column: &str) -> Datum {
        Datum {
            cell: row.cell(column),
            by_partner: row.text(column).trim() == PARTNER_SUPPRESSED,
            lower_bound: row.is_lower_bound(column),
            attrs: format!(
                " data-t=\"{}\" data-c=\"{}\" data-k=\"{}\" data-v=\"{}\"",
                esc(row.table()),
                esc(column),
                esc(&row.key()),
                esc(row.text(column))
            ),
        }
    }

    /// A value computed by the report (a mean, a change): it names no single cell.
    pub fn derived(cell: Cell) -> Datum {
        Datum {
            cell,
            attrs: String::new(),
            by_partner: false,
            lower_bound: false,
        }
    }

    /// The marker a withheld mark shows: the partner's `[p]` or svna's `[c]`.
    pub fn marker(&self) -> &'static str {
        if self.by_partner {
            PARTNER_SUPPRESSED
        } else {
            SUPPRESSED
        }
    }

    /// What hovering a withheld mark says.
    pub fn withheld_title(&self) -> &'static str {
        if self.by_partner {
            "[p] withheld by the partner before sharing: unknown, not zero"
        } else {
            "[c] suppressed: withheld by disclosure control (not zero)"
        }
    }

    /// The class a mark gets: `sup` for a withheld cell, so the suppressed marks can be
    /// styled and counted.
    pub fn class(&self) -> &'static str {
        match self.cell {
            Cell::Suppressed => "sup",
            _ => "val",
        }
    }

    /// An inline HTML span holding the formatted number or the `[c]` (or `[p]`) marker.
    pub fn span(&self, format: fn(f64) -> String) -> Html {
        let (title, text) = match self.cell {
            Cell::Suppressed if self.by_partner => (
                format!(" title=\"{}\"", self.withheld_title()),
                self.marker().to_string(),
            ),
            Cell::Suppressed => (
                " title=\"[c] suppressed: withheld by disclosure control\"".to_string(),
                self.marker().to_string(),
            ),
            Cell::Value(_) if self.lower_bound => (
                " title=\"a lower bound: it includes figures the partner withheld before sharing, so the true figure is at least this\"".to_string(),
                format!("≥ {}", cell_text(self.cell, format)),
            ),
            _ => (String::new(), cell_text(self.cell, format)),
        };
        Html::markup(format!(
            "<span class=\"{}\"{}{title}>{}</span>",
            self.class(),
            self.attrs,
            esc(&text)
        ))
    }
}

/// How many cells there are when every one of them is withheld; `None` when any is
/// published or blank, or there are none.
pub fn all_withheld(cells: impl IntoIterator<Item = Cell>) -> Option<usize> {
    let mut count = 0;
    for cell in cells {
        if cell != Cell::Suppressed {
            return None;
        }
        count += 1;
    }
    (count > 0).then_some(count)
}

/// The note shown for a chart or table whose every figure is withheld: drawn, it would be a
/// row of identical hatched marks that reads like missing data or zero.
pub fn withheld_note(what: &str, cells: usize) -> String {
    let cells = if cells == 1 {
        "the only cell".to_string()
    } else {
        format!("all {cells} cells")
    };
    format!(
        "<p class=\"note withheld\">{}: {cells} withheld: too few to publish at this level. Each is [c] in the table, not zero.</p>\n",
        esc(what)
    )
}

/// A note shown where a section's table is not in the release (pipelines differ).
pub fn missing_note(table: &str) -> String {
    format!(
        "<p class=\"note\">Not in this release: table <code>{}</code> was not published by this pipeline, so this section is empty.</p>\n",
        esc(table)
    )
}

/// A note shown where disclosure control left a table out of the release whole: no pattern
/// of withheld cells could protect its small figures, so none of it is published.
pub fn left_out_note(table: &str) -> String {
    format!(
        "<p class=\"note withheld\">Withheld whole: no cell of table <code>{}</code> could be published at this level without letting a small figure be worked out (too few to publish), so the release leaves it out and this section is empty. The release manifest gives the reason (<code>left_out</code>).</p>\n",
        esc(table)
    )
}

/// A note shown where a table lacks a column a section needs.
pub fn columns_note(table: &str, columns: &[&str]) -> String {
    format!(
        "<p class=\"note\">Table <code>{}</code> lacks column(s) {}, so this section is empty.</p>\n",
        esc(table),
        columns
            .iter()
            .map(|c| format!("<code>{}</code>", esc(c)))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// A plain HTML table: the header is text (escaped here), the cells HTML (text converted
/// into [`Html`] is escaped on the way).
pub fn html_table(class: &str, header: &[&str], rows: &[Vec<Html>]) -> String {
    let mut out = format!("<table class=\"{class}\"><thead><tr>");
    for h in header {
        out.push_str(&format!("<th>{}</th>", esc(h)));
    }
    out.push_str("</tr></thead><tbody>\n");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            out.push_str("<td>");
            out.push_str(cell.as_str());
            out.push_str("</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lower_bound_reads_as_at_least_and_a_partner_figure_as_p() {
        use svna_records::PublishedTable;
        let csv =
            "area,n_lower_bound,n,n_per_100k\nA,true,24,12.5\nB,false,9,4.5\nC,false,[p],[p]\n";
        let entry = PublishedTable {
            name: "t".into(),
            disclosure: svna_records::DisclosureSpec {
                k: Some(5),
                rates: vec![svna_records::RateSpec {
                    name: "n_per_100k".into(),
                    count: "n".into(),
                    denominator: "residents".into(),
                    per: 100_000.0,
                    decimals: 1,
                }],
                ..svna_records::DisclosureSpec::new(
                    svna_records::DisclosurePolicy::Threshold,
                    &["n"],
                    &["area"],
                )
            },
            csv: svna_storage::FileEntry {
                path: "published/r/tables/t.csv".into(),
                sha256: String::new(),
                size: csv.len() as u64,
                rows: None,
            },
            parquet: svna_storage::FileEntry::default(),
            cells: 0,
            withheld: 0,
            partner_withheld: 0,
            lower_bounds: 0,
        };
        let table = crate::table::Table::parse(&entry, csv.as_bytes()).unwrap();
        let rows: Vec<_> = table.rows().collect();
        let a = Datum::of(&rows[0], "n").span(fmt_count).to_string();
        assert!(a.contains(">≥ 24<") && a.contains("a lower bound"), "{a}");
        let rate = Datum::of(&rows[0], "n_per_100k").span(fmt_rate).to_string();
        assert!(
            rate.contains(">≥ 12.5<"),
            "a rate follows its count: {rate}"
        );
        let b = Datum::of(&rows[1], "n").span(fmt_count).to_string();
        assert!(b.contains(">9<") && !b.contains('≥'), "{b}");
        let c = Datum::of(&rows[2], "n").span(fmt_count).to_string();
        assert!(c.contains(">[p]<") && !c.contains('≥'), "{c}");
    }

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<a href=\"x\">Tom & 'Jerry'</a>"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn text_becomes_html_escaped_unless_it_is_the_report_s_own_markup() {
        let value = "<script>alert(\"x\")</script> & 'y'";
        let escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;";
        assert_eq!(Html::text(value).as_str(), escaped);
        assert_eq!(Html::from(value).as_str(), escaped);
        assert_eq!(Html::from(value.to_string()).as_str(), escaped);
        assert_eq!(
            Html::code(value).to_string(),
            format!("<code>{escaped}</code>")
        );
        assert_eq!(Html::markup("<b>bold</b>").as_str(), "<b>bold</b>");
        // A table's header and its text cells are escaped; its markup cells are not.
        let table = html_table(
            "data",
            &[value],
            &[vec![value.into(), Html::markup("<i>kept</i>")]],
        );
        assert!(!table.contains("<script"), "{table}");
        assert!(table.contains(&format!("<th>{escaped}</th>")), "{table}");
        assert!(
            table.contains(&format!("<td>{escaped}</td><td><i>kept</i></td>")),
            "{table}"
        );
    }

    #[test]
    fn a_datum_s_attributes_and_marker_are_escaped() {
        let table = crate::table::Table::parse(
            &serde_json::from_value(serde_json::json!({
                "name": "t<\"&'>",
                "disclosure": {"policy": "threshold", "k": 5, "counts": ["n"],
                               "dimensions": ["area"], "total": "Total"},
                "csv": {"path": "t.csv", "sha256": "0", "size": 0},
            }))
            .unwrap(),
            "area,n\n\"a\"\"<b>&'\",[c]\n".as_bytes(),
        )
        .unwrap();
        let row = table.rows().next().unwrap();
        let span = Datum::of(&row, "n").span(fmt_count).to_string();
        assert!(
            span.contains(
                " data-t=\"t&lt;&quot;&amp;&#39;&gt;\" data-c=\"n\" data-k=\"a&quot;&lt;b&gt;&amp;&#39;\" data-v=\"[c]\""
            ),
            "{span}"
        );
        assert!(!span.contains("<b>"), "{span}");
    }

    #[test]
    fn formats_counts_with_separators() {
        assert_eq!(fmt_count(0.0), "0");
        assert_eq!(fmt_count(999.0), "999");
        assert_eq!(fmt_count(1000.0), "1,000");
        assert_eq!(fmt_count(72054.0), "72,054");
        assert_eq!(fmt_count(1234567.0), "1,234,567");
    }

    #[test]
    fn formats_rates_to_one_decimal() {
        assert_eq!(fmt_rate(14179.333), "14,179.3");
        assert_eq!(fmt_rate(99.26), "99.3");
        assert_eq!(fmt_rate(0.04), "0.0");
        assert_eq!(fmt_rate(-0.5), "-0.5");
    }

    #[test]
    fn a_withheld_cell_reads_as_the_marker_never_zero() {
        assert_eq!(cell_text(Cell::Suppressed, fmt_count), "[c]");
        assert_eq!(cell_text(Cell::Value(0.0), fmt_count), "0");
    }

    #[test]
    fn only_a_wholly_withheld_set_gets_the_note() {
        assert_eq!(all_withheld([Cell::Suppressed; 48]), Some(48));
        assert_eq!(all_withheld([Cell::Suppressed, Cell::Value(0.0)]), None);
        assert_eq!(all_withheld([Cell::Suppressed, Cell::Blank]), None);
        assert_eq!(all_withheld([]), None);
        assert!(withheld_note("Admissions", 48).contains("Admissions: all 48 cells withheld"));
        assert!(withheld_note("Firearm", 1).contains("the only cell withheld"));
    }

    #[test]
    fn changes_are_signed_percentages() {
        assert_eq!(fmt_change(110.0, 100.0), "+10.0%");
        assert_eq!(fmt_change(90.0, 100.0), "-10.0%");
        assert_eq!(fmt_change(5.0, 0.0), "n/a");
    }
}
