//! Topup's shared vocabulary. Everything here is pure: no I/O, no async runtime.

mod clock;
pub mod crash;
mod error;
mod error_code;
mod field_errors;
mod id;
pub mod limiter;
mod money;
mod msisdn;
pub mod network;
mod paging;
pub mod personal;
mod secret;
mod timestamp;

pub use clock::{Clock, ManualClock, OffsetClock, SharedClock, SystemClock};
pub use error::CoreError;
pub use error_code::ErrorCode;
pub use field_errors::FieldErrors;
pub use id::{Id, IdKind};
pub use money::{Currency, Money, Rounding};
pub use msisdn::{CountryCode, Msisdn};
pub use paging::{Page, PageRequest};
pub use rust_decimal::Decimal;
pub use secret::Secret;
pub use timestamp::Timestamp;
