//! Staff user administration.

use std::collections::HashMap;

use serde_json::Value;
use topup_core::{Page, PageRequest};
use topup_store::{Filter, FindQuery, SortOrder};

use crate::audit::{Audited, Change};
use crate::ceiling::roles_within_reach;
use crate::error::{validate, validate_with_secrets};
use crate::listing::{equals, sort_by};
use crate::model::{Role, RoleId, StaffUser, StaffUserId};
use crate::password::{self, check_policy};
use crate::seed::SUPER_ADMIN;
use crate::service::{AuthService, Principal, duplicate_as, not_found};
use crate::views::{
    AssignRolesRequest, NewStaffUser, ResetPasswordRequest, RoleSummary, StaffUserView,
    UpdateStaffUser, UserQuery,
};
use crate::{AuthError, FieldErrors};

fn summary(role: &Role) -> RoleSummary {
    RoleSummary {
        id: role.id,
        code: role.code.clone(),
        name: role.name.clone(),
    }
}

fn view(user: &StaffUser, roles: &HashMap<RoleId, Role>) -> StaffUserView {
    StaffUserView {
        id: user.id,
        username: user.username.clone(),
        display_name: user.display_name.clone(),
        enabled: user.enabled,
        roles: user
            .role_ids
            .iter()
            .filter_map(|id| roles.get(id).map(summary))
            .collect(),
        must_change_password: user.must_change_password,
        last_login_at: user.last_login_at,
        last_login_ip: user.last_login_ip.clone(),
        created_at: user.created_at,
        updated_at: user.updated_at,
    }
}

impl AuthService {
    async fn all_roles(&self) -> Result<HashMap<RoleId, Role>, AuthError> {
        Ok(self
            .roles
            .find(&FindQuery::new(Filter::All))
            .await?
            .into_iter()
            .map(|r| (r.id, r))
            .collect())
    }

    pub(crate) async fn user_view(&self, user: &StaffUser) -> Result<StaffUserView, AuthError> {
        Ok(view(user, &self.all_roles().await?))
    }

    async fn fetch_user(&self, id: StaffUserId) -> Result<StaffUser, AuthError> {
        self.users
            .get(&id.to_string())
            .await?
            .ok_or_else(not_found("staff user"))
    }

    /// The user, when every role they hold is within the actor's reach: nobody edits, resets,
    /// disables or re-roles someone who holds more than they do.
    async fn fetch_managed_user(
        &self,
        actor: &Principal,
        id: StaffUserId,
    ) -> Result<StaffUser, AuthError> {
        let user = self.fetch_user(id).await?;
        roles_within_reach(actor, &user.role_ids, &self.all_roles().await?)?;
        Ok(user)
    }

