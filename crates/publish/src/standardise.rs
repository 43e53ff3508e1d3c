//! Directly age-standardised rates. A crude rate compares badly between districts whose
//! residents differ in age (a young district has more violence per head because violence is
//! concentrated in the young); a directly standardised rate is what each district's rate
//! would be if it had the standard population's ages: the weighted mean of its age-band
//! rates, weighted by the standard's share of each band.
//!
//! Computed after protection from the published cells and the public populations only, so
//! anyone can recompute it from the release and it discloses nothing the release does not.
//! A figure that needs a withheld band count is withheld with it.

use arrow_array::Array;
use svna_disclosure::CellOutcome;
use svna_records::{StandardPopulation, StandardisedRateSpec};

use crate::output_table::OutputTable;
use crate::write::{context_f64, round_to};

/// The 2013 European Standard Population (Eurostat, 2013): the first age of each five-year
/// group and its weight; 100,000 in all. The last group is 90 and over.
const ESP2013: [(u32, f64); 19] = [
    (0, 5000.0),
    (5, 5500.0),
    (10, 5500.0),
    (15, 5500.0),
    (20, 6000.0),
    (25, 6000.0),
    (30, 6500.0),
    (35, 7000.0),
    (40, 7000.0),
    (45, 7000.0),
    (50, 7000.0),
    (55, 6500.0),
    (60, 6000.0),
    (65, 5500.0),
    (70, 5000.0),
    (75, 4000.0),
    (80, 2500.0),
    (85, 1500.0),
    (90, 1000.0),
];

/// The oldest age a band reaches: an open band (`65+`) runs to it, and the standard's 90+
/// group is spread over 90 to it.
const LAST_AGE: u32 = 99;

/// The ages (first, last) an age-band code covers: `a-b`, or `a+` (to [`LAST_AGE`]); `None`
/// for any other code (`unknown`, the total), which standardisation leaves out.
pub fn band_ages(code: &str) -> Option<(u32, u32)> {
    let (first, last) = match code.strip_suffix('+') {
        Some(first) => (first.trim().parse().ok()?, LAST_AGE),
        None => {
            let (first, last) = code.split_once('-')?;
            (first.trim().parse().ok()?, last.trim().parse().ok()?)
        }
    };
    (first <= last && last <= LAST_AGE).then_some((first, last))
}

/// A band's weight in the standard: each group's weight spread evenly over its single years
/// of age (ten for 90 and over), summed over the band's ages. Bands that do not follow the
/// five-year groups (`10-17`, `18-24`) so get the share of their years, the usual
/// approximation when the counts come in other bands.
pub fn standard_weight(standard: StandardPopulation, first: u32, last: u32) -> f64 {
    let groups = match standard {
        StandardPopulation::Esp2013 => &ESP2013,
    };
    (first..=last)
        .map(|age| {
            let at = groups
                .iter()
                .rposition(|(start, _)| *start <= age)
                .unwrap_or(0);
            let end = groups.get(at + 1).map_or(LAST_AGE + 1, |(start, _)| *start);
            groups[at].1 / f64::from(end - groups[at].0)
        })
        .sum()
}

/// One standardised figure as published.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Standardised {
    Value(f64),
    /// Needs a band count that is withheld: withheld with it (`[c]`).
    Withheld,
    /// Not a total row of the banded dimension, or a band's population is unknown or zero.
    Blank,
}

impl Standardised {
    pub fn value(self) -> Option<f64> {
        match self {
            Standardised::Value(v) => Some(v),
            _ => None,
        }
    }
}

/// Every standardised rate of the table (in `spec.standardised` order), per row.
pub fn standardised_rates(
    table: &OutputTable,
    outcomes: &[Vec<CellOutcome>],
) -> Vec<Vec<Standardised>> {
    table
        .spec
        .standardised
        .iter()
        .map(|rate| standardised_rate(table, outcomes, rate))
        .collect()
}

