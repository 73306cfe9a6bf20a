use thiserror::Error;
use topup_core::FieldErrors;
use topup_store::StoreError;

#[derive(Debug, Error)]
pub enum ContentError {
    #[error("{0} not found")]
    NotFound(String),
    /// Every bad field of a save.
    #[error("{0}")]
    Invalid(FieldErrors),
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
        ContentError::Invalid(FieldErrors::one(field, reason))
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

/// Collects every bad field of a form instead of stopping at the first, so staff see all
/// that is wrong in one refusal.
#[derive(Default)]
pub(crate) struct Checks(FieldErrors);

impl Checks {
    /// The checked value; on a refusal, its fields are kept and `T::default()` stands in (the
    /// form is refused by [`Checks::finish`], so the stand-in is never saved).
    pub(crate) fn take<T: Default>(&mut self, checked: Result<T, ContentError>) -> T {
        match checked {
            Ok(value) => value,
            Err(ContentError::Invalid(fields)) => {
                self.0.merge(fields);
                T::default()
            }
            // Checks never read the store; anything else is a bug in a check, shown as one.
            Err(other) => {
                self.0.add("", other.to_string());
                T::default()
            }
        }
    }

    pub(crate) fn refuse(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.0.add(&field.into(), reason);
    }

    /// `Ok(())` when every check passed, else every field refused.
    pub(crate) fn finish(self) -> Result<(), ContentError> {
        self.0.into_result().map_err(ContentError::Invalid)
    }
}
