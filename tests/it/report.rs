//! `svna report` end to end: the demo's release becomes one self-contained HTML page whose
//! every drawn number matches its published cell ([c] drawn as suppressed, never 0), and a
//! real headless browser (Debian `chromium`) renders it without console messages.
//!
//! The page and its screenshot are kept in `target/tmp/report/` to look at.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";

fn svna(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_svna"))
        .args(args)
        .output()
        .unwrap()
}

fn assert_ok(output: &std::process::Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "{what} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The only release in the demo's store.
fn release_dir(dir: &Path) -> PathBuf {
    let published = dir.join("store/published");
    std::fs::read_dir(&published)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.join("manifest.json").exists())
        .expect("a release")
}

/// A published table: dimension key (`a|b|c`) -> column -> CSV text.
type Cells = BTreeMap<String, BTreeMap<String, String>>;

fn read_table(path: &Path, dims: &[String]) -> Cells {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header = reader.headers().unwrap().clone();
    let mut cells = Cells::new();
    for record in reader.records() {
        let row: BTreeMap<String, String> = header
            .iter()
            .zip(record.unwrap().iter())
            .map(|(h, v)| (h.to_string(), v.to_string()))
            .collect();
        let key = dims
            .iter()
            .map(|d| row[d].as_str())
            .collect::<Vec<_>>()
            .join("|");
        assert!(cells.insert(key, row).is_none(), "duplicate cell");
    }
    cells
}

