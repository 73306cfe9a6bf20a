//! The home page as published (its banners, notices, countries and plans filled in), banner
//! clicks, and announcements with the user's read marks (`docs/content.md`).

use std::collections::HashMap;
use std::sync::Mutex;

use actix_web::http::StatusCode;
use actix_web::http::header::ContentType;
use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};
use chrono::TimeDelta;
use serde::Serialize;
use topup_catalog::{AppCountry, AppPlan, PlanId};
use topup_content::{
    AgreementKind, AgreementVersion, Announcement, BannerLink, Component, Contact,
};
use topup_core::{CountryCode, Timestamp};
use utoipa::ToSchema;

use crate::extract::Json;
use crate::security::AppUser;
use crate::{ApiError, AppState, ErrorBody};

/// A banner as the app shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AppBanner {
    pub id: String,
    pub title: String,
    pub image_url: String,
    pub link: BannerLink,
    /// The plan a `plan` link leads to (its country and price), so the app can start the
    /// purchase without looking it up.
    pub plan: Option<AppPlan>,
}

/// An announcement's line in the notice bar.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AppNotice {
    pub id: String,
    pub title: String,
    pub pinned: bool,
}

/// One block of the home page with what it shows.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AppHomeBlock {
    TopupForm {},
    BannerCarousel {
        interval_seconds: u32,
        banners: Vec<AppBanner>,
    },
    NoticeBar {
        announcements: Vec<AppNotice>,
    },
    CountryGrid {
        title: String,
        columns: u32,
        countries: Vec<AppCountry>,
    },
    HotPlans {
        title: String,
        plans: Vec<AppPlan>,
    },
    CouponEntry {
        title: String,
        subtitle: String,
    },
    MembershipEntry {
        title: String,
        subtitle: String,
    },
    RichText {
        html: String,
    },
    Spacer {
        height: u32,
    },
}

/// The home page as the app renders it, top to bottom. Blocks with nothing to show (no
/// banner in its window, no country on sale) are left out.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"version": 3, "components": [
    {"type": "banner_carousel", "interval_seconds": 5, "banners": [{"id": "01JDZ8Q7Y7E3K9V6S2M4T1R0PA",
        "title": "Roaming in Manila?", "image_url": "https://cdn.example/ph.png",
        "link": {"kind": "page", "path": "/pages/membership/index"}}]},
    {"type": "notice_bar", "announcements": [{"id": "01JDZ8Q7Y7E3K9V6S2M4T1R0PB", "title": "Smart top-ups are back", "pinned": true}]},
    {"type": "topup_form"},
    {"type": "spacer", "height": 16}]}))]
pub struct AppHome {
    /// The published version (0: nobody has published one; the plain page).
    pub version: u32,
    pub components: Vec<AppHomeBlock>,
}

