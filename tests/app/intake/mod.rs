//! Intake routing (issue 17, item 2): the bot files every new booking under
//! `4th_stream`; a course's rule moves those created after it was switched
//! on into the course's current intake. `moves` drives the mover through
//! bookings written as the bot writes them; `api` the JSON routes and the
//! registry page's switch.

mod api;
mod moves;

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::TestApp;

/// Long enough for a tick (every second) on a busy machine.
const DEADLINE: Duration = Duration::from_secs(30);

/// A booking exactly as the bot's `create_booking` writes it: no
/// `course_stream` (the column default, `4th_stream`, applies), status 0.
pub async fn bot_booking(pool: &PgPool, user_id: i64, course_id: i32) -> i32 {
    sqlx::query_scalar(
        "INSERT INTO bookings (user_id, username, first_name, course_id, confirmed) \
         VALUES ($1, $2, $3, $4, 0) RETURNING id",
    )
    .bind(user_id)
    .bind(format!("student{user_id}"))
    .bind("Студент")
    .bind(course_id)
    .fetch_one(pool)
    .await
    .unwrap()
}

pub async fn stream_of(pool: &PgPool, booking: i32) -> Option<String> {
    sqlx::query_scalar("SELECT course_stream FROM bookings WHERE id = $1")
        .bind(booking)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Polls until `booking` is in `code`, failing after [`DEADLINE`].
pub async fn wait_until_in(pool: &PgPool, booking: i32, code: &str) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let now = stream_of(pool, booking).await;
        if now.as_deref() == Some(code) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "booking {booking} is still in {now:?}, not {code}, after {DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Course 2 with a current intake of its own (`py_1`), whose rule can
/// serve as a sentinel: once a booking of course 2 written after another
/// one has been moved, a tick has looked at the other one too.
pub async fn second_course(pool: &PgPool) {
    sqlx::raw_sql(
        "INSERT INTO courses (id, name, button_text) VALUES (2, 'Вайб кодинг EXTRA', 'EXTRA');
         INSERT INTO stream_registry (code, course_id, display_name, is_current)
           VALUES ('py_1', 2, 'PRO 1-й поток', true);",
    )
    .execute(pool)
    .await
    .unwrap();
}

/// A JSON call with a bearer token: status and body.
pub async fn call(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_owned());
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Switches course `course_id`'s rule through the API, as an editor.
pub async fn switch(app: &TestApp, editor: &str, course_id: i32, enabled: bool) -> Value {
    let (status, body) = call(
        app,
        editor,
        Method::PUT,
        &format!("/api/intake-rules/{course_id}"),
        Some(&format!("{{\"enabled\": {enabled}}}")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["enabled"], enabled, "{body}");
    body
}

/// The mover's audit rows of one booking: (actor, before, after).
pub async fn move_audits(pool: &PgPool, booking: i32) -> Vec<(String, Value, Value)> {
    sqlx::query_as(
        "SELECT actor, before, after FROM audit_log \
         WHERE action = 'booking.intake_move' AND entity_type = 'booking' AND entity_id = $1 \
         ORDER BY id",
    )
    .bind(booking.to_string())
    .fetch_all(pool)
    .await
    .unwrap()
}
