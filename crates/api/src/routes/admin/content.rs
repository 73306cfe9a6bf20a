//! Banners, announcements and the home page's decoration: the draft, its preview, publishing
//! and the version history with rollback (`docs/content.md`).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use topup_auth::perm::{
    ContentAgreementList, ContentAgreementPublish, ContentAnnouncementCreate,
    ContentAnnouncementDelete, ContentAnnouncementList, ContentAnnouncementUpdate,
    ContentBannerCreate, ContentBannerDelete, ContentBannerList, ContentBannerUpdate,
    ContentHomeEdit, ContentHomePublish, ContentHomeView, ContentServiceUpdate, ContentServiceView,
};
use topup_auth::{Audited, Change, Permission};
use topup_catalog::CatalogError;
use topup_content::{
    AgreementDraft, AgreementKind, AgreementVersion, Announcement, AnnouncementDraft, Audience,
    Banner, BannerDraft, BannerLink, Component, Contact, ContentError, Faq, HomeDraft, HomeVersion,
    HomeVersionSummary, ServiceDesk, ServiceDeskDraft,
};
use topup_core::{FieldErrors, Page, PageRequest, Timestamp};
use utoipa::{IntoParams, ToSchema};

use crate::error::fields_error;
use crate::extract::{Json, Paging, Query};
use crate::routes::admin::audited;
use crate::routes::app::content::{AppHome, resolve_home};
use crate::security::{Actor, Require};
use crate::{ApiError, AppState, ErrorBody};

// ---------- catalog references ----------

/// Whether a catalog lookup found the thing; a malformed id is as unknown as a missing one.
fn found<T>(lookup: Result<T, CatalogError>) -> Result<bool, ApiError> {
    match lookup {
        Ok(_) => Ok(true),
        Err(CatalogError::Store(cause)) => Err(cause.into()),
        Err(_) => Ok(false),
    }
}

