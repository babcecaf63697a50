//! Running one assignment: load its plugins (cached by digest, checked against it), build the
//! task and its capabilities, run, stream the log, heartbeat, and turn the outcome into a report.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};
use weft_model::{PluginRef, ResourceRef, TaskAssignment, TaskLogLine, TaskReport};
use weft_runtime::{
    Capabilities, KeyValue, NodeInfo, Operation, Plugin, Runtime, ServiceAction, Task, TaskFailure,
    TaskLimits,
};
use weft_ssh::{HostKeyPolicy, KeyPair, Target};

use crate::{SourceError, TaskSource};

/// The name a task's SSH target has for its plugin.
const NODE_TARGET: &str = "node";

/// Runs tasks in one runtime, keeping loaded plugins by digest.
pub struct Executor {
    runtime: Arc<Runtime>,
    limits: TaskLimits,
    loaded: tokio::sync::Mutex<HashMap<String, Arc<Plugin>>>,
    /// Folders of live resource sets, one per set (named by the hash of what is in it), made
    /// once and read-only after: a sync makes a new set, and tasks still running keep theirs.
    resource_sets: tokio::sync::Mutex<Option<tempfile::TempDir>>,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("limits", &self.limits)
            .finish()
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

fn pairs(map: &BTreeMap<String, String>) -> Vec<KeyValue> {
    map.iter()
        .map(|(k, v)| KeyValue {
            key: k.clone(),
            value: v.clone(),
        })
        .collect()
}

fn operation(task_name: &str) -> Option<Operation> {
    task_name.to_lowercase().parse().ok()
}

impl Executor {
    pub fn new(runtime: Arc<Runtime>, limits: TaskLimits) -> Executor {
        Executor {
            runtime,
            limits,
            loaded: tokio::sync::Mutex::new(HashMap::new()),
            resource_sets: tokio::sync::Mutex::new(None),
        }
    }

    /// The folder of `plugin`'s live resources in the task's tenant (`<type>/<name>`), or
    /// none when it has none.
    async fn resources<S: TaskSource>(
        &self,
        source: &S,
        plugin: &PluginRef,
        all: &[ResourceRef],
    ) -> Result<Option<PathBuf>, SourceError> {
        let mut mine: Vec<&ResourceRef> = all.iter().filter(|r| r.plugin == plugin.name).collect();
        if mine.is_empty() {
            return Ok(None);
        }
        mine.sort_by(|a, b| (&a.resource_type, &a.name).cmp(&(&b.resource_type, &b.name)));
        let mut hasher = Sha256::new();
        for r in &mine {
            hasher.update(format!("{}\0{}\0{}\0", r.resource_type, r.name, r.digest));
        }
        let set: String = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let io = |what: &str, e: std::io::Error| SourceError(format!("{what}: {e}"));
        // one set is made at a time; a made set is only read
        let mut root = self.resource_sets.lock().await;
        if root.is_none() {
            *root = Some(
                tempfile::Builder::new()
                    .prefix("weft-resources-")
                    .tempdir()
                    .map_err(|e| io("making the resource folder", e))?,
            );
        }
        let Some(root) = root.as_ref() else {
            return Ok(None);
        };
        let dir = root.path().join(&set);
        if dir.exists() {
            return Ok(Some(dir));
        }
        let staging = root.path().join(format!("{set}.partial"));
        let _ = std::fs::remove_dir_all(&staging);
        for r in &mine {
            let bytes = source.resource(r).await?;
            let digest: String = Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            if digest != r.digest {
                return Err(SourceError(format!(
                    "{} resource '{}' version {} does not match its digest",
                    r.resource_type, r.name, r.version
                )));
            }
            // names were checked at upload ([\w.-]+), so they stay inside the folder
            let folder = staging.join(&r.resource_type);
            std::fs::create_dir_all(&folder).map_err(|e| io("making a resource folder", e))?;
            std::fs::write(folder.join(&r.name), &bytes)
                .map_err(|e| io("writing a resource", e))?;
        }
        std::fs::rename(&staging, &dir).map_err(|e| io("publishing a resource set", e))?;
        Ok(Some(dir))
    }

    async fn plugin<S: TaskSource>(
        &self,
        source: &S,
        plugin: &PluginRef,
    ) -> Result<Arc<Plugin>, SourceError> {
        if let Some(loaded) = self.loaded.lock().await.get(&plugin.digest) {
            return Ok(loaded.clone());
        }
        let bytes = source.component(plugin).await?;
        let digest: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if digest != plugin.digest {
            return Err(SourceError(format!(
                "the component of plugin '{}' version {} does not match its digest",
                plugin.name, plugin.version
            )));
        }
        let runtime = self.runtime.clone();
        let loaded = tokio::task::spawn_blocking(move || runtime.load(&bytes))
            .await
            .map_err(|e| SourceError(format!("loading the plugin failed: {e}")))?
            .map_err(|e| SourceError(format!("plugin '{}' cannot be loaded: {e}", plugin.name)))?;
        let loaded = Arc::new(loaded);
        self.loaded
            .lock()
            .await
            .insert(plugin.digest.clone(), loaded.clone());
        Ok(loaded)
    }

