//! The engine, loading plugins, and running one task in a fresh store under limits.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, Trap,
    UpdateDeadline,
};
use wasmtime_wasi::WasiCtxBuilder;

use crate::bindings::automator::AutomatorPre;
use crate::bindings::provider::ProviderPre;
use crate::bindings::provider_v2::ProviderPre as ProviderV2Pre;
use crate::bindings::provider_v2::exports::weft::plugin0_2_0::inventory::Machine;
use crate::bindings::types::{PluginError, PluginSpec, Task, TaskResult};
use crate::capabilities::{AuditEntry, Capabilities};
use crate::host::egress::{Egress, EgressPolicy};
use crate::host::ssh::SshState;
use crate::host::{Events, Limiter, LogLine, TaskState};
use crate::output::CappedOutput;

/// The result key of [`Operation::List`].
pub const MACHINES_RESULT: &str = "machines";

/// How the process's runtime is set up.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Where precompiled components are cached (host-only storage).
    pub cache_dir: PathBuf,
    /// Tasks that may run at once: sizes the instance pool.
    pub slots: u32,
    /// The most linear memory one task may use.
    pub max_memory_bytes: usize,
    /// How often the epoch advances; CPU budgets are counted in these ticks.
    pub epoch_tick: Duration,
    /// The largest component accepted.
    pub max_component_bytes: usize,
    /// Consecutive traps after which a plugin is quarantined.
    pub quarantine_after: u32,
}

/// The limits of one task.
#[derive(Debug, Clone)]
pub struct TaskLimits {
    /// Linear memory (capped by the runtime's `max_memory_bytes`).
    pub memory_bytes: usize,
    /// Time spent running guest code.
    pub cpu: Duration,
    /// Time from start to finish, host calls included.
    pub wall: Duration,
    /// Bytes kept of stdout, of stderr, and of log lines; more is cut.
    pub output_bytes: usize,
    /// The largest task result accepted.
    pub result_bytes: usize,
    /// Host resources (sessions, streams) a task may hold at once.
    pub table_entries: usize,
    /// The largest file read from the plugin's resources or downloaded over SSH.
    pub file_bytes: usize,
}

impl TaskLimits {
    /// Limits for quick calls such as `describe`.
    pub fn small() -> TaskLimits {
        TaskLimits {
            memory_bytes: 64 << 20,
            cpu: Duration::from_secs(2),
            wall: Duration::from_secs(5),
            output_bytes: 64 << 10,
            result_bytes: 1 << 20,
            table_entries: 64,
            file_bytes: 1 << 20,
        }
    }
}

/// Which world a component implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginKind {
    Provider,
    Automator,
}

/// What a task asks a plugin to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Confirm,
    Delete,
    Bootstrap,
    Install,
    Configure,
    Initialize,
    Start,
    Stop,
    Remove,
    /// The machines a provider account holds for a cluster (`weft:plugin@0.2.0`'s inventory);
    /// the result is `machines`, a JSON array of `{"id", "tags"}`. The reconciler's, not a
    /// planned task.
    List,
}

impl Operation {
    pub const ALL: [Operation; 11] = [
        Operation::Create,
        Operation::Confirm,
        Operation::Delete,
        Operation::Bootstrap,
        Operation::Install,
        Operation::Configure,
        Operation::Initialize,
        Operation::Start,
        Operation::Stop,
        Operation::Remove,
        Operation::List,
    ];

    /// The lower-case name (`create`, `install`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Confirm => "confirm",
            Operation::Delete => "delete",
            Operation::Bootstrap => "bootstrap",
            Operation::Install => "install",
            Operation::Configure => "configure",
            Operation::Initialize => "initialize",
            Operation::Start => "start",
            Operation::Stop => "stop",
            Operation::Remove => "remove",
            Operation::List => "list",
        }
    }

    pub fn kind(self) -> PluginKind {
        match self {
            Operation::Create | Operation::Confirm | Operation::Delete | Operation::List => {
                PluginKind::Provider
            }
            _ => PluginKind::Automator,
        }
    }
}

impl std::str::FromStr for Operation {
    type Err = String;

