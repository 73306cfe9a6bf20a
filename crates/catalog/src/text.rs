//! Display text derived from provider data: flags, Chinese country names, plan titles.

use topup_core::{CountryCode, Money};

/// The flag emoji of a country: its two letters as regional-indicator symbols.
pub fn flag_emoji(code: CountryCode) -> String {
    code.as_str()
        .chars()
        .filter_map(|c| char::from_u32(0x1F1E6 + (u32::from(c) - u32::from('A'))))
        .collect()
}

/// Chinese names of the countries people in China most often top up.
const CHINESE_NAMES: &[(&str, &str)] = &[
    ("AE", "阿联酋"),
    ("AR", "阿根廷"),
    ("AU", "澳大利亚"),
    ("BD", "孟加拉国"),
    ("BR", "巴西"),
    ("CA", "加拿大"),
    ("CL", "智利"),
    ("CN", "中国"),
    ("CO", "哥伦比亚"),
    ("DE", "德国"),
    ("EG", "埃及"),
    ("ES", "西班牙"),
    ("ET", "埃塞俄比亚"),
    ("FR", "法国"),
    ("GB", "英国"),
    ("GH", "加纳"),
    ("HK", "中国香港"),
    ("ID", "印度尼西亚"),
    ("IN", "印度"),
    ("IT", "意大利"),
    ("JP", "日本"),
    ("KE", "肯尼亚"),
    ("KH", "柬埔寨"),
    ("KR", "韩国"),
    ("LA", "老挝"),
    ("LK", "斯里兰卡"),
    ("MM", "缅甸"),
    ("MN", "蒙古"),
    ("MO", "中国澳门"),
    ("MX", "墨西哥"),
    ("MY", "马来西亚"),
    ("NG", "尼日利亚"),
    ("NP", "尼泊尔"),
    ("NZ", "新西兰"),
    ("PE", "秘鲁"),
    ("PH", "菲律宾"),
    ("PK", "巴基斯坦"),
    ("RU", "俄罗斯"),
    ("SA", "沙特阿拉伯"),
    ("SG", "新加坡"),
    ("TH", "泰国"),
    ("TR", "土耳其"),
    ("TW", "中国台湾"),
    ("TZ", "坦桑尼亚"),
    ("UA", "乌克兰"),
    ("US", "美国"),
    ("UZ", "乌兹别克斯坦"),
    ("VN", "越南"),
    ("ZA", "南非"),
];

pub fn chinese_country_name(code: CountryCode) -> Option<&'static str> {
    CHINESE_NAMES
        .iter()
        .find(|(iso, _)| *iso == code.as_str())
        .map(|(_, name)| *name)
}

/// "Globe Philippines Data" → "Globe Philippines": the brand shared by an operator's
/// airtime and data product lines.
pub fn brand_of(name: &str) -> String {
    let mut brand = name.trim();
    for suffix in [" Data Bundles", " Bundles", " Bundle", " Data", " Internet"] {
        if brand.len() > suffix.len()
            && brand
                .get(brand.len() - suffix.len()..)
                .is_some_and(|end| end.eq_ignore_ascii_case(suffix))
        {
            brand = brand[..brand.len() - suffix.len()].trim_end();
            break;
        }
    }
    brand.to_owned()
}

/// `PHP 1,234.50`: the amount in major units with thousands separators, no floats.
pub fn format_money(money: Money) -> String {
    let exponent = money.currency.exponent();
    let divisor = 10i64.pow(exponent);
    let negative = money.amount < 0;
    let abs = money.amount.unsigned_abs();
    let divisor_u = divisor.unsigned_abs();
    let whole = abs / divisor_u;
    let fraction = abs % divisor_u;
    let digits = whole.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if negative { "-" } else { "" };
    if exponent == 0 {
        format!("{} {sign}{grouped}", money.currency.code())
    } else {
        format!(
            "{} {sign}{grouped}.{fraction:0width$}",
            money.currency.code(),
            width = exponent as usize
        )
    }
}

/// What a plan's provider text says, picked apart for titles.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlanFacts {
    /// `2GB`, `1.5GB/day`.
    pub data: Option<String>,
    pub validity_days: Option<u32>,
    pub no_expiry: bool,
}

fn is_data_token(token: &str) -> bool {
    let upper = token.to_ascii_uppercase();
    let body = upper.strip_suffix("/DAY").unwrap_or(&upper);
    let Some(number) = ["GB", "MB", "TB"]
        .iter()
        .find_map(|unit| body.strip_suffix(unit))
    else {
        return false;
    };
    !number.is_empty()
        && number.chars().all(|c| c.is_ascii_digit() || c == '.')
        && number.chars().next().is_some_and(|c| c.is_ascii_digit())
}

