//! Announcements (公告): a title and a cleaned rich-text body, shown to an audience inside a
//! schedule window, pinned ones first; each user's reads are marked.

use serde::{Deserialize, Serialize};
use topup_core::Timestamp;
use topup_store::Document;
use utoipa::ToSchema;

use crate::error::{Checks, ContentError, text, window};
use crate::rich_text::checked_html;

/// Who sees an announcement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    All,
    /// Users with an active membership.
    Members,
    /// Users without one.
    NonMembers,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::All => "all",
            Audience::Members => "members",
            Audience::NonMembers => "non_members",
        }
    }

    /// Whether a user (member or not) is in it.
    pub fn includes(self, member: bool) -> bool {
        match self {
            Audience::All => true,
            Audience::Members => member,
            Audience::NonMembers => !member,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Announcement {
    pub id: String,
    pub version: i64,
    pub title: String,
    /// Cleaned HTML (`clean_html`).
    pub body_html: String,
    pub audience: Audience,
    pub starts_at: Option<Timestamp>,
    pub ends_at: Option<Timestamp>,
    pub pinned: bool,
    pub enabled: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Document for Announcement {
    const COLLECTION: &'static str = "announcements";
}

impl Announcement {
    /// Enabled, inside its window and meant for this user.
    pub fn is_showing(&self, now: Timestamp, member: bool) -> bool {
        self.enabled
            && self.audience.includes(member)
            && self.starts_at.is_none_or(|start| start <= now)
            && self.ends_at.is_none_or(|end| now < end)
    }
}

/// One user has read one announcement (the id is both, so marking twice is one mark).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ReadMark {
    pub id: String,
    pub user_id: String,
    pub announcement_id: String,
    pub read_at: Timestamp,
}

impl Document for ReadMark {
    const COLLECTION: &'static str = "announcement_reads";
}

impl ReadMark {
    pub(crate) fn id_for(user_id: &str, announcement_id: &str) -> String {
        format!("{user_id}:{announcement_id}")
    }
}

/// An announcement as staff write it.
#[derive(Debug, Clone)]
pub struct AnnouncementDraft {
    pub title: String,
    pub body_html: String,
    pub audience: Audience,
    pub starts_at: Option<Timestamp>,
    pub ends_at: Option<Timestamp>,
    pub pinned: bool,
    pub enabled: bool,
}

impl AnnouncementDraft {
    pub(crate) fn checked(self) -> Result<AnnouncementDraft, ContentError> {
        let mut checks = Checks::default();
        let title = checks.take(text("title", &self.title, 1, 60));
        let body_html = checks.take(checked_html("body_html", &self.body_html, 20_000));
        checks.take(window(self.starts_at, self.ends_at));
        checks.finish()?;
        Ok(AnnouncementDraft {
            title,
            body_html,
            ..self
        })
    }
}
