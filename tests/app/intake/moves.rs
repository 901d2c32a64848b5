//! The mover: a booking the bot writes lands in the current intake within
//! seconds, once, audited and marked, whichever process moves it; and what
//! it never touches stays where it is.

use hsl_dashboard::App;
use hsl_dashboard::domain::role::Role;
use hsl_dashboard::store;
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{bot_booking, call, move_audits, second_course, stream_of, switch, wait_until_in};
use crate::helpers::{TestApp, migrated_database, spawn_app, spawn_app_on, test_config};

/// The HTML of the first element with `marker`, up to `end`.
fn fragment<'a>(html: &'a str, marker: &str, end: &str) -> &'a str {
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not on the page"));
    let rest = &html[start..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

const MARKER: &str = "перенесено автоматически";

#[tokio::test]
async fn a_bot_booking_lands_in_the_current_intake_once_audited_and_marked() {
    let app = spawn_app().await;
    let editor = app.token(Role::Editor).await;
    let rule = switch(&app, &editor, 1, true).await;
    assert_eq!(rule["targetCode"], "8th_stream");
    assert_eq!(rule["idle"], json!(null));

    let booking = bot_booking(&app.pool, 9001, 1).await;
    wait_until_in(&app.pool, booking, "8th_stream").await;

    // A later booking moved too: ticks went on after the first move.
    let later = bot_booking(&app.pool, 9002, 1).await;
    wait_until_in(&app.pool, later, "8th_stream").await;
    let audits = move_audits(&app.pool, booking).await;
    assert_eq!(audits.len(), 1, "{audits:?}");
    let (actor, before, after) = &audits[0];
    assert_eq!(actor, "system");
    assert_eq!(before["course_stream"], "4th_stream");
    assert_eq!(before["user_id"], 9001);
    assert_eq!(after["course_stream"], "8th_stream");
    assert_eq!(after["rule"]["course_id"], 1);
    assert_eq!(after["rule"]["source_code"], "4th_stream");
    let moves: Vec<(i32, String, String)> = sqlx::query_as(
        "SELECT course_id, from_code, to_code FROM intake_moves WHERE booking_id = $1",
    )
    .bind(booking)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(moves, [(1, "4th_stream".into(), "8th_stream".into())]);
    // The move changed only the stream.
    let (status, user): (Option<i32>, String) =
        sqlx::query_as("SELECT confirmed, username FROM bookings WHERE id = $1")
            .bind(booking)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((status, user.as_str()), (Some(0), "student9001"));

    let viewer = app.login_as(Role::Viewer).await;
    // /workshops: the current intake's card counts both.
    let html = app
        .get_as(&viewer, "/workshops")
        .await
        .text()
        .await
        .unwrap();
    let card = fragment(&html, "stream-card current", "</article>");
    assert!(card.contains("8-й поток"), "{card}");
    assert!(card.contains("data-bookings=\"2\""), "{card}");
    let fourth = fragment(&html, ">4-й поток</a>", "</article>");
    assert!(fourth.contains("data-bookings=\"0\""), "{fourth}");

    // The user page marks the booking.
    let html = app
        .get_as(&viewer, "/users/9001")
        .await
        .text()
        .await
        .unwrap();
    let row = fragment(&html, &format!("id=\"booking-{booking}\""), "</tr>");
    assert!(row.contains("8-й поток") && row.contains(MARKER), "{row}");
    assert!(html.contains(">system<"), "the history names the mover");

    // So does the stream page.
    let html = app
        .get_as(&viewer, "/workshops/1/8th_stream")
        .await
        .text()
        .await
        .unwrap();
    let row = fragment(&html, "data-user=\"9001\"", "</tr>");
    assert!(row.contains(MARKER), "{row}");

    // The registry page counts the moves.
    let html = app
        .get_as(&viewer, "/settings/streams")
        .await
        .text()
        .await
        .unwrap();
    let row = fragment(&html, "data-intake-course=\"1\"", "</tr>");
    assert!(row.contains("data-intake-state=\"on\""), "{row}");
    assert!(row.contains("<td data-intake-moved>2</td>"), "{row}");
    assert!(row.contains("8-й поток"), "the target: {row}");
}

#[tokio::test]
async fn two_server_processes_move_each_booking_once() {
    let first = spawn_app_on(migrated_database().await).await;
    // A second server process on the same database, with its own mover.
    let second = App::build(test_config(&first.db.url)).await.unwrap();
    tokio::spawn(second.run_until(std::future::pending()));
    let editor = first.token(Role::Editor).await;
    switch(&first, &editor, 1, true).await;

    // Many at once, and the test itself ticking too, as more replicas.
    let ids: Vec<i32> = sqlx::query_scalar(
        "INSERT INTO bookings (user_id, username, first_name, course_id, confirmed) \
         SELECT 7000 + n, 'u' || n, 'Пользователь', 1, 0 FROM generate_series(1, 40) n \
         RETURNING id",
    )
    .fetch_all(&first.pool)
    .await
    .unwrap();
    let replicas: Vec<_> = (0..3)
        .map(|_| {
            let pool = first.pool.clone();
            tokio::spawn(async move {
                for _ in 0..20 {
                    store::intake::move_once(&pool).await.unwrap();
                }
            })
        })
        .collect();
    for replica in replicas {
        replica.await.unwrap();
    }
    for id in &ids {
        wait_until_in(&first.pool, *id, "8th_stream").await;
    }
    let later = bot_booking(&first.pool, 7999, 1).await;
    wait_until_in(&first.pool, later, "8th_stream").await;

    let (moves, audits, distinct): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM intake_moves), \
                (SELECT count(*) FROM audit_log WHERE action = 'booking.intake_move'), \
                (SELECT count(DISTINCT entity_id) FROM audit_log \
                 WHERE action = 'booking.intake_move')",
    )
    .fetch_one(&first.pool)
    .await
    .unwrap();
    assert_eq!((moves, audits, distinct), (41, 41, 41));
}

