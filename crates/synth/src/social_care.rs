//! `social_care_factors_agg`: children's social care assessments by factor, quarter and
//! district, pre-aggregated and suppressed by the partner like the hospital counts.

use chrono::Datelike;

use crate::health::partner_suppress;
use crate::rng;
use crate::row::RowWriter;
use crate::{Ctx, ProgressFn, Result};

/// Assessments per quarter across the county at scale 1, by factor: domestic abuse dominates,
/// gangs and sexual exploitation are small enough that most district cells are suppressed.
const FACTORS: [(&str, f64); 7] = [
    ("criminal_exploitation", 60.0),
    ("sexual_exploitation", 30.0),
    ("gangs", 20.0),
    ("going_missing", 150.0),
    ("domestic_abuse", 600.0),
    ("drug_misuse", 120.0),
    ("alcohol_misuse", 90.0),
];

pub(crate) fn generate(
    ctx: &Ctx<'_>,
    mut w: RowWriter,
    progress: &mut ProgressFn<'_>,
) -> Result<u64> {
    let c_quarter = w.col("quarter")?;
    let c_lad = w.col("lad_code")?;
    let c_factor = w.col("factor")?;
    let c_count = w.col("assessments")?;
    let c_flag = w.col("suppressed")?;
    let mut rng = rng::stream(ctx.seed, "social_care_factors_agg");
    for (quarter, intensity) in quarters(ctx) {
        for (lad, share) in ctx.geo.lad_home_share.iter().enumerate() {
            for (factor, per_quarter) in FACTORS {
                let lambda = per_quarter * ctx.scale * share * intensity;
                let (count, suppressed) = partner_suppress(rng::poisson(&mut rng, lambda));
                w.set(c_quarter, &quarter);
                w.set(c_lad, &ctx.geo.lads[lad].code);
                w.set(c_factor, factor);
                w.set_opt(c_count, count);
                w.set_bool(c_flag, suppressed);
                w.end_row(progress)?;
            }
        }
    }
    w.finish(progress)
}

/// (`YYYY-Qn`, mean base intensity of its days): the calendar's trend and season carry over.
fn quarters(ctx: &Ctx<'_>) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64, u32)> = Vec::new();
    for (i, day) in ctx.cal.days.iter().enumerate() {
        let label = format!("{:04}-Q{}", day.year(), day.month0() / 3 + 1);
        let base = ctx.cal.base_of(i);
        match out.last_mut() {
            Some((l, sum, n)) if *l == label => {
                *sum += base;
                *n += 1;
            }
            _ => out.push((label, base, 1)),
        }
    }
    out.into_iter()
        .map(|(l, sum, n)| (l, sum / n as f64))
        .collect()
}
