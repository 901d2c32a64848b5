//! Broadcasts: their state machine, the per-recipient delivery status, and
//! inline keyboards. A broadcast moves draft → scheduled → sending → done,
//! may be paused and resumed, cancelled before it is done, or fail (e.g.
//! Telegram rejects its HTML); anything else is refused.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::telegram_html::is_absolute_url;

/// Where a broadcast is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BroadcastStatus {
    Draft,
    Scheduled,
    Sending,
    Paused,
    Done,
    Cancelled,
    Failed,
}

impl BroadcastStatus {
    pub const ALL: [Self; 7] = [
        Self::Draft,
        Self::Scheduled,
        Self::Sending,
        Self::Paused,
        Self::Done,
        Self::Cancelled,
        Self::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Scheduled => "scheduled",
            Self::Sending => "sending",
            Self::Paused => "paused",
            Self::Done => "done",
            Self::Cancelled => "cancelled",
            Self::Failed => "failed",
        }
    }

    /// Whether nothing more will happen by itself.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Done | Self::Cancelled | Self::Failed)
    }

    /// The state `action` leads to from this one, or why it can't.
    pub fn apply(self, action: Action) -> Result<Self, TransitionError> {
        use Action as A;
        use BroadcastStatus as S;
        let next = match (self, action) {
            (S::Draft, A::Schedule) => S::Scheduled,
            (S::Draft | S::Scheduled, A::Start) => S::Sending,
            (S::Scheduled, A::Unschedule) => S::Draft,
            (S::Sending, A::Pause) => S::Paused,
            (S::Paused, A::Resume) => S::Sending,
            (S::Draft | S::Scheduled | S::Sending | S::Paused, A::Cancel) => S::Cancelled,
            (S::Sending, A::Finish) => S::Done,
            (S::Scheduled | S::Sending | S::Paused, A::Fail) => S::Failed,
            // Retrying failed or unknown recipients reopens a finished broadcast.
            (S::Done, A::Retry) => S::Sending,
            _ => {
                return Err(TransitionError { from: self, action });
            }
        };
        Ok(next)
    }

    /// The actions allowed from this state.
    pub fn allowed_actions(self) -> Vec<Action> {
        Action::ALL
            .into_iter()
            .filter(|action| self.apply(*action).is_ok())
            .collect()
    }
}

impl fmt::Display for BroadcastStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown broadcast status {0:?}")]
pub struct UnknownStatus(pub String);

impl FromStr for BroadcastStatus {
    type Err = UnknownStatus;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == raw)
            .ok_or_else(|| UnknownStatus(raw.to_owned()))
    }
}

/// What can happen to a broadcast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Schedule,
    /// Back to a draft for editing before it starts.
    Unschedule,
    Start,
    Pause,
    Resume,
    Cancel,
    Finish,
    Fail,
    Retry,
}

impl Action {
    pub const ALL: [Self; 9] = [
        Self::Schedule,
        Self::Unschedule,
        Self::Start,
        Self::Pause,
        Self::Resume,
        Self::Cancel,
        Self::Finish,
        Self::Fail,
        Self::Retry,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Schedule => "schedule",
            Self::Unschedule => "unschedule",
            Self::Start => "start",
            Self::Pause => "pause",
            Self::Resume => "resume",
            Self::Cancel => "cancel",
            Self::Finish => "finish",
            Self::Fail => "fail",
            Self::Retry => "retry",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a {} broadcast cannot {}", from.as_str(), action.as_str())]
pub struct TransitionError {
    pub from: BroadcastStatus,
    pub action: Action,
}

/// The delivery status of one recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecipientStatus {
    /// Waiting for its turn (or for a retry).
    Pending,
    /// Claimed by a sender under a lease.
    Sending,
    Sent,
    /// Gave up after transient errors, or a permanent error other than a block.
    Failed,
    /// Blocked the bot, deactivated, or the chat is gone.
    Blocked,
    /// The sender died mid-request: it may or may not have arrived. Never
    /// resent automatically.
    Unknown,
    /// Not sent: known to have blocked the bot, or the broadcast was cancelled.
    Skipped,
    /// Sent, then deleted from the chat.
    Deleted,
}

impl RecipientStatus {
    pub const ALL: [Self; 8] = [
        Self::Pending,
        Self::Sending,
        Self::Sent,
        Self::Failed,
        Self::Blocked,
        Self::Unknown,
        Self::Skipped,
        Self::Deleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Blocked => "blocked",
            Self::Unknown => "unknown",
            Self::Skipped => "skipped",
            Self::Deleted => "deleted",
        }
    }

