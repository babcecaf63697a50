//! Handing tasks to workers and taking their reports.
//!
//! A take claims a task (the attempt is written in the same transaction) and builds what the
//! worker needs: the task in Coopr's shape, the plugin versions with their approved grants,
//! the sensitive fields (only now, never in the queue) and, for tasks on a reachable node, the
//! node's SSH endpoint with the cluster key. A task that cannot run at all (no plugin, a macro
//! that cannot expand) fails on the spot and the next one is taken.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use weft_model::{
    EntityKind, ParameterRole, PluginKind, PluginRef, PluginStatus, PluginTypeSpec, Service,
    SshEndpoint, TaskAssignment, TaskReport, TaskService,
};
use weft_store::{AttemptEnd, ClaimedJobTask, ClusterRow, NodeRow};

use crate::create::key_context;
use crate::model::{ClusterBody, NodeBody, parse, to_json};
use crate::pools::{POOL_FIELD, POOL_TASK_FIELD};
use crate::{Engine, EngineError, now_ms};

/// Who takes: one slot of one worker process, limited to one tenant or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerIdentity {
    /// Unique per slot: `provisioner/slot`.
    pub worker: String,
    pub tenant_id: Option<String>,
}

/// What became of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finished {
    Accepted,
    /// The lease expired or the task was failed by the janitor: the report is dropped (417).
    LeaseLost,
}

/// A JSON value as plugin input text: strings as themselves, anything else as JSON.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The provider field carrying the cluster's public SSH key (`authorized_keys` form).
pub const SSH_PUBLIC_KEY_FIELD: &str = "weft-ssh-public-key";

/// Why a claimed task cannot be handed out.
struct Unrunnable(String);

impl Engine {
    /// The next task for `who`, or `None` when nothing is ready for it.
    pub async fn take(&self, who: &WorkerIdentity) -> Result<Option<TaskAssignment>, EngineError> {
        loop {
            let now = now_ms();
            let lease_until = now + self.config.lease.as_millis() as i64;
            let Some(claimed) = self
                .store
                .claim_job_task(&who.worker, who.tenant_id.as_deref(), now, lease_until)
                .await?
            else {
                return Ok(None);
            };
            match self.assignment(&claimed).await? {
                Ok(assignment) => return Ok(Some(assignment)),
                Err(Unrunnable(why)) => {
                    tracing::warn!(task = %claimed.task.id, %why, "task cannot run");
                    let report = TaskReport {
                        task_id: claimed.task.id.clone(),
                        attempt: claimed.attempt,
                        status: 1,
                        stderr: why.clone(),
                        log: vec![weft_model::TaskLogLine {
                            at: now,
                            level: "error".into(),
                            line: why,
                        }],
                        ..TaskReport::default()
                    };
                    self.finish(who, &report).await?;
                }
            }
        }
    }

