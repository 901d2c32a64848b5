//! `/workshops/stream/{code}`: the stream page's address from before a
//! stream belonged to a course. A code only one course has redirects to
//! that course's stream page (the query kept); a code several courses have
//! answers 300 with a link to each.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use super::stream_path;
use crate::domain::stream::StreamCode;
use crate::store::streams::{self, Course};
use crate::web::AppState;
use crate::web::auth::Principal;
use crate::web::error::AppError;
use crate::web::extract::Path;
use crate::web::pages::Layout;
use crate::web::words::Label;
use crate::web::words::pages as words;

/// The choice when several courses have the code.
#[derive(Template, WebTemplate)]
#[template(path = "stream_choice.html")]
pub struct ChoicePage {
    layout: Layout,
    code: String,
    /// (course, the stream page's address in it).
    choices: Vec<(Course, String)>,
}

/// `GET /workshops/stream/{code}`.
#[tracing::instrument(skip_all)]
pub async fn page(
    State(state): State<AppState>,
    principal: Principal,
    Path(code): Path<String>,
    uri: Uri,
) -> Result<Response, AppError> {
    redirect(&state, &principal, &code, "", uri.query()).await
}

/// `GET /workshops/stream/{code}/students.csv`.
#[tracing::instrument(skip_all)]
pub async fn csv(
    State(state): State<AppState>,
    principal: Principal,
    Path(code): Path<String>,
    uri: Uri,
) -> Result<Response, AppError> {
    redirect(&state, &principal, &code, "/students.csv", uri.query()).await
}

async fn redirect(
    state: &AppState,
    principal: &Principal,
    raw_code: &str,
    suffix: &str,
    query: Option<&str>,
) -> Result<Response, AppError> {
    let code = StreamCode::parse(raw_code)
        .map_err(|_| AppError::BadRequest(words::stream::BAD_STREAM_CODE.to_owned()))?;
    let courses = streams::courses_with_code(&state.pool, code.as_str()).await?;
    let address = |course_id: i32| {
        let path = format!("{}{suffix}", stream_path(course_id, code.as_str()));
        match query {
            Some(query) if !query.is_empty() => format!("{path}?{query}"),
            _ => path,
        }
    };
    match courses.as_slice() {
        [] => Err(AppError::NotFound(
            words::stream::STREAM_NOT_FOUND.to_owned(),
        )),
        [course_id] => Ok((
            StatusCode::PERMANENT_REDIRECT,
            [(header::LOCATION, address(*course_id))],
        )
            .into_response()),
        several => {
            let known = streams::courses(&state.pool).await?;
            let choices = several
                .iter()
                .map(|id| {
                    let course = known
                        .iter()
                        .find(|course| course.id == *id)
                        .cloned()
                        .unwrap_or_else(|| Course {
                            id: *id,
                            name: id.to_string(),
                        });
                    (course, address(*id))
                })
                .collect();
            let page = ChoicePage {
                layout: Layout::new("/workshops", principal),
                code: code.into_string(),
                choices,
            };
            Ok((StatusCode::MULTIPLE_CHOICES, page).into_response())
        }
    }
}
