//! The attacker's view of a release, and the report that proves protection.
//!
//! **Exact audit** (default): for every withheld cell, the attacker's feasible
//! interval `[low, high]` is computed by integer programming over everything
//! the release publishes, all tables together: every relation of the pooled
//! model, every published figure (or the band of true values behind a rounded
//! figure), non-negativity, integrality and — when the policy publishes zeros
//! — `≥ 1` for withheld non-empty cells. The problem splits exactly into
//! connected components of unknown cells (two unknowns are linked when they
//! share a relation; published figures are constants), so each min/max is
//! solved on its component only.
//!
//! **Certificate audit** (large single tables, see [`crate::secondary`]): each
//! primary cell carries two explicit alternative tables — the true table moved
//! up and down along verified zero-sum deviation patterns over withheld cells
//! only. Both alternatives are consistent with everything published, so the
//! attacker's exact interval *contains* the reported one: the reported
//! interval is an inner bound and the pass verdict is sound, but the true
//! attacker interval may be wider.

use serde::{Deserialize, Serialize};

use microlp::{ComparisonOp, OptimizationDirection, Problem};

use crate::error::{DisclosureError, Result};
use crate::model::Model;
use crate::policy::ValueClass;
use crate::primary::State;
use crate::table::Release;

/// Upper bound used for integer variables that are otherwise unbounded; an
/// optimum at or beyond it is reported as "unbounded".
const BIG: f64 = (1u64 << 30) as f64;

/// How an interval was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditMethod {
    /// Exact integer min/max over all published information.
    Exact,
    /// Inner bound from verified alternative tables (sound for pass/fail).
    Certificate,
}

/// Audit of one quantity of the release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellAudit {
    /// Identity, e.g. `sv_offences[district=X,month=2024-01]`.
    pub identity: String,
    /// Tables that show this quantity.
    pub tables: Vec<String>,
    /// Coordinates in the first table.
    pub coords: Vec<String>,
    /// Published, primary, secondary or partner.
    pub class: ValueClass,
    /// True value (internal audit only; `None` for partner cells).
    pub value: Option<u64>,
    /// Figure as published (`None` when withheld).
    pub published: Option<u64>,
    /// Attacker's lowest feasible value.
    pub low: Option<u64>,
    /// Attacker's highest feasible value (`None` = unbounded).
    pub high: Option<u64>,
    /// Required width `high − low` (protection level for primary cells, 1 for
    /// other withheld cells, 0 for published cells).
    pub required_width: u64,
    /// Whether the requirement holds (`true` for published cells).
    pub pass: bool,
}

/// The audit of a whole release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditReport {
    /// Every withheld cell meets its requirement.
    pub pass: bool,
    /// How intervals were computed.
    pub method: AuditMethod,
    /// Protection level required for primary cells.
    pub protection_level: u64,
    /// Counts per class.
    pub published: usize,
    /// Primary suppressions.
    pub primary: usize,
    /// Secondary suppressions.
    pub secondary: usize,
    /// Partner-suppressed cells.
    pub partner: usize,
    /// Number of withheld cells failing their requirement.
    pub failing: usize,
    /// One row per quantity, in identity order.
    pub cells: Vec<CellAudit>,
}

impl AuditReport {
    /// The audit row of a cell of a named table.
    pub fn cell(&self, table: &str, coords: &[&str]) -> Option<&CellAudit> {
        self.cells.iter().find(|c| {
            c.tables.iter().any(|t| t == table)
                && c.coords.len() == coords.len()
                && c.coords.iter().zip(coords).all(|(a, b)| a == b)
        })
    }

