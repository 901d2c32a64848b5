//! The hot reads are shared for a moment, never longer than the freshness
//! rule allows: what the bot writes (a new booking, an in-place `confirmed`
//! change) shows in `/api/course-streams`, `/api/bookings` and `/workshops`
//! of any server process within a second, and what staff change through one
//! process shows in that process at once.
//!
//! "Within a second" is checked as the rule reads: every request that starts
//! a second after the change commits sees it. The caches are warmed before
//! each change, so a result kept too long would be served and fail.

use std::time::Duration;

use hsl_dashboard::App;
use hsl_dashboard::domain::role::Role;
use reqwest::StatusCode;
use serde_json::Value;
use tokio::time::Instant;

use crate::helpers::{TestApp, spawn_app, test_config};

const RULE: Duration = Duration::from_secs(1);

/// A second server process on `app`'s database, as `(address, client)`.
async fn second_process(app: &TestApp) -> String {
    let second = App::build(test_config(&app.db.url)).await.unwrap();
    let address = format!("http://{}", second.local_addr());
    tokio::spawn(second.run_until(std::future::pending()));
    address
}

async fn json(app: &TestApp, base: &str, token: &str, path: &str) -> Value {
    let response = app
        .client
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.unwrap()
}

/// `8th_stream`'s `(total, confirmed)` in `/api/course-streams`.
async fn eighth(app: &TestApp, base: &str, token: &str) -> (i64, i64) {
    let rows = json(app, base, token, "/api/course-streams").await;
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["courseStreamRaw"] == "8th_stream" && row["courseId"] == 1)
        .unwrap_or_else(|| panic!("no 8th_stream in {rows}"));
    (
        row["total"].as_i64().unwrap(),
        row["confirmed"].as_i64().unwrap(),
    )
}

/// The newest booking's `(id, confirmed)` in `/api/bookings`.
async fn newest(app: &TestApp, base: &str, token: &str) -> (i64, Value) {
    let rows = json(app, base, token, "/api/bookings?limit=50").await;
    let first = &rows[0];
    (first["id"].as_i64().unwrap(), first["confirmed"].clone())
}

/// The bookings count on `/workshops`' card of `8th_stream`.
async fn card(app: &TestApp, base: &str, session: &crate::helpers::Session) -> String {
    let html = app
        .client
        .get(format!("{base}/workshops"))
        .header("cookie", &session.cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let start = html
        .find("data-stream=\"8th_stream\"")
        .unwrap_or_else(|| panic!("no 8th_stream card in {html}"));
    let card = &html[start..start + html[start..].find("</article>").unwrap()];
    let at = card.find("data-bookings=\"").unwrap() + "data-bookings=\"".len();
    card[at..at + card[at..].find('"').unwrap()].to_owned()
}

/// Waits until the freshness rule's second has passed since `committed`.
async fn rule_passed(committed: Instant) {
    tokio::time::sleep_until(committed + RULE).await;
}

#[tokio::test]
async fn the_bots_writes_show_within_a_second_and_staff_changes_at_once() {
    let app = spawn_app().await;
    let other = second_process(&app).await;
    let here = app.address.clone();
    let token = app.token(Role::Editor).await;
    let session = app.login_as(Role::Viewer).await;
    sqlx::raw_sql(
        "INSERT INTO bookings (id, user_id, username, first_name, course_id, confirmed, created_at, course_stream) \
         VALUES (1, 501, 'anna', 'Анна', 1, 1, now() - interval '1 day', '8th_stream'); \
         SELECT setval(pg_get_serial_sequence('bookings', 'id'), 1);",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    tokio::time::sleep(RULE).await;
    for base in [&here, &other] {
        assert_eq!(eighth(&app, base, &token).await, (1, 0));
        assert_eq!(newest(&app, base, &token).await.0, 1);
        assert_eq!(card(&app, base, &session).await, "1");
    }

    // The bot books: a new row, as it writes them.
    sqlx::query(
        "INSERT INTO bookings (user_id, username, first_name, course_id, course_stream) \
         VALUES (502, 'boris', 'Борис', 1, '8th_stream')",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let committed = Instant::now();
    // Asked again and again meanwhile (the shared results stay warm)...
    while Instant::now() < committed + RULE / 2 {
        eighth(&app, &here, &token).await;
        newest(&app, &other, &token).await;
    }
    // ...and seen by every request once the second has passed.
    rule_passed(committed).await;
    for base in [&here, &other] {
        assert_eq!(eighth(&app, base, &token).await, (2, 0), "{base}");
        assert_eq!(newest(&app, base, &token).await.0, 2, "{base}");
        assert_eq!(card(&app, base, &session).await, "2", "{base}");
    }

    // The bot's approve button: `confirmed` changed in place.
    sqlx::query("UPDATE bookings SET confirmed = 2 WHERE id = 1")
        .execute(&app.pool)
        .await
        .unwrap();
    let committed = Instant::now();
    while Instant::now() < committed + RULE / 2 {
        eighth(&app, &other, &token).await;
    }
    rule_passed(committed).await;
    for base in [&here, &other] {
        assert_eq!(eighth(&app, base, &token).await, (2, 1), "{base}");
        let rows = json(&app, base, &token, "/api/bookings?status=2&limit=50").await;
        assert_eq!(rows[0]["id"], 1, "{base}: {rows}");
    }

    // Staff confirm through this process: shown here at once...
    for base in [&here, &other] {
        assert_eq!(eighth(&app, base, &token).await, (2, 1));
    }
    let response = app
        .client
        .patch(app.url("/api/users/502/bookings"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"bookingId": 2, "updates": {"confirmed": 2}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let committed = Instant::now();
    assert_eq!(eighth(&app, &here, &token).await, (2, 2), "at once here");
    assert_eq!(newest(&app, &here, &token).await.1, 2);
    // ...and in the other process within the second.
    rule_passed(committed).await;
    assert_eq!(eighth(&app, &other, &token).await, (2, 2));
    assert_eq!(card(&app, &other, &session).await, "2");
}
