//! `police_offences` and `police_persons`, written together in one pass so every person row
//! refers to an offence already written, without holding offences in memory.

use chrono::NaiveDate;
use rand::Rng;

use crate::calendar::{self, HourProfile};
use crate::people::{self, AgeDist, Sex};
use crate::rng::{self, Stream, Token, Weighted, pick};
use crate::row::{Col, RowWriter};
use crate::{Ctx, ProgressFn, Result};

/// Recorded offences per year at scale 1 (a county force's all-crime volume).
const OFFENCES_PER_YEAR: f64 = 50_000.0;
/// Share of recorded offences with a serious-violence Home Office code.
const SV_SHARE: f64 = 0.35;
const NO_LSOA: f64 = 0.05;
const NO_HOUR: f64 = 0.03;
const UNIDENTIFIED_SUSPECT: f64 = 0.03;
const AGE_NOT_RECORDED: f64 = 0.015;
const CHARGED: f64 = 0.35;

/// What kind of incident a code is: decides location, victims and suspects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Homicide,
    Violence,
    Robbery,
    BusinessRobbery,
    Possession,
    Sexual,
    Acquisitive,
    /// No personal victim (drugs, public order).
    StateBased,
    Other,
}

/// A Home Office code with its relative frequency and flag probabilities.
struct Code {
    code: &'static str,
    weight: f64,
    knife: f64,
    firearm: f64,
    domestic: f64,
    class: Class,
}

const fn code(
    code: &'static str,
    weight: f64,
    knife: f64,
    firearm: f64,
    domestic: f64,
    class: Class,
) -> Code {
    Code {
        code,
        weight,
        knife,
        firearm,
        domestic,
        class,
    }
}

/// Serious-violence codes. Knife probabilities are set so that ~7.5% of SV offences carry the
/// knife flag, highest for wounding, attempted murder, robbery and blade possession.
/// Homicide (murder 1, manslaughter 4/1, infanticide 4/2, corporate manslaughter 4/10) is
/// about one in a thousand serious-violence offences, as in England and Wales (some 600
/// homicides a year beside the best part of a million such offences): a county at scale 1
/// has a dozen or so a year.
const SV_CODES: [Code; 15] = [
    code("1", 0.0006, 0.35, 0.05, 0.25, Class::Homicide),
    code("4/10", 0.00002, 0.0, 0.0, 0.0, Class::Homicide),
    code("4/1", 0.0003, 0.40, 0.06, 0.20, Class::Homicide),
    code("2", 0.003, 0.35, 0.05, 0.20, Class::Violence),
    code("4/2", 0.00005, 0.0, 0.0, 0.80, Class::Homicide),
    code("5D", 0.04, 0.30, 0.02, 0.15, Class::Violence),
    code("5E", 0.006, 0.10, 0.20, 0.10, Class::Violence),
    code("8N", 0.612, 0.03, 0.001, 0.30, Class::Violence),
    code("8P", 0.015, 0.04, 0.0, 0.02, Class::Violence),
    code("3B", 0.005, 0.15, 0.02, 0.10, Class::Violence),
    code("34A", 0.10, 0.12, 0.005, 0.01, Class::Robbery),
    code("34B", 0.015, 0.10, 0.02, 0.0, Class::BusinessRobbery),
    code("10A", 0.003, 0.0, 0.85, 0.02, Class::Possession),
    code("10C", 0.08, 0.25, 0.0, 0.02, Class::Possession),
    code("10D", 0.04, 0.02, 0.0, 0.02, Class::Possession),
];

/// Common non-SV codes, so SV has to be selected by code as in a real extract.
const OTHER_CODES: [Code; 14] = [
    code("105A", 0.22, 0.005, 0.0, 0.35, Class::Violence),
    code("8L", 0.10, 0.002, 0.0, 0.30, Class::Other),
    code("104", 0.03, 0.01, 0.0, 0.0, Class::Violence),
    code("19C", 0.015, 0.01, 0.0, 0.30, Class::Sexual),
    code("28E", 0.06, 0.0, 0.0, 0.0, Class::Acquisitive),
    code("30C", 0.03, 0.0, 0.0, 0.0, Class::Acquisitive),
    code("45", 0.05, 0.0, 0.0, 0.0, Class::Acquisitive),
    code("46", 0.10, 0.0, 0.0, 0.0, Class::Acquisitive),
    code("49", 0.12, 0.0, 0.0, 0.02, Class::Acquisitive),
    code("58A", 0.10, 0.0, 0.0, 0.10, Class::Other),
    code("92A", 0.02, 0.0, 0.0, 0.0, Class::StateBased),
    code("92E", 0.05, 0.0, 0.0, 0.0, Class::StateBased),
    code("9A", 0.02, 0.0, 0.0, 0.0, Class::StateBased),
    code("66", 0.03, 0.0, 0.0, 0.05, Class::Other),
];

