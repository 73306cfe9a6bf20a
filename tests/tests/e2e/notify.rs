//! WeChat subscribe messages end to end over real HTTP: the buyer accepts the prompt, pays,
//! and the order's events reach the mini-program sandbox's inbox once each; staff see the
//! templates, the delivery log and the counts, and nobody else does.

use topup_tests as common;

use common::{TestApp, status_and_body};
use reqwest::Method;
use serde_json::{Value, json};

struct Buyer {
    token: String,
    openid: String,
}

async fn buyer(app: &TestApp, openid: &str) -> Buyer {
    let login = app.app_login_ok(Some(openid)).await;
    Buyer {
        token: login["token"].as_str().unwrap().to_owned(),
        openid: openid.to_owned(),
    }
}

async fn as_buyer(
    app: &TestApp,
    buyer: &Buyer,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    status_and_body(app.app_send(method, path, Some(&buyer.token), body).await).await
}

/// The buyer taps "allow" on the prompt for `events` and the app reports it.
async fn accept(app: &TestApp, buyer: &Buyer, events: &[&str]) {
    let (status, templates) =
        as_buyer(app, buyer, Method::GET, "/subscriptions/templates", None).await;
    assert_eq!(status, 200, "{templates}");
    let ids: Vec<String> = templates["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| events.contains(&t["event"].as_str().unwrap()))
        .map(|t| t["template_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), events.len());
    app.sandbox.subscribe(&buyer.openid, &ids, true).unwrap();
    let (status, body) = as_buyer(
        app,
        buyer,
        Method::POST,
        "/subscriptions",
        Some(json!({"accepted": ids, "rejected": []})),
    )
    .await;
    assert_eq!(status, 204, "{body}");
}

/// Checks out the cheapest airtime plan for `phone` and pays at the sandbox: the order number.
async fn buy(app: &TestApp, buyer: &Buyer, phone: &str) -> String {
    let response = app
        .client
        .get(format!("{}/api/v1/app/catalog/detect", app.base))
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
        .unwrap()["id"]
        .clone();
    let (status, checkout) = as_buyer(
        app,
        buyer,
        Method::POST,
        "/orders",
        Some(json!({"plan_id": plan, "phone": phone})),
    )
    .await;
    assert_eq!(status, 201, "{checkout}");
    let prepay = checkout["pay_params"]["package"]
        .as_str()
        .unwrap()
        .strip_prefix("prepay_id=")
        .unwrap()
        .to_owned();
    let kit = app.kit();
    kit.pay_sandbox.confirm_payment(&prepay).unwrap();
    kit.pay_sandbox.deliver_due().await;
    checkout["order"]["order_no"].as_str().unwrap().to_owned()
}

/// Runs the order worker, settles refunds at the sandbox, and sends what was queued.
async fn work(app: &TestApp) {
    let kit = app.kit();
    kit.engine.run_until_idle().await.unwrap();
    app.clock.advance(chrono::TimeDelta::seconds(
        i64::try_from(common::REFUND_DELAY_SECS).unwrap() + 1,
    ));
    kit.pay_sandbox.deliver_due().await;
    kit.engine.run_until_idle().await.unwrap();
    app.notify.run_until_idle().await.unwrap();
}

fn inbox(app: &TestApp, buyer: &Buyer) -> Vec<(String, Value)> {
    app.sandbox
        .messages(Some(&buyer.openid))
        .into_iter()
        .map(|m| (m.template_id, m.data))
        .collect()
}

#[actix_web::test]
async fn a_delivered_top_up_sends_two_messages_and_a_declined_one_tells_of_the_refund() {
    let app = common::start_with_orders().await;
    let alice = buyer(&app, "o_notify_alice").await;
    accept(
        &app,
        &alice,
        &[
            "payment_succeeded",
            "recharge_succeeded",
            "recharge_failed_refunded",
        ],
    )
    .await;
    let order_no = buy(&app, &alice, "+639171234500").await;
    work(&app).await;
    work(&app).await;

    let messages = inbox(&app, &alice);
    let templates: Vec<&str> = messages.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        templates,
        ["sbx-payment-succeeded", "sbx-recharge-succeeded"],
        "exactly two"
    );
    for (_, data) in &messages {
        assert_eq!(data["character_string1"]["value"], order_no.as_str());
    }
    assert_eq!(messages[1].1["phrase5"]["value"], "已到账");
    assert_eq!(messages[1].1["phone_number3"]["value"], "+639171234500");
    assert!(
        messages[0].1["amount3"]["value"]
            .as_str()
            .unwrap()
            .starts_with('¥')
    );

    // A declined number: the recharge fails, the money goes back, and both are told.
    let bob = buyer(&app, "o_notify_bob").await;
    accept(
        &app,
        &bob,
        &["payment_succeeded", "recharge_failed_refunded"],
    )
    .await;
    accept(&app, &bob, &["refund_succeeded"]).await;
    let declined = buy(&app, &bob, "+639171234502").await;
    work(&app).await;
    work(&app).await;
    let messages = inbox(&app, &bob);
    let templates: Vec<&str> = messages.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        templates,
        [
            "sbx-payment-succeeded",
            "sbx-recharge-failed",
            "sbx-refund-succeeded"
        ]
    );
    assert_eq!(messages[1].1["phrase5"]["value"], "已退款");
    assert_eq!(
        messages[2].1["character_string1"]["value"],
        declined.as_str()
    );

    // Staff: the log and the counts. Bob never accepted the success template, Alice the
    // refund one: nothing was queued for events that did not happen.
    let admin = app.admin_token().await;
    let (status, log) = status_and_body(
        app.send(
            Method::GET,
            &format!("/notify/deliveries?order_no={declined}"),
            Some(&admin),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{log}");
    assert_eq!(log["total"], 3);
    assert_eq!(log["items"][2]["data"]["phone_number5"], "+639171234502");
    // Staff without the personal-data permission see the number masked.
    let (_, _, support) = app
        .staff_with(&admin, "support", &["notify:delivery:list"])
        .await;
    let (status, masked) = status_and_body(
        app.send(
            Method::GET,
            &format!("/notify/deliveries?order_no={declined}"),
            Some(&support),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{masked}");
    let number = masked["items"][2]["data"]["phone_number5"]
        .as_str()
        .unwrap();
    assert!(
        number.contains('*') && number != "+639171234502",
        "{number}"
    );
    assert!(
        log["items"][0].get("openid").is_none(),
        "the recipient stays private"
    );
    let (status, counts) = status_and_body(
        app.send(Method::GET, "/notify/counts", Some(&admin), None)
            .await,
    )
    .await;
    assert_eq!(status, 200, "{counts}");
    let sent: u64 = counts["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["sent"].as_u64().unwrap())
        .sum();
    assert_eq!(sent, 5);
}

#[actix_web::test]
async fn staff_set_templates_within_wechats_rules_and_only_with_the_permission() {
    let app = common::start_with_orders().await;
    let admin = app.admin_token().await;
    let (status, list) = status_and_body(
        app.send(Method::GET, "/notify/templates", Some(&admin), None)
            .await,
    )
    .await;
    assert_eq!(status, 200, "{list}");
    let events: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["event"].as_str().unwrap())
        .collect();
    assert_eq!(events.len(), 5);
    let recharge = list["items"][1].clone();
    assert_eq!(
        recharge["template"]["template_id"],
        "sbx-recharge-succeeded"
    );

    let mut body = recharge["template"].clone();
    body.as_object_mut().unwrap().remove("updated_at");
    body["fields"][4]["value"] = json!("done");
    let (status, refused) = status_and_body(
        app.send(
            Method::PUT,
            "/notify/templates/recharge_succeeded",
            Some(&admin),
            Some(body.clone()),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["code"], "VALIDATION_FAILED");
    assert!(
        refused["details"]["fields"]["fields[4].value"].is_array(),
        "{refused}"
    );

    body["fields"][4]["value"] = json!("已到账");
    let (status, preview) = status_and_body(
        app.send(
            Method::POST,
            "/notify/templates/recharge_succeeded/preview",
            Some(&admin),
            Some(body.clone()),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(
        preview["data"]["thing2"].as_str().unwrap().chars().count(),
        20
    );

    body["enabled"] = json!(false);
    let (status, saved) = status_and_body(
        app.send(
            Method::PUT,
            "/notify/templates/recharge_succeeded",
            Some(&admin),
            Some(body.clone()),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["enabled"], false);

    // A buyer is no longer asked about a template that is off, and cannot report it.
    let carol = buyer(&app, "o_notify_carol").await;
    let (_, templates) =
        as_buyer(&app, &carol, Method::GET, "/subscriptions/templates", None).await;
    assert!(
        templates["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["event"] != "recharge_succeeded")
    );
    let (status, refused) = as_buyer(
        &app,
        &carol,
        Method::POST,
        "/subscriptions",
        Some(json!({"accepted": ["sbx-recharge-succeeded"]})),
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["details"]["fields"]["accepted[0]"].is_array(),
        "{refused}"
    );

    // Staff without the permissions see nothing and change nothing.
    let (_, _, viewer) = app
        .staff_with(&admin, "notifier", &["order:order:list"])
        .await;
    for (method, path) in [
        (Method::GET, "/notify/templates"),
        (Method::GET, "/notify/deliveries"),
        (Method::GET, "/notify/counts"),
        (Method::POST, "/notify/deliveries/x/resend"),
    ] {
        let (status, _) = status_and_body(app.send(method, path, Some(&viewer), None).await).await;
        assert_eq!(status, 403, "{path}");
    }
    let (status, _) = status_and_body(
        app.send(
            Method::PUT,
            "/notify/templates/recharge_succeeded",
            Some(&viewer),
            Some(body),
        )
        .await,
    )
    .await;
    assert_eq!(status, 403);
}
