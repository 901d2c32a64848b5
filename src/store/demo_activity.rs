//! Demo activity that gives the analytics pages something to show: lesson
//! links clicked by people registered for that lesson, and a week of busy
//! days for some registrants, so every lead tier has people in it. Same
//! rules as `demo`: deterministic hashes, times relative to the anchor `$1`.

/// Of the registrations whose lesson has taken place, 45 % click the
/// lesson link (for that lesson type) at 19:00 Moscow time on the day.
pub const LESSON_CLICKS_SQL: &str = r#"
INSERT INTO events (user_id, event_type, details, created_at)
SELECT r.user_id, 'lesson_link_clicked', jsonb_build_object('lesson_type', r.lesson_type),
       (r.lesson_date + time '16:00') AT TIME ZONE 'UTC'
FROM free_lesson_registrations r
JOIN demo_people p ON p.user_id = r.user_id
WHERE r.lesson_date IS NOT NULL
  AND (r.lesson_date + time '16:00') AT TIME ZONE 'UTC' <= $1::timestamptz
  AND pg_temp.u(p.i * 8 + length(r.lesson_type), 65) < 0.45
ORDER BY 4, r.user_id
"#;

/// 6 % of registrants were busy over the last week: 6–30 events spread
/// over 1–7 days before the anchor.
pub const LEAD_ACTIVITY_SQL: &str = r#"
INSERT INTO events (user_id, event_type, details, created_at)
SELECT p.user_id, t.event_type, t.details, e.at
FROM demo_people p
CROSS JOIN LATERAL (
    SELECT 1 + (pg_temp.h(p.i, 61) % 7)::int AS span, 6 + (pg_temp.h(p.i, 62) % 25)::int AS n
) AS s
CROSS JOIN LATERAL generate_series(1, s.n) AS k(j)
CROSS JOIN LATERAL (SELECT p.i * 64 + k.j AS key) AS x
CROSS JOIN LATERAL (
    SELECT $1::timestamptz - make_interval(days => (k.j - 1) % s.span)
           - make_interval(secs => pg_temp.u(x.key, 63) * 10 * 3600) AS at
) AS e
CROSS JOIN LATERAL (
    SELECT (ARRAY['view_program','view_reviews','payment_instructions_viewed','faq_opened',
                  'contact_manager'])[1 + (pg_temp.h(x.key, 64) % 5)::int] AS event_type
) AS c
CROSS JOIN LATERAL (
    SELECT c.event_type,
           CASE WHEN c.event_type IN ('view_program', 'payment_instructions_viewed')
                THEN jsonb_build_object('course_id', '1') ELSE '{}'::jsonb END AS details
) AS t
WHERE pg_temp.u(p.i, 60) < 0.06
  AND EXISTS (SELECT 1 FROM free_lesson_registrations r WHERE r.user_id = p.user_id)
ORDER BY e.at, p.user_id, k.j
"#;
