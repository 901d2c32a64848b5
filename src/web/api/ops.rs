//! Operations routes: `/api/test-db`, `/healthz`, `/readyz`, `/metrics`.

use std::time::Duration;

use crate::domain::time::rfc3339;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::store::{self, health};
use crate::web::AppState;
use crate::web::extract::Json;
use crate::web::words;

/// `/api/test-db` must answer within 3 s; give the database 2 of them.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Serialize, ToSchema)]
pub struct TestDbOk {
    /// Always "ok".
    status: String,
    /// Always "connected".
    database: String,
    latency_ms: f64,
    server_version: String,
    migrations: MigrationState,
    scheduler: SchedulerState,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MigrationState {
    applied: i64,
    pending: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SchedulerState {
    enabled: bool,
    /// RFC 3339 UTC; null until the delivery loop has run.
    last_tick_at: Option<String>,
    /// Whether a bot token is configured; without one broadcasts are
    /// queued and nothing is sent.
    telegram_configured: bool,
    /// «Telegram не настроен» without a token.
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TestDbError {
    /// Always "error".
    status: String,
    /// Always "unreachable".
    database: String,
    /// A short reason that never contains hosts, users or passwords.
    error: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Status {
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

/// Maps a database error to a reason that is safe to show anyone: never the
/// raw message, which may name the host or the user.
fn public_reason(err: &sqlx::Error) -> &'static str {
    match err {
        sqlx::Error::PoolTimedOut => "timed out waiting for a database connection",
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) => "cannot connect to the database server",
        sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => "database connection pool closed",
        sqlx::Error::Database(db) => match db.code().as_deref() {
            Some(code) if code.starts_with("57P0") => {
                "the database server is shutting down or starting up"
            }
            Some(code) if code.starts_with("28") => "database authentication failed",
            Some("3D000") => "the database does not exist",
            Some("53300") => "too many connections to the database",
            _ => "the database returned an error",
        },
        _ => "the database returned an error",
    }
}

fn unreachable(reason: &str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(TestDbError {
            status: "error".into(),
            database: "unreachable".into(),
            error: reason.into(),
        }),
    )
        .into_response()
}

/// Probes the database with a deadline; `Err` carries a public reason.
async fn probe(state: &AppState) -> Result<health::DbHealth, &'static str> {
    match tokio::time::timeout(PROBE_TIMEOUT, health::probe(&state.pool)).await {
        Ok(Ok(health)) => Ok(health),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, outage = store::is_unavailable(&err), "database probe failed");
            Err(public_reason(&err))
        }
        Err(_) => {
            tracing::warn!("database probe timed out");
            Err("the database did not answer within 2 seconds")
        }
    }
}

/// Database connectivity, latency, migration state and scheduler liveness.
#[utoipa::path(
    get,
    path = "/api/test-db",
    tag = "ops",
    responses(
        (status = 200, description = "The database answers", body = TestDbOk),
        (status = 503, description = "The database is unreachable or slower than 2 s", body = TestDbError),
    )
)]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn test_db(State(state): State<AppState>) -> Response {
    match probe(&state).await {
        Ok(health) => Json(TestDbOk {
            status: "ok".into(),
            database: "connected".into(),
            latency_ms: health.latency_ms,
            server_version: health.server_version,
            migrations: MigrationState {
                applied: health.migrations_applied,
                pending: health.migrations_pending,
            },
            scheduler: SchedulerState {
                enabled: state.config.scheduler_enabled,
                last_tick_at: state.scheduler.last_tick().map(rfc3339),
                telegram_configured: state.telegram.is_some(),
                problem: state
                    .telegram
                    .is_none()
                    .then(|| words::common::TELEGRAM_NOT_CONFIGURED.to_owned()),
            },
        })
        .into_response(),
        Err(reason) => unreachable(reason),
    }
}

/// Liveness: the process is up. Never touches the database.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, body = Status)))]
pub async fn healthz() -> Json<Status> {
    Json(Status {
        status: "ok".into(),
        reason: None,
    })
}

/// Readiness: the database answers and no migration is pending.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "ops",
    responses((status = 200, body = Status), (status = 503, body = Status))
)]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let not_ready = |reason: String| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Status {
                status: "not ready".into(),
                reason: Some(reason),
            }),
        )
            .into_response()
    };
    match probe(&state).await {
        Ok(health) if health.migrations_pending > 0 => not_ready(format!(
            "{} database migration(s) pending",
            health.migrations_pending
        )),
        Ok(_) => Json(Status {
            status: "ready".into(),
            reason: None,
        })
        .into_response(),
        Err(reason) => not_ready(reason.into()),
    }
}

/// Prometheus metrics: `http_requests_total` and
/// `http_request_duration_seconds` by method, route template and status, and
/// `db_pool_connections` by state.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "ops",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain"))
)]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let idle = state.pool.num_idle() as f64;
    let size = f64::from(state.pool.size());
    metrics::gauge!("db_pool_connections", "state" => "idle").set(idle);
    metrics::gauge!("db_pool_connections", "state" => "in_use").set(size - idle);
    metrics::gauge!("db_pool_max_connections")
        .set(f64::from(state.pool.options().get_max_connections()));
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}
