//! Integrators' API keys: created within the creator's permissions and shown once, accepted as
//! a bearer on permission routes only, bounded by expiry, addresses, rate and the creator,
//! revoked at once, logged.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use topup_tests as common;

use chrono::TimeDelta;
use common::{ADMIN_PASSWORD, eventually, start, status_and_body};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use topup_core::Clock;

/// Creates a key as `token`, failing the test unless it is created.
async fn create_key(app: &common::TestApp, token: &str, body: Value) -> Value {
    let (status, created) = status_and_body(app.post("/api-keys", token, body).await).await;
    assert_eq!(status, 201, "{created}");
    created
}

#[actix_web::test]
async fn a_key_acts_within_its_permissions_and_revoking_it_is_immediate() {
    let app = start().await;
    let admin = app.admin_token().await;
    let (ivy, _, ivy_token) = app
        .staff_with(
            &admin,
            "ivy",
            &[
                "system:apikey:create",
                "system:apikey:list",
                "system:apikey:revoke",
                "order:order:list",
                "system:user:list",
            ],
        )
        .await;

    // Nobody hands a key what they do not hold; a refused request creates nothing.
    let (status, refused) = status_and_body(
        app.post(
            "/api-keys",
            &ivy_token,
            json!({"name": "too much", "permissions": ["order:order:list", "system:role:list"]}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (403, Some("GRANT_EXCEEDED")),
        "{refused}"
    );
    assert_eq!(app.count("staff_api_keys").await, 0);

    let created = create_key(
        &app,
        &ivy_token,
        json!({"name": "warehouse export", "permissions": ["order:order:list"]}),
    )
    .await;
    let key = created["key"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(key.starts_with(&format!("tpk_{id}_")), "{key}");
    assert_eq!(created["prefix"], format!("tpk_{id}"));
    assert_eq!(created["state"], "active");
    assert_eq!(created["created_by"], ivy.as_str());
    assert_eq!(created["rate_per_minute"], 600);

    // Only the hash is stored, and no listing shows the key again.
    let stored = app
        .store
        .backend()
        .get("staff_api_keys", &id)
        .await
        .unwrap()
        .unwrap();
    let secret = key.rsplit('_').next().unwrap();
    assert!(!stored.to_string().contains(secret), "{stored}");
    let digest: String = Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(stored["secret_hash"], digest);
    let (status, listed) = status_and_body(app.get("/api-keys", &ivy_token).await).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["total"], 1);
    assert!(!listed.to_string().contains(secret));

    // The key works where its permission does, and nowhere else.
    assert_eq!(app.get("/orders", &key).await.status(), 200);
    let (status, body) = status_and_body(app.get("/users", &key).await).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("FORBIDDEN")));
    // Never on the staff session routes, never to mint more keys.
    for (method, path) in [
        (reqwest::Method::GET, "/auth/me"),
        (reqwest::Method::POST, "/auth/logout"),
    ] {
        let response = app.send(method, path, Some(&key), None).await;
        assert_eq!(response.status(), 403, "{path}");
    }
    let response = app
        .put(
            "/auth/password",
            &key,
            json!({"old": "x", "new": "Another-pass-2026"}),
        )
        .await;
    assert_eq!(response.status(), 403);
    assert_eq!(
        app.post(
            "/api-keys",
            &key,
            json!({"name": "child", "permissions": ["order:order:list"]})
        )
        .await
        .status(),
        403
    );
    // A wrong secret with a real id, or garbage, is a 401.
    let forged = format!("tpk_{id}_{}", "0".repeat(64));
    assert_eq!(app.get("/orders", &forged).await.status(), 401);
    assert_eq!(app.get("/orders", "tpk_nonsense").await.status(), 401);

    let (_, listed) = status_and_body(app.get("/api-keys", &ivy_token).await).await;
    assert!(listed["items"][0]["last_used_at"].is_string(), "{listed}");
    assert_eq!(listed["items"][0]["last_used_ip"], "127.0.0.1");

    // Every use reaches the access log with the key's id.
    eventually("the key's requests in the access log", || async {
        let (_, page) = status_and_body(
            app.get("/logs/access?actor=ivy&page_size=100", &admin)
                .await,
        )
        .await;
        page["items"].as_array().is_some_and(|items| {
            items
                .iter()
                .filter(|i| i["api_key_id"] == id.as_str())
                .count()
                >= 5
        })
    })
    .await;

    // Revoked: the very next request is refused.
    let (status, revoked) =
        status_and_body(app.delete(&format!("/api-keys/{id}"), &ivy_token).await).await;
    assert_eq!(status, 200, "{revoked}");
    assert_eq!(revoked["state"], "revoked");
    assert_eq!(revoked["revoked_by_username"], "ivy");
    let (status, body) = status_and_body(app.get("/orders", &key).await).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["message"], "API key revoked");

    // Creation and revocation are in the operation log, without the key.
    let (_, ops) = status_and_body(
        app.get("/logs/operations?target_type=api_key&page_size=10", &admin)
            .await,
    )
    .await;
    assert!(!ops.to_string().contains(secret));
    let operations: Vec<&str> = ops["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["operation"].as_str().unwrap())
        .collect();
    assert!(operations.contains(&"create API key"), "{ops}");
    assert!(operations.contains(&"revoke API key"), "{ops}");
}

