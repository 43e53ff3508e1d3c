//! The report's sections, each built from the published tables alone. A section whose table
//! is not in the release shows a note instead. Totals are always the published margins,
//! never sums of parts, so a withheld part can never be undone or shown as zero.

use std::collections::{BTreeMap, BTreeSet};

use svna_records::DisclosurePolicy;

use crate::html::{
    Datum, Html, columns_note, esc, fmt_change, fmt_count, fmt_rate, html_table, left_out_note,
    missing_note,
};
use crate::names::{Names, code_label};
use crate::svg::{BarGroup, HeatRow, Point, bar_chart, heatmap, line_chart};
use crate::table::{Cell, Row, SUPPRESSED, Table};

/// The release's tables the report read, and the names of those disclosure control left out
/// of the release whole, so a section can say "withheld whole" rather than "not published by
/// this pipeline" when its table is absent.
#[derive(Debug, Default)]
pub struct Tables {
    tables: BTreeMap<String, Table>,
    left_out: BTreeSet<String>,
}

impl Tables {
    pub fn new(
        tables: BTreeMap<String, Table>,
        left_out: impl IntoIterator<Item = String>,
    ) -> Self {
        Tables {
            tables,
            left_out: left_out.into_iter().collect(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&Table> {
        self.tables.get(name)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.tables.contains_key(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.tables.keys()
    }

    pub fn values(&self) -> impl Iterator<Item = &Table> {
        self.tables.values()
    }

    /// Whether the release left this table out because no cell of it could be published.
    pub fn is_left_out(&self, name: &str) -> bool {
        self.left_out.contains(name)
    }

    /// The note for a table the release lacks: withheld whole, or never produced.
    pub fn absent_note(&self, name: &str) -> String {
        if self.is_left_out(name) {
            left_out_note(name)
        } else {
            missing_note(name)
        }
    }
}

/// The tables the report draws on; any may be missing from a release.
pub const TABLES: [&str; 13] = [
    TREND,
    SUCCESS,
    ED_BY_AGE,
    MONTHLY,
    HOUR_WEEKDAY,
    VICTIMS,
    SUSPECTS,
    AREA,
    LOCATION,
    CATEGORY,
    ED_METHOD,
    COHORT,
    DATA_QUALITY,
];
const TREND: &str = "sv_trend_by_year";
pub(crate) const SUCCESS: &str = "success_measures";
pub(crate) const ED_BY_AGE: &str = "ed_assaults_by_district_age_year";
const MONTHLY: &str = "sv_offences_by_district_month";
const HOUR_WEEKDAY: &str = "sv_offences_by_hour_weekday";
const VICTIMS: &str = "sv_victims_by_age_sex";
const SUSPECTS: &str = "sv_suspects_by_age_sex";
pub(crate) const AREA: &str = "sv_offences_by_area_year";
const LOCATION: &str = "sv_offences_by_location_type";
pub(crate) const CATEGORY: &str = "sv_offences_by_category_year";
const ED_METHOD: &str = "ed_assaults_by_method_month";
const COHORT: &str = "cohort_overlap_by_age";
const DATA_QUALITY: &str = "data_quality";

/// One titled part of the report.
pub struct Section {
    pub id: &'static str,
    pub title: &'static str,
    pub body: String,
}

/// The table if the release has it with the columns a section needs; otherwise the note
/// to show in its place.
pub(crate) fn need<'a>(
    tables: &'a Tables,
    name: &str,
    columns: &[&str],
) -> Result<&'a Table, String> {
    let table = tables.get(name).ok_or_else(|| tables.absent_note(name))?;
    let missing = table.missing(columns);
    if missing.is_empty() {
        Ok(table)
    } else {
        Err(columns_note(name, &missing))
    }
}

pub(crate) fn datum(row: Option<Row>, column: &str) -> Datum {
    row.map_or(Datum::derived(Cell::Blank), |r| Datum::of(&r, column))
}

pub(crate) fn source(tables: &[&str]) -> String {
    format!(
        "<p class=\"source\">Source: {}</p>\n",
        tables
            .iter()
            .map(|t| format!("<code>{}</code>", esc(t)))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

// ---- headline measures ----------------------------------------------------------------

/// Latest full year against the previous year and the mean of the three years before it.
pub fn headline(tables: &Tables) -> Section {
    let body = match need(tables, TREND, &["year"]) {
        Ok(trend) => headline_body(trend, tables.get(MONTHLY)),
        Err(note) => note,
    };
    Section {
        id: "headline",
        title: "Headline measures",
        body,
    }
}

fn headline_body(trend: &Table, monthly: Option<&Table>) -> String {
    let total = trend.total();
    let mut years: Vec<&str> = trend
        .rows()
        .map(|r| r.text("year"))
        .filter(|y| *y != total)
        .collect();
    years.sort_unstable();
    let full = monthly.and_then(full_years);
    let latest = match &full {
        Some(full) => years.iter().rev().find(|y| full.contains(**y)).copied(),
        None => years.last().copied(),
    };
    let Some(latest) = latest else {
        return "<p class=\"note\">No full year of data in this release.</p>\n".to_string();
    };
    let mut out = String::from("<div class=\"cards\">\n");
    for measure in &trend.spec.counts {
        out.push_str(&headline_card(trend, measure, latest));
    }
    out.push_str("</div>\n");
    // The year is a value from the published CSV, so it is escaped like any other.
    let year = esc(latest);
    out.push_str(&match full {
        Some(_) => format!(
            "<p class=\"small\">{year} is the latest year with all twelve months in <code>{MONTHLY}</code>. The 3-year average is the mean of the three years before it; it is shown as [c] if any of those years is withheld.</p>\n"
        ),
        None => format!(
            "<p class=\"small\">{year} is the latest year published; whether it is a full year could not be checked because <code>{MONTHLY}</code> is not in this release.</p>\n"
        ),
    });
    out.push_str(&trend_table(trend, &years));
    out.push_str(&source(&[TREND]));
    out
}

/// Years with all twelve months in the county-total rows of the monthly table.
fn full_years(monthly: &Table) -> Option<BTreeSet<String>> {
    if !monthly.has("month") || !monthly.has("lad_code") {
        return None;
    }
    let mut months: BTreeMap<String, usize> = BTreeMap::new();
    for row in monthly.rows_where(&[("lad_code", monthly.total())]) {
        if let Some((year, _)) = row.text("month").split_once('-') {
            *months.entry(year.to_string()).or_default() += 1;
        }
    }
    Some(
        months
            .into_iter()
            .filter(|(_, n)| *n >= 12)
            .map(|(y, _)| y)
            .collect(),
    )
}

pub(crate) fn measure_label(column: &str) -> String {
    match column {
        "offences" => "Serious violence offences".into(),
        "knife_offences" => "Knife-enabled offences".into(),
        "firearm_offences" => "Firearm offences".into(),
        "non_domestic_homicides" => "Non-domestic homicides".into(),
        other => code_label(other),
    }
}

fn year_cell(trend: &Table, year: &str, measure: &str) -> Datum {
    datum(trend.row(&[("year", year)]), measure)
}

fn offset_year(year: &str, by: i32) -> String {
    year.parse::<i32>()
        .map(|y| (y + by).to_string())
        .unwrap_or_default()
}

/// The mean of published yearly values; `[c]` if any is withheld, blank if any is missing.
fn mean_of(cells: &[Cell]) -> Cell {
    if cells.contains(&Cell::Suppressed) {
        return Cell::Suppressed;
    }
    let values: Option<Vec<f64>> = cells.iter().map(|c| c.value()).collect();
    match values {
        Some(v) if !v.is_empty() => Cell::Value(v.iter().sum::<f64>() / v.len() as f64),
        _ => Cell::Blank,
    }
}

fn change_text(now: Cell, before: Cell) -> String {
    match (now, before) {
        (Cell::Value(a), Cell::Value(b)) => fmt_change(a, b),
        (Cell::Suppressed, _) | (_, Cell::Suppressed) => SUPPRESSED.into(),
        _ => "–".into(),
    }
}

fn change_class(now: Cell, before: Cell) -> &'static str {
    match (now, before) {
        (Cell::Value(a), Cell::Value(b)) if a > b => "up",
        (Cell::Value(a), Cell::Value(b)) if a < b => "down",
        _ => "flat",
    }
}

fn headline_card(trend: &Table, measure: &str, latest: &str) -> String {
    let now = year_cell(trend, latest, measure);
    let previous_year = offset_year(latest, -1);
    let previous = year_cell(trend, &previous_year, measure);
    let base_years: Vec<String> = (1..=3).rev().map(|k| offset_year(latest, -k)).collect();
    let baseline = mean_of(
        &base_years
            .iter()
            .map(|y| year_cell(trend, y, measure).cell)
            .collect::<Vec<_>>(),
    );
    let compare = |label: String, before: &Datum, format: fn(f64) -> String| {
        format!(
            "<div class=\"cmp\">{} {} <span class=\"chg {}\">{}</span></div>",
            esc(&label),
            before.span(format),
            change_class(now.cell, before.cell),
            esc(&change_text(now.cell, before.cell))
        )
    };
    format!(
        "<div class=\"card\"><div class=\"label\">{} in {}</div><div class=\"big\">{}</div>{}{}</div>\n",
        esc(&measure_label(measure)),
        esc(latest),
        now.span(fmt_count),
        compare(format!("vs {previous_year}:"), &previous, fmt_count),
        compare(
            format!(
                "vs 3-year average {}–{}:",
                base_years[0],
                base_years[base_years.len() - 1]
            ),
            &Datum::derived(baseline),
            fmt_rate
        ),
    )
}

fn trend_table(trend: &Table, years: &[&str]) -> String {
    let measures = &trend.spec.counts;
    let mut header = vec!["Year".to_string()];
    header.extend(measures.iter().map(|m| measure_label(m)));
    let mut all: Vec<&str> = years.to_vec();
    all.push(trend.total());
    let rows: Vec<Vec<Html>> = all
        .iter()
        .map(|y| {
            let label = if *y == trend.total() { "All years" } else { y };
            let mut cells = vec![Html::text(label)];
            cells.extend(
                measures
                    .iter()
                    .map(|m| year_cell(trend, y, m).span(fmt_count)),
            );
            cells
        })
        .collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    html_table("data num", &header, &rows)
}

// ---- monthly trend ----------------------------------------------------------------------

/// Offences per month for the whole area, and ED assault attendances per month.
pub fn monthly_trend(tables: &Tables) -> Section {
    let mut body = match need(tables, MONTHLY, &["lad_code", "month", "offences"]) {
        Ok(t) => monthly_chart(
            t,
            "lad_code",
            "offences",
            "Serious violence offences per month (all districts)",
        ),
        Err(note) => note,
    };
    if let Ok(t) = need(
        tables,
        ED_METHOD,
        &["assault_method", "month", "attendances"],
    ) {
        body.push_str(&monthly_chart(
            t,
            "assault_method",
            "attendances",
            "Emergency department attendances for assault per month (all methods)",
        ));
    }
    Section {
        id: "monthly",
        title: "Monthly trend",
        body,
    }
}

fn monthly_chart(table: &Table, margin_dim: &str, count: &str, title: &str) -> String {
    let mut rows = table.rows_where(&[(margin_dim, table.total())]);
    rows.retain(|r| r.text("month") != table.total());
    rows.sort_by_key(|r| r.text("month"));
    let points: Vec<Point> = rows
        .iter()
        .map(|r| Point {
            label: r.text("month").to_string(),
            datum: Datum::of(r, count),
        })
        .collect();
    let withheld = points
        .iter()
        .filter(|p| p.datum.cell == Cell::Suppressed)
        .count();
    let mut out = format!("<h3>{}</h3>\n", esc(title));
    if points.is_empty() {
        out.push_str("<p class=\"note\">No monthly rows published.</p>\n");
        return out;
    }
    out.push_str(&line_chart(&points, &measure_label(count)));
    // A wholly withheld chart is a note already (see `line_chart`), so no hatching to explain.
    if withheld > 0 && withheld < points.len() {
        out.push_str(&format!(
            "<p class=\"small\">{withheld} month(s) withheld: shown as hatched bands marked [c]; the line is broken there, not drawn to zero.</p>\n"
        ));
    }
    out.push_str(&source(&[&table.name]));
    out
}

// ---- hour x weekday ---------------------------------------------------------------------

pub(crate) const WEEKDAYS: [(&str, &str); 7] = [
    ("Mon", "Monday"),
    ("Tue", "Tuesday"),
    ("Wed", "Wednesday"),
    ("Thu", "Thursday"),
    ("Fri", "Friday"),
    ("Sat", "Saturday"),
    ("Sun", "Sunday"),
];

/// Offences by hour of day and day of week for the whole area.
pub fn hour_weekday(tables: &Tables) -> Section {
    let body = match need(
        tables,
        HOUR_WEEKDAY,
        &["lad_code", "weekday", "hour", "offences"],
    ) {
        Ok(t) => hour_weekday_body(t),
        Err(note) => note,
    };
    Section {
        id: "when",
        title: "When: hour of day × day of week",
        body,
    }
}

fn hour_weekday_body(table: &Table) -> String {
    let total = table.total();
    let hours: Vec<String> = (0..24).map(|h| format!("{h:02}")).collect();
    let rows: Vec<HeatRow> = WEEKDAYS
        .iter()
        .map(|(code, _)| HeatRow {
            label: code.to_string(),
            cells: hours
                .iter()
                .map(|h| {
                    let row = table.row(&[("lad_code", total), ("weekday", code), ("hour", h)]);
                    datum(row, "offences")
                })
                .collect(),
        })
        .collect();
    let mut out = String::from(
        "<p>Serious violence offences in all districts, by the hour they started (columns, 00 = midnight to 1am) and day of week (rows). Darker is more.</p>\n",
    );
    out.push_str(&heatmap(&rows, &hours, "Offences by hour and weekday"));
    let unknown = table.row(&[("lad_code", total), ("weekday", total), ("hour", "unknown")]);
    if let Some(row) = unknown {
        out.push_str(&format!(
            "<p class=\"small\">Offences with no recorded time (not in the grid): {}.</p>\n",
            Datum::of(&row, "offences").span(fmt_count)
        ));
    }
    out.push_str(&source(&[HOUR_WEEKDAY]));
    out
}

// ---- age x sex --------------------------------------------------------------------------

/// Victims and suspects by age band and sex.
pub fn age_sex(tables: &Tables) -> Section {
    let mut body = String::new();
    for (name, count, title) in [
        (VICTIMS, "victims", "Victims"),
        (SUSPECTS, "suspects", "Suspects"),
    ] {
        body.push_str(&format!("<h3>{title}</h3>\n"));
        body.push_str(&match need(tables, name, &["age_band", "sex", count]) {
            Ok(t) => age_sex_chart(t, count),
            Err(note) => note,
        });
    }
    Section {
        id: "who",
        title: "Who: victims and suspects by age and sex",
        body,
    }
}

/// The finest age bands: those that are no other band's parent (the hierarchy's leaves).
fn leaf_bands(table: &Table) -> Vec<String> {
    let parent_col = table.spec.parents.get("age_band");
    let parents: BTreeSet<&str> = parent_col
        .map(|p| table.rows().map(|r| r.text(p)).collect())
        .unwrap_or_default();
    let mut bands: Vec<String> = table
        .rows()
        .map(|r| r.text("age_band"))
        .filter(|b| *b != table.total() && !parents.contains(b))
        .map(str::to_string)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    bands.sort_by_key(|b| band_order(b));
    bands
}

/// Age bands in age order (`0-9` before `10-17` before `65+`), unknown last.
fn band_order(band: &str) -> (u32, String) {
    let digits: String = band.chars().take_while(char::is_ascii_digit).collect();
    (digits.parse().unwrap_or(u32::MAX), band.to_string())
}

pub(crate) fn sex_label(code: &str) -> String {
    match code {
        "F" => "Female".into(),
        "M" => "Male".into(),
        "U" => "Unknown".into(),
        other => other.to_string(),
    }
}

fn age_sex_chart(table: &Table, count: &str) -> String {
    let total = table.total();
    let sexes: Vec<String> = table
        .rows()
        .map(|r| r.text("sex"))
        .filter(|s| *s != total)
        .map(str::to_string)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let groups: Vec<BarGroup> = leaf_bands(table)
        .iter()
        .map(|band| BarGroup {
            label: band.clone(),
            bars: sexes
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    (
                        i,
                        datum(table.row(&[("age_band", band), ("sex", s)]), count),
                    )
                })
                .collect(),
        })
        .collect();
    let labels: Vec<String> = sexes.iter().map(|s| sex_label(s)).collect();
    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
    let all = datum(table.row(&[("age_band", total), ("sex", total)]), count);
    let mut out = format!(
        "<p>All {count}: {} (the published total; it includes people whose sex or age is unknown).</p>\n",
        all.span(fmt_count)
    );
    out.push_str(&bar_chart(&groups, &labels, count, fmt_count));
    out.push_str(&source(&[&table.name]));
    out
}

// ---- where ------------------------------------------------------------------------------

/// Wards (and neighbourhoods) with the highest rates, and the kinds of place.
pub fn places(tables: &Tables, names: &Names) -> Section {
    let columns = ["area_code", "year", "offences", "rate_per_1000"];
    let mut body = match need(tables, AREA, &columns) {
        Ok(t) => {
            let mut s = String::from(
                "<h3>Top 10 wards by rate per 1,000 residents a year (all years' average)</h3>\n",
            );
            s.push_str(&top_areas(t, "E05", ("Ward", "wards", "District"), names));
            s.push_str(
                "<h3>Top 10 neighbourhoods (LSOAs) by rate per 1,000 residents a year (all years' average)</h3>\n",
            );
            s.push_str(&top_areas(t, "E01", ("LSOA", "LSOAs", "Ward"), names));
            s.push_str(&source(&[AREA]));
            s
        }
        Err(note) => note,
    };
    body.push_str("<h3>Type of place</h3>\n");
    body.push_str(
        &match need(tables, LOCATION, &["lad_code", "location_type", "offences"]) {
            Ok(t) => location_chart(t),
            Err(note) => note,
        },
    );
    Section {
        id: "where",
        title: "Where: wards with the highest rates",
        body,
    }
}

/// The areas whose code starts with `prefix` (E05 wards, E01 LSOAs), ranked by published rate
/// over all years. Areas whose count is withheld have no rate and are counted, not ranked.
/// `labels`: the area's column heading, its plural in prose, and its parent's heading; areas
/// are named as the release names them.
fn top_areas(table: &Table, prefix: &str, labels: (&str, &str, &str), names: &Names) -> String {
    let (what, plural, parent_label) = labels;
    let total = table.total();
    let areas: Vec<Row> = table
        .rows_where(&[("year", total)])
        .into_iter()
        .filter(|r| r.text("area_code").starts_with(prefix))
        .collect();
    if areas.is_empty() {
        return format!("<p class=\"note\">No {plural} in this table.</p>\n");
    }
    let mut ranked: Vec<(f64, Row)> = areas
        .iter()
        .filter_map(|r| r.cell("rate_per_1000").value().map(|v| (v, *r)))
        .collect();
    ranked.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then(a.1.text("area_code").cmp(b.1.text("area_code")))
    });
    let unranked = areas.len() - ranked.len();
    let max = ranked.first().map_or(1.0, |(v, _)| *v);
    let county = table.row(&[("area_code", total), ("year", total)]);
    let parent = table.spec.parents.get("area_code").cloned();
    let top: Vec<(f64, Row)> = ranked.into_iter().take(10).collect();
    // IMD deciles are published per LSOA; a column of dashes for wards says nothing.
    let with_imd = top
        .iter()
        .any(|(_, r)| r.cell("imd_decile").value().is_some());
    let rows: Vec<Vec<Html>> = top
        .iter()
        .enumerate()
        .map(|(i, (rate, row))| {
            let mut cells = area_row(i + 1, row, *rate / max, parent.as_deref(), names);
            cells.truncate(if with_imd { 8 } else { 7 });
            cells
        })
        .collect();
    let mut header = vec![
        "#",
        what,
        parent_label,
        "Offences",
        "Residents",
        "Rate per 1,000 a year",
        "",
        "IMD decile",
    ];
    header.truncate(if with_imd { 8 } else { 7 });
    let mut out = html_table("data num", &header, &rows);
    let imd_note = if with_imd {
        " IMD decile 1 is the most deprived tenth of England (IMD 2019)."
    } else {
        ""
    };
    out.push_str(&format!(
        "<p class=\"small\">All areas: {} offences, {} per 1,000 residents a year. {unranked} of {} {plural} have a withheld count, so no published rate, and are not ranked.{imd_note}</p>\n",
        datum(county, "offences").span(fmt_count),
        datum(county, "rate_per_1000").span(fmt_rate),
        areas.len()
    ));
    out
}

