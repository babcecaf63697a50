//! Creating a cluster: solve, plan, check provider fields and quotas, write the cluster, its
//! nodes and its first job in one transaction, and start the job.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};
use weft_catalog::Catalog;
use weft_model::{
    ClusterCreateRequest, ClusterStatus, ClusterTemplate, FieldError, JobStatus, NodeProperties,
    ParameterRole, PluginTypeSpec, Provider, TaskStatus,
};
use weft_planner::{ClusterAction, PlanNode, PlanRequest, PlanService};
use weft_solver::{ClusterRequest, Layout};
use weft_store::{ClusterRow, JobRow, JobTaskRow, NewCluster, NodeRow};

use crate::catalog::solve_error;
use crate::model::{ClusterBody, JobBody, NodeBody, to_json};
use crate::{Engine, EngineError, catalog_token, load_catalog, now_ms, resolved_template};

/// What a create started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOutcome {
    pub cluster_id: String,
    pub job_id: String,
}

/// Provider fields of a request, split by the provider type's schema.
#[derive(Debug, Default)]
pub(crate) struct SplitFields {
    /// Merged into the cluster's provider copy.
    pub(crate) plain: Map<String, Value>,
    /// Sealed and kept apart; handed to plugins only at task time.
    pub(crate) sensitive: Map<String, Value>,
}

/// Splits `given` by `spec`: user fields and overridable admin fields are taken, anything else
/// is ignored (Coopr logs it); then every field of some required set of the user parameters
/// must be present among the provider's own fields, the given ones and `stored` sensitive ones.
pub(crate) fn split_provider_fields(
    spec: &PluginTypeSpec,
    provider: &Provider,
    given: Option<&Map<String, Value>>,
    stored_sensitive: &Map<String, Value>,
) -> Result<SplitFields, EngineError> {
    let user = spec.parameters_for(ParameterRole::User);
    let admin = spec.parameters_for(ParameterRole::Admin);
    let mut split = SplitFields::default();
    for (name, value) in given.into_iter().flatten() {
        let schema = user
            .fields
            .get(name)
            .or_else(|| admin.fields.get(name).filter(|f| f.overridable));
        match schema {
            Some(schema) if schema.sensitive => {
                split.sensitive.insert(name.clone(), value.clone());
            }
            Some(_) => {
                split.plain.insert(name.clone(), value.clone());
            }
            None => {
                tracing::info!(field = %name, "provider field ignored: not a user or overridable field")
            }
        }
    }
    let present = |name: &String| {
        split.plain.contains_key(name)
            || split.sensitive.contains_key(name)
            || provider.provisioner.contains_key(name)
            || (given.is_none_or(|g| g.is_empty()) && stored_sensitive.contains_key(name))
    };
    if !user.required.is_empty() && !user.required.iter().any(|set| set.iter().all(present)) {
        // Coopr's shape: per required set, its missing fields with their schemas
        let missing = user
            .required
            .iter()
            .map(|set| {
                set.iter()
                    .filter(|f| !present(f))
                    .map(|f| {
                        let schema = user
                            .fields
                            .get(f)
                            .and_then(|s| serde_json::to_value(s).ok())
                            .unwrap_or_else(|| Value::Object(Map::new()));
                        (f.clone(), schema)
                    })
                    .collect()
            })
            .collect();
        return Err(EngineError::MissingFields(missing));
    }
    Ok(split)
}

/// Coopr's hostname: the cluster name lowercased without leading digits, `_` and `.` as `-`,
/// then the cluster number, `-`, the node number and the DNS suffix; the first label at most
/// 63 characters.
pub(crate) fn hostname(cluster_name: &str, number: i64, nodenum: u32, dns_suffix: &str) -> String {
    let base: String = cluster_name
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .to_lowercase()
        .chars()
        .map(|c| if c == '_' || c == '.' { '-' } else { c })
        .collect();
    let tail = format!("{number}-{nodenum}");
    let room = 63usize.saturating_sub(tail.len());
    let base: String = base.chars().take(room).collect();
    format!("{base}{tail}.{dns_suffix}")
}

