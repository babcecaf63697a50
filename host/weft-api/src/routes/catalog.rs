//! Versioned CRUD for catalog entities (`/v2/{kind}`) and global plugin types
//! (`/v2/plugins/{providertypes,automatortypes}`), in Coopr's shapes.
//!
//! Any user of a tenant reads its catalog; its admins write it. Plugin types are global: every
//! user reads them, only superadmins write them. A write answers 200 with the stored entity and
//! one `Weft-Warning` header per dangling soft reference.

use axum::Json;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use weft_model::{EntityKind, FieldError};

use crate::catalog_access::{check_write, load_catalog};
use crate::routes::parse_version;
use crate::{ApiError, AppState, Caller};

/// The header carrying each warning of a write.
pub(crate) const WARNING_HEADER: HeaderName = HeaderName::from_static("weft-warning");

/// The tenant whose rows hold entities of `kind` for this caller.
pub(crate) fn owner<'a>(state: &'a AppState, caller: &'a Caller, kind: EntityKind) -> &'a str {
    if kind.is_plugin_type() {
        &state.superadmin_tenant_id
    } else {
        &caller.tenant_id
    }
}

fn require_writer(caller: &Caller, kind: EntityKind) -> Result<(), ApiError> {
    let action = format!("change {}s", kind.noun());
    if kind.is_plugin_type() {
        caller.require_superadmin(&action)
    } else {
        caller.require_admin(&action)
    }
}

pub(crate) fn with_warnings(mut response: Response, warnings: &[FieldError]) -> Response {
    for warning in warnings {
        if let Ok(value) = HeaderValue::from_str(&warning.to_string()) {
            response.headers_mut().append(WARNING_HEADER, value);
        }
    }
    response
}

pub(crate) async fn list(
    state: AppState,
    caller: Caller,
    kind: EntityKind,
) -> Result<Json<Vec<Value>>, ApiError> {
    let mut entities = state
        .store
        .list_entities(owner(&state, &caller, kind), kind)
        .await?;
    // plugin types of the tenant's own registered plugins, beside the global ones
    if kind.is_plugin_type() && caller.tenant_id != state.superadmin_tenant_id {
        entities.extend(state.store.list_entities(&caller.tenant_id, kind).await?);
    }
    Ok(Json(entities.iter().map(|e| e.to_json()).collect()))
}

pub(crate) async fn get(
    state: AppState,
    caller: Caller,
    kind: EntityKind,
    name: String,
    version: Option<String>,
) -> Result<Json<Value>, ApiError> {
    let version = version.as_deref().map(parse_version).transpose()?;
    if kind.is_plugin_type()
        && caller.tenant_id != state.superadmin_tenant_id
        && let Ok(own) = state
            .store
            .get_entity(&caller.tenant_id, kind, &name, version)
            .await
    {
        return Ok(Json(own.to_json()));
    }
    let entity = state
        .store
        .get_entity(owner(&state, &caller, kind), kind, &name, version)
        .await?;
    Ok(Json(entity.to_json()))
}

/// One version of an entity. For plugin types the same path shape also lists a resource type
/// (`/v2/plugins/automatortypes/shell/scripts`): what is not a number goes there.
pub(crate) async fn get_version(
    state: AppState,
    caller: Caller,
    kind: EntityKind,
    name: String,
    version: String,
    query: Option<String>,
) -> Result<Response, ApiError> {
    let plugin_kind = match kind {
        EntityKind::Providertypes => Some(weft_model::PluginKind::Provider),
        EntityKind::Automatortypes => Some(weft_model::PluginKind::Automator),
        _ => None,
    };
    if let Some(plugin_kind) = plugin_kind
        && version.parse::<i64>().is_err()
    {
        return crate::routes::resources::list(state, caller, plugin_kind, name, version, query)
            .await;
    }
    Ok(get(state, caller, kind, name, Some(version))
        .await?
        .into_response())
}

