//! `/users/{id}`: one user's profile, bookings (with edit forms for editors:
//! allowed status changes only, the course's registry streams), «move to
//! stream», events timeline, free-lesson registrations, the broadcasts they
//! received and the audit history of their bookings.
//! The forms post to [`edit`].

pub mod edit;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::Value;

use super::person_name;
use super::{Layout, local_time};
use crate::domain::booking::BookingStatus;
use crate::store::audit::Entry;
use crate::store::bookings::{self, BookingRow};
use crate::store::broadcast_history::{self, Received};
use crate::store::streams::{self, Registered};
use crate::store::user_activity::{self, EventRow, FreeLessonRow};
use crate::store::users::{self, UserRow};
use crate::web::AppState;
use crate::web::api::params::{Params, strict_int};
use crate::web::auth::Principal;
use crate::web::error::AppError;
use crate::web::extract::Path;

/// Events per page of the timeline.
pub const EVENTS_PAGE: i64 = 50;
/// Audit entries shown.
const HISTORY: i64 = 100;
/// Received broadcasts shown.
pub const RECEIVED: i64 = 50;
const RECEIVED_EXCERPT: usize = 100;

/// Outcome banners after a redirect, by a fixed code in the query string.
const NOTICES: &[(&str, &str)] = &[
    ("saved", "Заявка сохранена."),
    ("moved", "Заявка переведена в другой поток."),
];

/// The `{id}` of the page: a positive integer.
pub fn user_id(raw: &str) -> Result<i64, AppError> {
    strict_int(raw)
        .filter(|id| *id > 0)
        .ok_or_else(|| AppError::NotFound("Пользователь не найден.".to_owned()))
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

/// A stream a booking may be put in: code and name.
pub struct StreamChoice {
    pub code: String,
    pub name: String,
}

/// A booking with what its form offers.
pub struct BookingView {
    pub row: BookingRow,
    pub status: BookingStatus,
    pub targets: Vec<BookingStatus>,
    pub streams: Vec<StreamChoice>,
    /// The current stream when the registry does not offer it.
    pub unregistered_stream: Option<String>,
    /// What the form's fields carry.
    pub referral_code: String,
    pub discount_percent: String,
    /// The status option chosen: empty for «Не менять», else a raw status.
    pub confirmed: String,
    pub stream: Option<String>,
    /// The booking changed after the page the editor sent from was served:
    /// the fields carry its current values (and its current version), and
    /// what the editor typed is only shown beside them, so nothing is
    /// written that they have not seen.
    pub changed_meanwhile: bool,
    /// What the editor typed where it differs from the current values.
    pub typed: Vec<Typed>,
}

/// A value an editor typed that is not in the form any more, in words.
pub struct Typed {
    /// The form field's name.
    pub field: &'static str,
    pub shown: String,
}

/// An editor's input for a booking whose form was refused.
pub struct Sent<'a> {
    pub form: &'a BookingForm,
    /// Refused because the booking changed (a stale version).
    pub stale: bool,
}

