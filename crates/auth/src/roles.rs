//! Role administration.

use serde_json::Value;
use topup_core::{Page, PageRequest};
use topup_store::{Filter, SortOrder};

use crate::audit::{Audited, Change};
use crate::ceiling::{codes_within_reach, role_within_reach};
use crate::error::validate;
use crate::listing::{equals, sort_by};
use crate::model::{Role, RoleId};
use crate::service::{AuthService, Principal, duplicate_as, not_found};
use crate::views::{AssignPermissionsRequest, NewRole, RoleQuery, RoleView, UpdateRole};
use crate::{AuthError, FieldErrors};

fn view(role: &Role) -> RoleView {
    RoleView {
        id: role.id,
        code: role.code.clone(),
        name: role.name.clone(),
        description: role.description.clone(),
        enabled: role.enabled,
        builtin: role.builtin,
        permissions: role.permissions.clone(),
        created_at: role.created_at,
        updated_at: role.updated_at,
    }
}

impl AuthService {
    async fn fetch_role(&self, id: RoleId) -> Result<Role, AuthError> {
        self.roles
            .get(&id.to_string())
            .await?
            .ok_or_else(not_found("role"))
    }

    /// The role, when the actor holds everything it carries.
    async fn fetch_managed_role(&self, actor: &Principal, id: RoleId) -> Result<Role, AuthError> {
        let role = self.fetch_role(id).await?;
        role_within_reach(actor, &role)?;
        Ok(role)
    }

    /// Sorted, deduplicated codes, each one known to the tree.
    async fn checked_permissions(&self, codes: &[String]) -> Result<Vec<String>, AuthError> {
        let known = self.known_permissions().await?;
        let mut errors = FieldErrors::new();
        let mut out: Vec<String> = Vec::new();
        for code in codes {
            if known.contains(code) {
                out.push(code.clone());
            } else {
                let shown: String = code.chars().take(96).collect();
                errors.add("permissions", format!("unknown permission {shown:?}"));
            }
        }
        errors.into_result()?;
        out.sort();
        out.dedup();
        Ok(out)
    }

    pub async fn list_roles(
        &self,
        query: &RoleQuery,
        page: PageRequest,
    ) -> Result<Page<RoleView>, AuthError> {
        let page = page
            .validated()
            .map_err(|e| AuthError::field("page", e.to_string()))?;
        let (field, order) = sort_by(
            query.sort.as_deref(),
            &[
                ("code", "code"),
                ("name", "name"),
                ("created_at", "created_at"),
            ],
            ("code", SortOrder::Asc),
        )?;
        let mut filter = Filter::All;
        if let Some(q) = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            filter = filter.and(Filter::contains("code", q).or(Filter::contains("name", q)));
        }
        filter = equals(filter, "enabled", query.enabled.map(Value::from));
        Ok(self
            .roles
            .page(filter, &[(field, order)], page)
            .await?
            .map(|role| view(&role)))
    }

    pub async fn get_role(&self, id: RoleId) -> Result<RoleView, AuthError> {
        Ok(view(&self.fetch_role(id).await?))
    }

    pub async fn create_role(
        &self,
        actor: &Principal,
        input: NewRole,
    ) -> Result<Audited<RoleView>, AuthError> {
        validate(&input)?;
        let permissions = self.checked_permissions(&input.permissions).await?;
        codes_within_reach(actor, &permissions)?;
        let now = self.clock.now();
        let role = Role {
            id: RoleId::new(),
            code: input.code,
            name: input.name.trim().to_owned(),
            description: input.description.trim().to_owned(),
            enabled: input.enabled.unwrap_or(true),
            builtin: false,
            permissions,
            created_at: now,
            updated_at: now,
            version: 0,
        };
        self.roles
            .insert(&role)
            .await
            .map_err(duplicate_as("a role with that code already exists"))?;
        Ok(Audited::new(
            view(&role),
            Change::new("staff_role", role.id).after(&role),
        ))
    }

    /// Name, description and enabled. The built-in role cannot be disabled.
    pub async fn update_role(
        &self,
        actor: &Principal,
        id: RoleId,
        input: UpdateRole,
    ) -> Result<Audited<RoleView>, AuthError> {
        validate(&input)?;
        let role = self.fetch_managed_role(actor, id).await?;
        if role.builtin && !input.enabled {
            return Err(AuthError::BuiltinProtected(format!(
                "the built-in role {} cannot be disabled",
                role.code
            )));
        }
        let mut next = role.clone();
        next.name = input.name.trim().to_owned();
        next.description = input.description.trim().to_owned();
        next.enabled = input.enabled;
        next.updated_at = self.clock.now();
        let saved = self.roles.replace(&next).await?;
        Ok(Audited::new(
            view(&saved),
            Change::new("staff_role", id).before(&role).after(&saved),
        ))
    }

    /// Refused for built-in roles and for roles still assigned to someone.
    pub async fn delete_role(
        &self,
        actor: &Principal,
        id: RoleId,
    ) -> Result<Audited<()>, AuthError> {
        let role = self.fetch_managed_role(actor, id).await?;
        if role.builtin {
            return Err(AuthError::BuiltinProtected(format!(
                "the built-in role {} cannot be deleted",
                role.code
            )));
        }
        let users = self.users.count(&Filter::has("role_ids", id)).await?;
        if users > 0 {
            return Err(AuthError::RoleInUse {
                code: role.code,
                users,
            });
        }
        self.roles.delete(&id.to_string()).await?;
        Ok(Audited::new(
            (),
            Change::new("staff_role", id).before(&role),
        ))
    }

    /// Replaces a role's permissions; holders feel it on their next request. Nobody changes a
    /// role they hold, and the permissions before and after must be within the actor's reach.
    pub async fn set_role_permissions(
        &self,
        actor: &Principal,
        id: RoleId,
        input: AssignPermissionsRequest,
    ) -> Result<Audited<RoleView>, AuthError> {
        validate(&input)?;
        let role = self.fetch_managed_role(actor, id).await?;
        if role.builtin {
            return Err(AuthError::BuiltinProtected(format!(
                "the built-in role {} always holds every permission",
                role.code
            )));
        }
        let holds_it = self
            .users
            .get(&actor.user_id.to_string())
            .await?
            .is_some_and(|me| me.role_ids.contains(&id));
        if holds_it {
            return Err(AuthError::SelfModification(
                "you cannot change the permissions of a role you hold",
            ));
        }
        let permissions = self.checked_permissions(&input.permissions).await?;
        codes_within_reach(actor, &permissions)?;
        let mut next = role.clone();
        next.permissions = permissions;
        next.updated_at = self.clock.now();
        let saved = self.roles.replace(&next).await?;
        Ok(Audited::new(
            view(&saved),
            Change::new("staff_role", id).before(&role).after(&saved),
        ))
    }
}