    fn from_str(text: &str) -> Result<Operation, String> {
        Operation::ALL
            .into_iter()
            .find(|op| op.as_str() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = Operation::ALL.iter().map(|op| op.as_str()).collect();
                format!(
                    "'{text}' is not an operation: use one of {}",
                    names.join(", ")
                )
            })
    }
}

/// Why a component was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("the component is {size} bytes; at most {limit} are accepted")]
    TooLarge { size: usize, limit: usize },
    #[error("the component imports '{0}', which plugins may not use")]
    ForbiddenImport(String),
    #[error("the component exports neither weft:plugin/provider-api nor weft:plugin/automator-api")]
    UnknownWorld,
    #[error("the component is built against weft:plugin@{0}; this host serves 0.x")]
    UnsupportedVersion(String),
    #[error("the component is not valid: {0:#}")]
    Invalid(wasmtime::Error),
    #[error("the compile cache: {0}")]
    Cache(#[from] std::io::Error),
    #[error("the engine: {0:#}")]
    Engine(wasmtime::Error),
}

/// Why a task did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskFailure {
    /// The plugin returned an error.
    #[error("the plugin failed: {0:?}")]
    Plugin(PluginError),
    #[error("the plugin used more than its CPU budget of {0:?}")]
    CpuExhausted(Duration),
    #[error("the task took longer than {0:?}")]
    Timeout(Duration),
    #[error("the plugin ran out of its {0} bytes of memory")]
    OutOfMemory(usize),
    #[error("the plugin panicked: {0}")]
    Panic(String),
    #[error("the plugin was denied a capability: {0}")]
    Denied(String),
    #[error("the plugin's result is {size} bytes; at most {limit} are accepted")]
    ResultTooLarge { size: usize, limit: usize },
    #[error("the plugin trapped: {0}")]
    Trap(String),
    #[error("a {0:?} plugin cannot run {1:?}")]
    WrongKind(PluginKind, Operation),
    #[error("the plugin is quarantined after repeated traps; an admin must re-enable it")]
    Quarantined,
    #[error("no instance slot is free: {0}")]
    NoSlot(String),
    #[error("the task's resources cannot be opened: {0}")]
    Setup(String),
    #[error("the plugin held more than {0} host resources at once")]
    TooManyResources(usize),
}

impl TaskFailure {
    /// A short name for the kind of failure, for logs and reports.
    pub fn kind(&self) -> &'static str {
        match self {
            TaskFailure::Plugin(_) => "plugin",
            TaskFailure::CpuExhausted(_) => "cpu",
            TaskFailure::Timeout(_) => "timeout",
            TaskFailure::OutOfMemory(_) => "memory",
            TaskFailure::Panic(_) => "panic",
            TaskFailure::Denied(_) => "denied",
            TaskFailure::ResultTooLarge { .. } => "result-too-large",
            TaskFailure::Trap(_) => "trap",
            TaskFailure::WrongKind(..) => "wrong-kind",
            TaskFailure::Quarantined => "quarantined",
            TaskFailure::NoSlot(_) => "no-slot",
            TaskFailure::Setup(_) => "setup",
            TaskFailure::TooManyResources(_) => "resources",
        }
    }
}

/// What a task produced.
#[derive(Debug)]
pub struct TaskOutcome {
    pub result: Result<TaskResult, TaskFailure>,
    pub log: Vec<LogLine>,
    pub stdout: String,
    pub stderr: String,
    /// Some output (stdout, stderr or log) was cut at the limit.
    pub truncated: bool,
    pub elapsed: Duration,
    /// Every use of a capability (HTTP requests, SSH commands, secret reveals), in order.
    pub audit: Vec<AuditEntry>,
    /// Host keys seen on first contact with SSH targets whose policy was pin-on-first-use:
    /// (target, key), for the caller to pin.
    pub learned_host_keys: Vec<(String, String)>,
}

enum Prepared {
    Provider(ProviderPre<TaskState>),
    /// A `weft:plugin@0.2.0` provider: 0.1.0's and `inventory`.
    ProviderV2(ProviderV2Pre<TaskState>),
    Automator(AutomatorPre<TaskState>),
}

