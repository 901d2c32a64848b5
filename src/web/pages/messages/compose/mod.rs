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
mod send;
mod view;

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::{Deserialize, Deserializer};
use serde_json::json;

use self::form::{ComposerForm, Posted};
use self::review::Review;
use self::view::{
    AudienceSummary, Chip, ComposePage, ConfirmPage, DraftRow, Live, LiveFragment, SegmentChoice,
};
use super::super::Layout;
use super::shared::{self, Id, PageQuery, Words};
use crate::app::broadcasts::{Valid, key_fits};
use crate::domain::audience::Audience;
use crate::domain::input::{BroadcastId, Expectation, strict_int};
use crate::store::drafts;
use crate::web::AppState;
use crate::web::auth::Principal;
use crate::web::error::AppError;
use crate::web::extract::Path;
use crate::web::routes::Routes;

use crate::web::auth::Access;
use crate::web::words::{self, Label};

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

/// A saved draft's id: a positive integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DraftId(pub i64);

impl DraftId {
    fn parse(raw: &str) -> Result<Self, AppError> {
        strict_int(raw)
            .filter(|id| *id >= 1)
            .map(Self)
            .ok_or_else(|| AppError::BadRequest("draft must be a positive integer".into()))
    }
}

impl<'de> Deserialize<'de> for DraftId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        i64::deserialize(deserializer)
            .ok()
            .filter(|id| *id >= 1)
            .map(Self)
            .ok_or_else(|| Expectation::Positive.error())
    }
}

/// `?broadcast=N` (a scheduled broadcast to change), `?draft=N[&saved=1]`.
#[derive(Debug, Default, Deserialize)]
pub struct NewQuery {
    broadcast: Option<BroadcastId>,
    draft: Option<DraftId>,
    saved: Option<String>,
}

impl Words for NewQuery {
    fn refusal(field: &str) -> Option<String> {
        match field {
            "broadcast" => Some(shared::bad_id()),
            "draft" => Some(words::messages::BAD_DRAFT_ID.to_owned()),
            _ => None,
        }
    }
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
    let streams = state.reads.stream_members(pool).await?.to_vec();
    let courses = crate::store::streams::courses(pool).await?;
    let segments = state
        .reads
        .segment_estimates(pool)
        .await?
        .iter()
        .copied()
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
        courses,
        segments,
        drafts,
        zone: view::zone_label(tz, Utc::now()),
        blank_buttons: page.blank_buttons,
    })
}

/// `GET /messages/new[?draft=N | ?broadcast=N]`: an empty form, a saved
/// draft, or a scheduled broadcast to change.
#[tracing::instrument(skip_all)]
pub async fn new(
    State(state): State<AppState>,
    principal: Principal,
    PageQuery(query): PageQuery<NewQuery>,
) -> Result<Response, AppError> {
    let mut form = ComposerForm::default();
    let mut draft = None;
    let mut notice = None;
    let mut editing = None;
    if let Some(id) = query.broadcast {
        form = edit::load(&state, Id(id.get())).await?;
        editing = Some(id.get());
    } else if let Some(DraftId(id)) = query.draft {
        let saved = drafts::get(&state.pool, id)
            .await?
            .ok_or_else(|| AppError::NotFound("draft not found".into()))?;
        form = serde_json::from_value(saved.form).unwrap_or_default();
        draft = Some(id);
        notice = match query.saved {
            Some(_) => Some(words::messages::DRAFT_SAVED.to_owned()),
            None => saved.source_broadcast.map(words::messages::draft_copy_of),
        };
    }
    let mut review = review::review(&state.pool, &form, state.config.school_timezone).await?;
    // A fresh form has no mistakes to show yet; a saved one shows its own.
    if draft.is_none() && editing.is_none() {
        review.problems.clear();
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
#[tracing::instrument(skip_all)]
pub async fn live(State(state): State<AppState>, body: Bytes) -> Result<LiveFragment, AppError> {
    let posted = Posted::parse(&body);
    let review = review::review(&state.pool, &posted.form, state.config.school_timezone).await?;
    Ok(LiveFragment {
        live: Live::new(&posted.form, &review),
    })
}

/// `POST /messages/new`: what happens depends on the button pressed.
#[tracing::instrument(skip_all)]
pub async fn submit(
    State(state): State<AppState>,
    principal: Principal,
    body: Bytes,
) -> Result<Response, AppError> {
    let posted = Posted::parse(&body);
    let key = posted.key.trim().to_owned();
    if !key_fits(&key) {
        return Err(AppError::BadRequest(
            "the form has no valid key; open /messages/new again".into(),
        ));
    }
    let draft = match posted.draft.trim() {
        "" => None,
        raw => Some(DraftId::parse(raw)?.0),
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
        "test" => send::test_send(&state, &principal, form_page, &review).await,
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
                None => send::send(&state, &principal, &key, draft, valid, banner_page).await,
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
    let names = match &valid.audience {
        Audience::Stream { .. } => shared::stream_names(&state.pool).await?,
        _ => HashMap::new(),
    };
    Ok(ConfirmPage {
        layout: Layout::new("/messages", principal),
        form: posted.form.clone(),
        key: key.to_owned(),
        draft,
        edit: None,
        audience: AudienceSummary::new(&valid.audience, &names, &review.named),
        when: valid
            .scheduled_at
            .map(|at| super::super::local_time(tz, &at)),
        zone: view::zone_label(tz, valid.scheduled_at.unwrap_or_else(Utc::now)),
        live: Live::new(&posted.form, review),
        kind: valid.content.kind.label(),
        file_id: valid.content.file_id.clone(),
    })
}

/// `POST /messages/{id}/duplicate`: a new draft with the broadcast's
/// content and audience.
#[tracing::instrument(skip_all, fields(id = id.0))]
pub async fn duplicate(
    State(state): State<AppState>,
    principal: Principal,
    id: Id,
) -> Result<Redirect, AppError> {
    let broadcast = shared::load(&state.pool, id).await?;
    let form = ComposerForm::from_broadcast(&broadcast);
    let form = serde_json::to_value(&form).expect("form serialises");
    let source = Some(broadcast.id);
    let draft = drafts::save(&state.pool, &principal.actor(), None, &form, source).await?;
    Ok(Redirect::to(&format!("/messages/new?draft={draft}")))
}

/// `POST /messages/drafts/{id}/delete`.
#[tracing::instrument(skip_all)]
pub async fn delete_draft(
    State(state): State<AppState>,
    principal: Principal,
    Path(DraftId(id)): Path<DraftId>,
) -> Result<Redirect, AppError> {
    let reason = json!({ "deleted": true });
    if !drafts::delete(&state.pool, &principal.actor(), id, reason).await? {
        return Err(AppError::NotFound("draft not found".into()));
    }
    Ok(Redirect::to("/messages/new"))
}
