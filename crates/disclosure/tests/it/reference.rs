//! Public reference cases from the issue, with exact assertions.

use svna_disclosure::*;

fn thr(k: u64, zeros_disclosive: bool) -> Policy {
    Policy::Threshold {
        k,
        zeros_disclosive,
    }
}

fn grid(name: &str, rows: &[&str], cols: &[&str], vals: &[&[u64]]) -> Table {
    let mut t = Table::new(
        name,
        "n",
        vec![
            Dimension::new("row", Hierarchy::flat("Total", rows.iter().copied())),
            Dimension::new("col", Hierarchy::flat("Total", cols.iter().copied())),
        ],
    );
    let mut ct = vec![0u64; cols.len()];
    for (r, row) in rows.iter().enumerate() {
        for (c, col) in cols.iter().enumerate() {
            t.insert_count([*row, *col], vals[r][c]).unwrap();
            ct[c] += vals[r][c];
        }
        t.insert_count([*row, "Total"], vals[r].iter().sum())
            .unwrap();
    }
    for (c, col) in cols.iter().enumerate() {
        t.insert_count(["Total", *col], ct[c]).unwrap();
    }
    t.insert_count(["Total", "Total"], ct.iter().sum()).unwrap();
    t
}

fn withheld_set(p: &Protection, class: ValueClass) -> Vec<Vec<String>> {
    p.withheld()
        .into_iter()
        .filter(|(_, c)| *c == class)
        .map(|(r, _)| r.coords)
        .collect()
}

fn v(xs: &[&str]) -> Vec<String> {
    xs.iter().map(|s| s.to_string()).collect()
}

/// Case 1: region × gender, only A-female primary; optimal pattern adds
/// A-male, C-male, C-female (cost 40); A-female ∈ [0,12].
#[test]
fn case1_region_gender() {
    let t = grid(
        "rg",
        &["A", "B", "C", "D"],
        &["male", "female"],
        &[&[18, 2], &[14, 19], &[12, 10], &[11, 14]],
    );
    let rel = Release::new(vec![t]);
    // "suppress counts ≤ 2": 0 is unsafe too, so the attacker's bound is 0.
    let opts = ProtectOptions::new(thr(3, true));
    let p = protect(&rel, &opts).unwrap();
    assert_eq!(
        withheld_set(&p, ValueClass::Primary),
        vec![v(&["A", "female"])]
    );
    assert_eq!(
        withheld_set(&p, ValueClass::Secondary),
        vec![v(&["A", "male"]), v(&["C", "female"]), v(&["C", "male"])]
    );
    let cost: u64 = p
        .audit
        .cells
        .iter()
        .filter(|c| c.class == ValueClass::Secondary)
        .map(|c| c.value.unwrap())
        .sum();
    assert_eq!(cost, 40);
    let a = p.audit.cell("rg", &["A", "female"]).unwrap();
    assert_eq!((a.low, a.high), (Some(0), Some(12)));
    assert!(p.audit.pass);
    assert_eq!(p.audit.method, AuditMethod::Exact);
    // Published figures untouched by a threshold policy.
    assert_eq!(
        p.outcome("rg", &["Total", "Total"]),
        Some(CellOutcome::Published { value: 100 })
    );

    // With zeros published the attacker also knows every withheld cell ≥ 1
    // (so C-female ≥ 1 and A-female ≤ 11).
    let p1 = protect(&rel, &ProtectOptions::new(thr(3, false))).unwrap();
    let a = p1.audit.cell("rg", &["A", "female"]).unwrap();
    assert_eq!((a.low, a.high), (Some(1), Some(11)));
    assert_eq!(withheld_set(&p1, ValueClass::Secondary).len(), 3);

    // Primary suppression alone fails the audit: A-female is exact.
    let rep = audit(&rel, &opts, &[]).unwrap();
    assert!(!rep.pass);
    let a = rep.cell("rg", &["A", "female"]).unwrap();
    assert_eq!((a.low, a.high), (Some(2), Some(2)));

    // Serializable.
    let json = serde_json::to_string(&p.audit).unwrap();
    let back: AuditReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back, p.audit);
    assert!(p.audit.to_csv().lines().count() == 1 + p.audit.cells.len());
}

