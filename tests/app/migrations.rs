//! Migrations create the schema on an empty database and adopt the school's
//! production database (bot_schema.sql with data) without losing anything.

use hsl_dashboard::store::{self, MIGRATOR};
use sqlx::PgPool;

use crate::helpers::{empty_database, migrated_database};

const BOT_SCHEMA: &str = include_str!("../fixtures/bot_schema.sql");

const BOT_TABLES: &[&str] = &[
    "courses",
    "bookings",
    "referral_coupons",
    "referral_usage",
    "events",
    "free_lesson_registrations",
    "hackathon_registrations",
    "users",
    "message_history",
    "message_recipients",
];

/// Rows in every table of the fixture, including the awkward ones: NULL and
/// out-of-range statuses, a course 1 with another name, duplicate legacy
/// recipients, naive UTC timestamps.
const FIXTURE_ROWS: &str = r#"
INSERT INTO courses (id, name, button_text, price_usd_cents) VALUES
    (1, 'Vibe Coding (bot name)', 'Записаться', 49900),
    (2, 'Python', 'Python', 0);
INSERT INTO bookings (user_id, username, first_name, course_id, confirmed, created_at,
                      referral_code, discount_percent, course_stream) VALUES
    (101, 'anna', 'Анна', 1, 2, '2025-03-01 10:00+00', 'FRIEND10', 10, '7th_stream'),
    (102, NULL, 'Иван', 1, NULL, '2024-01-01 00:00+00', NULL, NULL, NULL),
    (103, 'olga', 'Ольга', 1, 7, '2025-05-05 05:05+00', NULL, 0, '9th_stream'),
    (104, 'max', NULL, 2, -1, DEFAULT, NULL, DEFAULT, DEFAULT);
INSERT INTO referral_coupons (code, name, discount_percent, max_activations, created_by)
    VALUES ('FRIEND10', 'Друзья', 10, 100, 1);
INSERT INTO referral_usage (coupon_id, user_id, booking_id) VALUES (1, 101, 1);
INSERT INTO events (user_id, event_type, details, created_at) VALUES
    (101, 'start_command', '{"username": "anna"}', '2025-02-28 21:30+00'),
    (105, 'view_program', '{"course_id": "1"}', '2025-03-02 12:00+00'),
    (105, 'lesson_link_clicked', NULL, DEFAULT);
INSERT INTO free_lesson_registrations (user_id, username, first_name, email, lesson_type, lesson_date)
    VALUES (106, 'lead', 'Лид', 'lead@example.com', 'cursor_lesson', '2025-04-05'),
           (106, 'lead', 'Лид', 'lead@example.com', 'ai_agents_lesson', NULL);
INSERT INTO hackathon_registrations (user_id, username, first_name) VALUES (107, 'hack', 'Хак');
INSERT INTO users (user_id, username, first_name, last_name, language_code, first_seen_at)
    VALUES (101, 'anna', 'Анна', 'Иванова', 'ru', '2025-02-28 21:30:00');
INSERT INTO message_history (message_text, total_recipients, successful_deliveries,
                             recipient_type, recipient_group)
    VALUES ('Старое сообщение', 2, 1, 'individual', NULL),
           ('Поток', 1, 1, 'group', '7th_stream');
INSERT INTO message_recipients (message_id, user_id, username, delivery_status, telegram_message_id)
    VALUES (1, 101, 'anna', 'sent', 11), (1, 101, 'anna', 'sent', 11),
           (1, 102, NULL, 'failed', NULL), (2, 101, 'anna', 'deleted', 12);
"#;

/// The previous dashboard's tables, which broadcasts extend with columns.
const EXTENDED_TABLES: &[&str] = &["message_history", "message_recipients"];

/// Per table: row count and an md5 over every row in id order, of the
/// columns the table had in the fixture (tables we extend gain columns).
async fn table_fingerprints(pool: &PgPool) -> Vec<(String, i64, String)> {
    let mut out = Vec::new();
    for table in BOT_TABLES {
        let order = if *table == "users" { "user_id" } else { "id" };
        let columns: Vec<String> = sqlx::query_scalar(
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name = $1 \
             ORDER BY ordinal_position",
        )
        .bind(table)
        .fetch_all(pool)
        .await
        .unwrap();
        let columns = original_columns(table, columns);
        let sql = format!(
            "SELECT count(*), coalesce(md5(string_agg(row({})::text, '|' ORDER BY {order})), '') \
             FROM {table} AS t",
            columns.join(", ")
        );
        let (count, hash): (i64, String) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_one(pool)
            .await
            .unwrap();
        out.push((table.to_string(), count, hash));
    }
    out
}

