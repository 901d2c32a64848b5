//! The people directory (`people_directory`, migration 0009): one row per
//! person the bot knows, with the names and timestamps the users list
//! searches and sorts by. The bot's tables get no triggers; the directory is
//! brought up to date here:
//!
//! - [`catch_up`] before each users query (the use cases in `crate::app`
//!   call it; the store's users queries read the directory as it is): the
//!   rows added to each bot table since its watermark (ids; `users` by
//!   `updated_at`, which the bot sets on every upsert), and those people
//!   recomputed from `people_directory_source`. Watermarks trail by an
//!   overlap window ([`crate::domain::watermark`]) so late-committing bot
//!   transactions are still read.
//! - [`repair`] now and then: a full comparison with the source, for what
//!   watermarks cannot see (rows deleted or edited in place, a `users` row
//!   written with an old `updated_at`).
//! - [`rebuild`] after bulk loads such as `seed-demo`.

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use sqlx::{Connection, PgConnection, PgPool};

use crate::domain::watermark::{Mark, Watermark};

/// Longer than any bot transaction is expected to stay open. Migration 0009
/// starts the `users` watermark the same window back.
pub const OVERLAP: TimeDelta = TimeDelta::minutes(2);

/// `pg_advisory_xact_lock` key ("hsl_peop") that serialises the writers of
/// the directory, so two catch-ups never advance a watermark past each
/// other's reads.
const LOCK: i64 = 0x6873_6c5f_7065_6f70;

/// An upsert of directory rows from `$from`: changed rows are rewritten, and
/// only those, so re-reads inside the overlap window write nothing.
macro_rules! upsert_from {
    ($from:literal) => {
        concat!(
            "INSERT INTO people_directory \
                 (user_id, username, first_name, last_name, in_users, first_seen, last_activity) \
             SELECT user_id, username, first_name, last_name, in_users, first_seen, last_activity ",
            $from,
            " ON CONFLICT (user_id) DO UPDATE SET \
                 username = EXCLUDED.username, first_name = EXCLUDED.first_name, \
                 last_name = EXCLUDED.last_name, in_users = EXCLUDED.in_users, \
                 first_seen = EXCLUDED.first_seen, last_activity = EXCLUDED.last_activity \
             WHERE (people_directory.username, people_directory.first_name, \
                    people_directory.last_name, people_directory.in_users, \
                    people_directory.first_seen, people_directory.last_activity) \
                   IS DISTINCT FROM (EXCLUDED.username, EXCLUDED.first_name, EXCLUDED.last_name, \
                    EXCLUDED.in_users, EXCLUDED.first_seen, EXCLUDED.last_activity)"
        )
    };
}

/// Recomputes people `$1` from the source.
const REFRESH: &str = upsert_from!("FROM people_directory_source WHERE user_id = ANY($1)");

/// Removes people `$1` who are no longer in any bot table (only a repair
/// finds them: a catch-up's people all have rows).
const FORGET: &str = "DELETE FROM people_directory d WHERE d.user_id = ANY($1) \
     AND d.user_id NOT IN (SELECT user_id FROM people_directory_source WHERE user_id = ANY($1))";

/// The rows of one bot table past its watermark (`$after`), each with
/// `fresh`: not visible to the snapshot `$6` of the last read that applied
/// rows (NULL: all are fresh), whose rows are in the directory already. The
/// row's xmin is a 32-bit xid; its xid8 takes the epoch of this statement's
/// snapshot (`x`), one less if that would put it in the future.
macro_rules! rows_past {
    ($name:literal, $table:literal, $position:literal, $after:literal) => {
        concat!(
            $name,
            " AS (SELECT t.user_id, t.",
            $position,
            " AS position, \
               (NOT pg_visible_in_snapshot( \
                  ((x.epoch | t.xmin::text::bigint) \
                   - CASE WHEN (x.epoch | t.xmin::text::bigint) > x.next THEN 4294967296 \
                          ELSE 0 END)::text::xid8, \
                  $6::text::pg_snapshot)) IS NOT FALSE AS fresh \
             FROM ",
            $table,
            " t, x WHERE ",
            $after,
            ")"
        )
    };
}

