//! An outsider's linear-programming attack on everything a store has published.
//!
//! The attacker holds every file under `<store>/published/*/` (tables, manifests, disclosure
//! reports, data dictionaries) and nothing else. It builds one linear program over all of it,
//! with every relation an outsider can justify from the files and the pipeline's declarations
//! (which the manifest repeats for each table). It does not use the publisher's own linking
//! declarations (`same_as`, `nested`): its rules are its own.
//!
//! * within a table, each margin (the spec's total code, `Total`) is the sum of the other codes
//!   of its dimension, other coordinates fixed; a dimension with a parent column is a hierarchy
//!   (each parent is the sum of its children);
//! * one quantity per release for each `<measure>.<count>` (or the quantity a table declares
//!   a count to be, `count_measures`, as its data dictionary says) and identity (the non-total
//!   coordinates by dimension name, `area_code` and `lad_code` read as one "area" dimension),
//!   whichever tables show it; month codes `YYYY-MM` sum to the year code `YYYY` of the same
//!   measure and other coordinates;
//! * nested counts in one row: `knife_offences`, `firearm_offences` and
//!   `non_domestic_homicides` are each at most `offences`; distinct victims (suspects) in a
//!   cell of age band and sex are at most the involvements with role victim (suspect) there;
//! * across releases: where two releases show the same checksums for every input of a
//!   measure's tables (by the data dictionary's lineage) and the same SQL, its quantities are
//!   equal in both; otherwise the attack runs twice, once assuming later >= earlier for every
//!   shared quantity (late additions) and once later <= earlier (removals);
//! * every count >= 0; a withheld count >= 1 (threshold policies publish zeros), per count
//!   column: a column that withholds a zero anywhere (a complement, or the column withheld
//!   whole) gets only >= 0 for all its cells ([`AttackReport::zeros_not_assumed`]).
//!
//! Tables under any other policy (`round`, `nhs`, `midpoint6`, `accounting`, `open`) are left
//! out ([`AttackReport::skipped_tables`]); their measures are not linked to the others.
//!
//! Targets are the withheld cells whose true value (from the run's unprotected outputs,
//! `runs/<run>/run.json` and its `outputs/` Parquet; the release ledger as a fallback) is in
//! `1..k-1`. Integer bound propagation first gives every quantity sound outer bounds (a target
//! pinned narrower than k is a finding at once); then, per connected component of the
//! remaining unknowns, LP solves over many targets at once give feasible points, and a target
//! with two feasible points at least k apart is safe under this attack; every other target is
//! minimised and maximised by LP (the relaxation, rounded inward to integers, so its interval
//! is a sound outer bound of the integer attacker's; where the relaxation's optimum is
//! fractional and the interval is at least k wide, the integer program is tried too, and
//! counts only when proven optimal). A finding is an interval narrower than `k`
//! (`max - min < k`). The whole attack is time-boxed: what it could not decide is reported as
//! unsolved, never as safe.
//!
//! The truth is used only to choose targets and to keep the attacker honest: every relation is
//! checked against the true values, and one that does not hold (the model would be wrong) is
//! dropped and listed in [`AttackReport::model_errors`]; a direction of the cross-release
//! attack that does not hold for a measure is not used for that measure; the `>= 1` assumption
//! is made per count column as above. So every interval contains the true value (checked).
//!
//! It also checks the published files themselves: no 64-hex-character token outside the
//! manifest's checksum fields; no table file outside the manifest; each Parquet table equal
//! to its CSV (NULL exactly where the CSV has `[c]`, no column statistics beyond the published
//! figures); and no per-cell interval (`low`/`high`) in the public disclosure report. Where the
//! report prints intervals they are flagged, compared with what the tables allow, and used by
//! the attacker (a report interval narrower than k that holds the true value is a finding).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use arrow_array::{Array, Int64Array, StringArray};
use arrow_schema::DataType;
use microlp::{ComparisonOp, OptimizationDirection, Problem, SolutionStatus, SolveOutcome};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::statistics::Statistics;
use serde_json::Value;

/// How a withheld figure is written in the published CSV.
pub const WITHHELD: &str = "[c]";
/// How a figure the partner withheld before sharing (no shared part) is written.
pub const PARTNER_WITHHELD: &str = "[p]";

/// Count columns that are parts of another count column of the same row.
pub const NESTED: &[(&str, &str)] = &[
    ("knife_offences", "offences"),
    ("firearm_offences", "offences"),
    ("non_domestic_homicides", "offences"),
];

/// Distinct persons within involvements: every person counted in a cell of age band and sex
/// has at least one involvement in that role in the same cell (`<measure>.<count>` of the
/// persons, of the involvements, and the role code).
pub const PERSONS_WITHIN_INVOLVEMENTS: &[(&str, &str, &str)] = &[
    (
        "sv_victims.victims",
        "sv_involvements.involvements",
        "victim",
    ),
    (
        "sv_suspects.suspects",
        "sv_involvements.involvements",
        "suspect",
    ),
];

/// Dimension names that denote one geography dimension (a district's `area_code` is its
/// `lad_code`).
const AREA_DIMS: &[&str] = &["area_code", "lad_code"];

/// Components up to this many unknowns get the integer program where the relaxation's
/// optimum is fractional.
const ILP_MAX_VARS: usize = 3000;
/// Time limit of one integer solve.
const ILP_PER_SOLVE: Duration = Duration::from_secs(5);

/// Attack settings.
#[derive(Debug, Clone)]
pub struct AttackOptions {
    /// Wall-clock budget for every LP solve of the attack together.
    pub budget: Duration,
    /// Limit of one solve.
    pub per_solve: Duration,
}

impl Default for AttackOptions {
    fn default() -> Self {
        AttackOptions {
            budget: Duration::from_secs(240),
            per_solve: Duration::from_secs(20),
        }
    }
}

/// A withheld cell narrower than k.
#[derive(Debug, Clone)]
pub struct Finding {
    pub release: String,
    pub table: String,
    pub count: String,
    pub coords: Vec<(String, String)>,
    pub truth: u64,
    pub k: u64,
    pub min: u64,
    pub max: u64,
    /// Which assumptions found it: `same` (one attack), `later>=earlier`, `later<=earlier`,
    /// or `report` (the public disclosure report's own interval).
    pub attack: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let coords: Vec<String> = self
            .coords
            .iter()
            .map(|(d, c)| format!("{d}={c}"))
            .collect();
        write!(
            f,
            "{} {}.{}[{}] true {} in [{}, {}] (k = {}, {})",
            self.release,
            self.table,
            self.count,
            coords.join(","),
            self.truth,
            self.min,
            self.max,
            self.k,
            self.attack
        )
    }
}

/// What the attack found.
#[derive(Debug, Default)]
pub struct AttackReport {
    pub releases: Vec<String>,
    /// Withheld cells with a true value in 1..k-1 (per release, table, count, cell).
    pub targets: usize,
    /// Distinct quantities among them that were attacked.
    pub target_quantities: usize,
    pub findings: Vec<Finding>,
    /// Target cells the time box or the solver left undecided: never counted as safe.
    pub unsolved: Vec<String>,
    /// Tables not modelled, with the reason.
    pub skipped_tables: Vec<String>,
    /// Relations the attacker assumed that the true values contradict (dropped), and any other
    /// inconsistency of the model.
    pub model_errors: Vec<String>,
    /// Cross-release assumptions not used for a measure because the data contradict them.
    pub directions_not_used: Vec<String>,
    /// Problems in the published files: tokens, per-cell intervals in the public report, ...
    pub file_problems: Vec<String>,
    /// Withheld cells whose true value is 0.
    pub withheld_zeros: usize,
    /// Quantities withheld only in columns withheld whole, which an earlier release showed:
    /// left to that release's targets.
    pub left_to_earlier_releases: usize,
    /// Count columns for which the `>= 1` assumption is not made (they withhold zeros).
    pub zeros_not_assumed: Vec<String>,
    pub variables: usize,
    pub constraints: usize,
    pub solves: usize,
    /// Integer programs (tried where the relaxation's optimum was fractional) that did not
    /// prove optimality in time: those cells keep the relaxation's interval.
    pub ilp_unproven: usize,
    pub elapsed: Duration,
}

