//! `svna cluster`: a Ballista scheduler or executor from the svna binary, knowing svna's
//! object stores and functions. `svna run --cluster df://HOST:PORT` sends a run's stages there.

use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;
use svna_cluster::{ExecutorOptions, SchedulerOptions, run_executor, run_scheduler};
use svna_engine::parse_byte_size;

use super::Outcome;

#[derive(Subcommand)]
pub enum ClusterCommand {
    /// Start a scheduler: it plans each stage sent by `svna run --cluster df://HOST:PORT` and
    /// hands its tasks to the executors registered with it. Runs until stopped.
    Scheduler {
        /// Address to listen on, HOST:PORT (Ballista's default port is 50050).
        #[arg(long, default_value = "0.0.0.0:50050")]
        bind: String,
        /// Host name executors and clients reach this scheduler at, when not the bound address.
        #[arg(long)]
        advertise: Option<String>,
    },
    /// Start an executor that registers with a scheduler and runs its tasks. Every executor
    /// must reach the store the run names: the same s3://, az:// or gs:// URL with the same
    /// AWS_*, AZURE_*, GOOGLE_* environment, or for a local store a directory all share.
    /// Runs until stopped (Ctrl-C or SIGTERM).
    Executor {
        /// The scheduler, HOST:PORT or df://HOST:PORT.
        #[arg(long)]
        scheduler: String,
        /// Address of this executor's data (Arrow Flight) service, HOST:PORT; its gRPC
        /// service takes the next port unless --grpc-port says otherwise.
        #[arg(long, default_value = "0.0.0.0:50051")]
        bind: String,
        /// Port of the executor's gRPC service (default: the --bind port + 1).
        #[arg(long)]
        grpc_port: Option<u16>,
        /// Host name the scheduler and other executors reach this executor at, when not the
        /// address it connects from.
        #[arg(long)]
        advertise: Option<String>,
        /// Partitions to run at once (default: every core).
        #[arg(long, default_value_t = 0)]
        cores: usize,
        /// Memory for all its tasks together, e.g. 8GiB; operators spill beyond it
        /// (default: Ballista's share of the machine's memory).
        #[arg(long)]
        memory_limit: Option<String>,
        /// Directory for shuffle and spill files, which hold row-level data (default: a
        /// temporary directory removed when the executor stops).
        #[arg(long)]
        work_dir: Option<PathBuf>,
        /// Seconds to keep trying to reach the scheduler at start.
        #[arg(long, default_value_t = 30)]
        connect_timeout: u16,
    },
}

pub async fn cluster(command: ClusterCommand) -> Result<Outcome> {
    // A server's log: Ballista's own messages (jobs, stages, executors), filtered by RUST_LOG.
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    match command {
        ClusterCommand::Scheduler { bind, advertise } => {
            let options = SchedulerOptions::parse(&bind, advertise)?;
            eprintln!(
                "svna cluster scheduler listening on {}: run stages here with svna run --cluster df://{}:{}",
                options.bind,
                options.host(),
                options.bind.port()
            );
            run_scheduler(&options).await?;
        }
        ClusterCommand::Executor {
            scheduler,
            bind,
            grpc_port,
            advertise,
            cores,
            memory_limit,
            work_dir,
            connect_timeout,
        } => {
            let mut options = ExecutorOptions::parse(&scheduler, &bind)?;
            if let Some(port) = grpc_port {
                options.grpc_port = port;
            }
            options.advertise = advertise;
            options.cores = cores;
            options.memory_limit = memory_limit
                .as_deref()
                .map(parse_byte_size)
                .transpose()?
                .map(|bytes| bytes as u64);
            options.work_dir = work_dir;
            options.connect_timeout_seconds = connect_timeout;
            eprintln!(
                "svna cluster executor on {}:{} (gRPC {}), registering with scheduler {}:{}",
                options.bind_host,
                options.flight_port,
                options.grpc_port,
                options.scheduler_host,
                options.scheduler_port
            );
            run_executor(&options).await?;
        }
    }
    Ok(Outcome::Ok)
}