/// Refuses countries and plans the catalog does not have (`docs/content.md`). One that
/// exists but is off sale is accepted: the app leaves it out until it is back on sale.
async fn refuse_unknown_references(
    state: &AppState,
    components: &[Component],
    banner_plan: Option<&str>,
) -> Result<(), ApiError> {
    let mut unknown = FieldErrors::new();
    for (at, component) in components.iter().enumerate() {
        match component {
            Component::CountryGrid { countries, .. } => {
                for (i, code) in countries.iter().enumerate() {
                    if state.catalog.country_by_code(code).await?.is_none() {
                        unknown.add(
                            &format!("components[{at}].countries[{i}]"),
                            format!("no country {code} in the catalog"),
                        );
                    }
                }
            }
            Component::HotPlans { plan_ids, .. } => {
                for (i, id) in plan_ids.iter().enumerate() {
                    if !found(state.catalog.plan(id).await)? {
                        unknown.add(
                            &format!("components[{at}].plan_ids[{i}]"),
                            format!("no plan {id} in the catalog"),
                        );
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(id) = banner_plan
        && !found(state.catalog.plan(id.trim()).await)?
    {
        unknown.add(
            "link.plan_id",
            format!("no plan {} in the catalog", id.trim()),
        );
    }
    unknown
        .into_result()
        .map_err(|fields| fields_error(&fields))
}

fn linked_plan(body: &BannerBody) -> Option<&str> {
    match &body.link {
        BannerLink::Plan { plan_id } => Some(plan_id.as_str()),
        _ => None,
    }
}

// ---------- banners ----------

/// A banner as staff write it.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"title": "Roaming in Manila?", "image_url": "https://cdn.example/ph.png",
    "link": {"kind": "page", "path": "/pages/membership/index"}, "position": "home",
    "starts_at": null, "ends_at": "2027-01-01T00:00:00Z", "sort": 10, "enabled": true}))]
pub struct BannerBody {
    /// 1–40 characters (alt text, and how staff find it).
    pub title: String,
    /// An http(s) address, or a path on this server starting with `/`.
    pub image_url: String,
    pub link: BannerLink,
    /// Which carousel shows it: lower-case letters, digits and `_` (default `home`).
    #[serde(default = "home_position")]
    pub position: String,
    pub starts_at: Option<Timestamp>,
    /// After `starts_at`.
    pub ends_at: Option<Timestamp>,
    /// Smaller first.
    #[serde(default)]
    pub sort: i32,
    pub enabled: bool,
}

fn home_position() -> String {
    "home".to_owned()
}

impl From<BannerBody> for BannerDraft {
    fn from(body: BannerBody) -> Self {
        BannerDraft {
            title: body.title,
            image_url: body.image_url,
            link: body.link,
            position: body.position,
            starts_at: body.starts_at,
            ends_at: body.ends_at,
            sort: body.sort,
            enabled: body.enabled,
        }
    }
}

/// A banner as staff see it, with its clicks and whether it shows now.
#[derive(Debug, Serialize, ToSchema)]
pub struct BannerView {
    pub id: String,
    pub title: String,
    pub image_url: String,
    pub link: BannerLink,
    pub position: String,
    pub starts_at: Option<Timestamp>,
    pub ends_at: Option<Timestamp>,
    pub sort: i32,
    pub enabled: bool,
    pub clicks: i64,
    /// Enabled and inside its window right now.
    pub showing: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

fn banner_view(banner: Banner, now: Timestamp) -> BannerView {
    BannerView {
        showing: banner.is_showing(now),
        id: banner.id,
        title: banner.title,
        image_url: banner.image_url,
        link: banner.link,
        position: banner.position,
        starts_at: banner.starts_at,
        ends_at: banner.ends_at,
        sort: banner.sort,
        enabled: banner.enabled,
        clicks: banner.clicks,
        created_at: banner.created_at,
        updated_at: banner.updated_at,
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BannerQuery {
    /// Only this position's banners.
    pub position: Option<String>,
}

/// Every banner, by position and order, with click counts.
#[utoipa::path(get, path = "/api/v1/admin/content/banners", tag = "admin-content", operation_id = "admin_banners_list",
    params(BannerQuery),
    responses((status = 200, description = "Banners", body = Vec<BannerView>)),
    extensions(("x-permission" = json!(ContentBannerList::CODE))))]
pub async fn list_banners(
    _who: Require<ContentBannerList>,
    state: web::Data<AppState>,
    query: Query<BannerQuery>,
) -> Result<Json<Vec<BannerView>>, ApiError> {
    let banners = state
        .content
        .list_banners(query.position.as_deref())
        .await?;
    let now = state.clock.now();
    Ok(Json(
        banners.into_iter().map(|b| banner_view(b, now)).collect(),
    ))
}

/// Add a banner.
#[utoipa::path(post, path = "/api/v1/admin/content/banners", tag = "admin-content", operation_id = "admin_banners_create",
    request_body = BannerBody,
    responses(
        (status = 201, description = "Created", body = BannerView),
        (status = 400, description = "`VALIDATION_FAILED` naming every bad field at once", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(ContentBannerCreate::CODE))))]
pub async fn create_banner(
    who: Require<ContentBannerCreate>,
    state: web::Data<AppState>,
    body: Json<BannerBody>,
) -> Result<(Json<BannerView>, StatusCode), ApiError> {
    refuse_unknown_references(&state, &[], linked_plan(&body)).await?;
    let work = async {
        let created = state
            .content
            .create_banner(body.into_inner().into())
            .await?;
        let change = Change::new("banner", &created.id).after(&created);
        Ok::<_, ContentError>(Audited::new(created, change))
    };
    let created = audited(&state, &who, "create banner", "banner", None, work).await?;
    Ok((
        Json(banner_view(created, state.clock.now())),
        StatusCode::CREATED,
    ))
}

