use std::marker::PhantomData;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use topup_core::{Page, PageRequest, Timestamp};

use crate::{
    Backend, Filter, FindQuery, GroupKey, GroupRow, Index, Result, SortOrder, StoreError, Update,
};

/// A serde struct stored in one collection. It serializes to a JSON object whose `id` field is
/// a string; documents updated with compare-and-set also carry `version: i64`.
pub trait Document: Serialize + DeserializeOwned + Send + Sync + 'static {
    const COLLECTION: &'static str;
}

/// Who holds a document for work, and until when (workers claim due documents:
/// `docs/architecture.md#storage`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub owner: String,
    pub until: Timestamp,
}

/// The handle domain code holds: a backend behind an `Arc`, cheap to clone.
#[derive(Clone)]
pub struct Store {
    backend: Arc<dyn Backend>,
}

/// A collection's indexes set aside by [`Store::suspend_indexes`].
#[must_use = "the indexes stay out until restored"]
pub struct SuspendedIndexes {
    collection: String,
    statements: Vec<String>,
}

impl Store {
    pub fn new(backend: Arc<dyn Backend>) -> Self {
        Store { backend }
    }

    pub fn kind(&self) -> &'static str {
        self.backend.kind()
    }

    pub async fn ping(&self) -> Result<()> {
        self.backend.ping().await
    }

    pub fn collection<T: Document>(&self) -> Collection<T> {
        Collection {
            backend: Arc::clone(&self.backend),
            name: T::COLLECTION,
            kind: PhantomData,
        }
    }

    /// Sets `collection`'s secondary indexes aside for a bulk load nobody reads during; give
    /// the answer to [`Store::restore_indexes`] once loaded (see [`Backend::suspend_indexes`]).
    pub async fn suspend_indexes(&self, collection: &str) -> Result<SuspendedIndexes> {
        Ok(SuspendedIndexes {
            collection: collection.to_owned(),
            statements: self.backend.suspend_indexes(collection).await?,
        })
    }

    /// Builds again the indexes [`Store::suspend_indexes`] set aside.
    pub async fn restore_indexes(&self, suspended: SuspendedIndexes) -> Result<()> {
        self.backend
            .restore_indexes(&suspended.collection, suspended.statements)
            .await
    }

    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }
}

/// Typed access to one collection.
pub struct Collection<T> {
    backend: Arc<dyn Backend>,
    name: &'static str,
    kind: PhantomData<fn() -> T>,
}

impl<T> Clone for Collection<T> {
    fn clone(&self) -> Self {
        Collection {
            backend: Arc::clone(&self.backend),
            name: self.name,
            kind: PhantomData,
        }
    }
}

/// `updates`, plus `version += 1` unless they set `version` themselves.
fn with_version_bump(updates: &[Update]) -> Vec<Update> {
    let mut all = updates.to_vec();
    if !all.iter().any(|u| u.field().as_str() == "version") {
        all.push(Update::inc("version", 1));
    }
    all
}