/// The rows past each watermark, in one snapshot: the newest position in
/// each table, and the people whose rows are fresh. `$1` is a
/// `users.updated_at`, `$2..$5` ids; NULL reads the whole table.
const NEW_ROWS: &str = concat!(
    "WITH x AS (SELECT next, next & -4294967296 AS epoch \
                FROM (SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS next) n), ",
    rows_past!(
        "u",
        "users",
        "updated_at",
        "$1::timestamp IS NULL OR t.updated_at > $1"
    ),
    ", ",
    rows_past!("b", "bookings", "id", "$2::bigint IS NULL OR t.id > $2"),
    ", ",
    rows_past!("e", "events", "id", "$3::bigint IS NULL OR t.id > $3"),
    ", ",
    rows_past!(
        "f",
        "free_lesson_registrations",
        "id",
        "$4::bigint IS NULL OR t.id > $4"
    ),
    ", ",
    rows_past!(
        "h",
        "hackathon_registrations",
        "id",
        "$5::bigint IS NULL OR t.id > $5"
    ),
    " SELECT (SELECT max(position) FROM u) AS users, \
            (SELECT max(position) FROM b)::bigint AS bookings, \
            (SELECT max(position) FROM e)::bigint AS events, \
            (SELECT max(position) FROM f)::bigint AS free_lesson_registrations, \
            (SELECT max(position) FROM h)::bigint AS hackathon_registrations, \
            ARRAY(SELECT user_id FROM u WHERE fresh UNION SELECT user_id FROM b WHERE fresh \
                  UNION SELECT user_id FROM e WHERE fresh UNION SELECT user_id FROM f WHERE fresh \
                  UNION SELECT user_id FROM h WHERE fresh) AS people, \
            pg_current_snapshot()::text AS snapshot, \
            clock_timestamp() AS seen_at"
);

