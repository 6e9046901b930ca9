//! Validation of the caller-chosen ids: identity stores, users, and the
//! free-text labels a session carries.
//!
//! These ids travel in URL paths of every dialect (Huawei's SDK sends them
//! percent-encoded, with spaces, `+`, `~`, `/` and non-ASCII intact), so the
//! rules are: not empty, at most [`MAX_ID_CHARS`] characters, no control or
//! format characters (Unicode categories Cc and Cf: a right-to-left override
//! or a zero-width space makes text read differently than it is), no
//! leading or trailing white space.

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// The longest identity store or user id accepted.
pub const MAX_ID_CHARS: usize = 128;

/// The longest user agent kept; longer ones are cut at a character
/// boundary (real agents are a few hundred bytes; the limit bounds storage).
pub const MAX_USER_AGENT_CHARS: usize = 1024;

/// The longest title or credentials type accepted.
pub const MAX_LABEL_CHARS: usize = 256;

/// What is wrong with an id or label.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
    #[error("{field} is longer than {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("{field} must not contain control or format characters")]
    ControlCharacter { field: &'static str },
    #[error("{field} must not start or end with white space")]
    SurroundingWhitespace { field: &'static str },
}

/// Checks an identity store id, user id or similar caller-chosen id.
pub fn validate_id(field: &'static str, value: &str) -> Result<(), IdError> {
    validate_text(field, value, MAX_ID_CHARS)
}

/// Checks a free-text label (title, credentials type).
pub fn validate_label(field: &'static str, value: &str) -> Result<(), IdError> {
    validate_text(field, value, MAX_LABEL_CHARS)
}

fn validate_text(field: &'static str, value: &str, max: usize) -> Result<(), IdError> {
    if value.is_empty() {
        return Err(IdError::Empty { field });
    }
    if value.chars().count() > max {
        return Err(IdError::TooLong { field, max });
    }
    if value.chars().any(is_control_or_format) {
        return Err(IdError::ControlCharacter { field });
    }
    if value.trim() != value {
        return Err(IdError::SurroundingWhitespace { field });
    }
    Ok(())
}

/// Whether `c` is a Unicode control (Cc) or format (Cf) character.
fn is_control_or_format(c: char) -> bool {
    if c.is_ascii() {
        // No ASCII character is a format character; the table lookup
        // below took 1% of a cached lookup's CPU, for ids that are ASCII.
        return c.is_ascii_control();
    }
    c.is_control() || c.general_category() == GeneralCategory::Format
}

/// A user agent as it is kept: control and format characters removed, cut to
/// [`MAX_USER_AGENT_CHARS`]; `None` when nothing is left.
pub fn normalize_user_agent(raw: &str) -> Option<String> {
    let cleaned: String = raw
        .chars()
        .filter(|c| !is_control_or_format(*c))
        .take(MAX_USER_AGENT_CHARS)
        .collect();
    let trimmed = cleaned.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_with_url_hostile_characters_are_accepted() {
        for id in ["user 1", "a+b", "x~y", "a/b", "ユーザー", "42"] {
            assert_eq!(validate_id("user_id", id), Ok(()), "{id}");
        }
    }

    #[test]
    fn the_ascii_shortcut_agrees_with_the_unicode_tables() {
        for c in (0u8..=127).map(char::from) {
            assert_eq!(
                is_control_or_format(c),
                c.is_control() || c.general_category() == GeneralCategory::Format,
                "{c:?}"
            );
        }
    }

    #[test]
    fn format_characters_are_refused_like_control_characters() {
        for text in [
            "evil\u{202e}txt.exe",
            "zero\u{200b}width",
            "\u{feff}bom",
            "soft\u{ad}hyphen",
        ] {
            assert_eq!(
                validate_label("title", text),
                Err(IdError::ControlCharacter { field: "title" }),
                "{text:?}"
            );
        }
        assert_eq!(
            validate_label("title", "Acme console – ünïcödé 北京"),
            Ok(())
        );
        assert_eq!(
            normalize_user_agent("curl/8\u{202e}.5"),
            Some("curl/8.5".to_string())
        );
    }

    #[test]
    fn bad_ids_are_refused() {
        assert_eq!(
            validate_id("user_id", ""),
            Err(IdError::Empty { field: "user_id" })
        );
        assert!(matches!(
            validate_id("user_id", "a\u{0}b"),
            Err(IdError::ControlCharacter { .. })
        ));
        assert!(matches!(
            validate_id("user_id", "a\nb"),
            Err(IdError::ControlCharacter { .. })
        ));
        assert!(matches!(
            validate_id("user_id", " a"),
            Err(IdError::SurroundingWhitespace { .. })
        ));
        let long = "x".repeat(MAX_ID_CHARS + 1);
        assert!(matches!(
            validate_id("user_id", &long),
            Err(IdError::TooLong { .. })
        ));
        assert_eq!(validate_id("user_id", &"x".repeat(MAX_ID_CHARS)), Ok(()));
    }

    #[test]
    fn user_agents_are_cleaned_and_bounded() {
        assert_eq!(normalize_user_agent("  \t "), None);
        assert_eq!(
            normalize_user_agent("curl/8.0\r\n").as_deref(),
            Some("curl/8.0")
        );
        let long = "a".repeat(MAX_USER_AGENT_CHARS * 2);
        assert_eq!(
            normalize_user_agent(&long).map(|ua| ua.len()),
            Some(MAX_USER_AGENT_CHARS)
        );
    }
}
