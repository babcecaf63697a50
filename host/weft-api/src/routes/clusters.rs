//! Clusters. So far the preview: solve and plan a create without creating anything.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use weft_engine::{catalog_token, plan_inputs};
use weft_model::ClusterCreateRequest;
use weft_planner::{ClusterAction, PlanRequest};
use weft_solver::{ClusterRequest, SolveError};

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
    let template = weft_engine::resolved_template(&catalog, &request.cluster_template)?;
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
