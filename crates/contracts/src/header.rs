use crate::dataset::Dataset;
use crate::error::{HeaderProblem, Rule, Violation};
use crate::value::Value;

/// Where each contract column sits in a particular file's header (column order is free).
#[derive(Debug, Clone)]
pub struct HeaderMap {
    /// For each contract column, in contract order: its index in the file's records.
    positions: Vec<Option<usize>>,
    field_count: usize,
}

impl Dataset {
    /// Maps a file's header onto the contract. Every problem is reported, not just the
    /// first, so a partner can fix a file in one go. A leading UTF-8 BOM is tolerated.
    pub fn map_header<S: AsRef<str>>(&self, header: &[S]) -> Result<HeaderMap, Vec<HeaderProblem>> {
        let mut problems = Vec::new();
        let mut positions = vec![None; self.columns.len()];
        for (index, raw) in header.iter().enumerate() {
            let name = raw.as_ref().trim_start_matches('\u{feff}');
            if self.ignore_columns.iter().any(|c| c == name) {
                continue;
            }
            let found = self
                .columns
                .iter()
                .position(|c| c.name == name || c.source_names.iter().any(|s| s == name));
            match found {
                None => problems.push(HeaderProblem::Unknown {
                    column: name.to_string(),
                }),
                Some(col) if positions[col].is_some() => problems.push(HeaderProblem::Duplicate {
                    column: name.to_string(),
                }),
                Some(col) => positions[col] = Some(index),
            }
        }
        for (col, pos) in self.columns.iter().zip(&positions) {
            // A column added in a later version may be left out: its values are empty.
            if pos.is_none() && !Dataset::may_be_absent(col) {
                problems.push(HeaderProblem::Missing {
                    column: col.name.clone(),
                });
            }
        }
        if problems.is_empty() {
            Ok(HeaderMap {
                positions,
                field_count: header.len(),
            })
        } else {
            Err(problems)
        }
    }

    /// Parses one record (fields in file order) into values in contract order. Returns every
    /// violation in the row, the cross-field rules' included; `out` holds the row's values
    /// (for the caller to use only when there are no violations).
    pub fn parse_record<'a>(
        &self,
        map: &HeaderMap,
        field: impl Fn(usize) -> Option<&'a str>,
        out: &mut Vec<Value>,
    ) -> Vec<Violation> {
        out.clear();
        let mut violations = Vec::new();
        for (column, pos) in self.columns.iter().zip(&map.positions) {
            let raw = pos.and_then(&field).unwrap_or("");
            match column.parse(raw) {
                Ok(v) => out.push(v),
                Err(v) => {
                    out.push(Value::Null);
                    violations.push(v);
                }
            }
        }
        let cross = self.check_row_rules(out, &violations);
        violations.extend(cross);
        violations
    }

    /// The contract's cross-field rules. A rule whose columns hold valid values is checked
    /// even when another column of the row is bad, so a partner sees every problem of a row
    /// at once; a rule over a bad value is not (its own violation says what to fix).
    fn check_row_rules(&self, row: &[Value], bad: &[Violation]) -> Vec<Violation> {
        let value = |name: &str| {
            let valid = !bad.iter().any(|v| v.column == name);
            self.columns
                .iter()
                .position(|c| c.name == name)
                .filter(|_| valid)
                .map(|i| &row[i])
        };
        let mut violations = Vec::new();
        for rule in &self.order {
            if let (Some(earlier), Some(later)) = (value(&rule.earlier), value(&rule.later))
                && comes_after(earlier, later)
            {
                violations.push(Violation {
                    column: rule.earlier.clone(),
                    rule: Rule::Order,
                    message: format!(
                        "`{}` is after `{}`: it must not be later; correct whichever of the \
                         two is wrong",
                        rule.earlier, rule.later
                    ),
                });
            }
        }
        if let Some(s) = &self.suppression
            && let (Some(count), Some(flag)) = (value(&s.count), value(&s.flag))
        {
            let flagged = matches!(flag, Value::Bool(true));
            let counted = !matches!(count, Value::Null);
            if let Some(message) = suppression_misuse(&s.count, &s.flag, flagged, counted) {
                violations.push(Violation {
                    column: s.count.clone(),
                    rule: Rule::SuppressionFlag,
                    message,
                });
            }
        }
        violations
    }
}

/// The spec's pre-aggregated rule: a suppressed cell is empty with the flag set, so a count
/// and its flag must agree. A suppressed row with a count would publish what the partner
/// withheld; an empty unflagged count would be read as known when it is not.
fn suppression_misuse(count: &str, flag: &str, flagged: bool, counted: bool) -> Option<String> {
    match (flagged, counted) {
        (true, true) => Some(format!(
            "row has `{flag} = true` and a count in `{count}`: leave a suppressed count \
             empty (or set `{flag}` to false if the count may be shared)"
        )),
        (false, false) => Some(format!(
            "`{count}` is empty but `{flag}` is false: give the count, or set `{flag}` to \
             true if you withheld it"
        )),
        _ => None,
    }
}

/// True when `earlier` is known, `later` is known, and `earlier` comes after it.
fn comes_after(earlier: &Value, later: &Value) -> bool {
    match (earlier, later) {
        (Value::Date(a), Value::Date(b)) => a > b,
        (Value::Timestamp(a), Value::Timestamp(b)) => a > b,
        _ => false,
    }
}

impl HeaderMap {
    /// Where the contract column with this index sits in the file's records.
    pub fn position(&self, column: usize) -> Option<usize> {
        self.positions.get(column).copied().flatten()
    }

    /// How many fields a record of this file must have.
    pub fn field_count(&self) -> usize {
        self.field_count
    }
}
