//! Deliveries against the mini-program sandbox over real HTTP, on whichever store the
//! environment selects (`topup_store::testing::TestStore`: SQLite, or MongoDB with
//! `TOPUP_TEST_MONGODB_URI`): once per event, skipped without a subscription, a replaced
//! token refreshed, nothing sent twice after a crash mid-send, passing errors retried.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::TimeDelta;
use common::{recharge_template, serve};
use topup_core::{Clock, ManualClock, Money, Secret, Timestamp};
use topup_notify::{
    DeliveryState, FieldMapping, MessageSender, Notice, NoticeEvent, NotifyError, NotifyService,
};
use topup_sandbox::wechat_mp::{MiniProgramSandbox, MiniProgramSandboxConfig};
use topup_store::testing::TestStore;

use topup_wechat::{MiniProgramClient, MiniProgramConfig, SubscribeMessage, WechatError};

const TEMPLATE: &str = "sbx-recharge-succeeded";

struct Fixture {
    service: Arc<NotifyService>,
    sandbox: MiniProgramSandbox,
    client: Arc<MiniProgramClient>,
    clock: ManualClock,
    base: String,
    store: TestStore,
}

fn client_of(base: &str, clock: &ManualClock) -> Arc<MiniProgramClient> {
    Arc::new(
        MiniProgramClient::new(
            MiniProgramConfig::new("wxnotifytest", Secret::new("notify-secret".into()), base),
            Arc::new(clock.clone()),
        )
        .unwrap(),
    )
}

async fn fixture() -> Fixture {
    let store = TestStore::open().await.unwrap();
    let clock = ManualClock::new(Timestamp::parse("2026-03-01T00:00:00Z").unwrap());
    let sandbox = MiniProgramSandbox::new(
        MiniProgramSandboxConfig::new("wxnotifytest", "notify-secret"),
        Arc::new(clock.clone()),
    );
    let base = serve(sandbox.clone()).await;
    let client = client_of(&base, &clock);
    let service = Arc::new(NotifyService::new(
        &store.store,
        Arc::new(clock.clone()),
        Arc::clone(&client) as Arc<dyn MessageSender>,
    ));
    service.prepare().await.unwrap();
    service
        .put_template(NoticeEvent::RechargeSucceeded, recharge_template())
        .await
        .unwrap();
    Fixture {
        service,
        sandbox,
        client,
        clock,
        base,
        store,
    }
}

/// A new mini-program user (known to the sandbox) with an order that was recharged.
fn recharged(fixture: &Fixture, order_no: &str) -> Notice {
    let (_, openid) = fixture.sandbox.issue_code(None);
    Notice {
        key: format!("order:{order_no}:recharge_succeeded"),
        event: NoticeEvent::RechargeSucceeded,
        user_id: format!("user-{openid}"),
        openid,
        order_no: Some(order_no.into()),
        plan: Some("Philippines Globe Telecom 1000 PHP airtime".into()),
        phone: Some("+639171234500".into()),
        amount: Some(Money::cny(12_800)),
        reason: None,
        membership: None,
        valid_until: None,
        at: fixture.clock.now(),
    }
}

/// The user taps "allow" in WeChat's prompt and the app reports it.
async fn subscribe(fixture: &Fixture, notice: &Notice) {
    fixture
        .sandbox
        .subscribe(&notice.openid, &[TEMPLATE.to_owned()], true)
        .unwrap();
    fixture
        .service
        .record_choice(&notice.user_id, &[TEMPLATE.to_owned()], &[])
        .await
        .unwrap();
}

#[actix_web::test]
async fn an_event_is_delivered_once_with_its_values_fitted_to_wechats_rules() {
    let fixture = fixture().await;
    let notice = recharged(&fixture, "01JX0000000000000000000001");
    subscribe(&fixture, &notice).await;

    assert!(fixture.service.enqueue(&notice).await.unwrap().is_some());
    assert!(
        fixture.service.enqueue(&notice).await.unwrap().is_none(),
        "the same event again queues nothing"
    );
    fixture.service.run_until_idle().await.unwrap();
    fixture.service.enqueue(&notice).await.unwrap();
    fixture.service.run_until_idle().await.unwrap();

    let inbox = fixture.sandbox.messages(Some(&notice.openid));
    assert_eq!(inbox.len(), 1);
    let data = &inbox[0].data;
    assert_eq!(
        data["character_string1"]["value"],
        "01JX0000000000000000000001"
    );
    // A 42-character plan title in a `thing` arrives cut to 20, not refused.
    let thing = data["thing2"]["value"].as_str().unwrap();
    assert_eq!(thing.chars().count(), 20);
    assert!(thing.starts_with("Philippines Globe") && thing.ends_with('…'));
    assert_eq!(data["time4"]["value"], "2026-03-01 08:00", "China time");
    assert_eq!(
        inbox[0].page.as_deref(),
        Some("pages/order/index?order_no=01JX0000000000000000000001")
    );

    let delivery = fixture.service.delivery(&notice.key).await.unwrap();
    assert_eq!(delivery.state, DeliveryState::Sent);
    assert_eq!(delivery.msgid, Some(inbox[0].msgid));
    assert_eq!(delivery.attempts.len(), 1);
    assert_eq!(
        fixture
            .service
            .available(&notice.user_id, TEMPLATE)
            .await
            .unwrap(),
        0,
        "one acceptance, one message"
    );
    let counts = fixture.service.counts().await.unwrap();
    assert_eq!((counts[0].sent, counts[0].failed), (1, 0));
}

