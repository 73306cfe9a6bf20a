//! Banners: pictures at a position of the app (the home carousel names its position), each
//! with a link, a schedule window, an order and a click count.

use serde::{Deserialize, Serialize};
use topup_core::Timestamp;
use topup_store::Document;
use utoipa::ToSchema;

use crate::error::{Checks, ContentError, text, window};

/// Where tapping a banner leads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum BannerLink {
    /// Nowhere: the picture says it all.
    None,
    /// A page of the mini-program, such as `/pages/membership/index`.
    Page { path: String },
    /// A plan's checkout (left off the home page while the plan is not on sale).
    Plan { plan_id: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Banner {
    pub id: String,
    pub version: i64,
    pub title: String,
    pub image_url: String,
    pub link: BannerLink,
    /// Which carousel shows it (`home` unless a page says otherwise).
    pub position: String,
    pub starts_at: Option<Timestamp>,
    pub ends_at: Option<Timestamp>,
    /// Smaller first.
    pub sort: i32,
    pub enabled: bool,
    /// Taps counted by `POST /api/v1/app/banners/{id}/click`.
    pub clicks: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Document for Banner {
    const COLLECTION: &'static str = "banners";
}

impl Banner {
    /// Enabled and inside its window.
    pub fn is_showing(&self, now: Timestamp) -> bool {
        self.enabled
            && self.starts_at.is_none_or(|start| start <= now)
            && self.ends_at.is_none_or(|end| now < end)
    }
}

/// A banner as staff write it.
#[derive(Debug, Clone)]
pub struct BannerDraft {
    pub title: String,
    pub image_url: String,
    pub link: BannerLink,
    pub position: String,
    pub starts_at: Option<Timestamp>,
    pub ends_at: Option<Timestamp>,
    pub sort: i32,
    pub enabled: bool,
}

impl BannerDraft {
    /// The draft with its texts trimmed, or every field that is wrong.
    pub(crate) fn checked(self) -> Result<BannerDraft, ContentError> {
        let mut checks = Checks::default();
        let title = checks.take(text("title", &self.title, 1, 40));
        let image_url = checks.take(image_url("image_url", &self.image_url));
        let position = checks.take(position_name("position", &self.position));
        let link = match self.link {
            BannerLink::None => BannerLink::None,
            BannerLink::Page { path } => BannerLink::Page {
                path: checks.take(page_path("link.path", &path)),
            },
            BannerLink::Plan { plan_id } => BannerLink::Plan {
                plan_id: checks.take(text("link.plan_id", &plan_id, 1, 64)),
            },
        };
        checks.take(window(self.starts_at, self.ends_at));
        checks.finish()?;
        Ok(BannerDraft {
            title,
            image_url,
            link,
            position,
            ..self
        })
    }
}

/// A banner position's name: 1–20 lower-case letters, digits and `_` (a carousel names the
/// position whose banners it shows, so both are checked alike).
pub(crate) fn position_name(field: &str, value: &str) -> Result<String, ContentError> {
    let position = text(field, value, 1, 20)?;
    if !position
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(ContentError::invalid(
            field,
            "lower-case letters, digits and _ only",
        ));
    }
    Ok(position)
}

/// An image address the app can load: https, or a path on this server.
pub(crate) fn image_url(field: &str, value: &str) -> Result<String, ContentError> {
    let url = text(field, value, 1, 500)?;
    if !(url.starts_with("https://") || url.starts_with("http://") || url.starts_with('/')) {
        return Err(ContentError::invalid(
            field,
            "an http(s) address or a path starting with /",
        ));
    }
    if url
        .chars()
        .any(|c| c.is_whitespace() || c == '"' || c == '<')
    {
        return Err(ContentError::invalid(field, "no spaces, quotes or <"));
    }
    Ok(url)
}

/// A mini-program page: `/pages/...`, with an optional query.
pub(crate) fn page_path(field: &str, value: &str) -> Result<String, ContentError> {
    let path = text(field, value, 1, 200)?;
    let page = path.split('?').next().unwrap_or_default();
    if !page.starts_with("/pages/")
        || !page
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-'))
    {
        return Err(ContentError::invalid(
            field,
            "a mini-program page such as /pages/membership/index",
        ));
    }
    Ok(path)
}
