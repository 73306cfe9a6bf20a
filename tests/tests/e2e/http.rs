#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use actix_web::web;
use serde::Deserialize;
use serde_json::{Value, json};
use topup_api::ApiError;
use topup_api::extract::{Json, Paging, Query};
use topup_core::ErrorCode;
use topup_tests as common;

struct TestServer {
    base: String,
    app: common::TestApp,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Echo {
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Filter {
    #[allow(dead_code)]
    min: Option<u32>,
}

/// Routes that exist only in this test, to exercise the shared extractor configuration.
fn test_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/test/echo").route(
            web::post().to(|body: Json<Echo>| async move { Json(json!({"name": body.name})) }),
        ),
    )
    .service(web::resource("/test/query").route(
        web::get().to(|paging: Paging, _q: Query<Filter>| async move {
            Json(json!({"page": paging.page}))
        }),
    ))
    .service(
        web::resource("/test/items/{n}")
            .route(web::get().to(|_n: web::Path<u32>| async move { Json(json!({})) })),
    )
    .service(web::resource("/test/boom").route(web::get().to(|| async {
        Err::<Json<Value>, _>(ApiError::internal("database password is hunter2"))
    })));
}

async fn start() -> TestServer {
    let app = common::spawn_app(common::TestOptions {
        mounts: vec![Arc::new(test_routes)],
        max_json_bytes: 1024,
        ..common::TestOptions::default()
    })
    .await;
    TestServer {
        base: app.base.clone(),
        app,
    }
}

async fn assert_envelope(response: reqwest::Response, status: u16, code: ErrorCode) -> Value {
    assert_eq!(response.status().as_u16(), status);
    let header_id = response
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], code.as_str(), "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert_eq!(body["request_id"], header_id, "{body}");
    body
}

