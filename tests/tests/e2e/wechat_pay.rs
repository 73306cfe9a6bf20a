//! Payments and refunds end to end over real HTTP: the API server (with the WeChat Pay
//! sandbox mounted, as in the embedded mode) on 127.0.0.1:0, the payment service talking to
//! the sandbox, and the sandbox delivering its notifications to the API's callbacks. One
//! `ManualClock` drives the sandbox, the client, the service and the API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::TimeDelta;
use serde_json::{Value, json};
use topup_core::{Clock, ManualClock, Money, PageRequest, Secret, SharedClock, Timestamp};
use topup_payment::{
    AlertKind, EventKind, HandlerError, HttpSettings, NewPayment, NewRefund, PaymentError,
    PaymentEvents, PaymentRecord, PaymentService, PaymentSettings, PaymentState, PemSource,
    RefundRecord, RefundState, RequestPaymentParams, SignatureVerifier, WechatPayClient,
    WechatPayConfig, pay_sign_message,
};
use topup_sandbox::wechat_pay::{MOUNT_PATH, WechatPaySandbox};
use topup_store::Store;

use topup_tests as common;

use common::{
    APIV3_KEY, MCHID, MERCHANT_KEY, MERCHANT_PUBLIC_KEY, MERCHANT_SERIAL, PLATFORM_KEY,
    PLATFORM_PUBLIC_KEY, PUBLIC_KEY_ID,
};

const WRONG_PLATFORM_KEY: &str =
    include_str!("../../../crates/payment/tests/fixtures/wrong_platform_key.pem");

const APPID: &str = common::WX_APP_ID;
const OPENID: &str = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o";
const BIZ: &str = "test_order";

/// The owner of `test_order`: remembers every event, fails when told to.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<(EventKind, String, Option<String>)>>,
    failures: AtomicU32,
}

impl Recorder {
    fn record(
        &self,
        kind: EventKind,
        payment: &PaymentRecord,
        refund: Option<&RefundRecord>,
    ) -> Result<(), HandlerError> {
        if self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err("the owner is down".into());
        }
        self.seen.lock().unwrap().push((
            kind,
            payment.out_trade_no.clone(),
            refund.map(|r| r.out_refund_no.clone()),
        ));
        Ok(())
    }

    fn seen(&self) -> Vec<(EventKind, String, Option<String>)> {
        self.seen.lock().unwrap().clone()
    }

    fn count(&self, kind: EventKind, out_trade_no: &str) -> usize {
        self.seen()
            .iter()
            .filter(|(k, no, _)| *k == kind && no == out_trade_no)
            .count()
    }
}

#[async_trait]
impl PaymentEvents for Recorder {
    async fn on_payment_succeeded(&self, payment: &PaymentRecord) -> Result<(), HandlerError> {
        self.record(EventKind::PaymentSucceeded, payment, None)
    }

    async fn on_payment_closed(&self, payment: &PaymentRecord) -> Result<(), HandlerError> {
        self.record(EventKind::PaymentClosed, payment, None)
    }

    async fn on_refund_succeeded(
        &self,
        payment: &PaymentRecord,
        refund: &RefundRecord,
    ) -> Result<(), HandlerError> {
        self.record(EventKind::RefundSucceeded, payment, Some(refund))
    }

    async fn on_refund_closed(
        &self,
        payment: &PaymentRecord,
        refund: &RefundRecord,
    ) -> Result<(), HandlerError> {
        self.record(EventKind::RefundClosed, payment, Some(refund))
    }

    async fn on_refund_abnormal(
        &self,
        payment: &PaymentRecord,
        refund: &RefundRecord,
    ) -> Result<(), HandlerError> {
        self.record(EventKind::RefundAbnormal, payment, Some(refund))
    }
}

struct Harness {
    clock: ManualClock,
    shared: SharedClock,
    sandbox: WechatPaySandbox,
    service: Arc<PaymentService>,
    store: Store,
    events: Arc<Recorder>,
    base: String,
    http: reqwest::Client,
    /// `admin`'s generated first-start password.
    admin_password: String,
    /// Keeps the application serving.
    _app: common::TestApp,
}

fn settings() -> PaymentSettings {
    PaymentSettings {
        payment_ttl_secs: 900,
        query_unpaid_after_secs: 120,
        requery_every_secs: 60,
        refund_retry_secs: 60,
        refund_query_after_secs: 120,
        event_retry_secs: 30,
        lease_secs: 60,
        batch_size: 50,
        sync_period_secs: 30,
    }
}

/// The whole application (its WeChat Pay sandbox mounted, as in the embedded mode), with a
/// recording owner of `test_order` payments beside the orders module.
async fn harness() -> Harness {
    let app = common::spawn_app(common::TestOptions {
        payment: settings(),
        start: Timestamp::parse("2026-11-29T04:00:00Z").unwrap(),
        ..common::TestOptions::default()
    })
    .await;
    let events = Arc::new(Recorder::default());
    let service = app.kit().payments.clone();
    service.register_events(BIZ, events.clone());
    Harness {
        clock: app.clock.clone(),
        shared: Arc::new(app.clock.clone()),
        sandbox: app.kit().pay_sandbox.clone(),
        service,
        store: app.store.clone(),
        events,
        base: app.base.clone(),
        http: reqwest::Client::new(),
        admin_password: app.initial_password.clone(),
        _app: app,
    }
}