fn standardised_rate(
    table: &OutputTable,
    outcomes: &[Vec<CellOutcome>],
    rate: &StandardisedRateSpec,
) -> Vec<Standardised> {
    let blank = vec![Standardised::Blank; table.rows()];
    let spec = &table.spec;
    let (Some(by), Some(count)) = (
        spec.dimensions.iter().position(|d| *d == rate.by),
        spec.counts.iter().position(|c| *c == rate.count),
    ) else {
        return blank;
    };
    let Some(denominator) = context_f64(table, &rate.denominator) else {
        return blank;
    };
    // The rows of each group: the same coordinates but for the banded dimension.
    let others = |row: usize| -> Vec<&str> {
        (0..spec.dimensions.len())
            .filter(|&d| d != by)
            .map(|d| table.dims[d][row].as_str())
            .collect()
    };
    let mut groups: std::collections::HashMap<Vec<&str>, Vec<usize>> = Default::default();
    for row in 0..table.rows() {
        groups.entry(others(row)).or_default().push(row);
    }
    let mut out = blank;
    for rows in groups.values() {
        let Some(&total) = rows.iter().find(|&&r| table.dims[by][r] == spec.total) else {
            continue;
        };
        out[total] = standardise(
            rows.iter().filter_map(|&row| {
                let (first, last) = band_ages(&table.dims[by][row])?;
                let den = (denominator.is_valid(row) && denominator.value(row) > 0.0)
                    .then(|| denominator.value(row));
                Some((
                    standard_weight(rate.standard, first, last),
                    outcomes[count][row].value(),
                    den,
                ))
            }),
            rate,
        );
    }
    out
}

/// The weighted mean of the bands' rates, per `rate.per`, from (weight, published count,
/// population) of each band.
fn standardise(
    bands: impl Iterator<Item = (f64, Option<u64>, Option<f64>)>,
    rate: &StandardisedRateSpec,
) -> Standardised {
    let (mut weighted, mut weights, mut blank) = (0.0, 0.0, false);
    let mut any = false;
    for (weight, count, population) in bands {
        any = true;
        let Some(count) = count else {
            return Standardised::Withheld;
        };
        match population {
            Some(population) => {
                weighted += weight * count as f64 / population;
                weights += weight;
            }
            None => blank = true,
        }
    }
    if !any || blank || weights == 0.0 {
        return Standardised::Blank;
    }
    Standardised::Value(round_to(weighted / weights * rate.per, rate.decimals))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_are_read_from_their_codes() {
        assert_eq!(band_ages("0-9"), Some((0, 9)));
        assert_eq!(band_ages("65+"), Some((65, LAST_AGE)));
        assert_eq!(band_ages("unknown"), None);
        assert_eq!(band_ages("Total"), None);
        assert_eq!(band_ages("9-0"), None);
    }

    #[test]
    fn the_european_standard_sums_to_100000_over_any_partition_of_ages() {
        let w = |a, b| standard_weight(StandardPopulation::Esp2013, a, b);
        assert!((w(0, LAST_AGE) - 100_000.0).abs() < 1e-6);
        // svna's reporting bands, by hand from the five-year groups: 10-17 is 10-14 (5,500)
        // and three fifths of 15-19 (3,300); 18-24 the other two fifths (2,200) and 20-24.
        let bands = [
            ((0, 9), 10_500.0),
            ((10, 17), 8_800.0),
            ((18, 24), 8_200.0),
            ((25, 34), 12_500.0),
            ((35, 49), 21_000.0),
            ((50, 64), 19_500.0),
            ((65, LAST_AGE), 19_500.0),
        ];
        let mut total = 0.0;
        for ((a, b), expected) in bands {
            assert!((w(a, b) - expected).abs() < 1e-6, "{a}-{b}: {}", w(a, b));
            total += w(a, b);
        }
        assert!((total - 100_000.0).abs() < 1e-6);
    }

    fn spec() -> StandardisedRateSpec {
        StandardisedRateSpec {
            name: "dsr".into(),
            count: "n".into(),
            denominator: "py".into(),
            by: "age_band".into(),
            standard: StandardPopulation::Esp2013,
            per: 100_000.0,
            decimals: 1,
        }
    }

    #[test]
    fn a_standardised_rate_is_the_standard_weighted_mean_of_band_rates() {
        // Two bands of equal weight: rates 10 and 30 per 100,000 give 20, whatever the
        // populations (a crude rate would lean to the bigger band).
        let bands = [
            (1.0, Some(1), Some(10_000.0)),
            (1.0, Some(30), Some(100_000.0)),
        ];
        assert_eq!(
            standardise(bands.into_iter(), &spec()),
            Standardised::Value(20.0)
        );
        let withheld = [(1.0, Some(1), Some(10.0)), (1.0, None, Some(10.0))];
        assert_eq!(
            standardise(withheld.into_iter(), &spec()),
            Standardised::Withheld
        );
        let unknown = [(1.0, Some(1), Some(10.0)), (1.0, Some(2), None)];
        assert_eq!(
            standardise(unknown.into_iter(), &spec()),
            Standardised::Blank
        );
        assert_eq!(
            standardise(std::iter::empty(), &spec()),
            Standardised::Blank
        );
    }
}