fn area_row(rank: usize, row: &Row, share: f64, parent: Option<&str>, names: &Names) -> Vec<Html> {
    let context = |col: &str| match row.cell(col) {
        Cell::Value(v) => Html::text(&fmt_count(v)),
        _ => Html::text("–"),
    };
    vec![
        Html::text(&rank.to_string()),
        names.area_html(row.text("area_code")),
        parent.map_or(Html::default(), |p| names.area_html(row.text(p))),
        Datum::of(row, "offences").span(fmt_count),
        context("residents"),
        Datum::of(row, "rate_per_1000").span(fmt_rate),
        Html::markup(format!(
            "<div class=\"inbar\"><div style=\"width:{:.0}%\"></div></div>",
            share * 100.0
        )),
        context("imd_decile"),
    ]
}

fn location_chart(table: &Table) -> String {
    let total = table.total();
    let mut rows = table.rows_where(&[("lad_code", total)]);
    rows.retain(|r| r.text("location_type") != total);
    sort_desc(&mut rows, "offences");
    let groups: Vec<BarGroup> = rows
        .iter()
        .map(|r| BarGroup {
            label: r.text("location_type").replace('_', " "),
            bars: vec![(0, Datum::of(r, "offences"))],
        })
        .collect();
    let mut out = bar_chart(
        &groups,
        &["Offences"],
        "Offences by type of place",
        fmt_count,
    );
    out.push_str(&source(&[LOCATION]));
    out
}

