//! Registered plugin components: what a plugin asks to reach, what an admin approved, and each
//! stored version as the API shows it.

use serde::{Deserialize, Serialize};

use crate::PluginTypeSpec;

/// Which world a component implements.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum PluginKind {
    Provider,
    Automator,
}

impl PluginKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PluginKind::Provider => "provider",
            PluginKind::Automator => "automator",
        }
    }

    pub fn parse(text: &str) -> Option<PluginKind> {
        match text {
            "provider" => Some(PluginKind::Provider),
            "automator" => Some(PluginKind::Automator),
            _ => None,
        }
    }
}

/// What a plugin may reach: asked for by the plugin (`describe`), approved by an admin.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PluginGrants {
    /// HTTP endpoints, `https://host[:port]` (`*.example.com` for subdomains).
    #[serde(default)]
    pub http: Vec<String>,
    /// Unix sockets spoken to over HTTP, e.g. `/var/run/docker.sock`.
    #[serde(default)]
    pub unix_sockets: Vec<String>,
    /// SSH to the nodes of the task's cluster.
    #[serde(default)]
    pub ssh: bool,
}

/// Whether a plugin version runs tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PluginStatus {
    Active,
    /// Stopped by the host after repeated traps, until an admin sets it active again.
    Quarantined,
    /// Stopped by an admin.
    Disabled,
}

impl PluginStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PluginStatus::Active => "active",
            PluginStatus::Quarantined => "quarantined",
            PluginStatus::Disabled => "disabled",
        }
    }

    pub fn parse(text: &str) -> Option<PluginStatus> {
        match text {
            "active" => Some(PluginStatus::Active),
            "quarantined" => Some(PluginStatus::Quarantined),
            "disabled" => Some(PluginStatus::Disabled),
            _ => None,
        }
    }
}

/// A status change an admin asks for.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PluginStatusRequest {
    /// `active` (also re-enables a quarantined plugin) or `disabled`.
    pub status: PluginStatus,
}

/// Who may use a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PluginScope {
    /// Registered by a superadmin: every tenant may use it.
    Global,
    /// Registered by a tenant admin for that tenant.
    Tenant,
}

/// One stored version of a plugin component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PluginVersion {
    pub name: String,
    pub version: i64,
    pub kind: PluginKind,
    pub scope: PluginScope,
    /// Hex SHA-256 of the component.
    pub digest: String,
    /// The `weft:plugin` WIT version the component was built against.
    pub wit_version: String,
    pub size_bytes: i64,
    pub description: String,
    /// What the plugin asks to reach.
    pub requested: PluginGrants,
    /// What an admin approved; tasks get at most this, narrowed to the task.
    pub approved: PluginGrants,
    pub status: PluginStatus,
    pub created_by: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
}

/// What the runtime learned from an uploaded component.
#[derive(Debug, Clone, PartialEq)]
pub struct InspectedPlugin {
    pub name: String,
    pub kind: PluginKind,
    pub digest: String,
    pub wit_version: String,
    pub description: String,
    /// The provider or automator type spec, in Coopr's shape (with its `name`).
    pub spec: PluginTypeSpec,
    pub requested: PluginGrants,
}

/// Why a component was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InspectError {
    /// The component breaks a rule (size, imports, world, its spec); names the rule.
    #[error("{0}")]
    Refused(String),
    /// The host could not inspect it.
    #[error("{0}")]
    Internal(String),
}
