//! `/api/intake-rules` and the registry page's switch: reading, switching
//! (audited), strict input, and who may.

use hsl_dashboard::domain::role::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{call, second_course, switch};
use crate::helpers::spawn_app;

async fn rule_audits(app: &crate::helpers::TestApp) -> Vec<(String, String, Value, Value)> {
    sqlx::query_as(
        "SELECT actor, entity_id, before, after FROM audit_log \
         WHERE action = 'intake_rule.update' AND entity_type = 'intake_rule' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn rules_are_listed_switched_audited_and_bad_input_is_refused() {
    let app = spawn_app().await;
    second_course(&app.pool).await;
    let viewer = app.token(Role::Viewer).await;
    let editor = app.token(Role::Editor).await;

    let (status, list) = call(&app, &viewer, Method::GET, "/api/intake-rules", None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(
        list["rules"][0],
        json!({
            "courseId": 1, "courseName": "Вайб кодинг", "sourceCode": "4th_stream",
            "enabled": false, "switchedOnAt": null, "afterBookingId": 0,
            "targetCode": "8th_stream", "targetName": "8-й поток", "idle": "off", "moved": 0,
        })
    );
    assert_eq!(list["rules"][1]["courseId"], 2);
    assert_eq!(list["rules"][1]["targetCode"], "py_1");
    assert_eq!(list["rules"].as_array().unwrap().len(), 2);

    // Viewers may not switch.
    let (status, body) = call(
        &app,
        &viewer,
        Method::PUT,
        "/api/intake-rules/1",
        Some(r#"{"enabled": true}"#),
    )
    .await;
    assert_eq!(
        (status, body),
        (StatusCode::FORBIDDEN, json!({"error": "forbidden"}))
    );

    // Strict input.
    for (path, body, expected) in [
        (
            "/api/intake-rules/999",
            r#"{"enabled": true}"#,
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/intake-rules/abc",
            r#"{"enabled": true}"#,
            StatusCode::BAD_REQUEST,
        ),
        ("/api/intake-rules/1", r#"{}"#, StatusCode::BAD_REQUEST),
        (
            "/api/intake-rules/1",
            r#"{"enabled": "yes"}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/intake-rules/1",
            r#"{"enabled": 1}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/intake-rules/1",
            r#"{"enabled": null}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/intake-rules/1",
            r#"{"enabled": true, "sourceCode": "5th_stream"}"#,
            StatusCode::BAD_REQUEST,
        ),
        ("/api/intake-rules/1", r#"[true]"#, StatusCode::BAD_REQUEST),
        (
            "/api/intake-rules/1",
            "enabled=true",
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (status, answer) = call(&app, &editor, Method::PUT, path, Some(body)).await;
        assert_eq!(status, expected, "{path} {body}: {answer}");
        assert!(answer["error"].is_string(), "{path} {body}: {answer}");
    }
    let (_, answer) = call(
        &app,
        &editor,
        Method::PUT,
        "/api/intake-rules/999",
        Some(r#"{"enabled": true}"#),
    )
    .await;
    assert_eq!(answer["error"], "course_id: no course with the id 999");
    assert!(
        rule_audits(&app).await.is_empty(),
        "refusals change nothing"
    );

    // Switching on: audited with before and after, the watermark set.
    sqlx::query("INSERT INTO bookings (id, user_id, course_id) VALUES (41, 1, 1)")
        .execute(&app.pool)
        .await
        .unwrap();
    let on = switch(&app, &editor, 1, true).await;
    assert_eq!(on["afterBookingId"], 41, "{on}");
    assert_eq!(on["idle"], json!(null));
    assert!(on["switchedOnAt"].is_string(), "{on}");
    let audits = rule_audits(&app).await;
    assert_eq!(audits.len(), 1);
    let (actor, entity, before, after) = &audits[0];
    assert!(actor.starts_with("token:test-editor-"), "{actor}");
    assert_eq!(entity, "1");
    assert_eq!(before["enabled"], false);
    assert_eq!(after["enabled"], true);
    assert_eq!(after["after_booking_id"], 41);
    assert_eq!(after["source_code"], "4th_stream");

    // Asking again for the state it is in changes and audits nothing.
    let again = switch(&app, &editor, 1, true).await;
    assert_eq!(again["switchedOnAt"], on["switchedOnAt"]);
    assert_eq!(rule_audits(&app).await.len(), 1);

    let off = switch(&app, &editor, 1, false).await;
    assert_eq!(off["idle"], "off");
    let audits = rule_audits(&app).await;
    assert_eq!(audits.len(), 2);
    assert_eq!(
        (&audits[1].2["enabled"], &audits[1].3["enabled"]),
        (&json!(true), &json!(false))
    );

    // The OpenAPI document has both operations, editors only for the switch.
    let (_, doc) = call(&app, &viewer, Method::GET, "/api/openapi.json", None).await;
    let path = &doc["paths"]["/api/intake-rules/{course_id}"]["put"];
    assert_eq!(path["x-required-role"], "editor", "{path}");
    assert!(path["responses"]["404"].is_object(), "{path}");
    assert_eq!(
        doc["paths"]["/api/intake-rules"]["get"]["x-required-role"],
        "viewer"
    );
}

#[tokio::test]
async fn editors_switch_the_rule_on_the_registry_page() {
    let app = spawn_app().await;
    let viewer = app.login_as(Role::Viewer).await;
    let editor = app.login_as(Role::Editor).await;

    let html = app
        .get_as(&viewer, "/settings/streams")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("data-intake-course=\"1\" data-intake-state=\"off\""));
    assert!(html.contains("новые заявки из бота (<code>4th_stream</code>) — в текущий набор"));
    let start = html.find("data-intake-course=\"1\"").unwrap();
    let row = &html[start..start + html[start..].find("</tr>").unwrap()];
    assert!(row.contains("8-й поток"), "where it would move to: {row}");
    assert!(row.contains("Правило выключено"), "{row}");
    assert!(row.contains("<td data-intake-moved>0</td>"), "{row}");
    assert!(
        !html.contains("/settings/intake-rules/"),
        "viewers get no switch"
    );
    let refused = app
        .post_form_as(&viewer, "/settings/intake-rules/1", &[("enabled", "on")])
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    let html = app
        .get_as(&editor, "/settings/streams")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("action=\"/settings/intake-rules/1\""));
    let done = app
        .post_form_as(&editor, "/settings/intake-rules/1", &[("enabled", "on")])
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let location = done.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location, "/settings/streams?notice=intake_on#intake");
    let html = app.get_as(&editor, &location).await.text().await.unwrap();
    assert!(html.contains("Правило включено"));
    assert!(html.contains("data-intake-course=\"1\" data-intake-state=\"on\""));
    let (actor,): (String,) = sqlx::query_as(
        "SELECT actor FROM audit_log WHERE action = 'intake_rule.update' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(actor.starts_with("editor-"), "{actor}");

    // Without the CSRF token, with a bad switch, for an unknown course: refused.
    let no_csrf = app
        .client
        .post(app.url("/settings/intake-rules/1"))
        .header("cookie", &editor.cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("enabled=off")
        .send()
        .await
        .unwrap();
    assert_eq!(no_csrf.status(), StatusCode::FORBIDDEN);
    let bad = app
        .post_form_as(&editor, "/settings/intake-rules/1", &[("enabled", "maybe")])
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let unknown = app
        .post_form_as(&editor, "/settings/intake-rules/77", &[("enabled", "off")])
        .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let enabled: bool = sqlx::query_scalar("SELECT enabled FROM intake_rules WHERE course_id = 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(enabled, "the refused forms changed nothing");

    let off = app
        .post_form_as(&editor, "/settings/intake-rules/1", &[("enabled", "off")])
        .await;
    assert_eq!(off.status(), StatusCode::SEE_OTHER);
    let html = app
        .get_as(&viewer, "/settings/streams")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("data-intake-course=\"1\" data-intake-state=\"off\""));
    assert!(html.contains("Правило выключено"));
}
