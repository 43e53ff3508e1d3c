//! Person linkage across partners: the `link_persons` aggregate function that the
//! `person_links` stage calls.
//!
//! Partners that share no identifier send match keys (`mk_*` token columns, contract
//! version 2): two person tokens are the same person when their records share any match key.
//! One person is one connected component of the graph whose nodes are person tokens and
//! whose edges are shared match keys.
//!
//! # Why a Rust aggregate and not plain SQL
//!
//! Connected components need iteration to a fixed point. In DataFusion SQL that means either
//! a recursive CTE (whose working set is every node × every node it reaches, quadratic in a
//! component's size, and unbounded when a common key chains thousands of records) or a fixed
//! number of unrolled label-propagation rounds (wrong, silently, when a component's diameter
//! exceeds the rounds). Neither can express the guard below. So the graph pass is a
//! user-defined aggregate, registered in every stage session (and in the `.slt` harness),
//! and the stage stays one read-only SQL file: SQL picks the edges, the aggregate returns one
//! `node|label|split` string per node, and SQL unnests and splits them. It is deterministic:
//! the result depends only on the set of edges, never on partitioning or input order.
//!
//! # The guard
//!
//! A wrong or over-common key (a default date of birth, a shared placeholder name) can chain
//! thousands of people into one component. Keys are ranked by strength (1 = strongest, the
//! national ids; see `svna_pseudonymise::MatchKey::ALL`). For each strength level `s` the
//! components over the keys of strength `<= s` are nested: each refines the next. A node
//! belongs to its component at the weakest level whose component has at most `max_size`
//! nodes; a node whose component exceeds it even with the strongest keys alone stays on its
//! own. These choices form a partition (every member of a chosen component chooses the same
//! level). A node whose full component was too large is marked `split`, and counted in the
//! linkage quality report.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::utils::SingleRowListArrayBuilder;
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Signature, Volatility,
};

/// The SQL name of the aggregate.
pub const LINK_PERSONS: &str = "link_persons";

/// One node's place in the linkage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The node (a person token).
    pub node: String,
    /// The component's label: its smallest node.
    pub label: String,
    /// The node's component over every key was larger than `max_size`, so it was split.
    pub split: bool,
}

/// Links nodes that share a key into components, strongest keys first, with the size guard
/// (see the module docs). `edges` are `(node, key, strength)`; nodes without an edge are not
/// in the result. Output sorted by node.
pub fn link(edges: &[(String, String, i64)], max_size: usize) -> Vec<Link> {
    let nodes: BTreeSet<&str> = edges.iter().map(|(n, _, _)| n.as_str()).collect();
    let nodes: Vec<&str> = nodes.into_iter().collect();
    let index = |n: &str| nodes.binary_search(&n).expect("every node is listed");
    // Key groups by (strength, key): the nodes sharing each key.
    let mut groups: BTreeMap<(i64, &str), Vec<usize>> = BTreeMap::new();
    for (node, key, strength) in edges {
        groups
            .entry((*strength, key.as_str()))
            .or_default()
            .push(index(node));
    }
    let mut forest = Forest::new(nodes.len());
    // chosen[node] = (label index, level) of the weakest level fitting the guard so far.
    let mut chosen: Vec<Option<usize>> = vec![None; nodes.len()];
    let mut levels = groups.iter().peekable();
    while let Some(((strength, _), members)) = levels.next() {
        for pair in members.windows(2) {
            forest.union(pair[0], pair[1]);
        }
        let level_done = levels.peek().is_none_or(|((next, _), _)| next != strength);
        if level_done {
            for (node, choice) in chosen.iter_mut().enumerate() {
                let root = forest.find(node);
                if forest.size[root] <= max_size {
                    *choice = Some(forest.min[root]);
                }
            }
        }
    }
    let full_size: Vec<usize> = (0..nodes.len())
        .map(|n| {
            let root = forest.find(n);
            forest.size[root]
        })
        .collect();
    nodes
        .iter()
        .enumerate()
        .map(|(i, node)| Link {
            node: node.to_string(),
            label: nodes[chosen[i].unwrap_or(i)].to_string(),
            split: full_size[i] > max_size,
        })
        .collect()
}

