//! What admins do to a broadcast: cancel, pause, resume, retry the failed
//! or unknown recipients, delete it from the chats, and a test send to
//! themselves. Each answers the broadcast as `GET /api/messages/{id}` does,
//! or 409 when its state does not allow the action.

use axum::extract::State;

use super::json::{BroadcastJson, TestSentJson};
use super::{broadcast_json, not_found};
use crate::app;
use crate::app::broadcasts::TestSendError;
use crate::domain::input::BroadcastId;
use crate::store::broadcasts::{self, Command, CommandError};
use crate::web::AppState;
use crate::web::api::ErrorJson;
use crate::web::auth::{Principal, Via};
use crate::web::error::AppError;
use crate::web::extract::{Json, Path};
use crate::web::words;

/// What the action does, for messages: «cannot {verb} a {status} broadcast».
fn verb(command: Command) -> &'static str {
    match command {
        Command::Cancel => "cancel",
        Command::Pause => "pause",
        Command::Resume => "resume",
        Command::RetryFailed => "retry the failed recipients of",
        Command::RetryUnknown => "retry the unknown recipients of",
        Command::DeleteFromChats => "delete from chats",
    }
}

fn command_error(err: CommandError, command: Command) -> AppError {
    match err {
        CommandError::NotFound => not_found(),
        CommandError::NotAllowed { status, .. } => {
            AppError::Conflict(format!("cannot {} a {status} broadcast", verb(command)))
        }
        CommandError::NothingToRetry => AppError::Conflict(match command {
            Command::RetryUnknown => "no recipients with an unknown outcome to retry".into(),
            _ => "no failed recipients to retry".into(),
        }),
        CommandError::Legacy | CommandError::NothingToDelete => AppError::Conflict(err.to_string()),
        CommandError::Db(err) => err.into(),
    }
}

async fn act(
    state: &AppState,
    principal: &Principal,
    id: BroadcastId,
    command: Command,
) -> Result<Json<BroadcastJson>, AppError> {
    let id = id.get();
    app::broadcasts::command(&state.context(principal), id, command)
        .await
        .map_err(|err| command_error(err, command))?;
    Ok(Json(broadcast_json(state, id).await?))
}

/// Stops a broadcast before it is done: a scheduled one never starts, the
/// people still waiting are skipped.
#[utoipa::path(
    post,
    path = "/api/messages/{id}/cancel",
    tag = "messages",
    params(("id" = i32, Path, minimum = 1, description = "The broadcast's id")),
    responses(
        (status = 200, body = BroadcastJson),
        (status = 400, body = ErrorJson, description = "The id is not a positive integer"),
        (status = 404, body = ErrorJson, description = "No such broadcast"),
        (status = 409, body = ErrorJson, description = "Already finished, or a legacy broadcast"),
    )
)]
#[tracing::instrument(skip_all, fields(id = id.get()))]
pub async fn cancel_message(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<BroadcastId>,
) -> Result<Json<BroadcastJson>, AppError> {
    act(&state, &principal, id, Command::Cancel).await
}

/// Pauses a sending broadcast; the messages in flight still arrive.
#[utoipa::path(
    post,
    path = "/api/messages/{id}/pause",
    tag = "messages",
    params(("id" = i32, Path, minimum = 1, description = "The broadcast's id")),
    responses(
        (status = 200, body = BroadcastJson),
        (status = 400, body = ErrorJson, description = "The id is not a positive integer"),
        (status = 404, body = ErrorJson, description = "No such broadcast"),
        (status = 409, body = ErrorJson, description = "Not sending"),
    )
)]
#[tracing::instrument(skip_all, fields(id = id.get()))]
pub async fn pause_message(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<BroadcastId>,
) -> Result<Json<BroadcastJson>, AppError> {
    act(&state, &principal, id, Command::Pause).await
}

/// Resumes a paused broadcast.
#[utoipa::path(
    post,
    path = "/api/messages/{id}/resume",
    tag = "messages",
    params(("id" = i32, Path, minimum = 1, description = "The broadcast's id")),
    responses(
        (status = 200, body = BroadcastJson),
        (status = 400, body = ErrorJson, description = "The id is not a positive integer"),
        (status = 404, body = ErrorJson, description = "No such broadcast"),
        (status = 409, body = ErrorJson, description = "Not paused"),
    )
)]
#[tracing::instrument(skip_all, fields(id = id.get()))]
pub async fn resume_message(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<BroadcastId>,
) -> Result<Json<BroadcastJson>, AppError> {
    act(&state, &principal, id, Command::Resume).await
}

