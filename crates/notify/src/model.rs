//! Templates, subscriptions, notices and deliveries.

use std::collections::BTreeMap;

use chrono::FixedOffset;
use serde::{Deserialize, Serialize};
use topup_core::{Money, Timestamp};
use topup_store::{Document, Lease};
use utoipa::ToSchema;

/// What a message tells the user about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoticeEvent {
    PaymentSucceeded,
    RechargeSucceeded,
    RechargeFailedRefunded,
    RefundSucceeded,
    MembershipActivated,
}

impl NoticeEvent {
    pub const ALL: [NoticeEvent; 5] = [
        NoticeEvent::PaymentSucceeded,
        NoticeEvent::RechargeSucceeded,
        NoticeEvent::RechargeFailedRefunded,
        NoticeEvent::RefundSucceeded,
        NoticeEvent::MembershipActivated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NoticeEvent::PaymentSucceeded => "payment_succeeded",
            NoticeEvent::RechargeSucceeded => "recharge_succeeded",
            NoticeEvent::RechargeFailedRefunded => "recharge_failed_refunded",
            NoticeEvent::RefundSucceeded => "refund_succeeded",
            NoticeEvent::MembershipActivated => "membership_activated",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        NoticeEvent::ALL.into_iter().find(|e| e.as_str() == text)
    }

    /// The placeholders a template of this event may use in its values and page.
    pub fn placeholders(self) -> &'static [&'static str] {
        match self {
            NoticeEvent::MembershipActivated => {
                &["order_no", "membership", "valid_until", "amount", "time"]
            }
            NoticeEvent::RechargeFailedRefunded | NoticeEvent::RefundSucceeded => {
                &["order_no", "plan", "phone", "amount", "reason", "time"]
            }
            NoticeEvent::PaymentSucceeded | NoticeEvent::RechargeSucceeded => {
                &["order_no", "plan", "phone", "amount", "time"]
            }
        }
    }

    /// A made-up event at `at`, for previews.
    pub fn sample(self, at: Timestamp) -> Notice {
        let membership = self == NoticeEvent::MembershipActivated;
        Notice {
            key: format!("sample:{}", self.as_str()),
            event: self,
            user_id: "sample".into(),
            openid: "sample".into(),
            order_no: Some("01JX3Q7Z8M5K2V9T4R6W1Y0B3C".into()),
            plan: (!membership).then(|| "Philippines Globe Telecom 500 PHP airtime".into()),
            phone: (!membership).then(|| "+639171234500".into()),
            amount: Some(Money::cny(6_350)),
            reason: matches!(
                self,
                NoticeEvent::RechargeFailedRefunded | NoticeEvent::RefundSucceeded
            )
            .then(|| "the operator declined the number".into()),
            membership: membership.then(|| "Gold member, 1 year".into()),
            valid_until: membership.then(|| at.plus(chrono::TimeDelta::days(365))),
            at,
        }
    }
}

/// One value of a template's data: `key` (`thing2`) and what it says, with `{placeholder}`s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FieldMapping {
    #[schema(example = "thing2")]
    pub key: String,
    #[schema(example = "{plan}")]
    pub value: String,
}

/// The WeChat template used for an event. Its id is the event's name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NoticeTemplate {
    /// The event (`payment_succeeded`…).
    pub id: String,
    #[serde(default)]
    pub version: i64,
    pub event: NoticeEvent,
    /// WeChat's template id (from the mini-program's subscribe-message library).
    pub template_id: String,
    /// The mini-program page the message opens, with placeholders.
    pub page: String,
    pub fields: Vec<FieldMapping>,
    /// `developer`, `trial` or `formal`.
    pub miniprogram_state: String,
    /// `zh_CN`, `en_US`, `zh_HK` or `zh_TW`.
    pub lang: String,
    pub enabled: bool,
    pub updated_at: Timestamp,
}

impl Document for NoticeTemplate {
    const COLLECTION: &'static str = "notify_templates";
}