/// The age shapes of victims and suspects (peaking 15-24, as in every SNA) and of domestic
/// abuse (older, 25-44).
struct Ages {
    victim: AgeDist,
    suspect: AgeDist,
    domestic: AgeDist,
}

impl Ages {
    fn new() -> Self {
        Ages {
            victim: AgeDist::new(0, 90, |a| match a {
                0..=9 => 0.3,
                10..=14 => 1.5,
                15..=17 => 3.5,
                18..=24 => 4.5,
                25..=34 => 3.5,
                35..=44 => 2.0,
                45..=54 => 1.2,
                55..=64 => 0.6,
                _ => 0.2,
            }),
            suspect: AgeDist::new(10, 70, |a| match a {
                10..=14 => 1.0,
                15..=17 => 4.0,
                18..=24 => 5.0,
                25..=34 => 3.5,
                35..=44 => 1.8,
                45..=54 => 0.8,
                _ => 0.2,
            }),
            domestic: AgeDist::new(15, 85, |a| match a {
                16..=17 => 1.0,
                18..=24 => 3.0,
                25..=34 => 4.0,
                35..=44 => 3.0,
                45..=54 => 1.5,
                55..=64 => 0.6,
                _ => 0.2,
            }),
        }
    }
}

/// One generated offence, before it is written.
struct Offence {
    code: &'static Code,
    sv: bool,
    date: NaiveDate,
    recorded: NaiveDate,
    hour: Option<u32>,
    knife: bool,
    firearm: bool,
    domestic: bool,
    lsoa: Option<usize>,
    location: &'static str,
}

struct OffenceCols {
    offence_id: Col,
    recorded_date: Col,
    offence_date: Col,
    offence_hour: Col,
    ho_code: Col,
    knife_flag: Col,
    firearm_flag: Col,
    domestic_flag: Col,
    lsoa_code: Col,
    location_type: Col,
}

impl OffenceCols {
    fn resolve(w: &RowWriter) -> Result<Self> {
        Ok(OffenceCols {
            offence_id: w.col("offence_id")?,
            recorded_date: w.col("recorded_date")?,
            offence_date: w.col("offence_date")?,
            offence_hour: w.col("offence_hour")?,
            ho_code: w.col("ho_code")?,
            knife_flag: w.col("knife_flag")?,
            firearm_flag: w.col("firearm_flag")?,
            domestic_flag: w.col("domestic_flag")?,
            lsoa_code: w.col("lsoa_code")?,
            location_type: w.col("location_type")?,
        })
    }
}

struct PersonCols {
    offence_id: Col,
    person_id: Col,
    role: Col,
    age: Col,
    sex: Col,
}

impl PersonCols {
    fn resolve(w: &RowWriter) -> Result<Self> {
        Ok(PersonCols {
            offence_id: w.col("offence_id")?,
            person_id: w.col("person_id")?,
            role: w.col("role")?,
            age: w.col("age")?,
            sex: w.col("sex")?,
        })
    }
}

/// Everything the offence loop needs besides the writers.
struct Model {
    sv_hours: HourProfile,
    other_hours: HourProfile,
    sv_codes: Weighted,
    other_codes: Weighted,
    ages: Ages,
}

