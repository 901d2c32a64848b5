//! HTML handlers by area, each with an askama template struct.

mod analytics;
mod audit;
mod free_lessons;
mod home;
mod htmx;
mod intake;
mod login;
mod messages;
mod registry;
mod staff;
pub(crate) mod stream;
mod user;
mod users;
mod workshops;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use super::auth::{Access, Principal};
use super::error::ErrorDetails;
use super::is_machine_path;
use super::routes::Routes;
use crate::domain::role::Role;
use crate::store::streams::Course;
use crate::web::words;
use crate::web::words::Label;

pub fn routes() -> Routes {
    Routes::default()
        .get("/", Access::VIEWER, home::show)
        .get("/login", Access::Anyone, login::form)
        .post("/login", Access::Anyone, login::submit)
        .get("/logout", Access::VIEWER, login::confirm_logout)
        .post("/logout", Access::VIEWER, login::logout)
        .get("/workshops", Access::VIEWER, workshops::show)
        .get(
            "/workshops/{course_id}/{code}",
            Access::VIEWER,
            stream::show,
        )
        .get(
            "/workshops/{course_id}/{code}/students.csv",
            Access::VIEWER,
            stream::export::csv,
        )
        .get(
            "/workshops/stream/{code}",
            Access::VIEWER,
            stream::legacy::page,
        )
        .get(
            "/workshops/stream/{code}/students.csv",
            Access::VIEWER,
            stream::legacy::csv,
        )
        .get("/analytics", Access::VIEWER, analytics::show)
        .get(
            "/analytics/leads.csv",
            Access::VIEWER,
            analytics::export::csv,
        )
        .get("/free-lessons", Access::VIEWER, free_lessons::show)
        .get("/free-lessons.csv", Access::VIEWER, free_lessons::csv)
        .get("/users", Access::VIEWER, users::show)
        .get("/users.csv", Access::VIEWER, users::export::csv)
        .get("/users/{id}", Access::VIEWER, user::show)
        .post(
            "/users/{id}/bookings/{booking}",
            Access::EDITOR,
            user::edit::update_booking,
        )
        .post(
            "/users/{id}/stream",
            Access::EDITOR,
            user::edit::move_stream,
        )
        .merge(messages::routes())
        .merge(registry::routes())
        .merge(intake::routes())
        .merge(staff::routes())
        .get("/audit", Access::ADMIN, audit::show)
}

/// Navigation entries of the base layout: (path, label).
pub const NAV: &[(&str, &str)] = &[
    ("/", words::common::NAV_HOME),
    ("/workshops", words::common::NAV_WORKSHOPS),
    ("/users", words::common::NAV_USERS),
    ("/messages", words::common::NAV_MESSAGES),
    ("/analytics", words::common::NAV_ANALYTICS),
    ("/free-lessons", words::common::NAV_FREE_LESSONS),
];

/// Settings entries of the user menu: (path, label, the role that sees it).
pub const SETTINGS_NAV: &[(&str, &str, Role)] = &[
    (
        "/settings/streams",
        words::common::NAV_STREAMS,
        Role::Viewer,
    ),
    ("/settings/staff", words::common::NAV_STAFF, Role::Admin),
    ("/audit", words::common::NAV_AUDIT, Role::Admin),
];

/// What the base layout needs: the active section and who is signed in.
pub struct Layout {
    pub active: &'static str,
    pub user: Option<UserMenu>,
}

pub struct UserMenu {
    pub name: String,
    pub role: Role,
    /// For the logout button (and any other form on the page).
    pub csrf: String,
}

impl Layout {
    pub fn new(active: &'static str, principal: &Principal) -> Self {
        Self {
            active,
            user: Some(UserMenu {
                name: principal.name.clone(),
                role: principal.role,
                csrf: principal.csrf_token().unwrap_or_default().to_owned(),
            }),
        }
    }

    pub fn anonymous() -> Self {
        Self {
            active: "",
            user: None,
        }
    }

