//! `/settings/staff` (admin): accounts and API tokens. Accounts are created
//! from the command line; here admins change roles, disable or enable
//! accounts, and create or revoke API tokens. Every change is audited.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use super::Layout;
use crate::app::staff::{self as use_case, Account, StaffError};
use crate::domain::input::TokenId;
use crate::domain::role::Role;
use crate::domain::staff::{Login, TokenName};
use crate::store::tokens::ApiToken;
use crate::web::AppState;
use crate::web::auth::{Access, Principal};
use crate::web::error::AppError;
use crate::web::extract::{Form, Path, Query};
use crate::web::routes::Routes;
use crate::web::words;
use crate::web::words::Label;

pub fn routes() -> Routes {
    Routes::default()
        .get("/settings/staff", Access::ADMIN, show)
        .post("/settings/staff/tokens", Access::ADMIN, create_token)
        .get(
            "/settings/staff/tokens/{id}/revoke",
            Access::ADMIN,
            confirm_revoke,
        )
        .post("/settings/staff/tokens/{id}/revoke", Access::ADMIN, revoke)
        .post("/settings/staff/{login}/role", Access::ADMIN, set_role)
        .post(
            "/settings/staff/{login}/disabled",
            Access::ADMIN,
            set_disabled,
        )
}

/// Outcome banners after a redirect, by a fixed code in the query string.
const NOTICES: &[(&str, &str)] = &[
    ("token-revoked", words::common::STAFF_TOKEN_REVOKED),
    ("role-changed", words::common::STAFF_ROLE_CHANGED),
    ("disabled", words::common::STAFF_DISABLED),
    ("enabled", words::common::STAFF_ENABLED),
];

#[derive(Template, WebTemplate)]
#[template(path = "staff.html")]
struct StaffPage {
    layout: Layout,
    staff: Vec<Account>,
    tokens: Vec<ApiToken>,
    roles: [Role; 3],
    notice: Option<&'static str>,
    error: Option<String>,
    /// A token just created: (name, secret), shown once.
    new_token: Option<(String, String)>,
    token_name: String,
    tz: Tz,
}

impl StaffPage {
    fn at(&self, at: &DateTime<Utc>) -> String {
        super::local_time(self.tz, at)
    }

    fn maybe(&self, at: &Option<DateTime<Utc>>) -> String {
        super::maybe_local_time(self.tz, at)
    }
}

struct Extra {
    notice: Option<&'static str>,
    error: Option<String>,
    new_token: Option<(String, String)>,
    token_name: String,
}

async fn render(
    state: &AppState,
    principal: &Principal,
    extra: Extra,
    status: StatusCode,
) -> Result<Response, AppError> {
    let (staff, tokens) = use_case::overview(&state.pool).await.map_err(refused)?;
    let page = StaffPage {
        layout: Layout::new("/settings/staff", principal),
        staff,
        tokens,
        roles: Role::ALL,
        notice: extra.notice,
        error: extra.error,
        new_token: extra.new_token,
        token_name: extra.token_name,
        tz: state.config.school_timezone,
    };
    Ok((status, [(header::CACHE_CONTROL, "no-store")], page).into_response())
}

/// A refusal as a page: what the admin can fix in Russian, a missing
/// account or token as a 404.
fn refused(err: StaffError) -> AppError {
    match err {
        StaffError::TokenNameTaken => AppError::Conflict(words::common::TOKEN_NAME_TAKEN.into()),
        StaffError::TokenNotFound => AppError::NotFound("no active token with this id".into()),
        StaffError::AccountNotFound => {
            AppError::NotFound("no staff account with this login".into())
        }
        StaffError::OwnAccount => AppError::Conflict(words::common::OWN_ACCOUNT.into()),
        StaffError::Db(err) => err.into(),
    }
}

#[derive(Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

/// `GET /settings/staff`.
#[tracing::instrument(skip_all)]
pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, AppError> {
    let notice = query.notice.as_deref().and_then(|code| {
        NOTICES
            .iter()
            .find(|(known, _)| *known == code)
            .map(|(_, text)| *text)
    });
    let extra = Extra {
        notice,
        error: None,
        new_token: None,
        token_name: String::new(),
    };
    render(&state, &principal, extra, StatusCode::OK).await
}

fn back(notice: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, format!("/settings/staff?notice={notice}"))],
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct NewTokenForm {
    name: Option<String>,
    role: Option<String>,
}

