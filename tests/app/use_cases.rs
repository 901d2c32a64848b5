//! The use-case layer (`hsl_dashboard::app`) called directly, as both
//! adapters call it: idempotency, the schedule, waking the engine, and the
//! commands, against real PostgreSQL.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hsl_dashboard::app::Context;
use hsl_dashboard::app::broadcasts::{self, SendError, Valid};
use hsl_dashboard::delivery::Wake;
use hsl_dashboard::domain::audience::Audience;
use hsl_dashboard::domain::broadcast::BroadcastStatus;
use hsl_dashboard::domain::content::Content;
use hsl_dashboard::store::audit::Actor;
use hsl_dashboard::store::broadcasts::{Command, CommandError};
use serde_json::json;
use sqlx::PgPool;

use crate::delivery::members;
use crate::helpers::migrated_database;

fn request(text: &str, scheduled_at: Option<DateTime<Utc>>) -> Valid {
    let audience = json!({"kind": "users", "user_ids": [1, 2]});
    let content = json!({"type": "text", "text": text});
    Valid {
        audience: Audience::parse(serde_json::from_value(audience).unwrap()).unwrap(),
        content: Content::parse(serde_json::from_value(content).unwrap()).unwrap(),
        scheduled_at,
    }
}

fn context<'a>(pool: &'a PgPool, wake: &'a Wake) -> Context<'a> {
    Context {
        pool,
        actor: Actor {
            name: "tester".into(),
            client_addr: None,
            request_id: None,
        },
        wake,
        reads: crate::helpers::reads(),
    }
}

async fn broadcasts(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM message_history WHERE NOT legacy")
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn woken(wake: &Wake) -> bool {
    tokio::time::timeout(Duration::from_millis(200), wake.woken())
        .await
        .is_ok()
}

#[tokio::test]
async fn a_broadcast_is_created_once_per_key_and_wakes_the_engine_only_when_it_starts_now() {
    let db = migrated_database().await;
    let pool = db.pool().await;
    members(&pool, [1, 2], "8th_stream", 2).await;
    let wake = Wake::default();
    let ctx = context(&pool, &wake);

    let key = Some("key-1".to_owned());
    let first = broadcasts::create(&ctx, request("Привет", None), key.clone())
        .await
        .unwrap();
    assert_eq!(
        (first.status, first.recipient_count),
        (BroadcastStatus::Sending, 2)
    );
    assert!(
        woken(&wake).await,
        "a broadcast that starts now wakes the engine"
    );

    let repeat = broadcasts::create(&ctx, request("Привет", None), key.clone())
        .await
        .unwrap();
    assert_eq!(repeat, first, "the same request with the same key");
    match broadcasts::create(&ctx, request("Другой текст", None), key).await {
        Err(SendError::KeyReused { broadcast }) => assert_eq!(broadcast, Some(first.id)),
        other => panic!("expected KeyReused, got {other:?}"),
    }
    assert_eq!(broadcasts(&pool).await, 1);

    let later = Utc::now() + chrono::Duration::days(1);
    let scheduled = broadcasts::create(&ctx, request("Завтра", Some(later)), None)
        .await
        .unwrap();
    assert_eq!(scheduled.status, BroadcastStatus::Scheduled);
    assert!(!woken(&wake).await, "a scheduled one does not wake it");

    let past = Utc::now() - chrono::Duration::seconds(1);
    match broadcasts::create(&ctx, request("Вчера", Some(past)), None).await {
        Err(SendError::InThePast { at, now }) => assert!(at == past && now > at),
        other => panic!("expected InThePast, got {other:?}"),
    }
    match broadcasts::create(&ctx, request("Ещё раз", None), None).await {
        Ok(_) => {}
        other => panic!("a second broadcast without a key: {other:?}"),
    }
    assert_eq!(broadcasts(&pool).await, 3, "nothing made for the past time");
}

#[tokio::test]
async fn commands_follow_the_state_machine_and_wake_the_engine_for_new_work() {
    let db = migrated_database().await;
    let pool = db.pool().await;
    members(&pool, [1, 2], "8th_stream", 2).await;
    let wake = Wake::default();
    let ctx = context(&pool, &wake);
    // No engine runs here, so it stays `sending`.
    let id = broadcasts::create(&ctx, request("Сейчас", None), None)
        .await
        .unwrap()
        .id;
    assert!(woken(&wake).await);

    broadcasts::command(&ctx, id, Command::Pause).await.unwrap();
    assert!(
        !woken(&wake).await,
        "pausing gives the engine nothing to do"
    );
    broadcasts::command(&ctx, id, Command::Resume)
        .await
        .unwrap();
    assert!(woken(&wake).await, "resuming does");
    broadcasts::command(&ctx, id, Command::Cancel)
        .await
        .unwrap();
    match broadcasts::command(&ctx, id, Command::Cancel).await {
        Err(CommandError::NotAllowed { .. }) => {}
        other => panic!("cancelling twice: {other:?}"),
    }
    match broadcasts::command(&ctx, 999_999, Command::Cancel).await {
        Err(CommandError::NotFound) => {}
        other => panic!("no such broadcast: {other:?}"),
    }
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE actor = 'tester' AND entity_id = $1",
    )
    .bind(id.to_string())
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(audited >= 4, "create and three commands audited: {audited}");
}

