//! Protection over everything a partnership has published: all tables of a new release and
//! of every earlier release, whatever their policy, protected together and proven by
//! integer certificates.
//!
//! **The attacker** holds every published table of every release. Within a release, the
//! same measure at the same non-total coordinates is one quantity wherever it appears;
//! every table's margins and hierarchies are sums; codes roll up along one hierarchy per
//! (canonical) dimension shared by all tables (months inside years, LSOAs inside wards inside
//! districts — the caller maps column names such as `area_code` and `lad_code` onto one
//! dimension); a part is at most its whole ([`Nested`], e.g. knife offences ≤ offences);
//! between releases the attacker may assume that each shared quantity changed the way the
//! data truly changed (later ≥ earlier where records were added, ≤ where removed, = where
//! unchanged).
//!
//! **A certificate** is an integer deviation that the attacker cannot tell from the truth:
//! groups of records relabelled (a hypercube of `±t` around the target, through sibling
//! codes) or added/removed ("up": with all ancestors). Its effect on every quantity is
//! computed by containment — a quantity moves by the sum of the signs of the record groups
//! it contains — so every additive relation of every table, hierarchy and roll-up holds by
//! construction. It is checked against what is known: every moved quantity is withheld in
//! the new release, and in each earlier release either the same deviation applies there too
//! (*tandem*: every moved quantity was withheld there, so every difference between the
//! releases is unchanged) or that release stays as published and each difference keeps its
//! sign. Withheld counts stay ≥ 1 (zeros are published), parts stay ≤ their wholes. Two
//! certificates that move a primary cell up by `u` and down by `d` prove that the integer
//! attacker's interval for it is at least `u + d` wide: this is what the audit reports, and
//! it is a proof, not an estimate (the true attacker interval may be wider).
//!
//! **Protection** looks, for each primary cell (aggregates first), for the cheapest
//! certificate — cost is the value of newly withheld cells plus one, so small cells go
//! before large margins — and withholds what it moves. A cell that no certificate can
//! protect leaves its tables out of the release (with the reason) and the rest is
//! protected again without them: the release always publishes what can be published.

/// The joint model hashes small integer keys millions of times: SipHash was a quarter of
/// publish time, and FxHash put similar keys in long probe chains. This multiply-mix hasher
/// is compiled with the model (optimised) and finishes with an avalanche, so similar keys
/// spread; it is seeded the same every run, and nothing iterates these maps into output
/// without sorting.
type HashMap<K, V> = std::collections::HashMap<K, V, BuildMixHasher>;
type HashSet<T> = std::collections::HashSet<T, BuildMixHasher>;
type BuildMixHasher = std::hash::BuildHasherDefault<MixHasher>;

#[derive(Default)]
struct MixHasher(u64);

impl MixHasher {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0 ^ word)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29);
    }
}

impl std::hash::Hasher for MixHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.mix(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        let mut tail = [0u8; 8];
        let rest = chunks.remainder();
        tail[..rest.len()].copy_from_slice(rest);
        self.mix(u64::from_le_bytes(tail) ^ ((rest.len() as u64) << 59));
    }
    fn write_u8(&mut self, i: u8) {
        self.mix(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.mix(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.mix(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.mix(i as u64);
    }
    /// MurmurHash3's finaliser: every input bit reaches the top bits the table probes with.
    fn finish(&self) -> u64 {
        let mut x = self.0;
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        x ^ (x >> 33)
    }
}
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::ProtectedTable;
use crate::audit::{AuditMethod, AuditReport, CellAudit};
use crate::error::{DisclosureError, Result};
use crate::policy::{CellOutcome, ValueClass};
use crate::table::{CellValue, Table};

/// One table in the joint model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JointTable {
    /// The table with its true values. Dimension names are canonical: two tables' columns
    /// that hold the same classification must carry the same dimension name.
    pub table: Table,
    /// 0 for the release being protected, 1.. for earlier releases (any order).
    pub release: usize,
    /// Threshold of the table's policy in its release: counts `1..k-1` are primary.
    pub k: u64,
    /// For earlier releases: the cells they withheld. Ignored for release 0.
    pub withheld: BTreeSet<Vec<String>>,
}

/// `part ≤ whole`: every quantity of measure `part` is at most the quantity of measure
/// `whole` with the same coordinates plus `whole_extra` (e.g. victims by age and sex ≤
/// involvements with role = victim by age and sex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nested {
    /// Measure of the part.
    pub part: String,
    /// Measure of the whole.
    pub whole: String,
    /// Coordinates the whole has in addition, as (dimension, code).
    pub whole_extra: Vec<(String, String)>,
}

/// Everything the attacker holds, and what is to be published.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JointInput {
    /// Tables of the new release (release 0) and of earlier releases.
    pub tables: Vec<JointTable>,
    /// Parts and wholes.
    pub nested: Vec<Nested>,
    /// Extra parent edges `(dimension, child, parent)` joining codes of different tables
    /// into one hierarchy, e.g. `("period", "2024-01", "2024")`.
    pub rollups: Vec<(String, String, String)>,
}

/// A table that is not published, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LeftOut {
    /// Table name.
    pub table: String,
    /// Why nothing of it could be published.
    pub reason: String,
}

/// Result of [`protect_joint`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JointProtection {
    /// Outcomes of every release-0 table, in input order (left-out tables: all withheld).
    pub tables: Vec<ProtectedTable>,
    /// Release-0 tables left out of the release.
    pub left_out: Vec<LeftOut>,
    /// The certificate audit of release 0's cells, plus failing earlier cells if any.
    pub audit: AuditReport,
}

/// Protect release 0 jointly with everything published before. Never refuses for size:
/// tables whose cells cannot be protected are left out, with the reason.
pub fn protect_joint(input: &JointInput) -> Result<JointProtection> {
    let mut excluded: BTreeSet<usize> = BTreeSet::new();
    let mut reasons: BTreeMap<usize, String> = BTreeMap::new();
    loop {
        let model = Joint::build(input, &excluded)?;
        let mut state = model.initial_state();
        model.protect(&mut state);
        let failing = model.failing(&state);
        let mut newly = BTreeSet::new();
        for target in &failing {
            for t in model.tables_showing(*target) {
                if !excluded.contains(&t) && newly.insert(t) {
                    reasons.insert(
                        t,
                        format!(
                            "withheld whole: no pattern of withheld cells protects {} ({}) more cheaply",
                            model.describe(*target),
                            model.failing_reason(&state, *target)
                        ),
                    );
                }
            }
        }
        if newly.is_empty() {
            return Ok(model.outcome(input, &state, &reasons));
        }
        excluded.extend(newly);
    }
}

// ---------------------------------------------------------------------------------------
// The model.

type Code = u32;

/// Quantities by measure and sorted non-root coordinates.
type QuantityIndex = HashMap<(u32, Vec<(usize, Code)>), usize>;

/// One canonical dimension: the union of every table's hierarchy and the roll-ups.
#[derive(Debug, Default)]
struct Dim {
    name: String,
    root: Code,
    parent: HashMap<Code, Code>,
    children: HashMap<Code, Vec<Code>>,
    depth: HashMap<Code, u8>,
}

impl Dim {
    fn ancestors_or_self(&self, code: Code) -> Vec<Code> {
        let mut out = vec![code];
        let mut cur = code;
        while let Some(&p) = self.parent.get(&cur) {
            out.push(p);
            cur = p;
        }
        out
    }

    fn depth(&self, code: Code) -> u8 {
        self.depth.get(&code).copied().unwrap_or(0)
    }
}

