//! The published OpenAPI document tells the truth: real answers validate
//! against the schema the document declares for their status, for every GET
//! operation over demo data, for a broadcast created and read back, and for
//! the errors a client meets (no credentials, a parameter that does not fit,
//! a body that does not fit, an unknown id).

use chrono::{DurationRound, TimeDelta, Utc};
use hsl_dashboard::domain::role::Role;
use hsl_dashboard::store::{self, demo};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

struct Api {
    app: TestApp,
    token: String,
    doc: Value,
}

impl Api {
    async fn start() -> Self {
        let app = spawn_app().await;
        let mut conn = store::maintenance_connection(&app.db.url).await.unwrap();
        let anchor = Utc::now().duration_trunc(TimeDelta::hours(1)).unwrap();
        demo::seed(&mut conn, 300, anchor, false).await.unwrap();
        let token = app.token(Role::Admin).await;
        let doc = app
            .client
            .get(app.url("/api/openapi.json"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Self { app, token, doc }
    }

    async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> (StatusCode, Value) {
        let mut request = self
            .app
            .client
            .request(method, self.app.url(path))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// The schema of `status`'s JSON answer of `method template`, with the
    /// document's components beside it so its `$ref`s resolve.
    fn validator(&self, method: &str, template: &str, status: StatusCode) -> jsonschema::Validator {
        let operation = &self.doc["paths"][template][method];
        assert!(
            operation.is_object(),
            "{method} {template} is not documented"
        );
        let response = &operation["responses"][status.as_str()];
        assert!(
            response.is_object(),
            "{method} {template}: the answer {status} is not documented (documented: {:?})",
            operation["responses"]
                .as_object()
                .map(|r| r.keys().collect::<Vec<_>>())
        );
        let schema = &response["content"]["application/json"]["schema"];
        assert!(
            schema.is_object(),
            "{method} {template}: the {status} answer has no JSON schema"
        );
        let mut root = schema.clone();
        root["components"] = self.doc["components"].clone();
        jsonschema::draft202012::new(&root)
            .unwrap_or_else(|err| panic!("{method} {template} {status}: bad schema: {err}"))
    }

    /// Asserts the answer to `path` (an instance of `template`) fits its schema.
    fn check(&self, method: &Method, template: &str, path: &str, status: StatusCode, body: &Value) {
        let validator = self.validator(&method.as_str().to_lowercase(), template, status);
        let errors: Vec<String> = validator
            .iter_errors(body)
            .take(5)
            .map(|err| format!("{} at {}", err, err.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{method} {path} → {status}: the answer does not fit the documented schema:\n{}\n{}",
            errors.join("\n"),
            truncated(body)
        );
    }

    fn get_templates(&self) -> Vec<String> {
        let mut templates: Vec<String> = self.doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, item)| item["get"].is_object())
            .map(|(template, _)| template.clone())
            .collect();
        templates.sort();
        templates
    }
}

fn truncated(body: &Value) -> String {
    body.to_string().chars().take(600).collect()
}

/// A real instance of `template`: each `{name}` filled with a value that exists.
fn fill(template: &str, values: &[(&str, String)]) -> String {
    let mut path = template.to_owned();
    while let Some(start) = path.find('{') {
        let end = start + path[start..].find('}').unwrap();
        let name = &path[start + 1..end];
        let value = values
            .iter()
            .find(|(known, _)| *known == name)
            .unwrap_or_else(|| panic!("{template}: no test value for the parameter {{{name}}}"))
            .1
            .clone();
        path.replace_range(start..=end, &value);
    }
    path
}

/// `?name=value&…` for the required query parameters of `operation`, each
/// with a value its schema allows (the first of an enum, its example, a
/// `known` value that exists, the minimum).
fn required_query(operation: &Value, known: &[(&str, String)]) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    let mut any = false;
    for parameter in operation["parameters"].as_array().into_iter().flatten() {
        if parameter["in"] != "query" || parameter["required"] != true {
            continue;
        }
        let schema = &parameter["schema"];
        let value = if let Some(first) = schema["enum"].get(0) {
            first
                .as_str()
                .map_or_else(|| first.to_string(), str::to_owned)
        } else if let Some(example) = parameter.get("example").or(schema.get("example")) {
            example
                .as_str()
                .map_or_else(|| example.to_string(), str::to_owned)
        } else if let Some((_, value)) = known.iter().find(|(name, _)| *name == parameter["name"]) {
            value.clone()
        } else if schema["type"] == "integer" {
            schema["minimum"].as_i64().unwrap_or(1).to_string()
        } else {
            panic!("no value for the required parameter {parameter}")
        };
        query.append_pair(parameter["name"].as_str().unwrap(), &value);
        any = true;
    }
    if any {
        format!("?{}", query.finish())
    } else {
        String::new()
    }
}

/// Routes whose answer is not JSON.
const NOT_JSON: &[&str] = &["/metrics"];

async fn a_broadcast(api: &Api) -> i64 {
    let at = (Utc::now() + TimeDelta::days(30)).to_rfc3339();
    let (status, created) = api
        .call(
            Method::POST,
            "/api/messages",
            Some(&json!({
                "audience": {"kind": "segment", "segment": "all"},
                "content": {"type": "text", "text": "<b>Привет</b>"},
                "scheduled_at": at,
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    api.check(
        &Method::POST,
        "/api/messages",
        "/api/messages",
        status,
        &created,
    );
    created["id"].as_i64().unwrap()
}

#[tokio::test]
async fn every_get_answer_fits_its_documented_schema() {
    let api = Api::start().await;
    let broadcast = a_broadcast(&api).await;
    let user: i64 = sqlx::query_scalar("SELECT user_id FROM bookings ORDER BY id LIMIT 1")
        .fetch_one(&api.app.pool)
        .await
        .unwrap();
    let stream: String =
        sqlx::query_scalar("SELECT code FROM stream_registry ORDER BY code LIMIT 1")
            .fetch_one(&api.app.pool)
            .await
            .unwrap();
    let values = [
        ("id", user.to_string()),
        ("user_id", user.to_string()),
        ("code", stream.clone()),
        ("stream", stream),
    ];
    let mut checked = 0;
    for template in api.get_templates() {
        if NOT_JSON.contains(&template.as_str()) {
            continue;
        }
        let path = if template.starts_with("/api/messages/") {
            fill(&template, &[("id", broadcast.to_string())])
        } else {
            fill(&template, &values)
        };
        let path = format!(
            "{path}{}",
            required_query(&api.doc["paths"][&template]["get"], &values)
        );
        let (status, body) = api.call(Method::GET, &path, None).await;
        assert!(
            status.is_success(),
            "GET {path} → {status}: {}",
            truncated(&body)
        );
        api.check(&Method::GET, &template, &path, status, &body);
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} GET operations were checked");
}

#[tokio::test]
async fn error_answers_fit_their_documented_schemas() {
    let api = Api::start().await;
    // No credentials: every staff route says 401, as documented.
    for template in api.get_templates() {
        let operation = &api.doc["paths"][&template]["get"];
        if operation["x-required-role"] == "none" || NOT_JSON.contains(&template.as_str()) {
            continue;
        }
        let path = fill(
            &template,
            &[
                ("id", "1".into()),
                ("user_id", "1".into()),
                ("code", "x".into()),
                ("stream", "x".into()),
            ],
        );
        let response = api.app.client.get(api.app.url(&path)).send().await.unwrap();
        let status = response.status();
        assert_eq!(status, StatusCode::UNAUTHORIZED, "GET {path}");
        let body: Value = response.json().await.unwrap();
        api.check(&Method::GET, &template, &path, status, &body);
    }
    // An integer query parameter given text: 400, as documented.
    let mut refused = 0;
    for template in api.get_templates() {
        let operation = &api.doc["paths"][&template]["get"];
        let Some(parameters) = operation["parameters"].as_array() else {
            continue;
        };
        for parameter in parameters {
            if parameter["in"] != "query" || parameter["schema"]["type"] != "integer" {
                continue;
            }
            let filled = fill(
                &template,
                &[
                    ("id", "1".into()),
                    ("user_id", "1".into()),
                    ("code", "x".into()),
                    ("stream", "x".into()),
                ],
            );
            let path = format!("{filled}?{}=12abc", parameter["name"].as_str().unwrap());
            let (status, body) = api.call(Method::GET, &path, None).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "GET {path}: {body}");
            api.check(&Method::GET, &template, &path, status, &body);
            refused += 1;
        }
    }
    assert!(refused >= 5, "only {refused} integer parameters were tried");
    // Text no person types, refused before any handler: in the shape each
    // route documents (the users family has its own).
    for (template, path) in [
        ("/api/users", "/api/users?search=a%03b"),
        ("/api/bookings", "/api/bookings?stream=a%00"),
    ] {
        let (status, body) = api.call(Method::GET, path, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "GET {path}: {body}");
        api.check(&Method::GET, template, path, status, &body);
    }
    // A body that does not fit, and an id nobody has.
    let (status, body) = api
        .call(Method::POST, "/api/messages", Some(&json!({"audience": 5})))
        .await;
    assert!(status.is_client_error(), "{status} {body}");
    api.check(
        &Method::POST,
        "/api/messages",
        "/api/messages",
        status,
        &body,
    );
    let (status, body) = api.call(Method::GET, "/api/messages/999999", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    api.check(
        &Method::GET,
        "/api/messages/{id}",
        "/api/messages/999999",
        status,
        &body,
    );
}

#[tokio::test]
async fn request_bodies_and_parameters_are_described() {
    let api = Api::start().await;
    for (template, item) in api.doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Some(body) = operation.get("requestBody") else {
                continue;
            };
            let schema = &body["content"]["application/json"]["schema"];
            let bare = schema.get("$ref").is_none()
                && schema.get("oneOf").is_none()
                && schema.get("properties").is_none();
            assert!(
                !bare,
                "{method} {template}: the request body is a bare {schema}"
            );
        }
    }
    // Bounds are published: a limit has a minimum and a maximum.
    let limits: Vec<&Value> = api.doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|item| item["get"]["parameters"].as_array())
        .flatten()
        .filter(|parameter| parameter["name"] == "limit")
        .collect();
    assert!(!limits.is_empty());
    for limit in limits {
        assert_eq!(limit["schema"]["minimum"], 1, "{limit}");
        assert!(limit["schema"]["maximum"].is_number(), "{limit}");
    }
}
