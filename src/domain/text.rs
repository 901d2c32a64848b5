//! Which characters typed text may hold. PostgreSQL refuses NUL in `text`
//! and `\u0000` in `jsonb` (a 500 if it got that far); the other C0 control
//! characters are stored but are never typed by a person and confuse
//! Telegram and spreadsheets, so input refuses them too. Tab, line feed and
//! carriage return stay allowed.

/// Whether `c` may not appear in text we accept.
pub fn is_forbidden(c: char) -> bool {
    c.is_ascii_control() && !matches!(c, '\t' | '\n' | '\r' | '\x7f')
}

/// The first character of `text` we refuse, if any.
pub fn first_forbidden(text: &str) -> Option<char> {
    text.chars().find(|&c| is_forbidden(c))
}

/// `U+0000 (NUL)` style, for messages.
pub fn describe(c: char) -> String {
    match c {
        '\0' => "U+0000 (NUL)".to_owned(),
        _ => format!("U+{:04X}", u32::from(c)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_and_other_c0_controls_are_refused_whitespace_is_not() {
        for bad in ["a\0b", "\u{1}", "x\u{1b}[31m", "\u{b}", "\u{c}", "\u{1f}"] {
            assert!(first_forbidden(bad).is_some(), "{bad:?}");
        }
        for good in [
            "",
            "Привет,\tмир\r\nещё",
            "emoji 🎉",
            "del\u{7f}",
            "nbsp\u{a0}",
        ] {
            assert_eq!(first_forbidden(good), None, "{good:?}");
        }
        assert_eq!(describe('\0'), "U+0000 (NUL)");
        assert_eq!(describe('\u{1b}'), "U+001B");
    }
}