/// A table of the model.
#[derive(Debug)]
struct JTable {
    release: usize,
    measure: u32,
    /// Canonical dimension of each column.
    dims: Vec<usize>,
    /// Codes present per column.
    codes: Vec<HashSet<Code>>,
    /// Depths present per column (bit set).
    depths: Vec<u64>,
    /// Coordinates → quantity.
    cells: HashMap<Vec<Code>, usize>,
}

/// What one release knows of a quantity.
#[derive(Debug, Clone, Copy)]
struct Known {
    /// True value; `None` when partner-suppressed.
    value: Option<u64>,
    /// Withheld by that (earlier) release.
    withheld: bool,
    /// Threshold of the table that shows it.
    k: u64,
}

/// One quantity: measure and non-root coordinates.
#[derive(Debug)]
struct Quantity {
    measure: u32,
    coords: Vec<(usize, Code)>,
    /// Per release.
    known: Vec<Option<Known>>,
    /// Nested relations: (other quantity, whether this one is the part).
    pairs: Vec<(usize, bool)>,
}

/// The joint model.
#[derive(Debug)]
struct Joint {
    codes: Vec<String>,
    measures: Vec<String>,
    dims: Vec<Dim>,
    tables: Vec<JTable>,
    /// Input index of each model table.
    table_input: Vec<usize>,
    /// Input names.
    table_names: Vec<String>,
    quantities: Vec<Quantity>,
    releases: usize,
    /// Canonical dimensions used by each measure's tables.
    measure_dims: Vec<Vec<usize>>,
    /// Largest release-0 value of any quantity with that coordinate: descents follow it.
    weight: HashMap<(usize, Code), u64>,
    /// Quantity by measure and coordinates.
    index: QuantityIndex,
    /// Measures each measure is declared a part of.
    wholes: Vec<BTreeSet<u32>>,
    /// Memo of [`Joint::smallest_cell`]: descents ask the same question for every choice.
    smallest_cache: std::cell::RefCell<SmallestCache>,
}

/// Keyed by `[measure, e, d1, c1, d2, c2, …]`, so that a lookup borrows a slice built on
/// the stack: descents ask millions of times, and allocating a key each time was most of
/// the cost.
type SmallestCache = HashMap<Vec<u64>, u64>;

#[derive(Default)]
struct Interner {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

impl Interner {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.ids.get(s) {
            return i;
        }
        let i = self.names.len() as u32;
        self.ids.insert(s.to_string(), i);
        self.names.push(s.to_string());
        i
    }
}

impl Joint {
    fn build(input: &JointInput, excluded: &BTreeSet<usize>) -> Result<Joint> {
        let mut codes = Interner::default();
        let mut measures = Interner::default();
        // Dimensions are per family of measures (`sv_offences.offences` and
        // `sv_offences.knife_offences` share theirs): another family's hierarchy for a
        // column of the same name (age bands grouped for victims, not for the cohort) says
        // nothing about this family's tables.
        // Measures declared nested (a part and its whole) are one family whatever their names.
        let prefix = |measure: &str| measure.split('.').next().unwrap_or(measure).to_string();
        let mut family_of: HashMap<String, String> = HashMap::default();
        for n in &input.nested {
            let (a, b) = (prefix(&n.part), prefix(&n.whole));
            let root_b = family_of.get(&b).cloned().unwrap_or(b);
            let root_a = family_of.get(&a).cloned().unwrap_or(a);
            if root_a != root_b {
                for v in family_of.values_mut() {
                    if *v == root_a {
                        *v = root_b.clone();
                    }
                }
                family_of.insert(root_a, root_b);
            }
        }
        let family = |measure: &str| {
            let p = prefix(measure);
            family_of.get(&p).cloned().unwrap_or(p)
        };
        let mut dim_ids: BTreeMap<(String, String), usize> = BTreeMap::new();
        let mut dims: Vec<Dim> = Vec::new();
        let releases = input
            .tables
            .iter()
            .map(|t| t.release + 1)
            .max()
            .unwrap_or(1);

        // Canonical hierarchies: a non-root parent (a table's own, or a roll-up) wins over
        // the root; two different non-root parents are an error.
        let mut edges: Vec<(usize, Code, Code, bool)> = Vec::new();
        for (ti, jt) in input.tables.iter().enumerate() {
            if excluded.contains(&ti) {
                continue;
            }
            jt.table.validate()?;
            for d in &jt.table.dims {
                let root = codes.id(d.hierarchy.root());
                let key = (family(&jt.table.measure), d.name.clone());
                let di = *dim_ids.entry(key).or_insert_with(|| {
                    dims.push(Dim {
                        name: d.name.clone(),
                        root,
                        ..Default::default()
                    });
                    dims.len() - 1
                });
                if dims[di].root != root {
                    return Err(DisclosureError::InvalidOption(format!(
                        "dimension `{}` has total `{}` in table `{}` but `{}` elsewhere",
                        d.name,
                        d.hierarchy.root(),
                        jt.table.name,
                        codes.names[dims[di].root as usize]
                    )));
                }
            }
            for (coords, _) in jt.table.cells() {
                for (d, code) in jt.table.dims.iter().zip(coords) {
                    let di = dim_ids[&(family(&jt.table.measure), d.name.clone())];
                    let mut cur = code.as_str();
                    while let Some(p) = d.hierarchy.parent(cur) {
                        let (c, pc) = (codes.id(cur), codes.id(p));
                        edges.push((di, c, pc, p == d.hierarchy.root()));
                        cur = p;
                    }
                }
            }
        }
        let rollup_dims: Vec<((String, String), usize)> =
            dim_ids.iter().map(|(k, &v)| (k.clone(), v)).collect();
        let mut has_parent: HashSet<(usize, Code)> = edges.iter().map(|e| (e.0, e.1)).collect();
        for (dim, child, parent) in &input.rollups {
            for &(_, di) in rollup_dims.iter().filter(|((_, name), _)| name == dim) {
                let root = dims[di].root;
                let (c, p) = (codes.id(child), codes.id(parent));
                edges.push((di, c, p, p == root));
                has_parent.insert((di, c));
                if p != root && has_parent.insert((di, p)) {
                    edges.push((di, p, root, true));
                }
            }
        }
        edges.sort();
        edges.dedup();
        for &(di, c, p, to_root) in &edges {
            let dim = &mut dims[di];
            match dim.parent.get(&c).copied() {
                None => {
                    dim.parent.insert(c, p);
                }
                Some(old) if old == p => {}
                Some(old) if old == dim.root => {
                    dim.parent.insert(c, p);
                }
                Some(_) if to_root => {}
                Some(old) => {
                    return Err(DisclosureError::InvalidOption(format!(
                        "code `{}` of dimension `{}` has two parents, `{}` and `{}`",
                        codes.names[c as usize],
                        dim.name,
                        codes.names[old as usize],
                        codes.names[p as usize]
                    )));
                }
            }
        }
        for dim in &mut dims {
            let mut children: HashMap<Code, Vec<Code>> = HashMap::default();
            for (&c, &p) in &dim.parent {
                children.entry(p).or_default().push(c);
            }
            for list in children.values_mut() {
                list.sort_unstable();
            }
            dim.children = children;
            let keys: Vec<Code> = dim.parent.keys().copied().collect();
            for c in keys {
                let mut depth = 0u8;
                let mut cur = c;
                while let Some(&p) = dim.parent.get(&cur) {
                    depth = depth.saturating_add(1);
                    cur = p;
                    if depth == u8::MAX {
                        return Err(DisclosureError::BadHierarchy {
                            dim: dim.name.clone(),
                            root: codes.names[dim.root as usize].clone(),
                            code: codes.names[c as usize].clone(),
                        });
                    }
                }
                dim.depth.insert(c, depth);
            }
        }

        // Quantities and tables.
        let mut quantity_ids: QuantityIndex = HashMap::default();
        let mut quantities: Vec<Quantity> = Vec::new();
        let mut tables = Vec::new();
        let mut table_input = Vec::new();
        let mut measure_dims: BTreeMap<u32, BTreeSet<usize>> = BTreeMap::new();
        for (ti, jt) in input.tables.iter().enumerate() {
            if excluded.contains(&ti) {
                continue;
            }
            let measure = measures.id(&jt.table.measure);
            let fam = family(&jt.table.measure);
            let tdims: Vec<usize> = jt
                .table
                .dims
                .iter()
                .map(|d| dim_ids[&(fam.clone(), d.name.clone())])
                .collect();
            measure_dims.entry(measure).or_default().extend(&tdims);
            let mut table = JTable {
                release: jt.release,
                measure,
                codes: vec![HashSet::default(); tdims.len()],
                depths: vec![0; tdims.len()],
                dims: tdims,
                cells: HashMap::default(),
            };
            for (coords, value) in jt.table.cells() {
                let ids: Vec<Code> = coords.iter().map(|c| codes.id(c)).collect();
                let mut key: Vec<(usize, Code)> = Vec::new();
                for (col, &c) in ids.iter().enumerate() {
                    let dim = &dims[table.dims[col]];
                    table.codes[col].insert(c);
                    table.depths[col] |= 1 << dim.depth(c).min(63);
                    if c != dim.root {
                        key.push((table.dims[col], c));
                    }
                }
                key.sort_unstable();
                let q = *quantity_ids
                    .entry((measure, key.clone()))
                    .or_insert_with(|| {
                        quantities.push(Quantity {
                            measure,
                            coords: key,
                            known: vec![None; releases],
                            pairs: Vec::new(),
                        });
                        quantities.len() - 1
                    });
                let known = Known {
                    value: value.count(),
                    withheld: jt.release > 0 && jt.withheld.contains(coords),
                    k: jt.k,
                };
                let slot = &mut quantities[q].known[jt.release];
                match slot {
                    None => *slot = Some(known),
                    Some(old) => {
                        if old.value != known.value {
                            return Err(DisclosureError::ConflictingValues {
                                identity: format!("{}{:?}", jt.table.measure, coords),
                                table_a: format!("release {} (another table)", jt.release),
                                value_a: old.value,
                                table_b: jt.table.name.clone(),
                                value_b: known.value,
                            });
                        }
                        old.withheld |= known.withheld;
                        old.k = old.k.max(known.k);
                    }
                }
                table.cells.insert(ids, q);
            }
            tables.push(table);
            table_input.push(ti);
        }
        let mut measure_dims_vec = vec![Vec::new(); measures.names.len()];
        for (m, ds) in measure_dims {
            measure_dims_vec[m as usize] = ds.into_iter().collect();
        }
        let mut model = Joint {
            codes: codes.names,
            measures: measures.names,
            dims,
            tables,
            table_input,
            table_names: input.tables.iter().map(|t| t.table.name.clone()).collect(),
            quantities,
            releases,
            measure_dims: measure_dims_vec,
            weight: HashMap::default(),
            index: HashMap::default(),
            wholes: Vec::new(),
            smallest_cache: Default::default(),
        };
        // Codes no table shows (years above months that only month tables have) weigh what
        // their heaviest descendant does, so that pairs across them are tried.
        for q in &model.quantities {
            if let Some(Known { value: Some(v), .. }) = q.known[0] {
                for &(d, c) in &q.coords {
                    for a in model.dims[d].ancestors_or_self(c) {
                        let w = model.weight.entry((d, a)).or_insert(0);
                        *w = (*w).max(v);
                    }
                }
            }
        }
        let code_of = codes_lookup(&model);
        model.apply_nested(&input.nested, &quantity_ids, &dim_ids, &code_of, &family)?;
        model.index = quantity_ids;
        Ok(model)
    }

