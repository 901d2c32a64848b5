//! Stream statistics and the stream registry.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use sqlx::{Connection, PgConnection};

use super::audit::{self, Actor, Change};
use crate::domain::stream::{Settings, display_order};

/// Booking counts by status. `total` is the sum of the five.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct Counts {
    pub total: i64,
    pub confirmed: i64,
    pub pending: i64,
    pub cancelled: i64,
    pub new: i64,
    pub unknown: i64,
}

impl std::iter::Sum for Counts {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::default(), |sum, c| Self {
            total: sum.total + c.total,
            confirmed: sum.confirmed + c.confirmed,
            pending: sum.pending + c.pending,
            cancelled: sum.cancelled + c.cancelled,
            new: sum.new + c.new,
            unknown: sum.unknown + c.unknown,
        })
    }
}

impl Counts {
    /// confirmed ÷ total × 100, to one decimal; 0 without bookings.
    pub fn conversion(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            (self.confirmed as f64 * 1000.0 / self.total as f64).round() / 10.0
        }
    }
}

/// One stream of one course: registry data (when registered) and counts.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StreamStats {
    pub course_id: Option<i32>,
    pub course_name: Option<String>,
    pub code: String,
    /// NULL when the stream is not in the registry.
    pub display_name: Option<String>,
    pub starts_on: Option<NaiveDate>,
    pub capacity: Option<i32>,
    pub is_current: bool,
    pub archived: bool,
    #[sqlx(flatten)]
    pub counts: Counts,
}

impl StreamStats {
    pub fn registered(&self) -> bool {
        self.display_name.is_some()
    }

    pub fn name(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.code)
    }
}

/// The [`Counts`] columns over `confirmed`: unknown is NULL or any other value.
pub(super) const COUNTS: &str = "count(*) AS total, \
     count(*) FILTER (WHERE confirmed = 2) AS confirmed, \
     count(*) FILTER (WHERE confirmed = 1) AS pending, \
     count(*) FILTER (WHERE confirmed = -1) AS cancelled, \
     count(*) FILTER (WHERE confirmed = 0) AS new, \
     count(*) FILTER (WHERE confirmed IS NULL OR confirmed NOT IN (-1, 0, 1, 2)) AS unknown";

/// Streams by course, then in [`display_order`].
fn by_course(
    a: (Option<i32>, Option<NaiveDate>, &str),
    b: (Option<i32>, Option<NaiveDate>, &str),
) -> std::cmp::Ordering {
    a.0.cmp(&b.0)
        .then_with(|| display_order((a.1, a.2), (b.1, b.2)))
}

/// Every stream that has bookings, plus registered streams that are not
/// archived, ordered by course, start date, then code (naturally).
pub async fn stream_stats(pool: &sqlx::PgPool) -> sqlx::Result<Vec<StreamStats>> {
    let mut rows: Vec<StreamStats> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "WITH k AS ( \
             SELECT course_id, course_stream, {COUNTS} FROM bookings \
             WHERE course_stream IS NOT NULL GROUP BY course_id, course_stream) \
         SELECT coalesce(k.course_id, r.course_id) AS course_id, c.name AS course_name, \
                coalesce(k.course_stream, r.code) AS code, r.display_name, r.starts_on, \
                r.capacity, coalesce(r.is_current, false) AS is_current, \
                coalesce(r.archived, false) AS archived, \
                coalesce(k.total, 0) AS total, coalesce(k.confirmed, 0) AS confirmed, \
                coalesce(k.pending, 0) AS pending, coalesce(k.cancelled, 0) AS cancelled, \
                coalesce(k.new, 0) AS new, coalesce(k.unknown, 0) AS unknown \
         FROM k FULL JOIN stream_registry r \
              ON r.code = k.course_stream AND r.course_id = k.course_id \
         LEFT JOIN courses c ON c.id = coalesce(k.course_id, r.course_id) \
         WHERE k.course_stream IS NOT NULL OR NOT r.archived"
    )))
    .fetch_all(pool)
    .await?;
    rows.sort_by(|a, b| {
        by_course(
            (a.course_id, a.starts_on, &a.code),
            (b.course_id, b.starts_on, &b.code),
        )
    });
    Ok(rows)
}

