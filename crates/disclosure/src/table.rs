//! Table structure: dimensions with hierarchies, cells, and a CSV reader.
//!
//! A table only states *what was counted* (its `measure`), its dimensions and
//! the cells it publishes. The additive relations (total = sum of parts) are
//! derived from the hierarchies in [`crate::model`], never typed by hand, so a
//! published margin can never be forgotten by the suppression step.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::error::{DisclosureError, Result};

/// A classification tree given as a child→parent map plus the code of its
/// root total (e.g. LSOA → ward → district → `Total`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hierarchy {
    root: String,
    parents: BTreeMap<String, String>,
}

impl Hierarchy {
    /// Build from the root code and (child, parent) pairs.
    pub fn new<I, A, B>(root: impl Into<String>, pairs: I) -> Self
    where
        I: IntoIterator<Item = (A, B)>,
        A: Into<String>,
        B: Into<String>,
    {
        Hierarchy {
            root: root.into(),
            parents: pairs
                .into_iter()
                .map(|(c, p)| (c.into(), p.into()))
                .collect(),
        }
    }

    /// One level: every code is a child of the root total.
    pub fn flat<I, A>(root: impl Into<String>, codes: I) -> Self
    where
        I: IntoIterator<Item = A>,
        A: Into<String>,
    {
        let root = root.into();
        let pairs: Vec<(String, String)> = codes
            .into_iter()
            .map(|c| (c.into(), root.clone()))
            .collect();
        Hierarchy::new(root, pairs)
    }

    /// The root (grand total) code.
    pub fn root(&self) -> &str {
        &self.root
    }

    /// Parent of a code, `None` for the root or unknown codes.
    pub fn parent(&self, code: &str) -> Option<&str> {
        self.parents.get(code).map(String::as_str)
    }

    /// Whether the code belongs to the hierarchy.
    pub fn contains(&self, code: &str) -> bool {
        code == self.root || self.parents.contains_key(code)
    }

    /// Check that every code reaches the root without a cycle.
    pub(crate) fn validate(&self, dim: &str) -> Result<()> {
        let limit = self.parents.len() + 1;
        for start in self.parents.keys() {
            let mut cur = start.as_str();
            let mut steps = 0;
            while cur != self.root {
                cur = match self.parents.get(cur) {
                    Some(p) => p,
                    None => {
                        return Err(DisclosureError::BadHierarchy {
                            dim: dim.into(),
                            root: self.root.clone(),
                            code: cur.into(),
                        });
                    }
                };
                steps += 1;
                if steps > limit {
                    return Err(DisclosureError::BadHierarchy {
                        dim: dim.into(),
                        root: self.root.clone(),
                        code: start.clone(),
                    });
                }
            }
        }
        Ok(())
    }
}

/// A named dimension with its hierarchy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dimension {
    /// Dimension name (part of a cell's identity across tables).
    pub name: String,
    /// Its classification tree.
    pub hierarchy: Hierarchy,
}

impl Dimension {
    /// New dimension.
    pub fn new(name: impl Into<String>, hierarchy: Hierarchy) -> Self {
        Dimension {
            name: name.into(),
            hierarchy,
        }
    }
}

/// The true content of a cell as it arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CellValue {
    /// A count we hold.
    Count(u64),
    /// Suppressed upstream by the data partner: we do not know the value and
    /// must never reconstruct it. `nonempty` = known to be ≥ 1.
    Partner {
        /// Known to be at least 1.
        nonempty: bool,
    },
}

impl CellValue {
    /// The count, if known.
    pub fn count(&self) -> Option<u64> {
        match self {
            CellValue::Count(v) => Some(*v),
            CellValue::Partner { .. } => None,
        }
    }
}

/// One output table: a measure counted over some dimensions.
///
/// Cells absent from the table are structural zeros (a `GROUP BY` omits
/// empty combinations): they drop out of every relation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// Table name (used in errors and the audit).
    pub name: String,
    /// What is counted; cells of tables with the same measure and the same
    /// non-total coordinates are the same quantity.
    pub measure: String,
    /// Dimensions, in coordinate order.
    pub dims: Vec<Dimension>,
    cells: BTreeMap<Vec<String>, CellValue>,
}

