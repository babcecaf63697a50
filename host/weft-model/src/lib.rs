//! Weft's vocabulary: the Coopr v2 catalog entities as serde types, tenants, roles and the closed
//! set of error kinds every library error maps to.
//!
//! Architecture invariant: this crate does no I/O and knows nothing about HTTP, SQL or wasm. The
//! catalog types here mirror Coopr's v2 JSON, an external and stable format, so they derive
//! `Serialize`/`Deserialize`; every struct rejects unknown fields so a typo is reported with its path.
//!
//! Layout:
//! - `kind`: [`EntityKind`], the catalog entity types and their REST collection names;
//! - `bundle`: [`CatalogBundle`], the import/export body;
//! - `cluster`: [`ClusterCreateRequest`], the body of a cluster create or preview;
//! - `entities`: providers, hardware types, image types, services;
//! - `template`: cluster templates, partial templates, constraints and lease durations;
//! - `plugin_type`: provider and automator type specifications (field schemas, resource types);
//! - `pool`: pools of existing machines for the `hosts` provider;
//! - `resource`: plugin resources and their version states;
//! - `tenant`: tenants, users and roles;
//! - `error`: [`ErrorKind`] and [`FieldError`].

mod bundle;
mod cluster;
mod entities;
mod error;
mod kind;
mod plugin;
mod plugin_type;
mod pool;
mod resource;
mod template;
mod tenant;
mod worker;

pub use bundle::{CatalogBundle, ImportMode};
pub use cluster::{
    ClusterCreateRequest, ClusterStatus, JobStatus, NodeAction, NodeProperties, TaskStatus,
};
pub use entities::{
    ActionSpec, DependencySet, HardwareType, ImageType, Link, Provider, Service, ServiceAction,
    ServiceDependencies, ServiceProvisioner,
};
pub use error::{ErrorKind, FieldError};
pub use kind::EntityKind;
pub use plugin::{
    InspectError, InspectedPlugin, PluginGrants, PluginKind, PluginScope, PluginStatus,
    PluginStatusRequest, PluginVersion,
};
pub use plugin_type::{
    FieldSchema, ParameterRole, ParameterSet, PluginTypeSpec, ResourceFormat, ResourceType,
};
pub use pool::{PoolMachine, PoolRequest, PoolSpec, PoolTarget, pool_target};
pub use resource::{ResourceMeta, ResourceRef, ResourceStatus};
pub use template::{
    Administration, ClusterTemplate, Compatibility, Constraints, DefaultService, DurationMs,
    LayoutConstraint, LeaseDuration, NameRef, PartialTemplate, Quantities, ServiceConstraint,
    SizeConstraint, TemplateDefaults,
};
pub use tenant::{Role, TenantRequest, TenantSpec, UserCreated, UserRequest, UserSummary, Whoami};
pub use worker::{
    FinishRequest, PLUGIN_RAN_LOG, PluginRef, SshEndpoint, TakeRequest, TaskAssignment,
    TaskHeartbeat, TaskLogBatch, TaskLogLine, TaskReport, TaskService, WorkerHeartbeat,
    WorkerRegistration,
};

/// The name of the tenant that always exists and whose admins are superadmins.
pub const SUPERADMIN_TENANT: &str = "superadmin";
/// The superadmin tenant's first user, made on the first start.
pub const SUPERADMIN_USER: &str = "admin";

/// Declares a catalog entity struct with Coopr's common base fields (`name`, `label`,
/// `description`, `icon`, `version`) followed by its own fields. Serde cannot combine
/// `flatten` with `deny_unknown_fields`, so the base fields are spelled into each struct.
macro_rules! entity_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $($(#[$fmeta:meta])* pub $field:ident : $ty:ty,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// Unique per tenant and type; `[\w.-]+`, fewer than 256 characters.
            pub name: String,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub label: Option<String>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub description: Option<String>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub icon: Option<String>,
            /// Set by the server on every write; ignored when sent.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub version: Option<i64>,
            $($(#[$fmeta])* pub $field: $ty,)*
        }
    };
}
pub(crate) use entity_struct;
