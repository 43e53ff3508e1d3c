//! `cargo run --release -p svna-synth --example synth -- DIR [SCALE] [SEED] [LOOKUP IMD]`:
//! writes the synthetic extracts and prints rows per dataset and the rate.

use std::path::PathBuf;
use std::time::Instant;

use svna_synth::{Geography, SynthConfig, write_to_dir};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = PathBuf::from(
        args.first()
            .ok_or("usage: synth DIR [SCALE] [SEED] [LOOKUP IMD]")?,
    );
    let mut cfg = SynthConfig::default();
    if let Some(scale) = args.get(1) {
        cfg.scale = scale.parse()?;
    }
    if let Some(seed) = args.get(2) {
        cfg.seed = seed.parse()?;
    }
    if let Some(lookup) = args.get(3) {
        cfg.geography = Geography::lincolnshire(lookup.into(), args.get(4).map(PathBuf::from));
    }
    let started = Instant::now();
    let summary = write_to_dir(&cfg, &dir, &mut |_, _| {})?;
    let secs = started.elapsed().as_secs_f64();
    for (name, rows) in &summary.rows {
        println!("{name:<26} {rows:>10}");
    }
    let total = summary.total_rows();
    println!(
        "{:<26} {total:>10}  in {secs:.2}s = {:.0} rows/s",
        "total",
        total as f64 / secs
    );
    Ok(())
}
