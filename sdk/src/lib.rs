//! Write Weft plugins in Rust: implement [`Provider`] or [`Automator`], export it with
//! [`export_provider!`] or [`export_automator!`], build with
//! `cargo build --release --target wasm32-wasip2`.
//!
//! Every operation has a default that answers `PluginError::Unsupported`, so a plugin
//! implements only what it does. The host's capabilities, each granted per task:
//! [`log`], [`http`] (over `wasi:http`), [`ssh`], [`resources`] and [`secrets`].
//! With the `testing` feature, [`testing::MockHost`] answers them natively, so plugins
//! unit-test with `cargo test`. The WIT this binds to is `wit/weft-plugin`
//! (package `weft:plugin@0.2.0`: 0.1.0's worlds and, for providers, `inventory`).

#[doc(hidden)]
pub mod bindings;

mod backend;
pub mod http;
pub mod log;
pub mod resources;
pub mod secrets;
pub mod ssh;
#[cfg(all(feature = "testing", not(target_arch = "wasm32")))]
pub mod testing;

pub use bindings::provider::exports::weft::plugin0_2_0::inventory::Machine;
pub use bindings::provider::weft::plugin0_1_0::types::{
    CapabilityRequest, FieldError, FieldSchema, KeyValue, NodeInfo, ParameterSet, PluginError,
    PluginSpec, ResourceFormat, ResourceType, ServiceAction, Task, TaskResult,
};

impl Machine {
    /// A machine with its provider id and Weft's tags.
    pub fn new(id: &str, tags: &[(&str, &str)]) -> Machine {
        Machine {
            id: id.into(),
            tags: tags
                .iter()
                .map(|(key, value)| KeyValue {
                    key: (*key).into(),
                    value: (*value).into(),
                })
                .collect(),
        }
    }

    /// A tag by name (`weft-node`, ...).
    pub fn tag(&self, name: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|kv| kv.key == name)
            .map(|kv| kv.value.as_str())
    }
}

impl ParameterSet {
    /// No fields.
    pub fn empty() -> ParameterSet {
        ParameterSet {
            fields: vec![],
            required: vec![],
        }
    }
}

impl PluginSpec {
    /// A spec with no fields, no resource types and no capabilities requested; set the rest
    /// with struct update syntax (`PluginSpec { needs: ..., ..PluginSpec::new(...) }`).
    pub fn new(name: &str, description: &str) -> PluginSpec {
        PluginSpec {
            name: name.into(),
            description: description.into(),
            admin: ParameterSet::empty(),
            user: ParameterSet::empty(),
            resource_types: vec![],
            needs: CapabilityRequest {
                http_hosts: vec![],
                unix_sockets: vec![],
                ssh: false,
            },
        }
    }
}

impl Task {
    /// A provider field by name (sensitive fields are not here: see [`secrets`]).
    pub fn provider_field(&self, name: &str) -> Option<&str> {
        self.provider_fields
            .iter()
            .find(|kv| kv.key == name)
            .map(|kv| kv.value.as_str())
    }

    /// A field of the service action this task runs.
    pub fn action_field(&self, name: &str) -> Option<&str> {
        self.service
            .as_ref()?
            .fields
            .iter()
            .find(|kv| kv.key == name)
            .map(|kv| kv.value.as_str())
    }

    /// A result an earlier task of this node returned.
    pub fn prior_result(&self, name: &str) -> Option<&str> {
        self.prior_results
            .iter()
            .find(|kv| kv.key == name)
            .map(|kv| kv.value.as_str())
    }
}

impl TaskResult {
    /// No results.
    pub fn empty() -> TaskResult {
        TaskResult {
            results: vec![],
            hostname: None,
            ip_addresses: vec![],
        }
    }

    /// Adds a result handed to this node's later tasks.
    pub fn with(mut self, key: &str, value: &str) -> TaskResult {
        self.results.push(KeyValue {
            key: key.into(),
            value: value.into(),
        });
        self
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
    /// Every machine this provider account holds that carries the task's `weft-tenant` and
    /// `weft-cluster` tags, whatever its state, with its tags: the host's reconciler deletes
    /// those no node owns (a second machine a crash left for one node, what a failed delete
    /// left behind). The task is a DELETE's for one node of the cluster. A machine's `id`
    /// must be what CREATE reports as `providerid`.
    fn list(_task: Task) -> Result<Vec<Machine>, PluginError> {
        Err(PluginError::Unsupported("list".into()))
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

impl<T: Provider> bindings::provider::exports::weft::plugin0_1_0::provider_api::Guest
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

impl<T: Provider> bindings::provider::exports::weft::plugin0_2_0::inventory::Guest
    for ProviderAdapter<T>
{
    fn list(task: Task) -> Result<Vec<Machine>, PluginError> {
        T::list(task)
    }
}

#[doc(hidden)]
pub struct AutomatorAdapter<T>(std::marker::PhantomData<T>);

impl<T: Automator> bindings::automator::exports::weft::plugin0_1_0::automator_api::Guest
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
