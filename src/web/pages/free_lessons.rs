//! `/free-lessons`: every registration with a search (name, @username,
//! e-mail or exact user id) and pages, `/free-lessons.csv` with the same
//! rows, and breakdowns over ALL registrations: by lesson type (people,
//! conversion, reminders sent) and by lesson date, with the overall share of
//! reminders sent.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use super::Layout;
use crate::domain::analytics::percent;
use crate::domain::input::Bounded;
use crate::domain::user::Search;
use crate::store::analytics_cache;
use crate::store::free_lessons::{self, DateCount, LessonType, Registration};
use crate::web::AppState;
use crate::web::auth::Principal;
use crate::web::charts::grouped;
use crate::web::csv::Csv;
use crate::web::error::AppError;
use crate::web::extract::FormQuery;
use crate::web::words::Label;
use crate::web::words::analytics::lesson_label;
use crate::web::words::pages as words;

/// Rows per page.
pub const PAGE_SIZE: i64 = 50;
const MAX_PAGE: i64 = 1_000_000;

/// The page's GET form: blank fields are absent.
#[derive(Debug, Default, serde::Deserialize)]
pub struct FreeLessonsQuery {
    search: Option<String>,
    page: Option<Bounded<1, MAX_PAGE>>,
}

impl FreeLessonsQuery {
    fn parse(self) -> (Option<Search>, i64) {
        (
            self.search.as_deref().and_then(Search::parse),
            self.page.map_or(1, Bounded::get),
        )
    }
}

fn with_search(path: &str, search: &Option<Search>, page: i64) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if let Some(search) = search {
        query.append_pair("search", &search.as_typed());
    }
    if page > 1 {
        query.append_pair("page", &page.to_string());
    }
    let query = query.finish();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// A lesson type as staff read it: its name (the code when it has none),
/// or «не указан».
pub fn lesson_name(lesson_type: Option<&str>) -> String {
    match lesson_type {
        None => words::analytics::NO_LESSON_TYPE.to_owned(),
        Some(code) => lesson_label(code).unwrap_or(code).to_owned(),
    }
}

/// One lesson date: registrations per lesson type (in `types` order).
pub struct DateRow {
    pub date: Option<NaiveDate>,
    pub per_type: Vec<i64>,
    pub total: i64,
    pub notified: i64,
}

/// Pivots the (date, type) counts into one row per date.
fn by_date(types: &[LessonType], counts: Vec<DateCount>) -> Vec<DateRow> {
    let mut rows: Vec<DateRow> = Vec::new();
    for count in counts {
        if rows.last().is_none_or(|row| row.date != count.lesson_date) {
            rows.push(DateRow {
                date: count.lesson_date,
                per_type: vec![0; types.len()],
                total: 0,
                notified: 0,
            });
        }
        let row = rows.last_mut().expect("pushed above");
        if let Some(i) = types
            .iter()
            .position(|t| t.lesson_type == count.lesson_type)
        {
            row.per_type[i] += count.registrations;
        }
        row.total += count.registrations;
        row.notified += count.notified;
    }
    rows
}

#[derive(Template, WebTemplate)]
#[template(path = "free_lessons.html")]
pub struct FreeLessonsPage {
    layout: Layout,
    search: Option<Search>,
    rows: Vec<Registration>,
    total: i64,
    page: i64,
    pages: i64,
    types: Vec<LessonType>,
    dates: Vec<DateRow>,
    registrations: i64,
    notified: i64,
    tz: Tz,
}

impl FreeLessonsPage {
    fn when(&self, at: &Option<DateTime<Utc>>) -> String {
        super::maybe_local_time(self.tz, at)
    }

    fn date(day: &Option<NaiveDate>) -> String {
        day.map_or(words::analytics::NO_DATE.to_owned(), |d| {
            d.format("%d.%m.%Y").to_string()
        })
    }

    fn number(value: &i64) -> String {
        grouped(*value)
    }

    fn share(part: &i64, whole: &i64) -> String {
        format!("{:.1} %", percent(*part, *whole))
    }