    fn apply_nested(
        &mut self,
        nested: &[Nested],
        ids: &QuantityIndex,
        dim_ids: &BTreeMap<(String, String), usize>,
        code_of: &HashMap<String, Code>,
        family: &dyn Fn(&str) -> String,
    ) -> Result<()> {
        let measure_of: HashMap<&str, u32> = self
            .measures
            .iter()
            .enumerate()
            .map(|(i, m)| (m.as_str(), i as u32))
            .collect();
        let mut links: Vec<(usize, usize)> = Vec::new();
        self.wholes = vec![BTreeSet::new(); self.measures.len()];
        for n in nested {
            let (Some(&part), Some(&whole)) = (
                measure_of.get(n.part.as_str()),
                measure_of.get(n.whole.as_str()),
            ) else {
                continue;
            };
            let mut extra = Vec::new();
            let mut known_extra = true;
            let fam = family(&n.whole);
            for (d, c) in &n.whole_extra {
                match (dim_ids.get(&(fam.clone(), d.clone())), code_of.get(c)) {
                    (Some(&d), Some(&c)) => extra.push((d, c)),
                    _ => known_extra = false,
                }
            }
            if !known_extra {
                continue;
            }
            for (pi, q) in self.quantities.iter().enumerate() {
                if q.measure != part {
                    continue;
                }
                let mut key: Vec<(usize, Code)> = q.coords.clone();
                key.extend(&extra);
                key.sort_unstable();
                let Some(&wi) = ids.get(&(whole, key)) else {
                    continue;
                };
                for r in 0..self.releases {
                    let (Some(pk), Some(wk)) =
                        (self.quantities[pi].known[r], self.quantities[wi].known[r])
                    else {
                        continue;
                    };
                    if let (Some(pv), Some(wv)) = (pk.value, wk.value)
                        && pv > wv
                    {
                        return Err(DisclosureError::InvalidOption(format!(
                            "{} = {pv} is declared a part of {} = {wv} but exceeds it",
                            self.describe(pi),
                            self.describe(wi)
                        )));
                    }
                }
                links.push((pi, wi));
            }
            self.wholes[part as usize].insert(whole);
        }
        links.sort_unstable();
        links.dedup();
        for (pi, wi) in links {
            self.quantities[pi].pairs.push((wi, true));
            self.quantities[wi].pairs.push((pi, false));
        }
        Ok(())
    }

    fn describe(&self, q: usize) -> String {
        let quantity = &self.quantities[q];
        let mut s = format!("{}[", self.measures[quantity.measure as usize]);
        for (i, (d, c)) in quantity.coords.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str(&format!(
                "{}={}",
                self.dims[*d].name, self.codes[*c as usize]
            ));
        }
        s.push(']');
        s
    }
}

fn codes_lookup(model: &Joint) -> HashMap<String, Code> {
    model
        .codes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.clone(), i as Code))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Protection state and certificates.

/// Release-0 status of a quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    /// Not shown by any release-0 table.
    Absent,
    Published,
    Primary,
    Secondary,
    Partner,
}

#[derive(Debug)]
struct State {
    status: Vec<Status>,
    /// Required proven width (0 = none).
    required: Vec<u64>,
    /// Proven movement up / down in release 0 (or the release that requires it).
    up: Vec<u64>,
    down: Vec<u64>,
    /// Primary cells whose value an earlier release already published: nothing to protect.
    already_public: Vec<Option<usize>>,
}

/// A verified certificate.
#[derive(Debug, Clone)]
struct Certificate {
    /// Deviation per quantity (release-0 or tandem), non-zero only.
    moves: Vec<(usize, i64)>,
    /// Largest t for +t·dev and for −t·dev.
    plus: u64,
    minus: u64,
    /// Earlier releases that move in tandem.
    tandem: Vec<bool>,
    cost: f64,
}

const UNBOUNDED: u64 = u64::MAX / 4;

