//! `/users.csv`: the `/users` list with its filters, all pages.

use axum::extract::State;
use chrono::{DateTime, Utc};

use super::{PageNumber, checked, refused};
use crate::app::users::{self as use_case, Filters};
use crate::web::AppState;
use crate::web::csv::Csv;
use crate::web::error::AppError;
use crate::web::extract::FormQuery;
use crate::web::pages::local_time;
use crate::web::words::Label;
use crate::web::words::pages as words;

/// `GET /users.csv[?search=…][&stream=…][&status=…][&sort=id]`: every
/// matching user, dates in the school's zone.
#[tracing::instrument(skip_all)]
pub async fn csv(
    State(state): State<AppState>,
    filters: Result<FormQuery<Filters>, AppError>,
    page: Result<FormQuery<PageNumber>, AppError>,
) -> Result<Csv, AppError> {
    let (list, _) = checked(filters, page)?;
    let rows = use_case::export(&state.pool, &list)
        .await
        .map_err(refused)?;
    let tz = state.config.school_timezone;
    let when = |at: Option<&DateTime<Utc>>| at.map(|at| local_time(tz, at)).unwrap_or_default();
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    let mut csv = Csv::new("users.csv", words::csv::USERS);
    for row in rows {
        csv.row([
            row.user_id.to_string(),
            text(&row.username),
            text(&row.first_name),
            text(&row.last_name),
            text(&row.latest_stream_name),
            row.latest_status()
                .map(|status| status.label().to_owned())
                .unwrap_or_default(),
            row.total_bookings.to_string(),
            row.total_events.to_string(),
            row.total_free_lessons.to_string(),
            when(row.first_seen.as_ref()),
            when(row.last_activity.as_ref()),
        ]);
    }
    Ok(csv)
}
