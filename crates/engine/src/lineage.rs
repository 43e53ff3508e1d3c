//! Token lineage: which output columns of a stage carry values computed from a person or
//! offence token column, read from the stage's DataFusion logical plan.
//!
//! Publish refuses such a column even when its values no longer look like tokens
//! (`upper(person_id)`, `'p' || person_id`, `substr(person_id, 1, 8)`). A value is tainted
//! when the expression that computes it references a tainted column; a `count(…)` of
//! anything (`count(DISTINCT person_id)`) is not, since it publishes how many, not which.
//! Predicates (`WHERE`, `JOIN … ON`, `HAVING`) decide which rows are kept but are not
//! lineage of a value, so linking by token stays allowed. The rule is conservative
//! elsewhere: an aggregate other than `count`, a window function other than `count`, a
//! value from an outer query, or a plan node it does not know taints what it touches.

use std::collections::{BTreeMap, BTreeSet};

use datafusion::common::DFSchema;
use datafusion::logical_expr::utils::grouping_set_to_exprlist;
use datafusion::logical_expr::{Distinct, Expr, JoinType, LogicalPlan, WindowFunctionDefinition};

/// Token-carrying columns of every table a stage can read: a source's token columns (from
/// its contract) or an earlier stage's tainted outputs (from its run record).
pub type KnownTaint = BTreeMap<String, BTreeSet<String>>;

/// The output columns of `plan` whose values are computed from a tainted column, in output
/// order.
pub fn token_lineage(plan: &LogicalPlan, known: &KnownTaint) -> Vec<String> {
    let taint = plan_taint(plan, known);
    plan.schema()
        .fields()
        .iter()
        .zip(taint)
        .filter(|(_, tainted)| *tainted)
        .map(|(field, _)| field.name().clone())
        .collect()
}

/// Per output field of `plan`, whether its values carry token lineage.
fn plan_taint(plan: &LogicalPlan, known: &KnownTaint) -> Vec<bool> {
    let width = plan.schema().fields().len();
    let inputs: Vec<Vec<bool>> = plan.inputs().iter().map(|p| plan_taint(p, known)).collect();
    let computed = match plan {
        LogicalPlan::TableScan(scan) => {
            let tainted = known.get(scan.table_name.table());
            scan.projected_schema
                .fields()
                .iter()
                .map(|f| tainted.is_some_and(|t| t.contains(f.name())))
                .collect()
        }
        LogicalPlan::Projection(p) => exprs_taint(&p.expr, p.input.schema(), &inputs[0], known),
        LogicalPlan::Aggregate(a) => {
            let groups = grouping_set_to_exprlist(&a.group_expr).unwrap_or_default();
            let mut taint = exprs_taint(groups, a.input.schema(), &inputs[0], known);
            if matches!(a.group_expr.as_slice(), [Expr::GroupingSet(_)]) {
                taint.push(false); // the internal grouping id: which set, not a value
            }
            taint.extend(exprs_taint(
                &a.aggr_expr,
                a.input.schema(),
                &inputs[0],
                known,
            ));
            taint
        }
        LogicalPlan::Window(w) => {
            let mut taint = inputs[0].clone();
            taint.extend(exprs_taint(
                &w.window_expr,
                w.input.schema(),
                &inputs[0],
                known,
            ));
            taint
        }
        LogicalPlan::Distinct(Distinct::On(d)) => {
            exprs_taint(&d.select_expr, d.input.schema(), &inputs[0], known)
        }
        LogicalPlan::Join(j) => match j.join_type {
            JoinType::LeftSemi | JoinType::LeftAnti => inputs[0].clone(),
            JoinType::RightSemi | JoinType::RightAnti => inputs[1].clone(),
            JoinType::LeftMark => [inputs[0].as_slice(), &[false][..]].concat(),
            JoinType::RightMark => [inputs[1].as_slice(), &[false][..]].concat(),
            _ => [inputs[0].as_slice(), inputs[1].as_slice()].concat(),
        },
        LogicalPlan::Union(_) => (0..width)
            .map(|i| inputs.iter().any(|t| t.get(i).copied().unwrap_or(true)))
            .collect(),
        LogicalPlan::Values(_) | LogicalPlan::EmptyRelation(_) => vec![false; width],
        // Filter, Sort, Limit, Repartition, Distinct::All, SubqueryAlias, Subquery: the
        // input's columns, as they are.
        _ if inputs.len() == 1 && inputs[0].len() == width => inputs[0].clone(),
        _ => Vec::new(),
    };
    if computed.len() == width {
        computed
    } else {
        // A node this rule does not know the layout of: every output is tainted if any
        // input column is.
        vec![inputs.iter().flatten().any(|t| *t); width]
    }
}

fn exprs_taint<'a>(
    exprs: impl IntoIterator<Item = &'a Expr>,
    schema: &DFSchema,
    input: &[bool],
    known: &KnownTaint,
) -> Vec<bool> {
    exprs
        .into_iter()
        .map(|e| expr_taint(e, schema, input, known))
        .collect()
}

/// Whether the value of `expr`, over rows of `schema` with column taint `input`, carries
/// token lineage.
fn expr_taint(expr: &Expr, schema: &DFSchema, input: &[bool], known: &KnownTaint) -> bool {
    match expr {
        Expr::Column(column) => schema
            .maybe_index_of_column(column)
            .is_none_or(|i| input.get(i).copied().unwrap_or(true)),
        // How many rows or distinct values: a count, never which.
        Expr::AggregateFunction(f) if is_count(f.func.name()) => false,
        Expr::WindowFunction(w) => match &w.fun {
            WindowFunctionDefinition::AggregateUDF(f) if is_count(f.name()) => false,
            _ => w
                .params
                .args
                .iter()
                .any(|a| expr_taint(a, schema, input, known)),
        },
        Expr::ScalarSubquery(subquery) => plan_taint(&subquery.subquery, known)
            .first()
            .copied()
            .unwrap_or(true),
        // A column of the enclosing query inside a subquery's output: not followed.
        Expr::OuterReferenceColumn(..) => true,
        // Whether a value is in a subquery's result: the subquery's rows are not output.
        Expr::Exists(_) => false,
        Expr::InSubquery(in_subquery) => expr_taint(&in_subquery.expr, schema, input, known),
        Expr::Literal(..) | Expr::Placeholder(_) => false,
        _ => {
            let mut tainted = false;
            // `apply_children` visits the direct sub-expressions.
            let _ = datafusion::common::tree_node::TreeNode::apply_children(expr, |child| {
                tainted |= expr_taint(child, schema, input, known);
                Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
            });
            tainted
        }
    }
}

fn is_count(name: &str) -> bool {
    name.eq_ignore_ascii_case("count")
}
