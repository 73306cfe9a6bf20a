//! The client against the WeChat Pay sandbox over real HTTP on loopback, with a small notify
//! receiver that verifies callbacks with the client. Time is a `ManualClock` shared by all.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use chrono::TimeDelta;
use serde_json::{Value, json};
use topup_core::{ManualClock, Money, Secret, SharedClock, Timestamp};
use topup_payment::{
    ExpectedPayment, HttpSettings, JsapiOrder, MerchantSigner, NotificationPayload, PaymentError,
    PemSource, RefundRequest, RefundStatus, SignatureVerifier, TradeState, VerifiedNotification,
    WechatPayClient, WechatPayConfig, WechatPayHeaders, authorization_header, pay_sign_message,
};
use topup_sandbox::wechat_pay::{
    MOUNT_PATH, PlatformMode, WechatPaySandbox, WechatPaySandboxConfig,
};

const MERCHANT_KEY: &str = include_str!("fixtures/wechatpay_doc_test_key.pem");
const MERCHANT_PUBLIC_KEY: &str = include_str!("fixtures/wechatpay_doc_test_key.pub.pem");
const PLATFORM_KEY: &str = include_str!("fixtures/platform_key.pem");
const PLATFORM_PUBLIC_KEY: &str = include_str!("fixtures/platform_key.pub.pem");
const CERTIFICATE_KEY: &str = include_str!("fixtures/platform_cert_key.pem");
const WRONG_PUBLIC_KEY: &str = include_str!("fixtures/wrong_platform_key.pub.pem");

const MCHID: &str = "1900007291";
const APPID: &str = "wxd678efh567hg6787";
const MERCHANT_SERIAL: &str = "3775B6A45ACD588826D15E583A95F5DD2C5F1B0E";
const PUBLIC_KEY_ID: &str = "PUB_KEY_ID_0119007291202611290000000001";
const APIV3_KEY: &str = "Topup0sandbox0apiv3key0for0tests";
const OPENID: &str = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o";

/// How the client checks WeChat's signatures in a test.
enum Verification {
    PublicKey(&'static str),
    Certificates,
}

struct Harness {
    clock: ManualClock,
    sandbox: WechatPaySandbox,
    client: WechatPayClient,
    base_url: String,
    notify_base: String,
    received: Arc<Mutex<Vec<VerifiedNotification>>>,
    /// The receiver answers 500 to this many notifications before accepting.
    receiver_failures: Arc<AtomicU32>,
    /// Notifications the receiver refused as unauthentic.
    receiver_rejections: Arc<Mutex<Vec<String>>>,
    servers: Vec<ServerHandle>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        for server in &self.servers {
            drop(server.stop(false));
        }
    }
}

fn start_clock() -> ManualClock {
    ManualClock::new(Timestamp::parse("2026-11-29T04:00:00Z").unwrap())
}

fn sandbox_config() -> WechatPaySandboxConfig {
    WechatPaySandboxConfig {
        mchid: MCHID.into(),
        appid: APPID.into(),
        merchant_serial_no: MERCHANT_SERIAL.into(),
        merchant_public_key_pem: MERCHANT_PUBLIC_KEY.into(),
        apiv3_key: Secret::new(APIV3_KEY.into()),
        platform_private_key_pem: Secret::new(PLATFORM_KEY.into()),
        platform_public_key_id: PUBLIC_KEY_ID.into(),
        certificate_private_key_pem: Some(Secret::new(CERTIFICATE_KEY.into())),
        sign_with: PlatformMode::PublicKey,
        refund_delay_secs: 60,
        duplicate_percent: 0,
        allow_loopback_http_notify: true,
    }
}

fn client_config(
    base_url: &str,
    notify_base: &str,
    verification: &Verification,
) -> WechatPayConfig {
    let (public_key, public_key_id, certificates) = match verification {
        Verification::PublicKey(pem) => (
            Some(PemSource::pem(*pem)),
            Some(PUBLIC_KEY_ID.to_string()),
            false,
        ),
        Verification::Certificates => (None, None, true),
    };
    WechatPayConfig {
        mchid: MCHID.into(),
        appid: APPID.into(),
        merchant_serial_no: MERCHANT_SERIAL.into(),
        merchant_private_key: PemSource::pem(MERCHANT_KEY),
        apiv3_key: Secret::new(APIV3_KEY.into()),
        wechatpay_public_key: public_key,
        wechatpay_public_key_id: public_key_id,
        platform_certificates: certificates,
        notify_url: format!("{notify_base}/notify"),
        refund_notify_url: format!("{notify_base}/refund-notify"),
        base_url: base_url.into(),
        http: HttpSettings {
            retry_backoff_ms: 1,
            request_timeout_ms: 5_000,
            ..HttpSettings::default()
        },
    }
}

