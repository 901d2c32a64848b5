//! `/analytics` and the home page in a real Chromium over demo data: every
//! chart draws (bars with height, lines with points), nothing spills out of
//! a phone's width, and screenshots land in target/screenshots.

use chrono::{DurationRound, TimeDelta, Utc};
use hsl_dashboard::domain::role::Role;
use hsl_dashboard::store::{self, demo};
use serde_json::Value;

use crate::browser::Browser;
use crate::helpers::spawn_app;

fn number(value: &Value) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("not a number: {value}"))
}

#[tokio::test]
async fn analytics_charts_render_in_a_browser() {
    let app = spawn_app().await;
    let mut conn = store::maintenance_connection(&app.db.url).await.unwrap();
    let anchor = Utc::now().duration_trunc(TimeDelta::hours(1)).unwrap();
    demo::seed(&mut conn, 1500, anchor, false).await.unwrap();
    let (login, password) = app.add_staff(Role::Viewer).await;
    let browser = Browser::start().await;
    browser.login(&app, &login, &password).await;

    browser.resize(1280, 3200).await;
    browser.goto(&app.url("/analytics?days=30")).await;
    browser.wait_for("#events svg").await;
    assert_eq!(
        browser.find_all_text(".chart-title").await,
        [
            "Новые пользователи по дням",
            "Рост числа пользователей",
            "Заявки на курс по дням",
            "События по дням",
            "Популярные типы событий"
        ]
    );
    for id in ["new-users", "bookings", "events"] {
        let bars = browser
            .eval(&format!(
                "return document.querySelectorAll('#{id} rect.bar').length"
            ))
            .await;
        assert_eq!(number(&bars), 30.0, "{id}");
        let tallest = browser
            .eval(&format!(
                "return Math.max(...[...document.querySelectorAll('#{id} rect.bar')]\
                 .map(r => r.getBoundingClientRect().height))"
            ))
            .await;
        assert!(
            number(&tallest) > 50.0,
            "{id}: the tallest bar is {tallest} px"
        );
    }
    let points = browser
        .eval("return document.querySelectorAll('#growth circle.dot').length")
        .await;
    assert_eq!(number(&points), 30.0);
    let types = browser
        .eval("return document.querySelectorAll('#event-types rect.bar').length")
        .await;
    assert!(number(&types) >= 8.0, "{types}");
    let leads = browser.find_all_text("#leads [data-tier]").await;
    assert!(!leads.is_empty() && leads[0] == "Горячий", "{leads:?}");
    browser.screenshot("target/screenshots/analytics.png").await;

    // A phone: the page does not scroll sideways and the charts' labels
    // stay readable.
    browser.resize(390, 844).await;
    browser.goto(&app.url("/analytics?days=7")).await;
    browser.wait_for("#events svg").await;
    let overflow = browser
        .eval("return document.documentElement.scrollWidth - window.innerWidth")
        .await;
    assert!(
        number(&overflow) <= 0.0,
        "the page is {overflow} px too wide"
    );
    let label = browser
        .eval("return document.querySelector('#events text.tick').getBoundingClientRect().height")
        .await;
    assert!(number(&label) >= 10.0, "tick labels are {label} px high");
    browser
        .screenshot("target/screenshots/analytics-phone.png")
        .await;
    browser
        .eval("document.querySelector('#events').scrollIntoView(); return 0")
        .await;
    browser
        .screenshot("target/screenshots/analytics-phone-charts.png")
        .await;

    browser.resize(1280, 2200).await;
    browser.goto(&app.url("/")).await;
    browser.wait_for("#registrations svg").await;
    let lines = browser
        .eval("return document.querySelectorAll('#registrations polyline').length")
        .await;
    assert_eq!(number(&lines), 2.0);
    browser
        .screenshot("target/screenshots/home-analytics.png")
        .await;
}
