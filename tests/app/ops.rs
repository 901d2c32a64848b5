//! Ops routes, error shapes and cross-cutting layers.

use std::time::{Duration, Instant};

use hsl_dashboard::domain::role::Role;
use hsl_dashboard::local_pg::{Durability, LocalPg};
use hsl_dashboard::store::MIGRATOR;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{app_on_its_own_server, empty_database, http_client, spawn_app, spawn_app_on};

#[tokio::test]
async fn test_db_reports_a_healthy_database() {
    let app = spawn_app().await;
    let response = app.get("/api/test-db").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().contains_key("x-request-id"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "connected");
    assert!(body["latency_ms"].as_f64().unwrap() >= 0.0);
    let version = body["server_version"].as_str().unwrap();
    assert!(
        version.starts_with(|c: char| c.is_ascii_digit()) && !version.contains(' '),
        "{version}"
    );
    assert_eq!(body["migrations"]["applied"], MIGRATOR.iter().count());
    assert_eq!(body["migrations"]["pending"], 0);
    assert_eq!(body["scheduler"]["enabled"], true);
    // No bot token in tests' configuration: the engine says so.
    assert_eq!(body["scheduler"]["telegram_configured"], false);
    assert_eq!(body["scheduler"]["problem"], "Telegram не настроен");
    // Nothing about where the database is or who connects.
    let text = body.to_string();
    for secret in ["127.0.0.1", "postgres://", &app.db.name, "user"] {
        assert!(!text.contains(secret), "{secret} leaked in {text}");
    }
}

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(health.json::<Value>().await.unwrap()["status"], "ok");
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(ready.json::<Value>().await.unwrap()["status"], "ready");
}

#[tokio::test]
async fn pending_migrations_make_the_app_not_ready() {
    let app = spawn_app_on(empty_database().await).await;
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = ready.json().await.unwrap();
    let expected = format!("{} database migration(s) pending", MIGRATOR.iter().count());
    assert_eq!(body["reason"], expected.as_str());

    let test_db: Value = app.get("/api/test-db").await.json().await.unwrap();
    assert_eq!(test_db["migrations"]["applied"], 0);
    assert_eq!(test_db["migrations"]["pending"], MIGRATOR.iter().count());
}

#[tokio::test]
async fn request_id_is_generated_or_echoed() {
    let app = spawn_app().await;
    let generated = app.get("/healthz").await;
    let id = generated.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "a UUID: {id}");

    let echoed = app
        .client
        .get(app.url("/api/nope"))
        .header("x-request-id", "client-chosen-42")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "client-chosen-42");
}