    /// Whether the recipient is settled (nothing will be sent by itself).
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Pending | Self::Sending)
    }
}

impl FromStr for RecipientStatus {
    type Err = UnknownStatus;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == raw)
            .ok_or_else(|| UnknownStatus(raw.to_owned()))
    }
}

/// Telegram's limits on inline keyboards.
pub const MAX_BUTTONS_PER_ROW: usize = 8;
pub const MAX_BUTTONS: usize = 100;
pub const MAX_BUTTON_TEXT: usize = 64;
pub const MAX_CALLBACK_BYTES: usize = 64;

/// A button as typed, before validation (the JSON shape of API.md):
/// exactly one of `url` and `callback_data`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawButton {
    #[serde(default)]
    pub text: String,
    /// An absolute `http(s)://` or `tg://` link.
    pub url: Option<String>,
    /// 1–64 bytes the bot receives when the button is pressed.
    pub callback_data: Option<String>,
}

/// In the OpenAPI document: a link button or a callback button, never both.
impl utoipa::PartialSchema for RawButton {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, OneOfBuilder, Type};
        let string = |min: usize, max: usize, example: &str| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(min))
                .max_length(Some(max))
                .examples([serde_json::json!(example)])
        };
        let button = |action: &str, example: &str, description: &str| {
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .description(Some(description))
                .property("text", string(1, MAX_BUTTON_TEXT, "Открыть"))
                .property(action, string(1, 2048, example))
                .required("text")
                .required(action)
                .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        };
        OneOfBuilder::new()
            .item(button(
                "url",
                "https://example.org",
                "A link: an absolute http(s):// or tg:// URL.",
            ))
            .item(
                button(
                    "callback_data",
                    "yes",
                    "A callback: 1–64 bytes the bot receives when it is pressed.",
                )
                .property("callback_data", string(1, MAX_CALLBACK_BYTES, "yes")),
            )
            .into()
    }
}

impl utoipa::ToSchema for RawButton {}

