//! A stream belongs to a course: the bot writes `4th_stream` for course 1
//! and course 2 alike, and each is registered, listed, paged, filtered and
//! moved into on its own. A code alone is resolved when one course has it
//! and refused with a 400 naming the courses when several do.

use hsl_dashboard::domain::role::Role;
use hsl_dashboard::store::MIGRATOR;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, empty_database, spawn_app};
use crate::streams_registry::call;

/// Course 2 «Вайбкодинг PRO» next to course 1. `4th_stream` (registered for
/// course 1 by the migrations) holds 301 and 302 of course 1 and 303 of
/// course 2; 304 of course 2 is in `3rd_stream`. Course 2's `4th_stream`
/// is not registered yet.
async fn fixture(app: &TestApp) {
    sqlx::raw_sql(
        "INSERT INTO courses (id, name, button_text) VALUES (2, 'Вайбкодинг PRO', 'PRO');
         INSERT INTO bookings (id, user_id, username, first_name, course_id, confirmed, created_at, course_stream) VALUES
           (31, 301, 'anna', 'Анна', 1, 1, '2026-11-01 10:00+00', '4th_stream'),
           (32, 302, 'boris', 'Борис', 1, 2, '2026-11-01 11:00+00', '4th_stream'),
           (33, 303, 'vera', 'Вера', 2, 0, '2026-11-01 12:00+00', '4th_stream'),
           (34, 304, 'gleb', 'Глеб', 2, 2, '2026-11-01 13:00+00', '3rd_stream');
         SELECT setval(pg_get_serial_sequence('bookings', 'id'), 40);",
    )
    .execute(&app.pool)
    .await
    .unwrap();
}

fn ids(list: &Value, key: &str) -> Vec<i64> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|row| row[key].as_i64().unwrap())
        .collect()
}

async fn html(
    app: &TestApp,
    session: &crate::helpers::Session,
    path: &str,
) -> (StatusCode, String) {
    let response = app.get_as(session, path).await;
    (response.status(), response.text().await.unwrap())
}

