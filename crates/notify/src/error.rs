use thiserror::Error;
use topup_store::StoreError;

#[derive(Debug, Error)]
pub enum NotifyError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    /// Only failed or skipped deliveries can be sent again.
    #[error("{0}")]
    InvalidState(String),
    /// The alerts could not be read from where they are raised.
    #[error("alert source: {0}")]
    Source(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl NotifyError {
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        NotifyError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
