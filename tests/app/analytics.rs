//! Every analytics definition (docs/analytics.md) against a small hand-built
//! fixture, with the expected numbers written out here. Rows near midnight
//! land on different days in UTC and in Moscow (the school's zone); the
//! store is also read through sessions in a third zone, to show that the
//! database session's zone never decides a day.

use hsl_dashboard::domain::role::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use chrono::NaiveDate;
use hsl_dashboard::domain::analytics::DateRange;
use hsl_dashboard::store::{analytics, analytics_cache};
use sqlx::postgres::PgPoolOptions;

use crate::helpers::{TestApp, spawn_app, test_config};

/// Fixture (times in UTC; Moscow is UTC+3):
/// - 201 in `users` (first seen 11-09 10:00), a confirmed booking 11-10,
///   events 11-09 10:00 and 11-12 20:59 (23:59 in Moscow, still the 12th);
/// - 202 only in events: one at 11-10 22:30, which is 11-11 in Moscow;
/// - 203 in `users` from 11-11, but a cancelled booking 11-09 20:59 (23:59
///   in Moscow) makes that their first appearance;
/// - 204 two free-lesson registrations (cursor 11-10, AI agents 11-11) and
///   a lesson-link click for cursor;
/// - 205 a cursor registration 11-10 and a click for another lesson type,
///   a booking with status NULL;
/// - 206 only a hackathon registration 11-12;
/// - 207 in `users` since October, bookings 0 (11-11 21:30 = 11-12 in
///   Moscow), 1 (11-12) and 5 (October);
/// - 208 a `users` row without timestamps; 209 an event without one.
pub async fn fixture(pool: &sqlx::PgPool) {
    sqlx::raw_sql(
        r#"INSERT INTO users (user_id, username, first_name, last_name, first_seen_at, updated_at) VALUES
             (201, 'anna', 'Анна', 'Иванова', '2026-11-09 10:00', '2026-11-09 10:00'),
             (203, 'boris', 'Борис', NULL, '2026-11-11 08:00', '2026-11-11 08:00'),
             (207, 'vera', 'Вера', NULL, '2026-10-01 08:00', '2026-11-12 09:00'),
             (208, NULL, 'Гость', NULL, NULL, NULL);
           INSERT INTO bookings (user_id, username, first_name, course_id, confirmed, created_at, course_stream) VALUES
             (203, 'boris', 'Борис', 1, -1, '2026-11-09 20:59+00', '8th_stream'),
             (201, 'anna', 'Анна', 1, 2, '2026-11-10 12:00+00', '8th_stream'),
             (205, 'dina', 'Дина', 1, NULL, '2026-11-11 10:00+00', '8th_stream'),
             (207, 'vera', 'Вера', 1, 0, '2026-11-11 21:30+00', '8th_stream'),
             (207, 'vera', 'Вера', 1, 1, '2026-11-12 09:00+00', '7th_stream'),
             (207, 'vera', 'Вера', 1, 5, '2026-10-02 09:00+00', '7th_stream');
           INSERT INTO events (user_id, event_type, details, created_at) VALUES
             (201, 'start_command', '{"username":"anna"}', '2026-11-09 10:00+00'),
             (202, 'view_program', '{"course_id":"1"}', '2026-11-10 22:30+00'),
             (204, 'lesson_link_clicked', '{"lesson_type":"cursor_lesson"}', '2026-11-12 15:00+00'),
             (205, 'lesson_link_clicked', '{"lesson_type":"vibe_coding_intro"}', '2026-11-12 16:00+00'),
             (209, 'start_command', NULL, NULL),
             (201, 'view_program', '{"course_id":"1"}', '2026-11-12 20:59+00');
           INSERT INTO free_lesson_registrations (user_id, username, first_name, email, registered_at,
                                                  notification_sent, lesson_type, lesson_date) VALUES
             (204, 'gleb', 'Глеб', 'gleb@example.org', '2026-11-10 09:00+00', true, 'cursor_lesson', '2026-11-14'),
             (204, 'gleb', 'Глеб', 'gleb@example.org', '2026-11-11 09:00+00', false, 'ai_agents_lesson', '2026-11-21'),
             (205, 'dina', 'Дина', 'dina@example.org', '2026-11-10 10:00+00', NULL, 'cursor_lesson', '2026-11-14');
           INSERT INTO hackathon_registrations (user_id, username, first_name, registered_at) VALUES
             (206, 'hack', 'Хакер', '2026-11-12 10:00+00');"#,
    )
    .execute(pool)
    .await
    .unwrap();
}