/// Queues the `failed` recipients again (a finished broadcast sends again).
#[utoipa::path(
    post,
    path = "/api/messages/{id}/retry-failed",
    tag = "messages",
    params(("id" = i32, Path, minimum = 1, description = "The broadcast's id")),
    responses(
        (status = 200, body = BroadcastJson),
        (status = 400, body = ErrorJson, description = "The id is not a positive integer"),
        (status = 404, body = ErrorJson, description = "No such broadcast"),
        (status = 409, body = ErrorJson, description = "No failed recipients, or the state does not allow it"),
    )
)]
#[tracing::instrument(skip_all, fields(id = id.get()))]
pub async fn retry_failed(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<BroadcastId>,
) -> Result<Json<BroadcastJson>, AppError> {
    act(&state, &principal, id, Command::RetryFailed).await
}

/// Queues the recipients whose outcome is `unknown` (their sender died
/// mid-request) again: they may get the message twice.
#[utoipa::path(
    post,
    path = "/api/messages/{id}/retry-unknown",
    tag = "messages",
    params(("id" = i32, Path, minimum = 1, description = "The broadcast's id")),
    responses(
        (status = 200, body = BroadcastJson),
        (status = 400, body = ErrorJson, description = "The id is not a positive integer"),
        (status = 404, body = ErrorJson, description = "No such broadcast"),
        (status = 409, body = ErrorJson, description = "No unknown recipients, or the state does not allow it"),
    )
)]
#[tracing::instrument(skip_all, fields(id = id.get()))]
pub async fn retry_unknown(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<BroadcastId>,
) -> Result<Json<BroadcastJson>, AppError> {
    act(&state, &principal, id, Command::RetryUnknown).await
}

/// Deletes the delivered messages from the recipients' chats (Telegram
/// allows it for 48 hours); the engine does it and marks them `deleted`.
#[utoipa::path(
    post,
    path = "/api/messages/{id}/delete-from-chats",
    tag = "messages",
    params(("id" = i32, Path, minimum = 1, description = "The broadcast's id")),
    responses(
        (status = 200, body = BroadcastJson),
        (status = 400, body = ErrorJson, description = "The id is not a positive integer"),
        (status = 404, body = ErrorJson, description = "No such broadcast"),
        (status = 409, body = ErrorJson, description = "Nothing delivered in the last 48 hours, not started, or \
                                      a legacy broadcast"),
    )
)]
#[tracing::instrument(skip_all, fields(id = id.get()))]
pub async fn delete_from_chats(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<BroadcastId>,
) -> Result<Json<BroadcastJson>, AppError> {
    act(&state, &principal, id, Command::DeleteFromChats).await
}

/// Sends the broadcast's content to the acting admin's own Telegram id
/// (`hsl-dashboard staff set-telegram`), whatever the broadcast's state.
#[utoipa::path(
    post,
    path = "/api/messages/{id}/test",
    tag = "messages",
    params(("id" = i32, Path, minimum = 1, description = "The broadcast's id")),
    responses(
        (status = 200, body = TestSentJson),
        (status = 400, body = ErrorJson, description = "The id is not a positive integer"),
        (status = 404, body = ErrorJson, description = "No such broadcast"),
        (status = 409, body = ErrorJson,
         description = format!("{} (no bot token), or the content can't be sent", words::common::TELEGRAM_NOT_CONFIGURED)),
        (status = 422, body = ErrorJson, description = "The caller has no Telegram id (API tokens never do)"),
        (status = 502, body = ErrorJson, description = "Telegram refused or failed; the message says why"),
    )
)]
#[tracing::instrument(skip_all, fields(id = id.get()))]
pub async fn test_send(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<BroadcastId>,
) -> Result<Json<TestSentJson>, AppError> {
    let id = id.get();
    let broadcast = broadcasts::get(&state.pool, id)
        .await?
        .ok_or_else(not_found)?;
    let content = broadcast.content().ok_or_else(|| {
        AppError::Conflict("this broadcast's content is not valid Telegram content".into())
    })?;
    if let Via::Token { .. } = &principal.via {
        return Err(AppError::Unprocessable(
            "a test send goes to the acting admin's Telegram id; API tokens have none — \
             sign in as an admin whose Telegram id is set"
                .into(),
        ));
    }
    let ctx = state.context(&principal);
    let sent = app::broadcasts::send_test(&ctx, state.telegram.as_ref(), &content, Some(id))
        .await
        .map_err(|err| match err {
            TestSendError::NoTelegramId => AppError::Unprocessable(format!(
                "your account has no Telegram id; set it with \
                 `hsl-dashboard staff set-telegram {} <user_id>`",
                principal.name
            )),
            TestSendError::NotConfigured => {
                AppError::Conflict(words::common::TELEGRAM_NOT_CONFIGURED.into())
            }
            TestSendError::Telegram(message) => {
                AppError::BadGateway(format!("Telegram: {message}"))
            }
            TestSendError::Db(err) => err.into(),
        })?;
    Ok(Json(TestSentJson {
        sent_to: sent.chat,
        telegram_message_id: sent.message_id,
    }))
}
