//! The blacklist: phone numbers (checked by orders), openids (refused on every app route) and
//! client addresses (refused at app login), each with a reason and an optional expiry.

use std::collections::HashSet;
use std::net::IpAddr;

use serde_json::Value;
use topup_core::{Msisdn, Page, PageRequest, Timestamp};
use topup_store::{Filter, SortOrder};

use super::AppUserService;
use super::model::{BlacklistEntry, BlacklistEntryId, BlacklistKind};
use super::profile::parse_number;
use super::views::{BlacklistEntryView, BlacklistQuery, NewBlacklistEntry};
use crate::StaffUserId;
use crate::audit::{Audited, Change};
use crate::error::validate;
use crate::listing::contains;
use crate::service::Principal;
use crate::{AuthError, FieldErrors};

/// Who the staff pages name as the author of an entry the product added by its own rule.
pub const AUTOMATIC: &str = "system";

/// Entries that block at `now`: no expiry, or one still ahead.
fn active_at(now: Timestamp) -> Filter {
    Filter::missing("expires_at").or(Filter::gt("expires_at", now))
}

fn openid_is_plain(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 128
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The canonical form a value is stored and looked up in.
pub(crate) fn normalize(
    kind: BlacklistKind,
    value: &str,
    country: Option<&str>,
) -> Result<String, AuthError> {
    let value = value.trim();
    match kind {
        BlacklistKind::Phone => Ok(parse_number(value, country)?.e164().to_owned()),
        BlacklistKind::Openid if openid_is_plain(value) => Ok(value.to_owned()),
        BlacklistKind::Openid => Err(AuthError::field(
            "value",
            "an openid is letters, digits, '_' and '-' only",
        )),
        BlacklistKind::Ip => value
            .parse::<IpAddr>()
            .map(|ip| ip.to_canonical().to_string())
            .map_err(|_| AuthError::field("value", "must be an IPv4 or IPv6 address")),
    }
}

fn view(entry: &BlacklistEntry, now: Timestamp) -> BlacklistEntryView {
    BlacklistEntryView {
        id: entry.id,
        kind: entry.kind,
        value: entry.value.clone(),
        reason: entry.reason.clone(),
        expires_at: entry.expires_at,
        active: entry.expires_at.is_none_or(|at| at > now),
        created_by: entry.created_by,
        created_by_username: entry.created_by_username.clone(),
        created_at: entry.created_at,
    }
}

fn kind_value(kind: BlacklistKind) -> Value {
    Value::from(kind.as_str())
}

impl AppUserService {
    /// Whether `value` (normalised for its kind: a phone number in any parseable form, an
    /// openid, an address) is blacklisted right now. Orders call it for the number to top up.
    /// A value that cannot be normalised is not on the list.
    pub async fn is_blocked(&self, kind: BlacklistKind, value: &str) -> Result<bool, AuthError> {
        let Ok(value) = normalize(kind, value, None) else {
            return Ok(false);
        };
        let filter = Filter::eq("kind", kind_value(kind))
            .and(Filter::eq("value", value))
            .and(active_at(self.clock.now()));
        Ok(self.blacklist.find_one(filter).await?.is_some())
    }

    /// Which of a checkout's number, user and address are blacklisted right now, in one
    /// store query. The number is already parsed (its E.164 form is the stored one); the
    /// openid and address are normalised as in [`Self::is_blocked`].
    pub async fn checkout_blocks(
        &self,
        number: &Msisdn,
        openid: &str,
        ip: Option<&str>,
    ) -> Result<HashSet<BlacklistKind>, AuthError> {
        let mut pairs = vec![(BlacklistKind::Phone, number.e164().to_owned())];
        let others = [
            (BlacklistKind::Openid, Some(openid)),
            (BlacklistKind::Ip, ip),
        ];
        for (kind, value) in others {
            if let Some(value) = value.and_then(|v| normalize(kind, v, None).ok()) {
                pairs.push((kind, value));
            }
        }
        let lookups = pairs.len() as u64;
        let any_pair = pairs
            .into_iter()
            .map(|(kind, value)| {
                Filter::eq("kind", kind_value(kind)).and(Filter::eq("value", value))
            })
            .collect();
        let filter = Filter::Or(any_pair).and(active_at(self.clock.now()));
        Ok(self
            .blacklist
            .find(&topup_store::FindQuery::new(filter).lookup(lookups))
            .await?
            .into_iter()
            .map(|entry| entry.kind)
            .collect())
    }

    /// Which of these (already normalised) values are blacklisted right now.
    pub(crate) async fn blocked_values(
        &self,
        kind: BlacklistKind,
        values: &[&str],
    ) -> Result<HashSet<String>, AuthError> {
        if values.is_empty() {
            return Ok(HashSet::new());
        }
        let filter = Filter::eq("kind", kind_value(kind))
            .and(Filter::is_in("value", values.iter().copied()))
            .and(active_at(self.clock.now()));
        Ok(self
            .blacklist
            .find(&topup_store::FindQuery::new(filter))
            .await?
            .into_iter()
            .map(|e| e.value)
            .collect())
    }

    pub async fn list_blacklist(
        &self,
        query: &BlacklistQuery,
        page: PageRequest,
    ) -> Result<Page<BlacklistEntryView>, AuthError> {
        let page = page
            .validated()
            .map_err(|e| AuthError::field("page", e.to_string()))?;
        let now = self.clock.now();
        let mut filter = Filter::All;
        if let Some(kind) = query.kind {
            filter = filter.and(Filter::eq("kind", kind_value(kind)));
        }
        filter = contains(filter, "value", query.value.as_deref());
        match query.active {
            Some(true) => filter = filter.and(active_at(now)),
            Some(false) => filter = filter.and(Filter::lte("expires_at", now)),
            None => {}
        }
        let found = self
            .blacklist
            .page(filter, &[("created_at", SortOrder::Desc)], page)
            .await?;
        Ok(found.map(|entry| view(&entry, now)))
    }

    /// Adds an entry. An expired entry for the same value is replaced; a live one is a
    /// conflict (delete it first to change it).
    pub async fn add_blacklist(
        &self,
        actor: &Principal,
        input: NewBlacklistEntry,
    ) -> Result<Audited<BlacklistEntryView>, AuthError> {
        validate(&input)?;
        let now = self.clock.now();
        let mut errors = FieldErrors::new();
        if input.expires_at.is_some_and(|at| at <= now) {
            errors.add("expires_at", "must be in the future");
        }
        let value = match normalize(input.kind, &input.value, input.country.as_deref()) {
            Ok(value) => Some(value),
            Err(AuthError::Validation(fields)) => {
                errors.merge(fields);
                None
            }
            Err(other) => return Err(other),
        };
        errors.into_result()?;
        let Some(value) = value else {
            return Err(AuthError::field("value", "is invalid"));
        };
        let existing = self
            .blacklist
            .find_one(
                Filter::eq("kind", kind_value(input.kind)).and(Filter::eq("value", value.as_str())),
            )
            .await?;
        let mut change = Change::default();
        if let Some(old) = existing {
            if old.expires_at.is_none_or(|at| at > now) {
                return Err(AuthError::Conflict(format!(
                    "{} {} is already blacklisted",
                    input.kind.as_str(),
                    old.value
                )));
            }
            self.blacklist.delete(&old.id.to_string()).await?;
            change = change.before(&view(&old, now));
        }
        let entry = BlacklistEntry {
            id: BlacklistEntryId::new(),
            kind: input.kind,
            value,
            reason: input.reason.trim().to_owned(),
            expires_at: input.expires_at,
            created_by: actor.user_id,
            created_by_username: actor.username.clone(),
            created_at: now,
            version: 0,
        };
        self.blacklist.insert(&entry).await.map_err(|e| {
            if e.is_duplicate() {
                AuthError::Conflict(format!("{} is already blacklisted", input.kind.as_str()))
            } else {
                e.into()
            }
        })?;
        let shown = view(&entry, now);
        let change = Change {
            target_type: "blacklist_entry",
            target_id: Some(entry.id.to_string()),
            ..change
        }
        .after(&shown);
        tracing::info!(kind = entry.kind.as_str(), entry = %entry.id, "blacklist entry added");
        Ok(Audited::new(shown, change))
    }

    /// Blacklists `value` by the product's own rule (`reason`) until `expires_at`, unless a
    /// live entry already blocks it. Answers whether it added one; safe to repeat, and two
    /// processes deciding at once add one entry between them (the store's unique key).
    pub async fn block_automatically(
        &self,
        kind: BlacklistKind,
        value: &str,
        reason: &str,
        expires_at: Timestamp,
    ) -> Result<bool, AuthError> {
        let value = normalize(kind, value, None)?;
        let now = self.clock.now();
        let same = Filter::eq("kind", kind_value(kind)).and(Filter::eq("value", value.as_str()));
        if let Some(old) = self.blacklist.find_one(same).await? {
            if old.expires_at.is_none_or(|at| at > now) {
                return Ok(false);
            }
            self.blacklist.delete(&old.id.to_string()).await?;
        }
        let entry = BlacklistEntry {
            id: BlacklistEntryId::new(),
            kind,
            value,
            reason: reason.to_owned(),
            expires_at: Some(expires_at),
            created_by: StaffUserId::nil(),
            created_by_username: AUTOMATIC.to_owned(),
            created_at: now,
            version: 0,
        };
        match self.blacklist.insert(&entry).await {
            Ok(()) => {
                tracing::warn!(kind = kind.as_str(), entry = %entry.id, %reason, until = %expires_at, "blacklisted automatically");
                Ok(true)
            }
            Err(e) if e.is_duplicate() => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn remove_blacklist(
        &self,
        _actor: &Principal,
        id: BlacklistEntryId,
    ) -> Result<Audited<()>, AuthError> {
        let entry = self
            .blacklist
            .get(&id.to_string())
            .await?
            .ok_or(AuthError::NotFound("blacklist entry"))?;
        self.blacklist.delete(&id.to_string()).await?;
        Ok(Audited::new(
            (),
            Change::new("blacklist_entry", id).before(&view(&entry, self.clock.now())),
        ))
    }
}
