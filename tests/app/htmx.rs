//! htmx on the pages: the users search, the broadcast progress and the
//! composer's live panel ask for server-rendered fragments with htmx's
//! `HX-Request: true`; the same URLs without it still serve whole pages
//! (no JavaScript needed); htmx is configured so the CSP stays strict. In a
//! real Chromium: `htmx_browser`.

use hsl_dashboard::domain::role::Role;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Session, TestApp, spawn_app};
use crate::messages_pages::{self, mark, to_stream};

const HTMX_SCRIPT: &str = "<script src=\"/static/htmx.min.js\" defer></script>";

/// A GET with the session and extra headers.
async fn get(
    app: &TestApp,
    session: &Session,
    path: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = app
        .client
        .get(app.url(path))
        .header("cookie", &session.cookie);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

const HX: &[(&str, &str)] = &[("HX-Request", "true")];

/// The `Vary` header names, lower-cased.
fn vary(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("vary")
        .iter()
        .flat_map(|value| value.to_str().unwrap().split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .collect()
}

/// The JSON of `<meta name="htmx-config" content='…'>`.
fn htmx_config(html: &str) -> Value {
    let start = "<meta name=\"htmx-config\" content='";
    let rest = &html[html
        .find(start)
        .unwrap_or_else(|| panic!("no htmx-config: {html}"))
        + start.len()..];
    serde_json::from_str(&rest[..rest.find('\'').unwrap()]).unwrap()
}

#[tokio::test]
async fn the_users_search_answers_htmx_with_the_results_alone() {
    let app = spawn_app().await;
    crate::users_api::people(&app).await;
    let session = app.login_as(Role::Viewer).await;
    let path = "/users?search=%D0%B7%D0%BE%D1%8F&sort=activity";

    let response = get(&app, &session, path, HX).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert!(vary(&response).contains(&"hx-request".to_owned()));
    let fragment = response.text().await.unwrap();
    assert!(
        fragment
            .trim_start()
            .starts_with("<section class=\"card\" id=\"results\""),
        "{fragment}"
    );
    assert!(fragment.trim_end().ends_with("</section>"), "{fragment}");
    assert!(!fragment.contains("<html") && !fragment.contains("id=\"user-search\""));
    assert!(fragment.contains("data-total=\"1\"") && fragment.contains("data-user=\"120\""));

    // Without JavaScript the same URL is the whole page, with the same results.
    let response = get(&app, &session, path, &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(vary(&response).contains(&"hx-request".to_owned()));
    let html = response.text().await.unwrap();
    for needle in [
        "<html",
        "id=\"user-search\"",
        "value=\"зоя\"",
        "data-total=\"1\"",
        "data-user=\"120\"",
    ] {
        assert!(html.contains(needle), "{needle}");
    }
    // htmx restoring a page from history wants the whole page.
    let restore = get(
        &app,
        &session,
        path,
        &[
            ("HX-Request", "true"),
            ("HX-History-Restore-Request", "true"),
        ],
    )
    .await;
    assert!(restore.text().await.unwrap().contains("<html"));
    // A bad filter is refused for htmx too.
    let bad = get(&app, &session, "/users?status=7", HX).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn pages_that_use_htmx_load_it_configured_for_the_strict_csp() {
    let app = spawn_app().await;
    messages_pages::people(&app).await;
    let admin = messages_pages::admin(&app).await;
    let id = to_stream(&app, "anna").await;
    let users = messages_pages::page(&app, &admin, "/users").await;
    let message = messages_pages::page(&app, &admin, &format!("/messages/{id}")).await;
    let compose = messages_pages::page(&app, &admin, "/messages/new").await;
    for html in [&users, &message, &compose] {
        assert!(html.contains(HTMX_SCRIPT), "{html}");
        let config = htmx_config(html);
        for (key, value) in [
            ("includeIndicatorStyles", false),
            ("allowEval", false),
            ("allowScriptTags", false),
            ("selfRequestsOnly", true),
            ("refreshOnHistoryMiss", true),
        ] {
            assert_eq!(config[key], value, "{key}: {config}");
        }
        assert_eq!(config["historyCacheSize"], 0, "no page copies kept");
    }
    let home = messages_pages::page(&app, &admin, "/").await;
    assert!(!home.contains("htmx"), "only pages that use it load it");

    // The search form asks htmx for the results as you type, debounced.
    for attribute in [
        "hx-get=\"/users\"",
        "hx-trigger=\"input delay:300ms\"",
        "hx-target=\"#results\"",
        "hx-swap=\"outerHTML\"",
        "hx-replace-url=\"true\"",
    ] {
        assert!(users.contains(attribute), "{attribute}");
    }
    // The live card polls itself every 2 s.
    assert!(message.contains(&format!(
        "hx-get=\"/messages/{id}/progress\" hx-trigger=\"every 2s\" hx-swap=\"outerHTML\""
    )));
    // The composer posts itself to the live panel.
    for attribute in [
        "hx-post=\"/messages/new/live\"",
        "hx-target=\"#compose-live\"",
        "hx-swap=\"outerHTML\"",
    ] {
        assert!(compose.contains(attribute), "{attribute}");
    }
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("csrf", admin.csrf.as_str()),
            ("audience", "users"),
            ("user_ids", "301 302"),
            ("content_type", "text"),
            ("text", "<b>Привет</b>"),
        ])
        .finish();
    let live = app
        .client
        .post(app.url("/messages/new/live"))
        .header("cookie", &admin.cookie)
        .header("HX-Request", "true")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), StatusCode::OK);
    let live = live.text().await.unwrap();
    assert!(
        live.trim_start()
            .starts_with("<div class=\"compose-live\" id=\"compose-live\""),
        "{live}"
    );
    assert!(live.contains("data-recipients=\"2\"") && live.contains("<b>Привет</b>"));

    // The scripts no longer fetch and swap fragments by hand.
    for script in ["users.js", "message.js", "composer.js"] {
        let text = app
            .get(&format!("/static/{script}"))
            .await
            .text()
            .await
            .unwrap();
        for hand_made in ["DOMParser", "replaceWith(fresh", "/messages/new/live"] {
            assert!(!text.contains(hand_made), "{script}: {hand_made}");
        }
    }
    for script in ["users.js", "message.js"] {
        let text = app
            .get(&format!("/static/{script}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(!text.contains("fetch("), "{script}");
    }
}

#[tokio::test]
async fn the_progress_card_polls_while_live_and_brings_the_page_up_to_date_once_final() {
    let app = spawn_app().await;
    messages_pages::people(&app).await;
    let admin = messages_pages::admin(&app).await;
    let id = to_stream(&app, "anna").await;
    let progress = format!("/messages/{id}/progress");
    let poll = format!("hx-get=\"{progress}\" hx-trigger=\"every 2s\"");
    let settle = "hx-select-oob=\"#about,#recipients\"";

    let live = get(&app, &admin, &progress, HX).await.text().await.unwrap();
    assert!(live.contains(&poll) && live.contains("data-live=\"true\""));
    assert!(!live.contains(settle), "{live}");

    for user in [301, 302, 303] {
        mark(&app, id, user, "sent", None).await;
    }
    sqlx::query("UPDATE message_history SET status = 'done', finished_at = now() WHERE id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();
    // The poll that finds it final stops polling and loads the page's other
    // parts once (the finish time, the recipients' statuses).
    let last = get(&app, &admin, &progress, HX).await;
    assert_eq!(last.status(), StatusCode::OK);
    let last = last.text().await.unwrap();
    assert!(last.contains("data-live=\"false\"") && !last.contains("hx-trigger=\"every"));
    assert!(
        last.contains(&format!(
            "<div hidden hx-get=\"\" hx-trigger=\"load\" {settle} hx-swap=\"none\"></div>"
        )),
        "{last}"
    );
    // A page rendered final neither polls nor reloads anything.
    let page = messages_pages::page(&app, &admin, &format!("/messages/{id}")).await;
    assert!(!page.contains(&poll) && !page.contains(settle));
    assert!(page.contains("id=\"about\"") && page.contains("id=\"recipients\""));
    let plain = get(&app, &admin, &progress, &[])
        .await
        .text()
        .await
        .unwrap();
    assert!(!plain.contains(settle));
}

#[tokio::test]
async fn a_signed_out_htmx_request_is_sent_to_sign_in_not_swapped_the_login_page() {
    let app = spawn_app().await;
    // A poll from a broadcast page whose session has ended: an
    // XMLHttpRequest would follow a 303 by itself and htmx would swap the
    // login page into the card. htmx follows HX-Redirect instead, and the
    // user comes back to the page, not to the fragment.
    let response = app
        .client
        .get(app.url("/messages/7/progress"))
        .header("HX-Request", "true")
        .header("HX-Current-URL", app.url("/messages/7?status=failed"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(!response.headers().contains_key("location"));
    assert_eq!(
        response.headers()["hx-redirect"],
        "/login?next=%2Fmessages%2F7%3Fstatus%3Dfailed"
    );
    // The composer's live panel (a POST) likewise goes back to the form.
    let response = app
        .client
        .post(app.url("/messages/new/live"))
        .header("HX-Request", "true")
        .header("HX-Current-URL", app.url("/messages/new"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("text=x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["hx-redirect"],
        "/login?next=%2Fmessages%2Fnew"
    );
    // Without a page to go back to, the login page; plain requests are
    // still redirected as before.
    let response = app
        .client
        .get(app.url("/users?search=x"))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["hx-redirect"], "/login");
    let response = app.get("/users?search=x").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()["location"],
        "/login?next=%2Fusers%3Fsearch%3Dx"
    );
    assert!(!response.headers().contains_key("hx-redirect"));
}

#[test]
fn templates_keep_the_csp_strict() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let mut files = vec![dir.clone()];
    let mut checked = 0;
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap().to_ascii_lowercase();
        let name = path.display();
        for tag in text.split("<script").skip(1) {
            let tag = &tag[..tag.find('>').unwrap()];
            assert!(
                tag.contains(" src=\"/static/"),
                "{name}: inline <script{tag}>"
            );
        }
        for needle in [
            "<style",
            " style=",
            "hx-on",
            "hx-vars",
            "javascript:",
            "js:",
        ] {
            assert!(!text.contains(needle), "{name}: {needle}");
        }
        let attributes = text.split(|c: char| c.is_whitespace()).skip(1);
        for word in attributes {
            let handler = word.starts_with("on")
                && word
                    .split_once('=')
                    .is_some_and(|(name, _)| name.chars().all(|c| c.is_ascii_alphabetic()));
            assert!(!handler, "{name}: an event handler attribute {word}");
        }
        checked += 1;
    }
    assert!(checked > 20, "{checked} templates");
}
