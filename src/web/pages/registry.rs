//! `/settings/streams`: the stream registry. Everyone signed in sees it;
//! editors add streams, change them (name, start date, capacity, current
//! intake, archive) and adopt codes found only in bookings with one click.
//! The store audits every change.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use super::Layout;
use crate::app::streams::{self as use_case, NewStream, Patch, StreamError};
use crate::domain::input::CourseId;
use crate::domain::stream::{Settings, SettingsError, StreamCode};
use crate::store::streams::{self, Course, Registered, RegistryEntry, Unregistered};
use crate::web::AppState;
use crate::web::auth::{Access, Principal};
use crate::web::error::AppError;
use crate::web::extract::{Form, Path, Query};
use crate::web::routes::Routes;
use crate::web::words::Label;
use crate::web::words::pages as words;
use crate::web::words::suggested_display_name;

pub fn routes() -> Routes {
    Routes::default()
        .get("/settings/streams", Access::VIEWER, show)
        .post("/settings/streams", Access::EDITOR, create)
        .get("/settings/streams/{course_id}/{code}", Access::EDITOR, edit)
        .post(
            "/settings/streams/{course_id}/{code}",
            Access::EDITOR,
            update,
        )
        .post(
            "/settings/streams/{course_id}/{code}/adopt",
            Access::EDITOR,
            adopt_code,
        )
}

/// Outcome banners after a redirect, by a fixed code in the query string.
const NOTICES: &[(&str, &str)] = &[
    ("created", words::registry::NOTICE_CREATED),
    ("saved", words::registry::NOTICE_SAVED),
    ("adopted", words::registry::NOTICE_ADOPTED),
    ("intake_on", words::intake::NOTICE_ON),
    ("intake_off", words::intake::NOTICE_OFF),
];

fn notice(query: &NoticeQuery) -> Option<&'static str> {
    let code = query.notice.as_deref()?;
    NOTICES
        .iter()
        .find(|(known, _)| *known == code)
        .map(|(_, text)| *text)
}

#[derive(Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

/// What an editor typed into a stream form, kept to show it again on an error.
#[derive(Debug, Default, Deserialize)]
pub struct StreamForm {
    code: Option<String>,
    course_id: Option<String>,
    display_name: Option<String>,
    starts_on: Option<String>,
    capacity: Option<String>,
    /// A checkbox: present when ticked.
    is_current: Option<String>,
    archived: Option<String>,
    /// «Набор открыт с»: blank for the default; a form without the field
    /// leaves it as it is.
    enrolment_opens_on: Option<String>,
}

impl StreamForm {
    fn of(entry: &RegistryEntry) -> Self {
        Self {
            code: Some(entry.code.clone()),
            course_id: Some(entry.course_id.to_string()),
            display_name: Some(entry.display_name.clone()),
            starts_on: entry.starts_on.map(|date| date.to_string()),
            capacity: entry.capacity.map(|capacity| capacity.to_string()),
            is_current: entry.is_current.then(|| "on".to_owned()),
            archived: entry.archived.then(|| "on".to_owned()),
            enrolment_opens_on: Some(
                entry
                    .enrolment_opens_on
                    .map(|date| date.to_string())
                    .unwrap_or_default(),
            ),
        }
    }

    fn text(field: &Option<String>) -> &str {
        field.as_deref().unwrap_or_default()
    }

    fn code(&self) -> &str {
        Self::text(&self.code)
    }

    fn display_name(&self) -> &str {
        Self::text(&self.display_name)
    }

    fn starts_on(&self) -> &str {
        Self::text(&self.starts_on)
    }

    fn capacity(&self) -> &str {
        Self::text(&self.capacity)
    }

    fn enrolment_opens_on(&self) -> &str {
        Self::text(&self.enrolment_opens_on)
    }

    fn is_current(&self) -> bool {
        self.is_current.is_some()
    }

    fn archived(&self) -> bool {
        self.archived.is_some()
    }

    fn is_course(&self, id: &i32) -> bool {
        self.course_id.as_deref() == Some(id.to_string().as_str())
    }