/// Rewrite a banner (its clicks stay).
#[utoipa::path(put, path = "/api/v1/admin/content/banners/{id}", tag = "admin-content", operation_id = "admin_banners_update",
    params(("id" = String, Path, description = "Banner id")),
    request_body = BannerBody,
    responses(
        (status = 200, description = "Updated", body = BannerView),
        (status = 400, description = "`VALIDATION_FAILED` naming every bad field at once", body = ErrorBody),
        (status = 404, description = "No such banner", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(ContentBannerUpdate::CODE))))]
pub async fn update_banner(
    who: Require<ContentBannerUpdate>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Json<BannerBody>,
) -> Result<Json<BannerView>, ApiError> {
    refuse_unknown_references(&state, &[], linked_plan(&body)).await?;
    let work = async {
        let (before, after) = state
            .content
            .update_banner(&id, body.into_inner().into())
            .await?;
        let change = Change::new("banner", &after.id)
            .before(&before)
            .after(&after);
        Ok::<_, ContentError>(Audited::new(after, change))
    };
    let target = Some(id.to_string());
    let updated = audited(&state, &who, "update banner", "banner", target, work).await?;
    Ok(Json(banner_view(updated, state.clock.now())))
}

/// Remove a banner.
#[utoipa::path(delete, path = "/api/v1/admin/content/banners/{id}", tag = "admin-content", operation_id = "admin_banners_delete",
    params(("id" = String, Path, description = "Banner id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such banner", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(ContentBannerDelete::CODE))))]
pub async fn delete_banner(
    who: Require<ContentBannerDelete>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let work = async {
        let deleted = state.content.delete_banner(&id).await?;
        let change = Change::new("banner", &deleted.id).before(&deleted);
        Ok::<_, ContentError>(Audited::new((), change))
    };
    let target = Some(id.to_string());
    audited(&state, &who, "delete banner", "banner", target, work).await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---------- announcements ----------

/// An announcement as staff write it.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"title": "Smart top-ups are back", "body_html": "<p>Smart numbers can be topped up again.</p>",
    "audience": "all", "starts_at": null, "ends_at": null, "pinned": true, "enabled": true}))]
pub struct AnnouncementBody {
    /// 1–60 characters.
    pub title: String,
    /// HTML, cleaned to a safe subset when saved (up to 20000 characters).
    pub body_html: String,
    pub audience: Audience,
    pub starts_at: Option<Timestamp>,
    pub ends_at: Option<Timestamp>,
    #[serde(default)]
    pub pinned: bool,
    pub enabled: bool,
}

impl From<AnnouncementBody> for AnnouncementDraft {
    fn from(body: AnnouncementBody) -> Self {
        AnnouncementDraft {
            title: body.title,
            body_html: body.body_html,
            audience: body.audience,
            starts_at: body.starts_at,
            ends_at: body.ends_at,
            pinned: body.pinned,
            enabled: body.enabled,
        }
    }
}

/// An announcement as staff see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnnouncementView {
    pub id: String,
    pub title: String,
    pub body_html: String,
    pub audience: Audience,
    pub starts_at: Option<Timestamp>,
    pub ends_at: Option<Timestamp>,
    pub pinned: bool,
    pub enabled: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<Announcement> for AnnouncementView {
    fn from(a: Announcement) -> Self {
        AnnouncementView {
            id: a.id,
            title: a.title,
            body_html: a.body_html,
            audience: a.audience,
            starts_at: a.starts_at,
            ends_at: a.ends_at,
            pinned: a.pinned,
            enabled: a.enabled,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

/// Every announcement, newest first.
#[utoipa::path(get, path = "/api/v1/admin/content/announcements", tag = "admin-content", operation_id = "admin_announcements_list",
    params(PageRequest),
    responses((status = 200, description = "A page of announcements", body = Page<AnnouncementView>)),
    extensions(("x-permission" = json!(ContentAnnouncementList::CODE))))]
pub async fn list_announcements(
    _who: Require<ContentAnnouncementList>,
    state: web::Data<AppState>,
    page: Paging,
) -> Result<Json<Page<AnnouncementView>>, ApiError> {
    let found = state.content.list_announcements(*page).await?;
    Ok(Json(found.map(Into::into)))
}

/// Write an announcement.
#[utoipa::path(post, path = "/api/v1/admin/content/announcements", tag = "admin-content", operation_id = "admin_announcements_create",
    request_body = AnnouncementBody,
    responses(
        (status = 201, description = "Created", body = AnnouncementView),
        (status = 400, description = "`VALIDATION_FAILED` naming every bad field at once", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(ContentAnnouncementCreate::CODE))))]
