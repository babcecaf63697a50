//! The engine's hot path: takes and finishes that arrive together are claimed and applied
//! together, and each caller still gets exactly its own answer. Every test runs on SQLite and
//! on PostgreSQL.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use support::{Setup, create, setup, tenant};
use tokio::sync::Barrier;
use weft_engine::{Engine, EngineConfig, Finished, RetryPolicy, WorkerIdentity};
use weft_model::{PluginStatus, TaskAssignment, TaskReport};
use weft_store::Store;
use weft_testkit::{Backend, both_backends};

both_backends!(
    concurrent_takes_share_the_queue_under_each_tenants_cap,
    reports_that_arrive_together_each_get_their_own_answer,
    many_slots_run_a_create_to_the_end_with_one_attempt_per_task,
    slots_that_report_and_take_in_one_call_each_hold_their_own_lease,
    a_report_that_ends_a_stage_takes_the_next_stages_task_with_it,
    a_plugin_disabled_between_takes_stops_the_next_task,
);

fn who(name: &str) -> WorkerIdentity {
    WorkerIdentity {
        worker: name.into(),
        tenant_id: None,
    }
}

fn ok(task: &TaskAssignment) -> TaskReport {
    TaskReport {
        task_id: task.task_id.clone(),
        attempt: task.attempt,
        status: 0,
        ..TaskReport::default()
    }
}

/// `count` takes started at the same moment, by workers `w0`, `w1`...
async fn take_together(engine: &Engine, count: usize) -> Vec<Option<TaskAssignment>> {
    let barrier = Arc::new(Barrier::new(count));
    let takes: Vec<_> = (0..count)
        .map(|i| {
            let (engine, barrier) = (engine.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                engine.take(&who(&format!("w{i}"))).await.unwrap()
            })
        })
        .collect();
    let mut out = Vec::new();
    for take in takes {
        out.push(take.await.unwrap());
    }
    out
}

/// Reports finished at the same moment, each by its worker; the answers in order.
async fn finish_together(engine: &Engine, reports: Vec<(String, TaskReport)>) -> Vec<Finished> {
    let barrier = Arc::new(Barrier::new(reports.len()));
    let finishes: Vec<_> = reports
        .into_iter()
        .map(|(worker, report)| {
            let (engine, barrier) = (engine.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                engine.finish(&who(&worker), &report).await.unwrap()
            })
        })
        .collect();
    let mut out = Vec::new();
    for finish in finishes {
        out.push(finish.await.unwrap());
    }
    out
}

async fn concurrent_takes_share_the_queue_under_each_tenants_cap(backend: Backend) {
    let Setup {
        db: _db,
        store,
        engine,
    } = setup(backend).await;
    let small = tenant(&store, "small", 3).await;
    let large = tenant(&store, "large", 50).await;
    create(&engine, &small, "s", 10).await;
    create(&engine, &large, "l", 10).await;

    // 20 takers, 10 CREATE tasks in each tenant, room for 3 of the small tenant's
    let taken = take_together(&engine, 20).await;
    let mut by_tenant: BTreeMap<String, usize> = BTreeMap::new();
    let mut ids = BTreeSet::new();
    for task in taken.iter().flatten() {
        *by_tenant.entry(task.tenant_id.clone()).or_default() += 1;
        assert!(
            ids.insert(task.task_id.clone()),
            "{} taken twice",
            task.task_id
        );
        assert_eq!(task.task_name, "CREATE");
        assert_eq!(task.attempt, 1);
    }
    assert_eq!(by_tenant.get(&small), Some(&3), "{by_tenant:?}");
    assert_eq!(by_tenant.get(&large), Some(&10), "{by_tenant:?}");
    assert_eq!(taken.iter().filter(|t| t.is_none()).count(), 7);

    // the tasks of one stage share one view of the cluster's nodes
    let large_tasks: Vec<&TaskAssignment> = taken
        .iter()
        .flatten()
        .filter(|t| t.tenant_id == large)
        .collect();
    assert_eq!(large_tasks[0].nodes.len(), 10);
    assert!(
        large_tasks
            .iter()
            .all(|t| Arc::ptr_eq(&t.nodes, &large_tasks[0].nodes)),
        "every task of the stage holds the same node map"
    );
}

