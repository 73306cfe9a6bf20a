//! The scale-out backend: the official `mongodb` driver, one MongoDB collection per store
//! collection, the document `id` stored as `_id`.
//!
//! The translation of the port into BSON lives in pure functions (filters, sorts, updates,
//! indexes, the grouping pipeline, error classification) so it is unit-tested without a
//! server; the [`Backend`] impl only sends what they build. The SQLite backend's semantics are
//! the contract; the few places MongoDB cannot match them are listed on [`MongoBackend`].

use std::time::Duration;

use async_trait::async_trait;
use futures_util::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::options::{ClientOptions, IndexOptions, ReturnDocument};
use mongodb::{Client, Database, IndexModel};
use serde_json::{Map, Value};

use crate::query::validate_collection;
use crate::{
    Backend, Field, Filter, FindQuery, GroupKey, GroupRow, Index, KeyPart, Result, SortOrder,
    StoreError, Update,
};

/// Database used when the URL names none.
const DEFAULT_DATABASE: &str = "topup";

/// Short enough that `/readyz` answers "not ready" quickly instead of hanging on a dead
/// cluster; a URL's own `serverSelectionTimeoutMS` / `connectTimeoutMS` win.
const SERVER_SELECTION_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Server error codes meaning "duplicate key" (11001 and 12582 are legacy/mongos spellings).
const DUPLICATE_KEY_CODES: [i32; 3] = [11000, 11001, 12582];
/// `IndexOptionsConflict` and `IndexKeySpecsConflict`: an index by that name or on those keys
/// already exists with another definition.
const INDEX_CONFLICT_CODES: [i32; 2] = [85, 86];

/// The MongoDB backend (`docs/architecture.md#storage`). Cheap to clone: clones share the
/// driver's connection pool.
///
/// Connect with [`MongoBackend::connect`] and a `mongodb://` URL whose path names the
/// database. `mongodb+srv://` URLs are not supported: the driver is built without its DNS
/// resolver, so list the hosts (and `replicaSet=`) explicitly.
///
/// Where MongoDB's behaviour differs from the SQLite reference and cannot be translated away:
/// - [`Backend::insert_many`] is ordered but not atomic: documents before a failing one stay
///   inserted (there is no multi-document transaction here).
/// - Comparison filters on array-valued fields match any element (MongoDB's implicit array
///   traversal); SQLite compares the whole array. Use [`Filter::Has`] for membership.
/// - Comparisons are type-bracketed: a number never compares greater or less than a string,
///   and `true` is not equal to `1`, where SQLite compares across types.
/// - [`Filter::Contains`] matches string fields only (SQLite also matches the text of numbers)
///   and folds case for all of Unicode (SQLite's `lower` folds ASCII only).
/// - A unique index ignores documents *lacking* its fields, but two documents storing an
///   explicit `null` collide (SQLite treats every `NULL` as distinct). Omit such fields.
/// - Two updates in one call on a parent and a child path (`a` and `a.b`) are refused by the
///   server; updates on the same path are folded so the last one wins, as on SQLite.
/// - Group keys keep their BSON type (`true`, objects), where SQLite answers its SQL value.
/// - Integers beyond `i64` cannot be stored ([`StoreError::InvalidDocument`]), and a document
///   may not carry its own `_id` field.
#[derive(Clone)]
pub struct MongoBackend {
    client: Client,
    database: Database,
}

impl std::fmt::Debug for MongoBackend {
    // The client's options may hold credentials; only the database name is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MongoBackend")
            .field("database", &self.database.name())
            .finish_non_exhaustive()
    }
}

impl MongoBackend {
    /// Parses `url` (`mongodb://user:pass@host1,host2/dbname?replicaSet=rs0`) and builds a
    /// client. Connections are made lazily: an unreachable server shows up in the first call
    /// (for example [`Backend::ping`] from `/readyz`), not here. The database defaults to
    /// `topup`. Server selection and connecting time out after 5 s unless the URL sets
    /// `serverSelectionTimeoutMS` / `connectTimeoutMS`.
    pub async fn connect(url: &str) -> Result<MongoBackend> {
        let mut options = ClientOptions::parse(url)
            .await
            .map_err(|e| StoreError::Unavailable(format!("invalid MongoDB URL: {}", e.kind)))?;
        options.server_selection_timeout = options
            .server_selection_timeout
            .or(Some(SERVER_SELECTION_TIMEOUT));
        options.connect_timeout = options.connect_timeout.or(Some(CONNECT_TIMEOUT));
        options.app_name = options.app_name.or_else(|| Some("topup".to_owned()));
        let database = options
            .default_database
            .clone()
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| DEFAULT_DATABASE.to_owned());
        let client = Client::with_options(options)
            .map_err(|e| StoreError::Unavailable(format!("MongoDB client: {}", e.kind)))?;
        let database = client.database(&database);
        Ok(MongoBackend { client, database })
    }

    /// The same client and pool on another database (tests and tools use throwaway ones).
    pub fn with_database(&self, name: &str) -> MongoBackend {
        MongoBackend {
            client: self.client.clone(),
            database: self.client.database(name),
        }
    }

    pub fn database_name(&self) -> &str {
        self.database.name()
    }

    /// Drops this backend's whole database. For tests and benchmarks that made their own.
    pub async fn drop_database(&self) -> Result<()> {
        self.database
            .drop()
            .await
            .map_err(|e| store_error(e, self.database.name()))
    }

    fn collection(&self, name: &str) -> Result<mongodb::Collection<Document>> {
        Ok(self.database.collection(validate_collection(name)?))
    }

    async fn exists(&self, collection: &mongodb::Collection<Document>, id: &str) -> Result<bool> {
        let found = collection
            .count_documents(id_filter(id))
            .limit(1)
            .await
            .map_err(|e| store_error(e, collection.name()))?;
        Ok(found > 0)
    }
}

