//! Broadcasts as staff see and steer them: create (idempotently), read,
//! list, and the actions of API.md. What the delivery engine does with them
//! is in [`super::delivery`].

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::{PgConnection, PgExecutor, PgPool};

use super::audience::{self, Estimate};
use super::audit::{self, Actor, Change};
use crate::domain::audience::Audience;
use crate::domain::broadcast::{Action, BroadcastStatus, RecipientStatus};
use crate::domain::content::Content;
use crate::domain::reason::Reason;

/// Recipients per delivery status. `total` counts every row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub total: i64,
    pub pending: i64,
    pub sending: i64,
    pub sent: i64,
    pub failed: i64,
    pub blocked: i64,
    pub unknown: i64,
    pub skipped: i64,
    pub deleted: i64,
}

impl Counts {
    fn add(&mut self, status: &str, n: i64) {
        self.total += n;
        let slot = match status.parse::<RecipientStatus>().ok() {
            Some(RecipientStatus::Pending) => &mut self.pending,
            Some(RecipientStatus::Sending) => &mut self.sending,
            Some(RecipientStatus::Sent) => &mut self.sent,
            Some(RecipientStatus::Failed) => &mut self.failed,
            Some(RecipientStatus::Blocked) => &mut self.blocked,
            Some(RecipientStatus::Skipped) => &mut self.skipped,
            Some(RecipientStatus::Deleted) => &mut self.deleted,
            // The old dashboard's odd values count as unknown outcomes.
            Some(RecipientStatus::Unknown) | None => &mut self.unknown,
        };
        *slot += n;
    }

    /// Each delivery status with its count, outcomes first, in the order
    /// the pages list them.
    pub fn by_status(&self) -> [(RecipientStatus, i64); 8] {
        [
            (RecipientStatus::Sent, self.sent),
            (RecipientStatus::Failed, self.failed),
            (RecipientStatus::Blocked, self.blocked),
            (RecipientStatus::Pending, self.pending),
            (RecipientStatus::Sending, self.sending),
            (RecipientStatus::Unknown, self.unknown),
            (RecipientStatus::Skipped, self.skipped),
            (RecipientStatus::Deleted, self.deleted),
        ]
    }

    /// Still to go: waiting or in flight.
    pub fn remaining(&self) -> i64 {
        self.pending + self.sending
    }
}

/// A broadcast as stored. Content fields are raw: legacy rows hold whatever
/// the old dashboard wrote.
#[derive(Debug, Clone)]
pub struct Broadcast {
    pub id: i32,
    pub legacy: bool,
    pub status: BroadcastStatus,
    pub content_type: String,
    pub text: String,
    pub file_id: Option<String>,
    pub buttons: Value,
    pub link_preview: bool,
    /// `domain::audience::Audience` as JSON; `None` for legacy broadcasts.
    pub audience: Option<Value>,
    pub recipient_type: Option<String>,
    pub recipient_group: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub created_by: Option<String>,
    pub scheduled_by: Option<String>,
    pub cancelled_by: Option<String>,
    pub status_reason: Option<Reason>,
    pub delete_requested_at: Option<DateTime<Utc>>,
    pub counts: Counts,
    /// Deliveries in the last [`RATE_WINDOW_SECS`] (or since the start, if
    /// later) and that window in seconds; only while sending.
    pub recent: Option<(i64, f64)>,
}

/// The window the send rate is measured over.
pub const RATE_WINDOW_SECS: f64 = 60.0;

impl Broadcast {
    /// The content, if it is (still) valid.
    pub fn content(&self) -> Option<Content> {
        Content::from_stored(
            &self.content_type,
            &self.text,
            self.file_id.as_deref(),
            &self.buttons,
            self.link_preview,
        )
        .ok()
    }

    /// Messages per second lately, while sending.
    pub fn rate_per_sec(&self) -> Option<f64> {
        let (sent, window) = self.recent?;
        (window > 0.0).then(|| sent as f64 / window)
    }

    /// Seconds until the remaining recipients are done at the measured rate,
    /// or at `configured_rate` before there is one.
    pub fn eta_seconds(&self, configured_rate: u32) -> Option<i64> {
        if self.status != BroadcastStatus::Sending {
            return None;
        }
        let rate = self
            .rate_per_sec()
            .filter(|rate| *rate > 0.0)
            .unwrap_or(f64::from(configured_rate.max(1)));
        Some((self.counts.remaining() as f64 / rate).ceil() as i64)
    }