/// Case 2: a given pattern leaves w|b exact; x|d is the cheapest repair,
/// giving w|b ∈ [0,78].
#[test]
fn case2_given_pattern_repaired() {
    let t = grid(
        "t4",
        &["w", "x", "y", "z"],
        &["a", "b", "c", "d"],
        &[
            &[30, 47, 64, 89],
            &[90, 124, 5, 31],
            &[92, 100, 59, 85],
            &[800, 991, 651, 685],
        ],
    );
    let rel = Release::new(vec![t]);
    let given = [
        ["w", "a"],
        ["w", "b"],
        ["w", "c"],
        ["x", "a"],
        ["x", "c"],
        ["y", "b"],
        ["y", "d"],
        ["z", "b"],
        ["z", "d"],
    ];
    let forced: Vec<CellRef> = given.iter().map(|c| CellRef::new("t4", *c)).collect();
    // No count is unsafe by value (k = 1); the given cells are forced primary;
    // requirement: not exactly recoverable (width ≥ 1); attacker bound 0.
    let opts = ProtectOptions {
        forced: forced.clone(),
        protection_level: Some(1),
        ..ProtectOptions::new(thr(1, true))
    };
    let before = audit(&rel, &opts, &[]).unwrap();
    let wb = before.cell("t4", &["w", "b"]).unwrap();
    assert_eq!((wb.low, wb.high), (Some(47), Some(47)));
    assert!(!before.pass);

    let p = protect(&rel, &opts).unwrap();
    assert_eq!(
        withheld_set(&p, ValueClass::Secondary),
        vec![v(&["x", "d"])]
    );
    let wb = p.audit.cell("t4", &["w", "b"]).unwrap();
    assert_eq!((wb.low, wb.high), (Some(0), Some(78)));
    assert!(p.audit.pass);
}

fn item_table(name: &str, groups: &[(&str, &[&str])], vals: &[(&str, u64)]) -> Table {
    let mut pairs = Vec::new();
    for (g, kids) in groups {
        pairs.push((g.to_string(), "T".to_string()));
        for k in *kids {
            pairs.push((k.to_string(), g.to_string()));
        }
    }
    let mut t = Table::new(
        name,
        "n",
        vec![Dimension::new("item", Hierarchy::new("T", pairs))],
    );
    let val = |c: &str| vals.iter().find(|(n, _)| *n == c).unwrap().1;
    let mut total = 0;
    for (g, kids) in groups {
        let s: u64 = kids.iter().map(|k| val(k)).sum();
        total += s;
        t.insert_count([*g], s).unwrap();
        for k in *kids {
            t.insert_count([*k], val(k)).unwrap();
        }
    }
    t.insert_count(["T"], total).unwrap();
    t
}

/// Case 3: two hierarchies over the same items. Each alone is safe; jointly
/// K = 3 is exact; joint protection withholds N in both.
#[test]
fn case3_linked_hierarchies() {
    let vals = [
        ("A", 2),
        ("B", 2),
        ("I", 8),
        ("J", 8),
        ("K", 3),
        ("L", 3),
        ("M", 3),
        ("N", 7),
    ];
    let h1 = item_table(
        "h1",
        &[("G1", &["A", "B", "I", "J"]), ("G2", &["K", "L", "M", "N"])],
        &vals,
    );
    let h2 = item_table(
        "h2",
        &[("G3", &["L", "M"]), ("G4", &["A", "B", "I", "J", "K", "N"])],
        &vals,
    );
    let opts = ProtectOptions::new(thr(4, true));

    for t in [&h1, &h2] {
        let alone = audit(&Release::new(vec![t.clone()]), &opts, &[]).unwrap();
        assert!(alone.pass, "{} alone should look safe", t.name);
    }
    let joint = Release::new(vec![h1, h2]);
    let rep = audit(&joint, &opts, &[]).unwrap();
    assert!(!rep.pass);
    let k = rep.cell("h1", &["K"]).unwrap();
    assert_eq!((k.low, k.high), (Some(3), Some(3)));
    assert_eq!(k.tables, vec!["h1".to_string(), "h2".to_string()]);

    let p = protect(&joint, &opts).unwrap();
    assert!(p.audit.pass);
    assert_eq!(
        p.outcome("h1", &["N"]),
        Some(CellOutcome::Withheld {
            class: ValueClass::Secondary
        })
    );
    assert_eq!(
        p.outcome("h2", &["N"]),
        Some(CellOutcome::Withheld {
            class: ValueClass::Secondary
        })
    );
    assert_eq!(p.audit.secondary, 1);
    let k = p.audit.cell("h1", &["K"]).unwrap();
    assert_eq!((k.low, k.high), (Some(0), Some(10)));
}

