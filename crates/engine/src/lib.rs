//! svna engine: pipelines of DataFusion SQL stages over an object store.
//!
//! A pipeline file (TOML, see `pipelines/sna.toml`) declares sources (staged contract
//! datasets), stages (one read-only SQL file each, with the tables it `needs`), what each
//! stage's output is (row-level or aggregate, with a disclosure policy) and tests. A stage is
//! only a `SessionContext`, its SQL, and tables registered from store URLs, so the same stage
//! runs unchanged on a Ballista cluster ([`ClusterAddress`]; `svna-cluster` starts one that
//! knows svna's object stores and its one function, the `link_persons` aggregate of
//! [`linkage`](link_persons_udaf)).

mod cluster;
mod error;
mod lineage;
mod linkage;
mod memory_pool;
mod pipeline;
mod run;
mod session;
mod stage;
mod tables;

pub use cluster::{ClusterAddress, DEFAULT_SCHEDULER_PORT};
pub use error::EngineError;
pub use lineage::{KnownTaint, token_lineage};
pub use linkage::{LINK_PERSONS, Link, link, link_persons_udaf};
pub use pipeline::{Pipeline, Source, Stage, StageTest};
// The records a run commits and the stage declarations live in svna-records (no DataFusion),
// re-exported so the engine's users need not name both.
pub use run::{RunOptions, run_pipeline};
pub use session::{EngineConfig, parse_byte_size, read_only_sql_options};
pub use svna_records::{
    DisclosurePolicy, DisclosureSpec, InputRecord, PartOf, RAN_LOCALLY, RateSpec, RunRecord,
    RunStatus, Sensitivity, StageRecord, StandardPopulation, StandardisedRateSpec, TestRecord,
    UnknownPolicy, latest_run_path, run_record_path,
};
pub use tables::register_parquet_files;
