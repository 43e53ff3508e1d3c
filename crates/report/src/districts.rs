//! The district breakdown: each district's offences and rate per 1,000 residents by year,
//! its offences by category, and its knife-enabled and firearm offences, from the district
//! rows of the published area and category tables. Districts are named as the release names
//! them (`area_name`); every figure is a published cell.

use std::collections::BTreeSet;

use crate::html::{Datum, Html, all_withheld, esc, fmt_count, fmt_rate, html_table, withheld_note};
use crate::names::{Names, code_label};
use crate::sections::{AREA, CATEGORY, Section, Tables, datum, need, source};
use crate::table::{Cell, Row, Table};

/// The district section; a note where the release has neither district table.
pub fn districts(tables: &Tables, names: &Names) -> Section {
    let area = need(tables, AREA, &["area_code", "year", "offences"]);
    let category = need(
        tables,
        CATEGORY,
        &["lad_code", "category", "year", "offences"],
    );
    let mut body = String::new();
    match &area {
        Ok(t) => body.push_str(&area_years(t, names)),
        Err(note) => body.push_str(note),
    }
    if let Ok(t) = &category {
        body.push_str(&categories(t, names));
        body.push_str(&weapons(t, names));
    } else if area.is_ok() {
        body.push_str(category.as_ref().err().map_or("", String::as_str));
    }
    Section {
        id: "districts",
        title: "Districts",
        body,
    }
}

/// Dimension values other than the margin, in order.
pub(crate) fn values(table: &Table, column: &str, rows: &[Row]) -> Vec<String> {
    rows.iter()
        .map(|r| r.text(column))
        .filter(|v| *v != table.total())
        .map(str::to_string)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Districts by name (the code where the release publishes none), areas that are no
/// district (`Unknown`) last.
pub(crate) fn sort_districts(codes: &mut [String], names: &Names) {
    codes.sort_by_key(|c| (names.area(c).is_none(), names.area_text(c)));
}

/// The district rows of the area table: the areas directly under the margin.
fn district_rows(table: &Table) -> Vec<Row<'_>> {
    let total = table.total();
    let parent = table.spec.parents.get("area_code");
    table
        .rows()
        .filter(|r| r.text("area_code") != total)
        .filter(|r| parent.is_some_and(|p| r.text(p) == total))
        .collect()
}

fn district_label(code: &str, names: &Names) -> Html {
    if code == "Unknown" {
        Html::markup("No known location <code>Unknown</code>")
    } else {
        names.area_html(code)
    }
}

/// One district × year table: its heading, the figure in each cell, how it is written,
/// and whether it has an all-years column (not for rates: each year's rate stands alone
/// here; the all-years average rate is in the top-areas tables).
struct Grid<'a> {
    heading: &'a str,
    cell: &'a dyn Fn(Option<Row>) -> Datum,
    format: fn(f64) -> String,
    all_years: bool,
}

/// A table of district × year for one figure, or the wholly-withheld note.
fn year_grid(table: &Table, names: &Names, grid_spec: &Grid) -> String {
    let Grid {
        heading,
        cell,
        format,
        all_years,
    } = *grid_spec;
    let rows = district_rows(table);
    let mut codes = values(table, "area_code", &rows);
    sort_districts(&mut codes, names);
    let mut years = values(table, "year", &rows);
    if all_years {
        years.push(table.total().to_string());
    }
    let grid: Vec<Vec<Datum>> = codes
        .iter()
        .map(|code| {
            years
                .iter()
                .map(|y| cell(table.row(&[("area_code", code.as_str()), ("year", y.as_str())])))
                .collect()
        })
        .collect();
    let mut out = format!("<h3>{}</h3>\n", esc(heading));
    if let Some(cells) = all_withheld(grid.iter().flatten().map(|d| d.cell)) {
        out.push_str(&withheld_note(heading, cells));
        return out;
    }
    let mut header = vec!["District".to_string()];
    header.extend(years.iter().map(|y| {
        if y == table.total() {
            "All years".to_string()
        } else {
            y.clone()
        }
    }));
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let body: Vec<Vec<Html>> = codes
        .iter()
        .zip(&grid)
        .map(|(code, cells)| {
            let mut row = vec![district_label(code, names)];
            row.extend(cells.iter().map(|d| d.span(format)));
            row
        })
        .collect();
    out.push_str(&html_table("data num", &header, &body));
    out
}

/// The published rate. Publish writes [c] for the rate of a withheld count; should a release
/// leave it blank instead, it is still shown as withheld, not as a dash that reads "no data".
fn rate_datum(row: Option<Row>) -> Datum {
    match row {
        Some(r)
            if r.cell("offences") == Cell::Suppressed && r.cell("rate_per_1000") == Cell::Blank =>
        {
            Datum::derived(Cell::Suppressed)
        }
        _ => datum(row, "rate_per_1000"),
    }
}