    /// The editable fields as typed: every one of them, so the whole
    /// stream is written as the form shows it.
    fn patch(&self) -> Result<Patch, &'static str> {
        let starts_on = Settings::parse_date(self.starts_on()).map_err(|error| error.label())?;
        let capacity = Settings::parse_capacity(self.capacity()).map_err(|error| error.label())?;
        let enrolment_opens_on = match &self.enrolment_opens_on {
            None => None,
            Some(typed) => Some(
                Settings::parse_date(typed).map_err(|_| SettingsError::EnrolmentOpensOn.label())?,
            ),
        };
        Ok(Patch {
            display_name: Some(self.display_name().to_owned()),
            starts_on: Some(starts_on),
            capacity: Some(capacity),
            is_current: Some(self.is_current()),
            archived: Some(self.archived()),
            enrolment_opens_on,
        })
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "registry.html")]
struct RegistryPage {
    layout: Layout,
    streams: Vec<Registered>,
    /// Each stream's «набор открыт с» after the default, by index.
    opens: Vec<Option<NaiveDate>>,
    unregistered: Vec<Unregistered>,
    courses: Vec<Course>,
    /// Each course's intake routing rule.
    intake: Vec<super::intake::IntakeRow>,
    notice: Option<&'static str>,
    error: Option<String>,
    form: StreamForm,
    tz: Tz,
}

impl RegistryPage {
    fn at(&self, at: &DateTime<Utc>) -> String {
        super::local_time(self.tz, at)
    }

    fn date(date: &Option<NaiveDate>) -> String {
        date.map_or_else(
            || "—".to_owned(),
            |date| date.format("%d.%m.%Y").to_string(),
        )
    }

    /// The `index`-th stream's «набор открыт с», marked when it is the default.
    fn opens(&self, index: &usize) -> String {
        let explicit = self
            .streams
            .get(*index)
            .is_some_and(|row| row.entry.enrolment_opens_on.is_some());
        match self.opens.get(*index).copied().flatten() {
            None => "—".to_owned(),
            Some(day) if explicit => day.format("%d.%m.%Y").to_string(),
            Some(day) => words::registry::default_enrolment(&day.format("%d.%m.%Y").to_string()),
        }
    }

    fn suggested(code: &str) -> String {
        suggested_display_name(code)
    }

    /// Whether an unregistered code can be adopted as it is (it needs a
    /// course and a valid code).
    fn adoptable(row: &Unregistered) -> bool {
        row.course_id.is_some() && StreamCode::parse(&row.code).is_ok()
    }
}

async fn render(
    state: &AppState,
    principal: &Principal,
    notice: Option<&'static str>,
    error: Option<String>,
    form: StreamForm,
    status: StatusCode,
) -> Result<Response, AppError> {
    let streams = streams::registry(&state.pool).await?;
    let unregistered = streams::unregistered(&state.pool).await?;
    let courses = streams::courses(&state.pool).await?;
    let intake = super::intake::rows(state, principal).await?;
    let page = RegistryPage {
        layout: Layout::new("/settings/streams", principal),
        opens: use_case::effective_enrolment(&streams),
        streams,
        unregistered,
        courses,
        intake,
        notice,
        error,
        form,
        tz: state.config.school_timezone,
    };
    Ok((status, page).into_response())
}

/// `GET /settings/streams`.
#[tracing::instrument(skip_all)]
pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, AppError> {
    render(
        &state,
        &principal,
        notice(&query),
        None,
        StreamForm::default(),
        StatusCode::OK,
    )
    .await
}

fn redirect(location: String) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

/// A refused change as the message shown above the form; database faults
/// and a stream that is not there stay errors.
fn refusal(err: StreamError) -> Result<&'static str, AppError> {
    match err {
        StreamError::Invalid(err) => Ok(err.label()),
        StreamError::Exists => Ok(words::registry::STREAM_EXISTS),
        StreamError::UnknownCourse => Ok(words::registry::COURSE_REQUIRED),
        StreamError::CurrentTaken => Ok(words::registry::CURRENT_TAKEN),
        StreamError::NothingToChange => Ok(words::registry::NOTHING_TO_CHANGE),
        StreamError::NotFound | StreamError::NotInBookings | StreamError::Ambiguous(_) => {
            Err(not_found())
        }
        StreamError::NotInCourse(_) | StreamError::NoCourse | StreamError::SeveralCourses(_) => {
            Ok(words::registry::COURSE_OF_BOOKINGS)
        }
        StreamError::Db(err) => Err(err.into()),
    }
}

fn not_found() -> AppError {
    AppError::NotFound(words::registry::STREAM_NOT_FOUND.into())
}

