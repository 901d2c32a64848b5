//! What a user's page shows beside their bookings: their events, free-lesson
//! registrations and the audit history of changes to their bookings.

use chrono::{DateTime, NaiveDate, Utc};

use super::audit::Entry;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub id: i32,
    pub event_type: String,
    pub details: Option<serde_json::Value>,
    pub created_at: Option<DateTime<Utc>>,
}

/// A page of the user's events, newest first.
#[tracing::instrument(skip(db))]
pub async fn events(
    db: impl sqlx::PgExecutor<'_>,
    user_id: i64,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<EventRow>> {
    sqlx::query_as(
        "SELECT id, event_type, details, created_at FROM events WHERE user_id = $1 \
         ORDER BY created_at DESC NULLS LAST, id DESC LIMIT $2 OFFSET $3",
    )
    .bind(user_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FreeLessonRow {
    pub id: i32,
    pub email: String,
    pub lesson_type: Option<String>,
    pub lesson_date: Option<NaiveDate>,
    pub registered_at: Option<DateTime<Utc>>,
    pub notification_sent: Option<bool>,
}

/// The user's free-lesson registrations, newest first.
#[tracing::instrument(skip(db))]
pub async fn free_lessons(
    db: impl sqlx::PgExecutor<'_>,
    user_id: i64,
) -> sqlx::Result<Vec<FreeLessonRow>> {
    sqlx::query_as(
        "SELECT id, email, lesson_type, lesson_date, registered_at, notification_sent \
         FROM free_lesson_registrations WHERE user_id = $1 \
         ORDER BY registered_at DESC NULLS LAST, id DESC",
    )
    .bind(user_id)
    .fetch_all(db)
    .await
}

/// Audit entries of the user's bookings (entity `booking`, id one of theirs),
/// newest first, at most `limit`.
#[tracing::instrument(skip(db))]
pub async fn booking_history(
    db: impl sqlx::PgExecutor<'_>,
    user_id: i64,
    limit: i64,
) -> sqlx::Result<Vec<Entry>> {
    sqlx::query_as(
        "SELECT a.id, a.at, a.actor, a.action, a.entity_type, a.entity_id, a.before, a.after, \
                host(a.client_addr) AS client_addr, a.request_id \
         FROM audit_log a \
         WHERE a.entity_type = 'booking' \
           AND a.entity_id IN (SELECT id::text FROM bookings WHERE user_id = $1) \
         ORDER BY a.at DESC, a.id DESC LIMIT $2",
    )
    .bind(user_id)
    .bind(limit)
    .fetch_all(db)
    .await
}
