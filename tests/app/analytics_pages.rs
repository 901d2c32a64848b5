//! The home page, `/analytics` and `/free-lessons` over HTTP: the fixture's
//! numbers as staff see them, CSV exports, bad parameters in Russian.

use chrono::{Duration, DurationRound, Utc};
use hsl_dashboard::domain::role::Role;
use reqwest::StatusCode;

use crate::analytics::fixture;
use crate::helpers::{Session, TestApp, spawn_app};

async fn page(app: &TestApp, session: &Session, path: &str) -> String {
    let response = app.get_as(session, path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.text().await.unwrap()
}

/// The `<td>` cells of the chart data table of chart `id`, row by row.
fn chart_rows(html: &str, id: &str) -> Vec<Vec<String>> {
    let start = html
        .find(&format!("<figure class=\"chart\" id=\"{id}\""))
        .unwrap();
    let figure = &html[start..start + html[start..].find("</figure>").unwrap()];
    let body = &figure[figure.find("<tbody>").unwrap()..];
    body.split("<tr>")
        .skip(1)
        .map(|row| {
            row.split("<td>")
                .skip(1)
                .map(|cell| cell[..cell.find("</td>").unwrap()].to_owned())
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn analytics_shows_the_fixture_for_a_custom_range() {
    let app = spawn_app().await;
    fixture(&app.pool).await;
    let session = app.login_as(Role::Viewer).await;
    let html = page(&app, &session, "/analytics?from=2026-11-09&to=2026-11-12").await;
    assert!(html.contains("09.11.2026 – 12.11.2026 · 4 дн."));
    assert!(html.contains(r#"value="2026-11-09""#) && html.contains(r#"value="2026-11-12""#));
    for summary in [
        "<span class=\"stat-value\">6</span><span class=\"stat-label\">новых пользователей · в среднем 1.5 в день",
        "<span class=\"stat-value\">5</span><span class=\"stat-label\">заявок на курс · в среднем 1.3 в день",
        "<span class=\"stat-value\">5</span><span class=\"stat-label\">событий · в среднем 1.3 в день",
    ] {
        assert!(html.contains(summary), "{summary}");
    }
    let days = ["09.11.2026", "10.11.2026", "11.11.2026", "12.11.2026"];
    let expect = |values: [&str; 4]| -> Vec<Vec<String>> {
        days.iter()
            .zip(values)
            .map(|(d, v)| vec![d.to_string(), v.to_string()])
            .collect()
    };
    assert_eq!(chart_rows(&html, "new-users"), expect(["2", "2", "1", "1"]));
    assert_eq!(chart_rows(&html, "growth"), expect(["5", "7", "8", "9"]));
    assert_eq!(chart_rows(&html, "bookings"), expect(["1", "1", "1", "2"]));
    assert_eq!(chart_rows(&html, "events"), expect(["1", "0", "1", "3"]));
    assert_eq!(
        chart_rows(&html, "event-types"),
        [
            ["Перешёл по ссылке на урок", "2", "40.0 %"],
            ["Смотрел программу курса", "2", "40.0 %"],
            ["Запустил бота", "1", "20.0 %"]
        ]
    );
    // Four bars per daily chart, each with its tooltip; the SVG is labelled.
    assert_eq!(html.matches("<rect class=\"bar\"").count(), 3 * 4 + 3);
    assert!(html.contains("<title>11.11.2026: 1</title>"));
    assert!(html.contains(r#"aria-labelledby="events-title events-desc""#));
    assert!(html.contains("<td title=\"cursor_lesson\">Урок по Cursor</td>\n        <td>2</td>\n        <td>2</td>\n        <td>1</td>\n        <td>50.0 %</td>"));
    // Both registrants are cold over 06.11–12.11 (one click each).
    assert!(html.contains("06.11.2026 – 12.11.2026"));
    assert!(html.contains(r#"data-tier-count="cold">Холодный <span class="count">2</span>"#));
    assert_eq!(html.matches("data-lead=").count(), 2);
    assert!(html.contains(r#"href="/analytics/leads.csv?from=2026-11-09&#38;to=2026-11-12""#));

    // A range without the clicks' day: conversion counts only its registrations.
    let html = page(&app, &session, "/analytics?from=2026-11-11&to=2026-11-11").await;
    assert!(html.contains("<td title=\"ai_agents_lesson\">Урок про ИИ-агентов</td>\n        <td>1</td>\n        <td>1</td>\n        <td>0</td>\n        <td>0.0 %</td>"));
    assert!(!html.contains(r#"title="cursor_lesson""#));

    let csv = app
        .get_as(
            &session,
            "/analytics/leads.csv?from=2026-11-09&to=2026-11-12&tier=cold",
        )
        .await;
    assert_eq!(csv.status(), StatusCode::OK);
    let body = csv.text().await.unwrap();
    assert!(body.starts_with('\u{feff}'));
    let lines: Vec<&str> = body.trim_end().split("\r\n").collect();
    assert_eq!(lines.len(), 3, "{body}");
    assert!(lines[0].contains("E-mail;Уроки;Уровень"));
    assert!(lines[1].starts_with("204;gleb;Глеб;;gleb@example.org;\"Урок про ИИ-агентов, Урок по Cursor\";Холодный;1;1;12.11.2026"), "{}", lines[1]);
}

#[tokio::test]
async fn bad_page_parameters_get_400_in_russian() {
    let app = spawn_app().await;
    let session = app.login_as(Role::Viewer).await;
    for (path, message) in [
        ("/analytics?days=0", "число дней от 1 до 365"),
        ("/analytics?days=abc", "число дней от 1 до 365"),
        ("/analytics?days=400", "число дней от 1 до 365"),
        ("/analytics?from=2026-11-01", "Укажите обе даты"),
        (
            "/analytics?from=2026-11-05&to=2026-11-01",
            "Дата «с» позже даты «по»",
        ),
        ("/analytics?from=1.11.2026&to=2026-11-02", "ГГГГ-ММ-ДД"),
        (
            "/analytics?days=7&from=2026-11-01&to=2026-11-02",
            "либо число дней",
        ),
        (
            "/analytics?from=2025-01-01&to=2026-11-01",
            "не больше 365 дней",
        ),
        (
            "/analytics?from=2026-11-01&to=2099-01-01",
            "не может быть позже сегодняшней",
        ),
        ("/analytics?tier=lukewarm", "Уровень лида"),
        ("/analytics?page=0", "Номер страницы"),
        ("/analytics/leads.csv?days=366", "число дней от 1 до 365"),
        ("/analytics/leads.csv?tier=HOT", "Уровень лида"),
        ("/free-lessons?page=x", "Номер страницы"),
        ("/free-lessons.csv?page=-1", "Номер страницы"),
    ] {
        let response = app.get_as(&session, path).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
        let html = response.text().await.unwrap();
        assert!(html.contains(message), "{path}: no «{message}»");
        assert!(html.contains("Неверный запрос"), "{path}");
    }
    // A form's blank fields mean the defaults.
    let html = page(&app, &session, "/analytics?from=&to=&days=&tier=&page=").await;
    assert!(html.contains("· 30 дн."));
    page(&app, &session, "/free-lessons?search=&page=").await;
}

#[tokio::test]
async fn free_lessons_list_search_breakdowns_and_csv() {
    let app = spawn_app().await;
    fixture(&app.pool).await;
    let session = app.login_as(Role::Viewer).await;
    let html = page(&app, &session, "/free-lessons").await;
    assert!(html.contains(r#"data-total="3""#));
    assert!(html.contains("<span class=\"stat-value\">33.3 %</span><span class=\"stat-label\">с отправленным напоминанием (1 из 3)"));
    assert!(html.contains("<td title=\"cursor_lesson\">Урок по Cursor</td>\n        <td>2</td>\n        <td>2</td>\n        <td>1</td>\n        <td>50.0 %</td>\n        <td>50.0 %</td>"));
    // By date: 14.11 has two cursor registrations, 21.11 one AI-agents one.
    assert!(html.contains("<td class=\"nowrap\">14.11.2026</td><td>2</td><td>0</td>\n          <td>2</td>\n          <td>50.0 %</td>"));
    assert!(html.contains("<td class=\"nowrap\">21.11.2026</td><td>0</td><td>1</td>\n          <td>1</td>\n          <td>0.0 %</td>"));
    for (search, expected) in [
        ("gleb@", 2),
        ("@DINA", 1),
        ("205", 1),
        ("Глеб", 2),
        ("nobody", 0),
        ("20", 0),
    ] {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("search", search)
            .finish();
        let html = page(&app, &session, &format!("/free-lessons?{query}")).await;
        assert_eq!(
            html.matches("data-registration=").count(),
            expected,
            "{search}"
        );
    }
    let csv = app.get_as(&session, "/free-lessons.csv?search=gleb").await;
    assert_eq!(csv.status(), StatusCode::OK);
    let body = csv.text().await.unwrap();
    let lines: Vec<&str> = body.trim_end().split("\r\n").collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(
        lines[1],
        "204;gleb;Глеб;;gleb@example.org;Урок про ИИ-агентов;21.11.2026;11.11.2026 12:00;нет"
    );
}

#[tokio::test]
async fn home_shows_headline_feed_and_hot_leads() {
    let app = spawn_app().await;
    fixture(&app.pool).await;
    // 401 is busy this week (hot), 402 three times today: the feed shows
    // only their two newest.
    let now = Utc::now().duration_trunc(Duration::minutes(1)).unwrap();
    sqlx::query(
        "INSERT INTO free_lesson_registrations (user_id, username, first_name, email, registered_at) \
         VALUES (401, 'busy', 'Активная', 'busy@example.org', $1 - interval '20 days'); \
         ",
    )
    .bind(now)
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO events (user_id, event_type, created_at) \
         SELECT 401, 'view_reviews', $1 - make_interval(days => d) - interval '1 hour' \
         FROM generate_series(0, 4) d, generate_series(1, 4) n",
    )
    .bind(now)
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO events (user_id, event_type, details, created_at) \
         SELECT 402, 'faq_opened', '{\"first_name\":\"Частый\"}', $1 - make_interval(mins => n) \
         FROM generate_series(1, 3) n",
    )
    .bind(now)
    .execute(&app.pool)
    .await
    .unwrap();
    let session = app.login_as(Role::Viewer).await;
    let html = page(&app, &session, "/").await;
    for (stat, value) in [
        ("users", "11"),
        ("active-bookings", "4"),
        ("confirmed", "1"),
        ("free-lessons", "4"),
    ] {
        assert!(
            html.contains(&format!(
                "data-stat=\"{stat}\"><span class=\"stat-value\">{value}</span>"
            )),
            "{stat}"
        );
    }
    let feed: Vec<&str> = html
        .split("<li data-event=")
        .skip(1)
        .map(|item| {
            let start = item.find("/users/").unwrap() + 7;
            &item[start..start + 3]
        })
        .collect();
    assert_eq!(feed[..3], ["402", "402", "401"]);
    assert_eq!(feed.iter().filter(|id| **id == "402").count(), 2);
    assert!(html.contains("Частый"), "a name from event details");
    assert!(html.contains(r#"<tr data-lead="401">"#));
    assert!(html.contains(r#"data-tier="hot">Горячий"#));
    assert!(html.contains("<figure class=\"chart\" id=\"growth\""));
    assert!(html.contains("<figure class=\"chart\" id=\"registrations\""));
    assert!(html.contains("Записи на бесплатный урок"));
    assert!(html.contains("8-й поток") && html.contains("конверсия"));
}
