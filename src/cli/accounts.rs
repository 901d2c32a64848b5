//! `staff …` and `token …`: account and API-token management from the shell.

use std::io::BufRead;

use anyhow::{Context, bail};
use clap::Subcommand;
use sqlx::{Connection, PgConnection};

use crate::domain::role::Role;
use crate::domain::staff::{Login, TokenName};
use crate::secrets;
use crate::store::audit::Actor;
use crate::store::staff::AccountChange;
use crate::store::{self, staff, tokens};

#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Create a staff account (password prompted, or read from stdin).
    Add {
        login: String,
        #[arg(long, value_enum)]
        role: Role,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set the Telegram user id used for «send test to me» (0 clears it).
    SetTelegram {
        login: String,
        #[arg(value_parser = clap::value_parser!(i64).range(0..))]
        user_id: i64,
    },
    /// Change an account's password; ends its sessions.
    SetPassword {
        login: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change an account's role; ends its sessions.
    SetRole {
        login: String,
        #[arg(long, value_enum)]
        role: Role,
    },
    /// Disable an account; ends its sessions at once.
    Disable { login: String },
    /// Enable a disabled account.
    Enable { login: String },
    /// List staff accounts.
    List,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token; it is printed once and only its hash is stored.
    Create {
        name: String,
        #[arg(long, value_enum)]
        role: Role,
    },
    /// Revoke the active token with this name.
    Revoke { name: String },
    /// List API tokens (never the tokens themselves).
    List,
}

fn login(raw: &str) -> anyhow::Result<Login> {
    Ok(Login::parse(raw)?)
}

/// The password from stdin or an interactive prompt, checked for strength.
fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        let first = rpassword::prompt_password("Password: ").context(
            "no terminal to prompt for a password on; pass it on standard input with --password-stdin",
        )?;
        let second = rpassword::prompt_password("Repeat password: ")?;
        if first != second {
            bail!("the passwords do not match");
        }
        first
    };
    secrets::check_password_strength(&password)?;
    Ok(password)
}

pub async fn staff(conn: &mut PgConnection, command: StaffCommand) -> anyhow::Result<()> {
    let actor = Actor::cli();
    match command {
        StaffCommand::Add {
            login: raw,
            role,
            password_stdin,
        } => {
            let login = login(&raw)?;
            let password = read_password(password_stdin)?;
            let hash = secrets::hash_password(password).await?;
            let created = staff::create(conn, &actor, &login, &hash, role).await?;
            println!(
                "Created staff account {} ({}).",
                created.login, created.role
            );
        }
        StaffCommand::SetTelegram {
            login: raw,
            user_id,
        } => {
            let id = (user_id > 0).then_some(user_id);
            let updated =
                staff::change(conn, &actor, &login(&raw)?, AccountChange::Telegram(id)).await?;
            match updated.telegram_user_id {
                Some(id) => println!("{}: Telegram user id set to {id}.", updated.login),
                None => println!("{}: Telegram user id cleared.", updated.login),
            }
        }
        StaffCommand::SetPassword {
            login: raw,
            password_stdin,
        } => {
            let login = login(&raw)?;
            let hash = secrets::hash_password(read_password(password_stdin)?).await?;
            staff::change(conn, &actor, &login, AccountChange::PasswordHash(&hash)).await?;
            println!("{login}: password changed; existing sessions ended.");
        }
        StaffCommand::SetRole { login: raw, role } => {
            let updated =
                staff::change(conn, &actor, &login(&raw)?, AccountChange::Role(role)).await?;
            println!("{}: role is now {}.", updated.login, updated.role);
        }
        StaffCommand::Disable { login: raw } => {
            let updated =
                staff::change(conn, &actor, &login(&raw)?, AccountChange::Disabled(true)).await?;
            println!("{}: disabled; existing sessions ended.", updated.login);
        }
        StaffCommand::Enable { login: raw } => {
            let updated =
                staff::change(conn, &actor, &login(&raw)?, AccountChange::Disabled(false)).await?;
            println!("{}: enabled.", updated.login);
        }
        StaffCommand::List => {
            println!(
                "{:<24} {:<7} {:<9} {:<14} last login",
                "login", "role", "state", "telegram"
            );
            for account in staff::list(&mut *conn).await? {
                println!(
                    "{:<24} {:<7} {:<9} {:<14} {}",
                    account.login,
                    account.role,
                    if account.disabled {
                        "disabled"
                    } else {
                        "active"
                    },
                    account
                        .telegram_user_id
                        .map(|id| id.to_string())
                        .unwrap_or_else(|| "-".into()),
                    when(account.last_login_at),
                );
            }
        }
    }
    Ok(())
}

pub async fn token(conn: &mut PgConnection, command: TokenCommand) -> anyhow::Result<()> {
    let actor = Actor::cli();
    match command {
        TokenCommand::Create { name, role } => {
            let name = TokenName::parse(&name)?;
            let (_, token) = tokens::issue(conn, &actor, &name, role).await?;
            eprintln!(
                "API token {} ({role}) created. It is shown only now; store it safely:",
                name.as_str()
            );
            println!("{token}");
        }
        TokenCommand::Revoke { name } => {
            let name = TokenName::parse(&name)?;
            let id = tokens::active_id_by_name(&mut *conn, &name)
                .await?
                .ok_or(tokens::TokenError::NotFound)?;
            tokens::revoke(conn, &actor, id).await?;
            println!("API token {} revoked.", name.as_str());
        }
        TokenCommand::List => {
            println!(
                "{:<6} {:<24} {:<7} {:<9} last used",
                "id", "name", "role", "state"
            );
            for token in tokens::list(&mut *conn).await? {
                println!(
                    "{:<6} {:<24} {:<7} {:<9} {}",
                    token.id,
                    token.name,
                    token.role,
                    if token.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    },
                    when(token.last_used_at),
                );
            }
        }
    }
    Ok(())
}

/// A timestamp for the listings, or "never".
fn when(at: Option<chrono::DateTime<chrono::Utc>>) -> String {
    at.map(|t| t.to_rfc3339()).unwrap_or_else(|| "never".into())
}

/// Creates the first `admin` account with a random password; returns it.
pub async fn create_first_admin(url: &str) -> anyhow::Result<String> {
    let mut conn = store::maintenance_connection(url).await?;
    let password = secrets::random_password();
    let hash = secrets::hash_password(password.clone()).await?;
    staff::create(
        &mut conn,
        &Actor::cli(),
        &login("admin")?,
        &hash,
        Role::Admin,
    )
    .await?;
    conn.close().await.ok();
    Ok(password)
}