impl Certificate {
    /// How far a quantity that moves `dev` per unit of the certificate goes up and down.
    fn span(&self, dev: i64) -> (u64, u64) {
        let a = dev.unsigned_abs();
        if dev > 0 {
            (self.plus.saturating_mul(a), self.minus.saturating_mul(a))
        } else {
            (self.minus.saturating_mul(a), self.plus.saturating_mul(a))
        }
    }
}

impl Joint {
    fn initial_state(&self) -> State {
        let n = self.quantities.len();
        let mut st = State {
            status: vec![Status::Absent; n],
            required: vec![0; n],
            up: vec![0; n],
            down: vec![0; n],
            already_public: vec![None; n],
        };
        let measures0: HashSet<u32> = self
            .tables
            .iter()
            .filter(|t| t.release == 0)
            .map(|t| t.measure)
            .collect();
        for (i, q) in self.quantities.iter().enumerate() {
            // Earlier primaries stay withheld and need a certificate that moves them in
            // that release too; earlier secondaries are merely cheap to withhold again.
            let earlier_need = q.known[1..]
                .iter()
                .flatten()
                .filter(|k| k.withheld && k.value.is_some_and(|v| v > 0 && v < k.k))
                .map(|k| k.k)
                .max()
                .unwrap_or(0);
            let value0 = q.known[0].and_then(|k| k.value);
            let public_in = (1..self.releases).find(|&r| {
                matches!(q.known[r], Some(k) if !k.withheld && k.value.is_some() && k.value == value0)
            });
            // An earlier primary of a count this release does not publish at all stays as
            // protected as it was: nothing new is said about it.
            let earlier_need = if measures0.contains(&q.measure) {
                earlier_need
            } else {
                0
            };
            let mut need = earlier_need;
            if let Some(k0) = q.known[0] {
                st.status[i] = match k0.value {
                    None => Status::Partner,
                    Some(v) if v > 0 && v < k0.k && public_in.is_some() => Status::Published,
                    Some(v) if v > 0 && v < k0.k => {
                        need = need.max(k0.k);
                        Status::Primary
                    }
                    Some(v) if v > 0 && earlier_need > 0 => Status::Secondary,
                    Some(_) => Status::Published,
                };
            }
            if let Some(r) = public_in {
                st.already_public[i] = Some(r);
            } else {
                st.required[i] = need;
            }
        }
        st
    }

    fn withheld0(&self, st: &State, q: usize) -> bool {
        matches!(
            st.status[q],
            Status::Primary | Status::Secondary | Status::Partner
        )
    }

    /// Targets in the order they are protected: aggregates first (fewest non-total
    /// coordinates), then smallest values, then identity.
    fn targets(&self, st: &State) -> Vec<usize> {
        let mut t: Vec<usize> = (0..self.quantities.len())
            .filter(|&i| st.required[i] > 0)
            .collect();
        t.sort_by_key(|&i| {
            let q = &self.quantities[i];
            (
                q.measure,
                q.coords.len(),
                q.known[0].and_then(|k| k.value).unwrap_or(0),
                i,
            )
        });
        t
    }

    /// What withholding a whole release-0 column costs: every cell of it.
    fn column_cost(&self, table: &JTable) -> f64 {
        table
            .cells
            .values()
            .map(|&q| {
                1.0 + self.quantities[q].known[0]
                    .and_then(|k| k.value)
                    .unwrap_or(0) as f64
            })
            .sum()
    }

    fn protect(&self, st: &mut State) {
        let mut cheapest_column: HashMap<u32, f64> = HashMap::default();
        for t in self.tables.iter().filter(|t| t.release == 0) {
            let c = self.column_cost(t);
            let e = cheapest_column.entry(t.measure).or_insert(c);
            *e = e.min(c);
        }
        for target in self.targets(st) {
            for _ in 0..4 {
                if st.up[target].saturating_add(st.down[target]) >= st.required[target] {
                    break;
                }
                let Some(cert) = self.best_certificate(st, target) else {
                    break;
                };
                // Dearer than withholding a whole column of the target's count: leave the
                // target unprotected here, so that its column is withheld instead.
                let measure = self.quantities[target].measure;
                if cheapest_column
                    .get(&measure)
                    .is_some_and(|&c| cert.cost > c && self.quantities[target].known[0].is_some())
                {
                    break;
                }
                if std::env::var_os("SVNA_DEBUG_JOINT").is_some() {
                    let (u, d) = self.movement(&cert, target);
                    let big: Vec<String> = cert
                        .moves
                        .iter()
                        .filter(|(q, _)| self.quantities[*q].coords.len() <= 1)
                        .map(|(q, _)| self.describe(*q))
                        .collect();
                    eprintln!(
                        "{} up {u} down {d} cost {} moves {} margins {:?}",
                        self.describe(target),
                        cert.cost,
                        cert.moves.len(),
                        big
                    );
                }
                self.apply(st, &cert);
            }
        }
    }

    fn apply(&self, st: &mut State, cert: &Certificate) {
        for &(q, dev) in &cert.moves {
            if st.status[q] == Status::Published {
                st.status[q] = Status::Secondary;
            }
            let (u, d) = cert.span(dev);
            // An earlier-release requirement is met only by tandem certificates.
            let earlier_only = self.quantities[q].known[0].is_none();
            let counts = !earlier_only || self.moves_in_every_requiring_release(q, cert);
            if counts {
                st.up[q] = st.up[q].max(u.min(UNBOUNDED));
                st.down[q] = st.down[q].max(d.min(UNBOUNDED));
            }
        }
    }

    fn moves_in_every_requiring_release(&self, q: usize, cert: &Certificate) -> bool {
        (1..self.releases).all(|r| match self.quantities[q].known[r] {
            Some(k) if k.withheld && k.value.is_some_and(|v| v > 0 && v < k.k) => cert.tandem[r],
            _ => true,
        })
    }

    fn failing(&self, st: &State) -> Vec<usize> {
        (0..self.quantities.len())
            .filter(|&i| st.required[i] > 0 && st.up[i].saturating_add(st.down[i]) < st.required[i])
            .collect()
    }

    fn failing_reason(&self, st: &State, q: usize) -> String {
        format!(
            "proven width {} < {}",
            st.up[q].saturating_add(st.down[q]),
            st.required[q]
        )
    }

    /// Model tables (input indices) of release 0 that show quantity `q`, or, when none
    /// does, every release-0 table of its measure.
    fn tables_showing(&self, q: usize) -> Vec<usize> {
        let measure = self.quantities[q].measure;
        let showing: Vec<usize> = self
            .tables
            .iter()
            .enumerate()
            .filter(|(_, t)| t.release == 0 && t.cells.values().any(|&c| c == q))
            .map(|(i, _)| self.table_input[i])
            .collect();
        if !showing.is_empty() {
            return showing;
        }
        self.tables
            .iter()
            .enumerate()
            .filter(|(_, t)| t.release == 0 && t.measure == measure)
            .map(|(i, _)| self.table_input[i])
            .collect()
    }

    /// Release-0 value of the quantity of `measure` at `coords` (sorted), if shown.
    fn value_at(&self, measure: u32, coords: &[(usize, Code)]) -> Option<u64> {
        let mut key = coords.to_vec();
        key.sort_unstable();
        let q = *self.index.get(&(measure, key))?;
        self.quantities[q].known[0].and_then(|k| k.value)
    }

    /// How far the quantity of `measure` at `coords` can move alone: its value, and for a
    /// part, the room below each whole.
    fn capacity_at(&self, measure: u32, coords: &[(usize, Code)]) -> u64 {
        let Some(value) = self.value_at(measure, coords) else {
            return 0;
        };
        self.wholes[measure as usize]
            .iter()
            .filter_map(|&w| self.value_at(w, coords))
            .map(|whole| whole.saturating_sub(value) + 1)
            .fold(value, u64::min)
    }

