//! The stream registry: registering a stream, changing one, and adopting a
//! code found only in bookings. Each exists only here (validated settings,
//! the store's lock and audit); the JSON API and the registry pages differ
//! only in how they read the request and how they answer.

use chrono::NaiveDate;
use sqlx::PgPool;

use super::Context;
use crate::domain::enrolment::enrolment_opens;
use crate::domain::stream::{Settings, SettingsError, StreamCode};
use crate::store::streams::{self, AdoptError, Registered, RegistryEntry, RegistryError};

/// Why the registry was not changed.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error(transparent)]
    Invalid(#[from] SettingsError),
    /// A change that names no field.
    #[error("nothing to change")]
    NothingToChange,
    #[error("the code is registered already")]
    Exists,
    #[error("no such course")]
    UnknownCourse,
    #[error("no registered stream with this code")]
    NotFound,
    /// A code alone names streams of several courses: say which course.
    #[error("the code names streams of several courses")]
    Ambiguous(Vec<i32>),
    /// Another stream of the course became the current intake meanwhile.
    #[error("another stream of this course is the current intake")]
    CurrentTaken,
    /// Adopting: no booking has the code.
    #[error("no booking has the code")]
    NotInBookings,
    #[error("no booking of course {0} has the code")]
    NotInCourse(i32),
    #[error("the bookings with the code have no course")]
    NoCourse,
    #[error("the code occurs in bookings of several courses")]
    SeveralCourses(Vec<i32>),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl From<RegistryError> for StreamError {
    fn from(err: RegistryError) -> Self {
        match err {
            RegistryError::Exists => Self::Exists,
            RegistryError::UnknownCourse => Self::UnknownCourse,
            RegistryError::NotFound => Self::NotFound,
            RegistryError::CurrentTaken => Self::CurrentTaken,
            RegistryError::Database(err) => Self::Db(err),
        }
    }
}

impl From<AdoptError> for StreamError {
    fn from(err: AdoptError) -> Self {
        match err {
            AdoptError::Registered => Self::Exists,
            AdoptError::NotInBookings => Self::NotInBookings,
            AdoptError::NotInCourse(id) => Self::NotInCourse(id),
            AdoptError::NoCourse => Self::NoCourse,
            AdoptError::SeveralCourses(ids) => Self::SeveralCourses(ids),
            AdoptError::Registry(err) => err.into(),
        }
    }
}

/// A stream to register (the adapters suggest a display name from the code
/// when staff give none).
#[derive(Debug, Clone)]
pub struct NewStream {
    pub code: StreamCode,
    pub course_id: i32,
    pub display_name: String,
    pub starts_on: Option<NaiveDate>,
    pub capacity: Option<i64>,
    pub is_current: bool,
    pub archived: bool,
    /// «Набор открыт с»; `None`: the default.
    pub enrolment_opens_on: Option<NaiveDate>,
}

/// Registers a stream (audited as `stream.create`).
#[tracing::instrument(skip_all, fields(actor = %ctx.actor.name, stream = %new.code, course_id = new.course_id))]
pub async fn create(ctx: &Context<'_>, new: NewStream) -> Result<RegistryEntry, StreamError> {
    let display_name = new.display_name;
    let settings = Settings::new(
        &display_name,
        new.starts_on,
        new.capacity,
        new.is_current,
        new.archived,
    )?
    .with_enrolment_opens_on(new.enrolment_opens_on)?;
    let mut conn = ctx.pool.acquire().await?;
    let created = streams::create(
        &mut conn,
        &ctx.actor,
        "stream.create",
        new.code.as_str(),
        new.course_id,
        &settings,
    )
    .await?;
    ctx.reads.changed();
    Ok(created)
}

/// A change to a registered stream: only the fields that are `Some` change
/// (`Some(None)` clears the date or the limit).
#[derive(Debug, Clone, Default)]
pub struct Patch {
    pub display_name: Option<String>,
    pub starts_on: Option<Option<NaiveDate>>,
    pub capacity: Option<Option<i64>>,
    pub is_current: Option<bool>,
    pub archived: Option<bool>,
    /// «Набор открыт с»; `Some(None)` returns it to the default.
    pub enrolment_opens_on: Option<Option<NaiveDate>>,
}

impl Patch {
    fn is_empty(&self) -> bool {
        self.display_name.is_none()
            && self.starts_on.is_none()
            && self.capacity.is_none()
            && self.is_current.is_none()
            && self.archived.is_none()
            && self.enrolment_opens_on.is_none()
    }
}

/// The course of the stream `code` when a client names the code alone:
/// `course_id` when given, else the one course that has the code
/// (registered or in bookings). None has it → `NotFound`; several →
/// `Ambiguous`, listing them.
pub async fn course_of(
    pool: &PgPool,
    code: &StreamCode,
    course_id: Option<i32>,
) -> Result<i32, StreamError> {
    if let Some(id) = course_id {
        return Ok(id);
    }
    let courses = streams::courses_with_code(pool, code.as_str()).await?;
    match courses.as_slice() {
        [] => Err(StreamError::NotFound),
        [id] => Ok(*id),
        _ => Err(StreamError::Ambiguous(courses)),
    }
}

/// Changes the registered stream `code` of course `course_id` (audited as
/// `stream.update`): the patch over its current settings, validated as a
/// whole.
#[tracing::instrument(skip_all, fields(actor = %ctx.actor.name, course_id, stream = %code))]
pub async fn update(
    ctx: &Context<'_>,
    course_id: i32,
    code: &StreamCode,
    patch: Patch,
) -> Result<RegistryEntry, StreamError> {
    if patch.is_empty() {
        return Err(StreamError::NothingToChange);
    }
    let current = streams::entry(ctx.pool, course_id, code.as_str())
        .await?
        .ok_or(StreamError::NotFound)?;
    let settings = Settings::new(
        patch
            .display_name
            .as_deref()
            .unwrap_or(&current.display_name),
        patch.starts_on.unwrap_or(current.starts_on),
        patch.capacity.unwrap_or(current.capacity.map(i64::from)),
        patch.is_current.unwrap_or(current.is_current),
        patch.archived.unwrap_or(current.archived),
    )?
    .with_enrolment_opens_on(
        patch
            .enrolment_opens_on
            .unwrap_or(current.enrolment_opens_on),
    )?;
    let mut conn = ctx.pool.acquire().await?;
    let updated =
        streams::update(&mut conn, &ctx.actor, course_id, code.as_str(), &settings).await?;
    ctx.reads.changed();
    Ok(updated)
}

/// Registers `code`, found only in bookings, for the course its bookings
/// have (`course_id` chooses when they have several): not current, no date,
/// no limit, named `display_name` (the adapters suggest one from the code).
/// Audited as `stream.adopt`.
#[tracing::instrument(skip_all, fields(actor = %ctx.actor.name, stream = %code, course_id))]
pub async fn adopt(
    ctx: &Context<'_>,
    code: &StreamCode,
    course_id: Option<i32>,
    display_name: &str,
) -> Result<RegistryEntry, StreamError> {
    let settings = Settings::new(display_name, None, None, false, false)?;
    let mut conn = ctx.pool.acquire().await?;
    let adopted =
        streams::adopt(&mut conn, &ctx.actor, code.as_str(), course_id, &settings).await?;
    ctx.reads.changed();
    Ok(adopted)
}

/// The message for a stream code several courses have, named without a
/// course (the API's 400; English like the API's other messages).
pub fn ambiguous_stream(code: &str, course_ids: &[i32]) -> String {
    format!(
        "courses {} each have a stream {code}: send course_id too",
        course_list(course_ids)
    )
}

/// Course ids as a list: `1, 2`.
pub fn course_list(ids: &[i32]) -> String {
    ids.iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Each entry's «набор открыт с» after the default, in the same order.
pub fn effective_enrolment(registered: &[Registered]) -> Vec<Option<NaiveDate>> {
    registered
        .iter()
        .map(|row| {
            let course: Vec<_> = registered
                .iter()
                .filter(|other| other.entry.course_id == row.entry.course_id)
                .map(|other| {
                    (
                        other.entry.code.clone(),
                        other.entry.starts_on,
                        other.entry.enrolment_opens_on,
                    )
                })
                .collect();
            enrolment_opens(&row.entry.code, &course).map(|enrolment| enrolment.opens_on)
        })
        .collect()
}
