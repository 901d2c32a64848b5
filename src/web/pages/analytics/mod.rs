//! `/analytics`: one date range (the 7, 30 or 90 days ending today, or any
//! `from`–`to` of at most 365 days) drives every card: new users, bookings
//! and events per day with averages over the range's days, user growth, top
//! event types, free-lesson conversion by lesson type, and the leads scored
//! over the range's last week, with a tier filter, pages and
//! `/analytics/leads.csv` ([`export`]).

pub mod export;
mod request;

pub use request::{Filters, PageNumber, Request, refused};

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use chrono::NaiveDate;

use super::Layout;
use crate::app::analytics::{LeadPage, Overview, today};
use crate::domain::analytics::{DateRange, PRESETS, Tier, average, percent};
use crate::store::free_lessons::LessonType;
use crate::store::leads::Lead;
use crate::web::AppState;
use crate::web::auth::Principal;
use crate::web::charts::{Chart, grouped};
use crate::web::error::AppError;
use crate::web::extract::FormQuery;
use crate::web::words::analytics::{event_label, lesson_label};
use crate::web::words::pages as words;
use crate::web::words::{Badge, Label};

/// Leads per page.
pub const PAGE_SIZE: i64 = 50;
const MAX_PAGE: i64 = 1_000_000;

/// A number card: total over the range and the average per day.
pub struct Summary {
    pub label: &'static str,
    pub total: i64,
    pub average: f64,
}

/// A tab of the lead list's tier filter.
pub struct TierTab {
    pub label: &'static str,
    /// `None` for «all».
    pub tier: Option<&'static str>,
    pub count: String,
    pub href: String,
    pub current: bool,
}

/// A lesson type's row of the conversion table.
pub struct Conversion {
    pub row: LessonType,
    pub label: String,
    pub percent: f64,
}

#[derive(Template, WebTemplate)]
#[template(path = "analytics.html")]
pub struct AnalyticsPage {
    layout: Layout,
    request: Request,
    /// `dd.mm.yyyy – dd.mm.yyyy`.
    period: String,
    from: String,
    to: String,
    today: String,
    presets: [i64; 3],
    summaries: Vec<Summary>,
    charts: Vec<Chart>,
    types_chart: Chart,
    conversion: Vec<Conversion>,
    week: String,
    tabs: Vec<TierTab>,
    leads: Vec<Lead>,
    total: i64,
    page: i64,
    pages: i64,
}

impl AnalyticsPage {
    fn is_preset(&self, days: &i64) -> bool {
        self.request.preset && self.request.range.days() == *days
    }

    fn preset_href(days: &i64) -> String {
        format!("/analytics?days={days}")
    }

    fn day(day: &NaiveDate) -> String {
        day.format("%d.%m.%Y").to_string()
    }

    fn number(value: &i64) -> String {
        grouped(*value)
    }

    fn page_href(&self, page: i64) -> String {
        format!(
            "{}#leads",
            self.request.link("/analytics", self.request.tier, page)
        )
    }

    fn csv_href(&self) -> String {
        self.request
            .link("/analytics/leads.csv", self.request.tier, 1)
    }

