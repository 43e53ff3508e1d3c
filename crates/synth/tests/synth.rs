//! The generator's promises: determinism, contract-valid rows, and the structure an SNA
//! relies on (knife share, ages, night-time concentration, hotspots, cohort overlap,
//! partner suppression, real geography).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use chrono::{Datelike, NaiveDate, Weekday};
use svna_synth::{DATASETS, Geography, SynthConfig, generate_to_memory, write_to_dir};

const LOOKUP: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/reference/lsoa11_ward19_lad19.csv"
);
const IMD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/reference/lsoa11_imd19_rank.csv"
);

/// A parsed CSV: header and records, with columns addressed by name.
struct Table {
    header: Vec<String>,
    rows: Vec<csv::StringRecord>,
}

impl Table {
    fn parse(bytes: &[u8]) -> Table {
        let mut r = csv::Reader::from_reader(bytes);
        let header = r.headers().unwrap().iter().map(str::to_string).collect();
        let rows = r.records().map(|x| x.unwrap()).collect();
        Table { header, rows }
    }

    fn col(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    }

    fn values<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> + 'a {
        let c = self.col(name);
        self.rows.iter().map(move |r| r.get(c).unwrap())
    }
}

fn config(seed: u64, scale: f64) -> SynthConfig {
    SynthConfig {
        seed,
        scale,
        ..SynthConfig::default()
    }
}

fn tables(cfg: &SynthConfig) -> BTreeMap<String, Table> {
    let (_, files) = generate_to_memory(cfg).unwrap();
    files
        .into_iter()
        .map(|(k, v)| (k, Table::parse(&v)))
        .collect()
}

/// Every row of every dataset parses against its contract with zero violations, and the
/// header is exactly the contract's column list.
fn assert_valid(files: &BTreeMap<String, Vec<u8>>) {
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    let mut expected = DATASETS.to_vec();
    expected.sort_unstable();
    assert_eq!(names, expected, "one file per dataset");
    for (name, bytes) in files {
        let dataset = svna_contracts::v1().dataset(name).unwrap();
        let t = Table::parse(bytes);
        assert_eq!(t.header, dataset.column_names(), "{name} header");
        assert!(!t.rows.is_empty(), "{name} is empty");
        let map = dataset.map_header(&t.header).unwrap();
        let mut values = Vec::new();
        for (i, r) in t.rows.iter().enumerate() {
            assert_eq!(r.len(), map.field_count(), "{name} row {i} field count");
            let v = dataset.parse_record(&map, |j| r.get(j), &mut values);
            assert!(v.is_empty(), "{name} row {i}: {v:?}");
        }
    }
}

#[test]
fn same_seed_same_bytes_different_seed_different_bytes() {
    let (_, a) = generate_to_memory(&config(7, 0.01)).unwrap();
    let (_, b) = generate_to_memory(&config(7, 0.01)).unwrap();
    assert_eq!(a, b);
    let (_, c) = generate_to_memory(&config(8, 0.01)).unwrap();
    for name in DATASETS {
        assert_ne!(a[name], c[name], "{name} does not depend on the seed");
    }
}

#[test]
fn every_row_satisfies_its_contract_invented_geography() {
    let (summary, files) = generate_to_memory(&config(11, 0.02)).unwrap();
    assert_valid(&files);
    for (name, rows) in &summary.rows {
        assert_eq!(
            *rows as usize,
            Table::parse(&files[name]).rows.len(),
            "{name} summary"
        );
    }
}

