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
//!
//! **Relaxation** (a fallback, never a proof of protection): a component with
//! more than [`EXACT_COMPONENT_LIMIT`] unknown cells, or whose integer program
//! fails, is solved as the continuous LP relaxation. Its interval is an
//! *outer* bound — wider than (or as wide as) the integer attacker's — so a
//! withheld cell whose interval comes from it is labelled
//! [`AuditMethod::Relaxation`] and counts as failing its requirement. Two
//! answers of the relaxation are nonetheless exact and are labelled so: an
//! optimum attained at an integer point that satisfies every relation (checked
//! in integers), and an LP that is unbounded (a rational polyhedron holding an
//! integer point — the true table — is then unbounded for the integer attacker
//! too). The report's method is the weakest used by any of its cells.

use std::collections::{BTreeSet, HashMap};
use std::ops::{Deref, DerefMut};

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

/// Largest component (unknown cells linked through relations) whose intervals are solved as
/// integer programs; larger ones are solved as the continuous relaxation.
pub const EXACT_COMPONENT_LIMIT: usize = 400;

/// How an interval was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditMethod {
    /// Exact integer min/max over all published information.
    #[default]
    Exact,
    /// Inner bound from verified alternative tables (sound for pass/fail).
    Certificate,
    /// Outer bound from the continuous LP relaxation: the integer attacker's
    /// interval may be narrower, so it proves no protection.
    Relaxation,
}

impl AuditMethod {
    /// How much weaker than exact the method is: 0 exact, 1 certificate (an inner bound,
    /// sound for pass/fail), 2 relaxation (an outer bound, proves nothing).
    fn weakness(self) -> u8 {
        match self {
            AuditMethod::Exact => 0,
            AuditMethod::Certificate => 1,
            AuditMethod::Relaxation => 2,
        }
    }

    /// The weaker of two methods: what a result built from both can claim.
    pub fn weakest(self, other: AuditMethod) -> AuditMethod {
        if other.weakness() > self.weakness() {
            other
        } else {
            self
        }
    }

    /// Whether an interval obtained this way proves that a wide enough interval is wide
    /// enough (exact and certificate intervals do; a relaxation's does not).
    pub fn proves_width(self) -> bool {
        self != AuditMethod::Relaxation
    }
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
    /// How `low` and `high` were obtained (`exact` for published cells; reports written
    /// before this field existed read as `exact`).
    #[serde(default)]
    pub method: AuditMethod,
    /// Required width `high − low` (protection level for primary cells, 1 for
    /// other withheld cells, 0 for published cells).
    pub required_width: u64,
    /// Whether the requirement is proven to hold (`true` for published cells): the interval
    /// is exact or certified and wide enough, or the cell is proven unbounded above. A
    /// relaxation interval alone never passes a bounded cell.
    pub pass: bool,
}

/// The audit of a whole release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditReport {
    /// Every withheld cell meets its requirement.
    pub pass: bool,
    /// How intervals were computed: the weakest method any withheld cell's interval used.
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
            "identity,tables,coords,class,value,published,low,high,method,required_width,pass\n",
        );
        for c in &self.cells {
            let class = match c.class {
                ValueClass::Published => "published",
                ValueClass::Primary => "primary",
                ValueClass::Secondary => "secondary",
                ValueClass::Partner => "partner",
            };
            let method = match c.method {
                AuditMethod::Exact => "exact",
                AuditMethod::Certificate => "certificate",
                AuditMethod::Relaxation => "relaxation",
            };
            s.push_str(&format!(
                "{},{},{},{},{},{},{},{},{},{},{}\n",
                q(&c.identity),
                q(&c.tables.join(";")),
                q(&c.coords.join("|")),
                class,
                o(c.value),
                o(c.published),
                o(c.low),
                o(c.high),
                method,
                c.required_width,
                c.pass
            ));
        }
        s
    }
}

/// Per-var attacker intervals (`None` for vars not audited), indexed like the model's vars,
/// with the vars whose interval is only the continuous relaxation's. Reads and writes as the
/// vector of intervals; one built from intervals alone (e.g. certificates) has none relaxed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Intervals {
    bounds: Vec<Option<(u64, Option<u64>)>>,
    relaxed: BTreeSet<usize>,
    /// Vars whose interval is an inner bound: the range feasible tables already found span,
    /// wide enough for the var's requirement ([`AuditDepth::Verdict`]).
    inner: BTreeSet<usize>,
}

impl Intervals {
    /// No interval for any of `n` vars.
    pub(crate) fn unknown(n: usize) -> Self {
        Intervals {
            bounds: vec![None; n],
            relaxed: BTreeSet::new(),
            inner: BTreeSet::new(),
        }
    }

    /// Whether var `i`'s interval is an outer bound from the relaxation, not exact.
    pub(crate) fn relaxed(&self, i: usize) -> bool {
        self.relaxed.contains(&i)
    }

    /// Whether var `i`'s interval is an inner bound from feasible tables, not exact.
    pub(crate) fn inner(&self, i: usize) -> bool {
        self.inner.contains(&i)
    }
}

impl Deref for Intervals {
    type Target = Vec<Option<(u64, Option<u64>)>>;

    fn deref(&self) -> &Self::Target {
        &self.bounds
    }
}

impl DerefMut for Intervals {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.bounds
    }
}

impl From<Vec<Option<(u64, Option<u64>)>>> for Intervals {
    fn from(bounds: Vec<Option<(u64, Option<u64>)>>) -> Self {
        Intervals {
            bounds,
            relaxed: BTreeSet::new(),
            inner: BTreeSet::new(),
        }
    }
}