    /// The content in the API.md JSON shape; legacy text as it was stored.
    pub fn content_json(&self) -> Value {
        match self.content() {
            Some(content) => content.to_json(),
            None => json!({
                "type": self.content_type,
                "text": self.text,
                "file_id": self.file_id,
                "buttons": self.buttons,
                "link_preview": self.link_preview,
            }),
        }
    }
}

const COLUMNS: &str = "id, legacy, status, content_type, message_text, file_id, buttons, \
     link_preview, audience, recipient_type, recipient_group, created_at, scheduled_at, \
     started_at, finished_at, created_by, scheduled_by, cancelled_by, status_reason, \
     delete_requested_at, counts, total_recipients, successful_deliveries";

#[derive(sqlx::FromRow)]
struct Row {
    id: i32,
    legacy: bool,
    status: String,
    content_type: String,
    message_text: String,
    file_id: Option<String>,
    buttons: Value,
    link_preview: bool,
    audience: Option<Value>,
    recipient_type: Option<String>,
    recipient_group: Option<String>,
    created_at: Option<DateTime<Utc>>,
    scheduled_at: Option<DateTime<Utc>>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    created_by: Option<String>,
    scheduled_by: Option<String>,
    cancelled_by: Option<String>,
    status_reason: Option<Reason>,
    delete_requested_at: Option<DateTime<Utc>>,
    counts: Option<Value>,
    total_recipients: i32,
    successful_deliveries: Option<i32>,
}

impl Row {
    /// Whether the stored counts can be trusted, or the rows must be counted.
    fn needs_live_counts(&self) -> bool {
        !self.legacy && (self.counts.is_none() || !self.status().is_final())
    }

    fn status(&self) -> BroadcastStatus {
        self.status.parse().unwrap_or(BroadcastStatus::Done)
    }

    fn into_broadcast(self, live: Option<Counts>, recent: Option<(i64, f64)>) -> Broadcast {
        let status = self.status();
        let stored = self
            .counts
            .as_ref()
            .and_then(|v| serde_json::from_value(v.clone()).ok());
        let counts = live.or(stored).unwrap_or_else(|| Counts {
            // Legacy broadcasts without recipient rows: what the old
            // dashboard counted.
            total: i64::from(self.total_recipients),
            sent: i64::from(self.successful_deliveries.unwrap_or(0)),
            ..Counts::default()
        });
        Broadcast {
            id: self.id,
            legacy: self.legacy,
            status,
            content_type: self.content_type,
            text: self.message_text,
            file_id: self.file_id,
            buttons: self.buttons,
            link_preview: self.link_preview,
            audience: self.audience,
            recipient_type: self.recipient_type,
            recipient_group: self.recipient_group,
            created_at: self.created_at,
            scheduled_at: self.scheduled_at,
            started_at: self.started_at,
            finished_at: self.finished_at,
            created_by: self.created_by,
            scheduled_by: self.scheduled_by,
            cancelled_by: self.cancelled_by,
            status_reason: self.status_reason,
            delete_requested_at: self.delete_requested_at,
            counts,
            recent,
        }
    }
}

/// Counts the recipient rows of the broadcasts `ids`.
async fn live_counts(db: impl PgExecutor<'_>, ids: &[i32]) -> sqlx::Result<HashMap<i32, Counts>> {
    let rows: Vec<(i32, Option<String>, i64)> = sqlx::query_as(
        "SELECT message_id, delivery_status, count(*) FROM message_recipients \
         WHERE message_id = ANY($1) GROUP BY 1, 2",
    )
    .bind(ids)
    .fetch_all(db)
    .await?;
    let mut out: HashMap<i32, Counts> = HashMap::new();
    for (id, status, n) in rows {
        out.entry(id)
            .or_default()
            .add(status.as_deref().unwrap_or(""), n);
    }
    Ok(out)
}

