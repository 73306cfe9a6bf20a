//! Global search (the console's Ctrl+K): one box for order numbers, phone numbers, WeChat's
//! and the provider's transaction ids, mini-program users, plans and the console's pages.
//! Each kind of result needs the permission of its own page, and personal data is masked as
//! there.

use actix_web::web;
use serde::{Deserialize, Serialize};
use topup_auth::Principal;
use topup_auth::app_users::AppUserQuery;
use topup_auth::perm::{CatalogPlanList, OrderList, UserAppUserList};
use topup_auth::{MenuKind, MenuNodeView, Permission};
use topup_core::personal::mask_phone;
use topup_core::{Money, PageRequest, Timestamp};
use topup_orders::OrderState;
use utoipa::{IntoParams, ToSchema};

use crate::extract::{Json, Query, field_error};
use crate::routes::admin::app_users::for_viewer;
use crate::routes::admin::orders::sees_personal_data;
use crate::security::Authenticated;
use crate::{ApiError, AppState, ErrorBody};

/// At most this many results of each kind.
const PER_KIND: usize = 5;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// What to look for (1–100 characters): an order number, a phone number (`+E.164`
    /// exactly, or 6 or more of its digits), a WeChat or provider transaction id, an openid
    /// or nickname, a plan's or operator's name, a page's title.
    pub q: String,
}

/// An order found, and by what.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderHit {
    pub order_no: String,
    pub state: OrderState,
    /// Masked without `order:personal:view`.
    pub phone: String,
    pub total: Money,
    pub plan_title: String,
    pub created_at: Timestamp,
    /// `order_no`, `phone`, `transaction_id` or `provider_transaction_id`.
    pub matched: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AppUserHit {
    pub id: String,
    pub nickname: String,
    /// Masked without `order:personal:view`, as on the users page.
    pub openid: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlanHit {
    pub id: String,
    pub title_zh: String,
    pub title_en: String,
    pub country: String,
    pub operator: String,
}

/// A console page the caller may open.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageHit {
    /// The menu entry's key (the console translates its title from it).
    pub key: Option<String>,
    pub title: String,
    pub path: String,
}

/// Each kind is absent when the caller may not see it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "q": "+639171234500",
    "orders": [{"order_no": "01M94P65E9VNJGSF04XNNSASVV", "state": "succeeded", "phone": "+63917****500",
        "total": {"amount": 770, "currency": "CNY"}, "plan_title": "PHP 58.12 话费",
        "created_at": "2026-12-06T03:26:00Z", "matched": "phone"}],
    "app_users": [], "plans": [], "pages": []}))]
pub struct SearchResults {
    pub q: String,
    /// With `order:order:list`.
    pub orders: Option<Vec<OrderHit>>,
    /// With `user:app_user:list`.
    pub app_users: Option<Vec<AppUserHit>>,
    /// With `catalog:plan:list`.
    pub plans: Option<Vec<PlanHit>>,
    /// The menu pages the caller may open whose title or path contains the words.
    pub pages: Vec<PageHit>,
}

/// Every page of the caller's menu tree whose title or path contains `needle` (lower case).
fn matching_pages(nodes: &[MenuNodeView], needle: &str, found: &mut Vec<PageHit>) {
    for node in nodes {
        if node.kind == MenuKind::Menu
            && let Some(path) = &node.path
            && (node.name.to_lowercase().contains(needle) || path.to_lowercase().contains(needle))
        {
            found.push(PageHit {
                key: node.key.clone(),
                title: node.name.clone(),
                path: path.clone(),
            });
        }
        matching_pages(&node.children, needle, found);
    }
}

fn phone_for(who: &Principal, phone: &str) -> String {
    if sees_personal_data(who) {
        phone.to_owned()
    } else {
        mask_phone(phone)
    }
}

/// Searches orders, mini-program users, plans and console pages at once, each kind only
/// with the permission of its page (the rest is absent), personal data masked as there.
#[utoipa::path(get, path = "/api/v1/admin/search", tag = "admin-search", operation_id = "admin_search",
    params(SearchQuery),
    responses(
        (status = 200, description = "What was found, by kind", body = SearchResults),
        (status = 400, description = "`VALIDATION_FAILED`: `q` empty or longer than 100 characters", body = ErrorBody),
    ),
    extensions(("x-authenticated-only" = json!(true))))]
pub async fn search(
    who: Authenticated,
    state: web::Data<AppState>,
    query: Query<SearchQuery>,
) -> Result<Json<SearchResults>, ApiError> {
    let words = query.q.trim();
    if words.is_empty() || words.chars().count() > 100 {
        return Err(field_error("q", "1 to 100 characters"));
    }
    let needle = words.to_lowercase();

    let orders = if who.can(OrderList::CODE) {
        let found = state.orders.search(words, PER_KIND).await?;
        Some(
            found
                .into_iter()
                .map(|(order, matched)| OrderHit {
                    phone: phone_for(&who, &order.phone),
                    order_no: order.id,
                    state: order.state,
                    total: order.total,
                    plan_title: order.plan.title,
                    created_at: order.created_at,
                    matched: matched.to_owned(),
                })
                .collect(),
        )
    } else {
        None
    };

    // Words that name an order exactly (its number, a WeChat or provider transaction id)
    // name nobody's nickname: the users are not scanned for them.
    let names_an_order = orders
        .as_ref()
        .is_some_and(|hits: &Vec<OrderHit>| hits.iter().any(|hit| hit.matched != "phone"));
    let app_users = if names_an_order && who.can(UserAppUserList::CODE) {
        Some(Vec::new())
    } else if who.can(UserAppUserList::CODE) {
        let digits = words.trim_start_matches('+');
        let by_number = digits.len() >= 6 && digits.chars().all(|c| c.is_ascii_digit());
        let query = if by_number {
            AppUserQuery {
                number: Some(words.to_owned()),
                ..AppUserQuery::default()
            }
        } else {
            AppUserQuery {
                q: Some(words.to_owned()),
                ..AppUserQuery::default()
            }
        };
        let page = PageRequest {
            page: 1,
            page_size: PER_KIND as u32,
        };
        let found = state.app_users.list_app_users(&query, page).await?;
        Some(
            found
                .items
                .into_iter()
                .map(|view| for_viewer(view, &who))
                .map(|view| AppUserHit {
                    id: view.id.to_string(),
                    nickname: view.nickname,
                    openid: view.openid,
                })
                .collect(),
        )
    } else {
        None
    };

    let plans = if who.can(CatalogPlanList::CODE) {
        let snapshot = state.catalog.snapshot();
        Some(
            snapshot
                .find_plans(&needle, PER_KIND)
                .into_iter()
                .map(|plan| PlanHit {
                    id: plan.id.to_string(),
                    title_zh: plan.title_zh.clone(),
                    title_en: plan.title_en.clone(),
                    country: plan.country.to_string(),
                    operator: plan.operator.name.clone(),
                })
                .collect(),
        )
    } else {
        None
    };

    let me = state.auth.me(&who).await?;
    let mut pages = Vec::new();
    matching_pages(&me.menus, &needle, &mut pages);
    pages.truncate(PER_KIND);

    Ok(Json(SearchResults {
        q: words.to_owned(),
        orders,
        app_users,
        plans,
        pages,
    }))
}
