//! The settings staff change while serving, by group (`docs/settings.md`). Secrets are
//! write-only: answered as `{"set": true}`, and the operation log holds the same.

use std::collections::BTreeMap;

use actix_web::web;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use topup_auth::perm::{SystemSettingUpdate, SystemSettingView};
use topup_auth::{Audited, Change, Permission};
use topup_settings::{GroupView, SettingsError};
use utoipa::ToSchema;

use crate::extract::Json;
use crate::routes::admin::audited;
use crate::security::{Actor, Require};
use crate::{ApiError, AppState, ErrorBody};

/// Every group with its keys: the value in force, the configuration's, who fixed it.
#[utoipa::path(get, path = "/api/v1/admin/settings", tag = "admin-settings", operation_id = "admin_settings_list",
    responses((status = 200, description = "Groups of settings", body = Vec<GroupView>)),
    extensions(("x-permission" = json!(SystemSettingView::CODE))))]
pub async fn list(
    _who: Require<SystemSettingView>,
    state: web::Data<AppState>,
) -> Result<Json<Vec<GroupView>>, ApiError> {
    Ok(Json(state.settings.view().await?))
}

/// Some keys of one group.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsBody {
    /// The group's version this edit started from (`0` before its first save).
    pub version: i64,
    /// Key → new value; `null` returns the key to the configuration's value. Keys left out
    /// keep theirs. A secret is sent as its text and never answered.
    #[schema(schema_with = topup_settings::sent_values)]
    pub values: BTreeMap<String, Value>,
}

/// Change some keys of a group. They apply at once here and within seconds on every other
/// process; keys the configuration file or environment set are refused.
#[utoipa::path(put, path = "/api/v1/admin/settings/{group}", tag = "admin-settings", operation_id = "admin_settings_update",
    params(("group" = String, Path, description = "`orders`, `mini_program`, `payment`, `providers`, `blacklist` or `site`")),
    request_body = SettingsBody,
    responses(
        (status = 200, description = "The group as saved", body = GroupView),
        (status = 400, description = "`VALIDATION_FAILED` naming every bad key at once (`values.pay_timeout_minutes`): a bad value, an unknown key, a key the configuration fixes, or settings their reader cannot put in force (a WeChat Pay key that does not parse)", body = ErrorBody),
        (status = 404, description = "No such group", body = ErrorBody),
        (status = 409, description = "`CONFLICT`: someone saved the group since `version`", body = ErrorBody),
    ),
    extensions(("x-permission" = json!(SystemSettingUpdate::CODE))))]
pub async fn update(
    who: Require<SystemSettingUpdate>,
    state: web::Data<AppState>,
    group: web::Path<String>,
    body: Json<SettingsBody>,
) -> Result<Json<GroupView>, ApiError> {
    let by = who.principal().username.clone();
    let work = async {
        let body = body.into_inner();
        let (before, after) = state
            .settings
            .update(&group, body.version, body.values, &by)
            .await?;
        // The views hold no secret values, only whether each is set.
        let change = Change::new("settings", group.as_str())
            .before(&before)
            .after(&after);
        Ok::<_, SettingsError>(Audited::new(after, change))
    };
    let target = Some(group.to_string());
    let saved = audited(&state, &who, "update settings", "settings", target, work).await?;
    Ok(Json(saved))
}
