use async_trait::async_trait;
use topup_core::{CountryCode, Msisdn, Secret, Timestamp};

use crate::{
    ProviderAmount, ProviderCountry, ProviderId, ProviderOperator, RechargeError, TopupRequest,
    TopupResult, TransactionLookup, TransactionPage,
};

/// A top-up provider account. Object-safe: hold it as `Arc<dyn RechargeProvider>`. `Debug`
/// must not print credentials.
#[async_trait]
pub trait RechargeProvider: Send + Sync + std::fmt::Debug {
    /// The configured id of this provider account.
    fn id(&self) -> &ProviderId;

    /// Replaces the account's credentials while serving (staff changed them in the settings,
    /// `docs/settings.md`); the next call authenticates with them. Answers whether this
    /// provider has credentials to replace.
    fn set_credentials(&self, _client_id: Secret<String>, _client_secret: Secret<String>) -> bool {
        false
    }

    /// Countries the provider serves.
    async fn countries(&self) -> Result<Vec<ProviderCountry>, RechargeError>;

    /// Operators of a country: airtime, data and bundle product lines.
    async fn operators(&self, country: CountryCode)
    -> Result<Vec<ProviderOperator>, RechargeError>;

    /// The operator a number belongs to; `None` when the provider cannot tell.
    async fn detect_operator(
        &self,
        phone: &Msisdn,
    ) -> Result<Option<ProviderOperator>, RechargeError>;

    /// Sends a top-up carrying our idempotency key. Never an error: every outcome, transport
    /// failures included, is classified.
    async fn send_topup(&self, request: &TopupRequest) -> TopupResult;

    /// The current state of a transaction by the provider's id.
    async fn topup_status(
        &self,
        provider_transaction_id: &str,
    ) -> Result<TopupResult, RechargeError>;

    /// Finds a transaction by our idempotency key. `NotFound` means it was never committed,
    /// so it is safe to send again.
    async fn find_by_custom_identifier(
        &self,
        custom_identifier: &str,
    ) -> Result<TransactionLookup, RechargeError>;

    /// One page (from 1) of the transactions made on this account from `from` (inclusive)
    /// to `to` (exclusive), whoever sent them, each classified with its summary (our key, the
    /// provider's id, the amounts). Reconciliation reads them page by page, looking for
    /// top-ups no order sent.
    async fn transactions_page(
        &self,
        from: Timestamp,
        to: Timestamp,
        page: u32,
    ) -> Result<TransactionPage, RechargeError>;

    /// The prepaid account balance.
    async fn balance(&self) -> Result<ProviderAmount, RechargeError>;
}
