//! `--scale-out`'s delivery check: every copy runs an engine, exactly one
//! holds the bot token's advisory lock (src/delivery/engine), and when it
//! stops another takes over.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};

use super::scale_out::{Checks, Context};
use super::server::Server;

/// A bot token that never reaches Telegram: the API URL is a closed port,
/// and nothing is due to be sent. With a token the delivery engines compete
/// for the sender's lock.
pub const FAKE_BOT_TOKEN: &str = "100000:bench-not-a-real-token";
/// What the engine logs when it takes the lock.
const LEADER_LOG: &str = "this process now sends the broadcasts";

/// The engines' lock key, as the server derives it from the token.
fn sender_lock_key() -> anyhow::Result<i64> {
    let vars = [("TELEGRAM_BOT_TOKEN", FAKE_BOT_TOKEN)]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let config = hsl_dashboard::config::Config::from_vars(&vars)?;
    let telegram =
        hsl_dashboard::telegram::Telegram::from_config(&config)?.context("a token is set")?;
    Ok(telegram.budget_key())
}

/// How many advisory locks on the sender's key are held (pg_locks).
async fn sender_locks(db: &mut PgConnection, key: i64) -> anyhow::Result<i64> {
    let (high, low) = (i64::from((key >> 32) as u32), i64::from(key as u32));
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted \
         AND objsubid = 1 AND classid::bigint = $1 AND objid::bigint = $2 \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .bind(high)
    .bind(low)
    .fetch_one(db)
    .await?)
}

/// The processes whose log says they took the sender's lock.
fn leaders<'a>(servers: &[&'a Server]) -> Vec<&'a Server> {
    servers
        .iter()
        .filter(|s| std::fs::read_to_string(&s.log).is_ok_and(|l| l.contains(LEADER_LOG)))
        .copied()
        .collect()
}

/// Whether `/api/test-db` says the process's delivery loop is running.
async fn engine_ticks(cx: &Context<'_>, server: &Server) -> bool {
    let Ok(response) = cx
        .client
        .get(format!("{}/api/test-db", server.base))
        .send()
        .await
    else {
        return false;
    };
    let body: Value = response.json().await.unwrap_or(Value::Null);
    body["scheduler"]["enabled"] == json!(true) && body["scheduler"]["last_tick_at"].is_string()
}

/// Both processes run an engine, exactly one advisory lock on the sender's
/// key is held (pg_locks) and exactly one process logged that it took it;
/// when that one stops, the other takes over.
pub async fn single_sender(
    cx: &Context<'_>,
    a: &mut Server,
    b: &mut Server,
    checks: &mut Checks,
) -> anyhow::Result<()> {
    let key = sender_lock_key()?;
    let mut db = PgConnection::connect(&cx.target.binary.database_url).await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    let (held, leader_names, ticking) = loop {
        let held = sender_locks(&mut db, key).await?;
        let names: Vec<String> = leaders(&[a, b]).iter().map(|s| s.name.clone()).collect();
        let ticking = engine_ticks(cx, a).await && engine_ticks(cx, b).await;
        if (held == 1 && names.len() == 1 && ticking) || Instant::now() > deadline {
            break (held, names, ticking);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    checks.check(
        "exactly one delivery engine holds the sender's advisory lock",
        held == 1 && leader_names.len() == 1 && ticking,
        format!(
            "{held} advisory lock(s) on the sender key held (pg_locks); process(es) that \
             took it: {leader_names:?}; both engines running (/api/test-db): {ticking}"
        ),
    );
    if leader_names.len() != 1 {
        db.close().await.ok();
        return Ok(());
    }
    // The leader stops; the one standing by takes over.
    let (leader, other) = if leader_names[0] == a.name {
        (a, b)
    } else {
        (b, a)
    };
    leader.stop();
    let stopped = Instant::now();
    let deadline = stopped + Duration::from_secs(10);
    let took_over = loop {
        let held = sender_locks(&mut db, key).await?;
        if held == 1 && !leaders(&[other]).is_empty() {
            break Some(stopped.elapsed());
        }
        if Instant::now() > deadline {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    db.close().await.ok();
    checks.check(
        "when the sender stops, the other engine takes over",
        took_over.is_some(),
        match took_over {
            Some(d) => format!(
                "{} stopped; {} holds the lock after {:.0} ms",
                leader.name,
                other.name,
                d.as_secs_f64() * 1000.0
            ),
            None => format!(
                "{} stopped; no engine took the lock within 10 s",
                leader.name
            ),
        },
    );
    Ok(())
}
