//! Settings: a change applies to the next checkout without a restart, here at once and on
//! another process at its next check; secrets set through the API never come back in any
//! answer or log; bad values are refused naming the key; the site's settings are public.
//! The harness builds its configuration directly, like a deployment whose configuration
//! file and environment set none of these keys (so none is fixed).

use chrono::TimeDelta;
use reqwest::Method;
use serde_json::{Value, json};
use topup_core::{Clock, Timestamp};
use topup_tests::{self as common, Existing, TestApp, TestOptions, status_and_body};

use crate::orders::Shop;

async fn admin(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    status_and_body(app.send(method, path, Some(token), body).await).await
}

fn group<'a>(groups: &'a Value, name: &str) -> &'a Value {
    groups
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == name)
        .unwrap()
}

fn setting<'a>(group: &'a Value, key: &str) -> &'a Value {
    group["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == key)
        .unwrap()
}

/// Minutes from checkout to the order's payment deadline.
async fn pay_window(shop: &Shop, app: &TestApp, phone: &str) -> i64 {
    let buyer = shop.buyer().await;
    let plan = shop.plan_for(phone, false).await;
    let response = app
        .client
        .post(format!("{}/api/v1/app/orders", app.base))
        .bearer_auth(&buyer.token)
        .json(&json!({"plan_id": plan["id"], "phone": phone}))
        .send()
        .await
        .unwrap();
    let (status, placed) = status_and_body(response).await;
    assert_eq!(status, 201, "{placed}");
    let deadline = Timestamp::parse(placed["order"]["pay_deadline"].as_str().unwrap()).unwrap();
    deadline.since(app.clock.now()).num_minutes()
}

#[actix_web::test]
async fn the_payment_timeout_applies_to_the_next_checkout_on_every_process_without_a_restart() {
    let shop = Shop::open().await;
    let app = &shop.app;
    let other = common::spawn_app(TestOptions {
        existing: Some(Existing {
            store: app.store.clone(),
            data_dir: app.data_dir.clone(),
        }),
        start: app.clock.now(),
        ..TestOptions::default()
    })
    .await;
    assert_eq!(pay_window(&shop, app, "+639171234500").await, 15);

    let (status, groups) = admin(app, &shop.admin, Method::GET, "/settings", None).await;
    assert_eq!(status, 200, "{groups}");
    let orders = group(&groups, "orders");
    assert_eq!(orders["version"], 0);
    assert_eq!(setting(orders, "pay_timeout_minutes")["value"], 15);
    let (status, saved) = admin(
        app,
        &shop.admin,
        Method::PUT,
        "/settings/orders",
        Some(json!({"version": 0, "values": {"pay_timeout_minutes": 5}})),
    )
    .await;
    assert_eq!(status, 200, "{saved}");
    let timeout = setting(&saved, "pay_timeout_minutes");
    assert_eq!(
        (
            timeout["value"].as_i64(),
            timeout["configured"].as_i64(),
            timeout["overridden"].as_bool()
        ),
        (Some(5), Some(15), Some(true))
    );

    // Here: the next checkout.
    assert_eq!(pay_window(&shop, app, "+639171234501").await, 5);
    // The other process: at its next check (every two seconds when serving).
    assert!(other.settings.refresh_if_stale().await.unwrap());
    other.clock.set(app.clock.now());
    assert_eq!(pay_window(&shop, &other, "+639171234502").await, 5);

    // Back to the configuration's value.
    let (status, _) = admin(
        app,
        &shop.admin,
        Method::PUT,
        "/settings/orders",
        Some(json!({"version": 1, "values": {"pay_timeout_minutes": null}})),
    )
    .await;
    assert_eq!(status, 200);
    app.clock.advance(TimeDelta::minutes(1));
    assert_eq!(pay_window(&shop, app, "+639171234503").await, 15);
}

