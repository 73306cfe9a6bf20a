//! WeChat message templates per event (with a preview), the delivery log with resend,
//! per-template counts, and the staff alerts sent through the official account (their log
//! and a test send).

use actix_web::web;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use topup_auth::Permission;
use topup_auth::perm::{
    NotifyAlertList, NotifyAlertTest, NotifyDeliveryList, NotifyDeliveryResend, NotifyTemplateList,
    NotifyTemplateUpdate,
};
use topup_auth::{Audited, Change, Principal};
use topup_core::personal::mask_phone;
use topup_core::{Page, PageRequest, Timestamp};
use topup_notify::alerts::{AlertDelivery, AlertDeliveryQuery, AlertDeliveryState, StaffAlertKind};
use topup_notify::rules::key_type;
use topup_notify::{
    Delivery, DeliveryAttempt, DeliveryQuery, DeliveryState, FieldMapping, NoticeEvent,
    NoticeTemplate, NotifyError, Rendered, TemplateCounts, TemplateDraft,
};
use utoipa::{IntoParams, ToSchema};

use crate::extract::{Json, Paging, Query};
use crate::routes::admin::audited;
use crate::routes::admin::orders::sees_personal_data;
use crate::security::Require;
use crate::{ApiError, AppState, ErrorBody};

/// An event's WeChat template as staff write it.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "template_id": "sbx-recharge-succeeded", "page": "pages/order/index?order_no={order_no}",
    "fields": [{"key": "character_string1", "value": "{order_no}"}, {"key": "thing2", "value": "{plan}"},
        {"key": "phone_number3", "value": "{phone}"}, {"key": "time4", "value": "{time}"},
        {"key": "phrase5", "value": "已到账"}],
    "miniprogram_state": "formal", "lang": "zh_CN", "enabled": true}))]
pub struct TemplateBody {
    /// WeChat's template id, from the mini-program's subscribe-message library.
    pub template_id: String,
    /// The page the message opens; may use the event's placeholders.
    #[serde(default)]
    pub page: String,
    /// Each template key and its value, with `{placeholder}`s of the event.
    pub fields: Vec<FieldMapping>,
    /// `developer`, `trial` or `formal`.
    pub miniprogram_state: String,
    /// `zh_CN`, `en_US`, `zh_HK` or `zh_TW`.
    pub lang: String,
    pub enabled: bool,
}

impl From<TemplateBody> for TemplateDraft {
    fn from(body: TemplateBody) -> Self {
        TemplateDraft {
            template_id: body.template_id,
            page: body.page,
            fields: body.fields,
            miniprogram_state: body.miniprogram_state,
            lang: body.lang,
            enabled: body.enabled,
        }
    }
}

/// An event, what its values may say, and its template when one is set.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventTemplateView {
    pub event: NoticeEvent,
    /// The `{placeholder}`s a value or the page may use.
    pub placeholders: Vec<String>,
    pub template: Option<TemplateView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateView {
    pub template_id: String,
    pub page: String,
    pub fields: Vec<FieldMapping>,
    pub miniprogram_state: String,
    pub lang: String,
    pub enabled: bool,
    pub updated_at: Timestamp,
}

impl From<NoticeTemplate> for TemplateView {
    fn from(template: NoticeTemplate) -> Self {
        TemplateView {
            template_id: template.template_id,
            page: template.page,
            fields: template.fields,
            miniprogram_state: template.miniprogram_state,
            lang: template.lang,
            enabled: template.enabled,
            updated_at: template.updated_at,
        }
    }
}

fn placeholders(event: NoticeEvent) -> Vec<String> {
    event
        .placeholders()
        .iter()
        .map(|p| format!("{{{p}}}"))
        .collect()
}

fn event_of(path: &str) -> Result<NoticeEvent, ApiError> {
    NoticeEvent::parse(path)
        .ok_or_else(|| ApiError::from(NotifyError::NotFound(format!("event {path}"))))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventTemplateList {
    pub items: Vec<EventTemplateView>,
}

/// Every event with its template (if set), in the order they happen.
#[utoipa::path(get, path = "/api/v1/admin/notify/templates", tag = "admin-notify", operation_id = "admin_notify_templates_list",
    responses((status = 200, description = "The five events and their templates", body = EventTemplateList)),
    extensions(("x-permission" = json!(NotifyTemplateList::CODE))))]
