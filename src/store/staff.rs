//! Staff accounts. Every change is audited in its own transaction.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{Connection, PgConnection};

use super::audit::{self, Actor, Change};
use crate::domain::role::Role;
use crate::domain::staff::Login;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Staff {
    pub id: i64,
    pub login: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub telegram_user_id: Option<i64>,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

impl Staff {
    fn audit_view(&self) -> serde_json::Value {
        json!({
            "login": self.login,
            "role": self.role,
            "telegram_user_id": self.telegram_user_id,
            "disabled": self.disabled,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error("a staff account with this login already exists")]
    LoginTaken,
    #[error("no staff account with this login")]
    NotFound,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

const COLUMNS: &str = "id, login, role, telegram_user_id, disabled, created_at, last_login_at";

pub async fn list(db: impl sqlx::PgExecutor<'_>) -> sqlx::Result<Vec<Staff>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM staff ORDER BY login"
    )))
    .fetch_all(db)
    .await
}

pub async fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    login: &Login,
    password_hash: &str,
    role: Role,
) -> Result<Staff, StaffError> {
    let mut tx = conn.begin().await?;
    let staff: Staff = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO staff (login, password_hash, role) VALUES ($1, $2, $3) \
         ON CONFLICT (login) DO NOTHING RETURNING {COLUMNS}"
    )))
    .bind(login.as_str())
    .bind(password_hash)
    .bind(role.as_str())
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(StaffError::LoginTaken)?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "staff.create",
            entity_type: "staff",
            entity_id: Some(staff.login.clone()),
            before: None,
            after: Some(staff.audit_view()),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(staff)
}

/// Locks the account for a change.
async fn lock(tx: &mut PgConnection, login: &Login) -> Result<Staff, StaffError> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM staff WHERE login = $1 FOR UPDATE"
    )))
    .bind(login.as_str())
    .fetch_optional(tx)
    .await?
    .ok_or(StaffError::NotFound)
}

/// Ends the account's sessions and audits the change. Any change to an
/// account ends its sessions, so a role change, a disabled account or a new
/// password takes effect at once.
async fn finish(
    tx: &mut PgConnection,
    actor: &Actor,
    action: &str,
    before: &Staff,
    after: &Staff,
) -> Result<(), StaffError> {
    sqlx::query("DELETE FROM staff_sessions WHERE staff_id = $1")
        .bind(after.id)
        .execute(&mut *tx)
        .await?;
    audit::record(
        tx,
        actor,
        Change {
            action,
            entity_type: "staff",
            entity_id: Some(after.login.clone()),
            before: Some(before.audit_view()),
            after: Some(after.audit_view()),
        },
    )
    .await?;
    Ok(())
}

const RETURNING: &str =
    "RETURNING id, login, role, telegram_user_id, disabled, created_at, last_login_at";

pub async fn set_telegram(
    conn: &mut PgConnection,
    actor: &Actor,
    login: &Login,
    telegram_user_id: Option<i64>,
) -> Result<Staff, StaffError> {
    let mut tx = conn.begin().await?;
    let before = lock(&mut tx, login).await?;
    let after: Staff = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE staff SET telegram_user_id = $2 WHERE id = $1 {RETURNING}"
    )))
    .bind(before.id)
    .bind(telegram_user_id)
    .fetch_one(&mut *tx)
    .await?;
    finish(&mut tx, actor, "staff.set_telegram", &before, &after).await?;
    tx.commit().await?;
    Ok(after)
}

pub async fn set_disabled(
    conn: &mut PgConnection,
    actor: &Actor,
    login: &Login,
    disabled: bool,
) -> Result<Staff, StaffError> {
    let mut tx = conn.begin().await?;
    let before = lock(&mut tx, login).await?;
    let after: Staff = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE staff SET disabled = $2 WHERE id = $1 {RETURNING}"
    )))
    .bind(before.id)
    .bind(disabled)
    .fetch_one(&mut *tx)
    .await?;
    let action = if disabled {
        "staff.disable"
    } else {
        "staff.enable"
    };
    finish(&mut tx, actor, action, &before, &after).await?;
    tx.commit().await?;
    Ok(after)
}

pub async fn set_role(
    conn: &mut PgConnection,
    actor: &Actor,
    login: &Login,
    role: Role,
) -> Result<Staff, StaffError> {
    let mut tx = conn.begin().await?;
    let before = lock(&mut tx, login).await?;
    let after: Staff = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE staff SET role = $2 WHERE id = $1 {RETURNING}"
    )))
    .bind(before.id)
    .bind(role.as_str())
    .fetch_one(&mut *tx)
    .await?;
    finish(&mut tx, actor, "staff.set_role", &before, &after).await?;
    tx.commit().await?;
    Ok(after)
}

pub async fn set_password(
    conn: &mut PgConnection,
    actor: &Actor,
    login: &Login,
    password_hash: &str,
) -> Result<Staff, StaffError> {
    let mut tx = conn.begin().await?;
    let before = lock(&mut tx, login).await?;
    let after: Staff = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE staff SET password_hash = $2 WHERE id = $1 {RETURNING}"
    )))
    .bind(before.id)
    .bind(password_hash)
    .fetch_one(&mut *tx)
    .await?;
    finish(&mut tx, actor, "staff.set_password", &before, &after).await?;
    tx.commit().await?;
    Ok(after)
}
