//! Staff management as admins do it on `/settings/staff`: the accounts with
//! their live sessions, API tokens issued and revoked, roles changed and
//! accounts disabled or enabled. Every change is audited through the
//! context's actor (by the store, in the change's transaction); nobody
//! changes their own account here, so an admin cannot lock themselves out.

use sqlx::PgPool;

use super::Context;
use crate::domain::input::TokenId;
use crate::domain::role::Role;
use crate::domain::staff::{Login, TokenName};
use crate::store::sessions;
use crate::store::staff::{self as accounts, AccountChange, Staff};
use crate::store::tokens::{self, ApiToken, TokenError};

/// Why a staff change was not made.
#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error("an active token with this name already exists")]
    TokenNameTaken,
    #[error("no active token with this id")]
    TokenNotFound,
    #[error("no staff account with this login")]
    AccountNotFound,
    /// The actor's own role or access: changed only by another admin (or
    /// the command line).
    #[error("staff cannot change their own role or disable themselves")]
    OwnAccount,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// An account with how many live sessions it has.
pub struct Account {
    pub staff: Staff,
    pub sessions: i64,
}

/// Every account (by login) with its live sessions, and every API token.
#[tracing::instrument(skip_all)]
pub async fn overview(pool: &PgPool) -> Result<(Vec<Account>, Vec<ApiToken>), StaffError> {
    let sessions = sessions::counts_by_staff(pool).await?;
    let staff = accounts::list(pool)
        .await?
        .into_iter()
        .map(|staff| Account {
            sessions: sessions
                .iter()
                .find(|(id, _)| *id == staff.id)
                .map_or(0, |(_, count)| *count),
            staff,
        })
        .collect();
    let tokens = tokens::list(pool).await?;
    Ok((staff, tokens))
}

/// The token `id` while it is active.
#[tracing::instrument(skip_all, fields(token_id = id.get()))]
pub async fn active_token(pool: &PgPool, id: TokenId) -> Result<ApiToken, StaffError> {
    tokens::active(pool, id.get())
        .await?
        .ok_or(StaffError::TokenNotFound)
}

/// A new API token `name` with `role`, and its secret (shown once, never
/// stored). Names are unique among active tokens.
#[tracing::instrument(skip_all, fields(actor = %ctx.actor.name, role = role.as_str()))]
pub async fn issue_token(
    ctx: &Context<'_>,
    name: &TokenName,
    role: Role,
) -> Result<(ApiToken, String), StaffError> {
    let mut conn = ctx.pool.acquire().await?;
    tokens::issue(&mut conn, &ctx.actor, name, role)
        .await
        .map_err(token_error)
}

/// Revokes the active token `id`.
#[tracing::instrument(skip_all, fields(actor = %ctx.actor.name, token_id = id.get()))]
pub async fn revoke_token(ctx: &Context<'_>, id: TokenId) -> Result<ApiToken, StaffError> {
    let mut conn = ctx.pool.acquire().await?;
    tokens::revoke(&mut conn, &ctx.actor, id.get())
        .await
        .map_err(|err| match err {
            TokenError::NotFound | TokenError::NameTaken => StaffError::TokenNotFound,
            TokenError::Database(err) => StaffError::Db(err),
        })
}

fn token_error(err: TokenError) -> StaffError {
    match err {
        TokenError::NameTaken => StaffError::TokenNameTaken,
        TokenError::NotFound => StaffError::TokenNotFound,
        TokenError::Database(err) => StaffError::Db(err),
    }
}

/// Refuses a change to the actor's own account.
pub fn not_own(ctx: &Context<'_>, login: &Login) -> Result<(), StaffError> {
    if login.as_str() == ctx.actor.name {
        return Err(StaffError::OwnAccount);
    }
    Ok(())
}

/// Gives `login` the role `role`; their sessions end (the store ends them
/// in the same transaction), so the new role applies at their next sign-in.
#[tracing::instrument(skip_all, fields(actor = %ctx.actor.name, role = role.as_str()))]
pub async fn set_role(ctx: &Context<'_>, login: &Login, role: Role) -> Result<Staff, StaffError> {
    change(ctx, login, AccountChange::Role(role)).await
}

/// Disables (ending their sessions) or enables `login`.
#[tracing::instrument(skip_all, fields(actor = %ctx.actor.name, disabled))]
pub async fn set_disabled(
    ctx: &Context<'_>,
    login: &Login,
    disabled: bool,
) -> Result<Staff, StaffError> {
    change(ctx, login, AccountChange::Disabled(disabled)).await
}

async fn change(
    ctx: &Context<'_>,
    login: &Login,
    change: AccountChange<'_>,
) -> Result<Staff, StaffError> {
    not_own(ctx, login)?;
    let mut conn = ctx.pool.acquire().await?;
    accounts::change(&mut conn, &ctx.actor, login, change)
        .await
        .map_err(|err| match err {
            accounts::StaffError::NotFound | accounts::StaffError::LoginTaken => {
                StaffError::AccountNotFound
            }
            accounts::StaffError::Database(err) => StaffError::Db(err),
        })
}
