//! The open-data path on the real data.police.uk files for Lincolnshire, with the real ONS
//! lookup and IMD ranks (in the repository's `data/`): the published counts per LSOA,
//! district, category and month equal a direct count of the CSV rows.

use crate::common::{files_under, read_csv as rows};

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn data(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(relative)
}

fn project(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn svna(args: &[&str]) -> String {
    svna_in(Path::new("."), Path::new(env!("CARGO_BIN_EXE_svna")), args)
}

/// Loads what the open-data pipeline reads beside the police data: the real lookup and IMD,
/// the definitions, and the population made by `svna synth` in `synth`.
fn load_context(store: &str, synth: &Path) {
    for (dataset, file) in [
        ("lsoa_lookup", data("reference/lsoa11_ward19_lad19.csv")),
        ("imd", data("reference/lsoa11_imd19_rank.csv")),
        ("population", synth.join("population.csv")),
        (
            "open_data_crime_types",
            project("definitions/open_data_crime_types.csv"),
        ),
        (
            "partnership_districts",
            project("definitions/partnership_districts.csv"),
        ),
    ] {
        svna(&[
            "load",
            "--store",
            store,
            "--dataset",
            dataset,
            file.to_str().unwrap(),
        ]);
    }
}

/// Synthetic population estimates for the real LSOAs (none are in data/), in `dir`.
fn synth_population(dir: &Path) {
    svna(&[
        "synth",
        "--out",
        dir.to_str().unwrap(),
        "--scale",
        "0.01",
        "--lookup",
        data("reference/lsoa11_ward19_lad19.csv").to_str().unwrap(),
    ]);
}

fn police_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(data("police-uk"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "the five Lincolnshire months");
    files
}

/// (area, category, month) -> crimes, counted straight from the CSV rows: LSOAs and
/// districts of the partnership, 'Outside area', 'Unknown' and 'Total', with 'Total'
/// margins for category and month.
fn direct_counts() -> BTreeMap<(String, String, String), u64> {
    direct_counts_of(&police_files(), &project("definitions"))
}

/// The direct count of `files` for the partnership of `definitions/`.
fn direct_counts_of(
    files: &[PathBuf],
    definitions: &Path,
) -> BTreeMap<(String, String, String), u64> {
    let proxies: BTreeMap<String, String> = rows(&definitions.join("open_data_crime_types.csv"))
        .into_iter()
        .map(|r| (r["crime_type"].clone(), r["category"].clone()))
        .collect();
    let districts: BTreeSet<String> = rows(&definitions.join("partnership_districts.csv"))
        .into_iter()
        .map(|r| r["lad_code"].clone())
        .collect();
    let lsoa_district: BTreeMap<String, String> = rows(&data("reference/lsoa11_ward19_lad19.csv"))
        .into_iter()
        .filter(|r| districts.contains(&r["LAD19CD"]))
        .map(|r| (r["LSOA11CD"].clone(), r["LAD19CD"].clone()))
        .collect();
    let mut counts = BTreeMap::new();
    for file in files {
        for row in rows(file) {
            let Some(category) = proxies.get(&row["Crime type"]) else {
                continue;
            };
            let lsoa = &row["LSOA code"];
            let areas: Vec<String> = match lsoa_district.get(lsoa) {
                Some(district) => vec![lsoa.clone(), district.clone(), "Partnership".into()],
                None if lsoa.is_empty() => vec!["Unknown".into()],
                None => vec!["Outside area".into()],
            };
            for area in areas.into_iter().chain(["Total".to_string()]) {
                for c in [category.as_str(), "Total"] {
                    for m in [row["Month"].as_str(), "Total"] {
                        *counts
                            .entry((area.clone(), c.to_string(), m.to_string()))
                            .or_insert(0) += 1;
                    }
                }
            }
        }
    }
    counts
}

#[test]
fn the_open_data_path_counts_every_real_lincolnshire_crime() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let store = store.to_str().unwrap();
    let imd = data("reference/lsoa11_imd19_rank.csv");
    // No population estimates are in data/; synthetic ones for the real LSOAs stand in
    // (only the rate column depends on them, and the test checks it against them).
    let synth = tmp.path().join("synth");
    synth_population(&synth);
    let police: Vec<String> = police_files()
        .iter()
        .map(|p| p.to_str().unwrap().to_string())
        .collect();
    let mut load = vec!["load", "--store", store, "--dataset", "police_open_data"];
    load.extend(police.iter().map(String::as_str));
    svna(&load);
    load_context(store, &synth);
    let pipeline = project("pipelines/open_data.toml");
    svna(&[
        "run",
        "--store",
        store,
        "--pipeline",
        pipeline.to_str().unwrap(),
    ]);
    svna(&["publish", "--store", store, "--release", "open"]);

    let published = rows(
        &tmp.path()
            .join("store/published/open/tables/open_offences_by_area_month.csv"),
    );
    let expected = direct_counts();
    let total_rows: u64 = police_files().iter().map(|f| rows(f).len() as u64).sum();
    assert!(
        expected[&("Total".into(), "Total".into(), "Total".into())] > 9000
            && expected[&("Total".into(), "Total".into(), "Total".into())] < total_rows,
        "the proxy types are a part of all {total_rows} rows"
    );
    assert!(expected.contains_key(&("Outside area".into(), "Total".into(), "Total".into())));
    // Some proxy crimes fall in neighbouring forces' LSOAs (the two rows without a location
    // are not proxy types, so 'Unknown' is covered by the stage's .slt test instead).

    // Every published LSOA, district and special-area cell equals the direct count (zero
    // where the CSVs have no such crime), and every directly counted cell is published.
    let mut compared = BTreeSet::new();
    for row in &published {
        let area = &row["area_code"];
        if area.starts_with("E05") {
            continue; // wards: the stage test checks them as sums of their LSOAs
        }
        let key = (area.clone(), row["category"].clone(), row["month"].clone());
        let shown: u64 = row["offences"]
            .parse()
            .unwrap_or_else(|_| panic!("open data is never withheld: {row:?}"));
        assert_eq!(shown, expected.get(&key).copied().unwrap_or(0), "{key:?}");
        compared.insert(key);
    }
    let missing: Vec<_> = expected.keys().filter(|k| !compared.contains(*k)).collect();
    assert!(missing.is_empty(), "not published: {missing:?}");

    // Context: each LSOA's IMD decile from the IMD ranks, ceil(rank / 3284.4).
    let ranks: BTreeMap<String, u64> = rows(&imd)
        .into_iter()
        .map(|r| (r["LSOA11CD"].clone(), r["IMD19"].parse().unwrap()))
        .collect();
    for row in published
        .iter()
        .filter(|r| r["area_code"].starts_with("E01"))
    {
        let rank = ranks[&row["area_code"]];
        let decile = (rank * 10).div_ceil(32844);
        assert_eq!(row["imd_decile"], decile.to_string(), "{row:?}");
        let rate: f64 = row["rate_per_1000"].parse().unwrap();
        let residents: f64 = row["residents"].parse().unwrap();
        let offences: f64 = row["offences"].parse().unwrap();
        assert!(
            // Published to one decimal place.
            (rate - offences * 1000.0 / residents).abs() <= 0.05 + 1e-9,
            "{row:?}"
        );
    }

    let verified = svna(&["verify", &format!("{store}/published/open")]);
    assert!(verified.contains("verified:"), "{verified}");

    // A manifest that lost a table's Parquet entry still reads (leniently, as releases of
    // other versions must), and verify says a file is missing from it.
    let manifest_path = Path::new(store).join("published/open/manifest.json");
    let original = std::fs::read(&manifest_path).unwrap();
    let mut manifest: serde_json::Value = serde_json::from_slice(&original).unwrap();
    manifest["tables"][0]
        .as_object_mut()
        .unwrap()
        .remove("parquet");
    std::fs::write(&manifest_path, serde_json::to_vec(&manifest).unwrap()).unwrap();
    let output = crate::common::svna(&["verify", &format!("{store}/published/open")]);
    std::fs::write(&manifest_path, &original).unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{text}");
    let first = manifest["tables"][0]["name"].as_str().unwrap();
    assert!(
        text.contains(&format!(
            "a file without a path: table `{first}`'s Parquet file is missing from it"
        )),
        "{text}"
    );
}

