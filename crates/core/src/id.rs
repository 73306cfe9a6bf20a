//! Typed ULID identifiers: an `Id<Order>` cannot be passed where an `Id<User>` is expected.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use ulid::Ulid;

use crate::CoreError;

/// Marker for what an id identifies.
pub trait IdKind: Send + Sync + 'static {
    /// Short human-readable name used in error messages.
    const NAME: &'static str;
}

pub struct Id<K: IdKind> {
    ulid: Ulid,
    kind: PhantomData<fn() -> K>,
}

impl<K: IdKind> Id<K> {
    pub fn new() -> Self {
        Id::from_ulid(Ulid::new())
    }

    /// The all-zero id: no one's, for what the product does by itself (an automatic
    /// blacklist entry's author, say).
    pub fn nil() -> Self {
        Id::from_ulid(Ulid::nil())
    }

    pub fn from_ulid(ulid: Ulid) -> Self {
        Id {
            ulid,
            kind: PhantomData,
        }
    }

    pub fn parse(text: &str) -> Result<Self, CoreError> {
        Ulid::from_string(text)
            .map(Id::from_ulid)
            .map_err(|_| CoreError::InvalidId(text.chars().take(40).collect()))
    }

    pub fn ulid(&self) -> Ulid {
        self.ulid
    }
}

impl<K: IdKind> Default for Id<K> {
    fn default() -> Self {
        Id::new()
    }
}

impl<K: IdKind> Clone for Id<K> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K: IdKind> Copy for Id<K> {}

impl<K: IdKind> PartialEq for Id<K> {
    fn eq(&self, other: &Self) -> bool {
        self.ulid == other.ulid
    }
}

impl<K: IdKind> Eq for Id<K> {}

impl<K: IdKind> PartialOrd for Id<K> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<K: IdKind> Ord for Id<K> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.ulid.cmp(&other.ulid)
    }
}

impl<K: IdKind> Hash for Id<K> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.ulid.hash(state)
    }
}

impl<K: IdKind> fmt::Debug for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", K::NAME, self.ulid)
    }
}

impl<K: IdKind> fmt::Display for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.ulid, f)
    }
}

impl<K: IdKind> FromStr for Id<K> {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Id::parse(s)
    }
}

impl<K: IdKind> Serialize for Id<K> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.ulid.to_string())
    }
}

impl<'de, K: IdKind> Deserialize<'de> for Id<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Id::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl<K: IdKind> From<Id<K>> for serde_json::Value {
    fn from(id: Id<K>) -> Self {
        serde_json::Value::String(id.to_string())
    }
}

impl<K: IdKind> utoipa::PartialSchema for Id<K> {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^[0-9A-HJKMNP-TV-Z]{26}$"))
            .description(Some("Opaque identifier (ULID)"))
            .examples([serde_json::json!("01JDZ8Q7Y7E3K9V6S2M4T1R0PA")])
            .into()
    }
}

impl<K: IdKind> utoipa::ToSchema for Id<K> {}

#[cfg(test)]
mod tests {
    use super::*;

    struct Widget;
    impl IdKind for Widget {
        const NAME: &'static str = "widget";
    }

    #[test]
    fn round_trips_as_a_plain_string() {
        let id: Id<Widget> = Id::new();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json.len(), 28);
        let back: Id<Widget> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, id);
        assert!(Id::<Widget>::parse("not-an-id").is_err());
    }

    #[test]
    fn later_ids_sort_after_earlier_ones() {
        let a: Id<Widget> = Id::from_ulid(Ulid::from_parts(1000, 5));
        let b: Id<Widget> = Id::from_ulid(Ulid::from_parts(2000, 1));
        assert!(a < b);
        assert!(a.to_string() < b.to_string());
    }
}
