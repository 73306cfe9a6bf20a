//! Staff view of the catalog: countries, operators and plans (edit, enable/disable in bulk,
//! custom plans, pinned prices), pricing rules with the price log, provider sync and its
//! reports. Every write is in the operation log with before/after.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use topup_auth::perm::{
    CatalogCountryList, CatalogCountryUpdate, CatalogOperatorList, CatalogOperatorUpdate,
    CatalogPlanCreate, CatalogPlanDelete, CatalogPlanList, CatalogPlanUpdate, CatalogPricingUpdate,
    CatalogPricingView, CatalogSyncList, CatalogSyncRun,
};
use topup_auth::{Audited, Change, Permission};
use topup_catalog::{
    BulkTarget, CatalogError, CountryDoc, CountryFilter, CountryPatch, NewPlan, OperatorDoc,
    OperatorFilter, OperatorPatch, PlanDoc, PlanFilter, PlanPatch, PlanType, PriceChange,
    PricingRules, PricingRulesUpdate, SyncReport,
};
use topup_core::{CountryCode, Page, PageRequest};
use utoipa::{IntoParams, ToSchema};

use crate::extract::{Json, Paging, Query};
use crate::routes::admin::audited;
use crate::security::{Actor, Require};
use crate::{ApiError, AppState, ErrorBody};

