use chrono::{NaiveDate, NaiveDateTime};

use crate::dataset::{Column, ColumnType};
use crate::error::{PSEUDONYMISE_ADVICE, Rule, Violation, clip};
use crate::formats;
use crate::ho_codes::is_known_ho_code;

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
    /// types that cannot hold a person's identity (never for tokens, never an identifier),
    /// and never more than [`crate::error::MAX_ECHO_CHARS`] characters of it.
    pub fn parse(&self, raw: &str) -> Result<Value, Violation> {
        if raw.is_empty() {
            return if self.required {
                Err(self.violation(
                    Rule::Required,
                    "required value is empty: fill it in (only optional columns may be empty)"
                        .into(),
                ))
            } else {
                Ok(Value::Null)
            };
        }
        // Checked before the type: an NHS number in a token column is an identifier that was
        // not pseudonymised, not merely a malformed token.
        if let Some(what) = direct_identifier(raw) {
            return Err(self.violation(
                Rule::Identifier,
                format!("value looks like {what}, {PSEUDONYMISE_ADVICE}"),
            ));
        }
        if let Some(max) = self.max_len()
            && raw.len() > max
            && raw.chars().nth(max).is_some()
        {
            return Err(self.violation(
                Rule::Length,
                format!(
                    "value of {} bytes is longer than the {max} characters `{}` allows: \
                     shorten it, or check the file's quoting",
                    raw.len(),
                    self.name
                ),
            ));
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
            ColumnType::HoCode if formats::is_ho_code(raw) && !is_known_ho_code(raw) => Err(self
                .violation(
                    Rule::HoCode,
                    format!(
                        "`{}` is not a Home Office offence code of the Counting Rules list \
                         (contracts/ho_offence_codes.txt): use the code the offence was \
                         classified under",
                        clip(raw)
                    ),
                )),
            ColumnType::HoCode => self.code(
                raw,
                formats::is_ho_code(raw),
                Rule::HoCode,
                "a Home Office offence code such as 5D or 4/1",
            ),
            // A quoted line break or tab in a code or name is a paste accident, and would
            // break every line-based tool downstream (and the published CSVs).
            ColumnType::Text if raw.chars().any(char::is_control) => Err(self.violation(
                Rule::ControlCharacter,
                "value holds a line break, tab or other control character: remove it".into(),
            )),
            ColumnType::Text => Ok(Value::Utf8(raw.to_string())),
            ColumnType::Enum => self.parse_enum(raw),
            ColumnType::Int => self.parse_int(raw),
            ColumnType::Float => raw
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(Value::Float)
                .ok_or_else(|| {
                    self.violation(Rule::Float, format!("`{}` is not a number", clip(raw)))
                }),
            ColumnType::Bool => parse_bool(raw).map(Value::Bool).ok_or_else(|| {
                self.violation(
                    Rule::Boolean,
                    format!(
                        "`{}` is not true/false: use true or false (or 1/0)",
                        clip(raw)
                    ),
                )
            }),
            ColumnType::Date => parse_date(raw.as_bytes())
                .map(|d| Value::Date(days_since_epoch(d)))
                .ok_or_else(|| {
                    self.violation(
                        Rule::Date,
                        format!("`{}` is not a date YYYY-MM-DD", clip(raw)),
                    )
                }),
            ColumnType::Timestamp => parse_timestamp(raw)
                .map(|t| Value::Timestamp(t.and_utc().timestamp_millis()))
                .ok_or_else(|| {
                    self.violation(
                        Rule::Timestamp,
                        format!("`{}` is not a timestamp YYYY-MM-DDTHH:MM[:SS]", clip(raw)),
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
            format!("`{}`", clip(raw))
        };
        Err(self.violation(rule, format!("{shown} is not {expected}")))
    }

    fn parse_enum(&self, raw: &str) -> Result<Value, Violation> {
        if self.values.iter().any(|v| v == raw) {
            Ok(Value::Utf8(raw.to_string()))
        } else {
            Err(self.violation(
                Rule::Enum,
                format!("`{}` is not one of {}", clip(raw), self.values.join(", ")),
            ))
        }
    }

    fn parse_int(&self, raw: &str) -> Result<Value, Violation> {
        let n: i64 = raw.parse().map_err(|_| {
            self.violation(
                Rule::Integer,
                format!("`{}` is not a whole number", clip(raw)),
            )
        })?;
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

/// What a raw value looks like if it is a direct identifier: an NHS number whose
/// modulus-11 check digit is right, or a full UK postcode. The spec refuses such a value in
/// any column; both checks are cheap (they reject on length first) so every value is checked.
fn direct_identifier(raw: &str) -> Option<&'static str> {
    // Every value of every row comes here, so the shapes are told apart from the last
    // bytes first (an NHS number ends in a digit, a postcode in digit-letter-letter), which
    // rejects dates, codes, flags and tokens without running the full checks.
    let b = raw.trim().as_bytes();
    let n = b.len();
    if !(5..=12).contains(&n) {
        return None;
    }
    if b[n - 1].is_ascii_digit() {
        return svna_pseudonymise::is_valid_nhs_number(raw)
            .then_some("an NHS number (its modulus-11 check digit is valid)");
    }
    let postcode_end = b[n - 1].is_ascii_alphabetic()
        && b[n - 2].is_ascii_alphabetic()
        && b[n - 3].is_ascii_digit();
    (postcode_end && svna_pseudonymise::looks_like_uk_postcode(raw)).then_some("a full UK postcode")
}

fn parse_bool(raw: &str) -> Option<bool> {
    match raw {
        "true" | "TRUE" | "True" | "1" => Some(true),
        "false" | "FALSE" | "False" | "0" => Some(false),
        _ => None,
    }
}

/// `YYYY-MM-DD`, zero-padded, a real calendar date. Parsed by hand: chrono's format-string
/// parser was a tenth of intake's time.
fn parse_date(raw: &[u8]) -> Option<NaiveDate> {
    if raw.len() != 10 || raw[4] != b'-' || raw[7] != b'-' {
        return None;
    }
    let year = digits(&raw[0..4])?;
    NaiveDate::from_ymd_opt(year as i32, digits(&raw[5..7])?, digits(&raw[8..10])?)
}

/// `YYYY-MM-DDTHH:MM` or `YYYY-MM-DDTHH:MM:SS`.
fn parse_timestamp(raw: &str) -> Option<NaiveDateTime> {
    let raw = raw.as_bytes();
    if !(raw.len() == 16 || raw.len() == 19) || raw[10] != b'T' || raw[13] != b':' {
        return None;
    }
    let seconds = match raw.len() {
        19 if raw[16] == b':' => digits(&raw[17..19])?,
        19 => return None,
        _ => 0,
    };
    parse_date(&raw[..10])?.and_hms_opt(digits(&raw[11..13])?, digits(&raw[14..16])?, seconds)
}

/// A run of ASCII digits as a number; `None` for anything else.
fn digits(raw: &[u8]) -> Option<u32> {
    raw.iter().try_fold(0u32, |n, &c| {
        c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast path agrees with the full checks of `svna-pseudonymise`.
    #[test]
    fn direct_identifiers_are_found_by_their_shape() {
        for nhs in ["9434765919", "943 476 5919", "943-476-5919", " 4010232137 "] {
            assert!(direct_identifier(nhs).unwrap().contains("NHS"), "{nhs}");
        }
        for postcode in [
            "SW1A 1AA",
            "LN1 3DY",
            "PE21 6JY",
            "M1 1AE",
            "sw1a1aa",
            " pe21  6jy ",
            "GIR 0AA",
        ] {
            assert!(
                direct_identifier(postcode).unwrap().contains("postcode"),
                "{postcode}"
            );
        }
        for other in [
            "9434765918",
            "2019-01-02",
            "E01000001",
            "E07000138",
            "8N",
            "105A",
            "true",
            "street",
            "knife_or_sharp",
            "SW1A",
            "SW1A 1CA",
            "2019-Q1",
            "18-24",
            "RXX01",
            "",
            "0.065595",
            "On or near Church Road",
        ] {
            assert_eq!(direct_identifier(other), None, "{other}");
        }
        let token = "d073d0213d77a36c6e9422f8523982795fe6f4e40062bb7056828ea2d67735dc";
        assert_eq!(direct_identifier(token), None);
    }

    #[test]
    fn dates_are_strict_calendar_dates() {
        let day = |s: &str| parse_date(s.as_bytes()).map(days_since_epoch);
        assert_eq!(day("1970-01-01"), Some(0));
        assert_eq!(day("2020-02-29"), Some(18321));
        for bad in [
            "2019-02-29",
            "2019-13-01",
            "2019-00-10",
            "2019-1-01",
            "2019-01-1",
            "2019/01/01",
            "20190101",
            "2019-01-01 ",
            "+019-01-01",
            "2019-0a-01",
            "",
        ] {
            assert_eq!(day(bad), None, "{bad}");
        }
    }

    #[test]
    fn timestamps_take_minutes_or_seconds() {
        let at = |s: &str| parse_timestamp(s).map(|t| t.and_utc().timestamp_millis());
        assert_eq!(at("1970-01-01T00:01"), Some(60_000));
        assert_eq!(at("1970-01-02T00:00:30"), Some(86_430_000));
        for bad in [
            "2019-01-01 10:00",
            "2019-01-01T24:00",
            "2019-01-01T10:60",
            "2019-01-01T10:00:",
            "2019-01-01T10:00:61",
            "2019-01-01T10:00-00",
            "2019-02-30T10:00",
            "2019-01-01T1:00",
        ] {
            assert_eq!(at(bad), None, "{bad}");
        }
    }
}