impl FromIterator<Option<(u64, Option<u64>)>> for Intervals {
    fn from_iter<I: IntoIterator<Item = Option<(u64, Option<u64>)>>>(iter: I) -> Self {
        Intervals::from(iter.into_iter().collect::<Vec<_>>())
    }
}

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

/// Attacker intervals for every withheld var, to `depth`: exact, except those of components
/// solved as the relaxation that could not be proven exact ([`Intervals::relaxed`]) and, in a
/// verdict audit, those settled by feasible tables found ([`Intervals::inner`]).
pub(crate) fn intervals_to(model: &Model, st: &State, depth: AuditDepth) -> Result<Intervals> {
    let mut cache = IntervalCache::default();
    intervals(model, st, &mut cache, true, EXACT_COMPONENT_LIMIT, depth)
}

/// How far an audit settles each withheld cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditDepth {
    /// Each withheld cell's exact interval: the attacker's least and greatest value.
    Exact,
    /// Enough for each cell's verdict: a cell that feasible integer tables found along the way
    /// already show wide enough passes with that range (an inner bound, labelled
    /// [`AuditMethod::Certificate`]); every other cell gets its exact interval. The verdicts
    /// are those of [`AuditDepth::Exact`], with fewer programs solved.
    Verdict,
}

/// What a cell's interval is: the attacker's exact one, an outer bound (the relaxation's) or
/// an inner bound (feasible tables' range, wide enough).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    Exact,
    Outer,
    Inner,
}

/// A withheld cell, its interval (least value, greatest; `None`: unbounded) and what the
/// interval is.
type CellInterval = (usize, (u64, Option<u64>), Bound);

/// Intervals already solved, keyed by everything the component's integer programs depend
/// on: its cells with their state and bounds, and its relations with their constants. The
/// repair and pruning loops change one component at a time, so the others are answered
/// from here instead of being solved again.
#[derive(Default)]
pub(crate) struct IntervalCache {
    solved: HashMap<Vec<u64>, Vec<CellInterval>>,
}

/// Exact intervals ([`intervals_to`]), reusing and filling `cache`.
pub(crate) fn exact_intervals_cached(
    model: &Model,
    st: &State,
    cache: &mut IntervalCache,
) -> Result<Intervals> {
    intervals(
        model,
        st,
        cache,
        true,
        EXACT_COMPONENT_LIMIT,
        AuditDepth::Exact,
    )
}

/// `reuse_points`: skip a program whose optimum an earlier solution already reached (off
/// only in the test that checks the answers are the same). `integer_limit`: largest
/// component solved as integer programs ([`EXACT_COMPONENT_LIMIT`] but in tests).
fn intervals(
    model: &Model,
    st: &State,
    cache: &mut IntervalCache,
    reuse_points: bool,
    integer_limit: usize,
    depth: AuditDepth,
) -> Result<Intervals> {
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
    let mut out = Intervals::unknown(model.len());
    for (c, members) in comps.iter().enumerate() {
        if !members.iter().any(|&v| st.withheld(v)) {
            continue;
        }
        let key = component_key(model, st, members, &rels_of[c], &comp_of);
        let solved = match cache.solved.entry(key) {
            std::collections::hash_map::Entry::Occupied(known) => known.into_mut(),
            std::collections::hash_map::Entry::Vacant(new) => new.insert(solve_targets(
                model,
                st,
                members,
                &rels_of[c],
                &comp_of,
                reuse_points,
                integer_limit,
                depth,
            )?),
        };
        for &(target, interval, bound) in solved.iter() {
            out[target] = Some(interval);
            match bound {
                Bound::Exact => {}
                Bound::Outer => {
                    out.relaxed.insert(target);
                }
                Bound::Inner => {
                    out.inner.insert(target);
                }
            }
        }
    }
    Ok(out)
}

/// Everything one component's programs depend on, as numbers.
fn component_key(
    model: &Model,
    st: &State,
    members: &[usize],
    rels: &[usize],
    comp_of: &[usize],
) -> Vec<u64> {
    let mut key = Vec::with_capacity(members.len() * 5 + rels.len() * 2 + 1);
    for &v in members {
        key.extend([
            v as u64,
            st.withheld(v) as u64,
            st.lb[v],
            st.interval[v].0,
            st.interval[v].1,
        ]);
    }
    key.push(u64::MAX);
    for &r in rels {
        key.extend([r as u64, relation_constant(model, st, r, comp_of).to_bits()]);
    }
    key
}

/// The bounds a cell of a component starts from: a withheld cell is at least the attacker's
/// lower bound and unbounded above; any other unknown lies in its published interval.
fn own_bounds(st: &State, v: usize) -> (f64, f64) {
    if st.withheld(v) {
        (st.lb[v] as f64, f64::INFINITY)
    } else {
        (st.interval[v].0 as f64, st.interval[v].1 as f64)
    }
}

/// The constant side of relation `r` (total = sum of parts) once its known cells, those
/// outside any component, are moved across: the known total minus the known parts.
fn relation_constant(model: &Model, st: &State, r: usize, comp_of: &[usize]) -> f64 {
    let rel = &model.relations[r];
    let known = |v: usize| comp_of[v] == usize::MAX;
    let mut rhs = 0.0;
    if known(rel.total) {
        rhs += st.interval[rel.total].0 as f64;
    }
    for &p in rel.parts.iter().filter(|&&p| known(p)) {
        rhs -= st.interval[p].0 as f64;
    }
    rhs
}

