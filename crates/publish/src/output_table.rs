use arrow_array::{
    Array, ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray, UInt32Array,
};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use svna_records::DisclosureSpec;

use crate::error::PublishError;

/// The column a release adds to a table of partner-suppressed data (`partner_suppressed`):
/// true where the row's counts are lower bounds (the sum of the parts the partner shared;
/// the partner withheld others). A count with its own flag (`partner_flags`) gets its own
/// column instead, see [`lower_bound_column`].
pub const LOWER_BOUND_COLUMN: &str = "lower_bound";

/// What the partner's own suppression did to one cell (one count of one row).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PartnerMark {
    /// Untouched: the figure is the whole count.
    #[default]
    None,
    /// The partner withheld every part of it before sharing: nothing of it is known to svna
    /// either. Its count is `None`, published as `[p]`, and it is left out of the
    /// disclosure model (a structural zero: no shared part).
    Withheld,
    /// It includes parts the partner withheld: the count is the sum of the parts the
    /// partner shared, a lower bound of the true figure, published as such and modelled as
    /// the exact count of the shared parts (which is what an outsider learns of it).
    LowerBound,
}

/// The flag column that marks the partner's suppression of `count`: its own
/// (`partner_flags`) or the table's (`partner_suppressed`).
pub fn partner_flag<'a>(spec: &'a DisclosureSpec, count: &str) -> Option<&'a String> {
    spec.partner_flags
        .get(count)
        .or(spec.partner_suppressed.as_ref())
}

/// The column a release publishes to say which figures of `count` are lower bounds:
/// `<count>_lower_bound` for a count with its own flag, the table's [`LOWER_BOUND_COLUMN`]
/// for the table's flag, none for a count the partner's suppression cannot touch.
pub fn lower_bound_column(spec: &DisclosureSpec, count: &str) -> Option<String> {
    if spec.partner_flags.contains_key(count) {
        Some(format!("{count}_lower_bound"))
    } else {
        spec.partner_suppressed
            .as_ref()
            .map(|_| LOWER_BOUND_COLUMN.to_string())
    }
}

/// An aggregate output as publish sees it: dimension codes as text and counts as
/// non-negative integers (`None` where the partner withheld the cell).
#[derive(Debug, Clone)]
pub struct OutputTable {
    pub name: String,
    pub spec: DisclosureSpec,
    /// Per dimension (in `spec.dimensions` order), the code of every row.
    pub dims: Vec<Vec<String>>,
    /// Per count column (in `spec.counts` order), the value of every row.
    pub counts: Vec<Vec<Option<u64>>>,
    /// Per count column, what the partner's suppression did to every row's figure.
    pub partner: Vec<Vec<PartnerMark>>,
    /// Per dimension, the parent code of every row where the dimension is hierarchical.
    pub parents: Vec<Option<Vec<String>>>,
    /// Public context columns (name, values), passed through as they are.
    pub context: Vec<(String, ArrayRef)>,
    /// Whether a NULL count means "withheld" (reading a release) rather than an error.
    nulls_withheld: bool,
}

impl OutputTable {
    pub fn rows(&self) -> usize {
        // A table may have no dimension (one total row); then its counts say.
        match self.dims.first() {
            Some(codes) => codes.len(),
            None => self.counts.first().map_or(0, Vec::len),
        }
    }

    /// Whether the partner withheld `count`'s figure of `row` whole (`[p]`).
    pub fn partner_withheld(&self, count: usize, row: usize) -> bool {
        self.partner[count][row] == PartnerMark::Withheld
    }

    /// Reads a stage's Parquet output and checks it has exactly the declared columns.
    pub fn from_parquet(
        name: &str,
        spec: &DisclosureSpec,
        bytes: bytes::Bytes,
    ) -> Result<Self, PublishError> {
        Self::read(name, spec, bytes, false)
    }

