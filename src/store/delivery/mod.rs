//! The delivery engine's queries. Every one is a single statement in its
//! own transaction: work is claimed with `FOR UPDATE SKIP LOCKED` under a
//! lease, a claimed row is marked dispatched right before its request
//! starts, and each outcome is written the moment it is known. So no
//! transaction is ever open across a Telegram call, and a crash loses at
//! most the outcomes of the requests in flight (which become `unknown`);
//! rows claimed but not yet dispatched go back to the queue.

mod deletions;

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{Connection, PgConnection, PgPool};

use super::audience;
use super::broadcasts::store_counts;
use crate::domain::audience::{Audience, RawAudience};
use crate::domain::reason::Reason;

pub use self::deletions::{
    ToDelete, claim_deletions, deletions_due, mark_deletion, staff_telegram_id,
};

/// One recipient claimed for sending.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    /// The recipient row.
    pub id: i32,
    pub message_id: i32,
    pub user_id: i64,
    /// Including this one.
    pub attempts: i32,
    /// The claim's lease, which also identifies the claim: a row whose
    /// lease ran out and was claimed again is no longer this claim's.
    pub lease_until: DateTime<Utc>,
}

/// A broadcast being sent, with its content as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Active {
    pub id: i32,
    pub content_type: String,
    pub message_text: String,
    pub file_id: Option<String>,
    pub buttons: Value,
    pub link_preview: bool,
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Tries to become the one sender for `key` (one per bot token) on this
/// connection; held until the connection closes.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn try_lead(conn: &mut PgConnection, key: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(key)
        .fetch_one(conn)
        .await
}

/// What [`expire_leases`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expired {
    /// Claimed but never handed to Telegram: back to `pending`.
    pub requeued: u64,
    /// Their request had started: now `unknown`.
    pub unknown: u64,
}

/// Rows left `sending` past their lease belonged to a sender that died.
/// Those whose request had started (`dispatched_at`) may or may not have
/// been delivered: they become `unknown` and are not resent. The others
/// never reached Telegram: they go back to `pending`, and the claim does
/// not count as an attempt. `own` are this sender's rows in flight.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn expire_leases(pool: &PgPool, own: &[i32]) -> sqlx::Result<Expired> {
    let dispatched: Vec<bool> = sqlx::query_scalar(
        "UPDATE message_recipients SET lease_until = NULL, updated_at = now(), \
             delivery_status = CASE WHEN dispatched_at IS NULL THEN 'pending' \
                                    ELSE 'unknown' END, \
             attempts = CASE WHEN dispatched_at IS NULL THEN greatest(attempts - 1, 0) \
                             ELSE attempts END, \
             last_error = CASE WHEN dispatched_at IS NULL THEN last_error ELSE $2 END \
         WHERE delivery_status = 'sending' AND lease_until < now() AND id <> ALL($1) \
         RETURNING dispatched_at IS NOT NULL",
    )
    .bind(own)
    .bind(Reason::OutcomeUnknownSenderStopped)
    .fetch_all(pool)
    .await?;
    let unknown = dispatched.iter().filter(|d| **d).count() as u64;
    Ok(Expired {
        requeued: dispatched.len() as u64 - unknown,
        unknown,
    })
}