pub async fn list_templates(
    _who: Require<NotifyTemplateList>,
    state: web::Data<AppState>,
) -> Result<Json<EventTemplateList>, ApiError> {
    let mut set: BTreeMap<&'static str, NoticeTemplate> = state
        .notify
        .templates()
        .await?
        .into_iter()
        .map(|t| (t.event.as_str(), t))
        .collect();
    let items = NoticeEvent::ALL
        .into_iter()
        .map(|event| EventTemplateView {
            event,
            placeholders: placeholders(event),
            template: set.remove(event.as_str()).map(Into::into),
        })
        .collect();
    Ok(Json(EventTemplateList { items }))
}

/// Set an event's template (also how it is turned off). Refused when the sample message
/// would break WeChat's value rules, naming the field.
#[utoipa::path(put, path = "/api/v1/admin/notify/templates/{event}", tag = "admin-notify", operation_id = "admin_notify_templates_put",
    params(("event" = NoticeEvent, Path, description = "The event")),
    request_body = TemplateBody,
    responses(
        (status = 200, description = "Saved", body = TemplateView),
        (status = 400, description = "`VALIDATION_FAILED` naming the field (`fields[2].value`: why)", body = ErrorBody),
        (status = 404, description = "No such event", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(NotifyTemplateUpdate::CODE))))]
pub async fn put_template(
    who: Require<NotifyTemplateUpdate>,
    state: web::Data<AppState>,
    event: web::Path<String>,
    body: Json<TemplateBody>,
) -> Result<Json<TemplateView>, ApiError> {
    let event = event_of(&event)?;
    let work = async {
        let (before, after) = state
            .notify
            .put_template(event, body.into_inner().into())
            .await?;
        let change = Change::new("notify_template", event.as_str())
            .before(&before)
            .after(&after);
        Ok::<_, NotifyError>(Audited::new(after, change))
    };
    let target = Some(event.as_str().to_owned());
    let saved = audited(
        &state,
        &who,
        "set message template",
        "notify_template",
        target,
        work,
    )
    .await?;
    Ok(Json(saved.into()))
}

/// What a template would send for a made-up event (nothing is saved or sent).
#[utoipa::path(post, path = "/api/v1/admin/notify/templates/{event}/preview", tag = "admin-notify", operation_id = "admin_notify_templates_preview",
    params(("event" = NoticeEvent, Path, description = "The event")),
    request_body = TemplateBody,
    responses(
        (status = 200, description = "The page and data WeChat would get", body = Rendered,
            example = json!({"page": "pages/order/index?order_no=01JX3Q7Z8M5K2V9T4R6W1Y0B3C",
                "data": {"thing2": "Philippines Globe T…", "phrase5": "已到账"}})),
        (status = 400, description = "`VALIDATION_FAILED` naming the field", body = ErrorBody),
        (status = 404, description = "No such event", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(NotifyTemplateList::CODE))))]
pub async fn preview(
    _who: Require<NotifyTemplateList>,
    state: web::Data<AppState>,
    event: web::Path<String>,
    body: Json<TemplateBody>,
) -> Result<Json<Rendered>, ApiError> {
    let event = event_of(&event)?;
    Ok(Json(
        state.notify.preview(event, &body.into_inner().into())?,
    ))
}

/// A delivery as staff see it: without the recipient's openid, and with phone numbers masked
/// for staff without the personal-data permission.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: String,
    pub event: NoticeEvent,
    pub user_id: String,
    pub order_no: Option<String>,
    pub template_id: String,
    pub page: String,
    pub data: BTreeMap<String, String>,
    pub state: DeliveryState,
    pub attempts: Vec<DeliveryAttempt>,
    pub next_attempt_at: Timestamp,
    pub msgid: Option<u64>,
    pub reason: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl DeliveryView {
    /// The delivery as this viewer may see it: phone numbers in the message masked without
    /// the personal-data permission (`docs/security.md#personal-data`).
    fn for_viewer(delivery: Delivery, who: &Principal) -> Self {
        let mut view = DeliveryView::from(delivery);
        if !sees_personal_data(who) {
            for (key, value) in &mut view.data {
                if key_type(key) == "phone_number" {
                    *value = mask_phone(value);
                }
            }
        }
        view
    }
}

