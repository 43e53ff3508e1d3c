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

    /// Parse a standalone table from CSV text (RFC 4180: quoted fields may hold commas,
    /// quotes and newlines; fields are trimmed; blank lines are skipped): a header naming
    /// the dimension columns and one count column, then one row per cell *including total
    /// rows*. See [`CsvSpec`].
    ///
    /// Every dimension's margin is declared in the spec or found in the data: the code
    /// whose rows are the sum of the other codes' rows at every combination of the other
    /// coordinates (the common labels `Total`, `All`, `Any`, … first, then any code; a code
    /// is accepted only once that is verified). A dimension with one code that is not such a
    /// label has no margin. Dimensions without a hierarchy in the spec are flat: every code
    /// is a child of the margin. A dimension whose margin is neither declared nor found, a
    /// declared margin that is absent or not the sum of its parts, and a hierarchy that does
    /// not add up are errors naming the dimension and the reason.
    pub fn from_csv(name: &str, measure: &str, text: &str, spec: &CsvSpec) -> Result<Table> {
        Self::from_csv_rows(name, measure, &CsvRows::parse(text)?, spec)
    }

    /// [`Table::from_csv`] of rows already read, so a caller that writes the table back
    /// (`svna protect`) reads its CSV once.
    pub fn from_csv_rows(
        name: &str,
        measure: &str,
        csv: &CsvRows,
        spec: &CsvSpec,
    ) -> Result<Table> {
        let (header, rows) = (&csv.header, &csv.rows);
        let count_idx = header
            .iter()
            .position(|h| h == &spec.count_column)
            .ok_or_else(|| DisclosureError::Csv {
                line: 1,
                message: format!("no count column `{}`", spec.count_column),
            })?;
        if header.iter().filter(|h| **h == spec.count_column).count() > 1 {
            return Err(DisclosureError::Csv {
                line: 1,
                message: format!("count column `{}` appears twice", spec.count_column),
            });
        }
        let dim_names: Vec<String> = header
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != count_idx)
            .map(|(_, h)| h.clone())
            .collect();
        for declared in spec.totals.keys().chain(spec.hierarchies.keys()) {
            if !dim_names.contains(declared) {
                return Err(DisclosureError::Margin {
                    table: name.into(),
                    dim: declared.clone(),
                    message: format!(
                        "not a dimension of the table (dimensions: {})",
                        dim_names.join(", ")
                    ),
                });
            }
        }
        let rows: Vec<(Vec<String>, CellValue)> = rows
            .iter()
            .map(|CsvRow { line, fields }| {
                let line = *line;
                let raw = fields[count_idx].as_str();
                let value = if spec.partner_markers.iter().any(|m| m == raw) {
                    CellValue::Partner { nonempty: false }
                } else {
                    CellValue::Count(raw.parse().map_err(|_| DisclosureError::Csv {
                        line,
                        message: format!("count `{raw}` is not a non-negative integer"),
                    })?)
                };
                let coords = fields
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != count_idx)
                    .map(|(_, f)| f.clone())
                    .collect();
                Ok((coords, value))
            })
            .collect::<Result<_>>()?;
        let margin_error = |dim: &str, message: String| DisclosureError::Margin {
            table: name.into(),
            dim: dim.into(),
            message,
        };
        let mut dims = Vec::with_capacity(dim_names.len());
        for (d, dname) in dim_names.iter().enumerate() {
            let declared = spec.totals.get(dname).or(spec.default_total.as_ref());
            if let Some(h) = spec.hierarchies.get(dname) {
                if let Some(Margin::Code(code)) = declared
                    && code != h.root()
                {
                    return Err(margin_error(
                        dname,
                        format!(
                            "declared margin `{code}` but its hierarchy's total is `{}`",
                            h.root()
                        ),
                    ));
                }
                // Additivity of every level is checked on the built table below.
                dims.push(Dimension::new(dname.clone(), h.clone()));
                continue;
            }
            let margins = Margins::new(&rows, &dim_names, d);
            let root = match declared {
                // One code and the margin declared for all dimensions is not it: nothing in
                // this dimension adds up, so it has no margin and no relation is lost.
                Some(Margin::Code(code))
                    if !spec.totals.contains_key(dname)
                        && margins.codes.len() == 1
                        && !margins.codes.contains(code.as_str()) =>
                {
                    margins.absent_root()
                }
                Some(Margin::Code(code)) => {
                    if !margins.codes.contains(code.as_str()) {
                        return Err(margin_error(
                            dname,
                            format!(
                                "declared margin `{code}` does not occur (codes: {}); declare \
                                 `--total {dname}=none` if the dimension has no margin",
                                margins.listing()
                            ),
                        ));
                    }
                    if let Some(why) = margins.violation(code) {
                        return Err(margin_error(
                            dname,
                            format!(
                                "declared margin `{code}` is not the sum of the other codes: {why}"
                            ),
                        ));
                    }
                    code.clone()
                }
                Some(Margin::Absent) => margins.absent_root(),
                None => margins.detect().map_err(|why| {
                    margin_error(
                        dname,
                        format!(
                            "{why}; declare its margin with `--total {dname}=CODE`, or \
                             `--total {dname}=none` if it has none"
                        ),
                    )
                })?,
            };
            let codes = margins.codes.iter().filter(|c| **c != root.as_str());
            dims.push(Dimension::new(
                dname.clone(),
                Hierarchy::flat(root.clone(), codes.copied()),
            ));
        }
        let mut t = Table::new(name, measure, dims);
        t.validate()?;
        for (coords, v) in rows {
            t.insert(coords, v)?;
        }
        // Every total must be the sum of its parts (hierarchies included): a table that
        // does not add up is refused here, before anything is protected or audited.
        let release = Release::new(vec![t]);
        crate::model::Model::build(&release)?;
        Ok(release.tables.into_iter().next().expect("one table"))
    }
}