    /// Reads a table as published: a NULL count is a withheld cell whose value the reader
    /// does not know (what an outsider sees).
    pub fn from_published_parquet(
        name: &str,
        spec: &DisclosureSpec,
        bytes: bytes::Bytes,
    ) -> Result<Self, PublishError> {
        Self::read(name, spec, bytes, true)
    }

    fn read(
        name: &str,
        spec: &DisclosureSpec,
        bytes: bytes::Bytes,
        nulls_withheld: bool,
    ) -> Result<Self, PublishError> {
        let parquet_error = |source| PublishError::Parquet {
            path: name.to_string(),
            source,
        };
        let arrow_error = |source| PublishError::Arrow {
            path: name.to_string(),
            source,
        };
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
            .map_err(parquet_error)?
            .build()
            .map_err(parquet_error)?;
        let batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>().map_err(arrow_error)?;
        let mut table = OutputTable {
            name: name.to_string(),
            spec: spec.clone(),
            dims: vec![Vec::new(); spec.dimensions.len()],
            counts: vec![Vec::new(); spec.counts.len()],
            partner: vec![Vec::new(); spec.counts.len()],
            nulls_withheld,
            parents: spec
                .dimensions
                .iter()
                .map(|d| spec.parents.get(d).map(|_| Vec::new()))
                .collect(),
            context: Vec::new(),
        };
        for batch in &batches {
            table.check_columns(batch)?;
            table.append(batch)?;
        }
        table.context = spec
            .context
            .iter()
            .map(|name| {
                let parts: Vec<&dyn Array> = batches
                    .iter()
                    .map(|b| b.column_by_name(name).expect("checked").as_ref())
                    .collect();
                let empty;
                let parts = if parts.is_empty() {
                    empty = arrow_array::new_empty_array(&DataType::Utf8);
                    vec![empty.as_ref()]
                } else {
                    parts
                };
                arrow_select::concat::concat(&parts)
                    .map(|a| (name.clone(), a))
                    .map_err(arrow_error)
            })
            .collect::<Result<_, _>>()?;
        table.check_parents()?;
        table.complete_grid()?;
        table.sort_rows();
        Ok(table)
    }

    /// A hierarchical code must have one parent; two would make the hierarchy ambiguous.
    fn check_parents(&self) -> Result<(), PublishError> {
        for ((name, codes), parents) in self
            .spec
            .dimensions
            .iter()
            .zip(&self.dims)
            .zip(&self.parents)
        {
            let Some(parents) = parents else { continue };
            let mut seen: std::collections::BTreeMap<&str, &str> = Default::default();
            for (row, (code, parent)) in codes.iter().zip(parents).enumerate() {
                if let Some(previous) = seen.insert(code, parent)
                    && previous != parent
                {
                    let message =
                        format!("code `{code}` has two parents, `{previous}` and `{parent}`");
                    return Err(self.bad(name, row, &message));
                }
            }
        }
        Ok(())
    }