/// Largest published value first; withheld cells after every published one (their size is
/// unknown), then in code order.
fn sort_desc(rows: &mut [Row], column: &str) {
    rows.sort_by(|a, b| {
        let key = |r: &Row| r.cell(column).value().unwrap_or(f64::NEG_INFINITY);
        key(b).total_cmp(&key(a))
    });
}

// ---- weapons ----------------------------------------------------------------------------

/// Knife and firearm involvement in police-recorded offences, and ED assault methods.
pub fn weapons(tables: &Tables) -> Section {
    let columns = [
        "lad_code",
        "category",
        "year",
        "offences",
        "knife_offences",
        "firearm_offences",
    ];
    let mut body = match need(tables, CATEGORY, &columns) {
        Ok(t) => weapon_years(t),
        Err(note) => note,
    };
    body.push_str("<h3>Emergency department: assault method (all months)</h3>\n");
    body.push_str(&match need(
        tables,
        ED_METHOD,
        &["assault_method", "month", "attendances"],
    ) {
        Ok(t) => ed_methods(t),
        Err(note) => note,
    });
    Section {
        id: "weapons",
        title: "Weapon mix",
        body,
    }
}

fn weapon_years(table: &Table) -> String {
    let total = table.total();
    let mut rows = table.rows_where(&[("lad_code", total), ("category", total)]);
    rows.sort_by_key(|r| {
        let y = r.text("year");
        (y == total, y.to_string())
    });
    let groups: Vec<BarGroup> = rows
        .iter()
        .map(|r| BarGroup {
            label: match r.text("year") {
                y if y == total => "All years".to_string(),
                y => y.to_string(),
            },
            bars: vec![
                (0, Datum::of(r, "knife_offences")),
                (1, Datum::of(r, "firearm_offences")),
            ],
        })
        .collect();
    let all = table.row(&[("lad_code", total), ("category", total), ("year", total)]);
    let share = |col: &str| share_text(datum(all, col).cell, datum(all, "offences").cell);
    let mut out = format!(
        "<h3>Police-recorded serious violence: knife-enabled and firearm offences</h3>\n\
<p>Over all years, {} of {} offences were knife-enabled ({}) and {} involved a firearm ({}). An offence can be flagged both, so the two are not added, and the rest is not derived.</p>\n",
        datum(all, "knife_offences").span(fmt_count),
        datum(all, "offences").span(fmt_count),
        share("knife_offences"),
        datum(all, "firearm_offences").span(fmt_count),
        share("firearm_offences"),
    );
    out.push_str(&bar_chart(
        &groups,
        &["Knife-enabled", "Firearm"],
        "Knife-enabled and firearm offences by year",
        fmt_count,
    ));
    out.push_str(&source(&[CATEGORY]));
    out
}

