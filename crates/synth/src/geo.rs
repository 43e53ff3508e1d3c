//! Where things happen: LSOAs, wards and districts (invented or real), IMD ranks, and the
//! area weights that concentrate violence in a few deprived, urban places.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use rand::Rng;
use svna_contracts::{Dataset, Value};

use crate::rng::{self, Stream, Weighted};
use crate::{Geography, Result, SynthConfig, SynthError};

/// Lincolnshire's seven districts (ONS 2019), the default real county.
pub const LINCOLNSHIRE_LADS: [&str; 7] = [
    "E07000136",
    "E07000137",
    "E07000138",
    "E07000139",
    "E07000140",
    "E07000141",
    "E07000142",
];

/// Number of LSOAs in England, the range of IMD ranks.
pub(crate) const IMD_MAX_RANK: u32 = 32_844;

/// Share of located violence carried by the top 5% of LSOAs (the hotspots).
const HOTSPOT_SHARE: f64 = 0.30;

#[derive(Debug, Clone)]
pub(crate) struct Lsoa {
    pub code: String,
    pub name: String,
    pub ward_code: String,
    pub ward_name: String,
    pub lad: usize,
    /// IMD 2019 rank (1 = most deprived); `None` for an LSOA the IMD file does not cover
    /// (Wales has its own index).
    pub imd_rank: Option<u32>,
}

