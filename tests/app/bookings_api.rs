//! The bookings JSON API, against API.md: shapes, filters, aggregates checked
//! against independent counts, every listed error, and concurrent edits.

use hsl_dashboard::domain::role::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

/// Known rows: user 101 is in `users`, 102 only has bookings, 103 only
/// events; 104 is nobody. Course 2 exists with no bookings.
pub async fn fixture(app: &TestApp) {
    sqlx::raw_sql(
        "INSERT INTO courses (id, name, button_text) VALUES (2, 'Python', 'Python');
         INSERT INTO users (user_id, username, first_name, first_seen_at, updated_at)
           VALUES (101, 'anna', 'Анна', '2026-10-30 09:00', '2026-10-30 09:00');
         INSERT INTO events (user_id, event_type, created_at) VALUES (103, 'start_command', '2026-10-31 09:00+00');
         UPDATE stream_registry SET capacity = 2 WHERE code = '7th_stream';
         INSERT INTO bookings (id, user_id, username, first_name, course_id, confirmed, created_at, course_stream, referral_code, discount_percent) VALUES
           (1, 101, 'anna', 'Анна', 1, 0,    '2026-11-01 10:00+00', '8th_stream', NULL, 0),
           (2, 101, 'anna', 'Анна', 1, 2,    '2026-11-01 11:00+00', '7th_stream', 'FRIEND10', 10),
           (3, 101, 'anna', 'Анна', 1, -1,   '2026-11-01 12:00+00', NULL, NULL, 0),
           (4, 102, 'boris', 'Борис', 1, 1,  '2026-11-01 13:00+00', '8th_stream', NULL, 0),
           (5, 102, 'boris', 'Борис', 1, NULL, '2026-11-01 14:00+00', 'zz_stream', NULL, NULL),
           (6, 102, 'boris', 'Борис', 1, 5,  '2026-11-01 15:00+00', '8th_stream', NULL, 0),
           (7, 105, 'vera', 'Вера', 1, 2,    '2026-11-01 16:00+00', '7th_stream', NULL, 0);
         SELECT setval(pg_get_serial_sequence('bookings', 'id'), 7);",
    )
    .execute(&app.pool)
    .await
    .unwrap();
}

struct Caller {
    token: String,
}

impl Caller {
    async fn send(
        &self,
        app: &TestApp,
        method: Method,
        path: &str,
        body: Option<&str>,
    ) -> (StatusCode, Value, reqwest::header::HeaderMap) {
        let mut request = app
            .client
            .request(method, app.url(path))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_owned());
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, json, headers)
    }

    async fn get(&self, app: &TestApp, path: &str) -> (StatusCode, Value) {
        let (status, body, _) = self.send(app, Method::GET, path, None).await;
        (status, body)
    }

    async fn patch(&self, app: &TestApp, path: &str, body: Value) -> (StatusCode, Value) {
        let (status, body, _) = self
            .send(app, Method::PATCH, path, Some(&body.to_string()))
            .await;
        (status, body)
    }
}

async fn setup() -> (TestApp, Caller, Caller) {
    let app = spawn_app().await;
    fixture(&app).await;
    let viewer = Caller {
        token: app.token(Role::Viewer).await,
    };
    let editor = Caller {
        token: app.token(Role::Editor).await,
    };
    (app, viewer, editor)
}

