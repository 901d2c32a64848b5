//! Creating a broadcast, idempotently.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::PgPool;

use super::store_counts;
use crate::domain::audience::Audience;
use crate::domain::broadcast::BroadcastStatus;
use crate::domain::content::Content;
use crate::store::audience::{self, Estimate};
use crate::store::audit::{self, Actor, Change};

/// When a new broadcast goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Now,
    At(DateTime<Utc>),
    /// Kept as a draft to finish later.
    Draft,
}

#[derive(Debug, Clone)]
pub struct NewBroadcast {
    pub content: Content,
    pub audience: Audience,
    pub when: When,
    /// The `Idempotency-Key` and a digest of the request it came with.
    pub idempotency: Option<(String, String)>,
}

/// The answer to a create, stored to be repeated for the same key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    pub id: i32,
    pub status: BroadcastStatus,
    pub recipient_count: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("this Idempotency-Key was used for a different request")]
    KeyReused,
    #[error("unknown user ids")]
    UnknownUsers(Vec<i64>),
    #[error("unknown streams")]
    UnknownStreams(Vec<String>),
    #[error("stream codes several courses have")]
    AmbiguousStreams(Vec<(String, Vec<i32>)>),
    #[error("the audience is empty")]
    EmptyAudience(Estimate),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Creates a broadcast. With `When::Now` its recipients are written at once
/// and the engine starts on it; a scheduled one is resolved when it starts,
/// so its count here is an estimate. A repeat of an idempotency key returns
/// the first answer and creates nothing.
#[tracing::instrument(skip_all)]
pub async fn create(
    pool: &PgPool,
    actor: &Actor,
    new: &NewBroadcast,
) -> Result<Created, CreateError> {
    // The audience is read from the people directory: bring it up to date.
    crate::store::people::catch_up(pool).await?;
    let mut tx = pool.begin().await?;
    if let Some((key, digest)) = &new.idempotency {
        // Two requests with one key wait for each other here, so the second
        // sees the first's broadcast.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7))")
            .bind(key)
            .execute(&mut *tx)
            .await?;
        let earlier: Option<(Option<String>, Option<Value>)> = sqlx::query_as(
            "SELECT idempotency_digest, first_response FROM message_history \
             WHERE idempotency_key = $1",
        )
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((earlier_digest, response)) = earlier {
            if earlier_digest.as_deref() != Some(digest.as_str()) {
                return Err(CreateError::KeyReused);
            }
            if let Some(created) = response.and_then(|v| serde_json::from_value(v).ok()) {
                return Ok(created);
            }
        }
    }
    let mut resolved = None;
    match &new.audience {
        Audience::Users { user_ids } => {
            let unknown = audience::unknown_users(&mut *tx, user_ids).await?;
            if !unknown.is_empty() {
                return Err(CreateError::UnknownUsers(unknown));
            }
        }
        Audience::Stream { streams, statuses } => {
            let checked = audience::check_streams(&mut *tx, streams).await?;
            if !checked.unknown.is_empty() {
                return Err(CreateError::UnknownStreams(checked.unknown));
            }
            if !checked.ambiguous.is_empty() {
                return Err(CreateError::AmbiguousStreams(checked.ambiguous));
            }
            // Stored with every stream's course.
            resolved = Some(Audience::Stream {
                streams: checked.resolved,
                statuses: statuses.clone(),
            });
        }
        Audience::Segment { .. } => {}
    }
    let audience = resolved.as_ref().unwrap_or(&new.audience);
    let estimate = audience::estimate(&mut *tx, audience).await?;
    if estimate.recipients() <= 0 && new.when != When::Draft {
        return Err(CreateError::EmptyAudience(estimate));
    }

    let (status, scheduled_at) = match new.when {
        When::Now => (BroadcastStatus::Sending, None),
        When::At(at) => (BroadcastStatus::Scheduled, Some(at)),
        When::Draft => (BroadcastStatus::Draft, None),
    };
    let content = &new.content;
    let audience_json = serde_json::to_value(audience).expect("audience serialises");
    let (key, digest) = new.idempotency.clone().unzip();
    let id: i32 = sqlx::query_scalar(
        "INSERT INTO message_history (message_text, total_recipients, successful_deliveries, \
             sent_at, recipient_type, recipient_group, scheduled_at, legacy, status, \
             content_type, file_id, buttons, link_preview, audience, created_by, scheduled_by, \
             idempotency_key, idempotency_digest, started_at) \
         VALUES ($1, 0, 0, CASE WHEN $7 = 'sending' THEN now() END, $2, NULL, $3, false, $7, \
                 $4, $5, $6, $8, $9, $10, CASE WHEN $7 = 'scheduled' THEN $10 END, $11, $12, \
                 CASE WHEN $7 = 'sending' THEN now() END) \
         RETURNING id",
    )
    .bind(content.html.as_str())
    .bind(audience_json["kind"].as_str())
    .bind(scheduled_at)
    .bind(content.kind.as_str())
    .bind(content.file_id.as_deref())
    .bind(serde_json::to_value(&content.buttons).expect("buttons serialise"))
    .bind(status.as_str())
    .bind(content.link_preview)
    .bind(&audience_json)
    .bind(&actor.name)
    .bind(key)
    .bind(digest)
    .fetch_one(&mut *tx)
    .await?;

    let recipient_count = if status == BroadcastStatus::Sending {
        let resolved = audience::resolve(&mut tx, id, &new.audience).await?;
        store_counts(&mut tx, id).await?;
        resolved.recipients - resolved.skipped
    } else {
        estimate.recipients()
    };
    let created = Created {
        id,
        status,
        recipient_count,
    };
    let response = serde_json::to_value(&created).expect("response serialises");
    sqlx::query("UPDATE message_history SET first_response = $2 WHERE id = $1")
        .bind(id)
        .bind(&response)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "broadcast.create",
            entity_type: "broadcast",
            entity_id: Some(id.to_string()),
            before: None,
            after: Some(json!({
                "status": status,
                "audience": audience_json,
                "content": content.to_json(),
                "scheduled_at": scheduled_at,
                "recipient_count": recipient_count,
            })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(created)
}

/// What an earlier create with an idempotency key left: the digest of its
/// request and the answer it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Earlier {
    pub digest: Option<String>,
    pub response: Option<Created>,
}

/// The earlier create with `key`, if any. A read without the key's lock:
/// [`create`] checks again under it, so racing requests still create one
/// broadcast.
pub async fn earlier(pool: &PgPool, key: &str) -> sqlx::Result<Option<Earlier>> {
    let row: Option<(Option<String>, Option<Value>)> = sqlx::query_as(
        "SELECT idempotency_digest, first_response FROM message_history \
         WHERE idempotency_key = $1",
    )
    .bind(key)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(digest, response)| Earlier {
        digest,
        response: response.and_then(|v| serde_json::from_value(v).ok()),
    }))
}
