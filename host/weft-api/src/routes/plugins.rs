//! Plugin components: upload (`POST /v2/plugins`), versions, approved grants and status.
//!
//! A superadmin's upload is a global plugin every tenant may use; a tenant admin's belongs to
//! that tenant. The server loads the component in the real runtime (size, imports, world, WIT
//! version), asks it to describe itself, and stores the component, its type spec (which then
//! appears in `/v2/plugins/{providertypes,automatortypes}`) and the grants it requests. Grants
//! are approved at upload (`?approve=requested`) or later, and may only narrow the request.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use weft_model::{
    EntityKind, InspectError, PluginGrants, PluginKind, PluginScope, PluginStatus,
    PluginStatusRequest, PluginVersion,
};
use weft_store::{NewPlugin, PluginRecord};

use crate::body::JsonBody;
use crate::routes::parse_version;
use crate::{ApiError, AppState, Caller, ErrorBody};

pub(super) fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(list, upload))
        .routes(routes!(versions))
        .routes(routes!(version))
        .routes(routes!(approve))
        .routes(routes!(set_status))
}

fn view(state: &AppState, record: PluginRecord) -> PluginVersion {
    PluginVersion {
        scope: if record.tenant_id == state.superadmin_tenant_id {
            PluginScope::Global
        } else {
            PluginScope::Tenant
        },
        name: record.name,
        version: record.version,
        kind: record.kind,
        digest: record.digest,
        wit_version: record.wit_version,
        size_bytes: record.size_bytes,
        description: record.description,
        requested: record.requested,
        approved: record.approved,
        status: record.status,
        created_by: record.created_by,
        created_at: record.created_at,
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
struct UploadQuery {
    /// `requested` approves every grant the plugin requests; `none` (the default) approves
    /// nothing yet (see `PUT .../grants`).
    approve: Option<String>,
}

/// Upload a plugin component (`application/wasm`): a new version of the plugin it names.
#[utoipa::path(post, path = "/v2/plugins", tag = "plugins", params(UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/wasm"),
    responses((status = 201, body = PluginVersion), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<UploadQuery>,
    body: Bytes,
) -> Result<(StatusCode, Json<PluginVersion>), ApiError> {
    caller.require_admin("register plugins")?;
    let approve_requested = match query.approve.as_deref() {
        None | Some("none") => false,
        Some("requested") => true,
        Some(other) => {
            return Err(ApiError::invalid(
                "approve",
                "requested or none",
                format!("'{other}' is neither 'requested' nor 'none'"),
            ));
        }
    };
    let record = register_component(
        &state,
        &caller.tenant_id,
        &caller.user,
        body.to_vec(),
        approve_requested,
    )
    .await?;
    tracing::info!(plugin = %record.name, version = record.version, digest = %record.digest,
        kind = record.kind.as_str(), approved = approve_requested, "plugin registered");
    Ok((StatusCode::CREATED, Json(view(&state, record))))
}

/// Registers a component as the next version of the plugin it names, owned by `tenant` (the
/// superadmin tenant's plugins are global): the runtime inspects it, and its type spec and the
/// grants it requests are stored with it; `approve_requested` approves them all.
pub(crate) async fn register_component(
    state: &AppState,
    tenant: &str,
    user: &str,
    body: Vec<u8>,
    approve_requested: bool,
) -> Result<PluginRecord, ApiError> {
    if !body.starts_with(b"\0asm") {
        return Err(ApiError::invalid(
            "component",
            "WebAssembly component",
            "the body is not a WebAssembly component (send the .wasm file as application/wasm)",
        ));
    }
    let inspector = state
        .inspector
        .clone()
        .ok_or_else(|| ApiError::Internal("this server has no plugin runtime".into()))?;
    let inspected = inspector.inspect(body.clone()).await.map_err(|e| match e {
        InspectError::Refused(message) => {
            ApiError::invalid("component", "loads as a weft plugin", message)
        }
        InspectError::Internal(message) => ApiError::Internal(message),
    })?;
    if tenant != state.superadmin_tenant_id {
        let kind = match inspected.kind {
            PluginKind::Provider => EntityKind::Providertypes,
            PluginKind::Automator => EntityKind::Automatortypes,
        };
        if state
            .store
            .get_entity(&state.superadmin_tenant_id, kind, &inspected.name, None)
            .await
            .is_ok()
        {
            return Err(ApiError::Conflict(format!(
                "a global {} type named '{}' exists; give the plugin another name",
                inspected.kind.as_str(),
                inspected.name
            )));
        }
    }
    let approved = if approve_requested {
        inspected.requested.clone()
    } else {
        PluginGrants::default()
    };
    let type_spec = match serde_json::to_value(&inspected.spec) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => return Err(ApiError::Internal("a type spec did not serialise".into())),
    };
    let record = state
        .store
        .register_plugin(
            tenant,
            &NewPlugin {
                name: &inspected.name,
                kind: inspected.kind,
                digest: &inspected.digest,
                wit_version: &inspected.wit_version,
                description: &inspected.description,
                requested: &inspected.requested,
                approved: &approved,
                component: &body,
                created_by: user,
                type_spec: &type_spec,
            },
        )
        .await?;
    Ok(record)
}

/// The latest version of every plugin the caller may use: global ones and the tenant's own.
#[utoipa::path(get, path = "/v2/plugins", tag = "plugins",
    responses((status = 200, body = Vec<PluginVersion>), (status = 401, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<PluginVersion>>, ApiError> {
    let mut tenants = vec![state.superadmin_tenant_id.clone()];
    if caller.tenant_id != state.superadmin_tenant_id {
        tenants.push(caller.tenant_id.clone());
    }
    let mut latest = Vec::new();
    for tenant in tenants {
        // ordered by name then version: the last of each name is its latest
        let mut by_name = std::collections::BTreeMap::new();
        for record in state.store.list_plugins(&tenant).await? {
            by_name.insert(record.name.clone(), record);
        }
        latest.extend(by_name.into_values().map(|record| view(&state, record)));
    }
    Ok(Json(latest))
}

/// The tenant owning the plugin the caller names: its own first, then the global ones.
async fn owner_of(state: &AppState, caller: &Caller, name: &str) -> Result<String, ApiError> {
    for tenant in [&caller.tenant_id, &state.superadmin_tenant_id] {
        if state.store.get_plugin(tenant, name, None).await.is_ok() {
            return Ok(tenant.clone());
        }
    }
    Err(ApiError::NotFound(format!(
        "plugin '{name}' is not registered"
    )))
}

/// Only the owner's admins change a plugin: a tenant's admins theirs, superadmins global ones.
fn require_owner_admin(state: &AppState, caller: &Caller, owner: &str) -> Result<(), ApiError> {
    if owner == state.superadmin_tenant_id {
        caller.require_superadmin("change global plugins")
    } else {
        caller.require_admin("change plugins")
    }
}

/// Every version of one plugin.
#[utoipa::path(get, path = "/v2/plugins/components/{name}", tag = "plugins",
    responses((status = 200, body = Vec<PluginVersion>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn versions(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Vec<PluginVersion>>, ApiError> {
    let owner = owner_of(&state, &caller, &name).await?;
    let all = state.store.list_plugins(&owner).await?;
    Ok(Json(
        all.into_iter()
            .filter(|p| p.name == name)
            .map(|p| view(&state, p))
            .collect(),
    ))
}

/// One version of a plugin.
#[utoipa::path(get, path = "/v2/plugins/components/{name}/{version}", tag = "plugins",
    responses((status = 200, body = PluginVersion), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
async fn version(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, version)): Path<(String, String)>,
) -> Result<Json<PluginVersion>, ApiError> {
    let version = parse_version(&version)?;
    let owner = owner_of(&state, &caller, &name).await?;
    let record = state.store.get_plugin(&owner, &name, Some(version)).await?;
    Ok(Json(view(&state, record)))
}

/// Approve grants for one version: at most what the plugin requested.
#[utoipa::path(put, path = "/v2/plugins/components/{name}/{version}/grants", tag = "plugins",
    request_body = PluginGrants,
    responses((status = 200, body = PluginVersion), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, version)): Path<(String, String)>,
    JsonBody(grants): JsonBody<PluginGrants>,
) -> Result<Json<PluginVersion>, ApiError> {
    let version = parse_version(&version)?;
    let owner = owner_of(&state, &caller, &name).await?;
    let record = state.store.get_plugin(&owner, &name, Some(version)).await?;
    require_owner_admin(&state, &caller, &owner)?;
    weft_grants::within_request(&grants, &record.requested).map_err(|(field, message)| {
        ApiError::invalid(field, "within the plugin's request", message)
    })?;
    let record = state
        .store
        .set_plugin_grants(&owner, &name, version, &grants)
        .await?;
    tracing::info!(plugin = %name, version, ?grants, "plugin grants approved");
    Ok(Json(view(&state, record)))
}

/// Set a version `active` (also re-enabling a quarantined plugin) or `disabled`.
#[utoipa::path(put, path = "/v2/plugins/components/{name}/{version}/status", tag = "plugins",
    request_body = PluginStatusRequest,
    responses((status = 200, body = PluginVersion), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn set_status(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, version)): Path<(String, String)>,
    JsonBody(request): JsonBody<PluginStatusRequest>,
) -> Result<Json<PluginVersion>, ApiError> {
    let version = parse_version(&version)?;
    let owner = owner_of(&state, &caller, &name).await?;
    state.store.get_plugin(&owner, &name, Some(version)).await?;
    require_owner_admin(&state, &caller, &owner)?;
    if request.status == PluginStatus::Quarantined {
        return Err(ApiError::invalid(
            "status",
            "active or disabled",
            "only the host quarantines a plugin; set it active or disabled",
        ));
    }
    let record = state
        .store
        .set_plugin_status(&owner, &name, version, request.status)
        .await?;
    tracing::info!(plugin = %name, version, status = request.status.as_str(), "plugin status set");
    Ok(Json(view(&state, record)))
}
