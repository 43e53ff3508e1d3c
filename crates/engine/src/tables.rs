use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::prelude::SessionContext;
use svna_storage::Store;

use crate::error::EngineError;

/// Registers exactly the listed Parquet files (root-relative store paths) as one table. Files
/// are addressed by URL, never listed from a directory, so a file that no committed manifest
/// names is never read. With a schema the files are read with it (contract schemas); without
/// one it is taken from the files (stage outputs, which svna wrote itself). With a schema and
/// no files the table is empty: DataFusion scans nothing, locally or on a cluster.
pub async fn register_parquet_files(
    ctx: &SessionContext,
    store: &Store,
    table: &str,
    files: &[String],
    schema: Option<SchemaRef>,
) -> Result<(), EngineError> {
    let table_error = |source| EngineError::Table {
        table: table.to_string(),
        source,
    };
    let urls = files
        .iter()
        .map(|f| ListingTableUrl::parse(store.url_of(f)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(table_error)?;
    let options =
        ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    let mut config = ListingTableConfig::new_with_multi_paths(urls);
    // Set directly: `with_listing_options` debug-asserts that there are paths, and an empty
    // optional source has none (DataFusion then scans nothing).
    config.options = Some(options);
    config = match schema {
        Some(schema) => config.with_schema(schema),
        None => config
            .infer_schema(&ctx.state())
            .await
            .map_err(table_error)?,
    };
    let provider = ListingTable::try_new(config).map_err(table_error)?;
    ctx.register_table(table, Arc::new(provider))
        .map_err(table_error)?;
    Ok(())
}