impl AttackReport {
    /// A short human-readable summary with up to `examples` findings.
    pub fn summary(&self, examples: usize) -> String {
        let mut s = format!(
            "{} release(s) {:?}: {} target cells ({} quantities), {} findings, {} unsolved, {} file problems, {} model errors; {} withheld zeros; {} variables, {} constraints, {} LP solves ({} integer programs unproven), {:.1} s",
            self.releases.len(),
            self.releases,
            self.targets,
            self.target_quantities,
            self.findings.len(),
            self.unsolved.len(),
            self.file_problems.len(),
            self.model_errors.len(),
            self.withheld_zeros,
            self.variables,
            self.constraints,
            self.solves,
            self.ilp_unproven,
            self.elapsed.as_secs_f64()
        );
        let mut by_kind: BTreeMap<String, usize> = BTreeMap::new();
        for f in &self.findings {
            *by_kind
                .entry(format!("{} {} {}", f.release, f.table, f.attack))
                .or_default() += 1;
        }
        for (kind, n) in by_kind {
            s.push_str(&format!("\n  {n} findings: {kind}"));
        }
        for f in self.findings.iter().take(examples) {
            s.push_str(&format!("\n  finding: {f}"));
        }
        for u in self.unsolved.iter().take(examples) {
            s.push_str(&format!("\n  unsolved: {u}"));
        }
        for p in self.file_problems.iter().take(examples) {
            s.push_str(&format!("\n  file problem: {p}"));
        }
        for e in self.model_errors.iter().take(examples) {
            s.push_str(&format!("\n  model error: {e}"));
        }
        for t in &self.skipped_tables {
            s.push_str(&format!("\n  skipped: {t}"));
        }
        if self.left_to_earlier_releases > 0 {
            s.push_str(&format!(
                "\n  left to earlier releases: {} quantities shown only in columns withheld whole",
                self.left_to_earlier_releases
            ));
        }
        for z in self.zeros_not_assumed.iter().take(examples) {
            s.push_str(&format!("\n  zeros withheld: {z}"));
        }
        for d in self.directions_not_used.iter().take(examples) {
            s.push_str(&format!("\n  direction not used: {d}"));
        }
        s
    }

    /// Whether the attack recovered nothing, left nothing undecided and found nothing
    /// suspicious in the files.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty() && self.unsolved.is_empty() && self.file_problems.is_empty()
    }
}

// ---------------------------------------------------------------------------------------------
// What an outsider reads
// ---------------------------------------------------------------------------------------------

/// One table's disclosure declaration, as the manifest repeats it from the pipeline file.
#[derive(Debug, Clone)]
pub struct TableSpec {
    pub name: String,
    pub policy: String,
    pub k: u64,
    pub counts: Vec<String>,
    pub dimensions: Vec<String>,
    pub total: String,
    pub measure: String,
    /// count -> the quantity it is (`measure.count`), where the table declares it (a table
    /// that sets several measures side by side); the dictionary says so in words.
    pub count_measures: BTreeMap<String, String>,
    /// dimension -> its parent column
    pub parents: BTreeMap<String, String>,
}

impl TableSpec {
    /// The quantity a count column is: `<measure>.<count>`, or what the table declares.
    fn measure_of(&self, count: &str) -> String {
        self.count_measures
            .get(count)
            .cloned()
            .unwrap_or_else(|| format!("{}.{count}", self.measure))
    }

    /// Whether any count of the table is of measure family `base`.
    fn has_measure(&self, base: &str) -> bool {
        self.counts.iter().any(|c| {
            self.measure_of(c)
                .rsplit_once('.')
                .is_some_and(|(m, _)| m == base)
        })
    }

    fn from_json(name: &str, d: &Value) -> Option<Self> {
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default()
        };
        Some(TableSpec {
            name: name.to_string(),
            policy: d.get("policy")?.as_str()?.to_string(),
            k: d.get("k").and_then(Value::as_u64).unwrap_or(5),
            counts: strings(d.get("counts")?),
            dimensions: strings(d.get("dimensions")?),
            total: d
                .get("total")
                .and_then(Value::as_str)
                .unwrap_or("Total")
                .to_string(),
            measure: d
                .get("measure")
                .and_then(Value::as_str)
                .unwrap_or(name)
                .to_string(),
            count_measures: string_map(d.get("count_measures")),
            parents: string_map(d.get("parents")),
        })
    }
}

/// A JSON object of strings as a map (empty where absent).
fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// One published row: coordinates, each dimension's parent code (where it has a parent
/// column) and each count (None = withheld).
#[derive(Debug, Clone)]
pub struct Row {
    pub coords: Vec<String>,
    pub parents: Vec<Option<String>>,
    pub values: Vec<Option<u64>>,
    /// Per count, whether the partner withheld the figure before sharing (`[p]`): it has no
    /// shared part, and the published figures of the table (lower bounds where they include
    /// it) are sums of shared parts only, so the outsider knows it adds nothing to them. It
    /// is a structural zero, left out of the model like an absent row.
    pub partner: Vec<bool>,
}

#[derive(Debug, Clone)]
pub struct PublishedTable {
    pub spec: TableSpec,
    pub rows: Vec<Row>,
}

