//! The embedded backend: one SQLite file in WAL mode, one writer connection and a few readers,
//! a table per collection holding JSONB documents, expression indexes on JSON paths.
//!
//! Work bounded by one primary-key lookup (get, insert, replace, update, delete of one
//! document) or declared a lookup ([`FindQuery::lookup`]) takes a few microseconds, less than
//! handing it to another thread and back, so it runs on the calling thread when a connection
//! is free at once. Other reads (queries, counts) run on the reader threads, one per reader
//! connection.
//!
//! Writes that find the writer busy queue for the writer thread, which commits all the writes
//! waiting at once in one transaction, each inside a savepoint of its own (group commit): a
//! commit costs far more than the few pages a write changes, and concurrent writes often
//! change the same index pages. A write's caller hears back only once its batch is committed;
//! a write that fails is rolled back to its savepoint and fails alone.
//! The WAL is checkpointed by a thread of its own, so no commit ever pays for a checkpoint.

use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, RwLock};

use async_trait::async_trait;
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OpenFlags, params_from_iter};
use serde_json::Value;
use tokio::sync::{Semaphore, oneshot};

use crate::query::validate_collection;
use crate::{
    Backend, Field, Filter, FindQuery, GroupKey, GroupRow, Index, KeyPart, Result, SortOrder,
    StoreError, Update,
};

#[derive(Debug, Clone)]
pub struct SqliteOptions {
    pub path: PathBuf,
    /// Read-only connections used concurrently beside the single writer.
    pub readers: usize,
    /// Each reader's page cache, in MiB; the writer's is twice as large. A cache fills as
    /// the database grows past it and then stays at this size, so the store's memory is
    /// bounded by `(readers + 2) × cache_mib` (docs/operations.md#memory).
    pub cache_mib: u32,
}

impl SqliteOptions {
    /// The page cache of each reader unless configured (`store.sqlite_cache_mib`). Small on
    /// purpose: SQLite empties a reader's cache whenever another connection has committed
    /// since its last read, so while orders come in a larger one only costs more to empty
    /// and refill (docs/operations.md#memory).
    pub const DEFAULT_CACHE_MIB: u32 = 4;

    pub fn new(path: impl Into<PathBuf>) -> Self {
        SqliteOptions {
            path: path.into(),
            readers: 4,
            cache_mib: Self::DEFAULT_CACHE_MIB,
        }
    }
}

#[derive(Clone)]
pub struct SqliteBackend {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    /// Writes waiting for the writer thread, and how many are waiting.
    queue: mpsc::Sender<Box<dyn PendingWrite>>,
    queued: AtomicUsize,
    readers: Mutex<Vec<Connection>>,
    reader_slots: Semaphore,
    /// Reads for the reader threads (one per reader connection; see [`spawn_readers`]).
    reads: mpsc::Sender<ReadJob>,
    tables: RwLock<HashSet<String>>,
}

/// A read handed to the reader threads; it answers through a channel of its own.
type ReadJob = Box<dyn FnOnce() + Send>;

fn backend_error(error: rusqlite::Error) -> StoreError {
    StoreError::Backend(error.to_string())
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding a connection leaves it usable; SQLite rolls back on its own.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Creates the database file readable by its owner only, unless it exists: it holds
/// customers' personal data. SQLite gives its `-wal` and `-shm` files the same mode.
fn create_private(path: &std::path::Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(error),
    }
}

impl SqliteBackend {
    /// Opens (creating if needed) the database file. Blocking: call at start-up.
    pub fn open(options: &SqliteOptions) -> Result<Self> {
        if let Some(parent) = options.path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent)
                .map_err(|e| StoreError::Unavailable(format!("{}: {e}", parent.display())))?;
        }
        create_private(&options.path)
            .map_err(|e| StoreError::Unavailable(format!("{}: {e}", options.path.display())))?;
        let writer = Connection::open(&options.path).map_err(backend_error)?;
        // A negative cache_size is in KiB.
        let reader_cache_kib = i64::from(options.cache_mib.max(1)) * 1024;
        writer
            .execute_batch(&format!(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = NORMAL;
                 PRAGMA busy_timeout = 5000;
                 PRAGMA temp_store = MEMORY;
                 PRAGMA cache_size = -{};
                 PRAGMA wal_autocheckpoint = 0;
                 PRAGMA journal_size_limit = 67108864;",
                reader_cache_kib * 2
            ))
            .map_err(backend_error)?;
        writer.set_prepared_statement_cache_capacity(256);
        let mut tables = HashSet::new();
        {
            let mut statement = writer
                .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
                .map_err(backend_error)?;
            let names = statement
                .query_map([], |row| row.get::<_, String>(0))
                .map_err(backend_error)?;
            for name in names {
                tables.insert(name.map_err(backend_error)?);
            }
        }
        let reader_count = options.readers.max(1);
        let mut readers = Vec::with_capacity(reader_count);
        for _ in 0..reader_count {
            let reader = Connection::open_with_flags(
                &options.path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(backend_error)?;
            reader
                .execute_batch(&format!(
                    "PRAGMA busy_timeout = 5000; PRAGMA cache_size = -{reader_cache_kib};"
                ))
                .map_err(backend_error)?;
            reader.set_prepared_statement_cache_capacity(256);
            readers.push(reader);
        }
        let checkpointer = Connection::open(&options.path).map_err(backend_error)?;
        let (queue, pending) = mpsc::channel();
        let (reads, read_jobs) = mpsc::channel();
        let inner = Arc::new(Inner {
            path: options.path.clone(),
            writer: Mutex::new(writer),
            queue,
            queued: AtomicUsize::new(0),
            readers: Mutex::new(readers),
            reader_slots: Semaphore::new(reader_count),
            reads,
            tables: RwLock::new(tables),
        });
        spawn_checkpointer(checkpointer, Arc::downgrade(&inner))?;
        spawn_writer(pending, Arc::downgrade(&inner))?;
        spawn_readers(read_jobs, reader_count)?;
        Ok(SqliteBackend { inner })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Queues `work` for the writer thread and answers its result once its batch is committed.
    async fn write<R, F>(&self, collection: &str, work: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection, &str) -> Result<R> + Send + 'static,
    {
        let table = validate_collection(collection)?.to_owned();
        if !self.inner.has_table(&table) {
            self.create_table(&table).await?;
        }
        let (reply, answer) = oneshot::channel();
        self.inner.queued.fetch_add(1, Ordering::SeqCst);
        let queued = self.inner.queue.send(Box::new(QueuedWrite {
            table,
            work: Some(work),
            result: None,
            reply,
        }));
        if queued.is_err() {
            self.inner.queued.fetch_sub(1, Ordering::SeqCst);
            return Err(StoreError::Unavailable("store is shutting down".into()));
        }
        answer
            .await
            .map_err(|_| StoreError::Backend("the store's writer stopped".into()))?
    }

    /// [`Self::write`] for work bounded by one primary-key lookup: done right here (in a
    /// transaction of its own) when the writer is free and no write is waiting for it.
    async fn write_one<R, F>(&self, collection: &str, work: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection, &str) -> Result<R> + Send + 'static,
    {
        let table = validate_collection(collection)?;
        if self.inner.queued.load(Ordering::SeqCst) == 0
            && let Ok(mut connection) = self.inner.writer.try_lock()
        {
            self.inner.ensure_table(&connection, table)?;
            return work(&mut connection, table);
        }
        self.write(collection, work).await
    }

    /// Creates a collection's table on its own (on the blocking pool): a table must never be
    /// rolled back with a batch, nor be missing when readers look.
    async fn create_table(&self, table: &str) -> Result<()> {
        let table = table.to_owned();
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let connection = lock(&inner.writer);
            inner.ensure_table(&connection, &table)
        })
        .await
        .map_err(|e| StoreError::Backend(format!("store task failed: {e}")))?
    }

    /// [`Self::read`] for work bounded by one primary-key lookup: done right here when a
    /// reader is free, on a reader thread otherwise.
    /// Counts the matches of `filter`, reading no further than `limit` of them when given.
    async fn count_matches(
        &self,
        collection: &str,
        filter: &Filter,
        limit: Option<u64>,
    ) -> Result<u64> {
        filter.validate()?;
        let filter = filter.clone();
        self.read(collection, move |connection, table| {
            let mut sql = Sql::new();
            let from = match limit {
                Some(_) => format!("(SELECT 1 FROM \"{table}\" WHERE "),
                None => format!("\"{table}\" WHERE "),
            };
            sql.push(&format!("SELECT count(*) FROM {from}"));
            sql.filter(&filter)?;
            if let Some(limit) = limit {
                // A literal, as in `find_sql`: a list's limit is a constant, so the statement
                // is compiled once.
                sql.push(&format!(" LIMIT {limit})"));
            }
            let count: i64 = connection
                .prepare_cached(&sql.text)
                .and_then(|mut s| {
                    s.query_row(params_from_iter(sql.params.iter()), |row| row.get(0))
                })
                .map_err(backend_error)?;
            Ok(u64::try_from(count).unwrap_or(0))
        })
        .await
    }

    async fn read_one<R, F>(&self, collection: &str, work: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection, &str) -> Result<R> + Send + 'static,
    {
        let table = validate_collection(collection)?;
        if self.inner.has_table(table)
            && let Ok(_slot) = self.inner.reader_slots.try_acquire()
        {
            let reader = ReaderGuard::take(&self.inner)?;
            return work(reader.connection()?, table);
        }
        self.read(collection, work).await
    }

    async fn read<R, F>(&self, collection: &str, work: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection, &str) -> Result<R> + Send + 'static,
    {
        let table = validate_collection(collection)?.to_owned();
        if !self.inner.has_table(&table) {
            // Create it through the writer so readers never see "no such table".
            self.create_table(&table).await?;
        }
        let _slot = self
            .inner
            .reader_slots
            .acquire()
            .await
            .map_err(|_| StoreError::Unavailable("store is shutting down".into()))?;
        self.on_reader_thread(move |inner| {
            let reader = ReaderGuard::take(inner)?;
            work(reader.connection()?, &table)
        })
        .await
    }

    /// Runs `work` on one of the reader threads (the caller holds one of `reader_slots`, so
    /// one is free). Reads run on these few long-lived threads rather than on the blocking
    /// pool so that SQLite's allocations, the page caches above all, stay in a few threads'
    /// heaps (`docs/operations.md#memory`).
    async fn on_reader_thread<R, F>(&self, work: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&Inner) -> Result<R> + Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let inner = Arc::clone(&self.inner);
        let job: ReadJob = Box::new(move || {
            // The asker may have gone (its request was dropped): nobody to tell.
            let _ = answer.send(work(&inner));
        });
        self.inner
            .reads
            .send(job)
            .map_err(|_| StoreError::Unavailable("store is shutting down".into()))?;
        answered
            .await
            .map_err(|_| StoreError::Backend("store read failed".into()))?
    }
}