pub async fn create_announcement(
    who: Require<ContentAnnouncementCreate>,
    state: web::Data<AppState>,
    body: Json<AnnouncementBody>,
) -> Result<(Json<AnnouncementView>, StatusCode), ApiError> {
    let work = async {
        let created = state
            .content
            .create_announcement(body.into_inner().into())
            .await?;
        let change = Change::new("announcement", &created.id).after(&created);
        Ok::<_, ContentError>(Audited::new(created, change))
    };
    let created = audited(
        &state,
        &who,
        "create announcement",
        "announcement",
        None,
        work,
    )
    .await?;
    Ok((Json(created.into()), StatusCode::CREATED))
}

/// Rewrite an announcement.
#[utoipa::path(put, path = "/api/v1/admin/content/announcements/{id}", tag = "admin-content", operation_id = "admin_announcements_update",
    params(("id" = String, Path, description = "Announcement id")),
    request_body = AnnouncementBody,
    responses(
        (status = 200, description = "Updated", body = AnnouncementView),
        (status = 400, description = "`VALIDATION_FAILED` naming every bad field at once", body = ErrorBody),
        (status = 404, description = "No such announcement", body = ErrorBody),
        (status = 409, description = "`CONFLICT`: changed meanwhile", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(ContentAnnouncementUpdate::CODE))))]
pub async fn update_announcement(
    who: Require<ContentAnnouncementUpdate>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Json<AnnouncementBody>,
) -> Result<Json<AnnouncementView>, ApiError> {
    let work = async {
        let (before, after) = state
            .content
            .update_announcement(&id, body.into_inner().into())
            .await?;
        let change = Change::new("announcement", &after.id)
            .before(&before)
            .after(&after);
        Ok::<_, ContentError>(Audited::new(after, change))
    };
    let target = Some(id.to_string());
    let updated = audited(
        &state,
        &who,
        "update announcement",
        "announcement",
        target,
        work,
    )
    .await?;
    Ok(Json(updated.into()))
}

/// Remove an announcement (and its read marks).
#[utoipa::path(delete, path = "/api/v1/admin/content/announcements/{id}", tag = "admin-content", operation_id = "admin_announcements_delete",
    params(("id" = String, Path, description = "Announcement id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such announcement", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(ContentAnnouncementDelete::CODE))))]
pub async fn delete_announcement(
    who: Require<ContentAnnouncementDelete>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let work = async {
        let deleted = state.content.delete_announcement(&id).await?;
        let change = Change::new("announcement", &deleted.id).before(&deleted);
        Ok::<_, ContentError>(Audited::new((), change))
    };
    let target = Some(id.to_string());
    audited(
        &state,
        &who,
        "delete announcement",
        "announcement",
        target,
        work,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---------- the home page ----------

/// The draft staff are editing.
#[derive(Debug, Serialize, ToSchema)]
pub struct HomeDraftView {
    /// Send it back when saving or publishing: someone else's save in between is refused.
    pub version: i64,
    pub components: Vec<Component>,
    pub updated_at: Timestamp,
    pub updated_by: Option<String>,
}

impl From<HomeDraft> for HomeDraftView {
    fn from(draft: HomeDraft) -> Self {
        HomeDraftView {
            version: draft.version,
            components: draft.components,
            updated_at: draft.updated_at,
            updated_by: draft.updated_by,
        }
    }
}

/// The editor's page: the draft and what is published.
#[derive(Debug, Serialize, ToSchema)]
pub struct HomeEditorView {
    pub draft: HomeDraftView,
    /// None before the first publish (users see the top-up form alone).
    pub published: Option<HomeVersionSummary>,
    /// Whether the draft differs from what is published.
    pub unpublished_changes: bool,
}

/// The draft and the published version.
#[utoipa::path(get, path = "/api/v1/admin/content/home", tag = "admin-content", operation_id = "admin_home_get",
    responses((status = 200, description = "Draft and published version", body = HomeEditorView)),
    extensions(("x-permission" = json!(ContentHomeView::CODE))))]
