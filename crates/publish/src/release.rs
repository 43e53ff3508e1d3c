use std::collections::BTreeSet;

use bytes::Bytes;
use serde::Serialize;
use svna_contracts::{NameKind, check_name};
use svna_disclosure::CellOutcome;
use svna_records::{
    PublishedTable, ReleaseManifest, RunRecord, RunStatus, Sensitivity, SqlHash, latest_run_path,
    release_manifest_path, run_record_path,
};
use svna_storage::{FileEntry, Store, Zone, sha256_hex};

use crate::commit::{Staging, clean_leftovers, is_uncommitted};
use crate::csv_out::CsvOut;
use crate::dictionary::{TableEntry, table_entry};
use crate::error::PublishError;
use crate::gate::{check_no_tokens, check_open_lineage, check_published_counts};
use crate::ledger::{LedgerEntry, claim_entry, read_ledger};
use crate::output_table::{OutputTable, PartnerMark};
use crate::protect::{Protected, policy_of, protect_outputs};
use crate::write::{csv_bytes, parquet_bytes, published};
use crate::xlsx::{WORKBOOK, WorkbookTable, workbook_bytes};

/// What to publish.
#[derive(Debug, Clone, Default)]
pub struct PublishOptions {
    /// The run; the latest finished run when `None`.
    pub run_id: Option<String>,
    /// The release name; `<pipeline>-<run id>` when `None`.
    pub release: Option<String>,
}

