//! What a Bot API answer means for a recipient and for the broadcast
//! (TELEGRAM.md «Errors»), and when to try again.

use std::time::Duration;

use teloxide::{ApiError, RequestError};

use crate::store::delivery::BlockReason;

/// The most attempts one recipient gets for transient errors.
pub const MAX_ATTEMPTS: i32 = 5;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Delivered, with Telegram's message id.
    Sent(i32),
    /// 429: the whole bot must wait this long; the message is retried and
    /// the attempt does not count.
    RetryAfter(Duration),
    /// Network trouble, timeouts, 5xx: retry with backoff.
    Transient(String),
    /// This person can't be messaged; remember them, never retry.
    Unreachable(BlockReason, String),
    /// Telegram refuses the content itself: it would fail for everyone, so
    /// the broadcast stops.
    ContentRejected(String),
    /// The bot itself can't send (e.g. the token was revoked): pause.
    BotUnusable(String),
    /// Refused for this recipient for another reason; not retried.
    Failed(String),
}

impl Outcome {
    pub fn of(result: Result<i32, RequestError>) -> Self {
        match result {
            Ok(message_id) => Self::Sent(message_id),
            Err(err) => Self::of_error(&err),
        }
    }

    pub fn of_error(err: &RequestError) -> Self {
        let text = err.to_string();
        match err {
            RequestError::RetryAfter(seconds) => Self::RetryAfter(seconds.duration()),
            RequestError::Network(_) | RequestError::Io(_) | RequestError::InvalidJson { .. } => {
                Self::Transient(text)
            }
            RequestError::MigrateToChatId(_) => Self::Failed(text),
            RequestError::Api(api) => match api {
                ApiError::BotBlocked
                | ApiError::BotKicked
                | ApiError::BotKickedFromSupergroup
                | ApiError::BotKickedFromChannel
                | ApiError::CantInitiateConversation
                | ApiError::CantTalkWithBots => Self::Unreachable(BlockReason::Blocked, text),
                ApiError::UserDeactivated => Self::Unreachable(BlockReason::Deactivated, text),
                ApiError::ChatNotFound | ApiError::UserNotFound => {
                    Self::Unreachable(BlockReason::ChatNotFound, text)
                }
                ApiError::CantParseEntities(_)
                | ApiError::MessageIsTooLong
                | ApiError::MessageTextIsEmpty
                | ApiError::ButtonUrlInvalid
                | ApiError::ButtonDataInvalid
                | ApiError::CantParseUrl
                | ApiError::WrongHttpUrl
                | ApiError::WrongFileId
                | ApiError::WrongFileIdOrUrl
                | ApiError::FileIdInvalid
                | ApiError::PhotoAsInputFileRequired
                | ApiError::RequestEntityTooLarge => Self::ContentRejected(text),
                ApiError::InvalidToken => Self::BotUnusable(text),
                ApiError::Unknown(description) if is_server_error(description) => {
                    Self::Transient(text)
                }
                _ => Self::Failed(text),
            },
        }
    }

    /// The same outcome with its error text passed through `redact` (which
    /// takes the bot token out).
    pub fn redacted(self, redact: impl Fn(&str) -> String) -> Self {
        match self {
            Self::Transient(e) => Self::Transient(redact(&e)),
            Self::Unreachable(reason, e) => Self::Unreachable(reason, redact(&e)),
            Self::ContentRejected(e) => Self::ContentRejected(redact(&e)),
            Self::BotUnusable(e) => Self::BotUnusable(redact(&e)),
            Self::Failed(e) => Self::Failed(redact(&e)),
            other => other,
        }
    }

    /// Whether this counts towards a broadcast's consecutive failures.
    pub fn is_failure(&self) -> bool {
        matches!(self, Self::Transient(_) | Self::Failed(_))
    }
}

/// teloxide has no variant for 5xx answers; their descriptions tell.
fn is_server_error(description: &str) -> bool {
    let lower = description.to_ascii_lowercase();
    [
        "internal server error",
        "bad gateway",
        "service unavailable",
        "gateway timeout",
    ]
    .iter()
    .any(|marker| lower.contains(marker))
}

/// The wait before attempt `attempts + 1` after a transient error:
/// 1, 2, 4, 8 … seconds, at most 64.
pub fn backoff(attempts: i32) -> Duration {
    let exponent = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(6);
    Duration::from_secs(1 << exponent)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use teloxide::types::Seconds;

    use super::*;

    #[test]
    fn each_telegram_answer_has_its_outcome() {
        assert_eq!(Outcome::of(Ok(7)), Outcome::Sent(7));
        assert_eq!(
            Outcome::of_error(&RequestError::RetryAfter(Seconds::from_seconds(3))),
            Outcome::RetryAfter(Duration::from_secs(3))
        );
        let api = |e| Outcome::of_error(&RequestError::Api(e));
        assert!(matches!(
            api(ApiError::BotBlocked),
            Outcome::Unreachable(BlockReason::Blocked, _)
        ));
        assert!(matches!(
            api(ApiError::UserDeactivated),
            Outcome::Unreachable(BlockReason::Deactivated, _)
        ));
        assert!(matches!(
            api(ApiError::ChatNotFound),
            Outcome::Unreachable(BlockReason::ChatNotFound, _)
        ));
        assert!(matches!(
            api(ApiError::CantParseEntities(
                "Bad Request: can't parse entities".into()
            )),
            Outcome::ContentRejected(_)
        ));
        assert!(matches!(
            api(ApiError::MessageIsTooLong),
            Outcome::ContentRejected(_)
        ));
        assert!(matches!(
            api(ApiError::InvalidToken),
            Outcome::BotUnusable(_)
        ));
        assert!(matches!(
            api(ApiError::Unknown("Internal Server Error".into())),
            Outcome::Transient(_)
        ));
        assert!(matches!(
            api(ApiError::Unknown("Bad Request: something new".into())),
            Outcome::Failed(_)
        ));
        let io = RequestError::Io(Arc::new(std::io::Error::other("reset")));
        assert!(matches!(Outcome::of_error(&io), Outcome::Transient(_)));
    }

    #[test]
    fn only_our_failures_count_towards_the_auto_pause() {
        assert!(Outcome::Transient("x".into()).is_failure());
        assert!(Outcome::Failed("x".into()).is_failure());
        assert!(!Outcome::Sent(1).is_failure());
        assert!(!Outcome::RetryAfter(Duration::from_secs(1)).is_failure());
        assert!(!Outcome::Unreachable(BlockReason::Blocked, "x".into()).is_failure());
    }

    #[test]
    fn backoff_doubles_from_one_second_and_is_capped() {
        let waits: Vec<u64> = (1..=5).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16]);
        assert_eq!(backoff(50), Duration::from_secs(64));
        assert_eq!(backoff(0), Duration::from_secs(1));
    }
}
