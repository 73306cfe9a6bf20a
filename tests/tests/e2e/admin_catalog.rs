//! The staff catalog routes: permissions, sync, edits with the operation and price logs,
//! bulk enable/disable, pricing rules, custom plans.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use topup_tests as common;

use serde_json::{Value, json};

async fn body(response: reqwest::Response, status: u16) -> Value {
    let code = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(code, status, "{text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

#[actix_web::test]
async fn staff_sync_edit_pin_and_reprice_the_catalog() {
    let app = common::start_with_catalog().await;
    let admin = app.admin_token().await;
    let catalog = app.catalog.clone().unwrap();

    // Nothing on sale before the first sync.
    assert_eq!(catalog.snapshot().plan_count(), 0);
    let report = body(app.post("/catalog/sync", &admin, json!({})).await, 200).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["trigger"], "staff:admin");
    assert_eq!(report["providers"][0]["countries"]["added"], 12);
    let reports = body(app.get("/catalog/sync-reports", &admin).await, 200).await;
    assert_eq!(reports["total"], 1);
    let id = report["id"].as_str().unwrap();
    body(
        app.get(&format!("/catalog/sync-reports/{id}"), &admin)
            .await,
        200,
    )
    .await;

    let countries = body(app.get("/catalog/countries?q=phil", &admin).await, 200).await;
    assert_eq!(countries["total"], 1);
    let ph = countries["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        countries["items"][0]["upstream"]["providers"],
        json!(["sandbox"])
    );
    let renamed = body(
        app.put(
            &format!("/catalog/countries/{ph}"),
            &admin,
            json!({"name_zh": "菲律宾群岛", "sort": -5}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(renamed["staff"]["name_zh"], "菲律宾群岛");
    assert_eq!(
        catalog
            .snapshot()
            .country(renamed["code"].as_str().unwrap().parse().unwrap())
            .unwrap()
            .name_zh,
        "菲律宾群岛"
    );

    let data = body(
        app.get("/catalog/plans?country=PH&type=data&page_size=100", &admin)
            .await,
        200,
    )
    .await;
    assert_eq!(data["total"], 7);
    let plan = data["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["sku"] == "0.87")
        .unwrap()
        .clone();
    let plan_id = plan["id"].as_str().unwrap().to_owned();
    assert_eq!(
        plan["price"]["retail"],
        json!({"amount": 670, "currency": "CNY"})
    );
    let pinned = body(
        app.put(
            &format!("/catalog/plans/{plan_id}"),
            &admin,
            json!({"title_en": "Globe 2GB", "tags": ["hot"], "pinned_price": {"amount": 990, "currency": "CNY"}}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(pinned["price"]["retail"]["amount"], 990);
    assert_eq!(pinned["price"]["source"], "pinned");
    let log = body(
        app.get(&format!("/catalog/price-changes?plan={plan_id}"), &admin)
            .await,
        200,
    )
    .await;
    assert_eq!(log["total"], 1);
    assert_eq!(log["items"][0]["actor"], "staff:admin");
    assert_eq!(log["items"][0]["old"]["amount"], 670);
    assert_eq!(log["items"][0]["new"]["amount"], 990);
    let bad = app
        .put(
            &format!("/catalog/plans/{plan_id}"),
            &admin,
            json!({"tags": ["Not OK!"]}),
        )
        .await;
    assert_eq!(body(bad, 400).await["code"], "VALIDATION_FAILED");

    // The operation log has the edit with before and after.
    let ops = body(app.get("/logs/operations?page_size=100", &admin).await, 200).await;
    let entry = ops["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["operation"] == "update plan" && o["after"].is_object())
        .unwrap();
    assert_eq!(entry["permission"], "catalog:plan:update");
    assert_eq!(entry["before"]["staff"]["pinned_price"], Value::Null);
    assert_eq!(entry["after"]["staff"]["pinned_price"]["amount"], 990);

    // Pricing rules: 8 % → 10 % with a 1-fen step reprices the rest.
    let rules = body(app.get("/catalog/pricing", &admin).await, 200).await;
    let updated = body(
        app.put(
            "/catalog/pricing",
            &admin,
            json!({"markup": "0.10", "step_fen": 1, "version": rules["version"]}),
        )
        .await,
        200,
    )
    .await;
    assert!(updated["repriced"].as_u64().unwrap() > 10);
    let stale = app
        .put(
            "/catalog/pricing",
            &admin,
            json!({"markup": "0.10", "step_fen": 1, "version": rules["version"]}),
        )
        .await;
    assert_eq!(body(stale, 409).await["code"], "CONFLICT");
    // Smart 1 USD airtime: 1 × 7.10 × 1.10 = 7.81.
    let smart = body(
        app.get(
            "/catalog/plans?country=PH&type=airtime&page_size=100",
            &admin,
        )
        .await,
        200,
    )
    .await;
    let smart_1 = smart["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["provider_operator_id"] == "174" && p["sku"] == "1")
        .unwrap();
    assert_eq!(smart_1["price"]["retail"]["amount"], 781);

    // Bulk disable and a custom plan on the Globe range operator.
    let smart_1_id = smart_1["id"].as_str().unwrap();
    let changed = body(
        app.post(
            "/catalog/plans/enabled",
            &admin,
            json!({"ids": [smart_1_id], "enabled": false}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(changed["changed"], 1);
    assert!(
        catalog
            .snapshot()
            .offer(&smart_1_id.parse().unwrap())
            .is_none()
    );
    let globe = body(
        app.get("/catalog/operators?country=PH&q=globe", &admin)
            .await,
        200,
    )
    .await;
    let globe_id = globe["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["provider_operator_id"] == "173")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let custom = body(
        app.post(
            "/catalog/plans",
            &admin,
            json!({"operator_id": globe_id, "amount": "3"}),
        )
        .await,
        201,
    )
    .await;
    // 3 × 7.10 × 1.10 = 23.43.
    assert_eq!(custom["price"]["retail"]["amount"], 2343);
    assert_eq!(custom["origin"], "manual");
    let custom_id = custom["id"].as_str().unwrap();
    let deleted = app
        .delete(&format!("/catalog/plans/{custom_id}"), &admin)
        .await;
    assert_eq!(deleted.status(), 204);
    let synced = app
        .delete(&format!("/catalog/plans/{plan_id}"), &admin)
        .await;
    assert_eq!(body(synced, 409).await["code"], "CONFLICT");
}

#[actix_web::test]
async fn catalog_routes_need_their_permissions() {
    let app = common::start_with_catalog().await;
    let admin = app.admin_token().await;
    let role = app
        .create_role(&admin, "catalog_viewer", &["catalog:plan:list"])
        .await;
    app.create_user(&admin, "viewer", &[&role]).await;
    let viewer = app.login_ok("viewer", common::STAFF_PASSWORD).await;
    let token = viewer["access_token"].as_str().unwrap();
    body(app.get("/catalog/plans", token).await, 200).await;
    let denied = app.post("/catalog/sync", token, json!({})).await;
    let denied = body(denied, 403).await;
    assert_eq!(denied["code"], "FORBIDDEN");
    assert_eq!(denied["details"]["permission"], "catalog:sync:run");
    body(app.get("/catalog/pricing", token).await, 403).await;
    let anonymous = app
        .send(reqwest::Method::GET, "/catalog/plans", None, None)
        .await;
    assert_eq!(anonymous.status(), 401);
}
