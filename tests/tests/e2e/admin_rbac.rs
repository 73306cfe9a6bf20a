//! Role-based access control over real HTTP: every admin operation in the OpenAPI document
//! is walked, revocation is immediate, and the guards hold.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use topup_tests as common;

use common::{STAFF_PASSWORD, TestApp, start, status_and_body};
use reqwest::Method;
use serde_json::{Value, json};

struct Operation {
    method: Method,
    path: String,
    permission: Option<String>,
    public: bool,
}

fn admin_operations() -> Vec<Operation> {
    let doc = serde_json::to_value(topup_api::openapi_document()).unwrap();
    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with(topup_api::ADMIN_PREFIX) {
            continue;
        }
        for (method, operation) in item.as_object().unwrap() {
            operations.push(Operation {
                method: Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                path: path[topup_api::ADMIN_PREFIX.len()..]
                    .replace("{id}", &ulid::Ulid::new().to_string()),
                permission: operation["x-permission"].as_str().map(str::to_owned),
                public: operation["x-public"] == true,
            });
        }
    }
    operations
}

/// A body for writes, so that what is tested is the permission and not a missing body.
fn body_for(operation: &Operation) -> Option<Value> {
    matches!(operation.method, Method::POST | Method::PUT).then(|| json!({}))
}

#[actix_web::test]
async fn every_admin_operation_checks_session_then_its_own_permission() {
    let app = start().await;
    let admin = app.admin_token().await;
    let operations = admin_operations();
    assert!(
        operations.len() >= 28,
        "found only {} admin operations",
        operations.len()
    );
    let all: Vec<&str> = topup_auth::perm::ALL.to_vec();
    let mut checked = 0;
    for (n, operation) in operations.iter().enumerate() {
        let label = format!("{} {}", operation.method, operation.path);
        if operation.public {
            continue;
        }
        let (status, body) = status_and_body(
            app.send(
                operation.method.clone(),
                &operation.path,
                None,
                body_for(operation),
            )
            .await,
        )
        .await;
        assert_eq!(status, 401, "{label} without a token: {body}");
        match &operation.permission {
            Some(code) => {
                let others: Vec<&str> = all.iter().copied().filter(|c| c != code).collect();
                let (_, _, without) = app
                    .staff_with(&admin, &format!("without{n}"), &others)
                    .await;
                let (status, body) = status_and_body(
                    app.send(
                        operation.method.clone(),
                        &operation.path,
                        Some(&without),
                        body_for(operation),
                    )
                    .await,
                )
                .await;
                assert_eq!(
                    status, 403,
                    "{label} with every permission but {code}: {body}"
                );
                assert_eq!(body["code"], "FORBIDDEN");
                assert_eq!(body["details"]["permission"], code.as_str());

                let (_, _, with) = app.staff_with(&admin, &format!("with{n}"), &[code]).await;
                let (status, body) = status_and_body(
                    app.send(
                        operation.method.clone(),
                        &operation.path,
                        Some(&with),
                        body_for(operation),
                    )
                    .await,
                )
                .await;
                assert!(
                    status != 401 && status != 403,
                    "{label} with exactly {code}: {status} {body}"
                );
            }
            None => {
                // Self-service: any signed-in staff member, no permission needed.
                let (_, _, nobody) = app.staff_with(&admin, &format!("self{n}"), &[]).await;
                let (status, body) = status_and_body(
                    app.send(
                        operation.method.clone(),
                        &operation.path,
                        Some(&nobody),
                        body_for(operation),
                    )
                    .await,
                )
                .await;
                assert!(status != 401 && status != 403, "{label}: {status} {body}");
            }
        }
        checked += 1;
    }
    assert!(checked >= 26);
}

async fn expect(app: &TestApp, response: reqwest::Response, status: u16, code: &str) -> Value {
    let _ = app;
    let (got, body) = status_and_body(response).await;
    assert_eq!(
        (got, body["code"].as_str().unwrap_or_default()),
        (status, code),
        "{body}"
    );
    body
}

