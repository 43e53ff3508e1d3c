use std::sync::Arc;

use datafusion::error::{DataFusionError, Result};
use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
use object_store::ObjectStore;
use svna_storage::Store;
use url::Url;

/// Object stores by URL for a scheduler or an executor: each store is opened on first use
/// the way `svna run` opens it (`Store::open`, credentials and endpoints from `AWS_*`,
/// `AZURE_*`, `GOOGLE_*`), so a cluster started with the same environment reads the same
/// objects the run names. Local paths (`file://`) must be a directory every machine shares.
#[derive(Debug, Default)]
pub struct StoreRegistry {
    opened: DefaultObjectStoreRegistry,
}

impl StoreRegistry {
    pub fn new() -> StoreRegistry {
        StoreRegistry::default()
    }
}

impl ObjectStoreRegistry for StoreRegistry {
    fn register_store(
        &self,
        url: &Url,
        store: Arc<dyn ObjectStore>,
    ) -> Option<Arc<dyn ObjectStore>> {
        self.opened.register_store(url, store)
    }

    fn deregister_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        self.opened.deregister_store(url)
    }

    fn get_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        if let Ok(store) = self.opened.get_store(url) {
            return Ok(store);
        }
        if url.scheme() == "memory" {
            return Err(DataFusionError::Configuration(format!(
                "{url}: an in-memory store cannot be read by a cluster; use a shared directory \
                 or an s3://, az:// or gs:// store"
            )));
        }
        // Keyed by the store's `scheme://authority/`, as `svna run` registers it.
        let store =
            Store::open(url.as_str()).map_err(|e| DataFusionError::External(Box::new(e)))?;
        self.opened
            .register_store(store.base_url(), store.object_store());
        Ok(store.object_store())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_files_are_served_and_memory_is_refused() {
        let registry = StoreRegistry::new();
        let dir = tempfile::tempdir().unwrap();
        let url = Url::from_directory_path(dir.path()).unwrap();
        assert!(registry.get_store(&url).is_ok());
        let err = registry
            .get_store(&Url::parse("memory:///staged/x.parquet").unwrap())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("in-memory store cannot be read by a cluster"),
            "{err}"
        );
    }

    #[test]
    fn a_cloud_store_is_opened_once_per_bucket() {
        // Opening an S3 store contacts nothing: the builder only reads the environment.
        let registry = StoreRegistry::new();
        let a = registry
            .get_store(&Url::parse("s3://bucket-a/staged/x.parquet").unwrap())
            .unwrap();
        let again = registry
            .get_store(&Url::parse("s3://bucket-a/work/run/y.parquet").unwrap())
            .unwrap();
        let other = registry
            .get_store(&Url::parse("s3://bucket-b/staged/x.parquet").unwrap())
            .unwrap();
        assert!(Arc::ptr_eq(&a, &again));
        assert!(!Arc::ptr_eq(&a, &other));
    }
}