    /// How far the quantity of `measure` at `coords` can grow alone: up to its wholes
    /// (unbounded when it is part of nothing); 0 when it is not shown or is 0.
    fn room_up(&self, measure: u32, coords: &[(usize, Code)]) -> u64 {
        match self.value_at(measure, coords) {
            None | Some(0) => 0,
            Some(value) => self.wholes[measure as usize]
                .iter()
                .filter_map(|&w| self.value_at(w, coords))
                .map(|whole| whole.saturating_sub(value))
                .fold(UNBOUNDED, u64::min),
        }
    }

    /// The smallest release-0 cell, over the tables of `measure` that have dimension `e`,
    /// that contains a record group with these coordinates (other dimensions at their
    /// totals): a group placed there moves all of them, so none may be zero or absent.
    fn smallest_cell(&self, measure: u32, coords: &[(usize, Code)], e: usize) -> u64 {
        let mut key = [0u64; 2 + 2 * 12];
        let len = 2 + 2 * coords.len();
        if len > key.len() {
            return self.smallest_cell_uncached(measure, coords, e);
        }
        key[0] = u64::from(measure);
        key[1] = e as u64;
        for (i, &(d, c)) in coords.iter().enumerate() {
            key[2 + 2 * i] = d as u64;
            key[3 + 2 * i] = u64::from(c);
        }
        let key = &key[..len];
        if let Some(&v) = self.smallest_cache.borrow().get(key) {
            return v;
        }
        let v = self.smallest_cell_uncached(measure, coords, e);
        self.smallest_cache.borrow_mut().insert(key.to_vec(), v);
        v
    }

    fn smallest_cell_uncached(&self, measure: u32, coords: &[(usize, Code)], e: usize) -> u64 {
        let mut smallest = u64::MAX;
        for t in self
            .tables
            .iter()
            .filter(|t| t.release == 0 && t.measure == measure && t.dims.contains(&e))
        {
            let key: Vec<Code> = t
                .dims
                .iter()
                .enumerate()
                .map(|(col, &d)| {
                    let code = coords
                        .iter()
                        .find(|(x, _)| *x == d)
                        .map_or(self.dims[d].root, |&(_, c)| c);
                    self.dims[d]
                        .ancestors_or_self(code)
                        .into_iter()
                        .find(|&a| t.depths[col] & (1 << self.dims[d].depth(a).min(63)) != 0)
                        .unwrap_or(self.dims[d].root)
                })
                .collect();
            let value = t
                .cells
                .get(&key)
                .and_then(|&q| self.quantities[q].known[0].and_then(|k| k.value))
                .unwrap_or(0);
            smallest = smallest.min(value);
        }
        smallest
    }

    /// Leaf reached from `code` in dimension `d`: at each level the child whose quantity,
    /// with the target's other coordinates (`context`), is largest, so that the record groups
    /// a certificate moves exist; failing that, the heaviest child overall.
    fn descend(&self, measure: u32, context: &[(usize, Code)], d: usize, code: Code) -> Code {
        let dim = &self.dims[d];
        let mut coords: Vec<(usize, Code)> =
            context.iter().copied().filter(|&(e, _)| e != d).collect();
        coords.push((d, code));
        let last = coords.len() - 1;
        let mut cur = code;
        while let Some(kids) = dim.children.get(&cur) {
            let Some(&best) = kids.iter().max_by_key(|&&k| {
                coords[last] = (d, k);
                (
                    self.value_at(measure, &coords).unwrap_or(0),
                    self.weight.get(&(d, k)).copied().unwrap_or(0),
                    std::cmp::Reverse(k),
                )
            }) else {
                break;
            };
            cur = best;
        }
        cur
    }

    /// Leaf of dimension `e` shared by record groups with the given coordinates: at each
    /// level the child whose smallest group quantity is largest.
    fn descend_jointly(&self, measure: u32, heads: &[Vec<(usize, Code)>], e: usize) -> Code {
        let dim = &self.dims[e];
        let mut cur = dim.root;
        let mut coords: Vec<Vec<(usize, Code)>> = heads
            .iter()
            .map(|h| {
                let mut c = h.clone();
                c.push((e, cur));
                c
            })
            .collect();
        while let Some(kids) = dim.children.get(&cur) {
            let capacities: Vec<(Code, u64)> = kids
                .iter()
                .map(|&k| {
                    let mut smallest = u64::MAX;
                    for c in coords.iter_mut() {
                        *c.last_mut().expect("pushed") = (e, k);
                        smallest = smallest.min(self.capacity_at(measure, c));
                    }
                    (k, smallest)
                })
                .collect();
            let weight = |k: Code| self.weight.get(&(e, k)).copied().unwrap_or(0);
            // A child where every group has room wins over any child where one has none.
            let roomy = capacities
                .iter()
                .filter(|(_, smallest)| *smallest > 0)
                .max_by_key(|&&(k, smallest)| (smallest, weight(k), std::cmp::Reverse(k)));
            let best = match roomy {
                Some(&(k, _)) => Some(k),
                // Where no table shows these coordinates together, the cells the groups
                // would fall in must still be non-empty: asked only here, because it is
                // the costliest question of a descent.
                None => capacities
                    .iter()
                    .max_by_key(|&&(k, _)| {
                        let shown = coords
                            .iter_mut()
                            .map(|c| {
                                *c.last_mut().expect("pushed") = (e, k);
                                self.smallest_cell(measure, c, e)
                            })
                            .min()
                            .unwrap_or(0);
                        (shown, weight(k), std::cmp::Reverse(k))
                    })
                    .map(|&(k, _)| k),
            };
            let Some(best) = best else {
                break;
            };
            cur = best;
        }
        cur
    }

    /// Codes worth pairing `code` with in dimension `d`: its siblings (the smallest whose
    /// quantity, with the target's other coordinates, has room for the requirement, and the
    /// largest), then siblings of its parent and grandparent: a pair across wards moves the
    /// two wards but no district; a pair across years moves the two years but no total.
    fn siblings(&self, target: usize, d: usize, code: Code, need: u64, limit: usize) -> Vec<Code> {
        let q = &self.quantities[target];
        let dim = &self.dims[d];
        let mut coords: Vec<(usize, Code)> =
            q.coords.iter().copied().filter(|&(e, _)| e != d).collect();
        coords.push((d, code));
        let last = coords.len() - 1;
        let mut out: Vec<Code> = Vec::new();
        let mut level = code;
        for round in 0..3 {
            let Some(&parent) = dim.parent.get(&level) else {
                break;
            };
            let mut sibs: Vec<(u64, Code)> = dim.children[&parent]
                .iter()
                .filter(|&&s| s != level)
                .map(|&s| {
                    coords[last] = (d, s);
                    let v = self
                        .value_at(q.measure, &coords)
                        .unwrap_or_else(|| self.weight.get(&(d, s)).copied().unwrap_or(0));
                    (v, s)
                })
                .filter(|&(w, _)| w > 0)
                .collect();
            sibs.sort_unstable();
            let quota = if round == 0 { limit } else { limit / 2 + 1 };
            let mut taken = 0;
            for &(w, s) in &sibs {
                if w > need && taken + 2 < quota {
                    out.push(s);
                    taken += 1;
                }
            }
            for &(_, s) in sibs.iter().rev() {
                if taken >= quota {
                    break;
                }
                if !out.contains(&s) {
                    out.push(s);
                    taken += 1;
                }
            }
            level = parent;
        }
        out
    }