/// The reader threads: each takes the next read and runs it, for as long as the store is
/// open (its sender goes with it). A read that panics is answered with an error (its answer
/// channel is dropped) and the thread goes on.
fn spawn_readers(jobs: mpsc::Receiver<ReadJob>, count: usize) -> Result<()> {
    let jobs = Arc::new(Mutex::new(jobs));
    for _ in 0..count {
        let jobs = Arc::clone(&jobs);
        std::thread::Builder::new()
            .name("store-reader".into())
            .spawn(move || {
                loop {
                    let next = lock(&jobs).recv();
                    let Ok(job) = next else {
                        break;
                    };
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                }
            })
            .map_err(|e| StoreError::Backend(format!("cannot start a store reader: {e}")))?;
    }
    Ok(())
}

/// A reader connection out of the pool (the caller holds one of `reader_slots`), put back
/// when dropped, even by a panic.
struct ReaderGuard<'a> {
    inner: &'a Inner,
    connection: Option<Connection>,
}

impl<'a> ReaderGuard<'a> {
    fn take(inner: &'a Inner) -> Result<Self> {
        let connection = lock(&inner.readers)
            .pop()
            .ok_or_else(|| StoreError::Unavailable("no reader connection free".into()))?;
        Ok(ReaderGuard {
            inner,
            connection: Some(connection),
        })
    }

    fn connection(&self) -> Result<&Connection> {
        // Only `drop` takes it out.
        self.connection
            .as_ref()
            .ok_or_else(|| StoreError::Unavailable("reader connection already returned".into()))
    }
}

impl Drop for ReaderGuard<'_> {
    fn drop(&mut self) {
        if let Some(connection) = self.connection.take() {
            lock(&self.inner.readers).push(connection);
        }
    }
}

/// The tables of an embedded database and how many documents each holds.
pub type TableCounts = Vec<(String, u64)>;

/// Writes a consistent copy of the SQLite database at `database` into the new file `to`
/// (`VACUUM INTO`: one read transaction, so a server may go on writing meanwhile; the copy
/// is compact and has no WAL). Blocking. Answers the copy's tables and their sizes.
pub fn snapshot_sqlite(database: &Path, to: &Path) -> Result<TableCounts> {
    // Read-write without create: a wrong path fails instead of backing up an empty file.
    let source = Connection::open_with_flags(
        database,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| StoreError::Unavailable(format!("{}: {e}", database.display())))?;
    source
        .busy_timeout(std::time::Duration::from_secs(30))
        .map_err(backend_error)?;
    let target = to
        .to_str()
        .ok_or_else(|| StoreError::Unavailable(format!("{}: not UTF-8", to.display())))?;
    source
        .execute("VACUUM INTO ?1", [target])
        .map_err(backend_error)?;
    verify_sqlite(to)
}

/// Checks the SQLite database at `database` (`PRAGMA quick_check`) and answers its tables
/// and their sizes. Blocking.
pub fn verify_sqlite(database: &Path) -> Result<TableCounts> {
    let connection = Connection::open_with_flags(
        database,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| StoreError::Unavailable(format!("{}: {e}", database.display())))?;
    let check: String = connection
        .query_row("PRAGMA quick_check", [], |row| row.get(0))
        .map_err(backend_error)?;
    if check != "ok" {
        return Err(StoreError::Backend(format!(
            "{} is damaged: {check}",
            database.display()
        )));
    }
    let mut statement = connection
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .map_err(backend_error)?;
    let tables = statement
        .query_map([], |row| row.get::<_, String>(0))
        .map_err(backend_error)?
        .collect::<rusqlite::Result<Vec<String>>>()
        .map_err(backend_error)?;
    let mut counts = Vec::with_capacity(tables.len());
    for table in tables {
        let count: i64 = connection
            .query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |row| {
                row.get(0)
            })
            .map_err(backend_error)?;
        counts.push((table, u64::try_from(count).unwrap_or_default()));
    }
    Ok(counts)
}

