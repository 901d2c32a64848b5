//! Sending: the confirmation step, one broadcast per form however often it
//! is submitted, the schedule's zone, drafts, duplicates and the test send.

use std::time::Duration;

use hsl_dashboard::domain::role::Role;
use reqwest::StatusCode;
use tokio::time::Instant;

use super::{
    broadcasts, fixture, id_from, later, plain_app, post, stream_form, with, with_intent,
    with_telegram,
};
use crate::helpers::{Session, TestApp, hidden_field, spawn_app_with};

#[tokio::test]
async fn the_confirmation_repeats_everything_and_sending_twice_makes_one_broadcast() {
    let (app, fake) = with_telegram().await;
    let admin = app.quick_session(Role::Admin).await;
    let key = "form-key-1";
    let text = "<b>Завтра</b> занятие в 19:00";
    let buttons = [
        ("button_row", "1"),
        ("button_text", "Открыть урок"),
        ("button_kind", "url"),
        ("button_value", "https://hashslash.school/lesson"),
    ];
    let fields = with(stream_form(key, text), &buttons);

    let (status, html, _) = post(
        &app,
        &admin,
        "/messages/new",
        &with(fields.clone(), &[("intent", "review")]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Проверьте рассылку"));
    assert!(
        html.contains("9-й поток · подтверждённые"),
        "the audience in words"
    );
    // 201 and 202; 206 blocked the bot, 204's standing is new.
    assert!(html.contains("data-confirm-count>2</strong>"), "{html}");
    assert!(html.contains("ещё 1 заблокировали бота"));
    assert!(html.contains("Сразу после подтверждения"));
    assert!(
        html.contains("<b>Завтра</b> занятие в 19:00"),
        "the preview renders the HTML"
    );
    assert!(html.contains("Открыть урок ↗"), "the buttons are previewed");
    assert!(html.contains("Отправить 2 получателям"));
    // Everything goes again as hidden fields, with the same key.
    assert_eq!(hidden_field(&html, "key").as_deref(), Some(key));
    assert_eq!(
        hidden_field(&html, "button_value").as_deref(),
        Some("https://hashslash.school/lesson")
    );
    assert_eq!(broadcasts(&app).await, 0, "a review creates nothing");

    // «Изменить» goes back to the form with the values and the key.
    let (status, html, _) = post(
        &app,
        &admin,
        "/messages/new",
        &with(fields.clone(), &[("intent", "edit")]),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(hidden_field(&html, "key").as_deref(), Some(key));
    assert!(html.contains("&#60;b&#62;Завтра&#60;/b&#62; занятие в 19:00</textarea>"));
    assert!(html.contains("value=\"1:9th_stream\" id=\"stream-1\" checked"));

    // Send, then the same submit again (a double click, a refresh).
    let send = with(fields.clone(), &[("intent", "send")]);
    let (status, _, location) = post(&app, &admin, "/messages/new", &send).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = location.unwrap();
    let id = id_from(&location);
    let (status, _, again) = post(&app, &admin, "/messages/new", &send).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(again.as_deref(), Some(location.as_str()));
    assert_eq!(broadcasts(&app).await, 1);

    // The back button and an edit under the same key: refused, not a second broadcast.
    let changed = with(stream_form(key, "Другой текст"), &[("intent", "send")]);
    let (status, html, _) = post(&app, &admin, "/messages/new", &changed).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        html.contains(&format!("Эта форма уже отправлена как рассылка №{id}")),
        "{html}"
    );
    assert_eq!(broadcasts(&app).await, 1);

    // It is delivered to the two, with the button, and recorded as composed.
    let deadline = Instant::now() + Duration::from_secs(10);
    while fake.delivered().values().sum::<usize>() < 2 {
        assert!(
            Instant::now() < deadline,
            "not delivered: {:?}",
            fake.calls()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut chats: Vec<i64> = fake
        .sends()
        .iter()
        .filter_map(|call| call.chat_id)
        .collect();
    chats.sort_unstable();
    assert_eq!(chats, [201, 202]);
    let call = &fake.sends()[0];
    assert_eq!(call.body["text"], text);
    assert_eq!(call.body["parse_mode"], "HTML");
    assert!(
        call.body["reply_markup"]
            .to_string()
            .contains("https://hashslash.school/lesson")
    );
    let (created_by, audience): (String, serde_json::Value) =
        sqlx::query_as("SELECT created_by, audience FROM message_history WHERE id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(created_by.starts_with("quick-admin-"), "{created_by}");
    assert_eq!(
        audience["streams"][0], "1:9th_stream",
        "stored with its course"
    );
    assert_eq!(audience["statuses"], serde_json::json!([2]));
}

#[tokio::test]
async fn concurrent_submits_of_one_form_make_one_broadcast() {
    let app = plain_app().await;
    let admin = app.quick_session(Role::Admin).await;
    let send = with(stream_form("race-key", "Гонка"), &[("intent", "send")]);
    let answers = futures_join(&app, &admin, &send, 6).await;
    let locations: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|(status, location)| {
            assert_eq!(*status, StatusCode::SEE_OTHER);
            location.clone().unwrap()
        })
        .collect();
    assert_eq!(locations.len(), 1, "{locations:?}");
    assert_eq!(broadcasts(&app).await, 1);
}

async fn futures_join(
    app: &TestApp,
    session: &Session,
    fields: &[(&str, &str)],
    n: usize,
) -> Vec<(StatusCode, Option<String>)> {
    let mut tasks = Vec::new();
    for _ in 0..n {
        let client = app.client.clone();
        let url = app.url("/messages/new");
        let mut all = vec![("csrf", session.csrf.as_str())];
        all.extend_from_slice(fields);
        let body = crate::helpers::form_body(&all);
        let cookie = session.cookie.clone();
        tasks.push(tokio::spawn(async move {
            let response = client
                .post(url)
                .header("cookie", cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap();
            let location = response
                .headers()
                .get("location")
                .map(|value| value.to_str().unwrap().to_owned());
            (response.status(), location)
        }));
    }
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

#[tokio::test]
async fn a_scheduled_broadcast_is_read_in_the_school_zone() {
    let app = plain_app().await;
    let admin = app.quick_session(Role::Admin).await;
    let at = later(400, 12, 30);
    let fields = with(
        stream_form("sched-key", "Напоминание"),
        &[
            ("when", "at"),
            ("scheduled_at", at.form.as_str()),
            ("intent", "review"),
        ],
    );
    // `when` appears twice; the later one wins, as in a browser's last field.
    let (status, html, _) = post(&app, &admin, "/messages/new", &fields).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains(&format!(
            "{} <span class=\"muted\">(Europe/Moscow, UTC+03:00)</span>",
            at.shown
        )),
        "{html}"
    );
    assert!(html.contains(&format!("Запланировать на {}", at.shown)));
    let send = with_intent(&fields, "send");
    let (status, _, location) = post(&app, &admin, "/messages/new", &send).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let id = id_from(&location.unwrap());
    let (status, stored): (String, String) = sqlx::query_as(
        "SELECT status, to_char(scheduled_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') \
         FROM message_history WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        (status.as_str(), stored.as_str()),
        ("scheduled", at.utc.as_str())
    );
}

#[tokio::test]
async fn drafts_are_saved_unfinished_resumed_and_gone_once_sent() {
    let app = plain_app().await;
    let admin = app.quick_session(Role::Admin).await;
    // No audience and broken HTML: still saved as typed.
    let unfinished = [
        ("key", "draft-key"),
        ("intent", "draft"),
        ("content_type", "text"),
        ("text", "Черновик <b>без конца"),
        ("button_row", "1"),
        ("button_text", "Сайт"),
        ("button_kind", "url"),
        ("button_value", "https://hashslash.school"),
    ];
    let (status, _, location) = post(&app, &admin, "/messages/new", &unfinished).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = location.unwrap();
    let draft: i64 = location
        .strip_prefix("/messages/new?draft=")
        .and_then(|rest| rest.strip_suffix("&saved=1"))
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("{location}"));

    let html = app.get_as(&admin, &location).await.text().await.unwrap();
    assert!(html.contains("Черновик сохранён."));
    assert!(
        html.contains("Черновик &#60;b&#62;без конца</textarea>"),
        "{html}"
    );
    assert!(html.contains("value=\"https://hashslash.school\""));
    assert_eq!(hidden_field(&html, "draft"), Some(draft.to_string()));
    // A resumed draft shows what is still wrong with it.
    assert!(html.contains("data-field=\"audience\""), "{html}");
    assert!(html.contains("тег &#60;b&#62; не закрыт"));
    // The list offers it.
    assert!(
        html.contains(&format!(
            "href=\"/messages/new?draft={draft}\">Черновик без конца</a>"
        )),
        "{html}"
    );

    // The history points to the drafts.
    let history = app.get_as(&admin, "/messages").await.text().await.unwrap();
    assert!(history.contains("<a href=\"/messages/new\" class=\"drafts-link\">Черновики: 1</a>"));

    // Saving again updates the same draft.
    let draft_field = draft.to_string();
    let finished = with(
        stream_form("draft-key-2", "Готово"),
        &[("draft", &draft_field), ("intent", "draft")],
    );
    let (status, _, location) = post(&app, &admin, "/messages/new", &finished).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        location.unwrap(),
        format!("/messages/new?draft={draft}&saved=1")
    );
    let rows: Vec<(i64, String)> = sqlx::query_as("SELECT id, form->>'text' FROM message_drafts")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows, [(draft, "Готово".to_owned())]);

    // Sending it makes the broadcast and removes the draft.
    let send = with_intent(&finished, "send");
    let (status, _, location) = post(&app, &admin, "/messages/new", &send).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{location:?}");
    id_from(&location.unwrap());
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM message_drafts")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
    let audited: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE entity_type = 'message_draft' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(audited, ["draft.create", "draft.update", "draft.delete"]);

    // Deleting a draft by hand.
    let (_, _, location) = post(&app, &admin, "/messages/new", &unfinished).await;
    let path = location.unwrap();
    let id = path
        .trim_start_matches("/messages/new?draft=")
        .trim_end_matches("&saved=1")
        .to_owned();
    let (status, _, location) =
        post(&app, &admin, &format!("/messages/drafts/{id}/delete"), &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/messages/new"));
    assert_eq!(
        app.get_as(&admin, &path).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_broadcast_duplicates_into_a_draft_with_its_content_and_audience() {
    let app = plain_app().await;
    let admin = app.quick_session(Role::Admin).await;
    let send = with(
        stream_form("dup-key", "<i>Повтор</i>"),
        &[
            ("status", "1"),
            ("button_row", "1"),
            ("button_text", "Да"),
            ("button_kind", "callback"),
            ("button_value", "yes"),
            ("intent", "send"),
        ],
    );
    let (_, _, location) = post(&app, &admin, "/messages/new", &send).await;
    let id = id_from(&location.unwrap());
    let (status, _, location) = post(&app, &admin, &format!("/messages/{id}/duplicate"), &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = location.unwrap();
    assert!(location.starts_with("/messages/new?draft="), "{location}");
    let html = app.get_as(&admin, &location).await.text().await.unwrap();
    assert!(html.contains(&format!("Черновик — копия рассылки №{id}.")));
    assert!(html.contains("&#60;i&#62;Повтор&#60;/i&#62;</textarea>"));
    assert!(
        html.contains("value=\"1:9th_stream\" id=\"stream-1\" checked"),
        "{html}"
    );
    assert!(html.contains("name=\"status\" value=\"1\" checked"));
    assert!(html.contains("name=\"status\" value=\"2\" checked"));
    assert!(html.contains("<option value=\"callback\" selected>"));
    assert!(html.contains("value=\"yes\""));
    // A fresh key: sending the copy makes a second broadcast.
    let key = hidden_field(&html, "key").unwrap();
    assert_ne!(key, "dup-key");
}

#[tokio::test]
async fn a_test_send_goes_to_the_admins_own_chat() {
    let (app, fake) = with_telegram().await;
    let admin = app.quick_session(Role::Admin).await;
    let test = with(
        stream_form("test-key", "<b>Проба</b>"),
        &[("intent", "test")],
    );

    let (status, html, _) = post(&app, &admin, "/messages/new", &test).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("У вашей учётной записи нет Telegram ID"),
        "{html}"
    );
    assert!(fake.sends().is_empty());

    sqlx::query("UPDATE staff SET telegram_user_id = 777 WHERE login LIKE 'quick-admin-%'")
        .execute(&app.pool)
        .await
        .unwrap();
    let (status, html, _) = post(&app, &admin, "/messages/new", &test).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Тестовое сообщение отправлено вам в Telegram (777)."));
    // The form is kept, key included, and no broadcast was made.
    assert_eq!(hidden_field(&html, "key").as_deref(), Some("test-key"));
    assert!(html.contains("&#60;b&#62;Проба&#60;/b&#62;</textarea>"));
    let sends = fake.sends();
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0].chat_id, Some(777));
    assert_eq!(sends[0].body["text"], "<b>Проба</b>");
    assert_eq!(broadcasts(&app).await, 0);

    let broken = with(stream_form("test-key", "<b>Проба"), &[("intent", "test")]);
    let (status, html, _) = post(&app, &admin, "/messages/new", &broken).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Исправьте сообщение, чтобы отправить его себе."));
    assert_eq!(fake.sends().len(), 1);

    fake.reply_for(777, crate::fake_telegram::Reply::Blocked);
    let (status, html, _) = post(&app, &admin, "/messages/new", &test).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(html.contains("Telegram не принял сообщение"), "{html}");
    assert!(!html.contains("TEST-composer"), "the token never shows");
}

#[tokio::test]
async fn a_test_send_without_a_bot_token_says_so() {
    let app = spawn_app_with(|config| config.telegram_bot_token = None).await;
    fixture(&app).await;
    let admin = app.quick_session(Role::Admin).await;
    sqlx::query("UPDATE staff SET telegram_user_id = 777 WHERE login LIKE 'quick-admin-%'")
        .execute(&app.pool)
        .await
        .unwrap();
    let test = with(stream_form("k", "Проба"), &[("intent", "test")]);
    let (status, html, _) = post(&app, &admin, "/messages/new", &test).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("Telegram не настроен"));
}
