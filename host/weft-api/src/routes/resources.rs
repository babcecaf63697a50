//! Plugin resources (tenant admin), at Coopr's paths: upload, versions, stage, recall, delete
//! and sync (coopr-notes §1.15). A resource belongs to a plugin type the tenant can use and to
//! one of the resource types its spec declares. Tasks get the live versions (active or
//! recalled); `POST /v2/plugins/sync` makes staged versions active and recalled ones inactive,
//! and tasks taken after it see the new set.
//!
//! `GET /v2/plugins/{types}/{plugin}/{resourceType}` shares its path shape with a plugin type's
//! version (`.../{name}/{version}`): the catalog route answers a number as a version and hands
//! anything else here.

use std::collections::BTreeMap;

use axum::Json;
use axum::response::{IntoResponse, Response};
use weft_model::{EntityKind, PluginKind, ResourceMeta, ResourceStatus};
use weft_store::ResourceScope;

use crate::routes::parse_version;
use crate::{ApiError, AppState, Caller};

/// The collection name of a plugin kind in resource paths.
fn collection(kind: PluginKind) -> &'static str {
    match kind {
        PluginKind::Provider => "providertypes",
        PluginKind::Automator => "automatortypes",
    }
}

/// Checks that the plugin type (the tenant's own or a global one) declares `resource_type`,
/// that the resource `name` exists in the caller's tenant when one is named, and only then that
/// the caller may manage resources: what another tenant has is absent, not forbidden.
async fn checked_scope<'a>(
    state: &AppState,
    caller: &'a Caller,
    kind: PluginKind,
    plugin: &'a str,
    resource_type: &'a str,
    name: Option<&str>,
) -> Result<Checked<'a>, ApiError> {
    let entity_kind = match kind {
        PluginKind::Provider => EntityKind::Providertypes,
        PluginKind::Automator => EntityKind::Automatortypes,
    };
    let mut spec = None;
    for owner in [
        caller.tenant_id.as_str(),
        state.superadmin_tenant_id.as_str(),
    ] {
        if let Ok(found) = state
            .store
            .get_entity(owner, entity_kind, plugin, None)
            .await
        {
            spec = Some(found);
            break;
        }
    }
    let spec = spec.ok_or_else(|| {
        ApiError::NotFound(format!("{} '{plugin}' does not exist", entity_kind.noun()))
    })?;
    let types = spec.body.get("resourceTypes").and_then(|v| v.as_object());
    let declared: Vec<String> = types
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let Some(declared_type) = types.and_then(|m| m.get(resource_type)) else {
        return Err(ApiError::NotFound(format!(
            "{} '{plugin}' has no resource type '{resource_type}' (it has: {})",
            entity_kind.noun(),
            if declared.is_empty() {
                "none".to_string()
            } else {
                declared.join(", ")
            }
        )));
    };
    let archive = declared_type.get("format").and_then(|f| f.as_str()) == Some("archive");
    let scope = ResourceScope {
        tenant_id: &caller.tenant_id,
        kind,
        plugin,
        resource_type,
    };
    if let Some(name) = name {
        state.store.resource_versions(scope, name).await?;
    }
    caller.require_admin("manage plugin resources")?;
    Ok(Checked { scope, archive })
}

/// A resource scope the caller may manage, and whether its type holds archives.
struct Checked<'a> {
    scope: ResourceScope<'a>,
    archive: bool,
}

/// `?status=active,staged`: the statuses to keep.
fn status_filter(query: Option<&str>) -> Result<Option<Vec<ResourceStatus>>, ApiError> {
    let Some(query) = query else {
        return Ok(None);
    };
    let mut keep = None;
    for (key, value) in query.split('&').filter_map(|p| p.split_once('=')) {
        if key != "status" {
            return Err(ApiError::invalid(
                key,
                "known parameter",
                format!("'{key}' is not a parameter here (only 'status')"),
            ));
        }
        let mut statuses = Vec::new();
        for part in value.split(',').filter(|s| !s.is_empty()) {
            statuses.push(ResourceStatus::parse(part).ok_or_else(|| {
                ApiError::invalid(
                    "status",
                    "inactive, staged, active or recalled",
                    format!("'{part}' is not a resource status"),
                )
            })?);
        }
        keep = Some(statuses);
    }
    Ok(keep)
}