#[tokio::test]
async fn course_twos_4th_stream_is_registered_and_changed_on_its_own() {
    let app = spawn_app().await;
    fixture(&app).await;
    let editor = app.token(Role::Editor).await;

    let (status, created) = call(
        &app,
        &editor,
        Method::POST,
        "/api/streams",
        Some(r#"{"code":"4th_stream","courseId":2,"displayName":"PRO, 4-й поток","capacity":1}"#),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["courseId"], 2);
    let (status, again) = call(
        &app,
        &editor,
        Method::POST,
        "/api/streams",
        Some(r#"{"code":"4th_stream","courseId":2,"displayName":"Ещё раз"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");

    // Course 2's 3rd_stream, found only in its bookings, is adopted for
    // course 2 although course 1 has the code registered.
    let session = app.login_as(Role::Editor).await;
    let (_, page) = html(&app, &session, "/settings/streams").await;
    assert!(
        page.contains(r#"action="/settings/streams/2/3rd_stream/adopt""#),
        "course 2's 3rd_stream is offered for adoption"
    );
    assert!(!page.contains(r#"action="/settings/streams/1/3rd_stream/adopt""#));

    // A code two courses have needs its course.
    let (status, answer) = call(
        &app,
        &editor,
        Method::PATCH,
        "/api/streams/4th_stream",
        Some(r#"{"archived":true}"#),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(
        answer["error"],
        "courses 1, 2 each have a stream 4th_stream: send course_id too"
    );
    let (status, changed) = call(
        &app,
        &editor,
        Method::PATCH,
        "/api/streams/4th_stream?course_id=2",
        Some(r#"{"displayName":"PRO-4"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    let names: Vec<(i32, String)> = sqlx::query_as(
        "SELECT course_id, display_name FROM stream_registry WHERE code = '4th_stream' \
         ORDER BY course_id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        names,
        [(1, "4-й поток".to_owned()), (2, "PRO-4".to_owned())],
        "course 1's entry is untouched"
    );
    // An unambiguous code still works without one; a wrong course is 404.
    let (status, _) = call(
        &app,
        &editor,
        Method::PATCH,
        "/api/streams/8th_stream",
        Some(r#"{"capacity":50}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(
        &app,
        &editor,
        Method::PATCH,
        "/api/streams/8th_stream?course_id=2",
        Some(r#"{"capacity":50}"#),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for bad in ["0", "x", "1.5", ""] {
        let (status, answer) = call(
            &app,
            &editor,
            Method::PATCH,
            &format!("/api/streams/4th_stream?course_id={bad}"),
            Some(r#"{"capacity":50}"#),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {answer}");
    }

    // Each course's stream has its own capacity: course 2's is full (Вера),
    // course 1's is not limited.
    let (status, refused) = call(
        &app,
        &editor,
        Method::PATCH,
        "/api/users/304/bookings",
        Some(r#"{"bookingId":34,"updates":{"course_stream":"4th_stream"}}"#),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    let (status, moved) = call(
        &app,
        &editor,
        Method::PATCH,
        "/api/users/304/bookings",
        Some(r#"{"bookingId":34,"updates":{"course_stream":"4th_stream"},"force":true}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["booking"]["course_stream"], "4th_stream");
    assert_eq!(moved["booking"]["course_stream_name"], "PRO-4");
    let (status, moved) = call(
        &app,
        &editor,
        Method::PATCH,
        "/api/users/304/stream",
        Some(r#"{"newStream":"3rd_stream"}"#),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "course 2's 3rd_stream is not registered: {moved}"
    );

    // The registry page lists both, each edited at its own address.
    let (status, page) = html(&app, &session, "/settings/streams").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"href="/settings/streams/2/4th_stream""#));
    assert!(page.contains(r#"href="/settings/streams/1/4th_stream""#));
    assert!(
        !page.contains(r#"action="/settings/streams/2/3rd_stream/adopt""#),
        "course 2's 3rd_stream has no bookings left to adopt"
    );
    let (status, page) = html(&app, &session, "/settings/streams/2/4th_stream").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("PRO-4"));
    let (status, _) = html(&app, &session, "/settings/streams/2/8th_stream").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn each_courses_stream_is_paged_and_filtered_apart() {
    let app = spawn_app().await;
    fixture(&app).await;
    let viewer = app.token(Role::Viewer).await;
    let session = app.login_as(Role::Viewer).await;

    // Pages: one per course; the old address redirects or offers both.
    let (status, one) = html(&app, &session, "/workshops/1/4th_stream").await;
    assert_eq!(status, StatusCode::OK);
    let (status, two) = html(&app, &session, "/workshops/2/4th_stream").await;
    assert_eq!(status, StatusCode::OK);
    assert!(one.contains("data-user=\"301\"") && one.contains("data-user=\"302\""));
    assert!(!one.contains("data-user=\"303\""));
    assert!(two.contains("data-user=\"303\"") && !two.contains("data-user=\"301\""));
    assert!(two.contains("Курс: Вайбкодинг PRO") && two.contains("незарегистрированный"));
    let csv = app
        .get_as(&session, "/workshops/2/4th_stream/students.csv")
        .await;
    assert_eq!(
        csv.headers()["content-disposition"],
        "attachment; filename=\"stream-2-4th_stream-all.csv\""
    );
    let body = csv.text().await.unwrap();
    assert_eq!(body.lines().count(), 2, "{body}");
    assert!(body.lines().nth(1).unwrap().starts_with("303;"));

    let workshops = html(&app, &session, "/workshops").await.1;
    assert!(workshops.contains("href=\"/workshops/2/4th_stream\""));
    assert!(workshops.contains("href=\"/workshops/1/4th_stream\""));

    let legacy = app
        .get_as(&session, "/workshops/stream/4th_stream?status=new")
        .await;
    assert_eq!(legacy.status(), StatusCode::MULTIPLE_CHOICES);
    let choice = legacy.text().await.unwrap();
    assert!(choice.contains("href=\"/workshops/1/4th_stream?status=new\""));
    assert!(choice.contains("href=\"/workshops/2/4th_stream?status=new\""));
    for (old, new) in [
        ("/workshops/stream/8th_stream", "/workshops/1/8th_stream"),
        (
            "/workshops/stream/8th_stream?status=confirmed&page=2",
            "/workshops/1/8th_stream?status=confirmed&page=2",
        ),
        (
            "/workshops/stream/5th_stream/students.csv",
            "/workshops/1/5th_stream/students.csv",
        ),
    ] {
        let response = app.get_as(&session, old).await;
        assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT, "{old}");
        assert_eq!(response.headers()["location"], new, "{old}");
    }
    assert_eq!(
        app.get_as(&session, "/workshops/stream/nope")
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get_as(&session, "/workshops/stream/a%20b")
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );

    // JSON: a code alone is refused where two courses have it.
    let ambiguous = "courses 1, 2 each have a stream 4th_stream: send course_id too";
    for path in [
        "/api/bookings?stream=4th_stream",
        "/api/stream-students?stream=4th_stream",
    ] {
        let (status, body) = crate::analytics::get_json(&app, &viewer, path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["error"], ambiguous, "{path}");
    }
    let (status, body) =
        crate::analytics::get_json(&app, &viewer, "/api/users?stream=4th_stream").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"success": false, "error": ambiguous}));

    let response = app
        .client
        .get(app.url("/api/bookings?stream=4th_stream&course_id=2"))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-total-count"], "1");
    let body: Value = response.json().await.unwrap();
    assert_eq!(ids(&body, "id"), [33]);
    let (_, body) =
        crate::analytics::get_json(&app, &viewer, "/api/bookings?stream=8th_stream").await;
    assert_eq!(
        ids(&body, "id"),
        Vec::<i64>::new(),
        "one course has it: no 400"
    );
    let (_, body) = crate::analytics::get_json(
        &app,
        &viewer,
        "/api/stream-students?stream=4th_stream&course_id=1",
    )
    .await;
    assert_eq!(ids(&body["students"], "userId"), [302, 301]);
    assert_eq!(body["stream"]["courseId"], 1);
    for (query, expected) in [
        ("stream=2:4th_stream", vec![303]),
        ("stream=4th_stream&course_id=1", vec![301, 302]),
        ("stream=1:4th_stream&status=2", vec![302]),
        ("stream=3rd_stream&course_id=2", vec![304]),
    ] {
        let (status, body) =
            crate::analytics::get_json(&app, &viewer, &format!("/api/users?{query}&sort=id")).await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        assert_eq!(ids(&body["users"], "user_id"), expected, "{query}");
    }

    // Audiences: the same rule, and a stream named with its course.
    let admin = app.token(Role::Admin).await;
    let body = |streams: Value| {
        json!({
            "audience": {"kind": "stream", "streams": streams, "statuses": [0, 1, 2]},
            "content": {"type": "text", "text": "Привет"},
        })
        .to_string()
    };
    let preview = |streams: Value| {
        let body = body(streams);
        let (app, admin) = (&app, &admin);
        async move {
            call(
                app,
                admin,
                Method::POST,
                "/api/messages/preview",
                Some(&body),
            )
            .await
        }
    };
    let (status, answer) = preview(json!(["4th_stream"])).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer["errors"][0]["error"],
        "several courses have these streams; name the course: \
         4th_stream (one of 1:4th_stream, 2:4th_stream)"
    );
    let (_, answer) = preview(json!(["2:4th_stream"])).await;
    assert_eq!(answer["errors"], json!([]), "{answer}");
    assert_eq!(answer["recipient_count"], 1);
    let (_, answer) = preview(json!(["1:4th_stream", "2:4th_stream"])).await;
    assert_eq!(answer["recipient_count"], 3);
    let (_, answer) = preview(json!(["3:4th_stream"])).await;
    assert_eq!(
        answer["errors"][0]["error"],
        "unknown streams: 3:4th_stream"
    );

    let (status, refused) = call(
        &app,
        &admin,
        Method::POST,
        "/api/messages",
        Some(&body(json!(["4th_stream"]))),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["ambiguous_streams"], json!({"4th_stream": [1, 2]}));
    let (status, created) = call(
        &app,
        &admin,
        Method::POST,
        "/api/messages",
        Some(&body(json!(["8th_stream", "2:4th_stream"]))),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["recipient_count"], 1, "8th_stream is empty; Вера");
    let stored: Value = sqlx::query_scalar("SELECT audience FROM message_history WHERE id = $1")
        .bind(created["id"].as_i64().unwrap() as i32)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        stored["streams"],
        json!(["1:8th_stream", "2:4th_stream"]),
        "stored with each stream's course"
    );
    let (status, created) = call(
        &app,
        &admin,
        Method::POST,
        "/api/messages",
        Some(&body(json!(["2:4th_stream", "3rd_stream"]))),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{created}");
    assert_eq!(created["ambiguous_streams"], json!({"3rd_stream": [1, 2]}));
}

#[tokio::test]
async fn the_registry_keeps_its_rows_when_it_is_keyed_by_course() {
    let db = empty_database().await;
    let pool = db.pool().await;
    sqlx::raw_sql(include_str!("../fixtures/bot_schema.sql"))
        .execute(&pool)
        .await
        .unwrap();
    // Every migration before the key changed, then rows as staff left them.
    for migration in MIGRATOR.iter().filter(|m| m.version < 15) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(migration.sql.as_str().to_owned()))
            .execute(&pool)
            .await
            .unwrap_or_else(|err| panic!("{}: {err}", migration.version));
    }
    sqlx::raw_sql(
        "INSERT INTO courses (id, name, button_text) VALUES (2, 'PRO', 'PRO');
         UPDATE stream_registry SET starts_on = '2026-09-01', capacity = 40 WHERE code = '8th_stream';
         INSERT INTO stream_registry (code, course_id, display_name, archived)
           VALUES ('pro_1', 2, 'PRO первый', true);",
    )
    .execute(&pool)
    .await
    .unwrap();
    let rows = "SELECT course_id, code, display_name, starts_on::text, capacity, is_current, \
                archived, created_at::text FROM stream_registry ORDER BY course_id, code";
    type Row = (
        i32,
        String,
        String,
        Option<String>,
        Option<i32>,
        bool,
        bool,
        String,
    );
    let before: Vec<Row> = sqlx::query_as(rows).fetch_all(&pool).await.unwrap();
    assert_eq!(before.len(), 8);

    let key_change = MIGRATOR.iter().find(|m| m.version == 15).unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(key_change.sql.as_str().to_owned()))
        .execute(&pool)
        .await
        .unwrap();
    let after: Vec<Row> = sqlx::query_as(rows).fetch_all(&pool).await.unwrap();
    assert_eq!(after, before, "every row kept as it was");
    let key: Vec<String> = sqlx::query_scalar(
        "SELECT a.attname::text FROM pg_index i \
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
         WHERE i.indrelid = 'stream_registry'::regclass AND i.indisprimary \
         ORDER BY array_position(i.indkey, a.attnum)",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(key, ["course_id", "code"]);
    // Course 2 can now have the code course 1 has.
    sqlx::query(
        "INSERT INTO stream_registry (code, course_id, display_name) VALUES ('4th_stream', 2, 'PRO 4')",
    )
    .execute(&pool)
    .await
    .unwrap();
}