/// What pressing a button does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ButtonAction {
    Url(String),
    CallbackData(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Button {
    pub text: String,
    #[serde(flatten)]
    pub action: ButtonAction,
}

/// Rows of inline buttons, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Keyboard(Vec<Vec<Button>>);

/// A refused keyboard: which button (row and column from 1) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyboardError {
    #[error("row {row} is empty")]
    EmptyRow { row: usize },
    #[error("row {row} has more than {MAX_BUTTONS_PER_ROW} buttons")]
    RowTooLong { row: usize },
    #[error("more than {MAX_BUTTONS} buttons")]
    TooMany,
    #[error("button {row}.{column}: {problem}")]
    Button {
        row: usize,
        column: usize,
        problem: ButtonProblem,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ButtonProblem {
    #[error("text must be 1–{MAX_BUTTON_TEXT} characters")]
    Text,
    #[error("give exactly one of url or callback_data")]
    Action,
    #[error("url must be an absolute http://, https:// or tg:// address")]
    Url,
    #[error("callback_data must be 1–{MAX_CALLBACK_BYTES} bytes")]
    CallbackData,
    #[error("text, url and callback_data must not contain control characters (such as NUL)")]
    Control,
}

impl Keyboard {
    pub fn parse(rows: Vec<Vec<RawButton>>) -> Result<Self, KeyboardError> {
        let total: usize = rows.iter().map(Vec::len).sum();
        if total > MAX_BUTTONS {
            return Err(KeyboardError::TooMany);
        }
        let mut parsed = Vec::with_capacity(rows.len());
        for (r, row) in rows.into_iter().enumerate() {
            let row_number = r + 1;
            if row.is_empty() {
                return Err(KeyboardError::EmptyRow { row: row_number });
            }
            if row.len() > MAX_BUTTONS_PER_ROW {
                return Err(KeyboardError::RowTooLong { row: row_number });
            }
            let mut buttons = Vec::with_capacity(row.len());
            for (c, raw) in row.into_iter().enumerate() {
                let fail = |problem| KeyboardError::Button {
                    row: row_number,
                    column: c + 1,
                    problem,
                };
                buttons.push(Button::parse(raw).map_err(fail)?);
            }
            parsed.push(buttons);
        }
        Ok(Self(parsed))
    }

    pub fn rows(&self) -> &[Vec<Button>] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Button {
    fn parse(raw: RawButton) -> Result<Self, ButtonProblem> {
        let typed = [
            Some(&raw.text),
            raw.url.as_ref(),
            raw.callback_data.as_ref(),
        ];
        if typed
            .into_iter()
            .flatten()
            .any(|part| super::text::first_forbidden(part).is_some())
        {
            return Err(ButtonProblem::Control);
        }
        let text = raw.text.trim();
        if text.is_empty() || text.chars().count() > MAX_BUTTON_TEXT {
            return Err(ButtonProblem::Text);
        }
        let action = match (raw.url, raw.callback_data) {
            (Some(url), None) => {
                let url = url.trim();
                if !is_absolute_url(url) {
                    return Err(ButtonProblem::Url);
                }
                ButtonAction::Url(url.to_owned())
            }
            (None, Some(data)) => {
                if data.is_empty() || data.len() > MAX_CALLBACK_BYTES {
                    return Err(ButtonProblem::CallbackData);
                }
                ButtonAction::CallbackData(data)
            }
            _ => return Err(ButtonProblem::Action),
        };
        Ok(Self {
            text: text.to_owned(),
            action,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action as A;
    use BroadcastStatus as S;

    #[test]
    fn the_state_machine_allows_only_its_transitions() {
        let allowed = [
            (S::Draft, A::Schedule, S::Scheduled),
            (S::Draft, A::Start, S::Sending),
            (S::Draft, A::Cancel, S::Cancelled),
            (S::Scheduled, A::Start, S::Sending),
            (S::Scheduled, A::Unschedule, S::Draft),
            (S::Scheduled, A::Cancel, S::Cancelled),
            (S::Scheduled, A::Fail, S::Failed),
            (S::Sending, A::Pause, S::Paused),
            (S::Sending, A::Cancel, S::Cancelled),
            (S::Sending, A::Finish, S::Done),
            (S::Sending, A::Fail, S::Failed),
            (S::Paused, A::Resume, S::Sending),
            (S::Paused, A::Cancel, S::Cancelled),
            (S::Paused, A::Fail, S::Failed),
            (S::Done, A::Retry, S::Sending),
        ];
        for from in S::ALL {
            for action in Action::ALL {
                let expected = allowed
                    .iter()
                    .find(|(f, a, _)| *f == from && *a == action)
                    .map(|(_, _, to)| *to);
                match expected {
                    Some(to) => assert_eq!(from.apply(action), Ok(to), "{from} {action:?}"),
                    None => assert_eq!(
                        from.apply(action),
                        Err(TransitionError { from, action }),
                        "{from} {action:?}"
                    ),
                }
            }
        }
        assert_eq!(
            S::Cancelled.apply(A::Resume).unwrap_err().to_string(),
            "a cancelled broadcast cannot resume"
        );
        assert_eq!(S::Cancelled.allowed_actions(), []);
        assert_eq!(S::Failed.allowed_actions(), []);
        assert_eq!(
            S::Sending.allowed_actions(),
            [A::Pause, A::Cancel, A::Finish, A::Fail]
        );
        assert!(S::Done.is_final() && !S::Paused.is_final());
    }

    #[test]
    fn statuses_round_trip_through_their_names() {
        for status in S::ALL {
            assert_eq!(status.as_str().parse::<S>(), Ok(status));
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::Value::String(status.as_str().to_owned())
            );
        }
        assert_eq!("Done".parse::<S>(), Err(UnknownStatus("Done".into())));
        for status in RecipientStatus::ALL {
            assert_eq!(status.as_str().parse::<RecipientStatus>(), Ok(status));
        }
        assert!("queued".parse::<RecipientStatus>().is_err());
        assert!(!RecipientStatus::Pending.is_final() && RecipientStatus::Unknown.is_final());
    }

    fn url(text: &str, url: &str) -> RawButton {
        RawButton {
            text: text.into(),
            url: Some(url.into()),
            callback_data: None,
        }
    }

    fn callback(text: &str, data: &str) -> RawButton {
        RawButton {
            text: text.into(),
            url: None,
            callback_data: Some(data.into()),
        }
    }

    #[test]
    fn keyboards_are_validated_button_by_button() {
        let keyboard = Keyboard::parse(vec![
            vec![url(" Открыть ", "https://hashslash.school")],
            vec![callback("Да", "yes"), callback("Нет", &"n".repeat(64))],
            vec![url("Профиль", "tg://user?id=1")],
        ])
        .unwrap();
        assert_eq!(keyboard.rows().len(), 3);
        assert_eq!(keyboard.rows()[0][0].text, "Открыть");
        assert_eq!(
            serde_json::to_value(&keyboard).unwrap(),
            serde_json::json!([
                [{"text": "Открыть", "url": "https://hashslash.school"}],
                [{"text": "Да", "callback_data": "yes"}, {"text": "Нет", "callback_data": "n".repeat(64)}],
                [{"text": "Профиль", "url": "tg://user?id=1"}]
            ])
        );
        assert!(Keyboard::parse(vec![]).unwrap().is_empty());

        let cases: Vec<(Vec<Vec<RawButton>>, KeyboardError)> = vec![
            (vec![vec![]], KeyboardError::EmptyRow { row: 1 }),
            (
                vec![vec![callback("a", "a"); 9]],
                KeyboardError::RowTooLong { row: 1 },
            ),
            (
                vec![vec![callback("a", "a"); 8]; 13],
                KeyboardError::TooMany,
            ),
            (
                vec![
                    vec![callback("ok", "a")],
                    vec![callback("ok", "b"), url(" ", "https://x.y")],
                ],
                KeyboardError::Button {
                    row: 2,
                    column: 2,
                    problem: ButtonProblem::Text,
                },
            ),
            (
                vec![vec![url(&"я".repeat(65), "https://x.y")]],
                KeyboardError::Button {
                    row: 1,
                    column: 1,
                    problem: ButtonProblem::Text,
                },
            ),
            (
                vec![vec![RawButton {
                    text: "x".into(),
                    url: Some("https://x.y".into()),
                    callback_data: Some("x".into()),
                }]],
                KeyboardError::Button {
                    row: 1,
                    column: 1,
                    problem: ButtonProblem::Action,
                },
            ),
            (
                vec![vec![RawButton {
                    text: "x".into(),
                    ..RawButton::default()
                }]],
                KeyboardError::Button {
                    row: 1,
                    column: 1,
                    problem: ButtonProblem::Action,
                },
            ),
            (
                vec![vec![url("x", "example.org")]],
                KeyboardError::Button {
                    row: 1,
                    column: 1,
                    problem: ButtonProblem::Url,
                },
            ),
            (
                vec![vec![url("x", "javascript:alert(1)")]],
                KeyboardError::Button {
                    row: 1,
                    column: 1,
                    problem: ButtonProblem::Url,
                },
            ),
            (
                vec![vec![callback("x", &"я".repeat(33))]],
                KeyboardError::Button {
                    row: 1,
                    column: 1,
                    problem: ButtonProblem::CallbackData,
                },
            ),
            (
                vec![vec![callback("x", "")]],
                KeyboardError::Button {
                    row: 1,
                    column: 1,
                    problem: ButtonProblem::CallbackData,
                },
            ),
        ];
        for (rows, expected) in cases {
            assert_eq!(Keyboard::parse(rows), Err(expected.clone()), "{expected}");
        }
        let error = KeyboardError::Button {
            row: 2,
            column: 1,
            problem: ButtonProblem::Url,
        };
        assert_eq!(
            error.to_string(),
            "button 2.1: url must be an absolute http://, https:// or tg:// address"
        );
    }
}
