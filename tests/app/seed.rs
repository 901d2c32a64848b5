//! Demo data: deterministic, realistic, refuses to pile onto real data.

use chrono::{DateTime, TimeZone, Utc};
use hsl_dashboard::store::{self, demo, people};
use sqlx::{Connection, PgPool};

use crate::helpers::migrated_database;

fn anchor() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap()
}

async fn fingerprint(pool: &PgPool) -> Vec<String> {
    let mut out = Vec::new();
    for (table, order) in [
        ("users", "user_id"),
        ("bookings", "id"),
        ("events", "id"),
        ("free_lesson_registrations", "id"),
        ("hackathon_registrations", "id"),
        ("message_recipients", "id"),
        ("stream_registry", "code"),
    ] {
        // created_at/updated_at of the registry are set by now(): leave them out.
        let row = if table == "stream_registry" {
            "(t.code, t.starts_on, t.capacity)::text"
        } else {
            "t::text"
        };
        let sql = format!(
            "SELECT count(*)::text || ':' || coalesce(md5(string_agg({row}, '|' ORDER BY {order})), '') \
             FROM {table} AS t"
        );
        out.push(
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_one(pool)
                .await
                .unwrap(),
        );
    }
    out
}

async fn seed(url: &str, users: u32, force: bool) -> Result<demo::SeedReport, demo::DemoError> {
    let mut conn = store::maintenance_connection(url).await.unwrap();
    let result = demo::seed(&mut conn, users, anchor(), force).await;
    conn.close().await.unwrap();
    result
}

#[tokio::test]
async fn the_same_anchor_gives_the_same_data() {
    let first = migrated_database().await;
    let second = migrated_database().await;
    let a = seed(&first.url, 400, false).await.unwrap();
    let b = seed(&second.url, 400, false).await.unwrap();
    assert_eq!(a, b);
    assert_eq!(
        fingerprint(&first.pool().await).await,
        fingerprint(&second.pool().await).await
    );
}

#[tokio::test]
async fn demo_data_is_realistic() {
    let db = migrated_database().await;
    let report = seed(&db.url, 2000, false).await.unwrap();
    let pool = db.pool().await;

    assert_eq!(report.people, 2000);
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(users, report.users);
    assert!(
        (1700..2000).contains(&users),
        "most people have a users row: {users}"
    );

    // Every status the bot writes appears, NULL included.
    let statuses: Vec<Option<i32>> =
        sqlx::query_scalar("SELECT DISTINCT confirmed FROM bookings ORDER BY 1")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(statuses, vec![Some(-1), Some(0), Some(1), Some(2), None]);

    let streams: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT course_stream::text FROM bookings ORDER BY 1")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        streams,
        [
            "3rd_stream",
            "4th_stream",
            "5th_stream",
            "6th_stream",
            "7th_stream",
            "8th_stream",
            "mentoring"
        ]
    );

    let event_types: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT event_type::text FROM events ORDER BY 1")
            .fetch_all(&pool)
            .await
            .unwrap();
    for expected in [
        "booking_status_changed",
        "lesson_link_clicked",
        "start_command",
        "view_program",
    ] {
        assert!(
            event_types.iter().any(|t| t == expected),
            "{expected} in {event_types:?}"
        );
    }
    let details_ok: bool = sqlx::query_scalar(
        "SELECT bool_and(details ? 'course_id') FROM events WHERE event_type = 'view_program'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(details_ok);

    // Referral codes come with their discount; the rest have none.
    let (with_code, consistent): (i64, bool) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE referral_code IS NOT NULL), \
                bool_and((referral_code IS NULL) = (discount_percent = 0)) FROM bookings",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(with_code > 0 && consistent);

    // Russian names, unique usernames, and people known only from events.
    let cyrillic: bool =
        sqlx::query_scalar("SELECT bool_and(first_name ~ '^[А-ЯЁ][а-яё]+$') FROM users")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(cyrillic);
    let duplicate_usernames: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT username FROM users WHERE username IS NOT NULL \
         GROUP BY username HAVING count(*) > 1) d",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(duplicate_usernames, 0);
    let events_only: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT e.user_id) FROM events e \
         WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.user_id = e.user_id) \
           AND NOT EXISTS (SELECT 1 FROM bookings b WHERE b.user_id = e.user_id)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(events_only > 0);

    let (lessons, two_registrations): (i64, i64) = sqlx::query_as(
        "SELECT count(*), (SELECT count(*) FROM (SELECT user_id FROM free_lesson_registrations \
                           GROUP BY user_id HAVING count(*) > 1) d) \
         FROM free_lesson_registrations WHERE email LIKE '%@example.%' AND lesson_date IS NOT NULL",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(lessons, report.free_lesson_registrations);
    assert!(two_registrations > 0);
    assert!(report.hackathon_registrations > 0 && report.legacy_broadcasts == 3);

    // Nothing is dated after the anchor.
    let latest: DateTime<Utc> = sqlx::query_scalar(
        "SELECT greatest((SELECT max(created_at) FROM events), (SELECT max(created_at) FROM bookings))",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(latest <= anchor());
}

#[tokio::test]
async fn refuses_a_database_with_bookings_unless_forced() {
    let db = migrated_database().await;
    seed(&db.url, 50, false).await.unwrap();
    let refused = seed(&db.url, 50, false).await.unwrap_err();
    assert!(matches!(refused, demo::DemoError::AlreadyHasBookings));
    assert!(refused.to_string().contains("--force"));

    let pool = db.pool().await;
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM bookings")
        .fetch_one(&pool)
        .await
        .unwrap();
    let forced = seed(&db.url, 50, true).await.unwrap();
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM bookings")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(after, before + forced.bookings);

    assert!(matches!(
        seed(&db.url, 0, true).await.unwrap_err(),
        demo::DemoError::BadUserCount
    ));
}

#[tokio::test]
async fn seeding_leaves_the_people_directory_complete() {
    let db = migrated_database().await;
    let report = seed(&db.url, 400, false).await.unwrap();
    let pool = db.pool().await;
    let listed: i64 = sqlx::query_scalar("SELECT count(*) FROM people_directory")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(listed, report.people);
    assert_eq!(crate::people_directory::drift(&pool).await, 0);
    // The watermarks moved past the demo rows: nothing left to catch up.
    assert_eq!(people::catch_up(&pool).await.unwrap(), 0);
}
