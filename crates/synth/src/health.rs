//! Health extracts: ED assault attendances (unidentified records) and emergency admissions
//! for assault (pre-aggregated, with the partner's own small-number suppression).

use chrono::{Datelike, Duration, NaiveDateTime, NaiveTime};
use rand::Rng;

use crate::calendar::HourProfile;
use crate::rng::{self, Stream, pick};
use crate::row::RowWriter;
use crate::{Ctx, ProgressFn, Result};

const ED_ATTENDANCES_PER_YEAR: f64 = 12_000.0;
const ADMISSIONS_PER_YEAR: f64 = 1_200.0;
/// Partners suppress counts 1..=7 before sharing (NHS small-number rule).
pub(crate) const SUPPRESS_UP_TO: u64 = 7;
const TIMESTAMP: &str = "%Y-%m-%dT%H:%M";

const METHODS: [(&str, f64); 7] = [
    ("body_part", 0.55),
    ("blunt_object", 0.08),
    ("knife_or_sharp", 0.07),
    ("glass_or_bottle", 0.05),
    ("firearm", 0.002),
    ("other", 0.10),
    ("unknown", 0.148),
];

const ED_LOCATIONS: [(&str, f64); 8] = [
    ("street", 0.35),
    ("home", 0.20),
    ("licensed_premises", 0.15),
    ("school", 0.02),
    ("workplace", 0.05),
    ("transport", 0.03),
    ("other", 0.10),
    ("unknown", 0.10),
];

/// Age bands of ED assault patients; `None` is an empty field.
const ED_AGE_BANDS: [(Option<&str>, f64); 9] = [
    (Some("0-9"), 0.01),
    (Some("10-17"), 0.09),
    (Some("18-24"), 0.25),
    (Some("25-34"), 0.27),
    (Some("35-49"), 0.22),
    (Some("50-64"), 0.09),
    (Some("65+"), 0.02),
    (Some("unknown"), 0.03),
    (None, 0.02),
];

/// One ED site per pair of districts (at least one, at most four), named like ODS codes.
fn site_code(lad: usize, n_lads: usize) -> String {
    let sites = (n_lads / 2).clamp(1, 4);
    format!("RSY{:02}", lad % sites + 1)
}

/// The assault happened a little before arrival: usually within hours (so the pair often
/// spans midnight), sometimes the previous day.
fn arrival_lag(rng: &mut Stream) -> Duration {
    if rng.random_bool(0.03) {
        Duration::minutes(rng.random_range(12 * 60..30 * 60))
    } else {
        Duration::minutes(10 + (-90.0 * (1.0 - rng.random::<f64>()).ln()) as i64)
    }
}

/// One row per ED attendance for assault, in date order of the assault.
pub(crate) fn ed_assaults(
    ctx: &Ctx<'_>,
    mut w: RowWriter,
    progress: &mut ProgressFn<'_>,
) -> Result<u64> {
    let c_site = w.col("site_code")?;
    let c_arrival = w.col("arrival_datetime")?;
    let c_assault = w.col("assault_datetime")?;
    let c_method = w.col("assault_method")?;
    let c_location = w.col("location_type")?;
    let c_lsoa = w.col("incident_lsoa")?;
    let c_band = w.col("age_band")?;
    let hours = HourProfile::violence();
    let mut rng = rng::stream(ctx.seed, "ed_assaults");
    let daily = ctx
        .cal
        .spread(ED_ATTENDANCES_PER_YEAR * ctx.scale * ctx.cal.years(), |d| {
            hours.day_weight(d)
        });
    let n_lads = ctx.geo.lads.len();
    for (i, &day) in ctx.cal.days.iter().enumerate() {
        for _ in 0..rng::poisson(&mut rng, daily[i]) {
            let time =
                NaiveTime::from_hms_opt(hours.hour(&mut rng, day), rng.random_range(0..60), 0)
                    .expect("valid time");
            let assault = NaiveDateTime::new(day, time);
            let arrival = assault + arrival_lag(&mut rng);
            let lsoa = ctx.geo.incident.sample(&mut rng);
            let lsoa_known = rng.random_bool(0.65);
            w.set(c_site, &site_code(ctx.geo.lsoas[lsoa].lad, n_lads));
            w.set_fmt(c_arrival, arrival.format(TIMESTAMP));
            w.set_opt(
                c_assault,
                (!rng.random_bool(0.12)).then(|| assault.format(TIMESTAMP)),
            );
            w.set(c_method, pick(&mut rng, &METHODS));
            w.set(c_location, pick(&mut rng, &ED_LOCATIONS));
            w.set_opt(c_lsoa, lsoa_known.then_some(&ctx.geo.lsoas[lsoa].code));
            w.set_opt(c_band, pick(&mut rng, &ED_AGE_BANDS));
            w.end_row(progress)?;
        }
    }
    w.finish(progress)
}

