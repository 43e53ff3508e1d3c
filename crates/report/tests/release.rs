//! The report built from small hand-made releases in an in-memory store: withheld cells
//! drawn as [c] (never 0), margins used rather than sums, missing tables noted, text
//! escaped, and a changed file refused.

use bytes::Bytes;
use serde_json::{Value, json};
use svna_report::{ReportError, write_report};
use svna_storage::{Store, sha256_hex};

const RELEASE: &str = "test-release";

struct Fixture {
    store: Store,
    tables: Vec<Value>,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            store: Store::open("memory://").unwrap(),
            tables: Vec::new(),
        }
    }

    async fn table(&mut self, name: &str, dims: &[&str], counts: &[&str], csv: &str) {
        let path = format!("published/{RELEASE}/tables/{name}.csv");
        self.store
            .put(&path, Bytes::from(csv.to_string()))
            .await
            .unwrap();
        let withheld = csv.matches("[c]").count();
        self.tables.push(json!({
            "name": name,
            "disclosure": {"policy": "threshold", "k": 5, "counts": counts, "dimensions": dims,
                           "total": "Total", "parents": {}},
            "parquet": {"path": path.replace(".csv", ".parquet"), "sha256": "0", "size": 0},
            "csv": {"path": path, "sha256": sha256_hex(csv.as_bytes()), "size": csv.len()},
            "cells": csv.lines().count() - 1,
            "withheld": withheld,
        }));
    }

    async fn publish(&self) {
        let manifest = json!({
            "release": RELEASE, "created_at": "2026-01-31T09:00:00Z", "tool_version": "0.1.0",
            "run_id": "run-1", "pipeline": "sna <test>", "tables": self.tables,
            "withheld_cells": 3, "published_cells": 40,
        });
        self.store
            .put(
                &format!("published/{RELEASE}/manifest.json"),
                Bytes::from(serde_json::to_vec(&manifest).unwrap()),
            )
            .await
            .unwrap();
    }

    async fn report(&self) -> Result<(svna_report::ReportSummary, String), ReportError> {
        let dir = tempfile::tempdir().unwrap();
        let summary = write_report(&self.store, RELEASE, dir.path()).await?;
        let html = std::fs::read_to_string(&summary.index_html).unwrap();
        Ok((summary, html))
    }
}

async fn small_release() -> Fixture {
    let mut f = Fixture::new();
    f.table(
        "sv_offences_by_district_month",
        &["lad_code", "month"],
        &["offences"],
        "lad_code,month,offences\nTotal,2023-01,40\nTotal,2023-02,[c]\nTotal,2023-03,35\nTotal,Total,90\n",
    )
    .await;
    f.table(
        "sv_victims_by_age_sex",
        &["age_band", "sex"],
        &["victims"],
        "age_band,sex,victims\n0-9,F,[c]\n0-9,M,12\n0-9,Total,[c]\nTotal,F,20\nTotal,M,30\nTotal,Total,50\n",
    )
    .await;
    f.table(
        "sv_offences_by_location_type",
        &["lad_code", "location_type"],
        &["offences"],
        "lad_code,location_type,offences\nTotal,<script>alert(1)</script>,9\nTotal,street,0\nTotal,Total,9\n",
    )
    .await;
    f.publish().await;
    f
}

/// The `data-v` values of marks for one table, in page order.
fn marks<'a>(html: &'a str, table: &str) -> Vec<(&'a str, &'a str)> {
    let needle = format!("data-t=\"{table}\"");
    html.match_indices(&needle)
        .map(|(at, _)| {
            let class = html[..at].rsplit("class=\"").next().unwrap();
            let class = class.split('"').next().unwrap();
            let value = html[at..].split("data-v=\"").nth(1).unwrap();
            (class, value.split('"').next().unwrap())
        })
        .collect()
}

