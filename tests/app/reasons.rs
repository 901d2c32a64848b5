//! Why a broadcast failed or paused and what happened to a recipient are
//! stored as codes with parameters (`{"code": ...}` JSON text), shown to
//! staff in the same Russian as before and in English by the API; rows
//! stored as Russian sentences before migration 0014 become codes.

use hsl_dashboard::domain::role::Role;
use hsl_dashboard::store::MIGRATOR;
use hsl_dashboard::store::{self};
use serde_json::{Value, json};
use sqlx::{Connection, PgPool};

use crate::delivery::{engine, fast, members, telegram, to_users};
use crate::fake_telegram::{FakeTelegram, Reply};
use crate::helpers::{empty_database, spawn_app};

/// A stored reason as JSON (panics on text that is not JSON).
fn code(stored: Option<String>) -> Value {
    let stored = stored.expect("a reason is stored");
    serde_json::from_str(&stored).unwrap_or_else(|_| panic!("not a code: {stored}"))
}

async fn status_reason(pool: &PgPool, id: i32) -> Option<String> {
    sqlx::query_scalar("SELECT status_reason FROM message_history WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn last_error(pool: &PgPool, id: i32, user: i64) -> Option<String> {
    sqlx::query_scalar(
        "SELECT last_error FROM message_recipients WHERE message_id = $1 AND user_id = $2",
    )
    .bind(id)
    .bind(user)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_refused_html_is_stored_as_a_code_and_shown_in_the_same_russian() {
    let app = spawn_app().await;
    let pool = &app.pool;
    let fake = FakeTelegram::start().await;
    members(pool, [1, 2, 3], "8th_stream", 2).await;
    sqlx::query("INSERT INTO blocked_users (user_id, reason) VALUES (3, 'blocked')")
        .execute(pool)
        .await
        .unwrap();
    let id = to_users(pool, &[1, 2, 3]).await;
    fake.reply_next([Reply::CantParseEntities]);
    engine(pool, &telegram(&app.db, &fake), fast(1))
        .run_once()
        .await
        .unwrap();

    let reason = code(status_reason(pool, id).await);
    assert_eq!(reason["code"], "telegram_rejected_content", "{reason}");
    assert!(
        reason["detail"]
            .as_str()
            .unwrap()
            .contains("can't parse entities"),
        "{reason}"
    );
    let refused = code(last_error(pool, id, 1).await);
    assert_eq!(refused["code"], "telegram_error", "{refused}");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("parse entities"),
        "{refused}"
    );
    assert_eq!(
        code(last_error(pool, id, 3).await),
        json!({"code": "not_receiving", "reason": "blocked"})
    );
    // Failures can be queried by kind.
    let by_kind: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM message_history \
         WHERE status_reason::jsonb->>'code' = 'telegram_rejected_content'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(by_kind, 1);

    let session = app.quick_session(Role::Admin).await;
    let html = app
        .get_as(&session, &format!("/messages/{id}"))
        .await
        .text()
        .await
        .unwrap();
    for needle in [
        "Telegram отклонил содержимое: A Telegram",
        "t parse entities: Unsupported start tag",
        "не получает сообщения бота: blocked",
    ] {
        assert!(html.contains(needle), "{needle}");
    }
    assert!(!html.contains("telegram_rejected_content"));

    // The API keeps a string: the English rendering.
    let token = app.token(Role::Admin).await;
    let api: Value = app
        .client
        .get(app.url(&format!("/api/messages/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let shown = api["status_reason"].as_str().unwrap();
    assert!(
        shown.starts_with("Telegram rejected the content: A Telegram's error: Bad Request"),
        "{shown}"
    );
}

#[tokio::test]
async fn cancelling_and_a_429_store_codes_that_read_as_before() {
    let app = spawn_app().await;
    let pool = &app.pool;
    let fake = FakeTelegram::start().await;
    members(pool, [1, 2], "8th_stream", 2).await;
    let id = to_users(pool, &[1, 2]).await;
    fake.reply_next([Reply::RetryAfter(7), Reply::RetryAfter(7)]);
    engine(pool, &telegram(&app.db, &fake), fast(1))
        .run_once()
        .await
        .unwrap();
    let waiting = code(last_error(pool, id, 1).await);
    assert_eq!(
        waiting,
        json!({"code": "rate_limited", "retry_after_s": 7}),
        "{waiting}"
    );
    let session = app.quick_session(Role::Admin).await;
    let path = format!("/messages/{id}");
    let html = app.get_as(&session, &path).await.text().await.unwrap();
    assert!(html.contains("429: повтор через 7 с"));

    let cancelled = app
        .post_form_as(&session, &format!("/messages/{id}/cancel"), &[])
        .await;
    assert!(cancelled.status().is_success() || cancelled.status().is_redirection());
    assert_eq!(
        code(last_error(pool, id, 1).await),
        json!({"code": "cancelled"})
    );
    let html = app.get_as(&session, &path).await.text().await.unwrap();
    assert!(html.contains("рассылка отменена"));
}

/// Rows as the engine wrote them before 0014.
const OLD_ROWS: &str = r#"
INSERT INTO message_history (id, message_text, status, status_reason) VALUES
    (1, 'a', 'failed', 'Telegram отклонил содержимое: Bad Request: can''t parse entities'),
    (2, 'b', 'paused', 'бот не может отправлять сообщения: Unauthorized'),
    (3, 'c', 'paused', '50 отправок подряд не удались; последняя ошибка: Bad Request: x; y'),
    (4, 'd', 'failed', 'не удалось прочитать аудиторию рассылки'),
    (5, 'e', 'failed', 'содержимое рассылки некорректно: Кнопок больше 100.'),
    (6, 'f', 'failed', 'что-то ещё'),
    (7, 'g', 'done', NULL);
INSERT INTO message_recipients (message_id, user_id, delivery_status, last_error) VALUES
    (1, 1, 'skipped', 'рассылка отменена'),
    (1, 2, 'pending', '429: повтор через 12 с'),
    (1, 3, 'unknown', 'исход неизвестен: отправитель остановился во время отправки'),
    (1, 4, 'skipped', 'не получает сообщения бота: deactivated'),
    (1, 5, 'failed', 'Bad Request: chat not found'),
    (1, 6, 'sent', NULL);
"#;

#[tokio::test]
async fn migration_0014_turns_the_old_russian_reasons_into_codes() {
    let db = empty_database().await;
    let mut conn = store::maintenance_connection(&db.url).await.unwrap();
    MIGRATOR.run_to(13, &mut conn).await.unwrap();
    sqlx::raw_sql(OLD_ROWS).execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();

    store::migrate(&db.url).await.unwrap();
    let pool = db.pool().await;
    let reasons: Vec<(i32, Option<String>)> =
        sqlx::query_as("SELECT id, status_reason FROM message_history ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    let reasons: Vec<Option<Value>> = reasons
        .into_iter()
        .map(|(_, stored)| stored.map(|s| code(Some(s))))
        .collect();
    assert_eq!(
        reasons,
        [
            Some(json!({"code": "telegram_rejected_content",
                        "detail": "Bad Request: can't parse entities"})),
            Some(json!({"code": "bot_unusable", "detail": "Unauthorized"})),
            Some(json!({"code": "too_many_failures", "count": 50,
                        "last": "Bad Request: x; y"})),
            Some(json!({"code": "audience_unreadable"})),
            Some(json!({"code": "content_invalid", "detail": "Кнопок больше 100."})),
            Some(json!({"code": "legacy", "text": "что-то ещё"})),
            None,
        ]
    );
    let errors: Vec<Option<String>> =
        sqlx::query_scalar("SELECT last_error FROM message_recipients ORDER BY user_id")
            .fetch_all(&pool)
            .await
            .unwrap();
    let errors: Vec<Option<Value>> = errors
        .into_iter()
        .map(|stored| stored.map(|s| code(Some(s))))
        .collect();
    assert_eq!(
        errors,
        [
            Some(json!({"code": "cancelled"})),
            Some(json!({"code": "rate_limited", "retry_after_s": 12})),
            Some(json!({"code": "outcome_unknown_sender_stopped"})),
            Some(json!({"code": "not_receiving", "reason": "deactivated"})),
            Some(json!({"code": "legacy", "text": "Bad Request: chat not found"})),
            None,
        ]
    );
}
