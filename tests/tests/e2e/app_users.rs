//! Mini-program users over real HTTP: the API with the WeChat mini-program sandbox mounted
//! beside it and the login client pointed at it, on a `ManualClock`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use topup_tests as common;

use chrono::TimeDelta;
use common::{TestApp, start, start_full, status_and_body, test_app_config, test_config};
use reqwest::{Method, Response};
use serde_json::{Value, json};
use topup_auth::AppUserConfig;
use topup_auth::app_users::{AppUserId, BlacklistKind};

async fn expect(response: Response, status: u16, code: &str) -> Value {
    let (got, body) = status_and_body(response).await;
    assert_eq!(
        (got, body["code"].as_str().unwrap_or_default()),
        (status, code),
        "{body}"
    );
    body
}

async fn ok(response: Response, status: u16) -> Value {
    let (got, body) = status_and_body(response).await;
    assert_eq!(got, status, "{body}");
    body
}

/// A new staff token for `admin` (staff tokens last 30 minutes; tests move the clock further).
async fn admin_again(app: &TestApp) -> String {
    app.login_ok("admin", common::ADMIN_PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn token_of(login: &Value) -> String {
    login["token"].as_str().unwrap().to_owned()
}

fn id_of(login: &Value) -> String {
    login["user"]["id"].as_str().unwrap().to_owned()
}

#[actix_web::test]
async fn login_profile_and_saved_numbers() {
    let app = start().await;
    let (code, openid) = app.wx_code(None).await;
    let response = app.app_login(&code).await;
    let raw_login = {
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    };
    let login: Value = serde_json::from_str(&raw_login).unwrap();
    assert_eq!(login["token_type"], "Bearer");
    assert_eq!(login["expires_in"], 7 * 24 * 3600);
    assert_eq!(login["new_user"], true);
    assert_eq!(login["user"]["nickname"], "");
    assert_eq!(login["user"]["language"], "zh");
    let token = token_of(&login);
    let id = id_of(&login);
    let mut answers = vec![raw_login];

    let me = ok(app.app_get("/me", &token).await, 200).await;
    assert_eq!(me["id"], id.as_str());
    answers.push(me.to_string());

    // Profile: partial updates, validation, nothing written on bad input.
    let updated = ok(
        app.app_put(
            "/me",
            &token,
            json!({"nickname": " 小明 ", "avatar_url": "https://img.example.com/a.png", "language": "en"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(updated["nickname"], "小明");
    assert_eq!(updated["avatar_url"], "https://img.example.com/a.png");
    assert_eq!(updated["language"], "en");
    let updated = ok(
        app.app_put("/me", &token, json!({"language": "zh"})).await,
        200,
    )
    .await;
    assert_eq!(updated["nickname"], "小明", "fields left out stay");
    assert_eq!(updated["language"], "zh");
    answers.push(updated.to_string());
    let version = app.raw_user(&id).await["version"].clone();
    let bad_bodies = [
        (
            json!({"nickname": "x".repeat(10 * 1024)}),
            "VALIDATION_FAILED",
        ),
        (json!({"nickname": "a\u{7}b"}), "VALIDATION_FAILED"),
        (
            json!({"avatar_url": "http://img.example.com/a.png"}),
            "VALIDATION_FAILED",
        ),
        (
            json!({"avatar_url": format!("https://x.com/{}", "a".repeat(600))}),
            "VALIDATION_FAILED",
        ),
        (json!({"language": "fr"}), "VALIDATION_FAILED"),
        (
            json!({"nickname": "ok", "is_admin": true}),
            "VALIDATION_FAILED",
        ),
    ];
    for (body, code) in bad_bodies {
        let error = expect(app.app_put("/me", &token, body.clone()).await, 400, code).await;
        if code == "VALIDATION_FAILED" {
            assert!(error["details"]["fields"].is_object(), "{error}");
        }
    }
    assert_eq!(
        app.raw_user(&id).await["version"],
        version,
        "bad input wrote nothing"
    );
    let me = ok(app.app_get("/me", &token).await, 200).await;
    assert_eq!(me["nickname"], "小明");
    // Empty clears.
    let cleared = ok(
        app.app_put("/me", &token, json!({"avatar_url": ""})).await,
        200,
    )
    .await;
    assert_eq!(cleared["avatar_url"], Value::Null);

    // Saved numbers.
    assert_eq!(
        ok(app.app_get("/me/numbers", &token).await, 200).await,
        json!([])
    );
    let mum = ok(
        app.app_post(
            "/me/numbers",
            &token,
            json!({"label": "Mum", "number": "+639171234567"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(mum["number"], "+639171234567");
    assert_eq!(mum["country"], "PH");
    assert_eq!(mum["blocked"], false);
    let dad = ok(
        app.app_post(
            "/me/numbers",
            &token,
            json!({"label": "Dad", "number": "0917 123 4568", "country": "ph"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(dad["number"], "+639171234568", "normalised to E.164");
    let listed = ok(app.app_get("/me/numbers", &token).await, 200).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(listed[0]["label"], "Mum");
    assert_eq!(listed[1]["label"], "Dad");
    answers.push(listed.to_string());
    let version = app.raw_user(&id).await["version"].clone();
    expect(
        app.app_post(
            "/me/numbers",
            &token,
            json!({"label": "Again", "number": "09171234567", "country": "PH"}),
        )
        .await,
        409,
        "CONFLICT",
    )
    .await;
    let bad_numbers = [
        (json!({"label": "x", "number": "12345"}), "INVALID_PHONE"),
        (
            json!({"label": "x", "number": "+442071838750"}),
            "INVALID_PHONE",
        ),
        (
            json!({"label": "x", "number": "0917 123 4569", "country": "XX"}),
            "INVALID_COUNTRY",
        ),
        (
            json!({"label": "", "number": "+639171234569"}),
            "VALIDATION_FAILED",
        ),
        (
            json!({"label": "   ", "number": "+639171234569"}),
            "VALIDATION_FAILED",
        ),
        (
            json!({"label": "x".repeat(33), "number": "+639171234569"}),
            "VALIDATION_FAILED",
        ),
        (json!({"label": "x", "number": ""}), "VALIDATION_FAILED"),
        (
            json!({"label": "x", "number": "+639171234569", "extra": 1}),
            "VALIDATION_FAILED",
        ),
    ];
    for (body, code) in bad_numbers {
        expect(app.app_post("/me/numbers", &token, body).await, 400, code).await;
    }
    assert_eq!(
        app.raw_user(&id).await["version"],
        version,
        "nothing written"
    );

    let dad_id = dad["id"].as_str().unwrap();
    assert_eq!(
        app.app_send(
            Method::DELETE,
            &format!("/me/numbers/{dad_id}"),
            Some(&token),
            None
        )
        .await
        .status(),
        204
    );
    expect(
        app.app_send(
            Method::DELETE,
            &format!("/me/numbers/{dad_id}"),
            Some(&token),
            None,
        )
        .await,
        404,
        "NOT_FOUND",
    )
    .await;
    expect(
        app.app_send(Method::DELETE, "/me/numbers/not-an-id", Some(&token), None)
            .await,
        400,
        "VALIDATION_FAILED",
    )
    .await;
    // Up to 20, then refused.
    for i in 1..20 {
        ok(
            app.app_post(
                "/me/numbers",
                &token,
                json!({"label": format!("n{i}"), "number": format!("+6391712345{:02}", 10 + i)}),
            )
            .await,
            201,
        )
        .await;
    }
    assert_eq!(
        ok(app.app_get("/me/numbers", &token).await, 200)
            .await
            .as_array()
            .unwrap()
            .len(),
        20
    );
    let refused = expect(
        app.app_post(
            "/me/numbers",
            &token,
            json!({"label": "21st", "number": "+639171234599"}),
        )
        .await,
        409,
        "SAVED_NUMBER_LIMIT",
    )
    .await;
    assert_eq!(refused["details"]["max"], 20);

    // The session key is in no answer, and stored only encrypted.
    let session_key = app.sandbox_session_key(&openid).await;
    assert!(session_key.len() >= 16);
    for answer in &answers {
        assert!(!answer.contains(&session_key), "{answer}");
        assert!(!answer.contains("session_key"), "{answer}");
    }
    let raw = app.raw_user(&id).await;
    assert!(!raw.to_string().contains(&session_key), "{raw}");
    assert!(
        raw["session_key_sealed"]
            .as_str()
            .unwrap()
            .starts_with("v1.")
    );
    let user_id: AppUserId = id.parse().unwrap();
    assert_eq!(
        app.app_users.session_key(user_id).await.unwrap().expose(),
        &session_key,
        "the server can still read it"
    );
}

#[actix_web::test]
async fn codes_work_once_and_the_same_openid_is_the_same_user() {
    let app = start().await;
    let (code, openid) = app.wx_code(Some("o_alice")).await;
    assert_eq!(openid, "o_alice");
    let first = ok(app.app_login(&code).await, 200).await;
    assert_eq!(first["new_user"], true);
    let reused = expect(app.app_login(&code).await, 401, "WECHAT_CODE_USED").await;
    assert!(reused["message"].as_str().unwrap().contains("wx.login"));
    expect(
        app.app_login("never-issued").await,
        401,
        "WECHAT_CODE_INVALID",
    )
    .await;
    let (late, _) = app.wx_code(Some("o_alice")).await;
    app.clock.advance(TimeDelta::minutes(6));
    expect(app.app_login(&late).await, 401, "WECHAT_CODE_INVALID").await;

    // Malformed requests never reach WeChat and write nothing.
    let (unused, _) = app.wx_code(None).await;
    let bad = [
        (json!({"code": ""}), "VALIDATION_FAILED"),
        (json!({"code": "has space"}), "VALIDATION_FAILED"),
        (json!({"code": "x".repeat(129)}), "VALIDATION_FAILED"),
        (json!({}), "VALIDATION_FAILED"),
        (
            json!({"code": unused, "openid": "o_mallory"}),
            "VALIDATION_FAILED",
        ),
    ];
    for (body, code) in bad {
        expect(
            app.app_send(Method::POST, "/auth/login", None, Some(body))
                .await,
            400,
            code,
        )
        .await;
    }
    assert_eq!(app.count("app_users").await, 1);
    // The code sent with a forbidden field was not spent.
    assert_eq!(app.app_login(&unused).await.status(), 200);

    let again = app.app_login_ok(Some("o_alice")).await;
    assert_eq!(again["new_user"], false);
    assert_eq!(id_of(&again), id_of(&first), "found again by openid");
    assert_eq!(app.count("app_users").await, 2);
    // The old token keeps working alongside the new one.
    ok(app.app_get("/me", &token_of(&first)).await, 200).await;
    ok(app.app_get("/me", &token_of(&again)).await, 200).await;
}

#[actix_web::test]
async fn disabled_users_are_refused_at_once_and_enabled_again() {
    let app = start().await;
    let admin = app.admin_token().await;
    let login = app.app_login_ok(Some("o_bob")).await;
    let (token, id) = (token_of(&login), id_of(&login));
    ok(app.app_get("/me", &token).await, 200).await;

    let disabled = ok(
        app.post(&format!("/app-users/{id}/disable"), &admin, json!({}))
            .await,
        200,
    )
    .await;
    assert_eq!(disabled["status"], "disabled");
    assert!(disabled["disabled_at"].is_string());
    for path in ["/me", "/me/numbers"] {
        expect(app.app_get(path, &token).await, 403, "USER_BLOCKED").await;
    }
    expect(
        app.app_put("/me", &token, json!({"nickname": "x"})).await,
        403,
        "USER_BLOCKED",
    )
    .await;
    let (code, _) = app.wx_code(Some("o_bob")).await;
    expect(app.app_login(&code).await, 403, "USER_BLOCKED").await;

    let enabled = ok(
        app.post(&format!("/app-users/{id}/enable"), &admin, json!({}))
            .await,
        200,
    )
    .await;
    assert_eq!(enabled["status"], "active");
    assert_eq!(enabled["disabled_at"], Value::Null);
    // Tokens from before the disable stay dead; a new login works.
    expect(app.app_get("/me", &token).await, 401, "UNAUTHORIZED").await;
    let again = app.app_login_ok(Some("o_bob")).await;
    ok(app.app_get("/me", &token_of(&again)).await, 200).await;

    // Both writes are in the operation log with before/after, and no session key.
    let logs = ok(
        app.get(
            &format!("/logs/operations?target_type=app_user&target_id={id}"),
            &admin,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(logs["total"], 2, "{logs}");
    let operations: Vec<&str> = logs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["operation"].as_str().unwrap())
        .collect();
    assert_eq!(operations, ["enable app user", "disable app user"]);
    assert_eq!(logs["items"][1]["permission"], "user:app_user:disable");
    assert_eq!(logs["items"][1]["before"]["status"], "active");
    assert_eq!(logs["items"][1]["after"]["status"], "disabled");
    assert!(!logs.to_string().contains("session_key"));
    expect(
        app.post(
            &format!("/app-users/{}/disable", ulid::Ulid::new()),
            &admin,
            json!({}),
        )
        .await,
        404,
        "NOT_FOUND",
    )
    .await;
}

#[actix_web::test]
async fn blacklist_by_openid_and_address_with_expiry() {
    let app = start().await;
    let admin = app.admin_token().await;
    let login = app.app_login_ok(Some("o_carol")).await;
    let (token, id) = (token_of(&login), id_of(&login));

    // Openid, for an hour.
    let until = app.clock_now().plus(TimeDelta::hours(1));
    let entry = ok(
        app.post(
            "/blacklist",
            &admin,
            json!({"kind": "openid", "value": "o_carol", "reason": "chargebacks", "expires_at": until}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(entry["active"], true);
    assert_eq!(entry["created_by_username"], "admin");
    expect(app.app_get("/me", &token).await, 403, "USER_BLOCKED").await;
    let (code, _) = app.wx_code(Some("o_carol")).await;
    expect(app.app_login(&code).await, 403, "USER_BLOCKED").await;
    let detail = ok(app.get(&format!("/app-users/{id}"), &admin).await, 200).await;
    assert_eq!(detail["blacklisted"], true);
    assert_eq!(detail["status"], "active");
    expect(
        app.post(
            "/blacklist",
            &admin,
            json!({"kind": "openid", "value": "o_carol", "reason": "again"}),
        )
        .await,
        409,
        "CONFLICT",
    )
    .await;
    assert!(
        app.app_users
            .is_blocked(BlacklistKind::Openid, "o_carol")
            .await
            .unwrap()
    );
    // Expired: it stops blocking, without anyone touching it.
    app.clock.advance(TimeDelta::hours(2));
    let admin = admin_again(&app).await;
    ok(app.app_get("/me", &token).await, 200).await;
    assert!(
        !app.app_users
            .is_blocked(BlacklistKind::Openid, "o_carol")
            .await
            .unwrap()
    );
    let expired = ok(app.get("/blacklist?active=false", &admin).await, 200).await;
    assert_eq!(expired["total"], 1);
    assert_eq!(expired["items"][0]["active"], false);
    let live = ok(app.get("/blacklist?active=true", &admin).await, 200).await;
    assert_eq!(live["total"], 0);
    // An expired entry can be replaced by a new one.
    let renewed = ok(
        app.post(
            "/blacklist",
            &admin,
            json!({"kind": "openid", "value": "o_carol", "reason": "for good"}),
        )
        .await,
        201,
    )
    .await;
    expect(app.app_get("/me", &token).await, 403, "USER_BLOCKED").await;
    let renewed_id = renewed["id"].as_str().unwrap();
    assert_eq!(
        app.delete(&format!("/blacklist/{renewed_id}"), &admin)
            .await
            .status(),
        204
    );
    ok(app.app_get("/me", &token).await, 200).await;
    expect(
        app.delete(&format!("/blacklist/{renewed_id}"), &admin)
            .await,
        404,
        "NOT_FOUND",
    )
    .await;

    // Address: refused at login; tokens already issued keep working.
    let entry = ok(
        app.post(
            "/blacklist",
            &admin,
            json!({"kind": "ip", "value": " 127.0.0.1 ", "reason": "scraping"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(entry["value"], "127.0.0.1");
    let (code, _) = app.wx_code(None).await;
    expect(app.app_login(&code).await, 403, "IP_BLOCKED").await;
    assert_eq!(app.count("app_users").await, 1, "nobody was created");
    ok(app.app_get("/me", &token).await, 200).await;
    let entry_id = entry["id"].as_str().unwrap();
    assert_eq!(
        app.delete(&format!("/blacklist/{entry_id}"), &admin)
            .await
            .status(),
        204
    );
    // The refused attempt did not spend the code.
    ok(app.app_login(&code).await, 200).await;

    // Every write is in the operation log, refused ones too.
    let logs = ok(
        app.get("/logs/operations?target_type=blacklist_entry", &admin)
            .await,
        200,
    )
    .await;
    assert_eq!(logs["total"], 7, "{logs}");
    let done = ok(
        app.get(
            "/logs/operations?target_type=blacklist_entry&result=success",
            &admin,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(done["total"], 5, "{done}");
}

#[actix_web::test]
async fn blacklisted_phone_numbers_are_normalised_and_flagged() {
    let app = start().await;
    let admin = app.admin_token().await;
    let entry = ok(
        app.post(
            "/blacklist",
            &admin,
            json!({"kind": "phone", "value": "0917 123 4567", "country": "PH", "reason": "stolen"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(entry["value"], "+639171234567");
    for form in ["+639171234567", "+63 917 123 4567"] {
        assert!(
            app.app_users
                .is_blocked(BlacklistKind::Phone, form)
                .await
                .unwrap(),
            "{form}"
        );
    }
    assert!(
        !app.app_users
            .is_blocked(BlacklistKind::Phone, "+639171234568")
            .await
            .unwrap()
    );
    assert!(
        !app.app_users
            .is_blocked(BlacklistKind::Phone, "garbage")
            .await
            .unwrap()
    );

    // Saving it is allowed but flagged, so the user learns before checkout.
    let token = token_of(&app.app_login_ok(None).await);
    let saved = ok(
        app.app_post(
            "/me/numbers",
            &token,
            json!({"label": "x", "number": "+639171234567"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(saved["blocked"], true);
    let other = ok(
        app.app_post(
            "/me/numbers",
            &token,
            json!({"label": "y", "number": "+639171234568"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(other["blocked"], false);
    let listed = ok(app.app_get("/me/numbers", &token).await, 200).await;
    assert_eq!(listed[0]["blocked"], true);
    assert_eq!(listed[1]["blocked"], false);

    // Bad entries change nothing.
    let future = app.clock_now().plus(TimeDelta::hours(1));
    let past = app.clock_now().minus(TimeDelta::hours(1));
    let bad = [
        (
            json!({"kind": "phone", "value": "12345", "reason": "r"}),
            "INVALID_PHONE",
        ),
        (
            json!({"kind": "ip", "value": "999.1.1.1", "reason": "r"}),
            "VALIDATION_FAILED",
        ),
        (
            json!({"kind": "openid", "value": "o x", "reason": "r"}),
            "VALIDATION_FAILED",
        ),
        (
            json!({"kind": "openid", "value": "o_x", "reason": ""}),
            "VALIDATION_FAILED",
        ),
        (
            json!({"kind": "openid", "value": "o_x", "reason": "r", "expires_at": past}),
            "VALIDATION_FAILED",
        ),
        (
            json!({"kind": "email", "value": "a@b.c", "reason": "r"}),
            "VALIDATION_FAILED",
        ),
        (
            json!({"kind": "openid", "value": "o_x", "reason": "r", "expires_at": future, "x": 1}),
            "VALIDATION_FAILED",
        ),
    ];
    for (body, code) in bad {
        expect(app.post("/blacklist", &admin, body).await, 400, code).await;
    }
    assert_eq!(app.count("app_blacklist").await, 1);
    let page = ok(
        app.get("/blacklist?kind=phone&value=917", &admin).await,
        200,
    )
    .await;
    assert_eq!(page["total"], 1);
    let page = ok(app.get("/blacklist?kind=ip", &admin).await, 200).await;
    assert_eq!(page["total"], 0);
}

#[actix_web::test]
async fn staff_and_app_tokens_do_not_cross() {
    let app = start().await;
    let admin = app.admin_token().await;
    let token = token_of(&app.app_login_ok(None).await);
    let staff_on_app = expect(app.app_get("/me", &admin).await, 401, "UNAUTHORIZED").await;
    assert!(!staff_on_app.to_string().contains(&admin));
    expect(app.get("/auth/me", &token).await, 401, "UNAUTHORIZED").await;
    expect(app.get("/app-users", &token).await, 401, "UNAUTHORIZED").await;
    expect(
        app.app_send(Method::GET, "/me", None, None).await,
        401,
        "UNAUTHORIZED",
    )
    .await;
    expect(app.app_get("/me", "not.a.jwt").await, 401, "UNAUTHORIZED").await;
    // App tokens live for the configured lifetime, by the injected clock.
    app.clock
        .advance(TimeDelta::days(7) - TimeDelta::seconds(1));
    ok(app.app_get("/me", &token).await, 200).await;
    app.clock.advance(TimeDelta::seconds(1));
    let expired = expect(app.app_get("/me", &token).await, 401, "TOKEN_EXPIRED").await;
    assert!(
        expired["message"]
            .as_str()
            .unwrap()
            .contains("log in again")
    );
}

#[actix_web::test]
async fn staff_search_users_by_openid_nickname_number_status_and_date() {
    let app = start().await;
    app.admin_token().await;
    let alice = app.app_login_ok(Some("o_alice_1")).await;
    ok(
        app.app_put("/me", &token_of(&alice), json!({"nickname": "Alice"}))
            .await,
        200,
    )
    .await;
    ok(
        app.app_post(
            "/me/numbers",
            &token_of(&alice),
            json!({"label": "Mum", "number": "+639171234561"}),
        )
        .await,
        201,
    )
    .await;
    app.clock.advance(TimeDelta::hours(1));
    let admin = admin_again(&app).await;
    let later = app.clock_now();
    let bob = app.app_login_ok(Some("o_bob_2")).await;
    ok(
        app.app_put("/me", &token_of(&bob), json!({"nickname": "Bobby"}))
            .await,
        200,
    )
    .await;
    ok(
        app.post(
            &format!("/app-users/{}/disable", id_of(&bob)),
            &admin,
            json!({}),
        )
        .await,
        200,
    )
    .await;

    let ids = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = ok(app.get("/app-users", &admin).await, 200).await;
    assert_eq!(all["total"], 2);
    assert_eq!(ids(&all), [id_of(&bob), id_of(&alice)], "newest first");
    assert!(!all.to_string().contains("session_key"));
    let page = ok(app.get("/app-users?q=alic", &admin).await, 200).await;
    assert_eq!(ids(&page), [id_of(&alice)]);
    let page = ok(app.get("/app-users?q=o_bob", &admin).await, 200).await;
    assert_eq!(ids(&page), [id_of(&bob)]);
    let page = ok(
        app.get("/app-users?number=%2B639171234561", &admin).await,
        200,
    )
    .await;
    assert_eq!(ids(&page), [id_of(&alice)]);
    let page = ok(app.get("/app-users?number=1234561", &admin).await, 200).await;
    assert_eq!(ids(&page), [id_of(&alice)]);
    let page = ok(
        app.get("/app-users?number=%2B639171234562", &admin).await,
        200,
    )
    .await;
    assert_eq!(page["total"], 0);
    let page = ok(app.get("/app-users?status=disabled", &admin).await, 200).await;
    assert_eq!(ids(&page), [id_of(&bob)]);
    let page = ok(
        app.get(
            &format!("/app-users?created_to={}", later.to_rfc3339()),
            &admin,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(ids(&page), [id_of(&alice)]);
    let page = ok(
        app.get("/app-users?sort=nickname&page_size=1", &admin)
            .await,
        200,
    )
    .await;
    assert_eq!(
        (page["total"].as_u64(), ids(&page)),
        (Some(2), vec![id_of(&alice)])
    );
    expect(
        app.get("/app-users?sort=openid", &admin).await,
        400,
        "VALIDATION_FAILED",
    )
    .await;
    expect(
        app.get("/app-users?status=gone", &admin).await,
        400,
        "VALIDATION_FAILED",
    )
    .await;
    expect(
        app.get("/app-users?page_size=1000", &admin).await,
        400,
        "VALIDATION_FAILED",
    )
    .await;

    let detail = ok(
        app.get(&format!("/app-users/{}", id_of(&alice)), &admin)
            .await,
        200,
    )
    .await;
    assert_eq!(detail["openid"], "o_alice_1");
    assert!(detail["unionid"].as_str().unwrap().starts_with('u'));
    assert_eq!(detail["nickname"], "Alice");
    assert_eq!(detail["saved_numbers"][0]["number"], "+639171234561");
    assert_eq!(detail["last_login_ip"], "127.0.0.1");
    assert!(detail.get("session_key_sealed").is_none());
    expect(
        app.get("/app-users/nope", &admin).await,
        400,
        "VALIDATION_FAILED",
    )
    .await;
}

#[actix_web::test]
async fn visitors_are_counted_per_day() {
    let app = start().await;
    app.admin_token().await;
    // 2026-03-01T08:00Z is 16:00 on 1 March in China.
    let a = app.app_login_ok(Some("o_a")).await;
    let b = app.app_login_ok(Some("o_b")).await;
    for _ in 0..3 {
        ok(app.app_get("/me", &token_of(&a)).await, 200).await;
    }
    // 17:00Z is already 2 March in China (the default offset, +08:00).
    app.clock.advance(TimeDelta::hours(9));
    ok(app.app_get("/me", &token_of(&a)).await, 200).await;
    ok(app.app_get("/me/numbers", &token_of(&a)).await, 200).await;
    let c = app.app_login_ok(Some("o_c")).await;
    ok(app.app_get("/me", &token_of(&c)).await, 200).await;
    let _ = b;
    assert_eq!(
        app.count("app_user_days").await,
        4,
        "one record per user and day"
    );
    let admin = admin_again(&app).await;

    let days = ok(
        app.get("/visitors/daily?from=2026-03-01&to=2026-03-03", &admin)
            .await,
        200,
    )
    .await;
    assert_eq!(
        days,
        json!([
            {"day": "2026-03-01", "new_users": 2, "active_users": 2},
            {"day": "2026-03-02", "new_users": 1, "active_users": 2},
            {"day": "2026-03-03", "new_users": 0, "active_users": 0},
        ])
    );
    // Default range: the 30 days up to today.
    let recent = ok(app.get("/visitors/daily", &admin).await, 200).await;
    let recent = recent.as_array().unwrap();
    assert_eq!(recent.len(), 30);
    assert_eq!(recent[29]["day"], "2026-03-02");
    assert_eq!(recent[29]["active_users"], 2);
    for (query, field) in [
        ("from=2026-03-05&to=2026-03-01", "from"),
        ("from=2025-01-01&to=2026-03-01", "from"),
        ("to=March", "to"),
    ] {
        let error = expect(
            app.get(&format!("/visitors/daily?{query}"), &admin).await,
            400,
            "VALIDATION_FAILED",
        )
        .await;
        assert!(error["details"]["fields"][field].is_array(), "{error}");
    }
}

#[actix_web::test]
async fn the_visitor_day_offset_is_configurable() {
    let app = start_full(
        test_config(),
        AppUserConfig {
            visitor_day_utc_offset_minutes: 0,
            ..test_app_config()
        },
        None,
    )
    .await;
    app.clock.advance(TimeDelta::hours(9)); // 17:00Z: still 1 March in UTC
    app.app_login_ok(None).await;
    let days = app
        .app_users
        .visitors_per_day(&topup_auth::app_users::VisitorQuery {
            from: Some("2026-03-01".into()),
            to: Some("2026-03-02".into()),
        })
        .await
        .unwrap();
    assert_eq!((days[0].active_users, days[1].active_users), (1, 0));
}

#[actix_web::test]
async fn app_login_is_rate_limited_per_address() {
    let app = start_full(
        test_config(),
        AppUserConfig {
            login_rate_per_minute: 6,
            login_rate_burst: 2,
            ..AppUserConfig::default()
        },
        None,
    )
    .await;
    app.app_login_ok(None).await;
    app.app_login_ok(None).await;
    let (code, _) = app.wx_code(None).await;
    let limited = expect(app.app_login(&code).await, 429, "RATE_LIMITED").await;
    assert!(limited["details"]["retry_after_seconds"].as_u64().unwrap() >= 1);
    app.clock.advance(TimeDelta::seconds(10));
    ok(app.app_login(&code).await, 200).await;
}

#[actix_web::test]
async fn wechat_unreachable_is_a_clear_503() {
    // Nothing listens on port 1.
    let app = start_full(
        test_config(),
        test_app_config(),
        Some("http://127.0.0.1:1".into()),
    )
    .await;
    let (code, _) = app.wx_code(None).await;
    let error = expect(app.app_login(&code).await, 503, "WECHAT_UNAVAILABLE").await;
    assert!(!error["message"].as_str().unwrap().contains("secret"));
    assert_eq!(app.count("app_users").await, 0);
}

trait ClockNow {
    fn clock_now(&self) -> topup_core::Timestamp;
}

impl ClockNow for TestApp {
    fn clock_now(&self) -> topup_core::Timestamp {
        use topup_core::Clock;
        self.clock.now()
    }
}

/// Logging out ends every app token issued so far, on every device; so does being disabled,
/// and enabling the user again does not revive them (`docs/security.md#app-tokens`).
#[actix_web::test]
async fn logout_and_disable_end_app_tokens() {
    let app = start().await;
    let phone = app.app_login_ok(Some("o_logout_1")).await;
    let tablet = app.app_login_ok(Some("o_logout_1")).await;
    ok(app.app_get("/me", &token_of(&phone)).await, 200).await;
    let response = app
        .app_send(Method::POST, "/auth/logout", Some(&token_of(&phone)), None)
        .await;
    assert_eq!(response.status(), 204);
    expect(
        app.app_get("/me", &token_of(&phone)).await,
        401,
        "UNAUTHORIZED",
    )
    .await;
    expect(
        app.app_get("/me", &token_of(&tablet)).await,
        401,
        "UNAUTHORIZED",
    )
    .await;
    let again = app.app_login_ok(Some("o_logout_1")).await;
    ok(app.app_get("/me", &token_of(&again)).await, 200).await;

    let admin = app.admin_token().await;
    let user = id_of(&again);
    ok(
        app.post(&format!("/app-users/{user}/disable"), &admin, json!({}))
            .await,
        200,
    )
    .await;
    ok(
        app.post(&format!("/app-users/{user}/enable"), &admin, json!({}))
            .await,
        200,
    )
    .await;
    expect(
        app.app_get("/me", &token_of(&again)).await,
        401,
        "UNAUTHORIZED",
    )
    .await;
    let fresh = app.app_login_ok(Some("o_logout_1")).await;
    ok(app.app_get("/me", &token_of(&fresh)).await, 200).await;
}

#[actix_web::test]
async fn staff_without_the_personal_data_permission_see_users_masked() {
    let app = start().await;
    let admin = app.admin_token().await;
    let carol = app.app_login_ok(Some("o_carol_personal_7")).await;
    ok(
        app.app_post(
            "/me/numbers",
            &token_of(&carol),
            json!({"label": "Home", "number": "+639171234567"}),
        )
        .await,
        201,
    )
    .await;
    let (_, _, clerk) = app
        .staff_with(&admin, "clerk", &["user:app_user:list"])
        .await;
    let id = id_of(&carol);

    let full = ok(app.get(&format!("/app-users/{id}"), &admin).await, 200).await;
    assert_eq!(full["openid"], "o_carol_personal_7");
    assert_eq!(full["saved_numbers"][0]["number"], "+639171234567");
    assert_eq!(full["last_login_ip"], "127.0.0.1");

    let seen = ok(app.get(&format!("/app-users/{id}"), &clerk).await, 200).await;
    let listed = ok(app.get("/app-users", &clerk).await, 200).await;
    for view in [&seen, &listed["items"][0]] {
        let text = view.to_string();
        assert!(!text.contains("o_carol_personal_7"), "{text}");
        assert!(!text.contains("+639171234567"), "{text}");
        assert!(view["last_login_ip"].is_null(), "{text}");
        assert_eq!(view["saved_numbers"][0]["number"], "+639*****4567");
        assert_eq!(view["saved_numbers"][0]["label"], "Home");
    }
}
