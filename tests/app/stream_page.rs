//! `/workshops/{course_id}/{code}` and its CSV: students by their standing,
//! per-status counts checked against independent SQL, filters, viewers of
//! the current intake, pagination, the CSV's bytes, and refused input.

use std::collections::HashMap;

use hsl_dashboard::domain::role::Role;
use reqwest::StatusCode;

use crate::bookings_api::fixture;
use crate::browser::Browser;
use crate::helpers::{Session, TestApp, spawn_app};

/// On top of the bookings fixture, 8th_stream gets: 106 (cancelled, twice),
/// 107 (a name that needs CSV quoting), 108 (pending; `users`
/// holds a formula as the name and no username). 102's current names are in
/// `users`. Views of course 1's programme: 201 twice after the start, 203 at
/// the start's very midnight (Moscow), 202 a minute before it, 204 of
/// another course, 101 and 105 who booked (105 only another stream).
async fn extra_rows(app: &TestApp) {
    sqlx::raw_sql(
        r#"UPDATE users SET updated_at = '2026-11-01 09:00' WHERE user_id = 101;
         INSERT INTO users (user_id, username, first_name, last_name, updated_at) VALUES
           (102, 'boris_now', 'Борислав', 'Петров', '2026-11-20 09:00'),
           (108, NULL, '=HYPERLINK("http://evil.example","x")', NULL, '2026-11-01 00:00');
         INSERT INTO bookings (user_id, username, first_name, course_id, confirmed, created_at, course_stream) VALUES
           (106, 'gleb', 'Глеб', 1, -1, '2026-11-02 10:00+00', '8th_stream'),
           (106, 'gleb', 'Глеб', 1, -1, '2026-11-03 10:00+00', '8th_stream'),
           (107, 'dina', 'Дина, "Ди"', 1, 2, '2026-11-04 10:00+00', '8th_stream'),
           (108, 'old_name', 'Old', 1, 1, '2026-11-05 10:00+00', '8th_stream');
         INSERT INTO events (user_id, event_type, details, created_at) VALUES
           (101, 'start_command', NULL, '2026-11-10 08:00+00'),
           (101, 'view_program', '{"course_id":"1"}', '2026-11-06 08:00+00'),
           (106, 'lesson_link_clicked', '{"lesson_type":"x"}', '2026-11-01 09:00+00'),
           (201, 'view_program', '{"course_id":"1","username":"zoya_v","first_name":"Зоя"}', '2026-11-07 12:00+00'),
           (201, 'view_program', '{"course_id":"1"}', '2026-11-08 12:00+00'),
           (202, 'view_program', '{"course_id":"1"}', '2026-10-31 20:59+00'),
           (203, 'view_program', '{"course_id":"1"}', '2026-10-31 21:00+00'),
           (204, 'view_program', '{"course_id":"2"}', '2026-11-07 12:00+00'),
           (105, 'view_program', '{"course_id":"1"}', '2026-11-09 12:00+00'),
           (205, 'start_command', NULL, '2026-11-09 12:00+00');"#,
    )
    .execute(&app.pool)
    .await
    .unwrap();
}

async fn set_start(app: &TestApp, code: &str, day: &str) {
    sqlx::query("UPDATE stream_registry SET starts_on = $2::date WHERE code = $1")
        .bind(code)
        .bind(day)
        .execute(&app.pool)
        .await
        .unwrap();
}

async fn setup() -> (TestApp, Session) {
    let app = spawn_app().await;
    fixture(&app).await;
    extra_rows(&app).await;
    let session = app.login_as(Role::Viewer).await;
    (app, session)
}