/// Most writes committed together.
const MAX_BATCH: usize = 256;

/// A write waiting for the writer thread.
trait PendingWrite: Send {
    /// Runs the write on the writer connection; whether it succeeded (its changes are kept).
    fn run(&mut self, connection: &mut Connection) -> bool;
    /// Answers the caller once the batch's fate is known: `failed` when nothing was kept.
    fn answer(self: Box<Self>, failed: Option<StoreError>);
}

struct QueuedWrite<R, F> {
    table: String,
    work: Option<F>,
    result: Option<Result<R>>,
    reply: oneshot::Sender<Result<R>>,
}

impl<R, F> PendingWrite for QueuedWrite<R, F>
where
    R: Send + 'static,
    F: FnOnce(&mut Connection, &str) -> Result<R> + Send + 'static,
{
    fn run(&mut self, connection: &mut Connection) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let table = &self.table;
        // A panicking write fails alone; the thread goes on serving the others.
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| work(connection, table)))
            .unwrap_or_else(|_| Err(StoreError::Backend("a store write panicked".into())));
        let succeeded = result.is_ok();
        self.result = Some(result);
        succeeded
    }

    fn answer(self: Box<Self>, failed: Option<StoreError>) {
        let result = match (failed, self.result) {
            (Some(error), _) => Err(error),
            (None, Some(result)) => result,
            (None, None) => Err(StoreError::Backend("the write never ran".into())),
        };
        // The caller may have gone (its request was cancelled): nothing to tell.
        let _ = self.reply.send(result);
    }
}

/// The writer thread: takes every write waiting (up to [`MAX_BATCH`]) and commits them as one
/// transaction, for as long as the store is open.
fn spawn_writer(
    pending: mpsc::Receiver<Box<dyn PendingWrite>>,
    store: std::sync::Weak<Inner>,
) -> Result<()> {
    std::thread::Builder::new()
        .name("store-writer".into())
        .spawn(move || {
            // Ends when the store is dropped: its sender goes with it.
            while let Ok(first) = pending.recv() {
                let Some(inner) = store.upgrade() else {
                    break;
                };
                // Writes that arrive while the writer is held join this batch.
                let mut connection = lock(&inner.writer);
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match pending.try_recv() {
                        Ok(write) => batch.push(write),
                        Err(_) => break,
                    }
                }
                inner.queued.fetch_sub(batch.len(), Ordering::SeqCst);
                commit_batch(&mut connection, batch);
            }
        })
        .map(|_| ())
        .map_err(|e| StoreError::Unavailable(format!("writer thread: {e}")))
}

/// Runs `batch` in one transaction, each write in a savepoint of its own, then answers every
/// caller. A write alone runs as it is, in a transaction of its own.
fn commit_batch(connection: &mut Connection, mut batch: Vec<Box<dyn PendingWrite>>) {
    if batch.len() == 1
        && let Some(mut write) = batch.pop()
    {
        write.run(connection);
        write.answer(None);
        return;
    }
    let failed = run_in_one_transaction(connection, &mut batch)
        .err()
        .map(|e| e.to_string());
    for write in batch {
        write.answer(failed.clone().map(StoreError::Backend));
    }
}

/// `BEGIN IMMEDIATE`, each write between `SAVEPOINT` and `RELEASE` (rolled back to the
/// savepoint when it fails), `COMMIT`; on any error of the transaction itself, all of it is
/// rolled back.
fn run_in_one_transaction(
    connection: &mut Connection,
    batch: &mut [Box<dyn PendingWrite>],
) -> rusqlite::Result<()> {
    connection.execute_batch("BEGIN IMMEDIATE")?;
    let outcome = (|| {
        for write in batch.iter_mut() {
            connection
                .prepare_cached("SAVEPOINT batch_write")?
                .execute([])?;
            if !write.run(connection) {
                connection
                    .prepare_cached("ROLLBACK TO batch_write")?
                    .execute([])?;
            }
            connection
                .prepare_cached("RELEASE batch_write")?
                .execute([])?;
        }
        connection.execute_batch("COMMIT")
    })();
    if outcome.is_err() && !connection.is_autocommit() {
        // Best effort: the error above is what the callers hear.
        let _ = connection.execute_batch("ROLLBACK");
    }
    outcome
}

/// How often the WAL is copied back into the database file.
const CHECKPOINT_PERIOD: std::time::Duration = std::time::Duration::from_millis(100);

/// WAL frames (pages) past which a checkpoint holds the writer, so that the WAL can start over
/// (32 MiB of 4 KiB pages).
const RESTART_WAL_FRAMES: i64 = 8_192;

/// Checkpoints the WAL on a connection and thread of its own while the store is open, so no
/// commit (possibly on an async worker) pays for one. Each pass runs beside the writer. Under
/// steady writes such a pass never copies the very last frames, and a WAL not copied to its
/// end never starts over: it would grow for ever, every frame landing on newly allocated disk.
/// So once it holds [`RESTART_WAL_FRAMES`], a second pass holds the writer (writers wait on the
/// blocking pool, a few milliseconds) and copies the rest; the next write starts the WAL over.
fn spawn_checkpointer(connection: Connection, store: std::sync::Weak<Inner>) -> Result<()> {
    std::thread::Builder::new()
        .name("store-checkpoint".into())
        .spawn(move || {
            loop {
                std::thread::sleep(CHECKPOINT_PERIOD);
                let Some(inner) = store.upgrade() else {
                    break;
                };
                let mut frames = checkpoint(&connection);
                if frames.as_ref().is_ok_and(|&f| f > RESTART_WAL_FRAMES) {
                    let writer = lock(&inner.writer);
                    frames = checkpoint(&connection);
                    drop(writer);
                }
                if let Err(error) = frames {
                    tracing::warn!(%error, "WAL checkpoint failed");
                }
            }
        })
        .map(|_| ())
        .map_err(|e| StoreError::Unavailable(format!("checkpoint thread: {e}")))
}

/// One PASSIVE checkpoint (it never waits for the writer or the readers); how many frames the
/// WAL holds.
fn checkpoint(connection: &Connection) -> rusqlite::Result<i64> {
    connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get(1))
}

impl Inner {
    fn has_table(&self, table: &str) -> bool {
        self.tables
            .read()
            .map(|tables| tables.contains(table))
            .unwrap_or(false)
    }

    fn ensure_table(&self, connection: &Connection, table: &str) -> Result<()> {
        if self.has_table(table) {
            return Ok(());
        }
        connection
            .execute_batch(&format!(
                "CREATE TABLE IF NOT EXISTS \"{table}\" (id TEXT PRIMARY KEY NOT NULL, doc BLOB NOT NULL)"
            ))
            .map_err(backend_error)?;
        if let Ok(mut tables) = self.tables.write() {
            tables.insert(table.to_owned());
        }
        Ok(())
    }
}

