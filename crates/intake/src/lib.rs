//! svna intake: turns partner CSV extracts into typed, validated Parquet in the staged zone.
//!
//! Every row is accounted for: `rows_received = rows_staged + rows_rejected`, and every
//! rejected row keeps its line, column, rule and reason in the quarantine zone. A staged
//! dataset becomes visible to pipelines only through its manifest, written last.

mod cross_file;
mod deliveries;
mod delivery;
mod error;
mod extract;
mod load;
mod staged;

pub use cross_file::{ReferencedKeys, orphan_rows, reference_rule, referenced_keys};
pub use deliveries::{
    DELIVERIES_DATASET, DeliveriesSnapshot, DeliveryRow, delivery_rows, refresh_deliveries,
};
pub use delivery::{
    DeliveryStatus, IntakeFile, IntakeRecord, IntakeStatus, UploadFile, UploadManifest,
    delivery_status, intake_all, parse_period, upload,
};
pub use error::IntakeError;
pub use extract::{ExtractReader, Rejection, RowCounts, read_extract};
pub use load::{
    LoadOutcome, load_delivered_extract, load_extract, load_uploaded_extract, upload_local_file,
};
pub use staged::{Delivery, LoadRecord, StagedManifest, staged_manifest_path};
