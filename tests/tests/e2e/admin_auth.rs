//! Staff sign-in over real HTTP: tokens, refresh rotation, logout, password change, lockout,
//! rate limit, validation.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use topup_tests as common;

use chrono::TimeDelta;
use common::{ADMIN_PASSWORD, STAFF_PASSWORD, start, start_with, status_and_body, test_config};
use reqwest::Method;
use serde_json::{Value, json};
use topup_auth::AuthConfig;

async fn refresh(app: &common::TestApp, token: &str) -> (u16, Value) {
    status_and_body(
        app.send(
            Method::POST,
            "/auth/refresh",
            None,
            Some(json!({"refresh_token": token})),
        )
        .await,
    )
    .await
}

#[actix_web::test]
async fn first_login_must_change_password_then_everything_opens() {
    let app = start().await;
    let first = app.login_ok("ADMIN", &app.initial_password).await;
    assert_eq!(
        first["must_change_password"], true,
        "usernames are case-insensitive"
    );
    assert_eq!(first["token_type"], "Bearer");
    assert_eq!(first["expires_in"], 1800);
    let token = first["access_token"].as_str().unwrap();

    let (status, body) = status_and_body(app.get("/users", token).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("PASSWORD_CHANGE_REQUIRED"))
    );
    let (status, me) = status_and_body(app.get("/auth/me", token).await).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["user"]["username"], "admin");
    assert_eq!(me["roles"][0]["code"], "super_admin");
    let permissions: Vec<&str> = me["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    for code in topup_auth::perm::ALL {
        assert!(permissions.contains(code), "{code}");
    }
    let roots: Vec<&str> = me["menus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        roots,
        [
            "users",
            "catalog",
            "order",
            "marketing",
            "notify",
            "content",
            "payment",
            "system"
        ],
        "ordered by `order`"
    );
    let system = &me["menus"][7];
    let children: Vec<&str> = system["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    assert!(children.contains(&"system.users") && children.contains(&"system.access-logs"));
    assert!(
        system["children"][0]["children"]
            .as_array()
            .unwrap()
            .is_empty(),
        "buttons are not navigation"
    );

    // Wrong current password and weak new passwords are refused field by field.
    let (status, body) = status_and_body(
        app.put(
            "/auth/password",
            token,
            json!({"old": "nope-1234", "new": "Another-pass-1"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("VALIDATION_FAILED"))
    );
    assert!(body["details"]["fields"]["old"].is_array(), "{body}");
    let (status, body) = status_and_body(
        app.put(
            "/auth/password",
            token,
            json!({"old": app.initial_password, "new": "short"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400);
    let problems = body["details"]["fields"]["new"].to_string();
    assert!(
        problems.contains("at least 8") && problems.contains("digit"),
        "{problems}"
    );

    let (status, pair) = status_and_body(
        app.put(
            "/auth/password",
            token,
            json!({"old": app.initial_password, "new": ADMIN_PASSWORD}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{pair}");
    assert_eq!(pair["must_change_password"], false);
    // The old session is over: its access and refresh tokens are dead.
    let (status, body) = status_and_body(app.get("/auth/me", token).await).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("UNAUTHORIZED")));
    let (status, _) = refresh(&app, first["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 401);
    let fresh = pair["access_token"].as_str().unwrap();
    assert_eq!(app.get("/users", fresh).await.status(), 200);
    // The old password no longer works, the new one does.
    assert_eq!(
        app.login("admin", &app.initial_password).await.status(),
        401
    );
    app.login_ok("admin", ADMIN_PASSWORD).await;
}

#[actix_web::test]
async fn refresh_rotates_and_reuse_ends_the_session() {
    let app = start().await;
    let admin = app.admin_token().await;
    let (_, _, _) = app.staff_with(&admin, "alice", &["system:user:list"]).await;
    let first = app.login_ok("alice", STAFF_PASSWORD).await;
    let refresh_1 = first["refresh_token"].as_str().unwrap();

    let (status, second) = refresh(&app, refresh_1).await;
    assert_eq!(status, 200, "{second}");
    let refresh_2 = second["refresh_token"].as_str().unwrap();
    assert_ne!(refresh_2, refresh_1, "rotated");
    let access_2 = second["access_token"].as_str().unwrap();
    assert_eq!(app.get("/users", access_2).await.status(), 200);
    assert_eq!(
        app.get("/users", first["access_token"].as_str().unwrap())
            .await
            .status(),
        200,
        "earlier access tokens of a live session stay valid until they expire"
    );

    // Presenting the rotated token again is theft: the whole session ends.
    let (status, body) = refresh(&app, refresh_1).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["message"].as_str().unwrap().contains("already used"));
    assert_eq!(app.get("/users", access_2).await.status(), 401);
    let (status, _) = refresh(&app, refresh_2).await;
    assert_eq!(
        status, 401,
        "the newest refresh token died with the session"
    );

    let (status, body) = refresh(&app, "rt_not-a-token").await;
    assert_eq!((status, body["code"].as_str()), (401, Some("UNAUTHORIZED")));
    let (status, body) = refresh(&app, "").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("VALIDATION_FAILED"))
    );
}

#[actix_web::test]
async fn access_tokens_expire_by_the_clock_and_refresh_renews_them() {
    let app = start().await;
    let admin = app.admin_token().await;
    app.staff_with(&admin, "bob", &["system:role:list"]).await;
    let pair = app.login_ok("bob", STAFF_PASSWORD).await;
    let access = pair["access_token"].as_str().unwrap();
    app.clock.advance(TimeDelta::minutes(29));
    assert_eq!(app.get("/roles", access).await.status(), 200);
    app.clock.advance(TimeDelta::minutes(2));
    let (status, body) = status_and_body(app.get("/roles", access).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("TOKEN_EXPIRED"))
    );
    let (status, renewed) = refresh(&app, pair["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(
        app.get("/roles", renewed["access_token"].as_str().unwrap())
            .await
            .status(),
        200
    );

    // A refresh token unused for its whole lifetime is dead.
    app.clock.advance(TimeDelta::days(15));
    let (status, _) = refresh(&app, renewed["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 401);
}

#[actix_web::test]
async fn logout_ends_the_session_at_once() {
    let app = start().await;
    let admin = app.admin_token().await;
    let (_, _, token) = app.staff_with(&admin, "carol", &["system:menu:list"]).await;
    let other = app.login_ok("carol", STAFF_PASSWORD).await;
    let response = app
        .send(Method::POST, "/auth/logout", Some(&token), None)
        .await;
    assert_eq!(response.status(), 204);
    assert_eq!(app.get("/menus", &token).await.status(), 401);
    assert_eq!(app.get("/auth/me", &token).await.status(), 401);
    // Only that session: another browser of the same user goes on.
    assert_eq!(
        app.get("/menus", other["access_token"].as_str().unwrap())
            .await
            .status(),
        200
    );
    // Garbage and missing tokens.
    assert_eq!(app.get("/menus", "not.a.jwt").await.status(), 401);
    let bare = app.send(Method::GET, "/menus", None, None).await;
    assert_eq!(bare.status(), 401);
    let basic = app
        .client
        .get(app.url("/menus"))
        .header("authorization", "Basic YTpi")
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401);
}

#[actix_web::test]
async fn unknown_users_and_wrong_passwords_look_alike_and_are_logged() {
    let app = start().await;
    let admin = app.admin_token().await;
    let (status_a, unknown) = status_and_body(app.login("nobody", "whatever-123").await).await;
    let (status_b, wrong) = status_and_body(app.login("admin", "whatever-123").await).await;
    assert_eq!((status_a, status_b), (401, 401));
    assert_eq!(unknown["code"], "INVALID_CREDENTIALS");
    assert_eq!(unknown["message"], wrong["message"]);
    assert_eq!(unknown["details"], wrong["details"]);

    let (status, body) = status_and_body(app.login("", "").await).await;
    assert_eq!(status, 400);
    assert!(
        body["details"]["fields"]["username"].is_array()
            && body["details"]["fields"]["password"].is_array(),
        "{body}"
    );

    let (status, logs) = status_and_body(app.get("/logs/login?page_size=100", &admin).await).await;
    assert_eq!(status, 200, "{logs}");
    let items = logs["items"].as_array().unwrap();
    let results: Vec<(&str, &str)> = items
        .iter()
        .map(|i| {
            (
                i["username"].as_str().unwrap(),
                i["result"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        results.contains(&("nobody", "invalid_credentials")),
        "{results:?}"
    );
    assert!(results.contains(&("admin", "invalid_credentials")));
    assert!(results.contains(&("admin", "success")));
    assert!(results.contains(&("", "invalid_input")));
    let entry = items.iter().find(|i| i["username"] == "nobody").unwrap();
    assert_eq!(entry["ip"], "127.0.0.1");
    assert_eq!(entry["user_agent"], "topup-tests/1.0");
    assert!(entry["user_id"].is_null());

    let (_, filtered) = status_and_body(
        app.get("/logs/login?result=success&username=ADM", &admin)
            .await,
    )
    .await;
    assert_eq!(filtered["total"], 1, "{filtered}");
    assert!(
        filtered["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["result"] == "success")
    );
}

#[actix_web::test]
async fn five_failures_lock_the_username_until_the_window_passes() {
    let app = start().await;
    let admin = app.admin_token().await;
    app.staff_with(&admin, "dave", &["system:user:list"]).await;
    for attempt in 1..=4 {
        let (status, body) = status_and_body(app.login("dave", "wrong-pass-1").await).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (401, Some("INVALID_CREDENTIALS")),
            "attempt {attempt}"
        );
        app.clock.advance(TimeDelta::minutes(1));
    }
    let (status, body) = status_and_body(app.login("Dave", "wrong-pass-1").await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (423, Some("ACCOUNT_LOCKED")),
        "{body}"
    );
    assert!(body["details"]["locked_until"].is_string());
    // Even the right password is refused while locked.
    let (status, _) = status_and_body(app.login("dave", STAFF_PASSWORD).await).await;
    assert_eq!(status, 423);
    app.clock.advance(TimeDelta::minutes(14));
    assert_eq!(app.login("dave", STAFF_PASSWORD).await.status(), 423);
    app.clock.advance(TimeDelta::minutes(1));
    app.login_ok("dave", STAFF_PASSWORD).await;

    // Failures spread wider than the window never lock.
    for _ in 0..6 {
        assert_eq!(app.login("dave", "wrong-pass-1").await.status(), 401);
        app.clock.advance(TimeDelta::minutes(4));
    }
    // Unknown names lock the same way, so locking reveals nothing.
    for _ in 0..4 {
        assert_eq!(app.login("ghost", "wrong-pass-1").await.status(), 401);
    }
    assert_eq!(app.login("ghost", "wrong-pass-1").await.status(), 423);

    // The admin's access token has expired meanwhile (the clock moved 39 minutes).
    let admin = app.login_ok("admin", ADMIN_PASSWORD).await;
    let admin = admin["access_token"].as_str().unwrap();
    let (_, logs) = status_and_body(app.get("/logs/login?result=locked", admin).await).await;
    assert!(logs["total"].as_u64().unwrap() >= 4, "{logs}");
}

#[actix_web::test]
async fn lockout_settings_come_from_the_config() {
    let app = start_with(AuthConfig {
        lockout_threshold: 2,
        lockout_minutes: 1,
        ..test_config()
    })
    .await;
    assert_eq!(app.login("admin", "bad-pass-1").await.status(), 401);
    assert_eq!(app.login("admin", "bad-pass-1").await.status(), 423);
    app.clock.advance(TimeDelta::seconds(61));
    app.login_ok("admin", &app.initial_password).await;
}

#[actix_web::test]
async fn login_attempts_are_rate_limited_per_address() {
    let app = start_with(AuthConfig {
        login_rate_per_minute: 6,
        login_rate_burst: 3,
        ..AuthConfig::default()
    })
    .await;
    for _ in 0..3 {
        assert_eq!(app.login("someone", "bad-pass-1").await.status(), 401);
    }
    let (status, body) = status_and_body(app.login("admin", &app.initial_password).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("RATE_LIMITED")),
        "{body}"
    );
    assert!(body["details"]["retry_after_seconds"].as_u64().unwrap() >= 1);
    app.clock.advance(TimeDelta::seconds(10));
    app.login_ok("admin", &app.initial_password).await;
}

#[actix_web::test]
async fn bad_input_is_refused_per_field_and_writes_nothing() {
    let app = start().await;
    let admin = app.admin_token().await;
    let (status, body) = status_and_body(
        app.post(
            "/users",
            &admin,
            json!({"username": "x y", "display_name": " ", "password": "abc", "role_ids": []}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("VALIDATION_FAILED"))
    );
    let fields = &body["details"]["fields"];
    for field in ["username", "display_name", "password", "role_ids"] {
        assert!(fields[field].is_array(), "{field} in {body}");
    }
    let (_, users) = status_and_body(app.get("/users", &admin).await).await;
    assert_eq!(users["total"], 1, "nothing written");

    let (status, body) = status_and_body(
        app.post(
            "/users",
            &admin,
            json!({"username": "eve", "display_name": "Eve",
            "password": "Good-pass-1", "role_ids": ["01JDZ8Q7Y7E3K9V6S2M4T1R0PA"]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400, "unknown role: {body}");
    assert!(body["details"]["fields"]["role_ids"].is_array());
    let (status, body) = status_and_body(
        app.post(
            "/roles",
            &admin,
            json!({"code": "ops", "name": "Ops", "permissions": ["system:nope:x"]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["details"]["fields"]["permissions"].is_array());
    let (status, _) = status_and_body(app.get("/users?sort=password_hash", &admin).await).await;
    assert_eq!(status, 400);
    let (status, _) = status_and_body(app.get("/users?page_size=1000", &admin).await).await;
    assert_eq!(status, 400);
    let (status, body) = status_and_body(app.get("/users/not-a-ulid", &admin).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("VALIDATION_FAILED"))
    );
    assert!(body["details"]["fields"]["id"].is_array(), "{body}");
    let (_, roles) = status_and_body(app.get("/roles", &admin).await).await;
    assert_eq!(roles["total"], 1, "nothing written");
}

#[actix_web::test]
async fn usernames_are_unique_case_insensitively_and_lists_filter_sort_and_page() {
    let app = start().await;
    let admin = app.admin_token().await;
    let role = app
        .create_role(&admin, "viewer", &["system:user:list"])
        .await;
    for name in ["zoe", "Yann", "xavier"] {
        app.create_user(&admin, name, &[&role]).await;
    }
    let (status, body) = status_and_body(
        app.post(
            "/users",
            &admin,
            json!({"username": "ZOE", "display_name": "Z",
            "password": "Good-pass-1", "role_ids": [role]}),
        )
        .await,
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("CONFLICT")));

    let (_, page) = status_and_body(
        app.get("/users?sort=username&page=1&page_size=2", &admin)
            .await,
    )
    .await;
    assert_eq!(page["total"], 4);
    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "xavier"]);
    let (_, page) = status_and_body(
        app.get("/users?sort=-username&page=1&page_size=2", &admin)
            .await,
    )
    .await;
    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["zoe", "Yann"]);
    let (_, page) =
        status_and_body(app.get(&format!("/users?role_id={role}&q=A"), &admin).await).await;
    assert_eq!(page["total"], 2, "{page}");
    let user: &Value = &page["items"][0];
    assert!(user.get("password_hash").is_none() && !user.to_string().contains("argon2"));
}

/// A stranger's wrong passwords lock the name only for the stranger's address, each lock in a
/// row lasts twice as long, and staff holding `system:user:unlock` (or a password reset) lift
/// the locks (`docs/security.md#lockout`).
#[actix_web::test]
async fn a_stranger_cannot_lock_staff_out() {
    let app = start().await;
    let admin = app.admin_token().await;
    let (erin, _, _) = app.staff_with(&admin, "erin", &["system:user:list"]).await;
    let stranger = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let login_as_stranger = |password: &'static str| {
        let stranger = stranger.clone();
        let url = format!("{}/api/v1/admin/auth/login", app.base);
        async move {
            let response = stranger
                .post(url)
                .json(&json!({"username": "erin", "password": password}))
                .send()
                .await
                .unwrap();
            status_and_body(response).await
        }
    };
    for _ in 0..4 {
        assert_eq!(login_as_stranger("wrong-pass-1").await.0, 401);
    }
    let (status, locked) = login_as_stranger("wrong-pass-1").await;
    assert_eq!(
        (status, locked["code"].as_str()),
        (423, Some("ACCOUNT_LOCKED"))
    );
    // Erin, from her own address, is not locked out.
    app.login_ok("erin", STAFF_PASSWORD).await;
    assert_eq!(login_as_stranger(STAFF_PASSWORD).await.0, 423);

    // The second lock in a row lasts twice as long (30 minutes).
    app.clock.advance(TimeDelta::minutes(15));
    for _ in 0..4 {
        assert_eq!(login_as_stranger("wrong-pass-1").await.0, 401);
    }
    let (_, locked) = login_as_stranger("wrong-pass-1").await;
    app.clock.advance(TimeDelta::minutes(29));
    assert_eq!(login_as_stranger(STAFF_PASSWORD).await.0, 423, "{locked}");

    // Staff lift it; the right password then works from there too.
    let admin = app.login_ok("admin", ADMIN_PASSWORD).await;
    let admin = admin["access_token"].as_str().unwrap();
    let (_, _, clerk) = app
        .staff_with(
            admin,
            "unlocker",
            &["system:user:unlock", "system:user:list"],
        )
        .await;
    let (status, body) = status_and_body(
        app.post(&format!("/users/{erin}/unlock"), &clerk, json!({}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(login_as_stranger(STAFF_PASSWORD).await.0, 200);
    // The unlock is in the operation log.
    let (_, logs) = status_and_body(
        app.get(&format!("/logs/operations?target_id={erin}"), admin)
            .await,
    )
    .await;
    assert!(
        logs["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|entry| entry["operation"] == "unlock staff user"),
        "{logs}"
    );

    // A password reset lifts a lock as well.
    for _ in 0..5 {
        login_as_stranger("wrong-pass-1").await;
    }
    assert_eq!(login_as_stranger(STAFF_PASSWORD).await.0, 423);
    let response = app
        .post(
            &format!("/users/{erin}/reset-password"),
            admin,
            json!({"password": "Fresh-start-2026"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(login_as_stranger("Fresh-start-2026").await.0, 200);
}

/// Guessing the current password through a signed-in session counts like guessing at the
/// sign-in: the fifth wrong guess locks the name for that address and ends the session.
#[actix_web::test]
async fn guessing_through_the_password_change_locks_too() {
    let app = start().await;
    let admin = app.admin_token().await;
    let (_, _, token) = app.staff_with(&admin, "fay", &["system:user:list"]).await;
    for _ in 0..4 {
        let (status, body) = status_and_body(
            app.send(
                Method::PUT,
                "/auth/password",
                Some(&token),
                Some(json!({"old": "guess-pass-1", "new": "Another-pass-2026"})),
            )
            .await,
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("VALIDATION_FAILED"))
        );
    }
    let (status, body) = status_and_body(
        app.send(
            Method::PUT,
            "/auth/password",
            Some(&token),
            Some(json!({"old": "guess-pass-1", "new": "Another-pass-2026"})),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (423, Some("ACCOUNT_LOCKED")),
        "{body}"
    );
    assert_eq!(app.get("/users", &token).await.status(), 401);
    assert_eq!(app.login("fay", STAFF_PASSWORD).await.status(), 423);
}

/// `X-Forwarded-For` names the client only when the peer is a trusted proxy; otherwise it is
/// ignored, so a forged header neither hides an attacker nor frames someone else
/// (`docs/security.md#client-addresses`).
#[actix_web::test]
async fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
    async fn failed_login_from(app: &common::TestApp, forwarded: &str, username: &str) -> u16 {
        let response = app
            .client
            .post(app.url("/auth/login"))
            .header("x-forwarded-for", forwarded)
            .json(&json!({"username": username, "password": "wrong-pass-1"}))
            .send()
            .await
            .unwrap();
        response.status().as_u16()
    }
    async fn logged_address(app: &common::TestApp, admin: &str, username: &str) -> Value {
        let (_, logs) = status_and_body(
            app.get(&format!("/logs/login?username={username}"), admin)
                .await,
        )
        .await;
        logs["items"][0]["ip"].clone()
    }

    let direct = start().await;
    let admin = direct.admin_token().await;
    assert_eq!(
        failed_login_from(&direct, "203.0.113.7", "forger").await,
        401
    );
    assert_eq!(logged_address(&direct, &admin, "forger").await, "127.0.0.1");

    let proxied = common::spawn_app(common::TestOptions {
        trusted_proxies: vec!["127.0.0.1/32".to_owned()],
        ..common::TestOptions::default()
    })
    .await;
    let admin = proxied.admin_token().await;
    assert_eq!(
        failed_login_from(&proxied, "6.6.6.6, 203.0.113.7", "visitor").await,
        401
    );
    assert_eq!(
        logged_address(&proxied, &admin, "visitor").await,
        "203.0.113.7"
    );
    // Locks follow the client behind the proxy, not the proxy.
    for attempt in 1..=5 {
        let status = failed_login_from(&proxied, "203.0.113.9", "admin").await;
        assert_eq!(status, if attempt < 5 { 401 } else { 423 });
    }
    let response = proxied
        .client
        .post(proxied.url("/auth/login"))
        .header("x-forwarded-for", "203.0.113.9")
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 423);
    proxied.login_ok("admin", ADMIN_PASSWORD).await;
}