    /// CSV rendering (header + one row per cell) for the caller to write.
    pub fn to_csv(&self) -> String {
        fn q(s: &str) -> String {
            if s.contains([',', '"', '\n']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_string()
            }
        }
        fn o(v: Option<u64>) -> String {
            v.map(|x| x.to_string()).unwrap_or_default()
        }
        let mut s = String::from(
            "identity,tables,coords,class,value,published,low,high,required_width,pass\n",
        );
        for c in &self.cells {
            let class = match c.class {
                ValueClass::Published => "published",
                ValueClass::Primary => "primary",
                ValueClass::Secondary => "secondary",
                ValueClass::Partner => "partner",
            };
            s.push_str(&format!(
                "{},{},{},{},{},{},{},{},{},{}\n",
                q(&c.identity),
                q(&c.tables.join(";")),
                q(&c.coords.join("|")),
                class,
                o(c.value),
                o(c.published),
                o(c.low),
                o(c.high),
                c.required_width,
                c.pass
            ));
        }
        s
    }
}

/// Per-var interval result.
pub(crate) type Intervals = Vec<Option<(u64, Option<u64>)>>;

/// Is var `i` an unknown for the attacker?
fn unknown(st: &State, i: usize) -> bool {
    st.withheld(i) || st.interval[i].0 != st.interval[i].1
}

/// Connected components of unknown vars; returns (component id per var or
/// usize::MAX, list of components).
pub(crate) fn components(model: &Model, st: &State) -> (Vec<usize>, Vec<Vec<usize>>) {
    let n = model.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    for rel in &model.relations {
        let mut first = None;
        for v in std::iter::once(rel.total).chain(rel.parts.iter().copied()) {
            if unknown(st, v) {
                match first {
                    None => first = Some(v),
                    Some(f) => {
                        let (a, b) = (find(&mut parent, f), find(&mut parent, v));
                        if a != b {
                            parent[a.max(b)] = a.min(b);
                        }
                    }
                }
            }
        }
    }
    let mut comp_of = vec![usize::MAX; n];
    let mut comps: Vec<Vec<usize>> = Vec::new();
    let mut root_comp = std::collections::BTreeMap::new();
    for v in (0..n).filter(|&v| unknown(st, v)) {
        let r = find(&mut parent, v);
        let c = *root_comp.entry(r).or_insert_with(|| {
            comps.push(Vec::new());
            comps.len() - 1
        });
        comps[c].push(v);
        comp_of[v] = c;
    }
    (comp_of, comps)
}

/// Exact attacker intervals for every withheld var whose requirement is > 0.
pub(crate) fn exact_intervals(model: &Model, st: &State) -> Result<Intervals> {
    let (comp_of, comps) = components(model, st);
    let mut rels_of: Vec<Vec<usize>> = vec![Vec::new(); comps.len()];
    for (r, rel) in model.relations.iter().enumerate() {
        let first_unknown = std::iter::once(rel.total)
            .chain(rel.parts.iter().copied())
            .find(|&v| comp_of[v] != usize::MAX);
        if let Some(v) = first_unknown {
            rels_of[comp_of[v]].push(r);
        }
    }
    let mut out: Intervals = vec![None; model.len()];
    for (c, members) in comps.iter().enumerate() {
        if !members.iter().any(|&v| st.withheld(v)) {
            continue;
        }
        for &target in members.iter().filter(|&&v| st.withheld(v)) {
            let lo = solve_component(model, st, members, &rels_of[c], &comp_of, target, false)?;
            let hi = solve_component(model, st, members, &rels_of[c], &comp_of, target, true)?;
            let low = lo.map(|x| (x - 1e-6).ceil().max(0.0) as u64).unwrap_or(0);
            let high = hi.and_then(|x| {
                // Far above any real count: the cell is only bounded by the
                // artificial cap on other variables, i.e. unbounded.
                if x >= BIG / 2.0 {
                    None
                } else {
                    Some((x + 1e-6).floor().max(0.0) as u64)
                }
            });
            out[target] = Some((low, high));
        }
    }
    Ok(out)
}

/// Min or max of `target` over one component. `None` = unbounded.
fn solve_component(
    model: &Model,
    st: &State,
    members: &[usize],
    rels: &[usize],
    comp_of: &[usize],
    target: usize,
    maximize: bool,
) -> Result<Option<f64>> {
    let integer = members.len() <= 400;
    match solve_component_with(model, st, members, rels, comp_of, target, maximize, integer) {
        Ok(v) => Ok(v),
        Err(_) if integer => {
            solve_component_with(model, st, members, rels, comp_of, target, maximize, false)
        }
        Err(e) => Err(e),
    }
}