/// Starts the scheduled broadcasts that are due: writes their recipients
/// (so late confirmations are included) and marks them `sending`. Returns
/// their ids.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn start_due(pool: &PgPool) -> sqlx::Result<Vec<i32>> {
    let mut started = Vec::new();
    // Audiences are read from the people directory, brought up to date once
    // per round and only when something is due.
    let mut caught_up = false;
    loop {
        let mut tx = pool.begin().await?;
        let due: Option<(i32, Option<Value>)> = sqlx::query_as(
            "SELECT id, audience FROM message_history \
             WHERE status = 'scheduled' AND scheduled_at <= now() \
             ORDER BY scheduled_at, id LIMIT 1 FOR UPDATE SKIP LOCKED",
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some((id, audience)) = due else {
            break;
        };
        let audience = audience
            .and_then(|value| serde_json::from_value::<RawAudience>(value).ok())
            .and_then(|raw| Audience::parse(raw).ok());
        match audience {
            Some(audience) => {
                if !caught_up {
                    super::people::catch_up(pool).await?;
                    caught_up = true;
                }
                audience::resolve(&mut tx, id, &audience).await?;
                sqlx::query(
                    "UPDATE message_history SET status = 'sending', started_at = now(), \
                         sent_at = now(), updated_at = now() WHERE id = $1",
                )
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            None => {
                fail_in(&mut tx, id, &Reason::AudienceUnreadable).await?;
            }
        }
        store_counts(&mut tx, id).await?;
        tx.commit().await?;
        started.push(id);
    }
    Ok(started)
}

/// The broadcasts being sent, oldest first.
pub async fn active(pool: &PgPool) -> sqlx::Result<Vec<Active>> {
    sqlx::query_as(
        "SELECT id, content_type, message_text, file_id, buttons, link_preview \
         FROM message_history WHERE status = 'sending' ORDER BY id",
    )
    .fetch_all(pool)
    .await
}

/// Claims up to `limit` due pending recipients of broadcast `message_id`,
/// oldest first, marking them `sending` (not yet dispatched) until `lease`
/// from now.
#[tracing::instrument(level = "debug", skip_all, fields(message_id, limit))]
pub async fn claim(
    pool: &PgPool,
    message_id: i32,
    limit: i64,
    lease: Duration,
) -> sqlx::Result<Vec<Claimed>> {
    sqlx::query_as(
        "UPDATE message_recipients r SET delivery_status = 'sending', \
             attempts = r.attempts + 1, lease_until = now() + make_interval(secs => $3), \
             dispatched_at = NULL, updated_at = now() \
         FROM (SELECT id FROM message_recipients \
               WHERE message_id = $1 AND delivery_status = 'pending' \
                 AND (next_attempt_at IS NULL OR next_attempt_at <= now()) \
               ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED) due \
         WHERE r.id = due.id \
           AND EXISTS (SELECT 1 FROM message_history h \
                       WHERE h.id = $1 AND h.status = 'sending') \
         RETURNING r.id, r.message_id, r.user_id, r.attempts, r.lease_until",
    )
    .bind(message_id)
    .bind(limit)
    .bind(secs(lease))
    .fetch_all(pool)
    .await
}

/// Marks a claimed row dispatched, right before its request to Telegram
/// starts: from now on a crash leaves its outcome `unknown`. False if the
/// claim is no longer this sender's (its lease ran out and the row was
/// requeued or claimed again): then it must not be sent.
#[tracing::instrument(level = "debug", skip_all, fields(id = claimed.id))]
pub async fn mark_dispatched(pool: &PgPool, claimed: &Claimed) -> sqlx::Result<bool> {
    Ok(sqlx::query(
        "UPDATE message_recipients SET dispatched_at = now() \
         WHERE id = $1 AND delivery_status = 'sending' AND lease_until = $2 \
           AND dispatched_at IS NULL",
    )
    .bind(claimed.id)
    .bind(claimed.lease_until)
    .execute(pool)
    .await?
    .rows_affected()
        == 1)
}

#[tracing::instrument(level = "debug", skip_all, fields(id))]
pub async fn mark_sent(pool: &PgPool, id: i32, telegram_message_id: i32) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE message_recipients SET delivery_status = 'sent', telegram_message_id = $2, \
             sent_at = now(), lease_until = NULL, last_error = NULL, updated_at = now() \
         WHERE id = $1 AND delivery_status = 'sending'",
    )
    .bind(id)
    .bind(telegram_message_id)
    .execute(pool)
    .await?;
    Ok(())
}

/// Back to `pending`, to be tried again at `at`. `counted`: whether this
/// attempt counts towards the limit (a 429 does not).
#[tracing::instrument(level = "debug", skip_all, fields(id, counted))]
pub async fn mark_retry(
    pool: &PgPool,
    id: i32,
    at: DateTime<Utc>,
    error: &Reason,
    counted: bool,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE message_recipients SET delivery_status = 'pending', next_attempt_at = $2, \
             last_error = $3, lease_until = NULL, updated_at = now(), \
             attempts = CASE WHEN $4 THEN attempts ELSE greatest(attempts - 1, 0) END \
         WHERE id = $1 AND delivery_status = 'sending'",
    )
    .bind(id)
    .bind(at)
    .bind(error)
    .bind(counted)
    .execute(pool)
    .await?;
    Ok(())
}

