//! The document-store port (`docs/architecture.md#storage`): collections of serde documents with
//! typed filters, compare-and-set updates, guarded increments, unique indexes, grouped sums and
//! leases.
//!
//! Domain crates use [`Store`] and [`Collection`]; only the server names a concrete backend:
//! [`SqliteBackend`] (embedded, the default) or [`MongoBackend`] (scale-out).

mod backend;
mod collection;
mod error;
mod mongo;
mod query;
mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;

pub use backend::Backend;
pub use collection::{Collection, Document, Lease, Store, SuspendedIndexes};
pub use error::StoreError;
pub use mongo::MongoBackend;
pub use query::{
    Field, Filter, FindQuery, GroupKey, GroupRow, Index, KeyPart, SortOrder, Update,
    validate_collection,
};
pub use sqlite::{SqliteBackend, SqliteOptions, TableCounts, snapshot_sqlite, verify_sqlite};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
