//! Deterministic, realistic demo data, generated set-based inside PostgreSQL.
//!
//! "Random" choices come from `hashint8extended(row number, salt)`, not
//! `random()`, so the same `users` count and anchor time always produce the
//! same rows, whatever plan or parallelism the server picks. All timestamps
//! are placed relative to `anchor` (the CLI passes the current hour) so the
//! analytics pages have recent activity to show.

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::{Connection, PgConnection};

use super::demo_activity::{
    EVENTS_SQL, FREE_LESSONS_SQL, HACKATHON_SQL, LEAD_ACTIVITY_SQL, LEGACY_BROADCASTS_SQL,
    LEGACY_RECIPIENTS_SQL, LESSON_CLICKS_SQL, REGISTRY_SQL,
};

/// Upper bound for `--users`; keeps an accidental extra zero from filling the disk.
pub const MAX_USERS: u32 = 2_000_000;

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(
        "the database already has bookings; refusing to add demo data (use --force to add it anyway)"
    )]
    AlreadyHasBookings,
    #[error("--users must be between 1 and {MAX_USERS}")]
    BadUserCount,
    #[error(transparent)]
    Database(#[from] anyhow::Error),
}

/// Rows added by one seeding run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedReport {
    pub people: i64,
    pub users: i64,
    pub bookings: i64,
    pub events: i64,
    pub free_lesson_registrations: i64,
    pub hackathon_registrations: i64,
    pub legacy_broadcasts: i64,
}

impl SeedReport {
    pub fn bookings_and_events(&self) -> i64 {
        self.bookings + self.events
    }
}

/// Parallel arrays: Russian name and its Latin spelling (for usernames, emails).
const FEMALE_NAMES: &[(&str, &str)] = &[
    ("Анна", "anna"),
    ("Мария", "maria"),
    ("Елена", "elena"),
    ("Ольга", "olga"),
    ("Наталья", "natalia"),
    ("Екатерина", "katya"),
    ("Татьяна", "tanya"),
    ("Ирина", "irina"),
    ("Светлана", "sveta"),
    ("Юлия", "yulia"),
    ("Анастасия", "nastya"),
    ("Дарья", "dasha"),
    ("Полина", "polina"),
    ("Ксения", "ksenia"),
    ("Алина", "alina"),
    ("Виктория", "vika"),
    ("Софья", "sonya"),
    ("Вероника", "veronika"),
];
const MALE_NAMES: &[(&str, &str)] = &[
    ("Александр", "alex"),
    ("Дмитрий", "dima"),
    ("Максим", "maxim"),
    ("Сергей", "sergey"),
    ("Андрей", "andrey"),
    ("Алексей", "alexey"),
    ("Артём", "artem"),
    ("Илья", "ilya"),
    ("Кирилл", "kirill"),
    ("Михаил", "misha"),
    ("Никита", "nikita"),
    ("Иван", "ivan"),
    ("Егор", "egor"),
    ("Роман", "roman"),
    ("Павел", "pavel"),
    ("Владимир", "vova"),
    ("Денис", "denis"),
    ("Тимур", "timur"),
];
/// Male forms; the female form adds «а» (all end in -ов/-ев/-ёв).
const SURNAMES: &[(&str, &str)] = &[
    ("Иванов", "ivanov"),
    ("Смирнов", "smirnov"),
    ("Кузнецов", "kuznetsov"),
    ("Попов", "popov"),
    ("Соколов", "sokolov"),
    ("Лебедев", "lebedev"),
    ("Козлов", "kozlov"),
    ("Новиков", "novikov"),
    ("Морозов", "morozov"),
    ("Петров", "petrov"),
    ("Волков", "volkov"),
    ("Соловьёв", "soloviev"),
    ("Васильев", "vasiliev"),
    ("Зайцев", "zaitsev"),
    ("Павлов", "pavlov"),
    ("Семёнов", "semenov"),
    ("Голубев", "golubev"),
    ("Виноградов", "vinogradov"),
    ("Богданов", "bogdanov"),
    ("Фёдоров", "fedorov"),
    ("Михайлов", "mikhailov"),
    ("Тарасов", "tarasov"),
    ("Орлов", "orlov"),
    ("Макаров", "makarov"),
];

