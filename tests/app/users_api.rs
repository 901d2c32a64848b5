//! `GET /api/users` and `GET /api/users/{id}`: search by every field, people
//! known only from events or registrations, filters and page totals checked
//! against counts computed here with independent SQL, and every bad parameter.

use hsl_dashboard::domain::role::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::bookings_api::fixture;
use crate::helpers::{TestApp, spawn_app};

/// On top of the bookings fixture (101 in `users`, 102 and 105 only in
/// bookings, 103 only in events): 110 and 111 in `users`; 120 only in events
/// (names in `details`); 130 only a free-lesson lead; 140 only a hackathon
/// registration; 150 and 151 for LIKE wildcards; 160 booked as `old_nick`
/// and later wrote to the bot as `new_nick`.
pub async fn people(app: &TestApp) {
    fixture(app).await;
    sqlx::raw_sql(
        r#"INSERT INTO users (user_id, username, first_name, last_name, first_seen_at, updated_at) VALUES
           (110, 'petr_k', 'Пётр', 'Кузнецов', '2026-10-01 00:00', '2026-10-02 00:00'),
           (111, NULL, 'Ольга', 'Смирнова', '2026-10-01 00:00', '2026-11-30 00:00'),
           (150, 'a_b', '100%', NULL, '2026-10-01 00:00', '2026-10-01 00:00'),
           (151, 'axb', 'Сто', NULL, '2026-10-01 00:00', '2026-10-01 00:00');
         INSERT INTO events (user_id, event_type, details, created_at) VALUES
           (120, 'start_command', '{"username":"zoya_v","first_name":"Зоя"}', '2026-11-05 10:00+00'),
           (120, 'view_program', '{"course_id":"1"}', '2026-11-06 10:00+00'),
           (160, 'start_command', '{"username":"new_nick","first_name":"Новый"}', '2026-11-10 10:00+00'),
           (101, 'view_program', '{"course_id":"1"}', '2026-12-01 10:00+00');
         INSERT INTO free_lesson_registrations (user_id, username, first_name, email, registered_at, lesson_date) VALUES
           (130, 'lena_fl', 'Лена', 'lena@example.org', '2026-11-07 10:00+00', '2026-11-20');
         INSERT INTO hackathon_registrations (user_id, username, first_name, registered_at) VALUES
           (140, 'hack_guy', 'Хакер', '2026-11-08 10:00+00');
         INSERT INTO bookings (user_id, username, first_name, course_id, confirmed, created_at, course_stream) VALUES
           (160, 'old_nick', 'Старый', 1, 0, '2026-10-01 10:00+00', '8th_stream');"#,
    )
    .execute(&app.pool)
    .await
    .unwrap();
}

async fn setup() -> (TestApp, String) {
    let app = spawn_app().await;
    people(&app).await;
    let token = app.token(Role::Viewer).await;
    (app, token)
}

