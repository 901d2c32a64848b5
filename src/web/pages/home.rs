//! `/` — the home page.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;

use super::Layout;
use crate::store::analytics::{self, Headline};
use crate::web::AppState;
use crate::web::auth::Principal;
use crate::web::error::AppError;

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
pub struct HomePage {
    layout: Layout,
    counts: Headline,
}

pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<HomePage, AppError> {
    crate::store::analytics_cache::refresh(&state.pool, state.config.school_timezone).await?;
    let counts = analytics::headline(&state.pool).await?;
    Ok(HomePage {
        layout: Layout::new("/", &principal),
        counts,
    })
}
