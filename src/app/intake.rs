//! Intake routing: switching a course's rule on or off. The mover itself is
//! a background task (`store::intake::move_once`, started by `App`), not a
//! staff action.

use super::Context;
use crate::store::intake::{self, Rule, RuleError};

/// Why a rule was not switched.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("no such course")]
    UnknownCourse,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl From<RuleError> for IntakeError {
    fn from(err: RuleError) -> Self {
        match err {
            RuleError::UnknownCourse => Self::UnknownCourse,
            RuleError::Database(err) => Self::Db(err),
        }
    }
}

/// Every course's rule.
pub async fn rules(ctx: &Context<'_>) -> Result<Vec<Rule>, IntakeError> {
    Ok(intake::rules(ctx.pool).await?)
}

/// Switches the course's rule on or off (audited as `intake_rule.update`
/// when it changes). Switching on covers the bookings created from now on.
#[tracing::instrument(skip_all, fields(actor = %ctx.actor.name, course_id, enabled))]
pub async fn set_enabled(
    ctx: &Context<'_>,
    course_id: i32,
    enabled: bool,
) -> Result<Rule, IntakeError> {
    let mut conn = ctx.pool.acquire().await?;
    Ok(intake::set_enabled(&mut conn, &ctx.actor, course_id, enabled).await?)
}
