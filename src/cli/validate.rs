//! `svna validate`: extracts checked against their data contract on the partner's machine.
//! The checks are `svna_intake::check_files`, which `svna upload` runs too.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use svna_contracts::v1;
use svna_intake::{FileCheck, FileCheckReport, check_files};

use super::Outcome;
use super::output::render;

#[derive(Args)]
pub struct ValidateArgs {
    /// Contract dataset the files claim to be (see `svna contracts`).
    #[arg(long)]
    pub dataset: String,
    /// CSV files to check.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Problems listed per rule before only counting them.
    #[arg(long, default_value_t = 10)]
    pub max_per_rule: usize,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

pub fn validate(args: ValidateArgs) -> Result<Outcome> {
    let dataset = v1().dataset(&args.dataset)?;
    let checks = check_files(dataset, &args.files)?;
    let reports: Vec<FileCheckReport> =
        checks.iter().map(|c| c.report(args.max_per_rule)).collect();
    render(args.json, &reports, |_| {
        checks
            .iter()
            .for_each(|c| print_check(c, args.max_per_rule))
    })?;
    Ok(if checks.iter().all(FileCheck::valid) {
        Outcome::Ok
    } else {
        Outcome::Finding
    })
}

/// One file's check as text: valid, refused whole, or its problems (at most `per_rule`
/// listed per column and rule, the rest counted).
pub fn print_check(check: &FileCheck, per_rule: usize) {
    let file = &check.file;
    if let Some(reason) = &check.refused {
        println!("{file}: REFUSED: {reason}");
        return;
    }
    let counts = check
        .counts
        .as_ref()
        .expect("counts exist when not refused");
    if check.rejects.is_empty() {
        println!("{file}: valid ({} rows)", counts.received);
        return;
    }
    println!(
        "{file}: {} of {} rows invalid",
        counts.rejected, counts.received
    );
    for r in check.listed(per_rule) {
        println!(
            "  {file}:{}: column `{}`: {} [{}]",
            r.line, r.column, r.message, r.rule
        );
    }
    for (rule, n) in check.problems_by_rule() {
        if n > per_rule {
            println!("  ... {rule}: {n} problems in all");
        }
    }
}
