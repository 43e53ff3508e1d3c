//! A store handle limited to some zones refuses writes elsewhere, naming the path and the
//! zones it may write.

use bytes::Bytes;
use svna_storage::{StorageError, Store, Zone};

#[tokio::test]
async fn a_restricted_store_writes_only_its_own_zones() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().to_str().unwrap()).unwrap();
    let publisher = store.restricted_to(&[Zone::Published, Zone::Runs]);
    publisher
        .put("published/r1/manifest.json", Bytes::from_static(b"{}"))
        .await
        .unwrap();
    let refused = publisher
        .put("staged/police_offences/x.parquet", Bytes::from_static(b"x"))
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, StorageError::OutsideZone { path, allowed }
            if path == "staged/police_offences/x.parquet" && allowed == "published/, runs/"),
        "{refused}"
    );
    assert!(
        !store
            .exists("staged/police_offences/x.parquet")
            .await
            .unwrap()
    );
    // Reads are not restricted, and the unrestricted handle still writes anywhere.
    assert_eq!(
        publisher.get("published/r1/manifest.json").await.unwrap(),
        Bytes::from_static(b"{}")
    );
    store
        .put("staged/police_offences/x.parquet", Bytes::from_static(b"x"))
        .await
        .unwrap();
}
