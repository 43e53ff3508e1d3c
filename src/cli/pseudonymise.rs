//! `svna pseudonymise`: identifier columns replaced by keyed tokens.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use super::Outcome;
use super::validate::{ValidateArgs, validate};

#[derive(Args)]
pub struct PseudonymiseArgs {
    /// Partnership linkage key file (from `svna keygen`).
    #[arg(long)]
    pub key: PathBuf,
    /// Contract dataset the output must conform to (checked after tokenising).
    #[arg(long)]
    pub dataset: Option<String>,
    /// SRC=DEST[:KIND[:DOMAIN]]: replace column SRC by tokens in column DEST. KIND: nhs, pnc,
    /// local (default). DOMAIN: person (default) or offence. Repeatable.
    #[arg(long = "token", required_unless_present = "match_keys")]
    pub tokens: Vec<String>,
    /// IDENTIFIER=COLUMN,…: the columns holding a person's identifiers, for match keys
    /// (contract version 2). IDENTIFIER: nhs, pnc, upn, forename, surname, dob, sex, postcode.
    /// Writes one `mk_*` token column per key the mapped identifiers make (empty where a
    /// record lacks an input) and drops the mapped columns, e.g.
    /// `forename=FirstName,surname=LastName,dob=DOB,sex=Sex,postcode=Postcode,nhs=NHSNumber`.
    #[arg(long = "match-keys")]
    pub match_keys: Option<String>,
    /// Input CSV with identifiers in clear.
    pub input: PathBuf,
    /// Output CSV (written atomically).
    #[arg(short, long)]
    pub output: PathBuf,
}

pub fn pseudonymise(args: PseudonymiseArgs) -> Result<Outcome> {
    let key = svna_pseudonymise::load_key(&args.key)?;
    let specs = args
        .tokens
        .iter()
        .map(|t| {
            t.parse::<svna_pseudonymise::TokenSpec>()
                .with_context(|| format!("--token {t}"))
        })
        .collect::<Result<Vec<_>>>()?;
    let match_keys = args
        .match_keys
        .as_deref()
        .map(|m| {
            m.parse::<svna_pseudonymise::MatchKeySpec>()
                .with_context(|| format!("--match-keys {m}"))
        })
        .transpose()?;
    let options = svna_pseudonymise::Options {
        match_keys,
        ..Default::default()
    };
    // Errors name the file, line and column, never a value.
    let stats =
        svna_pseudonymise::pseudonymise_file(&args.input, &args.output, &key, &specs, &options)
            .with_context(|| format!("pseudonymising {}", args.input.display()))?;
    println!(
        "Pseudonymised {} rows ({} tokens, {} match-key tokens) into {}",
        stats.rows,
        stats.tokens,
        stats.match_keys,
        args.output.display()
    );
    if let Some(dataset) = args.dataset {
        return validate(ValidateArgs {
            dataset,
            files: vec![args.output],
            max_per_rule: 10,
            json: false,
        });
    }
    Ok(Outcome::Ok)
}
