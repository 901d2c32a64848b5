//! `/login` and `/logout`.
//!
//! The login form is protected against CSRF before any session exists by a
//! nonce in a SameSite=Strict cookie, signed with the session key and the
//! time into the form's hidden field; a form older than 15 minutes is
//! refused. Failed attempts slow down the typed login and, past a limit,
//! lock out the client's address (see [`throttle`]); the answer never says
//! whether a login exists. No database connection is held while a password
//! is hashed.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;

use super::Layout;
use crate::domain::staff::Login;
use crate::secrets::{MAX_PASSWORD_BYTES, password_matches, random_secret, sha256};
use crate::store::sessions::{self, NewSession};
use crate::web::AppState;
use crate::web::auth::cookies::{self, Cookie, SameSite};
use crate::web::auth::throttle::{self, MAX_FAILURES_PER_NETWORK, THROTTLE_WINDOW_SECS};
use crate::web::auth::{
    IDLE_TIMEOUT_SECS, MaybePrincipal, Principal, RequestMeta, SESSION_LIFETIME_SECS, Via,
    safe_next,
};
use crate::web::error::AppError;
use crate::web::extract::{Form, Query};
use crate::web::words;
use crate::web::words::Label;

/// HMAC purpose of the login form's CSRF field.
const LOGIN_CSRF: &str = "login-csrf";
/// A login form is good for this long.
const FORM_LIFETIME_SECS: i64 = 15 * 60;
/// When every hashing slot is busy, try again after this many seconds.
const BUSY_RETRY_SECS: u32 = 2;
/// Throttling keys are cut to this many characters.
const MAX_TYPED_LOGIN_CHARS: usize = 64;

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    csrf: String,
    next: String,
    login: String,
    error: Option<&'static str>,
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