/// Node properties for every node of `layout`, numbered from `first_nodenum`.
pub fn nodes_of_layout(
    layout: &Layout,
    catalog: &Catalog,
    provider: &str,
    first_nodenum: u32,
    name_for: impl Fn(u32) -> String,
) -> Vec<NodeProperties> {
    let mut nodes = Vec::new();
    let mut nodenum = first_nodenum;
    for group in &layout.groups {
        let flavor = catalog
            .hardwaretypes
            .get(&group.hardwaretype)
            .and_then(|h| h.providermap.get(provider))
            .and_then(|m| m.get("flavor"))
            .and_then(Value::as_str)
            .map(String::from);
        let image_map = catalog
            .imagetypes
            .get(&group.imagetype)
            .and_then(|i| i.providermap.get(provider));
        let text = |key: &str| {
            image_map
                .and_then(|m| m.get(key))
                .and_then(Value::as_str)
                .map(String::from)
        };
        for _ in 0..group.count {
            nodes.push(NodeProperties {
                hostname: name_for(nodenum),
                ipaddresses: BTreeMap::new(),
                nodenum,
                hardwaretype: group.hardwaretype.clone(),
                imagetype: group.imagetype.clone(),
                flavor: flavor.clone(),
                image: text("image"),
                sshuser: text("sshuser"),
                services: group.services.clone(),
                automators: automators(&group.services, catalog),
            });
            nodenum += 1;
        }
    }
    nodes
}

/// The automator types any action of `services` uses.
pub(crate) fn automators(services: &[String], catalog: &Catalog) -> Vec<String> {
    let set: BTreeSet<String> = services
        .iter()
        .filter_map(|s| catalog.services.get(s))
        .flat_map(|s| s.provisioner.actions.values())
        .map(|a| a.automator_type.clone())
        .collect();
    set.into_iter().collect()
}

/// The planner's view of `services`.
pub(crate) fn plan_services(
    services: impl IntoIterator<Item = String>,
    catalog: &Catalog,
) -> BTreeMap<String, PlanService> {
    services
        .into_iter()
        .filter_map(|name| catalog.services.get(&name))
        .map(|s| (s.name.clone(), PlanService::from_service(s)))
        .collect()
}

/// Job task rows for a plan, numbered `{job}-001`, ... in stage order.
pub(crate) fn task_rows(
    plan: &weft_planner::Plan,
    job: &JobRow,
    now: i64,
    first_stage: i64,
) -> Vec<JobTaskRow> {
    let mut rows = Vec::new();
    for (stage, tasks) in plan.stages.iter().enumerate() {
        for &i in tasks {
            let task = &plan.tasks[i];
            rows.push(JobTaskRow {
                id: format!("{}-{:03}", job.id, rows.len() + 1),
                job_id: job.id.clone(),
                cluster_id: job.cluster_id.clone(),
                tenant_id: job.tenant_id.clone(),
                node_id: task.node.clone(),
                service: task.service.clone().unwrap_or_default(),
                task_name: task.kind.as_str().into(),
                stage: first_stage + stage as i64,
                status: TaskStatus::NotSubmitted.as_str().into(),
                failures: 0,
                attempt: 0,
                status_time: now,
            });
        }
    }
    rows
}

/// A new job row.
pub(crate) fn job_row(
    cluster_id: &str,
    tenant_id: &str,
    number: usize,
    action: &ClusterAction,
    body: &JobBody,
    now: i64,
) -> JobRow {
    JobRow {
        id: format!("{cluster_id}-{number:03}"),
        cluster_id: cluster_id.into(),
        tenant_id: tenant_id.into(),
        action: action.as_str().into(),
        status: JobStatus::NotSubmitted.as_str().into(),
        current_stage: 0,
        message: None,
        body: to_json(body),
        created_at: now,
        updated_at: now,
    }
}