fn ids(body: &Value) -> Vec<i64> {
    body.as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn latest_bookings_have_the_contract_shape_and_filters() {
    let (app, viewer, _) = setup().await;
    let (status, body, headers) = viewer.send(&app, Method::GET, "/api/bookings", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-total-count"], "7");
    assert_eq!(ids(&body), [7, 6, 5, 4, 3, 2, 1], "newest first");
    let second = &body.as_array().unwrap()[5];
    let mut keys: Vec<&str> = second
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "confirmed",
            "course_id",
            "course_name",
            "course_stream",
            "course_stream_name",
            "created_at",
            "discount_percent",
            "first_name",
            "id",
            "referral_code",
            "status",
            "user_id",
            "username"
        ]
    );
    assert_eq!(
        *second,
        json!({
            "id": 2, "user_id": 101, "username": "anna", "first_name": "Анна",
            "course_id": 1, "course_name": "Вайб кодинг", "course_stream": "7th_stream",
            "course_stream_name": "7-й поток", "confirmed": 2, "status": "confirmed",
            "created_at": "2026-11-01T11:00:00.000Z", "referral_code": "FRIEND10",
            "discount_percent": 10
        })
    );
    let by_id = |id: i64| {
        body.as_array()
            .unwrap()
            .iter()
            .find(|b| b["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(
        by_id(5)["course_stream_name"],
        "zz_stream",
        "unregistered: the raw code"
    );
    assert_eq!(by_id(5)["status"], "unknown");
    assert_eq!(by_id(5)["confirmed"], Value::Null);
    assert_eq!(by_id(6)["status"], "unknown", "5 is not a status");
    assert_eq!(by_id(3)["course_stream_name"], Value::Null);
    assert_eq!(by_id(3)["status"], "cancelled");
    assert_eq!(by_id(4)["status"], "pending");
    assert_eq!(by_id(1)["status"], "new");

    for (query, expected, total) in [
        ("?limit=2", vec![7, 6], "7"),
        ("?limit=2&offset=2", vec![5, 4], "7"),
        ("?status=2", vec![7, 2], "2"),
        ("?status=-1", vec![3], "1"),
        ("?stream=8th_stream", vec![6, 4, 1], "3"),
        ("?user_id=101&status=0", vec![1], "1"),
        ("?course_id=2", vec![], "0"),
        ("?limit=200&unknown=param", vec![7, 6, 5, 4, 3, 2, 1], "7"),
    ] {
        let (status, body, headers) = viewer
            .send(&app, Method::GET, &format!("/api/bookings{query}"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{query}");
        assert_eq!(ids(&body), expected, "{query}");
        assert_eq!(headers["x-total-count"], total, "{query}");
    }

    let limit_error = json!({"error": "limit must be an integer between 1 and 200"});
    for bad in ["0", "201", "12abc", "1.5", "", "-1", "+5", "%201"] {
        let (status, body) = viewer
            .get(&app, &format!("/api/bookings?limit={bad}"))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "limit={bad}");
        assert_eq!(body, limit_error, "limit={bad}");
    }
    for (query, message) in [
        ("offset=-1", "offset must be a non-negative integer"),
        ("offset=x", "offset must be a non-negative integer"),
        ("status=3", "status must be one of -1, 0, 1, 2"),
        ("status=confirmed", "status must be one of -1, 0, 1, 2"),
        ("course_id=0", "course_id must be a positive integer"),
        ("user_id=abc", "user_id must be a positive integer"),
    ] {
        let (status, body) = viewer.get(&app, &format!("/api/bookings?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(body, json!({"error": message}), "{query}");
    }
    let (status, body) = viewer.get(&app, "/api/bookings?stream=bad%20code").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("stream code"));
}

#[derive(sqlx::FromRow, Debug)]
struct Expected {
    course_stream: String,
    total: i64,
    confirmed: i64,
    pending: i64,
    cancelled: i64,
    new: i64,
}

#[tokio::test]
async fn stream_and_course_counts_match_independent_counts() {
    let (app, viewer, _) = setup().await;
    let (status, body) = viewer.get(&app, "/api/course-streams").await;
    assert_eq!(status, StatusCode::OK);
    let rows = body.as_array().unwrap();
    let codes: Vec<&str> = rows
        .iter()
        .map(|r| r["courseStreamRaw"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "3rd_stream",
            "4th_stream",
            "5th_stream",
            "6th_stream",
            "7th_stream",
            "8th_stream",
            "mentoring",
            "zz_stream"
        ],
        "registered streams without bookings too, in natural order"
    );
    // Independently: one query per stream, no GROUP BY shared with the app.
    let expected: Vec<Expected> = sqlx::query_as(
        "SELECT s.code AS course_stream, \
            (SELECT count(*) FROM bookings WHERE course_stream = s.code) AS total, \
            (SELECT count(*) FROM bookings WHERE course_stream = s.code AND confirmed = 2) AS confirmed, \
            (SELECT count(*) FROM bookings WHERE course_stream = s.code AND confirmed = 1) AS pending, \
            (SELECT count(*) FROM bookings WHERE course_stream = s.code AND confirmed = -1) AS cancelled, \
            (SELECT count(*) FROM bookings WHERE course_stream = s.code AND confirmed = 0) AS new \
         FROM (SELECT code FROM stream_registry UNION SELECT course_stream FROM bookings \
               WHERE course_stream IS NOT NULL) s",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    for row in rows {
        let code = row["courseStreamRaw"].as_str().unwrap();
        let want = expected.iter().find(|e| e.course_stream == code).unwrap();
        assert_eq!(row["total"], want.total, "{code}");
        assert_eq!(row["confirmed"], want.confirmed, "{code}");
        assert_eq!(row["pending"], want.pending, "{code}");
        assert_eq!(row["cancelled"], want.cancelled, "{code}");
        assert_eq!(row["new"], want.new, "{code}");
        let sum: i64 = ["confirmed", "pending", "cancelled", "new", "unknown"]
            .iter()
            .map(|k| row[*k].as_i64().unwrap())
            .sum();
        assert_eq!(
            row["total"], sum,
            "{code}: total is the sum, unknown included"
        );
    }
    let eighth = rows
        .iter()
        .find(|r| r["courseStreamRaw"] == "8th_stream")
        .unwrap();
    // API.md's fields exactly; the rest are the documented additions.
    let documented = json!({
        "courseId": 1, "courseName": "Вайб кодинг", "courseStream": "8-й поток",
        "courseStreamRaw": "8th_stream", "total": 3, "confirmed": 0, "pending": 1,
        "cancelled": 0, "new": 1, "unknown": 1, "conversion": 0.0, "capacity": null,
        "startsOn": null, "isCurrent": true
    });
    let object = eighth.as_object().unwrap();
    for (key, value) in documented.as_object().unwrap() {
        assert_eq!(&object[key], value, "{key}");
    }
    let mut added: Vec<&str> = object
        .keys()
        .map(String::as_str)
        .filter(|key| !documented.as_object().unwrap().contains_key(*key))
        .collect();
    added.sort_unstable();
    assert_eq!(
        added,
        [
            "overCapacity",
            "people",
            "peopleCancelled",
            "peopleConfirmed",
            "peopleNew",
            "peoplePending",
            "peopleUnknown",
            "placesTaken",
            "stalePending",
            "stalePendingDays"
        ]
    );
    let seventh = rows
        .iter()
        .find(|r| r["courseStreamRaw"] == "7th_stream")
        .unwrap();
    assert_eq!(seventh["conversion"], 100.0);
    assert_eq!(seventh["capacity"], 2);
    let zz = rows
        .iter()
        .find(|r| r["courseStreamRaw"] == "zz_stream")
        .unwrap();
    assert_eq!(zz["courseStream"], "zz_stream");
    assert_eq!(zz["unknown"], 1);

    let (status, body) = viewer.get(&app, "/api/courses").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!([
            {"courseId": 1, "courseName": "Вайб кодинг", "total": 7, "confirmed": 2,
             "pending": 1, "cancelled": 1, "new": 1, "unknown": 2},
            {"courseId": 2, "courseName": "Python", "total": 0, "confirmed": 0,
             "pending": 0, "cancelled": 0, "new": 0, "unknown": 0}
        ])
    );
}

#[tokio::test]
async fn a_users_bookings_and_id_errors() {
    let (app, viewer, _) = setup().await;
    let (status, body) = viewer.get(&app, "/api/users/101/bookings").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["success"], true);
    let bookings = body["bookings"].as_array().unwrap();
    assert_eq!(ids(&body["bookings"]), [3, 2, 1]);
    assert!(
        bookings[0]["version"]
            .as_str()
            .is_some_and(|v| !v.is_empty())
    );
    assert!(bookings[0].get("username").is_none());
    assert_eq!(bookings[1]["course_stream_name"], "7-й поток");

    let (status, body) = viewer.get(&app, "/api/users/103/bookings").await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({"success": true, "bookings": []})),
        "known from events only"
    );
    let (status, body) = viewer.get(&app, "/api/users/104/bookings").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, json!({"success": false, "error": "User not found"}));
    for bad in ["abc", "0", "-5", "1.5", "99999999999999999999"] {
        let (status, body) = viewer
            .get(&app, &format!("/api/users/{bad}/bookings"))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(
            body,
            json!({"success": false, "error": "Invalid user ID"}),
            "{bad}"
        );
    }
}

