//! The form itself: what it offers, every mistake by its field, requests
//! it never makes, the live panel and the buttons editor.

use hsl_dashboard::domain::audience::Audience;
use hsl_dashboard::domain::role::Role;
use hsl_dashboard::store::audience;
use reqwest::StatusCode;

use super::{Fields, broadcasts, plain_app, post, stream_form, with};
use crate::helpers::hidden_field;

#[tokio::test]
async fn the_composer_offers_streams_with_member_counts_and_segments_with_counts() {
    let app = plain_app().await;
    let admin = app.quick_session(Role::Admin).await;
    let response = app.get_as(&admin, "/messages/new").await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    let key = hidden_field(&html, "key").expect("an idempotency key");
    assert_eq!(key.len(), 36, "{key}");
    // The current intake first, then the others; members by their standing:
    // 9th: confirmed 201, 202, 206; pending 203; new 204 (cancelled, then
    // booked again).
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
    assert_eq!(counts, ["3", "1", "1", "0"], "{row}");
    // Confirmed is the default status.
    assert!(
        html.contains("name=\"status\" value=\"2\" checked"),
        "confirmed checked"
    );
    assert!(!html.contains("name=\"status\" value=\"1\" checked"));
    // Segments with recipients, blocked excluded: all 6 known minus 206;
    // never paid: 203 and 204 (everyone else has a confirmed booking).
    assert!(
        html.contains("все пользователи <span class=\"muted\">· 5</span>"),
        "{html}"
    );
    assert!(html.contains("ни разу не оплатившие <span class=\"muted\">· 2</span>"));
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

/// The fields of a urlencoded `query`.
fn fields(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

#[tokio::test]
async fn every_mistake_is_shown_next_to_its_field() {
    let app = plain_app().await;
    let admin = app.quick_session(Role::Admin).await;
    let text = "content_type=text&text=Привет";
    let stream = "audience=stream&stream=9th_stream&status=2&content_type=text";
    let button = |rest: &str| format!("{stream}&text=x&button_row=1&button_text=Да&{rest}");
    let cases: Vec<(String, &str, &str)> = vec![
        (text.into(), "audience", "Выберите, кому отправить."),
        (
            format!("audience=users&user_ids=&{text}"),
            "user_ids",
            "Выберите хотя бы одного получателя.",
        ),
        (
            format!("audience=users&user_ids=201,+abc&{text}"),
            "user_ids",
            "«abc» — не ID пользователя",
        ),
        (
            format!("audience=users&user_ids=201+-5&{text}"),
            "user_ids",
            "«-5» — не ID пользователя",
        ),
        (
            format!("audience=users&user_ids=201+999&{text}"),
            "user_ids",
            "Бот не знает пользователей: 999.",
        ),
        (
            format!("audience=users&user_ids=206&{text}"),
            "user_ids",
            "Получателей нет: все 1 заблокировали бота.",
        ),
        (
            format!("audience=stream&status=2&{text}"),
            "streams",
            "Выберите хотя бы один поток.",
        ),
        (
            format!("audience=stream&stream=no+such&status=2&{text}"),
            "streams",
            "«no such» — не код потока.",
        ),
        (
            format!("audience=stream&stream=77th_stream&status=2&{text}"),
            "streams",
            "Неизвестные потоки: 77th_stream.",
        ),
        (
            format!("audience=stream&stream=8th_stream&status=2&{text}"),
            "streams",
            "Получателей нет: под условия никто не подходит.",
        ),
        (
            format!("audience=stream&stream=9th_stream&{text}"),
            "statuses",
            "Выберите хотя бы один статус заявки.",
        ),
        (
            format!("audience=stream&stream=9th_stream&status=5&{text}"),
            "statuses",
            "Неизвестный статус заявки: 5.",
        ),
        (
            format!("audience=stream&stream=9th_stream&status=x&{text}"),
            "statuses",
            "Неизвестный статус заявки: «x».",
        ),
        (
            format!("audience=segment&{text}"),
            "segment",
            "Выберите сегмент.",
        ),
        (
            format!("audience=segment&segment=vip&{text}"),
            "segment",
            "Выберите сегмент.",
        ),
        (
            format!("{stream}&content_type=gif&text=x"),
            "content_type",
            "Выберите тип сообщения.",
        ),
        (format!("{stream}&text=+++"), "text", "Текст: Текст пуст."),
        (
            format!("{stream}&text=Привет+<div>x</div>"),
            "text",
            "Текст: Строка 1, символ 8: Telegram не поддерживает тег &#60;div&#62;.",
        ),
        (
            format!("{stream}&text=a%0A<b>b"),
            "text",
            "Текст: Строка 2, символ 1: тег &#60;b&#62; не закрыт.",
        ),
        (
            format!("{stream}&text={}", "я".repeat(4097)),
            "text",
            "После разметки в тексте 4097 символов",
        ),
        (
            format!(
                "{stream}&content_type=photo&file_id=AgAD&text={}",
                "я".repeat(1025)
            ),
            "text",
            "Подпись: После разметки в тексте 1025 символов",
        ),
        (
            format!("{stream}&content_type=video&file_id="),
            "file_id",
            "file_id: только латинские буквы",
        ),
        (
            format!("{stream}&content_type=document&file_id=a/b"),
            "file_id",
            "file_id: только латинские буквы",
        ),
        (
            button("button_kind=url&button_value=ftp://x"),
            "buttons",
            "Кнопка 1.1: ссылка должна начинаться с http://, https:// или tg://.",
        ),
        (
            format!(
                "{stream}&text=x&button_row=1&button_text=&button_kind=url&button_value=https://a.b"
            ),
            "buttons",
            "Кнопка 1.1: текст — от 1 до 64 символов.",
        ),
        (
            button(&format!(
                "button_kind=callback&button_value={}",
                "d".repeat(65)
            )),
            "buttons",
            "Кнопка 1.1: callback_data — от 1 до 64 байт.",
        ),
        (
            format!(
                "{stream}&text=x&button_row=первый&button_text=Да&button_kind=url&button_value=https://a.b"
            ),
            "buttons",
            "Кнопка 1: ряд — число от 1 до 100, а не «первый».",
        ),
        (
            button("button_kind=phone&button_value=1"),
            "buttons",
            "Кнопка 1: выберите «ссылка» или «callback».",
        ),
        (
            format!("{stream}&text=x&when=at&scheduled_at="),
            "scheduled_at",
            "Укажите дату и время отправки.",
        ),
        (
            format!("{stream}&text=x&when=at&scheduled_at=завтра"),
            "scheduled_at",
            "в виде ГГГГ-ММ-ДД ЧЧ:ММ",
        ),
        (
            format!("{stream}&text=x&when=at&scheduled_at=2020-01-01T10:00"),
            "scheduled_at",
            "Время отправки уже прошло.",
        ),
        (
            format!("{stream}&text=x&when=someday"),
            "scheduled_at",
            "Выберите «сейчас» или «запланировать».",
        ),
    ];
    for (query, field, label) in cases {
        let mut sent = fields(&query);
        sent.extend([
            ("key".into(), "k-mistakes".into()),
            ("intent".into(), "review".into()),
        ]);
        let sent: Vec<(&str, &str)> = sent.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let (status, html, _) = post(&app, &admin, "/messages/new", &sent).await;
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
    let cases: Vec<(Fields, &str)> = vec![
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
    assert!(html.contains("<b>Жирно</b> &amp; <a href=\"https://x.y\" rel=\"noopener"));

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

#[tokio::test]
async fn segment_counts_agree_with_the_audience_definition() {
    let app = plain_app().await;
    // More kinds of people: a hackathon participant who also paid and
    // blocked the bot, one who never paid, a blocked person who never paid,
    // and a blocked id the bot has never seen.
    sqlx::raw_sql(
        "INSERT INTO users (user_id, first_name) VALUES (207, 'Жанна'), (208, 'Зоя');
         INSERT INTO hackathon_registrations (user_id, first_name) VALUES (201, 'Анна'), (207, 'Жанна'), (207, 'Жанна');
         INSERT INTO blocked_users (user_id, reason) VALUES (201, 'blocked'), (208, 'deactivated'), (999, 'chat_not_found');",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    hsl_dashboard::store::people::catch_up(&app.pool)
        .await
        .unwrap();
    let counted = audience::segment_estimates(&app.pool).await.unwrap();
    assert_eq!(counted.len(), 3);
    for (segment, estimate) in counted {
        let resolved = audience::estimate(&app.pool, &Audience::Segment { segment })
            .await
            .unwrap();
        assert_eq!(estimate, resolved, "{segment:?}");
    }
    // And the numbers themselves: 8 people, 3 of them blocked (201, 206, 208);
    // never paid: 203, 204, 207, 208 (208 blocked); hackathon: 201
    // (blocked), 207.
    let all: Vec<_> = audience::segment_estimates(&app.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, e)| (e.people, e.blocked))
        .collect();
    assert_eq!(all, [(4, 1), (2, 1), (8, 3)]);
}
