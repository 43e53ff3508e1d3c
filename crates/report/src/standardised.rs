//! Comparing districts: ED assault attendances per 100,000 residents a year, crude and
//! age-standardised (ESP 2013), each district over all years. Every figure is a published
//! cell of the age table; publish computed the standardised rate from the published band
//! counts, so a district whose band counts are withheld shows `[c]`.

use crate::districts::{sort_districts, values};
use crate::html::{Html, fmt_count, fmt_rate, html_table};
use crate::names::Names;
use crate::sections::{ED_BY_AGE, Section, Tables, datum, need, source};
use crate::table::Table;

const COUNT: &str = "attendances";
const CRUDE: &str = "attendances_per_100k";
const STANDARDISED: &str = "attendances_per_100k_esp2013";

/// The section; a note where the release lacks the table.
pub fn standardised_rates(tables: &Tables, names: &Names) -> Section {
    let columns = ["lad_code", "age_band", "year", COUNT, CRUDE, STANDARDISED];
    let body = match need(tables, ED_BY_AGE, &columns) {
        Ok(table) => body(table, names),
        Err(note) => note,
    };
    Section {
        id: "standardised",
        title: "Comparing districts: age-standardised rates",
        body,
    }
}

fn body(table: &Table, names: &Names) -> String {
    let total = table.total();
    let mut out = String::from(
        "<p>ED assault attendances per 100,000 residents a year, each district over all years. Violence falls mostly on the young, so a district with younger residents has more attendances per head for that reason alone. The <strong>age-standardised</strong> rate is the rate the district would have with the ages of the 2013 European Standard Population (the mean of its age-band rates, weighted by the standard's population in each band): compare districts by it. The crude rate is attendances over all residents, unknown ages included.</p>\n",
    );
    let rows: Vec<_> = table.rows().collect();
    let mut lads = values(table, "lad_code", &rows);
    sort_districts(&mut lads, names);
    lads.push(total.to_string());
    let header = [
        "District",
        "Attendances",
        "Crude rate a year",
        "Age-standardised rate a year",
    ];
    let body: Vec<Vec<Html>> = lads
        .iter()
        .map(|lad| {
            let row = table.row(&[
                ("lad_code", lad.as_str()),
                ("age_band", total),
                ("year", total),
            ]);
            let name = if lad == total {
                Html::text("The partnership")
            } else {
                names.area_html(lad)
            };
            vec![
                name,
                datum(row, COUNT).span(fmt_count),
                datum(row, CRUDE).span(fmt_rate),
                datum(row, STANDARDISED).span(fmt_rate),
            ]
        })
        .collect();
    out.push_str(&html_table("data num", &header, &body));
    out.push_str(&source(&[ED_BY_AGE]));
    out
}
