//! Requests and responses of the mini-program (`/api/v1/app`) and the staff app-user,
//! blacklist and visitor routes.

use serde::{Deserialize, Serialize};
use topup_core::personal::{mask_openid, mask_phone};
use topup_core::{CountryCode, Msisdn, Timestamp};
use utoipa::{IntoParams, ToSchema};
use validator::{Validate, ValidationError};

use super::model::{
    AppUserId, AppUserStatus, BlacklistEntryId, BlacklistKind, Language, SavedNumberId,
};
use crate::model::StaffUserId;

fn printable(value: &str) -> Result<(), ValidationError> {
    if value.chars().any(char::is_control) {
        Err(ValidationError::new("printable")
            .with_message("must not contain control characters".into()))
    } else {
        Ok(())
    }
}

fn not_blank(value: &str) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        Err(ValidationError::new("blank").with_message("must not be blank".into()))
    } else {
        Ok(())
    }
}

fn login_code(value: &str) -> Result<(), ValidationError> {
    if value.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(ValidationError::new("code").with_message("must be the code from wx.login()".into()))
    }
}

/// An `https://` URL with a host and no credentials, or empty (to clear it).
fn https_url_or_empty(value: &str) -> Result<(), ValidationError> {
    if value.is_empty() {
        return Ok(());
    }
    let valid = url::Url::parse(value).is_ok_and(|url| {
        url.scheme() == "https"
            && url.host_str().is_some_and(|h| !h.is_empty())
            && url.username().is_empty()
            && url.password().is_none()
    });
    if valid {
        Ok(())
    } else {
        Err(ValidationError::new("https_url")
            .with_message("must be an https:// URL (or empty to remove it)".into()))
    }
}

/// `POST /api/v1/app/auth/login`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppLoginRequest {
    /// The code from `wx.login()`: single use, valid for five minutes.
    #[validate(length(min = 1, max = 128), custom(function = "login_code"))]
    #[schema(example = "0a3Xyz000abcDEF1ghIJ2k3L4m0Xyz0A")]
    pub code: String,
}

/// What a mini-program user sees of themselves.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AppUserView {
    #[schema(value_type = String)]
    pub id: AppUserId,
    pub nickname: String,
    pub avatar_url: Option<String>,
    pub language: Language,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AppLoginResponse {
    /// JWT for `Authorization: Bearer …` on `/api/v1/app/*`.
    pub token: String,
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until the token expires; then log in again with a new `wx.login()` code.
    pub expires_in: u64,
    /// True when this login created the user.
    pub new_user: bool,
    pub user: AppUserView,
}

/// `PUT /api/v1/app/me`: fields left out stay as they are.
#[derive(Debug, Clone, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAppProfile {
    /// At most 64 characters; empty clears it.
    #[validate(length(max = 64), custom(function = "printable"))]
    pub nickname: Option<String>,
    /// An `https://` URL of at most 512 characters; empty removes it.
    #[validate(length(max = 512), custom(function = "https_url_or_empty"))]
    pub avatar_url: Option<String>,
    pub language: Option<Language>,
}

/// `POST /api/v1/app/me/numbers`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSavedNumber {
    /// The user's own name for it ("Mum", "work phone").
    #[validate(
        length(min = 1, max = 32),
        custom(function = "not_blank"),
        custom(function = "printable")
    )]
    #[schema(example = "Mum")]
    pub label: String,
    /// `+E.164`, or a national number together with `country`.
    #[validate(length(min = 1, max = 32))]
    #[schema(example = "+639171234567")]
    pub number: String,
    /// ISO-3166 alpha-2, for national numbers.
    #[validate(length(max = 2))]
    #[schema(example = "PH")]
    pub country: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SavedNumberView {
    #[schema(value_type = String)]
    pub id: SavedNumberId,
    pub label: String,
    pub number: Msisdn,
    pub country: CountryCode,
    pub created_at: Timestamp,
    /// The number is blacklisted: it is kept, but orders to it will be refused.
    pub blocked: bool,
}

/// A saved number as staff see it: the number masked (`+63917****567`) for staff without
/// `order:personal:view`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StaffSavedNumberView {
    #[schema(value_type = String)]
    pub id: SavedNumberId,
    pub label: String,
    /// `+E.164`, or masked.
    #[schema(example = "+639171234567")]
    pub number: String,
    pub country: CountryCode,
    pub created_at: Timestamp,
    /// The number is blacklisted: it is kept, but orders to it will be refused.
    pub blocked: bool,
}

