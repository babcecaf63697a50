//! The worker protocol (Coopr's provisioner API, coopr-notes §2.2): register, heartbeat, take
//! (204 when nothing is ready), heartbeat a task, stream its log, finish (417 when the lease
//! was lost), and fetch plugin components. Workers authenticate with worker tokens, their own
//! kind of credential; a token bound to a tenant only ever sees that tenant's tasks.
//!
//! Admins manage worker tokens: a superadmin's are shared by every tenant with worker capacity,
//! a tenant admin's serve that tenant alone.

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use weft_engine::{Finished, WorkerIdentity};
use weft_model::{
    FinishRequest, TakeRequest, TaskHeartbeat, TaskLogBatch, WorkerHeartbeat, WorkerRegistration,
};
use weft_store::ProvisionerRow;

use crate::body::JsonBody;
use crate::{ApiError, AppState, Caller, ErrorBody};

pub(super) fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(register))
        .routes(routes!(heartbeat))
        .routes(routes!(list_provisioners))
        .routes(routes!(take))
        .routes(routes!(task_heartbeat))
        .routes(routes!(task_log))
        .routes(routes!(finish))
        .routes(routes!(component))
        .routes(routes!(resource))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(delete_token))
}

/// A worker authenticated by its token.
#[derive(Debug, Clone)]
pub(crate) struct WorkerCaller {
    token_name: String,
    tenant_id: Option<String>,
}

impl FromRequestParts<AppState> for WorkerCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(ApiError::Unauthenticated)?;
        let row = state
            .store
            .worker_by_digest(&weft_auth::token_digest(token))
            .await?
            .ok_or(ApiError::Unauthenticated)?;
        Ok(WorkerCaller {
            token_name: row.name,
            tenant_id: row.tenant_id,
        })
    }
}

impl WorkerCaller {
    /// The identity of one slot of a registered worker; 403 for an unknown worker (Coopr).
    async fn slot(
        &self,
        state: &AppState,
        provisioner: &str,
        worker: &str,
    ) -> Result<WorkerIdentity, ApiError> {
        match state.store.get_provisioner(provisioner).await? {
            Some(p) if p.token_name == self.token_name => Ok(WorkerIdentity {
                worker: format!("{provisioner}/{worker}"),
                tenant_id: self.tenant_id.clone(),
            }),
            _ => Err(ApiError::Forbidden(format!(
                "worker '{provisioner}' is not registered: register it first"
            ))),
        }
    }
}

/// Registers (or re-registers) a worker process with its capacity.
#[utoipa::path(put, path = "/v2/provisioners/{id}", tag = "workers", request_body = WorkerRegistration,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn register(
    State(state): State<AppState>,
    worker: WorkerCaller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<WorkerRegistration>,
) -> Result<StatusCode, ApiError> {
    weft_catalog::check_name("id", &id)?;
    if body.capacity_total == 0 {
        return Err(ApiError::invalid(
            "capacityTotal",
            "range",
            "must be at least 1",
        ));
    }
    let now = weft_engine::now_ms();
    state
        .store
        .register_provisioner(&ProvisionerRow {
            id,
            token_name: worker.token_name,
            host: body.host,
            capacity: i64::from(body.capacity_total),
            usage: 0,
            registered_at: now,
            heartbeat_at: now,
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A worker's heartbeat; 404 when it is not registered (it registers again).
#[utoipa::path(post, path = "/v2/provisioners/{id}/heartbeat", tag = "workers", request_body = WorkerHeartbeat,
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn heartbeat(
    State(state): State<AppState>,
    worker: WorkerCaller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<WorkerHeartbeat>,
) -> Result<StatusCode, ApiError> {
    let known = state
        .store
        .heartbeat_provisioner(
            &id,
            &worker.token_name,
            i64::from(body.usage),
            weft_engine::now_ms(),
        )
        .await?;
    if known {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!(
            "worker '{id}' is not registered"
        )))
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct ProvisionerView {
    id: String,
    token: String,
    host: String,
    capacity_total: i64,
    usage: i64,
    heartbeat_at: i64,
}

/// Registered workers and their health (superadmin).
#[utoipa::path(get, path = "/v2/provisioners", tag = "workers",
    responses((status = 200, body = Vec<ProvisionerView>), (status = 403, body = ErrorBody)))]
async fn list_provisioners(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<ProvisionerView>>, ApiError> {
    caller.require_superadmin("list workers")?;
    Ok(Json(
        state
            .store
            .list_provisioners()
            .await?
            .into_iter()
            .map(|p| ProvisionerView {
                id: p.id,
                token: p.token_name,
                host: p.host,
                capacity_total: p.capacity,
                usage: p.usage,
                heartbeat_at: p.heartbeat_at,
            })
            .collect(),
    ))
}

/// The next task for a worker slot; 204 when nothing is ready.
#[utoipa::path(post, path = "/v2/tasks/take", tag = "workers", request_body = TakeRequest,
    responses((status = 200, body = weft_model::TaskAssignment), (status = 204), (status = 403, body = ErrorBody)))]
