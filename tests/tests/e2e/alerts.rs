//! Staff alerts on WeChat through the official account, over real HTTP to the sandbox
//! (`docs/notifications.md#staff-alerts`): what staff configure in the settings applies at
//! once; a payment alert or an order held too long becomes one template message per staff
//! openid in the sandbox's inbox; running the worker again, or two processes at once, sends
//! nothing twice; a staff member who does not follow the account is recorded and not
//! retried; a busy WeChat is retried with backoff; an empty AppID sends nothing; the secret
//! never comes back.

use std::sync::Arc;

use chrono::TimeDelta;
use reqwest::Method;
use serde_json::{Value, json};
use topup_core::{Clock, Decimal, Secret, SharedClock};
use topup_notify::alerts::{StaffAlerts, TemplateSender};
use topup_sandbox::wechat_mp::STAFF_ALERT_TEMPLATE;
use topup_tests::{self as common, PLATFORM_KEY, TestApp, status_and_body};
use topup_wechat::{MiniProgramConfig, OfficialAccountClient};

const NOTIFY: &str = "/api/v1/pay/wechat/notify";

async fn admin(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    status_and_body(app.send(method, path, Some(token), body).await).await
}

fn official_account(groups: &Value) -> &Value {
    groups
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "official_account")
        .unwrap()
}

/// Saves `values` in the official account's settings group.
async fn set_alerts(app: &TestApp, token: &str, values: Value) -> (u16, Value) {
    let (status, groups) = admin(app, token, Method::GET, "/settings", None).await;
    assert_eq!(status, 200, "{groups}");
    let version = official_account(&groups)["version"].clone();
    admin(
        app,
        token,
        Method::PUT,
        "/settings/official_account",
        Some(json!({"version": version, "values": values})),
    )
    .await
}

/// A verified payment notification for a payment we never made: refused, and stored as a
/// payment alert (`unknown_payment`).
async fn raise_payment_alert(app: &TestApp, out_trade_no: &str) {
    let transaction = json!({
        "appid": common::WX_APP_ID, "mchid": common::MCHID, "out_trade_no": out_trade_no,
        "transaction_id": "4200000000000000000000000009", "trade_type": "JSAPI",
        "trade_state": "SUCCESS", "trade_state_desc": "支付成功", "bank_type": "OTHERS",
        "success_time": "2026-03-01T16:00:00+08:00", "payer": {"openid": "o_buyer"},
        "amount": {"total": 1000, "payer_total": 1000, "currency": "CNY", "payer_currency": "CNY"},
    });
    let (body, headers) = common::wechat_notification(
        "TRANSACTION.SUCCESS",
        "transaction",
        &transaction,
        PLATFORM_KEY,
        app.clock.now().unix_seconds(),
    );
    let mut request = app
        .client
        .post(format!("{}{NOTIFY}", app.base))
        .header("Content-Type", "application/json")
        .body(body);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 404, "an unknown payment is refused");
}