pub async fn get_json(app: &TestApp, token: &str, path: &str) -> (StatusCode, Value) {
    let response = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

async fn ok(app: &TestApp, token: &str, path: &str) -> Value {
    let (status, body) = get_json(app, token, path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

fn counts(points: &Value, field: &str) -> Vec<i64> {
    points
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[field].as_i64().unwrap())
        .collect()
}

const RANGE: &str = "from=2026-11-09&to=2026-11-12";

#[tokio::test]
async fn every_definition_matches_the_hand_counted_fixture() {
    let app = spawn_app().await;
    fixture(&app.pool).await;
    let token = app.token(Role::Viewer).await;

    let stats = ok(&app, &token, "/api/stats").await;
    assert_eq!(
        stats,
        json!({"totalUsers": 9, "activeBookings": 4, "confirmedPayments": 1,
               "freeLessonRegistrations": 3, "freeLessonRegistrants": 2})
    );

    let growth = ok(&app, &token, &format!("/api/user-growth?{RANGE}")).await;
    assert_eq!(
        (growth["days"].clone(), growth["newUsers"].clone()),
        (json!(4), json!(6))
    );
    assert_eq!(growth["points"][0]["date"], "2026-11-09");
    // 202's only event is on the 10th in UTC but the 11th in Moscow.
    assert_eq!(counts(&growth["points"], "newUsers"), [2, 2, 1, 1]);
    // 207 (October), 208 and 209 (no timestamps) were there before.
    assert_eq!(counts(&growth["points"], "totalUsers"), [5, 7, 8, 9]);
    assert_eq!(growth["averagePerDay"], 1.5);

    let daily = ok(&app, &token, &format!("/api/events?type=daily&{RANGE}")).await;
    assert_eq!(counts(&daily["points"], "count"), [1, 0, 1, 3]);
    assert_eq!(
        (daily["total"].clone(), daily["averagePerDay"].clone()),
        (json!(5), json!(1.3))
    );

    let top = ok(&app, &token, &format!("/api/events?type=top&{RANGE}")).await;
    assert_eq!(top["total"], 5, "the event without a time is on no day");
    let types: Vec<(String, i64, f64)> = top["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["eventType"].as_str().unwrap().to_owned(),
                t["count"].as_i64().unwrap(),
                t["percentage"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        types,
        [
            ("lesson_link_clicked".to_owned(), 2, 40.0),
            ("view_program".to_owned(), 2, 40.0),
            ("start_command".to_owned(), 1, 20.0)
        ]
    );
    // A limit shows fewer types; percentages keep the whole range as base.
    let top1 = ok(
        &app,
        &token,
        &format!("/api/events?type=top&limit=1&{RANGE}"),
    )
    .await;
    assert_eq!(top1["types"].as_array().unwrap().len(), 1);
    assert_eq!(top1["types"][0]["percentage"], 40.0);

    // In UTC the 22:30 view would be on the 10th: one day, one event apart.
    let one_day = ok(
        &app,
        &token,
        "/api/events?type=daily&from=2026-11-11&to=2026-11-11",
    )
    .await;
    assert_eq!(counts(&one_day["points"], "count"), [1]);

    let recent = ok(&app, &token, "/api/events?type=recent&limit=3").await;
    let events = recent["events"].as_array().unwrap();
    let who: Vec<i64> = events
        .iter()
        .map(|e| e["userId"].as_i64().unwrap())
        .collect();
    assert_eq!(who, [201, 205, 204]);
    assert_eq!(events[0]["createdAt"], "2026-11-12T20:59:00.000Z");
    assert_eq!(events[0]["firstName"], "Анна");
    assert_eq!(
        events[1]["username"], "dina",
        "a snapshot name without a users row"
    );
    assert_eq!(events[0]["label"], "Смотрел программу курса");

    let lessons = ok(&app, &token, "/api/free-lessons").await;
    assert_eq!(
        lessons["byLessonType"],
        json!([
            {"lessonType": "cursor_lesson", "registrations": 2, "registrants": 2,
             "converted": 1, "conversion": 50.0, "notified": 1},
            {"lessonType": "ai_agents_lesson", "registrations": 1, "registrants": 1,
             "converted": 0, "conversion": 0.0, "notified": 0}
        ])
    );
    assert_eq!(
        lessons["notificationSent"],
        json!({"sent": 1, "total": 3, "share": 33.3})
    );
    assert_eq!(lessons["total"], 3);
}

/// The day buckets follow SCHOOL_TIMEZONE: another zone rebuilds them.
#[tokio::test]
async fn another_school_zone_rebuckets_the_same_rows() {
    let app = spawn_app().await;
    fixture(&app.pool).await;
    let token = app.token(Role::Viewer).await;
    let moscow = ok(&app, &token, &format!("/api/events?type=daily&{RANGE}")).await;
    assert_eq!(counts(&moscow["points"], "count"), [1, 0, 1, 3]);

    let mut config = test_config(&app.db.url);
    config.school_timezone = chrono_tz::UTC;
    let utc_app = hsl_dashboard::App::build(config).await.unwrap();
    let utc_url = format!("http://{}", utc_app.local_addr());
    tokio::spawn(utc_app.run_until(std::future::pending()));
    let utc = app
        .client
        .get(format!("{utc_url}/api/events?type=daily&{RANGE}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    // 202's view moves to the 10th; 201's 20:59 view stays on the 12th.
    assert_eq!(counts(&utc["points"], "count"), [1, 1, 0, 3]);
    let growth = app
        .client
        .get(format!("{utc_url}/api/user-growth?{RANGE}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(counts(&growth["points"], "newUsers"), [2, 3, 0, 1]);
}

/// The store's figures through sessions whose zone is Los Angeles: the same
/// Moscow days as over HTTP (sqlx's own sessions run in UTC).
#[tokio::test]
async fn the_session_zone_never_decides_a_day() {
    let app = spawn_app().await;
    fixture(&app.pool).await;
    let la = PgPoolOptions::new()
        .max_connections(2)
        .after_connect(|conn, _| {
            Box::pin(async move {
                sqlx::query("SET TIME ZONE 'America/Los_Angeles'")
                    .execute(conn)
                    .await
                    .map(|_| ())
            })
        })
        .connect(&app.db.url)
        .await
        .unwrap();
    let zone: String = sqlx::query_scalar("SHOW timezone")
        .fetch_one(&la)
        .await
        .unwrap();
    assert_eq!(zone, "America/Los_Angeles");
    let moscow = chrono_tz::Europe::Moscow;
    let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
    let range = DateRange::between(day(9), day(12), day(12)).unwrap();
    analytics_cache::refresh(&la, moscow).await.unwrap();
    let counts = |daily: analytics::Daily| -> Vec<i64> {
        daily.points.into_iter().map(|(_, count)| count).collect()
    };
    let bookings = analytics::bookings_per_day(&la, &range).await.unwrap();
    // 207's booking at 21:30 UTC on the 11th is the 12th in Moscow.
    assert_eq!(counts(bookings), [1, 1, 1, 2]);
    let events = analytics::events_per_day(&la, &range).await.unwrap();
    assert_eq!(counts(events), [1, 0, 1, 3]);
    let growth = analytics::growth(&la, &range).await.unwrap();
    assert_eq!(counts(growth.new_users), [2, 2, 1, 1]);
    assert_eq!(counts(growth.cumulative), [5, 7, 8, 9]);
    let lessons = analytics::free_lessons_per_day(&la, &range).await.unwrap();
    assert_eq!(counts(lessons), [0, 2, 1, 0]);
}