#[tokio::test]
async fn unknown_routes_are_json_for_the_api_and_html_for_pages() {
    let app = spawn_app().await;

    let api = app.get("/api/does-not-exist").await;
    assert_eq!(api.status(), StatusCode::NOT_FOUND);
    assert!(
        api.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(
        api.json::<Value>().await.unwrap(),
        serde_json::json!({"error": "not found"})
    );

    let anonymous = app.get("/no/such/page").await;
    assert_eq!(anonymous.status(), StatusCode::NOT_FOUND);
    assert!(
        !anonymous
            .text()
            .await
            .unwrap()
            .contains("href=\"/workshops\""),
        "strangers don't see the navigation"
    );
    let session = app.login_as(Role::Viewer).await;
    let page = app.get_as(&session, "/no/such/page").await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("Страница не найдена"), "{html}");
    assert!(
        html.contains("href=\"/workshops\""),
        "the layout's navigation is shown"
    );

    let wrong_method = app
        .client
        .post(app.url("/api/test-db"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        wrong_method.json::<Value>().await.unwrap(),
        serde_json::json!({"error": "method not allowed"})
    );

    let missing_asset = app.get("/static/nope.css").await;
    assert_eq!(missing_asset.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn security_headers_are_set_on_pages_and_api() {
    let app = spawn_app().await;
    for path in ["/", "/api/test-db", "/nope"] {
        let response = app.get(path).await;
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert!(headers.contains_key("referrer-policy"), "{path}");
    }
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/api/test-db"))
        .body(vec![b'x'; 2 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn home_page_shows_counts_from_the_database() {
    let app = spawn_app().await;
    sqlx::query(
        "INSERT INTO bookings (user_id, course_id, confirmed) \
         SELECT g, 1, 2 FROM generate_series(1, 7) AS g",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let session = app.login_as(Role::Viewer).await;
    let response = app.get_as(&session, "/").await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("<title>Главная"), "{html}");
    for stat in ["users", "active-bookings", "confirmed"] {
        assert!(
            html.contains(&format!(
                r#"data-stat="{stat}"><span class="stat-value">7</span>"#
            )),
            "{stat}: {html}"
        );
    }
    let css = app.get("/static/app.css").await;
    assert_eq!(css.status(), StatusCode::OK);
    assert!(
        css.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
}

#[tokio::test]
async fn vendored_htmx_is_served_byte_identical() {
    let app = spawn_app().await;
    let response = app.get("/static/htmx.min.js").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let body = response.bytes().await.unwrap();
    assert_eq!(
        body.as_ref(),
        include_bytes!("../../static/htmx.min.js").as_slice()
    );
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("version:\"2.0.11\""), "not htmx 2.0.11");
}

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let app = spawn_app().await;
    for _ in 0..3 {
        app.get("/api/test-db").await;
    }
    app.get("/static/app.css").await;
    let token = app.token(Role::Viewer).await;
    let response = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    let counter = text
        .lines()
        .find(|line| {
            line.starts_with("http_requests_total{")
                && line.contains(r#"route="/api/test-db""#)
                && line.contains(r#"status="200""#)
        })
        .unwrap_or_else(|| panic!("no counter for /api/test-db in:\n{text}"));
    let count: f64 = counter.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(count >= 3.0, "{counter}");
    // Templates, not raw paths.
    assert!(text.contains(r#"route="/static/{file}""#), "{text}");
    assert!(!text.contains("app.css"));
    assert!(text.contains("http_request_duration_seconds_bucket"));
    assert!(
        text.contains(r#"db_pool_connections{state="idle"}"#),
        "{text}"
    );
}

#[tokio::test]
async fn openapi_document_lists_the_json_routes() {
    let app = spawn_app().await;
    let token = app.token(Role::Viewer).await;
    let response = app
        .client
        .get(app.url("/api/openapi.json"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let doc: Value = response.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for (path, role) in [
        ("/api/test-db", "none"),
        ("/healthz", "none"),
        ("/readyz", "none"),
        ("/metrics", "viewer"),
    ] {
        assert_eq!(doc["paths"][path]["get"]["x-required-role"], role, "{path}");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(doc["components"]["schemas"]["TestDbOk"].is_object());
}

/// The database goes away and comes back: the API answers 503 quickly, the
/// server keeps running, and recovers without a restart.
#[tokio::test]
async fn test_db_answers_503_while_the_database_is_down_and_recovers() {
    let (root, pg, app) = app_on_its_own_server("outage").await;
    let port = pg.port();
    assert_eq!(app.get("/api/test-db").await.status(), StatusCode::OK);
    let session = app.login_as(Role::Viewer).await;
    app.pool.close().await;

    tokio::task::spawn_blocking(move || pg.stop())
        .await
        .unwrap()
        .unwrap();

    let client = http_client();
    for _ in 0..2 {
        let started = Instant::now();
        let response = client.get(app.url("/api/test-db")).send().await.unwrap();
        let elapsed = started.elapsed();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(elapsed <= Duration::from_secs(3), "took {elapsed:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], "error");
        assert_eq!(body["database"], "unreachable");
        let reason = body["error"].as_str().unwrap();
        assert!(
            !reason.is_empty() && !reason.contains("127.0.0.1") && !reason.contains("postgres")
        );
    }
    // Pages say so too, as a page, not a crash.
    let page = app.get_as(&session, "/").await;
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("База данных недоступна")
    );
    assert_eq!(
        client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK,
        "the process stays up"
    );

    let _pg = LocalPg::start_on(&root, Durability::Throwaway, Some(port))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = client
            .get(app.url("/api/test-db"))
            .send()
            .await
            .unwrap()
            .status();
        if status == StatusCode::OK {
            break;
        }
        assert!(Instant::now() < deadline, "did not recover: {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
