//! `/api/stats`, `/api/user-growth` and `/api/events`: the numbers of
//! `docs/analytics.md`. Ranges are `days` (1..=365, the days
//! ending today) or `from` and `to` (`YYYY-MM-DD`, school days, at most 365,
//! not past today); dates in responses are school days.

use axum::extract::State;
use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use super::ErrorJson;
use crate::app::analytics::{self as use_case, AnalyticsError, RangeQuery};
use crate::domain::analytics::{DateRange, average, percent};
use crate::domain::input::Bounded;
use crate::domain::time::rfc3339;
use crate::store::analytics;
use crate::web::AppState;
use crate::web::error::AppError;
use crate::web::extract::{Json, Query};
use crate::web::words::analytics::event_label;

/// Kept here for the API modules that import it from this one.
use crate::app::analytics::today;

impl From<AnalyticsError> for AppError {
    fn from(err: AnalyticsError) -> Self {
        match err {
            AnalyticsError::Range(err) => Self::BadRequest(err.to_string()),
            AnalyticsError::Db(err) => err.into(),
        }
    }
}

/// The range of `query` as of the school's today.
fn range(query: &RangeQuery, state: &AppState) -> Result<DateRange, AppError> {
    let today = today(state.config.school_timezone);
    query
        .range(today)
        .map_err(|err| AnalyticsError::Range(err).into())
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
#[tracing::instrument(skip_all)]
pub async fn stats(State(state): State<AppState>) -> Result<Json<StatsJson>, AppError> {
    let h = use_case::headline(&state.pool, state.config.school_timezone).await?;
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
    params(RangeQuery),
    responses((status = 200, body = GrowthJson),
              (status = 400, body = ErrorJson, description = "A bad range, the parameter named")))]
#[tracing::instrument(skip_all)]
pub async fn user_growth(
    State(state): State<AppState>,
    Query(query): Query<RangeQuery>,
) -> Result<Json<GrowthJson>, AppError> {
    let range = range(&query, &state)?;
    let growth = use_case::growth(&state.pool, state.config.school_timezone, &range).await?;
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
    #[schema(schema_with = EventsKind::schema)]
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

/// `type` of `/api/events`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventsKind {
    Daily,
    Top,
    Recent,
}

impl<'de> Deserialize<'de> for EventsKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match String::deserialize(deserializer)?.as_str() {
            "daily" => Ok(Self::Daily),
            "top" => Ok(Self::Top),
            "recent" => Ok(Self::Recent),
            _ => Err(serde::de::Error::custom(KIND_MESSAGE)),
        }
    }
}

const KIND_MESSAGE: &str = "must be one of daily, top, recent";

impl PartialSchema for EventsKind {
    fn schema() -> RefOr<Schema> {
        Schema::Object(
            ObjectBuilder::new()
                .schema_type(SchemaType::new(Type::String))
                .enum_values(Some(["daily", "top", "recent"]))
                .build(),
        )
        .into()
    }
}

impl ToSchema for EventsKind {}

/// A parameter read now and judged later, so the checks keep their order
/// (the type, then the range, then the limit) whatever order the query
/// string has: the value, or what it must be.
#[derive(Debug, Clone)]
pub struct Later<T>(Result<T, String>);

impl<T> Later<T> {
    fn get(self, name: &str) -> Result<T, AppError> {
        self.0
            .map_err(|message| AppError::BadRequest(format!("{name} {message}")))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Later<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self(
            T::deserialize(deserializer).map_err(|err| err.to_string()),
        ))
    }
}

impl<T: PartialSchema> PartialSchema for Later<T> {
    fn schema() -> RefOr<Schema> {
        T::schema()
    }
}

impl<T: ToSchema> ToSchema for Later<T> {}

/// `/api/events`: what to count, over which range, how many.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// `daily` (events per day), `top` (event types) or `recent` (the
    /// activity feed).
    #[serde(rename = "type")]
    #[param(inline, required = true)]
    kind: Option<KindParam>,
    /// daily, top: the days ending today (default 30).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 365)]
    days: Option<String>,
    /// daily, top: first school day, `YYYY-MM-DD`, with `to`.
    #[param(value_type = Option<NaiveDate>, format = Date)]
    from: Option<String>,
    /// daily, top: last school day, `YYYY-MM-DD`, not after today.
    #[param(value_type = Option<NaiveDate>, format = Date)]
    to: Option<String>,
    /// top: types (default 10); recent: events (default 20).
    #[param(inline)]
    limit: Option<LimitParam>,
}

/// Aliases: the OpenAPI derive reads a generic argument as a type.
type KindParam = Later<EventsKind>;
type LimitParam = Later<Bounded<1, 100>>;

impl EventsQuery {
    fn limit(self, default: i64) -> Result<i64, AppError> {
        self.limit
            .map(|limit| limit.get("limit"))
            .transpose()
            .map(|limit| limit.map_or(default, Bounded::get))
    }
}

/// Events per day, the top event types of a range, or the recent activity
/// feed (newest events, at most two per person).
#[utoipa::path(get, path = "/api/events", tag = "analytics",
    params(EventsQuery),
    responses((status = 200, body = EventsJson),
              (status = 400, body = ErrorJson, description = "A bad parameter, named")))]
#[tracing::instrument(skip_all)]
pub async fn events(
    State(state): State<AppState>,
    Query(query): Query<EventsQuery>,
) -> Result<Json<EventsJson>, AppError> {
    let tz = state.config.school_timezone;
    let kind = match query.kind.clone() {
        Some(kind) => kind.get("type")?,
        None => return Err(AppError::BadRequest(format!("type {KIND_MESSAGE}"))),
    };
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
    if kind == EventsKind::Recent {
        let limit = query.limit(20)?;
        let rows = use_case::recent(&state.pool, limit).await?;
        out.r#type = "recent";
        out.events = Some(rows.into_iter().map(recent_json).collect());
        return Ok(Json(out));
    }
    let range = range(
        &RangeQuery {
            days: query.days.clone(),
            from: query.from.clone(),
            to: query.to.clone(),
        },
        &state,
    )?;
    let limit = query.limit(10)?;
    out.from = Some(range.from());
    out.to = Some(range.to());
    out.days = Some(range.days());
    if kind == EventsKind::Daily {
        let daily = use_case::events_per_day(&state.pool, tz, &range).await?;
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
        let types = use_case::event_types(&state.pool, tz, &range).await?;
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
