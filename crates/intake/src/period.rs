//! The period a loaded file stands for when nobody declared one: the months its rows cover.

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, TimestampMillisecondType};
use chrono::{Datelike, NaiveDate};
use svna_contracts::{Column, ColumnType, Dataset, DatasetKind};

use crate::error::IntakeError;

/// Validates the period text `START..END` (dates) and returns it normalised.
pub fn parse_period(text: &str) -> Result<String, IntakeError> {
    let bad = |problem: &str| IntakeError::Period {
        period: text.chars().take(64).collect(),
        problem: problem.to_string(),
    };
    let (start, end) = text
        .split_once("..")
        .ok_or_else(|| bad("it has no `..` between its first and last day"))?;
    let parse = |d: &str| {
        chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| bad(&format!("`{d}` is not a date YYYY-MM-DD")))
    };
    if parse(start)? > parse(end)? {
        return Err(bad("its first day is after its last"));
    }
    Ok(format!("{start}..{end}"))
}
/// Datasets whose period is not their first date column. `police_offences` lists
/// `recorded_date` first, but a month of offences is a month of `offence_date` (how revisions
/// and monthly files are cut): an offence committed in November and recorded in December
/// belongs to November's file. The contract has no field for this yet (crates/contracts is
/// not changed here); until it has, the choice lives in this table.
const PERIOD_COLUMNS: &[(&str, &str)] = &[("police_offences", "offence_date")];

/// The column whose values say which months a row belongs to, if the dataset has one:
/// reference data (and svna's own metadata) has none and is replaced whole.
pub(crate) fn period_column(dataset: &Dataset) -> Option<&Column> {
    if matches!(dataset.kind, DatasetKind::Reference | DatasetKind::Metadata) {
        return None;
    }
    if let Some((_, name)) = PERIOD_COLUMNS.iter().find(|(d, _)| *d == dataset.name) {
        return dataset.column(name);
    }
    dataset.columns.iter().find(|c| {
        c.required
            && matches!(
                c.ty,
                ColumnType::Month | ColumnType::Quarter | ColumnType::Date | ColumnType::Timestamp
            )
    })
}

/// The first and last day seen in a period column so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Coverage {
    first: NaiveDate,
    last: NaiveDate,
}

impl Coverage {
    /// Widens `covered` by every value of `column` in the batch (typed by the contract, so
    /// a value that does not parse was already rejected and never reaches here).
    pub(crate) fn extend(covered: &mut Option<Coverage>, batch: &RecordBatch, column: &Column) {
        let Some(array) = batch.column_by_name(&column.name) else {
            return;
        };
        let mut add = |first: NaiveDate, last: NaiveDate| {
            *covered = Some(match *covered {
                None => Coverage { first, last },
                Some(c) => Coverage {
                    first: c.first.min(first),
                    last: c.last.max(last),
                },
            });
        };
        match column.ty {
            ColumnType::Date => {
                for days in array.as_primitive::<Date32Type>().iter().flatten() {
                    if let Some(d) = NaiveDate::from_epoch_days(days) {
                        add(d, d);
                    }
                }
            }
            ColumnType::Timestamp => {
                for ms in array
                    .as_primitive::<TimestampMillisecondType>()
                    .iter()
                    .flatten()
                {
                    if let Some(t) = chrono::DateTime::from_timestamp_millis(ms) {
                        add(t.date_naive(), t.date_naive());
                    }
                }
            }
            ColumnType::Month | ColumnType::Quarter => {
                for text in array.as_string::<i32>().iter().flatten() {
                    if let Some((first, last)) = month_or_quarter(text) {
                        add(first, last);
                    }
                }
            }
            _ => {}
        }
    }

    /// `YYYY-MM-DD..YYYY-MM-DD` from the first day of the first month covered to the last
    /// day of the last: the months the file covers.
    pub(crate) fn period(self) -> Option<String> {
        let first = self.first.with_day(1)?;
        let last = last_day_of_month(self.last.year(), self.last.month())?;
        Some(format!("{first}..{last}"))
    }
}

/// The days of a `YYYY-MM` month or a `YYYY-Qn` quarter.
fn month_or_quarter(text: &str) -> Option<(NaiveDate, NaiveDate)> {
    let year: i32 = text.get(..4)?.parse().ok()?;
    let (first_month, last_month) = match text.get(5..6)? {
        "Q" => {
            let q: u32 = text.get(6..7)?.parse().ok()?;
            (3 * q - 2, 3 * q)
        }
        _ => {
            let m: u32 = text.get(5..7)?.parse().ok()?;
            (m, m)
        }
    };
    Some((
        NaiveDate::from_ymd_opt(year, first_month, 1)?,
        last_day_of_month(year, last_month)?,
    ))
}

fn last_day_of_month(year: i32, month: u32) -> Option<NaiveDate> {
    let (y, m) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)?.pred_opt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_and_quarters_become_whole_months() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(
            month_or_quarter("2024-02"),
            Some((d(2024, 2, 1), d(2024, 2, 29)))
        );
        assert_eq!(
            month_or_quarter("2023-Q4"),
            Some((d(2023, 10, 1), d(2023, 12, 31)))
        );
        let c = Coverage {
            first: d(2023, 1, 17),
            last: d(2023, 11, 3),
        };
        assert_eq!(c.period().unwrap(), "2023-01-01..2023-11-30");
    }

    #[test]
    fn reference_data_has_no_period_and_offences_go_by_offence_date() {
        let v1 = svna_contracts::v1();
        assert!(period_column(v1.dataset("age_bands").unwrap()).is_none());
        let name = |d: &str| period_column(v1.dataset(d).unwrap()).map(|c| c.name.clone());
        assert_eq!(name("police_offences").as_deref(), Some("offence_date"));
        assert_eq!(name("police_open_data").as_deref(), Some("month"));
        assert_eq!(name("ed_assaults").as_deref(), Some("arrival_datetime"));
        assert_eq!(name("police_persons"), None);
    }
}
