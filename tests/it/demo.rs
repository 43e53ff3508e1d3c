//! The demo end to end, checked from outside: published numbers agree with an independent
//! count over the synthetic extracts, and nothing forbidden reaches the published zone.

use crate::common::{files_under, read_csv};

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn run_demo(dir: &Path) {
    let output = Command::new(env!("CARGO_BIN_EXE_svna"))
        .args([
            "demo",
            "--dir",
            dir.to_str().unwrap(),
            "--scale",
            "1",
            "--seed",
            "42",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "demo failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn release_tables(dir: &Path) -> PathBuf {
    let published = dir.join("store/published");
    let release = std::fs::read_dir(&published)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    release.join("tables")
}

/// The serious-violence offences of the extracts, by the definitions CSV, without SQL.
fn serious_offences(dir: &Path) -> Vec<BTreeMap<String, String>> {
    let definitions =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("definitions/sv_offence_codes.csv");
    let codes: BTreeMap<String, (bool, bool)> = read_csv(&definitions)
        .into_iter()
        .map(|r| {
            (
                r["ho_code"].clone(),
                (
                    r["serious_violence"] == "true",
                    r["exclude_if_domestic"] == "true",
                ),
            )
        })
        .collect();
    read_csv(&dir.join("extracts/police_offences.csv"))
        .into_iter()
        .filter(|offence| {
            codes
                .get(&offence["ho_code"])
                .is_some_and(|&(serious, exclude_if_domestic)| {
                    serious && !(exclude_if_domestic && offence["domestic_flag"] == "true")
                })
        })
        .collect()
}

/// Serious-violence offences per (district, month) and every margin, computed directly from
/// the extracts and the definitions CSV, without SQL.
fn independent_district_month(dir: &Path) -> BTreeMap<(String, String), u64> {
    let districts = district_of_lsoa(dir);
    with_margins(serious_offences(dir).into_iter().map(|o| {
        let district = districts
            .get(&o["lsoa_code"])
            .cloned()
            .unwrap_or_else(|| "Unknown".into());
        (district, o["offence_date"][..7].to_string())
    }))
}

/// Distinct victims of serious violence per (age band or age group, sex) and every margin:
/// each person once, at their first serious-violence offence as a victim (earliest offence
/// date; on one day the youngest age, then the lowest sex code), with that age ('unknown'
/// when none) and sex, computed directly from the extracts.
fn independent_victims(dir: &Path) -> BTreeMap<(String, String), u64> {
    let offence_dates: BTreeMap<String, String> = serious_offences(dir)
        .into_iter()
        .map(|o| (o["offence_id"].clone(), o["offence_date"].clone()))
        .collect();
    let bands: BTreeMap<u32, (String, bool)> =
        read_csv(&Path::new(env!("CARGO_MANIFEST_DIR")).join("definitions/age_bands.csv"))
            .into_iter()
            .map(|r| {
                (
                    r["age"].parse().unwrap(),
                    (r["age_band"].clone(), r["under_25"] == "true"),
                )
            })
            .collect();
    // Per person, the first of their rows in (date, age with unknown last, sex) order.
    type Key = (String, (bool, u32), String);
    let mut first: BTreeMap<String, Key> = BTreeMap::new();
    for person in read_csv(&dir.join("extracts/police_persons.csv")) {
        let Some(date) = offence_dates.get(&person["offence_id"]) else {
            continue;
        };
        if person["role"] != "victim" {
            continue;
        }
        let age = person["age"].parse::<u32>().ok();
        let key = (
            date.clone(),
            (age.is_none(), age.unwrap_or(0)),
            person["sex"].clone(),
        );
        let entry = first
            .entry(person["person_id"].clone())
            .or_insert_with(|| key.clone());
        if key < *entry {
            *entry = key;
        }
    }
    let victims: BTreeMap<&String, (Option<u32>, String)> = first
        .iter()
        .map(|(person, (_, (unknown, age), sex))| {
            (person, ((!unknown).then_some(*age), sex.clone()))
        })
        .collect();
    let mut counts = BTreeMap::new();
    for (age, sex) in victims.values() {
        let mut groups = vec!["Total".to_string()];
        match age.and_then(|a| bands.get(&a)) {
            Some((band, under_25)) => {
                groups.push(band.clone());
                groups.push(if *under_25 { "under_25" } else { "25_and_over" }.into());
            }
            None => groups.push("unknown".into()),
        }
        for group in groups {
            for s in [sex.clone(), "Total".into()] {
                *counts.entry((group.clone(), s)).or_insert(0u64) += 1;
            }
        }
    }
    counts
}

/// The success measures per (district, year) and every margin, computed directly from the
/// extracts: knife-enabled serious violence and non-domestic homicide, all and with a victim
/// aged under 25 at the offence; sharp-object assault admissions, all ages and under 25.
#[derive(Default, Debug)]
struct SuccessCounts {
    knife: u64,
    knife_u25: u64,
    homicides: u64,
    homicides_u25: u64,
    sharp: Shared,
    sharp_u25: Shared,
}

/// A sum over a partner's pre-aggregated rows, some of which the partner suppressed: the sum
/// of the rows it shared, how many it shared, and whether any was suppressed.
#[derive(Default, Debug)]
struct Shared {
    sum: u64,
    shared_rows: u64,
    touched: bool,
}

impl Shared {
    fn add(&mut self, admissions: Option<u64>) {
        match admissions {
            Some(n) => {
                self.sum += n;
                self.shared_rows += 1;
            }
            None => self.touched = true,
        }
    }

    /// As the release must show it: `[p]` with no shared part, else the sum, a lower bound
    /// where the partner withheld a part.
    fn published(&self) -> (String, bool) {
        match (self.touched, self.shared_rows) {
            (true, 0) => ("[p]".into(), false),
            (touched, _) => (self.sum.to_string(), touched),
        }
    }
}

fn independent_success_measures(dir: &Path) -> BTreeMap<(String, String), SuccessCounts> {
    let definitions = Path::new(env!("CARGO_MANIFEST_DIR")).join("definitions");
    let under_25_ages: HashSet<String> = read_csv(&definitions.join("age_bands.csv"))
        .into_iter()
        .filter(|r| r["under_25"] == "true")
        .map(|r| r["age"].clone())
        .collect();
    let under_25_bands: HashSet<String> = read_csv(&definitions.join("age_bands.csv"))
        .into_iter()
        .filter(|r| r["under_25"] == "true")
        .map(|r| r["age_band"].clone())
        .collect();
    let homicide_codes: HashSet<String> = read_csv(&definitions.join("sv_offence_codes.csv"))
        .into_iter()
        .filter(|r| r["category"] == "homicide")
        .map(|r| r["ho_code"].clone())
        .collect();
    let districts = district_of_lsoa(dir);
    let young_victims: HashSet<String> = read_csv(&dir.join("extracts/police_persons.csv"))
        .into_iter()
        .filter(|p| p["role"] == "victim" && under_25_ages.contains(&p["age"]))
        .map(|p| p["offence_id"].clone())
        .collect();
    let mut counts: BTreeMap<(String, String), SuccessCounts> = BTreeMap::new();
    for offence in serious_offences(dir) {
        let district = districts
            .get(&offence["lsoa_code"])
            .cloned()
            .unwrap_or_else(|| "Unknown".into());
        let young = young_victims.contains(&offence["offence_id"]);
        let knife = offence["knife_flag"] == "true";
        let homicide =
            homicide_codes.contains(&offence["ho_code"]) && offence["domestic_flag"] != "true";
        for key in margin_keys(&district, &offence["offence_date"][..4]) {
            let cell = counts.entry(key).or_default();
            cell.knife += u64::from(knife);
            cell.knife_u25 += u64::from(knife && young);
            cell.homicides += u64::from(homicide);
            cell.homicides_u25 += u64::from(homicide && young);
        }
    }
    for row in read_csv(&dir.join("extracts/hospital_admissions_agg.csv")) {
        if row["cause"] != "sharp_object" {
            continue;
        }
        let young = under_25_bands.contains(&row["age_band"]);
        let admissions: Option<u64> =
            (row["suppressed"] != "true").then(|| row["admissions"].parse().unwrap());
        for key in margin_keys(&row["lad_code"], &row["month"][..4]) {
            let cell = counts.entry(key).or_default();
            cell.sharp.add(admissions);
            if young {
                cell.sharp_u25.add(admissions);
            }
        }
    }
    counts
}

/// Cells per (district, month) and every margin, counted from `(district, month)` pairs.
fn with_margins(
    pairs: impl IntoIterator<Item = (String, String)>,
) -> BTreeMap<(String, String), u64> {
    let mut counts = BTreeMap::new();
    for (district, period) in pairs {
        for key in margin_keys(&district, &period) {
            *counts.entry(key).or_insert(0u64) += 1;
        }
    }
    counts
}

/// The cell of (district, period) and the three margins it counts in.
fn margin_keys(district: &str, period: &str) -> [(String, String); 4] {
    [
        (district.to_string(), period.to_string()),
        (district.to_string(), "Total".to_string()),
        ("Total".to_string(), period.to_string()),
        ("Total".to_string(), "Total".to_string()),
    ]
}

fn district_of_lsoa(dir: &Path) -> BTreeMap<String, String> {
    read_csv(&dir.join("extracts/lsoa_lookup.csv"))
        .into_iter()
        .map(|r| (r["lsoa_code"].clone(), r["lad_code"].clone()))
        .collect()
}

/// Serious violence by district and the month the police recorded it, from the extracts.
fn independent_recorded_month(dir: &Path) -> BTreeMap<(String, String), u64> {
    let districts = district_of_lsoa(dir);
    with_margins(serious_offences(dir).into_iter().map(|o| {
        let district = districts
            .get(&o["lsoa_code"])
            .cloned()
            .unwrap_or_else(|| "Unknown".into());
        (district, o["recorded_date"][..7].to_string())
    }))
}

/// ED assault attendances by the incident's district and arrival month, from the extracts.
fn independent_ed_by_district_month(dir: &Path) -> BTreeMap<(String, String), u64> {
    let districts = district_of_lsoa(dir);
    with_margins(
        read_csv(&dir.join("extracts/ed_assaults.csv"))
            .into_iter()
            .map(|a| {
                let district = districts
                    .get(&a["incident_lsoa"])
                    .cloned()
                    .unwrap_or_else(|| "Unknown".into());
                (district, a["arrival_datetime"][..7].to_string())
            }),
    )
}

/// ED assault attendances by the incident's district, age band ('unknown' where none) and
/// arrival year, with every margin, from the extracts.
fn independent_ed_by_district_age_year(dir: &Path) -> BTreeMap<[String; 3], u64> {
    let districts = district_of_lsoa(dir);
    let mut counts = BTreeMap::new();
    for a in read_csv(&dir.join("extracts/ed_assaults.csv")) {
        let district = districts
            .get(&a["incident_lsoa"])
            .cloned()
            .unwrap_or_else(|| "Unknown".into());
        let band = match a["age_band"].as_str() {
            "" => "unknown".to_string(),
            band => band.to_string(),
        };
        let year = a["arrival_datetime"][..4].to_string();
        for d in [district.as_str(), "Total"] {
            for b in [band.as_str(), "Total"] {
                for y in [year.as_str(), "Total"] {
                    *counts
                        .entry([d.to_string(), b.to_string(), y.to_string()])
                        .or_insert(0u64) += 1;
                }
            }
        }
    }
    counts
}

/// The 2013 European Standard Population's weight of each of svna's age bands, worked out
/// by hand from its five-year groups (a group's weight spread evenly over its years).
const ESP2013_BANDS: [(&str, f64); 7] = [
    ("0-9", 10_500.0),
    ("10-17", 8_800.0),
    ("18-24", 8_200.0),
    ("25-34", 12_500.0),
    ("35-49", 21_000.0),
    ("50-64", 19_500.0),
    ("65+", 19_500.0),
];

/// Every published cell of `column` in `table` equals the independent count (0 where it
/// has none); returns how many were published.
fn assert_cells(
    tables: &Path,
    table: &str,
    dims: [&str; 2],
    column: &str,
    truth: &BTreeMap<(String, String), u64>,
) -> usize {
    let mut shown = 0;
    for row in read_csv(&tables.join(format!("{table}.csv"))) {
        let key = (row[dims[0]].clone(), row[dims[1]].clone());
        if let Ok(n) = row[column].parse::<u64>() {
            assert_eq!(
                n,
                truth.get(&key).copied().unwrap_or(0),
                "{table}.{column} {key:?}"
            );
            shown += 1;
        }
    }
    shown
}

fn tokens_in_extracts(dir: &Path) -> HashSet<String> {
    let mut tokens = HashSet::new();
    for (file, columns) in [
        ("police_offences.csv", &["offence_id"][..]),
        ("police_persons.csv", &["offence_id", "person_id"][..]),
        ("youth_justice.csv", &["person_id"][..]),
    ] {
        for row in read_csv(&dir.join("extracts").join(file)) {
            for c in columns {
                tokens.insert(row[*c].clone());
            }
        }
    }
    tokens
}

#[test]
fn the_demo_publishes_correct_and_safe_aggregates() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    run_demo(&dir);
    let tables = release_tables(&dir);

    // 1. Every published cell of the district x month table equals the independent count;
    //    every withheld cell is marked, never shown as 0; no cell is missing.
    let expected = independent_district_month(&dir);
    let published = read_csv(&tables.join("sv_offences_by_district_month.csv"));
    assert_eq!(
        published.len(),
        expected.len(),
        "every (district, month) cell and margin is published or withheld"
    );
    let mut shown = 0;
    for row in &published {
        let key = (row["lad_code"].clone(), row["month"].clone());
        let truth = expected
            .get(&key)
            .unwrap_or_else(|| panic!("unexpected cell {key:?}"));
        match row["offences"].as_str() {
            "[c]" | "[p]" => {}
            value => {
                assert_eq!(value.parse::<u64>().unwrap(), *truth, "cell {key:?}");
                shown += 1;
            }
        }
    }
    assert!(
        shown > published.len() / 2,
        "most cells are published ({shown} of {})",
        published.len()
    );
    let grand = published
        .iter()
        .find(|r| r["lad_code"] == "Total" && r["month"] == "Total")
        .unwrap();
    assert_eq!(
        grand["offences"],
        expected[&("Total".to_string(), "Total".to_string())].to_string()
    );

    // 1b. Every published cell of the victims by age x sex table (distinct persons) equals
    //     the independent count.
    let victims = independent_victims(&dir);
    let published_victims = read_csv(&tables.join("sv_victims_by_age_sex.csv"));
    let mut shown_victims = 0;
    for row in &published_victims {
        let key = (row["age_band"].clone(), row["sex"].clone());
        if let Ok(n) = row["victims"].parse::<u64>() {
            assert_eq!(
                n,
                victims.get(&key).copied().unwrap_or(0),
                "victims {key:?}"
            );
            shown_victims += 1;
        }
    }
    assert!(shown_victims > published_victims.len() / 2);
    assert!(victims[&("Total".to_string(), "Total".to_string())] > 1000);

    // 1c. Every published cell of the success measures equals the independent count, and a
    //     rate per year is the count over the resident years it publishes beside it.
    let success = independent_success_measures(&dir);
    let published_success = read_csv(&tables.join("success_measures.csv"));
    assert_eq!(
        published_success.len(),
        success.len(),
        "every (district, year) cell"
    );
    let mut shown_success = 0;
    for row in &published_success {
        let key = (row["lad_code"].clone(), row["year"].clone());
        let truth = success
            .get(&key)
            .unwrap_or_else(|| panic!("unexpected success-measures cell {key:?}"));
        for (column, expected) in [
            ("knife_offences", Some(truth.knife)),
            ("knife_offences_u25", Some(truth.knife_u25)),
            ("non_domestic_homicides", Some(truth.homicides)),
            ("non_domestic_homicides_u25", Some(truth.homicides_u25)),
        ] {
            if let Ok(n) = row[column].parse::<u64>() {
                assert_eq!(Some(n), expected, "success_measures {column} {key:?}");
                shown_success += 1;
            }
        }
        // Sharp admissions: the sum of the parts the partner shared, flagged a lower bound
        // where it withheld a part, `[p]` where it withheld every part; `[c]` is svna's.
        for (column, truth) in [
            ("sharp_admissions", &truth.sharp),
            ("sharp_admissions_u25", &truth.sharp_u25),
        ] {
            let (value, lower_bound) = truth.published();
            let bound_column = format!("{column}_lower_bound");
            assert_eq!(
                row[&bound_column],
                lower_bound.to_string(),
                "success_measures {bound_column} {key:?}"
            );
            if row[column] != "[c]" {
                assert_eq!(row[column], value, "success_measures {column} {key:?}");
                shown_success += 1;
            }
        }
        if let (Ok(n), Ok(years), Ok(rate)) = (
            row["knife_offences"].parse::<f64>(),
            row["police_resident_years"].parse::<f64>(),
            row["knife_offences_per_100k"].parse::<f64>(),
        ) {
            assert!(
                (n / years * 100_000.0 - rate).abs() <= 0.05 + 1e-9,
                "{row:?}"
            );
        }
    }
    assert!(
        shown_success > published_success.len() * 2,
        "most success-measure cells are published"
    );
    let county = &success[&("Total".to_string(), "Total".to_string())];
    assert!(county.knife > 0 && county.homicides > 0, "{county:?}");

    // 1d. The recorded-month table and the Cardiff comparison equal independent counts.
    let recorded = independent_recorded_month(&dir);
    let shown = assert_cells(
        &tables,
        "sv_offences_by_district_recorded_month",
        ["lad_code", "recorded_month"],
        "offences",
        &recorded,
    );
    assert!(
        shown > recorded.len() / 2,
        "{shown} of {} recorded-month cells",
        recorded.len()
    );
    let ed = independent_ed_by_district_month(&dir);
    let dims = ["lad_code", "month"];
    let shown_ed = assert_cells(
        &tables,
        "ed_and_police_by_district_month",
        dims,
        "ed_attendances",
        &ed,
    );
    let shown_police = assert_cells(
        &tables,
        "ed_and_police_by_district_month",
        dims,
        "sv_offences",
        &expected,
    );
    assert!(shown_ed > ed.len() / 2 && shown_police > expected.len() / 2);

    // 1e. ED attendances by district, age band and year equal an independent count, and each
    //     age-standardised rate is recomputed from the published band cells and resident
    //     years with the ESP 2013 band weights worked out by hand.
    let ed_by_age = independent_ed_by_district_age_year(&dir);
    let rows = read_csv(&tables.join("ed_assaults_by_district_age_year.csv"));
    let mut shown = 0;
    let mut standardised = 0;
    let cell = |lad: &str, band: &str, year: &str| {
        rows.iter()
            .find(|r| r["lad_code"] == lad && r["age_band"] == band && r["year"] == year)
    };
    for row in &rows {
        let key = [
            row["lad_code"].clone(),
            row["age_band"].clone(),
            row["year"].clone(),
        ];
        if row["attendances"] != "[c]" {
            let truth = ed_by_age.get(&key).copied().unwrap_or(0);
            assert_eq!(row["attendances"], truth.to_string(), "{key:?}");
            shown += 1;
        }
        let rate = row["attendances_per_100k_esp2013"].as_str();
        if key[1] != "Total" {
            assert_eq!(rate, "", "only band totals are standardised: {key:?}");
            continue;
        }
        let bands: Vec<(f64, &str, &str)> = ESP2013_BANDS
            .iter()
            .filter_map(|(band, weight)| {
                let r = cell(&key[0], band, &key[2])?;
                Some((
                    *weight,
                    r["attendances"].as_str(),
                    r["ed_resident_years"].as_str(),
                ))
            })
            .collect();
        if bands.iter().any(|(_, n, _)| *n == "[c]") {
            assert_eq!(rate, "[c]", "{key:?}");
            continue;
        }
        let populations: Option<Vec<f64>> = bands.iter().map(|(_, _, p)| p.parse().ok()).collect();
        match populations {
            Some(populations) if !bands.is_empty() && populations.iter().all(|p| *p > 0.0) => {
                let (mut weighted, mut weights) = (0.0, 0.0);
                for ((weight, n, _), population) in bands.iter().zip(&populations) {
                    weighted += weight * n.parse::<f64>().unwrap() / population;
                    weights += weight;
                }
                let expected = weighted / weights * 100_000.0;
                let published: f64 = rate.parse().unwrap_or_else(|_| panic!("{key:?}: `{rate}`"));
                assert!(
                    (published - expected).abs() <= 0.05 + 1e-9,
                    "{key:?}: {published} vs {expected}"
                );
                standardised += 1;
            }
            _ => assert_eq!(rate, "", "no population, no rate: {key:?}"),
        }
    }
    assert!(
        shown > rows.len() / 2,
        "{shown} of {} ED age cells",
        rows.len()
    );
    assert!(
        standardised > 0,
        "some district's standardised rate is published"
    );

    // 2. No published count lies in 1..k-1 (k = 5), in any table: the count columns of each
    //    table come from the release manifest.
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(tables.parent().unwrap().join("manifest.json")).unwrap(),
    )
    .unwrap();
    let published_tables = manifest["tables"].as_array().unwrap();
    assert!(
        published_tables.len() >= 10,
        "the standard table set is published"
    );
    for table in published_tables {
        let name = table["name"].as_str().unwrap();
        let rows = read_csv(&tables.join(format!("{name}.csv")));
        for column in table["disclosure"]["counts"].as_array().unwrap() {
            let column = column.as_str().unwrap();
            for row in &rows {
                let value = &row[column];
                if value != "[c]" && value != "[p]" {
                    let n: u64 = value
                        .parse()
                        .unwrap_or_else(|_| panic!("{name}.{column}: `{value}`"));
                    assert!(n == 0 || n >= 5, "{name}: {column} = {n}");
                }
            }
        }
    }

    // 3. No person or offence token from any extract appears anywhere in the published zone.
    let tokens = tokens_in_extracts(&dir);
    assert!(tokens.len() > 100);
    for file in files_under(&dir.join("store/published")) {
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        for word in text.split(|c: char| !c.is_ascii_hexdigit()) {
            assert!(
                !tokens.contains(word),
                "a token leaked into {}",
                file.display()
            );
        }
    }

    // 3b. The workbook: every table's sheet holds its CSV's cells (numbers as numbers, [c]
    //     and [p] as text), the Contents sheet lists every table, and no token is in any cell.
    {
        use calamine::{Data, Reader};
        let mut workbook: calamine::Xlsx<_> =
            calamine::open_workbook(tables.parent().unwrap().join("release.xlsx")).unwrap();
        let contents = workbook.worksheet_range("Contents").unwrap();
        let text = |range: &calamine::Range<Data>, r: u32, c: u32| {
            range
                .get_value((r, c))
                .map(|d| d.to_string())
                .unwrap_or_default()
        };
        let (end, _) = contents.end().unwrap();
        let sheet_of: BTreeMap<String, String> = (svna_publish::CONTENTS_HEADER_ROW + 1..=end)
            .map(|r| (text(&contents, r, 0), text(&contents, r, 1)))
            .filter(|(_, sheet)| !sheet.is_empty())
            .collect();
        for table in published_tables {
            let name = table["name"].as_str().unwrap();
            let sheet = &sheet_of[name];
            let range = workbook.worksheet_range(sheet).unwrap();
            let records: Vec<csv::StringRecord> = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_path(tables.join(format!("{name}.csv")))
                .unwrap()
                .records()
                .map(Result::unwrap)
                .collect();
            let header_row = svna_publish::WORKBOOK_HEADER_ROW;
            assert_eq!(
                range.end().unwrap().0,
                header_row + records.len() as u32 - 1,
                "{name}: rows"
            );
            for (i, record) in records.iter().enumerate() {
                for (j, csv_text) in record.iter().enumerate() {
                    let cell = range
                        .get_value((header_row + i as u32, j as u32))
                        .cloned()
                        .unwrap_or_default();
                    let same = match &cell {
                        Data::String(s) => s == csv_text,
                        Data::Float(f) => csv_text.parse::<f64>().is_ok_and(|t| t == *f),
                        Data::Empty => csv_text.is_empty(),
                        _ => false,
                    };
                    assert!(
                        same,
                        "{name} row {i} column {j}: {cell:?} against `{csv_text}`"
                    );
                }
            }
        }
        for sheet in workbook.sheet_names() {
            let range = workbook.worksheet_range(&sheet).unwrap();
            for cell in range.used_cells() {
                let cell = cell.2.to_string();
                for word in cell.split(|c: char| !c.is_ascii_hexdigit()) {
                    assert!(!tokens.contains(word), "a token leaked into sheet {sheet}");
                }
            }
        }
    }

    // 4. The release verifies from its published files alone (checksums and an outsider's audit).
    let verify = Command::new(env!("CARGO_BIN_EXE_svna"))
        .arg("verify")
        .arg(tables.parent().unwrap())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&verify.stdout);
    assert!(
        verify.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(stdout.contains("verified:"), "{stdout}");

    // 5. The demo ends with the release's report, built from the published files.
    let report = std::fs::read_to_string(dir.join("report/index.html")).unwrap();
    assert!(report.contains("Headline measures") && report.contains("[c]"));

    // 5. The data-quality table: one row per delivered extract, its counts exact (the
    //    `accounting` policy: rows of whole deliveries are not disclosive, and the manifest
    //    publishes every staged file's row count anyway).
    assert!(
        published_tables
            .iter()
            .any(|t| t["name"] == "data_quality" && t["disclosure"]["policy"] == "accounting"),
        "data_quality is published under the accounting policy"
    );
    let quality = read_csv(&tables.join("data_quality.csv"));
    let delivered: Vec<&svna_contracts::Dataset> = svna_contracts::v1()
        .datasets
        .iter()
        .filter(|d| d.kind.is_delivered() && dir.join(format!("extracts/{}.csv", d.name)).exists())
        .collect();
    assert_eq!(delivered.len(), 8, "the demo's partner extracts");
    assert_eq!(quality.len(), delivered.len(), "{quality:?}");
    for dataset in delivered {
        let row = quality
            .iter()
            .find(|r| r["dataset"] == dataset.name)
            .unwrap_or_else(|| panic!("no data_quality row for {}", dataset.name));
        let extract = dir.join(format!("extracts/{}.csv", dataset.name));
        let truth = csv::Reader::from_path(&extract).unwrap().records().count() as u64;
        let count = |column: &str| -> u64 {
            let value = &row[column];
            value
                .parse()
                .unwrap_or_else(|_| panic!("{}: {column} = `{value}`", dataset.name))
        };
        assert_eq!(row["partner"], dataset.partner);
        assert_eq!(row["period"], "all", "svna load gives no period");
        assert_eq!(count("rows_received"), truth, "{}", dataset.name);
        assert_eq!(count("rows_staged"), truth, "{}", dataset.name);
        assert_eq!(count("rows_rejected"), 0, "{}", dataset.name);
        let months = &row["missing_months"];
        assert!(
            months.is_empty()
                || months
                    .split(';')
                    .all(|m| m.len() == 7 && chrono_like_month(m)),
            "{}: missing_months `{months}`",
            dataset.name
        );
    }
}

/// `YYYY-MM` with a month 01..12.
fn chrono_like_month(text: &str) -> bool {
    let (year, month) = text.split_at(4);
    year.bytes().all(|b| b.is_ascii_digit())
        && month
            .strip_prefix('-')
            .and_then(|m| m.parse::<u32>().ok())
            .is_some_and(|m| (1..=12).contains(&m))
}

#[test]
fn the_demo_refuses_a_directory_it_did_not_create() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("precious.txt"), "keep me").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_svna"))
        .args(["demo", "--dir", tmp.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("was not made by `svna demo`"));
    assert!(tmp.path().join("precious.txt").exists());
}
