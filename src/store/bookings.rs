//! Bookings: the latest list, a user's bookings, and audited changes under a
//! row lock.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{Connection, PgConnection};

use super::audit::{self, Actor, Change};
use crate::domain::booking::{BookingStatus, standing_rank_sql};
use crate::domain::booking_change::{Editable, Locked, Refusal, StreamSlot, move_to};
use crate::domain::stream::StreamCode;

/// A booking with its course name and stream display name.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BookingRow {
    pub id: i32,
    pub user_id: i64,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub course_id: Option<i32>,
    pub course_name: Option<String>,
    pub course_stream: Option<String>,
    /// The registry's display name, the raw code when unregistered, NULL
    /// without a stream.
    pub course_stream_name: Option<String>,
    pub confirmed: Option<i32>,
    pub created_at: Option<DateTime<Utc>>,
    pub referral_code: Option<String>,
    pub discount_percent: Option<i32>,
    /// The row's `xmin`: changes whenever the row does.
    pub version: String,
}

const SELECT: &str = "SELECT b.id, b.user_id, b.username, b.first_name, b.course_id, \
        c.name AS course_name, b.course_stream, \
        CASE WHEN b.course_stream IS NULL THEN NULL \
             ELSE coalesce(r.display_name, b.course_stream) END AS course_stream_name, \
        b.confirmed, b.created_at, b.referral_code, b.discount_percent, b.xmin::text AS version \
     FROM bookings b \
     LEFT JOIN courses c ON c.id = b.course_id \
     LEFT JOIN stream_registry r ON r.code = b.course_stream AND r.course_id = b.course_id";

/// Filters of the latest-bookings list; `None` means any.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Filter {
    /// A raw status; `Some(None)` would be "unknown" and is not offered.
    pub confirmed: Option<i32>,
    pub stream: Option<String>,
    pub course_id: Option<i32>,
    pub user_id: Option<i64>,
}

const FILTER: &str = "($1::int IS NULL OR b.confirmed = $1) \
     AND ($2::text IS NULL OR b.course_stream = $2) \
     AND ($3::int IS NULL OR b.course_id = $3) \
     AND ($4::bigint IS NULL OR b.user_id = $4)";

/// Newest first (`created_at` desc, then `id` desc), and the total matching.
pub async fn latest(
    pool: &sqlx::PgPool,
    filter: &Filter,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<BookingRow>, i64)> {
    let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE {FILTER} ORDER BY b.created_at DESC, b.id DESC LIMIT $5 OFFSET $6"
    )))
    .bind(filter.confirmed)
    .bind(filter.stream.as_deref())
    .bind(filter.course_id)
    .bind(filter.user_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let total = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM bookings b WHERE {FILTER}"
    )))
    .bind(filter.confirmed)
    .bind(filter.stream.as_deref())
    .bind(filter.course_id)
    .bind(filter.user_id)
    .fetch_one(pool)
    .await?;
    Ok((rows, total))
}

/// A user's bookings, newest first.
pub async fn of_user(db: impl sqlx::PgExecutor<'_>, user_id: i64) -> sqlx::Result<Vec<BookingRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE b.user_id = $1 ORDER BY b.created_at DESC, b.id DESC"
    )))
    .bind(user_id)
    .fetch_all(db)
    .await
}

/// Whether the user appears in any bot table.
pub async fn user_is_known(db: impl sqlx::PgExecutor<'_>, user_id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM users WHERE user_id = $1) \
             OR EXISTS (SELECT 1 FROM bookings WHERE user_id = $1) \
             OR EXISTS (SELECT 1 FROM events WHERE user_id = $1) \
             OR EXISTS (SELECT 1 FROM free_lesson_registrations WHERE user_id = $1) \
             OR EXISTS (SELECT 1 FROM hackathon_registrations WHERE user_id = $1)",
    )
    .bind(user_id)
    .fetch_one(db)
    .await
}

/// Which booking a change is for.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    Id(i32),
    /// The user's most recent booking that is not cancelled.
    LatestActive,
}

/// The editable fields of a row.
fn editable(row: &BookingRow) -> Editable {
    Editable {
        confirmed: row.confirmed,
        course_stream: row.course_stream.clone(),
        referral_code: row.referral_code.clone(),
        discount_percent: row.discount_percent,
    }
}

/// The audit row's before/after; the user id lets a user's page find the
/// history of their bookings.
fn audit_view(fields: &Editable, user_id: i64) -> serde_json::Value {
    json!({
        "user_id": user_id,
        "confirmed": fields.confirmed,
        "course_stream": fields.course_stream,
        "referral_code": fields.referral_code,
        "discount_percent": fields.discount_percent,
    })
}

