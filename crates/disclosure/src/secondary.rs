//! Secondary suppression: withhold the fewest, smallest extra cells so that no
//! withheld cell can be recomputed and every primary cell's attacker interval
//! is at least the protection level wide — jointly over all tables.
//!
//! Two algorithms, chosen by [`crate::Method`]:
//!
//! **Exact (audit-driven MILP repair)** — for releases up to a few thousand
//! quantities, any number of linked tables:
//! 1. audit exactly (integer min/max per withheld cell, see [`crate::audit`]);
//! 2. take the first failing cell (primary cells first, identity order) with
//!    interval `[lo, hi]` and width requirement `w`; solve two small MILPs
//!    over the whole pooled model: "find an alternative table that agrees with
//!    every still-published figure except on newly withheld cells, with the
//!    cell at ≥ lo + w" (resp. ≤ hi − w), minimising the cost of the newly
//!    withheld cells (binary per candidate, big-M link). The cheaper direction
//!    wins; its newly withheld cells become secondary suppressions. The
//!    alternative table is a witness, so the repaired interval is wide enough;
//! 3. repeat until the audit passes;
//! 4. prune: try to re-publish each secondary cell, most expensive first, and
//!    keep it published if the exact audit still passes ("never suppress more
//!    than needed").
//!
//! Cost is frequency-first: each new cell costs `1 + value / (Σ values + 1)`,
//! so the number of cells dominates and the withheld total breaks ties.
//!
//! **Hypercube with certificates** — for one large, complete hierarchical
//! table (every combination of present codes is a cell). For a primary cell
//! with codes `c_d`, pick in each dimension a sibling `s_d` (same parent),
//! descend from `c_d` and `s_d` to a leaf, and move the leaf cells by `±t`
//! with the product of signs (+ on the `c` side, − on the `s` side). Every
//! aggregate containing both branches cancels, so all cells outside the
//! product of the two descent chains are unchanged: a zero-sum deviation
//! whose support (≤ 2ⁿ·depth cells) is withheld. Among all sibling choices the
//! cheapest valid support is taken (valid = the moved cells stay ≥ their
//! lower bound for a total movement of at least the protection level). If no
//! sibling pattern is valid (sparse data: zeros, which the attacker knows are
//! never withheld, or small neighbours), a dimension may instead move the cell
//! *with all its ancestors* ("up"): this withholds margins, up to the grand
//! total, but always exists for a non-zero cell. The
//! two moved tables are *certificates*: they are checked against every
//! relation of the model and give a sound inner bound of the attacker's
//! interval. This is the classic hypercube heuristic (it over-suppresses
//! compared to the exact method), made sound by construction and verification.

use std::collections::BTreeMap;

use microlp::{ComparisonOp, OptimizationDirection, Problem, SolveOptions};

use crate::audit::{self, Intervals};
use crate::error::{DisclosureError, Result};
use crate::model::Model;
use crate::policy::ValueClass;
use crate::primary::State;

/// Frequency-first cost of withholding var `i`.
fn costs(model: &Model, st: &State) -> Vec<f64> {
    let total: f64 = model
        .vars
        .iter()
        .filter_map(|v| v.value.count())
        .map(|x| x as f64)
        .sum::<f64>()
        + 1.0;
    model
        .vars
        .iter()
        .enumerate()
        .map(|(i, v)| {
            if st.withheld(i) {
                0.0
            } else {
                1.0 + v.value.count().unwrap_or(0) as f64 / total
            }
        })
        .collect()
}

/// Withheld vars failing their requirement, primaries first, then identity order.
pub(crate) fn failing(st: &State, iv: &Intervals) -> Vec<usize> {
    let mut f: Vec<usize> = (0..st.class.len())
        .filter(|&i| st.withheld(i) && st.required[i] > 0)
        .filter(|&i| match iv[i] {
            Some((lo, Some(hi))) => hi.saturating_sub(lo) < st.required[i],
            Some((_, None)) => false,
            None => true,
        })
        .collect();
    f.sort_by_key(|&i| (st.class[i] != ValueClass::Primary, i));
    f
}

