//! The login form under attack: strangers guessing a staff member's
//! password, forged forwarding headers and request ids, and old login forms
//! (floods: `login_flood`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use hsl_dashboard::config::Config;
use hsl_dashboard::domain::role::Role;
use hsl_dashboard::web::auth::keys::SessionKey;
use reqwest::StatusCode;
use secrecy::SecretString;

use crate::helpers::{
    TestApp, form_body, hidden_field, login_form, post_login_with, set_cookie, spawn_app,
    spawn_app_with,
};

/// The app configured with these extra variables, parsed as at start-up.
pub async fn spawn_with(vars: &[(&str, &str)]) -> TestApp {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    spawn_app_with(|config| {
        let mut parsed = Config::from_vars(&vars).expect("a valid test configuration");
        parsed.database_url = config.database_url.take();
        parsed.bind_addr = config.bind_addr;
        *config = parsed;
    })
    .await
}

pub fn form_error(html: &str) -> String {
    message_in(html).expect("an error message")
}

/// The login form's error message, if the page is the login form.
pub fn message_in(html: &str) -> Option<String> {
    let start = html.find("class=\"form-error\"")?;
    let start = html[start..].find('>')? + start + 1;
    let end = html[start..].find('<')? + start;
    Some(html[start..end].to_owned())
}

/// A login through a proxy that says the client is `addr`; with the time
/// the answer took.
async fn login_from(
    app: &TestApp,
    addr: &str,
    login: &str,
    password: &str,
) -> (reqwest::Response, Duration) {
    let started = Instant::now();
    let response = post_login_with(
        &app.client,
        &app.address,
        login,
        password,
        &[("x-forwarded-for", addr)],
    )
    .await;
    (response, started.elapsed())
}

#[tokio::test]
async fn strangers_guessing_a_password_do_not_lock_its_owner_out() {
    let app = spawn_with(&[("TRUSTED_PROXIES", "127.0.0.1")]).await;
    let (login, password) = app.add_staff(Role::Admin).await;

    // Strangers have been guessing from 300 addresses for ten minutes.
    sqlx::query(
        "INSERT INTO login_failures (login, client_addr, at) \
         SELECT $1, ('198.18.' || (n / 250) || '.' || (n % 250))::inet, \
                now() - make_interval(secs => n * 2) \
         FROM generate_series(1, 300) AS n",
    )
    .bind(&login)
    .execute(&app.pool)
    .await
    .unwrap();

    // Another guess costs its sender time, and is told no more than before.
    let (guess, took) = login_from(&app, "203.0.113.50", &login, "wrong password").await;
    assert_eq!(guess.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        form_error(&guess.text().await.unwrap()),
        "Неверный логин или пароль."
    );
    assert!(took >= Duration::from_secs(2), "slowed down: {took:?}");
    eprintln!("after 300 failures of the login: a wrong guess took {took:?}");
    let (nobody, _) = login_from(&app, "203.0.113.51", "nobody-here", "wrong password").await;
    assert_eq!(nobody.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        form_error(&nobody.text().await.unwrap()),
        "Неверный логин или пароль."
    );

    // The owner, from their own address, gets in within seconds.
    let (owner, took) = login_from(&app, "192.0.2.200", &login, &password).await;
    assert_eq!(owner.status(), StatusCode::SEE_OTHER);
    assert!(set_cookie(&owner, "hsl_session").is_some());
    assert!(took < Duration::from_secs(8), "the owner waited {took:?}");
    eprintln!("after 301 failures of the login: the owner got in after {took:?}");
}

#[tokio::test]
async fn an_address_that_keeps_failing_is_refused_even_the_right_password() {
    let app = spawn_with(&[("TRUSTED_PROXIES", "127.0.0.1")]).await;
    let (login, password) = app.add_staff(Role::Viewer).await;

    // Ten failures from one address (IPv4: the address itself; IPv6: its /64),
    // each on another typed login.
    for (failing, same_network, other_network) in [
        ("192.0.2.7", "192.0.2.7", "192.0.2.8"),
        ("2001:db8:5:6::1", "2001:db8:5:6:ffff::2", "2001:db8:5:7::1"),
    ] {
        for i in 0..10 {
            let (response, _) =
                login_from(&app, failing, &format!("guess-{i}"), "wrong password").await;
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{failing} #{i}"
            );
        }
        let (refused, _) = login_from(&app, same_network, &login, &password).await;
        assert_eq!(
            refused.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "{same_network}"
        );
        assert_eq!(refused.headers()["retry-after"], "900");
        assert!(set_cookie(&refused, "hsl_session").is_none());
        let message = form_error(&refused.text().await.unwrap());
        assert!(
            message.contains("Слишком много неудачных попыток"),
            "{message}"
        );
        let (elsewhere, _) = login_from(&app, other_network, &login, &password).await;
        assert_eq!(elsewhere.status(), StatusCode::SEE_OTHER, "{other_network}");
    }

    // The window passes: the address may try again.
    sqlx::query("UPDATE login_failures SET at = at - interval '16 minutes'")
        .execute(&app.pool)
        .await
        .unwrap();
    let (again, _) = login_from(&app, "192.0.2.7", &login, &password).await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
}

