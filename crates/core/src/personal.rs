//! Masks for customers' personal data, shown to staff who lack the permission to see it
//! (`docs/security.md#personal-data`) and written to logs.

/// A phone number with its middle hidden: `+639171234567` → `+639*****4567`.
pub fn mask_phone(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    let keep_tail = 4.min(chars.len() / 3);
    let keep_head = 4.min(chars.len() / 3);
    let hidden = chars.len() - keep_head - keep_tail;
    let mut out: String = chars[..keep_head].iter().collect();
    out.extend(std::iter::repeat_n('*', hidden.max(1)));
    out.extend(&chars[chars.len() - keep_tail..]);
    out
}

/// A WeChat openid (or unionid) with all but its ends hidden: enough to tell two apart on a
/// screen, not enough to look one up.
pub fn mask_openid(openid: &str) -> String {
    let chars: Vec<char> = openid.chars().collect();
    if chars.len() < 10 {
        return "****".to_owned();
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 3..].iter().collect();
    format!("{head}****{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_keep_their_ends() {
        assert_eq!(mask_phone("+639171234567"), "+639*****4567");
        assert_eq!(mask_phone("12345"), "1***5");
        assert_eq!(mask_phone(""), "*");
    }

    #[test]
    fn openids_keep_three_characters_each_side() {
        assert_eq!(mask_openid("o85e6yhvjk7m9gzyn1spfdt29bgj"), "o85****bgj");
        assert_eq!(mask_openid("short"), "****");
    }
}