/// A share of a published margin; `[c]` if either is withheld.
fn share_text(part: Cell, whole: Cell) -> String {
    match (part, whole) {
        (Cell::Value(p), Cell::Value(w)) if w > 0.0 => format!("{:.1}%", p / w * 100.0),
        (Cell::Suppressed, _) | (_, Cell::Suppressed) => SUPPRESSED.into(),
        _ => "–".into(),
    }
}

fn ed_methods(table: &Table) -> String {
    let total = table.total();
    let mut rows = table.rows_where(&[("month", total)]);
    rows.retain(|r| r.text("assault_method") != total);
    sort_desc(&mut rows, "attendances");
    let all = table.row(&[("assault_method", total), ("month", total)]);
    let groups: Vec<BarGroup> = rows
        .iter()
        .map(|r| BarGroup {
            label: format!(
                "{} ({})",
                r.text("assault_method").replace('_', " "),
                share_text(r.cell("attendances"), datum(all, "attendances").cell)
            ),
            bars: vec![(0, Datum::of(r, "attendances"))],
        })
        .collect();
    let mut out = format!(
        "<p>All ED assault attendances: {}. Shares are of that published total.</p>\n",
        datum(all, "attendances").span(fmt_count)
    );
    out.push_str(&bar_chart(
        &groups,
        &["Attendances"],
        "ED assault attendances by method",
        fmt_count,
    ));
    out.push_str(&source(&[ED_METHOD]));
    out
}

