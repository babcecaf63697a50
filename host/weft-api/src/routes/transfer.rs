//! Whole-catalog import and export, and partial-template resolution.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use weft_catalog::{Entity, ResolveError};
use weft_model::{CatalogBundle, ClusterTemplate, EntityKind, FieldError, ImportMode};

use crate::body::JsonBody;
use crate::catalog_access::load_catalog;
use crate::routes::catalog::with_warnings;
use crate::{ApiError, AppState, Caller, ErrorBody};

pub(super) fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(export))
        .routes(routes!(import))
        .routes(routes!(resolve))
}

/// The latest version of every entity of the tenant's catalog, in Coopr's shape.
#[utoipa::path(get, path = "/v2/export", tag = "catalog",
    responses((status = 200, body = CatalogBundle), (status = 401, body = ErrorBody)))]
async fn export(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<CatalogBundle>, ApiError> {
    let mut bundle = CatalogBundle::default();
    for kind in EntityKind::CATALOG {
        let entities = state.store.list_entities(&caller.tenant_id, kind).await?;
        if let Some(slot) = bundle.list_mut(kind) {
            *slot = Some(entities.iter().map(|e| e.to_json()).collect());
        }
    }
    Ok(Json(bundle))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ImportParams {
    /// `replace` (Coopr's import, the default): each listed type is emptied first, history
    /// included. `merge`: each imported entity becomes a new version; others are kept.
    #[param(inline)]
    mode: Option<ImportMode>,
}

/// What an import wrote, and the dangling soft references it found.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ImportReport {
    /// Type → number of entities written.
    #[schema(value_type = Object)]
    pub(crate) imported: Map<String, Value>,
    pub(crate) warnings: Vec<FieldError>,
}

/// Import a catalog in Coopr's shape, all or nothing. Types absent from the body are untouched.
#[utoipa::path(post, path = "/v2/import", tag = "catalog", params(ImportParams), request_body = CatalogBundle,
    responses((status = 200, body = ImportReport), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
async fn import(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<ImportParams>, QueryRejection>,
    JsonBody(bundle): JsonBody<CatalogBundle>,
) -> Result<Json<ImportReport>, ApiError> {
    caller.require_admin("import the catalog")?;
    let Query(params) = params.map_err(|e| {
        ApiError::invalid(
            "mode",
            "allowed value",
            format!("{e}: use 'replace' or 'merge'"),
        )
    })?;
    let mode = params.mode.unwrap_or_default();
    Ok(Json(
        import_catalog(&state, &caller.tenant_id, &bundle, mode).await?,
    ))
}

/// Imports a catalog into a tenant, all or nothing: every entity is validated, then checked
/// against the catalog as it will be, then written in one transaction.
pub(crate) async fn import_catalog(
    state: &AppState,
    tenant_id: &str,
    bundle: &CatalogBundle,
    mode: ImportMode,
) -> Result<ImportReport, ApiError> {
    let mut catalog = load_catalog(state, tenant_id).await?;
    // Per listed kind, its entities parsed, each with the body as sent.
    let mut parsed: Vec<(EntityKind, Vec<Parsed>)> = Vec::new();
    for kind in EntityKind::CATALOG {
        let Some(list) = bundle.list(kind) else {
            continue;
        };
        if mode == ImportMode::Replace {
            catalog.clear(kind);
        }
        let mut names = BTreeSet::new();
        let mut entities = Vec::new();
        for (i, body) in list.iter().enumerate() {
            let at = format!("{kind}[{i}].");
            let entity =
                weft_catalog::validate(kind, body).map_err(|e| ApiError::from(e).within(&at))?;
            if !names.insert(entity.name().to_string()) {
                return Err(ApiError::invalid(
                    format!("{at}name"),
                    "unique",
                    format!("'{}' appears twice in {kind}", entity.name()),
                ));
            }
            entities.push(Parsed {
                entity,
                body: body.as_object().cloned().unwrap_or_default(),
            });
        }
        for parsed in &entities {
            catalog.insert(parsed.entity.clone());
        }
        parsed.push((kind, entities));
    }
    // References are checked once everything imported is in the snapshot, so order in the body
    // does not matter.
    let mut warnings = Vec::new();
    for (kind, entities) in &parsed {
        for (i, Parsed { entity, .. }) in entities.iter().enumerate() {
            let at = format!("{kind}[{i}].");
            let found = catalog
                .check_references(entity)
                .map_err(|e| ApiError::from(e).within(&at))?;
            warnings.extend(found.into_iter().map(|mut w| {
                w.field = format!("{at}{}", w.field);
                w
            }));
            if let Entity::ClusterTemplate(template) = entity {
                weft_catalog::resolve(template, &catalog)
                    .map_err(|e| ApiError::from(e).within(&at))?;
            }
        }
    }
    let lists: Vec<(EntityKind, Vec<weft_store::NamedBody>)> = parsed
        .into_iter()
        .map(|(kind, entities)| {
            (
                kind,
                entities
                    .into_iter()
                    .map(|p| (p.entity.name().to_string(), p.body))
                    .collect(),
            )
        })
        .collect();
    state.store.import_entities(tenant_id, &lists, mode).await?;
    let imported: Map<String, Value> = lists
        .iter()
        .map(|(kind, list)| (kind.to_string(), Value::from(list.len())))
        .collect();
    tracing::info!(
        ?mode,
        ?imported,
        warnings = warnings.len(),
        "catalog imported"
    );
    Ok(ImportReport { imported, warnings })
}

struct Parsed {
    entity: Entity,
    body: Map<String, Value>,
}

/// Merge a template's parent and partials into the template clusters are created from.
/// A missing parent or partial is 404; a broken rule (immutability, no default services or
/// provider) is 400.
#[utoipa::path(post, path = "/v2/resolve", tag = "catalog", request_body = ClusterTemplate,
    responses((status = 200, body = ClusterTemplate), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
async fn resolve(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<Value>,
) -> Result<Response, ApiError> {
    let Entity::ClusterTemplate(template) =
        weft_catalog::validate(EntityKind::Clustertemplates, &body)?
    else {
        return Err(ApiError::Internal("validate returned another kind".into()));
    };
    let catalog = load_catalog(&state, &caller.tenant_id).await?;
    let warnings = catalog
        .check_references(&Entity::ClusterTemplate(template.clone()))
        .or_else(|e| {
            // a dangling parent or partial is reported by resolve below as 404
            if e.field.starts_with("extends") || e.field.starts_with("includes") {
                Ok(Vec::new())
            } else {
                Err(e)
            }
        })?;
    match weft_catalog::resolve_checked(&template, &catalog) {
        Ok(resolved) => Ok(with_warnings(Json(resolved).into_response(), &warnings)),
        Err(ResolveError::Missing { kind, name, field }) => Err(ApiError::NotFound(format!(
            "{field}: {} '{name}' does not exist",
            kind.noun()
        ))),
        Err(ResolveError::Invalid(e)) => Err(ApiError::Invalid(e)),
    }
}