fn area_years(table: &Table, names: &Names) -> String {
    if district_rows(table).is_empty() {
        return "<p class=\"note\">No district rows in this release's area table.</p>\n".into();
    }
    let mut out = String::from(
        "<p>Police-recorded serious violence offences in each district, by the year they were recorded. The rate is per 1,000 residents a year, over the months of data the year has (the population estimates loaded with the release, used for every year); a rate is [c] where its count is withheld.</p>\n",
    );
    let offences = |row: Option<Row>| datum(row, "offences");
    out.push_str(&year_grid(
        table,
        names,
        &Grid {
            heading: "Offences by district and year",
            cell: &offences,
            format: fmt_count,
            all_years: true,
        },
    ));
    if table.has("rate_per_1000") {
        out.push_str(&year_grid(
            table,
            names,
            &Grid {
                heading: "Offences per 1,000 residents a year, by district and year",
                cell: &rate_datum,
                format: fmt_rate,
                all_years: false,
            },
        ));
    }
    out.push_str(&source(&[AREA]));
    out
}

/// The districts of a `lad_code` table, by name, the margin last as "All districts".
fn lad_columns(table: &Table, names: &Names) -> Vec<String> {
    let rows: Vec<Row> = table.rows().collect();
    let mut codes = values(table, "lad_code", &rows);
    sort_districts(&mut codes, names);
    codes.push(table.total().to_string());
    codes
}

fn lad_heading(code: &str, table: &Table, names: &Names) -> String {
    if code == table.total() {
        "All districts".to_string()
    } else {
        names.area_text(code)
    }
}

/// Offences by category (rows) and district (columns), all years.
fn categories(table: &Table, names: &Names) -> String {
    let total = table.total();
    let rows: Vec<Row> = table.rows().collect();
    let mut categories = values(table, "category", &rows);
    categories.push(total.to_string());
    let lads = lad_columns(table, names);
    let cell = |cat: &str, lad: &str| {
        datum(
            table.row(&[("lad_code", lad), ("category", cat), ("year", total)]),
            "offences",
        )
    };
    let heading = "Offences by category and district (all years)";
    let mut out = format!("<h3>{heading}</h3>\n");
    let all = categories
        .iter()
        .flat_map(|c| lads.iter().map(move |l| (c, l)))
        .map(|(c, l)| cell(c.as_str(), l.as_str()).cell);
    if let Some(cells) = all_withheld(all) {
        out.push_str(&withheld_note(heading, cells));
        return out;
    }
    let mut header = vec!["Category".to_string()];
    header.extend(lads.iter().map(|l| lad_heading(l, table, names)));
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let body: Vec<Vec<Html>> = categories
        .iter()
        .map(|cat| {
            let label = if cat == total {
                Html::text("All serious violence")
            } else {
                Html::markup(format!("{} {}", esc(&code_label(cat)), Html::code(cat)))
            };
            let mut row = vec![label];
            row.extend(
                lads.iter()
                    .map(|l| cell(cat.as_str(), l.as_str()).span(fmt_count)),
            );
            row
        })
        .collect();
    out.push_str(&html_table("data num", &header, &body));
    out
}

/// Knife-enabled and firearm offences in each district, all categories and years.
fn weapons(table: &Table, names: &Names) -> String {
    let total = table.total();
    let counts: Vec<&str> = ["offences", "knife_offences", "firearm_offences"]
        .into_iter()
        .filter(|c| table.has(c))
        .collect();
    let lads = lad_columns(table, names);
    let row = |lad: &str| table.row(&[("lad_code", lad), ("category", total), ("year", total)]);
    let heading = "Knife-enabled and firearm offences by district (all years)";
    let mut out = format!("<h3>{heading}</h3>\n");
    for count in counts.iter().skip(1) {
        let cells = lads.iter().map(|l| datum(row(l.as_str()), count).cell);
        if let Some(n) = all_withheld(cells) {
            out.push_str(&withheld_note(
                &format!("{} by district", crate::sections::measure_label(count)),
                n,
            ));
        }
    }
    let mut header = vec!["District"];
    let labels: Vec<String> = counts
        .iter()
        .map(|c| crate::sections::measure_label(c))
        .collect();
    header.extend(labels.iter().map(String::as_str));
    let body: Vec<Vec<Html>> = lads
        .iter()
        .map(|lad| {
            let mut cells = vec![if lad == total {
                Html::text("All districts")
            } else {
                district_label(lad, names)
            }];
            cells.extend(
                counts
                    .iter()
                    .map(|c| datum(row(lad.as_str()), c).span(fmt_count)),
            );
            cells
        })
        .collect();
    out.push_str(&html_table("data num", &header, &body));
    out.push_str(&source(&[CATEGORY]));
    out
}