pub async fn home(
    _who: Require<ContentHomeView>,
    state: web::Data<AppState>,
) -> Result<Json<HomeEditorView>, ApiError> {
    let draft = state.content.home_draft().await?;
    let published = state.content.published_home().await?;
    let unpublished_changes = match &published {
        Some(version) => version.components != draft.components,
        None => draft.version > 0,
    };
    Ok(Json(HomeEditorView {
        draft: draft.into(),
        published: published.as_ref().map(HomeVersionSummary::from),
        unpublished_changes,
    }))
}

/// A page of components.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HomeDraftBody {
    /// The draft version this edit started from (`0` before the first save).
    pub version: i64,
    /// Top to bottom; exactly one `topup_form`; at most 30.
    pub components: Vec<Component>,
}

/// Save the draft (users see nothing of it until it is published).
#[utoipa::path(put, path = "/api/v1/admin/content/home/draft", tag = "admin-content", operation_id = "admin_home_draft_save",
    request_body = HomeDraftBody,
    responses(
        (status = 200, description = "Saved", body = HomeDraftView),
        (status = 400, description = "`VALIDATION_FAILED` naming every bad component property at once, e.g. `components[2].height`, and countries or plans the catalog lacks (`components[3].countries[1]`)", body = ErrorBody),
        (status = 409, description = "`CONFLICT`: someone saved the draft since `version`", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(ContentHomeEdit::CODE))))]
pub async fn save_draft(
    who: Require<ContentHomeEdit>,
    state: web::Data<AppState>,
    body: Json<HomeDraftBody>,
) -> Result<Json<HomeDraftView>, ApiError> {
    let by = who.principal().username.clone();
    let body = body.into_inner();
    let checked = state.content.check_page(body.components.clone())?;
    refuse_unknown_references(&state, &checked, None).await?;
    let work = async {
        let (before, after) = state
            .content
            .save_draft(body.components, body.version, &by)
            .await?;
        let change = Change::new("home_page", "home")
            .before(&before)
            .after(&after);
        Ok::<_, ContentError>(Audited::new(after, change))
    };
    let saved = audited(
        &state,
        &who,
        "save home page draft",
        "home_page",
        None,
        work,
    )
    .await?;
    Ok(Json(saved.into()))
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HomePreviewBody {
    pub components: Vec<Component>,
}

/// What the app would show for these components now (nothing is saved).
#[utoipa::path(post, path = "/api/v1/admin/content/home/preview", tag = "admin-content", operation_id = "admin_home_preview",
    request_body = HomePreviewBody,
    responses(
        (status = 200, description = "The page as the app would get it (as a user without a membership)", body = AppHome),
        (status = 400, description = "`VALIDATION_FAILED` naming every bad component property, and countries or plans the catalog lacks", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(ContentHomeView::CODE))))]
