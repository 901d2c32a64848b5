//! Database-level administration (create, rename, drop), used by the
//! embedded-PostgreSQL start-up and by the test harness.

use anyhow::{Context, bail};
use sqlx::PgConnection;

/// Database names we create are plain identifiers; reject anything else
/// rather than quoting arbitrary input into DDL.
fn checked(name: &str) -> anyhow::Result<&str> {
    let valid = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !valid {
        bail!("invalid database name {name:?}");
    }
    Ok(name)
}

pub async fn database_exists(conn: &mut PgConnection, name: &str) -> anyhow::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(name)
        .fetch_one(conn)
        .await
        .context("checking whether the database exists")
}

pub async fn create_database(
    conn: &mut PgConnection,
    name: &str,
    template: Option<&str>,
) -> anyhow::Result<()> {
    let sql = match template {
        Some(template) => format!(
            "CREATE DATABASE \"{}\" TEMPLATE \"{}\"",
            checked(name)?,
            checked(template)?
        ),
        None => format!("CREATE DATABASE \"{}\"", checked(name)?),
    };
    ddl(conn, sql)
        .await
        .with_context(|| format!("creating database {name}"))
}

pub async fn drop_database(conn: &mut PgConnection, name: &str) -> anyhow::Result<()> {
    let sql = format!(
        "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
        checked(name)?
    );
    ddl(conn, sql)
        .await
        .with_context(|| format!("dropping database {name}"))
}

pub async fn rename_database(conn: &mut PgConnection, from: &str, to: &str) -> anyhow::Result<()> {
    let sql = format!(
        "ALTER DATABASE \"{}\" RENAME TO \"{}\"",
        checked(from)?,
        checked(to)?
    );
    ddl(conn, sql)
        .await
        .with_context(|| format!("renaming database {from} to {to}"))
}

/// Runs database-level DDL built only from [`checked`] identifiers (these
/// statements take no bind parameters).
async fn ddl(conn: &mut PgConnection, sql: String) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::checked;

    #[test]
    fn only_plain_identifiers_pass() {
        assert!(checked("hsl_dashboard_2").is_ok());
        for bad in ["", "Upper", "a-b", "x\"; DROP", &"a".repeat(64)] {
            assert!(checked(bad).is_err(), "{bad:?}");
        }
    }
}
