//! Online staff: live sessions and forced logout.

use topup_core::{Page, PageRequest};
use topup_store::{Filter, SortOrder};

use crate::AuthError;
use crate::audit::{Audited, Change};
use crate::listing::contains;
use crate::model::{Session, SessionId};
use crate::service::{AuthService, Principal, not_found, session_live};
use crate::views::{SessionQuery, SessionView};

fn view(session: &Session, current: Option<SessionId>) -> SessionView {
    SessionView {
        id: session.id,
        user_id: session.user_id,
        username: session.username.clone(),
        ip: session.ip.clone(),
        user_agent: session.user_agent.clone(),
        created_at: session.created_at,
        last_seen_at: session.last_seen_at,
        expires_at: session.expires_at,
        current: Some(session.id) == current,
    }
}

impl AuthService {
    /// Live sessions, most recently active first.
    pub async fn list_sessions(
        &self,
        actor: &Principal,
        query: &SessionQuery,
        page: PageRequest,
    ) -> Result<Page<SessionView>, AuthError> {
        let page = page
            .validated()
            .map_err(|e| AuthError::field("page", e.to_string()))?;
        let mut filter =
            Filter::missing("revoked_at").and(Filter::gt("expires_at", self.clock.now()));
        filter = contains(filter, "username", query.username.as_deref());
        if let Some(user) = query.user_id {
            filter = filter.and(Filter::eq("user_id", user));
        }
        Ok(self
            .sessions
            .page(filter, &[("last_seen_at", SortOrder::Desc)], page)
            .await?
            .map(|s| view(&s, actor.session_id)))
    }

    /// Ends someone's session now: their next request gets 401.
    pub async fn force_logout(
        &self,
        actor: &Principal,
        id: SessionId,
    ) -> Result<Audited<SessionView>, AuthError> {
        let now = self.clock.now();
        let live = self
            .sessions
            .get(&id.to_string())
            .await?
            .filter(|s| session_live(s, now))
            .ok_or_else(not_found("session"))?;
        let reason = format!("ended by {}", actor.username);
        let (_, after) = self.revoke_session(id, &reason).await?;
        let after = after.ok_or_else(not_found("session"))?;
        Ok(Audited::new(
            view(&after, actor.session_id),
            Change::new("staff_session", id).before(&live).after(&after),
        ))
    }
}