#[actix_web::test]
async fn without_a_subscription_a_message_is_skipped_once_and_never_retried() {
    let fixture = fixture().await;
    // Never asked: skipped without calling WeChat.
    let never = recharged(&fixture, "01JX0000000000000000000002");
    fixture.service.enqueue(&never).await.unwrap();
    // Reported as accepted, but WeChat has no acceptance (43101).
    let refused = recharged(&fixture, "01JX0000000000000000000003");
    fixture
        .service
        .record_choice(&refused.user_id, &[TEMPLATE.to_owned()], &[])
        .await
        .unwrap();
    fixture.service.enqueue(&refused).await.unwrap();
    fixture.service.run_until_idle().await.unwrap();
    fixture.clock.advance(TimeDelta::hours(1));
    fixture.service.run_until_idle().await.unwrap();

    let never = fixture.service.delivery(&never.key).await.unwrap();
    assert_eq!(never.state, DeliveryState::Skipped);
    assert_eq!(never.attempts.len(), 1);
    let refused = fixture.service.delivery(&refused.key).await.unwrap();
    assert_eq!(refused.state, DeliveryState::Skipped);
    assert_eq!(refused.attempts.len(), 1, "43101 is final");
    assert_eq!(refused.attempts[0].errcode, Some(43101));
    assert!(fixture.sandbox.messages(None).is_empty());
}

#[actix_web::test]
async fn a_token_replaced_by_another_process_is_refreshed_and_the_message_sent_once() {
    let fixture = fixture().await;
    let first = recharged(&fixture, "01JX0000000000000000000004");
    subscribe(&fixture, &first).await;
    fixture.service.enqueue(&first).await.unwrap();
    fixture.service.run_until_idle().await.unwrap();
    let ours = fixture.client.access_token().await.unwrap();

    // Another instance forces a new token: ours now answers 40001.
    let other = client_of(&fixture.base, &fixture.clock);
    other.refresh_access_token(&ours).await.unwrap();
    assert!(!fixture.sandbox.token_is_valid(ours.expose()));

    let second = recharged(&fixture, "01JX0000000000000000000005");
    subscribe(&fixture, &second).await;
    fixture.service.enqueue(&second).await.unwrap();
    fixture.service.run_until_idle().await.unwrap();
    assert_eq!(fixture.sandbox.messages(Some(&second.openid)).len(), 1);
    let delivery = fixture.service.delivery(&second.key).await.unwrap();
    assert_eq!(delivery.state, DeliveryState::Sent);
    assert_eq!(delivery.attempts.len(), 1);
}

/// Sends through the real client, then never returns: the process "dies" after WeChat took
/// the message and before its answer is recorded.
struct DiesAfterSending(Arc<MiniProgramClient>);

#[async_trait]
impl MessageSender for DiesAfterSending {
    async fn send(&self, message: &SubscribeMessage) -> Result<u64, WechatError> {
        self.0.send_subscribe_message(message).await?;
        std::future::pending().await
    }
}