#[derive(Clone)]
struct ReceiverState {
    client: Arc<OnceLock<WechatPayClient>>,
    clock: SharedClock,
    received: Arc<Mutex<Vec<VerifiedNotification>>>,
    failures: Arc<AtomicU32>,
    rejections: Arc<Mutex<Vec<String>>>,
}

/// Our side of a callback, as the API layer will do it: raw body, verify, then decrypt.
async fn receive(
    state: web::Data<ReceiverState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    if state
        .failures
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return HttpResponse::InternalServerError()
            .json(json!({"code": "FAIL", "message": "busy"}));
    }
    let headers = match WechatPayHeaders::from_lookup(|name| {
        req.headers().get(name).and_then(|v| v.to_str().ok())
    }) {
        Ok(headers) => headers,
        Err(error) => return reject(&state, &error),
    };
    let client = state.client.get().unwrap();
    match client
        .verify_notification(&headers, &body, state.clock.now())
        .await
    {
        Ok(notification) => {
            state.received.lock().unwrap().push(notification);
            HttpResponse::NoContent().finish()
        }
        Err(error) => reject(&state, &error),
    }
}

fn reject(state: &ReceiverState, error: &PaymentError) -> HttpResponse {
    assert!(error.is_authentication_failure(), "{error:?}");
    state.rejections.lock().unwrap().push(error.to_string());
    HttpResponse::Unauthorized().json(json!({"code": "FAIL", "message": "unauthentic"}))
}

