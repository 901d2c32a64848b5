//! The people directory behind `/users`: rows the bot writes straight into
//! its tables show up on the next request, a transaction that commits late
//! is still read, re-reads cost nothing, and what watermarks cannot see
//! (deletes, edits in place, old timestamps) is fixed by a repair.

use hsl_dashboard::domain::role::Role;
use hsl_dashboard::store::{self, people};
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::{Connection, PgPool};

use crate::helpers::{TestApp, spawn_app};
use crate::users_api::people as fixture;

/// People whose directory row differs from a recomputation from the bot's
/// tables, or who are in only one of them.
pub async fn drift(pool: &PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT count(DISTINCT user_id) FROM ( \
           (SELECT * FROM people_directory EXCEPT SELECT * FROM people_directory_source) \
           UNION ALL \
           (SELECT * FROM people_directory_source EXCEPT SELECT * FROM people_directory)) d",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn setup() -> (TestApp, String) {
    let app = spawn_app().await;
    fixture(&app).await;
    let token = app.token(Role::Viewer).await;
    (app, token)
}

async fn users(app: &TestApp, token: &str, query: &str) -> Value {
    let response = app
        .client
        .get(app.url(&format!("/api/users?{query}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{query}");
    response.json().await.unwrap()
}

/// Users lists are shared by identical requests for under a second: after
/// a write, a list asked for before shows it once that second is over.
async fn shared_lists_expire() {
    tokio::time::sleep(hsl_dashboard::app::fresh::MAX_AGE).await;
}

async fn found(app: &TestApp, token: &str, search: &str) -> Vec<i64> {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("search", search)
        .append_pair("sort", "id")
        .finish();
    users(app, token, &query).await["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| user["user_id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn rows_the_bot_adds_show_up_within_a_second() {
    let (app, token) = setup().await;
    let before = users(&app, &token, "limit=1").await["total"]
        .as_i64()
        .unwrap();
    assert_eq!(found(&app, &token, "ольга").await, [111]);

    // As the bot writes them: default timestamps, serial ids.
    sqlx::raw_sql(
        r#"INSERT INTO users (user_id, username, first_name, last_name)
             VALUES (900, 'fresh_user', 'Свежий', 'Новичков');
           INSERT INTO events (user_id, event_type, details)
             VALUES (901, 'start_command', '{"username":"events_only","first_name":"Ева"}');
           INSERT INTO bookings (user_id, username, first_name, course_id, confirmed, course_stream)
             VALUES (110, 'petr_k', 'Пётр', 1, 0, '8th_stream');
           UPDATE users SET first_name = 'Оля', updated_at = now() WHERE user_id = 111;"#,
    )
    .execute(&app.pool)
    .await
    .unwrap();
    shared_lists_expire().await;

    let body = users(&app, &token, "limit=1").await;
    assert_eq!(body["total"], before + 2, "{body}");
    assert_eq!(found(&app, &token, "fresh_user").await, [900]);
    assert_eq!(found(&app, &token, "новичк").await, [900]);
    assert_eq!(found(&app, &token, "@events_only").await, [901]);
    assert_eq!(found(&app, &token, "ева").await, [901]);
    assert_eq!(found(&app, &token, "оля").await, [111], "the new name");
    assert!(
        found(&app, &token, "ольга").await.is_empty(),
        "not the old one"
    );

    // 110's newest row is now the booking: their activity and their place.
    let booked_at: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT max(created_at) FROM bookings WHERE user_id = 110")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let listed = users(&app, &token, "stream=8th_stream&status=0").await;
    let petr = listed["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|user| user["user_id"] == 110)
        .unwrap_or_else(|| panic!("110 booked the 8th stream: {listed}"));
    assert_eq!(
        petr["last_activity"],
        booked_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    );
    assert_eq!(petr["total_bookings"], 1);
    assert_eq!(drift(&app.pool).await, 0);
}

#[tokio::test]
async fn a_bot_transaction_that_commits_late_is_still_read() {
    let (app, token) = setup().await;
    assert!(found(&app, &token, "910").await.is_empty());

    // The bot takes booking id N in a transaction that stays open while
    // another one takes N + 1 and commits; the dashboard reads in between.
    let mut slow = sqlx::PgConnection::connect(&app.db.url).await.unwrap();
    let mut slow_tx = slow.begin().await.unwrap();
    let slow_id: i32 = sqlx::query_scalar(
        "INSERT INTO bookings (user_id, username, first_name, course_id) \
         VALUES (910, 'late', 'Поздний', 1) RETURNING id",
    )
    .fetch_one(&mut *slow_tx)
    .await
    .unwrap();
    let quick_id: i32 = sqlx::query_scalar(
        "INSERT INTO bookings (user_id, username, first_name, course_id) \
         VALUES (911, 'quick', 'Быстрый', 1) RETURNING id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(quick_id > slow_id);
    assert_eq!(found(&app, &token, "911").await, [911]);
    assert!(
        found(&app, &token, "910").await.is_empty(),
        "not committed yet"
    );

    slow_tx.commit().await.unwrap();
    shared_lists_expire().await;
    assert_eq!(found(&app, &token, "910").await, [910]);
    assert_eq!(found(&app, &token, "поздн").await, [910]);
    assert_eq!(drift(&app.pool).await, 0);
}

#[tokio::test]
async fn reads_inside_the_overlap_window_recompute_only_new_rows() {
    let (app, _token) = setup().await;
    let pool = &app.pool;
    assert!(people::catch_up(pool).await.unwrap() > 0, "the fixture");
    // Everything is still inside the overlap window and read again, but
    // nobody is recomputed twice.
    assert_eq!(people::catch_up(pool).await.unwrap(), 0);
    sqlx::query("INSERT INTO events (user_id, event_type) VALUES (101, 'help_command')")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(people::catch_up(pool).await.unwrap(), 1);
    assert_eq!(people::catch_up(pool).await.unwrap(), 0);
    assert_eq!(drift(&app.pool).await, 0);
}

#[tokio::test]
async fn a_repair_fixes_what_watermarks_cannot_see() {
    let (app, token) = setup().await;
    // A rebuild starts the watermarks at the tables' ends, as after a
    // migration or seeding.
    let mut conn = store::maintenance_connection(&app.db.url).await.unwrap();
    assert!(people::rebuild(&mut conn).await.unwrap() > 0);
    assert_eq!(drift(&app.pool).await, 0);
    assert_eq!(found(&app, &token, "бори").await, [102]);
    assert_eq!(found(&app, &token, "105").await, [105]);

    // Below the watermarks: an edit in place, a delete, and a users row
    // written with an old updated_at (an import, not the bot).
    sqlx::raw_sql(
        "UPDATE bookings SET first_name = 'Борислав' WHERE user_id = 102;
         DELETE FROM bookings WHERE user_id = 105;
         INSERT INTO users (user_id, username, first_name, updated_at, first_seen_at)
           VALUES (920, 'imported', 'Импорт', '2025-01-01 00:00', '2025-01-01 00:00');",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let pool = &app.pool;
    people::catch_up(pool).await.unwrap();
    assert_eq!(drift(&app.pool).await, 3, "the catch-up cannot see them");

    assert_eq!(people::repair(pool).await.unwrap(), 3);
    assert_eq!(drift(&app.pool).await, 0);
    assert_eq!(people::repair(pool).await.unwrap(), 0);
    shared_lists_expire().await;
    assert_eq!(found(&app, &token, "борислав").await, [102]);
    assert!(found(&app, &token, "105").await.is_empty());
    assert_eq!(found(&app, &token, "imported").await, [920]);
}
