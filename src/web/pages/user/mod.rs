//! `/users/{id}`: one user's profile, bookings (with edit forms for editors:
//! allowed status changes only, the course's registry streams), «move to
//! stream», events timeline, free-lesson registrations, the broadcasts they
//! received and the audit history of their bookings.
//! The forms post to [`edit`].

mod booking_view;
pub mod edit;

pub use booking_view::{BookingView, Sent, StreamChoice};

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::Value;

use super::person_name;
use super::{Layout, local_time};
use crate::app::users as use_case;
use crate::domain::booking::BookingStatus;
use crate::domain::input::{Bounded, UserId};
use crate::store::audit::Entry;
use crate::store::bookings;
use crate::store::broadcast_history::{self, Received};
use crate::store::intake;
use crate::store::streams;
use crate::store::user_activity::{self, EventRow, FreeLessonRow};
use crate::store::users::UserRow;
use crate::web::AppState;
use crate::web::auth::Principal;
use crate::web::error::AppError;
use crate::web::extract::{FormQuery, Path};
use crate::web::words::pages as words;
use crate::web::words::{Badge, Label};

/// Events per page of the timeline.
pub const EVENTS_PAGE: i64 = 50;
/// Audit entries shown.
const HISTORY: i64 = 100;
/// Received broadcasts shown.
pub const RECEIVED: i64 = 50;
const RECEIVED_EXCERPT: usize = 100;

/// Outcome banners after a redirect, by a fixed code in the query string.
const NOTICES: &[(&str, &str)] = &[
    ("saved", words::users::NOTICE_SAVED),
    ("moved", words::users::NOTICE_MOVED),
];

/// The `{id}` of the page: a positive integer.
pub fn user_id(raw: &str) -> Result<i64, AppError> {
    UserId::parse(raw)
        .map(UserId::get)
        .ok_or_else(|| AppError::NotFound(words::USER_NOT_FOUND.to_owned()))
}

/// The page's query string: the timeline's page and a banner's code.
#[derive(Debug, Default, serde::Deserialize)]
pub struct UserQuery {
    events_page: Option<Bounded<1, 1_000_000>>,
    notice: Option<String>,
}

/// What an editor typed into a booking form, kept to show it again.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct BookingForm {
    pub version: Option<String>,
    pub confirmed: Option<String>,
    pub course_stream: Option<String>,
    pub referral_code: Option<String>,
    pub discount_percent: Option<String>,
    /// A checkbox: present when ticked.
    pub force: Option<String>,
}

/// A refused change, shown above the page.
#[derive(Debug, Clone)]
pub struct Problem {
    pub message: String,
    /// The booking changed meanwhile: offer a reload.
    pub stale: bool,
    /// The booking whose form was sent, and what was typed there.
    pub booking_id: Option<i32>,
    pub form: Option<BookingForm>,
}

/// An event with its details as «key: value» lines.
pub struct EventView {
    pub row: EventRow,
    pub details: Vec<(String, String)>,
}

impl EventView {
    fn new(row: EventRow) -> Self {
        let details = match &row.details {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Object(fields)) => fields
                .iter()
                .map(|(key, value)| (key.clone(), readable(value)))
                .collect(),
            Some(other) => vec![(String::new(), readable(other))],
        };
        Self { row, details }
    }
}

fn readable(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => "—".to_owned(),
        other => other.to_string(),
    }
}

/// One field an audit entry changed: name, before, after.
pub struct FieldChange {
    pub field: &'static str,
    pub before: String,
    pub after: String,
}

/// The booking fields an audit entry changed, in words.
fn changes(entry: &Entry) -> Vec<FieldChange> {
    const FIELDS: [(&str, &str); 4] = [
        ("confirmed", words::users::FIELD_STATUS),
        ("course_stream", words::users::FIELD_STREAM),
        ("referral_code", words::users::FIELD_REFERRAL_CODE),
        ("discount_percent", words::users::FIELD_DISCOUNT),
    ];
    let get = |side: &Option<Value>, key: &str| {
        side.as_ref()
            .and_then(|v| v.get(key))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let show = |key: &str, value: &Value| match (key, value) {
        ("confirmed", value) => {
            BookingStatus::from_raw(value.as_i64().and_then(|v| i32::try_from(v).ok()))
                .label()
                .to_owned()
        }
        (_, value) => readable(value),
    };
    FIELDS
        .iter()
        .filter_map(|&(key, field)| {
            let (before, after) = (get(&entry.before, key), get(&entry.after, key));
            (before != after).then(|| FieldChange {
                field,
                before: show(key, &before),
                after: show(key, &after),
            })
        })
        .collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "user.html")]
pub struct UserPage {
    layout: Layout,
    user: UserRow,
    bookings: Vec<BookingView>,
    /// The booking «move to stream» moves (the latest not cancelled) and
    /// where it may go.
    movable: Option<(i32, Vec<StreamChoice>)>,
    events: Vec<EventView>,
    events_page: i64,
    events_pages: i64,
    free_lessons: Vec<FreeLessonRow>,
    /// The newest received broadcasts with their excerpts, and how many
    /// there are in all.
    received: Vec<(Received, String)>,
    received_total: i64,
    history: Vec<(Entry, Vec<FieldChange>)>,
    notice: Option<&'static str>,
    problem: Option<Problem>,
    tz: Tz,
}

impl UserPage {
    fn when(&self, at: &Option<DateTime<Utc>>) -> String {
        super::maybe_local_time(self.tz, at)
    }

    fn at(&self, at: &DateTime<Utc>) -> String {
        local_time(self.tz, at)
    }

    fn name(&self) -> String {
        person_name(&self.user.first_name, &self.user.last_name)
    }