    /// The cheapest certificate through `target` that brings its proven width to the
    /// requirement; failing that, the one that widens it most. The target's measure moves
    /// alone first; then together with the measures it is a part of (knife offences are
    /// offences: relabelling them moves both, so the part stays within its whole).
    fn best_certificate(&self, st: &State, target: usize) -> Option<Certificate> {
        let measure = self.quantities[target].measure;
        let alone = self.best_certificate_moving(st, target, &[measure]);
        let need = st.required[target];
        let have = (st.up[target], st.down[target]);
        let enough = |c: &Certificate| {
            let (u, d) = self.movement(c, target);
            have.0.max(u).saturating_add(have.1.max(d)) >= need
        };
        if alone.as_ref().is_some_and(enough) {
            return alone;
        }
        let alone = match (alone, self.spread_certificate(st, target)) {
            (_, Some(s)) if enough(&s) => return Some(s),
            (a, _) => a,
        };
        if self.wholes[measure as usize].is_empty() {
            return alone;
        }
        let mut measures = vec![measure];
        measures.extend(self.wholes[measure as usize].iter().copied());
        let with_wholes = self.best_certificate_moving(st, target, &measures);
        match (alone, with_wholes) {
            (Some(a), Some(w)) if enough(&w) => Some(if enough(&a) { a } else { w }),
            (Some(a), _) => Some(a),
            (None, w) => w,
        }
    }

    /// How far a certificate moves `target` up and down.
    fn movement(&self, cert: &Certificate, target: usize) -> (u64, u64) {
        let dev = cert
            .moves
            .iter()
            .find(|(m, _)| *m == target)
            .map(|m| m.1)
            .unwrap_or(0);
        cert.span(dev)
    }

    fn best_certificate_moving(
        &self,
        st: &State,
        target: usize,
        measures: &[u32],
    ) -> Option<Certificate> {
        let q = &self.quantities[target];
        let need = st.required[target];
        let varying: Vec<(usize, Code)> = q.coords.clone();
        let limit = match varying.len() {
            0 | 1 => 12,
            2 => 6,
            3 => 4,
            _ => 3,
        };
        // Per varying dimension: Some(sibling) or None (= up: move with its ancestors).
        let options: Vec<Vec<Option<Code>>> = varying
            .iter()
            .map(|&(d, c)| {
                let mut o: Vec<Option<Code>> = self
                    .siblings(target, d, c, need, limit)
                    .into_iter()
                    .map(Some)
                    .collect();
                o.push(None);
                o
            })
            .collect();
        let mut all_dims: BTreeSet<usize> = BTreeSet::new();
        for &m in measures {
            all_dims.extend(&self.measure_dims[m as usize]);
        }
        let others: Vec<usize> = all_dims
            .iter()
            .copied()
            .filter(|d| !varying.iter().any(|(e, _)| e == d))
            .collect();
        let have = (st.up[target], st.down[target]);
        let mut best: Option<(bool, f64, u64, Certificate)> = None;
        let mut idx = vec![0usize; options.len()];
        let mut budget = 2000usize;
        loop {
            budget -= 1;
            let choice: Vec<Option<Code>> = idx.iter().zip(&options).map(|(&i, o)| o[i]).collect();
            if let Some(cert) = self.certificate(st, target, measures, &varying, &choice, &others) {
                let (u, d) = self.movement(&cert, target);
                let width = have.0.max(u).saturating_add(have.1.max(d));
                let enough = width >= need;
                let better = match &best {
                    None => width > have.0.saturating_add(have.1),
                    Some((b_enough, b_cost, b_width, _)) => {
                        if enough != *b_enough {
                            enough
                        } else if enough {
                            cert.cost < *b_cost
                        } else {
                            width > *b_width || (width == *b_width && cert.cost < *b_cost)
                        }
                    }
                };
                if better {
                    best = Some((enough, cert.cost, width, cert));
                }
            }
            // Next combination.
            let mut d = options.len();
            loop {
                if d == 0 || budget == 0 {
                    return best.map(|b| b.3);
                }
                d -= 1;
                idx[d] += 1;
                if idx[d] < options[d].len() {
                    break;
                }
                idx[d] = 0;
            }
        }
    }

    /// Builds the deviation of one hypercube choice and checks it against everything known.
    fn certificate(
        &self,
        st: &State,
        target: usize,
        measures: &[u32],
        varying: &[(usize, Code)],
        choice: &[Option<Code>],
        others: &[usize],
    ) -> Option<Certificate> {
        let tq = &self.quantities[target];
        // The record groups' codes in the varying dimensions.
        let mut heads: Vec<Vec<(usize, Code)>> = vec![Vec::new()];
        for (&(d, c), opt) in varying.iter().zip(choice) {
            let mut next = Vec::with_capacity(heads.len() * 2);
            for h in &heads {
                let mut a = h.clone();
                a.push((d, c));
                next.push(a);
                if let Some(s) = opt {
                    let mut b = h.clone();
                    b.push((d, *s));
                    next.push(b);
                }
            }
            heads = next;
        }
        // In every other dimension all groups share one leaf, so that they cancel there:
        // the child where the smallest group is largest.
        let mut base: HashMap<usize, Code> = HashMap::default();
        for &e in others {
            base.insert(e, self.descend_jointly(tq.measure, &heads, e));
        }
        // Vertices: groups of records, each a leaf profile with a sign.
        let mut vertices: Vec<(HashMap<usize, Code>, i64)> = vec![(base, 1)];
        for (&(d, c), opt) in varying.iter().zip(choice) {
            let own = self.descend(tq.measure, &tq.coords, d, c);
            let sibling = opt.map(|s| self.descend(tq.measure, &tq.coords, d, s));
            let mut next = Vec::with_capacity(vertices.len() * 2);
            for (profile, sign) in &vertices {
                let mut p = profile.clone();
                p.insert(d, own);
                next.push((p, *sign));
                if let Some(s) = sibling {
                    let mut p = profile.clone();
                    p.insert(d, s);
                    next.push((p, -sign));
                }
            }
            vertices = next;
        }
        self.check(st, target, measures, &vertices, &format!("{choice:?}"))
    }

    /// "Spread": add records to the target one leaf at a time, each where its parts stay
    /// within their wholes, until the requirement is met. For rare counts (firearm
    /// offences) whose every cell is small, no single leaf has room, but several together do.
    fn spread_certificate(&self, st: &State, target: usize) -> Option<Certificate> {
        let tq = &self.quantities[target];
        let need = st.required[target].saturating_sub(1);
        let dims = &self.measure_dims[tq.measure as usize];
        // Leaves of the target: release-0 cells of its measure below it, in the finest table.
        let below = |q: &Quantity| {
            tq.coords.iter().all(|&(d, c)| {
                q.coords
                    .iter()
                    .any(|&(e, k)| e == d && self.dims[d].ancestors_or_self(k).contains(&c))
            })
        };
        let finest = self
            .tables
            .iter()
            .filter(|t| t.release == 0 && t.measure == tq.measure)
            .filter(|t| tq.coords.iter().all(|(d, _)| t.dims.contains(d)))
            .max_by_key(|t| t.dims.len())?;
        let mut leaves: Vec<(u64, Vec<(usize, Code)>)> = finest
            .cells
            .values()
            .map(|&q| &self.quantities[q])
            .filter(|q| q.coords.len() == finest.dims.len() && below(q))
            .map(|q| (self.room_up(tq.measure, &q.coords), q.coords.clone()))
            .filter(|(room, _)| *room > 0)
            .collect();
        leaves.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut vertices: Vec<(HashMap<usize, Code>, i64)> = Vec::new();
        let mut total = 0;
        for (room, coords) in leaves {
            if total >= need {
                break;
            }
            let take = room.min(need - total);
            let heads = vec![coords.clone()];
            let mut profile: HashMap<usize, Code> = coords.iter().copied().collect();
            for &e in dims {
                profile
                    .entry(e)
                    .or_insert_with(|| self.descend_jointly(tq.measure, &heads, e));
            }
            vertices.push((profile, take as i64));
            total += take;
        }
        if vertices.is_empty() {
            return None;
        }
        self.check(st, target, &[tq.measure], &vertices, "spread")
    }