impl From<Delivery> for DeliveryView {
    fn from(delivery: Delivery) -> Self {
        DeliveryView {
            id: delivery.id,
            event: delivery.event,
            user_id: delivery.user_id,
            order_no: delivery.order_no,
            template_id: delivery.template_id,
            page: delivery.page,
            data: delivery.data,
            state: delivery.state,
            attempts: delivery.attempts,
            next_attempt_at: delivery.next_attempt_at,
            msgid: delivery.msgid,
            reason: delivery.reason,
            created_at: delivery.created_at,
            updated_at: delivery.updated_at,
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveryFilter {
    pub event: Option<NoticeEvent>,
    pub state: Option<DeliveryState>,
    pub user_id: Option<String>,
    pub order_no: Option<String>,
    /// Queued at or after (RFC 3339).
    pub from: Option<Timestamp>,
    /// Queued before (RFC 3339).
    pub to: Option<Timestamp>,
}

/// The delivery log, newest first.
#[utoipa::path(get, path = "/api/v1/admin/notify/deliveries", tag = "admin-notify", operation_id = "admin_notify_deliveries_list",
    params(PageRequest, DeliveryFilter),
    responses(
        (status = 200, description = "One page of deliveries", body = Page<DeliveryView>),
        (status = 400, description = "Bad filter or page", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(NotifyDeliveryList::CODE))))]
pub async fn list_deliveries(
    who: Require<NotifyDeliveryList>,
    state: web::Data<AppState>,
    page: Paging,
    filter: Query<DeliveryFilter>,
) -> Result<Json<Page<DeliveryView>>, ApiError> {
    let filter = filter.into_inner();
    let query = DeliveryQuery {
        event: filter.event,
        state: filter.state,
        user_id: filter.user_id,
        order_no: filter.order_no,
        from: filter.from,
        to: filter.to,
    };
    let found = state.notify.deliveries(&query, *page).await?;
    Ok(Json(found.map(|d| DeliveryView::for_viewer(d, &who))))
}

/// Send a failed or skipped message again.
#[utoipa::path(post, path = "/api/v1/admin/notify/deliveries/{id}/resend", tag = "admin-notify", operation_id = "admin_notify_deliveries_resend",
    params(("id" = String, Path, description = "Delivery id (the event's key)")),
    responses(
        (status = 200, description = "Queued again", body = DeliveryView),
        (status = 404, description = "No such delivery", body = ErrorBody),
        (status = 409, description = "`CONFLICT`: it was not failed or skipped", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(NotifyDeliveryResend::CODE))))]
pub async fn resend(
    who: Require<NotifyDeliveryResend>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<Json<DeliveryView>, ApiError> {
    let work = async {
        let queued = state.notify.resend(&id).await?;
        let change = Change::new("notify_delivery", &queued.id).after(&queued.state);
        Ok::<_, NotifyError>(Audited::new(queued, change))
    };
    let target = Some(id.to_string());
    let queued = audited(
        &state,
        &who,
        "resend message",
        "notify_delivery",
        target,
        work,
    )
    .await?;
    Ok(Json(DeliveryView::for_viewer(queued, &who)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CountsList {
    pub items: Vec<TemplateCounts>,
}

/// Per template: how many messages were sent, skipped (no subscription), failed, or wait.
#[utoipa::path(get, path = "/api/v1/admin/notify/counts", tag = "admin-notify", operation_id = "admin_notify_counts",
    responses((status = 200, description = "Counts by template", body = CountsList)),
    extensions(("x-permission" = json!(NotifyTemplateList::CODE))))]
pub async fn counts(
    _who: Require<NotifyTemplateList>,
    state: web::Data<AppState>,
) -> Result<Json<CountsList>, ApiError> {
    Ok(Json(CountsList {
        items: state.notify.counts().await?,
    }))
}

/// A staff alert's template message to one staff member, and what became of it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "payment:amount_mismatch-EV-1/o_staff_1", "alert_id": "payment:amount_mismatch-EV-1",
    "kind": "payment", "openid": "o_staff_1", "template_id": "sbx-staff-alert",
    "data": {"thing1": "支付金额不符", "character_string2": "T20260301080000000001",
        "time3": "2026-03-01 16:00"},
    "state": "not_delivered", "attempts": [{"at": "2026-03-01T08:00:05Z",
        "outcome": "not_delivered", "errcode": 43004,
        "message": "does not follow the official account (43004)"}],
    "next_attempt_at": "2026-03-01T08:00:00Z", "msgid": null, "errcode": 43004,
    "error": "does not follow the official account (43004)",
    "created_at": "2026-03-01T08:00:00Z", "updated_at": "2026-03-01T08:00:05Z"}))]
