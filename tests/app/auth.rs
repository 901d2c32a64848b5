//! Authentication and authorization: the route table, sessions, CSRF,
//! and bearer tokens (throttling: `login_defence`).

use std::net::SocketAddr;

use axum::http::Method;
use hsl_dashboard::domain::role::Role;
use hsl_dashboard::web::auth::{Access, Principal};
use hsl_dashboard::web::routes::{RouteInfo, Routes};
use hsl_dashboard::web::{self, AppState};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    Session, TestApp, form_body, hidden_field, set_cookie, spawn_app, test_config,
};

/// Routes anyone may call, and nothing else.
const OPEN: &[&str] = &["/api/test-db", "/healthz", "/readyz", "/static/{file}"];

fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| match segment {
            "{file}" => "app.css",
            "{code}" => "8th_stream",
            s if s.starts_with('{') => "1",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn is_machine(path: &str) -> bool {
    web::is_machine_path(path)
}

impl TestApp {
    async fn call(
        &self,
        route: &RouteInfo,
        session: Option<&Session>,
        bearer: Option<&str>,
    ) -> reqwest::Response {
        let path = concrete(&route.path);
        let mut request = self.client.request(route.method.clone(), self.url(&path));
        if let Some(session) = session {
            request = request
                .header("cookie", &session.cookie)
                .header("x-csrf-token", &session.csrf);
        }
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        if route.method != Method::GET {
            request = if is_machine(&route.path) {
                request
                    .header("content-type", "application/json")
                    .body("{}")
            } else {
                request
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body("")
            };
        }
        request.send().await.unwrap()
    }
}

#[tokio::test]
async fn the_route_table_opens_only_the_allowed_routes() {
    let table = web::route_table();
    let open: Vec<&str> = table
        .iter()
        .filter(|route| route.access == Access::Open)
        .map(|route| route.path.as_str())
        .collect();
    assert_eq!(open, OPEN, "only these routes skip authentication");
    let anyone: Vec<&str> = table
        .iter()
        .filter(|route| route.access == Access::Anyone)
        .map(|route| route.path.as_str())
        .collect();
    assert_eq!(anyone, ["/login", "/login"]);
    let find = |method: Method, path: &str| {
        table
            .iter()
            .find(|route| route.method == method && route.path == path)
            .unwrap_or_else(|| panic!("{method} {path} is not in the table"))
            .access
    };
    assert_eq!(find(Method::GET, "/metrics"), Access::VIEWER);
    assert_eq!(find(Method::GET, "/api/openapi.json"), Access::VIEWER);
    assert_eq!(find(Method::GET, "/"), Access::VIEWER);
    assert_eq!(find(Method::GET, "/settings/staff"), Access::ADMIN);
    assert_eq!(
        find(Method::POST, "/settings/staff/tokens/{id}/revoke"),
        Access::ADMIN
    );
    assert_eq!(find(Method::GET, "/audit"), Access::ADMIN);
    assert_eq!(
        find(Method::GET, "/workshops/{course_id}/{code}"),
        Access::VIEWER
    );
    assert_eq!(
        find(Method::GET, "/workshops/{course_id}/{code}/students.csv"),
        Access::VIEWER
    );
    assert_eq!(
        find(Method::GET, "/workshops/stream/{code}"),
        Access::VIEWER
    );
}

/// Every protected route, straight from the router's table: strangers get
/// 401 (API) or a redirect to the login page, lower roles 403, and the
/// required role gets past the guard.
#[tokio::test]
async fn every_protected_route_refuses_strangers_and_lower_roles() {
    let app = spawn_app().await;
    let protected: Vec<RouteInfo> = web::route_table()
        .into_iter()
        .filter(|route| matches!(route.access, Access::Staff(_)))
        .collect();
    assert!(protected.len() >= 10, "{protected:?}");

    for route in &protected {
        let Access::Staff(required) = route.access else {
            unreachable!()
        };
        let what = format!("{} {}", route.method, route.path);

        let anonymous = app.call(route, None, None).await;
        if is_machine(&route.path) {
            assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED, "{what}");
            assert_eq!(
                anonymous.json::<Value>().await.unwrap(),
                json!({"error": "authentication required"}),
                "{what}"
            );
            let bad_token = app.call(route, None, Some("hsl_not-a-real-token")).await;
            assert_eq!(bad_token.status(), StatusCode::UNAUTHORIZED, "{what}");
        } else {
            assert_eq!(anonymous.status(), StatusCode::SEE_OTHER, "{what}");
            let location = anonymous.headers()["location"].to_str().unwrap();
            assert!(location.starts_with("/login"), "{what} → {location}");
        }

        for role in Role::ALL {
            // A fresh session each time: some routes (logout) end it.
            let session = app.quick_session(role).await;
            let response = app.call(route, Some(&session), None).await;
            if role.allows(required) {
                let status = response.status();
                assert!(
                    !matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN),
                    "{what} as {role}: {status}"
                );
                if status == StatusCode::SEE_OTHER && route.path != "/logout" {
                    let location = response.headers()["location"].to_str().unwrap();
                    assert!(
                        !location.starts_with("/login"),
                        "{what} as {role} → {location}"
                    );
                }
            } else {
                assert_eq!(response.status(), StatusCode::FORBIDDEN, "{what} as {role}");
                if is_machine(&route.path) {
                    assert_eq!(
                        response.json::<Value>().await.unwrap(),
                        json!({"error": "forbidden"})
                    );
                } else {
                    let html = response.text().await.unwrap();
                    assert!(html.contains("Недостаточно прав"), "{what}: {html}");
                }
            }
        }
        // Fresh tokens too: a route may revoke one.
        let mut tokens = Vec::new();
        for role in Role::ALL {
            tokens.push((role, app.token(role).await));
        }
        if is_machine(&route.path) {
            for (role, token) in &tokens {
                let response = app.call(route, None, Some(token)).await;
                let expected_forbidden = !role.allows(required);
                assert_eq!(
                    response.status() == StatusCode::FORBIDDEN,
                    expected_forbidden,
                    "{what} with a {role} token: {}",
                    response.status()
                );
                assert_ne!(response.status(), StatusCode::UNAUTHORIZED, "{what}");
            }
        } else {
            // Pages don't take bearer tokens.
            let (_, admin_token) = &tokens[2];
            let response = app.call(route, None, Some(admin_token)).await;
            assert_eq!(
                response.status(),
                StatusCode::SEE_OTHER,
                "{what} with a token"
            );
        }
    }
}