impl Harness {
    /// A second WeChat Pay client like the application's (another server process's).
    fn client(&self) -> Arc<WechatPayClient> {
        Arc::new(
            WechatPayClient::new(
                &WechatPayConfig {
                    mchid: MCHID.into(),
                    appid: APPID.into(),
                    merchant_serial_no: MERCHANT_SERIAL.into(),
                    merchant_private_key: PemSource::pem(MERCHANT_KEY),
                    apiv3_key: Secret::new(APIV3_KEY.into()),
                    wechatpay_public_key: Some(PemSource::pem(PLATFORM_PUBLIC_KEY)),
                    wechatpay_public_key_id: Some(PUBLIC_KEY_ID.into()),
                    platform_certificates: false,
                    notify_url: format!("{}/api/v1/pay/wechat/notify", self.base),
                    refund_notify_url: format!("{}/api/v1/pay/wechat/refund-notify", self.base),
                    base_url: format!("{}{MOUNT_PATH}", self.base),
                    http: HttpSettings {
                        max_retries: 0,
                        retry_backoff_ms: 1,
                        request_timeout_ms: 5_000,
                        ..HttpSettings::default()
                    },
                },
                self.shared.clone(),
            )
            .unwrap(),
        )
    }
}

fn prepay_id(params: &RequestPaymentParams) -> String {
    params
        .package
        .strip_prefix("prepay_id=")
        .unwrap()
        .to_owned()
}

impl Harness {
    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    fn advance(&self, seconds: i64) {
        self.clock.advance(TimeDelta::seconds(seconds));
    }

    async fn create(&self, out_trade_no: &str, fen: i64) -> PaymentRecord {
        self.service
            .create(NewPayment {
                biz_type: BIZ.into(),
                biz_id: format!("order-{out_trade_no}"),
                out_trade_no: Some(out_trade_no.into()),
                amount: Money::cny(fen),
                payer_openid: OPENID.into(),
                description: "话费充值-Topup".into(),
                expires_at: None,
            })
            .await
            .unwrap()
    }

    /// Created and placed with WeChat; answers the prepay_id.
    async fn prepaid(&self, out_trade_no: &str, fen: i64) -> String {
        self.create(out_trade_no, fen).await;
        let params = self.service.prepay(out_trade_no).await.unwrap();
        prepay_id(&params)
    }

    /// Created, prepaid, paid by the user, notification delivered to the API.
    async fn paid(&self, out_trade_no: &str, fen: i64) -> PaymentRecord {
        let prepay_id = self.prepaid(out_trade_no, fen).await;
        self.sandbox.confirm_payment(&prepay_id).unwrap();
        let report = self.sandbox.deliver_due().await;
        assert!(report.delivered >= 1, "{report:?}");
        let payment = self.payment(out_trade_no).await;
        assert_eq!(payment.state, PaymentState::Succeeded);
        payment
    }

    async fn payment(&self, out_trade_no: &str) -> PaymentRecord {
        self.service
            .payment_by_out_trade_no(out_trade_no)
            .await
            .unwrap()
    }

    async fn refund_record(&self, out_refund_no: &str) -> RefundRecord {
        self.service
            .refund_by_out_refund_no(out_refund_no)
            .await
            .unwrap()
    }

    async fn refund(
        &self,
        out_trade_no: &str,
        out_refund_no: &str,
        fen: i64,
    ) -> Result<RefundRecord, PaymentError> {
        self.service
            .refund(NewRefund {
                out_trade_no: out_trade_no.into(),
                out_refund_no: Some(out_refund_no.into()),
                amount: Money::cny(fen),
                reason: Some("充值失败退款".into()),
                initiator: "staff:test".into(),
            })
            .await
    }

