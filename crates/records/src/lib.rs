//! svna records: the shared types every command commits and reads, kept low so no crate
//! reaches up for a struct (as `datafusion-common` does for DataFusion).
//!
//! - [`spec`]: what a stage declares about its output (row-level or aggregate, and how an
//!   aggregate is protected), parsed with the pipeline file by the engine and interpreted by
//!   publish.
//! - [`marker`]: how a published CSV writes a withheld figure (`[c]`, `[p]`).
//! - [`policy`]: the disclosure policy, typed, so a misspelt one fails when the pipeline is read.
//! - [`release`]: a release's manifest (every published file, its checksum and where its
//!   numbers came from) and where it lies.
//! - [`record`]: run records (what ran, on which inputs, what it wrote) and where they lie.
//! - [`staged`]: a dataset's staged manifest, the loads pipelines read, committed by intake
//!   and read by the engine.

mod marker;
mod policy;
mod record;
mod release;
mod spec;
mod staged;

pub use marker::{PARTNER_SUPPRESSED_MARKER, SUPPRESSED_MARKER};
pub use policy::{DisclosurePolicy, UnknownPolicy};
pub use record::{
    InputRecord, RAN_LOCALLY, RunRecord, RunStatus, StageRecord, TestRecord, latest_run_path,
    run_record_path,
};
pub use release::{
    LeftOut, PublishedTable, RELEASE_MANIFEST, ReleaseManifest, SqlHash, release_manifest_path,
    release_prefix,
};
pub use spec::{
    DisclosureSpec, PartOf, RateSpec, Sensitivity, StandardPopulation, StandardisedRateSpec,
};
pub use staged::{
    CommitContention, Delivery, Edit, LoadRecord, Retraction, StagedManifest, period_dates,
    periods_overlap, staged_manifest_prefix,
};