#[tokio::test]
async fn login_sets_a_hardened_cookie_and_returns_to_the_page_asked_for() {
    // Behind a proxy on this host (see login_defence for untrusted peers).
    let app = crate::login_defence::spawn_with(&[("TRUSTED_PROXIES", "127.0.0.1")]).await;
    let asked = app.get("/audit?actor=cli&page=1").await;
    assert_eq!(asked.status(), StatusCode::SEE_OTHER);
    let location = asked.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location, "/login?next=%2Faudit%3Factor%3Dcli%26page%3D1");

    let login_page = app.get(&location).await;
    let html = login_page.text().await.unwrap();
    assert_eq!(
        hidden_field(&html, "next").unwrap(),
        "/audit?actor=cli&#38;page=1"
    );
    assert!(html.contains("name=\"login\"") && html.contains("name=\"password\""));

    let (login, password) = app.add_staff(Role::Admin).await;
    let (cookie, csrf) = crate::helpers::login_form(&app.client, &app.address).await;
    let response = app
        .client
        .post(app.url("/login"))
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&[
            ("login", &format!("  {}  ", login.to_uppercase())),
            ("password", &password),
            ("csrf", &csrf),
            ("next", "/audit?actor=cli&page=1"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "logins are case-insensitive"
    );
    assert_eq!(response.headers()["location"], "/audit?actor=cli&page=1");
    let session_cookie = set_cookie(&response, "hsl_session").unwrap();
    assert!(session_cookie.contains("; Path=/;"), "{session_cookie}");
    assert!(session_cookie.contains("HttpOnly"), "{session_cookie}");
    assert!(session_cookie.contains("SameSite=Lax"), "{session_cookie}");
    assert!(
        !session_cookie.contains("Secure"),
        "plain http: {session_cookie}"
    );
    let value = session_cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("hsl_session=");
    assert!(value.len() >= 43, "256 random bits");
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM staff_sessions WHERE id_hash = sha256(convert_to($1, 'UTF8'))",
    )
    .bind(value)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(stored, 1, "only the hash is stored");
    let raw: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM staff_sessions WHERE encode(id_hash, 'escape') LIKE '%' || $1 || '%'",
    )
    .bind(value)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(raw, 0);

    // Behind a TLS-terminating proxy the cookie is Secure.
    let (cookie, csrf) = crate::helpers::login_form(&app.client, &app.address).await;
    let response = app
        .client
        .post(app.url("/login"))
        .header("cookie", cookie)
        .header("x-forwarded-proto", "https")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&[
            ("login", &login),
            ("password", &password),
            ("csrf", &csrf),
            ("next", "https://evil.example/"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/", "no open redirect");
    assert!(
        set_cookie(&response, "hsl_session")
            .unwrap()
            .contains("; Secure")
    );
}

#[tokio::test]
async fn the_login_form_needs_its_csrf_pair() {
    let app = spawn_app().await;
    let (login, password) = app.add_staff(Role::Viewer).await;
    let (cookie, csrf) = crate::helpers::login_form(&app.client, &app.address).await;
    let post = |cookie: Option<String>, csrf: String| {
        let mut request = app
            .client
            .post(app.url("/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(&[
                ("login", &login),
                ("password", &password),
                ("csrf", &csrf),
            ]));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send()
    };
    for (cookie, csrf) in [
        (None, csrf.clone()),
        (Some(cookie.clone()), String::new()),
        (Some(cookie.clone()), format!("{csrf}x")),
        (Some("hsl_login=another-nonce".to_owned()), csrf.clone()),
    ] {
        let response = post(cookie, csrf).await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(set_cookie(&response, "hsl_session").is_none());
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("Форма входа устарела")
        );
    }
    // Missing fields and junk are a 400 with the form again, not a crash.
    let response = app
        .client
        .post(app.url("/login"))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&[("csrf", &csrf), ("login", "")]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Введите логин и пароль")
    );
    assert_eq!(
        post(Some(cookie), csrf).await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
}

