//! Every route is registered together with its [`Access`]: the router and the
//! route table (used by the tests that check every protected route refuses
//! strangers) are built from the same list, so neither can forget one.

use axum::Router;
use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::routing::{MethodFilter, MethodRouter, on};
use utoipa::openapi::{OpenApi, PathItem};
use utoipa_axum::router::OpenApiRouter;

use super::AppState;
use super::auth::{self, Access};
use super::extract::reject_bad_text;

/// The [`auth::authorize`] layer for `access`.
macro_rules! guard {
    ($state:expr, $access:expr) => {{
        let access: Access = $access;
        middleware::from_fn_with_state(
            $state.clone(),
            move |State(state): State<AppState>, request: Request, next: Next| {
                auth::authorize(state, access, request, next)
            },
        )
    }};
}

/// One method on one path, and who may call it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    pub method: Method,
    /// The path template, e.g. `/settings/staff/tokens/{id}/revoke`.
    pub path: String,
    pub access: Access,
}

/// Non-OpenAPI routes (pages, static files) with their access rules.
#[derive(Default)]
pub struct Routes {
    entries: Vec<(RouteInfo, MethodRouter<AppState>)>,
}

impl Routes {
    pub fn add<H, T>(mut self, method: Method, path: &str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).expect("a standard HTTP method");
        let info = RouteInfo {
            method,
            path: path.to_owned(),
            access,
        };
        self.entries.push((info, on(filter, handler)));
        self
    }

    pub fn get<H, T>(self, path: &str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::GET, path, access, handler)
    }

    pub fn post<H, T>(self, path: &str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::POST, path, access, handler)
    }

    pub fn merge(mut self, other: Routes) -> Self {
        self.entries.extend(other.entries);
        self
    }

    pub fn table(&self) -> impl Iterator<Item = RouteInfo> + '_ {
        self.entries.iter().map(|(info, _)| info.clone())
    }

    /// The router, each route behind its access check and then the text
    /// check.
    pub fn into_router(self, state: &AppState) -> Router<AppState> {
        self.entries
            .into_iter()
            .fold(Router::new(), |router, (info, method_router)| {
                let guard = guard!(state, info.access);
                let method_router = method_router
                    .route_layer(middleware::from_fn(reject_bad_text))
                    .route_layer(guard);
                router.route(&info.path, method_router)
            })
    }
}

/// An OpenAPI route group behind its access check and then the text check.
pub fn guard_api(
    group: OpenApiRouter<AppState>,
    state: &AppState,
    access: Access,
) -> Router<AppState> {
    group
        .route_layer(middleware::from_fn(reject_bad_text))
        .route_layer(guard!(state, access))
        .split_for_parts()
        .0
}

/// The table entries of an OpenAPI document whose routes share `access`.
pub fn api_table(doc: &OpenApi, access: Access) -> Vec<RouteInfo> {
    doc.paths
        .paths
        .iter()
        .flat_map(|(path, item)| {
            methods(item).map(move |method| RouteInfo {
                method,
                path: path.clone(),
                access,
            })
        })
        .collect()
}

fn methods(item: &PathItem) -> impl Iterator<Item = Method> {
    [
        (Method::GET, item.get.is_some()),
        (Method::POST, item.post.is_some()),
        (Method::PUT, item.put.is_some()),
        (Method::PATCH, item.patch.is_some()),
        (Method::DELETE, item.delete.is_some()),
    ]
    .into_iter()
    .filter_map(|(method, present)| present.then_some(method))
}