fn actor(who: &impl Actor) -> String {
    format!("staff:{}", who.principal().username)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CountryQuery {
    pub enabled: Option<bool>,
    /// Code or name contains.
    pub q: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OperatorQuery {
    #[param(value_type = Option<String>)]
    pub country: Option<CountryCode>,
    pub provider: Option<String>,
    pub enabled: Option<bool>,
    /// Still listed upstream (`false`: gone at the last sync).
    pub available: Option<bool>,
    pub q: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PlanQuery {
    #[param(value_type = Option<String>)]
    pub country: Option<CountryCode>,
    pub operator: Option<String>,
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub plan_type: Option<PlanType>,
    pub enabled: Option<bool>,
    pub available: Option<bool>,
    pub tag: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PriceChangeQuery {
    /// Only this plan's changes.
    pub plan: Option<String>,
}

/// Enable or disable many items at once.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkEnable {
    /// 1 to 500 ids; one unknown id refuses the whole request.
    pub ids: Vec<String>,
    pub enabled: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResult {
    /// How many items changed.
    pub changed: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PricingUpdated {
    pub rules: PricingRules,
    /// How many plans changed price.
    pub repriced: u32,
}

fn id_of(text: &str) -> Option<String> {
    Some(text.to_owned())
}

async fn edit<T: Serialize>(
    state: &AppState,
    who: &impl Actor,
    operation: &'static str,
    target: &'static str,
    id: &str,
    before: T,
    work: impl std::future::Future<Output = Result<T, CatalogError>>,
) -> Result<T, ApiError> {
    let run = async {
        let after = work.await?;
        let change = Change::new(target, id).before(&before).after(&after);
        Ok::<_, CatalogError>(Audited::new(after, change))
    };
    audited(state, who, operation, target, id_of(id), run).await
}

// ---------- countries ----------

/// List catalog countries (filters, paging), with provider-owned and staff-owned fields.
#[utoipa::path(get, path = "/api/v1/admin/catalog/countries", tag = "admin-catalog", operation_id = "admin_catalog_countries_list",
    params(PageRequest, CountryQuery),
    responses((status = 200, description = "One page of countries", body = Page<CountryDoc>)),
    extensions(("x-permission" = json!(CatalogCountryList::CODE))))]
pub async fn list_countries(
    _who: Require<CatalogCountryList>,
    state: web::Data<AppState>,
    paging: Paging,
    query: Query<CountryQuery>,
) -> Result<Json<Page<CountryDoc>>, ApiError> {
    let filter = CountryFilter {
        enabled: query.enabled,
        q: query.q.clone(),
    };
    let page = *paging;
    Ok(Json(state.catalog.list_countries(&filter, page).await?))
}

#[utoipa::path(get, path = "/api/v1/admin/catalog/countries/{id}", tag = "admin-catalog", operation_id = "admin_catalog_countries_get",
    params(("id" = String, Path, description = "Country id")),
    responses((status = 200, description = "The country", body = CountryDoc),
        (status = 404, description = "`NOT_FOUND`", body = ErrorBody)),
    extensions(("x-permission" = json!(CatalogCountryList::CODE))))]
pub async fn get_country(
    _who: Require<CatalogCountryList>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<Json<CountryDoc>, ApiError> {
    Ok(Json(state.catalog.country(&id).await?))
}

/// Change a country's staff fields (names, enabled, sort); absent fields stay, `null` clears.
#[utoipa::path(put, path = "/api/v1/admin/catalog/countries/{id}", tag = "admin-catalog", operation_id = "admin_catalog_countries_update",
    params(("id" = String, Path, description = "Country id")),
    request_body = CountryPatch,
    responses((status = 200, description = "The country", body = CountryDoc),
        (status = 400, description = "`VALIDATION_FAILED`", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`", body = ErrorBody)),
    extensions(("x-permission" = json!(CatalogCountryUpdate::CODE))))]
pub async fn update_country(
    who: Require<CatalogCountryUpdate>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Json<CountryPatch>,
) -> Result<Json<CountryDoc>, ApiError> {
    let before = state.catalog.country(&id).await?;
    let staff = actor(&who);
    let work = state.catalog.update_country(&id, body.into_inner(), &staff);
    let after = edit(
        &state,
        &who,
        "update country",
        "catalog_country",
        &id,
        before,
        work,
    )
    .await?;
    Ok(Json(after))
}

// ---------- operators ----------

#[utoipa::path(get, path = "/api/v1/admin/catalog/operators", tag = "admin-catalog", operation_id = "admin_catalog_operators_list",
    params(PageRequest, OperatorQuery),
    responses((status = 200, description = "One page of operators", body = Page<OperatorDoc>)),
    extensions(("x-permission" = json!(CatalogOperatorList::CODE))))]
pub async fn list_operators(
    _who: Require<CatalogOperatorList>,
    state: web::Data<AppState>,
    paging: Paging,
    query: Query<OperatorQuery>,
) -> Result<Json<Page<OperatorDoc>>, ApiError> {
    let filter = OperatorFilter {
        country: query.country,
        provider: query.provider.clone(),
        enabled: query.enabled,
        available: query.available,
        q: query.q.clone(),
    };
    let page = *paging;
    Ok(Json(state.catalog.list_operators(&filter, page).await?))
}

#[utoipa::path(get, path = "/api/v1/admin/catalog/operators/{id}", tag = "admin-catalog", operation_id = "admin_catalog_operators_get",
    params(("id" = String, Path, description = "Operator id")),
    responses((status = 200, description = "The operator", body = OperatorDoc),
        (status = 404, description = "`NOT_FOUND`", body = ErrorBody)),
    extensions(("x-permission" = json!(CatalogOperatorList::CODE))))]
pub async fn get_operator(
    _who: Require<CatalogOperatorList>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<Json<OperatorDoc>, ApiError> {
    Ok(Json(state.catalog.operator(&id).await?))
}

/// Change an operator's staff fields (name, logo, brand, enabled, sort).
#[utoipa::path(put, path = "/api/v1/admin/catalog/operators/{id}", tag = "admin-catalog", operation_id = "admin_catalog_operators_update",
    params(("id" = String, Path, description = "Operator id")),
    request_body = OperatorPatch,
    responses((status = 200, description = "The operator", body = OperatorDoc),
        (status = 400, description = "`VALIDATION_FAILED`", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`", body = ErrorBody)),
    extensions(("x-permission" = json!(CatalogOperatorUpdate::CODE))))]
pub async fn update_operator(
    who: Require<CatalogOperatorUpdate>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Json<OperatorPatch>,
) -> Result<Json<OperatorDoc>, ApiError> {
    let before = state.catalog.operator(&id).await?;
    let staff = actor(&who);
    let work = state
        .catalog
        .update_operator(&id, body.into_inner(), &staff);
    let after = edit(
        &state,
        &who,
        "update operator",
        "catalog_operator",
        &id,
        before,
        work,
    )
    .await?;
    Ok(Json(after))
}

// ---------- plans ----------

#[utoipa::path(get, path = "/api/v1/admin/catalog/plans", tag = "admin-catalog", operation_id = "admin_catalog_plans_list",
    params(PageRequest, PlanQuery),
    responses((status = 200, description = "One page of plans", body = Page<PlanDoc>)),
    extensions(("x-permission" = json!(CatalogPlanList::CODE))))]
