//! Arguments and argument parsing that several commands share.

use anyhow::{Context, Result};
use clap::Args;

#[derive(Args)]
pub struct StoreArgs {
    /// Store (directory path or URL).
    #[arg(long)]
    pub store: String,
    #[arg(long)]
    pub json: bool,
}

/// Splits `<store>/published/<release>` into the store location and the release name.
pub(crate) fn split_release_url(url: &str) -> Result<(String, String)> {
    let marker = "/published/";
    // A relative path that starts in the published zone lies in the current directory's store.
    let relative = format!("./{url}");
    let url = if url.starts_with("published/") {
        relative.as_str()
    } else {
        url
    };
    let trimmed = url.trim_end_matches('/');
    let at = trimmed.rfind(marker).with_context(|| {
        format!("`{url}` is not a release URL: expected <store>/published/<release>")
    })?;
    let release = &trimmed[at + marker.len()..];
    if release.is_empty() || release.contains('/') {
        anyhow::bail!("`{url}` is not a release URL: expected <store>/published/<release>");
    }
    let store = &trimmed[..at];
    let store = if store.is_empty() { "/" } else { store };
    Ok((store.to_string(), release.to_string()))
}
