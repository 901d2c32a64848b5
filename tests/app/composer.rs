//! `/messages/new`, the composer, over HTTP as a browser without scripts
//! uses it, against real PostgreSQL and (for sends) the fake Bot API: every
//! mistake shown by its field, the confirmation step, one broadcast per
//! form however often it is submitted, drafts, duplicates, the test send
//! and the live panel.

use std::time::Duration;

use hsl_dashboard::domain::role::Role;
use reqwest::StatusCode;
use secrecy::SecretString;
use tokio::time::Instant;

use crate::fake_telegram::FakeTelegram;
use crate::helpers::{Session, TestApp, hidden_field, spawn_app, spawn_app_with};

/// `9th_stream`: 201 and 202 confirmed, 203 pending, 204 confirmed then
/// cancelled (the latest booking counts), 206 confirmed but blocked the bot.
/// 205 is confirmed in `5th_stream`. `8th_stream` is registered (by the
/// migrations, like 3rd–7th), empty; 9th is the current intake.
async fn fixture(app: &TestApp) {
    sqlx::raw_sql(
        "INSERT INTO users (user_id, username, first_name, last_name) VALUES
           (201, 'anna', 'Анна', 'Иванова'), (202, 'boris', 'Борис', NULL),
           (203, 'vera', 'Вера', NULL), (204, 'gleb', 'Глеб', NULL),
           (205, 'dina', 'Дина', NULL), (206, 'egor', 'Егор', NULL);
         INSERT INTO bookings (user_id, username, first_name, course_id, confirmed, created_at, course_stream) VALUES
           (201, 'anna', 'Анна', 1, 2, '2026-11-01 10:00+00', '9th_stream'),
           (202, 'boris', 'Борис', 1, 2, '2026-11-01 10:00+00', '9th_stream'),
           (203, 'vera', 'Вера', 1, 1, '2026-11-01 10:00+00', '9th_stream'),
           (204, 'gleb', 'Глеб', 1, 2, '2026-11-01 10:00+00', '9th_stream'),
           (204, 'gleb', 'Глеб', 1, -1, '2026-11-02 10:00+00', '9th_stream'),
           (205, 'dina', 'Дина', 1, 2, '2026-11-01 10:00+00', '5th_stream'),
           (206, 'egor', 'Егор', 1, 2, '2026-11-01 10:00+00', '9th_stream');
         INSERT INTO blocked_users (user_id, reason) VALUES (206, 'blocked');
         UPDATE stream_registry SET is_current = false;
         INSERT INTO stream_registry (code, course_id, display_name, is_current)
           VALUES ('9th_stream', 1, '9-й поток', true);",
    )
    .execute(&app.pool)
    .await
    .unwrap();
}

async fn with_telegram() -> (TestApp, FakeTelegram) {
    let fake = FakeTelegram::start().await;
    let url = fake.url.parse().unwrap();
    let app = spawn_app_with(|config| {
        config.telegram_bot_token = Some(SecretString::from("123456:TEST-composer"));
        config.telegram_api_url = url;
    })
    .await;
    fixture(&app).await;
    (app, fake)
}

async fn plain_app() -> TestApp {
    let app = spawn_app().await;
    fixture(&app).await;
    app
}

/// A form for `9th_stream`'s confirmed members with `text`.
fn stream_form<'a>(key: &'a str, text: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("key", key),
        ("audience", "stream"),
        ("stream", "9th_stream"),
        ("status", "2"),
        ("content_type", "text"),
        ("text", text),
        ("when", "now"),
    ]
}

fn with<'a>(
    mut fields: Vec<(&'a str, &'a str)>,
    more: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    fields.extend_from_slice(more);
    fields
}

async fn post(
    app: &TestApp,
    session: &Session,
    path: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String, Option<String>) {
    let response = app.post_form_as(session, path, fields).await;
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .map(|value| value.to_str().unwrap().to_owned());
    (status, response.text().await.unwrap(), location)
}

async fn broadcasts(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM message_history WHERE NOT legacy")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

fn id_from(location: &str) -> i32 {
    location
        .strip_prefix("/messages/")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("not a broadcast page: {location}"))
}

