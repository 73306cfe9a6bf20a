//! Discrepancies staff must see: logged at error level and kept in `payment_alerts`.

use serde_json::Value;
use topup_core::{Page, PageRequest, Timestamp};
use topup_store::{Filter, FindQuery, SortOrder, StoreError, Update};

use super::PaymentService;
use crate::PaymentError;
use crate::records::{AlertKind, PaymentAlert, ulid_string};

pub(crate) struct NewAlert {
    pub kind: AlertKind,
    pub source: &'static str,
    pub out_trade_no: String,
    pub out_refund_no: Option<String>,
    pub notification_id: Option<String>,
    pub field: Option<String>,
    pub expected: Option<Value>,
    pub received: Option<Value>,
    pub message: String,
}

impl PaymentService {
    /// Logs the alert and stores it; WeChat's retries of one notification count up a single
    /// alert. Storing is best effort: the error log line is the alert of last resort.
    pub(crate) async fn raise_alert(&self, alert: NewAlert) {
        let expected = alert
            .expected
            .as_ref()
            .map(|v| v.to_string())
            .unwrap_or_default();
        let received = alert
            .received
            .as_ref()
            .map(|v| v.to_string())
            .unwrap_or_default();
        tracing::error!(
            kind = alert.kind.as_str(),
            source = alert.source,
            out_trade_no = %alert.out_trade_no,
            out_refund_no = alert.out_refund_no.as_deref().unwrap_or(""),
            notification_id = alert.notification_id.as_deref().unwrap_or(""),
            field = alert.field.as_deref().unwrap_or(""),
            expected = %expected,
            received = %received,
            "payment alert: {}",
            alert.message
        );
        let now = self.now();
        let id = match &alert.notification_id {
            Some(notification) => format!("{}-{notification}", alert.kind.as_str()),
            None => format!("{}-{}", alert.kind.as_str(), ulid_string()),
        };
        let record = PaymentAlert {
            id: id.clone(),
            kind: alert.kind,
            source: alert.source.to_owned(),
            out_trade_no: alert.out_trade_no,
            out_refund_no: alert.out_refund_no,
            notification_id: alert.notification_id,
            field: alert.field,
            expected: alert.expected,
            received: alert.received,
            message: alert.message,
            occurrences: 1,
            created_at: now,
            last_seen_at: now,
        };
        let stored = match self.alerts.insert(&record).await {
            Err(StoreError::Duplicate { .. }) => self
                .alerts
                .update(
                    &id,
                    Filter::All,
                    &[
                        Update::inc("occurrences", 1),
                        Update::set("last_seen_at", Value::from(now)),
                    ],
                )
                .await
                .map(drop),
            other => other,
        };
        if let Err(error) = stored {
            tracing::error!(%error, alert = %id, "payment alert could not be stored");
        }
    }

    /// Alerts, newest first.
    pub async fn alerts(&self, page: PageRequest) -> Result<Page<PaymentAlert>, PaymentError> {
        Ok(self
            .alerts
            .page(Filter::All, &[("created_at", SortOrder::Desc)], page)
            .await?)
    }

    /// Alerts first raised at or after `since`, oldest first, at most `limit` (staff alerts
    /// on WeChat, `docs/notifications.md#staff-alerts`).
    pub async fn alerts_since(
        &self,
        since: Timestamp,
        limit: u64,
    ) -> Result<Vec<PaymentAlert>, PaymentError> {
        Ok(self
            .alerts
            .find(
                &FindQuery::new(Filter::gte("created_at", since))
                    .sort("created_at", SortOrder::Asc)
                    .limit(limit),
            )
            .await?)
    }
}