    /// Runs `assignment` and answers its report. Never fails: every failure is a report.
    pub async fn execute<S: TaskSource>(
        &self,
        source: &S,
        slot: usize,
        assignment: &TaskAssignment,
        heartbeat: Duration,
    ) -> TaskReport {
        let mut report = TaskReport {
            task_id: assignment.task_id.clone(),
            attempt: assignment.attempt,
            ..TaskReport::default()
        };
        let Some(op) = operation(&assignment.task_name) else {
            report.status = 1;
            report.stderr = format!("unknown task '{}'", assignment.task_name);
            return report;
        };
        let (log_tx, mut log_rx) = tokio::sync::mpsc::unbounded_channel();
        // set when a heartbeat finds the lease gone: the task now belongs to another worker
        let lost = tokio::sync::Notify::new();
        // the run owns the sender: the stream below ends when the run does
        let run = async move {
            let log_tx = log_tx;
            let mut prior = assignment.prior_results.clone();
            let mut result = TaskReport::default();
            for plugin in &assignment.plugins {
                let loaded = match self.plugin(source, plugin).await {
                    Ok(loaded) => loaded,
                    Err(e) => {
                        result.status = 1;
                        result.stderr = e.to_string();
                        return result;
                    }
                };
                let task = build_task(assignment, &prior);
                let resources = match self.resources(source, plugin, &assignment.resources).await {
                    Ok(r) => r,
                    Err(e) => {
                        result.status = 1;
                        result.stderr = format!("the plugin's resources: {e}");
                        return result;
                    }
                };
                let capabilities = match capabilities(assignment, plugin, resources) {
                    Ok(c) => c,
                    Err(e) => {
                        result.status = 1;
                        result.stderr = e;
                        return result;
                    }
                };
                let outcome = self
                    .runtime
                    .run_streaming(
                        &loaded,
                        op,
                        &task,
                        &capabilities,
                        &self.limits,
                        Some(log_tx.clone()),
                    )
                    .await;
                // the plugin's own time, for the task log and for `weft bench create`
                let _ = log_tx.send(weft_runtime::LogLine {
                    level: "info",
                    message: weft_model::PLUGIN_RAN_LOG.into(),
                    fields: vec![
                        (
                            "plugin".into(),
                            format!("{}@{}", plugin.name, plugin.version),
                        ),
                        ("operation".into(), assignment.task_name.to_lowercase()),
                        ("elapsed_ms".into(), outcome.elapsed.as_millis().to_string()),
                    ],
                });
                result.stdout.push_str(&outcome.stdout);
                result.stderr.push_str(&outcome.stderr);
                for (_, key) in outcome.learned_host_keys {
                    result.host_keys.insert(NODE_TARGET.into(), key);
                }
                let outcome_result = match outcome.result {
                    // an automator with nothing to set up on a node
                    Err(TaskFailure::Plugin(weft_runtime::PluginError::Unsupported(_)))
                        if op == Operation::Bootstrap =>
                    {
                        Ok(weft_runtime::TaskResult {
                            results: vec![],
                            hostname: None,
                            ip_addresses: vec![],
                        })
                    }
                    other => other,
                };
                match outcome_result {
                    Ok(done) => {
                        for kv in done.results {
                            let value = serde_json::from_str(&kv.value)
                                .unwrap_or(Value::String(kv.value.clone()));
                            prior.insert(kv.key.clone(), kv.value);
                            result.result.insert(kv.key, value);
                        }
                        for kv in done.ip_addresses {
                            result.ipaddresses.insert(kv.key, kv.value);
                        }
                        if done.hostname.is_some() {
                            result.hostname = done.hostname;
                        }
                    }
                    Err(failure) => {
                        result.status = 1;
                        if !result.stderr.is_empty() && !result.stderr.ends_with('\n') {
                            result.stderr.push('\n');
                        }
                        result
                            .stderr
                            .push_str(&format!("{}: {failure}", plugin.name));
                        if failure == TaskFailure::Quarantined || loaded.is_quarantined() {
                            result.quarantine = Some((plugin.name.clone(), plugin.version));
                        }
                        return result;
                    }
                }
            }
            result
        };
        // stream the log and keep the lease while the plugin runs
        let stream = async {
            let mut seq = 1;
            let mut beat = tokio::time::interval(heartbeat);
            beat.tick().await;
            let mut flush = tokio::time::interval(Duration::from_millis(250));
            let mut pending = Vec::new();
            loop {
                tokio::select! {
                    line = log_rx.recv() => match line {
                        Some(line) => pending.push(TaskLogLine {
                            at: now_ms(),
                            level: line.level.to_string(),
                            line: if line.fields.is_empty() {
                                line.message
                            } else {
                                let fields: Vec<String> = line.fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
                                format!("{} {}", line.message, fields.join(" "))
                            },
                        }),
                        None => break,
                    },
                    _ = flush.tick() => {
                        if !pending.is_empty() {
                            let lines = std::mem::take(&mut pending);
                            let count = lines.len() as i64;
                            if let Err(e) = source.log(slot, &assignment.task_id, assignment.attempt, seq, lines).await {
                                tracing::warn!(error = %e, "streaming the task log failed");
                            }
                            seq += count;
                        }
                    }
                    _ = beat.tick() => {
                        match source.heartbeat(slot, &assignment.task_id).await {
                            Ok(true) => {}
                            Ok(false) => {
                                tracing::warn!(task = %assignment.task_id, "the lease was lost while the task ran: cancelling it");
                                lost.notify_one();
                            }
                            Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
                        }
                    }
                }
            }
            (pending, seq)
        };
        // dropping the run stops the plugin at its next yield (epoch interruption makes even
        // a busy loop yield), drops its sandbox and closes its SSH sessions
        let run = async {
            tokio::select! {
                result = run => result,
                _ = lost.notified() => TaskReport {
                    status: 1,
                    stderr: "cancelled: the task's lease was lost (it runs elsewhere now)".into(),
                    ..TaskReport::default()
                },
            }
        };
        let (result, (pending, seq)) = tokio::join!(run, stream);
        if !pending.is_empty()
            && let Err(e) = source
                .log(
                    slot,
                    &assignment.task_id,
                    assignment.attempt,
                    seq,
                    pending.clone(),
                )
                .await
        {
            tracing::warn!(error = %e, "streaming the task log failed; it goes with the report");
            report.log = pending;
        }
        TaskReport {
            task_id: report.task_id,
            attempt: report.attempt,
            log: report.log,
            ..result
        }
    }
}

fn node_info(id: &str, props: &weft_model::NodeProperties) -> NodeInfo {
    NodeInfo {
        id: id.into(),
        nodenum: props.nodenum,
        hostname: Some(props.hostname.clone()),
        ip_addresses: pairs(&props.ipaddresses),
        hardwaretype: props.hardwaretype.clone(),
        imagetype: props.imagetype.clone(),
        flavor: props.flavor.clone(),
        image: props.image.clone(),
        ssh_user: props.sshuser.clone(),
        services: props.services.clone(),
        automators: props.automators.clone(),
    }
}

/// The WIT task of an assignment, with `prior` as the node's results so far.
fn build_task(a: &TaskAssignment, prior: &BTreeMap<String, String>) -> Task {
    let node = a
        .nodes
        .get(&a.node_id)
        .map(|p| node_info(&a.node_id, p))
        .unwrap_or_else(|| NodeInfo {
            id: a.node_id.clone(),
            nodenum: 0,
            hostname: None,
            ip_addresses: vec![],
            hardwaretype: String::new(),
            imagetype: String::new(),
            flavor: None,
            image: None,
            ssh_user: None,
            services: vec![],
            automators: vec![],
        });
    Task {
        id: a.task_id.clone(),
        cluster_id: a.cluster_id.clone(),
        node,
        nodes: a.nodes.iter().map(|(id, p)| node_info(id, p)).collect(),
        config_json: Value::Object(a.config.clone()).to_string(),
        provider_fields: pairs(&a.provider_fields),
        service: a.service.as_ref().map(|s| ServiceAction {
            name: s.name.clone(),
            fields: pairs(&s.fields),
        }),
        prior_results: pairs(prior),
        ssh_target: a.ssh.as_ref().map(|_| NODE_TARGET.to_string()),
    }
}

/// Exactly what `plugin` was granted, narrowed to this task: its approved HTTP endpoints and
/// sockets, SSH to this task's node only, the sensitive fields as secrets.
fn capabilities(
    a: &TaskAssignment,
    plugin: &PluginRef,
    resources: Option<PathBuf>,
) -> Result<Capabilities, String> {
    let mut grants = weft_grants::task_grants(&plugin.grants);
    let mut ssh = BTreeMap::new();
    if plugin.grants.ssh
        && let Some(endpoint) = &a.ssh
    {
        let key = KeyPair::from_openssh(&endpoint.private_key)
            .map_err(|e| format!("the cluster key cannot be read: {e}"))?;
        ssh.insert(
            NODE_TARGET.to_string(),
            Target {
                address: endpoint.address.clone(),
                user: endpoint.user.clone(),
                key,
                host_key: match &endpoint.host_key {
                    Some(k) => HostKeyPolicy::Pinned(k.clone()),
                    None => HostKeyPolicy::PinOnFirstUse,
                },
            },
        );
        grants.ssh_targets.push(NODE_TARGET.into());
    }
    // a provider drawing from a pool reaches the pool's machines with the pool's login
    if plugin.grants.ssh {
        for machine in &a.pool {
            let key = KeyPair::from_openssh(&machine.private_key)
                .map_err(|e| format!("the pool's login key cannot be read: {e}"))?;
            let name = weft_model::pool_target(&machine.machine);
            ssh.insert(
                name.clone(),
                Target {
                    address: machine.address.clone(),
                    user: machine.user.clone(),
                    key,
                    host_key: HostKeyPolicy::Pinned(machine.host_key.clone()),
                },
            );
            grants.ssh_targets.push(name);
        }
    }
    Ok(Capabilities {
        grants,
        credentials: Vec::new(),
        ssh,
        resources,
        secrets: a.secrets.clone(),
    })
}
