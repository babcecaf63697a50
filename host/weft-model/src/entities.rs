//! Providers, hardware types, image types and services in Coopr's v2 JSON.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::entity_struct;

entity_struct! {
    /// A configured instance of a provider type: `provisioner` holds the admin field values.
    pub struct Provider {
        /// The provider type (plugin) that creates this provider's machines.
        pub providertype: String,
        /// Admin field values, a flat map of field name to value.
        #[serde(default)]
        #[schema(value_type = Object)]
        pub provisioner: Map<String, Value>,
    }
}

entity_struct! {
    /// A machine size, mapped per provider name to the provider's `flavor`.
    pub struct HardwareType {
        /// Provider name → `{"flavor": ..., extra informational keys}`.
        #[serde(default)]
        #[schema(value_type = Object)]
        pub providermap: BTreeMap<String, Map<String, Value>>,
    }
}

entity_struct! {
    /// A machine image, mapped per provider name to the provider's `image` and optional `sshuser`.
    pub struct ImageType {
        /// Provider name → `{"image": ..., "sshuser": ...}`.
        #[serde(default)]
        #[schema(value_type = Object)]
        pub providermap: BTreeMap<String, Map<String, Value>>,
    }
}

entity_struct! {
    /// Software placed on nodes, with dependencies and one automator action per lifecycle step.
    pub struct Service {
        #[serde(default)]
        pub dependencies: ServiceDependencies,
        #[serde(default)]
        pub provisioner: ServiceProvisioner,
        #[serde(default)]
        pub links: Vec<Link>,
    }
}

/// A service's relations to other services.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceDependencies {
    /// Names this service satisfies in other services' `requires`.
    #[serde(default)]
    pub provides: Vec<String>,
    /// Service names that may not be on the same cluster.
    #[serde(default)]
    pub conflicts: Vec<String>,
    /// Orders INSTALL (and REMOVE in reverse).
    #[serde(default)]
    pub install: DependencySet,
    /// Orders INITIALIZE and START after the dependency's START, STOP in reverse.
    #[serde(default)]
    pub runtime: DependencySet,
}

/// `requires` must be on the cluster; `uses` only orders, if present.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DependencySet {
    #[serde(default)]
    pub requires: Vec<String>,
    #[serde(default)]
    pub uses: Vec<String>,
}

/// The automator actions of a service, keyed by [`ServiceAction`] name (kept as text so a
/// validation error can name the key; `weft-catalog` checks each is an action).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceProvisioner {
    #[serde(default)]
    pub actions: BTreeMap<String, ActionSpec>,
}

/// A service lifecycle step an automator can perform.
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
pub enum ServiceAction {
    Install,
    Configure,
    Initialize,
    Start,
    Stop,
    Remove,
}

impl ServiceAction {
    pub const ALL: [ServiceAction; 6] = [
        ServiceAction::Install,
        ServiceAction::Configure,
        ServiceAction::Initialize,
        ServiceAction::Start,
        ServiceAction::Stop,
        ServiceAction::Remove,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ServiceAction::Install => "install",
            ServiceAction::Configure => "configure",
            ServiceAction::Initialize => "initialize",
            ServiceAction::Start => "start",
            ServiceAction::Stop => "stop",
            ServiceAction::Remove => "remove",
        }
    }

    pub fn parse(text: &str) -> Option<ServiceAction> {
        ServiceAction::ALL.into_iter().find(|a| a.as_str() == text)
    }
}

/// Which automator type runs an action, and its fields (strings, not macro-expanded by Coopr).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionSpec {
    #[serde(rename = "type")]
    pub automator_type: String,
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

/// A link shown with a cluster or node; the URL may contain macros.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Link {
    pub label: String,
    pub url: String,
}
