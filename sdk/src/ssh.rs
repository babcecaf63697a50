//! Commands on the task's node. The host holds the address, user, key and pinned host key;
//! a plugin names only the target its task was granted (`task.ssh_target`).
//!
//! ```ignore
//! let node = ssh::open(task.ssh_target.as_deref().unwrap_or_default())?;
//! let out = node.exec("systemctl restart myservice")?;
//! ```

pub use crate::bindings::provider::weft::plugin0_1_0::ssh::{ExecOutput, SshError};

/// An open session; closed when dropped.
pub struct Session {
    pub(crate) inner: crate::backend::SessionHandle,
}

/// Opens a session to a granted target.
pub fn open(target: &str) -> Result<Session, SshError> {
    crate::backend::ssh_open(target).map(|inner| Session { inner })
}

impl Session {
    /// Runs a command through the node's shell.
    pub fn exec(&self, command: &str) -> Result<ExecOutput, SshError> {
        crate::backend::ssh_exec(&self.inner, command)
    }

    /// Runs a command and fails unless it exits 0.
    pub fn run(&self, command: &str) -> Result<ExecOutput, SshError> {
        let out = self.exec(command)?;
        if out.exit_code == 0 {
            Ok(out)
        } else {
            Err(SshError::Failed(format!(
                "'{command}' exited with {}: {}",
                out.exit_code,
                out.stderr.trim()
            )))
        }
    }

    /// Writes a file on the node.
    pub fn upload(&self, path: &str, data: &[u8], mode: u32) -> Result<(), SshError> {
        crate::backend::ssh_upload(&self.inner, path, data, mode)
    }

    /// Reads a file from the node.
    pub fn download(&self, path: &str) -> Result<Vec<u8>, SshError> {
        crate::backend::ssh_download(&self.inner, path)
    }
}
