//! The numbers on `/workshops`, the stream page's head and
//! `/api/course-streams` add up: bookings apart from people (by standing),
//! places counted in people not cancelled, the overflow past capacity, and
//! pending bookings older than `STALE_PENDING_DAYS` with the page listing
//! exactly them. Every count is checked against SQL written here, not the
//! app's query. Fixture times are computed from now, with hours of margin.

use std::collections::HashMap;

use hsl_dashboard::config::Config;
use hsl_dashboard::domain::role::Role;
use reqwest::StatusCode;
use serde_json::Value;

use crate::binary::command;
use crate::browser::Browser;
use crate::helpers::{Session, TestApp, scratch_dir, spawn_app, spawn_app_with};

/// Course 1's 8th_stream (capacity 3), by person:
/// 1001 cancelled then confirmed (one person, confirmed); 1002 confirmed,
/// then a new booking (still confirmed); 1003 pending for 10 days (stale);
/// 1004 pending for a day; 1005 new; 1006 cancelled; 1007 NULL (unknown);
/// 1008 two pending bookings, 3 days 1 hour and 20 days old (both stale);
/// 1009 cancelled and an unknown 7 (cancelled outranks unknown).
/// 13 bookings, 9 people, 7 of them on places: 4 over the capacity.
/// 7th_stream (capacity 10): two people, nothing stale. `4th_stream` has a
/// person in course 1 and a stale pending booking in course 2: two cards.
pub async fn fixture(app: &TestApp) {
    sqlx::raw_sql(
        "INSERT INTO courses (id, name, button_text) VALUES (2, 'Python', 'Python');
         UPDATE stream_registry SET capacity = 3 WHERE code = '8th_stream';
         UPDATE stream_registry SET capacity = 10 WHERE code = '7th_stream';
         INSERT INTO bookings (user_id, username, first_name, course_id, confirmed, created_at, course_stream) VALUES
           (1001, 'u1001', 'Аня', 1, -1, now() - interval '30 days', '8th_stream'),
           (1001, 'u1001', 'Аня', 1, 2, now() - interval '29 days', '8th_stream'),
           (1002, 'u1002', 'Боря', 1, 2, now() - interval '20 days', '8th_stream'),
           (1002, 'u1002', 'Боря', 1, 0, now() - interval '1 day', '8th_stream'),
           (1003, 'u1003', 'Вера', 1, 1, now() - interval '10 days', '8th_stream'),
           (1004, 'u1004', 'Гоша', 1, 1, now() - interval '1 day', '8th_stream'),
           (1005, 'u1005', 'Даша', 1, 0, now() - interval '5 days', '8th_stream'),
           (1006, 'u1006', 'Егор', 1, -1, now() - interval '5 days', '8th_stream'),
           (1007, 'u1007', 'Жора', 1, NULL, now() - interval '5 days', '8th_stream'),
           (1008, 'u1008', 'Зоя', 1, 1, now() - interval '3 days 1 hour', '8th_stream'),
           (1008, 'u1008', 'Зоя', 1, 1, now() - interval '20 days', '8th_stream'),
           (1009, 'u1009', 'Иван', 1, -1, now() - interval '2 days', '8th_stream'),
           (1009, 'u1009', 'Иван', 1, 7, now() - interval '2 days', '8th_stream'),
           (1001, 'u1001', 'Аня', 1, 2, now() - interval '100 days', '7th_stream'),
           (1011, 'u1011', 'Кира', 1, 1, now() - interval '1 hour', '7th_stream'),
           (1010, 'u1010', 'Лев', 1, 2, now() - interval '50 days', '4th_stream'),
           (1001, 'u1001', 'Аня', 2, 1, now() - interval '10 days', '4th_stream');",
    )
    .execute(&app.pool)
    .await
    .unwrap();
}

