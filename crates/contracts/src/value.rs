use chrono::{NaiveDate, NaiveDateTime};

use crate::dataset::{Column, ColumnType};
use crate::error::{Rule, Violation};
use crate::formats;

/// A typed value of a contract column, as it goes into an Arrow array.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Utf8(String),
    Int(i32),
    Float(f64),
    Bool(bool),
    /// Days since 1970-01-01.
    Date(i32),
    /// Milliseconds since 1970-01-01T00:00 local wall-clock time.
    Timestamp(i64),
}

const EPOCH: NaiveDate = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();

/// Days since the Unix epoch for a calendar date.
pub fn days_since_epoch(date: NaiveDate) -> i32 {
    (date - EPOCH).num_days() as i32
}

impl Column {
    /// Parses one raw field. An empty field is unknown (NULL), which is an error only for a
    /// required column. The message says what was expected; it quotes the value only for
    /// types that cannot hold a person's identity (never for tokens).
    pub fn parse(&self, raw: &str) -> Result<Value, Violation> {
        if raw.is_empty() {
            return if self.required {
                Err(self.violation(Rule::Required, "required value is empty".into()))
            } else {
                Ok(Value::Null)
            };
        }
        match self.ty {
            ColumnType::Token => self.code(
                raw,
                formats::is_token(raw),
                Rule::Token,
                "a token of 64 lowercase hex characters",
            ),
            ColumnType::Lsoa => self.code(
                raw,
                formats::is_lsoa_code(raw),
                Rule::LsoaCode,
                "an LSOA 2011 code (E01/W01 + 6 digits)",
            ),
            ColumnType::Lad => self.code(
                raw,
                formats::is_lad_code(raw),
                Rule::LadCode,
                "a district code (E06/E07/E08/E09/W06 + 6 digits)",
            ),
            ColumnType::Month => {
                self.code(raw, formats::is_month(raw), Rule::Month, "a month YYYY-MM")
            }
            ColumnType::Quarter => self.code(
                raw,
                formats::is_quarter(raw),
                Rule::Quarter,
                "a quarter YYYY-Qn",
            ),
            ColumnType::HoCode => self.code(
                raw,
                formats::is_ho_code(raw),
                Rule::HoCode,
                "a Home Office offence code such as 5D or 4/1",
            ),
            ColumnType::Text => Ok(Value::Utf8(raw.to_string())),
            ColumnType::Enum => self.parse_enum(raw),
            ColumnType::Int => self.parse_int(raw),
            ColumnType::Float => raw
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(Value::Float)
                .ok_or_else(|| self.violation(Rule::Float, format!("`{raw}` is not a number"))),
            ColumnType::Bool => parse_bool(raw)
                .map(Value::Bool)
                .ok_or_else(|| self.violation(Rule::Boolean, format!("`{raw}` is not true/false"))),
            ColumnType::Date => NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .ok()
                .filter(|_| raw.len() == 10)
                .map(|d| Value::Date(days_since_epoch(d)))
                .ok_or_else(|| {
                    self.violation(Rule::Date, format!("`{raw}` is not a date YYYY-MM-DD"))
                }),
            ColumnType::Timestamp => parse_timestamp(raw)
                .map(|t| Value::Timestamp(t.and_utc().timestamp_millis()))
                .ok_or_else(|| {
                    self.violation(
                        Rule::Timestamp,
                        format!("`{raw}` is not a timestamp YYYY-MM-DDTHH:MM[:SS]"),
                    )
                }),
        }
    }

    fn violation(&self, rule: Rule, message: String) -> Violation {
        Violation {
            column: self.name.clone(),
            rule,
            message,
        }
    }

    fn code(&self, raw: &str, ok: bool, rule: Rule, expected: &str) -> Result<Value, Violation> {
        if ok {
            return Ok(Value::Utf8(raw.to_string()));
        }
        // A malformed token may be a raw identifier: never echo it.
        let shown = if self.ty == ColumnType::Token {
            format!("value of {} characters", raw.chars().count())
        } else {
            format!("`{raw}`")
        };
        Err(self.violation(rule, format!("{shown} is not {expected}")))
    }

    fn parse_enum(&self, raw: &str) -> Result<Value, Violation> {
        if self.values.iter().any(|v| v == raw) {
            Ok(Value::Utf8(raw.to_string()))
        } else {
            Err(self.violation(
                Rule::Enum,
                format!("`{raw}` is not one of {}", self.values.join(", ")),
            ))
        }
    }

    fn parse_int(&self, raw: &str) -> Result<Value, Violation> {
        let n: i64 = raw
            .parse()
            .map_err(|_| self.violation(Rule::Integer, format!("`{raw}` is not a whole number")))?;
        let below = self.min.is_some_and(|min| n < min);
        let above = self.max.is_some_and(|max| n > max);
        if below || above || n > i32::MAX as i64 || n < i32::MIN as i64 {
            let range = match (self.min, self.max) {
                (Some(lo), Some(hi)) => format!("{lo}..={hi}"),
                (Some(lo), None) => format!(">= {lo}"),
                (None, Some(hi)) => format!("<= {hi}"),
                (None, None) => "a 32-bit integer".into(),
            };
            return Err(self.violation(Rule::Range, format!("{n} is outside {range}")));
        }
        Ok(Value::Int(n as i32))
    }
}

fn parse_bool(raw: &str) -> Option<bool> {
    match raw {
        "true" | "TRUE" | "True" | "1" => Some(true),
        "false" | "FALSE" | "False" | "0" => Some(false),
        _ => None,
    }
}

fn parse_timestamp(raw: &str) -> Option<NaiveDateTime> {
    match raw.len() {
        16 => NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M").ok(),
        19 => NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S").ok(),
        _ => None,
    }
}