async fn reports_that_arrive_together_each_get_their_own_answer(backend: Backend) {
    let Setup {
        db: _db,
        store,
        engine,
    } = setup(backend).await;
    let tenant = tenant(&store, "acme", 50).await;
    let cluster = create(&engine, &tenant, "c", 10).await;
    let taken: Vec<(String, TaskAssignment)> = take_together(&engine, 10)
        .await
        .into_iter()
        .enumerate()
        .map(|(i, t)| (format!("w{i}"), t.unwrap()))
        .collect();

    // nine reports, one from a worker that does not hold the task, one sent twice
    let mut reports: Vec<(String, TaskReport)> = taken[..9]
        .iter()
        .map(|(worker, task)| (worker.clone(), ok(task)))
        .collect();
    reports.push(("intruder".into(), ok(&taken[9].1)));
    reports.push((taken[0].0.clone(), ok(&taken[0].1)));
    let answers = finish_together(&engine, reports).await;
    assert!(answers[1..8].iter().all(|a| *a == Finished::Accepted));
    assert_eq!(answers[9], Finished::LeaseLost, "not the intruder's task");
    let twice = [answers[0], answers[10]];
    assert!(
        twice.contains(&Finished::Accepted) && twice.contains(&Finished::LeaseLost),
        "a report sent twice counts once: {twice:?}"
    );

    // the stage is not over while its last task runs
    assert!(engine.take(&who("early")).await.unwrap().is_none());
    let (worker, last) = &taken[9];
    assert_eq!(
        engine.finish(&who(worker), &ok(last)).await.unwrap(),
        Finished::Accepted
    );
    // and its last report opens the next stage at once
    let next = engine.take(&who("next")).await.unwrap().unwrap();
    assert_eq!(next.task_name, "CONFIRM");

    // every node's CREATE is on record once, complete
    for node in store.cluster_nodes(&cluster).await.unwrap() {
        let actions = store.node_actions(&node.id).await.unwrap();
        let creates: Vec<&str> = actions
            .iter()
            .filter(|a| a.action == "CREATE")
            .map(|a| a.status.as_str())
            .collect();
        assert_eq!(creates, ["complete"], "node {}", node.id);
    }
}

/// The slot whose report ends a stage gets the next stage's task in the same call: its take
/// claims once more after the scheduling step queued that stage.
async fn a_report_that_ends_a_stage_takes_the_next_stages_task_with_it(backend: Backend) {
    let Setup {
        db: _db,
        store,
        engine,
    } = setup(backend).await;
    let tenant = tenant(&store, "acme", 10).await;
    create(&engine, &tenant, "c", 1).await;
    let me = who("w0");
    let created = engine.take(&me).await.unwrap().unwrap();
    assert_eq!(created.task_name, "CREATE");
    let (answer, next) = engine.finish_and_take(&me, &ok(&created)).await;
    assert_eq!(answer.unwrap(), Finished::Accepted);
    let confirm = next
        .unwrap()
        .expect("the next stage's task came with the report");
    assert_eq!(confirm.task_name, "CONFIRM");
    assert!(engine.heartbeat(&me, &confirm.task_id).await.unwrap());
    let (answer, next) = engine.finish_and_take(&me, &ok(&confirm)).await;
    assert_eq!(answer.unwrap(), Finished::Accepted);
    let bootstrap = next.unwrap().unwrap();
    assert_eq!(bootstrap.task_name, "BOOTSTRAP");
    // the last stage's report: nothing comes next
    let (answer, next) = engine.finish_and_take(&me, &ok(&bootstrap)).await;
    assert_eq!(answer.unwrap(), Finished::Accepted);
    assert!(next.unwrap().is_none());
}

async fn many_slots_run_a_create_to_the_end_with_one_attempt_per_task(backend: Backend) {
    run_create_by_slots(backend, false).await;
}

/// Half the slots report and take their next task in one call (`finish_and_take`, as embedded
/// workers do), the rest in two; every task a slot gets is leased to that slot and no other,
/// and the create still ends with one attempt per task.
async fn slots_that_report_and_take_in_one_call_each_hold_their_own_lease(backend: Backend) {
    run_create_by_slots(backend, true).await;
}