/// A row of the public disclosure report that names a quantity and an interval.
#[derive(Debug, Clone)]
struct ReportInterval {
    quantity: String,
    low: Option<u64>,
    high: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct PublishedRelease {
    pub name: String,
    pub dir: PathBuf,
    pub created_at: String,
    pub run_id: String,
    /// dataset -> the checksums of its staged files
    pub inputs: BTreeMap<String, Vec<String>>,
    /// stage -> SQL hash
    pub sql: BTreeMap<String, String>,
    /// table -> the datasets it is computed from (from the data dictionary)
    pub lineage: BTreeMap<String, BTreeSet<String>>,
    pub tables: Vec<PublishedTable>,
    report: Vec<ReportInterval>,
}

/// Reads every release under `<store>/published/`, oldest first. Problems reading are
/// returned as file problems.
pub fn read_releases(store: &Path, problems: &mut Vec<String>) -> Vec<PublishedRelease> {
    let mut out = Vec::new();
    let published = store.join("published");
    let Ok(dirs) = fs::read_dir(&published) else {
        return out;
    };
    let mut dirs: Vec<PathBuf> = dirs
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let manifest_path = dir.join("manifest.json");
        let manifest: Value = match fs::read(&manifest_path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
        {
            Ok(v) => v,
            Err(e) => {
                // A release directory without a readable manifest was never committed (or is
                // being written): its files are still public if present.
                problems.push(format!("{name}: no readable manifest.json ({e})"));
                continue;
            }
        };
        out.push(read_release(&name, &dir, &manifest, problems));
    }
    out.sort_by(|a, b| (&a.created_at, &a.name).cmp(&(&b.created_at, &b.name)));
    out
}

fn read_release(
    name: &str,
    dir: &Path,
    manifest: &Value,
    problems: &mut Vec<String>,
) -> PublishedRelease {
    let str_of =
        |v: &Value, key: &str| v.get(key).and_then(Value::as_str).unwrap_or("").to_string();
    let mut inputs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for input in manifest["inputs"].as_array().into_iter().flatten() {
        let dataset = input
            .get("dataset")
            .or_else(|| input.get("source"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let mut sums: Vec<String> = input["files"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| str_of(f, "sha256"))
            .collect();
        sums.sort();
        inputs.entry(dataset).or_default().extend(sums);
    }
    let sql = manifest["sql"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| (str_of(s, "stage"), str_of(s, "sql_sha256")))
        .collect();
    let mut lineage: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    if let Ok(bytes) = fs::read(dir.join("data_dictionary.json"))
        && let Ok(Value::Array(entries)) = serde_json::from_slice::<Value>(&bytes)
    {
        for entry in entries {
            let table = str_of(&entry, "table");
            let mut datasets = BTreeSet::new();
            for s in entry["sources"].as_array().into_iter().flatten() {
                if let Some(s) = s.as_str() {
                    datasets.insert(s.split(" (").next().unwrap_or(s).trim().to_string());
                }
            }
            for s in entry["definitions"].as_array().into_iter().flatten() {
                if let Some(s) = s.as_str() {
                    datasets.insert(s.split('@').next().unwrap_or(s).trim().to_string());
                }
            }
            lineage.insert(table, datasets);
        }
    }

    let mut tables = Vec::new();
    let mut listed = BTreeSet::new();
    for table in manifest["tables"].as_array().into_iter().flatten() {
        let table_name = str_of(table, "name");
        listed.insert(format!("{table_name}.csv"));
        let Some(spec) = table
            .get("disclosure")
            .and_then(|d| TableSpec::from_json(&table_name, d))
        else {
            problems.push(format!(
                "{name}: table {table_name} has no disclosure declaration in the manifest: not attacked"
            ));
            continue;
        };
        let path = dir.join("tables").join(format!("{table_name}.csv"));
        match read_table_csv(&path, spec) {
            Ok(t) => tables.push(t),
            Err(e) => problems.push(format!("{name}: {}: {e}", path.display())),
        }
    }
    if let Ok(entries) = fs::read_dir(dir.join("tables")) {
        for e in entries.flatten() {
            let file = e.file_name().to_string_lossy().to_string();
            if file.ends_with(".csv") && !listed.contains(&file) {
                problems.push(format!(
                    "{name}: tables/{file} is published but not in the manifest (not attacked)"
                ));
            }
        }
    }
    PublishedRelease {
        name: name.to_string(),
        dir: dir.to_path_buf(),
        created_at: str_of(manifest, "created_at"),
        run_id: str_of(manifest, "run_id"),
        inputs,
        sql,
        lineage,
        tables,
        report: read_report_intervals(dir),
    }
}

/// Reads a published table CSV by its declaration.
pub fn read_table_csv(path: &Path, spec: TableSpec) -> Result<PublishedTable, String> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| e.to_string())?;
    let header = reader.headers().map_err(|e| e.to_string())?.clone();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("no column {name}"))
    };
    let dims = spec
        .dimensions
        .iter()
        .map(|d| column(d))
        .collect::<Result<Vec<_>, _>>()?;
    let parents = spec
        .dimensions
        .iter()
        .map(|d| spec.parents.get(d).map(|p| column(p)).transpose())
        .collect::<Result<Vec<_>, _>>()?;
    let counts = spec
        .counts
        .iter()
        .map(|c| column(c))
        .collect::<Result<Vec<_>, _>>()?;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| e.to_string())?;
        let cells: Vec<&str> = counts
            .iter()
            .map(|&i| record.get(i).unwrap_or(""))
            .collect();
        let values = cells
            .iter()
            .map(|&v| {
                if v == WITHHELD || v == PARTNER_WITHHELD {
                    Ok(None)
                } else {
                    v.parse::<u64>().map(Some).map_err(|_| {
                        format!(
                            "count {v:?} is neither a number nor {WITHHELD} nor {PARTNER_WITHHELD}"
                        )
                    })
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        rows.push(Row {
            coords: dims
                .iter()
                .map(|&i| record.get(i).unwrap_or("").to_string())
                .collect(),
            parents: parents
                .iter()
                .map(|p| p.map(|i| record.get(i).unwrap_or("").to_string()))
                .collect(),
            values,
            partner: cells.iter().map(|&v| v == PARTNER_WITHHELD).collect(),
        });
    }
    Ok(PublishedTable { spec, rows })
}

/// Every object in the public disclosure report that pairs a quantity with `low`/`high`.
fn read_report_intervals(dir: &Path) -> Vec<ReportInterval> {
    let Ok(bytes) = fs::read(dir.join("disclosure_report.json")) else {
        return Vec::new();
    };
    let Ok(value) = serde_json::from_slice::<Value>(&bytes) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut stack = vec![&value];
    while let Some(v) = stack.pop() {
        match v {
            Value::Array(a) => stack.extend(a),
            Value::Object(o) => {
                let quantity = o
                    .get("quantity")
                    .or_else(|| o.get("identity"))
                    .and_then(Value::as_str);
                let low = o.get("low").and_then(Value::as_u64);
                let high = o.get("high").and_then(Value::as_u64);
                if let Some(q) = quantity
                    && (low.is_some() || high.is_some())
                {
                    out.push(ReportInterval {
                        quantity: q.to_string(),
                        low,
                        high,
                    });
                }
                stack.extend(o.values());
            }
            _ => {}
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The true values (used only to choose targets and to check the model)
// ---------------------------------------------------------------------------------------------

/// (table, count column) -> coordinates -> true value (None: partner-withheld, unknown).
pub type Truth = HashMap<(String, String), HashMap<Vec<String>, Option<u64>>>;

/// The run's unprotected outputs for a release; the ledger entry as a fallback.
pub fn read_truth(store: &Path, release: &PublishedRelease) -> Result<Truth, String> {
    match truth_from_run(store, release) {
        Ok(t) => Ok(t),
        Err(run_error) => truth_from_ledger(store, release)
            .map_err(|e| format!("run outputs: {run_error}; ledger: {e}")),
    }
}

fn truth_from_run(store: &Path, release: &PublishedRelease) -> Result<Truth, String> {
    let record_path = store.join(format!("runs/{}/run.json", release.run_id));
    let record: Value = serde_json::from_slice(
        &fs::read(&record_path).map_err(|e| format!("{}: {e}", record_path.display()))?,
    )
    .map_err(|e| e.to_string())?;
    let mut truth = Truth::new();
    for table in &release.tables {
        let stage = record["stages"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| s["name"].as_str() == Some(table.spec.name.as_str()))
            .ok_or_else(|| format!("no stage {} in the run record", table.spec.name))?;
        let path = stage["output"]["path"]
            .as_str()
            .ok_or_else(|| format!("stage {} has no output path", table.spec.name))?;
        let values = read_parquet_counts(&store.join(path), &table.spec)?;
        for (c, count) in table.spec.counts.iter().enumerate() {
            truth.insert(
                (table.spec.name.clone(), count.clone()),
                values
                    .iter()
                    .map(|(coords, v)| (coords.clone(), v[c]))
                    .collect(),
            );
        }
    }
    Ok(truth)
}

/// One output row: coordinates and counts (None: partner-withheld).
pub type CountRow = (Vec<String>, Vec<Option<u64>>);

/// Reads dimension and count columns of an output Parquet file.
pub fn read_parquet_counts(path: &Path, spec: &TableSpec) -> Result<Vec<CountRow>, String> {
    let file = fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| e.to_string())?;
        let column = |name: &str, to: &DataType| {
            let c = batch
                .column_by_name(name)
                .ok_or_else(|| format!("{}: no column {name}", path.display()))?;
            arrow_cast::cast(c, to).map_err(|e| e.to_string())
        };
        let dims = spec
            .dimensions
            .iter()
            .map(|d| column(d, &DataType::Utf8))
            .collect::<Result<Vec<_>, _>>()?;
        let counts = spec
            .counts
            .iter()
            .map(|c| column(c, &DataType::Int64))
            .collect::<Result<Vec<_>, _>>()?;
        let dims: Vec<&StringArray> = dims
            .iter()
            .map(|a| {
                a.as_any()
                    .downcast_ref::<StringArray>()
                    .expect("cast to Utf8")
            })
            .collect();
        let counts: Vec<&Int64Array> = counts
            .iter()
            .map(|a| {
                a.as_any()
                    .downcast_ref::<Int64Array>()
                    .expect("cast to Int64")
            })
            .collect();
        for row in 0..batch.num_rows() {
            out.push((
                dims.iter().map(|a| a.value(row).to_string()).collect(),
                counts
                    .iter()
                    .map(|a| (!a.is_null(row)).then(|| a.value(row).max(0) as u64))
                    .collect(),
            ));
        }
    }
    Ok(out)
}

fn truth_from_ledger(store: &Path, release: &PublishedRelease) -> Result<Truth, String> {
    let path = store.join(format!("runs/_ledger/{}.json", release.name));
    let entry: Value =
        serde_json::from_slice(&fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?)
            .map_err(|e| e.to_string())?;
    let mut truth = Truth::new();
    for part in entry["parts"].as_array().into_iter().flatten() {
        let name = part["name"].as_str().unwrap_or("");
        let Some((table, count)) = name.rsplit_once('.') else {
            continue;
        };
        let cells = truth
            .entry((table.to_string(), count.to_string()))
            .or_default();
        for cell in part["cells"].as_array().into_iter().flatten() {
            let coords: Vec<String> = cell[0]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| c.as_str().unwrap_or("").to_string())
                .collect();
            cells.insert(coords, cell[1].as_u64());
        }
    }
    if truth.is_empty() {
        return Err(format!("{}: no parts", path.display()));
    }
    Ok(truth)
}

// ---------------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------------

/// The sorted non-total coordinates of a cell, dimension names normalised.
type Identity = Vec<(String, String)>;

/// A quantity: release, `<measure>.<count>` and identity.
type Key = (usize, String, Identity);

#[derive(Debug, Clone)]
struct Cell {
    table: String,
    count: String,
    coords: Vec<(String, String)>,
    k: u64,
    /// Every cell of its column in its release is withheld (a column withheld whole).
    column_withheld_whole: bool,
}

#[derive(Debug, Clone, Default)]
struct Var {
    /// Published value (the quantity is a constant) if any table of its release shows it.
    published: Option<u64>,
    /// Whether some cell of it is withheld.
    withheld: bool,
    /// The true value where known.
    truth: Option<u64>,
    truth_unknown: bool,
    /// Withheld cells of it (for reporting).
    cells: Vec<Cell>,
    /// The largest k of a threshold table showing it withheld.
    k: u64,
    lower: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Dir {
    Up,
    Down,
}

#[derive(Debug, Clone)]
struct Relation {
    terms: Vec<(usize, f64)>,
    /// `terms == 0` or `terms <= 0`
    equality: bool,
    /// For cross-release inequalities: the measure and direction they assume.
    assumption: Option<(String, Dir)>,
    label: String,
}

fn normalise_dim(dim: &str) -> &str {
    if AREA_DIMS.contains(&dim) {
        "area"
    } else {
        dim
    }
}

fn identity(spec: &TableSpec, coords: &[String]) -> Vec<(String, String)> {
    let mut id: Vec<(String, String)> = spec
        .dimensions
        .iter()
        .zip(coords)
        .filter(|(_, c)| **c != spec.total)
        .map(|(d, c)| (normalise_dim(d).to_string(), c.clone()))
        .collect();
    id.sort();
    id
}

fn is_month(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 7
        && b[4] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || c.is_ascii_digit())
}

fn is_threshold(spec: &TableSpec) -> bool {
    spec.policy == "threshold"
}

struct Model {
    keys: Vec<Key>,
    vars: Vec<Var>,
    relations: Vec<Relation>,
}

struct Builder<'a> {
    releases: &'a [PublishedRelease],
    truths: &'a [Truth],
    index: HashMap<Key, usize>,
    model: Model,
    /// (release, measure) pairs whose quantities are kept per table (the identity rule does
    /// not hold for them: two tables disagree on one identity).
    split: BTreeSet<(usize, String)>,
}

impl<'a> Builder<'a> {
    fn measure_key(&self, r: usize, spec: &TableSpec, count: &str) -> String {
        let measure = spec.measure_of(count);
        if self.split.contains(&(r, measure.clone())) {
            format!("{measure}@{}", spec.name)
        } else {
            measure
        }
    }

