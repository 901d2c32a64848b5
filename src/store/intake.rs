//! Intake routing (migration 0016): per course, a rule that moves the
//! bookings the bot files under its default code (`4th_stream`) into the
//! course's current intake. The rules, switching one on or off (audited),
//! and the mover's tick.
//!
//! The mover never touches a booking created before the rule was switched
//! on (ids up to `after_booking_id`), one of another code or course, one
//! staff changed (any `booking` row in the audit log), or one it moved
//! already (`intake_moves`). With several server processes only the holder
//! of a transaction-scoped advisory lock moves, and each move is a
//! conditional update of a locked row, so nothing is moved or audited twice.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{Connection, PgConnection, PgPool};

use super::audit::{self, Actor, Change};

/// The code the bot writes when it is given none.
pub const BOT_DEFAULT_CODE: &str = "4th_stream";

/// `pg_try_advisory_xact_lock` key ("hsl_intk") of the mover's tick.
const LOCK: i64 = 0x6873_6c5f_696e_746b;

/// At most this many moves per tick (the rest follow a tick later).
const BATCH: i64 = 200;

/// A course's rule as the registry shows it: its state, where it moves to
/// and how many bookings it moved. Courses without a rule row show it off.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Rule {
    pub course_id: i32,
    pub course_name: String,
    pub source_code: String,
    pub enabled: bool,
    /// When it was last switched on (kept after switching off).
    pub switched_on_at: Option<DateTime<Utc>>,
    /// Bookings with a higher id were created after it was switched on.
    pub after_booking_id: i64,
    /// NULL: never changed.
    pub updated_at: Option<DateTime<Utc>>,
    /// The course's current intake, if it has one.
    pub target_code: Option<String>,
    pub target_name: Option<String>,
    /// Bookings it moved, ever.
    pub moved: i64,
}

/// Why a rule moves nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idle {
    /// It is switched off.
    Off,
    /// The course has no current intake in the registry.
    NoCurrentIntake,
    /// The current intake is the code the bot writes: nothing to move.
    TargetIsSource,
}

impl Rule {
    /// `None` while the rule is moving bookings; otherwise the first of
    /// [`Rule::idle_reasons`].
    pub fn idle(&self) -> Option<Idle> {
        self.idle_reasons().first().copied()
    }

    /// Every reason it moves nothing: switched off, and whatever would stop
    /// it if it were on.
    pub fn idle_reasons(&self) -> Vec<Idle> {
        let mut reasons = Vec::new();
        if !self.enabled {
            reasons.push(Idle::Off);
        }
        match &self.target_code {
            None => reasons.push(Idle::NoCurrentIntake),
            Some(target) if *target == self.source_code => reasons.push(Idle::TargetIsSource),
            Some(_) => {}
        }
        reasons
    }

    fn audit_view(&self) -> serde_json::Value {
        json!({
            "course_id": self.course_id,
            "source_code": self.source_code,
            "enabled": self.enabled,
            "after_booking_id": self.after_booking_id,
            "switched_on_at": self.switched_on_at,
        })
    }
}

const RULES: &str = "SELECT c.id AS course_id, c.name AS course_name, \
        coalesce(r.source_code, $1) AS source_code, coalesce(r.enabled, false) AS enabled, \
        r.switched_on_at, coalesce(r.after_booking_id, 0) AS after_booking_id, r.updated_at, \
        s.code AS target_code, s.display_name AS target_name, \
        (SELECT count(*) FROM intake_moves m WHERE m.course_id = c.id) AS moved \
     FROM courses c \
     LEFT JOIN intake_rules r ON r.course_id = c.id \
     LEFT JOIN stream_registry s ON s.course_id = c.id AND s.is_current";

/// Every course's rule, by course id.
#[tracing::instrument(skip_all)]
pub async fn rules(db: impl sqlx::PgExecutor<'_>) -> sqlx::Result<Vec<Rule>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("{RULES} ORDER BY c.id")))
        .bind(BOT_DEFAULT_CODE)
        .fetch_all(db)
        .await
}

