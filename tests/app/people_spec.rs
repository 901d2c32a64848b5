//! The users and analytics routes in the published OpenAPI document: every
//! query and path parameter with its type, bounds, enum or pattern, and
//! the error answers with their schema; and the strict reading of the same
//! parameters over HTTP (exact 400 messages).

use hsl_dashboard::domain::role::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::spawn_app;

fn doc() -> Value {
    serde_json::to_value(hsl_dashboard::web::api::openapi()).unwrap()
}

/// The schema of parameter `name` of `GET path`, with `$ref`s resolved.
fn param(doc: &Value, path: &str, name: &str) -> (Value, Value) {
    let params = doc["paths"][path]["get"]["parameters"]
        .as_array()
        .unwrap_or_else(|| panic!("{path} has no parameters"));
    let param = params
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{path} has no parameter {name}: {params:?}"))
        .clone();
    let schema = resolve(doc, &param["schema"]);
    (param, schema)
}

fn resolve(doc: &Value, schema: &Value) -> Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.rsplit('/').next().unwrap();
            resolve(doc, &doc["components"]["schemas"][name])
        }
        None => schema.clone(),
    }
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn users_parameters_carry_their_bounds_enums_and_patterns() {
    let doc = doc();
    let (_, limit) = param(&doc, "/api/users", "limit");
    assert_eq!(
        (&limit["type"], &limit["minimum"], &limit["maximum"]),
        (&json!("integer"), &json!(1), &json!(200)),
        "{limit}"
    );
    let (_, page) = param(&doc, "/api/users", "page");
    assert_eq!(
        (&page["minimum"], &page["maximum"]),
        (&json!(1), &json!(1_000_000)),
        "{page}"
    );
    let (_, status) = param(&doc, "/api/users", "status");
    assert_eq!(
        strings(&status["enum"]),
        ["-1", "0", "1", "2", "none"],
        "{status}"
    );
    let (_, sort) = param(&doc, "/api/users", "sort");
    assert_eq!(strings(&sort["enum"]), ["activity", "id"], "{sort}");
    let (_, stream) = param(&doc, "/api/users", "stream");
    assert!(stream["pattern"].is_string(), "{stream}");
    let (_, search) = param(&doc, "/api/users", "search");
    assert_eq!(search["type"], "string", "{search}");

    let user = resolve(&doc, &json!({"$ref": "#/components/schemas/UserJson"}));
    let status = &user["properties"]["latest_status"];
    assert_eq!(
        status["enum"],
        json!(["new", "pending", "confirmed", "cancelled", "unknown", null]),
        "{status}"
    );

    let (id, schema) = param(&doc, "/api/users/{id}", "id");
    assert_eq!(id["in"], "path");
    assert_eq!(
        (&schema["minimum"], &schema["format"]),
        (&json!(1), &json!("int64")),
        "{schema}"
    );
    for (path, codes) in [
        ("/api/users", &["400"][..]),
        ("/api/users/{id}", &["400", "404"][..]),
    ] {
        for code in codes {
            let body = &doc["paths"][path]["get"]["responses"][code]["content"]["application/json"]
                ["schema"];
            let body = resolve(&doc, body);
            assert!(
                body["properties"]["error"].is_object()
                    && body["properties"]["success"].is_object(),
                "{path} {code}: {body}"
            );
        }
    }
}

#[test]
fn analytics_parameters_carry_their_bounds_and_enums() {
    let doc = doc();
    for path in ["/api/user-growth", "/api/events"] {
        let (_, days) = param(&doc, path, "days");
        assert_eq!(
            (&days["minimum"], &days["maximum"]),
            (&json!(1), &json!(365)),
            "{path}: {days}"
        );
        for name in ["from", "to"] {
            let (_, date) = param(&doc, path, name);
            assert_eq!(date["format"], "date", "{path} {name}: {date}");
        }
        let error =
            &doc["paths"][path]["get"]["responses"]["400"]["content"]["application/json"]["schema"];
        assert!(
            resolve(&doc, error)["properties"]["error"].is_object(),
            "{path}: {error}"
        );
    }
    let events = resolve(&doc, &json!({"$ref": "#/components/schemas/EventsJson"}));
    assert_eq!(
        strings(&events["properties"]["type"]["enum"]),
        ["daily", "top", "recent"],
        "{events}"
    );
    let (kind, schema) = param(&doc, "/api/events", "type");
    assert_eq!(kind["required"], true);
    assert_eq!(strings(&schema["enum"]), ["daily", "top", "recent"]);
    let (_, limit) = param(&doc, "/api/events", "limit");
    assert_eq!(
        (&limit["minimum"], &limit["maximum"]),
        (&json!(1), &json!(100)),
        "{limit}"
    );
}

#[tokio::test]
async fn users_and_analytics_read_numbers_strictly() {
    let app = spawn_app().await;
    let token = app.token(Role::Viewer).await;
    let get = |path: String| {
        let request = app.client.get(app.url(&path)).bearer_auth(&token);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let limit = "limit must be an integer between 1 and 200";
    let page = "page must be an integer between 1 and 1000000";
    for (query, message) in [
        ("limit=+5", limit),
        ("limit=1.5", limit),
        ("limit=%205", limit),
        ("limit=", limit),
        ("limit=201", limit),
        ("page=", page),
        ("page=1e3", page),
        ("sort=", "sort must be activity or id"),
        ("status=-0", "status must be one of -1, 0, 1, 2, none"),
    ] {
        let (status, body) = get(format!("/api/users?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body, json!({"success": false, "error": message}), "{query}");
    }
    for id in ["+7", "%207", "7%20", "0x7"] {
        let (status, body) = get(format!("/api/users/{id}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{id}: {body}");
        assert_eq!(body, json!({"success": false, "error": "Invalid user ID"}));
    }
    let limit = "limit must be an integer between 1 and 100";
    for query in [
        "type=recent&limit=+5",
        "type=top&limit=1.0",
        "type=daily&limit=-1",
    ] {
        let (status, body) = get(format!("/api/events?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body, json!({"error": limit}), "{query}");
    }
    // The type is checked before the range, and the range before the limit.
    for (query, message) in [
        ("limit=0", "type must be one of daily, top, recent"),
        (
            "limit=0&type=weekly",
            "type must be one of daily, top, recent",
        ),
        (
            "type=top&limit=0&days=0",
            "days must be an integer between 1 and 365",
        ),
    ] {
        let (status, body) = get(format!("/api/events?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body, json!({"error": message}), "{query}");
    }
}
