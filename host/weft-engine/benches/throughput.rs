//! Engine throughput and memory: tasks taken and finished per second through `Engine::take` and
//! `Engine::finish` by concurrent worker slots whose plugin is a no-op (the report is written
//! at once; a real component's call costs about 31 µs, see the runtime benchmark), on SQLite and
//! on PostgreSQL (`WEFT_TEST_DATABASE_URL`), beside a baseline of the same number of trivial
//! round-trip pairs (`SELECT 1`) on the same database, in the same run. Then the process's
//! resident memory with 1,000 tasks taken and not finished (in flight).
//!
//! Run with `cargo bench -p weft-engine --bench throughput`.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use weft_engine::{Engine, EngineConfig, WorkerIdentity};
use weft_model::{
    ClusterCreateRequest, EntityKind, ImportMode, PluginGrants, PluginKind, TaskReport, TenantSpec,
};
use weft_store::{NewPlugin, Store};
use weft_testkit::{Backend, TestDb};

const NODES: u32 = 400;
const SLOTS: usize = 8;
const IN_FLIGHT: usize = 1_000;

fn object(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

/// A store with a tenant, a registered no-op provider type and a plain template.
async fn prepared(backend: Backend) -> (TestDb, Store, Engine, String) {
    let db = TestDb::new(backend).await;
    let store = Store::open(&db.url).await.unwrap();
    store.ensure_superadmin("bench").await.unwrap();
    let superadmin = store.tenant_by_name("superadmin").await.unwrap().id;
    let tenant = store
        .create_tenant(
            &TenantSpec {
                name: "bench".into(),
                description: None,
                workers: 100_000,
                max_clusters: None,
                max_nodes: None,
                inactivity_lease: None,
            },
            false,
        )
        .await
        .unwrap()
        .id;
    let grants = PluginGrants::default();
    store
        .register_plugin(
            &superadmin,
            &NewPlugin {
                name: "noop",
                kind: PluginKind::Provider,
                digest: "00",
                wit_version: "0.1.0",
                description: "no-op",
                requested: &grants,
                approved: &grants,
                component: b"not run",
                created_by: "bench",
                type_spec: &object(json!({"name": "noop", "parameters": {}})),
            },
        )
        .await
        .unwrap();
    let one = |kind, body: Value| {
        (
            kind,
            vec![(body["name"].as_str().unwrap().to_string(), object(body))],
        )
    };
    store
        .import_entities(
            &tenant,
            &[
                one(
                    EntityKind::Providers,
                    json!({"name": "p", "providertype": "noop", "provisioner": {}}),
                ),
                one(
                    EntityKind::Hardwaretypes,
                    json!({"name": "h", "providermap": {"p": {"flavor": "f"}}}),
                ),
                one(
                    EntityKind::Imagetypes,
                    json!({"name": "i", "providermap": {"p": {"image": "i"}}}),
                ),
                one(EntityKind::Services, json!({"name": "base"})),
                one(
                    EntityKind::Clustertemplates,
                    json!({"name": "t",
                       "defaults": {"services": ["base"], "provider": "p", "hardwaretype": "h",
                                    "imagetype": "i", "config": {}},
                       "compatibility": {"services": ["base"]}}),
                ),
            ],
            ImportMode::Replace,
        )
        .await
        .unwrap();
    let engine = Engine::new(
        store.clone(),
        weft_vault::Vault::new(&[7u8; 32]).unwrap(),
        superadmin,
        EngineConfig::default(),
    );
    (db, store, engine, tenant)
}

async fn create(engine: &Engine, tenant: &str, name: &str, nodes: u32) -> String {
    let request: ClusterCreateRequest =
        serde_json::from_value(json!({"name": name, "clusterTemplate": "t", "numMachines": nodes}))
            .unwrap();
    engine
        .create_cluster(tenant, "bench", &request)
        .await
        .unwrap()
        .cluster_id
}

/// Slots take and finish until the cluster is active; returns (tasks, elapsed).
async fn run(engine: &Engine, store: &Store, tenant: &str, cluster: &str) -> (usize, Duration) {
    let started = Instant::now();
    let slots: Vec<_> = (0..SLOTS)
        .map(|slot| {
            let (engine, store, tenant, cluster) = (
                engine.clone(),
                store.clone(),
                tenant.to_string(),
                cluster.to_string(),
            );
            tokio::spawn(async move {
                let who = WorkerIdentity {
                    worker: format!("bench/{slot}"),
                    tenant_id: None,
                };
                let mut done = 0usize;
                loop {
                    match engine.take(&who).await.unwrap() {
                        Some(task) => {
                            let report = TaskReport {
                                task_id: task.task_id,
                                attempt: task.attempt,
                                status: 0,
                                ..TaskReport::default()
                            };
                            engine.finish(&who, &report).await.unwrap();
                            done += 1;
                        }
                        None => {
                            let row = store.get_cluster(&tenant, &cluster).await.unwrap().unwrap();
                            if row.status == "active" {
                                return done;
                            }
                            tokio::time::sleep(Duration::from_millis(1)).await;
                        }
                    }
                }
            })
        })
        .collect();
    let mut tasks = 0;
    for slot in slots {
        tasks += slot.await.unwrap();
    }
    (tasks, started.elapsed())
}

async fn baseline(store: &Store, pairs: usize) -> Duration {
    let started = Instant::now();
    let slots: Vec<_> = (0..SLOTS)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                for _ in 0..pairs / SLOTS {
                    store.ping().await.unwrap();
                    store.ping().await.unwrap();
                }
            })
        })
        .collect();
    for slot in slots {
        slot.await.unwrap();
    }
    started.elapsed()
}

fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

async fn bench(backend: Backend) {
    let (_db, store, engine, tenant) = prepared(backend).await;
    let cluster = create(&engine, &tenant, "warm", 20).await;
    run(&engine, &store, &tenant, &cluster).await; // warm-up: pools, caches, statements
    let cluster = create(&engine, &tenant, "measured", NODES).await;
    let (tasks, took) = run(&engine, &store, &tenant, &cluster).await;
    let base = baseline(&store, tasks).await;
    let per_second = tasks as f64 / took.as_secs_f64();
    let base_per_second = tasks as f64 / base.as_secs_f64();
    println!(
        "{backend:?}: {tasks} tasks taken and finished in {:.2} s: {per_second:.0}/s; \
         baseline {base_per_second:.0} round-trip pairs/s; ratio {:.2}",
        took.as_secs_f64(),
        per_second / base_per_second
    );

    // memory with IN_FLIGHT tasks taken and not finished
    let cluster = create(&engine, &tenant, "inflight", IN_FLIGHT as u32).await;
    let _ = cluster;
    let before = resident_kib();
    let who = WorkerIdentity {
        worker: "bench/holder".into(),
        tenant_id: None,
    };
    let mut held = Vec::with_capacity(IN_FLIGHT);
    while held.len() < IN_FLIGHT {
        match engine.take(&who).await.unwrap() {
            Some(task) => held.push(task),
            None => tokio::time::sleep(Duration::from_millis(1)).await,
        }
    }
    let after = resident_kib();
    println!(
        "{backend:?}: resident memory {before} KiB before, {after} KiB with {IN_FLIGHT} tasks in flight \
         (+{} KiB, {:.1} KiB per task, assignments held)",
        after.saturating_sub(before),
        after.saturating_sub(before) as f64 / IN_FLIGHT as f64
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        bench(Backend::Sqlite).await;
        bench(Backend::Postgres).await;
    });
}
