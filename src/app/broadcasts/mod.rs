//! Broadcasts: checking a request ([`check`], [`review`]), creating one
//! (idempotently), changing a scheduled one, and the commands on a running
//! one. Each exists only here; the API and the composer differ only in how
//! they read their input and how they answer.

pub mod check;
mod field;
pub mod filters;
pub mod request;
mod review;
mod test_send;

pub use self::check::{Field, Part, Problem};
pub use self::review::{MAX_NAMED, Review, review};
pub use self::test_send::{TestSendError, TestSent, send_test};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::Context;
use crate::domain::audience::Audience;
use crate::domain::broadcast::BroadcastStatus;
use crate::domain::content::Content;
use crate::domain::time::rfc3339;
use crate::store::broadcasts::{
    self, Command, CommandError, CreateError, Created, NewBroadcast, When,
};
use crate::store::people;
use crate::store::scheduled::{self, Edit, EditError};

/// Idempotency keys are 1–200 characters.
pub const MAX_KEY_CHARS: usize = 200;

/// Whether `key` is a usable idempotency key: 1–200 characters.
pub fn key_fits(key: &str) -> bool {
    (1..=MAX_KEY_CHARS).contains(&key.chars().count())
}

/// A checked request for a broadcast: who, what, and when (`None`: now).
#[derive(Debug)]
pub struct Valid {
    pub audience: Audience,
    pub content: Content,
    pub scheduled_at: Option<DateTime<Utc>>,
}

impl Valid {
    /// The request in one canonical form: the validated, normalised parts.
    pub fn canonical(&self) -> Value {
        json!({
            "audience": self.audience,
            "content": self.content.to_json(),
            "scheduled_at": self.scheduled_at.map(rfc3339),
        })
    }

    /// SHA-256 of the canonical form, in hex.
    pub fn digest(&self) -> String {
        let digest = Sha256::digest(self.canonical().to_string().as_bytes());
        digest.iter().map(|byte| format!("{byte:02x}")).collect()
    }
}

/// Why a broadcast was not created.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The idempotency key was used for a different request; the broadcast
    /// that request made, when it is known.
    #[error("this idempotency key was used for a different request")]
    KeyReused { broadcast: Option<i32> },
    #[error("the time to send is already past")]
    InThePast {
        at: DateTime<Utc>,
        now: DateTime<Utc>,
    },
    #[error("unknown user ids")]
    UnknownUsers(Vec<i64>),
    #[error("unknown streams")]
    UnknownStreams(Vec<String>),
    #[error("stream codes several courses have")]
    AmbiguousStreams(Vec<(String, Vec<i32>)>),
    /// Nobody to send to; `blocked` of the audience blocked the bot.
    #[error("the audience is empty")]
    EmptyAudience { blocked: i64 },
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl SendError {
    /// The problem with the request this error is, if it is one (an
    /// empty audience is put on the audience as a whole).
    pub fn problem(&self) -> Option<Problem> {
        Some(match self {
            Self::InThePast { at, now } => Problem::InThePast { at: *at, now: *now },
            Self::UnknownUsers(ids) => Problem::UnknownUsers(ids.clone()),
            Self::UnknownStreams(codes) => Problem::UnknownStreams(codes.clone()),
            Self::AmbiguousStreams(codes) => Problem::AmbiguousStreams(codes.clone()),
            Self::EmptyAudience { blocked } => Problem::EmptyAudience {
                field: Field::Audience,
                blocked: *blocked,
            },
            Self::KeyReused { .. } | Self::Db(_) => return None,
        })
    }
}

impl From<CreateError> for SendError {
    fn from(err: CreateError) -> Self {
        match err {
            CreateError::KeyReused => Self::KeyReused { broadcast: None },
            CreateError::UnknownUsers(ids) => Self::UnknownUsers(ids),
            CreateError::UnknownStreams(codes) => Self::UnknownStreams(codes),
            CreateError::AmbiguousStreams(codes) => Self::AmbiguousStreams(codes),
            CreateError::EmptyAudience(estimate) => Self::EmptyAudience {
                blocked: estimate.blocked,
            },
            CreateError::Db(err) => Self::Db(err),
        }
    }
}

/// Creates the broadcast `request` describes, to go out now or at its time,
/// and wakes the engine for one that starts now. With an idempotency `key`,
/// a repeat of the same request gets the first broadcast back and creates
/// nothing; the key with a different request is refused. A repeat is
/// answered even after its scheduled time has passed.
#[tracing::instrument(skip_all, fields(actor = %ctx.actor.name, idempotent = key.is_some()))]
pub async fn create(
    ctx: &Context<'_>,
    request: Valid,
    key: Option<String>,
) -> Result<Created, SendError> {
    let digest = request.digest();
    if let Some(key) = &key
        && let Some(earlier) = broadcasts::earlier(ctx.pool, key).await?
    {
        let first = earlier.response;
        if earlier.digest.as_deref() != Some(digest.as_str()) {
            return Err(SendError::KeyReused {
                broadcast: first.map(|created| created.id),
            });
        }
        if let Some(first) = first {
            return Ok(first);
        }
    }
    // The audience is read from the people directory: bring it up to date.
    people::catch_up(ctx.pool).await?;
    let now = Utc::now();
    let when = match request.scheduled_at {
        None => When::Now,
        Some(at) if at < now => return Err(SendError::InThePast { at, now }),
        Some(at) => When::At(at),
    };
    let new = NewBroadcast {
        content: request.content,
        audience: request.audience,
        when,
        idempotency: key.map(|key| (key, digest)),
    };
    let created = broadcasts::create(ctx.pool, &ctx.actor, &new).await?;
    if created.status == BroadcastStatus::Sending {
        ctx.wake.wake();
    }
    Ok(created)
}

/// Writes `request` over scheduled broadcast `id` while it has not started
/// (locked, audited with before and after). Without a time it is due now and
/// the engine is woken.
#[tracing::instrument(skip_all, fields(actor = %ctx.actor.name, id = id))]
pub async fn edit_scheduled(ctx: &Context<'_>, id: i32, request: Valid) -> Result<(), EditError> {
    let now = request.scheduled_at.is_none();
    let edit = Edit {
        content: request.content,
        audience: request.audience,
        at: request.scheduled_at.unwrap_or_else(Utc::now),
    };
    scheduled::edit(ctx.pool, &ctx.actor, id, &edit).await?;
    if now {
        ctx.wake.wake();
    }
    Ok(())
}

/// Cancels, pauses, resumes, retries or deletes broadcast `id` as the state
/// machine allows (audited), and wakes the engine when there is now work.
#[tracing::instrument(skip_all, fields(actor = %ctx.actor.name, id = id, command = command.as_str()))]
pub async fn command(ctx: &Context<'_>, id: i32, command: Command) -> Result<(), CommandError> {
    broadcasts::command(ctx.pool, id, command, &ctx.actor).await?;
    if command.wakes_engine() {
        ctx.wake.wake();
    }
    Ok(())
}
