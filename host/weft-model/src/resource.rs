//! Plugin resources (Coopr's §1.15): files a tenant gives a plugin, such as scripts and archives
//! for the shell automator, in versions that move through Coopr's states.

use serde::{Deserialize, Serialize};

/// The state of one version of a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ResourceStatus {
    /// Not live, not slated.
    Inactive,
    /// Not live, slated: the next sync makes it active.
    Staged,
    /// Live and slated.
    Active,
    /// Live, not slated: the next sync makes it inactive.
    Recalled,
}

impl ResourceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceStatus::Inactive => "inactive",
            ResourceStatus::Staged => "staged",
            ResourceStatus::Active => "active",
            ResourceStatus::Recalled => "recalled",
        }
    }

    pub fn parse(text: &str) -> Option<ResourceStatus> {
        match text {
            "inactive" => Some(ResourceStatus::Inactive),
            "staged" => Some(ResourceStatus::Staged),
            "active" => Some(ResourceStatus::Active),
            "recalled" => Some(ResourceStatus::Recalled),
            _ => None,
        }
    }

    /// Whether tasks get this version (until the next sync).
    pub fn is_live(self) -> bool {
        matches!(self, ResourceStatus::Active | ResourceStatus::Recalled)
    }
}

/// One version of a resource, as Coopr's API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ResourceMeta {
    pub name: String,
    pub version: i64,
    pub status: ResourceStatus,
}

/// A live resource version a task gets, fetched by the worker by digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRef {
    /// The plugin the resource belongs to.
    pub plugin: String,
    pub resource_type: String,
    pub name: String,
    pub version: i64,
    /// SHA-256 of the bytes.
    pub digest: String,
}