    fn lessons(lead: &Lead) -> String {
        lead.lesson_types
            .iter()
            .map(|t| lesson_label(t).unwrap_or(t))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `GET /analytics[?days=N | ?from=…&to=…][&tier=…][&page=N]`.
#[tracing::instrument(skip_all)]
pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
    FormQuery(filters): FormQuery<Filters>,
    page: Result<FormQuery<PageNumber>, AppError>,
) -> Result<AnalyticsPage, AppError> {
    let tz = state.config.school_timezone;
    let today = today(tz);
    let request = Request::parse(filters, page, today)?;
    let range = request.range;
    let lead_page = LeadPage {
        tier: request.tier,
        limit: Some(PAGE_SIZE),
        offset: (request.page - 1) * PAGE_SIZE,
    };
    let Overview {
        growth,
        bookings,
        events,
        types,
        lesson_types,
        week,
        board,
        leads,
    } = Overview::clone(
        &*state
            .reads
            .overview(&state.pool, tz, &range, lead_page)
            .await
            .map_err(refused)?,
    );
    let counts = board.counts;
    let total = request.tier.map_or(counts.total(), |tier| counts.get(tier));

    let days = range.days();
    let summary = |label, total| Summary {
        label,
        total,
        average: average(total, days),
    };
    let span = words::analytics::span(days);
    let describe = |what: &str, total: i64| {
        words::analytics::daily_summary(what, &span, &grouped(total), average(total, days))
    };
    let summaries = vec![
        summary(words::analytics::CARD_NEW_USERS, growth.new_users.total()),
        summary(words::analytics::CARD_BOOKINGS, bookings.total()),
        summary(words::analytics::CARD_EVENTS, events.total()),
    ];
    let charts = vec![
        Chart::daily_bars(
            "new-users",
            words::analytics::NEW_USERS_CHART,
            words::analytics::NEW_USERS,
            &growth.new_users.points,
            describe(words::analytics::NEW_USERS, growth.new_users.total()),
        ),
        Chart::daily_lines(
            "growth",
            words::analytics::GROWTH_CHART,
            &[(
                "series-1",
                words::analytics::TOTAL_USERS,
                &growth.cumulative.points,
            )],
            words::analytics::growth_summary(&grouped(growth.new_users.total())),
        ),
        Chart::daily_bars(
            "bookings",
            words::analytics::BOOKINGS_CHART,
            words::analytics::BOOKINGS_COLUMN,
            &bookings.points,
            describe(words::analytics::BOOKINGS, bookings.total()),
        ),
        Chart::daily_bars(
            "events",
            words::analytics::EVENTS_CHART,
            words::analytics::EVENTS,
            &events.points,
            describe(words::analytics::EVENTS, events.total()),
        ),
    ];
    let all_events: i64 = types.iter().map(|t| t.events).sum();
    let ranked: Vec<(String, i64, f64)> = types
        .iter()
        .take(10)
        .map(|t| {
            let label = event_label(&t.event_type)
                .unwrap_or(&t.event_type)
                .to_owned();
            (label, t.events, percent(t.events, all_events))
        })
        .collect();
    let types_chart = Chart::ranking(
        "event-types",
        words::analytics::EVENT_TYPES_CHART,
        &ranked,
        words::analytics::event_types_summary(types.len(), &span, &grouped(all_events)),
    );
    let conversion = lesson_types
        .into_iter()
        .map(|row| Conversion {
            label: super::free_lessons::lesson_name(row.lesson_type.as_deref()),
            percent: percent(row.converted, row.registrants),
            row,
        })
        .collect();
    let tab = |label, tier: Option<Tier>, count| TierTab {
        label,
        tier: tier.map(Tier::api_name),
        count: grouped(count),
        href: format!("{}#leads", request.link("/analytics", tier, 1)),
        current: request.tier == tier,
    };
    let tabs = std::iter::once(tab(words::analytics::ALL_TIERS, None, counts.total()))
        .chain(Tier::ALL.map(|tier| tab(tier.label(), Some(tier), counts.get(tier))))
        .collect();
    let dates = |range: &DateRange| {
        format!(
            "{} – {}",
            AnalyticsPage::day(&range.from()),
            AnalyticsPage::day(&range.to())
        )
    };
    Ok(AnalyticsPage {
        layout: Layout::new("/analytics", &principal),
        request,
        period: dates(&range),
        from: range.from().to_string(),
        to: range.to().to_string(),
        today: today.to_string(),
        presets: PRESETS,
        summaries,
        charts,
        types_chart,
        conversion,
        week: dates(&week),
        tabs,
        leads,
        total,
        page: request.page,
        pages: ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1),
    })
}
