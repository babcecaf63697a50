//! The task queue on both backends: fairness, caps, leases, expiry, exactly-once finishes.

use std::collections::BTreeSet;

use weft_model::TenantSpec;
use weft_store::{Finished, LeaseLost, Store};
use weft_testkit::{Backend, both_backends};

both_backends!(
    claims_are_fair_between_tenants_and_capped,
    leases_expire_and_only_the_holder_finishes,
    concurrent_claimers_take_each_task_once,
    a_busy_queue_is_vacuumed,
);

const DONE: Finished<'static> = Finished {
    outcome: "complete",
    result: "{}",
};

async fn tenants(store: &Store, names: &[&str]) -> Vec<String> {
    let mut ids = Vec::new();
    for name in names {
        let spec = TenantSpec {
            name: name.to_string(),
            description: None,
            workers: 0,
            max_clusters: None,
            max_nodes: None,
            inactivity_lease: None,
        };
        ids.push(store.create_tenant(&spec, false).await.unwrap().id);
    }
    ids
}

async fn claims_are_fair_between_tenants_and_capped(backend: Backend) {
    let (store, _db) = super::open(backend).await;
    let ids = tenants(&store, &["acme", "globex"]).await;
    // acme queued three tasks before globex queued its one
    for (i, task) in ["a1", "a2", "a3"].iter().enumerate() {
        store
            .enqueue_task(task, &ids[0], "j1", "{}", 0, i as i64)
            .await
            .unwrap();
    }
    store
        .enqueue_task("g1", &ids[1], "j2", "{}", 0, 10)
        .await
        .unwrap();
    store
        .enqueue_task("later", &ids[1], "j2", "{}", 1_000, 11)
        .await
        .unwrap();
    let mut order = Vec::new();
    while let Some(task) = store.claim_task("w", None, 2, 100, 10_000).await.unwrap() {
        order.push(task.id);
    }
    // globex's task goes second, not last; acme stops at its cap of 2; `later` is not ready
    assert_eq!(order, vec!["a1", "g1", "a2"]);
    store
        .finish_task("w", "a1", &DONE, 200)
        .await
        .unwrap()
        .unwrap();
    let next = store
        .claim_task("w", None, 2, 200, 10_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(next.id, "a3");
    // a worker serving one tenant sees only that tenant's tasks
    assert!(
        store
            .claim_task("w", Some(&ids[0]), 10, 2_000, 10_000)
            .await
            .unwrap()
            .is_none()
    );
    let later = store
        .claim_task("w", Some(&ids[1]), 10, 2_000, 10_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((later.id.as_str(), later.attempts), ("later", 1));
    assert!(
        store
            .enqueue_task("g1", &ids[1], "j2", "{}", 0, 0)
            .await
            .is_err()
    );
}

async fn leases_expire_and_only_the_holder_finishes(backend: Backend) {
    let (store, _db) = super::open(backend).await;
    let ids = tenants(&store, &["acme"]).await;
    store
        .enqueue_task("t1", &ids[0], "j1", "{\"op\":\"create\"}", 0, 0)
        .await
        .unwrap();
    let claimed = store
        .claim_task("w1", None, 10, 0, 1_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (claimed.payload.as_str(), claimed.lease_until),
        ("{\"op\":\"create\"}", 1_000)
    );
    // renewing keeps it; another worker cannot renew it
    assert_eq!(
        store.heartbeat_task("w1", "t1", 900, 2_000).await.unwrap(),
        Ok(())
    );
    assert_eq!(
        store.heartbeat_task("w2", "t1", 900, 2_000).await.unwrap(),
        Err(LeaseLost("t1".into()))
    );
    // w1 goes silent; the janitor puts the task back and w2 takes it
    assert_eq!(store.requeue_expired(1_500).await.unwrap(), 0);
    assert_eq!(store.requeue_expired(2_001).await.unwrap(), 1);
    let again = store
        .claim_task("w2", None, 10, 2_001, 5_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.attempts, 2);
    // the late finish of w1 is refused (a worker's 417); w2's is kept
    assert_eq!(
        store.finish_task("w1", "t1", &DONE, 2_100).await.unwrap(),
        Err(LeaseLost("t1".into()))
    );
    assert_eq!(
        store.finish_task("w2", "t1", &DONE, 2_200).await.unwrap(),
        Ok(())
    );
    assert_eq!(
        store.finish_task("w2", "t1", &DONE, 2_300).await.unwrap(),
        Err(LeaseLost("t1".into())),
        "a finish counts once"
    );
    assert_eq!(
        store.task_history(&ids[0], "j1").await.unwrap(),
        vec![("t1".to_string(), 2, "complete".to_string())]
    );
    assert!(
        store
            .claim_task("w2", None, 10, 3_000, 5_000)
            .await
            .unwrap()
            .is_none()
    );
}

async fn concurrent_claimers_take_each_task_once(backend: Backend) {
    let (store, _db) = super::open(backend).await;
    let ids = tenants(&store, &["acme", "globex"]).await;
    for i in 0..60 {
        store
            .enqueue_task(&format!("t{i:02}"), &ids[i % 2], "j", "{}", 0, i as i64)
            .await
            .unwrap();
    }
    let workers: Vec<_> = (0..6)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let worker = format!("w{w}");
                let mut mine = Vec::new();
                while let Some(task) = store
                    .claim_task(&worker, None, 100, 100, 100_000)
                    .await
                    .unwrap()
                {
                    store
                        .finish_task(&worker, &task.id, &DONE, 200)
                        .await
                        .unwrap()
                        .unwrap();
                    mine.push(task.id);
                }
                mine
            })
        })
        .collect();
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await.unwrap());
    }
    let distinct: BTreeSet<_> = all.iter().cloned().collect();
    assert_eq!(
        (all.len(), distinct.len()),
        (60, 60),
        "each task exactly once"
    );
}

/// Enough claims and finishes start a vacuum of the queue table on PostgreSQL (its dead row
/// versions would otherwise slow every claim until autovacuum comes). SQLite needs none.
async fn a_busy_queue_is_vacuumed(backend: Backend) {
    let (store, db) = super::open(backend).await;
    let ids = tenants(&store, &["acme"]).await;
    // each task is claimed once and finished once: two rows changed
    let tasks = weft_store::VACUUM_AFTER_ROWS / 2 + 10;
    for n in 0..tasks {
        let id = format!("t{n}");
        store
            .enqueue_task(&id, &ids[0], "j1", "{}", 0, 0)
            .await
            .unwrap();
        let claimed = store.claim_task("w1", None, 10, 1, 1_000).await.unwrap();
        assert_eq!(claimed.map(|c| c.id), Some(id.clone()));
        assert_eq!(
            store.finish_task("w1", &id, &DONE, 2).await.unwrap(),
            Ok(())
        );
    }
    let Backend::Postgres = backend else {
        return;
    };
    // (vacuums are counted in the server's statistics as they end)
    use sqlx::Connection;
    let mut connection = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let mut vacuums = 0i64;
    for _ in 0..100 {
        vacuums = sqlx::query_scalar(
            "SELECT vacuum_count FROM pg_stat_user_tables \
             WHERE relname = 'task_queue' AND schemaname = current_schema()",
        )
        .fetch_one(&mut connection)
        .await
        .unwrap();
        if vacuums > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(vacuums > 0, "the queue was not vacuumed");
}
