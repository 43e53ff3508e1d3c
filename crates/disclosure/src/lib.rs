//! Statistical disclosure control for svna outputs.
//!
//! Minimum-count suppression alone is not safe: when totals are published next
//! to their parts, a withheld small count can often be recomputed by
//! subtraction, and tables that share margins leak through each other. This
//! crate does the whole job and proves it:
//!
//! * [`policy`] — threshold, NHS small-numbers, base-b and midpoint-6 rounding,
//!   rates from protected counts ([`protected_rate`]);
//! * [`table`] — tables with hierarchical dimensions (and a CSV reader);
//! * [`model`] — pooled linear relations over all tables of a release, with
//!   shared cells identified by `(measure, non-total coordinates)`;
//! * [`primary`] — primary suppression and the attacker's prior knowledge;
//! * [`secondary`] — complementary suppression (exact MILP repair, or the
//!   certificate-checked hypercube method for large single tables);
//! * [`audit`] — the attacker's feasible interval for every withheld cell.
//!
//! Pure Rust, no I/O, deterministic (ordered maps only).
//!
//! ```
//! use svna_disclosure::*;
//!
//! let dims = vec![
//!     Dimension::new("district", Hierarchy::flat("Total", ["D1", "D2"])),
//!     Dimension::new("sex", Hierarchy::flat("All", ["F", "M"])),
//! ];
//! let mut t = Table::new("sv_by_district_sex", "sv_offences", dims);
//! for (d, s, n) in [("D1","F",2),("D1","M",30),("D1","All",32),("D2","F",25),("D2","M",40),
//!                   ("D2","All",65),("Total","F",27),("Total","M",70),("Total","All",97)] {
//!     t.insert_count([d, s], n).unwrap();
//! }
//! let out = protect(&Release::new(vec![t]), &ProtectOptions::new(Policy::threshold(5))).unwrap();
//! assert!(out.audit.pass);                       // every primary cell protected
//! assert_eq!(out.outcome("sv_by_district_sex", &["D1", "F"]),
//!            Some(CellOutcome::Withheld { class: ValueClass::Primary }));
//! assert_eq!(out.audit.secondary, 3);            // D1-M, D2-F, D2-M
//! let _json = out.audit.to_csv();                // or serde_json::to_string(&out.audit)
//! ```

pub mod audit;
pub mod error;
pub mod joint;
pub mod model;
pub mod policy;
pub mod primary;
pub mod rounding;
pub mod secondary;
pub mod table;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

pub use audit::{AuditDepth, AuditMethod, AuditReport, CellAudit};
pub use error::{DisclosureError, Result};
pub use joint::{JointInput, JointProtection, JointTable, LeftOut, Nested, protect_joint};
pub use model::Identity;
pub use policy::{CellOutcome, Policy, Primary, ValueClass, protected_rate};
pub use table::{CellValue, CsvRow, CsvRows, CsvSpec, Dimension, Hierarchy, Release, Table};

use model::Model;
use primary::State;

/// A cell named by table and coordinates (dimension order).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CellRef {
    /// Table name.
    pub table: String,
    /// Coordinates.
    pub coords: Vec<String>,
}

impl CellRef {
    /// Convenience constructor.
    pub fn new<S: Into<String>>(table: &str, coords: impl IntoIterator<Item = S>) -> Self {
        CellRef {
            table: table.into(),
            coords: coords.into_iter().map(Into::into).collect(),
        }
    }
}

/// Which secondary-suppression algorithm to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Exact when the release has at most `exact_limit` quantities (or the
    /// hypercube method does not apply), hypercube otherwise.
    #[default]
    Auto,
    /// Audit-driven MILP repair with exact audit (any linked tables).
    Exact,
    /// Hypercube with verified certificates (one complete table, no partner cells).
    Hypercube,
}

/// Options for [`protect`] and [`audit`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtectOptions {
    /// Publication policy.
    pub policy: Policy,
    /// Required attacker-interval width for primary cells (default: the
    /// policy's, `k` for thresholds).
    pub protection_level: Option<u64>,
    /// Algorithm.
    pub method: Method,
    /// Cells to withhold as primary regardless of value (e.g. a pattern
    /// inherited from an earlier release).
    pub forced: Vec<CellRef>,
    /// Cells that must stay published, e.g. figures an earlier release already made
    /// public: withholding them again hides nothing, so they are never chosen as
    /// secondary suppressions.
    pub fixed: Vec<CellRef>,
    /// Try to re-publish secondary cells after protection (exact method).
    pub prune: bool,
    /// Largest release (distinct quantities) handled by the exact method under
    /// `Auto` (default 400: the exact method re-audits with integer programs
    /// after every repair, which is seconds at a few hundred cells and far
    /// too slow at a few thousand). Releases the hypercube method cannot take
    /// (several tables, partner cells, incomplete grids) use the exact method
    /// whatever their size.
    pub exact_limit: usize,
}

impl Default for ProtectOptions {
    fn default() -> Self {
        ProtectOptions {
            policy: Policy::default(),
            protection_level: None,
            method: Method::Auto,
            forced: Vec::new(),
            fixed: Vec::new(),
            prune: true,
            exact_limit: 400,
        }
    }
}

impl ProtectOptions {
    /// Options for a policy, defaults otherwise.
    pub fn new(policy: Policy) -> Self {
        ProtectOptions {
            policy,
            ..Default::default()
        }
    }
}

