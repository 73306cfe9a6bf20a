//! The orders module's ports filled with the real services: the blacklist of app users and
//! WeChat Pay (payments and refunds, and the events that move an order along), and WeChat
//! Pay's own records for reconciliation.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use topup_auth::AppUserService;
use topup_auth::app_users::BlacklistKind;
use topup_core::{Money, Msisdn, Timestamp};
use topup_orders::reconcile::{LedgerPayment, LedgerRefund, PaymentLedger};
use topup_orders::{
    BlockKind, Blocklist, CloseOutcome, OrdersError, OrdersService, PaymentPort, PaymentStart,
};
use topup_payment::{
    NewPayment, NewRefund, PaymentError, PaymentService, PaymentState, TradeState,
};

use super::PaymentOwner;

/// The `biz_type` of top-up orders' payments.
pub const BIZ_TYPE: &str = "topup_order";

/// Checkout's blacklist: phone numbers, openids and addresses staff have blocked.
pub struct UserBlocklist(pub Arc<AppUserService>);

#[async_trait]
impl Blocklist for UserBlocklist {
    async fn blocked(
        &self,
        number: &Msisdn,
        openid: &str,
        ip: Option<&str>,
    ) -> Result<Vec<BlockKind>, OrdersError> {
        let blocked =
            self.0
                .checkout_blocks(number, openid, ip)
                .await
                .map_err(|error| match error {
                    topup_auth::AuthError::Store(store) => OrdersError::Store(store),
                    other => OrdersError::Dependency {
                        port: "blacklist",
                        cause: other.to_string(),
                    },
                })?;
        Ok(blocked
            .into_iter()
            .map(|kind| match kind {
                BlacklistKind::Phone => BlockKind::Phone,
                BlacklistKind::Openid => BlockKind::Openid,
                BlacklistKind::Ip => BlockKind::Ip,
            })
            .collect())
    }
}

/// Orders' payments and refunds as `topup_order` payment records at WeChat Pay.
/// Whether WeChat Pay took the money (refunds since do not undo that).
fn paid(state: &PaymentState) -> bool {
    matches!(
        state,
        PaymentState::Succeeded | PaymentState::PartiallyRefunded | PaymentState::Refunded
    )
}

pub struct WechatPayments(pub Arc<PaymentService>);

fn payment_error(error: PaymentError) -> OrdersError {
    OrdersError::Payment(error.to_string())
}

#[async_trait]
impl PaymentPort for WechatPayments {
    async fn start(&self, start: PaymentStart) -> Result<Value, OrdersError> {
        let params = self
            .0
            .create_and_prepay(NewPayment::for_order(
                BIZ_TYPE,
                &start.out_trade_no,
                start.amount,
                &start.payer_openid,
                &start.description,
                start.expires_at,
            ))
            .await
            .map_err(|e| OrdersError::PaymentFailed(e.to_string()))?;
        serde_json::to_value(params).map_err(|e| OrdersError::Payment(e.to_string()))
    }

    async fn resume(&self, out_trade_no: &str) -> Result<Value, OrdersError> {
        let params = self
            .0
            .prepay(out_trade_no)
            .await
            .map_err(|e| OrdersError::PaymentFailed(e.to_string()))?;
        serde_json::to_value(params).map_err(|e| OrdersError::Payment(e.to_string()))
    }

    async fn close_unpaid(&self, out_trade_no: &str) -> Result<CloseOutcome, OrdersError> {
        let known = match self.0.payment_by_out_trade_no(out_trade_no).await {
            Ok(record) => record,
            // The order was written but its payment never was: nothing can have been paid.
            Err(PaymentError::PaymentNotFound(_)) => return Ok(CloseOutcome::Closed),
            Err(other) => return Err(payment_error(other)),
        };
        // Already known to be paid (its event may not have reached the order): nothing to
        // close, and nothing to ask WeChat.
        let record = if paid(&known.state) {
            known
        } else {
            self.0.close(out_trade_no).await.map_err(payment_error)?
        };
        Ok(if paid(&record.state) {
            CloseOutcome::Paid {
                transaction_id: record.transaction_id.clone().unwrap_or_default(),
                paid_at: record.success_time.unwrap_or(record.updated_at),
            }
        } else {
            CloseOutcome::Closed
        })
    }

    async fn request_refund(
        &self,
        out_trade_no: &str,
        out_refund_no: &str,
        amount: Money,
        reason: &str,
        initiator: &str,
    ) -> Result<(), OrdersError> {
        self.0
            .refund(NewRefund::numbered(
                out_trade_no,
                out_refund_no,
                amount,
                reason,
                initiator,
            ))
            .await
            .map(|_| ())
            .map_err(payment_error)
    }
}

/// Top-up orders move on their payment events (registered for [`BIZ_TYPE`]).
#[async_trait]
impl PaymentOwner for OrdersService {
    type Error = OrdersError;

    async fn paid(
        &self,
        biz_id: &str,
        transaction_id: &str,
        amount: Money,
        paid_at: Timestamp,
    ) -> Result<(), OrdersError> {
        self.payment_succeeded(biz_id, transaction_id, amount, paid_at)
            .await
    }

    async fn closed(&self, biz_id: &str) -> Result<(), OrdersError> {
        self.payment_closed(biz_id).await
    }

    async fn refund_settled(
        &self,
        biz_id: &str,
        out_refund_no: &str,
        succeeded: bool,
    ) -> Result<(), OrdersError> {
        OrdersService::refund_settled(self, biz_id, out_refund_no, succeeded).await
    }
}

/// Reconciliation's view of WeChat Pay: its own answers, asked through its query APIs.
pub struct WechatPayLedger(pub Arc<PaymentService>);

/// An enum as WeChat spells it (`SUCCESS`, `NOTPAY`, …).
fn wire_word<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// WeChat has nothing under that number (`ORDER_NOT_EXIST`, `RESOURCE_NOT_EXISTS`).
fn not_there(error: &PaymentError) -> bool {
    matches!(error, PaymentError::Api { status: 404, .. })
}

#[async_trait]
impl PaymentLedger for WechatPayLedger {
    async fn payment(&self, out_trade_no: &str) -> Result<Option<LedgerPayment>, OrdersError> {
        match self.0.client().query_by_out_trade_no(out_trade_no).await {
            Ok(transaction) => {
                let state = wire_word(&transaction.trade_state);
                Ok(Some(LedgerPayment {
                    paid: matches!(
                        transaction.trade_state,
                        TradeState::Success | TradeState::Refund
                    ),
                    state,
                    total: transaction.amount.total_money(),
                }))
            }
            Err(error) if not_there(&error) => Ok(None),
            Err(error) => Err(payment_error(error)),
        }
    }

    async fn refund(&self, out_refund_no: &str) -> Result<Option<LedgerRefund>, OrdersError> {
        match self.0.client().query_refund(out_refund_no).await {
            Ok(refund) => Ok(Some(LedgerRefund {
                state: wire_word(&refund.status),
                amount: Money::new(refund.amount.refund, refund.amount.currency),
            })),
            Err(error) if not_there(&error) => Ok(None),
            Err(error) => Err(payment_error(error)),
        }
    }
}