/// Every mark that stands for a published cell: (class, table, column, key, value).
struct Mark {
    class: String,
    table: String,
    column: String,
    key: String,
    value: String,
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn attribute(element: &str, name: &str) -> String {
    let start = element
        .find(&format!(" {name}=\""))
        .unwrap_or_else(|| panic!("{name} in {element}"))
        + name.len()
        + 3;
    unescape(element[start..].split('"').next().unwrap())
}

fn marks(html: &str) -> Vec<Mark> {
    html.match_indices(" data-t=\"")
        .map(|(at, _)| {
            let open = html[..at].rfind('<').unwrap();
            let element = &html[open..at + html[at..].find('>').unwrap()];
            Mark {
                class: attribute(element, "class"),
                table: attribute(element, "data-t"),
                column: attribute(element, "data-c"),
                key: attribute(element, "data-k"),
                value: attribute(element, "data-v"),
            }
        })
        .collect()
}

#[test]
fn the_demo_release_report_is_self_contained_and_true_to_the_published_cells() {
    let demo = tempfile::tempdir().unwrap();
    assert_ok(
        &svna(&["demo", "--dir", demo.path().to_str().unwrap()]),
        "svna demo",
    );
    let release = release_dir(demo.path());
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report");
    let _ = std::fs::remove_dir_all(&out);
    let stdout = assert_ok(
        &svna(&[
            "report",
            release.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]),
        "svna report",
    );
    let index = out.join("index.html");
    assert!(
        stdout.contains(index.to_str().unwrap()),
        "prints the page's path: {stdout}"
    );
    let html = std::fs::read_to_string(&index).unwrap();

    assert_sections_and_no_fetches(&html);
    assert_marks_match_the_release(&html, &release, &stdout);
    assert_a_changed_file_is_refused(&release, &out);
    render_in_chromium(&index, &out.join("report.png"));
}

fn assert_sections_and_no_fetches(html: &str) {
    for heading in [
        "Headline measures",
        "Success measures",
        "How to read this report",
        "Monthly trend",
        "When: hour of day × day of week",
        "Who: victims and suspects by age and sex",
        "Where: wards with the highest rates",
        "Districts",
        "Comparing districts: age-standardised rates",
        "Weapon mix",
        "Cohort overlap across agencies",
        "Data quality",
        "Withheld cells",
        "About this release",
    ] {
        assert!(
            html.contains(&format!(">{heading}</h2>")),
            "section {heading}"
        );
    }
    assert!(html.contains("[c] suppressed"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "nothing fetched"
    );
    for forbidden in ["<script", "<link", "<img", "<iframe", "@import", "url(http"] {
        assert!(!html.contains(forbidden), "{forbidden}");
    }
    assert!(
        !html.contains("Not in this release"),
        "the demo has every table"
    );
}

/// Whether a cell key (`a|b`) lies in a slice the report draws whole.
type InSlice = fn(&str) -> bool;

/// Every drawn number is its published cell, every withheld one is drawn as suppressed,
/// and in the slices shown whole (the charts by month and the heatmap) the suppressed marks
/// are exactly the withheld cells.
fn assert_marks_match_the_release(html: &str, release: &Path, stdout: &str) {
    let manifest: svna_publish::ReleaseManifest =
        serde_json::from_slice(&std::fs::read(release.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(svna_report::SUPPRESSED, svna_publish::SUPPRESSED_MARKER);

    let store = release.parent().unwrap().parent().unwrap();
    let tables: BTreeMap<String, Cells> = manifest
        .tables
        .iter()
        .map(|t| {
            let cells = read_table(&store.join(&t.csv.path), &t.disclosure.dimensions);
            (t.name.clone(), cells)
        })
        .collect();
    let marks = marks(html);
    assert!(marks.len() > 300, "{} marks", marks.len());
    for mark in &marks {
        let row = tables[&mark.table]
            .get(&mark.key)
            .unwrap_or_else(|| panic!("{}: no cell {}", mark.table, mark.key));
        assert_eq!(
            row[&mark.column], mark.value,
            "{} {} {}",
            mark.table, mark.key, mark.column
        );
        assert_eq!(
            mark.class == "sup",
            mark.value == "[c]" || mark.value == "[p]",
            "{} {}",
            mark.table,
            mark.key
        );
    }
    assert!(
        marks.iter().any(|m| m.table == "success_measures"
            && m.column.ends_with("_per_100k")
            && m.class != "sup"),
        "the success measures are shown with published rates"
    );
    let suppressed = marks.iter().filter(|m| m.class == "sup").count();
    assert!(suppressed > 0, "the demo release shows withheld cells");
    assert!(stdout.contains(&format!(
        "{suppressed} withheld cells shown as [c] (or [p], withheld by the partner)"
    )));

    let slices: [(&str, &str, InSlice); 3] = [
        ("sv_offences_by_hour_weekday", "offences", |k| {
            k.starts_with("Total|") && !k.contains("|Total") && !k.ends_with("unknown")
        }),
        ("sv_offences_by_district_month", "offences", |k| {
            k.starts_with("Total|") && k != "Total|Total"
        }),
        ("ed_assaults_by_method_month", "attendances", |k| {
            k.starts_with("Total|") && k != "Total|Total"
        }),
    ];
    for (table, column, in_slice) in slices {
        let cells: Vec<&String> = tables[table].keys().filter(|k| in_slice(k)).collect();
        let withheld = cells
            .iter()
            .filter(|k| ["[c]", "[p]"].contains(&tables[table][**k][column].as_str()))
            .count();
        let shown: Vec<&Mark> = marks
            .iter()
            .filter(|m| m.table == table && in_slice(&m.key))
            .collect();
        assert_eq!(
            shown.len(),
            cells.len(),
            "{table}: every cell of the slice drawn"
        );
        let drawn = shown.iter().filter(|m| m.class == "sup").count();
        assert_eq!(
            drawn, withheld,
            "{table}: suppressed marks = withheld cells"
        );
    }
}

/// A table file that no longer matches the manifest is refused with exit 2, naming it.
fn assert_a_changed_file_is_refused(release: &Path, out: &Path) {
    let path = release.join("tables/sv_trend_by_year.csv");
    let original = std::fs::read(&path).unwrap();
    let mut changed = original.clone();
    changed.extend_from_slice(b"2099,1,1,1\n");
    std::fs::write(&path, &changed).unwrap();
    let output = svna(&[
        "report",
        release.to_str().unwrap(),
        "-o",
        out.join("tampered").to_str().unwrap(),
    ]);
    std::fs::write(&path, &original).unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("tables/sv_trend_by_year.csv"), "{stderr}");
    assert!(!out.join("tampered/index.html").exists());
}

/// As `tests/object_stores.rs` reads it: `CI` set to anything but empty, `false` or `0`.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Renders the page in headless Chromium and checks the screenshot and the console.
/// Without Chromium the check is skipped with a notice, except under CI (`CI` set), where a
/// skipped browser check would pass silently; `.ci/run` installs it.
fn render_in_chromium(index: &Path, png: &Path) {
    if !Path::new(CHROMIUM).exists() {
        assert!(
            !in_ci(),
            "{CHROMIUM} is missing under CI: install Debian `chromium` (.ci/run does)"
        );
        eprintln!(
            "notice: {CHROMIUM} not installed; skipping the browser check (apt-get install chromium)"
        );
        return;
    }
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            &format!("--user-data-dir={}", profile.path().display()),
            "--enable-logging=stderr",
            "--v=0",
            &format!("--screenshot={}", png.display()),
            "--window-size=1280,3000",
            &format!("file://{}", index.display()),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("chromium did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "chromium failed:\n{stderr}");
    // Chromium logs every console message, console.error and uncaught exceptions included,
    // as `INFO:CONSOLE(line)] "message"`. The page has no script, so any is a failure.
    let console: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .collect();
    assert!(
        console.is_empty(),
        "console messages:\n{}",
        console.join("\n")
    );
    let size = std::fs::metadata(png).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 10_000,
        "screenshot {} is {size} bytes",
        png.display()
    );
    eprintln!("screenshot: {}", png.display());
}
