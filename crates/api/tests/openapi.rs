//! `openapi/openapi.json` is committed so integrators can read it without building; this test
//! fails when the code's document differs from it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

#[test]
fn committed_openapi_document_matches_the_code() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../openapi/openapi.json");
    let generated = topup_api::openapi_document().to_pretty_json().unwrap() + "\n";
    if std::env::var_os("TOPUP_UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/openapi.json is out of date; regenerate it with\n\n    \
         cargo run -q -p topup-server -- openapi > openapi/openapi.json\n\n\
         (or TOPUP_UPDATE_OPENAPI=1 cargo test -p topup-api --test openapi) and commit it"
    );
}

#[test]
fn every_operation_documents_the_error_envelope() {
    let doc = serde_json::to_value(topup_api::openapi_document()).unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            assert!(
                operation["responses"]["default"].is_object(),
                "{method} {path} has no error response"
            );
        }
    }
}

#[test]
fn every_admin_operation_declares_its_permission_or_says_why_not() {
    let doc = serde_json::to_value(topup_api::openapi_document()).unwrap();
    let mut admin_operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with(topup_api::ADMIN_PREFIX) {
            continue;
        }
        for (method, operation) in item.as_object().unwrap() {
            admin_operations += 1;
            let permission = operation["x-permission"].as_str();
            let authenticated_only = operation["x-authenticated-only"] == true;
            let public = operation["x-public"] == true;
            let marks = [permission.is_some(), authenticated_only, public];
            assert_eq!(
                marks.iter().filter(|m| **m).count(),
                1,
                "{method} {path} needs exactly one of x-permission, x-authenticated-only, x-public"
            );
            let route = path.trim_start_matches(topup_api::ADMIN_PREFIX);
            if public {
                assert!(
                    ["/auth/login", "/auth/refresh"].contains(&route),
                    "{method} {path} must not be public"
                );
            }
            if authenticated_only {
                assert!(
                    // Global search answers each kind of result only with its page's
                    // permission (the pages from the caller's own menu tree, as /auth/me).
                    ["/auth/me", "/auth/logout", "/auth/password", "/search"].contains(&route),
                    "{method} {path} must require a permission"
                );
            }
            if let Some(code) = permission {
                assert!(
                    topup_auth::perm::ALL.contains(&code),
                    "{code} is not a declared permission"
                );
                assert!(operation["description"].as_str().unwrap().contains(code));
                assert!(operation["responses"]["403"].is_object());
            }
            if !public {
                assert_eq!(operation["security"][0]["bearer"], serde_json::json!([]));
                assert!(operation["responses"]["401"].is_object());
            }
        }
    }
    assert!(admin_operations >= 28, "{admin_operations}");
    let ids: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .map(|op| op["operationId"].as_str().unwrap())
        .collect();
    let unique: std::collections::HashSet<&&str> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "operation ids are unique");
}

#[test]
fn every_app_operation_needs_an_app_token_except_login() {
    let doc = serde_json::to_value(topup_api::openapi_document()).unwrap();
    let mut app_operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with(topup_api::APP_PREFIX) {
            continue;
        }
        for (method, operation) in item.as_object().unwrap() {
            app_operations += 1;
            let public = operation["x-public"] == true;
            let app_user = operation["x-app-user"] == true;
            assert!(
                public != app_user,
                "{method} {path} needs exactly one of x-public, x-app-user"
            );
            assert!(
                operation["x-permission"].is_null(),
                "{method} {path}: app routes take no staff permission"
            );
            if public {
                // Login, and browsing the catalog (what can be bought needs no account).
                assert!(
                    path == "/api/v1/app/auth/login" || path.starts_with("/api/v1/app/catalog/"),
                    "{method} {path} must not be public"
                );
            } else {
                assert_eq!(
                    operation["security"][0]["app_bearer"],
                    serde_json::json!([])
                );
                assert!(operation["responses"]["401"].is_object());
                assert!(operation["responses"]["403"].is_object());
            }
        }
    }
    assert!(app_operations >= 6, "{app_operations}");
}

#[test]
fn every_request_body_has_an_example() {
    let doc = serde_json::to_value(topup_api::openapi_document()).unwrap();
    let schemas = &doc["components"]["schemas"];
    let mut missing = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Some(content) = operation["requestBody"]["content"].as_object() else {
                continue;
            };
            for (media, body) in content {
                let schema = &body["schema"];
                let named = schema["$ref"]
                    .as_str()
                    .and_then(|r| r.rsplit('/').next())
                    .map(|name| &schemas[name]);
                let has = |s: &serde_json::Value| {
                    s.get("example").is_some()
                        || s["examples"].as_array().is_some_and(|e| !e.is_empty())
                };
                if !(has(body) || has(schema) || named.is_some_and(has)) {
                    missing.push(format!("{method} {path} ({media})"));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "request bodies without an example: {missing:#?}"
    );
}

/// The document and the router come from separate declarations (each module's `routes!` and
/// its `#[utoipa::path]`s): they must name the same routes, so the RBAC walk over the
/// document covers everything served.
#[test]
fn the_document_and_the_router_name_the_same_routes() {
    use std::collections::BTreeSet;
    let doc = serde_json::to_value(topup_api::openapi_document()).unwrap();
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .iter()
                .filter(|(_, operation)| {
                    // Served by Swagger UI's service and by the sandbox mounts, not by routes!.
                    let tags = operation["tags"].as_array().cloned().unwrap_or_default();
                    !tags.iter().any(|t| t == "sandbox")
                })
                .map(move |(method, _)| (method.clone(), path.clone()))
        })
        .filter(|(_, path)| path != "/openapi.json" && path != "/docs/")
        .collect();
    let registered: BTreeSet<(String, String)> =
        topup_api::registered_routes().into_iter().collect();
    let undocumented: Vec<_> = registered.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&registered).collect();
    assert!(
        undocumented.is_empty() && unserved.is_empty(),
        "registered but not in the OpenAPI document: {undocumented:?}\n\
         documented but not registered: {unserved:?}"
    );
}
