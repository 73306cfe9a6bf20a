//! Coupon templates, the coupons claimed from them, and the discount arithmetic
//! (`docs/marketing.md`).

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use topup_core::{Currency, Money, Timestamp};
use topup_store::Document;
use utoipa::ToSchema;

use crate::MarketingError;

/// How a coupon takes money off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DiscountKind {
    /// 满减: a fixed amount off at or above the threshold.
    AmountOff,
    /// 折扣: a whole percent off, at most `max_discount`.
    PercentOff,
}

/// Which purchases a coupon applies to; an empty list means "any".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CouponScope {
    /// `airtime`, `data`.
    #[serde(default)]
    pub kinds: Vec<String>,
    /// ISO 3166-1 alpha-2 codes.
    #[serde(default)]
    #[schema(example = json!(["PH"]))]
    pub countries: Vec<String>,
    #[serde(default)]
    pub operator_ids: Vec<String>,
    #[serde(default)]
    pub plan_ids: Vec<String>,
}

/// A template's terms, copied into every coupon claimed from it (later edits of the template
/// never change a coupon already held).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"kind": "amount_off", "amount_off": {"amount": 500, "currency": "CNY"},
    "percent_off": null, "max_discount": null, "threshold": {"amount": 1000, "currency": "CNY"},
    "scope": {"kinds": ["airtime"], "countries": [], "operator_ids": [], "plan_ids": []}}))]
pub struct CouponTerms {
    pub kind: DiscountKind,
    /// `amount_off`: the amount taken off.
    #[serde(default)]
    pub amount_off: Option<Money>,
    /// `percent_off`: 1–99, whole percent taken off (12 is 8.8折).
    #[serde(default)]
    pub percent_off: Option<u32>,
    /// `percent_off`: the most taken off; none for no cap.
    #[serde(default)]
    pub max_discount: Option<Money>,
    /// The least base price the coupon applies to (zero for any).
    pub threshold: Money,
    #[serde(default)]
    pub scope: CouponScope,
}

/// The purchase a coupon is tried against.
#[derive(Debug, Clone)]
pub struct Purchase {
    pub plan_id: String,
    /// `airtime` or `data`.
    pub kind: String,
    pub country: String,
    pub operator_id: String,
    /// The price before any coupon.
    pub base: Money,
}

/// Why a coupon does not apply to a purchase.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Unusable {
    /// `below_threshold`, `not_yet_valid`, `expired`, `out_of_scope`, `in_use`, `used`,
    /// `no_saving`: stable, for the client's own wording.
    pub code: String,
    pub message: String,
    /// `below_threshold`: how much more the purchase must cost.
    pub shortfall: Option<Money>,
}

impl Unusable {
    fn new(code: &str, message: impl Into<String>) -> Self {
        Unusable {
            code: code.to_owned(),
            message: message.into(),
            shortfall: None,
        }
    }
}

fn yuan(money: Money) -> String {
    format!("¥{}", money.to_decimal())
}

impl CouponTerms {
    /// Checks the terms; a field error names the field under `prefix`.
    pub fn validate(&self) -> Result<(), MarketingError> {
        let cny = |field: &str, money: &Money, positive: bool| {
            if money.currency != Currency::CNY {
                return Err(MarketingError::invalid(field, "must be in CNY"));
            }
            if money.amount < 0 || (positive && money.amount == 0) {
                return Err(MarketingError::invalid(
                    field,
                    if positive {
                        "must be positive"
                    } else {
                        "must not be negative"
                    },
                ));
            }
            Ok(())
        };
        cny("terms.threshold", &self.threshold, false)?;
        match self.kind {
            DiscountKind::AmountOff => {
                let off = self
                    .amount_off
                    .ok_or_else(|| MarketingError::invalid("terms.amount_off", "required"))?;
                cny("terms.amount_off", &off, true)?;
                if self.percent_off.is_some() {
                    return Err(MarketingError::invalid(
                        "terms.percent_off",
                        "only for percent_off coupons",
                    ));
                }
            }
            DiscountKind::PercentOff => {
                let percent = self
                    .percent_off
                    .ok_or_else(|| MarketingError::invalid("terms.percent_off", "required"))?;
                if !(1..=99).contains(&percent) {
                    return Err(MarketingError::invalid(
                        "terms.percent_off",
                        "must be 1 to 99",
                    ));
                }
                if let Some(cap) = &self.max_discount {
                    cny("terms.max_discount", cap, true)?;
                }
                if self.amount_off.is_some() {
                    return Err(MarketingError::invalid(
                        "terms.amount_off",
                        "only for amount_off coupons",
                    ));
                }
            }
        }
        for kind in &self.scope.kinds {
            if kind != "airtime" && kind != "data" {
                return Err(MarketingError::invalid(
                    "terms.scope.kinds",
                    format!("unknown kind {kind:?}: airtime or data"),
                ));
            }
        }
        for country in &self.scope.countries {
            if topup_core::CountryCode::parse(country).is_err() {
                return Err(MarketingError::invalid(
                    "terms.scope.countries",
                    format!("{country:?} is not an ISO 3166-1 alpha-2 code"),
                ));
            }
        }
        Ok(())
    }