pub(crate) async fn write(
    state: AppState,
    caller: Caller,
    kind: EntityKind,
    path_name: Option<String>,
    mut body: Value,
) -> Result<Response, ApiError> {
    require_writer(&caller, kind)?;
    if let (Some(path_name), Some(object)) = (&path_name, body.as_object_mut()) {
        match object.get("name") {
            None => _ = object.insert("name".into(), Value::String(path_name.clone())),
            Some(Value::String(name)) if name == path_name => {}
            Some(other) => {
                return Err(ApiError::invalid(
                    "name",
                    "matches path",
                    format!("the body names {other} but the path names '{path_name}'"),
                ));
            }
        }
    }
    let tenant = owner(&state, &caller, kind);
    let catalog = load_catalog(&state, tenant).await?;
    let checked = check_write(kind, &body, &catalog)?;
    let (name, object, warnings) = (checked.entity.name(), &checked.body, &checked.warnings);
    let stored = match path_name {
        None => {
            state
                .store
                .create_entity(tenant, kind, name, object)
                .await?
        }
        Some(_) => state.store.put_entity(tenant, kind, name, object).await?,
    };
    tracing::info!(%kind, name = %stored.name, version = stored.version, "catalog entity written");
    Ok(with_warnings(
        Json(stored.to_json()).into_response(),
        warnings,
    ))
}

pub(crate) async fn delete(
    state: AppState,
    caller: Caller,
    kind: EntityKind,
    name: String,
    version: Option<String>,
) -> Result<StatusCode, ApiError> {
    let version = version.as_deref().map(parse_version).transpose()?;
    // Absent before forbidden: another tenant's entity is not there, whatever the caller's role.
    state
        .store
        .get_entity(owner(&state, &caller, kind), kind, &name, version)
        .await?;
    require_writer(&caller, kind)?;
    state
        .store
        .delete_entity(owner(&state, &caller, kind), kind, &name, version)
        .await?;
    tracing::info!(%kind, %name, ?version, "catalog entity deleted");
    Ok(StatusCode::OK)
}