/// Reads `2GB 7 days`, `Magic Data 299: 24GB no expiry`, `1.5GB/day 28 days`,
/// `Hotlink 5GB 1 week`.
pub fn plan_facts(description: &str) -> PlanFacts {
    let tokens: Vec<&str> = description
        .split(|c: char| c.is_whitespace() || c == ',' || c == '(' || c == ')')
        .filter(|t| !t.is_empty())
        .collect();
    let mut facts = PlanFacts::default();
    for (i, token) in tokens.iter().enumerate() {
        let token = token.trim_end_matches([':', ';', '.']);
        if facts.data.is_none() && is_data_token(token) {
            facts.data = Some(token.replace("/DAY", "/day").replace("/Day", "/day"));
            continue;
        }
        if facts.validity_days.is_none()
            && let Ok(n) = token.parse::<u32>()
            && let Some(unit) = tokens.get(i + 1)
        {
            let unit = unit.to_ascii_lowercase();
            let days = match unit.trim_end_matches(['.', ',']) {
                "day" | "days" | "d" => Some(n),
                "week" | "weeks" => n.checked_mul(7),
                "month" | "months" => n.checked_mul(30),
                _ => None,
            };
            if days.is_some() {
                facts.validity_days = days;
            }
        }
    }
    let lower = description.to_ascii_lowercase();
    facts.no_expiry = lower.contains("no expiry") || lower.contains("no expiration");
    facts
}

/// Default titles `(zh, en)` for a plan when staff have not written their own.
pub fn default_titles(
    is_data: bool,
    face_value: Money,
    description: Option<&str>,
    validity_days: Option<u32>,
) -> (String, String) {
    if !is_data {
        let amount = format_money(face_value);
        return (format!("{amount} 话费"), format!("{amount} airtime"));
    }
    let facts = description.map(plan_facts).unwrap_or_default();
    let validity = validity_days.or(facts.validity_days);
    match (&facts.data, validity, facts.no_expiry) {
        (Some(data), Some(days), _) => {
            let unit_en = if days == 1 { "day" } else { "days" };
            (
                format!("{} · {days}天", data.replace("/day", "/天")),
                format!("{data} · {days} {unit_en}"),
            )
        }
        (Some(data), None, true) => (format!("{data} · 永久有效"), format!("{data} · no expiry")),
        (Some(data), None, false) => (data.replace("/day", "/天"), data.clone()),
        _ => {
            let text = description
                .map(str::to_owned)
                .unwrap_or_else(|| format_money(face_value));
            (text.clone(), text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use topup_core::Currency;

    fn cc(text: &str) -> CountryCode {
        CountryCode::parse(text).unwrap()
    }

    #[test]
    fn flags_and_names() {
        assert_eq!(flag_emoji(cc("PH")), "🇵🇭");
        assert_eq!(chinese_country_name(cc("PH")), Some("菲律宾"));
        assert_eq!(chinese_country_name(cc("FJ")), None);
        assert_eq!(brand_of("Globe Philippines Data"), "Globe Philippines");
        assert_eq!(brand_of("Smart Philippines"), "Smart Philippines");
        assert_eq!(brand_of("Data"), "Data");
    }

    #[test]
    fn money_is_formatted_without_floats() {
        let php = Currency::parse("PHP").unwrap();
        assert_eq!(format_money(Money::new(29_060, php)), "PHP 290.60");
        assert_eq!(
            format_money(Money::new(123_456_789, php)),
            "PHP 1,234,567.89"
        );
        let vnd = Currency::parse("VND").unwrap();
        assert_eq!(format_money(Money::new(2_541_000, vnd)), "VND 2,541,000");
        assert_eq!(format_money(Money::cny(5)), "CNY 0.05");
    }

    #[test]
    fn plan_texts_become_titles() {
        let php = Currency::parse("PHP").unwrap();
        let face = Money::new(5_056, php);
        assert_eq!(
            default_titles(true, face, Some("GoSURF50: 2GB 3 days"), None),
            ("2GB · 3天".to_owned(), "2GB · 3 days".to_owned())
        );
        assert_eq!(
            default_titles(true, face, Some("1.5GB/day 28 days"), None),
            (
                "1.5GB/天 · 28天".to_owned(),
                "1.5GB/day · 28 days".to_owned()
            )
        );
        assert_eq!(
            default_titles(true, face, Some("Magic Data 299: 24GB no expiry"), None),
            ("24GB · 永久有效".to_owned(), "24GB · no expiry".to_owned())
        );
        assert_eq!(
            default_titles(true, face, Some("Hotlink 5GB 1 week"), None).1,
            "5GB · 7 days"
        );
        assert_eq!(
            default_titles(true, face, Some("Unlimited calls"), None).1,
            "Unlimited calls"
        );
        assert_eq!(
            default_titles(false, face, None, None),
            ("PHP 50.56 话费".to_owned(), "PHP 50.56 airtime".to_owned())
        );
    }
}