async fn alert_log(app: &TestApp, token: &str, query: &str) -> Value {
    let (status, page) = admin(
        app,
        token,
        Method::GET,
        &format!("/notify/alerts{query}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{page}");
    page
}

/// The sandbox's inbox of template messages, read over HTTP as a demo would.
async fn inbox(app: &TestApp, openid: &str) -> Vec<Value> {
    let answer: Value = app
        .client
        .get(format!("{}/sandbox/wechat/oa/messages", app.base))
        .query(&[("touser", openid)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["items"].as_array().unwrap().clone()
}

#[actix_web::test]
async fn a_payment_alert_reaches_each_staff_member_once_and_non_followers_are_recorded() {
    let app = common::start().await;
    let token = app.admin_token().await;
    // The embedded mode's official account is the sandbox's; staff name who gets alerts.
    let (status, saved) = set_alerts(
        &app,
        &token,
        json!({"alert_openids": "o_staff_1, o_staff_2\no_unfollowed_3"}),
    )
    .await;
    assert_eq!(status, 200, "{saved}");

    raise_payment_alert(&app, "T2026030100000001").await;
    app.alerts.run_until_idle().await.unwrap();

    for openid in ["o_staff_1", "o_staff_2"] {
        let messages = inbox(&app, openid).await;
        assert_eq!(messages.len(), 1, "{openid}: {messages:?}");
        let message = &messages[0];
        assert_eq!(message["template_id"], STAFF_ALERT_TEMPLATE);
        assert_eq!(message["data"]["thing1"]["value"], "未知支付");
        assert_eq!(
            message["data"]["character_string2"]["value"],
            "T2026030100000001"
        );
        assert_eq!(message["data"]["time3"]["value"], "2026-03-01 16:00");
        assert!(
            message["client_msg_id"]
                .as_str()
                .unwrap()
                .starts_with("alert-")
        );
    }
    assert!(inbox(&app, "o_unfollowed_3").await.is_empty());
    let sends = app.sandbox.template_sends();
    assert_eq!(sends, 3);

    // The log: two sent, one not delivered (43004), newest first, filterable by state.
    let page = alert_log(&app, &token, "").await;
    assert_eq!(page["total"], 3, "{page}");
    let not_delivered = alert_log(&app, &token, "?state=not_delivered").await;
    assert_eq!(not_delivered["total"], 1, "{not_delivered}");
    let row = &not_delivered["items"][0];
    assert_eq!(row["openid"], "o_unfollowed_3");
    assert_eq!(row["kind"], "payment");
    assert_eq!(row["errcode"], 43004);
    assert!(row["error"].as_str().unwrap().contains("follow"));
    let sent = alert_log(&app, &token, "?state=sent&kind=payment").await;
    assert_eq!(sent["total"], 2, "{sent}");
    assert!(sent["items"][0]["msgid"].is_u64());

    // Bad filters are refused with the field named.
    let (status, refused) =
        admin(&app, &token, Method::GET, "/notify/alerts?state=lost", None).await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["code"], "VALIDATION_FAILED");
    assert!(
        refused["details"]["fields"]["state"].is_array(),
        "{refused}"
    );

    // Running the worker again, later, sends nothing more (and 43004 is not retried).
    app.clock.advance(TimeDelta::hours(1));
    app.alerts.run_until_idle().await.unwrap();
    assert_eq!(app.sandbox.template_sends(), sends);
    assert_eq!(inbox(&app, "o_staff_1").await.len(), 1);
}

#[actix_web::test]
async fn two_processes_on_one_store_send_each_alert_once() {
    let app = common::start().await;
    let token = app.admin_token().await;
    let (status, saved) =
        set_alerts(&app, &token, json!({"alert_openids": "o_ops_a o_ops_b"})).await;
    assert_eq!(status, 200, "{saved}");
    // Another server process: its own alert worker on the same store and the same WeChat.
    let clock: SharedClock = Arc::new(app.clock.clone());
    let client = Arc::new(
        OfficialAccountClient::new(
            MiniProgramConfig::new(
                topup_app::SANDBOX_OFFICIAL_ACCOUNT_APP_ID,
                Secret::new(topup_app::SANDBOX_OFFICIAL_ACCOUNT_SECRET.to_owned()),
                format!("{}/sandbox/wechat", app.base),
            ),
            clock.clone(),
        )
        .unwrap(),
    );
    struct NoAlerts;
    #[async_trait::async_trait]
    impl topup_notify::alerts::AlertSource for NoAlerts {
        async fn alerts_since(
            &self,
            _since: topup_core::Timestamp,
            _limit: u64,
        ) -> Result<Vec<topup_notify::alerts::StaffAlert>, String> {
            Ok(Vec::new())
        }
    }
    let other = StaffAlerts::new(
        &app.store,
        clock,
        client as Arc<dyn TemplateSender>,
        Arc::new(NoAlerts),
    );
    other.set_settings(app.alerts.settings());

    for n in 0..3 {
        raise_payment_alert(&app, &format!("T20260301000001{n}")).await;
    }
    app.alerts.scan().await.unwrap();
    // Both send at once what is due.
    let (mine, theirs) = tokio::join!(app.alerts.send_due(), other.send_due());
    let taken = mine.unwrap() + theirs.unwrap();
    assert_eq!(taken, 6, "each delivery taken by exactly one process");
    let (mine, theirs) = tokio::join!(app.alerts.run_until_idle(), other.run_until_idle());
    mine.unwrap();
    theirs.unwrap();
    for openid in ["o_ops_a", "o_ops_b"] {
        assert_eq!(inbox(&app, openid).await.len(), 3, "{openid}");
    }
    assert_eq!(app.sandbox.template_sends(), 6);
}

#[actix_web::test]
async fn a_long_hold_is_alerted_once_and_a_busy_wechat_is_retried_with_backoff() {
    let shop = crate::orders::Shop::open().await;
    let app = &shop.app;
    let (status, saved) = set_alerts(app, &shop.admin, json!({"alert_openids": "o_duty"})).await;
    assert_eq!(status, 200, "{saved}");
    // The provider's wallet is empty: the paid order is held for staff.
    app.kit().provider.set_balance(Decimal::ZERO);
    let (_, placed) = shop.bought("+639171234508").await;
    shop.work().await;
    let order_no = placed.order_no.clone();
    assert!(shop.order(&order_no).await["hold"].is_object());
    // Not yet an alert: the hold is young.
    app.alerts.run_until_idle().await.unwrap();
    assert!(inbox(app, "o_duty").await.is_empty());

    app.clock.advance(TimeDelta::minutes(31));
    app.kit().engine.run_until_idle().await.unwrap();
    // WeChat is busy twice: the delivery waits 10 s, then 20 s, and goes out once.
    app.sandbox.fail_next_template_sends(&[-1, -1]);
    app.alerts.run_until_idle().await.unwrap();
    assert!(inbox(app, "o_duty").await.is_empty());
    let page = alert_log(app, &shop.admin, "?kind=held_order").await;
    assert_eq!(page["items"][0]["state"], "queued", "{page}");
    assert_eq!(page["items"][0]["errcode"], -1);
    app.clock.advance(TimeDelta::seconds(10));
    app.alerts.run_until_idle().await.unwrap();
    assert!(inbox(app, "o_duty").await.is_empty());
    app.clock.advance(TimeDelta::seconds(20));
    app.alerts.run_until_idle().await.unwrap();
    let messages = inbox(app, "o_duty").await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(
        messages[0]["data"]["character_string2"]["value"],
        order_no.as_str()
    );
    let page = alert_log(app, &shop.admin, "?kind=held_order").await;
    let row = &page["items"][0];
    assert_eq!(row["state"], "sent", "{row}");
    assert!(
        row["alert_id"]
            .as_str()
            .unwrap()
            .starts_with(&format!("hold:{order_no}:")),
        "{row}"
    );
    assert_eq!(row["attempts"].as_array().unwrap().len(), 3);

    // The order stays held: nothing more is sent, however often the workers run.
    app.clock.advance(TimeDelta::hours(2));
    app.kit().engine.run_until_idle().await.unwrap();
    app.alerts.run_until_idle().await.unwrap();
    assert_eq!(inbox(app, "o_duty").await.len(), 1);
}

#[actix_web::test]
async fn an_empty_app_id_sends_nothing_and_settings_apply_without_a_restart() {
    let app = common::start().await;
    let token = app.admin_token().await;
    // Off: the AppID emptied by staff.
    let (status, saved) = set_alerts(
        &app,
        &token,
        json!({"app_id": "", "alert_openids": "o_night"}),
    )
    .await;
    assert_eq!(status, 200, "{saved}");
    raise_payment_alert(&app, "T2026030100000099").await;
    app.alerts.run_until_idle().await.unwrap();
    assert_eq!(app.sandbox.template_sends(), 0);
    assert_eq!(alert_log(&app, &token, "").await["total"], 0);
    let (status, refused) = admin(&app, &token, Method::POST, "/notify/alerts/test", None).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["code"], "CONFLICT");

    // A wrong secret: the test alert reaches WeChat, which refuses the credentials; the
    // secret never comes back in any answer.
    let secret = "not-the-sandbox-secret-0123456789";
    let (status, saved) = set_alerts(
        &app,
        &token,
        json!({"app_id": topup_app::SANDBOX_OFFICIAL_ACCOUNT_APP_ID, "app_secret": secret}),
    )
    .await;
    assert_eq!(status, 200, "{saved}");
    assert!(!saved.to_string().contains(secret));
    let (_, groups) = admin(&app, &token, Method::GET, "/settings", None).await;
    assert!(!groups.to_string().contains(secret));
    let account = official_account(&groups);
    let secret_view = account["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "app_secret")
        .unwrap();
    assert_eq!(secret_view["value"], json!({"set": true}));
    let (status, tested) = admin(&app, &token, Method::POST, "/notify/alerts/test", None).await;
    assert_eq!(status, 200, "{tested}");
    assert_eq!(tested["items"][0]["state"], "queued", "{tested}");
    assert_eq!(tested["items"][0]["errcode"], 40125);
    let (_, logs) = admin(
        &app,
        &token,
        Method::GET,
        "/logs/operations?page_size=50",
        None,
    )
    .await;
    assert!(!logs.to_string().contains(secret));

    // The right secret back (null: the configured one): the next test alert arrives, and the
    // queued one goes out on its retry, once.
    let (status, _) = set_alerts(&app, &token, json!({"app_secret": null})).await;
    assert_eq!(status, 200);
    let (status, tested) = admin(&app, &token, Method::POST, "/notify/alerts/test", None).await;
    assert_eq!(status, 200, "{tested}");
    assert_eq!(tested["items"][0]["state"], "sent", "{tested}");
    assert_eq!(
        tested["items"][0]["data"]["thing1"],
        "告警测试 (alert test)"
    );
    app.clock.advance(TimeDelta::seconds(10));
    app.alerts.run_until_idle().await.unwrap();
    assert_eq!(inbox(&app, "o_night").await.len(), 2);

    // The payment alert raised while alerts were off is not sent later.
    assert_eq!(alert_log(&app, &token, "?kind=payment").await["total"], 0);
}

#[actix_web::test]
async fn bad_settings_are_refused_naming_each_key_and_the_routes_need_their_permissions() {
    let app = common::start().await;
    let token = app.admin_token().await;
    let (status, refused) = set_alerts(
        &app,
        &token,
        json!({"alert_openids": "o_ok, not an;openid", "alert_template_id": ""}),
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["code"], "VALIDATION_FAILED");
    let fields = &refused["details"]["fields"];
    assert!(
        fields["values.alert_openids"][0]
            .as_str()
            .unwrap()
            .contains("an;openid"),
        "{refused}"
    );
    assert!(fields["values.alert_template_id"].is_array(), "{refused}");
    let many: Vec<String> = (0..21).map(|i| format!("o_{i}")).collect();
    let (status, refused) =
        set_alerts(&app, &token, json!({"alert_openids": many.join(" ")})).await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["details"]["fields"]["values.alert_openids"].is_array(),
        "{refused}"
    );

    // Default deny: the log and the test need their own permissions.
    let (_, _, viewer) = app
        .staff_with(&token, "viewer", &["notify:alert:list"])
        .await;
    let (status, _) = admin(&app, &viewer, Method::GET, "/notify/alerts", None).await;
    assert_eq!(status, 200);
    let (status, denied) = admin(&app, &viewer, Method::POST, "/notify/alerts/test", None).await;
    assert_eq!(status, 403, "{denied}");
    let (_, _, other) = app
        .staff_with(&token, "other", &["notify:delivery:list"])
        .await;
    let (status, _) = admin(&app, &other, Method::GET, "/notify/alerts", None).await;
    assert_eq!(status, 403);
}