/// Publishes the aggregate outputs of a finished run as a new release.
pub async fn publish_run(
    store: &Store,
    options: &PublishOptions,
) -> Result<ReleaseManifest, PublishError> {
    // Refuse a bad name before reading anything: it becomes a folder of the published zone.
    if let Some(release) = &options.release {
        check_name(NameKind::Release, release)?;
    }
    let run_id = match &options.run_id {
        Some(id) => id.clone(),
        None => {
            let latest: serde_json::Value = store
                .get_json(&latest_run_path(), "the latest-run pointer")
                .await?;
            latest["run_id"].as_str().unwrap_or_default().to_string()
        }
    };
    let record_path = run_record_path(&run_id);
    let record_bytes = store.get(&record_path).await?;
    let record: RunRecord =
        serde_json::from_slice(&record_bytes).map_err(|source| PublishError::Json {
            path: record_path.clone(),
            source,
        })?;
    if record.status != RunStatus::Finished {
        return Err(PublishError::RunNotFinished {
            run_id,
            status: format!("{:?}", record.status).to_lowercase(),
        });
    }
    // Run ids carry an uppercase `T` and `Z`; release names are lowercase.
    let release = options
        .release
        .clone()
        .unwrap_or_else(|| format!("{}-{run_id}", record.pipeline).to_ascii_lowercase());
    check_name(NameKind::Release, &release)?;
    if store.exists(&release_manifest_path(&release)).await? {
        return Err(PublishError::ReleaseExists { name: release });
    }
    clean_leftovers(store).await?;

    check_open_lineage(&record)?;
    let tables = read_outputs(store, &record).await?;
    // Protect against the ledger as it is, then claim the next ledger slot; if another
    // publish claimed it meanwhile, protect again with that release in the model.
    let mut attempts = 0;
    let protected = loop {
        let (ledger, next_slot) = read_ledger(store).await?;
        let protected = protect_outputs(&tables, &ledger)?;
        for (policy, audit) in &protected.audits {
            if !audit.pass {
                return Err(PublishError::AuditFailed {
                    failing: audit.failing,
                    examples: audit
                        .cells
                        .iter()
                        .filter(|c| !c.pass)
                        .take(3)
                        .map(|c| {
                            let high = c.high.map_or("unbounded".into(), |h| h.to_string());
                            format!("{} in [{}, {high}]", c.identity, c.low.unwrap_or(0))
                        })
                        .collect::<Vec<_>>()
                        .join("; "),
                });
            }
            let _ = policy;
        }
        let left_out: BTreeSet<&str> = protected
            .left_out
            .iter()
            .map(|l| l.table.as_str())
            .collect();
        for ((table, outcomes), already_public) in tables
            .iter()
            .zip(&protected.outcomes)
            .zip(&protected.already_public)
        {
            if let Some(policy) = policy_of(table)
                && !left_out.contains(table.name.as_str())
            {
                check_published_counts(table, &policy, outcomes, already_public)?;
            }
        }
        let entry = LedgerEntry {
            release: release.clone(),
            run_id: run_id.clone(),
            created_at: chrono::Utc::now().to_rfc3339(),
            parts: protected.ledger_parts.clone(),
        };
        if claim_entry(store, next_slot, &entry).await? {
            break protected;
        }
        attempts += 1;
        if attempts >= 20 {
            return Err(PublishError::LedgerBusy { attempts });
        }
    };
    let left_out: BTreeSet<&str> = protected
        .left_out
        .iter()
        .map(|l| l.table.as_str())
        .collect();
    let mut staging = Staging::new(&release);
    let mut published = Vec::new();
    let mut written = Vec::new();
    for (table, outcomes) in tables.iter().zip(&protected.outcomes) {
        if !left_out.contains(table.name.as_str()) {
            let (entry, csv, numeric) = write_table(store, &mut staging, table, outcomes).await?;
            published.push(entry);
            written.push((table, csv, numeric));
        }
    }
    // The full audit (true values, primary/secondary classes) stays with the run; the
    // release carries only what an outsider could compute from the release itself.
    let internal = Zone::Runs.join(&format!("{run_id}/disclosure_audit-{release}.json"));
    store.put_json(&internal, &protected.audits).await?;
    let disclosure_report =
        write_public_report(store, &mut staging, &protected, &published).await?;
    let (data_dictionary, entries, dictionary_csv) =
        write_dictionary(store, &mut staging, &record).await?;
    // The workbook: the CSVs just written, cell for cell, with the dictionary.
    let sheets: Vec<WorkbookTable> = written
        .iter()
        .map(|(table, csv, numeric)| WorkbookTable {
            name: &table.name,
            csv,
            numeric: numeric.clone(),
            entry: entries.iter().find(|e| e.table == table.name),
            partner: table.spec.partner_suppressed.is_some()
                || !table.spec.partner_flags.is_empty(),
        })
        .collect();
    let workbook = workbook_bytes(&release, &record.finished_at, &sheets, &dictionary_csv)?;
    let workbook = Some(staging.put(store, WORKBOOK, workbook, None).await?);

    let withheld_cells = published.iter().map(|t| t.withheld).sum();
    let published_cells = published.iter().map(|t| t.cells - t.withheld).sum();
    let manifest = ReleaseManifest {
        release: release.clone(),
        created_at: chrono::Utc::now().to_rfc3339(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        run_id: run_id.clone(),
        run_record: FileEntry {
            path: record_path,
            sha256: sha256_hex(&record_bytes),
            size: record_bytes.len() as u64,
            rows: None,
        },
        pipeline: record.pipeline.clone(),
        pipeline_sha256: record.pipeline_sha256.clone(),
        contract_version: record.contract_version,
        inputs: record.inputs.clone(),
        sql: record
            .stages
            .iter()
            .map(|s| SqlHash {
                stage: s.name.clone(),
                sql_file: s.sql_file.clone(),
                sql_sha256: s.sql_sha256.clone(),
            })
            .collect(),
        tables: published,
        disclosure_report,
        data_dictionary,
        workbook,
        withheld_cells,
        published_cells,
        linked_releases: protected.linked.iter().cloned().collect(),
        revised_releases: protected.revised.iter().cloned().collect(),
        left_out: protected.left_out.clone(),
    };
    let mut manifest_bytes =
        serde_json::to_vec_pretty(&manifest).map_err(|source| PublishError::Json {
            path: release_manifest_path(&release),
            source,
        })?;
    manifest_bytes.push(b'\n');
    staging.commit(store, Bytes::from(manifest_bytes)).await?;
    Ok(manifest)
}

/// Reads every aggregate output of the run, checking each against the run record's
/// checksum first, and refusing token columns.
async fn read_outputs(store: &Store, record: &RunRecord) -> Result<Vec<OutputTable>, PublishError> {
    let mut tables = Vec::new();
    for stage in &record.stages {
        if stage.sensitivity == Sensitivity::RowLevel {
            continue;
        }
        let spec = stage
            .disclosure
            .as_ref()
            .ok_or_else(|| PublishError::RowLevel {
                stage: stage.name.clone(),
            })?;
        let bytes = store.get(&stage.output.path).await?;
        let actual = sha256_hex(&bytes);
        if actual != stage.output.sha256 {
            return Err(PublishError::Tampered {
                path: stage.output.path.clone(),
                expected: stage.output.sha256.clone(),
                actual,
            });
        }
        let table = OutputTable::from_parquet(&stage.name, spec, bytes)?;
        check_no_tokens(&table, stage)?;
        tables.push(table);
    }
    Ok(tables)
}

/// Writes a table's Parquet and CSV files; returns its manifest entry, the CSV and, per CSV
/// column, whether it holds numbers (for the workbook).
async fn write_table(
    store: &Store,
    staging: &mut Staging,
    table: &OutputTable,
    outcomes: &[Vec<CellOutcome>],
) -> Result<(PublishedTable, Bytes, Vec<bool>), PublishError> {
    let published = published(table, outcomes);
    let numeric: Vec<bool> = published
        .batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.data_type().is_numeric())
        .collect();
    let csv_text = csv_bytes(table, outcomes, &published)?;
    let parquet_name = format!("tables/{}.parquet", table.name);
    let csv_name = format!("tables/{}.csv", table.name);
    let rows = Some(table.rows() as u64);
    let parquet = staging
        .put(
            store,
            &parquet_name,
            parquet_bytes(&parquet_name, &published.batch)?,
            rows,
        )
        .await?;
    let csv = staging
        .put(store, &csv_name, csv_text.clone(), rows)
        .await?;
    let cells = outcomes.iter().map(Vec::len).sum();
    let withheld = outcomes
        .iter()
        .flatten()
        .filter(|o| o.value().is_none())
        .count();
    let marks = || table.partner.iter().flatten();
    let partner_withheld = marks().filter(|m| **m == PartnerMark::Withheld).count();
    let entry = PublishedTable {
        name: table.name.clone(),
        disclosure: table.spec.clone(),
        parquet,
        csv,
        cells,
        withheld,
        partner_withheld,
        lower_bounds: marks().filter(|m| **m == PartnerMark::LowerBound).count(),
    };
    Ok((entry, csv_text, numeric))
}

