//! `/api/stats`, `/api/user-growth` and `/api/events`: the numbers of
//! `docs/analytics.md`. Ranges are `days` (1..=365, the days
//! ending today) or `from` and `to` (`YYYY-MM-DD`, school days, at most 365,
//! not past today); dates in responses are school days.

use axum::extract::{RawQuery, State};
use chrono::{NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use utoipa::ToSchema;

use super::params::Params;
use crate::domain::analytics::{DateRange, average, percent};
use crate::domain::time::rfc3339;
use crate::store::{analytics, analytics_cache};
use crate::web::AppState;
use crate::web::error::AppError;
use crate::web::extract::Json;
use crate::web::words::analytics::event_label;

/// Today in the school's zone.
pub fn today(tz: Tz) -> NaiveDate {
    Utc::now().with_timezone(&tz).date_naive()
}

/// `days`, or `from` and `to`; 30 days when none is given.
pub fn range(params: &Params, tz: Tz) -> Result<DateRange, AppError> {
    DateRange::parse(
        params.raw("days"),
        params.raw("from"),
        params.raw("to"),
        today(tz),
        30,
    )
    .map_err(|err| AppError::BadRequest(err.to_string()))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatsJson {
    /// Distinct people across `users` and every bot table.
    total_users: i64,
    /// Bookings whose status is neither -1 nor null.
    active_bookings: i64,
    /// Bookings with status 2.
    confirmed_payments: i64,
    /// Free-lesson registrations (rows).
    free_lesson_registrations: i64,
    /// Distinct people with a free-lesson registration.
    free_lesson_registrants: i64,
}

/// The headline numbers.
#[utoipa::path(get, path = "/api/stats", tag = "analytics",
    responses((status = 200, body = StatsJson)))]
