//! Orders' and marketing's notice ports filled with notifications: each notice becomes the
//! buyer's WeChat message, queued once by its key.

use std::sync::Arc;

use async_trait::async_trait;
use topup_core::Timestamp;
use topup_marketing::{MarketingError, MembershipNotices, MembershipOrder};
use topup_notify::{FieldMapping, Notice, NoticeEvent, NotifyError, NotifyService, TemplateDraft};
use topup_orders::{Order, OrderNotice, OrderNoticeKind, OrderNotices, OrdersError};

/// An order's notices as the buyer's messages.
pub struct OrderMessages(pub Arc<NotifyService>);

fn event_of(kind: OrderNoticeKind) -> NoticeEvent {
    match kind {
        OrderNoticeKind::PaymentSucceeded => NoticeEvent::PaymentSucceeded,
        OrderNoticeKind::RechargeSucceeded => NoticeEvent::RechargeSucceeded,
        OrderNoticeKind::RechargeFailedRefunded => NoticeEvent::RechargeFailedRefunded,
        OrderNoticeKind::RefundSucceeded => NoticeEvent::RefundSucceeded,
    }
}

#[async_trait]
impl OrderNotices for OrderMessages {
    async fn notify(&self, order: &Order, notice: &OrderNotice) -> Result<(), OrdersError> {
        let message = Notice {
            key: notice.key.clone(),
            event: event_of(notice.kind),
            user_id: order.user_id.clone(),
            openid: order.openid.clone(),
            order_no: Some(order.id.clone()),
            plan: Some(order.plan.title.clone()),
            phone: Some(order.phone.clone()),
            amount: Some(notice.amount),
            reason: notice.reason.clone(),
            membership: None,
            valid_until: None,
            at: notice.at,
        };
        self.0
            .enqueue(&message)
            .await
            .map(|_| ())
            .map_err(|error| match error {
                NotifyError::Store(store) => OrdersError::Store(store),
                other => OrdersError::Dependency {
                    port: "notices",
                    cause: other.to_string(),
                },
            })
    }
}

/// A granted membership as its buyer's message.
pub struct MembershipMessages(pub Arc<NotifyService>);

#[async_trait]
impl MembershipNotices for MembershipMessages {
    async fn membership_activated(
        &self,
        order: &MembershipOrder,
        until: Option<Timestamp>,
    ) -> Result<(), MarketingError> {
        let message = Notice {
            key: format!("membership:{}:membership_activated", order.id),
            event: NoticeEvent::MembershipActivated,
            user_id: order.user_id.clone(),
            openid: order.openid.clone(),
            order_no: Some(order.id.clone()),
            plan: None,
            phone: None,
            amount: Some(order.amount),
            reason: None,
            membership: Some(order.plan_name.clone()),
            valid_until: until,
            at: order.paid_at.unwrap_or(order.updated_at),
        };
        self.0
            .enqueue(&message)
            .await
            .map(|_| ())
            .map_err(|error| match error {
                NotifyError::Store(store) => MarketingError::Store(store),
                other => MarketingError::Holder(other.to_string()),
            })
    }
}

/// The templates of the embedded sandbox's mini-program (`topup_sandbox::wechat_mp::
/// default_templates`), each key mapped to what the event says: a newcomer's demo sends
/// real messages to the sandbox inbox with no setup.
pub fn sandbox_templates() -> Vec<(NoticeEvent, TemplateDraft)> {
    let draft = |template_id: &str, page: &str, fields: &[(&str, &str)]| TemplateDraft {
        template_id: template_id.to_owned(),
        page: page.to_owned(),
        fields: fields
            .iter()
            .map(|(key, value)| FieldMapping {
                key: (*key).to_owned(),
                value: (*value).to_owned(),
            })
            .collect(),
        miniprogram_state: "developer".into(),
        lang: "zh_CN".into(),
        enabled: true,
    };
    let order_page = "pages/order/index?order_no={order_no}";
    vec![
        (
            NoticeEvent::PaymentSucceeded,
            draft(
                "sbx-payment-succeeded",
                order_page,
                &[
                    ("character_string1", "{order_no}"),
                    ("thing2", "{plan}"),
                    ("amount3", "{amount}"),
                    ("time4", "{time}"),
                    ("phone_number5", "{phone}"),
                ],
            ),
        ),
        (
            NoticeEvent::RechargeSucceeded,
            draft(
                "sbx-recharge-succeeded",
                order_page,
                &[
                    ("character_string1", "{order_no}"),
                    ("thing2", "{plan}"),
                    ("phone_number3", "{phone}"),
                    ("time4", "{time}"),
                    ("phrase5", "已到账"),
                ],
            ),
        ),
        (
            NoticeEvent::RechargeFailedRefunded,
            draft(
                "sbx-recharge-failed",
                order_page,
                &[
                    ("character_string1", "{order_no}"),
                    ("thing2", "{plan}"),
                    ("thing3", "{reason}"),
                    ("amount4", "{amount}"),
                    ("phrase5", "已退款"),
                ],
            ),
        ),
        (
            NoticeEvent::RefundSucceeded,
            draft(
                "sbx-refund-succeeded",
                order_page,
                &[
                    ("character_string1", "{order_no}"),
                    ("amount2", "{amount}"),
                    ("time3", "{time}"),
                    ("thing4", "{reason}"),
                ],
            ),
        ),
        (
            NoticeEvent::MembershipActivated,
            draft(
                "sbx-membership-activated",
                "pages/membership/index",
                &[
                    ("thing1", "{membership}"),
                    ("date2", "{valid_until}"),
                    ("amount3", "{amount}"),
                ],
            ),
        ),
    ]
}