/// Exact method: audit-driven MILP repair then pruning. Returns final intervals.
pub(crate) fn exact(model: &Model, st: &mut State, prune: bool) -> Result<Intervals> {
    let max_rounds = 4 * model.len() + 10;
    // Each round changes one component; the others are answered from the cache.
    let mut cache = audit::IntervalCache::default();
    let mut iv = audit::exact_intervals_cached(model, st, &mut cache)?;
    for _ in 0..max_rounds {
        let fail = failing(st, &iv);
        let Some(&target) = fail.first() else { break };
        let added = repair(model, st, target, iv[target])?;
        if added.is_empty() {
            // Nothing more can open this cell (e.g. every candidate is
            // already withheld): leave it failing in the audit.
            break;
        }
        for a in added {
            st.set_class(a, ValueClass::Secondary);
        }
        iv = audit::exact_intervals_cached(model, st, &mut cache)?;
    }
    if prune && failing(st, &iv).is_empty() {
        let cost = costs_of_values(model);
        let mut secs: Vec<usize> = (0..model.len())
            .filter(|&i| st.class[i] == ValueClass::Secondary)
            .collect();
        secs.sort_by(|&a, &b| cost[b].total_cmp(&cost[a]).then(a.cmp(&b)));
        for s in secs {
            st.set_class(s, ValueClass::Published);
            let trial = audit::exact_intervals_cached(model, st, &mut cache)?;
            if failing(st, &trial).is_empty() {
                iv = trial;
            } else {
                st.set_class(s, ValueClass::Secondary);
            }
        }
    }
    Ok(iv)
}

fn costs_of_values(model: &Model) -> Vec<f64> {
    model
        .vars
        .iter()
        .map(|v| v.value.count().unwrap_or(0) as f64)
        .collect()
}

/// Cheapest set of new suppressions that widens `target`'s interval.
fn repair(
    model: &Model,
    st: &State,
    target: usize,
    current: Option<(u64, Option<u64>)>,
) -> Result<Vec<usize>> {
    let need = st.required[target];
    let (lo, hi) = match current {
        Some((lo, Some(hi))) => (lo, hi),
        _ => return Ok(Vec::new()),
    };
    let cost = costs(model, st);
    let mut best: Option<(f64, Vec<usize>)> = None;
    // Up: witness with target ≥ lo + need. Down: target ≤ hi − need.
    let mut tries = vec![(true, (lo + need) as f64)];
    if hi >= need && hi - need >= st.lb[target] {
        tries.push((false, (hi - need) as f64));
    }
    for (up, bound) in tries {
        if let Some((obj, set)) = repair_milp(model, st, &cost, target, up, bound)?
            && best.as_ref().is_none_or(|(b, _)| obj < *b - 1e-9)
        {
            best = Some((obj, set));
        }
    }
    Ok(best.map(|(_, s)| s).unwrap_or_default())
}

/// Branch-and-bound nodes one repair MILP may explore. Deterministic, unlike a time limit.
const REPAIR_NODE_LIMIT: u64 = 2_000;