    fn var(&mut self, key: Key) -> usize {
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        let i = self.model.vars.len();
        self.model.vars.push(Var::default());
        self.model.keys.push(key.clone());
        self.index.insert(key, i);
        i
    }
}

fn truth_of(truth: &Truth, table: &str, count: &str, coords: &[String]) -> Option<Option<u64>> {
    truth
        .get(&(table.to_string(), count.to_string()))
        .map(|t| t.get(coords).copied().unwrap_or(Some(0)))
}

/// Builds the model; `report` collects skipped tables and model errors.
fn build_model(
    releases: &[PublishedRelease],
    truths: &[Truth],
    report: &mut AttackReport,
) -> Model {
    let mut b = Builder {
        releases,
        truths,
        index: HashMap::new(),
        model: Model {
            keys: Vec::new(),
            vars: Vec::new(),
            relations: Vec::new(),
        },
        split: BTreeSet::new(),
    };
    // Which (release, measure) break the identity rule: two cells of one identity whose true
    // (or published) values differ.
    {
        let mut seen: HashMap<Key, (Option<u64>, String)> = HashMap::new();
        for (r, release) in releases.iter().enumerate() {
            for table in release.tables.iter().filter(|t| is_threshold(&t.spec)) {
                for (c, count) in table.spec.counts.iter().enumerate() {
                    for row in &table.rows {
                        let t = truth_of(&truths[r], &table.spec.name, count, &row.coords)
                            .flatten()
                            .or(row.values[c]);
                        let measure = table.spec.measure_of(count);
                        let key = (r, measure.clone(), identity(&table.spec, &row.coords));
                        match seen.get(&key) {
                            Some((other, first))
                                if t.is_some() && other.is_some() && *other != t =>
                            {
                                if b.split.insert((r, measure.clone())) {
                                    report.model_errors.push(format!(
                                        "{}: {measure}{:?} is {t:?} in {} but {other:?} in {first}: its tables are modelled separately",
                                        release.name, key.2, table.spec.name
                                    ));
                                }
                            }
                            Some(_) => {}
                            None => {
                                seen.insert(key, (t, table.spec.name.clone()));
                            }
                        }
                    }
                }
            }
        }
    }

    for (r, release) in releases.iter().enumerate() {
        for table in &release.tables {
            if !is_threshold(&table.spec) {
                report.skipped_tables.push(format!(
                    "{}: {} (policy {}: not modelled)",
                    release.name, table.spec.name, table.spec.policy
                ));
                continue;
            }
            add_table(&mut b, r, table, report);
        }
        add_months_to_years(&mut b, r);
        add_persons_within_involvements(&mut b, r);
    }
    add_cross_release(&mut b);
    b.model
}

fn add_table(b: &mut Builder, r: usize, table: &PublishedTable, report: &mut AttackReport) {
    let spec = &table.spec;
    let release = &b.releases[r];
    let truth = &b.truths[r];
    // vars[c][row]; None for a figure the partner withheld (a structural zero)
    let mut vars: Vec<Vec<Option<usize>>> = Vec::new();
    for (c, count) in spec.counts.iter().enumerate() {
        let measure = b.measure_key(r, spec, count);
        let withheld_whole = table
            .rows
            .iter()
            .all(|row| row.values[c].is_none() && !row.partner[c]);
        let mut column = Vec::new();
        for row in &table.rows {
            if row.partner[c] {
                column.push(None);
                continue;
            }
            let id = identity(spec, &row.coords);
            let v = b.var((r, measure.clone(), id.clone()));
            let t = truth_of(truth, &spec.name, count, &row.coords);
            let var = &mut b.model.vars[v];
            match t {
                Some(Some(value)) => var.truth = Some(value),
                Some(None) => var.truth_unknown = true,
                None => {}
            }
            match row.values[c] {
                Some(value) => {
                    if var.published.is_some_and(|p| p != value) {
                        report.model_errors.push(format!(
                            "{}: {measure}{id:?} published as {value} in {} and {:?} elsewhere",
                            release.name, spec.name, var.published
                        ));
                    }
                    var.published = Some(value);
                }
                None => {
                    var.withheld = true;
                    var.k = var.k.max(spec.k);
                    var.cells.push(Cell {
                        table: spec.name.clone(),
                        count: count.clone(),
                        coords: spec
                            .dimensions
                            .iter()
                            .cloned()
                            .zip(row.coords.iter().cloned())
                            .collect(),
                        k: spec.k,
                        column_withheld_whole: withheld_whole,
                    });
                }
            }
            column.push(Some(v));
        }
        vars.push(column);
    }

    // Margins and hierarchies: for each dimension, each row's parent cell (same other
    // coordinates) is the sum of its children.
    let by_coords: HashMap<&[String], usize> = table
        .rows
        .iter()
        .enumerate()
        .map(|(i, row)| (row.coords.as_slice(), i))
        .collect();
    for (d, dim) in spec.dimensions.iter().enumerate() {
        let mut groups: BTreeMap<Vec<String>, Vec<usize>> = BTreeMap::new();
        for (i, row) in table.rows.iter().enumerate() {
            let code = &row.coords[d];
            if *code == spec.total {
                continue;
            }
            let parent = match &row.parents[d] {
                Some(p) if !p.is_empty() => p.clone(),
                _ => spec.total.clone(),
            };
            let mut parent_coords = row.coords.clone();
            parent_coords[d] = parent;
            groups.entry(parent_coords).or_default().push(i);
        }
        for (parent_coords, children) in groups {
            let Some(&p) = by_coords.get(parent_coords.as_slice()) else {
                report.model_errors.push(format!(
                    "{}: {} has children of {dim}={} but no such row",
                    release.name, spec.name, parent_coords[d]
                ));
                continue;
            };
            for (c, count) in spec.counts.iter().enumerate() {
                // A parent with no shared part has none in its children either.
                let Some(parent) = vars[c][p] else {
                    continue;
                };
                let mut terms = vec![(parent, 1.0)];
                terms.extend(children.iter().filter_map(|&i| Some((vars[c][i]?, -1.0))));
                b.model.relations.push(Relation {
                    terms,
                    equality: true,
                    assumption: None,
                    label: format!(
                        "{}: {}.{count}: {dim}={} = sum of its {} children at {:?}",
                        release.name,
                        spec.name,
                        parent_coords[d],
                        children.len(),
                        parent_coords
                    ),
                });
            }
        }
    }

    // Nested counts in one row.
    for (part, whole) in NESTED {
        let (Some(p), Some(w)) = (
            spec.counts.iter().position(|c| c == part),
            spec.counts.iter().position(|c| c == whole),
        ) else {
            continue;
        };
        for (i, row) in table.rows.iter().enumerate() {
            let (Some(part_var), Some(whole_var)) = (vars[p][i], vars[w][i]) else {
                continue;
            };
            b.model.relations.push(Relation {
                terms: vec![(part_var, 1.0), (whole_var, -1.0)],
                equality: false,
                assumption: None,
                label: format!(
                    "{}: {}: {part} <= {whole} at {:?}",
                    release.name, spec.name, row.coords
                ),
            });
        }
    }
}

/// The model's quantities of release `r`, with their indices.
fn keys_of_release(b: &Builder, r: usize) -> Vec<(usize, Key)> {
    b.model
        .keys
        .iter()
        .enumerate()
        .filter(|(_, k)| k.0 == r)
        .map(|(i, k)| (i, k.clone()))
        .collect()
}

/// Persons by age band and sex are at most the involvements of their role in the same cell.
fn add_persons_within_involvements(b: &mut Builder, r: usize) {
    let keys = keys_of_release(b, r);
    for (i, (_, measure, id)) in keys {
        for (persons, involvements, role) in PERSONS_WITHIN_INVOLVEMENTS {
            if measure != *persons || id.iter().any(|(d, _)| d != "age_band" && d != "sex") {
                continue;
            }
            let mut whole = id.clone();
            whole.push(("role".to_string(), role.to_string()));
            whole.sort();
            let Some(&w) = b.index.get(&(r, involvements.to_string(), whole)) else {
                continue;
            };
            b.model.relations.push(Relation {
                terms: vec![(i, 1.0), (w, -1.0)],
                equality: false,
                assumption: None,
                label: format!(
                    "{}: {persons}{id:?} <= {involvements} of role {role}",
                    b.releases[r].name
                ),
            });
        }
    }
}

/// Months of a year sum to the year, for every measure and other coordinates.
fn add_months_to_years(b: &mut Builder, r: usize) {
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    let keys = keys_of_release(b, r);
    for (i, (_, measure, id)) in keys {
        let Some(pos) = id.iter().position(|(d, c)| d == "month" && is_month(c)) else {
            continue;
        };
        if id.iter().any(|(d, _)| d == "year") {
            continue;
        }
        let year = id[pos].1[..4].to_string();
        let mut year_id = id.clone();
        year_id.remove(pos);
        year_id.push(("year".to_string(), year));
        year_id.sort();
        if let Some(&y) = b.index.get(&(r, measure, year_id)) {
            groups.entry(y).or_default().push(i);
        }
    }
    for (y, months) in groups {
        let mut terms = vec![(y, 1.0)];
        terms.extend(months.iter().map(|&m| (m, -1.0)));
        let (_, measure, id) = &b.model.keys[y];
        let label = format!(
            "{}: {measure}{id:?} = sum of its {} months",
            b.releases[r].name,
            months.len()
        );
        b.model.relations.push(Relation {
            terms,
            equality: true,
            assumption: None,
            label,
        });
    }
}

