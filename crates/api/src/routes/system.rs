//! Liveness, readiness and metrics for operators and orchestrators.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde::Serialize;
use topup_core::ErrorCode;
use utoipa::ToSchema;

use crate::extract::Json;
use crate::{ApiError, AppState, ErrorBody};

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` while the process serves requests.
    #[schema(example = "ok")]
    pub status: String,
    #[schema(example = "0.1.0")]
    pub version: String,
    /// Seconds since the process started.
    pub uptime_seconds: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    #[schema(example = "ready")]
    pub status: String,
    /// The storage backend in use: `sqlite` or `mongodb`.
    #[schema(example = "sqlite")]
    pub store: String,
}

/// Liveness: the process is up and serving.
#[utoipa::path(get, path = "/healthz", tag = "system",
    responses((status = 200, description = "Alive", body = Health)))]
pub async fn healthz(state: web::Data<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        uptime_seconds: state.clock.now().since(state.started_at).num_seconds(),
    })
}

/// Readiness: the store answers within two seconds.
#[utoipa::path(get, path = "/readyz", tag = "system",
    responses(
        (status = 200, description = "Ready to serve", body = Readiness),
        (status = 503, description = "The store is unreachable", body = ErrorBody),
    ))]
pub async fn readyz(state: web::Data<AppState>) -> Result<Json<Readiness>, ApiError> {
    match tokio::time::timeout(Duration::from_secs(2), state.store.ping()).await {
        Ok(Ok(())) => Ok(Json(Readiness {
            status: "ready".into(),
            store: state.store.kind().into(),
        })),
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness check failed");
            Err(ApiError::new(ErrorCode::Unavailable, "store unreachable"))
        }
        Err(_) => Err(ApiError::new(
            ErrorCode::Unavailable,
            "store did not answer within 2 s",
        )),
    }
}

/// Prometheus metrics: request counts and latency histograms by route template and status.
#[utoipa::path(get, path = "/metrics", tag = "system",
    responses((status = 200, description = "Prometheus text exposition format",
        content_type = "text/plain; version=0.0.4", body = String)))]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render())
}

routes! {
    get "/api/v1/site" => site,
    get "/healthz" => healthz,
    get "/readyz" => readyz,
    get "/metrics" => metrics,
}

/// What the console shows of the product before and after sign-in.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"name": "Topup", "logo_url": "", "theme_colour": "#07c160"}))]
pub struct Site {
    pub name: String,
    /// Empty for none.
    pub logo_url: String,
    /// `#rrggbb`.
    pub theme_colour: String,
}

/// The product's name, logo and colour (settings group `site`), for the console's sign-in
/// page and title bar. No login needed.
#[utoipa::path(get, path = "/api/v1/site", tag = "system", operation_id = "site_get",
    responses((status = 200, description = "Name, logo and colour", body = Site)),
    extensions(("x-public" = json!(true))))]
pub async fn site(state: web::Data<AppState>) -> Json<Site> {
    let settings = state.settings.effective();
    let text = |path: &str| settings.text(path).unwrap_or_default().to_owned();
    Json(Site {
        name: text("site.name"),
        logo_url: text("site.logo_url"),
        theme_colour: text("site.theme_colour"),
    })
}
