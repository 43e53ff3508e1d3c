//! When things happen: the reporting period's days, a yearly trend, seasonality, the spring
//! 2020 lockdown dip, and hour-of-day profiles by weekday.

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use rand::Rng;

use crate::rng::{self, Stream, Weighted};

/// The days of the reporting period with a base intensity per day (trend x season x events).
/// Each dataset multiplies in its own weekday shape and spreads its expected volume over it.
pub(crate) struct Calendar {
    pub days: Vec<NaiveDate>,
    base: Vec<f64>,
}

impl Calendar {
    pub(crate) fn new(seed: u64, start_year: i32, years: u32) -> Self {
        let mut rng = rng::stream(seed, "calendar");
        // Relative change per year drawn from the seed: some partnerships rise, some fall.
        let trend: f64 = rng.random_range(-0.05..0.08);
        let start = NaiveDate::from_ymd_opt(start_year, 1, 1).expect("valid start year");
        let end = NaiveDate::from_ymd_opt(start_year + years as i32, 1, 1).expect("valid end year");
        let days: Vec<NaiveDate> = start.iter_days().take_while(|d| *d < end).collect();
        let base = days
            .iter()
            .map(|d| {
                let t = (d.year() - start_year) as f64 + d.ordinal0() as f64 / 365.25;
                (1.0 + trend).powf(t) * season(*d) * lockdown(*d)
            })
            .collect();
        Calendar { days, base }
    }

    pub(crate) fn years(&self) -> f64 {
        self.days.len() as f64 / 365.25
    }

    /// The expected count per day when `total` events are spread over the period in proportion
    /// to base intensity times `shape(day)`.
    pub(crate) fn spread(&self, total: f64, shape: impl Fn(NaiveDate) -> f64) -> Vec<f64> {
        let raw: Vec<f64> = self
            .days
            .iter()
            .zip(&self.base)
            .map(|(d, b)| b * shape(*d))
            .collect();
        let sum: f64 = raw.iter().sum();
        if sum <= 0.0 {
            return vec![0.0; raw.len()];
        }
        raw.iter().map(|r| r * total / sum).collect()
    }

    /// Base intensity of one day, relative to the period (mean about 1).
    pub(crate) fn base_of(&self, index: usize) -> f64 {
        self.base[index]
    }
}

/// Violence peaks in summer (late July) and dips in late winter.
fn season(d: NaiveDate) -> f64 {
    1.0 + 0.12 * (std::f64::consts::TAU * (d.ordinal0() as f64 - 200.0) / 365.25).cos()
}

/// The first 2020 lockdown closed the night-time economy: a visible dip in every series.
fn lockdown(d: NaiveDate) -> f64 {
    let from = NaiveDate::from_ymd_opt(2020, 3, 23).expect("date");
    let to = NaiveDate::from_ymd_opt(2020, 6, 30).expect("date");
    if d >= from && d <= to { 0.75 } else { 1.0 }
}

/// Hour-of-day weights for each weekday: a daily shape, optionally with the night-time
/// economy peaks of Friday and Saturday evenings and the small hours after them.
pub(crate) struct HourProfile {
    per_weekday: Vec<Weighted>,
    totals: [f64; 7],
}

/// Violence: rising through the evening, peaking around 22:00, with a long night tail.
const VIOLENCE_HOURS: [f64; 24] = [
    6.0, 5.0, 4.0, 2.5, 1.5, 1.0, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.0, 4.5, 5.5, 5.5, 5.5, 6.0,
    6.5, 7.0, 7.5, 8.0, 7.5,
];
/// Other crime: a daytime shape (shops open, people at work).
const DAYTIME_HOURS: [f64; 24] = [
    2.0, 1.5, 1.2, 1.0, 0.8, 0.8, 1.5, 3.0, 4.5, 5.0, 5.5, 6.0, 6.5, 6.5, 6.5, 6.5, 6.5, 6.0, 5.5,
    5.0, 4.5, 4.0, 3.5, 2.5,
];

impl HourProfile {
    /// Violence with the weekend night-time-economy peaks.
    pub(crate) fn violence() -> Self {
        Self::build(&VIOLENCE_HOURS, true)
    }

    pub(crate) fn daytime() -> Self {
        Self::build(&DAYTIME_HOURS, false)
    }

    fn build(hours: &[f64; 24], night_economy: bool) -> Self {
        let mut per_weekday = Vec::with_capacity(7);
        let mut totals = [0.0; 7];
        for wd in 0..7u32 {
            let weekday = Weekday::try_from(wd as u8).expect("weekday 0..7");
            let w: Vec<f64> = (0..24)
                .map(|h| {
                    hours[h]
                        * if night_economy {
                            night_boost(weekday, h)
                        } else {
                            1.0
                        }
                })
                .collect();
            totals[wd as usize] = w.iter().sum::<f64>() / 24.0;
            per_weekday.push(Weighted::new(w));
        }
        HourProfile {
            per_weekday,
            totals,
        }
    }

    /// How busy a whole day is relative to a flat day: the weekday shape of the daily counts.
    pub(crate) fn day_weight(&self, d: NaiveDate) -> f64 {
        self.totals[d.weekday().num_days_from_monday() as usize]
    }

    pub(crate) fn hour(&self, rng: &mut Stream, d: NaiveDate) -> u32 {
        self.per_weekday[d.weekday().num_days_from_monday() as usize].sample(rng) as u32
    }
}

/// Friday and Saturday evenings, and the small hours of Saturday and Sunday that belong to
/// them, carry the night-time economy.
fn night_boost(weekday: Weekday, hour: usize) -> f64 {
    match (weekday, hour) {
        (Weekday::Fri | Weekday::Sat, 19..=23) => 2.0,
        (Weekday::Sat | Weekday::Sun, 0..=3) => 3.0,
        (Weekday::Thu, 21..=23) => 1.2,
        _ => 1.0,
    }
}

/// Office-hours datasets (youth justice panels, probation starts): weekdays only, mostly.
pub(crate) fn working_day(d: NaiveDate) -> f64 {
    match d.weekday() {
        Weekday::Sat | Weekday::Sun => 0.03,
        _ => 1.0,
    }
}

/// School term days (England, approximately): no weekends, summer holidays, Christmas,
/// Easter or half terms. Suspensions happen only on these.
pub(crate) fn school_day(d: NaiveDate) -> f64 {
    if matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
        return 0.0;
    }
    let (m, day) = (d.month(), d.day());
    let holiday = match m {
        1 => day <= 3,
        2 => (14..=20).contains(&day),
        4 => day <= 14,
        5 => day >= 27,
        7 => day >= 22,
        8 => true,
        9 => day <= 3,
        10 => day >= 25,
        12 => day >= 20,
        _ => false,
    };
    if holiday { 0.0 } else { 1.0 }
}

/// A day plus whole days.
pub(crate) fn add_days(d: NaiveDate, days: i64) -> NaiveDate {
    d + Duration::days(days)
}
