//! Notification delivery as WeChat does it: signed POSTs of the encrypted envelope, retried
//! on WeChat's schedule until answered 200/204, sometimes delivered twice.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use chrono::TimeDelta;
use futures_util::future::join_all;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use topup_core::Timestamp;

use super::crypto::{random_alphanumeric, random_bytes};
use super::{Inner, WechatPaySandboxError, lock};

/// Waits after the 1st, 2nd, … failed attempt (`docs/protocols.md#callbacks`); after the last
/// one WeChat gives up.
const RETRY_DELAYS: [TimeDelta; 15] = [
    TimeDelta::seconds(15),
    TimeDelta::seconds(15),
    TimeDelta::seconds(30),
    TimeDelta::minutes(3),
    TimeDelta::minutes(10),
    TimeDelta::minutes(20),
    TimeDelta::minutes(30),
    TimeDelta::minutes(30),
    TimeDelta::minutes(30),
    TimeDelta::minutes(60),
    TimeDelta::hours(3),
    TimeDelta::hours(3),
    TimeDelta::hours(3),
    TimeDelta::hours(6),
    TimeDelta::hours(6),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Status {
    Pending,
    InFlight,
    Delivered,
    GaveUp,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct Delivery {
    pub(crate) id: u64,
    url: String,
    /// The envelope: identical bytes (same id, same ciphertext) on every attempt.
    #[serde(serialize_with = "envelope_text", deserialize_with = "envelope_bytes")]
    body: Arc<Vec<u8>>,
    failed_attempts: usize,
    next_at: Timestamp,
    status: Status,
}

/// An envelope is JSON, so the journal keeps it as its text.
fn envelope_text<S: Serializer>(body: &Arc<Vec<u8>>, to: S) -> Result<S::Ok, S::Error> {
    match std::str::from_utf8(body) {
        Ok(text) => to.serialize_str(text),
        Err(_) => Err(serde::ser::Error::custom(
            "a notification envelope is not UTF-8",
        )),
    }
}

fn envelope_bytes<'de, D: Deserializer<'de>>(from: D) -> Result<Arc<Vec<u8>>, D::Error> {
    String::deserialize(from).map(|text| Arc::new(text.into_bytes()))
}

impl Delivery {
    /// Whether it is still to be sent.
    pub(crate) fn is_done(&self) -> bool {
        self.status == Status::Delivered
    }

    /// As taken up after a restart: one in flight then was never answered, so it is due.
    pub(crate) fn resumed(mut self) -> Self {
        if self.status == Status::InFlight {
            self.status = Status::Pending;
        }
        self
    }

    pub(crate) fn new(id: u64, url: String, body: Vec<u8>, now: Timestamp) -> Self {
        Delivery {
            id,
            url,
            body: Arc::new(body),
            failed_attempts: 0,
            next_at: now,
            status: Status::Pending,
        }
    }
}

/// What one [`super::WechatPaySandbox::deliver_due`] call did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Notifications sent (first tries and retries, not counting duplicates).
    pub attempted: usize,
    /// Answered 200 or 204.
    pub delivered: usize,
    /// Not answered with success; scheduled again (or given up after the last retry).
    pub failed: usize,
    /// Extra copies sent after a successful delivery.
    pub duplicates: usize,
}

impl super::service::State {
    pub(crate) fn pending_deliveries(&self) -> usize {
        self.deliveries
            .iter()
            .filter(|d| matches!(d.status, Status::Pending | Status::InFlight))
            .count()
    }

    pub(crate) fn next_delivery_at(&self) -> Option<Timestamp> {
        self.deliveries
            .iter()
            .filter(|d| d.status == Status::Pending)
            .map(|d| d.next_at)
            .min()
    }
}

impl Inner {
    pub(crate) async fn deliver_due(&self) -> DeliveryReport {
        let now = self.clock.now();
        let due: Vec<(u64, String, Arc<Vec<u8>>)> = {
            let mut state = lock(&self.state);
            if let Err(error) = self.settle_refunds(&mut state, now) {
                tracing::warn!(code = error.code, "sandbox could not settle refunds");
            }
            state
                .deliveries
                .iter_mut()
                .filter(|d| d.status == Status::Pending && d.next_at <= now)
                .map(|d| {
                    d.status = Status::InFlight;
                    (d.id, d.url.clone(), Arc::clone(&d.body))
                })
                .collect()
        };
        let outcomes = join_all(due.iter().map(|(_, url, body)| self.post(url, body))).await;

        let mut report = DeliveryReport {
            attempted: due.len(),
            ..DeliveryReport::default()
        };
        let mut duplicates = Vec::new();
        {
            let now = self.clock.now();
            let mut state = lock(&self.state);
            let attempted: Vec<u64> = due.iter().map(|(id, _, _)| *id).collect();
            for ((id, url, body), delivered) in due.into_iter().zip(outcomes) {
                let Some(delivery) = state.deliveries.iter_mut().find(|d| d.id == id) else {
                    continue;
                };
                if delivered {
                    delivery.status = Status::Delivered;
                    report.delivered += 1;
                    if self.send_duplicate() {
                        duplicates.push((url, body));
                    }
                } else {
                    report.failed += 1;
                    match RETRY_DELAYS.get(delivery.failed_attempts) {
                        Some(wait) => {
                            delivery.status = Status::Pending;
                            delivery.next_at = now.plus(*wait);
                        }
                        None => delivery.status = Status::GaveUp,
                    }
                    delivery.failed_attempts += 1;
                }
            }
            for id in attempted {
                state.remember_delivery(id);
            }
            // Delivered notifications are done with; keep the list short.
            state.deliveries.retain(|d| d.status != Status::Delivered);
        }
        for (url, body) in &duplicates {
            self.post(url, body).await;
        }
        report.duplicates = duplicates.len();
        report
    }

    fn send_duplicate(&self) -> bool {
        if self.always_duplicate.load(Ordering::SeqCst) {
            return true;
        }
        let percent = self.duplicate_percent.load(Ordering::SeqCst);
        percent > 0 && random_bytes::<1>().is_ok_and(|[b]| b % 100 < percent)
    }

    /// The headers of one delivery of `body`: a fresh timestamp and nonce, signed now.
    pub(crate) fn notification_headers(
        &self,
        body: &[u8],
    ) -> Result<Vec<(String, String)>, WechatPaySandboxError> {
        let timestamp = self.clock.now().unix_seconds().to_string();
        let nonce = random_alphanumeric(32)?;
        let (signer, serial) = self.current_signer();
        let mut message = Vec::with_capacity(body.len() + 64);
        for line in [timestamp.as_bytes(), nonce.as_bytes(), body] {
            message.extend_from_slice(line);
            message.push(b'\n');
        }
        let signature = signer.sign_base64(&message)?;
        Ok(vec![
            ("Content-Type".into(), "application/json".into()),
            ("Wechatpay-Timestamp".into(), timestamp),
            ("Wechatpay-Nonce".into(), nonce),
            ("Wechatpay-Signature".into(), signature),
            ("Wechatpay-Serial".into(), serial),
            (
                "Wechatpay-Signature-Type".into(),
                "WECHATPAY2-SHA256-RSA2048".into(),
            ),
        ])
    }

    /// One signed POST; true when answered 200 or 204 (the success answers of
    /// `docs/protocols.md#callbacks`).
    async fn post(&self, url: &str, body: &Arc<Vec<u8>>) -> bool {
        let Ok(headers) = self.notification_headers(body) else {
            return false;
        };
        let mut request = self.notifier.post(url);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let sent = request.body(body.as_ref().clone()).send().await;
        match sent {
            Ok(response) => matches!(response.status().as_u16(), 200 | 204),
            Err(error) => {
                tracing::debug!(error = %error.without_url(), "sandbox notification not delivered");
                false
            }
        }
    }
}