    /// What the coupon takes off `base`, ignoring threshold and scope (see [`Self::apply`]).
    ///
    /// Rounding: a percentage is rounded down to the fen (`floor(base × percent / 100)`), then
    /// capped at `max_discount`. Any discount is capped so that at least one fen stays to pay
    /// (WeChat Pay refuses a zero amount).
    pub fn discount_for(&self, base: Money) -> Result<Money, MarketingError> {
        let raw = match self.kind {
            DiscountKind::AmountOff => self.amount_off.map_or(0, |m| m.amount),
            DiscountKind::PercentOff => {
                let percent = i64::from(self.percent_off.unwrap_or(0));
                let off = base
                    .amount
                    .checked_mul(percent)
                    .ok_or(topup_core::CoreError::Overflow)?
                    / 100;
                match self.max_discount {
                    Some(cap) => off.min(cap.amount),
                    None => off,
                }
            }
        };
        let most = base.amount.saturating_sub(1).max(0);
        Ok(Money::new(raw.clamp(0, most), base.currency))
    }

    /// The discount on `purchase`, or why the coupon does not apply to it.
    pub fn apply(&self, purchase: &Purchase) -> Result<Money, Unusable> {
        let scope = &self.scope;
        let outside =
            |list: &[String], value: &str| !list.is_empty() && !list.iter().any(|v| v == value);
        if outside(&scope.kinds, &purchase.kind) {
            return Err(Unusable::new(
                "out_of_scope",
                format!("only for {}", scope.kinds.join(", ")),
            ));
        }
        if outside(&scope.countries, &purchase.country) {
            return Err(Unusable::new(
                "out_of_scope",
                format!("only for numbers in {}", scope.countries.join(", ")),
            ));
        }
        if outside(&scope.operator_ids, &purchase.operator_id) {
            return Err(Unusable::new("out_of_scope", "not for this operator"));
        }
        if outside(&scope.plan_ids, &purchase.plan_id) {
            return Err(Unusable::new("out_of_scope", "not for this plan"));
        }
        if purchase.base.amount < self.threshold.amount {
            let shortfall = Money::new(
                self.threshold.amount - purchase.base.amount,
                purchase.base.currency,
            );
            return Err(Unusable {
                code: "below_threshold".into(),
                message: format!("{} more to use it", yuan(shortfall)),
                shortfall: Some(shortfall),
            });
        }
        match self.discount_for(purchase.base) {
            Ok(discount) if discount.is_positive() => Ok(discount),
            _ => Err(Unusable::new("no_saving", "saves nothing on this purchase")),
        }
    }
}

/// When a coupon may be used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Validity {
    /// From `from` until `to` (exclusive), whenever claimed.
    Fixed { from: Timestamp, to: Timestamp },
    /// For `days` days from the moment it is claimed.
    DaysAfterClaim { days: u32 },
}

impl Validity {
    pub fn validate(&self) -> Result<(), MarketingError> {
        match self {
            Validity::Fixed { from, to } if to <= from => Err(MarketingError::invalid(
                "validity.to",
                "must be after validity.from",
            )),
            Validity::DaysAfterClaim { days } if !(1..=3650).contains(days) => Err(
                MarketingError::invalid("validity.days", "must be 1 to 3650"),
            ),
            _ => Ok(()),
        }
    }

    /// The window of a coupon claimed at `claimed_at`.
    pub fn window(&self, claimed_at: Timestamp) -> (Timestamp, Timestamp) {
        match self {
            Validity::Fixed { from, to } => (*from, *to),
            Validity::DaysAfterClaim { days } => (
                claimed_at,
                claimed_at.plus(TimeDelta::days(i64::from(*days))),
            ),
        }
    }

    /// Whether a coupon claimed now could still be used at some point.
    pub fn claimable_at(&self, now: Timestamp) -> bool {
        match self {
            Validity::Fixed { to, .. } => now < *to,
            Validity::DaysAfterClaim { .. } => true,
        }
    }
}