// ---- cohort overlap ---------------------------------------------------------------------

pub(crate) const AGENCIES: [(&str, &str); 4] = [
    ("police", "Police (suspect or offender)"),
    ("youth_justice", "Youth justice"),
    ("probation", "Probation"),
    ("school_suspensions", "School suspension or exclusion"),
];

/// How many people are known to which combination of agencies (all ages).
pub fn cohort(tables: &Tables) -> Section {
    let mut columns: Vec<&str> = AGENCIES.iter().map(|(c, _)| *c).collect();
    columns.extend(["age_band", "persons"]);
    let body = match need(tables, COHORT, &columns) {
        Ok(t) => cohort_body(t),
        Err(note) => note,
    };
    Section {
        id: "cohort",
        title: "Cohort overlap across agencies",
        body,
    }
}

fn cohort_body(table: &Table) -> String {
    let total = table.total();
    let mut combos: Vec<Row> = table
        .rows_where(&[("age_band", total)])
        .into_iter()
        .filter(|r| {
            AGENCIES
                .iter()
                .all(|(c, _)| r.text(c) == "yes" || r.text(c) == "no")
        })
        .filter(|r| AGENCIES.iter().any(|(c, _)| r.text(c) == "yes"))
        .collect();
    sort_desc(&mut combos, "persons");
    let max = combos
        .iter()
        .filter_map(|r| r.cell("persons").value())
        .fold(0.0, f64::max);
    let mut out = String::from(
        "<p>Distinct people (linked by pseudonymous token, all ages) by the combination of agencies that know them. ● known to the agency.</p>\n",
    );
    out.push_str(&agency_margins(table));
    let rows: Vec<Vec<Html>> = combos.iter().map(|r| combo_row(r, max)).collect();
    let mut header: Vec<&str> = AGENCIES.iter().map(|(_, l)| *l).collect();
    header.extend(["People", ""]);
    out.push_str(&html_table("data num cohort", &header, &rows));
    out.push_str(&multi_agency(&combos));
    out.push_str(&source(&[COHORT]));
    out
}