#[actix_web::test]
async fn a_secret_set_through_the_api_never_comes_back() {
    let shop = Shop::open().await;
    let app = &shop.app;
    let secret = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
    let (status, saved) = admin(
        app,
        &shop.admin,
        Method::PUT,
        "/settings/mini_program",
        Some(
            json!({"version": 0, "values": {"app_secret": secret, "app_id": "wx1234567890abcdef"}}),
        ),
    )
    .await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(setting(&saved, "app_secret")["value"], json!({"set": true}));
    assert_eq!(setting(&saved, "app_id")["value"], "wx1234567890abcdef");

    let (_, groups) = admin(app, &shop.admin, Method::GET, "/settings", None).await;
    let (_, operations) = admin(
        app,
        &shop.admin,
        Method::GET,
        "/logs/operations?page_size=100",
        None,
    )
    .await;
    let (_, access) = admin(
        app,
        &shop.admin,
        Method::GET,
        "/logs/access?page_size=100",
        None,
    )
    .await;
    let export = app
        .client
        .get(app.url("/orders/export"))
        .bearer_auth(&shop.admin)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let logged = operations["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["operation"] == "update settings")
        .unwrap();
    assert!(
        logged["after"].to_string().contains("\"set\":true"),
        "{logged}"
    );
    for (what, text) in [
        ("answer", saved.to_string()),
        ("settings", groups.to_string()),
        ("operation log", operations.to_string()),
        ("access log", access.to_string()),
        ("export", export),
    ] {
        assert!(!text.contains(secret), "the secret is in the {what}");
    }
    // Nor in the stored document: sealed.
    let stored = app
        .store
        .collection::<RawSettings>()
        .get("mini_program")
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.0.to_string().contains(secret));
}

#[derive(serde::Serialize, serde::Deserialize)]
struct RawSettings(Value);

impl topup_store::Document for RawSettings {
    const COLLECTION: &'static str = "settings";
}

/// Saves `values` into a group never saved before (version 0).
async fn put_first(app: &TestApp, token: &str, group: &str, values: Value) -> (u16, Value) {
    let body = json!({"version": 0, "values": values});
    admin(
        app,
        token,
        Method::PUT,
        &format!("/settings/{group}"),
        Some(body),
    )
    .await
}

