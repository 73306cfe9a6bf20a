//! `topup backup` and `topup restore` (`docs/operations.md#backups`): one file holding a
//! consistent copy of the embedded database, the secrets that make it readable (the at-rest
//! key, the token signing key, the sandbox's keys) and a manifest. With MongoDB as the store
//! the file holds the secrets alone; the database is dumped with `mongodump`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use topup_core::Timestamp;

use crate::AppError;
use crate::config::{Config, StoreLocation};
use crate::secrets::{create_private, private_dir};

/// What a backup file says it is.
const FORMAT: &str = "topup-backup";
const VERSION: u32 = 1;
const MANIFEST: &str = "manifest.json";
const DATABASE: &str = "topup.db";
const SECRETS: &str = "secrets/";
/// A secret file bigger than this is not one of ours (they are keys of a few KiB).
const MAX_SECRET_BYTES: u64 = 1 << 20;

/// The first entry of a backup: what it holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    pub created_at: Timestamp,
    /// The `topup` version that wrote it.
    pub product_version: String,
    /// `sqlite` (the database is inside) or `mongodb` (secrets only).
    pub store: String,
    /// Documents per collection in the database copy (empty for MongoDB).
    pub collections: BTreeMap<String, u64>,
    /// File names under `secrets/`.
    pub secrets: Vec<String>,
}

impl Manifest {
    pub fn holds_database(&self) -> bool {
        self.store == "sqlite"
    }
}

/// Where a backup's parts live: the embedded database (none with MongoDB) and the secrets
/// directory. [`Locations::of`] reads them from the configuration; tests name their own.
#[derive(Debug, Clone)]
pub struct Locations {
    pub database: Option<PathBuf>,
    pub secrets_dir: PathBuf,
}

impl Locations {
    pub fn of(config: &Config) -> Result<Locations, AppError> {
        let database = match config.store_location()? {
            StoreLocation::Sqlite(path) => Some(path),
            StoreLocation::Mongo(_) => None,
        };
        Ok(Locations {
            database,
            secrets_dir: config.data_dir.join("secrets"),
        })
    }
}

fn failed(what: impl std::fmt::Display) -> AppError {
    AppError::Backup(what.to_string())
}

fn io_failed(path: &Path) -> impl FnOnce(std::io::Error) -> AppError + '_ {
    move |cause| failed(format!("{}: {cause}", path.display()))
}

/// `path` with `suffix` appended to its file name.
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// Removes a work file when dropped, whatever happened.
struct WorkFile(PathBuf);

impl Drop for WorkFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The regular files of the secrets directory, by name (none when it does not exist).
fn secret_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, AppError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(io_failed(dir)(error)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_failed(dir))?;
        if !entry.file_type().map_err(io_failed(dir))?.is_file() {
            continue;
        }
        if let Some(name) = entry.file_name().to_str() {
            files.push((name.to_owned(), entry.path()));
        }
    }
    files.sort();
    Ok(files)
}

fn header(size: u64, at: Timestamp) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_size(size);
    header.set_mode(0o600);
    header.set_mtime(u64::try_from(at.unix_seconds()).unwrap_or_default());
    header.set_entry_type(tar::EntryType::Regular);
    header
}

/// Writes a backup of `from` into the new file `to` (mode 0600: it holds keys and personal
/// data). The database is copied in one read transaction, so a running server may go on
/// writing. Nothing is left behind when it fails.
pub fn create(from: &Locations, to: &Path, now: Timestamp) -> Result<Manifest, AppError> {
    if to.exists() {
        return Err(failed(format!(
            "{} exists: a backup never replaces a file",
            to.display()
        )));
    }
    let mut collections = BTreeMap::new();
    let mut snapshot = None;
    if let Some(database) = &from.database {
        let copy = WorkFile(beside(to, ".db.partial"));
        // Created private and empty first: VACUUM INTO fills an empty file, keeping its mode.
        create_private(&copy.0).map_err(io_failed(&copy.0))?;
        let tables = topup_store::snapshot_sqlite(database, &copy.0)?;
        collections.extend(tables);
        snapshot = Some(copy);
    }
    let secrets = secret_files(&from.secrets_dir)?;
    let manifest = Manifest {
        format: FORMAT.to_owned(),
        version: VERSION,
        created_at: now,
        product_version: env!("CARGO_PKG_VERSION").to_owned(),
        store: if snapshot.is_some() {
            "sqlite"
        } else {
            "mongodb"
        }
        .to_owned(),
        collections,
        secrets: secrets.iter().map(|(name, _)| name.clone()).collect(),
    };

    let partial = WorkFile(beside(to, ".partial"));
    let file = create_private(&partial.0).map_err(io_failed(&partial.0))?;
    let encoder = flate2::write::GzEncoder::new(BufWriter::new(file), flate2::Compression::fast());
    let mut archive = tar::Builder::new(encoder);
    let manifest_json = serde_json::to_vec_pretty(&manifest).map_err(failed)?;
    let mut entry = header(manifest_json.len() as u64, now);
    archive
        .append_data(&mut entry, MANIFEST, manifest_json.as_slice())
        .map_err(io_failed(&partial.0))?;
    if let Some(copy) = &snapshot {
        let mut file = File::open(&copy.0).map_err(io_failed(&copy.0))?;
        let size = file.metadata().map_err(io_failed(&copy.0))?.len();
        let mut entry = header(size, now);
        archive
            .append_data(&mut entry, DATABASE, &mut file)
            .map_err(io_failed(&partial.0))?;
    }
    for (name, path) in &secrets {
        let bytes = std::fs::read(path).map_err(io_failed(path))?;
        let mut entry = header(bytes.len() as u64, now);
        archive
            .append_data(&mut entry, format!("{SECRETS}{name}"), bytes.as_slice())
            .map_err(io_failed(&partial.0))?;
    }
    let file = archive
        .into_inner()
        .and_then(|encoder| encoder.finish())
        .and_then(|buffered| buffered.into_inner().map_err(|e| e.into_error()))
        .map_err(io_failed(&partial.0))?;
    file.sync_all().map_err(io_failed(&partial.0))?;
    std::fs::rename(&partial.0, to).map_err(io_failed(to))?;
    Ok(manifest)
}

