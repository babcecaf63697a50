//! Task queue throughput: tasks claimed and finished per second by concurrent workers, on
//! SQLite and on PostgreSQL (`WEFT_TEST_DATABASE_URL`), beside a baseline of the same number of
//! trivial round trips (`SELECT 1`) on the same pool, measured in the same run.
//! Run with `cargo bench -p weft-store --bench queue`.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use weft_model::TenantSpec;
use weft_store::{Finished, Store};
use weft_testkit::{Backend, TestDb};

const TASKS: usize = 4_000;
const WORKERS: usize = 8;

async fn prepared(backend: Backend) -> (Store, TestDb, Vec<String>) {
    let db = TestDb::new(backend).await;
    let store = Store::open(&db.url).await.unwrap();
    let mut tenants = Vec::new();
    for name in ["acme", "globex", "initech", "umbrella"] {
        let spec = TenantSpec {
            name: name.into(),
            description: None,
            workers: 0,
            max_clusters: None,
            max_nodes: None,
            inactivity_lease: None,
        };
        tenants.push(store.create_tenant(&spec, false).await.unwrap().id);
    }
    (store, db, tenants)
}

async fn queue(store: &Store, tenants: &[String]) -> Duration {
    for i in 0..TASKS {
        store
            .enqueue_task(
                &format!("t{i}"),
                &tenants[i % tenants.len()],
                "job",
                "{}",
                0,
                i as i64,
            )
            .await
            .unwrap();
    }
    let started = Instant::now();
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let worker = format!("w{w}");
                let done = Finished {
                    outcome: "complete",
                    result: "{}",
                };
                while let Some(task) = store
                    .claim_task(&worker, None, 1_000, 10, i64::MAX)
                    .await
                    .unwrap()
                {
                    store
                        .finish_task(&worker, &task.id, &done, 20)
                        .await
                        .unwrap()
                        .unwrap();
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    started.elapsed()
}

async fn baseline(store: &Store) -> Duration {
    let started = Instant::now();
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                for _ in 0..(2 * TASKS / WORKERS) {
                    store.ping().await.unwrap();
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    started.elapsed()
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        println!(
            "| backend | claim+finish per second | baseline round-trip pairs per second | ratio |"
        );
        println!("|---|---|---|---|");
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let (store, _db, tenants) = prepared(backend).await;
            let base = baseline(&store).await;
            let took = queue(&store, &tenants).await;
            let rate = TASKS as f64 / took.as_secs_f64();
            let base_rate = TASKS as f64 / base.as_secs_f64();
            println!(
                "| {} | {rate:.0} | {base_rate:.0} | {:.2} |",
                store.backend_name(),
                rate / base_rate
            );
        }
    });
}
