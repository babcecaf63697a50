//! Clusters (Coopr v2 paths, coopr-notes §2.1): create, list, details, status, plans, config,
//! services and their actions, nodes, lease, pause, resume, abort, task logs (also as
//! server-sent events). A plain user sees only their own clusters; an admin sees the tenant's;
//! another tenant's are absent (404).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use weft_engine::{ClusterBody, ClusterOp, JobBody, LeaseChange, NodeBody};
use weft_model::{ClusterCreateRequest, ClusterStatus, NodeAction, NodeProperties, TaskStatus};
use weft_store::ClusterRow;

use crate::body::{JsonBody, parse};
use crate::{ApiError, AppState, Caller, ErrorBody};

pub(super) fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(list, create))
        .routes(routes!(details, delete, lease))
        .routes(routes!(status))
        .routes(routes!(events))
        .routes(routes!(plans))
        .routes(routes!(plan))
        .routes(routes!(get_config, put_config))
        .routes(routes!(services, add_services))
        .routes(routes!(all_services_action, remove_service))
        .routes(routes!(service_action))
        .routes(routes!(add_nodes))
        .routes(routes!(pause))
        .routes(routes!(resume))
        .routes(routes!(abort))
        .routes(routes!(task_log))
        .routes(routes!(task_log_stream))
        .routes(routes!(list_nodes))
        .routes(routes!(node))
}

/// Which clusters the caller may see: all of the tenant for admins, their own otherwise.
fn owner_filter(caller: &Caller) -> Option<&str> {
    if caller.is_admin() {
        None
    } else {
        Some(caller.user.as_str())
    }
}

/// The cluster `id` if the caller may see it; 404 otherwise.
async fn visible(state: &AppState, caller: &Caller, id: &str) -> Result<ClusterRow, ApiError> {
    Ok(state
        .engine
        .visible_cluster(&caller.tenant_id, owner_filter(caller), id)
        .await?)
}

