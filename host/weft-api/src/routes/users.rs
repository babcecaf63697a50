//! A tenant's users and their tokens: managed by superadmins and by the tenant's own admins.
//! A token is shown once, when it is issued; only its digest is stored.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use weft_model::{Role, SUPERADMIN_TENANT, UserCreated, UserRequest, UserSummary};
use weft_store::TenantRecord;

use crate::body::JsonBody;
use crate::{ApiError, AppState, Caller, ErrorBody};

pub(super) fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(list, create))
        .routes(routes!(delete))
        .routes(routes!(rotate_token))
}

/// The tenant if the caller may manage its users: another tenant is absent (404), a plain user
/// is forbidden (403).
async fn managed_tenant(
    state: &AppState,
    caller: &Caller,
    tenant: &str,
) -> Result<TenantRecord, ApiError> {
    if !caller.can_see_tenant(tenant) {
        return Err(ApiError::NotFound(format!(
            "tenant '{tenant}' does not exist"
        )));
    }
    caller.require_admin("manage users")?;
    Ok(state.store.tenant_by_name(tenant).await?)
}

/// The tenant's users (never their tokens).
#[utoipa::path(get, path = "/v2/tenants/{tenant}/users", tag = "users", params(("tenant" = String, Path)),
    responses((status = 200, body = Vec<UserSummary>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> Result<Json<Vec<UserSummary>>, ApiError> {
    let tenant = managed_tenant(&state, &caller, &tenant).await?;
    let users = state.store.list_users(&tenant.id).await?;
    Ok(Json(
        users
            .into_iter()
            .map(|u| UserSummary {
                name: u.name,
                role: u.role,
                create_time: u.created_at,
            })
            .collect(),
    ))
}

/// Add a user; the answer carries its token, shown this once.
#[utoipa::path(post, path = "/v2/tenants/{tenant}/users", tag = "users", params(("tenant" = String, Path)), request_body = UserRequest,
    responses((status = 200, body = UserCreated), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
    JsonBody(request): JsonBody<UserRequest>,
) -> Result<Json<UserCreated>, ApiError> {
    let tenant = managed_tenant(&state, &caller, &tenant).await?;
    weft_catalog::check_name("name", &request.name)?;
    let token = weft_auth::generate_token();
    state
        .store
        .create_user(
            &tenant.id,
            &request.name,
            request.role,
            &weft_auth::token_digest(&token),
        )
        .await?;
    tracing::info!(tenant = %tenant.spec.name, user = %request.name, role = request.role.as_str(), "user created");
    Ok(Json(UserCreated {
        name: request.name,
        role: request.role,
        token,
    }))
}

/// Delete a user, revoking its token. The last superadmin cannot be deleted.
#[utoipa::path(delete, path = "/v2/tenants/{tenant}/users/{name}", tag = "users", params(("tenant" = String, Path), ("name" = String, Path)),
    responses((status = 200), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, name)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let tenant = managed_tenant(&state, &caller, &tenant).await?;
    if tenant.spec.name == SUPERADMIN_TENANT {
        let admins = state
            .store
            .list_users(&tenant.id)
            .await?
            .into_iter()
            .filter(|u| u.role == Role::Admin)
            .collect::<Vec<_>>();
        if admins.len() == 1 && admins[0].name == name {
            return Err(ApiError::Conflict(
                "the last superadmin cannot be deleted: create another first".into(),
            ));
        }
    }
    state.store.delete_user(&tenant.id, &name).await?;
    tracing::info!(tenant = %tenant.spec.name, user = %name, "user deleted");
    Ok(StatusCode::OK)
}

/// Issue a new token for a user; the old one stops working at once.
#[utoipa::path(post, path = "/v2/tenants/{tenant}/users/{name}/token", tag = "users", params(("tenant" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = UserCreated), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
async fn rotate_token(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, name)): Path<(String, String)>,
) -> Result<Json<UserCreated>, ApiError> {
    let tenant = managed_tenant(&state, &caller, &tenant).await?;
    let token = weft_auth::generate_token();
    let user = state
        .store
        .replace_token(&tenant.id, &name, &weft_auth::token_digest(&token))
        .await?;
    tracing::info!(tenant = %tenant.spec.name, user = %name, "token rotated");
    Ok(Json(UserCreated {
        name: user.name,
        role: user.role,
        token,
    }))
}
