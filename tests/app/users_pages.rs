//! `/users` and `/users.csv`: the list with its search form (no JavaScript
//! needed), filters and pages checked against independent SQL, the CSV, and
//! the search-as-you-type script.

use hsl_dashboard::domain::role::Role;
use reqwest::StatusCode;

use crate::helpers::{Session, TestApp, spawn_app};
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

/// The ids of the listed rows, in order.
fn rows(html: &str) -> Vec<i64> {
    html.split("data-user=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().parse().unwrap())
        .collect()
}

/// The total the page states.
fn total(html: &str) -> Option<i64> {
    let rest = &html[html.find("data-total=\"")? + "data-total=\"".len()..];
    Some(rest[..rest.find('"')?].parse().unwrap())
}

async fn sql_ids(app: &TestApp, sql: &str) -> Vec<i64> {
    let mut ids: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_all(&app.pool)
        .await
        .unwrap();
    ids.sort();
    ids
}

const EVERYONE: &str = "SELECT user_id FROM users UNION SELECT user_id FROM bookings \
     UNION SELECT user_id FROM events UNION SELECT user_id FROM free_lesson_registrations \
     UNION SELECT user_id FROM hackathon_registrations";

#[tokio::test]
async fn the_users_page_searches_with_a_plain_get_form() {
    let (app, session) = setup().await;
    let html = page(&app, &session, "/users").await;
    assert!(html.contains("<form method=\"get\" action=\"/users\""));
    assert!(html.contains("name=\"search\""));
    assert!(html.contains("<script src=\"/static/users.js\" defer></script>"));
    let everyone = sql_ids(&app, EVERYONE).await;
    assert_eq!(total(&html), Some(everyone.len() as i64));
    let mut listed = rows(&html);
    assert_eq!(listed[..2], [101, 111], "most recently active first");
    listed.sort();
    assert_eq!(listed, everyone, "people only in events are listed too");
    assert!(
        html.contains("href=\"/users/120\""),
        "rows link to the user page"
    );
    assert!(html.contains("href=\"https://t.me/zoya_v\""));

    // Each field, as the form sends it (blank filters mean any).
    for (search, expected) in [
        ("Анна", vec![101]),
        ("кузнецов", vec![110]),
        ("@petr_k", vec![110]),
        ("petr_k", vec![110]),
        ("120", vec![120]),
        ("зоя", vec![120]),
        ("%", vec![150]),
    ] {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("search", search)
            .append_pair("stream", "")
            .append_pair("status", "")
            .append_pair("sort", "activity")
            .finish();
        let html = page(&app, &session, &format!("/users?{query}")).await;
        assert_eq!(rows(&html), expected, "{search}");
        assert_eq!(total(&html), Some(expected.len() as i64), "{search}");
        let typed = search.trim_start_matches('@');
        assert!(
            html.contains(&format!("value=\"{typed}\"")),
            "{search}: the box keeps what was typed"
        );
    }
    let html = page(&app, &session, "/users?search=nobody-at-all").await;
    assert!(rows(&html).is_empty());
    assert!(html.contains("Никого не нашли"));
}

#[tokio::test]
async fn filters_and_pages_match_independent_counts() {
    let (app, session) = setup().await;
    // Enough people for three pages of 50.
    sqlx::raw_sql(
        "INSERT INTO users (user_id, username, first_name, updated_at) \
         SELECT 5000 + n, 'many_' || n, 'Много', '2026-01-01 00:00' FROM generate_series(1, 120) n;",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    // Each person's standing in 8th_stream, another way: ordered by how far
    // the booking got (confirmed, pending, new, cancelled, unknown), then
    // the latest.
    let latest = "SELECT DISTINCT ON (user_id) user_id, confirmed FROM bookings \
                  WHERE course_id = 1 AND course_stream = '8th_stream' \
                  ORDER BY user_id, coalesce(array_position(ARRAY[2, 1, 0, -1], confirmed), 5), \
                           created_at DESC, id DESC";
    for (query, sql) in [
        (
            "stream=8th_stream&status=0",
            format!("SELECT user_id FROM ({latest}) l WHERE confirmed = 0"),
        ),
        (
            "stream=8th_stream",
            "SELECT DISTINCT user_id FROM bookings WHERE course_stream = '8th_stream'".to_owned(),
        ),
        (
            "status=none&search=many_11",
            "SELECT user_id FROM users WHERE username LIKE 'many\\_11%'".to_owned(),
        ),
    ] {
        let expected = sql_ids(&app, &sql).await;
        assert!(!expected.is_empty(), "{query}");
        let html = page(&app, &session, &format!("/users?{query}&sort=id")).await;
        assert_eq!(rows(&html), expected, "{query}");
        assert_eq!(total(&html), Some(expected.len() as i64), "{query}");
    }
    let html = page(&app, &session, "/users?stream=1:8th_stream").await;
    assert!(
        html.contains("<option value=\"1:8th_stream\" selected>8-й поток · Вайб кодинг</option>"),
        "named with its course, as there are two"
    );

    let everyone = sql_ids(&app, EVERYONE).await;
    assert_eq!(everyone.len().div_ceil(50), 3, "{}", everyone.len());
    let mut seen = Vec::new();
    for page_no in 1..=3 {
        let html = page(&app, &session, &format!("/users?sort=id&page={page_no}")).await;
        assert_eq!(total(&html), Some(everyone.len() as i64));
        assert!(
            html.contains(&format!("Страница {page_no} из 3")),
            "page {page_no}"
        );
        if page_no < 3 {
            let next = format!("href=\"/users?sort=id&#38;page={}\"", page_no + 1);
            assert!(
                html.contains(&next),
                "page {page_no} links the next: {next}"
            );
        }
        seen.extend(rows(&html));
    }
    assert_eq!(seen, everyone, "three pages cover everyone once, by id");
    let html = page(&app, &session, "/users?page=9").await;
    assert!(rows(&html).is_empty());
    assert!(html.contains("всего страниц 3"));
}

#[tokio::test]
async fn bad_filters_get_a_400_page() {
    let (app, session) = setup().await;
    for query in [
        "status=3",
        "stream=a%20b",
        "sort=name",
        "page=0",
        "page=1.5",
    ] {
        let response = app.get_as(&session, &format!("/users?{query}")).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let html = response.text().await.unwrap();
        assert!(html.contains("<html"), "{query}: an HTML error page");
    }
}

#[tokio::test]
async fn the_csv_has_the_filtered_list() {
    let (app, session) = setup().await;
    let response = app.get_as(&session, "/users.csv?status=none&sort=id").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert_eq!(
        response.headers()["content-disposition"],
        "attachment; filename=\"users.csv\""
    );
    let body = response.text().await.unwrap();
    let body = body.strip_prefix('\u{feff}').expect("a BOM");
    let lines: Vec<&str> = body.trim_end().split("\r\n").collect();
    assert!(lines[0].starts_with("ID пользователя;Ник в Telegram;Имя;Фамилия"));
    let expected = sql_ids(
        &app,
        &format!("SELECT user_id FROM ({EVERYONE}) p EXCEPT SELECT user_id FROM bookings"),
    )
    .await;
    let ids: Vec<i64> = lines[1..]
        .iter()
        .map(|line| line.split(';').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(ids, expected);
    let zoya = lines.iter().find(|line| line.starts_with("120;")).unwrap();
    assert!(zoya.starts_with("120;zoya_v;Зоя;;;;0;2;0;"), "{zoya}");
    // The page links the CSV of what it shows.
    let html = page(&app, &session, "/users?status=none&sort=id").await;
    assert!(html.contains("href=\"/users.csv?status=none&#38;sort=id\""));
}

#[tokio::test]
async fn the_search_script_is_served_from_static() {
    let app = spawn_app().await;
    let response = app.get("/static/users.js").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    let script = response.text().await.unwrap();
    // The debounce is htmx's now (`hx-trigger="input delay:300ms"` on the
    // form, checked in `htmx`); the script only trims htmx's request.
    assert!(
        script.contains("htmx:configRequest") && !script.contains("fetch("),
        "no hand-made requests"
    );
    assert!(
        !script.contains("http://") && !script.contains("https://"),
        "no CDN"
    );
}

/// The `<option>` values of the stream filter, in order.
fn stream_options(html: &str) -> Vec<String> {
    let select = &html[html.find("name=\"stream\"").unwrap()..];
    let select = &select[..select.find("</select>").unwrap()];
    select
        .split("<option value=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .filter(|code| !code.is_empty())
        .collect()
}

#[tokio::test]
async fn the_stream_filter_offers_every_stream_of_every_course_once() {
    let (app, session) = setup().await;
    sqlx::raw_sql(
        "INSERT INTO courses (id, name, button_text) VALUES (9, 'Другой', 'Другой');
         INSERT INTO bookings (user_id, course_id, confirmed, course_stream) VALUES
           (901, 1, 0, 'zz_twin'), (902, 9, 0, 'zz_twin'), (903, 1, 2, '7th_stream');
         UPDATE stream_registry SET archived = true WHERE code = '3rd_stream';",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let mut expected: Vec<String> = sqlx::query_scalar(
        "SELECT course_id || ':' || code FROM stream_registry WHERE NOT archived \
         UNION SELECT course_id || ':' || course_stream FROM bookings \
         WHERE course_stream IS NOT NULL AND course_id IS NOT NULL",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    expected.sort();

    let html = page(&app, &session, "/users").await;
    let mut offered = stream_options(&html);
    assert_eq!(
        offered
            .iter()
            .filter(|key| key.ends_with(":zz_twin"))
            .collect::<Vec<_>>(),
        ["1:zz_twin", "9:zz_twin"],
        "a code two courses have is offered once for each"
    );
    assert!(
        html.contains("<option value=\"9:zz_twin\">zz_twin · Другой</option>"),
        "named with its course"
    );
    offered.sort();
    assert_eq!(offered, expected);
    assert!(html.contains("<option value=\"1:7th_stream\">7-й поток · Вайб кодинг</option>"));

    let html = page(&app, &session, "/users?stream=1:3rd_stream").await;
    assert!(
        stream_options(&html).contains(&"1:3rd_stream".to_owned()),
        "an archived stream stays offered while it is the filter"
    );
}
