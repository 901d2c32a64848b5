//! Response headers and connection handling: nothing signed-in is cached,
//! oversized API bodies get a JSON 413, `/api/bookings` keeps API.md's fixed
//! body with the database down, a client trickling headers is cut off, and
//! connections beyond the cap wait.

use std::time::{Duration, Instant};

use hsl_dashboard::App;
use hsl_dashboard::domain::role::Role;
use hsl_dashboard::domain::staff::TokenName;
use hsl_dashboard::store::audit::Actor;
use hsl_dashboard::store::tokens;
use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{
    app_on_its_own_server, http_client, migrated_database, spawn_app, spawn_app_with, test_config,
};

#[tokio::test]
async fn signed_in_responses_are_never_cached() {
    let app = spawn_app().await;
    let admin = app.quick_session(Role::Admin).await;
    let token = app.token(Role::Viewer).await;
    for path in [
        "/",
        "/users",
        "/users.csv",
        "/free-lessons.csv",
        "/audit",
        "/messages",
        "/api/users",
        "/api/users?limit=abc",
        "/no-such-page",
    ] {
        let response = app.get_as(&admin, path).await;
        assert_eq!(
            response
                .headers()
                .get("cache-control")
                .map(|v| v.to_str().unwrap()),
            Some("no-store"),
            "{path}: {}",
            response.status()
        );
    }
    for path in ["/api/bookings", "/api/stats", "/api/openapi.json"] {
        let response = app
            .client
            .get(app.url(path))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.headers()["cache-control"], "no-store", "{path}");
    }
    // Static files may be cached.
    let css = app.get("/static/app.css").await;
    assert_eq!(css.headers()["cache-control"], "public, max-age=3600");
}

#[tokio::test]
async fn an_oversized_api_body_gets_a_json_413() {
    let app = spawn_app().await;
    let token = app.token(Role::Admin).await;
    let huge = format!(
        "{{\"content\": {{\"type\": \"text\", \"text\": \"{}\"}}}}",
        "a".repeat(2 * 1024 * 1024)
    );
    for path in ["/api/messages", "/api/messages/preview", "/api/streams"] {
        let response = app
            .client
            .post(app.url(path))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(huge.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "{path}"
        );
        let body: Value = response.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().contains("larger than"),
            "{path}: {body}"
        );
    }
    // A page's form gets the error page.
    let admin = app.quick_session(Role::Admin).await;
    let big_text = "a".repeat(2 * 1024 * 1024);
    let page = app
        .post_form_as(&admin, "/messages/new", &[("text", &big_text)])
        .await;
    assert_eq!(page.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("Слишком большой запрос")
    );
}

/// API.md: with the database unreachable, `/api/bookings` answers 503 with
/// `{"error":"Failed to fetch bookings"}`, even though checking the
/// caller's token is what fails first.
#[tokio::test]
async fn bookings_keep_their_fixed_body_while_the_database_is_down() {
    let (_, pg, app) = app_on_its_own_server("bookings-outage").await;
    let token = app.token(Role::Viewer).await;
    let session = app.quick_session(Role::Viewer).await;
    let bookings = |request: reqwest::RequestBuilder| async move {
        let response = request.send().await.unwrap();
        (response.status(), response.text().await.unwrap())
    };
    let up = bookings(app.client.get(app.url("/api/bookings")).bearer_auth(&token)).await;
    assert_eq!(up.0, StatusCode::OK);
    app.pool.close().await;
    tokio::task::spawn_blocking(move || pg.stop())
        .await
        .unwrap()
        .unwrap();

    let fixed = r#"{"error":"Failed to fetch bookings"}"#;
    let by_token = bookings(app.client.get(app.url("/api/bookings")).bearer_auth(&token)).await;
    assert_eq!(
        by_token,
        (StatusCode::SERVICE_UNAVAILABLE, fixed.to_owned())
    );
    let by_session = bookings(
        app.client
            .get(app.url("/api/bookings?limit=5"))
            .header("cookie", &session.cookie),
    )
    .await;
    assert_eq!(
        by_session,
        (StatusCode::SERVICE_UNAVAILABLE, fixed.to_owned())
    );
    for (path, message) in [
        ("/api/course-streams", "Failed to fetch course streams"),
        ("/api/courses", "Failed to fetch courses"),
    ] {
        let answer = bookings(app.client.get(app.url(path)).bearer_auth(&token)).await;
        let body = serde_json::json!({ "error": message }).to_string();
        assert_eq!(answer, (StatusCode::SERVICE_UNAVAILABLE, body), "{path}");
    }
    // Other routes keep the general message.
    let users = bookings(app.client.get(app.url("/api/users")).bearer_auth(&token)).await;
    assert_eq!(users.0, StatusCode::SERVICE_UNAVAILABLE);
    assert!(users.1.contains("database unavailable"), "{}", users.1);
}

