//! The store data of one task and the host interfaces plugins import: `log` (kept, capped) and
//! `ssh` (deny-by-default: no target is granted yet).

use wasmtime::component::{Resource, ResourceTable};
use wasmtime::{ResourceLimiter, Result};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::log::Level;
use crate::bindings::{log, ssh};

/// One line a plugin logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub level: &'static str,
    pub message: String,
    pub fields: Vec<(String, String)>,
}

/// An open SSH session (none can be opened until SSH grants exist).
#[derive(Debug)]
#[allow(
    unreachable_pub,
    reason = "bindgen re-exports it as the ssh.session resource type"
)]
pub struct SshSession {
    #[allow(dead_code)]
    target: String,
}

/// Memory and table limits that remember whether a guest hit them.
pub(crate) struct Limiter {
    pub(crate) memory_bytes: usize,
    pub(crate) table_elements: usize,
    pub(crate) hit_memory: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool> {
        let allowed = desired <= self.memory_bytes;
        if !allowed {
            self.hit_memory = true;
        }
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool> {
        Ok(desired <= self.table_elements)
    }
}

/// Everything one task's store holds.
pub(crate) struct TaskState {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) limiter: Limiter,
    pub(crate) log: Vec<LogLine>,
    pub(crate) log_bytes: usize,
    pub(crate) log_cap: usize,
    pub(crate) log_cut: bool,
    /// Epoch ticks spent in guest code, and the budget.
    pub(crate) ticks: u64,
    pub(crate) tick_budget: u64,
    pub(crate) out_of_cpu: bool,
    /// Why a capability was refused, if one was.
    pub(crate) denied: Option<String>,
}

impl WasiView for TaskState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Trace => "trace",
        Level::Debug => "debug",
        Level::Info => "info",
        Level::Warn => "warn",
        Level::Error => "error",
    }
}

impl log::Host for TaskState {
    async fn log(
        &mut self,
        level: Level,
        message: String,
        fields: Vec<(String, String)>,
    ) -> Result<()> {
        let size = message.len() + fields.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
        if self.log_bytes + size > self.log_cap {
            self.log_cut = true;
            return Ok(());
        }
        self.log_bytes += size;
        self.log.push(LogLine {
            level: level_name(level),
            message,
            fields,
        });
        Ok(())
    }
}

impl ssh::Host for TaskState {
    async fn open(
        &mut self,
        target: String,
    ) -> Result<std::result::Result<Resource<SshSession>, ssh::SshError>> {
        tracing::warn!(%target, "plugin asked for an SSH target it was not granted");
        let reason = format!("ssh target '{target}' is not granted to this task");
        self.denied = Some(reason.clone());
        Ok(Err(ssh::SshError::Denied(reason)))
    }
}

impl ssh::HostSession for TaskState {
    async fn exec(
        &mut self,
        _session: Resource<SshSession>,
        _command: String,
    ) -> Result<std::result::Result<ssh::ExecOutput, ssh::SshError>> {
        Ok(Err(ssh::SshError::Denied(
            "no ssh session can be open".into(),
        )))
    }

    async fn upload(
        &mut self,
        _session: Resource<SshSession>,
        _path: String,
        _data: Vec<u8>,
        _mode: u32,
    ) -> Result<std::result::Result<(), ssh::SshError>> {
        Ok(Err(ssh::SshError::Denied(
            "no ssh session can be open".into(),
        )))
    }

    async fn download(
        &mut self,
        _session: Resource<SshSession>,
        _path: String,
    ) -> Result<std::result::Result<Vec<u8>, ssh::SshError>> {
        Ok(Err(ssh::SshError::Denied(
            "no ssh session can be open".into(),
        )))
    }

    async fn drop(&mut self, session: Resource<SshSession>) -> Result<()> {
        self.table.delete(session)?;
        Ok(())
    }
}

impl crate::bindings::types::Host for TaskState {}
