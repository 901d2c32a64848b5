//! `/api/messages` against real PostgreSQL, with the app's delivery engine
//! and the real teloxide client talking to the fake Bot API server: every
//! bad input's 4xx and message, idempotent creates (also racing ones),
//! delivery to a stream, the actions and their 409s, the test send.

use std::time::Duration;

use hsl_dashboard::domain::role::Role;
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::fake_telegram::{FakeTelegram, Reply};
use crate::helpers::{Session, TestApp, spawn_app, spawn_app_with};

const BOT_TOKEN: &str = "123456:TEST-messages-api";

/// `9th_stream`: 201 and 202 confirmed, 203 pending, 204 cancelled and
/// later booked again (new: their standing is their most advanced
/// booking), 206 confirmed but blocked
/// the bot. 205 is confirmed in `5th_stream`. 207 is known only from an
/// event. `8th_stream` is registered and has no bookings.
async fn fixture(app: &TestApp) {
    sqlx::raw_sql(
        "INSERT INTO users (user_id, username, first_name) VALUES
           (201, 'anna', 'Анна'), (202, 'boris', 'Борис'), (203, 'vera', 'Вера'),
           (204, 'gleb', 'Глеб'), (205, 'dina', 'Дина'), (206, 'egor', 'Егор');
         INSERT INTO events (user_id, event_type) VALUES (207, 'start_command');
         INSERT INTO bookings (user_id, username, first_name, course_id, confirmed, created_at, course_stream) VALUES
           (201, 'anna', 'Анна', 1, 2, '2026-11-01 10:00+00', '9th_stream'),
           (202, 'boris', 'Борис', 1, 2, '2026-11-01 10:00+00', '9th_stream'),
           (203, 'vera', 'Вера', 1, 1, '2026-11-01 10:00+00', '9th_stream'),
           (204, 'gleb', 'Глеб', 1, -1, '2026-11-01 10:00+00', '9th_stream'),
           (204, 'gleb', 'Глеб', 1, 0, '2026-11-02 10:00+00', '9th_stream'),
           (205, 'dina', 'Дина', 1, 2, '2026-11-01 10:00+00', '5th_stream'),
           (206, 'egor', 'Егор', 1, 2, '2026-11-01 10:00+00', '9th_stream');
         INSERT INTO blocked_users (user_id, reason) VALUES (206, 'blocked');",
    )
    .execute(&app.pool)
    .await
    .unwrap();
}

/// The app with a bot token, talking to a fake Bot API server.
async fn with_telegram() -> (TestApp, FakeTelegram) {
    let fake = FakeTelegram::start().await;
    let url = fake.url.parse().unwrap();
    let app = spawn_app_with(|config| {
        config.telegram_bot_token = Some(SecretString::from(BOT_TOKEN));
        config.telegram_api_url = url;
    })
    .await;
    fixture(&app).await;
    (app, fake)
}

/// The app without a bot token (the engine runs, but has nothing to send
/// with), and the fake server it would have used.
async fn without_telegram() -> (TestApp, FakeTelegram) {
    let fake = FakeTelegram::start().await;
    let url = fake.url.parse().unwrap();
    let app = spawn_app_with(|config| {
        config.telegram_bot_token = None;
        config.telegram_api_url = url;
    })
    .await;
    fixture(&app).await;
    (app, fake)
}

/// An admin API client.
struct Api<'a> {
    app: &'a TestApp,
    token: String,
}

struct Answer {
    status: StatusCode,
    body: Value,
    total: Option<i64>,
}

impl<'a> Api<'a> {
    async fn admin(app: &'a TestApp) -> Self {
        Self {
            token: app.token(Role::Admin).await,
            app,
        }
    }

    async fn answer(response: reqwest::Response) -> Answer {
        let status = response.status();
        let total = response
            .headers()
            .get("x-total-count")
            .map(|value| value.to_str().unwrap().parse().unwrap());
        let text = response.text().await.unwrap();
        let body =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
        Answer {
            status,
            body,
            total,
        }
    }

    /// POST with a raw body and an optional `Idempotency-Key`.
    async fn post_raw(&self, path: &str, body: &str, key: Option<&str>) -> Answer {
        let mut request = self
            .app
            .client
            .post(self.app.url(path))
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        Self::answer(request.send().await.unwrap()).await
    }

    async fn post(&self, path: &str, body: &Value) -> Answer {
        self.post_raw(path, &body.to_string(), None).await
    }

