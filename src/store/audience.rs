//! Who an audience is, in SQL: the estimate shown before sending, the check
//! that named people and streams exist, and the one set-based INSERT …
//! SELECT that turns an audience into recipient rows when sending starts.
//!
//! "Everyone the bot knows" is the people directory (`store::people`), so
//! callers bring it up to date first with [`super::people::catch_up`].

use sqlx::{PgConnection, PgExecutor};

use crate::domain::audience::{Audience, Segment};
use crate::domain::booking::standing_rank_sql;
use crate::domain::stream::{StreamRef, display_order, stream_key};

/// The audience's people, deduplicated, as `SELECT user_id`. Binds: `$1`
/// kind (`users`, `stream`, or the segment name), `$2` user ids, `$3` stream
/// codes with `$5` their courses (NULL: the code in every course, as
/// audiences stored before streams had courses mean it), `$4` booking
/// statuses. A stream member's status is their standing there (their most
/// advanced booking), as on the stream page.
fn members() -> String {
    format!(
        "SELECT DISTINCT user_id FROM ( \
            SELECT unnest($2::bigint[]) AS user_id WHERE $1 = 'users' \
            UNION ALL \
            SELECT standing.user_id FROM ( \
                SELECT DISTINCT ON (b.user_id, b.course_id, b.course_stream) b.user_id, b.confirmed \
                FROM unnest($5::int[], $3::text[]) AS s(course_id, code) \
                JOIN bookings b ON b.course_stream = s.code \
                     AND (s.course_id IS NULL OR b.course_id = s.course_id) \
                WHERE $1 = 'stream' \
                ORDER BY b.user_id, b.course_id, b.course_stream, {rank} DESC, \
                         b.created_at DESC NULLS LAST, b.id DESC \
            ) standing WHERE standing.confirmed = ANY($4) \
            UNION ALL \
            SELECT user_id FROM hackathon_registrations WHERE $1 = 'hackathon' \
            UNION ALL \
            SELECT p.user_id FROM people_directory p \
            WHERE $1 = 'all' OR ($1 = 'never_paid' AND NOT EXISTS ( \
                SELECT 1 FROM bookings b WHERE b.user_id = p.user_id AND b.confirmed = 2)) \
         ) audience WHERE user_id > 0",
        rank = standing_rank_sql("b.confirmed")
    )
}

/// The binds of [`members`].
struct Binds {
    kind: &'static str,
    user_ids: Vec<i64>,
    streams: Vec<String>,
    courses: Vec<Option<i32>>,
    statuses: Vec<i32>,
}

fn binds(audience: &Audience) -> Binds {
    let mut binds = Binds {
        kind: "users",
        user_ids: Vec::new(),
        streams: Vec::new(),
        courses: Vec::new(),
        statuses: Vec::new(),
    };
    match audience {
        Audience::Users { user_ids } => binds.user_ids = user_ids.clone(),
        Audience::Stream { streams, statuses } => {
            binds.kind = "stream";
            binds.streams = streams.iter().map(|s| s.code.to_string()).collect();
            binds.courses = streams.iter().map(|s| s.course_id).collect();
            binds.statuses = statuses.clone();
        }
        Audience::Segment { segment } => {
            binds.kind = match segment {
                Segment::NeverPaid => "never_paid",
                Segment::Hackathon => "hackathon",
                Segment::All => "all",
            }
        }
    }
    binds
}

/// How many people an audience has now, and how many of them are blocked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Estimate {
    pub people: i64,
    pub blocked: i64,
}

impl Estimate {
    /// Those a broadcast would actually go to.
    pub fn recipients(&self) -> i64 {
        self.people - self.blocked
    }
}