fn repair_milp(
    model: &Model,
    st: &State,
    cost: &[f64],
    target: usize,
    up: bool,
    bound: f64,
) -> Result<Option<(f64, Vec<usize>)>> {
    let max_known = model
        .vars
        .iter()
        .filter_map(|v| v.value.count())
        .max()
        .unwrap_or(0) as f64;
    let big_m = 2.0 * max_known + bound + 1.0;
    let solve = |integer: bool| -> Result<Option<(f64, Vec<usize>)>> {
        let mut pb = Problem::new(OptimizationDirection::Minimize);
        let mut y = BTreeMap::new();
        let mut x = BTreeMap::new();
        for (i, &(a, b)) in st.interval.iter().enumerate() {
            if st.withheld(i) {
                y.insert(i, pb.add_var(0.0, (st.lb[i] as f64, f64::INFINITY)));
            } else if st.candidate[i] {
                let yi = pb.add_var(0.0, (st.lb[i] as f64, f64::INFINITY));
                let xi = if integer {
                    pb.add_binary_var(cost[i])
                } else {
                    pb.add_var(cost[i], (0.0, 1.0))
                };
                pb.add_constraint([(yi, 1.0), (xi, -big_m)], ComparisonOp::Le, b as f64);
                pb.add_constraint([(yi, 1.0), (xi, big_m)], ComparisonOp::Ge, a as f64);
                y.insert(i, yi);
                x.insert(i, xi);
            } else if a != b {
                y.insert(i, pb.add_var(0.0, (a as f64, b as f64)));
            }
        }
        for rel in &model.relations {
            let mut terms = Vec::new();
            let mut rhs = 0.0;
            for (v, c) in
                std::iter::once((rel.total, -1.0)).chain(rel.parts.iter().map(|&p| (p, 1.0)))
            {
                match y.get(&v) {
                    Some(&var) => terms.push((var, c)),
                    None => rhs -= c * st.interval[v].0 as f64,
                }
            }
            if !terms.is_empty() {
                pb.add_constraint(terms.as_slice(), ComparisonOp::Eq, rhs);
            }
        }
        let op = if up {
            ComparisonOp::Ge
        } else {
            ComparisonOp::Le
        };
        pb.add_constraint([(y[&target], 1.0)], op, bound);
        // A node budget, not a clock: the same table must get the same pattern on a busy
        // machine and an idle one (two releases of one table with different patterns would
        // let an outsider difference them). Past the budget the best incumbent is used, or,
        // without one, the LP relaxation's support below.
        let mut options = SolveOptions::default();
        options.node_limit = Some(REPAIR_NODE_LIMIT);
        let solved = pb.solve_with(options);
        match solved {
            Ok(out) => match out.into_solution() {
                Ok(sol) => {
                    let chosen: Vec<usize> = x
                        .iter()
                        .filter(|(_, xi)| sol.var_value(**xi) > if integer { 0.5 } else { 1e-9 })
                        .map(|(i, _)| *i)
                        .collect();
                    Ok(Some((sol.objective(), chosen)))
                }
                Err(_) => Err(DisclosureError::Solver("repair interrupted".into())),
            },
            Err(microlp::Error::Infeasible) => Ok(None),
            Err(source) => Err(DisclosureError::SolverFailed {
                task: "repair",
                cell: model.vars[target].identity.to_string(),
                source,
            }),
        }
    };
    match solve(true) {
        Ok(r) => Ok(r),
        // MILP timed out or failed numerically: the LP relaxation's support is
        // still a valid (if larger) witness.
        Err(_) => solve(false),
    }
}

// ---------------------------------------------------------------------------
// Hypercube method with certificates (single complete table).

/// A verified deviation pattern.
#[derive(Debug, Clone)]
struct Pattern {
    cells: Vec<(usize, i8)>,
    /// Movement possible in the + direction (of cells with sign +1).
    cap_up: u64,
    /// Movement possible in the − direction.
    cap_down: u64,
}

/// Whether the hypercube method applies: one table, complete grid, no partner cells.
pub(crate) fn hypercube_applicable(model: &Model) -> bool {
    model.cell_var.len() == 1
        && !model.vars.iter().any(|v| v.value.count().is_none())
        && model.dim_index[0]
            .iter()
            .map(|d| d.codes.len())
            .product::<usize>()
            == model.cell_var[0].len()
}