    async fn get(&self, path: &str) -> Answer {
        let response = self
            .app
            .client
            .get(self.app.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        Self::answer(response).await
    }

    /// Creates a broadcast; its id.
    async fn create(&self, body: &Value) -> i64 {
        let answer = self.post("/api/messages", body).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        answer.body["id"].as_i64().unwrap()
    }

    /// Polls the broadcast until `done` says so (10 s at most).
    async fn wait_for(&self, id: i64, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let answer = self.get(&format!("/api/messages/{id}")).await;
            assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
            if done(&answer.body) {
                return answer.body;
            }
            assert!(
                Instant::now() < deadline,
                "broadcast {id}: timed out waiting for {what}: {}",
                answer.body
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn wait_for_status(&self, id: i64, status: &str) -> Value {
        self.wait_for(id, status, |b| b["status"] == status).await
    }

    async fn recipients(&self, id: i64) -> Vec<Value> {
        let answer = self.get(&format!("/api/messages/{id}/recipients")).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        answer.body.as_array().unwrap().clone()
    }
}

fn text_to(audience: Value, text: &str) -> Value {
    json!({"audience": audience, "content": {"type": "text", "text": text}})
}

fn stream_9() -> Value {
    json!({"kind": "stream", "streams": ["9th_stream"]})
}

async fn broadcasts_created(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM message_history WHERE NOT legacy")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

fn is_rfc3339_utc_ms(value: &Value) -> bool {
    let Some(text) = value.as_str() else {
        return false;
    };
    chrono::DateTime::parse_from_rfc3339(text).is_ok()
        && text.ends_with('Z')
        && text.len() == "2026-01-01T00:00:00.000Z".len()
}

#[tokio::test]
async fn create_refuses_bad_input_with_a_specific_400() {
    let app = spawn_app().await;
    fixture(&app).await;
    let api = Api::admin(&app).await;
    let good_content = json!({"type": "text", "text": "Привет"});
    let users = |ids: Value| json!({"kind": "users", "user_ids": ids});
    let with_content =
        |content: Value| json!({"audience": users(json!([201])), "content": content});
    let past = (chrono::Utc::now() - chrono::Duration::seconds(5)).to_rfc3339();
    let cases: Vec<(String, &str)> = vec![
        ("{\"audience\": ".into(), "invalid JSON body"),
        ("[1, 2]".into(), "body must be a JSON object"),
        (
            json!({"audience": users(json!([201])), "content": good_content, "extra": 1})
                .to_string(),
            "unknown field `extra`",
        ),
        (
            json!({"content": good_content}).to_string(),
            "audience is required",
        ),
        (
            json!({"audience": users(json!([201]))}).to_string(),
            "content is required",
        ),
        (
            json!({"audience": {"kind": "everyone"}, "content": good_content}).to_string(),
            "unknown variant `everyone`",
        ),
        (
            json!({"audience": {"kind": "users", "user_ids": [201], "streams": []},
                   "content": good_content})
            .to_string(),
            "unknown field `streams`",
        ),
        (
            json!({"audience": users(json!([])), "content": good_content}).to_string(),
            "choose at least one recipient",
        ),
        (
            json!({"audience": users(json!([201, -5])), "content": good_content}).to_string(),
            "user ids must be positive",
        ),
        (
            json!({"audience": {"kind": "stream", "streams": ["9th_stream"], "statuses": [7]},
                   "content": good_content})
            .to_string(),
            "statuses must be some of -1, 0, 1, 2",
        ),
        (
            json!({"audience": {"kind": "stream", "streams": ["8th_stream"]},
                   "content": good_content})
            .to_string(),
            "the audience is empty",
        ),
        (
            json!({"audience": users(json!([206])), "content": good_content}).to_string(),
            "all 1 of its people blocked the bot",
        ),
        (
            json!({"audience": users(json!([201])), "content": good_content,
                   "scheduled_at": "2020-01-01T00:00:00Z"})
            .to_string(),
            "scheduled_at is in the past",
        ),
        (
            json!({"audience": users(json!([201])), "content": good_content,
                   "scheduled_at": past})
            .to_string(),
            "scheduled_at is in the past",
        ),
        (
            json!({"audience": users(json!([201])), "content": good_content,
                   "scheduled_at": "tomorrow at nine"})
            .to_string(),
            "scheduled_at must be an RFC 3339 date-time",
        ),
        (
            json!({"audience": users(json!([201])), "content": good_content,
                   "scheduled_at": "2030-01-01T09:00:00"})
            .to_string(),
            "scheduled_at must be an RFC 3339 date-time",
        ),
        (
            with_content(json!({"type": "text", "text": "Привет<br>мир"})).to_string(),
            "text: line 1, column 7: Telegram does not support the tag <br>",
        ),
        (
            with_content(json!({"type": "text", "text": "<b>жирный\n<i>курсив</b></i>"}))
                .to_string(),
            "line 2, column 10: </b> closes a tag, but <i> is still open",
        ),
        (
            with_content(json!({"type": "text", "text": "я".repeat(4097)})).to_string(),
            "4097 characters long after parsing; at most 4096",
        ),
        (
            with_content(json!({"type": "photo", "file_id": "AgAC", "caption": "я".repeat(1025)}))
                .to_string(),
            "caption: line 1, column 1: the text is 1025 characters long",
        ),
        (
            with_content(json!({"type": "text", "text": "Hi", "caption": "no"})).to_string(),
            "unknown field `caption`",
        ),
        (
            with_content(json!({"type": "sticker", "file_id": "x"})).to_string(),
            "unknown variant `sticker`",
        ),
        (
            with_content(json!({"type": "text", "text": "Hi", "buttons": [[{"text": "Open"}]]}))
                .to_string(),
            "buttons: button 1.1: give exactly one of url or callback_data",
        ),
        (
            with_content(json!({"type": "text", "text": "Hi",
                                "buttons": [[{"text": "Open", "url": "javascript:alert(1)"}]]}))
            .to_string(),
            "button 1.1: url must be an absolute",
        ),
        (
            with_content(json!({"type": "text", "text": "Hi",
                                "buttons": [[{"text": "Да", "callback_data": "x".repeat(65)}]]}))
            .to_string(),
            "callback_data must be 1–64 bytes",
        ),
        (
            with_content(json!({"type": "text", "text": "Hi", "buttons": [[]]})).to_string(),
            "buttons: row 1 is empty",
        ),
        (
            with_content(json!({"type": "video", "file_id": "has spaces in it"})).to_string(),
            "file_id must be 1–256 characters",
        ),
        (
            with_content(json!({"type": "document", "file_id": ""})).to_string(),
            "file_id must be 1–256 characters",
        ),
    ];
    for (body, expected) in &cases {
        let answer = api.post_raw("/api/messages", body, None).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            answer.body
        );
        let error = answer.body["error"].as_str().unwrap_or_default();
        assert!(
            error.contains(expected),
            "{body}: {error:?} lacks {expected:?}"
        );
    }

    // Unknown people and streams are listed.
    let answer = api
        .post(
            "/api/messages",
            &text_to(users(json!([999_002, 201, 999_001])), "Hi"),
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    assert_eq!(answer.body["invalid_user_ids"], json!([999_001, 999_002]));
    assert_eq!(answer.body["error"], "unknown user ids: 999001, 999002");
    assert_eq!(answer.body["field"], "audience");
    assert!(answer.body["label"].as_str().unwrap().contains("999001"));
    let answer = api
        .post(
            "/api/messages",
            &text_to(
                json!({"kind": "stream", "streams": ["9th_stream", "99th_stream", "5th_stream"]}),
                "Hi",
            ),
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    assert_eq!(answer.body["invalid_streams"], json!(["99th_stream"]));
    assert_eq!(answer.body["error"], "unknown streams: 99th_stream");

    // Bad keys.
    let body = text_to(users(json!([201])), "Hi").to_string();
    for key in ["", &"k".repeat(201)] {
        let answer = api.post_raw("/api/messages", &body, Some(key)).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{key:?}");
        assert_eq!(
            answer.body["error"],
            "Idempotency-Key must be 1–200 characters"
        );
    }
    assert_eq!(broadcasts_created(&app).await, 0, "nothing was created");
}

#[tokio::test]
async fn preview_lists_every_problem_and_sends_nothing() {
    let (app, fake) = with_telegram().await;
    let api = Api::admin(&app).await;

    let answer = api
        .post(
            "/api/messages/preview",
            &json!({
                "audience": stream_9(),
                "content": {"type": "text", "text": "<b>Привет</b>, &lt;мир&gt;", "link_preview": true},
                "scheduled_at": "2099-01-01T09:00:00Z"
            }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["errors"], json!([]));
    assert_eq!(answer.body["recipient_count"], 2, "201, 202; 206 blocked");
    assert_eq!(answer.body["blocked_count"], 1);
    assert_eq!(answer.body["html"], "<b>Привет</b>, &lt;мир&gt;");
    assert_eq!(answer.body["length"], 13);
    assert_eq!(answer.body["max_length"], 4096);

    let answer = api
        .post(
            "/api/messages/preview",
            &json!({
                "audience": {"kind": "users", "user_ids": [201, 999_001]},
                "content": {"type": "text", "text": "a <p>b</p>"},
                "scheduled_at": "2020-05-01T00:00:00Z"
            }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let errors = answer.body["errors"].as_array().unwrap();
    let fields: Vec<&str> = errors
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["audience", "content", "scheduled_at"],
        "{errors:?}"
    );
    assert!(
        errors[1]["error"]
            .as_str()
            .unwrap()
            .contains("line 1, column 3")
    );
    assert!(
        errors
            .iter()
            .all(|e| !e["label"].as_str().unwrap().is_empty())
    );
    assert_eq!(answer.body["invalid_user_ids"], json!([999_001]));
    assert_eq!(answer.body["recipient_count"], 1);
    assert_eq!(answer.body["html"], Value::Null);

    let answer = api
        .post(
            "/api/messages/preview",
            &json!({"audience": {"kind": "stream", "streams": ["8th_stream"]},
                    "content": {"type": "photo", "file_id": "AgAC", "caption": "Фото"}}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["recipient_count"], 0);
    assert_eq!(answer.body["max_length"], 1024);
    assert_eq!(answer.body["errors"][0]["field"], "audience");
    assert!(
        answer.body["errors"][0]["error"]
            .as_str()
            .unwrap()
            .contains("the audience is empty")
    );

    for bad in ["not json", "[]", "{\"audience\": null, \"draft\": true}"] {
        let answer = api.post_raw("/api/messages/preview", bad, None).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(fake.calls().is_empty(), "a preview sends nothing");
    assert_eq!(broadcasts_created(&app).await, 0);
}

#[tokio::test]
async fn an_idempotency_key_repeats_the_first_answer_and_never_a_second_broadcast() {
    let (app, _fake) = without_telegram().await;
    let api = Api::admin(&app).await;
    let body = json!({
        "audience": {"kind": "users", "user_ids": [202, 201]},
        "content": {"type": "text", "text": "Один раз"},
    })
    .to_string();

    let first = api.post_raw("/api/messages", &body, Some("submit-1")).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert_eq!(first.body["status"], "sending");
    assert_eq!(first.body["recipient_count"], 2);
    let again = api.post_raw("/api/messages", &body, Some("submit-1")).await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.body, first.body);
    // The same request in another order is the same request.
    let reordered = json!({
        "content": {"text": "Один раз", "type": "text"},
        "audience": {"user_ids": [201, 202, 201], "kind": "users"},
        "scheduled_at": null,
    })
    .to_string();
    let again = api
        .post_raw("/api/messages", &reordered, Some("submit-1"))
        .await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.body, first.body);
    // Another request under the key is refused.
    let other = json!({
        "audience": {"kind": "users", "user_ids": [201]},
        "content": {"type": "text", "text": "Один раз"},
    })
    .to_string();
    let refused = api
        .post_raw("/api/messages", &other, Some("submit-1"))
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        refused.body,
        json!({"error": "Idempotency-Key reused with a different request"})
    );
    assert_eq!(broadcasts_created(&app).await, 1);

    // A double submit racing itself: one broadcast, the same answer to all.
    let scheduled = json!({
        "audience": stream_9(),
        "content": {"type": "text", "text": "Гонка"},
        "scheduled_at": "2099-01-01T09:00:00Z",
    })
    .to_string();
    let race = || api.post_raw("/api/messages", &scheduled, Some("race"));
    let (a, b, c, d, e, f) = tokio::join!(race(), race(), race(), race(), race(), race());
    let answers = [a, b, c, d, e, f];
    for answer in &answers {
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        assert_eq!(answer.body, answers[0].body);
    }
    assert_eq!(answers[0].body["status"], "scheduled");
    assert_eq!(answers[0].body["recipient_count"], 2, "an estimate");
    let rows: i64 =
        sqlx::query_scalar("SELECT count(*) FROM message_history WHERE idempotency_key = 'race'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(rows, 1);
    assert_eq!(broadcasts_created(&app).await, 2);

    // A repeat after the scheduled time has passed still gets its answer.
    let soon = chrono::Utc::now() + chrono::Duration::milliseconds(1500);
    let late = json!({
        "audience": {"kind": "users", "user_ids": [201]},
        "content": {"type": "text", "text": "Позже"},
        "scheduled_at": soon.to_rfc3339(),
    })
    .to_string();
    let first = api.post_raw("/api/messages", &late, Some("late")).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    while chrono::Utc::now() <= soon {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let again = api.post_raw("/api/messages", &late, Some("late")).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
    assert_eq!(again.body, first.body);
    // Without a key the same body is a new broadcast.
    let unkeyed = api.post_raw("/api/messages", &body, None).await;
    assert_eq!(unkeyed.status, StatusCode::CREATED);
    assert_ne!(unkeyed.body["id"], first.body["id"]);
    assert_eq!(broadcasts_created(&app).await, 4);

    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'broadcast.create' AND actor LIKE 'token:%'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(audited, 4, "one audit row per broadcast");
}

async fn insert_legacy(app: &TestApp) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO message_history (message_text, total_recipients, successful_deliveries, \
             sent_at, created_at, recipient_type, recipient_group, legacy, status, started_at, \
             finished_at) \
         VALUES ('Старая рассылка', 3, 2, '2025-01-01 10:00+00', '2025-01-01 10:00+00', \
                 'individual', NULL, true, 'done', '2025-01-01 10:00+00', '2025-01-01 10:00+00') \
         RETURNING id::bigint",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn list_get_and_recipients_check_their_parameters() {
    let (app, _fake) = without_telegram().await;
    let api = Api::admin(&app).await;
    let legacy = insert_legacy(&app).await;
    let now = api
        .create(&text_to(
            json!({"kind": "users", "user_ids": [202, 201]}),
            "<i>Сейчас</i>",
        ))
        .await;
    let later = api
        .create(&json!({
            "audience": {"kind": "stream", "streams": ["9th_stream"], "statuses": [1, 2]},
            "content": {"type": "document", "file_id": "BQAC-doc_1", "caption": "Программа",
                        "buttons": [[{"text": "Сайт", "url": "https://example.org"}]]},
            "scheduled_at": "2099-01-01T12:00:00+03:00",
        }))
        .await;

    let ids = |body: &Value| -> Vec<i64> {
        body.as_array()
            .unwrap()
            .iter()
            .map(|b| b["id"].as_i64().unwrap())
            .collect()
    };
    let all = api.get("/api/messages").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert_eq!(ids(&all.body), [later, now, legacy], "newest first");
    assert_eq!(all.total, Some(3));
    let done = api.get("/api/messages?status=done").await;
    assert_eq!(ids(&done.body), [legacy]);
    assert_eq!(done.total, Some(1));
    assert_eq!(done.body[0]["legacy"], true);
    let page = api.get("/api/messages?limit=1&offset=1&unknown=x").await;
    assert_eq!(ids(&page.body), [now]);
    assert_eq!(page.total, Some(3));
    let scheduled = api.get("/api/messages?status=scheduled").await;
    assert_eq!(ids(&scheduled.body), [later]);
    for (query, message) in [
        ("limit=0", "limit must be an integer between 1 and 200"),
        ("limit=201", "limit must be an integer between 1 and 200"),
        ("limit=12abc", "limit must be an integer between 1 and 200"),
        ("limit=1.5", "limit must be an integer between 1 and 200"),
        ("limit=", "limit must be an integer between 1 and 200"),
        ("offset=-1", "offset must be a non-negative integer"),
        ("offset=x", "offset must be a non-negative integer"),
        (
            "status=finished",
            "status must be one of draft, scheduled, sending",
        ),
        ("status=", "status must be one of draft, scheduled, sending"),
        (
            "status=DONE",
            "status must be one of draft, scheduled, sending",
        ),
    ] {
        let answer = api.get(&format!("/api/messages?{query}")).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{query}");
        let error = answer.body["error"].as_str().unwrap();
        assert!(error.starts_with(message), "{query}: {error}");
    }

    // One broadcast, exactly the API.md shape (and a few extras).
    let one = api.get(&format!("/api/messages/{now}")).await;
    assert_eq!(one.status, StatusCode::OK);
    let body = &one.body;
    for key in [
        "id",
        "status",
        "audience",
        "content",
        "scheduled_at",
        "started_at",
        "finished_at",
        "created_by",
        "status_reason",
        "counts",
        "rate_per_sec",
        "eta_seconds",
    ] {
        assert!(body.get(key).is_some(), "{key} missing from {body}");
    }
    let counts: Vec<&str> = body["counts"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = [
        "total", "pending", "sending", "sent", "failed", "blocked", "unknown", "skipped", "deleted",
    ];
    expected.sort_unstable();
    let mut counts_sorted = counts.clone();
    counts_sorted.sort_unstable();
    assert_eq!(counts_sorted, expected);
    assert_eq!(body["id"], now);
    assert_eq!(body["status"], "sending");
    assert_eq!(
        body["audience"],
        json!({"kind": "users", "user_ids": [201, 202]})
    );
    assert_eq!(
        body["content"],
        json!({"type": "text", "text": "<i>Сейчас</i>", "link_preview": false, "buttons": []})
    );
    assert_eq!(body["scheduled_at"], Value::Null);
    assert!(is_rfc3339_utc_ms(&body["started_at"]), "{body}");
    assert!(is_rfc3339_utc_ms(&body["created_at"]), "{body}");
    assert_eq!(body["finished_at"], Value::Null);
    assert!(
        body["created_by"]
            .as_str()
            .unwrap()
            .starts_with("token:test-admin-")
    );
    assert_eq!(body["counts"]["total"], 2);
    assert_eq!(body["counts"]["pending"], 2);
    assert!(
        body["rate_per_sec"].is_null() || body["rate_per_sec"] == 0.0,
        "nothing sent yet: {body}"
    );
    assert_eq!(body["eta_seconds"], Value::Null, "no bot token: never");
    assert_eq!(body["delivery_problem"], "Telegram не настроен");
    assert_eq!(body["legacy"], false);

    let one = api.get(&format!("/api/messages/{later}")).await.body;
    assert_eq!(one["status"], "scheduled");
    assert_eq!(one["scheduled_at"], "2099-01-01T09:00:00.000Z");
    assert_eq!(one["started_at"], Value::Null);
    assert_eq!(one["eta_seconds"], Value::Null);
    assert_eq!(one["delivery_problem"], "Telegram не настроен");
    assert_eq!(one["scheduled_by"], one["created_by"]);
    assert_eq!(
        one["audience"],
        json!({"kind": "stream", "streams": ["1:9th_stream"], "statuses": [1, 2]}),
        "stored with the stream's course"
    );
    assert_eq!(
        one["content"],
        json!({"type": "document", "file_id": "BQAC-doc_1", "caption": "Программа",
               "buttons": [[{"text": "Сайт", "url": "https://example.org"}]]})
    );
    assert_eq!(one["counts"]["total"], 0, "resolved when it starts");

    let old = api.get(&format!("/api/messages/{legacy}")).await.body;
    assert_eq!(old["status"], "done");
    assert_eq!(old["legacy"], true);
    assert_eq!(old["audience"], Value::Null);
    assert_eq!(old["recipient_type"], "individual");
    assert_eq!(old["content"]["text"], "Старая рассылка");
    assert_eq!(old["counts"]["total"], 3);
    assert_eq!(old["counts"]["sent"], 2);
    assert_eq!(old["finished_at"], "2025-01-01T10:00:00.000Z");
    assert!(old.get("delivery_problem").is_none(), "finished: {old}");

    for bad in ["0", "-1", "abc", "1.5", "99999999999", "%20"] {
        for path in [
            format!("/api/messages/{bad}"),
            format!("/api/messages/{bad}/recipients"),
        ] {
            let answer = api.get(&path).await;
            assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{path}");
            assert_eq!(answer.body["error"], "id must be a positive integer");
        }
    }
    for path in ["/api/messages/999999", "/api/messages/999999/recipients"] {
        let answer = api.get(path).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(answer.body["error"], "broadcast not found");
    }

    let recipients = api.get(&format!("/api/messages/{now}/recipients")).await;
    assert_eq!(recipients.status, StatusCode::OK);
    assert_eq!(recipients.total, Some(2));
    assert_eq!(
        recipients.body,
        json!([
            {"user_id": 201, "username": "anna", "status": "pending", "attempts": 0,
             "error": null, "telegram_message_id": null, "sent_at": null},
            {"user_id": 202, "username": "boris", "status": "pending", "attempts": 0,
             "error": null, "telegram_message_id": null, "sent_at": null},
        ])
    );
    let page = api
        .get(&format!("/api/messages/{now}/recipients?limit=1&offset=1"))
        .await;
    assert_eq!(page.body.as_array().unwrap().len(), 1);
    assert_eq!(page.body[0]["user_id"], 202);
    let sent = api
        .get(&format!("/api/messages/{now}/recipients?status=sent"))
        .await;
    assert_eq!(sent.body, json!([]));
    assert_eq!(sent.total, Some(0));
    for (query, message) in [
        ("status=delivered", "status must be one of pending, sending"),
        ("limit=0", "limit must be an integer between 1 and 1000"),
        ("limit=1001", "limit must be an integer between 1 and 1000"),
        ("offset=-3", "offset must be a non-negative integer"),
    ] {
        let answer = api
            .get(&format!("/api/messages/{now}/recipients?{query}"))
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{query}");
        let error = answer.body["error"].as_str().unwrap();
        assert!(error.starts_with(message), "{query}: {error}");
    }
}

#[tokio::test]
async fn a_stream_broadcast_reaches_exactly_its_confirmed_members() {
    let (app, fake) = with_telegram().await;
    let api = Api::admin(&app).await;
    // Slow answers, to see the broadcast while it is sending.
    fake.set_latency(Duration::from_millis(800));
    let created = api
        .post(
            "/api/messages",
            &json!({
                "audience": stream_9(),
                "content": {"type": "text", "text": "<b>Занятие</b> в 19:00", "link_preview": true,
                            "buttons": [[{"text": "Открыть", "url": "https://example.org"}],
                                        [{"text": "Приду", "callback_data": "yes"}]]},
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["status"], "sending");
    assert_eq!(
        created.body["recipient_count"], 2,
        "201 and 202; 206 blocked"
    );
    let id = created.body["id"].as_i64().unwrap();
    let sending = api.get(&format!("/api/messages/{id}")).await.body;
    assert_eq!(sending["status"], "sending", "{sending}");
    assert_eq!(sending["counts"]["sent"], 0, "{sending}");
    assert_eq!(
        sending["eta_seconds"], 1,
        "2 to go at the configured 25/s: {sending}"
    );
    assert!(sending["rate_per_sec"].is_number(), "{sending}");
    assert!(sending.get("delivery_problem").is_none(), "{sending}");

    let done = api.wait_for_status(id, "done").await;
    assert_eq!(
        done["counts"],
        json!({"total": 3, "pending": 0, "sending": 0, "sent": 2, "failed": 0, "blocked": 0,
               "unknown": 0, "skipped": 1, "deleted": 0})
    );
    assert!(is_rfc3339_utc_ms(&done["finished_at"]), "{done}");
    assert_eq!(done["eta_seconds"], Value::Null);

    let delivered = fake.delivered();
    assert_eq!(delivered.len(), 2, "{delivered:?}");
    assert_eq!(delivered.get(&201), Some(&1));
    assert_eq!(delivered.get(&202), Some(&1));
    for send in fake.sends() {
        assert_eq!(send.method, "sendmessage");
        assert_eq!(send.token, BOT_TOKEN);
        assert_eq!(send.body["text"], "<b>Занятие</b> в 19:00");
        assert_eq!(send.body["parse_mode"], "HTML");
        let keyboard = &send.body["reply_markup"]["inline_keyboard"];
        assert_eq!(keyboard[0][0]["url"], "https://example.org/");
        assert_eq!(keyboard[1][0]["callback_data"], "yes");
    }

    let recipients = api.recipients(id).await;
    let by_user = |user: i64| {
        recipients
            .iter()
            .find(|r| r["user_id"] == user)
            .unwrap_or_else(|| panic!("no recipient {user}"))
            .clone()
    };
    for user in [201, 202] {
        let row = by_user(user);
        assert_eq!(row["status"], "sent", "{row}");
        assert_eq!(row["attempts"], 1);
        assert!(row["telegram_message_id"].as_i64().unwrap() > 0);
        assert!(is_rfc3339_utc_ms(&row["sent_at"]), "{row}");
    }
    let skipped = by_user(206);
    assert_eq!(skipped["status"], "skipped");
    assert!(skipped["error"].as_str().unwrap().contains("blocked"));
    assert_eq!(recipients.len(), 3, "203 pending, 204 new, 205 elsewhere");
}

#[tokio::test]
async fn without_a_bot_token_broadcasts_are_kept_and_nothing_is_sent() {
    let (app, fake) = without_telegram().await;
    let api = Api::admin(&app).await;
    let now = api.create(&text_to(stream_9(), "Когда-нибудь")).await;
    let later = api
        .post(
            "/api/messages",
            &json!({"audience": stream_9(), "content": {"type": "text", "text": "Потом"},
                    "scheduled_at": "2099-06-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(later.status, StatusCode::CREATED);
    assert_eq!(later.body["status"], "scheduled");

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let body = api.get(&format!("/api/messages/{now}")).await.body;
    assert_eq!(body["status"], "sending");
    assert_eq!(body["counts"]["pending"], 2);
    assert_eq!(body["counts"]["sent"], 0);
    assert!(fake.calls().is_empty(), "{:?}", fake.calls());

    let health: Value = app.get("/api/test-db").await.json().await.unwrap();
    assert_eq!(health["scheduler"]["telegram_configured"], false);
    assert_eq!(health["scheduler"]["problem"], "Telegram не настроен");

    let (session, _) = admin_with_telegram(&app, Some(777)).await;
    let answer = post_as(&app, &session, &format!("/api/messages/{now}/test")).await;
    assert_eq!(answer.status, StatusCode::CONFLICT, "{}", answer.body);
    assert_eq!(answer.body, json!({"error": "Telegram не настроен"}));
    assert!(fake.calls().is_empty());
}

/// A signed-in admin (with this Telegram id) and their login.
async fn admin_with_telegram(app: &TestApp, telegram_id: Option<i64>) -> (Session, String) {
    let (login, password) = app.add_staff(Role::Admin).await;
    sqlx::query("UPDATE staff SET telegram_user_id = $2 WHERE login = $1")
        .bind(&login)
        .bind(telegram_id)
        .execute(&app.pool)
        .await
        .unwrap();
    (app.login(&login, &password).await, login)
}

/// A POST with a session and its CSRF token, no body.
async fn post_as(app: &TestApp, session: &Session, path: &str) -> Answer {
    let response = app
        .client
        .post(app.url(path))
        .header("cookie", &session.cookie)
        .header("x-csrf-token", &session.csrf)
        .send()
        .await
        .unwrap();
    Api::answer(response).await
}

impl Api<'_> {
    async fn act(&self, id: impl std::fmt::Display, action: &str) -> Answer {
        self.post_raw(&format!("/api/messages/{id}/{action}"), "", None)
            .await
    }

    /// The action is refused with 409 and this message.
    async fn refused(&self, id: i64, action: &str, message: &str) {
        let answer = self.act(id, action).await;
        assert_eq!(
            answer.status,
            StatusCode::CONFLICT,
            "{action} on {id}: {}",
            answer.body
        );
        assert_eq!(answer.body, json!({ "error": message }), "{action} on {id}");
    }
}

const ACTIONS: [&str; 6] = [
    "cancel",
    "pause",
    "resume",
    "retry-failed",
    "retry-unknown",
    "delete-from-chats",
];

#[tokio::test]
async fn actions_follow_the_state_machine() {
    // No bot token: a broadcast stays `sending` as long as the test needs.
    let (app, _fake) = without_telegram().await;
    let api = Api::admin(&app).await;
    let sending = api.create(&text_to(stream_9(), "Идёт")).await;

    let paused = api.act(sending, "pause").await;
    assert_eq!(paused.status, StatusCode::OK, "{}", paused.body);
    assert_eq!(paused.body["status"], "paused");
    assert_eq!(paused.body["id"], sending);
    assert_eq!(paused.body["eta_seconds"], Value::Null);
    api.refused(sending, "pause", "cannot pause a paused broadcast")
        .await;
    let resumed = api.act(sending, "resume").await;
    assert_eq!(resumed.status, StatusCode::OK, "{}", resumed.body);
    assert_eq!(resumed.body["status"], "sending");
    api.refused(sending, "resume", "cannot resume a sending broadcast")
        .await;
    api.refused(sending, "retry-failed", "no failed recipients to retry")
        .await;
    api.refused(
        sending,
        "retry-unknown",
        "no recipients with an unknown outcome to retry",
    )
    .await;
    api.refused(
        sending,
        "delete-from-chats",
        "no message was delivered in the last 48 hours",
    )
    .await;
    let cancelled = api.act(sending, "cancel").await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    let body = &cancelled.body;
    assert_eq!(body["status"], "cancelled");
    assert_eq!(body["cancelled_by"], body["created_by"]);
    assert!(is_rfc3339_utc_ms(&body["finished_at"]), "{body}");
    assert_eq!(body["counts"]["pending"], 0, "nobody is left waiting");
    assert_eq!(body["counts"]["skipped"], 3, "{body}");
    for action in ["cancel", "pause", "resume"] {
        api.refused(
            sending,
            action,
            &format!("cannot {action} a cancelled broadcast"),
        )
        .await;
    }

    let scheduled = api
        .create(
            &json!({"audience": stream_9(), "content": {"type": "text", "text": "Потом"},
                        "scheduled_at": "2099-01-01T00:00:00Z"}),
        )
        .await;
    api.refused(scheduled, "pause", "cannot pause a scheduled broadcast")
        .await;
    api.refused(
        scheduled,
        "retry-failed",
        "cannot retry the failed recipients of a scheduled broadcast",
    )
    .await;
    api.refused(
        scheduled,
        "delete-from-chats",
        "cannot delete from chats a scheduled broadcast",
    )
    .await;
    let cancelled = api.act(scheduled, "cancel").await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    assert_eq!(cancelled.body["status"], "cancelled");

    let legacy = insert_legacy(&app).await;
    for action in ACTIONS {
        api.refused(
            legacy,
            action,
            "legacy broadcasts of the previous dashboard cannot be changed",
        )
        .await;
        let unknown = api.act(999_999, action).await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{action}");
        assert_eq!(unknown.body, json!({"error": "broadcast not found"}));
        let bad = api.act("abc", action).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{action}");
        assert_eq!(bad.body, json!({"error": "id must be a positive integer"}));
    }

    let audited: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE entity_type = 'broadcast' AND entity_id = $1 \
         ORDER BY id",
    )
    .bind(sending.to_string())
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        audited,
        [
            "broadcast.create",
            "broadcast.pause",
            "broadcast.resume",
            "broadcast.cancel"
        ]
    );
}

#[tokio::test]
async fn retry_failed_reopens_the_failed_recipients() {
    let (app, fake) = with_telegram().await;
    let api = Api::admin(&app).await;
    fake.reply_for(202, Reply::ChatNotFound);
    let id = api
        .create(&text_to(
            json!({"kind": "users", "user_ids": [201, 202]}),
            "Ещё раз",
        ))
        .await;
    let done = api.wait_for_status(id, "done").await;
    assert_eq!(done["counts"]["sent"], 1, "{done}");
    assert_eq!(done["counts"]["failed"], 1, "{done}");
    let failed = api
        .get(&format!("/api/messages/{id}/recipients?status=failed"))
        .await;
    assert_eq!(failed.total, Some(1));
    assert_eq!(failed.body[0]["user_id"], 202);
    assert!(
        failed.body[0]["error"]
            .as_str()
            .unwrap()
            .contains("chat not found")
    );

    fake.reply_for(202, Reply::Ok);
    let reopened = api.act(id, "retry-failed").await;
    assert_eq!(reopened.status, StatusCode::OK, "{}", reopened.body);
    assert_eq!(reopened.body["counts"]["failed"], 0);
    assert_eq!(reopened.body["finished_at"], Value::Null, "sending again");
    let done = api
        .wait_for(id, "done with both sent", |b| {
            b["status"] == "done" && b["counts"]["sent"] == 2
        })
        .await;
    assert_eq!(done["counts"]["failed"], 0);
    assert_eq!(fake.delivered().get(&202), Some(&1));
    assert_eq!(
        fake.delivered().get(&201),
        Some(&1),
        "201 is not sent again"
    );
    api.refused(id, "retry-failed", "no failed recipients to retry")
        .await;
}

#[tokio::test]
async fn delete_from_chats_deletes_the_delivered_messages() {
    let (app, fake) = with_telegram().await;
    let api = Api::admin(&app).await;
    let id = api
        .create(&text_to(
            json!({"kind": "users", "user_ids": [201, 202, 206]}),
            "Удалю",
        ))
        .await;
    api.wait_for_status(id, "done").await;
    let sent: Vec<(i64, i64)> = api
        .recipients(id)
        .await
        .iter()
        .filter(|r| r["status"] == "sent")
        .map(|r| {
            (
                r["user_id"].as_i64().unwrap(),
                r["telegram_message_id"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(sent.len(), 2);

    let asked = api.act(id, "delete-from-chats").await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    assert_eq!(asked.body["status"], "done");
    assert!(is_rfc3339_utc_ms(&asked.body["delete_requested_at"]));
    let deleted = api
        .wait_for(id, "deleted", |b| b["counts"]["deleted"] == 2)
        .await;
    assert_eq!(deleted["counts"]["sent"], 0);
    assert_eq!(deleted["counts"]["skipped"], 1);
    let calls = fake.calls();
    let deletes: Vec<_> = calls
        .iter()
        .filter(|call| call.method == "deletemessage")
        .collect();
    let last_send = calls
        .iter()
        .filter(|call| call.method == "sendmessage")
        .map(|call| call.at)
        .max()
        .unwrap();
    assert!(deletes.iter().all(|call| call.at >= last_send));
    let mut deletions: Vec<(i64, i64)> = deletes
        .iter()
        .map(|call| {
            (
                call.chat_id.unwrap(),
                call.body["message_id"].as_i64().unwrap(),
            )
        })
        .collect();
    deletions.sort_unstable();
    assert_eq!(deletions, sent);
    for row in api.recipients(id).await {
        if row["user_id"] != 206 {
            assert_eq!(row["status"], "deleted", "{row}");
        }
    }
    api.refused(
        id,
        "delete-from-chats",
        "no message was delivered in the last 48 hours",
    )
    .await;

    // Telegram allows deleting for 48 hours only.
    let old = api.create(&text_to(stream_9(), "Давно")).await;
    api.wait_for_status(old, "done").await;
    sqlx::query(
        "UPDATE message_recipients SET sent_at = now() - interval '49 hours' \
         WHERE message_id = $1",
    )
    .bind(old as i32)
    .execute(&app.pool)
    .await
    .unwrap();
    api.refused(
        old,
        "delete-from-chats",
        "no message was delivered in the last 48 hours",
    )
    .await;
}

#[tokio::test]
async fn a_test_send_goes_to_the_acting_admin() {
    let (app, fake) = with_telegram().await;
    let api = Api::admin(&app).await;
    let id = api
        .create(&json!({
            "audience": stream_9(),
            "content": {"type": "photo", "file_id": "AgAC-photo_1", "caption": "<i>Афиша</i>",
                        "buttons": [[{"text": "Записаться", "url": "https://example.org/go"}]]},
            "scheduled_at": "2099-01-01T00:00:00Z",
        }))
        .await;
    let (session, login) = admin_with_telegram(&app, Some(777)).await;

    let sent = post_as(&app, &session, &format!("/api/messages/{id}/test")).await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    assert_eq!(sent.body["sent_to"], 777);
    assert!(sent.body["telegram_message_id"].as_i64().unwrap() > 0);
    let sends = fake.sends();
    assert_eq!(sends.len(), 1, "{sends:?}");
    assert_eq!(sends[0].method, "sendphoto");
    assert_eq!(sends[0].chat_id, Some(777));
    assert_eq!(sends[0].body["photo"], "AgAC-photo_1");
    assert_eq!(sends[0].body["caption"], "<i>Афиша</i>");
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'broadcast.test' AND actor = $1 \
         AND entity_id = $2 AND after->>'sent_to' = '777'",
    )
    .bind(&login)
    .bind(id.to_string())
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(audited, 1);
    let body = api.get(&format!("/api/messages/{id}")).await.body;
    assert_eq!(body["status"], "scheduled", "a test send changes nothing");

    // Token callers and admins without a Telegram id have nowhere to send.
    let by_token = api.act(id, "test").await;
    assert_eq!(by_token.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        by_token.body["error"]
            .as_str()
            .unwrap()
            .contains("API tokens have none")
    );
    let (no_id, no_id_login) = admin_with_telegram(&app, None).await;
    let answer = post_as(&app, &no_id, &format!("/api/messages/{id}/test")).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        answer.body["error"],
        format!(
            "your account has no Telegram id; set it with \
             `hsl-dashboard staff set-telegram {no_id_login} <user_id>`"
        )
    );

    // Telegram's refusal is passed on, without the token.
    fake.reply_for(777, Reply::Blocked);
    let refused = post_as(&app, &session, &format!("/api/messages/{id}/test")).await;
    assert_eq!(refused.status, StatusCode::BAD_GATEWAY, "{}", refused.body);
    let error = refused.body["error"].as_str().unwrap();
    assert!(error.contains("bot was blocked by the user"), "{error}");
    assert!(!error.contains("TEST-messages-api"), "{error}");

    let unknown = post_as(&app, &session, "/api/messages/999999/test").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(fake.delivered().len(), 1, "only the one test message");
}

#[tokio::test]
async fn messaging_is_for_admins_only() {
    let (app, fake) = with_telegram().await;
    let admin = Api::admin(&app).await;
    let id = admin
        .create(
            &json!({"audience": stream_9(), "content": {"type": "text", "text": "Тсс"},
                        "scheduled_at": "2099-01-01T00:00:00Z"}),
        )
        .await;
    let body = text_to(stream_9(), "Не админ").to_string();
    let mut posts = vec![
        "/api/messages".to_owned(),
        "/api/messages/preview".to_owned(),
        format!("/api/messages/{id}/test"),
    ];
    posts.extend(ACTIONS.iter().map(|a| format!("/api/messages/{id}/{a}")));
    let gets = [
        "/api/messages".to_owned(),
        format!("/api/messages/{id}"),
        format!("/api/messages/{id}/recipients"),
    ];
    for role in [Role::Viewer, Role::Editor] {
        let api = Api {
            app: &app,
            token: app.token(role).await,
        };
        for path in &posts {
            let answer = api.post_raw(path, &body, Some("not-admin")).await;
            assert_eq!(answer.status, StatusCode::FORBIDDEN, "{role} POST {path}");
            assert_eq!(answer.body, json!({"error": "forbidden"}));
        }
        for path in &gets {
            let answer = api.get(path).await;
            assert_eq!(answer.status, StatusCode::FORBIDDEN, "{role} GET {path}");
        }
    }
    let viewer = app.quick_session(Role::Viewer).await;
    let answer = post_as(&app, &viewer, "/api/messages").await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(broadcasts_created(&app).await, 1);
    let body = admin.get(&format!("/api/messages/{id}")).await.body;
    assert_eq!(body["status"], "scheduled");
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn typed_input_is_strict_and_a_part_given_twice_is_refused() {
    let app = spawn_app().await;
    fixture(&app).await;
    let api = Api::admin(&app).await;
    for (path, message) in [
        (
            "/api/messages?limit=%2B5",
            "limit must be an integer between 1 and 200",
        ),
        (
            "/api/messages?limit=1.5",
            "limit must be an integer between 1 and 200",
        ),
        (
            "/api/messages?limit=x&limit=5",
            "limit must be an integer between 1 and 200",
        ),
        (
            "/api/messages?offset=1e3",
            "offset must be a non-negative integer",
        ),
        (
            "/api/messages?status=Done",
            "status must be one of draft, scheduled, sending, paused, done, cancelled, failed",
        ),
        ("/api/messages/0", "id must be a positive integer"),
        ("/api/messages/%2B7", "id must be a positive integer"),
        (
            "/api/messages/2147483648/recipients",
            "id must be a positive integer",
        ),
        (
            "/api/messages/1/recipients?limit=1001",
            "limit must be an integer between 1 and 1000",
        ),
        (
            "/api/messages/1/recipients?status=SENT",
            "status must be one of pending, sending, sent, failed, blocked, unknown, skipped, deleted",
        ),
    ] {
        let answer = api.get(path).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(answer.body, json!({"error": message}), "{path}");
    }
    for path in ["/api/messages/7.0/cancel", "/api/messages/-1/test"] {
        let answer = api.post(path, &json!({})).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(answer.body["error"], "id must be a positive integer");
    }

    // The same part twice is not silently the last one.
    let twice = r#"{"audience": {"kind": "users", "user_ids": [201]},
                    "audience": {"kind": "users", "user_ids": [202]},
                    "content": {"type": "text", "text": "Hi"}}"#;
    for path in ["/api/messages", "/api/messages/preview"] {
        let answer = api.post_raw(path, twice, None).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{path}: {}",
            answer.body
        );
        let error = answer.body["error"].as_str().unwrap();
        assert!(
            error.contains("duplicate field `audience`"),
            "{path}: {error}"
        );
    }
    assert_eq!(broadcasts_created(&app).await, 0);
}
