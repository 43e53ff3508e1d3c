//! The joint protection of a release with every earlier release (`protect_joint`).

use std::collections::BTreeSet;

use svna_disclosure::*;

fn table(name: &str, measure: &str, dims: &[(&str, &[&str])], cells: &[(&[&str], u64)]) -> Table {
    let dims = dims
        .iter()
        .map(|(n, codes)| Dimension::new(*n, Hierarchy::flat("Total", codes.iter().copied())))
        .collect();
    let mut t = Table::new(name, measure, dims);
    for (coords, v) in cells {
        t.insert_count(coords.iter().copied(), *v).unwrap();
    }
    t
}

/// District × sex with margins, one small cell.
fn district_sex(d1f: u64) -> Table {
    cells4(d1f, 30, 25, 40)
}

fn cells4(d1f: u64, d1m: u64, d2f: u64, d2m: u64) -> Table {
    table(
        "by_sex",
        "offences",
        &[("district", &["D1", "D2"]), ("sex", &["F", "M"])],
        &[
            (&["D1", "F"], d1f),
            (&["D1", "M"], d1m),
            (&["D1", "Total"], d1f + d1m),
            (&["D2", "F"], d2f),
            (&["D2", "M"], d2m),
            (&["D2", "Total"], d2f + d2m),
            (&["Total", "F"], d1f + d2f),
            (&["Total", "M"], d1m + d2m),
            (&["Total", "Total"], d1f + d1m + d2f + d2m),
        ],
    )
}

fn new_release(tables: Vec<Table>, k: u64) -> JointInput {
    JointInput {
        tables: tables
            .into_iter()
            .map(|table| JointTable {
                table,
                release: 0,
                k,
                withheld: BTreeSet::new(),
            })
            .collect(),
        ..Default::default()
    }
}

fn withheld(p: &JointProtection, table: &str) -> BTreeSet<Vec<String>> {
    p.tables
        .iter()
        .find(|t| t.name == table)
        .unwrap()
        .cells
        .iter()
        .filter(|(_, o)| o.value().is_none())
        .map(|(c, _)| c.clone())
        .collect()
}

fn coords(list: &[[&str; 2]]) -> BTreeSet<Vec<String>> {
    list.iter()
        .map(|c| c.iter().map(|s| s.to_string()).collect())
        .collect()
}

#[test]
fn a_small_cell_is_withheld_with_its_cheapest_rectangle_and_proven_k_wide() {
    let p = protect_joint(&new_release(vec![district_sex(2)], 5)).unwrap();
    assert!(p.audit.pass, "{:?}", p.audit);
    assert_eq!(
        withheld(&p, "by_sex"),
        coords(&[["D1", "F"], ["D1", "M"], ["D2", "F"], ["D2", "M"]])
    );
    let cell = p
        .audit
        .cells
        .iter()
        .find(|c| c.class == ValueClass::Primary)
        .unwrap();
    let width = cell.high.map_or(u64::MAX, |h| h - cell.low.unwrap());
    assert!(width >= 5, "{cell:?}");
    assert_eq!(cell.method, AuditMethod::Certificate);
    assert!(p.left_out.is_empty());
}

#[test]
fn margins_stay_published_when_inner_cells_can_protect() {
    let p = protect_joint(&new_release(vec![district_sex(1)], 5)).unwrap();
    let w = withheld(&p, "by_sex");
    assert!(!w.iter().any(|c| c.contains(&"Total".to_string())), "{w:?}");
}

#[test]
fn republishing_the_same_data_withholds_the_same_cells() {
    let first = protect_joint(&new_release(vec![district_sex(2)], 5)).unwrap();
    let mut input = new_release(vec![district_sex(2)], 5);
    input.tables.push(JointTable {
        table: district_sex(2),
        release: 1,
        k: 5,
        withheld: withheld(&first, "by_sex"),
    });
    let second = protect_joint(&input).unwrap();
    assert!(second.audit.pass);
    assert_eq!(withheld(&second, "by_sex"), withheld(&first, "by_sex"));
}

#[test]
fn a_higher_k_later_does_not_withhold_what_the_earlier_release_published() {
    // Release 1 (k = 5) published D1-F = 5; release 2 with k = 6 cannot un-publish it.
    let first = protect_joint(&new_release(vec![district_sex(5)], 5)).unwrap();
    assert!(withheld(&first, "by_sex").is_empty());
    let mut input = new_release(vec![district_sex(5)], 6);
    input.tables.push(JointTable {
        table: district_sex(5),
        release: 1,
        k: 5,
        withheld: BTreeSet::new(),
    });
    let second = protect_joint(&input).unwrap();
    assert!(second.audit.pass);
    assert!(withheld(&second, "by_sex").is_empty());
}

#[test]
fn a_revision_keeps_the_earlier_primary_protected_in_tandem() {
    let first = protect_joint(&new_release(vec![district_sex(2)], 5)).unwrap();
    // Late records: D1-F goes from 2 to 3 (and its margins with it).
    let mut input = new_release(vec![district_sex(3)], 5);
    input.tables.push(JointTable {
        table: district_sex(2),
        release: 1,
        k: 5,
        withheld: withheld(&first, "by_sex"),
    });
    let second = protect_joint(&input).unwrap();
    assert!(second.audit.pass, "{:?}", second.audit);
    // The earlier withheld cells stay withheld: a published revision of one of them would
    // bound the earlier figure.
    assert!(withheld(&first, "by_sex").is_subset(&withheld(&second, "by_sex")));
}