async fn harness(verification: Verification) -> Harness {
    let clock = start_clock();
    let shared: SharedClock = Arc::new(clock.clone());
    let sandbox = WechatPaySandbox::new(sandbox_config(), shared.clone()).unwrap();

    let served = sandbox.clone();
    let server = HttpServer::new(move || App::new().service(served.scope()))
        .workers(1)
        .bind(("127.0.0.1", 0))
        .unwrap();
    let base_url = format!("http://{}{MOUNT_PATH}", server.addrs()[0]);
    let server = server.run();
    let mut servers = vec![server.handle()];
    actix_web::rt::spawn(server);

    let receiver = ReceiverState {
        client: Arc::new(OnceLock::new()),
        clock: shared.clone(),
        received: Arc::default(),
        failures: Arc::default(),
        rejections: Arc::default(),
    };
    let receiver_data = web::Data::new(receiver.clone());
    let notify_server = HttpServer::new(move || {
        App::new()
            .app_data(receiver_data.clone())
            .route("/notify", web::post().to(receive))
            .route("/refund-notify", web::post().to(receive))
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .unwrap();
    let notify_base = format!("http://{}", notify_server.addrs()[0]);
    let notify_server = notify_server.run();
    servers.push(notify_server.handle());
    actix_web::rt::spawn(notify_server);

    let client = WechatPayClient::new(
        &client_config(&base_url, &notify_base, &verification),
        shared,
    )
    .unwrap();
    receiver.client.set(client.clone()).unwrap();
    Harness {
        clock,
        sandbox,
        client,
        base_url,
        notify_base,
        received: receiver.received,
        receiver_failures: receiver.failures,
        receiver_rejections: receiver.rejections,
        servers,
    }
}

fn order(out_trade_no: &str, fen: i64) -> JsapiOrder {
    JsapiOrder {
        description: "话费充值-Topup".into(),
        out_trade_no: out_trade_no.into(),
        amount: Money::cny(fen),
        payer_openid: OPENID.into(),
        time_expire: None,
        attach: Some("order:01JDZ".into()),
    }
}

impl Harness {
    /// The cashier: the user presses "pay".
    async fn confirm(&self, prepay_id: &str) -> (u16, Value) {
        let response = reqwest::Client::new()
            .post(format!("{}/confirm", self.base_url))
            .json(&json!({ "prepay_id": prepay_id }))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn pay(&self, out_trade_no: &str, fen: i64) -> Value {
        let prepay_id = self
            .client
            .prepay_jsapi(&order(out_trade_no, fen))
            .await
            .unwrap();
        let (status, transaction) = self.confirm(&prepay_id).await;
        assert_eq!(status, 200, "{transaction}");
        transaction
    }

    fn received(&self) -> Vec<VerifiedNotification> {
        self.received.lock().unwrap().clone()
    }

    /// A request signed by hand, to send the sandbox what the client never would.
    async fn raw(&self, method: &str, path: &str, body: &str, auth: RawAuth) -> (u16, Value) {
        let timestamp = self.clock_now_secs() + auth.time_offset;
        let nonce = "RAWNONCE0123456789";
        let full_path = format!("{MOUNT_PATH}{path}");
        let message =
            topup_payment::request_message(method, &full_path, timestamp, nonce, body.as_bytes());
        let signer = MerchantSigner::from_pem(&Secret::new(MERCHANT_KEY.into())).unwrap();
        let mut signature = signer.sign(&message).unwrap();
        if auth.tamper {
            signature = signer.sign(b"something else").unwrap();
        }
        let url = format!("{}{path}", self.base_url);
        let request = reqwest::Client::new()
            .request(method.parse().unwrap(), url)
            .header(
                "Authorization",
                authorization_header(auth.mchid, nonce, timestamp, auth.serial, &signature),
            )
            .header("Accept", "application/json")
            .header("User-Agent", "topup-test")
            .header("Content-Type", "application/json")
            .body(body.to_string());
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn clock_now_secs(&self) -> i64 {
        topup_core::Clock::now(&self.clock).unix_seconds()
    }
}

struct RawAuth {
    mchid: &'static str,
    serial: &'static str,
    time_offset: i64,
    tamper: bool,
}

const GOOD_AUTH: RawAuth = RawAuth {
    mchid: MCHID,
    serial: MERCHANT_SERIAL,
    time_offset: 0,
    tamper: false,
};

fn jsapi_body(out_trade_no: &str) -> Value {
    json!({
        "appid": APPID, "mchid": MCHID, "description": "Topup", "out_trade_no": out_trade_no,
        "notify_url": "https://merchant.example/notify",
        "amount": {"total": 100, "currency": "CNY"}, "payer": {"openid": OPENID}
    })
}

#[actix_web::test]
async fn pay_then_notification_with_duplicate_then_query_shows_success() {
    let h = harness(Verification::PublicKey(PLATFORM_PUBLIC_KEY)).await;
    let prepay_id = h
        .client
        .prepay_jsapi(&order("T2026112900001", 3000))
        .await
        .unwrap();
    assert!(prepay_id.starts_with("wx"), "{prepay_id}");

    // The parameters the mini-program receives verify with the merchant public key.
    let params = h.client.request_payment_params(&prepay_id).unwrap();
    assert_eq!(params.package, format!("prepay_id={prepay_id}"));
    assert_eq!(params.sign_type, "RSA");
    assert_eq!(params.time_stamp, h.clock_now_secs().to_string());
    let message = pay_sign_message(
        APPID,
        &params.time_stamp,
        &params.nonce_str,
        &params.package,
    );
    let merchant_public = SignatureVerifier::from_spki_pem(MERCHANT_PUBLIC_KEY).unwrap();
    assert!(merchant_public.verify(message.as_bytes(), &params.pay_sign));
    let as_json = serde_json::to_value(&params).unwrap();
    for field in ["timeStamp", "nonceStr", "package", "signType", "paySign"] {
        assert!(as_json.get(field).is_some(), "{field} missing in {as_json}");
    }

    let before = h
        .client
        .query_by_out_trade_no("T2026112900001")
        .await
        .unwrap();
    assert_eq!(before.trade_state, TradeState::Notpay);
    assert!(before.transaction_id.is_none());

    h.sandbox.set_always_duplicate(true);
    let (status, _) = h.confirm(&prepay_id).await;
    assert_eq!(status, 200);
    let report = h.sandbox.deliver_due().await;
    assert_eq!(
        (report.attempted, report.delivered, report.duplicates),
        (1, 1, 1)
    );

    let received = h.received();
    assert_eq!(received.len(), 2, "delivered once and duplicated once");
    assert_eq!(
        received[0], received[1],
        "a duplicate is the same notification"
    );
    assert_eq!(received[0].event_type, "TRANSACTION.SUCCESS");
    let NotificationPayload::Transaction(paid) = &received[0].payload else {
        panic!("expected a transaction");
    };
    paid.ensure_matches(&ExpectedPayment {
        mchid: MCHID,
        appid: APPID,
        out_trade_no: "T2026112900001",
        total: Money::cny(3000),
    })
    .unwrap();
    assert!(
        paid.ensure_matches(&ExpectedPayment {
            mchid: MCHID,
            appid: APPID,
            out_trade_no: "T2026112900001",
            total: Money::cny(2999),
        })
        .is_err()
    );
    assert_eq!(paid.trade_state, TradeState::Success);
    assert_eq!(paid.payer.as_ref().unwrap().openid.as_deref(), Some(OPENID));
    assert_eq!(paid.attach.as_deref(), Some("order:01JDZ"));

    let after = h
        .client
        .query_by_out_trade_no("T2026112900001")
        .await
        .unwrap();
    assert_eq!(after.trade_state, TradeState::Success);
    assert_eq!(after.transaction_id, paid.transaction_id);
    assert_eq!(after.success_time, Some(topup_core::Clock::now(&h.clock)));
    assert!(h.receiver_rejections.lock().unwrap().is_empty());

    // Nothing more is due; a second confirm changes nothing and sends nothing.
    let (status, _) = h.confirm(&prepay_id).await;
    assert_eq!(status, 200);
    assert_eq!(h.sandbox.deliver_due().await.attempted, 0);
}

#[actix_web::test]
async fn the_delivery_loop_notifies_a_payment_at_once() {
    let h = harness(Verification::PublicKey(PLATFORM_PUBLIC_KEY)).await;
    // Its timer would fire next in an hour: only the payment itself can wake it.
    let delivery = h.sandbox.spawn_delivery_loop(Duration::from_secs(3600));
    for n in 1..=2 {
        h.pay(&format!("T202611290010{n}"), 100).await;
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while h.received().len() < n && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            h.received().len(),
            n,
            "payment {n} notified without waiting for the timer"
        );
    }
    delivery.abort();
}

#[actix_web::test]
async fn unanswered_notifications_follow_the_retry_schedule() {
    let h = harness(Verification::PublicKey(PLATFORM_PUBLIC_KEY)).await;
    h.receiver_failures.store(2, Ordering::SeqCst);
    h.pay("T2026112900002", 100).await;

    let first = h.sandbox.deliver_due().await;
    assert_eq!((first.attempted, first.failed), (1, 1));
    let start = topup_core::Clock::now(&h.clock);
    assert_eq!(
        h.sandbox.next_delivery_at(),
        Some(start.plus(TimeDelta::seconds(15)))
    );

    h.clock.advance(TimeDelta::seconds(14));
    assert_eq!(
        h.sandbox.deliver_due().await.attempted,
        0,
        "not due before 15 s"
    );
    h.clock.advance(TimeDelta::seconds(1));
    assert_eq!(h.sandbox.deliver_due().await.failed, 1);
    assert_eq!(
        h.sandbox.next_delivery_at(),
        Some(start.plus(TimeDelta::seconds(30)))
    );
    h.clock.advance(TimeDelta::seconds(15));
    let third = h.sandbox.deliver_due().await;
    assert_eq!((third.attempted, third.delivered), (1, 1));
    assert_eq!(h.received().len(), 1);
    assert_eq!(h.sandbox.pending_notifications(), 0);
}

#[actix_web::test]
async fn an_unpaid_order_closes_and_cannot_be_paid_afterwards() {
    let h = harness(Verification::PublicKey(PLATFORM_PUBLIC_KEY)).await;
    let prepay_id = h
        .client
        .prepay_jsapi(&order("T2026112900003", 500))
        .await
        .unwrap();
    h.client.close("T2026112900003").await.unwrap();
    let closed = h
        .client
        .query_by_out_trade_no("T2026112900003")
        .await
        .unwrap();
    assert_eq!(closed.trade_state, TradeState::Closed);
    let (status, body) = h.confirm(&prepay_id).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("ORDER_CLOSED")));
    h.client.close("T2026112900003").await.unwrap();

    let missing = h.client.close("T2026112900404").await.unwrap_err();
    assert_eq!(missing.api_code(), Some("ORDER_NOT_EXIST"));
    let missing = h
        .client
        .query_by_out_trade_no("T2026112900404")
        .await
        .unwrap_err();
    assert!(matches!(missing, PaymentError::Api { status: 404, .. }));

    h.pay("T2026112900005", 500).await;
    let paid = h.client.close("T2026112900005").await.unwrap_err();
    assert_eq!(paid.api_code(), Some("ORDERPAID"));
}

#[actix_web::test]
async fn refunds_partial_and_full_settle_after_the_delay_with_notifications() {
    let h = harness(Verification::PublicKey(PLATFORM_PUBLIC_KEY)).await;
    h.pay("T2026112900010", 1000).await;
    h.pay("T2026112900011", 500).await;
    h.sandbox.deliver_due().await;
    h.received.lock().unwrap().clear();

    let refund = |out_trade_no: &str, out_refund_no: &str, fen: i64, total: i64| RefundRequest {
        out_trade_no: out_trade_no.into(),
        out_refund_no: out_refund_no.into(),
        reason: Some("充值失败".into()),
        refund: Money::cny(fen),
        total: Money::cny(total),
    };
    let partial = h
        .client
        .refund(&refund("T2026112900010", "R-10-1", 300, 1000))
        .await
        .unwrap();
    assert_eq!(partial.status, RefundStatus::Processing);
    assert_eq!(partial.amount.refund_money(), Money::cny(300));
    // Same out_refund_no: the same refund, not a second one.
    let again = h
        .client
        .refund(&refund("T2026112900010", "R-10-1", 300, 1000))
        .await
        .unwrap();
    assert_eq!(again.refund_id, partial.refund_id);

    let over = h
        .client
        .refund(&refund("T2026112900010", "R-10-2", 800, 1000))
        .await
        .unwrap_err();
    assert!(
        matches!(over, PaymentError::Api { status: 400, .. }),
        "{over:?}"
    );
    assert_eq!(over.api_code(), Some("INVALID_REQUEST"));
    // Refused locally, never sent: more than the total.
    let local = h
        .client
        .refund(&refund("T2026112900010", "R-10-3", 1001, 1000))
        .await
        .unwrap_err();
    assert!(matches!(local, PaymentError::InvalidRequest(_)));

    let rest = h
        .client
        .refund(&refund("T2026112900010", "R-10|4", 700, 1000))
        .await
        .unwrap();
    let full = h
        .client
        .refund(&refund("T2026112900011", "R-11-1", 500, 500))
        .await
        .unwrap();
    assert_eq!(
        h.client.query_refund("R-10|4").await.unwrap().status,
        RefundStatus::Processing
    );
    let state = h
        .client
        .query_by_out_trade_no("T2026112900010")
        .await
        .unwrap();
    assert_eq!(state.trade_state, TradeState::Refund);

    h.clock.advance(TimeDelta::seconds(59));
    assert_eq!(h.sandbox.deliver_due().await.attempted, 0);
    h.clock.advance(TimeDelta::seconds(1));
    let report = h.sandbox.deliver_due().await;
    assert_eq!((report.attempted, report.delivered), (3, 3));

    for (out_refund_no, expected) in [("R-10-1", &partial), ("R-10|4", &rest), ("R-11-1", &full)] {
        let settled = h.client.query_refund(out_refund_no).await.unwrap();
        assert_eq!(settled.status, RefundStatus::Success);
        assert_eq!(settled.refund_id, expected.refund_id);
        assert!(settled.success_time.is_some());
    }
    let mut refunds: Vec<_> = h
        .received()
        .into_iter()
        .map(|n| {
            assert_eq!(n.event_type, "REFUND.SUCCESS");
            match n.payload {
                NotificationPayload::Refund(refund) => refund,
                other => panic!("unexpected {other:?}"),
            }
        })
        .collect();
    refunds.sort_by(|a, b| a.out_refund_no.cmp(&b.out_refund_no));
    let summary: Vec<_> = refunds
        .iter()
        .map(|r| {
            (
                r.out_refund_no.as_str(),
                r.amount.refund,
                r.amount.total,
                r.refund_status,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("R-10-1", 300, 1000, RefundStatus::Success),
            ("R-10|4", 700, 1000, RefundStatus::Success),
            ("R-11-1", 500, 500, RefundStatus::Success),
        ]
    );
    assert_eq!(refunds[0].mchid, MCHID);

    let unknown = h.client.query_refund("R-nope").await.unwrap_err();
    assert_eq!(unknown.api_code(), Some("RESOURCE_NOT_EXISTS"));
}

#[actix_web::test]
async fn requests_with_bad_signatures_are_refused_with_sign_error() {
    let h = harness(Verification::PublicKey(PLATFORM_PUBLIC_KEY)).await;
    let body = jsapi_body("T2026112900020").to_string();
    let path = "/v3/pay/transactions/jsapi";
    let (status, answer) = h.raw("POST", path, &body, GOOD_AUTH).await;
    assert_eq!(status, 200, "{answer}");

    for (auth, why) in [
        (
            RawAuth {
                tamper: true,
                ..GOOD_AUTH
            },
            "tampered signature",
        ),
        (
            RawAuth {
                mchid: "1900000000",
                ..GOOD_AUTH
            },
            "wrong mchid",
        ),
        (
            RawAuth {
                serial: "0000000000000000000000000000000000000000",
                ..GOOD_AUTH
            },
            "wrong serial",
        ),
        (
            RawAuth {
                time_offset: -301,
                ..GOOD_AUTH
            },
            "stale timestamp",
        ),
    ] {
        let (status, answer) = h.raw("POST", path, &body, auth).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (401, Some("SIGN_ERROR")),
            "{why}: {answer}"
        );
    }

    // A body changed after signing.
    let signer = MerchantSigner::from_pem(&Secret::new(MERCHANT_KEY.into())).unwrap();
    let timestamp = h.clock_now_secs();
    let message = topup_payment::request_message(
        "POST",
        &format!("{MOUNT_PATH}{path}"),
        timestamp,
        "N",
        body.as_bytes(),
    );
    let response = reqwest::Client::new()
        .post(format!("{}{path}", h.base_url))
        .header(
            "Authorization",
            authorization_header(
                MCHID,
                "N",
                timestamp,
                MERCHANT_SERIAL,
                &signer.sign(&message).unwrap(),
            ),
        )
        .header("Accept", "application/json")
        .header("User-Agent", "topup-test")
        .header("Content-Type", "application/json")
        .body(body.replace("\"total\":100", "\"total\":1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
}

#[actix_web::test]
async fn the_sandbox_validates_fields_like_wechat() {
    let h = harness(Verification::PublicKey(PLATFORM_PUBLIC_KEY)).await;
    let path = "/v3/pay/transactions/jsapi";
    let cases: Vec<(Value, &str)> = vec![
        (json!({"attach": null}), "/attach"),
        (json!({"appid": "wx0000000000000000"}), "/appid"),
        (json!({"mchid": "1900000000"}), "/mchid"),
        (json!({"description": "长".repeat(128)}), "/description"),
        (json!({"out_trade_no": "short"}), "/out_trade_no"),
        (json!({"out_trade_no": "has space 123"}), "/out_trade_no"),
        (
            json!({"notify_url": "http://merchant.example/notify"}),
            "/notify_url",
        ),
        (
            json!({"notify_url": "https://merchant.example/notify?x=1"}),
            "/notify_url",
        ),
        (
            json!({"amount": {"total": 0, "currency": "CNY"}}),
            "/amount/total",
        ),
        (
            json!({"amount": {"total": 100, "currency": "USD"}}),
            "/amount/currency",
        ),
        (json!({"payer": {}}), "/payer/openid"),
        (
            json!({"time_expire": "2026-11-29T12:00:30+08:00"}),
            "/time_expire",
        ),
    ];
    for (change, field) in cases {
        let mut body = jsapi_body("T2026112900030");
        for (key, value) in change.as_object().unwrap() {
            body[key] = value.clone();
        }
        let (status, answer) = h.raw("POST", path, &body.to_string(), GOOD_AUTH).await;
        assert_eq!(status, 400, "{field}: {answer}");
        assert_eq!(answer["code"], "PARAM_ERROR", "{field}: {answer}");
        assert_eq!(answer["detail"]["field"], field, "{answer}");
    }

    // A reused out_trade_no: same body → same prepay_id; different body → OUT_TRADE_NO_USED.
    let first = h
        .client
        .prepay_jsapi(&order("T2026112900031", 100))
        .await
        .unwrap();
    let second = h
        .client
        .prepay_jsapi(&order("T2026112900031", 100))
        .await
        .unwrap();
    assert_eq!(first, second);
    let changed = h
        .client
        .prepay_jsapi(&order("T2026112900031", 200))
        .await
        .unwrap_err();
    assert!(matches!(changed, PaymentError::Api { status: 403, .. }));
    assert_eq!(changed.api_code(), Some("OUT_TRADE_NO_USED"));

    // The client never sends a null: absent optional fields are skipped.
    let mut without_attach = order("T2026112900032", 100);
    without_attach.attach = None;
    h.client.prepay_jsapi(&without_attach).await.unwrap();
    let sent = h.sandbox.recorded_requests().last().unwrap().body.clone();
    assert!(!sent.contains("null") && !sent.contains("attach"), "{sent}");
}

#[actix_web::test]
async fn a_prepay_id_expires_after_two_hours() {
    let h = harness(Verification::PublicKey(PLATFORM_PUBLIC_KEY)).await;
    let old = h
        .client
        .prepay_jsapi(&order("T2026112900040", 100))
        .await
        .unwrap();
    h.clock.advance(TimeDelta::hours(2) + TimeDelta::seconds(1));
    let (status, body) = h.confirm(&old).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("PREPAY_EXPIRED"))
    );
    let fresh = h
        .client
        .prepay_jsapi(&order("T2026112900040", 100))
        .await
        .unwrap();
    assert_ne!(fresh, old);
    let (status, _) = h.confirm(&fresh).await;
    assert_eq!(status, 200);
}

#[actix_web::test]
async fn server_errors_are_retried_with_the_same_body() {
    let h = harness(Verification::PublicKey(PLATFORM_PUBLIC_KEY)).await;
    h.sandbox.fail_next_requests(2);
    h.client
        .prepay_jsapi(&order("T2026112900050", 100))
        .await
        .unwrap();
    let attempts: Vec<_> = h
        .sandbox
        .recorded_requests()
        .into_iter()
        .filter(|r| r.path_and_query.ends_with("/jsapi"))
        .collect();
    assert_eq!(attempts.len(), 3);
    assert!(attempts.iter().all(|a| a.body == attempts[0].body));
    assert!(
        attempts[0]
            .body
            .contains("\"out_trade_no\":\"T2026112900050\"")
    );

    // Retries are bounded: with more failures than retries the error surfaces.
    h.sandbox.fail_next_requests(10);
    let error = h
        .client
        .query_by_out_trade_no("T2026112900050")
        .await
        .unwrap_err();
    assert!(
        matches!(error, PaymentError::Api { status: 500, .. }),
        "{error:?}"
    );
    assert!(error.is_retryable());
}

#[actix_web::test]
async fn responses_signed_by_another_key_are_rejected() {
    let h = harness(Verification::PublicKey(WRONG_PUBLIC_KEY)).await;
    let error = h
        .client
        .prepay_jsapi(&order("T2026112900060", 100))
        .await
        .unwrap_err();
    assert!(
        matches!(error, PaymentError::UnverifiedResponse { status: 200, .. }),
        "{error:?}"
    );
    // Error answers are verified too: a 404 signed by the real key is not trusted either.
    let error = h
        .client
        .query_by_out_trade_no("T2026112900404")
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        PaymentError::UnverifiedResponse { status: 404, .. }
    ));

    // And notifications signed by the real key are refused by a receiver holding the wrong one.
    h.sandbox
        .confirm_payment(&h.sandbox_prepay("T2026112900061").await)
        .unwrap();
    let report = h.sandbox.deliver_due().await;
    assert_eq!(report.failed, 1);
    assert!(h.received().is_empty());
    assert_eq!(h.receiver_rejections.lock().unwrap().len(), 1);
}