/// 16 slots run a 40-node create to the end; with `cycles`, the even ones report and take in
/// one call and check that each task they get so is leased to them.
async fn run_create_by_slots(backend: Backend, cycles: bool) {
    let Setup {
        db: _db,
        store,
        engine,
    } = setup(backend).await;
    let tenant = tenant(&store, "acme", 100).await;
    let cluster = create(&engine, &tenant, "c", 40).await;
    let slots: Vec<_> = (0..16)
        .map(|slot| {
            let (engine, store, tenant, cluster) = (
                engine.clone(),
                store.clone(),
                tenant.clone(),
                cluster.clone(),
            );
            tokio::spawn(async move {
                let me = who(&format!("slot{slot}"));
                let other = who(&format!("slot{}", (slot + 1) % 16));
                let together = cycles && slot % 2 == 0;
                let mut next: Option<TaskAssignment> = None;
                let mut taken_together = 0;
                loop {
                    let taken = match next.take() {
                        Some(task) => Some(task),
                        None => engine.take(&me).await.unwrap(),
                    };
                    match taken {
                        Some(task) if together => {
                            let (answer, taken) = engine.finish_and_take(&me, &ok(&task)).await;
                            assert_eq!(answer.unwrap(), Finished::Accepted);
                            next = taken.unwrap();
                            if let Some(task) = &next {
                                taken_together += 1;
                                assert!(engine.heartbeat(&me, &task.task_id).await.unwrap());
                                assert!(!engine.heartbeat(&other, &task.task_id).await.unwrap());
                            }
                        }
                        Some(task) => {
                            let answer = engine.finish(&me, &ok(&task)).await.unwrap();
                            assert_eq!(answer, Finished::Accepted);
                        }
                        None => {
                            let row = store.get_cluster(&tenant, &cluster).await.unwrap().unwrap();
                            if row.status == "active" {
                                return taken_together;
                            }
                            let _ = tokio::time::timeout(
                                std::time::Duration::from_millis(20),
                                engine.queued(),
                            )
                            .await;
                        }
                    }
                }
            })
        })
        .collect();
    let all = async {
        let mut taken_together = 0;
        for slot in slots {
            taken_together += slot.await.unwrap();
        }
        taken_together
    };
    let taken_together = tokio::time::timeout(std::time::Duration::from_secs(60), all)
        .await
        .expect("the cluster became active");
    if cycles {
        assert!(taken_together > 0, "some tasks were taken with a report");
    }
    for node in store.cluster_nodes(&cluster).await.unwrap() {
        let actions: Vec<(String, i64, String)> = store
            .node_actions(&node.id)
            .await
            .unwrap()
            .into_iter()
            .map(|a| (a.action, a.attempt, a.status))
            .collect();
        let expected: Vec<(String, i64, String)> = ["CREATE", "CONFIRM", "BOOTSTRAP"]
            .into_iter()
            .map(|a| (a.to_string(), 1, "complete".to_string()))
            .collect();
        assert_eq!(actions, expected, "node {}", node.id);
    }
}

