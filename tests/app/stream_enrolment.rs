//! «Набор открыт с»: its default (the day after the previous intake's
//! start), an explicit value through the API and the registry form (strict,
//! refused with a 400 / 422 naming it), and the stream page counting
//! programme viewers from it, `details.course_id` an integer or text,
//! checked against SQL written here. Dates are fixed and never compared
//! with the clock.

use hsl_dashboard::domain::role::Role;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{Session, TestApp, spawn_app};

/// 7th_stream starts on 1 September, 8th_stream (the current intake) on
/// 1 December, so 8th's enrolment opens by default on 2 September.
/// `view_program` of course 1: 301 a minute before Moscow's midnight of
/// 2 September (integer id), 302 at that midnight (integer), 303 and 307 in
/// October (text ids), 306 in November (integer); 304 viewed course 2; 305
/// viewed and booked 8th_stream.
async fn fixture(app: &TestApp) {
    sqlx::raw_sql(
        r#"INSERT INTO courses (id, name, button_text) VALUES (2, 'Python', 'Python');
         UPDATE stream_registry SET starts_on = '2026-09-01' WHERE code = '7th_stream';
         UPDATE stream_registry SET starts_on = '2026-12-01' WHERE code = '8th_stream';
         INSERT INTO bookings (user_id, course_id, confirmed, created_at, course_stream) VALUES
           (305, 1, 0, '2026-10-21 10:00+00', '8th_stream');
         INSERT INTO events (user_id, event_type, details, created_at) VALUES
           (301, 'view_program', '{"course_id":1}', '2026-09-01 20:59+00'),
           (302, 'view_program', '{"course_id":1,"username":"p302"}', '2026-09-01 21:00+00'),
           (303, 'view_program', '{"course_id":"1"}', '2026-10-20 10:00+00'),
           (304, 'view_program', '{"course_id":2}', '2026-10-20 10:00+00'),
           (305, 'view_program', '{"course_id":1}', '2026-10-20 10:00+00'),
           (306, 'view_program', '{"course_id":1}', '2026-11-20 10:00+00'),
           (307, 'view_program', '{"course_id":"1"}', '2026-10-10 10:00+00'),
           (303, 'view_program', '{"course_id":"1"}', '2026-10-22 10:00+00');"#,
    )
    .execute(&app.pool)
    .await
    .unwrap();
}

/// Viewers of course 1 since Moscow's midnight of `day` who did not book
/// 8th_stream, counted another way (JSON values, not their text).
async fn viewers_by_sql(app: &TestApp, day: &str) -> Vec<i64> {
    sqlx::query_scalar(
        "SELECT DISTINCT e.user_id FROM events e \
         WHERE e.event_type = 'view_program' \
           AND e.details -> 'course_id' IN ('1'::jsonb, '\"1\"'::jsonb) \
           AND e.created_at >= ($1::date::timestamp AT TIME ZONE 'Europe/Moscow') \
           AND e.user_id NOT IN (SELECT user_id FROM bookings WHERE course_stream = '8th_stream') \
         ORDER BY 1",
    )
    .bind(day)
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

async fn call(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_owned());
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn listed<'a>(list: &'a Value, code: &str) -> &'a Value {
    list["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["code"] == code)
        .unwrap()
}