/// A table's CSV as read once (RFC 4180, fields trimmed, blank lines skipped): its header
/// and its data rows, every row as wide as the header.
#[derive(Debug, Clone)]
pub struct CsvRows {
    pub header: Vec<String>,
    pub rows: Vec<CsvRow>,
}

/// One data row of a [`CsvRows`].
#[derive(Debug, Clone)]
pub struct CsvRow {
    /// 1-based line where the record starts (the header is line 1).
    pub line: usize,
    /// Its trimmed fields, one per header column.
    pub fields: Vec<String>,
}

impl CsvRows {
    /// Reads a CSV text; a row wider or narrower than the header is an error naming its line.
    pub fn parse(text: &str) -> Result<CsvRows> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let mut header: Option<Vec<String>> = None;
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|source| DisclosureError::CsvRead {
                line: source.position().map_or(0, |p| p.line() as usize),
                source,
            })?;
            let line = record.position().map_or(0, |p| p.line() as usize);
            // A line of blanks only.
            if record.len() == 1 && record[0].is_empty() {
                continue;
            }
            let fields: Vec<String> = record.iter().map(str::to_string).collect();
            match &header {
                None => header = Some(fields),
                Some(h) if fields.len() != h.len() => {
                    return Err(DisclosureError::Csv {
                        line,
                        message: format!("{} fields, header has {}", fields.len(), h.len()),
                    });
                }
                Some(_) => rows.push(CsvRow { line, fields }),
            }
        }
        let header = header.ok_or(DisclosureError::Csv {
            line: 1,
            message: "empty input".into(),
        })?;
        Ok(CsvRows { header, rows })
    }
}

/// Labels tried first when a dimension's margin is found in the data.
const MARGIN_LABELS: [&str; 8] = ["Total", "All", "all", "total", "Any", "any", "TOTAL", "ALL"];

/// One dimension of a CSV table, grouped for finding and checking its margin: the rows that
/// agree on every other coordinate form a group.
struct Margins<'a> {
    /// Every code of the dimension.
    codes: BTreeSet<&'a str>,
    /// Per group (the other coordinates): each code's value there.
    groups: BTreeMap<Vec<&'a str>, BTreeMap<&'a str, CellValue>>,
    /// The other dimensions' names, in group-key order.
    others: Vec<&'a str>,
}

/// Where a code fails to be a margin.
struct Violation<'a> {
    /// The other coordinates of the group.
    at: String,
    /// The code's row there (`None`: no row).
    margin: Option<&'a CellValue>,
    /// Sum of the other codes' known rows.
    parts: u128,
    /// Whether some of the other codes' rows are withheld.
    partial: bool,
}

