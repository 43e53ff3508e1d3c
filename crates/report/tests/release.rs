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
        self.table_with(name, dims, counts, json!({}), csv).await;
    }

    /// A table whose dimensions roll up through parent columns (`{"area_code": "parent_code"}`).
    async fn table_with(
        &mut self,
        name: &str,
        dims: &[&str],
        counts: &[&str],
        parents: Value,
        csv: &str,
    ) {
        let path = format!("published/{RELEASE}/tables/{name}.csv");
        self.store
            .put(&path, Bytes::from(csv.to_string()))
            .await
            .unwrap();
        let withheld = csv.matches("[c]").count();
        self.tables.push(json!({
            "name": name,
            "disclosure": {"policy": "threshold", "k": 5, "counts": counts, "dimensions": dims,
                           "total": "Total", "parents": parents},
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
    // Nine sections, then the districts, the success measures, the age-standardised
    // comparison of districts and the withheld cells in words (issue 16).
    assert_eq!(summary.sections.len(), 13);
    assert!(html.contains(
        "Not in this release: table <code>ed_assaults_by_district_age_year</code> was not published"
    ));
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

/// The area table of a two-district county with names published beside the codes, the
/// category table of the same offences, and a table withheld in every cell.
async fn named_release() -> Fixture {
    let mut f = Fixture::new();
    f.table_with(
        "sv_offences_by_area_year",
        &["area_code", "year"],
        &["offences"],
        json!({"area_code": "parent_code"}),
        "area_code,area_name,parent_code,year,offences,residents,imd_decile,rate_per_1000\n\
Total,,,2022,60,2000,,30.0\nTotal,,,2023,[c],2000,,[c]\nTotal,,,Total,100,2000,,50.0\n\
E07000136,Boston,Total,2022,40,1000,,40.0\nE07000136,Boston,Total,2023,[c],1000,,[c]\nE07000136,Boston,Total,Total,70,1000,,70.0\n\
E07000138,Lincoln,Total,2022,20,1000,,20.0\nE07000138,Lincoln,Total,2023,[c],1000,,\nE07000138,Lincoln,Total,Total,30,1000,,30.0\n\
E05000001,Fenside,E07000136,Total,70,1000,,70.0\nE05000002,Abbey,E07000138,Total,30,1000,,30.0\n",
    )
    .await;
    f.table(
        "sv_offences_by_category_year",
        &["lad_code", "category", "year"],
        &["offences", "knife_offences", "firearm_offences"],
        "lad_code,category,year,offences,knife_offences,firearm_offences\n\
Total,Total,Total,100,12,[c]\nE07000136,Total,Total,70,9,[c]\nE07000138,Total,Total,30,[c],[c]\n\
E07000136,violence_with_injury,Total,[c],[c],[c]\nTotal,violence_with_injury,Total,64,8,[c]\n",
    )
    .await;
    f.table(
        "sharp_admissions_u25_by_district_year",
        &["lad_code", "year"],
        &["admissions"],
        "lad_code,year,admissions\nE07000136,2023,[c]\nE07000138,2023,[c]\nTotal,2023,[c]\n",
    )
    .await;
    f.publish().await;
    f
}

/// Names and values from the release as a partner might spell them, with markup, `&` and
/// both quotes: the report shows them as text wherever they appear (tables, headings, the
/// withheld-cells list, the marks' attributes), never as markup.
#[tokio::test]
async fn markup_in_area_names_and_values_is_escaped_everywhere() {
    const NAME: &str = r#"Boston <script>alert("x")</script> & 'Skegness'"#;
    const NAME_HTML: &str =
        "Boston &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;Skegness&#39;";
    let mut f = Fixture::new();
    let csv_name = format!("\"{}\"", NAME.replace('"', "\"\""));
    f.table_with(
        "sv_offences_by_area_year",
        &["area_code", "year"],
        &["offences"],
        json!({"area_code": "parent_code"}),
        &format!(
            "area_code,area_name,parent_code,year,offences,residents,imd_decile,rate_per_1000\n\
Total,,,2023,60,2000,,30.0\nTotal,,,Total,60,2000,,30.0\n\
E07000136,{csv_name},Total,2023,[c],1000,,[c]\nE07000136,{csv_name},Total,Total,40,1000,,40.0\n\
E05000001,<b>Fen</b>,E07000136,Total,40,1000,,40.0\n"
        ),
    )
    .await;
    f.table(
        "sv_offences_by_category_year",
        &["lad_code", "category", "year"],
        &["offences", "knife_offences", "firearm_offences"],
        "lad_code,category,year,offences,knife_offences,firearm_offences\n\
Total,Total,Total,60,12,[c]\nE07000136,Total,Total,40,9,[c]\n\
E07000136,\"knife \"\"&\"\" <gun>\",Total,[c],[c],[c]\nTotal,\"knife \"\"&\"\" <gun>\",Total,30,8,[c]\n",
    )
    .await;
    f.table(
        "data_quality",
        &["dataset", "period"],
        &["rows_received", "rows_staged", "rows_rejected"],
        "partner,dataset,period,rows_received,rows_staged,rows_rejected,missing_months\n\
\"<i>po\"\"lice</i> & co\",police_offences,<p>2023</p>,20,20,0,2023-02<br>\n",
    )
    .await;
    f.publish().await;
    let (_, html) = f.report().await.unwrap();
    // No value became markup.
    for markup in [
        "<script",
        "<b>Fen",
        "<gun>",
        "<i>po",
        "<p>2023",
        "2023-02<br>",
    ] {
        assert!(!html.contains(markup), "{markup} unescaped");
    }
    // The district's name, in the top-wards table, the district tables and their headings,
    // and the withheld-cells list.
    for shown in [
        format!("<td>{NAME_HTML} <code>E07000136</code></td>"),
        format!("<th>{NAME_HTML} (E07000136)</th>"),
        format!("<li>Serious violence offences: area {NAME_HTML} (E07000136), year 2023</li>"),
        "<td>&lt;b&gt;Fen&lt;/b&gt; <code>E05000001</code></td>".to_string(),
    ] {
        assert!(html.contains(&shown), "{shown}");
    }
    // A category value in its label, its code and a mark's cell key (an attribute).
    assert!(html.contains(
        "<td>Knife &quot;&amp;&quot; &lt;gun&gt; <code>knife &quot;&amp;&quot; &lt;gun&gt;</code></td>"
    ));
    assert!(html.contains("data-k=\"Total|knife &quot;&amp;&quot; &lt;gun&gt;|Total\""));
    // Data-quality text columns.
    assert!(html.contains("<td>&lt;i&gt;po&quot;lice&lt;/i&gt; &amp; co</td>"));
    assert!(html.contains("<td>&lt;p&gt;2023&lt;/p&gt;</td>"));
    assert!(html.contains("<td>2023-02&lt;br&gt;</td>"));
}

#[tokio::test]
async fn areas_are_named_beside_their_codes() {
    let (_, html) = named_release().await.report().await.unwrap();
    // The top wards: each ward and its district by name, the code beside it.
    assert!(
        html.contains("Fenside <code>E05000001</code>"),
        "ward named"
    );
    assert!(
        html.contains("Boston <code>E07000136</code>"),
        "district named"
    );
    // A category code is spelled out, the code kept beside it.
    assert!(html.contains("Violence with injury <code>violence_with_injury</code>"));
}

#[tokio::test]
async fn the_district_section_breaks_the_published_tables_down_by_district() {
    let (summary, html) = named_release().await.report().await.unwrap();
    assert!(summary.sections.contains(&"Districts".to_string()));
    let section = html
        .split("<section id=\"districts\">")
        .nth(1)
        .and_then(|s| s.split("</section>").next())
        .expect("a districts section");
    // Each district's yearly offences and per-year rate are its published cells.
    for cell in [
        "data-k=\"E07000136|2022\" data-v=\"40\">40</span>",
        "data-k=\"E07000138|Total\" data-v=\"30\">30</span>",
        "data-c=\"rate_per_1000\" data-k=\"E07000136|2022\" data-v=\"40.0\">40.0</span>",
        "data-c=\"knife_offences\" data-k=\"E07000136|Total|Total\" data-v=\"9\">9</span>",
    ] {
        assert!(section.contains(cell), "{cell}");
    }
    // Districts by name; wards are not districts.
    assert!(section.find("Boston").unwrap() < section.find("Lincoln").unwrap());
    assert!(!section.contains("E05000001"));
    // A withheld count's rate is withheld: the published [c], or [c] where a release left
    // it blank (Lincoln's here), never a dash.
    assert!(section.contains(
        "data-c=\"rate_per_1000\" data-k=\"E07000136|2023\" data-v=\"[c]\" title=\"[c] suppressed: withheld by disclosure control\">[c]</span>"
    ));
    assert!(!section.contains("data-c=\"rate_per_1000\" data-k=\"E07000138|2023\""));
    // Rates are per year: no all-years rate, which would add five years over one year's
    // residents.
    assert!(!section.contains("data-c=\"rate_per_1000\" data-k=\"E07000136|Total\""));
    // Firearm offences are withheld in every district: said in words.
    assert!(section.contains(
        "Firearm offences by district: all 3 cells withheld: too few to publish at this level"
    ));
}

#[tokio::test]
async fn without_district_tables_the_section_says_so() {
    let (_, html) = small_release().await.report().await.unwrap();
    let section = html.split("<section id=\"districts\">").nth(1).unwrap();
    assert!(section.starts_with(
        "\n<h2>Districts</h2>\n<p class=\"note\">Not in this release: table <code>sv_offences_by_area_year</code>"
    ));
}

#[tokio::test]
async fn a_wholly_withheld_chart_is_a_note_not_an_empty_chart() {
    let mut f = Fixture::new();
    f.table(
        "sv_offences_by_district_month",
        &["lad_code", "month"],
        &["offences"],
        "lad_code,month,offences\nTotal,2023-01,[c]\nTotal,2023-02,[c]\nTotal,2023-03,[c]\nTotal,Total,[c]\n",
    )
    .await;
    f.publish().await;
    let (_, html) = f.report().await.unwrap();
    let section = html.split("<section id=\"monthly\">").nth(1).unwrap();
    let section = section.split("</section>").next().unwrap();
    assert!(
        section.contains(
            "Serious violence offences: all 3 cells withheld: too few to publish at this level"
        ),
        "{section}"
    );
    assert!(!section.contains("<svg"), "no chart of hatching alone");
}

#[tokio::test]
async fn withheld_cells_are_listed_in_words_with_names() {
    let (_, html) = named_release().await.report().await.unwrap();
    let section = html
        .split("<section id=\"withheld\">")
        .nth(1)
        .and_then(|s| s.split("</section>").next())
        .expect("a withheld-cells section");
    for item in [
        "<li>Serious violence offences: area Boston (E07000136), year 2023</li>",
        "<li>Knife-enabled offences: district Lincoln (E07000138), all categories, all years</li>",
        "<li>Firearm offences: district Boston (E07000136), category Violence with injury, all years</li>",
        "<li>Admissions: district Boston (E07000136), year 2023</li>",
    ] {
        assert!(section.contains(item), "{item}\n{section}");
    }
    // The table withheld in every cell is said to be, with how many cells.
    assert!(section.contains(
        "Admissions in sharp_admissions_u25_by_district_year: all 3 cells withheld: too few to publish at this level"
    ));
    assert!(section.contains("3 of 3 cells withheld"));
    assert!(!section.contains("measure["), "no raw identities");
}

/// A data-quality table as `svna load` leaves it: no delivery periods, the months checked
/// in first_month and last_month.
async fn quality_release() -> Fixture {
    let mut f = Fixture::new();
    f.table(
        "data_quality",
        &["dataset", "period"],
        &["rows_received", "rows_staged", "rows_rejected"],
        "partner,dataset,period,rows_received,rows_staged,rows_rejected,missing_months,first_month,last_month\n\
education,school_suspensions,all,10,10,0,2019-08;2020-03;2020-08,2019-01,2020-12\n\
police,police_offences,all,20,20,0,2019-08,2019-01,2020-12\n\
police,police_persons,2019-01-01..2020-12-31,30,30,0,,2019-01,2020-12\n",
    )
    .await;
    f.publish().await;
    f
}

fn quality_rows(html: &str) -> Vec<&str> {
    let section = html.split("<section id=\"quality\">").nth(1).unwrap();
    let table = section.split("<tbody>").nth(1).unwrap();
    let table = table.split("</tbody>").next().unwrap();
    table.lines().filter(|l| l.starts_with("<tr>")).collect()
}

#[tokio::test]
async fn school_holidays_are_expected_gaps_and_other_gaps_stay_missing() {
    let (_, html) = quality_release().await.report().await.unwrap();
    let rows = quality_rows(&html);
    let school = rows
        .iter()
        .find(|r| r.contains("school_suspensions"))
        .unwrap();
    // March 2020 is a real gap; the Augusts are the summer holidays.
    assert!(
        school.contains("<td>2020-03<br><span class=\"small\">expected gaps, not missing: 2019-08, 2020-08 (school summer holidays"),
        "{school}"
    );
    // An August without police data is a real gap.
    let police = rows.iter().find(|r| r.contains("police_offences")).unwrap();
    assert!(police.contains("<td>2019-08</td>"), "{police}");
    assert!(!police.contains("expected"));
}

#[tokio::test]
async fn the_data_quality_period_is_the_months_covered_not_all() {
    let (_, html) = quality_release().await.report().await.unwrap();
    let rows = quality_rows(&html);
    let police = rows.iter().find(|r| r.contains("police_offences")).unwrap();
    assert!(
        police.contains(
            "<td>2019-01 to 2020-12 (the data&#39;s months; loaded without a period)</td>"
        ),
        "{police}"
    );
    let persons = rows.iter().find(|r| r.contains("police_persons")).unwrap();
    assert!(
        persons.contains("<td>2019-01-01 to 2020-12-31</td>"),
        "{persons}"
    );
    assert!(rows.iter().all(|r| !r.contains("<td>all</td>")));
    // The months checked are in the period, not columns of their own.
    assert!(!html.contains("<th>First month</th>"));
}

/// A table disclosure control left out whole is said to be withheld, not "not published by
/// this pipeline", in its section and in the withheld-cells section.
#[tokio::test]
async fn a_table_left_out_whole_is_said_to_be_withheld() {
    let mut f = small_release().await;
    let manifest_path = format!("published/{RELEASE}/manifest.json");
    let mut manifest: Value =
        serde_json::from_slice(&f.store.get(&manifest_path).await.unwrap()).unwrap();
    manifest["left_out"] = json!([
        {"table": "sv_offences_by_hour_weekday", "reason": "withheld whole: no pattern protects it"},
        {"table": "sv_offences_by_category_year.firearm_offences", "reason": "withheld whole"},
    ]);
    f.store
        .put(
            &manifest_path,
            Bytes::from(serde_json::to_vec(&manifest).unwrap()),
        )
        .await
        .unwrap();
    f.tables.clear();
    let (_, html) = f.report().await.unwrap();
    let when = html.split("<section id=\"when\">").nth(1).unwrap();
    let when = when.split("</section>").next().unwrap();
    assert!(
        when.contains("Withheld whole: no cell of table <code>sv_offences_by_hour_weekday</code>"),
        "{when}"
    );
    assert!(!when.contains("not published by this pipeline"));
    let withheld = html.split("<section id=\"withheld\">").nth(1).unwrap();
    assert!(withheld.contains("<h3><code>sv_offences_by_hour_weekday</code></h3>"));
    // A column left out is inside a published table: its cells are listed with the table's.
    assert!(!withheld.contains("<h3><code>sv_offences_by_category_year.firearm_offences"));
}

/// Issue 16: with an earlier release of the same pipeline in the store, the report says, per
/// table both publish, how many published figures went up or down and how many were newly
/// withheld or newly published since (counts of cells, no figure); without one, nothing.
#[tokio::test]
async fn the_report_says_what_changed_since_the_last_release() {
    let f = small_release().await;
    let (summary, _) = f.report().await.unwrap();
    assert!(
        !summary
            .sections
            .contains(&"Since the last release".to_string())
    );

    let csv = "lad_code,month,offences\nTotal,2023-01,30\nTotal,2023-02,7\nTotal,2023-03,35\nTotal,Total,72\n";
    let path = "published/older/tables/sv_offences_by_district_month.csv";
    f.store.put(path, Bytes::from(csv)).await.unwrap();
    let manifest = json!({
        "release": "older", "created_at": "2025-01-31T09:00:00Z", "run_id": "run-0",
        "pipeline": "sna <test>",
        "tables": [{
            "name": "sv_offences_by_district_month",
            "disclosure": {"policy": "threshold", "k": 5, "counts": ["offences"],
                           "dimensions": ["lad_code", "month"]},
            "csv": {"path": path, "sha256": sha256_hex(csv.as_bytes()), "size": csv.len()},
        }],
    });
    f.store
        .put(
            "published/older/manifest.json",
            Bytes::from(serde_json::to_vec(&manifest).unwrap()),
        )
        .await
        .unwrap();
    // A release of another pipeline is not "the last release" of this one.
    let other = json!({
        "release": "other", "created_at": "2025-06-30T09:00:00Z", "run_id": "run-x",
        "pipeline": "open_data", "tables": [],
    });
    f.store
        .put(
            "published/other/manifest.json",
            Bytes::from(serde_json::to_vec(&other).unwrap()),
        )
        .await
        .unwrap();

    let (summary, html) = f.report().await.unwrap();
    assert!(
        summary
            .sections
            .contains(&"Since the last release".to_string())
    );
    let section = html
        .split("<section id=\"since\">")
        .nth(1)
        .and_then(|s| s.split("</section>").next())
        .expect("a since section");
    assert!(section.contains("<code>older</code>"), "{section}");
    // Now 40, [c], 35, 90 against 30, 7, 35, 72: two up, one unchanged, one newly withheld.
    let num = |n: u32| format!("<td class=\"num\">{n}</td>");
    let row = format!(
        "<tr><td><code>sv_offences_by_district_month</code></td>{}{}{}{}{}{}{}</tr>",
        num(2),
        num(0),
        num(1),
        num(1),
        num(0),
        num(0),
        num(0)
    );
    assert!(section.contains(&row), "{section}");
    assert!(
        section.contains(
            "New tables: <code>sv_offences_by_location_type</code>, <code>sv_victims_by_age_sex</code>."
        ),
        "{section}"
    );
    assert!(!section.contains("data-v"), "no cell's figure: {section}");
}