#[test]
fn offence_ids_are_unique_and_persons_reference_them() {
    let t = tables(&config(12, 0.02));
    let ids: HashSet<&str> = t["police_offences"].values("offence_id").collect();
    assert_eq!(ids.len(), t["police_offences"].rows.len());
    assert!(
        t["police_persons"]
            .values("offence_id")
            .all(|id| ids.contains(id))
    );
    let persons: HashSet<&str> = t["police_persons"].values("person_id").collect();
    assert!(
        ids.is_disjoint(&persons),
        "offence and person tokens share a domain"
    );
    let no_lsoa = t["police_offences"]
        .values("lsoa_code")
        .filter(|v| v.is_empty())
        .count();
    let share = no_lsoa as f64 / ids.len() as f64;
    assert!((0.02..0.09).contains(&share), "no-LSOA share {share}");
    let off = &t["police_offences"];
    let (rd, od) = (off.col("recorded_date"), off.col("offence_date"));
    for r in &off.rows {
        let lag = date(r.get(rd).unwrap()) - date(r.get(od).unwrap());
        assert!((0..=30).contains(&lag.num_days()));
    }
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

const SV: [&str; 15] = [
    "1", "4/1", "4/2", "4/10", "2", "5D", "5E", "8N", "8P", "3B", "34A", "34B", "10A", "10C", "10D",
];

#[test]
fn knife_share_of_serious_violence_is_five_to_ten_percent() {
    let t = tables(&config(13, 0.05));
    let off = &t["police_offences"];
    let (code, knife) = (off.col("ho_code"), off.col("knife_flag"));
    let sv: Vec<_> = off
        .rows
        .iter()
        .filter(|r| SV.contains(&r.get(code).unwrap()))
        .collect();
    let knives = sv.iter().filter(|r| r.get(knife) == Some("true")).count();
    let share = knives as f64 / sv.len() as f64;
    assert!((0.05..=0.10).contains(&share), "knife share {share}");
    assert!(
        sv.len() * 2 < off.rows.len(),
        "SV should be a minority of all offences"
    );
}

#[test]
fn most_victims_and_suspects_are_aged_15_to_34() {
    let t = tables(&config(14, 0.05));
    let p = &t["police_persons"];
    let (role, age) = (p.col("role"), p.col("age"));
    for wanted in ["victim", "suspect"] {
        let ages: Vec<&str> = p
            .rows
            .iter()
            .filter(|r| r.get(role) == Some(wanted))
            .map(|r| r.get(age).unwrap())
            .collect();
        let young = ages
            .iter()
            .filter(|a| a.parse::<u32>().is_ok_and(|a| (15..=34).contains(&a)))
            .count();
        assert!(
            young * 2 > ages.len(),
            "{wanted}: {young} of {}",
            ages.len()
        );
    }
    let null = p.values("age").filter(|a| a.is_empty()).count() as f64 / p.rows.len() as f64;
    assert!((0.01..0.06).contains(&null), "null age share {null}");
    let suspects_m = p
        .rows
        .iter()
        .filter(|r| r.get(role) != Some("victim"))
        .filter(|r| r.get(p.col("sex")) == Some("M"))
        .count();
    let suspects = p
        .rows
        .iter()
        .filter(|r| r.get(role) != Some("victim"))
        .count();
    assert!(suspects_m as f64 > 0.7 * suspects as f64);
}

#[test]
fn violence_concentrates_in_weekend_nights_and_hotspots() {
    let t = tables(&config(15, 0.05));
    let off = &t["police_offences"];
    let (code, day, hour, lsoa) = (
        off.col("ho_code"),
        off.col("offence_date"),
        off.col("offence_hour"),
        off.col("lsoa_code"),
    );
    let sv: Vec<_> = off
        .rows
        .iter()
        .filter(|r| SV.contains(&r.get(code).unwrap()))
        .collect();
    let night_or_weekend = |r: &&csv::StringRecord| {
        let wd = date(r.get(day).unwrap()).weekday();
        let h: Option<u32> = r.get(hour).unwrap().parse().ok();
        matches!(wd, Weekday::Fri | Weekday::Sat | Weekday::Sun)
            || h.is_some_and(|h| !(2..18).contains(&h))
    };
    let share = sv.iter().filter(|r| night_or_weekend(r)).count() as f64 / sv.len() as f64;
    let uniform = 3.0 / 7.0 + 4.0 / 7.0 * 8.0 / 24.0;
    assert!(
        share > uniform + 0.05,
        "night/weekend share {share} vs uniform {uniform}"
    );

    let mut per_lsoa: HashMap<&str, usize> = HashMap::new();
    for r in &sv {
        let l = r.get(lsoa).unwrap();
        if !l.is_empty() {
            *per_lsoa.entry(l).or_default() += 1;
        }
    }
    let n_lsoas = t["lsoa_lookup"].rows.len();
    let mut counts: Vec<usize> = per_lsoa.values().copied().collect();
    counts.sort_unstable_by(|a, b| b.cmp(a));
    let top: usize = counts.iter().take(n_lsoas / 20).sum();
    let located: usize = counts.iter().sum();
    let share = top as f64 / located as f64;
    assert!(share > 0.2, "top 5% of LSOAs carry {share}");
}

/// The same tokens recur across police, youth justice and schools, and a person's age is
/// consistent with one birth date wherever they appear.
#[test]
fn cohort_overlaps_across_agencies_with_consistent_ages() {
    let t = tables(&config(16, 0.05));
    let police: HashSet<&str> = t["police_persons"].values("person_id").collect();
    let yj: HashSet<&str> = t["youth_justice"].values("person_id").collect();
    let school: HashSet<&str> = t["school_suspensions"].values("person_id").collect();
    let probation: HashSet<&str> = t["probation"].values("person_id").collect();
    let all3 = police
        .iter()
        .filter(|p| yj.contains(*p) && school.contains(*p))
        .count();
    assert!(
        all3 >= 5,
        "only {all3} persons in police, youth justice and schools"
    );
    assert!(police.intersection(&probation).count() > 0);
    assert!(
        yj.intersection(&probation).count() > 0 || yj.len() < 50,
        "no youth-to-adult overlap"
    );

    // Repeats: some persons have 3+ police offences.
    let mut per_person: HashMap<&str, usize> = HashMap::new();
    for p in t["police_persons"].values("person_id") {
        *per_person.entry(p).or_default() += 1;
    }
    assert!(per_person.values().filter(|n| **n >= 3).count() > 10);

    // Age consistency: each (date, age) bounds the birth date; the bounds must intersect.
    let offence_date: HashMap<&str, NaiveDate> = {
        let o = &t["police_offences"];
        let (id, d) = (o.col("offence_id"), o.col("offence_date"));
        o.rows
            .iter()
            .map(|r| (r.get(id).unwrap(), date(r.get(d).unwrap())))
            .collect()
    };
    let mut bounds: HashMap<String, (i64, i64)> = HashMap::new();
    let mut observe = |person: &str, on: NaiveDate, age: &str| {
        let Ok(age) = age.parse::<i32>() else { return };
        let latest = years_before(on, age).num_days_from_ce() as i64;
        let earliest = years_before(on, age + 1).num_days_from_ce() as i64 + 1;
        let b = bounds
            .entry(person.to_string())
            .or_insert((i64::MIN, i64::MAX));
        b.0 = b.0.max(earliest - 1);
        b.1 = b.1.min(latest + 1);
        assert!(b.0 <= b.1, "inconsistent ages for a person");
    };
    let p = &t["police_persons"];
    for r in &p.rows {
        observe(
            r.get(p.col("person_id")).unwrap(),
            offence_date[r.get(p.col("offence_id")).unwrap()],
            r.get(p.col("age")).unwrap(),
        );
    }
    for (name, date_col) in [
        ("youth_justice", "event_date"),
        ("school_suspensions", "event_date"),
        ("probation", "start_date"),
    ] {
        let d = &t[name];
        for r in &d.rows {
            observe(
                r.get(d.col("person_id")).unwrap(),
                date(r.get(d.col(date_col)).unwrap()),
                r.get(d.col("age")).unwrap(),
            );
        }
    }
}

/// The same calendar day `n` years earlier (29 February falls back to the 28th).
fn years_before(on: NaiveDate, n: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(on.year() - n, on.month(), on.day())
        .or_else(|| NaiveDate::from_ymd_opt(on.year() - n, on.month(), on.day() - 1))
        .unwrap()
}

#[test]
fn partner_suppressed_cells_are_empty() {
    let t = tables(&config(17, 0.05));
    for (name, count) in [
        ("hospital_admissions_agg", "admissions"),
        ("social_care_factors_agg", "assessments"),
    ] {
        let a = &t[name];
        let (c, f) = (a.col(count), a.col("suppressed"));
        let mut suppressed = 0;
        for r in &a.rows {
            match r.get(f).unwrap() {
                "true" => {
                    suppressed += 1;
                    assert_eq!(r.get(c), Some(""), "{name}: suppressed cell has a count");
                }
                _ => {
                    let n: u64 = r
                        .get(c)
                        .unwrap()
                        .parse()
                        .expect("unsuppressed cell has a count");
                    assert!(n == 0 || n > 7, "{name}: small count {n} not suppressed");
                }
            }
        }
        assert!(suppressed > 0, "{name}: nothing suppressed");
    }
}

#[test]
fn ed_records_have_plausible_times() {
    let t = tables(&config(18, 0.05));
    let ed = &t["ed_assaults"];
    let (arr, ass) = (ed.col("arrival_datetime"), ed.col("assault_datetime"));
    let ts = |s: &str| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").unwrap();
    let mut empty = 0;
    let mut crosses_midnight = 0;
    for r in &ed.rows {
        let a = ts(r.get(arr).unwrap());
        match r.get(ass).unwrap() {
            "" => empty += 1,
            s => {
                let s = ts(s);
                assert!(s <= a && a - s <= chrono::Duration::hours(31));
                crosses_midnight += usize::from(s.date() != a.date());
            }
        }
    }
    assert!(empty > 0 && crosses_midnight > 0);
    let knife = ed
        .values("assault_method")
        .filter(|m| *m == "knife_or_sharp")
        .count() as f64
        / ed.rows.len() as f64;
    assert!((0.04..=0.10).contains(&knife), "ED knife share {knife}");
}

#[test]
fn write_to_dir_writes_whole_files_only() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(19, 0.01);
    let summary = write_to_dir(&cfg, dir.path(), &mut |_, _| {}).unwrap();
    let (mem_summary, files) = generate_to_memory(&cfg).unwrap();
    assert_eq!(summary, mem_summary);
    for name in DATASETS {
        let on_disk = std::fs::read(dir.path().join(format!("{name}.csv"))).unwrap();
        assert_eq!(on_disk, files[name], "{name}");
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn bad_configuration_is_refused() {
    for scale in [0.0, -1.0, f64::NAN] {
        assert!(generate_to_memory(&config(1, scale)).is_err());
    }
    let missing = SynthConfig {
        geography: Geography::lincolnshire(PathBuf::from("/nonexistent/lookup.csv"), None),
        ..config(1, 0.01)
    };
    assert!(generate_to_memory(&missing).is_err());
}

fn real_files_present() -> bool {
    let ok = std::path::Path::new(LOOKUP).exists() && std::path::Path::new(IMD).exists();
    if !ok {
        eprintln!("note: {LOOKUP} or {IMD} absent; real-geography test skipped");
    }
    ok
}

#[test]
fn real_geography_uses_only_the_given_districts() {
    if !real_files_present() {
        return;
    }
    let lads: Vec<String> = svna_synth::LINCOLNSHIRE_LADS
        .iter()
        .map(|s| s.to_string())
        .collect();
    let cfg = SynthConfig {
        geography: Geography::Real {
            lookup: LOOKUP.into(),
            imd: Some(IMD.into()),
            lad_codes: lads.clone(),
        },
        ..config(20, 0.02)
    };
    let (_, files) = generate_to_memory(&cfg).unwrap();
    assert_valid(&files);
    let t: BTreeMap<String, Table> = files
        .iter()
        .map(|(k, v)| (k.clone(), Table::parse(v)))
        .collect();

    // The LSOAs of those districts according to the real lookup itself.
    let real = Table::parse(&std::fs::read(LOOKUP).unwrap());
    let (lc, ld) = (real.col("LSOA11CD"), real.col("LAD19CD"));
    let allowed: HashSet<&str> = real
        .rows
        .iter()
        .filter(|r| lads.iter().any(|l| l == r.get(ld).unwrap()))
        .map(|r| r.get(lc).unwrap())
        .collect();
    assert_eq!(t["lsoa_lookup"].rows.len(), allowed.len());
    for (name, col) in [
        ("police_offences", "lsoa_code"),
        ("ed_assaults", "incident_lsoa"),
        ("youth_justice", "home_lsoa"),
        ("probation", "home_lsoa"),
        ("school_suspensions", "home_lsoa"),
        ("lsoa_lookup", "lsoa_code"),
        ("imd", "lsoa_code"),
        ("population", "lsoa_code"),
    ] {
        assert!(
            t[name]
                .values(col)
                .all(|v| v.is_empty() || allowed.contains(v)),
            "{name}.{col} outside the districts"
        );
    }
    for (name, col) in [
        ("hospital_admissions_agg", "lad_code"),
        ("social_care_factors_agg", "lad_code"),
        ("school_suspensions", "school_lad"),
    ] {
        assert!(
            t[name].values(col).all(|v| lads.iter().any(|l| l == v)),
            "{name}.{col}"
        );
    }
    // Real IMD ranks, not invented ones: compare with the file.
    let imd = Table::parse(&std::fs::read(IMD).unwrap());
    let real_rank: HashMap<&str, &str> = imd
        .rows
        .iter()
        .map(|r| {
            (
                r.get(imd.col("LSOA11CD")).unwrap(),
                r.get(imd.col("IMD19")).unwrap(),
            )
        })
        .collect();
    let ours = &t["imd"];
    for r in &ours.rows {
        assert_eq!(
            real_rank
                .get(r.get(ours.col("lsoa_code")).unwrap())
                .copied(),
            r.get(ours.col("imd_rank"))
        );
    }
}

/// Share of located offences in the busiest 5% of LSOAs.
fn hotspot_share(t: &BTreeMap<String, Table>) -> f64 {
    let off = &t["police_offences"];
    let lsoa = off.col("lsoa_code");
    let mut per_lsoa: HashMap<&str, usize> = HashMap::new();
    for r in &off.rows {
        let l = r.get(lsoa).unwrap();
        if !l.is_empty() {
            *per_lsoa.entry(l).or_default() += 1;
        }
    }
    let n_lsoas = t["lsoa_lookup"].rows.len();
    let mut counts: Vec<usize> = per_lsoa.values().copied().collect();
    counts.sort_unstable_by(|a, b| b.cmp(a));
    let top: usize = counts.iter().take(n_lsoas / 20).sum();
    top as f64 / counts.iter().sum::<usize>() as f64
}

/// The skewed profile (a dense city, sparse rural districts) crowds offences into the
/// hotspots and leaves more areas with none, the data disclosure control finds hardest.
#[test]
fn skew_crowds_violence_into_fewer_areas() {
    let even = tables(&config(15, 0.05));
    let skewed = tables(&SynthConfig {
        skew: 2.0,
        ..config(15, 0.05)
    });
    let (a, b) = (hotspot_share(&even), hotspot_share(&skewed));
    assert!(
        b > a + 0.1,
        "top 5% of LSOAs carry {a} by default, {b} skewed"
    );
    let bad = SynthConfig {
        skew: -1.0,
        ..config(15, 0.05)
    };
    assert!(generate_to_memory(&bad).is_err());
}
