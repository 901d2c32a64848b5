//! Delivery benchmark (not a test): sends one broadcast to N people through
//! the real engine, the real teloxide client and the fake Bot API server,
//! on a fresh local PostgreSQL with normal durability (or `DATABASE_URL`).
//!
//!     cargo bench --bench delivery -- --recipients 10000 --rate 25
//!
//! Reports the achieved rate against the configured one, the database work
//! per message (transactions and recipient-row updates, from PostgreSQL's
//! statistics) and the CPU time of this process (engine + client + fake
//! server) and of PostgreSQL.

#[path = "../tests/app/fake_telegram.rs"]
mod fake_telegram;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hsl_dashboard::delivery::{Engine, EngineConfig, Heartbeat, Wake};
use hsl_dashboard::domain::audience::Audience;
use hsl_dashboard::domain::content::Content;
use hsl_dashboard::local_pg::{Durability, LocalPg};
use hsl_dashboard::store::{self, audit::Actor, broadcasts};
use hsl_dashboard::telegram::Telegram;
use secrecy::SecretString;
use serde_json::json;
use sqlx::PgPool;
use tokio::time::Instant;

struct Args {
    recipients: i64,
    rate: u32,
    latency_ms: u64,
}

fn args() -> anyhow::Result<Args> {
    let mut out = Args {
        recipients: 10_000,
        rate: 25,
        latency_ms: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().context("a value after the flag");
        match arg.as_str() {
            "--recipients" => out.recipients = value()?.parse()?,
            "--rate" => out.rate = value()?.parse()?,
            "--latency-ms" => out.latency_ms = value()?.parse()?,
            // cargo bench passes --bench.
            "--bench" => {}
            other => anyhow::bail!(
                "unknown argument {other:?}; use --recipients N --rate R [--latency-ms L]"
            ),
        }
    }
    Ok(out)
}

/// CPU seconds (user + system) of process `pid` and its finished children.
fn cpu_seconds(pid: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name, which is in parentheses.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: f64 = [11, 12, 13, 14]
        .iter()
        .filter_map(|i| fields.get(*i)?.parse::<f64>().ok())
        .sum();
    ticks / 100.0
}

/// The fields of `/proc/{pid}/stat` after the command name.
fn stat_fields(pid: &str) -> Vec<String> {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let (_, rest) = stat.rsplit_once(')')?;
            Some(rest.split_whitespace().map(str::to_owned).collect())
        })
        .unwrap_or_default()
}

/// CPU seconds of this benchmark's PostgreSQL: its postmaster (whose
/// children's time includes finished backends) and its live backends.
/// Other clusters on the machine are not counted.
fn postgres_cpu(postmaster: &str) -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    let children: f64 = entries
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().into_string().ok()?;
            let parent = stat_fields(&pid).get(1)?.clone();
            (parent == postmaster).then(|| cpu_seconds(&pid))
        })
        .sum();
    children + cpu_seconds(postmaster)
}

/// The pid of the postmaster serving `pool`.
async fn postmaster_pid(pool: &PgPool) -> anyhow::Result<String> {
    let backend: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(pool)
        .await?;
    stat_fields(&backend.to_string())
        .get(1)
        .cloned()
        .context("the backend's parent (is PostgreSQL on this machine?)")
}

async fn db_counters(pool: &PgPool) -> anyhow::Result<(i64, i64)> {
    // Statistics are sent at transaction end; give them a moment.
    sqlx::query("SELECT pg_stat_force_next_flush()")
        .execute(pool)
        .await
        .ok();
    Ok(sqlx::query_as(
        "SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()), \
                (SELECT n_tup_upd + n_tup_ins FROM pg_stat_user_tables \
                 WHERE relname = 'message_recipients')",
    )
    .fetch_one(pool)
    .await?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    let scratch = tempfile::tempdir()?;
    let (url, _local) = match std::env::var("DATABASE_URL").ok().filter(|v| !v.is_empty()) {
        Some(url) => (url, None),
        None => {
            let pg = LocalPg::start(scratch.path(), Durability::Durable).await?;
            (pg.url("postgres"), Some(pg))
        }
    };
    store::migrate(&url).await?;
    let pool = store::pool(&url)?;
    sqlx::query(
        "INSERT INTO users (user_id, username, first_name) \
         SELECT 5000000 + n, 'bench' || n, 'Bench' FROM generate_series(1, $1) n \
         ON CONFLICT DO NOTHING",
    )
    .bind(args.recipients)
    .execute(&pool)
    .await?;
    let ids: Vec<i64> = (1..=args.recipients).map(|n| 5_000_000 + n).collect();

    let fake = fake_telegram::FakeTelegram::start().await;
    fake.set_latency(Duration::from_millis(args.latency_ms));
    let mut config = hsl_dashboard::config::Config::from_vars(&Default::default())?;
    config.telegram_bot_token = Some(SecretString::from("100:BENCH"));
    config.telegram_api_url = fake.url.parse()?;
    config.send_rate_per_sec = args.rate;
    let telegram = Telegram::from_config(&config)?.context("a token is set")?;

    let content = Content::parse(serde_json::from_value(json!({
        "type": "text", "text": "<b>Бенчмарк</b> рассылки",
        "buttons": [[{"text": "Открыть", "url": "https://example.org"}]]
    }))?)?;
    let audience = Audience::Users { user_ids: ids };
    let created = broadcasts::create(
        &pool,
        &Actor::cli(),
        &broadcasts::NewBroadcast {
            content,
            audience,
            when: broadcasts::When::Now,
            idempotency: None,
        },
    )
    .await?;

    let mut engine = Engine::new(
        pool.clone(),
        Some(telegram),
        EngineConfig::from_config(&config),
        Arc::new(Heartbeat::default()),
        Arc::new(Wake::default()),
    );
    // Backends report statistics up to a second late: let the creation's
    // inserts land before the first reading.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (commits_before, writes_before) = db_counters(&pool).await?;
    let cpu_before = cpu_seconds("self");
    let postmaster = postmaster_pid(&pool).await?;
    let pg_before = postgres_cpu(&postmaster);
    let started = Instant::now();
    engine.run_once().await?;
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds("self") - cpu_before;
    let pg_cpu = postgres_cpu(&postmaster) - pg_before;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (commits_after, writes_after) = db_counters(&pool).await?;

    let sent = fake.delivered().len() as f64;
    let n = args.recipients as f64;
    let broadcast = broadcasts::get(&pool, created.id)
        .await?
        .context("broadcast")?;
    println!("recipients            {}", args.recipients);
    println!(
        "delivered             {} (status {}, {} sent)",
        sent, broadcast.status, broadcast.counts.sent
    );
    println!("configured rate       {} msg/s", args.rate);
    println!(
        "achieved rate         {:.1} msg/s ({:.1}% of configured) over {:.2} s",
        sent / elapsed,
        100.0 * sent / elapsed / f64::from(args.rate),
        elapsed
    );
    println!(
        "db transactions/msg   {:.2}",
        (commits_after - commits_before) as f64 / n
    );
    println!(
        "recipient row writes/msg {:.2}",
        (writes_after - writes_before) as f64 / n
    );
    println!(
        "cpu, this process     {:.2} s ({:.1}% of one core, {:.0} µs/msg)",
        cpu,
        100.0 * cpu / elapsed,
        1e6 * cpu / n
    );
    println!(
        "cpu, postgres         {:.2} s ({:.1}% of one core, {:.0} µs/msg)",
        pg_cpu,
        100.0 * pg_cpu / elapsed,
        1e6 * pg_cpu / n
    );
    pool.close().await;
    Ok(())
}
