//! Typed queries. Field paths and collection names come from code, never from input, and are
//! still validated so that no backend ever splices an unchecked name into a statement.

use serde_json::Value;

use crate::{Result, StoreError};

/// A dotted path to a field (`state`, `payment.state`). `id` is the document id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Field(String);

impl Field {
    pub fn new(path: impl Into<String>) -> Self {
        Field(path.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_id(&self) -> bool {
        self.0 == "id"
    }

    /// Each segment is `[A-Za-z_][A-Za-z0-9_]*`.
    pub fn validate(&self) -> Result<&str> {
        let valid = !self.0.is_empty()
            && self.0.len() <= 128
            && self.0.split('.').all(|segment| {
                let mut chars = segment.chars();
                matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
                    && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
            });
        if valid {
            Ok(&self.0)
        } else {
            Err(StoreError::InvalidName(self.0.chars().take(64).collect()))
        }
    }
}

impl From<&str> for Field {
    fn from(path: &str) -> Self {
        Field::new(path)
    }
}

/// Collection names are `[a-z][a-z0-9_]*`, at most 64 characters.
pub fn validate_collection(name: &str) -> Result<&str> {
    let mut chars = name.chars();
    let valid = name.len() <= 64
        && matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(name)
    } else {
        Err(StoreError::InvalidName(name.chars().take(64).collect()))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Matches every document.
    All,
    /// Equal; `Value::Null` matches a missing field too.
    Eq(Field, Value),
    /// Not equal; a missing field is "not equal" to any non-null value.
    Ne(Field, Value),
    In(Field, Vec<Value>),
    Gt(Field, Value),
    Gte(Field, Value),
    Lt(Field, Value),
    Lte(Field, Value),
    /// The field is present (and not null) — or absent/null when `false`.
    Exists(Field, bool),
    /// Case-insensitive substring of a string field.
    Contains(Field, String),
    /// An array field has an element equal to the value.
    Has(Field, Value),
    And(Vec<Filter>),
    Or(Vec<Filter>),
}

impl Filter {
    pub fn eq(field: &str, value: impl Into<Value>) -> Self {
        Filter::Eq(field.into(), value.into())
    }

    pub fn ne(field: &str, value: impl Into<Value>) -> Self {
        Filter::Ne(field.into(), value.into())
    }

    pub fn is_in<V: Into<Value>>(field: &str, values: impl IntoIterator<Item = V>) -> Self {
        Filter::In(field.into(), values.into_iter().map(Into::into).collect())
    }

    pub fn gt(field: &str, value: impl Into<Value>) -> Self {
        Filter::Gt(field.into(), value.into())
    }

    pub fn gte(field: &str, value: impl Into<Value>) -> Self {
        Filter::Gte(field.into(), value.into())
    }

    pub fn lt(field: &str, value: impl Into<Value>) -> Self {
        Filter::Lt(field.into(), value.into())
    }

    pub fn lte(field: &str, value: impl Into<Value>) -> Self {
        Filter::Lte(field.into(), value.into())
    }

    /// String values beginning with `prefix`, as a range (`>= prefix`, `<` the next string
    /// after every such value), so that an index on the field answers it on either backend:
    /// both order strings by code point.
    pub fn starts_with(field: &str, prefix: &str) -> Self {
        let mut upper: Vec<char> = prefix.chars().collect();
        // The least string above every extension of `prefix`: its last character that has a
        // successor, advanced, and what follows it dropped.
        while let Some(last) = upper.pop() {
            if let Some(next) = successor(last) {
                upper.push(next);
                return Filter::gte(field, prefix)
                    .and(Filter::lt(field, upper.into_iter().collect::<String>()));
            }
        }
        Filter::gte(field, prefix)
    }

    pub fn exists(field: &str) -> Self {
        Filter::Exists(field.into(), true)
    }

    pub fn missing(field: &str) -> Self {
        Filter::Exists(field.into(), false)
    }

    pub fn contains(field: &str, needle: impl Into<String>) -> Self {
        Filter::Contains(field.into(), needle.into())
    }

    pub fn has(field: &str, value: impl Into<Value>) -> Self {
        Filter::Has(field.into(), value.into())
    }

    /// Conjunction that flattens nested `And`s and drops `All`.
    pub fn and(self, other: Filter) -> Filter {
        let mut parts = Vec::new();
        for part in [self, other] {
            match part {
                Filter::All => {}
                Filter::And(inner) => parts.extend(inner),
                other => parts.push(other),
            }
        }
        match parts.len() {
            0 => Filter::All,
            1 => parts.pop().unwrap_or(Filter::All),
            _ => Filter::And(parts),
        }
    }

    pub fn or(self, other: Filter) -> Filter {
        match self {
            Filter::Or(mut inner) => {
                inner.push(other);
                Filter::Or(inner)
            }
            first => Filter::Or(vec![first, other]),
        }
    }

    /// Every field the filter names, for validation.
    pub fn validate(&self) -> Result<()> {
        match self {
            Filter::All => Ok(()),
            Filter::Eq(f, _)
            | Filter::Ne(f, _)
            | Filter::In(f, _)
            | Filter::Gt(f, _)
            | Filter::Gte(f, _)
            | Filter::Lt(f, _)
            | Filter::Lte(f, _)
            | Filter::Exists(f, _)
            | Filter::Contains(f, _)
            | Filter::Has(f, _) => f.validate().map(|_| ()),
            Filter::And(parts) | Filter::Or(parts) => parts.iter().try_for_each(Filter::validate),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    Asc,
    Desc,
}

/// Filter + sort + window. The backend breaks ties by `id` in the direction of the last sort
/// key, so pages never overlap or skip.
#[derive(Debug, Clone, PartialEq)]
pub struct FindQuery {
    pub filter: Filter,
    pub sort: Vec<(Field, SortOrder)>,
    pub skip: u64,
    pub limit: Option<u64>,
    /// Served by an index and bounded by `limit`: see [`FindQuery::lookup`].
    pub lookup: bool,
}

impl FindQuery {
    pub fn new(filter: Filter) -> Self {
        FindQuery {
            filter,
            sort: Vec::new(),
            skip: 0,
            limit: None,
            lookup: false,
        }
    }

    /// Declares the query a lookup: an equality on an indexed field narrows it to a few
    /// documents and `limit` bounds it (a checkout's "is this number blocked?"). A backend may
    /// then answer it on the calling thread, as it does a read by id, instead of handing it
    /// to a thread that may wait on disk.
    pub fn lookup(mut self, limit: u64) -> Self {
        self.limit = Some(limit);
        self.lookup = true;
        self
    }

    pub fn sort(mut self, field: &str, order: SortOrder) -> Self {
        self.sort.push((field.into(), order));
        self
    }

    pub fn skip(mut self, skip: u64) -> Self {
        self.skip = skip;
        self
    }

    pub fn limit(mut self, limit: u64) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Direction of the implicit `id` tie-breaker.
    pub fn tie_break_order(&self) -> SortOrder {
        self.sort.last().map(|(_, o)| *o).unwrap_or(SortOrder::Asc)
    }

    pub fn validate(&self) -> Result<()> {
        self.filter.validate()?;
        self.sort
            .iter()
            .try_for_each(|(f, _)| f.validate().map(|_| ()))
    }
}

/// One atomic change applied by [`crate::Backend::update`].
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    Set(Field, Value),
    Unset(Field),
    /// Adds to an integer field (a missing field counts as 0).
    Inc(Field, i64),
}

impl Update {
    pub fn set(field: &str, value: impl Into<Value>) -> Self {
        Update::Set(field.into(), value.into())
    }

    pub fn unset(field: &str) -> Self {
        Update::Unset(field.into())
    }

    pub fn inc(field: &str, by: i64) -> Self {
        Update::Inc(field.into(), by)
    }

    pub fn field(&self) -> &Field {
        match self {
            Update::Set(f, _) | Update::Unset(f) | Update::Inc(f, _) => f,
        }
    }
}

/// A single or compound index, optionally unique. Documents lacking a unique index's fields
/// are not constrained by it (omit the field rather than storing `null`).
#[derive(Debug, Clone, PartialEq)]
pub struct Index {
    pub name: String,
    pub fields: Vec<(Field, SortOrder)>,
    pub unique: bool,
}

impl Index {
    pub fn new(name: &str, fields: &[&str]) -> Self {
        Index {
            name: name.to_owned(),
            fields: fields
                .iter()
                .map(|f| (Field::new(*f), SortOrder::Asc))
                .collect(),
            unique: false,
        }
    }

    pub fn unique(name: &str, fields: &[&str]) -> Self {
        Index {
            unique: true,
            ..Index::new(name, fields)
        }
    }

    pub fn validate(&self) -> Result<()> {
        validate_collection(&self.name)?;
        if self.fields.is_empty() {
            return Err(StoreError::InvalidName(self.name.clone()));
        }
        self.fields
            .iter()
            .try_for_each(|(f, _)| f.validate().map(|_| ()))
    }
}

/// How [`crate::Backend::group`] buckets documents.
#[derive(Debug, Clone, PartialEq)]
pub enum GroupKey {
    /// By the value of a field.
    Field(Field),
    /// By several parts at once; each row's key is a JSON array of their values, in order
    /// (a missing field is `null`). Rows of this key come in no particular order.
    Fields(Vec<KeyPart>),
    /// By the first `chars` characters of a string field: with RFC 3339 UTC timestamps,
    /// 13 characters is the hour (`2026-01-01T15`).
    Prefix { field: Field, chars: u32 },
    /// By calendar day (`YYYY-MM-DD`) of an RFC 3339 timestamp field, seen from a UTC offset
    /// (480 for China Standard Time).
    Day {
        field: Field,
        utc_offset_minutes: i32,
    },
}

/// One part of a compound group key.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyPart {
    /// A field's value.
    Field(Field),
    /// The first `chars` characters of a string field (see [`GroupKey::Prefix`]).
    Prefix { field: Field, chars: u32 },
}

impl From<&str> for KeyPart {
    fn from(path: &str) -> Self {
        KeyPart::Field(Field::new(path))
    }
}

/// One bucket of a grouped count/sum.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRow {
    pub key: Value,
    pub count: u64,
    /// One sum per requested field, in the same order.
    pub sums: Vec<i64>,
}

/// The next code point after `c`, skipping the surrogates (no `char` stands for them).
fn successor(c: char) -> Option<char> {
    match c {
        '\u{D7FF}' => Some('\u{E000}'),
        _ => char::from_u32(u32::from(c) + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_paths_are_validated() {
        assert!(Field::new("payment.state").validate().is_ok());
        assert!(Field::new("_id").validate().is_ok());
        for bad in ["", "a..b", "a'b", "$where", "a.1b", "a b", "x')--"] {
            assert!(Field::new(bad).validate().is_err(), "{bad}");
        }
    }

    #[test]
    fn collection_names_are_validated() {
        assert!(validate_collection("orders").is_ok());
        assert!(validate_collection("Orders").is_err());
        assert!(validate_collection("orders; drop").is_err());
    }

    #[test]
    fn a_prefix_is_the_range_up_to_its_successor() {
        let range = |low: &str, high: &str| Filter::gte("k", low).and(Filter::lt("k", high));
        assert_eq!(Filter::starts_with("k", "u1:"), range("u1:", "u1;"));
        assert_eq!(
            Filter::starts_with("k", "a\u{D7FF}"),
            range("a\u{D7FF}", "a\u{E000}")
        );
        assert_eq!(
            Filter::starts_with("k", "a\u{10FFFF}"),
            range("a\u{10FFFF}", "b")
        );
        assert_eq!(
            Filter::starts_with("k", "\u{10FFFF}"),
            Filter::gte("k", "\u{10FFFF}")
        );
    }

    #[test]
    fn and_flattens() {
        let f = Filter::eq("a", 1).and(Filter::eq("b", 2)).and(Filter::All);
        assert_eq!(f, Filter::And(vec![Filter::eq("a", 1), Filter::eq("b", 2)]));
        assert_eq!(Filter::All.and(Filter::eq("a", 1)), Filter::eq("a", 1));
    }
}
