//! JSON handlers by area. Each route registers itself in the OpenAPI document
//! through `utoipa_axum::routes!`, so `/api/openapi.json` can't fall behind.

pub mod ops;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "hsl-dashboard",
        description = "Admin dashboard of the HashSlash School Telegram bot."
    ),
    tags((name = "ops", description = "Health, readiness and metrics"))
)]
struct ApiDoc;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(ops::test_db))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
}