/// Writes the counts of broadcast `id` onto its row (and the legacy totals).
pub async fn store_counts(conn: &mut PgConnection, id: i32) -> sqlx::Result<Counts> {
    let counts = live_counts(&mut *conn, &[id])
        .await?
        .remove(&id)
        .unwrap_or_default();
    sqlx::query(
        "UPDATE message_history SET counts = $2, total_recipients = $3, \
             successful_deliveries = $4, updated_at = now() \
         WHERE id = $1 AND NOT legacy",
    )
    .bind(id)
    .bind(serde_json::to_value(counts).expect("counts serialise"))
    .bind(i32::try_from(counts.total).unwrap_or(i32::MAX))
    .bind(i32::try_from(counts.sent + counts.deleted).unwrap_or(i32::MAX))
    .execute(conn)
    .await?;
    Ok(counts)
}

async fn load(pool: &PgPool, rows: Vec<Row>) -> sqlx::Result<Vec<Broadcast>> {
    let live_ids: Vec<i32> = rows
        .iter()
        .filter(|r| r.needs_live_counts())
        .map(|r| r.id)
        .collect();
    let mut live = live_counts(pool, &live_ids).await?;
    let sending: Vec<i32> = rows
        .iter()
        .filter(|r| r.status() == BroadcastStatus::Sending)
        .map(|r| r.id)
        .collect();
    let recent: HashMap<i32, (i64, f64)> = sqlx::query_as::<_, (i32, i64, f64)>(
        "SELECT h.id, \
                (SELECT count(*) FROM message_recipients r \
                 WHERE r.message_id = h.id AND r.sent_at > now() - make_interval(secs => $2)), \
                least($2, greatest(0, extract(epoch FROM now() - h.started_at)))::float8 \
         FROM message_history h WHERE h.id = ANY($1) AND h.started_at IS NOT NULL",
    )
    .bind(&sending)
    .bind(RATE_WINDOW_SECS)
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|(id, sent, window)| (id, (sent, window)))
    .collect();
    Ok(rows
        .into_iter()
        .map(|row| {
            let id = row.id;
            let counts = row
                .needs_live_counts()
                .then(|| live.remove(&id).unwrap_or_default());
            row.into_broadcast(counts, recent.get(&id).copied())
        })
        .collect())
}

pub async fn get(pool: &PgPool, id: i32) -> sqlx::Result<Option<Broadcast>> {
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM message_history WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(load(pool, row.into_iter().collect()).await?.pop())
}

/// What the history lists filter on; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub status: Option<BroadcastStatus>,
    /// A stream code: broadcasts whose audience names it (legacy ones: whose
    /// old `recipient_group` is it).
    pub stream: Option<String>,
    /// `created_by`, exactly.
    pub author: Option<String>,
}

const LIST_WHERE: &str = "($1::text IS NULL OR status = $1) \
     AND ($2::text IS NULL OR audience -> 'streams' ? $2 \
          OR (legacy AND recipient_group = $2)) \
     AND ($3::text IS NULL OR created_by = $3)";

/// Newest first, with the total that match.
pub async fn list(
    pool: &PgPool,
    filter: &Filter,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<Broadcast>, i64)> {
    let status = filter.status.map(BroadcastStatus::as_str);
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM message_history WHERE {LIST_WHERE} \
         ORDER BY id DESC LIMIT $4 OFFSET $5"
    )))
    .bind(status)
    .bind(filter.stream.as_deref())
    .bind(filter.author.as_deref())
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM message_history WHERE {LIST_WHERE}"
    )))
    .bind(status)
    .bind(filter.stream.as_deref())
    .bind(filter.author.as_deref())
    .fetch_one(pool)
    .await?;
    Ok((load(pool, rows).await?, total))
}

/// One recipient row of a broadcast.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct Recipient {
    pub user_id: i64,
    pub username: Option<String>,
    pub status: String,
    pub attempts: i32,
    pub error: Option<Reason>,
    pub telegram_message_id: Option<i32>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// Recipients in the order they were queued.
pub async fn recipients(
    pool: &PgPool,
    id: i32,
    status: Option<RecipientStatus>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<Recipient>> {
    sqlx::query_as(
        "SELECT user_id, username, coalesce(delivery_status, 'unknown') AS status, attempts, \
                last_error AS error, telegram_message_id, sent_at \
         FROM message_recipients \
         WHERE message_id = $1 AND ($2::text IS NULL OR delivery_status = $2) \
         ORDER BY id LIMIT $3 OFFSET $4",
    )
    .bind(id)
    .bind(status.map(RecipientStatus::as_str))
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await
}

/// When a new broadcast goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Now,
    At(DateTime<Utc>),
    /// Kept as a draft to finish later.
    Draft,
}

