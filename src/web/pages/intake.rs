//! Intake routing on `/settings/streams`: per course, the rule «новые
//! заявки из бота (`4th_stream`) — в текущий набор», its state, where it
//! moves to (or why it moves nothing), since when, how many it moved, and
//! the editors' switch.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono_tz::Tz;
use serde::Deserialize;

use crate::app::intake::{self as use_case, IntakeError};
use crate::store::intake::Rule;
use crate::web::AppState;
use crate::web::auth::{Access, Principal};
use crate::web::error::AppError;
use crate::web::extract::{Form, Path};
use crate::web::routes::Routes;
use crate::web::words::Label;
use crate::web::words::pages::intake as words;

pub fn routes() -> Routes {
    Routes::default().post("/settings/intake-rules/{course_id}", Access::EDITOR, switch)
}

/// A course's rule as the registry page shows it.
pub struct IntakeRow {
    pub course_id: i32,
    pub course_name: String,
    pub source_code: String,
    pub enabled: bool,
    /// The current intake's display name (where bookings go, or would).
    pub target: Option<String>,
    /// Why it moves nothing (empty while it does).
    pub reasons: Vec<&'static str>,
    /// When it was switched on, while it is on.
    pub since: Option<String>,
    pub moved: i64,
}

impl IntakeRow {
    fn new(rule: Rule, tz: Tz) -> Self {
        let reasons = rule.idle_reasons();
        Self {
            target: rule
                .target_code
                .as_ref()
                .filter(|code| **code != rule.source_code)
                .map(|code| rule.target_name.clone().unwrap_or_else(|| code.clone())),
            reasons: reasons.iter().map(Label::label).collect(),
            since: rule
                .switched_on_at
                .filter(|_| rule.enabled)
                .map(|at| super::local_time(tz, &at)),
            course_id: rule.course_id,
            course_name: rule.course_name,
            source_code: rule.source_code,
            enabled: rule.enabled,
            moved: rule.moved,
        }
    }
}

/// Every course's rule, for the registry page.
pub async fn rows(state: &AppState, principal: &Principal) -> Result<Vec<IntakeRow>, AppError> {
    let rules = use_case::rules(&state.context(principal))
        .await
        .map_err(refusal)?;
    let tz = state.config.school_timezone;
    Ok(rules
        .into_iter()
        .map(|rule| IntakeRow::new(rule, tz))
        .collect())
}

fn refusal(err: IntakeError) -> AppError {
    match err {
        IntakeError::UnknownCourse => AppError::NotFound(words::COURSE_NOT_FOUND.into()),
        IntakeError::Db(err) => err.into(),
    }
}

#[derive(Deserialize)]
pub struct SwitchForm {
    /// `on` or `off`.
    enabled: Option<String>,
}

/// `POST /settings/intake-rules/{course_id}`: switches the course's rule.
#[tracing::instrument(skip_all)]
pub async fn switch(
    State(state): State<AppState>,
    principal: Principal,
    Path(course_id): Path<i32>,
    Form(form): Form<SwitchForm>,
) -> Result<Response, AppError> {
    let enabled = match form.enabled.as_deref() {
        Some("on") => true,
        Some("off") => false,
        _ => return Err(AppError::BadRequest(words::BAD_SWITCH.into())),
    };
    use_case::set_enabled(&state.context(&principal), course_id, enabled)
        .await
        .map_err(refusal)?;
    let notice = if enabled { "intake_on" } else { "intake_off" };
    Ok((
        StatusCode::SEE_OTHER,
        [(
            header::LOCATION,
            format!("/settings/streams?notice={notice}#intake"),
        )],
    )
        .into_response())
}
