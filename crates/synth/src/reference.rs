//! Reference files: the LSOA lookup and IMD ranks of the geography in use, and a synthetic
//! resident population (so rates per 1,000 work without an ONS download).

use rand::Rng;

use crate::rng::{self, Stream};
use crate::row::RowWriter;
use crate::{Ctx, ProgressFn, Result};

pub(crate) fn lsoa_lookup(
    ctx: &Ctx<'_>,
    mut w: RowWriter,
    progress: &mut ProgressFn<'_>,
) -> Result<u64> {
    let c = [
        w.col("lsoa_code")?,
        w.col("lsoa_name")?,
        w.col("ward_code")?,
        w.col("ward_name")?,
        w.col("lad_code")?,
        w.col("lad_name")?,
    ];
    for l in &ctx.geo.lsoas {
        let lad = &ctx.geo.lads[l.lad];
        for (col, value) in c.iter().zip([
            &l.code,
            &l.name,
            &l.ward_code,
            &l.ward_name,
            &lad.code,
            &lad.name,
        ]) {
            w.set(*col, value);
        }
        w.end_row(progress)?;
    }
    w.finish(progress)
}

/// IMD ranks of the geography's LSOAs; LSOAs without a rank (not in the IMD file) are left out.
pub(crate) fn imd(ctx: &Ctx<'_>, mut w: RowWriter, progress: &mut ProgressFn<'_>) -> Result<u64> {
    let c_lsoa = w.col("lsoa_code")?;
    let c_rank = w.col("imd_rank")?;
    for l in &ctx.geo.lsoas {
        if let Some(rank) = l.imd_rank {
            w.set(c_lsoa, &l.code);
            w.set_fmt(c_rank, rank);
            w.end_row(progress)?;
        }
    }
    w.finish(progress)
}

/// England-like age structure of an LSOA (shares of residents per band).
const BANDS: [(&str, f64); 7] = [
    ("0-9", 0.115),
    ("10-17", 0.090),
    ("18-24", 0.080),
    ("25-34", 0.130),
    ("35-49", 0.190),
    ("50-64", 0.200),
    ("65+", 0.195),
];

/// Residents per LSOA x age band x sex: ~1,500 per LSOA (1,000..2,600), deprived areas
/// younger, women the majority among the over-65s.
pub(crate) fn population(
    ctx: &Ctx<'_>,
    mut w: RowWriter,
    progress: &mut ProgressFn<'_>,
) -> Result<u64> {
    let c_lsoa = w.col("lsoa_code")?;
    let c_band = w.col("age_band")?;
    let c_sex = w.col("sex")?;
    let c_residents = w.col("residents")?;
    let mut rng = rng::stream(ctx.seed, "population");
    for l in &ctx.geo.lsoas {
        let total = (1550.0 + 250.0 * rng::normal(&mut rng)).clamp(1000.0, 2600.0);
        let tilt = l.deprivation() - 0.5;
        for (b, (band, share)) in BANDS.iter().enumerate() {
            let younger = if b < 4 {
                1.0 + 0.4 * tilt
            } else {
                1.0 - 0.4 * tilt
            };
            let female = female_share(&mut rng, b);
            let band_total = total * share * younger * rng::lognormal(&mut rng, 0.08);
            for (sex, part) in [("F", female), ("M", 1.0 - female)] {
                w.set(c_lsoa, &l.code);
                w.set(c_band, band);
                w.set(c_sex, sex);
                w.set_fmt(c_residents, (band_total * part).round() as u64);
                w.end_row(progress)?;
            }
        }
    }
    w.finish(progress)
}

fn female_share(rng: &mut Stream, band: usize) -> f64 {
    let base = match band {
        0..=2 => 0.49,
        6 => 0.55,
        _ => 0.51,
    };
    base + rng.random_range(-0.02..0.02)
}
