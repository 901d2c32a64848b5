//! All SQL lives here, one module per aggregate.

pub mod analytics;
pub mod analytics_cache;
pub mod audience;
pub mod audit;
pub mod bookings;
pub mod broadcast_history;
pub mod broadcasts;
pub mod cluster;
pub mod delivery;
pub mod demo;
mod demo_activity;
pub mod drafts;
pub mod free_lessons;
pub mod health;
pub mod intake;
pub mod leads;
pub mod people;
pub mod person_names;
mod reason;
pub mod scheduled;
pub mod sessions;
pub mod settings;
pub mod staff;
pub mod streams;
pub mod students;
pub mod tokens;
pub mod user_activity;
pub mod users;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};

/// The migrations in `migrations/`, embedded in the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// How long a request waits for a pooled connection before giving up with 503.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

fn connect_options(url: &str) -> anyhow::Result<PgConnectOptions> {
    // The URL may hold a password: keep it out of the error chain.
    let options = PgConnectOptions::from_str(url)
        .map_err(|_| anyhow::anyhow!("DATABASE_URL is not a valid PostgreSQL URL"))?;
    Ok(options
        .application_name("hsl-dashboard")
        .log_statements(tracing::log::LevelFilter::Debug))
}

/// The server's pool. It connects lazily, so the server starts and keeps
/// running while the database is down and recovers when it comes back;
/// a statement timeout stops runaway queries from holding connections.
/// JIT compilation is off for our sessions: the dashboard's queries are
/// short, and PostgreSQL's cost-based JIT spent ~90 ms compiling a 3 ms
/// registry query on the 200 000-person demo data.
pub fn pool(url: &str) -> anyhow::Result<PgPool> {
    let options = connect_options(url)?
        .options([("statement_timeout", "30s"), ("jit", "off")])
        .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_secs(1));
    Ok(PgPoolOptions::new()
        .max_connections(20)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_lazy_with(options))
}

/// One connection without the pool's statement timeout (or slow-statement
/// warnings), for long-running maintenance: migrations, seeding.
pub async fn maintenance_connection(url: &str) -> anyhow::Result<PgConnection> {
    let options = connect_options(url)?
        .log_slow_statements(tracing::log::LevelFilter::Off, Duration::from_secs(1));
    PgConnection::connect_with(&options)
        .await
        .context("connecting to the database")
}

/// Applies every pending migration. A no-op when the database is current.
pub async fn migrate(url: &str) -> anyhow::Result<()> {
    let mut conn = maintenance_connection(url).await?;
    MIGRATOR
        .run(&mut conn)
        .await
        .context("applying database migrations")?;
    conn.close().await.ok();
    Ok(())
}

/// Whether PostgreSQL refused text it cannot store: NUL or an invalid byte
/// sequence (22021 `character_not_in_repertoire`), `\u0000` in `jsonb` or a
/// character the encoding lacks (22P05 `untranslatable_character`). Input
/// is checked before it gets here; this is the backstop.
pub fn is_bad_text(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| matches!(code.as_ref(), "22021" | "22P05")),
        _ => false,
    }
}

/// Whether an error means the database could not be reached (as opposed to a
/// bad query): such errors become 503, not 500.
pub fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            // Class 57 (operator intervention: shutdown, cannot connect now)
            // and 08 (connection exceptions).
            db.code()
                .is_some_and(|code| code.starts_with("57") || code.starts_with("08"))
        }
        _ => false,
    }
}
