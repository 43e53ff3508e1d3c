//! Virtual people: a person is (birth year, sex, index) and everything else about them is
//! derived from the hash of that triple, so the same young person carries the same token,
//! birth date, sex and home LSOA in police, youth justice, probation and school extracts
//! without any pool being stored.
//!
//! Each dataset draws indices from its own [`Domain`] of the same index space, skewed to the
//! low end. Low indices are therefore the prolific ones everywhere: the handful of children
//! suspended again and again are also the ones known to the youth offending team, named as
//! suspects, and later supervised by probation. That is the cohort an SNA looks for.

use chrono::{Datelike, NaiveDate};

use crate::geo::Geo;
use crate::rng::{self, Stream, Token, Weighted};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sex {
    F = 0,
    M = 1,
}

impl Sex {
    pub(crate) fn code(self) -> &'static str {
        match self {
            Sex::F => "F",
            Sex::M => "M",
        }
    }

    /// Male with probability `p_male`.
    pub(crate) fn draw(rng: &mut Stream, p_male: f64) -> Sex {
        use rand::Rng;
        if rng.random_bool(p_male.clamp(0.0, 1.0)) {
            Sex::M
        } else {
            Sex::F
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Person {
    pub token: Token,
    pub birth: NaiveDate,
    /// Index of the home LSOA in [`Geo::lsoas`].
    pub home: usize,
}

impl Person {
    /// Age in whole years on `date`.
    pub(crate) fn age_on(&self, date: NaiveDate) -> u32 {
        let mut age = date.year() - self.birth.year();
        if (date.month(), date.day()) < (self.birth.month(), self.birth.day()) {
            age -= 1;
        }
        age.max(0) as u32
    }

    /// A stable per-person uniform number for traits such as "known before the period".
    pub(crate) fn trait_unit(&self) -> f64 {
        self.token.unit(2)
    }
}

/// Which slice of each (birth year, sex) bucket a dataset draws from, and how skewed: `n` is
/// the number of distinct people at scale 1 (multiplied by the scale, at least `MIN_N`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Domain {
    pub base: u64,
    pub n_at_scale_1: f64,
    pub power: f64,
}

const MIN_N: u64 = 8;

/// Police suspects and offenders: the index space every other person-level dataset shares.
pub(crate) const SUSPECTS: Domain = Domain {
    base: 0,
    n_at_scale_1: 6000.0,
    power: 2.2,
};
/// Most victims come from a separate range (victims who are never suspects); the rest are
/// drawn from [`SUSPECTS`] (the victim-offender overlap).
pub(crate) const VICTIMS: Domain = Domain {
    base: 1 << 32,
    n_at_scale_1: 9000.0,
    power: 1.6,
};
pub(crate) const YOUTH_JUSTICE: Domain = Domain {
    base: 0,
    n_at_scale_1: 300.0,
    power: 1.5,
};
pub(crate) const SCHOOLS: Domain = Domain {
    base: 0,
    n_at_scale_1: 2000.0,
    power: 2.0,
};
pub(crate) const PROBATION: Domain = Domain {
    base: 0,
    n_at_scale_1: 1200.0,
    power: 1.5,
};

/// Target ages and their weights. A draw of `a` picks birth year `year - a`, so the actual age
/// is `a` or `a - 1`: `AgeDist::new(lo, hi, ..)` draws `a` in `lo+1..=hi` and ages land in
/// `lo..=hi` exactly, with no rejection loop.
pub(crate) struct AgeDist {
    first: u32,
    weights: Weighted,
}

impl AgeDist {
    pub(crate) fn new(lo: u32, hi: u32, weight: impl Fn(u32) -> f64) -> Self {
        AgeDist {
            first: lo + 1,
            weights: Weighted::new((lo + 1..=hi).map(weight)),
        }
    }

    fn target(&self, rng: &mut Stream) -> u32 {
        self.first + self.weights.sample(rng) as u32
    }
}

pub(crate) struct People<'g> {
    seed: u64,
    scale: f64,
    geo: &'g Geo,
}

impl<'g> People<'g> {
    pub(crate) fn new(seed: u64, scale: f64, geo: &'g Geo) -> Self {
        People { seed, scale, geo }
    }

    /// The person at (birth year, sex, index): pure function of the seed.
    pub(crate) fn person(&self, birth_year: i32, sex: Sex, index: u64) -> Person {
        let token = Token::derive(
            self.seed,
            "person",
            &[birth_year as i64 as u64, sex as u64, index],
        );
        let days = if NaiveDate::from_ymd_opt(birth_year, 2, 29).is_some() {
            366
        } else {
            365
        };
        let ordinal = 1 + (token.unit(0) * days as f64) as u32;
        let birth =
            NaiveDate::from_yo_opt(birth_year, ordinal.min(days)).expect("ordinal within the year");
        let home = self.geo.home.pick_unit(token.unit(1));
        Person { token, birth, home }
    }

    /// A person of sex `sex` from `domain` whose age on `date` follows `ages`; returns the
    /// person and their age then.
    pub(crate) fn draw(
        &self,
        rng: &mut Stream,
        domain: Domain,
        ages: &AgeDist,
        sex: Sex,
        date: NaiveDate,
    ) -> (Person, u32) {
        let birth_year = date.year() - ages.target(rng) as i32;
        let n = ((domain.n_at_scale_1 * self.scale).round() as u64).max(MIN_N);
        let index = domain.base + rng::skewed_index(rng, n, domain.power);
        let person = self.person(birth_year, sex, index);
        let age = person.age_on(date);
        (person, age)
    }

    /// A token for someone who is not a known person (an unidentified suspect): unique, never
    /// recurring.
    pub(crate) fn anonymous(&self, offence: u64, k: u64) -> Token {
        Token::derive(self.seed, "unidentified", &[offence, k])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_land_in_range() {
        let cfg = crate::SynthConfig::default();
        let geo = Geo::build(&cfg).unwrap();
        let people = People::new(1, 0.1, &geo);
        let dist = AgeDist::new(10, 17, |_| 1.0);
        let mut rng = rng::stream(1, "test");
        let date = NaiveDate::from_ymd_opt(2021, 3, 1).unwrap();
        for _ in 0..2000 {
            let (p, age) = people.draw(&mut rng, YOUTH_JUSTICE, &dist, Sex::M, date);
            assert!((10..=17).contains(&age), "{age}");
            assert_eq!(p.age_on(date), age);
        }
        let a = people.person(2005, Sex::M, 3);
        let b = people.person(2005, Sex::M, 3);
        assert_eq!((a.token, a.birth, a.home), (b.token, b.birth, b.home));
        assert_ne!(a.token, people.person(2005, Sex::F, 3).token);
    }
}
