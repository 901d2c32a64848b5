//! The actions of `/messages/{id}`: each confirmation page and POST (the
//! state changes and is audited), 409 when not allowed, and the actions
//! offered per state.

use hsl_dashboard::store::broadcasts::When;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Session, TestApp};
use crate::messages_detail::{actions, setup, status};
use crate::messages_pages::{create, mark, page, to_stream};

async fn audited(app: &TestApp, id: i32, action: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT actor FROM audit_log WHERE entity_type = 'broadcast' AND entity_id = $1 \
         AND action = $2",
    )
    .bind(id.to_string())
    .bind(action)
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

/// Confirms `action` (its page must mention `needle`), posts it, checks the
/// redirect and the notice, and that it was audited.
async fn act(app: &TestApp, session: &Session, id: i32, action: &str, needle: &str) {
    let path = format!("/messages/{id}/{action}");
    let confirm = page(app, session, &path).await;
    assert!(confirm.contains(needle), "{action}: {confirm}");
    assert!(confirm.contains(&format!("<form method=\"post\" action=\"{path}\"")));
    assert!(confirm.contains(&format!("name=\"csrf\" value=\"{}\"", session.csrf)));
    let response = app.post_form_as(session, &path, &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{action}");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location, format!("/messages/{id}?done={action}"));
    let html = page(app, session, &location).await;
    assert!(
        html.contains("<p class=\"notice\" role=\"status\">"),
        "{action}"
    );
    let actors = audited(app, id, &format!("broadcast.{action}")).await;
    assert!(
        actors.last().is_some_and(|a| a.starts_with("quick-admin-")),
        "{action}: {actors:?}"
    );
}

#[tokio::test]
async fn actions_are_confirmed_then_done_and_refused_when_not_allowed() {
    let (app, session) = setup().await;
    let id = to_stream(&app, "anna").await;
    mark(&app, id, 301, "sent", None).await;
    mark(&app, id, 302, "failed", Some("timeout")).await;

    act(
        &app,
        &session,
        id,
        "pause",
        "Доставлено 1 из 3; в очереди 1.",
    )
    .await;
    assert_eq!(status(&app, id).await, "paused");
    let html = page(&app, &session, &format!("/messages/{id}?done=pause")).await;
    assert!(html.contains("Рассылка приостановлена."));
    assert_eq!(
        actions(&html),
        [
            "resume",
            "retry-failed",
            "cancel",
            "delete-from-chats",
            "duplicate"
        ]
    );
    // Not allowed now: the page and the POST are a 409 that says why.
    let response = app.get_as(&session, &format!("/messages/{id}/pause")).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(response.text().await.unwrap().contains("на паузе"));
    let response = app
        .post_form_as(&session, &format!("/messages/{id}/pause"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(status(&app, id).await, "paused");
    // Nothing unknown to retry.
    let response = app
        .get_as(&session, &format!("/messages/{id}/retry-unknown"))
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let response = app
        .post_form_as(&session, &format!("/messages/{id}/retry-unknown"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("неизвестным исходом")
    );

    act(&app, &session, id, "resume", "В очереди 1 получатель").await;
    assert_eq!(status(&app, id).await, "sending");
    act(
        &app,
        &session,
        id,
        "retry-failed",
        "Снова в очередь: 1 получатель.",
    )
    .await;
    let pending: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM message_recipients WHERE message_id = $1 AND delivery_status = 'pending'",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(pending, 2);
    mark(&app, id, 303, "unknown", None).await;
    act(&app, &session, id, "retry-unknown", "получит его дважды").await;
    act(
        &app,
        &session,
        id,
        "delete-from-chats",
        "удалено у 1 получателя",
    )
    .await;
    let requested: bool = sqlx::query_scalar(
        "SELECT delete_requested_at IS NOT NULL FROM message_history WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(requested);
    act(
        &app,
        &session,
        id,
        "cancel",
        "2 получателя ещё не получили сообщение",
    )
    .await;
    assert_eq!(status(&app, id).await, "cancelled");
    let html = page(&app, &session, &format!("/messages/{id}")).await;
    assert!(html.contains("data-live=\"false\""));
    assert_eq!(actions(&html), ["delete-from-chats", "duplicate"]);
    let response = app
        .post_form_as(&session, &format!("/messages/{id}/resume"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(response.text().await.unwrap().contains("отменена"));

    // Duplicating is confirmed here and posted to the composer's handler.
    let confirm = page(&app, &session, &format!("/messages/{id}/duplicate")).await;
    assert!(confirm.contains(&format!("action=\"/messages/{id}/duplicate\"")));
    assert!(confirm.contains("Создать черновик"));

    // Without the CSRF field nothing happens.
    let response = app
        .client
        .post(app.url(&format!("/messages/{id}/cancel")))
        .header("cookie", &session.cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn scheduled_and_draft_broadcasts_offer_what_their_state_allows() {
    let (app, session) = setup().await;
    let at = chrono::Utc::now() + chrono::Duration::days(1);
    let scheduled = create(
        &app,
        "anna",
        "Завтра",
        json!({"kind": "users", "user_ids": [301]}),
        When::At(at),
    )
    .await;
    let html = page(&app, &session, &format!("/messages/{scheduled}")).await;
    assert_eq!(actions(&html), ["edit", "cancel", "duplicate"]);
    assert!(html.contains("data-live=\"true\"") && html.contains("Получатели определятся"));
    let response = app
        .get_as(
            &session,
            &format!("/messages/{scheduled}/delete-from-chats"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    act(
        &app,
        &session,
        scheduled,
        "cancel",
        "Она не будет отправлена",
    )
    .await;
    assert_eq!(status(&app, scheduled).await, "cancelled");

    let done = to_stream(&app, "anna").await;
    for user in [301, 302, 303] {
        mark(&app, done, user, "sent", None).await;
    }
    sqlx::query(
        "UPDATE message_recipients SET sent_at = now() - interval '49 hours' WHERE message_id = $1",
    )
    .bind(done)
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query("UPDATE message_history SET status = 'done', finished_at = now() WHERE id = $1")
        .bind(done)
        .execute(&app.pool)
        .await
        .unwrap();
    let html = page(&app, &session, &format!("/messages/{done}")).await;
    assert_eq!(
        actions(&html),
        ["duplicate"],
        "older than 48 h: nothing to delete"
    );
    let response = app
        .post_form_as(
            &session,
            &format!("/messages/{done}/delete-from-chats"),
            &[],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(response.text().await.unwrap().contains("48 часов"));
}