impl Table {
    /// Empty table.
    pub fn new(name: impl Into<String>, measure: impl Into<String>, dims: Vec<Dimension>) -> Self {
        Table {
            name: name.into(),
            measure: measure.into(),
            dims,
            cells: BTreeMap::new(),
        }
    }

    /// Add a cell (coordinates in dimension order).
    pub fn insert<I, S>(&mut self, coords: I, value: CellValue) -> Result<()>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let coords: Vec<String> = coords.into_iter().map(Into::into).collect();
        if coords.len() != self.dims.len() {
            return Err(DisclosureError::Arity {
                table: self.name.clone(),
                expected: self.dims.len(),
                got: coords.len(),
            });
        }
        for (d, c) in self.dims.iter().zip(&coords) {
            if !d.hierarchy.contains(c) {
                return Err(DisclosureError::UnknownCode {
                    table: self.name.clone(),
                    dim: d.name.clone(),
                    code: c.clone(),
                });
            }
        }
        if self.cells.contains_key(&coords) {
            return Err(DisclosureError::DuplicateCell {
                table: self.name.clone(),
                coords,
            });
        }
        self.cells.insert(coords, value);
        Ok(())
    }

    /// Add a known count.
    pub fn insert_count<I, S>(&mut self, coords: I, count: u64) -> Result<()>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.insert(coords, CellValue::Count(count))
    }

    /// The coordinates that identify a cell's quantity across tables (the identity rule of
    /// [`crate::model`]): its non-root codes by dimension name, sorted by name.
    pub fn identity_coords(&self, coords: &[String]) -> Vec<(String, String)> {
        let mut id: Vec<(String, String)> = self
            .dims
            .iter()
            .zip(coords)
            .filter(|(d, code)| d.hierarchy.root() != code.as_str())
            .map(|(d, code)| (d.name.clone(), code.clone()))
            .collect();
        id.sort();
        id
    }

    /// Cells in deterministic (lexicographic coordinate) order.
    pub fn cells(&self) -> impl Iterator<Item = (&Vec<String>, &CellValue)> {
        self.cells.iter()
    }

    /// Look one cell up.
    pub fn get(&self, coords: &[String]) -> Option<&CellValue> {
        self.cells.get(coords)
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// Whether the table has no cells.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Check the table's own structure.
    pub(crate) fn validate(&self) -> Result<()> {
        let mut seen = BTreeSet::new();
        for d in &self.dims {
            if !seen.insert(d.name.as_str()) {
                return Err(DisclosureError::DuplicateDimension {
                    table: self.name.clone(),
                    dim: d.name.clone(),
                });
            }
            d.hierarchy.validate(&d.name)?;
        }
        Ok(())
    }

    /// Parse a standalone table from CSV text: a header naming the dimension
    /// columns and one count column, then one row per cell *including total
    /// rows*. See [`CsvSpec`]. Dimensions without a hierarchy in the spec are
    /// flat (every code is a child of that dimension's total code).
    pub fn from_csv(name: &str, measure: &str, text: &str, spec: &CsvSpec) -> Result<Table> {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let (_, header) = lines.next().ok_or(DisclosureError::Csv {
            line: 1,
            message: "empty input".into(),
        })?;
        let header = split_csv_line(header, 1)?;
        let count_idx = header
            .iter()
            .position(|h| h == &spec.count_column)
            .ok_or_else(|| DisclosureError::Csv {
                line: 1,
                message: format!("no count column `{}`", spec.count_column),
            })?;
        let dim_cols: Vec<(usize, String)> = header
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != count_idx)
            .map(|(i, h)| (i, h.clone()))
            .collect();
        let mut rows = Vec::new();
        let mut codes: Vec<BTreeSet<String>> = vec![BTreeSet::new(); dim_cols.len()];
        for (lineno, line) in lines {
            let fields = split_csv_line(line, lineno + 1)?;
            if fields.len() != header.len() {
                return Err(DisclosureError::Csv {
                    line: lineno + 1,
                    message: format!("{} fields, header has {}", fields.len(), header.len()),
                });
            }
            let coords: Vec<String> = dim_cols.iter().map(|(i, _)| fields[*i].clone()).collect();
            for (k, c) in coords.iter().enumerate() {
                codes[k].insert(c.clone());
            }
            let raw = fields[count_idx].trim();
            let value = if spec.partner_markers.iter().any(|m| m == raw) {
                CellValue::Partner { nonempty: false }
            } else {
                CellValue::Count(raw.parse().map_err(|_| DisclosureError::Csv {
                    line: lineno + 1,
                    message: format!("count `{raw}` is not a non-negative integer"),
                })?)
            };
            rows.push((coords, value));
        }
        let dims = dim_cols
            .iter()
            .enumerate()
            .map(|(k, (_, dname))| {
                let h = match spec.hierarchies.get(dname) {
                    Some(h) => h.clone(),
                    None => {
                        let total = spec
                            .totals
                            .get(dname)
                            .cloned()
                            .unwrap_or_else(|| spec.default_total.clone());
                        Hierarchy::flat(
                            total.clone(),
                            codes[k].iter().filter(|c| **c != total).cloned(),
                        )
                    }
                };
                Dimension::new(dname.clone(), h)
            })
            .collect();
        let mut t = Table::new(name, measure, dims);
        t.validate()?;
        for (coords, v) in rows {
            t.insert(coords, v)?;
        }
        Ok(t)
    }
}