/// Case 4: 15 = 10 + 3 + 1 + 1, the 1s primary. Knowing withheld cells are
/// ≥ 1 (zeros published) makes them exact, so 3 must be withheld too.
#[test]
fn case4_nonempty_lower_bound() {
    let mk = || {
        let mut t = Table::new(
            "s",
            "n",
            vec![Dimension::new(
                "g",
                Hierarchy::flat("T", ["a", "b", "c", "d"]),
            )],
        );
        for (c, x) in [("a", 10), ("b", 3), ("c", 1), ("d", 1), ("T", 15)] {
            t.insert_count([c], x).unwrap();
        }
        Release::new(vec![t])
    };
    let opts = ProtectOptions {
        protection_level: Some(1),
        ..ProtectOptions::new(thr(2, false))
    };
    let before = audit(&mk(), &opts, &[]).unwrap();
    let c = before.cell("s", &["c"]).unwrap();
    assert_eq!((c.low, c.high), (Some(1), Some(1)));
    let p = protect(&mk(), &opts).unwrap();
    assert_eq!(withheld_set(&p, ValueClass::Secondary), vec![v(&["b"])]);
    let c = p.audit.cell("s", &["c"]).unwrap();
    assert_eq!((c.low, c.high), (Some(1), Some(3)));
    assert!(p.audit.pass);

    // Without the ≥ 1 knowledge (zeros also suppressed) the 1s are not exact.
    let opts0 = ProtectOptions {
        protection_level: Some(1),
        ..ProtectOptions::new(thr(2, true))
    };
    let p0 = protect(&mk(), &opts0).unwrap();
    assert_eq!(p0.audit.secondary, 0);
    let c = p0.audit.cell("s", &["c"]).unwrap();
    assert_eq!((c.low, c.high), (Some(0), Some(2)));
}

/// Case 5: rounding vectors through the full pipeline.
#[test]
fn case5_rounding_vectors() {
    let run = |policy: Policy, xs: &[u64]| -> Vec<String> {
        let mut t = Table::new(
            "r",
            "n",
            vec![Dimension::new(
                "i",
                Hierarchy::flat("T", (0..xs.len()).map(|i| format!("c{i:02}"))),
            )],
        );
        for (i, x) in xs.iter().enumerate() {
            t.insert_count([format!("c{i:02}")], *x).unwrap();
        }
        // No total row: the vector is tested cell by cell.
        let p = protect(&Release::new(vec![t]), &ProtectOptions::new(policy)).unwrap();
        p.tables[0]
            .cells
            .iter()
            .map(|(_, o)| o.value().map(|x| x.to_string()).unwrap_or("*".into()))
            .collect()
    };
    assert_eq!(
        run(
            Policy::NhsSmallNumbers,
            &[0, 3, 7, 8, 12, 13, 17, 18, 22, 23]
        ),
        ["0", "*", "*", "10", "10", "15", "15", "20", "20", "25"]
    );
    assert_eq!(
        run(Policy::Midpoint6, &[0, 1, 6, 7, 12, 13]),
        ["0", "3", "3", "9", "9", "15"]
    );
}

#[test]
fn conflicting_shared_cell_names_both_tables() {
    let mut a = Table::new(
        "A",
        "n",
        vec![Dimension::new("d", Hierarchy::flat("T", ["x"]))],
    );
    a.insert_count(["x"], 3).unwrap();
    let mut b = Table::new(
        "B",
        "n",
        vec![Dimension::new("d", Hierarchy::flat("All", ["x"]))],
    );
    b.insert_count(["x"], 4).unwrap();
    let err = protect(&Release::new(vec![a, b]), &ProtectOptions::default()).unwrap_err();
    match err {
        DisclosureError::ConflictingValues {
            table_a, table_b, ..
        } => {
            assert_eq!((table_a.as_str(), table_b.as_str()), ("A", "B"));
        }
        e => panic!("unexpected {e}"),
    }
}

#[test]
fn inconsistent_total_rejected() {
    let mut t = Table::new(
        "t",
        "n",
        vec![Dimension::new("d", Hierarchy::flat("T", ["x", "y"]))],
    );
    t.insert_count(["x"], 3).unwrap();
    t.insert_count(["y"], 4).unwrap();
    t.insert_count(["T"], 8).unwrap();
    assert!(matches!(
        protect(&Release::new(vec![t]), &ProtectOptions::default()),
        Err(DisclosureError::InconsistentTotal {
            total: 8,
            parts: 7,
            ..
        })
    ));
}

