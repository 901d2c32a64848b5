//! Composer drafts (`message_drafts`): the raw form an admin saved to finish
//! later. Any admin may open, change or delete any draft; each change is
//! audited.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::PgPool;

use super::audit::{self, Actor, Change};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Draft {
    pub id: i64,
    pub form: Value,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub source_broadcast: Option<i32>,
}

const COLUMNS: &str = "id, form, created_by, updated_by, created_at, updated_at, source_broadcast";

pub async fn get(pool: &PgPool, id: i64) -> sqlx::Result<Option<Draft>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM message_drafts WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// How many drafts there are.
pub async fn count(pool: &PgPool) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM message_drafts")
        .fetch_one(pool)
        .await
}

/// The most recently changed drafts first.
pub async fn recent(pool: &PgPool, limit: i64) -> sqlx::Result<Vec<Draft>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM message_drafts ORDER BY updated_at DESC, id DESC LIMIT $1"
    )))
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Saves `form` as draft `id`, or as a new draft when `id` is `None` (or
/// was deleted meanwhile). Returns the draft's id.
#[tracing::instrument(skip_all, fields(id, source_broadcast))]
pub async fn save(
    pool: &PgPool,
    actor: &Actor,
    id: Option<i64>,
    form: &Value,
    source_broadcast: Option<i32>,
) -> sqlx::Result<i64> {
    let mut tx = pool.begin().await?;
    let updated: Option<i64> = match id {
        Some(id) => {
            sqlx::query_scalar(
                "UPDATE message_drafts SET form = $2, updated_by = $3, updated_at = now() \
                 WHERE id = $1 RETURNING id",
            )
            .bind(id)
            .bind(form)
            .bind(&actor.name)
            .fetch_optional(&mut *tx)
            .await?
        }
        None => None,
    };
    let (id, action) = match updated {
        Some(id) => (id, "draft.update"),
        None => {
            let id = sqlx::query_scalar(
                "INSERT INTO message_drafts (form, created_by, updated_by, source_broadcast) \
                 VALUES ($1, $2, $2, $3) RETURNING id",
            )
            .bind(form)
            .bind(&actor.name)
            .bind(source_broadcast)
            .fetch_one(&mut *tx)
            .await?;
            (id, "draft.create")
        }
    };
    audit::record(
        &mut tx,
        actor,
        Change {
            action,
            entity_type: "message_draft",
            entity_id: Some(id.to_string()),
            before: None,
            after: Some(json!({ "source_broadcast": source_broadcast })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Deletes a draft; `false` when there was none. `reason` says why in the
/// audit log (`deleted` by hand, `sent` as broadcast N).
#[tracing::instrument(skip_all, fields(id))]
pub async fn delete(pool: &PgPool, actor: &Actor, id: i64, reason: Value) -> sqlx::Result<bool> {
    let mut tx = pool.begin().await?;
    let deleted: Option<i64> =
        sqlx::query_scalar("DELETE FROM message_drafts WHERE id = $1 RETURNING id")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    if deleted.is_some() {
        audit::record(
            &mut tx,
            actor,
            Change {
                action: "draft.delete",
                entity_type: "message_draft",
                entity_id: Some(id.to_string()),
                before: None,
                after: Some(reason),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(deleted.is_some())
}