#[tokio::test]
async fn the_composer_offers_streams_with_member_counts_and_segments_with_counts() {
    let app = plain_app().await;
    let admin = app.quick_session(Role::Admin).await;
    let response = app.get_as(&admin, "/messages/new").await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    let key = hidden_field(&html, "key").expect("an idempotency key");
    assert_eq!(key.len(), 36, "{key}");
    // The current intake first, then the others; members by latest status:
    // 9th: confirmed 201, 202, 206; pending 203; cancelled 204.
    let nine = html.find("9-й поток").expect("9th listed");
    let eight = html.find("8-й поток").expect("8th listed");
    let five = html.find("5-й поток").expect("5th listed");
    assert!(nine < eight && nine < five, "current intake first");
    let row = &html[nine..html[nine..].find("</tr>").unwrap() + nine];
    let counts: Vec<&str> = row
        .split("<td class=\"num\">")
        .skip(1)
        .map(|cell| cell.split('<').next().unwrap())
        .collect();
    assert_eq!(counts, ["3", "1", "0", "1"], "{row}");
    // Confirmed is the default status.
    assert!(
        html.contains("name=\"status\" value=\"2\" checked"),
        "confirmed checked"
    );
    assert!(!html.contains("name=\"status\" value=\"1\" checked"));
    // Segments with recipients, blocked excluded: all 6 known minus 206;
    // never paid: 203 only (everyone else has a confirmed booking).
    assert!(
        html.contains("все пользователи <span class=\"muted\">· 5</span>"),
        "{html}"
    );
    assert!(html.contains("ни разу не оплатившие <span class=\"muted\">· 1</span>"));
    assert!(
        html.contains("Europe/Moscow, UTC+03:00"),
        "the zone is shown"
    );
    // Two forms shown get two keys.
    let again = app
        .get_as(&admin, "/messages/new")
        .await
        .text()
        .await
        .unwrap();
    assert_ne!(hidden_field(&again, "key").unwrap(), key);

    for role in [Role::Viewer, Role::Editor] {
        let session = app.quick_session(role).await;
        let response = app.get_as(&session, "/messages/new").await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{role:?}");
        let (status, _, _) = post(&app, &session, "/messages/new", &stream_form("k", "x")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role:?}");
    }
}

