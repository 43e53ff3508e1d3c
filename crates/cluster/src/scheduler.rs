use std::net::SocketAddr;
use std::sync::Arc;

use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;

use crate::error::ClusterError;
use crate::functions::scheduler_session;
use crate::stores::StoreRegistry;

/// How to start a scheduler.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// Where it listens for clients (`svna run --cluster`) and executors.
    pub bind: SocketAddr,
    /// The host executors and clients reach it at, when not the bound one (e.g. binding
    /// 0.0.0.0 behind a DNS name).
    pub advertise: Option<String>,
}

impl SchedulerOptions {
    pub fn parse(bind: &str, advertise: Option<String>) -> Result<SchedulerOptions, ClusterError> {
        let bind = bind.parse::<SocketAddr>().map_err(|e| ClusterError::Bind {
            address: bind.to_string(),
            reason: e.to_string(),
        })?;
        Ok(SchedulerOptions { bind, advertise })
    }

    /// The host executors and clients reach the scheduler at.
    pub fn host(&self) -> String {
        self.advertise
            .clone()
            .unwrap_or_else(|| self.bind.ip().to_string())
    }
}

/// Runs a scheduler until the process is stopped. Its cluster state is kept in memory: a
/// restarted scheduler forgets its executors, which register again on their next heartbeat.
pub async fn run_scheduler(options: &SchedulerOptions) -> Result<(), ClusterError> {
    let ballista = |source| ClusterError::Ballista {
        role: "scheduler",
        source,
    };
    let stores = Arc::new(StoreRegistry::new());
    let config = SchedulerConfig::default()
        .with_hostname(options.host())
        .with_port(options.bind.port())
        .with_override_session_builder(Arc::new(move |config| {
            scheduler_session(config, Arc::clone(&stores))
        }));
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(ballista)?;
    start_server(cluster, options.bind, Arc::new(config))
        .await
        .map_err(ballista)
}
