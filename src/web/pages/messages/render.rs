//! Telegram HTML shown in the browser. Stored texts of new broadcasts were
//! checked by `domain::telegram_html`, legacy ones were not, so nothing is
//! passed through: the text is re-tokenised, the tags Telegram knows become
//! their browser counterparts with only safe attributes, everything else is
//! escaped, and every open tag is closed. The output is safe to embed in a
//! page whatever the input.

use std::fmt::Write;

use crate::domain::telegram_html::{find_tag_end, is_absolute_url, split_tag};

/// Telegram HTML as browser HTML, for a container with `white-space: pre-wrap`
/// (Telegram keeps line breaks as typed).
pub fn telegram_to_html(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 32);
    // The browser tags still open, innermost last: (Telegram name, closing tag).
    let mut open: Vec<(String, &'static str)> = Vec::new();
    let mut rest = raw;
    while let Some(c) = rest.chars().next() {
        match c {
            '<' => {
                let tag = find_tag_end(rest).and_then(|end| {
                    let inner = &rest[1..end];
                    let consumed = translate(inner, &mut open, &mut out);
                    consumed.then_some(end + 1)
                });
                match tag {
                    Some(len) => rest = &rest[len..],
                    None => {
                        out.push_str("&lt;");
                        rest = &rest[1..];
                    }
                }
            }
            '&' => {
                let (decoded, len) = entity(rest).unwrap_or(('&', 1));
                push_escaped(&mut out, decoded);
                rest = &rest[len..];
            }
            c => {
                push_escaped(&mut out, c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    while let Some((_, close)) = open.pop() {
        out.push_str(close);
    }
    out
}

/// Plain text of a Telegram HTML text (tags dropped, entities decoded,
/// whitespace collapsed), at most `max` characters with «…» when cut.
pub fn excerpt(raw: &str, max: usize) -> String {
    let mut text = String::with_capacity(raw.len().min(max * 4));
    let mut rest = raw;
    while let Some(c) = rest.chars().next() {
        match c {
            '<' => match find_tag_end(rest) {
                Some(end) => rest = &rest[end + 1..],
                None => {
                    text.push('<');
                    rest = &rest[1..];
                }
            },
            '&' => {
                let (decoded, len) = entity(rest).unwrap_or(('&', 1));
                text.push(decoded);
                rest = &rest[len..];
            }
            c => {
                text.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    let joined = words.join(" ");
    if joined.chars().count() <= max {
        return joined;
    }
    let cut: String = joined.chars().take(max.saturating_sub(1)).collect();
    format!("{}…", cut.trim_end())
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '&' => out.push_str("&amp;"),
        '"' => out.push_str("&quot;"),
        '\'' => out.push_str("&#39;"),
        c => out.push(c),
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    text.chars().for_each(|c| push_escaped(&mut out, c));
    out
}

/// `&lt;`, `&gt;`, `&amp;`, `&quot;` or a numeric reference at the start of
/// `rest`: the character and the bytes it takes.
fn entity(rest: &str) -> Option<(char, usize)> {
    let end = rest
        .char_indices()
        .skip(1)
        .take(12)
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '#'))
        .filter(|&(_, c)| c == ';')
        .map(|(i, _)| i)?;
    let decoded = match &rest[1..end] {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        body => {
            let number = body.strip_prefix('#')?;
            let value = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(value).filter(|c| *c != '\0')?
        }
    };
    Some((decoded, end + 1))
}

/// Writes the browser form of tag `inner` (between `<` and `>`); false when
/// it is no tag Telegram knows, so it is shown as text.
fn translate(inner: &str, open: &mut Vec<(String, &'static str)>, out: &mut String) -> bool {
    if let Some(name) = inner.strip_prefix('/') {
        let name = name.trim().to_ascii_lowercase();
        let Some(at) = open.iter().rposition(|(open, _)| *open == name) else {
            return false;
        };
        // Close whatever was left open inside it, so the output nests.
        for (_, close) in open.drain(at..).rev() {
            out.push_str(close);
        }
        return true;
    }
    let Some((name, attributes)) = split_tag(inner) else {
        return false;
    };
    let name = name.to_ascii_lowercase();
    let value = |key: &str| {
        attributes
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.as_deref())
    };
    let (start, close): (String, &'static str) = match name.as_str() {
        "b" => ("<b>".into(), "</b>"),
        "strong" => ("<strong>".into(), "</strong>"),
        "i" => ("<i>".into(), "</i>"),
        "em" => ("<em>".into(), "</em>"),
        "u" => ("<u>".into(), "</u>"),
        "ins" => ("<ins>".into(), "</ins>"),
        "s" | "strike" => ("<s>".into(), "</s>"),
        "del" => ("<del>".into(), "</del>"),
        "tg-spoiler" => ("<span class=\"tg-spoiler\">".into(), "</span>"),
        "span" if value("class") == Some("tg-spoiler") => {
            ("<span class=\"tg-spoiler\">".into(), "</span>")
        }
        "a" => match value("href").filter(|href| is_absolute_url(href)) {
            Some(href) => {
                let mut start = String::new();
                let _ = write!(
                    start,
                    "<a href=\"{}\" rel=\"noopener noreferrer nofollow\" target=\"_blank\">",
                    escape(href)
                );
                (start, "</a>")
            }
            None => return false,
        },
        "tg-emoji" => ("<span class=\"tg-emoji\">".into(), "</span>"),
        "code" => ("<code>".into(), "</code>"),
        "pre" => ("<pre>".into(), "</pre>"),
        "blockquote" if attributes.iter().any(|(k, _)| k == "expandable") => {
            ("<blockquote class=\"expandable\">".into(), "</blockquote>")
        }
        "blockquote" => ("<blockquote>".into(), "</blockquote>"),
        _ => return false,
    };
    out.push_str(&start);
    open.push((name, close));
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telegram_tags_become_browser_tags() {
        assert_eq!(
            telegram_to_html("<b>Привет</b>, <i>мир</i> &amp; <strike>x</strike>"),
            "<b>Привет</b>, <i>мир</i> &amp; <s>x</s>"
        );
        assert_eq!(
            telegram_to_html("<a href=\"https://hashslash.school/?a=1&amp;b=2\">сайт</a>"),
            "<a href=\"https://hashslash.school/?a=1&amp;b=2\" \
             rel=\"noopener noreferrer nofollow\" target=\"_blank\">сайт</a>"
        );
        assert_eq!(
            telegram_to_html("<span class=\"tg-spoiler\">s</span><tg-spoiler>t</tg-spoiler>"),
            "<span class=\"tg-spoiler\">s</span><span class=\"tg-spoiler\">t</span>"
        );
        assert_eq!(
            telegram_to_html("<pre><code class=\"language-rust\">fn x() {}</code></pre>"),
            "<pre><code>fn x() {}</code></pre>"
        );
        assert_eq!(
            telegram_to_html("<blockquote expandable>q</blockquote>"),
            "<blockquote class=\"expandable\">q</blockquote>"
        );
        assert_eq!(
            telegram_to_html("1 &lt; 2\n3 &#62; 2"),
            "1 &lt; 2\n3 &gt; 2"
        );
    }

    #[test]
    fn anything_else_is_shown_as_text() {
        assert_eq!(
            telegram_to_html("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(
            telegram_to_html("<img src=x onerror=alert(1)>"),
            "&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_eq!(
            telegram_to_html("<a href=\"javascript:alert(1)\">x</a>"),
            "&lt;a href=&quot;javascript:alert(1)&quot;&gt;x&lt;/a&gt;"
        );
        assert_eq!(
            telegram_to_html("<b onclick=\"x\">b</b>"),
            "<b>b</b>",
            "attributes of formatting tags are dropped"
        );
        assert_eq!(telegram_to_html("a < b & c > d"), "a &lt; b &amp; c &gt; d");
        assert_eq!(telegram_to_html("&nbsp;&bogus;"), "&amp;nbsp;&amp;bogus;");
        assert_eq!(telegram_to_html("x\"y'z"), "x&quot;y&#39;z");
    }

    #[test]
    fn output_always_nests_and_closes() {
        assert_eq!(telegram_to_html("<b><i>x</b>y"), "<b><i>x</i></b>y");
        assert_eq!(telegram_to_html("<b>open"), "<b>open</b>");
        assert_eq!(telegram_to_html("stray</i>"), "stray&lt;/i&gt;");
        assert_eq!(telegram_to_html("<a href='https://x.ru'>"), {
            "<a href=\"https://x.ru\" rel=\"noopener noreferrer nofollow\" target=\"_blank\"></a>"
        });
    }

    #[test]
    fn excerpts_are_plain_and_short() {
        assert_eq!(
            excerpt("<b>Старт</b>\n\nпотока &amp; всё", 100),
            "Старт потока & всё"
        );
        assert_eq!(excerpt("абвгдеёжзи", 5), "абвг…");
        assert_eq!(excerpt("a < b", 10), "a < b");
    }
}
