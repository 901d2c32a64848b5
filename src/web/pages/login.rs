//! `/login` and `/logout`.
//!
//! The login form is protected against CSRF before any session exists by a
//! nonce in a SameSite=Strict cookie, signed with the session key into the
//! form's hidden field. Failed attempts are throttled per typed login and per
//! client address; the answer never says whether a login exists.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::Layout;
use crate::domain::staff::Login;
use crate::secrets::{MAX_PASSWORD_BYTES, random_secret, sha256, verify_password};
use crate::store::sessions::{self, NewSession};
use crate::web::AppState;
use crate::web::auth::cookies::{self, Cookie};
use crate::web::auth::{
    IDLE_TIMEOUT_SECS, MaybePrincipal, Principal, RequestMeta, SESSION_LIFETIME_SECS, Via,
    safe_next,
};
use crate::web::error::AppError;
use crate::web::extract::{Form, Query};

/// Failed attempts allowed per login and per address inside the window;
/// the next one is refused.
pub const MAX_FAILED_ATTEMPTS: i64 = 5;
pub const THROTTLE_WINDOW_SECS: i64 = 15 * 60;
/// HMAC purpose of the login form's CSRF field.
const LOGIN_CSRF: &str = "login-csrf";
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
pub async fn form(
    State(state): State<AppState>,
    MaybePrincipal(principal): MaybePrincipal,
    headers: HeaderMap,
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
    render(&state, &headers, form, StatusCode::OK, None).await
}

/// What the form is re-rendered with after a failed attempt.
struct Refill {
    next: String,
    login: String,
}

/// Renders the form with a fresh CSRF nonce (cookie) and its signature
/// (hidden field).
async fn render(
    state: &AppState,
    headers: &HeaderMap,
    refill: Refill,
    status: StatusCode,
    error: Option<&'static str>,
) -> Result<Response, AppError> {
    let nonce = random_secret();
    let csrf = state
        .session_key
        .sign(&state.pool, LOGIN_CSRF, &nonce)
        .await?;
    let cookie = Cookie {
        name: cookies::LOGIN,
        value: &nonce,
        path: "/login",
        max_age_secs: 3600,
        same_site: "Strict",
        secure: cookies::is_https(headers),
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

    let nonce = cookies::get(&headers, cookies::LOGIN).unwrap_or_default();
    let signature = form.csrf.as_deref().unwrap_or_default();
    if nonce.is_empty()
        || !state
            .session_key
            .verify(&state.pool, LOGIN_CSRF, nonce, signature)
            .await?
    {
        let message = "Форма входа устарела. Попробуйте войти ещё раз.";
        return render(
            &state,
            &headers,
            refill,
            StatusCode::FORBIDDEN,
            Some(message),
        )
        .await;
    }
    let password = form.password.unwrap_or_default();
    if typed.is_empty() || password.is_empty() {
        let message = "Введите логин и пароль.";
        return render(
            &state,
            &headers,
            refill,
            StatusCode::BAD_REQUEST,
            Some(message),
        )
        .await;
    }

    let client_addr = meta.client_addr.map(|addr| addr.to_string());
    let mut conn = state.pool.acquire().await?;
    let (attempt, counts) = sessions::record_attempt(
        &mut conn,
        &typed,
        client_addr.as_deref(),
        THROTTLE_WINDOW_SECS,
    )
    .await?;
    if counts.by_login > MAX_FAILED_ATTEMPTS || counts.by_addr > MAX_FAILED_ATTEMPTS {
        tracing::warn!(client_addr = ?meta.client_addr, "login refused: too many failed attempts");
        let message =
            "Слишком много неудачных попыток входа. Подождите 15 минут и попробуйте снова.";
        let mut response = render(
            &state,
            &headers,
            refill,
            StatusCode::TOO_MANY_REQUESTS,
            Some(message),
        )
        .await?;
        response.headers_mut().insert(
            header::RETRY_AFTER,
            THROTTLE_WINDOW_SECS.to_string().parse().expect("digits"),
        );
        return Ok(response);
    }

    let account = match Login::parse(&typed) {
        Ok(login) => sessions::credentials(&mut *conn, login.as_str()).await?,
        Err(_) => None,
    };
    // An over-long password can't be right; don't spend argon2 on it.
    let password_ok = password.len() <= MAX_PASSWORD_BYTES
        && verify_password(password, account.as_ref().map(|a| a.password_hash.clone())).await?;
    let Some(account) = account.filter(|_| password_ok) else {
        let message = "Неверный логин или пароль.";
        return render(
            &state,
            &headers,
            refill,
            StatusCode::UNAUTHORIZED,
            Some(message),
        )
        .await;
    };
    sessions::forget_attempt(&mut *conn, attempt).await?;
    if account.disabled {
        let message = "Учётная запись отключена. Обратитесь к администратору.";
        return render(
            &state,
            &headers,
            refill,
            StatusCode::FORBIDDEN,
            Some(message),
        )
        .await;
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
    tracing::info!(login = %account.login, "staff signed in");

    let secure = cookies::is_https(&headers);
    let session_cookie = Cookie {
        name: cookies::SESSION,
        value: &session_id,
        path: "/",
        max_age_secs: SESSION_LIFETIME_SECS,
        same_site: "Lax",
        secure,
    };
    let mut response = see_other(&next);
    let response_headers = response.headers_mut();
    response_headers.append(header::SET_COOKIE, session_cookie.header());
    response_headers.append(
        header::SET_COOKIE,
        cookies::clear(cookies::LOGIN, "/login", secure),
    );
    Ok(response)
}

#[derive(Template, WebTemplate)]
#[template(path = "logout.html")]
pub struct LogoutPage {
    layout: Layout,
}

/// `GET /logout`: a button, since signing out changes state.
pub async fn confirm_logout(principal: Principal) -> LogoutPage {
    LogoutPage {
        layout: Layout::new("", &principal),
    }
}

/// `POST /logout`.
pub async fn logout(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if let Via::Session { id_hash, .. } = &principal.via {
        let mut conn = state.pool.acquire().await?;
        sessions::close(&mut conn, &principal.actor(), id_hash).await?;
    }
    let mut response = see_other("/login");
    response.headers_mut().insert(
        header::SET_COOKIE,
        cookies::clear(cookies::SESSION, "/", cookies::is_https(&headers)),
    );
    Ok(response)
}
