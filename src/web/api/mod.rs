//! JSON handlers by area. Each route registers itself in the OpenAPI document
//! through `utoipa_axum::routes!`, in the group of its [`Access`], so neither
//! `/api/openapi.json` nor the access rules can fall behind.

pub mod analytics;
pub mod bookings;
pub mod free_lessons;
pub mod intake;
pub mod leads;
pub mod messages;
pub mod ops;
pub mod streams;
pub mod users;

use std::sync::OnceLock;

use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::openapi::{PathItem, SecurityRequirement};
use utoipa::{OpenApi, PartialSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::{Access, cookies};
use crate::web::extract::Json;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "hsl-dashboard",
        description = "Admin dashboard of the HashSlash School Telegram bot. Routes need a \
                       staff session cookie or `Authorization: Bearer <token>` with at least \
                       the role in `x-required-role`; a session must also send `X-CSRF-Token` \
                       on POST, PATCH and DELETE."
    ),
    tags(
        (name = "ops", description = "Health, readiness and metrics"),
        (name = "bookings", description = "Bookings, streams and courses"),
        (name = "streams", description = "The stream registry"),
        (name = "users", description = "Users: the list, search and one user's data"),
        (name = "messages", description = "Broadcasts to the bot's users (admins only)"),
        (name = "analytics", description = "Analytics as docs/analytics.md defines it: headline numbers, growth, events, free lessons, leads"),
    )
)]
struct ApiDoc;

/// The body of every error answer (except the users family's legacy
/// `{"success": false, "error": ...}`).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorJson {
    /// What went wrong, in English; names the field or parameter at fault.
    pub error: String,
}

/// The API routes, grouped by who may call them.
pub fn groups() -> Vec<(Access, OpenApiRouter<AppState>)> {
    vec![
        (
            Access::Open,
            OpenApiRouter::new()
                .routes(routes!(ops::test_db))
                .routes(routes!(ops::healthz))
                .routes(routes!(ops::readyz)),
        ),
        (
            Access::VIEWER,
            OpenApiRouter::new()
                .routes(routes!(ops::metrics))
                .routes(routes!(bookings::list_bookings))
                .routes(routes!(bookings::course_streams))
                .routes(routes!(bookings::courses))
                .routes(routes!(bookings::user::user_bookings))
                .routes(routes!(users::list_users))
                .routes(routes!(users::get_user))
                .routes(routes!(streams::list_streams))
                .routes(routes!(intake::list_intake_rules))
                .routes(routes!(free_lessons::stream_students))
                .routes(routes!(analytics::stats))
                .routes(routes!(analytics::user_growth))
                .routes(routes!(analytics::events))
                .routes(routes!(leads::list_leads))
                .routes(routes!(free_lessons::list_free_lessons)),
        ),
        (
            Access::EDITOR,
            OpenApiRouter::new()
                .routes(routes!(bookings::user::update_booking))
                .routes(routes!(bookings::user::move_stream))
                .routes(routes!(streams::create_stream))
                .routes(routes!(streams::update_stream))
                .routes(routes!(streams::adopt_stream))
                .routes(routes!(intake::put_intake_rule)),
        ),
        (
            Access::ADMIN,
            OpenApiRouter::new()
                .routes(routes!(messages::create_message, messages::list_messages))
                .routes(routes!(messages::preview_message))
                .routes(routes!(messages::get_message))
                .routes(routes!(messages::message_recipients))
                .routes(routes!(messages::actions::cancel_message))
                .routes(routes!(messages::actions::pause_message))
                .routes(routes!(messages::actions::resume_message))
                .routes(routes!(messages::actions::retry_failed))
                .routes(routes!(messages::actions::retry_unknown))
                .routes(routes!(messages::actions::delete_from_chats))
                .routes(routes!(messages::actions::test_send)),
        ),
    ]
}

/// The OpenAPI document of every group, each operation marked with the
/// credentials and role it needs.
pub fn openapi() -> &'static utoipa::openapi::OpenApi {
    static DOC: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = ApiDoc::openapi();
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(cookies::SESSION))),
        );
        components
            .schemas
            .insert("ErrorJson".into(), <ErrorJson as PartialSchema>::schema());
        for (access, group) in groups() {
            let mut part = group.into_openapi();
            for item in part.paths.paths.values_mut() {
                mark(item, access);
            }
            doc.merge(part);
        }
        doc
    })
}

fn mark(item: &mut PathItem, access: Access) {
    let operations = [
        &mut item.get,
        &mut item.post,
        &mut item.put,
        &mut item.patch,
        &mut item.delete,
    ];
    for operation in operations.into_iter().flatten() {
        let role = match access {
            Access::Staff(role) => role.as_str(),
            Access::Open | Access::Anyone => "none",
        };
        operation
            .extensions
            .get_or_insert_with(Extensions::default)
            .insert("x-required-role".into(), role.into());
        document_common_errors(operation, access);
        operation.security = Some(match access {
            Access::Staff(_) => vec![
                SecurityRequirement::new("bearer", Vec::<String>::new()),
                SecurityRequirement::new("session", Vec::<String>::new()),
            ],
            Access::Open | Access::Anyone => vec![SecurityRequirement::default()],
        });
    }
}

/// The answers any operation can give besides its own: 400 for input that
/// does not fit (where it takes any), 401/403 behind a role, 503 when the
/// database is away. An operation that documents one itself keeps its own.
fn document_common_errors(operation: &mut Operation, access: Access) {
    let takes_input = operation.request_body.is_some()
        || operation
            .parameters
            .as_ref()
            .is_some_and(|parameters| !parameters.is_empty());
    let mut common = vec![];
    if takes_input {
        common.push((
            "400",
            "The input does not fit the schema; `error` names the field.",
        ));
    }
    if let Access::Staff(_) = access {
        common.push(("401", "No valid session or token."));
        common.push((
            "403",
            "The role is too low, or a session's request that changes something \
             came without its X-CSRF-Token.",
        ));
        common.push(("503", "The database cannot be reached right now."));
    }
    for (status, description) in common {
        if operation.responses.responses.contains_key(status) {
            continue;
        }
        let response = ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorJson")))
                    .build(),
            )
            .build();
        operation
            .responses
            .responses
            .insert(status.into(), response.into());
    }
}

/// `GET /api/openapi.json`.
pub async fn openapi_json() -> Json<&'static utoipa::openapi::OpenApi> {
    Json(openapi())
}
