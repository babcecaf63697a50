//! Pools of existing machines for the `hosts` provider (tenant admin). A provider of type
//! `hosts` names a pool in its `pool` field; its nodes are drawn from the pool's machines. The
//! login key is write-only: no response carries it, only its public half.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use weft_model::{PoolRequest, PoolSpec};

use crate::body::JsonBody;
use crate::{ApiError, AppState, Caller, ErrorBody};

pub(super) fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(list, create))
        .routes(routes!(get, put, delete))
}

/// Every pool of the tenant.
#[utoipa::path(get, path = "/v2/pools", tag = "pools",
    responses((status = 200, body = Vec<PoolSpec>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<PoolSpec>>, ApiError> {
    caller.require_admin("see machine pools")?;
    Ok(Json(state.engine.list_pools(&caller.tenant_id).await?))
}

/// Make a pool; 409 if the name is taken.
#[utoipa::path(post, path = "/v2/pools", tag = "pools", request_body = PoolRequest,
    responses((status = 200, body = PoolSpec), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<PoolRequest>,
) -> Result<Json<PoolSpec>, ApiError> {
    caller.require_admin("make machine pools")?;
    if state
        .engine
        .get_pool(&caller.tenant_id, &request.name)
        .await
        .is_ok()
    {
        return Err(ApiError::Conflict(format!(
            "pool '{}' exists; change it with PUT /v2/pools/{}",
            request.name, request.name
        )));
    }
    if request.private_key.is_none() {
        return Err(ApiError::invalid(
            "privateKey",
            "required",
            "a new pool needs the login key the host uses to reach its machines",
        ));
    }
    let pool = state.engine.put_pool(&caller.tenant_id, &request).await?;
    tracing::info!(pool = %pool.name, machines = pool.machines.len(), "pool made");
    Ok(Json(pool))
}

/// One pool, without its key.
#[utoipa::path(get, path = "/v2/pools/{name}", tag = "pools", params(("name" = String, Path)),
    responses((status = 200, body = PoolSpec), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<PoolSpec>, ApiError> {
    let pool = state.engine.get_pool(&caller.tenant_id, &name).await?;
    caller.require_admin("see machine pools")?;
    Ok(Json(pool))
}

/// Make or replace a pool; leaving `privateKey` out keeps the stored key. Machines that nodes
/// hold keep serving them; take a machine out only when no node holds it.
#[utoipa::path(put, path = "/v2/pools/{name}", tag = "pools", params(("name" = String, Path)), request_body = PoolRequest,
    responses((status = 200, body = PoolSpec), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
async fn put(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    JsonBody(request): JsonBody<PoolRequest>,
) -> Result<Json<PoolSpec>, ApiError> {
    caller.require_admin("change machine pools")?;
    if request.name != name {
        return Err(ApiError::invalid(
            "name",
            "matches path",
            format!(
                "the body names '{}' but the path names '{name}'",
                request.name
            ),
        ));
    }
    let pool = state.engine.put_pool(&caller.tenant_id, &request).await?;
    tracing::info!(pool = %pool.name, machines = pool.machines.len(), "pool written");
    Ok(Json(pool))
}

/// Delete a pool (its machines are left as they are).
#[utoipa::path(delete, path = "/v2/pools/{name}", tag = "pools", params(("name" = String, Path)),
    responses((status = 200), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.engine.get_pool(&caller.tenant_id, &name).await?;
    caller.require_admin("delete machine pools")?;
    state.store.delete_pool(&caller.tenant_id, &name).await?;
    tracing::info!(pool = %name, "pool deleted");
    Ok(StatusCode::OK)
}
