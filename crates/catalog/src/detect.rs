//! Which operator a number belongs to: asked of the provider (libphonenumber has no carrier
//! data), remembered per number for a while on the injected clock.
//!
//! The public detection route spends the provider's quota, so (`docs/security.md#detection`):
//! lookups of one number in flight at once share one provider call, the most recently used
//! numbers are remembered (the least recently used is forgotten first), and each client
//! address may start only so many provider lookups a minute.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use hashlink::LruCache;
use serde::Serialize;
use topup_core::limiter::AddressLimiter;
use topup_core::{CoreError, CountryCode, Msisdn, SharedClock, Timestamp};
use topup_recharge::ProviderId;
use utoipa::ToSchema;

use crate::config::Settings;
use crate::snapshot::{AppCountry, AppOperator, AppPlan, unknown_country};
use crate::{Catalog, CatalogError};

/// `GET /api/v1/app/catalog/detect`: the number's country and operator with what can be
/// bought for it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Detection {
    /// The number in E.164.
    #[schema(example = "+639171234567")]
    pub phone: String,
    pub country: AppCountry,
    /// Whether the operator was identified; when not, `plans` holds the whole country's.
    pub detected: bool,
    pub operator: Option<AppOperator>,
    /// The operator's airtime and data plans (same brand), or every plan of the country.
    pub plans: Vec<AppPlan>,
}

fn phone_error(error: CoreError) -> CatalogError {
    match error {
        CoreError::InvalidCountry(text) => CatalogError::UnknownCountry(text),
        other => CatalogError::InvalidPhone(other.to_string()),
    }
}

/// The provider's answer for a number: the provider and its operator id, `None` when it
/// could not tell.
type Answer = Option<(ProviderId, String)>;
type Lookup = Shared<BoxFuture<'static, Answer>>;

struct Remembered {
    answer: Answer,
    expires_at: Timestamp,
}

/// Remembered answers, lookups in flight and the per-address lookup limit.
pub(crate) struct DetectState {
    remembered: Mutex<LruCache<String, Remembered>>,
    in_flight: Mutex<HashMap<String, Lookup>>,
    limiter: AddressLimiter,
}

impl DetectState {
    pub(crate) fn new(settings: &Settings, clock: SharedClock) -> Self {
        DetectState {
            remembered: Mutex::new(LruCache::new(settings.detect_capacity)),
            in_flight: Mutex::new(HashMap::new()),
            limiter: AddressLimiter::new(
                settings.detect_lookups_per_minute,
                settings.detect_lookups_per_minute,
                clock,
            ),
        }
    }

    fn remembered(&self) -> MutexGuard<'_, LruCache<String, Remembered>> {
        self.remembered
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn in_flight(&self) -> MutexGuard<'_, HashMap<String, Lookup>> {
        self.in_flight
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Forgets addresses whose allowance is full again (called by the background job).
    pub(crate) fn forget_idle_addresses(&self) {
        self.limiter.forget_idle();
    }
}

/// A caller's part in a lookup in flight. Dropped, when the lookup has finished or when the
/// caller stopped waiting (its client hung up), it takes the lookup out of `in_flight` unless
/// other callers still wait for it: a lookup nobody waits for is dropped, not left behind
/// for a number that may never be asked about again.
struct Waiting<'a> {
    state: &'a DetectState,
    key: &'a str,
    /// Never polled: it stays comparable with the map's entry, and counts who holds the
    /// lookup.
    entry: Lookup,
    finished: bool,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut in_flight = self.state.in_flight();
        let ours = in_flight
            .get(self.key)
            .is_some_and(|current| current.ptr_eq(&self.entry));
        // Held by the map and by `entry`; any more are other callers waiting (the clone this
        // caller awaited is gone by now, finished or dropped with it).
        let others_waiting = self.entry.strong_count().is_some_and(|count| count > 2);
        if ours && (self.finished || !others_waiting) {
            in_flight.remove(self.key);
        }
    }
}

impl Catalog {
    /// Detects the operator of `phone` (`+E.164`, or national digits with `country`), for
    /// trusted callers: no lookup limit.
    #[tracing::instrument(skip_all)]
    pub async fn detect(
        &self,
        phone: &str,
        country: Option<&str>,
    ) -> Result<Detection, CatalogError> {
        let number = parse_number(phone, country)?;
        self.detect_number_for(&number, None).await
    }

    /// [`Self::detect`] for a public caller at `client` (its address): a number nobody
    /// asked about lately costs a provider lookup, and an address may start only
    /// `catalog.detect_lookups_per_minute` of those (`CatalogError::RateLimited`).
    #[tracing::instrument(skip_all)]
    pub async fn detect_from(
        &self,
        client: &str,
        phone: &str,
        country: Option<&str>,
    ) -> Result<Detection, CatalogError> {
        let number = parse_number(phone, country)?;
        self.detect_number_for(&number, Some(client)).await
    }