impl Lsoa {
    /// 0 = least deprived in England, 1 = most; the middle when unknown.
    pub(crate) fn deprivation(&self) -> f64 {
        self.imd_rank
            .map_or(0.5, |r| 1.0 - r as f64 / IMD_MAX_RANK as f64)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Lad {
    pub code: String,
    pub name: String,
}

/// The place: areas plus the weights every dataset samples locations from.
pub(crate) struct Geo {
    pub lsoas: Vec<Lsoa>,
    pub lads: Vec<Lad>,
    /// Where violence happens: heavy-tailed, the top 5% of LSOAs carry ~30%.
    pub incident: Weighted,
    /// Where people live: population-like, tilted to deprived areas.
    pub home: Weighted,
    /// Each district's share of incidents and of residents.
    pub lad_incident_share: Vec<f64>,
    pub lad_home_share: Vec<f64>,
}

impl Geo {
    pub(crate) fn build(cfg: &SynthConfig) -> Result<Geo> {
        let mut rng = rng::stream(cfg.seed, "geography");
        let (lsoas, lads) = match &cfg.geography {
            Geography::Invented => invented(&mut rng),
            Geography::Real {
                lookup,
                imd,
                lad_codes,
            } => {
                let (mut lsoas, lads) = read_lookup(lookup, lad_codes)?;
                match imd {
                    Some(path) => apply_imd(&mut lsoas, &read_imd(path)?),
                    None => invent_imd(&mut rng, &mut lsoas, &[]),
                }
                (lsoas, lads)
            }
        };
        Ok(Self::weigh(&mut rng, lsoas, lads, cfg.skew))
    }

    fn weigh(rng: &mut Stream, lsoas: Vec<Lsoa>, lads: Vec<Lad>, skew: f64) -> Geo {
        let mut incident_weights = incident_weights(rng, &lsoas);
        if skew > 0.0 {
            let top = incident_weights
                .iter()
                .copied()
                .fold(0.0, f64::max)
                .max(f64::MIN_POSITIVE);
            for w in &mut incident_weights {
                *w = (*w / top).powf(1.0 + skew);
            }
        }
        let home_weights: Vec<f64> = lsoas
            .iter()
            .map(|l| (0.6 + l.deprivation()) * rng::lognormal(rng, 0.25))
            .collect();
        let lad_incident_share = lad_shares(&lsoas, &incident_weights, lads.len());
        let lad_home_share = lad_shares(&lsoas, &home_weights, lads.len());
        Geo {
            incident: Weighted::new(incident_weights),
            home: Weighted::new(home_weights),
            lad_incident_share,
            lad_home_share,
            lsoas,
            lads,
        }
    }
}

/// Deprivation-driven, log-normally noisy weights, then the top 5% rescaled to carry at least
/// [`HOTSPOT_SHARE`]: the town-centre and estate hotspots every SNA finds.
fn incident_weights(rng: &mut Stream, lsoas: &[Lsoa]) -> Vec<f64> {
    let mut w: Vec<f64> = lsoas
        .iter()
        .map(|l| (0.3 + 2.0 * l.deprivation().powi(2)) * rng::lognormal(rng, 0.6))
        .collect();
    let mut order: Vec<usize> = (0..w.len()).collect();
    order.sort_by(|a, b| w[*b].total_cmp(&w[*a]));
    let top = (w.len() / 20).max(1);
    let total: f64 = w.iter().sum();
    let top_sum: f64 = order[..top].iter().map(|i| w[*i]).sum();
    let rest = total - top_sum;
    if top < w.len() && top_sum / total < HOTSPOT_SHARE && rest > 0.0 {
        let factor = HOTSPOT_SHARE / (1.0 - HOTSPOT_SHARE) * rest / top_sum;
        for i in &order[..top] {
            w[*i] *= factor;
        }
    }
    w
}

fn lad_shares(lsoas: &[Lsoa], weights: &[f64], n_lads: usize) -> Vec<f64> {
    let mut shares = vec![0.0; n_lads];
    for (l, w) in lsoas.iter().zip(weights) {
        shares[l.lad] += w;
    }
    let total: f64 = shares.iter().sum();
    shares.iter().map(|s| s / total).collect()
}

const DISTRICTS: [(&str, f64); 7] = [
    ("Synthford", 1.6),
    ("Northmoor", 1.0),
    ("Eastwold", 0.9),
    ("Southfen", 1.1),
    ("Westmarsh", 0.8),
    ("Lowdale", 0.9),
    ("Highcliffe", 0.7),
];

const WARD_NAMES: [&str; 24] = [
    "Central",
    "North",
    "South",
    "East",
    "West",
    "Abbey",
    "Castle",
    "Park",
    "Priory",
    "Riverside",
    "Market",
    "Hill",
    "Green",
    "Marsh",
    "Fen",
    "Heath",
    "Moor",
    "Bridge",
    "Mill",
    "Chase",
    "Grange",
    "Vale",
    "Wold",
    "Common",
];

/// Synthshire: seven districts (the first a deprived town), ~4.5 LSOAs per ward, ~5 per MSOA,
/// with ONS-format codes in unused ranges so they can never be mistaken for real areas.
fn invented(rng: &mut Stream) -> (Vec<Lsoa>, Vec<Lad>) {
    let total: usize = rng.random_range(420..=500);
    let weight_sum: f64 = DISTRICTS.iter().map(|(_, w)| w).sum();
    let mut lsoas = Vec::with_capacity(total);
    let mut lads = Vec::new();
    let mut ward_no = 0;
    for (d, (district, weight)) in DISTRICTS.iter().enumerate() {
        lads.push(Lad {
            code: format!("E0709990{}", d + 1),
            name: district.to_string(),
        });
        let n = (total as f64 * weight / weight_sum).round() as usize;
        let per_ward = rng.random_range(4..=5);
        for j in 0..n {
            if j % per_ward == 0 {
                ward_no += 1;
            }
            let ward_in_district = j / per_ward;
            let ward_name = match WARD_NAMES.get(ward_in_district) {
                Some(w) => format!("{district} {w}"),
                None => format!("{district} Ward {}", ward_in_district + 1),
            };
            lsoas.push(Lsoa {
                code: format!("E01{:06}", 99_000 + lsoas.len() + 1),
                name: format!(
                    "{district} {:03}{}",
                    j / 5 + 1,
                    (b'A' + (j % 5) as u8) as char
                ),
                ward_code: format!("E05{:06}", 99_000 + ward_no),
                ward_name,
                lad: d,
                imd_rank: None,
            });
        }
    }
    let urban: Vec<bool> = lsoas.iter().map(|l| l.lad == 0).collect();
    invent_imd(rng, &mut lsoas, &urban);
    (lsoas, lads)
}

/// Distinct invented IMD ranks; `urban[i]` LSOAs skew deprived (a low rank).
fn invent_imd(rng: &mut Stream, lsoas: &mut [Lsoa], urban: &[bool]) {
    let mut used = HashSet::new();
    for (i, l) in lsoas.iter_mut().enumerate() {
        let power = if urban.get(i).copied().unwrap_or(false) {
            1.8
        } else {
            0.9
        };
        loop {
            let rank = 1 + (rng.random::<f64>().powf(power) * (IMD_MAX_RANK - 1) as f64) as u32;
            if used.insert(rank) {
                l.imd_rank = Some(rank);
                break;
            }
        }
    }
}

fn reference_error(path: &Path, message: impl Into<String>) -> SynthError {
    SynthError::Reference {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Reads a reference CSV through its contract (which accepts the ONS header spellings) and
/// calls `row` with the values of each record in contract order.
fn read_reference(path: &Path, dataset: &Dataset, mut row: impl FnMut(&[Value])) -> Result<()> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_path(path)
        .map_err(|e| reference_error(path, e.to_string()))?;
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| reference_error(path, e.to_string()))?
        .iter()
        .map(str::to_string)
        .collect();
    let map = dataset.map_header(&header).map_err(|problems| {
        let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        reference_error(
            path,
            format!(
                "header does not match `{}`: {}",
                dataset.name,
                text.join("; ")
            ),
        )
    })?;
    let mut values = Vec::new();
    for (line, record) in reader.records().enumerate() {
        let record = record.map_err(|e| reference_error(path, e.to_string()))?;
        let violations = dataset.parse_record(&map, |i| record.get(i), &mut values);
        if let Some(v) = violations.first() {
            return Err(reference_error(
                path,
                format!("record {}: {}: {}", line + 1, v.column, v.message),
            ));
        }
        row(&values);
    }
    Ok(())
}

fn text(values: &[Value], index: usize) -> String {
    match &values[index] {
        Value::Utf8(s) => s.clone(),
        other => format!("{other:?}"),
    }
}

fn column_index(dataset: &Dataset, name: &str) -> Result<usize> {
    dataset
        .columns
        .iter()
        .position(|c| c.name == name)
        .ok_or_else(|| SynthError::MissingColumn {
            dataset: dataset.name.clone(),
            column: name.to_string(),
        })
}

/// The LSOAs of `lad_codes` from the ONS lookup, sorted by code (so the output does not depend
/// on the file's row order), districts in the order given.
fn read_lookup(path: &Path, lad_codes: &[String]) -> Result<(Vec<Lsoa>, Vec<Lad>)> {
    if lad_codes.is_empty() {
        return Err(reference_error(path, "no district codes given"));
    }
    // A district listed twice is one district.
    let mut unique = HashSet::new();
    let lad_codes: Vec<String> = lad_codes
        .iter()
        .filter(|c| unique.insert(c.as_str()))
        .cloned()
        .collect();
    let dataset = svna_contracts::v1().dataset("lsoa_lookup")?;
    let idx = |name| column_index(dataset, name);
    let (c_lsoa, c_lsoa_nm, c_ward, c_ward_nm, c_lad, c_lad_nm) = (
        idx("lsoa_code")?,
        idx("lsoa_name")?,
        idx("ward_code")?,
        idx("ward_name")?,
        idx("lad_code")?,
        idx("lad_name")?,
    );
    let wanted: HashMap<&str, usize> = lad_codes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    let mut lad_names: Vec<Option<String>> = vec![None; lad_codes.len()];
    let mut lsoas = Vec::new();
    read_reference(path, dataset, |v| {
        let lad_code = text(v, c_lad);
        if let Some(&lad) = wanted.get(lad_code.as_str()) {
            lad_names[lad].get_or_insert_with(|| text(v, c_lad_nm));
            lsoas.push(Lsoa {
                code: text(v, c_lsoa),
                name: text(v, c_lsoa_nm),
                ward_code: text(v, c_ward),
                ward_name: text(v, c_ward_nm),
                lad,
                imd_rank: None,
            });
        }
    })?;
    let mut lads = Vec::with_capacity(lad_codes.len());
    for (code, name) in lad_codes.iter().zip(lad_names) {
        let name = name.ok_or_else(|| {
            reference_error(path, format!("district {code} has no LSOA in the lookup"))
        })?;
        lads.push(Lad {
            code: code.clone(),
            name,
        });
    }
    lsoas.sort_by(|a, b| a.code.cmp(&b.code));
    lsoas.dedup_by(|a, b| a.code == b.code);
    Ok((lsoas, lads))
}

/// LSOA code -> IMD 2019 rank from the MHCLG file.
fn read_imd(path: &Path) -> Result<HashMap<String, u32>> {
    let dataset = svna_contracts::v1().dataset("imd")?;
    let c_lsoa = column_index(dataset, "lsoa_code")?;
    let c_rank = column_index(dataset, "imd_rank")?;
    let mut ranks = HashMap::new();
    read_reference(path, dataset, |v| {
        if let Value::Int(rank) = v[c_rank] {
            ranks.insert(text(v, c_lsoa), rank as u32);
        }
    })?;
    Ok(ranks)
}

fn apply_imd(lsoas: &mut [Lsoa], ranks: &HashMap<String, u32>) {
    for l in lsoas {
        l.imd_rank = ranks.get(&l.code).copied();
    }
}
