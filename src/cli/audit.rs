//! `svna audit`: a published table re-checked as an outsider: can any withheld `[c]` cell be
//! recomputed from the published ones?

use anyhow::Result;
use clap::Args;
use svna_disclosure::{AuditMethod, ProtectOptions, Release, audit};
use svna_publish::SUPPRESSED_MARKER;

use super::Outcome;
use super::output::render;
use super::protect::TableArgs;

#[derive(Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub table: TableArgs,
    #[arg(long)]
    pub json: bool,
}

/// What an outsider can do: take a published table, treat every `[c]` as unknown, and check
/// that no withheld cell can be recomputed from the published ones.
pub fn audit_table(args: AuditArgs) -> Result<Outcome> {
    let (_, table) = args.table.table(SUPPRESSED_MARKER)?;
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
    render(args.json, &report, |report| {
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
            let (low, high) = (
                cell.low.map_or("?".into(), |v| v.to_string()),
                cell.high.map_or("∞".into(), |v| v.to_string()),
            );
            if cell.method == AuditMethod::Relaxation {
                println!(
                    "  {} is not proven protected: only the relaxation was solved, which bounds it to [{low}, {high}]",
                    cell.identity
                );
            } else {
                println!(
                    "  {} is recoverable: it lies in [{low}, {high}]",
                    cell.identity
                );
            }
        }
    })?;
    Ok(if exposed.is_empty() {
        Outcome::Ok
    } else {
        Outcome::Finding
    })
}