/// A stream as a filter offers it: its code and what to call it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StreamChoice {
    pub code: String,
    /// The registry's display name; NULL when unregistered.
    pub display_name: Option<String>,
    pub course_id: Option<i32>,
    pub starts_on: Option<NaiveDate>,
    pub archived: bool,
}

impl StreamChoice {
    pub fn name(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.code)
    }
}

/// Every stream code, registered or found in bookings, once each, in
/// display order: what [`stream_stats`] lists without counting bookings.
/// The codes in bookings come from a skip scan of the
/// `(course_stream, user_id)` index, one probe per distinct code.
pub async fn stream_choices(db: impl sqlx::PgExecutor<'_>) -> sqlx::Result<Vec<StreamChoice>> {
    let mut rows: Vec<StreamChoice> = sqlx::query_as(
        "WITH RECURSIVE k AS ( \
             (SELECT course_stream AS code FROM bookings WHERE course_stream IS NOT NULL \
              ORDER BY course_stream LIMIT 1) \
             UNION ALL \
             SELECT (SELECT course_stream FROM bookings WHERE course_stream > k.code \
                     ORDER BY course_stream LIMIT 1) \
             FROM k WHERE k.code IS NOT NULL) \
         SELECT coalesce(r.code, k.code) AS code, r.display_name, r.course_id, r.starts_on, \
                coalesce(r.archived, false) AS archived \
         FROM (SELECT code FROM k WHERE code IS NOT NULL) k \
         FULL JOIN stream_registry r ON r.code = k.code",
    )
    .fetch_all(db)
    .await?;
    rows.sort_by(|a, b| {
        by_course(
            (a.course_id, a.starts_on, &a.code),
            (b.course_id, b.starts_on, &b.code),
        )
    });
    Ok(rows)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CourseStats {
    pub course_id: i32,
    pub course_name: String,
    #[sqlx(flatten)]
    pub counts: Counts,
}

/// Every course with its booking counts (all streams, and none).
pub async fn course_stats(pool: &sqlx::PgPool) -> sqlx::Result<Vec<CourseStats>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "WITH k AS (SELECT course_id, {COUNTS} FROM bookings GROUP BY course_id) \
         SELECT c.id AS course_id, c.name AS course_name, \
                coalesce(k.total, 0) AS total, coalesce(k.confirmed, 0) AS confirmed, \
                coalesce(k.pending, 0) AS pending, coalesce(k.cancelled, 0) AS cancelled, \
                coalesce(k.new, 0) AS new, coalesce(k.unknown, 0) AS unknown \
         FROM courses c LEFT JOIN k ON k.course_id = c.id ORDER BY c.id"
    )))
    .fetch_all(pool)
    .await
}

/// A course, by id and name.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Course {
    pub id: i32,
    pub name: String,
}

/// Every course, by id (no booking counts: see [`course_stats`]).
pub async fn courses(db: impl sqlx::PgExecutor<'_>) -> sqlx::Result<Vec<Course>> {
    sqlx::query_as("SELECT id, name FROM courses ORDER BY id")
        .fetch_all(db)
        .await
}

/// A registry entry.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RegistryEntry {
    pub code: String,
    pub course_id: i32,
    pub display_name: String,
    pub starts_on: Option<NaiveDate>,
    pub capacity: Option<i32>,
    pub is_current: bool,
    pub archived: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl RegistryEntry {
    fn audit_view(&self) -> serde_json::Value {
        json!({
            "course_id": self.course_id,
            "display_name": self.display_name,
            "starts_on": self.starts_on,
            "capacity": self.capacity,
            "is_current": self.is_current,
            "archived": self.archived,
        })
    }
}

const REGISTRY_COLUMNS: &str = "code, course_id, display_name, starts_on, capacity, is_current, archived, created_at, updated_at";

