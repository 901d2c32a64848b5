//! Reading broadcasts: the list, one broadcast, its recipients.

use axum::extract::State;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;

use super::json::{BroadcastJson, Delivery, RecipientJson};
use super::not_found;
use crate::app::broadcasts::filters::{RecipientFilter, StatusFilter};
use crate::domain::input::{Bounded, BroadcastId, Offset};
use crate::store::broadcasts::{self, Filter};
use crate::web::AppState;
use crate::web::api::ErrorJson;
use crate::web::error::AppError;
use crate::web::extract::{Json, Path, Query};

/// Broadcast `id` as the API shows it.
pub(crate) async fn broadcast_json(state: &AppState, id: i32) -> Result<BroadcastJson, AppError> {
    let broadcast = broadcasts::get(&state.pool, id)
        .await?
        .ok_or_else(not_found)?;
    Ok(BroadcastJson::new(broadcast, &Delivery::of(state)))
}

fn with_total(mut response: Response, total: i64) -> Response {
    response
        .headers_mut()
        .insert("x-total-count", HeaderValue::from(total));
    response
}

/// The query of `GET /api/messages`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only broadcasts in this status.
    #[param(inline)]
    status: Option<StatusFilter>,
    /// How many, 50 unless given.
    #[param(inline)]
    limit: Option<Bounded<1, 200>>,
    /// How many to skip.
    #[param(inline)]
    offset: Option<Offset>,
}

/// The newest broadcasts first, including the previous dashboard's
/// (`legacy: true`, `done`); the total matching is in `X-Total-Count`.
#[utoipa::path(
    get,
    path = "/api/messages",
    tag = "messages",
    params(ListQuery),
    responses(
        (status = 200, body = [BroadcastJson], headers(("X-Total-Count" = i64))),
        (status = 400, body = ErrorJson, description = "A bad parameter"),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn list_messages(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Response, AppError> {
    let filter = Filter {
        status: query.status.map(|status| status.0),
        ..Filter::default()
    };
    let limit = query.limit.map_or(50, Bounded::get);
    let offset = query.offset.unwrap_or_default().0;
    let (rows, total) = broadcasts::list(&state.pool, &filter, limit, offset).await?;
    let delivery = Delivery::of(&state);
    let body: Vec<BroadcastJson> = rows
        .into_iter()
        .map(|broadcast| BroadcastJson::new(broadcast, &delivery))
        .collect();
    Ok(with_total(Json(body).into_response(), total))
}

/// One broadcast: status, counts per delivery status, send rate and ETA.
#[utoipa::path(
    get,
    path = "/api/messages/{id}",
    tag = "messages",
    params(("id" = i32, Path, minimum = 1, description = "The broadcast's id")),
    responses(
        (status = 200, body = BroadcastJson),
        (status = 400, body = ErrorJson, description = "The id is not a positive integer"),
        (status = 404, body = ErrorJson, description = "No such broadcast"),
    )
)]
#[tracing::instrument(skip_all, fields(id = id.get()))]
pub async fn get_message(
    State(state): State<AppState>,
    Path(id): Path<BroadcastId>,
) -> Result<Json<BroadcastJson>, AppError> {
    Ok(Json(broadcast_json(&state, id.get()).await?))
}

/// The query of `GET /api/messages/{id}/recipients`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecipientsQuery {
    /// Only recipients in this delivery status.
    #[param(inline)]
    status: Option<RecipientFilter>,
    /// How many, 100 unless given; at most 1000 to a page.
    #[param(inline)]
    limit: Option<Bounded<1, 1000>>,
    /// How many to skip.
    #[param(inline)]
    offset: Option<Offset>,
}

/// A broadcast's recipients in the order they were queued; the total
/// matching is in `X-Total-Count`.
#[utoipa::path(
    get,
    path = "/api/messages/{id}/recipients",
    tag = "messages",
    params(("id" = i32, Path, minimum = 1, description = "The broadcast's id"), RecipientsQuery),
    responses(
        (status = 200, body = [RecipientJson], headers(("X-Total-Count" = i64))),
        (status = 400, body = ErrorJson, description = "A bad id or parameter"),
        (status = 404, body = ErrorJson, description = "No such broadcast"),
    )
)]
#[tracing::instrument(skip_all, fields(id = id.get()))]
pub async fn message_recipients(
    State(state): State<AppState>,
    Path(id): Path<BroadcastId>,
    Query(query): Query<RecipientsQuery>,
) -> Result<Response, AppError> {
    let id = id.get();
    let status = query.status.map(|status| status.0);
    let limit = query.limit.map_or(100, Bounded::get);
    let offset = query.offset.unwrap_or_default().0;
    if broadcasts::get(&state.pool, id).await?.is_none() {
        return Err(not_found());
    }
    let rows = broadcasts::recipients(&state.pool, id, status, limit, offset).await?;
    let total = broadcasts::recipient_total(&state.pool, id, status).await?;
    let body: Vec<RecipientJson> = rows.into_iter().map(RecipientJson::from).collect();
    Ok(with_total(Json(body).into_response(), total))
}
