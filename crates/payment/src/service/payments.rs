//! Payment operations: create, prepay, apply what WeChat reports, query-and-sync, close.

use chrono::TimeDelta;
use serde_json::{Value, json};
use topup_core::{Currency, Money, Timestamp};
use topup_store::{Filter, StoreError, Update};

use super::{Applied, Edit, PaymentService, edit, edit_from, keep_notification, push_event, short};
use crate::PaymentError;
use crate::client::validate_out_trade_no;
use crate::model::{ExpectedPayment, JsapiOrder, RequestPaymentParams, TradeState, Transaction};
use crate::records::{
    AlertKind, EventKind, NewPayment, PaymentId, PaymentRecord, PaymentState, PendingEvent,
    ReceivedNotification, ulid_string,
};
use crate::service::alerts::NewAlert;

/// A prepay_id is good for two hours at WeChat; stop handing it out a little earlier so a
/// payer is never given one about to expire.
const PREPAY_ID_VALIDITY: TimeDelta = TimeDelta::minutes(110);

/// Where a report of a transaction came from.
#[derive(Debug, Clone, Copy)]
pub enum ReportSource<'a> {
    Notification(&'a ReceivedNotification),
    Query,
}

impl ReportSource<'_> {
    fn notification(&self) -> Option<&ReceivedNotification> {
        match self {
            ReportSource::Notification(n) => Some(n),
            ReportSource::Query => None,
        }
    }

    pub(crate) fn label(&self) -> &'static str {
        match self {
            ReportSource::Notification(_) => "notification",
            ReportSource::Query => "query",
        }
    }
}

fn open_states() -> Filter {
    Filter::is_in(
        "state",
        [
            PaymentState::Created.as_str(),
            PaymentState::Prepaid.as_str(),
        ],
    )
}

fn validate_biz(biz_type: &str, biz_id: &str) -> Result<(), PaymentError> {
    let type_ok = (1..=32).contains(&biz_type.len())
        && biz_type
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !type_ok {
        return Err(PaymentError::InvalidRequest(
            "biz_type must be 1-32 of [a-z0-9_]".into(),
        ));
    }
    if biz_id.trim().is_empty() || biz_id.len() > 64 {
        return Err(PaymentError::InvalidRequest(
            "biz_id must be 1-64 characters".into(),
        ));
    }
    Ok(())
}

/// `ORDER_NOT_EXIST`: WeChat has no order with this number (never placed).
fn is_order_not_exist(error: &PaymentError) -> bool {
    matches!(error, PaymentError::Api { status: 404, .. })
        || error.api_code() == Some("ORDER_NOT_EXIST")
}

