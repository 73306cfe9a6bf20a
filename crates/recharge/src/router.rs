//! Several provider accounts behind one entry point: priority order, failover on results that
//! allow it, and a circuit breaker that rests a provider after repeated failures.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::TimeDelta;
use futures_util::future::join_all;
use serde::Serialize;
use topup_core::{CountryCode, SharedClock, Timestamp};

use crate::{
    ProviderBalance, ProviderId, RechargeError, RechargeProvider, TopupOutcome, TopupRequest,
    TopupResult,
};

/// When a provider is rested: once at least `failure_threshold` of its calls failed and the
/// failures are at least `failure_rate_percent` of its latest results, it is skipped for
/// `cool_down` (on the injected clock), then tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerPolicy {
    pub failure_threshold: u32,
    pub failure_rate_percent: u8,
    pub cool_down: TimeDelta,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        BreakerPolicy {
            failure_threshold: 3,
            failure_rate_percent: 80,
            cool_down: TimeDelta::seconds(60),
        }
    }
}

/// One provider as the router sees it.
#[derive(Debug, Clone)]
pub struct RouteEntry {
    pub provider: Arc<dyn RechargeProvider>,
    /// Lower is tried first.
    pub priority: u32,
    pub enabled: bool,
    /// Countries this provider is used for; empty means all.
    pub countries: Vec<CountryCode>,
}

impl RouteEntry {
    pub fn new(provider: Arc<dyn RechargeProvider>, priority: u32) -> Self {
        RouteEntry {
            provider,
            priority,
            enabled: true,
            countries: Vec::new(),
        }
    }

    fn serves(&self, country: CountryCode) -> bool {
        self.enabled && (self.countries.is_empty() || self.countries.contains(&country))
    }
}

/// How many of a provider's latest results the breaker weighs.
const BREAKER_WINDOW: usize = 20;

#[derive(Debug, Clone, Default)]
struct Breaker {
    consecutive_failures: u32,
    /// Successes seen so far: a call's failure counts only when none arrived while it was in
    /// flight (see [`CallStart`]).
    successes: u64,
    /// The latest results, newest last (`true`: a failure), at most [`BREAKER_WINDOW`].
    recent: std::collections::VecDeque<bool>,
    open_until: Option<Timestamp>,
}

impl Breaker {
    fn remember(&mut self, failed: bool) {
        if self.recent.len() == BREAKER_WINDOW {
            self.recent.pop_front();
        }
        self.recent.push_back(failed);
    }

    fn failures(&self) -> usize {
        self.recent.iter().filter(|failed| **failed).count()
    }
}

/// What the breaker knew when a call to a provider started, taken with
/// [`ProviderRouter::call_started`] and handed back with the call's result.
///
/// A failure counts against the provider only when the provider answered no other call
/// successfully while this one was in flight. Otherwise the provider was demonstrably up, and
/// the failure belongs to this request: a burst of orders that time out together (their
/// operator hangs) while the rest succeed must not rest the provider for everyone
/// (README, "The circuit breaker").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallStart {
    successes_before: u64,
}

/// A provider's routing state for a dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderHealth {
    pub provider: ProviderId,
    pub priority: u32,
    pub enabled: bool,
    pub consecutive_failures: u32,
    /// Set while the circuit is open (the provider is skipped until then).
    pub circuit_open_until: Option<Timestamp>,
}

/// The result of a routed top-up: the last provider tried and what it said, plus the attempts
/// that failed over before it (oldest first). Every result names its provider in
/// `summary.provider`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutedTopup {
    pub provider: ProviderId,
    pub result: TopupResult,
    pub failed_over: Vec<TopupResult>,
}

pub struct ProviderRouter {
    entries: Vec<RouteEntry>,
    policy: BreakerPolicy,
    clock: SharedClock,
    breakers: Mutex<HashMap<ProviderId, Breaker>>,
    /// The last balances read, and when (see [`ProviderRouter::recent_balances`]).
    last_balances: Mutex<Option<(Timestamp, Vec<ProviderBalance>)>>,
}

