//! svna publish: turns the aggregate outputs of a finished run into a release in the
//! published zone — disclosure-controlled Parquet and CSV, a checker report and a manifest
//! with checksums and provenance. Every gate refuses with a reason and writes nothing
//! visible: the release manifest, written last and never overwritten, is the commit point.

mod commit;
mod csv_out;
mod dictionary;
mod error;
mod gate;
mod ledger;
mod output_table;
mod protect;
mod release;
mod standardise;
mod write;
mod xlsx;

pub use commit::{Cleaned, STALE_AFTER, clean_leftovers};
pub use csv_out::neutralise;
pub use error::PublishError;
pub use ledger::{LedgerEntry, LedgerPart, read_ledger};
pub use output_table::{OutputTable, PartnerMark, lower_bound_column, partner_flag};
pub use release::{PublishOptions, VerifyReport, publish_run, verify_release};
pub use standardise::{Standardised, band_ages, standard_weight};
pub use xlsx::{
    CONTENTS_HEADER_ROW, CONTENTS_SHEET, DICTIONARY_SHEET, HEADER_ROW as WORKBOOK_HEADER_ROW,
    WORKBOOK, sheet_names,
};

pub use svna_records::{
    LeftOut, PARTNER_SUPPRESSED_MARKER, PublishedTable, ReleaseManifest, SUPPRESSED_MARKER,
    SqlHash, release_manifest_path,
};
