//! Changing a scheduled broadcast before it starts: the composer opens it
//! with its time in the school's zone, saves it back in place, and refuses
//! once it is no longer scheduled.

use std::time::Duration;

use hsl_dashboard::domain::role::Role;
use reqwest::StatusCode;
use tokio::time::Instant;

use super::{id_from, later, plain_app, post, stream_form, with, with_intent, with_telegram};
use crate::helpers::hidden_field;

#[tokio::test]
async fn a_scheduled_broadcast_is_changed_in_place_until_it_starts() {
    let app = plain_app().await;
    let admin = app.quick_session(Role::Admin).await;
    let (first, second) = (later(400, 12, 30), later(401, 9, 0));
    let scheduled = with(
        stream_form("edit-key", "Старый текст"),
        &[
            ("when", "at"),
            ("scheduled_at", first.form.as_str()),
            ("intent", "send"),
        ],
    );
    let (_, _, location) = post(&app, &admin, "/messages/new", &scheduled).await;
    let id = id_from(&location.unwrap());

    // The broadcast page offers the change; the composer opens it.
    let page = app
        .get_as(&admin, &format!("/messages/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!(
        "href=\"/messages/new?broadcast={id}\" data-action=\"edit\""
    )));
    let html = app
        .get_as(&admin, &format!("/messages/new?broadcast={id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(&format!("Изменение рассылки №{id}")));
    assert_eq!(hidden_field(&html, "broadcast"), Some(id.to_string()));
    assert!(html.contains("Старый текст</textarea>"));
    assert!(
        html.contains(&format!("value=\"{}\"", first.form)),
        "the time in Moscow"
    );
    assert!(
        !html.contains("value=\"draft\""),
        "no draft button while changing"
    );

    // A new text, audience and time; the confirmation says it saves.
    let broadcast = id.to_string();
    let changed = [
        ("key", "edit-key-2"),
        ("broadcast", broadcast.as_str()),
        ("audience", "users"),
        ("user_ids", "201 205"),
        ("content_type", "text"),
        ("text", "<b>Новый</b> текст"),
        ("when", "at"),
        ("scheduled_at", second.form.as_str()),
        ("intent", "review"),
    ];
    let (status, html, _) = post(&app, &admin, "/messages/new", &changed).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains(&format!("Проверьте изменения рассылки №{id}")));
    assert!(html.contains(&format!("Сохранить изменения · отправка {}", second.shown)));
    let (status, _, location) = post(
        &app,
        &admin,
        "/messages/new",
        &with_intent(&changed, "send"),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, Some(format!("/messages/{id}")));

    let (count, text, kind, at, status): (i64, String, String, String, String) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM message_history WHERE NOT legacy), message_text, \
                audience->>'kind', \
                to_char(scheduled_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), status \
         FROM message_history WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(count, 1, "changed in place, not copied");
    assert_eq!(
        (text.as_str(), kind.as_str(), at.as_str(), status.as_str()),
        (
            "<b>Новый</b> текст",
            "users",
            second.utc.as_str(),
            "scheduled"
        )
    );
    let audited: (serde_json::Value, serde_json::Value) = sqlx::query_as(
        "SELECT before, after FROM audit_log WHERE action = 'broadcast.edit' AND entity_id = $1",
    )
    .bind(id.to_string())
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(audited.0["text"], "Старый текст");
    assert_eq!(audited.1["content"]["text"], "<b>Новый</b> текст");

    // Once it is no longer scheduled it cannot be changed.
    sqlx::query("UPDATE message_history SET status = 'cancelled' WHERE id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();
    let response = app
        .get_as(&admin, &format!("/messages/new?broadcast={id}"))
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Изменить можно только запланированную рассылку, а эта — отменена.")
    );
    let (status, html, _) = post(
        &app,
        &admin,
        "/messages/new",
        &with_intent(&changed, "send"),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains(&format!(
        "Рассылку №{id} уже нельзя изменить: она отменена."
    )));
    let text: String = sqlx::query_scalar("SELECT message_text FROM message_history WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(text, "<b>Новый</b> текст", "nothing written");

    for (path, status) in [
        ("/messages/new?broadcast=abc", StatusCode::BAD_REQUEST),
        ("/messages/new?broadcast=9999", StatusCode::NOT_FOUND),
    ] {
        assert_eq!(app.get_as(&admin, path).await.status(), status, "{path}");
    }
    let bad = [("key", "k"), ("broadcast", "x"), ("intent", "send")];
    let (status, _, _) = post(&app, &admin, "/messages/new", &bad).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_scheduled_broadcast_changed_to_now_starts_at_once() {
    let (app, fake) = with_telegram().await;
    let admin = app.quick_session(Role::Admin).await;
    let at = later(400, 12, 30);
    let scheduled = with(
        stream_form("edit-now-key", "Позже"),
        &[
            ("when", "at"),
            ("scheduled_at", at.form.as_str()),
            ("intent", "send"),
        ],
    );
    let (_, _, location) = post(&app, &admin, "/messages/new", &scheduled).await;
    let id = id_from(&location.unwrap()).to_string();
    let now = with(
        stream_form("edit-now-key-2", "Уже сейчас"),
        &[("broadcast", id.as_str()), ("intent", "send")],
    );
    let (status, _, _) = post(&app, &admin, "/messages/new", &now).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // 201 and 202, the stream's confirmed members who have not blocked the bot.
    let deadline = Instant::now() + Duration::from_secs(10);
    while fake.delivered().len() < 2 {
        assert!(Instant::now() < deadline, "not started: {:?}", fake.calls());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut chats: Vec<i64> = fake
        .sends()
        .iter()
        .filter_map(|call| call.chat_id)
        .collect();
    chats.sort_unstable();
    assert_eq!(chats, [201, 202]);
    assert!(
        fake.sends()
            .iter()
            .all(|call| call.body["text"] == "Уже сейчас")
    );
}
