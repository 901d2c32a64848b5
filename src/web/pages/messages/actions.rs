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

use super::audience::plural;
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
use crate::web::words::Label;

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
            Self::Cancel => "Отменить",
            Self::Pause => "Приостановить",
            Self::Resume => "Продолжить",
            Self::RetryFailed => "Повторить неудачные",
            Self::RetryUnknown => "Повторить неизвестные",
            Self::DeleteFromChats => "Удалить из чатов",
            Self::Duplicate => "Дублировать как черновик",
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
            "cancel" => "Рассылка отменена.",
            "pause" => "Рассылка приостановлена.",
            "resume" => "Рассылка продолжается.",
            "retry-failed" => "Получатели с ошибкой снова в очереди.",
            "retry-unknown" => "Получатели с неизвестным исходом снова в очереди.",
            "delete-from-chats" => "Сообщения удаляются из чатов.",
            _ => return None,
        })
    }
}

fn not_allowed(action: PageAction, status: BroadcastStatus) -> String {
    format!(
        "Действие «{}» недоступно: статус рассылки — «{}».",
        action.label(),
        status.label()
    )
}

const LEGACY: &str = "Рассылки старой панели изменить нельзя.";
const NOTHING_FAILED: &str = "Нет получателей с ошибкой — повторять некому.";
const NOTHING_UNKNOWN: &str = "Нет получателей с неизвестным исходом — повторять некому.";

fn nothing_to_delete() -> String {
    format!(
        "За последние {DELETE_WINDOW_HOURS} часов сообщение этой рассылки никому не доставлено \
         — удалять из чатов нечего."
    )
}

/// Why `action` is not offered for `broadcast` (`deletable`: messages
/// Telegram still lets the bot delete), or `None` when it is.
pub fn refusal(broadcast: &Broadcast, action: PageAction, deletable: i64) -> Option<String> {
    let status = broadcast.status;
    if action == PageAction::Duplicate {
        return broadcast.content().is_none().then(|| {
            "Содержание этой рассылки не проходит проверку Telegram HTML — дублировать его нельзя."
                .to_owned()
        });
    }
    if broadcast.legacy {
        return Some(LEGACY.to_owned());
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
        PageAction::RetryFailed => {
            retry().or_else(|| (broadcast.counts.failed == 0).then(|| NOTHING_FAILED.to_owned()))
        }
        PageAction::RetryUnknown => {
            retry().or_else(|| (broadcast.counts.unknown == 0).then(|| NOTHING_UNKNOWN.to_owned()))
        }
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

fn recipients(n: i64) -> String {
    plural(n, "получатель", "получателя", "получателей")
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
                "Отменить черновик?",
                vec!["Он останется в истории отменённым; отправлен не будет.".to_owned()],
            ),
            BroadcastStatus::Scheduled => (
                "Отменить запланированную рассылку?",
                vec![format!(
                    "Она не будет отправлена (запланирована на {}).",
                    maybe_local_time(tz, &broadcast.scheduled_at)
                )],
            ),
            _ => (
                "Отменить рассылку?",
                vec![
                    format!(
                        "{} ещё не {} сообщение — {} не придёт.",
                        recipients(remaining),
                        if remaining % 10 == 1 && remaining % 100 != 11 {
                            "получил"
                        } else {
                            "получили"
                        },
                        if remaining == 1 {
                            "ему оно"
                        } else {
                            "им оно"
                        },
                    ),
                    format!(
                        "Уже доставлено: {}. Эти сообщения останутся в чатах.",
                        counts.sent
                    ),
                ],
            ),
        },
        PageAction::Pause => (
            "Приостановить рассылку?",
            vec![
                format!(
                    "Доставлено {} из {}; в очереди {}.",
                    counts.sent, counts.total, remaining
                ),
                "Сообщения, которые уже отправляются, дойдут. Остальные уйдут после «Продолжить»."
                    .to_owned(),
            ],
        ),
        PageAction::Resume => (
            "Продолжить рассылку?",
            vec![format!(
                "В очереди {} — отправка продолжится сразу.",
                recipients(remaining)
            )],
        ),
        PageAction::RetryFailed => (
            "Повторить отправку получателям с ошибкой?",
            vec![format!("Снова в очередь: {}.", recipients(counts.failed))],
        ),
        PageAction::RetryUnknown => (
            "Повторить отправку получателям с неизвестным исходом?",
            vec![
                format!("Снова в очередь: {}.", recipients(counts.unknown)),
                "Часть из них могла уже получить сообщение и получит его дважды.".to_owned(),
            ],
        ),
        PageAction::DeleteFromChats => (
            "Удалить сообщение из чатов?",
            vec![
                format!(
                    "Оно будет удалено у {} — у тех, кому доставлено за последние {DELETE_WINDOW_HOURS} часов.",
                    plural(deletable, "получателя", "получателей", "получателей")
                ),
                "Вернуть удалённые сообщения нельзя.".to_owned(),
            ],
        ),
        PageAction::Duplicate => (
            "Создать черновик из этой рассылки?",
            vec![
                "Новый черновик получит то же содержание и аудиторию. Ничего не будет отправлено, \
             пока вы его не отправите."
                    .to_owned(),
            ],
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
            CommandError::Legacy => AppError::Conflict(LEGACY.to_owned()),
            CommandError::NotAllowed { status, .. } => {
                AppError::Conflict(not_allowed(action, status))
            }
            CommandError::NothingToRetry => AppError::Conflict(
                if command == Command::RetryUnknown {
                    NOTHING_UNKNOWN
                } else {
                    NOTHING_FAILED
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
