//! The OpenAPI document. Each route module contributes its operations (the `Api` its
//! `routes!` declares); this file adds what is shared: the title, tags, common schemas,
//! security schemes, default error responses and request examples. `topup openapi` prints it
//! and `openapi/openapi.json` is checked against it by a test.

use actix_web::web;
use utoipa::OpenApi;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa_swagger_ui::SwaggerUi;

use crate::ErrorBody;
use crate::routes::{pay, system};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Topup API",
        description = "International mobile top-up (airtime and data bundles) sold in a WeChat \
            mini-program, paid with WeChat Pay, fulfilled by top-up providers.\n\n\
            Errors share one envelope (`ErrorBody`); lists take `page` and `page_size`; money is \
            integer minor units with a currency; times are RFC 3339 UTC.",
        license(name = "Apache-2.0"),
    ),
    components(schemas(
        ErrorBody,
        system::Health,
        system::Readiness,
        topup_core::Money,
        topup_core::Currency,
        topup_catalog::CountryList,
        topup_catalog::PlanList,
        topup_catalog::Detection,
        topup_catalog::AppCountry,
        topup_catalog::AppOperator,
        topup_catalog::AppPlan,
        topup_catalog::PlanType,
        pay::WechatPayNotification,
        pay::WechatPayEncryptedResource,
    )),
    tags(
        (name = "system", description = "Health, readiness, metrics and this document"),
        (name = "catalog", description = "What end users can buy: countries, airtime and data plans, operator detection (no login needed)"),
        (name = "admin-auth", description = "Staff sign-in, tokens, password, who am I"),
        (name = "admin-users", description = "Staff users"),
        (name = "admin-roles", description = "Roles and their permission codes"),
        (name = "admin-menus", description = "The menu/permission tree"),
        (name = "admin-sessions", description = "Online staff and forced logout"),
        (name = "admin-api-keys", description = "Integrators' API keys: create (shown once), list, revoke"),
        (name = "admin-logs", description = "Login, operation and access logs"),
        (name = "admin-app-users", description = "Mini-program users and daily visitor counts"),
        (name = "admin-blacklist", description = "Blacklisted phone numbers, openids and addresses"),
        (name = "admin-marketing", description = "Coupon templates, issuing coupons to users, coupons and their statistics"),
        (name = "admin-notify", description = "WeChat subscribe-message templates per event, the delivery log and resend"),
        (name = "admin-content", description = "Banners, announcements, the customer service page, agreements and their versions, and the home page's decoration: draft, preview, publish, versions and rollback"),
        (name = "admin-settings", description = "Settings staff change while serving: orders, the mini-program's credentials (write-only secrets), the site; keys the configuration fixes are shown and refused"),
        (name = "app-auth", description = "Mini-program silent login (wx.login code → app token)"),
        (name = "app-me", description = "The mini-program user's profile and saved numbers"),
        (name = "admin-payments", description = "Payment alerts: WeChat Pay reports that \
            disagree with our records"),
        (name = "admin-search", description = "Global search: orders, mini-program users, plans \
            and console pages, each as the caller may see them"),
        (name = "admin-finance", description = "Reconciliation: a period's orders held against \
            WeChat Pay's and the provider's own records, with every discrepancy"),
        (name = "payment", description = "WeChat Pay callbacks: payment and refund notifications, \
            verified over the raw body before anything is read"),
        (name = "sandbox", description = "Embedded mode only: the stand-ins for the user's phone and \
            WeChat that the walkthrough in the README uses (a production server has none of these)"),
        (name = "admin-orders", description = "Orders, refunds, held orders and the recharge log"),
        (name = "app-orders", description = "Checkout, my orders, pay again, cancel"),
        (name = "app-membership", description = "Membership cards: plans, my membership, buying one"),
        (name = "app-coupons", description = "The coupon centre, my coupons, and the checkout quote with each coupon's use"),
        (name = "app-content", description = "The published home page in one call, banner clicks, announcements and read marks, the customer service page, agreements and their acceptance"),
        (name = "app-subscriptions", description = "The subscribe-message prompt: templates to ask about, and the user's answer"),
        (name = "admin-catalog", description = "Countries, operators and plans; pricing rules and the price log; provider sync and its reports"),
    ),
)]
struct ApiDoc;

