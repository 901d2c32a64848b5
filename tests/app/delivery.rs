//! The delivery engine against real PostgreSQL and the real teloxide client
//! talking to the fake Bot API server.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use hsl_dashboard::delivery::{Engine, EngineConfig, Heartbeat, Wake};
use hsl_dashboard::domain::audience::{Audience, RawAudience};
use hsl_dashboard::domain::content::Content;
use hsl_dashboard::store::audit::Actor;
use hsl_dashboard::store::broadcasts::{self, Command, NewBroadcast, When};
use hsl_dashboard::telegram::Telegram;
use secrecy::SecretString;
use serde_json::{Value, json};
use sqlx::{Connection, PgPool};
use tokio::time::Instant;

use crate::fake_telegram::{FakeTelegram, Reply};
use crate::helpers::{TestDatabase, migrated_database, spawn_app_with, test_config};

pub(crate) const TOKEN: &str = "123456:TEST-TOKEN";

/// People with a booking in `stream` at `status` (created now).
pub(crate) async fn members(
    pool: &PgPool,
    ids: impl IntoIterator<Item = i64>,
    stream: &str,
    status: i32,
) {
    for id in ids {
        sqlx::query(
            "INSERT INTO users (user_id, username, first_name) VALUES ($1, 'u' || $1, 'Имя') \
             ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .execute(pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO bookings (user_id, course_id, confirmed, course_stream, created_at) \
             VALUES ($1, 1, $2, $3, now())",
        )
        .bind(id)
        .bind(status)
        .bind(stream)
        .execute(pool)
        .await
        .unwrap();
    }
}

pub(crate) fn telegram(db: &TestDatabase, fake: &FakeTelegram) -> Telegram {
    let mut config = test_config(&db.url);
    config.telegram_bot_token = Some(SecretString::from(TOKEN));
    config.telegram_api_url = fake.url.parse().unwrap();
    Telegram::from_config(&config).unwrap().unwrap()
}

pub(crate) fn engine(pool: &PgPool, telegram: &Telegram, config: EngineConfig) -> Engine {
    Engine::new(
        pool.clone(),
        Some(telegram.clone()),
        config,
        Arc::new(Heartbeat::default()),
        Arc::new(Wake::default()),
    )
}

