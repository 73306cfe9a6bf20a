//! Stored documents of mini-program users. Collections are prefixed `app_` to keep them apart
//! from staff.

use serde::{Deserialize, Serialize};
use topup_core::{CountryCode, Id, IdKind, Msisdn, Timestamp};
use topup_store::Document;
use utoipa::ToSchema;

use crate::at_rest::Sealed;
use crate::model::StaffUserId;

macro_rules! id_kind {
    ($kind:ident, $name:literal, $alias:ident) => {
        #[derive(Debug)]
        pub struct $kind;

        impl IdKind for $kind {
            const NAME: &'static str = $name;
        }

        pub type $alias = Id<$kind>;
    };
}

id_kind!(AppUserKind, "app user", AppUserId);
id_kind!(SavedNumberKind, "saved number", SavedNumberId);
id_kind!(BlacklistEntryKind, "blacklist entry", BlacklistEntryId);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    Zh,
    En,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AppUserStatus {
    Active,
    /// Refused on every app route until enabled again.
    Disabled,
}

/// A number the user tops up often, with their own label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedNumber {
    pub id: SavedNumberId,
    pub label: String,
    pub number: Msisdn,
    pub country: CountryCode,
    pub created_at: Timestamp,
}

/// One mini-program user, created at their first login and found again by openid.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppUser {
    pub id: AppUserId,
    /// Unique per mini-program.
    pub openid: String,
    /// Present when the mini-program is bound to a WeChat Open Platform account. Omitted
    /// rather than null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unionid: Option<String>,
    pub nickname: String,
    pub avatar_url: Option<String>,
    pub language: Language,
    pub status: AppUserStatus,
    /// The latest WeChat session key, AES-256-GCM under the at-rest key, bound to `id`.
    pub session_key_sealed: Option<Sealed>,
    pub saved_numbers: Vec<SavedNumber>,
    /// The saved numbers' E.164 forms, so staff can search users by number on any backend.
    pub saved_e164: Vec<String>,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub last_login_at: Timestamp,
    pub last_login_ip: Option<String>,
    pub disabled_at: Option<Timestamp>,
    /// App tokens carry the version they were issued under; logging out or being disabled
    /// bumps it, which ends every token issued before.
    #[serde(default)]
    pub token_version: i64,
    pub updated_at: Timestamp,
    pub version: i64,
}

impl Document for AppUser {
    const COLLECTION: &'static str = "app_users";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BlacklistKind {
    /// A phone number (E.164): orders to it are refused.
    Phone,
    /// A mini-program user: refused on every app route.
    Openid,
    /// A client address: refused at app login.
    Ip,
}

impl BlacklistKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            BlacklistKind::Phone => "phone",
            BlacklistKind::Openid => "openid",
            BlacklistKind::Ip => "ip",
        }
    }
}

/// One blocked phone number, openid or address. `(kind, value)` is unique; an entry whose
/// `expires_at` has passed no longer blocks.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BlacklistEntry {
    #[schema(value_type = String)]
    pub id: BlacklistEntryId,
    pub kind: BlacklistKind,
    /// Normalised: E.164 for phones, canonical text for addresses.
    pub value: String,
    pub reason: String,
    /// Blocks until then; absent means for good.
    pub expires_at: Option<Timestamp>,
    #[schema(value_type = String)]
    pub created_by: StaffUserId,
    pub created_by_username: String,
    pub created_at: Timestamp,
    pub version: i64,
}

impl Document for BlacklistEntry {
    const COLLECTION: &'static str = "app_blacklist";
}

/// That a user was active on a calendar day (seen from the configured UTC offset). Its id is
/// `<user id>:<day>`, so recording a day twice changes nothing.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppUserDay {
    pub id: String,
    pub user_id: AppUserId,
    /// `YYYY-MM-DD`.
    pub day: String,
    /// 1 when the user was created that day (summed for "new users per day").
    pub new_user: i64,
    pub first_seen_at: Timestamp,
}

impl Document for AppUserDay {
    const COLLECTION: &'static str = "app_user_days";
}
