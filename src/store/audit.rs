//! The audit log: one row per change, written in the change's transaction.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;

/// Who did it and from where, carried from the request (or the CLI) into
/// every store function that changes something.
#[derive(Debug, Clone)]
pub struct Actor {
    /// Staff login, `token:<name>`, or `cli`.
    pub name: String,
    pub client_addr: Option<String>,
    pub request_id: Option<String>,
}

impl Actor {
    pub fn cli() -> Self {
        Self {
            name: "cli".into(),
            client_addr: None,
            request_id: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Change<'a> {
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

#[tracing::instrument(skip_all, fields(action = change.action, entity_type = change.entity_type))]
pub async fn record(
    conn: &mut PgConnection,
    actor: &Actor,
    change: Change<'_>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (actor, action, entity_type, entity_id, before, after, client_addr, request_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7::inet, $8)",
    )
    .bind(&actor.name)
    .bind(change.action)
    .bind(change.entity_type)
    .bind(change.entity_id)
    .bind(change.before)
    .bind(change.after)
    .bind(actor.client_addr.as_deref())
    .bind(actor.request_id.as_deref())
    .execute(conn)
    .await?;
    Ok(())
}

/// What the `/audit` page filters on; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub actor: Option<String>,
    /// Matches the action itself and, with a trailing dot, a family
    /// (`staff.` finds every staff change).
    pub action: Option<String>,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub from: Option<DateTime<Utc>>,
    /// Exclusive.
    pub until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Entry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub client_addr: Option<String>,
    pub request_id: Option<String>,
}

const FILTER: &str = "($1::text IS NULL OR actor = $1) \
     AND ($2::text IS NULL OR starts_with(action, $2)) \
     AND ($3::text IS NULL OR entity_type = $3) \
     AND ($4::text IS NULL OR entity_id = $4) \
     AND ($5::timestamptz IS NULL OR at >= $5) \
     AND ($6::timestamptz IS NULL OR at < $6)";

fn bind_filter<'q, O>(
    query: sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>,
    filter: &'q Filter,
) -> sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments> {
    query
        .bind(filter.actor.as_deref())
        .bind(filter.action.as_deref())
        .bind(filter.entity_type.as_deref())
        .bind(filter.entity_id.as_deref())
        .bind(filter.from)
        .bind(filter.until)
}

/// One page of entries, newest first, and the number matching overall.
pub async fn search(
    pool: &sqlx::PgPool,
    filter: &Filter,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<Entry>, i64)> {
    let entries = bind_filter(
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT id, at, actor, action, entity_type, entity_id, before, after, \
                    host(client_addr) AS client_addr, request_id \
             FROM audit_log WHERE {FILTER} ORDER BY at DESC, id DESC LIMIT $7 OFFSET $8"
        ))),
        filter,
    )
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let (total,): (i64,) = bind_filter(
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM audit_log WHERE {FILTER}"
        ))),
        filter,
    )
    .fetch_one(pool)
    .await?;
    Ok((entries, total))
}