    /// Checks the deviation made of weighted record groups (`vertices`) against everything
    /// known, and how far it can be applied each way.
    fn check(
        &self,
        st: &State,
        target: usize,
        measures: &[u32],
        vertices: &[(HashMap<usize, Code>, i64)],
        choice: &str,
    ) -> Option<Certificate> {
        // Deviation of every cell of every table of the moved measures, by containment.
        let mut dev: Vec<HashMap<usize, i64>> = vec![HashMap::default(); self.releases];
        let mut absent = vec![false; self.releases];
        for table in &self.tables {
            if !measures.contains(&table.measure) {
                continue;
            }
            let mut touched: HashMap<Vec<Code>, i64> = HashMap::default();
            for (profile, sign) in vertices {
                let mut lists: Vec<Vec<Code>> = Vec::with_capacity(table.dims.len());
                for (col, &d) in table.dims.iter().enumerate() {
                    let leaf = profile.get(&d).copied().unwrap_or(self.dims[d].root);
                    let list: Vec<Code> = self.dims[d]
                        .ancestors_or_self(leaf)
                        .into_iter()
                        .filter(|&a| table.depths[col] & (1 << self.dims[d].depth(a).min(63)) != 0)
                        .collect();
                    lists.push(list);
                }
                for_each_product(&lists, |coords| {
                    *touched.entry(coords.to_vec()).or_insert(0) += sign;
                });
            }
            for (coords, d) in touched {
                if d == 0 {
                    continue;
                }
                match table.cells.get(&coords) {
                    Some(&q) => {
                        dev[table.release].insert(q, d);
                    }
                    None => absent[table.release] = true,
                }
            }
        }
        let debug = std::env::var("SVNA_DEBUG_TARGET")
            .is_ok_and(|t| !t.is_empty() && self.describe(target).contains(&t));
        // Release 0: every moved cell exists and can be withheld.
        if absent[0] {
            if debug {
                eprintln!("{choice:?}: a moved cell is absent (a structural zero)");
            }
            return None;
        }
        let mut cost = 0.0;
        for &q in dev[0].keys() {
            let quantity = &self.quantities[q];
            let x = quantity.known[0]?.value?;
            if x == 0 || st.status[q] == Status::Partner {
                if debug {
                    eprintln!(
                        "{choice:?}: moves {} = {x} or a partner cell",
                        self.describe(q)
                    );
                }
                return None;
            }
            if !self.withheld0(st, q) {
                let withheld_before = quantity.known[1..].iter().flatten().any(|k| k.withheld);
                cost += if withheld_before { 0.5 } else { 1.0 + x as f64 };
            }
        }
        // Earlier releases: tandem where every moved cell is withheld there, otherwise that
        // release stays as published and each shared quantity keeps the sign of its true
        // change since.
        let mut limits = Limits::default();
        let mut tandem = vec![false; self.releases];
        for r in 1..self.releases {
            if dev[r].is_empty() && !absent[r] {
                continue;
            }
            // A zero an earlier release withheld (a column withheld whole) may move up.
            let tandem_ok = !absent[r]
                && dev[r].keys().all(|&q| {
                    self.quantities[q].known[r].is_some_and(|k| k.withheld && k.value.is_some())
                });
            if tandem_ok {
                tandem[r] = true;
                continue;
            }
            dev[r].clear();
            for (&q, &d) in &dev[0] {
                let x0 = self.quantities[q].known[0]?.value?;
                let Some(kr) = self.quantities[q].known[r] else {
                    continue;
                };
                let xr = kr.value?;
                match x0.cmp(&xr) {
                    std::cmp::Ordering::Equal => return None,
                    // x0 + t·d ≥ xr
                    std::cmp::Ordering::Greater => limits.add(-d, x0 - xr),
                    // x0 + t·d ≤ xr
                    std::cmp::Ordering::Less => limits.add(d, xr - x0),
                }
            }
        }
        // Within every release that moves: withheld counts stay ≥ 1, parts within wholes.
        for (r, moved) in dev.iter().enumerate() {
            for (&q, &d) in moved {
                let x = self.quantities[q].known[r]?.value?;
                // Withheld counts are ≥ 1 (zeros are published), except zeros withheld
                // with a whole column.
                limits.add(-d, x - x.min(1));
                let before = limits.plus;
                for &(o, q_is_part) in &self.quantities[q].pairs {
                    let Some(xo) = self.quantities[o].known[r].and_then(|k| k.value) else {
                        continue;
                    };
                    let d_other = dev[r].get(&o).copied().unwrap_or(0);
                    // part + t·d_part ≤ whole + t·d_whole
                    if q_is_part {
                        if dev[r].contains_key(&o) {
                            // Counted once, from the part's side.
                            limits.add(d - d_other, xo.saturating_sub(x));
                        } else {
                            limits.add(d, xo.saturating_sub(x));
                        }
                    } else if !dev[r].contains_key(&o) {
                        limits.add(-d, x.saturating_sub(xo));
                    }
                }
                if debug && limits.plus == 0 && before > 0 {
                    eprintln!(
                        "{choice}: {} = {x} moving {d} stops at a nested pair",
                        self.describe(q)
                    );
                }
            }
        }
        let mut moves: Vec<(usize, i64)> = dev[0].iter().map(|(&q, &d)| (q, d)).collect();
        for moved in &dev[1..] {
            for (&q, &d) in moved {
                if self.quantities[q].known[0].is_none() && !moves.iter().any(|m| m.0 == q) {
                    moves.push((q, d));
                }
            }
        }
        moves.sort_unstable();
        let (plus, minus) = (limits.plus, limits.minus);
        if debug {
            eprintln!("{choice:?}: plus {plus} minus {minus} cost {cost}");
        }
        if (plus == 0 && minus == 0) || !moves.iter().any(|&(q, _)| q == target) {
            return None;
        }
        Some(Certificate {
            moves,
            plus,
            minus,
            tandem,
            cost,
        })
    }
}

/// The largest `t` for applying a deviation as `+t` (plus) and as `−t` (minus), under
/// constraints `a·t ≤ b` (with `b ≥ 0`: the truth, `t = 0`, satisfies them).
struct Limits {
    plus: u64,
    minus: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            plus: UNBOUNDED,
            minus: UNBOUNDED,
        }
    }
}

impl Limits {
    fn add(&mut self, a: i64, b: u64) {
        let m = a.unsigned_abs();
        if a > 0 {
            self.plus = self.plus.min(b / m);
        } else if a < 0 {
            self.minus = self.minus.min(b / m);
        }
    }
}

fn for_each_product(lists: &[Vec<Code>], mut f: impl FnMut(&[Code])) {
    if lists.iter().any(Vec::is_empty) {
        return;
    }
    let mut idx = vec![0usize; lists.len()];
    let mut cur: Vec<Code> = lists.iter().map(|l| l[0]).collect();
    loop {
        f(&cur);
        let mut d = lists.len();
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            idx[d] += 1;
            if idx[d] < lists[d].len() {
                cur[d] = lists[d][idx[d]];
                break;
            }
            idx[d] = 0;
            cur[d] = lists[d][0];
        }
    }
}

// ---------------------------------------------------------------------------------------
// Outcome.