    /// The settings entries the signed-in user may open: (path, label).
    pub fn settings_nav(&self) -> Vec<(&'static str, &'static str)> {
        let Some(user) = &self.user else {
            return Vec::new();
        };
        SETTINGS_NAV
            .iter()
            .filter(|(_, _, role)| user.role.allows(*role))
            .map(|&(href, label, _)| (href, label))
            .collect()
    }

    /// Whether the signed-in user may change things (editor or admin).
    pub fn can_edit(&self) -> bool {
        self.user
            .as_ref()
            .is_some_and(|user| user.role.allows(Role::Editor))
    }

    pub fn user_name(&self) -> &str {
        self.user.as_ref().map_or("", |user| user.name.as_str())
    }

    /// The CSRF token forms on the page carry.
    pub fn csrf(&self) -> &str {
        self.user.as_ref().map_or("", |user| user.csrf.as_str())
    }
}

/// A stream as a list of every course's streams names it: its name, and
/// its course's when the school has several courses (the bot gives
/// streams of different courses the same codes).
pub fn stream_label(courses: &[Course], course_id: i32, name: &str) -> String {
    if courses.len() < 2 {
        return name.to_owned();
    }
    match courses.iter().find(|course| course.id == course_id) {
        Some(course) => format!("{name} · {}", course.name),
        None => format!("{name} · {course_id}"),
    }
}

/// A timestamp as staff read it: school time zone, to the minute.
pub fn local_time(tz: Tz, at: &DateTime<Utc>) -> String {
    at.with_timezone(&tz).format("%d.%m.%Y %H:%M").to_string()
}

/// Midnight at the start of `day` in the school's zone.
pub fn day_start(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    crate::domain::analytics::day_start(day, tz)
}

/// A timestamp as staff read it, or «—» when there is none.
pub fn maybe_local_time(tz: Tz, at: &Option<DateTime<Utc>>) -> String {
    at.as_ref()
        .map_or_else(|| "—".to_owned(), |at| local_time(tz, at))
}

/// First and last name, or «—» when the bot knows neither.
pub fn person_name(first: &Option<String>, last: &Option<String>) -> String {
    let name = [first, last]
        .into_iter()
        .flatten()
        .map(|part| part.trim())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if name.is_empty() {
        "—".to_owned()
    } else {
        name
    }
}

/// A t.me link for a username that Telegram could have issued.
pub fn telegram_link(username: &str) -> Option<String> {
    let valid = !username.is_empty()
        && username.len() <= 64
        && username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    valid.then(|| format!("https://t.me/{username}"))
}

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    status: u16,
    title: &'static str,
    detail: String,
}

/// Re-renders error responses of page routes as an HTML page (the handlers
/// return the same `AppError` as the API).
pub async fn html_errors(request: Request, next: Next) -> Response {
    let machine = is_machine_path(request.uri().path());
    let response = next.run(request).await;
    if machine {
        return response;
    }
    let Some(details) = response.extensions().get::<ErrorDetails>().cloned() else {
        return response;
    };
    let layout = match response.extensions().get::<Principal>() {
        Some(principal) => Layout::new("", principal),
        None => Layout::anonymous(),
    };
    let status = response.status();
    let page = ErrorPage {
        layout,
        status: status.as_u16(),
        title: details.title,
        detail: details.detail,
    };
    (status, page).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telegram_links_only_for_plausible_usernames() {
        assert_eq!(
            telegram_link("anna_1").as_deref(),
            Some("https://t.me/anna_1")
        );
        for bad in ["", "a b", "x/y", "анна", "a?b", "javascript:x"] {
            assert_eq!(telegram_link(bad), None, "{bad}");
        }
    }

    #[test]
    fn names_join_and_fall_back_to_a_dash() {
        let some = |s: &str| Some(s.to_owned());
        assert_eq!(person_name(&some("Анна"), &some("Иванова")), "Анна Иванова");
        assert_eq!(person_name(&some("Анна"), &None), "Анна");
        assert_eq!(person_name(&None, &some(" ")), "—");
        assert_eq!(person_name(&None, &None), "—");
    }
}