impl BookingView {
    fn new(row: BookingRow, registry: &[Registered], sent: Option<Sent<'_>>) -> Self {
        let status = BookingStatus::from_raw(row.confirmed);
        let streams: Vec<StreamChoice> = registry
            .iter()
            .filter(|r| Some(r.entry.course_id) == row.course_id && !r.entry.archived)
            .map(|r| StreamChoice {
                code: r.entry.code.clone(),
                name: r.entry.display_name.clone(),
            })
            .collect();
        let unregistered_stream = row
            .course_stream
            .clone()
            .filter(|code| !streams.iter().any(|s| &s.code == code));
        let current_referral = row.referral_code.clone().unwrap_or_default();
        let current_discount = row
            .discount_percent
            .map(|d| d.to_string())
            .unwrap_or_default();
        let text = |field: &Option<String>| field.as_deref().unwrap_or_default().trim().to_owned();
        let mut view = Self {
            targets: status.allowed_targets(),
            status,
            unregistered_stream,
            referral_code: current_referral,
            discount_percent: current_discount,
            confirmed: String::new(),
            stream: row.course_stream.clone(),
            changed_meanwhile: false,
            typed: Vec::new(),
            streams,
            row,
        };
        let Some(Sent { form, stale }) = sent else {
            return view;
        };
        let typed_stream = Some(text(&form.course_stream)).filter(|code| !code.is_empty());
        if !stale && form.version.as_deref() == Some(view.row.version.as_str()) {
            // Refused as it stands (bad input, a rule): the booking is as the
            // editor saw it, so their input goes back into the fields.
            view.referral_code = form.referral_code.clone().unwrap_or_default();
            view.discount_percent = form.discount_percent.clone().unwrap_or_default();
            view.confirmed = text(&form.confirmed);
            view.stream = typed_stream;
            return view;
        }
        view.changed_meanwhile = true;
        let empty = |value: String| {
            if value.is_empty() {
                "(пусто)".to_owned()
            } else {
                value
            }
        };
        let confirmed = text(&form.confirmed);
        if !confirmed.is_empty() {
            let typed = BookingStatus::parse_raw_param(&confirmed);
            if typed != Some(view.status) {
                let shown = typed.map_or(confirmed, |s| s.label().to_owned());
                view.typed.push(Typed {
                    field: "confirmed",
                    shown,
                });
            }
        }
        if typed_stream != view.row.course_stream {
            let shown = match &typed_stream {
                None => "Без потока".to_owned(),
                Some(code) => view
                    .streams
                    .iter()
                    .find(|s| &s.code == code)
                    .map_or_else(|| code.clone(), |s| s.name.clone()),
            };
            view.typed.push(Typed {
                field: "course_stream",
                shown,
            });
        }
        let referral = text(&form.referral_code);
        if referral != view.referral_code {
            view.typed.push(Typed {
                field: "referral_code",
                shown: empty(referral),
            });
        }
        let discount = text(&form.discount_percent);
        if discount != view.discount_percent {
            view.typed.push(Typed {
                field: "discount_percent",
                shown: empty(discount),
            });
        }
        view
    }

    fn is_stream(&self, code: &str) -> bool {
        self.stream.as_deref() == Some(code)
    }

    fn is_confirmed(&self, target: &BookingStatus) -> bool {
        target
            .raw()
            .is_some_and(|raw| raw.to_string() == self.confirmed)
    }

    /// What the editor typed into `field`, when it is not in the form.
    fn typed(&self, field: &str) -> Option<&str> {
        self.typed
            .iter()
            .find(|t| t.field == field)
            .map(|t| t.shown.as_str())
    }
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
        ("confirmed", "Статус"),
        ("course_stream", "Поток"),
        ("referral_code", "Реферальный код"),
        ("discount_percent", "Скидка, %"),
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
pub async fn render(
    state: &AppState,
    principal: &Principal,
    user_id: i64,
    events_page: i64,
    notice: Option<&'static str>,
    problem: Option<Problem>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let user = users::get(&state.pool, user_id)
        .await?
        .ok_or_else(|| AppError::NotFound("Пользователь не найден.".to_owned()))?;
    let registry = streams::registry(&state.pool).await?;
    let sent = |id: i32| {
        let problem = problem.as_ref().filter(|p| p.booking_id == Some(id))?;
        Some(Sent {
            form: problem.form.as_ref()?,
            stale: problem.stale,
        })
    };
    let bookings: Vec<BookingView> = bookings::of_user(&state.pool, user_id)
        .await?
        .into_iter()
        .map(|row| {
            let id = row.id;
            BookingView::new(row, &registry, sent(id))
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
pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, AppError> {
    let user_id = user_id(&raw)?;
    let params = Params::parse(query.as_deref());
    let events_page = params
        .int(
            "events_page",
            1..=1_000_000,
            "Номер страницы событий — целое число от 1 до 1000000.",
        )?
        .unwrap_or(1);
    let notice = params
        .raw("notice")
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