/// Min and max of every withheld cell of one component, solved on all cores: each target's
/// two programs are independent. A program is skipped, with the same exact answer, when an
/// integer solution of an earlier program already reaches the cell's outer bound from
/// propagation: the optimum can be neither beyond the bound nor short of a feasible point.
#[allow(clippy::too_many_arguments)]
fn solve_targets(
    model: &Model,
    st: &State,
    members: &[usize],
    rels: &[usize],
    comp_of: &[usize],
    reuse_points: bool,
    integer_limit: usize,
    depth: AuditDepth,
) -> Result<Vec<CellInterval>> {
    let targets: Vec<usize> = members
        .iter()
        .copied()
        .filter(|&v| st.withheld(v))
        .collect();
    let outer = outer_bounds(model, st, members, rels, comp_of);
    let rays = Rays::new(model, st, rels, comp_of);
    // Only the true table proves a rounded relaxation optimum integral: points other threads
    // happen to have found first would make the label depend on timing.
    let seeded = seeded_points(members, model);
    let reached = std::sync::Mutex::new(seeded.clone());
    // The optimum (`None`: unbounded), whether it is the integer attacker's, and the table
    // of a program solved for it (a feasible point when it is an integer one).
    type Optimum = (Option<f64>, bool, Option<Vec<f64>>);
    // `lane`: a verdict audit's own tables, which decide the skip instead of the tables all
    // threads found, so that what a lane learns does not depend on the other's timing.
    let optimum = |target: usize, maximize: bool, lane: &Option<Reached>| -> Result<Optimum> {
        let bound = if maximize {
            outer[&target].1
        } else {
            outer[&target].0
        };
        let attained = match lane {
            Some(lane) => lane.attains(target, bound, maximize),
            None => reached
                .lock()
                .expect("not poisoned")
                .attains(target, bound, maximize),
        };
        if reuse_points && attained {
            return Ok((Some(bound), true, None));
        }
        if reuse_points && maximize && bound.is_infinite() && rays.upward(target) {
            return Ok((None, true, None));
        }
        let solved = solve_component(
            model,
            st,
            members,
            rels,
            comp_of,
            (target, maximize),
            integer_limit,
        )?;
        let mut reached = reached.lock().expect("not poisoned");
        if let Some(point) = &solved.integer_point {
            reached.add(members, point);
        }
        if let (Some(x), false) = (solved.optimum, solved.exact) {
            // The relaxation's optimum rounded inwards bounds the integer one; a feasible
            // integer table that reaches it proves it is the integer optimum.
            let rounded = if maximize {
                (x + 1e-6).floor()
            } else {
                (x - 1e-6).ceil()
            };
            let own_point = solved.integer_point.as_ref().is_some_and(|p| {
                let mut own = Reached::new(members);
                own.add(members, p);
                own.attains(target, rounded, maximize)
            });
            if own_point || seeded.attains(target, rounded, maximize) {
                return Ok((Some(rounded), true, solved.integer_point));
            }
        }
        Ok((solved.optimum, solved.exact, solved.integer_point))
    };
    // A program's table joins a lane's points only when it is an integer table that keeps
    // every relation exactly (checked in integers): only such tables prove a range.
    let add_point = |lane: &mut Option<Reached>, point: Option<Vec<f64>>| {
        if let (Some(lane), Some(point)) = (lane.as_mut(), point)
            && let Some(table) = integer_optimum(model, st, members, rels, comp_of, &point)
        {
            lane.add(members, &table);
        }
    };
    let enough = |lane: &Option<Reached>, target: usize| {
        lane.as_ref()
            .and_then(|lane| lane.spans(target, st.required[target]))
    };
    // `lane`: in a verdict audit, the feasible tables this lane has found, seeded with the
    // true one; a cell they already show wide enough needs no program.
    let solve_one = |target: usize, lane: &mut Option<Reached>| -> Result<CellInterval> {
        if let Some(range) = enough(lane, target) {
            return Ok((target, range, Bound::Inner));
        }
        let (lo, lo_exact, lo_point) = optimum(target, false, lane)?;
        add_point(lane, lo_point);
        if let Some(range) = enough(lane, target) {
            return Ok((target, range, Bound::Inner));
        }
        let (hi, hi_exact, hi_point) = optimum(target, true, lane)?;
        add_point(lane, hi_point);
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
        let bound = if lo_exact && hi_exact {
            Bound::Exact
        } else {
            Bound::Outer
        };
        Ok((target, (low, high), bound))
    };
    let new_lane = || match depth {
        AuditDepth::Exact => None,
        AuditDepth::Verdict => Some(seeded.clone()),
    };
    // Threads pay off only for components with many cells to solve. A verdict audit's lanes
    // are fixed in number, not the machine's cores: which cells a lane's own tables settle
    // then depends on nothing but the input, so its report does not change from machine to
    // machine.
    let workers = match depth {
        AuditDepth::Exact => std::thread::available_parallelism().map_or(1, |n| n.get()),
        AuditDepth::Verdict => VERDICT_LANES,
    }
    .min(targets.len() / PROGRAMS_PER_WORKER);
    if workers <= 1 {
        let mut lane = new_lane();
        return targets
            .into_iter()
            .map(|t| solve_one(t, &mut lane))
            .collect();
    }
    // Interleaved, so each worker gets cells from all over the component.
    let lanes: Vec<Vec<usize>> = (0..workers)
        .map(|w| targets.iter().copied().skip(w).step_by(workers).collect())
        .collect();
    let mut solved: Vec<CellInterval> = std::thread::scope(|scope| {
        let handles: Vec<_> = lanes
            .iter()
            .map(|lane| {
                scope.spawn(|| {
                    let mut points = new_lane();
                    lane.iter()
                        .map(|&t| solve_one(t, &mut points))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("an audit worker panicked"))
            .collect::<Result<Vec<_>>>()
    })?;
    solved.sort_by_key(|&(target, _, _)| target);
    Ok(solved)
}

/// Proves a cell unbounded above without a program: a ray (a direction of non-negative
/// changes to withheld cells only) that raises the cell and keeps every relation balanced.
/// In a table whose grand total is withheld that holds for most cells. No ray found proves
/// nothing: the program is solved.
struct Rays<'a> {
    model: &'a Model,
    st: &'a State,
    rels: &'a [usize],
    comp_of: &'a [usize],
}

impl<'a> Rays<'a> {
    fn new(model: &'a Model, st: &'a State, rels: &'a [usize], comp_of: &'a [usize]) -> Self {
        Self {
            model,
            st,
            rels,
            comp_of,
        }
    }

    fn upward(&self, target: usize) -> bool {
        let mut raise: HashMap<usize, u64> = HashMap::from([(target, 1)]);
        let free = |v: usize| self.comp_of[v] != usize::MAX && self.st.withheld(v);
        // Each pass balances every relation by raising its total or, when the total was
        // raised more through another relation, one of its free parts. Bounded: a ray that
        // does not settle in as many passes as there are relations is left to the solver.
        for _ in 0..=self.rels.len() {
            let mut changed = false;
            for &r in self.rels {
                let rel = &self.model.relations[r];
                let parts: u64 = rel.parts.iter().filter_map(|p| raise.get(p)).sum();
                let total = raise.get(&rel.total).copied().unwrap_or(0);
                if parts > total {
                    if !free(rel.total) {
                        return false;
                    }
                    raise.insert(rel.total, parts);
                    changed = true;
                } else if total > parts {
                    let Some(&part) = rel.parts.iter().find(|&&p| free(p)) else {
                        return false;
                    };
                    *raise.entry(part).or_insert(0) += total - parts;
                    changed = true;
                }
            }
            if !changed {
                return true;
            }
        }
        false
    }
}

/// Fewest withheld cells per audit worker thread.
const PROGRAMS_PER_WORKER: usize = 16;

/// Lanes of a verdict audit ([`AuditDepth::Verdict`]): each solves its share of a
/// component's cells in order, settling cells from the tables it has found itself.
const VERDICT_LANES: usize = 2;

/// The points every search starts from: the true table, when every member has a count (the
/// attacker must consider it: a feasible integer table); none for an outsider, who has none.
fn seeded_points(members: &[usize], model: &Model) -> Reached {
    let mut points = Reached::new(members);
    let truth: Option<Vec<f64>> = members
        .iter()
        .map(|&v| model.vars[v].value.count().map(|x| x as f64))
        .collect();
    if let Some(truth) = truth {
        points.add(members, &truth);
    }
    points
}

/// The least and greatest value each cell of a component took in the feasible solutions
/// seen so far: values an attacker's interval certainly includes.
#[derive(Clone)]
struct Reached {
    range: HashMap<usize, (f64, f64)>,
}

impl Reached {
    fn new(members: &[usize]) -> Self {
        let range = members
            .iter()
            .map(|&v| (v, (f64::INFINITY, f64::NEG_INFINITY)))
            .collect();
        Self { range }
    }

    fn add(&mut self, members: &[usize], point: &[f64]) {
        for (v, &x) in members.iter().zip(point) {
            let range = self.range.get_mut(v).expect("a member");
            range.0 = range.0.min(x);
            range.1 = range.1.max(x);
        }
    }

    /// The range of `target` over the tables seen, when it is at least `width` wide: every
    /// table added is a feasible integer one, so the attacker's interval contains it.
    fn spans(&self, target: usize, width: u64) -> Option<(u64, Option<u64>)> {
        let (low, high) = self.range[&target];
        if !(low.is_finite() && high.is_finite()) {
            return None;
        }
        let (low, high) = (low.round().max(0.0) as u64, high.round().max(0.0) as u64);
        (high.saturating_sub(low) >= width).then_some((low, Some(high)))
    }

    /// Has some feasible solution put `target` at its outer bound `bound` (an upper bound
    /// when maximising)? Then that bound is the optimum: nothing feasible lies beyond it.
    fn attains(&self, target: usize, bound: f64, maximize: bool) -> bool {
        let (low, high) = self.range[&target];
        bound.is_finite()
            && if maximize {
                high >= bound - 1e-9
            } else {
                low <= bound + 1e-9
            }
    }
}

/// Outer bounds of each cell of a component by propagating its relations (total = sum of
/// parts) to a fixed point, or for a bounded number of passes: every feasible table lies
/// within them, for integer and fractional cells alike.
fn outer_bounds(
    model: &Model,
    st: &State,
    members: &[usize],
    rels: &[usize],
    comp_of: &[usize],
) -> HashMap<usize, (f64, f64)> {
    let mut bounds: HashMap<usize, (f64, f64)> =
        members.iter().map(|&v| (v, own_bounds(st, v))).collect();
    let of = |bounds: &HashMap<usize, (f64, f64)>, v: usize| match comp_of[v] {
        usize::MAX => (st.interval[v].0 as f64, st.interval[v].0 as f64),
        _ => bounds[&v],
    };
    for _ in 0..MAX_PROPAGATION_PASSES {
        let mut changed = false;
        for &r in rels {
            let rel = &model.relations[r];
            let parts: Vec<(f64, f64)> = rel.parts.iter().map(|&p| of(&bounds, p)).collect();
            let low_sum: f64 = parts.iter().map(|b| b.0).sum();
            let (high_finite, high_infinite) = parts.iter().fold((0.0, 0usize), |(sum, n), b| {
                if b.1.is_finite() {
                    (sum + b.1, n)
                } else {
                    (sum, n + 1)
                }
            });
            let high_sum = if high_infinite > 0 {
                f64::INFINITY
            } else {
                high_finite
            };
            let total = of(&bounds, rel.total);
            changed |= tighten(&mut bounds, comp_of, rel.total, low_sum, high_sum);
            for (&p, &(p_low, p_high)) in rel.parts.iter().zip(&parts) {
                // The other parts' sums, without p.
                let others_high = match (high_infinite, p_high.is_finite()) {
                    (0, _) => high_finite - p_high,
                    (1, false) => high_finite,
                    _ => f64::INFINITY,
                };
                let others_low = low_sum - p_low;
                changed |= tighten(
                    &mut bounds,
                    comp_of,
                    p,
                    total.0 - others_high,
                    total.1 - others_low,
                );
            }
        }
        if !changed {
            break;
        }
    }
    bounds
}

/// Passes of bound propagation; outer bounds are sound after any number of them.
const MAX_PROPAGATION_PASSES: usize = 64;

fn tighten(
    bounds: &mut HashMap<usize, (f64, f64)>,
    comp_of: &[usize],
    v: usize,
    low: f64,
    high: f64,
) -> bool {
    if comp_of[v] == usize::MAX {
        return false;
    }
    let bound = bounds.get_mut(&v).expect("a member");
    let mut changed = false;
    if low > bound.0 {
        bound.0 = low;
        changed = true;
    }
    if high < bound.1 {
        bound.1 = high;
        changed = true;
    }
    changed
}

/// One program's answer: its optimum (`None`: unbounded), whether that optimum is the
/// integer attacker's (`false`: the relaxation's, an outer bound), and an optimal point that
/// is a feasible integer table, one value per member, when one was found.
struct Solved {
    optimum: Option<f64>,
    exact: bool,
    integer_point: Option<Vec<f64>>,
}

/// Min or max of `target` over one component: integer for components small enough to
/// branch and bound; the continuous relaxation otherwise or when the integer program fails,
/// exact only where its answer is proven to be the integer one (see the module docs).
fn solve_component(
    model: &Model,
    st: &State,
    members: &[usize],
    rels: &[usize],
    comp_of: &[usize],
    (target, maximize): (usize, bool),
    integer_limit: usize,
) -> Result<Solved> {
    if members.len() <= integer_limit {
        let integer =
            solve_component_with(model, st, members, rels, comp_of, target, maximize, true);
        if let Ok((optimum, point)) = integer {
            return Ok(Solved {
                optimum,
                exact: true,
                integer_point: point,
            });
        }
    }
    let (optimum, point) =
        solve_component_with(model, st, members, rels, comp_of, target, maximize, false)?;
    let Some(optimum) = optimum else {
        // An unbounded relaxation: the true table is an integer point of the (rational)
        // polyhedron, so the integer program is unbounded too.
        return Ok(Solved {
            optimum: None,
            exact: true,
            integer_point: None,
        });
    };
    let integer_point = point.and_then(|p| integer_optimum(model, st, members, rels, comp_of, &p));
    let exact = integer_point.as_ref().is_some_and(|p| {
        let at = members.iter().position(|&v| v == target).expect("a member");
        (p[at] - optimum).abs() <= 1e-6
    });
    Ok(Solved {
        optimum: Some(optimum),
        exact,
        integer_point: integer_point.filter(|_| exact),
    })
}

/// The relaxation's optimal point rounded to integers, when it is (within rounding noise) an
/// integer table that keeps every cell within its bounds and every relation exactly, checked
/// in integer arithmetic: the relaxation's optimum is then attained by a table the integer
/// attacker must consider, so it is the integer optimum.
fn integer_optimum(
    model: &Model,
    st: &State,
    members: &[usize],
    rels: &[usize],
    comp_of: &[usize],
    point: &[f64],
) -> Option<Vec<f64>> {
    let mut value: HashMap<usize, i128> = HashMap::with_capacity(members.len());
    for (&v, &x) in members.iter().zip(point) {
        let r = x.round();
        if (x - r).abs() > 1e-6 || !r.is_finite() {
            return None;
        }
        let (lo, hi) = own_bounds(st, v);
        if r < lo || r > hi {
            return None;
        }
        value.insert(v, r as i128);
    }
    for &r in rels {
        let rel = &model.relations[r];
        let known = |v: usize| comp_of[v] == usize::MAX;
        // parts − total over all cells, the known ones at their published value.
        let mut balance: i128 = 0;
        for (v, sign) in
            std::iter::once((rel.total, -1i128)).chain(rel.parts.iter().map(|&p| (p, 1)))
        {
            let x = if known(v) {
                i128::from(st.interval[v].0)
            } else {
                *value.get(&v)?
            };
            balance += sign * x;
        }
        if balance != 0 {
            return None;
        }
    }
    Some(members.iter().map(|v| value[v] as f64).collect())
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
) -> Result<(Option<f64>, Option<Vec<f64>>)> {
    let dir = if maximize {
        OptimizationDirection::Maximize
    } else {
        OptimizationDirection::Minimize
    };
    let mut pb = Problem::new(dir);
    let mut col = std::collections::BTreeMap::new();
    for &v in members {
        let (lo, hi) = own_bounds(st, v);
        // Integer variables need finite bounds: BIG stands for "unbounded".
        let hi = if integer && hi.is_infinite() { BIG } else { hi };
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
        // Parts minus total over the component's cells equals the known cells' constant.
        let terms: Vec<_> = std::iter::once((rel.total, -1.0))
            .chain(rel.parts.iter().map(|&p| (p, 1.0)))
            .filter(|&(v, _)| comp_of[v] != usize::MAX)
            .map(|(v, coef)| (col[&v], coef))
            .collect();
        let rhs = relation_constant(model, st, r, comp_of);
        pb.add_constraint(terms.as_slice(), ComparisonOp::Eq, rhs);
    }
    match pb.solve() {
        Ok(outcome) => match outcome.into_solution() {
            Ok(sol) => Ok((
                Some(sol.objective()),
                Some(members.iter().map(|v| sol.var_value(col[v])).collect()),
            )),
            Err(_) => Err(DisclosureError::Solver("audit solve interrupted".into())),
        },
        Err(microlp::Error::Unbounded) => Ok((None, None)),
        Err(source) => Err(DisclosureError::SolverFailed {
            task: "audit",
            cell: model.vars[target].identity.to_string(),
            source,
        }),
    }
}

/// Assemble the report from intervals. `method` is how the intervals were obtained (exact
/// integer programs or certificates); cells whose interval is only the relaxation's are
/// labelled [`AuditMethod::Relaxation`], and the report's method is the weakest used.
pub(crate) fn report(
    release: &Release,
    model: &Model,
    st: &State,
    intervals: &Intervals,
    method: AuditMethod,
) -> AuditReport {
    let mut cells = Vec::with_capacity(model.len());
    let (mut npub, mut nprim, mut nsec, mut npart, mut failing) = (0, 0, 0, 0, 0);
    let mut weakest = method;
    for (i, var) in model.vars.iter().enumerate() {
        let class = st.class[i];
        match class {
            ValueClass::Published => npub += 1,
            ValueClass::Primary => nprim += 1,
            ValueClass::Secondary => nsec += 1,
            ValueClass::Partner => npart += 1,
        }
        let (low, high, pass, published, cell_method) = if class == ValueClass::Published {
            let (a, b) = st.interval[i];
            (Some(a), Some(b), true, st.figure[i], AuditMethod::Exact)
        } else {
            let cell_method = if intervals.relaxed(i) {
                AuditMethod::Relaxation
            } else if intervals.inner(i) {
                method.weakest(AuditMethod::Certificate)
            } else {
                method
            };
            weakest = weakest.weakest(cell_method);
            match intervals.get(i).copied().flatten() {
                Some((lo, hi)) => {
                    let width = hi.map(|h| h.saturating_sub(lo)).unwrap_or(u64::MAX);
                    // A relaxation's bounded interval is wider than the integer attacker's:
                    // it proves nothing. Its unbounded upper end is exact (module docs).
                    let proven = cell_method.proves_width() || hi.is_none();
                    let pass = st.required[i] == 0 || (proven && width >= st.required[i]);
                    (Some(lo), hi, pass, None, cell_method)
                }
                None => (None, None, st.required[i] == 0, None, cell_method),
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
            method: cell_method,
            required_width: st.required[i],
            pass,
        });
    }
    AuditReport {
        pass: failing == 0,
        method: weakest,
        protection_level: st.protection_level,
        published: npub,
        primary: nprim,
        secondary: nsec,
        partner: npart,
        failing,
        cells,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::primary::initial_state;
    use crate::table::{Dimension, Hierarchy, Table};
    use crate::{Policy, ProtectOptions};

    /// A rows × cols × layers table with every margin.
    fn cube(sizes: [usize; 3], counts: &[u64]) -> Release {
        let dims = (0..3)
            .map(|d| {
                let codes = (0..sizes[d]).map(|i| format!("c{i}"));
                Dimension::new(format!("d{d}"), Hierarchy::flat("T", codes))
            })
            .collect();
        let mut table = Table::new("t", "n", dims);
        let code = |d: usize, i: usize| {
            if i == sizes[d] {
                "T".to_string()
            } else {
                format!("c{i}")
            }
        };
        let mut leaf = counts.iter().cycle();
        let mut leaves = std::collections::HashMap::new();
        for a in 0..sizes[0] {
            for b in 0..sizes[1] {
                for c in 0..sizes[2] {
                    leaves.insert((a, b, c), *leaf.next().expect("cycled"));
                }
            }
        }
        for a in 0..=sizes[0] {
            for b in 0..=sizes[1] {
                for c in 0..=sizes[2] {
                    let sum: u64 = leaves
                        .iter()
                        .filter(|((x, y, z), _)| {
                            (a == sizes[0] || *x == a)
                                && (b == sizes[1] || *y == b)
                                && (c == sizes[2] || *z == c)
                        })
                        .map(|(_, n)| n)
                        .sum();
                    table
                        .insert_count([code(0, a), code(1, b), code(2, c)], sum)
                        .expect("a cell");
                }
            }
        }
        Release::new(vec![table])
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

        /// Reusing earlier solutions skips programs but never changes an interval.
        #[test]
        fn reusing_points_gives_the_same_exact_intervals(
            sizes in prop::array::uniform3(2usize..=3),
            counts in prop::collection::vec(0u64..12, 8..27),
            withheld in prop::collection::vec(prop::bool::weighted(0.7), 64),
        ) {
            let release = cube(sizes, &counts);
            let model = Model::build(&release).unwrap();
            let options = ProtectOptions::new(Policy::threshold(3));
            let mut st = initial_state(&model, &options, &Default::default()).unwrap();
            for v in (0..model.len()).filter(|&v| withheld[v % withheld.len()]) {
                if st.class[v] == ValueClass::Published {
                    st.set_class(v, ValueClass::Secondary);
                }
            }
            let limit = EXACT_COMPONENT_LIMIT;
            let reused = intervals(&model, &st, &mut IntervalCache::default(), true, limit, AuditDepth::Exact).unwrap();
            let solved = intervals(&model, &st, &mut IntervalCache::default(), false, limit, AuditDepth::Exact).unwrap();
            prop_assert_eq!(reused, solved);
        }

        /// A verdict audit passes and fails exactly the cells the exact audit does; a cell it
        /// settles from feasible tables has an interval inside the exact one, wide enough.
        #[test]
        fn a_verdict_audit_gives_the_exact_audit_s_verdicts(
            sizes in prop::array::uniform3(2usize..=3),
            counts in prop::collection::vec(0u64..12, 8..27),
            withheld in prop::collection::vec(prop::bool::weighted(0.7), 64),
            k in 2u64..=5,
        ) {
            let release = cube(sizes, &counts);
            let model = Model::build(&release).unwrap();
            let options = ProtectOptions::new(Policy::threshold(k));
            let mut st = initial_state(&model, &options, &Default::default()).unwrap();
            for v in (0..model.len()).filter(|&v| withheld[v % withheld.len()]) {
                if st.class[v] == ValueClass::Published {
                    st.set_class(v, ValueClass::Secondary);
                }
            }
            let exact = intervals_to(&model, &st, AuditDepth::Exact).unwrap();
            let verdict = intervals_to(&model, &st, AuditDepth::Verdict).unwrap();
            let exact_report = report(&release, &model, &st, &exact, AuditMethod::Exact);
            let verdict_report = report(&release, &model, &st, &verdict, AuditMethod::Exact);
            for (e, v) in exact_report.cells.iter().zip(&verdict_report.cells) {
                prop_assert_eq!(e.pass, v.pass, "{:?} / {:?}", e, v);
                if v.method == AuditMethod::Certificate {
                    prop_assert!(v.pass);
                    prop_assert!(e.low <= v.low, "{:?} / {:?}", e, v);
                    prop_assert!(e.high.is_none() || e.high >= v.high, "{:?} / {:?}", e, v);
                } else {
                    prop_assert_eq!((e.low, e.high), (v.low, v.high));
                }
            }
            prop_assert_eq!(exact_report.pass, verdict_report.pass);
        }

        /// Solved as the relaxation, an interval labelled exact is the integer one, and one
        /// labelled relaxed contains it.
        #[test]
        fn relaxation_labels_only_what_it_proves_exact(
            sizes in prop::array::uniform3(2usize..=3),
            counts in prop::collection::vec(0u64..12, 8..27),
            withheld in prop::collection::vec(prop::bool::weighted(0.7), 64),
        ) {
            let release = cube(sizes, &counts);
            let model = Model::build(&release).unwrap();
            let options = ProtectOptions::new(Policy::threshold(3));
            let mut st = initial_state(&model, &options, &Default::default()).unwrap();
            for v in (0..model.len()).filter(|&v| withheld[v % withheld.len()]) {
                if st.class[v] == ValueClass::Published {
                    st.set_class(v, ValueClass::Secondary);
                }
            }
            let mut cache = IntervalCache::default();
            let exact = intervals(&model, &st, &mut cache, true, EXACT_COMPONENT_LIMIT, AuditDepth::Exact).unwrap();
            prop_assert!(exact.relaxed.is_empty());
            let relaxed = intervals(&model, &st, &mut IntervalCache::default(), true, 0, AuditDepth::Exact).unwrap();
            for v in 0..model.len() {
                let (Some(e), Some(r)) = (exact[v], relaxed[v]) else {
                    prop_assert_eq!(exact[v], relaxed[v]);
                    continue;
                };
                if relaxed.relaxed(v) {
                    prop_assert!(r.0 <= e.0, "{:?} {:?}", r, e);
                    prop_assert!(r.1.is_none() || e.1.is_some_and(|h| Some(h) <= r.1));
                } else {
                    prop_assert_eq!(r, e);
                }
            }
        }
    }

    /// The verdict audit does settle cells from the tables it finds (the property above would
    /// hold vacuously if it never did): in a 3 × 3 × 3 cube with every inner cell withheld, most
    /// cells pass without programs of their own, with the exact audit's verdicts, and the same
    /// ones every time (a lane decides from its own tables only; deciding from every thread's
    /// tables made the count vary from run to run: with every cell withheld, 64 of 64 settled
    /// here and 32 of 64 in a CI run).
    #[test]
    fn a_verdict_audit_settles_cells_from_the_tables_it_finds() {
        let counts: Vec<u64> = (0..27).map(|i| 3 + (i * 7) % 11).collect();
        let release = cube([3, 3, 3], &counts);
        let model = Model::build(&release).unwrap();
        let options = ProtectOptions::new(Policy::threshold(3));
        let mut st = initial_state(&model, &options, &Default::default()).unwrap();
        for v in 0..model.len() {
            // Margins are left out of an identity's coordinates: an inner cell has all three.
            if st.class[v] == ValueClass::Published && model.vars[v].identity.coords.len() == 3 {
                st.set_class(v, ValueClass::Secondary);
            }
        }
        let verdict = intervals_to(&model, &st, AuditDepth::Verdict).unwrap();
        // What a lane learns is its own: the same input gives the same intervals every time.
        for _ in 0..3 {
            assert_eq!(
                intervals_to(&model, &st, AuditDepth::Verdict).unwrap(),
                verdict
            );
        }
        let exact = intervals_to(&model, &st, AuditDepth::Exact).unwrap();
        let verdict = report(&release, &model, &st, &verdict, AuditMethod::Exact);
        let exact = report(&release, &model, &st, &exact, AuditMethod::Exact);
        let settled = verdict
            .cells
            .iter()
            .filter(|c| c.method == AuditMethod::Certificate)
            .count();
        let withheld = verdict
            .cells
            .iter()
            .filter(|c| c.class != ValueClass::Published)
            .count();
        assert_eq!(withheld, 27);
        assert!(settled * 2 > withheld, "{settled} of {withheld} settled");
        assert_eq!(verdict.method, AuditMethod::Certificate);
        let verdicts = |r: &AuditReport| r.cells.iter().map(|c| c.pass).collect::<Vec<_>>();
        assert_eq!(verdicts(&verdict), verdicts(&exact));
    }

    /// A cell whose interval is only the relaxation's proves nothing, however wide, unless
    /// it is unbounded above; the report takes the weakest method.
    #[test]
    fn relaxation_intervals_never_pass_a_bounded_cell() {
        let release = cube([2, 2, 2], &[1, 7, 9, 4, 6, 8, 5, 3]);
        let model = Model::build(&release).unwrap();
        let options = ProtectOptions::new(Policy::threshold(3));
        let st = initial_state(&model, &options, &Default::default()).unwrap();
        let primary = (0..model.len())
            .find(|&v| st.class[v] == ValueClass::Primary)
            .expect("a count of 1");
        let mut iv = Intervals::unknown(model.len());
        iv[primary] = Some((0, Some(100)));
        let exact = report(&release, &model, &st, &iv, AuditMethod::Exact);
        let cell = exact.cells.iter().find(|c| c.value == Some(1)).unwrap();
        assert!(cell.pass && exact.pass);
        assert_eq!(
            (cell.method, exact.method),
            (AuditMethod::Exact, AuditMethod::Exact)
        );

        iv.relaxed.insert(primary);
        let relaxed = report(&release, &model, &st, &iv, AuditMethod::Exact);
        let cell = relaxed.cells.iter().find(|c| c.value == Some(1)).unwrap();
        assert!(!cell.pass && !relaxed.pass);
        assert_eq!(relaxed.failing, 1);
        assert_eq!(cell.method, AuditMethod::Relaxation);
        assert_eq!(relaxed.method, AuditMethod::Relaxation);
        let certified = report(&release, &model, &st, &iv, AuditMethod::Certificate);
        assert_eq!(certified.method, AuditMethod::Relaxation);
        assert!(relaxed.to_csv().contains(",relaxation,3,false"));
        let published = relaxed
            .cells
            .iter()
            .find(|c| c.published.is_some())
            .unwrap();
        assert_eq!(published.method, AuditMethod::Exact);

        // Unbounded above: an unbounded relaxation is an unbounded integer program.
        iv[primary] = Some((0, None));
        let unbounded = report(&release, &model, &st, &iv, AuditMethod::Exact);
        assert!(unbounded.pass);
        assert_eq!(unbounded.method, AuditMethod::Relaxation);

        // Reports written before cells carried a method read as exact.
        let mut json = serde_json::to_value(&exact).unwrap();
        for cell in json["cells"].as_array_mut().unwrap() {
            cell.as_object_mut().unwrap().remove("method");
        }
        let old: AuditReport = serde_json::from_value(json).unwrap();
        assert_eq!(old, exact);
        assert_eq!(
            serde_json::to_string(&AuditMethod::Relaxation).unwrap(),
            "\"relaxation\""
        );
    }

    /// A 3×2×3 table where the relaxation leaves a withheld cell one wide while the integer
    /// attacker recovers it exactly: labelled a relaxation, it fails; solved exactly, it is
    /// recoverable. (Found by comparing the two solvers on random tables.)
    #[test]
    fn a_cell_the_relaxation_calls_protected_is_recoverable() {
        let release = cube(
            [3, 2, 3],
            &[3, 0, 0, 0, 3, 1, 3, 0, 3, 3, 1, 2, 0, 2, 0, 0, 0],
        );
        let model = Model::build(&release).unwrap();
        let options = ProtectOptions::new(Policy::threshold(3));
        let mut st = initial_state(&model, &options, &Default::default()).unwrap();
        let withheld = [12, 16, 18, 22, 24, 27, 32, 39, 44, 47];
        for v in (0..model.len()).filter(|v| withheld.contains(&(v % 64))) {
            if st.class[v] == ValueClass::Published {
                st.set_class(v, ValueClass::Secondary);
            }
        }
        let cell = (0..model.len())
            .find(|&v| model.vars[v].identity.to_string() == "n[d0=c1,d2=c2]")
            .unwrap();
        let relaxed = intervals(
            &model,
            &st,
            &mut IntervalCache::default(),
            true,
            0,
            AuditDepth::Exact,
        )
        .unwrap();
        assert_eq!(relaxed[cell], Some((4, Some(5))));
        assert!(relaxed.relaxed(cell));
        let audit = report(&release, &model, &st, &relaxed, AuditMethod::Exact);
        let row = audit
            .cells
            .iter()
            .find(|c| c.identity == "n[d0=c1,d2=c2]")
            .unwrap();
        assert_eq!((row.method, row.pass), (AuditMethod::Relaxation, false));
        assert_eq!(audit.method, AuditMethod::Relaxation);

        let exact = intervals_to(&model, &st, AuditDepth::Exact).unwrap();
        assert_eq!(exact[cell], Some((5, Some(5))));
        assert!(!exact.relaxed(cell));
    }
}