/// One course's rule; `None` when there is no such course.
#[tracing::instrument(skip(db))]
pub async fn rule(db: impl sqlx::PgExecutor<'_>, course_id: i32) -> sqlx::Result<Option<Rule>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("{RULES} WHERE c.id = $2")))
        .bind(BOT_DEFAULT_CODE)
        .bind(course_id)
        .fetch_optional(db)
        .await
}

#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("no such course")]
    UnknownCourse,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Switches the course's rule on or off, audited as `intake_rule.update`
/// with before and after. Switching on sets the watermark: bookings with a
/// higher id than any the table holds now are the rule's. Asking for the
/// state it is in changes (and audits) nothing.
#[tracing::instrument(skip(conn, actor))]
pub async fn set_enabled(
    conn: &mut PgConnection,
    actor: &Actor,
    course_id: i32,
    enabled: bool,
) -> Result<Rule, RuleError> {
    let mut tx = conn.begin().await?;
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM courses WHERE id = $1)")
        .bind(course_id)
        .fetch_one(&mut *tx)
        .await?;
    if !exists {
        return Err(RuleError::UnknownCourse);
    }
    sqlx::query("INSERT INTO intake_rules (course_id) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(course_id)
        .execute(&mut *tx)
        .await?;
    // Locked: a mover's tick holds it shared while it moves, so once this
    // commits an "off" no tick moves anything more.
    sqlx::query("SELECT 1 FROM intake_rules WHERE course_id = $1 FOR UPDATE")
        .bind(course_id)
        .execute(&mut *tx)
        .await?;
    let before = rule(&mut *tx, course_id)
        .await?
        .ok_or(RuleError::UnknownCourse)?;
    if before.enabled == enabled {
        tx.commit().await?;
        return Ok(before);
    }
    sqlx::query(
        "UPDATE intake_rules SET enabled = $2, updated_at = now(), \
                after_booking_id = CASE WHEN $2 \
                    THEN (SELECT coalesce(max(id), 0) FROM bookings) ELSE after_booking_id END, \
                switched_on_at = CASE WHEN $2 THEN now() ELSE switched_on_at END \
         WHERE course_id = $1",
    )
    .bind(course_id)
    .bind(enabled)
    .execute(&mut *tx)
    .await?;
    let after = rule(&mut *tx, course_id)
        .await?
        .ok_or(RuleError::UnknownCourse)?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "intake_rule.update",
            entity_type: "intake_rule",
            entity_id: Some(course_id.to_string()),
            before: Some(before.audit_view()),
            after: Some(after.audit_view()),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// The ids of the user's bookings the mover moved.
#[tracing::instrument(skip(db))]
pub async fn moved_of_user(db: impl sqlx::PgExecutor<'_>, user_id: i64) -> sqlx::Result<Vec<i32>> {
    sqlx::query_scalar(
        "SELECT m.booking_id FROM intake_moves m \
         JOIN bookings b ON b.id = m.booking_id WHERE b.user_id = $1 ORDER BY m.booking_id",
    )
    .bind(user_id)
    .fetch_all(db)
    .await
}

/// A booking the rules would move.
#[derive(Debug, sqlx::FromRow)]
struct Candidate {
    id: i32,
    user_id: i64,
    course_id: i32,
    source_code: String,
    target_code: String,
    after_booking_id: i64,
    switched_on_at: Option<DateTime<Utc>>,
}

/// The system actor of the mover's audit rows.
fn system() -> Actor {
    Actor {
        name: "system".into(),
        client_addr: None,
        request_id: None,
    }
}

/// One tick of the mover: in one transaction, unless another process holds
/// the tick's lock, moves the bookings the switched-on rules cover into
/// their course's current intake, each with an `intake_moves` row and an
/// audit row (`booking.intake_move`, actor `system`). Returns how many it
/// moved.
///
/// The candidates are found through the bookings' primary key (`id >
/// after_booking_id`); each is then locked (skipped while someone else holds
/// it, for the next tick) and checked again in a statement of its own, so a
/// staff change that committed meanwhile is seen, before its conditional
/// update.
#[tracing::instrument(skip_all)]
pub async fn move_once(pool: &PgPool) -> sqlx::Result<u64> {
    let mut tx = pool.begin().await?;
    let leader: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
        .bind(LOCK)
        .fetch_one(&mut *tx)
        .await?;
    if !leader {
        return Ok(0);
    }
    // Read inside the tick and held shared: switching a rule off waits for
    // the tick, and no later tick sees it on.
    let on: Vec<i32> =
        sqlx::query_scalar("SELECT course_id FROM intake_rules WHERE enabled FOR SHARE")
            .fetch_all(&mut *tx)
            .await?;
    if on.is_empty() {
        return Ok(0);
    }
    let candidates: Vec<Candidate> = sqlx::query_as(
        "SELECT b.id, b.user_id, r.course_id, r.source_code, s.code AS target_code, \
                r.after_booking_id, r.switched_on_at \
         FROM intake_rules r \
         JOIN stream_registry s ON s.course_id = r.course_id AND s.is_current \
         CROSS JOIN LATERAL ( \
             SELECT b.id, b.user_id FROM bookings b \
             WHERE b.id > r.after_booking_id AND b.course_id = r.course_id \
               AND b.course_stream = r.source_code \
               AND NOT EXISTS (SELECT 1 FROM intake_moves m WHERE m.booking_id = b.id) \
               AND NOT EXISTS (SELECT 1 FROM audit_log a \
                               WHERE a.entity_type = 'booking' AND a.entity_id = b.id::text) \
             ORDER BY b.id LIMIT $1) b \
         WHERE r.enabled AND s.code <> r.source_code \
         ORDER BY b.id LIMIT $1",
    )
    .bind(BATCH)
    .fetch_all(&mut *tx)
    .await?;
    let mut moved = 0;
    for candidate in candidates {
        if move_one(&mut tx, &candidate).await? {
            moved += 1;
        }
    }
    tx.commit().await?;
    Ok(moved)
}

/// Moves one candidate if it is still one once locked.
async fn move_one(tx: &mut PgConnection, c: &Candidate) -> sqlx::Result<bool> {
    let locked: Option<i32> = sqlx::query_scalar(
        "SELECT id FROM bookings WHERE id = $1 AND course_id = $2 AND course_stream = $3 \
         FOR UPDATE SKIP LOCKED",
    )
    .bind(c.id)
    .bind(c.course_id)
    .bind(&c.source_code)
    .fetch_optional(&mut *tx)
    .await?;
    if locked.is_none() {
        return Ok(false);
    }
    let touched: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM intake_moves WHERE booking_id = $1) \
             OR EXISTS (SELECT 1 FROM audit_log \
                        WHERE entity_type = 'booking' AND entity_id = $1::text)",
    )
    .bind(c.id)
    .fetch_one(&mut *tx)
    .await?;
    if touched {
        return Ok(false);
    }
    let updated = sqlx::query(
        "UPDATE bookings SET course_stream = $4 \
         WHERE id = $1 AND course_id = $2 AND course_stream = $3",
    )
    .bind(c.id)
    .bind(c.course_id)
    .bind(&c.source_code)
    .bind(&c.target_code)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated != 1 {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO intake_moves (booking_id, course_id, from_code, to_code) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(c.id)
    .bind(c.course_id)
    .bind(&c.source_code)
    .bind(&c.target_code)
    .execute(&mut *tx)
    .await?;
    audit::record(
        tx,
        &system(),
        Change {
            action: "booking.intake_move",
            entity_type: "booking",
            entity_id: Some(c.id.to_string()),
            before: Some(json!({"user_id": c.user_id, "course_stream": c.source_code})),
            after: Some(json!({
                "user_id": c.user_id,
                "course_stream": c.target_code,
                "rule": {
                    "course_id": c.course_id,
                    "source_code": c.source_code,
                    "after_booking_id": c.after_booking_id,
                    "switched_on_at": c.switched_on_at,
                },
            })),
        },
    )
    .await?;
    Ok(true)
}
