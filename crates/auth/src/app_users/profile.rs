//! What a mini-program user manages themselves: profile and saved numbers.

use std::collections::HashSet;

use topup_core::{CountryCode, Msisdn};
use topup_store::{Filter, Update};

use super::model::{AppUser, BlacklistKind, SavedNumber, SavedNumberId};
use super::views::{AppUserView, NewSavedNumber, SavedNumberView, UpdateAppProfile};
use super::{AppPrincipal, AppUserService, MAX_SAVED_NUMBERS};
use crate::AuthError;
use crate::error::validate;

pub(crate) fn view(user: &AppUser) -> AppUserView {
    AppUserView {
        id: user.id,
        nickname: user.nickname.clone(),
        avatar_url: user.avatar_url.clone(),
        language: user.language,
        created_at: user.created_at,
    }
}

pub(crate) fn number_view(number: &SavedNumber, blocked: &HashSet<String>) -> SavedNumberView {
    SavedNumberView {
        id: number.id,
        label: number.label.clone(),
        number: number.number.clone(),
        country: number.country,
        created_at: number.created_at,
        blocked: blocked.contains(number.number.e164()),
    }
}

/// Parses a number typed by a person: `+E.164`, or national with an ISO country.
pub(crate) fn parse_number(number: &str, country: Option<&str>) -> Result<Msisdn, AuthError> {
    let country = country
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(CountryCode::parse)
        .transpose()?;
    Ok(Msisdn::parse(number, country)?)
}

impl AppUserService {
    pub async fn me(&self, who: &AppPrincipal) -> Result<AppUserView, AuthError> {
        Ok(view(&self.fetch(who.user_id).await?))
    }

    /// Changes the given fields only; an empty nickname or avatar URL clears it.
    pub async fn update_me(
        &self,
        who: &AppPrincipal,
        input: UpdateAppProfile,
    ) -> Result<AppUserView, AuthError> {
        validate(&input)?;
        let mut updates = Vec::new();
        if let Some(nickname) = &input.nickname {
            updates.push(Update::set("nickname", nickname.trim()));
        }
        if let Some(url) = &input.avatar_url {
            let url = Some(url.trim()).filter(|u| !u.is_empty());
            updates.push(Update::set("avatar_url", url));
        }
        if let Some(language) = input.language {
            updates.push(Update::set(
                "language",
                serde_json::to_value(language).map_err(|e| AuthError::Internal(e.to_string()))?,
            ));
        }
        if updates.is_empty() {
            return self.me(who).await;
        }
        updates.push(Update::set("updated_at", self.clock.now()));
        let user = self
            .users
            .update(&who.user_id.to_string(), Filter::All, &updates)
            .await?
            .ok_or(AuthError::NotFound("app user"))?;
        Ok(view(&user))
    }

    /// Which of these E.164 numbers are blacklisted right now.
    pub(crate) async fn blocked_numbers(
        &self,
        numbers: impl IntoIterator<Item = &str>,
    ) -> Result<HashSet<String>, AuthError> {
        let values: Vec<&str> = numbers.into_iter().collect();
        self.blocked_values(BlacklistKind::Phone, &values).await
    }

    /// The caller's saved numbers, oldest first, each flagged when blacklisted.
    pub async fn list_numbers(
        &self,
        who: &AppPrincipal,
    ) -> Result<Vec<SavedNumberView>, AuthError> {
        let user = self.fetch(who.user_id).await?;
        let blocked = self
            .blocked_numbers(user.saved_e164.iter().map(String::as_str))
            .await?;
        Ok(user
            .saved_numbers
            .iter()
            .map(|n| number_view(n, &blocked))
            .collect())
    }

    /// Saves a number (at most [`MAX_SAVED_NUMBERS`], no duplicates). A blacklisted number
    /// may still be saved: it comes back flagged `blocked`, and orders to it are refused,
    /// so the user learns why at once instead of at checkout.
    pub async fn add_number(
        &self,
        who: &AppPrincipal,
        input: NewSavedNumber,
    ) -> Result<SavedNumberView, AuthError> {
        validate(&input)?;
        let number = parse_number(&input.number, input.country.as_deref())?;
        let label = input.label.trim().to_owned();
        // Compare-and-set on the user document keeps the limit and uniqueness exact when
        // two adds race; a lost race re-reads and tries again.
        for _ in 0..5 {
            let user = self.fetch(who.user_id).await?;
            if user.saved_e164.iter().any(|n| n == number.e164()) {
                return Err(AuthError::Conflict(format!(
                    "{} is already saved",
                    number.masked()
                )));
            }
            if user.saved_numbers.len() >= MAX_SAVED_NUMBERS {
                return Err(AuthError::SavedNumberLimit(MAX_SAVED_NUMBERS));
            }
            let now = self.clock.now();
            let saved = SavedNumber {
                id: SavedNumberId::new(),
                label: label.clone(),
                country: number.country(),
                number: number.clone(),
                created_at: now,
            };
            let mut next = user.clone();
            next.saved_numbers.push(saved.clone());
            next.saved_e164.push(number.e164().to_owned());
            next.updated_at = now;
            match self.users.replace(&next).await {
                Ok(_) => {
                    let blocked = self.blocked_numbers([number.e164()]).await?;
                    return Ok(number_view(&saved, &blocked));
                }
                Err(e) if e.is_conflict() => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(AuthError::Conflict(
            "saved numbers changed meanwhile; retry".into(),
        ))
    }

    pub async fn delete_number(
        &self,
        who: &AppPrincipal,
        id: SavedNumberId,
    ) -> Result<(), AuthError> {
        for _ in 0..5 {
            let user = self.fetch(who.user_id).await?;
            let Some(position) = user.saved_numbers.iter().position(|n| n.id == id) else {
                return Err(AuthError::NotFound("saved number"));
            };
            let mut next = user.clone();
            let removed = next.saved_numbers.remove(position);
            next.saved_e164.retain(|n| n != removed.number.e164());
            next.updated_at = self.clock.now();
            match self.users.replace(&next).await {
                Ok(_) => return Ok(()),
                Err(e) if e.is_conflict() => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(AuthError::Conflict(
            "saved numbers changed meanwhile; retry".into(),
        ))
    }
}