/// One row per withheld cell: which quantity, in which tables. No interval, no true value
/// and no primary/secondary distinction: an interval computed by the publisher rests on the
/// true values and would tell an outsider more than the tables do (and would mark the
/// small cells).
#[derive(Debug, Serialize)]
struct PublicReportRow<'a> {
    quantity: &'a str,
    tables: String,
}

/// The public disclosure report: the rule, the guarantee, what was withheld and left out,
/// and the information loss in cells (counts of cells are public anyway: a reader can
/// count the `[c]` marks). The share of the count withheld is in the internal audit only,
/// since it is a sum of withheld true values.
async fn write_public_report(
    store: &Store,
    staging: &mut Staging,
    protected: &Protected,
    published: &[PublishedTable],
) -> Result<Vec<FileEntry>, PublishError> {
    let rows: Vec<PublicReportRow> = protected
        .audits
        .iter()
        .flat_map(|(_, audit)| audit.cells.iter())
        .filter(|c| c.published.is_none())
        .map(|c| PublicReportRow {
            quantity: &c.identity,
            tables: c.tables.join(";"),
        })
        .collect();
    let policies: Vec<serde_json::Value> = protected
        .audits
        .iter()
        .map(|(p, _)| serde_json::json!({ "policy": p }))
        .collect();
    let summary = serde_json::json!({
        "rule": "Counts from 1 to k-1 are withheld (threshold policy), together with enough further cells that no withheld count can be worked out, to within k, from this release, the earlier releases in the same store and the relations between them (margins, hierarchies, the same figure in several tables, months within years, parts within wholes). Rounded tables publish every count rounded. Withheld cells are [c] in CSV and empty (NULL) in Parquet.",
        "guarantee": "For every count withheld under the threshold policy, two sets of tables consistent with everything published were constructed whose values for that count differ by at least k; this was checked before publication. Counts an earlier release already published are not withheld again.",
        "pass": protected.audits.iter().all(|(_, a)| a.pass),
        "policies": policies,
        "linked_releases": protected.linked,
        "left_out": protected.left_out,
        "information_loss": published.iter().map(|t| serde_json::json!({
            "table": t.name, "cells": t.cells, "withheld": t.withheld,
        })).collect::<Vec<_>>(),
        "withheld": rows,
    });
    let json = Bytes::from(serde_json::to_vec_pretty(&summary).expect("report serialises"));
    let mut csv = CsvOut::new(staging.final_path("disclosure_report.csv"));
    csv.row(["quantity", "tables"])?;
    for row in &rows {
        csv.row([row.quantity, row.tables.as_str()])?;
    }
    let csv = csv.finish()?;
    Ok(vec![
        staging
            .put(store, "disclosure_report.json", json, None)
            .await?,
        staging
            .put(store, "disclosure_report.csv", csv, Some(rows.len() as u64))
            .await?,
    ])
}

