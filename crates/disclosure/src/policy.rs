//! Publication policies: which counts are unsafe on their own (primary
//! suppression), how safe counts are published (exactly or rounded), what the
//! attacker may assume about withheld cells, and how rates are derived from
//! protected counts.
//!
//! The policy is the single place where "what a published figure tells the
//! attacker" is defined ([`Policy::published_interval`],
//! [`Policy::zeros_published`]); the audit and secondary suppression both read
//! it from here so they can never disagree.

use serde::{Deserialize, Serialize};

use crate::rounding::{midpoint6, nhs_round, round_to_base};

/// How the counts of one output are protected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Policy {
    /// Counts `1..k-1` are primary-unsafe; others are published exactly.
    /// Zeros are published as 0 unless `zeros_disclosive` (then 0 is unsafe too).
    Threshold {
        /// Minimum safe count (default 5).
        k: u64,
        /// Treat 0 as unsafe (e.g. when "nobody" is itself disclosive).
        zeros_disclosive: bool,
    },
    /// NHS small-numbers style: 1–7 withheld, everything else rounded to the nearest 5.
    NhsSmallNumbers,
    /// Every count rounded (half-up) to a multiple of `base`; nothing withheld.
    Rounding {
        /// Rounding base (> 0).
        base: u64,
    },
    /// Midpoint-6 rounding: `ceil(x/6)*6 − 3` for x > 0, 0 stays 0; nothing withheld.
    Midpoint6,
}

impl Default for Policy {
    fn default() -> Self {
        Policy::threshold(5)
    }
}

/// What a policy does with one true count, before any secondary suppression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Primary {
    /// Unsafe on its own: must be withheld.
    Unsafe,
    /// Safe: publish this (possibly rounded) figure.
    Publish(u64),
}

impl Policy {
    /// Threshold policy with zeros published.
    pub fn threshold(k: u64) -> Self {
        Policy::Threshold {
            k,
            zeros_disclosive: false,
        }
    }

    /// Validate parameters.
    pub fn validate(&self) -> crate::Result<()> {
        match self {
            Policy::Threshold { k, .. } if *k == 0 => Err(crate::DisclosureError::InvalidOption(
                "threshold k must be ≥ 1".into(),
            )),
            Policy::Rounding { base } if *base == 0 => Err(crate::DisclosureError::InvalidOption(
                "rounding base must be ≥ 1".into(),
            )),
            _ => Ok(()),
        }
    }

    /// Classify one true count.
    pub fn classify(&self, x: u64) -> Primary {
        match *self {
            Policy::Threshold {
                k,
                zeros_disclosive,
            } => {
                if (x == 0 && zeros_disclosive) || (x > 0 && x < k) {
                    Primary::Unsafe
                } else {
                    Primary::Publish(x)
                }
            }
            Policy::NhsSmallNumbers => {
                if (1..=7).contains(&x) {
                    Primary::Unsafe
                } else {
                    Primary::Publish(nhs_round(x))
                }
            }
            Policy::Rounding { base } => Primary::Publish(round_to_base(x, base)),
            Policy::Midpoint6 => Primary::Publish(midpoint6(x)),
        }
    }

    /// The integer true values consistent with a published figure `v`
    /// (inclusive). For exact publication this is `[v, v]`.
    pub fn published_interval(&self, v: u64) -> (u64, u64) {
        match *self {
            Policy::Threshold { .. } => (v, v),
            Policy::NhsSmallNumbers => {
                if v == 0 {
                    (0, 0)
                } else {
                    ((v.saturating_sub(2)).max(8), v + 2)
                }
            }
            Policy::Rounding { base } => {
                let lo = v.saturating_sub(base / 2);
                let hi = v + base.div_ceil(2) - 1;
                (lo, hi)
            }
            Policy::Midpoint6 => {
                if v == 0 {
                    (0, 0)
                } else {
                    (v - 2, v + 3)
                }
            }
        }
    }

    /// Whether a published table shows zeros as 0. If so, the attacker knows
    /// that every withheld cell is non-empty (≥ 1) — which is why a zero is
    /// never chosen as a secondary suppression under such a policy.
    pub fn zeros_published(&self) -> bool {
        match *self {
            Policy::Threshold {
                zeros_disclosive, ..
            } => !zeros_disclosive,
            Policy::NhsSmallNumbers | Policy::Midpoint6 => true,
            // 0 is published but 1 and 2 may also round to 0: a zero does not
            // single out empty cells, and nothing is withheld anyway.
            Policy::Rounding { .. } => false,
        }
    }

