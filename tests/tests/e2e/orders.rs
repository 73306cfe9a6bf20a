//! The orders issue, proved end to end over real HTTP: the whole product in one server on
//! 127.0.0.1:0 (staff auth, app users, the catalog over the Reloadly sandbox, WeChat Pay over
//! its sandbox, orders wired with the server's own adapters) and one `ManualClock`. The tests
//! act as the mini-program and the admin console would; WeChat's notifications reach the real
//! callback routes; the order worker is driven explicitly (`run_until_idle`) after the clock
//! is moved, so nothing waits on real time except the provider's read timeout.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use topup_tests as common;

use std::collections::BTreeSet;
use std::time::Instant;

use chrono::TimeDelta;
use common::{OrdersKit, REFUND_DELAY_SECS, TestApp, status_and_body};
use reqwest::Method;
use serde_json::{Value, json};
use topup_core::{Clock, Decimal, Money, Timestamp};
use topup_orders::Order;
use topup_payment::{PaymentRecord, PaymentState, SignatureVerifier, pay_sign_message};
use topup_sandbox::reloadly::SandboxTransaction;
use topup_sandbox::wechat_pay::DeliveryReport;
use topup_store::Filter;

const NOTIFY: &str = "/api/v1/pay/wechat/notify";

/// One shop: the app and its administrator's token.
pub(crate) struct Shop {
    pub(crate) app: TestApp,
    pub(crate) admin: String,
}

/// A mini-program user, logged in.
pub(crate) struct Buyer {
    pub(crate) token: String,
}

/// An order just placed: its number, the plan's price and what `wx.requestPayment` gets.
pub(crate) struct Placed {
    pub(crate) order_no: String,
    pub(crate) total: i64,
    pay_params: Value,
}

impl Placed {
    pub(crate) fn prepay_id(&self) -> &str {
        self.pay_params["package"]
            .as_str()
            .unwrap()
            .strip_prefix("prepay_id=")
            .unwrap()
    }
}

impl Shop {
    pub(crate) async fn open() -> Shop {
        let app = common::start_with_orders().await;
        let admin = app.admin_token().await;
        Shop { app, admin }
    }

    pub(crate) fn kit(&self) -> &OrdersKit {
        self.app.kit()
    }

    fn now(&self) -> Timestamp {
        self.app.clock.now()
    }

    pub(crate) fn advance(&self, seconds: i64) {
        self.app.clock.advance(TimeDelta::seconds(seconds));
    }

    pub(crate) async fn buyer(&self) -> Buyer {
        let login = self.app.app_login_ok(None).await;
        Buyer {
            token: login["token"].as_str().unwrap().to_owned(),
        }
    }

    /// What the mini-program shows for a number: its operator's plans.
    async fn detect(&self, phone: &str) -> Value {
        let response = self
            .app
            .client
            .get(format!("{}/api/v1/app/catalog/detect", self.app.base))
            .query(&[("phone", phone)])
            .send()
            .await
            .unwrap();
        let (status, detected) = status_and_body(response).await;
        assert_eq!(status, 200, "{detected}");
        assert_eq!(detected["detected"], true, "{detected}");
        detected
    }

    /// The cheapest (or dearest) airtime plan of the number's detected operator.
    pub(crate) async fn plan_for(&self, phone: &str, dearest: bool) -> Value {
        let detected = self.detect(phone).await;
        let operator = detected["operator"]["id"].clone();
        let plans = detected["plans"].as_array().unwrap().iter().filter(|p| {
            p["operator"]["id"] == operator
                && p["type"] == "airtime"
                && p["price"]["amount"].is_i64()
        });
        let price = |p: &&Value| p["price"]["amount"].as_i64().unwrap();
        let plan = if dearest {
            plans.max_by_key(price)
        } else {
            plans.min_by_key(price)
        };
        plan.unwrap().clone()
    }