    fn lesson(lesson_type: &Option<String>) -> String {
        lesson_name(lesson_type.as_deref())
    }

    fn search_text(&self) -> String {
        self.search
            .as_ref()
            .map(Search::as_typed)
            .unwrap_or_default()
    }

    fn page_href(&self, page: i64) -> String {
        with_search("/free-lessons", &self.search, page)
    }

    fn csv_href(&self) -> String {
        with_search("/free-lessons.csv", &self.search, 1)
    }
}

/// `GET /free-lessons[?search=…][&page=N]`.
#[tracing::instrument(skip_all)]
pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
    FormQuery(query): FormQuery<FreeLessonsQuery>,
) -> Result<FreeLessonsPage, AppError> {
    let (search, page) = query.parse();
    let pool = &state.pool;
    analytics_cache::refresh(pool, state.config.school_timezone).await?;
    let ((rows, total), types, dates) = tokio::try_join!(
        free_lessons::list(
            pool,
            search.as_ref(),
            Some(PAGE_SIZE),
            (page - 1) * PAGE_SIZE
        ),
        free_lessons::by_lesson_type(pool, None),
        free_lessons::by_lesson_date(pool),
    )?;
    let registrations = types.iter().map(|t| t.registrations).sum();
    let notified = types.iter().map(|t| t.notified).sum();
    let dates = by_date(&types, dates);
    Ok(FreeLessonsPage {
        layout: Layout::new("/free-lessons", &principal),
        search,
        rows,
        total,
        page,
        pages: ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1),
        types,
        dates,
        registrations,
        notified,
        tz: state.config.school_timezone,
    })
}

/// `GET /free-lessons.csv[?search=…]`: every matching registration.
#[tracing::instrument(skip_all)]
pub async fn csv(
    State(state): State<AppState>,
    FormQuery(query): FormQuery<FreeLessonsQuery>,
) -> Result<Csv, AppError> {
    let (search, _) = query.parse();
    let (rows, _) = free_lessons::list(&state.pool, search.as_ref(), None, 0).await?;
    let tz = state.config.school_timezone;
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    let mut csv = Csv::new("free-lessons.csv", words::csv::FREE_LESSONS);
    for row in rows {
        csv.row([
            row.user_id.to_string(),
            text(&row.username),
            text(&row.first_name),
            text(&row.last_name),
            row.email,
            lesson_name(row.lesson_type.as_deref()),
            row.lesson_date
                .map(|d| d.format("%d.%m.%Y").to_string())
                .unwrap_or_default(),
            row.registered_at
                .map(|at| super::local_time(tz, &at))
                .unwrap_or_default(),
            if row.notification_sent == Some(true) {
                words::csv::YES
            } else {
                words::csv::NO
            }
            .to_owned(),
        ]);
    }
    Ok(csv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_pivot_by_lesson_type() {
        let t = |code: &str| LessonType {
            lesson_type: Some(code.to_owned()),
            registrations: 0,
            registrants: 0,
            converted: 0,
            notified: 0,
        };
        let types = [t("a"), t("b")];
        let day = NaiveDate::from_ymd_opt(2026, 11, 14);
        let count = |date, code: Option<&str>, n, sent| DateCount {
            lesson_date: date,
            lesson_type: code.map(str::to_owned),
            registrations: n,
            notified: sent,
        };
        let rows = by_date(
            &types,
            vec![
                count(day, Some("a"), 3, 1),
                count(day, Some("b"), 2, 2),
                count(None, Some("b"), 1, 0),
                count(None, None, 4, 0),
            ],
        );
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0].per_type.clone(), rows[0].total, rows[0].notified),
            (vec![3, 2], 5, 3)
        );
        assert_eq!(
            (rows[1].date, rows[1].per_type.clone(), rows[1].total),
            (None, vec![0, 1], 5)
        );
        assert_eq!(lesson_name(Some("cursor_lesson")), "Урок по Cursor");
        assert_eq!(lesson_name(Some("x")), "x");
        assert_eq!(lesson_name(None), "не указан");
    }
}
