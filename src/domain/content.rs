//! What a broadcast sends: a text in Telegram HTML, or a photo, video or
//! document by its Telegram `file_id` with an optional caption; inline
//! buttons; for texts, whether Telegram shows a link preview. Parsed once,
//! so a `Content` is always something Telegram should accept.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::broadcast::{Keyboard, KeyboardError, RawButton};
use super::telegram_html::{HtmlError, Kind, TelegramHtml};
use super::text;

/// Longest `file_id` accepted; Telegram's are well under this.
pub const MAX_FILE_ID: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentType {
    Text,
    Photo,
    Video,
    Document,
}

impl ContentType {
    pub const ALL: [Self; 4] = [Self::Text, Self::Photo, Self::Video, Self::Document];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Photo => "photo",
            Self::Video => "video",
            Self::Document => "document",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == raw)
    }
}

/// Content as the API receives it (API.md `content`), before validation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RawContent {
    /// A text message.
    Text {
        /// Telegram HTML (`<b>`, `<i>`, `<a href>`, …; `&lt;` for `<`), at
        /// most 4096 characters after parsing.
        #[schema(min_length = 1, example = "<b>Привет</b>")]
        text: String,
        #[serde(default)]
        link_preview: bool,
        /// Rows of inline buttons.
        #[serde(default)]
        buttons: Vec<Vec<RawButton>>,
    },
    Photo(RawMedia),
    Video(RawMedia),
    Document(RawMedia),
}

/// A photo, video or document Telegram already has.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMedia {
    /// Telegram's `file_id`.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,256}$", example = "AgACAgIAAxkBAAIB")]
    pub file_id: String,
    /// Telegram HTML, at most 1024 characters after parsing.
    #[serde(default)]
    pub caption: String,
    /// Rows of inline buttons.
    #[serde(default)]
    pub buttons: Vec<Vec<RawButton>>,
}

