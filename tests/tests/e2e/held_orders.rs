//! A held order never strands the buyer's money, over real HTTP: the app shows it delayed,
//! the buyer can ask for the money back (granted at once when the provider confirms nothing
//! was delivered), staff can refund it, and a long hold is listed as an alert.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use topup_tests as common;

use chrono::TimeDelta;
use common::{TestApp, status_and_body};
use reqwest::Method;
use serde_json::{Value, json};
use topup_core::Decimal;

struct Held {
    app: TestApp,
    admin: String,
    buyer: String,
    order_no: String,
}

/// A number whose provider wallet is empty: paid, then held for staff.
async fn held(phone: &str) -> Held {
    let app = common::start_with_orders().await;
    let admin = app.admin_token().await;
    let login = app.app_login_ok(None).await;
    let buyer = login["token"].as_str().unwrap().to_owned();
    app.kit().provider.set_balance(Decimal::ZERO);
    let response = app
        .client
        .get(format!("{}/api/v1/app/catalog/detect", app.base))
        .query(&[("phone", phone)])
        .send()
        .await
        .unwrap();
    let (_, detected) = status_and_body(response).await;
    let operator = detected["operator"]["id"].clone();
    let plan = detected["plans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["operator"]["id"] == operator && p["type"] == "airtime")
        .unwrap()
        .clone();
    let (status, body) = status_and_body(
        app.app_send(
            Method::POST,
            "/orders",
            Some(&buyer),
            Some(json!({"plan_id": plan["id"], "phone": phone})),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let order_no = body["order"]["order_no"].as_str().unwrap().to_owned();
    let prepay = body["pay_params"]["package"]
        .as_str()
        .unwrap()
        .strip_prefix("prepay_id=")
        .unwrap()
        .to_owned();
    app.kit().pay_sandbox.confirm_payment(&prepay).unwrap();
    app.kit().pay_sandbox.deliver_due().await;
    app.kit().engine.run_until_idle().await.unwrap();
    Held {
        app,
        admin,
        buyer,
        order_no,
    }
}

impl Held {
    async fn mine(&self, method: Method, path: &str) -> (u16, Value) {
        status_and_body(
            self.app
                .app_send(method, path, Some(&self.buyer), None)
                .await,
        )
        .await
    }

    async fn staff(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        status_and_body(self.app.send(method, path, Some(&self.admin), body).await).await
    }
}

#[actix_web::test]
async fn the_buyer_sees_a_held_order_delayed_and_gets_the_money_back_on_request() {
    let h = held("+639171234508").await;
    let (status, order) = h
        .mine(Method::GET, &format!("/orders/{}", h.order_no))
        .await;
    assert_eq!(status, 200, "{order}");
    assert_eq!(order["state"], "recharging");
    assert_eq!(order["delay"]["code"], "provider_unavailable", "{order}");
    assert_eq!(order["delay"]["refundable"], true);
    assert!(
        order["delay"]["message"]
            .as_str()
            .unwrap()
            .contains("delayed")
    );

    let path = format!("/orders/{}/refund-request", h.order_no);
    let (status, granted) = h.mine(Method::POST, &path).await;
    assert_eq!(status, 200, "{granted}");
    assert_eq!(granted["state"], "refunding", "{granted}");
    assert!(granted["delay"].is_null());
    assert_eq!(granted["refunds"][0]["amount"], order["total"]);
    h.app.kit().engine.run_until_idle().await.unwrap();
    h.app.clock.advance(TimeDelta::seconds(
        i64::try_from(common::REFUND_DELAY_SECS).unwrap() + 1,
    ));
    h.app.kit().pay_sandbox.deliver_due().await;
    let (_, done) = h
        .mine(Method::GET, &format!("/orders/{}", h.order_no))
        .await;
    assert_eq!(done["state"], "refunded", "{done}");

    // Asking again: not a delayed order any more.
    let (status, again) = h.mine(Method::POST, &path).await;
    assert_eq!(status, 409, "{again}");
    assert_eq!(again["code"], "ORDER_STATE_CONFLICT");
}

#[actix_web::test]
async fn staff_refund_a_held_order_and_list_long_holds() {
    let h = held("+639171234508").await;
    let (_, alerted) = h
        .staff(Method::GET, "/orders?hold_alerted=true", None)
        .await;
    assert_eq!(alerted["total"], 0, "{alerted}");
    h.app.clock.advance(TimeDelta::minutes(31));
    h.app.kit().engine.run_until_idle().await.unwrap();
    let (status, alerted) = h
        .staff(Method::GET, "/orders?hold_alerted=true", None)
        .await;
    assert_eq!(status, 200, "{alerted}");
    assert_eq!(alerted["total"], 1, "{alerted}");
    assert_eq!(alerted["items"][0]["order_no"], h.order_no.as_str());

    let (status, refunded) = h
        .staff(
            Method::POST,
            &format!("/orders/{}/refund", h.order_no),
            Some(json!({"reason": "provider wallet empty"})),
        )
        .await;
    assert_eq!(status, 200, "{refunded}");
    assert_eq!(refunded["state"], "refunding", "{refunded}");
    // The user's request after staff acted is a conflict, not a second refund.
    let (status, body) = h
        .mine(
            Method::POST,
            &format!("/orders/{}/refund-request", h.order_no),
        )
        .await;
    assert_eq!(status, 409, "{body}");
}

#[actix_web::test]
async fn a_refund_request_for_an_order_that_is_not_delayed_is_409() {
    let h = held("+639171234508").await;
    h.app.kit().provider.set_balance(Decimal::new(1_000, 0));
    let (status, _) = h
        .staff(Method::POST, &format!("/orders/{}/retry", h.order_no), None)
        .await;
    assert_eq!(status, 200);
    h.app.kit().engine.run_until_idle().await.unwrap();
    let (status, body) = h
        .mine(
            Method::POST,
            &format!("/orders/{}/refund-request", h.order_no),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "ORDER_STATE_CONFLICT");
}