async fn is_signed_in(app: &TestApp, session: &Session) -> bool {
    let response = app.get_as(session, "/").await;
    match response.status() {
        StatusCode::OK => true,
        StatusCode::SEE_OTHER => {
            assert_eq!(response.headers()["location"], "/login");
            let cleared = set_cookie(&response, "hsl_session").expect("the dead cookie is cleared");
            assert!(cleared.contains("Max-Age=0"), "{cleared}");
            false
        }
        other => panic!("unexpected {other}"),
    }
}

async fn session_row(app: &TestApp, session: &Session, assignment: &str) {
    let id = session.cookie.trim_start_matches("hsl_session=");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE staff_sessions SET {assignment} WHERE id_hash = sha256(convert_to($1, 'UTF8'))"
    )))
    .bind(id)
    .execute(&app.pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn sessions_end_on_idle_timeout_absolute_expiry_logout_and_account_changes() {
    let app = spawn_app().await;

    let idle = app.login_as(Role::Viewer).await;
    assert!(is_signed_in(&app, &idle).await);
    session_row(&app, &idle, "last_seen_at = now() - interval '11 hours'").await;
    assert!(is_signed_in(&app, &idle).await, "within the idle timeout");
    let seen: bool = sqlx::query_scalar(
        "SELECT bool_and(last_seen_at > now() - interval '1 minute') FROM staff_sessions \
         WHERE id_hash = sha256(convert_to($1, 'UTF8'))",
    )
    .bind(idle.cookie.trim_start_matches("hsl_session="))
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(seen, "a request moves the idle deadline");
    session_row(&app, &idle, "last_seen_at = now() - interval '13 hours'").await;
    assert!(
        !is_signed_in(&app, &idle).await,
        "idle for longer than 12 h"
    );

    let old = app.login_as(Role::Viewer).await;
    session_row(&app, &old, "expires_at = now() - interval '1 second'").await;
    assert!(!is_signed_in(&app, &old).await, "past the absolute expiry");

    let leaving = app.login_as(Role::Viewer).await;
    let response = app.post_form_as(&leaving, "/logout", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/login");
    assert!(
        set_cookie(&response, "hsl_session")
            .unwrap()
            .contains("Max-Age=0")
    );
    assert!(
        !is_signed_in(&app, &leaving).await,
        "the server forgot the session"
    );

    // Another process (here: the CLI's store function) disables an account
    // or changes a role: the session ends at once.
    let admin = app.login_as(Role::Admin).await;
    let (login, password) = app.add_staff(Role::Editor).await;
    let editor = app.login(&login, &password).await;
    let response = app
        .post_form_as(
            &admin,
            &format!("/settings/staff/{login}/role"),
            &[("role", "viewer")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        !is_signed_in(&app, &editor).await,
        "a role change ends sessions"
    );
    let editor = app.login(&login, &password).await;
    let response = app
        .post_form_as(
            &admin,
            &format!("/settings/staff/{login}/disabled"),
            &[("disabled", "true")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(!is_signed_in(&app, &editor).await);
    let refused = app.post_login(&login, &password).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Учётная запись отключена")
    );
}

#[tokio::test]
async fn session_changes_need_the_csrf_token() {
    let app = spawn_app().await;
    let admin = app.login_as(Role::Admin).await;
    let create = |fields: Vec<(&'static str, String)>, header: Option<&'static str>| {
        let mut request = app
            .client
            .post(app.url("/settings/staff/tokens"))
            .header("cookie", &admin.cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(fields)
                    .finish(),
            );
        if let Some(value) = header {
            request = request.header("x-csrf-token", value);
        }
        request.send()
    };
    let base = || vec![("name", "ci".to_owned()), ("role", "viewer".to_owned())];
    let mut wrong = base();
    wrong.push(("csrf", "not-the-token".into()));
    for (fields, header) in [
        (base(), None),
        (wrong, None),
        (base(), Some("not-the-token")),
    ] {
        let response = create(fields, header).await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(response.text().await.unwrap().contains("Форма устарела"));
    }
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM api_tokens WHERE name = 'ci'")
            .fetch_one(&app.pool)
            .await
            .unwrap()
    };
    assert_eq!(count().await, 0, "nothing was created");

    // Another session's token is no good either.
    let other = app.quick_session(Role::Admin).await;
    let mut foreign = base();
    foreign.push(("csrf", other.csrf.clone()));
    assert_eq!(
        create(foreign, None).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );

    let mut good = base();
    good.push(("csrf", admin.csrf.clone()));
    assert_eq!(
        create(good, None).await.unwrap().status(),
        StatusCode::CREATED
    );
    assert_eq!(count().await, 1);
    // The header works as well (htmx and fetch send it).
    let mut renamed = vec![("name", "ci-2".to_owned()), ("role", "viewer".to_owned())];
    renamed.push(("csrf", String::new()));
    let response = app
        .client
        .post(app.url("/settings/staff/tokens"))
        .header("cookie", &admin.cookie)
        .header("x-csrf-token", &admin.csrf)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("name=ci-2&role=viewer")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
}

/// A mutating API route in a router built with the app's own guard:
/// sessions need the CSRF header, bearer tokens don't.
#[tokio::test]
async fn bearer_tokens_are_exempt_from_csrf_sessions_are_not() {
    let app = spawn_app().await;
    let state = AppState::new(app.pool.clone(), test_config(&app.db.url));
    let router = Routes::default()
        .post(
            "/api/echo",
            Access::EDITOR,
            |principal: Principal| async move { principal.name },
        )
        .into_router(&state)
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap()
    });
    let url = format!("http://{addr}/api/echo");

    let token = app.token(Role::Editor).await;
    let by_token = app
        .client
        .post(&url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(by_token.status(), StatusCode::OK);
    assert!(
        by_token
            .text()
            .await
            .unwrap()
            .starts_with("token:test-editor-")
    );

    let session = app.quick_session(Role::Editor).await;
    let without = app
        .client
        .post(&url)
        .header("cookie", &session.cookie)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(without.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        without.json::<Value>().await.unwrap(),
        json!({"error": "missing or invalid CSRF token"})
    );
    let with = app
        .client
        .post(&url)
        .header("cookie", &session.cookie)
        .header("x-csrf-token", &session.csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(with.status(), StatusCode::OK);
    assert!(with.text().await.unwrap().starts_with("quick-editor-"));
}

#[tokio::test]
async fn revoked_tokens_stop_working_at_once() {
    let app = spawn_app().await;
    let admin = app.login_as(Role::Admin).await;
    let token = app.token(Role::Viewer).await;
    let metrics = || {
        app.client
            .get(app.url("/metrics"))
            .bearer_auth(&token)
            .send()
    };
    assert_eq!(metrics().await.unwrap().status(), StatusCode::OK);
    let used: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT last_used_at FROM api_tokens ORDER BY id DESC LIMIT 1")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(used.is_some(), "use is recorded");

    let id: i64 = sqlx::query_scalar("SELECT id FROM api_tokens ORDER BY id DESC LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let confirm = app
        .get_as(&admin, &format!("/settings/staff/tokens/{id}/revoke"))
        .await;
    assert_eq!(confirm.status(), StatusCode::OK);
    assert!(confirm.text().await.unwrap().contains("Отозвать токен"));
    let revoked = app
        .post_form_as(&admin, &format!("/settings/staff/tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        revoked.headers()["location"],
        "/settings/staff?notice=token-revoked"
    );
    let after = metrics().await.unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);

    // Twice, or an unknown id: 404, nothing else changes.
    for path in [
        format!("/settings/staff/tokens/{id}/revoke"),
        "/settings/staff/tokens/999999/revoke".to_owned(),
    ] {
        assert_eq!(
            app.post_form_as(&admin, &path, &[]).await.status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            app.get_as(&admin, &path).await.status(),
            StatusCode::NOT_FOUND
        );
    }
    let bad_id = app
        .post_form_as(&admin, "/settings/staff/tokens/abc/revoke", &[])
        .await;
    assert_eq!(bad_id.status(), StatusCode::BAD_REQUEST);
}