/// `POST /settings/streams`: adds a stream.
#[tracing::instrument(skip_all)]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Form(form): Form<StreamForm>,
) -> Result<Response, AppError> {
    let parsed = StreamCode::parse(form.code().trim())
        .map_err(|_| words::registry::BAD_CODE)
        .and_then(|code| {
            let course_id = StreamForm::text(&form.course_id)
                .parse::<i32>()
                .map_err(|_| words::registry::COURSE_REQUIRED)?;
            let patch = form.patch()?;
            let display_name = patch
                .display_name
                .unwrap_or_else(|| suggested_display_name(code.as_str()));
            Ok(NewStream {
                code,
                course_id,
                display_name,
                starts_on: patch.starts_on.flatten(),
                capacity: patch.capacity.flatten(),
                is_current: form.is_current(),
                archived: form.archived(),
                enrolment_opens_on: patch.enrolment_opens_on.flatten(),
            })
        });
    let outcome = match parsed {
        Ok(new) => match use_case::create(&state.context(&principal), new).await {
            Ok(_) => Ok(()),
            Err(err) => Err(refusal(err)?),
        },
        Err(message) => Err(message),
    };
    match outcome {
        Ok(()) => Ok(redirect("/settings/streams?notice=created".into())),
        Err(message) => {
            render(
                &state,
                &principal,
                None,
                Some(message.to_owned()),
                form,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "registry_edit.html")]
pub struct EditPage {
    layout: Layout,
    entry: RegistryEntry,
    course_name: String,
    notice: Option<&'static str>,
    error: Option<&'static str>,
    form: StreamForm,
}

async fn registered(
    state: &AppState,
    (course_id, raw): &(CourseId, String),
) -> Result<(RegistryEntry, String), AppError> {
    let code = StreamCode::parse(raw).map_err(|_| not_found())?;
    let entry = streams::entry(&state.pool, course_id.get(), code.as_str())
        .await?
        .ok_or_else(not_found)?;
    let course_name = streams::courses(&state.pool)
        .await?
        .into_iter()
        .find(|course| course.id == entry.course_id)
        .map_or_else(|| entry.course_id.to_string(), |course| course.name);
    Ok((entry, course_name))
}

/// `GET /settings/streams/{course_id}/{code}`: the edit form.
#[tracing::instrument(skip_all)]
pub async fn edit(
    State(state): State<AppState>,
    principal: Principal,
    Path(stream): Path<(CourseId, String)>,
    Query(query): Query<NoticeQuery>,
) -> Result<EditPage, AppError> {
    let (entry, course_name) = registered(&state, &stream).await?;
    Ok(EditPage {
        layout: Layout::new("/settings/streams", &principal),
        form: StreamForm::of(&entry),
        entry,
        course_name,
        notice: notice(&query),
        error: None,
    })
}

/// `POST /settings/streams/{course_id}/{code}`: saves the edit form.
#[tracing::instrument(skip_all)]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path(stream): Path<(CourseId, String)>,
    Form(form): Form<StreamForm>,
) -> Result<Response, AppError> {
    let (entry, course_name) = registered(&state, &stream).await?;
    let outcome = match form.patch() {
        Ok(patch) => {
            let code = StreamCode::parse(&entry.code).map_err(|_| not_found())?;
            match use_case::update(&state.context(&principal), entry.course_id, &code, patch).await
            {
                Ok(_) => Ok(()),
                Err(err) => Err(refusal(err)?),
            }
        }
        Err(message) => Err(message),
    };
    match outcome {
        Ok(()) => Ok(redirect("/settings/streams?notice=saved".into())),
        Err(message) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            EditPage {
                layout: Layout::new("/settings/streams", &principal),
                entry,
                course_name,
                notice: None,
                error: Some(message),
                form,
            },
        )
            .into_response()),
    }
}

/// The adoption form carries nothing but its CSRF token.
#[derive(Deserialize)]
pub struct AdoptForm {}

/// `POST /settings/streams/{course_id}/{code}/adopt`: one-click adoption of
/// a code found in the course's bookings; opens the edit form to set the
/// date.
#[tracing::instrument(skip_all)]
pub async fn adopt_code(
    State(state): State<AppState>,
    principal: Principal,
    Path((course_id, raw)): Path<(CourseId, String)>,
    Form(AdoptForm {}): Form<AdoptForm>,
) -> Result<Response, AppError> {
    let code = StreamCode::parse(&raw)
        .map_err(|_| AppError::BadRequest(words::registry::BAD_CODE.into()))?;
    let adopted = use_case::adopt(
        &state.context(&principal),
        &code,
        Some(course_id.get()),
        &suggested_display_name(code.as_str()),
    )
    .await;
    match adopted {
        Ok(entry) => Ok(redirect(format!(
            "/settings/streams/{}/{}?notice=adopted",
            entry.course_id, entry.code
        ))),
        Err(StreamError::Exists) => Err(AppError::Conflict(words::registry::STREAM_EXISTS.into())),
        Err(err) => Err(AppError::BadRequest(refusal(err)?.to_owned())),
    }
}