pub async fn preview(
    _who: Require<ContentHomeView>,
    state: web::Data<AppState>,
    body: Json<HomePreviewBody>,
) -> Result<Json<AppHome>, ApiError> {
    let components = state.content.check_page(body.into_inner().components)?;
    refuse_unknown_references(&state, &components, None).await?;
    Ok(Json(resolve_home(&state, 0, components, false).await?))
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishBody {
    /// The draft version being published (what the editor shows).
    pub version: i64,
}

/// Publish the saved draft as the next version: every process serves it from its next
/// request.
#[utoipa::path(post, path = "/api/v1/admin/content/home/publish", tag = "admin-content", operation_id = "admin_home_publish",
    request_body = PublishBody,
    responses(
        (status = 200, description = "Published", body = HomeVersionSummary),
        (status = 409, description = "`CONFLICT`: the draft was saved since `version`", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(ContentHomePublish::CODE))))]
pub async fn publish(
    who: Require<ContentHomePublish>,
    state: web::Data<AppState>,
    body: Json<PublishBody>,
) -> Result<Json<HomeVersionSummary>, ApiError> {
    let by = who.principal().username.clone();
    let work = async {
        let published = state.content.publish_home(body.version, &by).await?;
        Ok::<_, ContentError>(published_audit(published))
    };
    let published = audited(&state, &who, "publish home page", "home_page", None, work).await?;
    Ok(Json(HomeVersionSummary::from(&published)))
}

fn published_audit(published: HomeVersion) -> Audited<HomeVersion> {
    let change = Change::new("home_page", published.number.to_string()).after(&published);
    Audited::new(published, change)
}

/// The published versions, newest first (the last 100).
#[utoipa::path(get, path = "/api/v1/admin/content/home/versions", tag = "admin-content", operation_id = "admin_home_versions",
    responses((status = 200, description = "Versions", body = Vec<HomeVersionSummary>)),
    extensions(("x-permission" = json!(ContentHomeView::CODE))))]
pub async fn versions(
    _who: Require<ContentHomeView>,
    state: web::Data<AppState>,
) -> Result<Json<Vec<HomeVersionSummary>>, ApiError> {
    Ok(Json(state.content.home_versions().await?))
}

/// A published version with its components.
#[derive(Debug, Serialize, ToSchema)]
pub struct HomeVersionView {
    #[serde(flatten)]
    pub summary: HomeVersionSummary,
    pub components: Vec<Component>,
}

/// One published version.
#[utoipa::path(get, path = "/api/v1/admin/content/home/versions/{number}", tag = "admin-content", operation_id = "admin_home_version",
    params(("number" = u32, Path, description = "Version number")),
    responses(
        (status = 200, description = "The version", body = HomeVersionView),
        (status = 404, description = "No such version", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(ContentHomeView::CODE))))]
pub async fn version(
    _who: Require<ContentHomeView>,
    state: web::Data<AppState>,
    number: web::Path<u32>,
) -> Result<Json<HomeVersionView>, ApiError> {
    let version = state.content.home_version(*number).await?;
    Ok(Json(HomeVersionView {
        summary: HomeVersionSummary::from(&version),
        components: version.components,
    }))
}

/// Roll back: publish an earlier version's components again as the next version (the draft
/// becomes them too).
#[utoipa::path(post, path = "/api/v1/admin/content/home/versions/{number}/restore", tag = "admin-content", operation_id = "admin_home_restore",
    params(("number" = u32, Path, description = "The version to publish again")),
    responses(
        (status = 200, description = "Published as a new version", body = HomeVersionSummary),
        (status = 404, description = "No such version", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(ContentHomePublish::CODE))))]
pub async fn restore(
    who: Require<ContentHomePublish>,
    state: web::Data<AppState>,
    number: web::Path<u32>,
) -> Result<Json<HomeVersionSummary>, ApiError> {
    let by = who.principal().username.clone();
    let work = async {
        let published = state.content.restore_home(*number, &by).await?;
        Ok::<_, ContentError>(published_audit(published))
    };
    let target = Some(number.to_string());
    let published = audited(
        &state,
        &who,
        "roll back home page",
        "home_page",
        target,
        work,
    )
    .await?;
    Ok(Json(HomeVersionSummary::from(&published)))
}

// ---------- customer service ----------

