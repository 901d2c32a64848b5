//! `/messages/{id}`: content, progress fragment, recipients with filter and
//! pages, bad ids and parameters; each action's confirmation page and POST
//! (the state changes and is audited; 409 when not allowed; actions hidden
//! when not allowed).

use hsl_dashboard::store::broadcasts::When;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Session, TestApp, spawn_app};
use crate::messages_pages::{admin, create, legacy, mark, page, people, to_stream};

async fn setup() -> (TestApp, Session) {
    let app = spawn_app().await;
    people(&app).await;
    let session = admin(&app).await;
    (app, session)
}

/// The action links the page offers.
fn actions(html: &str) -> Vec<String> {
    html.split("data-action=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .collect()
}

fn recipients(html: &str) -> Vec<i64> {
    html.split("<tr data-user=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().parse().unwrap())
        .collect()
}

async fn status(app: &TestApp, id: i32) -> String {
    sqlx::query_scalar("SELECT status FROM message_history WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

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

#[tokio::test]
async fn the_broadcast_page_shows_content_progress_and_recipients() {
    let (app, session) = setup().await;
    let id = to_stream(&app, "anna").await;
    mark(&app, id, 301, "sent", None).await;
    mark(
        &app,
        id,
        302,
        "failed",
        Some("Bad Request: chat not found <x>"),
    )
    .await;
    let html = page(&app, &session, &format!("/messages/{id}")).await;
    for needle in [
        "<div class=\"tg-message\"><b>Старт</b> 8-го потока &amp; «всё»</div>",
        "&#60;b&#62;Старт&#60;/b&#62; 8-го потока &#38;amp; «всё»",
        "8-й поток · подтверждённые",
        "data-status=\"sending\">отправляется",
        "data-live=\"true\"",
        "<progress class=\"progress-bar\" value=\"2\" max=\"3\">",
        "<strong>2</strong> из 3 (66%)",
        "data-count=\"failed\"",
        "Telegram не настроен",
        "<a href=\"/users/301\">Анна Петрова</a>",
        "href=\"https://t.me/anna\"",
        "Bad Request: chat not found &#60;x&#62;",
        "<script src=\"/static/message.js\" defer></script>",
    ] {
        assert!(html.contains(needle), "{needle}");
    }
    assert!(
        !html.contains("Осталось примерно"),
        "no ETA without a bot to send with"
    );
    assert_eq!(recipients(&html), vec![301, 302, 303]);
    assert_eq!(
        actions(&html),
        [
            "pause",
            "retry-failed",
            "cancel",
            "delete-from-chats",
            "duplicate"
        ]
    );

    let failed = page(&app, &session, &format!("/messages/{id}?status=failed")).await;
    assert_eq!(recipients(&failed), vec![302]);
    let pending = page(
        &app,
        &session,
        &format!("/messages/{id}?status=pending&page="),
    )
    .await;
    assert_eq!(recipients(&pending), vec![303]);
    let none = page(&app, &session, &format!("/messages/{id}?status=blocked")).await;
    assert!(recipients(&none).is_empty() && none.contains("Таких получателей нет."));

    // The fragment alone, as the script fetches it.
    let response = app
        .get_as(&session, &format!("/messages/{id}/progress"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let fragment = response.text().await.unwrap();
    assert!(
        fragment
            .trim_start()
            .starts_with("<section class=\"card message-progress\" id=\"progress\"")
    );
    assert!(!fragment.contains("<html"));
    assert!(fragment.contains("data-live=\"true\"") && fragment.contains("value=\"2\" max=\"3\""));
    mark(
        &app,
        id,
        303,
        "blocked",
        Some("Forbidden: bot was blocked by the user"),
    )
    .await;
    let fragment = page(&app, &session, &format!("/messages/{id}/progress")).await;
    assert!(fragment.contains("value=\"3\" max=\"3\""), "it moves on");
    let script = app.get("/static/message.js").await;
    assert_eq!(script.status(), StatusCode::OK);
    assert!(script.text().await.unwrap().contains("data-live"));
}

#[tokio::test]
async fn recipients_page_by_a_hundred_and_bad_parameters_are_refused() {
    let (app, session) = setup().await;
    let ids: Vec<i64> = (1001..=1105).collect();
    let id = create(
        &app,
        "anna",
        "Много",
        json!({"kind": "users", "user_ids": ids}),
        When::Now,
    )
    .await;
    let first = page(&app, &session, &format!("/messages/{id}")).await;
    assert_eq!(recipients(&first), (1001..=1100).collect::<Vec<_>>());
    assert!(first.contains("Страница 1 из 2"));
    let second = page(&app, &session, &format!("/messages/{id}?page=2")).await;
    assert_eq!(recipients(&second), (1101..=1105).collect::<Vec<_>>());
    let filtered = page(
        &app,
        &session,
        &format!("/messages/{id}?status=pending&page=2"),
    )
    .await;
    assert_eq!(recipients(&filtered).len(), 5);
    assert!(filtered.contains("href=\"/messages/"));

    for (path, code, needle) in [
        (
            format!("/messages/{id}?status=done"),
            400,
            "Статус получателя",
        ),
        (format!("/messages/{id}?page=0"), 400, "Номер страницы"),
        (format!("/messages/{id}?page=x"), 400, "Номер страницы"),
        ("/messages/abc".to_owned(), 400, "Номер рассылки"),
        ("/messages/0".to_owned(), 400, "Номер рассылки"),
        ("/messages/-3".to_owned(), 400, "Номер рассылки"),
        ("/messages/99999999999".to_owned(), 400, "Номер рассылки"),
        ("/messages/abc/progress".to_owned(), 400, "Номер рассылки"),
        ("/messages/abc/cancel".to_owned(), 400, "Номер рассылки"),
        ("/messages/999999".to_owned(), 404, "Страница не найдена"),
        (
            "/messages/999999/progress".to_owned(),
            404,
            "Страница не найдена",
        ),
        (
            "/messages/999999/pause".to_owned(),
            404,
            "Страница не найдена",
        ),
        (
            format!("/messages/{id}/explode"),
            404,
            "Страница не найдена",
        ),
    ] {
        let response = app.get_as(&session, &path).await;
        assert_eq!(response.status().as_u16(), code, "{path}");
        assert!(response.text().await.unwrap().contains(needle), "{path}");
    }
    let response = app
        .post_form_as(&session, &format!("/messages/{id}/explode"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = app
        .post_form_as(&session, "/messages/999999/cancel", &[])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn legacy_text_is_never_injected_and_legacy_broadcasts_are_read_only() {
    let (app, session) = setup().await;
    let id = legacy(
        &app,
        "<script>alert(1)</script><img src=x onerror=alert(1)><b>ok</b>",
        "individual",
        None,
    )
    .await;
    let html = page(&app, &session, &format!("/messages/{id}")).await;
    assert!(!html.contains("<script>alert") && !html.contains("<img"));
    assert!(html.contains(
        "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;<b>ok</b>"
    ));
    assert!(html.contains("Отдельные пользователи"));
    assert!(html.contains("data-live=\"false\""));
    assert!(
        html.contains("<strong>38</strong> из 40 (95%)"),
        "what the old dashboard counted"
    );
    assert!(
        actions(&html).is_empty(),
        "invalid legacy content is not even duplicated"
    );
    let response = app
        .get_as(&session, &format!("/messages/{id}/cancel"))
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(response.text().await.unwrap().contains("старой панели"));
    let response = app
        .post_form_as(&session, &format!("/messages/{id}/cancel"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(status(&app, id).await, "done");
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
    assert_eq!(actions(&html), ["cancel", "duplicate"]);
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