    pub async fn list_users(
        &self,
        query: &UserQuery,
        page: PageRequest,
    ) -> Result<Page<StaffUserView>, AuthError> {
        let page = page
            .validated()
            .map_err(|e| AuthError::field("page", e.to_string()))?;
        let (field, order) = sort_by(
            query.sort.as_deref(),
            &[
                ("username", "username_key"),
                ("created_at", "created_at"),
                ("last_login_at", "last_login_at"),
            ],
            ("created_at", SortOrder::Desc),
        )?;
        let mut filter = Filter::All;
        if let Some(q) = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            filter =
                filter.and(Filter::contains("username", q).or(Filter::contains("display_name", q)));
        }
        filter = equals(filter, "enabled", query.enabled.map(Value::from));
        if let Some(role) = query.role_id {
            filter = filter.and(Filter::has("role_ids", role));
        }
        let found = self.users.page(filter, &[(field, order)], page).await?;
        let roles = self.all_roles().await?;
        Ok(found.map(|user| view(&user, &roles)))
    }

    pub async fn get_user(&self, id: StaffUserId) -> Result<StaffUserView, AuthError> {
        let user = self.fetch_user(id).await?;
        self.user_view(&user).await
    }

    /// Every id must name an existing role; answers them deduplicated in order.
    async fn existing_roles(&self, ids: &[RoleId]) -> Result<Vec<RoleId>, AuthError> {
        let roles = self.all_roles().await?;
        let mut errors = FieldErrors::new();
        let mut unique = Vec::new();
        for id in ids {
            if !roles.contains_key(id) {
                errors.add("role_ids", format!("unknown role {id}"));
            } else if !unique.contains(id) {
                unique.push(*id);
            }
        }
        errors.into_result()?;
        Ok(unique)
    }

    pub(crate) async fn super_admin_role(&self) -> Result<Role, AuthError> {
        self.roles
            .find_one(Filter::eq("code", SUPER_ADMIN))
            .await?
            .ok_or_else(not_found("super_admin role"))
    }

    async fn enabled_super_admins(&self, role: &Role) -> Result<u64, AuthError> {
        Ok(self
            .users
            .count(&Filter::eq("enabled", true).and(Filter::has("role_ids", role.id)))
            .await?)
    }

    pub async fn create_user(
        &self,
        actor: &Principal,
        input: NewStaffUser,
    ) -> Result<Audited<StaffUserView>, AuthError> {
        let mut errors = FieldErrors::new();
        if let Err(AuthError::Validation(fields)) =
            validate_with_secrets(&input, &[("password", &input.password)])
        {
            errors.merge(fields);
        }
        if input.password.expose().chars().count() <= 128
            && let Err(AuthError::Validation(policy)) =
                check_policy(&self.config, "password", input.password.expose())
        {
            errors.merge(policy);
        }
        errors.into_result()?;
        let role_ids = self.existing_roles(&input.role_ids).await?;
        roles_within_reach(actor, &role_ids, &self.all_roles().await?)?;
        let now = self.clock.now();
        let username = input.username.trim().to_owned();
        let user = StaffUser {
            id: StaffUserId::new(),
            username_key: username.to_lowercase(),
            username,
            display_name: input.display_name.trim().to_owned(),
            password_hash: password::hash(input.password.clone()).await?,
            enabled: input.enabled.unwrap_or(true),
            role_ids,
            must_change_password: input.must_change_password.unwrap_or(true),
            last_login_at: None,
            last_login_ip: None,
            password_changed_at: now,
            created_at: now,
            updated_at: now,
            version: 0,
        };
        self.users
            .insert(&user)
            .await
            .map_err(duplicate_as("that username is already taken"))?;
        Ok(Audited::new(
            self.user_view(&user).await?,
            Change::new("staff_user", user.id).after(&user),
        ))
    }

    pub async fn update_user(
        &self,
        actor: &Principal,
        id: StaffUserId,
        input: UpdateStaffUser,
    ) -> Result<Audited<StaffUserView>, AuthError> {
        validate(&input)?;
        let user = self.fetch_managed_user(actor, id).await?;
        let mut next = user.clone();
        next.display_name = input.display_name.trim().to_owned();
        next.updated_at = self.clock.now();
        let saved = self.users.replace(&next).await?;
        Ok(Audited::new(
            self.user_view(&saved).await?,
            Change::new("staff_user", id).before(&user).after(&saved),
        ))
    }

    /// Enables or disables an account. Disabling ends its sessions at once; nobody disables
    /// themselves or the last enabled super-admin.
    pub async fn set_user_enabled(
        &self,
        actor: &Principal,
        id: StaffUserId,
        enabled: bool,
    ) -> Result<Audited<StaffUserView>, AuthError> {
        let _serialised = self.guard.lock().await;
        let user = self.fetch_managed_user(actor, id).await?;
        if !enabled {
            if user.id == actor.user_id {
                return Err(AuthError::SelfModification(
                    "you cannot disable your own account",
                ));
            }
            let super_admin = self.super_admin_role().await?;
            if user.enabled
                && user.role_ids.contains(&super_admin.id)
                && self.enabled_super_admins(&super_admin).await? <= 1
            {
                return Err(AuthError::LastSuperAdmin(
                    "the last enabled super-admin cannot be disabled",
                ));
            }
        }
        let mut next = user.clone();
        next.enabled = enabled;
        next.updated_at = self.clock.now();
        let saved = self.users.replace(&next).await?;
        if !enabled {
            self.revoke_user_sessions(id, "account disabled").await?;
        }
        Ok(Audited::new(
            self.user_view(&saved).await?,
            Change::new("staff_user", id).before(&user).after(&saved),
        ))
    }

    /// Sets a temporary password the user must change at next login; ends their sessions.
    pub async fn reset_password(
        &self,
        actor: &Principal,
        id: StaffUserId,
        input: ResetPasswordRequest,
    ) -> Result<Audited<StaffUserView>, AuthError> {
        validate_with_secrets(&input, &[("password", &input.password)])?;
        check_policy(&self.config, "password", input.password.expose())?;
        let user = self.fetch_managed_user(actor, id).await?;
        let now = self.clock.now();
        let mut next = user.clone();
        next.password_hash = password::hash(input.password.clone()).await?;
        next.must_change_password = true;
        next.password_changed_at = now;
        next.updated_at = now;
        let saved = self.users.replace(&next).await?;
        self.revoke_user_sessions(id, "password reset").await?;
        self.clear_lockouts(&saved).await?;
        Ok(Audited::new(
            self.user_view(&saved).await?,
            Change::new("staff_user", id).before(&user).after(&saved),
        ))
    }

    /// Replaces a user's roles; the change applies to their very next request. Nobody changes
    /// their own roles, and both the roles taken away and those given must be within reach.
    pub async fn assign_roles(
        &self,
        actor: &Principal,
        id: StaffUserId,
        input: AssignRolesRequest,
    ) -> Result<Audited<StaffUserView>, AuthError> {
        validate(&input)?;
        let role_ids = self.existing_roles(&input.role_ids).await?;
        let _serialised = self.guard.lock().await;
        let user = self.fetch_managed_user(actor, id).await?;
        if user.id == actor.user_id {
            return Err(AuthError::SelfModification(
                "you cannot change your own roles",
            ));
        }
        roles_within_reach(actor, &role_ids, &self.all_roles().await?)?;
        let super_admin = self.super_admin_role().await?;
        if user.enabled
            && user.role_ids.contains(&super_admin.id)
            && !role_ids.contains(&super_admin.id)
            && self.enabled_super_admins(&super_admin).await? <= 1
        {
            return Err(AuthError::LastSuperAdmin(
                "the last enabled super-admin cannot lose that role",
            ));
        }
        let mut next = user.clone();
        next.role_ids = role_ids;
        next.updated_at = self.clock.now();
        let saved = self.users.replace(&next).await?;
        Ok(Audited::new(
            self.user_view(&saved).await?,
            Change::new("staff_user", id).before(&user).after(&saved),
        ))
    }

    /// Lifts every sign-in lock on the user's name, from any address.
    pub async fn unlock_user(
        &self,
        actor: &Principal,
        id: StaffUserId,
    ) -> Result<Audited<StaffUserView>, AuthError> {
        let user = self.fetch_managed_user(actor, id).await?;
        let cleared = self.clear_lockouts(&user).await?;
        Ok(Audited::new(
            self.user_view(&user).await?,
            Change::new("staff_user", id).after(&serde_json::json!({ "locks_cleared": cleared })),
        ))
    }

    async fn clear_lockouts(&self, user: &StaffUser) -> Result<u64, AuthError> {
        Ok(self
            .lockouts
            .delete_many(&Filter::eq("username_key", user.username_key.as_str()))
            .await?)
    }
}