#[test]
fn months_roll_up_into_years_so_a_month_is_paired_within_its_year() {
    let months = table(
        "by_month",
        "offences",
        &[
            ("district", &["D1", "D2"]),
            ("period", &["2020-01", "2020-02", "2021-01"]),
        ],
        &[
            (&["D1", "2020-01"], 2),
            (&["D1", "2020-02"], 20),
            (&["D1", "2021-01"], 30),
            (&["D1", "Total"], 52),
            (&["D2", "2020-01"], 20),
            (&["D2", "2020-02"], 20),
            (&["D2", "2021-01"], 40),
            (&["D2", "Total"], 80),
            (&["Total", "2020-01"], 22),
            (&["Total", "2020-02"], 40),
            (&["Total", "2021-01"], 70),
            (&["Total", "Total"], 132),
        ],
    );
    let years = table(
        "by_year",
        "offences",
        &[("district", &["D1", "D2"]), ("period", &["2020", "2021"])],
        &[
            (&["D1", "2020"], 22),
            (&["D1", "2021"], 30),
            (&["D1", "Total"], 52),
            (&["D2", "2020"], 40),
            (&["D2", "2021"], 40),
            (&["D2", "Total"], 80),
            (&["Total", "2020"], 62),
            (&["Total", "2021"], 70),
            (&["Total", "Total"], 132),
        ],
    );
    let mut input = new_release(vec![months, years], 5);
    input.rollups = ["2020-01", "2020-02", "2021-01"]
        .iter()
        .map(|m| ("period".to_string(), m.to_string(), m[..4].to_string()))
        .collect();
    let p = protect_joint(&input).unwrap();
    assert!(p.audit.pass);
    let w = withheld(&p, "by_month");
    assert!(
        !w.iter().any(|c| c[1] == "2021-01"),
        "paired across years: {w:?}"
    );
    assert!(withheld(&p, "by_year").is_empty());
}

#[test]
fn a_part_never_moves_above_its_whole() {
    // knife ≤ offences in every row: with offences published, knife 4 of 9 can move up by
    // five at most, which the certificate must respect.
    let offences = cells4(9, 30, 25, 40);
    let mut knife = cells4(4, 20, 15, 30);
    knife.measure = "knife".into();
    knife.name = "knife_by_sex".into();
    let mut input = new_release(vec![offences, knife], 5);
    input.nested.push(Nested {
        part: "knife".into(),
        whole: "offences".into(),
        whole_extra: Vec::new(),
    });
    let p = protect_joint(&input).unwrap();
    assert!(p.audit.pass, "{:?}", p.audit);
    let cell = p
        .audit
        .cells
        .iter()
        .find(|c| c.identity.starts_with("knife[") && c.class == ValueClass::Primary)
        .unwrap();
    // Knife offences are offences: a certificate either keeps the published offences and
    // stays within them, or moves the offences with the knife offences (withholding them).
    if withheld(&p, "by_sex").is_empty() {
        assert!(cell.high.is_some_and(|h| h <= 9), "{cell:?}");
    }
    assert!(cell.high.unwrap() - cell.low.unwrap() >= 5, "{cell:?}");
}

#[test]
fn sparse_tables_always_publish_something_and_never_fail_the_audit() {
    let codes: Vec<String> = (0..8).map(|i| format!("A{i}")).collect();
    let cols: Vec<String> = (0..6).map(|i| format!("B{i}")).collect();
    let a: Vec<&str> = codes.iter().map(String::as_str).collect();
    let b: Vec<&str> = cols.iter().map(String::as_str).collect();
    let value = |i: usize, j: usize| ((i * 7 + j * 3) % 5) as u64; // 0..4: all small
    let mut t = Table::new(
        "sparse",
        "m",
        vec![
            Dimension::new("a", Hierarchy::flat("Total", a.iter().copied())),
            Dimension::new("b", Hierarchy::flat("Total", b.iter().copied())),
        ],
    );
    let mut grand = 0;
    for (i, ai) in a.iter().enumerate() {
        let mut row = 0;
        for (j, bj) in b.iter().enumerate() {
            t.insert_count([*ai, *bj], value(i, j)).unwrap();
            row += value(i, j);
        }
        t.insert_count([*ai, "Total"], row).unwrap();
        grand += row;
    }
    for (j, bj) in b.iter().enumerate() {
        t.insert_count(["Total", *bj], (0..a.len()).map(|i| value(i, j)).sum())
            .unwrap();
    }
    t.insert_count(["Total", "Total"], grand).unwrap();
    let p = protect_joint(&new_release(vec![t], 5)).unwrap();
    assert!(p.audit.pass, "{:?}", p.audit.failing);
    let w = withheld(&p, "sparse");
    assert!(w.len() < 63, "something is published");
}

#[test]
fn a_count_that_nothing_can_protect_is_withheld_whole_and_the_rest_publishes() {
    // A small cell whose only neighbour and margin the partner already withheld: no
    // pattern of cells svna may move protects it; its column is withheld whole.
    let mut t = Table::new(
        "partner",
        "admissions",
        vec![Dimension::new(
            "district",
            Hierarchy::flat("Total", ["D1", "D2"]),
        )],
    );
    t.insert_count(["D1"], 2).unwrap();
    t.insert(["D2"], CellValue::Partner { nonempty: true })
        .unwrap();
    t.insert(["Total"], CellValue::Partner { nonempty: true })
        .unwrap();
    let p = protect_joint(&new_release(vec![district_sex(20), t], 5)).unwrap();
    assert!(p.audit.pass);
    assert_eq!(p.left_out.len(), 1, "{:?}", p.left_out);
    assert_eq!(p.left_out[0].table, "partner");
    assert_eq!(withheld(&p, "partner").len(), 3);
    assert!(withheld(&p, "by_sex").is_empty());
}