/// The inputs (and SQL) a measure's tables depend on in a release, as the outsider sees them.
fn measure_inputs(release: &PublishedRelease, measure: &str) -> String {
    let base = measure.split('@').next().unwrap_or(measure);
    let base = base.rsplit_once('.').map_or(base, |(m, _)| m);
    let mut datasets: BTreeSet<&String> = BTreeSet::new();
    let mut known = true;
    for table in release.tables.iter().filter(|t| t.spec.has_measure(base)) {
        match release.lineage.get(&table.spec.name) {
            Some(l) => datasets.extend(l),
            None => known = false,
        }
    }
    let inputs: Vec<(&String, &Vec<String>)> = release
        .inputs
        .iter()
        .filter(|(d, _)| !known || datasets.contains(d))
        .collect();
    format!("{inputs:?}|{:?}", release.sql)
}

fn add_cross_release(b: &mut Builder) {
    // identity (measure, id) -> the variables of the releases that show it, in release order.
    let mut chains: BTreeMap<(String, Identity), Vec<usize>> = BTreeMap::new();
    for (i, (_, measure, id)) in b.model.keys.iter().enumerate() {
        chains
            .entry((measure.clone(), id.clone()))
            .or_default()
            .push(i);
    }
    let mut inputs_cache: HashMap<(usize, String), String> = HashMap::new();
    let mut inputs_of = |r: usize, measure: &str| -> String {
        inputs_cache
            .entry((r, measure.to_string()))
            .or_insert_with(|| measure_inputs(&b.releases[r], measure))
            .clone()
    };
    let mut relations = Vec::new();
    for ((measure, id), mut vars) in chains {
        vars.sort_by_key(|&v| b.model.keys[v].0);
        for pair in vars.windows(2) {
            let (a, c) = (pair[0], pair[1]);
            let (ra, rc) = (b.model.keys[a].0, b.model.keys[c].0);
            let (na, nc) = (&b.releases[ra].name, &b.releases[rc].name);
            if inputs_of(ra, &measure) == inputs_of(rc, &measure) {
                relations.push(Relation {
                    terms: vec![(c, 1.0), (a, -1.0)],
                    equality: true,
                    assumption: None,
                    label: format!("{measure}{id:?}: {nc} = {na} (same inputs)"),
                });
            } else {
                // later >= earlier: earlier - later <= 0
                relations.push(Relation {
                    terms: vec![(a, 1.0), (c, -1.0)],
                    equality: false,
                    assumption: Some((measure.clone(), Dir::Up)),
                    label: format!("{measure}{id:?}: {nc} >= {na}"),
                });
                relations.push(Relation {
                    terms: vec![(c, 1.0), (a, -1.0)],
                    equality: false,
                    assumption: Some((measure.clone(), Dir::Down)),
                    label: format!("{measure}{id:?}: {nc} <= {na}"),
                });
            }
        }
    }
    b.model.relations.extend(relations);
}

// ---------------------------------------------------------------------------------------------
// Checking the model against the truth
// ---------------------------------------------------------------------------------------------

fn value_for_check(var: &Var) -> Option<f64> {
    if var.truth_unknown && var.published.is_none() {
        return None;
    }
    var.published.or(var.truth).map(|v| v as f64)
}

/// Evaluates `terms` at the true values; None when one is unknown.
fn evaluate(model: &Model, terms: &[(usize, f64)]) -> Option<f64> {
    terms
        .iter()
        .map(|&(v, c)| value_for_check(&model.vars[v]).map(|x| x * c))
        .sum()
}

fn holds(model: &Model, rel: &Relation) -> bool {
    match evaluate(model, &rel.terms) {
        None => true,
        Some(x) if rel.equality => x.abs() < 1e-6,
        Some(x) => x <= 1e-6,
    }
}

// ---------------------------------------------------------------------------------------------
// Solving
// ---------------------------------------------------------------------------------------------

struct UnionFind(Vec<usize>);

impl UnionFind {
    fn find(&mut self, x: usize) -> usize {
        let mut root = x;
        while self.0[root] != root {
            root = self.0[root];
        }
        let mut x = x;
        while self.0[x] != root {
            let next = self.0[x];
            self.0[x] = root;
            x = next;
        }
        root
    }
    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            self.0[a] = b;
        }
    }
}

/// Integer bounds of one variable over one component's LP.
#[derive(Debug, Clone, Copy)]
struct Interval {
    min: u64,
    max: Option<u64>,
}

enum SolveResult {
    Value(f64),
    Unbounded,
    Failed(String),
}

struct Component<'m> {
    /// Bounds of every variable of the model (propagated); one outside `vars` is fixed at
    /// its lower bound.
    bounds: &'m [(f64, f64)],
    /// The component's free unknowns.
    vars: Vec<usize>,
    /// The relations that involve them.
    relations: Vec<&'m Relation>,
}

impl Component<'_> {
    /// Optimises `objective` over the component: the LP relaxation, or with `integer` the
    /// integer program. A value is returned only when proven optimal, with the point.
    fn solve(
        &self,
        objective: &[(usize, f64)],
        direction: OptimizationDirection,
        limit: Duration,
        integer: bool,
    ) -> (SolveResult, Option<Vec<f64>>) {
        let mut problem = Problem::new(direction);
        problem.set_time_limit(limit);
        let position: HashMap<usize, usize> =
            self.vars.iter().enumerate().map(|(i, &v)| (v, i)).collect();
        let objective: HashMap<usize, f64> = objective.iter().copied().collect();
        let lp_vars: Vec<microlp::Variable> = self
            .vars
            .iter()
            .map(|v| {
                let (lo, hi) = self.bounds[*v];
                let cost = objective.get(v).copied().unwrap_or(0.0);
                if integer {
                    let hi = if hi.is_finite() && hi < i32::MAX as f64 {
                        hi as i32
                    } else {
                        i32::MAX
                    };
                    problem.add_integer_var(cost, (lo as i32, hi))
                } else {
                    problem.add_var(cost, (lo, hi))
                }
            })
            .collect();
        for rel in &self.relations {
            let mut rhs = 0.0;
            let mut expr = Vec::new();
            for &(v, c) in &rel.terms {
                match position.get(&v) {
                    Some(&i) => expr.push((lp_vars[i], c)),
                    None => rhs -= c * self.bounds[v].0,
                }
            }
            let op = if rel.equality {
                ComparisonOp::Eq
            } else {
                ComparisonOp::Le
            };
            problem.add_constraint(expr.as_slice(), op, rhs);
        }
        match problem.solve() {
            Ok(SolveOutcome::Solution(solution)) => {
                if solution.status() != SolutionStatus::Optimal {
                    return (
                        SolveResult::Failed("not proven optimal (time limit)".into()),
                        None,
                    );
                }
                let values = lp_vars.iter().map(|&v| solution.var_value(v)).collect();
                (SolveResult::Value(solution.objective()), Some(values))
            }
            Ok(SolveOutcome::Interrupted(_)) => {
                (SolveResult::Failed("interrupted (time limit)".into()), None)
            }
            Err(microlp::Error::Unbounded) => (SolveResult::Unbounded, None),
            Err(e) => (SolveResult::Failed(e.to_string()), None),
        }
    }
}

/// Runs the attack on every release under `<store>/published/`.
pub fn attack_store(store: &Path) -> AttackReport {
    attack_store_with(store, &AttackOptions::default())
}

pub fn attack_store_with(store: &Path, options: &AttackOptions) -> AttackReport {
    let started = Instant::now();
    let mut report = AttackReport::default();
    let releases = read_releases(store, &mut report.file_problems);
    report.releases = releases.iter().map(|r| r.name.clone()).collect();
    for release in &releases {
        check_files(release, &mut report.file_problems);
        check_parquet(release, &mut report.file_problems);
    }
    let mut truths = Vec::new();
    for release in &releases {
        match read_truth(store, release) {
            Ok(t) => truths.push(t),
            Err(e) => {
                report.unsolved.push(format!(
                    "{}: no true values ({e}): nothing of it attacked",
                    release.name
                ));
                truths.push(Truth::new());
            }
        }
    }
    let model = build_model(&releases, &truths, &mut report);
    solve_model(model, &releases, options, started, &mut report);
    report.elapsed = started.elapsed();
    report
}