#[async_trait]
impl Backend for MongoBackend {
    fn kind(&self) -> &'static str {
        "mongodb"
    }

    async fn ping(&self) -> Result<()> {
        self.database
            .run_command(doc! { "ping": 1 })
            .await
            .map(|_| ())
            .map_err(|e| StoreError::Unavailable(e.kind.to_string()))
    }

    async fn ensure_index(&self, collection: &str, index: &Index) -> Result<()> {
        let model = index_model(index)?;
        let collection = self.collection(collection)?;
        match collection.create_index(model).await {
            Ok(_) => Ok(()),
            // Like SQLite's `CREATE INDEX IF NOT EXISTS`: an existing index wins.
            Err(error)
                if command_code(&error).is_some_and(|c| INDEX_CONFLICT_CODES.contains(&c)) =>
            {
                tracing::warn!(
                    collection = collection.name(),
                    index = %index.name,
                    error = %error.kind,
                    "index exists with another definition; keeping it"
                );
                Ok(())
            }
            Err(error) => Err(store_error(error, collection.name())),
        }
    }

    async fn insert(&self, collection: &str, document: Value) -> Result<()> {
        let document = to_stored(document)?;
        let collection = self.collection(collection)?;
        collection
            .insert_one(document)
            .await
            .map(|_| ())
            .map_err(|e| store_error(e, collection.name()))
    }

    /// Ordered: stops at the first failure. Not atomic on MongoDB (no transaction): the
    /// documents before the failing one stay inserted.
    async fn insert_many(&self, collection: &str, documents: Vec<Value>) -> Result<()> {
        let documents = documents
            .into_iter()
            .map(to_stored)
            .collect::<Result<Vec<_>>>()?;
        let collection = self.collection(collection)?;
        if documents.is_empty() {
            return Ok(());
        }
        collection
            .insert_many(documents)
            .ordered(true)
            .await
            .map(|_| ())
            .map_err(|e| store_error(e, collection.name()))
    }

    async fn upsert(&self, collection: &str, document: Value) -> Result<()> {
        let document = to_stored(document)?;
        let id = stored_id(&document)?;
        let collection = self.collection(collection)?;
        collection
            .replace_one(id_filter(&id), document)
            .upsert(true)
            .await
            .map(|_| ())
            .map_err(|e| store_error(e, collection.name()))
    }

    async fn get(&self, collection: &str, id: &str) -> Result<Option<Value>> {
        let collection = self.collection(collection)?;
        let found = collection
            .find_one(id_filter(id))
            .await
            .map_err(|e| store_error(e, collection.name()))?;
        found.map(|d| from_stored(d, collection.name())).transpose()
    }

    async fn find(&self, collection: &str, query: &FindQuery) -> Result<Vec<Value>> {
        query.validate()?;
        let filter = filter_to_bson(&query.filter)?;
        let sort = sort_to_bson(query)?;
        let collection = self.collection(collection)?;
        // MongoDB reads a limit of 0 as "no limit"; SQLite's `LIMIT 0` answers nothing.
        if query.limit == Some(0) {
            return Ok(Vec::new());
        }
        let mut find = collection.find(filter).sort(sort);
        if query.skip > 0 {
            find = find.skip(query.skip);
        }
        if let Some(limit) = query.limit {
            find = find.limit(i64::try_from(limit).unwrap_or(i64::MAX));
        }
        let documents: Vec<Document> = find
            .await
            .map_err(|e| store_error(e, collection.name()))?
            .try_collect()
            .await
            .map_err(|e| store_error(e, collection.name()))?;
        documents
            .into_iter()
            .map(|d| from_stored(d, collection.name()))
            .collect()
    }

    async fn count(&self, collection: &str, filter: &Filter) -> Result<u64> {
        filter.validate()?;
        let filter = filter_to_bson(filter)?;
        let collection = self.collection(collection)?;
        collection
            .count_documents(filter)
            .await
            .map_err(|e| store_error(e, collection.name()))
    }

    async fn count_up_to(&self, collection: &str, filter: &Filter, limit: u64) -> Result<u64> {
        filter.validate()?;
        let filter = filter_to_bson(filter)?;
        let collection = self.collection(collection)?;
        collection
            .count_documents(filter)
            .limit(limit)
            .await
            .map_err(|e| store_error(e, collection.name()))
    }

    async fn replace(
        &self,
        collection: &str,
        document: Value,
        expected_version: i64,
    ) -> Result<()> {
        let document = to_stored(document)?;
        let id = stored_id(&document)?;
        let collection = self.collection(collection)?;
        let result = collection
            .replace_one(version_filter(&id, expected_version), document)
            .await
            .map_err(|e| store_error(e, collection.name()))?;
        if result.matched_count == 1 {
            return Ok(());
        }
        let name = collection.name().to_owned();
        Err(if self.exists(&collection, &id).await? {
            StoreError::Conflict {
                collection: name,
                id,
            }
        } else {
            StoreError::NotFound {
                collection: name,
                id,
            }
        })
    }

    async fn update(
        &self,
        collection: &str,
        id: &str,
        guard: &Filter,
        updates: &[Update],
    ) -> Result<Option<Value>> {
        guard.validate()?;
        let filter = guarded_id_filter(id, guard)?;
        let update = update_to_bson(updates)?;
        let collection = self.collection(collection)?;
        let found = match update {
            Some(update) => collection
                .find_one_and_update(filter, update)
                .return_document(ReturnDocument::After)
                .await
                .map_err(|e| store_error(e, collection.name()))?,
            // Nothing to change: answer the document if it matches, as SQLite's no-op UPDATE.
            None => collection
                .find_one(filter)
                .await
                .map_err(|e| store_error(e, collection.name()))?,
        };
        found.map(|d| from_stored(d, collection.name())).transpose()
    }

    async fn update_if(
        &self,
        collection: &str,
        id: &str,
        guard: &Filter,
        updates: &[Update],
    ) -> Result<bool> {
        guard.validate()?;
        let filter = guarded_id_filter(id, guard)?;
        let update = update_to_bson(updates)?;
        let collection = self.collection(collection)?;
        let matched = match update {
            Some(update) => {
                collection
                    .update_one(filter, update)
                    .await
                    .map_err(|e| store_error(e, collection.name()))?
                    .matched_count
            }
            None => collection
                .count_documents(filter)
                .await
                .map_err(|e| store_error(e, collection.name()))?,
        };
        Ok(matched > 0)
    }

    async fn delete(&self, collection: &str, id: &str) -> Result<bool> {
        let collection = self.collection(collection)?;
        let result = collection
            .delete_one(id_filter(id))
            .await
            .map_err(|e| store_error(e, collection.name()))?;
        Ok(result.deleted_count > 0)
    }

    async fn delete_many(&self, collection: &str, filter: &Filter) -> Result<u64> {
        filter.validate()?;
        let filter = filter_to_bson(filter)?;
        let collection = self.collection(collection)?;
        let result = collection
            .delete_many(filter)
            .await
            .map_err(|e| store_error(e, collection.name()))?;
        Ok(result.deleted_count)
    }

    async fn group(
        &self,
        collection: &str,
        filter: &Filter,
        key: &GroupKey,
        sum_fields: &[String],
    ) -> Result<Vec<GroupRow>> {
        filter.validate()?;
        let pipeline = group_pipeline(filter, key, sum_fields)?;
        let collection = self.collection(collection)?;
        let rows: Vec<Document> = collection
            .aggregate(pipeline)
            .await
            .map_err(|e| store_error(e, collection.name()))?
            .try_collect()
            .await
            .map_err(|e| store_error(e, collection.name()))?;
        rows.into_iter()
            .map(|row| group_row(row, sum_fields.len(), collection.name()))
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Pure translation: port → BSON.

/// The stored path of a field: `id` is MongoDB's `_id`.
fn field_path(field: &Field) -> Result<String> {
    let path = field.validate()?;
    Ok(if field.is_id() {
        "_id".to_owned()
    } else {
        path.to_owned()
    })
}

/// A filter no document matches (MongoDB refuses an empty `$or`).
fn match_nothing() -> Document {
    doc! { "_id": { "$in": [] } }
}

fn id_filter(id: &str) -> Document {
    doc! { "_id": id }
}

/// The compare-and-set target: this id at this version.
fn version_filter(id: &str, expected_version: i64) -> Document {
    doc! { "_id": id, "version": { "$eq": expected_version } }
}

fn guarded_id_filter(id: &str, guard: &Filter) -> Result<Document> {
    let guard = filter_to_bson(guard)?;
    Ok(if guard.is_empty() {
        id_filter(id)
    } else {
        doc! { "$and": [id_filter(id), guard] }
    })
}

/// Translates a typed filter. Values always go through `$eq`/`$in`/… so a JSON object value
/// is compared literally and can never act as a query operator.
pub(crate) fn filter_to_bson(filter: &Filter) -> Result<Document> {
    let comparison = |field: &Field, operator: &str, value: &Value| -> Result<Document> {
        // SQLite's `x > NULL` is never true; MongoDB's `$gte: null` would match missing fields.
        if value.is_null() {
            return Ok(match_nothing());
        }
        let mut condition = Document::new();
        condition.insert(operator, json_to_bson(value)?);
        let mut matcher = Document::new();
        matcher.insert(field_path(field)?, condition);
        Ok(matcher)
    };
    let on_field = |field: &Field, condition: Document| -> Result<Document> {
        let mut matcher = Document::new();
        matcher.insert(field_path(field)?, condition);
        Ok(matcher)
    };
    match filter {
        Filter::All => Ok(Document::new()),
        // `$eq: null` matches null and missing; `$ne: v` matches missing: both as on SQLite.
        Filter::Eq(field, value) => on_field(field, doc! { "$eq": json_to_bson(value)? }),
        Filter::Ne(field, value) => on_field(field, doc! { "$ne": json_to_bson(value)? }),
        // `$in: []` matches nothing, and a null element matches missing fields.
        Filter::In(field, values) => {
            let values = values
                .iter()
                .map(json_to_bson)
                .collect::<Result<Vec<_>>>()?;
            on_field(field, doc! { "$in": values })
        }
        Filter::Gt(field, value) => comparison(field, "$gt", value),
        Filter::Gte(field, value) => comparison(field, "$gte", value),
        Filter::Lt(field, value) => comparison(field, "$lt", value),
        Filter::Lte(field, value) => comparison(field, "$lte", value),
        Filter::Exists(field, true) => on_field(field, doc! { "$ne": Bson::Null }),
        Filter::Exists(field, false) => on_field(field, doc! { "$eq": Bson::Null }),
        Filter::Contains(field, needle) => on_field(
            field,
            doc! { "$regex": escape_regex(needle), "$options": "i" },
        ),
        // SQLite's `json_each.value = NULL` never holds.
        Filter::Has(_, Value::Null) => Ok(match_nothing()),
        // On an array, `$eq` matches when any element is equal.
        Filter::Has(field, value) => on_field(field, doc! { "$eq": json_to_bson(value)? }),
        Filter::And(parts) if parts.is_empty() => Ok(Document::new()),
        Filter::Or(parts) if parts.is_empty() => Ok(match_nothing()),
        Filter::And(parts) | Filter::Or(parts) => {
            let operator = if matches!(filter, Filter::And(_)) {
                "$and"
            } else {
                "$or"
            };
            let parts = parts
                .iter()
                .map(|p| filter_to_bson(p).map(Bson::Document))
                .collect::<Result<Vec<_>>>()?;
            let mut combined = Document::new();
            combined.insert(operator, parts);
            Ok(combined)
        }
    }
}

/// A regex matching `needle` literally: every ASCII character that is not a letter, digit or
/// space is backslash-escaped (PCRE reads `\` + punctuation as that character), and control
/// characters are written as `\x{..}`.
pub(crate) fn escape_regex(needle: &str) -> String {
    let mut pattern = String::with_capacity(needle.len() * 2);
    for c in needle.chars() {
        if c.is_ascii_control() {
            pattern.push_str(&format!("\\x{{{:02x}}}", u32::from(c)));
        } else if c.is_ascii() && !c.is_ascii_alphanumeric() && c != ' ' {
            pattern.push('\\');
            pattern.push(c);
        } else {
            pattern.push(c);
        }
    }
    pattern
}

fn order_value(order: SortOrder) -> i32 {
    match order {
        SortOrder::Asc => 1,
        SortOrder::Desc => -1,
    }
}

/// The sort keys, then `_id` in the direction of the last key so pages never overlap.
pub(crate) fn sort_to_bson(query: &FindQuery) -> Result<Document> {
    let mut sort = Document::new();
    for (field, order) in &query.sort {
        let path = field_path(field)?;
        // A repeated key cannot change the order any more; keep the first.
        if !sort.contains_key(&path) {
            sort.insert(path, order_value(*order));
        }
    }
    // Sorting by the id already gives a total order.
    if !sort.contains_key("_id") {
        sort.insert("_id", order_value(query.tie_break_order()));
    }
    Ok(sort)
}

/// `$set` / `$unset` / `$inc`. A later update of the same path replaces an earlier one, which
/// is what SQLite's chained `jsonb_set` produces (its increments read the stored value).
/// `None` when there is nothing to change.
pub(crate) fn update_to_bson(updates: &[Update]) -> Result<Option<Document>> {
    let mut last: Vec<(String, &Update)> = Vec::new();
    for update in updates {
        if update.field().is_id() {
            return Err(StoreError::InvalidName("id cannot be updated".into()));
        }
        let path = field_path(update.field())?;
        last.retain(|(p, _)| *p != path);
        last.push((path, update));
    }
    let (mut set, mut unset, mut inc) = (Document::new(), Document::new(), Document::new());
    for (path, update) in last {
        match update {
            Update::Set(_, value) => {
                set.insert(path, json_to_bson(value)?);
            }
            Update::Unset(_) => {
                unset.insert(path, "");
            }
            Update::Inc(_, by) => {
                inc.insert(path, *by);
            }
        }
    }
    let mut operators = Document::new();
    for (operator, fields) in [("$set", set), ("$unset", unset), ("$inc", inc)] {
        if !fields.is_empty() {
            operators.insert(operator, fields);
        }
    }
    Ok((!operators.is_empty()).then_some(operators))
}

/// The index under our own name. Non-unique indexes end with `_id` so they also serve the
/// id tie-breaker of sorted pages; unique ones only index documents that have every field, so
/// documents lacking them are unconstrained (as SQLite's NULLs never collide).
pub(crate) fn index_model(index: &Index) -> Result<IndexModel> {
    index.validate()?;
    let mut keys = Document::new();
    let mut present = Document::new();
    for (field, order) in &index.fields {
        let path = field_path(field)?;
        keys.insert(path.clone(), order_value(*order));
        present.insert(path, doc! { "$exists": true });
    }
    if !index.unique && !keys.contains_key("_id") {
        keys.insert("_id", 1);
    }
    let options = if index.unique {
        IndexOptions::builder()
            .name(index.name.clone())
            .unique(true)
            .partial_filter_expression(present)
            .build()
    } else {
        IndexOptions::builder().name(index.name.clone()).build()
    };
    Ok(IndexModel::builder().keys(keys).options(options).build())
}

/// `+HH:MM` / `-HH:MM` for `$dateToString`'s `timezone`.
fn utc_offset(minutes: i32) -> String {
    let sign = if minutes < 0 { '-' } else { '+' };
    let magnitude = minutes.unsigned_abs();
    format!("{sign}{:02}:{:02}", magnitude / 60, magnitude % 60)
}

/// `$match` → `$group` (count and one `$sum` per field, named `s0`, `s1`, … because field
/// paths may hold dots) → `$sort` by key.
/// The first `chars` characters of a string field.
fn prefix(field: &Field, chars: u32) -> Result<Bson> {
    Ok(Bson::Document(doc! {
        "$substrCP": [format!("${}", field_path(field)?), 0, i64::from(chars)]
    }))
}

pub(crate) fn group_pipeline(
    filter: &Filter,
    key: &GroupKey,
    sum_fields: &[String],
) -> Result<Vec<Document>> {
    let key = match key {
        GroupKey::Field(field) => Bson::String(format!("${}", field_path(field)?)),
        // A missing field must group as null, as SQLite's json_array does, not vanish.
        GroupKey::Fields(parts) => Bson::Array(
            parts
                .iter()
                .map(|part| {
                    Ok(match part {
                        KeyPart::Field(f) => Bson::Document(
                            doc! { "$ifNull": [format!("${}", field_path(f)?), Bson::Null] },
                        ),
                        KeyPart::Prefix { field, chars } => prefix(field, *chars)?,
                    })
                })
                .collect::<Result<Vec<_>>>()?,
        ),
        GroupKey::Prefix { field, chars } => prefix(field, *chars)?,
        GroupKey::Day {
            field,
            utc_offset_minutes,
        } => Bson::Document(doc! {
            "$dateToString": {
                "date": {
                    "$dateFromString": {
                        "dateString": format!("${}", field_path(field)?),
                        // SQLite's date() of an unparsable string is NULL; so is this.
                        "onError": Bson::Null,
                    }
                },
                "format": "%Y-%m-%d",
                "timezone": utc_offset(*utc_offset_minutes),
            }
        }),
    };
    let mut group = doc! { "_id": key, "count": { "$sum": 1 } };
    for (i, field) in sum_fields.iter().enumerate() {
        let path = field_path(&Field::new(field.clone()))?;
        group.insert(format!("s{i}"), doc! { "$sum": format!("${path}") });
    }
    Ok(vec![
        doc! { "$match": filter_to_bson(filter)? },
        doc! { "$group": group },
        doc! { "$sort": { "_id": 1 } },
    ])
}

fn integer(value: Option<&Bson>) -> Option<i64> {
    match value? {
        Bson::Int32(i) => Some(i64::from(*i)),
        Bson::Int64(i) => Some(*i),
        _ => None,
    }
}

/// Reads one `$group` output row; a sum that is not an integer (a double crept in, or
/// MongoDB widened an overflowing sum) is an error, as it is on SQLite.
pub(crate) fn group_row(mut row: Document, sum_count: usize, collection: &str) -> Result<GroupRow> {
    let decode = |reason: String| StoreError::Decode {
        collection: collection.to_owned(),
        reason,
    };
    let count = integer(row.get("count"))
        .and_then(|c| u64::try_from(c).ok())
        .ok_or_else(|| decode("group count is not an integer".into()))?;
    let mut sums = Vec::with_capacity(sum_count);
    for i in 0..sum_count {
        let sum = integer(row.get(format!("s{i}")))
            .ok_or_else(|| decode(format!("sum #{i} is not an integer")))?;
        sums.push(sum);
    }
    let key = row.remove("_id").map(bson_to_json).unwrap_or(Value::Null);
    Ok(GroupRow { key, count, sums })
}

// ---------------------------------------------------------------------------------------------
// Values and documents.

/// JSON → BSON: integers become Int64 (so `$inc` and sums stay 64-bit), other numbers
/// doubles; an unsigned integer beyond `i64` is refused rather than silently rounded.
pub(crate) fn json_to_bson(value: &Value) -> Result<Bson> {
    Ok(match value {
        Value::Null => Bson::Null,
        Value::Bool(b) => Bson::Boolean(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Bson::Int64(i)
            } else if n.is_u64() {
                return Err(StoreError::InvalidDocument(format!(
                    "integer {n} does not fit in 64 signed bits"
                )));
            } else {
                Bson::Double(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => Bson::String(s.clone()),
        Value::Array(items) => Bson::Array(items.iter().map(json_to_bson).collect::<Result<_>>()?),
        Value::Object(object) => Bson::Document(object_to_bson(object)?),
    })
}

fn object_to_bson(object: &Map<String, Value>) -> Result<Document> {
    let mut document = Document::new();
    for (key, value) in object {
        document.insert(key.clone(), json_to_bson(value)?);
    }
    Ok(document)
}

/// BSON → JSON. Types our documents never hold (dates, ObjectIds, decimals written by other
/// tools) come back in relaxed extended JSON rather than failing the whole read.
pub(crate) fn bson_to_json(value: Bson) -> Value {
    match value {
        Bson::Null | Bson::Undefined => Value::Null,
        Bson::Boolean(b) => Value::Bool(b),
        Bson::Int32(i) => Value::from(i),
        Bson::Int64(i) => Value::from(i),
        Bson::Double(f) => serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        Bson::String(s) => Value::String(s),
        Bson::Array(items) => Value::Array(items.into_iter().map(bson_to_json).collect()),
        Bson::Document(document) => Value::Object(
            document
                .into_iter()
                .map(|(k, v)| (k, bson_to_json(v)))
                .collect(),
        ),
        other => other.into_relaxed_extjson(),
    }
}

/// A port document as stored: its `id` becomes `_id`, placed first.
pub(crate) fn to_stored(document: Value) -> Result<Document> {
    let Value::Object(object) = document else {
        return Err(StoreError::InvalidDocument(
            "document is not a JSON object".into(),
        ));
    };
    if object.contains_key("_id") {
        return Err(StoreError::InvalidDocument(
            "`_id` is reserved for the document id".into(),
        ));
    }
    let Some(Value::String(id)) = object.get("id") else {
        return Err(StoreError::InvalidDocument(
            "document has no string `id`".into(),
        ));
    };
    let mut stored = doc! { "_id": id.as_str() };
    // Skipping rather than removing `id` keeps the other fields in their order.
    for (key, value) in object.iter().filter(|(key, _)| *key != "id") {
        stored.insert(key.clone(), json_to_bson(value)?);
    }
    Ok(stored)
}

fn stored_id(document: &Document) -> Result<String> {
    match document.get("_id") {
        Some(Bson::String(id)) => Ok(id.clone()),
        _ => Err(StoreError::InvalidDocument(
            "document has no string `id`".into(),
        )),
    }
}

/// A stored document as the port sees it: `_id` back to `id`.
pub(crate) fn from_stored(mut document: Document, collection: &str) -> Result<Value> {
    let id = document.remove("_id").ok_or_else(|| StoreError::Decode {
        collection: collection.to_owned(),
        reason: "document has no `_id`".into(),
    })?;
    let mut object = Map::new();
    object.insert("id".to_owned(), bson_to_json(id));
    for (key, value) in document {
        object.insert(key, bson_to_json(value));
    }
    Ok(Value::Object(object))
}

// ---------------------------------------------------------------------------------------------
// Errors.

/// Our index name from an E11000 message
/// (`E11000 duplicate key error collection: db.items index: code dup key: { … }`);
/// the `_id` index is reported as `id`, as SQLite reports its primary key.
pub(crate) fn duplicate_index_name(message: &str) -> String {
    message
        .split_once("index: ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .filter(|name| *name != "_id_")
        .unwrap_or("id")
        .to_owned()
}

fn command_code(error: &mongodb::error::Error) -> Option<i32> {
    match error.kind.as_ref() {
        ErrorKind::Command(command) => Some(command.code),
        _ => None,
    }
}

/// The server message of a duplicate-key failure, wherever the driver put it.
fn duplicate_key_message(error: &mongodb::error::Error) -> Option<&str> {
    match error.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(write))
            if DUPLICATE_KEY_CODES.contains(&write.code) =>
        {
            Some(&write.message)
        }
        ErrorKind::Command(command) if DUPLICATE_KEY_CODES.contains(&command.code) => {
            Some(&command.message)
        }
        ErrorKind::InsertMany(failure) => failure
            .write_errors
            .iter()
            .flatten()
            .find(|w| DUPLICATE_KEY_CODES.contains(&w.code))
            .map(|w| w.message.as_str()),
        _ => None,
    }
}

/// Classifies a driver error. Only the error kind's text is kept: it names no credentials,
/// while the full error also carries the raw server reply.
pub(crate) fn store_error(error: mongodb::error::Error, collection: &str) -> StoreError {
    if let Some(message) = duplicate_key_message(&error) {
        return StoreError::Duplicate {
            collection: collection.to_owned(),
            index: duplicate_index_name(message),
        };
    }
    match error.kind.as_ref() {
        ErrorKind::ServerSelection { .. }
        | ErrorKind::Io(_)
        | ErrorKind::ConnectionPoolCleared { .. }
        | ErrorKind::Authentication { .. }
        | ErrorKind::Shutdown => StoreError::Unavailable(error.kind.to_string()),
        other => StoreError::Backend(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use mongodb::error::{CommandError, Error as DriverError, WriteError};
    use serde_json::json;

    use super::*;

    /// Same keys, same order, same BSON types (Debug shows `Int32(1)` vs `Int64(1)`).
    #[track_caller]
    fn assert_bson(actual: &Document, expected: &Document) {
        assert_eq!(format!("{actual:?}"), format!("{expected:?}"));
    }

    fn filter(f: Filter) -> Document {
        filter_to_bson(&f).unwrap()
    }

    #[test]
    fn equality_and_null_semantics() {
        assert_bson(&filter(Filter::All), &doc! {});
        assert_bson(
            &filter(Filter::eq("status", "paid")),
            &doc! { "status": { "$eq": "paid" } },
        );
        assert_bson(
            &filter(Filter::eq("amount", 5)),
            &doc! { "amount": { "$eq": 5_i64 } },
        );
        assert_bson(
            &filter(Filter::eq("lease.until", Value::Null)),
            &doc! { "lease.until": { "$eq": null } },
        );
        assert_bson(
            &filter(Filter::ne("status", "paid")),
            &doc! { "status": { "$ne": "paid" } },
        );
        assert_bson(
            &filter(Filter::ne("code", Value::Null)),
            &doc! { "code": { "$ne": null } },
        );
        assert_bson(
            &filter(Filter::exists("code")),
            &doc! { "code": { "$ne": null } },
        );
        assert_bson(
            &filter(Filter::missing("code")),
            &doc! { "code": { "$eq": null } },
        );
    }

    #[test]
    fn id_is_stored_as_underscore_id() {
        assert_bson(
            &filter(Filter::eq("id", "a1")),
            &doc! { "_id": { "$eq": "a1" } },
        );
        let query = FindQuery::new(Filter::All).sort("id", SortOrder::Desc);
        assert_bson(&sort_to_bson(&query).unwrap(), &doc! { "_id": -1 });
    }

    #[test]
    fn object_values_are_compared_literally_never_as_operators() {
        assert_bson(
            &filter(Filter::eq("name", json!({ "$ne": null }))),
            &doc! { "name": { "$eq": { "$ne": null } } },
        );
        assert_bson(
            &filter(Filter::is_in("name", [json!({ "$gt": "" })])),
            &doc! { "name": { "$in": [{ "$gt": "" }] } },
        );
    }

    #[test]
    fn in_lists() {
        assert_bson(
            &filter(Filter::is_in("id", ["a", "b"])),
            &doc! { "_id": { "$in": ["a", "b"] } },
        );
        assert_bson(
            &filter(Filter::is_in::<&str>("status", [])),
            &doc! { "status": { "$in": [] } },
        );
        assert_bson(
            &filter(Filter::In(
                "code".into(),
                vec![json!("A"), Value::Null, json!(3)],
            )),
            &doc! { "code": { "$in": ["A", null, 3_i64] } },
        );
    }

    #[test]
    fn range_comparisons_and_timestamps_as_strings() {
        assert_bson(
            &filter(Filter::gt("amount", 800)),
            &doc! { "amount": { "$gt": 800_i64 } },
        );
        assert_bson(
            &filter(Filter::gte("created_at", "2026-01-01T08:00:00.000Z")),
            &doc! { "created_at": { "$gte": "2026-01-01T08:00:00.000Z" } },
        );
        assert_bson(
            &filter(Filter::lt("amount", 1.5)),
            &doc! { "amount": { "$lt": 1.5 } },
        );
        assert_bson(
            &filter(Filter::lte("next_action_at", "2026-03-01T12:00:00.000Z")),
            &doc! { "next_action_at": { "$lte": "2026-03-01T12:00:00.000Z" } },
        );
        // `x > NULL` is never true on SQLite; `$gte: null` would match missing fields.
        for f in [
            Filter::gt("a", Value::Null),
            Filter::gte("a", Value::Null),
            Filter::lt("a", Value::Null),
            Filter::lte("a", Value::Null),
        ] {
            assert_bson(&filter(f), &doc! { "_id": { "$in": [] } });
        }
    }

    #[test]
    fn contains_is_an_escaped_case_insensitive_regex() {
        assert_bson(
            &filter(Filter::contains("name", "NUMBER 7")),
            &doc! { "name": { "$regex": "NUMBER 7", "$options": "i" } },
        );
        assert_bson(
            &filter(Filter::contains("name", ".*")),
            &doc! { "name": { "$regex": "\\.\\*", "$options": "i" } },
        );
        assert_eq!(escape_regex("%"), "\\%");
        assert_eq!(escape_regex("o'brien"), "o\\'brien");
        assert_eq!(
            escape_regex("^a$|(b)[c]{2}+?\\/#-"),
            "\\^a\\$\\|\\(b\\)\\[c\\]\\{2\\}\\+\\?\\\\\\/\\#\\-"
        );
        assert_eq!(escape_regex("\\E.\\Q"), "\\\\E\\.\\\\Q");
        assert_eq!(
            escape_regex("tab\there\n\0"),
            "tab\\x{09}here\\x{0a}\\x{00}"
        );
        assert_eq!(escape_regex("Ünïcödé 話"), "Ünïcödé 話");
    }

    #[test]
    fn has_matches_an_array_element() {
        assert_bson(
            &filter(Filter::has("tags", "t1")),
            &doc! { "tags": { "$eq": "t1" } },
        );
        assert_bson(
            &filter(Filter::has("tags", Value::Null)),
            &doc! { "_id": { "$in": [] } },
        );
    }

    #[test]
    fn and_or_and_their_empty_forms() {
        assert_bson(
            &filter(Filter::eq("status", "odd").and(Filter::gt("amount", 500))),
            &doc! { "$and": [
                { "status": { "$eq": "odd" } },
                { "amount": { "$gt": 500_i64 } },
            ] },
        );
        assert_bson(
            &filter(Filter::eq("lease.until", Value::Null).or(Filter::lte("lease.until", "t"))),
            &doc! { "$or": [
                { "lease.until": { "$eq": null } },
                { "lease.until": { "$lte": "t" } },
            ] },
        );
        assert_bson(&filter(Filter::And(vec![])), &doc! {});
        assert_bson(&filter(Filter::Or(vec![])), &doc! { "_id": { "$in": [] } });
        assert_bson(
            &filter(Filter::Or(vec![Filter::All, Filter::And(vec![])])),
            &doc! { "$or": [{}, {}] },
        );
    }

    #[test]
    fn invalid_names_never_reach_the_server() {
        for f in [
            Filter::eq("name') OR 1=1 --", "x"),
            Filter::eq("$where", "x"),
            Filter::Or(vec![Filter::exists("a.$b")]),
        ] {
            assert!(matches!(
                filter_to_bson(&f),
                Err(StoreError::InvalidName(_))
            ));
        }
    }

    #[test]
    fn guarded_update_targets_the_id() {
        assert_bson(
            &guarded_id_filter("item1", &Filter::All).unwrap(),
            &doc! { "_id": "item1" },
        );
        assert_bson(
            &guarded_id_filter("item1", &Filter::gt("stock", 0)).unwrap(),
            &doc! { "$and": [{ "_id": "item1" }, { "stock": { "$gt": 0_i64 } }] },
        );
        assert_bson(
            &version_filter("item1", 3),
            &doc! { "_id": "item1", "version": { "$eq": 3_i64 } },
        );
    }

    #[test]
    fn sort_adds_the_id_tie_breaker_in_the_last_direction() {
        let none = FindQuery::new(Filter::All);
        assert_bson(&sort_to_bson(&none).unwrap(), &doc! { "_id": 1 });
        let desc = FindQuery::new(Filter::All).sort("amount", SortOrder::Desc);
        assert_bson(
            &sort_to_bson(&desc).unwrap(),
            &doc! { "amount": -1, "_id": -1 },
        );
        let two = FindQuery::new(Filter::All)
            .sort("amount", SortOrder::Desc)
            .sort("created_at", SortOrder::Asc);
        assert_bson(
            &sort_to_bson(&two).unwrap(),
            &doc! { "amount": -1, "created_at": 1, "_id": 1 },
        );
        // An explicit id key is kept where it stands (a later direction would break it).
        let id_first = FindQuery::new(Filter::All)
            .sort("id", SortOrder::Asc)
            .sort("amount", SortOrder::Desc);
        assert_bson(
            &sort_to_bson(&id_first).unwrap(),
            &doc! { "_id": 1, "amount": -1 },
        );
        let repeated = FindQuery::new(Filter::All)
            .sort("amount", SortOrder::Asc)
            .sort("amount", SortOrder::Desc);
        assert_bson(
            &sort_to_bson(&repeated).unwrap(),
            &doc! { "amount": 1, "_id": -1 },
        );
    }

    #[test]
    fn updates_become_set_unset_inc() {
        let update = update_to_bson(&[
            Update::set("nested", json!({ "count": 2, "state": "paid" })),
            Update::set("name", "renamed"),
            Update::unset("code"),
            Update::inc("amount", 50),
            Update::set("next_action_at", "2026-02-03T04:05:06.789Z"),
        ])
        .unwrap()
        .unwrap();
        assert_bson(
            &update,
            &doc! {
                "$set": {
                    "nested": { "count": 2_i64, "state": "paid" },
                    "name": "renamed",
                    "next_action_at": "2026-02-03T04:05:06.789Z",
                },
                "$unset": { "code": "" },
                "$inc": { "amount": 50_i64 },
            },
        );
        assert_bson(
            &update_to_bson(&[Update::set("lease", json!(null))])
                .unwrap()
                .unwrap(),
            &doc! { "$set": { "lease": null } },
        );
        assert_eq!(update_to_bson(&[]).unwrap(), None);
    }

    #[test]
    fn the_last_update_of_a_path_wins() {
        let update = update_to_bson(&[
            Update::set("a", 5),
            Update::inc("a", 1),
            Update::inc("b", 1),
            Update::inc("b", 2),
            Update::inc("c", 1),
            Update::unset("c"),
            Update::unset("d"),
            Update::set("d", "back"),
        ])
        .unwrap()
        .unwrap();
        assert_bson(
            &update,
            &doc! {
                "$set": { "d": "back" },
                "$unset": { "c": "" },
                "$inc": { "a": 1_i64, "b": 2_i64 },
            },
        );
    }

    #[test]
    fn updates_refuse_the_id_and_bad_paths() {
        assert!(matches!(
            update_to_bson(&[Update::set("id", "x")]),
            Err(StoreError::InvalidName(_))
        ));
        assert!(matches!(
            update_to_bson(&[Update::inc("$where", 1)]),
            Err(StoreError::InvalidName(_))
        ));
    }

    fn index_document(index: &Index) -> Document {
        mongodb::bson::to_document(&index_model(index).unwrap()).unwrap()
    }

    #[test]
    fn non_unique_indexes_end_with_the_id() {
        assert_bson(
            &index_document(&Index::new("status_created", &["status", "created_at"])),
            &doc! {
                "key": { "status": 1, "created_at": 1, "_id": 1 },
                "name": "status_created",
            },
        );
        let mut descending = Index::new("by_amount", &["amount"]);
        descending.fields[0].1 = SortOrder::Desc;
        assert_bson(
            &index_document(&descending),
            &doc! { "key": { "amount": -1, "_id": 1 }, "name": "by_amount" },
        );
        assert_bson(
            &index_document(&Index::new("by_id", &["id"])),
            &doc! { "key": { "_id": 1 }, "name": "by_id" },
        );
    }

    #[test]
    fn unique_indexes_skip_documents_lacking_their_fields() {
        assert_bson(
            &index_document(&Index::unique("status_amount", &["status", "amount"])),
            &doc! {
                "key": { "status": 1, "amount": 1 },
                "name": "status_amount",
                "unique": true,
                "partialFilterExpression": {
                    "status": { "$exists": true },
                    "amount": { "$exists": true },
                },
            },
        );
        assert!(index_model(&Index::unique("Bad Name", &["a"])).is_err());
        assert!(index_model(&Index::unique("ok", &[])).is_err());
    }

    #[test]
    fn group_by_field_pipeline() {
        let pipeline = group_pipeline(
            &Filter::eq("status", "paid"),
            &GroupKey::Field("status".into()),
            &["amount".to_owned(), "nested.count".to_owned()],
        )
        .unwrap();
        let expected = [
            doc! { "$match": { "status": { "$eq": "paid" } } },
            doc! { "$group": {
                "_id": "$status",
                "count": { "$sum": 1 },
                "s0": { "$sum": "$amount" },
                "s1": { "$sum": "$nested.count" },
            } },
            doc! { "$sort": { "_id": 1 } },
        ];
        assert_eq!(pipeline.len(), expected.len());
        for (actual, expected) in pipeline.iter().zip(&expected) {
            assert_bson(actual, expected);
        }
    }

    #[test]
    fn group_by_day_pipeline_uses_the_offset() {
        let pipeline = group_pipeline(
            &Filter::All,
            &GroupKey::Day {
                field: "created_at".into(),
                utc_offset_minutes: 480,
            },
            &[],
        )
        .unwrap();
        assert_bson(&pipeline[0], &doc! { "$match": {} });
        assert_bson(
            &pipeline[1],
            &doc! { "$group": {
                "_id": { "$dateToString": {
                    "date": { "$dateFromString": {
                        "dateString": "$created_at",
                        "onError": null,
                    } },
                    "format": "%Y-%m-%d",
                    "timezone": "+08:00",
                } },
                "count": { "$sum": 1 },
            } },
        );
        assert_eq!(utc_offset(0), "+00:00");
        assert_eq!(utc_offset(-300), "-05:00");
        assert_eq!(utc_offset(330), "+05:30");
        assert_eq!(utc_offset(-570), "-09:30");
        assert!(
            group_pipeline(&Filter::All, &GroupKey::Field("a".into()), &["x y".into()]).is_err()
        );
    }

    #[test]
    fn group_rows_are_read_as_integers() {
        let row = group_row(
            doc! { "_id": "paid", "count": 4, "s0": 1100_i64, "s1": 0 },
            2,
            "items",
        )
        .unwrap();
        assert_eq!(
            row,
            GroupRow {
                key: json!("paid"),
                count: 4,
                sums: vec![1100, 0]
            }
        );
        let missing_key = group_row(doc! { "_id": null, "count": 1_i64 }, 0, "items").unwrap();
        assert_eq!(missing_key.key, Value::Null);
        let fractional = group_row(doc! { "_id": "x", "count": 1, "s0": 1.5 }, 1, "items");
        assert!(matches!(fractional, Err(StoreError::Decode { .. })));
    }

    #[test]
    fn documents_round_trip_with_id_as_underscore_id() {
        // Keys in sorted order: serde_json may or may not keep insertion order (a feature).
        let document = json!({
            "id": "item1",
            "amount": 150,
            "code": null,
            "name": "O'Brien",
            "nested": { "count": 2, "state": "paid" },
            "paid": true,
            "ratio": 0.5,
            "tags": ["t1", 2],
            "version": 3,
        });
        let stored = to_stored(document.clone()).unwrap();
        assert_bson(
            &stored,
            &doc! {
                "_id": "item1",
                "amount": 150_i64,
                "code": null,
                "name": "O'Brien",
                "nested": { "count": 2_i64, "state": "paid" },
                "paid": true,
                "ratio": 0.5,
                "tags": ["t1", 2_i64],
                "version": 3_i64,
            },
        );
        assert_eq!(from_stored(stored, "items").unwrap(), document);
    }

    #[test]
    fn invalid_documents_are_refused() {
        for bad in [
            json!("text"),
            json!({ "name": "no id" }),
            json!({ "id": 5 }),
            json!({ "id": "a", "_id": "b" }),
            json!({ "id": "a", "big": u64::MAX }),
        ] {
            assert!(
                matches!(to_stored(bad.clone()), Err(StoreError::InvalidDocument(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            from_stored(doc! { "name": "x" }, "items"),
            Err(StoreError::Decode { .. })
        ));
    }

    #[test]
    fn bson_values_read_back_as_json() {
        assert_eq!(bson_to_json(Bson::Int32(7)), json!(7));
        assert_eq!(bson_to_json(Bson::Double(f64::NAN)), Value::Null);
        assert_eq!(
            bson_to_json(Bson::Document(doc! { "a": [1, "b", null] })),
            json!({ "a": [1, "b", null] })
        );
        assert_eq!(
            bson_to_json(Bson::DateTime(mongodb::bson::DateTime::from_millis(0))),
            json!({ "$date": "1970-01-01T00:00:00Z" })
        );
    }

    #[test]
    fn duplicate_key_messages_name_our_index() {
        assert_eq!(
            duplicate_index_name(
                "E11000 duplicate key error collection: t.items index: code dup key: { code: \"ABC\" }"
            ),
            "code"
        );
        assert_eq!(
            duplicate_index_name(
                "E11000 duplicate key error collection: t.items index: _id_ dup key: { _id: \"item0001\" }"
            ),
            "id"
        );
        assert_eq!(duplicate_index_name("REDACTED"), "id");
    }

    fn write_error(code: i32, message: &str) -> DriverError {
        let write: WriteError =
            mongodb::bson::from_document(doc! { "code": code, "errmsg": message }).unwrap();
        DriverError::from(ErrorKind::Write(WriteFailure::WriteError(write)))
    }

    fn command_error(code: i32, message: &str) -> DriverError {
        let command: CommandError =
            mongodb::bson::from_document(doc! { "code": code, "codeName": "X", "errmsg": message })
                .unwrap();
        DriverError::from(ErrorKind::Command(command))
    }

    #[test]
    fn driver_errors_are_classified() {
        let message = "E11000 duplicate key error collection: t.items index: status_amount dup key: { status: \"odd\", amount: 100 }";
        for error in [write_error(11000, message), command_error(11000, message)] {
            match store_error(error, "items") {
                StoreError::Duplicate { collection, index } => {
                    assert_eq!(collection, "items");
                    assert_eq!(index, "status_amount");
                }
                other => panic!("{other:?}"),
            }
        }
        let batch: mongodb::error::InsertManyError = mongodb::bson::from_document(doc! {
            "writeErrors": [{ "index": 1, "code": 11000, "errmsg": "E11000 duplicate key error collection: t.items index: _id_ dup key: { _id: \"item0001\" }" }],
        })
        .unwrap();
        assert!(matches!(
            store_error(DriverError::from(ErrorKind::InsertMany(batch)), "items"),
            StoreError::Duplicate { index, .. } if index == "id"
        ));
        assert!(matches!(
            store_error(write_error(121, "Document failed validation"), "items"),
            StoreError::Backend(_)
        ));
        let unreachable = DriverError::from(ErrorKind::Io(std::sync::Arc::new(
            std::io::ErrorKind::ConnectionRefused.into(),
        )));
        assert!(matches!(
            store_error(unreachable, "items"),
            StoreError::Unavailable(_)
        ));
        assert_eq!(command_code(&command_error(85, "conflict")), Some(85));
        assert_eq!(command_code(&write_error(85, "conflict")), None);
    }

    #[tokio::test]
    async fn connect_reads_the_database_from_the_url_and_refuses_srv() {
        let named = MongoBackend::connect("mongodb://127.0.0.1:1/shop")
            .await
            .unwrap();
        assert_eq!(named.database_name(), "shop");
        assert_eq!(named.kind(), "mongodb");
        assert_eq!(named.with_database("other").database_name(), "other");
        let default = MongoBackend::connect("mongodb://127.0.0.1:1")
            .await
            .unwrap();
        assert_eq!(default.database_name(), DEFAULT_DATABASE);
        let srv = MongoBackend::connect("mongodb+srv://cluster.example.com/topup").await;
        assert!(matches!(srv, Err(StoreError::Unavailable(_))));
        for bad in [
            "mongodb://user:hunter2@127.0.0.1:notaport/t",
            "mongodb://user:hunter2@127.0.0.1:1/t?w=majority&wtimeoutMS=hunter2",
            "mongodb://user:hunter2@/t",
            "postgres://user:hunter2@127.0.0.1/t",
        ] {
            let error = MongoBackend::connect(bad).await.unwrap_err();
            assert!(!error.to_string().contains("hunter2"), "{error}");
        }
        assert!(!format!("{named:?}").contains("127.0.0.1"));
    }

    #[tokio::test]
    async fn an_unreachable_server_is_unavailable_quickly() {
        let backend = MongoBackend::connect("mongodb://127.0.0.1:1/t?serverSelectionTimeoutMS=200")
            .await
            .unwrap();
        let began = std::time::Instant::now();
        assert!(matches!(
            backend.ping().await,
            Err(StoreError::Unavailable(_))
        ));
        assert!(matches!(
            backend.get("items", "x").await,
            Err(StoreError::Unavailable(_))
        ));
        assert!(began.elapsed() < Duration::from_secs(5));
    }
}
