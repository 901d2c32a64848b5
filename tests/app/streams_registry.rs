//! The stream registry: `/api/streams` (list, create, change, adopt) and the
//! `/settings/streams` pages, with every refusal and the audit trail.

use hsl_dashboard::domain::role::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::bookings_api::fixture;
use crate::browser::Browser;
use crate::helpers::{TestApp, spawn_app};

pub(crate) async fn call(
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

fn stream<'a>(list: &'a Value, code: &str) -> &'a Value {
    list["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["code"] == code)
        .unwrap_or_else(|| panic!("{code} not listed in {list}"))
}

async fn last_audit(app: &TestApp, action: &str) -> (String, String, Option<Value>, Value) {
    sqlx::query_as(
        "SELECT actor, entity_id, before, after FROM audit_log \
         WHERE action = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(action)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn the_registry_lists_streams_with_bookings_and_unregistered_codes() {
    let app = spawn_app().await;
    fixture(&app).await;
    let viewer = app.token(Role::Viewer).await;

    let (status, list) = call(&app, &viewer, Method::GET, "/api/streams", None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let registered: i64 = sqlx::query_scalar("SELECT count(*) FROM stream_registry")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(list["streams"].as_array().unwrap().len() as i64, registered);
    let eighth = stream(&list, "8th_stream");
    assert_eq!(eighth["displayName"], "8-й поток");
    assert_eq!(eighth["courseId"], 1);
    assert_eq!(eighth["isCurrent"], true);
    assert_eq!(eighth["bookings"], 3, "bookings 1, 4 and 6, any status");
    assert_eq!(stream(&list, "7th_stream")["capacity"], 2);
    assert_eq!(
        list["unregistered"],
        json!([{"code": "zz_stream", "courseId": 1, "bookings": 1, "suggestedDisplayName": "zz_stream"}])
    );
}

#[tokio::test]
async fn editors_register_streams_and_bad_bodies_are_refused() {
    let app = spawn_app().await;
    let editor = app.token(Role::Editor).await;
    let post = |body: &'static str| call(&app, &editor, Method::POST, "/api/streams", Some(body));

    let (status, created) = post(
        r#"{"code":"9th_stream","courseId":1,"displayName":" 9-й поток ","startsOn":"2027-02-01","capacity":40,"isCurrent":true}"#,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["displayName"], "9-й поток", "trimmed");
    assert_eq!(created["startsOn"], "2027-02-01");
    assert_eq!(created["capacity"], 40);
    assert_eq!(created["isCurrent"], true);
    assert_eq!(created["archived"], false);
    let current: Vec<String> =
        sqlx::query_scalar("SELECT code FROM stream_registry WHERE course_id = 1 AND is_current")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(current, ["9th_stream"], "the old current intake gave way");
    let (actor, entity, before, after) = last_audit(&app, "stream.create").await;
    assert!(actor.starts_with("token:"), "{actor}");
    assert_eq!(entity, "1:9th_stream", "course_id:code");
    assert_eq!(before, None);
    assert_eq!(after["capacity"], 40);

    let (status, named) = post(r#"{"code":"12th_stream","courseId":1}"#).await;
    assert_eq!(status, StatusCode::CREATED, "{named}");
    assert_eq!(
        named["displayName"], "12-й поток",
        "suggested from the code"
    );
    assert_eq!(named["capacity"], Value::Null);

    let cases: &[(&str, StatusCode, &str)] = &[
        (
            r#"{"code":"9th_stream","courseId":1}"#,
            StatusCode::CONFLICT,
            "already registered",
        ),
        (
            r#"{"code":"bad code","courseId":1}"#,
            StatusCode::BAD_REQUEST,
            "stream code must be",
        ),
        (
            r#"{"code":"x51xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx","courseId":1}"#,
            StatusCode::BAD_REQUEST,
            "stream code must be",
        ),
        (
            r#"{"code":"s1","courseId":99}"#,
            StatusCode::BAD_REQUEST,
            "no such course",
        ),
        (
            r#"{"code":"s1","courseId":1,"capacity":0}"#,
            StatusCode::BAD_REQUEST,
            "capacity must be",
        ),
        (
            r#"{"code":"s1","courseId":1,"capacity":100001}"#,
            StatusCode::BAD_REQUEST,
            "capacity must be",
        ),
        (
            r#"{"code":"s1","courseId":1,"capacity":"ten"}"#,
            StatusCode::BAD_REQUEST,
            "invalid JSON body",
        ),
        (
            r#"{"code":"s1","courseId":1,"startsOn":"01.02.2027"}"#,
            StatusCode::BAD_REQUEST,
            "startsOn must be",
        ),
        (
            r#"{"code":"s1","courseId":1,"startsOn":""}"#,
            StatusCode::BAD_REQUEST,
            "startsOn must be",
        ),
        (
            r#"{"code":"s1","courseId":1,"displayName":"   "}"#,
            StatusCode::BAD_REQUEST,
            "displayName must be",
        ),
        (
            r#"{"code":"s1","courseId":1,"isCurrent":true,"archived":true}"#,
            StatusCode::BAD_REQUEST,
            "archived stream cannot be the current",
        ),
        (
            r#"{"code":"s1","courseId":1,"colour":"red"}"#,
            StatusCode::BAD_REQUEST,
            "unknown field",
        ),
        (
            r#"{"code":"s1""#,
            StatusCode::BAD_REQUEST,
            "invalid JSON body",
        ),
        (
            r#"{"courseId":1}"#,
            StatusCode::BAD_REQUEST,
            "missing field",
        ),
    ];
    for (body, expected, message) in cases {
        let (status, answer) = post(body).await;
        assert_eq!(status, *expected, "{body}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(message),
            "{body}: {answer}"
        );
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM stream_registry WHERE code = 's1'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 0, "no refused body left a row");

    let viewer = app.token(Role::Viewer).await;
    let (status, _) = call(
        &app,
        &viewer,
        Method::POST,
        "/api/streams",
        Some(r#"{"code":"s2","courseId":1}"#),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "viewers only read");
}

#[tokio::test]
async fn editors_change_only_the_fields_they_send() {
    let app = spawn_app().await;
    let editor = app.token(Role::Editor).await;
    let patch = |path: &'static str, body: &'static str| {
        call(&app, &editor, Method::PATCH, path, Some(body))
    };

    let (status, changed) = patch(
        "/api/streams/7th_stream",
        r#"{"capacity":25,"startsOn":"2026-03-01"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["capacity"], 25);
    assert_eq!(changed["startsOn"], "2026-03-01");
    assert_eq!(changed["displayName"], "7-й поток", "left alone");
    let (_, entity, before, after) = last_audit(&app, "stream.update").await;
    assert_eq!(entity, "1:7th_stream");
    assert_eq!(before.unwrap()["capacity"], Value::Null);
    assert_eq!(after["capacity"], 25);

    let (status, cleared) = patch("/api/streams/7th_stream", r#"{"capacity":null}"#).await;
    assert_eq!(status, StatusCode::OK, "{cleared}");
    assert_eq!(cleared["capacity"], Value::Null, "null clears");
    assert_eq!(cleared["startsOn"], "2026-03-01", "absent keeps");

    let (status, refused) = patch("/api/streams/8th_stream", r#"{"archived":true}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert!(refused["error"].as_str().unwrap().contains("current"));
    let (status, archived) = patch(
        "/api/streams/8th_stream",
        r#"{"archived":true,"isCurrent":false}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{archived}");
    assert_eq!(archived["archived"], true);
    assert_eq!(archived["isCurrent"], false);

    let (status, current) = patch("/api/streams/7th_stream", r#"{"isCurrent":true}"#).await;
    assert_eq!(status, StatusCode::OK, "{current}");
    let (status, other) = patch("/api/streams/6th_stream", r#"{"isCurrent":true}"#).await;
    assert_eq!(status, StatusCode::OK, "{other}");
    let current: Vec<String> =
        sqlx::query_scalar("SELECT code FROM stream_registry WHERE course_id = 1 AND is_current")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(current, ["6th_stream"], "one current intake per course");

    let cases: &[(&str, &str, StatusCode, &str)] = &[
        (
            "/api/streams/7th_stream",
            "{}",
            StatusCode::BAD_REQUEST,
            "nothing to change",
        ),
        (
            "/api/streams/nope",
            r#"{"capacity":3}"#,
            StatusCode::NOT_FOUND,
            "no registered stream",
        ),
        (
            "/api/streams/a%20b",
            r#"{"capacity":3}"#,
            StatusCode::BAD_REQUEST,
            "stream code must be",
        ),
        (
            "/api/streams/7th_stream",
            r#"{"capacity":-3}"#,
            StatusCode::BAD_REQUEST,
            "capacity must be",
        ),
        (
            "/api/streams/7th_stream",
            r#"{"startsOn":"2026-02-30"}"#,
            StatusCode::BAD_REQUEST,
            "startsOn must be",
        ),
        (
            "/api/streams/7th_stream",
            r#"{"displayName":""}"#,
            StatusCode::BAD_REQUEST,
            "displayName must be",
        ),
        (
            "/api/streams/7th_stream",
            r#"{"displayName":null}"#,
            StatusCode::BAD_REQUEST,
            "nothing to change",
        ),
        (
            "/api/streams/7th_stream",
            r#"{"code":"x"}"#,
            StatusCode::BAD_REQUEST,
            "unknown field",
        ),
        (
            "/api/streams/7th_stream",
            "[1]",
            StatusCode::BAD_REQUEST,
            "invalid JSON body",
        ),
    ];
    for (path, body, expected, message) in cases {
        let (status, answer) = patch(path, body).await;
        assert_eq!(status, *expected, "{path} {body}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(message),
            "{path} {body}: {answer}"
        );
    }
}

#[tokio::test]
async fn codes_found_only_in_bookings_are_adopted_with_one_call() {
    let app = spawn_app().await;
    fixture(&app).await;
    sqlx::raw_sql(
        "INSERT INTO bookings (user_id, course_id, confirmed, course_stream) VALUES
           (201, 1, 0, 'twin'), (202, 2, 0, 'twin'), (203, NULL, 0, 'orphan');",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let editor = app.token(Role::Editor).await;
    let adopt = |path: &'static str, body: Option<&'static str>| {
        call(&app, &editor, Method::POST, path, body)
    };

    let (status, adopted) = adopt("/api/streams/zz_stream/adopt", None).await;
    assert_eq!(status, StatusCode::CREATED, "{adopted}");
    assert_eq!(adopted["courseId"], 1);
    assert_eq!(adopted["displayName"], "zz_stream");
    assert_eq!(adopted["isCurrent"], false);
    let (actor, entity, _, _) = last_audit(&app, "stream.adopt").await;
    assert!(actor.starts_with("token:"));
    assert_eq!(entity, "1:zz_stream");

    let (status, answer) = adopt("/api/streams/zz_stream/adopt", None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");

    let (status, answer) = adopt("/api/streams/twin/adopt", Some("")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("several courses (1, 2)"),
        "{answer}"
    );
    let (status, answer) = adopt("/api/streams/twin/adopt", Some(r#"{"courseId":3}"#)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let (status, twin) = adopt(
        "/api/streams/twin/adopt",
        Some(r#"{"courseId":2,"displayName":"Двойник"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{twin}");
    assert_eq!(
        (twin["courseId"].as_i64(), twin["displayName"].as_str()),
        (Some(2), Some("Двойник"))
    );

    let (status, answer) = adopt("/api/streams/orphan/adopt", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("no course"));
    let (status, _) = adopt("/api/streams/ghost/adopt", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = adopt("/api/streams/a.b/adopt", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, answer) = adopt("/api/streams/orphan/adopt", Some("{nope")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("invalid JSON body")
    );

    let viewer = app.token(Role::Viewer).await;
    let (_, list) = call(&app, &viewer, Method::GET, "/api/streams", None).await;
    let left: Vec<&str> = list["unregistered"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        left,
        ["orphan", "twin"],
        "course 1's twin is a stream of its own, still unregistered"
    );
    assert_eq!(list["unregistered"][1]["courseId"], 1);
}

#[tokio::test]
async fn viewers_see_the_registry_page_without_forms() {
    let app = spawn_app().await;
    fixture(&app).await;
    let viewer = app.login_as(Role::Viewer).await;
    let page = app.get_as(&viewer, "/settings/streams").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Реестр потоков"));
    assert!(html.contains(r#"href="/settings/streams" aria-current="page">Потоки"#));
    assert!(html.contains("8-й поток") && html.contains("текущий набор"));
    assert!(html.contains("zz_stream") && html.contains("незарегистрированный"));
    assert!(!html.contains("Добавить поток") && !html.contains("/adopt"));
    assert!(!html.contains("Сотрудники"), "admin entries stay hidden");

    let edit = app.get_as(&viewer, "/settings/streams/1/8th_stream").await;
    assert_eq!(edit.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn editors_add_edit_archive_and_adopt_through_the_pages() {
    let app = spawn_app().await;
    fixture(&app).await;
    let (login, password) = app.add_staff(Role::Editor).await;
    let editor = app.login(&login, &password).await;

    let html = app
        .get_as(&editor, "/settings/streams")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Добавить поток"));
    assert!(html.contains(r#"action="/settings/streams/1/zz_stream/adopt""#));

    let bad: &[(&[(&str, &str)], &str)] = &[
        (
            &[
                ("code", "bad code"),
                ("course_id", "1"),
                ("display_name", "X"),
            ],
            "Код: от 1 до 50",
        ),
        (
            &[("code", "s9"), ("course_id", "x"), ("display_name", "X")],
            "Выберите курс",
        ),
        (
            &[("code", "s9"), ("course_id", "77"), ("display_name", "X")],
            "Выберите курс",
        ),
        (
            &[("code", "s9"), ("course_id", "1"), ("display_name", " ")],
            "Название: от 1 до 100",
        ),
        (
            &[
                ("code", "s9"),
                ("course_id", "1"),
                ("display_name", "X"),
                ("starts_on", "завтра"),
            ],
            "Дата начала",
        ),
        (
            &[
                ("code", "s9"),
                ("course_id", "1"),
                ("display_name", "X"),
                ("capacity", "0"),
            ],
            "Мест: целое число",
        ),
        (
            &[
                ("code", "8th_stream"),
                ("course_id", "1"),
                ("display_name", "X"),
            ],
            "уже есть в реестре",
        ),
    ];
    for (fields, message) in bad {
        let response = app.post_form_as(&editor, "/settings/streams", fields).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{fields:?}"
        );
        let html = response.text().await.unwrap();
        assert!(html.contains(message), "{fields:?}: {message}");
        assert!(
            html.contains(r#"value="X""#) || html.contains(r#"value=" ""#),
            "typed values are kept"
        );
    }

    let response = app
        .post_form_as(
            &editor,
            "/settings/streams",
            &[
                ("code", "9th_stream"),
                ("course_id", "1"),
                ("display_name", "9-й поток"),
                ("starts_on", "2027-02-01"),
                ("capacity", "30"),
                ("is_current", "on"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()["location"],
        "/settings/streams?notice=created"
    );
    let html = app
        .get_as(&editor, "/settings/streams?notice=created")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Поток добавлен в реестр."));
    assert!(html.contains("01.02.2027"));
    let current: Vec<String> =
        sqlx::query_scalar("SELECT code FROM stream_registry WHERE course_id = 1 AND is_current")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(current, ["9th_stream"]);

    let form = app
        .get_as(&editor, "/settings/streams/1/8th_stream")
        .await
        .text()
        .await
        .unwrap();
    assert!(form.contains(r#"name="display_name" value="8-й поток""#));
    let response = app
        .post_form_as(
            &editor,
            "/settings/streams/1/8th_stream",
            &[
                ("display_name", "Восьмой"),
                ("starts_on", ""),
                ("capacity", "5"),
                ("is_current", "on"),
                ("archived", "on"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("Архивный поток не может быть текущим набором."));
    assert!(html.contains(r#"value="Восьмой""#), "typed values are kept");

    let response = app
        .post_form_as(
            &editor,
            "/settings/streams/1/8th_stream",
            &[
                ("display_name", "Восьмой"),
                ("starts_on", "2026-09-01"),
                ("capacity", ""),
                ("archived", "on"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let row: (String, Option<chrono::NaiveDate>, Option<i32>, bool, bool) = sqlx::query_as(
        "SELECT display_name, starts_on, capacity, is_current, archived \
         FROM stream_registry WHERE code = '8th_stream'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        row,
        (
            "Восьмой".to_owned(),
            chrono::NaiveDate::from_ymd_opt(2026, 9, 1),
            None,
            false,
            true
        )
    );
    let (actor, _, _, _) = last_audit(&app, "stream.update").await;
    assert_eq!(actor, login);

    let response = app
        .post_form_as(&editor, "/settings/streams/1/zz_stream/adopt", &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()["location"],
        "/settings/streams/1/zz_stream?notice=adopted"
    );
    let html = app
        .get_as(&editor, "/settings/streams/1/zz_stream?notice=adopted")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("укажите дату начала"));
    let html = app
        .get_as(&editor, "/settings/streams")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !html.contains("Незарегистрированные потоки"),
        "nothing left to adopt"
    );

    let missing = app.get_as(&editor, "/settings/streams/1/ghost").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let missing = app
        .post_form_as(
            &editor,
            "/settings/streams/1/ghost",
            &[("display_name", "X")],
        )
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let bad_course = app
        .post_form_as(&editor, "/settings/streams/one/ghost/adopt", &[])
        .await;
    assert_eq!(bad_course.status(), StatusCode::BAD_REQUEST);
    let no_bookings = app
        .post_form_as(&editor, "/settings/streams/1/ghost/adopt", &[])
        .await;
    assert_eq!(no_bookings.status(), StatusCode::NOT_FOUND);
    let no_csrf = app
        .client
        .post(app.url("/settings/streams"))
        .header("cookie", &editor.cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("code=s5&course_id=1&display_name=X")
        .send()
        .await
        .unwrap();
    assert_eq!(no_csrf.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_browser_adopts_an_unregistered_stream_with_one_click() {
    let app = spawn_app().await;
    fixture(&app).await;
    let (login, password) = app.add_staff(Role::Editor).await;
    let browser = Browser::start().await;
    browser.login(&app, &login, &password).await;
    browser.goto(&app.url("/settings/streams")).await;
    browser
        .click("form[action=\"/settings/streams/1/zz_stream/adopt\"] button")
        .await;
    browser.wait_for("p.notice").await;
    assert_eq!(
        browser.current_path().await,
        "/settings/streams/1/zz_stream"
    );
    browser.type_into("input[name=capacity]", "12").await;
    browser.click("form.stack-form button[type=submit]").await;
    browser.wait_for("table.registry-table").await;
    assert_eq!(browser.current_path().await, "/settings/streams");
    let names = browser
        .find_all_text("table.registry-table td:first-child")
        .await;
    assert!(names.iter().any(|name| name == "zz_stream"), "{names:?}");
    let capacity: Option<i32> =
        sqlx::query_scalar("SELECT capacity FROM stream_registry WHERE code = 'zz_stream'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(capacity, Some(12));
    browser
        .screenshot("target/screenshots/streams-registry.png")
        .await;
}
