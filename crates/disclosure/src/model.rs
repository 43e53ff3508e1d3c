//! The pooled linear model of a release: one variable per distinct quantity
//! and one equation per published additive relation.
//!
//! **Identity rule.** A cell's identity is `(measure, {(dimension, code)})`
//! over the dimensions whose code is *not* that dimension's root total. Table
//! A (district × month) cell (X, all months) and table B (district × age) cell
//! (X, all ages) of the same measure are therefore one variable, and the
//! relations of both tables constrain it — exactly how an attacker would
//! combine the two tables.
//!
//! **Relations.** For every cell and every dimension in which the cell's code
//! has children present in the table: cell = Σ child cells (other
//! coordinates fixed). "Children" are the nearest descendants *present in the
//! table*, so a table that skips the ward level still ties districts to LSOAs.
//! Absent child cells are structural zeros.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{DisclosureError, Result};
use crate::table::{CellValue, Release, Table};

/// The identity of a quantity across the tables of a release.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Identity {
    /// What is counted.
    pub measure: String,
    /// Non-total coordinates, sorted by dimension name.
    pub coords: Vec<(String, String)>,
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[", self.measure)?;
        for (i, (d, c)) in self.coords.iter().enumerate() {
            if i > 0 {
                write!(f, ",")?;
            }
            write!(f, "{d}={c}")?;
        }
        write!(f, "]")
    }
}

/// Where a variable appears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Occurrence {
    pub table: usize,
    pub coords: Vec<String>,
}

/// One distinct quantity.
#[derive(Debug, Clone)]
pub(crate) struct Var {
    pub identity: Identity,
    pub value: CellValue,
    pub occurrences: Vec<Occurrence>,
}

/// `total = Σ parts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Relation {
    pub total: usize,
    pub parts: Vec<usize>,
}

/// Per-table, per-dimension structure of present codes.
#[derive(Debug, Clone)]
pub(crate) struct DimIndex {
    /// Present codes, sorted.
    pub codes: Vec<String>,
    /// Nearest present parent (index into `codes`), `None` for the top.
    pub parent: Vec<Option<usize>>,
    /// Nearest present children.
    pub children: Vec<Vec<usize>>,
    /// Index of the root total if present.
    pub root: Option<usize>,
}

/// The pooled model.
#[derive(Debug, Clone)]
pub(crate) struct Model {
    pub vars: Vec<Var>,
    pub relations: Vec<Relation>,
    /// Relations touching each var.
    pub var_relations: Vec<Vec<usize>>,
    /// Per table: coords → var.
    pub cell_var: Vec<BTreeMap<Vec<String>, usize>>,
    /// Per table, per dimension.
    pub dim_index: Vec<Vec<DimIndex>>,
}

fn dim_index(table: &Table, d: usize) -> DimIndex {
    let h = &table.dims[d].hierarchy;
    let present: BTreeSet<&str> = table.cells().map(|(c, _)| c[d].as_str()).collect();
    let codes: Vec<String> = present.iter().map(|s| s.to_string()).collect();
    let pos: BTreeMap<&str, usize> = codes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    let mut parent = vec![None; codes.len()];
    let mut children = vec![Vec::new(); codes.len()];
    for (i, c) in codes.iter().enumerate() {
        let mut cur = h.parent(c);
        while let Some(p) = cur {
            if let Some(&j) = pos.get(p) {
                parent[i] = Some(j);
                children[j].push(i);
                break;
            }
            cur = h.parent(p);
        }
    }
    DimIndex {
        root: pos.get(h.root()).copied(),
        codes,
        parent,
        children,
    }
}