#[actix_web::test]
async fn expiry_addresses_rate_and_the_creator_bound_a_key() {
    let app = start().await;
    let mut admin = app.admin_token().await;
    let in_an_hour = app.clock.now().plus(TimeDelta::hours(1)).to_rfc3339();

    // Rate: three a minute, then 429 with the wait.
    let rated = create_key(
        &app,
        &admin,
        json!({"name": "rated", "permissions": ["order:order:list"],
               "rate_per_minute": 3, "expires_at": in_an_hour}),
    )
    .await;
    let rated = rated["key"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        assert_eq!(app.get("/orders", &rated).await.status(), 200);
    }
    let (status, body) = status_and_body(app.get("/orders", &rated).await).await;
    assert_eq!((status, body["code"].as_str()), (429, Some("RATE_LIMITED")));
    assert!(body["details"]["retry_after_seconds"].as_u64().unwrap() >= 1);
    app.clock.advance(TimeDelta::seconds(30));
    assert_eq!(app.get("/orders", &rated).await.status(), 200);
    // Expiry on the clock.
    app.clock.advance(TimeDelta::hours(1));
    let (status, body) = status_and_body(app.get("/orders", &rated).await).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (401, Some("API key expired"))
    );
    // (The console's access token ran out too.)
    admin = app.login_ok("admin", ADMIN_PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, expired) = status_and_body(app.get("/api-keys?state=expired", &admin).await).await;
    assert_eq!(expired["total"], 1, "{expired}");

    // Addresses: only from the listed networks.
    let elsewhere = create_key(
        &app,
        &admin,
        json!({"name": "office", "permissions": ["order:order:list"],
               "allowed_addresses": ["10.1.0.0/16"]}),
    )
    .await;
    let (status, body) =
        status_and_body(app.get("/orders", elsewhere["key"].as_str().unwrap()).await).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["message"], "API key not allowed from this address");
    let here = create_key(
        &app,
        &admin,
        json!({"name": "local", "permissions": ["order:order:list"],
               "allowed_addresses": ["127.0.0.1"]}),
    )
    .await;
    assert_eq!(
        app.get("/orders", here["key"].as_str().unwrap())
            .await
            .status(),
        200
    );

    // The creator bounds the key: a permission they lose, the key loses; disabled, it stops.
    let (zoe, role, zoe_token) = app
        .staff_with(
            &admin,
            "zoe",
            &[
                "system:apikey:create",
                "order:order:list",
                "system:user:list",
            ],
        )
        .await;
    let zoes = create_key(
        &app,
        &zoe_token,
        json!({"name": "zoe's", "permissions": ["order:order:list", "system:user:list"]}),
    )
    .await;
    let zoes = zoes["key"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/users", &zoes).await.status(), 200);
    let response = app
        .put(
            &format!("/roles/{role}/permissions"),
            &admin,
            json!({"permissions": ["system:apikey:create", "order:order:list"]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.get("/users", &zoes).await.status(), 403);
    assert_eq!(app.get("/orders", &zoes).await.status(), 200);
    let response = app
        .post(&format!("/users/{zoe}/disable"), &admin, json!({}))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.get("/orders", &zoes).await.status(), 401);
}

#[actix_web::test]
async fn bad_key_requests_name_the_field_and_create_nothing() {
    let app = start().await;
    let admin = app.admin_token().await;
    let past = app.clock.now().plus(TimeDelta::minutes(-1)).to_rfc3339();
    let cases = [
        (
            json!({"name": " ", "permissions": ["order:order:list"]}),
            "name",
        ),
        (json!({"name": "k", "permissions": []}), "permissions"),
        (
            json!({"name": "k", "permissions": ["order:order:nope"]}),
            "permissions",
        ),
        (
            json!({"name": "k", "permissions": ["system:apikey:list"]}),
            "permissions",
        ),
        (
            json!({"name": "k", "permissions": ["order:order:list"], "expires_at": past}),
            "expires_at",
        ),
        (
            json!({"name": "k", "permissions": ["order:order:list"], "allowed_addresses": ["nope"]}),
            "allowed_addresses",
        ),
        (
            json!({"name": "k", "permissions": ["order:order:list"], "rate_per_minute": 0}),
            "rate_per_minute",
        ),
        (
            json!({"name": "k", "permissions": ["order:order:list"], "owner": "me"}),
            "owner",
        ),
    ];
    for (body, field) in cases {
        let (status, error) =
            status_and_body(app.post("/api-keys", &admin, body.clone()).await).await;
        assert_eq!(status, 400, "{body} → {error}");
        assert_eq!(error["code"], "VALIDATION_FAILED", "{error}");
        assert!(
            error["details"]["fields"][field].is_array(),
            "{body} should name {field}: {error}"
        );
    }
    assert_eq!(app.count("staff_api_keys").await, 0);
}

#[actix_web::test]
async fn the_openapi_document_offers_both_schemes() {
    let app = start().await;
    let doc: Value = app
        .client
        .get(format!("{}/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["api_key"]["scheme"], "bearer");
    let security = |path: &str, method: &str| doc["paths"][path][method]["security"].clone();
    assert_eq!(
        security("/api/v1/admin/orders", "get"),
        json!([{"bearer": []}, {"api_key": []}])
    );
    assert_eq!(
        security("/api/v1/admin/auth/me", "get"),
        json!([{"bearer": []}])
    );
}