async fn page(app: &TestApp, session: &Session, path: &str) -> String {
    let response = app.get_as(session, path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.text().await.unwrap()
}

/// The values of `attribute="…"` in document order.
fn attributes(html: &str, attribute: &str) -> Vec<String> {
    let marker = format!("{attribute}=\"");
    html.split(marker.as_str())
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .collect()
}

fn users(html: &str) -> Vec<i64> {
    attributes(html, "data-user")
        .iter()
        .map(|id| id.parse().unwrap())
        .collect()
}

/// The count on the filter tab `key`, if the tab is there.
fn tab_count(html: &str, key: &str) -> Option<i64> {
    let start = html.find(&format!("data-filter=\"{key}\""))?;
    let rest = &html[start..];
    let rest = &rest[rest.find("class=\"count\">")? + "class=\"count\">".len()..];
    Some(rest[..rest.find('<')?].parse().unwrap())
}

/// The table row of `user`.
fn row(html: &str, user: i64) -> &str {
    let start = html
        .find(&format!("data-user=\"{user}\""))
        .unwrap_or_else(|| panic!("no row for {user}"));
    let end = html[start..].find("</tr>").unwrap() + start;
    &html[start..end]
}

/// Per standing, counted another way: the booking of course 1 in the
/// stream that no other booking of the same user there outranks (further
/// along confirmed, pending, new, cancelled, unknown; then later).
async fn counts_by_sql(app: &TestApp, code: &str) -> HashMap<String, i64> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "WITH s AS (SELECT b.*, coalesce(array_position(ARRAY[2, 1, 0, -1], b.confirmed), 5) AS place \
                    FROM bookings b WHERE b.course_id = 1 AND b.course_stream = $1) \
         SELECT CASE b.confirmed WHEN 2 THEN 'confirmed' WHEN 1 THEN 'pending' \
                WHEN -1 THEN 'cancelled' WHEN 0 THEN 'new' ELSE 'unknown' END, count(*) \
         FROM s b \
         WHERE NOT EXISTS ( \
             SELECT 1 FROM s other \
             WHERE other.user_id = b.user_id AND other.id <> b.id \
               AND (other.place < b.place \
                    OR (other.place = b.place AND (other.created_at > b.created_at \
                        OR (other.created_at = b.created_at AND other.id > b.id))))) \
         GROUP BY 1",
    )
    .bind(code)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    rows.into_iter().collect()
}

