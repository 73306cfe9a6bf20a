//! The mini-program's catalog: countries, plans and operator detection. No login needed.
//! Countries and plans are answered from the catalog's in-memory snapshot as pre-serialized
//! bytes: no store access and no allocation beyond the response.

use std::borrow::Cow;

use actix_web::http::header::ContentType;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use topup_catalog::{CountryList, Detection, PlanList, PlanType};
use utoipa::IntoParams;

use crate::extract::{Json, Query, field_error};
use crate::security::Client;
use crate::{ApiError, AppState, ErrorBody};

/// Query of `GET /api/v1/app/catalog/plans` (documentation; parsed by hand on the hot path).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct PlansQuery {
    /// ISO-3166 alpha-2 country code (`PH`); any case.
    #[param(example = "PH")]
    country: String,
    /// `airtime` or `data`; both when absent.
    #[serde(rename = "type")]
    plan_type: Option<PlanType>,
    /// An operator id from the plans or detection answers.
    operator: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DetectQuery {
    /// `+E.164` (URL-encode the `+` as `%2B`), or national digits with `country`.
    #[param(example = "+639171234567")]
    phone: String,
    /// The country of a national number.
    #[param(example = "PH")]
    country: Option<String>,
}

fn json_bytes(body: &web::Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(ContentType::json())
        .body(body.clone())
}

/// Every country with something on sale, with Chinese and English names, flag, calling
/// code and currency. Not paged.
#[utoipa::path(get, path = "/api/v1/app/catalog/countries", tag = "catalog",
    responses((status = 200, description = "Countries on sale", body = CountryList)),
    extensions(("x-public" = json!(true))))]
pub async fn countries(state: web::Data<AppState>) -> HttpResponse {
    json_bytes(state.catalog.snapshot().countries_json())
}

/// The plans on sale in a country, optionally one type or one operator's, sorted as shown.
/// Not paged. Prices are CNY fen; face values are in the destination currency.
#[utoipa::path(get, path = "/api/v1/app/catalog/plans", tag = "catalog", params(PlansQuery),
    responses(
        (status = 200, description = "Plans on sale", body = PlanList),
        (status = 400, description = "`INVALID_COUNTRY` (unknown or not sold), `VALIDATION_FAILED` (no country, bad type or operator)", body = ErrorBody),
    ),
    extensions(("x-public" = json!(true))))]
pub async fn plans(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let mut country: Option<Cow<'_, str>> = None;
    let mut plan_type: Option<Cow<'_, str>> = None;
    let mut operator: Option<Cow<'_, str>> = None;
    for (key, value) in form_urlencoded::parse(req.query_string().as_bytes()) {
        match key.as_ref() {
            "country" => country = Some(value),
            "type" => plan_type = Some(value),
            "operator" => operator = Some(value),
            _ => {}
        }
    }
    let Some(country) = country else {
        return Err(field_error(
            "country",
            "required (ISO-3166 alpha-2, e.g. PH)",
        ));
    };
    let snapshot = state.catalog.snapshot();
    let body = snapshot.plans_json(&country, plan_type.as_deref(), operator.as_deref())?;
    Ok(json_bytes(body))
}

/// The country and operator of a phone number (asked of the provider, remembered for a
/// while), with the plans that can be bought for it. When the operator cannot be told,
/// `detected` is false and `plans` holds the whole country's.
#[utoipa::path(get, path = "/api/v1/app/catalog/detect", tag = "catalog", params(DetectQuery),
    responses(
        (status = 200, description = "Country, operator and plans", body = Detection),
        (status = 400, description = "`INVALID_PHONE` (not a valid mobile number), `INVALID_COUNTRY` (unknown or not sold)", body = ErrorBody),
        (status = 429, description = "`RATE_LIMITED`: this address looked up too many new numbers in the last minute (`catalog.detect_lookups_per_minute`); `details.retry_after_seconds` says when to retry. Numbers looked up lately do not count.", body = ErrorBody),
    ),
    extensions(("x-public" = json!(true))))]
pub async fn detect(
    query: Query<DetectQuery>,
    client: Client,
    state: web::Data<AppState>,
) -> Result<Json<Detection>, ApiError> {
    // Without a known address every such caller shares one allowance.
    let address = client.0.ip.as_deref().unwrap_or("unknown");
    let detection = state
        .catalog
        .detect_from(address, &query.phone, query.country.as_deref())
        .await?;
    Ok(Json(detection))
}

// Registered before the app scope (which requires an app token for everything under
// `/api/v1/app`): these full-path resources match first, so browsing needs no login.
routes! {
    get "/api/v1/app/catalog/countries" => countries,
    get "/api/v1/app/catalog/plans" => plans,
    get "/api/v1/app/catalog/detect" => detect,
}