/// Fills in a page's blocks from the content and the catalog as they are now.
pub(crate) async fn resolve_home(
    state: &AppState,
    version: u32,
    components: Vec<Component>,
    member: bool,
) -> Result<AppHome, ApiError> {
    let snapshot = state.catalog.snapshot();
    let mut blocks = Vec::with_capacity(components.len());
    let mut banners_by_position: HashMap<String, Vec<AppBanner>> = HashMap::new();
    let mut notices: Option<Vec<AppNotice>> = None;
    for component in components {
        let block = match component {
            Component::TopupForm {} => AppHomeBlock::TopupForm {},
            Component::BannerCarousel {
                position,
                interval_seconds,
            } => {
                if !banners_by_position.contains_key(&position) {
                    let showing = state.content.showing_banners(&position).await?;
                    let on_sale = showing
                        .into_iter()
                        .filter_map(|banner| {
                            let plan = match &banner.link {
                                BannerLink::Plan { plan_id } => Some(
                                    plan_id
                                        .parse::<PlanId>()
                                        .ok()
                                        .and_then(|id| snapshot.offer(&id))
                                        .map(|offer| offer.plan.clone())?,
                                ),
                                _ => None,
                            };
                            Some(AppBanner {
                                id: banner.id,
                                title: banner.title,
                                image_url: banner.image_url,
                                link: banner.link,
                                plan,
                            })
                        })
                        .collect();
                    banners_by_position.insert(position.clone(), on_sale);
                }
                let banners = banners_by_position
                    .get(&position)
                    .cloned()
                    .unwrap_or_default();
                if banners.is_empty() {
                    continue;
                }
                AppHomeBlock::BannerCarousel {
                    interval_seconds,
                    banners,
                }
            }
            Component::NoticeBar { limit } => {
                if notices.is_none() {
                    let showing = state.content.showing_announcements(member).await?;
                    notices = Some(
                        showing
                            .into_iter()
                            .map(|a| AppNotice {
                                id: a.id,
                                title: a.title,
                                pinned: a.pinned,
                            })
                            .collect(),
                    );
                }
                let announcements: Vec<AppNotice> = notices
                    .iter()
                    .flatten()
                    .take(usize::try_from(limit).unwrap_or(usize::MAX))
                    .cloned()
                    .collect();
                if announcements.is_empty() {
                    continue;
                }
                AppHomeBlock::NoticeBar { announcements }
            }
            Component::CountryGrid {
                title,
                countries,
                columns,
            } => {
                let countries: Vec<AppCountry> = countries
                    .iter()
                    .filter_map(|code| code.parse::<CountryCode>().ok())
                    .filter_map(|code| snapshot.country(code).cloned())
                    .collect();
                if countries.is_empty() {
                    continue;
                }
                AppHomeBlock::CountryGrid {
                    title,
                    columns,
                    countries,
                }
            }
            Component::HotPlans { title, plan_ids } => {
                let plans: Vec<AppPlan> = plan_ids
                    .iter()
                    .filter_map(|id| id.parse::<PlanId>().ok())
                    .filter_map(|id| snapshot.offer(&id).map(|offer| offer.plan.clone()))
                    .collect();
                if plans.is_empty() {
                    continue;
                }
                AppHomeBlock::HotPlans { title, plans }
            }
            Component::CouponEntry { title, subtitle } => {
                AppHomeBlock::CouponEntry { title, subtitle }
            }
            Component::MembershipEntry { title, subtitle } => {
                AppHomeBlock::MembershipEntry { title, subtitle }
            }
            Component::RichText { html } => AppHomeBlock::RichText { html },
            Component::Spacer { height } => AppHomeBlock::Spacer { height },
        };
        blocks.push(block);
    }
    Ok(AppHome {
        version,
        components: blocks,
    })
}

/// How long a built home page is served before it is built again even though nothing was
/// edited: banners and announcements enter and leave their windows by the clock alone.
const HOME_FRESH_FOR: TimeDelta = TimeDelta::seconds(30);

/// The built home page per audience (member or not), as JSON. Each request compares one
/// stored stamp (and the catalog's) with the entry's, so an edit or a publish in any
/// process is seen by every process's next request.
#[derive(Default)]
pub struct HomeCache {
    entries: Mutex<HashMap<bool, CachedHome>>,
}

#[derive(Clone)]
struct CachedHome {
    content_stamp: i64,
    catalog_stamp: i64,
    built_at: Timestamp,
    body: Bytes,
}

impl HomeCache {
    fn get(
        &self,
        member: bool,
        content_stamp: i64,
        catalog_stamp: i64,
        now: Timestamp,
    ) -> Option<Bytes> {
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        entries
            .get(&member)
            .filter(|c| {
                c.content_stamp == content_stamp
                    && c.catalog_stamp == catalog_stamp
                    && now.since(c.built_at) < HOME_FRESH_FOR
                    && c.built_at <= now
            })
            .map(|c| c.body.clone())
    }

    fn put(&self, member: bool, entry: CachedHome) {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(member, entry);
    }
}

/// Whether the user has an active membership (announcements can be meant for members only).
async fn is_member(state: &AppState, who: &AppUser) -> Result<bool, ApiError> {
    let now = state.clock.now();
    Ok(state
        .marketing
        .membership(&who.user_id.to_string())
        .await?
        .is_some_and(|m| m.is_active(now)))
}

/// The published home page with its banners, notices, countries and plans, in one call.
#[utoipa::path(get, path = "/api/v1/app/home", tag = "app-content", operation_id = "app_home_get",
    responses((status = 200, description = "The home page, top to bottom", body = AppHome)),
    extensions(("x-app-user" = json!(true))))]
pub async fn home(who: AppUser, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let member = is_member(&state, &who).await?;
    let content_stamp = state.content.stamp().await?;
    let catalog_stamp = state.catalog.snapshot().stamp();
    let now = state.clock.now();
    let body = match state
        .home_cache
        .get(member, content_stamp, catalog_stamp, now)
    {
        Some(body) => body,
        None => {
            let (version, components) = state.content.published_components().await?;
            let home = resolve_home(&state, version, components, member).await?;
            let body = Bytes::from(serde_json::to_vec(&home).map_err(ApiError::internal)?);
            state.home_cache.put(
                member,
                CachedHome {
                    content_stamp,
                    catalog_stamp,
                    built_at: now,
                    body: body.clone(),
                },
            );
            body
        }
    };
    Ok(HttpResponse::Ok()
        .insert_header(ContentType::json())
        .body(body))
}