/// The complete document: every route with its request, response and error schemas.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    for module in crate::routes::MODULES {
        doc.merge((module.openapi)());
    }
    add_document_routes(&mut doc);
    add_sandbox_routes(&mut doc);
    add_admin_security(&mut doc);
    add_app_security(&mut doc);
    add_default_error_responses(&mut doc);
    add_request_examples(&mut doc);
    doc
}

/// An example of every request body, for integrators and Swagger's "Try it out". Kept here,
/// beside each other, rather than on the structs in several crates; a test fails when a
/// request body has none.
fn request_examples() -> Vec<(&'static str, serde_json::Value)> {
    use serde_json::json;
    vec![
        (
            "LoginRequest",
            json!({"username": "admin", "password": "a-new-passw0rd"}),
        ),
        (
            "ChangePasswordRequest",
            json!({"old": "generated-first-password", "new": "a-new-passw0rd"}),
        ),
        (
            "RefreshRequest",
            json!({"refresh_token": "rt_01JDZ8Q7Y7E3K9V6S2M4T1R0PA.9f2c"}),
        ),
        (
            "HomeDraftBody",
            json!({"version": 4, "components": [
                {"type": "banner_carousel", "position": "home", "interval_seconds": 5},
                {"type": "notice_bar", "limit": 3},
                {"type": "topup_form"},
                {"type": "country_grid", "title": "Popular", "countries": ["PH", "TH", "VN", "ID"], "columns": 4},
                {"type": "membership_entry", "title": "Gold membership", "subtitle": "2% off every top-up"},
                {"type": "spacer", "height": 16}]}),
        ),
        (
            "HomePreviewBody",
            json!({"components": [{"type": "topup_form"}, {"type": "rich_text", "html": "<p>Top-ups arrive in seconds.</p>"}]}),
        ),
        ("PublishBody", json!({"version": 5})),
        ("AcceptBody", json!({"version": 2})),
        (
            "SettingsBody",
            json!({"version": 3, "values": {"pay_timeout_minutes": 10, "max_unpaid_orders_per_user": null}}),
        ),
        (
            "ServiceDeskBody",
            json!({"version": 2, "faqs": [{"category": "Payment", "question": "When does my refund arrive?",
                "answer_html": "<p>Usually within minutes, back to where you paid from.</p>"}],
                "contacts": [{"kind": "phone", "label": "Hotline", "value": "+86 400 000 0000"},
                    {"kind": "online", "label": "Chat with us", "value": "In the mini-program"}],
                "working_hours": "Every day 9:00–21:00 (UTC+8)"}),
        ),
        (
            "NewBlacklistEntry",
            json!({"kind": "phone", "value": "+639171234567", "reason": "chargeback fraud", "expires_at": "2027-01-01T00:00:00.000Z"}),
        ),
        (
            "BulkEnable",
            json!({"ids": ["01JDZ8Q7Y7E3K9V6S2M4T1R0PA", "01JDZ8Q7Y7E3K9V6S2M4T1R0PB"], "enabled": false}),
        ),
        (
            "CountryPatch",
            json!({"name_zh": "菲律宾", "name_en": "Philippines", "enabled": true, "sort": 10}),
        ),
        (
            "OperatorPatch",
            json!({"name": "Globe", "brand": "Globe Telecom", "enabled": true, "sort": 1}),
        ),
        (
            "NewPlan",
            json!({"operator_id": "01JDZ8Q7Y7E3K9V6S2M4T1R0PA", "amount": "15", "title_zh": "菲律宾话费 15 美元", "title_en": "PH airtime USD 15", "tags": ["hot"], "sort": 5}),
        ),
        (
            "PlanPatch",
            json!({"title_zh": "菲律宾话费 5 美元", "enabled": true, "pinned_price": {"amount": 3600, "currency": "CNY"}}),
        ),
        (
            "PricingRulesUpdate",
            json!({"markup": "0.08", "country_markups": {"PH": "0.06"}, "operator_markups": {}, "step_fen": 10, "version": 3}),
        ),
        (
            "MenuNodeInput",
            json!({"kind": "menu", "name": "Orders", "parent_id": null, "path": "/orders", "component": "orders/index", "icon": "shopping", "permission": "order:order:list", "order": 10, "visible": true}),
        ),
        (
            "NewRole",
            json!({"code": "support", "name": "Customer support", "description": "Reads orders, refunds them", "permissions": ["order:order:list", "order:order:refund"]}),
        ),
        (
            "UpdateRole",
            json!({"name": "Customer support", "description": "Reads orders, refunds them", "enabled": true}),
        ),
        (
            "AssignPermissionsRequest",
            json!({"permissions": ["order:order:list", "order:order:export"]}),
        ),
        (
            "NewStaffUser",
            json!({"username": "alice", "display_name": "Alice", "password": "Start-pass-2026", "role_ids": ["01JDZ8Q7Y7E3K9V6S2M4T1R0PA"], "must_change_password": true}),
        ),
        ("UpdateStaffUser", json!({"display_name": "Alice Wang"})),
        (
            "NewApiKey",
            json!({"name": "warehouse export", "permissions": ["order:order:list", "order:order:export"], "expires_at": "2027-01-01T00:00:00Z", "allowed_addresses": ["203.0.113.0/24"], "rate_per_minute": 120}),
        ),
        (
            "ResetPasswordRequest",
            json!({"password": "Reset-pass-2026"}),
        ),
        (
            "AssignRolesRequest",
            json!({"role_ids": ["01JDZ8Q7Y7E3K9V6S2M4T1R0PA"]}),
        ),
        ("AppLoginRequest", json!({"code": "0a1b2c3d4e5f"})),
        (
            "UpdateAppProfile",
            json!({"nickname": "小王", "avatar_url": "https://example.com/a.png", "language": "zh"}),
        ),
        (
            "NewSavedNumber",
            json!({"label": "Mum", "number": "+639171234500"}),
        ),
        (
            "CheckoutBody",
            json!({"plan_id": "01JDZ8Q7Y7E3K9V6S2M4T1R0PA", "phone": "+639171234500"}),
        ),
    ]
}

