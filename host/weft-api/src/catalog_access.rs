//! Loading a tenant's catalog snapshot and checking an entity against it before a write.

use serde_json::{Map, Value};
use weft_catalog::{Catalog, Entity};
use weft_model::{EntityKind, FieldError};

use crate::{ApiError, AppState};

/// The latest catalog of `tenant_id` plus the global plugin types and its own plugins' types.
pub(crate) async fn load_catalog(state: &AppState, tenant_id: &str) -> Result<Catalog, ApiError> {
    let mut catalog = Catalog::default();
    let sources = EntityKind::CATALOG
        .iter()
        .map(|kind| (tenant_id, *kind))
        .chain(
            [EntityKind::Providertypes, EntityKind::Automatortypes]
                .map(|kind| (state.superadmin_tenant_id.as_str(), kind)),
        )
        // the types of the tenant's own registered plugins
        .chain(
            [EntityKind::Providertypes, EntityKind::Automatortypes]
                .into_iter()
                .filter(|_| tenant_id != state.superadmin_tenant_id)
                .map(|kind| (tenant_id, kind)),
        );
    for (tenant, kind) in sources {
        for stored in state.store.list_entities(tenant, kind).await? {
            match weft_catalog::validate(kind, &stored.to_json()) {
                Ok(entity) => catalog.insert(entity),
                // Written under older rules: keep serving, but say so; references to it dangle.
                Err(error) => {
                    tracing::warn!(%kind, name = %stored.name, %error, "stored entity no longer validates")
                }
            }
        }
    }
    Ok(catalog)
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
