//! Coupons end to end over real HTTP: staff define and issue them, buyers claim them, the
//! checkout quote tries them, checkout applies one, and the coupon follows its order (used
//! when paid, returned when the order closes or is refunded in full) — with WeChat Pay and
//! the provider played by their sandboxes and the order worker driven explicitly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use topup_tests as common;

use common::{TestApp, status_and_body};
use reqwest::Method;
use serde_json::{Value, json};

struct Shop {
    app: TestApp,
    admin: String,
}

struct Buyer {
    token: String,
    user_id: String,
}

impl Shop {
    async fn open() -> Shop {
        let app = common::start_with_orders().await;
        let admin = app.admin_token().await;
        Shop { app, admin }
    }

    async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        status_and_body(self.app.send(method, path, Some(&self.admin), body).await).await
    }

    async fn buyer(&self) -> Buyer {
        let login = self.app.app_login_ok(None).await;
        Buyer {
            token: login["token"].as_str().unwrap().to_owned(),
            user_id: login["user"]["id"].as_str().unwrap().to_owned(),
        }
    }

    async fn as_buyer(
        &self,
        buyer: &Buyer,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        status_and_body(
            self.app
                .app_send(method, path, Some(&buyer.token), body)
                .await,
        )
        .await
    }

    /// The cheapest airtime plan of the number's operator: `(plan id, price in fen)`.
    async fn plan_for(&self, phone: &str) -> (String, i64) {
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
        let operator = detected["operator"]["id"].clone();
        let plan = detected["plans"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["operator"]["id"] == operator && p["type"] == "airtime")
            .filter(|p| p["price"]["amount"].is_i64())
            .min_by_key(|p| p["price"]["amount"].as_i64().unwrap())
            .unwrap();
        (
            plan["id"].as_str().unwrap().to_owned(),
            plan["price"]["amount"].as_i64().unwrap(),
        )
    }

    /// A template of `off` fen off at `threshold`, as staff create it: its id.
    async fn template(
        &self,
        off: i64,
        threshold: i64,
        channel: &str,
        stock: Option<i64>,
    ) -> String {
        let (status, body) = self
            .admin(
                Method::POST,
                "/marketing/coupon-templates",
                Some(json!({
                    "name": format!("{off} off"),
                    "description": "test coupon",
                    "terms": {
                        "kind": "amount_off",
                        "amount_off": {"amount": off, "currency": "CNY"},
                        "threshold": {"amount": threshold, "currency": "CNY"},
                        "scope": {"kinds": ["airtime"]}
                    },
                    "validity": {"kind": "days_after_claim", "days": 30},
                    "total_stock": stock,
                    "per_user_limit": 1,
                    "channel": channel,
                    "enabled": true
                })),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    async fn claim(&self, buyer: &Buyer, template_id: &str) -> String {
        let (status, coupon) = self
            .as_buyer(
                buyer,
                Method::POST,
                "/coupons/claim",
                Some(json!({"template_id": template_id})),
            )
            .await;
        assert_eq!(status, 201, "{coupon}");
        assert_eq!(coupon["state"], "unused");
        coupon["id"].as_str().unwrap().to_owned()
    }

    /// The buyer's coupon as they see it.
    async fn coupon(&self, buyer: &Buyer, coupon_id: &str) -> Value {
        let (status, page) = self
            .as_buyer(buyer, Method::GET, "/coupons?page_size=100", None)
            .await;
        assert_eq!(status, 200, "{page}");
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == coupon_id)
            .unwrap()
            .clone()
    }

    async fn checkout(
        &self,
        buyer: &Buyer,
        plan_id: &str,
        phone: &str,
        coupon: &str,
    ) -> (u16, Value) {
        self.as_buyer(
            buyer,
            Method::POST,
            "/orders",
            Some(json!({"plan_id": plan_id, "phone": phone, "coupon_id": coupon})),
        )
        .await
    }

    /// The user pays at WeChat; its notification reaches the callback route.
    async fn pay(&self, checkout: &Value) {
        let prepay = checkout["pay_params"]["package"]
            .as_str()
            .unwrap()
            .strip_prefix("prepay_id=")
            .unwrap()
            .to_owned();
        let kit = self.app.kit();
        kit.pay_sandbox.confirm_payment(&prepay).unwrap();
        let report = kit.pay_sandbox.deliver_due().await;
        assert_eq!((report.delivered, report.failed), (1, 0), "{report:?}");
    }

    async fn work(&self) {
        self.app.kit().engine.run_until_idle().await.unwrap();
    }

    async fn settle_refunds(&self) {
        self.work().await;
        self.app.clock.advance(chrono::TimeDelta::seconds(
            i64::try_from(common::REFUND_DELAY_SECS).unwrap() + 1,
        ));
        self.app.kit().pay_sandbox.deliver_due().await;
        self.work().await;
    }

    async fn order(&self, order_no: &str) -> Value {
        let (status, order) = self
            .admin(Method::GET, &format!("/orders/{order_no}"), None)
            .await;
        assert_eq!(status, 200, "{order}");
        order
    }

    async fn stats(&self, template_id: &str) -> Value {
        let (status, template) = self
            .admin(
                Method::GET,
                &format!("/marketing/coupon-templates/{template_id}"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{template}");
        template["stats"].clone()
    }
}

fn timeline(order: &Value) -> Vec<String> {
    order["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["what"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn a_claimed_coupon_is_quoted_applied_and_used_when_paid() {
    let shop = Shop::open().await;
    let phone = "+639171234500";
    let (plan_id, price) = shop.plan_for(phone).await;
    assert!(price > 500, "the plan costs more than the coupon takes off");
    let template = shop.template(500, price, "self", Some(5)).await;
    let buyer = shop.buyer().await;

    let (status, claimable) = shop
        .as_buyer(&buyer, Method::GET, "/coupons/claimable", None)
        .await;
    assert_eq!(status, 200, "{claimable}");
    assert_eq!(claimable[0]["template_id"], template.as_str());
    assert_eq!(
        (
            claimable[0]["remaining"].as_i64(),
            claimable[0]["can_claim"].as_bool()
        ),
        (Some(5), Some(true))
    );
    let coupon = shop.claim(&buyer, &template).await;
    let (_, claimable) = shop
        .as_buyer(&buyer, Method::GET, "/coupons/claimable", None)
        .await;
    assert_eq!(
        claimable[0]["can_claim"], false,
        "one per user: {claimable}"
    );

    // The quote preselects it and prices the purchase with it.
    let (status, quote) = shop
        .as_buyer(
            &buyer,
            Method::GET,
            &format!("/checkout/quote?plan_id={plan_id}&phone=%2B639171234500"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{quote}");
    assert_eq!(quote["best_coupon_id"], coupon.as_str());
    assert_eq!(quote["base"]["amount"], price);
    assert_eq!(quote["total"]["amount"], price - 500);
    assert_eq!(quote["coupons"][0]["usable"], true);
    assert_eq!(quote["coupons"][0]["discount"]["amount"], 500);

    let (status, placed) = shop.checkout(&buyer, &plan_id, phone, &coupon).await;
    assert_eq!(status, 201, "{placed}");
    let order = &placed["order"];
    assert_eq!(order["total"]["amount"], price - 500, "{order}");
    let lines: Vec<(String, i64)> = order["price_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["kind"].as_str().unwrap().to_owned(),
                l["amount"]["amount"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [("base".to_owned(), price), ("coupon".to_owned(), -500)]
    );
    let order_no = order["order_no"].as_str().unwrap().to_owned();
    let locked = shop.coupon(&buyer, &coupon).await;
    assert_eq!(
        (locked["state"].as_str(), locked["order_no"].as_str()),
        (Some("locked"), Some(order_no.as_str()))
    );
    // WeChat is asked for what the buyer owes after the discount.
    let payment = shop
        .app
        .kit()
        .payments
        .payment_by_out_trade_no(&order_no)
        .await
        .unwrap();
    assert_eq!(payment.amount.amount, price - 500);

    shop.pay(&placed).await;
    shop.work().await;
    let order = shop.order(&order_no).await;
    assert_eq!(order["state"], "succeeded", "{order}");
    assert!(
        timeline(&order).contains(&"coupon used".to_owned()),
        "{order}"
    );
    let used = shop.coupon(&buyer, &coupon).await;
    assert_eq!(used["state"], "used");
    assert_eq!(used["discount"]["amount"], 500);
    let stats = shop.stats(&template).await;
    assert_eq!(
        (
            &stats["used"],
            &stats["discount_given"]["amount"],
            &stats["paid_total"]["amount"]
        ),
        (&json!(1), &json!(500), &json!(price - 500)),
        "{stats}"
    );

    // Refunds are bounded by what the buyer paid, and a partial one leaves the coupon used.
    let (status, body) = shop
        .admin(
            Method::POST,
            &format!("/orders/{order_no}/refund"),
            Some(json!({"reason": "too much", "amount": {"amount": price, "currency": "CNY"}})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("REFUND_TOO_LARGE"))
    );
    let (status, body) = shop
        .admin(
            Method::POST,
            &format!("/orders/{order_no}/refund"),
            Some(json!({"reason": "goodwill", "amount": {"amount": 100, "currency": "CNY"}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    shop.settle_refunds().await;
    assert_eq!(shop.order(&order_no).await["state"], "succeeded");
    assert_eq!(shop.coupon(&buyer, &coupon).await["state"], "used");

    // Refunding the rest returns it.
    let (status, body) = shop
        .admin(
            Method::POST,
            &format!("/orders/{order_no}/refund"),
            Some(json!({"reason": "the rest"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    shop.settle_refunds().await;
    let order = shop.order(&order_no).await;
    assert_eq!(order["state"], "refunded", "{order}");
    let back = shop.coupon(&buyer, &coupon).await;
    assert_eq!(
        (back["state"].as_str(), &back["order_no"]),
        (Some("unused"), &Value::Null)
    );
    assert!(
        timeline(&order).ends_with(&["coupon returned".to_owned()]),
        "{order}"
    );
}

#[actix_web::test]
async fn a_cancelled_order_and_a_declined_recharge_give_the_coupon_back() {
    let shop = Shop::open().await;
    let declined = "+639171234502";
    let (plan_id, price) = shop.plan_for(declined).await;
    let template = shop.template(300, 0, "self", None).await;
    let buyer = shop.buyer().await;
    let coupon = shop.claim(&buyer, &template).await;

    // Cancelled unpaid.
    let (status, placed) = shop.checkout(&buyer, &plan_id, declined, &coupon).await;
    assert_eq!(status, 201, "{placed}");
    let order_no = placed["order"]["order_no"].as_str().unwrap().to_owned();
    let (status, closed) = shop
        .as_buyer(
            &buyer,
            Method::POST,
            &format!("/orders/{order_no}/cancel"),
            None,
        )
        .await;
    assert_eq!(
        (status, closed["state"].as_str()),
        (200, Some("closed")),
        "{closed}"
    );
    shop.work().await;
    assert_eq!(shop.coupon(&buyer, &coupon).await["state"], "unused");

    // The provider declines the number: refunded in full automatically, coupon returned.
    let (status, placed) = shop.checkout(&buyer, &plan_id, declined, &coupon).await;
    assert_eq!(status, 201, "{placed}");
    assert_eq!(placed["order"]["total"]["amount"], price - 300);
    let order_no = placed["order"]["order_no"].as_str().unwrap().to_owned();
    shop.pay(&placed).await;
    shop.work().await;
    assert_eq!(shop.coupon(&buyer, &coupon).await["state"], "used");
    let order = shop.order(&order_no).await;
    assert_eq!(
        order["refunds"][0]["amount"]["amount"],
        price - 300,
        "what was paid"
    );
    shop.settle_refunds().await;
    assert_eq!(shop.order(&order_no).await["state"], "refunded");
    assert_eq!(shop.coupon(&buyer, &coupon).await["state"], "unused");
}

#[actix_web::test]
async fn coupons_that_do_not_apply_are_refused_and_change_nothing() {
    let shop = Shop::open().await;
    let phone = "+639171234500";
    let (plan_id, price) = shop.plan_for(phone).await;
    let dear = shop.template(500, price + 300, "self", None).await;
    let buyer = shop.buyer().await;
    let coupon = shop.claim(&buyer, &dear).await;

    let (status, quote) = shop
        .as_buyer(
            &buyer,
            Method::GET,
            &format!("/checkout/quote?plan_id={plan_id}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{quote}");
    assert_eq!(quote["best_coupon_id"], Value::Null);
    assert_eq!(quote["total"]["amount"], price);
    let option = &quote["coupons"][0];
    assert_eq!(option["usable"], false);
    assert_eq!(option["reason"]["code"], "below_threshold");
    assert_eq!(option["reason"]["shortfall"]["amount"], 300);

    let (status, body) = shop.checkout(&buyer, &plan_id, phone, &coupon).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "COUPON_NOT_USABLE");
    assert_eq!(body["details"]["reason"], "below_threshold");
    // Someone else's coupon is not theirs to use.
    let other = shop.buyer().await;
    let (status, body) = shop.checkout(&other, &plan_id, phone, &coupon).await;
    assert_eq!(
        (status, &body["details"]["reason"]),
        (409, &json!("not_found"))
    );
    let (_, orders) = shop.admin(Method::GET, "/orders", None).await;
    assert_eq!(orders["total"], 0, "no order was created: {orders}");
    assert_eq!(shop.coupon(&buyer, &coupon).await["state"], "unused");

    // A quote names the plan that is not for sale, and a wrong number.
    let (status, body) = shop
        .as_buyer(&buyer, Method::GET, "/checkout/quote?plan_id=nope", None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("PLAN_UNAVAILABLE"))
    );
    let (status, body) = shop
        .as_buyer(
            &buyer,
            Method::GET,
            &format!("/checkout/quote?plan_id={plan_id}&phone=%2B447911123456"),
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("NUMBER_PLAN_MISMATCH"))
    );

    // Bad templates name their field; sold-out claims say so.
    let (status, body) = shop
        .admin(
            Method::POST,
            "/marketing/coupon-templates",
            Some(json!({
                "name": "broken", "terms": {"kind": "percent_off", "percent_off": 100,
                    "threshold": {"amount": 0, "currency": "CNY"}},
                "validity": {"kind": "days_after_claim", "days": 3},
                "total_stock": null, "per_user_limit": 1, "channel": "self", "enabled": true
            })),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "VALIDATION_FAILED");
    assert!(
        body["details"]["fields"]["terms.percent_off"].is_array(),
        "{body}"
    );
    let single = shop.template(100, 0, "self", Some(1)).await;
    shop.claim(&buyer, &single).await;
    let (status, body) = shop
        .as_buyer(
            &other,
            Method::POST,
            "/coupons/claim",
            Some(json!({"template_id": single})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("COUPON_SOLD_OUT"))
    );
}

#[actix_web::test]
async fn staff_issue_coupons_new_users_get_theirs_once_and_permissions_hold() {
    let shop = Shop::open().await;
    let welcome = shop.template(200, 0, "new_user", None).await;
    let newcomer = shop.app.app_login_ok(Some("openid-newcomer")).await;
    let token = newcomer["token"].as_str().unwrap().to_owned();
    let user_id = newcomer["user"]["id"].as_str().unwrap().to_owned();
    let buyer = Buyer { token, user_id };
    // A second sign-in gives nothing more.
    shop.app.app_login_ok(Some("openid-newcomer")).await;
    let (_, mine) = shop.as_buyer(&buyer, Method::GET, "/coupons", None).await;
    assert_eq!(mine["total"], 1, "{mine}");
    assert_eq!(mine["items"][0]["template_id"], welcome.as_str());

    let staff_only = shop.template(100, 0, "staff", Some(1)).await;
    let other = shop.buyer().await;
    let (status, report) = shop
        .admin(
            Method::POST,
            &format!("/marketing/coupon-templates/{staff_only}/issue"),
            Some(json!({"user_ids": [buyer.user_id, other.user_id]})),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["issued"], 1);
    assert_eq!(report["refused"][0]["code"], "COUPON_SOLD_OUT");
    let (status, listed) = shop
        .admin(
            Method::GET,
            &format!("/marketing/coupons?template_id={staff_only}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["items"][0]["user_id"], buyer.user_id.as_str());
    // Staff templates are not in the coupon centre.
    let (_, claimable) = shop
        .as_buyer(&other, Method::GET, "/coupons/claimable", None)
        .await;
    assert_eq!(claimable, json!([]));

    // A viewer sees templates but cannot create or issue.
    let (_, _, viewer) = shop
        .app
        .staff_with(&shop.admin, "viewer", &["marketing:coupon-template:list"])
        .await;
    let (status, _) =
        status_and_body(shop.app.get("/marketing/coupon-templates", &viewer).await).await;
    assert_eq!(status, 200);
    let (status, body) = status_and_body(
        shop.app
            .post(
                &format!("/marketing/coupon-templates/{staff_only}/issue"),
                &viewer,
                json!({"user_ids": [other.user_id]}),
            )
            .await,
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (403, Some("FORBIDDEN")));

    // The edit is in the operation log with its before and after.
    let (status, logs) = shop
        .admin(
            Method::GET,
            "/logs/operations?target_type=coupon_template",
            None,
        )
        .await;
    assert_eq!(status, 200, "{logs}");
    assert!(
        logs["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|entry| entry["operation"] == "issue coupons"),
        "{logs}"
    );
}

impl Shop {
    /// Places a membership order for `plan_id`: the checkout answer.
    async fn buy_membership(&self, buyer: &Buyer, plan_id: &str) -> Value {
        let (status, checkout) = self
            .as_buyer(
                buyer,
                Method::POST,
                "/membership/orders",
                Some(json!({"plan_id": plan_id})),
            )
            .await;
        assert_eq!(status, 201, "{checkout}");
        checkout
    }

    /// Signs staff and the buyer in again after the clock moved past their tokens' lives.
    async fn sign_in_again(&mut self, buyer: &mut Buyer, openid: &str) {
        let pair = self.app.login_ok("admin", common::ADMIN_PASSWORD).await;
        self.admin = pair["access_token"].as_str().unwrap().to_owned();
        let login = self.app.app_login_ok(Some(openid)).await;
        buyer.token = login["token"].as_str().unwrap().to_owned();
    }

    async fn membership(&self, buyer: &Buyer) -> Value {
        let (status, overview) = self.as_buyer(buyer, Method::GET, "/membership", None).await;
        assert_eq!(status, 200, "{overview}");
        overview
    }
}

fn ts(value: &Value) -> topup_core::Timestamp {
    topup_core::Timestamp::parse(value.as_str().unwrap()).unwrap()
}

#[actix_web::test]
async fn a_membership_discounts_top_ups_extends_from_its_end_and_is_refunded_with_its_coupons() {
    use topup_core::Clock;
    let mut shop = Shop::open().await;
    let bundle_template = shop.template(100, 0, "staff", None).await;
    let (status, plan) = shop
        .admin(
            Method::POST,
            "/marketing/membership-plans",
            Some(json!({
                "name": "Gold", "duration_days": 30,
                "price": {"amount": 990, "currency": "CNY"},
                "discount_percent": 2,
                "bundle": [{"template_id": bundle_template, "count": 1}],
                "enabled": true, "sort": 1, "benefits": "2% off"
            })),
        )
        .await;
    assert_eq!(status, 201, "{plan}");
    let plan_id = plan["id"].as_str().unwrap().to_owned();
    let openid = "openid-member";
    let login = shop.app.app_login_ok(Some(openid)).await;
    let mut buyer = Buyer {
        token: login["token"].as_str().unwrap().to_owned(),
        user_id: login["user"]["id"].as_str().unwrap().to_owned(),
    };
    let overview = shop.membership(&buyer).await;
    assert_eq!(overview["plans"][0]["id"], plan_id.as_str());
    assert_eq!(overview["membership"], Value::Null);

    // Bought and paid through the WeChat Pay sandbox.
    let bought_at = shop.app.clock.now();
    let checkout = shop.buy_membership(&buyer, &plan_id).await;
    assert_eq!(checkout["order"]["state"], "awaiting_payment");
    let first_order = checkout["order"]["id"].as_str().unwrap().to_owned();
    shop.pay(&checkout).await;
    let (_, order) = shop
        .as_buyer(
            &buyer,
            Method::GET,
            &format!("/membership/orders/{first_order}"),
            None,
        )
        .await;
    assert_eq!(
        (order["state"].as_str(), order["granted"].as_bool()),
        (Some("paid"), Some(true)),
        "{order}"
    );
    let first_end = bought_at.plus(chrono::TimeDelta::days(30));
    assert_eq!(ts(&order["granted_until"]), first_end);
    let status = shop.membership(&buyer).await["membership"].clone();
    assert_eq!(
        (
            status["active"].as_bool(),
            status["discount_percent"].as_u64()
        ),
        (Some(true), Some(2))
    );
    let (_, coupons) = shop.as_buyer(&buyer, Method::GET, "/coupons", None).await;
    assert_eq!(coupons["total"], 1, "the first bundle: {coupons}");
    let bundle_coupon = coupons["items"][0]["id"].as_str().unwrap().to_owned();

    // Pricing order: base, membership (2%, rounded down), then the coupon on what is left.
    let phone = "+639171234500";
    let (top_up_plan, base) = shop.plan_for(phone).await;
    let member_off = base * 2 / 100;
    let (status, quote) = shop
        .as_buyer(
            &buyer,
            Method::GET,
            &format!("/checkout/quote?plan_id={top_up_plan}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{quote}");
    assert_eq!(quote["price_lines"][1]["kind"], "membership");
    assert_eq!(quote["price_lines"][1]["amount"]["amount"], -member_off);
    assert_eq!(quote["base"]["amount"], base - member_off);
    assert_eq!(quote["total"]["amount"], base - member_off - 100);
    let (status, placed) = shop
        .checkout(&buyer, &top_up_plan, phone, &bundle_coupon)
        .await;
    assert_eq!(status, 201, "{placed}");
    let kinds: Vec<&str> = placed["order"]["price_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["base", "membership", "coupon"]);
    assert_eq!(placed["order"]["total"]["amount"], base - member_off - 100);
    shop.pay(&placed).await;
    shop.work().await;
    let order_no = placed["order"]["order_no"].as_str().unwrap();
    assert_eq!(shop.order(order_no).await["state"], "succeeded");

    // Ten days later a second card extends from the end, not from today.
    shop.app.clock.advance(chrono::TimeDelta::days(10));
    shop.sign_in_again(&mut buyer, openid).await;
    let checkout = shop.buy_membership(&buyer, &plan_id).await;
    let second_order = checkout["order"]["id"].as_str().unwrap().to_owned();
    shop.pay(&checkout).await;
    let membership = shop.membership(&buyer).await["membership"].clone();
    assert_eq!(
        ts(&membership["ends_at"]),
        first_end.plus(chrono::TimeDelta::days(30))
    );

    // The monthly bundle arrives once when due.
    shop.app.clock.advance(chrono::TimeDelta::days(21));
    shop.sign_in_again(&mut buyer, openid).await;
    let holders = topup_app::adapters::OrderLockHolders(shop.app.kit().service.clone());
    shop.app.marketing.sweep(&holders).await.unwrap();
    shop.app.marketing.sweep(&holders).await.unwrap();
    let (_, coupons) = shop
        .as_buyer(&buyer, Method::GET, "/coupons?state=unused", None)
        .await;
    assert_eq!(
        coupons["total"], 2,
        "the second order's bundle and the monthly one: {coupons}"
    );

    // Staff refund the second card: its days and its unused bundle coupon are taken back.
    let (status, refunded) = shop
        .admin(
            Method::POST,
            &format!("/marketing/membership-orders/{second_order}/refund"),
            Some(json!({"reason": "bought twice"})),
        )
        .await;
    assert_eq!(status, 200, "{refunded}");
    assert_eq!(refunded["state"], "refunding");
    assert_eq!(refunded["refund"]["withdrawn_coupons"], 1);
    // Asked again before WeChat settled it (say the first answer was lost): the same refund
    // is asked for again, nothing taken back twice.
    let (status, again) = shop
        .admin(
            Method::POST,
            &format!("/marketing/membership-orders/{second_order}/refund"),
            Some(json!({"reason": "bought twice"})),
        )
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        again["refund"]["out_refund_no"],
        refunded["refund"]["out_refund_no"]
    );
    assert_eq!(again["refund"]["withdrawn_coupons"], 1);
    // The first card's 30 days are over by now: nothing is left, it ends now.
    let membership = shop.membership(&buyer).await["membership"].clone();
    assert!(shop.app.clock.now() > first_end);
    assert_eq!(ts(&membership["ends_at"]), shop.app.clock.now());
    assert_eq!(membership["active"], false);
    shop.settle_refunds().await;
    let (_, orders) = shop
        .admin(
            Method::GET,
            "/marketing/membership-orders?state=refunded",
            None,
        )
        .await;
    assert_eq!(orders["total"], 1, "{orders}");
    assert_eq!(orders["items"][0]["id"], second_order.as_str());
    let (status, again) = shop
        .admin(
            Method::POST,
            &format!("/marketing/membership-orders/{second_order}/refund"),
            Some(json!({"reason": "again"})),
        )
        .await;
    assert_eq!(
        (status, again["code"].as_str()),
        (409, Some("ORDER_STATE_CONFLICT"))
    );
    let (_, members) = shop
        .admin(Method::GET, "/marketing/members?active=true", None)
        .await;
    assert_eq!(members["total"], 0, "{members}");
    let (_, members) = shop.admin(Method::GET, "/marketing/members", None).await;
    assert_eq!(members["total"], 1, "{members}");
    assert_eq!(members["items"][0]["user_id"], buyer.user_id.as_str());
    // Without a membership the next quote has no membership line.
    let (_, quote) = shop
        .as_buyer(
            &buyer,
            Method::GET,
            &format!("/checkout/quote?plan_id={top_up_plan}"),
            None,
        )
        .await;
    assert_eq!(quote["price_lines"].as_array().unwrap().len(), 1, "{quote}");
}
