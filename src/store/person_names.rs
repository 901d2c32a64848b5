//! The names lists show for a person, by the dashboard's one rule (`users`
//! when the bot has a row for them, otherwise their newest snapshot), read
//! from the people directory (`store::people`), which
//! [`analytics_cache::refresh`](super::analytics_cache::refresh) brings up to
//! date. SQL fragments for the few rows a page shows: one primary-key probe
//! each.

/// Joins `d`, the directory row of `{row}.user_id`.
pub fn joins(row: &str) -> String {
    format!("LEFT JOIN people_directory d ON d.user_id = {row}.user_id")
}

/// The `username`, `first_name` and `last_name` columns from [`joins`].
pub const COLUMNS: &str = "d.username, d.first_name, d.last_name";