    fn events_href(&self, page: i64) -> String {
        if page > 1 {
            format!("/users/{}?events_page={page}#events", self.user.user_id)
        } else {
            format!("/users/{}#events", self.user.user_id)
        }
    }

    /// Broadcast pages are for admins; others see the number unlinked.
    fn sees_messages(&self) -> bool {
        self.layout
            .user
            .as_ref()
            .is_some_and(|user| user.role.allows(crate::domain::role::Role::Admin))
    }

    fn reload_href(&self) -> String {
        format!("/users/{}", self.user.user_id)
    }
}

/// Renders the page (also after a refused change, with `problem`).
#[tracing::instrument(skip_all)]
pub async fn render(
    state: &AppState,
    principal: &Principal,
    user_id: i64,
    events_page: i64,
    notice: Option<&'static str>,
    problem: Option<Problem>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let user = use_case::find(&state.pool, UserId(user_id))
        .await
        .map_err(super::users::refused)?;
    let registry = streams::registry(&state.pool).await?;
    let sent = |id: i32| {
        let problem = problem.as_ref().filter(|p| p.booking_id == Some(id))?;
        Some(Sent {
            form: problem.form.as_ref()?,
            stale: problem.stale,
        })
    };
    let auto_moved = intake::moved_of_user(&state.pool, user_id).await?;
    let bookings: Vec<BookingView> = bookings::of_user(&state.pool, user_id)
        .await?
        .into_iter()
        .map(|row| {
            let id = row.id;
            let mut view = BookingView::new(row, &registry, sent(id));
            view.auto_moved = auto_moved.contains(&id);
            view
        })
        .collect();
    // The API's «latest active»: newest first, the first not cancelled.
    let movable = bookings
        .iter()
        .find(|b| b.status != BookingStatus::Cancelled)
        .map(|b| {
            let choices = b
                .streams
                .iter()
                .filter(|s| !b.is_stream(&s.code))
                .map(|s| StreamChoice {
                    code: s.code.clone(),
                    name: s.name.clone(),
                })
                .collect();
            (b.row.id, choices)
        });
    let events_pages = ((user.total_events + EVENTS_PAGE - 1) / EVENTS_PAGE).max(1);
    let events = user_activity::events(
        &state.pool,
        user_id,
        EVENTS_PAGE,
        (events_page - 1) * EVENTS_PAGE,
    )
    .await?
    .into_iter()
    .map(EventView::new)
    .collect();
    let free_lessons = user_activity::free_lessons(&state.pool, user_id).await?;
    let (received, received_total) =
        broadcast_history::received_by(&state.pool, user_id, RECEIVED).await?;
    let received = received
        .into_iter()
        .map(|row| {
            let excerpt = super::messages::render::excerpt(&row.text, RECEIVED_EXCERPT);
            (row, excerpt)
        })
        .collect();
    let history = user_activity::booking_history(&state.pool, user_id, HISTORY)
        .await?
        .into_iter()
        .map(|entry| {
            let changed = changes(&entry);
            (entry, changed)
        })
        .collect();
    let page = UserPage {
        layout: Layout::new("/users", principal),
        user,
        bookings,
        movable,
        events,
        events_page,
        events_pages,
        free_lessons,
        received,
        received_total,
        history,
        notice,
        problem,
        tz: state.config.school_timezone,
    };
    Ok((status, page).into_response())
}

/// `GET /users/{id}[?events_page=N][&notice=…]`.
#[tracing::instrument(skip_all, fields(user_id = tracing::field::Empty))]
pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Path(raw): Path<String>,
    query: Result<FormQuery<UserQuery>, AppError>,
) -> Result<Response, AppError> {
    let user_id = user_id(&raw)?;
    tracing::Span::current().record("user_id", user_id);
    let FormQuery(query) = query?;
    let events_page = query.events_page.map_or(1, Bounded::get);
    let notice = query
        .notice
        .and_then(|code| NOTICES.iter().find(|(known, _)| *known == code))
        .map(|(_, text)| *text);
    render(
        &state,
        &principal,
        user_id,
        events_page,
        notice,
        None,
        StatusCode::OK,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn details_read_as_key_value_lines() {
        let event = |details| EventRow {
            id: 1,
            event_type: "x".into(),
            details,
            created_at: None,
        };
        let view = EventView::new(event(Some(json!({"course_id": "1", "n": 2, "ok": null}))));
        assert_eq!(
            view.details,
            [
                ("course_id".to_owned(), "1".to_owned()),
                ("n".to_owned(), "2".to_owned()),
                ("ok".to_owned(), "—".to_owned())
            ]
        );
        assert!(EventView::new(event(None)).details.is_empty());
        assert_eq!(
            EventView::new(event(Some(json!([1, 2])))).details,
            [(String::new(), "[1,2]".to_owned())]
        );
    }

    #[test]
    fn audit_entries_list_the_changed_fields() {
        let entry = Entry {
            id: 1,
            at: Utc::now(),
            actor: "a".into(),
            action: "booking.update".into(),
            entity_type: "booking".into(),
            entity_id: Some("7".into()),
            before: Some(json!({"confirmed": 0, "course_stream": "a", "discount_percent": 0})),
            after: Some(json!({"confirmed": 2, "course_stream": "a", "discount_percent": 10})),
            client_addr: None,
            request_id: None,
        };
        let changed: Vec<(&str, String, String)> = changes(&entry)
            .into_iter()
            .map(|c| (c.field, c.before, c.after))
            .collect();
        assert_eq!(
            changed,
            [
                (
                    "Статус",
                    "Новая заявка".to_owned(),
                    "Подтверждено".to_owned()
                ),
                ("Скидка, %", "0".to_owned(), "10".to_owned()),
            ]
        );
    }
}