fn add_request_examples(doc: &mut utoipa::openapi::OpenApi) {
    let Some(components) = doc.components.as_mut() else {
        return;
    };
    for (name, example) in request_examples() {
        if let Some(RefOr::T(schema)) = components.schemas.get_mut(name) {
            set_example(schema, example);
        }
    }
}

fn set_example(schema: &mut utoipa::openapi::Schema, example: serde_json::Value) {
    use utoipa::openapi::Schema;
    match schema {
        Schema::Object(object) => object.examples = vec![example],
        Schema::AllOf(all) => all.examples = vec![example],
        Schema::OneOf(one) => one.examples = vec![example],
        Schema::AnyOf(any) => any.examples = vec![example],
        _ => {}
    }
}

fn operations_mut(
    item: &mut PathItem,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        &mut item.get,
        &mut item.post,
        &mut item.put,
        &mut item.patch,
        &mut item.delete,
    ]
    .into_iter()
    .flatten()
}

/// Admin operations marked `x-permission` or `x-authenticated-only` need the bearer token:
/// say so, and document the 401 (and 403) they answer without it.
fn add_admin_security(doc: &mut utoipa::openapi::OpenApi) {
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            Http::builder()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some(
                    "Access token from `POST /api/v1/admin/auth/login` or `/auth/refresh`.",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        "api_key",
        SecurityScheme::Http(
            Http::builder()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("tpk_<id>_<secret>")
                .description(Some(
                    "An integrator's API key from `POST /api/v1/admin/api-keys`, sent as \
                     `Authorization: Bearer tpk_…`. Works on every route that names a \
                     permission, not on `/auth/*`.",
                ))
                .build(),
        ),
    );
    let envelope = |description: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(RefOr::Ref(Ref::from_schema_name("ErrorBody"))))
                        .build(),
                )
                .build(),
        )
    };
    for item in doc.paths.paths.values_mut() {
        for operation in operations_mut(item) {
            let marked = |name: &str| {
                operation
                    .extensions
                    .as_ref()
                    .is_some_and(|e| e.contains_key(name))
            };
            let permission = marked("x-permission");
            if !permission && !marked("x-authenticated-only") {
                continue;
            }
            let code = operation
                .extensions
                .as_ref()
                .and_then(|e| e.get("x-permission"))
                .and_then(|v| v.as_str())
                .map(str::to_owned);
            let requirement = match &code {
                Some(code) => format!("Requires permission `{code}`."),
                None => "Requires a signed-in staff member (no permission).".to_owned(),
            };
            operation.description = Some(match operation.description.take() {
                Some(text) if !text.is_empty() => format!("{text}\n\n{requirement}"),
                _ => requirement,
            });
            // Either scheme on permission routes; self-service routes take a session only.
            let mut schemes = vec![SecurityRequirement::new("bearer", Vec::<String>::new())];
            if permission {
                schemes.push(SecurityRequirement::new("api_key", Vec::<String>::new()));
            }
            operation.security = Some(schemes);
            let responses = &mut operation.responses.responses;
            responses
                .entry("401".into())
                .or_insert_with(|| envelope("No live session: `UNAUTHORIZED` or `TOKEN_EXPIRED`"));
            if permission {
                responses.entry("403".into()).or_insert_with(|| {
                    envelope("`FORBIDDEN` without the `x-permission`; `PASSWORD_CHANGE_REQUIRED`")
                });
            }
        }
    }
}

