//! `/workshops/{course_id}/{code}/students.csv`: the stream page's rows, all
//! pages, as a CSV download.

use axum::extract::State;
use chrono::{DateTime, Utc};

use super::{QueryResult, Request, View};
use crate::domain::input::CourseId;
use crate::store::students;
use crate::web::AppState;
use crate::web::csv::Csv;
use crate::web::error::AppError;
use crate::web::extract::Path;
use crate::web::pages::local_time;
use crate::web::words::Label;
use crate::web::words::pages as words;

/// `GET /workshops/{course_id}/{code}/students.csv[?status=…]`: every row
/// of the view, dates in the school's zone.
#[tracing::instrument(skip_all)]
pub async fn csv(
    State(state): State<AppState>,
    Path(stream): Path<(CourseId, String)>,
    query: QueryResult,
) -> Result<Csv, AppError> {
    let request = Request::parse(&state, &stream, query).await?;
    let tz = state.config.school_timezone;
    let when = |at: Option<&DateTime<Utc>>| at.map(|at| local_time(tz, at)).unwrap_or_default();
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    let stream = &request.stream;
    let filename = match request.view {
        View::Stale(days) => format!(
            "stream-{}-{}-pending-{days}d.csv",
            stream.course_id, stream.code
        ),
        view => format!(
            "stream-{}-{}-{}.csv",
            stream.course_id,
            stream.code,
            view.param().unwrap_or("all")
        ),
    };
    let csv = match request.view {
        View::Students(_) | View::Stale(_) => {
            let rows = match request.view {
                View::Stale(days) => {
                    students::stale_pending(
                        &state.pool,
                        stream.course_id,
                        &stream.code,
                        days,
                        None,
                        0,
                    )
                    .await?
                }
                View::Students(status) => {
                    students::students(&state.pool, stream.course_id, &stream.code, status, None, 0)
                        .await?
                }
                View::Viewers => Vec::new(),
            };
            let mut csv = Csv::new(&filename, words::csv::STREAM_STUDENTS);
            for row in rows {
                csv.row([
                    row.user_id.to_string(),
                    text(&row.username),
                    text(&row.first_name),
                    text(&row.last_name),
                    row.status().label().to_owned(),
                    when(row.booked_at.as_ref()),
                    row.booking_id.to_string(),
                    when(row.last_activity.as_ref()),
                    row.events.to_string(),
                ]);
            }
            csv
        }
        View::Viewers => {
            let rows = match request.viewer_query() {
                Some(query) => students::viewers(&state.pool, query, None, 0).await?,
                None => Vec::new(),
            };
            let mut csv = Csv::new(&filename, words::csv::STREAM_VIEWERS);
            for row in rows {
                csv.row([
                    row.user_id.to_string(),
                    text(&row.username),
                    text(&row.first_name),
                    text(&row.last_name),
                    when(Some(&row.first_view)),
                    when(Some(&row.last_view)),
                    row.views.to_string(),
                    when(row.last_activity.as_ref()),
                    row.events.to_string(),
                ]);
            }
            csv
        }
    };
    Ok(csv)
}