#[test]
fn partner_cells_stay_withheld_and_unreconstructable() {
    // Partner-suppressed `c`: the total is a lower bound for the attacker.
    let mut t = Table::new(
        "p",
        "n",
        vec![Dimension::new("d", Hierarchy::flat("T", ["a", "b", "c"]))],
    );
    t.insert_count(["a"], 20).unwrap();
    t.insert_count(["b"], 30).unwrap();
    t.insert(["c"], CellValue::Partner { nonempty: true })
        .unwrap();
    t.insert_count(["T"], 53).unwrap();
    let p = protect(&Release::new(vec![t]), &ProtectOptions::default()).unwrap();
    assert_eq!(
        p.outcome("p", &["c"]),
        Some(CellOutcome::Withheld {
            class: ValueClass::Partner
        })
    );
    // Otherwise c = 53 − 50 would be recomputed: something else is withheld.
    assert!(p.audit.pass);
    assert_eq!(p.audit.secondary, 1);
    let c = p.audit.cell("p", &["c"]).unwrap();
    assert_ne!(c.low, c.high);
}

/// NHS small-numbers: rounded figures are published, and the audit gives the
/// attacker the band behind each rounded figure (not the true value).
#[test]
fn nhs_policy_with_rounded_margins() {
    let t = grid(
        "nhs",
        &["A", "B", "C"],
        &["F", "M"],
        &[&[5, 40], &[22, 31], &[18, 27]],
    );
    let rel = Release::new(vec![t]);
    let p = protect(&rel, &ProtectOptions::new(Policy::NhsSmallNumbers)).unwrap();
    assert!(p.audit.pass);
    assert_eq!(
        p.outcome("nhs", &["A", "F"]),
        Some(CellOutcome::Withheld {
            class: ValueClass::Primary
        })
    );
    assert_eq!(
        p.outcome("nhs", &["B", "F"]).and_then(|o| o.value()),
        Some(20)
    );
    let a = p.audit.cell("nhs", &["A", "F"]).unwrap();
    assert!(a.high.unwrap_or(u64::MAX) - a.low.unwrap() >= 8);
}

/// A CSV with total rows goes straight into protect().
#[test]
fn csv_table_protects() {
    let text = "region,gender,count\n\
        A,male,18\nA,female,2\nA,Total,20\nB,male,14\nB,female,19\nB,Total,33\n\
        C,male,12\nC,female,10\nC,Total,22\nD,male,11\nD,female,14\nD,Total,25\n\
        Total,male,55\nTotal,female,45\nTotal,Total,100\n";
    let t = Table::from_csv("rg", "n", text, &CsvSpec::new("count")).unwrap();
    let p = protect(
        &Release::new(vec![t]),
        &ProtectOptions::new(Policy::Threshold {
            k: 3,
            zeros_disclosive: true,
        }),
    )
    .unwrap();
    assert_eq!(p.audit.secondary, 3);
    let a = p.audit.cell("rg", &["A", "female"]).unwrap();
    assert_eq!((a.low, a.high), (Some(0), Some(12)));
}

/// Case 1 again, when an earlier release already published region C's figures: they are
/// fixed, so the cheapest pattern (which used C) is not available; another pattern must
/// protect A-female without withholding C-male or C-female, and pass the audit.
#[test]
fn fixed_cells_are_never_chosen_as_complements() {
    let t = grid(
        "rg",
        &["A", "B", "C", "D"],
        &["male", "female"],
        &[&[18, 2], &[14, 19], &[12, 10], &[11, 14]],
    );
    let rel = Release::new(vec![t]);
    let free = ProtectOptions::new(thr(3, true));
    let cheapest = protect(&rel, &free).unwrap();
    assert!(withheld_set(&cheapest, ValueClass::Secondary).contains(&v(&["C", "female"])));

    let opts = ProtectOptions {
        fixed: vec![
            CellRef::new("rg", v(&["C", "male"])),
            CellRef::new("rg", v(&["C", "female"])),
        ],
        ..free
    };
    let p = protect(&rel, &opts).unwrap();
    let secondary = withheld_set(&p, ValueClass::Secondary);
    assert!(!secondary.is_empty());
    assert!(!secondary.contains(&v(&["C", "male"])) && !secondary.contains(&v(&["C", "female"])));
    assert!(p.audit.pass);
    let af = p.audit.cell("rg", &["A", "female"]).unwrap();
    assert!(af.high.unwrap_or(u64::MAX) - af.low.unwrap_or(0) >= 3);
}
