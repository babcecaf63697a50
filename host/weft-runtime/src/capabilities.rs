//! What one task may reach outside its sandbox, and what the host recorded while it ran.

use std::collections::BTreeMap;
use std::path::PathBuf;

use weft_grants::{Grants, HttpGrant};

/// The capabilities of one task: the plugin's approved grant already narrowed to this task.
/// [`Capabilities::none`] reaches nothing.
#[derive(Clone, Default)]
pub struct Capabilities {
    /// HTTP endpoints and Unix sockets the plugin may call through `wasi:http`.
    pub grants: Grants,
    /// The provider's credential per endpoint; the host sets `authorization` from it, and the
    /// plugin can neither set nor read that header.
    pub credentials: Vec<Credential>,
    /// SSH targets by the name the task hands the plugin (`Task::ssh_target`).
    pub ssh: BTreeMap<String, weft_ssh::Target>,
    /// The plugin's read-only resource folder in the task's tenant.
    pub resources: Option<PathBuf>,
    /// Sensitive fields by name, handed to the plugin as opaque handles.
    pub secrets: BTreeMap<String, String>,
}

impl Capabilities {
    pub fn none() -> Capabilities {
        Capabilities::default()
    }
}

impl std::fmt::Debug for Capabilities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capabilities")
            .field("grants", &self.grants)
            .field("credentials", &self.credentials)
            .field("ssh", &self.ssh.keys().collect::<Vec<_>>())
            .field("resources", &self.resources)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// A credential the host attaches to requests for one endpoint.
#[derive(Clone)]
pub struct Credential {
    pub endpoint: HttpGrant,
    /// The whole `authorization` header value (`Bearer ...`, `Basic ...`).
    pub authorization: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("endpoint", &self.endpoint)
            .field("authorization", &"[redacted]")
            .finish()
    }
}

/// One use of a capability, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// `http.request`, `ssh.open`, `ssh.exec`, `ssh.upload`, `ssh.download`, `secret.reveal`.
    pub action: &'static str,
    /// What was used: the URL without its query, the command line, the secret's name.
    pub detail: String,
}
