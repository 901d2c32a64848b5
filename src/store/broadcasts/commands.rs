//! The actions staff take on a broadcast (API.md), with audit rows.

use serde_json::json;
use sqlx::PgPool;

use super::store_counts;
use crate::domain::broadcast::{Action, BroadcastStatus, RecipientStatus};
use crate::domain::reason::Reason;
use crate::store::audit::{self, Actor, Change};

/// What staff can do to a broadcast (API.md actions; the test send is the
/// web layer's, as it talks to Telegram).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Cancel,
    Pause,
    Resume,
    RetryFailed,
    RetryUnknown,
    DeleteFromChats,
}

impl Command {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cancel => "cancel",
            Self::Pause => "pause",
            Self::Resume => "resume",
            Self::RetryFailed => "retry-failed",
            Self::RetryUnknown => "retry-unknown",
            Self::DeleteFromChats => "delete-from-chats",
        }
    }

    /// Whether it gives the delivery engine something to do now.
    pub fn wakes_engine(self) -> bool {
        !matches!(self, Self::Cancel | Self::Pause)
    }
}

/// Telegram lets bots delete their messages in private chats this long.
pub const DELETE_WINDOW_HOURS: i64 = 48;

/// The recipient rows of broadcast `$1` whose message Telegram still lets
/// the bot delete; `$2` is [`DELETE_WINDOW_HOURS`].
pub(in crate::store) const DELETABLE: &str = "message_id = $1 AND delivery_status = 'sent' \
     AND telegram_message_id IS NOT NULL \
     AND sent_at > now() - make_interval(hours => $2::int)";

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("no such broadcast")]
    NotFound,
    #[error("legacy broadcasts of the previous dashboard cannot be changed")]
    Legacy,
    #[error("a {status} broadcast cannot be {action}")]
    NotAllowed {
        status: BroadcastStatus,
        action: &'static str,
    },
    #[error("no recipients to retry")]
    NothingToRetry,
    #[error("no message was delivered in the last {DELETE_WINDOW_HOURS} hours")]
    NothingToDelete,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Applies `command` to broadcast `id`, with an audit row.
#[tracing::instrument(skip_all, fields(id, command = command.as_str()))]
pub async fn command(
    pool: &PgPool,
    id: i32,
    command: Command,
    actor: &Actor,
) -> Result<(), CommandError> {
    let mut tx = pool.begin().await?;
    let current: Option<(String, bool)> =
        sqlx::query_as("SELECT status, legacy FROM message_history WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let (status, legacy) = current.ok_or(CommandError::NotFound)?;
    if legacy {
        return Err(CommandError::Legacy);
    }
    let before: BroadcastStatus = status.parse().unwrap_or(BroadcastStatus::Done);
    let refuse = || CommandError::NotAllowed {
        status: before,
        action: command.as_str(),
    };
    let step = |action| before.apply(action).map_err(|_| refuse());
    let after = match command {
        Command::Cancel => {
            let next = step(Action::Cancel)?;
            // Nobody still waiting gets it now (RecipientStatus::Skipped).
            sqlx::query(
                "UPDATE message_recipients SET delivery_status = 'skipped', \
                     last_error = $2, next_attempt_at = NULL, updated_at = now() \
                 WHERE message_id = $1 AND delivery_status = 'pending'",
            )
            .bind(id)
            .bind(Reason::Cancelled)
            .execute(&mut *tx)
            .await?;
            next
        }
        Command::Pause => step(Action::Pause)?,
        Command::Resume => step(Action::Resume)?,
        Command::RetryFailed | Command::RetryUnknown => {
            let next = match before {
                BroadcastStatus::Sending | BroadcastStatus::Paused => before,
                _ => step(Action::Retry)?,
            };
            let from = if command == Command::RetryFailed {
                RecipientStatus::Failed
            } else {
                RecipientStatus::Unknown
            };
            let reopened = sqlx::query(
                "UPDATE message_recipients SET delivery_status = 'pending', attempts = 0, \
                     next_attempt_at = NULL, last_error = NULL, updated_at = now() \
                 WHERE message_id = $1 AND delivery_status = $2",
            )
            .bind(id)
            .bind(from.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if reopened == 0 {
                return Err(CommandError::NothingToRetry);
            }
            next
        }
        Command::DeleteFromChats => {
            if matches!(before, BroadcastStatus::Draft | BroadcastStatus::Scheduled) {
                return Err(refuse());
            }
            let any: bool = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT EXISTS (SELECT 1 FROM message_recipients WHERE {DELETABLE})"
            )))
            .bind(id)
            .bind(DELETE_WINDOW_HOURS as i32)
            .fetch_one(&mut *tx)
            .await?;
            if !any {
                return Err(CommandError::NothingToDelete);
            }
            before
        }
    };
    sqlx::query(
        "UPDATE message_history SET status = $2, updated_at = now(), \
             status_reason = CASE WHEN $2 = 'sending' THEN NULL ELSE status_reason END, \
             cancelled_by = CASE WHEN $3 = 'cancel' THEN $4 ELSE cancelled_by END, \
             finished_at = CASE WHEN $2 IN ('cancelled', 'done', 'failed') THEN now() \
                                WHEN $2 = 'sending' THEN NULL ELSE finished_at END, \
             delete_requested_at = CASE WHEN $3 = 'delete-from-chats' THEN now() \
                                        ELSE delete_requested_at END, \
             delete_requested_by = CASE WHEN $3 = 'delete-from-chats' THEN $4 \
                                        ELSE delete_requested_by END \
         WHERE id = $1",
    )
    .bind(id)
    .bind(after.as_str())
    .bind(command.as_str())
    .bind(&actor.name)
    .execute(&mut *tx)
    .await?;
    store_counts(&mut tx, id).await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: &format!("broadcast.{}", command.as_str()),
            entity_type: "broadcast",
            entity_id: Some(id.to_string()),
            before: Some(json!({ "status": before })),
            after: Some(json!({ "status": after })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Records a test send in the audit log.
#[tracing::instrument(skip_all, fields(id))]
pub async fn record_test_send(
    pool: &PgPool,
    id: i32,
    actor: &Actor,
    telegram_user_id: i64,
) -> sqlx::Result<()> {
    let mut conn = pool.acquire().await?;
    audit::record(
        &mut conn,
        actor,
        Change {
            action: "broadcast.test",
            entity_type: "broadcast",
            entity_id: Some(id.to_string()),
            before: None,
            after: Some(json!({ "sent_to": telegram_user_id })),
        },
    )
    .await
}