/// A user's unspent one-time subscriptions to one WeChat template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    /// `<user_id>:<template_id>`.
    pub id: String,
    #[serde(default)]
    pub version: i64,
    pub user_id: String,
    pub template_id: String,
    /// Acceptances not yet spent on a message.
    pub available: i64,
    pub accepted_total: i64,
    pub rejected_total: i64,
    pub updated_at: Timestamp,
}

impl Document for Subscription {
    const COLLECTION: &'static str = "notify_subscriptions";
}

impl Subscription {
    pub fn id_of(user_id: &str, template_id: &str) -> String {
        format!("{user_id}:{template_id}")
    }
}

/// Something that happened to a user that a message may tell them. `key` names the event
/// once and for all (`order:<no>:recharge_succeeded`): a notice given twice is queued once.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub key: String,
    pub event: NoticeEvent,
    pub user_id: String,
    pub openid: String,
    pub order_no: Option<String>,
    pub plan: Option<String>,
    pub phone: Option<String>,
    /// Paid, or refunded, by the event.
    pub amount: Option<Money>,
    pub reason: Option<String>,
    pub membership: Option<String>,
    pub valid_until: Option<Timestamp>,
    pub at: Timestamp,
}

/// Times are shown in China Standard Time, as the mini-program's users read them.
const CHINA: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+8 is a valid offset"),
};

impl Notice {
    /// The placeholder values: amounts as `¥12.34`, times as `2026-01-31 08:00` (UTC+8).
    pub fn values(&self) -> BTreeMap<&'static str, String> {
        let mut values = BTreeMap::new();
        let mut put = |name: &'static str, value: Option<String>| {
            if let Some(value) = value {
                values.insert(name, value);
            }
        };
        put("order_no", self.order_no.clone());
        put("plan", self.plan.clone());
        put("phone", self.phone.clone());
        put(
            "amount",
            self.amount.map(|a| format!("¥{}", a.to_decimal())),
        );
        put("reason", self.reason.clone());
        put("membership", self.membership.clone());
        put(
            "valid_until",
            self.valid_until.map(|t| {
                t.as_datetime()
                    .with_timezone(&CHINA)
                    .format("%Y-%m-%d")
                    .to_string()
            }),
        );
        put(
            "time",
            Some(
                self.at
                    .as_datetime()
                    .with_timezone(&CHINA)
                    .format("%Y-%m-%d %H:%M")
                    .to_string(),
            ),
        );
        values
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for the worker (new, or retrying after a passing error).
    Queued,
    /// Handed to WeChat; the answer is not recorded yet.
    Sending,
    Sent,
    /// The user holds no subscription (43101, or none recorded): final, not retried.
    Skipped,
    /// Refused by WeChat (47003, 40003, 40037…), out of retries, or interrupted mid-send.
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Queued => "queued",
            DeliveryState::Sending => "sending",
            DeliveryState::Sent => "sent",
            DeliveryState::Skipped => "skipped",
            DeliveryState::Failed => "failed",
        }
    }
}

/// One try at sending a delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeliveryAttempt {
    pub at: Timestamp,
    /// `sent`, `skipped`, `failed`, `retry`.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errcode: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A message to send for one notice through one template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Delivery {
    /// The notice's key: one delivery per event.
    pub id: String,
    #[serde(default)]
    pub version: i64,
    pub event: NoticeEvent,
    pub user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_no: Option<String>,
    /// Who receives it (not shown to staff without the personal-data permission).
    #[schema(ignore)]
    pub openid: String,
    pub template_id: String,
    pub page: String,
    /// The values sent, by template key.
    pub data: BTreeMap<String, String>,
    pub miniprogram_state: String,
    pub lang: String,
    pub state: DeliveryState,
    #[serde(default)]
    pub attempts: Vec<DeliveryAttempt>,
    /// When the worker should try it (queued ones).
    pub next_attempt_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msgid: Option<u64>,
    /// Why it was skipped or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub lease: Option<Lease>,
}

impl Document for Delivery {
    const COLLECTION: &'static str = "notify_deliveries";
}
