//! Property tests on random small hierarchical tables.

use proptest::prelude::*;
use svna_disclosure::*;

/// A random complete table: `dims` dimensions; dimension 0 may have a
/// two-level hierarchy (groups of leaves); all margins present.
fn build(leaves: &[usize], grouped: bool, counts: &[u64]) -> Table {
    let mut dims = Vec::new();
    let mut codes: Vec<Vec<String>> = Vec::new();
    for (d, &n) in leaves.iter().enumerate() {
        let mut pairs: Vec<(String, String)> = Vec::new();
        let mut cs = vec!["T".to_string()];
        if d == 0 && grouped && n >= 4 {
            for g in 0..2 {
                pairs.push((format!("g{g}"), "T".into()));
                cs.push(format!("g{g}"));
            }
            for i in 0..n {
                pairs.push((format!("l{i}"), format!("g{}", i % 2)));
                cs.push(format!("l{i}"));
            }
        } else {
            for i in 0..n {
                pairs.push((format!("l{i}"), "T".into()));
                cs.push(format!("l{i}"));
            }
        }
        dims.push(Dimension::new(format!("d{d}"), Hierarchy::new("T", pairs)));
        codes.push(cs);
    }
    // Leaf values, then every cell = sum of leaves beneath it.
    let is_leaf = |c: &str| c.starts_with('l');
    let under = |d: usize, code: &str, leaf: &str| -> bool {
        code == "T"
            || code == leaf
            || (code.starts_with('g') && grouped && d == 0 && leaves[0] >= 4 && {
                let i: usize = leaf[1..].parse().unwrap();
                format!("g{}", i % 2) == code
            })
    };
    let leaf_codes: Vec<Vec<String>> = codes
        .iter()
        .map(|cs| cs.iter().filter(|c| is_leaf(c)).cloned().collect())
        .collect();
    let mut leaf_cells: Vec<(Vec<String>, u64)> = Vec::new();
    let mut idx = vec![0usize; leaves.len()];
    let mut k = 0;
    loop {
        let c: Vec<String> = idx
            .iter()
            .enumerate()
            .map(|(d, &i)| leaf_codes[d][i].clone())
            .collect();
        leaf_cells.push((c, counts[k % counts.len()]));
        k += 1;
        let mut d = leaves.len();
        loop {
            if d == 0 {
                break;
            }
            d -= 1;
            idx[d] += 1;
            if idx[d] < leaf_codes[d].len() {
                break;
            }
            idx[d] = 0;
        }
        if idx.iter().all(|&i| i == 0) {
            break;
        }
    }
    let mut t = Table::new("p", "n", dims);
    let mut idx = vec![0usize; leaves.len()];
    loop {
        let c: Vec<String> = idx
            .iter()
            .enumerate()
            .map(|(d, &i)| codes[d][i].clone())
            .collect();
        let s: u64 = leaf_cells
            .iter()
            .filter(|(l, _)| (0..leaves.len()).all(|d| under(d, &c[d], &l[d])))
            .map(|(_, x)| x)
            .sum();
        t.insert_count(c, s).unwrap();
        let mut d = leaves.len();
        loop {
            if d == 0 {
                break;
            }
            d -= 1;
            idx[d] += 1;
            if idx[d] < codes[d].len() {
                break;
            }
            idx[d] = 0;
        }
        if idx.iter().all(|&i| i == 0) {
            break;
        }
    }
    t
}

fn table_strategy() -> impl Strategy<Value = Table> {
    (
        prop::collection::vec(2usize..=4, 2..=3),
        any::<bool>(),
        prop::collection::vec(prop_oneof![0u64..4, 0u64..30], 8..40),
    )
        .prop_filter("keep small", |(l, _, _)| {
            l.iter().map(|n| n + 1).product::<usize>() <= 80
        })
        .prop_map(|(l, g, c)| build(&l, g, &c))
}

fn check(t: &Table, opts: &ProtectOptions) -> std::result::Result<(), TestCaseError> {
    let rel = Release::new(vec![t.clone()]);
    let p = protect(&rel, opts).unwrap();
    // 1. No withheld primary is exactly recoverable; requirement holds (exact audit).
    prop_assert!(
        p.audit.pass,
        "audit failed: {:?}",
        p.audit.cells.iter().filter(|c| !c.pass).collect::<Vec<_>>()
    );
    let lvl = p.audit.protection_level;
    for c in p
        .audit
        .cells
        .iter()
        .filter(|c| c.class == ValueClass::Primary)
    {
        let (lo, hi) = (c.low.unwrap(), c.high.unwrap_or(u64::MAX));
        prop_assert!(hi > lo && hi - lo >= lvl);
        let x = c.value.unwrap();
        prop_assert!(lo <= x && x <= hi);
    }
    // 2. Published figures are the true values (threshold policy) and every
    // published total equals the sum of its published and withheld parts.
    for (coords, v) in t.cells() {
        if let Some(CellOutcome::Published { value }) =
            p.outcome("p", &coords.iter().map(String::as_str).collect::<Vec<_>>())
        {
            prop_assert_eq!(Some(value), v.count());
        }
    }
    // 3. Deterministic.
    let again = protect(&rel, opts).unwrap();
    prop_assert_eq!(&p, &again);
    // 4. The pattern survives an independent exact re-audit.
    let withheld: Vec<CellRef> = p.withheld().into_iter().map(|(r, _)| r).collect();
    let re = audit(&rel, opts, &withheld).unwrap();
    prop_assert!(re.pass);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, .. ProptestConfig::default() })]

    #[test]
    fn exact_method_protects(t in table_strategy(), zeros in any::<bool>()) {
        let opts = ProtectOptions {
            method: Method::Exact,
            ..ProtectOptions::new(Policy::Threshold { k: 3, zeros_disclosive: zeros })
        };
        check(&t, &opts)?;
    }

    /// The hypercube method's certificate audit is a sound inner bound: an
    /// independent exact audit of its pattern must also pass.
    #[test]
    fn hypercube_method_protects(t in table_strategy()) {
        let opts = ProtectOptions {
            method: Method::Hypercube,
            ..ProtectOptions::new(Policy::threshold(3))
        };
        let rel = Release::new(vec![t.clone()]);
        let p = protect(&rel, &opts).unwrap();
        prop_assert_eq!(p.audit.method, AuditMethod::Certificate);
        prop_assert!(p.audit.pass, "hypercube left cells unprotected");
        {
            let withheld: Vec<CellRef> = p.withheld().into_iter().map(|(r, _)| r).collect();
            let re = audit(&rel, &opts, &withheld).unwrap();
            prop_assert!(re.pass, "exact audit disagrees with certificates");
            for c in p.audit.cells.iter().filter(|c| c.class != ValueClass::Published) {
                let e = re.cells.iter().find(|e| e.identity == c.identity).unwrap();
                prop_assert!(e.low <= c.low);
                prop_assert!(e.high.is_none() || (c.high.is_some() && e.high >= c.high), "exact {:?} vs certificate {:?}", e, c);
            }
        }
        let again = protect(&rel, &opts).unwrap();
        prop_assert_eq!(&p, &again);
    }
}
