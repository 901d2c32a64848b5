//! `/messages/new`, the composer, over HTTP as a browser without scripts
//! uses it, against real PostgreSQL and (for sends) the fake Bot API.

mod edit;
mod form;
mod send;

use chrono::{Days, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::Moscow;
use reqwest::StatusCode;
use secrecy::SecretString;

use crate::fake_telegram::FakeTelegram;
use crate::helpers::{Session, TestApp, spawn_app, spawn_app_with};

/// Form fields, in order, as a browser sends them.
pub type Fields<'a> = Vec<(&'a str, &'a str)>;

/// `9th_stream`: 201 and 202 confirmed, 203 pending, 204 cancelled then
/// booked again (new: the most advanced booking counts), 206 confirmed but
/// blocked the bot.
/// 205 is confirmed in `5th_stream`. `8th_stream` is registered (by the
/// migrations, like 3rd–7th), empty; 9th is the current intake.
pub async fn fixture(app: &TestApp) {
    sqlx::raw_sql(
        "INSERT INTO users (user_id, username, first_name, last_name) VALUES
           (201, 'anna', 'Анна', 'Иванова'), (202, 'boris', 'Борис', NULL),
           (203, 'vera', 'Вера', NULL), (204, 'gleb', 'Глеб', NULL),
           (205, 'dina', 'Дина', NULL), (206, 'egor', 'Егор', NULL);
         INSERT INTO bookings (user_id, username, first_name, course_id, confirmed, created_at, course_stream) VALUES
           (201, 'anna', 'Анна', 1, 2, '2026-11-01 10:00+00', '9th_stream'),
           (202, 'boris', 'Борис', 1, 2, '2026-11-01 10:00+00', '9th_stream'),
           (203, 'vera', 'Вера', 1, 1, '2026-11-01 10:00+00', '9th_stream'),
           (204, 'gleb', 'Глеб', 1, -1, '2026-11-01 10:00+00', '9th_stream'),
           (204, 'gleb', 'Глеб', 1, 0, '2026-11-02 10:00+00', '9th_stream'),
           (205, 'dina', 'Дина', 1, 2, '2026-11-01 10:00+00', '5th_stream'),
           (206, 'egor', 'Егор', 1, 2, '2026-11-01 10:00+00', '9th_stream');
         INSERT INTO blocked_users (user_id, reason) VALUES (206, 'blocked');
         UPDATE stream_registry SET is_current = false;
         INSERT INTO stream_registry (code, course_id, display_name, is_current)
           VALUES ('9th_stream', 1, '9-й поток', true);",
    )
    .execute(&app.pool)
    .await
    .unwrap();
}

pub async fn with_telegram() -> (TestApp, FakeTelegram) {
    let fake = FakeTelegram::start().await;
    let url = fake.url.parse().unwrap();
    let app = spawn_app_with(|config| {
        config.telegram_bot_token = Some(SecretString::from("123456:TEST-composer"));
        config.telegram_api_url = url;
    })
    .await;
    fixture(&app).await;
    (app, fake)
}

pub async fn plain_app() -> TestApp {
    let app = spawn_app().await;
    fixture(&app).await;
    app
}

/// A form for `9th_stream`'s confirmed members with `text`.
pub fn stream_form<'a>(key: &'a str, text: &'a str) -> Fields<'a> {
    vec![
        ("key", key),
        ("audience", "stream"),
        ("stream", "9th_stream"),
        ("status", "2"),
        ("content_type", "text"),
        ("text", text),
        ("when", "now"),
    ]
}

pub fn with<'a>(mut fields: Fields<'a>, more: &[(&'a str, &'a str)]) -> Fields<'a> {
    fields.extend_from_slice(more);
    fields
}

/// `fields` with the submit button `intent` pressed instead.
pub fn with_intent<'a>(fields: &[(&'a str, &'a str)], intent: &'a str) -> Fields<'a> {
    fields
        .iter()
        .map(|&(name, value)| (name, if name == "intent" { intent } else { value }))
        .collect()
}

pub async fn post(
    app: &TestApp,
    session: &Session,
    path: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String, Option<String>) {
    let response = app.post_form_as(session, path, fields).await;
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .map(|value| value.to_str().unwrap().to_owned());
    (status, response.text().await.unwrap(), location)
}

pub async fn broadcasts(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM message_history WHERE NOT legacy")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

pub fn id_from(location: &str) -> i32 {
    location
        .strip_prefix("/messages/")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("not a broadcast page: {location}"))
}

/// A time `days` ahead of today at `hour:minute` in the school's zone, as the
/// composer's `datetime-local` field takes it (`form`), as pages print it
/// (`shown`) and as the database keeps it in UTC (`utc`). Relative to now, so
/// a scheduled time never drifts into the past as the calendar moves on.
pub struct Later {
    pub form: String,
    pub shown: String,
    pub utc: String,
}

pub fn later(days: u64, hour: u32, minute: u32) -> Later {
    let day = Utc::now().with_timezone(&Moscow).date_naive() + Days::new(days);
    let local = day.and_time(NaiveTime::from_hms_opt(hour, minute, 0).unwrap());
    let at = Moscow.from_local_datetime(&local).single().unwrap();
    Later {
        form: local.format("%Y-%m-%dT%H:%M").to_string(),
        shown: local.format("%d.%m.%Y %H:%M").to_string(),
        utc: at.with_timezone(&Utc).format("%Y-%m-%d %H:%M").to_string(),
    }
}
