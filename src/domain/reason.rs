//! Why a broadcast failed or paused itself (`message_history.status_reason`)
//! and what happened to one recipient (`message_recipients.last_error`), as
//! machine-readable codes with parameters. Stored as JSON text, e.g.
//! `{"code":"rate_limited","retry_after_s":12}`, so failures can be queried
//! by kind (`last_error::jsonb->>'code'`). The Russian words for staff are
//! in `web::words`; `Display` is the English rendering for the JSON API and
//! logs.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Reason {
    /// The stored content no longer passes the checks (broadcast).
    ContentInvalid { detail: String },
    /// Telegram refused the content itself: bad HTML, too long, a bad
    /// file id (broadcast).
    TelegramRejectedContent { detail: String },
    /// The bot itself can't send, e.g. its token was revoked (broadcast).
    BotUnusable { detail: String },
    /// `count` sends in a row failed; `last` is the last error (broadcast).
    TooManyFailures { count: u32, last: String },
    /// The stored audience could not be read (broadcast).
    AudienceUnreadable,
    /// Telegram's 429: tried again after this many seconds (recipient).
    RateLimited { retry_after_s: u64 },
    /// The broadcast was cancelled before this recipient's turn.
    Cancelled,
    /// The sender stopped while this request was under way: it may or may
    /// not have been delivered.
    OutcomeUnknownSenderStopped,
    /// The person is known not to receive the bot's messages;
    /// `reason` is `blocked_users.reason` (blocked | deactivated |
    /// chat_not_found).
    NotReceiving { reason: String },
    /// Telegram's (or the network's) error for this recipient, as given.
    TelegramError { detail: String },
    /// Text stored before reasons were codes, or anything unreadable.
    Legacy { text: String },
}

impl Reason {
    /// The JSON text stored in the database.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a reason always serialises")
    }

    /// Reads a stored value. Never fails: text that is not a known code
    /// (older rows, a newer version's codes) is kept as [`Reason::Legacy`].
    pub fn from_stored(stored: &str) -> Self {
        serde_json::from_str(stored).unwrap_or_else(|_| Self::Legacy {
            text: stored.to_owned(),
        })
    }

    /// The code, as stored in `"code"`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::ContentInvalid { .. } => "content_invalid",
            Self::TelegramRejectedContent { .. } => "telegram_rejected_content",
            Self::BotUnusable { .. } => "bot_unusable",
            Self::TooManyFailures { .. } => "too_many_failures",
            Self::AudienceUnreadable => "audience_unreadable",
            Self::RateLimited { .. } => "rate_limited",
            Self::Cancelled => "cancelled",
            Self::OutcomeUnknownSenderStopped => "outcome_unknown_sender_stopped",
            Self::NotReceiving { .. } => "not_receiving",
            Self::TelegramError { .. } => "telegram_error",
            Self::Legacy { .. } => "legacy",
        }
    }
}

/// English, for the JSON API and logs.
impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ContentInvalid { detail } => {
                write!(f, "the broadcast's content is invalid: {detail}")
            }
            Self::TelegramRejectedContent { detail } => {
                write!(f, "Telegram rejected the content: {detail}")
            }
            Self::BotUnusable { detail } => write!(f, "the bot cannot send messages: {detail}"),
            Self::TooManyFailures { count, last } => {
                write!(f, "{count} sends in a row failed; the last error: {last}")
            }
            Self::AudienceUnreadable => f.write_str("the broadcast's audience could not be read"),
            Self::RateLimited { retry_after_s } => {
                write!(f, "429: retried after {retry_after_s} s")
            }
            Self::Cancelled => f.write_str("the broadcast was cancelled"),
            Self::OutcomeUnknownSenderStopped => {
                f.write_str("outcome unknown: the sender stopped while sending")
            }
            Self::NotReceiving { reason } => {
                write!(f, "does not receive the bot's messages: {reason}")
            }
            Self::TelegramError { detail } => f.write_str(detail),
            Self::Legacy { text } => f.write_str(text),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// One of every variant.
    pub(crate) fn every_reason() -> Vec<Reason> {
        vec![
            Reason::ContentInvalid {
                detail: "buttons: row 1 is empty".into(),
            },
            Reason::TelegramRejectedContent {
                detail: "Bad Request: can't parse entities".into(),
            },
            Reason::BotUnusable {
                detail: "Unauthorized".into(),
            },
            Reason::TooManyFailures {
                count: 50,
                last: "Bad Request: x".into(),
            },
            Reason::AudienceUnreadable,
            Reason::RateLimited { retry_after_s: 12 },
            Reason::Cancelled,
            Reason::OutcomeUnknownSenderStopped,
            Reason::NotReceiving {
                reason: "blocked".into(),
            },
            Reason::TelegramError {
                detail: "Forbidden: bot was blocked by the user".into(),
            },
            Reason::Legacy {
                text: "старый текст".into(),
            },
        ]
    }

    #[test]
    fn every_reason_round_trips_through_its_stored_json() {
        for reason in every_reason() {
            let stored = reason.to_json();
            let value: Value = serde_json::from_str(&stored).unwrap();
            assert_eq!(value["code"], reason.code(), "{stored}");
            assert_eq!(Reason::from_stored(&stored), reason, "{stored}");
        }
    }

    #[test]
    fn codes_carry_their_parameters() {
        let stored = |reason: Reason| serde_json::from_str::<Value>(&reason.to_json()).unwrap();
        assert_eq!(
            stored(Reason::RateLimited { retry_after_s: 12 }),
            json!({"code": "rate_limited", "retry_after_s": 12})
        );
        assert_eq!(stored(Reason::Cancelled), json!({"code": "cancelled"}));
        assert_eq!(
            stored(Reason::TooManyFailures {
                count: 3,
                last: "x".into()
            }),
            json!({"code": "too_many_failures", "count": 3, "last": "x"})
        );
    }

    #[test]
    fn text_that_is_no_code_is_read_as_legacy() {
        for old in [
            "рассылка отменена",
            "timeout",
            "{not json",
            r#"{"code":"from_a_newer_version"}"#,
            "",
        ] {
            assert_eq!(
                Reason::from_stored(old),
                Reason::Legacy { text: old.into() }
            );
        }
        // PostgreSQL's jsonb text (spaces after the colons) reads too.
        assert_eq!(
            Reason::from_stored(r#"{"code": "rate_limited", "retry_after_s": 7}"#),
            Reason::RateLimited { retry_after_s: 7 }
        );
    }

    #[test]
    fn the_english_rendering_keeps_the_details() {
        let text = Reason::TelegramRejectedContent {
            detail: "can't parse entities".into(),
        }
        .to_string();
        assert_eq!(text, "Telegram rejected the content: can't parse entities");
        assert_eq!(
            Reason::NotReceiving {
                reason: "blocked".into()
            }
            .to_string(),
            "does not receive the bot's messages: blocked"
        );
        assert_eq!(
            Reason::TelegramError {
                detail: "Bad Request: chat not found".into()
            }
            .to_string(),
            "Bad Request: chat not found"
        );
    }
}
