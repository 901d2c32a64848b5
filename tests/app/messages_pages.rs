//! `/messages` and `/messages/{id}` (admin pages) against real PostgreSQL:
//! the history with legacy rows, audience summaries, counters, every filter,
//! pages and bad parameter; a broadcast's content, progress fragment and
//! recipients; the «Полученные рассылки» section of the user page. The app
//! runs without a bot token, so broadcasts stay where the tests put them.

use hsl_dashboard::domain::audience::{Audience, RawAudience};
use hsl_dashboard::domain::content::Content;
use hsl_dashboard::domain::role::Role;
use hsl_dashboard::store::audit::Actor;
use hsl_dashboard::store::broadcasts::{self, NewBroadcast, When};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, spawn_app};

/// 301–303 confirmed in `8th_stream`, 304 pending there; 1001–1105 known
/// only by name (for long recipient lists).
pub async fn people(app: &TestApp) {
    sqlx::raw_sql(
        "INSERT INTO users (user_id, username, first_name, last_name) VALUES
           (301, 'anna', 'Анна', 'Петрова'), (302, 'boris', 'Борис', NULL),
           (303, NULL, 'Вера', NULL), (304, 'gleb', 'Глеб', NULL);
         INSERT INTO users (user_id, first_name)
           SELECT i, 'Человек ' || i FROM generate_series(1001, 1105) AS i;
         INSERT INTO bookings (user_id, username, first_name, course_id, confirmed, created_at, course_stream) VALUES
           (301, 'anna', 'Анна', 1, 2, '2026-11-01 10:00+00', '8th_stream'),
           (302, 'boris', 'Борис', 1, 2, '2026-11-01 10:00+00', '8th_stream'),
           (303, NULL, 'Вера', 1, 2, '2026-11-01 10:00+00', '8th_stream'),
           (304, 'gleb', 'Глеб', 1, 1, '2026-11-01 10:00+00', '8th_stream');",
    )
    .execute(&app.pool)
    .await
    .unwrap();
}

pub fn actor(name: &str) -> Actor {
    Actor {
        name: name.to_owned(),
        client_addr: None,
        request_id: None,
    }
}

/// A broadcast created through the store as `author`.
pub async fn create(app: &TestApp, author: &str, html: &str, audience: Value, when: When) -> i32 {
    let content =
        Content::parse(serde_json::from_value(json!({"type": "text", "text": html})).unwrap())
            .unwrap();
    let audience =
        Audience::parse(serde_json::from_value::<RawAudience>(audience).unwrap()).unwrap();
    broadcasts::create(
        &app.pool,
        &actor(author),
        &NewBroadcast {
            content,
            audience,
            when,
            idempotency: None,
        },
    )
    .await
    .unwrap()
    .id
}

pub async fn to_stream(app: &TestApp, author: &str) -> i32 {
    create(
        app,
        author,
        "<b>Старт</b> 8-го потока &amp; «всё»",
        json!({"kind": "stream", "streams": ["8th_stream"]}),
        When::Now,
    )
    .await
}