impl std::fmt::Debug for ProviderRouter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderRouter")
            .field(
                "providers",
                &self
                    .entries
                    .iter()
                    .map(|e| e.provider.id())
                    .collect::<Vec<_>>(),
            )
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl ProviderRouter {
    pub fn new(mut entries: Vec<RouteEntry>, policy: BreakerPolicy, clock: SharedClock) -> Self {
        // Stable: equal priorities keep configuration order.
        entries.sort_by_key(|e| e.priority);
        ProviderRouter {
            entries,
            policy,
            clock,
            breakers: Mutex::new(HashMap::new()),
            last_balances: Mutex::new(None),
        }
    }

    fn breakers(&self) -> MutexGuard<'_, HashMap<ProviderId, Breaker>> {
        self.breakers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Every configured provider (enabled or not), by priority.
    pub fn entries(&self) -> &[RouteEntry] {
        &self.entries
    }

    /// A provider by id, enabled or not (to look up or poll what it already has).
    pub fn provider(&self, id: &ProviderId) -> Option<Arc<dyn RechargeProvider>> {
        self.entries
            .iter()
            .find(|e| e.provider.id() == id)
            .map(|e| e.provider.clone())
    }

    fn is_open(&self, id: &ProviderId, now: Timestamp) -> bool {
        self.breakers()
            .get(id)
            .and_then(|b| b.open_until)
            .is_some_and(|until| now < until)
    }

    /// Enabled providers for a country whose circuit is closed, by priority.
    pub fn candidates(&self, country: CountryCode) -> Vec<Arc<dyn RechargeProvider>> {
        let now = self.clock.now();
        self.entries
            .iter()
            .filter(|e| e.serves(country) && !self.is_open(e.provider.id(), now))
            .map(|e| e.provider.clone())
            .collect()
    }

    /// When the first rested provider serving `country` can be tried again (`None` when
    /// none is resting): an order waiting only on the breaker is looked at again then.
    pub fn reopens_at(&self, country: CountryCode) -> Option<Timestamp> {
        let now = self.clock.now();
        let breakers = self.breakers();
        self.entries
            .iter()
            .filter(|e| e.serves(country))
            .filter_map(|e| breakers.get(e.provider.id()).and_then(|b| b.open_until))
            .filter(|until| now < *until)
            .min()
    }

    /// Marks the start of a call to provider `id`; hand the answer to [`Self::record_result`]
    /// with the call's result.
    pub fn call_started(&self, id: &ProviderId) -> CallStart {
        CallStart {
            successes_before: self.breakers().get(id).map_or(0, |b| b.successes),
        }
    }

    /// Feeds a top-up result into the provider's circuit breaker. Successes close it;
    /// retryable, precondition and ambiguous results count as failures unless another call
    /// succeeded while this one was in flight; final failures are the request's fault, not the
    /// provider's, and count as neither.
    fn record(&self, id: &ProviderId, started: CallStart, outcome: &TopupOutcome) {
        let now = self.clock.now();
        let mut breakers = self.breakers();
        let breaker = breakers.entry(id.clone()).or_default();
        match outcome {
            TopupOutcome::Succeeded | TopupOutcome::Pending { .. } => {
                breaker.consecutive_failures = 0;
                breaker.successes = breaker.successes.saturating_add(1);
                breaker.open_until = None;
                breaker.remember(false);
            }
            TopupOutcome::FailedFinal => {}
            TopupOutcome::FailedRetryable
            | TopupOutcome::Precondition
            | TopupOutcome::Ambiguous
                if breaker.successes > started.successes_before =>
            {
                tracing::debug!(provider = %id, "failure while the provider served other calls: not counted");
            }
            TopupOutcome::FailedRetryable
            | TopupOutcome::Precondition
            | TopupOutcome::Ambiguous => {
                breaker.consecutive_failures = breaker.consecutive_failures.saturating_add(1);
                breaker.remember(true);
                // Open on `failure_threshold` failures that are also `failure_rate_percent`
                // of the recent results (weighed over at least `threshold` of them): a
                // provider that is down fails nearly every call, while one whose failures
                // are some orders' own (a third of them, say) keeps serving the rest. A
                // count of failures in a row would trip on those too whenever many orders
                // are in flight (README, "The circuit breaker").
                let failures = breaker.failures();
                let threshold =
                    usize::try_from(self.policy.failure_threshold).unwrap_or(usize::MAX);
                let weighed = breaker.recent.len().max(threshold);
                let rate = usize::from(self.policy.failure_rate_percent);
                if failures >= threshold
                    && failures.saturating_mul(100) >= rate.saturating_mul(weighed)
                {
                    breaker.open_until = Some(now.plus(self.policy.cool_down));
                    tracing::warn!(provider = %id, failures, of = breaker.recent.len(), "provider circuit opened");
                    // After the rest the provider gets a full `failure_threshold` again, not
                    // one strike: a single unlucky order must not re-open it.
                    breaker.consecutive_failures = 0;
                    breaker.recent.clear();
                }
            }
        }
    }

    /// Like [`Self::record`], but a retryable refusal the provider *answered* about this one
    /// request (an operator unavailable, a number recently recharged: a 4xx with an error
    /// code) says nothing about the provider's health and is not counted, so one failing
    /// operator's orders never rest the provider for everyone else's.
    pub fn record_result(&self, id: &ProviderId, started: CallStart, result: &TopupResult) {
        let answered_for_this_request = matches!(result.outcome, TopupOutcome::FailedRetryable)
            && result
                .summary
                .http_status
                .is_some_and(|status| (400..500).contains(&status) && status != 429)
            && result.summary.error_code.is_some();
        if answered_for_this_request {
            return;
        }
        self.record(id, started, &result.outcome);
    }

    /// Sends a top-up through the providers serving `country`, in priority order.
    /// `request_for` builds the request as each provider knows the product (its operator id
    /// and amount), or `None` when that provider does not offer it. Fails over to the next
    /// provider only on failed-retryable and precondition results; an ambiguous result stops
    /// here and must be resolved by looking it up on that provider.
    pub async fn send_topup<F>(
        &self,
        country: CountryCode,
        mut request_for: F,
    ) -> Result<RoutedTopup, RechargeError>
    where
        F: FnMut(&ProviderId) -> Option<TopupRequest> + Send,
    {
        let mut failed_over: Vec<TopupResult> = Vec::new();
        let mut last: Option<(ProviderId, TopupResult)> = None;
        for provider in self.candidates(country) {
            let id = provider.id().clone();
            let Some(request) = request_for(&id) else {
                continue;
            };
            let started = self.call_started(&id);
            let result = provider.send_topup(&request).await;
            self.record_result(&id, started, &result);
            let allows_failover = result.outcome.allows_failover();
            if let Some((_, previous)) = last.take() {
                failed_over.push(previous);
            }
            last = Some((id.clone(), result));
            if !allows_failover {
                break;
            }
            tracing::info!(provider = %id, "top-up failed over to the next provider");
        }
        match last {
            Some((provider, result)) => Ok(RoutedTopup {
                provider,
                result,
                failed_over,
            }),
            None => Err(RechargeError::NoProviderAvailable { country }),
        }
    }

    /// Every enabled provider's balance, read concurrently.
    pub async fn balances(&self) -> Vec<ProviderBalance> {
        let reads = self.entries.iter().filter(|e| e.enabled).map(|e| {
            let provider = e.provider.clone();
            async move {
                let id = provider.id().clone();
                match provider.balance().await {
                    Ok(balance) => ProviderBalance {
                        provider: id,
                        balance: Some(balance),
                        error: None,
                    },
                    Err(e) => ProviderBalance {
                        provider: id,
                        balance: None,
                        error: Some(e.to_string()),
                    },
                }
            }
        });
        join_all(reads).await
    }

    /// The balances read at most `max_age` ago, reading them again when older, and when they
    /// were read. A dashboard open in many tabs then costs the provider (whose balance API is
    /// slow and rate-limited) one call per provider and `max_age`.
    pub async fn recent_balances(&self, max_age: TimeDelta) -> (Vec<ProviderBalance>, Timestamp) {
        let now = self.clock.now();
        let cached = self
            .last_balances
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some((read_at, balances)) = cached
            && now.since(read_at) <= max_age
        {
            return (balances, read_at);
        }
        let balances = self.balances().await;
        *self.last_balances.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((now, balances.clone()));
        (balances, now)
    }

    /// Routing state of every provider.
    pub fn health(&self) -> Vec<ProviderHealth> {
        let now = self.clock.now();
        let breakers = self.breakers();
        self.entries
            .iter()
            .map(|e| {
                let breaker = breakers.get(e.provider.id()).cloned().unwrap_or_default();
                ProviderHealth {
                    provider: e.provider.id().clone(),
                    priority: e.priority,
                    enabled: e.enabled,
                    consecutive_failures: breaker.consecutive_failures,
                    circuit_open_until: breaker.open_until.filter(|until| now < *until),
                }
            })
            .collect()
    }
}
