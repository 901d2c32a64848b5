//! The analytics cache stays exact as the bot writes: rows added after the
//! first build (also ones with an old timestamp), a row whose transaction
//! commits after a newer one was read, a new registrant's earlier events,
//! and what only a rebuild sees (a deleted row).

use chrono::NaiveDate;
use hsl_dashboard::domain::analytics::DateRange;
use hsl_dashboard::domain::role::Role;
use hsl_dashboard::store::{analytics, analytics_cache};
use serde_json::{Value, json};
use sqlx::Connection;

use crate::analytics::{fixture, get_json};
use crate::helpers::{TestApp, spawn_app};

async fn ok(app: &TestApp, token: &str, path: &str) -> Value {
    let (status, body) = get_json(app, token, path).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{path}: {body}");
    body
}

fn counts(body: &Value, field: &str) -> Vec<i64> {
    body["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[field].as_i64().unwrap())
        .collect()
}

fn range() -> DateRange {
    let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
    DateRange::between(day(9), day(12), day(12)).unwrap()
}

fn per_day(daily: analytics::Daily) -> Vec<i64> {
    daily.points.into_iter().map(|(_, n)| n).collect()
}

/// The cursor lesson's registrations, registrants, converted, conversion.
async fn cursor(app: &TestApp, token: &str) -> Value {
    let body = ok(app, token, "/api/free-lessons").await;
    let t = body["byLessonType"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["lessonType"] == "cursor_lesson")
        .unwrap()
        .clone();
    json!([
        t["registrations"],
        t["registrants"],
        t["converted"],
        t["conversion"]
    ])
}

const DAILY: &str = "/api/events?type=daily&from=2026-11-09&to=2026-11-12";
const GROWTH: &str = "/api/user-growth?from=2026-11-09&to=2026-11-12";

async fn exec(app: &TestApp, sql: &'static str) {
    sqlx::raw_sql(sql).execute(&app.pool).await.unwrap();
}

#[tokio::test]
async fn rows_added_after_the_build_are_counted_once() {
    let app = spawn_app().await;
    fixture(&app.pool).await;
    let token = app.token(Role::Viewer).await;
    assert_eq!(
        counts(&ok(&app, &token, DAILY).await, "count"),
        [1, 0, 1, 3]
    );
    let built_leads = ok(&app, &token, "/api/leads?to=2026-11-12").await;
    assert_eq!(built_leads["counts"]["total"], 2);

    // An event written now with an old time, a new booker, a users row the
    // bot just created, and 202 (known from an event of the 11th) registering.
    exec(
        &app,
        "INSERT INTO events (user_id, event_type, created_at) VALUES (210, 'view_program', '2026-11-10 05:00+00');
         INSERT INTO bookings (user_id, course_id, confirmed, created_at) VALUES (211, 1, 2, '2026-11-11 10:00+00');
         INSERT INTO users (user_id, first_name) VALUES (212, 'Новый');
         INSERT INTO free_lesson_registrations (user_id, email, registered_at, lesson_type)
             VALUES (202, 'z@example.org', '2026-11-12 10:00+00', 'cursor_lesson');",
    )
    .await;
    assert_eq!(
        ok(&app, &token, "/api/stats").await,
        json!({"totalUsers": 12, "activeBookings": 5, "confirmedPayments": 2,
               "freeLessonRegistrations": 4, "freeLessonRegistrants": 3})
    );
    assert_eq!(
        counts(&ok(&app, &token, DAILY).await, "count"),
        [1, 1, 1, 3]
    );
    assert_eq!(
        counts(&ok(&app, &token, GROWTH).await, "newUsers"),
        [2, 3, 2, 1]
    );
    let bookings = analytics::bookings_per_day(&app.pool, &range())
        .await
        .unwrap();
    assert_eq!(per_day(bookings), [1, 1, 2, 2]);
    let lessons = analytics::free_lessons_per_day(&app.pool, &range())
        .await
        .unwrap();
    assert_eq!(per_day(lessons), [0, 2, 1, 1]);
    assert_eq!(cursor(&app, &token).await, json!([3, 3, 1, 33.3]));
    // 202's event before registering counts towards their score.
    let leads = ok(&app, &token, "/api/leads?to=2026-11-12&tier=cold").await;
    let z = leads["leads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|lead| lead["userId"] == 202)
        .expect("202 is a registrant now")
        .clone();
    assert_eq!(
        (z["events"].clone(), z["activeDays"].clone()),
        (json!(1), json!(1))
    );

    // 213's transaction draws an id first but commits after 214's row, with
    // a higher id, has been read: 213 is counted when it appears, once.
    let mut open = sqlx::PgConnection::connect(&app.db.url).await.unwrap();
    let mut tx = open.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO events (user_id, event_type, created_at) \
         VALUES (213, 'start_command', '2026-11-12 12:00+00')",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    exec(
        &app,
        "INSERT INTO events (user_id, event_type, created_at) VALUES (214, 'start_command', '2026-11-12 13:00+00');
         INSERT INTO events (user_id, event_type, details, created_at)
             VALUES (202, 'lesson_link_clicked', '{\"lesson_type\":\"cursor_lesson\"}', '2026-11-12 14:00+00');",
    )
    .await;
    assert_eq!(
        counts(&ok(&app, &token, DAILY).await, "count"),
        [1, 1, 1, 5]
    );
    let pending: i64 =
        sqlx::query_scalar("SELECT count(*) FROM analytics_pending WHERE source = 'events'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(pending, 1, "213's id waits");
    tx.commit().await.unwrap();
    for _ in 0..2 {
        assert_eq!(
            counts(&ok(&app, &token, DAILY).await, "count"),
            [1, 1, 1, 6]
        );
        assert_eq!(ok(&app, &token, "/api/stats").await["totalUsers"], 14);
    }
    let leads = ok(&app, &token, "/api/leads?to=2026-11-12&tier=cold").await;
    let z = leads["leads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|lead| lead["userId"] == 202)
        .unwrap()
        .clone();
    assert_eq!(z["events"], 2, "the event after registering");
    assert_eq!(
        cursor(&app, &token).await,
        json!([3, 3, 2, 66.7]),
        "202 clicked"
    );

    // The same figures as a build from scratch.
    let mut conn = app.pool.acquire().await.unwrap();
    analytics_cache::rebuild(&mut conn, chrono_tz::Europe::Moscow)
        .await
        .unwrap();
    assert_eq!(
        counts(&ok(&app, &token, DAILY).await, "count"),
        [1, 1, 1, 6]
    );
    assert_eq!(ok(&app, &token, "/api/stats").await["totalUsers"], 14);
    assert_eq!(
        ok(&app, &token, "/api/leads?to=2026-11-12&tier=cold").await["leads"],
        leads["leads"]
    );
}

/// The bot deleting a row is only seen by a rebuild (docs/analytics.md).
#[tokio::test]
async fn a_rebuild_sees_deleted_rows() {
    let app = spawn_app().await;
    fixture(&app.pool).await;
    let token = app.token(Role::Viewer).await;
    assert_eq!(ok(&app, &token, "/api/stats").await["totalUsers"], 9);
    exec(
        &app,
        "DELETE FROM hackathon_registrations WHERE user_id = 206",
    )
    .await;
    assert_eq!(ok(&app, &token, "/api/stats").await["totalUsers"], 9);
    let mut conn = app.pool.acquire().await.unwrap();
    analytics_cache::rebuild(&mut conn, chrono_tz::Europe::Moscow)
        .await
        .unwrap();
    assert_eq!(ok(&app, &token, "/api/stats").await["totalUsers"], 8);
}