pub async fn stats(State(state): State<AppState>) -> Result<Json<StatsJson>, AppError> {
    analytics_cache::refresh(&state.pool, state.config.school_timezone).await?;
    let h = analytics::headline(&state.pool).await?;
    Ok(Json(StatsJson {
        total_users: h.total_users,
        active_bookings: h.active_bookings,
        confirmed_payments: h.confirmed_payments,
        free_lesson_registrations: h.free_lesson_registrations,
        free_lesson_registrants: h.free_lesson_registrants,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GrowthPoint {
    /// School day, `YYYY-MM-DD`.
    date: NaiveDate,
    /// People whose first appearance anywhere falls on this day.
    new_users: i64,
    /// People who had appeared by the end of this day.
    total_users: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GrowthJson {
    from: NaiveDate,
    to: NaiveDate,
    days: i64,
    new_users: i64,
    /// New users ÷ days in the range, one decimal.
    average_per_day: f64,
    points: Vec<GrowthPoint>,
}

/// New users per day and cumulative users.
#[utoipa::path(get, path = "/api/user-growth", tag = "analytics",
    params(
        ("days" = Option<i64>, Query, description = "1..=365: the days ending today (default 30)"),
        ("from" = Option<String>, Query, description = "YYYY-MM-DD, with `to` instead of `days`"),
        ("to" = Option<String>, Query, description = "YYYY-MM-DD, not after today"),
    ),
    responses((status = 200, body = GrowthJson),
              (status = 400, description = "{\"error\":\"…\"} naming the bad parameter")))]
pub async fn user_growth(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<GrowthJson>, AppError> {
    let tz = state.config.school_timezone;
    let range = range(&Params::parse(query.as_deref()), tz)?;
    analytics_cache::refresh(&state.pool, tz).await?;
    let growth = analytics::growth(&state.pool, &range).await?;
    let new_users = growth.new_users.total();
    Ok(Json(GrowthJson {
        from: range.from(),
        to: range.to(),
        days: range.days(),
        new_users,
        average_per_day: average(new_users, range.days()),
        points: growth
            .new_users
            .points
            .iter()
            .zip(&growth.cumulative.points)
            .map(|(&(date, new_users), &(_, total_users))| GrowthPoint {
                date,
                new_users,
                total_users,
            })
            .collect(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DayCount {
    date: NaiveDate,
    count: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TypeJson {
    event_type: String,
    /// In Russian, when the type is one the bot is known to write.
    label: Option<&'static str>,
    count: i64,
    /// Of all events in the same range, one decimal.
    percentage: f64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecentJson {
    id: i32,
    user_id: i64,
    username: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    event_type: String,
    label: Option<&'static str>,
    details: Option<serde_json::Value>,
    created_at: String,
}

/// `type=daily` has `points`, `top` has `types`, `recent` has `events`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventsJson {
    r#type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    to: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    days: Option<i64>,
    /// Every event in the range.
    #[serde(skip_serializing_if = "Option::is_none")]
    total: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    average_per_day: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    points: Option<Vec<DayCount>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    types: Option<Vec<TypeJson>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    events: Option<Vec<RecentJson>>,
}

/// Events per day, the top event types of a range, or the recent activity
/// feed (newest events, at most two per person).
#[utoipa::path(get, path = "/api/events", tag = "analytics",
    params(
        ("type" = String, Query, description = "daily | top | recent"),
        ("days" = Option<i64>, Query, description = "daily, top: 1..=365 days ending today (default 30)"),
        ("from" = Option<String>, Query, description = "daily, top: YYYY-MM-DD, with `to`"),
        ("to" = Option<String>, Query, description = "daily, top: YYYY-MM-DD, not after today"),
        ("limit" = Option<i64>, Query, description = "top: 1..=100 types (default 10); recent: 1..=100 events (default 20)"),
    ),
    responses((status = 200, body = EventsJson),
              (status = 400, description = "{\"error\":\"…\"} naming the bad parameter")))]
pub async fn events(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<EventsJson>, AppError> {
    let tz = state.config.school_timezone;
    let params = Params::parse(query.as_deref());
    let kind = params.raw("type");
    let limit_message = "limit must be an integer between 1 and 100";
    let mut out = EventsJson {
        r#type: "",
        from: None,
        to: None,
        days: None,
        total: None,
        average_per_day: None,
        points: None,
        types: None,
        events: None,
    };
    match kind {
        Some("recent") => {
            let limit = params.int("limit", 1..=100, limit_message)?.unwrap_or(20);
            let rows = analytics::recent_activity(&state.pool, limit).await?;
            out.r#type = "recent";
            out.events = Some(rows.into_iter().map(recent_json).collect());
        }
        Some(kind @ ("daily" | "top")) => {
            let range = range(&params, tz)?;
            let limit = params.int("limit", 1..=100, limit_message)?.unwrap_or(10);
            analytics_cache::refresh(&state.pool, tz).await?;
            out.from = Some(range.from());
            out.to = Some(range.to());
            out.days = Some(range.days());
            if kind == "daily" {
                let daily = analytics::events_per_day(&state.pool, &range).await?;
                out.r#type = "daily";
                out.total = Some(daily.total());
                out.average_per_day = Some(average(daily.total(), range.days()));
                out.points = Some(
                    daily
                        .points
                        .into_iter()
                        .map(|(date, count)| DayCount { date, count })
                        .collect(),
                );
            } else {
                let types = analytics::event_types(&state.pool, &range).await?;
                let total: i64 = types.iter().map(|t| t.events).sum();
                out.r#type = "top";
                out.total = Some(total);
                out.types = Some(
                    types
                        .into_iter()
                        .take(limit as usize)
                        .map(|t| TypeJson {
                            label: event_label(&t.event_type),
                            percentage: percent(t.events, total),
                            count: t.events,
                            event_type: t.event_type,
                        })
                        .collect(),
                );
            }
        }
        _ => {
            return Err(AppError::BadRequest(
                "type must be one of daily, top, recent".into(),
            ));
        }
    }
    Ok(Json(out))
}

fn recent_json(row: analytics::RecentEvent) -> RecentJson {
    RecentJson {
        id: row.id,
        user_id: row.user_id,
        username: row.username,
        first_name: row.first_name,
        last_name: row.last_name,
        label: event_label(&row.event_type),
        event_type: row.event_type,
        details: row.details,
        created_at: rfc3339(row.created_at),
    }
}