/// The lease end of a new cluster: the requested duration (absent or -1: the template's
/// initial), which may not exceed the template's initial lease unless that is 0 (forever).
fn expire_time(
    request: &ClusterCreateRequest,
    template: &ClusterTemplate,
    now: i64,
) -> Result<i64, EngineError> {
    let initial = template.administration.leaseduration.initial.0 as i64;
    let asked = match request.initial_lease_duration {
        None | Some(-1) => initial,
        Some(d) if d < 0 => {
            return Err(FieldError::new(
                "initialLeaseDuration",
                "range",
                format!("must be -1 (the template's) or a duration in ms ≥ 0, got {d}"),
            )
            .into());
        }
        Some(d) => d,
    };
    if initial != 0 && (asked == 0 || asked > initial) {
        return Err(FieldError::new(
            "initialLeaseDuration",
            "range",
            format!("the template allows at most {initial} ms, got {asked}"),
        )
        .into());
    }
    Ok(if asked == 0 { 0 } else { now + asked })
}

impl Engine {
    /// Creates a cluster for `owner` of `tenant_id` and starts its create job.
    pub async fn create_cluster(
        &self,
        tenant_id: &str,
        owner: &str,
        request: &ClusterCreateRequest,
    ) -> Result<CreateOutcome, EngineError> {
        weft_catalog::check_name("name", &request.name)?;
        let catalog = load_catalog(&self.store, &self.superadmin_tenant_id, tenant_id).await?;
        let template = resolved_template(&catalog, &request.cluster_template)?;
        let problem = weft_solver::prepare(
            &template,
            &ClusterRequest {
                num_machines: request.num_machines,
                provider: request.provider.clone(),
                hardwaretype: request.hardwaretype.clone(),
                imagetype: request.imagetype.clone(),
                services: request.services.clone(),
            },
            &catalog,
        )
        .map_err(solve_error)?;
        let layout = tokio::task::spawn_blocking(move || weft_solver::solve(&problem))
            .await
            .map_err(|e| EngineError::Internal(format!("the solver task failed: {e}")))?
            .map_err(solve_error)?;
        if let Some(token) = &request.token
            && *token != catalog_token(&catalog, &template, &layout, request)
        {
            return Err(EngineError::Conflict(
                "the catalog changed since the preview (token): preview again".into(),
            ));
        }
        let provider_name = request
            .provider
            .clone()
            .or_else(|| template.defaults.provider.clone())
            .unwrap_or_default();
        let mut provider = catalog
            .providers
            .get(&provider_name)
            .cloned()
            .ok_or_else(|| {
                EngineError::NotFound(format!("provider: '{provider_name}' does not exist"))
            })?;
        let spec = catalog
            .providertypes
            .get(&provider.providertype)
            .ok_or_else(|| {
                EngineError::NotFound(format!(
                    "providertype: '{}' of provider '{provider_name}' does not exist",
                    provider.providertype
                ))
            })?;
        let split = split_provider_fields(
            spec,
            &provider,
            request.provider_fields.as_ref(),
            &Map::new(),
        )?;
        provider.provisioner.extend(split.plain);

        let now = now_ms();
        let expire = expire_time(request, &template, now)?;
        let number = self.store.next_cluster_number().await?;
        let cluster_id = format!("{number:08}");
        let dns_suffix = request
            .dns_suffix
            .clone()
            .or_else(|| template.defaults.dns_suffix.clone())
            .unwrap_or_else(|| "local".into());
        let properties = nodes_of_layout(&layout, &catalog, &provider_name, 1000, |n| {
            hostname(&request.name, number, n, &dns_suffix)
        });
        let nodes: Vec<NodeRow> = properties
            .into_iter()
            .map(|properties| NodeRow {
                id: uuid::Uuid::new_v4().to_string(),
                cluster_id: cluster_id.clone(),
                tenant_id: tenant_id.into(),
                nodenum: i64::from(properties.nodenum),
                body: to_json(&NodeBody {
                    properties,
                    provisioner_results: Map::new(),
                }),
            })
            .collect();
        let services: Vec<String> = layout
            .groups
            .iter()
            .flat_map(|g| g.services.iter().cloned())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let plan = plan_for(&ClusterAction::Create, &nodes, &services, &catalog)?;
        let job = job_row(
            &cluster_id,
            tenant_id,
            1,
            &ClusterAction::Create,
            &JobBody::default(),
            now,
        );
        let tasks = task_rows(&plan, &job, now, 0);
        let mut config = template.defaults.config.clone();
        if let Some(extra) = &request.config {
            config.extend(extra.clone());
        }
        let body = ClusterBody {
            description: request.description.clone(),
            provider,
            cluster_template: template,
            services,
            config,
            dns_suffix,
        };
        let sensitive = if split.sensitive.is_empty() {
            None
        } else {
            Some(self.seal_fields(&cluster_id, &split.sensitive)?)
        };
        let key = weft_ssh::KeyPair::generate();
        let private = key
            .private_openssh()
            .map_err(|e| EngineError::Internal(format!("the cluster key: {e}")))?;
        let sealed_key = self
            .vault
            .seal(&key_context(&cluster_id), private.as_bytes())?;
        let new = NewCluster {
            cluster: ClusterRow {
                id: cluster_id.clone(),
                tenant_id: tenant_id.into(),
                owner: owner.into(),
                name: request.name.clone(),
                status: ClusterStatus::Pending.as_str().into(),
                node_count: nodes.len() as i64,
                create_time: now,
                expire_time: expire,
                active_time: now,
                latest_job_id: Some(job.id.clone()),
                message: None,
                body: to_json(&body),
            },
            nodes,
            job: job.clone(),
            tasks,
            sensitive,
            key: (key.public_openssh(), sealed_key),
        };
        self.store.insert_cluster(&new).await?;
        self.advance(&job.id).await?;
        Ok(CreateOutcome {
            cluster_id,
            job_id: job.id,
        })
    }

