//! The parser behind [`TelegramHtml::parse`](super::TelegramHtml::parse):
//! one pass over the characters, a stack of open tags, the visible text.

use super::{HtmlError, Position, Problem, is_absolute_url};

const FORMATTING: &[&str] = &[
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "tg-spoiler",
];

/// A tag's attributes: lowercased names, decoded values (`None` for a bare
/// flag such as `expandable`).
pub type Attributes = Vec<(String, Option<String>)>;

struct Open {
    name: String,
    at: Position,
}

pub(super) struct Parser<'a> {
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    raw: &'a str,
    line: usize,
    column: usize,
    stack: Vec<Open>,
    visible: String,
}

impl<'a> Parser<'a> {
    pub(super) fn new(raw: &'a str) -> Self {
        Self {
            chars: raw.char_indices().peekable(),
            raw,
            line: 1,
            column: 1,
            stack: Vec::new(),
            visible: String::new(),
        }
    }

    fn position(&self) -> Position {
        Position {
            line: self.line,
            column: self.column,
        }
    }

    fn bump(&mut self) -> Option<(usize, char)> {
        let next = self.chars.next()?;
        if next.1 == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(next)
    }

    pub(super) fn run(mut self) -> Result<String, HtmlError> {
        while let Some(&(start, c)) = self.chars.peek() {
            let at = self.position();
            match c {
                '<' => self.tag(start, at)?,
                '>' => {
                    return Err(HtmlError {
                        at,
                        problem: Problem::UnescapedGreaterThan,
                    });
                }
                '&' => {
                    let decoded = self.entity(start, at)?;
                    self.visible.push(decoded);
                }
                _ => {
                    self.bump();
                    self.visible.push(c);
                }
            }
        }
        match self.stack.pop() {
            Some(open) => Err(HtmlError {
                at: open.at,
                problem: Problem::Unclosed(open.name),
            }),
            None => Ok(self.visible),
        }
    }