async fn get(app: &TestApp, token: &str, path: &str) -> (StatusCode, Value) {
    let response = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

fn ids(body: &Value) -> Vec<i64> {
    body["users"]
        .as_array()
        .unwrap_or_else(|| panic!("no users in {body}"))
        .iter()
        .map(|user| user["user_id"].as_i64().unwrap())
        .collect()
}

async fn found(app: &TestApp, token: &str, search: &str) -> Vec<i64> {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("search", search)
        .append_pair("sort", "id")
        .finish();
    let (status, body) = get(app, token, &format!("/api/users?{query}")).await;
    assert_eq!(status, StatusCode::OK, "{search}: {body}");
    assert_eq!(body["total"], ids(&body).len(), "{search}: {body}");
    ids(&body)
}

/// Sorted ids from independent SQL.
async fn sql_ids(app: &TestApp, sql: &str) -> Vec<i64> {
    let mut ids: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_all(&app.pool)
        .await
        .unwrap();
    ids.sort();
    ids
}

const EVERYONE: &str = "SELECT user_id FROM users UNION SELECT user_id FROM bookings \
     UNION SELECT user_id FROM events UNION SELECT user_id FROM free_lesson_registrations \
     UNION SELECT user_id FROM hackathon_registrations";

const LATEST: &str = "SELECT DISTINCT ON (user_id) user_id, confirmed, course_stream FROM bookings \
     ORDER BY user_id, created_at DESC, id DESC";

/// Everyone's standing in course 1's `8th_stream`, written another way: the
/// booking no other of theirs there outranks (further along confirmed,
/// pending, new, cancelled, unknown; then later), as `(user_id, confirmed)`.
const STANDING_8TH: &str = "SELECT user_id FROM ( \
     SELECT b.user_id, b.confirmed FROM bookings b \
     WHERE b.course_id = 1 AND b.course_stream = '8th_stream' AND NOT EXISTS ( \
       SELECT 1 FROM bookings o WHERE o.user_id = b.user_id AND o.id <> b.id \
         AND o.course_id = 1 AND o.course_stream = '8th_stream' \
         AND (coalesce(array_position(ARRAY[2, 1, 0, -1], o.confirmed), 5) \
                < coalesce(array_position(ARRAY[2, 1, 0, -1], b.confirmed), 5) \
              OR (coalesce(array_position(ARRAY[2, 1, 0, -1], o.confirmed), 5) \
                    = coalesce(array_position(ARRAY[2, 1, 0, -1], b.confirmed), 5) \
                  AND (o.created_at, o.id) > (b.created_at, b.id))))) s";

#[tokio::test]
async fn search_matches_each_name_field_and_exact_ids() {
    let (app, token) = setup().await;
    // First name, any case, Cyrillic.
    assert_eq!(found(&app, &token, "АНН").await, [101]);
    // Last name (only in `users`).
    assert_eq!(found(&app, &token, "кузнец").await, [110]);
    // Username with and without the @, any case.
    assert_eq!(found(&app, &token, "PETR_").await, [110]);
    assert_eq!(found(&app, &token, "@petr").await, [110]);
    assert_eq!(found(&app, &token, " @boris ").await, [102]);
    // Exact ids only: 11 is a prefix of 110 and 111 but nobody's id.
    assert_eq!(found(&app, &token, "110").await, [110]);
    assert_eq!(found(&app, &token, "11").await, Vec::<i64>::new());
    assert_eq!(found(&app, &token, "103").await, [103]);
    assert_eq!(found(&app, &token, "999").await, Vec::<i64>::new());
    // People known only from events, free lessons or hackathons.
    assert_eq!(found(&app, &token, "зоя").await, [120]);
    assert_eq!(found(&app, &token, "zoya_v").await, [120]);
    assert_eq!(found(&app, &token, "lena_").await, [130]);
    assert_eq!(found(&app, &token, "хакер").await, [140]);
    // Wildcards are literal.
    assert_eq!(found(&app, &token, "%").await, [150]);
    assert_eq!(found(&app, &token, "a_b").await, [150]);
    assert_eq!(found(&app, &token, "\\").await, Vec::<i64>::new());
    // Current names win over old snapshots.
    assert_eq!(found(&app, &token, "new_nick").await, [160]);
    assert_eq!(found(&app, &token, "old_nick").await, Vec::<i64>::new());
    // A blank search lists everyone.
    let everyone = sql_ids(&app, EVERYONE).await;
    assert_eq!(found(&app, &token, "  ").await, everyone);
}

#[tokio::test]
async fn everyone_is_listed_with_current_names_and_figures() {
    let (app, token) = setup().await;
    let (status, body) = get(&app, &token, "/api/users?limit=200").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let everyone = sql_ids(&app, EVERYONE).await;
    assert_eq!(body["total"], everyone.len());
    assert_eq!(
        (body["page"].clone(), body["limit"].clone()),
        (json!(1), json!(200))
    );
    assert_eq!(body["totalPages"], 1);
    assert_eq!(body["success"], true);
    let mut listed = ids(&body);
    // Most recently active first: 101's event of 1 December, then 111's
    // `users.updated_at` of 30 November.
    assert_eq!(listed[..2], [101, 111]);
    listed.sort();
    assert_eq!(listed, everyone);
    assert!(
        listed.contains(&103) && listed.contains(&120),
        "events-only people"
    );

    let user = |id: i64| {
        body["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|user| user["user_id"] == id)
            .unwrap()
            .clone()
    };
    let anna = user(101);
    assert_eq!(anna["username"], "anna");
    assert_eq!(anna["total_bookings"], 3);
    assert_eq!(anna["total_events"], 1);
    assert_eq!(
        anna["latest_stream"],
        Value::Null,
        "her latest booking has no stream"
    );
    assert_eq!(anna["latest_payment_status"], -1);
    assert_eq!(anna["latest_status"], "cancelled");
    assert_eq!(anna["last_activity"], "2026-12-01T10:00:00.000Z");
    let zoya = user(120);
    assert_eq!(
        (zoya["username"].clone(), zoya["first_name"].clone()),
        (json!("zoya_v"), json!("Зоя"))
    );
    assert_eq!(zoya["total_events"], 2);
    assert_eq!(zoya["latest_status"], Value::Null);
    assert_eq!(zoya["first_seen"], "2026-11-05T10:00:00.000Z");
    let olga = user(111);
    assert_eq!(
        olga["username"],
        Value::Null,
        "dropped username stays dropped"
    );
    assert_eq!(olga["last_name"], "Смирнова");
    let boris = user(102);
    assert_eq!(boris["latest_stream"], "8th_stream");
    assert_eq!(boris["latest_stream_name"], "8-й поток");
    assert_eq!(boris["latest_payment_status"], 5);
    assert_eq!(boris["latest_status"], "unknown");
    assert_eq!(user(130)["total_free_lessons"], 1);
}

#[tokio::test]
async fn filters_and_pages_match_independent_counts() {
    let (app, token) = setup().await;
    let cases = [
        (
            "status=2",
            format!("SELECT user_id FROM ({LATEST}) l WHERE confirmed = 2"),
        ),
        (
            "status=-1",
            format!("SELECT user_id FROM ({LATEST}) l WHERE confirmed = -1"),
        ),
        (
            "status=0",
            format!("SELECT user_id FROM ({LATEST}) l WHERE confirmed = 0"),
        ),
        (
            "status=none",
            format!("SELECT user_id FROM ({EVERYONE}) p EXCEPT SELECT user_id FROM bookings"),
        ),
        (
            "stream=8th_stream",
            "SELECT DISTINCT user_id FROM bookings WHERE course_stream = '8th_stream'".to_owned(),
        ),
        (
            // Their standing in the stream: the most advanced booking.
            "stream=8th_stream&status=1",
            format!("{STANDING_8TH} WHERE confirmed = 1"),
        ),
        (
            "stream=1:8th_stream&status=2",
            format!("{STANDING_8TH} WHERE confirmed = 2"),
        ),
        (
            "stream=8th_stream&course_id=1&status=0",
            format!("{STANDING_8TH} WHERE confirmed = 0"),
        ),
        (
            "stream=2:8th_stream",
            "SELECT 1::bigint WHERE false".to_owned(),
        ),
        (
            "stream=8th_stream&status=none",
            "SELECT 1::bigint WHERE false".to_owned(),
        ),
        (
            // Shown usernames with a `_`: 110, 120, 130, 140, 150 and 160
            // (who booked).
            "search=_&status=none",
            "SELECT unnest('{110,120,130,140,150,160}'::bigint[]) \
             EXCEPT SELECT user_id FROM bookings"
                .to_owned(),
        ),
    ];
    for (query, sql) in cases {
        let expected = sql_ids(&app, &sql).await;
        let (status, body) = get(&app, &token, &format!("/api/users?{query}&sort=id")).await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        assert_eq!(body["total"], expected.len(), "{query}: {body}");
        assert_eq!(ids(&body), expected, "{query}");
    }
    let some = sql_ids(
        &app,
        &format!("SELECT user_id FROM ({LATEST}) l WHERE confirmed = 2"),
    )
    .await;
    assert!(!some.is_empty(), "the fixture has confirmed users");

    // Pages of 3 cover everyone once, in order, each with the same total.
    let everyone = sql_ids(&app, EVERYONE).await;
    let pages = everyone.len().div_ceil(3);
    let mut seen = Vec::new();
    for page in 1..=pages + 1 {
        let (status, body) = get(
            &app,
            &token,
            &format!("/api/users?sort=id&limit=3&page={page}"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["total"], everyone.len(), "page {page}");
        assert_eq!(body["totalPages"], pages, "page {page}");
        assert_eq!(body["page"], page);
        let listed = ids(&body);
        if page > pages {
            assert!(listed.is_empty(), "past the end");
        } else {
            assert!(!listed.is_empty() && listed.len() <= 3);
        }
        seen.extend(listed);
    }
    assert_eq!(seen, everyone);
}

#[tokio::test]
async fn one_user_has_bookings_events_and_free_lessons() {
    let (app, token) = setup().await;
    let (status, body) = get(&app, &token, "/api/users/101").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["user"]["user_id"], 101);
    let bookings: Vec<i64> = body["bookings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_i64().unwrap())
        .collect();
    assert_eq!(bookings, [3, 2, 1], "newest first");
    assert!(body["bookings"][0]["version"].is_string());
    assert_eq!(body["events"][0]["event_type"], "view_program");
    assert_eq!(body["events"][0]["details"], json!({"course_id": "1"}));
    assert_eq!(body["freeLessons"], json!([]));

    let (status, body) = get(&app, &token, "/api/users/130").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"]["username"], "lena_fl");
    assert_eq!(body["freeLessons"][0]["email"], "lena@example.org");
    assert_eq!(body["freeLessons"][0]["lesson_date"], "2026-11-20");
    assert_eq!(body["bookings"], json!([]));

    let (status, body) = get(&app, &token, "/api/users/120").await;
    assert_eq!(status, StatusCode::OK, "an events-only user: {body}");
    assert_eq!(body["user"]["first_name"], "Зоя");
    assert_eq!(body["events"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn bad_parameters_are_refused_with_a_message() {
    let (app, token) = setup().await;
    let cases = [
        (
            "/api/users?limit=0",
            "limit must be an integer between 1 and 200",
        ),
        (
            "/api/users?limit=201",
            "limit must be an integer between 1 and 200",
        ),
        (
            "/api/users?limit=12abc",
            "limit must be an integer between 1 and 200",
        ),
        (
            "/api/users?limit=1.5",
            "limit must be an integer between 1 and 200",
        ),
        (
            "/api/users?limit=",
            "limit must be an integer between 1 and 200",
        ),
        (
            "/api/users?page=0",
            "page must be an integer between 1 and 1000000",
        ),
        (
            "/api/users?page=-1",
            "page must be an integer between 1 and 1000000",
        ),
        (
            "/api/users?page=x",
            "page must be an integer between 1 and 1000000",
        ),
        (
            "/api/users?status=3",
            "status must be one of -1, 0, 1, 2, none",
        ),
        (
            "/api/users?status=confirmed",
            "status must be one of -1, 0, 1, 2, none",
        ),
        (
            "/api/users?status=",
            "status must be one of -1, 0, 1, 2, none",
        ),
        (
            "/api/users?status=%20none",
            "status must be one of -1, 0, 1, 2, none",
        ),
        (
            "/api/users?stream=bad%20code",
            "stream must be a code (1–50 latin letters, digits, '_' or '-') or course_id:code, \
             e.g. 8th_stream or 2:4th_stream",
        ),
        (
            "/api/users?stream=",
            "stream must be a code (1–50 latin letters, digits, '_' or '-') or course_id:code, \
             e.g. 8th_stream or 2:4th_stream",
        ),
        ("/api/users?sort=name", "sort must be activity or id"),
        ("/api/users?course_id=1", "course_id needs a stream"),
        (
            "/api/users?stream=1:8th_stream&course_id=2",
            "course_id and the stream's course differ",
        ),
        ("/api/users/0", "Invalid user ID"),
        ("/api/users/-5", "Invalid user ID"),
        ("/api/users/abc", "Invalid user ID"),
        ("/api/users/1.5", "Invalid user ID"),
        ("/api/users/99999999999999999999", "Invalid user ID"),
    ];
    for (path, message) in cases {
        let (status, body) = get(&app, &token, path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body, json!({"success": false, "error": message}), "{path}");
    }
    let (status, body) = get(&app, &token, "/api/users/999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, json!({"success": false, "error": "User not found"}));
    // Unknown parameters are ignored.
    let (status, _) = get(&app, &token, "/api/users?foo=bar").await;
    assert_eq!(status, StatusCode::OK);
}
