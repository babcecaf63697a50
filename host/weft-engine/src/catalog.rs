//! A tenant's catalog snapshot, template resolution, the preview token and the planner's
//! inputs for a solved layout.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};
use weft_catalog::{Catalog, ResolveError};
use weft_model::{ClusterCreateRequest, ClusterTemplate, EntityKind};
use weft_planner::{PlanNode, PlanService};
use weft_solver::{Layout, SolveError};
use weft_store::Store;

use crate::EngineError;

/// The latest catalog of `tenant_id` plus the global plugin types and its own plugins' types.
pub async fn load_catalog(
    store: &Store,
    superadmin_tenant_id: &str,
    tenant_id: &str,
) -> Result<Catalog, EngineError> {
    let mut catalog = Catalog::default();
    let sources = EntityKind::CATALOG
        .iter()
        .map(|kind| (tenant_id, *kind))
        .chain(
            [EntityKind::Providertypes, EntityKind::Automatortypes]
                .map(|kind| (superadmin_tenant_id, kind)),
        )
        // the types of the tenant's own registered plugins
        .chain(
            [EntityKind::Providertypes, EntityKind::Automatortypes]
                .into_iter()
                .filter(|_| tenant_id != superadmin_tenant_id)
                .map(|kind| (tenant_id, kind)),
        );
    for (tenant, kind) in sources {
        for stored in store.list_entities(tenant, kind).await? {
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

/// The stored template with its parents and partials merged; a template that cannot be resolved
/// is the catalog's problem (422), a missing one the request's (404).
pub fn resolved_template(catalog: &Catalog, name: &str) -> Result<ClusterTemplate, EngineError> {
    let template = catalog.clustertemplates.get(name).ok_or_else(|| {
        EngineError::NotFound(format!(
            "clusterTemplate: cluster template '{name}' does not exist"
        ))
    })?;
    weft_catalog::resolve_checked(template, catalog).map_err(|e| {
        let explanation = match e {
            ResolveError::Missing { kind, name, field } => {
                format!("{field}: {} '{name}' does not exist", kind.noun())
            }
            ResolveError::Invalid(e) => e.to_string(),
        };
        EngineError::Unprocessable {
            error: format!("cluster template '{name}' cannot be resolved"),
            explanation,
        }
    })
}

/// A solver error as the engine reports it.
pub(crate) fn solve_error(error: SolveError) -> EngineError {
    match error {
        SolveError::Request(e) => EngineError::Invalid(e),
        SolveError::Missing { field, what } => EngineError::NotFound(format!("{field}: {what}")),
        SolveError::Infeasible(why) => EngineError::Unprocessable {
            error: "no layout satisfies the template".into(),
            explanation: why.explanation,
        },
        e @ SolveError::TooComplex { .. } => EngineError::Unprocessable {
            error: "no layout was found in time".into(),
            explanation: e.to_string(),
        },
    }
}

/// Placeholder nodes for the layout (ids by node number, from 1000) and the planner's view of
/// the services on them.
pub fn plan_inputs(
    layout: &Layout,
    catalog: &Catalog,
) -> (Vec<PlanNode>, BTreeMap<String, PlanService>) {
    let mut nodes = Vec::new();
    let mut number = 1000;
    for group in &layout.groups {
        for _ in 0..group.count {
            nodes.push(PlanNode {
                id: format!("node-{number}"),
                services: group.services.clone(),
            });
            number += 1;
        }
    }
    let services = layout
        .groups
        .iter()
        .flat_map(|g| g.services.iter())
        .filter_map(|name| catalog.services.get(name))
        .map(|service| (service.name.clone(), PlanService::from_service(service)))
        .collect();
    (nodes, services)
}

/// A digest of every catalog entity the result depends on: the template and the templates and
/// partials it merges, the provider, the hardware and image types, and the cluster's services.
pub fn catalog_token(
    catalog: &Catalog,
    template: &ClusterTemplate,
    layout: &Layout,
    request: &ClusterCreateRequest,
) -> String {
    let mut used: Vec<String> = Vec::new();
    let mut mark = |kind: EntityKind, name: &str, version: Option<i64>| {
        used.push(format!("{kind}/{name}@{}", version.unwrap_or(0)))
    };
    let mut pending = vec![request.cluster_template.clone()];
    while let Some(name) = pending.pop() {
        if let Some(t) = catalog.clustertemplates.get(&name) {
            mark(EntityKind::Clustertemplates, &t.name, t.version);
            pending.extend(t.extends.iter().map(|p| p.name.clone()));
            for include in &t.includes {
                let version = catalog
                    .partialtemplates
                    .get(&include.name)
                    .and_then(|p| p.version);
                mark(EntityKind::Partialtemplates, &include.name, version);
            }
        }
    }
    let provider = request
        .provider
        .clone()
        .or_else(|| template.defaults.provider.clone())
        .unwrap_or_default();
    mark(
        EntityKind::Providers,
        &provider,
        catalog.providers.get(&provider).and_then(|p| p.version),
    );
    for (name, h) in &catalog.hardwaretypes {
        mark(EntityKind::Hardwaretypes, name, h.version);
    }
    for (name, i) in &catalog.imagetypes {
        mark(EntityKind::Imagetypes, name, i.version);
    }
    for group in &layout.groups {
        for service in &group.services {
            mark(
                EntityKind::Services,
                service,
                catalog.services.get(service).and_then(|s| s.version),
            );
        }
    }
    used.sort();
    used.dedup();
    let digest = Sha256::digest(used.join("\n").as_bytes());
    format!(
        "v1.{}",
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}
