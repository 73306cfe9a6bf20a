//! The order engine against the provider sandbox over real HTTP: every outcome of the
//! sandbox's table, failover, holds, crash recovery and duplicate payment events. The payment
//! side is a recording stand-in here; the API tests drive the real WeChat Pay sandbox.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::dev::Service;
use actix_web::http::Method;
use actix_web::{App, HttpServer, web};
use async_trait::async_trait;
use chrono::TimeDelta;
use serde_json::{Value, json};
use topup_core::{Clock, Decimal, ManualClock, Money, Msisdn, Secret, SharedClock, Timestamp};
use topup_orders::{
    BlockKind, Blocklist, CheckoutRequest, CloseOutcome, Order, OrderEngine, OrderState,
    OrdersConfig, OrdersError, OrdersService, PaymentPort, PaymentStart,
};
use topup_recharge::{ProviderConfig, ProvidersConfig};
use topup_sandbox::reloadly::{self, ReloadlySandbox, ReloadlySandboxConfig};
use topup_store::{Filter, FindQuery, SqliteBackend, SqliteOptions, Store};

mod common;

use common::Catalog;

#[derive(Default)]
struct Blocked(Mutex<Vec<String>>);

#[async_trait]
impl Blocklist for Blocked {
    async fn blocked(
        &self,
        number: &Msisdn,
        openid: &str,
        ip: Option<&str>,
    ) -> Result<Vec<BlockKind>, OrdersError> {
        let blocked = self.0.lock().unwrap();
        let candidates = [
            (BlockKind::Phone, Some(number.e164())),
            (BlockKind::Openid, Some(openid)),
            (BlockKind::Ip, ip),
        ];
        Ok(candidates
            .into_iter()
            .filter(|(_, value)| value.is_some_and(|value| blocked.iter().any(|v| v == value)))
            .map(|(kind, _)| kind)
            .collect())
    }
}

#[derive(Default)]
struct Payments {
    refunds: Mutex<Vec<(String, String, Money)>>,
    closed: Mutex<Vec<String>>,
    paid_at_wechat: Mutex<Vec<String>>,
}

#[async_trait]
impl PaymentPort for Payments {
    async fn start(&self, start: PaymentStart) -> Result<Value, OrdersError> {
        Ok(json!({"package": format!("prepay_id=wx{}", start.out_trade_no)}))
    }

    async fn resume(&self, out_trade_no: &str) -> Result<Value, OrdersError> {
        Ok(json!({"package": format!("prepay_id=wx{out_trade_no}")}))
    }

    async fn close_unpaid(&self, out_trade_no: &str) -> Result<CloseOutcome, OrdersError> {
        if self
            .paid_at_wechat
            .lock()
            .unwrap()
            .iter()
            .any(|n| n == out_trade_no)
        {
            return Ok(CloseOutcome::Paid {
                transaction_id: "4200000001".into(),
                paid_at: Timestamp::parse("2026-01-01T00:01:00Z").unwrap(),
            });
        }
        self.closed.lock().unwrap().push(out_trade_no.to_owned());
        Ok(CloseOutcome::Closed)
    }

    async fn request_refund(
        &self,
        out_trade_no: &str,
        out_refund_no: &str,
        amount: Money,
        _reason: &str,
        _initiator: &str,
    ) -> Result<(), OrdersError> {
        let mut refunds = self.refunds.lock().unwrap();
        if !refunds.iter().any(|(_, no, _)| no == out_refund_no) {
            refunds.push((out_trade_no.to_owned(), out_refund_no.to_owned(), amount));
        }
        Ok(())
    }
}

struct Setup {
    clock: ManualClock,
    service: OrdersService,
    engine: OrderEngine,
    payments: Arc<Payments>,
    blocked: Arc<Blocked>,
    sandboxes: Vec<ReloadlySandbox>,
    /// For each top-up request the providers received: did every recharging order already
    /// record its send in flight when it arrived (the record that makes a crash safe)?
    in_flight_when_sent: Arc<Mutex<Vec<bool>>>,
    _dir: tempfile::TempDir,
}