/// A batch's lookups (plugins, their types, their resources) are kept for the next batches, but
/// not past a write to them: this server's is seen by the very next take, another server's
/// within a second (`KEEP_LOOKUPS_FOR`).
async fn a_plugin_disabled_between_takes_stops_the_next_task(backend: Backend) {
    let Setup { db, store, .. } = setup(backend).await;
    let superadmin = store.tenant_by_name("superadmin").await.unwrap().id;
    let config = EngineConfig {
        retry: RetryPolicy {
            max_attempts: 3,
            backoff_ms: 1_500,
        },
        ..EngineConfig::default()
    };
    let engine = Engine::new(
        store.clone(),
        weft_vault::Vault::new(&[7u8; 32]).unwrap(),
        superadmin.clone(),
        config,
    );
    let tenant = tenant(&store, "acme", 10).await;
    let cluster = create(&engine, &tenant, "c", 3).await;
    // this take looks the provider's plugin up: active
    let first = engine.take(&who("w0")).await.unwrap().unwrap();
    assert_eq!(first.task_name, "CREATE");

    // disabled here: the next take hands no task out, each fails on the spot
    store
        .set_plugin_status(&superadmin, "noop", 1, PluginStatus::Disabled)
        .await
        .unwrap();
    assert!(engine.take(&who("w1")).await.unwrap().is_none());
    let mut failed = 0;
    for node in store.cluster_nodes(&cluster).await.unwrap() {
        for action in store.node_actions(&node.id).await.unwrap() {
            if action.status == "failed" {
                assert!(
                    action
                        .stderr
                        .contains("plugin 'noop' version 1 is disabled"),
                    "{}",
                    action.stderr
                );
                failed += 1;
            }
        }
    }
    assert_eq!(failed, 2, "the two CREATEs not yet handed out failed");

    // set active again by another server (its own store): seen once the lookups are a second
    // old, by the time the failed tasks' retries are due
    let other = Store::open(&db.url).await.unwrap();
    other
        .set_plugin_status(&superadmin, "noop", 1, PluginStatus::Active)
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1_600)).await;
    let retried = engine.take(&who("w2")).await.unwrap().unwrap();
    assert_eq!((retried.task_name.as_str(), retried.attempt), ("CREATE", 2));
}

/// On PostgreSQL a report with something to merge into its node's body locks the node before it
/// reads it, so another server's merge on the same node is not lost (nor its own), and a report
/// with nothing to merge costs its node no lock: held by another transaction, the node holds up
/// the one and not the other.
#[tokio::test]
async fn on_postgres_only_a_report_that_changes_its_node_waits_for_the_nodes_lock() {
    let Setup { db, store, engine } = setup(Backend::Postgres).await;
    let tenant = tenant(&store, "acme", 10).await;
    let cluster = create(&engine, &tenant, "c", 2).await;
    let plain = engine.take(&who("w0")).await.unwrap().unwrap();
    let merging = engine.take(&who("w1")).await.unwrap().unwrap();

    // another server's transaction holds both nodes, and merges a result of its own into one
    let other = sqlx::PgPool::connect(&db.url).await.unwrap();
    let mut held = other.begin().await.unwrap();
    let locked: Vec<(String, String)> =
        sqlx::query_as("SELECT id, body FROM nodes WHERE cluster_id = $1 FOR UPDATE")
            .bind(&cluster)
            .fetch_all(&mut *held)
            .await
            .unwrap();
    assert_eq!(locked.len(), 2);
    let (id, body) = locked
        .iter()
        .find(|(id, _)| *id == merging.node_id)
        .unwrap();
    let mut body: serde_json::Value = serde_json::from_str(body).unwrap();
    body["provisionerResults"]["disk"] = serde_json::json!("ssd");
    sqlx::query("UPDATE nodes SET body = $1 WHERE id = $2")
        .bind(body.to_string())
        .bind(id)
        .execute(&mut *held)
        .await
        .unwrap();

    let answer = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        engine.finish(&who("w0"), &ok(&plain)),
    )
    .await
    .expect("a report with nothing to merge is not held up by its node's lock");
    assert_eq!(answer.unwrap(), Finished::Accepted);

    let mut report = ok(&merging);
    report
        .result
        .insert("flavor".into(), serde_json::json!("large"));
    let pending = tokio::spawn({
        let engine = engine.clone();
        async move { engine.finish(&who("w1"), &report).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(
        !pending.is_finished(),
        "the merge waits for the node's lock"
    );
    held.commit().await.unwrap();
    assert_eq!(pending.await.unwrap().unwrap(), Finished::Accepted);
    let node = store
        .cluster_nodes(&cluster)
        .await
        .unwrap()
        .into_iter()
        .find(|n| n.id == merging.node_id)
        .unwrap();
    let results =
        &serde_json::from_str::<serde_json::Value>(&node.body).unwrap()["provisionerResults"];
    assert_eq!(
        (&results["disk"], &results["flavor"]),
        (&serde_json::json!("ssd"), &serde_json::json!("large")),
        "both merges kept: {results}"
    );
}
