//! Telegram's HTML parse mode, checked before anything is sent: only the
//! tags Telegram accepts, properly nested and closed, `<`, `>` and `&`
//! escaped, and the text within its length limit once the markup is
//! parsed away. An error names the problem and where it is (line and
//! column, counted in characters from 1), so staff can fix it.

mod parser;

use std::fmt;

use self::parser::Parser;
pub use self::parser::{Attributes, find_tag_end, split_tag};

/// What the text is sent as, which sets its length limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `sendMessage` text: 1–4096 characters after parsing.
    Message,
    /// A photo, video or document caption: 0–1024 characters after parsing.
    Caption,
}

impl Kind {
    pub fn max_len(self) -> usize {
        match self {
            Self::Message => 4096,
            Self::Caption => 1024,
        }
    }
}

/// Text that Telegram will accept in HTML parse mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelegramHtml {
    html: String,
    visible_len: usize,
}

impl TelegramHtml {
    /// Checks `raw` as `kind`.
    pub fn parse(raw: &str, kind: Kind) -> Result<Self, HtmlError> {
        let visible = Parser::new(raw).run()?;
        // Telegram counts UTF-16 code units and trims surrounding whitespace.
        let visible_len = visible.trim().encode_utf16().count();
        if kind == Kind::Message && visible_len == 0 {
            return Err(HtmlError::at_start(Problem::Empty));
        }
        if visible_len > kind.max_len() {
            return Err(HtmlError::at_start(Problem::TooLong {
                len: visible_len,
                max: kind.max_len(),
            }));
        }
        Ok(Self {
            html: raw.to_owned(),
            visible_len,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.html
    }

    /// Characters Telegram will count (UTF-16 code units, markup parsed away).
    pub fn visible_len(&self) -> usize {
        self.visible_len
    }
}

/// Whether `url` is an absolute address Telegram opens from a link or a
/// button: `http://`, `https://` or `tg://` with something after it, and no
/// whitespace or control characters.
pub fn is_absolute_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    ["http://", "https://", "tg://"]
        .iter()
        .any(|scheme| lower.starts_with(scheme) && lower.len() > scheme.len())
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
        && url::Url::parse(url).is_ok()
}

/// Where a problem is: line and column count characters from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A tag Telegram does not accept (`<br>`, `<p>`, `<div>`, …).
    UnsupportedTag(String),
    /// An attribute the tag does not take, or a value it does not accept.
    BadAttribute {
        tag: String,
        attribute: String,
    },
    /// A required attribute is missing (`href` of `a`, `emoji-id`, …).
    MissingAttribute {
        tag: String,
        attribute: &'static str,
    },
    /// `href` that is not an absolute http(s):// or tg:// URL.
    BadLink(String),
    /// `<` that does not start a complete tag.
    UnfinishedTag,
    /// A closing tag that does not match the innermost open one.
    MismatchedClose {
        expected: String,
        found: String,
    },
    /// A closing tag with nothing open.
    UnexpectedClose(String),
    /// A tag left open at the end of the text.
    Unclosed(String),
    /// A tag where Telegram does not allow it (e.g. inside `code`).
    BadNesting {
        tag: String,
        inside: String,
    },
    /// A literal `>` outside a tag.
    UnescapedGreaterThan,
    /// `&` that does not start `&lt;`, `&gt;`, `&amp;`, `&quot;` or `&#…;`.
    BadEntity(String),
    /// Nothing visible is left after parsing.
    Empty,
    TooLong {
        len: usize,
        max: usize,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {}, column {}: {problem}", at.line, at.column)]
pub struct HtmlError {
    pub at: Position,
    pub problem: Problem,
}

impl HtmlError {
    fn at_start(problem: Problem) -> Self {
        Self {
            at: Position { line: 1, column: 1 },
            problem,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnsupportedTag(tag) => write!(f, "Telegram does not support the tag <{tag}>"),
            Self::BadAttribute { tag, attribute } => {
                write!(f, "<{tag}> does not take the attribute {attribute}")
            }
            Self::MissingAttribute { tag, attribute } => {
                write!(f, "<{tag}> needs the attribute {attribute}")
            }
            Self::BadLink(href) => write!(
                f,
                "the link {href:?} must start with http://, https:// or tg://"
            ),
            Self::UnfinishedTag => f.write_str("'<' does not start a complete tag; write &lt;"),
            Self::MismatchedClose { expected, found } => {
                write!(f, "</{found}> closes a tag, but <{expected}> is still open")
            }
            Self::UnexpectedClose(tag) => write!(f, "</{tag}> closes a tag that is not open"),
            Self::Unclosed(tag) => write!(f, "<{tag}> is never closed"),
            Self::BadNesting { tag, inside } => {
                write!(f, "<{tag}> is not allowed inside <{inside}>")
            }
            Self::UnescapedGreaterThan => f.write_str("'>' outside a tag; write &gt;"),
            Self::BadEntity(entity) => write!(
                f,
                "{entity:?} is not an entity Telegram knows; write &amp; for '&'"
            ),
            Self::Empty => f.write_str("the text is empty"),
            Self::TooLong { len, max } => {
                write!(
                    f,
                    "the text is {len} characters long after parsing; at most {max}"
                )
            }
        }
    }
}

/// Formatting tags that take no attributes (aliases such as `strong` for
/// `b` are matched as typed: a tag closes with its own name).
#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> TelegramHtml {
        TelegramHtml::parse(raw, Kind::Message).unwrap_or_else(|e| panic!("{raw:?}: {e}"))
    }