/// A registry entry with the number of bookings in it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Registered {
    #[sqlx(flatten)]
    pub entry: RegistryEntry,
    pub course_name: Option<String>,
    pub bookings: i64,
}

/// The whole registry, archived entries included, in display order (course,
/// start date, code naturally); archived entries last within their course.
pub async fn registry(db: impl sqlx::PgExecutor<'_>) -> sqlx::Result<Vec<Registered>> {
    let mut rows: Vec<Registered> = sqlx::query_as(
        "SELECT r.code, r.course_id, r.display_name, r.starts_on, r.capacity, r.is_current, \
                r.archived, r.created_at, r.updated_at, c.name AS course_name, \
                (SELECT count(*) FROM bookings b \
                  WHERE b.course_stream = r.code AND b.course_id = r.course_id) AS bookings \
         FROM stream_registry r LEFT JOIN courses c ON c.id = r.course_id",
    )
    .fetch_all(db)
    .await?;
    rows.sort_by(|a, b| {
        let (a, b) = (&a.entry, &b.entry);
        a.course_id
            .cmp(&b.course_id)
            .then(a.archived.cmp(&b.archived))
            .then_with(|| display_order((a.starts_on, &a.code), (b.starts_on, &b.code)))
    });
    Ok(rows)
}

/// One registry entry by code.
pub async fn entry(
    db: impl sqlx::PgExecutor<'_>,
    code: &str,
) -> sqlx::Result<Option<RegistryEntry>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {REGISTRY_COLUMNS} FROM stream_registry WHERE code = $1"
    )))
    .bind(code)
    .fetch_optional(db)
    .await
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("a stream with this code is already registered")]
    Exists,
    #[error("no such course")]
    UnknownCourse,
    #[error("no registered stream with this code")]
    NotFound,
    /// Another transaction made a different stream of the course current at
    /// the same moment.
    #[error("another stream of this course is the current intake")]
    CurrentTaken,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Maps the one-current-per-course index violation (a race between two
/// changes) to [`RegistryError::CurrentTaken`].
fn write_error(err: sqlx::Error) -> RegistryError {
    match &err {
        sqlx::Error::Database(db)
            if db.constraint() == Some("stream_registry_one_current_per_course") =>
        {
            RegistryError::CurrentTaken
        }
        _ => err.into(),
    }
}

/// Only one current intake per course: clears the flag elsewhere first.
async fn clear_current(tx: &mut PgConnection, course_id: i32, except: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE stream_registry SET is_current = false, updated_at = now() \
         WHERE course_id = $1 AND code <> $2 AND is_current",
    )
    .bind(course_id)
    .bind(except)
    .execute(tx)
    .await?;
    Ok(())
}

/// Registers a stream (`action` is `stream.create` or `stream.adopt`).
#[tracing::instrument(skip_all, fields(code, course_id))]
pub async fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    action: &str,
    code: &str,
    course_id: i32,
    fields: &Settings,
) -> Result<RegistryEntry, RegistryError> {
    let mut tx = conn.begin().await?;
    let course_exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM courses WHERE id = $1)")
            .bind(course_id)
            .fetch_one(&mut *tx)
            .await?;
    if !course_exists {
        return Err(RegistryError::UnknownCourse);
    }
    if fields.is_current {
        clear_current(&mut tx, course_id, code).await?;
    }
    let created: RegistryEntry = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO stream_registry (code, course_id, display_name, starts_on, capacity, is_current, archived) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (code) DO NOTHING RETURNING {REGISTRY_COLUMNS}"
    )))
    .bind(code)
    .bind(course_id)
    .bind(&fields.display_name)
    .bind(fields.starts_on)
    .bind(fields.capacity)
    .bind(fields.is_current)
    .bind(fields.archived)
    .fetch_optional(&mut *tx)
    .await
    .map_err(write_error)?
    .ok_or(RegistryError::Exists)?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action,
            entity_type: "stream",
            entity_id: Some(created.code.clone()),
            before: None,
            after: Some(created.audit_view()),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(created)
}