    async fn assignment(
        &self,
        claimed: &ClaimedJobTask,
    ) -> Result<Result<TaskAssignment, Unrunnable>, EngineError> {
        let task = &claimed.task;
        let tenant = task.tenant_id.as_str();
        let cluster = self
            .store
            .get_cluster(tenant, &task.cluster_id)
            .await?
            .ok_or_else(|| EngineError::Internal(format!("task {} has no cluster", task.id)))?;
        let body: ClusterBody = parse("cluster", &cluster.body)?;
        let nodes = self.store.cluster_nodes(&task.cluster_id).await?;
        let mut node_bodies = BTreeMap::new();
        for n in &nodes {
            node_bodies.insert(n.id.clone(), parse::<NodeBody>("node", &n.body)?);
        }
        let Some(node) = node_bodies.get(&task.node_id).cloned() else {
            return Ok(Err(Unrunnable(format!(
                "node {} is not part of the cluster",
                task.node_id
            ))));
        };
        let provider_spec = self
            .plugin_type(
                tenant,
                EntityKind::Providertypes,
                &body.provider.providertype,
            )
            .await?;
        let sensitive_names: Vec<String> = provider_spec
            .as_ref()
            .map(|spec| {
                [ParameterRole::Admin, ParameterRole::User]
                    .into_iter()
                    .flat_map(|role| spec.parameters_for(role).fields.into_iter())
                    .filter(|(_, f)| f.sensitive)
                    .map(|(name, _)| name)
                    .collect()
            })
            .unwrap_or_default();

        let is_provider_task = matches!(task.task_name.as_str(), "CREATE" | "CONFIRM" | "DELETE");
        let mut service = None;
        let plugin_names: Vec<(String, PluginKind)> = if is_provider_task {
            vec![(body.provider.providertype.clone(), PluginKind::Provider)]
        } else if task.task_name == "BOOTSTRAP" {
            node.properties
                .automators
                .iter()
                .map(|a| (a.clone(), PluginKind::Automator))
                .collect()
        } else {
            let Some(definition) = self.service(tenant, &task.service).await? else {
                return Ok(Err(Unrunnable(format!(
                    "service '{}' is no longer in the catalog",
                    task.service
                ))));
            };
            let action_name = task.task_name.to_lowercase();
            let Some(action) = definition.provisioner.actions.get(&action_name) else {
                return Ok(Err(Unrunnable(format!(
                    "service '{}' has no {action_name} action",
                    task.service
                ))));
            };
            service = Some(TaskService {
                name: task.service.clone(),
                fields: action.fields.clone(),
            });
            vec![(action.automator_type.clone(), PluginKind::Automator)]
        };
        let mut plugins = Vec::new();
        for (name, kind) in plugin_names {
            match self.plugin_ref(tenant, &name, kind).await? {
                Ok(plugin) => plugins.push(plugin),
                Err(why) => return Ok(Err(why)),
            }
        }

        // the cluster config, macros expanded for this node (service tasks)
        let config = if is_provider_task || task.task_name == "BOOTSTRAP" {
            body.config.clone()
        } else {
            let macro_nodes: Vec<weft_expand::Node> = nodes
                .iter()
                .filter_map(|n| node_bodies.get(&n.id).map(|b| (n, b)))
                .map(|(n, b)| weft_expand::Node {
                    id: n.id.clone(),
                    nodenum: b.properties.nodenum,
                    hostname: Some(b.properties.hostname.clone()),
                    ipaddresses: b.properties.ipaddresses.clone(),
                    services: b.properties.services.clone(),
                })
                .collect();
            let scope = weft_expand::Cluster {
                nodes: &macro_nodes,
                owner: &cluster.owner,
                this_node: Some(&task.node_id),
            };
            match weft_expand::expand_value(&Value::Object(body.config.clone()), &scope) {
                Ok(Value::Object(map)) => map,
                Ok(_) => Map::new(),
                Err(e) => {
                    return Ok(Err(Unrunnable(format!(
                        "Exception while expanding macros: {e}"
                    ))));
                }
            }
        };

        let mut provider_fields: BTreeMap<String, String> = BTreeMap::new();
        let mut secrets: BTreeMap<String, String> = BTreeMap::new();
        // sensitive fields reach only provider tasks, and only as secrets
        for (name, value) in &body.provider.provisioner {
            if !sensitive_names.contains(name) {
                provider_fields.insert(name.clone(), text(value));
            } else if is_provider_task {
                secrets.insert(name.clone(), text(value));
            }
        }
        if is_provider_task
            && let Some(sealed) = self.store.sensitive_fields(&task.cluster_id).await?
        {
            for (name, value) in self.open_fields(&task.cluster_id, &sealed)? {
                secrets.insert(name, text(&value));
            }
        }
        // a provider puts the cluster's public key on the machines it creates (the private
        // half stays sealed on the host)
        if is_provider_task
            && let Some((public, _)) = self.store.cluster_key(&task.cluster_id).await?
        {
            provider_fields.insert(SSH_PUBLIC_KEY_FIELD.into(), public);
        }
        for (key, value) in [
            ("weft-tenant", tenant.to_string()),
            ("weft-cluster", task.cluster_id.clone()),
            ("weft-node", task.node_id.clone()),
            ("weft-attempt", claimed.attempt.to_string()),
        ] {
            provider_fields.insert(key.into(), value);
        }

        let prior_results = node
            .provisioner_results
            .iter()
            .map(|(k, v)| (k.clone(), text(v)))
            .collect();
        // a provider that draws from a pool gets the pool's machines as SSH targets
        let mut pool = Vec::new();
        if is_provider_task
            && plugins.iter().any(|p| p.grants.ssh)
            && let Some(name) = body
                .provider
                .provisioner
                .get(POOL_FIELD)
                .and_then(Value::as_str)
        {
            match self.pool_for_task(tenant, name).await? {
                Ok((view, targets)) => {
                    provider_fields.insert(POOL_TASK_FIELD.into(), view);
                    pool = targets;
                }
                Err(why) => return Ok(Err(Unrunnable(why))),
            }
        }
        let mut resources = Vec::new();
        for plugin in &plugins {
            resources.extend(
                self.store
                    .live_resources(tenant, plugin.kind, &plugin.name)
                    .await?,
            );
        }
        let ssh = self.ssh_endpoint(&cluster, &node, &plugins).await?;
        Ok(Ok(TaskAssignment {
            task_id: task.id.clone(),
            job_id: task.job_id.clone(),
            cluster_id: task.cluster_id.clone(),
            tenant_id: tenant.into(),
            task_name: task.task_name.clone(),
            node_id: task.node_id.clone(),
            attempt: claimed.attempt,
            lease_until: claimed.lease_until,
            nodes: node_bodies
                .into_iter()
                .map(|(id, b)| (id, b.properties))
                .collect(),
            config,
            provider_fields,
            service,
            prior_results,
            plugins,
            secrets,
            ssh,
            pool,
            resources,
        }))
    }

