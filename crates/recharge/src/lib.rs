//! Recharge providers: the provider port ([`RechargeProvider`]), the Reloadly adapter
//! ([`ReloadlyProvider`]), the classes every top-up result falls into ([`TopupOutcome`]),
//! and routing with failover and a circuit breaker over several accounts
//! ([`ProviderRouter`], built from [`ProvidersConfig`]).

mod config;
mod error;
mod model;
mod port;
mod reloadly;
mod router;

pub use config::{CircuitBreakerConfig, ProviderConfig, ProviderKind, ProvidersConfig};
pub use error::RechargeError;
pub use model::{
    AttemptSummary, Denomination, FixedAmount, FxRate, ProductKind, ProviderAmount,
    ProviderBalance, ProviderCountry, ProviderId, ProviderOperator, TopupOutcome, TopupRequest,
    TopupResult, TransactionLookup, TransactionPage,
};
pub use port::RechargeProvider;
pub use reloadly::{RELOADLY_ACCEPT, ReloadlyConfig, ReloadlyProvider};
pub use router::{
    BreakerPolicy, CallStart, ProviderHealth, ProviderRouter, RouteEntry, RoutedTopup,
};
