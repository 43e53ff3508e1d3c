//! How a published CSV writes a figure it does not give: written by publish, read by the
//! report and by anyone comparing releases.

/// A figure withheld by svna's disclosure control (the ONS convention for "confidential").
/// Parquet files hold NULL.
pub const SUPPRESSED_MARKER: &str = "[c]";

/// A figure the partner withheld before sharing: its own cell, and every total that
/// includes it (unknown to svna too). Kept apart from [`SUPPRESSED_MARKER`] so a reader can
/// tell the partner's suppression from svna's. Parquet files hold NULL, and the table's
/// partner flag column says which.
pub const PARTNER_SUPPRESSED_MARKER: &str = "[p]";