/// Writes both police datasets; returns (offence rows, person rows).
pub(crate) fn generate(
    ctx: &Ctx<'_>,
    mut offences: RowWriter,
    mut persons: RowWriter,
    progress: &mut ProgressFn<'_>,
) -> Result<(u64, u64)> {
    let oc = OffenceCols::resolve(&offences)?;
    let pc = PersonCols::resolve(&persons)?;
    let model = Model {
        sv_hours: HourProfile::violence(),
        other_hours: HourProfile::daytime(),
        sv_codes: Weighted::new(SV_CODES.iter().map(|c| c.weight)),
        other_codes: Weighted::new(OTHER_CODES.iter().map(|c| c.weight)),
        ages: Ages::new(),
    };
    let total = OFFENCES_PER_YEAR * ctx.scale * ctx.cal.years();
    let sv_daily = ctx
        .cal
        .spread(total * SV_SHARE, |d| model.sv_hours.day_weight(d));
    let other_daily = ctx.cal.spread(total * (1.0 - SV_SHARE), |d| {
        model.other_hours.day_weight(d)
    });
    let mut rng_o = rng::stream(ctx.seed, "police_offences");
    let mut rng_p = rng::stream(ctx.seed, "police_persons");
    let mut index = 0u64;
    for (i, &day) in ctx.cal.days.iter().enumerate() {
        for sv in [true, false] {
            let expected = if sv { sv_daily[i] } else { other_daily[i] };
            for _ in 0..rng::poisson(&mut rng_o, expected) {
                let offence = draw_offence(&mut rng_o, ctx, &model, sv, day);
                let token = Token::derive(ctx.seed, "offence", &[index]);
                let id = token.hex();
                write_offence(&mut offences, &oc, id.as_str(), &offence, ctx, progress)?;
                let people = draw_persons(&mut rng_p, ctx, &model.ages, index, &offence);
                for (person, role, sex, age) in people.iter().flatten() {
                    persons.set(pc.offence_id, id.as_str());
                    persons.set(pc.person_id, person.hex().as_str());
                    persons.set(pc.role, role);
                    persons.set(pc.sex, sex);
                    persons.set_opt(pc.age, *age);
                    persons.end_row(progress)?;
                }
                index += 1;
            }
        }
    }
    Ok((offences.finish(progress)?, persons.finish(progress)?))
}

fn draw_offence(
    rng: &mut Stream,
    ctx: &Ctx<'_>,
    model: &Model,
    sv: bool,
    day: NaiveDate,
) -> Offence {
    let code = if sv {
        &SV_CODES[model.sv_codes.sample(rng)]
    } else {
        &OTHER_CODES[model.other_codes.sample(rng)]
    };
    let hours = if sv {
        &model.sv_hours
    } else {
        &model.other_hours
    };
    let hour = hours.hour(rng, day);
    let domestic = rng.random_bool(code.domestic);
    let (lo, hi) = pick(
        rng,
        &[
            ((0, 0), 0.55),
            ((1, 1), 0.2),
            ((2, 7), 0.17),
            ((8, 30), 0.08),
        ],
    );
    let lag = rng.random_range(lo..=hi);
    Offence {
        code,
        sv,
        date: day,
        recorded: calendar::add_days(day, lag),
        hour: (!rng.random_bool(NO_HOUR)).then_some(hour),
        knife: rng.random_bool(code.knife),
        firearm: rng.random_bool(code.firearm),
        domestic,
        lsoa: (!rng.random_bool(NO_LSOA)).then(|| ctx.geo.incident.sample(rng)),
        location: location(rng, code, domestic),
    }
}

fn write_offence(
    w: &mut RowWriter,
    c: &OffenceCols,
    id: &str,
    o: &Offence,
    ctx: &Ctx<'_>,
    progress: &mut ProgressFn<'_>,
) -> Result<()> {
    w.set(c.offence_id, id);
    w.set_fmt(c.recorded_date, o.recorded);
    w.set_fmt(c.offence_date, o.date);
    w.set_opt(c.offence_hour, o.hour);
    w.set(c.ho_code, o.code.code);
    w.set_bool(c.knife_flag, o.knife);
    w.set_bool(c.firearm_flag, o.firearm);
    w.set_bool(c.domestic_flag, o.domestic);
    w.set_opt(c.lsoa_code, o.lsoa.map(|i| &ctx.geo.lsoas[i].code));
    w.set(c.location_type, o.location);
    w.end_row(progress)
}

