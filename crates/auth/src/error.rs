use thiserror::Error;
pub use topup_core::FieldErrors;
use topup_core::{CoreError, Secret, Timestamp};
use topup_store::StoreError;
use topup_wechat::WechatError;

/// Adds validator's report to `fields`, each field under `prefix`.
fn collect(fields: &mut FieldErrors, prefix: &str, errors: &validator::ValidationErrors) {
    for (field, kind) in errors.errors() {
        let path = if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}.{field}")
        };
        match kind {
            validator::ValidationErrorsKind::Field(list) => {
                for error in list {
                    let message = error
                        .message
                        .as_ref()
                        .map(|m| m.to_string())
                        .unwrap_or_else(|| describe(error));
                    fields.add(&path, message);
                }
            }
            validator::ValidationErrorsKind::Struct(inner) => collect(fields, &path, inner),
            validator::ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    collect(fields, &format!("{path}[{index}]"), inner);
                }
            }
        }
    }
}

/// A readable message for validator's built-in checks (which carry only a code and params).
fn describe(error: &validator::ValidationError) -> String {
    let param = |name: &str| error.params.get(name).map(ToString::to_string);
    match error.code.as_ref() {
        "length" => match (param("min"), param("max")) {
            (Some(min), Some(max)) => format!("must be {min} to {max} characters long"),
            (Some(min), None) => format!("must be at least {min} characters long"),
            (None, Some(max)) => format!("must be at most {max} characters long"),
            _ => "has an invalid length".to_owned(),
        },
        "range" => match (param("min"), param("max")) {
            (Some(min), Some(max)) => format!("must be between {min} and {max}"),
            _ => "is out of range".to_owned(),
        },
        other => format!("is invalid ({other})"),
    }
}

/// Validator's report as field errors.
fn report_fields(errors: &validator::ValidationErrors) -> FieldErrors {
    let mut fields = FieldErrors::new();
    collect(&mut fields, "", errors);
    fields
}

impl From<FieldErrors> for AuthError {
    fn from(fields: FieldErrors) -> Self {
        AuthError::Validation(fields)
    }
}

