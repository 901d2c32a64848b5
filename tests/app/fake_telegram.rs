//! A fake Telegram Bot API server on 127.0.0.1 (TELEGRAM.md «Testing
//! rule»): it records every call and answers as told — success, 429, 403,
//! 400, 5xx, or never. The real teloxide client talks to it over HTTP.
//! Shared with the delivery benchmark (`benches/delivery.rs`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use tokio::time::Instant;

/// How the server answers a call.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(dead_code)] // each test binary uses some of them
pub enum Reply {
    Ok,
    /// 429 with `retry_after` seconds.
    RetryAfter(u32),
    Blocked,
    Deactivated,
    ChatNotFound,
    CantParseEntities,
    /// 500 Internal Server Error.
    ServerError,
    /// 400 with a description teloxide does not know.
    BadRequest,
    /// 200 with a body that is not JSON (a broken proxy): transient.
    Garbage,
    /// Never answers (the client times out).
    Hang,
}

/// One recorded call.
#[derive(Debug, Clone)]
#[allow(dead_code)] // the benchmark reads fewer fields than the tests
pub struct Call {
    /// Lower case, e.g. `sendmessage`.
    pub method: String,
    pub token: String,
    pub chat_id: Option<i64>,
    pub body: Value,
    pub at: Instant,
    /// What the server answered.
    pub reply: Reply,
}

#[derive(Debug, Default)]
struct Script {
    calls: Vec<Call>,
    /// Answers for particular chats, every time.
    per_chat: HashMap<i64, Reply>,
    /// Answers for the next calls, whatever the chat, in order.
    next: Vec<Reply>,
    latency: Duration,
    message_ids: i32,
}

#[derive(Clone)]
pub struct FakeTelegram {
    pub url: String,
    script: Arc<Mutex<Script>>,
}

#[allow(dead_code)] // each test binary uses some of them
impl FakeTelegram {
    pub async fn start() -> Self {
        let script = Arc::new(Mutex::new(Script::default()));
        let app = Router::new()
            .route("/{bot}/{method}", post(handle))
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, script }
    }

    fn script(&self) -> std::sync::MutexGuard<'_, Script> {
        self.script.lock().unwrap()
    }

    /// Answer every call for `chat` with `reply`.
    pub fn reply_for(&self, chat: i64, reply: Reply) {
        self.script().per_chat.insert(chat, reply);
    }

    /// Answer the next calls with `replies`, in order, then as usual.
    pub fn reply_next(&self, replies: impl IntoIterator<Item = Reply>) {
        self.script().next.extend(replies);
    }

    /// Wait this long before each answer.
    pub fn set_latency(&self, latency: Duration) {
        self.script().latency = latency;
    }

    pub fn calls(&self) -> Vec<Call> {
        self.script().calls.clone()
    }

    /// Successful sends, by chat.
    pub fn delivered(&self) -> HashMap<i64, usize> {
        let mut out = HashMap::new();
        for call in self.calls() {
            if call.method.starts_with("send") && call.reply == Reply::Ok {
                *out.entry(call.chat_id.unwrap_or(0)).or_default() += 1;
            }
        }
        out
    }

    pub fn sends(&self) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|call| call.method.starts_with("send"))
            .collect()
    }
}

async fn handle(
    State(script): State<Arc<Mutex<Script>>>,
    Path((bot, method)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let body = serde_json::from_slice(&body).unwrap_or_else(|_| multipart_fields(&body));
    let chat_id = body["chat_id"]
        .as_i64()
        .or_else(|| body["chat_id"].as_str().and_then(|id| id.parse().ok()));
    let (reply, latency, message_id) = {
        let mut script = script.lock().unwrap();
        let reply = if script.next.is_empty() {
            chat_id
                .and_then(|chat| script.per_chat.get(&chat).cloned())
                .unwrap_or(Reply::Ok)
        } else {
            script.next.remove(0)
        };
        script.message_ids += 1;
        let message_id = script.message_ids;
        script.calls.push(Call {
            method: method.to_ascii_lowercase(),
            token: bot.strip_prefix("bot").unwrap_or(&bot).to_owned(),
            chat_id,
            body: body.clone(),
            at: Instant::now(),
            reply: reply.clone(),
        });
        (reply, script.latency, message_id)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let error = |status: StatusCode, description: &str| {
        (
            status,
            Json(json!({"ok": false, "error_code": status.as_u16(), "description": description})),
        )
            .into_response()
    };
    match reply {
        Reply::Ok if method.eq_ignore_ascii_case("deletemessage") => {
            Json(json!({"ok": true, "result": true})).into_response()
        }
        Reply::Ok => Json(json!({
            "ok": true,
            "result": {
                "message_id": message_id,
                "date": 1_700_000_000,
                "chat": {"id": chat_id.unwrap_or(0), "type": "private", "first_name": "x"},
                "text": body["text"].as_str().unwrap_or(""),
            }
        }))
        .into_response(),
        Reply::RetryAfter(seconds) => (
            StatusCode::TOO_MANY_REQUESTS,
            Json(json!({
                "ok": false, "error_code": 429,
                "description": format!("Too Many Requests: retry after {seconds}"),
                "parameters": {"retry_after": seconds}
            })),
        )
            .into_response(),
        Reply::Blocked => error(
            StatusCode::FORBIDDEN,
            "Forbidden: bot was blocked by the user",
        ),
        Reply::Deactivated => error(StatusCode::FORBIDDEN, "Forbidden: user is deactivated"),
        Reply::ChatNotFound => error(StatusCode::BAD_REQUEST, "Bad Request: chat not found"),
        Reply::CantParseEntities => error(
            StatusCode::BAD_REQUEST,
            "Bad Request: can't parse entities: Unsupported start tag \"br\" at byte offset 1",
        ),
        Reply::ServerError => error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
        Reply::BadRequest => error(StatusCode::BAD_REQUEST, "Bad Request: something unusual"),
        Reply::Garbage => (StatusCode::OK, "<html>proxy error</html>").into_response(),
        Reply::Hang => {
            std::future::pending::<()>().await;
            unreachable!()
        }
    }
}

/// The text fields of a multipart body (teloxide sends media that way), as
/// a JSON object of strings.
fn multipart_fields(body: &[u8]) -> Value {
    let text = String::from_utf8_lossy(body);
    let mut fields = serde_json::Map::new();
    for part in text
        .split("Content-Disposition: form-data; name=\"")
        .skip(1)
    {
        let Some((name, rest)) = part.split_once('"') else {
            continue;
        };
        let Some((_, value)) = rest.split_once("\r\n\r\n") else {
            continue;
        };
        let value = value.split("\r\n--").next().unwrap_or("");
        fields.insert(name.to_owned(), Value::String(value.to_owned()));
    }
    Value::Object(fields)
}