async fn version_of(app: &TestApp, booking: i64) -> String {
    sqlx::query_scalar("SELECT xmin::text FROM bookings WHERE id = $1")
        .bind(booking as i32)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn booking_changes_follow_the_rules_and_are_audited() {
    let (app, viewer, editor) = setup().await;
    let path = "/api/users/101/bookings";

    // Viewers can't; sessions need CSRF (checked in auth.rs).
    let (status, body) = viewer
        .patch(
            &app,
            path,
            json!({"bookingId": 1, "updates": {"confirmed": 1}}),
        )
        .await;
    assert_eq!(
        (status, body),
        (StatusCode::FORBIDDEN, json!({"error": "forbidden"}))
    );

    let version = version_of(&app, 1).await;
    let (status, body) = editor
        .patch(&app, path, json!({"bookingId": 1, "updates": {"confirmed": 1, "discount_percent": 15, "referral_code": "SPRING-25"}, "version": version}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["message"], "Booking updated successfully");
    assert_eq!(body["booking"]["status"], "pending");
    assert_eq!(body["booking"]["discount_percent"], 15);
    assert_eq!(body["booking"]["referral_code"], "SPRING-25");
    assert_ne!(body["booking"]["version"], version, "the version moved");

    let audit: (String, String, Value, Value) = sqlx::query_as(
        "SELECT actor, entity_id, before, after FROM audit_log WHERE action = 'booking.update' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(audit.0.starts_with("token:test-editor-"), "{}", audit.0);
    assert_eq!(audit.1, "1");
    assert_eq!(audit.2["confirmed"], 0);
    assert_eq!(audit.3["confirmed"], 1);
    assert_eq!(audit.3["discount_percent"], 15);
    assert_eq!(audit.3["user_id"], 101);

    // The old version is stale now.
    let (status, body) = editor
        .patch(
            &app,
            path,
            json!({"bookingId": 1, "updates": {"confirmed": 2}, "version": version}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        body,
        json!({"success": false, "error": "Booking was changed by someone else; reload"})
    );

    // Disallowed transitions name both states.
    let (status, body) = editor
        .patch(
            &app,
            path,
            json!({"bookingId": 2, "updates": {"confirmed": 1}}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        body["error"],
        "cannot change booking status from confirmed to pending"
    );
    // Refund and reinstate are allowed.
    for (target, name) in [(-1, "cancelled"), (1, "pending")] {
        let (status, body) = editor
            .patch(
                &app,
                path,
                json!({"bookingId": 2, "updates": {"confirmed": target}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["booking"]["status"], name);
    }

    // Another user's booking is not found; no active booking is a 400.
    let (status, body) = editor
        .patch(
            &app,
            path,
            json!({"bookingId": 4, "updates": {"confirmed": 2}}),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::NOT_FOUND,
            json!({"success": false, "error": "Booking not found"})
        )
    );
    sqlx::query("UPDATE bookings SET confirmed = -1 WHERE user_id = 105")
        .execute(&app.pool)
        .await
        .unwrap();
    let (status, body) = editor
        .patch(
            &app,
            "/api/users/105/bookings",
            json!({"bookingId": null, "updates": {"discount_percent": 5}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"success": false, "error": "У пользователя нет активных бронирований"})
    );
    // bookingId null: the latest booking that is not cancelled (1 or 2 → 2 is pending now, newer).
    let (status, body) = editor
        .patch(&app, path, json!({"updates": {"discount_percent": null}}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["booking"]["id"], 2);
    assert_eq!(body["booking"]["discount_percent"], Value::Null);

    // Bad bodies: 400 with a reason, never a 500.
    for (raw, needle) in [
        ("{not json", "invalid JSON body"),
        ("[1, 2]", "body must be a JSON object"),
        ("", "invalid JSON body"),
        (r#"{"bookingId": 1}"#, "updates must be an object"),
        (
            r#"{"bookingId": 1, "updates": {}}"#,
            "updates must be an object",
        ),
        (
            r#"{"bookingId": "1", "updates": {"confirmed": 2}}"#,
            "bookingId must be a positive integer",
        ),
        (
            r#"{"bookingId": -4, "updates": {"confirmed": 2}}"#,
            "bookingId must be a positive integer",
        ),
        (
            r#"{"bookingId": 1, "updates": {"confirmed": 0}}"#,
            "confirmed must be one of -1, 1, 2",
        ),
        (
            r#"{"bookingId": 1, "updates": {"confirmed": "2"}}"#,
            "confirmed must be one of -1, 1, 2",
        ),
        (
            r#"{"bookingId": 1, "updates": {"discount_percent": 101}}"#,
            "discount_percent must be an integer between 0 and 100",
        ),
        (
            r#"{"bookingId": 1, "updates": {"discount_percent": 1.5}}"#,
            "discount_percent must be an integer between 0 and 100",
        ),
        (
            r#"{"bookingId": 1, "updates": {"referral_code": "has space"}}"#,
            "referral_code must be",
        ),
        (
            r#"{"bookingId": 1, "updates": {"referral_code": ""}}"#,
            "referral_code must be",
        ),
        (
            r#"{"bookingId": 1, "updates": {"course_stream": 8}}"#,
            "course_stream must be a stream code or null",
        ),
        (
            r#"{"bookingId": 1, "updates": {"course_stream": "nope_stream"}}"#,
            "unknown stream",
        ),
        (
            r#"{"bookingId": 1, "updates": {"colour": "red"}}"#,
            "unknown field in updates: colour",
        ),
        (
            r#"{"bookingId": 1, "updates": {"confirmed": 2}, "version": 5}"#,
            "version must be a string or null",
        ),
        (
            r#"{"bookingId": 1, "updates": {"confirmed": 2}, "force": "yes"}"#,
            "force must be a boolean",
        ),
    ] {
        let (status, body, _) = editor.send(&app, Method::PATCH, path, Some(raw)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{raw}: {body}");
        assert_eq!(body["success"], false, "{raw}");
        assert!(
            body["error"].as_str().unwrap().contains(needle),
            "{raw}: {body}"
        );
    }
    let changes: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE entity_type = 'booking'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        changes, 4,
        "one audit row per successful change, none for refusals"
    );

    // Capacity: 7th_stream holds 2 and has 105's (cancelled now) and 101's booking 2.
    sqlx::query("UPDATE bookings SET confirmed = 2 WHERE user_id = 105")
        .execute(&app.pool)
        .await
        .unwrap();
    let (status, body) = editor
        .patch(
            &app,
            path,
            json!({"bookingId": 1, "updates": {"course_stream": "7th_stream"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["error"].as_str().unwrap().contains("full"));
    let (status, body) = editor
        .patch(
            &app,
            path,
            json!({"bookingId": 1, "updates": {"course_stream": "7th_stream"}, "force": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["booking"]["course_stream_name"], "7-й поток");
    let (status, body) = editor
        .patch(
            &app,
            path,
            json!({"bookingId": 1, "updates": {"course_stream": null}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["booking"]["course_stream"], Value::Null);

    let (status, body) = editor
        .patch(
            &app,
            "/api/users/104/bookings",
            json!({"updates": {"confirmed": 2}}),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::NOT_FOUND,
            json!({"success": false, "error": "User not found"})
        )
    );
    let (status, body) = editor
        .patch(
            &app,
            "/api/users/x/bookings",
            json!({"updates": {"confirmed": 2}}),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            json!({"success": false, "error": "Invalid user ID"})
        )
    );
}

#[tokio::test]
async fn moving_a_user_to_another_stream() {
    let (app, _, editor) = setup().await;
    let path = "/api/users/102/stream";
    // 102's latest non-cancelled booking is 6 (8th_stream).
    let (status, body) = editor
        .patch(&app, path, json!({"newStream": "8th_stream"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        body,
        json!({"success": false, "error": "Пользователь уже находится в этом потоке"})
    );
    let (status, body) = editor
        .patch(&app, path, json!({"newStream": "mentoring"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"success": true, "message": "Stream updated successfully", "bookingId": 6})
    );
    let stream: String = sqlx::query_scalar("SELECT course_stream FROM bookings WHERE id = 6")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stream, "mentoring");
    let action: String = sqlx::query_scalar("SELECT action FROM audit_log WHERE entity_id = '6'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(action, "booking.move");
    for (body, needle) in [
        (json!({}), "newStream must be a stream code"),
        (json!({"newStream": 8}), "newStream must be a stream code"),
        (json!({"newStream": "no_such"}), "unknown stream"),
        (
            json!({"newStream": "7th_stream", "force": 1}),
            "force must be a boolean",
        ),
    ] {
        let (status, response) = editor.patch(&app, path, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            response["error"].as_str().unwrap().contains(needle),
            "{body}: {response}"
        );
    }
    let (status, _) = editor
        .patch(
            &app,
            "/api/users/104/stream",
            json!({"newStream": "mentoring"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Two editors change the same booking from the same version at once:
/// exactly one wins, the other is told to reload.
#[tokio::test]
async fn concurrent_edits_cannot_both_win() {
    let (app, _, editor) = setup().await;
    let other = Caller {
        token: app.token(Role::Editor).await,
    };
    for round in 0..5 {
        sqlx::query("UPDATE bookings SET confirmed = 0 WHERE id = 1")
            .execute(&app.pool)
            .await
            .unwrap();
        let version = version_of(&app, 1).await;
        let path = "/api/users/101/bookings";
        let (a, b) = tokio::join!(
            editor.patch(
                &app,
                path,
                json!({"bookingId": 1, "updates": {"confirmed": 1}, "version": version})
            ),
            other.patch(
                &app,
                path,
                json!({"bookingId": 1, "updates": {"confirmed": 2}, "version": version})
            ),
        );
        let mut statuses = [a.0, b.0];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::OK, StatusCode::CONFLICT],
            "round {round}: {a:?} {b:?}"
        );
        let loser = if a.0 == StatusCode::CONFLICT {
            a.1
        } else {
            b.1
        };
        assert_eq!(
            loser["error"],
            "Booking was changed by someone else; reload"
        );
    }
}