/// Per `(course_id, code)`, counted another way: each person's flags for
/// "has a booking with status …", their standing read off the flags.
async fn expected(app: &TestApp, stale_days: i32) -> HashMap<(Option<i32>, String), Value> {
    let rows: Vec<(Option<i32>, String, Value)> = sqlx::query_as(
        "WITH person AS ( \
             SELECT course_id, course_stream, user_id, \
                    coalesce(bool_or(confirmed = 2), false) AS c2, \
                    coalesce(bool_or(confirmed = 1), false) AS c1, \
                    coalesce(bool_or(confirmed = 0), false) AS c0, \
                    coalesce(bool_or(confirmed = -1), false) AS cx \
             FROM bookings WHERE course_stream IS NOT NULL GROUP BY 1, 2, 3), \
         people AS ( \
             SELECT course_id, course_stream, count(*) AS people, \
                    count(*) FILTER (WHERE c2) AS confirmed, \
                    count(*) FILTER (WHERE NOT c2 AND c1) AS pending, \
                    count(*) FILTER (WHERE NOT c2 AND NOT c1 AND c0) AS new, \
                    count(*) FILTER (WHERE NOT (c2 OR c1 OR c0) AND cx) AS cancelled, \
                    count(*) FILTER (WHERE NOT (c2 OR c1 OR c0 OR cx)) AS unknown \
             FROM person GROUP BY 1, 2), \
         booked AS ( \
             SELECT course_id, course_stream, count(*) AS total, \
                    count(*) FILTER (WHERE confirmed = 1 \
                        AND created_at < now() - make_interval(days => $1)) AS stale \
             FROM bookings WHERE course_stream IS NOT NULL GROUP BY 1, 2) \
         SELECT p.course_id, p.course_stream, json_build_object( \
                    'total', b.total, 'people', p.people, \
                    'peopleConfirmed', p.confirmed, 'peoplePending', p.pending, \
                    'peopleNew', p.new, 'peopleCancelled', p.cancelled, \
                    'peopleUnknown', p.unknown, 'placesTaken', p.people - p.cancelled, \
                    'overCapacity', greatest(p.people - p.cancelled - coalesce(r.capacity, 2147483647), 0), \
                    'stalePending', b.stale) \
         FROM people p JOIN booked b USING (course_id, course_stream) \
         LEFT JOIN stream_registry r ON r.code = p.course_stream AND r.course_id = p.course_id",
    )
    .bind(stale_days)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(course, code, numbers)| ((course, code), numbers))
        .collect()
}

/// The stream's stale pending bookings, oldest first, by SQL written here.
async fn stale_ids(app: &TestApp, code: &str, days: i32) -> Vec<i32> {
    sqlx::query_scalar(
        "SELECT id FROM bookings WHERE course_stream = $1 AND confirmed = 1 \
           AND created_at < now() - make_interval(days => $2) ORDER BY created_at, id",
    )
    .bind(code)
    .bind(days)
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

async fn html(app: &TestApp, session: &Session, path: &str) -> String {
    let response = app.get_as(session, path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.text().await.unwrap()
}

/// The `<article>` card of the stream `code` on /workshops.
fn card<'a>(html: &'a str, code: &str) -> &'a str {
    let start = html
        .find(&format!("data-stream=\"{code}\""))
        .unwrap_or_else(|| panic!("no card for {code}"));
    let start = html[..start].rfind("<article").unwrap();
    let end = html[start..].find("</article>").unwrap() + start;
    &html[start..end]
}

/// The value of `attribute="…"` in `html`, if any.
fn attribute<'a>(html: &'a str, attribute: &str) -> Option<&'a str> {
    let marker = format!("{attribute}=\"");
    let rest = &html[html.find(&marker)? + marker.len()..];
    Some(&rest[..rest.find('"')?])
}

fn number(html: &str, name: &str) -> Option<i64> {
    attribute(html, name).map(|value| value.parse().unwrap())
}