/// The viewers page: its user ids (sorted) and the tab's text.
async fn viewers_page(app: &TestApp, session: &Session) -> (Vec<i64>, String) {
    let response = app
        .get_as(session, "/workshops/1/8th_stream?status=viewers")
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    let mut users: Vec<i64> = html
        .split("data-user=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().parse().unwrap())
        .collect();
    users.sort_unstable();
    let tab = &html[html.find("data-filter=\"viewers\"").unwrap()..];
    let tab = tab[..tab.find("</a>").unwrap()].to_owned();
    (users, tab)
}

#[tokio::test]
async fn viewers_count_from_the_default_enrolment_day_then_from_the_explicit_one() {
    let app = spawn_app().await;
    fixture(&app).await;
    let session = app.login_as(Role::Viewer).await;
    let viewer = app.token(Role::Viewer).await;
    let editor = app.token(Role::Editor).await;

    // The default: the day after 7th_stream's start, not 8th's own start.
    let (_, list) = call(&app, &viewer, Method::GET, "/api/streams", None).await;
    let eighth = listed(&list, "8th_stream");
    assert_eq!(eighth["enrolmentOpensOn"], Value::Null);
    assert_eq!(eighth["effectiveEnrolmentOpensOn"], "2026-09-02");
    assert_eq!(
        listed(&list, "7th_stream")["effectiveEnrolmentOpensOn"],
        "2026-09-01"
    );
    let (users, tab) = viewers_page(&app, &session).await;
    let want = viewers_by_sql(&app, "2026-09-02").await;
    assert_eq!(want, [302, 303, 306, 307]);
    assert_eq!(
        users, want,
        "integer and text course ids, from the midnight on"
    );
    assert!(tab.contains("с 02.09.2026"), "{tab}");
    assert!(
        tab.contains(&format!("<span class=\"count\">{}</span>", want.len())),
        "{tab}"
    );
    let registry = app
        .get_as(&session, "/settings/streams")
        .await
        .text()
        .await
        .unwrap();
    assert!(registry.contains("02.09.2026 (по умолчанию)"));

    // Explicit, through the API.
    let (status, changed) = call(
        &app,
        &editor,
        Method::PATCH,
        "/api/streams/8th_stream",
        Some(r#"{"enrolmentOpensOn":"2026-10-15"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["enrolmentOpensOn"], "2026-10-15");
    assert_eq!(changed["startsOn"], "2026-12-01", "the rest stays");
    let after: Value = sqlx::query_scalar(
        "SELECT after FROM audit_log WHERE action = 'stream.update' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(after["enrolment_opens_on"], "2026-10-15");
    let (users, tab) = viewers_page(&app, &session).await;
    let want = viewers_by_sql(&app, "2026-10-15").await;
    assert_eq!(want, [303, 306]);
    assert_eq!(users, want);
    assert!(tab.contains("с 15.10.2026"), "{tab}");

    // Null returns to the default.
    let (status, cleared) = call(
        &app,
        &editor,
        Method::PATCH,
        "/api/streams/8th_stream",
        Some(r#"{"enrolmentOpensOn":null}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cleared["enrolmentOpensOn"], Value::Null);
    assert!(
        viewers_page(&app, &session)
            .await
            .1
            .contains("с 02.09.2026")
    );
}

#[tokio::test]
async fn enrolment_dates_are_strict_in_the_api_and_the_form() {
    let app = spawn_app().await;
    fixture(&app).await;
    let editor = app.token(Role::Editor).await;
    for (body, message) in [
        (
            r#"{"enrolmentOpensOn":"15.10.2026"}"#,
            "enrolmentOpensOn must be",
        ),
        (
            r#"{"enrolmentOpensOn":"2026-10-15 "}"#,
            "enrolmentOpensOn must be",
        ),
        (r#"{"enrolmentOpensOn":""}"#, "enrolmentOpensOn must be"),
        (
            r#"{"enrolmentOpensOn":"2026-1-5"}"#,
            "enrolmentOpensOn must be",
        ),
        (
            r#"{"enrolmentOpensOn":"2026-02-30"}"#,
            "enrolmentOpensOn must be",
        ),
        (r#"{"enrolmentOpensOn":20261015}"#, "enrolmentOpensOn"),
        (
            r#"{"enrolmentOpensOn":"2026-12-02"}"#,
            "must not be after startsOn",
        ),
    ] {
        let (status, answer) = call(
            &app,
            &editor,
            Method::PATCH,
            "/api/streams/8th_stream",
            Some(body),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert!(answer.to_string().contains(message), "{body}: {answer}");
    }
    let stored: Option<chrono::NaiveDate> = sqlx::query_scalar(
        "SELECT enrolment_opens_on FROM stream_registry WHERE code = '8th_stream'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(stored, None, "nothing refused was stored");

    // Registering with one.
    let (status, created) = call(
        &app,
        &editor,
        Method::POST,
        "/api/streams",
        Some(r#"{"code":"9th_stream","courseId":1,"startsOn":"2027-03-01","enrolmentOpensOn":"2026-12-02"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["enrolmentOpensOn"], "2026-12-02");

    // The registry form: saved as typed, a bad one refused with its label.
    let session = app.login_as(Role::Editor).await;
    let fields = |opens: &'static str| {
        vec![
            ("display_name", "8-й поток"),
            ("starts_on", "2026-12-01"),
            ("capacity", ""),
            ("is_current", "on"),
            ("enrolment_opens_on", opens),
        ]
    };
    let saved = app
        .post_form_as(
            &session,
            "/settings/streams/1/8th_stream",
            &fields("2026-11-01"),
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let stored: Option<chrono::NaiveDate> = sqlx::query_scalar(
        "SELECT enrolment_opens_on FROM stream_registry WHERE code = '8th_stream'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(stored.unwrap().to_string(), "2026-11-01");
    let form = app
        .get_as(&session, "/settings/streams/1/8th_stream")
        .await
        .text()
        .await
        .unwrap();
    assert!(form.contains("name=\"enrolment_opens_on\" value=\"2026-11-01\""));
    let refused = app
        .post_form_as(
            &session,
            "/settings/streams/1/8th_stream",
            &fields("01.11.2026"),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Набор открыт с: дата")
    );
}