/// The customer service page as staff see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceDeskView {
    /// Send it back when saving: someone else's save in between is refused.
    pub version: i64,
    pub faqs: Vec<Faq>,
    pub contacts: Vec<Contact>,
    pub working_hours: String,
    pub updated_at: Timestamp,
    pub updated_by: Option<String>,
}

impl From<ServiceDesk> for ServiceDeskView {
    fn from(desk: ServiceDesk) -> Self {
        ServiceDeskView {
            version: desk.version,
            faqs: desk.faqs,
            contacts: desk.contacts,
            working_hours: desk.working_hours,
            updated_at: desk.updated_at,
            updated_by: desk.updated_by,
        }
    }
}

/// The customer service page's content.
#[utoipa::path(get, path = "/api/v1/admin/content/service", tag = "admin-content", operation_id = "admin_service_get",
    responses((status = 200, description = "Questions, contacts and hours", body = ServiceDeskView)),
    extensions(("x-permission" = json!(ContentServiceView::CODE))))]
pub async fn service(
    _who: Require<ContentServiceView>,
    state: web::Data<AppState>,
) -> Result<Json<ServiceDeskView>, ApiError> {
    Ok(Json(state.content.service_desk().await?.into()))
}

/// The customer service page as staff write it (replaced whole).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceDeskBody {
    /// The version this edit started from (`0` before the first save).
    pub version: i64,
    /// Up to 100; grouped by category in the app, in this order.
    pub faqs: Vec<Faq>,
    /// Up to 10.
    pub contacts: Vec<Contact>,
    #[serde(default)]
    pub working_hours: String,
}

/// Save the customer service page (the app shows it at once).
#[utoipa::path(put, path = "/api/v1/admin/content/service", tag = "admin-content", operation_id = "admin_service_save",
    request_body = ServiceDeskBody,
    responses(
        (status = 200, description = "Saved", body = ServiceDeskView),
        (status = 400, description = "`VALIDATION_FAILED` naming every bad field at once, e.g. `faqs[3].question`", body = ErrorBody),
        (status = 409, description = "`CONFLICT`: someone saved it since `version`", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(ContentServiceUpdate::CODE))))]
pub async fn save_service(
    who: Require<ContentServiceUpdate>,
    state: web::Data<AppState>,
    body: Json<ServiceDeskBody>,
) -> Result<Json<ServiceDeskView>, ApiError> {
    let by = who.principal().username.clone();
    let work = async {
        let body = body.into_inner();
        let draft = ServiceDeskDraft {
            faqs: body.faqs,
            contacts: body.contacts,
            working_hours: body.working_hours,
        };
        let (before, after) = state
            .content
            .save_service_desk(draft, body.version, &by)
            .await?;
        let change = Change::new("service_desk", "service")
            .before(&before)
            .after(&after);
        Ok::<_, ContentError>(Audited::new(after, change))
    };
    let saved = audited(
        &state,
        &who,
        "save service page",
        "service_desk",
        None,
        work,
    )
    .await?;
    Ok(Json(saved.into()))
}

// ---------- agreements ----------

/// A version of an agreement.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgreementVersionView {
    pub kind: AgreementKind,
    pub number: u32,
    pub title: String,
    pub body_html: String,
    pub summary: String,
    pub published_at: Timestamp,
    pub published_by: String,
}

impl From<AgreementVersion> for AgreementVersionView {
    fn from(v: AgreementVersion) -> Self {
        AgreementVersionView {
            kind: v.kind,
            number: v.number,
            title: v.title,
            body_html: v.body_html,
            summary: v.summary,
            published_at: v.published_at,
            published_by: v.published_by,
        }
    }
}

/// An agreement and its current version.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgreementOverview {
    pub kind: AgreementKind,
    /// None before the first version is published.
    pub current: Option<AgreementVersionView>,
}