fn location(rng: &mut Stream, code: &Code, domestic: bool) -> &'static str {
    if domestic {
        return pick(rng, &[("dwelling", 0.9), ("street", 0.05), ("other", 0.05)]);
    }
    match code.class {
        Class::Homicide => pick(
            rng,
            &[
                ("dwelling", 0.45),
                ("street", 0.3),
                ("open_space", 0.15),
                ("other", 0.1),
            ],
        ),
        Class::Violence => pick(
            rng,
            &[
                ("street", 0.35),
                ("dwelling", 0.15),
                ("licensed_premises", 0.15),
                ("open_space", 0.08),
                ("retail", 0.07),
                ("transport", 0.05),
                ("school", 0.04),
                ("other", 0.09),
                ("unknown", 0.02),
            ],
        ),
        Class::Robbery => pick(
            rng,
            &[
                ("street", 0.65),
                ("open_space", 0.1),
                ("transport", 0.1),
                ("retail", 0.05),
                ("other", 0.08),
                ("unknown", 0.02),
            ],
        ),
        Class::BusinessRobbery => pick(
            rng,
            &[("retail", 0.8), ("licensed_premises", 0.1), ("other", 0.1)],
        ),
        Class::Possession => pick(
            rng,
            &[
                ("street", 0.55),
                ("open_space", 0.1),
                ("transport", 0.08),
                ("school", 0.04),
                ("licensed_premises", 0.05),
                ("dwelling", 0.08),
                ("other", 0.08),
                ("unknown", 0.02),
            ],
        ),
        Class::Sexual => pick(
            rng,
            &[
                ("dwelling", 0.6),
                ("open_space", 0.1),
                ("street", 0.1),
                ("other", 0.15),
                ("unknown", 0.05),
            ],
        ),
        Class::Acquisitive => pick(
            rng,
            &[
                ("retail", 0.4),
                ("dwelling", 0.25),
                ("street", 0.2),
                ("transport", 0.05),
                ("other", 0.1),
            ],
        ),
        Class::StateBased | Class::Other => pick(
            rng,
            &[
                ("street", 0.4),
                ("dwelling", 0.25),
                ("open_space", 0.1),
                ("other", 0.2),
                ("unknown", 0.05),
            ],
        ),
    }
}

/// (person token, role, sex code, age) of up to three people.
type PersonRow = (Token, &'static str, &'static str, Option<u32>);

/// A victim (most offences with a personal victim) and zero to two suspects; possession and
/// state-based offences have a single suspect and no victim. At most three people, never the
/// same person twice in one role.
fn draw_persons(
    rng: &mut Stream,
    ctx: &Ctx<'_>,
    ages: &Ages,
    index: u64,
    o: &Offence,
) -> [Option<PersonRow>; 3] {
    let mut rows: [Option<PersonRow>; 3] = [None; 3];
    let no_victim = matches!(o.code.class, Class::Possession | Class::StateBased);
    let has_victim = !no_victim
        && rng.random_bool(if o.code.class == Class::BusinessRobbery {
            0.7
        } else {
            0.95
        });
    let suspects = if no_victim {
        1
    } else if o.sv {
        pick(rng, &[(0, 0.15), (1, 0.6), (2, 0.25)])
    } else {
        pick(rng, &[(0, 0.35), (1, 0.5), (2, 0.15)])
    };
    let mut n = 0;
    if has_victim {
        rows[0] = Some(victim(rng, ctx, ages, o));
        n = 1;
    }
    for k in 0..suspects {
        let row = suspect(rng, ctx, ages, index, k, o);
        if rows[..n]
            .iter()
            .flatten()
            .all(|r| r.0 != row.0 || r.1 != row.1)
        {
            rows[n] = Some(row);
            n += 1;
        }
    }
    rows
}

fn victim(rng: &mut Stream, ctx: &Ctx<'_>, ages: &Ages, o: &Offence) -> PersonRow {
    let p_male = if o.domestic {
        0.22
    } else if o.sv {
        0.62
    } else {
        0.5
    };
    let sex = Sex::draw(rng, p_male);
    let dist = if o.domestic {
        &ages.domestic
    } else {
        &ages.victim
    };
    let domain = if rng.random_bool(0.25) {
        people::SUSPECTS
    } else {
        people::VICTIMS
    };
    let (person, age) = ctx.people.draw(rng, domain, dist, sex, o.date);
    let age = (!rng.random_bool(AGE_NOT_RECORDED)).then_some(age);
    (person.token, "victim", sex.code(), age)
}

fn suspect(
    rng: &mut Stream,
    ctx: &Ctx<'_>,
    ages: &Ages,
    index: u64,
    k: u64,
    o: &Offence,
) -> PersonRow {
    let role = if rng.random_bool(CHARGED) {
        "offender"
    } else {
        "suspect"
    };
    if rng.random_bool(UNIDENTIFIED_SUSPECT) {
        return (ctx.people.anonymous(index, k), role, "U", None);
    }
    let p_male = if o.domestic {
        0.82
    } else if o.sv {
        0.86
    } else {
        0.75
    };
    let sex = Sex::draw(rng, p_male);
    let dist = if o.domestic {
        &ages.domestic
    } else {
        &ages.suspect
    };
    let (person, age) = ctx.people.draw(rng, people::SUSPECTS, dist, sex, o.date);
    let age = (!rng.random_bool(AGE_NOT_RECORDED)).then_some(age);
    (person.token, role, sex.code(), age)
}