    fn err(raw: &str) -> HtmlError {
        TelegramHtml::parse(raw, Kind::Message).expect_err(raw)
    }

    #[test]
    fn every_supported_tag_passes() {
        let text = ok(
            "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>i</ins>\
             <s>s</s><strike>s</strike><del>d</del><span class=\"tg-spoiler\">x</span>\
             <tg-spoiler>x</tg-spoiler><a href=\"https://hashslash.school/?a=1&amp;b=2\">link</a>\
             <tg-emoji emoji-id=\"5368324170671202286\">👍</tg-emoji><code>x</code>\
             <pre>p</pre><pre><code class=\"language-rust\">fn</code></pre>\
             <blockquote>q</blockquote><blockquote expandable>q</blockquote>\
             <b><i><u>deep</u></i></b><a href='tg://user?id=1'>x</a><B>upper</B>",
        );
        assert!(text.visible_len() > 0);
        assert_eq!(ok("Привет, <b>мир</b>!").visible_len(), 12);
    }

    #[test]
    fn entities_decode_and_count_as_one_character() {
        assert_eq!(
            ok("a &lt; b &amp;&amp; c &gt; d &quot;e&quot;").visible_len(),
            18
        );
        assert_eq!(ok("&#8364; &#x20AC;").visible_len(), 3);
        let cases = [
            ("5 & 6", "\"& 6\""),
            ("&nbsp;x", "&nbsp;"),
            ("&#xZZ;", "&#xZZ;"),
            ("&#1114112;", "&#1114112;"),
            ("a &", "\"&\""),
        ];
        for (raw, shown) in cases {
            let e = err(raw);
            assert!(matches!(e.problem, Problem::BadEntity(_)), "{raw}: {e}");
            assert!(
                e.to_string().contains(shown.trim_matches('"')),
                "{raw}: {e}"
            );
        }
    }

    #[test]
    fn positions_are_line_and_column() {
        let e = err("Первая строка\nвторая <br> строка");
        assert_eq!(e.at, Position { line: 2, column: 8 });
        assert_eq!(e.problem, Problem::UnsupportedTag("br".into()));
        assert_eq!(
            e.to_string(),
            "line 2, column 8: Telegram does not support the tag <br>"
        );
    }