/// Interval propagation over `relations`, for integer counts: sound outer bounds of every
/// variable (published ones are fixed). Stops early (still sound) at the deadline.
fn propagate(
    model: &Model,
    relations: &[&Relation],
    deadline: Instant,
) -> Result<Vec<(f64, f64)>, String> {
    let mut b: Vec<(f64, f64)> = model
        .vars
        .iter()
        .map(|v| match v.published {
            Some(p) => (p as f64, p as f64),
            None => (v.lower, f64::INFINITY),
        })
        .collect();
    let mut by_var: Vec<Vec<usize>> = vec![Vec::new(); model.vars.len()];
    for (r, rel) in relations.iter().enumerate() {
        for &(v, _) in &rel.terms {
            by_var[v].push(r);
        }
    }
    let mut queue: VecDeque<usize> = (0..relations.len()).collect();
    let mut queued = vec![true; relations.len()];
    let max_steps = 200 * relations.len().max(1);
    let mut steps = 0;
    while let Some(r) = queue.pop_front() {
        queued[r] = false;
        steps += 1;
        if steps > max_steps || (steps % 1024 == 0 && Instant::now() > deadline) {
            break;
        }
        let rel = relations[r];
        let range = |v: usize, a: f64, b: &[(f64, f64)]| {
            let (lo, hi) = b[v];
            if a > 0.0 {
                (a * lo, a * hi)
            } else {
                (a * hi, a * lo)
            }
        };
        let (mut sum_min, mut sum_max, mut inf_min, mut inf_max) = (0.0, 0.0, 0usize, 0usize);
        for &(v, a) in &rel.terms {
            let (mn, mx) = range(v, a, &b);
            if mn.is_finite() {
                sum_min += mn
            } else {
                inf_min += 1
            }
            if mx.is_finite() {
                sum_max += mx
            } else {
                inf_max += 1
            }
        }
        for &(v, a) in &rel.terms {
            let (mn, mx) = range(v, a, &b);
            let (mut lo, mut hi) = b[v];
            // Σ <= 0: a x_v <= -(minimum of the others)
            let others_min = match (mn.is_finite(), inf_min) {
                (true, 0) => Some(sum_min - mn),
                (false, 1) => Some(sum_min),
                _ => None,
            };
            if let Some(m) = others_min {
                let bound = -m / a;
                if a > 0.0 {
                    hi = hi.min((bound + 1e-7).floor());
                } else {
                    lo = lo.max((bound - 1e-7).ceil());
                }
            }
            // Σ = 0 also gives Σ >= 0: a x_v >= -(maximum of the others)
            let others_max = match (mx.is_finite(), inf_max) {
                (true, 0) => Some(sum_max - mx),
                (false, 1) => Some(sum_max),
                _ => None,
            };
            if rel.equality
                && let Some(m) = others_max
            {
                let bound = -m / a;
                if a > 0.0 {
                    lo = lo.max((bound - 1e-7).ceil());
                } else {
                    hi = hi.min((bound + 1e-7).floor());
                }
            }
            if lo > hi + 1e-7 {
                return Err(format!("no feasible value for a variable of {}", rel.label));
            }
            if (lo, hi) != b[v] {
                b[v] = (lo, hi);
                for &other in &by_var[v] {
                    if !queued[other] {
                        queued[other] = true;
                        queue.push_back(other);
                    }
                }
            }
        }
    }
    Ok(b)
}

