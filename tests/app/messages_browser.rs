//! The messaging pages in a real Chromium, with the app's delivery engine
//! and the real teloxide client talking to the fake Bot API: an admin
//! composes a stream broadcast, sees the live count and preview, confirms
//! it with a double click, and watches its progress reach «завершено»
//! without reloading the page. Screenshots land in target/screenshots.

use std::time::Duration;

use hsl_dashboard::domain::role::Role;
use secrecy::SecretString;
use serde_json::Value;
use tokio::time::Instant;

use crate::browser::Browser;
use crate::fake_telegram::FakeTelegram;
use crate::helpers::spawn_app_with;

/// The confirmed members of `9th_stream`, the current intake.
const MEMBERS: std::ops::RangeInclusive<i64> = 301..=340;

fn text(value: &Value) -> String {
    value.as_str().map(str::to_owned).unwrap_or_default()
}

#[tokio::test]
async fn an_admin_composes_a_stream_broadcast_and_watches_it_finish() {
    let fake = FakeTelegram::start().await;
    let url = fake.url.parse().unwrap();
    let app = spawn_app_with(|config| {
        config.telegram_bot_token = Some(SecretString::from("123456:TEST-browser"));
        config.telegram_api_url = url;
        // 40 messages take four seconds: long enough to watch.
        config.send_rate_per_sec = 10;
    })
    .await;
    sqlx::raw_sql(
        "UPDATE stream_registry SET is_current = false;
         INSERT INTO stream_registry (code, course_id, display_name, is_current)
           VALUES ('9th_stream', 1, '9-й поток', true);
         INSERT INTO users (user_id, username, first_name)
           SELECT id, 'student' || id, 'Студент ' || id FROM generate_series(301, 345) id;
         INSERT INTO bookings (user_id, username, first_name, course_id, confirmed, course_stream)
           SELECT id, 'student' || id, 'Студент ' || id, 1, CASE WHEN id <= 340 THEN 2 ELSE 1 END,
                  '9th_stream'
           FROM generate_series(301, 345) id;",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let (login, password) = app.add_staff(Role::Admin).await;
    let browser = Browser::start().await;
    browser.login(&app, &login, &password).await;
    browser.resize(1280, 1800).await;

    browser.goto(&app.url("/messages/new")).await;
    browser
        .click("input[name=stream][value='1:9th_stream']")
        .await;
    browser
        .type_into("#text", "<b>Завтра</b> занятие в 19:00")
        .await;
    // The live panel counts the confirmed members only, and previews the
    // formatting as Telegram shows it.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let count = browser
            .eval("const c = document.querySelector('[data-recipients]'); return c ? c.dataset.recipients : '';")
            .await;
        let bold = browser
            .eval(
                "const b = document.querySelector('.tg-bubble b'); return b ? b.textContent : '';",
            )
            .await;
        if text(&count) == "40" && text(&bold) == "Завтра" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the live panel shows {count} recipients and {bold:?} in bold"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.screenshot("target/screenshots/compose.png").await;

    browser.click(".compose-actions button[value=review]").await;
    let count = browser.wait_for("[data-confirm-count]").await;
    assert_eq!(count.text().await.unwrap(), "40");
    assert_eq!(
        browser.find_all_text(".facts dd").await[0],
        "9-й поток · подтверждённые"
    );
    browser
        .screenshot("target/screenshots/compose-confirm.png")
        .await;

    // A double click on «Отправить».
    browser
        .eval("const b = document.querySelector('button[value=send]'); b.click(); b.click(); return true;")
        .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let path = browser.current_path().await;
        if path.starts_with("/messages/") && path != "/messages/new" {
            break;
        }
        assert!(Instant::now() < deadline, "still on {path}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    browser.wait_for("#progress").await;
    // Marks this page: a full reload would lose it.
    browser.eval("window.stayed = true; return true;").await;
    let badge = "return document.querySelector('#progress .badge').textContent.trim();";
    let first = text(&browser.eval(badge).await);
    assert_eq!(first, "отправляется", "the page opens while it sends");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = vec![first];
    // While it sends, the card shows the rate and the time left.
    let pace = "const r = document.querySelector('#progress [data-rate]'); \
                const e = document.querySelector('#progress [data-eta]'); \
                return r && e ? r.textContent + ' · ' + e.textContent : '';";
    let mut paces = Vec::new();
    loop {
        let now = text(&browser.eval(badge).await);
        if now == "отправляется" {
            let shown = text(&browser.eval(pace).await);
            if !shown.is_empty() && paces.last() != Some(&shown) {
                paces.push(shown);
            }
        }
        if seen.last() != Some(&now) {
            seen.push(now.clone());
        }
        if now == "завершено" {
            break;
        }
        assert!(Instant::now() < deadline, "progress went {seen:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(seen, ["отправляется", "завершено"]);
    assert!(!paces.is_empty(), "no rate or ETA was shown while sending");
    assert_eq!(
        browser.eval("return window.stayed === true;").await,
        true,
        "no reload"
    );
    assert_eq!(
        browser.find_all_text(".progress-numbers").await,
        ["40 из 40 (100%)"]
    );
    // The recipients table follows, still without a reload.
    let deadline = Instant::now() + Duration::from_secs(10);
    let queued = "return document.querySelector('#recipients').textContent.includes('в очереди');";
    while browser.eval(queued).await == true {
        assert!(
            Instant::now() < deadline,
            "the recipients table stays stale"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let statuses = browser
        .find_all_text("#recipients tbody tr td:nth-child(2)")
        .await;
    assert_eq!(statuses.len(), 40);
    assert!(statuses.iter().all(|s| s == "доставлено"), "{statuses:?}");
    assert_eq!(browser.eval("return window.stayed === true;").await, true);
    browser
        .screenshot("target/screenshots/message-done.png")
        .await;

    // One broadcast, and each member got the message once.
    let broadcasts: i64 =
        sqlx::query_scalar("SELECT count(*) FROM message_history WHERE NOT legacy")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(broadcasts, 1);
    let delivered = fake.delivered();
    let mut chats: Vec<i64> = delivered.keys().copied().collect();
    chats.sort_unstable();
    assert_eq!(chats, MEMBERS.collect::<Vec<_>>());
    assert!(delivered.values().all(|n| *n == 1), "{delivered:?}");
}