async fn setup(providers: usize) -> Setup {
    let clock = ManualClock::new(Timestamp::parse("2026-01-01T00:00:00Z").unwrap());
    let shared: SharedClock = Arc::new(clock.clone());
    let sandboxes: Vec<ReloadlySandbox> = (0..providers)
        .map(|_| {
            ReloadlySandbox::new(ReloadlySandboxConfig {
                clock: shared.clone(),
                hang: Duration::from_secs(4),
                ..ReloadlySandboxConfig::default()
            })
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(Arc::new(
        SqliteBackend::open(&SqliteOptions::new(dir.path().join("o.db"))).unwrap(),
    ));
    let in_flight_when_sent = Arc::new(Mutex::new(Vec::new()));
    let served = sandboxes.clone();
    let (orders, seen) = (store.collection::<Order>(), in_flight_when_sent.clone());
    let server = HttpServer::new(move || {
        let (orders, seen) = (orders.clone(), seen.clone());
        let mut app = App::new().wrap_fn(move |request, service| {
            let is_send = request.method() == Method::POST && request.path().ends_with("/topups");
            let (orders, seen) = (orders.clone(), seen.clone());
            let answer = service.call(request);
            async move {
                if is_send {
                    let recharging = orders
                        .find(&FindQuery::new(Filter::eq("state", OrderState::Recharging)))
                        .await
                        .unwrap();
                    seen.lock().unwrap().push(
                        !recharging.is_empty()
                            && recharging.iter().all(|o| o.recharge.in_flight.is_some()),
                    );
                }
                answer.await
            }
        });
        for (i, sandbox) in served.iter().enumerate() {
            app = app.service(
                web::scope(&format!("/p{i}")).configure(reloadly::configure(sandbox.clone())),
            );
        }
        app
    })
    .workers(2)
    .disable_signals()
    .bind(("127.0.0.1", 0))
    .unwrap();
    let base = format!("http://{}", server.addrs()[0]);
    tokio::spawn(server.run());
    let configs = (0..providers)
        .map(|i| {
            let mut c = ProviderConfig::reloadly(
                ["a", "b", "c"][i],
                Secret::new("sandbox-client-id".into()),
                Secret::new("sandbox-client-secret".into()),
            );
            c.auth_url = format!("{base}/p{i}/auth");
            c.api_url = format!("{base}/p{i}/topups");
            c.audience = Some("https://topups-sandbox.reloadly.com".into());
            c.read_timeout_ms = 1_000;
            c.priority = u32::try_from(i).unwrap() + 1;
            c.max_rate_limit_wait_ms = 0;
            c
        })
        .collect();
    let router = Arc::new(
        ProvidersConfig {
            providers: configs,
            ..ProvidersConfig::default()
        }
        .build_router(shared.clone())
        .unwrap(),
    );
    let payments = Arc::new(Payments::default());
    let blocked = Arc::new(Blocked::default());
    let config = OrdersConfig {
        lookup_delay_seconds: 5,
        ..OrdersConfig::default()
    };
    let service = OrdersService::new(
        &store,
        shared.clone(),
        Arc::new(Catalog),
        blocked.clone(),
        payments.clone(),
        config.clone(),
    );
    service.prepare().await.unwrap();
    let engine = OrderEngine::new(&store, shared, router, payments.clone(), config, "worker-1");
    Setup {
        clock,
        service,
        engine,
        payments,
        blocked,
        sandboxes,
        in_flight_when_sent,
        _dir: dir,
    }
}

impl Setup {
    async fn paid_order(&self, phone: &str) -> String {
        let checkout = self
            .service
            .checkout(CheckoutRequest {
                user_id: "u1".into(),
                openid: "o1".into(),
                plan_id: "globe-5usd".into(),
                phone: phone.into(),
                country: None,
                client_ip: Some("127.0.0.1".into()),
                idempotency: None,
                coupon_id: None,
            })
            .await
            .unwrap();
        let order_no = checkout.order.id.clone();
        self.service
            .payment_succeeded(&order_no, "4200000001", Money::cny(3800), self.clock.now())
            .await
            .unwrap();
        order_no
    }

    async fn state(&self, order_no: &str) -> OrderState {
        self.service.get(order_no).await.unwrap().state
    }

    fn sent_for(&self, sandbox: usize, order_no: &str) -> usize {
        self.sandboxes[sandbox]
            .transactions()
            .iter()
            .filter(|t| {
                t.custom_identifier
                    .as_deref()
                    .is_some_and(|k| k.starts_with(order_no))
            })
            .count()
    }
}

#[actix_web::test]
async fn paid_order_is_recharged_once() {
    let s = setup(1).await;
    let order_no = s.paid_order("+639171234500").await;
    s.engine.run_until_idle().await.unwrap();
    let order = s.service.get(&order_no).await.unwrap();
    assert_eq!(order.state, OrderState::Succeeded);
    assert_eq!(order.recharge.delivered_by.as_deref(), Some("a"));
    assert!(order.recharge.provider_transaction_id.is_some());
    assert_eq!(s.sent_for(0, &order_no), 1);
    assert_eq!(
        *s.in_flight_when_sent.lock().unwrap(),
        [true],
        "the send is recorded in flight before the provider sees it"
    );
    let log = s
        .service
        .recharge_log(
            &topup_orders::RechargeLogQuery {
                order_no: Some(order_no.clone()),
                ..Default::default()
            },
            topup_core::PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(log.total, 1);
    assert_eq!(log.items[0].outcome_class, "succeeded");
    assert_eq!(log.items[0].phone_masked, "+639*****4500");
    let whats: Vec<&str> = order.timeline.iter().map(|e| e.what.as_str()).collect();
    assert_eq!(
        whats,
        ["order placed", "paid", "recharge started", "recharged"]
    );
    // Running again changes nothing.
    s.engine.run_until_idle().await.unwrap();
    assert_eq!(s.sent_for(0, &order_no), 1);
}

#[actix_web::test]
async fn declined_number_is_refunded_in_full() {
    let s = setup(1).await;
    let order_no = s.paid_order("+639171234502").await;
    s.engine.run_until_idle().await.unwrap();
    assert_eq!(s.state(&order_no).await, OrderState::Refunding);
    let refunds = s.payments.refunds.lock().unwrap().clone();
    assert_eq!(
        refunds,
        vec![(order_no.clone(), format!("{order_no}R1"), Money::cny(3800))]
    );
    s.service
        .refund_settled(&order_no, &format!("{order_no}R1"), true)
        .await
        .unwrap();
    assert_eq!(s.state(&order_no).await, OrderState::Refunded);
    // A duplicate settlement changes nothing.
    s.service
        .refund_settled(&order_no, &format!("{order_no}R1"), true)
        .await
        .unwrap();
    assert_eq!(s.state(&order_no).await, OrderState::Refunded);
}

#[actix_web::test]
async fn processing_then_refunded_by_the_operator_is_refunded() {
    let s = setup(1).await;
    // Digit 1 before the outcome digit: ~2 s PROCESSING.
    let order_no = s.paid_order("+639171234513").await;
    s.engine.run_until_idle().await.unwrap();
    let order = s.service.get(&order_no).await.unwrap();
    assert_eq!(order.state, OrderState::Recharging);
    assert!(order.recharge.pending.is_some());
    s.clock.advance(TimeDelta::seconds(6));
    s.engine.run_until_idle().await.unwrap();
    assert_eq!(s.state(&order_no).await, OrderState::Refunding);
    assert_eq!(s.payments.refunds.lock().unwrap().len(), 1);
    assert_eq!(s.sent_for(0, &order_no), 1);
}

#[actix_web::test]
async fn timeout_after_commit_is_resolved_by_lookup_not_resent() {
    let s = setup(1).await;
    let order_no = s.paid_order("+639171234505").await;
    s.engine.run_until_idle().await.unwrap();
    let order = s.service.get(&order_no).await.unwrap();
    if order.state == OrderState::Recharging {
        // No answer yet: the outcome is kept unknown and looked up, never resent.
        assert!(order.recharge.in_flight.is_some());
        s.clock.advance(TimeDelta::seconds(6));
        s.engine.run_until_idle().await.unwrap();
    }
    let order = s.service.get(&order_no).await.unwrap();
    assert_eq!(order.state, OrderState::Succeeded);
    assert_eq!(s.sent_for(0, &order_no), 1, "sent exactly once");
    let sends = order
        .recharge
        .attempts
        .iter()
        .filter(|a| a.action == "send")
        .count();
    assert_eq!(sends, 1);
}

#[actix_web::test]
async fn empty_wallet_holds_the_order_until_staff_retry() {
    let s = setup(1).await;
    s.sandboxes[0].set_balance(Decimal::ZERO);
    let order_no = s.paid_order("+639171234500").await;
    s.engine.run_until_idle().await.unwrap();
    let order = s.service.get(&order_no).await.unwrap();
    assert_eq!(order.state, OrderState::Recharging);
    let hold = order.hold.expect("held");
    assert!(
        hold.reason.contains("INSUFFICIENT_BALANCE"),
        "{}",
        hold.reason
    );
    // Looked at again only to raise the hold alert.
    assert_eq!(
        order.next_action_at,
        Some(s.clock.now().plus(TimeDelta::minutes(30)))
    );
    // Nothing happens by itself.
    s.clock.advance(TimeDelta::hours(1));
    s.engine.run_until_idle().await.unwrap();
    assert_eq!(s.state(&order_no).await, OrderState::Recharging);
    // Staff tops the wallet up and retries.
    s.sandboxes[0].set_balance(Decimal::from(1000));
    s.clock.advance(TimeDelta::minutes(3));
    s.service.retry(&order_no, "staff-1").await.unwrap();
    s.engine.run_until_idle().await.unwrap();
    assert_eq!(s.state(&order_no).await, OrderState::Succeeded);
}

#[actix_web::test]
async fn precondition_fails_over_to_the_next_provider() {
    let s = setup(2).await;
    s.sandboxes[0].set_balance(Decimal::ZERO);
    let order_no = s.paid_order("+639171234500").await;
    s.engine.run_until_idle().await.unwrap();
    let order = s.service.get(&order_no).await.unwrap();
    assert_eq!(order.state, OrderState::Succeeded);
    assert_eq!(order.recharge.delivered_by.as_deref(), Some("b"));
    assert_eq!(s.sent_for(1, &order_no), 1);
}

#[actix_web::test]
async fn retryable_failures_back_off_then_refund() {
    let s = setup(1).await;
    let order_no = s.paid_order("+639171234504").await;
    for _ in 0..8 {
        s.engine.run_until_idle().await.unwrap();
        s.clock.advance(TimeDelta::minutes(11));
    }
    s.engine.run_until_idle().await.unwrap();
    let order = s.service.get(&order_no).await.unwrap();
    assert_eq!(order.state, OrderState::Refunding);
    let sends = order
        .recharge
        .attempts
        .iter()
        .filter(|a| a.action == "send")
        .count();
    assert_eq!(sends, 5, "max_recharge_attempts");
}

#[actix_web::test]
async fn a_crash_after_dispatch_is_recovered_by_lookup() {
    let s = setup(1).await;
    let order_no = s.paid_order("+639171234500").await;
    // Simulate a worker that wrote its dispatch and died before calling the provider.
    let mut order = s.service.get(&order_no).await.unwrap();
    order.state = OrderState::Recharging;
    order.recharge.in_flight = Some(topup_orders::InFlight {
        provider_id: "a".into(),
        key: format!("{order_no}-1"),
        since: s.clock.now(),
    });
    let store_order = order.clone();
    drop(order);
    s.service_replace(store_order).await;
    s.clock.advance(TimeDelta::seconds(10));
    s.engine.run_until_idle().await.unwrap();
    let order = s.service.get(&order_no).await.unwrap();
    assert_eq!(order.state, OrderState::Succeeded);
    assert_eq!(s.sent_for(0, &order_no), 1);
}

impl Setup {
    async fn service_replace(&self, order: topup_orders::Order) {
        // Through the store directly: this is the state a crashed worker leaves behind.
        let store = self._dir.path().join("o.db");
        let backend = SqliteBackend::open(&SqliteOptions::new(store)).unwrap();
        Store::new(Arc::new(backend))
            .collection::<topup_orders::Order>()
            .replace(&order)
            .await
            .unwrap();
    }
}

#[actix_web::test]
async fn fifty_duplicate_payment_events_make_one_transition_and_one_recharge() {
    let s = Arc::new(setup(1).await);
    let checkout = s
        .service
        .checkout(CheckoutRequest {
            user_id: "u1".into(),
            openid: "o1".into(),
            plan_id: "globe-5usd".into(),
            phone: "+639171234500".into(),
            country: None,
            client_ip: None,
            idempotency: None,
            coupon_id: None,
        })
        .await
        .unwrap();
    let order_no = checkout.order.id.clone();
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let s = s.clone();
        let order_no = order_no.clone();
        tasks.push(tokio::spawn(async move {
            s.service
                .payment_succeeded(&order_no, "4200000001", Money::cny(3800), s.clock.now())
                .await
                .unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let order = s.service.get(&order_no).await.unwrap();
    assert_eq!(
        order.timeline.iter().filter(|e| e.what == "paid").count(),
        1
    );
    s.engine.run_until_idle().await.unwrap();
    assert_eq!(s.state(&order_no).await, OrderState::Succeeded);
    assert_eq!(s.sent_for(0, &order_no), 1);
}

#[actix_web::test]
async fn unpaid_orders_close_after_the_deadline_unless_paid_at_wechat() {
    let s = setup(1).await;
    let request = |phone: &str| CheckoutRequest {
        user_id: "u1".into(),
        openid: "o1".into(),
        plan_id: "globe-5usd".into(),
        phone: phone.into(),
        country: None,
        client_ip: None,
        idempotency: None,
        coupon_id: None,
    };
    let unpaid = s
        .service
        .checkout(request("+639171234500"))
        .await
        .unwrap()
        .order
        .id;
    let late = s
        .service
        .checkout(request("+639171234501"))
        .await
        .unwrap()
        .order
        .id;
    s.payments.paid_at_wechat.lock().unwrap().push(late.clone());
    s.engine.run_until_idle().await.unwrap();
    assert_eq!(s.state(&unpaid).await, OrderState::AwaitingPayment);
    s.clock.advance(TimeDelta::minutes(16));
    s.engine.run_until_idle().await.unwrap();
    assert_eq!(s.state(&unpaid).await, OrderState::Closed);
    assert_eq!(
        s.state(&late).await,
        OrderState::Succeeded,
        "a late payment is honoured"
    );
}

#[actix_web::test]
async fn checkout_validation() {
    let s = setup(1).await;
    let base = CheckoutRequest {
        user_id: "u1".into(),
        openid: "o1".into(),
        plan_id: "globe-5usd".into(),
        phone: "+639171234500".into(),
        country: None,
        client_ip: None,
        idempotency: None,
        coupon_id: None,
    };
    let unknown = CheckoutRequest {
        plan_id: "nope".into(),
        ..base.clone()
    };
    assert!(matches!(
        s.service.checkout(unknown).await,
        Err(OrdersError::PlanUnavailable(_))
    ));
    let wrong_country = CheckoutRequest {
        phone: "+447911123456".into(),
        ..base.clone()
    };
    assert!(matches!(
        s.service.checkout(wrong_country).await,
        Err(OrdersError::CountryMismatch { .. })
    ));
    let invalid = CheckoutRequest {
        phone: "12".into(),
        ..base.clone()
    };
    assert!(matches!(
        s.service.checkout(invalid).await,
        Err(OrdersError::InvalidPhone(_))
    ));
    s.blocked.0.lock().unwrap().push("+639171234509".into());
    let blocked = CheckoutRequest {
        phone: "+639171234509".into(),
        ..base.clone()
    };
    assert!(matches!(
        s.service.checkout(blocked).await,
        Err(OrdersError::Blocked(_))
    ));
    s.service.checkout(base.clone()).await.unwrap();
    assert!(matches!(
        s.service.checkout(base.clone()).await,
        Err(OrdersError::LimitReached(_))
    ));
    // Idempotency: same key and body → same order; another body → mismatch.
    let keyed = |phone: &str, hash: &str| CheckoutRequest {
        phone: phone.into(),
        idempotency: Some(topup_orders::CheckoutKey {
            key: "k-1".into(),
            body_hash: hash.into(),
        }),
        ..base.clone()
    };
    let first = s
        .service
        .checkout(keyed("+639171234501", "h1"))
        .await
        .unwrap();
    let again = s
        .service
        .checkout(keyed("+639171234501", "h1"))
        .await
        .unwrap();
    assert_eq!(first.order.id, again.order.id);
    assert!(matches!(
        s.service.checkout(keyed("+639171234503", "h2")).await,
        Err(OrdersError::IdempotencyMismatch)
    ));
}

#[actix_web::test]
async fn a_number_takes_at_most_ten_orders_in_24_hours() {
    let s = setup(1).await;
    let phone = "+639171234500";
    for _ in 0..10 {
        let order_no = s.paid_order(phone).await;
        s.engine.run_until_idle().await.unwrap();
        assert_eq!(s.state(&order_no).await, OrderState::Succeeded);
        s.clock.advance(TimeDelta::minutes(30));
    }
    let next = CheckoutRequest {
        user_id: "u2".into(),
        openid: "o2".into(),
        plan_id: "globe-5usd".into(),
        phone: phone.into(),
        country: None,
        client_ip: None,
        idempotency: None,
        coupon_id: None,
    };
    match s.service.checkout(next.clone()).await {
        Err(OrdersError::LimitReached(reason)) => {
            assert!(reason.contains("at most 10"), "{reason}")
        }
        other => panic!("expected the daily limit, got {other:?}"),
    }
    // 24 hours after the first of them (placed 300 minutes ago), one slot is free again.
    s.clock
        .advance(TimeDelta::hours(24) - TimeDelta::minutes(300) + TimeDelta::seconds(1));
    s.service.checkout(next).await.unwrap();
}