/// How coupons of a template reach users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Claimed by users in the app's coupon centre.
    #[serde(rename = "self")]
    SelfClaim,
    /// Issued by staff to chosen users.
    Staff,
    /// Given once to every user at their first sign-in.
    NewUser,
}

impl Channel {
    pub fn as_str(&self) -> &'static str {
        match self {
            Channel::SelfClaim => "self",
            Channel::Staff => "staff",
            Channel::NewUser => "new_user",
        }
    }
}

/// A kind of coupon staff define; users hold [`Coupon`]s claimed from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CouponTemplate {
    pub id: String,
    pub version: i64,
    pub name: String,
    pub description: String,
    pub terms: CouponTerms,
    pub validity: Validity,
    /// How many may ever be claimed; none for unlimited.
    pub total_stock: Option<i64>,
    /// How many have been claimed (guarded increment: never above `total_stock`).
    pub claimed: i64,
    pub per_user_limit: u32,
    pub channel: Channel,
    pub enabled: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Document for CouponTemplate {
    const COLLECTION: &'static str = "coupon_templates";
}

impl CouponTemplate {
    pub fn remaining(&self) -> Option<i64> {
        self.total_stock
            .map(|stock| stock.saturating_sub(self.claimed).max(0))
    }
}

/// Where a coupon is in its life.
///
/// ```text
/// unused ─(checkout)─> locked ─(paid)─> used ─(order fully refunded)─> unused | expired
///   │                    └─(order closed)─> unused | expired
///   ├─(window over)─> expired
///   └─(its membership refunded; bundle coupons only)─> withdrawn
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CouponState {
    Unused,
    Locked,
    Used,
    Expired,
    /// A membership bundle coupon taken back, unused, when its membership was refunded.
    Withdrawn,
}

impl CouponState {
    pub fn as_str(&self) -> &'static str {
        match self {
            CouponState::Unused => "unused",
            CouponState::Locked => "locked",
            CouponState::Used => "used",
            CouponState::Expired => "expired",
            CouponState::Withdrawn => "withdrawn",
        }
    }
}

impl From<CouponState> for serde_json::Value {
    fn from(state: CouponState) -> Self {
        serde_json::Value::String(state.as_str().to_owned())
    }
}

/// One user's coupon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coupon {
    pub id: String,
    pub version: i64,
    pub template_id: String,
    pub user_id: String,
    pub name: String,
    pub description: String,
    pub terms: CouponTerms,
    pub channel: Channel,
    pub state: CouponState,
    pub valid_from: Timestamp,
    pub valid_to: Timestamp,
    pub claimed_at: Timestamp,
    /// `<template>:<user>:<n>`, unique: the n-th coupon of a template a user holds, so no
    /// concurrency can give a user more than the template's per-user limit.
    pub claim_key: String,
    /// The order holding (locked) or having used the coupon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_at: Option<Timestamp>,
    /// What it took off that order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount: Option<Money>,
    /// What that order cost after the discount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_total: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_at: Option<Timestamp>,
}

impl Document for Coupon {
    const COLLECTION: &'static str = "coupons";
}

impl Coupon {
    /// A new unused coupon of `template` for `user_id`, with the template's terms copied.
    pub fn new_from(
        template: &CouponTemplate,
        user_id: &str,
        claim_key: String,
        (valid_from, valid_to): (Timestamp, Timestamp),
        now: Timestamp,
    ) -> Coupon {
        Coupon {
            id: ulid::Ulid::new().to_string(),
            version: 0,
            template_id: template.id.clone(),
            user_id: user_id.to_owned(),
            name: template.name.clone(),
            description: template.description.clone(),
            terms: template.terms.clone(),
            channel: template.channel,
            state: CouponState::Unused,
            valid_from,
            valid_to,
            claimed_at: now,
            claim_key,
            order_no: None,
            locked_at: None,
            discount: None,
            order_total: None,
            used_at: None,
        }
    }

