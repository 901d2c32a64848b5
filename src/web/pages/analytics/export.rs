//! `/analytics/leads.csv`: every lead of the page's range and tier filter.

use axum::extract::State;

use super::{Filters, PageNumber, Request, refused};
use crate::app::analytics::{self as use_case, today};
use crate::web::AppState;
use crate::web::csv::Csv;
use crate::web::error::AppError;
use crate::web::extract::FormQuery;
use crate::web::words::Label;
use crate::web::words::analytics::lesson_label;
use crate::web::words::pages as words;

/// `GET /analytics/leads.csv[?days=N | ?from=…&to=…][&tier=…]`.
#[tracing::instrument(skip_all)]
pub async fn csv(
    State(state): State<AppState>,
    FormQuery(filters): FormQuery<Filters>,
    page: Result<FormQuery<PageNumber>, AppError>,
) -> Result<Csv, AppError> {
    let tz = state.config.school_timezone;
    let request = Request::parse(filters, page, today(tz))?;
    let (week, rows) = use_case::leads(&state.pool, tz, &request.range, request.tier)
        .await
        .map_err(refused)?;
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    let mut csv = Csv::new(
        &format!("leads-{}-{}.csv", week.from(), week.to()),
        words::csv::LEADS,
    );
    for lead in rows {
        let lessons = lead
            .lesson_types
            .iter()
            .map(|t| lesson_label(t).unwrap_or(t))
            .collect::<Vec<_>>()
            .join(", ");
        csv.row([
            lead.score.user_id.to_string(),
            text(&lead.username),
            text(&lead.first_name),
            text(&lead.last_name),
            text(&lead.email),
            lessons,
            lead.tier().label().to_owned(),
            lead.score.events.to_string(),
            lead.score.active_days.to_string(),
            lead.score
                .last_day
                .map(|day| day.format("%d.%m.%Y").to_string())
                .unwrap_or_default(),
        ]);
    }
    Ok(csv)
}
