//! Deterministic synthetic partner extracts for svna.
//!
//! Writes one CSV per dataset of the v1 contracts (all but `police_open_data`, which is real
//! public data) with realistic structure: violence concentrated in a few deprived LSOAs and in
//! weekend nights, a yearly trend and seasonality, repeat victims and suspects, and one cohort
//! of young people whose tokens recur across police, youth justice, probation and schools.
//!
//! Why it looks like this:
//! - **One definition of columns.** Headers come from [`svna_contracts::v1`]; rows are written by
//!   column name resolved once to an index ([`row::RowWriter`]), so reordering the contract
//!   reorders the output and dropping a column the generator needs is a clear error.
//! - **Deterministic.** Every dataset draws from its own ChaCha8 stream derived from the seed,
//!   and every token is SHA-256 of the seed, a domain and an index: the same seed gives
//!   byte-identical files, and datasets do not perturb each other.
//! - **Streaming.** Rows are produced day by day and written at once. People are *virtual*: a
//!   person is (birth year, sex, index) and everything about them (token, birth date, home
//!   LSOA) is derived from that hash, so no pool is stored. The only state that grows with
//!   scale is the set of youth-justice persons already seen (for `first_time_entrant`).

mod calendar;
mod geo;
mod health;
pub mod identities;
mod justice;
mod people;
mod police;
mod reference;
mod rng;
mod row;
mod schools;
mod social_care;

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use thiserror::Error;

pub use geo::LINCOLNSHIRE_LADS;

/// Every dataset the generator writes, in the order it writes them.
pub const DATASETS: [&str; 11] = [
    "lsoa_lookup",
    "imd",
    "population",
    "police_offences",
    "police_persons",
    "youth_justice",
    "probation",
    "school_suspensions",
    "ed_assaults",
    "hospital_admissions_agg",
    "social_care_factors_agg",
];

/// Where the synthetic LSOAs, wards and districts come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Geography {
    /// An invented county ("Synthshire") of seven districts and about 450 LSOAs, with codes in
    /// valid ONS format but in ranges ONS does not use (`E07099901`.., `E01099001`..).
    Invented,
    /// Real LSOAs, wards and districts of `lad_codes`, read from the ONS lookup at `lookup`
    /// (header `FID,LSOA11CD,LSOA11NM,WD19CD,WD19NM,LAD19CD,LAD19NM`), with real IMD 2019 ranks
    /// from `imd` when given (else invented ranks).
    Real {
        lookup: PathBuf,
        imd: Option<PathBuf>,
        lad_codes: Vec<String>,
    },
}

impl Geography {
    /// Real geography for Lincolnshire's seven districts, the project's default real county.
    pub fn lincolnshire(lookup: PathBuf, imd: Option<PathBuf>) -> Self {
        Geography::Real {
            lookup,
            imd,
            lad_codes: LINCOLNSHIRE_LADS.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthConfig {
    /// Same seed, same bytes.
    pub seed: u64,
    /// Row volume: 1.0 is about one county for five years (~1M rows in all). Event rows scale
    /// linearly; the geography and the aggregate grids do not.
    pub scale: f64,
    /// First calendar year of the reporting period (January 1st).
    pub start_year: i32,
    /// Length of the reporting period in whole years.
    pub years: u32,
    pub geography: Geography,
    /// How unevenly violence falls across the county: 0 is the default county; each unit
    /// raises every area's weight to one more power, so incidents crowd into a few urban
    /// hotspots and leave most areas, wards and districts sparse (a "dense city, sparse
    /// rural" county: mostly small counts, the data disclosure control finds hardest).
    pub skew: f64,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            seed: 42,
            scale: 1.0,
            start_year: 2019,
            years: 5,
            geography: Geography::Invented,
            skew: 0.0,
        }
    }
}

/// Rows written per dataset (data rows, not counting the header); `svna synth --json`
/// prints it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SynthSummary {
    pub rows: BTreeMap<String, u64>,
}

impl SynthSummary {
    /// All data rows across datasets.
    pub fn total_rows(&self) -> u64 {
        self.rows.values().sum()
    }
}

