//! Notifications (`docs/notifications.md`): WeChat subscribe messages telling users their
//! payment went through, their top-up arrived or was refunded, their refund was paid, their
//! membership began. Staff map each event to a WeChat template; users' acceptances from
//! `wx.requestSubscribeMessage` are counted; each event is queued once (its key is the
//! delivery's id) and a worker holding a lease sends it, retrying only what WeChat surely
//! did not take.

pub mod alerts;
mod error;
mod model;
pub mod rules;
mod service;

pub use error::NotifyError;
pub use model::{
    Delivery, DeliveryAttempt, DeliveryState, FieldMapping, Notice, NoticeEvent, NoticeTemplate,
    Subscription,
};
pub use service::{
    DeliveryQuery, MessageSender, NotifyService, Rendered, TemplateCounts, TemplateDraft,
};