#[derive(Debug, Clone)]
pub struct NewBroadcast {
    pub content: Content,
    pub audience: Audience,
    pub when: When,
    /// The `Idempotency-Key` and a digest of the request it came with.
    pub idempotency: Option<(String, String)>,
}

/// The answer to a create, stored to be repeated for the same key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    pub id: i32,
    pub status: BroadcastStatus,
    pub recipient_count: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("this Idempotency-Key was used for a different request")]
    KeyReused,
    #[error("unknown user ids")]
    UnknownUsers(Vec<i64>),
    #[error("unknown streams")]
    UnknownStreams(Vec<String>),
    #[error("the audience is empty")]
    EmptyAudience(Estimate),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Creates a broadcast. With `When::Now` its recipients are written at once
/// and the engine starts on it; a scheduled one is resolved when it starts,
/// so its count here is an estimate. A repeat of an idempotency key returns
/// the first answer and creates nothing.
pub async fn create(
    pool: &PgPool,
    actor: &Actor,
    new: &NewBroadcast,
) -> Result<Created, CreateError> {
    // The audience is read from the people directory: bring it up to date.
    super::people::catch_up(pool).await?;
    let mut tx = pool.begin().await?;
    if let Some((key, digest)) = &new.idempotency {
        // Two requests with one key wait for each other here, so the second
        // sees the first's broadcast.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7))")
            .bind(key)
            .execute(&mut *tx)
            .await?;
        let earlier: Option<(Option<String>, Option<Value>)> = sqlx::query_as(
            "SELECT idempotency_digest, first_response FROM message_history \
             WHERE idempotency_key = $1",
        )
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((earlier_digest, response)) = earlier {
            if earlier_digest.as_deref() != Some(digest.as_str()) {
                return Err(CreateError::KeyReused);
            }
            if let Some(created) = response.and_then(|v| serde_json::from_value(v).ok()) {
                return Ok(created);
            }
        }
    }
    match &new.audience {
        Audience::Users { user_ids } => {
            let unknown = audience::unknown_users(&mut *tx, user_ids).await?;
            if !unknown.is_empty() {
                return Err(CreateError::UnknownUsers(unknown));
            }
        }
        Audience::Stream { streams, .. } => {
            let unknown = audience::unknown_streams(&mut *tx, streams).await?;
            if !unknown.is_empty() {
                return Err(CreateError::UnknownStreams(unknown));
            }
        }
        Audience::Segment { .. } => {}
    }
    let estimate = audience::estimate(&mut *tx, &new.audience).await?;
    if estimate.recipients() <= 0 && new.when != When::Draft {
        return Err(CreateError::EmptyAudience(estimate));
    }

    let (status, scheduled_at) = match new.when {
        When::Now => (BroadcastStatus::Sending, None),
        When::At(at) => (BroadcastStatus::Scheduled, Some(at)),
        When::Draft => (BroadcastStatus::Draft, None),
    };
    let content = &new.content;
    let audience_json = serde_json::to_value(&new.audience).expect("audience serialises");
    let (key, digest) = new.idempotency.clone().unzip();
    let id: i32 = sqlx::query_scalar(
        "INSERT INTO message_history (message_text, total_recipients, successful_deliveries, \
             sent_at, recipient_type, recipient_group, scheduled_at, legacy, status, \
             content_type, file_id, buttons, link_preview, audience, created_by, scheduled_by, \
             idempotency_key, idempotency_digest, started_at) \
         VALUES ($1, 0, 0, CASE WHEN $7 = 'sending' THEN now() END, $2, NULL, $3, false, $7, \
                 $4, $5, $6, $8, $9, $10, CASE WHEN $7 = 'scheduled' THEN $10 END, $11, $12, \
                 CASE WHEN $7 = 'sending' THEN now() END) \
         RETURNING id",
    )
    .bind(content.html.as_str())
    .bind(audience_json["kind"].as_str())
    .bind(scheduled_at)
    .bind(content.kind.as_str())
    .bind(content.file_id.as_deref())
    .bind(serde_json::to_value(&content.buttons).expect("buttons serialise"))
    .bind(status.as_str())
    .bind(content.link_preview)
    .bind(&audience_json)
    .bind(&actor.name)
    .bind(key)
    .bind(digest)
    .fetch_one(&mut *tx)
    .await?;

    let recipient_count = if status == BroadcastStatus::Sending {
        let resolved = audience::resolve(&mut tx, id, &new.audience).await?;
        store_counts(&mut tx, id).await?;
        resolved.recipients - resolved.skipped
    } else {
        estimate.recipients()
    };
    let created = Created {
        id,
        status,
        recipient_count,
    };
    let response = serde_json::to_value(&created).expect("response serialises");
    sqlx::query("UPDATE message_history SET first_response = $2 WHERE id = $1")
        .bind(id)
        .bind(&response)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "broadcast.create",
            entity_type: "broadcast",
            entity_id: Some(id.to_string()),
            before: None,
            after: Some(json!({
                "status": status,
                "audience": audience_json,
                "content": content.to_json(),
                "scheduled_at": scheduled_at,
                "recipient_count": recipient_count,
            })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(created)
}

/// What staff can do to a broadcast (API.md actions; the test send is the
/// web layer's, as it talks to Telegram).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Cancel,
    Pause,
    Resume,
    RetryFailed,
    RetryUnknown,
    DeleteFromChats,
}

