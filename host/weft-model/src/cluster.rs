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
