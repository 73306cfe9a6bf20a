//! How many messages a second one worker delivers to the mini-program sandbox over real
//! HTTP, store writes included. Ignored by default; run it in release:
//!
//! `cargo test -p topup-notify --release --test throughput -- --ignored --nocapture`
//!
//! `NOTIFY_BENCH_MESSAGES` sets the count (default 5000). SQLite unless
//! `TOPUP_TEST_MONGODB_URI` is set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Instant;

use common::{recharge_template, serve};
use topup_core::{Clock, ManualClock, Money, Secret, Timestamp};
use topup_notify::{
    DeliveryQuery, DeliveryState, MessageSender, Notice, NoticeEvent, NotifyService,
};
use topup_sandbox::wechat_mp::{MiniProgramSandbox, MiniProgramSandboxConfig};
use topup_store::testing::TestStore;

use topup_wechat::{MiniProgramClient, MiniProgramConfig};

#[actix_web::test]
#[ignore = "a benchmark: run in release with --ignored --nocapture"]
async fn delivery_throughput() {
    let count: usize = std::env::var("NOTIFY_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let store = TestStore::open().await.unwrap();
    let clock = ManualClock::new(Timestamp::parse("2026-03-01T00:00:00Z").unwrap());
    let sandbox = MiniProgramSandbox::new(
        MiniProgramSandboxConfig::new("wxbench", "bench-secret"),
        Arc::new(clock.clone()),
    );
    let base = serve(sandbox.clone()).await;
    let client = Arc::new(
        MiniProgramClient::new(
            MiniProgramConfig::new("wxbench", Secret::new("bench-secret".into()), &base),
            Arc::new(clock.clone()),
        )
        .unwrap(),
    );
    let service = NotifyService::new(
        &store.store,
        Arc::new(clock.clone()),
        client as Arc<dyn MessageSender>,
    );
    service.prepare().await.unwrap();
    service
        .put_template(NoticeEvent::RechargeSucceeded, recharge_template())
        .await
        .unwrap();

    for n in 0..count {
        let (_, openid) = sandbox.issue_code(Some(&format!("o_bench_{n}")));
        let user_id = format!("u{n}");
        sandbox
            .subscribe(&openid, &["sbx-recharge-succeeded".to_owned()], true)
            .unwrap();
        service
            .record_choice(&user_id, &["sbx-recharge-succeeded".to_owned()], &[])
            .await
            .unwrap();
        service
            .enqueue(&Notice {
                key: format!("order:{n:026}:recharge_succeeded"),
                event: NoticeEvent::RechargeSucceeded,
                user_id,
                openid,
                order_no: Some(format!("{n:026}")),
                plan: Some("Philippines Globe Telecom 500 PHP airtime".into()),
                phone: Some("+639171234500".into()),
                amount: Some(Money::cny(6_350)),
                reason: None,
                membership: None,
                valid_until: None,
                at: clock.now(),
            })
            .await
            .unwrap();
    }

    let started = Instant::now();
    service.run_until_idle().await.unwrap();
    let elapsed = started.elapsed();
    let sent = service
        .deliveries(
            &DeliveryQuery {
                state: Some(DeliveryState::Sent),
                ..DeliveryQuery::default()
            },
            topup_core::PageRequest::default(),
        )
        .await
        .unwrap()
        .total;
    assert_eq!(sent as usize, count);
    assert_eq!(sandbox.messages(None).len(), count, "each sent once");
    println!(
        "delivered {count} messages in {:.2} s: {:.0} messages/s ({})",
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64(),
        store.store.kind()
    );
}
