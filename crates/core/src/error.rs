use thiserror::Error;

/// Everything that can go wrong while building core values from outside input.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CoreError {
    #[error("invalid currency code {0:?}: expected three upper-case ISO-4217 letters")]
    InvalidCurrency(String),
    #[error("currency mismatch: {left} and {right}")]
    CurrencyMismatch { left: Currency, right: Currency },
    #[error("amount overflow")]
    Overflow,
    #[error("division by zero")]
    DivisionByZero,
    #[error("invalid country code {0:?}: expected two ISO-3166 alpha-2 letters")]
    InvalidCountry(String),
    #[error("invalid phone number: {0}")]
    InvalidPhone(String),
    #[error("{0} is not a mobile number")]
    NotMobile(String),
    #[error("invalid id {0:?}")]
    InvalidId(String),
    #[error("invalid timestamp {0:?}: expected RFC 3339")]
    InvalidTimestamp(String),
    #[error("page must be at least 1 and page_size between 1 and {max}")]
    InvalidPage { max: u32 },
}

use crate::Currency;