#[tracing::instrument(level = "debug", skip_all, fields(id))]
pub async fn mark_failed(pool: &PgPool, id: i32, error: &Reason) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE message_recipients SET delivery_status = 'failed', last_error = $2, \
             lease_until = NULL, updated_at = now() \
         WHERE id = $1 AND delivery_status = 'sending'",
    )
    .bind(id)
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}

/// Why Telegram will not deliver to someone, as `blocked_users.reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockReason {
    Blocked,
    Deactivated,
    ChatNotFound,
}

impl BlockReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Blocked => "blocked",
            Self::Deactivated => "deactivated",
            Self::ChatNotFound => "chat_not_found",
        }
    }
}

/// The recipient can't be messaged: `blocked` (or `failed` for a missing
/// chat), and the person is remembered so later broadcasts skip them. One
/// statement, so both happen or neither. `error` is Telegram's text: kept
/// as it is in `blocked_users.error`, as a code in `last_error`.
#[tracing::instrument(level = "debug", skip_all, fields(id, reason = reason.as_str()))]
pub async fn mark_blocked(
    pool: &PgPool,
    id: i32,
    reason: BlockReason,
    error: &str,
) -> sqlx::Result<()> {
    let status = match reason {
        BlockReason::ChatNotFound => "failed",
        BlockReason::Blocked | BlockReason::Deactivated => "blocked",
    };
    sqlx::query(
        "WITH r AS ( \
             UPDATE message_recipients SET delivery_status = $2, last_error = $5, \
                 lease_until = NULL, updated_at = now() \
             WHERE id = $1 AND delivery_status = 'sending' \
             RETURNING user_id, message_id) \
         INSERT INTO blocked_users (user_id, reason, error, message_id) \
         SELECT user_id, $3, $4, message_id FROM r \
         ON CONFLICT (user_id) DO UPDATE SET reason = EXCLUDED.reason, error = EXCLUDED.error, \
             message_id = EXCLUDED.message_id, blocked_at = now()",
    )
    .bind(id)
    .bind(status)
    .bind(reason.as_str())
    .bind(error)
    .bind(Reason::TelegramError {
        detail: error.to_owned(),
    })
    .execute(pool)
    .await?;
    Ok(())
}

async fn fail_in(conn: &mut PgConnection, id: i32, reason: &Reason) -> sqlx::Result<bool> {
    Ok(sqlx::query(
        "UPDATE message_history SET status = 'failed', status_reason = $2, \
             finished_at = now(), updated_at = now() \
         WHERE id = $1 AND status IN ('scheduled', 'sending', 'paused')",
    )
    .bind(id)
    .bind(reason)
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// Stops a broadcast as `failed` (e.g. Telegram rejects its HTML).
#[tracing::instrument(skip_all, fields(id, reason = reason.code()))]
pub async fn fail(pool: &PgPool, id: i32, reason: &Reason) -> sqlx::Result<bool> {
    let mut tx = pool.begin().await?;
    let changed = fail_in(&mut tx, id, reason).await?;
    store_counts(&mut tx, id).await?;
    tx.commit().await?;
    Ok(changed)
}

/// Pauses a broadcast that keeps failing, with the reason shown to staff.
#[tracing::instrument(skip_all, fields(id, reason = reason.code()))]
pub async fn auto_pause(pool: &PgPool, id: i32, reason: &Reason) -> sqlx::Result<bool> {
    let mut tx = pool.begin().await?;
    let changed = sqlx::query(
        "UPDATE message_history SET status = 'paused', status_reason = $2, updated_at = now() \
         WHERE id = $1 AND status = 'sending'",
    )
    .bind(id)
    .bind(reason)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    store_counts(&mut tx, id).await?;
    tx.commit().await?;
    Ok(changed)
}

/// Marks `done` the sending broadcasts with nobody left to send to, and
/// returns their ids.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn finish_completed(pool: &PgPool) -> sqlx::Result<Vec<i32>> {
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin().await?;
    let done: Vec<i32> = sqlx::query_scalar(
        "UPDATE message_history h SET status = 'done', finished_at = now(), updated_at = now() \
         WHERE h.status = 'sending' AND NOT EXISTS ( \
             SELECT 1 FROM message_recipients r \
             WHERE r.message_id = h.id AND r.delivery_status IN ('pending', 'sending')) \
         RETURNING h.id",
    )
    .fetch_all(&mut *tx)
    .await?;
    for id in &done {
        store_counts(&mut tx, *id).await?;
    }
    tx.commit().await?;
    Ok(done)
}
