//! Database health for `/api/test-db` and `/readyz`.

use std::collections::HashSet;
use std::time::Instant;

use sqlx::PgPool;

use super::MIGRATOR;

#[derive(Debug, Clone)]
pub struct DbHealth {
    pub latency_ms: f64,
    /// e.g. "15.18" (distribution suffixes removed).
    pub server_version: String,
    pub migrations_applied: i64,
    pub migrations_pending: i64,
}

#[tracing::instrument(skip_all)]
pub async fn probe(pool: &PgPool) -> Result<DbHealth, sqlx::Error> {
    let started = Instant::now();
    let mut conn = pool.acquire().await?;
    let (version, has_history): (String, bool) = sqlx::query_as(
        "SELECT current_setting('server_version'), \
                to_regclass('_sqlx_migrations') IS NOT NULL",
    )
    .fetch_one(&mut *conn)
    .await?;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;

    let applied: HashSet<i64> = if has_history {
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .collect()
    } else {
        HashSet::new()
    };
    let pending = MIGRATOR
        .iter()
        .filter(|m| m.migration_type.is_up_migration() && !applied.contains(&m.version))
        .count();

    Ok(DbHealth {
        latency_ms: (latency_ms * 100.0).round() / 100.0,
        server_version: version
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned(),
        migrations_applied: applied.len() as i64,
        migrations_pending: pending as i64,
    })
}