#[tokio::test]
async fn every_mistake_is_shown_next_to_its_field() {
    let app = plain_app().await;
    let admin = app.quick_session(Role::Admin).await;
    let long = "я".repeat(4097);
    let long_caption = "я".repeat(1025);
    let long_callback = "d".repeat(65);
    let base = |audience: &[(&'static str, &'static str)]| {
        let mut fields = vec![
            ("key", "k-mistakes"),
            ("intent", "review"),
            ("content_type", "text"),
            ("text", "Привет"),
        ];
        fields.extend_from_slice(audience);
        fields
    };
    let stream: &[(&str, &str)] = &[
        ("audience", "stream"),
        ("stream", "9th_stream"),
        ("status", "2"),
    ];
    let cases: Vec<(Vec<(&str, &str)>, &str, &str)> = vec![
        (base(&[]), "audience", "Выберите, кому отправить."),
        (
            base(&[("audience", "users"), ("user_ids", "")]),
            "user_ids",
            "Выберите хотя бы одного получателя.",
        ),
        (
            base(&[("audience", "users"), ("user_ids", "201, abc")]),
            "user_ids",
            "«abc» — не ID пользователя",
        ),
        (
            base(&[("audience", "users"), ("user_ids", "201 -5")]),
            "user_ids",
            "«-5» — не ID пользователя",
        ),
        (
            base(&[("audience", "users"), ("user_ids", "201 999")]),
            "user_ids",
            "Бот не знает пользователей: 999.",
        ),
        (
            base(&[("audience", "users"), ("user_ids", "206")]),
            "user_ids",
            "Получателей нет: все 1 заблокировали бота.",
        ),
        (
            base(&[("audience", "stream"), ("status", "2")]),
            "streams",
            "Выберите хотя бы один поток.",
        ),
        (
            base(&[
                ("audience", "stream"),
                ("stream", "no such"),
                ("status", "2"),
            ]),
            "streams",
            "«no such» — не код потока.",
        ),
        (
            base(&[
                ("audience", "stream"),
                ("stream", "77th_stream"),
                ("status", "2"),
            ]),
            "streams",
            "Неизвестные потоки: 77th_stream.",
        ),
        (
            base(&[
                ("audience", "stream"),
                ("stream", "8th_stream"),
                ("status", "2"),
            ]),
            "streams",
            "Получателей нет: под условия никто не подходит.",
        ),
        (
            base(&[("audience", "stream"), ("stream", "9th_stream")]),
            "statuses",
            "Выберите хотя бы один статус заявки.",
        ),
        (
            base(&[
                ("audience", "stream"),
                ("stream", "9th_stream"),
                ("status", "5"),
            ]),
            "statuses",
            "Неизвестный статус заявки: 5.",
        ),
        (
            base(&[
                ("audience", "stream"),
                ("stream", "9th_stream"),
                ("status", "x"),
            ]),
            "statuses",
            "Неизвестный статус заявки: «x».",
        ),
        (
            base(&[("audience", "segment")]),
            "segment",
            "Выберите сегмент.",
        ),
        (
            base(&[("audience", "segment"), ("segment", "vip")]),
            "segment",
            "Выберите сегмент.",
        ),
        (
            with(
                stream.to_vec(),
                &[
                    ("key", "k"),
                    ("intent", "review"),
                    ("content_type", "gif"),
                    ("text", "x"),
                ],
            ),
            "content_type",
            "Выберите тип сообщения.",
        ),
        (
            with(
                stream.to_vec(),
                &[
                    ("key", "k"),
                    ("intent", "review"),
                    ("content_type", "text"),
                    ("text", "  "),
                ],
            ),
            "text",
            "Текст: ",
        ),
        (
            with(
                stream.to_vec(),
                &[
                    ("key", "k"),
                    ("intent", "review"),
                    ("content_type", "text"),
                    ("text", "Привет <div>x</div>"),
                ],
            ),
            "text",
            "Текст: Строка 1, символ 8: Telegram не поддерживает тег &#60;div&#62;.",
        ),
        (
            with(
                stream.to_vec(),
                &[
                    ("key", "k"),
                    ("intent", "review"),
                    ("content_type", "text"),
                    ("text", "a\n<b>b"),
                ],
            ),
            "text",
            "Строка 2, символ 1: тег &#60;b&#62; не закрыт.",
        ),
        (
            with(
                stream.to_vec(),
                &[
                    ("key", "k"),
                    ("intent", "review"),
                    ("content_type", "text"),
                    ("text", &long),
                ],
            ),
            "text",
            "4097",
        ),
        (
            with(
                stream.to_vec(),
                &[
                    ("key", "k"),
                    ("intent", "review"),
                    ("content_type", "photo"),
                    ("file_id", "AgAD"),
                    ("text", &long_caption),
                ],
            ),
            "text",
            "Подпись: ",
        ),
        (
            with(
                stream.to_vec(),
                &[
                    ("key", "k"),
                    ("intent", "review"),
                    ("content_type", "video"),
                    ("file_id", ""),
                ],
            ),
            "file_id",
            "file_id: только латинские буквы",
        ),
        (
            with(
                stream.to_vec(),
                &[
                    ("key", "k"),
                    ("intent", "review"),
                    ("content_type", "document"),
                    ("file_id", "a/b"),
                ],
            ),
            "file_id",
            "file_id: только латинские буквы",
        ),
        (
            with(
                stream.to_vec(),
                &[
                    ("key", "k"),
                    ("intent", "review"),
                    ("content_type", "text"),
                    ("text", "x"),
                    ("button_row", "1"),
                    ("button_text", "Go"),
                    ("button_kind", "url"),
                    ("button_value", "ftp://x"),
                ],
            ),
            "buttons",
            "Кнопка 1.1: ссылка должна начинаться с http://, https:// или tg://.",
        ),
        (
            with(
                stream.to_vec(),
                &[
                    ("key", "k"),
                    ("intent", "review"),
                    ("content_type", "text"),
                    ("text", "x"),
                    ("button_row", "1"),
                    ("button_text", ""),
                    ("button_kind", "url"),
                    ("button_value", "https://a.b"),
                ],
            ),
            "buttons",
            "Кнопка 1.1: текст — от 1 до 64 символов.",
        ),
        (
            with(
                stream.to_vec(),
                &[
                    ("key", "k"),
                    ("intent", "review"),
                    ("content_type", "text"),
                    ("text", "x"),
                    ("button_row", "1"),
                    ("button_text", "Да"),
                    ("button_kind", "callback"),
                    ("button_value", &long_callback),
                ],
            ),
            "buttons",
            "callback_data — от 1 до 64 байт",
        ),
        (
            with(
                stream.to_vec(),
                &[
                    ("key", "k"),
                    ("intent", "review"),
                    ("content_type", "text"),
                    ("text", "x"),
                    ("button_row", "первый"),
                    ("button_text", "Да"),
                    ("button_kind", "url"),
                    ("button_value", "https://a.b"),
                ],
            ),
            "buttons",
            "Кнопка 1: ряд — число от 1 до 100, а не «первый».",
        ),
        (
            with(
                stream.to_vec(),
                &[
                    ("key", "k"),
                    ("intent", "review"),
                    ("content_type", "text"),
                    ("text", "x"),
                    ("button_row", "1"),
                    ("button_text", "Да"),
                    ("button_kind", "phone"),
                    ("button_value", "1"),
                ],
            ),
            "buttons",
            "Кнопка 1: выберите «ссылка» или «callback».",
        ),
        (
            with(
                stream.to_vec(),
                &[
                    ("key", "k"),
                    ("intent", "review"),
                    ("content_type", "text"),
                    ("text", "x"),
                    ("when", "at"),
                    ("scheduled_at", ""),
                ],
            ),
            "scheduled_at",
            "Укажите дату и время отправки.",
        ),
        (
            with(
                stream.to_vec(),
                &[
                    ("key", "k"),
                    ("intent", "review"),
                    ("content_type", "text"),
                    ("text", "x"),
                    ("when", "at"),
                    ("scheduled_at", "завтра"),
                ],
            ),
            "scheduled_at",
            "в виде ГГГГ-ММ-ДД ЧЧ:ММ",
        ),
        (
            with(
                stream.to_vec(),
                &[
                    ("key", "k"),
                    ("intent", "review"),
                    ("content_type", "text"),
                    ("text", "x"),
                    ("when", "at"),
                    ("scheduled_at", "2020-01-01T10:00"),
                ],
            ),
            "scheduled_at",
            "Время отправки уже прошло.",
        ),
        (
            with(
                stream.to_vec(),
                &[
                    ("key", "k"),
                    ("intent", "review"),
                    ("content_type", "text"),
                    ("text", "x"),
                    ("when", "someday"),
                ],
            ),
            "scheduled_at",
            "Выберите «сейчас» или «запланировать».",
        ),
    ];
    for (fields, field, label) in cases {
        let (status, html, _) = post(&app, &admin, "/messages/new", &fields).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {label}");
        let marker = format!("<p class=\"field-error\" data-field=\"{field}\">");
        let at = html
            .find(&marker)
            .unwrap_or_else(|| panic!("no mistake by {field} for {label:?}"));
        let note = &html[at..at + html[at..].find("</p>").unwrap()];
        assert!(
            note.contains(label),
            "{field}: wanted {label:?}, got {note}"
        );
        // The typed values come back, and nothing was created.
        assert!(html.contains("Проверьте форму"), "{field}");
    }
    assert_eq!(broadcasts(&app).await, 0);

    // Several mistakes at once, each by its own field, in form order.
    let (status, html, _) = post(
        &app,
        &admin,
        "/messages/new",
        &[
            ("key", "k"),
            ("intent", "review"),
            ("audience", "users"),
            ("user_ids", "x"),
            ("content_type", "text"),
            ("text", "<p>"),
            ("when", "at"),
            ("scheduled_at", "2020-01-01T00:00"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("3 ошибки"), "{html}");
    let order: Vec<usize> = ["user_ids", "text", "scheduled_at"]
        .iter()
        .map(|field| {
            html.find(&format!("<li data-field=\"{field}\">"))
                .expect(field)
        })
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    // The form keeps what was typed.
    assert!(
        html.contains(">&#60;p&#62;</textarea>"),
        "the text comes back escaped"
    );
}

#[tokio::test]
async fn requests_the_form_never_makes_are_refused_with_a_400() {
    let app = plain_app().await;
    let admin = app.quick_session(Role::Admin).await;
    let form = stream_form("k-400", "Привет");
    let long_key = "k".repeat(201);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            with(form[1..].to_vec(), &[("intent", "review")]),
            "the form has no valid key",
        ),
        (
            with(stream_form(&long_key, "x"), &[("intent", "review")]),
            "the form has no valid key",
        ),
        (
            with(form.clone(), &[("intent", "launch")]),
            "unknown intent &#34;launch&#34;",
        ),
        (
            with(form.clone(), &[("intent", "review"), ("draft", "abc")]),
            "draft must be a positive integer",
        ),
    ];
    for (fields, message) in cases {
        let (status, html, _) = post(&app, &admin, "/messages/new", &fields).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{message}");
        assert!(html.contains(message), "{message}: {html}");
    }
    for (path, status) in [
        ("/messages/new?draft=abc", StatusCode::BAD_REQUEST),
        ("/messages/new?draft=0", StatusCode::BAD_REQUEST),
        ("/messages/new?draft=99", StatusCode::NOT_FOUND),
    ] {
        assert_eq!(app.get_as(&admin, path).await.status(), status, "{path}");
    }
    for (path, status) in [
        ("/messages/abc/duplicate", StatusCode::BAD_REQUEST),
        ("/messages/99/duplicate", StatusCode::NOT_FOUND),
        ("/messages/drafts/abc/delete", StatusCode::BAD_REQUEST),
        ("/messages/drafts/99/delete", StatusCode::NOT_FOUND),
    ] {
        let (got, _, _) = post(&app, &admin, path, &[]).await;
        assert_eq!(got, status, "{path}");
    }
    // Without the CSRF token a post is refused.
    let response = app
        .client
        .post(app.url("/messages/new"))
        .header("cookie", &admin.cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("key=k&intent=draft")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

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
    // 201 and 202; 206 blocked the bot, 204's latest booking is cancelled.
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
    assert!(html.contains("value=\"9th_stream\" id=\"stream-1\" checked"));

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
    assert_eq!(audience["streams"][0], "9th_stream");
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
    let fields = with(
        stream_form("sched-key", "Напоминание"),
        &[
            ("when", "at"),
            ("scheduled_at", "2030-03-01T12:30"),
            ("intent", "review"),
        ],
    );
    // `when` appears twice; the later one wins, as in a browser's last field.
    let (status, html, _) = post(&app, &admin, "/messages/new", &fields).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("01.03.2030 12:30 <span class=\"muted\">(Europe/Moscow, UTC+03:00)</span>"),
        "{html}"
    );
    assert!(html.contains("Запланировать на 01.03.2030 12:30"));
    let send: Vec<(&str, &str)> = fields
        .into_iter()
        .map(|(name, value)| {
            if name == "intent" {
                (name, "send")
            } else {
                (name, value)
            }
        })
        .collect();
    let (status, _, location) = post(&app, &admin, "/messages/new", &send).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let id = id_from(&location.unwrap());
    let (status, at): (String, String) = sqlx::query_as(
        "SELECT status, to_char(scheduled_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') \
         FROM message_history WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        (status.as_str(), at.as_str()),
        ("scheduled", "2030-03-01 09:30")
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
    let send: Vec<(&str, &str)> = finished
        .iter()
        .map(|&(name, value)| {
            if name == "intent" {
                (name, "send")
            } else {
                (name, value)
            }
        })
        .collect();
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
        html.contains("value=\"9th_stream\" id=\"stream-1\" checked"),
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

#[tokio::test]
async fn the_live_panel_counts_measures_and_previews_safely() {
    let app = plain_app().await;
    let admin = app.quick_session(Role::Admin).await;
    let fields = with(
        stream_form("k", "<b>Жирно</b> &amp; <a href=\"https://x.y\">ссылка</a>"),
        &[("status", "1")],
    );
    let (status, html, _) = post(&app, &admin, "/messages/new/live", &fields).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.trim_start()
            .starts_with("<div class=\"compose-live\" id=\"compose-live\""),
        "a fragment: {html}"
    );
    // Confirmed 201, 202 and pending 203 (206 blocked); «Жирно & ссылка» is 14.
    assert!(html.contains("data-recipients=\"3\""), "{html}");
    assert!(html.contains("ещё 1 заблокировали бота"));
    assert!(html.contains("14 / 4096 символов"), "{html}");
    assert!(html.contains("<b>Жирно</b> &amp; <a href=\"https://x.y\" target=\"_blank\""));

    // A caption's limit, and markup that must not reach the page.
    let caption = [
        ("audience", "users"),
        ("user_ids", "201"),
        ("content_type", "photo"),
        ("file_id", "AgAD"),
        ("text", "<script>alert(1)</script>"),
    ];
    let (_, html, _) = post(&app, &admin, "/messages/new/live", &caption).await;
    assert!(html.contains("/ 1024 символов"));
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        html.contains("Telegram не поддерживает тег &#60;script&#62;"),
        "{html}"
    );
    assert!(html.contains("data-recipients=\"1\""));

    // An audience still being chosen.
    let (_, html, _) = post(
        &app,
        &admin,
        "/messages/new/live",
        &[("content_type", "text"), ("text", "x")],
    )
    .await;
    assert!(html.contains("получателей: выберите, кому отправить"));
}

#[tokio::test]
async fn more_button_slots_on_request() {
    let app = plain_app().await;
    let admin = app.quick_session(Role::Admin).await;
    let fields = with(
        stream_form("k", "x"),
        &[
            ("button_row", "1"),
            ("button_text", "A"),
            ("button_kind", "url"),
            ("button_value", "https://a.b"),
            ("intent", "add_button"),
        ],
    );
    let (status, html, _) = post(&app, &admin, "/messages/new", &fields).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        html.matches("class=\"button-slot\"").count(),
        3,
        "one filled, two empty"
    );
    assert!(html.contains("name=\"button_row\" value=\"3\""));
}
