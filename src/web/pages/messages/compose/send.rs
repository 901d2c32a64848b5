//! The composer's two sends: the broadcast itself (once per form key),
//! and «Отправить себе», the content to the admin's own chat.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use super::review::Review;
use super::{Page, render_form};
use crate::app::{
    self,
    broadcasts::{SendError, TestSendError, Valid},
};
use crate::store::drafts;
use crate::web::AppState;
use crate::web::auth::Principal;
use crate::web::error::AppError;
use crate::web::words;

/// Creates the broadcast (once per key) and opens it.
#[tracing::instrument(skip_all)]
pub async fn send<'a>(
    state: &AppState,
    principal: &Principal,
    key: &str,
    draft: Option<i64>,
    valid: Valid,
    form_page: impl Fn(String) -> Page<'a>,
) -> Result<Response, AppError> {
    let refused = async |status: StatusCode, banner: String| {
        let page = render_form(state, principal, form_page(banner)).await?;
        Ok::<_, AppError>((status, page).into_response())
    };
    let ctx = state.context(principal);
    let created = match app::broadcasts::create(&ctx, valid, Some(key.to_owned())).await {
        Ok(created) => created,
        Err(SendError::Db(err)) => return Err(err.into()),
        Err(SendError::KeyReused { broadcast }) => {
            return refused(
                StatusCode::CONFLICT,
                words::messages::form_already_sent(broadcast),
            )
            .await;
        }
        // The time passed, or the audience changed, between the check
        // and the send.
        Err(other) => {
            let banner = other.problem().map_or_else(
                || format!("{other}."),
                |problem| words::problems::label(&problem),
            );
            return refused(StatusCode::UNPROCESSABLE_ENTITY, banner).await;
        }
    };
    if let Some(draft) = draft {
        let reason = json!({ "sent_as": created.id });
        drafts::delete(&state.pool, &principal.actor(), draft, reason).await?;
    }
    Ok(Redirect::to(&format!("/messages/{}", created.id)).into_response())
}

/// «Отправить себе»: the content as it is now, to the admin's own chat.
#[tracing::instrument(skip_all)]
pub async fn test_send<'a>(
    state: &AppState,
    principal: &Principal,
    form_page: impl Fn(Option<String>, Option<String>, usize) -> Page<'a>,
    review: &'a Review,
) -> Result<Response, AppError> {
    let outcome = match review.content() {
        None => Err((
            StatusCode::UNPROCESSABLE_ENTITY,
            words::messages::FIX_BEFORE_TEST.to_owned(),
        )),
        Some(content) => {
            let ctx = state.context(principal);
            match app::broadcasts::send_test(&ctx, state.telegram.as_ref(), content, None).await {
                Ok(sent) => Ok(words::messages::test_sent(sent.chat)),
                Err(TestSendError::NoTelegramId) => Err((
                    StatusCode::UNPROCESSABLE_ENTITY,
                    words::messages::no_telegram_id(&principal.name),
                )),
                Err(TestSendError::NotConfigured) => Err((
                    StatusCode::CONFLICT,
                    words::messages::TELEGRAM_NOT_CONFIGURED.to_owned(),
                )),
                Err(TestSendError::Telegram(message)) => Err((
                    StatusCode::BAD_GATEWAY,
                    words::messages::telegram_refused(&message),
                )),
                Err(TestSendError::Db(err)) => return Err(err.into()),
            }
        }
    };
    let (status, page) = match outcome {
        Ok(notice) => (StatusCode::OK, form_page(Some(notice), None, 1)),
        Err((status, banner)) => (status, form_page(None, Some(banner), 1)),
    };
    let page = render_form(state, principal, page).await?;
    Ok((status, page).into_response())
}