    pub(crate) fn seal_fields(
        &self,
        cluster_id: &str,
        fields: &Map<String, Value>,
    ) -> Result<String, EngineError> {
        let text = serde_json::to_vec(fields)
            .map_err(|e| EngineError::Internal(format!("sensitive fields: {e}")))?;
        Ok(self.vault.seal(&fields_context(cluster_id), &text)?)
    }

    pub(crate) fn open_fields(
        &self,
        cluster_id: &str,
        sealed: &str,
    ) -> Result<Map<String, Value>, EngineError> {
        let text = self.vault.open(&fields_context(cluster_id), sealed)?;
        serde_json::from_slice(&text)
            .map_err(|e| EngineError::Internal(format!("sealed fields are corrupt: {e}")))
    }
}

pub(crate) fn fields_context(cluster_id: &str) -> String {
    format!("cluster/{cluster_id}/provider-fields")
}

pub(crate) fn key_context(cluster_id: &str) -> String {
    format!("cluster/{cluster_id}/ssh-key")
}

/// Plans `action` over stored nodes.
pub(crate) fn plan_for(
    action: &ClusterAction,
    nodes: &[NodeRow],
    services: &[String],
    catalog: &Catalog,
) -> Result<weft_planner::Plan, EngineError> {
    let mut plan_nodes = Vec::new();
    for node in nodes {
        let body: NodeBody = crate::model::parse("node", &node.body)?;
        plan_nodes.push(PlanNode {
            id: node.id.clone(),
            services: body.properties.services,
        });
    }
    weft_planner::plan(&PlanRequest {
        action: action.clone(),
        nodes: plan_nodes,
        services: plan_services(services.iter().cloned(), catalog),
    })
    .map_err(|e| EngineError::Unprocessable {
        error: format!("the {} cannot be planned", action.as_str()),
        explanation: e.to_string(),
    })
}