fn solve_model(
    mut model: Model,
    releases: &[PublishedRelease],
    options: &AttackOptions,
    started: Instant,
    report: &mut AttackReport,
) {
    // Bounds: a withheld count of a threshold table is at least 1 where zeros are published.
    // That is an assumption about the publisher, per count column of a table: where the
    // column withholds a zero (a complement, or the column withheld whole), an outsider cannot
    // assume it for any of its cells, so it is not made for that column. Partner-withheld
    // cells (truth unknown) are only >= 0.
    let mut zero_tables: BTreeMap<(usize, String, String), usize> = BTreeMap::new();
    for (i, var) in model.vars.iter().enumerate() {
        if var.withheld && var.published.is_none() && var.truth == Some(0) && !var.truth_unknown {
            report.withheld_zeros += 1;
            for cell in &var.cells {
                *zero_tables
                    .entry((model.keys[i].0, cell.table.clone(), cell.count.clone()))
                    .or_default() += 1;
            }
        }
    }
    for ((r, table, count), n) in &zero_tables {
        report.zeros_not_assumed.push(format!(
            "{} {table}.{count}: withholds {n} zero(s), so its withheld cells are only >= 0",
            releases[*r].name
        ));
    }
    for (i, var) in model.vars.iter_mut().enumerate() {
        let r = model.keys[i].0;
        var.lower = if var.withheld
            && var.published.is_none()
            && var.truth.is_some()
            && !var.truth_unknown
            && var
                .cells
                .iter()
                .all(|c| !zero_tables.contains_key(&(r, c.table.clone(), c.count.clone())))
        {
            1.0
        } else {
            0.0
        };
    }
    report.variables = model.vars.iter().filter(|v| v.published.is_none()).count();

    // Keep only relations the truth satisfies; cross-release assumptions per measure and
    // direction.
    let mut broken_assumptions: BTreeSet<(String, Dir)> = BTreeSet::new();
    let mut relations = Vec::new();
    let mut dropped = 0;
    for rel in std::mem::take(&mut model.relations) {
        let ok = holds(&model, &rel);
        match &rel.assumption {
            Some(a) => {
                if !ok && broken_assumptions.insert(a.clone()) {
                    report.directions_not_used.push(format!(
                        "{} {}: the data contradict it ({})",
                        a.0,
                        if a.1 == Dir::Up {
                            "later >= earlier"
                        } else {
                            "later <= earlier"
                        },
                        rel.label
                    ));
                }
                relations.push(rel);
            }
            None if ok => relations.push(rel),
            None => {
                dropped += 1;
                if dropped <= 50 {
                    report
                        .model_errors
                        .push(format!("relation does not hold, dropped: {}", rel.label));
                }
            }
        }
    }
    if dropped > 50 {
        report
            .model_errors
            .push(format!("... {dropped} relations dropped in all"));
    }
    relations.retain(|r| {
        r.assumption
            .as_ref()
            .is_none_or(|a| !broken_assumptions.contains(a))
    });
    // Relations among published figures only: they must hold as published.
    relations.retain(|r| {
        let unknown = r
            .terms
            .iter()
            .any(|&(v, _)| model.vars[v].published.is_none());
        if !unknown && !holds(&model, r) {
            report
                .model_errors
                .push(format!("published figures contradict: {}", r.label));
        }
        unknown
    });
    report.constraints = relations.len();

    // Targets. A quantity shown only in columns its release withholds whole is that
    // release's target only if no earlier release showed it: the column carries no figure,
    // so the release adds nothing about it, and cannot raise the protection an earlier
    // release gave it (under a smaller k, say). The earlier release's own target still
    // counts, with every release's relations (so what a later release adds is still found).
    let first_release: HashMap<(&String, &Identity), usize> =
        model
            .keys
            .iter()
            .fold(HashMap::new(), |mut first, (r, m, id)| {
                let e = first.entry((m, id)).or_insert(*r);
                *e = (*e).min(*r);
                first
            });
    let mut targets: Vec<usize> = Vec::new();
    for (i, var) in model.vars.iter().enumerate() {
        if var.published.is_some() || !var.withheld {
            continue;
        }
        let n = var
            .cells
            .iter()
            .filter(|c| var.truth.is_some_and(|t| t >= 1 && t < c.k))
            .count();
        let (r, m, id) = &model.keys[i];
        if n > 0
            && var.cells.iter().all(|c| c.column_withheld_whole)
            && first_release[&(m, id)] < *r
        {
            report.left_to_earlier_releases += 1;
            continue;
        }
        if n > 0 {
            report.targets += n;
            targets.push(i);
        }
    }
    report.target_quantities = targets.len();

    let directions: Vec<Option<Dir>> = if relations.iter().any(|r| r.assumption.is_some()) {
        vec![Some(Dir::Up), Some(Dir::Down)]
    } else {
        vec![None]
    };
    let report_bounds = report_bounds(&model, releases, report);
    let mut best: BTreeMap<usize, (Interval, String)> = BTreeMap::new();
    // What the tables allow, as far as the first attack established it: the exact LP interval,
    // or the range between two feasible points.
    let mut tables_allow: HashMap<usize, (u64, Option<u64>)> = HashMap::new();
    let mut unsolved: Vec<(usize, String)> = Vec::new();
    for (pass, dir) in directions.into_iter().enumerate() {
        let first_pass = pass == 0;
        let label = match dir {
            None => "same",
            Some(Dir::Up) => "later>=earlier",
            Some(Dir::Down) => "later<=earlier",
        };
        let active: Vec<&Relation> = relations
            .iter()
            .filter(|r| r.assumption.as_ref().is_none_or(|a| Some(a.1) == dir))
            .collect();
        let deadline = started + options.budget;
        let bounds = match propagate(&model, &active, deadline) {
            Ok(b) => b,
            Err(e) => {
                report
                    .model_errors
                    .push(format!("{label}: propagation: {e}"));
                continue;
            }
        };
        let free = |v: usize| model.vars[v].published.is_none() && bounds[v].0 < bounds[v].1;
        // Targets that propagation alone pins narrower than k.
        let mut pinned: BTreeSet<usize> = BTreeSet::new();
        for &t in &targets {
            let (lo, hi) = bounds[t];
            if hi.is_finite() && ((hi - lo) as u64) < model.vars[t].k {
                pinned.insert(t);
                record(
                    &mut best,
                    t,
                    Interval {
                        min: lo as u64,
                        max: Some(hi as u64),
                    },
                    &format!("{label}, propagation"),
                );
            }
        }
        let mut uf = UnionFind((0..model.vars.len()).collect());
        for rel in &active {
            let unknown: Vec<usize> = rel
                .terms
                .iter()
                .map(|&(v, _)| v)
                .filter(|&v| free(v))
                .collect();
            for w in unknown.windows(2) {
                uf.union(w[0], w[1]);
            }
        }
        let mut components: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for v in 0..model.vars.len() {
            if free(v) {
                components.entry(uf.find(v)).or_default().push(v);
            }
        }
        let mut component_relations: BTreeMap<usize, Vec<&Relation>> = BTreeMap::new();
        for rel in active {
            if let Some(&(v, _)) = rel.terms.iter().find(|&&(v, _)| free(v)) {
                component_relations.entry(uf.find(v)).or_default().push(rel);
            }
        }
        let mut component_targets: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for &t in targets.iter().filter(|&&t| free(t)) {
            component_targets.entry(uf.find(t)).or_default().push(t);
        }
        // Small components first, so the time box leaves the largest unsolved.
        let mut order: Vec<usize> = component_targets.keys().copied().collect();
        order.sort_by_key(|c| components[c].len());
        let remaining = || options.budget.saturating_sub(started.elapsed());
        for root in order {
            let component = Component {
                bounds: &bounds,
                vars: components[&root].clone(),
                relations: component_relations.remove(&root).unwrap_or_default(),
            };
            // Under the other direction, a component without cross-release assumptions is the
            // same problem as before.
            if !first_pass && component.relations.iter().all(|r| r.assumption.is_none()) {
                continue;
            }
            let position: HashMap<usize, usize> = component
                .vars
                .iter()
                .enumerate()
                .map(|(i, &v)| (v, i))
                .collect();
            // Witnessed range of every variable over the feasible points seen so far: a target
            // whose witnessed integer spread is already >= k is safe under this attack.
            let mut seen: Vec<(f64, f64)> =
                vec![(f64::INFINITY, f64::NEG_INFINITY); component.vars.len()];
            let proven = |t: usize, seen: &[(f64, f64)]| {
                let (lo, hi) = seen[position[&t]];
                lo.is_finite()
                    && hi.is_finite()
                    && hi.floor() as i64 - lo.ceil() as i64 >= model.vars[t].k as i64
            };
            let comp_targets = &component_targets[&root];
            // Rounds over every undecided target at once (all up, all down, then mixed signs)
            // give most of them two far-apart feasible points cheaply.
            for round in 0..8u64 {
                let undecided: Vec<usize> = comp_targets
                    .iter()
                    .copied()
                    .filter(|&t| !pinned.contains(&t) && !proven(t, &seen))
                    .collect();
                if undecided.len() < 3 {
                    break;
                }
                let objective: Vec<(usize, f64)> = undecided
                    .iter()
                    .map(|&t| {
                        let sign =
                            if round < 2 || (t as u64 * 2_654_435_761 + round).is_multiple_of(2) {
                                1.0
                            } else {
                                -1.0
                            };
                        (t, sign)
                    })
                    .collect();
                for direction in [
                    OptimizationDirection::Minimize,
                    OptimizationDirection::Maximize,
                ] {
                    let limit = remaining().min(options.per_solve);
                    if limit.is_zero() {
                        break;
                    }
                    report.solves += 1;
                    if let (_, Some(values)) = component.solve(&objective, direction, limit, false)
                    {
                        witness(&values, &mut seen);
                    }
                }
                let left = comp_targets
                    .iter()
                    .filter(|&&t| !pinned.contains(&t) && !proven(t, &seen))
                    .count();
                if left * 10 > undecided.len() * 9 {
                    break;
                }
            }
            // Then each target still undecided on its own; then those propagation pinned, for
            // their exact interval, while time remains.
            let mut order: Vec<usize> = comp_targets
                .iter()
                .copied()
                .filter(|t| !pinned.contains(t))
                .collect();
            order.extend(comp_targets.iter().copied().filter(|t| pinned.contains(t)));
            for t in order {
                let k = model.vars[t].k;
                let refining = pinned.contains(&t);
                if !refining && proven(t, &seen) {
                    if first_pass {
                        let (lo, hi) = seen[position[&t]];
                        tables_allow.insert(t, (lo.ceil() as u64, Some(hi.floor() as u64)));
                    }
                    continue;
                }
                let mut ends = [None, None];
                let mut points: [Option<Vec<f64>>; 2] = [None, None];
                let mut failure = None;
                for (e, direction) in [
                    OptimizationDirection::Minimize,
                    OptimizationDirection::Maximize,
                ]
                .into_iter()
                .enumerate()
                {
                    let limit = remaining().min(options.per_solve);
                    if limit.is_zero() {
                        failure = Some("attack time budget spent".to_string());
                        break;
                    }
                    report.solves += 1;
                    let (result, values) = component.solve(&[(t, 1.0)], direction, limit, false);
                    if let Some(values) = &values {
                        witness(values, &mut seen);
                    }
                    points[e] = values;
                    match result {
                        SolveResult::Value(x) => ends[e] = Some(Some(x)),
                        SolveResult::Unbounded => ends[e] = Some(None),
                        SolveResult::Failed(why) => {
                            failure = Some(why);
                            break;
                        }
                    }
                }
                let (Some(Some(min)), Some(max)) = (ends[0], ends[1]) else {
                    if !refining {
                        unsolved.push((
                            t,
                            format!(
                                "{} ({label}, component of {} unknowns): {}",
                                describe(&model, releases, t),
                                component.vars.len(),
                                failure.unwrap_or_else(|| "no lower bound".into())
                            ),
                        ));
                    }
                    continue;
                };
                let mut interval = Interval {
                    min: (min - 1e-6).ceil().max(0.0) as u64,
                    max: max.map(|m| (m + 1e-6).floor().max(0.0) as u64),
                };
                if first_pass {
                    tables_allow.insert(t, (interval.min, interval.max));
                }
                let mut how = label.to_string();
                // The relaxation looks safe but its optimum is fractional somewhere: the
                // integer attacker may do better. Solve the integer program for that end
                // (time-limited; a bound counts only when proven optimal).
                let width = interval.max.map_or(u64::MAX, |m| m - interval.min);
                if width >= k && component.vars.len() <= ILP_MAX_VARS {
                    for (e, direction) in [
                        OptimizationDirection::Minimize,
                        OptimizationDirection::Maximize,
                    ]
                    .into_iter()
                    .enumerate()
                    {
                        let fractional = points[e]
                            .as_ref()
                            .is_some_and(|p| p.iter().any(|x| (x - x.round()).abs() > 1e-6));
                        if !fractional || (e == 1 && interval.max.is_none()) {
                            continue;
                        }
                        let limit = remaining().min(ILP_PER_SOLVE);
                        if limit.is_zero() {
                            break;
                        }
                        report.solves += 1;
                        match component.solve(&[(t, 1.0)], direction, limit, true) {
                            (SolveResult::Value(x), _) => {
                                let x = x.round().max(0.0) as u64;
                                if e == 0 {
                                    interval.min = interval.min.max(x);
                                } else {
                                    interval.max = interval.max.map(|m| m.min(x));
                                }
                                how = format!("{label}, integer");
                            }
                            _ => report.ilp_unproven += 1,
                        }
                    }
                }
                record(&mut best, t, interval, &how);
            }
        }
    }
    // The public report against what the tables allow; and what the report alone discloses.
    for (&t, &(rlo, rhi)) in &report_bounds {
        if let Some(&(min, max)) = tables_allow.get(&t) {
            let narrower = rlo.is_some_and(|l| l > min)
                || match (rhi, max) {
                    (Some(h), Some(m)) => h < m,
                    (Some(_), None) => true,
                    _ => false,
                };
            if narrower {
                report.file_problems.push(format!(
                    "disclosure report: {} reported in [{}, {}], narrower than the tables allow (at least [{min}, {}])",
                    describe(&model, releases, t),
                    rlo.map_or("?".into(), |v| v.to_string()),
                    rhi.map_or("unbounded".into(), |v| v.to_string()),
                    max.map_or("unbounded".into(), |v| v.to_string()),
                ));
            }
        }
        let combined = match best.get(&t) {
            Some((i, _)) => Interval {
                min: i.min.max(rlo.unwrap_or(0)),
                max: match (i.max, rhi) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                },
            },
            None => Interval {
                min: rlo.unwrap_or(0),
                max: rhi,
            },
        };
        // Only where the report adds to what the tables give.
        let width = |i: &Interval| i.max.map_or(u64::MAX, |m| m.saturating_sub(i.min));
        if best
            .get(&t)
            .is_none_or(|(i, _)| width(&combined) < width(i))
        {
            best.insert(t, (combined, "report".to_string()));
        }
    }
    // A cell left undecided under some assumptions is unsolved unless another attack
    // already recovered it.
    let found = |t: usize| {
        best.get(&t).is_some_and(|(i, _)| {
            let var = &model.vars[t];
            i.max
                .is_some_and(|m| var.cells.iter().any(|c| m - i.min < c.k))
        })
    };
    for (t, why) in unsolved {
        if !found(t) {
            report.unsolved.push(why);
        }
    }
    for (t, (interval, label)) in best {
        let var = &model.vars[t];
        let truth = var.truth.unwrap_or(0);
        let Some(max) = interval.max else { continue };
        for cell in &var.cells {
            if truth < 1 || truth >= cell.k || max - interval.min >= cell.k {
                continue;
            }
            if truth < interval.min || truth > max {
                report.model_errors.push(format!(
                    "UNSOUND: {} true {truth} outside [{}, {max}]",
                    describe(&model, releases, t),
                    interval.min
                ));
                continue;
            }
            report.findings.push(Finding {
                release: releases[model.keys[t].0].name.clone(),
                table: cell.table.clone(),
                count: cell.count.clone(),
                coords: cell.coords.clone(),
                truth,
                k: cell.k,
                min: interval.min,
                max,
                attack: label.clone(),
            });
        }
    }
}

