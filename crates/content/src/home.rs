//! The home page as staff decorate it: an ordered list of components, each with properties
//! checked against its kind's rules. Staff edit one draft (compare-and-set on its version)
//! and publish it as a numbered, immutable version; the page users see is the highest
//! number. Rolling back publishes an earlier version's components again under a new number,
//! so the history only grows and every change can be traced.

use serde::{Deserialize, Serialize};
use topup_core::Timestamp;
use topup_store::Document;
use utoipa::ToSchema;

use crate::banners::position_name;
use crate::error::{Checks, ContentError, text};
use crate::rich_text::checked_html;

/// At most this many components on one page.
pub const MAX_COMPONENTS: usize = 30;

/// One block of the home page. `type` says which; the other fields are its properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Component {
    /// The phone-number box and the plans for it. Every page has exactly one: without it
    /// nobody could buy.
    TopupForm {},
    /// The banners of a position, turning every `interval_seconds` (2–30).
    BannerCarousel {
        #[serde(default = "default_position")]
        position: String,
        #[serde(default = "default_interval")]
        #[schema(minimum = 2, maximum = 30)]
        interval_seconds: u32,
    },
    /// A scrolling line of the current announcements (`limit` 1–10, pinned first).
    NoticeBar {
        #[serde(default = "default_notice_limit")]
        #[schema(minimum = 1, maximum = 10)]
        limit: u32,
    },
    /// Countries to tap, by ISO code (1–24; `columns` 3–5). Countries not on sale are left
    /// out when the page is served.
    CountryGrid {
        #[serde(default)]
        title: String,
        countries: Vec<String>,
        #[serde(default = "default_columns")]
        #[schema(minimum = 3, maximum = 5)]
        columns: u32,
    },
    /// Chosen plans (1–20, by id); plans not on sale are left out when the page is served.
    HotPlans {
        #[serde(default)]
        title: String,
        plan_ids: Vec<String>,
    },
    /// A card leading to the coupon centre.
    CouponEntry { title: String, subtitle: String },
    /// A card leading to the membership page.
    MembershipEntry { title: String, subtitle: String },
    /// Staff-written HTML, cleaned to a safe subset when saved.
    RichText { html: String },
    /// Empty space, `height` 4–200 px.
    Spacer {
        #[schema(minimum = 4, maximum = 200)]
        height: u32,
    },
}

fn default_position() -> String {
    "home".to_owned()
}

fn default_interval() -> u32 {
    5
}

fn default_notice_limit() -> u32 {
    3
}

fn default_columns() -> u32 {
    4
}

fn range(field: String, value: u32, min: u32, max: u32) -> Result<(), ContentError> {
    if value < min || value > max {
        return Err(ContentError::invalid(field, format!("{min}–{max}")));
    }
    Ok(())
}

fn count(field: String, len: usize, min: usize, max: usize) -> Result<(), ContentError> {
    if len < min || len > max {
        return Err(ContentError::invalid(field, format!("{min}–{max} items")));
    }
    Ok(())
}