/// A loaded, prepared plugin version.
pub struct Plugin {
    prepared: Prepared,
    /// Hex SHA-256 of the component.
    pub digest: String,
    /// The `weft:plugin` version the component was built against (`0.1.0`, `0.2.0`).
    pub wit_version: String,
    consecutive_traps: AtomicU32,
    quarantined: AtomicBool,
}

impl Plugin {
    pub fn kind(&self) -> PluginKind {
        match self.prepared {
            Prepared::Provider(_) | Prepared::ProviderV2(_) => PluginKind::Provider,
            Prepared::Automator(_) => PluginKind::Automator,
        }
    }

    pub fn is_quarantined(&self) -> bool {
        self.quarantined.load(Ordering::Relaxed)
    }

    /// An admin's decision to let a quarantined plugin run again.
    pub fn reenable(&self) {
        self.consecutive_traps.store(0, Ordering::Relaxed);
        self.quarantined.store(false, Ordering::Relaxed);
    }
}

/// Elements a guest's function tables may grow to (indirect-call tables of compiled code).
const MAX_TABLE_ELEMENTS: usize = 100_000;

/// Interfaces a plugin may import. Language runtimes (Python, JavaScript) import WASI's
/// filesystem and sockets whether or not a plugin uses them, so they are linked, but every task's
/// context grants them nothing: no preopened directory, no socket, no name lookup. Plugins get
/// files through `resources` and the network only through `wasi:http` under their grants.
const ALLOWED_IMPORTS: &[&str] = &[
    "wasi:filesystem/",
    "wasi:sockets/",
    "weft:plugin/",
    "wasi:http/types@0.2",
    "wasi:http/outgoing-handler@0.2",
    "wasi:io/",
    "wasi:cli/",
    "wasi:clocks/",
    "wasi:random/",
];

/// One per process: the engine, the linker, the compile cache.
pub struct Runtime {
    engine: Engine,
    linker: Linker<TaskState>,
    config: RuntimeConfig,
    ticker_stop: Arc<AtomicBool>,
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

impl Runtime {
    pub fn new(config: RuntimeConfig) -> Result<Runtime, LoadError> {
        let mut wasm = Config::new();
        wasm.epoch_interruption(true);
        wasm.wasm_component_model(true);
        // each memory lives in a reservation of its limit; bounds are checked explicitly
        wasm.memory_reservation(config.max_memory_bytes as u64);
        wasm.memory_guard_size(64 << 10);
        let slots = config.slots.max(1);
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(slots)
            .total_core_instances(slots * 8)
            .total_memories(slots * 2)
            .total_tables(slots * 8)
            .total_stacks(slots)
            .max_memory_size(config.max_memory_bytes);
        wasm.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&wasm).map_err(LoadError::Engine)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(LoadError::Engine)?;
        crate::bindings::log::add_to_linker::<TaskState, HasSelf<TaskState>>(&mut linker, |s| s)
            .map_err(LoadError::Engine)?;
        crate::bindings::ssh::add_to_linker::<TaskState, HasSelf<TaskState>>(&mut linker, |s| s)
            .map_err(LoadError::Engine)?;
        crate::bindings::resources::add_to_linker::<TaskState, HasSelf<TaskState>>(
            &mut linker,
            |s| s,
        )
        .map_err(LoadError::Engine)?;
        crate::bindings::secrets::add_to_linker::<TaskState, HasSelf<TaskState>>(
            &mut linker,
            |s| s,
        )
        .map_err(LoadError::Engine)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
            .map_err(LoadError::Engine)?;
        std::fs::create_dir_all(&config.cache_dir)?;