#[actix_web::test]
async fn disabling_a_user_ends_their_sessions_at_once() {
    let app = start().await;
    let admin = app.admin_token().await;
    let (user, _, token) = app.staff_with(&admin, "frank", &["system:user:list"]).await;
    assert_eq!(app.get("/users", &token).await.status(), 200);
    let pair = app.login_ok("frank", STAFF_PASSWORD).await;
    let response = app
        .post(&format!("/users/{user}/disable"), &admin, json!({}))
        .await;
    assert_eq!(response.status(), 200);
    expect(&app, app.get("/users", &token).await, 401, "UNAUTHORIZED").await;
    let refreshed = app
        .send(
            Method::POST,
            "/auth/refresh",
            None,
            Some(json!({"refresh_token": pair["refresh_token"]})),
        )
        .await;
    assert_eq!(refreshed.status(), 401);
    // A disabled account cannot sign in; the right password says so, a wrong one does not.
    expect(
        &app,
        app.login("frank", STAFF_PASSWORD).await,
        403,
        "ACCOUNT_DISABLED",
    )
    .await;
    expect(
        &app,
        app.login("frank", "wrong-pass-9").await,
        401,
        "INVALID_CREDENTIALS",
    )
    .await;
    let response = app
        .post(&format!("/users/{user}/enable"), &admin, json!({}))
        .await;
    assert_eq!(response.status(), 200);
    app.login_ok("frank", STAFF_PASSWORD).await;
}

