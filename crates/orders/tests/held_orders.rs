//! Held orders never strand the user's money: staff and the user can have it back once the
//! provider confirms nothing was delivered, and a hold that lasts raises an alert.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::TimeDelta;
use common::{Options, setup, success_number};
use topup_core::{Decimal, Money, PageRequest};
use topup_orders::{OrderQuery, OrderState, OrdersError};

/// Empty wallet: the order is held with nothing delivered.
async fn held(s: &common::Setup, n: u32) -> String {
    s.sandboxes[0].set_balance(Decimal::ZERO);
    let order_no = s.paid_order(&success_number(n)).await;
    s.engine.run_until_idle().await.unwrap();
    let order = s.service.get(&order_no).await.unwrap();
    assert!(order.is_held(), "{:?}", order.state);
    order_no
}

#[actix_web::test]
async fn staff_refund_a_held_order_in_full_after_the_provider_confirms_nothing_was_delivered() {
    let s = setup(Options::default()).await;
    let order_no = held(&s, 1).await;
    let order = s
        .service
        .refund(&order_no, None, "wallet empty", "staff-1")
        .await
        .unwrap();
    assert_eq!(order.state, OrderState::Refunding);
    assert!(order.hold.is_none());
    s.engine.run_until_idle().await.unwrap();
    assert_eq!(
        s.payments.refunds.lock().unwrap().clone(),
        vec![(order_no.clone(), format!("{order_no}R1"), Money::cny(3800))]
    );
    assert_eq!(s.sent_for(0, &order_no), 0, "nothing was delivered");
    s.service
        .refund_settled(&order_no, &format!("{order_no}R1"), true)
        .await
        .unwrap();
    assert_eq!(s.state(&order_no).await, OrderState::Refunded);
    // A second refund of the same order is refused: it is no longer held.
    assert!(matches!(
        s.service.refund(&order_no, None, "again", "staff-1").await,
        Err(OrdersError::InvalidState { .. })
    ));
    assert_eq!(s.payments.refunds.lock().unwrap().len(), 1);
}

#[actix_web::test]
async fn a_partial_refund_of_a_held_order_is_refused() {
    let s = setup(Options::default()).await;
    let order_no = held(&s, 2).await;
    assert!(matches!(
        s.service
            .refund(&order_no, Some(Money::cny(100)), "part", "staff-1")
            .await,
        Err(OrdersError::InvalidState { .. })
    ));
    assert!(s.service.get(&order_no).await.unwrap().is_held());
}

#[actix_web::test]
async fn the_user_gets_the_money_of_a_held_order_back_at_once() {
    let s = setup(Options::default()).await;
    let order_no = held(&s, 3).await;
    // Another user cannot.
    assert!(matches!(
        s.service.request_refund("u2", &order_no).await,
        Err(OrdersError::NotFound(_))
    ));
    let order = s.service.request_refund("u1", &order_no).await.unwrap();
    assert_eq!(order.state, OrderState::Refunding);
    assert_eq!(order.refunds.len(), 1);
    assert_eq!(order.refunds[0].amount, Money::cny(3800));
    assert_eq!(order.refunds[0].initiator, "user:u1");
    s.engine.run_until_idle().await.unwrap();
    assert_eq!(s.payments.refunds.lock().unwrap().len(), 1);
    // Asking again changes nothing.
    assert!(matches!(
        s.service.request_refund("u1", &order_no).await,
        Err(OrdersError::InvalidState { .. })
    ));
    assert_eq!(s.payments.refunds.lock().unwrap().len(), 1);
}

#[actix_web::test]
async fn a_refund_request_is_refused_when_the_provider_reports_a_delivery() {
    let s = setup(Options::default()).await;
    // Delivered under its first key, yet held (as after a staff retry raced a late answer).
    let order_no = s.paid_order(&success_number(4)).await;
    s.engine.run_until_idle().await.unwrap();
    let mut order = s.service.get(&order_no).await.unwrap();
    assert_eq!(order.state, OrderState::Succeeded);
    order.state = OrderState::Recharging;
    order.hold = Some(topup_orders::Hold::new("p: INSUFFICIENT_BALANCE", s.now()));
    s.store
        .store
        .collection::<topup_orders::Order>()
        .replace(&order)
        .await
        .unwrap();
    match s.service.request_refund("u1", &order_no).await {
        Err(OrdersError::DeliveryNotRuledOut(reason)) => {
            assert!(reason.contains("delivered"), "{reason}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(matches!(
        s.service.refund(&order_no, None, "x", "staff-1").await,
        Err(OrdersError::DeliveryNotRuledOut(_))
    ));
    assert!(s.service.get(&order_no).await.unwrap().refunds.is_empty());
    s.engine.run_until_idle().await.unwrap();
    assert!(s.payments.refunds.lock().unwrap().is_empty());
}

#[actix_web::test]
async fn only_delayed_orders_take_refund_requests() {
    let s = setup(Options::default()).await;
    let unpaid = s.place("u1", &success_number(5)).await;
    assert!(matches!(
        s.service.request_refund("u1", &unpaid).await,
        Err(OrdersError::InvalidState { .. })
    ));
    let delivered = s.paid_order(&success_number(6)).await;
    s.engine.run_until_idle().await.unwrap();
    assert!(matches!(
        s.service.request_refund("u1", &delivered).await,
        Err(OrdersError::InvalidState { .. })
    ));
    assert!(s.payments.refunds.lock().unwrap().is_empty());
}

#[actix_web::test]
async fn a_hold_longer_than_the_threshold_raises_an_alert_staff_can_list() {
    let s = setup(Options::default()).await;
    let order_no = held(&s, 7).await;
    let alerted = || async {
        s.service
            .list(
                &OrderQuery {
                    hold_alerted: Some(true),
                    ..OrderQuery::default()
                },
                &[],
                PageRequest::default(),
            )
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|o| o.id)
            .collect::<Vec<_>>()
    };
    s.clock.advance(TimeDelta::minutes(29));
    s.engine.run_until_idle().await.unwrap();
    assert!(alerted().await.is_empty(), "not yet");
    s.clock.advance(TimeDelta::minutes(2));
    s.engine.run_until_idle().await.unwrap();
    assert_eq!(alerted().await, vec![order_no.clone()]);
    let order = s.service.get(&order_no).await.unwrap();
    assert_eq!(
        order
            .timeline
            .iter()
            .filter(|e| e.what == "hold alert raised")
            .count(),
        1
    );
    assert_eq!(
        order.next_action_at, None,
        "raised once, then left to staff"
    );
    assert_eq!(order.state, OrderState::Recharging);
}
