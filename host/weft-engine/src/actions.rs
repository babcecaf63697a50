//! Operations on an existing cluster: each checks the cluster's status, plans a job and starts
//! it in one transaction (one job per cluster), plus pause, resume, abort and lease changes.

use std::collections::BTreeSet;

use serde_json::{Map, Value};
use weft_model::{ClusterStatus, FieldError, JobStatus};
use weft_planner::ClusterAction;
use weft_solver::{ClusterRequest, ExistingNode};
use weft_store::{ClusterRow, NewJob, NodeRow};

use crate::catalog::solve_error;
use crate::create::{
    automators, hostname, job_row, nodes_of_layout, plan_for, split_provider_fields, task_rows,
};
use crate::model::{ClusterBody, JobBody, NodeBody, parse, to_json};
use crate::{Engine, EngineError, load_catalog, now_ms};

/// What a user asks of an existing cluster.
#[derive(Debug, Clone, PartialEq)]
pub enum ClusterOp {
    Delete,
    /// New config (or the same), with or without restarting services.
    Configure {
        config: Option<Map<String, Value>>,
        restart: bool,
    },
    StartServices(Option<Vec<String>>),
    StopServices(Option<Vec<String>>),
    RestartServices(Option<Vec<String>>),
    AddServices(Vec<String>),
    RemoveServices(Vec<String>),
    AddNodes(u32),
}

/// A lease change (`POST /v2/clusters/{id}` with `expireTime`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseChange {
    pub expire_time: i64,
}

const ACTIVE: &[&str] = &["active"];
const CONFIGURABLE: &[&str] = &["active", "inconsistent"];
const DELETABLE: &[&str] = &["active", "incomplete", "inconsistent"];

impl Engine {
    /// The cluster, if `tenant_id` has it and `owner` (when given: a plain user) owns it.
    pub async fn visible_cluster(
        &self,
        tenant_id: &str,
        owner: Option<&str>,
        id: &str,
    ) -> Result<ClusterRow, EngineError> {
        match self.store.get_cluster(tenant_id, id).await? {
            Some(c) if owner.is_none_or(|o| o == c.owner) => Ok(c),
            _ => Err(EngineError::NotFound(format!(
                "cluster '{id}' does not exist"
            ))),
        }
    }