impl Command {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cancel => "cancel",
            Self::Pause => "pause",
            Self::Resume => "resume",
            Self::RetryFailed => "retry-failed",
            Self::RetryUnknown => "retry-unknown",
            Self::DeleteFromChats => "delete-from-chats",
        }
    }

    /// Whether it gives the delivery engine something to do now.
    pub fn wakes_engine(self) -> bool {
        !matches!(self, Self::Cancel | Self::Pause)
    }
}

/// Telegram lets bots delete their messages in private chats this long.
pub const DELETE_WINDOW_HOURS: i64 = 48;

/// The recipient rows of broadcast `$1` whose message Telegram still lets
/// the bot delete; `$2` is [`DELETE_WINDOW_HOURS`].
pub(super) const DELETABLE: &str = "message_id = $1 AND delivery_status = 'sent' \
     AND telegram_message_id IS NOT NULL \
     AND sent_at > now() - make_interval(hours => $2::int)";

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("no such broadcast")]
    NotFound,
    #[error("legacy broadcasts of the previous dashboard cannot be changed")]
    Legacy,
    #[error("a {status} broadcast cannot be {action}")]
    NotAllowed {
        status: BroadcastStatus,
        action: &'static str,
    },
    #[error("no recipients to retry")]
    NothingToRetry,
    #[error("no message was delivered in the last {DELETE_WINDOW_HOURS} hours")]
    NothingToDelete,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Applies `command` to broadcast `id`, with an audit row.