    /// The node's SSH endpoint, when a plugin of the task may use SSH and the node has an
    /// address: `ipaddresses.access_v4` and the port in result `ssh_port` (default 22), the
    /// pinned key from result `ssh_host_key`.
    async fn ssh_endpoint(
        &self,
        cluster: &ClusterRow,
        node: &NodeBody,
        plugins: &[PluginRef],
    ) -> Result<Option<SshEndpoint>, EngineError> {
        if !plugins.iter().any(|p| p.grants.ssh) {
            return Ok(None);
        }
        let Some(host) = node.properties.ipaddresses.get("access_v4") else {
            return Ok(None);
        };
        let port = node
            .provisioner_results
            .get("ssh_port")
            .and_then(|v| {
                v.as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            })
            .unwrap_or(22);
        let Some((_, sealed)) = self.store.cluster_key(&cluster.id).await? else {
            return Ok(None);
        };
        let private = self.vault.open_string(&key_context(&cluster.id), &sealed)?;
        Ok(Some(SshEndpoint {
            user: node
                .properties
                .sshuser
                .clone()
                .unwrap_or_else(|| "root".into()),
            address: format!("{host}:{port}"),
            host_key: node
                .provisioner_results
                .get("ssh_host_key")
                .and_then(Value::as_str)
                .map(String::from),
            private_key: private.to_string(),
        }))
    }

