//! The messaging routes as `/api/openapi.json` publishes them: typed
//! bodies (audience and content as `oneOf`), bounded parameters, documented
//! errors — and a body built only from the document creates a broadcast,
//! as a schema-driven fuzzer would.

use hsl_dashboard::domain::role::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

async fn document(app: &TestApp) -> Value {
    let token = app.token(Role::Admin).await;
    let response = app
        .client
        .get(app.url("/api/openapi.json"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// Follows a `$ref` (`#/components/schemas/X`) to its schema.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.rsplit('/').next().unwrap();
            let found = &doc["components"]["schemas"][name];
            assert!(found.is_object(), "{reference} is not in the document");
            resolve(doc, found)
        }
        None => schema,
    }
}

/// The parameter `name` of `method path`.
fn parameter<'a>(doc: &'a Value, path: &str, method: &str, name: &str) -> &'a Value {
    let parameters = doc["paths"][path][method]["parameters"]
        .as_array()
        .unwrap_or_else(|| panic!("{method} {path} has no parameters"));
    let found = parameters
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{method} {path} has no parameter {name}"));
    resolve(doc, &found["schema"])
}

/// The variants of a `oneOf`, each resolved, by the value of `tag`.
fn variants<'a>(doc: &'a Value, schema: &'a Value, tag: &str) -> Vec<(String, Value)> {
    let schema = resolve(doc, schema);
    let one_of = schema["oneOf"]
        .as_array()
        .unwrap_or_else(|| panic!("not a oneOf: {schema}"));
    one_of
        .iter()
        .map(|variant| {
            let variant = resolve(doc, variant);
            // A variant is an object, or (for a shared shape) allOf the
            // shape and the tag.
            let mut merged = json!({"properties": {}});
            let parts: Vec<&Value> = match variant["allOf"].as_array() {
                Some(parts) => parts.iter().map(|p| resolve(doc, p)).collect(),
                None => vec![variant],
            };
            for part in parts {
                if let Some(properties) = part["properties"].as_object() {
                    for (name, property) in properties {
                        merged["properties"][name] = property.clone();
                    }
                }
            }
            let name = merged["properties"][tag]["enum"][0]
                .as_str()
                .unwrap_or_else(|| panic!("variant without a {tag}: {variant}"))
                .to_owned();
            (name, merged)
        })
        .collect()
}

#[tokio::test]
async fn the_broadcast_body_is_typed_with_its_constraints() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    for path in ["/api/messages", "/api/messages/preview"] {
        let body =
            &doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"];
        let body = resolve(&doc, body);
        assert_ne!(body, &json!({"type": "object"}), "{path}: a bare object");
        let required: Vec<&str> = body["required"]
            .as_array()
            .unwrap_or_else(|| panic!("{path}: nothing required: {body}"))
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        assert_eq!(required, ["audience", "content"], "{path}");
        let properties = body["properties"].as_object().unwrap();
        let mut names: Vec<&str> = properties.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, ["audience", "content", "scheduled_at"], "{path}");
        let when = resolve(&doc, &body["properties"]["scheduled_at"]);
        assert_eq!(when["format"], "date-time", "{when}");
    }
    let body = resolve(
        &doc,
        &doc["paths"]["/api/messages"]["post"]["requestBody"]["content"]["application/json"]["schema"],
    );

    let audiences = variants(&doc, &body["properties"]["audience"], "kind");
    let kinds: Vec<&str> = audiences.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(kinds, ["users", "stream", "segment"]);
    let users = &audiences[0].1["properties"]["user_ids"];
    assert_eq!(resolve(&doc, &users["items"])["minimum"], 1, "{users}");
    assert_eq!(users["minItems"], 1);
    let streams = &audiences[1].1["properties"]["streams"];
    let code = resolve(&doc, &streams["items"]);
    assert_eq!(
        code["pattern"], "^([0-9]+:)?[A-Za-z0-9_-]{1,50}$",
        "a code or course_id:code: {streams}"
    );
    let statuses = &audiences[1].1["properties"]["statuses"];
    assert_eq!(
        statuses["items"]["enum"],
        json!([-1, 0, 1, 2]),
        "{statuses}"
    );
    let segment = resolve(&doc, &audiences[2].1["properties"]["segment"]);
    assert_eq!(segment["enum"], json!(["never_paid", "hackathon", "all"]));

    let contents = variants(&doc, &body["properties"]["content"], "type");
    let types: Vec<&str> = contents.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(types, ["text", "photo", "video", "document"]);
    assert_eq!(contents[0].1["properties"]["text"]["minLength"], 1);
    assert_eq!(
        contents[1].1["properties"]["file_id"]["pattern"],
        "^[A-Za-z0-9_-]{1,256}$"
    );
    // A button is a link or a callback, never both.
    let buttons = &contents[0].1["properties"]["buttons"];
    let button = resolve(&doc, &buttons["items"]["items"]);
    let kinds: Vec<&Value> = button["oneOf"]
        .as_array()
        .unwrap_or_else(|| panic!("a button is not a oneOf: {button}"))
        .iter()
        .map(|kind| &kind["required"])
        .collect();
    assert_eq!(
        kinds,
        [&json!(["text", "url"]), &json!(["text", "callback_data"])]
    );
}

