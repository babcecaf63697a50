//! Per-task cost: instantiating a precompiled plugin in a fresh store and calling it, beside
//! spawning a native plugin process that does the same work (the process-per-plugin model of
//! Terraform's go-plugin), measured in the same run. The native plugin is this very binary,
//! re-executed with `WEFT_NATIVE_PLUGIN=1`: it reads the task from stdin and answers the same
//! result on stdout. Run with `just bench`.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use criterion::Criterion;
use weft_runtime::{Capabilities, NodeInfo, Operation, Runtime, RuntimeConfig, Task, TaskLimits};

/// The native plugin: the same work as the test provider's `create`.
fn native_plugin() {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).unwrap();
    let nodenum: u32 = input.trim().parse().unwrap();
    let mut out = std::io::stdout();
    writeln!(
        out,
        "providerid=test-{nodenum}\nhostname=node-{nodenum}.test"
    )
    .unwrap();
}

fn task() -> Task {
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
        services: vec![],
        automators: vec![],
    };
    Task {
        id: "t".into(),
        cluster_id: "c".into(),
        node: node.clone(),
        nodes: vec![node],
        config_json: "{}".into(),
        provider_fields: vec![],
        service: None,
        prior_results: vec![],
        ssh_target: None,
    }
}

fn main() {
    if std::env::var_os("WEFT_NATIVE_PLUGIN").is_some() {
        native_plugin();
        return;
    }
    let cache = tempfile::tempdir().unwrap();
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: cache.path().to_path_buf(),
        slots: 16,
        max_memory_bytes: 64 << 20,
        epoch_tick: Duration::from_millis(10),
        max_component_bytes: 32 << 20,
        quarantine_after: 5,
    })
    .unwrap();
    let plugin = runtime
        .load(&weft_test_plugins::component("test-provider"))
        .unwrap();
    let limits = TaskLimits::small();
    let task = task();
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let me = std::env::current_exe().unwrap();

    let mut criterion = Criterion::default().configure_from_args();
    let mut group = criterion.benchmark_group("task");
    group.bench_function("wasm-component/instantiate+create", |b| {
        b.iter(|| {
            tokio
                .block_on(runtime.run(
                    &plugin,
                    Operation::Create,
                    &task,
                    &Capabilities::none(),
                    &limits,
                ))
                .result
                .unwrap()
        })
    });
    group.bench_function("native-process/spawn+create", |b| {
        b.iter(|| {
            let mut child = Command::new(&me)
                .env("WEFT_NATIVE_PLUGIN", "1")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            child.stdin.take().unwrap().write_all(b"1001\n").unwrap();
            let output = child.wait_with_output().unwrap();
            assert!(output.status.success());
            output.stdout
        })
    });
    group.finish();
    criterion.final_summary();
}
