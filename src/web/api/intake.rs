//! `/api/intake-rules`: per course, the rule that moves the bookings the bot
//! files under its default code (`4th_stream`) into the course's current
//! intake. Viewers read the rules; editors switch them (audited).

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ErrorJson;
use crate::app::intake::{self as use_case, IntakeError};
use crate::domain::time::rfc3339;
use crate::store::intake::{Idle, Rule};
use crate::web::AppState;
use crate::web::auth::Principal;
use crate::web::error::AppError;
use crate::web::extract::{Json, Path};

/// Why a rule moves nothing right now.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IdleJson {
    /// Switched off.
    Off,
    /// The course has no current intake in the registry.
    NoCurrentIntake,
    /// The current intake is the code the bot writes.
    TargetIsSource,
}

/// One course's rule.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntakeRuleJson {
    course_id: i32,
    course_name: String,
    /// The code the bot writes by default, whose new bookings are moved.
    source_code: String,
    enabled: bool,
    /// When it was last switched on (RFC 3339), null if never.
    switched_on_at: Option<String>,
    /// Bookings with a higher id are the rule's (created after it was switched on).
    after_booking_id: i64,
    /// The course's current intake: where bookings go; null without one.
    target_code: Option<String>,
    target_name: Option<String>,
    /// Null while it moves bookings; otherwise why it does not.
    idle: Option<IdleJson>,
    /// Bookings it moved, ever.
    moved: i64,
}

impl From<Rule> for IntakeRuleJson {
    fn from(rule: Rule) -> Self {
        Self {
            idle: rule.idle().map(|idle| match idle {
                Idle::Off => IdleJson::Off,
                Idle::NoCurrentIntake => IdleJson::NoCurrentIntake,
                Idle::TargetIsSource => IdleJson::TargetIsSource,
            }),
            course_id: rule.course_id,
            course_name: rule.course_name,
            source_code: rule.source_code,
            enabled: rule.enabled,
            switched_on_at: rule.switched_on_at.map(rfc3339),
            after_booking_id: rule.after_booking_id,
            target_code: rule.target_code,
            target_name: rule.target_name,
            moved: rule.moved,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IntakeRulesJson {
    /// One per course, by course id.
    rules: Vec<IntakeRuleJson>,
}

/// `GET /api/intake-rules`: every course's rule.
#[utoipa::path(
    get,
    path = "/api/intake-rules",
    tag = "streams",
    responses((status = 200, body = IntakeRulesJson))
)]
#[tracing::instrument(skip_all)]
pub async fn list_intake_rules(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<IntakeRulesJson>, AppError> {
    let rules = use_case::rules(&state.context(&principal))
        .await
        .map_err(|err| intake_error(err, 0))?;
    Ok(Json(IntakeRulesJson {
        rules: rules.into_iter().map(Into::into).collect(),
    }))
}

/// Body of `PUT /api/intake-rules/{course_id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntakeRulePut {
    /// On: bookings the bot writes from now on under the source code move
    /// into the current intake. Off: stops at once.
    enabled: bool,
}

/// `PUT /api/intake-rules/{course_id}`: switches the course's rule on or off.
#[utoipa::path(
    put,
    path = "/api/intake-rules/{course_id}",
    tag = "streams",
    params(("course_id" = i32, Path, minimum = 1, description = "A course of the bot")),
    request_body = IntakeRulePut,
    responses(
        (status = 200, body = IntakeRuleJson),
        (status = 400, body = ErrorJson, description = "Bad course id or body"),
        (status = 404, body = ErrorJson, description = "No such course"),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn put_intake_rule(
    State(state): State<AppState>,
    principal: Principal,
    Path(course_id): Path<i32>,
    Json(body): Json<serde_json::Value>,
) -> Result<Json<IntakeRuleJson>, AppError> {
    // serde would also read a struct from an array (`[true]`): only an object is one.
    if !body.is_object() {
        return Err(AppError::BadRequest(
            "invalid JSON body: expected an object {\"enabled\": true|false}".into(),
        ));
    }
    let body: IntakeRulePut = serde_json::from_value(body)
        .map_err(|err| AppError::BadRequest(format!("invalid JSON body: {err}")))?;
    let rule = use_case::set_enabled(&state.context(&principal), course_id, body.enabled)
        .await
        .map_err(|err| intake_error(err, course_id))?;
    Ok(Json(rule.into()))
}

fn intake_error(err: IntakeError, course_id: i32) -> AppError {
    match err {
        IntakeError::UnknownCourse => {
            AppError::NotFound(format!("course_id: no course with the id {course_id}"))
        }
        IntakeError::Db(err) => err.into(),
    }
}
