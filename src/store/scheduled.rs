//! Changing a scheduled broadcast before it starts: its content, audience
//! and time. The row is locked and must still be `scheduled`, so an edit
//! and the engine starting it (`delivery::start_due`, which skips locked
//! rows) never interleave.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgPool;

use super::audit::{self, Actor, Change};
use crate::domain::audience::Audience;
use crate::domain::broadcast::BroadcastStatus;
use crate::domain::content::Content;

/// The new definition of a scheduled broadcast.
#[derive(Debug, Clone)]
pub struct Edit {
    pub content: Content,
    pub audience: Audience,
    /// When it starts (now or later).
    pub at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("no such broadcast")]
    NotFound,
    #[error("only a scheduled broadcast can be changed; this one is {0}")]
    NotScheduled(BroadcastStatus),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Replaces broadcast `id`'s content, audience and time, with an audit row
/// holding both versions.
#[tracing::instrument(skip_all, fields(id))]
pub async fn edit(pool: &PgPool, actor: &Actor, id: i32, edit: &Edit) -> Result<(), EditError> {
    let mut tx = pool.begin().await?;
    let row: Option<(String, bool, serde_json::Value)> = sqlx::query_as(
        "SELECT status, legacy, jsonb_build_object('content_type', content_type, \
                'text', message_text, 'file_id', file_id, 'buttons', buttons, \
                'link_preview', link_preview, 'audience', audience, \
                'scheduled_at', scheduled_at) \
         FROM message_history WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((status, legacy, before)) = row else {
        return Err(EditError::NotFound);
    };
    let status = if legacy {
        BroadcastStatus::Done
    } else {
        status.parse().unwrap_or(BroadcastStatus::Done)
    };
    if status != BroadcastStatus::Scheduled {
        return Err(EditError::NotScheduled(status));
    }
    let content = &edit.content;
    let audience = serde_json::to_value(&edit.audience).expect("audience serialises");
    let buttons = serde_json::to_value(&content.buttons).expect("buttons serialise");
    sqlx::query(
        "UPDATE message_history SET message_text = $2, content_type = $3, file_id = $4, \
             buttons = $5, link_preview = $6, audience = $7, recipient_type = $8, \
             scheduled_at = $9, scheduled_by = $10, updated_at = now() \
         WHERE id = $1",
    )
    .bind(id)
    .bind(content.html.as_str())
    .bind(content.kind.as_str())
    .bind(content.file_id.as_deref())
    .bind(&buttons)
    .bind(content.link_preview)
    .bind(&audience)
    .bind(audience["kind"].as_str())
    .bind(edit.at)
    .bind(&actor.name)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "broadcast.edit",
            entity_type: "broadcast",
            entity_id: Some(id.to_string()),
            before: Some(before),
            after: Some(json!({
                "content": content.to_json(),
                "audience": audience,
                "scheduled_at": edit.at,
            })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
