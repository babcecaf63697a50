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
//! Architecture invariant: knows nothing about the database, HTTP API or engine; it runs one
//! task given a component and grants. Capabilities are deny-by-default: this version grants no
//! SSH target and links no outbound HTTP, so a plugin reaches nothing outside its sandbox.

mod bindings;
mod host;
mod output;
mod runtime;

pub use bindings::types::{
    CapabilityRequest, FieldError, FieldSchema, KeyValue, NodeInfo, ParameterSet, PluginError,
    PluginSpec, ResourceFormat, ResourceType, ServiceAction, Task, TaskResult,
};
pub use host::LogLine;
pub use runtime::{
    LoadError, Operation, Plugin, PluginKind, Runtime, RuntimeConfig, TaskFailure, TaskLimits,
    TaskOutcome,
};