impl<T: Document> Collection<T> {
    pub fn name(&self) -> &'static str {
        self.name
    }

    fn encode(&self, document: &T) -> Result<Value> {
        let value = serde_json::to_value(document)
            .map_err(|e| StoreError::InvalidDocument(e.to_string()))?;
        match value.get("id") {
            Some(Value::String(id)) if !id.is_empty() => Ok(value),
            _ => Err(StoreError::InvalidDocument(format!(
                "{} documents need a non-empty string `id`",
                self.name
            ))),
        }
    }

    fn decode(&self, value: Value) -> Result<T> {
        serde_json::from_value(value).map_err(|e| StoreError::Decode {
            collection: self.name.to_owned(),
            reason: e.to_string(),
        })
    }

    fn decode_all(&self, values: Vec<Value>) -> Result<Vec<T>> {
        values.into_iter().map(|v| self.decode(v)).collect()
    }

    pub async fn ensure_index(&self, index: Index) -> Result<()> {
        self.backend.ensure_index(self.name, &index).await
    }

    pub async fn insert(&self, document: &T) -> Result<()> {
        let value = self.encode(document)?;
        self.backend.insert(self.name, value).await
    }

    pub async fn insert_many(&self, documents: &[T]) -> Result<()> {
        if self.backend.stores_json_text() {
            let texts = documents
                .iter()
                .map(|d| {
                    serde_json::to_string(d).map_err(|e| StoreError::InvalidDocument(e.to_string()))
                })
                .collect::<Result<Vec<_>>>()?;
            return self.backend.insert_many_text(self.name, texts).await;
        }
        let values = documents
            .iter()
            .map(|d| self.encode(d))
            .collect::<Result<Vec<_>>>()?;
        self.backend.insert_many(self.name, values).await
    }

    pub async fn upsert(&self, document: &T) -> Result<()> {
        let value = self.encode(document)?;
        self.backend.upsert(self.name, value).await
    }

    pub async fn get(&self, id: &str) -> Result<Option<T>> {
        match self.backend.get(self.name, id).await? {
            Some(value) => self.decode(value).map(Some),
            None => Ok(None),
        }
    }

    /// Like [`Collection::get`], but a missing document is [`StoreError::NotFound`].
    pub async fn fetch(&self, id: &str) -> Result<T> {
        self.get(id).await?.ok_or_else(|| StoreError::NotFound {
            collection: self.name.to_owned(),
            id: id.to_owned(),
        })
    }

    pub async fn find(&self, query: &FindQuery) -> Result<Vec<T>> {
        let values = self.backend.find(self.name, query).await?;
        self.decode_all(values)
    }

    /// The document a unique key (or an index on a small collection) finds: a lookup (see
    /// [`FindQuery::lookup`]).
    pub async fn find_one(&self, filter: Filter) -> Result<Option<T>> {
        let mut found = self.find(&FindQuery::new(filter).lookup(1)).await?;
        Ok(found.pop())
    }

    pub async fn count(&self, filter: &Filter) -> Result<u64> {
        self.backend.count(self.name, filter).await
    }

    /// Counts matches, stopping at `limit`.
    pub async fn count_up_to(&self, filter: &Filter, limit: u64) -> Result<u64> {
        self.backend.count_up_to(self.name, filter, limit).await
    }

    /// One page of matching documents plus their count, which stops at
    /// [`Page::count_limit`] (`total_capped`).
    pub async fn page(
        &self,
        filter: Filter,
        sort: &[(&str, SortOrder)],
        page: PageRequest,
    ) -> Result<Page<T>> {
        self.page_counting_within(filter, sort, page, Page::<T>::COUNT_CAP)
            .await
    }

    /// [`Collection::page`] counting up to `cap` (see [`Page::count_limit_within`]; 0 counts
    /// one past the page, for lists that only offer "more").
    pub async fn page_counting_within(
        &self,
        filter: Filter,
        sort: &[(&str, SortOrder)],
        page: PageRequest,
        cap: u64,
    ) -> Result<Page<T>> {
        let counted = self
            .count_up_to(&filter, Page::<T>::count_limit_within(page, cap))
            .await?;
        let mut query = FindQuery::new(filter)
            .skip(page.offset())
            .limit(page.limit());
        for (field, order) in sort {
            query = query.sort(field, *order);
        }
        let items = self.find(&query).await?;
        Ok(Page::counted_within(items, counted, page, cap))
    }

    /// Compare-and-set: writes `document` if the stored `version` still equals the document's
    /// own, and answers the stored document with `version + 1`. A lost race is
    /// [`StoreError::Conflict`]: re-read, re-apply, retry.
    pub async fn replace(&self, document: &T) -> Result<T> {
        let mut value = self.encode(document)?;
        let expected = value
            .get("version")
            .and_then(Value::as_i64)
            .ok_or_else(|| {
                StoreError::InvalidDocument(format!(
                    "{} documents need an integer `version` for compare-and-set",
                    self.name
                ))
            })?;
        let next = expected
            .checked_add(1)
            .ok_or_else(|| StoreError::InvalidDocument("version overflow".into()))?;
        if let Some(object) = value.as_object_mut() {
            object.insert("version".into(), Value::from(next));
        }
        self.backend
            .replace(self.name, value.clone(), expected)
            .await?;
        self.decode(value)
    }

    /// Applies `updates` to `id` only if the document also matches `guard` (for example
    /// `stock -= 1` where `stock > 0`); bumps `version` so compare-and-set holders notice.
    /// `None` means the guard did not match (or no such document).
    pub async fn update(&self, id: &str, guard: Filter, updates: &[Update]) -> Result<Option<T>> {
        let all = with_version_bump(updates);
        match self.backend.update(self.name, id, &guard, &all).await? {
            Some(value) => self.decode(value).map(Some),
            None => Ok(None),
        }
    }

    /// [`Self::update`] when only "did the guard match?" matters: the document is not read
    /// back (nor decoded), which is most of an update's cost beyond the write itself.
    pub async fn update_if(&self, id: &str, guard: Filter, updates: &[Update]) -> Result<bool> {
        let all = with_version_bump(updates);
        self.backend.update_if(self.name, id, &guard, &all).await
    }

    pub async fn delete(&self, id: &str) -> Result<bool> {
        self.backend.delete(self.name, id).await
    }

    pub async fn delete_many(&self, filter: &Filter) -> Result<u64> {
        self.backend.delete_many(self.name, filter).await
    }

    pub async fn group(
        &self,
        filter: &Filter,
        key: GroupKey,
        sum_fields: &[&str],
    ) -> Result<Vec<GroupRow>> {
        let sums: Vec<String> = sum_fields.iter().map(|s| (*s).to_owned()).collect();
        self.backend.group(self.name, filter, &key, &sums).await
    }

    /// Claims up to `limit` documents matching `due` whose lease is free or expired, for
    /// `worker` until `until`, oldest `sort_field` first. A document is never held by two
    /// workers at once: each claim is a guarded atomic update.
    pub async fn claim(
        &self,
        due: Filter,
        sort_field: &str,
        worker: &str,
        now: Timestamp,
        until: Timestamp,
        limit: usize,
    ) -> Result<Vec<T>> {
        let free = Filter::eq("lease.until", Value::Null).or(Filter::lte("lease.until", now));
        let candidates = self
            .backend
            .find(
                self.name,
                &FindQuery::new(due.clone().and(free.clone()))
                    .sort(sort_field, SortOrder::Asc)
                    .limit(u64::try_from(limit.saturating_mul(2)).unwrap_or(u64::MAX)),
            )
            .await?;
        let lease = serde_json::to_value(Lease {
            owner: worker.to_owned(),
            until,
        })
        .map_err(|e| StoreError::InvalidDocument(e.to_string()))?;
        let mut claimed = Vec::new();
        for candidate in candidates {
            if claimed.len() >= limit {
                break;
            }
            let Some(id) = candidate.get("id").and_then(Value::as_str) else {
                continue;
            };
            let won = self
                .backend
                .update(
                    self.name,
                    id,
                    &due.clone().and(free.clone()),
                    &[
                        Update::set("lease", lease.clone()),
                        Update::inc("version", 1),
                    ],
                )
                .await?;
            if let Some(value) = won {
                claimed.push(self.decode(value)?);
            }
        }
        Ok(claimed)
    }

    /// Gives a lease back early if `worker` still holds it.
    pub async fn release(&self, id: &str, worker: &str) -> Result<bool> {
        let held = self
            .backend
            .update(
                self.name,
                id,
                &Filter::eq("lease.owner", worker),
                &[Update::unset("lease"), Update::inc("version", 1)],
            )
            .await?;
        Ok(held.is_some())
    }
}
