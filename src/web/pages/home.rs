//! `/` — the home page.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;

use super::Layout;
use crate::store::overview::{self, TableCounts};
use crate::web::AppState;
use crate::web::auth::Principal;
use crate::web::error::AppError;

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
pub struct HomePage {
    layout: Layout,
    counts: TableCounts,
}

pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<HomePage, AppError> {
    let counts = overview::table_counts(&state.pool).await?;
    Ok(HomePage {
        layout: Layout::new("/", &principal),
        counts,
    })
}