/// People known to each agency: the published margin (that agency `yes`, the others `Total`).
fn agency_margins(table: &Table) -> String {
    let total = table.total();
    let mut items = String::from("<ul class=\"margins\">");
    for (agency, label) in AGENCIES {
        let mut filters: Vec<(&str, &str)> = AGENCIES
            .iter()
            .map(|(c, _)| (*c, if *c == agency { "yes" } else { total }))
            .collect();
        filters.push(("age_band", total));
        items.push_str(&format!(
            "<li>{}: {}</li>",
            esc(label),
            datum(table.row(&filters), "persons").span(fmt_count)
        ));
    }
    items.push_str("</ul>\n");
    items
}

fn combo_row(row: &Row, max: f64) -> Vec<Html> {
    let mut cells: Vec<Html> = AGENCIES
        .iter()
        .map(|(c, _)| {
            if row.text(c) == "yes" {
                Html::markup("<span class=\"dot\">●</span>")
            } else {
                Html::default()
            }
        })
        .collect();
    let datum = Datum::of(row, "persons");
    let bar = match datum.cell {
        Cell::Value(v) if max > 0.0 => Html::markup(format!(
            "<div class=\"inbar\"><div style=\"width:{:.1}%\"></div></div>",
            v / max * 100.0
        )),
        Cell::Suppressed => Html::markup(
            "<div class=\"inbar\"><div class=\"hatched\" style=\"width:12%\"></div></div>",
        ),
        _ => Html::default(),
    };
    cells.push(datum.span(fmt_count));
    cells.push(bar);
    cells
}

