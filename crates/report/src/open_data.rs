//! The report of a police open-data release (`pipelines/open_data.toml`): its one table,
//! `open_offences_by_area_month`, read as a partnership reads it: the partnership's own
//! crimes and rate, the trend, the categories, the districts and the areas with the highest
//! rates. Counts are copied from the published table; nothing is summed here.

use crate::html::{Datum, Html, fmt_count, fmt_rate, html_table};
use crate::sections::{Section, Tables};
use crate::svg::{Point, line_chart};
use crate::table::{Cell, Row, Table};

/// The open-data table the sections read.
pub const OPEN_TABLE: &str = "open_offences_by_area_month";

const COLUMNS: [&str; 7] = [
    "area_code",
    "area_name",
    "level",
    "category",
    "month",
    "offences",
    "rate_per_1000",
];

/// Whether a release is an open-data release this module reports on.
pub fn is_open_data(tables: &Tables) -> bool {
    tables
        .get(OPEN_TABLE)
        .is_some_and(|t| t.missing(&COLUMNS).is_empty())
}

/// Every section of an open-data report; call only when [`is_open_data`] holds.
pub fn sections(tables: &Tables) -> Vec<Section> {
    let Some(table) = tables.get(OPEN_TABLE) else {
        return Vec::new();
    };
    vec![
        headline(table),
        how_to_read(),
        trend(table),
        categories(table),
        districts(table),
        top_areas(table),
    ]
}

fn whole_period<'a>(table: &'a Table, area: &str) -> Option<Row<'a>> {
    let total = table.total();
    table.row(&[("area_code", area), ("category", total), ("month", total)])
}

fn count(row: Option<Row>) -> Html {
    row.map_or(Html::text("–"), |r| {
        Datum::of(&r, "offences").span(fmt_count)
    })
}

fn rate(row: Option<Row>) -> Html {
    match row.map(|r| r.cell("rate_per_1000")) {
        Some(Cell::Value(v)) => Html::text(&fmt_rate(v)),
        _ => Html::text("– (no population loaded)"),
    }
}

fn source() -> String {
    format!("<p class=\"source\">Source: <code>{OPEN_TABLE}</code></p>\n")
}

fn headline(table: &Table) -> Section {
    let partnership = whole_period(table, "Partnership");
    let rows = vec![
        vec![
            Html::text("Serious-violence proxy crimes in the partnership area"),
            count(partnership),
        ],
        vec![Html::text("Per 1,000 residents"), rate(partnership)],
        vec![
            Html::text("Placed by the force outside the partnership area"),
            count(whole_period(table, "Outside area")),
        ],
        vec![
            Html::text("Published without a location"),
            count(whole_period(table, "Unknown")),
        ],
        vec![
            Html::text("Every proxy crime the force published"),
            count(whole_period(table, "Total")),
        ],
    ];
    let mut body = html_table("data num", &["Measure", "Whole period"], &rows);
    body.push_str(&source());
    Section {
        id: "headline",
        title: "Headline: police-recorded crime from open data",
        body,
    }
}

fn how_to_read() -> Section {
    Section {
        id: "reading",
        title: "How to read this report",
        body: "<div class=\"callout\">\
<p>Every figure comes from <a href=\"https://data.police.uk/\">data.police.uk</a> street-level crime, as the force \
published it (Open Government Licence v3.0): crimes of the types the partnership counts as proxies for serious \
violence, placed in its LSOAs, wards and districts by the published LSOA. No partner data and no personal data are \
used, so nothing is suppressed. A crime the force placed in another partnership's LSOA counts under \
<em>Outside area</em>; one published without a location under <em>Unknown</em>.</p>\
<p>Rates are per 1,000 residents (population estimates loaded with the release), to one decimal place; an area \
with any LSOA not covered by them has no rate.</p></div>\n"
            .to_string(),
    }
}