impl Model {
    pub fn build(release: &Release) -> Result<Model> {
        let mut ids: BTreeMap<Identity, usize> = BTreeMap::new();
        let mut vars: Vec<Var> = Vec::new();
        let mut cell_var = Vec::new();
        let mut dim_indexes = Vec::new();
        for (ti, t) in release.tables.iter().enumerate() {
            t.validate()?;
            let mut map = BTreeMap::new();
            for (coords, value) in t.cells() {
                let identity = Identity {
                    measure: t.measure.clone(),
                    coords: t.identity_coords(coords),
                };
                let v = match ids.get(&identity) {
                    Some(&v) => {
                        if vars[v].value != *value {
                            let other = &vars[v].occurrences[0];
                            return Err(DisclosureError::ConflictingValues {
                                identity: identity.to_string(),
                                table_a: release.tables[other.table].name.clone(),
                                value_a: vars[v].value.count(),
                                table_b: t.name.clone(),
                                value_b: value.count(),
                            });
                        }
                        v
                    }
                    None => {
                        vars.push(Var {
                            identity: identity.clone(),
                            value: *value,
                            occurrences: Vec::new(),
                        });
                        ids.insert(identity, vars.len() - 1);
                        vars.len() - 1
                    }
                };
                vars[v].occurrences.push(Occurrence {
                    table: ti,
                    coords: coords.clone(),
                });
                map.insert(coords.clone(), v);
            }
            let dims: Vec<DimIndex> = (0..t.dims.len()).map(|d| dim_index(t, d)).collect();
            cell_var.push(map);
            dim_indexes.push(dims);
        }

        // Relations, deduplicated across tables.
        let mut seen: BTreeSet<(usize, Vec<usize>)> = BTreeSet::new();
        let mut relations = Vec::new();
        let mut relation_table = Vec::new();
        for (ti, t) in release.tables.iter().enumerate() {
            let dims = &dim_indexes[ti];
            let code_pos: Vec<BTreeMap<&str, usize>> = dims
                .iter()
                .map(|di| {
                    di.codes
                        .iter()
                        .enumerate()
                        .map(|(i, c)| (c.as_str(), i))
                        .collect()
                })
                .collect();
            for (coords, &total) in &cell_var[ti] {
                for d in 0..t.dims.len() {
                    let ci = code_pos[d][coords[d].as_str()];
                    let kids = &dims[d].children[ci];
                    if kids.is_empty() {
                        continue;
                    }
                    let mut key = coords.clone();
                    let mut parts: Vec<usize> = kids
                        .iter()
                        .filter_map(|&k| {
                            key[d] = dims[d].codes[k].clone();
                            cell_var[ti].get(&key).copied()
                        })
                        .collect();
                    parts.sort_unstable();
                    if seen.insert((total, parts.clone())) {
                        relations.push(Relation { total, parts });
                        relation_table.push(ti);
                    }
                }
            }
        }
        let mut var_relations = vec![Vec::new(); vars.len()];
        for (r, rel) in relations.iter().enumerate() {
            var_relations[rel.total].push(r);
            for &p in &rel.parts {
                var_relations[p].push(r);
            }
        }
        for vr in &mut var_relations {
            vr.dedup();
        }
        let model = Model {
            vars,
            relations,
            var_relations,
            cell_var,
            dim_index: dim_indexes,
        };
        model.check_consistency(release, &relation_table)?;
        Ok(model)
    }

    /// True totals must equal the sum of their parts (or be at least the sum of
    /// the known parts when partner-suppressed parts are involved).
    fn check_consistency(&self, release: &Release, relation_table: &[usize]) -> Result<()> {
        for (r, rel) in self.relations.iter().enumerate() {
            let Some(total) = self.vars[rel.total].value.count() else {
                continue;
            };
            let mut known = 0u64;
            let mut unknown = false;
            for &p in &rel.parts {
                match self.vars[p].value.count() {
                    Some(v) => known += v,
                    None => unknown = true,
                }
            }
            if (unknown && total < known) || (!unknown && total != known) {
                return Err(DisclosureError::InconsistentTotal {
                    identity: self.vars[rel.total].identity.to_string(),
                    table: release.tables[relation_table[r]].name.clone(),
                    total,
                    parts: known,
                });
            }
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.vars.len()
    }
}
