//! A fresh store for one test, on the backend the environment chooses: SQLite in a temporary
//! directory by default, or a database of its own on the MongoDB server named by
//! `TOPUP_TEST_MONGODB_URI` (dropped when the test's store is dropped). The same suites thereby
//! run on both backends: once as they are, once with the variable set (see `docs/testing.md`).

use std::sync::Arc;

use crate::{MongoBackend, SqliteBackend, SqliteOptions, Store, StoreError};

/// The environment variable naming the MongoDB server the suites run against when set.
pub const MONGODB_URI_ENV: &str = "TOPUP_TEST_MONGODB_URI";

/// The SQLite test store's file name in its directory.
pub const SQLITE_FILE: &str = "store.db";

/// Which backend a test store uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    Sqlite,
    Mongo,
}

impl TestBackend {
    /// MongoDB when `TOPUP_TEST_MONGODB_URI` is set, else SQLite.
    pub fn from_env() -> TestBackend {
        match std::env::var(MONGODB_URI_ENV) {
            Ok(uri) if !uri.trim().is_empty() => TestBackend::Mongo,
            _ => TestBackend::Sqlite,
        }
    }
}

/// A store that lives as long as one test. Keep it alive for the whole test: dropping it
/// removes the SQLite directory or drops the MongoDB database.
pub struct TestStore {
    pub store: Store,
    pub backend: TestBackend,
    /// The directory beside the store, for whatever else the test writes (always present).
    pub dir: tempfile::TempDir,
    mongo: Option<MongoBackend>,
}

impl TestStore {
    /// A fresh, empty store on the backend [`TestBackend::from_env`] chooses.
    pub async fn open() -> Result<TestStore, StoreError> {
        Self::open_on(TestBackend::from_env()).await
    }

    pub async fn open_on(backend: TestBackend) -> Result<TestStore, StoreError> {
        let dir = tempfile::tempdir()
            .map_err(|e| StoreError::Unavailable(format!("temporary directory: {e}")))?;
        match backend {
            TestBackend::Sqlite => {
                let options = SqliteOptions::new(dir.path().join(SQLITE_FILE));
                let sqlite = SqliteBackend::open(&options)?;
                Ok(TestStore {
                    store: Store::new(Arc::new(sqlite)),
                    backend,
                    dir,
                    mongo: None,
                })
            }
            TestBackend::Mongo => {
                let uri = std::env::var(MONGODB_URI_ENV).map_err(|_| {
                    StoreError::Unavailable(format!("{MONGODB_URI_ENV} is not set"))
                })?;
                let server = MongoBackend::connect(&uri).await?;
                let name = format!(
                    "topup_test_{}",
                    ulid::Ulid::new().to_string().to_lowercase()
                );
                let mongo = server.with_database(&name);
                Ok(TestStore {
                    store: Store::new(Arc::new(mongo.clone())),
                    backend,
                    dir,
                    mongo: Some(mongo),
                })
            }
        }
    }

    /// The `store.url` a `topup serve` process would use for this same store.
    pub fn url(&self) -> String {
        match &self.mongo {
            Some(mongo) => match std::env::var(MONGODB_URI_ENV) {
                Ok(uri) => with_database(&uri, mongo.database_name()),
                Err(_) => String::new(),
            },
            None => format!("sqlite://{}", self.dir.path().join("store.db").display()),
        }
    }
}

/// `mongodb://host:port/?opts` with the path's database replaced by `name`.
fn with_database(uri: &str, name: &str) -> String {
    let (head, query) = match uri.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (uri, None),
    };
    let authority_end = head
        .find("://")
        .map(|scheme| {
            head[scheme + 3..]
                .find('/')
                .map_or(head.len(), |slash| scheme + 3 + slash)
        })
        .unwrap_or(head.len());
    let mut out = format!("{}/{name}", &head[..authority_end]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

impl Drop for TestStore {
    fn drop(&mut self) {
        let Some(mongo) = self.mongo.take() else {
            return;
        };
        let Ok(uri) = std::env::var(MONGODB_URI_ENV) else {
            return;
        };
        let name = mongo.database_name().to_owned();
        // Best effort, with a client of its own on a runtime of its own: the test's runtime may
        // be a current-thread one that this very call blocks.
        let _ = std::thread::spawn(move || {
            if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                runtime.block_on(async move {
                    if let Ok(server) = MongoBackend::connect(&uri).await {
                        let _ = server.with_database(&name).drop_database().await;
                    }
                });
            }
        })
        .join();
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_name_replaces_the_uris_path() {
        assert_eq!(
            with_database("mongodb://127.0.0.1:27017", "t1"),
            "mongodb://127.0.0.1:27017/t1"
        );
        assert_eq!(
            with_database("mongodb://a:1,b:2/old?replicaSet=rs0", "t1"),
            "mongodb://a:1,b:2/t1?replicaSet=rs0"
        );
    }
}