const ADMISSION_BANDS: [(&str, f64); 8] = [
    ("0-9", 0.02),
    ("10-17", 0.10),
    ("18-24", 0.25),
    ("25-34", 0.27),
    ("35-49", 0.22),
    ("50-64", 0.10),
    ("65+", 0.03),
    ("unknown", 0.01),
];
const ADMISSION_SEXES: [(&str, f64); 3] = [("F", 0.23), ("M", 0.75), ("U", 0.02)];
const CAUSES: [(&str, f64); 2] = [("sharp_object", 0.2), ("other_assault", 0.8)];

/// A count as the partner shares it: (count, suppressed). Counts 1..=7 arrive empty.
pub(crate) fn partner_suppress(count: u64) -> (Option<u64>, bool) {
    if (1..=SUPPRESS_UP_TO).contains(&count) {
        (None, true)
    } else {
        (Some(count), false)
    }
}

/// Every cell of month x district x age band x sex x cause, zeros included (a real extract
/// lists the full grid), with Poisson counts around the expected rate.
pub(crate) fn admissions(
    ctx: &Ctx<'_>,
    mut w: RowWriter,
    progress: &mut ProgressFn<'_>,
) -> Result<u64> {
    let c_month = w.col("month")?;
    let c_lad = w.col("lad_code")?;
    let c_band = w.col("age_band")?;
    let c_sex = w.col("sex")?;
    let c_cause = w.col("cause")?;
    let c_count = w.col("admissions")?;
    let c_flag = w.col("suppressed")?;
    let mut rng = rng::stream(ctx.seed, "hospital_admissions_agg");
    let daily = ctx
        .cal
        .spread(ADMISSIONS_PER_YEAR * ctx.scale * ctx.cal.years(), |_| 1.0);
    for (month, expected) in months(ctx, &daily) {
        for (lad, lad_share) in ctx.geo.lad_incident_share.iter().enumerate() {
            for (band, band_share) in ADMISSION_BANDS {
                for (sex, sex_share) in ADMISSION_SEXES {
                    for (cause, cause_share) in CAUSES {
                        let lambda = expected * lad_share * band_share * sex_share * cause_share;
                        let (count, suppressed) = partner_suppress(rng::poisson(&mut rng, lambda));
                        w.set(c_month, &month);
                        w.set(c_lad, &ctx.geo.lads[lad].code);
                        w.set(c_band, band);
                        w.set(c_sex, sex);
                        w.set(c_cause, cause);
                        w.set_opt(c_count, count);
                        w.set_bool(c_flag, suppressed);
                        w.end_row(progress)?;
                    }
                }
            }
        }
    }
    w.finish(progress)
}

/// (`YYYY-MM`, expected count) per month from a per-day expectation.
fn months(ctx: &Ctx<'_>, daily: &[f64]) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = Vec::new();
    for (day, expected) in ctx.cal.days.iter().zip(daily) {
        let label = format!("{:04}-{:02}", day.year(), day.month());
        match out.last_mut() {
            Some((l, sum)) if *l == label => *sum += expected,
            _ => out.push((label, *expected)),
        }
    }
    out
}