fn column<'a>(pairs: &[(&'a str, &'a str)], latin: bool) -> Vec<&'a str> {
    pairs
        .iter()
        .map(|(ru, lat)| if latin { *lat } else { *ru })
        .collect()
}

/// Every statement after the people table gets $1 = anchor and $2 = the
/// first booking id of this run.
///
/// Fills the database with demo data for `users` people in one transaction.
/// Refuses when bookings already exist unless `force`.
#[tracing::instrument(skip_all, fields(users, force))]
pub async fn seed(
    conn: &mut PgConnection,
    users: u32,
    anchor: DateTime<Utc>,
    force: bool,
) -> Result<SeedReport, DemoError> {
    if !(1..=MAX_USERS).contains(&users) {
        return Err(DemoError::BadUserCount);
    }
    let has_bookings: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM bookings)")
        .fetch_one(&mut *conn)
        .await
        .context("checking for existing bookings")?;
    if has_bookings && !force {
        return Err(DemoError::AlreadyHasBookings);
    }

    let mut tx = conn
        .begin()
        .await
        .context("starting the seed transaction")?;
    // Helper functions: a non-negative hash and a uniform number in [0, 1).
    for ddl in [
        "CREATE OR REPLACE FUNCTION pg_temp.h(i BIGINT, salt BIGINT) RETURNS BIGINT \
         LANGUAGE sql IMMUTABLE AS $$ SELECT hashint8extended(i, salt) & 9223372036854775807 $$",
        "CREATE OR REPLACE FUNCTION pg_temp.u(i BIGINT, salt BIGINT) RETURNS DOUBLE PRECISION \
         LANGUAGE sql IMMUTABLE AS \
         $$ SELECT (hashint8extended(i, salt) & 9223372036854775807)::float8 / 9223372036854775807::float8 $$",
    ] {
        sqlx::query(ddl)
            .execute(&mut *tx)
            .await
            .context("creating seed helpers")?;
    }

    let people = sqlx::query(PEOPLE_SQL)
        .bind(users as i32)
        .bind(anchor)
        .bind(column(FEMALE_NAMES, false))
        .bind(column(FEMALE_NAMES, true))
        .bind(column(MALE_NAMES, false))
        .bind(column(MALE_NAMES, true))
        .bind(column(SURNAMES, false))
        .bind(column(SURNAMES, true))
        .execute(&mut *tx)
        .await
        .context("generating demo people")?
        .rows_affected() as i64;

    // Bookings created from here on are this run's (the table may already
    // hold others with --force).
    let first_new_booking: i32 =
        sqlx::query_scalar("SELECT COALESCE(max(id), 0) + 1 FROM bookings")
            .fetch_one(&mut *tx)
            .await
            .context("reading the booking id watermark")?;
    let run = |sql: &'static str, what: &'static str| (sql, what);
    let mut counts = Vec::new();
    for (sql, what) in [
        run(USERS_SQL, "users"),
        run(BOOKINGS_SQL, "bookings"),
        run(BOOKING_EVENTS_SQL, "booking events"),
        run(EVENTS_SQL, "events"),
        run(FREE_LESSONS_SQL, "free-lesson registrations"),
        run(HACKATHON_SQL, "hackathon registrations"),
        run(LEGACY_BROADCASTS_SQL, "legacy broadcasts"),
        run(LEGACY_RECIPIENTS_SQL, "legacy broadcast recipients"),
        run(REGISTRY_SQL, "stream registry"),
        run(LESSON_CLICKS_SQL, "lesson-link clicks"),
        run(LEAD_ACTIVITY_SQL, "leads' activity"),
    ] {
        let result = sqlx::query(sql)
            .bind(anchor)
            .bind(first_new_booking)
            .execute(&mut *tx)
            .await
            .with_context(|| format!("generating demo {what}"))?;
        counts.push(result.rows_affected() as i64);
    }
    tx.commit().await.context("committing demo data")?;

    // Fresh planner statistics, so the first page views use the indexes,
    // and a vacuum's visibility map, so counts can read indexes alone (as
    // they can once autovacuum has been by on a live database).
    sqlx::query(
        "VACUUM (ANALYZE) users, bookings, events, free_lesson_registrations, \
         hackathon_registrations",
    )
    .execute(&mut *conn)
    .await
    .context("analysing demo tables")?;
    // The demo rows went straight into the bot's tables: recompute the
    // directory in one pass rather than leaving a million rows to the first
    // request's catch-up.
    super::people::rebuild(conn)
        .await
        .context("rebuilding the people directory")?;
    sqlx::query("VACUUM people_directory")
        .execute(&mut *conn)
        .await
        .context("vacuuming the people directory")?;

    Ok(SeedReport {
        people,
        users: counts[0],
        bookings: counts[1],
        events: counts[2] + counts[3] + counts[9] + counts[10],
        free_lesson_registrations: counts[4],
        hackathon_registrations: counts[5],
        legacy_broadcasts: counts[6],
    })
}