        // the epoch ticker is a thread, not a task: a stuck executor cannot stop it
        let ticker_stop = Arc::new(AtomicBool::new(false));
        let stop = ticker_stop.clone();
        let weak = engine.weak();
        let tick = config.epoch_tick;
        std::thread::Builder::new()
            .name("weft-epoch".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(tick);
                    match weak.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })?;
        Ok(Runtime {
            engine,
            linker,
            config,
            ticker_stop,
        })
    }

    /// Checks and prepares a component: size, imports, world; compiles it once (or takes the
    /// cached compilation).
    pub fn load(&self, wasm: &[u8]) -> Result<Plugin, LoadError> {
        if wasm.len() > self.config.max_component_bytes {
            return Err(LoadError::TooLarge {
                size: wasm.len(),
                limit: self.config.max_component_bytes,
            });
        }
        let digest: String = Sha256::digest(wasm)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let component = self.compiled(wasm, &digest)?;
        let component_type = component.component_type();
        for (name, _) in component_type.imports(&self.engine) {
            if !ALLOWED_IMPORTS
                .iter()
                .any(|allowed| name.starts_with(allowed))
            {
                return Err(LoadError::ForbiddenImport(name.to_string()));
            }
        }
        let exports: Vec<String> = component_type
            .exports(&self.engine)
            .map(|(name, _)| name.to_string())
            .collect();
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(LoadError::Invalid)?;
        let world_export = |api: &str| {
            exports
                .iter()
                .find_map(|e| e.strip_prefix(&format!("weft:plugin/{api}@")))
                .map(str::to_string)
        };
        // 0.2.0 exports 0.1.0's provider-api and its own inventory
        let inventory = world_export("inventory");
        let wit_version = inventory
            .clone()
            .or_else(|| world_export("provider-api"))
            .or_else(|| world_export("automator-api"))
            .ok_or(LoadError::UnknownWorld)?;
        if !wit_version.starts_with("0.") {
            return Err(LoadError::UnsupportedVersion(wit_version));
        }
        let prepared = if inventory.is_some() {
            Prepared::ProviderV2(ProviderV2Pre::new(pre).map_err(LoadError::Invalid)?)
        } else if world_export("provider-api").is_some() {
            Prepared::Provider(ProviderPre::new(pre).map_err(LoadError::Invalid)?)
        } else if world_export("automator-api").is_some() {
            Prepared::Automator(AutomatorPre::new(pre).map_err(LoadError::Invalid)?)
        } else {
            return Err(LoadError::UnknownWorld);
        };
        Ok(Plugin {
            prepared,
            digest,
            wit_version,
            consecutive_traps: AtomicU32::new(0),
            quarantined: AtomicBool::new(false),
        })
    }

    /// The compiled component, from the cache when this engine compiled it before.
    fn compiled(&self, wasm: &[u8], digest: &str) -> Result<Component, LoadError> {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.engine
            .precompile_compatibility_hash()
            .hash(&mut hasher);
        let path = self
            .config
            .cache_dir
            .join(format!("{digest}-{:016x}.cwasm", hasher.finish()));
        if path.exists() {
            match deserialize(&self.engine, &path) {
                Ok(component) => return Ok(component),
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "cached compilation unusable; compiling again")
                }
            }
        }
        let compiled = self
            .engine
            .precompile_component(wasm)
            .map_err(LoadError::Invalid)?;
        // Loaders of the same component may race: each writes its own temporary file and
        // renames it into place (atomic), and uses the bytes it compiled, not the file.
        let temporary = path.with_extension(format!(
            "{}.{:016x}.tmp",
            std::process::id(),
            temporary_suffix()
        ));
        std::fs::write(&temporary, &compiled)?;
        std::fs::rename(&temporary, &path)?;
        deserialize_bytes(&self.engine, &compiled).map_err(LoadError::Invalid)
    }

    /// The plugin's type spec.
    pub async fn describe(&self, plugin: &Plugin) -> Result<PluginSpec, TaskFailure> {
        let limits = TaskLimits::small();
        let (mut store, _, _) = self
            .store(&limits, &Capabilities::none())
            .map_err(TaskFailure::Setup)?;
        let call = async {
            match &plugin.prepared {
                Prepared::Provider(pre) => {
                    pre.instantiate_async(&mut store)
                        .await?
                        .weft_plugin0_1_0_provider_api()
                        .call_describe(&mut store)
                        .await
                }
                Prepared::ProviderV2(pre) => {
                    pre.instantiate_async(&mut store)
                        .await?
                        .weft_plugin0_1_0_provider_api()
                        .call_describe(&mut store)
                        .await
                }
                Prepared::Automator(pre) => {
                    pre.instantiate_async(&mut store)
                        .await?
                        .weft_plugin0_1_0_automator_api()
                        .call_describe(&mut store)
                        .await
                }
            }
        };
        match tokio::time::timeout(limits.wall, call).await {
            Ok(Ok(spec)) => Ok(spec),
            Ok(Err(error)) => Err(classify(&error, store.data(), "", &limits)),
            Err(_) => Err(TaskFailure::Timeout(limits.wall)),
        }
    }

    /// Runs one task in a fresh store. Every failure of the plugin becomes a [`TaskFailure`];
    /// the runtime carries on.
    pub async fn run(
        &self,
        plugin: &Plugin,
        operation: Operation,
        task: &Task,
        capabilities: &Capabilities,
        limits: &TaskLimits,
    ) -> TaskOutcome {
        self.run_streaming(plugin, operation, task, capabilities, limits, None)
            .await
    }

    /// [`Runtime::run`], sending each log line to `live` as it is written (the plugin's lines
    /// and the host's, such as each SSH command; secrets already scrubbed), for a task log
    /// that streams while it runs.
    pub async fn run_streaming(
        &self,
        plugin: &Plugin,
        operation: Operation,
        task: &Task,
        capabilities: &Capabilities,
        limits: &TaskLimits,
        live: Option<tokio::sync::mpsc::UnboundedSender<LogLine>>,
    ) -> TaskOutcome {
        let started = Instant::now();
        let failed = |failure| TaskOutcome {
            result: Err(failure),
            log: Vec::new(),
            stdout: String::new(),
            stderr: String::new(),
            truncated: false,
            elapsed: started.elapsed(),
            audit: Vec::new(),
            learned_host_keys: Vec::new(),
        };
        if plugin.is_quarantined() {
            return failed(TaskFailure::Quarantined);
        }
        if operation.kind() != plugin.kind() {
            return failed(TaskFailure::WrongKind(plugin.kind(), operation));
        }
        let (mut store, stdout, stderr) = match self.store(limits, capabilities) {
            Ok(parts) => parts,
            Err(reason) => return failed(TaskFailure::Setup(reason)),
        };
        store.data_mut().live = live;
        let call = async {
            use crate::bindings::automator::Automator;
            use crate::bindings::provider::Provider;
            use crate::bindings::provider_v2::Provider as ProviderV2;
            match &plugin.prepared {
                Prepared::Provider(pre) => {
                    let instance: Provider = pre.instantiate_async(&mut store).await?;
                    let api = instance.weft_plugin0_1_0_provider_api();
                    match operation {
                        Operation::Create => api.call_create(&mut store, task).await,
                        Operation::Confirm => api.call_confirm(&mut store, task).await,
                        Operation::List => Ok(Err(PluginError::Unsupported(
                            "list: the plugin is built against weft:plugin@0.1.0, which has no \
                             inventory"
                                .into(),
                        ))),
                        _ => api.call_delete(&mut store, task).await,
                    }
                }
                Prepared::ProviderV2(pre) => {
                    let instance: ProviderV2 = pre.instantiate_async(&mut store).await?;
                    let api = instance.weft_plugin0_1_0_provider_api();
                    match operation {
                        Operation::Create => api.call_create(&mut store, task).await,
                        Operation::Confirm => api.call_confirm(&mut store, task).await,
                        Operation::List => instance
                            .weft_plugin0_2_0_inventory()
                            .call_list(&mut store, task)
                            .await
                            .map(|listed| listed.map(machines_result)),
                        _ => api.call_delete(&mut store, task).await,
                    }
                }
                Prepared::Automator(pre) => {
                    let instance: Automator = pre.instantiate_async(&mut store).await?;
                    let api = instance.weft_plugin0_1_0_automator_api();
                    match operation {
                        Operation::Bootstrap => api.call_bootstrap(&mut store, task).await,
                        Operation::Install => api.call_install(&mut store, task).await,
                        Operation::Configure => api.call_configure(&mut store, task).await,
                        Operation::Initialize => api.call_initialize(&mut store, task).await,
                        Operation::Start => api.call_start(&mut store, task).await,
                        Operation::Stop => api.call_stop(&mut store, task).await,
                        _ => api.call_remove(&mut store, task).await,
                    }
                }
            }
        };
        let outcome = tokio::time::timeout(limits.wall, call).await;
        let (stderr_text, stderr_cut) = stderr.contents();
        let (stdout_text, stdout_cut) = stdout.contents();
        let result = match outcome {
            Ok(Ok(Ok(result))) => {
                let size: usize = result
                    .results
                    .iter()
                    .chain(&result.ip_addresses)
                    .map(|kv| kv.key.len() + kv.value.len())
                    .sum();
                if size > limits.result_bytes {
                    Err(TaskFailure::ResultTooLarge {
                        size,
                        limit: limits.result_bytes,
                    })
                } else {
                    Ok(result)
                }
            }
            Ok(Ok(Err(error))) => match store.data().denied() {
                Some(denied) => Err(TaskFailure::Denied(denied)),
                None => Err(TaskFailure::Plugin(error)),
            },
            Ok(Err(error)) => Err(classify(&error, store.data(), &stderr_text, limits)),
            Err(_) => Err(TaskFailure::Timeout(limits.wall)),
        };
        let trapped = matches!(
            result,
            Err(TaskFailure::Panic(_)
                | TaskFailure::Trap(_)
                | TaskFailure::OutOfMemory(_)
                | TaskFailure::CpuExhausted(_)
                | TaskFailure::TooManyResources(_)
                | TaskFailure::Timeout(_))
        );
        if trapped {
            let traps = plugin.consecutive_traps.fetch_add(1, Ordering::Relaxed) + 1;
            if traps >= self.config.quarantine_after {
                plugin.quarantined.store(true, Ordering::Relaxed);
                tracing::error!(plugin = %plugin.digest, traps, "plugin quarantined after repeated traps");
            }
        } else {
            plugin.consecutive_traps.store(0, Ordering::Relaxed);
        }
        let state = store.into_data();
        let audit = state
            .events
            .lock()
            .map(|mut events| std::mem::take(&mut events.audit))
            .unwrap_or_default();
        let mut outcome = TaskOutcome {
            result,
            truncated: state.log_cut || stdout_cut || stderr_cut,
            log: state.log,
            stdout: stdout_text,
            stderr: stderr_text,
            elapsed: started.elapsed(),
            audit,
            learned_host_keys: state.ssh.learned,
        };
        crate::scrub::scrub(&mut outcome, capabilities.secrets.values());
        outcome
    }

    /// A fresh store for one task: no environment, no files, no sockets, capped output; only
    /// what `capabilities` grant, through the host interfaces.
    fn store(
        &self,
        limits: &TaskLimits,
        capabilities: &Capabilities,
    ) -> Result<(Store<TaskState>, CappedOutput, CappedOutput), String> {
        let stdout = CappedOutput::new(limits.output_bytes);
        let stderr = CappedOutput::new(limits.output_bytes);
        let wasi = WasiCtxBuilder::new()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_ip_name_lookup(false)
            .allow_tcp(false)
            .allow_udp(false)
            .socket_addr_check(|_, _| Box::pin(async { false }))
            .build();
        let mut table = ResourceTable::new();
        table.set_max_capacity(limits.table_entries);
        let tick = self.config.epoch_tick.as_nanos().max(1);
        let resources = match &capabilities.resources {
            Some(path) => Some(
                cap_std::fs::Dir::open_ambient_dir(path, cap_std::ambient_authority())
                    .map_err(|e| format!("{}: {e}", path.display()))?,
            ),
            None => None,
        };
        let events = Arc::new(std::sync::Mutex::new(Events::default()));
        let state = TaskState {
            wasi,
            table,
            limiter: Limiter {
                memory_bytes: limits.memory_bytes.min(self.config.max_memory_bytes),
                table_elements: MAX_TABLE_ELEMENTS,
                hit_memory: false,
            },
            log: Vec::new(),
            live: None,
            log_bytes: 0,
            log_cap: limits.output_bytes,
            log_cut: false,
            ticks: 0,
            tick_budget: (limits.cpu.as_nanos() / tick).max(1) as u64,
            out_of_cpu: false,
            egress: Egress {
                policy: Arc::new(EgressPolicy {
                    grants: capabilities.grants.clone(),
                    credentials: capabilities.credentials.clone(),
                }),
                events: events.clone(),
            },
            events,
            http: wasmtime_wasi_http::WasiHttpCtx::new(),
            ssh: SshState {
                targets: capabilities.ssh.clone(),
                learned: Vec::new(),
                keep: limits.output_bytes,
                download_limit: limits.file_bytes,
            },
            resources,
            resource_limit: limits.file_bytes,
            secrets: capabilities.secrets.clone(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limiter);
        // every tick: count it, and yield so the wall-clock timeout can cancel the call
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|mut context| {
            let state = context.data_mut();
            state.ticks += 1;
            if state.ticks > state.tick_budget {
                state.out_of_cpu = true;
                Ok(UpdateDeadline::Interrupt)
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });
        Ok((store, stdout, stderr))
    }
}

