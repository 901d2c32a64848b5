//! The audit log: one row per change, written in the change's transaction.

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
