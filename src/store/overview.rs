//! Row counts for the home page's "data at a glance" card.

use sqlx::PgPool;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TableCounts {
    pub users: i64,
    pub bookings: i64,
    pub events: i64,
    pub free_lesson_registrations: i64,
    pub hackathon_registrations: i64,
}

#[tracing::instrument(skip_all)]
pub async fn table_counts(pool: &PgPool) -> Result<TableCounts, sqlx::Error> {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM users) AS users, \
                (SELECT count(*) FROM bookings) AS bookings, \
                (SELECT count(*) FROM events) AS events, \
                (SELECT count(*) FROM free_lesson_registrations) AS free_lesson_registrations, \
                (SELECT count(*) FROM hackathon_registrations) AS hackathon_registrations",
    )
    .fetch_one(pool)
    .await
}
