//! The golden release: a small synthetic partnership (seed 18, scale 0.02) loaded, run and
//! published through the `svna` binary, compared byte for byte with the release kept in
//! `tests/it/golden/release/`. Any change to a published figure, a withheld cell, a column, the
//! dictionary, the disclosure report or a Parquet file shows up here as a diff to review.
//!
//! Compared:
//! - every file of the release byte for byte, but two;
//! - `manifest.json` as JSON, with what names the run rather than the data set aside: its
//!   time, tool version, run id, run record, the staged files' paths (load ids are random) and
//!   the workbook's checksum. Every other field is compared, the checksum of every table among
//!   them.
//! - `release.xlsx` is not compared: its document time is the run's. Its sheets are checked
//!   against the CSVs in `demo.rs`.
//!
//! After an intended change, `SVNA_UPDATE_GOLDEN=1 cargo test --workspace --test it golden`
//! rewrites the golden release; review the diff before committing it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::common::{files_under, svna_ok};

const RELEASE: &str = "golden";

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/golden/release")
}

/// Synthesises, loads, runs and publishes; returns the release's directory.
fn publish_small_partnership(root: &Path) -> PathBuf {
    let extracts = root.join("extracts");
    let store = root.join("store");
    let store = store.to_str().unwrap();
    let extracts_arg = extracts.to_str().unwrap();
    svna_ok(&[
        "synth",
        "--out",
        extracts_arg,
        "--seed",
        "18",
        "--scale",
        "0.02",
    ]);
    let definitions = Path::new(env!("CARGO_MANIFEST_DIR")).join("definitions");
    let mut files: Vec<(String, PathBuf)> = std::fs::read_dir(&extracts)
        .unwrap()
        .map(|e| e.unwrap().path())
        .chain(
            ["sv_offence_codes", "age_bands", "suspension_reasons"]
                .iter()
                .map(|d| definitions.join(format!("{d}.csv"))),
        )
        .map(|path| {
            let dataset = path.file_stem().unwrap().to_str().unwrap().to_string();
            (dataset, path)
        })
        .collect();
    files.sort();
    for (dataset, path) in &files {
        svna_ok(&[
            "load",
            "--store",
            store,
            "--dataset",
            dataset,
            path.to_str().unwrap(),
        ]);
    }
    let run = svna_ok(&["run", "--store", store, "--json"]);
    let record: serde_json::Value = serde_json::from_str(&run).unwrap();
    let run_id = record["run_id"].as_str().unwrap();
    svna_ok(&[
        "publish",
        "--store",
        store,
        "--run",
        run_id,
        "--release",
        RELEASE,
    ]);
    root.join("store/published").join(RELEASE)
}

/// The manifest with what names this run, rather than what it published, set aside.
fn comparable_manifest(bytes: &[u8]) -> serde_json::Value {
    let mut manifest: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    let varies = serde_json::Value::String("(varies by run)".into());
    for field in ["created_at", "tool_version", "run_id", "run_record"] {
        manifest[field] = varies.clone();
    }
    manifest["workbook"]["sha256"] = varies.clone();
    for input in manifest["inputs"].as_array_mut().unwrap() {
        for file in input["files"].as_array_mut().unwrap() {
            file["path"] = varies.clone();
        }
    }
    manifest
}

fn relative_files(dir: &Path) -> BTreeSet<PathBuf> {
    files_under(dir)
        .into_iter()
        .map(|f| f.strip_prefix(dir).unwrap().to_path_buf())
        .collect()
}

/// What differs between the release and the golden one, file by file.
fn differences(release: &Path, golden: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let ours = relative_files(release);
    let kept = relative_files(golden);
    for missing in kept.difference(&ours) {
        found.push(format!(
            "{}: in the golden release, not published",
            missing.display()
        ));
    }
    for extra in ours.difference(&kept) {
        found.push(format!(
            "{}: published, not in the golden release",
            extra.display()
        ));
    }
    for file in ours.intersection(&kept) {
        let name = file.to_str().unwrap();
        if name == "release.xlsx" {
            continue;
        }
        let (a, b) = (
            std::fs::read(release.join(file)).unwrap(),
            std::fs::read(golden.join(file)).unwrap(),
        );
        if name == "manifest.json" {
            if comparable_manifest(&a) != comparable_manifest(&b) {
                found.push(format!("{name}: differs beyond the run's own fields"));
            }
        } else if a != b {
            found.push(format!("{name}: {}", first_difference(&a, &b)));
        }
    }
    found
}

/// Where two files part: the first differing line of a text file, else the byte offset.
fn first_difference(ours: &[u8], golden: &[u8]) -> String {
    match (std::str::from_utf8(ours), std::str::from_utf8(golden)) {
        (Ok(ours), Ok(golden)) => {
            let mut lines = ours.lines().zip(golden.lines()).enumerate();
            match lines.find(|(_, (a, b))| a != b) {
                Some((n, (a, b))) => format!("line {}: published {a:?}, golden {b:?}", n + 1),
                None => format!(
                    "{} lines published, {} in the golden release",
                    ours.lines().count(),
                    golden.lines().count()
                ),
            }
        }
        _ => {
            let at = ours.iter().zip(golden).position(|(a, b)| a != b);
            format!(
                "binary, {} bytes published, {} golden, first difference at byte {}",
                ours.len(),
                golden.len(),
                at.unwrap_or(ours.len().min(golden.len()))
            )
        }
    }
}

fn replace_golden(release: &Path, golden: &Path) {
    if golden.exists() {
        std::fs::remove_dir_all(golden).unwrap();
    }
    for file in relative_files(release) {
        let target = golden.join(&file);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(release.join(&file), target).unwrap();
    }
}

#[test]
fn a_small_partnership_publishes_the_golden_release_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let release = publish_small_partnership(tmp.path());
    let golden = golden_dir();
    if std::env::var_os("SVNA_UPDATE_GOLDEN").is_some() {
        replace_golden(&release, &golden);
        eprintln!("golden release rewritten: {}", golden.display());
        return;
    }
    let found = differences(&release, &golden);
    assert!(
        found.is_empty(),
        "the release differs from tests/it/golden/release (if intended, rewrite it with \
         SVNA_UPDATE_GOLDEN=1 and review the diff):\n{}",
        found.join("\n")
    );
    // The comparison itself can fail: a golden release with one figure changed is refused.
    let tampered = tmp.path().join("tampered");
    replace_golden(&release, &tampered);
    let csv = tampered.join("tables/sv_trend_by_year.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    std::fs::write(&csv, text.replacen("Total", "TOTAL", 1)).unwrap();
    let found = differences(&release, &tampered);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("sv_trend_by_year.csv: line "),
        "{found:?}"
    );
}
