//! API tokens: only the SHA-256 of each token is stored.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{Connection, PgConnection};

use super::audit::{self, Actor, Change};
use crate::domain::role::Role;
use crate::domain::staff::TokenName;

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

pub async fn create(
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

pub async fn list(db: impl sqlx::PgExecutor<'_>) -> sqlx::Result<Vec<ApiToken>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM api_tokens ORDER BY revoked_at IS NOT NULL, name, id"
    )))
    .fetch_all(db)
    .await
}
