//! Reconciliation over more orders than one page, all created at the same instant (the
//! pages must neither skip nor repeat an order on a tie), against a WeChat that took the
//! money for one order the shop never heard of.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::TimeDelta;
use common::{Options, setup, success_number};
use topup_core::{Clock, Money};
use topup_orders::reconcile::{
    DiscrepancyKind, LedgerPayment, LedgerRefund, PaymentLedger, Reconciler,
};
use topup_orders::{CheckoutRequest, OrdersConfig, OrdersError};

/// WeChat Pay that took the money for the orders in `paid` only, and was asked about each.
#[derive(Default)]
struct Ledger {
    paid: Mutex<Vec<(String, Money)>>,
    asked: Mutex<Vec<String>>,
}

#[async_trait]
impl PaymentLedger for Ledger {
    async fn payment(&self, out_trade_no: &str) -> Result<Option<LedgerPayment>, OrdersError> {
        self.asked.lock().unwrap().push(out_trade_no.to_owned());
        let paid = self
            .paid
            .lock()
            .unwrap()
            .iter()
            .find(|(no, _)| no == out_trade_no)
            .map(|(_, total)| *total);
        Ok(Some(LedgerPayment {
            state: if paid.is_some() { "SUCCESS" } else { "NOTPAY" }.into(),
            paid: paid.is_some(),
            total: paid.unwrap_or(Money::cny(500)),
        }))
    }

    async fn refund(&self, _out_refund_no: &str) -> Result<Option<LedgerRefund>, OrdersError> {
        Ok(None)
    }
}

#[actix_web::test]
async fn every_order_of_the_period_is_checked_once_across_pages() {
    let s = setup(Options {
        orders: OrdersConfig {
            max_unpaid_orders_per_user: 0,
            checkout_rate_per_minute: 0,
            max_orders_per_number_per_day: 0,
            ..OrdersConfig::default()
        },
        ..Options::default()
    })
    .await;
    // The clock stands still: every order has the same `created_at`.
    let count = 450;
    let mut placed = Vec::new();
    for n in 0..count {
        let checkout = s
            .service
            .checkout(CheckoutRequest {
                user_id: format!("u{}", n % 7),
                openid: format!("openid-{n}"),
                plan_id: "globe-5usd".into(),
                phone: success_number(n),
                country: None,
                client_ip: None,
                idempotency: None,
                coupon_id: None,
            })
            .await
            .unwrap();
        placed.push((checkout.order.id, checkout.order.total));
    }
    let ledger = Arc::new(Ledger::default());
    let (unheard, total) = placed[count as usize / 2].clone();
    ledger.paid.lock().unwrap().push((unheard.clone(), total));
    let reconciler = Reconciler::new(
        &s.store.store,
        ledger.clone(),
        s.router.clone(),
        s.shared.clone(),
    );
    let now = s.clock.now();
    let report = reconciler
        .run(
            now.minus(TimeDelta::minutes(1)),
            now.plus(TimeDelta::minutes(1)),
            "test",
        )
        .await
        .unwrap();

    assert_eq!(report.totals.orders, u64::from(count));
    let mut asked = ledger.asked.lock().unwrap().clone();
    asked.sort();
    let mut placed: Vec<String> = placed.into_iter().map(|(no, _)| no).collect();
    placed.sort();
    assert_eq!(asked, placed, "each order asked about exactly once");
    let kinds: Vec<(String, DiscrepancyKind)> = report
        .discrepancies
        .iter()
        .map(|d| (d.order_no.clone().unwrap_or_default(), d.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            (unheard.clone(), DiscrepancyKind::PaidNotRecorded),
            (unheard, DiscrepancyKind::Unaccounted),
        ]
    );
    assert_eq!(report.totals.paid, total.amount);
    assert_eq!(report.totals.unaccounted, total.amount);

    // Orders outside the period are not looked at.
    let later = reconciler
        .run(
            now.plus(TimeDelta::minutes(1)),
            now.plus(TimeDelta::minutes(2)),
            "test",
        )
        .await
        .unwrap();
    assert_eq!(later.totals.orders, 0);
    assert!(later.is_clean());
}