pub async fn estimate(db: impl PgExecutor<'_>, audience: &Audience) -> sqlx::Result<Estimate> {
    let b = binds(audience);
    let sql = format!(
        "SELECT count(*), count(blocked.user_id) FROM ({}) a \
         LEFT JOIN blocked_users blocked USING (user_id)",
        members()
    );
    let (people, blocked): (i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(b.kind)
        .bind(&b.user_ids)
        .bind(&b.streams)
        .bind(&b.statuses)
        .bind(&b.courses)
        .fetch_one(db)
        .await?;
    Ok(Estimate { people, blocked })
}

/// [`estimate`] of every segment, in [`Segment::ALL`] order, in one
/// statement: counts and anti-joins instead of the DISTINCT over a union
/// that resolving needs (about 80 ms instead of 630 ms at 200k people).
/// Everyone on a booking or a hackathon registration is in the people
/// directory, so «never paid» is everyone less those with a confirmed
/// booking.
pub async fn segment_estimates(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<(Segment, Estimate)>> {
    let (people, paid, hackers, blocked, blocked_unpaid, blocked_hackers): (i64, i64, i64, i64, i64, i64) =
        sqlx::query_as(
            "SELECT (SELECT count(*) FROM people_directory WHERE user_id > 0), \
                    (SELECT count(DISTINCT user_id) FROM bookings WHERE confirmed = 2 AND user_id > 0), \
                    (SELECT count(DISTINCT user_id) FROM hackathon_registrations WHERE user_id > 0), \
                    b.blocked, b.unpaid, b.hackers \
             FROM (SELECT count(*) AS blocked, \
                          count(*) FILTER (WHERE NOT EXISTS ( \
                              SELECT 1 FROM bookings k WHERE k.user_id = b.user_id AND k.confirmed = 2)) AS unpaid, \
                          count(*) FILTER (WHERE EXISTS ( \
                              SELECT 1 FROM hackathon_registrations h WHERE h.user_id = b.user_id)) AS hackers \
                   FROM blocked_users b \
                   WHERE b.user_id > 0 \
                     AND EXISTS (SELECT 1 FROM people_directory p WHERE p.user_id = b.user_id)) b",
        )
        .fetch_one(db)
        .await?;
    Ok(Segment::ALL
        .into_iter()
        .map(|segment| {
            let estimate = match segment {
                Segment::All => Estimate { people, blocked },
                Segment::NeverPaid => Estimate {
                    people: people - paid,
                    blocked: blocked_unpaid,
                },
                Segment::Hackathon => Estimate {
                    people: hackers,
                    blocked: blocked_hackers,
                },
            };
            (segment, estimate)
        })
        .collect())
}

/// The named people the bot has never seen, in order.
pub async fn unknown_users(db: impl PgExecutor<'_>, ids: &[i64]) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "SELECT id FROM unnest($1::bigint[]) AS id \
         WHERE NOT EXISTS (SELECT 1 FROM people_directory WHERE user_id = id) \
         ORDER BY id",
    )
    .bind(ids)
    .fetch_all(db)
    .await
}

/// What the streams of an audience turned out to be.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckedStreams {
    /// Every stream with its course, in order (when all are known and
    /// unambiguous, the audience to store).
    pub resolved: Vec<StreamRef>,
    /// Streams no course has (neither registered nor on a booking), as named.
    pub unknown: Vec<String>,
    /// Codes several courses have, named without a course: the code and
    /// the courses.
    pub ambiguous: Vec<(String, Vec<i32>)>,
}

/// Finds each stream's course: the one named, or the one course that has
/// the code (registered or on a booking of it).
pub async fn check_streams(
    db: impl PgExecutor<'_>,
    streams: &[StreamRef],
) -> sqlx::Result<CheckedStreams> {
    let codes: Vec<&str> = streams.iter().map(|s| s.code.as_str()).collect();
    let courses: Vec<Option<i32>> = streams.iter().map(|s| s.course_id).collect();
    let found: Vec<(String, Vec<i32>)> = sqlx::query_as(
        "SELECT s.code, ARRAY( \
                    SELECT r.course_id FROM stream_registry r \
                    WHERE r.code = s.code AND (s.course_id IS NULL OR r.course_id = s.course_id) \
                    UNION \
                    SELECT c.id FROM courses c \
                    WHERE (s.course_id IS NULL OR c.id = s.course_id) \
                      AND EXISTS (SELECT 1 FROM bookings b \
                                  WHERE b.course_id = c.id AND b.course_stream = s.code) \
                    ORDER BY 1) \
         FROM unnest($1::int[], $2::text[]) WITH ORDINALITY AS s(course_id, code, n) \
         ORDER BY s.n",
    )
    .bind(&courses)
    .bind(&codes)
    .fetch_all(db)
    .await?;
    let mut checked = CheckedStreams::default();
    for (stream, (_, courses)) in streams.iter().zip(found) {
        match courses.as_slice() {
            [] => checked.unknown.push(stream.to_string()),
            [course_id] => checked
                .resolved
                .push(StreamRef::of(*course_id, stream.code.clone())),
            _ => checked.ambiguous.push((stream.code.to_string(), courses)),
        }
    }
    Ok(checked)
}

/// What resolving wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Resolved {
    pub recipients: i64,
    /// Blocked people, written as `skipped`.
    pub skipped: i64,
}