impl From<SavedNumberView> for StaffSavedNumberView {
    fn from(view: SavedNumberView) -> Self {
        StaffSavedNumberView {
            id: view.id,
            label: view.label,
            number: view.number.e164().to_owned(),
            country: view.country,
            created_at: view.created_at,
            blocked: view.blocked,
        }
    }
}

/// A mini-program user as staff see them. The WeChat session key is never shown.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AppUserAdminView {
    #[schema(value_type = String)]
    pub id: AppUserId,
    pub openid: String,
    pub unionid: Option<String>,
    pub nickname: String,
    pub avatar_url: Option<String>,
    pub language: Language,
    pub status: AppUserStatus,
    /// The openid is on the blacklist right now.
    pub blacklisted: bool,
    pub saved_numbers: Vec<StaffSavedNumberView>,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub last_login_at: Timestamp,
    pub last_login_ip: Option<String>,
    pub disabled_at: Option<Timestamp>,
}

/// `sort` takes a field name, `-` in front for descending (e.g. `-created_at`).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AppUserQuery {
    /// Substring of the openid or nickname, case-insensitive.
    pub q: Option<String>,
    /// A saved number: `+E.164` matches exactly, digits match any saved number containing them.
    pub number: Option<String>,
    pub status: Option<AppUserStatus>,
    /// Created at or after this time, RFC 3339.
    #[param(value_type = Option<String>)]
    pub created_from: Option<Timestamp>,
    /// Created before this time, RFC 3339.
    #[param(value_type = Option<String>)]
    pub created_to: Option<Timestamp>,
    /// `created_at`, `last_seen_at` or `nickname`, optionally prefixed with `-`; default `-created_at`.
    pub sort: Option<String>,
}

/// `POST /api/v1/admin/blacklist`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBlacklistEntry {
    pub kind: BlacklistKind,
    /// A phone number (`+E.164`, or national with `country`), an openid, or an IPv4/IPv6
    /// address.
    #[validate(length(min = 1, max = 128))]
    #[schema(example = "+639171234567")]
    pub value: String,
    /// For national phone numbers: ISO-3166 alpha-2.
    #[validate(length(max = 2))]
    pub country: Option<String>,
    #[validate(
        length(min = 1, max = 256),
        custom(function = "not_blank"),
        custom(function = "printable")
    )]
    #[schema(example = "chargeback fraud")]
    pub reason: String,
    /// Blocks until this time (RFC 3339, in the future); absent means for good.
    pub expires_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BlacklistEntryView {
    #[schema(value_type = String)]
    pub id: BlacklistEntryId,
    pub kind: BlacklistKind,
    pub value: String,
    pub reason: String,
    pub expires_at: Option<Timestamp>,
    /// Blocks right now (not yet expired).
    pub active: bool,
    #[schema(value_type = String)]
    pub created_by: StaffUserId,
    pub created_by_username: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BlacklistQuery {
    pub kind: Option<BlacklistKind>,
    /// Substring of the value, case-insensitive.
    pub value: Option<String>,
    /// `true`: only entries that block now; `false`: only expired ones.
    pub active: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VisitorQuery {
    /// First day, `YYYY-MM-DD` (in the configured visitor-day offset); default 29 days before `to`.
    pub from: Option<String>,
    /// Last day, inclusive; default today. At most 366 days in all.
    pub to: Option<String>,
}

/// One calendar day of mini-program activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VisitorDay {
    #[schema(example = "2026-03-01")]
    pub day: String,
    /// Users created that day.
    pub new_users: u64,
    /// Users who made at least one request that day (new ones included).
    pub active_users: u64,
}

impl AppUserAdminView {
    /// The user without their personal data (`docs/security.md#personal-data`): openid,
    /// unionid and saved numbers masked, no address. For staff without `order:personal:view`.
    pub fn masked(mut self) -> Self {
        self.openid = mask_openid(&self.openid);
        self.unionid = self.unionid.as_deref().map(mask_openid);
        self.last_login_ip = None;
        for saved in &mut self.saved_numbers {
            saved.number = mask_phone(&saved.number);
        }
        self
    }
}