/// Why a change was refused, decided by the caller's `decide` or here.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError<E> {
    #[error("booking not found")]
    NotFound,
    #[error("the user has no active booking")]
    NoActiveBooking,
    #[error("the booking was changed by someone else")]
    Stale,
    #[error("refused")]
    Refused(E),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// What a change asks for.
#[derive(Debug, Clone, Copy)]
pub struct ChangeRequest<'a> {
    /// The audit action, e.g. `booking.update`.
    pub action: &'a str,
    pub user_id: i64,
    pub target: Target,
    /// The version the client saw; a different current one refuses.
    pub version: Option<&'a str>,
    /// The stream the change moves into, if it sets one.
    pub new_stream: Option<&'a str>,
}

/// Changes one booking of `user_id` in one transaction: locks the row (and
/// the target stream's registry row), checks `version`, lets `decide` apply
/// the rules and compute the new values, updates, and audits before/after.
#[tracing::instrument(skip_all, fields(user_id = request.user_id, action = request.action))]
pub async fn change<E>(
    conn: &mut PgConnection,
    actor: &Actor,
    request: ChangeRequest<'_>,
    decide: impl FnOnce(Locked<'_>) -> Result<Editable, E>,
) -> Result<BookingRow, ChangeError<E>> {
    let ChangeRequest {
        action,
        user_id,
        target,
        version,
        new_stream,
    } = request;
    let mut tx = conn.begin().await?;
    let current: Option<BookingRow> = match target {
        Target::Id(id) => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{SELECT} WHERE b.id = $1 FOR UPDATE OF b"
            )))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
        }
        Target::LatestActive => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{SELECT} WHERE b.user_id = $1 AND b.confirmed IS DISTINCT FROM -1 \
                 ORDER BY b.created_at DESC, b.id DESC LIMIT 1 FOR UPDATE OF b"
            )))
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?
        }
    };
    let current = match (current, target) {
        (Some(row), _) if row.user_id == user_id => row,
        (_, Target::LatestActive) => return Err(ChangeError::NoActiveBooking),
        _ => return Err(ChangeError::NotFound),
    };
    if version.is_some_and(|version| version != current.version) {
        return Err(ChangeError::Stale);
    }
    let slot: Option<StreamSlot> = match new_stream {
        Some(code) => {
            // Places are taken by people whose standing there is not
            // cancelled (their most advanced booking).
            let row: Option<(i32, Option<i32>, bool, i64)> =
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT r.course_id, r.capacity, r.archived, \
                        (SELECT count(*) FROM ( \
                             SELECT max({rank}) AS standing FROM bookings b \
                             WHERE b.course_stream = r.code AND b.course_id = r.course_id \
                             GROUP BY b.user_id) s \
                          WHERE s.standing <> {cancelled}) AS taken \
                 FROM stream_registry r WHERE r.code = $1 AND r.course_id = $2 \
                 FOR UPDATE OF r",
                    rank = standing_rank_sql("b.confirmed"),
                    cancelled = BookingStatus::Cancelled.standing_rank(),
                )))
                .bind(code)
                .bind(current.course_id)
                .fetch_optional(&mut *tx)
                .await?;
            row.map(|(course_id, capacity, archived, taken)| StreamSlot {
                course_id,
                capacity,
                archived,
                taken,
            })
        }
        None => None,
    };
    let before = editable(&current);
    let after = decide(Locked {
        course_id: current.course_id,
        current: &before,
        new_stream: slot.as_ref(),
    })
    .map_err(ChangeError::Refused)?;
    sqlx::query(
        "UPDATE bookings SET confirmed = $2, course_stream = $3, referral_code = $4, \
                discount_percent = $5 WHERE id = $1",
    )
    .bind(current.id)
    .bind(after.confirmed)
    .bind(after.course_stream.as_deref())
    .bind(after.referral_code.as_deref())
    .bind(after.discount_percent)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action,
            entity_type: "booking",
            entity_id: Some(current.id.to_string()),
            before: Some(audit_view(&before, user_id)),
            after: Some(audit_view(&after, user_id)),
        },
    )
    .await?;
    let updated = sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE b.id = $1")))
        .bind(current.id)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(updated)
}

/// Moves the user's most recent booking that is not cancelled into the
/// stream `code` (not the one it is in), audited as `booking.move`.
#[tracing::instrument(skip_all, fields(user_id))]
pub async fn move_latest(
    conn: &mut PgConnection,
    actor: &Actor,
    user_id: i64,
    code: &StreamCode,
    force: bool,
) -> Result<BookingRow, ChangeError<Refusal>> {
    let request = ChangeRequest {
        action: "booking.move",
        user_id,
        target: Target::LatestActive,
        version: None,
        new_stream: Some(code.as_str()),
    };
    change(conn, actor, request, |locked| move_to(locked, code, force)).await
}