/// Validated content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    pub kind: ContentType,
    /// The text, or the caption (possibly empty) of a media message.
    pub html: TelegramHtml,
    /// Set exactly for media.
    pub file_id: Option<String>,
    pub buttons: Keyboard,
    /// Only texts have link previews.
    pub link_preview: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContentError {
    #[error("{field}: {error}")]
    Html {
        field: &'static str,
        error: HtmlError,
    },
    #[error("buttons: {0}")]
    Buttons(KeyboardError),
    #[error("file_id must be 1–{MAX_FILE_ID} characters of letters, digits, '-' and '_'")]
    FileId,
    /// A character PostgreSQL or Telegram would refuse (see `domain::text`).
    #[error("{field} contains the control character {}, which is not allowed", text::describe(*.found))]
    Control { field: &'static str, found: char },
}

/// The text or caption `raw`, checked for control characters and as
/// Telegram HTML.
fn html(raw: &str, field: &'static str, kind: Kind) -> Result<TelegramHtml, ContentError> {
    if let Some(found) = text::first_forbidden(raw) {
        return Err(ContentError::Control { field, found });
    }
    TelegramHtml::parse(raw, kind).map_err(|error| ContentError::Html { field, error })
}

impl Content {
    pub fn parse(raw: RawContent) -> Result<Self, ContentError> {
        match raw {
            RawContent::Text {
                text,
                link_preview,
                buttons,
            } => Ok(Self {
                html: html(&text, "text", Kind::Message)?,
                kind: ContentType::Text,
                file_id: None,
                buttons: Keyboard::parse(buttons).map_err(ContentError::Buttons)?,
                link_preview,
            }),
            RawContent::Photo(media) => Self::media(ContentType::Photo, media),
            RawContent::Video(media) => Self::media(ContentType::Video, media),
            RawContent::Document(media) => Self::media(ContentType::Document, media),
        }
    }

    fn media(kind: ContentType, raw: RawMedia) -> Result<Self, ContentError> {
        let file_id = raw.file_id.trim();
        let valid = !file_id.is_empty()
            && file_id.len() <= MAX_FILE_ID
            && file_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(ContentError::FileId);
        }
        Ok(Self {
            kind,
            html: html(&raw.caption, "caption", Kind::Caption)?,
            file_id: Some(file_id.to_owned()),
            buttons: Keyboard::parse(raw.buttons).map_err(ContentError::Buttons)?,
            link_preview: false,
        })
    }

    /// Rebuilds stored content. Stored content was valid when it was
    /// written, so this only fails on rows changed behind our back.
    pub fn from_stored(
        kind: &str,
        html: &str,
        file_id: Option<&str>,
        buttons: &Value,
        link_preview: bool,
    ) -> Result<Self, ContentError> {
        let buttons: Vec<Vec<RawButton>> =
            serde_json::from_value(buttons.clone()).unwrap_or_default();
        let raw = match ContentType::parse(kind) {
            Some(ContentType::Text) | None => RawContent::Text {
                text: html.to_owned(),
                link_preview,
                buttons,
            },
            Some(media) => {
                let media_raw = RawMedia {
                    file_id: file_id.unwrap_or_default().to_owned(),
                    caption: html.to_owned(),
                    buttons,
                };
                match media {
                    ContentType::Photo => RawContent::Photo(media_raw),
                    ContentType::Video => RawContent::Video(media_raw),
                    _ => RawContent::Document(media_raw),
                }
            }
        };
        Self::parse(raw)
    }

    /// The API.md JSON shape.
    pub fn to_json(&self) -> Value {
        match self.kind {
            ContentType::Text => json!({
                "type": "text",
                "text": self.html.as_str(),
                "link_preview": self.link_preview,
                "buttons": self.buttons,
            }),
            media => json!({
                "type": media.as_str(),
                "file_id": self.file_id,
                "caption": self.html.as_str(),
                "buttons": self.buttons,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::broadcast::KeyboardError;

    fn parse(value: Value) -> Result<Content, ContentError> {
        Content::parse(serde_json::from_value(value).expect("shape"))
    }

    #[test]
    fn a_text_with_buttons_round_trips_through_json() {
        let input = json!({
            "type": "text", "text": "<b>Привет</b>", "link_preview": true,
            "buttons": [[{"text": "Открыть", "url": "https://example.org"}],
                        [{"text": "Да", "callback_data": "yes"}]]
        });
        let content = parse(input.clone()).unwrap();
        assert_eq!(content.kind, ContentType::Text);
        assert_eq!(content.html.visible_len(), 6);
        assert_eq!(content.to_json(), input);
        let stored = Content::from_stored(
            "text",
            content.html.as_str(),
            None,
            &serde_json::to_value(&content.buttons).unwrap(),
            true,
        )
        .unwrap();
        assert_eq!(stored, content);
    }

    #[test]
    fn control_characters_in_text_caption_or_buttons_are_refused() {
        let text = parse(json!({"type": "text", "text": "a\u{0}b"})).unwrap_err();
        assert_eq!(
            text,
            ContentError::Control {
                field: "text",
                found: '\0'
            }
        );
        assert!(text.to_string().contains("U+0000"), "{text}");
        let caption = parse(json!({"type": "photo", "file_id": "x", "caption": "\u{1b}"}));
        assert!(matches!(
            caption,
            Err(ContentError::Control {
                field: "caption",
                ..
            })
        ));
        for button in [
            json!({"text": "a\u{0}", "url": "https://example.org"}),
            json!({"text": "a", "url": "https://example.org/\u{0}"}),
            json!({"text": "a", "callback_data": "\u{0}"}),
        ] {
            let err = parse(json!({"type": "text", "text": "hi", "buttons": [[button]]}));
            assert!(
                matches!(
                    err,
                    Err(ContentError::Buttons(KeyboardError::Button {
                        problem: crate::domain::broadcast::ButtonProblem::Control,
                        ..
                    }))
                ),
                "{err:?}"
            );
        }
        let fine = parse(json!({"type": "text", "text": "строка\r\n\tвторая"}));
        assert!(fine.is_ok(), "{fine:?}");
    }

    #[test]
    fn media_take_a_file_id_and_an_optional_caption() {
        let content = parse(json!({"type": "photo", "file_id": "AgAC-x_1"})).unwrap();
        assert_eq!(content.kind, ContentType::Photo);
        assert_eq!(content.file_id.as_deref(), Some("AgAC-x_1"));
        assert_eq!(content.html.as_str(), "");
        assert!(!content.link_preview);
        for bad in ["", "  ", "has space", "кириллица", &"x".repeat(257)] {
            assert_eq!(
                parse(json!({"type": "video", "file_id": bad})),
                Err(ContentError::FileId),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn errors_name_the_field_and_the_problem() {
        let long_caption = "я".repeat(1025);
        let err = parse(json!({"type": "document", "file_id": "a", "caption": long_caption}))
            .unwrap_err();
        assert!(err.to_string().starts_with("caption: "), "{err}");

        let err = parse(json!({"type": "text", "text": "a<br>b"})).unwrap_err();
        assert!(err.to_string().contains("line 1, column 2"), "{err}");

        let err = parse(json!({"type": "text", "text": "a", "buttons": [[]]})).unwrap_err();
        assert_eq!(
            err,
            ContentError::Buttons(KeyboardError::EmptyRow { row: 1 })
        );
    }

    #[test]
    fn unknown_types_and_fields_are_refused_by_the_shape() {
        for bad in [
            json!({"type": "sticker", "file_id": "a"}),
            json!({"type": "text", "text": "a", "caption": "b"}),
            json!({"type": "photo", "file_id": "a", "link_preview": true}),
            json!({"text": "a"}),
        ] {
            assert!(
                serde_json::from_value::<RawContent>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }
}
