//! `weft:plugin/ssh`: sessions to the targets the task grants. The host connects with the
//! cluster key, checks the pinned host key, logs and audits every command, and bounds output.

use std::collections::BTreeMap;
use std::time::Duration;

use wasmtime::Result;
use wasmtime::component::Resource;
use weft_ssh::{HostKeyPolicy, Target};

use super::TaskState;
use crate::bindings::ssh;

/// How long connecting to a node may take (the task's wall clock still bounds everything).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// The SSH part of a task's state.
#[derive(Default)]
pub(crate) struct SshState {
    pub(crate) targets: BTreeMap<String, Target>,
    /// Host keys learned on first use, to pin: (target, key).
    pub(crate) learned: Vec<(String, String)>,
    /// Bytes kept of each command's stdout and stderr, and the largest download.
    pub(crate) keep: usize,
    pub(crate) download_limit: usize,
}

/// An open session, as the plugin holds it.
#[allow(
    unreachable_pub,
    reason = "bindgen re-exports it as the ssh.session resource type"
)]
pub struct SshSession {
    target: String,
    session: weft_ssh::Session,
}

fn to_wit(error: weft_ssh::SshError) -> ssh::SshError {
    use weft_ssh::SshError as E;
    match error {
        E::Unreachable { .. } => ssh::SshError::Unreachable(error.to_string()),
        E::HostKeyMismatch { .. } => ssh::SshError::HostKeyMismatch(error.to_string()),
        other => ssh::SshError::Failed(other.to_string()),
    }
}

impl ssh::Host for TaskState {
    async fn open(
        &mut self,
        target: String,
    ) -> Result<std::result::Result<Resource<SshSession>, ssh::SshError>> {
        let Some(details) = self.ssh.targets.get(&target).cloned() else {
            let reason = format!("ssh target '{target}' is not granted to this task");
            self.deny(reason.clone());
            return Ok(Err(ssh::SshError::Denied(reason)));
        };
        self.audit("ssh.open", format!("{target} ({})", details.address));
        let session = match weft_ssh::Session::connect(&details, CONNECT_TIMEOUT).await {
            Ok(session) => session,
            Err(error @ weft_ssh::SshError::HostKeyMismatch { .. }) => {
                self.deny(format!("ssh target '{target}': {error}"));
                return Ok(Err(to_wit(error)));
            }
            Err(error) => return Ok(Err(to_wit(error))),
        };
        if details.host_key == HostKeyPolicy::PinOnFirstUse {
            self.ssh
                .learned
                .push((target.clone(), session.host_key().to_string()));
        }
        let handle = self.table.push(SshSession { target, session })?;
        Ok(Ok(handle))
    }
}

impl ssh::HostSession for TaskState {
    async fn exec(
        &mut self,
        session: Resource<SshSession>,
        command: String,
    ) -> Result<std::result::Result<ssh::ExecOutput, ssh::SshError>> {
        let keep = self.ssh.keep;
        let target = self.table.get(&session)?.target.clone();
        self.audit("ssh.exec", format!("{target}: {command}"));
        self.push_log(
            "info",
            "ssh exec".into(),
            vec![
                ("target".into(), target),
                ("command".into(), command.clone()),
            ],
        );
        let output = self
            .table
            .get(&session)?
            .session
            .exec(&command, None, keep)
            .await;
        Ok(output.map_err(to_wit).map(|out| ssh::ExecOutput {
            exit_code: out.exit_code,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            truncated: out.truncated,
        }))
    }

    async fn upload(
        &mut self,
        session: Resource<SshSession>,
        path: String,
        data: Vec<u8>,
        mode: u32,
    ) -> Result<std::result::Result<(), ssh::SshError>> {
        let target = self.table.get(&session)?.target.clone();
        self.audit(
            "ssh.upload",
            format!("{target}: {path} ({} bytes, mode {mode:o})", data.len()),
        );
        let done = self
            .table
            .get(&session)?
            .session
            .upload(&path, &data, mode)
            .await;
        Ok(done.map_err(to_wit))
    }

    async fn download(
        &mut self,
        session: Resource<SshSession>,
        path: String,
    ) -> Result<std::result::Result<Vec<u8>, ssh::SshError>> {
        let limit = self.ssh.download_limit;
        let target = self.table.get(&session)?.target.clone();
        self.audit("ssh.download", format!("{target}: {path}"));
        let data = self
            .table
            .get(&session)?
            .session
            .download(&path, limit)
            .await;
        Ok(data.map_err(to_wit))
    }

    async fn drop(&mut self, session: Resource<SshSession>) -> Result<()> {
        // dropping the russh handle closes the connection
        self.table.delete(session)?;
        Ok(())
    }
}
