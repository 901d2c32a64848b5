//! `/messages/{id}`: content, progress fragment, recipients with filter and
//! pages, bad ids and parameters, legacy broadcasts read-only. The actions
//! are in `messages_actions`.

use hsl_dashboard::store::broadcasts::When;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Session, TestApp, spawn_app};
use crate::messages_pages::{admin, create, legacy, mark, page, people, to_stream};

pub async fn setup() -> (TestApp, Session) {
    let app = spawn_app().await;
    people(&app).await;
    let session = admin(&app).await;
    (app, session)
}

/// The action links the page offers.
pub fn actions(html: &str) -> Vec<String> {
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

pub async fn status(app: &TestApp, id: i32) -> String {
    sqlx::query_scalar("SELECT status FROM message_history WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
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

#[tokio::test]
async fn the_pages_read_their_queries_strictly() {
    let app = crate::helpers::spawn_app().await;
    let session = app
        .quick_session(hsl_dashboard::domain::role::Role::Admin)
        .await;
    for (path, needle) in [
        (
            "/messages?page=%2B2",
            "Номер страницы — целое число от 1 до 1000000.",
        ),
        ("/messages?status=Done", "Статус рассылки — один из"),
        (
            "/messages/%2B1",
            "Номер рассылки — целое положительное число",
        ),
        (
            "/messages/2147483648/progress",
            "Номер рассылки — целое положительное число",
        ),
        (
            "/messages/new?broadcast=0",
            "Номер рассылки — целое положительное число",
        ),
        (
            "/messages/new?draft=1.0",
            "Номер черновика — целое положительное число.",
        ),
    ] {
        let response = app.get_as(&session, path).await;
        assert_eq!(response.status().as_u16(), 400, "{path}");
        let html = response.text().await.unwrap();
        assert!(html.contains(needle), "{path}: {html}");
    }
}