pub async fn list_plans(
    _who: Require<CatalogPlanList>,
    state: web::Data<AppState>,
    paging: Paging,
    query: Query<PlanQuery>,
) -> Result<Json<Page<PlanDoc>>, ApiError> {
    let operator_id = match query.operator.as_deref() {
        Some(text) => Some(topup_core::Id::parse(text)?),
        None => None,
    };
    let filter = PlanFilter {
        country: query.country,
        operator_id,
        plan_type: query.plan_type,
        enabled: query.enabled,
        available: query.available,
        tag: query.tag.clone(),
    };
    let page = *paging;
    Ok(Json(state.catalog.list_plans(&filter, page).await?))
}

#[utoipa::path(get, path = "/api/v1/admin/catalog/plans/{id}", tag = "admin-catalog", operation_id = "admin_catalog_plans_get",
    params(("id" = String, Path, description = "Plan id")),
    responses((status = 200, description = "The plan", body = PlanDoc),
        (status = 404, description = "`NOT_FOUND`", body = ErrorBody)),
    extensions(("x-permission" = json!(CatalogPlanList::CODE))))]
pub async fn get_plan(
    _who: Require<CatalogPlanList>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<Json<PlanDoc>, ApiError> {
    Ok(Json(state.catalog.plan(&id).await?))
}

/// Change a plan's staff fields: titles, descriptions, validity, tags, sort, enabled, and a
/// pinned CNY price (`null` returns it to the pricing rules). Price changes are logged.
#[utoipa::path(put, path = "/api/v1/admin/catalog/plans/{id}", tag = "admin-catalog", operation_id = "admin_catalog_plans_update",
    params(("id" = String, Path, description = "Plan id")),
    request_body = PlanPatch,
    responses((status = 200, description = "The plan", body = PlanDoc),
        (status = 400, description = "`VALIDATION_FAILED`", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`", body = ErrorBody)),
    extensions(("x-permission" = json!(CatalogPlanUpdate::CODE))))]
pub async fn update_plan(
    who: Require<CatalogPlanUpdate>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Json<PlanPatch>,
) -> Result<Json<PlanDoc>, ApiError> {
    let before = state.catalog.plan(&id).await?;
    let staff = actor(&who);
    let work = state.catalog.update_plan(&id, body.into_inner(), &staff);
    let after = edit(
        &state,
        &who,
        "update plan",
        "catalog_plan",
        &id,
        before,
        work,
    )
    .await?;
    Ok(Json(after))
}

/// Make a custom-amount plan on an operator (within its range or one of its amounts).
#[utoipa::path(post, path = "/api/v1/admin/catalog/plans", tag = "admin-catalog", operation_id = "admin_catalog_plans_create",
    request_body = NewPlan,
    responses((status = 201, description = "The plan", body = PlanDoc),
        (status = 400, description = "`VALIDATION_FAILED`", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`: no such operator", body = ErrorBody),
        (status = 409, description = "`CONFLICT`: the operator has this custom amount", body = ErrorBody)),
    extensions(("x-permission" = json!(CatalogPlanCreate::CODE))))]
