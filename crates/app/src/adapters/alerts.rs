//! Staff alerts' source (`docs/notifications.md#staff-alerts`) filled from the domains that
//! raise alerts: stored payment alerts, orders held longer than `orders.hold_alert_minutes`,
//! and reconciliations that found discrepancies.

use std::sync::Arc;

use async_trait::async_trait;
use topup_core::Timestamp;
use topup_notify::alerts::{AlertSource, StaffAlert, StaffAlertKind};
use topup_orders::OrdersService;
use topup_orders::reconcile::Reconciler;
use topup_payment::PaymentService;

pub struct DomainAlerts {
    pub payments: Arc<PaymentService>,
    pub orders: Arc<OrdersService>,
    pub reconciler: Arc<Reconciler>,
}

/// A payment alert's kind in a few words of Chinese, as staff read WeChat.
fn payment_alert_words(kind: &str) -> &'static str {
    match kind {
        "amount_mismatch" => "支付金额不符",
        "id_mismatch" => "支付商户或单号不符",
        "unknown_payment" => "未知支付",
        "unknown_refund" => "未知退款",
        "paid_after_close" => "关单后支付",
        _ => "支付告警",
    }
}

#[async_trait]
impl AlertSource for DomainAlerts {
    async fn alerts_since(&self, since: Timestamp, limit: u64) -> Result<Vec<StaffAlert>, String> {
        let mut alerts = Vec::new();
        for alert in self
            .payments
            .alerts_since(since, limit)
            .await
            .map_err(|e| format!("payment alerts: {e}"))?
        {
            alerts.push(StaffAlert {
                id: format!("payment:{}", alert.id),
                kind: StaffAlertKind::Payment,
                what: payment_alert_words(alert.kind.as_str()).to_owned(),
                reference: alert.out_trade_no,
                at: alert.created_at,
            });
        }
        for order in self
            .orders
            .hold_alerts_since(since, limit)
            .await
            .map_err(|e| format!("held orders: {e}"))?
        {
            let Some(at) = order.hold.as_ref().and_then(|hold| hold.alerted_at) else {
                continue;
            };
            // An order held again later is a new alert: the id carries when it was raised.
            alerts.push(StaffAlert {
                id: format!("hold:{}:{}", order.id, at.unix_seconds()),
                kind: StaffAlertKind::HeldOrder,
                what: "订单挂起超时，待处理".to_owned(),
                reference: order.id,
                at,
            });
        }
        for report in self
            .reconciler
            .discrepant_since(since, limit)
            .await
            .map_err(|e| format!("reconciliations: {e}"))?
        {
            let Some(at) = report.finished_at else {
                continue;
            };
            alerts.push(StaffAlert {
                id: format!("reconciliation:{}", report.id),
                kind: StaffAlertKind::Reconciliation,
                what: format!("对账发现{}处差异", report.discrepancy_count),
                reference: report.id,
                at,
            });
        }
        alerts.sort_by_key(|alert| alert.at);
        Ok(alerts)
    }
}
