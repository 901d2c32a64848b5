//! What the history and detail pages read besides [`super::broadcasts`]:
//! the authors to filter by, recipients with their names, how many
//! messages could still be deleted from chats, and the broadcasts one
//! person received.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::broadcasts::{DELETABLE, DELETE_WINDOW_HOURS};
use crate::domain::broadcast::RecipientStatus;
use crate::domain::reason::Reason;

/// Everyone who created a broadcast, for the author filter.
#[tracing::instrument(skip(pool))]
pub async fn authors(pool: &PgPool) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT DISTINCT created_by FROM message_history \
         WHERE created_by IS NOT NULL ORDER BY 1",
    )
    .fetch_all(pool)
    .await
}

/// Delivered messages of broadcast `id` that Telegram still lets the bot
/// delete: what `broadcasts::command(DeleteFromChats)` requires one of.
#[tracing::instrument(skip(pool))]
pub async fn deletable(pool: &PgPool, id: i32) -> sqlx::Result<i64> {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM message_recipients WHERE {DELETABLE}"
    )))
    .bind(id)
    .bind(DELETE_WINDOW_HOURS as i32)
    .fetch_one(pool)
    .await
}

/// A recipient row with the person's names from the people directory.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NamedRecipient {
    pub user_id: i64,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub status: String,
    pub attempts: i32,
    pub error: Option<Reason>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// Recipients of broadcast `id` in the order they were queued, as
/// `broadcasts::recipients` lists them, with names.
#[tracing::instrument(skip(pool))]
pub async fn named_recipients(
    pool: &PgPool,
    id: i32,
    status: Option<RecipientStatus>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<NamedRecipient>> {
    sqlx::query_as(
        "SELECT r.user_id, coalesce(p.username, r.username) AS username, p.first_name, \
                p.last_name, coalesce(r.delivery_status, 'unknown') AS status, r.attempts, \
                r.last_error AS error, r.sent_at \
         FROM message_recipients r LEFT JOIN people_directory p ON p.user_id = r.user_id \
         WHERE r.message_id = $1 AND ($2::text IS NULL OR r.delivery_status = $2) \
         ORDER BY r.id LIMIT $3 OFFSET $4",
    )
    .bind(id)
    .bind(status.map(RecipientStatus::as_str))
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await
}

/// A broadcast one person was a recipient of, and how it went for them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Received {
    pub message_id: i32,
    pub legacy: bool,
    pub text: String,
    pub content_type: String,
    /// When it reached them, else when the broadcast started or was made.
    pub at: Option<DateTime<Utc>>,
    /// Their delivery status as stored (`unknown` when missing).
    pub status: String,
    pub error: Option<Reason>,
}

impl Received {
    pub fn status(&self) -> RecipientStatus {
        self.status.parse().unwrap_or(RecipientStatus::Unknown)
    }
}

/// The newest `limit` broadcasts `user_id` was a recipient of (one row per
/// broadcast: the old dashboard wrote some people twice), and how many
/// there are. One index probe on `message_recipients (user_id)`.
#[tracing::instrument(skip(pool))]
pub async fn received_by(
    pool: &PgPool,
    user_id: i64,
    limit: i64,
) -> sqlx::Result<(Vec<Received>, i64)> {
    let rows: Vec<(i64, Received)> = sqlx::query_as::<_, ReceivedRow>(
        "SELECT count(*) OVER () AS total, x.* FROM ( \
             SELECT DISTINCT ON (r.message_id) r.message_id, h.legacy, \
                    h.message_text AS text, h.content_type, \
                    coalesce(r.sent_at, h.started_at, h.created_at) AS at, \
                    coalesce(r.delivery_status, 'unknown') AS status, r.last_error AS error \
             FROM message_recipients r JOIN message_history h ON h.id = r.message_id \
             WHERE r.user_id = $1 \
             ORDER BY r.message_id DESC, r.id DESC \
         ) x ORDER BY x.message_id DESC LIMIT $2",
    )
    .bind(user_id)
    .bind(limit)
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|row| (row.total, row.received))
    .collect();
    let total = rows.first().map_or(0, |(total, _)| *total);
    Ok((rows.into_iter().map(|(_, row)| row).collect(), total))
}

#[derive(sqlx::FromRow)]
struct ReceivedRow {
    total: i64,
    #[sqlx(flatten)]
    received: Received,
}