pub async fn create_plan(
    who: Require<CatalogPlanCreate>,
    state: web::Data<AppState>,
    body: Json<NewPlan>,
) -> Result<HttpResponse, ApiError> {
    let staff = actor(&who);
    let work = async {
        let plan = state.catalog.create_plan(body.into_inner(), &staff).await?;
        let change = Change::new("catalog_plan", plan.id).after(&plan);
        Ok::<_, CatalogError>(Audited::new(plan, change))
    };
    let plan = audited(&state, &who, "create plan", "catalog_plan", None, work).await?;
    Ok(HttpResponse::Created().json(plan))
}

/// Delete a custom-amount plan (synced plans are disabled instead).
#[utoipa::path(delete, path = "/api/v1/admin/catalog/plans/{id}", tag = "admin-catalog", operation_id = "admin_catalog_plans_delete",
    params(("id" = String, Path, description = "Plan id")),
    responses((status = 204, description = "Deleted"),
        (status = 404, description = "`NOT_FOUND`", body = ErrorBody),
        (status = 409, description = "`CONFLICT`: a synced plan", body = ErrorBody)),
    extensions(("x-permission" = json!(CatalogPlanDelete::CODE))))]
pub async fn delete_plan(
    who: Require<CatalogPlanDelete>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let staff = actor(&who);
    let work = async {
        let before = state.catalog.plan(&id).await?;
        state.catalog.delete_plan(&id, &staff).await?;
        let change = Change::new("catalog_plan", &id).before(&before);
        Ok::<_, CatalogError>(Audited::new((), change))
    };
    audited(
        &state,
        &who,
        "delete plan",
        "catalog_plan",
        id_of(&id),
        work,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn bulk(
    state: &AppState,
    who: &impl Actor,
    target: BulkTarget,
    body: BulkEnable,
) -> Result<Json<BulkResult>, ApiError> {
    let staff = actor(who);
    let (operation, kind) = match target {
        BulkTarget::Countries => ("enable/disable countries", "catalog_country"),
        BulkTarget::Operators => ("enable/disable operators", "catalog_operator"),
        BulkTarget::Plans => ("enable/disable plans", "catalog_plan"),
    };
    let work = async {
        let changed = state
            .catalog
            .set_enabled(target, &body.ids, body.enabled, &staff)
            .await?;
        let mut change = Change::new(kind, body.ids.join(","));
        change.after = Some(serde_json::json!({"ids": body.ids, "enabled": body.enabled}));
        Ok::<_, CatalogError>(Audited::new(BulkResult { changed }, change))
    };
    Ok(Json(
        audited(state, who, operation, kind, None, work).await?,
    ))
}

/// Enable or disable countries in bulk.
#[utoipa::path(post, path = "/api/v1/admin/catalog/countries/enabled", tag = "admin-catalog", operation_id = "admin_catalog_countries_enable",
    request_body = BulkEnable,
    responses((status = 200, description = "How many changed", body = BulkResult),
        (status = 404, description = "`NOT_FOUND`: an unknown id; nothing changed", body = ErrorBody)),
    extensions(("x-permission" = json!(CatalogCountryUpdate::CODE))))]
pub async fn enable_countries(
    who: Require<CatalogCountryUpdate>,
    state: web::Data<AppState>,
    body: Json<BulkEnable>,
) -> Result<Json<BulkResult>, ApiError> {
    bulk(&state, &who, BulkTarget::Countries, body.into_inner()).await
}

/// Enable or disable operators in bulk.
#[utoipa::path(post, path = "/api/v1/admin/catalog/operators/enabled", tag = "admin-catalog", operation_id = "admin_catalog_operators_enable",
    request_body = BulkEnable,
    responses((status = 200, description = "How many changed", body = BulkResult),
        (status = 404, description = "`NOT_FOUND`: an unknown id; nothing changed", body = ErrorBody)),
    extensions(("x-permission" = json!(CatalogOperatorUpdate::CODE))))]