/// $1 count, $2 anchor, $3..$8 name arrays.
const PEOPLE_SQL: &str = r#"
CREATE TEMP TABLE demo_people ON COMMIT DROP AS
WITH base AS (
    SELECT g AS i,
           pg_temp.h(g, 2) % 2 = 0 AS female,
           pg_temp.h(g, 3) AS fh,
           pg_temp.h(g, 4) AS lh,
           $2::timestamptz
             - make_interval(secs => (pg_temp.u(g, 5) ^ 1.6) * 300 * 86400) AS first_seen
    FROM generate_series(1, $1::int) AS g
), named AS (
    SELECT b.*,
           CASE WHEN female THEN ($3::text[])[1 + (fh % cardinality($3::text[]))::int]
                ELSE ($5::text[])[1 + (fh % cardinality($5::text[]))::int] END AS first_name,
           CASE WHEN female THEN ($4::text[])[1 + (fh % cardinality($4::text[]))::int]
                ELSE ($6::text[])[1 + (fh % cardinality($6::text[]))::int] END AS first_lat,
           ($7::text[])[1 + (lh % cardinality($7::text[]))::int]
             || CASE WHEN female THEN 'а' ELSE '' END AS surname,
           ($8::text[])[1 + (lh % cardinality($8::text[]))::int]
             || CASE WHEN female THEN 'a' ELSE '' END AS surname_lat
    FROM base b
)
SELECT i,
       1000000000::bigint + i * 1013 + pg_temp.h(i, 1) % 1000 AS user_id,
       first_name,
       first_lat,
       CASE WHEN pg_temp.u(i, 6) < 0.6 THEN surname END AS last_name,
       surname_lat,
       CASE WHEN pg_temp.u(i, 7) < 0.85 THEN
            CASE pg_temp.h(i, 8) % 3
                 WHEN 0 THEN first_lat || '_' || surname_lat
                 WHEN 1 THEN first_lat || (pg_temp.h(i, 9) % 10000)::text
                 ELSE surname_lat || '_' || (pg_temp.h(i, 9) % 100)::text END
            || '_' || i::text
       END AS username,
       first_seen,
       pg_temp.u(i, 10) < 0.9 AS in_users,
       (ARRAY['ru','ru','ru','ru','ru','ru','ru','ru','en','uk'])[1 + (pg_temp.h(i, 11) % 10)::int]
         AS language_code,
       1 + (pg_temp.h(i, 12) % 8)::int AS event_count,
       pg_temp.u(i, 13) < 0.5 AS books
FROM named
"#;

const USERS_SQL: &str = r#"
INSERT INTO users (user_id, username, first_name, last_name, language_code, first_seen_at, updated_at)
SELECT user_id, username, first_name, last_name, language_code,
       first_seen AT TIME ZONE 'UTC',
       LEAST($1::timestamptz, first_seen + make_interval(days => (pg_temp.h(i, 14) % 60)::int))
         AT TIME ZONE 'UTC'
FROM demo_people
WHERE in_users
ON CONFLICT (user_id) DO NOTHING
"#;

/// Streams start every 60 days; a booking goes to the first stream that
/// starts after it (late bookings up to 3 days after the start still count).
/// The 8th stream is the current intake and starts 10 days after the anchor.
const BOOKINGS_SQL: &str = r#"
INSERT INTO bookings (user_id, username, first_name, course_id, confirmed, created_at,
                      referral_code, discount_percent, course_stream)
