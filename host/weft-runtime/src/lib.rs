//! Runs provider and automator plugins as WebAssembly components, each task in a fresh store
//! under limits, and turns every way a plugin can fail into a [`TaskFailure`] with a clear kind.
//!
//! One [`Runtime`] per process holds one wasmtime `Engine` (epoch interruption, pooling
//! allocator sized to the worker slots), one `Linker` with the host interfaces, and a disk cache
//! of precompiled components keyed by content digest and engine compatibility, so compiling
//! never happens on the task path. [`Runtime::load`] checks a component (size, imports only
//! from the allowed interfaces, which world it is) and prepares it once; [`Runtime::run`] gives
//! each task a fresh `Store` with memory, CPU (epoch), wall-clock, output and resource-table
//! limits.
//!
//! Capabilities are deny-by-default: a task reaches only what its [`Capabilities`] grant (HTTP
//! endpoints and Unix sockets checked per request, SSH targets with pinned host keys, its
//! plugin's read-only resources, opaque secrets), and every use is audited
//! ([`TaskOutcome::audit`]).
//!
//! Architecture invariant: knows nothing about the database, HTTP API or engine; it runs one
//! task given a component and its capabilities.

mod bindings;
mod capabilities;
mod host;
mod output;
mod runtime;
mod scrub;

pub use bindings::types::{
    CapabilityRequest, FieldError, FieldSchema, KeyValue, NodeInfo, ParameterSet, PluginError,
    PluginSpec, ResourceFormat, ResourceType, ServiceAction, Task, TaskResult,
};
pub use capabilities::{AuditEntry, Capabilities, Credential};
pub use host::LogLine;
pub use host::egress::{UNIX_SOCKET_HEADER, UNIX_SOCKET_HOST};
pub use runtime::{
    LoadError, MACHINES_RESULT, Operation, Plugin, PluginKind, Runtime, RuntimeConfig, TaskFailure,
    TaskLimits, TaskOutcome,
};
