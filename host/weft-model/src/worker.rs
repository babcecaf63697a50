//! The worker protocol (Coopr's provisioner API, coopr-notes §2.2 and §5.5): what a worker
//! takes and what it reports. The same types serve embedded workers and `weft worker`
//! processes.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{NodeProperties, PluginGrants, PluginKind, PoolTarget, ResourceRef};

/// The task-log line a worker writes after each plugin call, with the fields `plugin`,
/// `operation` and `elapsed_ms` (`plugin ran plugin=docker@1 operation=create elapsed_ms=812`).
pub const PLUGIN_RAN_LOG: &str = "plugin ran";

/// Which plugin version runs a task, and what it was granted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PluginRef {
    pub name: String,
    pub version: i64,
    /// SHA-256 of the component, for the worker's cache.
    pub digest: String,
    pub kind: PluginKind,
    /// What an admin approved for this version.
    pub grants: PluginGrants,
}

/// The SSH endpoint of the task's node. The private key is the cluster's; only the host holds
/// it, never the plugin. `Debug` leaves the key out.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SshEndpoint {
    pub user: String,
    /// `host:port`.
    pub address: String,
    /// The pinned host key (`ssh-ed25519 AAAA...`); none: pin on first use (at CONFIRM).
    pub host_key: Option<String>,
    /// OpenSSH private key text.
    pub private_key: String,
}

impl std::fmt::Debug for SshEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshEndpoint")
            .field("user", &self.user)
            .field("address", &self.address)
            .field("host_key", &self.host_key)
            .field("private_key", &"[redacted]")
            .finish()
    }
}

/// The service action a service task runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TaskService {
    pub name: String,
    /// The automator type's fields for the action, values as JSON text.
    pub fields: BTreeMap<String, String>,
}

/// One task handed to a worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskAssignment {
    pub task_id: String,
    pub job_id: String,
    pub cluster_id: String,
    pub tenant_id: String,
    /// CREATE, CONFIRM, ..., upper case.
    pub task_name: String,
    pub node_id: String,
    /// Which attempt this is (1, 2, ...); report it back with the finish.
    pub attempt: i64,
    /// The lease ends here (ms since the epoch) unless the worker heartbeats.
    pub lease_until: i64,
    /// Every node of the cluster, the task's included, by id; the tasks of one stage share one
    /// copy.
    #[schema(value_type = Object)]
    pub nodes: Arc<BTreeMap<String, NodeProperties>>,
    /// The cluster config as JSON, macros expanded for this node (service tasks).
    #[schema(value_type = Object)]
    pub config: Map<String, Value>,
    /// Provider fields (admin and user, not sensitive), values as JSON text. Includes the
    /// machine tags `weft-tenant`, `weft-cluster`, `weft-node` and `weft-attempt` that a
    /// provider puts on what it creates, so a retry adopts rather than duplicates, and, for
    /// provider tasks, the cluster's public SSH key `weft-ssh-public-key` for the machines.
    pub provider_fields: BTreeMap<String, String>,
    pub service: Option<TaskService>,
    /// Results of this node's earlier tasks, merged key by key, values as JSON text.
    pub prior_results: BTreeMap<String, String>,
    /// The plugins to run, in order (BOOTSTRAP runs every automator of the node).
    pub plugins: Vec<PluginRef>,
    /// Sensitive provider fields, handed to the plugin only as secret handles.
    pub secrets: BTreeMap<String, String>,
    pub ssh: Option<SshEndpoint>,
    /// Provider tasks of a provider with a `pool` field: the pool's machines, reached as SSH
    /// targets `pool/<machine>` with the pool's login.
    #[serde(default)]
    pub pool: Vec<PoolTarget>,
    /// The live resources of the task's plugins in the tenant.
    #[serde(default)]
    pub resources: Vec<ResourceRef>,
}

/// How a task ended (Coopr's finish body, plus the log and what the host learned).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskReport {
    pub task_id: String,
    pub attempt: i64,
    /// 0 is success.
    pub status: i32,
    #[serde(default)]
    pub stdout: String,
    #[serde(default)]
    pub stderr: String,
    /// Merged into the node's results, values as JSON.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub result: Map<String, Value>,
    #[serde(default)]
    pub ipaddresses: BTreeMap<String, String>,
    #[serde(default)]
    pub hostname: Option<String>,
    /// Log lines not already streamed.
    #[serde(default)]
    pub log: Vec<TaskLogLine>,
    /// Host keys learned on first contact (CONFIRM), pinned for later tasks.
    #[serde(default)]
    pub host_keys: BTreeMap<String, String>,
    /// The plugin trapped repeatedly and the worker's runtime stopped it: name and version.
    #[serde(default)]
    pub quarantine: Option<(String, i64)>,
}

/// One line of a task's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TaskLogLine {
    /// Milliseconds since the epoch.
    pub at: i64,
    pub level: String,
    pub line: String,
}

/// A worker's registration (Coopr's `PUT /v2/provisioners/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkerRegistration {
    pub host: String,
    pub capacity_total: u32,
}

/// A heartbeat: tasks running now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkerHeartbeat {
    pub usage: u32,
}

/// A take request from worker `provisionerId`'s slot `workerId`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TakeRequest {
    pub provisioner_id: String,
    pub worker_id: String,
}

/// A finish: who reports, and the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FinishRequest {
    pub provisioner_id: String,
    pub worker_id: String,
    #[serde(flatten)]
    pub report: TaskReport,
}

/// A running task's heartbeat from the slot that holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskHeartbeat {
    pub provisioner_id: String,
    pub worker_id: String,
    pub task_id: String,
}

/// Log lines of a running attempt, the first numbered `firstSeq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskLogBatch {
    pub provisioner_id: String,
    pub worker_id: String,
    pub task_id: String,
    pub attempt: i64,
    pub first_seq: i64,
    pub lines: Vec<TaskLogLine>,
}
