//! The disclosure policy a stage declares for its output, typed so that a misspelt policy is
//! refused when the pipeline file is read rather than when a finished run is published.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// How an aggregate output is protected before publication (svna-publish interprets it).
/// Written in pipeline files, run records and release manifests by its name (`threshold`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum DisclosurePolicy {
    /// Counts 1..k-1 withheld, with complementary suppression.
    Threshold,
    /// NHS small numbers: 1-7 withheld, others rounded to 5.
    Nhs,
    /// Every count rounded to a base.
    Round,
    /// Midpoint-6 rounding.
    Midpoint6,
    /// No suppression: only for tables computed from data already public (data.police.uk
    /// street-level crime, reference data). Publish refuses it for any table whose lineage
    /// includes partner data.
    Open,
    /// Row counts of whole deliveries, published exactly: counts of records in whole
    /// extracts, not of people or events in a place or group, so nothing in them is
    /// disclosive, and the release manifest already publishes every staged file's exact row
    /// count (rounding them was undone by the manifest's figures anyway).
    Accounting,
}

/// A policy name that is none of [`DisclosurePolicy::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "unknown disclosure policy `{value}` (the policies are {})",
    DisclosurePolicy::names()
)]
pub struct UnknownPolicy {
    pub value: String,
}

impl DisclosurePolicy {
    pub const ALL: [DisclosurePolicy; 6] = [
        DisclosurePolicy::Threshold,
        DisclosurePolicy::Nhs,
        DisclosurePolicy::Round,
        DisclosurePolicy::Midpoint6,
        DisclosurePolicy::Open,
        DisclosurePolicy::Accounting,
    ];

    /// The name used in pipeline files and records.
    pub fn name(self) -> &'static str {
        match self {
            DisclosurePolicy::Threshold => "threshold",
            DisclosurePolicy::Nhs => "nhs",
            DisclosurePolicy::Round => "round",
            DisclosurePolicy::Midpoint6 => "midpoint6",
            DisclosurePolicy::Open => "open",
            DisclosurePolicy::Accounting => "accounting",
        }
    }

    /// Whether tables under this policy are published as they are, without disclosure
    /// control (open data, row accounting).
    pub fn is_published_as_is(self) -> bool {
        matches!(self, DisclosurePolicy::Open | DisclosurePolicy::Accounting)
    }

    /// Every policy name, for error messages: `threshold, nhs, ...`.
    fn names() -> String {
        Self::ALL.map(Self::name).join(", ")
    }
}

/// The one parser of policy names: serde (pipeline files, run records, release manifests)
/// goes through it too.
impl FromStr for DisclosurePolicy {
    type Err = UnknownPolicy;

    fn from_str(text: &str) -> Result<Self, UnknownPolicy> {
        Self::ALL
            .into_iter()
            .find(|policy| policy.name() == text)
            .ok_or_else(|| UnknownPolicy {
                value: text.to_string(),
            })
    }
}

impl TryFrom<String> for DisclosurePolicy {
    type Error = UnknownPolicy;

    fn try_from(text: String) -> Result<Self, UnknownPolicy> {
        text.parse()
    }
}

impl From<DisclosurePolicy> for &'static str {
    fn from(policy: DisclosurePolicy) -> Self {
        policy.name()
    }
}

impl fmt::Display for DisclosurePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_back_to_its_policy() {
        for policy in DisclosurePolicy::ALL {
            assert_eq!(policy.name().parse::<DisclosurePolicy>(), Ok(policy));
        }
    }

    #[test]
    fn records_keep_the_names_they_had_as_strings() {
        let json = serde_json::to_string(&DisclosurePolicy::Midpoint6).unwrap();
        assert_eq!(json, "\"midpoint6\"");
        let back: DisclosurePolicy = serde_json::from_str("\"accounting\"").unwrap();
        assert_eq!(back, DisclosurePolicy::Accounting);
    }

    #[test]
    fn an_unknown_name_is_refused_with_the_allowed_ones() {
        let err = "Threshold".parse::<DisclosurePolicy>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown disclosure policy `Threshold` (the policies are threshold, nhs, round, midpoint6, open, accounting)"
        );
    }
}
