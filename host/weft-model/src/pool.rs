//! Pools of existing machines that the `hosts` provider hands out to nodes (Coopr's users asked
//! for node pools). An admin registers the machines with the login the host uses to reach them;
//! the login key is sealed on the host and never shown again, nor handed to a plugin.

use serde::{Deserialize, Serialize};

/// The SSH target name a provider task uses for pool machine `machine`.
pub fn pool_target(machine: &str) -> String {
    format!("pool/{machine}")
}

/// One machine of a pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PoolMachine {
    /// Unique in the pool; `[\w.-]+`.
    pub name: String,
    /// `host:port` (port 22 when left out) where the host reaches its sshd.
    pub address: String,
    /// The machine's SSH host key (`ssh-ed25519 AAAA...`), pinned on every connection.
    pub host_key: String,
}

/// A pool as an admin writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PoolRequest {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The user the host logs in as; the cluster's key is authorised for this user while a
    /// node holds the machine, so image types used with the pool should name it as `sshuser`.
    #[serde(default = "default_user")]
    pub user: String,
    /// OpenSSH private key text of the login. Required when the pool is made; left out of an
    /// update, the stored key is kept. Never returned.
    #[serde(default)]
    pub private_key: Option<String>,
    /// A command run on a machine when its node is deleted, before it returns to the pool.
    #[serde(default)]
    pub cleanup: Option<String>,
    pub machines: Vec<PoolMachine>,
}

fn default_user() -> String {
    "root".into()
}

/// A pool as the API shows it: everything but the private key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PoolSpec {
    pub name: String,
    pub description: String,
    pub user: String,
    /// The public half of the login key, to authorise on the machines.
    pub public_key: String,
    pub cleanup: Option<String>,
    pub machines: Vec<PoolMachine>,
}

/// A pool machine as a provider task gets it: the host keeps the key and logs in. `Debug`
/// leaves the key out.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PoolTarget {
    pub machine: String,
    pub user: String,
    pub address: String,
    pub host_key: String,
    /// OpenSSH private key text; only the host's worker reads it.
    pub private_key: String,
}

impl std::fmt::Debug for PoolTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolTarget")
            .field("machine", &self.machine)
            .field("user", &self.user)
            .field("address", &self.address)
            .field("host_key", &self.host_key)
            .field("private_key", &"[redacted]")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::PoolTarget;

    #[test]
    fn debug_output_leaves_the_key_out() {
        let target = PoolTarget {
            machine: "m1".into(),
            user: "root".into(),
            address: "10.0.0.5:22".into(),
            host_key: "ssh-ed25519 AAAA".into(),
            private_key: "-----BEGIN OPENSSH PRIVATE KEY-----secret".into(),
        };
        let shown = format!("{target:?}");
        assert!(shown.contains("m1") && !shown.contains("secret"), "{shown}");
    }
}
