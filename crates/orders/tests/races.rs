//! Races that could lose or double money, each run many times (on the store the environment
//! chooses: SQLite, or MongoDB with `TOPUP_TEST_MONGODB_URI`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{Options, setup, success_number};
use topup_core::{Money, SystemClock};
use topup_orders::{CheckoutKey, CheckoutRequest, OrderState, OrdersConfig, OrdersError};
use topup_sandbox::reloadly::ReloadlySandboxConfig;

fn request(user: &str, phone: &str, key: Option<&str>) -> CheckoutRequest {
    CheckoutRequest {
        user_id: user.into(),
        openid: format!("openid-{user}"),
        plan_id: "globe-5usd".into(),
        phone: phone.into(),
        country: None,
        client_ip: None,
        idempotency: key.map(|k| CheckoutKey {
            key: k.into(),
            body_hash: "same-body".into(),
        }),
        coupon_id: None,
    }
}

fn unlimited() -> OrdersConfig {
    OrdersConfig {
        max_unpaid_orders_per_user: 0,
        checkout_rate_per_minute: 0,
        max_orders_per_number_per_day: 0,
        ..OrdersConfig::default()
    }
}

#[actix_web::test]
async fn parallel_checkouts_for_one_number_open_exactly_one_order() {
    let s = Arc::new(
        setup(Options {
            orders: unlimited(),
            ..Options::default()
        })
        .await,
    );
    for burst in 0..20u32 {
        let phone = success_number(burst);
        let tasks: Vec<_> = (0..10)
            .map(|i| {
                let s = s.clone();
                let phone = phone.clone();
                tokio::spawn(async move {
                    let key = format!("burst-{burst}-{i}");
                    s.service.checkout(request("u1", &phone, Some(&key))).await
                })
            })
            .collect();
        let mut placed = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                Ok(checkout) => placed.push(checkout.order.id),
                Err(OrdersError::LimitReached(_)) => {}
                Err(other) => panic!("burst {burst}: {other:?}"),
            }
        }
        assert_eq!(placed.len(), 1, "burst {burst}: {placed:?}");
        // Another user is not blocked by it.
        s.service
            .checkout(request("u2", &phone, None))
            .await
            .unwrap();
    }
}

#[actix_web::test]
async fn parallel_retries_with_one_key_answer_the_same_order() {
    let s = Arc::new(
        setup(Options {
            orders: unlimited(),
            ..Options::default()
        })
        .await,
    );
    for burst in 0..20u32 {
        let phone = success_number(100 + burst);
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let s = s.clone();
                let phone = phone.clone();
                let key = format!("retry-{burst}");
                tokio::spawn(
                    async move { s.service.checkout(request("u1", &phone, Some(&key))).await },
                )
            })
            .collect();
        let mut ids = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                Ok(checkout) => ids.push(checkout.order.id),
                Err(other) => panic!("burst {burst}: a retry answered {other:?}"),
            }
        }
        ids.dedup();
        assert_eq!(ids.len(), 1, "burst {burst}: {ids:?}");
    }
}

