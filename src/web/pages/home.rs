//! `/` — the home page.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;

use crate::store::overview::{self, TableCounts};
use crate::web::AppState;
use crate::web::error::AppError;

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
pub struct HomePage {
    active: &'static str,
    counts: TableCounts,
}

pub async fn show(State(state): State<AppState>) -> Result<HomePage, AppError> {
    let counts = overview::table_counts(&state.pool).await?;
    Ok(HomePage {
        active: "/",
        counts,
    })
}