/// `$.a.b` for a validated field path.
fn json_path(field: &Field) -> Result<String> {
    Ok(format!("$.{}", field.validate()?))
}

/// The SQL expression for a field; identical text in queries and indexes so the planner
/// matches them.
fn field_expr(field: &Field) -> Result<String> {
    if field.is_id() {
        return Ok("id".to_owned());
    }
    Ok(format!("json_extract(doc, '{}')", json_path(field)?))
}

fn sql_value(value: &Value) -> SqlValue {
    match value {
        Value::Null => SqlValue::Null,
        Value::Bool(b) => SqlValue::Integer(i64::from(*b)),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                SqlValue::Integer(i)
            } else if let Some(f) = n.as_f64() {
                SqlValue::Real(f)
            } else {
                SqlValue::Text(n.to_string())
            }
        }
        Value::String(s) => SqlValue::Text(s.clone()),
        other => SqlValue::Text(other.to_string()),
    }
}

fn json_value(value: SqlValue) -> Value {
    match value {
        SqlValue::Null => Value::Null,
        SqlValue::Integer(i) => Value::from(i),
        SqlValue::Real(f) => Value::from(f),
        SqlValue::Text(s) => Value::String(s),
        SqlValue::Blob(b) => Value::String(String::from_utf8_lossy(&b).into_owned()),
    }
}

/// The first `chars` characters of a string field.
fn prefix_expr(field: &Field, chars: u32) -> Result<String> {
    Ok(format!("substr({}, 1, {chars})", field_expr(field)?))
}

/// A compound group key comes back as the text of a JSON array.
fn parse_compound_key(value: SqlValue) -> Value {
    match value {
        SqlValue::Text(text) => serde_json::from_str(&text).unwrap_or(Value::Null),
        other => json_value(other),
    }
}

struct Sql {
    text: String,
    params: Vec<SqlValue>,
    /// Field paths go in as parameters rather than literals. A query needs literals (the
    /// planner matches them to its indexes), but an update finds its row by id, and a path
    /// with a key of the data in it (`refund_ledger.<refund>`) would otherwise give every
    /// document its own statement text: compiled again on every write and crowding the
    /// connection's statement cache.
    bound_paths: bool,
}

impl Sql {
    fn new() -> Self {
        Sql {
            text: String::new(),
            params: Vec::new(),
            bound_paths: false,
        }
    }

    /// Pushes the expression for `field`: [`field_expr`]'s text, or with its path bound.
    fn field(&mut self, field: &Field) -> Result<()> {
        if !self.bound_paths || field.is_id() {
            self.push(&field_expr(field)?);
            return Ok(());
        }
        self.push("json_extract(doc, ");
        self.bind_path(field)?;
        self.push(")");
        Ok(())
    }

    /// Pushes `field`'s JSON path: a literal, or a parameter (see `bound_paths`).
    fn path(&mut self, field: &Field) -> Result<()> {
        if self.bound_paths {
            self.bind_path(field)
        } else {
            self.push(&format!("'{}'", json_path(field)?));
            Ok(())
        }
    }

    fn bind_path(&mut self, field: &Field) -> Result<()> {
        self.bind(SqlValue::Text(json_path(field)?));
        Ok(())
    }

    fn push(&mut self, text: &str) {
        self.text.push_str(text);
    }

    fn bind(&mut self, value: SqlValue) {
        self.text.push('?');
        self.params.push(value);
    }

    fn filter(&mut self, filter: &Filter) -> Result<()> {
        match filter {
            Filter::All => self.push("1"),
            Filter::Eq(field, Value::Null) => {
                self.field(field)?;
                self.push(" IS NULL");
            }
            Filter::Eq(field, value) => self.compare(field, "=", value)?,
            Filter::Ne(field, Value::Null) => self.present(field)?,
            Filter::Ne(field, value) => self.compare(field, "IS NOT", value)?,
            Filter::Gt(field, value) => self.compare(field, ">", value)?,
            Filter::Gte(field, value) => self.compare(field, ">=", value)?,
            Filter::Lt(field, value) => self.compare(field, "<", value)?,
            Filter::Lte(field, value) => self.compare(field, "<=", value)?,
            Filter::In(field, values) => {
                let (nulls, others): (Vec<&Value>, Vec<&Value>) =
                    values.iter().partition(|v| v.is_null());
                if others.is_empty() && nulls.is_empty() {
                    self.push("0");
                    return Ok(());
                }
                self.push("(");
                if !others.is_empty() {
                    self.field(field)?;
                    self.push(" IN (");
                    for (i, value) in others.iter().enumerate() {
                        if i > 0 {
                            self.push(", ");
                        }
                        self.bind(sql_value(value));
                    }
                    self.push(")");
                }
                if !nulls.is_empty() {
                    if !others.is_empty() {
                        self.push(" OR ");
                    }
                    self.field(field)?;
                    self.push(" IS NULL");
                }
                self.push(")");
            }
            Filter::Exists(field, true) => self.present(field)?,
            Filter::Exists(field, false) => {
                self.field(field)?;
                self.push(" IS NULL");
            }
            Filter::Contains(field, needle) => {
                self.push("instr(lower(");
                self.field(field)?;
                self.push("), lower(");
                self.bind(SqlValue::Text(needle.clone()));
                self.push(")) > 0");
            }
            Filter::Has(field, value) => {
                self.push("EXISTS (SELECT 1 FROM json_each(doc, ");
                self.path(field)?;
                self.push(") WHERE json_each.value = ");
                self.bind(sql_value(value));
                self.push(")");
            }
            Filter::And(parts) | Filter::Or(parts) => {
                let (joiner, empty) = if matches!(filter, Filter::And(_)) {
                    (" AND ", "1")
                } else {
                    (" OR ", "0")
                };
                if parts.is_empty() {
                    self.push(empty);
                    return Ok(());
                }
                self.push("(");
                for (i, part) in parts.iter().enumerate() {
                    if i > 0 {
                        self.push(joiner);
                    }
                    self.filter(part)?;
                }
                self.push(")");
            }
        }
        Ok(())
    }

    /// The field is present and not null. Every value sorts at or above −∞ (numbers, then
    /// text, then blobs) and NULL never does: the rows of `IS NOT NULL`, but as a range that
    /// an index on the field serves, where `IS NOT NULL` reads every row.
    fn present(&mut self, field: &Field) -> Result<()> {
        self.field(field)?;
        self.push(" >= ");
        self.bind(SqlValue::Real(f64::NEG_INFINITY));
        Ok(())
    }

    fn compare(&mut self, field: &Field, op: &str, value: &Value) -> Result<()> {
        self.field(field)?;
        self.push(" ");
        self.push(op);
        self.push(" ");
        self.bind(sql_value(value));
        Ok(())
    }
}

/// Most a lookup may ask for and still run on the calling thread.
const LOOKUP_LIMIT: u64 = 100;

fn query_is_lookup(query: &FindQuery) -> bool {
    query.lookup && query.skip == 0 && query.limit.is_some_and(|l| l <= LOOKUP_LIMIT)
}

