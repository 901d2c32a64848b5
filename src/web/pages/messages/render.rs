//! Telegram HTML as a browser should show it, through an allow-list: the
//! tags Telegram formats become their browser equivalents (spoilers and
//! custom emoji as styled spans), every other `<`, `>` and `&` is escaped,
//! links keep only http(s) addresses, and tags left open are closed. Safe
//! for any stored text, checked or not (legacy broadcasts were never
//! checked).

use crate::domain::telegram_html::is_absolute_url;

/// `raw` Telegram HTML as safe browser HTML; new lines become `<br>`.
pub fn telegram_to_html(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 32);
    let mut open: Vec<&'static str> = Vec::new();
    let mut rest = raw;
    while let Some(c) = rest.chars().next() {
        match c {
            '<' => match rest
                .find('>')
                .and_then(|end| tag(&rest[1..end]).map(|t| (end, t)))
            {
                Some((end, Tag::Open(name, html))) => {
                    out.push_str(&html);
                    open.push(name);
                    rest = &rest[end + 1..];
                }
                Some((end, Tag::Close(name))) => {
                    if let Some(at) = open.iter().rposition(|o| *o == name) {
                        for closing in open.drain(at..).rev() {
                            close(&mut out, closing);
                        }
                    }
                    rest = &rest[end + 1..];
                }
                None => {
                    out.push_str("&lt;");
                    rest = &rest[1..];
                }
            },
            '&' => {
                let entity = entity(rest);
                match entity {
                    Some(len) => out.push_str(&rest[..len]),
                    None => out.push_str("&amp;"),
                }
                rest = &rest[entity.unwrap_or(1)..];
            }
            _ => {
                match c {
                    '>' => out.push_str("&gt;"),
                    '"' => out.push_str("&quot;"),
                    '\'' => out.push_str("&#39;"),
                    '\n' => out.push_str("<br>"),
                    '\r' => {}
                    c => out.push(c),
                }
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    for closing in open.into_iter().rev() {
        close(&mut out, closing);
    }
    out
}

enum Tag {
    /// The element opened (its closing name) and the HTML that opens it.
    Open(&'static str, String),
    Close(&'static str),
}

/// The browser element a Telegram tag becomes, and the class it gets.
fn element(name: &str) -> Option<(&'static str, Option<&'static str>)> {
    Some(match name {
        "b" | "strong" => ("b", None),
        "i" | "em" => ("i", None),
        "u" | "ins" => ("u", None),
        "s" | "strike" | "del" => ("s", None),
        "tg-spoiler" => ("span", Some("tg-spoiler")),
        "tg-emoji" => ("span", Some("tg-emoji")),
        "a" => ("a", None),
        "code" => ("code", None),
        "pre" => ("pre", None),
        "blockquote" => ("blockquote", None),
        "span" => ("span", None),
        _ => return None,
    })
}

fn tag(inner: &str) -> Option<Tag> {
    if let Some(name) = inner.strip_prefix('/') {
        let name = name.trim().to_ascii_lowercase();
        return element(&name).map(|(element, _)| Tag::Close(element));
    }
    let inner = inner.trim_end_matches('/');
    let name_end = inner
        .find(|c: char| c.is_whitespace())
        .unwrap_or(inner.len());
    let name = inner[..name_end].to_ascii_lowercase();
    let (element, class) = element(&name)?;
    let attributes = &inner[name_end..];
    let html = match name.as_str() {
        "a" => match attribute(attributes, "href").filter(|href| is_web_link(href)) {
            Some(href) => format!(
                "<a href=\"{}\" target=\"_blank\" rel=\"noopener noreferrer\">",
                escape_attribute(&href)
            ),
            None => "<a>".to_owned(),
        },
        "span" => {
            let spoiler = attribute(attributes, "class").is_some_and(|c| c == "tg-spoiler");
            if spoiler {
                "<span class=\"tg-spoiler\">".to_owned()
            } else {
                "<span>".to_owned()
            }
        }
        _ => match class {
            Some(class) => format!("<{element} class=\"{class}\">"),
            None => format!("<{element}>"),
        },
    };
    Some(Tag::Open(element, html))
}

fn close(out: &mut String, element: &str) {
    out.push_str("</");
    out.push_str(element);
    out.push('>');
}

/// Links a browser may follow from the preview: http(s) only (tg:// opens
/// Telegram, which is of no use in a preview).
fn is_web_link(href: &str) -> bool {
    let lower = href.to_ascii_lowercase();
    is_absolute_url(href) && (lower.starts_with("http://") || lower.starts_with("https://"))
}

/// The value of attribute `name` (quoted with " or ', or bare), entities
/// decoded for the few Telegram allows.
fn attribute(attributes: &str, name: &str) -> Option<String> {
    let mut rest = attributes.trim_start();
    while !rest.is_empty() {
        let key_end = rest
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(rest.len());
        let key = rest[..key_end].to_ascii_lowercase();
        rest = rest[key_end..].trim_start();
        let mut value = None;
        if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            let (v, remaining) = match after.chars().next() {
                Some(quote @ ('"' | '\'')) => {
                    let body = &after[1..];
                    let end = body.find(quote).unwrap_or(body.len());
                    (&body[..end], body.get(end + 1..).unwrap_or(""))
                }
                _ => {
                    let end = after
                        .find(|c: char| c.is_whitespace())
                        .unwrap_or(after.len());
                    (&after[..end], &after[end..])
                }
            };
            value = Some(decode(v));
            rest = remaining.trim_start();
        }
        if key == name {
            return value;
        }
    }
    None
}

fn decode(value: &str) -> String {
    value
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

fn escape_attribute(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The length of the entity `text` starts with, if it is one a browser
/// reads the way Telegram does: named `lt`/`gt`/`amp`/`quot`, or numeric.
fn entity(text: &str) -> Option<usize> {
    let (end, _) = text.char_indices().take(12).find(|(_, c)| *c == ';')?;
    let body = &text[1..end];
    let valid = matches!(body, "lt" | "gt" | "amp" | "quot")
        || body
            .strip_prefix("#x")
            .or_else(|| body.strip_prefix("#X"))
            .is_some_and(|hex| !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()))
        || body
            .strip_prefix('#')
            .is_some_and(|dec| !dec.is_empty() && dec.chars().all(|c| c.is_ascii_digit()));
    valid.then_some(end + 1)
}

#[cfg(test)]
mod tests {
    use super::telegram_to_html as html;

    #[test]
    fn formatting_tags_become_browser_tags() {
        assert_eq!(
            html(
                "<b>Жирный</b> <strong>и</strong> <i>к</i> <em>e</em> <u>u</u> <s>s</s> <del>d</del>"
            ),
            "<b>Жирный</b> <b>и</b> <i>к</i> <i>e</i> <u>u</u> <s>s</s> <s>d</s>"
        );
        assert_eq!(
            html("<tg-spoiler>x</tg-spoiler><span class=\"tg-spoiler\">y</span>"),
            "<span class=\"tg-spoiler\">x</span><span class=\"tg-spoiler\">y</span>"
        );
        assert_eq!(
            html("<pre><code class=\"language-rust\">fn</code></pre>"),
            "<pre><code>fn</code></pre>"
        );
        assert_eq!(html("a\nb"), "a<br>b");
    }

    #[test]
    fn links_keep_only_web_addresses() {
        assert_eq!(
            html("<a href=\"https://x.y/?a=1&amp;b=2\">l</a>"),
            "<a href=\"https://x.y/?a=1&amp;b=2\" target=\"_blank\" rel=\"noopener noreferrer\">l</a>"
        );
        assert_eq!(html("<a href='tg://user?id=1'>u</a>"), "<a>u</a>");
        assert_eq!(html("<a href=\"javascript:alert(1)\">x</a>"), "<a>x</a>");
        assert_eq!(
            html("<a href=\"https://a.b\" onclick=\"x()\">x</a>"),
            "<a href=\"https://a.b\" target=\"_blank\" rel=\"noopener noreferrer\">x</a>"
        );
    }

    #[test]
    fn anything_else_is_escaped_text() {
        assert_eq!(
            html("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(
            html("<img src=x onerror=alert(1)>"),
            "&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_eq!(
            html("1 < 2 & 3 > 2 \"q\""),
            "1 &lt; 2 &amp; 3 &gt; 2 &quot;q&quot;"
        );
        assert_eq!(
            html("&lt;b&gt; &amp; &#169; &#x1F600; &nope;"),
            "&lt;b&gt; &amp; &#169; &#x1F600; &amp;nope;"
        );
    }

    #[test]
    fn open_tags_are_closed_and_stray_closers_dropped() {
        assert_eq!(html("<b><i>x"), "<b><i>x</i></b>");
        assert_eq!(html("x</b>y"), "xy");
        assert_eq!(html("<b><i>x</b>y"), "<b><i>x</i></b>y");
    }
}
