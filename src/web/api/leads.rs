//! `/api/leads`: free-lesson registrants scored over a week of school days
//! (docs/analytics.md, «Leads»).

use axum::extract::State;
use chrono::NaiveDate;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use super::ErrorJson;
use crate::app::analytics::today;
use crate::domain::analytics::{DateRange, LEAD_WINDOW_DAYS, Tier, parse_date};
use crate::domain::input::{Bounded, Offset};
use crate::store::analytics_cache;
use crate::store::leads::{self, Lead, TierCounts, Window};
use crate::web::AppState;
use crate::web::error::AppError;
use crate::web::extract::{Json, Query};

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LeadJson {
    user_id: i64,
    username: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    /// From their newest registration.
    email: Option<String>,
    lesson_types: Vec<String>,
    /// Events in the window, of every type.
    events: i64,
    /// School days in the window with at least one event.
    active_days: i64,
    last_active_day: Option<NaiveDate>,
    /// hot | warm | cool | cold
    tier: &'static str,
}

impl From<Lead> for LeadJson {
    fn from(lead: Lead) -> Self {
        Self {
            tier: lead.tier().api_name(),
            user_id: lead.score.user_id,
            username: lead.username,
            first_name: lead.first_name,
            last_name: lead.last_name,
            email: lead.email,
            lesson_types: lead.lesson_types,
            events: lead.score.events,
            active_days: lead.score.active_days,
            last_active_day: lead.score.last_day,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TierCountsJson {
    hot: i64,
    warm: i64,
    cool: i64,
    cold: i64,
    /// Every registrant.
    total: i64,
}

impl From<TierCounts> for TierCountsJson {
    fn from(c: TierCounts) -> Self {
        Self {
            hot: c.hot,
            warm: c.warm,
            cool: c.cool,
            cold: c.cold,
            total: c.total(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LeadsJson {
    /// The week scored: seven school days ending on `windowTo`.
    window_from: NaiveDate,
    window_to: NaiveDate,
    counts: TierCountsJson,
    /// Leads matching `tier` (all pages).
    total: i64,
    limit: i64,
    offset: i64,
    leads: Vec<LeadJson>,
}

/// A tier as a filter: hot, warm, cool or cold.
#[derive(Debug, Clone, Copy)]
pub struct TierParam(Tier);

impl<'de> Deserialize<'de> for TierParam {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Tier::parse(&raw)
            .map(Self)
            .ok_or_else(|| de::Error::custom("must be one of hot, warm, cool, cold"))
    }
}

impl PartialSchema for TierParam {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::String))
            .enum_values(Some(Tier::ALL.map(Tier::api_name)))
            .into()
    }
}

impl ToSchema for TierParam {}

/// The query of `/api/leads`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LeadsQuery {
    /// Only this tier (default: all).
    #[param(inline)]
    tier: Option<TierParam>,
    /// `YYYY-MM-DD`: the week's last school day, not after today (default today).
    #[param(format = Date)]
    to: Option<String>,
    /// 1..=500, default 50.
    #[param(inline)]
    limit: Option<Bounded<1, 500>>,
    /// Default 0.
    #[param(inline)]
    offset: Option<Offset>,
}

/// Free-lesson registrants scored by their events over a week, one per
/// person, hottest first.
#[utoipa::path(get, path = "/api/leads", tag = "analytics",
    params(LeadsQuery),
    responses((status = 200, body = LeadsJson),
              (status = 400, body = ErrorJson, description = "A bad parameter, named in the message")))]
#[tracing::instrument(skip_all)]
pub async fn list_leads(
    State(state): State<AppState>,
    Query(query): Query<LeadsQuery>,
) -> Result<Json<LeadsJson>, AppError> {
    let tz = state.config.school_timezone;
    let tier = query.tier.map(|tier| tier.0);
    let today = today(tz);
    let to = match query.to.as_deref() {
        None => today,
        Some(raw) => parse_date(raw).filter(|day| *day <= today).ok_or_else(|| {
            AppError::BadRequest("to must be a date (YYYY-MM-DD), not after today".into())
        })?,
    };
    let limit = query.limit.map_or(50, Bounded::get);
    let offset = query.offset.map_or(0, |offset| offset.0);
    let week = DateRange::last_days(to, LEAD_WINDOW_DAYS).expect("a week is a valid range");
    let window = Window::new(&week, tz);
    analytics_cache::refresh(&state.pool, tz).await?;
    let board = leads::board(&state.pool, &window).await?;
    let rows = leads::list(&state.pool, &board, tier, Some(limit), offset).await?;
    let counts = board.counts;
    Ok(Json(LeadsJson {
        window_from: week.from(),
        window_to: week.to(),
        total: tier.map_or(counts.total(), |tier| counts.get(tier)),
        counts: counts.into(),
        limit,
        offset,
        leads: rows.into_iter().map(LeadJson::from).collect(),
    }))
}