/// People known to two or more agencies: a sum of combinations, so `[c]` if any is withheld.
fn multi_agency(combos: &[Row]) -> String {
    let parts: Vec<Cell> = combos
        .iter()
        .filter(|r| AGENCIES.iter().filter(|(c, _)| r.text(c) == "yes").count() >= 2)
        .map(|r| r.cell("persons"))
        .collect();
    let sum = if parts.contains(&Cell::Suppressed) {
        Cell::Suppressed
    } else {
        Cell::Value(parts.iter().filter_map(|c| c.value()).sum())
    };
    format!(
        "<p>Known to two or more agencies: {} (the sum of the combinations above; [c] if any of them is withheld).</p>\n",
        Datum::derived(sum).span(fmt_count)
    )
}

// ---- data quality -----------------------------------------------------------------------

const DQ_ORDER: [&str; 7] = [
    "partner",
    "dataset",
    "period",
    "rows_received",
    "rows_staged",
    "rows_rejected",
    "missing_months",
];

/// What each partner delivered, what was staged and rejected, and months with no data.
pub fn data_quality(tables: &Tables) -> Section {
    let body = match need(tables, DATA_QUALITY, &["dataset"]) {
        Ok(t) => data_quality_body(t),
        Err(note) => note,
    };
    Section {
        id: "quality",
        title: "Data quality",
        body,
    }
}