impl Harness {
    /// A prepay placed by hand (the client in this harness cannot read the answer).
    async fn sandbox_prepay(&self, out_trade_no: &str) -> String {
        let mut body = jsapi_body(out_trade_no);
        body["notify_url"] = json!(format!("{}/notify", self.notify_base));
        let (status, answer) = self
            .raw(
                "POST",
                "/v3/pay/transactions/jsapi",
                &body.to_string(),
                GOOD_AUTH,
            )
            .await;
        assert_eq!(status, 200, "{answer}");
        answer["prepay_id"].as_str().unwrap().to_string()
    }
}

#[actix_web::test]
async fn certificate_mode_downloads_rotates_and_refreshes_platform_certificates() {
    let h = harness(Verification::Certificates).await;
    h.sandbox.set_sign_with(PlatformMode::Certificate).unwrap();
    let first_serial = h.sandbox.certificate_serial().unwrap();
    let downloads = |h: &Harness| {
        h.sandbox
            .recorded_requests()
            .iter()
            .filter(|r| r.path_and_query.ends_with("/v3/certificates"))
            .count()
    };

    let prepay_id = h
        .client
        .prepay_jsapi(&order("T2026112900070", 100))
        .await
        .unwrap();
    assert_eq!(
        h.client.known_platform_serials(),
        vec![first_serial.clone()]
    );
    assert_eq!(downloads(&h), 1);
    let sent = h.sandbox.recorded_requests().last().unwrap().clone();
    assert_eq!(
        sent.wechatpay_serial, None,
        "no public key id in certificate mode"
    );
    let (status, _) = h.confirm(&prepay_id).await;
    assert_eq!(status, 200);
    assert_eq!(h.sandbox.deliver_due().await.delivered, 1);
    assert_eq!(h.received().len(), 1);

    // WeChat issues a new certificate and signs with it: an unknown serial makes the client
    // download the list once more.
    let second_serial = h.sandbox.rotate_certificate().unwrap();
    h.clock.advance(TimeDelta::seconds(61));
    let paid = h
        .client
        .query_by_out_trade_no("T2026112900070")
        .await
        .unwrap();
    assert_eq!(paid.trade_state, TradeState::Success);
    let mut expected = vec![first_serial, second_serial];
    expected.sort();
    assert_eq!(h.client.known_platform_serials(), expected);
    assert_eq!(downloads(&h), 2);

    // Within the refresh interval nothing is downloaded; after it, the list is fetched again.
    h.client
        .query_by_out_trade_no("T2026112900070")
        .await
        .unwrap();
    assert_eq!(downloads(&h), 2);
    h.clock.advance(TimeDelta::hours(12));
    h.client
        .query_by_out_trade_no("T2026112900070")
        .await
        .unwrap();
    assert_eq!(downloads(&h), 3);

    // Answers signed with the public key are unknown to a certificate-only client, and a
    // public-key id never triggers a certificate download.
    h.sandbox.set_sign_with(PlatformMode::PublicKey).unwrap();
    let error = h
        .client
        .query_by_out_trade_no("T2026112900070")
        .await
        .unwrap_err();
    assert!(
        matches!(error, PaymentError::UnverifiedResponse { .. }),
        "{error:?}"
    );
    assert_eq!(downloads(&h), 3);
}