#[tokio::test]
async fn the_list_parameters_carry_their_bounds_and_errors_their_schema() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let limit = parameter(&doc, "/api/messages", "get", "limit");
    assert_eq!(
        (&limit["minimum"], &limit["maximum"]),
        (&json!(1), &json!(200))
    );
    let offset = parameter(&doc, "/api/messages", "get", "offset");
    assert_eq!(offset["minimum"], 0);
    let status = parameter(&doc, "/api/messages", "get", "status");
    assert_eq!(
        status["enum"],
        json!([
            "draft",
            "scheduled",
            "sending",
            "paused",
            "done",
            "cancelled",
            "failed"
        ])
    );
    let limit = parameter(&doc, "/api/messages/{id}/recipients", "get", "limit");
    assert_eq!(limit["maximum"], 1000);
    let status = parameter(&doc, "/api/messages/{id}/recipients", "get", "status");
    assert_eq!(status["enum"].as_array().unwrap().len(), 8);
    for (path, method) in [
        ("/api/messages/{id}", "get"),
        ("/api/messages/{id}/recipients", "get"),
        ("/api/messages/{id}/cancel", "post"),
        ("/api/messages/{id}/test", "post"),
    ] {
        let id = parameter(&doc, path, method, "id");
        assert_eq!(id["minimum"], 1, "{method} {path}: {id}");
        let not_found = &doc["paths"][path][method]["responses"]["404"];
        let schema = &not_found["content"]["application/json"]["schema"];
        assert_eq!(
            resolve(&doc, schema)["properties"]["error"]["type"],
            "string",
            "{method} {path}: {not_found}"
        );
    }
}

#[tokio::test]
async fn the_documented_example_creates_a_broadcast() {
    let app = spawn_app().await;
    sqlx::raw_sql(
        "INSERT INTO users (user_id, username, first_name) VALUES (301, 'anna', 'Анна'), \
         (302, 'boris', 'Борис')",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let doc = document(&app).await;
    let body = resolve(
        &doc,
        &doc["paths"]["/api/messages"]["post"]["requestBody"]["content"]["application/json"]["schema"],
    );
    let example = body["example"].clone();
    assert!(example.is_object(), "no example: {body}");
    let token = app.token(Role::Admin).await;
    let preview = app
        .client
        .post(app.url("/api/messages/preview"))
        .bearer_auth(&token)
        .json(&example)
        .send()
        .await
        .unwrap();
    assert_eq!(preview.status(), StatusCode::OK);
    let preview: Value = preview.json().await.unwrap();
    assert_eq!(preview["errors"], json!([]), "{preview}");
    let created = app
        .client
        .post(app.url("/api/messages"))
        .bearer_auth(&token)
        .json(&example)
        .send()
        .await
        .unwrap();
    let status = created.status();
    let created: Value = created.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["status"], "sending");
    assert_eq!(created["recipient_count"], 2);
}
