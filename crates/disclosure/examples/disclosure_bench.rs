//! Benchmark: protect and audit a ~100k-cell three-dimensional hierarchical
//! table (LSOA → ward → district → Total × month → quarter → year × age band
//! → all ages), with random skewed counts.
//!
//! `cargo run --release -p svna-disclosure --example disclosure_bench [lsoas] [seed] [scale] [exact]`

use std::time::Instant;

use svna_disclosure::*;

/// SplitMix64: deterministic, dependency-free.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn poisson(&mut self, lambda: f64) -> u64 {
        // Inversion; fine for the small means used here.
        let l = (-lambda).exp();
        let (mut k, mut p) = (0u64, 1.0);
        loop {
            p *= self.unit();
            if p <= l {
                return k;
            }
            k += 1;
        }
    }
}

fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n_lsoa: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(700);
    let seed: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(42);
    // Mean-count multiplier: 1 ≈ sparse (many leaf cells 0–4), 4 ≈ denser.
    let scale: f64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(4.0);
    let n_ward = n_lsoa / 10;
    let mut rng = Rng(seed);

    // Geography: LSOA → ward → district → Total.
    let mut geo = Vec::new();
    for w in 0..n_ward {
        geo.push((format!("W{w:03}"), format!("D{}", w % 7)));
    }
    for d in 0..7 {
        geo.push((format!("D{d}"), "Total".to_string()));
    }
    for l in 0..n_lsoa {
        geo.push((format!("L{l:04}"), format!("W{:03}", l % n_ward)));
    }
    // Time: month → quarter → year.
    let mut time = Vec::new();
    for m in 1..=12 {
        time.push((format!("2024-{m:02}"), format!("Q{}", (m - 1) / 3 + 1)));
    }
    for q in 1..=4 {
        time.push((format!("Q{q}"), "2024".to_string()));
    }
    let ages = ["0-9", "10-14", "15-17", "18-24", "25-34", "35-49", "50+"];
    let age_h = Hierarchy::flat("All", ages);

    // Skewed leaf counts: lognormal-ish LSOA intensity × season × age profile.
    let age_w = [0.1, 0.6, 1.4, 2.0, 1.3, 0.8, 0.3];
    let lsoa_w: Vec<f64> = (0..n_lsoa)
        .map(|_| (2.2 * (rng.unit() - 0.5) + 0.6).exp())
        .collect();
    let mut leaf = std::collections::BTreeMap::new();
    for (l, lw) in lsoa_w.iter().enumerate() {
        for m in 1..=12 {
            let season = 1.0 + 0.3 * ((m as f64) / 12.0 * std::f64::consts::TAU).sin();
            for (a, aw) in age_w.iter().enumerate() {
                leaf.insert((l, m, a), rng.poisson(scale * lw * season * aw));
            }
        }
    }
    // Build all cells with margins by aggregation over the code lists.
    let t0 = Instant::now();
    let geo_h = Hierarchy::new("Total", geo.clone());
    let time_h = Hierarchy::new("2024", time.clone());
    let leaves_under = |h: &Hierarchy, code: &str, leaf: &str| {
        let mut cur = Some(leaf);
        while let Some(c) = cur {
            if c == code {
                return true;
            }
            cur = h.parent(c);
        }
        false
    };
    let geo_codes: Vec<String> = std::iter::once("Total".to_string())
        .chain(geo.iter().map(|(c, _)| c.clone()))
        .collect();
    let time_codes: Vec<String> = std::iter::once("2024".to_string())
        .chain(time.iter().map(|(c, _)| c.clone()))
        .collect();
    let age_codes: Vec<String> = std::iter::once("All".to_string())
        .chain(ages.iter().map(|s| s.to_string()))
        .collect();
    // Per code: list of leaf indices beneath it.
    let geo_leaves: Vec<Vec<usize>> = geo_codes
        .iter()
        .map(|c| {
            (0..n_lsoa)
                .filter(|&l| leaves_under(&geo_h, c, &format!("L{l:04}")))
                .collect()
        })
        .collect();
    let time_leaves: Vec<Vec<usize>> = time_codes
        .iter()
        .map(|c| {
            (1..=12)
                .filter(|&m| leaves_under(&time_h, c, &format!("2024-{m:02}")))
                .collect()
        })
        .collect();
    let age_leaves: Vec<Vec<usize>> = age_codes
        .iter()
        .map(|c| (0..7).filter(|&a| c == "All" || ages[a] == c).collect())
        .collect();
    // Aggregate in stages (age, then time, then geography) to stay fast.
    let mut t = Table::new(
        "sv_by_lsoa_month_age",
        "sv_offences",
        vec![
            Dimension::new("geography", geo_h.clone()),
            Dimension::new("month", time_h.clone()),
            Dimension::new("age_band", age_h),
        ],
    );
    let mut lt = vec![vec![vec![0u64; age_codes.len()]; time_codes.len()]; n_lsoa];
    for l in 0..n_lsoa {
        for (ti, tl) in time_leaves.iter().enumerate() {
            for (ai, al) in age_leaves.iter().enumerate() {
                lt[l][ti][ai] = tl
                    .iter()
                    .flat_map(|&m| al.iter().map(move |&a| (m, a)))
                    .map(|(m, a)| leaf[&(l, m, a)])
                    .sum();
            }
        }
    }
    for (gi, gl) in geo_leaves.iter().enumerate() {
        for ti in 0..time_codes.len() {
            for ai in 0..age_codes.len() {
                let s: u64 = gl.iter().map(|&l| lt[l][ti][ai]).sum();
                t.insert_count(
                    [
                        geo_codes[gi].as_str(),
                        time_codes[ti].as_str(),
                        age_codes[ai].as_str(),
                    ],
                    s,
                )?;
            }
        }
    }
    let build = t0.elapsed();
    let cells = t.len();
    let release = Release::new(vec![t]);
    let mut opts = ProtectOptions::new(Policy::threshold(5));
    if args.get(4).map(String::as_str) == Some("exact") {
        opts.method = Method::Exact;
    }

    let t1 = Instant::now();
    let p = protect(&release, &opts)?;
    let protect_time = t1.elapsed();
    let a = &p.audit;
    let failing_primary = a
        .cells
        .iter()
        .filter(|c| c.class == ValueClass::Primary && !c.pass)
        .count();
    println!("cells:                 {cells}");
    println!("table build:           {:.2?}", build);
    println!("method / audit:        {:?}", a.method);
    println!("primary suppressions:  {}", a.primary);
    println!("secondary suppressions:{}", a.secondary);
    println!("published:             {}", a.published);
    println!(
        "failing cells:         {} (primary: {failing_primary})",
        a.failing
    );
    let leaf_fail = a
        .cells
        .iter()
        .filter(|c| c.class == ValueClass::Primary && !c.pass)
        .filter(|c| {
            c.coords[0].starts_with('L') && c.coords[1].starts_with("2024-") && c.coords[2] != "All"
        })
        .count();
    println!("  of which leaf cells: {leaf_fail}");
    println!("audit pass:            {}", a.pass);
    let margins = a
        .cells
        .iter()
        .filter(|c| c.class == ValueClass::Secondary)
        .filter(|c| c.coords[0] == "Total" || c.coords[1] == "2024" || c.coords[2] == "All")
        .count();
    println!(
        "secondary on margins:  {margins} (grand total withheld: {})",
        p.outcome("sv_by_lsoa_month_age", &["Total", "2024", "All"])
            .is_some_and(|o| o.value().is_none())
    );
    println!("protect+audit time:    {:.2?}", protect_time);
    if let Some(k) = peak_rss_kib() {
        println!("peak RSS (VmHWM):      {:.1} MiB", k as f64 / 1024.0);
    }
    Ok(())
}