fn data_quality_body(table: &Table) -> String {
    // first_month and last_month are shown inside the period, not as columns of their own.
    let hidden = ["first_month", "last_month"];
    let mut columns: Vec<&str> = DQ_ORDER.iter().copied().filter(|c| table.has(c)).collect();
    columns.extend(
        table
            .header
            .iter()
            .map(String::as_str)
            .filter(|c| !DQ_ORDER.contains(c) && !hidden.contains(c)),
    );
    let counts = &table.spec.counts;
    let rows: Vec<Vec<Html>> = table
        .rows()
        .map(|r| {
            columns
                .iter()
                .map(|c| dq_cell(&r, c, counts.iter().any(|k| k == c)))
                .collect()
        })
        .collect();
    let header: Vec<String> = columns.iter().map(|c| measure_label(c)).collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let rounding = match (table.spec.policy, table.spec.base) {
        (DisclosurePolicy::Round, Some(base)) => {
            format!(" Row counts are rounded to the nearest {base}.")
        }
        _ => String::new(),
    };
    let mut out = format!(
        "<p>Per dataset and delivery period: rows received, staged and rejected, and months with no staged row (a gap in the data, not a zero).{rounding} A period is the delivery's own, or, for files loaded without one, the first to the last month of the data. Months in which a dataset is not expected to have rows are listed apart as expected gaps: August for school suspensions, which happen only on school days (the summer holidays).</p>\n"
    );
    out.push_str(&html_table("data dq", &header, &rows));
    out.push_str(&source(&[DATA_QUALITY]));
    out
}

/// Months in which a dataset is expected to have no rows, by the month's `-MM` suffix, and
/// why. Only a gap the calendar explains is here, so every other gap is still reported.
const EXPECTED_GAPS: [(&str, &str, &str); 1] = [(
    "school_suspensions",
    "-08",
    "school summer holidays: no suspensions expected",
)];

fn dq_cell(row: &Row, column: &str, is_count: bool) -> Html {
    if is_count {
        return Datum::of(row, column).span(fmt_count);
    }
    let text = row.text(column);
    match column {
        "missing_months" => missing_months(row.text("dataset"), text),
        "period" => Html::text(&period_text(row)),
        _ => Html::text(text),
    }
}

/// The period in words: a delivery's `start..end`, or, where the load had none (`all`), the
/// months the data-quality stage checked (`first_month` to `last_month`).
fn period_text(row: &Row) -> String {
    let period = row.text("period");
    let (first, last) = (row.text("first_month"), row.text("last_month"));
    match period.split_once("..") {
        Some((start, end)) => format!("{start} to {end}"),
        None if period == "all" && !first.is_empty() && !last.is_empty() => {
            format!("{first} to {last} (the data's months; loaded without a period)")
        }
        None if period == "all" => "whole load (no period given)".to_string(),
        None => period.to_string(),
    }
}

/// Missing months as HTML: real gaps first ("none" if there are none), then any expected
/// gaps apart, with their reason.
fn missing_months(dataset: &str, text: &str) -> Html {
    let months: Vec<&str> = text.split(';').filter(|m| !m.is_empty()).collect();
    let expected = EXPECTED_GAPS.iter().find(|(d, _, _)| *d == dataset);
    let (gaps, expected_months): (Vec<&str>, Vec<&str>) = months
        .into_iter()
        .partition(|m| expected.is_none_or(|(_, suffix, _)| !m.ends_with(suffix)));
    let mut out = if gaps.is_empty() {
        "none".to_string()
    } else {
        esc(&gaps.join(", "))
    };
    if let (Some((_, _, why)), false) = (expected, expected_months.is_empty()) {
        out.push_str(&format!(
            "<br><span class=\"small\">expected gaps, not missing: {} ({why})</span>",
            esc(&expected_months.join(", "))
        ));
    }
    Html::markup(out)
}