/// (client_addr, request_id) of the newest sign-in in the audit log.
async fn last_login_audit(app: &TestApp) -> (String, Option<String>) {
    sqlx::query_as(
        "SELECT host(client_addr), request_id FROM audit_log \
         WHERE action = 'session.login' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

async fn last_failure_addr(app: &TestApp) -> String {
    sqlx::query_scalar("SELECT host(client_addr) FROM login_failures ORDER BY id DESC LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// Signs in with extra headers; the session cookie's `Set-Cookie`.
async fn sign_in_with(
    app: &TestApp,
    login: &str,
    password: &str,
    headers: &[(&str, &str)],
) -> String {
    let response = post_login_with(&app.client, &app.address, login, password, headers).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    set_cookie(&response, "hsl_session").unwrap().to_owned()
}

#[tokio::test]
async fn forwarded_headers_count_only_from_trusted_proxies() {
    let forwarded = [
        ("x-forwarded-for", "198.51.100.1, 192.0.2.44, 203.0.113.9"),
        ("x-forwarded-proto", "https"),
    ];

    // Nothing configured: the loopback peer is just a client.
    let app = spawn_app().await;
    let (login, password) = app.add_staff(Role::Viewer).await;
    let (failed, _) = login_from(&app, "203.0.113.9", &login, "wrong password").await;
    assert_eq!(failed.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(last_failure_addr(&app).await, "127.0.0.1");
    let cookie = sign_in_with(&app, &login, &password, &forwarded).await;
    assert!(!cookie.contains("Secure"), "{cookie}");
    assert_eq!(last_login_audit(&app).await.0, "127.0.0.1");

    // Behind two proxies we trust: the right-most address that is not one of them.
    let app = spawn_with(&[("TRUSTED_PROXIES", "127.0.0.1, 203.0.113.0/24")]).await;
    let (login, password) = app.add_staff(Role::Viewer).await;
    let (failed, _) = login_from(&app, "198.51.100.3, 203.0.113.9", &login, "wrong").await;
    assert_eq!(failed.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(last_failure_addr(&app).await, "198.51.100.3");
    let cookie = sign_in_with(&app, &login, &password, &forwarded).await;
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert_eq!(last_login_audit(&app).await.0, "192.0.2.44");
}

#[tokio::test]
async fn only_short_plain_request_ids_are_echoed_and_stored() {
    let app = spawn_app().await;
    let (login, password) = app.add_staff(Role::Viewer).await;

    let plain = "req-42.A_b";
    let response = post_login_with(
        &app.client,
        &app.address,
        &login,
        &password,
        &[("x-request-id", plain)],
    )
    .await;
    assert_eq!(response.headers()["x-request-id"], plain);
    assert_eq!(last_login_audit(&app).await.1.as_deref(), Some(plain));

    let huge = "a".repeat(60 * 1024);
    for odd in [
        huge.as_str(),
        &"b".repeat(129),
        "two words",
        "<script>",
        "id;drop",
        "",
    ] {
        let response = post_login_with(
            &app.client,
            &app.address,
            &login,
            &password,
            &[("x-request-id", odd)],
        )
        .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let echoed = response.headers()["x-request-id"].to_str().unwrap();
        assert!(echoed != odd && echoed.len() == 36, "a generated UUID");
        assert_eq!(
            last_login_audit(&app).await.1.as_deref(),
            Some(echoed),
            "the audit row has the id the response carried"
        );
    }
    let health = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", &huge)
        .send()
        .await
        .unwrap();
    assert!(
        health.headers()["x-request-id"].len() == 36,
        "a generated UUID"
    );
}

#[tokio::test]
async fn a_login_form_expires_after_fifteen_minutes() {
    let key = "k".repeat(64);
    let app = spawn_with(&[("SESSION_KEY", &key)]).await;
    let (login, password) = app.add_staff(Role::Viewer).await;

    let (cookie, field) = login_form(&app.client, &app.address).await;
    let (issued, _) = field
        .split_once('.')
        .expect("the field carries its issue time");
    let now = chrono::Utc::now().timestamp();
    let issued: i64 = issued.parse().unwrap();
    assert!((now - 60..=now + 60).contains(&issued), "{issued} vs {now}");

    // The same nonce, signed with another issue time by whoever holds the key.
    let nonce = cookie.trim_start_matches("hsl_login=");
    let signer = SessionKey::new(Some(SecretString::from(key)));
    let field_at = |at: i64| {
        let signer = &signer;
        let pool = &app.pool;
        async move {
            let signature = signer
                .sign(pool, "login-csrf", &format!("{nonce}.{at}"))
                .await
                .unwrap();
            format!("{at}.{signature}")
        }
    };
    let post = |field: String| {
        app.client
            .post(app.url("/login"))
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(&[
                ("login", &login),
                ("password", &password),
                ("csrf", &field),
            ]))
            .send()
    };
    let stale = post(field_at(now - 16 * 60).await).await.unwrap();
    assert_eq!(stale.status(), StatusCode::FORBIDDEN);
    assert!(set_cookie(&stale, "hsl_session").is_none());
    let html = stale.text().await.unwrap();
    assert_eq!(
        form_error(&html),
        "Форма входа устарела. Попробуйте войти ещё раз."
    );
    assert!(hidden_field(&html, "csrf").is_some(), "with a fresh form");

    // A signature moved to a newer time is no good either.
    let old = field_at(now - 16 * 60).await;
    let old_signature = old.split_once('.').unwrap().1;
    let moved = post(format!("{now}.{old_signature}")).await.unwrap();
    assert_eq!(moved.status(), StatusCode::FORBIDDEN);

    let recent = post(field_at(now - 60).await).await.unwrap();
    assert_eq!(recent.status(), StatusCode::SEE_OTHER);
}
