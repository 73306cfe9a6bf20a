//! Fulfilment never waits behind a slow provider call: the worker drives orders
//! concurrently (bounded by `orders.dispatch_concurrency`). Real time throughout: this is
//! about how long a paid order waits.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Options, setup, success_number};
use topup_core::Decimal;
use topup_orders::{OrderState, OrdersConfig};
use topup_sandbox::reloadly::ReloadlySandboxConfig;

/// Polls until `done` holds or the deadline passes; answers whether it held.
async fn eventually<F, Fut>(deadline: Duration, mut done: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let until = Instant::now() + deadline;
    while Instant::now() < until {
        if done().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[actix_web::test]
async fn a_stuck_provider_call_does_not_delay_other_orders() {
    let s = setup(Options {
        manual_clock: false,
        sandbox: ReloadlySandboxConfig {
            // A digit-5 number: committed, answered after 15 s.
            hang: Duration::from_secs(15),
            ..ReloadlySandboxConfig::default()
        },
        read_timeout_ms: 20_000,
        orders: OrdersConfig {
            // One buyer places all of them within a second.
            checkout_rate_per_minute: 0,
            max_unpaid_orders_per_user: 0,
            ..OrdersConfig::default()
        },
        ..Options::default()
    })
    .await;
    let worker = tokio::spawn(s.engine.clone().run(Duration::from_millis(100)));
    let stuck = s.paid_order("+639170000005").await;
    let in_call = eventually(Duration::from_secs(5), || async {
        s.service
            .get(&stuck)
            .await
            .unwrap()
            .recharge
            .in_flight
            .is_some()
    })
    .await;
    assert!(in_call, "the stuck order reached the provider");

    let s = Arc::new(s);
    let mut tasks = Vec::new();
    for n in 0..20 {
        let order_no = s.place("u1", &success_number(n)).await;
        let paid = Instant::now();
        s.pay(&order_no).await;
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let done = eventually(Duration::from_secs(10), || async {
                s.state(&order_no).await == OrderState::Succeeded
            })
            .await;
            (order_no, done, paid.elapsed())
        }));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for task in tasks {
        let (order_no, done, took) = task.await.unwrap();
        assert!(done, "{order_no} succeeded");
        assert!(
            took < Duration::from_secs(3),
            "{order_no} took {took:?} from payment to success"
        );
    }
    assert_eq!(
        s.state(&stuck).await,
        OrderState::Recharging,
        "the stuck call is still waiting"
    );
    worker.abort();
}

#[actix_web::test]
async fn a_payment_wakes_the_idle_worker_at_once() {
    let s = setup(Options {
        manual_clock: false,
        ..Options::default()
    })
    .await;
    // Once it has looked and found nothing, the worker would look again only in an hour.
    let worker = tokio::spawn(s.engine.clone().run(Duration::from_secs(3600)));
    for n in 0..3 {
        let order_no = s.paid_order(&success_number(n)).await;
        let succeeded = eventually(Duration::from_secs(5), || async {
            s.state(&order_no).await == OrderState::Succeeded
        })
        .await;
        assert!(
            succeeded,
            "paid order {n} was dispatched without waiting for the next look"
        );
    }
    worker.abort();
}

/// `cargo test -p topup-orders --release --test dispatch -- --ignored --nocapture`
#[actix_web::test]
#[ignore = "benchmark: prints fulfilments per second"]
async fn fulfilment_throughput_with_two_second_provider_latency() {
    let orders: u32 = std::env::var("BENCH_ORDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let concurrency: usize = std::env::var("BENCH_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_024);
    let s = setup(Options {
        manual_clock: false,
        sandbox: ReloadlySandboxConfig {
            topup_latency: Duration::from_secs(2),
            rate_limit_per_second: 1_000_000,
            // Enough for every order (the default wallet empties after about 200 top-ups,
            // and an empty wallet holds orders for staff).
            starting_balance: Decimal::new(100_000_000, 2),
            ..ReloadlySandboxConfig::default()
        },
        read_timeout_ms: 30_000,
        orders: OrdersConfig {
            dispatch_concurrency: concurrency,
            batch_size: 256,
            max_orders_per_number_per_day: 0,
            max_unpaid_orders_per_user: 0,
            checkout_rate_per_minute: 0,
            lease_seconds: 120,
            ..OrdersConfig::default()
        },
        http_workers: 2,
        ..Options::default()
    })
    .await;
    let mut placed = Vec::new();
    for n in 0..orders {
        placed.push(s.paid_order(&success_number(n)).await);
    }
    let started = Instant::now();
    let worker = tokio::spawn(s.engine.clone().run(Duration::from_millis(100)));
    let last = placed.last().unwrap().clone();
    let mut done = 0usize;
    let deadline = Instant::now() + Duration::from_secs(600);
    while Instant::now() < deadline {
        done = usize::try_from(s.sandboxes[0].stats().committed_transactions).unwrap();
        if done >= placed.len() && s.state(&last).await == OrderState::Succeeded {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Every order, not only the provider's count: the stored state is what users see.
    let mut succeeded = 0;
    for order_no in &placed {
        if s.state(order_no).await == OrderState::Succeeded {
            succeeded += 1;
        }
    }
    let elapsed = started.elapsed();
    worker.abort();
    let rate = f64::from(succeeded) / elapsed.as_secs_f64();
    println!(
        "backend={:?} orders={orders} concurrency={concurrency} provider_latency=2s \
         committed={done} succeeded={succeeded} elapsed={:.2}s fulfilments/s={rate:.1}",
        s.store.backend,
        elapsed.as_secs_f64()
    );
    assert_eq!(succeeded, orders);
}
