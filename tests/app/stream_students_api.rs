//! `GET /api/stream-students`: a stream's students by their standing in it
//! (their most advanced booking there), with counts, the status filter and
//! pages.

use hsl_dashboard::domain::role::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::analytics::get_json;
use crate::bookings_api::fixture;
use crate::helpers::spawn_app;

fn ids(body: &Value) -> Vec<i64> {
    body["students"]
        .as_array()
        .unwrap_or_else(|| panic!("no students in {body}"))
        .iter()
        .map(|s| s["userId"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn students_of_a_stream_by_their_standing() {
    let app = spawn_app().await;
    fixture(&app).await;
    let token = app.token(Role::Viewer).await;
    // 8th_stream: Анна's booking 1 (new); Борис's 4 (pending) and, later,
    // 6 (status 5, unknown): pending is the more advanced, so 4 counts.
    let (status, body) = get_json(&app, &token, "/api/stream-students?stream=8th_stream").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["stream"]["name"], "8-й поток");
    assert_eq!(body["stream"]["isCurrent"], true);
    assert_eq!(
        body["counts"],
        json!({"total": 2, "confirmed": 0, "pending": 1, "cancelled": 0, "new": 1, "unknown": 0})
    );
    assert_eq!(ids(&body), [102, 101]);
    let boris = &body["students"][0];
    assert_eq!(
        (
            boris["bookingId"].clone(),
            boris["confirmed"].clone(),
            boris["status"].clone()
        ),
        (json!(4), json!(1), json!("pending"))
    );
    assert_eq!(boris["bookedAt"], "2026-11-01T13:00:00.000Z");
    assert_eq!(
        (body["total"].clone(), body["totalPages"].clone()),
        (json!(2), json!(1))
    );

    let (_, body) = get_json(
        &app,
        &token,
        "/api/stream-students?stream=8th_stream&status=new",
    )
    .await;
    assert_eq!((ids(&body), body["total"].clone()), (vec![101], json!(1)));
    let (_, body) = get_json(
        &app,
        &token,
        "/api/stream-students?stream=8th_stream&limit=1&page=2",
    )
    .await;
    assert_eq!(
        (ids(&body), body["totalPages"].clone()),
        (vec![101], json!(2))
    );
    // A code only bookings know still answers, under its own name.
    let (_, body) = get_json(&app, &token, "/api/stream-students?stream=zz_stream").await;
    assert_eq!(
        (
            body["stream"]["name"].clone(),
            body["stream"]["registered"].clone(),
            ids(&body)
        ),
        (json!("zz_stream"), json!(false), vec![102])
    );
}
