use std::sync::Arc;

use ballista_core::registry::BallistaFunctionRegistry;
use ballista_core::utils::default_session_builder;
use datafusion::error::Result;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::registry::FunctionRegistry;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::AggregateUDF;
use datafusion::prelude::SessionConfig;

use crate::stores::StoreRegistry;

/// svna's one function beside DataFusion's: the person-linkage aggregate.
fn link_persons() -> Arc<AggregateUDF> {
    Arc::new(svna_engine::link_persons_udaf())
}

/// The functions an executor resolves plan nodes against: Ballista's defaults and svna's
/// `link_persons`, so the `person_links` stage runs there as it runs locally.
pub fn function_registry() -> BallistaFunctionRegistry {
    let mut registry = BallistaFunctionRegistry::default();
    let udaf = link_persons();
    registry
        .aggregate_functions
        .insert(udaf.name().to_string(), udaf);
    registry
}

/// The scheduler's session for each client session: Ballista's own, with svna's stores
/// (to list and plan the tables a stage reads) and `link_persons` (to decode its plan).
pub fn scheduler_session(
    config: SessionConfig,
    stores: Arc<StoreRegistry>,
) -> Result<SessionState> {
    let runtime = RuntimeEnvBuilder::new()
        .with_object_store_registry(stores)
        .build_arc()?;
    let mut state = SessionStateBuilder::new_from_existing(default_session_builder(config)?)
        .with_runtime_env(runtime)
        .build();
    state.register_udaf(link_persons())?;
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_persons_is_known_to_executors_and_the_scheduler() {
        let name = svna_engine::LINK_PERSONS;
        assert!(function_registry().aggregate_functions.contains_key(name));
        let state = scheduler_session(
            ballista_core::utils::default_config_producer(),
            Arc::new(StoreRegistry::new()),
        )
        .unwrap();
        assert!(state.udaf(name).is_ok());
        // Ballista's defaults are still there.
        assert!(state.udaf("count").is_ok());
    }
}