/// Hypercube method. Returns certificate intervals (inner bounds).
pub(crate) fn hypercube(model: &Model, st: &mut State) -> Result<Intervals> {
    let dims = &model.dim_index[0];
    let nd = dims.len();
    let sizes: Vec<usize> = dims.iter().map(|d| d.codes.len()).collect();
    let mut strides = vec![1usize; nd];
    for d in (0..nd.saturating_sub(1)).rev() {
        strides[d] = strides[d + 1] * sizes[d + 1];
    }
    let ncell: usize = sizes.iter().product();
    // Grid index → var, and var → grid coordinates.
    let mut grid = vec![usize::MAX; ncell];
    let mut coords_of = vec![Vec::new(); model.len()];
    let pos: Vec<BTreeMap<&str, usize>> = dims
        .iter()
        .map(|d| {
            d.codes
                .iter()
                .enumerate()
                .map(|(i, c)| (c.as_str(), i))
                .collect()
        })
        .collect();
    for (coords, &v) in &model.cell_var[0] {
        let c: Vec<usize> = (0..nd).map(|d| pos[d][coords[d].as_str()]).collect();
        let g: usize = c.iter().zip(&strides).map(|(a, s)| a * s).sum();
        grid[g] = v;
        coords_of[v] = c;
    }
    let value = |v: usize| model.vars[v].value.count().unwrap_or(0);
    // Descent chains: from each code to a leaf, via the child with the
    // largest one-dimensional margin (other dimensions at their top code).
    let tops: Vec<usize> = dims
        .iter()
        .map(|d| {
            d.root.unwrap_or_else(|| {
                (0..d.codes.len())
                    .find(|&i| d.parent[i].is_none())
                    .unwrap_or(0)
            })
        })
        .collect();
    let mut chains: Vec<Vec<Vec<usize>>> = Vec::with_capacity(nd);
    for d in 0..nd {
        let margin = |code: usize| {
            let g: usize = (0..nd)
                .map(|e| if e == d { code } else { tops[e] } * strides[e])
                .sum();
            value(grid[g])
        };
        let mut ch = Vec::with_capacity(sizes[d]);
        for code in 0..sizes[d] {
            let mut chain = vec![code];
            let mut cur = code;
            while !dims[d].children[cur].is_empty() {
                cur = *dims[d].children[cur]
                    .iter()
                    .max_by_key(|&&k| (margin(k), std::cmp::Reverse(k)))
                    .unwrap_or(&cur);
                chain.push(cur);
            }
            ch.push(chain);
        }
        chains.push(ch);
    }
    let total: f64 = model
        .vars
        .iter()
        .filter_map(|v| v.value.count())
        .map(|x| x as f64)
        .sum::<f64>()
        + 1.0;
    let p_level = st.protection_level;
    let mut best_up = vec![0u64; model.len()];
    let mut best_down = vec![0u64; model.len()];
    let mut patterns: Vec<Pattern> = Vec::new();

    let mut primaries: Vec<usize> = (0..model.len())
        .filter(|&i| st.class[i] == ValueClass::Primary)
        .collect();
    // Aggregates first: their patterns are larger and cover cells below them.
    primaries.sort_by_key(|&i| {
        let depth: usize = (0..nd).map(|d| chains[d][coords_of[i][d]].len()).sum();
        (std::cmp::Reverse(depth), value(i), i)
    });

    for &p in &primaries {
        if best_up[p].saturating_add(best_down[p]) >= p_level {
            continue;
        }
        let c = &coords_of[p];
        // Pass 1: sibling hypercubes only (all margins stay published).
        // Pass 2 (fallback): a dimension may instead move the cell together
        // with all its ancestors ("Up"), which withholds margins but always
        // yields a valid pattern for a non-zero cell.
        let mut best: Option<(f64, Pattern)> = None;
        for allow_up in [false, true] {
            let options: Vec<Vec<Alt>> = (0..nd)
                .map(|d| match dims[d].parent[c[d]] {
                    None => vec![Alt::Descend],
                    Some(par) => {
                        let mut o: Vec<Alt> = dims[d].children[par]
                            .iter()
                            .filter(|&&s| s != c[d])
                            .map(|&s| Alt::Sibling(s))
                            .collect();
                        if allow_up {
                            o.push(Alt::Up);
                        }
                        o
                    }
                })
                .collect();
            if options.iter().any(Vec::is_empty) {
                continue;
            }
            best = search(&Search {
                st,
                dims,
                chains: &chains,
                strides: &strides,
                grid: &grid,
                value: &value,
                total,
                p_level,
                c,
                options: &options,
                have: (best_up[p], best_down[p]),
            });
            if best.is_some() {
                break;
            }
        }
        if let Some((_, pat)) = best {
            for &(v, s) in &pat.cells {
                if !st.withheld(v) {
                    st.set_class(v, ValueClass::Secondary);
                }
                let (u, dn) = if s > 0 {
                    (pat.cap_up, pat.cap_down)
                } else {
                    (pat.cap_down, pat.cap_up)
                };
                best_up[v] = best_up[v].max(u);
                best_down[v] = best_down[v].max(dn);
            }
            patterns.push(pat);
        }
    }
    verify_patterns(model, st, &patterns)?;
    Ok((0..model.len())
        .map(|i| {
            if !st.withheld(i) {
                return None;
            }
            let x = value(i);
            let low = x.saturating_sub(best_down[i]);
            let high = if best_up[i] >= (1 << 40) {
                None
            } else {
                Some(x + best_up[i])
            };
            Some((low, high))
        })
        .collect())
}

/// Alternative chosen in one dimension of a hypercube.
#[derive(Debug, Clone, Copy)]
enum Alt {
    /// Top code: descend only.
    Descend,
    /// Cancel against this sibling.
    Sibling(usize),
    /// Move with all ancestors.
    Up,
}

