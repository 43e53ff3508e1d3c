//! `svna key`: linkage-key tools (fingerprint, register).

use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;
use svna_storage::{Store, Zone};

use super::Outcome;

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Print a key's fingerprint (one-way; equal keys give equal fingerprints).
    Fingerprint {
        /// Key file.
        file: PathBuf,
    },
    /// Coordinator: register the partnership key's fingerprint in the store. Intake takes in
    /// person-level data only when it declares this fingerprint.
    Register {
        /// Store (directory path or URL).
        #[arg(long)]
        store: String,
        /// The fingerprint, 16 lowercase hex characters (`svna key fingerprint KEYFILE`).
        #[arg(long)]
        fingerprint: String,
        /// Replace a different fingerprint registered before (a key rotation).
        #[arg(long)]
        replace: bool,
    },
}

pub async fn key(command: KeyCommand) -> Result<Outcome> {
    match command {
        KeyCommand::Register {
            store,
            fingerprint,
            replace,
        } => {
            let store = Store::open(&store)?.restricted_to(&[Zone::Staged]);
            match svna_intake::register_key(&store, &fingerprint, replace).await? {
                svna_intake::KeyRegistered::New => {
                    println!("Registered the partnership's key fingerprint {fingerprint}")
                }
                svna_intake::KeyRegistered::Unchanged => {
                    println!("The partnership's key fingerprint is already {fingerprint}")
                }
                svna_intake::KeyRegistered::Replaced { previous } => println!(
                    "Registered the partnership's key fingerprint {fingerprint} (replaces {previous}; deliveries already staged are unchanged)"
                ),
            }
            Ok(Outcome::Ok)
        }
        KeyCommand::Fingerprint { file } => {
            let key = svna_pseudonymise::load_key(&file)?;
            if let Some(mode) = svna_pseudonymise::insecure_permissions(&file)? {
                eprintln!(
                    "warning: {} is readable by others (mode {mode:o}); run chmod 600",
                    file.display()
                );
            }
            println!("{}", svna_pseudonymise::fingerprint(&key));
            Ok(Outcome::Ok)
        }
    }
}
