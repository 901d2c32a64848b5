//! The names lists show for a person, by the dashboard's rule: `users` when
//! the bot has a row for them (a NULL username there means they dropped it),
//! otherwise their newest snapshot in bookings, free-lesson or hackathon
//! registrations or event details. SQL fragments for the few rows a page
//! shows: each lookup is one probe of a `user_id` index.

/// Joins `u` (their `users` row) and `s` (the newest snapshot, looked up
/// only without a `users` row) for `{row}.user_id`.
pub fn joins(row: &str) -> String {
    format!(
        "LEFT JOIN users u ON u.user_id = {row}.user_id \
         LEFT JOIN LATERAL ( \
           SELECT x.username, x.first_name FROM ( \
             (SELECT username, first_name, created_at AS at, 1 AS source FROM bookings \
               WHERE user_id = {row}.user_id AND (username IS NOT NULL OR first_name IS NOT NULL) \
               ORDER BY created_at DESC NULLS LAST, id DESC LIMIT 1) \
             UNION ALL (SELECT username, first_name, registered_at, 2 FROM free_lesson_registrations \
               WHERE user_id = {row}.user_id AND (username IS NOT NULL OR first_name IS NOT NULL) \
               ORDER BY registered_at DESC NULLS LAST, id DESC LIMIT 1) \
             UNION ALL (SELECT username, first_name, registered_at, 3 FROM hackathon_registrations \
               WHERE user_id = {row}.user_id AND (username IS NOT NULL OR first_name IS NOT NULL) \
               ORDER BY registered_at DESC NULLS LAST, id DESC LIMIT 1) \
             UNION ALL (SELECT details->>'username', details->>'first_name', created_at, 4 \
               FROM events WHERE user_id = {row}.user_id \
                AND (details ? 'username' OR details ? 'first_name') \
               ORDER BY created_at DESC NULLS LAST, id DESC LIMIT 1)) x \
           WHERE u.user_id IS NULL \
           ORDER BY x.at DESC NULLS LAST, x.source LIMIT 1) s ON true"
    )
}

/// The `username`, `first_name` and `last_name` columns from [`joins`].
pub const COLUMNS: &str = "CASE WHEN u.user_id IS NULL THEN s.username ELSE u.username END AS username, \
     coalesce(u.first_name, s.first_name) AS first_name, u.last_name";
