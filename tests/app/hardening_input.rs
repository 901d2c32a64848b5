//! Bad text is a 400 naming the field, never a 500: NUL and other control
//! characters or invalid UTF-8 in queries, forms and JSON bodies, and, as a
//! backstop, PostgreSQL's own refusal of such text.

use hsl_dashboard::domain::role::Role;
use hsl_dashboard::web::error::AppError;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::composer::{plain_app, stream_form, with};
use crate::helpers::{TestApp, spawn_app};

/// The body of a refused request, whatever its format.
async fn refused(response: reqwest::Response, what: &str) -> String {
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {body}");
    body
}

/// Every string parameter of the search and filter routes, with a NUL.
#[tokio::test]
async fn a_nul_in_any_text_parameter_is_a_400_naming_it() {
    let app = spawn_app().await;
    let admin = app.quick_session(Role::Admin).await;
    let routes: &[(&str, &[&str])] = &[
        ("/api/users", &["search", "stream", "status", "sort"]),
        ("/api/free-lessons", &["search"]),
        ("/users", &["search", "stream", "status", "sort"]),
        ("/users.csv", &["search", "stream", "status", "sort"]),
        ("/free-lessons", &["search"]),
        ("/free-lessons.csv", &["search"]),
        (
            "/audit",
            &["actor", "action", "entity_type", "entity_id", "from", "to"],
        ),
    ];
    for (route, params) in routes {
        for param in *params {
            let path = format!("{route}?{param}=a%00b");
            let body = refused(app.get_as(&admin, &path).await, &path).await;
            if route.starts_with("/api/") {
                let body: Value = serde_json::from_str(&body).unwrap();
                let error = body["error"].as_str().unwrap();
                assert!(error.starts_with(&format!("{param}:")), "{path}: {error}");
                assert!(error.contains("U+0000 (NUL)"), "{path}: {error}");
            } else {
                assert!(body.contains("<html"), "{path}: an error page");
                assert!(body.contains(&format!("«{param}»")), "{path}: {body}");
            }
        }
    }
}