impl std::fmt::Display for Violation<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.at.is_empty() {
            write!(f, "at {}: ", self.at)?;
        }
        match self.margin.map(CellValue::count) {
            Some(Some(x)) => write!(f, "it is {x}")?,
            Some(None) => write!(f, "it is withheld")?,
            None => write!(f, "it has no row")?,
        }
        if self.partial {
            write!(
                f,
                " but the other codes' published rows sum to {}",
                self.parts
            )
        } else {
            write!(f, " but the other codes sum to {}", self.parts)
        }
    }
}

impl<'a> Margins<'a> {
    fn new(rows: &'a [(Vec<String>, CellValue)], dims: &'a [String], d: usize) -> Self {
        let mut codes = BTreeSet::new();
        let mut groups: BTreeMap<Vec<&str>, BTreeMap<&str, CellValue>> = BTreeMap::new();
        for (coords, value) in rows {
            codes.insert(coords[d].as_str());
            let key = coords
                .iter()
                .enumerate()
                .filter(|(e, _)| *e != d)
                .map(|(_, c)| c.as_str())
                .collect();
            groups
                .entry(key)
                .or_default()
                .insert(coords[d].as_str(), *value);
        }
        let others = dims
            .iter()
            .enumerate()
            .filter(|(e, _)| *e != d)
            .map(|(_, n)| n.as_str())
            .collect();
        Margins {
            codes,
            groups,
            others,
        }
    }

    /// The codes, for messages.
    fn listing(&self) -> String {
        let mut codes: Vec<&str> = self.codes.iter().copied().take(12).collect();
        if self.codes.len() > codes.len() {
            codes.push("…");
        }
        codes.join(", ")
    }