#[allow(clippy::too_many_arguments)]
fn solve_component_with(
    model: &Model,
    st: &State,
    members: &[usize],
    rels: &[usize],
    comp_of: &[usize],
    target: usize,
    maximize: bool,
    integer: bool,
) -> Result<Option<f64>> {
    let dir = if maximize {
        OptimizationDirection::Maximize
    } else {
        OptimizationDirection::Minimize
    };
    let mut pb = Problem::new(dir);
    let mut col = std::collections::BTreeMap::new();
    for &v in members {
        let (lo, hi) = if st.withheld(v) {
            (st.lb[v] as f64, if integer { BIG } else { f64::INFINITY })
        } else {
            (st.interval[v].0 as f64, st.interval[v].1 as f64)
        };
        let obj = if v == target { 1.0 } else { 0.0 };
        let var = if integer {
            pb.add_integer_var(obj, (lo as i32, hi as i32))
        } else {
            pb.add_var(obj, (lo, hi))
        };
        col.insert(v, var);
    }
    for &r in rels {
        let rel = &model.relations[r];
        let mut terms = Vec::new();
        let mut rhs = 0.0;
        let mut add = |v: usize, coef: f64, terms: &mut Vec<_>| {
            if comp_of[v] != usize::MAX {
                terms.push((col[&v], coef));
            } else {
                rhs -= coef * st.interval[v].0 as f64;
            }
        };
        add(rel.total, -1.0, &mut terms);
        for &p in &rel.parts {
            add(p, 1.0, &mut terms);
        }
        pb.add_constraint(terms.as_slice(), ComparisonOp::Eq, rhs);
    }
    match pb.solve() {
        Ok(outcome) => match outcome.into_solution() {
            Ok(sol) => Ok(Some(sol.objective())),
            Err(_) => Err(DisclosureError::Solver("audit solve interrupted".into())),
        },
        Err(microlp::Error::Unbounded) => Ok(None),
        Err(e) => Err(DisclosureError::Solver(format!(
            "audit of {}: {e}",
            model.vars[target].identity
        ))),
    }
}

/// Assemble the report from intervals.
pub(crate) fn report(
    release: &Release,
    model: &Model,
    st: &State,
    intervals: &Intervals,
    method: AuditMethod,
) -> AuditReport {
    let mut cells = Vec::with_capacity(model.len());
    let (mut npub, mut nprim, mut nsec, mut npart, mut failing) = (0, 0, 0, 0, 0);
    for (i, var) in model.vars.iter().enumerate() {
        let class = st.class[i];
        match class {
            ValueClass::Published => npub += 1,
            ValueClass::Primary => nprim += 1,
            ValueClass::Secondary => nsec += 1,
            ValueClass::Partner => npart += 1,
        }
        let (low, high, pass, published) = if class == ValueClass::Published {
            let (a, b) = st.interval[i];
            (Some(a), Some(b), true, st.figure[i])
        } else {
            match intervals[i] {
                Some((lo, hi)) => {
                    let width = hi.map(|h| h.saturating_sub(lo)).unwrap_or(u64::MAX);
                    (Some(lo), hi, width >= st.required[i], None)
                }
                None => (None, None, st.required[i] == 0, None),
            }
        };
        if !pass {
            failing += 1;
        }
        let mut tables: Vec<String> = var
            .occurrences
            .iter()
            .map(|o| release.tables[o.table].name.clone())
            .collect();
        tables.dedup();
        cells.push(CellAudit {
            identity: var.identity.to_string(),
            tables,
            coords: var.occurrences[0].coords.clone(),
            class,
            value: var.value.count(),
            published,
            low,
            high,
            required_width: st.required[i],
            pass,
        });
    }
    AuditReport {
        pass: failing == 0,
        method,
        protection_level: st.protection_level,
        published: npub,
        primary: nprim,
        secondary: nsec,
        partner: npart,
        failing,
        cells,
    }
}