    pub(crate) async fn checkout(
        &self,
        buyer: &Buyer,
        body: Value,
        key: Option<&str>,
    ) -> (u16, Value) {
        let mut request = self
            .app
            .client
            .post(format!("{}/api/v1/app/orders", self.app.base))
            .bearer_auth(&buyer.token)
            .json(&body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        status_and_body(request.send().await.unwrap()).await
    }

    /// `POST /app/orders/{order_no}/pay` as `buyer`.
    async fn pay_again(&self, buyer: &Buyer, order_no: &str) -> (u16, Value) {
        let response = self
            .app
            .client
            .post(format!(
                "{}/api/v1/app/orders/{order_no}/pay",
                self.app.base
            ))
            .bearer_auth(&buyer.token)
            .send()
            .await
            .unwrap();
        status_and_body(response).await
    }

    /// Checkout of a plan of `phone`'s operator: 201, awaiting payment, signed pay parameters.
    pub(crate) async fn place(&self, buyer: &Buyer, phone: &str) -> Placed {
        let plan = self.plan_for(phone, false).await;
        self.place_plan(buyer, phone, &plan).await
    }

    async fn place_plan(&self, buyer: &Buyer, phone: &str, plan: &Value) -> Placed {
        let (status, body) = self
            .checkout(buyer, json!({"plan_id": plan["id"], "phone": phone}), None)
            .await;
        assert_eq!(status, 201, "{body}");
        let order = &body["order"];
        assert_eq!(order["state"], "awaiting_payment");
        assert_eq!(order["phone"], phone);
        assert_eq!(order["plan"]["plan_id"], plan["id"]);
        assert_eq!(order["total"], plan["price"], "charged the listed price");
        let pay_params = body["pay_params"].clone();
        // What `wx.requestPayment` gets verifies with the merchant key
        // (`docs/protocols.md#jsapi-and-paysign`).
        let message = pay_sign_message(
            common::WX_APP_ID,
            pay_params["timeStamp"].as_str().unwrap(),
            pay_params["nonceStr"].as_str().unwrap(),
            pay_params["package"].as_str().unwrap(),
        );
        assert!(
            SignatureVerifier::from_spki_pem(common::MERCHANT_PUBLIC_KEY)
                .unwrap()
                .verify(message.as_bytes(), pay_params["paySign"].as_str().unwrap()),
            "{pay_params}"
        );
        assert_eq!(pay_params["signType"], "RSA");
        Placed {
            order_no: order["order_no"].as_str().unwrap().to_owned(),
            total: order["total"]["amount"].as_i64().unwrap(),
            pay_params,
        }
    }

    /// The user pays at WeChat; WeChat's notification reaches the real callback route.
    pub(crate) async fn pay(&self, placed: &Placed) {
        self.kit()
            .pay_sandbox
            .confirm_payment(placed.prepay_id())
            .unwrap();
        let report = self.kit().pay_sandbox.deliver_due().await;
        assert_eq!((report.delivered, report.failed), (1, 0), "{report:?}");
    }

    /// Placed and paid: the order is `paid` by the notification alone.
    pub(crate) async fn bought(&self, phone: &str) -> (Buyer, Placed) {
        let buyer = self.buyer().await;
        let placed = self.place(&buyer, phone).await;
        self.pay(&placed).await;
        let order = self.order(&placed.order_no).await;
        assert_eq!(order["state"], "paid", "{order}");
        assert!(
            order["payment"]["transaction_id"]
                .as_str()
                .is_some_and(|id| !id.is_empty())
        );
        (buyer, placed)
    }

    /// The order worker, until nothing is due.
    pub(crate) async fn work(&self) {
        self.kit().engine.run_until_idle().await.unwrap();
    }

    /// Moves past WeChat's refund delay and lets it notify.
    pub(crate) async fn settle_refunds(&self) -> DeliveryReport {
        self.advance(i64::try_from(REFUND_DELAY_SECS).unwrap() + 1);
        self.kit().pay_sandbox.deliver_due().await
    }

    pub(crate) async fn admin(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        status_and_body(self.app.send(method, path, Some(&self.admin), body).await).await
    }

    /// The order as staff see it.
    pub(crate) async fn order(&self, order_no: &str) -> Value {
        let (status, order) = self
            .admin(Method::GET, &format!("/orders/{order_no}"), None)
            .await;
        assert_eq!(status, 200, "{order}");
        order
    }

    pub(crate) async fn refund(
        &self,
        order_no: &str,
        amount: Option<i64>,
        reason: &str,
    ) -> (u16, Value) {
        let mut body = json!({ "reason": reason });
        if let Some(amount) = amount {
            body["amount"] = json!({ "amount": amount, "currency": "CNY" });
        }
        self.admin(
            Method::POST,
            &format!("/orders/{order_no}/refund"),
            Some(body),
        )
        .await
    }

    /// The order as its buyer sees it.
    pub(crate) async fn my_order(&self, buyer: &Buyer, order_no: &str) -> (u16, Value) {
        self.as_buyer(buyer, Method::GET, &format!("/orders/{order_no}"))
            .await
    }

    /// An app request without a body as `buyer`; `path` is under `/api/v1/app`.
    async fn as_buyer(&self, buyer: &Buyer, method: Method, path: &str) -> (u16, Value) {
        status_and_body(
            self.app
                .app_send(method, path, Some(&buyer.token), None)
                .await,
        )
        .await
    }

    async fn payment(&self, order_no: &str) -> PaymentRecord {
        self.kit()
            .payments
            .payment_by_out_trade_no(order_no)
            .await
            .unwrap()
    }

    /// Top-ups the provider committed for `phone`.
    fn provider_transactions(&self, phone: &str) -> Vec<SandboxTransaction> {
        let digits = phone.trim_start_matches('+');
        self.kit()
            .provider
            .transactions()
            .into_iter()
            .filter(|t| t.recipient_phone == digits)
            .collect()
    }

    /// What WeChat Pay was asked (method and path), in order.
    fn wechat_calls(&self, fragment: &str) -> Vec<String> {
        self.kit()
            .pay_sandbox
            .recorded_requests()
            .into_iter()
            .filter(|r| r.path_and_query.contains(fragment))
            .map(|r| format!("{} {}", r.method, r.path_and_query))
            .collect()
    }

    /// How many orders and payment records exist.
    async fn counts(&self) -> (u64, u64) {
        let orders = self
            .app
            .store
            .collection::<Order>()
            .count(&Filter::All)
            .await
            .unwrap();
        let payments = self
            .app
            .store
            .collection::<PaymentRecord>()
            .count(&Filter::All)
            .await
            .unwrap();
        (orders, payments)
    }
}

/// The `what`s of an order's timeline, in order.
fn timeline(order: &Value) -> Vec<String> {
    timeline_field(order, "what")
}

/// The codes of an order's timeline: every entry's for staff, the buyer's steps for the app.
fn codes(order: &Value) -> Vec<String> {
    timeline_field(order, "code")
}

fn timeline_field(order: &Value, field: &str) -> Vec<String> {
    order["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e[field].as_str().unwrap().to_owned())
        .collect()
}

fn occurrences(order: &Value, what: &str) -> usize {
    timeline(order).iter().filter(|w| *w == what).count()
}

fn sends(order: &Value) -> usize {
    order["recharge"]["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "send")
        .count()
}

fn assert_error(status: u16, body: &Value, expected_status: u16, code: &str) {
    assert_eq!(status, expected_status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(
        body["request_id"].as_str().is_some_and(|id| !id.is_empty()),
        "{body}"
    );
}

// 1. One end-to-end purchase per sandbox outcome (`docs/protocols.md#sandbox-outcomes`).

#[actix_web::test]
async fn digit_0_is_recharged_exactly_once() {
    let shop = Shop::open().await;
    let phone = "+639171234500";
    let (buyer, placed) = shop.bought(phone).await;
    shop.work().await;

    let order = shop.order(&placed.order_no).await;
    assert_eq!(order["state"], "succeeded", "{order}");
    assert_eq!(
        timeline(&order),
        ["order placed", "paid", "recharge started", "recharged"]
    );
    assert_eq!(
        codes(&order),
        ["order_placed", "paid", "recharge_started", "recharged"]
    );
    let transactions = shop.provider_transactions(phone);
    assert_eq!(transactions.len(), 1, "{transactions:?}");
    assert_eq!(transactions[0].status, "SUCCESSFUL");
    assert_eq!(
        transactions[0].custom_identifier.as_deref(),
        Some(format!("{}-1", placed.order_no).as_str()),
        "the order's idempotency key"
    );
    assert_eq!(
        order["recharge"]["provider_transaction_id"],
        transactions[0].transaction_id.to_string()
    );
    assert_eq!(sends(&order), 1);
    let (status, mine) = shop.my_order(&buyer, &placed.order_no).await;
    assert_eq!(status, 200);
    assert_eq!(mine["state"], "succeeded");
    assert!(mine["paid_at"].is_string());
    assert!(
        mine.get("recharge").is_none(),
        "no provider internals: {mine}"
    );
    assert_eq!(
        codes(&mine),
        ["order_placed", "paid", "recharge_started", "recharged"]
    );
    let steps = mine["timeline"].as_array().unwrap();
    assert_eq!(steps[0]["at"], order["created_at"]);
    assert!(
        steps.iter().all(|s| s.as_object().unwrap().len() == 2),
        "a time and a code, no actor or detail: {mine}"
    );
    assert_eq!(
        shop.payment(&placed.order_no).await.state,
        PaymentState::Succeeded
    );

    // Nothing more is due, however long one waits.
    shop.advance(3600);
    shop.work().await;
    assert_eq!(shop.provider_transactions(phone).len(), 1);
}

#[actix_web::test]
async fn digit_2_is_declined_and_refunded_automatically() {
    let shop = Shop::open().await;
    let phone = "+639171234502";
    let (buyer, placed) = shop.bought(phone).await;
    shop.work().await;

    let order = shop.order(&placed.order_no).await;
    assert_eq!(order["state"], "refunding", "{order}");
    assert!(shop.provider_transactions(phone).is_empty(), "declined");
    let refund = &order["refunds"][0];
    assert_eq!(refund["amount"]["amount"], placed.total, "in full");
    assert_eq!(refund["initiator"], "system");
    assert_eq!(refund["submitted"], true);
    let out_refund_no = refund["out_refund_no"].as_str().unwrap();
    let sent = shop.wechat_calls("/v3/refund/domestic/refunds");
    assert_eq!(sent.len(), 1, "{sent:?}");
    let payment = shop.payment(&placed.order_no).await;
    assert_eq!(payment.refund_reserved, Money::cny(placed.total));

    // Not before WeChat settles it.
    shop.work().await;
    assert_eq!(shop.order(&placed.order_no).await["state"], "refunding");
    let report = shop.settle_refunds().await;
    assert_eq!(report.delivered, 1, "{report:?}");

    let order = shop.order(&placed.order_no).await;
    assert_eq!(order["state"], "refunded", "{order}");
    assert_eq!(order["refunds"][0]["state"], "succeeded");
    assert_eq!(order["refunds"][0]["out_refund_no"], out_refund_no);
    let payment = shop.payment(&placed.order_no).await;
    assert_eq!(payment.state, PaymentState::Refunded);
    assert_eq!(payment.refunded_total, Money::cny(placed.total));
    let (_, mine) = shop.my_order(&buyer, &placed.order_no).await;
    assert_eq!(mine["state"], "refunded");
    assert_eq!(mine["refunds"][0]["state"], "succeeded");
    assert_eq!(
        codes(&mine),
        [
            "order_placed",
            "paid",
            "recharge_started",
            "recharge_failed",
            "automatic_refund_requested",
            "refunded"
        ]
    );
    // Staff also see the refund going out to WeChat.
    assert_eq!(
        codes(&order),
        [
            "order_placed",
            "paid",
            "recharge_started",
            "recharge_failed",
            "automatic_refund_requested",
            "refund_submitted",
            "refunded"
        ]
    );
}

#[actix_web::test]
async fn digit_3_processes_then_the_operator_refunds_and_so_do_we() {
    let shop = Shop::open().await;
    let phone = "+639171234513";
    let (_, placed) = shop.bought(phone).await;
    shop.work().await;

    let order = shop.order(&placed.order_no).await;
    assert_eq!(order["state"], "recharging", "{order}");
    assert!(order["recharge"]["pending"].is_object(), "{order}");
    let transactions = shop.provider_transactions(phone);
    assert_eq!(transactions.len(), 1);
    assert_eq!(transactions[0].status, "PROCESSING");

    // The next poll finds it refunded by the operator.
    shop.advance(5);
    shop.work().await;
    let order = shop.order(&placed.order_no).await;
    assert_eq!(order["state"], "refunding", "{order}");
    assert_eq!(shop.provider_transactions(phone)[0].status, "REFUNDED");
    let story = timeline(&order);
    let processing = story
        .iter()
        .position(|w| w == "provider is processing")
        .unwrap();
    let failed = story.iter().position(|w| w == "recharge failed").unwrap();
    assert!(processing < failed, "{story:?}");
    assert_eq!(order["refunds"][0]["amount"]["amount"], placed.total);

    assert_eq!(shop.settle_refunds().await.delivered, 1);
    let order = shop.order(&placed.order_no).await;
    assert_eq!(order["state"], "refunded", "{order}");
    assert_eq!(
        shop.payment(&placed.order_no).await.state,
        PaymentState::Refunded
    );
    assert_eq!(shop.provider_transactions(phone).len(), 1, "never resent");
}

#[actix_web::test]
async fn digit_5_times_out_after_commit_and_is_found_not_resent() {
    let shop = Shop::open().await;
    let phone = "+639171234505";
    let (buyer, placed) = shop.bought(phone).await;
    let started = Instant::now();
    shop.work().await;
    // The adapter gave up at its read timeout, long before the provider answered.
    assert!(
        started.elapsed() < common::PROVIDER_HANG,
        "{:?}",
        started.elapsed()
    );

    let order = shop.order(&placed.order_no).await;
    assert_eq!(order["state"], "succeeded", "{order}");
    let transactions = shop.provider_transactions(phone);
    assert_eq!(transactions.len(), 1, "{transactions:?}");
    assert_eq!(transactions[0].status, "SUCCESSFUL");
    let key = format!("{}-1", placed.order_no);
    assert_eq!(
        shop.kit().provider.topup_requests_for(&key),
        1,
        "never resent"
    );
    // Sent once, unanswered, then looked up by its key before anything else.
    let attempts = order["recharge"]["attempts"].as_array().unwrap();
    let actions: Vec<&str> = attempts
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["send", "lookup"], "{order}");
    assert!(codes(&order).contains(&"no_answer".to_owned()), "{order}");
    let (_, mine) = shop.my_order(&buyer, &placed.order_no).await;
    assert_eq!(
        codes(&mine),
        ["order_placed", "paid", "recharge_started", "recharged"],
        "the provider's silence is ours to resolve, not the buyer's to read"
    );
    assert_eq!(attempts[0]["outcome"]["class"], "AMBIGUOUS");
    assert_eq!(attempts[0]["summary"]["error_code"], "TIMEOUT");
    assert_eq!(attempts[1]["key"], key.as_str());
    assert_eq!(attempts[1]["outcome"]["class"], "SUCCEEDED");
    assert_eq!(
        order["recharge"]["provider_transaction_id"],
        transactions[0].transaction_id.to_string()
    );
    assert!(order["recharge"].get("in_flight").is_none(), "{order}");

    // Nothing is left to resolve: the clock moving on sends nothing.
    shop.advance(600);
    shop.work().await;
    assert_eq!(shop.kit().provider.topup_requests_for(&key), 1);
    assert_eq!(shop.provider_transactions(phone).len(), 1);
}

#[actix_web::test]
async fn an_empty_wallet_holds_the_order_until_staff_retry() {
    let shop = Shop::open().await;
    let phone = "+639171234508";
    shop.kit().provider.set_balance(Decimal::ZERO);
    let (_, placed) = shop.bought(phone).await;
    shop.work().await;

    let order = shop.order(&placed.order_no).await;
    assert_eq!(order["state"], "recharging", "{order}");
    assert!(shop.provider_transactions(phone).is_empty());
    let (status, held) = shop.admin(Method::GET, "/orders?held=true", None).await;
    assert_eq!(status, 200, "{held}");
    assert_eq!(held["total"], 1, "{held}");
    assert_eq!(held["items"][0]["order_no"], placed.order_no.as_str());
    let reason = held["items"][0]["hold"]["reason"].as_str().unwrap();
    assert!(reason.contains("INSUFFICIENT_BALANCE"), "{reason}");
    let (_, not_held) = shop.admin(Method::GET, "/orders?held=false", None).await;
    assert_eq!(not_held["total"], 0, "{not_held}");
    // Held orders wait for staff, not for the clock.
    shop.advance(3600);
    shop.work().await;
    assert!(shop.provider_transactions(phone).is_empty());

    shop.kit().provider.set_balance(Decimal::new(1_000, 0));
    let (status, retried) = shop
        .admin(
            Method::POST,
            &format!("/orders/{}/retry", placed.order_no),
            None,
        )
        .await;
    assert_eq!(status, 200, "{retried}");
    assert!(retried["hold"].is_null(), "{retried}");
    shop.work().await;

    let order = shop.order(&placed.order_no).await;
    assert_eq!(order["state"], "succeeded", "{order}");
    assert_eq!(shop.provider_transactions(phone).len(), 1);
    let (_, held) = shop.admin(Method::GET, "/orders?held=true", None).await;
    assert_eq!(held["total"], 0);
    let (status, again) = shop
        .admin(
            Method::POST,
            &format!("/orders/{}/retry", placed.order_no),
            None,
        )
        .await;
    assert_error(status, &again, 409, "ORDER_STATE_CONFLICT");
}

// 2. Duplicate payment notifications.

#[actix_web::test]
async fn fifty_concurrent_duplicate_notifications_pay_and_recharge_once() {
    let shop = Shop::open().await;
    let phone = "+639171234500";
    let buyer = shop.buyer().await;
    let placed = shop.place(&buyer, phone).await;
    // The user pays; WeChat's transaction as a query shows it is what the callback carries.
    let transaction = shop
        .kit()
        .pay_sandbox
        .confirm_payment(placed.prepay_id())
        .unwrap();
    assert_eq!(transaction["out_trade_no"], placed.order_no.as_str());
    let (body, headers) = common::wechat_notification(
        "TRANSACTION.SUCCESS",
        "transaction",
        &transaction,
        common::PLATFORM_KEY,
        shop.now().unix_seconds(),
    );
    let url = format!("{}{NOTIFY}", shop.app.base);
    let deliveries = (0..50).map(|_| {
        let mut request = shop
            .app
            .client
            .post(&url)
            .header("Content-Type", "application/json")
            .body(body.clone());
        for (name, value) in &headers {
            request = request.header(*name, value);
        }
        async move { request.send().await.unwrap().status().as_u16() }
    });
    let statuses = futures_util::future::join_all(deliveries).await;
    assert!(statuses.iter().all(|s| *s == 204), "{statuses:?}");

    let order = shop.order(&placed.order_no).await;
    assert_eq!(order["state"], "paid", "{order}");
    assert_eq!(occurrences(&order, "paid"), 1, "{order}");
    shop.work().await;
    // WeChat's own notification arrives too, after the order has moved on.
    let report = shop.kit().pay_sandbox.deliver_due().await;
    assert_eq!(report.delivered, 1, "{report:?}");
    shop.work().await;

    let order = shop.order(&placed.order_no).await;
    assert_eq!(order["state"], "succeeded", "{order}");
    assert_eq!(occurrences(&order, "paid"), 1, "{order}");
    assert_eq!(occurrences(&order, "recharged"), 1, "{order}");
    assert_eq!(sends(&order), 1);
    assert_eq!(shop.provider_transactions(phone).len(), 1);
    let payment = shop.payment(&placed.order_no).await;
    assert_eq!(payment.state, PaymentState::Succeeded);
    // A duplicate delivery (same notification id) is recognised and not kept again, so the
    // burst wrote the payment once; WeChat's own notification has an id of its own.
    assert_eq!(
        payment.notifications.len(),
        2,
        "each notification is kept once"
    );
    assert_ne!(
        payment.notifications[0].notification_id,
        payment.notifications[1].notification_id
    );
}

// 3. Staff refunds.

#[actix_web::test]
async fn staff_refund_part_then_the_rest() {
    let shop = Shop::open().await;
    let (buyer, placed) = shop.bought("+639171234500").await;
    shop.work().await;
    assert_eq!(shop.order(&placed.order_no).await["state"], "succeeded");
    let total = placed.total;
    let part = total / 4;
    assert!(part > 0);

    let (status, body) = shop
        .refund(&placed.order_no, Some(total + 1), "too much")
        .await;
    assert_error(status, &body, 400, "REFUND_TOO_LARGE");
    let (status, body) = shop.refund(&placed.order_no, Some(0), "nothing").await;
    assert_error(status, &body, 400, "VALIDATION_FAILED");
    let (status, body) = shop.refund(&placed.order_no, Some(part), " ").await;
    assert_error(status, &body, 400, "VALIDATION_FAILED");
    assert!(
        shop.order(&placed.order_no).await["refunds"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let (status, order) = shop.refund(&placed.order_no, Some(part), "goodwill").await;
    assert_eq!(status, 200, "{order}");
    assert_eq!(order["state"], "refunding");
    // One refund at a time.
    let (status, body) = shop.refund(&placed.order_no, None, "again").await;
    assert_error(status, &body, 409, "ORDER_STATE_CONFLICT");
    shop.work().await;
    let sent = shop.wechat_calls("/v3/refund/domestic/refunds");
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(shop.settle_refunds().await.delivered, 1);

    let order = shop.order(&placed.order_no).await;
    assert_eq!(
        order["state"], "succeeded",
        "delivered, partly refunded: {order}"
    );
    assert_eq!(order["refunds"][0]["state"], "succeeded");
    assert_eq!(order["refunds"][0]["amount"]["amount"], part);
    let payment = shop.payment(&placed.order_no).await;
    assert_eq!(payment.state, PaymentState::PartiallyRefunded);
    assert_eq!(payment.refunded_total, Money::cny(part));

    let (status, body) = shop
        .refund(&placed.order_no, Some(total - part + 1), "over")
        .await;
    assert_error(status, &body, 400, "REFUND_TOO_LARGE");
    assert_eq!(
        shop.order(&placed.order_no).await["refunds"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "a refused refund leaves nothing behind"
    );

    let (status, order) = shop.refund(&placed.order_no, None, "the rest").await;
    assert_eq!(status, 200, "{order}");
    assert_eq!(order["refunds"][1]["amount"]["amount"], total - part);
    shop.work().await;
    assert_eq!(shop.settle_refunds().await.delivered, 1);
    let order = shop.order(&placed.order_no).await;
    assert_eq!(order["state"], "refunded", "{order}");
    assert_eq!(occurrences(&order, "refunded"), 2, "{order}");
    let payment = shop.payment(&placed.order_no).await;
    assert_eq!(payment.state, PaymentState::Refunded);
    assert_eq!(payment.refunded_total, Money::cny(total));
    let (_, mine) = shop.my_order(&buyer, &placed.order_no).await;
    assert_eq!(mine["refunds"].as_array().unwrap().len(), 2);

    let (status, body) = shop.refund(&placed.order_no, Some(1), "more").await;
    assert_error(status, &body, 409, "ORDER_STATE_CONFLICT");
    // An unpaid order has nothing to refund.
    let unpaid = shop.place(&buyer, "+639171234501").await;
    let (status, body) = shop.refund(&unpaid.order_no, None, "unpaid").await;
    assert_error(status, &body, 409, "ORDER_STATE_CONFLICT");
    let (status, body) = shop
        .refund("01JDZ8Q7Y7E3K9V6S2M4T1R0PA", None, "none")
        .await;
    assert_error(status, &body, 404, "ORDER_NOT_FOUND");
}

// 4. Unpaid orders: closed in time, or cancelled by their buyer.

#[actix_web::test]
async fn an_unpaid_order_is_closed_after_fifteen_minutes_asking_wechat_first() {
    let shop = Shop::open().await;
    let buyer = shop.buyer().await;
    let placed = shop.place(&buyer, "+639171234500").await;

    shop.advance(14 * 60);
    shop.work().await;
    assert_eq!(
        shop.order(&placed.order_no).await["state"],
        "awaiting_payment"
    );
    assert!(
        shop.wechat_calls(&placed.order_no).is_empty(),
        "nothing asked before the deadline"
    );

    shop.advance(60);
    shop.work().await;
    let order = shop.order(&placed.order_no).await;
    assert_eq!(order["state"], "closed", "{order}");
    // Who closed it and why: the deadline (noted before asking), then WeChat's close.
    let story = timeline(&order);
    assert_eq!(
        &story[story.len() - 2..],
        [
            "not paid in time; closing its payment",
            "closed: payment closed"
        ],
        "{story:?}"
    );
    let calls = shop.wechat_calls(&placed.order_no);
    let query = calls
        .iter()
        .position(|c| c.starts_with("GET") && c.contains("/out-trade-no/"))
        .unwrap();
    let close = calls
        .iter()
        .position(|c| c.starts_with("POST") && c.ends_with("/close"))
        .unwrap();
    assert!(query < close, "queried before closing: {calls:?}");
    assert_eq!(
        shop.payment(&placed.order_no).await.state,
        PaymentState::Closed
    );
    // Closed at WeChat too: it can no longer be paid.
    assert!(
        shop.kit()
            .pay_sandbox
            .confirm_payment(placed.prepay_id())
            .is_err()
    );
    // The payment sync job finds nothing left to do about it.
    shop.kit().payments.run_sync().await.unwrap();
    assert_eq!(shop.order(&placed.order_no).await["state"], "closed");
    // The number is free again.
    shop.place(&buyer, "+639171234500").await;
}

/// The buyer's list offers "more" without counting every order: its total stops one past
/// the page asked for (`total_capped`), and the last page's total is exact.
#[actix_web::test]
async fn my_orders_say_whether_more_follow_and_count_no_further() {
    let shop = Shop::open().await;
    let buyer = shop.buyer().await;
    let mut placed = Vec::new();
    for phone in ["+639171234500", "+639171234510", "+639171234520"] {
        placed.push(shop.place(&buyer, phone).await.order_no);
    }
    let page = |n: u32| {
        let (shop, buyer) = (&shop, &buyer);
        async move {
            let (status, body) = shop
                .as_buyer(buyer, Method::GET, &format!("/orders?page={n}&page_size=2"))
                .await;
            assert_eq!(status, 200, "{body}");
            body
        }
    };
    let first = page(1).await;
    assert_eq!(
        (first["total"].clone(), first["total_capped"].clone()),
        (json!(2), json!(true)),
        "{first}"
    );
    let newest: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["order_no"].as_str().unwrap())
        .collect();
    assert_eq!(newest, [placed[2].as_str(), placed[1].as_str()]);
    let last = page(2).await;
    assert_eq!(
        (last["total"].clone(), last["total_capped"].clone()),
        (json!(3), json!(false)),
        "{last}"
    );
    assert_eq!(last["items"][0]["order_no"], placed[0].as_str());
}

#[actix_web::test]
async fn the_buyer_cancels_an_unpaid_order_but_not_a_paid_one() {
    let shop = Shop::open().await;
    let buyer = shop.buyer().await;
    let placed = shop.place(&buyer, "+639171234501").await;
    let cancel = |order_no: String| {
        let (shop, buyer) = (&shop, &buyer);
        async move {
            shop.as_buyer(buyer, Method::POST, &format!("/orders/{order_no}/cancel"))
                .await
        }
    };
    let (status, order) = cancel(placed.order_no.clone()).await;
    assert_eq!(status, 200, "{order}");
    assert_eq!(order["state"], "closed");
    // WeChat was asked before the payment was closed there.
    let calls = shop.wechat_calls(&placed.order_no);
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls[0].starts_with("GET"), "{calls:?}");
    assert!(
        calls[1].starts_with("POST") && calls[1].ends_with("/close"),
        "{calls:?}"
    );
    assert_eq!(
        shop.payment(&placed.order_no).await.state,
        PaymentState::Closed
    );
    let story = timeline(&shop.order(&placed.order_no).await);
    assert_eq!(
        story,
        ["order placed", "cancel requested", "closed: payment closed"],
        "the buyer's request is on record"
    );
    let (status, again) = cancel(placed.order_no.clone()).await;
    assert_error(status, &again, 409, "ORDER_STATE_CONFLICT");

    // Paid at WeChat, its notification not here yet: cancelling finds the payment instead.
    let paid = shop.place(&buyer, "+639171234508").await;
    shop.kit()
        .pay_sandbox
        .confirm_payment(paid.prepay_id())
        .unwrap();
    let (status, order) = cancel(paid.order_no.clone()).await;
    assert_eq!(status, 200, "{order}");
    assert_eq!(order["state"], "paid", "{order}");
    assert!(
        !shop
            .wechat_calls(&paid.order_no)
            .iter()
            .any(|c| c.ends_with("/close")),
        "a paid payment is never closed"
    );
    shop.work().await;
    shop.kit().pay_sandbox.deliver_due().await;
    let order = shop.order(&paid.order_no).await;
    assert_eq!(order["state"], "succeeded", "{order}");
    assert_eq!(occurrences(&order, "paid"), 1);
    assert_eq!(shop.provider_transactions("+639171234508").len(), 1);
}

// 5. Bad input changes nothing.

#[actix_web::test]
async fn bad_checkouts_are_refused_with_their_code_and_create_nothing() {
    let shop = Shop::open().await;
    let buyer = shop.buyer().await;
    let phone = "+639171234509";
    let plan = shop.plan_for(phone, false).await;
    let plan_id = plan["id"].as_str().unwrap();

    let refused = [
        (
            json!({"plan_id": "01JDZ8Q7Y7E3K9V6S2M4T1R0PA", "phone": phone}),
            400,
            "PLAN_UNAVAILABLE",
        ),
        (
            json!({"plan_id": "not a plan", "phone": phone}),
            400,
            "PLAN_UNAVAILABLE",
        ),
        (
            json!({"plan_id": plan_id, "phone": "+66812345670"}),
            400,
            "NUMBER_PLAN_MISMATCH",
        ),
        (
            // Another PH operator's number (Smart) for a Globe plan.
            json!({"plan_id": plan_id, "phone": "+639181234500"}),
            400,
            "NUMBER_PLAN_MISMATCH",
        ),
        (
            json!({"plan_id": plan_id, "phone": "12345"}),
            400,
            "INVALID_PHONE",
        ),
        (
            json!({"plan_id": plan_id, "phone": "+6391712345"}),
            400,
            "INVALID_PHONE",
        ),
        (
            json!({"plan_id": plan_id, "phone": phone, "surprise": true}),
            400,
            "VALIDATION_FAILED",
        ),
        (json!({"phone": phone}), 400, "VALIDATION_FAILED"),
    ];
    for (body, status, code) in refused {
        let before = shop.counts().await;
        let (got, answer) = shop.checkout(&buyer, body.clone(), None).await;
        assert_error(got, &answer, status, code);
        assert_eq!(shop.counts().await, before, "{body} created something");
    }
    let before = shop.counts().await;
    let response = shop
        .app
        .client
        .post(format!("{}/api/v1/app/orders", shop.app.base))
        .bearer_auth(&buyer.token)
        .header("Content-Type", "application/json")
        .body("{\"plan_id\": ")
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_body(response).await;
    assert_error(status, &body, 400, "MALFORMED_JSON");
    let response = shop
        .app
        .client
        .post(format!("{}/api/v1/app/orders", shop.app.base))
        .json(&json!({"plan_id": plan_id, "phone": phone}))
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_body(response).await;
    assert_error(status, &body, 401, "UNAUTHORIZED");
    assert_eq!(shop.counts().await, before);

    // A number staff blacklisted.
    let (status, entry) = shop
        .admin(
            Method::POST,
            "/blacklist",
            Some(json!({"kind": "phone", "value": phone, "reason": "chargeback fraud"})),
        )
        .await;
    assert_eq!(status, 201, "{entry}");
    let before = shop.counts().await;
    let (status, body) = shop
        .checkout(&buyer, json!({"plan_id": plan_id, "phone": phone}), None)
        .await;
    assert_error(status, &body, 403, "NUMBER_BLOCKED");
    assert_eq!(shop.counts().await, before);

    // The address the app calls from, blacklisted: refused for any number, until lifted.
    let (status, entry) = shop
        .admin(
            Method::POST,
            "/blacklist",
            Some(json!({"kind": "ip", "value": "127.0.0.1", "reason": "card testing"})),
        )
        .await;
    assert_eq!(status, 201, "{entry}");
    let (status, body) = shop
        .checkout(
            &buyer,
            json!({"plan_id": plan_id, "phone": "+639171234577"}),
            None,
        )
        .await;
    assert_error(status, &body, 403, "USER_BLOCKED");
    assert!(
        body["message"].as_str().unwrap().contains("address"),
        "{body}"
    );
    assert_eq!(shop.counts().await, before);
    let entry_id = entry["id"].as_str().unwrap();
    let (status, body) = shop
        .admin(Method::DELETE, &format!("/blacklist/{entry_id}"), None)
        .await;
    assert!(status == 200 || status == 204, "{status} {body}");

    // One unpaid order per user and number (another user's order does not block it).
    let phone = "+639171234500";
    let first = shop.place(&buyer, phone).await;
    let before = shop.counts().await;
    let (status, body) = shop
        .checkout(&buyer, json!({"plan_id": plan_id, "phone": phone}), None)
        .await;
    assert_error(status, &body, 409, "ORDER_LIMIT_REACHED");
    assert_eq!(shop.counts().await, before);
    let other = shop.buyer().await;

    // Another user's order does not exist for them.
    let (status, body) = shop.my_order(&other, &first.order_no).await;
    assert_error(status, &body, 404, "ORDER_NOT_FOUND");
    let (status, body) = shop
        .as_buyer(
            &other,
            Method::POST,
            &format!("/orders/{}/cancel", first.order_no),
        )
        .await;
    assert_error(status, &body, 404, "ORDER_NOT_FOUND");
    assert_eq!(
        shop.order(&first.order_no).await["state"],
        "awaiting_payment"
    );
    let (status, list) = shop.as_buyer(&other, Method::GET, "/orders").await;
    assert_eq!(status, 200);
    assert_eq!(list["total"], 0, "{list}");

    // Idempotency-Key: the same request again is the same order, and pays nothing twice.
    let phone = "+639171234501";
    let body = json!({"plan_id": plan_id, "phone": phone});
    let before = shop.counts().await;
    let (status, created) = shop.checkout(&other, body.clone(), Some("key-1")).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(shop.counts().await, (before.0 + 1, before.1 + 1));
    // The client lost the first answer: the replay pays the same prepay_id, signed afresh.
    let (status, replayed) = shop.checkout(&other, body.clone(), Some("key-1")).await;
    assert_eq!(status, 200, "{replayed}");
    assert_eq!(replayed["order"]["order_no"], created["order"]["order_no"]);
    assert_eq!(
        replayed["pay_params"]["package"], created["pay_params"]["package"],
        "{replayed}"
    );
    assert_eq!(shop.counts().await, (before.0 + 1, before.1 + 1));
    let prepays = shop.wechat_calls("/v3/pay/transactions/jsapi");
    assert_eq!(prepays.len(), 2, "one prepay per order: {prepays:?}");
    // The payment sheet closed: paying again is the same prepay_id too, for its owner only.
    let order_no = created["order"]["order_no"].as_str().unwrap();
    let (status, again) = shop.pay_again(&other, order_no).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        again["pay_params"]["package"],
        created["pay_params"]["package"]
    );
    assert_eq!(again["order"]["state"], "awaiting_payment");
    let (status, body) = shop.pay_again(&buyer, order_no).await;
    assert_error(status, &body, 404, "ORDER_NOT_FOUND");
    assert_eq!(shop.wechat_calls("/v3/pay/transactions/jsapi").len(), 2);
    let (status, body) = shop
        .checkout(
            &other,
            json!({"plan_id": plan_id, "phone": "+639171234508"}),
            Some("key-1"),
        )
        .await;
    assert_error(status, &body, 409, "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(shop.counts().await, (before.0 + 1, before.1 + 1));
    // Keys belong to their user: another one's same key is a new order.
    let (status, _) = shop
        .checkout(
            &buyer,
            json!({"plan_id": plan_id, "phone": "+639171234508"}),
            Some("key-1"),
        )
        .await;
    assert_eq!(status, 201);
}

// 6. What staff see.

#[actix_web::test]
async fn staff_filter_export_and_follow_every_attempt() {
    let shop = Shop::open().await;
    let t0 = shop.now();
    let (_, a) = shop.bought("+639171234500").await;
    shop.work().await;
    shop.advance(3600);
    let (_, b) = shop.bought("+66812345670").await;
    shop.work().await;
    shop.advance(3600);
    let buyer = shop.buyer().await;
    let dear = shop.plan_for("+639171234501", true).await;
    let c = shop.place_plan(&buyer, "+639171234501", &dear).await;
    shop.advance(60);
    let (_, d) = shop.bought("+639171234505").await;
    shop.work().await;
    shop.advance(5);
    shop.work().await;

    let list = |query: String| {
        let shop = &shop;
        async move {
            let (status, page) = shop
                .admin(Method::GET, &format!("/orders?{query}"), None)
                .await;
            assert_eq!(status, 200, "{query}: {page}");
            let numbers: BTreeSet<String> = page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["order_no"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(page["total"], numbers.len(), "{query}");
            numbers
        }
    };
    let set = |orders: &[&Placed]| -> BTreeSet<String> {
        orders.iter().map(|o| o.order_no.clone()).collect()
    };
    assert_eq!(list(String::new()).await, set(&[&a, &b, &c, &d]));
    assert_eq!(list("state=succeeded".into()).await, set(&[&a, &b, &d]));
    assert_eq!(list("state=awaiting_payment".into()).await, set(&[&c]));
    assert_eq!(list("phone=66812".into()).await, set(&[&b]));
    assert_eq!(
        list("phone=%2B63917123450".into()).await,
        set(&[&a, &c, &d])
    );
    assert_eq!(list("country=TH".into()).await, set(&[&b]));
    assert_eq!(list("country=PH".into()).await, set(&[&a, &c, &d]));
    let from = t0.plus(TimeDelta::minutes(30));
    let to = t0.plus(TimeDelta::minutes(90));
    assert_eq!(
        list(format!(
            "from={}&to={}",
            urlencode(&from.to_string()),
            urlencode(&to.to_string())
        ))
        .await,
        set(&[&b])
    );
    assert_eq!(
        list(format!("from={}", urlencode(&to.to_string()))).await,
        set(&[&c, &d])
    );
    let all = [&a, &b, &c, &d];
    let cheapest = all.iter().map(|o| o.total).min().unwrap();
    assert!(c.total > cheapest, "the dearest plan costs more");
    let within = |min: i64, max: i64| -> BTreeSet<String> {
        all.iter()
            .filter(|o| o.total >= min && o.total <= max)
            .map(|o| o.order_no.clone())
            .collect()
    };
    assert_eq!(
        list(format!("min_amount={}", c.total)).await,
        within(c.total, i64::MAX)
    );
    assert_eq!(
        list(format!("max_amount={cheapest}")).await,
        within(0, cheapest)
    );
    assert_eq!(
        list(format!(
            "min_amount={cheapest}&max_amount={cheapest}&state=succeeded"
        ))
        .await,
        within(cheapest, cheapest)
            .into_iter()
            .filter(|n| *n != c.order_no)
            .collect()
    );
    let (status, page) = shop
        .admin(Method::GET, "/orders?page=1&page_size=2&sort=-total", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(page["total"], 4);
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let dearest = all.iter().map(|o| o.total).max().unwrap();
    assert_eq!(
        page["items"][0]["total"]["amount"], dearest,
        "dearest first"
    );
    let (status, body) = shop.admin(Method::GET, "/orders?state=lost", None).await;
    assert_error(status, &body, 400, "VALIDATION_FAILED");

    // The detail tells the whole story.
    let detail = shop.order(&d.order_no).await;
    assert_eq!(detail["state"], "succeeded");
    assert_eq!(detail["price_lines"][0]["kind"], "base");
    assert_eq!(detail["total"]["amount"], d.total);
    let story = timeline(&detail);
    assert_eq!(story.first().unwrap(), "order placed");
    assert_eq!(story.last().unwrap(), "recharged");
    assert!(story.contains(&"no answer; will look the top-up up by its key".to_owned()));
    for event in detail["timeline"].as_array().unwrap() {
        assert!(
            event["at"].is_string() && event["actor"].is_string(),
            "{event}"
        );
    }

    // CSV: a header, a row per order, numbers that no spreadsheet takes for a formula.
    let response = shop
        .app
        .client
        .get(shop.app.url("/orders/export"))
        .bearer_auth(&shop.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.split_terminator("\r\n").collect();
    assert_eq!(lines.len(), 5, "{csv}");
    assert!(
        lines[0].starts_with("\u{feff}order_no,created_at,state,"),
        "a byte-order mark, then the header: {csv}"
    );
    for order in all {
        let row = lines
            .iter()
            .find(|l| l.starts_with(&format!("\"{}\",", order.order_no)))
            .unwrap_or_else(|| panic!("{} in {csv}", order.order_no));
        assert!(row.contains(",\"'+"), "the number is not a formula: {row}");
        assert!(!row.contains(",\"+"), "{row}");
    }
    let response = shop
        .app
        .client
        .get(shop.app.url("/orders/export?country=TH"))
        .bearer_auth(&shop.admin)
        .send()
        .await
        .unwrap();
    let csv = response.text().await.unwrap();
    assert_eq!(csv.split_terminator("\r\n").count(), 2, "{csv}");
    assert!(csv.contains(&b.order_no));

    // Every provider attempt, the timed-out one and its lookup included.
    let (status, log) = shop.admin(Method::GET, "/recharges", None).await;
    assert_eq!(status, 200, "{log}");
    assert_eq!(log["total"], 4, "{log}");
    let (_, log) = shop
        .admin(
            Method::GET,
            &format!("/recharges?order_no={}", d.order_no),
            None,
        )
        .await;
    let attempts: BTreeSet<(String, String)> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["outcome_class"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        attempts,
        BTreeSet::from([
            ("lookup".to_owned(), "succeeded".to_owned()),
            ("send".to_owned(), "ambiguous".to_owned()),
        ])
    );
    for entry in log["items"].as_array().unwrap() {
        assert_eq!(entry["key"], format!("{}-1", d.order_no));
        assert!(!entry["phone_masked"].as_str().unwrap().contains("1234505"));
    }
    let (_, ambiguous) = shop
        .admin(Method::GET, "/recharges?outcome=ambiguous", None)
        .await;
    assert_eq!(ambiguous["total"], 1);
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Customers' numbers, openids and addresses are personal data: staff who may list orders but
/// lack `order:personal:view` see them masked in the list, the detail and the export
/// (`docs/security.md#personal-data`).
#[actix_web::test]
async fn personal_data_is_masked_without_its_permission() {
    let shop = Shop::open().await;
    let phone = "+639171234500";
    let (_, placed) = shop.bought(phone).await;
    shop.work().await;
    let full = shop.order(&placed.order_no).await;
    let openid = full["openid"].as_str().unwrap().to_owned();
    assert_eq!(full["phone"], phone);
    assert_eq!(full["client_ip"], "127.0.0.1");

    let (_, _, clerk) = shop
        .app
        .staff_with(
            &shop.admin,
            "clerk",
            &["order:order:list", "order:order:export"],
        )
        .await;
    let (_, _, trusted) = shop
        .app
        .staff_with(
            &shop.admin,
            "trusted",
            &["order:order:list", "order:personal:view"],
        )
        .await;
    let (status, seen) = status_and_body(
        shop.app
            .get(&format!("/orders/{}", placed.order_no), &clerk)
            .await,
    )
    .await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(seen["phone"], "+639*****4500");
    assert_ne!(seen["openid"], openid.as_str());
    assert!(seen["openid"].as_str().unwrap().contains("****"), "{seen}");
    assert!(seen["client_ip"].is_null(), "{seen}");
    let text = seen.to_string();
    assert!(!text.contains(phone) && !text.contains(&openid), "{text}");
    let (_, page) = status_and_body(shop.app.get("/orders", &clerk).await).await;
    assert_eq!(page["items"][0]["phone"], "+639*****4500", "{page}");
    assert!(!page.to_string().contains(&openid), "{page}");
    let csv = shop
        .app
        .client
        .get(shop.app.url("/orders/export"))
        .bearer_auth(&clerk)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.contains("+639*****4500"), "{csv}");
    assert!(!csv.contains(phone), "{csv}");

    let (_, seen) = status_and_body(
        shop.app
            .get(&format!("/orders/{}", placed.order_no), &trusted)
            .await,
    )
    .await;
    assert_eq!(seen["phone"], phone);
    assert_eq!(seen["openid"], openid.as_str());
    assert_eq!(seen["client_ip"], "127.0.0.1");
}

// 6. Limits bind the user who places orders, not everyone else.
#[actix_web::test]
async fn unpaid_orders_block_only_their_own_user_and_checkouts_are_rate_limited() {
    let shop = Shop::open().await;
    let mallory = shop.buyer().await;
    let alice = shop.buyer().await;
    let phone = "+639171234500";
    let plan = shop.plan_for(phone, false).await;

    // Mallory's unpaid order for Alice's number does not stop Alice paying for it.
    let mallorys_first = shop.place_plan(&mallory, phone, &plan).await;
    let placed = shop.place_plan(&alice, phone, &plan).await;
    shop.pay(&placed).await;
    shop.work().await;
    assert_eq!(shop.order(&placed.order_no).await["state"], "succeeded");

    // Unpaid orders are capped per user (three by default), counting no one else's; paying
    // one frees its place while the order is still open.
    shop.place(&alice, "+639171234506").await;
    shop.place(&alice, "+639171234507").await;
    shop.place(&mallory, "+639171234501").await;
    shop.place(&mallory, "+639171234502").await;
    let before = shop.counts().await;
    let (status, body) = shop
        .checkout(
            &mallory,
            json!({"plan_id": plan["id"], "phone": "+639171234503"}),
            None,
        )
        .await;
    assert_error(status, &body, 409, "ORDER_LIMIT_REACHED");
    assert!(
        body["message"].as_str().unwrap().contains("unpaid"),
        "{body}"
    );
    assert_eq!(shop.counts().await, before);
    shop.pay(&mallorys_first).await;
    assert_eq!(shop.order(&mallorys_first.order_no).await["state"], "paid");
    shop.place(&mallory, "+639171234503").await;

    // Checkouts per user per minute (ten by default), on the clock.
    let hasty = shop.buyer().await;
    let mut refused = None;
    for n in 0..12 {
        // Numbers of another operator: refused after the limiter counted them, never placed.
        let (status, body) = shop
            .checkout(
                &hasty,
                json!({"plan_id": plan["id"], "phone": format!("+6391812345{n:02}")}),
                None,
            )
            .await;
        if status == 429 {
            refused = Some((n, body));
            break;
        }
        assert_error(status, &body, 400, "NUMBER_PLAN_MISMATCH");
    }
    let (n, body) = refused.expect("a checkout refused for its rate");
    assert_eq!(n, 10, "the eleventh checkout in a minute is refused");
    assert_error(429, &body, 429, "RATE_LIMITED");
    assert!(body["details"]["retry_after_seconds"].as_u64().unwrap() >= 1);
    shop.advance(60);
    shop.place(&hasty, "+639171234504").await;
}
