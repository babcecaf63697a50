//! The runtime against real components (built from `plugins/test-plugins` for wasm32-wasip2):
//! the happy path, every way a plugin can misbehave, and that the host carries on after each.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

mod capabilities;

use weft_runtime::{
    Capabilities, KeyValue, NodeInfo, Operation, PluginError, Runtime, RuntimeConfig,
    ServiceAction, Task, TaskFailure, TaskLimits,
};

fn runtime(cache: &std::path::Path, quarantine_after: u32) -> Runtime {
    Runtime::new(RuntimeConfig {
        cache_dir: cache.to_path_buf(),
        slots: 256,
        max_memory_bytes: 64 << 20,
        epoch_tick: Duration::from_millis(10),
        max_component_bytes: 32 << 20,
        quarantine_after,
    })
    .unwrap()
}

fn limits() -> TaskLimits {
    TaskLimits {
        memory_bytes: 32 << 20,
        cpu: Duration::from_millis(300),
        wall: Duration::from_secs(10),
        output_bytes: 64 << 10,
        result_bytes: 1 << 20,
        table_entries: 32,
        file_bytes: 1 << 20,
    }
}

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: value.into(),
    }
}

fn task(mode: &str) -> Task {
    let node = NodeInfo {
        id: "node-a".into(),
        nodenum: 1001,
        hostname: None,
        ip_addresses: vec![],
        hardwaretype: "small".into(),
        imagetype: "debian".into(),
        flavor: None,
        image: None,
        ssh_user: None,
        services: vec!["svc".into()],
        automators: vec!["test-misbehave".into()],
    };
    Task {
        id: "00000001-001-001".into(),
        cluster_id: "00000001".into(),
        node: node.clone(),
        nodes: vec![node],
        config_json: "{}".into(),
        provider_fields: vec![],
        service: Some(ServiceAction {
            name: "svc".into(),
            fields: vec![kv("mode", mode)],
        }),
        prior_results: vec![],
        ssh_target: None,
    }
}

struct Fixture {
    runtime: Runtime,
    provider: weft_runtime::Plugin,
    misbehave: weft_runtime::Plugin,
    _cache: tempfile::TempDir,
}

fn fixture(quarantine_after: u32) -> Fixture {
    let cache = tempfile::tempdir().unwrap();
    let runtime = runtime(cache.path(), quarantine_after);
    let provider = runtime
        .load(&weft_test_plugins::component("test-provider"))
        .unwrap();
    let misbehave = runtime
        .load(&weft_test_plugins::component("test-misbehave"))
        .unwrap();
    Fixture {
        runtime,
        provider,
        misbehave,
        _cache: cache,
    }
}

impl Fixture {
    async fn misbehave(&self, mode: &str, limits: &TaskLimits) -> weft_runtime::TaskOutcome {
        self.runtime
            .run(
                &self.misbehave,
                Operation::Install,
                &task(mode),
                &Capabilities::none(),
                limits,
            )
            .await
    }

    /// The runtime still serves a well-behaved task.
    async fn still_serves(&self) {
        let outcome = self
            .runtime
            .run(
                &self.provider,
                Operation::Create,
                &task(""),
                &Capabilities::none(),
                &limits(),
            )
            .await;
        assert!(outcome.result.is_ok(), "{:?}", outcome.result);
    }
}

/// The happy path every provider fixture answers the same way, whatever its language.
async fn happy_path(runtime: &Runtime, provider: &weft_runtime::Plugin, name: &str) {
    let spec = runtime.describe(provider).await.unwrap();
    assert_eq!(spec.name, name);
    let created = runtime
        .run(
            provider,
            Operation::Create,
            &task(""),
            &Capabilities::none(),
            &limits(),
        )
        .await;
    let result = created.result.unwrap();
    assert_eq!(result.results[0], kv("providerid", "test-1001"));
    assert_eq!(result.hostname.as_deref(), Some("node-1001.test"));
    assert_eq!(created.log.len(), 1);
    assert_eq!(
        (created.log[0].level, created.log[0].message.as_str()),
        ("info", "creating")
    );
    assert_eq!(
        created.log[0].fields,
        vec![("node".to_string(), "node-a".to_string())]
    );
    let mut confirm = task("");
    confirm.prior_results = result.results.clone();
    let confirmed = runtime
        .run(
            provider,
            Operation::Confirm,
            &confirm,
            &Capabilities::none(),
            &limits(),
        )
        .await
        .result
        .unwrap();
    assert_eq!(confirmed.ip_addresses, vec![kv("bind_v4", "10.0.0.1")]);
    let unconfirmed = runtime
        .run(
            provider,
            Operation::Confirm,
            &task(""),
            &Capabilities::none(),
            &limits(),
        )
        .await;
    assert!(
        matches!(unconfirmed.result, Err(TaskFailure::Plugin(PluginError::Failed(m))) if m.contains("providerid"))
    );
}

