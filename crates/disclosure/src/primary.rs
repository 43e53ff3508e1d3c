//! Primary suppression and the attacker's prior knowledge.
//!
//! Turns true values + policy into the starting [`State`]: which quantities
//! are withheld and why, what each published figure reveals (an exact value,
//! or the band of values that round to it), and the lower bound the attacker
//! may assume for every withheld cell (0, or 1 when the policy publishes zeros
//! so that a withheld cell is known to be non-empty).
//!
//! Decision on the "1..k−1" knowledge: the attacker is **not** given the upper
//! bound `k−1` for primary cells, because the release marks primary and
//! secondary suppressions identically, so no single withheld cell is known to
//! be under the threshold. The reference intervals (e.g. `[0,12]` in the
//! region × gender example) are computed under this model.

use std::collections::BTreeSet;

use crate::error::{DisclosureError, Result};
use crate::model::Model;
use crate::policy::{Policy, Primary, ValueClass};
use crate::table::{CellValue, Release};
use crate::{CellRef, ProtectOptions};

/// Working state of a release during protection.
#[derive(Debug, Clone)]
pub(crate) struct State {
    pub class: Vec<ValueClass>,
    /// Figure to publish when not withheld (policy-rounded), `None` for partner cells.
    pub figure: Vec<Option<u64>>,
    /// True values consistent with the figure (inclusive).
    pub interval: Vec<(u64, u64)>,
    /// Attacker's lower bound when withheld.
    pub lb: Vec<u64>,
    /// May this cell be chosen as a secondary suppression?
    pub candidate: Vec<bool>,
    /// Required interval width when withheld (0 = none).
    pub required: Vec<u64>,
    pub protection_level: u64,
}

impl State {
    pub fn withheld(&self, i: usize) -> bool {
        self.class[i] != ValueClass::Published
    }

    pub fn set_class(&mut self, i: usize, c: ValueClass) {
        self.class[i] = c;
        self.required[i] = match c {
            ValueClass::Published => 0,
            ValueClass::Primary => self.protection_level,
            ValueClass::Secondary | ValueClass::Partner => 1,
        };
    }
}

pub(crate) fn resolve_forced(
    release: &Release,
    model: &Model,
    forced: &[CellRef],
) -> Result<BTreeSet<usize>> {
    let mut out = BTreeSet::new();
    for f in forced {
        let var = release
            .tables
            .iter()
            .position(|t| t.name == f.table)
            .and_then(|ti| model.cell_var[ti].get(&f.coords).copied())
            .ok_or_else(|| DisclosureError::UnknownForcedCell {
                table: f.table.clone(),
                coords: f.coords.clone(),
            })?;
        out.insert(var);
    }
    Ok(out)
}

/// Apply the policy: primary suppressions, forced cells, partner cells.
pub(crate) fn initial_state(
    model: &Model,
    opts: &ProtectOptions,
    forced: &BTreeSet<usize>,
) -> Result<State> {
    let policy: &Policy = &opts.policy;
    policy.validate()?;
    let p = opts
        .protection_level
        .unwrap_or_else(|| policy.default_protection_level())
        .max(1);
    let zp = policy.zeros_published();
    let n = model.len();
    let mut st = State {
        class: vec![ValueClass::Published; n],
        figure: vec![None; n],
        interval: vec![(0, 0); n],
        lb: vec![0; n],
        candidate: vec![false; n],
        required: vec![0; n],
        protection_level: p,
    };
    for (i, var) in model.vars.iter().enumerate() {
        match var.value {
            CellValue::Partner { nonempty } => {
                st.lb[i] = u64::from(nonempty);
                st.set_class(i, ValueClass::Partner);
            }
            CellValue::Count(x) => {
                st.lb[i] = u64::from(zp && x > 0);
                match policy.classify(x) {
                    Primary::Unsafe => st.set_class(i, ValueClass::Primary),
                    Primary::Publish(v) => {
                        st.figure[i] = Some(v);
                        st.interval[i] = policy.published_interval(v);
                        // A withheld zero under a zeros-published policy would
                        // contradict the attacker's (correct) ≥1 inference, so
                        // zeros are never secondary candidates there.
                        st.candidate[i] = !(zp && x == 0);
                    }
                }
                if forced.contains(&i) {
                    st.set_class(i, ValueClass::Primary);
                }
            }
        }
    }
    Ok(st)
}
