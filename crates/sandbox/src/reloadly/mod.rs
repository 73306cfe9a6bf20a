//! A stand-in for Reloadly's Airtime API: the auth host's `POST /oauth/token` and the topups
//! host's catalog, top-up, status, report and balance endpoints, with Reloadly's paths, headers,
//! JSON shapes and error bodies. Outcomes follow the phone number
//! (`docs/protocols.md#sandbox-outcomes`): the last digit picks the outcome, the digit before
//! it the delay (0 none, 1 ≈ 2 s, 2 ≈ 20 s of PROCESSING), measured on the injected clock.
//!
//! Mount it with [`configure`] inside a scope; the two hosts become path prefixes:
//! `{scope}/auth/oauth/token` and `{scope}/topups/...` (so a top-up is
//! `POST {scope}/topups/topups`). Several instances can be mounted at different scopes.

mod catalog;
mod handlers;
mod state;
mod wire;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::TimeDelta;
use topup_core::{Decimal, Secret, SharedClock, SystemClock, Timestamp};

pub use state::SandboxStats;

/// The `Accept` value every topups-host call must carry.
pub const ACCEPT: &str = "application/com.reloadly.topups-v1+json";

/// One OAuth client the sandbox accepts.
#[derive(Clone, Debug)]
pub struct SandboxClient {
    pub client_id: String,
    pub client_secret: Secret<String>,
}

/// How `GET /topups/{id}/status` answers: Reloadly has been seen to send both.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StatusShape {
    /// `{code, message, status, transaction: {...}}`
    #[default]
    Wrapped,
    /// The transaction object itself.
    Flat,
}

/// Everything that makes one sandbox instance behave the way a test needs.
#[derive(Clone)]
pub struct ReloadlySandboxConfig {
    /// Credentials accepted by `POST /oauth/token`.
    pub clients: Vec<SandboxClient>,
    /// The `audience` a token request must name.
    pub audience: String,
    /// Lifetime of issued tokens on the injected clock.
    pub token_ttl: TimeDelta,
    /// How long the answer to a digit-5 top-up is withheld (real time: it is about HTTP
    /// timeouts, so it must outlast the client's read timeout).
    pub hang: Duration,
    /// How long every top-up request takes to answer (real time), as a real provider's
    /// synchronous top-up does (Reloadly: usually 1–3 s). Zero answers at once.
    pub topup_latency: Duration,
    /// Requests per second (on the injected clock) per client before 429.
    pub rate_limit_per_second: u32,
    /// Account balance in USD at start.
    pub starting_balance: Decimal,
    /// A second top-up of the same number within this window is refused.
    pub recent_recharge_window: TimeDelta,
    pub status_shape: StatusShape,
    /// Where operator logo URLs point.
    pub logo_base_url: String,
    pub clock: SharedClock,
}

impl Default for ReloadlySandboxConfig {
    fn default() -> Self {
        ReloadlySandboxConfig {
            clients: vec![SandboxClient {
                client_id: "sandbox-client-id".to_owned(),
                client_secret: Secret::new("sandbox-client-secret".to_owned()),
            }],
            audience: "https://topups-sandbox.reloadly.com".to_owned(),
            token_ttl: TimeDelta::hours(24),
            hang: Duration::from_secs(30),
            topup_latency: Duration::ZERO,
            rate_limit_per_second: 100,
            starting_balance: Decimal::new(100_000, 2),
            recent_recharge_window: TimeDelta::minutes(2),
            status_shape: StatusShape::Wrapped,
            logo_base_url: "https://s3.amazonaws.com/rld-operator".to_owned(),
            clock: Arc::new(SystemClock),
        }
    }
}

/// A transaction as the sandbox holds it, for tests and the embedded demo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SandboxTransaction {
    pub transaction_id: u64,
    pub status: String,
    pub custom_identifier: Option<String>,
    /// International digits without `+`.
    pub recipient_phone: String,
    pub operator_id: u64,
    pub requested_amount: Decimal,
    pub delivered_amount: Decimal,
    pub delivered_currency: String,
    pub cost: Decimal,
    pub created_at: Timestamp,
}

/// One sandbox instance: configuration, the demo catalog and in-memory state. Cheap to clone
/// (shared state); keep a clone to inspect it from tests.
#[derive(Clone)]
pub struct ReloadlySandbox {
    inner: Arc<Inner>,
}

