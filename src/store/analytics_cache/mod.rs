//! The analytics cache (tables `analytics_*`, see migration 0010): every
//! person's first appearance and its school day, bookings, free-lesson
//! registrations and events per school day, registrants with the lesson
//! types they clicked and their events per day, and the counts of people,
//! registrants and registrations. Built from everything once, then brought
//! up to date by [`refresh`] before each analytics read, from the bot rows
//! added since.
//!
//! Why it stays exact (docs/analytics.md says it for staff):
//! - Tables with a serial id are read by id, not by time, so a row written
//!   with an old timestamp is still caught. Ids at or below a table's
//!   watermark that were not visible when it advanced (a transaction still
//!   open, or rolled back) are kept in `analytics_pending` and looked up again
//!   for an hour; each row is counted once, when it first becomes visible.
//! - Each table is read by one statement (one snapshot) that also moves its
//!   watermark, and refreshes are serialised by an advisory lock, so two
//!   replicas never count a row twice.
//! - `users` has no serial id: rows with `updated_at` or `first_seen_at` in
//!   the last 10 minutes before the previous read are read again; a first
//!   appearance only ever moves earlier, so reading a row twice is harmless.
//! - A different `SCHOOL_TIMEZONE` than the one the day buckets were made for
//!   rebuilds everything, as does `hsl-dashboard rebuild-analytics`.

use chrono_tz::Tz;
use sqlx::{Connection, PgConnection, PgPool};

/// Serialises refreshes across every process sharing the database.
const LOCK_KEY: i64 = 0x4853_4c5f_414e_4c59; // "HSL_ANLY"

mod sql;

/// Where the last read of each bot table stopped.
#[derive(Debug, sqlx::FromRow)]
struct State {
    time_zone: String,
    events_id: i64,
    bookings_id: i64,
    free_lessons_id: i64,
    hackathon_id: i64,
    users_since: chrono::NaiveDateTime,
}

/// Brings the cache up to date (building it first when it was never built
/// or was built for another zone), and the people directory the analytics
/// lists take names from. Runs in its own task, so a client that hangs up
/// mid-way cannot leave a half-done refresh holding the lock.
#[tracing::instrument(skip_all)]
pub async fn refresh(pool: &PgPool, tz: Tz) -> sqlx::Result<()> {
    let pool = pool.clone();
    match tokio::spawn(async move {
        crate::store::people::catch_up(&pool).await?;
        let mut conn = pool.acquire().await?;
        refresh_on(&mut conn, tz, false).await
    })
    .await
    {
        Ok(result) => result,
        Err(join) => Err(sqlx::Error::Protocol(format!(
            "analytics refresh task failed: {join}"
        ))),
    }
}

/// Rebuilds the whole cache from the bot tables (after the bot deleted or
/// rewrote old rows, which the incremental reads cannot see).
#[tracing::instrument(skip_all)]
pub async fn rebuild(conn: &mut PgConnection, tz: Tz) -> sqlx::Result<()> {
    refresh_on(conn, tz, true).await
}

/// After a build outside a request (the CLI): visibility maps and planner
/// statistics for the refilled tables, as autovacuum would later set them.
pub async fn vacuum(conn: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::query(
        "VACUUM (ANALYZE) analytics_first_seen, analytics_daily, analytics_event_days, \
                          analytics_registrants, analytics_lead_days",
    )
    .execute(conn)
    .await
    .map(|_| ())
}

async fn refresh_on(conn: &mut PgConnection, tz: Tz, force: bool) -> sqlx::Result<()> {
    let mut tx = conn.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(LOCK_KEY)
        .execute(&mut *tx)
        .await?;
    let state: Option<State> = sqlx::query_as(
        "SELECT time_zone, events_id, bookings_id, free_lessons_id, hackathon_id, users_since \
         FROM analytics_state",
    )
    .fetch_optional(&mut *tx)
    .await?;
    match state {
        Some(state) if !force && state.time_zone == tz.name() => sync(&mut tx, tz, &state).await?,
        _ => {
            tracing::info!(zone = tz.name(), "building the analytics cache");
            build(&mut tx, tz).await?;
        }
    }
    tx.commit().await
}

