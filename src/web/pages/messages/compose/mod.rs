//! `/messages/new`: the composer. A plain form that works without scripts
//! (`static/composer.js` adds the live panel and the people search): «Далее»
//! checks everything on the server and shows a confirmation step, which
//! sends. The form carries an idempotency key from the moment it is shown,
//! so a double click, the back button or a refresh makes one broadcast.
//! Drafts keep the raw form on the server.

mod check;
mod edit;
mod form;
mod review;
mod view;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde_json::json;

use self::form::{ComposerForm, Posted};
use self::review::Review;
use self::view::{
    AudienceSummary, Chip, ComposePage, ConfirmPage, DraftRow, Live, LiveFragment, SegmentChoice,
};
use super::super::Layout;
use super::shared;
use crate::app::{
    self,
    broadcasts::{MAX_KEY_CHARS, SendError, Valid},
};
use crate::domain::audience::Audience;
use crate::store::{audience, delivery, drafts};
use crate::web::AppState;
use crate::web::api::params::{Params, strict_int};
use crate::web::auth::Principal;
use crate::web::error::AppError;
use crate::web::extract::Path;
use crate::web::routes::Routes;

use crate::web::auth::Access;
use crate::web::words::Label;

pub fn routes() -> Routes {
    Routes::default()
        .get("/messages/new", Access::ADMIN, new)
        .post("/messages/new", Access::ADMIN, submit)
        .post("/messages/new/live", Access::ADMIN, live)
        .post("/messages/{id}/duplicate", Access::ADMIN, duplicate)
        .post("/messages/drafts/{id}/delete", Access::ADMIN, delete_draft)
}

/// The most drafts the composer lists.
const DRAFTS_SHOWN: i64 = 20;

fn new_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn draft_id(raw: &str) -> Result<i64, AppError> {
    strict_int(raw)
        .filter(|id| *id >= 1)
        .ok_or_else(|| AppError::BadRequest("draft must be a positive integer".into()))
}

/// Everything the form page needs besides the form.
struct Page<'a> {
    form: ComposerForm,
    key: String,
    draft: Option<i64>,
    /// The scheduled broadcast being changed.
    edit: Option<i32>,
    notice: Option<String>,
    banner: Option<String>,
    review: &'a Review,
    blank_buttons: usize,
}

async fn render_form(
    state: &AppState,
    principal: &Principal,
    page: Page<'_>,
) -> Result<ComposePage, AppError> {
    let tz = state.config.school_timezone;
    let pool = &state.pool;
    // Segment counts read the people directory, which `page.review` has
    // brought up to date.
    let streams = audience::stream_members(pool).await?;
    let segments = audience::segment_estimates(pool)
        .await?
        .into_iter()
        .map(|(segment, estimate)| SegmentChoice {
            segment,
            recipients: estimate.recipients(),
        })
        .collect();
    let drafts = drafts::recent(pool, DRAFTS_SHOWN)
        .await?
        .iter()
        .map(|draft| DraftRow::new(draft, tz))
        .collect();
    Ok(ComposePage {
        layout: Layout::new("/messages", principal),
        live: Live::new(&page.form, page.review),
        chips: page.review.named.iter().map(Chip::from).collect(),
        form: page.form,
        key: page.key,
        draft: page.draft,
        edit: page.edit,
        notice: page.notice,
        banner: page.banner,
        streams,
        segments,
        drafts,
        zone: view::zone_label(tz, Utc::now()),
        blank_buttons: page.blank_buttons,
    })
}

/// `GET /messages/new[?draft=N | ?broadcast=N]`: an empty form, a saved
/// draft, or a scheduled broadcast to change.
pub async fn new(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(query): RawQuery,
) -> Result<Response, AppError> {
    let params = Params::parse(query.as_deref());
    let mut form = ComposerForm::default();
    let mut draft = None;
    let mut notice = None;
    let mut editing = None;
    if let Some(raw) = params.raw("broadcast") {
        let (id, scheduled) = edit::load(&state, raw).await?;
        form = scheduled;
        editing = Some(id);
    } else if let Some(raw) = params.raw("draft") {
        let id = draft_id(raw)?;
        let saved = drafts::get(&state.pool, id)
            .await?
            .ok_or_else(|| AppError::NotFound("draft not found".into()))?;
        form = serde_json::from_value(saved.form).unwrap_or_default();
        draft = Some(id);
        notice = match params.raw("saved") {
            Some(_) => Some("Черновик сохранён.".to_owned()),
            None => saved
                .source_broadcast
                .map(|source| format!("Черновик — копия рассылки №{source}.")),
        };
    }
    let mut review = review::review(&state.pool, &form, state.config.school_timezone).await?;
    // A fresh form has no mistakes to show yet; a saved one shows its own.
    if draft.is_none() && editing.is_none() {
        review.mistakes.clear();
    }
    let page = Page {
        form,
        key: new_key(),
        draft,
        edit: editing,
        notice,
        banner: None,
        review: &review,
        blank_buttons: 1,
    };
    Ok(render_form(&state, &principal, page).await?.into_response())
}