/// Reads from `stream` until the server closes it or `deadline` passes;
/// whether it was closed.
async fn closed_by(stream: &mut tokio::net::tcp::OwnedReadHalf, deadline: Instant) -> bool {
    let mut buf = [0u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            // An error response before the close is fine.
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_cut_off() {
    let timeout = Duration::from_secs(2);
    let app = spawn_app_with(|config| config.limits.header_read_timeout = timeout).await;
    let addr = app.address.trim_start_matches("http://").to_owned();
    let stream = TcpStream::connect(&addr).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let started = Instant::now();
    let trickle = tokio::spawn(async move {
        if write.write_all(b"GET /healthz HTTP/1.1\r\n").await.is_err() {
            return;
        }
        for n in 0.. {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let line = format!("X-Slow-{n}: still typing\r\n");
            if write.write_all(line.as_bytes()).await.is_err() {
                return;
            }
        }
    });
    let closed = closed_by(&mut read, started + Duration::from_secs(20)).await;
    let elapsed = started.elapsed();
    trickle.abort();
    assert!(closed, "still open after {elapsed:?}");
    assert!(
        elapsed >= timeout - Duration::from_millis(100),
        "closed after {elapsed:?}, before the timeout"
    );

    // A client that sends its request in time is served as always…
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    // …and a keep-alive connection left idle after its answer is closed
    // the same way.
    let stream = TcpStream::connect(&addr).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    write
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = [0u8; 12];
    read.read_exact(&mut answer).await.unwrap();
    assert_eq!(&answer, b"HTTP/1.1 200");
    let idle = Instant::now();
    assert!(
        closed_by(&mut read, idle + Duration::from_secs(20)).await,
        "an idle connection stays open"
    );
    assert!(idle.elapsed() >= timeout - Duration::from_millis(100));
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_one() {
    let app = spawn_app_with(|config| {
        config.limits.max_connections = 2;
        config.limits.header_read_timeout = Duration::from_secs(60);
    })
    .await;
    let addr = app.address.trim_start_matches("http://").to_owned();
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\n")
            .await
            .unwrap();
        held.push(stream);
    }
    let (client, url) = (http_client(), app.url("/healthz"));
    let mut third = tokio::spawn(async move { client.get(url).send().await.map(|r| r.status()) });
    // With both slots taken the third is not served (a working cap can
    // never answer it here; the old server did at once).
    assert!(
        tokio::time::timeout(Duration::from_secs(1), &mut third)
            .await
            .is_err(),
        "served beyond the cap"
    );
    drop(held.pop());
    let status = tokio::time::timeout(Duration::from_secs(15), third)
        .await
        .expect("served once a connection closed")
        .unwrap()
        .unwrap();
    assert_eq!(status, StatusCode::OK);
}

/// The server loop stops accepting on shutdown but finishes the request in
/// flight (here: one whose body is still arriving) before it returns.
#[tokio::test]
async fn shutdown_finishes_the_request_in_flight() {
    let db = migrated_database().await;
    let app = App::build(test_config(&db.url)).await.unwrap();
    let addr = app.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut running = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    let pool = db.pool().await;
    let token = {
        let name = TokenName::parse("shutdown-test").unwrap();
        let mut conn = pool.acquire().await.unwrap();
        tokens::issue(&mut conn, &Actor::cli(), &name, Role::Admin)
            .await
            .unwrap()
            .1
    };
    let body = br#"{"audience": {"kind": "segment", "segment": "all"}}"#;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /api/messages/preview HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..10]).await.unwrap();
    // The token check stamps the token's first use: from then on the
    // request is in the server's hands, waiting for the rest of its body.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let used: bool = sqlx::query_scalar(
            "SELECT last_used_at IS NOT NULL FROM api_tokens WHERE name = 'shutdown-test'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        if used {
            break;
        }
        assert!(Instant::now() < deadline, "the request never arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(()).unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(500), &mut running)
            .await
            .is_err(),
        "returned with a request in flight"
    );
    stream.write_all(&body[10..]).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("returns once the request is answered")
        .unwrap()
        .unwrap();
    assert!(TcpStream::connect(addr).await.is_err(), "still accepting");
}
