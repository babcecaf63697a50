//! Tenants (superadmin): `{"tenant": {...}, "bootstrap": bool}` as in Coopr. A tenant's own
//! members may read its spec; any other tenant is reported absent.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use weft_model::{SUPERADMIN_TENANT, TenantRequest, TenantSpec};

use crate::body::JsonBody;
use crate::{ApiError, AppState, Caller, ErrorBody};

pub(super) fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(list, create))
        .routes(routes!(get, put, delete))
}

fn check_spec(spec: &TenantSpec) -> Result<(), ApiError> {
    weft_catalog::check_name("tenant.name", &spec.name)?;
    Ok(())
}

/// Every tenant (superadmin).
#[utoipa::path(get, path = "/v2/tenants", tag = "tenants",
    responses((status = 200, body = Vec<TenantSpec>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<TenantSpec>>, ApiError> {
    caller.require_superadmin("list tenants")?;
    Ok(Json(
        state
            .store
            .list_tenants()
            .await?
            .into_iter()
            .map(|t| t.spec)
            .collect(),
    ))
}

/// Create a tenant (superadmin); `bootstrap` copies the superadmin catalog into it.
#[utoipa::path(post, path = "/v2/tenants", tag = "tenants", request_body = TenantRequest,
    responses((status = 200, body = TenantSpec), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<TenantRequest>,
) -> Result<Json<TenantSpec>, ApiError> {
    caller.require_superadmin("create tenants")?;
    check_spec(&request.tenant)?;
    let tenant = state
        .store
        .create_tenant(&request.tenant, request.bootstrap)
        .await?;
    tracing::info!(tenant = %tenant.spec.name, bootstrap = request.bootstrap, "tenant created");
    Ok(Json(tenant.spec))
}

/// One tenant: superadmins see any, members their own.
#[utoipa::path(get, path = "/v2/tenants/{name}", tag = "tenants", params(("name" = String, Path)),
    responses((status = 200, body = TenantSpec), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<TenantSpec>, ApiError> {
    if !caller.can_see_tenant(&name) {
        return Err(ApiError::NotFound(format!(
            "tenant '{name}' does not exist"
        )));
    }
    Ok(Json(state.store.tenant_by_name(&name).await?.spec))
}

/// Change a tenant's description, workers and quotas (superadmin); the name must match the path.
#[utoipa::path(put, path = "/v2/tenants/{name}", tag = "tenants", params(("name" = String, Path)), request_body = TenantRequest,
    responses((status = 200, body = TenantSpec), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn put(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    JsonBody(request): JsonBody<TenantRequest>,
) -> Result<Json<TenantSpec>, ApiError> {
    caller.require_superadmin("change tenants")?;
    if request.tenant.name != name {
        return Err(ApiError::invalid(
            "tenant.name",
            "matches path",
            format!(
                "the body names '{}' but the path names '{name}'",
                request.tenant.name
            ),
        ));
    }
    check_spec(&request.tenant)?;
    let tenant = state.store.update_tenant(&request.tenant).await?;
    tracing::info!(tenant = %name, "tenant changed");
    Ok(Json(tenant.spec))
}

/// Delete a tenant with its users and catalog (superadmin). Not the superadmin tenant (403), nor
/// one with workers assigned (409).
#[utoipa::path(delete, path = "/v2/tenants/{name}", tag = "tenants", params(("name" = String, Path)),
    responses((status = 200), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require_superadmin("delete tenants")?;
    if name == SUPERADMIN_TENANT {
        return Err(ApiError::Forbidden(
            "the superadmin tenant cannot be deleted".into(),
        ));
    }
    state.store.delete_tenant(&name).await?;
    tracing::info!(tenant = %name, "tenant deleted");
    Ok(StatusCode::OK)
}
