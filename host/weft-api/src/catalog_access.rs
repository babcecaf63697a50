//! Loading a tenant's catalog snapshot and checking an entity against it before a write.

use serde_json::{Map, Value};
use weft_catalog::{Catalog, Entity};
use weft_model::{EntityKind, FieldError};

use crate::{ApiError, AppState};

/// The latest catalog of `tenant_id` plus the global plugin types and its own plugins' types.
pub(crate) async fn load_catalog(state: &AppState, tenant_id: &str) -> Result<Catalog, ApiError> {
    Ok(weft_engine::load_catalog(&state.store, &state.superadmin_tenant_id, tenant_id).await?)
}

/// An entity that may be written: its body as sent, the typed entity and the warnings.
pub(crate) struct CheckedWrite {
    pub(crate) body: Map<String, Value>,
    pub(crate) entity: Entity,
    pub(crate) warnings: Vec<FieldError>,
}

/// Validates `body` as a `kind` entity and checks its references (and, for a template, that it
/// resolves) against `catalog`.
pub(crate) fn check_write(
    kind: EntityKind,
    body: &Value,
    catalog: &Catalog,
) -> Result<CheckedWrite, ApiError> {
    let entity = weft_catalog::validate(kind, body)?;
    let warnings = catalog.check_references(&entity)?;
    if let Entity::ClusterTemplate(template) = &entity {
        weft_catalog::resolve(template, catalog)?;
    }
    Ok(CheckedWrite {
        body: body.as_object().cloned().unwrap_or_default(),
        entity,
        warnings,
    })
}
