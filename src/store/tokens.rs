//! API tokens: only the SHA-256 of each token is stored.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{Connection, PgConnection};

use super::audit::{self, Actor, Change};
use crate::domain::role::Role;
use crate::domain::staff::TokenName;
use crate::secrets;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("an active token with this name already exists")]
    NameTaken,
    #[error("no active token with this name")]
    NotFound,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

const COLUMNS: &str = "id, name, role, created_at, created_by, last_used_at, revoked_at";

/// Creates a token with a fresh random secret; returns it with the secret,
/// which is shown once and never stored.
#[tracing::instrument(skip_all, fields(role = role.as_str()))]
pub async fn issue(
    conn: &mut PgConnection,
    actor: &Actor,
    name: &TokenName,
    role: Role,
) -> Result<(ApiToken, String), TokenError> {
    let secret = secrets::new_api_token();
    let token = create(conn, actor, name, &secrets::sha256(&secret), role).await?;
    Ok((token, secret))
}

async fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    name: &TokenName,
    token_hash: &[u8],
    role: Role,
) -> Result<ApiToken, TokenError> {
    let mut tx = conn.begin().await?;
    let token: ApiToken = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO api_tokens (name, token_hash, role, created_by) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (name) WHERE revoked_at IS NULL DO NOTHING RETURNING {COLUMNS}"
    )))
    .bind(name.as_str())
    .bind(token_hash)
    .bind(role.as_str())
    .bind(&actor.name)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(TokenError::NameTaken)?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "token.create",
            entity_type: "api_token",
            entity_id: Some(token.id.to_string()),
            before: None,
            after: Some(json!({"name": token.name, "role": token.role})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}

/// Revokes the active token with this id.
#[tracing::instrument(skip_all, fields(id))]
pub async fn revoke(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
) -> Result<ApiToken, TokenError> {
    let mut tx = conn.begin().await?;
    let token: ApiToken = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL \
         RETURNING {COLUMNS}"
    )))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(TokenError::NotFound)?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "token.revoke",
            entity_type: "api_token",
            entity_id: Some(token.id.to_string()),
            before: Some(json!({"name": token.name, "revoked": false})),
            after: Some(json!({"name": token.name, "revoked": true})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}

pub async fn active_id_by_name(
    db: impl sqlx::PgExecutor<'_>,
    name: &TokenName,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT id FROM api_tokens WHERE name = $1 AND revoked_at IS NULL")
        .bind(name.as_str())
        .fetch_optional(db)
        .await
}

/// The token with this id, if it is not revoked.
pub async fn active(db: impl sqlx::PgExecutor<'_>, id: i64) -> sqlx::Result<Option<ApiToken>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM api_tokens WHERE id = $1 AND revoked_at IS NULL"
    )))
    .bind(id)
    .fetch_optional(db)
    .await
}

pub async fn list(db: impl sqlx::PgExecutor<'_>) -> sqlx::Result<Vec<ApiToken>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM api_tokens ORDER BY revoked_at IS NOT NULL, name, id"
    )))
    .fetch_all(db)
    .await
}

/// A token presented in `Authorization: Bearer`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenIdentity {
    pub id: i64,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// The active token with this hash, if any.
pub async fn authenticate(
    db: impl sqlx::PgExecutor<'_>,
    token_hash: &[u8],
) -> sqlx::Result<Option<TokenIdentity>> {
    sqlx::query_as(
        "SELECT id, name, role, last_used_at FROM api_tokens \
         WHERE token_hash = $1 AND revoked_at IS NULL",
    )
    .bind(token_hash)
    .fetch_optional(db)
    .await
}

/// Records use; callers do this at most about once a minute per token.
#[tracing::instrument(level = "debug", skip_all, fields(id))]
pub async fn touch(db: impl sqlx::PgExecutor<'_>, id: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE api_tokens SET last_used_at = now() WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}