/// Everything staff identity can refuse or fail with. `topup-api` maps each variant to one
/// error code in one place.
#[derive(Debug, Error)]
pub enum AuthError {
    #[error("invalid input")]
    Validation(FieldErrors),
    /// Unknown user and wrong password look the same, so usernames cannot be probed.
    #[error("invalid username or password")]
    InvalidCredentials,
    #[error("too many failed logins; the account is locked until {until}")]
    AccountLocked { until: Timestamp },
    #[error("too many login attempts from this address; retry in {retry_after_seconds} s")]
    RateLimited { retry_after_seconds: u64 },
    #[error("too many requests with this API key; retry in {retry_after_seconds} s")]
    KeyRateLimited { retry_after_seconds: u64 },
    #[error("this account is disabled")]
    AccountDisabled,
    /// Missing, malformed or revoked credentials; the text says which, without secrets.
    #[error("{0}")]
    Unauthenticated(&'static str),
    #[error("the access token has expired; refresh it")]
    TokenExpired,
    /// App tokens are not refreshed: the mini-program logs in again silently.
    #[error("the app token has expired; log in again")]
    AppTokenExpired,
    #[error("the password must be changed before anything else")]
    PasswordChangeRequired,
    #[error("missing permission {0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("role {code} is assigned to {users} user(s); reassign them first")]
    RoleInUse { code: String, users: u64 },
    #[error("{0}")]
    LastSuperAdmin(&'static str),
    #[error("{0}")]
    SelfModification(&'static str),
    /// The change would grant, or touch someone holding, a permission the actor lacks.
    #[error("{0}")]
    BeyondGrant(String),
    #[error("{0}")]
    BuiltinProtected(String),
    #[error("the menu node has {0} child node(s); delete or move them first")]
    MenuHasChildren(u64),
    /// A mini-program user who is disabled or blacklisted (by openid).
    #[error("this account is blocked")]
    UserBlocked,
    /// Mini-program logins from a blacklisted address.
    #[error("logins from this address are blocked")]
    IpBlocked,
    #[error("at most {0} saved numbers; delete one first")]
    SavedNumberLimit(usize),
    /// A phone number or country code that does not parse.
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("invalid or expired login code; call wx.login() again")]
    WechatCodeInvalid,
    #[error("login code already used; call wx.login() again")]
    WechatCodeUsed,
    #[error("WeChat rate-limits this user's logins; retry later")]
    WechatRateLimited,
    #[error("WeChat refused the login of a high-risk user")]
    WechatUserRisky,
    #[error("WeChat is busy or unreachable; retry shortly")]
    WechatUnavailable,
    /// WeChat refused our app credentials or answered nonsense: our problem, logged.
    #[error("WeChat login failed: {0}")]
    WechatFailed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Our own failure (randomness, hashing, signing); logged, never shown.
    #[error("internal: {0}")]
    Internal(String),
}

impl From<WechatError> for AuthError {
    fn from(error: WechatError) -> Self {
        match error {
            WechatError::InvalidCode => AuthError::WechatCodeInvalid,
            WechatError::CodeUsed => AuthError::WechatCodeUsed,
            WechatError::RateLimited => AuthError::WechatRateLimited,
            WechatError::HighRiskUser => AuthError::WechatUserRisky,
            WechatError::Busy
            | WechatError::Timeout
            | WechatError::Transport(_)
            | WechatError::Unreachable(_) => AuthError::WechatUnavailable,
            other @ (WechatError::Credentials(_)
            | WechatError::TokenRejected(_)
            | WechatError::NotSubscribed
            | WechatError::NotFollowing
            | WechatError::Api { .. }
            | WechatError::Decode(_)) => AuthError::WechatFailed(other.to_string()),
        }
    }
}

impl AuthError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut errors = FieldErrors::new();
        errors.add(field, message);
        AuthError::Validation(errors)
    }
}

/// Runs the derived validator and turns its report into [`AuthError::Validation`].
pub(crate) fn validate(input: &impl validator::Validate) -> Result<(), AuthError> {
    validate_with_secrets(input, &[])
}

/// Like [`validate`], also requiring each secret field to be present and at most 128
/// characters (secrets are not `Serialize`, so the derive cannot see them).
pub(crate) fn validate_with_secrets(
    input: &impl validator::Validate,
    secrets: &[(&str, &Secret<String>)],
) -> Result<(), AuthError> {
    let mut errors = match input.validate() {
        Ok(()) => FieldErrors::new(),
        Err(report) => report_fields(&report),
    };
    for (field, secret) in secrets {
        let length = secret.expose().chars().count();
        if length == 0 {
            errors.add(field, "is required");
        } else if length > 128 {
            errors.add(field, "must be at most 128 characters long");
        }
    }
    Ok(errors.into_result()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wechat_errors_become_clear_login_errors_without_details_of_ours() {
        let cases = [
            (WechatError::InvalidCode, "WechatCodeInvalid"),
            (WechatError::CodeUsed, "WechatCodeUsed"),
            (WechatError::RateLimited, "WechatRateLimited"),
            (WechatError::HighRiskUser, "WechatUserRisky"),
            (WechatError::Busy, "WechatUnavailable"),
            (WechatError::Timeout, "WechatUnavailable"),
            (
                WechatError::Transport("refused".into()),
                "WechatUnavailable",
            ),
            (WechatError::Credentials(40125), "WechatFailed"),
            (WechatError::Decode("junk".into()), "WechatFailed"),
        ];
        for (wechat, expected) in cases {
            let error = AuthError::from(wechat.clone());
            assert!(
                format!("{error:?}").starts_with(expected),
                "{wechat:?} → {error:?}"
            );
        }
    }
}
