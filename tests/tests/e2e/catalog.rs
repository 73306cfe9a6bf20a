//! The app's catalog routes over real HTTP, with the Reloadly sandbox mounted beside the API
//! as in the embedded mode.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use topup_catalog::Catalog;
use topup_core::ErrorCode;
use topup_orders::PlanCatalog;

use topup_tests as common;

struct TestServer {
    // Keeps the server running.
    _app: common::TestApp,
    base: String,
    catalog: Catalog,
}

async fn start() -> TestServer {
    let app = common::start_with_catalog().await;
    let catalog = app.catalog.clone().unwrap();
    let report = catalog.sync("test").await.unwrap();
    assert!(report.ok, "{report:?}");
    TestServer {
        base: app.base.clone(),
        catalog,
        _app: app,
    }
}

async fn get(server: &TestServer, path: &str) -> (u16, Value) {
    let response = reqwest::get(format!("{}{path}", server.base))
        .await
        .unwrap();
    let status = response.status().as_u16();
    if status >= 400 {
        assert!(response.headers().get("x-request-id").is_some());
    }
    (status, response.json().await.unwrap())
}

async fn assert_error(server: &TestServer, path: &str, code: ErrorCode) {
    let (status, body) = get(server, path).await;
    assert_eq!(status, code.http_status(), "{path}: {body}");
    assert_eq!(body["code"], code.as_str(), "{path}: {body}");
    assert!(!body["message"].as_str().unwrap().is_empty());
    assert!(!body["request_id"].as_str().unwrap().is_empty());
}

#[actix_web::test]
async fn countries_plans_and_detection_for_the_mini_program() {
    let server = start().await;

    let (status, countries) = get(&server, "/api/v1/app/catalog/countries").await;
    assert_eq!(status, 200);
    assert_eq!(countries["total"], 12, "the sandbox's demo catalog");
    let ph = countries["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "PH")
        .unwrap();
    assert_eq!(ph["name_zh"], "菲律宾");
    assert_eq!(ph["currency"], "PHP");

    let (status, plans) = get(&server, "/api/v1/app/catalog/plans?country=ph&type=data").await;
    assert_eq!(status, 200);
    assert_eq!(plans["country"], "PH");
    let items = plans["items"].as_array().unwrap();
    assert_eq!(plans["total"], items.len());
    assert_eq!(items.len(), 7, "4 Globe and 3 Smart data plans");
    for plan in items {
        assert_eq!(plan["type"], "data");
        assert_eq!(plan["price"]["currency"], "CNY");
        assert!(
            plan["price"]["amount"].as_i64().unwrap() % 10 == 0,
            "10-fen step"
        );
        assert_eq!(plan["face_value"]["currency"], "PHP");
    }
    let operator = items[0]["operator"]["id"].as_str().unwrap().to_owned();
    let (status, one) = get(
        &server,
        &format!("/api/v1/app/catalog/plans?country=PH&operator={operator}"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        one["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["operator"]["id"] == operator)
    );

    let (status, detected) = get(&server, "/api/v1/app/catalog/detect?phone=%2B639171234567").await;
    assert_eq!(status, 200, "{detected}");
    assert_eq!(detected["detected"], true);
    assert_eq!(detected["phone"], "+639171234567");
    assert_eq!(detected["country"]["code"], "PH");
    assert_eq!(detected["operator"]["name"], "Globe Philippines");
    assert!(!detected["plans"].as_array().unwrap().is_empty());
    let (status, national) = get(
        &server,
        "/api/v1/app/catalog/detect?phone=09171234567&country=PH",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(national["operator"], detected["operator"]);

    // What checkout gets through the orders port.
    let port = topup_app::adapters::CatalogPlans(server.catalog.clone());
    let plan_id = items[0]["id"].as_str().unwrap();
    let checkout = port.checkout_plan(plan_id).await.unwrap().unwrap();
    assert_eq!(checkout.snapshot.plan_id, plan_id);
    assert_eq!(checkout.snapshot.provider_id, "sandbox");
    assert_eq!(checkout.retail.unwrap().amount, items[0]["price"]["amount"]);
    assert!(checkout.enabled);
    assert!(
        port.checkout_plan("01JDZ8Q7Y7E3K9V6S2M4T1R0PA")
            .await
            .unwrap()
            .is_none()
    );
    assert!(port.checkout_plan("not-an-id").await.unwrap().is_none());
    let phone = topup_core::Msisdn::parse("+639171234567", None).unwrap();
    let operators = port.detect_operators(&phone).await.unwrap();
    assert!(operators.contains(&detected["operator"]["id"].as_str().unwrap().to_owned()));
    // The brand's data line counts as the same operator for checkout.
    for plan in detected["plans"].as_array().unwrap() {
        assert!(operators.contains(&plan["operator"]["id"].as_str().unwrap().to_owned()));
    }

    assert_error(
        &server,
        "/api/v1/app/catalog/plans?country=XX",
        ErrorCode::InvalidCountry,
    )
    .await;
    assert_error(
        &server,
        "/api/v1/app/catalog/plans?country=FR",
        ErrorCode::InvalidCountry,
    )
    .await;
    assert_error(
        &server,
        "/api/v1/app/catalog/plans",
        ErrorCode::ValidationFailed,
    )
    .await;
    assert_error(
        &server,
        "/api/v1/app/catalog/plans?country=PH&type=voice",
        ErrorCode::ValidationFailed,
    )
    .await;
    assert_error(
        &server,
        "/api/v1/app/catalog/detect?phone=12345",
        ErrorCode::InvalidPhone,
    )
    .await;
    assert_error(
        &server,
        "/api/v1/app/catalog/detect?phone=09171234567&country=XX",
        ErrorCode::InvalidCountry,
    )
    .await;
    assert_error(
        &server,
        "/api/v1/app/catalog/detect?phone=%2B33612345678",
        ErrorCode::InvalidCountry,
    )
    .await;
    assert_error(
        &server,
        "/api/v1/app/catalog/detect",
        // A missing parameter names itself.
        ErrorCode::ValidationFailed,
    )
    .await;
}
