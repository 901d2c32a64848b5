//! Changing a scheduled broadcast in the composer: its form comes from the
//! broadcast (time in the school's zone), and «Сохранить изменения» writes
//! it back as long as the broadcast has not started.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::super::shared::{self, Id};
use super::form::ComposerForm;
use super::{Page, render_form};
use crate::app::{self, broadcasts::Valid};
use crate::domain::broadcast::BroadcastStatus;
use crate::store::scheduled::EditError;
use crate::web::AppState;

use crate::web::auth::Principal;
use crate::web::error::AppError;
use crate::web::words::{self, Label};

fn not_scheduled(status: BroadcastStatus) -> AppError {
    AppError::Conflict(words::messages::only_scheduled_editable(status.label()))
}

/// The form of scheduled broadcast `id`.
pub async fn load(state: &AppState, id: Id) -> Result<ComposerForm, AppError> {
    let broadcast = shared::load(&state.pool, id).await?;
    if broadcast.legacy || broadcast.status != BroadcastStatus::Scheduled {
        return Err(not_scheduled(broadcast.status));
    }
    let mut form = ComposerForm::from_broadcast(&broadcast);
    if let Some(at) = broadcast.scheduled_at {
        form.when = "at".into();
        form.scheduled_at = at
            .with_timezone(&state.config.school_timezone)
            .format("%Y-%m-%dT%H:%M")
            .to_string();
    }
    Ok(form)
}

/// Writes the checked form back to broadcast `id` and opens it. «Сразу»
/// makes it due now: the engine starts it within a tick.
#[tracing::instrument(skip_all, fields(id = id))]
pub async fn save<'a>(
    state: &AppState,
    principal: &Principal,
    id: i32,
    valid: Valid,
    form_page: impl Fn(String) -> Page<'a>,
) -> Result<Response, AppError> {
    match app::broadcasts::edit_scheduled(&state.context(principal), id, valid).await {
        Ok(()) => Ok(Redirect::to(&format!("/messages/{id}")).into_response()),
        Err(EditError::NotFound) => Err(shared::not_found()),
        Err(EditError::NotScheduled(status)) => {
            let banner = words::messages::edit_too_late(id, status.label());
            let page = render_form(state, principal, form_page(banner)).await?;
            Ok((StatusCode::CONFLICT, page).into_response())
        }
        Err(EditError::Db(err)) => Err(err.into()),
    }
}