fn see_other(location: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

/// `GET /login`.
#[tracing::instrument(skip_all)]
pub async fn form(
    State(state): State<AppState>,
    MaybePrincipal(principal): MaybePrincipal,
    meta: RequestMeta,
    Query(query): Query<NextQuery>,
) -> Result<Response, AppError> {
    let next = safe_next(query.next.as_deref());
    if principal.is_some() {
        return Ok(see_other(next));
    }
    let form = Refill {
        next: next.to_owned(),
        login: String::new(),
    };
    render(&state, meta.https, form, StatusCode::OK, None).await
}

/// What the form is re-rendered with after a failed attempt.
struct Refill {
    next: String,
    login: String,
}

/// Renders the form with a fresh CSRF nonce (cookie) and its signature with
/// the time (hidden field).
async fn render(
    state: &AppState,
    https: bool,
    refill: Refill,
    status: StatusCode,
    error: Option<&'static str>,
) -> Result<Response, AppError> {
    let nonce = random_secret();
    let csrf = state
        .session_key
        .sign_fresh(&state.pool, LOGIN_CSRF, &nonce, Utc::now().timestamp())
        .await?;
    let cookie = Cookie {
        name: cookies::LOGIN,
        value: &nonce,
        path: "/login",
        max_age_secs: FORM_LIFETIME_SECS,
        same_site: SameSite::Strict,
        secure: https,
    };
    let page = LoginPage {
        layout: Layout::anonymous(),
        csrf,
        next: refill.next,
        login: refill.login,
        error,
    };
    Ok((
        status,
        [
            (header::SET_COOKIE, cookie.header()),
            (header::CACHE_CONTROL, "no-store".parse().expect("static")),
        ],
        page,
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct LoginForm {
    login: Option<String>,
    password: Option<String>,
    csrf: Option<String>,
    next: Option<String>,
}

/// `POST /login`.
#[tracing::instrument(skip_all)]
pub async fn submit(
    State(state): State<AppState>,
    MaybePrincipal(principal): MaybePrincipal,
    meta: RequestMeta,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    let next = safe_next(form.next.as_deref()).to_owned();
    if principal.is_some() {
        return Ok(see_other(&next));
    }
    let typed: String = form
        .login
        .as_deref()
        .unwrap_or_default()
        .trim()
        .to_lowercase()
        .chars()
        .take(MAX_TYPED_LOGIN_CHARS)
        .collect();
    let refill = Refill {
        next: next.clone(),
        login: typed.clone(),
    };
    let https = meta.https;
    let refuse = |status, message| render(&state, https, refill, status, Some(message));

    let nonce = cookies::get(&headers, cookies::LOGIN).unwrap_or_default();
    let signature = form.csrf.as_deref().unwrap_or_default();
    if nonce.is_empty()
        || !state
            .session_key
            .verify_fresh(
                &state.pool,
                LOGIN_CSRF,
                &nonce,
                signature,
                Utc::now().timestamp(),
                FORM_LIFETIME_SECS,
            )
            .await?
    {
        return refuse(StatusCode::FORBIDDEN, words::common::LOGIN_FORM_EXPIRED).await;
    }
    let password = form.password.unwrap_or_default();
    if typed.is_empty() || password.is_empty() {
        return refuse(StatusCode::BAD_REQUEST, words::common::LOGIN_FIELDS_EMPTY).await;
    }

    // Short database work, and the connection goes back to the pool before
    // any waiting or hashing. Only a few logins at a time get that far, so
    // a flood of them never takes the connections staff pages need.
    let Some(gate) = state.login_gate.try_acquire().ok() else {
        tracing::warn!("login refused: too many logins at once");
        let response = refuse(StatusCode::TOO_MANY_REQUESTS, words::common::LOGIN_BUSY).await?;
        return Ok(retry_after(response, BUSY_RETRY_SECS.into()));
    };
    let client_addr = meta.client_addr.map(|addr| addr.to_string());
    let client_network = meta
        .client_addr
        .map(|addr| throttle::client_network(addr).to_string());
    let (attempt, counts, account) = {
        let mut conn = state.pool.acquire().await?;
        let (attempt, counts) = sessions::record_attempt(
            &mut conn,
            &typed,
            client_addr.as_deref(),
            client_network.as_deref(),
            THROTTLE_WINDOW_SECS,
        )
        .await?;
        let account = match Login::parse(&typed) {
            Ok(login) if counts.by_network <= MAX_FAILURES_PER_NETWORK => {
                sessions::credentials(&mut *conn, login.as_str()).await?
            }
            _ => None,
        };
        (attempt, counts, account)
    };
    drop(gate);
    if counts.by_network > MAX_FAILURES_PER_NETWORK {
        tracing::warn!(client_addr = ?meta.client_addr, "login refused: too many failed attempts");
        let response = refuse(
            StatusCode::TOO_MANY_REQUESTS,
            words::common::LOGIN_TOO_MANY_FAILURES,
        )
        .await?;
        return Ok(retry_after(response, THROTTLE_WINDOW_SECS));
    }

    // A login that keeps failing answers slowly, whoever asks, but never
    // so slowly that its owner can't get in.
    tokio::time::sleep(throttle::login_delay(counts.by_login - 1)).await;
    // An over-long password can't be right; don't spend argon2 on it.
    let password_ok = if password.len() > MAX_PASSWORD_BYTES {
        false
    } else {
        let Some(slot) = state.hashing.try_take() else {
            // Not checked, so not a failure.
            sessions::forget_attempt(&state.pool, attempt).await?;
            tracing::warn!("login refused: every password-hashing slot is busy");
            let response = refuse(StatusCode::TOO_MANY_REQUESTS, words::common::LOGIN_BUSY).await?;
            return Ok(retry_after(response, BUSY_RETRY_SECS.into()));
        };
        let stored = account.as_ref().map(|a| a.password_hash.clone());
        slot.run(move || password_matches(&password, stored.as_deref()))
            .await?
    };
    let Some(account) = account.filter(|_| password_ok) else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            words::common::LOGIN_WRONG_CREDENTIALS,
        )
        .await;
    };
    let mut conn = state.pool.acquire().await?;
    sessions::forget_attempt(&mut *conn, attempt).await?;
    if account.disabled {
        return refuse(StatusCode::FORBIDDEN, words::common::LOGIN_ACCOUNT_DISABLED).await;
    }

    let session_id = random_secret();
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .map(|value| value.chars().take(300).collect::<String>());
    let csrf_token = random_secret();
    sessions::open(
        &mut conn,
        &meta.actor(&account.login),
        NewSession {
            id_hash: &sha256(&session_id),
            staff_id: account.id,
            csrf_token: &csrf_token,
            client_addr: client_addr.as_deref(),
            user_agent: user_agent.as_deref(),
            lifetime_secs: SESSION_LIFETIME_SECS,
        },
        IDLE_TIMEOUT_SECS,
    )
    .await?;
    drop(conn);
    tracing::info!(login = %account.login, "staff signed in");

    let session_cookie = Cookie {
        name: cookies::SESSION,
        value: &session_id,
        path: "/",
        max_age_secs: SESSION_LIFETIME_SECS,
        same_site: SameSite::Lax,
        secure: https,
    };
    let mut response = see_other(&next);
    let response_headers = response.headers_mut();
    response_headers.append(header::SET_COOKIE, session_cookie.header());
    response_headers.append(
        header::SET_COOKIE,
        cookies::clear(cookies::LOGIN, "/login", https),
    );
    Ok(response)
}

fn retry_after(mut response: Response, secs: i64) -> Response {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    response
}

#[derive(Template, WebTemplate)]
#[template(path = "logout.html")]
pub struct LogoutPage {
    layout: Layout,
}

/// `GET /logout`: a button, since signing out changes state.
#[tracing::instrument(skip_all)]
pub async fn confirm_logout(principal: Principal) -> LogoutPage {
    LogoutPage {
        layout: Layout::new("", &principal),
    }
}

/// `POST /logout`.
#[tracing::instrument(skip_all)]
pub async fn logout(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Response, AppError> {
    if let Via::Session { id_hash, .. } = &principal.via {
        let mut conn = state.pool.acquire().await?;
        sessions::close(&mut conn, &principal.actor(), id_hash).await?;
    }
    let mut response = see_other("/login");
    response.headers_mut().insert(
        header::SET_COOKIE,
        cookies::clear(cookies::SESSION, "/", principal.meta.https),
    );
    Ok(response)
}