    /// [`Self::detect`] for a number parsed already (a checkout's).
    pub async fn detect_number(&self, number: &Msisdn) -> Result<Detection, CatalogError> {
        self.detect_number_for(number, None).await
    }

    async fn detect_number_for(
        &self,
        number: &Msisdn,
        client: Option<&str>,
    ) -> Result<Detection, CatalogError> {
        let code = number.country();
        let snapshot = self.snapshot();
        let Some(country) = snapshot.country(code).cloned() else {
            return Err(unknown_country(code.as_str()));
        };
        let found = self.detected_operator(number, client).await?;
        let operator = found
            .as_ref()
            .and_then(|key| snapshot.by_provider_ref.get(key))
            .and_then(|id| snapshot.operators.get(id));
        let plans: Vec<AppPlan> = match operator {
            Some(detected) => snapshot
                .country_plans(code)
                .iter()
                .filter(|p| {
                    snapshot
                        .operators
                        .get(&p.operator.id)
                        .is_some_and(|o| o.brand == detected.brand)
                })
                .cloned()
                .collect(),
            None => snapshot.country_plans(code).to_vec(),
        };
        Ok(Detection {
            phone: number.e164().to_owned(),
            country,
            detected: operator.is_some(),
            operator: operator.map(|o| o.app.clone()),
            plans,
        })
    }

    /// The provider's answer for the number: remembered while fresh, otherwise one provider
    /// lookup shared by every caller asking meanwhile. Only a caller that starts a lookup
    /// spends its address's allowance.
    async fn detected_operator(
        &self,
        number: &Msisdn,
        client: Option<&str>,
    ) -> Result<Answer, CatalogError> {
        let key = number.e164();
        let state = &self.inner.detect;
        let now = self.now();
        {
            let mut remembered = state.remembered();
            match remembered.get(key) {
                Some(hit) if now < hit.expires_at => return Ok(hit.answer.clone()),
                Some(_) => {
                    remembered.remove(key);
                }
                None => {}
            }
        }
        let lookup = {
            let mut in_flight = state.in_flight();
            match in_flight.get(key) {
                Some(lookup) => lookup.clone(),
                None => {
                    if let Some(client) = client {
                        state.limiter.check(client).map_err(|retry_after_seconds| {
                            CatalogError::RateLimited {
                                retry_after_seconds,
                            }
                        })?;
                    }
                    let catalog = self.clone();
                    let number = number.clone();
                    let lookup = async move { catalog.ask_providers(&number).await }
                        .boxed()
                        .shared();
                    in_flight.insert(key.to_owned(), lookup.clone());
                    lookup
                }
            }
        };
        let mut waiting = Waiting {
            state,
            key,
            entry: lookup,
            finished: false,
        };
        let answer = waiting.entry.clone().await;
        waiting.finished = true;
        Ok(answer)
    }

    /// Lookups in flight (for monitoring): each is one provider call a caller is waiting for.
    pub fn lookups_in_flight(&self) -> usize {
        self.inner.detect.in_flight().len()
    }

    /// Asks the providers serving the number's country, in priority order, and remembers a
    /// definite answer. Provider failures are logged and not remembered (the user can still
    /// pick an operator).
    async fn ask_providers(&self, number: &Msisdn) -> Answer {
        let serving = self.snapshot().providers_in(number.country());
        let candidates = self
            .inner
            .router
            .candidates(number.country())
            .into_iter()
            .filter(|p| serving.contains(p.id()));
        for provider in candidates {
            match provider.detect_operator(number).await {
                Ok(found) => {
                    let answer = found.map(|op| (provider.id().clone(), op.operator_id));
                    self.remember(number, answer.clone());
                    return answer;
                }
                Err(error) => {
                    tracing::warn!(provider = %provider.id(), %error, "operator detection failed");
                }
            }
        }
        None
    }

    fn remember(&self, number: &Msisdn, answer: Answer) {
        let expires_at = self.now().plus(self.inner.settings.detect_ttl);
        // At capacity the least recently used number is forgotten.
        self.inner
            .detect
            .remembered()
            .insert(number.e164().to_owned(), Remembered { answer, expires_at });
    }

    /// Forgets every remembered detection.
    pub fn clear_detect_cache(&self) {
        self.inner.detect.remembered().clear();
    }
}

fn parse_number(phone: &str, country: Option<&str>) -> Result<Msisdn, CatalogError> {
    let default_country = match country.map(str::trim).filter(|c| !c.is_empty()) {
        Some(text) => Some(CountryCode::parse(text).map_err(|_| unknown_country(text))?),
        None => None,
    };
    Msisdn::parse(phone, default_country).map_err(phone_error)
}