pub async fn enable_operators(
    who: Require<CatalogOperatorUpdate>,
    state: web::Data<AppState>,
    body: Json<BulkEnable>,
) -> Result<Json<BulkResult>, ApiError> {
    bulk(&state, &who, BulkTarget::Operators, body.into_inner()).await
}

/// Enable or disable plans in bulk.
#[utoipa::path(post, path = "/api/v1/admin/catalog/plans/enabled", tag = "admin-catalog", operation_id = "admin_catalog_plans_enable",
    request_body = BulkEnable,
    responses((status = 200, description = "How many changed", body = BulkResult),
        (status = 404, description = "`NOT_FOUND`: an unknown id; nothing changed", body = ErrorBody)),
    extensions(("x-permission" = json!(CatalogPlanUpdate::CODE))))]
pub async fn enable_plans(
    who: Require<CatalogPlanUpdate>,
    state: web::Data<AppState>,
    body: Json<BulkEnable>,
) -> Result<Json<BulkResult>, ApiError> {
    bulk(&state, &who, BulkTarget::Plans, body.into_inner()).await
}

// ---------- pricing ----------

/// The pricing rules: global, per-country and per-operator markups and the price step.
#[utoipa::path(get, path = "/api/v1/admin/catalog/pricing", tag = "admin-catalog", operation_id = "admin_catalog_pricing_get",
    responses((status = 200, description = "The rules", body = PricingRules)),
    extensions(("x-permission" = json!(CatalogPricingView::CODE))))]
pub async fn get_pricing(
    _who: Require<CatalogPricingView>,
    state: web::Data<AppState>,
) -> Result<Json<PricingRules>, ApiError> {
    Ok(Json(state.catalog.pricing_rules().await?))
}

/// Replace the pricing rules (send the `version` you read) and reprice every plan; each
/// price that moves is logged.
#[utoipa::path(put, path = "/api/v1/admin/catalog/pricing", tag = "admin-catalog", operation_id = "admin_catalog_pricing_update",
    request_body = PricingRulesUpdate,
    responses((status = 200, description = "The stored rules and how many plans changed price", body = PricingUpdated),
        (status = 400, description = "`VALIDATION_FAILED`", body = ErrorBody),
        (status = 409, description = "`CONFLICT`: changed meanwhile", body = ErrorBody)),
    extensions(("x-permission" = json!(CatalogPricingUpdate::CODE))))]
pub async fn update_pricing(
    who: Require<CatalogPricingUpdate>,
    state: web::Data<AppState>,
    body: Json<PricingRulesUpdate>,
) -> Result<Json<PricingUpdated>, ApiError> {
    let staff = actor(&who);
    let work = async {
        let before = state.catalog.pricing_rules().await?;
        let (rules, repriced) = state
            .catalog
            .update_pricing_rules(body.into_inner(), &staff)
            .await?;
        let change = Change::new("catalog_pricing", PricingRules::ID)
            .before(&before)
            .after(&rules);
        Ok::<_, CatalogError>(Audited::new(PricingUpdated { rules, repriced }, change))
    };
    let updated = audited(
        &state,
        &who,
        "update pricing rules",
        "catalog_pricing",
        id_of(PricingRules::ID),
        work,
    )
    .await?;
    Ok(Json(updated))
}

/// The price-change log, newest first: who, when, old and new price, why.
#[utoipa::path(get, path = "/api/v1/admin/catalog/price-changes", tag = "admin-catalog", operation_id = "admin_catalog_price_changes",
    params(PageRequest, PriceChangeQuery),
    responses((status = 200, description = "One page of changes", body = Page<PriceChange>)),
    extensions(("x-permission" = json!(CatalogPricingView::CODE))))]
