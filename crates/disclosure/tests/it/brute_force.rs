//! The audit against an independent oracle: on tiny tables (one dimension with its total,
//! 2×2, 2×3 and 3×2 with both margins, counts 0..=8), every non-negative integer table
//! consistent with the published cells is enumerated, and each withheld cell's least and
//! greatest value over them must be the audit's exact interval.
//!
//! The oracle uses nothing of the crate but the table it was given and the rule of
//! `primary.rs` for what the attacker knows of a withheld cell: it is at least 1 when the
//! policy publishes zeros and the cell is not empty, at least 0 otherwise. Boundedness needs
//! no search: every relation adds cells with coefficient +1, so a leaf that is in no
//! published cell (its own or a margin) can grow without limit and nothing else can — a
//! quantity is unbounded exactly when it covers such a leaf. Every other leaf is at most the
//! smallest published cell that covers it, which bounds the enumeration.

use proptest::prelude::*;
use svna_disclosure::*;

const K: u64 = 3;

/// A tiny table: `rows` × `cols` leaves, row-major (`cols == 0`: one dimension of `rows`
/// leaves), with every margin.
#[derive(Debug, Clone)]
struct Tiny {
    rows: usize,
    cols: usize,
    leaves: Vec<u64>,
}

/// One cell: its coordinates and the leaves it adds up.
struct Cell {
    coords: Vec<String>,
    covers: Vec<usize>,
}

impl Tiny {
    fn width(&self) -> usize {
        self.cols.max(1)
    }

    fn cells(&self) -> Vec<Cell> {
        let code = |prefix: &str, i: usize, n: usize| {
            if i == n {
                "T".to_string()
            } else {
                format!("{prefix}{i}")
            }
        };
        let mut cells = Vec::new();
        for r in 0..=self.rows {
            if self.cols == 0 {
                let covers = (0..self.rows)
                    .filter(|&i| r == self.rows || i == r)
                    .collect();
                cells.push(Cell {
                    coords: vec![code("r", r, self.rows)],
                    covers,
                });
                continue;
            }
            for c in 0..=self.cols {
                let covers = (0..self.rows)
                    .flat_map(|i| (0..self.cols).map(move |j| (i, j)))
                    .filter(|&(i, j)| (r == self.rows || i == r) && (c == self.cols || j == c))
                    .map(|(i, j)| i * self.cols + j)
                    .collect();
                cells.push(Cell {
                    coords: vec![code("r", r, self.rows), code("c", c, self.cols)],
                    covers,
                });
            }
        }
        cells
    }

    fn value(&self, cell: &Cell) -> u64 {
        cell.covers.iter().map(|&l| self.leaves[l]).sum()
    }

    fn table(&self) -> Table {
        let mut dims = vec![Dimension::new(
            "row",
            Hierarchy::flat("T", (0..self.rows).map(|i| format!("r{i}"))),
        )];
        if self.cols > 0 {
            dims.push(Dimension::new(
                "col",
                Hierarchy::flat("T", (0..self.cols).map(|j| format!("c{j}"))),
            ));
        }
        let mut table = Table::new("tiny", "n", dims);
        for cell in self.cells() {
            table
                .insert_count(cell.coords.clone(), self.value(&cell))
                .unwrap();
        }
        table
    }
}

fn tiny() -> impl Strategy<Value = Tiny> {
    prop_oneof![
        (2usize..=4, 0usize..=0),
        Just((2usize, 2usize)),
        Just((2, 3)),
        Just((3, 2)),
    ]
    .prop_flat_map(|(rows, cols)| {
        prop::collection::vec(0u64..=8, rows * cols.max(1)).prop_map(move |leaves| Tiny {
            rows,
            cols,
            leaves,
        })
    })
}

fn policy(zeros_disclosive: bool) -> Policy {
    Policy::Threshold {
        k: K,
        zeros_disclosive,
    }
}

/// The threshold rule, written out: counts 1..k−1 are unsafe, and 0 too where zeros are
/// disclosive.
fn unsafe_count(x: u64, zeros_disclosive: bool) -> bool {
    (x == 0 && zeros_disclosive) || (1..K).contains(&x)
}

/// Per cell: `Some((least, greatest))` over every table consistent with what is published
/// (`None`: unbounded above) for withheld cells, `None` for published ones.
type Oracle = Vec<Option<(u64, Option<u64>)>>;

