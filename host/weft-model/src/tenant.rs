//! Tenants, users and roles.

use serde::{Deserialize, Serialize};

/// A tenant as exchanged over the API (Coopr's tenant `specification`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Worker slots reserved for this tenant.
    #[serde(default)]
    pub workers: u32,
    /// Live (non-terminated) clusters allowed; absent means unlimited.
    #[serde(
        default,
        rename = "maxClusters",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_clusters: Option<u32>,
    /// Nodes of live clusters allowed; absent means unlimited.
    #[serde(default, rename = "maxNodes", skip_serializing_if = "Option::is_none")]
    pub max_nodes: Option<u32>,
    /// Milliseconds: a live cluster on which no job has started for this long is deleted, as
    /// when its lease ends (a lease extension counts as activity); absent means never.
    #[serde(
        default,
        rename = "inactivityLease",
        skip_serializing_if = "Option::is_none"
    )]
    pub inactivity_lease: Option<u64>,
}

/// Body of `POST /v2/tenants` and `PUT /v2/tenants/{name}`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantRequest {
    pub tenant: TenantSpec,
    /// Copy the superadmin tenant's catalog into the new tenant.
    #[serde(default)]
    pub bootstrap: bool,
}

/// A user's role within its tenant. Admins of the `superadmin` tenant are superadmins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    User,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "user" => Some(Role::User),
            _ => None,
        }
    }
}

/// Body of `POST /v2/tenants/{tenant}/users`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserRequest {
    pub name: String,
    pub role: Role,
}

/// A user as listed; never carries the token.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserSummary {
    pub name: String,
    pub role: Role,
    /// Milliseconds since the Unix epoch.
    #[serde(rename = "createTime")]
    pub create_time: i64,
}

/// The answer to a user creation: the only time the token is shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserCreated {
    pub name: String,
    pub role: Role,
    pub token: String,
}

/// Who the presented token belongs to.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Whoami {
    pub tenant: String,
    pub user: String,
    pub role: Role,
    pub superadmin: bool,
}
