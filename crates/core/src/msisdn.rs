//! Mobile numbers: parsed with libphonenumber's metadata into E.164 plus the ISO-3166 region.

use std::fmt;
use std::str::FromStr;

use phonenumber::{Mode, Type as PhoneNumberType};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::CoreError;

/// An ISO-3166 alpha-2 country code known to the phone-number metadata (`PH`, `GB`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    pub fn parse(text: &str) -> Result<Self, CoreError> {
        let upper = text.trim().to_ascii_uppercase();
        let invalid = || CoreError::InvalidCountry(text.chars().take(8).collect());
        let bytes: [u8; 2] = upper.as_bytes().try_into().map_err(|_| invalid())?;
        if !bytes.iter().all(u8::is_ascii_uppercase) {
            return Err(invalid());
        }
        phonenumber::country::Id::from_str(&upper).map_err(|_| invalid())?;
        Ok(CountryCode(bytes))
    }

    pub fn as_str(&self) -> &str {
        // Both bytes are ASCII upper-case letters by construction.
        std::str::from_utf8(&self.0).unwrap_or("ZZ")
    }

    fn metadata_id(&self) -> Option<phonenumber::country::Id> {
        phonenumber::country::Id::from_str(self.as_str()).ok()
    }

    /// The international calling code (`63` for PH).
    pub fn calling_code(&self) -> Option<u16> {
        let id = self.metadata_id()?;
        phonenumber::metadata::DATABASE
            .by_id(id.as_ref())
            .map(|meta| meta.country_code())
    }
}

impl fmt::Debug for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CountryCode {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CountryCode::parse(s)
    }
}

impl Serialize for CountryCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CountryCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        CountryCode::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl From<CountryCode> for serde_json::Value {
    fn from(code: CountryCode) -> Self {
        serde_json::Value::String(code.as_str().to_owned())
    }
}

impl utoipa::PartialSchema for CountryCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^[A-Z]{2}$"))
            .description(Some("ISO-3166 alpha-2 country code"))
            .examples([serde_json::json!("PH")])
            .into()
    }
}

impl utoipa::ToSchema for CountryCode {}

/// A valid mobile number in E.164 form (`+639171234567`) with the region it belongs to.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Msisdn {
    e164: String,
    country: CountryCode,
}

impl Msisdn {
    /// Parses `+E.164` or a national number with `default_country`. Refuses numbers that are
    /// invalid or, where the metadata can tell, not mobile. US/CA numbers are
    /// "fixed line or mobile" in the metadata and are accepted.
    pub fn parse(input: &str, default_country: Option<CountryCode>) -> Result<Self, CoreError> {
        let trimmed = input.trim();
        let shown: String = trimmed.chars().take(32).collect();
        if trimmed.is_empty() || trimmed.len() > 32 {
            return Err(CoreError::InvalidPhone(shown));
        }
        let region = default_country.and_then(|c| c.metadata_id());
        let number = phonenumber::parse(region, trimmed)
            .map_err(|_| CoreError::InvalidPhone(shown.clone()))?;
        if !phonenumber::is_valid(&number) {
            return Err(CoreError::InvalidPhone(shown));
        }
        let number_type = number.number_type(&phonenumber::metadata::DATABASE);
        if !matches!(
            number_type,
            PhoneNumberType::Mobile | PhoneNumberType::FixedLineOrMobile
        ) {
            return Err(CoreError::NotMobile(shown));
        }
        let country = number
            .country()
            .id()
            .and_then(|id| CountryCode::parse(id.as_ref()).ok())
            .ok_or_else(|| CoreError::InvalidPhone(shown.clone()))?;
        let e164 = number.format().mode(Mode::E164).to_string();
        Ok(Msisdn { e164, country })
    }

    pub fn e164(&self) -> &str {
        &self.e164
    }

    pub fn country(&self) -> CountryCode {
        self.country
    }

    /// The number without `+` or calling code (what Reloadly calls `number` with a country).
    pub fn national_digits(&self) -> String {
        let code = self.country.calling_code().map(|c| c.to_string());
        let digits = self.e164.trim_start_matches('+');
        match code {
            Some(code) => digits
                .strip_prefix(code.as_str())
                .unwrap_or(digits)
                .to_owned(),
            None => digits.to_owned(),
        }
    }

    /// Masked for logs and lists shown to people who need not see the whole number.
    pub fn masked(&self) -> String {
        crate::personal::mask_phone(&self.e164)
    }
}

impl fmt::Debug for Msisdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Display for Msisdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.e164)
    }
}

impl Serialize for Msisdn {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.e164)
    }
}

impl<'de> Deserialize<'de> for Msisdn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Msisdn::parse(&text, None).map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for Msisdn {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("Mobile number in E.164 form"))
            .examples([serde_json::json!("+639171234567")])
            .into()
    }
}

impl utoipa::ToSchema for Msisdn {}

#[cfg(test)]
mod tests {
    use super::*;

    fn ph() -> Option<CountryCode> {
        Some(CountryCode::parse("PH").unwrap())
    }

    #[test]
    fn parses_e164_and_national_forms() {
        let a = Msisdn::parse("+639171234567", None).unwrap();
        assert_eq!(a.e164(), "+639171234567");
        assert_eq!(a.country().as_str(), "PH");
        assert_eq!(a.national_digits(), "9171234567");
        let b = Msisdn::parse("0917 123 4567", ph()).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn sandbox_outcome_numbers_are_valid_ph_mobiles() {
        for digit in 0..10 {
            let number = format!("+63917123450{digit}");
            assert!(Msisdn::parse(&number, None).is_ok(), "{number}");
        }
    }

    #[test]
    fn us_fixed_line_or_mobile_is_accepted() {
        let us = Msisdn::parse("+12015550123", None).unwrap();
        assert_eq!(us.country().as_str(), "US");
    }

    #[test]
    fn rejects_invalid_and_landline_numbers() {
        assert!(matches!(
            Msisdn::parse("12345", None),
            Err(CoreError::InvalidPhone(_))
        ));
        assert!(Msisdn::parse("", ph()).is_err());
        assert!(Msisdn::parse("not a number", ph()).is_err());
        // Manila landline.
        assert!(matches!(
            Msisdn::parse("+6328123456", None),
            Err(CoreError::NotMobile(_)) | Err(CoreError::InvalidPhone(_))
        ));
        // London landline.
        assert!(matches!(
            Msisdn::parse("+442071838750", None),
            Err(CoreError::NotMobile(_))
        ));
    }

    #[test]
    fn masks_the_middle() {
        let a = Msisdn::parse("+639171234567", None).unwrap();
        assert_eq!(a.masked(), "+639*****4567");
        assert_eq!(format!("{a:?}"), "+639*****4567");
    }

    #[test]
    fn country_codes_are_validated() {
        assert_eq!(CountryCode::parse("ph").unwrap().as_str(), "PH");
        assert!(CountryCode::parse("XX").is_err());
        assert!(CountryCode::parse("PHL").is_err());
        assert_eq!(CountryCode::parse("PH").unwrap().calling_code(), Some(63));
    }
}
