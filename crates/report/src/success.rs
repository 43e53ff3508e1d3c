//! The success measures: the Home Office's Violence Reduction Unit measures for the
//! partnership by year, and each district's rates a year over the whole period. Every figure
//! is a published cell of `success_measures` (counts and the rates publish computed from
//! them), so a withheld count shows `[c]` and its rate too.

use crate::districts::{sort_districts, values};
use crate::html::{Html, all_withheld, fmt_count, fmt_rate, html_table, withheld_note};
use crate::names::Names;
use crate::sections::{SUCCESS, Section, Tables, datum, need, source};
use crate::table::{Row, Table};

/// One measure: its count column, its rate column and how the report names it.
struct Measure {
    count: &'static str,
    rate: &'static str,
    label: &'static str,
}

const MEASURES: [Measure; 6] = [
    Measure {
        count: "sharp_admissions",
        rate: "sharp_admissions_per_100k",
        label: "Admissions for assault with a sharp object, all ages (rate per 100,000)",
    },
    Measure {
        count: "sharp_admissions_u25",
        rate: "sharp_admissions_u25_per_100k",
        label: "… aged under 25 (per 100,000 under 25)",
    },
    Measure {
        count: "knife_offences",
        rate: "knife_offences_per_100k",
        label: "Knife-enabled serious violence (per 100,000)",
    },
    Measure {
        count: "knife_offences_u25",
        rate: "knife_offences_u25_per_100k",
        label: "… with a victim under 25 (per 100,000 under 25)",
    },
    Measure {
        count: "non_domestic_homicides",
        rate: "non_domestic_homicides_per_million",
        label: "Non-domestic homicide (per million)",
    },
    Measure {
        count: "non_domestic_homicides_u25",
        rate: "non_domestic_homicides_u25_per_million",
        label: "… with a victim under 25 (per million under 25)",
    },
];

/// The success-measures section; a note where the release lacks the table.
pub fn success_measures(tables: &Tables, names: &Names) -> Section {
    let mut columns = vec!["lad_code", "year"];
    for m in &MEASURES {
        columns.push(m.count);
        columns.push(m.rate);
    }
    let body = match need(tables, SUCCESS, &columns) {
        Ok(table) => body(table, names),
        Err(note) => note,
    };
    Section {
        id: "success",
        title: "Success measures",
        body,
    }
}

fn body(table: &Table, names: &Names) -> String {
    let mut out = String::from(
        "<p>The Home Office's Violence Reduction Unit success measures: hospital admissions for assault with a sharp object (health data), knife-enabled serious violence and non-domestic homicide (police data), all ages and under 25. Each cell is the count, with its rate a year in brackets: per 100,000 residents (homicides per million) of that age, over the months of the source's data in the year. The all-years rate is an annual average.</p>\n",
    );
    out.push_str(&partnership(table));
    out.push_str(&districts(table, names));
    out.push_str(&source(&[SUCCESS]));
    out
}

/// Codes of `column` other than the margin, sorted.
fn codes(table: &Table, column: &str) -> Vec<String> {
    values(table, column, &table.rows().collect::<Vec<_>>())
}

/// A count with its rate: `12 (3.4)`, each mark naming its cell.
fn count_and_rate(row: Option<Row>, measure: &Measure) -> Html {
    Html::markup(format!(
        "{} <small>({})</small>",
        datum(row, measure.count).span(fmt_count),
        datum(row, measure.rate).span(fmt_rate)
    ))
}

/// The partnership (`lad_code` margin) by year: one row per measure.
fn partnership(table: &Table) -> String {
    let total = table.total();
    let mut years = codes(table, "year");
    years.push(total.to_string());
    let mut out = String::from("<h3>The partnership, by year</h3>\n");
    let cells = MEASURES.iter().flat_map(|m| {
        years.iter().map(|y| {
            datum(
                table.row(&[("lad_code", total), ("year", y.as_str())]),
                m.count,
            )
            .cell
        })
    });
    if let Some(n) = all_withheld(cells) {
        out.push_str(&withheld_note("The success measures of the partnership", n));
        return out;
    }
    let mut header = vec!["Measure".to_string()];
    header.extend(years.iter().map(|y| {
        if y == total {
            "All years (a year)".to_string()
        } else {
            y.clone()
        }
    }));
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let body: Vec<Vec<Html>> = MEASURES
        .iter()
        .map(|m| {
            let mut row = vec![Html::text(m.label)];
            row.extend(years.iter().map(|y| {
                count_and_rate(table.row(&[("lad_code", total), ("year", y.as_str())]), m)
            }));
            row
        })
        .collect();
    out.push_str(&html_table("data num", &header, &body));
    out
}

/// Each district over all years: one row per district, one column per measure.
fn districts(table: &Table, names: &Names) -> String {
    let total = table.total();
    let mut lads = codes(table, "lad_code");
    sort_districts(&mut lads, names);
    if lads.is_empty() {
        return String::new();
    }
    let mut out = String::from("<h3>Districts, all years</h3>\n");
    let mut header = vec!["District"];
    header.extend(MEASURES.iter().map(|m| m.label));
    let body: Vec<Vec<Html>> = lads
        .iter()
        .map(|lad| {
            let row = table.row(&[("lad_code", lad.as_str()), ("year", total)]);
            let mut cells = vec![names.area_html(lad)];
            cells.extend(MEASURES.iter().map(|m| count_and_rate(row, m)));
            cells
        })
        .collect();
    out.push_str(&html_table("data num", &header, &body));
    out
}
