//! The composer's form as typed: raw strings, kept as they are so a form
//! with mistakes can be shown again, saved as a draft and resumed
//! ([`super::check`] reads it as a broadcast).

use serde::{Deserialize, Serialize};

use crate::domain::audience::RawAudience;
use crate::domain::broadcast::ButtonAction;
use crate::store::broadcasts::Broadcast;
/// The most button slots a form may carry (Telegram allows 100 buttons).
pub const MAX_BUTTON_SLOTS: usize = 100;
/// The most characters of raw user-id text read.
const MAX_USER_ID_TEXT: usize = 200_000;

/// One button slot of the editor.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ButtonField {
    pub row: String,
    pub text: String,
    /// `url` or `callback`.
    pub kind: String,
    pub value: String,
}

impl ButtonField {
    fn is_blank(&self) -> bool {
        self.text.trim().is_empty() && self.value.trim().is_empty()
    }

    pub fn is_callback(&self) -> bool {
        self.kind == "callback"
    }
}

/// Everything the composer's fields hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ComposerForm {
    /// `users`, `stream` or `segment`.
    pub audience: String,
    /// Telegram user ids separated by spaces, commas or new lines.
    pub user_ids: String,
    pub streams: Vec<String>,
    /// Booking statuses of a stream audience (raw integers as text).
    pub statuses: Vec<String>,
    pub segment: String,
    /// `text`, `photo`, `video` or `document`.
    pub content_type: String,
    /// The text, or the caption of a media message.
    pub text: String,
    pub file_id: String,
    pub link_preview: bool,
    pub buttons: Vec<ButtonField>,
    /// `now` or `at`.
    pub when: String,
    /// `YYYY-MM-DDTHH:MM` in the school's zone (an `<input type=datetime-local>`).
    pub scheduled_at: String,
}

impl Default for ComposerForm {
    fn default() -> Self {
        Self {
            audience: "stream".into(),
            user_ids: String::new(),
            streams: Vec::new(),
            statuses: vec!["2".into()],
            segment: String::new(),
            content_type: "text".into(),
            text: String::new(),
            file_id: String::new(),
            link_preview: false,
            buttons: Vec::new(),
            when: "now".into(),
            scheduled_at: String::new(),
        }
    }
}

/// The form's fields plus what the request itself carries.
#[derive(Debug, Clone, Default)]
pub struct Posted {
    pub form: ComposerForm,
    /// Which submit button was pressed.
    pub intent: String,
    /// The idempotency key the form was rendered with.
    pub key: String,
    /// The draft being edited.
    pub draft: String,
    /// The scheduled broadcast being changed.
    pub broadcast: String,
}

impl Posted {
    /// Reads an `application/x-www-form-urlencoded` body. Unknown names are
    /// ignored (the CSRF token among them); repeated names collect.
    pub fn parse(body: &[u8]) -> Self {
        let mut posted = Self {
            // Only what was sent: an unchecked box or radio sends nothing.
            form: ComposerForm {
                audience: String::new(),
                statuses: Vec::new(),
                content_type: String::new(),
                when: String::new(),
                ..ComposerForm::default()
            },
            ..Self::default()
        };
        let form = &mut posted.form;
        let mut slots: [Vec<String>; 4] = Default::default();
        for (name, value) in url::form_urlencoded::parse(body) {
            let value = value.into_owned();
            match name.as_ref() {
                "intent" => posted.intent = value,
                "key" => posted.key = value,
                "draft" => posted.draft = value,
                "broadcast" => posted.broadcast = value,
                "audience" => form.audience = value,
                "user_ids" => form.user_ids = value.chars().take(MAX_USER_ID_TEXT).collect(),
                "stream" => form.streams.push(value),
                "status" => form.statuses.push(value),
                "segment" => form.segment = value,
                "content_type" => form.content_type = value,
                // Browsers send new lines as CRLF; Telegram counts each character.
                "text" => form.text = value.replace("\r\n", "\n"),
                "file_id" => form.file_id = value,
                "link_preview" => form.link_preview = !value.is_empty(),
                "when" => form.when = value,
                "scheduled_at" => form.scheduled_at = value,
                "button_row" => slots[0].push(value),
                "button_text" => slots[1].push(value),
                "button_kind" => slots[2].push(value),
                "button_value" => slots[3].push(value),
                _ => {}
            }
        }
        let [rows, texts, kinds, values] = slots;
        let count = rows.len().max(texts.len()).max(values.len());
        let at = |list: &[String], i: usize| list.get(i).cloned().unwrap_or_default();
        form.buttons = (0..count.min(MAX_BUTTON_SLOTS + 1))
            .map(|i| ButtonField {
                row: at(&rows, i),
                text: at(&texts, i),
                kind: at(&kinds, i),
                value: at(&values, i),
            })
            .filter(|button| !button.is_blank())
            .collect();
        posted
    }
}
impl ComposerForm {
    /// The form that would compose `broadcast` again (its content and
    /// audience; sent now unless changed).
    pub fn from_broadcast(broadcast: &Broadcast) -> Self {
        let mut form = Self::default();
        if let Some(content) = broadcast.content() {
            form.content_type = content.kind.as_str().into();
            form.text = content.html.as_str().into();
            form.file_id = content.file_id.clone().unwrap_or_default();
            form.link_preview = content.link_preview;
            form.buttons = content
                .buttons
                .rows()
                .iter()
                .enumerate()
                .flat_map(|(r, row)| {
                    row.iter().map(move |button| {
                        let (kind, value) = match &button.action {
                            ButtonAction::Url(url) => ("url", url.clone()),
                            ButtonAction::CallbackData(data) => ("callback", data.clone()),
                        };
                        ButtonField {
                            row: (r + 1).to_string(),
                            text: button.text.clone(),
                            kind: kind.into(),
                            value,
                        }
                    })
                })
                .collect();
        } else {
            // A legacy text the checks would refuse: keep it to fix by hand.
            form.text = broadcast.text.clone();
        }
        if let Some(audience) = &broadcast.audience {
            form.apply_audience(audience);
        }
        form
    }

    fn apply_audience(&mut self, audience: &serde_json::Value) {
        let Ok(raw) = RawAudience::deserialize(audience) else {
            return;
        };
        let strings = |items: &[i64]| items.iter().map(i64::to_string).collect::<Vec<_>>();
        match raw {
            RawAudience::Users { user_ids } => {
                self.audience = "users".into();
                self.user_ids = strings(&user_ids).join(" ");
            }
            RawAudience::Stream { streams, statuses } => {
                self.audience = "stream".into();
                self.streams = streams;
                self.statuses = statuses
                    .unwrap_or_default()
                    .iter()
                    .map(i32::to_string)
                    .collect();
            }
            RawAudience::Segment { segment } => {
                self.audience = "segment".into();
                self.segment = segment.as_str().into();
            }
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    fn posted(body: &str) -> Posted {
        Posted::parse(body.as_bytes())
    }

    #[test]
    fn a_form_survives_a_draft_round_trip() {
        let p = posted("audience=users&user_ids=5+6&content_type=photo&file_id=AgAD&text=cap");
        let json = serde_json::to_value(&p.form).unwrap();
        let back: ComposerForm = serde_json::from_value(json).unwrap();
        assert_eq!(back, p.form);
        // Older drafts without some fields still load.
        let partial: ComposerForm = serde_json::from_str(r#"{"text": "x"}"#).unwrap();
        assert_eq!(partial.text, "x");
        assert_eq!(partial.audience, "stream");
    }
}
