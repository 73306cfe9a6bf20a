//! What admin writes report for the operation log, and the access log's off-request writer.

use serde::Serialize;
use serde_json::Value;
use tokio::sync::mpsc;
use topup_store::Collection;

use crate::model::AccessLog;

/// What a write changed: the target and masked snapshots before and after.
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub target_type: &'static str,
    pub target_id: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl Change {
    pub fn new(target_type: &'static str, target_id: impl ToString) -> Self {
        Change {
            target_type,
            target_id: Some(target_id.to_string()),
            before: None,
            after: None,
        }
    }

    pub fn before(mut self, document: &impl Serialize) -> Self {
        self.before = Some(snapshot(document));
        self
    }

    pub fn after(mut self, document: &impl Serialize) -> Self {
        self.after = Some(snapshot(document));
        self
    }
}

/// A write's result together with what it changed.
#[derive(Debug, Clone)]
pub struct Audited<T> {
    pub value: T,
    pub change: Change,
}

impl<T> Audited<T> {
    pub fn new(value: T, change: Change) -> Self {
        Audited { value, change }
    }
}

/// Serializes a document for the log with secrets replaced by `***`.
pub fn snapshot(document: &impl Serialize) -> Value {
    let mut value = serde_json::to_value(document).unwrap_or(Value::Null);
    mask_secrets(&mut value);
    value
}

fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "password",
        "secret",
        "token",
        "private_key",
        "api_key",
        "apikey",
        "session_key",
    ]
    .iter()
    .any(|needle| key.contains(needle))
        && !key.starts_with("must_change")
        && !key.ends_with("_changed_at")
}

/// Masks the values of keys that name secrets (`password_hash`, `api_key`, `*_token`, …),
/// at any depth.
pub fn mask_secrets(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                if is_secret_key(key) && !inner.is_null() {
                    *inner = Value::String("***".into());
                } else {
                    mask_secrets(inner);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_secrets),
        _ => {}
    }
}

/// The request side of the access log: never blocks, drops entries when the writer lags.
#[derive(Clone)]
pub struct AccessLogSink {
    sender: mpsc::Sender<AccessLog>,
    sample_rate: f64,
}

impl AccessLogSink {
    /// Whether this request should be logged, by the configured sample rate.
    pub fn sampled(&self) -> bool {
        if self.sample_rate >= 1.0 {
            return true;
        }
        if self.sample_rate <= 0.0 {
            return false;
        }
        let mut bytes = [0u8; 4];
        if getrandom::fill(&mut bytes).is_err() {
            return false;
        }
        f64::from(u32::from_le_bytes(bytes)) / f64::from(u32::MAX) < self.sample_rate
    }

    pub fn record(&self, entry: AccessLog) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.sender.try_send(entry) {
            tracing::warn!("access log writer is behind; entry dropped");
        }
    }
}

/// The background half: batches entries into the store. Spawn [`AccessLogWriter::run`] once.
pub struct AccessLogWriter {
    receiver: mpsc::Receiver<AccessLog>,
    collection: Collection<AccessLog>,
}

impl AccessLogWriter {
    /// Runs until every sink is dropped.
    pub async fn run(mut self) {
        while let Some(first) = self.receiver.recv().await {
            let mut batch = vec![first];
            while batch.len() < 200 {
                match self.receiver.try_recv() {
                    Ok(entry) => batch.push(entry),
                    Err(_) => break,
                }
            }
            if let Err(error) = self.collection.insert_many(&batch).await {
                tracing::warn!(%error, entries = batch.len(), "access log entries not written");
            }
        }
    }
}

pub(crate) fn access_log_channel(
    collection: Collection<AccessLog>,
    sample_rate: f64,
) -> (AccessLogSink, AccessLogWriter) {
    let (sender, receiver) = mpsc::channel(4096);
    (
        AccessLogSink {
            sender,
            sample_rate,
        },
        AccessLogWriter {
            receiver,
            collection,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_at_any_depth() {
        let mut value = serde_json::json!({
            "username": "alice",
            "password_hash": "$argon2id$v=19$...",
            "must_change_password": true,
            "password_changed_at": "2026-01-01T00:00:00.000Z",
            "nested": [{"api_key": "k", "refresh_token": "t", "name": "x"}],
            "session_key_sealed": "v1.abc",
            "client_secret": null,
        });
        mask_secrets(&mut value);
        assert_eq!(value["password_hash"], "***");
        assert_eq!(value["must_change_password"], true);
        assert_eq!(value["password_changed_at"], "2026-01-01T00:00:00.000Z");
        assert_eq!(value["nested"][0]["api_key"], "***");
        assert_eq!(value["nested"][0]["refresh_token"], "***");
        assert_eq!(value["nested"][0]["name"], "x");
        assert_eq!(value["session_key_sealed"], "***");
        assert_eq!(value["client_secret"], Value::Null);
    }
}
