//! `svna contracts`: the data contracts, or one dataset's columns and rules.

use anyhow::Result;
use clap::Args;
use svna_contracts::{Contracts, Dataset, v1};

use super::Outcome;
use super::output::{print_table, render};

#[derive(Args)]
pub struct ContractsArgs {
    /// Show this dataset's columns.
    pub dataset: Option<String>,
    /// Machine-readable output: the contracts (`version`, `oldest_accepted`, `dataset`: every
    /// dataset), or the one dataset with its columns and rules.
    #[arg(long)]
    pub json: bool,
}

pub fn contracts(args: ContractsArgs) -> Result<Outcome> {
    let contracts = v1();
    match args.dataset {
        None => render(args.json, contracts, print_contracts)?,
        Some(name) => render(args.json, contracts.dataset(&name)?, print_dataset)?,
    }
    Ok(Outcome::Ok)
}

fn print_contracts(contracts: &Contracts) {
    println!("Data contracts, version {}", contracts.version);
    let rows: Vec<Vec<String>> = contracts
        .datasets
        .iter()
        .map(|d| {
            vec![
                d.name.clone(),
                format!("{:?}", d.kind),
                d.partner.clone(),
                d.description.clone(),
            ]
        })
        .collect();
    print_table(&["dataset", "kind", "from", "description"], &rows);
}

fn print_dataset(d: &Dataset) {
    println!(
        "{} ({:?}, from {}): {}",
        d.name, d.kind, d.partner, d.description
    );
    let rows: Vec<Vec<String>> = d
        .columns
        .iter()
        .map(|c| {
            let mut rule = format!("{:?}", c.ty).to_lowercase();
            if !c.values.is_empty() {
                rule = format!("one of {}", c.values.join(", "));
            }
            if c.min.is_some() || c.max.is_some() {
                rule = format!(
                    "{rule} {}..={}",
                    c.min.map_or(String::new(), |v| v.to_string()),
                    c.max.map_or(String::new(), |v| v.to_string())
                );
            }
            vec![
                c.name.clone(),
                if c.required {
                    "yes".into()
                } else {
                    "no".into()
                },
                rule,
                c.description.clone(),
            ]
        })
        .collect();
    print_table(&["column", "required", "rule", "notes"], &rows);
}