impl PaymentService {
    /// Records a payment for `biz_type`/`biz_id` (state `created`; nothing sent yet).
    pub async fn create(&self, new: NewPayment) -> Result<PaymentRecord, PaymentError> {
        validate_biz(&new.biz_type, &new.biz_id)?;
        if !self.has_handler(&new.biz_type) {
            return Err(PaymentError::UnknownBizType(new.biz_type));
        }
        let out_trade_no = new
            .out_trade_no
            .unwrap_or_else(|| format!("P{}", ulid_string()));
        validate_out_trade_no(&out_trade_no)?;
        if new.amount.currency != Currency::CNY || !new.amount.is_positive() {
            return Err(PaymentError::InvalidRequest(
                "amount must be a positive CNY amount".into(),
            ));
        }
        let description_chars = new.description.chars().count();
        if description_chars == 0 || description_chars > 127 {
            return Err(PaymentError::InvalidRequest(
                "description must be 1-127 characters".into(),
            ));
        }
        if new.payer_openid.trim().is_empty() || new.payer_openid.len() > 128 {
            return Err(PaymentError::InvalidRequest(
                "payer openid must be 1-128 characters".into(),
            ));
        }
        let now = self.now();
        let deadline = new
            .expires_at
            .unwrap_or_else(|| now.plus(self.secs(self.settings.payment_ttl_secs)));
        // Whole seconds: WeChat's time_expire has no fraction, and a prepay sent again must
        // carry exactly the same body.
        let expires_at = Timestamp::from_unix_seconds(deadline.unix_seconds()).unwrap_or(deadline);
        if expires_at < now.plus(TimeDelta::minutes(2)) {
            return Err(PaymentError::InvalidRequest(
                "expires_at must be at least two minutes ahead".into(),
            ));
        }
        let record = PaymentRecord {
            id: PaymentId::new(),
            version: 0,
            biz_type: new.biz_type,
            biz_id: new.biz_id,
            out_trade_no,
            amount: new.amount,
            payer_openid: new.payer_openid,
            description: new.description,
            state: PaymentState::Created,
            expires_at,
            prepay_id: None,
            prepay_expires_at: None,
            transaction_id: None,
            success_time: None,
            closed_at: None,
            failure: None,
            refunded_total: Money::zero(Currency::CNY),
            refund_reserved: Money::zero(Currency::CNY),
            refund_ledger: Default::default(),
            notifications: Vec::new(),
            pending_events: Vec::new(),
            events_due_at: None,
            // Never prepaid by then: the sync job closes it.
            next_check_at: Some(expires_at),
            lease: None,
            created_at: now,
            updated_at: now,
        };
        match self.payments.insert(&record).await {
            Ok(()) => Ok(record),
            Err(StoreError::Duplicate { .. }) => {
                Err(PaymentError::DuplicateOutTradeNo(record.out_trade_no))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Places the payment with WeChat Pay (JSAPI prepay) and answers the signed parameters
    /// for `wx.requestPayment`. Asking again while the prepay_id is valid signs it again.
    ///
    /// A payment nobody could have paid yet (`created`) whose prepay fails is closed with the
    /// cause in `failure`, its owner told, and [`PaymentError::PrepayFailed`] answered:
    /// nothing was charged. A payment already prepaid is asked about instead, since its
    /// payer may have paid with the earlier prepay_id.
    #[tracing::instrument(skip_all, fields(out_trade_no = %out_trade_no))]
    pub async fn prepay(&self, out_trade_no: &str) -> Result<RequestPaymentParams, PaymentError> {
        let payment = self.payment_by_out_trade_no(out_trade_no).await?;
        self.prepay_payment(payment).await
    }

    /// [`Self::create`] then [`Self::prepay`], without reading back the record just written:
    /// a checkout's one call.
    #[tracing::instrument(skip_all, fields(biz_id = %new.biz_id))]
    pub async fn create_and_prepay(
        &self,
        new: NewPayment,
    ) -> Result<RequestPaymentParams, PaymentError> {
        let payment = self.create(new).await?;
        self.prepay_payment(payment).await
    }

    /// Prepays `payment` as just read or written; a concurrent change is caught by the
    /// compare-and-set that records the prepay_id.
    async fn prepay_payment(
        &self,
        payment: PaymentRecord,
    ) -> Result<RequestPaymentParams, PaymentError> {
        let out_trade_no = payment.out_trade_no.as_str();
        let now = self.now();
        match (payment.state, &payment.prepay_id, payment.prepay_expires_at) {
            (PaymentState::Prepaid, Some(prepay_id), Some(valid_until)) if valid_until > now => {
                return self.client.request_payment_params(prepay_id);
            }
            (PaymentState::Created | PaymentState::Prepaid, _, _) => {}
            (state, _, _) => {
                return Err(PaymentError::InvalidState {
                    what: format!("payment {out_trade_no}"),
                    state: state.to_string(),
                    action: "prepay",
                });
            }
        }
        if now.plus(TimeDelta::minutes(1)) >= payment.expires_at {
            return Err(PaymentError::InvalidState {
                what: format!("payment {out_trade_no}"),
                state: "expired".into(),
                action: "prepay",
            });
        }
        let order = JsapiOrder {
            description: payment.description.clone(),
            out_trade_no: payment.out_trade_no.clone(),
            amount: payment.amount,
            payer_openid: payment.payer_openid.clone(),
            time_expire: Some(payment.expires_at),
            attach: None,
        };
        match self.client.prepay_jsapi(&order).await {
            Ok(prepay_id) => {
                let first_check = now
                    .plus(self.secs(self.settings.query_unpaid_after_secs))
                    .min(payment.expires_at);
                let id = payment.id.to_string();
                let (stored, _) = edit_from(
                    &self.payments,
                    &id,
                    Some(payment.clone()),
                    || PaymentError::PaymentNotFound(id.clone()),
                    |p: &mut PaymentRecord| {
                        if !p.state.is_open() {
                            return Ok(Edit::Keep(()));
                        }
                        p.state = PaymentState::Prepaid;
                        p.prepay_id = Some(prepay_id.clone());
                        p.prepay_expires_at = Some(now.plus(PREPAY_ID_VALIDITY));
                        p.next_check_at = Some(first_check);
                        p.updated_at = now;
                        Ok(Edit::Write(()))
                    },
                )
                .await?;
                if stored.state != PaymentState::Prepaid {
                    // Paid or closed while we were placing it (a notification raced us).
                    return Err(PaymentError::InvalidState {
                        what: format!("payment {out_trade_no}"),
                        state: stored.state.to_string(),
                        action: "prepay",
                    });
                }
                self.client.request_payment_params(&prepay_id)
            }
            Err(cause) if payment.state == PaymentState::Prepaid => {
                tracing::warn!(error = %cause, "prepay again failed; asking WeChat about the payment");
                if let Err(error) = self.sync_payment(out_trade_no).await {
                    tracing::warn!(%error, "query after a failed prepay failed");
                }
                Err(cause)
            }
            Err(cause) => {
                tracing::warn!(error = %cause, "prepay failed; closing the payment");
                if cause.is_retryable() {
                    // WeChat may have placed the order before the failure; nobody holds its
                    // prepay_id, but close it there too so it cannot linger.
                    if let Err(error) = self.client.close(out_trade_no).await {
                        tracing::debug!(%error, "closing after a failed prepay");
                    }
                }
                self.close_locally(&payment.id.to_string(), &format!("prepay failed: {cause}"))
                    .await?;
                Err(PaymentError::PrepayFailed {
                    out_trade_no: out_trade_no.to_owned(),
                    cause: Box::new(cause),
                })
            }
        }
    }

    /// Applies a verified report of the transaction (notification or query): checks mchid,
    /// appid, out_trade_no and amount against the record (a disagreement is an alert and
    /// [`PaymentError::Mismatch`], never applied), keeps the notification, and marks the
    /// payment succeeded if WeChat says it is paid. Idempotent: a duplicate changes nothing
    /// but the list of received notifications.
    pub async fn apply_transaction(
        &self,
        transaction: &Transaction,
        source: ReportSource<'_>,
    ) -> Result<(PaymentRecord, Applied), PaymentError> {
        let notification = source.notification();
        let Some(payment) = self.find_payment(&transaction.out_trade_no).await? else {
            self.raise_alert(NewAlert {
                kind: AlertKind::UnknownPayment,
                source: source.label(),
                out_trade_no: transaction.out_trade_no.clone(),
                out_refund_no: None,
                notification_id: notification.map(|n| n.notification_id.clone()),
                field: None,
                expected: None,
                received: Some(json!({
                    "out_trade_no": transaction.out_trade_no,
                    "amount": transaction.amount.total,
                    "transaction_id": transaction.transaction_id,
                })),
                message: "WeChat Pay reports a payment we have no record of".into(),
            })
            .await;
            return Err(PaymentError::PaymentNotFound(
                transaction.out_trade_no.clone(),
            ));
        };
        let (mchid, appid) = (self.client.mchid(), self.client.appid());
        let expected = ExpectedPayment {
            mchid: &mchid,
            appid: &appid,
            out_trade_no: &payment.out_trade_no,
            total: payment.amount,
        };
        if let Err(error) = transaction.ensure_matches(&expected) {
            if let PaymentError::Mismatch { field } = &error {
                let (expected_value, received_value) =
                    transaction_mismatch(field, &expected, transaction);
                self.raise_alert(NewAlert {
                    kind: if *field == "amount.total" {
                        AlertKind::AmountMismatch
                    } else {
                        AlertKind::IdMismatch
                    },
                    source: source.label(),
                    out_trade_no: payment.out_trade_no.clone(),
                    out_refund_no: None,
                    notification_id: notification.map(|n| n.notification_id.clone()),
                    field: Some((*field).to_owned()),
                    expected: Some(expected_value),
                    received: Some(received_value),
                    message: format!("WeChat Pay report disagrees with our record on {field}"),
                })
                .await;
            }
            return Err(error);
        }

        let now = self.now();
        let fallback = now.plus(self.secs(self.settings.event_retry_secs));
        let id = payment.id.to_string();
        let paid = transaction.is_paid();
        let (stored, (applied, was_closed)) = edit_from(
            &self.payments,
            &id,
            Some(payment),
            || PaymentError::PaymentNotFound(id.clone()),
            |p: &mut PaymentRecord| {
                let recorded = keep_notification(&mut p.notifications, notification);
                let becomes_paid = paid && (p.state.is_open() || p.state == PaymentState::Closed);
                let was_closed = p.state == PaymentState::Closed;
                if becomes_paid {
                    p.state = PaymentState::Succeeded;
                    p.transaction_id = transaction.transaction_id.clone();
                    p.success_time = Some(transaction.success_time.unwrap_or(now));
                    p.next_check_at = None;
                    push_event(
                        &mut p.pending_events,
                        &mut p.events_due_at,
                        PendingEvent::new(EventKind::PaymentSucceeded, now),
                        fallback,
                    );
                }
                if becomes_paid || recorded {
                    p.updated_at = now;
                    let applied = if becomes_paid {
                        Applied::Changed
                    } else {
                        Applied::Unchanged
                    };
                    Ok(Edit::Write((applied, was_closed && becomes_paid)))
                } else {
                    Ok(Edit::Keep((Applied::Unchanged, false)))
                }
            },
        )
        .await?;
        if applied == Applied::Changed {
            tracing::info!(out_trade_no = %stored.out_trade_no, source = source.label(), "payment succeeded");
        }
        if was_closed {
            self.raise_alert(NewAlert {
                kind: AlertKind::PaidAfterClose,
                source: source.label(),
                out_trade_no: stored.out_trade_no.clone(),
                out_refund_no: None,
                notification_id: notification.map(|n| n.notification_id.clone()),
                field: None,
                expected: Some(json!("closed")),
                received: Some(json!("SUCCESS")),
                message:
                    "WeChat Pay took money for a payment we had closed; its owner should refund it"
                        .into(),
            })
            .await;
        }
        let stored = self.deliver_payment_events_now(stored).await;
        Ok((stored, applied))
    }

    /// Asks WeChat about an unpaid payment and applies the answer: paid → succeeded; past
    /// its expiry and not being paid → closed (there and here); otherwise checked again
    /// later. A payment that is not open is answered as it is.
    #[tracing::instrument(skip_all, fields(out_trade_no = %out_trade_no))]
    pub async fn sync_payment(&self, out_trade_no: &str) -> Result<PaymentRecord, PaymentError> {
        let payment = self.payment_by_out_trade_no(out_trade_no).await?;
        if !payment.state.is_open() {
            return Ok(payment);
        }
        let now = self.now();
        let expired = now >= payment.expires_at;
        match self.client.query_by_out_trade_no(out_trade_no).await {
            Ok(transaction) if transaction.is_paid() => {
                match self
                    .apply_transaction(&transaction, ReportSource::Query)
                    .await
                {
                    Ok((stored, _)) => Ok(stored),
                    Err(error) => {
                        self.check_again_later(&payment).await?;
                        Err(error)
                    }
                }
            }
            Ok(transaction) if transaction.trade_state == TradeState::Closed => {
                self.close_locally(&payment.id.to_string(), "closed at WeChat Pay")
                    .await
            }
            // The payer is entering the password right now: let them finish.
            Ok(transaction) if expired && transaction.trade_state != TradeState::Userpaying => {
                self.close_remote_then_local(&payment, "expired unpaid")
                    .await
            }
            Ok(_) => self.check_again_later(&payment).await,
            Err(error) if is_order_not_exist(&error) => {
                if expired {
                    self.close_locally(&payment.id.to_string(), "expired before it was placed")
                        .await
                } else {
                    self.check_again_later(&payment).await
                }
            }
            Err(error) => {
                tracing::warn!(%error, "payment query failed; will ask again");
                self.check_again_later(&payment).await?;
                Err(error)
            }
        }
    }

    /// Closes an unpaid payment, asking WeChat first: one WeChat says is paid is marked
    /// succeeded instead (and answered so, `Ok` with that state). Closing a closed payment
    /// answers it unchanged; a paid one is [`PaymentError::InvalidState`].
    #[tracing::instrument(skip_all, fields(out_trade_no = %out_trade_no))]
    pub async fn close(&self, out_trade_no: &str) -> Result<PaymentRecord, PaymentError> {
        let payment = self.payment_by_out_trade_no(out_trade_no).await?;
        match payment.state {
            PaymentState::Closed => return Ok(payment),
            state if state.is_paid() => {
                return Err(PaymentError::InvalidState {
                    what: format!("payment {out_trade_no}"),
                    state: state.to_string(),
                    action: "close",
                });
            }
            _ => {}
        }
        match self.client.query_by_out_trade_no(out_trade_no).await {
            Ok(transaction) if transaction.is_paid() => self
                .apply_transaction(&transaction, ReportSource::Query)
                .await
                .map(|(stored, _)| stored),
            Ok(transaction) if transaction.trade_state == TradeState::Closed => {
                self.close_locally(&payment.id.to_string(), "closed on request")
                    .await
            }
            Ok(_) => {
                self.close_remote_then_local(&payment, "closed on request")
                    .await
            }
            Err(error) if is_order_not_exist(&error) => {
                self.close_locally(&payment.id.to_string(), "closed before it was placed")
                    .await
            }
            Err(error) => Err(error),
        }
    }

    /// After a query said "not paid": close at WeChat, then here. If WeChat answers that it
    /// was paid in between, ask again and apply that instead.
    async fn close_remote_then_local(
        &self,
        payment: &PaymentRecord,
        reason: &str,
    ) -> Result<PaymentRecord, PaymentError> {
        match self.client.close(&payment.out_trade_no).await {
            Ok(()) => self.close_locally(&payment.id.to_string(), reason).await,
            Err(error) if error.api_code() == Some("ORDERPAID") => {
                let transaction = self
                    .client
                    .query_by_out_trade_no(&payment.out_trade_no)
                    .await?;
                self.apply_transaction(&transaction, ReportSource::Query)
                    .await
                    .map(|(stored, _)| stored)
            }
            Err(error) if is_order_not_exist(&error) => {
                self.close_locally(&payment.id.to_string(), reason).await
            }
            Err(error) => {
                tracing::warn!(%error, "close at WeChat Pay failed; will try again");
                self.check_again_later(payment).await?;
                Err(error)
            }
        }
    }

    /// Marks an open payment closed and tells its owner; a payment that is no longer open
    /// (a success raced us) is left alone.
    async fn close_locally(&self, id: &str, reason: &str) -> Result<PaymentRecord, PaymentError> {
        let now = self.now();
        let fallback = now.plus(self.secs(self.settings.event_retry_secs));
        let (stored, closed) = edit(
            &self.payments,
            id,
            || PaymentError::PaymentNotFound(id.to_owned()),
            |p: &mut PaymentRecord| {
                if !p.state.is_open() {
                    return Ok(Edit::Keep(false));
                }
                p.state = PaymentState::Closed;
                p.closed_at = Some(now);
                p.failure = Some(short(reason));
                p.next_check_at = None;
                p.updated_at = now;
                push_event(
                    &mut p.pending_events,
                    &mut p.events_due_at,
                    PendingEvent::new(EventKind::PaymentClosed, now),
                    fallback,
                );
                Ok(Edit::Write(true))
            },
        )
        .await?;
        if closed {
            tracing::info!(out_trade_no = %stored.out_trade_no, reason, "payment closed");
        }
        Ok(self.deliver_payment_events_now(stored).await)
    }

    /// Schedules the next query of an open payment (never later than its expiry).
    async fn check_again_later(
        &self,
        payment: &PaymentRecord,
    ) -> Result<PaymentRecord, PaymentError> {
        let now = self.now();
        let mut next = now.plus(self.secs(self.settings.requery_every_secs));
        if now < payment.expires_at {
            next = next.min(payment.expires_at);
        }
        let id = payment.id.to_string();
        let updated = self
            .payments
            .update(
                &id,
                open_states(),
                &[Update::set("next_check_at", Value::from(next))],
            )
            .await?;
        match updated {
            Some(stored) => Ok(stored),
            None => self.payment(&id).await,
        }
    }
}

/// Our value and WeChat's for the field a transaction disagrees on.
fn transaction_mismatch(
    field: &str,
    expected: &ExpectedPayment<'_>,
    transaction: &Transaction,
) -> (Value, Value) {
    match field {
        "mchid" => (json!(expected.mchid), json!(transaction.mchid)),
        "appid" => (json!(expected.appid), json!(transaction.appid)),
        "out_trade_no" => (
            json!(expected.out_trade_no),
            json!(transaction.out_trade_no),
        ),
        _ => (
            json!(expected.total),
            json!(transaction.amount.total_money()),
        ),
    }
}