/// The columns of `table` as bot_schema.sql creates them: all of them,
/// except for the tables we extend, whose added columns come after.
fn original_columns(table: &str, columns: Vec<String>) -> Vec<String> {
    let original: &[&str] = match table {
        "message_history" => &[
            "id",
            "message_text",
            "total_recipients",
            "successful_deliveries",
            "sent_at",
            "created_at",
            "recipient_type",
            "recipient_group",
            "scheduled_at",
        ],
        "message_recipients" => &[
            "id",
            "message_id",
            "user_id",
            "username",
            "delivery_status",
            "telegram_message_id",
            "created_at",
        ],
        _ => return columns,
    };
    original.iter().map(|c| (*c).to_owned()).collect()
}

/// Every column of the bot's tables with its type, default and nullability.
async fn bot_columns(pool: &PgPool) -> Vec<(String, String, String, Option<String>, String)> {
    sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text, column_default::text, \
                is_nullable::text \
         FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name = ANY($1) \
         ORDER BY table_name, ordinal_position",
    )
    .bind(BOT_TABLES)
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn applied_migrations(pool: &PgPool) -> Vec<(i64, Vec<u8>)> {
    sqlx::query_as("SELECT version, checksum FROM _sqlx_migrations ORDER BY version")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn migrations_adopt_the_production_schema_with_data_and_keep_every_row() {
    let db = empty_database().await;
    let pool = db.pool().await;
    sqlx::raw_sql(BOT_SCHEMA).execute(&pool).await.unwrap();
    sqlx::raw_sql(FIXTURE_ROWS).execute(&pool).await.unwrap();
    let rows_before = table_fingerprints(&pool).await;
    let columns_before = bot_columns(&pool).await;
    assert!(
        rows_before.iter().all(|(_, count, _)| *count > 0),
        "{rows_before:?}"
    );

    store::migrate(&db.url).await.unwrap();
    assert_eq!(table_fingerprints(&pool).await, rows_before, "rows changed");
    // Every column stays as it was; the tables we extend only gain columns.
    let columns_after = bot_columns(&pool).await;
    let kept: Vec<_> = columns_after
        .iter()
        .filter(|c| {
            !EXTENDED_TABLES.contains(&c.0.as_str())
                || original_columns(&c.0, Vec::new()).contains(&c.1)
        })
        .cloned()
        .collect();
    assert_eq!(kept, columns_before, "bot columns changed");

    // Old broadcasts show as finished legacy ones, their duplicate
    // recipient rows kept; new rows are held to one per person.
    let legacy: Vec<(i32, String, bool)> =
        sqlx::query_as("SELECT id, status, legacy FROM message_history ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(legacy, [(1, "done".into(), true), (2, "done".into(), true)]);
    let duplicate = sqlx::query(
        "INSERT INTO message_recipients (message_id, user_id, delivery_status) \
         VALUES (1, 500, 'pending'), (1, 500, 'pending')",
    )
    .execute(&pool)
    .await
    .unwrap_err();
    assert!(
        duplicate.to_string().contains("message_recipients_once"),
        "{duplicate}"
    );

    // The bot's course 1 keeps its own name, and its serial still works.
    let name: String = sqlx::query_scalar("SELECT name FROM courses WHERE id = 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(name, "Vibe Coding (bot name)");
    let next: i32 = sqlx::query_scalar(
        "INSERT INTO courses (name, button_text) VALUES ('Новый', 'x') RETURNING id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(next, 3);

    // Running the migrations again is a no-op.
    let history = applied_migrations(&pool).await;
    assert_eq!(history.len(), MIGRATOR.iter().count());
    let rows_after_first = table_fingerprints(&pool).await;
    store::migrate(&db.url).await.unwrap();
    assert_eq!(applied_migrations(&pool).await, history);
    assert_eq!(table_fingerprints(&pool).await, rows_after_first);
}

#[tokio::test]
async fn migrations_build_the_schema_on_an_empty_database() {
    let db = migrated_database().await;
    let pool = db.pool().await;

    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = 'public' ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for table in BOT_TABLES.iter().chain(&["stream_registry"]) {
        assert!(
            tables.iter().any(|t| t == table),
            "{table} missing: {tables:?}"
        );
    }

    let course: (i32, String) = sqlx::query_as("SELECT id, name FROM courses")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(course, (1, "Вайб кодинг".to_owned()));
    // The explicit id 1 must not collide with the bot's next insert.
    let next: i32 = sqlx::query_scalar(
        "INSERT INTO courses (name, button_text) VALUES ('Второй', 'x') RETURNING id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(next, 2);

    let streams: Vec<(String, String, i32, bool)> = sqlx::query_as(
        "SELECT code::text, display_name, course_id, is_current FROM stream_registry ORDER BY code",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let expected: Vec<(String, String, i32, bool)> = [
        ("3rd_stream", "3-й поток", false),
        ("4th_stream", "4-й поток", false),
        ("5th_stream", "5-й поток", false),
        ("6th_stream", "6-й поток", false),
        ("7th_stream", "7-й поток", false),
        ("8th_stream", "8-й поток", true),
        ("mentoring", "Менторинг", false),
    ]
    .into_iter()
    .map(|(code, name, current)| (code.to_owned(), name.to_owned(), 1, current))
    .collect();
    assert_eq!(streams, expected);

    // One current intake per course, enforced by the database.
    let second_current =
        sqlx::query("UPDATE stream_registry SET is_current = TRUE WHERE code = '7th_stream'")
            .execute(&pool)
            .await;
    assert!(second_current.is_err());

    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT indexname::text FROM pg_indexes WHERE schemaname = 'public' AND indexname LIKE 'hsl_%'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for index in [
        "hsl_bookings_created_at_id",
        "hsl_bookings_user_id",
        "hsl_bookings_course_stream_status",
        "hsl_events_user_id_created_at",
        "hsl_events_created_at",
        "hsl_events_event_type_created_at",
        "hsl_free_lesson_registrations_user_id",
        "hsl_free_lesson_registrations_registered_at",
        "hsl_hackathon_registrations_user_id",
        "hsl_hackathon_registrations_registered_at",
    ] {
        assert!(indexes.iter().any(|i| i == index), "{index} missing");
    }
}

#[tokio::test]
async fn migrations_fill_the_people_directory_from_the_bot_tables() {
    let db = empty_database().await;
    let pool = db.pool().await;
    sqlx::raw_sql(BOT_SCHEMA).execute(&pool).await.unwrap();
    sqlx::raw_sql(FIXTURE_ROWS).execute(&pool).await.unwrap();
    store::migrate(&db.url).await.unwrap();

    type Person = (i64, Option<String>, Option<String>, Option<String>, bool);
    let people: Vec<Person> = sqlx::query_as(
        "SELECT user_id, username, first_name, last_name, in_users \
         FROM people_directory ORDER BY user_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let text = |s: &str| Some(s.to_owned());
    assert_eq!(
        people,
        [
            (101, text("anna"), text("Анна"), text("Иванова"), true),
            (102, None, text("Иван"), None, false),
            (103, text("olga"), text("Ольга"), None, false),
            (104, text("max"), None, None, false),
            // Only events, none with a name.
            (105, None, None, None, false),
            (106, text("lead"), text("Лид"), None, false),
            (107, text("hack"), text("Хак"), None, false),
        ]
    );
    assert_eq!(crate::people_directory::drift(&pool).await, 0);
    // The id watermarks start at the tables' ends.
    let safe: Vec<(String, Option<i64>)> = sqlx::query_as(
        "SELECT source, safe FROM people_directory_sync WHERE source <> 'users' ORDER BY source",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let end = |source: &str, id: i64| (source.to_owned(), Some(id));
    assert_eq!(
        safe,
        [
            end("bookings", 4),
            end("events", 3),
            end("free_lesson_registrations", 2),
            end("hackathon_registrations", 1),
        ]
    );
}
