//! Issue 16, bookings area: the booking and stream use cases called
//! directly (one rule for the API and the page: a field set to what it
//! already is is no change to that field), the API following the same rule,
//! and the typed queries' strictness. The OpenAPI entries: bookings_openapi.rs.

use hsl_dashboard::app::Context;
use hsl_dashboard::app::bookings::{self, BookingError, Change};
use hsl_dashboard::app::streams::{self, Patch, StreamError};
use hsl_dashboard::delivery::Wake;
use hsl_dashboard::domain::booking::BookingStatus;
use hsl_dashboard::domain::booking_change::Updates;
use hsl_dashboard::domain::input::UserId;
use hsl_dashboard::domain::role::Role;
use hsl_dashboard::domain::stream::StreamCode;
use hsl_dashboard::store::audit::Actor;
use hsl_dashboard::store::bookings::Target;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::bookings_api::fixture;
use crate::helpers::{TestApp, spawn_app};

fn context<'a>(pool: &'a PgPool, wake: &'a Wake) -> Context<'a> {
    Context {
        pool,
        actor: Actor {
            name: "tester".into(),
            client_addr: None,
            request_id: None,
        },
        wake,
        reads: crate::helpers::reads(),
    }
}

async fn row(pool: &PgPool, id: i32) -> (Option<i32>, Option<String>, Option<i32>) {
    sqlx::query_as("SELECT confirmed, course_stream, discount_percent FROM bookings WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn audits(pool: &PgPool, id: i32) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE entity_type = 'booking' AND entity_id = $1",
    )
    .bind(id.to_string())
    .fetch_one(pool)
    .await
    .unwrap()
}

fn code(raw: &str) -> StreamCode {
    StreamCode::parse(raw).unwrap()
}

/// Booking 2 of user 101 is confirmed in 7th_stream; booking 5 of user 102
/// is in zz_stream, which is not registered.
#[tokio::test]
async fn the_booking_use_cases_treat_a_value_kept_as_no_change() {
    let app = spawn_app().await;
    fixture(&app).await;
    let pool = &app.pool;
    let wake = Wake::default();
    let ctx = context(pool, &wake);

    // The same status is no transition (confirmed → confirmed is not in the
    // table), the discount still changes, and the change is audited.
    let change = Change {
        target: Target::Id(2),
        updates: Updates {
            confirmed: Some(BookingStatus::Confirmed),
            discount_percent: Some(Some(
                hsl_dashboard::domain::booking::DiscountPercent::new(20).unwrap(),
            )),
            ..Updates::default()
        },
        version: None,
        force: false,
    };
    let updated = bookings::update(&ctx, UserId(101), change).await.unwrap();
    assert_eq!(
        (updated.confirmed, updated.discount_percent),
        (Some(2), Some(20))
    );
    assert_eq!(audits(pool, 2).await, 1);

    // The same, unregistered stream is no move: it stays, no registry check.
    let keep = Change {
        target: Target::Id(5),
        updates: Updates {
            course_stream: Some(Some(code("zz_stream"))),
            discount_percent: Some(None),
            ..Updates::default()
        },
        version: None,
        force: false,
    };
    bookings::update(&ctx, UserId(102), keep).await.unwrap();
    assert_eq!(row(pool, 5).await, (None, Some("zz_stream".into()), None));

    // A different status still follows the table; another stream still
    // needs the registry; a stale version is refused; nothing is written.
    let pending = Change {
        target: Target::Id(2),
        updates: Updates {
            confirmed: Some(BookingStatus::Pending),
            ..Updates::default()
        },
        version: None,
        force: false,
    };
    let refused = bookings::update(&ctx, UserId(101), pending).await;
    assert!(
        matches!(&refused, Err(BookingError::Transition(err)) if err.to.api_name() == "pending"),
        "{refused:?}"
    );
    let unknown = Change {
        target: Target::Id(5),
        updates: Updates {
            course_stream: Some(Some(code("nope_stream"))),
            ..Updates::default()
        },
        version: None,
        force: false,
    };
    let refused = bookings::update(&ctx, UserId(102), unknown).await;
    assert!(
        matches!(&refused, Err(BookingError::UnknownStream(code)) if code == "nope_stream"),
        "{refused:?}"
    );
    let stale = Change {
        target: Target::Id(2),
        updates: Updates {
            discount_percent: Some(None),
            ..Updates::default()
        },
        version: Some("1".into()),
        force: false,
    };
    let refused = bookings::update(&ctx, UserId(101), stale).await;
    assert!(matches!(refused, Err(BookingError::Stale)), "{refused:?}");
    let other_user = Change {
        target: Target::Id(2),
        updates: Updates {
            discount_percent: Some(None),
            ..Updates::default()
        },
        version: None,
        force: false,
    };
    let refused = bookings::update(&ctx, UserId(102), other_user).await;
    assert!(
        matches!(refused, Err(BookingError::NotFound)),
        "{refused:?}"
    );
    assert_eq!(audits(pool, 2).await, 1, "refusals write nothing");
    assert_eq!(
        row(pool, 2).await,
        (Some(2), Some("7th_stream".into()), Some(20))
    );

    // A move asks for a move: into the stream it is in is refused.
    let same = bookings::move_stream(&ctx, UserId(102), &code("8th_stream"), false).await;
    assert!(matches!(same, Err(BookingError::SameStream)), "{same:?}");
    let moved = bookings::move_stream(&ctx, UserId(102), &code("mentoring"), false)
        .await
        .unwrap();
    assert_eq!(
        (moved.id, moved.course_stream.as_deref()),
        (6, Some("mentoring"))
    );
    assert!(matches!(
        bookings::known_user(pool, UserId(104)).await,
        Err(BookingError::UnknownUser)
    ));
    bookings::known_user(pool, UserId(103)).await.unwrap();
}

