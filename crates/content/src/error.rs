use thiserror::Error;
use topup_store::StoreError;

#[derive(Debug, Error)]
pub enum ContentError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    /// Someone else saved the document since it was read (compare-and-set).
    #[error("{0}")]
    Conflict(String),
    /// An acceptance named a version of an agreement that is no longer current.
    #[error("version {accepted} is not the current one (version {current}); read it again")]
    NotCurrent { accepted: u32, current: u32 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ContentError {
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ContentError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Checks a staff-written text: trimmed, `min..=max` characters.
pub(crate) fn text(
    field: &str,
    value: &str,
    min: usize,
    max: usize,
) -> Result<String, ContentError> {
    let trimmed = value.trim();
    let length = trimmed.chars().count();
    if length < min || length > max {
        let reason = if min == 0 {
            format!("at most {max} characters")
        } else {
            format!("{min}–{max} characters")
        };
        return Err(ContentError::invalid(field, reason));
    }
    Ok(trimmed.to_owned())
}

/// A window's end, when both ends are set, comes after its start.
pub(crate) fn window(
    starts_at: Option<topup_core::Timestamp>,
    ends_at: Option<topup_core::Timestamp>,
) -> Result<(), ContentError> {
    if let (Some(start), Some(end)) = (starts_at, ends_at)
        && end <= start
    {
        return Err(ContentError::invalid("ends_at", "must be after starts_at"));
    }
    Ok(())
}
