//! The actions of a broadcast page, each a `GET /messages/{id}/{action}`
//! page that says what will happen, with numbers, and a POST form to the
//! same address (`duplicate` posts to the composer's handler). Which are
//! offered mirrors what `store::broadcasts::command` accepts; the store
//! still decides, so a stale page gets a 409, not a surprise.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono_tz::Tz;

use super::shared::{self, Id};
use crate::app;
use crate::domain::broadcast::{Action, BroadcastStatus};
use crate::store::broadcast_history;
use crate::store::broadcasts::{Broadcast, Command, CommandError, DELETE_WINDOW_HOURS};
use crate::web::AppState;
use crate::web::auth::{Access, Principal};
use crate::web::error::AppError;
use crate::web::pages::{Layout, maybe_local_time};
use crate::web::routes::Routes;
use crate::web::words::{self, Label};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageAction {
    Cancel,
    Pause,
    Resume,
    RetryFailed,
    RetryUnknown,
    DeleteFromChats,
    Duplicate,
}

impl PageAction {
    pub const ALL: [Self; 7] = [
        Self::Pause,
        Self::Resume,
        Self::RetryFailed,
        Self::RetryUnknown,
        Self::Cancel,
        Self::DeleteFromChats,
        Self::Duplicate,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Self::Duplicate => "duplicate",
            other => other.command().map_or("", Command::as_str),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Cancel => words::messages::CANCEL,
            Self::Pause => words::messages::PAUSE,
            Self::Resume => words::messages::RESUME,
            Self::RetryFailed => words::messages::RETRY_FAILED,
            Self::RetryUnknown => words::messages::RETRY_UNKNOWN,
            Self::DeleteFromChats => words::messages::DELETE_FROM_CHATS,
            Self::Duplicate => words::messages::DUPLICATE,
        }
    }

    /// Whether it cannot be undone (a red button).
    pub fn danger(self) -> bool {
        matches!(self, Self::Cancel | Self::DeleteFromChats)
    }

    fn command(self) -> Option<Command> {
        Some(match self {
            Self::Cancel => Command::Cancel,
            Self::Pause => Command::Pause,
            Self::Resume => Command::Resume,
            Self::RetryFailed => Command::RetryFailed,
            Self::RetryUnknown => Command::RetryUnknown,
            Self::DeleteFromChats => Command::DeleteFromChats,
            Self::Duplicate => return None,
        })
    }

    /// The banner after it was done, by its slug in `?done=`.
    pub fn notice(slug: &str) -> Option<&'static str> {
        Some(match slug {
            "cancel" => words::messages::CANCELLED,
            "pause" => words::messages::PAUSED,
            "resume" => words::messages::RESUMED,
            "retry-failed" => words::messages::FAILED_REQUEUED,
            "retry-unknown" => words::messages::UNKNOWN_REQUEUED,
            "delete-from-chats" => words::messages::DELETING_FROM_CHATS,
            _ => return None,
        })
    }
}

fn not_allowed(action: PageAction, status: BroadcastStatus) -> String {
    words::messages::action_not_allowed(action.label(), status.label())
}

fn nothing_to_delete() -> String {
    words::messages::nothing_to_delete(DELETE_WINDOW_HOURS)
}

/// Why `action` is not offered for `broadcast` (`deletable`: messages
/// Telegram still lets the bot delete), or `None` when it is.
pub fn refusal(broadcast: &Broadcast, action: PageAction, deletable: i64) -> Option<String> {
    let status = broadcast.status;
    if action == PageAction::Duplicate {
        return broadcast
            .content()
            .is_none()
            .then(|| words::messages::CANNOT_DUPLICATE.to_owned());
    }
    if broadcast.legacy {
        return Some(words::messages::LEGACY_READ_ONLY.to_owned());
    }
    let step = |a: Action| status.apply(a).err().map(|_| not_allowed(action, status));
    let retry = || match status {
        BroadcastStatus::Sending | BroadcastStatus::Paused => None,
        _ => step(Action::Retry),
    };
    match action {
        PageAction::Cancel => step(Action::Cancel),
        PageAction::Pause => step(Action::Pause),
        PageAction::Resume => step(Action::Resume),
        PageAction::RetryFailed => retry().or_else(|| {
            (broadcast.counts.failed == 0).then(|| words::messages::NOTHING_FAILED.to_owned())
        }),
        PageAction::RetryUnknown => retry().or_else(|| {
            (broadcast.counts.unknown == 0).then(|| words::messages::NOTHING_UNKNOWN.to_owned())
        }),
        PageAction::DeleteFromChats => match status {
            BroadcastStatus::Draft | BroadcastStatus::Scheduled => {
                Some(not_allowed(action, status))
            }
            _ => (deletable == 0).then(nothing_to_delete),
        },
        PageAction::Duplicate => None,
    }
}

/// The actions offered for `broadcast`, in the order the page shows them.
pub fn available(broadcast: &Broadcast, deletable: i64) -> Vec<PageAction> {
    PageAction::ALL
        .into_iter()
        .filter(|action| refusal(broadcast, *action, deletable).is_none())
        .collect()
}

/// Messages still deletable, asked only when it can matter.
pub async fn deletable(state: &AppState, broadcast: &Broadcast) -> Result<i64, AppError> {
    let started = !matches!(
        broadcast.status,
        BroadcastStatus::Draft | BroadcastStatus::Scheduled
    );
    if broadcast.legacy || !started || broadcast.counts.sent == 0 {
        return Ok(0);
    }
    Ok(broadcast_history::deletable(&state.pool, broadcast.id).await?)
}

