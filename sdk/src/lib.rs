//! Write Weft plugins in Rust: implement [`Provider`] or [`Automator`], export it with
//! [`export_provider!`] or [`export_automator!`], build with
//! `cargo build --release --target wasm32-wasip2`.
//!
//! Every operation has a default that answers `PluginError::Unsupported`, so a plugin
//! implements only what it does. [`log`] writes to the task's log. The WIT this binds to is
//! `wit/weft-plugin` (package `weft:plugin@0.1.0`).

#[doc(hidden)]
pub mod bindings {
    pub mod provider {
        wit_bindgen::generate!({
            path: "../wit/weft-plugin",
            world: "provider",
            pub_export_macro: true,
            export_macro_name: "export_provider_world",
            default_bindings_module: "weft_plugin_sdk::bindings::provider",
            generate_all,
        });
    }
    pub mod automator {
        wit_bindgen::generate!({
            path: "../wit/weft-plugin",
            world: "automator",
            pub_export_macro: true,
            export_macro_name: "export_automator_world",
            default_bindings_module: "weft_plugin_sdk::bindings::automator",
            with: {
                "weft:plugin/types@0.1.0": super::provider::weft::plugin::types,
                "weft:plugin/log@0.1.0": super::provider::weft::plugin::log,
                "weft:plugin/ssh@0.1.0": super::provider::weft::plugin::ssh,
            },
        });
    }
}

pub use bindings::provider::weft::plugin::types::{
    CapabilityRequest, FieldError, FieldSchema, KeyValue, NodeInfo, ParameterSet, PluginError,
    PluginSpec, ResourceFormat, ResourceType, ServiceAction, Task, TaskResult,
};

/// SSH sessions to the task's node.
pub mod ssh {
    pub use crate::bindings::provider::weft::plugin::ssh::{ExecOutput, Session, SshError, open};
}

/// Writes to the task's log.
pub mod log {
    pub use crate::bindings::provider::weft::plugin::log::Level;
    use crate::bindings::provider::weft::plugin::log::log;

    pub fn info(message: &str) {
        log(Level::Info, message, &[]);
    }
    pub fn warn(message: &str) {
        log(Level::Warn, message, &[]);
    }
    pub fn error(message: &str) {
        log(Level::Error, message, &[]);
    }
    pub fn debug(message: &str) {
        log(Level::Debug, message, &[]);
    }
    /// A line with structured fields.
    pub fn with_fields(level: Level, message: &str, fields: &[(&str, &str)]) {
        let fields: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        log(level, message, &fields);
    }
}

fn unsupported(operation: &str) -> Result<TaskResult, PluginError> {
    Err(PluginError::Unsupported(format!(
        "this plugin does not implement {operation}"
    )))
}

/// A provider plugin: creates, confirms and deletes machines.
pub trait Provider {
    fn describe() -> PluginSpec;
    fn validate(_fields: Vec<KeyValue>) -> Result<(), Vec<FieldError>> {
        Ok(())
    }
    fn create(_task: Task) -> Result<TaskResult, PluginError> {
        unsupported("create")
    }
    fn confirm(_task: Task) -> Result<TaskResult, PluginError> {
        unsupported("confirm")
    }
    fn delete(_task: Task) -> Result<TaskResult, PluginError> {
        unsupported("delete")
    }
}

/// An automator plugin: bootstraps nodes and runs service actions on them.
pub trait Automator {
    fn describe() -> PluginSpec;
    fn validate(_fields: Vec<KeyValue>) -> Result<(), Vec<FieldError>> {
        Ok(())
    }
    fn bootstrap(_task: Task) -> Result<TaskResult, PluginError> {
        unsupported("bootstrap")
    }
    fn install(_task: Task) -> Result<TaskResult, PluginError> {
        unsupported("install")
    }
    fn configure(_task: Task) -> Result<TaskResult, PluginError> {
        unsupported("configure")
    }
    fn initialize(_task: Task) -> Result<TaskResult, PluginError> {
        unsupported("initialize")
    }
    fn start(_task: Task) -> Result<TaskResult, PluginError> {
        unsupported("start")
    }
    fn stop(_task: Task) -> Result<TaskResult, PluginError> {
        unsupported("stop")
    }
    fn remove(_task: Task) -> Result<TaskResult, PluginError> {
        unsupported("remove")
    }
}

#[doc(hidden)]
pub struct ProviderAdapter<T>(std::marker::PhantomData<T>);

impl<T: Provider> bindings::provider::exports::weft::plugin::provider_api::Guest
    for ProviderAdapter<T>
{
    fn describe() -> PluginSpec {
        T::describe()
    }
    fn validate(fields: Vec<KeyValue>) -> Result<(), Vec<FieldError>> {
        T::validate(fields)
    }
    fn create(task: Task) -> Result<TaskResult, PluginError> {
        T::create(task)
    }
    fn confirm(task: Task) -> Result<TaskResult, PluginError> {
        T::confirm(task)
    }
    fn delete(task: Task) -> Result<TaskResult, PluginError> {
        T::delete(task)
    }
}

#[doc(hidden)]
pub struct AutomatorAdapter<T>(std::marker::PhantomData<T>);

impl<T: Automator> bindings::automator::exports::weft::plugin::automator_api::Guest
    for AutomatorAdapter<T>
{
    fn describe() -> PluginSpec {
        T::describe()
    }
    fn validate(fields: Vec<KeyValue>) -> Result<(), Vec<FieldError>> {
        T::validate(fields)
    }
    fn bootstrap(task: Task) -> Result<TaskResult, PluginError> {
        T::bootstrap(task)
    }
    fn install(task: Task) -> Result<TaskResult, PluginError> {
        T::install(task)
    }
    fn configure(task: Task) -> Result<TaskResult, PluginError> {
        T::configure(task)
    }
    fn initialize(task: Task) -> Result<TaskResult, PluginError> {
        T::initialize(task)
    }
    fn start(task: Task) -> Result<TaskResult, PluginError> {
        T::start(task)
    }
    fn stop(task: Task) -> Result<TaskResult, PluginError> {
        T::stop(task)
    }
    fn remove(task: Task) -> Result<TaskResult, PluginError> {
        T::remove(task)
    }
}

/// Exports a [`Provider`] implementation as the component's `provider` world.
#[macro_export]
macro_rules! export_provider {
    ($plugin:ty) => {
        type __WeftProvider = $crate::ProviderAdapter<$plugin>;
        $crate::bindings::provider::export_provider_world!(__WeftProvider with_types_in $crate::bindings::provider);
    };
}

/// Exports an [`Automator`] implementation as the component's `automator` world.
#[macro_export]
macro_rules! export_automator {
    ($plugin:ty) => {
        type __WeftAutomator = $crate::AutomatorAdapter<$plugin>;
        $crate::bindings::automator::export_automator_world!(__WeftAutomator with_types_in $crate::bindings::automator);
    };
}