/// A force nobody tuned for, in data.police.uk's layout: the real Lincolnshire rows moved to
/// LSOAs of Preston, Lancaster and Blackpool (each Lincolnshire LSOA to one Lancashire LSOA),
/// every 40th row left in its Lincolnshire LSOA (outside the partnership), rows without a
/// location kept without one.
fn lancashire_force(dir: &Path) -> Vec<PathBuf> {
    let lancashire: Vec<String> = rows(&data("reference/lsoa11_ward19_lad19.csv"))
        .into_iter()
        .filter(|r| ["E07000123", "E07000121", "E06000009"].contains(&r["LAD19CD"].as_str()))
        .map(|r| r["LSOA11CD"].clone())
        .collect();
    assert!(lancashire.len() > 200, "{} LSOAs", lancashire.len());
    let mut moved: BTreeMap<String, String> = BTreeMap::new();
    let mut out = Vec::new();
    let mut n = 0usize;
    for file in police_files() {
        let mut reader = csv::Reader::from_path(&file).unwrap();
        let header = reader.headers().unwrap().clone();
        let lsoa = header.iter().position(|h| h == "LSOA code").unwrap();
        let name = file
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .replace("lincolnshire", "lancashire");
        let path = dir.join(name);
        let mut writer = csv::Writer::from_path(&path).unwrap();
        writer.write_record(&header).unwrap();
        for record in reader.records() {
            let record = record.unwrap();
            n += 1;
            let mut fields: Vec<String> = record.iter().map(str::to_string).collect();
            for field in fields.iter_mut() {
                if field == "Lincolnshire Police" {
                    *field = "Lancashire Constabulary".into();
                }
            }
            if !fields[lsoa].is_empty() && !n.is_multiple_of(40) {
                let next = moved.len();
                fields[lsoa] = moved
                    .entry(fields[lsoa].clone())
                    .or_insert_with(|| lancashire[next % lancashire.len()].clone())
                    .clone();
            }
            writer.write_record(&fields).unwrap();
        }
        writer.flush().unwrap();
        out.push(path);
    }
    out
}