/// One pass of a new engine once it leads. A sender that just stopped
/// releases its lock when its backend exits, a moment after it hangs up;
/// a standby simply tries again, as this does for up to 3 s.
pub(crate) async fn run_once_leading(pool: &PgPool, telegram: &Telegram, config: EngineConfig) {
    let deadline = Instant::now() + Duration::from_secs(3);
    while !engine(pool, telegram, config.clone())
        .run_once()
        .await
        .unwrap()
    {
        assert!(Instant::now() < deadline, "the lock was never released");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) fn fast(rate: u32) -> EngineConfig {
    EngineConfig {
        tick: Duration::from_millis(100),
        lease: Duration::from_secs(1),
        ..EngineConfig::new(rate)
    }
}

fn text(html: &str) -> Content {
    Content::parse(serde_json::from_value(json!({"type": "text", "text": html})).unwrap()).unwrap()
}

fn audience(value: Value) -> Audience {
    Audience::parse(serde_json::from_value::<RawAudience>(value).unwrap()).unwrap()
}

async fn broadcast(pool: &PgPool, content: Content, audience: Audience, when: When) -> i32 {
    let created = broadcasts::create(
        pool,
        &Actor::cli(),
        &NewBroadcast {
            content,
            audience,
            when,
            idempotency: None,
        },
    )
    .await
    .unwrap();
    created.id
}

pub(crate) async fn to_users(pool: &PgPool, ids: &[i64]) -> i32 {
    broadcast(
        pool,
        text("<b>Привет</b>"),
        audience(json!({"kind": "users", "user_ids": ids})),
        When::Now,
    )
    .await
}

pub(crate) async fn statuses(pool: &PgPool, id: i32) -> HashMap<i64, String> {
    sqlx::query_as::<_, (i64, String)>(
        "SELECT user_id, delivery_status FROM message_recipients WHERE message_id = $1",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .unwrap()
    .into_iter()
    .collect()
}

pub(crate) async fn status(pool: &PgPool, id: i32) -> (String, Option<String>) {
    sqlx::query_as("SELECT status, status_reason FROM message_history WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Polls until broadcast `id` has status `wanted`.
pub(crate) async fn wait_for(pool: &PgPool, id: i32, wanted: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let (now, _) = status(pool, id).await;
        if now == wanted {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "broadcast {id} is {now}, not {wanted}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) fn range(from: i64, to: i64) -> Vec<i64> {
    (from..=to).collect()
}

#[tokio::test]
async fn a_stream_broadcast_reaches_exactly_its_confirmed_members_once() {
    let db = migrated_database().await;
    let pool = db.pool().await;
    let fake = FakeTelegram::start().await;
    members(&pool, [1, 2, 3, 4, 5], "8th_stream", 2).await;
    members(&pool, [6], "8th_stream", 1).await;
    members(&pool, [7], "8th_stream", -1).await;
    // Paid, then pressed «Записаться» again (a new booking at 0): their
    // standing is their most advanced booking, so they are confirmed.
    members(&pool, [8], "8th_stream", 2).await;
    members(&pool, [8], "8th_stream", 0).await;
    // Cancelled, then booked again: new, not confirmed.
    members(&pool, [10], "8th_stream", -1).await;
    members(&pool, [10], "8th_stream", 0).await;
    members(&pool, [9], "7th_stream", 2).await;
    sqlx::query("INSERT INTO blocked_users (user_id, reason) VALUES (3, 'blocked')")
        .execute(&pool)
        .await
        .unwrap();

    let content = Content::parse(
        serde_json::from_value(json!({
            "type": "text", "text": "<b>Занятие</b> завтра", "link_preview": false,
            "buttons": [[{"text": "Открыть", "url": "https://example.org/x"}],
                        [{"text": "Да", "callback_data": "yes"}]]
        }))
        .unwrap(),
    )
    .unwrap();
    let id = broadcast(
        &pool,
        content,
        audience(json!({"kind": "stream", "streams": ["8th_stream"]})),
        When::Now,
    )
    .await;
    let mut engine = engine(&pool, &telegram(&db, &fake), fast(100));
    assert!(engine.run_once().await.unwrap());

    let delivered = fake.delivered();
    assert_eq!(
        delivered,
        HashMap::from([(1, 1), (2, 1), (4, 1), (5, 1), (8, 1)])
    );
    let rows = statuses(&pool, id).await;
    assert_eq!(rows.len(), 6, "{rows:?}");
    assert_eq!(rows[&3], "skipped");
    for user in [1, 2, 4, 5, 8] {
        assert_eq!(rows[&user], "sent");
    }
    assert_eq!(status(&pool, id).await.0, "done");
    let stored = broadcasts::get(&pool, id).await.unwrap().unwrap();
    assert_eq!((stored.counts.total, stored.counts.sent), (6, 5));
    assert_eq!(stored.counts.skipped, 1);

    // What Telegram got: HTML, no preview, the buttons in their rows.
    let call = &fake.sends()[0];
    assert_eq!(call.method, "sendmessage");
    assert_eq!(call.token, TOKEN);
    assert_eq!(call.body["parse_mode"], "HTML");
    assert_eq!(call.body["text"], "<b>Занятие</b> завтра");
    assert_eq!(call.body["link_preview_options"]["is_disabled"], true);
    let keyboard = &call.body["reply_markup"]["inline_keyboard"];
    assert_eq!(keyboard[0][0]["url"], "https://example.org/x");
    assert_eq!(keyboard[1][0]["callback_data"], "yes");
    // Message ids are kept for deleting later.
    let ids: Vec<Option<i32>> = sqlx::query_scalar(
        "SELECT telegram_message_id FROM message_recipients \
         WHERE message_id = $1 AND delivery_status = 'sent'",
    )
    .bind(id)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(ids.iter().all(Option::is_some), "{ids:?}");
}

#[tokio::test]
async fn media_go_by_file_id_with_their_caption() {
    let db = migrated_database().await;
    let pool = db.pool().await;
    let fake = FakeTelegram::start().await;
    members(&pool, [1], "8th_stream", 2).await;
    let content = Content::parse(
        serde_json::from_value(
            json!({"type": "photo", "file_id": "AgACAgIAAx", "caption": "<i>Фото</i>"}),
        )
        .unwrap(),
    )
    .unwrap();
    broadcast(
        &pool,
        content,
        audience(json!({"kind": "users", "user_ids": [1]})),
        When::Now,
    )
    .await;
    engine(&pool, &telegram(&db, &fake), fast(100))
        .run_once()
        .await
        .unwrap();
    let call = &fake.sends()[0];
    assert_eq!(call.method, "sendphoto");
    assert_eq!(call.body["photo"], "AgACAgIAAx");
    assert_eq!(call.body["caption"], "<i>Фото</i>");
    assert_eq!(call.body["chat_id"], "1");
}

#[tokio::test]
async fn sending_keeps_to_the_configured_rate() {
    let db = migrated_database().await;
    let pool = db.pool().await;
    let fake = FakeTelegram::start().await;
    members(&pool, range(1, 100), "8th_stream", 2).await;
    to_users(&pool, &range(1, 100)).await;

    let started = Instant::now();
    engine(&pool, &telegram(&db, &fake), fast(50))
        .run_once()
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(fake.delivered().len(), 100);
    assert!(took >= Duration::from_millis(1900), "{took:?}");
    assert!(took < Duration::from_secs(4), "{took:?}");
    let sends = fake.sends();
    let spread = sends.last().unwrap().at - sends[0].at;
    assert!(spread >= Duration::from_millis(1900), "{spread:?}");
}

#[tokio::test]
async fn a_429_holds_back_every_send_for_retry_after_and_loses_nothing() {
    let db = migrated_database().await;
    let pool = db.pool().await;
    let fake = FakeTelegram::start().await;
    members(&pool, range(1, 10), "8th_stream", 2).await;
    let id = to_users(&pool, &range(1, 10)).await;
    fake.reply_next([Reply::RetryAfter(2)]);

    engine(&pool, &telegram(&db, &fake), fast(50))
        .run_once()
        .await
        .unwrap();

    let calls = fake.sends();
    assert_eq!(calls[0].reply, Reply::RetryAfter(2));
    // Requests already on the wire may land; nothing starts during the wait.
    let after: Vec<_> = calls[1..]
        .iter()
        .filter(|call| call.at - calls[0].at >= Duration::from_millis(100))
        .collect();
    assert!(!after.is_empty());
    for call in &after {
        assert!(
            call.at - calls[0].at >= Duration::from_millis(1950),
            "{:?}",
            call.at - calls[0].at
        );
    }
    let delivered = fake.delivered();
    assert_eq!(delivered.len(), 10);
    assert!(delivered.values().all(|n| *n == 1), "{delivered:?}");
    assert!(statuses(&pool, id).await.values().all(|s| s == "sent"));
    // The 429 did not count as an attempt.
    let attempts: Vec<i32> =
        sqlx::query_scalar("SELECT attempts FROM message_recipients WHERE message_id = $1")
            .bind(id)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert!(attempts.iter().all(|a| *a == 1), "{attempts:?}");
}

#[tokio::test]
async fn unreachable_people_are_remembered_and_skipped_next_time() {
    let db = migrated_database().await;
    let pool = db.pool().await;
    let fake = FakeTelegram::start().await;
    members(&pool, range(1, 4), "8th_stream", 2).await;
    fake.reply_for(2, Reply::Blocked);
    fake.reply_for(3, Reply::Deactivated);
    fake.reply_for(4, Reply::ChatNotFound);
    let telegram = telegram(&db, &fake);

    let first = to_users(&pool, &range(1, 4)).await;
    engine(&pool, &telegram, fast(100))
        .run_once()
        .await
        .unwrap();
    let rows = statuses(&pool, first).await;
    assert_eq!(rows[&1], "sent");
    assert_eq!(rows[&2], "blocked");
    assert_eq!(rows[&3], "blocked");
    assert_eq!(rows[&4], "failed");
    let blocked: Vec<(i64, String)> =
        sqlx::query_as("SELECT user_id, reason FROM blocked_users ORDER BY user_id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        blocked,
        [
            (2, "blocked".into()),
            (3, "deactivated".into()),
            (4, "chat_not_found".into())
        ]
    );
    assert_eq!(fake.sends().len(), 4, "no retries for permanent errors");
    assert_eq!(status(&pool, first).await.0, "done");

    let second = to_users(&pool, &range(1, 4)).await;
    engine(&pool, &telegram, fast(100))
        .run_once()
        .await
        .unwrap();
    let rows = statuses(&pool, second).await;
    assert_eq!(rows[&1], "sent");
    for user in [2, 3, 4] {
        assert_eq!(rows[&user], "skipped");
    }
    assert_eq!(fake.sends().len(), 5, "only user 1 was sent to again");
}

#[tokio::test]
async fn two_engines_deliver_a_thousand_recipients_without_duplicates() {
    let db = migrated_database().await;
    let pool = db.pool().await;
    let fake = FakeTelegram::start().await;
    members(&pool, range(1, 1000), "8th_stream", 2).await;
    let id = to_users(&pool, &range(1, 1000)).await;
    let telegram = telegram(&db, &fake);

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut runs = Vec::new();
    for _ in 0..2 {
        let mut stopped = stopped.clone();
        let engine = engine(&pool, &telegram, fast(1000));
        runs.push(tokio::spawn(engine.run(async move {
            let _ = stopped.wait_for(|s| *s).await;
        })));
    }
    wait_for(&pool, id, "done", Duration::from_secs(30)).await;
    stop.send(true).unwrap();
    for run in runs {
        run.await.unwrap();
    }
    let delivered = fake.delivered();
    assert_eq!(delivered.len(), 1000);
    assert!(delivered.values().all(|n| *n == 1));
    assert_eq!(fake.sends().len(), 1000);
}

#[tokio::test]
async fn a_crash_mid_broadcast_resumes_without_resending() {
    let db = migrated_database().await;
    let pool = db.pool().await;
    let fake = FakeTelegram::start().await;
    fake.set_latency(Duration::from_millis(300));
    members(&pool, range(1, 200), "8th_stream", 2).await;
    let id = to_users(&pool, &range(1, 200)).await;
    let telegram = telegram(&db, &fake);

    // kill -9: the task is dropped mid-request; its lock connection closes.
    let crashed = tokio::spawn(engine(&pool, &telegram, fast(100)).run(std::future::pending()));
    tokio::time::sleep(Duration::from_millis(1200)).await;
    crashed.abort();
    let _ = crashed.await;
    // In flight: claimed and handed to Telegram (claimed rows still waiting
    // for their turn go back to the queue).
    let in_flight: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM message_recipients WHERE message_id = $1 \
         AND delivery_status = 'sending' AND dispatched_at IS NOT NULL",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(in_flight > 0, "the crash should leave sends in flight");
    let sent_before_restart = fake.sends().len();
    assert!(sent_before_restart < 200);

    fake.set_latency(Duration::ZERO);
    tokio::time::sleep(Duration::from_millis(1100)).await; // the lease runs out
    let restarted = tokio::spawn(engine(&pool, &telegram, fast(100)).run(async {
        tokio::time::sleep(Duration::from_secs(8)).await;
    }));
    wait_for(&pool, id, "done", Duration::from_secs(8)).await;
    restarted.abort();

    let rows = statuses(&pool, id).await;
    let unknown: Vec<i64> = rows
        .iter()
        .filter(|(_, s)| *s == "unknown")
        .map(|(user, _)| *user)
        .collect();
    assert_eq!(unknown.len() as i64, in_flight);
    assert_eq!(
        rows.values().filter(|s| *s == "sent").count() + unknown.len(),
        200
    );
    // Nobody got a message twice: the unknown ones were not resent.
    let calls = fake.sends();
    let mut per_chat: HashMap<i64, usize> = HashMap::new();
    for call in &calls {
        *per_chat.entry(call.chat_id.unwrap()).or_default() += 1;
    }
    assert!(
        per_chat.values().all(|n| *n == 1),
        "a chat got two messages"
    );

    // «Retry unknown» is explicit.
    broadcasts::command(&pool, id, Command::RetryUnknown, &Actor::cli())
        .await
        .unwrap();
    run_once_leading(&pool, &telegram, fast(100)).await;
    assert_eq!(fake.sends().len(), calls.len() + unknown.len());
    assert!(statuses(&pool, id).await.values().all(|s| s == "sent"));
}

#[tokio::test]
async fn a_graceful_stop_finishes_the_requests_in_flight_and_releases_the_lead() {
    let db = migrated_database().await;
    let pool = db.pool().await;
    let fake = FakeTelegram::start().await;
    fake.set_latency(Duration::from_millis(400));
    members(&pool, range(1, 100), "8th_stream", 2).await;
    let id = to_users(&pool, &range(1, 100)).await;
    let telegram = telegram(&db, &fake);

    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let run = tokio::spawn(engine(&pool, &telegram, fast(100)).run(async move {
        let _ = stopped.wait_for(|s| *s).await;
    }));
    tokio::time::sleep(Duration::from_millis(700)).await;
    stop.send(true).unwrap();
    run.await.unwrap();

    let rows = statuses(&pool, id).await;
    assert!(
        !rows.values().any(|s| s == "sending" || s == "unknown"),
        "{rows:?}"
    );
    let sent = rows.values().filter(|s| *s == "sent").count();
    assert_eq!(
        sent,
        fake.sends().len(),
        "every request made has its outcome"
    );
    assert!(sent > 0 && sent < 100, "{sent}");
    // Another engine takes over and finishes.
    fake.set_latency(Duration::ZERO);
    run_once_leading(&pool, &telegram, fast(1000)).await;
    assert_eq!(fake.delivered().len(), 100);
    assert_eq!(status(&pool, id).await.0, "done");
}

#[tokio::test]
async fn an_engine_stands_by_while_another_leads() {
    let db = migrated_database().await;
    let pool = db.pool().await;
    let fake = FakeTelegram::start().await;
    members(&pool, [1], "8th_stream", 2).await;
    to_users(&pool, &[1]).await;
    let telegram = telegram(&db, &fake);
    let mut holder = pool.acquire().await.unwrap();
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(telegram.budget_key())
        .execute(&mut *holder)
        .await
        .unwrap();
    assert!(
        !engine(&pool, &telegram, fast(100))
            .run_once()
            .await
            .unwrap()
    );
    assert!(fake.calls().is_empty());
    // The other process stops: its connection goes, and the lock with it as
    // soon as its backend exits, which a standby notices on a later try.
    holder.detach().close().await.unwrap();
    run_once_leading(&pool, &telegram, fast(100)).await;
    assert_eq!(fake.delivered().len(), 1);
}

#[tokio::test]
async fn telegram_refusing_the_html_stops_the_broadcast_as_failed() {
    let db = migrated_database().await;
    let pool = db.pool().await;
    let fake = FakeTelegram::start().await;
    members(&pool, range(1, 20), "8th_stream", 2).await;
    let id = to_users(&pool, &range(1, 20)).await;
    fake.reply_next([Reply::CantParseEntities]);
    engine(&pool, &telegram(&db, &fake), fast(10))
        .run_once()
        .await
        .unwrap();
    let (state, reason) = status(&pool, id).await;
    assert_eq!(state, "failed");
    assert!(reason.unwrap().contains("can't parse entities"));
    // It stopped: at most the requests already claimed went out.
    assert!(fake.sends().len() < 20, "{}", fake.sends().len());
}

#[tokio::test]
async fn consecutive_failures_pause_the_broadcast_and_failed_ones_never_block_newer_ones() {
    let db = migrated_database().await;
    let pool = db.pool().await;
    let fake = FakeTelegram::start().await;
    members(&pool, range(1, 80), "8th_stream", 2).await;
    for user in 1..=70 {
        fake.reply_for(user, Reply::BadRequest);
    }
    let telegram = telegram(&db, &fake);
    // Every recipient fails, but fewer than the pause threshold: done.
    let small = to_users(&pool, &range(1, 3)).await;
    // Sixty failures in a row: paused with the reason.
    let big = to_users(&pool, &range(4, 63)).await;
    // A newer broadcast still goes out.
    let newer = to_users(&pool, &range(71, 80)).await;
    let config = EngineConfig {
        pause_after_failures: 50,
        ..fast(1000)
    };
    engine(&pool, &telegram, config).run_once().await.unwrap();

    assert_eq!(status(&pool, small).await.0, "done");
    assert!(statuses(&pool, small).await.values().all(|s| s == "failed"));
    let (state, reason) = status(&pool, big).await;
    assert_eq!(state, "paused");
    // Stored as a code since migration 0014; the page still reads
    // «50 отправок подряд не удались; …» (web::words).
    assert!(
        reason
            .unwrap()
            .starts_with(r#"{"code":"too_many_failures","count":50,"#)
    );
    assert_eq!(status(&pool, newer).await.0, "done");
    assert!(statuses(&pool, newer).await.values().all(|s| s == "sent"));
}

#[tokio::test]
async fn a_transient_error_is_retried_after_a_backoff() {
    let db = migrated_database().await;
    let pool = db.pool().await;
    let fake = FakeTelegram::start().await;
    members(&pool, [1], "8th_stream", 2).await;
    let id = to_users(&pool, &[1]).await;
    fake.reply_next([Reply::Garbage]);
    let telegram = telegram(&db, &fake);
    engine(&pool, &telegram, fast(100))
        .run_once()
        .await
        .unwrap();
    assert_eq!(statuses(&pool, id).await[&1], "pending");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    engine(&pool, &telegram, fast(100))
        .run_once()
        .await
        .unwrap();
    assert_eq!(statuses(&pool, id).await[&1], "sent");
    let attempts: i32 =
        sqlx::query_scalar("SELECT attempts FROM message_recipients WHERE message_id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(attempts, 2);
    assert_eq!(fake.delivered()[&1], 1);
}

#[tokio::test]
async fn a_scheduled_broadcast_fires_on_time_and_a_cancelled_one_never_does() {
    let fake = FakeTelegram::start().await;
    let fake_url = fake.url.clone();
    let app = spawn_app_with(move |config| {
        config.telegram_bot_token = Some(SecretString::from(TOKEN));
        config.telegram_api_url = fake_url.parse().unwrap();
    })
    .await;
    let pool = &app.pool;
    members(pool, [1, 2], "8th_stream", 2).await;
    let at = Utc::now() + chrono::Duration::seconds(2);
    let fires = broadcast(
        pool,
        text("Напоминание"),
        audience(json!({"kind": "users", "user_ids": [1]})),
        When::At(at),
    )
    .await;
    let cancelled = broadcast(
        pool,
        text("Отменено"),
        audience(json!({"kind": "users", "user_ids": [2]})),
        When::At(at),
    )
    .await;
    broadcasts::command(pool, cancelled, Command::Cancel, &Actor::cli())
        .await
        .unwrap();
    assert_eq!(status(pool, fires).await.0, "scheduled");

    wait_for(pool, fires, "done", Duration::from_secs(8)).await;
    let started: chrono::DateTime<Utc> =
        sqlx::query_scalar("SELECT started_at FROM message_history WHERE id = $1")
            .bind(fires)
            .fetch_one(pool)
            .await
            .unwrap();
    let late = started - at;
    assert!(
        late >= chrono::Duration::zero() && late < chrono::Duration::seconds(2),
        "{late}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(fake.delivered(), HashMap::from([(1, 1)]));
    assert_eq!(status(pool, cancelled).await.0, "cancelled");
    assert!(statuses(pool, cancelled).await.is_empty());
}

#[tokio::test]
async fn without_a_token_broadcasts_are_kept_and_nothing_is_sent() {
    let db = migrated_database().await;
    let pool = db.pool().await;
    members(&pool, [1], "8th_stream", 2).await;
    let id = to_users(&pool, &[1]).await;
    let mut engine = Engine::new(
        pool.clone(),
        None,
        fast(100),
        Arc::new(Heartbeat::default()),
        Arc::new(Wake::default()),
    );
    assert!(!engine.run_once().await.unwrap());
    assert_eq!(status(&pool, id).await.0, "sending");
    assert_eq!(statuses(&pool, id).await[&1], "pending");
}
