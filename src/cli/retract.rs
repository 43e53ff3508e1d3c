//! `svna retract`: a delivery or load taken back, on the record.

use anyhow::{Result, bail};
use clap::Args;
use svna_contracts::v1;
use svna_storage::{Store, Zone};

use super::Outcome;
use super::output::render;

#[derive(Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["delivery", "load"])))]
pub struct RetractArgs {
    /// Store (directory path or URL).
    #[arg(long)]
    pub store: String,
    /// Upload id of a delivery (`svna status` lists them): all its files.
    #[arg(long)]
    pub delivery: Option<String>,
    /// Load id of a `svna load` (`svna status` lists them).
    #[arg(long)]
    pub load: Option<String>,
    /// Why, kept in the staged manifest with the time.
    #[arg(long)]
    pub reason: String,
    /// Machine-readable output: each load retracted (dataset, load id, already retracted).
    #[arg(long)]
    pub json: bool,
}

pub async fn retract(args: RetractArgs) -> Result<Outcome> {
    let store = Store::open(&args.store)?.restricted_to(&[Zone::Staged]);
    let target = match (args.delivery, args.load) {
        (Some(id), None) => svna_intake::RetractTarget::Delivery(id),
        (None, Some(id)) => svna_intake::RetractTarget::Load(id),
        _ => bail!("give exactly one of --delivery and --load"),
    };
    let retracted = svna_intake::retract(&store, v1(), &target, &args.reason).await?;
    render(args.json, retracted.as_slice(), |retracted| {
        for r in retracted {
            if r.already {
                println!(
                    "{} / {}: already retracted (the earlier record is kept)",
                    r.dataset, r.load_id
                );
            } else {
                println!(
                    "{} / {}: retracted; its files are kept, runs no longer read it",
                    r.dataset, r.load_id
                );
            }
        }
    })?;
    Ok(Outcome::Ok)
}