pub async fn command(
    pool: &PgPool,
    id: i32,
    command: Command,
    actor: &Actor,
) -> Result<(), CommandError> {
    let mut tx = pool.begin().await?;
    let current: Option<(String, bool)> =
        sqlx::query_as("SELECT status, legacy FROM message_history WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let (status, legacy) = current.ok_or(CommandError::NotFound)?;
    if legacy {
        return Err(CommandError::Legacy);
    }
    let before: BroadcastStatus = status.parse().unwrap_or(BroadcastStatus::Done);
    let refuse = || CommandError::NotAllowed {
        status: before,
        action: command.as_str(),
    };
    let step = |action| before.apply(action).map_err(|_| refuse());
    let after = match command {
        Command::Cancel => {
            let next = step(Action::Cancel)?;
            // Nobody still waiting gets it now (RecipientStatus::Skipped).
            sqlx::query(
                "UPDATE message_recipients SET delivery_status = 'skipped', \
                     last_error = $2, next_attempt_at = NULL, updated_at = now() \
                 WHERE message_id = $1 AND delivery_status = 'pending'",
            )
            .bind(id)
            .bind(Reason::Cancelled)
            .execute(&mut *tx)
            .await?;
            next
        }
        Command::Pause => step(Action::Pause)?,
        Command::Resume => step(Action::Resume)?,
        Command::RetryFailed | Command::RetryUnknown => {
            let next = match before {
                BroadcastStatus::Sending | BroadcastStatus::Paused => before,
                _ => step(Action::Retry)?,
            };
            let from = if command == Command::RetryFailed {
                RecipientStatus::Failed
            } else {
                RecipientStatus::Unknown
            };
            let reopened = sqlx::query(
                "UPDATE message_recipients SET delivery_status = 'pending', attempts = 0, \
                     next_attempt_at = NULL, last_error = NULL, updated_at = now() \
                 WHERE message_id = $1 AND delivery_status = $2",
            )
            .bind(id)
            .bind(from.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if reopened == 0 {
                return Err(CommandError::NothingToRetry);
            }
            next
        }
        Command::DeleteFromChats => {
            if matches!(before, BroadcastStatus::Draft | BroadcastStatus::Scheduled) {
                return Err(refuse());
            }
            let any: bool = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT EXISTS (SELECT 1 FROM message_recipients WHERE {DELETABLE})"
            )))
            .bind(id)
            .bind(DELETE_WINDOW_HOURS as i32)
            .fetch_one(&mut *tx)
            .await?;
            if !any {
                return Err(CommandError::NothingToDelete);
            }
            before
        }
    };
    sqlx::query(
        "UPDATE message_history SET status = $2, updated_at = now(), \
             status_reason = CASE WHEN $2 = 'sending' THEN NULL ELSE status_reason END, \
             cancelled_by = CASE WHEN $3 = 'cancel' THEN $4 ELSE cancelled_by END, \
             finished_at = CASE WHEN $2 IN ('cancelled', 'done', 'failed') THEN now() \
                                WHEN $2 = 'sending' THEN NULL ELSE finished_at END, \
             delete_requested_at = CASE WHEN $3 = 'delete-from-chats' THEN now() \
                                        ELSE delete_requested_at END, \
             delete_requested_by = CASE WHEN $3 = 'delete-from-chats' THEN $4 \
                                        ELSE delete_requested_by END \
         WHERE id = $1",
    )
    .bind(id)
    .bind(after.as_str())
    .bind(command.as_str())
    .bind(&actor.name)
    .execute(&mut *tx)
    .await?;
    store_counts(&mut tx, id).await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: &format!("broadcast.{}", command.as_str()),
            entity_type: "broadcast",
            entity_id: Some(id.to_string()),
            before: Some(json!({ "status": before })),
            after: Some(json!({ "status": after })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Records a test send in the audit log.
pub async fn record_test_send(
    pool: &PgPool,
    id: i32,
    actor: &Actor,
    telegram_user_id: i64,
) -> sqlx::Result<()> {
    let mut conn = pool.acquire().await?;
    audit::record(
        &mut conn,
        actor,
        Change {
            action: "broadcast.test",
            entity_type: "broadcast",
            entity_id: Some(id.to_string()),
            before: None,
            after: Some(json!({ "sent_to": telegram_user_id })),
        },
    )
    .await
}

/// What an earlier create with an idempotency key left: the digest of its
/// request and the answer it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Earlier {
    pub digest: Option<String>,
    pub response: Option<Created>,
}

/// The earlier create with `key`, if any. A read without the key's lock:
/// [`create`] checks again under it, so racing requests still create one
/// broadcast.
pub async fn earlier(pool: &PgPool, key: &str) -> sqlx::Result<Option<Earlier>> {
    let row: Option<(Option<String>, Option<Value>)> = sqlx::query_as(
        "SELECT idempotency_digest, first_response FROM message_history \
         WHERE idempotency_key = $1",
    )
    .bind(key)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(digest, response)| Earlier {
        digest,
        response: response.and_then(|v| serde_json::from_value(v).ok()),
    }))
}

/// How many recipient rows broadcast `id` has (with `status`, if given).
pub async fn recipient_total(
    pool: &PgPool,
    id: i32,
    status: Option<RecipientStatus>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT count(*) FROM message_recipients \
         WHERE message_id = $1 AND ($2::text IS NULL OR delivery_status = $2)",
    )
    .bind(id)
    .bind(status.map(RecipientStatus::as_str))
    .fetch_one(pool)
    .await
}
