use thiserror::Error;
use topup_core::CountryCode;

use crate::ProviderId;

/// Failures of the read-only provider calls, configuration and routing. Top-ups never fail
/// with this: they always return a classified [`crate::TopupResult`]. Messages never contain
/// credentials or tokens.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RechargeError {
    #[error("provider {provider} could not be reached: {reason}")]
    Unreachable {
        provider: ProviderId,
        reason: String,
    },
    #[error("provider {provider} did not answer in time")]
    Timeout { provider: ProviderId },
    #[error("provider {provider} refused our credentials ({code})")]
    Unauthorized { provider: ProviderId, code: String },
    #[error("provider {provider} is rate limiting us")]
    RateLimited {
        provider: ProviderId,
        retry_after_secs: Option<u64>,
    },
    #[error("provider {provider} answered HTTP {status} {code}: {message}")]
    Provider {
        provider: ProviderId,
        status: u16,
        code: String,
        message: String,
    },
    #[error("provider {provider} has no transaction {transaction_id}")]
    TransactionNotFound {
        provider: ProviderId,
        transaction_id: String,
    },
    #[error("provider {provider} sent a response we could not read: {reason}")]
    Malformed {
        provider: ProviderId,
        reason: String,
    },
    #[error("invalid provider configuration: {0}")]
    Config(String),
    #[error("no enabled provider is available for {country}")]
    NoProviderAvailable { country: CountryCode },
    #[error("unknown provider {0}")]
    UnknownProvider(ProviderId),
}
