//! Router assembly and the layers every request passes through.

pub mod api;
mod assets;
pub mod auth;
pub mod charts;
pub mod csv;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod pages;
pub mod routes;
pub mod words;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::json;
use sqlx::PgPool;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::delivery::{Heartbeat, Wake};
use crate::telegram::Telegram;
use auth::Access;
use error::AppError;
use routes::{RouteInfo, Routes};

/// Largest request body accepted (JSON and forms).
pub const BODY_LIMIT_BYTES: usize = 1024 * 1024;
/// A request that takes longer is cut off with 503.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Shared by every handler; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub config: Arc<Config>,
    pub metrics: PrometheusHandle,
    pub scheduler: Arc<Heartbeat>,
    /// Pokes the delivery engine when a broadcast should start now.
    pub wake: Arc<Wake>,
    /// For test sends; `None` without a bot token.
    pub telegram: Option<Telegram>,
    pub session_key: Arc<auth::keys::SessionKey>,
    /// Bounds concurrent password hashing on the login form.
    pub hashing: auth::throttle::HashingSlots,
    /// Bounds the logins doing their (short) database work at once.
    pub login_gate: Arc<tokio::sync::Semaphore>,
    /// The hot reads, shared by concurrent requests (at most a second old).
    pub reads: Arc<crate::app::reads::Reads>,
    /// The stream pages' counts and rows, shared the same way.
    pub stream_pages:
        Arc<crate::app::fresh::Fresh<pages::stream::ListingKey, pages::stream::Listing>>,
}

impl AppState {
    /// The use cases' context for `principal`'s request.
    pub fn context(&self, principal: &auth::Principal) -> crate::app::Context<'_> {
        crate::app::Context {
            pool: &self.pool,
            actor: principal.actor(),
            wake: &self.wake,
            reads: &self.reads,
        }
    }

    pub fn new(pool: PgPool, config: Config) -> Self {
        let session_key = auth::keys::SessionKey::new(config.session_key.clone());
        let reads = Arc::new(crate::app::reads::Reads::default());
        Self {
            pool,
            config: Arc::new(config),
            metrics: metrics::handle(),
            scheduler: Arc::default(),
            wake: Arc::default(),
            telegram: None,
            session_key: Arc::new(session_key),
            hashing: auth::throttle::HashingSlots::per_core(),
            login_gate: Arc::new(tokio::sync::Semaphore::new(auth::throttle::LOGINS_AT_ONCE)),
            stream_pages: Arc::new(reads.another(64)),
            reads,
        }
    }
}

const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; \
     object-src 'none'; frame-ancestors 'none'";

/// Paths whose errors stay JSON and whose callers may use bearer tokens:
/// the API and the machine-facing ops routes.
pub fn is_machine_path(path: &str) -> bool {
    path == "/api"
        || path.starts_with("/api/")
        || matches!(path, "/healthz" | "/readyz" | "/metrics")
}

/// The routes that are not part of the OpenAPI document.
fn other_routes() -> Routes {
    pages::routes()
        .get("/static/{file}", Access::Open, assets::serve)
        .get("/api/openapi.json", Access::VIEWER, api::openapi_json)
}

/// Every route with the access it requires, in registration order.
pub fn route_table() -> Vec<RouteInfo> {
    api::groups()
        .into_iter()
        .flat_map(|(access, group)| routes::api_table(group.get_openapi(), access))
        .chain(other_routes().table())
        .collect()
}

/// The whole application: API, pages, static files, fallbacks and layers.
pub fn router(state: AppState) -> Router {
    let api = api::groups()
        .into_iter()
        .fold(Router::new(), |router, (access, group)| {
            router.merge(routes::guard_api(group, &state, access))
        });

    let x_request_id = HeaderName::from_static("x-request-id");
    api.merge(other_routes().into_router(&state))
        .fallback(auth::not_found)
        .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed })
        .with_state(state)
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT_BYTES))
        .layer(middleware::from_fn(too_large_as_error))
        .layer(middleware::from_fn(pages::html_errors))
        .layer(middleware::from_fn(metrics::track))
        .layer(CompressionLayer::new())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            REQUEST_TIMEOUT,
        ))
        .layer(middleware::from_fn(fixed_fault_bodies))
        // Pages, JSON and CSV hold names and figures: no cache keeps them.
        // Static files say otherwise themselves.
        .layer(security_header(header::CACHE_CONTROL, "no-store"))
        .layer(security_header(
            header::CONTENT_SECURITY_POLICY,
            CONTENT_SECURITY_POLICY,
        ))
        .layer(security_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(security_header(header::X_FRAME_OPTIONS, "DENY"))
        .layer(security_header(
            header::REFERRER_POLICY,
            "strict-origin-when-cross-origin",
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    let request_id = request
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    // The route template, not the URI: queries may hold names.
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        route = %metrics::route_label(request),
                        request_id = %request_id,
                    )
                })
                .on_response(
                    |response: &Response, latency: Duration, _span: &tracing::Span| {
                        tracing::info!(
                            status = response.status().as_u16(),
                            latency_ms = latency.as_secs_f64() * 1000.0,
                            "response"
                        );
                    },
                ),
        )
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
        .layer(middleware::map_request(auth::client::plain_request_id))
}

/// A 413 from the body limit or an extractor becomes the usual error: JSON
/// `{"error"}` under `/api`, the error page elsewhere.
async fn too_large_as_error(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE
        && response.extensions().get::<error::ErrorDetails>().is_none()
    {
        return AppError::PayloadTooLarge.into_response();
    }
    response
}

/// Routes that API.md promises a fixed body for every server fault (503
/// while the database is down, else 500), whichever part fails: the
/// credential check and the timeout as well as the handler.
const FIXED_FAULT_BODIES: &[(&str, &str)] = &[
    ("/api/bookings", "Failed to fetch bookings"),
    ("/api/course-streams", "Failed to fetch course streams"),
    ("/api/courses", "Failed to fetch courses"),
];

async fn fixed_fault_bodies(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let fixed = FIXED_FAULT_BODIES
        .iter()
        .find(|(route, _)| *route == path)
        .map(|(_, message)| *message);
    let response = next.run(request).await;
    match fixed {
        Some(message) if response.status().is_server_error() => {
            (response.status(), axum::Json(json!({ "error": message }))).into_response()
        }
        _ => response,
    }
}

fn security_header(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}