    /// A callback built by hand, encrypted with the APIv3 key and signed with `key_pem`
    /// (the sandbox's platform key unless a test forges it).
    fn notification(
        &self,
        event_type: &str,
        original_type: &str,
        resource: &Value,
        key_pem: &str,
        timestamp: i64,
    ) -> (Vec<u8>, Vec<(&'static str, String)>) {
        common::wechat_notification(event_type, original_type, resource, key_pem, timestamp)
    }

    fn transaction(&self, out_trade_no: &str, fen: i64, appid: &str) -> Value {
        json!({
            "appid": appid, "mchid": MCHID, "out_trade_no": out_trade_no,
            "transaction_id": "4200000000000000000000000001", "trade_type": "JSAPI",
            "trade_state": "SUCCESS", "trade_state_desc": "支付成功", "bank_type": "OTHERS",
            "success_time": "2026-11-29T12:00:00+08:00",
            "payer": {"openid": OPENID},
            "amount": {"total": fen, "payer_total": fen, "currency": "CNY", "payer_currency": "CNY"},
        })
    }

    async fn post(
        &self,
        path: &str,
        body: Vec<u8>,
        headers: &[(&'static str, String)],
    ) -> (u16, Value) {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Content-Type", "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn recorded(&self, method: &str, path_fragment: &str) -> Vec<String> {
        self.sandbox
            .recorded_requests()
            .into_iter()
            .filter(|r| r.method == method && r.path_and_query.contains(path_fragment))
            .map(|r| r.body)
            .collect()
    }
}

const NOTIFY: &str = "/api/v1/pay/wechat/notify";
const REFUND_NOTIFY: &str = "/api/v1/pay/wechat/refund-notify";

#[actix_web::test]
async fn a_payment_succeeds_once_despite_a_duplicate_notification_and_keeps_it_once() {
    let h = harness().await;
    let created = h.create("T2026112900001", 3000).await;
    assert_eq!(created.state, PaymentState::Created);
    assert_eq!(created.expires_at, h.now().plus(TimeDelta::minutes(15)));

    let params = h.service.prepay("T2026112900001").await.unwrap();
    // What the mini-program gets verifies with the merchant public key
    // (`docs/protocols.md#jsapi-and-paysign`).
    let message = pay_sign_message(
        APPID,
        &params.time_stamp,
        &params.nonce_str,
        &params.package,
    );
    assert!(
        SignatureVerifier::from_spki_pem(MERCHANT_PUBLIC_KEY)
            .unwrap()
            .verify(message.as_bytes(), &params.pay_sign)
    );
    assert_eq!(params.sign_type, "RSA");
    let prepay_id = prepay_id(&params);
    let prepaid = h.payment("T2026112900001").await;
    assert_eq!(prepaid.state, PaymentState::Prepaid);
    assert_eq!(prepaid.prepay_id.as_deref(), Some(prepay_id.as_str()));
    // Asking again re-signs the same prepay_id instead of placing the order twice.
    let again = h.service.prepay("T2026112900001").await.unwrap();
    assert_eq!(again.package, params.package);
    assert_eq!(h.recorded("POST", "/v3/pay/transactions/jsapi").len(), 1);

    h.sandbox.set_always_duplicate(true);
    h.sandbox.confirm_payment(&prepay_id).unwrap();
    let report = h.sandbox.deliver_due().await;
    assert_eq!((report.delivered, report.duplicates), (1, 1), "{report:?}");

    let paid = h.payment("T2026112900001").await;
    assert_eq!(paid.state, PaymentState::Succeeded);
    assert!(paid.transaction_id.as_deref().unwrap().starts_with("4200"));
    assert!(paid.success_time.is_some());
    assert_eq!(paid.next_check_at, None);
    assert!(paid.pending_events.is_empty());
    assert_eq!(
        paid.notifications.len(),
        1,
        "the duplicate is recognised, kept once"
    );
    assert_eq!(paid.notifications[0].event_type, "TRANSACTION.SUCCESS");
    assert_eq!(paid.notifications[0].resource["amount"]["total"], 3000);
    assert_eq!(
        h.events.seen(),
        vec![(
            EventKind::PaymentSucceeded,
            "T2026112900001".to_owned(),
            None
        )]
    );
    // Paid payments are neither prepaid again nor closed.
    assert!(matches!(
        h.service.prepay("T2026112900001").await,
        Err(PaymentError::InvalidState { .. })
    ));
    assert!(matches!(
        h.service.close("T2026112900001").await,
        Err(PaymentError::InvalidState { .. })
    ));
}

#[actix_web::test]
async fn partial_then_full_refunds_settle_once_and_over_refunds_are_refused() {
    let h = harness().await;
    h.paid("T2026112900002", 1000).await;
    h.sandbox.set_always_duplicate(true);

    let first = h.refund("T2026112900002", "RF-T2-1", 300).await.unwrap();
    assert_eq!(first.state, RefundState::Processing);
    assert_eq!(first.attempts, 1);
    assert!(first.refund_id.is_some());
    let payment = h.payment("T2026112900002").await;
    assert_eq!(payment.refund_reserved, Money::cny(300));
    assert_eq!(payment.state, PaymentState::Succeeded);

    // 300 + 800 > 1000: refused, and nothing recorded or sent.
    let over = h.refund("T2026112900002", "RF-T2-X", 800).await;
    assert!(
        matches!(
            over,
            Err(PaymentError::RefundExceedsRefundable {
                requested: 800,
                refundable: 700
            })
        ),
        "{over:?}"
    );
    assert!(matches!(
        h.service.refund_by_out_refund_no("RF-T2-X").await,
        Err(PaymentError::RefundNotFound(_))
    ));
    assert_eq!(h.recorded("POST", "/v3/refund/domestic/refunds").len(), 1);
    // The same refund asked for again is the same refund.
    let same = h.refund("T2026112900002", "RF-T2-1", 300).await.unwrap();
    assert_eq!(same.id, first.id);
    assert!(matches!(
        h.refund("T2026112900002", "RF-T2-1", 200).await,
        Err(PaymentError::DuplicateOutRefundNo(_))
    ));

    // WeChat settles it after a minute and notifies (twice).
    h.advance(61);
    let report = h.sandbox.deliver_due().await;
    assert_eq!((report.delivered, report.duplicates), (1, 1), "{report:?}");
    let first = h.refund_record("RF-T2-1").await;
    assert_eq!(first.state, RefundState::Succeeded);
    assert_eq!(
        first.notifications.len(),
        1,
        "the duplicate is recognised, kept once"
    );
    assert_eq!(first.notifications[0].event_type, "REFUND.SUCCESS");
    let payment = h.payment("T2026112900002").await;
    assert_eq!(payment.state, PaymentState::PartiallyRefunded);
    assert_eq!(payment.refunded_total, Money::cny(300));
    assert_eq!(payment.refundable(), 700);

    // The rest.
    let second = h.refund("T2026112900002", "RF-T2-2", 700).await.unwrap();
    assert_eq!(second.state, RefundState::Processing);
    h.advance(61);
    h.sandbox.deliver_due().await;
    let payment = h.payment("T2026112900002").await;
    assert_eq!(payment.state, PaymentState::Refunded);
    assert_eq!(payment.refunded_total, Money::cny(1000));
    assert_eq!(payment.refund_reserved, Money::cny(1000));
    assert!(matches!(
        h.refund("T2026112900002", "RF-T2-3", 1).await,
        Err(PaymentError::RefundExceedsRefundable { refundable: 0, .. })
    ));

    let refunds: Vec<_> = h
        .events
        .seen()
        .into_iter()
        .filter(|(kind, _, _)| *kind == EventKind::RefundSucceeded)
        .map(|(_, _, no)| no.unwrap())
        .collect();
    assert_eq!(refunds, vec!["RF-T2-1", "RF-T2-2"], "each refund once");
}

#[actix_web::test]
async fn a_full_refund_makes_the_payment_refunded() {
    let h = harness().await;
    h.paid("T2026112900003", 2500).await;
    let refund = h.refund("T2026112900003", "RF-T3", 2500).await.unwrap();
    assert_eq!(refund.state, RefundState::Processing);
    h.advance(61);
    h.sandbox.deliver_due().await;
    let payment = h.payment("T2026112900003").await;
    assert_eq!(payment.state, PaymentState::Refunded);
    assert_eq!(payment.refunded_total, Money::cny(2500));
    assert_eq!(
        h.events.count(EventKind::RefundSucceeded, "T2026112900003"),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refunds_never_add_up_to_more_than_was_paid() {
    let h = Arc::new(harness().await);
    // Rounds of eight refunds of 600 fen started together on a 1,000 fen payment: any two
    // accepted would add up to more than was paid, so exactly one may win each round.
    for round in 0..12 {
        let out_trade_no = format!("T20261129004{round:02}");
        h.paid(&out_trade_no, 1000).await;
        let start = Arc::new(tokio::sync::Barrier::new(8));
        let racers: Vec<_> = (0..8)
            .map(|n| {
                let (h, start, out_trade_no) = (h.clone(), start.clone(), out_trade_no.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    h.refund(&out_trade_no, &format!("RF-T4-{round}-{n}"), 600)
                        .await
                })
            })
            .collect();
        let mut accepted = 0;
        for racer in racers {
            match racer.await.unwrap() {
                Ok(_) => accepted += 1,
                Err(PaymentError::RefundExceedsRefundable { .. }) => {}
                Err(other) => panic!("round {round}: {other:?}"),
            }
        }
        assert_eq!(accepted, 1, "round {round}");
        let payment = h.payment(&out_trade_no).await;
        assert_eq!(payment.refund_reserved, Money::cny(600), "round {round}");
    }
    assert_eq!(h.recorded("POST", "/v3/refund/domestic/refunds").len(), 12);
}

/// The request's own check passed on a payment read before another refund was reserved
/// (here: recorded, then the process died before reserving). The guarded reservation alone
/// must stop it, at exactly one fen over, before anything reaches WeChat.
#[actix_web::test]
async fn a_refund_checked_against_a_stale_payment_is_stopped_by_the_reservation() {
    let h = harness().await;
    h.paid("T2026112900040", 1000).await;
    h.refund("T2026112900040", "RF-T40-A", 500).await.unwrap();
    let template = h.refund_record("RF-T40-A").await;
    let recorded = |out_refund_no: &str, fen: i64| RefundRecord {
        id: topup_payment::RefundId::new(),
        version: 0,
        out_refund_no: out_refund_no.into(),
        amount: Money::cny(fen),
        state: RefundState::Requested,
        refund_id: None,
        attempts: 0,
        last_error: None,
        next_check_at: Some(h.now()),
        ..template.clone()
    };
    let refunds = h.store.collection::<RefundRecord>();
    refunds.insert(&recorded("RF-T40-B", 501)).await.unwrap();
    h.service.run_sync().await.unwrap();
    assert_eq!(
        h.refund_record("RF-T40-B").await.state,
        RefundState::Closed,
        "one fen over what is left: closed, never sent"
    );
    assert_eq!(
        h.payment("T2026112900040").await.refund_reserved,
        Money::cny(500)
    );
    assert_eq!(h.recorded("POST", "/v3/refund/domestic/refunds").len(), 1);

    // Exactly what is left still fits.
    refunds.insert(&recorded("RF-T40-C", 500)).await.unwrap();
    h.service.run_sync().await.unwrap();
    assert_eq!(
        h.refund_record("RF-T40-C").await.state,
        RefundState::Processing
    );
    assert_eq!(
        h.payment("T2026112900040").await.refund_reserved,
        Money::cny(1000)
    );
    assert_eq!(h.recorded("POST", "/v3/refund/domestic/refunds").len(), 2);
}

#[actix_web::test]
async fn forged_stale_and_probe_notifications_are_refused_and_change_nothing() {
    let h = harness().await;
    h.prepaid("T2026112900005", 1000).await;
    let resource = h.transaction("T2026112900005", 1000, APPID);
    let now = h.now().unix_seconds();

    let (body, headers) = h.notification(
        "TRANSACTION.SUCCESS",
        "transaction",
        &resource,
        WRONG_PLATFORM_KEY,
        now,
    );
    let (status, forged) = h.post(NOTIFY, body, &headers).await;
    assert_eq!(status, 401, "{forged}");
    assert_eq!(forged["code"], "UNAUTHORIZED");
    assert!(
        forged["request_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );

    let (body, headers) = h.notification(
        "TRANSACTION.SUCCESS",
        "transaction",
        &resource,
        PLATFORM_KEY,
        now - 301,
    );
    let (status, stale) = h.post(NOTIFY, body, &headers).await;
    assert_eq!(status, 401, "{stale}");
    assert_eq!(stale["code"], "UNAUTHORIZED");

    let (body, mut headers) = h.notification(
        "TRANSACTION.SUCCESS",
        "transaction",
        &resource,
        PLATFORM_KEY,
        now,
    );
    headers[2].1 = "WECHATPAY/SIGNTEST/Zm9yZ2VkIHNpZ25hdHVyZQ==".to_owned();
    let (status, probe) = h.post(NOTIFY, body.clone(), &headers).await;
    assert_eq!(status, 401, "{probe}");
    assert_eq!(probe["code"], "UNAUTHORIZED");
    // The reasons (unknown serial, a probe, a stale clock) are logged, never answered.
    for refused in [&forged, &stale, &probe] {
        assert_eq!(
            refused["message"], "the notification could not be verified",
            "{refused}"
        );
    }

    // No signature headers at all; and a forged refund notification.
    let (status, _) = h.post(NOTIFY, body, &[]).await;
    assert_eq!(status, 401);
    let refund = json!({
        "mchid": MCHID, "transaction_id": "4200", "out_trade_no": "T2026112900005",
        "refund_id": "5000", "out_refund_no": "RF-NONE", "refund_status": "SUCCESS",
        "amount": {"total": 1000, "refund": 1000, "payer_total": 1000, "payer_refund": 1000},
    });
    let (body, headers) =
        h.notification("REFUND.SUCCESS", "refund", &refund, WRONG_PLATFORM_KEY, now);
    let (status, _) = h.post(REFUND_NOTIFY, body, &headers).await;
    assert_eq!(status, 401);

    let payment = h.payment("T2026112900005").await;
    assert_eq!(payment.state, PaymentState::Prepaid);
    assert!(payment.notifications.is_empty());
    assert!(h.events.seen().is_empty());
    assert_eq!(
        h.service
            .alerts(PageRequest::default())
            .await
            .unwrap()
            .total,
        0
    );

    // The very same notification, genuinely signed and fresh, is accepted: the refusals
    // above were the signature and the clock, nothing else.
    let (body, headers) = h.notification(
        "TRANSACTION.SUCCESS",
        "transaction",
        &resource,
        PLATFORM_KEY,
        now,
    );
    let (status, _) = h.post(NOTIFY, body, &headers).await;
    assert_eq!(status, 204);
    assert_eq!(
        h.payment("T2026112900005").await.state,
        PaymentState::Succeeded
    );
}

#[actix_web::test]
async fn notifications_that_disagree_with_our_records_are_refused_and_raised_as_alerts() {
    let h = harness().await;
    h.prepaid("T2026112900006", 1000).await;
    let now = h.now().unix_seconds();

    // Amount ≠ record: refused, alert stored, never applied; WeChat's retry counts up.
    let wrong_amount = h.transaction("T2026112900006", 1, APPID);
    let (body, headers) = h.notification(
        "TRANSACTION.SUCCESS",
        "transaction",
        &wrong_amount,
        PLATFORM_KEY,
        now,
    );
    let (status, refused) = h.post(NOTIFY, body.clone(), &headers).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["code"], "CONFLICT");
    assert_eq!(refused["details"]["field"], "amount.total");
    let (status, _) = h.post(NOTIFY, body, &headers).await;
    assert_eq!(status, 409);
    let payment = h.payment("T2026112900006").await;
    assert_eq!(payment.state, PaymentState::Prepaid);
    assert!(payment.notifications.is_empty());

    let alerts = h.service.alerts(PageRequest::default()).await.unwrap();
    assert_eq!(alerts.total, 1, "{alerts:?}");
    let alert = &alerts.items[0];
    assert_eq!(alert.kind, AlertKind::AmountMismatch);
    assert_eq!(alert.out_trade_no, "T2026112900006");
    assert_eq!(alert.field.as_deref(), Some("amount.total"));
    assert_eq!(
        alert.expected,
        Some(json!({"amount": 1000, "currency": "CNY"}))
    );
    assert_eq!(
        alert.received,
        Some(json!({"amount": 1, "currency": "CNY"}))
    );
    assert_eq!(alert.occurrences, 2);
    assert_eq!(alert.source, "notification");
    // Stored where staff tooling reads it.
    let stored: Vec<topup_payment::PaymentAlert> = h
        .store
        .collection::<topup_payment::PaymentAlert>()
        .find(&topup_store::FindQuery::new(topup_store::Filter::All))
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);

    // Another app's payment: an id mismatch.
    let wrong_app = h.transaction("T2026112900006", 1000, "wx0000000000000000");
    let (body, headers) = h.notification(
        "TRANSACTION.SUCCESS",
        "transaction",
        &wrong_app,
        PLATFORM_KEY,
        now,
    );
    let (status, refused) = h.post(NOTIFY, body, &headers).await;
    assert_eq!(status, 409);
    assert_eq!(refused["details"]["field"], "appid");

    // A payment we never made: 404 so WeChat retries, and an alert.
    let unknown = h.transaction("T2026112999999", 1000, APPID);
    let (body, headers) = h.notification(
        "TRANSACTION.SUCCESS",
        "transaction",
        &unknown,
        PLATFORM_KEY,
        now,
    );
    let (status, refused) = h.post(NOTIFY, body, &headers).await;
    assert_eq!(status, 404);
    assert_eq!(refused["code"], "NOT_FOUND");

    // A refund we never asked for.
    let refund = json!({
        "mchid": MCHID, "transaction_id": "4200", "out_trade_no": "T2026112900006",
        "refund_id": "5000", "out_refund_no": "RF-NEVER", "refund_status": "SUCCESS",
        "amount": {"total": 1000, "refund": 1000, "payer_total": 1000, "payer_refund": 1000},
    });
    let (body, headers) = h.notification("REFUND.SUCCESS", "refund", &refund, PLATFORM_KEY, now);
    let (status, _) = h.post(REFUND_NOTIFY, body, &headers).await;
    assert_eq!(status, 404);

    let kinds: Vec<AlertKind> = h
        .service
        .alerts(PageRequest::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(|a| a.kind)
        .collect();
    for kind in [
        AlertKind::AmountMismatch,
        AlertKind::IdMismatch,
        AlertKind::UnknownPayment,
        AlertKind::UnknownRefund,
    ] {
        assert!(kinds.contains(&kind), "{kind:?} in {kinds:?}");
    }
    assert_eq!(
        h.payment("T2026112900006").await.state,
        PaymentState::Prepaid
    );
    assert!(h.events.seen().is_empty());
}

#[actix_web::test]
async fn a_refund_notification_for_a_different_amount_is_refused() {
    let h = harness().await;
    h.paid("T2026112900007", 1000).await;
    let refund = h.refund("T2026112900007", "RF-T7", 400).await.unwrap();
    let forged_amount = json!({
        "mchid": MCHID, "transaction_id": "4200", "out_trade_no": "T2026112900007",
        "refund_id": refund.refund_id, "out_refund_no": "RF-T7", "refund_status": "SUCCESS",
        "amount": {"total": 1000, "refund": 1000, "payer_total": 1000, "payer_refund": 1000},
    });
    let (body, headers) = h.notification(
        "REFUND.SUCCESS",
        "refund",
        &forged_amount,
        PLATFORM_KEY,
        h.now().unix_seconds(),
    );
    let (status, refused) = h.post(REFUND_NOTIFY, body, &headers).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["details"]["field"], "amount.refund");
    assert_eq!(
        h.refund_record("RF-T7").await.state,
        RefundState::Processing
    );
    let payment = h.payment("T2026112900007").await;
    assert_eq!(payment.refunded_total, Money::cny(0));
    let alerts = h.service.alerts(PageRequest::default()).await.unwrap();
    assert_eq!(alerts.items[0].kind, AlertKind::AmountMismatch);
    assert_eq!(alerts.items[0].out_refund_no.as_deref(), Some("RF-T7"));
}

#[actix_web::test]
async fn the_sync_job_closes_an_expired_unpaid_payment_after_asking_wechat() {
    let h = harness().await;
    let prepay_id = h.prepaid("T2026112900008", 1000).await;

    // Not due yet: nothing asked.
    assert_eq!(h.service.run_sync().await.unwrap().payments_checked, 0);
    // Unpaid after two minutes: asked, still unpaid, not expired: left open.
    h.advance(121);
    let report = h.service.run_sync().await.unwrap();
    assert_eq!(report.payments_checked, 1, "{report:?}");
    assert_eq!(
        h.payment("T2026112900008").await.state,
        PaymentState::Prepaid
    );
    assert_eq!(h.recorded("GET", "/out-trade-no/T2026112900008").len(), 1);
    assert!(h.recorded("POST", "/T2026112900008/close").is_empty());

    // Past its expiry: asked again, then closed there and here.
    h.advance(900);
    let report = h.service.run_sync().await.unwrap();
    assert_eq!(report.payments_closed, 1, "{report:?}");
    let closed = h.payment("T2026112900008").await;
    assert_eq!(closed.state, PaymentState::Closed);
    assert!(closed.closed_at.is_some());
    let calls: Vec<String> = h
        .sandbox
        .recorded_requests()
        .into_iter()
        .map(|r| format!("{} {}", r.method, r.path_and_query))
        .collect();
    let query = calls
        .iter()
        .rposition(|c| c.starts_with("GET") && c.contains("T2026112900008"))
        .unwrap();
    let close = calls
        .iter()
        .position(|c| c.starts_with("POST") && c.ends_with("T2026112900008/close"))
        .unwrap();
    assert!(query < close, "queried before closing: {calls:?}");
    assert_eq!(
        h.events.seen(),
        vec![(EventKind::PaymentClosed, "T2026112900008".to_owned(), None)]
    );
    // Closed at WeChat too: the payer can no longer pay.
    assert!(h.sandbox.confirm_payment(&prepay_id).is_err());
    // Nothing left to do.
    assert_eq!(h.service.run_sync().await.unwrap(), Default::default());
}

#[actix_web::test]
async fn the_sync_job_finds_a_payment_whose_notification_was_lost() {
    let h = harness().await;
    let prepay_id = h.prepaid("T2026112900009", 1000).await;
    h.sandbox.confirm_payment(&prepay_id).unwrap();
    // The notification never arrives (nothing delivered) and the payment expires meanwhile.
    h.advance(16 * 60);
    let report = h.service.run_sync().await.unwrap();
    assert_eq!(report.payments_succeeded, 1, "{report:?}");
    let payment = h.payment("T2026112900009").await;
    assert_eq!(payment.state, PaymentState::Succeeded);
    assert!(payment.notifications.is_empty());
    assert!(
        h.recorded("POST", "/close").is_empty(),
        "a paid payment is never closed"
    );
    assert_eq!(
        h.events
            .count(EventKind::PaymentSucceeded, "T2026112900009"),
        1
    );

    // The late notification changes nothing but the list of notifications.
    let report = h.sandbox.deliver_due().await;
    assert_eq!(report.delivered, 1);
    let payment = h.payment("T2026112900009").await;
    assert_eq!(payment.state, PaymentState::Succeeded);
    assert_eq!(payment.notifications.len(), 1);
    assert_eq!(
        h.events
            .count(EventKind::PaymentSucceeded, "T2026112900009"),
        1
    );
}

#[actix_web::test]
async fn closing_asks_wechat_first_and_marks_a_paid_payment_succeeded() {
    let h = harness().await;
    let prepay_id = h.prepaid("T2026112900010", 1000).await;
    h.sandbox.confirm_payment(&prepay_id).unwrap();
    let payment = h.service.close("T2026112900010").await.unwrap();
    assert_eq!(payment.state, PaymentState::Succeeded);
    assert!(h.recorded("POST", "/close").is_empty());

    // An unpaid one closes on request.
    h.prepaid("T2026112900011", 500).await;
    let closed = h.service.close("T2026112900011").await.unwrap();
    assert_eq!(closed.state, PaymentState::Closed);
    assert_eq!(h.recorded("POST", "T2026112900011/close").len(), 1);
}

#[actix_web::test]
async fn a_failed_refund_request_is_sent_again_by_the_sync_job_with_the_same_number() {
    let h = harness().await;
    h.paid("T2026112900012", 1000).await;
    h.sandbox.fail_next_requests(1);
    let refund = h.refund("T2026112900012", "RF-T12", 400).await.unwrap();
    assert_eq!(refund.state, RefundState::Requested);
    assert_eq!(refund.attempts, 1);
    assert!(refund.last_error.is_some());
    assert_eq!(
        h.payment("T2026112900012").await.refund_reserved,
        Money::cny(400)
    );

    // Not before its retry time.
    assert_eq!(h.service.run_sync().await.unwrap().refunds_sent, 0);
    h.advance(60);
    let report = h.service.run_sync().await.unwrap();
    assert_eq!(report.refunds_sent, 1, "{report:?}");
    let refund = h.refund_record("RF-T12").await;
    assert_eq!(refund.state, RefundState::Processing);
    assert_eq!(refund.attempts, 2);
    let sent = h.recorded("POST", "/v3/refund/domestic/refunds");
    assert_eq!(sent.len(), 2);
    for body in &sent {
        let body: Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["out_refund_no"], "RF-T12");
        assert_eq!(body["amount"]["refund"], 400);
    }

    h.advance(61);
    h.sandbox.deliver_due().await;
    assert_eq!(
        h.refund_record("RF-T12").await.state,
        RefundState::Succeeded
    );
    let payment = h.payment("T2026112900012").await;
    assert_eq!(payment.state, PaymentState::PartiallyRefunded);
    assert_eq!(payment.refunded_total, Money::cny(400));
}

#[actix_web::test]
async fn the_sync_job_follows_a_processing_refund_whose_notification_was_lost() {
    let h = harness().await;
    h.paid("T2026112900013", 800).await;
    h.refund("T2026112900013", "RF-T13", 800).await.unwrap();
    h.advance(121);
    let report = h.service.run_sync().await.unwrap();
    assert_eq!(report.refunds_checked, 1, "{report:?}");
    assert_eq!(
        h.refund_record("RF-T13").await.state,
        RefundState::Succeeded
    );
    assert_eq!(
        h.payment("T2026112900013").await.state,
        PaymentState::Refunded
    );
    // The notification that follows is a duplicate.
    h.sandbox.deliver_due().await;
    assert_eq!(
        h.events.count(EventKind::RefundSucceeded, "T2026112900013"),
        1
    );
}

#[actix_web::test]
async fn a_failed_prepay_closes_the_payment_and_charges_nothing() {
    let h = harness().await;
    h.create("T2026112900014", 1000).await;
    h.sandbox.fail_next_requests(1);
    let error = h.service.prepay("T2026112900014").await.unwrap_err();
    assert!(
        matches!(error, PaymentError::PrepayFailed { .. }),
        "{error:?}"
    );
    let payment = h.payment("T2026112900014").await;
    assert_eq!(payment.state, PaymentState::Closed);
    assert!(
        payment
            .failure
            .as_deref()
            .unwrap()
            .contains("prepay failed")
    );
    assert_eq!(payment.prepay_id, None);
    assert_eq!(
        h.events.seen(),
        vec![(EventKind::PaymentClosed, "T2026112900014".to_owned(), None)]
    );
    assert!(matches!(
        h.service
            .refund(NewRefund {
                out_trade_no: "T2026112900014".into(),
                out_refund_no: None,
                amount: Money::cny(1),
                reason: None,
                initiator: "staff:test".into(),
            })
            .await,
        Err(PaymentError::InvalidState { .. })
    ));
}

#[actix_web::test]
async fn an_event_the_owner_failed_to_take_is_delivered_again_by_the_sync_job() {
    let h = harness().await;
    h.events.failures.store(1, Ordering::SeqCst);
    h.paid("T2026112900015", 1000).await;
    let payment = h.payment("T2026112900015").await;
    assert_eq!(payment.pending_events.len(), 1);
    assert_eq!(payment.pending_events[0].kind, EventKind::PaymentSucceeded);
    assert_eq!(payment.pending_events[0].attempts, 1);
    assert!(h.events.seen().is_empty());

    assert_eq!(h.service.run_sync().await.unwrap().events_delivered, 0);
    h.advance(31);
    let report = h.service.run_sync().await.unwrap();
    assert_eq!(report.events_delivered, 1, "{report:?}");
    assert_eq!(
        h.events
            .count(EventKind::PaymentSucceeded, "T2026112900015"),
        1
    );
    let payment = h.payment("T2026112900015").await;
    assert!(payment.pending_events.is_empty());
    assert_eq!(payment.events_due_at, None);
}

#[actix_web::test]
async fn two_sync_workers_never_work_on_the_same_payment() {
    let h = harness().await;
    let numbers: Vec<String> = (0..6).map(|i| format!("T20261129002{i:02}")).collect();
    for no in &numbers {
        h.prepaid(no, 100).await;
    }
    let other = PaymentService::new(&h.store, h.client(), h.shared.clone(), settings()).unwrap();
    other.register_events(BIZ, h.events.clone());
    h.advance(121);
    let (a, b) = tokio::join!(h.service.run_sync(), other.run_sync());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.payments_checked + b.payments_checked, numbers.len());
    for no in &numbers {
        assert_eq!(
            h.recorded("GET", &format!("/out-trade-no/{no}?")).len(),
            1,
            "{no} asked once"
        );
    }
}

#[actix_web::test]
async fn payments_cannot_be_created_for_unknown_owners_or_reuse_numbers() {
    let h = harness().await;
    h.create("T2026112900016", 100).await;
    let duplicate = h
        .service
        .create(NewPayment {
            biz_type: BIZ.into(),
            biz_id: "other".into(),
            out_trade_no: Some("T2026112900016".into()),
            amount: Money::cny(100),
            payer_openid: OPENID.into(),
            description: "x".into(),
            expires_at: None,
        })
        .await;
    assert!(matches!(
        duplicate,
        Err(PaymentError::DuplicateOutTradeNo(_))
    ));
    let unknown = h
        .service
        .create(NewPayment {
            biz_type: "gift_card".into(),
            biz_id: "m1".into(),
            out_trade_no: None,
            amount: Money::cny(100),
            payer_openid: OPENID.into(),
            description: "x".into(),
            expires_at: None,
        })
        .await;
    assert!(matches!(unknown, Err(PaymentError::UnknownBizType(_))));
    let generated = h
        .service
        .create(NewPayment {
            biz_type: BIZ.into(),
            biz_id: "o2".into(),
            out_trade_no: None,
            amount: Money::cny(100),
            payer_openid: OPENID.into(),
            description: "x".into(),
            expires_at: None,
        })
        .await
        .unwrap();
    assert!(generated.out_trade_no.starts_with('P') && generated.out_trade_no.len() == 27);
    assert_eq!(
        h.service.payments_of(BIZ, "o2").await.unwrap()[0].id,
        generated.id
    );
}

impl Harness {
    /// Signs `admin` in, changes the first-start password, answers the access token.
    async fn admin_token(&self) -> String {
        let url = |path: &str| format!("{}/api/v1/admin{path}", self.base);
        let first: Value = self
            .http
            .post(url("/auth/login"))
            .header("User-Agent", "topup-tests/1.0")
            .json(&json!({"username": "admin", "password": self.admin_password}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = first["access_token"].as_str().unwrap();
        let changed: Value = self
            .http
            .put(url("/auth/password"))
            .header("User-Agent", "topup-tests/1.0")
            .bearer_auth(token)
            .json(&json!({"old": self.admin_password, "new": "Admin-pass-2026"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        changed["access_token"].as_str().unwrap().to_owned()
    }
}

#[actix_web::test]
async fn staff_see_payment_alerts_in_the_admin_api() {
    let h = harness().await;
    h.prepaid("T2026112900017", 1000).await;
    let wrong_amount = h.transaction("T2026112900017", 999, APPID);
    let (body, headers) = h.notification(
        "TRANSACTION.SUCCESS",
        "transaction",
        &wrong_amount,
        PLATFORM_KEY,
        h.now().unix_seconds(),
    );
    assert_eq!(h.post(NOTIFY, body, &headers).await.0, 409);

    let url = format!(
        "{}/api/v1/admin/payments/alerts?page=1&page_size=10",
        h.base
    );
    let anonymous = h.http.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);

    let token = h.admin_token().await;
    let response = h.http.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let page: Value = response.json().await.unwrap();
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(
        (page["page"].as_u64(), page["page_size"].as_u64()),
        (Some(1), Some(10))
    );
    let alert = &page["items"][0];
    assert_eq!(alert["kind"], "amount_mismatch");
    assert_eq!(alert["out_trade_no"], "T2026112900017");
    assert_eq!(alert["field"], "amount.total");
    assert_eq!(
        alert["expected"],
        json!({"amount": 1000, "currency": "CNY"})
    );
    assert_eq!(alert["received"], json!({"amount": 999, "currency": "CNY"}));

    let bad_page = h
        .http
        .get(format!(
            "{}/api/v1/admin/payments/alerts?page_size=1000",
            h.base
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(bad_page.status(), 400);
}

#[actix_web::test]
async fn a_refund_wechat_refuses_is_closed_and_its_amount_refundable_again() {
    let h = harness().await;
    // Our record says paid (a genuine notification) while the sandbox's order never was,
    // so WeChat refuses the refund with a signed 400.
    h.prepaid("T2026112900018", 1000).await;
    let (body, headers) = h.notification(
        "TRANSACTION.SUCCESS",
        "transaction",
        &h.transaction("T2026112900018", 1000, APPID),
        PLATFORM_KEY,
        h.now().unix_seconds(),
    );
    assert_eq!(h.post(NOTIFY, body, &headers).await.0, 204);

    let refused = h.refund("T2026112900018", "RF-T18", 600).await;
    assert!(
        matches!(refused, Err(PaymentError::RefundRefused { .. })),
        "{refused:?}"
    );
    let refund = h.refund_record("RF-T18").await;
    assert_eq!(refund.state, RefundState::Closed);
    assert!(
        refund
            .last_error
            .as_deref()
            .unwrap()
            .contains("INVALID_REQUEST")
    );
    assert!(refund.pending_events.is_empty());
    let payment = h.payment("T2026112900018").await;
    assert_eq!(payment.refund_reserved, Money::cny(0), "released");
    assert_eq!(payment.refundable(), 1000);
    assert_eq!(payment.state, PaymentState::Succeeded);
    assert_eq!(h.events.count(EventKind::RefundClosed, "T2026112900018"), 1);
    // Nothing for the sync job to do with it.
    h.advance(3600);
    assert_eq!(h.service.run_sync().await.unwrap().refunds_sent, 0);
}