/// Every table consistent with the published cells, by enumeration of the withheld leaves.
fn oracle(t: &Tiny, withheld: &[bool], zeros_published: bool) -> Oracle {
    let cells = t.cells();
    let nleaves = t.rows * t.width();
    let values: Vec<u64> = cells.iter().map(|c| t.value(c)).collect();
    // What the attacker may assume of a withheld cell (primary.rs).
    let lb: Vec<u64> = values
        .iter()
        .map(|&x| u64::from(zeros_published && x > 0))
        .collect();
    let published: Vec<usize> = (0..cells.len()).filter(|&c| !withheld[c]).collect();
    let leaf_cell: Vec<usize> = (0..nleaves)
        .map(|l| {
            cells
                .iter()
                .position(|c| c.covers == [l])
                .expect("a leaf cell")
        })
        .collect();
    // A leaf no published cell covers: free to grow.
    let free: Vec<bool> = (0..nleaves)
        .map(|l| !published.iter().any(|&c| cells[c].covers.contains(&l)))
        .collect();
    // The leaves to enumerate, with their ranges; published leaves are fixed.
    let mut fixed: Vec<Option<u64>> = vec![None; nleaves];
    let mut ranges: Vec<(usize, u64, u64)> = Vec::new();
    for l in 0..nleaves {
        let own = leaf_cell[l];
        if !withheld[own] {
            fixed[l] = Some(values[own]);
            continue;
        }
        let high = if free[l] {
            // Enough room to meet any withheld margin's lower bound; its maximum is
            // unbounded and not searched.
            lb[own] + 2
        } else {
            published
                .iter()
                .filter(|&&c| cells[c].covers.contains(&l))
                .map(|&c| values[c])
                .min()
                .expect("covered")
        };
        ranges.push((l, lb[own], high));
    }
    let mut bounds: Vec<Option<(u64, u64)>> = vec![None; cells.len()];
    let mut leaves = fixed.clone();
    enumerate(
        &cells,
        &published,
        &values,
        withheld,
        &lb,
        &ranges,
        0,
        &mut leaves,
        &mut bounds,
    );
    (0..cells.len())
        .map(|c| {
            if !withheld[c] {
                return None;
            }
            let (low, high) = bounds[c].expect("the true table is consistent");
            let unbounded = cells[c].covers.iter().any(|&l| free[l]);
            Some((low, (!unbounded).then_some(high)))
        })
        .collect()
}

/// Depth-first over the withheld leaves; a published cell already exceeded prunes.
#[allow(clippy::too_many_arguments)]
fn enumerate(
    cells: &[Cell],
    published: &[usize],
    values: &[u64],
    withheld: &[bool],
    lb: &[u64],
    ranges: &[(usize, u64, u64)],
    next: usize,
    leaves: &mut [Option<u64>],
    bounds: &mut [Option<(u64, u64)>],
) {
    let sum = |c: usize, leaves: &[Option<u64>]| -> (u64, bool) {
        cells[c]
            .covers
            .iter()
            .fold((0, true), |(s, complete), &l| match leaves[l] {
                Some(x) => (s + x, complete),
                None => (s, false),
            })
    };
    for &c in published {
        let (s, complete) = sum(c, leaves);
        if s > values[c] || (complete && s != values[c]) {
            return;
        }
    }
    let Some(&(leaf, low, high)) = ranges.get(next) else {
        // A whole table, consistent with every published cell.
        let totals: Vec<u64> = (0..cells.len()).map(|c| sum(c, leaves).0).collect();
        if (0..cells.len()).any(|c| withheld[c] && totals[c] < lb[c]) {
            return;
        }
        for c in (0..cells.len()).filter(|&c| withheld[c]) {
            let b = bounds[c].get_or_insert((totals[c], totals[c]));
            b.0 = b.0.min(totals[c]);
            b.1 = b.1.max(totals[c]);
        }
        return;
    };
    for x in low..=high {
        leaves[leaf] = Some(x);
        enumerate(
            cells,
            published,
            values,
            withheld,
            lb,
            ranges,
            next + 1,
            leaves,
            bounds,
        );
    }
    leaves[leaf] = None;
}