#[actix_web::test]
async fn the_background_loop_delivers_on_real_time() {
    let h = harness(Verification::PublicKey(PLATFORM_PUBLIC_KEY)).await;
    let task = h
        .sandbox
        .spawn_delivery_loop(std::time::Duration::from_millis(20));
    h.pay("T2026112900080", 100).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while h.received().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no notification within 10 s"
        );
        actix_web::rt::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    task.abort();
    assert_eq!(h.received()[0].event_type, "TRANSACTION.SUCCESS");
}

/// The load-test hook: a paid order's notification, freshly signed, POSTed as WeChat's
/// duplicate would be; an unpaid order has none.
#[actix_web::test]
async fn a_replayed_notification_is_the_delivered_one_signed_anew() {
    let h = harness(Verification::PublicKey(PLATFORM_PUBLIC_KEY)).await;
    let http = reqwest::Client::new();
    let replay_url = |no: &str| format!("{}/notifications/{no}/replay", h.base_url);
    let prepay_id = h
        .client
        .prepay_jsapi(&order("T2026112900071", 500))
        .await
        .unwrap();
    let unpaid = http.get(replay_url("T2026112900071")).send().await.unwrap();
    assert_eq!(unpaid.status(), 404);
    let (status, _) = h.confirm(&prepay_id).await;
    assert_eq!(status, 200);
    assert_eq!(h.sandbox.deliver_due().await.delivered, 1);

    let replay: Value = http
        .get(replay_url("T2026112900071"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(replay["url"], format!("{}/notify", h.notify_base));
    let mut request = http.post(replay["url"].as_str().unwrap());
    for (name, value) in replay["headers"].as_object().unwrap() {
        request = request.header(name.as_str(), value.as_str().unwrap());
    }
    let answer = request
        .body(replay["body"].as_str().unwrap().to_owned())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 204);
    let received = h.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0], received[1], "the same notification again");
    let unknown = http.get(replay_url("T2026112900072")).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
}

