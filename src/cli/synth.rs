//! `svna synth`: synthetic, contract-conforming partner extracts.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use super::Outcome;
use super::output::{Progress, print_table, render};

/// What synthetic county to make: `svna synth` writes it, `svna demo` runs the flow on it.
#[derive(Args, Clone)]
pub struct SynthData {
    /// Random seed: the same seed gives byte-identical files.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Volume: 1 is about one county over five years (~1M rows in all).
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Real ONS LSOA->ward->district lookup CSV; without it a county is invented.
    #[arg(long)]
    pub lookup: Option<PathBuf>,
    /// Real IMD 2019 rank CSV (with --lookup).
    #[arg(long)]
    pub imd: Option<PathBuf>,
    /// How unevenly violence falls across the county: 0 (default) today's county; 1-3 a
    /// dense city with sparse rural districts (mostly small counts).
    #[arg(long, default_value_t = 0.0)]
    pub skew: f64,
}

impl SynthData {
    /// The generator's configuration for `years` years from `start_year`.
    pub fn config(&self, start_year: i32, years: u32) -> svna_synth::SynthConfig {
        let geography = match &self.lookup {
            Some(lookup) => svna_synth::Geography::lincolnshire(lookup.clone(), self.imd.clone()),
            None => svna_synth::Geography::Invented,
        };
        svna_synth::SynthConfig {
            seed: self.seed,
            scale: self.scale,
            start_year,
            years,
            geography,
            skew: self.skew,
        }
    }
}

#[derive(Args)]
pub struct SynthArgs {
    /// Directory to write `<dataset>.csv` files into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub data: SynthData,
    /// First year of the period.
    #[arg(long, default_value_t = 2019)]
    pub start_year: i32,
    /// Number of years.
    #[arg(long, default_value_t = 5)]
    pub years: u32,
    /// Machine-readable output: `rows`, the data rows written per dataset.
    #[arg(long)]
    pub json: bool,
}

pub fn synth(args: SynthArgs) -> Result<Outcome> {
    let progress = Progress::new(false);
    let summary = svna_synth::write_to_dir(
        &args.data.config(args.start_year, args.years),
        &args.out,
        &mut |dataset, rows| progress.step(&format!("synth: {dataset} {rows} rows")),
    )
    .with_context(|| format!("writing synthetic extracts to {}", args.out.display()))?;
    progress.finish();
    render(args.json, &summary, |summary| {
        let rows: Vec<Vec<String>> = summary
            .rows
            .iter()
            .map(|(d, n)| vec![d.clone(), n.to_string()])
            .collect();
        println!("Wrote synthetic extracts to {}", args.out.display());
        print_table(&["dataset", "rows"], &rows);
    })?;
    Ok(Outcome::Ok)
}
