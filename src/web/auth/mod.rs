//! Who is asking, and may they: sessions and bearer tokens, role checks and
//! CSRF. Every route declares its [`Access`] where it is registered (see
//! [`super::routes`]); [`authorize`] enforces it in front of the handler.

pub mod client;
pub mod cookies;
pub mod keys;
pub mod throttle;

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use subtle::ConstantTimeEq;

use super::error::AppError;
use super::{AppState, BODY_LIMIT_BYTES, is_machine_path};
use crate::domain::role::Role;
use crate::secrets::sha256;
use crate::store::audit::Actor;
use crate::store::{sessions, tokens};
pub use client::RequestMeta;

/// A session ends after this long without a request…
pub const IDLE_TIMEOUT_SECS: i64 = 12 * 3600;
/// …and at the latest this long after login.
pub const SESSION_LIFETIME_SECS: i64 = 7 * 24 * 3600;
/// Last-seen times are written at most this often per session or token.
const TOUCH_AFTER_SECS: i64 = 60;

/// The form field and header that carry the CSRF token.
pub const CSRF_FIELD: &str = "csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// No credentials looked at: health checks, static files.
    Open,
    /// Anyone; a valid session is recognised (the login page).
    Anyone,
    /// A staff session or (on `/api` and `/metrics`) a bearer token with at
    /// least this role.
    Staff(Role),
}

impl Access {
    pub const VIEWER: Self = Self::Staff(Role::Viewer);
    pub const EDITOR: Self = Self::Staff(Role::Editor);
    pub const ADMIN: Self = Self::Staff(Role::Admin);
}

/// An authenticated caller, available to handlers as an extractor.
#[derive(Clone, Debug)]
pub struct Principal {
    /// Staff login, or `token:<name>`.
    pub name: String,
    pub role: Role,
    pub via: Via,
    pub meta: RequestMeta,
}

#[derive(Clone)]
pub enum Via {
    Session {
        staff_id: i64,
        id_hash: Vec<u8>,
        csrf_token: String,
    },
    Token {
        id: i64,
    },
}

impl std::fmt::Debug for Via {
    // Never print the session hash or the CSRF token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Session { staff_id, .. } => write!(f, "Session {{ staff_id: {staff_id} }}"),
            Self::Token { id } => write!(f, "Token {{ id: {id} }}"),
        }
    }
}

impl Principal {
    /// The audit actor for changes made in this request.
    pub fn actor(&self) -> Actor {
        self.meta.actor(&self.name)
    }

    /// The token forms must carry; only sessions have one.
    pub fn csrf_token(&self) -> Option<&str> {
        match &self.via {
            Via::Session { csrf_token, .. } => Some(csrf_token),
            Via::Token { .. } => None,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or(AppError::Unauthorized)
    }
}

/// The caller on an [`Access::Anyone`] route, if signed in.
pub struct MaybePrincipal(pub Option<Principal>);

impl<S: Send + Sync> FromRequestParts<S> for MaybePrincipal {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.extensions.get::<Principal>().cloned()))
    }
}

fn bearer_token(headers: &HeaderMap) -> Option<Result<&str, ()>> {
    let value = headers.get(header::AUTHORIZATION)?;
    Some(
        value
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or(()),
    )
}

/// Resolves the caller from a bearer token (where accepted) or the session
/// cookie. `Ok(None)`: no or invalid credentials.
async fn authenticate(
    state: &AppState,
    parts: &Parts,
    meta: RequestMeta,
    bearer_accepted: bool,
) -> Result<Option<Principal>, AppError> {
    if bearer_accepted && let Some(token) = bearer_token(&parts.headers) {
        let Ok(token) = token else { return Ok(None) };
        let Some(identity) = tokens::authenticate(&state.pool, &sha256(token)).await? else {
            return Ok(None);
        };
        if is_stale(identity.last_used_at) {
            tokens::touch(&state.pool, identity.id).await?;
        }
        return Ok(Some(Principal {
            name: format!("token:{}", identity.name),
            role: identity.role,
            via: Via::Token { id: identity.id },
            meta,
        }));
    }
    let Some(session_id) = cookies::get(&parts.headers, cookies::SESSION) else {
        return Ok(None);
    };
    let id_hash = sha256(&session_id);
    let Some(session) = sessions::find(&state.pool, &id_hash, IDLE_TIMEOUT_SECS).await? else {
        return Ok(None);
    };
    if is_stale(Some(session.last_seen_at)) {
        sessions::touch(&state.pool, &id_hash).await?;
    }
    Ok(Some(Principal {
        name: session.login,
        role: session.role,
        via: Via::Session {
            staff_id: session.staff_id,
            id_hash,
            csrf_token: session.csrf_token,
        },
        meta,
    }))
}

fn is_stale(last: Option<chrono::DateTime<chrono::Utc>>) -> bool {
    last.is_none_or(|at| (chrono::Utc::now() - at).num_seconds() >= TOUCH_AFTER_SECS)
}

/// Enforces `access` in front of a route: authenticates, checks the role,
/// and for session requests that change something, the CSRF token.
pub async fn authorize(state: AppState, access: Access, request: Request, next: Next) -> Response {
    let required = match access {
        Access::Open => return next.run(request).await,
        Access::Anyone => None,
        Access::Staff(role) => Some(role),
    };
    let machine = is_machine_path(request.uri().path());
    let (mut parts, body) = request.into_parts();
    let meta = RequestMeta::of(&parts, &state.config.trusted_proxies);
    let https = meta.https;
    let principal = match authenticate(&state, &parts, meta, machine).await {
        Ok(principal) => principal,
        Err(err) => return err.into_response(),
    };
    let Some(required) = required else {
        if let Some(principal) = principal {
            parts.extensions.insert(principal);
        }
        return next.run(Request::from_parts(parts, body)).await;
    };
    let Some(principal) = principal else {
        return if machine {
            AppError::Unauthorized.into_response()
        } else {
            login_redirect(&parts, https)
        };
    };
    if !principal.role.allows(required) {
        return with_principal(AppError::Forbidden.into_response(), principal);
    }
    let mut request = Request::from_parts(parts, body);
    if !is_safe(request.method())
        && let Some(expected) = principal.csrf_token()
    {
        request = match check_csrf(expected, request).await {
            Ok(request) => request,
            Err(err) => return with_principal(err.into_response(), principal),
        };
    }
    request.extensions_mut().insert(principal.clone());
    with_principal(next.run(request).await, principal)
}

