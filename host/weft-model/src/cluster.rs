//! Cluster requests as the API takes them (Coopr's `POST /v2/clusters` body).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The body of a cluster create, and of its preview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterCreateRequest {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The cluster template's name.
    #[serde(rename = "clusterTemplate")]
    pub cluster_template: String,
    #[serde(rename = "numMachines")]
    pub num_machines: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hardwaretype: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imagetype: Option<String>,
    /// Replaces the template's default services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<Vec<String>>,
    /// Cluster config, merged over the template's default config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub config: Option<Map<String, Value>>,
    #[serde(default, rename = "dnsSuffix", skip_serializing_if = "Option::is_none")]
    pub dns_suffix: Option<String>,
    /// Milliseconds; absent or -1 takes the template's initial lease.
    #[serde(
        default,
        rename = "initialLeaseDuration",
        skip_serializing_if = "Option::is_none"
    )]
    pub initial_lease_duration: Option<i64>,
    /// Values for the provider type's user fields (and overridable admin fields).
    #[serde(
        default,
        rename = "providerFields",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<Object>)]
    pub provider_fields: Option<Map<String, Value>>,
    /// A preview's token: the create fails with 409 if the catalog changed since that preview.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// Coopr's cluster statuses (coopr-notes §1.9).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ClusterStatus {
    /// A job is running.
    Pending,
    Active,
    /// A create or delete failed part-way; the cluster can be deleted.
    Incomplete,
    /// Was active; a later operation failed. It can be reconfigured or deleted.
    Inconsistent,
    Terminated,
}

impl ClusterStatus {
    pub const ALL: [ClusterStatus; 5] = [
        ClusterStatus::Pending,
        ClusterStatus::Active,
        ClusterStatus::Incomplete,
        ClusterStatus::Inconsistent,
        ClusterStatus::Terminated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ClusterStatus::Pending => "pending",
            ClusterStatus::Active => "active",
            ClusterStatus::Incomplete => "incomplete",
            ClusterStatus::Inconsistent => "inconsistent",
            ClusterStatus::Terminated => "terminated",
        }
    }

    pub fn parse(text: &str) -> Option<ClusterStatus> {
        ClusterStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// Coopr's job statuses (coopr-notes §1.11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    NotSubmitted,
    Running,
    Complete,
    Failed,
    Paused,
}

impl JobStatus {
    pub const ALL: [JobStatus; 5] = [
        JobStatus::NotSubmitted,
        JobStatus::Running,
        JobStatus::Complete,
        JobStatus::Failed,
        JobStatus::Paused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::NotSubmitted => "not_submitted",
            JobStatus::Running => "running",
            JobStatus::Complete => "complete",
            JobStatus::Failed => "failed",
            JobStatus::Paused => "paused",
        }
    }

    pub fn parse(text: &str) -> Option<JobStatus> {
        JobStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// Coopr's task statuses (coopr-notes §1.11), plus `replaced`: a failed CONFIRM whose node is
/// being rolled back and created again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    NotSubmitted,
    InProgress,
    Complete,
    Failed,
    Dropped,
    Replaced,
}

impl TaskStatus {
    pub const ALL: [TaskStatus; 6] = [
        TaskStatus::NotSubmitted,
        TaskStatus::InProgress,
        TaskStatus::Complete,
        TaskStatus::Failed,
        TaskStatus::Dropped,
        TaskStatus::Replaced,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::NotSubmitted => "not_submitted",
            TaskStatus::InProgress => "in_progress",
            TaskStatus::Complete => "complete",
            TaskStatus::Failed => "failed",
            TaskStatus::Dropped => "dropped",
            TaskStatus::Replaced => "replaced",
        }
    }

    pub fn parse(text: &str) -> Option<TaskStatus> {
        TaskStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// A node's properties (coopr-notes §1.10), as tasks and macros see them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NodeProperties {
    pub hostname: String,
    /// Address type (`access_v4`, `bind_v4`, ...) → address; filled at CONFIRM.
    #[serde(default)]
    pub ipaddresses: std::collections::BTreeMap<String, String>,
    pub nodenum: u32,
    pub hardwaretype: String,
    pub imagetype: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flavor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sshuser: Option<String>,
    pub services: Vec<String>,
    /// Automator types used by any action of the node's services (BOOTSTRAP runs each).
    #[serde(default)]
    pub automators: Vec<String>,
}

/// One entry of a node's action history (coopr-notes §1.10): stdout and stderr keep their last
/// 2048 characters; the full log is the task's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NodeAction {
    #[serde(rename = "taskId")]
    pub task_id: String,
    pub attempt: u32,
    /// Empty for node-level tasks.
    pub service: String,
    pub action: String,
    #[serde(rename = "submitTime")]
    pub submit_time: i64,
    #[serde(rename = "statusTime")]
    pub status_time: i64,
    pub status: TaskStatus,
    pub stdout: String,
    pub stderr: String,
}
