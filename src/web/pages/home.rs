//! `/` — the home page: headline numbers, stream cards, recent activity, the
//! warmest leads and 30-day charts of user growth and registrations. The
//! numbers are those of `docs/analytics.md`; the queries run side by side
//! once the analytics cache is up to date.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::Layout;
use crate::app::analytics::{Home, today};
use crate::domain::analytics::DateRange;
use crate::store::analytics::{Headline, RecentEvent};
use crate::store::leads::Lead;
use crate::store::streams::StreamStats;
use crate::web::AppState;
use crate::web::auth::Principal;
use crate::web::charts::{Chart, grouped};
use crate::web::error::AppError;
use crate::web::words::analytics::event_label;
use crate::web::words::pages as words;
use crate::web::words::{Badge, Label};

/// Rows of the recent activity feed.
const RECENT: i64 = 20;
/// Leads shown (none of them cold).
const TOP_LEADS: usize = 5;

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
pub struct HomePage {
    layout: Layout,
    headline: Headline,
    streams: Vec<StreamStats>,
    recent: Vec<RecentEvent>,
    leads: Vec<Lead>,
    lead_week: DateRange,
    growth_chart: Chart,
    registrations_chart: Chart,
    tz: Tz,
}

impl HomePage {
    fn at(&self, at: &DateTime<Utc>) -> String {
        super::local_time(self.tz, at)
    }

    fn number(value: &i64) -> String {
        grouped(*value)
    }

    fn event(event_type: &str) -> &str {
        event_label(event_type).unwrap_or(event_type)
    }

    fn stream_href(stream: &StreamStats) -> String {
        super::stream::stats_path(stream)
    }

    fn week(&self) -> String {
        format!(
            "{} – {}",
            self.lead_week.from().format("%d.%m"),
            self.lead_week.to().format("%d.%m.%Y")
        )
    }
}

/// `GET /`.
#[tracing::instrument(skip_all)]
pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<HomePage, AppError> {
    let tz = state.config.school_timezone;
    let Home {
        headline,
        streams,
        recent,
        growth,
        bookings,
        lessons,
        lead_week,
        leads,
    } = Home::clone(
        &*state
            .reads
            .home(&state.pool, tz, today(tz), RECENT, TOP_LEADS)
            .await
            .map_err(super::analytics::refused)?,
    );

    let growth_chart = Chart::daily_lines(
        "growth",
        words::analytics::HOME_GROWTH_CHART,
        &[(
            "series-1",
            words::analytics::TOTAL_USERS,
            &growth.cumulative.points,
        )],
        words::analytics::home_growth_summary(&grouped(growth.new_users.total())),
    );
    let registrations_chart = Chart::daily_lines(
        "registrations",
        words::analytics::HOME_REGISTRATIONS_CHART,
        &[
            (
                "series-1",
                words::analytics::BOOKINGS_SERIES,
                &bookings.points,
            ),
            (
                "series-2",
                words::analytics::LESSONS_SERIES,
                &lessons.points,
            ),
        ],
        words::analytics::home_registrations_summary(
            &grouped(bookings.total()),
            &grouped(lessons.total()),
        ),
    );
    Ok(HomePage {
        layout: Layout::new("/", &principal),
        headline,
        streams,
        recent,
        leads,
        lead_week,
        growth_chart,
        registrations_chart,
        tz,
    })
}
