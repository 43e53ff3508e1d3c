//! `svna protect`: disclosure control for any table an analyst brings, as a CSV with one row
//! per cell including the total rows. [`TableArgs`] (the table and its policy) is shared
//! with `svna audit`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use svna_disclosure::table::Margin;
use svna_disclosure::{
    CsvRows, CsvSpec, Hierarchy, Policy, ProtectOptions, Release, Table, protect,
};
use svna_publish::SUPPRESSED_MARKER;

use super::Outcome;

#[derive(Args)]
pub struct TableArgs {
    /// The table: CSV with one row per cell, including total rows.
    #[arg(long)]
    pub input: PathBuf,
    /// The count column; every other column is a dimension.
    #[arg(long)]
    pub count: String,
    /// A dimension's margin (total code): DIM=CODE, or DIM=none for a dimension without
    /// one; a bare CODE declares it for every dimension not named. Repeatable. A margin not
    /// declared is found in the data: the code whose rows are the sum of the other codes'
    /// rows (Total, All, Any, … tried first); a dimension where none is found is refused.
    /// A declared margin that is not the sum of its parts is refused.
    #[arg(long = "total", value_name = "[DIM=]CODE")]
    pub totals: Vec<String>,
    /// A dimension's hierarchy: DIM=FILE, FILE a CSV with a two-column header (such as
    /// `child,parent`) and one child,parent row per code (the root's parent is the total
    /// code: the declared margin, or the one parent that is no child). Repeatable.
    #[arg(long = "hierarchy")]
    pub hierarchies: Vec<String>,
    /// threshold (with --k), nhs, round (with --base) or midpoint6.
    #[arg(long, default_value = "threshold")]
    pub policy: String,
    /// Minimum publishable count for the threshold policy (counts 1..k-1 are withheld).
    #[arg(long, default_value_t = 5)]
    pub k: u64,
    /// Rounding base for the round policy.
    #[arg(long, default_value_t = 5)]
    pub base: u64,
}

#[derive(Args)]
pub struct ProtectArgs {
    #[command(flatten)]
    pub table: TableArgs,
    /// Where to write the protected table (withheld cells as `[c]`).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Also write the full audit (JSON; it holds true values: keep it internal).
    #[arg(long)]
    pub report: Option<PathBuf>,
}

impl TableArgs {
    pub(super) fn policy(&self) -> Result<Policy> {
        Ok(match self.policy.as_str() {
            "threshold" => Policy::threshold(self.k),
            "nhs" => Policy::NhsSmallNumbers,
            "round" => Policy::Rounding { base: self.base },
            "midpoint6" => Policy::Midpoint6,
            other => bail!("unknown policy `{other}` (threshold, nhs, round, midpoint6)"),
        })
    }

    /// The declared margins: per dimension, and the default for the others.
    fn margins(&self) -> Result<(BTreeMap<String, Margin>, Option<Margin>)> {
        let mut per_dim = BTreeMap::new();
        let mut default = None;
        for total in &self.totals {
            match total.split_once('=') {
                Some((dim, code)) => {
                    let (dim, code) = (dim.trim(), code.trim());
                    if dim.is_empty() || code.is_empty() {
                        bail!("--total {total}: expected DIM=CODE, DIM=none or CODE");
                    }
                    if per_dim
                        .insert(dim.to_string(), Margin::parse(code))
                        .is_some()
                    {
                        bail!("--total: dimension `{dim}` declared twice");
                    }
                }
                None => {
                    if default.replace(Margin::parse(total.trim())).is_some() {
                        bail!("--total: more than one margin for every dimension (a bare CODE)");
                    }
                }
            }
        }
        Ok((per_dim, default))
    }

