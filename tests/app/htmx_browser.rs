//! htmx in a real Chromium: the users search and the composer's live panel
//! go through htmx (requests carry `HX-Request`), with the behaviour the
//! hand-written scripts had. The progress card: `messages_browser`.

use std::time::Duration;

use hsl_dashboard::domain::role::Role;
use tokio::time::Instant;

use crate::browser::Browser;
use crate::helpers::spawn_app;
use crate::messages_pages;

#[tokio::test]
async fn a_browser_searches_users_through_htmx() {
    let app = spawn_app().await;
    crate::users_api::people(&app).await;
    let (login, password) = app.add_staff(Role::Viewer).await;
    let browser = Browser::start().await;
    browser.login(&app, &login, &password).await;
    browser.goto(&app.url("/users")).await;
    browser.wait_for("tr[data-user=\"101\"]").await;
    // htmx is there, configured (no eval, no injected <style>), and every
    // request it makes is recorded.
    let setup = "window.stayed = true; window.requests = []; \
        document.body.addEventListener('htmx:afterRequest', function (e) { \
          window.requests.push(e.detail.requestConfig.headers['HX-Request'] + ' ' \
            + e.detail.pathInfo.finalRequestPath); }); \
        return [typeof htmx, htmx.config.allowEval, document.querySelectorAll('style').length, \
                history.length];";
    let before = browser.eval(setup).await;
    assert_eq!(before[0], "object", "{before}");
    assert_eq!(before[1], false, "{before}");
    assert_eq!(before[2], 0, "{before}");

    browser.type_into("input[name=search]", "зоя").await;
    browser.wait_for("#results [data-total=\"1\"]").await;
    let rows = browser.find_all_text("#results tr[data-user]").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    // Each request carried htmx's header; the last one is the whole search
    // (poll: the event may be recorded just after the swap shows).
    let query = "/users?search=%D0%B7%D0%BE%D1%8F&sort=activity";
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let requests = browser.eval("return window.requests;").await;
        let requests: Vec<String> = serde_json::from_value(requests).unwrap();
        assert!(
            requests.iter().all(|r| r.starts_with("true /users?")),
            "{requests:?}"
        );
        if requests.last().map(String::as_str) == Some(&format!("true {query}")) {
            break;
        }
        assert!(Instant::now() < deadline, "htmx requests: {requests:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The address bar shows the search (blank fields left out), replaced
    // in place: no reload, no new history entry, the focus stays in the box.
    let after = browser
        .eval(
            "return [location.pathname + location.search, window.stayed === true, \
                     history.length, document.activeElement.name];",
        )
        .await;
    assert_eq!(after[0], query, "{after}");
    assert_eq!(after[1], true, "{after}");
    assert_eq!(after[2], before[3], "{after}");
    assert_eq!(after[3], "search", "{after}");

    // Enter still submits the form as a plain GET: a new page.
    browser.type_into("input[name=search]", "\u{E007}").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while browser.eval("return window.stayed === true;").await == true {
        assert!(Instant::now() < deadline, "Enter did not submit the form");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    browser.wait_for("#results [data-total=\"1\"]").await;
    let submitted = browser
        .eval("return location.pathname + location.search;")
        .await;
    assert_eq!(
        submitted,
        "/users?search=%D0%B7%D0%BE%D1%8F&stream=&status=&sort=activity"
    );
}

#[tokio::test]
async fn a_browser_composer_panel_follows_chips_and_clears_fixed_mistakes() {
    let app = spawn_app().await;
    messages_pages::people(&app).await;
    let (login, password) = app.add_staff(Role::Admin).await;
    let browser = Browser::start().await;
    browser.login(&app, &login, &password).await;
    browser.goto(&app.url("/messages/new")).await;
    // «Далее» with nothing chosen: the page comes back with notes by the fields.
    browser.click(".compose-actions button[value=review]").await;
    browser
        .wait_for(".field-error[data-field=\"streams\"]")
        .await;
    let setup = "window.live = []; \
        document.body.addEventListener('htmx:afterRequest', function (e) { \
          var t = e.detail.requestConfig.triggeringEvent; \
          window.live.push(e.detail.pathInfo.requestPath + ' ' \
            + (t ? t.type + ':' + (t.target.id || t.target.name || t.target.tagName) : '')); }); \
        return true;";
    browser.eval(setup).await;

    // To people: found by name and picked with Enter, as a chip.
    browser.click("#aud-users").await;
    browser.type_into("#people-q", "Анна").await;
    browser.wait_for("#people-results li[role=option]").await;
    browser.type_into("#people-q", "\u{E007}").await;
    browser.wait_for(".chip[data-id=\"301\"]").await;
    // The chip (a change no event announces) refreshes the panel through
    // htmx, and the fixed mistake's note goes.
    let state = "const c = document.querySelector('[data-recipients]'); \
        return [c ? c.dataset.recipients : '', \
                document.querySelector('.field-error[data-field=\"streams\"]').hidden, \
                document.getElementById('user_ids').value];";
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = browser.eval(state).await;
        if now[0] == "1" && now[1] == true {
            assert_eq!(now[2], "301", "{now}");
            break;
        }
        assert!(Instant::now() < deadline, "the panel shows {now}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let live: Vec<String> =
        serde_json::from_value(browser.eval("return window.live;").await).unwrap();
    assert!(
        !live.is_empty() && live.iter().all(|r| r.starts_with("/messages/new/live ")),
        "{live:?}"
    );
    // Typing a name to look up is no change to the form.
    assert!(
        !live.iter().any(|r| r.ends_with("input:people-q")),
        "{live:?}"
    );
}