fn envelope(description: &str) -> RefOr<utoipa::openapi::Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(RefOr::Ref(Ref::from_schema_name("ErrorBody"))))
                    .build(),
            )
            .build(),
    )
}

/// App operations marked `x-app-user` need an app token (never a staff token): say so, and
/// document the 401 and 403 `USER_BLOCKED` they answer.
fn add_app_security(doc: &mut utoipa::openapi::OpenApi) {
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "app_bearer",
        SecurityScheme::Http(
            Http::builder()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some(
                    "App token from `POST /api/v1/app/auth/login` (staff tokens are refused).",
                ))
                .build(),
        ),
    );
    for item in doc.paths.paths.values_mut() {
        for operation in operations_mut(item) {
            let marked = operation
                .extensions
                .as_ref()
                .is_some_and(|e| e.contains_key("x-app-user"));
            if !marked {
                continue;
            }
            let requirement =
                "Requires an app token of an active, not blacklisted mini-program user.";
            operation.description = Some(match operation.description.take() {
                Some(text) if !text.is_empty() => format!("{text}\n\n{requirement}"),
                _ => requirement.to_owned(),
            });
            operation.security = Some(vec![SecurityRequirement::new(
                "app_bearer",
                Vec::<String>::new(),
            )]);
            let responses = &mut operation.responses.responses;
            responses.entry("401".into()).or_insert_with(|| {
                envelope("No valid app token: `UNAUTHORIZED` or `TOKEN_EXPIRED` (log in again)")
            });
            responses
                .entry("403".into())
                .or_insert_with(|| envelope("`USER_BLOCKED`: the user is disabled or blacklisted"));
        }
    }
}

/// `/openapi.json` and `/docs` are served by Swagger UI's service; describe them too.
fn add_document_routes(doc: &mut utoipa::openapi::OpenApi) {
    let json = OperationBuilder::new()
        .tag("system")
        .summary(Some("This OpenAPI document"))
        .operation_id(Some("openapi_json"))
        .response(
            "200",
            ResponseBuilder::new()
                .description("OpenAPI 3.1 document")
                .content("application/json", ContentBuilder::new().build())
                .build(),
        )
        .build();
    let docs = OperationBuilder::new()
        .tag("system")
        .summary(Some("Swagger UI for this document"))
        .operation_id(Some("swagger_ui"))
        .response(
            "200",
            ResponseBuilder::new()
                .description("HTML page (`/docs` redirects to `/docs/`)")
                .content("text/html", ContentBuilder::new().build())
                .build(),
        )
        .build();
    doc.paths
        .paths
        .insert("/openapi.json".into(), PathItem::new(HttpMethod::Get, json));
    doc.paths
        .paths
        .insert("/docs/".into(), PathItem::new(HttpMethod::Get, docs));
}

