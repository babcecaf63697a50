//! Engine throughput and memory: tasks taken and finished per second by concurrent worker
//! slots whose plugin is a no-op (the report is written at once; a real component's call costs
//! about 31 µs, see the runtime benchmark), through `Engine::take` then `Engine::finish` (two
//! calls per task, as a remote worker makes them: "Apart") and through `Engine::finish_and_take`
//! (one, as an embedded worker's slot makes it: "Together"), on SQLite and on PostgreSQL
//! (`WEFT_TEST_DATABASE_URL`), with 8 slots (one worker) and with 64 (a fleet), each the median
//! of three 2,000-node creates (6,000 tasks), beside a baseline of the same number of trivial
//! round-trip pairs (`SELECT 1`) made by as many concurrent callers on the same database, in the
//! same run. Idle slots wait as embedded workers do: for the engine's "tasks queued" signal, or
//! 5 ms. Before those runs, the process's resident memory with 1,000 tasks of a 1,000-node
//! cluster taken and not finished (in flight).
//!
//! Run with `cargo bench -p weft-engine --bench throughput`; `WEFT_BENCH_BACKENDS=postgres`,
//! `WEFT_BENCH_SLOTS=64` and `WEFT_BENCH_MODES=together` (comma-separated lists) narrow it.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use support::{create, setup, tenant};
use weft_engine::{Engine, WorkerIdentity};
use weft_model::TaskReport;
use weft_store::Store;
use weft_testkit::Backend;

#[path = "../tests/support/mod.rs"]
mod support;

const NODES: u32 = 2_000;
const SLOT_COUNTS: [usize; 2] = [8, 64];
const IN_FLIGHT: usize = 1_000;
/// Runs per measurement; the median is reported.
const RUNS: usize = 3;

/// How a slot reports and takes its next task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `Engine::finish`, then `Engine::take`: two calls (a remote worker's protocol).
    Apart,
    /// `Engine::finish_and_take`: one call (an embedded worker's loop).
    Together,
}

/// `slots` slots take and finish until the cluster is active; returns (tasks, elapsed).
async fn run(
    engine: &Engine,
    store: &Store,
    tenant: &str,
    cluster: &str,
    slots: usize,
    mode: Mode,
) -> (usize, Duration) {
    let started = Instant::now();
    let slots: Vec<_> = (0..slots)
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
                let mut next = None;
                loop {
                    let taken = match next.take() {
                        Some(task) => Some(task),
                        None => engine.take(&who).await.unwrap(),
                    };
                    match taken {
                        Some(task) => {
                            let report = TaskReport {
                                task_id: task.task_id,
                                attempt: task.attempt,
                                status: 0,
                                ..TaskReport::default()
                            };
                            match mode {
                                Mode::Apart => {
                                    engine.finish(&who, &report).await.unwrap();
                                }
                                Mode::Together => {
                                    let (finished, taken) =
                                        engine.finish_and_take(&who, &report).await;
                                    finished.unwrap();
                                    next = taken.unwrap();
                                }
                            }
                            done += 1;
                        }
                        None => {
                            let row = store.get_cluster(&tenant, &cluster).await.unwrap().unwrap();
                            if row.status == "active" {
                                return done;
                            }
                            let _ = tokio::time::timeout(Duration::from_millis(5), engine.queued())
                                .await;
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

async fn baseline(store: &Store, pairs: usize, callers: usize) -> Duration {
    let started = Instant::now();
    let callers: Vec<_> = (0..callers)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                for _ in 0..pairs / callers {
                    store.ping().await.unwrap();
                    store.ping().await.unwrap();
                }
            })
        })
        .collect();
    for caller in callers {
        caller.await.unwrap();
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
    let support::Setup {
        db: _db,
        store,
        engine,
    } = setup(backend).await;
    let tenant = tenant(&store, "bench", 100_000).await;
    // the latency every statement of a batch pays, one after the other
    let started = Instant::now();
    for _ in 0..1000 {
        store.ping().await.unwrap();
    }
    println!(
        "{backend:?}: one round trip at a time: {} µs each",
        started.elapsed().as_micros() / 1000
    );
    for mode in [Mode::Apart, Mode::Together] {
        let cluster = create(&engine, &tenant, &format!("warm-{mode:?}"), 20).await;
        run(&engine, &store, &tenant, &cluster, 8, mode).await; // warm-up: pools, caches, statements
    }
    // memory with IN_FLIGHT tasks taken and not finished
    // (first, while the process has not yet grown to the measured runs' size)
    let inflight = create(&engine, &tenant, "inflight", IN_FLIGHT as u32).await;
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
    // those tasks finish, and the rest of that create runs, before anything is measured
    for task in held {
        let report = TaskReport {
            task_id: task.task_id,
            attempt: task.attempt,
            status: 0,
            ..TaskReport::default()
        };
        engine.finish(&who, &report).await.unwrap();
    }
    run(&engine, &store, &tenant, &inflight, 64, Mode::Together).await;

    // WEFT_BENCH_SLOTS=64 and WEFT_BENCH_MODES=together narrow the runs (comma-separated)
    let slot_counts: Vec<usize> = match std::env::var("WEFT_BENCH_SLOTS") {
        Ok(list) => list
            .split(',')
            .filter_map(|n| n.trim().parse().ok())
            .collect(),
        Err(_) => SLOT_COUNTS.to_vec(),
    };
    let modes: Vec<Mode> = match std::env::var("WEFT_BENCH_MODES") {
        Ok(list) => [Mode::Apart, Mode::Together]
            .into_iter()
            .filter(|m| {
                list.split(',')
                    .any(|name| name.trim().eq_ignore_ascii_case(&format!("{m:?}")))
            })
            .collect(),
        Err(_) => vec![Mode::Apart, Mode::Together],
    };
    for &slots in &slot_counts {
        for &mode in &modes {
            // the median of RUNS, each beside its own baseline
            let mut rates = Vec::new();
            for run_number in 0..RUNS {
                let name = format!("measured-{slots}-{mode:?}-{run_number}");
                let cluster = create(&engine, &tenant, &name, NODES).await;
                let (tasks, took) = run(&engine, &store, &tenant, &cluster, slots, mode).await;
                let base = baseline(&store, tasks, slots).await;
                let per_second = tasks as f64 / took.as_secs_f64();
                let base_per_second = tasks as f64 / base.as_secs_f64();
                rates.push((per_second, base_per_second, tasks, took));
            }
            rates.sort_by(|a, b| a.0.total_cmp(&b.0));
            let (per_second, base_per_second, tasks, took) = rates[RUNS / 2];
            println!(
                "{backend:?}, {slots} slots, {mode:?}: {tasks} tasks taken and finished in {:.2} s \
                 (median of {RUNS}, from {:.0} to {:.0}/s): {per_second:.0}/s; \
                 baseline {base_per_second:.0} round-trip pairs/s; ratio {:.2}",
                took.as_secs_f64(),
                rates[0].0,
                rates[RUNS - 1].0,
                per_second / base_per_second
            );
        }
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // WEFT_BENCH_BACKENDS=sqlite (or postgres) runs one backend only
    let only = std::env::var("WEFT_BENCH_BACKENDS").unwrap_or_default();
    runtime.block_on(async {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let name = format!("{backend:?}").to_lowercase();
            if only.is_empty() || only.split(',').any(|b| b == name) {
                bench(backend).await;
            }
        }
    });
}