#[tokio::test]
async fn a_review_brings_the_people_directory_up_to_date_and_types_every_problem() {
    use hsl_dashboard::app::broadcasts::check::{Part, Unchecked};
    use hsl_dashboard::app::broadcasts::{Field, Problem, review};

    let db = migrated_database().await;
    let pool = db.pool().await;
    // Written by the bot after the directory was last brought up to date:
    // only a review that catches up first knows these people.
    members(&pool, [11, 12], "8th_stream", 2).await;
    let unchecked = |audience: serde_json::Value, scheduled_at| Unchecked {
        audience: Ok(serde_json::from_value(audience).unwrap()),
        content: Ok(serde_json::from_value(json!({"type": "text", "text": "Привет"})).unwrap()),
        scheduled_at: Ok(scheduled_at),
    };

    let known = review(
        &pool,
        unchecked(json!({"kind": "users", "user_ids": [11, 12]}), None),
        &[11],
    )
    .await
    .unwrap();
    assert!(known.problems.is_empty(), "{:?}", known.problems);
    assert_eq!(known.recipients(), Some(2));
    assert_eq!(known.named.len(), 1);
    assert!(!known.named[0].unknown, "named from the directory");
    assert!(known.valid().is_some());

    let past = Utc::now() - chrono::Duration::minutes(1);
    let bad = review(
        &pool,
        unchecked(json!({"kind": "users", "user_ids": [11, 99]}), Some(past)),
        &[],
    )
    .await
    .unwrap();
    let problems: Vec<(Field, Part, &str)> = bad
        .problems
        .iter()
        .map(|p| (p.field(), p.part(), p.code()))
        .collect();
    assert_eq!(
        problems,
        [
            (Field::UserIds, Part::Audience, "unknown_users"),
            (Field::ScheduledAt, Part::ScheduledAt, "in_the_past"),
        ]
    );
    assert_eq!(bad.problems[0], Problem::UnknownUsers(vec![99]));
    assert_eq!(bad.problems[0].to_string(), "unknown user ids: 99");
    assert_eq!(bad.unknown_users, [99]);
    assert_eq!(bad.recipients(), Some(1), "the unknown id is nobody");
    assert!(bad.valid().is_none());

    let empty = review(
        &pool,
        unchecked(
            json!({"kind": "stream", "streams": ["8th_stream"], "statuses": [1]}),
            None,
        ),
        &[],
    )
    .await
    .unwrap();
    assert_eq!(
        empty.problems,
        [Problem::EmptyAudience {
            field: Field::Streams,
            blocked: 0
        }]
    );
}