/// Keeps the narrowest interval found for a target.
fn record(
    best: &mut BTreeMap<usize, (Interval, String)>,
    t: usize,
    interval: Interval,
    label: &str,
) {
    let width = |i: &Interval| i.max.map_or(u64::MAX, |m| m.saturating_sub(i.min));
    match best.get(&t) {
        // An LP's interval as narrow as propagation's replaces it (the label says how).
        Some((old, how))
            if width(old) < width(&interval)
                || (width(old) == width(&interval) && !how.ends_with("propagation")) => {}
        _ => {
            best.insert(t, (interval, label.to_string()));
        }
    }
}

fn describe(model: &Model, releases: &[PublishedRelease], v: usize) -> String {
    let (r, measure, id) = &model.keys[v];
    let var = &model.vars[v];
    let tables: BTreeSet<&str> = var.cells.iter().map(|c| c.table.as_str()).collect();
    format!(
        "{} {measure}{id:?} (true {}, in {})",
        releases[*r].name,
        var.truth.map_or("?".into(), |t| t.to_string()),
        tables.into_iter().collect::<Vec<_>>().join(";")
    )
}

/// Maps the public report's per-cell intervals onto the model's quantities.
fn report_bounds(
    model: &Model,
    releases: &[PublishedRelease],
    report: &mut AttackReport,
) -> HashMap<usize, (Option<u64>, Option<u64>)> {
    let index: HashMap<(usize, &str, &Identity), usize> = model
        .keys
        .iter()
        .enumerate()
        .map(|(i, (r, m, id))| ((*r, m.as_str(), id), i))
        .collect();
    let mut out = HashMap::new();
    for (r, release) in releases.iter().enumerate() {
        let dims: BTreeSet<&str> = release
            .tables
            .iter()
            .flat_map(|t| t.spec.dimensions.iter().map(String::as_str))
            .collect();
        let mut unmapped = 0;
        for row in &release.report {
            let Some((measure, id)) = parse_identity(&row.quantity, &dims) else {
                unmapped += 1;
                continue;
            };
            match index.get(&(r, measure.as_str(), &id)) {
                Some(&v) => {
                    out.insert(v, (row.low, row.high));
                }
                None => unmapped += 1,
            }
        }
        if !release.report.is_empty() {
            report.file_problems.push(format!(
                "{}: the public disclosure report prints an interval (low/high) for {} withheld quantities{}",
                release.name,
                release.report.len(),
                if unmapped > 0 {
                    format!(" ({unmapped} not mapped to a published cell)")
                } else {
                    String::new()
                }
            ));
        }
    }
    out
}

/// `measure.count[dim=code,dim=code]` -> (measure, identity), dimension names normalised.
fn parse_identity(s: &str, dims: &BTreeSet<&str>) -> Option<(String, Vec<(String, String)>)> {
    let (measure, rest) = s.split_once('[')?;
    let rest = rest.strip_suffix(']')?;
    let mut id: Vec<(String, String)> = Vec::new();
    if !rest.is_empty() {
        // Split on "," only where a known dimension name and "=" follow (codes may hold commas).
        let mut parts: Vec<String> = Vec::new();
        for piece in rest.split(',') {
            let starts_dim = piece.split_once('=').is_some_and(|(d, _)| dims.contains(d));
            match parts.last_mut() {
                Some(last) if !starts_dim => {
                    last.push(',');
                    last.push_str(piece);
                }
                _ => parts.push(piece.to_string()),
            }
        }
        for part in parts {
            let (d, c) = part.split_once('=')?;
            id.push((normalise_dim(d).to_string(), c.to_string()));
        }
    }
    id.sort();
    Some((measure.to_string(), id))
}

// ---------------------------------------------------------------------------------------------
// The published files themselves
// ---------------------------------------------------------------------------------------------

/// Every table's Parquet against its CSV: the same figures, NULL exactly where the CSV
/// says `[c]`, and no column statistics (min/max) beyond the published figures.
fn check_parquet(release: &PublishedRelease, problems: &mut Vec<String>) {
    for table in &release.tables {
        let path = release
            .dir
            .join("tables")
            .join(format!("{}.parquet", table.spec.name));
        if !path.exists() {
            continue;
        }
        let rows = match read_parquet_counts(&path, &table.spec) {
            Ok(rows) => rows,
            Err(e) => {
                problems.push(format!("{}: {e}", path.display()));
                continue;
            }
        };
        let csv: HashMap<&[String], &[Option<u64>]> = table
            .rows
            .iter()
            .map(|r| (r.coords.as_slice(), r.values.as_slice()))
            .collect();
        let mut differing = 0;
        for (coords, values) in &rows {
            if csv.get(coords.as_slice()) != Some(&values.as_slice()) {
                differing += 1;
            }
        }
        if differing > 0 || rows.len() != table.rows.len() {
            problems.push(format!(
                "{}: {differing} of {} rows differ from the CSV ({} rows)",
                path.display(),
                rows.len(),
                table.rows.len()
            ));
        }
        let Ok(file) = fs::File::open(&path) else {
            continue;
        };
        let Ok(builder) = ParquetRecordBatchReaderBuilder::try_new(file) else {
            continue;
        };
        for (c, count) in table.spec.counts.iter().enumerate() {
            let published: Vec<i64> = table
                .rows
                .iter()
                .filter_map(|r| r.values[c].map(|v| v as i64))
                .collect();
            let (lo, hi) = (
                published.iter().min().copied(),
                published.iter().max().copied(),
            );
            for group in builder.metadata().row_groups() {
                for column in group.columns() {
                    if column.column_path().string() != *count {
                        continue;
                    }
                    if let Some(Statistics::Int64(stats)) = column.statistics() {
                        let outside = |v: Option<&i64>| {
                            v.is_some_and(|v| {
                                lo.is_none_or(|lo| *v < lo) || hi.is_none_or(|hi| *v > hi)
                            })
                        };
                        if outside(stats.min_opt()) || outside(stats.max_opt()) {
                            problems.push(format!(
                                "{}: statistics of {count} ({:?}..{:?}) go beyond the published figures",
                                path.display(),
                                stats.min_opt(),
                                stats.max_opt()
                            ));
                        }
                    }
                }
            }
        }
    }
}

/// Every file of a release: no 64-hex-character token outside the manifest's checksum
/// fields (a person or offence token is HMAC-SHA256 hex).
fn check_files(release: &PublishedRelease, problems: &mut Vec<String>) {
    let mut allowed: BTreeSet<String> = BTreeSet::new();
    if let Ok(bytes) = fs::read(release.dir.join("manifest.json"))
        && let Ok(v) = serde_json::from_slice::<Value>(&bytes)
    {
        collect_checksums(&v, &mut allowed);
    }
    let mut stack = vec![release.dir.clone()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let Ok(bytes) = fs::read(&path) else {
                problems.push(format!("{}: unreadable", path.display()));
                continue;
            };
            let is_manifest = path.file_name().is_some_and(|n| n == "manifest.json");
            let tokens: BTreeSet<String> = hex_tokens(&bytes)
                .into_iter()
                .filter(|t| !(is_manifest && allowed.contains(t)))
                .collect();
            if !tokens.is_empty() {
                problems.push(format!(
                    "{}: {} 64-hex-character token(s), e.g. {}",
                    path.display(),
                    tokens.len(),
                    tokens.iter().next().unwrap()
                ));
            }
        }
    }
}

fn collect_checksums(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(o) => {
            for (k, v) in o {
                if k.ends_with("sha256")
                    && let Some(s) = v.as_str()
                {
                    out.insert(s.to_ascii_lowercase());
                }
                collect_checksums(v, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| collect_checksums(v, out)),
        _ => {}
    }
}

/// Maximal runs of exactly 64 hexadecimal characters.
pub fn hex_tokens(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, b) in bytes.iter().chain(std::iter::once(&b' ')).enumerate() {
        if b.is_ascii_hexdigit() {
            start.get_or_insert(i);
        } else if let Some(s) = start.take()
            && i - s == 64
        {
            out.push(String::from_utf8_lossy(&bytes[s..i]).to_ascii_lowercase());
        }
    }
    out
}

/// Widens each variable's witnessed range by one feasible point.
fn witness(values: &[f64], seen: &mut [(f64, f64)]) {
    for (s, &x) in seen.iter_mut().zip(values) {
        s.0 = s.0.min(x);
        s.1 = s.1.max(x);
    }
}