/// Counts a tap on a banner.
#[utoipa::path(post, path = "/api/v1/app/banners/{id}/click", tag = "app-content", operation_id = "app_banner_click",
    params(("id" = String, Path, description = "Banner id")),
    responses(
        (status = 204, description = "Counted"),
        (status = 404, description = "No such banner", body = ErrorBody),
    ),
    extensions(("x-app-user" = json!(true))))]
pub async fn click_banner(
    _who: AppUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    if !state.content.click_banner(&id).await? {
        return Err(topup_content::ContentError::NotFound(format!("banner {id}")).into());
    }
    Ok(HttpResponse::new(StatusCode::NO_CONTENT))
}

/// An announcement as its reader sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppAnnouncement {
    pub id: String,
    pub title: String,
    /// Cleaned HTML.
    pub body_html: String,
    pub pinned: bool,
    /// When it started showing (its window's start, or when it was written).
    pub published_at: Timestamp,
    /// Whether this user has read it.
    pub read: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AppAnnouncements {
    /// Pinned first, then newest first.
    pub items: Vec<AppAnnouncement>,
    /// How many of them the user has not read.
    pub unread: usize,
}

fn app_announcement(announcement: Announcement, read: bool) -> AppAnnouncement {
    AppAnnouncement {
        published_at: announcement.starts_at.unwrap_or(announcement.created_at),
        id: announcement.id,
        title: announcement.title,
        body_html: announcement.body_html,
        pinned: announcement.pinned,
        read,
    }
}

/// The announcements showing now for this user, each marked read or not.
#[utoipa::path(get, path = "/api/v1/app/announcements", tag = "app-content", operation_id = "app_announcements_list",
    responses((status = 200, description = "Announcements", body = AppAnnouncements)),
    extensions(("x-app-user" = json!(true))))]
pub async fn announcements(
    who: AppUser,
    state: web::Data<AppState>,
) -> Result<Json<AppAnnouncements>, ApiError> {
    let member = is_member(&state, &who).await?;
    let showing = state.content.showing_announcements(member).await?;
    let ids: Vec<String> = showing.iter().map(|a| a.id.clone()).collect();
    let read = state
        .content
        .read_by(&who.user_id.to_string(), &ids)
        .await?;
    let items: Vec<AppAnnouncement> = showing
        .into_iter()
        .map(|a| {
            let seen = read.contains(&a.id);
            app_announcement(a, seen)
        })
        .collect();
    let unread = items.iter().filter(|a| !a.read).count();
    Ok(Json(AppAnnouncements { items, unread }))
}

/// Marks an announcement read (again is harmless).
#[utoipa::path(post, path = "/api/v1/app/announcements/{id}/read", tag = "app-content", operation_id = "app_announcement_read",
    params(("id" = String, Path, description = "Announcement id")),
    responses(
        (status = 204, description = "Marked"),
        (status = 404, description = "No such announcement", body = ErrorBody),
    ),
    extensions(("x-app-user" = json!(true))))]
pub async fn mark_read(
    who: AppUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state
        .content
        .mark_read(&who.user_id.to_string(), &id)
        .await?;
    Ok(HttpResponse::new(StatusCode::NO_CONTENT))
}

/// The questions of one category.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppFaqCategory {
    pub name: String,
    pub faqs: Vec<AppFaq>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AppFaq {
    pub question: String,
    /// Cleaned HTML.
    pub answer_html: String,
}

/// The customer service page.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppService {
    /// In the order staff wrote them.
    pub categories: Vec<AppFaqCategory>,
    pub contacts: Vec<Contact>,
    pub working_hours: String,
}

/// The customer service page: questions by category, contacts, working hours.
#[utoipa::path(get, path = "/api/v1/app/service", tag = "app-content", operation_id = "app_service_get",
    responses((status = 200, description = "The service page", body = AppService)),
    extensions(("x-app-user" = json!(true))))]