/// Changes a registered stream's editable fields.
#[tracing::instrument(skip_all, fields(code))]
pub async fn update(
    conn: &mut PgConnection,
    actor: &Actor,
    code: &str,
    fields: &Settings,
) -> Result<RegistryEntry, RegistryError> {
    let mut tx = conn.begin().await?;
    let before: RegistryEntry = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {REGISTRY_COLUMNS} FROM stream_registry WHERE code = $1 FOR UPDATE"
    )))
    .bind(code)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(RegistryError::NotFound)?;
    if fields.is_current {
        clear_current(&mut tx, before.course_id, code).await?;
    }
    let after: RegistryEntry = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE stream_registry SET display_name = $2, starts_on = $3, capacity = $4, \
                is_current = $5, archived = $6, updated_at = now() \
         WHERE code = $1 RETURNING {REGISTRY_COLUMNS}"
    )))
    .bind(code)
    .bind(&fields.display_name)
    .bind(fields.starts_on)
    .bind(fields.capacity)
    .bind(fields.is_current)
    .bind(fields.archived)
    .fetch_one(&mut *tx)
    .await
    .map_err(write_error)?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "stream.update",
            entity_type: "stream",
            entity_id: Some(after.code.clone()),
            before: Some(before.audit_view()),
            after: Some(after.audit_view()),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Why a code found in bookings could not be adopted.
#[derive(Debug, thiserror::Error)]
pub enum AdoptError {
    #[error("the code is registered already")]
    Registered,
    #[error("no booking has the code")]
    NotInBookings,
    #[error("no booking of course {0} has the code")]
    NotInCourse(i32),
    #[error("the bookings with the code have no course")]
    NoCourse,
    #[error("the code occurs in bookings of several courses")]
    SeveralCourses(Vec<i32>),
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

impl From<sqlx::Error> for AdoptError {
    fn from(err: sqlx::Error) -> Self {
        Self::Registry(err.into())
    }
}

/// Registers `code`, found in bookings, with the course its bookings name
/// (`course_id` chooses when they name several).
#[tracing::instrument(skip_all, fields(code, course_id))]
pub async fn adopt(
    conn: &mut PgConnection,
    actor: &Actor,
    code: &str,
    course_id: Option<i32>,
    settings: &Settings,
) -> Result<RegistryEntry, AdoptError> {
    if entry(&mut *conn, code).await?.is_some() {
        return Err(AdoptError::Registered);
    }
    let found: Vec<Option<i32>> = sqlx::query_scalar(
        "SELECT DISTINCT course_id FROM bookings WHERE course_stream = $1 ORDER BY course_id",
    )
    .bind(code)
    .fetch_all(&mut *conn)
    .await?;
    let course_id = match (course_id, found.as_slice()) {
        (_, []) => return Err(AdoptError::NotInBookings),
        (Some(id), _) if found.contains(&Some(id)) => id,
        (Some(id), _) => return Err(AdoptError::NotInCourse(id)),
        (None, [Some(id)]) => *id,
        (None, [None]) => return Err(AdoptError::NoCourse),
        (None, _) => {
            return Err(AdoptError::SeveralCourses(
                found.into_iter().flatten().collect(),
            ));
        }
    };
    Ok(create(conn, actor, "stream.adopt", code, course_id, settings).await?)
}

/// A stream code found in bookings with no registry entry for its course.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Unregistered {
    pub course_id: Option<i32>,
    pub code: String,
    pub bookings: i64,
}

pub async fn unregistered(db: impl sqlx::PgExecutor<'_>) -> sqlx::Result<Vec<Unregistered>> {
    sqlx::query_as(
        "SELECT b.course_id, b.course_stream AS code, count(*) AS bookings \
         FROM bookings b \
         WHERE b.course_stream IS NOT NULL \
           AND NOT EXISTS (SELECT 1 FROM stream_registry r WHERE r.code = b.course_stream) \
         GROUP BY b.course_id, b.course_stream ORDER BY b.course_stream",
    )
    .fetch_all(db)
    .await
}