    /// Reads `&…;` and returns the character it stands for.
    fn entity(&mut self, start: usize, at: Position) -> Result<char, HtmlError> {
        let rest = &self.raw[start..];
        // `&name;` or `&#digits;`: a short run of letters, digits and `#`.
        let end = rest
            .char_indices()
            .skip(1)
            .take(12)
            .find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '#'))
            .filter(|&(_, c)| c == ';')
            .map(|(i, _)| i);
        let bad = |text: &str| HtmlError {
            at,
            problem: Problem::BadEntity(text.to_owned()),
        };
        let Some(end) = end else {
            let shown: String = rest.chars().take(8).collect();
            return Err(bad(&shown));
        };
        let text = &rest[..=end];
        let decoded = match &text[1..end] {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            body => body.strip_prefix('#').and_then(|number| {
                let value = match number.strip_prefix(['x', 'X']) {
                    Some(hex) => u32::from_str_radix(hex, 16).ok(),
                    None => number.parse().ok(),
                };
                value.and_then(char::from_u32)
            }),
        };
        let decoded = decoded.ok_or_else(|| bad(text))?;
        for _ in text.chars() {
            self.bump();
        }
        Ok(decoded)
    }

    /// Reads a whole tag starting at `<`.
    fn tag(&mut self, start: usize, at: Position) -> Result<(), HtmlError> {
        let rest = &self.raw[start..];
        let fail = |problem| HtmlError { at, problem };
        let Some(end) = find_tag_end(rest) else {
            return Err(fail(Problem::UnfinishedTag));
        };
        let inner = &rest[1..end];
        for _ in rest[..=end].chars() {
            self.bump();
        }
        if let Some(name) = inner.strip_prefix('/') {
            let name = name.trim().to_ascii_lowercase();
            return match self.stack.pop() {
                Some(open) if open.name == name => Ok(()),
                Some(open) => Err(fail(Problem::MismatchedClose {
                    expected: open.name,
                    found: name,
                })),
                None => Err(fail(Problem::UnexpectedClose(name))),
            };
        }
        let (name, attributes) = split_tag(inner).ok_or_else(|| fail(Problem::UnfinishedTag))?;
        let name = name.to_ascii_lowercase();
        self.check_tag(&name, &attributes).map_err(fail)?;
        self.check_nesting(&name).map_err(fail)?;
        self.stack.push(Open { name, at });
        Ok(())
    }

    fn check_tag(
        &self,
        name: &str,
        attributes: &[(String, Option<String>)],
    ) -> Result<(), Problem> {
        let bad = |attribute: &str| Problem::BadAttribute {
            tag: name.to_owned(),
            attribute: attribute.to_owned(),
        };
        let only = |allowed: &[&str]| -> Result<(), Problem> {
            match attributes
                .iter()
                .find(|(key, _)| !allowed.contains(&key.as_str()))
            {
                Some((key, _)) => Err(bad(key)),
                None => Ok(()),
            }
        };
        let value = |key: &str| {
            attributes
                .iter()
                .find(|(k, _)| k == key)
                .and_then(|(_, v)| v.as_deref())
        };
        let missing = |attribute: &'static str| Problem::MissingAttribute {
            tag: name.to_owned(),
            attribute,
        };
        match name {
            _ if FORMATTING.contains(&name) => only(&[]),
            "span" => {
                only(&["class"])?;
                match value("class") {
                    Some("tg-spoiler") => Ok(()),
                    Some(_) => Err(bad("class")),
                    None => Err(missing("class=\"tg-spoiler\"")),
                }
            }
            "a" => {
                only(&["href"])?;
                let href = value("href").ok_or_else(|| missing("href"))?;
                if is_absolute_url(href) {
                    Ok(())
                } else {
                    Err(Problem::BadLink(href.to_owned()))
                }
            }
            "tg-emoji" => {
                only(&["emoji-id"])?;
                match value("emoji-id") {
                    Some(id) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => Ok(()),
                    Some(_) => Err(bad("emoji-id")),
                    None => Err(missing("emoji-id")),
                }
            }
            "code" => {
                only(&["class"])?;
                match value("class") {
                    None => Ok(()),
                    Some(class)
                        if self.stack.last().is_some_and(|open| open.name == "pre")
                            && class
                                .strip_prefix("language-")
                                .is_some_and(|lang| !lang.is_empty()) =>
                    {
                        Ok(())
                    }
                    Some(_) => Err(bad("class")),
                }
            }
            "pre" => only(&[]),
            "blockquote" => {
                only(&["expandable"])?;
                match attributes.iter().find(|(k, _)| k == "expandable") {
                    Some((_, Some(_))) => Err(bad("expandable")),
                    _ => Ok(()),
                }
            }
            other => Err(Problem::UnsupportedTag(other.to_owned())),
        }
    }

    fn check_nesting(&self, name: &str) -> Result<(), Problem> {
        let nested = |inside: &str| Problem::BadNesting {
            tag: name.to_owned(),
            inside: inside.to_owned(),
        };
        if let Some(parent) = self.stack.last() {
            match parent.name.as_str() {
                "code" => return Err(nested("code")),
                "pre" if name != "code" => return Err(nested("pre")),
                _ => {}
            }
        }
        for open in &self.stack {
            let forbidden = match name {
                "blockquote" => open.name == "blockquote",
                "a" => open.name == "a",
                "pre" => open.name == "pre" || open.name == "code",
                _ => false,
            };
            if forbidden {
                return Err(nested(&open.name));
            }
        }
        Ok(())
    }
}

/// The byte index of the `>` that ends the tag starting `rest` (quotes
/// respected), or `None` when the tag is unfinished.
pub fn find_tag_end(rest: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (i, c) in rest.char_indices().skip(1) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => return Some(i),
            (None, '<') => return None,
            _ => {}
        }
    }
    None
}

/// Splits `name attr="v" flag` into the name and its attributes (names
/// lowercased, values entity-decoded); `None` when it is not a tag.
pub fn split_tag(inner: &str) -> Option<(&str, Attributes)> {
    // `<br/>`: report the tag itself, not a broken tag.
    let inner = inner.trim_end();
    let inner = inner.strip_suffix('/').unwrap_or(inner);
    let name_end = inner
        .find(|c: char| c.is_whitespace())
        .unwrap_or(inner.len());
    let name = &inner[..name_end];
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return None;
    }
    let mut attributes = Vec::new();
    let mut rest = inner[name_end..].trim_start();
    while !rest.is_empty() {
        let key_end = rest
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(rest.len());
        let key = rest[..key_end].to_ascii_lowercase();
        if key.is_empty() {
            return None;
        }
        rest = rest[key_end..].trim_start();
        let value = if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            let (value, remainder) = match after.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let close = after[1..].find(q)? + 1;
                    (&after[1..close], &after[close + 1..])
                }
                _ => {
                    let end = after
                        .find(|c: char| c.is_whitespace())
                        .unwrap_or(after.len());
                    (&after[..end], &after[end..])
                }
            };
            rest = remainder.trim_start();
            Some(decode_attribute(value))
        } else {
            None
        };
        attributes.push((key, value));
    }
    Some((name, attributes))
}

/// Decodes the entities Telegram knows in an attribute value; anything else
/// is kept as written.
fn decode_attribute(value: &str) -> String {
    value
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