/// A find's statement. LIMIT and OFFSET are literals: a bound LIMIT makes SQLite compile the
/// statement again on every run (its planner reads the value), and a cached statement is
/// worth more than one text per page size.
fn find_sql(table: &str, query: &FindQuery) -> Result<Sql> {
    let mut sql = Sql::new();
    sql.push(&format!("SELECT json(doc) FROM \"{table}\" WHERE "));
    sql.filter(&query.filter)?;
    sql.push(" ORDER BY ");
    for (field, order) in &query.sort {
        sql.push(&format!("{} {}, ", field_expr(field)?, order_sql(*order)));
    }
    let limit = query
        .limit
        .map(|l| i64::try_from(l).unwrap_or(i64::MAX))
        .unwrap_or(-1);
    let offset = i64::try_from(query.skip).unwrap_or(i64::MAX);
    sql.push(&format!(
        "id {} LIMIT {limit} OFFSET {offset}",
        order_sql(query.tie_break_order())
    ));
    Ok(sql)
}

fn order_sql(order: SortOrder) -> &'static str {
    match order {
        SortOrder::Asc => "ASC",
        SortOrder::Desc => "DESC",
    }
}

fn read_documents(connection: &Connection, sql: &Sql, collection: &str) -> Result<Vec<Value>> {
    let mut statement = connection
        .prepare_cached(&sql.text)
        .map_err(backend_error)?;
    let rows = statement
        .query_map(params_from_iter(sql.params.iter()), |row| {
            row.get::<_, String>(0)
        })
        .map_err(backend_error)?;
    let mut documents = Vec::new();
    for row in rows {
        let text = row.map_err(backend_error)?;
        documents.push(parse_document(&text, collection)?);
    }
    Ok(documents)
}

fn parse_document(text: &str, collection: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| StoreError::Decode {
        collection: collection.to_owned(),
        reason: e.to_string(),
    })
}

/// Maps SQLite constraint failures to [`StoreError::Duplicate`] naming our index.
fn write_error(error: rusqlite::Error, collection: &str) -> StoreError {
    if let rusqlite::Error::SqliteFailure(failure, message) = &error
        && failure.code == rusqlite::ErrorCode::ConstraintViolation
    {
        {
            let message = message.clone().unwrap_or_default();
            let index = message
                .split_once("index '")
                .and_then(|(_, rest)| rest.split_once('\''))
                .map(|(name, _)| name.rsplit("__").next().unwrap_or(name).to_owned())
                .unwrap_or_else(|| "id".to_owned());
            return StoreError::Duplicate {
                collection: collection.to_owned(),
                index,
            };
        }
    }
    backend_error(error)
}

fn document_id(document: &Value) -> Result<String> {
    document
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| StoreError::InvalidDocument("document has no string `id`".into()))
}

/// An update of one document, `id`, where `guard` matches: the new document's expression
/// and its parameters, built before the write; [`PendingUpdate::sql`] names the table once the
/// write runs. Consecutive sets (and increments) go into one `jsonb_set` with several
/// path/value pairs, consecutive unsets into one `jsonb_remove`: each call copies the document
/// once.
fn update_sql(id: &str, guard: &Filter, updates: &[Update]) -> Result<PendingUpdate> {
    guard.validate()?;
    let mut expr = "doc".to_owned();
    let mut params = Vec::new();
    let mut pending: Option<(&str, Vec<&str>)> = None;
    for update in updates {
        let path = json_path(update.field())?;
        if update.field().is_id() {
            return Err(StoreError::InvalidName("id cannot be updated".into()));
        }
        // Paths are parameters, as in the guard (see `Sql::bound_paths`).
        let (function, argument) = match update {
            Update::Set(_, value) => {
                params.push(SqlValue::Text(path));
                params.push(SqlValue::Text(value.to_string()));
                ("jsonb_set", "?, jsonb(?)")
            }
            Update::Unset(_) => {
                params.push(SqlValue::Text(path));
                ("jsonb_remove", "?")
            }
            Update::Inc(_, by) => {
                params.push(SqlValue::Text(path.clone()));
                params.push(SqlValue::Text(path));
                params.push(SqlValue::Integer(*by));
                ("jsonb_set", "?, coalesce(json_extract(doc, ?), 0) + ?")
            }
        };
        match &mut pending {
            Some((open, arguments)) if *open == function => arguments.push(argument),
            _ => {
                if let Some((open, arguments)) = pending.take() {
                    expr = format!("{open}({expr}, {})", arguments.join(", "));
                }
                pending = Some((function, vec![argument]));
            }
        }
    }
    if let Some((open, arguments)) = pending {
        expr = format!("{open}({expr}, {})", arguments.join(", "));
    }
    Ok(PendingUpdate {
        expr,
        params,
        id: id.to_owned(),
        guard: guard.clone(),
    })
}

/// [`update_sql`]'s answer, waiting for the table's name.
struct PendingUpdate {
    expr: String,
    params: Vec<SqlValue>,
    id: String,
    guard: Filter,
}

impl PendingUpdate {
    /// The `UPDATE` of `table`, followed by `returning` (`""` for none).
    fn sql(self, table: &str, returning: &str) -> Result<Sql> {
        let mut sql = Sql::new();
        sql.push(&format!(
            "UPDATE \"{table}\" SET doc = {} WHERE id = ",
            self.expr
        ));
        sql.params = self.params;
        sql.bound_paths = true;
        sql.bind(SqlValue::Text(self.id));
        sql.push(" AND ");
        sql.filter(&self.guard)?;
        sql.push(returning);
        Ok(sql)
    }
}

#[async_trait]
impl Backend for SqliteBackend {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> Result<()> {
        let _slot = self
            .inner
            .reader_slots
            .acquire()
            .await
            .map_err(|_| StoreError::Unavailable("store is shutting down".into()))?;
        self.on_reader_thread(|inner| {
            ReaderGuard::take(inner)?
                .connection()?
                .query_row("SELECT 1", [], |row| row.get::<_, i64>(0))
                .map(|_| ())
                .map_err(|e| StoreError::Unavailable(e.to_string()))
        })
        .await
    }

    async fn ensure_index(&self, collection: &str, index: &Index) -> Result<()> {
        index.validate()?;
        let mut columns = Vec::new();
        for (field, order) in &index.fields {
            columns.push(format!("{} {}", field_expr(field)?, order_sql(*order)));
        }
        if !index.unique && !index.fields.iter().any(|(f, _)| f.is_id()) {
            // Trailing id lets the index also serve the id tie-breaker of sorted pages.
            columns.push("id".to_owned());
        }
        let unique = if index.unique { "UNIQUE " } else { "" };
        let name = index.name.clone();
        let columns = columns.join(", ");
        self.write(collection, move |connection, table| {
            connection
                .execute_batch(&format!(
                    "CREATE {unique}INDEX IF NOT EXISTS \"{table}__{name}\" ON \"{table}\" ({columns})"
                ))
                .map_err(|e| write_error(e, table))
        })
        .await
    }

