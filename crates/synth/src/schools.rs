//! `school_suspensions`: suspensions and permanent exclusions on school days, drawn from the
//! same virtual children as youth justice and police, so the cohort overlaps.

use rand::Rng;

use crate::calendar;
use crate::people::{self, AgeDist, Sex};
use crate::rng::{self, Stream, pick};
use crate::row::RowWriter;
use crate::{Ctx, ProgressFn, Result};

const SUSPENSIONS_PER_YEAR: f64 = 30_000.0;
const PERMANENT: f64 = 0.012;
const NO_HOME: f64 = 0.02;
/// Share of pupils at a school in another district of the county.
const SCHOOL_ELSEWHERE: f64 = 0.08;

/// DfE reason codes; permanent exclusions lean to assault and weapons.
fn reason(rng: &mut Stream, permanent: bool) -> &'static str {
    if permanent {
        pick(
            rng,
            &[
                ("PP", 0.22),
                ("PA", 0.15),
                ("OW", 0.10),
                ("VA", 0.08),
                ("VP", 0.05),
                ("DA", 0.08),
                ("BU", 0.04),
                ("OT", 0.28),
            ],
        )
    } else {
        pick(
            rng,
            &[
                ("PP", 0.18),
                ("PA", 0.08),
                ("VP", 0.12),
                ("VA", 0.10),
                ("OW", 0.02),
                ("DA", 0.03),
                ("BU", 0.03),
                ("RA", 0.01),
                ("SM", 0.01),
                ("DM", 0.05),
                ("MT", 0.02),
                ("OT", 0.35),
            ],
        )
    }
}

pub(crate) fn generate(
    ctx: &Ctx<'_>,
    mut w: RowWriter,
    progress: &mut ProgressFn<'_>,
) -> Result<u64> {
    let c_person = w.col("person_id")?;
    let c_date = w.col("event_date")?;
    let c_type = w.col("type")?;
    let c_reason = w.col("reason")?;
    let c_age = w.col("age")?;
    let c_sex = w.col("sex")?;
    let c_home = w.col("home_lsoa")?;
    let c_lad = w.col("school_lad")?;
    let ages = AgeDist::new(4, 19, |a| match a {
        5..=7 => 0.2,
        8..=10 => 0.5,
        11 => 1.5,
        12 => 2.5,
        13 => 3.5,
        14 => 4.0,
        15 => 3.5,
        16 => 1.0,
        _ => 0.15,
    });
    let mut rng = rng::stream(ctx.seed, "school_suspensions");
    let daily = ctx.cal.spread(
        SUSPENSIONS_PER_YEAR * ctx.scale * ctx.cal.years(),
        calendar::school_day,
    );
    let n_lads = ctx.geo.lads.len();
    for (i, &day) in ctx.cal.days.iter().enumerate() {
        for _ in 0..rng::poisson(&mut rng, daily[i]) {
            let sex = Sex::draw(&mut rng, 0.74);
            let (person, age) = ctx.people.draw(&mut rng, people::SCHOOLS, &ages, sex, day);
            let permanent = rng.random_bool(PERMANENT);
            let home = &ctx.geo.lsoas[person.home];
            let school_lad = if rng.random_bool(SCHOOL_ELSEWHERE) {
                rng.random_range(0..n_lads)
            } else {
                home.lad
            };
            w.set(c_person, person.token.hex().as_str());
            w.set_fmt(c_date, day);
            w.set(
                c_type,
                if permanent {
                    "permanent_exclusion"
                } else {
                    "suspension"
                },
            );
            w.set(c_reason, reason(&mut rng, permanent));
            w.set_fmt(c_age, age);
            w.set(c_sex, sex.code());
            w.set_opt(c_home, (!rng.random_bool(NO_HOME)).then_some(&home.code));
            w.set(c_lad, &ctx.geo.lads[school_lad].code);
            w.end_row(progress)?;
        }
    }
    w.finish(progress)
}