/// Writes one recipient row per person of the audience of broadcast
/// `message_id`: `pending`, or `skipped` for people who blocked the bot.
/// A row that already exists is left alone, so resolving twice is harmless.
#[tracing::instrument(skip_all, fields(message_id))]
pub async fn resolve(
    conn: &mut PgConnection,
    message_id: i32,
    audience: &Audience,
) -> sqlx::Result<Resolved> {
    let b = binds(audience);
    let members = members();
    let sql = format!(
        "WITH inserted AS ( \
            INSERT INTO message_recipients (message_id, user_id, username, delivery_status, \
                                            last_error, legacy) \
            SELECT $6, a.user_id, u.username, \
                   CASE WHEN blocked.user_id IS NULL THEN 'pending' ELSE 'skipped' END, \
                   CASE WHEN blocked.user_id IS NULL THEN NULL \
                        ELSE jsonb_build_object('code', 'not_receiving', \
                                                'reason', blocked.reason)::text END, \
                   false \
            FROM ({members}) a \
            LEFT JOIN users u USING (user_id) \
            LEFT JOIN blocked_users blocked USING (user_id) \
            ORDER BY a.user_id \
            ON CONFLICT (message_id, user_id) WHERE NOT legacy DO NOTHING \
            RETURNING delivery_status) \
         SELECT count(*), count(*) FILTER (WHERE delivery_status = 'skipped') FROM inserted"
    );
    let (recipients, skipped): (i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(b.kind)
        .bind(&b.user_ids)
        .bind(&b.streams)
        .bind(&b.statuses)
        .bind(&b.courses)
        .bind(message_id)
        .fetch_one(conn)
        .await?;
    Ok(Resolved {
        recipients,
        skipped,
    })
}

/// A stream as the audience picker offers it: registry data (when
/// registered) and its members (their standing, as [`members`] counts
/// them) by status.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct StreamMembers {
    pub code: String,
    pub display_name: Option<String>,
    pub course_id: i32,
    pub starts_on: Option<chrono::NaiveDate>,
    pub is_current: bool,
    pub archived: bool,
    pub confirmed: i64,
    pub pending: i64,
    pub new: i64,
    pub cancelled: i64,
}

impl StreamMembers {
    pub fn name(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.code)
    }

    /// The stream as an audience names it: `course_id:code`.
    pub fn key(&self) -> String {
        stream_key(self.course_id, &self.code)
    }

    /// Members whose standing has raw status `status`.
    pub fn with_status(&self, status: i32) -> i64 {
        match status {
            2 => self.confirmed,
            1 => self.pending,
            0 => self.new,
            -1 => self.cancelled,
            _ => 0,
        }
    }
}

/// Every stream registered or found on bookings of a course, with its
/// members per status: current intakes first, then in display order,
/// archived last.
pub async fn stream_members(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<StreamMembers>> {
    let mut rows: Vec<StreamMembers> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "WITH m AS ( \
             SELECT course_id, course_stream AS code, \
                    count(*) FILTER (WHERE confirmed = 2) AS confirmed, \
                    count(*) FILTER (WHERE confirmed = 1) AS pending, \
                    count(*) FILTER (WHERE confirmed = 0) AS new, \
                    count(*) FILTER (WHERE confirmed = -1) AS cancelled \
             FROM ( \
                 SELECT DISTINCT ON (user_id, course_id, course_stream) \
                        course_id, course_stream, confirmed \
                 FROM bookings \
                 WHERE course_stream IS NOT NULL AND course_id IS NOT NULL AND user_id > 0 \
                 ORDER BY user_id, course_id, course_stream, {rank} DESC, \
                          created_at DESC NULLS LAST, id DESC \
             ) standing GROUP BY course_id, course_stream) \
         SELECT coalesce(r.code, m.code) AS code, r.display_name, \
                coalesce(r.course_id, m.course_id) AS course_id, r.starts_on, \
                coalesce(r.is_current, false) AS is_current, \
                coalesce(r.archived, false) AS archived, \
                coalesce(m.confirmed, 0) AS confirmed, coalesce(m.pending, 0) AS pending, \
                coalesce(m.new, 0) AS new, coalesce(m.cancelled, 0) AS cancelled \
         FROM m FULL JOIN stream_registry r ON r.code = m.code AND r.course_id = m.course_id",
        rank = standing_rank_sql("confirmed")
    )))
    .fetch_all(db)
    .await?;
    rows.sort_by(|a, b| {
        b.is_current
            .cmp(&a.is_current)
            .then(a.archived.cmp(&b.archived))
            .then(a.course_id.cmp(&b.course_id))
            .then_with(|| display_order((a.starts_on, &a.code), (b.starts_on, &b.code)))
    });
    Ok(rows)
}

/// A named person as the audience picker shows them.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Named {
    pub user_id: i64,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Not in the people directory: the bot has never seen them.
    pub unknown: bool,
}

/// `ids` in the given order, with the names the directory has.
pub async fn named(db: impl PgExecutor<'_>, ids: &[i64]) -> sqlx::Result<Vec<Named>> {
    sqlx::query_as(
        "SELECT i.id AS user_id, d.username, d.first_name, d.last_name, \
                d.user_id IS NULL AS unknown \
         FROM unnest($1::bigint[]) WITH ORDINALITY AS i(id, n) \
         LEFT JOIN people_directory d ON d.user_id = i.id ORDER BY i.n",
    )
    .bind(ids)
    .fetch_all(db)
    .await
}