SELECT user_id, username, first_name, 1, confirmed, created_at, referral_code,
       discount_percent, course_stream
FROM (
    SELECT p.user_id, p.username, p.first_name, k.created_at, k.key,
           s.course_stream,
           CASE
             WHEN s.course_stream = '8th_stream' THEN
               (ARRAY[0,0,0,0,0,0,0,1,1,1,1,2,2,2,2,2,2,2,-1,-1])[1 + (pg_temp.h(k.key, 21) % 20)::int]
             WHEN s.course_stream = 'mentoring' THEN
               (ARRAY[2,2,2,2,2,2,2,0,0,-1])[1 + (pg_temp.h(k.key, 21) % 10)::int]
             WHEN s.course_stream IN ('3rd_stream', '4th_stream') AND pg_temp.u(k.key, 22) < 0.08 THEN NULL
             ELSE (ARRAY[2,2,2,2,2,2,2,2,2,2,2,2,-1,-1,-1,-1,0,0,1,-1])[1 + (pg_temp.h(k.key, 21) % 20)::int]
           END AS confirmed,
           CASE WHEN pg_temp.u(k.key, 23) < 0.15 THEN
             (ARRAY['FRIEND10','VIBE20','START15','BLOG25','ALUMNI30'])[1 + (pg_temp.h(k.key, 24) % 5)::int]
           END AS referral_code,
           pg_temp.h(k.key, 24) % 5 AS coupon
    FROM demo_people p
    CROSS JOIN LATERAL (
        VALUES (p.i * 2,
                p.first_seen + make_interval(secs => pg_temp.u(p.i, 15)
                    * LEAST(14 * 86400, EXTRACT(EPOCH FROM ($1::timestamptz - p.first_seen))))),
               (p.i * 2 + 1,
                p.first_seen + make_interval(days => 30 + (pg_temp.h(p.i, 16) % 60)::int))
    ) AS k(key, created_at)
    CROSS JOIN LATERAL (
        SELECT CASE
                 WHEN pg_temp.u(k.key, 20) < 0.03 THEN 'mentoring'
                 WHEN k.created_at > $1::timestamptz - interval '47 days' THEN '8th_stream'
                 WHEN k.created_at > $1::timestamptz - interval '107 days' THEN '7th_stream'
                 WHEN k.created_at > $1::timestamptz - interval '167 days' THEN '6th_stream'
                 WHEN k.created_at > $1::timestamptz - interval '227 days' THEN '5th_stream'
                 WHEN k.created_at > $1::timestamptz - interval '287 days' THEN '4th_stream'
                 ELSE '3rd_stream'
               END AS course_stream
    ) AS s
    WHERE p.books
      AND (k.key % 2 = 0 OR (pg_temp.u(p.i, 17) < 0.1 AND k.created_at < $1::timestamptz))
) b
CROSS JOIN LATERAL (
    SELECT CASE WHEN b.referral_code IS NULL THEN 0
                ELSE (ARRAY[10,20,15,25,30])[1 + b.coupon::int] END AS discount_percent
) d
ORDER BY created_at, key
"#;

/// The bot logs every status change; derive those events from the bookings
/// just created (id ≥ $2): 0 → 1 → 2, 0 → -1, 0 → 1.
const BOOKING_EVENTS_SQL: &str = r#"
INSERT INTO events (user_id, event_type, details, created_at)
SELECT b.user_id, 'booking_status_changed',
       jsonb_build_object('booking_id', b.id, 'old_status', t.old_status,
                          'new_status', t.new_status, 'username', b.username),
       LEAST($1::timestamptz, b.created_at + make_interval(hours => t.after_hours))
FROM bookings b
CROSS JOIN LATERAL (
    VALUES (0, 1, 2, b.confirmed IN (1, 2)),
           (1, 2, 30, b.confirmed = 2),
           (0, -1, 50, b.confirmed = -1)
) AS t(old_status, new_status, after_hours, applies)
WHERE b.id >= $2 AND t.applies
"#;