/// A LIST's outcome: the machines as JSON, or the failure.
async fn list(
    runtime: &Runtime,
    provider: &weft_runtime::Plugin,
) -> Result<serde_json::Value, TaskFailure> {
    let mut t = task("");
    t.provider_fields = vec![kv("weft-tenant", "t1"), kv("weft-cluster", "00000001")];
    let outcome = runtime
        .run(
            provider,
            Operation::List,
            &t,
            &Capabilities::none(),
            &limits(),
        )
        .await;
    outcome.result.map(|r| {
        assert_eq!(r.results.len(), 1);
        assert_eq!(r.results[0].key, weft_runtime::MACHINES_RESULT);
        serde_json::from_str(&r.results[0].value).unwrap()
    })
}

/// weft:plugin@0.2.0's inventory: a provider lists its machines with their tags; one that does
/// not implement it, or is built against 0.1.0, answers `unsupported`.
#[tokio::test(flavor = "multi_thread")]
async fn providers_list_their_machines_through_the_inventory() {
    let f = fixture(5);
    assert_eq!(f.provider.wit_version, "0.2.0");
    assert_eq!(
        list(&f.runtime, &f.provider).await.unwrap(),
        serde_json::json!([{"id": "test-1001", "tags": {
            "weft-tenant": "t1", "weft-cluster": "00000001", "weft-node": "node-a",
            "weft-attempt": "1"
        }}])
    );
    let wit = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../wit/released");
    let old = f
        .runtime
        .load(&std::fs::read(wit.join("weft-plugin@0.1.0/test_provider.wasm")).unwrap())
        .unwrap();
    assert_eq!(old.wit_version, "0.1.0");
    assert!(matches!(
        list(&f.runtime, &old).await,
        Err(TaskFailure::Plugin(PluginError::Unsupported(m))) if m.contains("0.1.0")
    ));
    // the Python and JavaScript SDKs' default inventory
    for example in ["python-provider", "js-provider"] {
        let plugin = f
            .runtime
            .load(&weft_test_plugins::example(example))
            .unwrap();
        assert_eq!(plugin.wit_version, "0.2.0", "{example}");
        let listed = list(&f.runtime, &plugin).await;
        assert!(
            matches!(
                &listed,
                Err(TaskFailure::Plugin(PluginError::Unsupported(_)))
            ),
            "{example}: {listed:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn happy_path_describe_create_confirm() {
    let f = fixture(5);
    happy_path(&f.runtime, &f.provider, "test-provider").await;
    assert!(f.runtime.describe(&f.misbehave).await.unwrap().needs.ssh);
}

#[tokio::test(flavor = "multi_thread")]
async fn python_and_javascript_plugins_pass_the_same_happy_path() {
    let f = fixture(5);
    for (example, name) in [
        ("python-provider", "python-provider"),
        ("js-provider", "js-provider"),
    ] {
        let plugin = f
            .runtime
            .load(&weft_test_plugins::example(example))
            .unwrap();
        happy_path(&f.runtime, &plugin, name).await;
    }
    f.still_serves().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn plugin_errors_and_unsupported_operations() {
    let f = fixture(5);
    let outcome = f.misbehave("error", &limits()).await;
    assert_eq!(
        outcome.result,
        Err(TaskFailure::Plugin(PluginError::Failed(
            "the plugin reports a failure".into()
        )))
    );
    let outcome = f
        .runtime
        .run(
            &f.misbehave,
            Operation::Start,
            &task(""),
            &Capabilities::none(),
            &limits(),
        )
        .await;
    assert!(
        matches!(
            outcome.result,
            Err(TaskFailure::Plugin(PluginError::Unsupported(_)))
        ),
        "{:?}",
        outcome.result
    );
    let outcome = f
        .runtime
        .run(
            &f.provider,
            Operation::Install,
            &task(""),
            &Capabilities::none(),
            &limits(),
        )
        .await;
    assert!(matches!(outcome.result, Err(TaskFailure::WrongKind(..))));
    f.still_serves().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_panic_is_reported_with_its_message() {
    let f = fixture(5);
    let outcome = f.misbehave("panic", &limits()).await;
    match outcome.result {
        Err(TaskFailure::Panic(message)) => assert!(
            message.contains("the plugin gave up on purpose"),
            "{message}"
        ),
        other => panic!("{other:?}"),
    }
    f.still_serves().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endless_loop_is_stopped_at_its_cpu_budget() {
    let f = fixture(5);
    let started = Instant::now();
    let outcome = f.misbehave("loop", &limits()).await;
    assert_eq!(
        outcome.result,
        Err(TaskFailure::CpuExhausted(Duration::from_millis(300)))
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "stopped after {:?}",
        started.elapsed()
    );
    // and at the wall clock when that comes first
    let wall = TaskLimits {
        cpu: Duration::from_secs(60),
        wall: Duration::from_millis(400),
        ..limits()
    };
    let started = Instant::now();
    assert_eq!(
        f.misbehave("loop", &wall).await.result,
        Err(TaskFailure::Timeout(Duration::from_millis(400)))
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    f.still_serves().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_memory_bomb_is_stopped_at_its_limit() {
    let f = fixture(5);
    let outcome = f.misbehave("memory", &limits()).await;
    assert_eq!(outcome.result, Err(TaskFailure::OutOfMemory(32 << 20)));
    f.still_serves().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn huge_output_is_truncated_and_huge_results_refused() {
    let f = fixture(5);
    // the plugin writes 40 MB through the host, which a debug host on a slow machine copies in
    // more than the usual 300 ms of the call's ticks (seen in CI): this test is about output
    let limits = TaskLimits {
        cpu: Duration::from_secs(10),
        ..limits()
    };
    let outcome = f.misbehave("output", &limits).await;
    assert!(outcome.result.is_ok(), "{:?}", outcome.result);
    assert!(outcome.truncated);
    assert!(
        outcome.stdout.len() <= 64 << 10 && outcome.stdout.len() > 60_000,
        "{}",
        outcome.stdout.len()
    );
    let logged: usize = outcome.log.iter().map(|l| l.message.len()).sum();
    assert!(logged <= 64 << 10, "{logged}");
    let big = f.misbehave("huge-result", &limits).await;
    assert!(
        matches!(
            big.result,
            Err(TaskFailure::ResultTooLarge { limit: 1048576, .. })
        ),
        "{:?}",
        big.result
    );
    f.still_serves().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ssh_to_an_ungranted_target_is_denied() {
    let f = fixture(5);
    let outcome = f.misbehave("ssh", &limits()).await;
    assert_eq!(
        outcome.result,
        Err(TaskFailure::Denied(
            "ssh target 'some-other-node' is not granted to this task".into()
        ))
    );
    f.still_serves().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn wasi_files_and_sockets_reach_nothing() {
    let f = fixture(5);
    let outcome = f.misbehave("file", &limits()).await;
    assert!(
        matches!(&outcome.result, Err(TaskFailure::Plugin(PluginError::Failed(m))) if m.starts_with("file:")),
        "{:?}",
        outcome.result
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut t = task("socket");
    t.service
        .as_mut()
        .unwrap()
        .fields
        .push(kv("address", &listener.local_addr().unwrap().to_string()));
    let outcome = f
        .runtime
        .run(
            &f.misbehave,
            Operation::Install,
            &t,
            &Capabilities::none(),
            &limits(),
        )
        .await;
    assert!(
        matches!(&outcome.result, Err(TaskFailure::Plugin(PluginError::Failed(m))) if m.starts_with("socket:")),
        "{:?}",
        outcome.result
    );
    listener.set_nonblocking(true).unwrap();
    assert!(listener.accept().is_err(), "nothing connected");
    f.still_serves().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plugin_that_keeps_trapping_is_quarantined_until_reenabled() {
    let f = fixture(2);
    f.misbehave("panic", &limits()).await;
    f.misbehave("panic", &limits()).await;
    assert!(f.misbehave.is_quarantined());
    assert_eq!(
        f.misbehave("error", &limits()).await.result,
        Err(TaskFailure::Quarantined)
    );
    f.misbehave.reenable();
    assert!(matches!(
        f.misbehave("error", &limits()).await.result,
        Err(TaskFailure::Plugin(_))
    ));
    f.still_serves().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_hundred_tasks_run_concurrently() {
    let f = Arc::new(fixture(5));
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let f = f.clone();
            tokio::spawn(async move {
                let mut t = task("");
                t.node.nodenum = 2000 + i;
                f.runtime
                    .run(
                        &f.provider,
                        Operation::Create,
                        &t,
                        &Capabilities::none(),
                        &limits(),
                    )
                    .await
                    .result
            })
        })
        .collect();
    for (i, handle) in tasks.into_iter().enumerate() {
        let result = handle
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("task {i}: {e}"));
        assert_eq!(result.results[0].value, format!("test-{}", 2000 + i));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn compiled_components_are_cached_and_checked_on_load() {
    let cache = tempfile::tempdir().unwrap();
    let wasm = weft_test_plugins::component("test-provider");
    let first = runtime(cache.path(), 5).load(&wasm).unwrap();
    let cached: Vec<_> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(cached.len(), 1);
    assert!(
        cached[0]
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with(&first.digest)
    );
    // a damaged cache entry is compiled again, not trusted
    std::fs::write(&cached[0], b"not a compiled component").unwrap();
    let again = runtime(cache.path(), 5);
    let plugin = again.load(&wasm).unwrap();
    assert!(
        again
            .run(
                &plugin,
                Operation::Create,
                &task(""),
                &Capabilities::none(),
                &limits()
            )
            .await
            .result
            .is_ok()
    );
    // refused components
    let small = Runtime::new(RuntimeConfig {
        max_component_bytes: 1000,
        ..config(cache.path())
    })
    .unwrap();
    assert!(matches!(
        small.load(&wasm),
        Err(weft_runtime::LoadError::TooLarge { .. })
    ));
    assert!(matches!(
        again.load(b"\0asm garbage"),
        Err(weft_runtime::LoadError::Invalid(_))
    ));
}

fn config(cache: &std::path::Path) -> RuntimeConfig {
    RuntimeConfig {
        cache_dir: cache.to_path_buf(),
        slots: 4,
        max_memory_bytes: 64 << 20,
        epoch_tick: Duration::from_millis(10),
        max_component_bytes: 32 << 20,
        quarantine_after: 5,
    }
}

/// Released WIT never changes, and plugins built against a released version keep working.
#[tokio::test(flavor = "multi_thread")]
async fn released_wit_is_frozen_and_its_plugins_still_run() {
    let wit = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../wit");
    let current = std::fs::read_to_string(wit.join("weft-plugin/worlds.wit")).unwrap();
    let version = current
        .lines()
        .find_map(|l| l.strip_prefix("package weft:plugin@"))
        .unwrap()
        .trim_end_matches(';')
        .to_string();
    let mut released: Vec<_> = std::fs::read_dir(wit.join("released"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    released.sort();
    assert!(!released.is_empty());
    let f = fixture(5);
    for dir in released {
        let name = dir.file_name().unwrap().to_str().unwrap().to_string();
        // the current package is in wit/weft-plugin; an older one, when the current one
        // builds on it, in wit/weft-plugin/deps
        let live = if name == format!("weft-plugin@{version}") {
            Some(wit.join("weft-plugin"))
        } else {
            Some(wit.join("weft-plugin/deps").join(&name)).filter(|d| d.exists())
        };
        let wit_files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|f| f.ends_with(".wit"))
            .collect();
        assert!(!wit_files.is_empty(), "{name} keeps its WIT");
        for file in wit_files.iter().filter(|_| live.is_some()) {
            let live = live.as_ref().unwrap().join(file);
            assert_eq!(
                std::fs::read_to_string(&live).unwrap_or_default(),
                std::fs::read_to_string(dir.join(file)).unwrap(),
                "{} differs from the released {name}: a released version is frozen, so give \
                 the change a new version",
                live.display()
            );
        }
        let plugin = f
            .runtime
            .load(&std::fs::read(dir.join("test_provider.wasm")).unwrap())
            .unwrap_or_else(|e| panic!("{name}'s component no longer loads: {e}"));
        happy_path(&f.runtime, &plugin, "test-provider").await;
    }
}

/// Loaders of one component racing on a cold cache all get a working plugin.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_loads_of_one_component_share_the_cache_safely() {
    let cache = tempfile::tempdir().unwrap();
    let runtime = Arc::new(runtime(cache.path(), 5));
    let wasm = Arc::new(weft_test_plugins::component("test-provider"));
    let loads: Vec<_> = (0..6)
        .map(|_| {
            let (runtime, wasm) = (runtime.clone(), wasm.clone());
            std::thread::spawn(move || runtime.load(&wasm).map(|_| ()))
        })
        .collect();
    for load in loads {
        load.join().unwrap().unwrap();
    }
    let files: Vec<_> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(files.len(), 1, "no temporary file is left: {files:?}");
    let plugin = runtime.load(&wasm).unwrap();
    happy_path(&runtime, &plugin, "test-provider").await;
}
