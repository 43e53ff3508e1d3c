use std::path::PathBuf;
use std::sync::Arc;

use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;

use crate::error::ClusterError;
use crate::functions::function_registry;
use crate::stores::StoreRegistry;

/// How to start an executor.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// The scheduler it registers with.
    pub scheduler_host: String,
    pub scheduler_port: u16,
    /// Where it binds its Arrow Flight service (shuffle data, results); its gRPC service
    /// binds the next port unless `grpc_port` says otherwise.
    pub bind_host: String,
    pub flight_port: u16,
    pub grpc_port: u16,
    /// The host the scheduler and other executors reach it at, when not the address it
    /// connects from.
    pub advertise: Option<String>,
    /// Partitions it runs at once; all cores when 0.
    pub cores: usize,
    /// Memory for its tasks together, in bytes; Ballista's share of the machine when `None`.
    pub memory_limit: Option<u64>,
    /// Where shuffle files go (they hold row-level data: person tokens). A temporary
    /// directory removed when the executor stops, when `None`.
    pub work_dir: Option<PathBuf>,
    /// How long to keep trying to reach the scheduler at start.
    pub connect_timeout_seconds: u16,
}

impl ExecutorOptions {
    /// Reads `--scheduler HOST:PORT` (or `df://HOST:PORT`) and `--bind HOST:PORT`.
    pub fn parse(scheduler: &str, bind: &str) -> Result<ExecutorOptions, ClusterError> {
        let (scheduler_host, scheduler_port) = host_port(
            scheduler
                .trim()
                .trim_start_matches("df://")
                .trim_end_matches('/'),
        )
        .map_err(|reason| ClusterError::Scheduler {
            address: scheduler.to_string(),
            reason,
        })?;
        let (bind_host, flight_port) = host_port(bind).map_err(|reason| ClusterError::Bind {
            address: bind.to_string(),
            reason,
        })?;
        let grpc_port = flight_port
            .checked_add(1)
            .ok_or_else(|| ClusterError::Bind {
                address: bind.to_string(),
                reason: "the gRPC service takes the next port: bind below 65535".into(),
            })?;
        Ok(ExecutorOptions {
            scheduler_host,
            scheduler_port,
            bind_host,
            flight_port,
            grpc_port,
            advertise: None,
            cores: 0,
            memory_limit: None,
            work_dir: None,
            connect_timeout_seconds: 30,
        })
    }
}

fn host_port(text: &str) -> Result<(String, u16), String> {
    let (host, port) = text
        .rsplit_once(':')
        .ok_or_else(|| "no port: write HOST:PORT".to_string())?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("`{port}` is not a port from 1 to 65535"))?;
    if host.is_empty() || port == 0 {
        return Err("a host and a port from 1 to 65535 are needed".into());
    }
    Ok((host.trim_matches(['[', ']']).to_string(), port))
}

/// Runs an executor until the process is stopped (Ctrl-C or SIGTERM), registered with its
/// scheduler.
pub async fn run_executor(options: &ExecutorOptions) -> Result<(), ClusterError> {
    // A temporary directory is held until the executor stops: its shuffle files go with it.
    let (work_dir, _temporary) = match &options.work_dir {
        Some(dir) => (dir.clone(), None),
        None => {
            let temporary =
                tempfile::tempdir().map_err(|source| ClusterError::WorkDir { source })?;
            (temporary.path().to_path_buf(), Some(temporary))
        }
    };
    std::fs::create_dir_all(&work_dir).map_err(|source| ClusterError::WorkDir { source })?;
    let stores = Arc::new(StoreRegistry::new());
    let spill = work_dir.clone();
    let config = ExecutorProcessConfig {
        bind_host: options.bind_host.clone(),
        external_host: options.advertise.clone(),
        port: options.flight_port,
        grpc_port: options.grpc_port,
        scheduler_host: options.scheduler_host.clone(),
        scheduler_port: options.scheduler_port,
        scheduler_connect_timeout_seconds: options.connect_timeout_seconds,
        vcores: options.cores,
        work_dir: Some(work_dir.display().to_string()),
        memory_pool_size: options.memory_limit,
        override_function_registry: Some(Arc::new(function_registry())),
        override_runtime_producer: Some(Arc::new(move |_config| {
            let runtime = RuntimeEnvBuilder::new()
                .with_object_store_registry(stores.clone())
                .with_temp_file_path(spill.clone())
                .build()?;
            Ok(Arc::new(runtime))
        })),
        ..ExecutorProcessConfig::default()
    };
    start_executor_process(Arc::new(config))
        .await
        .map_err(|source| ClusterError::Ballista {
            role: "executor",
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_when_read() {
        let o = ExecutorOptions::parse("df://10.0.0.1:50050", "0.0.0.0:50051").unwrap();
        assert_eq!(
            (o.scheduler_host.as_str(), o.scheduler_port),
            ("10.0.0.1", 50050)
        );
        assert_eq!(
            (o.bind_host.as_str(), o.flight_port, o.grpc_port),
            ("0.0.0.0", 50051, 50052)
        );
        let o = ExecutorOptions::parse("scheduler:7000", "127.0.0.1:7001").unwrap();
        assert_eq!(o.scheduler_host, "scheduler");
        for (scheduler, bind) in [
            ("scheduler", "0.0.0.0:1"),
            ("scheduler:x", "0.0.0.0:1"),
            ("s:1", "0.0.0.0"),
            ("s:1", "0.0.0.0:65535"),
            ("s:1", ":5"),
        ] {
            let err = ExecutorOptions::parse(scheduler, bind)
                .unwrap_err()
                .to_string();
            assert!(err.contains(scheduler) || err.contains(bind), "{err}");
        }
    }
}