/// `POST /messages/new/live`: the side panel for the form as it is now.
pub async fn live(State(state): State<AppState>, body: Bytes) -> Result<LiveFragment, AppError> {
    let posted = Posted::parse(&body);
    let review = review::review(&state.pool, &posted.form, state.config.school_timezone).await?;
    Ok(LiveFragment {
        live: Live::new(&posted.form, &review),
    })
}

/// `POST /messages/new`: what happens depends on the button pressed.
pub async fn submit(
    State(state): State<AppState>,
    principal: Principal,
    body: Bytes,
) -> Result<Response, AppError> {
    let posted = Posted::parse(&body);
    let key = posted.key.trim().to_owned();
    if key.is_empty() || key.chars().count() > MAX_KEY_CHARS {
        return Err(AppError::BadRequest(
            "the form has no valid key; open /messages/new again".into(),
        ));
    }
    let draft = match posted.draft.trim() {
        "" => None,
        raw => Some(draft_id(raw)?),
    };
    let editing = match posted.broadcast.trim() {
        "" => None,
        raw => Some(shared::broadcast_id(raw)?),
    };
    let tz = state.config.school_timezone;
    let review = review::review(&state.pool, &posted.form, tz).await?;
    let form_page = |notice: Option<String>, banner: Option<String>, blank_buttons: usize| Page {
        form: posted.form.clone(),
        key: key.clone(),
        draft,
        edit: editing,
        notice,
        banner,
        review: &review,
        blank_buttons,
    };
    let with_status = |status: StatusCode, page: ComposePage| (status, page).into_response();
    match posted.intent.as_str() {
        "edit" => {
            let page = render_form(&state, &principal, form_page(None, None, 1)).await?;
            Ok(with_status(StatusCode::OK, page))
        }
        "add_button" => {
            let page = render_form(&state, &principal, form_page(None, None, 2)).await?;
            Ok(with_status(StatusCode::OK, page))
        }
        "draft" => {
            let form = serde_json::to_value(&posted.form).expect("form serialises");
            let id = drafts::save(&state.pool, &principal.actor(), draft, &form, None).await?;
            Ok(Redirect::to(&format!("/messages/new?draft={id}&saved=1")).into_response())
        }
        "test" => test_send(&state, &principal, form_page, &review).await,
        "review" | "send" => {
            let Some(valid) = review.valid() else {
                let page = render_form(&state, &principal, form_page(None, None, 1)).await?;
                return Ok(with_status(StatusCode::UNPROCESSABLE_ENTITY, page));
            };
            if posted.intent == "review" {
                let mut page =
                    confirm_page(&state, &principal, &posted, &key, draft, &review, &valid).await?;
                page.edit = editing;
                return Ok(page.into_response());
            }
            let banner_page = |banner| form_page(None, Some(banner), 1);
            match editing {
                Some(id) => edit::save(&state, &principal, id, valid, banner_page).await,
                None => send(&state, &principal, &key, draft, valid, banner_page).await,
            }
        }
        other => Err(AppError::BadRequest(format!(
            "unknown intent {other:?}; expected review, send, edit, draft, test or add_button"
        ))),
    }
}

async fn confirm_page(
    state: &AppState,
    principal: &Principal,
    posted: &Posted,
    key: &str,
    draft: Option<i64>,
    review: &Review,
    valid: &Valid,
) -> Result<ConfirmPage, AppError> {
    let tz = state.config.school_timezone;
    let streams = match &valid.audience {
        Audience::Stream { .. } => audience::stream_members(&state.pool).await?,
        _ => Vec::new(),
    };
    Ok(ConfirmPage {
        layout: Layout::new("/messages", principal),
        form: posted.form.clone(),
        key: key.to_owned(),
        draft,
        edit: None,
        audience: AudienceSummary::new(&valid.audience, &streams, &review.named),
        when: valid
            .scheduled_at
            .map(|at| super::super::local_time(tz, &at)),
        zone: view::zone_label(tz, valid.scheduled_at.unwrap_or_else(Utc::now)),
        live: Live::new(&posted.form, review),
        kind: valid.content.kind.label(),
        file_id: valid.content.file_id.clone(),
    })
}