fn trend(table: &Table) -> Section {
    let total = table.total();
    let mut rows = table.rows_where(&[("area_code", "Partnership"), ("category", total)]);
    rows.retain(|r| r.text("month") != total);
    rows.sort_by_key(|r| r.text("month"));
    let points: Vec<Point> = rows
        .iter()
        .map(|r| Point {
            label: r.text("month").to_string(),
            datum: Datum::of(r, "offences"),
        })
        .collect();
    let mut body =
        String::from("<h3>Proxy crimes per month in the partnership area (all categories)</h3>\n");
    if points.is_empty() {
        body.push_str("<p class=\"note\">No monthly rows published.</p>\n");
    } else {
        body.push_str(&line_chart(&points, "Crimes"));
    }
    body.push_str(&source());
    Section {
        id: "monthly",
        title: "Monthly trend",
        body,
    }
}

fn categories(table: &Table) -> Section {
    let total = table.total();
    let all = whole_period(table, "Partnership").and_then(|r| r.cell("offences").value());
    let mut rows = table.rows_where(&[("area_code", "Partnership"), ("month", total)]);
    rows.retain(|r| r.text("category") != total);
    rows.sort_by(|a, b| {
        let v = |r: &Row| r.cell("offences").value().unwrap_or(0.0);
        v(b).total_cmp(&v(a))
    });
    let cells: Vec<Vec<Html>> = rows
        .iter()
        .map(|r| {
            let share = match (r.cell("offences").value(), all) {
                (Some(n), Some(a)) if a > 0.0 => format!("{:.1}%", n / a * 100.0),
                _ => "–".to_string(),
            };
            vec![
                Html::text(&r.text("category").replace('_', " ")),
                Datum::of(r, "offences").span(fmt_count),
                Html::text(&share),
            ]
        })
        .collect();
    let mut body = html_table("data num", &["Category", "Crimes", "Share"], &cells);
    body.push_str(&source());
    Section {
        id: "categories",
        title: "What: categories",
        body,
    }
}

fn districts(table: &Table) -> Section {
    let total = table.total();
    let mut rows: Vec<Row> = table
        .rows_where(&[("level", "district"), ("category", total), ("month", total)])
        .into_iter()
        .collect();
    rows.sort_by_key(|r| r.text("area_name"));
    let cells: Vec<Vec<Html>> = rows
        .iter()
        .map(|r| {
            vec![
                Html::text(r.text("area_name")),
                Html::code(r.text("area_code")),
                Datum::of(r, "offences").span(fmt_count),
                rate(Some(*r)),
            ]
        })
        .collect();
    let mut body = html_table(
        "data num",
        &["District", "Code", "Crimes", "Per 1,000 residents"],
        &cells,
    );
    body.push_str(&source());
    Section {
        id: "districts",
        title: "Where: districts",
        body,
    }
}

fn top_areas(table: &Table) -> Section {
    let total = table.total();
    let mut ranked: Vec<(f64, Row)> = table
        .rows_where(&[("level", "LSOA"), ("category", total), ("month", total)])
        .into_iter()
        .filter_map(|r| r.cell("rate_per_1000").value().map(|v| (v, r)))
        .collect();
    ranked.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then(a.1.text("area_code").cmp(b.1.text("area_code")))
    });
    let body = if ranked.is_empty() {
        "<p class=\"note\">No rates: load population estimates to rank areas by rate.</p>\n"
            .to_string()
    } else {
        let cells: Vec<Vec<Html>> = ranked
            .iter()
            .take(10)
            .enumerate()
            .map(|(i, (v, r))| {
                vec![
                    Html::text(&(i + 1).to_string()),
                    Html::text(r.text("area_name")),
                    Html::code(r.text("area_code")),
                    Datum::of(r, "offences").span(fmt_count),
                    Html::text(&fmt_rate(*v)),
                ]
            })
            .collect();
        let mut out = html_table(
            "data num",
            &[
                "#",
                "Neighbourhood (LSOA)",
                "Code",
                "Crimes",
                "Per 1,000 residents",
            ],
            &cells,
        );
        out.push_str(&source());
        out
    };
    Section {
        id: "where",
        title: "Where: neighbourhoods with the highest rates",
        body,
    }
}
