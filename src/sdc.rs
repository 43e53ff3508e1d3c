//! `svna protect` and `svna audit`: disclosure control for any table an analyst brings, as a
//! CSV with one row per cell including the total rows.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use svna_disclosure::{CsvSpec, Hierarchy, Policy, ProtectOptions, Release, Table, audit, protect};

use crate::Outcome;

#[derive(Args)]
pub struct TableArgs {
    /// The table: CSV with one row per cell, including total rows.
    #[arg(long)]
    pub input: PathBuf,
    /// The count column; every other column is a dimension.
    #[arg(long)]
    pub count: String,
    /// The code that marks a total (margin) in every dimension.
    #[arg(long, default_value = "Total")]
    pub total: String,
    /// A dimension's hierarchy: DIM=FILE, FILE a CSV of child,parent rows (the root's parent
    /// is the total code). Repeatable.
    #[arg(long = "hierarchy")]
    pub hierarchies: Vec<String>,
    /// threshold (with --k), nhs, round (with --base) or midpoint6.
    #[arg(long, default_value = "threshold")]
    pub policy: String,
    /// Minimum publishable count for the threshold policy (counts 1..k-1 are withheld).
    #[arg(long, default_value_t = 5)]
    pub k: u64,
    /// Rounding base for the round policy.
    #[arg(long, default_value_t = 5)]
    pub base: u64,
}

#[derive(Args)]
pub struct ProtectArgs {
    #[command(flatten)]
    pub table: TableArgs,
    /// Where to write the protected table (withheld cells as `[c]`).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Also write the full audit (JSON; it holds true values: keep it internal).
    #[arg(long)]
    pub report: Option<PathBuf>,
}

#[derive(Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub table: TableArgs,
    #[arg(long)]
    pub json: bool,
}

impl TableArgs {
    fn policy(&self) -> Result<Policy> {
        Ok(match self.policy.as_str() {
            "threshold" => Policy::threshold(self.k),
            "nhs" => Policy::NhsSmallNumbers,
            "round" => Policy::Rounding { base: self.base },
            "midpoint6" => Policy::Midpoint6,
            other => bail!("unknown policy `{other}` (threshold, nhs, round, midpoint6)"),
        })
    }

    /// Reads the table; cells marked `withheld_marker` are unknown to whoever reads it.
    fn table(&self, withheld_marker: &str) -> Result<(String, Table)> {
        let text = std::fs::read_to_string(&self.input)
            .with_context(|| format!("cannot read {}", self.input.display()))?;
        let mut spec = CsvSpec::new(&self.count);
        spec.default_total = self.total.clone();
        spec.partner_markers = vec!["*".into(), withheld_marker.into()];
        for h in &self.hierarchies {
            let (dim, file) = h
                .split_once('=')
                .with_context(|| format!("--hierarchy {h}: expected DIM=FILE"))?;
            let mut reader =
                csv::Reader::from_path(file).with_context(|| format!("cannot read {file}"))?;
            let pairs = reader
                .records()
                .map(|r| r.map(|r| (r[0].to_string(), r[1].to_string())))
                .collect::<Result<Vec<_>, _>>()
                .with_context(|| format!("{file}: expected child,parent rows"))?;
            spec.hierarchies
                .insert(dim.to_string(), Hierarchy::new(self.total.clone(), pairs));
        }
        let name = self
            .input
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("table")
            .to_string();
        let table = Table::from_csv(&name, &name, &text, &spec)?;
        Ok((text, table))
    }
}

pub fn protect_table(args: ProtectArgs) -> Result<Outcome> {
    let (text, table) = args.table.table("[c]")?;
    let name = table.name.clone();
    let protection = protect(
        &Release::new(vec![table]),
        &ProtectOptions::new(args.table.policy()?),
    )?;
    let outcomes = &protection.tables[0];
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers()?.clone();
    let count = header
        .iter()
        .position(|h| h == args.table.count)
        .context("count column")?;
    let mut writer = csv::Writer::from_path(&args.output)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    writer.write_record(&header)?;
    for record in reader.records() {
        let record = record?;
        let coords: Vec<&str> = record
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != count)
            .map(|(_, v)| v)
            .collect();
        let shown = outcomes
            .outcome(&coords)
            .and_then(|o| o.value())
            .map_or_else(|| "[c]".to_string(), |v| v.to_string());
        let row: Vec<String> = record
            .iter()
            .enumerate()
            .map(|(i, v)| {
                if i == count {
                    shown.clone()
                } else {
                    v.to_string()
                }
            })
            .collect();
        writer.write_record(&row)?;
    }
    writer.flush()?;
    if let Some(path) = &args.report {
        std::fs::write(path, serde_json::to_vec_pretty(&protection.audit)?)?;
    }
    let audit = &protection.audit;
    println!(
        "{name}: {} cells published, {} primary and {} secondary suppressions; audit {} ({:?}); wrote {}",
        audit.published,
        audit.primary,
        audit.secondary,
        if audit.pass { "passed" } else { "FAILED" },
        audit.method,
        args.output.display()
    );
    Ok(if audit.pass {
        Outcome::Ok
    } else {
        Outcome::Finding
    })
}

/// What an outsider can do: take a published table, treat every `[c]` as unknown, and check
/// that no withheld cell can be recomputed from the published ones.
pub fn audit_table(args: AuditArgs) -> Result<Outcome> {
    let (_, table) = args.table.table("[c]")?;
    let report = audit(
        &Release::new(vec![table]),
        &ProtectOptions::new(args.table.policy()?),
        &[],
    )?;
    let exposed: Vec<_> = report
        .cells
        .iter()
        .filter(|c| c.published.is_none() && !c.pass)
        .collect();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let withheld = report
            .cells
            .iter()
            .filter(|c| c.published.is_none())
            .count();
        println!(
            "{withheld} withheld cells checked; {} recoverable from the published ones",
            exposed.len()
        );
        for cell in &exposed {
            println!(
                "  {} is recoverable: it lies in [{}, {}]",
                cell.identity,
                cell.low.map_or("?".into(), |v| v.to_string()),
                cell.high.map_or("∞".into(), |v| v.to_string())
            );
        }
    }
    Ok(if exposed.is_empty() {
        Outcome::Ok
    } else {
        Outcome::Finding
    })
}
