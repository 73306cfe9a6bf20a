//! The one table of error codes the API answers with. Each code has exactly one HTTP status,
//! so clients can branch on `code` and operators can read the status.

use serde::{Serialize, Serializer};

macro_rules! error_codes {
    ($( $(#[$doc:meta])* $variant:ident = ($status:expr, $text:literal), )*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant, )*
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The wire form, e.g. `ORDER_NOT_FOUND`.
            pub fn as_str(&self) -> &'static str {
                match self { $( ErrorCode::$variant => $text, )* }
            }

            /// The HTTP status this code is always answered with.
            pub fn http_status(&self) -> u16 {
                match self { $( ErrorCode::$variant => $status, )* }
            }
        }
    };
}

error_codes! {
    /// The request is malformed in a way no more specific code describes.
    BadRequest = (400, "BAD_REQUEST"),
    /// The body is not valid JSON or does not match the expected shape.
    MalformedJson = (400, "MALFORMED_JSON"),
    /// One or more fields failed validation; `details` names them.
    ValidationFailed = (400, "VALIDATION_FAILED"),
    /// A query-string value is missing or malformed.
    InvalidQuery = (400, "INVALID_QUERY"),
    /// A path segment is malformed (for example an id that is not a ULID).
    InvalidPath = (400, "INVALID_PATH"),
    /// The phone number is not a valid mobile number.
    InvalidPhone = (400, "INVALID_PHONE"),
    /// The country code is unknown.
    InvalidCountry = (400, "INVALID_COUNTRY"),
    /// Credentials are missing, invalid or expired.
    Unauthorized = (401, "UNAUTHORIZED"),
    /// Username or password wrong (the two are not told apart).
    InvalidCredentials = (401, "INVALID_CREDENTIALS"),
    /// The access token expired; exchange the refresh token for a new pair.
    TokenExpired = (401, "TOKEN_EXPIRED"),
    /// Authenticated, but not allowed to do this.
    Forbidden = (403, "FORBIDDEN"),
    /// The change would grant a permission the caller does not hold, or touches a staff user
    /// or role holding one (the grant ceiling).
    GrantExceeded = (403, "GRANT_EXCEEDED"),
    /// The staff account is disabled.
    AccountDisabled = (403, "ACCOUNT_DISABLED"),
    /// The password must be changed (`PUT /api/v1/admin/auth/password`) before anything else.
    PasswordChangeRequired = (403, "PASSWORD_CHANGE_REQUIRED"),
    /// The mini-program user is disabled or blacklisted; every app route refuses them.
    UserBlocked = (403, "USER_BLOCKED"),
    /// The caller's address is blacklisted for mini-program login.
    IpBlocked = (403, "IP_BLOCKED"),
    /// WeChat flags this user as high-risk (errcode 40226) and refuses the login.
    WechatUserRisky = (403, "WECHAT_USER_RISKY"),
    /// The `wx.login()` code is unknown or expired; call `wx.login()` again.
    WechatCodeInvalid = (401, "WECHAT_CODE_INVALID"),
    /// The `wx.login()` code was already exchanged; each code works once.
    WechatCodeUsed = (401, "WECHAT_CODE_USED"),
    /// No route matches the path.
    RouteNotFound = (404, "ROUTE_NOT_FOUND"),
    /// The addressed resource does not exist.
    NotFound = (404, "NOT_FOUND"),
    /// The route exists but not for this method.
    MethodNotAllowed = (405, "METHOD_NOT_ALLOWED"),
    /// The resource changed meanwhile or already exists.
    Conflict = (409, "CONFLICT"),
    /// The role is still assigned to staff users.
    RoleInUse = (409, "ROLE_IN_USE"),
    /// The change would leave no enabled super-admin.
    LastSuperAdmin = (409, "LAST_SUPER_ADMIN"),
    /// Staff cannot do this to their own account (e.g. disable it).
    SelfModification = (409, "SELF_MODIFICATION"),
    /// Built-in roles and menu nodes cannot be deleted, disabled or narrowed.
    BuiltinProtected = (409, "BUILTIN_PROTECTED"),
    /// The menu node still has children.
    MenuHasChildren = (409, "MENU_HAS_CHILDREN"),
    /// The user already keeps the most saved numbers allowed; delete one first.
    SavedNumberLimit = (409, "SAVED_NUMBER_LIMIT"),
    /// The body is larger than the route accepts.
    PayloadTooLarge = (413, "PAYLOAD_TOO_LARGE"),
    /// The body has a content type the route does not accept.
    UnsupportedMediaType = (415, "UNSUPPORTED_MEDIA_TYPE"),
    /// Too many failed logins for this username; it is locked for a while.
    AccountLocked = (423, "ACCOUNT_LOCKED"),
    /// No order with that number (or not yours).
    OrderNotFound = (404, "ORDER_NOT_FOUND"),
    /// The plan does not exist, is disabled or has no price.
    PlanUnavailable = (400, "PLAN_UNAVAILABLE"),
    /// The number belongs to another country or operator than the plan.
    NumberPlanMismatch = (400, "NUMBER_PLAN_MISMATCH"),
    /// The number, account or address may not place orders.
    NumberBlocked = (403, "NUMBER_BLOCKED"),
    /// A per-number limit: one open order at a time, N per day.
    OrderLimitReached = (409, "ORDER_LIMIT_REACHED"),
    /// The `Idempotency-Key` was used before with another request body.
    IdempotencyKeyReused = (409, "IDEMPOTENCY_KEY_REUSED"),
    /// The order is not in a state that allows this action.
    OrderStateConflict = (409, "ORDER_STATE_CONFLICT"),
    /// The refund is larger than what can still be refunded.
    RefundTooLarge = (400, "REFUND_TOO_LARGE"),
    /// Every coupon of the template has been claimed.
    CouponSoldOut = (409, "COUPON_SOLD_OUT"),
    /// You hold as many coupons of this kind as allowed.
    CouponLimitReached = (409, "COUPON_LIMIT_REACHED"),
    /// The coupon does not apply to this purchase; `details.reason` says why.
    CouponNotUsable = (409, "COUPON_NOT_USABLE"),
    /// The user has not accepted the current version of an agreement this needs;
    /// `details.kind` and `details.version` say which (accept it, then try again).
    AgreementRequired = (409, "AGREEMENT_REQUIRED"),
    /// WeChat Pay could not start the payment; nothing was charged.
    PaymentUnavailable = (502, "PAYMENT_UNAVAILABLE"),
    /// Too many requests; retry later.
    RateLimited = (429, "RATE_LIMITED"),
    /// WeChat rate-limits this user's logins (errcode 45011); retry later.
    WechatRateLimited = (429, "WECHAT_RATE_LIMITED"),
    /// Something failed on our side; the request id helps find it in the logs.
    Internal = (500, "INTERNAL"),
    /// A service we depend on did not answer properly.
    UpstreamFailed = (502, "UPSTREAM_FAILED"),
    /// A dependency (the store) is not reachable right now.
    Unavailable = (503, "UNAVAILABLE"),
    /// WeChat is busy or unreachable; retry the login shortly.
    WechatUnavailable = (503, "WECHAT_UNAVAILABLE"),
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_screaming_snake_case_with_error_statuses() {
        let mut seen = HashSet::new();
        for code in ErrorCode::ALL {
            let text = code.as_str();
            assert!(seen.insert(text), "duplicate {text}");
            assert!(text.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'));
            assert!((400..600).contains(&code.http_status()));
        }
    }
}
