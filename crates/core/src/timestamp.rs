//! A UTC instant with millisecond precision whose JSON form is fixed-width RFC 3339
//! (`2026-11-29T13:17:28.123Z`), so that stored timestamps sort as strings in every backend.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, TimeDelta, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::ToSchema;

use crate::CoreError;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    pub fn from_datetime(at: DateTime<Utc>) -> Self {
        let millis = at.timestamp_millis();
        Timestamp(Utc.timestamp_millis_opt(millis).single().unwrap_or(at))
    }

    pub fn from_unix_millis(millis: i64) -> Option<Self> {
        Utc.timestamp_millis_opt(millis).single().map(Timestamp)
    }

    pub fn from_unix_seconds(seconds: i64) -> Option<Self> {
        Utc.timestamp_opt(seconds, 0).single().map(Timestamp)
    }

    pub fn parse(text: &str) -> Result<Self, CoreError> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| Timestamp::from_datetime(t.with_timezone(&Utc)))
            .map_err(|_| CoreError::InvalidTimestamp(text.chars().take(40).collect()))
    }

    pub fn as_datetime(&self) -> DateTime<Utc> {
        self.0
    }

    pub fn unix_seconds(&self) -> i64 {
        self.0.timestamp()
    }

    pub fn unix_millis(&self) -> i64 {
        self.0.timestamp_millis()
    }

    /// Saturates instead of overflowing (a deadline centuries away is as good as never).
    pub fn plus(&self, delta: TimeDelta) -> Self {
        Timestamp(
            self.0
                .checked_add_signed(delta)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        )
    }

    pub fn minus(&self, delta: TimeDelta) -> Self {
        Timestamp(
            self.0
                .checked_sub_signed(delta)
                .unwrap_or(DateTime::<Utc>::MIN_UTC),
        )
    }

    pub fn since(&self, earlier: Timestamp) -> TimeDelta {
        self.0.signed_duration_since(earlier.0)
    }

    /// The canonical fixed-width text form.
    pub fn to_rfc3339(&self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Millis, true)
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl FromStr for Timestamp {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Timestamp::parse(s)
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(at: DateTime<Utc>) -> Self {
        Timestamp::from_datetime(at)
    }
}

impl From<Timestamp> for serde_json::Value {
    fn from(at: Timestamp) -> Self {
        serde_json::Value::String(at.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Timestamp::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for Timestamp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::DateTime,
            )))
            .description(Some("RFC 3339 UTC timestamp"))
            .examples([serde_json::json!("2026-11-29T13:17:28.123Z")])
            .into()
    }
}

impl ToSchema for Timestamp {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_is_fixed_width_and_sorts_chronologically() {
        let a = Timestamp::parse("2026-11-29T13:17:28Z").unwrap();
        let b = Timestamp::parse("2026-11-29T13:17:28.5+00:00").unwrap();
        assert_eq!(a.to_rfc3339(), "2026-11-29T13:17:28.000Z");
        assert_eq!(b.to_rfc3339(), "2026-11-29T13:17:28.500Z");
        assert!(a.to_rfc3339() < b.to_rfc3339());
        let c = Timestamp::parse("2026-11-29T21:17:28.000+08:00").unwrap();
        assert_eq!(c, a);
    }

    #[test]
    fn precision_is_millis() {
        let t = Timestamp::parse("2026-11-29T13:17:28.123456789Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-29T13:17:28.123Z");
        assert!(Timestamp::parse("yesterday").is_err());
    }
}
