//! `svna keygen`: a new partnership linkage key.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::Outcome;

#[derive(Args)]
pub struct KeygenArgs {
    /// Where to write the key (must not exist; created owner-only).
    #[arg(long)]
    pub out: PathBuf,
}

pub fn keygen(args: KeygenArgs) -> Result<Outcome> {
    let key = svna_pseudonymise::generate_key_file(&args.out)?;
    println!("Wrote a new linkage key to {}", args.out.display());
    println!("fingerprint: {}", svna_pseudonymise::fingerprint(&key));
    println!(
        "Share the key only with partners, never with the hub; share the fingerprint with anyone."
    );
    Ok(Outcome::Ok)
}
