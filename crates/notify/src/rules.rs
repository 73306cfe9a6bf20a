//! Fitting a rendered value to WeChat's rule for its key type (`docs/notifications.md#value-rules`):
//! what can be fitted is (a long `thing` is cut to 20 characters ending in "…", characters a
//! `character_string` cannot carry are dropped); what cannot is refused with the reason, so
//! a template whose values WeChat would refuse (errcode 47003) is caught when staff save it.

/// The type part of a data key: `thing12` → `thing`.
pub fn key_type(key: &str) -> &str {
    key.trim_end_matches(|c: char| c.is_ascii_digit())
}

/// Whether `key` looks like a template data key: a known type followed by a number.
pub fn is_known_key(key: &str) -> bool {
    let kind = key_type(key);
    kind.len() < key.len()
        && matches!(
            kind,
            "thing"
                | "number"
                | "letter"
                | "symbol"
                | "character_string"
                | "time"
                | "date"
                | "amount"
                | "phone_number"
                | "car_number"
                | "name"
                | "phrase"
        )
}

fn truncate(value: &str, max: usize) -> String {
    if value.chars().count() <= max {
        return value.to_owned();
    }
    let mut cut: String = value.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}')
}

fn is_plain_number(text: &str) -> bool {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, "0"));
    !whole.is_empty()
        && !fraction.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
}

/// `raw` as WeChat accepts it for a key of type `kind`, or why it cannot be.
pub fn fit(kind: &str, raw: &str) -> Result<String, String> {
    // No control characters anywhere (a newline is refused).
    let value: String = raw
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let value = value.trim();
    if value.is_empty() {
        return Err("empty".into());
    }
    match kind {
        "thing" => Ok(truncate(value, 20)),
        "character_string" => {
            let kept: String = value
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || c.is_ascii_punctuation())
                .take(32)
                .collect();
            if kept.is_empty() {
                Err("needs digits, letters or symbols".into())
            } else {
                Ok(kept)
            }
        }
        "phone_number" => {
            let kept: String = value
                .chars()
                .filter(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' '))
                .collect();
            if kept.chars().any(|c| c.is_ascii_digit()) && kept.chars().count() <= 17 {
                Ok(kept)
            } else {
                Err("at most 17 digits and symbols".into())
            }
        }
        "number" if is_plain_number(value) && value.len() <= 33 => Ok(value.to_owned()),
        "number" => Err("a number of at most 32 digits".into()),
        "letter" if value.len() <= 32 && value.chars().all(|c| c.is_ascii_alphabetic()) => {
            Ok(value.to_owned())
        }
        "letter" => Err("at most 32 letters".into()),
        "amount" => {
            let number = value.strip_suffix('元').unwrap_or(value);
            let mut chars = number.chars();
            match chars.next() {
                Some(symbol) if !symbol.is_ascii_digit() && is_plain_number(chars.as_str()) => {
                    Ok(value.to_owned())
                }
                _ => Err("a currency symbol and a number, like ¥30.00".into()),
            }
        }
        "phrase" if value.chars().count() <= 5 && value.chars().all(is_cjk) => Ok(value.to_owned()),
        "phrase" => Err("at most 5 Chinese characters".into()),
        "name" if value.chars().all(is_cjk) => Ok(truncate(value, 10)),
        "name" if value.chars().all(|c| c.is_ascii_alphabetic() || c == ' ') => {
            Ok(truncate(value, 20))
        }
        "name" => Err("Chinese characters or letters only".into()),
        "time" | "date" => {
            let ok = value.chars().count() <= 40
                && value.chars().all(|c| {
                    c.is_ascii_digit()
                        || matches!(c, '-' | '/' | '.' | ':' | ' ' | '~' | '年' | '月' | '日')
                });
            if ok {
                Ok(value.to_owned())
            } else {
                Err("a date or time like 2026-01-31 08:00".into())
            }
        }
        "symbol"
            if value.chars().count() <= 5 && value.chars().all(|c| c.is_ascii_punctuation()) =>
        {
            Ok(value.to_owned())
        }
        "symbol" => Err("at most 5 symbols".into()),
        "car_number" => Ok(truncate(value, 8)),
        _ => Err(format!("unknown key type {kind}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_things_are_cut_with_an_ellipsis_and_the_rest_is_checked() {
        let title = "Philippines Globe Telecom 1000 PHP airtime";
        let fitted = fit("thing", title).unwrap();
        assert_eq!(fitted.chars().count(), 20);
        assert!(fitted.ends_with('…'));
        assert_eq!(fit("thing", "two\nlines").unwrap(), "two lines");
        assert_eq!(fit("character_string", "01HX-订单-9").unwrap(), "01HX--9");
        assert_eq!(
            fit("phone_number", "+63 917 123 4500").unwrap(),
            "+63 917 123 4500"
        );
        assert_eq!(fit("amount", "¥30.00").unwrap(), "¥30.00");
        assert!(fit("amount", "30.00").is_err());
        assert_eq!(fit("phrase", "已到账").unwrap(), "已到账");
        assert!(fit("phrase", "done").is_err());
        assert!(fit("thing", "  ").is_err());
        assert!(is_known_key("character_string12"));
        assert!(!is_known_key("thing"));
        assert!(!is_known_key("colour3"));
    }
}