/// The audit's rows against the oracle, and the pass verdicts against the widths.
fn check(
    t: &Tiny,
    report: &AuditReport,
    withheld: &[bool],
    zeros_disclosive: bool,
) -> std::result::Result<(), TestCaseError> {
    let cells = t.cells();
    let expected = oracle(t, withheld, !zeros_disclosive);
    prop_assert_eq!(report.method, AuditMethod::Exact);
    let mut all_pass = true;
    for (c, cell) in cells.iter().enumerate() {
        let coords: Vec<&str> = cell.coords.iter().map(String::as_str).collect();
        let row = report.cell("tiny", &coords).expect("every cell is audited");
        prop_assert_eq!(row.published.is_none(), withheld[c], "{:?}", coords);
        let Some((low, high)) = expected[c] else {
            continue;
        };
        prop_assert_eq!(
            (row.low, row.high),
            (Some(low), high),
            "cell {:?} of {:?} withheld {:?}",
            coords,
            t,
            withheld
        );
        prop_assert_eq!(row.method, AuditMethod::Exact);
        let required = if unsafe_count(t.value(cell), zeros_disclosive) {
            K
        } else {
            1
        };
        let pass = high.is_none_or(|h| h - low >= required);
        prop_assert_eq!(row.pass, pass, "cell {:?} of {:?}", coords, t);
        all_pass &= pass;
    }
    prop_assert_eq!(report.pass, all_pass);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    /// The pattern `protect` chooses, audited by `protect` and again by `audit`.
    #[test]
    fn protect_audit_matches_enumeration(t in tiny(), zeros_disclosive in any::<bool>()) {
        let release = Release::new(vec![t.table()]);
        let opts = ProtectOptions::new(policy(zeros_disclosive));
        let p = protect(&release, &opts).unwrap();
        let cells = t.cells();
        let withheld: Vec<bool> = cells
            .iter()
            .map(|c| {
                let coords: Vec<&str> = c.coords.iter().map(String::as_str).collect();
                matches!(p.outcome("tiny", &coords), Some(CellOutcome::Withheld { .. }))
            })
            .collect();
        // Every unsafe count is withheld.
        for (c, cell) in cells.iter().enumerate() {
            if unsafe_count(t.value(cell), zeros_disclosive) {
                prop_assert!(withheld[c]);
            }
        }
        check(&t, &p.audit, &withheld, zeros_disclosive)?;
        let refs: Vec<CellRef> = p.withheld().into_iter().map(|(r, _)| r).collect();
        let again = audit(&release, &opts, &refs).unwrap();
        check(&t, &again, &withheld, zeros_disclosive)?;
    }

    /// Any pattern, protected or not: the audit's intervals are the enumerated ones, and
    /// a cell recoverable by subtraction is reported failing.
    #[test]
    fn audit_of_any_pattern_matches_enumeration(
        t in tiny(),
        zeros_disclosive in any::<bool>(),
        mask in prop::collection::vec(prop::bool::weighted(0.35), 12),
    ) {
        let release = Release::new(vec![t.table()]);
        let cells = t.cells();
        let withheld: Vec<bool> = cells
            .iter()
            .enumerate()
            .map(|(c, cell)| mask[c] || unsafe_count(t.value(cell), zeros_disclosive))
            .collect();
        let refs: Vec<CellRef> = cells
            .iter()
            .zip(&withheld)
            .filter(|(_, w)| **w)
            .map(|(c, _)| CellRef::new("tiny", c.coords.iter().map(String::as_str)))
            .collect();
        let report = audit(&release, &ProtectOptions::new(policy(zeros_disclosive)), &refs).unwrap();
        check(&t, &report, &withheld, zeros_disclosive)?;
    }
}

/// The oracle itself, on a case worked by hand: 1-D a = 2, b = 5, total 7; a and b
/// withheld, the total published, zeros published: a ∈ [1, 6].
#[test]
fn oracle_by_hand() {
    let t = Tiny {
        rows: 2,
        cols: 0,
        leaves: vec![2, 5],
    };
    let got = oracle(&t, &[true, true, false], true);
    assert_eq!(got, vec![Some((1, Some(6))), Some((1, Some(6))), None]);
    // The total withheld too: both leaves are free and unbounded.
    let got = oracle(&t, &[true, true, true], true);
    assert_eq!(got, vec![Some((1, None)), Some((1, None)), Some((2, None))]);
    // Zeros disclosive: a withheld cell may be empty.
    let got = oracle(&t, &[true, true, false], false);
    assert_eq!(got, vec![Some((0, Some(7))), Some((0, Some(7))), None]);
}
