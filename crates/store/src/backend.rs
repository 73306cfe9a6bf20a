use async_trait::async_trait;
use serde_json::Value;

use crate::{Filter, FindQuery, GroupKey, GroupRow, Index, Result, StoreError, Update};

/// What every storage backend implements, on JSON documents. Each document is a JSON object
/// with a string `id`; documents under compare-and-set carry an integer `version`.
/// Domain code does not call this directly: it goes through [`crate::Collection`].
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// `sqlite` or `mongodb`, for logs and `/readyz`.
    fn kind(&self) -> &'static str;

    /// Cheap round trip proving the store answers.
    async fn ping(&self) -> Result<()>;

    /// Creates the index if it does not exist (idempotent).
    async fn ensure_index(&self, collection: &str, index: &Index) -> Result<()>;

    /// Inserts a new document; an existing id or unique value → [`crate::StoreError::Duplicate`].
    async fn insert(&self, collection: &str, document: Value) -> Result<()>;

    /// Inserts many documents atomically where the backend allows (all or none on SQLite).
    async fn insert_many(&self, collection: &str, documents: Vec<Value>) -> Result<()>;

    /// Whether [`Backend::insert_many_text`] stores JSON text as it is (the embedded store):
    /// [`crate::Collection::insert_many`] then serializes each document straight to text
    /// rather than through a `Value` first.
    fn stores_json_text(&self) -> bool {
        false
    }

    /// [`Backend::insert_many`] for documents serialized as JSON text, each an object with a
    /// non-empty string `id`.
    async fn insert_many_text(&self, collection: &str, documents: Vec<String>) -> Result<()> {
        let documents = documents
            .iter()
            .map(|text| {
                serde_json::from_str(text).map_err(|e| StoreError::InvalidDocument(e.to_string()))
            })
            .collect::<Result<Vec<Value>>>()?;
        self.insert_many(collection, documents).await
    }

    /// Inserts or overwrites by id, without a version check (seed data, caches).
    async fn upsert(&self, collection: &str, document: Value) -> Result<()>;

    async fn get(&self, collection: &str, id: &str) -> Result<Option<Value>>;

    async fn find(&self, collection: &str, query: &FindQuery) -> Result<Vec<Value>>;

    async fn count(&self, collection: &str, filter: &Filter) -> Result<u64>;

    /// Counts matches, stopping at `limit`: the answer is at most `limit`, and reading stops
    /// there (a page's total, `topup_core::Page::count_limit`).
    async fn count_up_to(&self, collection: &str, filter: &Filter, limit: u64) -> Result<u64>;

    /// Overwrites the document with the same id if its stored `version` equals
    /// `expected_version`; otherwise [`crate::StoreError::Conflict`] (or `NotFound`).
    async fn replace(&self, collection: &str, document: Value, expected_version: i64)
    -> Result<()>;

    /// Applies `updates` atomically to the document `id` if it also matches `guard`;
    /// answers the updated document, or `None` when the guard (or id) did not match.
    async fn update(
        &self,
        collection: &str,
        id: &str,
        guard: &Filter,
        updates: &[Update],
    ) -> Result<Option<Value>>;

    /// [`Backend::update`] for a caller that needs only to know whether the guard matched:
    /// nothing is read back.
    async fn update_if(
        &self,
        collection: &str,
        id: &str,
        guard: &Filter,
        updates: &[Update],
    ) -> Result<bool>;

    async fn delete(&self, collection: &str, id: &str) -> Result<bool>;

    async fn delete_many(&self, collection: &str, filter: &Filter) -> Result<u64>;

    /// Sets a collection's secondary indexes aside for a bulk load nobody reads during (the
    /// demo data), answering how to build them again ([`Backend::restore_indexes`]). Building
    /// an index once over sorted keys is far cheaper than keeping it up to date row by row.
    /// Backends where it does not pay answer nothing to restore and change nothing. A load
    /// that dies in between leaves the indexes out until the next start's `ensure_index`.
    async fn suspend_indexes(&self, _collection: &str) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    /// Builds again the indexes [`Backend::suspend_indexes`] set aside.
    async fn restore_indexes(&self, _collection: &str, _indexes: Vec<String>) -> Result<()> {
        Ok(())
    }

    /// Counts matching documents and sums integer fields per group, ordered by key.
    async fn group(
        &self,
        collection: &str,
        filter: &Filter,
        key: &GroupKey,
        sum_fields: &[String],
    ) -> Result<Vec<GroupRow>>;
}
