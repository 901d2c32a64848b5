//! Server-side staff sessions, keyed by the SHA-256 of the cookie value, and
//! the login bookkeeping around them (throttling, last login).
//!
//! Everything is in PostgreSQL so several server processes share sessions,
//! and logging out or changing an account takes effect everywhere at once.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{Connection, PgConnection};

use super::audit::{self, Actor, Change};
use crate::domain::role::Role;

/// An account as the login form sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Credentials {
    pub id: i64,
    pub login: String,
    pub password_hash: String,
    pub disabled: bool,
}

pub async fn credentials(
    db: impl sqlx::PgExecutor<'_>,
    login: &str,
) -> sqlx::Result<Option<Credentials>> {
    sqlx::query_as("SELECT id, login, password_hash, disabled FROM staff WHERE login = $1")
        .bind(login)
        .fetch_optional(db)
        .await
}

/// Failed attempts inside the window, by the typed login and by client
/// network (an IPv4 address or an IPv6 /64).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptCounts {
    pub by_login: i64,
    pub by_network: i64,
}

/// Records an attempt as failed *before* the password is checked (so
/// concurrent guesses can't slip past the limit) and counts the attempts in
/// the window, this one included. A successful login (or one turned away
/// before its password was checked) forgets it again with [`forget_attempt`].
#[tracing::instrument(skip_all)]
pub async fn record_attempt(
    conn: &mut PgConnection,
    login: &str,
    client_addr: Option<&str>,
    client_network: Option<&str>,
    window_secs: i64,
) -> sqlx::Result<(i64, AttemptCounts)> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO login_failures (login, client_addr) VALUES ($1, $2::inet) RETURNING id",
    )
    .bind(login)
    .bind(client_addr)
    .fetch_one(&mut *conn)
    .await?;
    let (by_login, by_network): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE login = $1), \
                count(*) FILTER (WHERE client_addr <<= $2::inet) \
         FROM login_failures \
         WHERE at > now() - make_interval(secs => $3) \
           AND (login = $1 OR client_addr <<= $2::inet)",
    )
    .bind(login)
    .bind(client_network)
    .bind(window_secs as f64)
    .fetch_one(&mut *conn)
    .await?;
    Ok((
        id,
        AttemptCounts {
            by_login,
            by_network,
        },
    ))
}

#[tracing::instrument(skip_all, fields(attempt_id))]
pub async fn forget_attempt(db: impl sqlx::PgExecutor<'_>, attempt_id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM login_failures WHERE id = $1")
        .bind(attempt_id)
        .execute(db)
        .await?;
    Ok(())
}

/// A session as a request sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRecord {
    pub staff_id: i64,
    pub login: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub csrf_token: String,
    pub last_seen_at: DateTime<Utc>,
}

pub struct NewSession<'a> {
    pub id_hash: &'a [u8],
    pub staff_id: i64,
    pub csrf_token: &'a str,
    pub client_addr: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub lifetime_secs: i64,
}

/// Opens a session for a verified login: the session row, the account's
/// last-login time and the audit row commit together. Old expired rows of
/// every account and old failed attempts are pruned on the way.
#[tracing::instrument(skip_all)]
pub async fn open(
    conn: &mut PgConnection,
    actor: &Actor,
    session: NewSession<'_>,
    idle_secs: i64,
) -> sqlx::Result<()> {
    let mut tx = conn.begin().await?;
    sqlx::query(
        "DELETE FROM staff_sessions \
         WHERE expires_at < now() OR last_seen_at < now() - make_interval(secs => $1)",
    )
    .bind(idle_secs as f64)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM login_failures WHERE at < now() - interval '1 day'")
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO staff_sessions (id_hash, staff_id, csrf_token, expires_at, client_addr, user_agent) \
         VALUES ($1, $2, $3, now() + make_interval(secs => $4), $5::inet, $6)",
    )
    .bind(session.id_hash)
    .bind(session.staff_id)
    .bind(session.csrf_token)
    .bind(session.lifetime_secs as f64)
    .bind(session.client_addr)
    .bind(session.user_agent)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE staff SET last_login_at = now() WHERE id = $1")
        .bind(session.staff_id)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "session.login",
            entity_type: "staff",
            entity_id: Some(actor.name.clone()),
            before: None,
            after: Some(json!({"user_agent": session.user_agent})),
        },
    )
    .await?;
    tx.commit().await
}

/// The live session with this id hash: not past its absolute expiry, seen
/// within the idle timeout, and its account not disabled.
pub async fn find(
    db: impl sqlx::PgExecutor<'_>,
    id_hash: &[u8],
    idle_secs: i64,
) -> sqlx::Result<Option<SessionRecord>> {
    sqlx::query_as(
        "SELECT s.staff_id, st.login, st.role, s.csrf_token, s.last_seen_at \
         FROM staff_sessions s JOIN staff st ON st.id = s.staff_id \
         WHERE s.id_hash = $1 AND s.expires_at > now() \
           AND s.last_seen_at > now() - make_interval(secs => $2) AND NOT st.disabled",
    )
    .bind(id_hash)
    .bind(idle_secs as f64)
    .fetch_optional(db)
    .await
}

/// Moves the idle deadline; callers do this at most about once a minute.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn touch(db: impl sqlx::PgExecutor<'_>, id_hash: &[u8]) -> sqlx::Result<()> {
    sqlx::query("UPDATE staff_sessions SET last_seen_at = now() WHERE id_hash = $1")
        .bind(id_hash)
        .execute(db)
        .await?;
    Ok(())
}

/// Ends one session (logout) and audits it.
#[tracing::instrument(skip_all)]
pub async fn close(conn: &mut PgConnection, actor: &Actor, id_hash: &[u8]) -> sqlx::Result<()> {
    let mut tx = conn.begin().await?;
    let deleted = sqlx::query("DELETE FROM staff_sessions WHERE id_hash = $1")
        .bind(id_hash)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if deleted > 0 {
        audit::record(
            &mut tx,
            actor,
            Change {
                action: "session.logout",
                entity_type: "staff",
                entity_id: Some(actor.name.clone()),
                before: None,
                after: None,
            },
        )
        .await?;
    }
    tx.commit().await
}

/// Active sessions per account, for the staff page.
pub async fn counts_by_staff(db: impl sqlx::PgExecutor<'_>) -> sqlx::Result<Vec<(i64, i64)>> {
    sqlx::query_as(
        "SELECT staff_id, count(*) FROM staff_sessions WHERE expires_at > now() GROUP BY staff_id",
    )
    .fetch_all(db)
    .await
}
