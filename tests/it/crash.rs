//! Crash safety with real processes: a `weft server` killed with SIGKILL in the middle of a
//! create, and a `weft worker` killed in the middle of a task. Machines live in the stand-in
//! cloud of the test process, so they can be counted after the crash.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use weft_testkit::{Backend, TestDb};

use crate::fixture::{TOKEN, create, setup, wait_for_status, wait_until};
use crate::process::{Server, Worker};
use crate::standin_cloud::StandInCloud;

/// Every task of the cluster's jobs completed exactly once; returns the attempts per task.
async fn attempts_per_task(
    server: &Server,
    token: &str,
    id: &str,
) -> BTreeMap<String, Vec<String>> {
    let (status, details) = server.get(&format!("/v2/clusters/{id}"), Some(token)).await;
    assert_eq!(status, 200, "{details}");
    let mut tasks: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for node in details["nodes"].as_array().unwrap() {
        for action in node["actions"].as_array().unwrap() {
            tasks
                .entry(action["taskId"].as_str().unwrap().to_string())
                .or_default()
                .push(action["status"].as_str().unwrap().to_string());
        }
    }
    for (task, statuses) in &tasks {
        let complete = statuses.iter().filter(|s| *s == "complete").count();
        assert_eq!(
            complete, 1,
            "task {task} completed {complete} times: {statuses:?}"
        );
    }
    tasks
}

/// The cloud holds exactly one live machine per node of the cluster, and created no other.
fn assert_one_machine_per_node(cloud: &StandInCloud, nodes: usize) {
    let machines = cloud.machines();
    let mut per_node: BTreeMap<String, usize> = BTreeMap::new();
    for machine in &machines {
        *per_node.entry(machine.node.clone()).or_default() += 1;
    }
    assert_eq!(
        machines.len(),
        nodes,
        "exactly {nodes} machines were created: {machines:?}"
    );
    assert!(per_node.values().all(|n| *n == 1), "{per_node:?}");
    assert!(machines.iter().all(|m| !m.deleted));
}

