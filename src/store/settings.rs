//! Settings shared by every server process.

use sqlx::PgPool;

/// The stored value for `key`, created from `generate` if there is none
/// yet. Concurrent first starts agree on one value.
#[tracing::instrument(skip_all, fields(key))]
pub async fn get_or_create(
    pool: &PgPool,
    key: &str,
    generate: impl FnOnce() -> String,
) -> sqlx::Result<String> {
    sqlx::query(
        "INSERT INTO app_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
    )
    .bind(key)
    .bind(generate())
    .execute(pool)
    .await?;
    sqlx::query_scalar("SELECT value FROM app_settings WHERE key = $1")
        .bind(key)
        .fetch_one(pool)
        .await
}