/// The outcome of `svna verify`.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub release: String,
    pub files_checked: usize,
    pub withheld_cells_checked: usize,
    /// Every problem found: a missing or changed file, or a withheld cell an outsider can
    /// recompute. Empty when the release verifies.
    pub problems: Vec<String>,
    /// Tables whose figures are rounded (policies nhs, round, midpoint6): checked against
    /// their checksums but not re-audited, since rounded totals need not add up.
    pub rounded_not_reaudited: Vec<String>,
    /// Withheld cells whose exact interval the outsider's audit could not settle within its
    /// limits (only a continuous relaxation, which is wide): neither shown safe nor unsafe
    /// by this check. The publisher's certificates are what prove them protected.
    pub unproven: Vec<String>,
}

/// Re-checks a release from its published files alone: the manifest, every file's SHA-256
/// and size, and an outsider's audit of every published table.
pub async fn verify_release(store: &Store, release: &str) -> Result<VerifyReport, PublishError> {
    check_name(NameKind::Release, release)?;
    if is_uncommitted(store, release).await? {
        return Err(PublishError::ReleaseNotCommitted {
            name: release.to_string(),
        });
    }
    let manifest: ReleaseManifest = store
        .get_json(&release_manifest_path(release), "a release manifest")
        .await?;
    let mut problems = Vec::new();
    let mut files_checked = 0;
    // Each file the manifest lists, with what it is, to name one whose entry is missing.
    let table_files = manifest.tables.iter().flat_map(|t| {
        [
            (format!("table `{}`'s Parquet file", t.name), &t.parquet),
            (format!("table `{}`'s CSV file", t.name), &t.csv),
        ]
    });
    let others = manifest
        .disclosure_report
        .iter()
        .map(|e| ("the disclosure report".to_string(), e))
        .chain(
            manifest
                .data_dictionary
                .iter()
                .map(|e| ("the data dictionary".to_string(), e)),
        )
        .chain(
            manifest
                .workbook
                .iter()
                .map(|e| ("the workbook".to_string(), e)),
        );
    for (what, entry) in table_files.chain(others) {
        files_checked += 1;
        if entry.path.is_empty() {
            // A manifest lacking an entry reads it as empty (see svna_records::release).
            problems.push(format!(
                "the manifest lists a file without a path: {what} is missing from it"
            ));
            continue;
        }
        match store.checksum(&entry.path).await {
            Ok(sum) if sum.sha256 == entry.sha256 && sum.size == entry.size => {}
            Ok(sum) => problems.push(format!(
                "{} has changed: SHA-256 {} (manifest {}), {} bytes (manifest {})",
                entry.path, sum.sha256, entry.sha256, sum.size, entry.size
            )),
            Err(e) => problems.push(format!("{}: {e}", entry.path)),
        }
    }
    let mut tables = Vec::new();
    for table in &manifest.tables {
        if let Ok(bytes) = store.get(&table.parquet.path).await {
            tables.push(OutputTable::from_published_parquet(
                &table.name,
                &table.disclosure,
                bytes,
            )?);
        }
    }
    let mut withheld_cells_checked = 0;
    let mut unproven = Vec::new();
    for (name, report) in crate::protect::outsider_audit(&tables)? {
        for cell in report.cells.iter().filter(|c| c.published.is_none()) {
            withheld_cells_checked += 1;
            if cell.pass {
                continue;
            }
            let high = cell.high.map_or("unbounded".into(), |h| h.to_string());
            let width = cell
                .high
                .map_or(u64::MAX, |h| h.saturating_sub(cell.low.unwrap_or(0)));
            // A relaxation interval contains the integer one: narrow, it proves the cell
            // recomputable; wide, it proves nothing either way.
            if cell.method == svna_disclosure::AuditMethod::Relaxation
                && width >= cell.required_width
            {
                unproven.push(format!("{name}: {}", cell.identity));
                continue;
            }
            problems.push(format!(
                "{name}: withheld cell {} can be recomputed from the release (it lies in [{}, {high}])",
                cell.identity,
                cell.low.unwrap_or(0)
            ));
        }
    }
    let mut rounded_not_reaudited = Vec::new();
    for table in &tables {
        if crate::protect::is_rounded(table) {
            rounded_not_reaudited.push(table.name.clone());
        }
    }
    Ok(VerifyReport {
        release: release.to_string(),
        files_checked,
        withheld_cells_checked,
        problems,
        rounded_not_reaudited,
        unproven,
    })
}