/// `POST /settings/staff/tokens`: creates a token and shows it once.
#[tracing::instrument(skip_all)]
pub async fn create_token(
    State(state): State<AppState>,
    principal: Principal,
    Form(form): Form<NewTokenForm>,
) -> Result<Response, AppError> {
    let typed = form.name.unwrap_or_default();
    let parsed = TokenName::parse(&typed)
        .map_err(|_| words::common::TOKEN_NAME_RULE.to_owned())
        .and_then(|name| {
            let role = form.role.as_deref().unwrap_or_default().parse::<Role>();
            role.map(|role| (name, role))
                .map_err(|_| words::common::TOKEN_ROLE_MISSING.to_owned())
        });
    let outcome = match parsed {
        Ok((name, role)) => {
            match use_case::issue_token(&state.context(&principal), &name, role).await {
                Ok((token, secret)) => Ok((token.name, secret)),
                Err(StaffError::TokenNameTaken) => Err(words::common::TOKEN_NAME_TAKEN.to_owned()),
                Err(err) => return Err(refused(err)),
            }
        }
        Err(message) => Err(message),
    };
    let (extra, status) = match outcome {
        Ok(new_token) => (
            Extra {
                notice: None,
                error: None,
                new_token: Some(new_token),
                token_name: String::new(),
            },
            StatusCode::CREATED,
        ),
        Err(message) => (
            Extra {
                notice: None,
                error: Some(message),
                new_token: None,
                token_name: typed,
            },
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    };
    render(&state, &principal, extra, status).await
}

#[derive(Template, WebTemplate)]
#[template(path = "token_revoke.html")]
pub struct RevokePage {
    layout: Layout,
    token: ApiToken,
}

/// `GET /settings/staff/tokens/{id}/revoke`: asks before revoking.
#[tracing::instrument(skip_all, fields(token_id = %id))]
pub async fn confirm_revoke(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<TokenId>,
) -> Result<RevokePage, AppError> {
    Ok(RevokePage {
        layout: Layout::new("/settings/staff", &principal),
        token: use_case::active_token(&state.pool, id)
            .await
            .map_err(refused)?,
    })
}

/// `POST /settings/staff/tokens/{id}/revoke`.
#[tracing::instrument(skip_all, fields(token_id = %id))]
pub async fn revoke(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<TokenId>,
) -> Result<Response, AppError> {
    use_case::revoke_token(&state.context(&principal), id)
        .await
        .map_err(refused)?;
    Ok(back("token-revoked"))
}

/// The account `raw` names, if it is someone else's: a login that cannot
/// exist is a 404, the admin's own a 409, before the form is read.
fn account(raw: &str, state: &AppState, principal: &Principal) -> Result<Login, AppError> {
    let login = Login::parse(raw).map_err(|_| AppError::not_found())?;
    use_case::not_own(&state.context(principal), &login).map_err(refused)?;
    Ok(login)
}

#[derive(Deserialize)]
pub struct RoleForm {
    role: Option<String>,
}

/// `POST /settings/staff/{login}/role`.
#[tracing::instrument(skip_all)]
pub async fn set_role(
    State(state): State<AppState>,
    principal: Principal,
    Path(login): Path<String>,
    Form(form): Form<RoleForm>,
) -> Result<Response, AppError> {
    let login = account(&login, &state, &principal)?;
    let role: Role = form
        .role
        .as_deref()
        .unwrap_or_default()
        .parse()
        .map_err(|_| AppError::BadRequest(words::common::ROLE_INVALID.into()))?;
    use_case::set_role(&state.context(&principal), &login, role)
        .await
        .map_err(refused)?;
    Ok(back("role-changed"))
}

#[derive(Deserialize)]
pub struct DisabledForm {
    disabled: Option<String>,
}

/// `POST /settings/staff/{login}/disabled`.
#[tracing::instrument(skip_all)]
pub async fn set_disabled(
    State(state): State<AppState>,
    principal: Principal,
    Path(login): Path<String>,
    Form(form): Form<DisabledForm>,
) -> Result<Response, AppError> {
    let login = account(&login, &state, &principal)?;
    let disabled = match form.disabled.as_deref() {
        Some("true") => true,
        Some("false") => false,
        _ => {
            return Err(AppError::BadRequest(words::common::DISABLED_INVALID.into()));
        }
    };
    use_case::set_disabled(&state.context(&principal), &login, disabled)
        .await
        .map_err(refused)?;
    Ok(back(if disabled { "disabled" } else { "enabled" }))
}