/// The sandbox routes the README's walkthrough uses. They exist only in the embedded mode (a
/// production server answers 404); they play the user's phone, not WeChat's API, so they are
/// neither signed nor authenticated.
fn add_sandbox_routes(doc: &mut utoipa::openapi::OpenApi) {
    use serde_json::json;
    use utoipa::openapi::request_body::RequestBodyBuilder;
    let json_body = |example: serde_json::Value| {
        RequestBodyBuilder::new()
            .content(
                "application/json",
                ContentBuilder::new().example(Some(example)).build(),
            )
            .build()
    };
    let answer = |description: &str, example: serde_json::Value| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new().example(Some(example)).build(),
            )
            .build()
    };
    const ONLY: &str = "Embedded mode only: the sandbox standing in for WeChat.";
    let codes = OperationBuilder::new()
        .tag("sandbox")
        .operation_id(Some("sandbox_wechat_codes"))
        .summary(Some("Play wx.login(): a one-time login code"))
        .description(Some(format!(
            "{ONLY} The code works once, for five minutes, at `POST /api/v1/app/auth/login`.              Send an `openid` to be the same user again; omit it for a new one."
        )))
        .request_body(Some(json_body(json!({"openid": "o_alice"}))))
        .response(
            "200",
            answer(
                "A code and the openid it logs in as",
                json!({"code": "01jq3v6p0s5x8k2m4n7r9t1w3y", "openid": "o_alice"}),
            ),
        )
        .build();
    let confirm = OperationBuilder::new()
        .tag("sandbox")
        .operation_id(Some("sandbox_wechat_pay_confirm"))
        .summary(Some("Play the user pressing \"pay\" in WeChat's payment sheet"))
        .description(Some(format!(
            "{ONLY} `prepay_id` is the part after `prepay_id=` of the checkout's              `pay_params.package`. The sandbox then notifies this server as WeChat would              (signed, encrypted, repeated until answered)."
        )))
        .request_body(Some(json_body(json!({"prepay_id": "wx01jq3v6p0s5x8k2m4n7r9t1w3y"}))))
        .response(
            "200",
            answer(
                "The transaction, now paid",
                json!({"out_trade_no": "01JQ3V6P0S5X8K2M4N7R9T1W3Y", "trade_state": "SUCCESS"}),
            ),
        )
        .response(
            "404",
            answer(
                "Unknown prepay_id",
                json!({"code": "ORDER_NOT_EXIST", "message": "unknown prepay_id"}),
            ),
        )
        .build();
    let cashier = OperationBuilder::new()
        .tag("sandbox")
        .operation_id(Some("sandbox_wechat_pay_cashier"))
        .summary(Some(
            "A cashier page for a prepay (a browser's stand-in for the payment sheet)",
        ))
        .description(Some(format!(
            "{ONLY} Opens with `?prepay_id=…`; its button confirms."
        )))
        .parameter(
            utoipa::openapi::path::ParameterBuilder::new()
                .name("prepay_id")
                .parameter_in(utoipa::openapi::path::ParameterIn::Query)
                .required(utoipa::openapi::Required::True)
                .build(),
        )
        .response(
            "200",
            ResponseBuilder::new()
                .description("HTML page")
                .content("text/html", ContentBuilder::new().build())
                .build(),
        )
        .build();
    for (path, method, operation) in [
        ("/sandbox/wechat/codes", HttpMethod::Post, codes),
        ("/sandbox/wechat/pay/confirm", HttpMethod::Post, confirm),
        ("/sandbox/wechat/pay/cashier", HttpMethod::Get, cashier),
    ] {
        doc.paths
            .paths
            .insert(path.into(), PathItem::new(method, operation));
    }
}

/// Every operation may fail with the envelope; say so once, as the `default` response.
fn add_default_error_responses(doc: &mut utoipa::openapi::OpenApi) {
    let envelope = ResponseBuilder::new()
        .description("Error envelope (status per `code`)")
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(RefOr::Ref(Ref::from_schema_name("ErrorBody"))))
                .build(),
        )
        .build();
    for item in doc.paths.paths.values_mut() {
        for operation in operations_mut(item) {
            operation
                .responses
                .responses
                .entry("default".into())
                .or_insert_with(|| RefOr::T(envelope.clone()));
        }
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/docs").route(web::get().to(|| async {
        actix_web::HttpResponse::Found()
            .insert_header((actix_web::http::header::LOCATION, "/docs/"))
            .finish()
    })))
    .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", document()));
}
