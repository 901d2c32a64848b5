//! Lead scores over the week 2026-11-06..12 (Moscow days): each tier's
//! thresholds, one row per registrant, who counts as a registrant, the
//! week's edges in the school's zone, order and pages.

use hsl_dashboard::domain::role::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::analytics::get_json;
use crate::helpers::{TestApp, spawn_app};

/// `n` events of 301…309 at 09:00 UTC (noon in Moscow) on each listed day
/// of November, as (user, day, n).
fn events_sql(rows: &[(i64, u32, u32)]) -> String {
    rows.iter()
        .map(|(user, day, n)| {
            format!(
                "INSERT INTO events (user_id, event_type, created_at) \
                 SELECT {user}, 'view_program', timestamptz '2026-11-{day:02} 09:00+00' \
                 FROM generate_series(1, {n});"
            )
        })
        .collect()
}

/// 301 hot (20 events on 5 days); 302 warm (25 on 4); 303 cool (12 on 2);
/// 304 cold with two registrations (4 events); 305 busy but no registrant;
/// 306 registered after the week; 307 cool by the week's edges (5 of 7
/// events inside); 308 no events; 309 warm with an undated registration.
pub async fn leads_fixture(app: &TestApp) {
    sqlx::raw_sql(
        "INSERT INTO users (user_id, username, first_name) VALUES (301, 'hot_one', 'Горячий');
         INSERT INTO free_lesson_registrations (user_id, username, first_name, email, registered_at, lesson_type) VALUES
           (301, 'hot_one', 'Горячий', 'hot@example.org', '2026-11-01 10:00+00', 'cursor_lesson'),
           (302, 'warm_two', 'Тёплый', 'warm@example.org', '2026-11-01 10:00+00', 'cursor_lesson'),
           (303, 'cool_three', 'Прохладный', 'cool@example.org', '2026-11-01 10:00+00', 'cursor_lesson'),
           (304, 'cold_four', 'Холодный', 'old@example.org', '2026-11-01 10:00+00', 'cursor_lesson'),
           (304, 'cold_four', 'Холодный', 'new@example.org', '2026-11-03 10:00+00', 'ai_agents_lesson'),
           (306, 'late', 'Поздний', 'late@example.org', '2026-11-12 21:00+00', 'cursor_lesson'),
           (307, 'edge', 'Граница', 'edge@example.org', '2026-11-01 10:00+00', 'vibe_coding_intro'),
           (308, 'quiet', 'Тихий', 'quiet@example.org', '2026-11-01 10:00+00', 'cursor_lesson'),
           (309, 'undated', 'Без даты', 'nodate@example.org', NULL, 'cursor_lesson');
         INSERT INTO events (user_id, event_type, created_at) VALUES
           (307, 'faq_opened', '2026-11-05 20:30+00'),
           (307, 'faq_opened', '2026-11-05 22:30+00'),
           (307, 'faq_opened', '2026-11-12 20:30+00'),
           (307, 'faq_opened', '2026-11-12 20:31+00'),
           (307, 'faq_opened', '2026-11-12 20:32+00'),
           (307, 'faq_opened', '2026-11-12 20:33+00'),
           (307, 'faq_opened', '2026-11-12 21:30+00');",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let mut rows = vec![];
    for day in 6..=10 {
        rows.push((301, day, 4));
    }
    rows.extend([(302, 9, 7), (302, 10, 6), (302, 11, 6), (302, 12, 6)]);
    rows.extend([(303, 7, 6), (303, 8, 6), (304, 12, 4)]);
    for day in 6..=12 {
        rows.push((305, day, 5));
    }
    rows.extend([(306, 10, 25), (309, 6, 4), (309, 8, 3), (309, 12, 3)]);
    // Outside the week: the day before and the day after.
    rows.extend([(301, 5, 9), (302, 13, 9)]);
    sqlx::raw_sql(sqlx::AssertSqlSafe(events_sql(&rows)))
        .execute(&app.pool)
        .await
        .unwrap();
}

fn ids(body: &Value) -> Vec<i64> {
    body["leads"]
        .as_array()
        .unwrap_or_else(|| panic!("no leads in {body}"))
        .iter()
        .map(|lead| lead["userId"].as_i64().unwrap())
        .collect()
}

async fn ok(app: &TestApp, token: &str, path: &str) -> Value {
    let (status, body) = get_json(app, token, path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

#[tokio::test]
async fn registrants_are_scored_once_each_over_the_school_week() {
    let app = spawn_app().await;
    leads_fixture(&app).await;
    let token = app.token(Role::Viewer).await;

    let all = ok(&app, &token, "/api/leads?to=2026-11-12").await;
    assert_eq!(
        (all["windowFrom"].clone(), all["windowTo"].clone()),
        (json!("2026-11-06"), json!("2026-11-12"))
    );
    assert_eq!(
        all["counts"],
        json!({"hot": 1, "warm": 2, "cool": 2, "cold": 2, "total": 7})
    );
    assert_eq!(all["total"], 7);
    assert_eq!(ids(&all), [301, 302, 309, 303, 307, 304, 308]);
    let scores: Vec<(i64, i64, &str)> = all["leads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["events"].as_i64().unwrap(),
                l["activeDays"].as_i64().unwrap(),
                l["tier"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        scores,
        [
            (20, 5, "hot"),
            (25, 4, "warm"),
            (10, 3, "warm"),
            (12, 2, "cool"),
            (5, 2, "cool"),
            (4, 1, "cold"),
            (0, 0, "cold")
        ]
    );
    let two = &all["leads"][5];
    assert_eq!(two["email"], "new@example.org", "the newest registration's");
    assert_eq!(
        two["lessonTypes"],
        json!(["ai_agents_lesson", "cursor_lesson"])
    );
    assert_eq!(all["leads"][0]["lastActiveDay"], "2026-11-10");
    assert_eq!(all["leads"][0]["firstName"], "Горячий");

    for (tier, expected) in [
        ("hot", vec![301]),
        ("warm", vec![302, 309]),
        ("cool", vec![303, 307]),
        ("cold", vec![304, 308]),
    ] {
        let body = ok(
            &app,
            &token,
            &format!("/api/leads?to=2026-11-12&tier={tier}"),
        )
        .await;
        assert_eq!(ids(&body), expected, "{tier}");
        assert_eq!(body["total"], expected.len(), "{tier}");
    }
    // Pages, also across the warm/cold boundary.
    for (query, expected) in [
        ("limit=2&offset=2", vec![309, 303]),
        ("limit=2&offset=4", vec![307, 304]),
        ("limit=5&offset=5", vec![304, 308]),
        ("limit=3&offset=7", vec![]),
        ("tier=cold&limit=1&offset=1", vec![308]),
    ] {
        let body = ok(&app, &token, &format!("/api/leads?to=2026-11-12&{query}")).await;
        assert_eq!(ids(&body), expected, "{query}");
    }

    // A day later: 301 loses the 6th (16 events on 4 days: warm), 302 gains
    // the 13th (34 on 5: hot), 309 loses the 6th (6 on 2: cool), and 306,
    // registered at Moscow midnight of the 13th, joins (25 on 1: cool).
    let later = ok(&app, &token, "/api/leads?to=2026-11-13").await;
    assert_eq!(
        later["counts"],
        json!({"hot": 1, "warm": 1, "cool": 4, "cold": 2, "total": 8})
    );
    assert_eq!(ids(&later), [302, 301, 306, 303, 309, 307, 304, 308]);
}
