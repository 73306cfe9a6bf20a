//! Staff views of mini-program users: search, details, disable and enable.

use std::collections::HashSet;

use serde_json::Value;
use topup_core::{Page, PageRequest};
use topup_store::{Filter, SortOrder, Update};

use super::AppUserService;
use super::model::{AppUser, AppUserId, AppUserStatus, BlacklistKind};
use super::profile::{number_view, parse_number};
use super::views::{AppUserAdminView, AppUserQuery};
use crate::AuthError;
use crate::audit::{Audited, Change};
use crate::listing::{sort_by, time_range};
use crate::service::Principal;

fn admin_view(
    user: &AppUser,
    blacklisted_openids: &HashSet<String>,
    blocked_numbers: &HashSet<String>,
) -> AppUserAdminView {
    AppUserAdminView {
        id: user.id,
        openid: user.openid.clone(),
        unionid: user.unionid.clone(),
        nickname: user.nickname.clone(),
        avatar_url: user.avatar_url.clone(),
        language: user.language,
        status: user.status,
        blacklisted: blacklisted_openids.contains(&user.openid),
        saved_numbers: user
            .saved_numbers
            .iter()
            .map(|n| number_view(n, blocked_numbers).into())
            .collect(),
        created_at: user.created_at,
        last_seen_at: user.last_seen_at,
        last_login_at: user.last_login_at,
        last_login_ip: user.last_login_ip.clone(),
        disabled_at: user.disabled_at,
    }
}

fn status_value(status: AppUserStatus) -> Value {
    serde_json::to_value(status).unwrap_or(Value::Null)
}

impl AppUserService {
    /// Admin views of these users, with their blacklist flags read in two queries.
    async fn admin_views(&self, users: &[AppUser]) -> Result<Vec<AppUserAdminView>, AuthError> {
        let openids: Vec<&str> = users.iter().map(|u| u.openid.as_str()).collect();
        let numbers: Vec<&str> = users
            .iter()
            .flat_map(|u| u.saved_e164.iter().map(String::as_str))
            .collect();
        let openids = self.blocked_values(BlacklistKind::Openid, &openids).await?;
        let numbers = self.blocked_values(BlacklistKind::Phone, &numbers).await?;
        Ok(users
            .iter()
            .map(|u| admin_view(u, &openids, &numbers))
            .collect())
    }

    pub async fn list_app_users(
        &self,
        query: &AppUserQuery,
        page: PageRequest,
    ) -> Result<Page<AppUserAdminView>, AuthError> {
        let page = page
            .validated()
            .map_err(|e| AuthError::field("page", e.to_string()))?;
        let (field, order) = sort_by(
            query.sort.as_deref(),
            &[
                ("created_at", "created_at"),
                ("last_seen_at", "last_seen_at"),
                ("nickname", "nickname"),
            ],
            ("created_at", SortOrder::Desc),
        )?;
        let mut filter = Filter::All;
        if let Some(q) = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            filter = filter.and(Filter::contains("openid", q).or(Filter::contains("nickname", q)));
        }
        if let Some(number) = query
            .number
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            filter = filter.and(match parse_number(number, None) {
                Ok(number) => Filter::has("saved_e164", number.e164()),
                Err(_) => {
                    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
                    if digits.is_empty() {
                        return Err(AuthError::field("number", "must contain digits"));
                    }
                    Filter::contains("saved_e164", digits)
                }
            });
        }
        if let Some(status) = query.status {
            filter = filter.and(Filter::eq("status", status_value(status)));
        }
        filter = time_range(filter, "created_at", query.created_from, query.created_to);
        let found = self.users.page(filter, &[(field, order)], page).await?;
        let items = self.admin_views(&found.items).await?;
        Ok(found.with_items(items))
    }

    pub async fn get_app_user(&self, id: AppUserId) -> Result<AppUserAdminView, AuthError> {
        let user = self.fetch(id).await?;
        let mut views = self.admin_views(std::slice::from_ref(&user)).await?;
        views.pop().ok_or(AuthError::NotFound("app user"))
    }

    /// Disables or enables a user. Disabling refuses their very next request (403
    /// `USER_BLOCKED`), whatever tokens they hold.
    pub async fn set_app_user_status(
        &self,
        _actor: &Principal,
        id: AppUserId,
        status: AppUserStatus,
    ) -> Result<Audited<AppUserAdminView>, AuthError> {
        let before = self.get_app_user(id).await?;
        if before.status == status {
            return Ok(Audited::new(
                before.clone(),
                Change::new("app_user", id).before(&before).after(&before),
            ));
        }
        let now = self.clock.now();
        let disabled_at = match status {
            AppUserStatus::Disabled => Value::from(now),
            AppUserStatus::Active => Value::Null,
        };
        self.users
            .update(
                &id.to_string(),
                Filter::All,
                &[
                    Update::set("status", status_value(status)),
                    Update::set("disabled_at", disabled_at),
                    Update::set("updated_at", now),
                    // Tokens from before a disable stay dead after enabling again.
                    Update::inc("token_version", 1),
                ],
            )
            .await?
            .ok_or(AuthError::NotFound("app user"))?;
        let after = self.get_app_user(id).await?;
        tracing::info!(user = %id, status = ?status, "app user status changed");
        Ok(Audited::new(
            after.clone(),
            Change::new("app_user", id).before(&before).after(&after),
        ))
    }
}
