//! Rounding rules used by publication policies.
//!
//! Each rule also knows the set of true values that could have produced a
//! published figure ([`published_interval`](crate::Policy::published_interval)),
//! because the audit must give the attacker exactly that knowledge: a rounded
//! total still narrows its withheld parts.

/// Round half-up to a multiple of `base` (`base` > 0). 0 stays 0.
///
/// Half-up (not banker's) so that the interval of true values behind a
/// published figure is the same for every figure: `[v - base/2, v + ceil(base/2) - 1]`.
pub fn round_to_base(x: u64, base: u64) -> u64 {
    assert!(base > 0, "rounding base must be positive");
    (2 * x + base) / (2 * base) * base
}

/// NHS small-numbers rounding of a count that is already known to be publishable
/// (≥ 8 or 0): nearest 5.
pub fn nhs_round(x: u64) -> u64 {
    round_to_base(x, 5)
}

/// Midpoint-6 rounding: `ceil(x/6)*6 − 3` for x > 0, 0 stays 0.
///
/// Every published figure is the midpoint of a band of six true values, so no
/// published figure ever equals the true count for small cells.
pub fn midpoint6(x: u64) -> u64 {
    if x == 0 { 0 } else { x.div_ceil(6) * 6 - 3 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_rounding_is_half_up() {
        assert_eq!(round_to_base(2, 5), 0);
        assert_eq!(round_to_base(3, 5), 5);
        assert_eq!(round_to_base(12, 5), 10);
        assert_eq!(round_to_base(13, 5), 15);
        assert_eq!(round_to_base(15, 10), 20);
        assert_eq!(round_to_base(14, 10), 10);
    }

    #[test]
    fn midpoint6_reference() {
        let got: Vec<u64> = [0, 1, 6, 7, 12, 13].iter().map(|&x| midpoint6(x)).collect();
        assert_eq!(got, vec![0, 3, 3, 9, 9, 15]);
    }
}