/// Progress of the cluster's latest job.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Progress {
    action: String,
    actionstatus: String,
    stepstotal: usize,
    stepscompleted: usize,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct ClusterSummary {
    id: String,
    name: String,
    description: Option<String>,
    owner_id: String,
    create_time: i64,
    expire_time: i64,
    num_nodes: i64,
    status: String,
    #[schema(value_type = Object)]
    provider: Value,
    #[schema(value_type = Object)]
    cluster_template: Value,
    services: Vec<String>,
    latest_job_id: Option<String>,
    progress: Option<Progress>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct NodeView {
    id: String,
    cluster_id: String,
    properties: NodeProperties,
    #[schema(value_type = Object)]
    provisioner_results: Map<String, Value>,
    actions: Vec<NodeAction>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct ClusterDetails {
    #[serde(flatten)]
    summary: ClusterSummary,
    nodes: Vec<NodeView>,
    /// The template's and services' links, macros expanded.
    links: Vec<LinkView>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct LinkView {
    label: String,
    url: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Created {
    id: String,
    #[serde(rename = "jobId")]
    job_id: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct JobStarted {
    #[serde(rename = "jobId", skip_serializing_if = "Option::is_none")]
    job_id: Option<String>,
}

fn cluster_body(row: &ClusterRow) -> Result<ClusterBody, ApiError> {
    serde_json::from_str(&row.body)
        .map_err(|e| ApiError::Internal(format!("cluster {} body: {e}", row.id)))
}

/// The provider copy without sensitive values (the engine keeps those sealed anyway).
fn provider_view(body: &ClusterBody) -> Value {
    serde_json::json!({"name": body.provider.name, "providertype": body.provider.providertype})
}

async fn progress(state: &AppState, row: &ClusterRow) -> Result<Option<Progress>, ApiError> {
    let Some(job_id) = &row.latest_job_id else {
        return Ok(None);
    };
    let Some(job) = state.store.get_job(&row.tenant_id, job_id).await? else {
        return Ok(None);
    };
    let tasks = state.store.job_tasks(job_id).await?;
    let counted: Vec<_> = tasks
        .iter()
        .filter(|t| t.status != TaskStatus::Replaced.as_str())
        .collect();
    Ok(Some(Progress {
        action: job.action,
        actionstatus: job.status,
        stepstotal: counted.len(),
        stepscompleted: counted
            .iter()
            .filter(|t| t.status == TaskStatus::Complete.as_str())
            .count(),
    }))
}

async fn summary(state: &AppState, row: &ClusterRow) -> Result<ClusterSummary, ApiError> {
    let body = cluster_body(row)?;
    Ok(ClusterSummary {
        id: row.id.clone(),
        name: row.name.clone(),
        description: body.description.clone(),
        owner_id: row.owner.clone(),
        create_time: row.create_time,
        expire_time: row.expire_time,
        num_nodes: row.node_count,
        status: row.status.clone(),
        provider: provider_view(&body),
        cluster_template: serde_json::json!({"name": body.cluster_template.name}),
        services: body.services.clone(),
        latest_job_id: row.latest_job_id.clone(),
        progress: progress(state, row).await?,
        message: row.message.clone(),
    })
}

async fn node_view(state: &AppState, node: &weft_store::NodeRow) -> Result<NodeView, ApiError> {
    let body: NodeBody = serde_json::from_str(&node.body)
        .map_err(|e| ApiError::Internal(format!("node {} body: {e}", node.id)))?;
    let actions = state
        .store
        .node_actions(&node.id)
        .await?
        .into_iter()
        .map(|a| NodeAction {
            task_id: a.task_id,
            attempt: a.attempt as u32,
            service: a.service,
            action: a.action,
            submit_time: a.submit_time,
            status_time: a.status_time,
            status: TaskStatus::parse(&a.status).unwrap_or(TaskStatus::Failed),
            stdout: a.stdout,
            stderr: a.stderr,
        })
        .collect::<Vec<_>>();
    // Coopr keeps the last 200
    let skip = actions.len().saturating_sub(200);
    Ok(NodeView {
        id: node.id.clone(),
        cluster_id: node.cluster_id.clone(),
        properties: body.properties,
        provisioner_results: body.provisioner_results,
        actions: actions.into_iter().skip(skip).collect(),
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
struct ListQuery {
    /// Comma-separated statuses to keep.
    status: Option<String>,
}

/// The caller's clusters (all of the tenant's for an admin), newest first.
#[utoipa::path(get, path = "/v2/clusters", tag = "clusters", params(ListQuery),
    responses((status = 200, body = Vec<ClusterSummary>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ListQuery>,
) -> Result<Json<Vec<ClusterSummary>>, ApiError> {
    let wanted: Option<Vec<ClusterStatus>> = match &query.status {
        None => None,
        Some(text) => Some(
            text.split(',')
                .filter(|s| !s.is_empty())
                .map(|s| {
                    ClusterStatus::parse(s.trim()).ok_or_else(|| {
                        ApiError::invalid(
                            "status",
                            "enum",
                            format!("'{s}' is not a cluster status: use pending, active, incomplete, inconsistent or terminated"),
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
        ),
    };
    let rows = state
        .store
        .list_clusters(&caller.tenant_id, owner_filter(&caller))
        .await?;
    let mut out = Vec::new();
    for row in rows {
        let keep = wanted.as_ref().is_none_or(|w| {
            ClusterStatus::parse(&row.status).is_some_and(|status| w.contains(&status))
        });
        if keep {
            out.push(summary(&state, &row).await?);
        }
    }
    Ok(Json(out))
}

/// Creates a cluster and starts its create job.
#[utoipa::path(post, path = "/v2/clusters", tag = "clusters", request_body = ClusterCreateRequest,
    responses((status = 200, body = Created), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<ClusterCreateRequest>,
) -> Result<Json<Created>, ApiError> {
    let outcome = state
        .engine
        .create_cluster(&caller.tenant_id, &caller.user, &request)
        .await?;
    Ok(Json(Created {
        id: outcome.cluster_id,
        job_id: outcome.job_id,
    }))
}

/// A cluster with its nodes, their action history, and its links.
#[utoipa::path(get, path = "/v2/clusters/{id}", tag = "clusters",
    responses((status = 200, body = ClusterDetails), (status = 404, body = ErrorBody)))]
async fn details(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ClusterDetails>, ApiError> {
    let row = visible(&state, &caller, &id).await?;
    let body = cluster_body(&row)?;
    let rows = state.store.cluster_nodes(&id).await?;
    let mut nodes = Vec::new();
    for node in &rows {
        nodes.push(node_view(&state, node).await?);
    }
    let macro_nodes: Vec<weft_expand::Node> = nodes
        .iter()
        .map(|n| weft_expand::Node {
            id: n.id.clone(),
            nodenum: n.properties.nodenum,
            hostname: Some(n.properties.hostname.clone()),
            ipaddresses: n.properties.ipaddresses.clone(),
            services: n.properties.services.clone(),
        })
        .collect();
    let scope = weft_expand::Cluster {
        nodes: &macro_nodes,
        owner: &row.owner,
        this_node: None,
    };
    let links = body
        .cluster_template
        .links
        .iter()
        .map(|link| LinkView {
            label: link.label.clone(),
            // a link whose nodes are not up yet keeps its macros
            url: weft_expand::expand_str(&link.url, &scope).unwrap_or_else(|_| link.url.clone()),
        })
        .collect();
    Ok(Json(ClusterDetails {
        summary: summary(&state, &row).await?,
        nodes,
        links,
    }))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct FieldsBody {
    #[serde(default, rename = "providerFields")]
    #[schema(value_type = Option<Object>)]
    provider_fields: Option<Map<String, Value>>,
}

/// An optional JSON body (Coopr's delete and service actions take one, or none).
fn optional<T: for<'de> Deserialize<'de> + Default>(bytes: &Bytes) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        Ok(T::default())
    } else {
        parse(bytes)
    }
}

async fn start(
    state: &AppState,
    caller: &Caller,
    id: &str,
    op: ClusterOp,
    fields: Option<&Map<String, Value>>,
) -> Result<Json<JobStarted>, ApiError> {
    let job_id = state
        .engine
        .start_op(&caller.tenant_id, owner_filter(caller), id, &op, fields)
        .await?;
    Ok(Json(JobStarted { job_id }))
}

/// Deletes the cluster (a terminated one: nothing to do).
#[utoipa::path(delete, path = "/v2/clusters/{id}", tag = "clusters", request_body = Option<FieldsBody>,
    responses((status = 200, body = JobStarted), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<JobStarted>, ApiError> {
    let body: FieldsBody = optional(&body)?;
    start(
        &state,
        &caller,
        &id,
        ClusterOp::Delete,
        body.provider_fields.as_ref(),
    )
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct LeaseBody {
    #[serde(rename = "expireTime")]
    expire_time: i64,
}

/// Changes the lease's end (`expireTime`, ms since the epoch) under the template's rules.
#[utoipa::path(post, path = "/v2/clusters/{id}", tag = "clusters", request_body = LeaseBody,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn lease(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<LeaseBody>,
) -> Result<axum::http::StatusCode, ApiError> {
    state
        .engine
        .change_lease(
            &caller.tenant_id,
            owner_filter(&caller),
            &id,
            LeaseChange {
                expire_time: body.expire_time,
            },
        )
        .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct StatusView {
    clusterid: String,
    status: String,
    action: Option<String>,
    actionstatus: Option<String>,
    stepstotal: usize,
    stepscompleted: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

/// The cluster's status and its latest job's progress.
#[utoipa::path(get, path = "/v2/clusters/{id}/status", tag = "clusters",
    responses((status = 200, body = StatusView), (status = 404, body = ErrorBody)))]
async fn status(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<StatusView>, ApiError> {
    let row = visible(&state, &caller, &id).await?;
    let progress = progress(&state, &row).await?;
    Ok(Json(StatusView {
        clusterid: row.id,
        status: row.status,
        action: progress.as_ref().map(|p| p.action.clone()),
        actionstatus: progress.as_ref().map(|p| p.actionstatus.clone()),
        stepstotal: progress.as_ref().map_or(0, |p| p.stepstotal),
        stepscompleted: progress.as_ref().map_or(0, |p| p.stepscompleted),
        message: row.message,
    }))
}

/// One `progress` event of a cluster's event stream.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ProgressEvent {
    cluster: ClusterSummary,
    /// The latest job with its staged tasks, if the cluster has had one.
    plan: Option<PlanView>,
}

async fn progress_event(state: &AppState, row: ClusterRow) -> Result<ProgressEvent, ApiError> {
    let cluster = summary(state, &row).await?;
    let plan = match &row.latest_job_id {
        Some(job) => match state.store.get_job(&row.tenant_id, job).await? {
            Some(job) => Some(plan_view(state, job).await?),
            None => None,
        },
        None => None,
    };
    Ok(ProgressEvent { cluster, plan })
}

/// The cluster's live progress as server-sent events: a `progress` event (a
/// [`ProgressEvent`]) now and whenever the cluster, its latest job or one of the job's tasks
/// changes. The stream stays open until the client leaves.
#[utoipa::path(get, path = "/v2/clusters/{id}/events", tag = "clusters",
    responses((status = 200, content_type = "text/event-stream", body = ProgressEvent), (status = 404, body = ErrorBody)))]
async fn events(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>>, ApiError> {
    visible(&state, &caller, &id).await?;
    let tenant = caller.tenant_id.clone();
    let owner = owner_filter(&caller).map(str::to_string);
    let stream = futures_util::stream::unfold(
        (state, tenant, owner, id, String::new()),
        |(state, tenant, owner, id, mut last)| async move {
            loop {
                let row = state
                    .engine
                    .visible_cluster(&tenant, owner.as_deref(), &id)
                    .await;
                let data = match row {
                    Ok(row) => match progress_event(&state, row).await {
                        Ok(event) => serde_json::to_string(&event).unwrap_or_default(),
                        Err(e) => {
                            tracing::warn!(cluster = %id, error = %e, "cluster events: cannot read progress");
                            String::new()
                        }
                    },
                    // the cluster is gone (or no longer visible): the stream ends
                    Err(_) => return None,
                };
                if !data.is_empty() && data != last {
                    last.clone_from(&data);
                    let event = Event::default().event("progress").data(data);
                    return Some((Ok(event), (state, tenant, owner, id, last)));
                }
                tokio::time::sleep(Duration::from_millis(400)).await;
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct PlanTask {
    id: String,
    task_name: String,
    node_id: String,
    service: String,
    status: String,
    /// Failed attempts so far.
    failures: i64,
    /// Why the task has not started, while it waits.
    #[serde(skip_serializing_if = "Option::is_none")]
    waiting: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct PlanView {
    id: String,
    cluster_id: String,
    action: String,
    status: String,
    current_stage: i64,
    message: Option<String>,
    planned_services: Option<Vec<String>>,
    planned_nodes: Option<Vec<String>>,
    stages: Vec<Vec<PlanTask>>,
}

async fn plan_view(state: &AppState, job: weft_store::JobRow) -> Result<PlanView, ApiError> {
    let tasks = state.store.job_tasks(&job.id).await?;
    let queued: BTreeMap<String, (String, i64)> = state
        .store
        .queued_job_tasks(&job.id)
        .await?
        .into_iter()
        .map(|(task, queue_state, not_before)| (task, (queue_state, not_before)))
        .collect();
    let (claimed, cap) = state.store.tenant_load(&job.tenant_id).await?;
    let now = weft_engine::now_ms();
    let mut stages: BTreeMap<i64, Vec<PlanTask>> = BTreeMap::new();
    for t in tasks {
        let waiting = match (t.status.as_str(), queued.get(&t.id)) {
            ("not_submitted", _) => Some("waiting for the tasks of an earlier stage".to_string()),
            ("in_progress", Some((s, not_before))) if s == "queued" => Some(if *not_before > now {
                format!("retry backoff: ready in {} ms", not_before - now)
            } else if cap == 0 {
                "no worker capacity is assigned to the tenant (workers = 0)".to_string()
            } else if claimed >= cap {
                format!("the tenant's {cap} workers are all busy")
            } else {
                "waiting for a free worker".to_string()
            }),
            _ => None,
        };
        stages.entry(t.stage).or_default().push(PlanTask {
            id: t.id,
            task_name: t.task_name,
            node_id: t.node_id,
            service: t.service,
            status: t.status,
            failures: t.failures,
            waiting,
        });
    }
    let body: JobBody = serde_json::from_str(&job.body).unwrap_or_default();
    Ok(PlanView {
        id: job.id,
        cluster_id: job.cluster_id,
        action: job.action,
        status: job.status,
        current_stage: job.current_stage,
        message: job.message,
        planned_services: body.planned_services,
        planned_nodes: body.planned_nodes,
        stages: stages.into_values().collect(),
    })
}

/// Every job of the cluster, oldest first, with its staged tasks.
#[utoipa::path(get, path = "/v2/clusters/{id}/plans", tag = "clusters",
    responses((status = 200, body = Vec<PlanView>), (status = 404, body = ErrorBody)))]
async fn plans(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<PlanView>>, ApiError> {
    visible(&state, &caller, &id).await?;
    let mut out = Vec::new();
    for job in state.store.cluster_jobs(&id).await? {
        out.push(plan_view(&state, job).await?);
    }
    Ok(Json(out))
}

/// One job of the cluster.
#[utoipa::path(get, path = "/v2/clusters/{id}/plans/{job}", tag = "clusters",
    responses((status = 200, body = PlanView), (status = 404, body = ErrorBody)))]
async fn plan(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, job)): Path<(String, String)>,
) -> Result<Json<PlanView>, ApiError> {
    visible(&state, &caller, &id).await?;
    match state.store.get_job(&caller.tenant_id, &job).await? {
        Some(row) if row.cluster_id == id => Ok(Json(plan_view(&state, row).await?)),
        _ => Err(ApiError::NotFound(format!("job '{job}' does not exist"))),
    }
}

/// The cluster's config, macros unexpanded.
#[utoipa::path(get, path = "/v2/clusters/{id}/config", tag = "clusters",
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn get_config(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Map<String, Value>>, ApiError> {
    let row = visible(&state, &caller, &id).await?;
    Ok(Json(cluster_body(&row)?.config))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ConfigBody {
    #[schema(value_type = Object)]
    config: Map<String, Value>,
    /// Restart services around the reconfigure (default true).
    #[serde(default)]
    restart: Option<bool>,
    #[serde(default, rename = "providerFields")]
    #[schema(value_type = Option<Object>)]
    provider_fields: Option<Map<String, Value>>,
}

/// Reconfigures the cluster, with or without restarting services.
#[utoipa::path(put, path = "/v2/clusters/{id}/config", tag = "clusters", request_body = ConfigBody,
    responses((status = 200, body = JobStarted), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn put_config(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ConfigBody>,
) -> Result<Json<JobStarted>, ApiError> {
    let op = ClusterOp::Configure {
        config: Some(body.config),
        restart: body.restart.unwrap_or(true),
    };
    start(&state, &caller, &id, op, body.provider_fields.as_ref()).await
}

/// The services on the cluster.
#[utoipa::path(get, path = "/v2/clusters/{id}/services", tag = "clusters",
    responses((status = 200, body = Vec<String>), (status = 404, body = ErrorBody)))]
async fn services(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<String>>, ApiError> {
    let row = visible(&state, &caller, &id).await?;
    Ok(Json(cluster_body(&row)?.services))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ServicesBody {
    services: Vec<String>,
    #[serde(default, rename = "providerFields")]
    #[schema(value_type = Option<Object>)]
    provider_fields: Option<Map<String, Value>>,
}

/// Adds services to the cluster (placed by the solver on existing nodes).
#[utoipa::path(post, path = "/v2/clusters/{id}/services", tag = "clusters", request_body = ServicesBody,
    responses((status = 200, body = JobStarted), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_services(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ServicesBody>,
) -> Result<Json<JobStarted>, ApiError> {
    let op = ClusterOp::AddServices(body.services);
    start(&state, &caller, &id, op, body.provider_fields.as_ref()).await
}

fn service_op(action: &str, services: Option<Vec<String>>) -> Result<ClusterOp, ApiError> {
    match action {
        "start" => Ok(ClusterOp::StartServices(services)),
        "stop" => Ok(ClusterOp::StopServices(services)),
        "restart" => Ok(ClusterOp::RestartServices(services)),
        other => Err(ApiError::NotFound(format!(
            "no action '{other}': use start, stop or restart"
        ))),
    }
}

/// Starts, stops or restarts every service of the cluster.
#[utoipa::path(post, path = "/v2/clusters/{id}/services/{service}", tag = "clusters", request_body = Option<FieldsBody>,
    responses((status = 200, body = JobStarted), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn all_services_action(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<JobStarted>, ApiError> {
    let body: FieldsBody = optional(&body)?;
    let op = service_op(&action, None)?;
    start(&state, &caller, &id, op, body.provider_fields.as_ref()).await
}

/// Stops and removes a service from every node carrying it (beyond Coopr).
#[utoipa::path(delete, path = "/v2/clusters/{id}/services/{service}", tag = "clusters",
    responses((status = 200, body = JobStarted), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn remove_service(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, service)): Path<(String, String)>,
) -> Result<Json<JobStarted>, ApiError> {
    start(
        &state,
        &caller,
        &id,
        ClusterOp::RemoveServices(vec![service]),
        None,
    )
    .await
}

/// Starts, stops or restarts one service (with what it needs, or what needs it).
#[utoipa::path(post, path = "/v2/clusters/{id}/services/{service}/{action}", tag = "clusters", request_body = Option<FieldsBody>,
    responses((status = 200, body = JobStarted), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn service_action(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, service, action)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Json<JobStarted>, ApiError> {
    let body: FieldsBody = optional(&body)?;
    let op = service_op(&action, Some(vec![service]))?;
    start(&state, &caller, &id, op, body.provider_fields.as_ref()).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct AddNodesBody {
    #[serde(rename = "numMachines")]
    num_machines: u32,
    #[serde(default, rename = "providerFields")]
    #[schema(value_type = Option<Object>)]
    provider_fields: Option<Map<String, Value>>,
}

/// Adds nodes under the template's constraints (beyond Coopr).
#[utoipa::path(post, path = "/v2/clusters/{id}/nodes", tag = "clusters", request_body = AddNodesBody,
    responses((status = 200, body = JobStarted), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_nodes(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<AddNodesBody>,
) -> Result<Json<JobStarted>, ApiError> {
    let op = ClusterOp::AddNodes(body.num_machines);
    start(&state, &caller, &id, op, body.provider_fields.as_ref()).await
}

/// Pauses the running job: running tasks finish, nothing new starts.
#[utoipa::path(post, path = "/v2/clusters/{id}/pause", tag = "clusters",
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn pause(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::http::StatusCode, ApiError> {
    state
        .engine
        .pause(&caller.tenant_id, owner_filter(&caller), &id)
        .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Resumes a paused job, or a failed one from the stage that failed.
#[utoipa::path(post, path = "/v2/clusters/{id}/resume", tag = "clusters",
    responses((status = 200, body = JobStarted), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn resume(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<JobStarted>, ApiError> {
    let job = state
        .engine
        .resume(&caller.tenant_id, owner_filter(&caller), &id)
        .await?;
    Ok(Json(JobStarted { job_id: Some(job) }))
}

/// Aborts a running cluster create.
#[utoipa::path(post, path = "/v2/clusters/{id}/abort", tag = "clusters",
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn abort(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::http::StatusCode, ApiError> {
    state
        .engine
        .abort(&caller.tenant_id, owner_filter(&caller), &id)
        .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct LogLineView {
    attempt: i64,
    seq: i64,
    at: i64,
    level: String,
    line: String,
}

/// Checks that the caller may read the task's log: the task's cluster must be visible.
async fn visible_task(
    state: &AppState,
    caller: &Caller,
    cluster: &str,
    task: &str,
) -> Result<(), ApiError> {
    visible(state, caller, cluster).await?;
    match state.store.get_job_task(&caller.tenant_id, task).await? {
        Some(t) if t.cluster_id == cluster => Ok(()),
        _ => Err(ApiError::NotFound(format!("task '{task}' does not exist"))),
    }
}

/// The full log of a task, every attempt.
#[utoipa::path(get, path = "/v2/clusters/{id}/tasks/{task}/log", tag = "clusters",
    responses((status = 200, body = Vec<LogLineView>), (status = 404, body = ErrorBody)))]
async fn task_log(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, task)): Path<(String, String)>,
) -> Result<Json<Vec<LogLineView>>, ApiError> {
    visible_task(&state, &caller, &id, &task).await?;
    let rows = state.store.task_log(&task, (0, 0), 100_000).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| LogLineView {
                attempt: r.attempt,
                seq: r.seq,
                at: r.at,
                level: r.level,
                line: r.line,
            })
            .collect(),
    ))
}

/// The task's log as server-sent events (`log` events, then `end` when the task is done).
#[utoipa::path(get, path = "/v2/clusters/{id}/tasks/{task}/log/stream", tag = "clusters",
    responses((status = 200, content_type = "text/event-stream", body = String), (status = 404, body = ErrorBody)))]
async fn task_log_stream(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, task)): Path<(String, String)>,
) -> Result<Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>>, ApiError> {
    visible_task(&state, &caller, &id, &task).await?;
    let tenant = caller.tenant_id.clone();
    let stream = futures_util::stream::unfold(
        (state, tenant, task, (0i64, 0i64), false),
        |(state, tenant, task, mut after, done)| async move {
            if done {
                return None;
            }
            loop {
                let rows = state
                    .store
                    .task_log(&task, after, 500)
                    .await
                    .unwrap_or_default();
                if !rows.is_empty() {
                    let mut data = String::new();
                    for r in &rows {
                        let line = serde_json::json!({"attempt": r.attempt, "seq": r.seq, "at": r.at, "level": r.level, "line": r.line});
                        data.push_str(&line.to_string());
                        data.push('\n');
                    }
                    if let Some(last) = rows.last() {
                        after = (last.attempt, last.seq);
                    }
                    let event = Event::default().event("log").data(data.trim_end());
                    return Some((Ok(event), (state, tenant, task, after, false)));
                }
                let finished = match state.store.get_job_task(&tenant, &task).await {
                    Ok(Some(t)) => !matches!(t.status.as_str(), "in_progress" | "not_submitted"),
                    _ => true,
                };
                if finished {
                    let event = Event::default().event("end").data("{}");
                    return Some((Ok(event), (state, tenant, task, after, true)));
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// Every node the caller may see (of their clusters, or the tenant's for an admin).
#[utoipa::path(get, path = "/v2/nodes", tag = "clusters",
    responses((status = 200, body = Vec<NodeView>)))]
async fn list_nodes(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<NodeView>>, ApiError> {
    let mut out = Vec::new();
    for cluster in state
        .store
        .list_clusters(&caller.tenant_id, owner_filter(&caller))
        .await?
    {
        for node in state.store.cluster_nodes(&cluster.id).await? {
            out.push(node_view(&state, &node).await?);
        }
    }
    Ok(Json(out))
}

/// One node.
#[utoipa::path(get, path = "/v2/nodes/{id}", tag = "clusters",
    responses((status = 200, body = NodeView), (status = 404, body = ErrorBody)))]
async fn node(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<NodeView>, ApiError> {
    for cluster in state
        .store
        .list_clusters(&caller.tenant_id, owner_filter(&caller))
        .await?
    {
        if let Some(node) = state
            .store
            .cluster_nodes(&cluster.id)
            .await?
            .into_iter()
            .find(|n| n.id == id)
        {
            return Ok(Json(node_view(&state, &node).await?));
        }
    }
    Err(ApiError::NotFound(format!("node '{id}' does not exist")))
}