#[derive(sqlx::FromRow)]
struct NewRows {
    users: Option<NaiveDateTime>,
    bookings: Option<i64>,
    events: Option<i64>,
    free_lesson_registrations: Option<i64>,
    hackathon_registrations: Option<i64>,
    people: Vec<i64>,
    /// The snapshot the rows were read in.
    snapshot: String,
    /// Taken while the statement runs, so no earlier than its snapshot.
    seen_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct SyncRow {
    source: String,
    safe: Option<i64>,
    pending: Option<i64>,
    pending_at: Option<DateTime<Utc>>,
    read_snapshot: Option<String>,
}

impl SyncRow {
    fn watermark(&self) -> Watermark {
        Watermark {
            safe: self.safe,
            pending: self
                .pending
                .zip(self.pending_at)
                .map(|(position, at)| Mark { position, at }),
        }
    }
}

/// The watermarks by source, in `NEW_ROWS`' parameter order.
const SOURCES: [&str; 5] = [
    "users",
    "bookings",
    "events",
    "free_lesson_registrations",
    "hackathon_registrations",
];

/// `users` positions are `updated_at` (naive UTC) in microseconds.
fn micros(at: NaiveDateTime) -> i64 {
    at.and_utc().timestamp_micros()
}

fn from_micros(position: i64) -> Option<NaiveDateTime> {
    DateTime::from_timestamp_micros(position).map(|at| at.naive_utc())
}

/// Brings the directory up to date with the bot's tables; returns how many
/// people were recomputed. Cheap when nothing changed: five index range
/// reads that find nothing, no writes.
#[tracing::instrument(skip(pool))]
pub async fn catch_up(pool: &PgPool) -> sqlx::Result<usize> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(LOCK)
        .execute(&mut *tx)
        .await?;
    // The transaction's start: no later than the snapshot NEW_ROWS reads.
    let started: DateTime<Utc> = sqlx::query_scalar("SELECT now()")
        .fetch_one(&mut *tx)
        .await?;
    let rows: Vec<SyncRow> = sqlx::query_as(
        "SELECT source, safe, pending, pending_at, read_snapshot FROM people_directory_sync",
    )
    .fetch_all(&mut *tx)
    .await?;
    let marks: Vec<Watermark> = SOURCES
        .iter()
        .map(|source| {
            rows.iter()
                .find(|row| row.source == *source)
                .map(SyncRow::watermark)
                .unwrap_or_default()
        })
        .collect();
    // Any source's will do: each is the snapshot of a read after which
    // everything it could see was applied.
    let applied_snapshot = rows
        .iter()
        .find(|row| row.source == SOURCES[0])
        .and_then(|row| row.read_snapshot.clone());
    let new: NewRows = sqlx::query_as(NEW_ROWS)
        .persistent(false)
        .bind(marks[0].safe.and_then(from_micros))
        .bind(marks[1].safe)
        .bind(marks[2].safe)
        .bind(marks[3].safe)
        .bind(marks[4].safe)
        .bind(applied_snapshot)
        .fetch_one(&mut *tx)
        .await?;
    let applied = !new.people.is_empty();
    if applied {
        refresh(&mut tx, &new.people).await?;
    }
    // A future updated_at counts as now: the bot's next write may be older.
    let users = new
        .users
        .map(|at| micros(at).min(new.seen_at.timestamp_micros()));
    let seen = [
        users,
        new.bookings,
        new.events,
        new.free_lesson_registrations,
        new.hackathon_registrations,
    ];
    for ((source, mark), seen) in SOURCES.iter().zip(marks).zip(seen) {
        let seen = seen.map(|position| Mark {
            position,
            at: new.seen_at,
        });
        let next = mark.after_read(started, seen, OVERLAP);
        // A read's snapshot may replace the stored one after any read (what
        // it saw, it applied or the stored one had); quiet reads keep it, to
        // write nothing.
        if next != mark || applied {
            sqlx::query(
                "INSERT INTO people_directory_sync \
                     (source, safe, pending, pending_at, read_snapshot) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (source) DO UPDATE SET safe = EXCLUDED.safe, \
                     pending = EXCLUDED.pending, pending_at = EXCLUDED.pending_at, \
                     read_snapshot = EXCLUDED.read_snapshot",
            )
            .bind(source)
            .bind(next.safe)
            .bind(next.pending.map(|mark| mark.position))
            .bind(next.pending.map(|mark| mark.at))
            .bind(&new.snapshot)
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(new.people.len())
}

async fn refresh(conn: &mut PgConnection, people: &[i64]) -> sqlx::Result<()> {
    sqlx::query(REFRESH)
        .persistent(false)
        .bind(people)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// People whose directory row differs from the source, or who are in only
/// one of them.
const DRIFTED: &str = "\
     SELECT coalesce(s.user_id, d.user_id) FROM people_directory_source s \
     FULL JOIN people_directory d ON d.user_id = s.user_id \
     WHERE (s.user_id, s.username, s.first_name, s.last_name, s.in_users, s.first_seen, \
            s.last_activity) \
           IS DISTINCT FROM (d.user_id, d.username, d.first_name, d.last_name, d.in_users, \
            d.first_seen, d.last_activity)";

/// Compares the whole directory with the source and recomputes whoever
/// differs; returns how many. The comparison (seconds at 200 000 people)
/// runs without the lock, so catch-ups are not held up; the fix-up takes it
/// and recomputes from a fresh snapshot, so it never undoes a newer catch-up.
#[tracing::instrument(skip(pool))]
pub async fn repair(pool: &PgPool) -> sqlx::Result<usize> {
    let drifted: Vec<i64> = {
        let mut tx = pool.begin().await?;
        sqlx::query("SET LOCAL work_mem = '64MB'")
            .execute(&mut *tx)
            .await?;
        let drifted = sqlx::query_scalar(DRIFTED).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        drifted
    };
    if !drifted.is_empty() {
        let mut tx = pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(LOCK)
            .execute(&mut *tx)
            .await?;
        refresh(&mut tx, &drifted).await?;
        sqlx::query(FORGET)
            .persistent(false)
            .bind(&drifted)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok(drifted.len())
}

/// Recomputes the whole directory and restarts the watermarks from the
/// tables' current ends, as migration 0009 does: for after a bulk load,
/// whose rows a catch-up would otherwise recompute person by person. Holds
/// the bot's writes for its duration (SHARE locks) so no transaction can
/// commit below the new watermarks.
#[tracing::instrument(skip(conn))]
pub async fn rebuild(conn: &mut PgConnection) -> sqlx::Result<u64> {
    let mut tx = conn.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(LOCK)
        .execute(&mut *tx)
        .await?;
    for statement in [
        "LOCK TABLE users, bookings, events, free_lesson_registrations, hackathon_registrations \
         IN SHARE MODE",
        "SET LOCAL work_mem = '64MB'",
    ] {
        sqlx::query(statement).execute(&mut *tx).await?;
    }
    // As in migration 0009: `users` from one overlap window back, and
    // before the fill, which sees at least what `read_snapshot` saw.
    sqlx::query(
        "UPDATE people_directory_sync s SET safe = m.safe, pending = NULL, pending_at = NULL, \
             read_snapshot = pg_current_snapshot()::text \
         FROM (SELECT 'users' AS source, \
                      CASE WHEN max(updated_at) IS NOT NULL THEN \
                        (extract(epoch FROM least(max(updated_at), \
                                                  now() AT TIME ZONE 'UTC' - $1 * interval '1 second')) \
                         * 1000000)::bigint \
                      END AS safe \
               FROM users \
               UNION ALL SELECT 'bookings', max(id) FROM bookings \
               UNION ALL SELECT 'events', max(id) FROM events \
               UNION ALL SELECT 'free_lesson_registrations', max(id) FROM free_lesson_registrations \
               UNION ALL SELECT 'hackathon_registrations', max(id) FROM hackathon_registrations) m \
         WHERE s.source = m.source",
    )
    .bind(OVERLAP.num_seconds() as f64)
    .execute(&mut *tx)
    .await?;
    for statement in [
        "CREATE TEMP TABLE people_directory_fresh ON COMMIT DROP AS \
         SELECT user_id, username, first_name, last_name, in_users, first_seen, last_activity \
         FROM people_directory_source",
        "DELETE FROM people_directory d \
         WHERE NOT EXISTS (SELECT 1 FROM people_directory_fresh f WHERE f.user_id = d.user_id)",
    ] {
        sqlx::query(statement).execute(&mut *tx).await?;
    }
    let written = sqlx::query(upsert_from!("FROM people_directory_fresh"))
        .execute(&mut *tx)
        .await?
        .rows_affected();
    sqlx::query("ANALYZE people_directory")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(written)
}
