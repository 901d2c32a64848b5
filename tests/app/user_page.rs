//! `/users/{id}`: the profile, bookings, events, free lessons, broadcasts
//! and booking history; the edit forms round-trip (CSRF, stale version,
//! disallowed transition, capacity, bad input, roles); «move to stream»; and
//! a real browser that searches for a user and opens their page.

use hsl_dashboard::domain::role::Role;
use reqwest::StatusCode;

use crate::helpers::{Session, TestApp, spawn_app};
use crate::html_form;
use crate::users_api::people;

async fn setup() -> (TestApp, Session) {
    let app = spawn_app().await;
    people(&app).await;
    let session = app.login_as(Role::Viewer).await;
    (app, session)
}

async fn page(app: &TestApp, session: &Session, path: &str) -> String {
    let response = app.get_as(session, path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.text().await.unwrap()
}

/// The hidden `version` of booking `id`'s edit form.
fn version(html: &str, id: i32) -> String {
    let start = html
        .find(&format!("data-booking-form=\"{id}\""))
        .unwrap_or_else(|| panic!("no form for booking {id}"));
    crate::helpers::hidden_field(&html[start..], "version").unwrap()
}

/// The `<form>` of booking `id`.
fn booking_form(html: &str, id: i32) -> &str {
    let start = html.find(&format!("data-booking-form=\"{id}\"")).unwrap();
    let end = html[start..].find("</form>").unwrap() + start;
    &html[start..end]
}

async fn booking(
    app: &TestApp,
    id: i32,
) -> (Option<i32>, Option<String>, Option<String>, Option<i32>) {
    sqlx::query_as(
        "SELECT confirmed, course_stream, referral_code, discount_percent FROM bookings WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn the_user_page_shows_everything_and_viewers_get_no_forms() {
    let (app, session) = setup().await;
    let html = page(&app, &session, "/users/101").await;
    assert!(html.contains("<h1 id=\"user-name\">Анна</h1>"));
    assert!(html.contains("href=\"https://t.me/anna\""));
    let bookings: Vec<&str> = html
        .split("data-booking=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap())
        .collect();
    assert_eq!(bookings, ["3", "2", "1"], "newest first");
    assert!(
        !html.contains("data-booking-form"),
        "viewers see no edit forms"
    );
    assert!(!html.contains("id=\"move-form\""));
    assert!(
        html.contains("<span class=\"muted\">course_id:</span> 1"),
        "readable details"
    );
    assert!(html.contains("Рассылок пока не было."));
    assert!(html.contains("Заявки этого пользователя не меняли."));

    let html = page(&app, &session, "/users/120").await;
    assert!(
        html.contains("<h1 id=\"user-name\">Зоя</h1>"),
        "events-only user"
    );
    assert!(html.contains("<span class=\"muted\">username:</span> zoya_v"));
    assert!(html.contains("Бот не хранит профиль этого пользователя"));
    let html = page(&app, &session, "/users/130").await;
    assert!(html.contains("lena@example.org") && html.contains("20.11.2026"));

    for path in ["/users/999", "/users/abc", "/users/0"] {
        let response = app.get_as(&session, path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    for bad in ["0", "-1", "x", "1.5", "1000001", "99999999999999999999"] {
        let response = app
            .get_as(&session, &format!("/users/120?events_page={bad}"))
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("Номер страницы событий — целое число от 1 до 1000000."),
            "{bad}"
        );
    }
    let workshops = page(&app, &session, "/workshops").await;
    assert!(workshops.contains("<a href=\"/users/105\">Вера</a>"));
    let stream = page(&app, &session, "/workshops/1/8th_stream").await;
    assert!(stream.contains("<a href=\"/users/160\">"));
}

#[tokio::test]
async fn an_editor_edits_a_booking_through_the_page_form() {
    let (app, _) = setup().await;
    let editor = app.login_as(Role::Editor).await;
    let html = page(&app, &editor, "/users/101").await;
    // Booking 1 is new: confirm, pend or cancel; booking 2 (paid): cancel only.
    let form = booking_form(&html, 1);
    for value in ["2", "1", "-1"] {
        assert!(
            form.contains(&format!("<option value=\"{value}\">")),
            "{value}"
        );
    }
    assert!(!form.contains("<option value=\"0\">"));
    assert!(form.contains("<option value=\"8th_stream\" selected>8-й поток</option>"));
    assert!(form.contains("<option value=\"mentoring\">Менторинг</option>"));
    let paid = booking_form(&html, 2);
    assert!(paid.contains("<option value=\"-1\">") && !paid.contains("<option value=\"1\">"));
    let old_version = version(&html, 1);

    // Saved: 303 back with a notice; the history shows it.
    let fields = |version: &str, confirmed: &str, stream: &str, discount: &str| {
        vec![
            ("version", version.to_owned()),
            ("confirmed", confirmed.to_owned()),
            ("course_stream", stream.to_owned()),
            ("referral_code", "SPRING_26".to_owned()),
            ("discount_percent", discount.to_owned()),
        ]
    };
    let post = |fields: Vec<(&'static str, String)>| {
        let app = &app;
        let editor = &editor;
        async move {
            let borrowed: Vec<(&str, &str)> =
                fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.post_form_as(editor, "/users/101/bookings/1", &borrowed)
                .await
        }
    };
    let response = post(fields(&old_version, "2", "8th_stream", "15")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()["location"],
        "/users/101?notice=saved#booking-1"
    );
    assert_eq!(
        booking(&app, 1).await,
        (
            Some(2),
            Some("8th_stream".into()),
            Some("SPRING_26".into()),
            Some(15)
        )
    );
    let html = page(&app, &editor, "/users/101?notice=saved").await;
    assert!(html.contains("Заявка сохранена."));
    assert!(html.contains("Статус: Новая заявка → Подтверждено"));
    assert!(html.contains("Скидка, %: 0 → 15"));
    let fresh = version(&html, 1);
    assert_ne!(fresh, old_version);

    // A stale version: refused, nothing changes, a reload is offered.
    let response = post(fields(&old_version, "-1", "8th_stream", "15")).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("Заявку изменил другой пользователь"),
        "{html}"
    );
    assert!(html.contains("<a href=\"/users/101\">Обновить страницу</a>"));
    assert_eq!(booking(&app, 1).await.0, Some(2));

    // A disallowed transition (paid → pending), named in words.
    let response = post(fields(&fresh, "1", "8th_stream", "15")).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let html = response.text().await.unwrap();
    assert!(html.contains("Нельзя сменить статус «Подтверждено» на «В ожидании»."));
    assert_eq!(booking(&app, 1).await.0, Some(2));

    // A full stream needs «over capacity».
    let response = post(fields(&fresh, "", "7th_stream", "15")).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("нет мест (мест: 2)")
    );
    assert_eq!(booking(&app, 1).await.1.as_deref(), Some("8th_stream"));

    // Bad input: 422 with what was typed.
    let response = post(fields(&fresh, "", "8th_stream", "150")).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("Скидка: целое число от 0 до 100"));
    assert!(booking_form(&html, 1).contains("name=\"discount_percent\" value=\"150\""));

    let mut forced = fields(&fresh, "", "7th_stream", "15");
    forced.push(("force", "on".to_owned()));
    let response = post(forced).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(booking(&app, 1).await.1.as_deref(), Some("7th_stream"));

    // Without the CSRF field, or as a viewer: refused.
    let response = app
        .client
        .post(app.url("/users/101/bookings/1"))
        .header("cookie", &editor.cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("confirmed=-1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let viewer = app.login_as(Role::Viewer).await;
    let response = app
        .post_form_as(&viewer, "/users/101/bookings/1", &[("confirmed", "-1")])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(booking(&app, 1).await.0, Some(2));
    let audits: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE entity_type = 'booking' AND entity_id = '1'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(audits, 2, "one row per saved change");
}

#[tokio::test]
async fn move_to_stream_moves_the_latest_active_booking() {
    let (app, _) = setup().await;
    let editor = app.login_as(Role::Editor).await;
    let html = page(&app, &editor, "/users/102").await;
    assert!(html.contains("Заявка № 6 — в поток"));
    let response = app
        .post_form_as(&editor, "/users/102/stream", &[("new_stream", "mentoring")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/users/102?notice=moved");
    assert_eq!(booking(&app, 6).await.1.as_deref(), Some("mentoring"));
    let response = app
        .post_form_as(&editor, "/users/102/stream", &[("new_stream", "mentoring")])
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("уже находится в этом потоке")
    );
}

#[tokio::test]
async fn a_browser_searches_for_a_user_and_opens_their_page() {
    let app = spawn_app().await;
    people(&app).await;
    let (login, password) = app.add_staff(Role::Editor).await;
    let browser = crate::browser::Browser::start().await;
    browser.login(&app, &login, &password).await;
    browser.goto(&app.url("/users")).await;
    browser.wait_for("tr[data-user=\"101\"]").await;
    // Typing alone (no submit) narrows the list: the debounced script.
    browser.type_into("input[name=search]", "зоя").await;
    // Only the swapped-in results of the search state one match.
    browser.wait_for("#results [data-total=\"1\"]").await;
    let rows = browser.find_all_text("#results tr[data-user]").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(
        rows[0].contains("Зоя") && rows[0].contains("@zoya_v"),
        "{rows:?}"
    );
    assert_eq!(
        browser.current_path().await,
        "/users",
        "no navigation: the script"
    );
    browser.screenshot("target/screenshots/users.png").await;
    browser.click("tr[data-user=\"120\"] td.person a").await;
    browser.wait_for("#user-name").await;
    assert_eq!(browser.current_path().await, "/users/120");
    assert_eq!(browser.find_all_text("h1").await, ["Зоя"]);
    assert_eq!(browser.find_all_text("#total-events").await, ["2"]);
    browser.screenshot("target/screenshots/user.png").await;
}

/// Sends a form as a browser does: the fields as served (CSRF included),
/// with the session cookie.
async fn submit(
    app: &TestApp,
    session: &Session,
    (action, fields): &(String, Vec<(String, String)>),
) -> reqwest::Response {
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    app.client
        .post(app.url(action))
        .header("cookie", &session.cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(crate::helpers::form_body(&pairs))
        .send()
        .await
        .unwrap()
}

/// Tab A saves a referral code; tab B, opened earlier, changes the discount
/// and is refused. The form B gets back carries the current values with the
/// current version, and what B typed beside them: B pressing «Сохранить»
/// again as served keeps A's code, and B's discount is written only once B
/// enters it again into the current form.
#[tokio::test]
async fn a_stale_tab_gets_the_current_values_and_cannot_overwrite_them() {
    let (app, _) = setup().await;
    let editor = app.login_as(Role::Editor).await;
    let marker = "data-booking-form=\"1\"";
    let tab_b = page(&app, &editor, "/users/101").await;
    let tab_a = page(&app, &editor, "/users/101").await;
    let before = booking(&app, 1).await;

    let mut a = html_form::submitted(&tab_a, marker);
    html_form::set(&mut a.1, "referral_code", "FRIEND_A");
    assert_eq!(
        submit(&app, &editor, &a).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(booking(&app, 1).await.2.as_deref(), Some("FRIEND_A"));
    let version_after_a = version(&page(&app, &editor, "/users/101").await, 1);
    assert_ne!(version_after_a, version(&tab_b, 1));

    let mut b = html_form::submitted(&tab_b, marker);
    html_form::set(&mut b.1, "discount_percent", "15");
    let response = submit(&app, &editor, &b).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let conflict = response.text().await.unwrap();
    assert!(
        conflict.contains("Заявку изменил другой пользователь"),
        "{conflict}"
    );
    assert_eq!(booking(&app, 1).await.2.as_deref(), Some("FRIEND_A"));

    // «Сохранить» again, on the form as served: A's code stays, and nothing
    // of B's is written.
    let served = html_form::submitted(&conflict, marker);
    assert_eq!(
        submit(&app, &editor, &served).await.status(),
        StatusCode::SEE_OTHER
    );
    let after = booking(&app, 1).await;
    assert_eq!(after.2.as_deref(), Some("FRIEND_A"));
    assert_eq!(after.3, before.3);
    // It carried the values and the version B was shown: the current ones.
    assert_eq!(html_form::value(&served.1, "referral_code"), "FRIEND_A");
    let discount = before.3.map(|d| d.to_string()).unwrap_or_default();
    assert_eq!(html_form::value(&served.1, "discount_percent"), discount);
    assert_eq!(html_form::value(&served.1, "version"), version_after_a);
    // What B typed, labelled, beside the fields it differs from.
    let form = booking_form(&conflict, 1);
    assert!(form.contains("Вы ввели: 15"), "{form}");
    assert!(form.contains("Вы ввели: (пусто)"), "{form}");

    // B applies the discount deliberately, on the current form.
    let fresh = page(&app, &editor, "/users/101").await;
    let mut again = html_form::submitted(&fresh, marker);
    html_form::set(&mut again.1, "discount_percent", "15");
    assert_eq!(
        submit(&app, &editor, &again).await.status(),
        StatusCode::SEE_OTHER
    );
    let after = booking(&app, 1).await;
    assert_eq!((after.2.as_deref(), after.3), (Some("FRIEND_A"), Some(15)));
}

/// The same with a typo: tab B's refusal is bad input (checked before the
/// version), but the booking changed since B's page was served, so the form
/// it gets back still shows the current values, not B's stale ones.
#[tokio::test]
async fn a_stale_tab_with_bad_input_gets_the_current_values_too() {
    let (app, _) = setup().await;
    let editor = app.login_as(Role::Editor).await;
    let marker = "data-booking-form=\"1\"";
    let tab_b = page(&app, &editor, "/users/101").await;
    let tab_a = page(&app, &editor, "/users/101").await;
    let mut a = html_form::submitted(&tab_a, marker);
    html_form::set(&mut a.1, "referral_code", "FRIEND_A");
    assert_eq!(
        submit(&app, &editor, &a).await.status(),
        StatusCode::SEE_OTHER
    );

    let mut b = html_form::submitted(&tab_b, marker);
    html_form::set(&mut b.1, "discount_percent", "150");
    let response = submit(&app, &editor, &b).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("Скидка: целое число от 0 до 100"), "{html}");
    // B corrects the discount in the form as served and saves.
    let mut served = html_form::submitted(&html, marker);
    html_form::set(&mut served.1, "discount_percent", "15");
    assert_eq!(
        submit(&app, &editor, &served).await.status(),
        StatusCode::SEE_OTHER
    );
    let after = booking(&app, 1).await;
    assert_eq!((after.2.as_deref(), after.3), (Some("FRIEND_A"), Some(15)));
    assert_eq!(html_form::value(&served.1, "referral_code"), "FRIEND_A");
    assert!(booking_form(&html, 1).contains("Вы ввели: 150"));
}