#[actix_web::test]
async fn narrowing_roles_or_permissions_applies_to_the_next_request() {
    let app = start().await;
    let admin = app.admin_token().await;
    let (user, role, token) = app
        .staff_with(&admin, "grace", &["system:user:list", "system:role:list"])
        .await;
    assert_eq!(app.get("/roles", &token).await.status(), 200);
    // The role loses a permission.
    let response = app
        .put(
            &format!("/roles/{role}/permissions"),
            &admin,
            json!({"permissions": ["system:user:list"]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    expect(&app, app.get("/roles", &token).await, 403, "FORBIDDEN").await;
    assert_eq!(app.get("/users", &token).await.status(), 200);
    // The user is moved to a role without it.
    let other = app
        .create_role(&admin, "menus_only", &["system:menu:list"])
        .await;
    let response = app
        .put(
            &format!("/users/{user}/roles"),
            &admin,
            json!({"role_ids": [other]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    expect(&app, app.get("/users", &token).await, 403, "FORBIDDEN").await;
    assert_eq!(app.get("/menus", &token).await.status(), 200);
    // A disabled role grants nothing.
    let response = app
        .put(
            &format!("/roles/{other}"),
            &admin,
            json!({"name": "menus", "enabled": false}),
        )
        .await;
    assert_eq!(response.status(), 200);
    expect(&app, app.get("/menus", &token).await, 403, "FORBIDDEN").await;
    // Widening works the same way.
    let response = app
        .put(
            &format!("/users/{user}/roles"),
            &admin,
            json!({"role_ids": [role]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.get("/users", &token).await.status(), 200);
}

#[actix_web::test]
async fn force_logout_and_admin_password_reset_end_sessions() {
    let app = start().await;
    let admin = app.admin_token().await;
    let (user, _, token) = app.staff_with(&admin, "heidi", &["system:user:list"]).await;
    let (status, sessions) =
        status_and_body(app.get("/sessions?username=heidi", &admin).await).await;
    assert_eq!(status, 200);
    assert_eq!(sessions["total"], 1, "{sessions}");
    let session = &sessions["items"][0];
    assert_eq!(session["username"], "heidi");
    assert_eq!(session["ip"], "127.0.0.1");
    assert_eq!(session["user_agent"], "topup-tests/1.0");
    assert_eq!(session["current"], false);
    let (_, mine) = status_and_body(app.get("/sessions?username=admin", &admin).await).await;
    assert_eq!(mine["items"][0]["current"], true);

    let id = session["id"].as_str().unwrap();
    let response = app.delete(&format!("/sessions/{id}"), &admin).await;
    assert_eq!(response.status(), 200);
    expect(&app, app.get("/users", &token).await, 401, "UNAUTHORIZED").await;
    expect(
        &app,
        app.delete(&format!("/sessions/{id}"), &admin).await,
        404,
        "NOT_FOUND",
    )
    .await;
    let (_, sessions) = status_and_body(app.get("/sessions?username=heidi", &admin).await).await;
    assert_eq!(sessions["total"], 0);

    let token = app.login_ok("heidi", STAFF_PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = app
        .post(
            &format!("/users/{user}/reset-password"),
            &admin,
            json!({"password": "Temp-pass-77"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    expect(&app, app.get("/users", &token).await, 401, "UNAUTHORIZED").await;
    let pair = app.login_ok("heidi", "Temp-pass-77").await;
    assert_eq!(pair["must_change_password"], true);
    let token = pair["access_token"].as_str().unwrap();
    expect(
        &app,
        app.get("/users", token).await,
        403,
        "PASSWORD_CHANGE_REQUIRED",
    )
    .await;
}

#[actix_web::test]
async fn nobody_disables_themselves_or_the_last_super_admin() {
    let app = start().await;
    let admin = app.admin_token().await;
    let (_, me) = status_and_body(app.get("/auth/me", &admin).await).await;
    let admin_id = me["user"]["id"].as_str().unwrap().to_owned();
    let super_role = me["roles"][0]["id"].as_str().unwrap().to_owned();
    expect(
        &app,
        app.post(&format!("/users/{admin_id}/disable"), &admin, json!({}))
            .await,
        409,
        "SELF_MODIFICATION",
    )
    .await;

    // Nobody changes their own roles, not even the super-admin.
    expect(
        &app,
        app.put(
            &format!("/users/{admin_id}/roles"),
            &admin,
            json!({"role_ids": [super_role]}),
        )
        .await,
        409,
        "SELF_MODIFICATION",
    )
    .await;

    // Only a super-admin disables or demotes a super-admin.
    let (ivan, _, ivan_token) = app
        .staff_with(
            &admin,
            "ivan",
            &["system:user:disable", "system:user:assign-roles"],
        )
        .await;
    expect(
        &app,
        app.post(
            &format!("/users/{admin_id}/disable"),
            &ivan_token,
            json!({}),
        )
        .await,
        403,
        "GRANT_EXCEEDED",
    )
    .await;
    expect(
        &app,
        app.put(
            &format!("/users/{admin_id}/roles"),
            &ivan_token,
            json!({"role_ids": [ivan_role(&app, &admin, &ivan).await]}),
        )
        .await,
        403,
        "GRANT_EXCEEDED",
    )
    .await;
    let response = app
        .put(
            &format!("/users/{ivan}/roles"),
            &admin,
            json!({"role_ids": [super_role]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    // Now there are two enabled super-admins: one may disable the other.
    let response = app
        .post(
            &format!("/users/{admin_id}/disable"),
            &ivan_token,
            json!({}),
        )
        .await;
    assert_eq!(response.status(), 200);
    expect(&app, app.get("/auth/me", &admin).await, 401, "UNAUTHORIZED").await;
    expect(
        &app,
        app.post(&format!("/users/{ivan}/disable"), &ivan_token, json!({}))
            .await,
        409,
        "SELF_MODIFICATION",
    )
    .await;

    // The built-in role cannot be deleted, disabled or narrowed, even by a super-admin.
    expect(
        &app,
        app.delete(&format!("/roles/{super_role}"), &ivan_token)
            .await,
        409,
        "BUILTIN_PROTECTED",
    )
    .await;
    expect(
        &app,
        app.put(
            &format!("/roles/{super_role}"),
            &ivan_token,
            json!({"name": "x", "enabled": false}),
        )
        .await,
        409,
        "BUILTIN_PROTECTED",
    )
    .await;
    expect(
        &app,
        app.put(
            &format!("/roles/{super_role}/permissions"),
            &ivan_token,
            json!({"permissions": []}),
        )
        .await,
        409,
        "BUILTIN_PROTECTED",
    )
    .await;
    let renamed = app
        .put(
            &format!("/roles/{super_role}"),
            &ivan_token,
            json!({"name": "Root", "enabled": true}),
        )
        .await;
    assert_eq!(renamed.status(), 200);
}

async fn ivan_role(app: &TestApp, admin: &str, ivan: &str) -> String {
    let (_, user) = status_and_body(app.get(&format!("/users/{ivan}"), admin).await).await;
    user["roles"][0]["id"].as_str().unwrap().to_owned()
}

#[actix_web::test]
async fn a_role_in_use_cannot_be_deleted() {
    let app = start().await;
    let admin = app.admin_token().await;
    let (user, role, _) = app.staff_with(&admin, "judy", &["system:user:list"]).await;
    let body = expect(
        &app,
        app.delete(&format!("/roles/{role}"), &admin).await,
        409,
        "ROLE_IN_USE",
    )
    .await;
    assert_eq!(body["details"]["users"], 1);
    assert!(body["message"].as_str().unwrap().contains("r_judy"));
    let spare = app.create_role(&admin, "spare", &[]).await;
    let response = app
        .put(
            &format!("/users/{user}/roles"),
            &admin,
            json!({"role_ids": [spare]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        app.delete(&format!("/roles/{role}"), &admin).await.status(),
        204
    );
    expect(
        &app,
        app.get(&format!("/roles/{role}"), &admin).await,
        404,
        "NOT_FOUND",
    )
    .await;
}

#[actix_web::test]
async fn menus_are_managed_and_me_shows_only_what_the_user_may_open() {
    let app = start().await;
    let admin = app.admin_token().await;
    let (status, tree) = status_and_body(app.get("/menus", &admin).await).await;
    assert_eq!(status, 200);
    assert_eq!(
        (tree[0]["key"].as_str(), tree[1]["key"].as_str()),
        (Some("dashboard"), Some("users")),
        "ordered: the home page's figures (0), users (100), …, system (900)"
    );
    let system = root(&tree, "system");
    assert_eq!(
        (system["key"].as_str(), system["kind"].as_str()),
        (Some("system"), Some("directory"))
    );
    let users_menu = &system["children"][0];
    assert_eq!(users_menu["key"], "system.users");
    assert_eq!(users_menu["children"][0]["kind"], "button");
    let system_id = system["id"].as_str().unwrap().to_owned();
    let users_id = users_menu["id"].as_str().unwrap().to_owned();

    // A custom directory with a menu and a button for a future module.
    let created = app
        .post(
            "/menus",
            &admin,
            json!({"kind": "directory", "name": "Reports", "path": "/reports", "order": 5}),
        )
        .await;
    assert_eq!(created.status(), 201);
    let reports: Value = created.json().await.unwrap();
    let reports_id = reports["id"].as_str().unwrap().to_owned();
    assert_eq!(reports["builtin"], false);
    let created = app
        .post("/menus", &admin, json!({"kind": "menu", "name": "Daily", "parent_id": reports_id,
            "permission": "report:daily:list", "path": "/reports/daily", "component": "reports/daily"}))
        .await;
    assert_eq!(created.status(), 201);
    let daily: Value = created.json().await.unwrap();
    let daily_id = daily["id"].as_str().unwrap().to_owned();
    expect(
        &app,
        app.post("/menus", &admin, json!({"kind": "button", "name": "X"}))
            .await,
        400,
        "VALIDATION_FAILED",
    )
    .await;
    expect(
        &app,
        app.post(
            "/menus",
            &admin,
            json!({"kind": "menu", "name": "X", "permission": "Bad Code"}),
        )
        .await,
        400,
        "VALIDATION_FAILED",
    )
    .await;
    expect(
        &app,
        app.put(
            &format!("/menus/{reports_id}"),
            &admin,
            json!({"kind": "directory", "name": "R", "parent_id": daily_id}),
        )
        .await,
        400,
        "VALIDATION_FAILED",
    )
    .await;

    // New codes from the tree can be granted.
    let (_, _, token) = app
        .staff_with(&admin, "kim", &["system:user:list", "report:daily:list"])
        .await;
    let (_, me) = status_and_body(app.get("/auth/me", &token).await).await;
    assert_eq!(
        me["permissions"],
        json!(["report:daily:list", "system:user:list"])
    );
    let menus = &me["menus"];
    assert_eq!(menus.as_array().unwrap().len(), 2, "{menus}");
    assert_eq!(menus[0]["name"], "Reports", "ordered");
    assert_eq!(menus[0]["children"][0]["name"], "Daily");
    assert_eq!(menus[1]["key"], "system");
    let system_children = menus[1]["children"].as_array().unwrap();
    assert_eq!(system_children.len(), 1);
    assert_eq!(system_children[0]["key"], "system.users");

    // Hiding a built-in node is allowed; moving or deleting it is not.
    let hide = json!({"kind": "menu", "name": "Staff", "parent_id": system_id, "permission": "system:user:list",
        "path": "/system/users", "component": "system/users/index", "icon": "user", "order": 10, "visible": false});
    assert_eq!(
        app.put(&format!("/menus/{users_id}"), &admin, hide)
            .await
            .status(),
        200
    );
    let (_, me) = status_and_body(app.get("/auth/me", &token).await).await;
    assert_eq!(
        me["menus"].as_array().unwrap().len(),
        1,
        "system is empty for kim now: {}",
        me["menus"]
    );
    let moved = json!({"kind": "menu", "name": "Staff", "parent_id": reports_id, "permission": "system:user:list",
        "path": "/system/users", "component": "system/users/index", "order": 10});
    expect(
        &app,
        app.put(&format!("/menus/{users_id}"), &admin, moved).await,
        409,
        "BUILTIN_PROTECTED",
    )
    .await;
    expect(
        &app,
        app.delete(&format!("/menus/{users_id}"), &admin).await,
        409,
        "BUILTIN_PROTECTED",
    )
    .await;
    expect(
        &app,
        app.delete(&format!("/menus/{reports_id}"), &admin).await,
        409,
        "MENU_HAS_CHILDREN",
    )
    .await;
    assert_eq!(
        app.delete(&format!("/menus/{daily_id}"), &admin)
            .await
            .status(),
        204
    );
    assert_eq!(
        app.delete(&format!("/menus/{reports_id}"), &admin)
            .await
            .status(),
        204
    );

    // Re-seeding keeps staff edits to presentation and adds nothing twice.
    assert!(app.auth.prepare().await.unwrap().is_none());
    let (_, tree) = status_and_body(app.get("/menus", &admin).await).await;
    let seeded_roots = topup_auth::seed::MENU_SEED
        .iter()
        .filter(|node| node.parent.is_none())
        .count();
    assert_eq!(tree.as_array().unwrap().len(), seeded_roots);
    let system = root(&tree, "system");
    assert_eq!(system["children"][0]["visible"], false);
    assert_eq!(system["children"][0]["name"], "Staff");
    let seeded = topup_auth::seed::MENU_SEED.len();
    let count = |node: &Value| -> usize {
        fn walk(n: &Value) -> usize {
            1 + n["children"]
                .as_array()
                .unwrap()
                .iter()
                .map(walk)
                .sum::<usize>()
        }
        walk(node)
    };
    let total: usize = tree.as_array().unwrap().iter().map(count).sum();
    assert_eq!(total, seeded);
}

fn root<'a>(tree: &'a Value, key: &str) -> &'a Value {
    tree.as_array()
        .unwrap()
        .iter()
        .find(|node| node["key"] == key)
        .unwrap_or_else(|| panic!("no root {key} in {tree}"))
}

/// The attacks of the security review: a user holding one administrative permission must not
/// parlay it into more (`docs/security.md#grant-ceiling`). Every refusal changes nothing and is
/// in the operation log.
#[actix_web::test]
async fn nobody_grants_what_they_do_not_hold() {
    let app = start().await;
    let admin = app.admin_token().await;
    let (_, me) = status_and_body(app.get("/auth/me", &admin).await).await;
    let admin_id = me["user"]["id"].as_str().unwrap().to_owned();
    let super_role = me["roles"][0]["id"].as_str().unwrap().to_owned();

    // 1. Holding only assign-roles: giving oneself super_admin, or to anyone.
    let (mallory, _, mallory_token) = app
        .staff_with(&admin, "mallory", &["system:user:assign-roles"])
        .await;
    expect(
        &app,
        app.put(
            &format!("/users/{mallory}/roles"),
            &mallory_token,
            json!({"role_ids": [super_role]}),
        )
        .await,
        409,
        "SELF_MODIFICATION",
    )
    .await;
    let idle = app.create_role(&admin, "idle", &[]).await;
    let bystander = app.create_user(&admin, "bystander", &[&idle]).await;
    let refused = expect(
        &app,
        app.put(
            &format!("/users/{bystander}/roles"),
            &mallory_token,
            json!({"role_ids": [super_role]}),
        )
        .await,
        403,
        "GRANT_EXCEEDED",
    )
    .await;
    assert!(refused["message"].as_str().unwrap().contains("super_admin"));
    // A role carrying a permission she lacks is beyond her too; one within her reach is not.
    let wider = app
        .create_role(
            &admin,
            "wider",
            &["system:user:assign-roles", "order:order:list"],
        )
        .await;
    expect(
        &app,
        app.put(
            &format!("/users/{bystander}/roles"),
            &mallory_token,
            json!({"role_ids": [wider]}),
        )
        .await,
        403,
        "GRANT_EXCEEDED",
    )
    .await;
    let narrow = app
        .create_role(&admin, "narrow", &["system:user:assign-roles"])
        .await;
    let response = app
        .put(
            &format!("/users/{bystander}/roles"),
            &mallory_token,
            json!({"role_ids": [narrow]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let (_, bystander_view) =
        status_and_body(app.get(&format!("/users/{bystander}"), &admin).await).await;
    assert_eq!(bystander_view["roles"][0]["code"], "narrow");

    // 2. Holding only assign-permissions: every permission on one's own role, or another's.
    let (_, own_role, trent_token) = app
        .staff_with(&admin, "trent", &["system:role:assign-permissions"])
        .await;
    let every: Vec<&str> = topup_auth::perm::ALL.to_vec();
    expect(
        &app,
        app.put(
            &format!("/roles/{own_role}/permissions"),
            &trent_token,
            json!({"permissions": every}),
        )
        .await,
        409,
        "SELF_MODIFICATION",
    )
    .await;
    expect(
        &app,
        app.put(
            &format!("/roles/{narrow}/permissions"),
            &trent_token,
            json!({"permissions": every}),
        )
        .await,
        403,
        "GRANT_EXCEEDED",
    )
    .await;
    let (_, role) = status_and_body(app.get(&format!("/roles/{narrow}"), &admin).await).await;
    assert_eq!(role["permissions"], json!(["system:user:assign-roles"]));

    // 3. Holding only reset-password: taking over admin.
    let (_, _, oscar_token) = app
        .staff_with(&admin, "oscar", &["system:user:reset-password"])
        .await;
    expect(
        &app,
        app.post(
            &format!("/users/{admin_id}/reset-password"),
            &oscar_token,
            json!({"password": "Taken-over-2026"}),
        )
        .await,
        403,
        "GRANT_EXCEEDED",
    )
    .await;
    expect(
        &app,
        app.login("admin", "Taken-over-2026").await,
        401,
        "INVALID_CREDENTIALS",
    )
    .await;

    // 4. Creating a user or role with more than one holds.
    let (_, _, carol_token) = app
        .staff_with(
            &admin,
            "carol",
            &["system:user:create", "system:role:create"],
        )
        .await;
    expect(
        &app,
        app.post(
            "/users",
            &carol_token,
            json!({"username": "root2", "display_name": "r", "password": common::STAFF_PASSWORD,
                   "role_ids": [super_role]}),
        )
        .await,
        403,
        "GRANT_EXCEEDED",
    )
    .await;
    expect(
        &app,
        app.post(
            "/roles",
            &carol_token,
            json!({"code": "all_of_it", "name": "x", "permissions": every}),
        )
        .await,
        403,
        "GRANT_EXCEEDED",
    )
    .await;
    let (_, users) = status_and_body(app.get("/users?q=root2", &admin).await).await;
    assert_eq!(users["total"], 0);

    // The refusals are in the operation log.
    let (_, refusals) = status_and_body(
        app.get("/logs/operations?result=failure&page_size=100", &admin)
            .await,
    )
    .await;
    let codes: Vec<&str> = refusals["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|entry| entry["error_code"].as_str())
        .collect();
    assert_eq!(
        codes.iter().filter(|c| **c == "GRANT_EXCEEDED").count(),
        6,
        "{refusals}"
    );
    assert!(codes.contains(&"SELF_MODIFICATION"), "{refusals}");
}