#[actix_web::test]
async fn a_merchant_set_while_serving_is_used_by_every_clone_from_the_next_call() {
    // Holding the wrong WeChat Pay public key: answers are refused as unverified.
    let h = harness(Verification::PublicKey(WRONG_PUBLIC_KEY)).await;
    let shared = h.client.clone();
    assert!(matches!(
        h.client
            .prepay_jsapi(&order("T2026112900070", 100))
            .await
            .unwrap_err(),
        PaymentError::UnverifiedResponse { .. }
    ));

    // Staff correct it: every clone pays with the corrected merchant at once.
    let corrected = client_config(
        &h.base_url,
        &h.notify_base,
        &Verification::PublicKey(PLATFORM_PUBLIC_KEY),
    );
    assert!(corrected.problems().is_empty());
    shared.reconfigure(&corrected).unwrap();
    let prepay_id = h
        .client
        .prepay_jsapi(&order("T2026112900071", 100))
        .await
        .unwrap();
    assert!(prepay_id.starts_with("wx"), "{prepay_id}");

    // A broken merchant is refused whole, naming each bad field, and the one in force stays.
    let mut broken = corrected.clone();
    broken.apiv3_key = Secret::new("too short".into());
    broken.merchant_private_key = PemSource::pem("-----BEGIN PRIVATE KEY-----\nnope\n");
    broken.wechatpay_public_key_id = Some("KEY_1".into());
    let mut names: Vec<&str> = broken.problems().iter().map(|(name, _)| *name).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "apiv3_key",
            "merchant_private_key",
            "wechatpay_public_key_id"
        ]
    );
    assert!(shared.reconfigure(&broken).is_err());
    assert_eq!(h.client.mchid(), MCHID);
    assert!(
        h.client
            .query_by_out_trade_no("T2026112900071")
            .await
            .is_ok()
    );

    // A client with no merchant refuses every call as a configuration problem.
    let unset = WechatPayClient::unconfigured(Arc::new(h.clock.clone()));
    assert!(!unset.is_configured());
    assert!(matches!(
        unset
            .prepay_jsapi(&order("T2026112900072", 100))
            .await
            .unwrap_err(),
        PaymentError::Config(_)
    ));
    unset.reconfigure(&corrected).unwrap();
    assert!(unset.query_by_out_trade_no("T2026112900071").await.is_ok());
}