    /// Adds the coordinate combinations SQL left out (a GROUP BY has no row for a zero) as
    /// explicit zero rows. A complete grid is what a reader expects, it tells the reader that
    /// those cells are zero rather than forgotten, and it lets disclosure control use its fast
    /// method for large tables. An added row takes its context values from a row with the same
    /// code in a dimension that determines them (residents by area), else NULL.
    fn complete_grid(&mut self) -> Result<(), PublishError> {
        const MAX_CELLS: usize = 5_000_000;
        let codes: Vec<Vec<String>> = self
            .dims
            .iter()
            .map(|d| {
                d.iter()
                    .cloned()
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect()
            })
            .collect();
        let size = codes
            .iter()
            .try_fold(1usize, |n, c| n.checked_mul(c.len()))
            .unwrap_or(usize::MAX);
        if size > MAX_CELLS {
            return Err(PublishError::BadValue {
                table: self.name.clone(),
                column: self.spec.dimensions.join(" x "),
                row: 0,
                message: format!("{size} cells: too many to publish as one table"),
            });
        }
        let present: std::collections::HashSet<Vec<&str>> = (0..self.rows())
            .map(|r| self.dims.iter().map(|d| d[r].as_str()).collect())
            .collect();
        let parent_of: Vec<Option<std::collections::BTreeMap<String, String>>> = self
            .parents
            .iter()
            .zip(&self.dims)
            .map(|(p, d)| {
                p.as_ref()
                    .map(|p| d.iter().cloned().zip(p.iter().cloned()).collect())
            })
            .collect();
        let mut missing: Vec<Vec<String>> = Vec::new();
        let mut index = vec![0usize; codes.len()];
        if codes.iter().all(|c| !c.is_empty()) {
            loop {
                let combination: Vec<&str> = index
                    .iter()
                    .zip(&codes)
                    .map(|(&i, c)| c[i].as_str())
                    .collect();
                if !present.contains(&combination) {
                    missing.push(combination.iter().map(|s| s.to_string()).collect());
                }
                // Odometer over the code lists.
                let mut d = codes.len();
                loop {
                    if d == 0 {
                        break;
                    }
                    d -= 1;
                    index[d] += 1;
                    if index[d] < codes[d].len() {
                        break;
                    }
                    index[d] = 0;
                }
                if index.iter().all(|&i| i == 0) {
                    break;
                }
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        for row in &missing {
            for (d, code) in row.iter().enumerate() {
                self.dims[d].push(code.clone());
                if let (Some(parents), Some(map)) = (self.parents[d].as_mut(), &parent_of[d]) {
                    parents.push(map.get(code).cloned().unwrap_or_default());
                }
            }
            self.counts.iter_mut().for_each(|c| c.push(Some(0)));
            self.partner
                .iter_mut()
                .for_each(|p| p.push(PartnerMark::None));
        }
        let existing = self.rows() - missing.len();
        for (_, values) in &mut self.context {
            let donors = context_donors(&self.dims, values, existing, &missing);
            let added = arrow_select::take::take(values.as_ref(), &donors, None)
                .expect("donor rows are in range");
            *values = arrow_select::concat::concat(&[values.as_ref(), added.as_ref()])
                .expect("same type");
        }
        Ok(())
    }

    /// Orders rows by their coordinates: SQL gives no order, and a release must be
    /// byte-identical for the same inputs.
    fn sort_rows(&mut self) {
        let mut order: Vec<usize> = (0..self.rows()).collect();
        order.sort_by(|&a, &b| {
            self.dims
                .iter()
                .map(|d| d[a].cmp(&d[b]))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        fn permute<T: Clone>(order: &[usize], values: &mut Vec<T>) {
            let taken = std::mem::take(values);
            *values = order.iter().map(|&i| taken[i].clone()).collect();
        }
        self.dims.iter_mut().for_each(|d| permute(&order, d));
        self.counts.iter_mut().for_each(|c| permute(&order, c));
        self.parents
            .iter_mut()
            .flatten()
            .for_each(|p| permute(&order, p));
        self.partner.iter_mut().for_each(|p| permute(&order, p));
        let indices = UInt32Array::from_iter_values(order.iter().map(|&i| i as u32));
        for (_, values) in &mut self.context {
            *values = arrow_select::take::take(values.as_ref(), &indices, None)
                .expect("indices are in range");
        }
    }

    fn check_columns(&self, batch: &RecordBatch) -> Result<(), PublishError> {
        let spec = &self.spec;
        let declared = |c: &str| {
            spec.dimensions
                .iter()
                .chain(&spec.counts)
                .chain(&spec.context)
                .chain(spec.parents.values())
                .any(|d| d == c)
                || spec.partner_suppressed.as_deref() == Some(c)
                || spec.partner_flags.values().any(|f| f == c)
                || (self.nulls_withheld && spec.rates.iter().any(|r| r.name == c))
                || (self.nulls_withheld && spec.standardised.iter().any(|r| r.name == c))
                || (self.nulls_withheld
                    && spec
                        .counts
                        .iter()
                        .any(|n| lower_bound_column(spec, n).as_deref() == Some(c)))
        };
        for field in batch.schema().fields() {
            if !declared(field.name()) {
                return Err(PublishError::UnexpectedColumn {
                    table: self.name.clone(),
                    column: field.name().clone(),
                });
            }
        }
        // A stage must have its partner flags; a release made before they were published
        // may lack them.
        let flags = spec
            .partner_suppressed
            .iter()
            .chain(spec.partner_flags.values())
            .filter(|_| !self.nulls_withheld);
        for column in spec
            .dimensions
            .iter()
            .chain(&spec.counts)
            .chain(&spec.context)
            .chain(spec.parents.values())
            .chain(flags)
        {
            if batch.column_by_name(column).is_none() {
                return Err(PublishError::MissingColumn {
                    table: self.name.clone(),
                    column: column.clone(),
                });
            }
        }
        Ok(())
    }

    fn append(&mut self, batch: &RecordBatch) -> Result<(), PublishError> {
        let start = self.rows();
        for (i, name) in self.spec.dimensions.clone().iter().enumerate() {
            let text = cast(batch, name, &DataType::Utf8, &self.name)?;
            let text = text
                .as_any()
                .downcast_ref::<StringArray>()
                .expect("cast to Utf8");
            for row in 0..text.len() {
                if text.is_null(row) {
                    return Err(self.bad(
                        name,
                        start + row,
                        "dimension value is NULL; name unknowns explicitly (e.g. 'Unknown')",
                    ));
                }
                self.dims[i].push(text.value(row).to_string());
            }
        }
        for (i, name) in self.spec.dimensions.clone().iter().enumerate() {
            let Some(parent_column) = self.spec.parents.get(name).cloned() else {
                continue;
            };
            let text = cast(batch, &parent_column, &DataType::Utf8, &self.name)?;
            let text = text
                .as_any()
                .downcast_ref::<StringArray>()
                .expect("cast to Utf8");
            let parents = self.parents[i]
                .as_mut()
                .expect("allocated for hierarchical dimensions");
            parents.extend((0..text.len()).map(|r| {
                if text.is_null(r) {
                    String::new()
                } else {
                    text.value(r).to_string()
                }
            }));
        }
        self.append_counts(batch, start)
    }

    /// Reads the counts and the partner's marks. A flag marks every cell the partner's
    /// suppression touches: one with no count is withheld by the partner (nothing of it is
    /// known); one with a count is a lower bound (the sum of the parts the partner shared).
    /// Under the table's row flag a row is a lower bound only if all its counts are known.
    /// A release publishes the flags and lower-bound columns, so it is read back the same
    /// way (there a lower bound svna withheld is NULL too, and the lower-bound column, not
    /// the count, says which it is); releases made before they were published have neither,
    /// and all their NULL counts read as withheld by svna.
    fn append_counts(&mut self, batch: &RecordBatch, start: usize) -> Result<(), PublishError> {
        let rows = batch.num_rows();
        let flags = |column: Option<&String>| -> Result<Option<Vec<bool>>, PublishError> {
            let Some(column) = column.filter(|c| batch.column_by_name(c).is_some()) else {
                return Ok(None);
            };
            let flags = cast(batch, column, &DataType::Boolean, &self.name)?;
            let flags = flags
                .as_any()
                .downcast_ref::<BooleanArray>()
                .expect("cast to Boolean");
            Ok(Some(
                (0..flags.len())
                    .map(|r| flags.is_valid(r) && flags.value(r))
                    .collect(),
            ))
        };
        let shares_row_flag = |name: &String| !self.spec.partner_flags.contains_key(name.as_str());
        let row_known: Vec<bool> = (0..rows)
            .map(|row| {
                self.spec
                    .counts
                    .iter()
                    .filter(|name| shares_row_flag(name))
                    .all(|name| batch.column_by_name(name).is_some_and(|v| v.is_valid(row)))
            })
            .collect();
        for (i, name) in self.spec.counts.clone().iter().enumerate() {
            let touched = flags(partner_flag(&self.spec, name))?;
            let published_bounds = match self.nulls_withheld {
                true => flags(lower_bound_column(&self.spec, name).as_ref())?,
                false => None,
            };
            let values = cast(batch, name, &DataType::Int64, &self.name)?;
            let values = values
                .as_any()
                .downcast_ref::<Int64Array>()
                .expect("cast to Int64");
            for row in 0..rows {
                let known = match &published_bounds {
                    Some(bounds) => bounds[row],
                    None if shares_row_flag(name) => row_known[row],
                    None => values.is_valid(row),
                };
                let mark = match &touched {
                    Some(touched) if touched[row] && known => PartnerMark::LowerBound,
                    Some(touched) if touched[row] => PartnerMark::Withheld,
                    _ => PartnerMark::None,
                };
                let withheld =
                    mark == PartnerMark::Withheld || (self.nulls_withheld && values.is_null(row));
                let value = match (values.is_null(row), withheld) {
                    (_, true) => None,
                    (true, false) => {
                        return Err(self.bad(
                            name,
                            start + row,
                            "count is NULL but the cell is not marked partner-suppressed",
                        ));
                    }
                    (false, false) => Some(
                        u64::try_from(values.value(row))
                            .map_err(|_| self.bad(name, start + row, "count is negative"))?,
                    ),
                };
                self.counts[i].push(value);
                self.partner[i].push(mark);
            }
        }
        Ok(())
    }

    fn bad(&self, column: &str, row: usize, message: &str) -> PublishError {
        PublishError::BadValue {
            table: self.name.clone(),
            column: column.to_string(),
            row,
            message: message.to_string(),
        }
    }
}

fn cast(
    batch: &RecordBatch,
    column: &str,
    to: &DataType,
    table: &str,
) -> Result<arrow_array::ArrayRef, PublishError> {
    let array = batch
        .column_by_name(column)
        .expect("checked by check_columns");
    arrow_cast::cast(array, to).map_err(|source| PublishError::Cast {
        table: table.to_string(),
        column: column.to_string(),
        to: to.clone(),
        source,
    })
}

/// For each added row, an existing row to copy a context column from: one with the same code
/// in the first dimension that functionally determines the column in the existing rows
/// (every row with that code has the same value). None (NULL) when no dimension does.
fn context_donors(
    dims: &[Vec<String>],
    values: &ArrayRef,
    existing: usize,
    missing: &[Vec<String>],
) -> UInt32Array {
    let text = arrow_cast::cast(values, &DataType::Utf8).ok();
    let text = text
        .as_ref()
        .and_then(|t| t.as_any().downcast_ref::<StringArray>());
    let value = |row: usize| text.and_then(|t| t.is_valid(row).then(|| t.value(row)));
    // A dimension whose codes each occur once "determines" anything by coincidence: it must
    // repeat a code to count.
    let determining = (0..dims.len()).find(|&d| {
        let mut seen: std::collections::HashMap<&str, Option<&str>> = Default::default();
        let consistent =
            (0..existing).all(|r| *seen.entry(dims[d][r].as_str()).or_insert(value(r)) == value(r));
        consistent && seen.len() < existing
    });
    let Some(d) = determining.filter(|_| text.is_some()) else {
        return UInt32Array::from(vec![None; missing.len()]);
    };
    let mut donor: std::collections::HashMap<&str, u32> = Default::default();
    for (r, code) in dims[d][..existing].iter().enumerate() {
        donor.entry(code.as_str()).or_insert(r as u32);
    }
    missing
        .iter()
        .map(|row| donor.get(row[d].as_str()).copied())
        .collect()
}