#[derive(Debug, Error)]
pub enum SynthError {
    #[error("invalid synth configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Contract(#[from] svna_contracts::ContractError),
    #[error("contract dataset `{dataset}` has no column `{column}`, which the generator writes")]
    MissingColumn { dataset: String, column: String },
    #[error("reading {}: {message}", path.display())]
    Reference { path: PathBuf, message: String },
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    #[error("CSV error: {0}")]
    Csv(#[from] csv::Error),
}

pub type Result<T, E = SynthError> = std::result::Result<T, E>;

/// A sink factory: given a dataset name, the writer for `<dataset>.csv`.
pub type OpenFn<'a> = dyn FnMut(&str) -> io::Result<Box<dyn Write>> + 'a;
/// Progress callback: (dataset, rows written so far); called every 50,000 rows and at the end.
pub type ProgressFn<'a> = dyn FnMut(&str, u64) + 'a;

/// Generates every dataset of [`DATASETS`], each into the writer `open(dataset)` returns:
/// a header row taken from the contract, then rows (RFC 4180 via the `csv` crate, LF line
/// ends). Writers are flushed before they are dropped.
pub fn generate(
    cfg: &SynthConfig,
    open: &mut OpenFn<'_>,
    progress: &mut ProgressFn<'_>,
) -> Result<SynthSummary> {
    check_config(cfg)?;
    let geo = geo::Geo::build(cfg)?;
    let cal = calendar::Calendar::new(cfg.seed, cfg.start_year, cfg.years);
    let ctx = Ctx {
        seed: cfg.seed,
        scale: cfg.scale,
        geo: &geo,
        cal: &cal,
        people: people::People::new(cfg.seed, cfg.scale, &geo),
    };
    let mut summary = SynthSummary::default();
    let mut put = |name: &str, rows: u64| {
        summary.rows.insert(name.to_string(), rows);
    };
    put(
        "lsoa_lookup",
        reference::lsoa_lookup(&ctx, row::open(open, "lsoa_lookup")?, progress)?,
    );
    put(
        "imd",
        reference::imd(&ctx, row::open(open, "imd")?, progress)?,
    );
    put(
        "population",
        reference::population(&ctx, row::open(open, "population")?, progress)?,
    );
    let offences = row::open(open, "police_offences")?;
    let persons = row::open(open, "police_persons")?;
    let (n_offences, n_persons) = police::generate(&ctx, offences, persons, progress)?;
    put("police_offences", n_offences);
    put("police_persons", n_persons);
    put(
        "youth_justice",
        justice::youth_justice(&ctx, row::open(open, "youth_justice")?, progress)?,
    );
    put(
        "probation",
        justice::probation(&ctx, row::open(open, "probation")?, progress)?,
    );
    put(
        "school_suspensions",
        schools::generate(&ctx, row::open(open, "school_suspensions")?, progress)?,
    );
    put(
        "ed_assaults",
        health::ed_assaults(&ctx, row::open(open, "ed_assaults")?, progress)?,
    );
    let admissions = row::open(open, "hospital_admissions_agg")?;
    put(
        "hospital_admissions_agg",
        health::admissions(&ctx, admissions, progress)?,
    );
    let care = row::open(open, "social_care_factors_agg")?;
    put(
        "social_care_factors_agg",
        social_care::generate(&ctx, care, progress)?,
    );
    Ok(summary)
}

/// Writes `DIR/<dataset>.csv` for every dataset. Each file is written as `<dataset>.csv.tmp`,
/// synced, and renamed only after *all* datasets succeeded, so a crash or an error never
/// leaves a half-written or a mixed-seed set of files behind (the temporary files are removed
/// on error).
pub fn write_to_dir(
    cfg: &SynthConfig,
    dir: &Path,
    progress: &mut ProgressFn<'_>,
) -> Result<SynthSummary> {
    fs::create_dir_all(dir)?;
    let mut temps: Vec<(PathBuf, PathBuf)> = Vec::new();
    let mut open = |name: &str| -> io::Result<Box<dyn Write>> {
        let target = dir.join(format!("{name}.csv"));
        let temp = dir.join(format!("{name}.csv.tmp"));
        let file = fs::File::create(&temp)?;
        temps.push((temp, target));
        Ok(Box::new(io::BufWriter::with_capacity(1 << 16, file)))
    };
    let result = generate(cfg, &mut open, progress);
    let result = result.and_then(|summary| {
        for (temp, _) in &temps {
            fs::File::open(temp)?.sync_all()?;
        }
        for (temp, target) in &temps {
            fs::rename(temp, target)?;
        }
        Ok(summary)
    });
    if result.is_err() {
        for (temp, _) in &temps {
            let _ = fs::remove_file(temp);
        }
    }
    result
}

/// Generates every dataset into memory: dataset name -> CSV bytes. For tests and small scales
/// only (memory grows with the output).
pub fn generate_to_memory(cfg: &SynthConfig) -> Result<(SynthSummary, BTreeMap<String, Vec<u8>>)> {
    use std::sync::{Arc, Mutex};
    /// A writer into a buffer shared with the caller, so the bytes outlive the boxed writer.
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().expect("buffer lock").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut buffers: BTreeMap<String, Arc<Mutex<Vec<u8>>>> = BTreeMap::new();
    let mut open = |name: &str| -> io::Result<Box<dyn Write>> {
        let buf = buffers.entry(name.to_string()).or_default().clone();
        Ok(Box::new(Shared(buf)))
    };
    let summary = generate(cfg, &mut open, &mut |_, _| {})?;
    let files = buffers
        .into_iter()
        .map(|(name, buf)| {
            let bytes = std::mem::take(&mut *buf.lock().expect("buffer lock"));
            (name, bytes)
        })
        .collect();
    Ok((summary, files))
}

fn check_config(cfg: &SynthConfig) -> Result<()> {
    if !(cfg.skew.is_finite() && (0.0..=10.0).contains(&cfg.skew)) {
        return Err(SynthError::Config(format!(
            "skew must be between 0 and 10, got {}",
            cfg.skew
        )));
    }
    if !(cfg.scale.is_finite() && cfg.scale > 0.0) {
        return Err(SynthError::Config(format!(
            "scale must be a positive number, got {}",
            cfg.scale
        )));
    }
    if cfg.years == 0 || cfg.years > 50 {
        return Err(SynthError::Config(format!(
            "years must be 1..=50, got {}",
            cfg.years
        )));
    }
    if !(1900..=2200).contains(&cfg.start_year) {
        return Err(SynthError::Config(format!(
            "start_year {} is implausible",
            cfg.start_year
        )));
    }
    Ok(())
}

/// What every dataset generator shares: the seed, the volume, the place, the calendar and
/// the (virtual) people.
pub(crate) struct Ctx<'a> {
    pub seed: u64,
    pub scale: f64,
    pub geo: &'a geo::Geo,
    pub cal: &'a calendar::Calendar,
    pub people: people::People<'a>,
}
