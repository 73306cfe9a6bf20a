use thiserror::Error;
use topup_core::FieldErrors;
use topup_store::StoreError;

#[derive(Debug, Error)]
pub enum SettingsError {
    #[error("{0} not found")]
    NotFound(String),
    /// Every bad value of a save, by `values.KEY`.
    #[error("{0}")]
    Invalid(FieldErrors),
    /// Someone else saved the group since it was read.
    #[error("{0}")]
    Conflict(String),
    /// A secret could not be sealed or opened (a wrong or missing at-rest key).
    #[error("secret {0} cannot be opened or sealed")]
    Sealing(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SettingsError {
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        SettingsError::Invalid(FieldErrors::one(field, reason))
    }
}