#[tokio::test]
async fn the_stream_page_lists_students_by_their_standing() {
    let (app, session) = setup().await;
    set_start(&app, "8th_stream", "2026-11-01").await;
    sqlx::query("UPDATE stream_registry SET capacity = 30 WHERE code = '8th_stream'")
        .execute(&app.pool)
        .await
        .unwrap();

    let workshops = page(&app, &session, "/workshops").await;
    for code in ["8th_stream", "7th_stream", "zz_stream"] {
        assert!(
            workshops.contains(&format!("href=\"/workshops/1/{code}\"")),
            "/workshops links {code}"
        );
    }

    let html = page(&app, &session, "/workshops/1/8th_stream").await;
    assert!(html.contains("<h1>8-й поток"));
    assert!(html.contains("текущий набор") && !html.contains("незарегистрированный"));
    assert!(html.contains("Курс: Вайб кодинг"));
    assert!(html.contains("Старт: 01.11.2026") && html.contains("Мест: 30"));
    assert!(html.contains("href=\"/workshops\">← Курсы и потоки"));
    assert!(
        html.contains("href=\"/workshops\" aria-current=\"page\""),
        "nav"
    );
    assert_eq!(
        users(&html),
        [108, 107, 106, 102, 101],
        "newest booking first"
    );
    assert_eq!(
        attributes(&html, "data-status"),
        ["pending", "confirmed", "cancelled", "pending", "new"],
        "102's pending booking outranks their later unknown one"
    );
    // Current names from `users`; without a username there, none is shown.
    let boris = row(&html, 102);
    assert!(boris.contains("Борислав Петров"), "{boris}");
    assert!(boris.contains("href=\"https://t.me/boris_now\""), "{boris}");
    assert!(
        boris.contains("01.11.2026 16:00"),
        "booked 13:00 UTC: {boris}"
    );
    assert!(
        boris.contains("20.11.2026 12:00"),
        "users.updated_at: {boris}"
    );
    assert!(!row(&html, 108).contains("old_name"));
    assert!(row(&html, 107).contains("href=\"https://t.me/dina\""));
    // Anna: her latest event (10.11 08:00 UTC) is her last activity; 2 events.
    let anna = row(&html, 101);
    assert!(anna.contains("10.11.2026 11:00"), "{anna}");
    assert!(anna.contains("<td>2</td>"), "{anna}");
    assert!(row(&html, 106).contains("<td>1</td>"));

    let expected = counts_by_sql(&app, "8th_stream").await;
    assert_eq!(
        expected,
        HashMap::from([
            ("confirmed".to_owned(), 1),
            ("pending".to_owned(), 2),
            ("cancelled".to_owned(), 1),
            ("new".to_owned(), 1),
        ])
    );
    assert_eq!(tab_count(&html, "all"), Some(5));
    assert_eq!(
        tab_count(&html, "unknown"),
        None,
        "nobody stands at unknown"
    );
    assert!(html.contains("data-filter=\"all\" aria-current=\"true\""));
    for (status, count) in &expected {
        assert_eq!(tab_count(&html, status), Some(*count), "{status}");
        let filtered = page(
            &app,
            &session,
            &format!("/workshops/1/8th_stream?status={status}"),
        )
        .await;
        let shown = attributes(&filtered, "data-status");
        assert_eq!(shown.len() as i64, *count, "{status}");
        assert!(shown.iter().all(|s| s == status), "{status}: {shown:?}");
        assert!(
            filtered.contains(&format!("data-filter=\"{status}\" aria-current=\"true\"")),
            "{status} is marked active"
        );
        assert!(
            filtered.contains(&format!(
                "href=\"/workshops/1/8th_stream/students.csv?status={status}\""
            )),
            "the CSV link keeps {status}"
        );
    }
    assert_eq!(
        users(&page(&app, &session, "/workshops/1/8th_stream?status=cancelled").await),
        [106],
        "106 has only cancelled bookings"
    );

    // 7th_stream: no unknown statuses, so no such tab; not the current intake.
    let seventh = page(&app, &session, "/workshops/1/7th_stream").await;
    assert_eq!(users(&seventh), [105, 101]);
    let expected = counts_by_sql(&app, "7th_stream").await;
    assert_eq!(
        tab_count(&seventh, "confirmed"),
        expected.get("confirmed").copied()
    );
    assert_eq!(tab_count(&seventh, "unknown"), None);
    assert_eq!(tab_count(&seventh, "viewers"), None);
    assert!(!seventh.contains("текущий набор"));

    // An unregistered stream, known from bookings only.
    let zz = page(&app, &session, "/workshops/1/zz_stream").await;
    assert!(zz.contains("<h1>zz_stream") && zz.contains("незарегистрированный"));
    assert_eq!(attributes(&zz, "data-status"), ["unknown"]);
    assert_eq!(tab_count(&zz, "unknown"), Some(1));

    // A registered stream without bookings: an empty state, not an error.
    let empty = page(&app, &session, "/workshops/1/3rd_stream").await;
    assert!(empty.contains("В этом потоке пока нет заявок."));
    assert_eq!(tab_count(&empty, "all"), Some(0));
    assert!(users(&empty).is_empty());
}