/// Union-find with sizes and each component's smallest node.
struct Forest {
    parent: Vec<usize>,
    size: Vec<usize>,
    min: Vec<usize>,
}

impl Forest {
    fn new(n: usize) -> Self {
        Forest {
            parent: (0..n).collect(),
            size: vec![1; n],
            min: (0..n).collect(),
        }
    }

    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    fn union(&mut self, a: usize, b: usize) {
        let (mut a, mut b) = (self.find(a), self.find(b));
        if a == b {
            return;
        }
        if self.size[a] < self.size[b] {
            std::mem::swap(&mut a, &mut b);
        }
        self.parent[b] = a;
        self.size[a] += self.size[b];
        self.min[a] = self.min[a].min(self.min[b]);
    }
}

/// `link_persons(node, key, strength, max_size)`: a list of `node|label|split` strings, one
/// per node with an edge (`split` is `1` or `0`). Rows with a NULL node or key are ignored.
pub fn link_persons_udaf() -> AggregateUDF {
    AggregateUDF::from(LinkPersons {
        signature: Signature::user_defined(Volatility::Immutable),
    })
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct LinkPersons {
    signature: Signature,
}

fn list_of_text() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)))
}

impl AggregateUDFImpl for LinkPersons {
    fn name(&self) -> &str {
        LINK_PERSONS
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let text = |t: &DataType| {
            matches!(
                t,
                DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 | DataType::Null
            )
        };
        match arg_types {
            [n, k, s, m] if text(n) && text(k) && s.is_integer() && m.is_integer() => Ok(vec![
                DataType::Utf8,
                DataType::Utf8,
                DataType::Int64,
                DataType::Int64,
            ]),
            _ => plan_err!(
                "{LINK_PERSONS}(node, key, strength, max_size) takes two text and two integer \
                 arguments, got {arg_types:?}"
            ),
        }
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(list_of_text())
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(LinkAccumulator::default()))
    }
}

/// Collects the edges (deduplicated) and links them on `evaluate`. Its state is the edge
/// list, as `strength\tkey\tnode` strings, so partial aggregates merge exactly.
#[derive(Debug, Default)]
struct LinkAccumulator {
    edges: BTreeSet<(i64, String, String)>,
    max_size: Option<i64>,
    bytes: usize,
}

impl LinkAccumulator {
    fn add(&mut self, strength: i64, key: &str, node: &str) {
        if self
            .edges
            .insert((strength, key.to_string(), node.to_string()))
        {
            self.bytes += key.len() + node.len() + 64;
        }
    }
}

fn text_column(array: &ArrayRef) -> Result<StringArray> {
    Ok(cast(array, &DataType::Utf8)?.as_string::<i32>().clone())
}

