//! Which operator a number belongs to: asked of the provider (libphonenumber has no carrier
//! data), remembered per number for a while on the injected clock.
//!
//! The public detection route spends the provider's quota, so (`docs/security.md#detection`):
//! lookups of one number in flight at once share one provider call, the most recently used
//! numbers are remembered (the least recently used is forgotten first), and each client
//! address may start only so many provider lookups a minute.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

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

/// The provider and its operator id, as the provider answered for a number.
type ProviderOperator = (ProviderId, String);
/// The provider's answer for a number, `None` when it could not tell. Shared: the many
/// numbers of one operator point at one copy.
type Answer = Option<Arc<ProviderOperator>>;
type Lookup = Shared<BoxFuture<'static, Answer>>;

/// A remembered number's answer. The cache holds up to `catalog.detect_cache_capacity` of
/// these (100,000 by default), so each is kept small: the number as an integer, the answer
/// as a pointer to its operator's one copy.
struct Remembered {
    answer: Answer,
    expires_at: Timestamp,
}

/// The number's digits as one integer: unique per number, since E.164 numbers start with a
/// country code (never a zero), and without an allocation. `None` only for a number of more
/// than 19 digits, which E.164 (15 at most) does not have; such a number is not remembered.
fn cache_key(number: &Msisdn) -> Option<u64> {
    number.e164().strip_prefix('+')?.parse().ok()
}

/// Remembered answers, lookups in flight and the per-address lookup limit.
pub(crate) struct DetectState {
    remembered: Mutex<LruCache<u64, Remembered>>,
    /// One copy of each answer the providers gave, for `remembered` to share; as many as the
    /// providers have operators.
    answers: Mutex<HashSet<Arc<ProviderOperator>>>,
    in_flight: Mutex<HashMap<String, Lookup>>,
    limiter: AddressLimiter,
}

impl DetectState {
    pub(crate) fn new(settings: &Settings, clock: SharedClock) -> Self {
        DetectState {
            remembered: Mutex::new(LruCache::new(settings.detect_capacity)),
            answers: Mutex::new(HashSet::new()),
            in_flight: Mutex::new(HashMap::new()),
            limiter: AddressLimiter::new(
                settings.detect_lookups_per_minute,
                settings.detect_lookups_per_minute,
                clock,
            ),
        }
    }

    fn remembered(&self) -> MutexGuard<'_, LruCache<u64, Remembered>> {
        self.remembered
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The one shared copy of `answer`.
    fn shared_answer(&self, answer: ProviderOperator) -> Arc<ProviderOperator> {
        let mut answers = self
            .answers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(known) = answers.get(&answer) {
            return known.clone();
        }
        let shared = Arc::new(answer);
        answers.insert(shared.clone());
        shared
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
            .and_then(|key| snapshot.by_provider_ref.get(key.as_ref()))
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
        if let Some(number_key) = cache_key(number) {
            let mut remembered = state.remembered();
            match remembered.get(&number_key) {
                Some(hit) if now < hit.expires_at => return Ok(hit.answer.clone()),
                Some(_) => {
                    remembered.remove(&number_key);
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
                    let answer = found.map(|op| {
                        self.inner
                            .detect
                            .shared_answer((provider.id().clone(), op.operator_id))
                    });
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
        let Some(number_key) = cache_key(number) else {
            return;
        };
        let expires_at = self.now().plus(self.inner.settings.detect_ttl);
        // At capacity the least recently used number is forgotten.
        self.inner
            .detect
            .remembered()
            .insert(number_key, Remembered { answer, expires_at });
    }

    /// Forgets every remembered detection.
    pub fn clear_detect_cache(&self) {
        self.inner.detect.remembered().clear();
        self.inner
            .detect
            .answers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clear();
    }
}

fn parse_number(phone: &str, country: Option<&str>) -> Result<Msisdn, CatalogError> {
    let default_country = match country.map(str::trim).filter(|c| !c.is_empty()) {
        Some(text) => Some(CountryCode::parse(text).map_err(|_| unknown_country(text))?),
        None => None,
    };
    Msisdn::parse(phone, default_country).map_err(phone_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(e164: &str) -> Msisdn {
        Msisdn::parse(e164, None).expect("a valid mobile number")
    }

    #[test]
    fn a_number_is_remembered_under_its_digits() {
        assert_eq!(cache_key(&number("+639171234567")), Some(639_171_234_567));
        // A zero after the country code stays a digit of the key.
        assert_eq!(cache_key(&number("+393123456789")), Some(393_123_456_789));
        assert_ne!(
            cache_key(&number("+447911123456")),
            cache_key(&number("+447911123457"))
        );
    }

    #[test]
    fn one_operators_numbers_share_one_answer() {
        let state = DetectState::new(&Settings::fallback(), Arc::new(topup_core::SystemClock));
        let provider = ProviderId::new("reloadly");
        let first = state.shared_answer((provider.clone(), "173".into()));
        let second = state.shared_answer((provider.clone(), "173".into()));
        let other = state.shared_answer((provider, "174".into()));
        assert!(Arc::ptr_eq(&first, &second));
        assert!(!Arc::ptr_eq(&first, &other));
        assert_eq!(other.1, "174");
    }
}
