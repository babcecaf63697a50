//! Clusters. So far the preview: solve and plan a create without creating anything.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use weft_catalog::{Catalog, ResolveError};
use weft_model::{ClusterCreateRequest, ClusterTemplate, EntityKind};
use weft_planner::{ClusterAction, PlanNode, PlanRequest, PlanService};
use weft_solver::{ClusterRequest, Layout, SolveError};

use crate::body::JsonBody;
use crate::catalog_access::load_catalog;
use crate::{ApiError, AppState, Caller, ErrorBody};

pub(super) fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router.routes(routes!(preview))
}

/// Nodes of one hardware type, image type and service set.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct LayoutGroup {
    hardwaretype: String,
    imagetype: String,
    services: Vec<String>,
    count: u32,
}

/// One task of a planned stage; `service` is empty for node-level tasks.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct PlannedTask {
    #[serde(rename = "taskName")]
    task_name: String,
    #[serde(rename = "nodeId")]
    node_id: String,
    service: String,
}

/// What a create would do.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Preview {
    /// Groups of identical nodes, in the solver's preference order.
    layout: Vec<LayoutGroup>,
    /// The create's tasks by stage; node ids are placeholders named by node number.
    stages: Vec<Vec<PlannedTask>>,
    /// Identifies the catalog versions used: a create that passes it fails with 409 if any of
    /// them changed since.
    token: String,
}

/// Solve and plan a cluster create without creating anything.
#[utoipa::path(post, path = "/v2/clusters/preview", tag = "clusters", request_body = ClusterCreateRequest,
    responses((status = 200, body = Preview), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn preview(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<ClusterCreateRequest>,
) -> Result<Json<Preview>, ApiError> {
    weft_catalog::check_name("name", &request.name)?;
    let catalog = load_catalog(&state, &caller.tenant_id).await?;
    let template = resolved_template(&catalog, &request.cluster_template)?;
    let solve_request = ClusterRequest {
        num_machines: request.num_machines,
        provider: request.provider.clone(),
        hardwaretype: request.hardwaretype.clone(),
        imagetype: request.imagetype.clone(),
        services: request.services.clone(),
    };
    let problem = weft_solver::prepare(&template, &solve_request, &catalog).map_err(solve_error)?;
    // the search is CPU work: keep it off the async workers
    let layout = tokio::task::spawn_blocking(move || weft_solver::solve(&problem))
        .await
        .map_err(|e| ApiError::Internal(format!("the solver task failed: {e}")))?
        .map_err(solve_error)?;
    let (nodes, plan_services) = plan_inputs(&layout, &catalog);
    let plan = weft_planner::plan(&PlanRequest {
        action: ClusterAction::Create,
        nodes,
        services: plan_services,
    })
    .map_err(|e| ApiError::Unprocessable {
        error: "the create cannot be planned".into(),
        explanation: e.to_string(),
    })?;
    let stages = plan
        .stages
        .iter()
        .map(|stage| {
            stage
                .iter()
                .map(|&i| {
                    let task = &plan.tasks[i];
                    PlannedTask {
                        task_name: task.kind.as_str().into(),
                        node_id: task.node.clone(),
                        service: task.service.clone().unwrap_or_default(),
                    }
                })
                .collect()
        })
        .collect();
    let token = catalog_token(&catalog, &template, &layout, &request);
    let layout = layout
        .groups
        .into_iter()
        .map(|g| LayoutGroup {
            hardwaretype: g.hardwaretype,
            imagetype: g.imagetype,
            services: g.services,
            count: g.count,
        })
        .collect();
    Ok(Json(Preview {
        layout,
        stages,
        token,
    }))
}

/// The stored template with its parents and partials merged; a template that cannot be resolved
/// is the catalog's problem (422), a missing one the request's (404).
pub(crate) fn resolved_template(
    catalog: &Catalog,
    name: &str,
) -> Result<ClusterTemplate, ApiError> {
    let template = catalog.clustertemplates.get(name).ok_or_else(|| {
        ApiError::NotFound(format!(
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
        ApiError::Unprocessable {
            error: format!("cluster template '{name}' cannot be resolved"),
            explanation,
        }
    })
}

fn solve_error(error: SolveError) -> ApiError {
    match error {
        SolveError::Request(e) => ApiError::Invalid(e),
        SolveError::Missing { field, what } => ApiError::NotFound(format!("{field}: {what}")),
        SolveError::Infeasible(why) => ApiError::Unprocessable {
            error: "no layout satisfies the template".into(),
            explanation: why.explanation,
        },
        e @ SolveError::TooComplex { .. } => ApiError::Unprocessable {
            error: "no layout was found in time".into(),
            explanation: e.to_string(),
        },
    }
}

/// Placeholder nodes for the layout (ids by node number, from 1000) and the planner's view of
/// the services on them.
fn plan_inputs(
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
pub(crate) fn catalog_token(
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