pub(crate) fn agreement_kind(path: &str) -> Result<AgreementKind, ApiError> {
    AgreementKind::parse(path)
        .ok_or_else(|| ApiError::from(ContentError::NotFound(format!("agreement {path}"))))
}

/// The four agreements with their current versions.
#[utoipa::path(get, path = "/api/v1/admin/content/agreements", tag = "admin-content", operation_id = "admin_agreements_list",
    responses((status = 200, description = "Each agreement and its current version", body = Vec<AgreementOverview>)),
    extensions(("x-permission" = json!(ContentAgreementList::CODE))))]
pub async fn agreements(
    _who: Require<ContentAgreementList>,
    state: web::Data<AppState>,
) -> Result<Json<Vec<AgreementOverview>>, ApiError> {
    let mut overview = Vec::with_capacity(AgreementKind::ALL.len());
    for kind in AgreementKind::ALL {
        let current = state.content.current_agreement(kind).await?;
        overview.push(AgreementOverview {
            kind,
            current: current.map(Into::into),
        });
    }
    Ok(Json(overview))
}

/// Every version of an agreement, newest first.
#[utoipa::path(get, path = "/api/v1/admin/content/agreements/{kind}/versions", tag = "admin-content", operation_id = "admin_agreement_versions",
    params(("kind" = AgreementKind, Path, description = "Which agreement")),
    responses(
        (status = 200, description = "Versions", body = Vec<AgreementVersionView>),
        (status = 404, description = "No such agreement", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(ContentAgreementList::CODE))))]
pub async fn agreement_versions(
    _who: Require<ContentAgreementList>,
    state: web::Data<AppState>,
    kind: web::Path<String>,
) -> Result<Json<Vec<AgreementVersionView>>, ApiError> {
    let kind = agreement_kind(&kind)?;
    let versions = state.content.agreement_versions(kind).await?;
    Ok(Json(versions.into_iter().map(Into::into).collect()))
}

/// A new version of an agreement as staff write it.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"title": "Recharge terms", "body_html": "<h3>Refunds</h3><p>A top-up that fails is refunded in full.</p>",
    "summary": "Refunds now arrive within minutes"}))]
pub struct AgreementBody {
    /// 1–60 characters.
    pub title: String,
    /// HTML, cleaned to a safe subset (up to 100000 characters).
    pub body_html: String,
    /// What changed (up to 200 characters), shown when users are asked to accept again.
    #[serde(default)]
    pub summary: String,
}

/// Publish a new version of an agreement. For the recharge terms, every user is asked to
/// accept it at their next checkout.
#[utoipa::path(post, path = "/api/v1/admin/content/agreements/{kind}/versions", tag = "admin-content", operation_id = "admin_agreement_publish",
    params(("kind" = AgreementKind, Path, description = "Which agreement")),
    request_body = AgreementBody,
    responses(
        (status = 201, description = "Published", body = AgreementVersionView),
        (status = 400, description = "`VALIDATION_FAILED` naming every bad field at once", body = ErrorBody),
        (status = 404, description = "No such agreement", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(ContentAgreementPublish::CODE))))]
pub async fn publish_agreement(
    who: Require<ContentAgreementPublish>,
    state: web::Data<AppState>,
    kind: web::Path<String>,
    body: Json<AgreementBody>,
) -> Result<(Json<AgreementVersionView>, StatusCode), ApiError> {
    let kind = agreement_kind(&kind)?;
    let by = who.principal().username.clone();
    let work = async {
        let body = body.into_inner();
        let draft = AgreementDraft {
            title: body.title,
            body_html: body.body_html,
            summary: body.summary,
        };
        let published = state.content.publish_agreement(kind, draft, &by).await?;
        let change = Change::new("agreement", &published.id).after(&published);
        Ok::<_, ContentError>(Audited::new(published, change))
    };
    let target = Some(kind.as_str().to_owned());
    let published = audited(&state, &who, "publish agreement", "agreement", target, work).await?;
    Ok((Json(published.into()), StatusCode::CREATED))
}