#[tokio::test]
async fn viewers_are_listed_only_for_the_current_intake_since_its_start() {
    let (app, session) = setup().await;

    // Without a start date the current intake can't tell its viewers.
    let html = page(&app, &session, "/workshops/1/8th_stream?status=viewers").await;
    assert!(html.contains("укажите дату старта"));
    assert!(html.contains("href=\"/settings/streams\""));
    assert_eq!(tab_count(&html, "viewers"), Some(0));
    assert!(users(&html).is_empty());

    set_start(&app, "8th_stream", "2026-11-01").await;
    let html = page(&app, &session, "/workshops/1/8th_stream?status=viewers").await;
    assert!(!html.contains("укажите дату старта"));
    assert!(html.contains("data-filter=\"viewers\" aria-current=\"true\""));
    // 202 viewed a minute before Moscow midnight, 204 another course; 101
    // booked this stream. 105 booked only 7th_stream.
    assert_eq!(users(&html), [105, 201, 203], "latest view first");
    assert_eq!(tab_count(&html, "viewers"), Some(3));
    assert!(
        attributes(&html, "data-status").is_empty(),
        "no student rows"
    );
    let zoya = row(&html, 201);
    assert!(zoya.contains("Зоя") && zoya.contains("href=\"https://t.me/zoya_v\""));
    assert!(zoya.contains("07.11.2026 15:00") && zoya.contains("08.11.2026 15:00"));
    assert!(zoya.contains("<td>2</td>"), "two views: {zoya}");
    assert!(
        row(&html, 203).contains("01.11.2026 00:00"),
        "the start itself counts"
    );
    // Vera booked 7th_stream only, so for 8th_stream she is a viewer.
    assert!(row(&html, 105).contains("09.11.2026 15:00"));

    // The students tab still counts students only, and shows the viewers tab.
    let students = page(&app, &session, "/workshops/1/8th_stream").await;
    assert_eq!(tab_count(&students, "viewers"), Some(3));
    assert!(!users(&students).contains(&201));

    // Another stream, even with a start date, has no viewers.
    set_start(&app, "7th_stream", "2026-10-01").await;
    let seventh = page(&app, &session, "/workshops/1/7th_stream").await;
    assert_eq!(tab_count(&seventh, "viewers"), None);
    let seventh = page(&app, &session, "/workshops/1/7th_stream?status=viewers").await;
    assert!(seventh.contains("только для текущего набора"));
    assert!(users(&seventh).is_empty());
}

#[tokio::test]
async fn the_stream_page_paginates_with_the_filter_kept() {
    let (app, session) = setup().await;
    // 130 people, one booking each a minute apart: every tenth confirmed.
    sqlx::query(
        "INSERT INTO bookings (user_id, username, first_name, course_id, confirmed, created_at, course_stream) \
         SELECT 10000 + g, 'user' || g, 'Имя ' || g, 1, CASE WHEN g % 10 = 0 THEN 2 ELSE 0 END, \
                '2026-01-01 00:00+00'::timestamptz + g * interval '1 minute', 'big_stream' \
         FROM generate_series(1, 130) AS g",
    )
    .execute(&app.pool)
    .await
    .unwrap();

    let first = page(&app, &session, "/workshops/1/big_stream").await;
    assert!(first.contains("незарегистрированный") && first.contains("Курс: Вайб кодинг"));
    let first_users = users(&first);
    assert_eq!(first_users.len(), 100);
    assert_eq!(first_users[0], 10130, "newest first");
    assert!(first.contains("Показано 1–100 из 130."));
    assert!(first.contains("Страница 1 из 2"));
    assert!(first.contains("href=\"/workshops/1/big_stream?page=2\" rel=\"next\""));

    let second = page(&app, &session, "/workshops/1/big_stream?page=2").await;
    let second_users = users(&second);
    assert_eq!(second_users, (10001..=10030).rev().collect::<Vec<_>>());
    assert!(second.contains("Показано 101–130 из 130."));
    assert!(second.contains("href=\"/workshops/1/big_stream\" rel=\"prev\""));

    // The filter survives paging: 117 new over two pages.
    let new = page(&app, &session, "/workshops/1/big_stream?status=new").await;
    assert_eq!(tab_count(&new, "new"), Some(117));
    assert_eq!(tab_count(&new, "confirmed"), Some(13));
    assert_eq!(users(&new).len(), 100);
    assert!(new.contains("href=\"/workshops/1/big_stream?status=new&#38;page=2\""));
    let new_2 = page(&app, &session, "/workshops/1/big_stream?status=new&page=2").await;
    assert_eq!(users(&new_2).len(), 17);
    assert!(attributes(&new_2, "data-status").iter().all(|s| s == "new"));
    assert!(new_2.contains("Показано 101–117 из 117."));

    // Past the last page: an explanation, not an error.
    let past = page(&app, &session, "/workshops/1/big_stream?page=3").await;
    assert!(users(&past).is_empty());
    assert!(past.contains("На странице 3 ничего нет"));

    // The CSV has every row, not one page.
    let csv = app
        .get_as(&session, "/workshops/1/big_stream/students.csv")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(csv.trim_end().split("\r\n").count(), 1 + 130);
}