/// Answers 404 for a path no route matches, still recognising the
/// signed-in user so the error page shows their navigation.
pub async fn not_found(State(state): State<AppState>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let response = AppError::not_found().into_response();
    if is_machine_path(parts.uri.path()) {
        return response;
    }
    let meta = RequestMeta::of(&parts, &state.config.trusted_proxies);
    match authenticate(&state, &parts, meta, false).await {
        Ok(Some(principal)) => with_principal(response, principal),
        _ => response,
    }
}

/// The error-page layer renders the navigation for the signed-in user.
fn with_principal(mut response: Response, principal: Principal) -> Response {
    response.extensions_mut().insert(principal);
    response
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn tokens_match(given: &[u8], expected: &str) -> bool {
    given.ct_eq(expected.as_bytes()).into()
}

/// Accepts the token from the `X-CSRF-Token` header or, for a urlencoded
/// form, its `csrf` field (the body is buffered and handed on unchanged).
async fn check_csrf(expected: &str, request: Request) -> Result<Request, AppError> {
    if let Some(given) = request.headers().get(CSRF_HEADER) {
        return if tokens_match(given.as_bytes(), expected) {
            Ok(request)
        } else {
            Err(AppError::CsrfRejected)
        };
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(AppError::CsrfRejected);
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, BODY_LIMIT_BYTES)
        .await
        .map_err(|_| AppError::BadRequest("the request body is too large or unreadable".into()))?;
    let given = url::form_urlencoded::parse(&bytes)
        .find(|(key, _)| key == CSRF_FIELD)
        .map(|(_, value)| value.into_owned());
    match given {
        Some(given) if tokens_match(given.as_bytes(), expected) => {
            Ok(Request::from_parts(parts, Body::from(bytes)))
        }
        _ => Err(AppError::CsrfRejected),
    }
}

/// A page asked for without a session: to the login form, coming back here
/// afterwards (for GET; a form post can't be replayed). A stale session
/// cookie is cleared on the way.
///
/// htmx asks for fragments with an XMLHttpRequest, which would follow a
/// 303 by itself and swap the login page into the fragment: it gets a 401
/// with `HX-Redirect` instead (htmx follows that as a navigation), coming
/// back to the page it was on (`HX-Current-URL`), not to the fragment.
fn login_redirect(parts: &Parts, https: bool) -> Response {
    let htmx = parts.headers.contains_key("hx-request");
    let target = if htmx {
        parts
            .headers
            .get("hx-current-url")
            .and_then(|value| value.to_str().ok())
            .and_then(|current| url::Url::parse(current).ok())
            .map(|current| match current.query() {
                Some(query) => format!("{}?{query}", current.path()),
                None => current.path().to_owned(),
            })
    } else {
        parts
            .uri
            .path_and_query()
            .filter(|_| is_safe(&parts.method))
            .map(|target| target.as_str().to_owned())
    };
    let location = match target {
        Some(target) if target != "/" => format!(
            "/login?next={}",
            url::form_urlencoded::byte_serialize(target.as_bytes()).collect::<String>()
        ),
        _ => "/login".to_owned(),
    };
    let (status, name) = if htmx {
        (StatusCode::UNAUTHORIZED, "hx-redirect")
    } else {
        (StatusCode::SEE_OTHER, "location")
    };
    let mut response = (status, [(name, location)]).into_response();
    if cookies::get(&parts.headers, cookies::SESSION).is_some() {
        response.headers_mut().append(
            header::SET_COOKIE,
            cookies::clear(cookies::SESSION, "/", https),
        );
    }
    response
}

/// A `next` target for after login: a local path, never another site or
/// the login/logout pages themselves.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(next)
            if next.starts_with('/')
                && !next.starts_with("//")
                && !next.starts_with("/\\")
                && next.len() <= 2048
                && !next.chars().any(|c| c.is_control() || c == '\\')
                && !next.starts_with("/login")
                && !next.starts_with("/logout") =>
        {
            next
        }
        _ => "/",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_targets_stay_on_this_site() {
        assert_eq!(
            safe_next(Some("/workshops?status=2")),
            "/workshops?status=2"
        );
        assert_eq!(safe_next(None), "/");
        for evil in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "/ok\\..",
            "/login?next=/x",
            "/logout",
            "javascript:alert(1)",
            "/a\nb",
            "",
        ] {
            assert_eq!(safe_next(Some(evil)), "/", "{evil:?}");
        }
    }

    #[test]
    fn bearer_header_parsing() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer_token(&headers), None);
        headers.insert(header::AUTHORIZATION, "Bearer hsl_abc".parse().unwrap());
        assert_eq!(bearer_token(&headers), Some(Ok("hsl_abc")));
        headers.insert(header::AUTHORIZATION, "Basic eDp5".parse().unwrap());
        assert_eq!(bearer_token(&headers), Some(Err(())));
        headers.insert(header::AUTHORIZATION, "Bearer ".parse().unwrap());
        assert_eq!(bearer_token(&headers), Some(Err(())));
    }
}