fn svna_in(dir: &Path, binary: &Path, args: &[&str]) -> String {
    let output = Command::new(binary)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "svna {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Issue 15's path for a partnership outside Lincolnshire, run from a directory with nothing
/// but a copy of the binary: `svna init`, then load, run and publish; the reference data come
/// from the binary, population is left out (counts publish, rates stay empty).
#[test]
fn a_partnership_outside_lincolnshire_gets_its_table_from_init_and_three_commands() {
    let tmp = tempfile::tempdir().unwrap();
    let binary = tmp.path().join("svna");
    std::fs::copy(env!("CARGO_BIN_EXE_svna"), &binary).unwrap();
    let force = tmp.path().join("force");
    std::fs::create_dir(&force).unwrap();
    let files = lancashire_force(&force);

    svna_in(
        tmp.path(),
        &binary,
        &[
            "init",
            "--dir",
            "sna",
            "--districts",
            "Preston, lancaster, E06000009",
        ],
    );
    let project_dir = tmp.path().join("sna");
    let mut load = vec!["load", "--store", "store", "--dataset", "police_open_data"];
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    load.extend(names.iter().map(String::as_str));
    svna_in(&project_dir, &binary, &load);
    let run = svna_in(
        &project_dir,
        &binary,
        &[
            "run",
            "--store",
            "store",
            "--pipeline",
            "pipelines/open_data.toml",
        ],
    );
    assert!(run.contains("rates stay empty"), "{run}");
    svna_in(
        &project_dir,
        &binary,
        &["publish", "--store", "store", "--release", "open"],
    );

    let published =
        rows(&project_dir.join("store/published/open/tables/open_offences_by_area_month.csv"));
    let expected = direct_counts_of(&files, &project_dir.join("definitions"));
    let total = expected[&("Total".into(), "Total".into(), "Total".into())];
    let outside = expected[&("Outside area".into(), "Total".into(), "Total".into())];
    assert!(
        total > 9000 && outside > 100 && outside * 10 < total,
        "{total} {outside}"
    );
    for district in ["E07000123", "E07000121", "E06000009"] {
        assert!(
            expected[&(district.into(), "Total".into(), "Total".into())] > 1000,
            "{district}"
        );
    }
    let mut compared = BTreeSet::new();
    for row in &published {
        let area = &row["area_code"];
        if area.starts_with("E05") {
            continue;
        }
        let key = (area.clone(), row["category"].clone(), row["month"].clone());
        let shown: u64 = row["offences"].parse().unwrap();
        assert_eq!(shown, expected.get(&key).copied().unwrap_or(0), "{key:?}");
        assert_eq!(row["rate_per_1000"], "", "no population, no rate: {row:?}");
        compared.insert(key);
    }
    let missing: Vec<_> = expected.keys().filter(|k| !compared.contains(*k)).collect();
    assert!(missing.is_empty(), "not published: {missing:?}");

    // The report reads as an open-data report: the partnership's districts by name, and no
    // wording about partner data.
    svna_in(
        &project_dir,
        &binary,
        &["report", "--out", "report", "store/published/open"],
    );
    let page = std::fs::read_to_string(project_dir.join("report/index.html")).unwrap();
    for expected in [
        "Where: districts",
        "Preston",
        "Lancaster",
        "Blackpool",
        "data.police.uk",
    ] {
        assert!(page.contains(expected), "report lacks {expected:?}");
    }
    assert!(
        !page.contains("pseudonymised"),
        "partner-data wording in an open-data report"
    );
    let partnership = expected[&("Partnership".into(), "Total".into(), "Total".into())];
    let shown = partnership.to_string();
    let shown = if shown.len() > 3 {
        format!(
            "{},{}",
            &shown[..shown.len() - 3],
            &shown[shown.len() - 3..]
        )
    } else {
        shown
    };
    assert!(
        page.contains(&shown),
        "the partnership's {shown} crimes are not in the report"
    );

    // Population in the ONS layout (one row per LSOA, a column per single year of age), for
    // every LSOA of the partnership but one: rates where covered, none for the uncovered
    // LSOA's ward, district and the partnership, and the run and dictionary name it.
    let lsoas: Vec<String> = published
        .iter()
        .filter(|r| r["level"] == "LSOA")
        .map(|r| r["area_code"].clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let (uncovered, covered) = lsoas.split_first().unwrap();
    let mut sape = String::from("LSOA Code,LSOA Name,All Ages");
    for age in 0..90 {
        sape.push_str(&format!(",{age}"));
    }
    sape.push_str(",90+\n");
    sape.push_str("E06000009,Blackpool,\"139,000\"");
    sape.push_str(&",1000".repeat(91));
    sape.push('\n');
    for lsoa in covered {
        sape.push_str(&format!("{lsoa},x,\"1,547\""));
        for age in 0..91 {
            sape.push_str(&format!(",{}", 10 + age % 7));
        }
        sape.push('\n');
    }
    std::fs::write(project_dir.join("sape.csv"), sape).unwrap();
    svna_in(
        &project_dir,
        &binary,
        &[
            "load",
            "--store",
            "store",
            "--dataset",
            "population",
            "sape.csv",
        ],
    );
    let run = svna_in(
        &project_dir,
        &binary,
        &[
            "run",
            "--store",
            "store",
            "--pipeline",
            "pipelines/open_data.toml",
        ],
    );
    assert!(
        run.contains(uncovered.as_str()),
        "the run does not name {uncovered}: {run}"
    );
    svna_in(
        &project_dir,
        &binary,
        &["publish", "--store", "store", "--release", "open2"],
    );
    let published =
        rows(&project_dir.join("store/published/open2/tables/open_offences_by_area_month.csv"));
    let residents_per_lsoa: u64 = (0..91).map(|age| 10 + age % 7).sum();
    let whole = |area: &str| {
        published
            .iter()
            .find(|r| r["area_code"] == area && r["category"] == "Total" && r["month"] == "Total")
            .unwrap_or_else(|| panic!("no row for {area}"))
            .clone()
    };
    let lsoa = whole(&covered[0]);
    assert_eq!(
        lsoa["residents"],
        residents_per_lsoa.to_string(),
        "{lsoa:?}"
    );
    let rate: f64 = lsoa["rate_per_1000"].parse().unwrap();
    let offences: f64 = lsoa["offences"].parse().unwrap();
    assert!((rate - offences * 1000.0 / residents_per_lsoa as f64).abs() <= 0.05 + 1e-9);
    let district = lsoa_district(uncovered);
    for area in [uncovered.as_str(), district.as_str(), "Partnership"] {
        let row = whole(area);
        assert_eq!(row["residents"], "", "{row:?}");
        assert_eq!(row["rate_per_1000"], "", "{row:?}");
    }
    let dictionary =
        std::fs::read_to_string(project_dir.join("store/published/open2/data_dictionary.csv"))
            .unwrap();
    assert!(
        dictionary.contains(uncovered.as_str()),
        "the dictionary does not name {uncovered}"
    );
}

fn lsoa_district(lsoa: &str) -> String {
    rows(&data("reference/lsoa11_ward19_lad19.csv"))
        .into_iter()
        .find(|r| r["LSOA11CD"] == lsoa)
        .map(|r| r["LAD19CD"].clone())
        .unwrap()
}

/// Starts `svna args` and kills it (SIGKILL: no destructor, no flush) after each delay in
/// turn; returns how many kills cut the command short.
fn kill_at(args: &[&str], delays_ms: &[u64]) -> usize {
    delays_ms
        .iter()
        .filter(|&&ms| {
            let mut child = Command::new(env!("CARGO_BIN_EXE_svna"))
                .args(args)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(std::time::Duration::from_millis(ms));
            let running = child.try_wait().unwrap().is_none();
            let _ = child.kill();
            let _ = child.wait();
            running
        })
        .count()
}

/// Every file under `dir`, relative to it, with its bytes.
fn contents_under(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    files_under(dir)
        .into_iter()
        .map(|path| {
            let relative = path.strip_prefix(dir).unwrap().display().to_string();
            let bytes = std::fs::read(&path).unwrap();
            (relative, bytes)
        })
        .collect()
}

/// Issue 14: `kill -9` at points through `svna load`, `svna run` and `svna publish`, each
/// then run again to the end. The release equals one made with no kill (every table byte
/// for byte), nothing is staged twice, and the published zone holds only what a committed
/// release lists.
#[test]
fn load_run_and_publish_killed_at_any_point_lose_and_double_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let synth = tmp.path().join("synth");
    synth_population(&synth);
    let police: Vec<String> = police_files()
        .iter()
        .map(|p| p.to_str().unwrap().to_string())
        .collect();
    let pipeline = project("pipelines/open_data.toml");
    let pipeline = pipeline.to_str().unwrap();
    let stores: Vec<String> = ["clean", "killed"]
        .iter()
        .map(|name| tmp.path().join(name).to_str().unwrap().to_string())
        .collect();
    let commands = |store: &str| -> [Vec<String>; 3] {
        let mut load: Vec<String> = ["load", "--store", store, "--dataset", "police_open_data"]
            .map(String::from)
            .to_vec();
        load.extend(police.iter().cloned());
        [
            load,
            ["run", "--store", store, "--pipeline", pipeline]
                .map(String::from)
                .to_vec(),
            ["publish", "--store", store, "--release", "open"]
                .map(String::from)
                .to_vec(),
        ]
    };
    for store in &stores {
        load_context(store, &synth);
    }
    // Clean: each command once.
    for command in commands(&stores[0]) {
        svna(&command.iter().map(String::as_str).collect::<Vec<_>>());
    }
    // Killed: each command killed at points through it, then run to the end.
    let delays: [&[u64]; 3] = [
        &[30, 150, 400, 900, 1600],
        &[100, 500, 1200, 2500, 4000],
        &[60, 250, 600, 1200, 2000],
    ];
    for (command, delays) in commands(&stores[1]).iter().zip(delays) {
        let args: Vec<&str> = command.iter().map(String::as_str).collect();
        let cut = kill_at(&args, delays);
        assert!(cut > 0, "svna {} finished before every kill", args[0]);
        // A publish that finished before its kill committed the release, and a release is
        // never published twice: then there is nothing left to run to the end.
        let committed = Path::new(&stores[1]).join("published/open/manifest.json");
        if !(args[0] == "publish" && committed.exists()) {
            svna(&args);
        }
    }

    let published = |store: &str| contents_under(&Path::new(store).join("published/open/tables"));
    let (clean, killed) = (published(&stores[0]), published(&stores[1]));
    assert!(clean.len() >= 2, "{:?}", clean.keys());
    assert_eq!(
        clean.keys().collect::<Vec<_>>(),
        killed.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &clean {
        assert!(killed[name] == *bytes, "{name} differs after the kills");
    }
    // Staged once: each police file is one active load in both stores.
    let staged = |store: &str| -> Vec<(String, u64)> {
        let status: Vec<serde_json::Value> =
            serde_json::from_str(&svna(&["status", "--store", store, "--json"])).unwrap();
        let mut lines: Vec<(String, u64)> = status
            .iter()
            .filter(|l| l["dataset"] == "police_open_data" && l["state"] == "staged")
            .map(|l| {
                (
                    l["period"].as_str().unwrap().to_string(),
                    l["rows_staged"].as_u64().unwrap(),
                )
            })
            .collect();
        lines.sort();
        lines
    };
    assert_eq!(staged(&stores[0]).len(), police.len());
    assert_eq!(staged(&stores[0]), staged(&stores[1]));
    // The published zone holds one committed release: every file in it is listed by its
    // manifest (no table of a killed publish, no object-store temporary).
    let zone = contents_under(&Path::new(&stores[1]).join("published"));
    let manifest: serde_json::Value = serde_json::from_slice(&zone["open/manifest.json"]).unwrap();
    let listed = manifest.to_string();
    for name in zone.keys().filter(|n| *n != "open/manifest.json") {
        let inside = name.trim_start_matches("open/");
        assert!(
            name.starts_with("open/") && listed.contains(inside),
            "{name} is in the published zone but in no committed release"
        );
    }
    let verified = svna(&["verify", &format!("{}/published/open", stores[1])]);
    assert!(verified.contains("verified:"), "{verified}");
}