impl Component {
    /// The component with its texts trimmed and its HTML cleaned; every property that breaks
    /// its kind's rules goes to `checks` (named `components[i].property`).
    fn checked(self, at: usize, checks: &mut Checks) -> Component {
        let field = |name: &str| format!("components[{at}].{name}");
        match self {
            Component::TopupForm {} => Component::TopupForm {},
            Component::BannerCarousel {
                position,
                interval_seconds,
            } => {
                checks.take(range(field("interval_seconds"), interval_seconds, 2, 30));
                Component::BannerCarousel {
                    position: checks.take(position_name(&field("position"), &position)),
                    interval_seconds,
                }
            }
            Component::NoticeBar { limit } => {
                checks.take(range(field("limit"), limit, 1, 10));
                Component::NoticeBar { limit }
            }
            Component::CountryGrid {
                title,
                countries,
                columns,
            } => {
                checks.take(count(field("countries"), countries.len(), 1, 24));
                checks.take(range(field("columns"), columns, 3, 5));
                let mut codes = Vec::with_capacity(countries.len());
                for (i, code) in countries.iter().enumerate() {
                    let code = code.trim().to_ascii_uppercase();
                    if code.len() != 2 || !code.chars().all(|c| c.is_ascii_uppercase()) {
                        checks.refuse(
                            field(&format!("countries[{i}]")),
                            "a two-letter ISO country code",
                        );
                    } else if !codes.contains(&code) {
                        codes.push(code);
                    }
                }
                Component::CountryGrid {
                    title: checks.take(text(&field("title"), &title, 0, 20)),
                    countries: codes,
                    columns,
                }
            }
            Component::HotPlans { title, plan_ids } => {
                checks.take(count(field("plan_ids"), plan_ids.len(), 1, 20));
                let mut ids = Vec::with_capacity(plan_ids.len());
                for (i, id) in plan_ids.iter().enumerate() {
                    let id = checks.take(text(&field(&format!("plan_ids[{i}]")), id, 1, 64));
                    if !id.is_empty() && !ids.contains(&id) {
                        ids.push(id);
                    }
                }
                Component::HotPlans {
                    title: checks.take(text(&field("title"), &title, 0, 20)),
                    plan_ids: ids,
                }
            }
            Component::CouponEntry { title, subtitle } => Component::CouponEntry {
                title: checks.take(text(&field("title"), &title, 1, 20)),
                subtitle: checks.take(text(&field("subtitle"), &subtitle, 0, 40)),
            },
            Component::MembershipEntry { title, subtitle } => Component::MembershipEntry {
                title: checks.take(text(&field("title"), &title, 1, 20)),
                subtitle: checks.take(text(&field("subtitle"), &subtitle, 0, 40)),
            },
            Component::RichText { html } => Component::RichText {
                html: checks.take(checked_html(&field("html"), &html, 20_000)),
            },
            Component::Spacer { height } => {
                checks.take(range(field("height"), height, 4, 200));
                Component::Spacer { height }
            }
        }
    }
}

/// Checks a whole page: 1–[`MAX_COMPONENTS`] components, exactly one top-up form, each
/// component by its rules; a refusal names every bad property of every component.
pub(crate) fn checked_page(components: Vec<Component>) -> Result<Vec<Component>, ContentError> {
    count("components".to_owned(), components.len(), 1, MAX_COMPONENTS)?;
    let mut checks = Checks::default();
    let forms = components
        .iter()
        .filter(|c| matches!(c, Component::TopupForm {}))
        .count();
    if forms != 1 {
        checks.refuse("components", "the page needs exactly one topup_form");
    }
    let components = components
        .into_iter()
        .enumerate()
        .map(|(at, component)| component.checked(at, &mut checks))
        .collect();
    checks.finish()?;
    Ok(components)
}

/// What a page looks like before anyone decorated it: the top-up form alone.
pub(crate) fn plain_page() -> Vec<Component> {
    vec![Component::TopupForm {}]
}

/// The page as staff are editing it (one document per page).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HomeDraft {
    /// The page's name (`home`).
    pub id: String,
    pub version: i64,
    pub components: Vec<Component>,
    pub updated_at: Timestamp,
    /// Who saved it last (staff username); none before anyone did.
    pub updated_by: Option<String>,
}

impl Document for HomeDraft {
    const COLLECTION: &'static str = "page_drafts";
}

/// A published version of a page; never changed once written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HomeVersion {
    /// `{page}:{number:06}`, so two processes publishing at once cannot both take a number.
    pub id: String,
    pub page: String,
    /// 1, 2, 3, … per page; the highest is what users see.
    pub number: u32,
    pub components: Vec<Component>,
    pub published_at: Timestamp,
    pub published_by: String,
    /// Set when this version re-published an earlier one (a rollback).
    pub restored_from: Option<u32>,
}

impl Document for HomeVersion {
    const COLLECTION: &'static str = "page_versions";
}

impl HomeVersion {
    pub(crate) fn id_for(page: &str, number: u32) -> String {
        format!("{page}:{number:06}")
    }
}

/// A version in the history list (without its components).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HomeVersionSummary {
    pub number: u32,
    pub published_at: Timestamp,
    pub published_by: String,
    pub restored_from: Option<u32>,
    /// How many components it has.
    pub component_count: usize,
}

impl From<&HomeVersion> for HomeVersionSummary {
    fn from(version: &HomeVersion) -> Self {
        HomeVersionSummary {
            number: version.number,
            published_at: version.published_at,
            published_by: version.published_by.clone(),
            restored_from: version.restored_from,
            component_count: version.components.len(),
        }
    }
}