#[tokio::test]
async fn the_stream_use_cases_validate_once_for_both_adapters() {
    let app = spawn_app().await;
    fixture(&app).await;
    let wake = Wake::default();
    let ctx = context(&app.pool, &wake);
    let nothing = streams::update(&ctx, 1, &code("7th_stream"), Patch::default()).await;
    assert!(
        matches!(nothing, Err(StreamError::NothingToChange)),
        "{nothing:?}"
    );
    let missing = Patch {
        capacity: Some(Some(3)),
        ..Patch::default()
    };
    let missing = streams::update(&ctx, 1, &code("nope"), missing).await;
    assert!(matches!(missing, Err(StreamError::NotFound)), "{missing:?}");
    let too_many = Patch {
        capacity: Some(Some(100_001)),
        ..Patch::default()
    };
    let refused = streams::update(&ctx, 1, &code("7th_stream"), too_many).await;
    assert!(
        matches!(refused, Err(StreamError::Invalid(_))),
        "{refused:?}"
    );
    let cleared = Patch {
        capacity: Some(None),
        ..Patch::default()
    };
    let entry = streams::update(&ctx, 1, &code("7th_stream"), cleared)
        .await
        .unwrap();
    assert_eq!(entry.capacity, None);
    let adopted = streams::adopt(&ctx, &code("zz_stream"), None, "zz_stream")
        .await
        .unwrap();
    assert_eq!(
        (adopted.course_id, adopted.display_name.as_str()),
        (1, "zz_stream")
    );
    let again = streams::adopt(&ctx, &code("zz_stream"), None, "zz_stream").await;
    assert!(matches!(again, Err(StreamError::Exists)), "{again:?}");
    let ghost = streams::adopt(&ctx, &code("ghost"), None, "ghost").await;
    assert!(
        matches!(ghost, Err(StreamError::NotInBookings)),
        "{ghost:?}"
    );
}