struct Inner {
    config: ReloadlySandboxConfig,
    catalog: catalog::Catalog,
    state: Mutex<state::State>,
    /// Test hook: what the catalog endpoints no longer list (see [`ReloadlySandbox::withdraw_operator`]).
    withdrawn: Mutex<catalog::Withdrawn>,
}

impl ReloadlySandbox {
    pub fn new(config: ReloadlySandboxConfig) -> Self {
        let now = config.clock.now();
        let state = state::State::new(config.starting_balance, now);
        ReloadlySandbox {
            inner: Arc::new(Inner {
                config,
                catalog: catalog::demo_catalog(),
                state: Mutex::new(state),
                withdrawn: Mutex::new(catalog::Withdrawn::default()),
            }),
        }
    }

    pub fn config(&self) -> &ReloadlySandboxConfig {
        &self.inner.config
    }

    fn state(&self) -> MutexGuard<'_, state::State> {
        // A panic while holding the lock leaves plain data behind; keep serving.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn now(&self) -> Timestamp {
        self.inner.config.clock.now()
    }

    fn withdrawn(&self) -> MutexGuard<'_, catalog::Withdrawn> {
        self.inner
            .withdrawn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Test hook: the catalog endpoints stop listing this operator (as when a provider drops
    /// a product line), until [`ReloadlySandbox::restore_catalog`].
    pub fn withdraw_operator(&self, operator_id: u64) {
        self.withdrawn().operators.insert(operator_id);
    }

    /// Test hook: the operator stays listed without this fixed amount (sender currency).
    pub fn withdraw_amount(&self, operator_id: u64, amount: Decimal) {
        self.withdrawn()
            .amounts
            .insert((operator_id, amount.normalize().to_string()));
    }

    /// Test hook: the catalog endpoints stop listing a country.
    pub fn withdraw_country(&self, iso: &str) {
        self.withdrawn().countries.insert(iso.to_ascii_uppercase());
    }

    /// Lists the whole demo catalog again.
    pub fn restore_catalog(&self) {
        *self.withdrawn() = catalog::Withdrawn::default();
    }

    /// The demo catalog as the catalog endpoints currently list it.
    fn listed_catalog(&self) -> catalog::Catalog {
        self.inner.catalog.without(&self.withdrawn())
    }

    /// The account balance in USD, after settling what is due.
    pub fn balance(&self) -> Decimal {
        let now = self.now();
        let mut state = self.state();
        state.settle(now);
        state.balance().0
    }

    pub fn set_balance(&self, balance: Decimal) {
        let now = self.now();
        // Without a journal this cannot fail; with one, a failed write is logged there.
        let _ = self.state().change_balance(balance, now);
    }

    /// Takes up the transactions and balance remembered in the journal at `path` and keeps
    /// writing them there, so that they outlive this process. Answers how many transactions
    /// it took up, or `None` when another process holds the journal (and remembers).
    pub fn remember_in(&self, path: &std::path::Path) -> std::io::Result<Option<usize>> {
        let now = self.now();
        self.state().remember_in(path, &self.inner.catalog, now)
    }

    pub fn stats(&self) -> SandboxStats {
        self.state().stats()
    }

    /// How many top-up requests carrying this customIdentifier passed authentication.
    pub fn topup_requests_for(&self, custom_identifier: &str) -> u32 {
        self.state().topup_requests_for(custom_identifier)
    }

    /// All committed transactions, oldest first, settled to the clock's now.
    pub fn transactions(&self) -> Vec<SandboxTransaction> {
        let now = self.now();
        let mut state = self.state();
        state.settle(now);
        state
            .transactions()
            .iter()
            .map(|t| SandboxTransaction {
                transaction_id: t.id,
                status: t.status.as_str().to_owned(),
                custom_identifier: t.custom_identifier.clone(),
                recipient_phone: t.recipient_phone.clone(),
                operator_id: t.operator_id,
                requested_amount: t.requested_amount,
                delivered_amount: t.delivered_amount,
                delivered_currency: t.delivered_currency.to_owned(),
                cost: t.cost,
                created_at: t.created_at,
            })
            .collect()
    }
}

/// Registers the sandbox's routes on a scope or app:
/// `web::scope("/sandbox/reloadly").configure(reloadly::configure(sandbox.clone()))`.
pub fn configure(
    sandbox: ReloadlySandbox,
) -> impl FnOnce(&mut actix_web::web::ServiceConfig) + 'static {
    handlers::configure(sandbox)
}