pub async fn service(
    _who: AppUser,
    state: web::Data<AppState>,
) -> Result<Json<AppService>, ApiError> {
    let desk = state.content.service_desk().await?;
    let mut categories: Vec<AppFaqCategory> = Vec::new();
    for faq in desk.faqs {
        let entry = AppFaq {
            question: faq.question,
            answer_html: faq.answer_html,
        };
        match categories.iter_mut().find(|c| c.name == faq.category) {
            Some(category) => category.faqs.push(entry),
            None => categories.push(AppFaqCategory {
                name: faq.category,
                faqs: vec![entry],
            }),
        }
    }
    Ok(Json(AppService {
        categories,
        contacts: desk.contacts,
        working_hours: desk.working_hours,
    }))
}

/// An agreement's current version as a user sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppAgreement {
    pub kind: AgreementKind,
    /// Send it back when accepting.
    pub version: u32,
    pub title: String,
    /// Cleaned HTML.
    pub body_html: String,
    /// What changed since the previous version.
    pub summary: String,
    pub published_at: Timestamp,
    /// When you accepted this version; none if you have not.
    pub accepted_at: Option<Timestamp>,
}

async fn app_agreement(
    state: &AppState,
    user_id: &str,
    current: AgreementVersion,
) -> Result<AppAgreement, ApiError> {
    let accepted_at = state
        .content
        .accepted_at(user_id, current.kind, current.number)
        .await?;
    Ok(AppAgreement {
        kind: current.kind,
        version: current.number,
        title: current.title,
        body_html: current.body_html,
        summary: current.summary,
        published_at: current.published_at,
        accepted_at,
    })
}

/// The agreements published so far, current versions, each with your acceptance.
#[utoipa::path(get, path = "/api/v1/app/agreements", tag = "app-content", operation_id = "app_agreements_list",
    responses((status = 200, description = "Agreements", body = Vec<AppAgreement>)),
    extensions(("x-app-user" = json!(true))))]
pub async fn agreements(
    who: AppUser,
    state: web::Data<AppState>,
) -> Result<Json<Vec<AppAgreement>>, ApiError> {
    let user_id = who.user_id.to_string();
    let mut list = Vec::new();
    for kind in AgreementKind::ALL {
        if let Some(current) = state.content.current_agreement(kind).await? {
            list.push(app_agreement(&state, &user_id, current).await?);
        }
    }
    Ok(Json(list))
}

/// The current version of one agreement, with your acceptance.
#[utoipa::path(get, path = "/api/v1/app/agreements/{kind}", tag = "app-content", operation_id = "app_agreement_get",
    params(("kind" = AgreementKind, Path, description = "Which agreement")),
    responses(
        (status = 200, description = "The current version", body = AppAgreement),
        (status = 404, description = "None published", body = ErrorBody),
    ),
    extensions(("x-app-user" = json!(true))))]
pub async fn agreement(
    who: AppUser,
    state: web::Data<AppState>,
    kind: web::Path<String>,
) -> Result<Json<AppAgreement>, ApiError> {
    let kind = crate::routes::admin::content::agreement_kind(&kind)?;
    let current = state
        .content
        .current_agreement(kind)
        .await?
        .ok_or_else(|| {
            ApiError::from(topup_content::ContentError::NotFound(format!(
                "agreement {}",
                kind.as_str()
            )))
        })?;
    Ok(Json(
        app_agreement(&state, &who.user_id.to_string(), current).await?,
    ))
}

#[derive(Debug, Clone, serde::Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptBody {
    /// The version the user was shown.
    pub version: u32,
}

/// Accept the current version of an agreement.
#[utoipa::path(post, path = "/api/v1/app/agreements/{kind}/accept", tag = "app-content", operation_id = "app_agreement_accept",
    params(("kind" = AgreementKind, Path, description = "Which agreement")),
    request_body = AcceptBody,
    responses(
        (status = 204, description = "Accepted"),
        (status = 404, description = "None published", body = ErrorBody),
        (status = 409, description = "`CONFLICT`: not the current version (`details.version` is; show its text)", body = ErrorBody),
    ),
    extensions(("x-app-user" = json!(true))))]
pub async fn accept(
    who: AppUser,
    state: web::Data<AppState>,
    kind: web::Path<String>,
    body: Json<AcceptBody>,
) -> Result<HttpResponse, ApiError> {
    let kind = crate::routes::admin::content::agreement_kind(&kind)?;
    state
        .content
        .accept_agreement(&who.user_id.to_string(), kind, body.version)
        .await?;
    Ok(HttpResponse::new(StatusCode::NO_CONTENT))
}