    /// Starts `op` on the cluster; answers the job id, or `None` when there is nothing to do
    /// (deleting a terminated cluster).
    pub async fn start_op(
        &self,
        tenant_id: &str,
        owner: Option<&str>,
        cluster_id: &str,
        op: &ClusterOp,
        provider_fields: Option<&Map<String, Value>>,
    ) -> Result<Option<String>, EngineError> {
        let cluster = self.visible_cluster(tenant_id, owner, cluster_id).await?;
        if op == &ClusterOp::Delete && cluster.status == ClusterStatus::Terminated.as_str() {
            return Ok(None);
        }
        let mut body: ClusterBody = parse("cluster", &cluster.body)?;
        let nodes = self.store.cluster_nodes(cluster_id).await?;
        let catalog = load_catalog(&self.store, &self.superadmin_tenant_id, tenant_id).await?;

        // provider fields given with the request (sensitive ones replace the stored set)
        let stored = match self.store.sensitive_fields(cluster_id).await? {
            Some(sealed) => self.open_fields(cluster_id, &sealed)?,
            None => Map::new(),
        };
        let sensitive = match catalog.providertypes.get(&body.provider.providertype) {
            Some(spec) => {
                let split = split_provider_fields(spec, &body.provider, provider_fields, &stored)?;
                body.provider.provisioner.extend(split.plain);
                if split.sensitive.is_empty() {
                    None
                } else {
                    Some(self.seal_fields(cluster_id, &split.sensitive)?)
                }
            }
            None => None,
        };

        let mut node_bodies = Vec::new();
        let mut new_nodes = Vec::new();
        let (action, allowed, planned_nodes): (
            ClusterAction,
            &'static [&'static str],
            Vec<NodeRow>,
        ) = match op {
            ClusterOp::Delete => (ClusterAction::Delete, DELETABLE, nodes.clone()),
            ClusterOp::Configure { config, restart } => {
                if let Some(config) = config {
                    body.config = config.clone();
                }
                let action = if *restart {
                    ClusterAction::ConfigureWithRestart
                } else {
                    ClusterAction::Configure
                };
                (action, CONFIGURABLE, nodes.clone())
            }
            ClusterOp::StartServices(s) => {
                check_on_cluster(&body, s.as_deref())?;
                (
                    ClusterAction::StartServices(s.clone()),
                    ACTIVE,
                    nodes.clone(),
                )
            }
            ClusterOp::StopServices(s) => {
                check_on_cluster(&body, s.as_deref())?;
                (
                    ClusterAction::StopServices(s.clone()),
                    ACTIVE,
                    nodes.clone(),
                )
            }
            ClusterOp::RestartServices(s) => {
                check_on_cluster(&body, s.as_deref())?;
                (
                    ClusterAction::RestartServices(s.clone()),
                    ACTIVE,
                    nodes.clone(),
                )
            }
            ClusterOp::RemoveServices(services) => {
                check_on_cluster(&body, Some(services))?;
                let remaining: Vec<String> = body
                    .services
                    .iter()
                    .filter(|s| !services.contains(s))
                    .cloned()
                    .collect();
                // a remaining service that requires a removed one would break
                for name in &remaining {
                    if let Some(service) = catalog.services.get(name) {
                        let deps = &service.dependencies;
                        let needs = deps
                            .runtime
                            .requires
                            .iter()
                            .chain(&deps.install.requires)
                            .find(|d| services.contains(d));
                        if let Some(needed) = needs {
                            return Err(FieldError::new(
                                "services",
                                "dependency",
                                format!(
                                    "service '{name}' requires '{needed}', which would be removed"
                                ),
                            )
                            .into());
                        }
                    }
                }
                for node in &nodes {
                    let mut nb: NodeBody = parse("node", &node.body)?;
                    if nb.properties.services.iter().any(|s| services.contains(s)) {
                        nb.properties.services.retain(|s| !services.contains(s));
                        nb.properties.automators = automators(&nb.properties.services, &catalog);
                        node_bodies.push((node.id.clone(), to_json(&nb)));
                    }
                }
                body.services = remaining;
                (
                    ClusterAction::RemoveServices(services.clone()),
                    ACTIVE,
                    nodes.clone(),
                )
            }
            ClusterOp::AddServices(services) => {
                if services.is_empty() {
                    return Err(FieldError::new(
                        "services",
                        "required",
                        "name at least one service",
                    )
                    .into());
                }
                if let Some(s) = services.iter().find(|s| body.services.contains(s)) {
                    return Err(FieldError::new(
                        "services",
                        "unique",
                        format!("service '{s}' is already on the cluster"),
                    )
                    .into());
                }
                let mut all: Vec<String> = body.services.clone();
                all.extend(services.iter().cloned());
                let problem = self.problem_for(&body, &nodes, Some(all.clone()), &catalog)?;
                let existing = existing_nodes(&nodes)?;
                let placements = weft_solver::add_services(&problem, &existing, services)
                    .map_err(solve_error)?;
                let mut changed = BTreeSet::new();
                for (index, added) in placements {
                    if let Some(node) = nodes.get(index) {
                        let mut nb: NodeBody = parse("node", &node.body)?;
                        nb.properties.services.extend(added);
                        nb.properties.services.sort();
                        nb.properties.automators = automators(&nb.properties.services, &catalog);
                        node_bodies.push((node.id.clone(), to_json(&nb)));
                        changed.insert(node.id.clone());
                    }
                }
                body.services = all;
                body.services.sort();
                let planned = with_bodies(&nodes, &node_bodies);
                (
                    ClusterAction::AddServices {
                        services: services.clone(),
                        nodes: changed,
                    },
                    ACTIVE,
                    planned,
                )
            }
            ClusterOp::AddNodes(count) => {
                if *count == 0 {
                    return Err(
                        FieldError::new("numMachines", "range", "add at least one node").into(),
                    );
                }
                let problem = self.problem_for(&body, &nodes, None, &catalog)?;
                let existing = existing_nodes(&nodes)?;
                let layout =
                    weft_solver::add_nodes(&problem, &existing, *count).map_err(solve_error)?;
                let first = nodes
                    .iter()
                    .map(|n| n.nodenum)
                    .max()
                    .map_or(1000, |n| n + 1) as u32;
                let number: i64 = cluster_id.parse().unwrap_or(0);
                let provider = body.provider.name.clone();
                let props = nodes_of_layout(&layout, &catalog, &provider, first, |n| {
                    hostname(&cluster.name, number, n, &body.dns_suffix)
                });
                for properties in props {
                    new_nodes.push(NodeRow {
                        id: uuid::Uuid::new_v4().to_string(),
                        cluster_id: cluster_id.into(),
                        tenant_id: tenant_id.into(),
                        nodenum: i64::from(properties.nodenum),
                        body: to_json(&NodeBody {
                            properties,
                            provisioner_results: Map::new(),
                        }),
                    });
                }
                let ids = new_nodes.iter().map(|n| n.id.clone()).collect();
                let mut all = nodes.clone();
                all.extend(new_nodes.iter().cloned());
                (ClusterAction::AddNodes(ids), ACTIVE, all)
            }
        };
        let plan_services: Vec<String> = match op {
            // the removed services are planned (stopped and removed) from the old bodies
            ClusterOp::RemoveServices(_) => nodes
                .iter()
                .filter_map(|n| parse::<NodeBody>("node", &n.body).ok())
                .flat_map(|b| b.properties.services)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            _ => body.services.clone(),
        };
        let plan = plan_for(&action, &planned_nodes, &plan_services, &catalog)?;
        let now = now_ms();
        let jobs = self.store.cluster_jobs(cluster_id).await?;
        let job_body = JobBody {
            planned_services: match op {
                ClusterOp::AddServices(s) | ClusterOp::RemoveServices(s) => Some(s.clone()),
                ClusterOp::StartServices(s)
                | ClusterOp::StopServices(s)
                | ClusterOp::RestartServices(s) => s.clone(),
                _ => None,
            },
            planned_nodes: match &action {
                ClusterAction::AddNodes(ids) => Some(ids.iter().cloned().collect()),
                _ => None,
            },
        };
        let job = job_row(
            cluster_id,
            tenant_id,
            jobs.len() + 1,
            &action,
            &job_body,
            now,
        );
        let tasks = task_rows(&plan, &job, now, 0);
        let new = NewJob {
            job: job.clone(),
            tasks,
            allowed,
            cluster_body: Some(to_json(&body)),
            new_nodes,
            node_bodies,
            sensitive,
        };
        self.store.start_job(tenant_id, cluster_id, &new).await?;
        self.advance(&job.id).await?;
        Ok(Some(job.id))
    }

    fn problem_for(
        &self,
        body: &ClusterBody,
        nodes: &[NodeRow],
        services: Option<Vec<String>>,
        catalog: &weft_catalog::Catalog,
    ) -> Result<weft_solver::Problem, EngineError> {
        weft_solver::prepare(
            &body.cluster_template,
            &ClusterRequest {
                num_machines: nodes.len().max(1) as u32,
                provider: Some(body.provider.name.clone()),
                hardwaretype: None,
                imagetype: None,
                services: Some(services.unwrap_or_else(|| body.services.clone())),
            },
            catalog,
        )
        .map_err(solve_error)
    }

    /// Pauses the cluster's running job: running tasks finish, nothing new starts.
    pub async fn pause(
        &self,
        tenant_id: &str,
        owner: Option<&str>,
        cluster_id: &str,
    ) -> Result<(), EngineError> {
        let job = self.latest_job(tenant_id, owner, cluster_id).await?;
        let now = now_ms();
        if !self
            .store
            .set_job_status(tenant_id, &job, &["running"], "paused", None, now)
            .await?
        {
            return Err(EngineError::Conflict(format!(
                "cluster '{cluster_id}' has no running job to pause"
            )));
        }
        Ok(())
    }

    /// Resumes a paused job, or a failed one from the stage that failed (its failed and
    /// dropped tasks run again with fresh attempts).
    pub async fn resume(
        &self,
        tenant_id: &str,
        owner: Option<&str>,
        cluster_id: &str,
    ) -> Result<String, EngineError> {
        let job = self.latest_job(tenant_id, owner, cluster_id).await?;
        let now = now_ms();
        let resumed = self
            .store
            .set_job_status(tenant_id, &job, &["paused"], "running", None, now)
            .await?
            || self
                .store
                .reopen_failed_job(tenant_id, cluster_id, &job, now)
                .await?;
        if !resumed {
            return Err(EngineError::Conflict(format!(
                "cluster '{cluster_id}' has no paused or failed job to resume"
            )));
        }
        self.advance(&job).await?;
        Ok(job)
    }

    /// Aborts a running cluster create (Coopr: create only): the job fails "Aborted by user."
    pub async fn abort(
        &self,
        tenant_id: &str,
        owner: Option<&str>,
        cluster_id: &str,
    ) -> Result<(), EngineError> {
        let job_id = self.latest_job(tenant_id, owner, cluster_id).await?;
        let job = self
            .store
            .get_job(tenant_id, &job_id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("job '{job_id}' does not exist")))?;
        if job.action != "CLUSTER_CREATE" {
            return Err(EngineError::Conflict(
                "Cannot be aborted at this time: only a cluster create can be aborted".into(),
            ));
        }
        let now = now_ms();
        let aborted = self
            .store
            .set_job_status(
                tenant_id,
                &job_id,
                &[
                    JobStatus::Running.as_str(),
                    JobStatus::Paused.as_str(),
                    JobStatus::NotSubmitted.as_str(),
                ],
                JobStatus::Failed.as_str(),
                Some("Aborted by user."),
                now,
            )
            .await?;
        if !aborted {
            return Err(EngineError::Conflict(
                "Cannot be aborted at this time: the create is not running".into(),
            ));
        }
        self.advance(&job_id).await
    }

    /// Extends (or shortens) a cluster's lease under the template's rules (coopr-notes §4.5).
    pub async fn change_lease(
        &self,
        tenant_id: &str,
        owner: Option<&str>,
        cluster_id: &str,
        change: LeaseChange,
    ) -> Result<(), EngineError> {
        let cluster = self.visible_cluster(tenant_id, owner, cluster_id).await?;
        if cluster.status == "terminated" || cluster.status == "pending" {
            return Err(FieldError::new(
                "expireTime",
                "state",
                format!("the lease of a {} cluster cannot change", cluster.status),
            )
            .into());
        }
        let body: ClusterBody = parse("cluster", &cluster.body)?;
        let lease = &body.cluster_template.administration.leaseduration;
        let (max, step) = (lease.max.0 as i64, lease.step.0 as i64);
        let new = change.expire_time;
        if new < cluster.create_time {
            return Err(FieldError::new(
                "expireTime",
                "range",
                "the lease cannot end before the cluster was created",
            )
            .into());
        }
        if max != 0 {
            if step != 0 && new - cluster.expire_time > step {
                return Err(FieldError::new(
                    "expireTime",
                    "step",
                    format!("a lease may grow by at most {step} ms at a time"),
                )
                .into());
            }
            if new > cluster.create_time + max {
                return Err(FieldError::new(
                    "expireTime",
                    "max",
                    format!("the lease may end at most {max} ms after the cluster was created"),
                )
                .into());
            }
        }
        self.store
            .set_expire_time(tenant_id, cluster_id, new)
            .await?;
        Ok(())
    }

    async fn latest_job(
        &self,
        tenant_id: &str,
        owner: Option<&str>,
        cluster_id: &str,
    ) -> Result<String, EngineError> {
        let cluster = self.visible_cluster(tenant_id, owner, cluster_id).await?;
        cluster
            .latest_job_id
            .ok_or_else(|| EngineError::Conflict(format!("cluster '{cluster_id}' has no job")))
    }
}

fn check_on_cluster(body: &ClusterBody, services: Option<&[String]>) -> Result<(), EngineError> {
    for service in services.into_iter().flatten() {
        if !body.services.contains(service) {
            return Err(EngineError::NotFound(format!(
                "service '{service}' is not on the cluster"
            )));
        }
    }
    Ok(())
}

fn existing_nodes(nodes: &[NodeRow]) -> Result<Vec<ExistingNode>, EngineError> {
    nodes
        .iter()
        .map(|n| {
            let body: NodeBody = parse("node", &n.body)?;
            Ok(ExistingNode {
                hardwaretype: body.properties.hardwaretype,
                imagetype: body.properties.imagetype,
                services: body.properties.services,
            })
        })
        .collect()
}

/// `nodes` with the bodies in `changed` put in.
fn with_bodies(nodes: &[NodeRow], changed: &[(String, String)]) -> Vec<NodeRow> {
    nodes
        .iter()
        .map(|n| {
            let mut n = n.clone();
            if let Some((_, body)) = changed.iter().find(|(id, _)| *id == n.id) {
                n.body = body.clone();
            }
            n
        })
        .collect()
}
