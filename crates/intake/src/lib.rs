//! svna intake: turns partner CSV extracts into typed, validated Parquet in the staged zone.
//!
//! Every row is accounted for: `rows_received = rows_staged + rows_rejected`, and every
//! rejected row keeps its line, column, rule and reason in the quarantine zone. A staged
//! dataset becomes visible to pipelines only through its manifest, written last as a new
//! numbered version that no concurrent command can overwrite.

mod check;
mod cross_file;
mod deliveries;
mod error;
mod extract;
mod intake;
mod keys;
mod linkage;
mod load;
mod period;
mod retract;
mod status;
mod upload;

pub use check::{FileCheck, FileCheckReport, Problem, check_files};
pub use cross_file::{ReferencedKeys, orphan_rows, reference_rule, referenced_keys};
pub use deliveries::{
    DELIVERIES_DATASET, DeliveriesSnapshot, DeliveryRow, delivery_rows, refresh_deliveries,
};
pub use error::IntakeError;
pub use extract::{ExtractReader, Rejection, RowCounts, read_extract};
pub use intake::{IntakeFile, IntakeRecord, IntakeStatus, intake_all};
pub use keys::{
    FINGERPRINT_LEN, KeyRegistered, KeyRegistration, check_fingerprint, register_key,
    registered_key,
};
pub use linkage::Linkage;
pub use load::{
    LoadOutcome, LoadRequest, load_extract, load_extract_for, load_local_file,
    load_uploaded_extract, upload_local_file,
};
pub use period::parse_period;
pub use retract::{RetractTarget, Retracted, retract};
pub use status::{DeliveryStatus, delivery_status};
pub use svna_records::{
    Delivery, Edit, LoadRecord, Retraction, StagedManifest, periods_overlap, staged_manifest_prefix,
};
pub use upload::{
    UploadFile, UploadManifest, UploadOutcome, UploadRequest, upload, upload_extracts,
};