/// Everything from scratch after emptying the tables (see [`sql::build`]).
async fn build(conn: &mut PgConnection, tz: Tz) -> sqlx::Result<()> {
    // A first build over millions of rows may outlast the pool's 30 s limit.
    sqlx::query("SET LOCAL statement_timeout = '15min'")
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "TRUNCATE analytics_state, analytics_pending, analytics_first_seen, analytics_daily, \
                  analytics_event_days, analytics_registrants, analytics_lead_days",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query(sqlx::AssertSqlSafe(sql::build()))
        .bind(tz.name())
        .execute(&mut *conn)
        .await?;
    // Fresh planner statistics for tables that were just refilled.
    sqlx::query(
        "ANALYZE analytics_first_seen, analytics_daily, analytics_event_days, \
                 analytics_registrants, analytics_lead_days",
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Reads what was added since the last refresh, table by table, each in
/// one statement.
async fn sync(conn: &mut PgConnection, tz: Tz, state: &State) -> sqlx::Result<()> {
    let cte = sql::incremental("bookings", "bookings", "created_at", "");
    let daily = sql::daily("bookings");
    run(
        &mut *conn,
        tz,
        state.bookings_id,
        format!(
            "WITH {cte}, {daily} \
             UPDATE analytics_state SET bookings_id = (SELECT id FROM top), \
                    people = people + (SELECT count(*) FROM fs WHERE inserted)"
        ),
    )
    .await?;
    let cte = sql::incremental("hackathon", "hackathon_registrations", "registered_at", "");
    run(
        &mut *conn,
        tz,
        state.hackathon_id,
        format!(
            "WITH {cte} \
             UPDATE analytics_state SET hackathon_id = (SELECT id FROM top), \
                    people = people + (SELECT count(*) FROM fs WHERE inserted)"
        ),
    )
    .await?;
    run(&mut *conn, tz, state.users_since, sql::users()).await?;
    // Registrants before events: a new registrant's earlier events are
    // counted here (ids up to the events watermark, not pending), the rest
    // by the events statement below, so none twice.
    let cte = sql::incremental(
        "free_lessons",
        "free_lesson_registrations",
        "registered_at",
        "",
    );
    let (daily, registrants) = (sql::daily("free_lessons"), sql::registrants());
    run(
        &mut *conn,
        tz,
        state.free_lessons_id,
        format!(
            "WITH {cte}, {daily}, {registrants} \
             UPDATE analytics_state SET free_lessons_id = (SELECT id FROM top), \
                    people = people + (SELECT count(*) FROM fs WHERE inserted), \
                    registrants = registrants + (SELECT count(*) FROM rg WHERE inserted), \
                    free_lessons = free_lessons + (SELECT count(*) FROM new), synced_at = now()"
        ),
    )
    .await?;
    let cte = sql::incremental(
        "events",
        "events",
        "created_at",
        ", t.event_type, CASE WHEN t.event_type = 'lesson_link_clicked' \
                              THEN t.details->>'lesson_type' END AS lesson_type",
    );
    run(
        &mut *conn,
        tz,
        state.events_id,
        format!(
            "WITH {cte}, {} \
             UPDATE analytics_state SET events_id = (SELECT id FROM top), \
                    people = people + (SELECT count(*) FROM fs WHERE inserted)",
            sql::EVENTS
        ),
    )
    .await
}

/// `statement` with `$1` the zone and `$2` where the last read stopped.
async fn run<'a, T>(
    conn: &mut PgConnection,
    tz: Tz,
    since: T,
    statement: String,
) -> sqlx::Result<()>
where
    T: sqlx::Encode<'a, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + 'a,
{
    sqlx::query(sqlx::AssertSqlSafe(statement))
        .bind(tz.name())
        .bind(since)
        .execute(conn)
        .await
        .map(|_| ())
}