struct Search<'a, F: Fn(usize) -> u64> {
    st: &'a State,
    dims: &'a [crate::model::DimIndex],
    chains: &'a [Vec<Vec<usize>>],
    strides: &'a [usize],
    grid: &'a [usize],
    value: &'a F,
    total: f64,
    p_level: u64,
    c: &'a [usize],
    options: &'a [Vec<Alt>],
    have: (u64, u64),
}

/// Cheapest valid pattern over all combinations of per-dimension alternatives.
fn search<F: Fn(usize) -> u64>(s: &Search<'_, F>) -> Option<(f64, Pattern)> {
    let nd = s.c.len();
    let st = s.st;
    let mut idx = vec![0usize; nd];
    let mut best: Option<(f64, Pattern)> = None;
    let mut cells: Vec<(usize, i8)> = Vec::new();
    'combos: loop {
        let branches: Vec<Vec<(usize, i8)>> = (0..nd)
            .map(|d| {
                let cd = s.c[d];
                let mut b: Vec<(usize, i8)> = s.chains[d][cd].iter().map(|&k| (k, 1)).collect();
                match s.options[d][idx[d]] {
                    Alt::Descend => {}
                    Alt::Sibling(sib) => b.extend(s.chains[d][sib].iter().map(|&k| (k, -1))),
                    Alt::Up => {
                        let mut cur = s.dims[d].parent[cd];
                        while let Some(a) = cur {
                            b.push((a, 1));
                            cur = s.dims[d].parent[a];
                        }
                    }
                }
                b
            })
            .collect();
        cells.clear();
        let mut cost = 0.0;
        let mut cap_up = u64::MAX;
        let mut cap_down = u64::MAX;
        let mut ok = true;
        let mut bi = vec![0usize; nd];
        'prod: loop {
            let mut g = 0;
            let mut sign = 1i8;
            for d in 0..nd {
                let (k, sg) = branches[d][bi[d]];
                g += k * s.strides[d];
                sign *= sg;
            }
            let v = s.grid[g];
            let x = (s.value)(v);
            if !st.withheld(v) {
                if !st.candidate[v] {
                    ok = false;
                    break 'prod;
                }
                cost += 1.0 + x as f64 / s.total;
                if best.as_ref().is_some_and(|(b, _)| cost >= *b) {
                    ok = false;
                    break 'prod;
                }
            }
            let room = x.saturating_sub(st.lb[v]);
            if sign > 0 {
                cap_down = cap_down.min(room);
            } else {
                cap_up = cap_up.min(room);
            }
            cells.push((v, sign));
            let mut d = nd;
            loop {
                if d == 0 {
                    break 'prod;
                }
                d -= 1;
                bi[d] += 1;
                if bi[d] < branches[d].len() {
                    break;
                }
                bi[d] = 0;
            }
        }
        if ok {
            let up = s.have.0.max(cap_up);
            let down = s.have.1.max(cap_down);
            if up.saturating_add(down) >= s.p_level {
                best = Some((
                    cost,
                    Pattern {
                        cells: cells.clone(),
                        cap_up,
                        cap_down,
                    },
                ));
            }
        }
        let mut d = nd;
        loop {
            if d == 0 {
                break 'combos;
            }
            d -= 1;
            idx[d] += 1;
            if idx[d] < s.options[d].len() {
                break;
            }
            idx[d] = 0;
        }
    }
    best
}

/// Every pattern must be a zero-sum deviation over withheld cells with room
/// to move: this is what makes the certificate intervals sound.
fn verify_patterns(model: &Model, st: &State, patterns: &[Pattern]) -> Result<()> {
    let mut delta: BTreeMap<usize, i64> = BTreeMap::new();
    for pat in patterns {
        delta.clear();
        for &(v, s) in &pat.cells {
            if !st.withheld(v) {
                return Err(DisclosureError::Solver(format!(
                    "certificate moves published cell {}",
                    model.vars[v].identity
                )));
            }
            *delta.entry(v).or_default() += i64::from(s);
        }
        for &v in delta.keys() {
            for &r in &model.var_relations[v] {
                let rel = &model.relations[r];
                let sum: i64 = rel
                    .parts
                    .iter()
                    .map(|p| delta.get(p).copied().unwrap_or(0))
                    .sum::<i64>()
                    - delta.get(&rel.total).copied().unwrap_or(0);
                if sum != 0 {
                    return Err(DisclosureError::Solver(format!(
                        "certificate breaks relation at {}",
                        model.vars[rel.total].identity
                    )));
                }
            }
        }
    }
    Ok(())
}