/// The question and what will happen, with numbers.
fn explain(
    broadcast: &Broadcast,
    action: PageAction,
    deletable: i64,
    tz: Tz,
) -> (String, Vec<String>) {
    let counts = &broadcast.counts;
    let remaining = counts.remaining();
    let (question, details): (&str, Vec<String>) = match action {
        PageAction::Cancel => match broadcast.status {
            BroadcastStatus::Draft => (
                words::messages::CANCEL_DRAFT_QUESTION,
                vec![words::messages::CANCEL_DRAFT_EFFECT.to_owned()],
            ),
            BroadcastStatus::Scheduled => (
                words::messages::CANCEL_SCHEDULED_QUESTION,
                vec![words::messages::cancel_scheduled_effect(&maybe_local_time(
                    tz,
                    &broadcast.scheduled_at,
                ))],
            ),
            _ => (
                words::messages::CANCEL_SENDING_QUESTION,
                vec![
                    words::messages::cancel_not_received(remaining),
                    words::messages::cancel_already_delivered(counts.sent),
                ],
            ),
        },
        PageAction::Pause => (
            words::messages::PAUSE_QUESTION,
            vec![
                words::messages::pause_progress(counts.sent, counts.total, remaining),
                words::messages::PAUSE_EFFECT.to_owned(),
            ],
        ),
        PageAction::Resume => (
            words::messages::RESUME_QUESTION,
            vec![words::messages::resume_effect(remaining)],
        ),
        PageAction::RetryFailed => (
            words::messages::RETRY_FAILED_QUESTION,
            vec![words::messages::requeued(counts.failed)],
        ),
        PageAction::RetryUnknown => (
            words::messages::RETRY_UNKNOWN_QUESTION,
            vec![
                words::messages::requeued(counts.unknown),
                words::messages::RETRY_UNKNOWN_WARNING.to_owned(),
            ],
        ),
        PageAction::DeleteFromChats => (
            words::messages::DELETE_QUESTION,
            vec![
                words::messages::delete_effect(deletable, DELETE_WINDOW_HOURS),
                words::messages::DELETE_WARNING.to_owned(),
            ],
        ),
        PageAction::Duplicate => (
            words::messages::DUPLICATE_QUESTION,
            vec![words::messages::DUPLICATE_EFFECT.to_owned()],
        ),
    };
    (question.to_owned(), details)
}

pub fn routes() -> Routes {
    PageAction::ALL
        .into_iter()
        .fold(Routes::default(), |routes, action| {
            let path = format!("/messages/{{id}}/{}", action.slug());
            let routes = routes.get(
                &path,
                Access::ADMIN,
                move |state: State<AppState>, principal: Principal, id: Id| {
                    confirm(state, principal, id, action)
                },
            );
            match action {
                // The composer registers `POST /messages/{id}/duplicate`.
                PageAction::Duplicate => routes,
                _ => routes.post(
                    &path,
                    Access::ADMIN,
                    move |state: State<AppState>, principal: Principal, id: Id| {
                        apply(state, principal, id, action)
                    },
                ),
            }
        })
}

#[derive(Template, WebTemplate)]
#[template(path = "message_confirm.html")]
pub struct ConfirmPage {
    layout: Layout,
    id: i32,
    action: PageAction,
    question: String,
    details: Vec<String>,
}

/// `GET /messages/{id}/{action}`: asks first; 409 when not possible now.
#[tracing::instrument(skip_all, fields(id = id.0, action = action.slug()))]
async fn confirm(
    State(state): State<AppState>,
    principal: Principal,
    id: Id,
    action: PageAction,
) -> Result<ConfirmPage, AppError> {
    let broadcast = shared::load(&state.pool, id).await?;
    let deletable = deletable(&state, &broadcast).await?;
    if let Some(reason) = refusal(&broadcast, action, deletable) {
        return Err(AppError::Conflict(reason));
    }
    let (question, details) = explain(&broadcast, action, deletable, state.config.school_timezone);
    Ok(ConfirmPage {
        layout: Layout::new("/messages", &principal),
        id: broadcast.id,
        action,
        question,
        details,
    })
}

/// `POST /messages/{id}/{action}`: does it, then back to the broadcast.
#[tracing::instrument(skip_all, fields(id = id, action = action.slug()))]
async fn apply(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
    action: PageAction,
) -> Result<Response, AppError> {
    let command = action.command().ok_or_else(AppError::not_found)?;
    app::broadcasts::command(&state.context(&principal), id, command)
        .await
        .map_err(|err| match err {
            CommandError::NotFound => shared::not_found(),
            CommandError::Legacy => {
                AppError::Conflict(words::messages::LEGACY_READ_ONLY.to_owned())
            }
            CommandError::NotAllowed { status, .. } => {
                AppError::Conflict(not_allowed(action, status))
            }
            CommandError::NothingToRetry => AppError::Conflict(
                if command == Command::RetryUnknown {
                    words::messages::NOTHING_UNKNOWN
                } else {
                    words::messages::NOTHING_FAILED
                }
                .to_owned(),
            ),
            CommandError::NothingToDelete => AppError::Conflict(nothing_to_delete()),
            CommandError::Db(err) => err.into(),
        })?;
    Ok((
        StatusCode::SEE_OTHER,
        [(
            header::LOCATION,
            format!("/messages/{id}?done={}", action.slug()),
        )],
    )
        .into_response())
}
