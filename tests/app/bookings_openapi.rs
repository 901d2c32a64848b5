//! The OpenAPI entries of the bookings, streams, free-lesson and lead
//! routes: bounds, enums, patterns, typed bodies, nullability and error
//! schemas, as the handlers really read and answer.

use hsl_dashboard::domain::role::Role;
use serde_json::{Value, json};

use crate::helpers::spawn_app;

/// The schema `value` points to, `$ref`s followed; a `oneOf`/`anyOf` of
/// null and one schema is that schema.
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    if let Some(reference) = value["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap();
        return resolve(doc, &doc["components"]["schemas"][name]);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = value[key].as_array() {
            let real: Vec<&Value> = options.iter().filter(|o| o["type"] != "null").collect();
            if real.len() == 1 {
                return resolve(doc, real[0]);
            }
        }
    }
    value
}

/// Whether `schema` admits null (OpenAPI 3.1 type list or a null option).
fn nullable(schema: &Value) -> bool {
    schema["type"]
        .as_array()
        .is_some_and(|types| types.iter().any(|t| t == "null"))
        || ["oneOf", "anyOf"].iter().any(|key| {
            schema[*key]
                .as_array()
                .is_some_and(|options| options.iter().any(|o| o["type"] == "null"))
        })
        || schema["nullable"] == true
}

fn param<'a>(doc: &'a Value, path: &str, method: &str, name: &str) -> (&'a Value, &'a Value) {
    let params = doc["paths"][path][method]["parameters"]
        .as_array()
        .unwrap_or_else(|| panic!("{method} {path} has no parameters"));
    let found = params
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{method} {path}: no {name}"));
    (found, resolve(doc, &found["schema"]))
}

fn body<'a>(doc: &'a Value, path: &str, method: &str) -> &'a Value {
    resolve(
        doc,
        &doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"],
    )
}

#[tokio::test]
async fn the_openapi_document_states_the_bounds_enums_and_bodies() {
    let app = spawn_app().await;
    let token = app.token(Role::Viewer).await;
    let doc: Value = app
        .client
        .get(app.url("/api/openapi.json"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let (_, limit) = param(&doc, "/api/bookings", "get", "limit");
    assert_eq!(
        (limit["minimum"].clone(), limit["maximum"].clone()),
        (json!(1), json!(200)),
        "{limit}"
    );
    let (_, offset) = param(&doc, "/api/bookings", "get", "offset");
    assert_eq!(offset["minimum"], 0, "{offset}");
    let (_, status) = param(&doc, "/api/bookings", "get", "status");
    assert_eq!(status["enum"], json!([-1, 0, 1, 2]), "{status}");
    let (_, stream) = param(&doc, "/api/bookings", "get", "stream");
    assert_eq!(stream["pattern"], "^[A-Za-z0-9_-]{1,50}$", "{stream}");
    let (_, user) = param(&doc, "/api/bookings", "get", "user_id");
    assert_eq!(user["minimum"], 1, "{user}");
    let (id, id_schema) = param(&doc, "/api/users/{id}/bookings", "patch", "id");
    assert_eq!(
        (id["in"].clone(), id_schema["minimum"].clone()),
        (json!("path"), json!(1)),
        "{id}"
    );

    // The PATCH bodies are typed objects, not a bare `object`.
    let update = body(&doc, "/api/users/{id}/bookings", "patch");
    assert_eq!(update["required"], json!(["updates"]), "{update}");
    assert!(nullable(&update["properties"]["bookingId"]), "{update}");
    let updates = resolve(&doc, &update["properties"]["updates"]);
    assert_eq!(updates["minProperties"], 1, "{updates}");
    let discount = &updates["properties"]["discount_percent"];
    assert!(nullable(discount), "{discount}");
    assert_eq!(resolve(&doc, discount)["maximum"], 100, "{discount}");
    assert!(!nullable(&updates["properties"]["confirmed"]), "{updates}");
    let moving = body(&doc, "/api/users/{id}/stream", "patch");
    assert_eq!(moving["required"], json!(["newStream"]), "{moving}");
    assert_eq!(
        moving["properties"]["newStream"]["pattern"],
        "^[A-Za-z0-9_-]{1,50}$"
    );
    let stream_patch = body(&doc, "/api/streams/{code}", "patch");
    let capacity = &stream_patch["properties"]["capacity"];
    assert!(nullable(capacity), "{capacity}");
    assert_eq!(resolve(&doc, capacity)["maximum"], 100000, "{capacity}");
    let adopt = &doc["paths"]["/api/streams/{code}/adopt"]["post"]["requestBody"];
    assert_ne!(adopt["required"], true, "the body is optional: {adopt}");
    let adoption = body(&doc, "/api/streams/{code}/adopt", "post");
    assert!(adoption["properties"].is_object(), "{adopt}");
    assert!(
        nullable(&adopt["content"]["application/json"]["schema"]),
        "null is accepted (tested below): {adopt}"
    );
    assert!(nullable(&adoption["properties"]["courseId"]), "{adoption}");

    // Errors have their schema.
    let refused = &doc["paths"]["/api/users/{id}/bookings"]["patch"]["responses"]["409"];
    let refused = resolve(&doc, &refused["content"]["application/json"]["schema"]);
    assert!(refused["properties"]["success"].is_object(), "{refused}");
    let bad = &doc["paths"]["/api/bookings"]["get"]["responses"]["400"];
    let bad = resolve(&doc, &bad["content"]["application/json"]["schema"]);
    assert!(bad["properties"]["error"].is_object(), "{bad}");

    let (_, tier) = param(&doc, "/api/leads", "get", "tier");
    assert_eq!(
        tier["enum"],
        json!(["hot", "warm", "cool", "cold"]),
        "{tier}"
    );
    let (_, limit) = param(&doc, "/api/leads", "get", "limit");
    assert_eq!(limit["maximum"], 500, "{limit}");
    let (_, page) = param(&doc, "/api/free-lessons", "get", "page");
    assert_eq!(page["maximum"], 1_000_000, "{page}");
    let (stream, _) = param(&doc, "/api/stream-students", "get", "stream");
    assert_eq!(stream["required"], true, "{stream}");
    let (_, status) = param(&doc, "/api/stream-students", "get", "status");
    assert_eq!(
        status["enum"],
        json!(["confirmed", "pending", "cancelled", "new", "unknown"]),
        "{status}"
    );
}