fn deserialize(engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
    // Read, not mapped: a cache file changed on disk while mapped would crash the process.
    let bytes = std::fs::read(path)?;
    deserialize_bytes(engine, &bytes)
}

fn deserialize_bytes(engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: the bytes were produced by `Engine::precompile_component` of an engine with the
    // same compatibility hash (it is in the cache file's name), in this process or into the
    // runtime's own cache directory, which no plugin or tenant can write; wasmtime still checks
    // the header and rejects artifacts of another version or configuration.
    #[allow(unsafe_code)]
    unsafe {
        Component::deserialize(engine, bytes)
    }
}

/// A per-call suffix for temporary cache files: unique within the process (the pid beside it
/// separates processes).
fn temporary_suffix() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Names the way a call failed.
fn classify(
    error: &wasmtime::Error,
    state: &TaskState,
    stderr: &str,
    limits: &TaskLimits,
) -> TaskFailure {
    if state.out_of_cpu || matches!(error.downcast_ref::<Trap>(), Some(Trap::Interrupt)) {
        return TaskFailure::CpuExhausted(limits.cpu);
    }
    if state.limiter.hit_memory {
        return TaskFailure::OutOfMemory(state.limiter.memory_bytes);
    }
    if let Some(denied) = state.denied() {
        return TaskFailure::Denied(denied);
    }
    if matches!(
        error.downcast_ref::<wasmtime::component::ResourceTableError>(),
        Some(wasmtime::component::ResourceTableError::Full)
    ) {
        return TaskFailure::TooManyResources(limits.table_entries);
    }
    let text = format!("{error:#}");
    if text.contains("pooling") || text.contains("maximum concurrent") {
        return TaskFailure::NoSlot(text);
    }
    if let Some(line) = stderr.lines().find(|l| l.contains("panicked at")) {
        let detail: Vec<&str> = stderr
            .lines()
            .skip_while(|l| !l.contains("panicked at"))
            .take(2)
            .collect();
        return TaskFailure::Panic(if detail.len() > 1 {
            detail.join(" ")
        } else {
            line.to_string()
        });
    }
    TaskFailure::Trap(text)
}

/// A listing as a task result: `machines`, a JSON array of `{"id", "tags": {key: value}}`.
fn machines_result(machines: Vec<Machine>) -> TaskResult {
    let listed: Vec<serde_json::Value> = machines
        .into_iter()
        .map(|m| {
            let tags: serde_json::Map<String, serde_json::Value> = m
                .tags
                .into_iter()
                .map(|kv| (kv.key, serde_json::Value::String(kv.value)))
                .collect();
            serde_json::json!({"id": m.id, "tags": tags})
        })
        .collect();
    TaskResult {
        results: vec![crate::bindings::types::KeyValue {
            key: MACHINES_RESULT.into(),
            value: serde_json::Value::Array(listed).to_string(),
        }],
        hostname: None,
        ip_addresses: vec![],
    }
}