#[tokio::test]
async fn withheld_cells_are_drawn_as_suppressed_never_zero() {
    let (summary, html) = small_release().await.report().await.unwrap();
    let months = marks(&html, "sv_offences_by_district_month");
    assert_eq!(
        months,
        vec![("val", "40"), ("sup", "[c]"), ("val", "35")],
        "one mark per month, the withheld one suppressed"
    );
    let victims = marks(&html, "sv_victims_by_age_sex");
    assert!(victims.contains(&("sup", "[c]")));
    assert!(html.contains("[c] suppressed"));
    // Every mark's class agrees with its CSV value.
    for (class, value) in months.iter().chain(&victims) {
        assert_eq!(*class == "sup", *value == "[c]", "{class} {value}");
    }
    assert_eq!(summary.suppressed_marks, 2);
    // A published zero is shown as 0; the suppressed ones are not.
    assert!(marks(&html, "sv_offences_by_location_type").contains(&("val", "0")));
}

#[tokio::test]
async fn totals_are_the_published_margins() {
    let (_, html) = small_release().await.report().await.unwrap();
    assert!(html.contains("data-k=\"Total|Total\" data-v=\"50\">50</span>"));
}

#[tokio::test]
async fn release_text_is_escaped_and_nothing_is_fetched() {
    let (_, html) = small_release().await.report().await.unwrap();
    assert!(
        !html.contains("<script"),
        "no script, and table text escaped"
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("sna &lt;test&gt;"));
    assert!(!html.contains("http://") && !html.contains("https://"));
}

#[tokio::test]
async fn tables_a_release_lacks_are_noted() {
    let (summary, html) = small_release().await.report().await.unwrap();
    assert!(
        summary
            .tables_missing
            .contains(&"sv_offences_by_hour_weekday".to_string())
    );
    assert!(html.contains(
        "Not in this release: table <code>sv_offences_by_hour_weekday</code> was not published"
    ));
    assert_eq!(summary.sections.len(), 9);
}

#[tokio::test]
async fn a_changed_table_file_is_refused_by_name() {
    let f = small_release().await;
    let path = format!("published/{RELEASE}/tables/sv_victims_by_age_sex.csv");
    f.store
        .put(&path, Bytes::from("age_band,sex,victims\nTotal,Total,3\n"))
        .await
        .unwrap();
    match f.report().await {
        Err(ReportError::Tampered { path: named, .. }) => assert_eq!(named, path),
        other => panic!("expected a checksum refusal, got {:?}", other.map(|r| r.0)),
    }
}

#[tokio::test]
async fn a_sum_with_a_withheld_part_is_withheld() {
    let mut f = Fixture::new();
    let dims = [
        "police",
        "youth_justice",
        "probation",
        "school_suspensions",
        "age_band",
    ];
    f.table(
        "cohort_overlap_by_age",
        &dims,
        &["persons"],
        "police,youth_justice,probation,school_suspensions,age_band,persons\n\
yes,no,no,no,Total,100\nyes,yes,no,no,Total,20\nyes,no,yes,no,Total,[c]\nno,yes,no,no,Total,30\n",
    )
    .await;
    f.publish().await;
    let (_, html) = f.report().await.unwrap();
    assert!(html.contains("Known to two or more agencies: <span class=\"sup\""));
}

#[tokio::test]
async fn a_missing_release_is_an_error_naming_the_manifest() {
    let f = Fixture::new();
    let error = f.report().await.unwrap_err().to_string();
    assert!(
        error.contains("published/test-release/manifest.json"),
        "{error}"
    );
}

/// A year is a value from the data: the headline's "latest year" note must escape it like
/// every other cell (it once went into the page as it was).
#[tokio::test]
async fn the_headline_year_is_escaped() {
    let mut f = Fixture::new();
    f.table(
        "sv_trend_by_year",
        &["year"],
        &["offences"],
        "year,offences\n2022,40\n<script>alert(1)</script>,50\nTotal,90\n",
    )
    .await;
    f.publish().await;
    let (_, html) = f.report().await.unwrap();
    assert!(
        !html.contains("<script"),
        "a year from the data went in unescaped"
    );
    assert!(html.contains(
        "<p class=\"small\">&lt;script&gt;alert(1)&lt;/script&gt; is the latest year published"
    ));
}
