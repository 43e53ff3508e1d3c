//! `youth_justice` and `probation`: the same virtual people as the police extract, seen by
//! the agencies that deal with them once charged.

use std::collections::HashSet;

use rand::Rng;

use crate::calendar;
use crate::people::{self, AgeDist, Sex};
use crate::rng::{self, Stream, pick};
use crate::row::RowWriter;
use crate::{Ctx, ProgressFn, Result};

const YOUTH_DISPOSALS_PER_YEAR: f64 = 3_000.0;
const PROBATION_STARTS_PER_YEAR: f64 = 8_000.0;
/// Share of youth-justice children already known before the period starts: their first
/// disposal in the extract is not their first ever.
const KNOWN_BEFORE: f64 = 0.25;
const NO_HOME: f64 = 0.04;

const OFFENCE_GROUPS: [(&str, f64); 6] = [
    ("violence_against_person", 0.36),
    ("robbery", 0.06),
    ("weapons", 0.08),
    ("drugs", 0.13),
    ("theft", 0.19),
    ("other", 0.18),
];

/// Disposals of a first-time entrant are mostly out-of-court or referral orders; repeat
/// children move up the tariff.
fn outcome(rng: &mut Stream, first_time: bool) -> &'static str {
    if first_time {
        pick(
            rng,
            &[
                ("caution", 0.10),
                ("youth_caution", 0.35),
                ("youth_conditional_caution", 0.20),
                ("referral_order", 0.30),
                ("youth_rehabilitation_order", 0.04),
                ("custody", 0.005),
                ("other", 0.005),
            ],
        )
    } else {
        pick(
            rng,
            &[
                ("caution", 0.02),
                ("youth_caution", 0.15),
                ("youth_conditional_caution", 0.15),
                ("referral_order", 0.25),
                ("youth_rehabilitation_order", 0.30),
                ("custody", 0.08),
                ("other", 0.05),
            ],
        )
    }
}

/// One row per youth disposal, in date order. `first_time_entrant` is true for a child's
/// first disposal in the extract unless they were known before the period; tracking that
/// needs the set of children seen so far (O(children), not O(rows)).
pub(crate) fn youth_justice(
    ctx: &Ctx<'_>,
    mut w: RowWriter,
    progress: &mut ProgressFn<'_>,
) -> Result<u64> {
    let c_person = w.col("person_id")?;
    let c_date = w.col("event_date")?;
    let c_age = w.col("age")?;
    let c_sex = w.col("sex")?;
    let c_group = w.col("offence_group")?;
    let c_outcome = w.col("outcome")?;
    let c_fte = w.col("first_time_entrant")?;
    let c_home = w.col("home_lsoa")?;
    let ages = AgeDist::new(10, 17, |a| {
        [0.4, 0.8, 1.3, 2.0, 2.8, 3.3, 3.5][(a - 11) as usize]
    });
    let mut rng = rng::stream(ctx.seed, "youth_justice");
    let daily = ctx.cal.spread(
        YOUTH_DISPOSALS_PER_YEAR * ctx.scale * ctx.cal.years(),
        calendar::working_day,
    );
    let mut seen = HashSet::new();
    for (i, &day) in ctx.cal.days.iter().enumerate() {
        for _ in 0..rng::poisson(&mut rng, daily[i]) {
            let sex = Sex::draw(&mut rng, 0.82);
            let (person, age) = ctx
                .people
                .draw(&mut rng, people::YOUTH_JUSTICE, &ages, sex, day);
            let first_time = seen.insert(person.token) && person.trait_unit() >= KNOWN_BEFORE;
            w.set(c_person, person.token.hex().as_str());
            w.set_fmt(c_date, day);
            w.set_fmt(c_age, age);
            w.set(c_sex, sex.code());
            w.set(c_group, pick(&mut rng, &OFFENCE_GROUPS));
            w.set(c_outcome, outcome(&mut rng, first_time));
            w.set_bool(c_fte, first_time);
            let home = (!rng.random_bool(NO_HOME)).then(|| &ctx.geo.lsoas[person.home].code);
            w.set_opt(c_home, home);
            w.end_row(progress)?;
        }
    }
    w.finish(progress)
}

/// Risk of serious harm rises with violent, robbery and weapons index offences.
fn rosh(rng: &mut Stream, group: &str) -> &'static str {
    let violent = matches!(group, "violence_against_person" | "robbery" | "weapons");
    if violent {
        pick(
            rng,
            &[
                ("low", 0.15),
                ("medium", 0.50),
                ("high", 0.31),
                ("very_high", 0.04),
            ],
        )
    } else {
        pick(
            rng,
            &[
                ("low", 0.45),
                ("medium", 0.45),
                ("high", 0.09),
                ("very_high", 0.01),
            ],
        )
    }
}

/// One row per supervision start, ages 18+, in date order.
pub(crate) fn probation(
    ctx: &Ctx<'_>,
    mut w: RowWriter,
    progress: &mut ProgressFn<'_>,
) -> Result<u64> {
    let c_person = w.col("person_id")?;
    let c_date = w.col("start_date")?;
    let c_age = w.col("age")?;
    let c_sex = w.col("sex")?;
    let c_group = w.col("index_offence_group")?;
    let c_rosh = w.col("rosh")?;
    let c_home = w.col("home_lsoa")?;
    let ages = AgeDist::new(18, 80, |a| match a {
        19..=24 => 3.0,
        25..=34 => 4.0,
        35..=44 => 2.5,
        45..=54 => 1.2,
        55..=64 => 0.4,
        _ => 0.1,
    });
    let mut rng = rng::stream(ctx.seed, "probation");
    let daily = ctx.cal.spread(
        PROBATION_STARTS_PER_YEAR * ctx.scale * ctx.cal.years(),
        calendar::working_day,
    );
    for (i, &day) in ctx.cal.days.iter().enumerate() {
        for _ in 0..rng::poisson(&mut rng, daily[i]) {
            let sex = Sex::draw(&mut rng, 0.89);
            let (person, age) = ctx
                .people
                .draw(&mut rng, people::PROBATION, &ages, sex, day);
            let group = pick(&mut rng, &OFFENCE_GROUPS);
            w.set(c_person, person.token.hex().as_str());
            w.set_fmt(c_date, day);
            w.set_fmt(c_age, age);
            w.set(c_sex, sex.code());
            w.set(c_group, group);
            w.set(c_rosh, rosh(&mut rng, group));
            let home = (!rng.random_bool(NO_HOME * 0.75)).then(|| &ctx.geo.lsoas[person.home].code);
            w.set_opt(c_home, home);
            w.end_row(progress)?;
        }
    }
    w.finish(progress)
}