    #[test]
    fn unsupported_tags_and_attributes_are_named() {
        for (raw, problem) in [
            ("<p>x</p>", Problem::UnsupportedTag("p".into())),
            ("<div>x</div>", Problem::UnsupportedTag("div".into())),
            ("<br/>", Problem::UnsupportedTag("br".into())),
            (
                "<b class=\"x\">x</b>",
                Problem::BadAttribute {
                    tag: "b".into(),
                    attribute: "class".into(),
                },
            ),
            (
                "<span>x</span>",
                Problem::MissingAttribute {
                    tag: "span".into(),
                    attribute: "class=\"tg-spoiler\"",
                },
            ),
            (
                "<span class=\"red\">x</span>",
                Problem::BadAttribute {
                    tag: "span".into(),
                    attribute: "class".into(),
                },
            ),
            (
                "<a>x</a>",
                Problem::MissingAttribute {
                    tag: "a".into(),
                    attribute: "href",
                },
            ),
            (
                "<a href=\"javascript:alert(1)\">x</a>",
                Problem::BadLink("javascript:alert(1)".into()),
            ),
            (
                "<a href=\"/relative\">x</a>",
                Problem::BadLink("/relative".into()),
            ),
            (
                "<a href=\"https://\">x</a>",
                Problem::BadLink("https://".into()),
            ),
            (
                "<tg-emoji emoji-id=\"abc\">x</tg-emoji>",
                Problem::BadAttribute {
                    tag: "tg-emoji".into(),
                    attribute: "emoji-id".into(),
                },
            ),
            (
                "<code class=\"language-rust\">x</code>",
                Problem::BadAttribute {
                    tag: "code".into(),
                    attribute: "class".into(),
                },
            ),
            (
                "<blockquote expandable=\"yes\">x</blockquote>",
                Problem::BadAttribute {
                    tag: "blockquote".into(),
                    attribute: "expandable".into(),
                },
            ),
        ] {
            assert_eq!(err(raw).problem, problem, "{raw}");
        }
    }

    #[test]
    fn nesting_and_closing_are_checked() {
        for (raw, problem, column) in [
            (
                "<b>x</i>",
                Problem::MismatchedClose {
                    expected: "b".into(),
                    found: "i".into(),
                },
                5,
            ),
            (
                "<b><i>x</b></i>",
                Problem::MismatchedClose {
                    expected: "i".into(),
                    found: "b".into(),
                },
                8,
            ),
            ("x</b>", Problem::UnexpectedClose("b".into()), 2),
            ("ab <b>x", Problem::Unclosed("b".into()), 4),
            (
                "<code><b>x</b></code>",
                Problem::BadNesting {
                    tag: "b".into(),
                    inside: "code".into(),
                },
                7,
            ),
            (
                "<pre><i>x</i></pre>",
                Problem::BadNesting {
                    tag: "i".into(),
                    inside: "pre".into(),
                },
                6,
            ),
            (
                "<blockquote><b><blockquote>x</blockquote></b></blockquote>",
                Problem::BadNesting {
                    tag: "blockquote".into(),
                    inside: "blockquote".into(),
                },
                16,
            ),
            (
                "<a href=\"https://a.b\"><a href=\"https://c.d\">x</a></a>",
                Problem::BadNesting {
                    tag: "a".into(),
                    inside: "a".into(),
                },
                23,
            ),
            ("a > b", Problem::UnescapedGreaterThan, 3),
            ("a < b", Problem::UnfinishedTag, 3),
            ("<b", Problem::UnfinishedTag, 1),
        ] {
            let e = err(raw);
            assert_eq!((e.problem, e.at.column), (problem, column), "{raw}");
        }
    }

    #[test]
    fn length_is_counted_after_parsing() {
        let at_limit = format!("<b>{}</b>", "я".repeat(4096));
        assert_eq!(ok(&at_limit).visible_len(), 4096);
        let over = format!("{}&amp;", "я".repeat(4096));
        assert_eq!(
            err(&over).problem,
            Problem::TooLong {
                len: 4097,
                max: 4096
            }
        );
        // An emoji outside the BMP is two UTF-16 units, as Telegram counts.
        assert_eq!(ok("😀").visible_len(), 2);
        assert_eq!(err("  <b> </b>\n").problem, Problem::Empty);

        let caption = TelegramHtml::parse("", Kind::Caption).unwrap();
        assert_eq!(caption.visible_len(), 0);
        let long_caption = "x".repeat(1025);
        assert_eq!(
            TelegramHtml::parse(&long_caption, Kind::Caption)
                .unwrap_err()
                .problem,
            Problem::TooLong {
                len: 1025,
                max: 1024
            }
        );
        assert_eq!(
            TelegramHtml::parse(&"x".repeat(1024), Kind::Caption)
                .unwrap()
                .as_str()
                .len(),
            1024
        );
    }

    #[test]
    fn quoted_attributes_may_hold_angle_brackets() {
        let text = ok("<a href=\"https://x.y/?q=a>b\">x</a>");
        assert_eq!(text.visible_len(), 1);
    }
}