#[tokio::test]
async fn older_placed_other_code_and_other_course_bookings_stay() {
    let app = spawn_app().await;
    second_course(&app.pool).await;
    let editor = app.token(Role::Editor).await;

    // Created before the rule was switched on.
    let older = bot_booking(&app.pool, 8001, 1).await;
    switch(&app, &editor, 1, true).await;
    // Another code.
    let other_code: i32 = sqlx::query_scalar(
        "INSERT INTO bookings (user_id, course_id, confirmed, course_stream) \
         VALUES (8002, 1, 0, '5th_stream') RETURNING id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    // Placed in 4th_stream deliberately, through the dashboard.
    let placed: i32 = sqlx::query_scalar(
        "INSERT INTO bookings (user_id, course_id, confirmed, course_stream) \
         VALUES (8003, 1, 0, '6th_stream') RETURNING id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let (status, body) = call(
        &app,
        &editor,
        Method::PATCH,
        "/api/users/8003/bookings",
        Some(&json!({"bookingId": placed, "updates": {"course_stream": "4th_stream"}}).to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Course 2's bot booking, with the rule on for course 1 only.
    let course_two = bot_booking(&app.pool, 8004, 2).await;

    // Course 1's next bot booking moves: the tick that moved it saw the rest.
    let sentinel = bot_booking(&app.pool, 8005, 1).await;
    wait_until_in(&app.pool, sentinel, "8th_stream").await;

    for (booking, code) in [
        (older, "4th_stream"),
        (other_code, "5th_stream"),
        (placed, "4th_stream"),
        (course_two, "4th_stream"),
    ] {
        assert_eq!(
            stream_of(&app.pool, booking).await.as_deref(),
            Some(code),
            "booking {booking}"
        );
        assert!(move_audits(&app.pool, booking).await.is_empty());
    }
    let moved: Vec<i32> = sqlx::query_scalar("SELECT booking_id FROM intake_moves")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(moved, [sentinel]);

    // Course 2's rule is its own: on, it moves course 2's new bookings only.
    switch(&app, &editor, 2, true).await;
    let course_two_new = bot_booking(&app.pool, 8006, 2).await;
    wait_until_in(&app.pool, course_two_new, "py_1").await;
    assert_eq!(
        stream_of(&app.pool, course_two).await.as_deref(),
        Some("4th_stream"),
        "created before course 2's rule was switched on"
    );
}

#[tokio::test]
async fn switching_the_rule_off_stops_it_and_on_again_covers_only_newer_bookings() {
    let app = spawn_app().await;
    second_course(&app.pool).await;
    let editor = app.token(Role::Editor).await;
    switch(&app, &editor, 1, true).await;
    switch(&app, &editor, 2, true).await;
    let first = bot_booking(&app.pool, 8101, 1).await;
    wait_until_in(&app.pool, first, "8th_stream").await;

    switch(&app, &editor, 1, false).await;
    let while_off = bot_booking(&app.pool, 8102, 1).await;
    // Course 2's rule still moves: its tick came after the booking above.
    let sentinel = bot_booking(&app.pool, 8103, 2).await;
    wait_until_in(&app.pool, sentinel, "py_1").await;
    assert_eq!(
        stream_of(&app.pool, while_off).await.as_deref(),
        Some("4th_stream")
    );

    // On again: only bookings created from now on.
    switch(&app, &editor, 1, true).await;
    let after = bot_booking(&app.pool, 8104, 1).await;
    wait_until_in(&app.pool, after, "8th_stream").await;
    assert_eq!(
        stream_of(&app.pool, while_off).await.as_deref(),
        Some("4th_stream")
    );
    assert!(move_audits(&app.pool, while_off).await.is_empty());
}

#[tokio::test]
async fn without_a_current_intake_nothing_moves_and_the_registry_says_why() {
    let app = spawn_app().await;
    second_course(&app.pool).await;
    let editor = app.token(Role::Editor).await;
    let (status, body) = call(
        &app,
        &editor,
        Method::PATCH,
        "/api/streams/8th_stream",
        Some(r#"{"isCurrent": false}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rule = switch(&app, &editor, 1, true).await;
    assert_eq!(rule["idle"], "no_current_intake");
    assert_eq!(rule["targetCode"], json!(null));
    switch(&app, &editor, 2, true).await;

    let waiting = bot_booking(&app.pool, 8201, 1).await;
    let sentinel = bot_booking(&app.pool, 8202, 2).await;
    wait_until_in(&app.pool, sentinel, "py_1").await;
    assert_eq!(
        stream_of(&app.pool, waiting).await.as_deref(),
        Some("4th_stream")
    );

    let viewer = app.login_as(Role::Viewer).await;
    let html = app
        .get_as(&viewer, "/settings/streams")
        .await
        .text()
        .await
        .unwrap();
    let row = fragment(&html, "data-intake-course=\"1\"", "</tr>");
    assert!(row.contains("data-intake-state=\"on\""), "{row}");
    assert!(row.contains("нет текущего набора"), "{row}");
    assert!(row.contains("<td data-intake-moved>0</td>"), "{row}");
    let row = fragment(&html, "data-intake-course=\"2\"", "</tr>");
    assert!(row.contains("PRO 1-й поток"), "{row}");
    assert!(!row.contains("нет текущего набора"), "{row}");

    // Once the course has a current intake again, the rule's bookings go there.
    let (status, body) = call(
        &app,
        &editor,
        Method::PATCH,
        "/api/streams/7th_stream",
        Some(r#"{"isCurrent": true}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    wait_until_in(&app.pool, waiting, "7th_stream").await;
}

/// A tick in a process that does not hold the lock moves nothing, and a
/// tick with nothing to do is a no-op.
#[tokio::test]
async fn a_tick_moves_nothing_while_another_holds_the_lock() {
    let app: TestApp = spawn_app().await;
    let editor = app.token(Role::Editor).await;
    let mut holder = app.pool.begin().await.unwrap();
    // The mover's key, "hsl_intk".
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(0x6873_6c5f_696e_746b_i64)
        .execute(&mut *holder)
        .await
        .unwrap();
    switch(&app, &editor, 1, true).await;
    let booking = bot_booking(&app.pool, 8301, 1).await;
    assert_eq!(store::intake::move_once(&app.pool).await.unwrap(), 0);
    assert_eq!(
        stream_of(&app.pool, booking).await.as_deref(),
        Some("4th_stream")
    );
    holder.rollback().await.unwrap();
    wait_until_in(&app.pool, booking, "8th_stream").await;
}

/// A staff change in progress on a booking the mover wants: the mover
/// skips it without waiting (other bookings still move), and once the
/// change has committed with its audit row the booking is staff's and is
/// never moved.
#[tokio::test]
async fn a_booking_staff_are_changing_is_skipped_and_then_left_alone() {
    let app = spawn_app().await;
    let editor = app.token(Role::Editor).await;
    switch(&app, &editor, 1, true).await;
    // The movers paused while the scene is set.
    let mut pause = app.pool.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(0x6873_6c5f_696e_746b_i64)
        .execute(&mut *pause)
        .await
        .unwrap();
    let booking = bot_booking(&app.pool, 8401, 1).await;
    let first = bot_booking(&app.pool, 8402, 1).await;
    // As the dashboard changes a booking: row locked, changed, audited.
    let mut staff = app.pool.begin().await.unwrap();
    sqlx::query("SELECT id FROM bookings WHERE id = $1 FOR UPDATE")
        .bind(booking)
        .execute(&mut *staff)
        .await
        .unwrap();
    sqlx::query("UPDATE bookings SET confirmed = 1 WHERE id = $1")
        .bind(booking)
        .execute(&mut *staff)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO audit_log (actor, action, entity_type, entity_id, before, after) \
         VALUES ('editor', 'booking.update', 'booking', $1, '{}', '{}')",
    )
    .bind(booking.to_string())
    .execute(&mut *staff)
    .await
    .unwrap();
    pause.rollback().await.unwrap();

    // The tick moves the other booking and does not wait for the locked one.
    wait_until_in(&app.pool, first, "8th_stream").await;
    staff.commit().await.unwrap();

    let second = bot_booking(&app.pool, 8403, 1).await;
    wait_until_in(&app.pool, second, "8th_stream").await;
    assert_eq!(
        stream_of(&app.pool, booking).await.as_deref(),
        Some("4th_stream")
    );
    assert!(move_audits(&app.pool, booking).await.is_empty());
}