pub struct AlertDeliveryView {
    /// `<alert id>/<openid>`.
    pub id: String,
    /// What raised it: `payment:<payment alert id>`, `hold:<order no>`,
    /// `reconciliation:<report id>` or `test:<id>`.
    pub alert_id: String,
    pub kind: StaffAlertKind,
    /// The staff member's openid in the official account.
    pub openid: String,
    pub template_id: String,
    /// The values sent, by template key.
    pub data: BTreeMap<String, String>,
    pub state: AlertDeliveryState,
    pub attempts: Vec<DeliveryAttempt>,
    /// When a queued one is tried (again).
    pub next_attempt_at: Timestamp,
    /// WeChat's id of the message, once sent.
    pub msgid: Option<u64>,
    /// WeChat's errcode of the last refusal (43004: does not follow the account).
    pub errcode: Option<i64>,
    /// Why it was not delivered, or why the last try failed.
    pub error: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<AlertDelivery> for AlertDeliveryView {
    fn from(delivery: AlertDelivery) -> Self {
        AlertDeliveryView {
            id: delivery.id,
            alert_id: delivery.alert_id,
            kind: delivery.kind,
            openid: delivery.openid,
            template_id: delivery.template_id,
            data: delivery.data,
            state: delivery.state,
            attempts: delivery.attempts,
            next_attempt_at: delivery.next_attempt_at,
            msgid: delivery.msgid,
            errcode: delivery.errcode,
            error: delivery.error,
            created_at: delivery.created_at,
            updated_at: delivery.updated_at,
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AlertDeliveryFilter {
    pub state: Option<AlertDeliveryState>,
    pub kind: Option<StaffAlertKind>,
    /// One alert's deliveries.
    pub alert_id: Option<String>,
}

/// The staff alerts sent through the official account, newest first: one row per alert and
/// staff member, with its state and WeChat's error.
#[utoipa::path(get, path = "/api/v1/admin/notify/alerts", tag = "admin-notify", operation_id = "admin_notify_alerts_list",
    params(PageRequest, AlertDeliveryFilter),
    responses(
        (status = 200, description = "One page of alert deliveries", body = Page<AlertDeliveryView>),
        (status = 400, description = "`VALIDATION_FAILED`: a bad filter or page, named in `details.fields`", body = ErrorBody,
            example = json!({"code": "VALIDATION_FAILED", "message": "state: unknown variant `lost`",
                "details": {"fields": {"state": "unknown variant `lost`"}}, "request_id": "01JX3Q7Z8M5K2V9T4R6W1Y0B3C"})),
    ),
    extensions(("x-permission" = json!(NotifyAlertList::CODE))))]
pub async fn list_alerts(
    _who: Require<NotifyAlertList>,
    state: web::Data<AppState>,
    page: Paging,
    filter: Query<AlertDeliveryFilter>,
) -> Result<Json<Page<AlertDeliveryView>>, ApiError> {
    let filter = filter.into_inner();
    let query = AlertDeliveryQuery {
        state: filter.state,
        kind: filter.kind,
        alert_id: filter.alert_id,
    };
    let found = state.alerts.deliveries(&query, *page).await?;
    Ok(Json(found.map(AlertDeliveryView::from)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AlertDeliveryList {
    pub items: Vec<AlertDeliveryView>,
}

/// Send a test alert to every staff member set to receive alerts (settings,
/// `official_account.alert_openids`), now, and answer what became of each message: `sent`,
/// `not_delivered` (does not follow the official account), `failed` (WeChat refused it, with
/// its errcode) or `queued` (WeChat was busy; the worker retries it).
#[utoipa::path(post, path = "/api/v1/admin/notify/alerts/test", tag = "admin-notify", operation_id = "admin_notify_alerts_test",
    responses(
        (status = 200, description = "One delivery per configured openid", body = AlertDeliveryList),
        (status = 409, description = "`CONFLICT`: alerts are off (no AppID), no template, or nobody to alert", body = ErrorBody,
            example = json!({"code": "CONFLICT", "message": "alerts are off: set the official account's AppID (settings, official_account.app_id)",
                "request_id": "01JX3Q7Z8M5K2V9T4R6W1Y0B3C"})),
    ),
    extensions(("x-permission" = json!(NotifyAlertTest::CODE))))]
pub async fn test_alert(
    who: Require<NotifyAlertTest>,
    state: web::Data<AppState>,
) -> Result<Json<AlertDeliveryList>, ApiError> {
    let by = who.username.clone();
    let work = async {
        let sent = state.alerts.send_test(&by).await?;
        let states: Vec<(&str, &str)> = sent
            .iter()
            .map(|d| (d.openid.as_str(), d.state.as_str()))
            .collect();
        let change = Change::new(
            "alert",
            sent.first().map_or("test", |d| d.alert_id.as_str()),
        )
        .after(&states);
        Ok::<_, NotifyError>(Audited::new(sent, change))
    };
    let sent = audited(&state, &who, "send test alert", "alert", None, work).await?;
    Ok(Json(AlertDeliveryList {
        items: sent.into_iter().map(Into::into).collect(),
    }))
}