#[actix_web::test]
async fn a_process_killed_mid_send_leaves_no_duplicate_after_restart() {
    let fixture = fixture().await;
    let notice = recharged(&fixture, "01JX0000000000000000000006");
    subscribe(&fixture, &notice).await;
    // A second acceptance: were the message sent again, WeChat would take it.
    subscribe(&fixture, &notice).await;

    let dying = Arc::new(NotifyService::new(
        &fixture.store.store,
        Arc::new(fixture.clock.clone()),
        Arc::new(DiesAfterSending(Arc::clone(&fixture.client))),
    ));
    dying.enqueue(&notice).await.unwrap();
    let worker = tokio::spawn({
        let dying = Arc::clone(&dying);
        async move { dying.run_once().await }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while fixture.sandbox.messages(Some(&notice.openid)).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the message never reached WeChat"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    worker.abort();

    // The restarted process finds it mid-send; it waits out the dead worker's lease.
    fixture.service.run_until_idle().await.unwrap();
    assert_eq!(
        fixture.service.delivery(&notice.key).await.unwrap().state,
        DeliveryState::Sending
    );
    fixture.clock.advance(TimeDelta::minutes(2));
    fixture.service.run_until_idle().await.unwrap();
    let delivery = fixture.service.delivery(&notice.key).await.unwrap();
    assert_eq!(delivery.state, DeliveryState::Failed);
    assert!(
        delivery
            .reason
            .unwrap()
            .contains("interrupted while sending")
    );
    assert_eq!(
        fixture.sandbox.messages(Some(&notice.openid)).len(),
        1,
        "never twice"
    );
}

#[actix_web::test]
async fn a_passing_error_is_retried_with_backoff_and_keeps_the_acceptance() {
    let fixture = fixture().await;
    // Nothing listens here: the request never reaches WeChat.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_base = format!("http://{}/sandbox/wechat", closed.local_addr().unwrap());
    drop(closed);
    let unreachable = Arc::new(NotifyService::new(
        &fixture.store.store,
        Arc::new(fixture.clock.clone()),
        client_of(&dead_base, &fixture.clock),
    ));
    let notice = recharged(&fixture, "01JX0000000000000000000007");
    subscribe(&fixture, &notice).await;
    unreachable.enqueue(&notice).await.unwrap();
    unreachable.run_until_idle().await.unwrap();
    let delivery = unreachable.delivery(&notice.key).await.unwrap();
    assert_eq!(delivery.state, DeliveryState::Queued);
    assert_eq!(delivery.attempts[0].outcome, "retry");
    assert!(delivery.next_attempt_at > fixture.clock.now());
    assert_eq!(
        unreachable
            .available(&notice.user_id, TEMPLATE)
            .await
            .unwrap(),
        1,
        "not delivered, so still the user's"
    );

    // WeChat is back: the retry goes through once it is due.
    fixture.clock.advance(TimeDelta::minutes(1));
    fixture.service.run_until_idle().await.unwrap();
    let delivery = fixture.service.delivery(&notice.key).await.unwrap();
    assert_eq!(delivery.state, DeliveryState::Sent);
    assert_eq!(delivery.attempts.len(), 2);
    assert_eq!(fixture.sandbox.messages(Some(&notice.openid)).len(), 1);
}

#[actix_web::test]
async fn templates_are_checked_against_the_value_rules_when_saved_and_failed_ones_resent() {
    let fixture = fixture().await;
    let mut bad = recharge_template();
    bad.fields[4].value = "done".into();
    match fixture
        .service
        .put_template(NoticeEvent::RechargeSucceeded, bad)
        .await
    {
        Err(NotifyError::Invalid { field, .. }) => assert_eq!(field, "fields[4].value"),
        other => panic!("{other:?}"),
    }
    let mut unknown = recharge_template();
    unknown.fields[1].value = "{nickname}".into();
    assert!(matches!(
        fixture
            .service
            .preview(NoticeEvent::RechargeSucceeded, &unknown),
        Err(NotifyError::Invalid { .. })
    ));
    let preview = fixture
        .service
        .preview(NoticeEvent::RechargeSucceeded, &recharge_template())
        .unwrap();
    assert_eq!(preview.data["phrase5"], "已到账");

    // A key WeChat's template does not have is refused there (47003): failed, with why.
    let mut extra = recharge_template();
    extra.fields.push(FieldMapping {
        key: "thing9".into(),
        value: "{plan}".into(),
    });
    fixture
        .service
        .put_template(NoticeEvent::RechargeSucceeded, extra)
        .await
        .unwrap();
    let notice = recharged(&fixture, "01JX0000000000000000000008");
    subscribe(&fixture, &notice).await;
    fixture.service.enqueue(&notice).await.unwrap();
    fixture.service.run_until_idle().await.unwrap();
    let failed = fixture.service.delivery(&notice.key).await.unwrap();
    assert_eq!(failed.state, DeliveryState::Failed);
    assert_eq!(failed.attempts[0].errcode, Some(47003));
    assert!(failed.reason.unwrap().contains("47003"));
    assert!(matches!(
        fixture.service.resend("no-such-delivery").await,
        Err(NotifyError::NotFound(_))
    ));
    // Resent (the acceptance was spent on the refused try; the user accepts again).
    subscribe(&fixture, &notice).await;
    assert_eq!(
        fixture.service.resend(&notice.key).await.unwrap().state,
        DeliveryState::Queued
    );
    assert!(matches!(
        fixture.service.resend(&notice.key).await,
        Err(NotifyError::InvalidState(_))
    ));
}