    /// The discount on `purchase` at `now`, or why not.
    pub fn usable_for(&self, purchase: &Purchase, now: Timestamp) -> Result<Money, Unusable> {
        match self.state {
            CouponState::Locked => {
                return Err(Unusable::new("in_use", "held by an unpaid order"));
            }
            CouponState::Used => return Err(Unusable::new("used", "already used")),
            CouponState::Expired => return Err(Unusable::new("expired", "expired")),
            CouponState::Withdrawn => return Err(Unusable::new("withdrawn", "withdrawn")),
            CouponState::Unused => {}
        }
        if now >= self.valid_to {
            return Err(Unusable::new("expired", "expired"));
        }
        if now < self.valid_from {
            return Err(Unusable::new(
                "not_yet_valid",
                format!("valid from {}", self.valid_from.to_rfc3339()),
            ));
        }
        self.terms.apply(purchase)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amount_off(off: i64, threshold: i64) -> CouponTerms {
        CouponTerms {
            kind: DiscountKind::AmountOff,
            amount_off: Some(Money::cny(off)),
            percent_off: None,
            max_discount: None,
            threshold: Money::cny(threshold),
            scope: CouponScope::default(),
        }
    }

    fn percent_off(percent: u32, cap: Option<i64>) -> CouponTerms {
        CouponTerms {
            kind: DiscountKind::PercentOff,
            amount_off: None,
            percent_off: Some(percent),
            max_discount: cap.map(Money::cny),
            threshold: Money::cny(0),
            scope: CouponScope::default(),
        }
    }

    fn purchase(base: i64) -> Purchase {
        Purchase {
            plan_id: "p1".into(),
            kind: "airtime".into(),
            country: "PH".into(),
            operator_id: "op1".into(),
            base: Money::cny(base),
        }
    }

    #[test]
    fn amount_off_applies_at_the_threshold_and_names_the_shortfall_below_it() {
        let terms = amount_off(500, 1000);
        assert_eq!(terms.apply(&purchase(1000)), Ok(Money::cny(500)));
        assert_eq!(terms.apply(&purchase(4321)), Ok(Money::cny(500)));
        let below = terms.apply(&purchase(700)).unwrap_err();
        assert_eq!(below.code, "below_threshold");
        assert_eq!(below.shortfall, Some(Money::cny(300)));
        assert_eq!(below.message, "¥3.00 more to use it");
    }

    #[test]
    fn percent_off_rounds_down_to_the_fen_and_stops_at_its_cap() {
        // 12% of ¥33.33 is 399.96 fen: 399 off.
        assert_eq!(
            percent_off(12, None).apply(&purchase(3333)),
            Ok(Money::cny(399))
        );
        // 12% of ¥100.00 is ¥12.00, capped at ¥5.00.
        assert_eq!(
            percent_off(12, Some(500)).apply(&purchase(10000)),
            Ok(Money::cny(500))
        );
        // 1% of 99 fen is 0.99 fen: nothing to take off.
        assert_eq!(
            percent_off(1, None).apply(&purchase(99)).unwrap_err().code,
            "no_saving"
        );
    }

    #[test]
    fn a_discount_always_leaves_one_fen_to_pay() {
        assert_eq!(
            amount_off(5000, 0).apply(&purchase(3000)),
            Ok(Money::cny(2999))
        );
        assert_eq!(
            percent_off(99, None).apply(&purchase(1)).unwrap_err().code,
            "no_saving"
        );
    }

    #[test]
    fn scope_limits_kind_country_operator_and_plan() {
        let mut terms = amount_off(100, 0);
        terms.scope.kinds = vec!["data".into()];
        assert_eq!(
            terms.apply(&purchase(1000)).unwrap_err().code,
            "out_of_scope"
        );
        terms.scope.kinds = vec!["airtime".into()];
        terms.scope.countries = vec!["NG".into()];
        assert_eq!(
            terms.apply(&purchase(1000)).unwrap_err().code,
            "out_of_scope"
        );
        terms.scope.countries = vec!["NG".into(), "PH".into()];
        terms.scope.operator_ids = vec!["op1".into()];
        terms.scope.plan_ids = vec!["p1".into()];
        assert_eq!(terms.apply(&purchase(1000)), Ok(Money::cny(100)));
    }

    #[test]
    fn terms_name_the_field_that_is_wrong() {
        let field = |terms: CouponTerms| match terms.validate() {
            Err(MarketingError::Invalid { field, .. }) => field,
            other => panic!("expected a field error, got {other:?}"),
        };
        assert_eq!(field(amount_off(0, 0)), "terms.amount_off");
        assert_eq!(field(amount_off(100, -1)), "terms.threshold");
        assert_eq!(field(percent_off(100, None)), "terms.percent_off");
        assert_eq!(field(percent_off(10, Some(0))), "terms.max_discount");
        let mut scoped = amount_off(100, 0);
        scoped.scope.kinds = vec!["voice".into()];
        assert_eq!(field(scoped), "terms.scope.kinds");
        assert!(amount_off(100, 0).validate().is_ok());
    }
}
