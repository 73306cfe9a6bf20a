//! The grant ceiling (`docs/security.md#grant-ceiling`): staff can hand out only what they
//! hold. A role is within an actor's reach when the actor holds every permission it carries;
//! the built-in super-admin role is within a super admin's reach only. A staff user is within
//! reach when all of their roles are. Disabled roles count too: enabling one later must not
//! widen what someone already managed.

use std::collections::HashMap;

use crate::AuthError;
use crate::model::{Role, RoleId};
use crate::seed::SUPER_ADMIN;
use crate::service::Principal;

/// Refuses when `role` carries anything `actor` does not hold.
pub(crate) fn role_within_reach(actor: &Principal, role: &Role) -> Result<(), AuthError> {
    if actor.super_admin {
        return Ok(());
    }
    if role.code == SUPER_ADMIN {
        return Err(AuthError::BeyondGrant(format!(
            "only a super admin can grant or manage the {SUPER_ADMIN} role and its holders"
        )));
    }
    permissions_within_reach(actor, &role.permissions)
        .map_err(|missing| beyond(format!("role {} carries {missing}", role.code)))
}

/// Refuses when any of `codes` is a permission `actor` does not hold.
pub(crate) fn codes_within_reach(actor: &Principal, codes: &[String]) -> Result<(), AuthError> {
    if actor.super_admin {
        return Ok(());
    }
    permissions_within_reach(actor, codes).map_err(|missing| beyond(missing.to_owned()))
}

/// Refuses when any of `role_ids` (known roles only) is beyond `actor`'s reach.
pub(crate) fn roles_within_reach(
    actor: &Principal,
    role_ids: &[RoleId],
    roles: &HashMap<RoleId, Role>,
) -> Result<(), AuthError> {
    role_ids
        .iter()
        .filter_map(|id| roles.get(id))
        .try_for_each(|role| role_within_reach(actor, role))
}

fn permissions_within_reach<'a>(actor: &Principal, codes: &'a [String]) -> Result<(), &'a str> {
    match codes.iter().find(|code| !actor.permissions.contains(*code)) {
        Some(missing) => Err(missing),
        None => Ok(()),
    }
}

fn beyond(what: String) -> AuthError {
    AuthError::BeyondGrant(format!("{what}, which you do not hold"))
}