async fn server_killed_mid_create(backend: Backend) {
    let cloud = StandInCloud::start().await;
    let db = TestDb::new(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("weft-data");
    let mut args = vec![
        "--workers",
        "4",
        "--lease-secs",
        "2",
        "--janitor-secs",
        "1",
        "--retry-backoff-ms",
        "100",
        "--reconcile-secs",
        "1",
    ];
    if backend == Backend::Postgres {
        args.extend(["--database-url", &db.url]);
    }
    let env = [("WEFT_BOOTSTRAP_TOKEN", TOKEN)];
    let server = Server::start(&data, &args, &env).await;
    let admin = setup(
        &server,
        "test-cloud",
        json!({"delay_ms": "400", "project": "p1"}),
    )
    .await;
    let id = create(&server, &admin, 10).await;

    // kill the server while machines are being created: some exist, not all
    wait_until(
        "the first machines exist",
        Duration::from_secs(60),
        async || cloud.machines().len() >= 3,
    )
    .await;
    server.kill();
    let before = cloud.machines().len();
    assert!(
        before < 10,
        "the create finished before the kill ({before} machines)"
    );

    let server = Server::start(&data, &args, &env).await;
    let status = wait_for_status(&server, &admin, &id, "active").await;
    assert_eq!(status["stepscompleted"], status["stepstotal"], "{status}");
    assert_one_machine_per_node(&cloud, 10);
    let tasks = attempts_per_task(&server, &admin, &id).await;
    assert!(
        tasks.values().any(|attempts| attempts.len() > 1),
        "some task ran again after the restart: {tasks:?}"
    );
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(!log.contains(TOKEN), "the log never holds the token");

    // machines no node owns, made behind Weft's back, are deleted by the reconciler: a second
    // machine for a node and one for a node the cluster does not have; another tenant's
    // machine tagged with the same cluster id and the nodes' own machines stay
    let owned = cloud.machines();
    let (tenant, cluster, node) = (&owned[0].tenant, &owned[0].cluster, &owned[0].node);
    let second = cloud.inject(tenant, cluster, node, "9");
    let stray = cloud.inject(tenant, cluster, "no-such-node", "1");
    let foreign = cloud.inject("another-tenant", cluster, node, "1");
    let deleted = |id: &str| cloud.machines().iter().any(|m| m.id == id && m.deleted);
    wait_until(
        "the reconciler deletes the machines no node owns",
        Duration::from_secs(60),
        async || deleted(&second) && deleted(&stray),
    )
    .await;
    assert!(
        !deleted(&foreign),
        "another tenant's machine is not touched"
    );
    for machine in &owned {
        assert!(!deleted(&machine.id), "{} is its node's own", machine.id);
    }
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(
        log.contains("the reconciler deleted a machine no node owns"),
        "the deletes are logged"
    );

    // the cluster's machines go with it
    let (status, body) = server
        .call(Method::DELETE, &format!("/v2/clusters/{id}"), &admin, None)
        .await;
    assert_eq!(status, 200, "{body}");
    wait_for_status(&server, &admin, &id, "terminated").await;
    assert!(
        cloud
            .machines()
            .iter()
            .all(|m| m.deleted || m.id == foreign),
        "no machine leaked: {:?}",
        cloud.machines()
    );
    server.stop();
}

#[tokio::test]
async fn server_killed_mid_create_finishes_with_exactly_ten_machines_on_sqlite() {
    server_killed_mid_create(Backend::Sqlite).await;
}

#[tokio::test]
async fn server_killed_mid_create_finishes_with_exactly_ten_machines_on_postgres() {
    server_killed_mid_create(Backend::Postgres).await;
}

#[tokio::test]
async fn a_killed_worker_process_loses_its_tasks_to_the_other() {
    let cloud = StandInCloud::start().await;
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--workers",
        "0",
        "--lease-secs",
        "3",
        "--janitor-secs",
        "1",
        "--retry-backoff-ms",
        "100",
    ];
    let server = Server::start(
        &dir.path().join("weft-data"),
        &args,
        &[("WEFT_BOOTSTRAP_TOKEN", TOKEN)],
    )
    .await;
    let admin = setup(
        &server,
        "test-cloud",
        json!({"delay_ms": "1500", "project": "p1"}),
    )
    .await;
    let (status, body) = server
        .call(
            Method::POST,
            "/v2/workers/tokens",
            TOKEN,
            Some(json!({"name": "pool"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let worker_token = body["token"].as_str().unwrap().to_string();
    // a user token is no worker token
    let (status, _) = server
        .call(
            Method::POST,
            "/v2/tasks/take",
            &admin,
            Some(json!({"provisionerId": "w1", "workerId": "0"})),
        )
        .await;
    assert_eq!(status, 401);

    let first = Worker::start(&server, &worker_token, "w1", &dir.path().join("w1"), 2);
    let second = Worker::start(&server, &worker_token, "w2", &dir.path().join("w2"), 2);
    wait_until(
        "both workers registered",
        Duration::from_secs(30),
        async || {
            let (_, workers) = server.get("/v2/provisioners", Some(TOKEN)).await;
            workers.as_array().is_some_and(|w| w.len() == 2)
        },
    )
    .await;
    let id = create(&server, &admin, 4).await;

    // kill the first worker while it runs a task
    wait_until("w1 runs a task", Duration::from_secs(60), async || {
        let (_, workers) = server.get("/v2/provisioners", Some(TOKEN)).await;
        workers
            .as_array()
            .into_iter()
            .flatten()
            .any(|w| w["id"] == "w1" && w["usage"].as_i64().unwrap_or(0) > 0)
    })
    .await;
    first.kill();

    wait_for_status(&server, &admin, &id, "active").await;
    assert_one_machine_per_node(&cloud, 4);
    let tasks = attempts_per_task(&server, &admin, &id).await;
    assert!(
        tasks.values().any(|attempts| attempts.len() > 1),
        "a task of the killed worker ran again elsewhere: {tasks:?}"
    );
    drop(second);
    server.stop();
}
