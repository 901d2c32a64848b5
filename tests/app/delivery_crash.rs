//! After a crash, `unknown` means "Telegram may have it": exactly the
//! requests that reached Telegram without an answer. The rows the dead
//! sender had claimed but not yet sent go back to the queue and are
//! delivered once. The crash is simulated as in `delivery.rs` (the engine's
//! task is dropped mid-flight, its requests and lock connection with it),
//! and with the real binary and `kill -9`.

use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sqlx::PgPool;
use tokio::time::Instant;

use crate::delivery::{
    TOKEN, engine, fast, members, range, statuses, telegram, to_users, wait_for,
};
use crate::fake_telegram::FakeTelegram;
use crate::helpers::{TestDatabase, migrated_database};

/// Rows of broadcast `id` still `sending` under a lease that has not run out.
async fn leased(pool: &PgPool, id: i32) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM message_recipients \
         WHERE message_id = $1 AND delivery_status = 'sending' AND lease_until >= now()",
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn after_a_crash_only_the_requests_telegram_received_are_unknown() {
    let db = migrated_database().await;
    let pool = db.pool().await;
    let fake = FakeTelegram::start().await;
    // Telegram holds every request: whatever reached it stays unanswered.
    fake.set_latency(Duration::from_secs(3600));
    members(&pool, range(1, 20), "8th_stream", 2).await;
    let id = to_users(&pool, &range(1, 20)).await;
    let telegram = telegram(&db, &fake);

    // At 1 msg/s the engine claims 8 rows (its least in flight) at once and
    // hands them to Telegram a second apart.
    let crashed = tokio::spawn(engine(&pool, &telegram, fast(1)).run(std::future::pending()));
    until_requests(&fake, 3, Duration::from_secs(10)).await;
    // kill -9 right after the third request, a second before the next.
    crashed.abort();
    let _ = crashed.await;
    let (received, before_restart) = after_crash(&pool, id, &fake).await;

    // The next sender, once the dead one's leases have run out.
    fake.set_latency(Duration::ZERO);
    let deadline = Instant::now() + Duration::from_secs(5);
    while leased(&pool, id).await > 0 {
        assert!(Instant::now() < deadline, "the leases never ran out");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let restarted = tokio::spawn(engine(&pool, &telegram, fast(100)).run(async {
        tokio::time::sleep(Duration::from_secs(10)).await;
    }));
    wait_for(&pool, id, "done", Duration::from_secs(10)).await;
    restarted.abort();

    assert_recovered(&pool, id, &fake, &received, before_restart).await;
}

/// Waits until the fake Bot API has received `n` requests.
async fn until_requests(fake: &FakeTelegram, n: usize, within: Duration) {
    let deadline = Instant::now() + within;
    while fake.sends().len() < n {
        assert!(Instant::now() < deadline, "Telegram never got {n} requests");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Right after a crash: the chats Telegram received (each once), checked to
/// be fewer than the rows the dead sender had claimed, and the request count.
async fn after_crash(pool: &PgPool, id: i32, fake: &FakeTelegram) -> (HashSet<i64>, usize) {
    let received: HashSet<i64> = fake.sends().iter().map(|c| c.chat_id.unwrap()).collect();
    assert_eq!(received.len(), fake.sends().len(), "no chat twice so far");
    let claimed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM message_recipients \
         WHERE message_id = $1 AND delivery_status = 'sending'",
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap();
    assert!(
        claimed > received.len() as i64,
        "the crash should leave claimed rows that never reached Telegram \
         ({claimed} claimed, {} received)",
        received.len()
    );
    (received, fake.sends().len())
}

/// After recovery of broadcast `id` (20 recipients): `unknown` is exactly
/// `received` (what Telegram got before the crash and never answered), and
/// everyone else got the message once, after the restart.
async fn assert_recovered(
    pool: &PgPool,
    id: i32,
    fake: &FakeTelegram,
    received: &HashSet<i64>,
    before_restart: usize,
) {
    // `unknown` = exactly the requests Telegram received and never answered.
    let rows = statuses(pool, id).await;
    let unknown: HashSet<i64> = rows
        .iter()
        .filter(|(_, s)| *s == "unknown")
        .map(|(user, _)| *user)
        .collect();
    assert_eq!(&unknown, received, "{rows:?}");
    assert_eq!(
        rows.values().filter(|s| *s == "sent").count(),
        20 - received.len(),
        "{rows:?}"
    );
    // Everyone else got it once after the restart; nobody got it twice.
    let mut per_chat: HashMap<i64, usize> = HashMap::new();
    for call in fake.sends() {
        *per_chat.entry(call.chat_id.unwrap()).or_default() += 1;
    }
    assert_eq!(per_chat.len(), 20);
    assert!(per_chat.values().all(|n| *n == 1), "{per_chat:?}");
    assert_eq!(fake.sends().len() - before_restart, 20 - received.len());
    // A claim that never reached Telegram was not an attempt.
    let attempts: Vec<i32> = sqlx::query_scalar(
        "SELECT attempts FROM message_recipients \
         WHERE message_id = $1 AND delivery_status = 'sent'",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(attempts.iter().all(|a| *a == 1), "{attempts:?}");
}

const BIN: &str = env!("CARGO_BIN_EXE_hsl-dashboard");

/// The real binary serving (and sending) against `db`; killed when dropped.
struct Server(Child);

impl Server {
    fn start(db: &TestDatabase, fake: &FakeTelegram, rate: u32) -> Self {
        let child = Command::new(BIN)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("RUST_LOG", "warn")
            .env("DATABASE_URL", &db.url)
            .env("BIND_ADDR", "127.0.0.1:0")
            .env("TELEGRAM_BOT_TOKEN", TOKEN)
            .env("TELEGRAM_API_URL", &fake.url)
            .env("SEND_RATE_PER_SEC", rate.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        Self(child)
    }
}

impl Drop for Server {
    /// SIGKILL: `kill -9`.
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn after_kill_9_of_the_binary_only_the_requests_telegram_received_are_unknown() {
    let db = migrated_database().await;
    let pool = db.pool().await;
    let fake = FakeTelegram::start().await;
    fake.set_latency(Duration::from_secs(3600));
    members(&pool, range(1, 20), "8th_stream", 2).await;
    let id = to_users(&pool, &range(1, 20)).await;

    // At 1 msg/s the binary claims 8 rows and sends one a second.
    let server = Server::start(&db, &fake, 1);
    until_requests(&fake, 3, Duration::from_secs(60)).await;
    drop(server);
    let (received, before_restart) = after_crash(&pool, id, &fake).await;

    // Started again, it takes the dead run's claims back when their 30 s
    // lease runs out.
    fake.set_latency(Duration::ZERO);
    let _server = Server::start(&db, &fake, 100);
    wait_for(&pool, id, "done", Duration::from_secs(90)).await;
    assert_recovered(&pool, id, &fake, &received, before_restart).await;
}
