//! Shared helpers for filtered, sorted, paged lists.

use topup_core::Timestamp;
use topup_store::{Filter, SortOrder};

use crate::AuthError;

/// Parses `field` or `-field` against the fields a list may be sorted by; each allowed
/// entry maps the public name to the stored field.
pub(crate) fn sort_by(
    requested: Option<&str>,
    allowed: &[(&'static str, &'static str)],
    default: (&'static str, SortOrder),
) -> Result<(&'static str, SortOrder), AuthError> {
    let Some(text) = requested.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(default);
    };
    let (name, order) = match text.strip_prefix('-') {
        Some(name) => (name, SortOrder::Desc),
        None => (text, SortOrder::Asc),
    };
    allowed
        .iter()
        .find(|(public, _)| *public == name)
        .map(|(_, stored)| (*stored, order))
        .ok_or_else(|| {
            let names: Vec<&str> = allowed.iter().map(|(public, _)| *public).collect();
            AuthError::field(
                "sort",
                format!(
                    "must be one of {}, optionally prefixed with '-'",
                    names.join(", ")
                ),
            )
        })
}

/// Adds `field contains text` when text is given and not blank.
pub(crate) fn contains(filter: Filter, field: &str, text: Option<&str>) -> Filter {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        Some(text) => filter.and(Filter::contains(field, text)),
        None => filter,
    }
}

pub(crate) fn equals(filter: Filter, field: &str, value: Option<serde_json::Value>) -> Filter {
    match value {
        Some(value) => filter.and(Filter::Eq(field.into(), value)),
        None => filter,
    }
}

/// `from <= field < to`.
pub(crate) fn time_range(
    filter: Filter,
    field: &str,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
) -> Filter {
    let mut filter = filter;
    if let Some(from) = from {
        filter = filter.and(Filter::gte(field, from));
    }
    if let Some(to) = to {
        filter = filter.and(Filter::lt(field, to));
    }
    filter
}
