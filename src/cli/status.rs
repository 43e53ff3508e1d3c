//! `svna status`: every delivery and load as runs read them.

use anyhow::Result;
use svna_contracts::v1;
use svna_storage::Store;

use super::Outcome;
use super::args::StoreArgs;
use super::output::{print_table, render};

pub async fn status(args: StoreArgs) -> Result<Outcome> {
    let store = Store::open(&args.store)?.restricted_to(&[]);
    let lines = svna_intake::delivery_status(&store, v1()).await?;
    render(args.json, lines.as_slice(), print_status)?;
    Ok(Outcome::Ok)
}

fn print_status(lines: &[svna_intake::DeliveryStatus]) {
    let rows: Vec<Vec<String>> = lines
        .iter()
        .map(|l| {
            vec![
                l.partner.clone(),
                l.dataset.clone(),
                l.period.clone(),
                l.kind.clone(),
                l.upload_id.clone(),
                l.state.clone(),
                l.rows_received.to_string(),
                l.rows_staged.to_string(),
                l.rows_rejected.to_string(),
                l.reason.clone().unwrap_or_default(),
                l.linkage.clone().unwrap_or_default(),
            ]
        })
        .collect();
    print_table(
        &[
            "partner", "dataset", "period", "kind", "id", "state", "received", "staged",
            "rejected", "reason", "linkage",
        ],
        &rows,
    );
}
