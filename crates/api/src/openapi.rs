//! The OpenAPI document, written once with the routes. `topup openapi` prints it and
//! `openapi/openapi.json` is checked against it by a test.

use actix_web::web;
use utoipa::OpenApi;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
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
    paths(
        system::healthz,
        system::readyz,
        system::metrics,
        pay::notify,
        pay::refund_notify,
    ),
    components(schemas(
        ErrorBody,
        system::Health,
        system::Readiness,
        topup_core::Money,
        topup_core::Currency,
        pay::WechatPayNotification,
        pay::WechatPayEncryptedResource,
    )),
    tags(
        (name = "system", description = "Health, readiness, metrics and this document"),
        (name = "payment", description = "WeChat Pay callbacks: payment and refund notifications, \
            verified over the raw body before anything is read"),
    ),
)]
struct ApiDoc;

/// The complete document: every route with its request, response and error schemas.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    add_document_routes(&mut doc);
    add_default_error_responses(&mut doc);
    doc
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
        for operation in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
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