async fn take(
    State(state): State<AppState>,
    worker: WorkerCaller,
    JsonBody(body): JsonBody<TakeRequest>,
) -> Result<Response, ApiError> {
    let slot = worker
        .slot(&state, &body.provisioner_id, &body.worker_id)
        .await?;
    match state.engine.take(&slot).await? {
        Some(task) => Ok(Json(task).into_response()),
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

/// Keeps a task's lease; 417 when it is lost.
#[utoipa::path(post, path = "/v2/tasks/heartbeat", tag = "workers", request_body = TaskHeartbeat,
    responses((status = 204), (status = 417, body = ErrorBody)))]
async fn task_heartbeat(
    State(state): State<AppState>,
    worker: WorkerCaller,
    JsonBody(body): JsonBody<TaskHeartbeat>,
) -> Result<StatusCode, ApiError> {
    let slot = worker
        .slot(&state, &body.provisioner_id, &body.worker_id)
        .await?;
    if state.engine.heartbeat(&slot, &body.task_id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::LeaseLost(body.task_id))
    }
}

/// Appends lines to a running task's log; 417 unless the worker holds the task.
#[utoipa::path(post, path = "/v2/tasks/log", tag = "workers", request_body = TaskLogBatch,
    responses((status = 204), (status = 417, body = ErrorBody)))]
async fn task_log(
    State(state): State<AppState>,
    worker: WorkerCaller,
    JsonBody(body): JsonBody<TaskLogBatch>,
) -> Result<StatusCode, ApiError> {
    let slot = worker
        .slot(&state, &body.provisioner_id, &body.worker_id)
        .await?;
    // only the lease holder writes the log
    if !state.engine.heartbeat(&slot, &body.task_id).await? {
        return Err(ApiError::LeaseLost(body.task_id));
    }
    state
        .engine
        .append_log(&body.task_id, body.attempt, body.first_seq, &body.lines)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Reports how a task ended; 417 when the worker's lease expired (the task runs elsewhere).
#[utoipa::path(post, path = "/v2/tasks/finish", tag = "workers", request_body = FinishRequest,
    responses((status = 204), (status = 417, body = ErrorBody)))]
async fn finish(
    State(state): State<AppState>,
    worker: WorkerCaller,
    JsonBody(body): JsonBody<FinishRequest>,
) -> Result<StatusCode, ApiError> {
    let slot = worker
        .slot(&state, &body.provisioner_id, &body.worker_id)
        .await?;
    match state.engine.finish(&slot, &body.report).await? {
        Finished::Accepted => Ok(StatusCode::NO_CONTENT),
        Finished::LeaseLost => Err(ApiError::LeaseLost(body.report.task_id)),
    }
}