/// `GET /v2/plugins/{types}/{plugin}/{resourceType}`: every resource of the type by name, with
/// its versions, filtered by `?status=`.
pub(crate) async fn list(
    state: AppState,
    caller: Caller,
    kind: PluginKind,
    plugin: String,
    resource_type: String,
    query: Option<String>,
) -> Result<Response, ApiError> {
    let scope = checked_scope(&state, &caller, kind, &plugin, &resource_type, None)
        .await?
        .scope;
    let statuses = status_filter(query.as_deref())?;
    let listed: BTreeMap<String, Vec<ResourceMeta>> = state
        .store
        .list_resources(scope, statuses.as_deref())
        .await?;
    Ok(Json(listed).into_response())
}

macro_rules! resource_routes {
    ($module:ident, $kind:expr, $one:literal, $version:literal, $stage:literal, $recall:literal) => {
        pub(crate) mod $module {
            use axum::Json;
            use axum::body::Bytes;
            use axum::extract::{Path, State};
            use axum::http::StatusCode;
            use utoipa_axum::router::OpenApiRouter;
            use utoipa_axum::routes;
            use weft_model::ResourceMeta;

            use crate::{ApiError, AppState, Caller, ErrorBody};

            pub(crate) fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
                router
                    .routes(routes!(upload, versions, delete_all))
                    .routes(routes!(delete_version))
                    .routes(routes!(stage))
                    .routes(routes!(recall))
            }

            /// Upload the bytes as a new, inactive version of the resource.
            #[utoipa::path(post, path = $one, tag = "plugin resources",
                params(("plugin" = String, Path), ("resourceType" = String, Path), ("name" = String, Path)),
                request_body(content = Vec<u8>, content_type = "application/octet-stream"),
                responses((status = 200, body = ResourceMeta), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
                          (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
            async fn upload(State(state): State<AppState>, caller: Caller,
                Path((plugin, resource_type, name)): Path<(String, String, String)>, body: Bytes,
            ) -> Result<Json<ResourceMeta>, ApiError> {
                super::upload(state, caller, $kind, plugin, resource_type, name, body).await
            }

            /// Every version of one resource, oldest first.
            #[utoipa::path(get, path = $one, tag = "plugin resources",
                params(("plugin" = String, Path), ("resourceType" = String, Path), ("name" = String, Path)),
                responses((status = 200, body = Vec<ResourceMeta>), (status = 401, body = ErrorBody),
                          (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
            async fn versions(State(state): State<AppState>, caller: Caller,
                Path((plugin, resource_type, name)): Path<(String, String, String)>,
            ) -> Result<Json<Vec<ResourceMeta>>, ApiError> {
                super::versions(state, caller, $kind, plugin, resource_type, name).await
            }

            /// Delete every version of the resource.
            #[utoipa::path(delete, path = $one, tag = "plugin resources",
                params(("plugin" = String, Path), ("resourceType" = String, Path), ("name" = String, Path)),
                responses((status = 200), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
            async fn delete_all(State(state): State<AppState>, caller: Caller,
                Path((plugin, resource_type, name)): Path<(String, String, String)>,
            ) -> Result<StatusCode, ApiError> {
                super::delete(state, caller, $kind, plugin, resource_type, name, None).await
            }

            /// Delete one version.
            #[utoipa::path(delete, path = $version, tag = "plugin resources",
                params(("plugin" = String, Path), ("resourceType" = String, Path), ("name" = String, Path), ("version" = i64, Path)),
                responses((status = 200), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
                          (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
            async fn delete_version(State(state): State<AppState>, caller: Caller,
                Path((plugin, resource_type, name, version)): Path<(String, String, String, String)>,
            ) -> Result<StatusCode, ApiError> {
                super::delete(state, caller, $kind, plugin, resource_type, name, Some(version)).await
            }

            /// Stage a version: it becomes live at the next sync (a recalled one is live again at once).
            #[utoipa::path(post, path = $stage, tag = "plugin resources",
                params(("plugin" = String, Path), ("resourceType" = String, Path), ("name" = String, Path), ("version" = i64, Path)),
                responses((status = 200, body = Vec<ResourceMeta>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
                          (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
            async fn stage(State(state): State<AppState>, caller: Caller,
                Path((plugin, resource_type, name, version)): Path<(String, String, String, String)>,
            ) -> Result<Json<Vec<ResourceMeta>>, ApiError> {
                super::change(state, caller, $kind, plugin, resource_type, name, version, true).await
            }

            /// Recall a version: it stops being live at the next sync.
            #[utoipa::path(post, path = $recall, tag = "plugin resources",
                params(("plugin" = String, Path), ("resourceType" = String, Path), ("name" = String, Path), ("version" = i64, Path)),
                responses((status = 200, body = Vec<ResourceMeta>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
                          (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
            async fn recall(State(state): State<AppState>, caller: Caller,
                Path((plugin, resource_type, name, version)): Path<(String, String, String, String)>,
            ) -> Result<Json<Vec<ResourceMeta>>, ApiError> {
                super::change(state, caller, $kind, plugin, resource_type, name, version, false).await
            }
        }
    };
}

resource_routes!(
    provider_resources,
    weft_model::PluginKind::Provider,
    "/v2/plugins/providertypes/{plugin}/{resourceType}/{name}",
    "/v2/plugins/providertypes/{plugin}/{resourceType}/{name}/versions/{version}",
    "/v2/plugins/providertypes/{plugin}/{resourceType}/{name}/versions/{version}/stage",
    "/v2/plugins/providertypes/{plugin}/{resourceType}/{name}/versions/{version}/recall"
);
resource_routes!(
    automator_resources,
    weft_model::PluginKind::Automator,
    "/v2/plugins/automatortypes/{plugin}/{resourceType}/{name}",
    "/v2/plugins/automatortypes/{plugin}/{resourceType}/{name}/versions/{version}",
    "/v2/plugins/automatortypes/{plugin}/{resourceType}/{name}/versions/{version}/stage",
    "/v2/plugins/automatortypes/{plugin}/{resourceType}/{name}/versions/{version}/recall"
);

pub(super) fn routes(
    router: utoipa_axum::router::OpenApiRouter<AppState>,
) -> utoipa_axum::router::OpenApiRouter<AppState> {
    let router = provider_resources::routes(router);
    let router = automator_resources::routes(router);
    router.routes(utoipa_axum::routes!(sync))
}

/// The largest resource accepted.
const MAX_RESOURCE_BYTES: usize = 32 * 1024 * 1024;

async fn upload(
    state: AppState,
    caller: Caller,
    kind: PluginKind,
    plugin: String,
    resource_type: String,
    name: String,
    body: axum::body::Bytes,
) -> Result<Json<ResourceMeta>, ApiError> {
    let checked = checked_scope(&state, &caller, kind, &plugin, &resource_type, None).await?;
    let scope = checked.scope;
    weft_catalog::check_name("name", &name)?;
    if name.chars().all(|c| c == '.') {
        return Err(ApiError::invalid(
            "name",
            "file name",
            format!("'{name}' names a folder, not a file"),
        ));
    }
    if body.is_empty() {
        return Err(ApiError::invalid(
            "body",
            "not empty",
            "the upload is empty: send the resource's bytes as the body",
        ));
    }
    if body.len() > MAX_RESOURCE_BYTES {
        return Err(ApiError::invalid(
            "body",
            "size",
            format!(
                "the upload is {} bytes; a resource may have at most {MAX_RESOURCE_BYTES}",
                body.len()
            ),
        ));
    }
    if checked.archive {
        check_archive(&name, &body)?;
    }
    let digest = weft_auth::sha256_hex(&body);
    let meta = state
        .store
        .upload_resource(scope, &name, &body, &digest, &caller.user)
        .await?;
    tracing::info!(plugin = %plugin, kind = collection(kind), resource_type = %resource_type,
        name = %name, version = meta.version, bytes = body.len(), "plugin resource uploaded");
    Ok(Json(meta))
}

async fn versions(
    state: AppState,
    caller: Caller,
    kind: PluginKind,
    plugin: String,
    resource_type: String,
    name: String,
) -> Result<Json<Vec<ResourceMeta>>, ApiError> {
    let scope = checked_scope(&state, &caller, kind, &plugin, &resource_type, Some(&name))
        .await?
        .scope;
    Ok(Json(state.store.resource_versions(scope, &name).await?))
}

async fn delete(
    state: AppState,
    caller: Caller,
    kind: PluginKind,
    plugin: String,
    resource_type: String,
    name: String,
    version: Option<String>,
) -> Result<axum::http::StatusCode, ApiError> {
    let scope = checked_scope(&state, &caller, kind, &plugin, &resource_type, Some(&name))
        .await?
        .scope;
    let version = version.as_deref().map(parse_version).transpose()?;
    state.store.delete_resource(scope, &name, version).await?;
    Ok(axum::http::StatusCode::OK)
}

#[allow(clippy::too_many_arguments)]
async fn change(
    state: AppState,
    caller: Caller,
    kind: PluginKind,
    plugin: String,
    resource_type: String,
    name: String,
    version: String,
    stage: bool,
) -> Result<Json<Vec<ResourceMeta>>, ApiError> {
    let scope = checked_scope(&state, &caller, kind, &plugin, &resource_type, Some(&name))
        .await?
        .scope;
    let version = parse_version(&version)?;
    Ok(Json(
        state
            .store
            .change_resource(scope, &name, version, stage)
            .await?,
    ))
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
struct SyncReport {
    /// Versions whose status changed.
    changed: u64,
}

/// Make staged versions active and recalled ones inactive in the caller's tenant; tasks taken
/// from now on get the new set, tasks already running keep theirs.
#[utoipa::path(post, path = "/v2/plugins/sync", tag = "plugin resources",
    responses((status = 200, body = SyncReport), (status = 401, body = crate::ErrorBody), (status = 403, body = crate::ErrorBody)))]
async fn sync(
    axum::extract::State(state): axum::extract::State<AppState>,
    caller: Caller,
) -> Result<Json<SyncReport>, ApiError> {
    caller.require_admin("sync plugin resources")?;
    let changed = state.store.sync_resources(&caller.tenant_id).await?;
    tracing::info!(tenant = %caller.tenant_name, changed, "plugin resources synced");
    Ok(Json(SyncReport { changed }))
}

/// How much an archive may unpack to.
const MAX_UNPACKED_BYTES: u64 = 1 << 30;

/// Coopr's rule for archives: a tar (gzip-compressed or not) whose every entry sits under one
/// top-level folder named like the resource (its name without `.tar.gz`, `.tgz` or `.tar`),
/// none leaving it, unpacking to at most 1 GiB.
fn check_archive(name: &str, bytes: &[u8]) -> Result<(), ApiError> {
    use std::path::Component;
    let folder = [".tar.gz", ".tgz", ".tar"]
        .iter()
        .find_map(|ext| name.strip_suffix(ext))
        .unwrap_or(name);
    let refuse = |message: String| ApiError::invalid("body", "archive layout", message);
    let unreadable =
        |e: std::io::Error| refuse(format!("the upload is not a tar or tar.gz archive ({e})"));
    let reader: Box<dyn std::io::Read + '_> = if bytes.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::GzDecoder::new(bytes))
    } else {
        Box::new(bytes)
    };
    let mut archive = tar::Archive::new(reader);
    let mut count = 0u64;
    let mut unpacked = 0u64;
    for entry in archive.entries().map_err(unreadable)? {
        let entry = entry.map_err(unreadable)?;
        unpacked = unpacked.saturating_add(entry.size());
        if unpacked > MAX_UNPACKED_BYTES {
            return Err(refuse(format!(
                "the archive unpacks to more than {MAX_UNPACKED_BYTES} bytes"
            )));
        }
        let path = entry.path().map_err(unreadable)?.into_owned();
        let shown = path.display().to_string();
        if path.components().any(|c| {
            matches!(
                c,
                Component::ParentDir | Component::RootDir | Component::Prefix(_)
            )
        }) {
            return Err(refuse(format!(
                "entry '{shown}' leaves the archive's folder"
            )));
        }
        let first = path.components().find(|c| !matches!(c, Component::CurDir));
        if !matches!(first, Some(Component::Normal(top)) if top == folder) {
            return Err(refuse(format!(
                "entry '{shown}' is not under the folder '{folder}/': an archive must unpack to one folder named like the resource"
            )));
        }
        count += 1;
    }
    if count == 0 {
        return Err(refuse("the archive is empty".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_archive;

    fn tar_gz(paths: &[&str]) -> Vec<u8> {
        let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut builder = tar::Builder::new(encoder);
        for path in paths {
            let data = b"echo hi\n";
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder
                .append_data(&mut header, path, &data[..])
                .expect("append");
        }
        builder
            .into_inner()
            .and_then(|e| e.finish())
            .expect("finish")
    }

    fn field(result: Result<(), crate::ApiError>) -> Option<String> {
        match result {
            Ok(()) => None,
            Err(crate::ApiError::Invalid(e)) => Some(format!("{}: {}", e.field, e.message)),
            Err(other) => Some(format!("{other:?}")),
        }
    }

    #[test]
    fn archives_must_unpack_to_a_folder_named_like_the_resource() {
        let good = tar_gz(&["tools/run.sh", "tools/lib/a.sh"]);
        assert_eq!(field(check_archive("tools", &good)), None);
        assert_eq!(field(check_archive("tools.tar.gz", &good)), None);
        let other = field(check_archive("other.tgz", &good)).unwrap_or_default();
        assert!(
            other.starts_with("body: entry 'tools/run.sh' is not under the folder 'other/'"),
            "{other}"
        );
        let loose = tar_gz(&["tools/run.sh", "README"]);
        assert!(field(check_archive("tools", &loose)).is_some());
        let junk = field(check_archive("tools", b"not an archive")).unwrap_or_default();
        assert!(junk.contains("not a tar"), "{junk}");
    }
}
