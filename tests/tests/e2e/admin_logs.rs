//! Operation, access and login logs, and their retention.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use topup_tests as common;

use chrono::TimeDelta;
use common::{ADMIN_PASSWORD, eventually, start, start_with, status_and_body, test_config};
use serde_json::json;
use topup_auth::AuthConfig;

#[actix_web::test]
async fn admin_writes_are_logged_with_masked_before_and_after() {
    let app = start().await;
    let admin = app.admin_token().await;
    let (user, role, _) = app.staff_with(&admin, "leo", &["system:user:list"]).await;
    let response = app
        .post(
            &format!("/users/{user}/reset-password"),
            &admin,
            json!({"password": "Temp-pass-88"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    // A refused write is logged too.
    let response = app.delete(&format!("/roles/{role}"), &admin).await;
    assert_eq!(response.status(), 409);

    let (status, page) =
        status_and_body(app.get("/logs/operations?page_size=100", &admin).await).await;
    assert_eq!(status, 200, "{page}");
    let items = page["items"].as_array().unwrap();
    let text = page.to_string();
    assert!(!text.contains("$argon2"), "no password hash in the log");
    assert!(
        !text.contains("Temp-pass-88") && !text.contains(ADMIN_PASSWORD),
        "no password"
    );

    let reset = items
        .iter()
        .find(|i| i["permission"] == "system:user:reset-password")
        .unwrap();
    assert_eq!(reset["actor_username"], "admin");
    assert_eq!(reset["operation"], "reset staff password");
    assert_eq!(
        (reset["target_type"].as_str(), reset["target_id"].as_str()),
        (Some("staff_user"), Some(user.as_str()))
    );
    assert_eq!(reset["result"], "success");
    assert_eq!(reset["before"]["password_hash"], "***");
    assert_eq!(reset["after"]["password_hash"], "***");
    assert_eq!(reset["before"]["must_change_password"], false);
    assert_eq!(reset["after"]["must_change_password"], true);
    assert_eq!(reset["ip"], "127.0.0.1");
    assert!(reset["duration_ms"].is_u64());

    let refused = items
        .iter()
        .find(|i| i["permission"] == "system:role:delete")
        .unwrap();
    assert_eq!(refused["result"], "failure");
    assert_eq!(refused["error_code"], "ROLE_IN_USE");
    assert_eq!(refused["target_id"], role.as_str());

    let created = items
        .iter()
        .find(|i| i["permission"] == "system:user:create")
        .unwrap();
    assert!(created["before"].is_null());
    assert_eq!(created["after"]["username"], "leo");
    // The admin's own password change is there as a self-service operation.
    assert!(
        items
            .iter()
            .any(|i| i["permission"] == "authenticated" && i["operation"] == "change own password")
    );

    let (_, filtered) = status_and_body(
        app.get(
            &format!("/logs/operations?target_id={user}&result=success"),
            &admin,
        )
        .await,
    )
    .await;
    assert_eq!(filtered["total"], 2, "create + reset: {filtered}");
    let (_, failures) = status_and_body(
        app.get("/logs/operations?result=failure&actor=ADM", &admin)
            .await,
    )
    .await;
    assert_eq!(failures["total"], 1);
}

#[actix_web::test]
async fn admin_requests_reach_the_access_log_off_the_request_path() {
    let app = start().await;
    let admin = app.admin_token().await;
    let (user, _, token) = app.staff_with(&admin, "mia", &["system:user:list"]).await;
    assert_eq!(
        app.get(&format!("/users/{user}"), &token).await.status(),
        200
    );
    assert_eq!(app.get("/roles", &token).await.status(), 403);
    let path = "/api/v1/admin/users/{id}";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let entries = loop {
        let (_, page) = status_and_body(
            app.get("/logs/access?actor=mia&page_size=100", &admin)
                .await,
        )
        .await;
        let found = page["items"].as_array().is_some_and(|items| {
            items.iter().any(|i| i["path"] == path) && items.iter().any(|i| i["status"] == 403)
        });
        if found {
            break page;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no access log entry: {page}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let items = entries["items"].as_array().unwrap();
    let hit = items.iter().find(|i| i["path"] == path).unwrap();
    assert_eq!(hit["method"], "GET");
    assert_eq!(hit["status"], 200);
    assert_eq!(hit["actor_username"], "mia");
    assert_eq!(hit["actor_id"], user.as_str());
    assert_eq!(hit["user_agent"], "topup-tests/1.0");
    assert_eq!(hit["ip"], "127.0.0.1");
    assert!(hit["request_id"].as_str().is_some_and(|id| id.len() == 26));
    // Anonymous requests are logged without an actor.
    let (_, page) =
        status_and_body(app.get("/logs/access?path=login&method=post", &admin).await).await;
    assert!(page["total"].as_u64().unwrap() >= 1, "{page}");
    assert!(page["items"][0]["actor_id"].is_null());
}

#[actix_web::test]
async fn a_zero_sample_rate_keeps_the_access_log_empty() {
    let app = start_with(AuthConfig {
        access_log_sample_rate: 0.0,
        ..test_config()
    })
    .await;
    let admin = app.admin_token().await;
    for _ in 0..5 {
        assert_eq!(app.get("/users", &admin).await.status(), 200);
    }
    // Logins are written synchronously; if access entries were sampled they would be
    // queued before this read.
    let (_, page) = status_and_body(app.get("/logs/access", &admin).await).await;
    assert_eq!(page["total"], 0);
}

#[actix_web::test]
async fn the_purge_job_drops_entries_past_retention() {
    let app = start_with(AuthConfig {
        log_retention_days: 30,
        ..test_config()
    })
    .await;
    let admin = app.admin_token().await;
    assert_eq!(app.login("ghost", "bad-pass-1").await.status(), 401);
    assert_eq!(app.get("/users", &admin).await.status(), 200);
    eventually("an access log entry", || async {
        let (_, page) = status_and_body(app.get("/logs/access", &admin).await).await;
        page["total"].as_u64().unwrap_or(0) > 0
    })
    .await;

    // Nothing is old enough yet.
    let report = app.auth.purge().await.unwrap();
    assert_eq!(
        (report.login_logs, report.operation_logs, report.access_logs),
        (0, 0, 0)
    );

    app.clock.advance(TimeDelta::days(31));
    let fresh = app.login_ok("admin", ADMIN_PASSWORD).await;
    let fresh = fresh["access_token"].as_str().unwrap();
    let report = app.auth.purge().await.unwrap();
    assert!(report.login_logs >= 2, "{report:?}");
    assert!(report.operation_logs >= 1, "{report:?}");
    assert!(report.access_logs >= 1, "{report:?}");
    assert!(
        report.sessions >= 1,
        "the session ended by the password change: {report:?}"
    );
    assert!(report.refresh_tokens >= 1, "{report:?}");
    assert_eq!(
        report.lockouts, 1,
        "the failed attempt's counter: {report:?}"
    );

    let (_, logins) = status_and_body(app.get("/logs/login", fresh).await).await;
    assert_eq!(
        logins["total"], 1,
        "only the login after the purge: {logins}"
    );
    let (_, operations) = status_and_body(app.get("/logs/operations", fresh).await).await;
    assert_eq!(operations["total"], 0);
    // The live session survived.
    assert_eq!(app.get("/auth/me", fresh).await.status(), 200);
}
