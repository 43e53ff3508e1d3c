use std::sync::Arc;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{
    GetResultPayload, ObjectStore, ObjectStoreExt, ObjectStoreScheme, PutMode, PutOptions,
    PutPayload,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;
use url::Url;

use crate::checksum::{Checksummed, checksum_reader};
use crate::error::StorageError;
use crate::manifest::FileEntry;
use crate::parquet_object::ParquetObject;
use crate::zone::Zone;

/// The block a local file is read and uploaded in (one multipart part per block).
const UPLOAD_BLOCK: usize = 8 << 20;

/// An object opened for reading; see [`Store::open_read`].
pub enum ObjectReader {
    File(std::fs::File),
    Stream(futures::stream::BoxStream<'static, object_store::Result<Bytes>>),
}

impl ObjectReader {
    /// A blocking reader over the object, for parsers that read synchronously (call it from
    /// within the Tokio runtime; read it on a blocking thread).
    pub fn into_blocking_reader(self) -> Box<dyn std::io::Read + Send> {
        match self {
            ObjectReader::File(file) => Box::new(file),
            ObjectReader::Stream(stream) => Box::new(tokio_util::io::SyncIoBridge::new(
                tokio_util::io::StreamReader::new(stream.map_err(std::io::Error::other)),
            )),
        }
    }
}

/// A store root: an object store plus the prefix svna owns inside it. Paths given to its
/// methods are relative to that root (e.g. `staged/police_offences/_manifest.json`).
#[derive(Clone)]
pub struct Store {
    location: String,
    base_url: Url,
    root: Path,
    inner: Arc<dyn ObjectStore>,
    /// The zones this handle may write (None: all). Each command opens the store limited
    /// to the zones it owns, so a bug or a wrong argument cannot write elsewhere.
    writable: Option<Arc<Vec<Zone>>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("location", &self.location)
            .finish()
    }
}

impl Store {
    /// Opens a store from a URL or a plain directory path (created if missing).
    /// Cloud credentials and endpoints come from the environment, as the object_store
    /// builders read them (`AWS_*`, `AZURE_*`, `GOOGLE_*`).
    pub fn open(location: &str) -> Result<Store, StorageError> {
        let invalid = |reason: String| StorageError::InvalidLocation {
            location: location.to_string(),
            reason,
        };
        let url = match Url::parse(location) {
            Ok(url) if url.scheme().len() > 1 => url,
            // A plain path (or a Windows drive letter): the local default.
            _ => local_url(location)?,
        };
        let unusable = |source: object_store::Error| StorageError::UnusableLocation {
            location: location.to_string(),
            source,
        };
        // Its error type is private to object_store: only its text can be kept.
        let (scheme, root) = ObjectStoreScheme::parse(&url).map_err(|e| invalid(e.to_string()))?;
        let inner: Arc<dyn ObjectStore> = match scheme {
            ObjectStoreScheme::Local => {
                let dir = url
                    .to_file_path()
                    .map_err(|_| invalid("not a file path".into()))?;
                std::fs::create_dir_all(&dir).map_err(|source| {
                    local_directory(location, "cannot create directory", source)
                })?;
                Arc::new(LocalFileSystem::new())
            }
            ObjectStoreScheme::Memory => Arc::new(InMemory::new()),
            ObjectStoreScheme::AmazonS3 => Arc::new(
                AmazonS3Builder::from_env()
                    .with_url(url.as_str())
                    .build()
                    .map_err(unusable)?,
            ),
            ObjectStoreScheme::MicrosoftAzure => Arc::new(
                MicrosoftAzureBuilder::from_env()
                    .with_url(url.as_str())
                    .build()
                    .map_err(unusable)?,
            ),
            ObjectStoreScheme::GoogleCloudStorage => Arc::new(
                GoogleCloudStorageBuilder::from_env()
                    .with_url(url.as_str())
                    .build()
                    .map_err(unusable)?,
            ),
            other => return Err(invalid(format!("{other:?} stores are not supported"))),
        };
        let root = Path::parse(root.as_ref()).map_err(|e| invalid(e.to_string()))?;
        let mut base_url = url.clone();
        base_url.set_path("/");
        base_url.set_query(None);
        Ok(Store {
            location: url.to_string(),
            base_url,
            root,
            inner,
            writable: None,
        })
    }

    /// The same store, writable only in `zones` (reads are unrestricted).
    pub fn restricted_to(&self, zones: &[Zone]) -> Store {
        Store {
            writable: Some(Arc::new(zones.to_vec())),
            ..self.clone()
        }
    }

    /// Refuses a write outside the zones this handle may write.
    pub fn check_writable(&self, relative: &str) -> Result<(), StorageError> {
        let Some(zones) = &self.writable else {
            return Ok(());
        };
        let first = relative
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or("");
        if zones.iter().any(|z| z.prefix() == first) {
            return Ok(());
        }
        Err(StorageError::OutsideZone {
            path: relative.to_string(),
            allowed: zones
                .iter()
                .map(|z| format!("{}/", z.prefix()))
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    /// The URL the store was opened with.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// `scheme://authority/`: what DataFusion's object store registry is keyed by.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// The underlying object store (unprefixed), for registration with DataFusion.
    pub fn object_store(&self) -> Arc<dyn ObjectStore> {
        Arc::clone(&self.inner)
    }

    /// The object path of a root-relative path.
    pub fn path(&self, relative: &str) -> Path {
        let relative = relative.trim_matches('/');
        let tail = Path::from(relative);
        Path::from_iter(self.root.parts().chain(tail.parts()))
    }

    /// The full URL of a root-relative path, for registering tables by URL (so a stage
    /// runs unchanged on a cluster that can reach the same store).
    pub fn url_of(&self, relative: &str) -> String {
        format!("{}{}", self.base_url, self.path(relative))
    }

    /// Writes an object in one atomic put: readers see the old object or the new one,
    /// never a partial file.
    pub async fn put(&self, relative: &str, bytes: Bytes) -> Result<(), StorageError> {
        self.check_writable(relative)?;
        let path = self.path(relative);
        self.inner
            .put(&path, PutPayload::from(bytes))
            .await
            .map_err(|e| StorageError::from_store("write", relative, e))?;
        Ok(())
    }

    /// Writes an object that must not exist yet (releases, records): fails rather than
    /// overwrite.
    pub async fn put_new(&self, relative: &str, bytes: Bytes) -> Result<(), StorageError> {
        self.check_writable(relative)?;
        let path = self.path(relative);
        if self.exists(relative).await? {
            return Err(StorageError::AlreadyExists {
                path: relative.to_string(),
            });
        }
        let options = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        self.inner
            .put_opts(&path, PutPayload::from(bytes), options)
            .await
            .map_err(|e| StorageError::from_store("create", relative, e))?;
        Ok(())
    }

    /// Deletes an object; one already gone is not an error (cleanup may run twice).
    pub async fn delete(&self, relative: &str) -> Result<(), StorageError> {
        self.check_writable(relative)?;
        match self.inner.delete(&self.path(relative)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(StorageError::from_store("delete", relative, e)),
        }
    }

    /// Copies an object inside the store (server-side where the store can; a hard link on a
    /// local store). Object stores have no rename: copy then delete is the way to move.
    pub async fn copy(&self, from: &str, to: &str) -> Result<(), StorageError> {
        self.check_writable(to)?;
        self.inner
            .copy(&self.path(from), &self.path(to))
            .await
            .map_err(|e| StorageError::from_store("copy", to, e))
    }

    /// The directory of a local store (`file://` URL), where files can also be reached
    /// without object_store (e.g. its `#`-suffixed temporaries, which it never lists);
    /// `None` for a cloud or in-memory store.
    pub fn local_root(&self) -> Option<std::path::PathBuf> {
        let url = Url::parse(&self.location).ok()?;
        if url.scheme() != "file" {
            return None;
        }
        url.to_file_path().ok()
    }

    pub async fn get(&self, relative: &str) -> Result<Bytes, StorageError> {
        let path = self.path(relative);
        let result = self
            .inner
            .get(&path)
            .await
            .map_err(|e| StorageError::from_store("read", relative, e))?;
        result
            .bytes()
            .await
            .map_err(|e| StorageError::from_store("read", relative, e))
    }

    pub async fn exists(&self, relative: &str) -> Result<bool, StorageError> {
        match self.inner.head(&self.path(relative)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(StorageError::from_store("inspect", relative, e)),
        }
    }

    /// Root-relative paths of every object under a root-relative prefix, sorted.
    pub async fn list(&self, relative_prefix: &str) -> Result<Vec<String>, StorageError> {
        let prefix = self.path(relative_prefix);
        let root_parts = self.root.parts().count();
        let mut paths: Vec<String> = self
            .inner
            .list(Some(&prefix))
            .map_ok(|meta| {
                meta.location
                    .parts()
                    .skip(root_parts)
                    .map(|p| p.as_ref().to_string())
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .try_collect()
            .await
            .map_err(|e| StorageError::from_store("list", relative_prefix, e))?;
        paths.sort();
        Ok(paths)
    }

    /// Streams an object through SHA-256 without holding it in memory. A local file is read
    /// directly in large blocks on a blocking thread: object_store's local stream reads 8 KiB
    /// at a time, each on its own blocking task, which cost more than the hashing.
    pub async fn checksum(&self, relative: &str) -> Result<Checksummed, StorageError> {
        let read_error = |e: std::io::Error| StorageError::ObjectStore {
            op: "read",
            path: relative.to_string(),
            source: object_store::Error::Generic {
                store: "local",
                source: Box::new(e),
            },
        };
        match self.open_read(relative).await? {
            ObjectReader::File(file) => tokio::task::spawn_blocking(move || checksum_reader(file))
                .await
                .map_err(|e| read_error(std::io::Error::other(e)))?
                .map_err(read_error),
            ObjectReader::Stream(mut stream) => {
                let mut hasher = Sha256::new();
                let mut size = 0u64;
                while let Some(chunk) = stream.next().await {
                    let chunk = chunk.map_err(|e| StorageError::from_store("read", relative, e))?;
                    size += chunk.len() as u64;
                    hasher.update(&chunk);
                }
                Ok(Checksummed {
                    sha256: hex::encode(hasher.finalize()),
                    size,
                })
            }
        }
    }

    /// Opens an object for reading from start to end: a local file as the file itself (for
    /// large blocking reads), anything else as a stream of chunks.
    pub async fn open_read(&self, relative: &str) -> Result<ObjectReader, StorageError> {
        let result = self
            .inner
            .get(&self.path(relative))
            .await
            .map_err(|e| StorageError::from_store("read", relative, e))?;
        Ok(match result.payload {
            GetResultPayload::File(file, _) => ObjectReader::File(file),
            GetResultPayload::Stream(stream) => ObjectReader::Stream(stream),
        })
    }

    /// Copies a local file into the store, streamed in parts, hashing it on the way: the
    /// object appears only when complete (a multipart upload, or a rename on a local
    /// store), and its entry's SHA-256 and size need no second read.
    pub async fn upload_file(
        &self,
        local: &std::path::Path,
        relative: &str,
    ) -> Result<FileEntry, StorageError> {
        let read_error = |source| StorageError::LocalFile {
            file: local.to_path_buf(),
            source,
        };
        let upload_error = |e| StorageError::from_store("upload", relative, e);
        self.check_writable(relative)?;
        let mut file = tokio::fs::File::open(local).await.map_err(read_error)?;
        let upload = self
            .inner
            .put_multipart(&self.path(relative))
            .await
            .map_err(upload_error)?;
        let mut writer = object_store::WriteMultipart::new(upload);
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut buffer = vec![0u8; UPLOAD_BLOCK];
        loop {
            let n = file.read(&mut buffer).await.map_err(read_error)?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            size += n as u64;
            // At most four parts in flight: memory stays bounded whatever the file's size.
            writer.wait_for_capacity(4).await.map_err(upload_error)?;
            writer.put(Bytes::copy_from_slice(&buffer[..n]));
        }
        writer.finish().await.map_err(upload_error)?;
        Ok(FileEntry {
            path: relative.to_string(),
            sha256: hex::encode(hasher.finalize()),
            size,
            rows: None,
        })
    }

    /// Starts writing a Parquet object; see [`ParquetObject`].
    pub fn parquet_writer(
        &self,
        relative: &str,
        schema: arrow_schema::SchemaRef,
    ) -> Result<ParquetObject, StorageError> {
        ParquetObject::new(
            self,
            relative,
            schema,
            crate::parquet_object::ParquetReaders::Pipeline.properties(),
        )
    }

    /// A manifest entry for an object already in the store.
    pub async fn file_entry(
        &self,
        relative: &str,
        rows: Option<u64>,
    ) -> Result<FileEntry, StorageError> {
        let sum = self.checksum(relative).await?;
        Ok(FileEntry {
            path: relative.to_string(),
            sha256: sum.sha256,
            size: sum.size,
            rows,
        })
    }

    /// Writes pretty JSON atomically: used for manifests and records, the commit points.
    pub async fn put_json<T: Serialize>(
        &self,
        relative: &str,
        value: &T,
    ) -> Result<(), StorageError> {
        self.put(relative, json_bytes(relative, value)?).await
    }

    /// Like [`Store::put_json`] but never overwrites.
    pub async fn put_json_new<T: Serialize>(
        &self,
        relative: &str,
        value: &T,
    ) -> Result<(), StorageError> {
        self.put_new(relative, json_bytes(relative, value)?).await
    }

    pub async fn get_json<T: DeserializeOwned>(
        &self,
        relative: &str,
        what: &'static str,
    ) -> Result<T, StorageError> {
        let bytes = self.get(relative).await?;
        serde_json::from_slice(&bytes).map_err(|source| StorageError::Json {
            path: relative.to_string(),
            what,
            source,
        })
    }
}

fn json_bytes<T: Serialize>(relative: &str, value: &T) -> Result<Bytes, StorageError> {
    let mut text = serde_json::to_vec_pretty(value).map_err(|source| StorageError::Json {
        path: relative.to_string(),
        what: "serialisation",
        source,
    })?;
    text.push(b'\n');
    Ok(Bytes::from(text))
}

fn local_url(location: &str) -> Result<Url, StorageError> {
    let path = std::path::Path::new(location);
    std::fs::create_dir_all(path)
        .map_err(|source| local_directory(location, "cannot create directory", source))?;
    let absolute = std::fs::canonicalize(path)
        .map_err(|source| local_directory(location, "cannot resolve the directory", source))?;
    Url::from_directory_path(&absolute).map_err(|_| StorageError::InvalidLocation {
        location: location.to_string(),
        reason: "not an absolute path".into(),
    })
}

fn local_directory(location: &str, action: &'static str, source: std::io::Error) -> StorageError {
    StorageError::LocalDirectory {
        location: location.to_string(),
        action,
        source,
    }
}