/// Declares the seven routes of one entity kind with their OpenAPI descriptions.
macro_rules! entity_routes {
    ($module:ident, $kind:expr, $schema:ty, $tag:literal, $list:literal, $one:literal, $versioned:literal) => {
        pub(crate) mod $module {
            use axum::Json;
            use axum::extract::{Path, State};
            use axum::http::StatusCode;
            use axum::response::Response;
            use serde_json::Value;
            use utoipa_axum::router::OpenApiRouter;
            use utoipa_axum::routes;

            use crate::body::JsonBody;
            use crate::{ApiError, AppState, Caller, ErrorBody};

            pub(crate) fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
                router
                    .routes(routes!(list, create))
                    .routes(routes!(get_latest, put, delete_all))
                    .routes(routes!(get_version, delete_version))
            }

            /// List the latest version of each.
            #[utoipa::path(get, path = $list, tag = $tag,
                responses((status = 200, body = Vec<$schema>), (status = 401, body = ErrorBody)))]
            async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<Value>>, ApiError> {
                crate::routes::catalog::list(state, caller, $kind).await
            }

            /// Create version 1; 409 if the name exists.
            #[utoipa::path(post, path = $list, tag = $tag, request_body = $schema,
                responses((status = 200, body = $schema), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
                          (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
            async fn create(State(state): State<AppState>, caller: Caller, JsonBody(body): JsonBody<Value>) -> Result<Response, ApiError> {
                crate::routes::catalog::write(state, caller, $kind, None, body).await
            }

            /// The latest version.
            #[utoipa::path(get, path = $one, tag = $tag, params(("name" = String, Path)),
                responses((status = 200, body = $schema), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
            async fn get_latest(State(state): State<AppState>, caller: Caller, Path(name): Path<String>) -> Result<Json<Value>, ApiError> {
                crate::routes::catalog::get(state, caller, $kind, name, None).await
            }

            /// Write a new version (version 1 if new); the body's name must match the path.
            #[utoipa::path(put, path = $one, tag = $tag, params(("name" = String, Path)), request_body = $schema,
                responses((status = 200, body = $schema), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
                          (status = 403, body = ErrorBody)))]
            async fn put(State(state): State<AppState>, caller: Caller, Path(name): Path<String>, JsonBody(body): JsonBody<Value>) -> Result<Response, ApiError> {
                crate::routes::catalog::write(state, caller, $kind, Some(name), body).await
            }

            /// Delete every version.
            #[utoipa::path(delete, path = $one, tag = $tag, params(("name" = String, Path)),
                responses((status = 200), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
            async fn delete_all(State(state): State<AppState>, caller: Caller, Path(name): Path<String>) -> Result<StatusCode, ApiError> {
                crate::routes::catalog::delete(state, caller, $kind, name, None).await
            }

            /// One version.
            #[utoipa::path(get, path = $versioned, tag = $tag, params(("name" = String, Path), ("version" = i64, Path)),
                responses((status = 200, body = $schema), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
                          (status = 404, body = ErrorBody)))]
            async fn get_version(State(state): State<AppState>, caller: Caller, Path((name, version)): Path<(String, String)>,
                axum::extract::RawQuery(query): axum::extract::RawQuery) -> Result<Response, ApiError> {
                crate::routes::catalog::get_version(state, caller, $kind, name, version, query).await
            }

            /// Delete one version.
            #[utoipa::path(delete, path = $versioned, tag = $tag, params(("name" = String, Path), ("version" = i64, Path)),
                responses((status = 200), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
                          (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
            async fn delete_version(State(state): State<AppState>, caller: Caller, Path((name, version)): Path<(String, String)>) -> Result<StatusCode, ApiError> {
                crate::routes::catalog::delete(state, caller, $kind, name, Some(version)).await
            }
        }
    };
}
pub(crate) use entity_routes;

entity_routes!(
    providers,
    weft_model::EntityKind::Providers,
    weft_model::Provider,
    "providers",
    "/v2/providers",
    "/v2/providers/{name}",
    "/v2/providers/{name}/{version}"
);
entity_routes!(
    hardwaretypes,
    weft_model::EntityKind::Hardwaretypes,
    weft_model::HardwareType,
    "hardwaretypes",
    "/v2/hardwaretypes",
    "/v2/hardwaretypes/{name}",
    "/v2/hardwaretypes/{name}/{version}"
);
entity_routes!(
    imagetypes,
    weft_model::EntityKind::Imagetypes,
    weft_model::ImageType,
    "imagetypes",
    "/v2/imagetypes",
    "/v2/imagetypes/{name}",
    "/v2/imagetypes/{name}/{version}"
);
entity_routes!(
    services,
    weft_model::EntityKind::Services,
    weft_model::Service,
    "services",
    "/v2/services",
    "/v2/services/{name}",
    "/v2/services/{name}/{version}"
);
entity_routes!(
    clustertemplates,
    weft_model::EntityKind::Clustertemplates,
    weft_model::ClusterTemplate,
    "clustertemplates",
    "/v2/clustertemplates",
    "/v2/clustertemplates/{name}",
    "/v2/clustertemplates/{name}/{version}"
);
entity_routes!(
    partialtemplates,
    weft_model::EntityKind::Partialtemplates,
    weft_model::PartialTemplate,
    "partialtemplates",
    "/v2/partialtemplates",
    "/v2/partialtemplates/{name}",
    "/v2/partialtemplates/{name}/{version}"
);

pub(super) fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    let router = providers::routes(router);
    let router = hardwaretypes::routes(router);
    let router = imagetypes::routes(router);
    let router = services::routes(router);
    let router = clustertemplates::routes(router);
    partialtemplates::routes(router)
}