async fn patch(app: &TestApp, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let response = app
        .client
        .patch(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

/// Before the rule, the API refused what the page accepted: the status a
/// booking has (409, "from confirmed to confirmed") and the unregistered
/// stream it is in (400, "unknown stream").
#[tokio::test]
async fn the_api_keeps_a_value_as_the_page_does() {
    let app = spawn_app().await;
    fixture(&app).await;
    let editor = app.token(Role::Editor).await;
    let (status, body) = patch(
        &app,
        &editor,
        "/api/users/101/bookings",
        json!({"bookingId": 2, "updates": {"confirmed": 2, "discount_percent": 25}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["booking"]["status"], "confirmed");
    assert_eq!(body["booking"]["discount_percent"], 25);

    let (status, body) = patch(
        &app,
        &editor,
        "/api/users/102/bookings",
        json!({"bookingId": 5, "updates": {"course_stream": "zz_stream", "referral_code": "KEEP"}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["booking"]["course_stream"], "zz_stream");
    assert_eq!(body["booking"]["referral_code"], "KEEP");

    // The adopt body is optional and nullable, as its schema says.
    let response = app
        .client
        .post(app.url("/api/streams/zz_stream/adopt"))
        .bearer_auth(&editor)
        .header("content-type", "application/json")
        .body("null")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);

    // Moving is still a move.
    let (status, body) = patch(
        &app,
        &editor,
        "/api/users/102/stream",
        json!({"newStream": "8th_stream"}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    // A typed body still names the field at fault, never a 500.
    for (body, message) in [
        (
            json!({"updates": {"confirmed": null}}),
            "confirmed must be one of -1, 1, 2",
        ),
        (
            json!({"updates": 5}),
            "updates must be an object with at least one field",
        ),
        (
            json!({"updates": null}),
            "updates must be an object with at least one field",
        ),
        (
            json!({"bookingId": 2147483648_i64, "updates": {"confirmed": 2}}),
            "bookingId must be a positive integer or null",
        ),
        (
            json!({"bookingId": 1.0, "updates": {"confirmed": 2}}),
            "bookingId must be a positive integer or null",
        ),
        (
            json!({"updates": {"discount_percent": "5"}}),
            "discount_percent must be an integer between 0 and 100",
        ),
        (
            json!({"updates": {"referral_code": 7}}),
            "referral_code must be",
        ),
    ] {
        let (status, answer) = patch(&app, &editor, "/api/users/101/bookings", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_eq!(answer["success"], false, "{body}");
        assert!(
            answer["error"].as_str().unwrap().starts_with(message),
            "{body}: {answer}"
        );
    }
}

/// The typed queries stay strict and name the parameter in API.md's words.
#[tokio::test]
async fn typed_queries_refuse_loose_numbers_and_unknown_names() {
    let app = spawn_app().await;
    fixture(&app).await;
    let token = app.token(Role::Viewer).await;
    for (path, message) in [
        (
            "/api/bookings?status=+1",
            "status must be one of -1, 0, 1, 2",
        ),
        (
            "/api/bookings?status=1.0",
            "status must be one of -1, 0, 1, 2",
        ),
        (
            "/api/bookings?course_id=1.5",
            "course_id must be a positive integer",
        ),
        (
            "/api/bookings?course_id=2147483648",
            "course_id must be a positive integer",
        ),
        (
            "/api/bookings?user_id=0",
            "user_id must be a positive integer",
        ),
        (
            "/api/bookings?offset=+0",
            "offset must be a non-negative integer",
        ),
        ("/api/bookings?limit=5&limit=x", ""),
        (
            "/api/leads?tier=HOT",
            "tier must be one of hot, warm, cool, cold",
        ),
        (
            "/api/leads?limit=+5",
            "limit must be an integer between 1 and 500",
        ),
        (
            "/api/free-lessons?page=+1",
            "page must be an integer between 1 and 1000000",
        ),
        (
            "/api/stream-students?stream=8th_stream&status=Confirmed",
            "status must be one of confirmed, pending, cancelled, new, unknown",
        ),
        (
            "/api/stream-students?stream=8th_stream&limit=1.0",
            "limit must be an integer between 1 and 200",
        ),
    ] {
        let response = app
            .client
            .get(app.url(path))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        if message.is_empty() {
            // The first value of a name wins.
            assert_eq!(status, StatusCode::OK, "{path}: {body}");
            continue;
        }
        assert_eq!(
            (status, body),
            (StatusCode::BAD_REQUEST, json!({"error": message})),
            "{path}"
        );
    }
}