#[tokio::test]
async fn invalid_utf8_and_other_control_characters_are_refused_too() {
    let app = spawn_app().await;
    let admin = app.quick_session(Role::Admin).await;
    let token = app.token(Role::Viewer).await;
    for (query, expected) in [
        ("search=%FF%FE", "search: not valid UTF-8"),
        ("search=caf%C3", "search: not valid UTF-8"),
        (
            "search=%1B%5B31m",
            "search: contains the control character U+001B",
        ),
        (
            "search=a%01",
            "search: contains the control character U+0001",
        ),
        (
            "se%00arch=x",
            "se\\0arch: contains the control character U+0000",
        ),
    ] {
        let response = app
            .client
            .get(app.url(&format!("/api/users?{query}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let body: Value = serde_json::from_str(&refused(response, query).await).unwrap();
        let error = body["error"].as_str().unwrap();
        assert!(error.starts_with(expected), "{query}: {error}");
    }
    let page = refused(app.get_as(&admin, "/users?search=%FF").await, "page").await;
    assert!(page.contains("не в кодировке UTF-8"), "{page}");
    // Tabs, line breaks and any Unicode text pass.
    for query in [
        "search=a%09b%0D%0A",
        "search=%D0%90%D0%BD%D0%BD%D0%B0",
        "search=%F0%9F%8E%89",
    ] {
        let response = app
            .client
            .get(app.url(&format!("/api/users?{query}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{query}");
    }
}

fn message(content: Value) -> Value {
    json!({"audience": {"kind": "users", "user_ids": [201]}, "content": content})
}

/// The places a message's text can hide in `POST /api/messages`, with the
/// field the answer must name.
fn bad_contents() -> Vec<(Value, &'static str)> {
    let link = |button: Value| json!({"type": "text", "text": "Привет", "buttons": [[button]]});
    vec![
        (
            json!({"type": "text", "text": "При\u{0}вет"}),
            "content.text",
        ),
        (
            json!({"type": "photo", "file_id": "AgAC", "caption": "\u{0}"}),
            "content.caption",
        ),
        (
            link(json!({"text": "Да\u{0}", "url": "https://example.org"})),
            "content.buttons[0][0].text",
        ),
        (
            link(json!({"text": "Да", "url": "https://example.org/\u{0}"})),
            "content.buttons[0][0].url",
        ),
        (
            link(json!({"text": "Да", "callback_data": "yes\u{0}"})),
            "content.buttons[0][0].callback_data",
        ),
    ]
}

#[tokio::test]
async fn a_nul_in_a_message_is_refused_by_the_api_and_listed_by_the_preview() {
    let app = plain_app().await;
    let token = app.token(Role::Admin).await;
    for (content, field) in bad_contents() {
        let response = app
            .client
            .post(app.url("/api/messages"))
            .bearer_auth(&token)
            .json(&message(content.clone()))
            .send()
            .await
            .unwrap();
        let body: Value = serde_json::from_str(&refused(response, field).await).unwrap();
        let error = body["error"].as_str().unwrap();
        assert!(error.starts_with(&format!("{field}:")), "{error}");
        assert!(error.contains("NUL"), "{error}");

        let preview: Value = app
            .client
            .post(app.url("/api/messages/preview"))
            .bearer_auth(&token)
            .json(&message(content))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let errors = preview["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "{field}: {preview}");
        assert_eq!(errors[0]["field"], "content", "{field}: {preview}");
        let text = errors[0].to_string();
        assert!(
            text.contains("U+0000") || text.contains("control characters"),
            "{field}: {preview}"
        );
    }
    let nothing: i64 = sqlx::query_scalar("SELECT count(*) FROM message_history WHERE NOT legacy")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(nothing, 0);
}

#[tokio::test]
async fn a_nul_in_other_json_bodies_is_a_400_naming_the_field() {
    let app = spawn_app().await;
    let token = app.token(Role::Editor).await;
    let response = app
        .client
        .post(app.url("/api/streams"))
        .bearer_auth(&token)
        .json(&json!({"code": "77th_stream", "courseId": 1, "displayName": "Поток\u{0}"}))
        .send()
        .await
        .unwrap();
    let body: Value = serde_json::from_str(&refused(response, "streams").await).unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("displayName: contains the control character U+0000"),
        "{body}"
    );
    sqlx::raw_sql(
        "INSERT INTO users (user_id, username, first_name) VALUES (301, 'ira', 'Ира');
         INSERT INTO bookings (user_id, username, first_name, course_id, confirmed, created_at, course_stream)
           VALUES (301, 'ira', 'Ира', 1, 1, now(), '5th_stream');",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let response = app
        .client
        .patch(app.url("/api/users/301/bookings"))
        .bearer_auth(&token)
        .json(&json!({"bookingId": null, "updates": {"discount_percent": 10}, "version": "1\u{0}"}))
        .send()
        .await
        .unwrap();
    let body: Value = serde_json::from_str(&refused(response, "bookings").await).unwrap();
    assert!(
        body["error"].as_str().unwrap().starts_with("version:"),
        "{body}"
    );
}

/// The composer's form: the text, a button's text and its link or callback
/// data, and the login form's name.
#[tokio::test]
async fn a_nul_in_a_form_is_a_400_page_naming_the_field() {
    let app = plain_app().await;
    let admin = app.quick_session(Role::Admin).await;
    let button = |text: &'static str, kind: &'static str, value: &'static str| {
        vec![
            ("button_row", "1"),
            ("button_text", text),
            ("button_kind", kind),
            ("button_value", value),
        ]
    };
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (with(stream_form("k1", "При\u{0}вет"), &[]), "text"),
        (
            with(
                stream_form("k2", "Привет"),
                &button("Да\u{0}", "url", "https://a.b"),
            ),
            "button_text",
        ),
        (
            with(
                stream_form("k3", "Привет"),
                &button("Да", "url", "https://a.b/\u{0}"),
            ),
            "button_value",
        ),
        (
            with(
                stream_form("k4", "Привет"),
                &button("Да", "callback", "yes\u{0}"),
            ),
            "button_value",
        ),
    ];
    for (fields, field) in cases {
        for intent in ["draft", "review"] {
            let fields = with(fields.clone(), &[("intent", intent)]);
            let html = refused(
                app.post_form_as(&admin, "/messages/new", &fields).await,
                field,
            )
            .await;
            assert!(html.contains(&format!("«{field}»")), "{field}: {html}");
            assert!(html.contains("U+0000 (NUL)"), "{field}: {html}");
        }
        let live = app
            .post_form_as(&admin, "/messages/new/live", &fields)
            .await;
        refused(live, "live").await;
    }
    let drafts: i64 = sqlx::query_scalar("SELECT count(*) FROM message_history WHERE NOT legacy")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(drafts, 0);

    let login = app.post_login("admin\u{0}", "whatever").await;
    let html = refused(login, "login").await;
    assert!(html.contains("«login»"), "{html}");
}

/// Whatever slips past the checks: PostgreSQL's refusals of NUL in `text`
/// and of `\u0000` in `jsonb` become 400s, not 500s.
#[tokio::test]
async fn the_database_refusing_text_is_a_400() {
    let app: TestApp = spawn_app().await;
    let in_text = sqlx::query_scalar::<_, String>("SELECT $1::text")
        .bind("a\u{0}b")
        .fetch_one(&app.pool)
        .await
        .unwrap_err();
    let in_jsonb = sqlx::query_scalar::<_, String>("SELECT ($1::text::jsonb)::text")
        .bind(r#"{"text": "a\u0000b"}"#)
        .fetch_one(&app.pool)
        .await
        .unwrap_err();
    for err in [in_text, in_jsonb] {
        let shown = err.to_string();
        let mapped = AppError::from(err);
        assert_eq!(mapped.status(), StatusCode::BAD_REQUEST, "{shown}");
        assert!(mapped.to_string().contains("NUL"), "{mapped}");
    }
    // Other database errors stay 500s.
    let other = sqlx::query_scalar::<_, i32>("SELECT 1/0")
        .fetch_one(&app.pool)
        .await
        .unwrap_err();
    assert_eq!(
        AppError::from(other).status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
}
