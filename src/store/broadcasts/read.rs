//! Reading broadcasts: one, a filtered page, their recipients; and the
//! per-status counts written onto each row.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::{PgConnection, PgExecutor, PgPool};

use super::{Broadcast, Counts, RATE_WINDOW_SECS};
use crate::domain::broadcast::{BroadcastStatus, RecipientStatus};
use crate::domain::reason::Reason;

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
#[tracing::instrument(level = "debug", skip_all, fields(id))]
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
    /// A stream, `course_id:code` (or a bare code: that code in any
    /// course): broadcasts whose audience names it, or names its code alone
    /// as audiences stored before streams had courses do (legacy ones: whose
    /// old `recipient_group` is the code).
    pub stream: Option<String>,
    /// `created_by`, exactly.
    pub author: Option<String>,
}

const LIST_WHERE: &str = "($1::text IS NULL OR status = $1) \
     AND ($2::text IS NULL \
          OR EXISTS (SELECT 1 FROM jsonb_array_elements_text( \
                         CASE jsonb_typeof(audience -> 'streams') \
                              WHEN 'array' THEN audience -> 'streams' ELSE '[]' END) AS a(s) \
                     WHERE regexp_replace(a.s, '^[0-9]+:', '') = regexp_replace($2, '^[0-9]+:', '') \
                       AND (substring(a.s FROM '^([0-9]+):') IS NULL \
                            OR substring($2 FROM '^([0-9]+):') IS NULL \
                            OR substring(a.s FROM '^([0-9]+):') = substring($2 FROM '^([0-9]+):'))) \
          OR (legacy AND recipient_group = regexp_replace($2, '^[0-9]+:', ''))) \
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