#[actix_web::test]
async fn bad_values_are_refused_naming_the_key_and_the_site_is_public() {
    let shop = Shop::open().await;
    let app = &shop.app;
    let put = |group: &'static str, values: Value| put_first(app, &shop.admin, group, values);
    for (group, values, field) in [
        (
            "orders",
            json!({"pay_timeout_minutes": 0}),
            "values.pay_timeout_minutes",
        ),
        (
            "orders",
            json!({"pay_timeout_minutes": "5"}),
            "values.pay_timeout_minutes",
        ),
        ("orders", json!({"surprise": 1}), "values.surprise"),
        (
            "site",
            json!({"theme_colour": "green"}),
            "values.theme_colour",
        ),
        (
            "site",
            json!({"logo_url": "javascript:alert(1)"}),
            "values.logo_url",
        ),
    ] {
        let (status, body) = put(group, values).await;
        assert_eq!(status, 400, "{body}");
        assert!(
            body["details"]["fields"][field].is_array(),
            "{field}: {body}"
        );
    }
    let (status, _) = put("nope", json!({})).await;
    assert_eq!(status, 404);
    let (_, groups) = admin(app, &shop.admin, Method::GET, "/settings", None).await;
    assert!(
        groups.as_array().unwrap().iter().all(|g| g["version"] == 0),
        "nothing saved: {groups}"
    );

    let site = || async {
        status_and_body(
            app.client
                .get(format!("{}/api/v1/site", app.base))
                .send()
                .await
                .unwrap(),
        )
        .await
    };
    assert_eq!(
        site().await,
        (
            200,
            json!({"name": "Topup", "logo_url": "", "theme_colour": "#07c160"})
        )
    );
    let (status, _) = put(
        "site",
        json!({"name": "环球充值", "theme_colour": "#1677FF"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        site().await.1,
        json!({"name": "环球充值", "logo_url": "", "theme_colour": "#1677ff"})
    );
    let (status, stale) = put("site", json!({"name": "Other"})).await;
    assert_eq!((status, stale["code"].as_str()), (409, Some("CONFLICT")));

    let (_, _, viewer) = app
        .staff_with(&shop.admin, "viewer", &["system:setting:view"])
        .await;
    let (status, _) = admin(app, &viewer, Method::GET, "/settings", None).await;
    assert_eq!(status, 200);
    let (status, _) = admin(
        app,
        &viewer,
        Method::PUT,
        "/settings/site",
        Some(json!({"version": 1, "values": {"name": "x"}})),
    )
    .await;
    assert_eq!(status, 403);
}

#[actix_web::test]
async fn a_number_whose_top_ups_keep_failing_is_blacklisted_by_the_rule_staff_set() {
    let shop = Shop::open().await;
    let app = &shop.app;
    // Beside it, the provider's credentials: the embedded mode's sandbox account, fixed, its
    // secret shown only as set.
    let (_, groups) = admin(app, &shop.admin, Method::GET, "/settings", None).await;
    let providers = group(&groups, "providers");
    let client_id = setting(providers, "sandbox.client_id");
    assert_eq!(client_id["fixed_by"], "embedded", "{providers}");
    assert_eq!(client_id["value"], "sandbox-client-id");
    let secret = setting(providers, "sandbox.client_secret");
    assert_eq!(secret["value"], json!({"set": true}), "{providers}");
    assert!(!groups.to_string().contains("sandbox-client-secret"));
    assert_eq!(
        setting(group(&groups, "blacklist"), "failed_topups_to_block")["value"],
        0
    );
    let (status, body) = put_first(
        app,
        &shop.admin,
        "blacklist",
        json!({"failed_topups_to_block": 2, "auto_block_days": 7}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // The sandbox provider declines numbers ending in 2: each order is refunded in full.
    let phone = "+639171234502";
    let blocked = || async {
        let (status, list) = shop
            .admin(Method::GET, "/blacklist?kind=phone&active=true", None)
            .await;
        assert_eq!(status, 200, "{list}");
        list["items"].as_array().unwrap().clone()
    };
    for round in 1..=2 {
        let (_, placed) = shop.bought(phone).await;
        shop.work().await;
        shop.settle_refunds().await;
        shop.work().await;
        let order = shop.order(&placed.order_no).await;
        assert_eq!(order["state"], "refunded", "{order}");
        let entries = blocked().await;
        if round == 1 {
            assert!(entries.is_empty(), "one failure is not enough: {entries:?}");
        } else {
            assert_eq!(entries.len(), 1, "{entries:?}");
            let entry = &entries[0];
            assert_eq!(entry["value"], phone);
            assert_eq!(entry["created_by_username"], "system");
            assert!(
                entry["reason"]
                    .as_str()
                    .unwrap()
                    .contains("2 failed top-ups"),
                "{entry}"
            );
            let until = Timestamp::parse(entry["expires_at"].as_str().unwrap()).unwrap();
            assert_eq!(until.since(app.clock.now()).num_days(), 7);
        }
    }
    // Nobody pays for a top-up to it any more.
    let buyer = shop.buyer().await;
    let plan = shop.plan_for(phone, false).await;
    let (status, refused) = shop
        .checkout(&buyer, json!({"plan_id": plan["id"], "phone": phone}), None)
        .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (403, Some("NUMBER_BLOCKED")),
        "{refused}"
    );
    // Staff turn the rule off: another failing number is left alone.
    let (_, groups) = admin(app, &shop.admin, Method::GET, "/settings", None).await;
    let version = group(&groups, "blacklist")["version"].clone();
    let (status, body) = admin(
        app,
        &shop.admin,
        Method::PUT,
        "/settings/blacklist",
        Some(json!({"version": version, "values": {"failed_topups_to_block": 0}})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let other = "+639171234512";
    for _ in 0..2 {
        shop.bought(other).await;
        shop.work().await;
        shop.settle_refunds().await;
        shop.work().await;
    }
    assert_eq!(blocked().await.len(), 1);
}