/// The CSV's records, BOM stripped, split on CRLF (cells here hold no CRLF).
fn records(body: &str) -> Vec<&str> {
    body.strip_prefix('\u{feff}')
        .expect("a BOM")
        .strip_suffix("\r\n")
        .expect("CRLF at the end")
        .split("\r\n")
        .collect()
}

#[tokio::test]
async fn the_csv_export_has_a_bom_quoted_cells_and_the_filter() {
    let (app, session) = setup().await;
    set_start(&app, "8th_stream", "2026-11-01").await;

    let response = app
        .get_as(&session, "/workshops/1/8th_stream/students.csv")
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert_eq!(
        response.headers()["content-disposition"],
        "attachment; filename=\"stream-1-8th_stream-all.csv\""
    );
    let bytes = response.bytes().await.unwrap();
    assert_eq!(&bytes[..3], [0xEF, 0xBB, 0xBF]);
    let body = String::from_utf8(bytes.to_vec()).unwrap();
    let lines = records(&body);
    assert_eq!(
        lines[0],
        "ID пользователя;Ник в Telegram;Имя;Фамилия;Статус;Дата заявки;ID заявки;Последняя активность;Событий"
    );
    assert_eq!(lines.len(), 1 + 5);
    let ids: Vec<&str> = lines[1..]
        .iter()
        .map(|line| line.split(';').next().unwrap())
        .collect();
    assert_eq!(ids, ["108", "107", "106", "102", "101"]);
    // A formula defused and quoted (it holds quotes and a comma); no
    // username for 108, whose `users` row has none.
    assert!(
        lines[1].starts_with(
            "108;;\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\";;В ожидании;05.11.2026 13:00;"
        ),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with("107;dina;\"Дина, \"\"Ди\"\"\";;Подтверждено;04.11.2026 13:00;"),
        "{}",
        lines[2]
    );
    assert_eq!(
        lines[4],
        "102;boris_now;Борислав;Петров;В ожидании;01.11.2026 16:00;4;20.11.2026 12:00;0"
    );
    assert_eq!(
        lines[5],
        "101;anna;Анна;;Новая заявка;01.11.2026 13:00;1;10.11.2026 11:00;2"
    );

    let confirmed = app
        .get_as(
            &session,
            "/workshops/1/8th_stream/students.csv?status=confirmed",
        )
        .await;
    assert_eq!(
        confirmed.headers()["content-disposition"],
        "attachment; filename=\"stream-1-8th_stream-confirmed.csv\""
    );
    let body = confirmed.text().await.unwrap();
    let lines = records(&body);
    assert_eq!(lines.len(), 2);
    assert!(lines[1].starts_with("107;") && lines[1].contains(";Подтверждено;"));

    let viewers = app
        .get_as(
            &session,
            "/workshops/1/8th_stream/students.csv?status=viewers",
        )
        .await;
    assert_eq!(
        viewers.headers()["content-disposition"],
        "attachment; filename=\"stream-1-8th_stream-viewers.csv\""
    );
    let body = viewers.text().await.unwrap();
    let lines = records(&body);
    assert_eq!(
        lines[0],
        "ID пользователя;Ник в Telegram;Имя;Фамилия;Первый просмотр;Последний просмотр;Просмотров;Последняя активность;Событий"
    );
    assert_eq!(
        lines[2],
        "201;zoya_v;Зоя;;07.11.2026 15:00;08.11.2026 15:00;2;08.11.2026 15:00;2"
    );
    assert_eq!(
        lines[3],
        "203;;;;01.11.2026 00:00;01.11.2026 00:00;1;01.11.2026 00:00;1"
    );
    assert_eq!(lines.len(), 1 + 3);

    // The page's download link keeps the filter.
    let html = page(&app, &session, "/workshops/1/8th_stream?status=viewers").await;
    assert!(html.contains("href=\"/workshops/1/8th_stream/students.csv?status=viewers\""));
}

