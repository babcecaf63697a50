//! Provider and automator type specifications: the field schemas and resource types a plugin
//! declares, in Coopr's shape.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::entity_struct;

entity_struct! {
    /// A provider type or automator type spec. Global: registered once, readable by every tenant.
    pub struct PluginTypeSpec {
        /// `admin` fields are set on the provider or service; `user` fields per cluster operation.
        /// Keyed by [`ParameterRole`] name (kept as text so an error can name the key).
        #[serde(default)]
        pub parameters: BTreeMap<String, ParameterSet>,
        /// Resource type name → format and permissions of the plugin resources it reads.
        #[serde(default, rename = "resourceTypes")]
        pub resource_types: BTreeMap<String, ResourceType>,
    }
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ParameterRole {
    Admin,
    User,
}

impl ParameterRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ParameterRole::Admin => "admin",
            ParameterRole::User => "user",
        }
    }
}

impl PluginTypeSpec {
    /// The parameters of one role (empty if none are declared).
    pub fn parameters_for(&self, role: ParameterRole) -> ParameterSet {
        self.parameters
            .get(role.as_str())
            .cloned()
            .unwrap_or_default()
    }
}

/// Declared fields plus the alternative required sets: input is valid if any one set is present.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParameterSet {
    #[serde(default)]
    pub fields: BTreeMap<String, FieldSchema>,
    #[serde(default)]
    pub required: Vec<Vec<String>>,
}

/// How a field is entered and treated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldSchema {
    pub label: String,
    /// UI input type: `text`, `password`, `select`, `checkbox`, `file`, ...
    #[serde(rename = "type")]
    pub input_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub default: Option<Value>,
    /// An admin field the user may override per cluster.
    #[serde(default, rename = "override")]
    pub overridable: bool,
    /// Never persisted with the cluster; kept encrypted in the credential store.
    #[serde(default)]
    pub sensitive: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceType {
    pub format: ResourceFormat,
    /// Octal file mode, 3 or 4 digits; only for `file` resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ResourceFormat {
    File,
    Archive,
}