/// Outcome of one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtectedTable {
    /// Table name.
    pub name: String,
    /// Dimension names.
    pub dims: Vec<String>,
    /// One entry per input cell, in coordinate order.
    pub cells: Vec<(Vec<String>, CellOutcome)>,
}

impl ProtectedTable {
    /// Outcome of one cell.
    pub fn outcome(&self, coords: &[&str]) -> Option<CellOutcome> {
        self.cells
            .iter()
            .find(|(c, _)| c.len() == coords.len() && c.iter().zip(coords).all(|(a, b)| a == b))
            .map(|(_, o)| *o)
    }
}

/// Result of [`protect`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Protection {
    /// Per-table outcomes, in release order.
    pub tables: Vec<ProtectedTable>,
    /// The audit proving (or refuting) protection.
    pub audit: AuditReport,
}

impl Protection {
    /// Outcome of one cell of a named table.
    pub fn outcome(&self, table: &str, coords: &[&str]) -> Option<CellOutcome> {
        self.tables
            .iter()
            .find(|t| t.name == table)?
            .outcome(coords)
    }

    /// All withheld cells with their class, in table then coordinate order.
    pub fn withheld(&self) -> Vec<(CellRef, ValueClass)> {
        self.tables
            .iter()
            .flat_map(|t| {
                t.cells.iter().filter_map(move |(c, o)| match o {
                    CellOutcome::Withheld { class } => Some((
                        CellRef {
                            table: t.name.clone(),
                            coords: c.clone(),
                        },
                        *class,
                    )),
                    CellOutcome::Published { .. } => None,
                })
            })
            .collect()
    }
}

fn outcomes(release: &Release, model: &Model, st: &State) -> Vec<ProtectedTable> {
    release
        .tables
        .iter()
        .enumerate()
        .map(|(ti, t)| ProtectedTable {
            name: t.name.clone(),
            dims: t.dims.iter().map(|d| d.name.clone()).collect(),
            cells: model.cell_var[ti]
                .iter()
                .map(|(c, &v)| {
                    let o = match (st.class[v], st.figure[v]) {
                        (ValueClass::Published, Some(value)) => CellOutcome::Published { value },
                        (ValueClass::Published, None) => CellOutcome::Withheld {
                            class: ValueClass::Partner,
                        },
                        (class, _) => CellOutcome::Withheld { class },
                    };
                    (c.clone(), o)
                })
                .collect(),
        })
        .collect()
}

/// Protect a release: primary suppression by policy, secondary suppression
/// jointly over all tables, then the audit.
pub fn protect(release: &Release, opts: &ProtectOptions) -> Result<Protection> {
    let model = Model::build(release)?;
    let forced = primary::resolve_forced(release, &model, &opts.forced)?;
    let mut st = primary::initial_state(&model, opts, &forced)?;
    for v in primary::resolve_forced(release, &model, &opts.fixed)? {
        st.candidate[v] = false;
    }
    let use_hypercube = match opts.method {
        Method::Exact => false,
        Method::Hypercube => {
            if !secondary::hypercube_applicable(&model) {
                return Err(DisclosureError::InvalidOption(
                    "hypercube method needs one complete table without partner cells".into(),
                ));
            }
            true
        }
        Method::Auto => model.len() > opts.exact_limit && secondary::hypercube_applicable(&model),
    };
    let (iv, method) = if use_hypercube {
        (
            secondary::hypercube(&model, &mut st)?,
            AuditMethod::Certificate,
        )
    } else {
        (
            secondary::exact(&model, &mut st, opts.prune)?,
            AuditMethod::Exact,
        )
    };
    let audit = audit::report(release, &model, &st, &iv, method);
    Ok(Protection {
        tables: outcomes(release, &model, &st),
        audit,
    })
}

/// Audit a given suppression pattern exactly: cells the policy marks unsafe
/// (plus `opts.forced`) are primary, other cells in `withheld` are secondary,
/// partner cells stay partner. Intervals are exact integer min/max over all
/// tables of the release together.
pub fn audit(
    release: &Release,
    opts: &ProtectOptions,
    withheld: &[CellRef],
) -> Result<AuditReport> {
    audit_to(release, opts, withheld, AuditDepth::Exact)
}

/// [`audit`] to each cell's verdict only ([`AuditDepth::Verdict`]): the same cells pass and
/// fail, but a withheld cell that feasible tables found along the way already show wide
/// enough is not solved further; its interval is that range, an inner bound labelled
/// [`AuditMethod::Certificate`]. For an outsider's check of a whole release, where only the
/// verdicts matter and exact intervals of every safe cell cost two integer programs each.
pub fn audit_verdicts(
    release: &Release,
    opts: &ProtectOptions,
    withheld: &[CellRef],
) -> Result<AuditReport> {
    audit_to(release, opts, withheld, AuditDepth::Verdict)
}

fn audit_to(
    release: &Release,
    opts: &ProtectOptions,
    withheld: &[CellRef],
    depth: AuditDepth,
) -> Result<AuditReport> {
    let model = Model::build(release)?;
    let forced = primary::resolve_forced(release, &model, &opts.forced)?;
    let mut st = primary::initial_state(&model, opts, &forced)?;
    let extra: BTreeSet<usize> = primary::resolve_forced(release, &model, withheld)?;
    for v in extra {
        if st.class[v] == ValueClass::Published {
            st.set_class(v, ValueClass::Secondary);
        }
    }
    let iv = audit::intervals_to(&model, &st, depth)?;
    Ok(audit::report(release, &model, &st, &iv, AuditMethod::Exact))
}