#[tokio::test]
async fn bad_input_is_refused_and_strangers_are_sent_to_login() {
    let (app, session) = setup().await;
    let long = "s".repeat(51);
    let cases = [
        (
            "/workshops/1/8th_stream?status=paid".to_owned(),
            StatusCode::BAD_REQUEST,
            "confirmed, pending, cancelled, new, unknown или viewers",
        ),
        (
            "/workshops/1/8th_stream?status=2".to_owned(),
            StatusCode::BAD_REQUEST,
            "unknown или viewers",
        ),
        (
            "/workshops/1/8th_stream/students.csv?status=all".to_owned(),
            StatusCode::BAD_REQUEST,
            "unknown или viewers",
        ),
        (
            format!("/workshops/1/{long}"),
            StatusCode::BAD_REQUEST,
            "Код потока",
        ),
        (
            "/workshops/1/bad%20code".to_owned(),
            StatusCode::BAD_REQUEST,
            "Код потока",
        ),
        (
            "/workshops/1/a.b/students.csv".to_owned(),
            StatusCode::BAD_REQUEST,
            "Код потока",
        ),
        (
            "/workshops/1/nope_stream".to_owned(),
            StatusCode::NOT_FOUND,
            "Страница не найдена",
        ),
        (
            "/workshops/2/8th_stream".to_owned(),
            StatusCode::NOT_FOUND,
            "Страница не найдена",
        ),
        (
            "/workshops/0/8th_stream".to_owned(),
            StatusCode::BAD_REQUEST,
            "",
        ),
        (
            "/workshops/abc/8th_stream/students.csv".to_owned(),
            StatusCode::BAD_REQUEST,
            "",
        ),
        (
            "/workshops/1/nope_stream/students.csv".to_owned(),
            StatusCode::NOT_FOUND,
            "Страница не найдена",
        ),
    ];
    for (path, status, needle) in cases {
        let response = app.get_as(&session, &path).await;
        assert_eq!(response.status(), status, "{path}");
        let html = response.text().await.unwrap();
        assert!(html.contains(needle), "{path}: {html}");
    }
    for bad in ["0", "-1", "abc", "1.5", "", "+2", "2x", "1000001"] {
        let path = format!("/workshops/1/8th_stream?page={bad}");
        let response = app.get_as(&session, &path).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
        assert!(
            response.text().await.unwrap().contains("Номер страницы"),
            "{path}"
        );
    }

    for path in [
        "/workshops/1/8th_stream",
        "/workshops/1/8th_stream/students.csv?status=confirmed",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        let location = response.headers()["location"].to_str().unwrap();
        assert!(location.starts_with("/login"), "{path} → {location}");
        assert!(!response.text().await.unwrap().contains("Анна"));
    }
}

#[tokio::test]
async fn a_browser_opens_a_stream_from_workshops_and_filters_it() {
    let app = spawn_app().await;
    fixture(&app).await;
    extra_rows(&app).await;
    set_start(&app, "8th_stream", "2026-11-01").await;
    let (login, password) = app.add_staff(Role::Viewer).await;
    let browser = Browser::start().await;
    browser.login(&app, &login, &password).await;
    browser.goto(&app.url("/workshops")).await;
    browser
        .click(".stream-cards a[href=\"/workshops/1/8th_stream\"]")
        .await;
    browser.wait_for("table.students-table").await;
    assert_eq!(browser.current_path().await, "/workshops/1/8th_stream");
    assert_eq!(
        browser
            .find_all_text("table.students-table [data-status]")
            .await
            .len(),
        5
    );
    browser.screenshot("target/screenshots/stream.png").await;

    browser
        .click("nav.filters a[data-filter=\"confirmed\"]")
        .await;
    browser
        .wait_for("nav.filters a[aria-current=\"true\"][data-filter=\"confirmed\"]")
        .await;
    assert_eq!(
        browser
            .find_all_text("table.students-table [data-status]")
            .await,
        ["Подтверждено"]
    );

    browser.resize(390, 844).await;
    browser
        .click("nav.filters a[data-filter=\"viewers\"]")
        .await;
    browser.wait_for("table.viewers-table").await;
    assert_eq!(
        browser
            .find_all_text("table.viewers-table tr[data-user]")
            .await
            .len(),
        3
    );
    browser
        .screenshot("target/screenshots/stream-phone.png")
        .await;
}
