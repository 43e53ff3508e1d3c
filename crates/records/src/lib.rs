//! svna records: the shared types every command commits and reads, kept low so no crate
//! reaches up for a struct (as `datafusion-common` does for DataFusion).
//!
//! - [`spec`]: what a stage declares about its output (row-level or aggregate, and how an
//!   aggregate is protected), parsed with the pipeline file by the engine and interpreted by
//!   publish.
//! - [`policy`]: the disclosure policy, typed, so a misspelt one fails when the pipeline is read.
//! - [`record`]: run records (what ran, on which inputs, what it wrote) and where they lie.

mod policy;
mod record;
mod spec;

pub use policy::{DisclosurePolicy, UnknownPolicy};
pub use record::{
    InputRecord, RAN_LOCALLY, RunRecord, RunStatus, StageRecord, TestRecord, latest_run_path,
    run_record_path,
};
pub use spec::{
    DisclosureSpec, PartOf, RateSpec, Sensitivity, StandardPopulation, StandardisedRateSpec,
};