#[actix_web::test]
async fn a_payment_for_a_closed_order_is_refunded_exactly_once() {
    let s = Arc::new(
        setup(Options {
            orders: unlimited(),
            ..Options::default()
        })
        .await,
    );
    for round in 0..10u32 {
        let order_no = s.place("u1", &success_number(200 + round)).await;
        let closed = s.service.cancel("u1", &order_no).await.unwrap();
        assert_eq!(closed.state, OrderState::Closed);
        // The user pays a prepay handed out before the close; WeChat reports it many times.
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let s = s.clone();
                let order_no = order_no.clone();
                tokio::spawn(async move {
                    s.service
                        .payment_succeeded(&order_no, "4200009", Money::cny(3800), s.now())
                        .await
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        s.engine.run_until_idle().await.unwrap();
        let order = s.service.get(&order_no).await.unwrap();
        assert_eq!(order.state, OrderState::Refunding, "round {round}");
        assert_eq!(order.refunds.len(), 1, "round {round}");
        let requested: Vec<_> = s
            .payments
            .refunds
            .lock()
            .unwrap()
            .iter()
            .filter(|(trade, _, _)| *trade == order_no)
            .cloned()
            .collect();
        assert_eq!(
            requested,
            vec![(order_no.clone(), format!("{order_no}R1"), Money::cny(3800))]
        );
        assert_eq!(
            s.sent_for(0, &order_no),
            0,
            "a closed order is never recharged"
        );
        s.service
            .refund_settled(&order_no, &format!("{order_no}R1"), true)
            .await
            .unwrap();
        assert_eq!(s.state(&order_no).await, OrderState::Refunded);
    }
}

#[actix_web::test]
async fn a_cancel_during_checkout_never_leaves_pay_params_for_a_closed_order() {
    let s = Arc::new(
        setup(Options {
            orders: unlimited(),
            ..Options::default()
        })
        .await,
    );
    for round in 0..20u32 {
        s.payments
            .start_delay_ms
            .store(u64::from(round % 5) * 10 + 20, Ordering::SeqCst);
        let phone = success_number(300 + round);
        let checkout = {
            let s = s.clone();
            let phone = phone.clone();
            tokio::spawn(async move { s.service.checkout(request("u1", &phone, None)).await })
        };
        // Cancel as soon as the order exists, while its payment is being placed.
        let mut order_no = None;
        for _ in 0..200 {
            let page = s
                .service
                .list_for_user("u1", None, None, topup_core::PageRequest::default())
                .await
                .unwrap();
            if let Some(order) = page.items.into_iter().find(|o| o.phone == phone) {
                order_no = Some(order.id);
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let order_no = order_no.expect("the order was placed");
        match s.service.cancel("u1", &order_no).await {
            Ok(_) | Err(OrdersError::InvalidState { .. }) => {}
            Err(other) => panic!("round {round}: a cancel answered {other:?}"),
        }
        let answer = checkout.await.unwrap();
        let state = s.state(&order_no).await;
        // What WeChat saw last for this order: a prepay still open, or closed after placing.
        let last_at_wechat = s
            .payments
            .payment_log
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|(trade, _)| *trade == order_no)
            .map(|(_, event)| *event);
        match answer {
            Ok(checkout) => {
                assert!(checkout.pay_params.is_some());
                // Pay parameters may be handed out only for a payable order, or for one whose
                // cancel closed the placed prepay at WeChat afterwards (nobody can pay it).
                assert!(
                    state == OrderState::AwaitingPayment || last_at_wechat == Some("closed"),
                    "round {round}: pay params handed out for a {state:?} order whose prepay is {last_at_wechat:?}"
                );
            }
            Err(OrdersError::InvalidState { .. }) => {
                assert_eq!(state, OrderState::Closed, "round {round}");
                assert_ne!(
                    last_at_wechat,
                    Some("placed"),
                    "round {round}: the refused checkout left its prepay open at WeChat"
                );
            }
            Err(other) => panic!("round {round}: checkout answered {other:?}"),
        }
    }
}

#[actix_web::test]
async fn a_late_first_top_up_is_resent_under_the_same_identifier_and_delivered_once() {
    let s = setup(Options {
        manual_clock: false,
        sandbox: ReloadlySandboxConfig {
            // Every top-up arrives (and commits) after the client's read timeout.
            topup_latency: Duration::from_millis(1_200),
            clock: Arc::new(SystemClock),
            ..ReloadlySandboxConfig::default()
        },
        read_timeout_ms: 400,
        orders: OrdersConfig {
            lookup_delay_seconds: 0,
            max_recharge_attempts: 20,
            ..unlimited()
        },
        ..Options::default()
    })
    .await;
    let mut orders = Vec::new();
    for n in 0..5 {
        orders.push(s.paid_order(&success_number(400 + n)).await);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        s.engine.run_once().await.unwrap();
        let mut done = true;
        for order_no in &orders {
            done &= s.state(order_no).await == OrderState::Succeeded;
        }
        if done || std::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for order_no in &orders {
        let order = s.service.get(order_no).await.unwrap();
        assert_eq!(order.state, OrderState::Succeeded, "{order_no}");
        assert_eq!(s.sent_for(0, order_no), 1, "{order_no} delivered once");
        let keys: Vec<&str> = order
            .recharge
            .attempts
            .iter()
            .filter(|a| a.action == "send")
            .map(|a| a.key.as_str())
            .collect();
        assert!(keys.len() > 1, "the first send was answered late: {keys:?}");
        assert!(
            keys.iter().all(|k| *k == format!("{order_no}-1")),
            "every send under the first identifier: {keys:?}"
        );
    }
}