impl Accumulator for LinkAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let [nodes, keys, strengths, max_sizes] = values else {
            return exec_err!("{LINK_PERSONS} takes four arguments");
        };
        let (nodes, keys) = (text_column(nodes)?, text_column(keys)?);
        let strengths = cast(strengths, &DataType::Int64)?;
        let strengths = strengths.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
        let max_sizes = cast(max_sizes, &DataType::Int64)?;
        let max_sizes = max_sizes.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
        for row in 0..nodes.len() {
            if max_sizes.is_valid(row) {
                let m = max_sizes.value(row);
                if m < 1 {
                    return exec_err!("{LINK_PERSONS}: max_size must be at least 1");
                }
                match self.max_size {
                    Some(seen) if seen != m => {
                        return exec_err!("{LINK_PERSONS}: max_size must be one constant");
                    }
                    _ => self.max_size = Some(m),
                }
            }
            if nodes.is_null(row) || keys.is_null(row) || strengths.is_null(row) {
                continue;
            }
            self.add(strengths.value(row), keys.value(row), nodes.value(row));
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let mut encoded: Vec<String> = self
            .edges
            .iter()
            .map(|(s, k, n)| format!("{s}\t{k}\t{n}"))
            .collect();
        if let Some(m) = self.max_size {
            encoded.push(format!("max\t{m}"));
        }
        let array: ArrayRef = Arc::new(StringArray::from(encoded));
        Ok(vec![
            SingleRowListArrayBuilder::new(array).build_list_scalar(),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let [lists] = states else {
            return exec_err!("{LINK_PERSONS}: unexpected state");
        };
        let lists = lists.as_list::<i32>();
        for list in lists.iter().flatten() {
            let items = text_column(&list)?;
            for item in items.iter().flatten() {
                let mut parts = item.splitn(3, '\t');
                match (parts.next(), parts.next(), parts.next()) {
                    (Some("max"), Some(m), None) => {
                        let m: i64 = m.parse().unwrap_or(0);
                        if self.max_size.is_some_and(|seen| seen != m) {
                            return exec_err!("{LINK_PERSONS}: max_size must be one constant");
                        }
                        self.max_size = Some(m);
                    }
                    (Some(s), Some(k), Some(n)) => {
                        let Ok(s) = s.parse() else {
                            return exec_err!("{LINK_PERSONS}: unexpected state");
                        };
                        self.add(s, k, n);
                    }
                    _ => return exec_err!("{LINK_PERSONS}: unexpected state"),
                }
            }
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let max_size = self.max_size.unwrap_or(1).max(1) as usize;
        let edges: Vec<(String, String, i64)> = self
            .edges
            .iter()
            .map(|(s, k, n)| (n.clone(), k.clone(), *s))
            .collect();
        let out: Vec<String> = link(&edges, max_size)
            .into_iter()
            .map(|l| format!("{}|{}|{}", l.node, l.label, u8::from(l.split)))
            .collect();
        let array: ArrayRef = Arc::new(StringArray::from(out));
        Ok(SingleRowListArrayBuilder::new(array).build_list_scalar())
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(node: &str, key: &str, strength: i64) -> (String, String, i64) {
        (node.into(), key.into(), strength)
    }

    fn labels(links: &[Link]) -> Vec<(&str, &str, bool)> {
        links
            .iter()
            .map(|l| (l.node.as_str(), l.label.as_str(), l.split))
            .collect()
    }

    #[test]
    fn shared_keys_make_one_person_per_component() {
        let edges = [
            e("a", "k1", 1),
            e("b", "k1", 1),
            e("b", "k2", 4),
            e("c", "k2", 4),
            e("d", "k3", 4),
            e("e", "k4", 6),
        ];
        assert_eq!(
            labels(&link(&edges, 50)),
            [
                ("a", "a", false),
                ("b", "a", false),
                ("c", "a", false),
                ("d", "d", false),
                ("e", "e", false),
            ]
        );
    }

    #[test]
    fn the_result_does_not_depend_on_edge_order() {
        let mut edges = vec![
            e("x", "k1", 2),
            e("y", "k1", 2),
            e("y", "k9", 5),
            e("z", "k9", 5),
            e("w", "k7", 3),
            e("z", "k7", 3),
        ];
        let first = link(&edges, 3);
        edges.reverse();
        assert_eq!(link(&edges, 3), first);
        edges.swap(0, 3);
        assert_eq!(link(&edges, 3), first);
    }

    #[test]
    fn a_component_over_the_limit_is_split_back_to_its_strongest_keys() {
        // Two people (a,b) and (c,d) linked by their NHS numbers (strength 1), chained
        // together by one weak key (strength 6) that also pulls in e: 5 nodes > 4.
        let edges = [
            e("a", "nhs1", 1),
            e("b", "nhs1", 1),
            e("c", "nhs2", 1),
            e("d", "nhs2", 1),
            e("b", "weak", 6),
            e("c", "weak", 6),
            e("e", "weak", 6),
        ];
        assert_eq!(
            labels(&link(&edges, 4)),
            [
                ("a", "a", true),
                ("b", "a", true),
                ("c", "c", true),
                ("d", "c", true),
                ("e", "e", true),
            ]
        );
        // Under a larger limit they are one component, not split.
        assert!(link(&edges, 5).iter().all(|l| l.label == "a" && !l.split));
        // Even the strongest key too common: everyone on their own.
        assert!(link(&edges, 1).iter().all(|l| l.label == l.node && l.split));
    }
}
