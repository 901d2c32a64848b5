//! `/analytics/leads.csv`: every lead of the page's range and tier filter.

use axum::extract::{RawQuery, State};

use super::Request;
use crate::store::analytics_cache;
use crate::store::leads::{self, Window};
use crate::web::AppState;
use crate::web::api::analytics::today;
use crate::web::csv::Csv;
use crate::web::error::AppError;
use crate::web::words::Label;
use crate::web::words::analytics::lesson_label;

/// `GET /analytics/leads.csv[?days=N | ?from=…&to=…][&tier=…]`.
pub async fn csv(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Csv, AppError> {
    let tz = state.config.school_timezone;
    let request = Request::parse(query.as_deref(), today(tz))?;
    let week = request.range.lead_window();
    let window = Window::new(&week, tz);
    analytics_cache::refresh(&state.pool, tz).await?;
    let board = leads::board(&state.pool, &window).await?;
    let rows = leads::list(&state.pool, &board, request.tier, None, 0).await?;
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    let mut csv = Csv::new(
        &format!("leads-{}-{}.csv", week.from(), week.to()),
        &[
            "ID пользователя",
            "Ник в Telegram",
            "Имя",
            "Фамилия",
            "E-mail",
            "Уроки",
            "Уровень",
            "Событий за неделю",
            "Активных дней",
            "Последний активный день",
        ],
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