/// Creates the broadcast (once per key) and opens it.
async fn send<'a>(
    state: &AppState,
    principal: &Principal,
    key: &str,
    draft: Option<i64>,
    valid: Valid,
    form_page: impl Fn(String) -> Page<'a>,
) -> Result<Response, AppError> {
    let conflict = |id: Option<i32>| {
        let which = id.map_or_else(String::new, |id| format!(" №{id}"));
        format!(
            "Эта форма уже отправлена как рассылка{which}, а сейчас в ней другие данные. \
             Откройте рассылку или начните новую — так одно нажатие не создаст две рассылки."
        )
    };
    let refused = async |status: StatusCode, banner: String| {
        let page = render_form(state, principal, form_page(banner)).await?;
        Ok::<_, AppError>((status, page).into_response())
    };
    let ctx = state.context(principal);
    let created = match app::broadcasts::create(&ctx, valid, Some(key.to_owned())).await {
        Ok(created) => created,
        Err(SendError::Db(err)) => return Err(err.into()),
        Err(SendError::KeyReused { broadcast }) => {
            return refused(StatusCode::CONFLICT, conflict(broadcast)).await;
        }
        Err(SendError::InThePast { .. }) => {
            let banner = "Время отправки уже прошло.".to_owned();
            return refused(StatusCode::UNPROCESSABLE_ENTITY, banner).await;
        }
        // The audience changed between the check and the send.
        Err(other) => return refused(StatusCode::UNPROCESSABLE_ENTITY, format!("{other}.")).await,
    };
    if let Some(draft) = draft {
        let reason = json!({ "sent_as": created.id });
        drafts::delete(&state.pool, &principal.actor(), draft, reason).await?;
    }
    Ok(Redirect::to(&format!("/messages/{}", created.id)).into_response())
}

/// «Отправить себе»: the content as it is now, to the admin's own chat.
async fn test_send<'a>(
    state: &AppState,
    principal: &Principal,
    form_page: impl Fn(Option<String>, Option<String>, usize) -> Page<'a>,
    review: &'a Review,
) -> Result<Response, AppError> {
    let refuse = |status: StatusCode, banner: String| (status, banner);
    let outcome = match review.checked.content.as_ref() {
        Err(_) => Err(refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Исправьте сообщение, чтобы отправить его себе.".to_owned(),
        )),
        Ok(content) => match delivery::staff_telegram_id(&state.pool, &principal.name).await? {
            None => Err(refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!(
                    "У вашей учётной записи нет Telegram ID. Его задаёт администратор: \
                     hsl-dashboard staff set-telegram {} <user_id>.",
                    principal.name
                ),
            )),
            Some(chat) => match &state.telegram {
                None => Err(refuse(
                    StatusCode::CONFLICT,
                    "Telegram не настроен: не задан TELEGRAM_BOT_TOKEN.".to_owned(),
                )),
                Some(telegram) => match telegram.send(chat, content).await {
                    Ok(_) => Ok(format!(
                        "Тестовое сообщение отправлено вам в Telegram ({chat})."
                    )),
                    Err(err) => Err(refuse(
                        StatusCode::BAD_GATEWAY,
                        format!(
                            "Telegram не принял сообщение: {}",
                            telegram.redact(&err.to_string())
                        ),
                    )),
                },
            },
        },
    };
    let (status, page) = match outcome {
        Ok(notice) => (StatusCode::OK, form_page(Some(notice), None, 1)),
        Err((status, banner)) => (status, form_page(None, Some(banner), 1)),
    };
    let page = render_form(state, principal, page).await?;
    Ok((status, page).into_response())
}

/// `POST /messages/{id}/duplicate`: a new draft with the broadcast's
/// content and audience.
pub async fn duplicate(
    State(state): State<AppState>,
    principal: Principal,
    Path(raw): Path<String>,
) -> Result<Redirect, AppError> {
    let broadcast = shared::load(&state.pool, &raw).await?;
    let form = ComposerForm::from_broadcast(&broadcast);
    let form = serde_json::to_value(&form).expect("form serialises");
    let source = Some(broadcast.id);
    let draft = drafts::save(&state.pool, &principal.actor(), None, &form, source).await?;
    Ok(Redirect::to(&format!("/messages/new?draft={draft}")))
}

/// `POST /messages/drafts/{id}/delete`.
pub async fn delete_draft(
    State(state): State<AppState>,
    principal: Principal,
    Path(raw): Path<String>,
) -> Result<Redirect, AppError> {
    let id = draft_id(&raw)?;
    let reason = json!({ "deleted": true });
    if !drafts::delete(&state.pool, &principal.actor(), id, reason).await? {
        return Err(AppError::NotFound("draft not found".into()));
    }
    Ok(Redirect::to("/messages/new"))
}
