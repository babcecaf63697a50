//! The store data of one task and the host interfaces plugins import: `log` (kept, capped),
//! `ssh`, `resources`, `secrets`, and `wasi:http` through [`egress`]. Every capability is
//! deny-by-default; each use is checked against the task's [`Capabilities`] and audited.
//!
//! [`Capabilities`]: crate::Capabilities

pub(crate) mod egress;
pub(crate) mod resources;
pub(crate) mod secrets;
pub(crate) mod ssh;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, Result};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::bindings::log;
use crate::bindings::log::Level;
use crate::capabilities::AuditEntry;

/// One line a plugin logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub level: &'static str,
    pub message: String,
    pub fields: Vec<(String, String)>,
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
    /// Where log lines go as they are written, besides `log`.
    pub(crate) live: Option<tokio::sync::mpsc::UnboundedSender<LogLine>>,
    pub(crate) log_bytes: usize,
    pub(crate) log_cap: usize,
    pub(crate) log_cut: bool,
    /// Epoch ticks spent in guest code, and the budget.
    pub(crate) ticks: u64,
    pub(crate) tick_budget: u64,
    pub(crate) out_of_cpu: bool,
    /// Refusals and audited uses, shared with the HTTP hooks (whose futures outlive a borrow).
    pub(crate) events: Arc<Mutex<Events>>,
    pub(crate) http: WasiHttpCtx,
    pub(crate) egress: egress::Egress,
    pub(crate) ssh: ssh::SshState,
    pub(crate) resources: Option<cap_std::fs::Dir>,
    pub(crate) resource_limit: usize,
    pub(crate) secrets: BTreeMap<String, String>,
}

/// What the host noticed while a task ran.
#[derive(Debug, Default)]
pub(crate) struct Events {
    /// Why a capability was refused, if one was (the first refusal).
    pub(crate) denied: Option<String>,
    pub(crate) audit: Vec<AuditEntry>,
}

impl Events {
    pub(crate) fn deny(events: &Mutex<Events>, reason: String) {
        tracing::warn!(%reason, "plugin denied a capability");
        if let Ok(mut events) = events.lock()
            && events.denied.is_none()
        {
            events.denied = Some(reason);
        }
    }

    pub(crate) fn audit(events: &Mutex<Events>, action: &'static str, detail: String) {
        tracing::info!(action, %detail, "plugin capability used");
        if let Ok(mut events) = events.lock() {
            events.audit.push(AuditEntry { action, detail });
        }
    }
}

impl TaskState {
    pub(crate) fn deny(&self, reason: String) {
        Events::deny(&self.events, reason);
    }

    pub(crate) fn audit(&self, action: &'static str, detail: String) {
        Events::audit(&self.events, action, detail);
    }

    pub(crate) fn denied(&self) -> Option<String> {
        self.events.lock().ok().and_then(|e| e.denied.clone())
    }
}

impl WasiHttpView for TaskState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.egress,
        }
    }
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

impl TaskState {
    /// Adds a line to the task's log unless the log is full.
    pub(crate) fn push_log(
        &mut self,
        level: &'static str,
        message: String,
        fields: Vec<(String, String)>,
    ) {
        let size = message.len() + fields.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
        if self.log_bytes + size > self.log_cap {
            self.log_cut = true;
            return;
        }
        self.log_bytes += size;
        let mut line = LogLine {
            level,
            message,
            fields,
        };
        // scrubbed here already, since a live reader sees the line before the task ends
        crate::scrub::scrub_line(&mut line, self.secrets.values());
        if let Some(live) = &self.live {
            // a reader that went away does not stop the task
            let _ = live.send(line.clone());
        }
        self.log.push(line);
    }
}

impl log::Host for TaskState {
    async fn log(
        &mut self,
        level: Level,
        message: String,
        fields: Vec<(String, String)>,
    ) -> Result<()> {
        self.push_log(level_name(level), message, fields);
        Ok(())
    }
}

impl crate::bindings::types::Host for TaskState {}