/// `data-booking` ids in document order.
fn bookings(html: &str) -> Vec<i32> {
    html.split("data-booking=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().parse().unwrap())
        .collect()
}

/// `&` as askama writes it in attributes.
fn unescape(href: &str) -> String {
    href.replace("&#38;", "&").replace("&amp;", "&")
}

async fn course_streams(app: &TestApp) -> Vec<Value> {
    let token = app.token(Role::Viewer).await;
    let response = app
        .client
        .get(app.url("/api/course-streams"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json::<Vec<Value>>().await.unwrap()
}

#[tokio::test]
async fn course_streams_count_people_places_and_stale_bookings_like_independent_sql() {
    let app = spawn_app().await;
    fixture(&app).await;
    let expected = expected(&app, 3).await;
    let rows = course_streams(&app).await;
    let mut checked = 0;
    for row in &rows {
        let key = (
            row["courseId"].as_i64().map(|id| id as i32),
            row["courseStreamRaw"].as_str().unwrap().to_owned(),
        );
        let Some(want) = expected.get(&key) else {
            assert_eq!(row["total"], 0, "a stream without bookings: {row}");
            assert_eq!(row["people"], 0, "{row}");
            continue;
        };
        for (field, value) in want.as_object().unwrap() {
            assert_eq!(&row[field], value, "{key:?} {field}");
        }
        assert_eq!(row["stalePendingDays"], 3);
        checked += 1;
    }
    assert_eq!(
        checked,
        expected.len(),
        "every stream with bookings is listed"
    );
    // And by hand, for the stream the fixture was built around.
    let eighth = rows
        .iter()
        .find(|row| row["courseStreamRaw"] == "8th_stream")
        .unwrap();
    for (field, value) in [
        ("total", 13),
        ("confirmed", 2),
        ("pending", 4),
        ("new", 2),
        ("cancelled", 3),
        ("unknown", 2),
        ("people", 9),
        ("peopleConfirmed", 2),
        ("peoplePending", 3),
        ("peopleNew", 1),
        ("peopleCancelled", 2),
        ("peopleUnknown", 1),
        ("placesTaken", 7),
        ("overCapacity", 4),
        ("stalePending", 3),
    ] {
        assert_eq!(eighth[field], value, "8th_stream {field}");
    }
    // Course 2's 4th_stream is a stream of its own.
    let fourth: Vec<&Value> = rows
        .iter()
        .filter(|row| row["courseStreamRaw"] == "4th_stream")
        .collect();
    assert_eq!(fourth.len(), 2);
    assert!(
        fourth
            .iter()
            .any(|row| row["courseId"] == 2 && row["stalePending"] == 1)
    );
}

#[tokio::test]
async fn cards_label_people_and_bookings_warn_over_capacity_and_link_the_stale() {
    let app = spawn_app().await;
    fixture(&app).await;
    let session = app.login_as(Role::Viewer).await;
    let want = expected(&app, 3).await;
    let page = html(&app, &session, "/workshops").await;

    let eighth = card(&page, "8th_stream");
    let eighth_want = &want[&(Some(1), "8th_stream".to_owned())];
    assert_eq!(
        number(eighth, "data-people"),
        eighth_want["people"].as_i64()
    );
    assert_eq!(
        number(eighth, "data-bookings"),
        eighth_want["total"].as_i64()
    );
    assert_eq!(
        number(eighth, "data-taken"),
        eighth_want["placesTaken"].as_i64()
    );
    assert!(eighth.contains("чел."), "people are labelled as people");
    assert!(eighth.contains("заявок: 2 подтверждено из 13"), "{eighth}");
    assert!(eighth.contains("людей на местах: 7 из 3 мест"), "{eighth}");
    assert!(
        eighth.contains("stream-card current over-capacity"),
        "{eighth}"
    );
    assert!(eighth.contains("class=\"meter over\""));
    assert_eq!(number(eighth, "data-over"), Some(4));
    assert!(eighth.contains("+4 сверх лимита"));
    assert_eq!(
        number(eighth, "data-stale"),
        eighth_want["stalePending"].as_i64()
    );
    assert!(
        eighth.contains("3 заявки в ожидании дольше 3 дней"),
        "{eighth}"
    );

    // Within its capacity and nothing stale: no warning, no flag.
    let seventh = card(&page, "7th_stream");
    assert!(
        seventh.contains("людей на местах: 2 из 10 мест"),
        "{seventh}"
    );
    assert!(!seventh.contains("over-capacity") && !seventh.contains("сверх лимита"));
    assert!(!seventh.contains("stale-flag"));

    // The flag's link lists exactly the stale bookings, oldest first.
    let flag = &eighth[eighth.find("class=\"stale-flag\"").expect("a stale flag")..];
    let href = unescape(attribute(flag, "href").unwrap());
    assert_eq!(
        href,
        "/workshops/1/8th_stream?status=pending&older_than_days=3"
    );
    let listed = html(&app, &session, &href).await;
    let ids = stale_ids(&app, "8th_stream", 3).await;
    assert_eq!(ids.len(), 3);
    assert_eq!(bookings(&listed), ids);
    assert!(
        listed.contains("Показано 1–3 из 3."),
        "the total is the flag's"
    );
    assert!(listed.contains("3 заявки в ожидании дольше 3 дней"));

    // The stream page's head: the same numbers and labels, and the flag.
    let head = unescape(&html(&app, &session, "/workshops/1/8th_stream").await);
    assert_eq!(number(&head, "data-people"), Some(9));
    assert_eq!(number(&head, "data-bookings"), Some(13));
    assert_eq!(number(&head, "data-taken"), Some(7));
    assert_eq!(number(&head, "data-over"), Some(4));
    assert_eq!(number(&head, "data-stale"), Some(3));
    assert!(head.contains("Людей: 9") && head.contains("Заявок: 13"));
    assert!(head.contains("Людей на местах: 7 из 3 мест"));
    assert!(head.contains("href=\"/workshops/1/8th_stream?status=pending&older_than_days=3\""));

    // Another age lists its own bookings; the CSV has the same rows.
    let older = html(
        &app,
        &session,
        "/workshops/1/8th_stream?status=pending&older_than_days=15",
    )
    .await;
    assert_eq!(bookings(&older), stale_ids(&app, "8th_stream", 15).await);
    let csv = app
        .get_as(
            &session,
            "/workshops/1/8th_stream/students.csv?status=pending&older_than_days=3",
        )
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(csv.lines().count(), 1 + 3, "{csv}");
    for id in ids {
        assert!(csv.contains(&format!(";{id};")), "{id} in {csv}");
    }
}

#[tokio::test]
async fn the_stale_age_is_a_setting() {
    let app = spawn_app_with(|config| config.stale_pending_days = 15).await;
    fixture(&app).await;
    let session = app.login_as(Role::Viewer).await;
    let want = expected(&app, 15).await;
    let eighth = &course_streams(&app)
        .await
        .into_iter()
        .find(|row| row["courseStreamRaw"] == "8th_stream")
        .unwrap();
    assert_eq!(
        eighth["stalePending"],
        want[&(Some(1), "8th_stream".to_owned())]["stalePending"]
    );
    assert_eq!(eighth["stalePending"], 1);
    assert_eq!(eighth["stalePendingDays"], 15);
    let page = unescape(&html(&app, &session, "/workshops").await);
    let card = card(&page, "8th_stream");
    assert_eq!(number(card, "data-stale"), Some(1));
    assert!(
        card.contains("1 заявка в ожидании дольше 15 дней"),
        "{card}"
    );
    assert!(card.contains("?status=pending&older_than_days=15\""));

    // The default, and values refused before anything starts.
    let default = Config::from_vars(&HashMap::new()).unwrap();
    assert_eq!(default.stale_pending_days, 3);
    let set = |value: &str| {
        Config::from_vars(&HashMap::from([(
            "STALE_PENDING_DAYS".to_owned(),
            value.to_owned(),
        )]))
    };
    assert_eq!(set("1").unwrap().stale_pending_days, 1);
    assert_eq!(set("365").unwrap().stale_pending_days, 365);
    for bad in ["0", "366", "-1", "+3", "3.0", "3d", "три", "99999999999"] {
        let err = set(bad).unwrap_err();
        assert_eq!(err.variable, "STALE_PENDING_DAYS", "{bad}");
        assert!(
            err.to_string().contains("between 1 and 365"),
            "{bad}: {err}"
        );
    }
    let output = command(&scratch_dir("bad-stale-days"))
        .env("STALE_PENDING_DAYS", "0")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("STALE_PENDING_DAYS"));
}

#[tokio::test]
async fn a_bad_age_filter_is_refused() {
    let app = spawn_app().await;
    fixture(&app).await;
    let session = app.login_as(Role::Viewer).await;
    for query in [
        "status=pending&older_than_days=0",
        "status=pending&older_than_days=366",
        "status=pending&older_than_days=abc",
        "status=pending&older_than_days=03",
        "status=pending&older_than_days=%2B3",
        "status=pending&older_than_days=3.5",
        "status=pending&older_than_days=%203",
        "status=pending&older_than_days=99999999999999999999",
        "status=confirmed&older_than_days=3",
        "status=viewers&older_than_days=3",
        "older_than_days=3",
    ] {
        let path = format!("/workshops/1/8th_stream?{query}");
        let response = app.get_as(&session, &path).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        assert!(
            response.text().await.unwrap().contains("older_than_days"),
            "{query}: the message names the parameter"
        );
    }
    // Blank is not given.
    let all = html(
        &app,
        &session,
        "/workshops/1/8th_stream?status=pending&older_than_days=",
    )
    .await;
    assert!(!all.contains("stale-view"));
}

#[tokio::test]
async fn a_browser_sees_the_overflow_in_the_warning_colour_and_follows_the_stale_flag() {
    let app = spawn_app().await;
    fixture(&app).await;
    let (login, password) = app.add_staff(Role::Viewer).await;
    let browser = Browser::start().await;
    browser.login(&app, &login, &password).await;
    browser.goto(&app.url("/workshops")).await;
    let eighth = "article[data-stream=\"8th_stream\"]";
    browser.wait_for(&format!("{eighth} .stale-flag")).await;

    // The warning colour (--warn) on the full stream, the accent on the other.
    let colours = browser
        .eval(
            "const style = (css, prop) => getComputedStyle(document.querySelector(css))[prop];
             const eighth = 'article[data-stream=\"8th_stream\"]';
             const seventh = 'article[data-stream=\"7th_stream\"]';
             return [style(eighth + ' .meter-fill', 'backgroundColor'),
                     style(eighth + ' .overflow', 'color'),
                     style(eighth, 'borderTopColor'),
                     style(eighth + ' .stale-flag', 'color'),
                     style(seventh + ' .meter-fill', 'backgroundColor')];",
        )
        .await;
    let warn = "rgb(161, 92, 0)";
    assert_eq!(
        colours,
        serde_json::json!([warn, warn, warn, warn, "rgb(39, 64, 196)"])
    );
    assert_eq!(
        browser.find_all_text(&format!("{eighth} .overflow")).await,
        ["+4 сверх лимита"]
    );
    assert_eq!(
        browser
            .find_all_text(&format!("{eighth} .stale-flag"))
            .await,
        ["⚠ 3 заявки в ожидании дольше 3 дней"]
    );
    assert!(
        browser
            .find_all_text("article[data-stream=\"7th_stream\"] .stale-flag")
            .await
            .is_empty()
    );
    browser
        .screenshot("target/screenshots/workshops-numbers.png")
        .await;

    // The flag leads to exactly the stale bookings.
    browser.click(&format!("{eighth} .stale-flag")).await;
    browser.wait_for("p.stale-view").await;
    assert_eq!(browser.current_path().await, "/workshops/1/8th_stream");
    let listed: Vec<i32> = browser
        .eval(
            "return [...document.querySelectorAll('tr[data-booking]')]
                 .map(row => Number(row.dataset.booking));",
        )
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_i64().unwrap() as i32)
        .collect();
    assert_eq!(listed, stale_ids(&app, "8th_stream", 3).await);
}