pub async fn price_changes(
    _who: Require<CatalogPricingView>,
    state: web::Data<AppState>,
    paging: Paging,
    query: Query<PriceChangeQuery>,
) -> Result<Json<Page<PriceChange>>, ApiError> {
    let page = *paging;
    Ok(Json(
        state
            .catalog
            .price_changes(query.plan.as_deref(), page)
            .await?,
    ))
}

// ---------- sync ----------

/// Sync countries, operators and plans from every enabled provider now; answers the report.
#[utoipa::path(post, path = "/api/v1/admin/catalog/sync", tag = "admin-catalog", operation_id = "admin_catalog_sync",
    responses((status = 200, description = "The sync report (provider errors inside)", body = SyncReport),
        (status = 409, description = "`CONFLICT`: a sync is already running", body = ErrorBody)),
    extensions(("x-permission" = json!(CatalogSyncRun::CODE))))]
pub async fn sync(
    who: Require<CatalogSyncRun>,
    state: web::Data<AppState>,
) -> Result<Json<SyncReport>, ApiError> {
    let trigger = actor(&who);
    let work = async {
        let report = state.catalog.sync(&trigger).await?;
        let change = Change::new("catalog_sync", report.id).after(&report);
        Ok::<_, CatalogError>(Audited::new(report, change))
    };
    let report = audited(&state, &who, "sync catalog", "catalog_sync", None, work).await?;
    Ok(Json(report))
}

#[utoipa::path(get, path = "/api/v1/admin/catalog/sync-reports", tag = "admin-catalog", operation_id = "admin_catalog_sync_reports",
    params(PageRequest),
    responses((status = 200, description = "Sync reports, newest first", body = Page<SyncReport>)),
    extensions(("x-permission" = json!(CatalogSyncList::CODE))))]
pub async fn sync_reports(
    _who: Require<CatalogSyncList>,
    state: web::Data<AppState>,
    paging: Paging,
) -> Result<Json<Page<SyncReport>>, ApiError> {
    let page = *paging;
    Ok(Json(state.catalog.sync_reports(page).await?))
}

#[utoipa::path(get, path = "/api/v1/admin/catalog/sync-reports/{id}", tag = "admin-catalog", operation_id = "admin_catalog_sync_report",
    params(("id" = String, Path, description = "Report id")),
    responses((status = 200, description = "The report", body = SyncReport),
        (status = 404, description = "`NOT_FOUND`", body = ErrorBody)),
    extensions(("x-permission" = json!(CatalogSyncList::CODE))))]
pub async fn sync_report(
    _who: Require<CatalogSyncList>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<Json<SyncReport>, ApiError> {
    Ok(Json(state.catalog.sync_report(&id).await?))
}

// Registered inside the admin scope.
routes! {
    get "/catalog/countries" => list_countries,
    post "/catalog/countries/enabled" => enable_countries,
    get "/catalog/countries/{id}" => get_country,
    put "/catalog/countries/{id}" => update_country,
    get "/catalog/operators" => list_operators,
    post "/catalog/operators/enabled" => enable_operators,
    get "/catalog/operators/{id}" => get_operator,
    put "/catalog/operators/{id}" => update_operator,
    get "/catalog/plans" => list_plans,
    post "/catalog/plans" => create_plan,
    post "/catalog/plans/enabled" => enable_plans,
    get "/catalog/plans/{id}" => get_plan,
    put "/catalog/plans/{id}" => update_plan,
    delete "/catalog/plans/{id}" => delete_plan,
    get "/catalog/pricing" => get_pricing,
    put "/catalog/pricing" => update_pricing,
    get "/catalog/price-changes" => price_changes,
    post "/catalog/sync" => sync,
    get "/catalog/sync-reports" => sync_reports,
    get "/catalog/sync-reports/{id}" => sync_report,
}
