//! Every bad parameter of the analytics API and pages: 400 with a message
//! that names the problem, never a 500.

use chrono::{Days, Utc};
use hsl_dashboard::domain::role::Role;
use reqwest::StatusCode;

use crate::analytics::get_json;
use crate::helpers::spawn_app;

fn tomorrow() -> String {
    (Utc::now()
        .with_timezone(&chrono_tz::Europe::Moscow)
        .date_naive()
        + Days::new(1))
    .format("%Y-%m-%d")
    .to_string()
}

#[tokio::test]
async fn bad_api_parameters_get_400_with_a_message() {
    let app = spawn_app().await;
    let token = app.token(Role::Viewer).await;
    let future = tomorrow();
    let days = "days must be an integer between 1 and 365";
    let dates = "from and to must be dates as YYYY-MM-DD";
    let mut cases: Vec<(String, &str)> = Vec::new();
    for base in [
        "/api/user-growth?",
        "/api/events?type=daily&",
        "/api/events?type=top&",
    ] {
        for bad in [
            "0",
            "366",
            "-1",
            "1.5",
            "7d",
            "",
            "+7",
            "%207",
            "999999999999999999999",
        ] {
            cases.push((format!("{base}days={bad}"), days));
        }
        for (query, message) in [
            ("from=2026-11-01", "from and to go together"),
            ("to=2026-11-01", "from and to go together"),
            (
                "days=7&from=2026-11-01&to=2026-11-02",
                "either days or from and to",
            ),
            ("from=2026-11-31&to=2026-12-01", dates),
            ("from=01.11.2026&to=2026-11-02", dates),
            ("from=2026-11-01&to=", dates),
            ("from=2026-11-02&to=2026-11-01", "from must not be after to"),
            ("from=2024-01-01&to=2025-01-01", "at most 365 days"),
        ] {
            cases.push((format!("{base}{query}"), message));
        }
        cases.push((
            format!("{base}from=2026-11-01&to={future}"),
            "to must not be after today",
        ));
    }
    let types = "type must be one of daily, top, recent";
    let limit = "limit must be an integer between 1 and 100";
    for (path, message) in [
        ("/api/events", types),
        ("/api/events?type=", types),
        ("/api/events?type=weekly", types),
        ("/api/events?type=TOP", types),
        ("/api/events?type=top&limit=0", limit),
        ("/api/events?type=top&limit=101", limit),
        ("/api/events?type=top&limit=ten", limit),
        ("/api/events?type=daily&limit=", limit),
        ("/api/events?type=recent&limit=0", limit),
        ("/api/events?type=recent&limit=1.5", limit),
        (
            "/api/leads?tier=lukewarm",
            "tier must be one of hot, warm, cool, cold",
        ),
        (
            "/api/leads?tier=",
            "tier must be one of hot, warm, cool, cold",
        ),
        (
            "/api/leads?to=2026-13-01",
            "to must be a date (YYYY-MM-DD), not after today",
        ),
        (
            "/api/leads?to=yesterday",
            "to must be a date (YYYY-MM-DD), not after today",
        ),
        (
            "/api/leads?limit=0",
            "limit must be an integer between 1 and 500",
        ),
        (
            "/api/leads?limit=501",
            "limit must be an integer between 1 and 500",
        ),
        (
            "/api/leads?offset=-1",
            "offset must be a non-negative integer",
        ),
        (
            "/api/leads?offset=x",
            "offset must be a non-negative integer",
        ),
        (
            "/api/free-lessons?page=0",
            "page must be an integer between 1 and 1000000",
        ),
        (
            "/api/free-lessons?page=two",
            "page must be an integer between 1 and 1000000",
        ),
        (
            "/api/free-lessons?limit=201",
            "limit must be an integer between 1 and 200",
        ),
        (
            "/api/free-lessons?limit=",
            "limit must be an integer between 1 and 200",
        ),
        ("/api/stream-students", "stream is required"),
        (
            "/api/stream-students?stream=8th_stream&status=paid",
            "status must be one of",
        ),
        (
            "/api/stream-students?stream=8th_stream&status=2",
            "status must be one of",
        ),
        (
            "/api/stream-students?stream=8th_stream&page=0",
            "page must be",
        ),
        (
            "/api/stream-students?stream=8th_stream&limit=500",
            "limit must be",
        ),
    ] {
        cases.push((path.to_owned(), message));
    }
    cases.push((format!("/api/leads?to={future}"), "not after today"));
    for (path, message) in &cases {
        let (status, body) = get_json(&app, &token, path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        let error = body["error"].as_str().unwrap_or_default();
        assert!(
            error.contains(message),
            "{path}: {error:?} lacks {message:?}"
        );
    }
    let (status, body) = get_json(&app, &token, "/api/stream-students?stream=a%20b").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = get_json(&app, &token, "/api/stream-students?stream=nope").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("stream not found"))
    );
}
