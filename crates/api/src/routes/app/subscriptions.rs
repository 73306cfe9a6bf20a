//! The subscribe-message prompt: which templates to ask about, and the user's answer.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use topup_notify::NoticeEvent;
use utoipa::ToSchema;

use crate::extract::Json;
use crate::security::AppUser;
use crate::{ApiError, AppState, ErrorBody};

/// A template the app may ask the user to accept, and the event it tells about.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscribableTemplate {
    pub event: NoticeEvent,
    pub template_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubscribableList {
    pub items: Vec<SubscribableTemplate>,
}

/// The templates to pass to `wx.requestSubscribeMessage` (at most three per prompt).
#[utoipa::path(get, path = "/api/v1/app/subscriptions/templates", tag = "app-subscriptions", operation_id = "app_subscriptions_templates",
    responses((status = 200, description = "Enabled templates, in event order", body = SubscribableList,
        example = json!({"items": [{"event": "payment_succeeded", "template_id": "sbx-payment-succeeded"}]}))),
    extensions(("x-app-user" = json!(true))))]
pub async fn templates(
    _who: AppUser,
    state: web::Data<AppState>,
) -> Result<Json<SubscribableList>, ApiError> {
    let items = state
        .notify
        .subscribable()
        .await?
        .into_iter()
        .map(|(event, template_id)| SubscribableTemplate { event, template_id })
        .collect();
    Ok(Json(SubscribableList { items }))
}

/// What the user chose in the prompt.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"accepted": ["sbx-payment-succeeded", "sbx-recharge-succeeded"], "rejected": ["sbx-recharge-failed"]}))]
pub struct SubscriptionChoice {
    /// Template ids answered `accept`: each allows one message.
    #[serde(default)]
    pub accepted: Vec<String>,
    /// Template ids answered `reject` (or `ban`, `filter`).
    #[serde(default)]
    pub rejected: Vec<String>,
}

/// Report the user's answer to `wx.requestSubscribeMessage`.
#[utoipa::path(post, path = "/api/v1/app/subscriptions", tag = "app-subscriptions", operation_id = "app_subscriptions_record",
    request_body = SubscriptionChoice,
    responses(
        (status = 204, description = "Recorded"),
        (status = 400, description = "`VALIDATION_FAILED`: more than three templates, or one this mini-program does not have (`accepted[1]`)", body = ErrorBody),
    ),
    extensions(("x-app-user" = json!(true))))]
pub async fn record(
    who: AppUser,
    state: web::Data<AppState>,
    body: Json<SubscriptionChoice>,
) -> Result<HttpResponse, ApiError> {
    state
        .notify
        .record_choice(&who.user_id.to_string(), &body.accepted, &body.rejected)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