    async fn suspend_indexes(&self, collection: &str) -> Result<Vec<String>> {
        self.write(collection, move |connection, table| {
            let mut statement = connection
                .prepare(
                    "SELECT name, sql FROM sqlite_master \
                     WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL",
                )
                .map_err(backend_error)?;
            let indexes = statement
                .query_map([table], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                })
                .map_err(backend_error)?
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(backend_error)?;
            for (name, _) in &indexes {
                connection
                    .execute_batch(&format!("DROP INDEX \"{}\"", name.replace('"', "\"\"")))
                    .map_err(backend_error)?;
            }
            Ok(indexes.into_iter().map(|(_, sql)| sql).collect())
        })
        .await
    }

    async fn restore_indexes(&self, collection: &str, indexes: Vec<String>) -> Result<()> {
        self.write(collection, move |connection, table| {
            // Building an index reads the whole table and sorts its keys: for these statements
            // only, SQLite reads the file's first 2 GB (its default ceiling) through a memory
            // map instead of copying each page, and sorts its runs on a second thread.
            connection
                .execute_batch("PRAGMA threads = 2; PRAGMA mmap_size = 2147418112")
                .map_err(backend_error)?;
            let built = indexes.iter().try_for_each(|sql| {
                connection
                    .execute_batch(sql)
                    .map_err(|e| write_error(e, table))
            });
            connection
                .execute_batch("PRAGMA threads = 0; PRAGMA mmap_size = 0")
                .map_err(backend_error)?;
            built
        })
        .await
    }

    async fn insert(&self, collection: &str, document: Value) -> Result<()> {
        let id = document_id(&document)?;
        let text = document.to_string();
        self.write_one(collection, move |connection, table| {
            connection
                .prepare_cached(&format!(
                    "INSERT INTO \"{table}\" (id, doc) VALUES (?1, jsonb(?2))"
                ))
                .and_then(|mut s| s.execute((id, text)))
                .map_err(|e| write_error(e, table))?;
            Ok(())
        })
        .await
    }

    async fn insert_many(&self, collection: &str, documents: Vec<Value>) -> Result<()> {
        let texts = documents
            .iter()
            .map(|d| document_id(d).map(|_| d.to_string()))
            .collect::<Result<Vec<_>>>()?;
        self.insert_many_text(collection, texts).await
    }

    fn stores_json_text(&self) -> bool {
        true
    }

    async fn insert_many_text(&self, collection: &str, documents: Vec<String>) -> Result<()> {
        self.write(collection, move |connection, table| {
            // A savepoint, not a transaction: the write may run inside its batch's.
            let transaction = connection.savepoint().map_err(backend_error)?;
            {
                // The id is read from the JSONB SQLite makes of the text: parsed once, here.
                let mut statement = transaction
                    .prepare_cached(&format!(
                        "INSERT INTO \"{table}\" (id, doc) \
                         SELECT doc ->> '$.id', doc FROM (SELECT jsonb(?1) AS doc) \
                         WHERE typeof(doc ->> '$.id') = 'text' AND doc ->> '$.id' <> ''"
                    ))
                    .map_err(backend_error)?;
                for text in documents {
                    let inserted = statement
                        .execute([text])
                        .map_err(|e| write_error(e, table))?;
                    if inserted == 0 {
                        // The savepoint, dropped uncommitted, rolls the batch back.
                        return Err(StoreError::InvalidDocument(format!(
                            "{table} documents need a non-empty string `id`"
                        )));
                    }
                }
            }
            transaction.commit().map_err(backend_error)
        })
        .await
    }

    async fn upsert(&self, collection: &str, document: Value) -> Result<()> {
        let id = document_id(&document)?;
        let text = document.to_string();
        self.write_one(collection, move |connection, table| {
            connection
                .prepare_cached(&format!(
                    "INSERT INTO \"{table}\" (id, doc) VALUES (?1, jsonb(?2))
                     ON CONFLICT(id) DO UPDATE SET doc = excluded.doc"
                ))
                .and_then(|mut s| s.execute((id, text)))
                .map_err(|e| write_error(e, table))?;
            Ok(())
        })
        .await
    }

    async fn get(&self, collection: &str, id: &str) -> Result<Option<Value>> {
        let id = id.to_owned();
        self.read_one(collection, move |connection, table| {
            let mut sql = Sql::new();
            sql.push(&format!("SELECT json(doc) FROM \"{table}\" WHERE id = "));
            sql.bind(SqlValue::Text(id));
            Ok(read_documents(connection, &sql, table)?.pop())
        })
        .await
    }

    async fn find(&self, collection: &str, query: &FindQuery) -> Result<Vec<Value>> {
        query.validate()?;
        let lookup = query_is_lookup(query);
        let query = query.clone();
        let work = move |connection: &Connection, table: &str| {
            read_documents(connection, &find_sql(table, &query)?, table)
        };
        if lookup {
            self.read_one(collection, work).await
        } else {
            self.read(collection, work).await
        }
    }

    async fn count(&self, collection: &str, filter: &Filter) -> Result<u64> {
        self.count_matches(collection, filter, None).await
    }

    async fn count_up_to(&self, collection: &str, filter: &Filter, limit: u64) -> Result<u64> {
        self.count_matches(collection, filter, Some(limit)).await
    }

    async fn replace(
        &self,
        collection: &str,
        document: Value,
        expected_version: i64,
    ) -> Result<()> {
        let id = document_id(&document)?;
        let text = document.to_string();
        self.write_one(collection, move |connection, table| {
            let changed = connection
                .prepare_cached(&format!(
                    "UPDATE \"{table}\" SET doc = jsonb(?1)
                     WHERE id = ?2 AND json_extract(doc, '$.version') = ?3"
                ))
                .and_then(|mut s| s.execute((text, &id, expected_version)))
                .map_err(|e| write_error(e, table))?;
            if changed == 1 {
                return Ok(());
            }
            let exists = connection
                .prepare_cached(&format!("SELECT count(*) FROM \"{table}\" WHERE id = ?1"))
                .and_then(|mut s| s.query_row([&id], |row| row.get::<_, i64>(0)))
                .map_err(backend_error)?;
            Err(if exists > 0 {
                StoreError::Conflict {
                    collection: table.to_owned(),
                    id,
                }
            } else {
                StoreError::NotFound {
                    collection: table.to_owned(),
                    id,
                }
            })
        })
        .await
    }

    async fn update(
        &self,
        collection: &str,
        id: &str,
        guard: &Filter,
        updates: &[Update],
    ) -> Result<Option<Value>> {
        let update = update_sql(id, guard, updates)?;
        self.write_one(collection, move |connection, table| {
            let sql = update.sql(table, " RETURNING json(doc)")?;
            let mut statement = connection
                .prepare_cached(&sql.text)
                .map_err(backend_error)?;
            let mut rows = statement
                .query(params_from_iter(sql.params.iter()))
                .map_err(|e| write_error(e, table))?;
            match rows.next().map_err(|e| write_error(e, table))? {
                Some(row) => {
                    let text: String = row.get(0).map_err(backend_error)?;
                    parse_document(&text, table).map(Some)
                }
                None => Ok(None),
            }
        })
        .await
    }

    async fn update_if(
        &self,
        collection: &str,
        id: &str,
        guard: &Filter,
        updates: &[Update],
    ) -> Result<bool> {
        let update = update_sql(id, guard, updates)?;
        self.write_one(collection, move |connection, table| {
            let sql = update.sql(table, "")?;
            let changed = connection
                .prepare_cached(&sql.text)
                .map_err(backend_error)?
                .execute(params_from_iter(sql.params.iter()))
                .map_err(|e| write_error(e, table))?;
            Ok(changed > 0)
        })
        .await
    }

    async fn delete(&self, collection: &str, id: &str) -> Result<bool> {
        let id = id.to_owned();
        self.write_one(collection, move |connection, table| {
            let changed = connection
                .prepare_cached(&format!("DELETE FROM \"{table}\" WHERE id = ?1"))
                .and_then(|mut s| s.execute([id]))
                .map_err(backend_error)?;
            Ok(changed > 0)
        })
        .await
    }

    async fn delete_many(&self, collection: &str, filter: &Filter) -> Result<u64> {
        filter.validate()?;
        let filter = filter.clone();
        self.write(collection, move |connection, table| {
            let mut sql = Sql::new();
            sql.push(&format!("DELETE FROM \"{table}\" WHERE "));
            sql.filter(&filter)?;
            let changed = connection
                .prepare_cached(&sql.text)
                .and_then(|mut s| s.execute(params_from_iter(sql.params.iter())))
                .map_err(backend_error)?;
            Ok(u64::try_from(changed).unwrap_or(0))
        })
        .await
    }

    async fn group(
        &self,
        collection: &str,
        filter: &Filter,
        key: &GroupKey,
        sum_fields: &[String],
    ) -> Result<Vec<GroupRow>> {
        filter.validate()?;
        let key_expr = match key {
            GroupKey::Field(field) => field_expr(field)?,
            GroupKey::Fields(parts) => {
                let parts = parts
                    .iter()
                    .map(|part| match part {
                        KeyPart::Field(field) => field_expr(field),
                        KeyPart::Prefix { field, chars } => prefix_expr(field, *chars),
                    })
                    .collect::<Result<Vec<_>>>()?;
                format!("json_array({})", parts.join(", "))
            }
            GroupKey::Prefix { field, chars } => prefix_expr(field, *chars)?,
            GroupKey::Day {
                field,
                utc_offset_minutes,
            } => format!(
                "date({}, '{:+} minutes')",
                field_expr(field)?,
                utc_offset_minutes
            ),
        };
        let mut sums = Vec::new();
        for field in sum_fields {
            sums.push(format!(
                ", coalesce(sum({}), 0)",
                field_expr(&Field::new(field.clone()))?
            ));
        }
        let sums = sums.concat();
        let sum_count = sum_fields.len();
        let compound = matches!(key, GroupKey::Fields(_));
        let filter = filter.clone();
        self.read(collection, move |connection, table| {
            let mut sql = Sql::new();
            sql.push(&format!(
                "SELECT {key_expr} AS group_key, count(*){sums} FROM \"{table}\" WHERE "
            ));
            sql.filter(&filter)?;
            sql.push(" GROUP BY group_key ORDER BY group_key");
            let mut statement = connection
                .prepare_cached(&sql.text)
                .map_err(backend_error)?;
            let rows = statement
                .query_map(params_from_iter(sql.params.iter()), |row| {
                    let key: SqlValue = row.get(0)?;
                    let count: i64 = row.get(1)?;
                    let mut totals = Vec::with_capacity(sum_count);
                    for i in 0..sum_count {
                        totals.push(row.get::<_, i64>(i + 2)?);
                    }
                    Ok(GroupRow {
                        key: if compound {
                            parse_compound_key(key)
                        } else {
                            json_value(key)
                        },
                        count: u64::try_from(count).unwrap_or(0),
                        sums: totals,
                    })
                })
                .map_err(backend_error)?;
            rows.collect::<std::result::Result<Vec<_>, _>>()
                .map_err(backend_error)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use rusqlite::StatementStatus;
    use serde_json::json;

    use super::*;
    use crate::{FindQuery, SortOrder};

    /// A store at `path` with one reading connection.
    fn one_reader(path: &std::path::Path) -> SqliteBackend {
        SqliteBackend::open(&SqliteOptions {
            readers: 1,
            ..SqliteOptions::new(path.to_path_buf())
        })
        .unwrap()
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn the_database_files_are_private_to_their_owner() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data").join("topup.db");
        let backend = one_reader(&path);
        backend
            .ensure_index("orders", &Index::new("phone", &["phone"]))
            .await
            .unwrap();
        backend
            .insert("orders", json!({"id": "a", "phone": "+639171234567"}))
            .await
            .unwrap();
        for suffix in ["", "-wal", "-shm"] {
            let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
            let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", file.display());
        }
    }

    /// "Present" is answered over an index on the field, as an equality is, not by reading
    /// every row; and finds exactly the rows with a value, whatever its type.
    #[tokio::test]
    async fn presence_is_served_by_the_fields_index() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let backend = one_reader(&path);
        let index = Index::new("held", &["hold.since"]);
        backend.ensure_index("orders", &index).await.unwrap();
        for (id, since) in [
            ("a", json!("2026-01-01")),
            ("b", json!(null)),
            ("c", json!(-5.5)),
            ("d", json!({"x": 1})),
            ("e", json!(false)),
        ] {
            let order = json!({"id": id, "hold": {"since": since}});
            backend.insert("orders", order).await.unwrap();
        }
        backend.insert("orders", json!({"id": "f"})).await.unwrap();
        let present = Filter::exists("hold.since");
        let found = backend
            .find("orders", &FindQuery::new(present.clone()))
            .await
            .unwrap();
        let ids: Vec<&str> = found.iter().map(|d| d["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["a", "c", "d", "e"]);

        let mut sql = Sql::new();
        sql.push("SELECT count(*) FROM \"orders\" WHERE ");
        sql.filter(&present).unwrap();
        let connection = Connection::open(&path).unwrap();
        let mut statement = connection
            .prepare(&format!("EXPLAIN QUERY PLAN {}", sql.text))
            .unwrap();
        let plan: Vec<String> = statement
            .query_map(params_from_iter(sql.params.iter()), |row| row.get(3))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(
            plan.iter()
                .any(|step| step.starts_with("SEARCH") && step.contains("INDEX orders__held")),
            "{plan:?}"
        );
    }

    /// Compiling a statement costs more than running it: a cached one must be reused as is
    /// when only the values change.
    #[tokio::test]
    async fn a_page_query_is_compiled_once_whatever_its_values() {
        let dir = tempfile::tempdir().unwrap();
        let backend = one_reader(&dir.path().join("store.db"));
        let index = Index::new("phone_created", &["phone", "created_at"]);
        backend.ensure_index("orders", &index).await.unwrap();
        for i in 0..20 {
            let order =
                json!({"id": format!("o{i:02}"), "phone": format!("p{}", i % 4), "created_at": i});
            backend.insert("orders", order).await.unwrap();
        }
        let page = |phone: &str| {
            FindQuery::new(Filter::eq("phone", phone))
                .sort("created_at", SortOrder::Desc)
                .limit(2)
                .skip(1)
        };
        for phone in ["p0", "p1", "p2", "p3", "p0"] {
            let found = backend.find("orders", &page(phone)).await.unwrap();
            assert_eq!(found.len(), 2, "{phone}");
        }
        let sql = find_sql("orders", &page("p0")).unwrap();
        let readers = lock(&backend.inner.readers);
        let statement = readers[0].prepare_cached(&sql.text).unwrap();
        assert_eq!(statement.get_status(StatementStatus::RePrepare), 0);
    }

    /// A payment's refund ledger is keyed by refund: updates that differ only in such a key
    /// share one statement, where each used to be compiled anew and crowd the writer's cache.
    #[tokio::test]
    async fn an_update_keyed_by_data_is_compiled_once() {
        let dir = tempfile::tempdir().unwrap();
        let backend = one_reader(&dir.path().join("store.db"));
        backend
            .insert("payments", json!({"id": "p", "reserved": 0, "ledger": {}}))
            .await
            .unwrap();
        let reserve = |key: &str| {
            let entry = format!("ledger.{key}");
            (
                Filter::missing(&entry).and(Filter::lte("reserved", 10)),
                vec![
                    Update::set(&entry, json!({"status": "reserved"})),
                    Update::inc("reserved", 5),
                    Update::unset("note"),
                ],
            )
        };
        for key in ["r_a", "r_b", "r_a"] {
            let (guard, updates) = reserve(key);
            backend
                .update("payments", "p", &guard, &updates)
                .await
                .unwrap();
        }
        let document = backend.get("payments", "p").await.unwrap().unwrap();
        assert_eq!(
            document["reserved"], 10,
            "the second r_a is refused: {document}"
        );
        assert_eq!(document["ledger"]["r_b"]["status"], "reserved");

        let text = |key: &str| {
            let (guard, updates) = reserve(key);
            let sql = update_sql("p", &guard, &updates).unwrap();
            sql.sql("payments", "").unwrap().text
        };
        assert_eq!(text("r_a"), text("r_b"));
        assert!(!text("r_a").contains("r_a"), "{}", text("r_a"));
    }

    /// Documents handed over as JSON text are stored as they are, read back as the same
    /// documents, and a batch with a document SQLite cannot key is refused whole.
    #[tokio::test]
    async fn a_batch_of_json_text_is_stored_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let backend = one_reader(&dir.path().join("store.db"));
        let text = |id: &str| json!({"id": id, "amount": 5, "tags": ["a"]}).to_string();
        backend
            .insert_many_text("orders", vec![text("a"), text("b")])
            .await
            .unwrap();
        let a = backend.get("orders", "a").await.unwrap().unwrap();
        assert_eq!(a, json!({"id": "a", "amount": 5, "tags": ["a"]}));

        for bad in [
            json!({"amount": 1}).to_string(),
            json!({"id": "", "amount": 1}).to_string(),
            json!({"id": 7, "amount": 1}).to_string(),
        ] {
            let refused = backend
                .insert_many_text("orders", vec![text("c"), bad.clone()])
                .await;
            assert!(
                matches!(refused, Err(StoreError::InvalidDocument(_))),
                "{bad}: {refused:?}"
            );
        }
        let duplicate = backend
            .insert_many_text("orders", vec![text("d"), text("a")])
            .await;
        assert!(
            matches!(duplicate, Err(StoreError::Duplicate { .. })),
            "{duplicate:?}"
        );
        let count = backend.count("orders", &Filter::All).await.unwrap();
        assert_eq!(count, 2, "nothing of a refused batch stays");
    }

    /// The page caches bound the store's memory (`store.sqlite_cache_mib`): each reader's
    /// is the configured size, the writer's twice it.
    #[test]
    fn the_page_caches_are_the_configured_size() {
        let dir = tempfile::tempdir().unwrap();
        let backend = SqliteBackend::open(&SqliteOptions {
            cache_mib: 3,
            ..SqliteOptions::new(dir.path().join("store.db"))
        })
        .unwrap();
        let cache_kib = |connection: &Connection| {
            connection
                .query_row("PRAGMA cache_size", [], |row| row.get::<_, i64>(0))
                .unwrap()
        };
        assert_eq!(cache_kib(&lock(&backend.inner.writer)), -6 * 1024);
        let readers = lock(&backend.inner.readers);
        assert_eq!(readers.len(), 4);
        for reader in readers.iter() {
            assert_eq!(cache_kib(reader), -3 * 1024);
        }
    }

    /// Commits never checkpoint (they would stall whoever committed): the checkpoint thread
    /// moves what the WAL holds into the database file on its own.
    #[tokio::test]
    async fn the_wal_is_checkpointed_in_the_background() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let backend = SqliteBackend::open(&SqliteOptions::new(&path)).unwrap();
        let filler = "x".repeat(1_000);
        for i in 0..300 {
            let document = json!({"id": format!("d{i:03}"), "filler": filler});
            backend.insert("docs", document).await.unwrap();
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::fs::metadata(&path).unwrap().len() < 300 * 1_000 {
            assert!(
                std::time::Instant::now() < deadline,
                "the database file never received the WAL's pages"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(
            backend.get("docs", "d299").await.unwrap().unwrap()["filler"],
            filler
        );
    }
    /// Writes waiting for the writer are committed together, and one that fails (a duplicate,
    /// a bulk insert with a duplicate inside) is rolled back alone: its neighbours in the
    /// batch are kept, and its caller hears its own error.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_write_in_a_batch_fails_alone() {
        let dir = tempfile::tempdir().unwrap();
        let backend =
            SqliteBackend::open(&SqliteOptions::new(dir.path().join("store.db"))).unwrap();
        backend
            .insert("docs", json!({"id": "taken"}))
            .await
            .unwrap();
        // Hold the writer so that every write below queues, then let the thread take them.
        let (locked, is_locked) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let inner = Arc::clone(&backend.inner);
        let holder = std::thread::spawn(move || {
            let _held = lock(&inner.writer);
            locked.send(()).unwrap();
            released.recv().unwrap();
        });
        is_locked.recv().unwrap();
        let mut writes = Vec::new();
        for i in 0..40 {
            let backend = backend.clone();
            writes.push(tokio::spawn(async move {
                let id = if i % 10 == 3 {
                    "taken".to_owned()
                } else {
                    format!("d{i:02}")
                };
                backend.insert("docs", json!({"id": id, "n": i})).await
            }));
        }
        let bulk = {
            let backend = backend.clone();
            tokio::spawn(async move {
                let documents = vec![
                    json!({"id": "bulk1"}),
                    json!({"id": "bulk2"}),
                    json!({"id": "taken"}),
                ];
                backend.insert_many("docs", documents).await
            })
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while backend.inner.queued.load(Ordering::SeqCst) < 41 {
            assert!(
                std::time::Instant::now() < deadline,
                "the writes never queued"
            );
            tokio::task::yield_now().await;
        }
        release.send(()).unwrap();
        holder.join().unwrap();
        for (i, write) in writes.into_iter().enumerate() {
            let result = write.await.unwrap();
            if i % 10 == 3 {
                assert!(
                    matches!(result, Err(StoreError::Duplicate { .. })),
                    "{i}: {result:?}"
                );
            } else {
                result.unwrap();
                assert_eq!(
                    backend
                        .get("docs", &format!("d{i:02}"))
                        .await
                        .unwrap()
                        .unwrap()["n"],
                    i
                );
            }
        }
        assert!(matches!(
            bulk.await.unwrap(),
            Err(StoreError::Duplicate { .. })
        ));
        assert!(backend.get("docs", "bulk1").await.unwrap().is_none());
        assert_eq!(backend.count("docs", &Filter::All).await.unwrap(), 1 + 36);
    }
}
