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
use crate::domain::analytics::{DateRange, LEAD_WINDOW_DAYS};
use crate::store::analytics::{self, Headline, RecentEvent};
use crate::store::analytics_cache;
use crate::store::leads::{self, Lead, Window};
use crate::store::streams::{self, StreamStats};
use crate::web::AppState;
use crate::web::api::analytics::today;
use crate::web::auth::Principal;
use crate::web::charts::{Chart, grouped};
use crate::web::error::AppError;
use crate::web::words::analytics::event_label;
use crate::web::words::{Badge, Label};

/// Days the charts cover.
const CHART_DAYS: i64 = 30;
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
        super::stream::stream_path(&stream.code)
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
pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<HomePage, AppError> {
    let tz = state.config.school_timezone;
    let pool = &state.pool;
    let today = today(tz);
    let range = DateRange::last_days(today, CHART_DAYS).expect("30 days is a valid range");
    let lead_week = DateRange::last_days(today, LEAD_WINDOW_DAYS).expect("a week is valid");
    let window = Window::new(&lead_week, tz);
    analytics_cache::refresh(pool, tz).await?;
    let (headline, streams, recent, growth, bookings, lessons, board) = tokio::try_join!(
        analytics::headline(pool),
        streams::stream_stats(pool),
        analytics::recent_activity(pool, RECENT),
        analytics::growth(pool, &range),
        analytics::bookings_per_day(pool, &range),
        analytics::free_lessons_per_day(pool, &range),
        leads::board(pool, &window),
    )?;
    let top = leads::warmest(pool, &board, TOP_LEADS).await?;

    let growth_chart = Chart::daily_lines(
        "growth",
        "Рост числа пользователей за 30 дней",
        &[("series-1", "Всего пользователей", &growth.cumulative.points)],
        format!(
            "Пользователей на конец дня; за 30 дней прибавилось {}.",
            grouped(growth.new_users.total())
        ),
    );
    let registrations_chart = Chart::daily_lines(
        "registrations",
        "Заявки и записи на бесплатные уроки за 30 дней",
        &[
            ("series-1", "Заявки на курс", &bookings.points),
            ("series-2", "Записи на бесплатный урок", &lessons.points),
        ],
        format!(
            "За 30 дней: заявок на курс {}, записей на бесплатные уроки {}.",
            grouped(bookings.total()),
            grouped(lessons.total())
        ),
    );
    Ok(HomePage {
        layout: Layout::new("/", &principal),
        headline,
        streams: streams.into_iter().filter(|s| !s.archived).collect(),
        recent,
        leads: top,
        lead_week,
        growth_chart,
        registrations_chart,
        tz,
    })
}
