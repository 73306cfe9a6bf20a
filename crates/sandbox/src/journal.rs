//! What a sandbox must remember across restarts, kept as lines of JSON appended to a file.
//!
//! WeChat Pay and a provider never forget a payment or a top-up because the process that
//! talks to them restarted. The in-process sandboxes of the embedded mode would, and then
//! refunds of earlier orders fail and reconciliation flags every earlier order. So each
//! sandbox appends every record it creates or changes (the whole record, the last line for a
//! key wins), reads the file back when it starts, and rewrites it as one line per record.
//!
//! Each line is one `write` to a file opened for appending: a killed process leaves at most
//! one torn last line, which is skipped. Nothing is synced to disk, so a power cut may take
//! the last moments with it (docs/architecture.md#sandboxes).

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

pub(crate) struct Journal {
    path: PathBuf,
    file: File,
    line: Vec<u8>,
}

impl Journal {
    /// Opens the journal at `path` (creating it and its directory) for this process alone and
    /// reads back its entries, oldest first. `Ok(None)` when another process holds it: that
    /// process's sandbox is the one that remembers.
    pub(crate) fn open<E: DeserializeOwned>(path: &Path) -> io::Result<Option<(Journal, Vec<E>)>> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = private(OpenOptions::new().read(true).append(true).create(true)).open(path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
            Err(std::fs::TryLockError::Error(error)) => return Err(error),
        }
        let mut entries = Vec::new();
        let mut reader = BufReader::new(&file);
        let (mut line, mut number, mut complete_up_to) = (Vec::new(), 0usize, 0u64);
        loop {
            line.clear();
            let read = reader.read_until(b'\n', &mut line)?;
            if read == 0 {
                break;
            }
            number += 1;
            if line.last() != Some(&b'\n') {
                // A line torn by a kill: cut off, so that the next append starts a line.
                tracing::warn!(journal = %path.display(), line = number, "torn sandbox journal line dropped");
                file.set_len(complete_up_to)?;
                break;
            }
            complete_up_to += read as u64;
            if line.trim_ascii().is_empty() {
                continue;
            }
            match serde_json::from_slice(&line) {
                Ok(entry) => entries.push(entry),
                // Written by a version that kept other records.
                Err(error) => tracing::warn!(
                    journal = %path.display(),
                    line = number,
                    %error,
                    "sandbox journal line skipped"
                ),
            }
        }
        let journal = Journal {
            path: path.to_owned(),
            file,
            line: Vec::new(),
        };
        Ok(Some((journal, entries)))
    }

    /// Appends one entry as one line.
    pub(crate) fn append(&mut self, entry: &impl Serialize) -> io::Result<()> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, entry)?;
        self.line.push(b'\n');
        self.file.write_all(&self.line)
    }

    /// Replaces the file by these entries (what the replay left), so that it stays the size
    /// of what the sandbox holds. The new file is locked before it takes the old one's place.
    pub(crate) fn rewrite<E: Serialize>(
        &mut self,
        entries: impl IntoIterator<Item = E>,
    ) -> io::Result<()> {
        let fresh = self.path.with_extension("rewrite");
        let mut file =
            private(OpenOptions::new().write(true).create(true).truncate(true)).open(&fresh)?;
        file.try_lock().map_err(io::Error::other)?;
        let mut out = io::BufWriter::new(&mut file);
        for entry in entries {
            serde_json::to_writer(&mut out, &entry)?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
        drop(out);
        file.sync_all()?;
        std::fs::rename(&fresh, &self.path)?;
        self.file = file;
        Ok(())
    }
}

/// Readable by this user only, like the data dir's other files: the journals hold the
/// sandbox users' session keys.
fn private(options: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(options, 0o600);
    options
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Entry {
        key: String,
        value: u32,
    }

    fn entry(key: &str, value: u32) -> Entry {
        Entry {
            key: key.to_owned(),
            value,
        }
    }

    #[test]
    fn entries_come_back_after_a_reopen_and_a_torn_last_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sandbox").join("journal.jsonl");
        {
            let (mut journal, entries) = Journal::open::<Entry>(&path).unwrap().unwrap();
            assert!(entries.is_empty());
            journal.append(&entry("a", 1)).unwrap();
            journal.append(&entry("a", 2)).unwrap();
        }
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"{\"key\":\"b\",\"va").unwrap();
        drop(file);

        let (mut journal, entries) = Journal::open::<Entry>(&path).unwrap().unwrap();
        assert_eq!(entries, vec![entry("a", 1), entry("a", 2)]);
        journal.append(&entry("c", 3)).unwrap();
        drop(journal);
        let (mut journal, entries) = Journal::open::<Entry>(&path).unwrap().unwrap();
        assert_eq!(entries, vec![entry("a", 1), entry("a", 2), entry("c", 3)]);

        journal.rewrite([entry("a", 2), entry("c", 3)]).unwrap();
        journal.append(&entry("d", 4)).unwrap();
        drop(journal);
        let (_, entries) = Journal::open::<Entry>(&path).unwrap().unwrap();
        assert_eq!(entries, vec![entry("a", 2), entry("c", 3), entry("d", 4)]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_journal_another_holder_has_open_is_not_opened_twice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let (mut first, _) = Journal::open::<Entry>(&path).unwrap().unwrap();
        assert!(Journal::open::<Entry>(&path).unwrap().is_none());
        // Still held after a rewrite swapped the file.
        first.rewrite([entry("a", 1)]).unwrap();
        assert!(Journal::open::<Entry>(&path).unwrap().is_none());
        drop(first);
        let (_, entries) = Journal::open::<Entry>(&path).unwrap().unwrap();
        assert_eq!(entries, vec![entry("a", 1)]);
    }
}