impl Joint {
    fn outcome(
        &self,
        input: &JointInput,
        st: &State,
        reasons: &BTreeMap<usize, String>,
    ) -> JointProtection {
        let mut tables = Vec::new();
        let mut left_out = Vec::new();
        let model_of: HashMap<usize, usize> = self
            .table_input
            .iter()
            .enumerate()
            .map(|(m, &i)| (i, m))
            .collect();
        let code_of = codes_lookup(self);
        for (ti, jt) in input.tables.iter().enumerate() {
            if jt.release != 0 {
                continue;
            }
            let t = &jt.table;
            let cells: Vec<(Vec<String>, CellOutcome)> = match model_of.get(&ti) {
                None => {
                    left_out.push(LeftOut {
                        table: t.name.clone(),
                        reason: reasons.get(&ti).cloned().unwrap_or_default(),
                    });
                    // Withheld whole, except figures another table of the release publishes
                    // (the same quantity: withholding it here would hide nothing).
                    t.cells()
                        .map(|(c, v)| {
                            let published = match v {
                                CellValue::Count(x) => self
                                    .quantity_of(t, c, &code_of)
                                    .filter(|&q| st.status[q] == Status::Published)
                                    .map(|_| *x),
                                CellValue::Partner { .. } => None,
                            };
                            let outcome = match published {
                                Some(value) => CellOutcome::Published { value },
                                None => CellOutcome::Withheld {
                                    class: ValueClass::Secondary,
                                },
                            };
                            (c.clone(), outcome)
                        })
                        .collect()
                }
                Some(&m) => {
                    let table = &self.tables[m];
                    t.cells()
                        .map(|(c, v)| {
                            let ids: Vec<Code> = c.iter().map(|s| code_of[s]).collect();
                            let q = table.cells[&ids];
                            let outcome = match (st.status[q], v) {
                                (Status::Published, CellValue::Count(x)) => {
                                    CellOutcome::Published { value: *x }
                                }
                                (Status::Primary, _) => CellOutcome::Withheld {
                                    class: ValueClass::Primary,
                                },
                                (Status::Partner, _) | (_, CellValue::Partner { .. }) => {
                                    CellOutcome::Withheld {
                                        class: ValueClass::Partner,
                                    }
                                }
                                _ => CellOutcome::Withheld {
                                    class: ValueClass::Secondary,
                                },
                            };
                            (c.clone(), outcome)
                        })
                        .collect()
                }
            };
            tables.push(ProtectedTable {
                name: t.name.clone(),
                dims: t.dims.iter().map(|d| d.name.clone()).collect(),
                cells,
            });
        }
        let audit = self.audit(st);
        JointProtection {
            tables,
            left_out,
            audit,
        }
    }

    /// The model's quantity for a cell of an input table, if the model has it.
    fn quantity_of(
        &self,
        table: &Table,
        coords: &[String],
        code_of: &HashMap<String, Code>,
    ) -> Option<usize> {
        let measure = self.measures.iter().position(|m| *m == table.measure)? as u32;
        let mut key = Vec::new();
        for (d, c) in table.dims.iter().zip(coords) {
            if c == d.hierarchy.root() {
                continue;
            }
            let dim = self.measure_dims[measure as usize]
                .iter()
                .copied()
                .find(|&di| self.dims[di].name == d.name)?;
            key.push((dim, *code_of.get(c)?));
        }
        key.sort_unstable();
        self.index.get(&(measure, key)).copied()
    }

    fn audit(&self, st: &State) -> AuditReport {
        let mut cells = Vec::new();
        let (mut npub, mut nprim, mut nsec, mut npart, mut failing) = (0, 0, 0, 0, 0);
        let k_max = self
            .quantities
            .iter()
            .filter_map(|q| q.known[0].map(|k| k.k))
            .max()
            .unwrap_or(0);
        let mut shown_in: Vec<Vec<String>> = vec![Vec::new(); self.quantities.len()];
        for (m, t) in self.tables.iter().enumerate() {
            if t.release == 0 {
                for &c in t.cells.values() {
                    shown_in[c].push(self.table_names[self.table_input[m]].clone());
                }
            }
        }
        for (i, q) in self.quantities.iter().enumerate() {
            let (class, value) = match (st.status[i], q.known[0]) {
                (Status::Absent, _) => {
                    if st.required[i] > 0 && st.up[i].saturating_add(st.down[i]) < st.required[i] {
                        failing += 1;
                        cells.push(CellAudit {
                            identity: format!(
                                "{} (withheld by an earlier release)",
                                self.describe(i)
                            ),
                            tables: Vec::new(),
                            coords: Vec::new(),
                            class: ValueClass::Primary,
                            value: None,
                            published: None,
                            low: None,
                            high: None,
                            required_width: st.required[i],
                            pass: false,
                            method: AuditMethod::Certificate,
                        });
                    }
                    continue;
                }
                (Status::Published, k) => (ValueClass::Published, k.and_then(|k| k.value)),
                (Status::Primary, k) => (ValueClass::Primary, k.and_then(|k| k.value)),
                (Status::Secondary, k) => (ValueClass::Secondary, k.and_then(|k| k.value)),
                (Status::Partner, _) => (ValueClass::Partner, None),
            };
            match class {
                ValueClass::Published => npub += 1,
                ValueClass::Primary => nprim += 1,
                ValueClass::Secondary => nsec += 1,
                ValueClass::Partner => npart += 1,
            }
            let published = (class == ValueClass::Published).then_some(value).flatten();
            let (low, high) = match (class, value) {
                (ValueClass::Published, v) => (v, v),
                (_, Some(x)) => {
                    let high = if st.up[i] >= UNBOUNDED {
                        None
                    } else {
                        Some(x + st.up[i])
                    };
                    (Some(x.saturating_sub(st.down[i])), high)
                }
                _ => (None, None),
            };
            let width = st.up[i].saturating_add(st.down[i]);
            let pass = st.required[i] == 0 || width >= st.required[i];
            if !pass {
                failing += 1;
            }
            let mut tables = std::mem::take(&mut shown_in[i]);
            tables.dedup();
            cells.push(CellAudit {
                identity: self.describe(i),
                tables,
                coords: q
                    .coords
                    .iter()
                    .map(|(d, c)| format!("{}={}", self.dims[*d].name, self.codes[*c as usize]))
                    .collect(),
                class,
                value,
                published,
                low,
                high,
                required_width: st.required[i],
                pass,
                method: AuditMethod::Certificate,
            });
        }
        AuditReport {
            pass: failing == 0,
            method: AuditMethod::Certificate,
            protection_level: k_max,
            published: npub,
            primary: nprim,
            secondary: nsec,
            partner: npart,
            failing,
            cells,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    /// Keys like the model's (small measure, dimension and code numbers) must differ in the
    /// top seven bits the table probes with, or lookups crawl along long chains.
    #[test]
    fn similar_small_keys_spread_over_the_probe_bits() {
        let build = BuildMixHasher::default();
        let mut hashes = HashSet::default();
        let mut top_bits = [0usize; 128];
        for measure in 0..4u64 {
            for code in 0..2500u64 {
                let key: Vec<u64> = vec![measure, 3, 0, code, 1, code % 7];
                let h = build.hash_one(&key);
                hashes.insert(h);
                top_bits[(h >> 57) as usize] += 1;
            }
        }
        assert_eq!(hashes.len(), 10_000, "full 64-bit collisions");
        let fullest = top_bits.iter().max().copied().unwrap_or(0);
        // 10,000 keys over 128 buckets: about 78 each; a weak hash piles them up.
        assert!(fullest < 160, "{fullest} keys share one top-bit pattern");
        assert!(
            top_bits.iter().all(|&n| n > 0),
            "a top-bit pattern is never used"
        );
    }
}
