//! Every withheld cell of the release in words: the table, the figure and the cell's
//! dimension values with their names ("Knife-enabled offences: district Boston (E07000136),
//! category Homicide, year 2021"), read from the published CSVs themselves, rather than the
//! `measure[dim=…]` identities of `disclosure_report.csv`. A table or figure withheld in
//! every cell is said so first, since its chart would otherwise look empty.

use crate::html::{all_withheld, esc, fmt_count, left_out_note, withheld_note};
use crate::names::{Names, code_label};
use crate::sections::{AGENCIES, Section, Tables, WEEKDAYS, measure_label, sex_label};
use crate::table::{Cell, Row, Table};
use svna_records::ReleaseManifest;

/// Cells listed per table; the rest are counted, and the CSV holds every one.
const LISTED: usize = 200;

/// The section listing the withheld cells of every table the release publishes.
pub fn withheld(manifest: &ReleaseManifest, tables: &Tables, names: &Names) -> Section {
    let mut body = String::from(
        "<p>Every figure shown as [c] in the published tables, table by table, in words. A cell is withheld either because it is small (under the table's threshold) or because, published, it would let a small one be worked out from the others; which of the two is not published, because saying so would narrow what a small figure could be.</p>\n",
    );
    // Tables left out whole first: they have no CSV to list cells from.
    let whole: Vec<&str> = manifest
        .left_out
        .iter()
        .map(|l| l.table.as_str())
        .filter(|t| tables.is_left_out(t) && !tables.contains_key(t) && !t.contains('.'))
        .collect();
    let mut any = !whole.is_empty();
    for table in whole {
        body.push_str(&format!("<h3><code>{}</code></h3>\n", esc(table)));
        body.push_str(&left_out_note(table));
    }
    for entry in &manifest.tables {
        let Some(table) = tables.get(&entry.name) else {
            continue;
        };
        let cells = withheld_cells(table);
        if cells.is_empty() {
            continue;
        }
        any = true;
        body.push_str(&table_part(table, &cells, names));
    }
    if !any {
        body.push_str("<p class=\"note\">No cell of this release is withheld.</p>\n");
    }
    Section {
        id: "withheld",
        title: "Withheld cells",
        body,
    }
}

/// The withheld cells of a table: each row and count column whose value is `[c]`.
fn withheld_cells(table: &Table) -> Vec<(Row<'_>, &str)> {
    table
        .rows()
        .flat_map(|row| {
            table
                .spec
                .counts
                .iter()
                .filter(move |c| row.cell(c) == Cell::Suppressed)
                .map(move |c| (row, c.as_str()))
        })
        .collect()
}

fn table_part(table: &Table, cells: &[(Row, &str)], names: &Names) -> String {
    let total_cells = table.rows().count() * table.spec.counts.len();
    let mut out = format!(
        "<h3><code>{}</code></h3>\n<p>{} of {} cells withheld.</p>\n",
        esc(&table.name),
        fmt_count(cells.len() as f64),
        fmt_count(total_cells as f64)
    );
    for count in &table.spec.counts {
        if let Some(n) = all_withheld(table.rows().map(|r| r.cell(count))) {
            let what = format!("{} in {}", measure_label(count), table.name);
            out.push_str(&withheld_note(&what, n));
        }
    }
    out.push_str(&format!(
        "<details><summary>The {} withheld cells</summary>\n<ul class=\"withheld\">",
        fmt_count(cells.len() as f64)
    ));
    for (row, count) in cells.iter().take(LISTED) {
        out.push_str(&format!(
            "<li>{}</li>",
            esc(&describe(table, row, count, names))
        ));
    }
    out.push_str("</ul>\n");
    if cells.len() > LISTED {
        out.push_str(&format!(
            "<p class=\"small\">and {} more, each [c] in the table's CSV.</p>\n",
            fmt_count((cells.len() - LISTED) as f64)
        ));
    }
    out.push_str("</details>\n");
    out
}

/// One withheld cell in words: the figure, then each dimension's value (plain text).
pub fn describe(table: &Table, row: &Row, count: &str, names: &Names) -> String {
    let parts: Vec<String> = table
        .spec
        .dimensions
        .iter()
        .filter_map(|dim| dimension_words(dim, row.text(dim), table.total(), names))
        .collect();
    format!("{}: {}", measure_label(count), parts.join(", "))
}

/// A dimension's name in prose: singular, and plural for its margin ("all districts").
fn dimension_name(dim: &str) -> (String, String) {
    let (one, all) = match dim {
        "lad_code" => ("district", "districts"),
        "area_code" => ("area", "areas"),
        "category" => ("category", "categories"),
        "year" => ("year", "years"),
        "month" => ("month", "months"),
        "quarter" => ("quarter", "quarters"),
        "weekday" => ("day", "days of the week"),
        "hour" => ("hour", "hours"),
        "age_band" => ("age band", "ages"),
        "sex" => ("sex", "sexes"),
        "location_type" => ("place", "types of place"),
        "assault_method" => ("method", "methods"),
        "role" => ("role", "roles"),
        "factor" => ("factor", "factors"),
        other => {
            let words = other.replace('_', " ");
            return (words.clone(), format!("values of {words}"));
        }
    };
    (one.to_string(), all.to_string())
}

/// A dimension value in words; `None` where it says nothing (an agency's margin in the
/// cohort table: known or not).
fn dimension_words(dim: &str, value: &str, total: &str, names: &Names) -> Option<String> {
    if let Some((_, agency)) = AGENCIES.iter().find(|(c, _)| *c == dim) {
        return match value {
            "yes" => Some(format!("known to {agency}")),
            "no" => Some(format!("not known to {agency}")),
            v if v == total => None,
            v => Some(format!("{agency}: {v}")),
        };
    }
    let (one, all) = dimension_name(dim);
    if value == total {
        return Some(format!("all {all}"));
    }
    let value = match dim {
        "lad_code" | "area_code" => names.area_text(value),
        "category" | "location_type" | "assault_method" | "role" | "factor" => code_label(value),
        "sex" => sex_label(value),
        "weekday" => WEEKDAYS
            .iter()
            .find(|(code, _)| *code == value)
            .map_or(value.to_string(), |(_, day)| day.to_string()),
        "hour" if value.len() == 2 && value.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{value}:00 to {value}:59")
        }
        _ => value.to_string(),
    };
    Some(format!("{one} {value}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dimension_values_read_as_words() {
        let names = Names::default();
        assert_eq!(
            dimension_words("lad_code", "Total", "Total", &names).as_deref(),
            Some("all districts")
        );
        assert_eq!(
            dimension_words("category", "violence_with_injury", "Total", &names).as_deref(),
            Some("category Violence with injury")
        );
        assert_eq!(
            dimension_words("weekday", "Sat", "Total", &names).as_deref(),
            Some("day Saturday")
        );
        assert_eq!(
            dimension_words("hour", "07", "Total", &names).as_deref(),
            Some("hour 07:00 to 07:59")
        );
        assert_eq!(
            dimension_words("police", "yes", "Total", &names).as_deref(),
            Some("known to Police (suspect or offender)")
        );
        assert_eq!(dimension_words("police", "Total", "Total", &names), None);
        assert_eq!(
            dimension_words("offence_count", "3", "Total", &names).as_deref(),
            Some("offence count 3")
        );
    }
}
