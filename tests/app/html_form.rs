//! A served `<form>` read as a browser submits it (HTML's "constructing the
//! entry list"), for the controls the dashboard's server-rendered forms
//! use: `<input>` (text, hidden, number, checkbox/radio only when
//! `checked`; never submit buttons or `disabled`), `<select>` (the
//! `selected` option, else the first) and `<textarea>`. Attribute values
//! are unescaped as askama escapes them.

/// The form whose opening tag contains `marker`: its `action` and the
/// name/value pairs a browser would send, in document order.
pub fn submitted(html: &str, marker: &str) -> (String, Vec<(String, String)>) {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("no form with {marker}"));
    let open = html[..at].rfind("<form").expect("the form's opening tag");
    let close = html[open..].find("</form>").expect("the form's end") + open;
    let form = &html[open..close];
    let tag_end = form.find('>').unwrap();
    let action = attr(&form[..tag_end], "action").expect("the form's action");
    let mut fields = Vec::new();
    let mut rest = &form[tag_end + 1..];
    while let Some(start) = rest.find('<') {
        rest = &rest[start..];
        let end = rest.find('>').expect("a closed tag");
        let tag = &rest[..=end];
        let name = tag[1..]
            .split(|c: char| c.is_whitespace() || c == '>')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        rest = &rest[end + 1..];
        let Some(field) = attr(tag, "name") else {
            continue;
        };
        if has(tag, "disabled") {
            continue;
        }
        match name.as_str() {
            "input" => {
                let kind = attr(tag, "type").unwrap_or_default().to_ascii_lowercase();
                match kind.as_str() {
                    "submit" | "button" | "reset" | "image" | "file" => {}
                    "checkbox" | "radio" => {
                        if has(tag, "checked") {
                            fields.push((field, attr(tag, "value").unwrap_or("on".into())));
                        }
                    }
                    _ => fields.push((field, attr(tag, "value").unwrap_or_default())),
                }
            }
            "select" => {
                let body_end = rest.find("</select>").expect("the select's end");
                let body = &rest[..body_end];
                rest = &rest[body_end..];
                let options: Vec<&str> = body
                    .split("<option")
                    .skip(1)
                    .map(|option| &option[..option.find('>').unwrap()])
                    .collect();
                let chosen = options
                    .iter()
                    .find(|option| has(option, "selected"))
                    .or(options.first());
                if let Some(option) = chosen {
                    fields.push((field, attr(option, "value").expect("option values")));
                }
            }
            "textarea" => {
                let body_end = rest.find("</textarea>").expect("the textarea's end");
                fields.push((field, unescape(&rest[..body_end])));
                rest = &rest[body_end..];
            }
            _ => {}
        }
    }
    (action, fields)
}

/// Replaces the value of `name` (as a user typing into the field).
pub fn set(fields: &mut [(String, String)], name: &str, value: &str) {
    let field = fields
        .iter_mut()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no field {name}"));
    field.1 = value.to_owned();
}

/// The value of `name`.
pub fn value<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no field {name}"))
}

/// `name="value"` (double quotes, as the templates write them) in a tag.
fn attr(tag: &str, name: &str) -> Option<String> {
    let marker = format!(" {name}=\"");
    let start = tag.find(&marker)? + marker.len();
    let end = tag[start..].find('"')? + start;
    Some(unescape(&tag[start..end]))
}

/// A boolean attribute (`selected`, `checked`, `disabled`).
fn has(tag: &str, name: &str) -> bool {
    let tag = tag.trim_end_matches('>');
    tag.split_whitespace().any(|word| word == name)
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