/// A broadcast of the previous dashboard.
pub async fn legacy(app: &TestApp, text: &str, kind: &str, group: Option<&str>) -> i32 {
    sqlx::query_scalar(
        "INSERT INTO message_history (message_text, total_recipients, successful_deliveries, \
             recipient_type, recipient_group, legacy, status, created_at, sent_at) \
         VALUES ($1, 40, 38, $2, $3, true, 'done', now() - interval '30 days', \
                 now() - interval '30 days') RETURNING id",
    )
    .bind(text)
    .bind(kind)
    .bind(group)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

/// Sets one recipient's delivery outcome.
pub async fn mark(app: &TestApp, id: i32, user: i64, status: &str, error: Option<&str>) {
    let done = sqlx::query(
        "UPDATE message_recipients SET delivery_status = $3, last_error = $4, attempts = 2, \
             sent_at = CASE WHEN $3 = 'sent' THEN now() END, \
             telegram_message_id = CASE WHEN $3 = 'sent' THEN 777 END \
         WHERE message_id = $1 AND user_id = $2",
    )
    .bind(id)
    .bind(user)
    .bind(status)
    .bind(error)
    .execute(&app.pool)
    .await
    .unwrap();
    assert_eq!(done.rows_affected(), 1);
}

pub async fn admin(app: &TestApp) -> Session {
    app.quick_session(Role::Admin).await
}

pub async fn page(app: &TestApp, session: &Session, path: &str) -> String {
    let response = app.get_as(session, path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.text().await.unwrap()
}

/// The broadcast ids a history page lists, in order.
fn listed(html: &str) -> Vec<i32> {
    html.split("<tr data-broadcast=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().parse().unwrap())
        .collect()
}

#[tokio::test]
async fn the_history_lists_every_broadcast_with_status_audience_and_counters() {
    let app = spawn_app().await;
    people(&app).await;
    let session = admin(&app).await;
    let old = legacy(
        &app,
        "<b>Старт 7-го потока!</b>",
        "group",
        Some("7th_stream"),
    )
    .await;
    let stream = to_stream(&app, "anna").await;
    let users = create(
        &app,
        "boris",
        "Напоминание",
        json!({"kind": "users", "user_ids": [301, 302]}),
        When::At(chrono::Utc::now() + chrono::Duration::days(2)),
    )
    .await;
    let segment = create(
        &app,
        "anna",
        "Всем",
        json!({"kind": "segment", "segment": "never_paid"}),
        When::Draft,
    )
    .await;
    mark(&app, stream, 301, "sent", None).await;
    mark(
        &app,
        stream,
        302,
        "failed",
        Some("Bad Request: message is too long"),
    )
    .await;

    let html = page(&app, &session, "/messages").await;
    assert_eq!(
        listed(&html),
        vec![segment, users, stream, old],
        "newest first"
    );
    for needle in [
        "data-status=\"done\">завершено",
        "data-status=\"sending\">отправляется",
        "data-status=\"scheduled\">запланирована",
        "data-status=\"draft\">черновик",
        "Группа · 7-й поток",
        "8-й поток · подтверждённые",
        "2 пользователя",
        "Ни разу не оплатившие",
        // askama escapes `&` as `&#38;`.
        "Старт 8-го потока &#38; «всё»",
        "старая",
        // sent / failed / blocked / pending
        "data-counts=\"1/1/0/1\"",
        "data-counts=\"38/0/0/0\"",
        "<option value=\"anna\">anna</option>",
        "<option value=\"boris\">boris</option>",
        "<option value=\"1:8th_stream\">8-й поток</option>",
        "data-total=\"4\"",
    ] {
        assert!(html.contains(needle), "{needle}");
    }
    assert!(!html.contains("<b>Старт"), "excerpts are plain text");

    for (query, expected) in [
        ("status=scheduled", vec![users]),
        ("status=done", vec![old]),
        ("status=failed", vec![]),
        ("stream=8th_stream", vec![stream]),
        ("stream=1:8th_stream", vec![stream]),
        ("stream=2:8th_stream", vec![]),
        ("stream=7th_stream", vec![old]),
        ("stream=5th_stream", vec![]),
        ("author=anna", vec![segment, stream]),
        ("author=boris&status=scheduled", vec![users]),
        ("author=nobody", vec![]),
        (
            "status=&stream=&author=&page=",
            vec![segment, users, stream, old],
        ),
    ] {
        let html = page(&app, &session, &format!("/messages?{query}")).await;
        assert_eq!(listed(&html), expected, "{query}");
    }
    let html = page(&app, &session, "/messages?author=anna").await;
    assert!(html.contains("<option value=\"anna\" selected>anna</option>"));
}

#[tokio::test]
async fn the_history_pages_by_fifty() {
    let app = spawn_app().await;
    let session = admin(&app).await;
    sqlx::query(
        "INSERT INTO message_history (message_text, total_recipients, legacy, status) \
         SELECT 'Старая ' || i, 1, true, 'done' FROM generate_series(1, 120) AS i",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let first = page(&app, &session, "/messages").await;
    assert_eq!(listed(&first).len(), 50);
    assert!(first.contains("Страница 1 из 3"));
    assert!(first.contains("href=\"/messages?page=2\" rel=\"next\""));
    let third = page(&app, &session, "/messages?page=3&status=done").await;
    assert_eq!(listed(&third).len(), 20);
    assert!(third.contains("href=\"/messages?status=done&#38;page=2\" rel=\"prev\""));
    let beyond = page(&app, &session, "/messages?page=9").await;
    assert!(listed(&beyond).is_empty());
    assert!(beyond.contains("всего страниц 3"));
}

#[tokio::test]
async fn bad_history_parameters_are_a_400_with_the_reason() {
    let app = spawn_app().await;
    let session = admin(&app).await;
    let long = format!("author={}", "x".repeat(201));
    for (query, needle) in [
        ("status=sent", "Статус рассылки"),
        ("status=DONE", "Статус рассылки"),
        ("stream=a%20b", "код потока"),
        ("stream=%3Cscript%3E", "код потока"),
        (long.as_str(), "Автор"),
        ("author=a%0Ab", "Автор"),
        ("page=0", "Номер страницы"),
        ("page=-1", "Номер страницы"),
        ("page=1.5", "Номер страницы"),
        ("page=abc", "Номер страницы"),
        ("page=99999999999999999999", "Номер страницы"),
    ] {
        let response = app.get_as(&session, &format!("/messages?{query}")).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let body = response.text().await.unwrap();
        assert!(body.contains(needle), "{query}: {body}");
    }
}

#[tokio::test]
async fn messages_pages_are_for_admins_only() {
    let app = spawn_app().await;
    people(&app).await;
    let id = to_stream(&app, "anna").await;
    for role in [Role::Viewer, Role::Editor] {
        let session = app.quick_session(role).await;
        for path in [
            "/messages".to_owned(),
            format!("/messages/{id}"),
            format!("/messages/{id}/progress"),
            format!("/messages/{id}/cancel"),
            format!("/messages/{id}/duplicate"),
        ] {
            let response = app.get_as(&session, &path).await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{role:?} {path}");
        }
        let response = app
            .post_form_as(&session, &format!("/messages/{id}/cancel"), &[])
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{role:?}");
    }
    let status: String = sqlx::query_scalar("SELECT status FROM message_history WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status, "sending");
    assert_eq!(app.get("/messages").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_user_page_lists_the_broadcasts_they_received() {
    let app = spawn_app().await;
    people(&app).await;
    let admin = admin(&app).await;
    let viewer = app.quick_session(Role::Viewer).await;
    let empty = page(&app, &admin, "/users/304").await;
    assert!(empty.contains("Рассылок пока не было."));

    let first = to_stream(&app, "anna").await;
    let second = create(
        &app,
        "anna",
        "Лично <i>вам</i>",
        json!({"kind": "users", "user_ids": [301, 304]}),
        When::Now,
    )
    .await;
    let not_theirs = create(
        &app,
        "anna",
        "Не для Анны",
        json!({"kind": "users", "user_ids": [302]}),
        When::Now,
    )
    .await;
    mark(&app, first, 301, "sent", None).await;
    mark(
        &app,
        second,
        301,
        "failed",
        Some("Forbidden: bot was kicked"),
    )
    .await;

    let html = page(&app, &admin, "/users/301").await;
    let section =
        &html[html.find("id=\"broadcasts\"").unwrap()..html.find("id=\"history\"").unwrap()];
    assert_eq!(listed(section), vec![second, first], "newest first");
    assert!(!section.contains(&format!("data-broadcast=\"{not_theirs}\"")));
    for needle in [
        format!("<a href=\"/messages/{first}\">№{first}</a>"),
        "Лично вам".to_owned(),
        "data-status=\"sent\">доставлено".to_owned(),
        "data-status=\"failed\">ошибка".to_owned(),
        "Forbidden: bot was kicked".to_owned(),
    ] {
        assert!(section.contains(&needle), "{needle}");
    }
    // Viewers see the list, without links to admin pages.
    let html = page(&app, &viewer, "/users/301").await;
    assert!(html.contains(&format!("№{first}")));
    assert!(!html.contains(&format!("href=\"/messages/{first}\"")));

    // More than 50: the newest 50 and a note.
    sqlx::query(
        "WITH h AS (INSERT INTO message_history (message_text, legacy, status) \
                    SELECT 'Много ' || i, true, 'done' FROM generate_series(1, 55) AS i \
                    RETURNING id) \
         INSERT INTO message_recipients (message_id, user_id, delivery_status, legacy) \
         SELECT id, 303, 'sent', true FROM h",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let html = page(&app, &admin, "/users/303").await;
    let section =
        &html[html.find("id=\"broadcasts\"").unwrap()..html.find("id=\"history\"").unwrap()];
    assert_eq!(listed(section).len(), 50);
    assert!(
        section.contains("data-received-total=\"56\""),
        "55 old and the stream one"
    );
}
