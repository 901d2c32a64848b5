//! The JSON shapes of the messaging routes (API.md «Messaging routes»).

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::domain::broadcast::BroadcastStatus;
use crate::domain::time::rfc3339;
use crate::store::broadcasts::{Broadcast, Counts, Recipient};
use crate::web::AppState;
use crate::web::words;

/// Recipients per delivery status; `total` counts them all.
#[derive(Debug, Serialize, ToSchema)]
pub struct CountsJson {
    total: i64,
    pending: i64,
    sending: i64,
    sent: i64,
    failed: i64,
    blocked: i64,
    unknown: i64,
    skipped: i64,
    deleted: i64,
}

impl From<Counts> for CountsJson {
    fn from(counts: Counts) -> Self {
        let Counts {
            total,
            pending,
            sending,
            sent,
            failed,
            blocked,
            unknown,
            skipped,
            deleted,
        } = counts;
        Self {
            total,
            pending,
            sending,
            sent,
            failed,
            blocked,
            unknown,
            skipped,
            deleted,
        }
    }
}

/// What this process knows about sending, for the ETA and the problem.
pub struct Delivery {
    /// `SEND_RATE_PER_SEC`: the ETA's rate before one is measured.
    pub configured_rate: u32,
    pub telegram_configured: bool,
}

impl Delivery {
    pub fn of(state: &AppState) -> Self {
        Self {
            configured_rate: state.config.send_rate_per_sec,
            telegram_configured: state.telegram.is_some(),
        }
    }
}

/// A broadcast. Broadcasts of the previous dashboard show as `done` with
/// `legacy: true`, a null `audience` and what it recorded about the
/// recipients in `recipient_type` / `recipient_group`.
#[derive(Debug, Serialize, ToSchema)]
pub struct BroadcastJson {
    id: i32,
    /// draft | scheduled | sending | paused | done | cancelled | failed
    status: &'static str,
    /// As sent to `POST /api/messages`, normalised; null for legacy ones.
    #[schema(value_type = Option<Object>)]
    audience: Option<Value>,
    /// As sent to `POST /api/messages`.
    #[schema(value_type = Object)]
    content: Value,
    scheduled_at: Option<String>,
    started_at: Option<String>,
    finished_at: Option<String>,
    created_by: Option<String>,
    /// Why it failed or paused itself, in English.
    status_reason: Option<String>,
    counts: CountsJson,
    /// Messages per second over the last minute, while sending.
    rate_per_sec: Option<f64>,
    /// Seconds until the remaining recipients are done, while sending
    /// (null when nothing can be sent).
    eta_seconds: Option<i64>,
    /// Why nothing is sent: «Telegram не настроен» for broadcasts still to
    /// go when no bot token is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    delivery_problem: Option<&'static str>,
    legacy: bool,
    scheduled_by: Option<String>,
    cancelled_by: Option<String>,
    created_at: Option<String>,
    /// When deleting it from the recipients' chats was asked for.
    delete_requested_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recipient_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recipient_group: Option<String>,
}

impl BroadcastJson {
    pub fn new(broadcast: Broadcast, delivery: &Delivery) -> Self {
        let rate_per_sec = broadcast
            .rate_per_sec()
            .map(|rate| (rate * 100.0).round() / 100.0);
        let waiting = matches!(
            broadcast.status,
            BroadcastStatus::Scheduled | BroadcastStatus::Sending
        );
        let delivery_problem = (waiting && !delivery.telegram_configured)
            .then_some(words::common::TELEGRAM_NOT_CONFIGURED);
        let eta_seconds = broadcast
            .eta_seconds(delivery.configured_rate)
            .filter(|_| delivery.telegram_configured);
        let content = broadcast.content_json();
        let legacy = broadcast.legacy;
        Self {
            id: broadcast.id,
            status: broadcast.status.as_str(),
            audience: broadcast.audience,
            content,
            scheduled_at: broadcast.scheduled_at.map(rfc3339),
            started_at: broadcast.started_at.map(rfc3339),
            finished_at: broadcast.finished_at.map(rfc3339),
            created_by: broadcast.created_by,
            status_reason: broadcast.status_reason.as_ref().map(ToString::to_string),
            counts: broadcast.counts.into(),
            rate_per_sec,
            eta_seconds,
            delivery_problem,
            legacy,
            scheduled_by: broadcast.scheduled_by,
            cancelled_by: broadcast.cancelled_by,
            created_at: broadcast.created_at.map(rfc3339),
            delete_requested_at: broadcast.delete_requested_at.map(rfc3339),
            recipient_type: broadcast.recipient_type.filter(|_| legacy),
            recipient_group: broadcast.recipient_group.filter(|_| legacy),
        }
    }
}

/// One recipient of a broadcast.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecipientJson {
    user_id: i64,
    username: Option<String>,
    /// pending | sending | sent | failed | blocked | unknown | skipped | deleted
    status: String,
    attempts: i32,
    /// The last error Telegram or the network gave, or why it was
    /// skipped, in English.
    error: Option<String>,
    telegram_message_id: Option<i32>,
    sent_at: Option<String>,
}

impl From<Recipient> for RecipientJson {
    fn from(row: Recipient) -> Self {
        Self {
            user_id: row.user_id,
            username: row.username,
            status: row.status,
            attempts: row.attempts,
            error: row.error.as_ref().map(ToString::to_string),
            telegram_message_id: row.telegram_message_id,
            sent_at: row.sent_at.map(rfc3339),
        }
    }
}

/// The answer to `POST /api/messages` (repeated for the same key).
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedJson {
    pub id: i32,
    /// sending | scheduled
    pub status: &'static str,
    /// Recipients written now, or for a scheduled broadcast an estimate
    /// (it is resolved when it starts).
    pub recipient_count: i64,
}

/// One problem in a previewed request.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemJson {
    /// The part it is in.
    #[schema(value_type = String, examples("audience", "content", "scheduled_at"))]
    pub field: &'static str,
    pub error: String,
    /// The message in Russian.
    pub label: String,
}

/// The answer to `POST /api/messages/preview`. Problems are listed in
/// `errors`; the other fields are null where a problem prevents them.
#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewJson {
    /// Who it would go to now, people who blocked the bot left out.
    pub recipient_count: Option<i64>,
    /// People in the audience who blocked the bot (skipped).
    pub blocked_count: Option<i64>,
    /// The text or caption as Telegram will get it (HTML parse mode).
    pub html: Option<String>,
    /// Characters Telegram counts, and the most it accepts.
    pub length: Option<usize>,
    pub max_length: Option<usize>,
    pub errors: Vec<ProblemJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invalid_user_ids: Option<Vec<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invalid_streams: Option<Vec<String>>,
}

/// The answer to a test send.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestSentJson {
    /// The acting admin's Telegram id.
    pub sent_to: i64,
    pub telegram_message_id: i32,
}
