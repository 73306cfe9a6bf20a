//! WeChat's value rules for subscribe-message data, by key type (`thing1` is a `thing`):
//! what the platform refuses with errcode 47003. Written from WeChat's published rules
//! (`docs/protocols.md#subscribe-messages`), independently of the product's formatter.

/// The type part of a data key: `thing12` → `thing`, `character_string3` → `character_string`.
pub fn key_type(key: &str) -> &str {
    key.trim_end_matches(|c: char| c.is_ascii_digit())
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}')
}

/// `HH:MM` or `HH:MM:SS`, 24-hour.
fn is_clock(text: &str) -> bool {
    let parts: Vec<&str> = text.split(':').collect();
    (parts.len() == 2 || parts.len() == 3)
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()))
        && parts[0] < "24"
        && parts[1] < "60"
        && parts.get(2).is_none_or(|s| *s < "60")
}

/// `2019年10月1日`, `2018-01-01`, `2018/01/01`, `2018.01.01`.
fn is_calendar_date(text: &str) -> bool {
    if let Some(rest) = text.strip_suffix('日') {
        let Some((year, rest)) = rest.split_once('年') else {
            return false;
        };
        let Some((month, day)) = rest.split_once('月') else {
            return false;
        };
        return [year, month, day]
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()));
    }
    ['-', '/', '.'].iter().any(|sep| {
        let parts: Vec<&str> = text.split(*sep).collect();
        parts.len() == 3
            && parts[0].len() == 4
            && (1..=2).contains(&parts[1].len())
            && (1..=2).contains(&parts[2].len())
            && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// A date, optionally followed by a space and a clock time.
fn is_date_time(text: &str, clock_required: bool) -> bool {
    match text.split_once(' ') {
        Some((date, clock)) => is_calendar_date(date) && is_clock(clock),
        None if clock_required => is_clock(text),
        None => is_calendar_date(text),
    }
}

fn ranged(text: &str, one: impl Fn(&str) -> bool) -> bool {
    match text.split_once('~') {
        Some((from, to)) => one(from.trim()) && one(to.trim()),
        None => one(text),
    }
}

fn is_decimal(text: &str, max_digits: usize) -> bool {
    let digits = text.bytes().filter(u8::is_ascii_digit).count();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, "0"));
    digits > 0
        && digits <= max_digits
        && !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && !fraction.is_empty()
        && fraction.bytes().all(|b| b.is_ascii_digit())
}

/// Whether WeChat accepts `value` for a key of type `kind`.
pub fn value_is_valid(kind: &str, value: &str) -> bool {
    if value.is_empty() || value.chars().any(char::is_control) {
        return false;
    }
    let chars = value.chars().count();
    match kind {
        "thing" => chars <= 20,
        "number" => is_decimal(value, 32),
        "letter" => chars <= 32 && value.chars().all(|c| c.is_ascii_alphabetic()),
        "symbol" => chars <= 5 && value.chars().all(|c| c.is_ascii_punctuation()),
        "character_string" => {
            chars <= 32
                && value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c.is_ascii_punctuation())
        }
        "time" => ranged(value, |t| is_date_time(t, true)),
        "date" => ranged(value, |t| is_date_time(t, false)),
        "amount" => {
            let number = value.strip_suffix('元').unwrap_or(value);
            let mut rest = number.chars();
            match rest.next() {
                Some(symbol) if !symbol.is_ascii_digit() => is_decimal(rest.as_str(), 10),
                _ => false,
            }
        }
        "phone_number" => {
            chars <= 17
                && value
                    .chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ' | '(' | ')'))
        }
        "car_number" => chars <= 8,
        "name" => {
            if value.chars().all(is_cjk) {
                chars <= 10
            } else {
                chars <= 20 && value.chars().all(|c| c.is_ascii_alphabetic() || c == ' ')
            }
        }
        "phrase" => chars <= 5 && value.chars().all(is_cjk),
        // `enum` and types this sandbox does not know take any short value.
        _ => chars <= 20,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_examples_pass_and_their_breakages_fail() {
        let good = [
            ("thing", "国际话费充值 10 元"),
            ("number", "12.5"),
            ("letter", "ABC"),
            ("symbol", "%"),
            ("character_string", "01HX5ZQ-7Y"),
            ("time", "15:01"),
            ("time", "2019-10-01 15:01"),
            ("time", "2019年10月1日 15:01~2019年10月1日 17:00"),
            ("date", "2019年10月1日"),
            ("date", "2018-01-01"),
            ("date", "2018.01.01 12:00:00"),
            ("amount", "¥30.00"),
            ("amount", "¥30元"),
            ("phone_number", "+86-0766-66888866"),
            ("name", "张三"),
            ("phrase", "配送中"),
        ];
        for (kind, value) in good {
            assert!(value_is_valid(kind, value), "{kind} {value}");
        }
        let bad = [
            ("thing", "这是一个超过二十个字的商品名称会被微信拒绝掉的"),
            ("thing", "two\nlines"),
            ("number", "12a"),
            ("letter", "AB1"),
            ("character_string", "订单"),
            ("time", "25:00"),
            ("time", "2019-10-01"),
            ("date", "yesterday"),
            ("amount", "30.00"),
            ("amount", "¥"),
            ("phone_number", "call me"),
            ("phrase", "ok"),
            ("phrase", "已经到账了啊"),
            ("thing", ""),
        ];
        for (kind, value) in bad {
            assert!(!value_is_valid(kind, value), "{kind} {value}");
        }
        assert_eq!(key_type("character_string12"), "character_string");
        assert_eq!(key_type("thing1"), "thing");
    }
}
