//! What was wrong with a form, by field, so that one refusal names every bad field at once.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// Per-field validation messages: `{"username": ["must be 3 to 32 characters"]}`. The API
/// answers them as `VALIDATION_FAILED`'s `details.fields`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct FieldErrors(BTreeMap<String, Vec<String>>);

impl FieldErrors {
    pub fn new() -> Self {
        FieldErrors::default()
    }

    /// One field's one message.
    pub fn one(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut errors = FieldErrors::new();
        errors.add(&field.into(), message);
        errors
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0
            .entry(field.to_owned())
            .or_default()
            .push(message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn fields(&self) -> &BTreeMap<String, Vec<String>> {
        &self.0
    }

    pub fn merge(&mut self, other: FieldErrors) {
        for (field, messages) in other.0 {
            self.0.entry(field).or_default().extend(messages);
        }
    }

    /// `Ok(())` when nothing was added, else these errors.
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (field, messages) in &self.0 {
            for message in messages {
                if !first {
                    f.write_str("; ")?;
                }
                first = false;
                write!(f, "{field}: {message}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_is_kept_and_shown() {
        let mut errors = FieldErrors::one("title", "1–40 characters");
        errors.add("link.path", "a mini-program page");
        errors.merge(FieldErrors::one("title", "no tags"));
        assert_eq!(errors.fields()["title"].len(), 2);
        assert_eq!(
            errors.to_string(),
            "link.path: a mini-program page; title: 1–40 characters; title: no tags"
        );
        assert!(errors.into_result().is_err());
        assert!(FieldErrors::new().into_result().is_ok());
    }
}
