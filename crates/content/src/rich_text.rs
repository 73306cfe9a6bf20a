//! Staff-written rich text is shown inside the mini-program (`rich-text`) and the H5 client
//! (as HTML), so it is reduced to a known-safe subset before it is stored: no scripts, no
//! event handlers, no styles that could cover the page, links only over http(s).

use std::collections::HashSet;
use std::sync::LazyLock;

use crate::ContentError;

static CLEANER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let tags: HashSet<&str> = [
        "p",
        "br",
        "strong",
        "b",
        "em",
        "i",
        "u",
        "s",
        "h3",
        "h4",
        "ul",
        "ol",
        "li",
        "a",
        "img",
        "blockquote",
        "span",
    ]
    .into_iter()
    .collect();
    let mut builder = ammonia::Builder::default();
    builder
        .tags(tags)
        .url_schemes(["http", "https"].into_iter().collect())
        .link_rel(Some("noopener noreferrer"))
        .add_tag_attributes("img", ["src", "alt", "width", "height"])
        .add_tag_attributes("a", ["href"]);
    builder
});

/// The HTML with everything outside the safe subset removed.
pub fn clean_html(html: &str) -> String {
    CLEANER.clean(html).to_string()
}

/// Staff-written HTML of at most `max` characters, cleaned, with something left to show.
pub(crate) fn checked_html(field: &str, html: &str, max: usize) -> Result<String, ContentError> {
    if html.chars().count() > max {
        return Err(ContentError::invalid(
            field,
            format!("at most {max} characters"),
        ));
    }
    let cleaned = clean_html(html);
    if cleaned.trim().is_empty() {
        return Err(ContentError::invalid(field, "must not be empty"));
    }
    Ok(cleaned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_handlers_and_javascript_links_are_removed() {
        let cleaned = clean_html(
            r#"<p onclick="steal()">Hi <strong>there</strong><script>alert(1)</script></p><a href="javascript:alert(1)">x</a><img src="https://cdn.example/a.png" onerror="x()">"#,
        );
        assert!(!cleaned.contains("script"), "{cleaned}");
        assert!(!cleaned.contains("onclick"), "{cleaned}");
        assert!(!cleaned.contains("onerror"), "{cleaned}");
        assert!(!cleaned.contains("javascript"), "{cleaned}");
        assert!(cleaned.contains("<strong>there</strong>"), "{cleaned}");
        assert!(
            cleaned.contains(r#"src="https://cdn.example/a.png""#),
            "{cleaned}"
        );
    }
}
