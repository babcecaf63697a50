//! The JSON bodies the engine keeps in the store's cluster, node and job rows.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use weft_model::{ClusterTemplate, NodeProperties, Provider};

/// A cluster's stored body (coopr-notes §1.9).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterBody {
    #[serde(default)]
    pub description: Option<String>,
    /// The provider's copy: admin fields plus the user's non-sensitive fields.
    pub provider: Provider,
    /// The resolved template as it was when the cluster was made (or last synced).
    pub cluster_template: ClusterTemplate,
    pub services: Vec<String>,
    pub config: Map<String, Value>,
    pub dns_suffix: String,
}

/// A node's stored body (coopr-notes §1.10).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeBody {
    pub properties: NodeProperties,
    /// Results of finished tasks, merged key by key.
    #[serde(default)]
    pub provisioner_results: Map<String, Value>,
}

/// A job's stored body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobBody {
    #[serde(default)]
    pub planned_services: Option<Vec<String>>,
    #[serde(default)]
    pub planned_nodes: Option<Vec<String>>,
}

pub(crate) fn to_json<T: Serialize>(value: &T) -> String {
    // serialising these plain structs cannot fail
    serde_json::to_string(value).unwrap_or_else(|_| "{}".into())
}

pub(crate) fn parse<T: for<'de> Deserialize<'de>>(
    what: &str,
    text: &str,
) -> Result<T, crate::EngineError> {
    serde_json::from_str(text)
        .map_err(|e| crate::EngineError::Internal(format!("stored {what} is corrupt: {e}")))
}