/// A secret's name as a plain file name: nothing that could leave the secrets directory.
fn safe_secret_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0'])
}

/// Restores the backup `from` into `to`, which must not hold a database or any of the
/// backup's secrets yet: a restore never overwrites. The database copy is checked before it
/// takes its place, and its collections must hold what the manifest says.
pub fn restore(from: &Path, to: &Locations) -> Result<Manifest, AppError> {
    let file = File::open(from).map_err(io_failed(from))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut entries = archive.entries().map_err(io_failed(from))?;

    let manifest: Manifest = {
        let mut first = entries
            .next()
            .ok_or_else(|| failed(format!("{} is empty", from.display())))?
            .map_err(io_failed(from))?;
        let path = first.path().map_err(io_failed(from))?.into_owned();
        if path != Path::new(MANIFEST) {
            return Err(failed(format!(
                "{} is not a topup backup (it starts with {})",
                from.display(),
                path.display()
            )));
        }
        let mut text = Vec::new();
        (&mut first)
            .take(MAX_SECRET_BYTES)
            .read_to_end(&mut text)
            .map_err(io_failed(from))?;
        serde_json::from_slice(&text)
            .map_err(|e| failed(format!("{}: manifest: {e}", from.display())))?
    };
    if manifest.format != FORMAT || manifest.version != VERSION {
        return Err(failed(format!(
            "{}: a {} version {} file; this topup reads {FORMAT} version {VERSION}",
            from.display(),
            manifest.format,
            manifest.version
        )));
    }
    if let Some(bad) = manifest.secrets.iter().find(|n| !safe_secret_name(n)) {
        return Err(failed(format!(
            "{}: bad secret name {bad:?}",
            from.display()
        )));
    }

    // Everything that would be overwritten is refused before anything is written.
    let database = match (manifest.holds_database(), &to.database) {
        (true, Some(path)) => Some(path.clone()),
        (true, None) => {
            return Err(failed(
                "this backup holds an embedded database, but store.url names MongoDB: \
                 restore with the SQLite store (store.url unset or sqlite://)",
            ));
        }
        (false, _) => None,
    };
    if let Some(path) = &database {
        for existing in [path.clone(), beside(path, "-wal")] {
            if existing.exists() {
                return Err(failed(format!(
                    "{} exists: restore into a fresh data directory",
                    existing.display()
                )));
            }
        }
    }
    for name in &manifest.secrets {
        let path = to.secrets_dir.join(name);
        if path.exists() {
            return Err(failed(format!(
                "{} exists: restore into a fresh data directory",
                path.display()
            )));
        }
    }

    let restoring = database
        .as_ref()
        .map(|path| WorkFile(beside(path, ".restoring")));
    if let Some(parent) = database.as_ref().and_then(|p| p.parent()) {
        private_dir(parent)?;
    }
    let mut database_found = false;
    let mut secrets = Vec::new();
    for entry in entries {
        let mut entry = entry.map_err(io_failed(from))?;
        let path = entry.path().map_err(io_failed(from))?.into_owned();
        let name = path.to_str().unwrap_or_default().to_owned();
        if name == DATABASE
            && let Some(work) = &restoring
        {
            let mut file = create_private(&work.0).map_err(io_failed(&work.0))?;
            std::io::copy(&mut entry, &mut file).map_err(io_failed(&work.0))?;
            file.sync_all().map_err(io_failed(&work.0))?;
            database_found = true;
        } else if let Some(secret) = name.strip_prefix(SECRETS)
            && manifest.secrets.iter().any(|s| s == secret)
        {
            let mut bytes = Vec::new();
            (&mut entry)
                .take(MAX_SECRET_BYTES)
                .read_to_end(&mut bytes)
                .map_err(io_failed(from))?;
            secrets.push((secret.to_owned(), bytes));
        } else {
            return Err(failed(format!(
                "{}: unexpected entry {name:?}",
                from.display()
            )));
        }
    }
    if database.is_some() && !database_found {
        return Err(failed(format!(
            "{}: the database is missing",
            from.display()
        )));
    }
    if secrets.len() != manifest.secrets.len() {
        return Err(failed(format!("{}: secrets are missing", from.display())));
    }

    if let (Some(work), Some(path)) = (&restoring, &database) {
        let counts: BTreeMap<String, u64> =
            topup_store::verify_sqlite(&work.0)?.into_iter().collect();
        if counts != manifest.collections {
            return Err(failed(format!(
                "{}: the database does not hold what the manifest lists",
                from.display()
            )));
        }
        std::fs::rename(&work.0, path).map_err(io_failed(path))?;
    }
    private_dir(&to.secrets_dir)?;
    for (name, bytes) in &secrets {
        let path = to.secrets_dir.join(name);
        let mut file = create_private(&path).map_err(io_failed(&path))?;
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .map_err(io_failed(&path))?;
    }
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_cannot_leave_their_directory() {
        for bad in ["", ".", "..", "../jwt.key", "a/b", "a\\b"] {
            assert!(!safe_secret_name(bad), "{bad:?}");
        }
        for good in ["jwt.key", "at-rest.key", "wechat_pay_sandbox_keys.json"] {
            assert!(safe_secret_name(good), "{good:?}");
        }
    }
}