    /// Reads the table once: its rows as read, and the table they make, where cells marked
    /// `withheld_marker` are unknown to whoever reads it.
    pub(super) fn table(&self, withheld_marker: &str) -> Result<(CsvRows, Table)> {
        let text = std::fs::read_to_string(&self.input)
            .with_context(|| format!("cannot read {}", self.input.display()))?;
        let mut spec = CsvSpec::new(&self.count);
        (spec.totals, spec.default_total) = self.margins()?;
        spec.partner_markers = vec!["*".into(), withheld_marker.into()];
        for h in &self.hierarchies {
            let (dim, file) = h
                .split_once('=')
                .with_context(|| format!("--hierarchy {h}: expected DIM=FILE"))?;
            let pairs =
                hierarchy_pairs(Path::new(file)).with_context(|| format!("--hierarchy {h}"))?;
            let root = match spec.totals.get(dim).or(spec.default_total.as_ref()) {
                Some(Margin::Code(code)) => code.clone(),
                _ => hierarchy_root(&pairs).with_context(|| format!("--hierarchy {h}"))?,
            };
            spec.hierarchies
                .insert(dim.to_string(), Hierarchy::new(root, pairs));
        }
        let name = self
            .input
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("table")
            .to_string();
        let cannot = || format!("{} cannot be protected or audited", self.input.display());
        let csv = CsvRows::parse(&text).with_context(cannot)?;
        let table = Table::from_csv_rows(&name, &name, &csv, &spec).with_context(cannot)?;
        Ok((csv, table))
    }
}

/// A hierarchy file's (child, parent) pairs: a CSV whose header names two columns (such as
/// `child,parent`), then one row per code below the total.
fn hierarchy_pairs(file: &Path) -> Result<Vec<(String, String)>> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let csv = CsvRows::parse(&text).with_context(|| format!("{}", file.display()))?;
    if csv.header.len() != 2 {
        bail!(
            "{}: line 1 has {} column(s); a hierarchy file has two, child then parent, under a \
             header such as `child,parent`",
            file.display(),
            csv.header.len()
        );
    }
    Ok(csv
        .rows
        .into_iter()
        .map(|row| {
            let [child, parent]: [String; 2] = row.fields.try_into().expect("two fields");
            (child, parent)
        })
        .collect())
}

/// The total of a child,parent list: the one parent that is nobody's child.
fn hierarchy_root(pairs: &[(String, String)]) -> Result<String> {
    let children: std::collections::BTreeSet<&str> =
        pairs.iter().map(|(c, _)| c.as_str()).collect();
    let roots: std::collections::BTreeSet<&str> = pairs
        .iter()
        .map(|(_, p)| p.as_str())
        .filter(|p| !children.contains(p))
        .collect();
    match roots.into_iter().collect::<Vec<_>>().as_slice() {
        [root] => Ok(root.to_string()),
        [] => bail!("no total: every parent is also a child"),
        several => bail!(
            "several totals ({}): declare the dimension's margin with --total DIM=CODE",
            several.join(", ")
        ),
    }
}

pub fn protect_table(args: ProtectArgs) -> Result<Outcome> {
    let (csv, table) = args.table.table(SUPPRESSED_MARKER)?;
    let name = table.name.clone();
    let protection = protect(
        &Release::new(vec![table]),
        &ProtectOptions::new(args.table.policy()?),
    )?;
    let shown: BTreeMap<&[String], Option<u64>> = protection.tables[0]
        .cells
        .iter()
        .map(|(coords, outcome)| (coords.as_slice(), outcome.value()))
        .collect();
    let count = csv
        .header
        .iter()
        .position(|h| *h == args.table.count)
        .context("count column")?;
    let mut writer = csv::Writer::from_path(&args.output)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    writer.write_record(&csv.header)?;
    for row in &csv.rows {
        let coords: Vec<String> = row
            .fields
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != count)
            .map(|(_, v)| v.clone())
            .collect();
        // A cell missing from the outcomes is withheld: never publish what was not checked.
        let figure = shown
            .get(coords.as_slice())
            .copied()
            .flatten()
            .map_or_else(|| SUPPRESSED_MARKER.to_string(), |v| v.to_string());
        let fields = row
            .fields
            .iter()
            .enumerate()
            .map(|(i, v)| if i == count { figure.as_str() } else { v });
        writer.write_record(fields)?;
    }
    writer.flush()?;
    if let Some(path) = &args.report {
        std::fs::write(path, serde_json::to_vec_pretty(&protection.audit)?)?;
    }
    let audit = &protection.audit;
    println!(
        "{name}: {} cells published, {} primary and {} secondary suppressions; audit {} ({:?}); wrote {}",
        audit.published,
        audit.primary,
        audit.secondary,
        if audit.pass { "passed" } else { "FAILED" },
        audit.method,
        args.output.display()
    );
    Ok(if audit.pass {
        Outcome::Ok
    } else {
        Outcome::Finding
    })
}
