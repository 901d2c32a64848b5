//! What the history, detail and action pages share: the `{id}`, loading a
//! broadcast, stream names, query-string helpers.

use std::collections::HashMap;

use sqlx::PgPool;

use crate::store::broadcasts::{self, Broadcast};
use crate::store::streams;
use crate::web::api::params::positive_i32;
use crate::web::error::AppError;

/// The `{id}` of a broadcast page: a positive integer, else 400.
pub fn broadcast_id(raw: &str) -> Result<i32, AppError> {
    positive_i32(raw).ok_or_else(|| {
        AppError::BadRequest(
            "Номер рассылки — целое положительное число (id must be a positive integer)."
                .to_owned(),
        )
    })
}

pub fn not_found() -> AppError {
    AppError::NotFound("Рассылка не найдена.".to_owned())
}

/// Broadcast `raw` (the path segment), or 400/404.
pub async fn load(pool: &PgPool, raw: &str) -> Result<Broadcast, AppError> {
    let id = broadcast_id(raw)?;
    broadcasts::get(pool, id).await?.ok_or_else(not_found)
}

/// Stream code → display name, for every stream the registry or bookings
/// know.
pub async fn stream_names(pool: &PgPool) -> sqlx::Result<HashMap<String, String>> {
    Ok(streams::stream_choices(pool)
        .await?
        .into_iter()
        .map(|stream| (stream.code.clone(), stream.name().to_owned()))
        .collect())
}

/// `path` with `query` appended when there is one.
pub fn with_query(path: &str, pairs: &[(&str, String)]) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        query.append_pair(name, value);
    }
    let query = query.finish();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// Most page numbers a list accepts.
pub const MAX_PAGE: i64 = 1_000_000;

pub fn page_message() -> String {
    format!("Номер страницы — целое число от 1 до {MAX_PAGE}.")
}

/// Pages needed for `total` rows, at least one.
pub fn pages(total: i64, size: i64) -> i64 {
    ((total + size - 1) / size).max(1)
}