/// How to read a standalone CSV table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvSpec {
    /// Name of the count column (every other column is a dimension).
    pub count_column: String,
    /// Total code used by dimensions not listed in `totals` (default `Total`).
    pub default_total: String,
    /// Per-dimension total code.
    pub totals: BTreeMap<String, String>,
    /// Per-dimension hierarchy (overrides the flat default).
    pub hierarchies: BTreeMap<String, Hierarchy>,
    /// Count-column values meaning "suppressed by the partner" (default `*`).
    pub partner_markers: Vec<String>,
}

impl CsvSpec {
    /// Spec with the given count column and defaults otherwise.
    pub fn new(count_column: impl Into<String>) -> Self {
        CsvSpec {
            count_column: count_column.into(),
            default_total: "Total".into(),
            totals: BTreeMap::new(),
            hierarchies: BTreeMap::new(),
            partner_markers: vec!["*".into()],
        }
    }
}

/// Minimal RFC 4180 field splitter (quotes, doubled quotes); no I/O.
fn split_csv_line(line: &str, lineno: usize) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.trim_end_matches('\r').chars().peekable();
    let mut quoted = false;
    while let Some(ch) = chars.next() {
        match (quoted, ch) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            (true, '"') => quoted = false,
            (false, '"') if cur.is_empty() => quoted = true,
            (false, ',') => out.push(std::mem::take(&mut cur)),
            (_, c) => cur.push(c),
        }
    }
    if quoted {
        return Err(DisclosureError::Csv {
            line: lineno,
            message: "unterminated quote".into(),
        });
    }
    out.push(cur);
    Ok(out.into_iter().map(|s| s.trim().to_string()).collect())
}

/// Several tables published together: suppression and audit run over all of
/// them jointly, because shared margins leak across tables.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Release {
    /// The tables.
    pub tables: Vec<Table>,
}

impl Release {
    /// New release.
    pub fn new(tables: Vec<Table>) -> Self {
        Release { tables }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_roundtrip_flat() {
        let text =
            "region,sex,n\nA,M,18\nA,F,2\nA,Total,20\nTotal,M,18\nTotal,F,2\nTotal,Total,20\n";
        let t = Table::from_csv("t", "m", text, &CsvSpec::new("n")).unwrap();
        assert_eq!(t.dims.len(), 2);
        assert_eq!(t.dims[0].hierarchy.root(), "Total");
        assert_eq!(t.len(), 6);
        assert_eq!(t.get(&["A".into(), "F".into()]), Some(&CellValue::Count(2)));
    }

    #[test]
    fn csv_partner_and_errors() {
        let text = "g,n\n\"a,b\",*\nTotal,5\n";
        let t = Table::from_csv("t", "m", text, &CsvSpec::new("n")).unwrap();
        assert_eq!(
            t.get(&["a,b".into()]),
            Some(&CellValue::Partner { nonempty: false })
        );
        let bad = Table::from_csv("t", "m", "g,n\nx,-1\n", &CsvSpec::new("n"));
        assert!(matches!(bad, Err(DisclosureError::Csv { line: 2, .. })));
    }

    #[test]
    fn hierarchy_cycle_rejected() {
        let h = Hierarchy::new("T", [("a", "b"), ("b", "a")]);
        assert!(h.validate("d").is_err());
    }
}