/// Writes the data dictionary (JSON, one entry per table; CSV, one row per column); returns
/// the files, the entries and the CSV (for the workbook).
async fn write_dictionary(
    store: &Store,
    staging: &mut Staging,
    record: &RunRecord,
) -> Result<(Vec<FileEntry>, Vec<TableEntry>, Bytes), PublishError> {
    let entries: Vec<TableEntry> = record
        .stages
        .iter()
        .filter(|s| s.sensitivity != Sensitivity::RowLevel)
        .filter_map(|s| {
            s.disclosure
                .as_ref()
                .map(|spec| table_entry(record, s, spec))
        })
        .collect();
    let json = Bytes::from(serde_json::to_vec_pretty(&entries).expect("dictionary serialises"));
    let csv_path = staging.final_path("data_dictionary.csv");
    let mut csv = CsvOut::new(csv_path.clone());
    csv.row([
        "table",
        "description",
        "measure",
        "disclosure",
        "sources",
        "definitions",
        "column",
        "role",
        "meaning",
    ])?;
    for entry in &entries {
        for column in &entry.columns {
            csv.row([
                entry.table.as_str(),
                &entry.description,
                &entry.measure,
                &entry.disclosure,
                &entry.sources.join("; "),
                &entry.definitions.join("; "),
                &column.column,
                column.role,
                &column.meaning,
            ])?;
        }
    }
    let rows = csv.rows() - 1;
    let csv = csv.finish()?;
    let files = vec![
        staging
            .put(
                store,
                "data_dictionary.json",
                json,
                Some(entries.len() as u64),
            )
            .await?,
        staging
            .put(store, "data_dictionary.csv", csv.clone(), Some(rows))
            .await?,
    ];
    Ok((files, entries, csv))
}