#[actix_web::test]
async fn health_and_readiness() {
    let server = start().await;
    let health: Value = reqwest::get(format!("{}/healthz", server.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    let ready = reqwest::get(format!("{}/readyz", server.base))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["store"], server.app.store.kind());
}

#[actix_web::test]
async fn unknown_route_and_wrong_method_answer_the_envelope() {
    let server = start().await;
    let client = reqwest::Client::new();
    let body = assert_envelope(
        client
            .get(format!("{}/api/v1/nope", server.base))
            .send()
            .await
            .unwrap(),
        404,
        ErrorCode::RouteNotFound,
    )
    .await;
    assert!(body["message"].as_str().unwrap().contains("/api/v1/nope"));
    assert_envelope(
        client
            .post(format!("{}/healthz", server.base))
            .send()
            .await
            .unwrap(),
        405,
        ErrorCode::MethodNotAllowed,
    )
    .await;
}

#[actix_web::test]
async fn request_id_is_accepted_or_generated_and_echoed() {
    let server = start().await;
    let client = reqwest::Client::new();
    let given = client
        .get(format!("{}/api/v1/nope", server.base))
        .header("X-Request-Id", "trace-abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(given.headers()["x-request-id"], "trace-abc-123");
    let body: Value = given.json().await.unwrap();
    assert_eq!(body["request_id"], "trace-abc-123");
    // A hostile id is replaced by a generated one.
    let replaced = client
        .get(format!("{}/healthz", server.base))
        .header("X-Request-Id", "bad id\"with quotes")
        .send()
        .await
        .unwrap();
    let id = replaced.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 26, "a ULID: {id}");
}

#[actix_web::test]
async fn malformed_oversized_and_mistyped_bodies_are_refused() {
    let server = start().await;
    let client = reqwest::Client::new();
    let url = format!("{}/test/echo", server.base);
    let ok: Value = client
        .post(&url)
        .json(&serde_json::json!({"name": "x"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ok["name"], "x");
    assert_envelope(
        client
            .post(&url)
            .header("content-type", "application/json")
            .body("{\"name\": ")
            .send()
            .await
            .unwrap(),
        400,
        ErrorCode::MalformedJson,
    )
    .await;
    // A wrong type, a missing field and an unknown one name the field.
    for (body, field, reason) in [
        (json!({"name": 5}), "name", "invalid type"),
        (json!({}), "name", "required"),
        (json!({"name": "x", "nmae": "y"}), "nmae", "unknown field"),
    ] {
        let answer = assert_envelope(
            client.post(&url).json(&body).send().await.unwrap(),
            400,
            ErrorCode::ValidationFailed,
        )
        .await;
        let reasons = answer["details"]["fields"][field].as_array().unwrap();
        assert!(reasons[0].as_str().unwrap().contains(reason), "{answer}");
    }
    assert_envelope(
        client
            .post(&url)
            .json(&serde_json::json!({"name": "x".repeat(2000)}))
            .send()
            .await
            .unwrap(),
        413,
        ErrorCode::PayloadTooLarge,
    )
    .await;
    assert_envelope(
        client
            .post(&url)
            .header("content-type", "text/plain")
            .body("{\"name\":\"x\"}")
            .send()
            .await
            .unwrap(),
        415,
        ErrorCode::UnsupportedMediaType,
    )
    .await;
}

#[actix_web::test]
async fn bad_query_and_path_values_are_refused() {
    let server = start().await;
    let client = reqwest::Client::new();
    for (query, field) in [
        ("page=abc", "page"),
        ("page=-1", "page"),
        ("page_size=1000", "page_size"),
        ("min=ten", "min"),
        ("colour=red", "colour"),
    ] {
        let answer = assert_envelope(
            client
                .get(format!("{}/test/query?{query}", server.base))
                .send()
                .await
                .unwrap(),
            400,
            ErrorCode::ValidationFailed,
        )
        .await;
        assert!(
            answer["details"]["fields"][field].is_array(),
            "{query}: {answer}"
        );
    }
    let fine: Value = client
        .get(format!("{}/test/query?page=3&min=2", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fine["page"], 3);
    let answer = assert_envelope(
        client
            .get(format!("{}/test/items/not-a-number", server.base))
            .send()
            .await
            .unwrap(),
        400,
        ErrorCode::ValidationFailed,
    )
    .await;
    assert!(answer["details"]["fields"]["n"].is_array(), "{answer}");
}

#[actix_web::test]
async fn internal_errors_do_not_leak_their_cause() {
    let server = start().await;
    let response = reqwest::get(format!("{}/test/boom", server.base))
        .await
        .unwrap();
    let body = assert_envelope(response, 500, ErrorCode::Internal).await;
    assert!(!body.to_string().contains("hunter2"));
}

#[actix_web::test]
async fn metrics_count_requests_by_route_template_and_status() {
    let server = start().await;
    let client = reqwest::Client::new();
    for _ in 0..3 {
        client
            .get(format!("{}/healthz", server.base))
            .send()
            .await
            .unwrap();
    }
    client
        .get(format!("{}/test/items/7", server.base))
        .send()
        .await
        .unwrap();
    client
        .get(format!("{}/api/v1/nope/1", server.base))
        .send()
        .await
        .unwrap();
    let text = client
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(r#"topup_http_requests_total{method="GET",route="/healthz",status="200"} 3"#),
        "{text}"
    );
    assert!(
        text.contains(r#"route="/test/items/{n}",status="200""#),
        "{text}"
    );
    assert!(text.contains(r#"route="unmatched",status="404""#), "{text}");
    assert!(
        !text.contains(r#"route="/",status="404""#),
        "a front-end catch-all must not label unknown paths: {text}"
    );
    assert!(text.contains("topup_http_request_duration_seconds_bucket"));
}

#[actix_web::test]
async fn openapi_document_and_swagger_ui_are_served() {
    let server = start().await;
    let doc: Value = reqwest::get(format!("{}/openapi.json", server.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["paths"]["/healthz"]["get"].is_object());
    let ui = reqwest::get(format!("{}/docs/", server.base))
        .await
        .unwrap();
    assert_eq!(ui.status(), 200);
    assert!(ui.text().await.unwrap().contains("swagger"));
    let redirect = reqwest::get(format!("{}/docs", server.base)).await.unwrap();
    assert_eq!(redirect.status(), 200, "follows the redirect to /docs/");
}

/// Invented methods must not become metrics labels: 200 of them leave one `other` series
/// (`docs/security.md#metrics-labels`).
#[actix_web::test]
async fn invented_methods_do_not_grow_the_metrics() {
    let server = start().await;
    let client = reqwest::Client::new();
    for n in 0..200 {
        let method = reqwest::Method::from_bytes(format!("BREW{n}").as_bytes()).unwrap();
        client
            .request(method, format!("{}/healthz", server.base))
            .send()
            .await
            .unwrap();
    }
    let text = client
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!text.contains("BREW"), "{text}");
    assert!(text.contains(r#"method="other""#), "{text}");
    let series = text
        .lines()
        .filter(|line| line.starts_with("topup_http_requests_total{"))
        .count();
    assert!(series < 10, "{series} series: {text}");
}
