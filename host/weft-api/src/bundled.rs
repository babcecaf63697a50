//! What a server loads at start with `weft server --bundled`: plugin components registered as
//! global plugins with the grants they request approved (the operator's flag is the approval),
//! and a catalog imported into the superadmin tenant. Loading again changes nothing unless the
//! bundle changed: a component already registered at its digest is skipped, and only entities
//! whose body differs from the stored latest version become new versions.

use std::collections::BTreeSet;

use weft_model::{CatalogBundle, EntityKind, ImportMode};

use crate::routes::plugins::register_component;
use crate::routes::transfer::import_catalog;
use crate::{ApiError, AppState};

/// What a load changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BundledReport {
    /// Plugins registered now, as `name@version`.
    pub registered: Vec<String>,
    /// Catalog entities written now, as `kind/name`.
    pub imported: Vec<String>,
}

/// Registers `components` globally and imports `catalog` into the superadmin tenant, as the
/// user `user` of that tenant.
pub async fn load(
    state: &AppState,
    user: &str,
    components: &[&[u8]],
    catalog: &CatalogBundle,
) -> Result<BundledReport, ApiError> {
    let tenant = state.superadmin_tenant_id.clone();
    let mut report = BundledReport::default();
    let known: BTreeSet<String> = state
        .store
        .list_plugins(&tenant)
        .await?
        .into_iter()
        .map(|record| record.digest)
        .collect();
    for component in components {
        // the registry names a component by its SHA-256, as the runtime computes it
        if known.contains(&weft_auth::sha256_hex(component)) {
            continue;
        }
        let record = register_component(state, &tenant, user, component.to_vec(), true).await?;
        tracing::info!(plugin = %record.name, version = record.version, "bundled plugin registered");
        report
            .registered
            .push(format!("{}@{}", record.name, record.version));
    }

    let mut changed = CatalogBundle::default();
    for kind in EntityKind::CATALOG {
        let Some(list) = catalog.list(kind) else {
            continue;
        };
        let stored = state.store.list_entities(&tenant, kind).await?;
        let fresh: Vec<serde_json::Value> = list
            .iter()
            .filter(|body| {
                let name = body.get("name").and_then(|n| n.as_str()).unwrap_or("");
                !stored
                    .iter()
                    .any(|s| s.name == name && Some(&s.body) == body.as_object())
            })
            .cloned()
            .collect();
        if fresh.is_empty() {
            continue;
        }
        report.imported.extend(fresh.iter().map(|body| {
            format!(
                "{kind}/{}",
                body.get("name").and_then(|n| n.as_str()).unwrap_or("?")
            )
        }));
        if let Some(slot) = changed.list_mut(kind) {
            *slot = Some(fresh);
        }
    }
    if !report.imported.is_empty() {
        import_catalog(state, &tenant, &changed, ImportMode::Merge).await?;
        tracing::info!(entities = report.imported.len(), "bundled catalog imported");
    }
    Ok(report)
}
