//! `/workshops`: counts against the fixture, the status filter in the URL
//! (over HTTP and in a real browser), and bad filters.

use hsl_dashboard::domain::role::Role;
use reqwest::StatusCode;

use crate::bookings_api::fixture;
use crate::browser::Browser;
use crate::helpers::spawn_app;

fn statuses(html: &str) -> Vec<String> {
    html.split("data-status=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_workshops_page_shows_streams_totals_and_filtered_bookings() {
    let app = spawn_app().await;
    fixture(&app).await;
    let session = app.login_as(Role::Viewer).await;

    let page = app.get_as(&session, "/workshops").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Обновлено: "));
    assert!(html.contains("8-й поток") && html.contains("текущий набор"));
    assert!(html.contains("zz_stream") && html.contains("незарегистрированный"));
    assert!(
        html.contains("людей на местах: 2 из 2 мест"),
        "7th_stream's fill against capacity, in people"
    );
    assert!(
        html.contains(r#"<span class="stat-value">7</span><span class="stat-label">заявок всего"#)
    );
    assert!(html.contains("Показано 7 из 7."));
    let all = statuses(&html);
    assert_eq!(all.len(), 7);

    for (filter, expected) in [
        ("confirmed", 2),
        ("pending", 1),
        ("cancelled", 1),
        ("new", 1),
    ] {
        let html = app
            .get_as(&session, &format!("/workshops?status={filter}"))
            .await
            .text()
            .await
            .unwrap();
        let shown = statuses(&html);
        assert_eq!(shown.len(), expected, "{filter}");
        assert!(shown.iter().all(|s| s == filter), "{filter}: {shown:?}");
        assert!(
            html.contains(&format!(
                "href=\"/workshops?status={filter}#latest\" aria-current=\"true\""
            )),
            "the active filter is marked"
        );
    }
    for bad in ["2", "paid", "unknown"] {
        let response = app
            .get_as(&session, &format!("/workshops?status={bad}"))
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert!(response.text().await.unwrap().contains("Фильтр статуса"));
    }
}

#[tokio::test]
async fn a_browser_filters_the_latest_bookings_by_status() {
    let app = spawn_app().await;
    fixture(&app).await;
    let (login, password) = app.add_staff(Role::Viewer).await;
    let browser = Browser::start().await;
    browser.login(&app, &login, &password).await;
    browser.goto(&format!("{}/workshops", app.address)).await;
    browser.wait_for("table.bookings-table").await;
    let all = browser
        .find_all_text("table.bookings-table [data-status]")
        .await;
    assert_eq!(all.len(), 7);

    browser
        .click("nav.filters a[href^=\"/workshops?status=confirmed\"]")
        .await;
    browser
        .wait_for("nav.filters a[aria-current=\"true\"][href^=\"/workshops?status=confirmed\"]")
        .await;
    let shown = browser
        .find_all_text("table.bookings-table [data-status]")
        .await;
    assert_eq!(shown, ["Подтверждено", "Подтверждено"]);
    assert_eq!(browser.current_path().await, "/workshops");
    browser.screenshot("target/screenshots/workshops.png").await;
}
