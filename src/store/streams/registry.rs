//! The stream registry: its entries, and registering, changing and
//! adopting streams under a lock, audited.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use sqlx::{Connection, PgConnection};

use crate::domain::stream::{Settings, display_order, stream_key};
use crate::store::audit::{self, Actor, Change};

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
    /// «Набор открыт с»; NULL: the default (see `domain::stream::enrolment_opens`).
    pub enrolment_opens_on: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl RegistryEntry {
    /// The audit log's `entity_id` of the stream: `course_id:code`.
    fn audit_id(&self) -> String {
        stream_key(self.course_id, &self.code)
    }

    fn audit_view(&self) -> serde_json::Value {
        json!({
            "course_id": self.course_id,
            "display_name": self.display_name,
            "starts_on": self.starts_on,
            "capacity": self.capacity,
            "is_current": self.is_current,
            "archived": self.archived,
            "enrolment_opens_on": self.enrolment_opens_on,
        })
    }
}

const REGISTRY_COLUMNS: &str = "code, course_id, display_name, starts_on, capacity, is_current, archived, enrolment_opens_on, created_at, updated_at";

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
                r.archived, r.enrolment_opens_on, r.created_at, r.updated_at, \
                c.name AS course_name, \
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

/// One registry entry: the stream `code` of course `course_id`.
pub async fn entry(
    db: impl sqlx::PgExecutor<'_>,
    course_id: i32,
    code: &str,
) -> sqlx::Result<Option<RegistryEntry>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {REGISTRY_COLUMNS} FROM stream_registry WHERE course_id = $1 AND code = $2"
    )))
    .bind(course_id)
    .bind(code)
    .fetch_optional(db)
    .await
}

/// The courses that have a stream `code`, registered or named by a booking,
/// in order: what a code alone can mean.
pub async fn courses_with_code(
    db: impl sqlx::PgExecutor<'_>,
    code: &str,
) -> sqlx::Result<Vec<i32>> {
    sqlx::query_scalar(
        "SELECT course_id FROM stream_registry WHERE code = $1 \
         UNION \
         SELECT c.id FROM courses c \
         WHERE EXISTS (SELECT 1 FROM bookings b WHERE b.course_id = c.id AND b.course_stream = $1) \
         ORDER BY 1",
    )
    .bind(code)
    .fetch_all(db)
    .await
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("this course already has a stream with this code")]
    Exists,
    #[error("no such course")]
    UnknownCourse,
    #[error("no registered stream with this code in this course")]
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
        "INSERT INTO stream_registry (code, course_id, display_name, starts_on, capacity, is_current, archived, enrolment_opens_on) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (course_id, code) DO NOTHING RETURNING {REGISTRY_COLUMNS}"
    )))
    .bind(code)
    .bind(course_id)
    .bind(&fields.display_name)
    .bind(fields.starts_on)
    .bind(fields.capacity)
    .bind(fields.is_current)
    .bind(fields.archived)
    .bind(fields.enrolment_opens_on)
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
            entity_id: Some(created.audit_id()),
            before: None,
            after: Some(created.audit_view()),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(created)
}

/// Changes a registered stream's editable fields.
#[tracing::instrument(skip_all, fields(course_id, code))]
pub async fn update(
    conn: &mut PgConnection,
    actor: &Actor,
    course_id: i32,
    code: &str,
    fields: &Settings,
) -> Result<RegistryEntry, RegistryError> {
    let mut tx = conn.begin().await?;
    let before: RegistryEntry = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {REGISTRY_COLUMNS} FROM stream_registry WHERE course_id = $1 AND code = $2 \
         FOR UPDATE"
    )))
    .bind(course_id)
    .bind(code)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(RegistryError::NotFound)?;
    if fields.is_current {
        clear_current(&mut tx, before.course_id, code).await?;
    }
    let after: RegistryEntry = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE stream_registry SET display_name = $3, starts_on = $4, capacity = $5, \
                is_current = $6, archived = $7, enrolment_opens_on = $8, updated_at = now() \
         WHERE course_id = $1 AND code = $2 RETURNING {REGISTRY_COLUMNS}"
    )))
    .bind(course_id)
    .bind(code)
    .bind(&fields.display_name)
    .bind(fields.starts_on)
    .bind(fields.capacity)
    .bind(fields.is_current)
    .bind(fields.archived)
    .bind(fields.enrolment_opens_on)
    .fetch_one(&mut *tx)
    .await
    .map_err(write_error)?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "stream.update",
            entity_type: "stream",
            entity_id: Some(after.audit_id()),
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
    #[error("the code is registered already (for every course whose bookings have it)")]
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
/// and that has no stream with this code yet (`course_id` chooses when
/// there are several).
#[tracing::instrument(skip_all, fields(code, course_id))]
pub async fn adopt(
    conn: &mut PgConnection,
    actor: &Actor,
    code: &str,
    course_id: Option<i32>,
    settings: &Settings,
) -> Result<RegistryEntry, AdoptError> {
    // (course, registered) for every course whose bookings have the code.
    let found: Vec<(Option<i32>, bool)> = sqlx::query_as(
        "SELECT k.course_id, EXISTS (SELECT 1 FROM stream_registry r \
                                     WHERE r.course_id = k.course_id AND r.code = $1) \
         FROM (SELECT DISTINCT course_id FROM bookings WHERE course_stream = $1) k \
         ORDER BY k.course_id",
    )
    .bind(code)
    .fetch_all(&mut *conn)
    .await?;
    if let Some(id) = course_id
        && found.contains(&(Some(id), true))
    {
        return Err(AdoptError::Registered);
    }
    let open: Vec<Option<i32>> = found
        .iter()
        .filter(|(_, registered)| !registered)
        .map(|(id, _)| *id)
        .collect();
    if course_id.is_none() && !found.is_empty() && open.is_empty() {
        return Err(AdoptError::Registered);
    }
    let found = open;
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
           AND NOT EXISTS (SELECT 1 FROM stream_registry r \
                           WHERE r.code = b.course_stream AND r.course_id = b.course_id) \
         GROUP BY b.course_id, b.course_stream ORDER BY b.course_stream",
    )
    .fetch_all(db)
    .await
}

/// Every registered stream of a course as the enrolment rule reads it:
/// `(code, starts_on, enrolment_opens_on)`, archived ones included (a past
/// intake is usually archived).
pub async fn course_intakes(
    db: impl sqlx::PgExecutor<'_>,
    course_id: i32,
) -> sqlx::Result<Vec<(String, Option<NaiveDate>, Option<NaiveDate>)>> {
    sqlx::query_as(
        "SELECT code, starts_on, enrolment_opens_on FROM stream_registry \
         WHERE course_id = $1 ORDER BY code",
    )
    .bind(course_id)
    .fetch_all(db)
    .await
}
