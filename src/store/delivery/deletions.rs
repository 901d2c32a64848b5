//! Deleting delivered messages from their chats (within Telegram's 48
//! hours), and the staff member's own chat for test sends.

use std::time::Duration;

use sqlx::PgPool;

use super::secs;

/// Whether some delivered message waits to be deleted.
pub async fn deletions_due(pool: &PgPool) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM message_history h \
         WHERE h.delete_requested_at > now() - interval '48 hours' AND EXISTS ( \
             SELECT 1 FROM message_recipients r \
             WHERE r.message_id = h.id AND r.delivery_status = 'sent' \
               AND r.telegram_message_id IS NOT NULL AND r.delete_error IS NULL \
               AND r.sent_at > now() - interval '48 hours'))",
    )
    .fetch_one(pool)
    .await
}

/// A delivered message to delete from its chat.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ToDelete {
    pub id: i32,
    pub message_id: i32,
    pub user_id: i64,
    pub telegram_message_id: i32,
}

/// Claims up to `limit` delivered messages of broadcasts whose deletion
/// was asked for, still inside Telegram's 48-hour window.
#[tracing::instrument(level = "debug", skip_all, fields(limit))]
pub async fn claim_deletions(
    pool: &PgPool,
    limit: i64,
    lease: Duration,
) -> sqlx::Result<Vec<ToDelete>> {
    sqlx::query_as(
        "UPDATE message_recipients r SET lease_until = now() + make_interval(secs => $2), \
             updated_at = now() \
         FROM (SELECT r2.id FROM message_recipients r2 \
               JOIN message_history h ON h.id = r2.message_id \
               WHERE h.delete_requested_at IS NOT NULL AND r2.delivery_status = 'sent' \
                 AND r2.telegram_message_id IS NOT NULL AND r2.delete_error IS NULL \
                 AND r2.sent_at > now() - interval '48 hours' \
                 AND (r2.lease_until IS NULL OR r2.lease_until < now()) \
               ORDER BY r2.id LIMIT $1 FOR UPDATE OF r2 SKIP LOCKED) due \
         WHERE r.id = due.id \
         RETURNING r.id, r.message_id, r.user_id, r.telegram_message_id",
    )
    .bind(limit)
    .bind(secs(lease))
    .fetch_all(pool)
    .await
}

/// The message was deleted (`error` None) or could not be (not retried).
#[tracing::instrument(level = "debug", skip_all, fields(id))]
pub async fn mark_deletion(pool: &PgPool, id: i32, error: Option<&str>) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE message_recipients SET lease_until = NULL, updated_at = now(), \
             delivery_status = CASE WHEN $2::text IS NULL THEN 'deleted' ELSE delivery_status END, \
             delete_error = $2 \
         WHERE id = $1",
    )
    .bind(id)
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}

/// The Telegram id of a staff account, for test sends.
pub async fn staff_telegram_id(pool: &PgPool, login: &str) -> sqlx::Result<Option<i64>> {
    Ok(
        sqlx::query_scalar::<_, Option<i64>>("SELECT telegram_user_id FROM staff WHERE login = $1")
            .bind(login)
            .fetch_optional(pool)
            .await?
            .flatten(),
    )
}
