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

#[tracing::instrument(skip_all, fields(role = role.as_str()))]
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

/// One change to an account, as the CLI (and later the staff page) makes it.
#[derive(Debug, Clone, Copy)]
pub enum AccountChange<'a> {
    /// `None` clears it.
    Telegram(Option<i64>),
    Disabled(bool),
    Role(Role),
    PasswordHash(&'a str),
}

impl AccountChange<'_> {
    /// The audit action and the (constant) column it updates.
    fn action_and_column(self) -> (&'static str, &'static str) {
        match self {
            Self::Telegram(_) => ("staff.set_telegram", "telegram_user_id"),
            Self::Disabled(true) => ("staff.disable", "disabled"),
            Self::Disabled(false) => ("staff.enable", "disabled"),
            Self::Role(_) => ("staff.set_role", "role"),
            Self::PasswordHash(_) => ("staff.set_password", "password_hash"),
        }
    }
}

/// Applies `change` under a row lock, ends the account's sessions and
/// audits before/after, all in one transaction.
#[tracing::instrument(skip_all)]
pub async fn change(
    conn: &mut PgConnection,
    actor: &Actor,
    login: &Login,
    change: AccountChange<'_>,
) -> Result<Staff, StaffError> {
    let (action, column) = change.action_and_column();
    let mut tx = conn.begin().await?;
    let before = lock(&mut tx, login).await?;
    let update = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE staff SET {column} = $2 WHERE id = $1 RETURNING {COLUMNS}"
    )))
    .bind(before.id);
    let update = match change {
        AccountChange::Telegram(id) => update.bind(id),
        AccountChange::Disabled(disabled) => update.bind(disabled),
        AccountChange::Role(role) => update.bind(role.as_str()),
        AccountChange::PasswordHash(hash) => update.bind(hash),
    };
    let after: Staff = update.fetch_one(&mut *tx).await?;
    finish(&mut tx, actor, action, &before, &after).await?;
    tx.commit().await?;
    Ok(after)
}