    /// Why `code` is not the margin: the first group where its row is not the sum of the
    /// other codes' rows (at least the sum of the known ones where some are withheld; a
    /// missing row counts as an empty cell). `None`: it is the margin wherever the data can
    /// tell.
    fn violation(&self, code: &str) -> Option<Violation<'_>> {
        for (key, cells) in &self.groups {
            let mut parts: u128 = 0;
            let mut partial = false;
            for (_, v) in cells.iter().filter(|(c, _)| **c != code) {
                match v.count() {
                    Some(x) => parts += u128::from(x),
                    None => partial = true,
                }
            }
            let margin = cells.get(code);
            let fails = match margin.map(CellValue::count) {
                Some(Some(total)) => {
                    let total = u128::from(total);
                    if partial {
                        total < parts
                    } else {
                        total != parts
                    }
                }
                // A withheld margin can be anything at least its known parts.
                Some(None) => false,
                None => parts > 0,
            };
            if fails {
                let at = self
                    .others
                    .iter()
                    .zip(key)
                    .map(|(d, c)| format!("{d}={c}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                return Some(Violation {
                    at,
                    margin,
                    parts,
                    partial,
                });
            }
        }
        None
    }

    /// The margin found in the data, or why there is none.
    fn detect(&self) -> std::result::Result<String, String> {
        if self.codes.len() == 1 {
            let only = *self.codes.first().expect("one code");
            // One code: nothing to add up. A margin label is the margin, anything else a
            // category of a dimension without margin; either way no relation is lost.
            return Ok(if MARGIN_LABELS.contains(&only) {
                only.to_string()
            } else {
                self.absent_root()
            });
        }
        let mut label_failures = Vec::new();
        for label in MARGIN_LABELS {
            if self.codes.contains(label) {
                match self.violation(label) {
                    None => return Ok(label.to_string()),
                    Some(why) => label_failures.push(format!("`{label}` {why}")),
                }
            }
        }
        let found: Vec<&str> = self
            .codes
            .iter()
            .copied()
            .filter(|c| !MARGIN_LABELS.contains(c) && self.violation(c).is_none())
            .collect();
        match found.as_slice() {
            [one] => Ok(one.to_string()),
            [] if label_failures.is_empty() => Err(format!(
                "no code is the sum of the other codes (codes: {})",
                self.listing()
            )),
            [] => Err(format!(
                "no code is the sum of the other codes: {}",
                label_failures.join("; ")
            )),
            several => Err(format!(
                "the margin is ambiguous: {} are each the sum of the other codes",
                several
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    /// A root for a dimension without margin: a code that occurs in no row.
    fn absent_root(&self) -> String {
        let mut root = String::from("(no margin)");
        while self.codes.contains(root.as_str()) {
            root.insert(0, '_');
        }
        root
    }
}

/// A dimension's margin as declared for [`Table::from_csv`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Margin {
    /// This code is the dimension's total: its rows are the sum of the other codes' rows.
    Code(String),
    /// The dimension has no margin: no code is the sum of the others.
    Absent,
}

impl Margin {
    /// `none` declares a dimension without margin; anything else is the margin's code.
    pub fn parse(text: &str) -> Margin {
        if text == "none" {
            Margin::Absent
        } else {
            Margin::Code(text.to_string())
        }
    }
}

/// How to read a standalone CSV table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvSpec {
    /// Name of the count column (every other column is a dimension).
    pub count_column: String,
    /// Margin declared for every dimension not in `totals` (and without a hierarchy);
    /// `None` (the default): each such dimension's margin is found in the data.
    pub default_total: Option<Margin>,
    /// Per-dimension margin.
    pub totals: BTreeMap<String, Margin>,
    /// Per-dimension hierarchy (overrides the flat default; its root is the margin).
    pub hierarchies: BTreeMap<String, Hierarchy>,
    /// Count-column values meaning "suppressed by the partner" (default `*`).
    pub partner_markers: Vec<String>,
}

impl CsvSpec {
    /// Spec with the given count column and defaults otherwise (margins found in the data).
    pub fn new(count_column: impl Into<String>) -> Self {
        CsvSpec {
            count_column: count_column.into(),
            default_total: None,
            totals: BTreeMap::new(),
            hierarchies: BTreeMap::new(),
            partner_markers: vec!["*".into()],
        }
    }
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

    /// Margins labelled `All`, the case that once leaked.
    const ALL_MARGINS: &str = "region,sex,n\nPreston,F,12\nPreston,M,3\nPreston,All,15\n\
        Chorley,F,20\nChorley,M,25\nChorley,All,45\nAll,F,32\nAll,M,28\nAll,All,60\n";

    fn margin_message(result: Result<Table>) -> (String, String) {
        match result {
            Err(DisclosureError::Margin { dim, message, .. }) => (dim, message),
            other => panic!("expected a margin error, got {other:?}"),
        }
    }

    #[test]
    fn margins_are_found_whatever_their_label() {
        let t = Table::from_csv("t", "m", ALL_MARGINS, &CsvSpec::new("n")).unwrap();
        assert_eq!(t.dims[0].hierarchy.root(), "All");
        assert_eq!(t.dims[1].hierarchy.root(), "All");
        // Not a label: found by adding up, in any row order.
        let text = "age,n\n0-17,4\nEveryone,10\n18+,6\n";
        let t = Table::from_csv("t", "m", text, &CsvSpec::new("n")).unwrap();
        assert_eq!(t.dims[0].hierarchy.root(), "Everyone");
        // A withheld part: the margin is at least the published parts.
        let text = "age,n\n0-17,*\nAny,10\n18+,6\n";
        let t = Table::from_csv("t", "m", text, &CsvSpec::new("n")).unwrap();
        assert_eq!(t.dims[0].hierarchy.root(), "Any");
    }

    #[test]
    fn a_dimension_without_a_margin_must_be_declared() {
        let text = "region,sex,n\nA,F,1\nA,M,2\nB,F,3\nB,M,4\n";
        let (dim, message) = margin_message(Table::from_csv("t", "m", text, &CsvSpec::new("n")));
        assert_eq!(dim, "region");
        assert!(message.contains("--total region=CODE"), "{message}");
        assert!(message.contains("--total region=none"), "{message}");
        let mut spec = CsvSpec::new("n");
        spec.default_total = Some(Margin::Absent);
        let t = Table::from_csv("t", "m", text, &spec).unwrap();
        assert!(
            t.dims
                .iter()
                .all(|d| !d.hierarchy.contains("A") || d.hierarchy.root() != "A")
        );
        assert_eq!(t.len(), 4);
    }

    #[test]
    fn a_margin_that_does_not_add_up_is_refused_with_the_reason() {
        // Declared: `All` is not the sum of F and M in Preston.
        let broken = ALL_MARGINS
            .replace("Preston,All,15", "Preston,All,16")
            .replace("All,All,60", "All,All,61");
        let mut spec = CsvSpec::new("n");
        spec.totals.insert("sex".into(), Margin::Code("All".into()));
        let (dim, message) = margin_message(Table::from_csv("t", "m", &broken, &spec));
        assert_eq!(dim, "sex");
        assert!(
            message.contains("at region=All: it is 61 but the other codes sum to 60"),
            "{message}"
        );
        // Found: the label is tried, fails, and says why.
        let (dim, message) = margin_message(Table::from_csv("t", "m", &broken, &CsvSpec::new("n")));
        assert_eq!(dim, "sex");
        assert!(
            message
                .contains("no code is the sum of the other codes: `All` at region=All: it is 61"),
            "{message}"
        );
        // A declared code that does not occur.
        let mut spec = CsvSpec::new("n");
        spec.default_total = Some(Margin::Code("Total".into()));
        let (dim, message) = margin_message(Table::from_csv("t", "m", ALL_MARGINS, &spec));
        assert_eq!(dim, "region");
        assert!(message.contains("`Total` does not occur"), "{message}");
        // A dimension named in the spec that the table does not have.
        // A dimension of one code needs no margin, whatever the default.
        let text = "region,sex,n\nA,M,18\nA,F,2\nA,Total,20\n";
        let mut spec = CsvSpec::new("n");
        spec.default_total = Some(Margin::Code("Total".into()));
        let t = Table::from_csv("t", "m", text, &spec).unwrap();
        assert_eq!(t.identity_coords(&["A".into(), "F".into()]).len(), 2);
        spec.totals
            .insert("region".into(), Margin::Code("Total".into()));
        assert_eq!(
            margin_message(Table::from_csv("t", "m", text, &spec)).0,
            "region"
        );
        let mut spec = CsvSpec::new("n");
        spec.totals.insert("age".into(), Margin::Absent);
        assert_eq!(
            margin_message(Table::from_csv("t", "m", ALL_MARGINS, &spec)).0,
            "age"
        );
    }

    #[test]
    fn an_ambiguous_margin_is_refused() {
        let text = "g,n\nx,5\ny,5\n";
        let (_, message) = margin_message(Table::from_csv("t", "m", text, &CsvSpec::new("n")));
        assert!(message.contains("ambiguous"), "{message}");
        let mut spec = CsvSpec::new("n");
        spec.totals.insert("g".into(), Margin::Code("y".into()));
        let t = Table::from_csv("t", "m", text, &spec).unwrap();
        assert_eq!(t.dims[0].hierarchy.root(), "y");
    }

    #[test]
    fn a_hierarchy_that_does_not_add_up_is_refused() {
        let text = "area,n\nl1,2\nl2,3\nd1,5\nl3,4\nd2,9\nTotal,14\n";
        let h = Hierarchy::new(
            "Total",
            [
                ("l1", "d1"),
                ("l2", "d1"),
                ("l3", "d2"),
                ("d1", "Total"),
                ("d2", "Total"),
            ],
        );
        let mut spec = CsvSpec::new("n");
        spec.hierarchies.insert("area".into(), h);
        assert!(matches!(
            Table::from_csv("t", "m", text, &spec),
            Err(DisclosureError::InconsistentTotal {
                total: 9,
                parts: 4,
                ..
            })
        ));
    }

    #[test]
    fn csv_quotes_and_newlines_in_fields() {
        let text = "\u{feff}\"place\",n\r\n\"North,\nEast\",2\r\n\r\n  \n\"Say \"\"hi\"\"\", 3 \r\nTotal,5\r\n";
        let t = Table::from_csv("t", "m", text, &CsvSpec::new("n")).unwrap();
        assert_eq!(t.dims[0].name, "place");
        assert_eq!(t.get(&["North,\nEast".into()]), Some(&CellValue::Count(2)));
        assert_eq!(t.get(&["Say \"hi\"".into()]), Some(&CellValue::Count(3)));
        let short = Table::from_csv("t", "m", "a,b,n\nx,y,1\nx,2\n", &CsvSpec::new("n"));
        assert!(
            matches!(short, Err(DisclosureError::Csv { line: 3, .. })),
            "{short:?}"
        );
    }

    #[test]
    fn hierarchy_cycle_rejected() {
        let h = Hierarchy::new("T", [("a", "b"), ("b", "a")]);
        assert!(h.validate("d").is_err());
    }
}