    /// The latest version of the plugin named `name`: the tenant's own, or else the global one.
    async fn plugin_ref(
        &self,
        tenant: &str,
        name: &str,
        kind: PluginKind,
    ) -> Result<Result<PluginRef, Unrunnable>, EngineError> {
        for owner in [tenant, self.superadmin_tenant_id.as_str()] {
            match self.store.get_plugin(owner, name, None).await {
                Ok(record) => {
                    if record.kind != kind {
                        return Ok(Err(Unrunnable(format!(
                            "plugin '{name}' is a {}, not a {}",
                            record.kind.as_str(),
                            kind.as_str()
                        ))));
                    }
                    if record.status != PluginStatus::Active {
                        return Ok(Err(Unrunnable(format!(
                            "plugin '{name}' version {} is {}",
                            record.version,
                            record.status.as_str()
                        ))));
                    }
                    return Ok(Ok(PluginRef {
                        name: record.name,
                        version: record.version,
                        digest: record.digest,
                        kind,
                        grants: record.approved,
                    }));
                }
                Err(weft_store::StoreError::NotFound(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Err(Unrunnable(format!(
            "no plugin component is registered for type '{name}'"
        ))))
    }

    async fn plugin_type(
        &self,
        tenant: &str,
        kind: EntityKind,
        name: &str,
    ) -> Result<Option<PluginTypeSpec>, EngineError> {
        for owner in [tenant, self.superadmin_tenant_id.as_str()] {
            match self.store.get_entity(owner, kind, name, None).await {
                Ok(stored) => {
                    return Ok(serde_json::from_value(stored.to_json()).ok());
                }
                Err(weft_store::StoreError::NotFound(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(None)
    }

    async fn service(&self, tenant: &str, name: &str) -> Result<Option<Service>, EngineError> {
        match self
            .store
            .get_entity(tenant, EntityKind::Services, name, None)
            .await
        {
            Ok(stored) => Ok(serde_json::from_value(stored.to_json()).ok()),
            Err(weft_store::StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Keeps a worker's lease on a task.
    pub async fn heartbeat(
        &self,
        who: &WorkerIdentity,
        task_id: &str,
    ) -> Result<bool, EngineError> {
        let now = now_ms();
        let until = now + self.config.lease.as_millis() as i64;
        Ok(self
            .store
            .heartbeat_job_task(&who.worker, task_id, now, until)
            .await?
            .is_ok())
    }

    /// Appends streamed log lines to a running attempt.
    pub async fn append_log(
        &self,
        task_id: &str,
        attempt: i64,
        first_seq: i64,
        lines: &[weft_model::TaskLogLine],
    ) -> Result<(), EngineError> {
        let rows: Vec<(i64, String, String)> = lines
            .iter()
            .map(|l| (l.at, l.level.clone(), l.line.clone()))
            .collect();
        self.store
            .append_task_log(task_id, attempt, first_seq, &rows)
            .await?;
        Ok(())
    }

    /// Takes a worker's report; the job moves on.
    pub async fn finish(
        &self,
        who: &WorkerIdentity,
        report: &TaskReport,
    ) -> Result<Finished, EngineError> {
        let now = now_ms();
        let end = AttemptEnd {
            success: report.status == 0,
            stdout: report.stdout.clone(),
            stderr: report.stderr.clone(),
            log: report
                .log
                .iter()
                .map(|l| (l.at, l.level.clone(), l.line.clone()))
                .collect(),
        };
        let merge = |node: &NodeRow| -> Option<String> {
            let mut body: NodeBody = parse("node", &node.body).ok()?;
            // results merge for failures too (Coopr); addresses and hostname only on success
            for (k, v) in &report.result {
                body.provisioner_results.insert(k.clone(), v.clone());
            }
            if let Some(key) = report.host_keys.values().next() {
                body.provisioner_results
                    .insert("ssh_host_key".into(), Value::String(key.clone()));
            }
            if report.status == 0 {
                for (k, v) in &report.ipaddresses {
                    body.properties.ipaddresses.insert(k.clone(), v.clone());
                }
                if let Some(hostname) = &report.hostname {
                    body.properties.hostname = hostname.clone();
                }
            }
            Some(to_json(&body))
        };
        let job = self
            .store
            .finish_job_task(
                &who.worker,
                &report.task_id,
                report.attempt,
                &end,
                now,
                merge,
            )
            .await?;
        let Ok(job_id) = job else {
            return Ok(Finished::LeaseLost);
        };
        if let Some((name, version)) = &report.quarantine {
            self.quarantine(&report.task_id, name, *version).await;
        }
        self.advance(&job_id).await?;
        Ok(Finished::Accepted)
    }

    /// Marks a plugin version quarantined, wherever it is registered.
    async fn quarantine(&self, task_id: &str, name: &str, version: i64) {
        let Ok(Some((tenant, _))) = self.store.task_owner(task_id).await else {
            return;
        };
        for owner in [tenant.as_str(), self.superadmin_tenant_id.as_str()] {
            if self
                .store
                .set_plugin_status(owner, name, version, PluginStatus::Quarantined)
                .await
                .is_ok()
            {
                tracing::warn!(
                    plugin = name,
                    version,
                    "plugin quarantined after repeated traps"
                );
                return;
            }
        }
    }
}