/// A sandbox started on the journal one left when it was killed still knows the payment, and
/// sends the notification the first never got answered, when WeChat's schedule says; once it
/// is delivered, a later start has nothing left to send.
#[actix_web::test]
async fn a_restarted_sandbox_knows_its_payments_and_sends_what_was_left_unanswered() {
    let h = harness(Verification::PublicKey(PLATFORM_PUBLIC_KEY)).await;
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("wechat-pay.jsonl");
    assert_eq!(h.sandbox.remember_in(&journal).unwrap(), Some(0));
    h.receiver_failures.store(1, Ordering::SeqCst);
    let paid = h.pay("T2026112900031", 500).await;
    let first = h.sandbox.deliver_due().await;
    assert_eq!((first.attempted, first.failed), (1, 1));
    let due = h.sandbox.next_delivery_at();
    assert!(due.is_some());

    let restart = |journal: &std::path::Path| {
        let sandbox = WechatPaySandbox::new(sandbox_config(), Arc::new(h.clock.clone())).unwrap();
        let remembered = sandbox.remember_in(journal).unwrap();
        (sandbox, remembered)
    };
    let left = dir.path().join("left.jsonl");
    std::fs::copy(&journal, &left).unwrap();
    let (second, remembered) = restart(&left);
    assert_eq!(remembered, Some(1));
    assert_eq!(second.pending_notifications(), 1);
    assert_eq!(second.next_delivery_at(), due);
    h.clock.advance(TimeDelta::seconds(15));
    let resent = second.deliver_due().await;
    assert_eq!((resent.attempted, resent.delivered), (1, 1));
    let received = h.received();
    assert_eq!(received.len(), 1);
    let NotificationPayload::Transaction(notified) = &received[0].payload else {
        panic!("expected a transaction");
    };
    assert_eq!(notified.out_trade_no, "T2026112900031");
    assert_eq!(
        notified.transaction_id.as_deref(),
        paid["transaction_id"].as_str()
    );
    drop(second);

    let (third, remembered) = restart(&left);
    assert_eq!(remembered, Some(1));
    assert_eq!(third.pending_notifications(), 0);
}
