//! svna's stages on Apache DataFusion Ballista (issue 18): a scheduler and executors started
//! from the svna binary (`svna cluster scheduler`, `svna cluster executor`) that know what
//! the stock Ballista binaries do not: svna's object stores (a shared local path, S3, Azure
//! Blob, GCS, opened from the environment as `svna run` opens them: [`StoreRegistry`]) and
//! svna's one function, the `link_persons` aggregate ([`function_registry`]).
//!
//! `svna run --cluster df://HOST:PORT` is the client: the engine's sessions plan each stage's
//! logical plan here and the scheduler plans and runs the rest (`svna_engine::ClusterAddress`).

mod error;
mod executor;
mod functions;
mod scheduler;
mod stores;

pub use error::ClusterError;
pub use executor::{ExecutorOptions, run_executor};
pub use functions::{function_registry, scheduler_session};
pub use scheduler::{SchedulerOptions, run_scheduler};
pub use stores::StoreRegistry;
