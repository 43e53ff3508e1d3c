use bytes::Bytes;
use futures::FutureExt;
use futures::future::BoxFuture;
use object_store::buffered::BufWriter;
use parquet::arrow::async_writer::AsyncFileWriter;
use parquet::arrow::{ArrowWriter, AsyncArrowWriter};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::error::StorageError;
use crate::manifest::FileEntry;
use crate::store::Store;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;

/// A Parquet object being written into the store. Its bytes are hashed on their way out, so
/// its manifest entry (SHA-256 and size) needs no second read of the object; it becomes
/// visible only when [`ParquetObject::finish`] completes the upload (a multipart upload or
/// a rename), so no reader ever sees half a file.
pub struct ParquetObject {
    relative: String,
    writer: AsyncArrowWriter<HashingWriter>,
    rows: u64,
}

impl ParquetObject {
    pub(crate) fn new(
        store: &Store,
        relative: &str,
        schema: SchemaRef,
        properties: WriterProperties,
    ) -> Result<Self, StorageError> {
        store.check_writable(relative)?;
        let sink = HashingWriter {
            inner: BufWriter::new(store.object_store(), store.path(relative)),
            hasher: Sha256::new(),
            size: 0,
        };
        let writer = AsyncArrowWriter::try_new(sink, schema, Some(properties))
            .map_err(|e| parquet_error(relative, e))?;
        Ok(Self {
            relative: relative.to_string(),
            writer,
            rows: 0,
        })
    }

    pub async fn write(&mut self, batch: &RecordBatch) -> Result<(), StorageError> {
        self.rows += batch.num_rows() as u64;
        self.writer
            .write(batch)
            .await
            .map_err(|e| parquet_error(&self.relative, e))
    }

    /// Writes the footer, completes the upload and returns the object's manifest entry.
    pub async fn finish(mut self) -> Result<FileEntry, StorageError> {
        self.writer
            .finish()
            .await
            .map_err(|e| parquet_error(&self.relative, e))?;
        let sink = self.writer.into_inner();
        Ok(FileEntry {
            path: self.relative,
            sha256: hex::encode(sink.hasher.finalize()),
            size: sink.size,
            rows: Some(self.rows),
        })
    }
}

/// Who reads a Parquet file svna writes, which decides how it is written. Every Parquet file
/// svna writes is written here, with one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParquetReaders {
    /// svna's own stages (staged extracts, stage outputs). Row groups of 64 Ki rows let a
    /// query scan one file on several cores (DataFusion splits a file by row groups); the
    /// writer's default of 1 Mi rows put a whole county's persons in one group, scanned on
    /// one core. LZ4: measured at scale 1, Snappy's decompression was a tenth of the
    /// pipeline's CPU time; LZ4 reads about as fast as no compression and still compresses.
    Pipeline,
    /// The public, in a release: Snappy, the codec every Parquet reader (pandas, R arrow,
    /// DuckDB, Power BI, Spark) has read for longest. Published tables are small.
    Public,
}

impl ParquetReaders {
    pub(crate) fn properties(self) -> WriterProperties {
        match self {
            ParquetReaders::Pipeline => WriterProperties::builder()
                .set_compression(parquet::basic::Compression::LZ4_RAW)
                .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
                .build(),
            ParquetReaders::Public => WriterProperties::builder()
                .set_compression(parquet::basic::Compression::SNAPPY)
                .build(),
        }
    }
}

/// A small table as the bytes of one Parquet file, for a commit that puts it whole (a
/// release's table, the deliveries dataset); `relative` names it in errors. Large outputs
/// stream through [`ParquetObject`] instead.
pub fn parquet_bytes(
    relative: &str,
    schema: SchemaRef,
    batches: &[RecordBatch],
    readers: ParquetReaders,
) -> Result<Bytes, StorageError> {
    let error = |e| parquet_error(relative, e);
    let mut writer =
        ArrowWriter::try_new(Vec::new(), schema, Some(readers.properties())).map_err(error)?;
    for batch in batches {
        writer.write(batch).map_err(error)?;
    }
    Ok(Bytes::from(writer.into_inner().map_err(error)?))
}

const ROW_GROUP_ROWS: usize = 64 * 1024;

fn parquet_error(relative: &str, source: ParquetError) -> StorageError {
    StorageError::Parquet {
        path: relative.to_string(),
        source,
    }
}

/// Forwards bytes to the object store while hashing them.
struct HashingWriter {
    inner: BufWriter,
    hasher: Sha256,
    size: u64,
}

impl AsyncFileWriter for HashingWriter {
    fn write(&mut self, bytes: Bytes) -> BoxFuture<'_, parquet::errors::Result<()>> {
        self.hasher.update(&bytes);
        self.size += bytes.len() as u64;
        async move {
            self.inner
                .put(bytes)
                .await
                .map_err(|e| ParquetError::External(Box::new(e)))
        }
        .boxed()
    }

    fn complete(&mut self) -> BoxFuture<'_, parquet::errors::Result<()>> {
        async move {
            self.inner
                .shutdown()
                .await
                .map_err(|e| ParquetError::External(Box::new(e)))
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::store::Store;
    use arrow_array::{Int32Array, RecordBatch};
    use arrow_schema::{DataType, Field, Schema};

    /// The entry computed on the way out must equal a checksum of the object as stored.
    #[tokio::test]
    async fn entry_matches_the_stored_object() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().to_str().unwrap()).unwrap();
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int32, false)]));
        let mut object = store
            .parquet_writer("work/t.parquet", Arc::clone(&schema))
            .unwrap();
        for start in [0, 5000] {
            let values = Int32Array::from_iter_values(start..start + 5000);
            let batch = RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(values)]).unwrap();
            object.write(&batch).await.unwrap();
        }
        let entry = object.finish().await.unwrap();
        let stored = store.checksum("work/t.parquet").await.unwrap();
        assert_eq!(entry.sha256, stored.sha256);
        assert_eq!(entry.size, stored.size);
        assert_eq!(entry.rows, Some(10_000));
        assert!(entry.size > 0);
    }
}