    /// Default protection level: the width the attacker's interval for a
    /// primary cell must reach. For thresholds it is `k` (the attacker must not
    /// be able to pin the cell inside a band narrower than the unsafe range).
    pub fn default_protection_level(&self) -> u64 {
        match *self {
            Policy::Threshold { k, .. } => k.max(1),
            Policy::NhsSmallNumbers => 8,
            Policy::Rounding { .. } | Policy::Midpoint6 => 1,
        }
    }
}

/// Why a cell is withheld (or that it is not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueClass {
    /// Published (possibly rounded).
    Published,
    /// Withheld because it is unsafe on its own (or forced by the caller).
    Primary,
    /// Withheld to stop a primary cell being recomputed.
    Secondary,
    /// Arrived already suppressed by the data partner: value unknown, never reconstructed.
    Partner,
}

/// The final state of one cell of an output table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CellOutcome {
    /// Publish this figure.
    Published {
        /// Figure to print (rounded if the policy rounds).
        value: u64,
    },
    /// Print a suppression marker instead of a figure.
    Withheld {
        /// Why.
        class: ValueClass,
    },
}

impl CellOutcome {
    /// The published figure, if any.
    pub fn value(&self) -> Option<u64> {
        match self {
            CellOutcome::Published { value } => Some(*value),
            CellOutcome::Withheld { .. } => None,
        }
    }

    /// The value class.
    pub fn class(&self) -> ValueClass {
        match self {
            CellOutcome::Published { .. } => ValueClass::Published,
            CellOutcome::Withheld { class } => *class,
        }
    }
}

/// A rate computed only from protected counts: `num / den * per`.
///
/// Withheld if the numerator OR the denominator is withheld (a rate next to a
/// published denominator would otherwise give the withheld numerator back),
/// and `None` for a zero denominator. Rounded inputs give a rate of rounded
/// figures, never of the true counts.
pub fn protected_rate(num: &CellOutcome, den: &CellOutcome, per: f64) -> Option<f64> {
    match (num.value(), den.value()) {
        (Some(n), Some(d)) if d > 0 => Some(n as f64 / d as f64 * per),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(p: &Policy, xs: &[u64]) -> Vec<String> {
        xs.iter()
            .map(|&x| match p.classify(x) {
                Primary::Unsafe => "*".to_string(),
                Primary::Publish(v) => v.to_string(),
            })
            .collect()
    }

    #[test]
    fn nhs_reference_vector() {
        let got = render(
            &Policy::NhsSmallNumbers,
            &[0, 3, 7, 8, 12, 13, 17, 18, 22, 23],
        );
        assert_eq!(
            got,
            ["0", "*", "*", "10", "10", "15", "15", "20", "20", "25"]
        );
    }

    #[test]
    fn midpoint6_reference_vector() {
        let got = render(&Policy::Midpoint6, &[0, 1, 6, 7, 12, 13]);
        assert_eq!(got, ["0", "3", "3", "9", "9", "15"]);
    }

    #[test]
    fn threshold_and_zeros() {
        assert_eq!(
            render(&Policy::threshold(5), &[0, 1, 4, 5]),
            ["0", "*", "*", "5"]
        );
        let z = Policy::Threshold {
            k: 5,
            zeros_disclosive: true,
        };
        assert_eq!(render(&z, &[0, 1, 4, 5]), ["*", "*", "*", "5"]);
    }

    #[test]
    fn published_intervals_cover_their_preimages() {
        for p in [
            Policy::NhsSmallNumbers,
            Policy::Midpoint6,
            Policy::Rounding { base: 5 },
            Policy::Rounding { base: 10 },
            Policy::threshold(3),
        ] {
            for x in 0..200u64 {
                if let Primary::Publish(v) = p.classify(x) {
                    let (lo, hi) = p.published_interval(v);
                    assert!(lo <= x && x <= hi, "{p:?} x={x} v={v} [{lo},{hi}]");
                    // and the interval is tight: both ends map back to v
                    for e in [lo, hi] {
                        assert_eq!(p.classify(e), Primary::Publish(v), "{p:?} end {e}");
                    }
                }
            }
        }
    }

    #[test]
    fn rates_follow_protection() {
        let p = CellOutcome::Published { value: 10 };
        let w = CellOutcome::Withheld {
            class: ValueClass::Primary,
        };
        assert_eq!(
            protected_rate(&p, &CellOutcome::Published { value: 200 }, 1000.0),
            Some(50.0)
        );
        assert_eq!(protected_rate(&w, &p, 1000.0), None);
        assert_eq!(protected_rate(&p, &w, 1000.0), None);
        assert_eq!(
            protected_rate(&p, &CellOutcome::Published { value: 0 }, 1000.0),
            None
        );
    }
}