/// A plugin component by digest, for a worker that may serve a tenant that registered it.
#[utoipa::path(get, path = "/v2/tasks/components/{digest}", tag = "workers",
    responses((status = 200, content_type = "application/wasm", body = Vec<u8>), (status = 404, body = ErrorBody)))]
async fn component(
    State(state): State<AppState>,
    worker: WorkerCaller,
    Path(digest): Path<String>,
) -> Result<Response, ApiError> {
    let found = state.store.plugin_component_by_digest(&digest).await?;
    let allowed = |tenants: &[String]| match &worker.tenant_id {
        None => true,
        Some(t) => tenants
            .iter()
            .any(|x| x == t || *x == state.superadmin_tenant_id),
    };
    match found {
        Some((tenants, bytes)) if allowed(&tenants) => {
            Ok(([(header::CONTENT_TYPE, "application/wasm")], bytes).into_response())
        }
        _ => Err(ApiError::NotFound(format!(
            "no component with digest '{digest}'"
        ))),
    }
}

/// A plugin resource by digest, for a worker that may serve a tenant that holds it.
#[utoipa::path(get, path = "/v2/tasks/resources/{digest}", tag = "workers",
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 404, body = ErrorBody)))]
async fn resource(
    State(state): State<AppState>,
    worker: WorkerCaller,
    Path(digest): Path<String>,
) -> Result<Response, ApiError> {
    let found = state.store.resource_by_digest(&digest).await?;
    let allowed = |tenants: &[String]| match &worker.tenant_id {
        None => true,
        Some(t) => tenants.iter().any(|x| x == t),
    };
    match found {
        Some((tenants, bytes)) if allowed(&tenants) => {
            Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
        }
        _ => Err(ApiError::NotFound(format!(
            "no resource with digest '{digest}'"
        ))),
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct WorkerTokenView {
    name: String,
    /// Shared by every tenant, or one tenant's own.
    shared: bool,
    created_at: i64,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewWorkerToken {
    name: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct WorkerTokenCreated {
    name: String,
    /// Shown once.
    token: String,
}

/// The token's scope for the caller: superadmins make shared ones, tenant admins their own.
fn token_scope(caller: &Caller) -> Result<Option<&str>, ApiError> {
    caller.require_admin("manage worker tokens")?;
    Ok(if caller.is_superadmin() {
        None
    } else {
        Some(caller.tenant_id.as_str())
    })
}

/// Worker tokens the caller manages.
#[utoipa::path(get, path = "/v2/workers/tokens", tag = "workers",
    responses((status = 200, body = Vec<WorkerTokenView>), (status = 403, body = ErrorBody)))]
async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<WorkerTokenView>>, ApiError> {
    let scope = token_scope(&caller)?;
    Ok(Json(
        state
            .store
            .list_worker_tokens(scope)
            .await?
            .into_iter()
            .map(|t| WorkerTokenView {
                name: t.name,
                shared: t.tenant_id.is_none(),
                created_at: t.created_at,
            })
            .collect(),
    ))
}

/// Issues a worker token (shown once).
#[utoipa::path(post, path = "/v2/workers/tokens", tag = "workers", request_body = NewWorkerToken,
    responses((status = 201, body = WorkerTokenCreated), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<NewWorkerToken>,
) -> Result<(StatusCode, Json<WorkerTokenCreated>), ApiError> {
    let scope = token_scope(&caller)?;
    weft_catalog::check_name("name", &body.name)?;
    let token = weft_auth::generate_token();
    state
        .store
        .create_worker_token(
            &body.name,
            scope,
            &weft_auth::token_digest(&token),
            weft_engine::now_ms(),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(WorkerTokenCreated {
            name: body.name,
            token,
        }),
    ))
}

/// Revokes a worker token.
#[utoipa::path(delete, path = "/v2/workers/tokens/{name}", tag = "workers",
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let scope = token_scope(&caller)?;
    if state.store.delete_worker_token(&name, scope).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!(
            "worker token '{name}' does not exist"
        )))
    }
}
