//! The engine end to end through the API: embedded workers run the fixture plugins in the real
//! plugin runtime; each test runs on SQLite and on PostgreSQL.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::{Value, json};
use weft_testkit::{Backend, both_backends};

use crate::harness::{SUPERADMIN_TOKEN, Tenant, TestApp};

/// The fixture catalog: a provider of type `test-provider` and services whose actions run the
/// test automators.
fn catalog(install: Value) -> Value {
    json!({
        "providers": [{"name": "sim", "providertype": "test-provider", "provisioner": {}}],
        "hardwaretypes": [{"name": "small", "providermap": {"sim": {"flavor": "s1"}}}],
        "imagetypes": [{"name": "img", "providermap": {"sim": {"image": "i1", "sshuser": "weft"}}}],
        "services": [
            {"name": "base"},
            {"name": "app", "dependencies": {"runtime": {"requires": ["base"]}},
             "provisioner": {"actions": {"install": install}}}
        ],
        "partialtemplates": [],
        "clustertemplates": [{
            "name": "basic",
            "defaults": {"services": ["base"], "provider": "sim", "hardwaretype": "small", "imagetype": "img",
                         "config": {"greeting": "hello"}},
            "compatibility": {"services": ["base", "app"]},
            "constraints": {"size": {"min": 1, "max": 10}}
        }, {
            "name": "leased",
            "defaults": {"services": ["base"], "provider": "sim", "hardwaretype": "small", "imagetype": "img",
                         "config": {}},
            "compatibility": {"services": ["base"]},
            "administration": {"leaseduration": {"initial": 1500, "max": 0, "step": 0}}
        }]
    })
}

pub(crate) async fn setup(app: &TestApp, tenant: &str, workers: u32, install: Value) -> Tenant {
    for plugin in ["test-provider", "test-misbehave", "test-capabilities"] {
        let up = app
            .upload(
                "/v2/plugins?approve=requested",
                SUPERADMIN_TOKEN,
                weft_test_plugins::component(plugin),
            )
            .await;
        assert!(
            up.status == StatusCode::CREATED || up.status == StatusCode::CONFLICT,
            "{up:?}"
        );
    }
    let t = app.tenant(tenant).await;
    set_workers(app, tenant, workers).await;
    let imported = app.post("/v2/import", &t.admin, catalog(install)).await;
    assert_eq!(imported.status, StatusCode::OK, "{imported:?}");
    t
}

async fn set_workers(app: &TestApp, tenant: &str, workers: u32) {
    let put = app
        .put(
            &format!("/v2/tenants/{tenant}"),
            SUPERADMIN_TOKEN,
            json!({"tenant": {"name": tenant, "workers": workers}}),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{put:?}");
}

/// Polls the cluster until its status is `want` (or fails after a minute).
pub(crate) async fn wait_for(app: &TestApp, token: &str, id: &str, want: &str) -> Value {
    let started = Instant::now();
    loop {
        let status = app.get(&format!("/v2/clusters/{id}/status"), token).await;
        assert_eq!(status.status, StatusCode::OK, "{status:?}");
        if status.body["status"] == want {
            return status.body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "cluster {id} never became {want}: {status:?}; plans: {:?}",
            app.get(&format!("/v2/clusters/{id}/plans"), token).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) async fn create(app: &TestApp, token: &str, body: Value) -> String {
    let created = app.post("/v2/clusters", token, body).await;
    assert_eq!(created.status, StatusCode::OK, "{created:?}");
    created.body["id"].as_str().unwrap().to_string()
}

async fn creates_runs_and_deletes_a_cluster(backend: Backend) {
    let app = TestApp::with_workers(backend, 4).await;
    // no worker capacity yet: the create waits and says why
    let t = setup(&app, "acme", 0, json!({"type": "test-capabilities"})).await;
    let id = create(
        &app,
        &t.user,
        json!({"name": "c1", "clusterTemplate": "basic", "numMachines": 3}),
    )
    .await;
    let plans = app.get(&format!("/v2/clusters/{id}/plans"), &t.user).await;
    assert_eq!(plans.body[0]["action"], "CLUSTER_CREATE", "{plans:?}");
    let waiting = plans.body[0]["stages"][0][0]["waiting"]
        .as_str()
        .unwrap_or("");
    assert!(waiting.contains("no worker capacity"), "{plans:?}");
    // one job per cluster: a pending cluster takes no other operation
    let busy = app.delete(&format!("/v2/clusters/{id}"), &t.user).await;
    assert_eq!(busy.status, StatusCode::CONFLICT, "{busy:?}");

    set_workers(&app, "acme", 4).await;
    let status = wait_for(&app, &t.user, &id, "active").await;
    assert_eq!(status["actionstatus"], "complete");
    assert_eq!(status["stepscompleted"], status["stepstotal"]);

    let details = app.get(&format!("/v2/clusters/{id}"), &t.user).await;
    let nodes = details.body["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 3, "{details:?}");
    for node in nodes {
        let props = &node["properties"];
        let nodenum = props["nodenum"].as_u64().unwrap();
        // the provider named the host and confirmed an address
        assert_eq!(props["hostname"], format!("node-{nodenum}.test"));
        assert!(props["ipaddresses"]["bind_v4"].is_string(), "{node}");
        assert_eq!(props["sshuser"], "weft");
        assert_eq!(
            node["provisionerResults"]["providerid"],
            format!("test-{nodenum}")
        );
        let actions: Vec<&str> = node["actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["action"].as_str().unwrap())
            .collect();
        assert!(actions.starts_with(&["CREATE", "CONFIRM"]), "{actions:?}");
    }
    // the provider got the machine tags
    let create_task = nodes[0]["actions"][0]["taskId"].as_str().unwrap();
    let log = app
        .get(
            &format!("/v2/clusters/{id}/tasks/{create_task}/log"),
            &t.user,
        )
        .await;
    assert_eq!(log.status, StatusCode::OK, "{log:?}");
    assert!(log.body.to_string().contains("creating"), "{log:?}");

    // visibility: another user of the tenant and another tenant see nothing; the admin does
    let carl = app.user("acme", "carl", "user").await;
    let other = app.tenant("globex").await;
    for (token, visible) in [
        (&carl, false),
        (&other.admin, false),
        (&other.user, false),
        (&t.admin, true),
    ] {
        for path in [
            format!("/v2/clusters/{id}"),
            format!("/v2/clusters/{id}/status"),
            format!("/v2/clusters/{id}/plans"),
            format!("/v2/clusters/{id}/tasks/{create_task}/log"),
            format!("/v2/clusters/{id}/tasks/{create_task}/log/stream"),
        ] {
            let got = app.get(&path, token).await;
            let want = if visible {
                StatusCode::OK
            } else {
                StatusCode::NOT_FOUND
            };
            assert_eq!(got.status, want, "{path}: {got:?}");
        }
        // the live progress stream: its first event is the cluster and its latest plan
        let (status, first) = app
            .first_frame(&format!("/v2/clusters/{id}/events"), token)
            .await;
        if visible {
            assert_eq!(status, StatusCode::OK, "{first}");
            let data = first
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .unwrap_or_else(|| panic!("no data line in {first:?}"));
            assert!(first.starts_with("event: progress"), "{first}");
            let event: Value = serde_json::from_str(data).unwrap();
            assert_eq!(event["cluster"]["id"], json!(id), "{event}");
            assert_eq!(event["cluster"]["status"], json!("active"), "{event}");
            assert_eq!(event["plan"]["action"], json!("CLUSTER_CREATE"), "{event}");
            assert!(!event["plan"]["stages"].as_array().unwrap().is_empty());
        } else {
            assert_eq!(status, StatusCode::NOT_FOUND, "{first}");
        }
        let list = app.get("/v2/clusters", token).await;
        assert_eq!(
            list.body.as_array().unwrap().len(),
            usize::from(visible),
            "{list:?}"
        );
    }

    // add a service, restart it, then delete
    let added = app
        .post(
            &format!("/v2/clusters/{id}/services"),
            &t.user,
            json!({"services": ["app"]}),
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{added:?}");
    wait_for(&app, &t.user, &id, "active").await;
    let services = app
        .get(&format!("/v2/clusters/{id}/services"), &t.user)
        .await;
    assert_eq!(services.body, json!(["app", "base"]));

    let deleted = app.delete(&format!("/v2/clusters/{id}"), &t.user).await;
    assert_eq!(deleted.status, StatusCode::OK, "{deleted:?}");
    wait_for(&app, &t.user, &id, "terminated").await;
    let active = app.get("/v2/clusters?status=active", &t.user).await;
    assert_eq!(active.body, json!([]));
}

async fn retries_fail_the_job_and_resume_runs_from_the_failed_stage(backend: Backend) {
    let app = TestApp::with_workers(backend, 2).await;
    let t = setup(
        &app,
        "acme",
        2,
        json!({"type": "test-misbehave", "fields": {"mode": "error"}}),
    )
    .await;
    let id = create(
        &app,
        &t.user,
        json!({"name": "c2", "clusterTemplate": "basic", "numMachines": 1, "services": ["base", "app"]}),
    )
    .await;
    let status = wait_for(&app, &t.user, &id, "incomplete").await;
    assert_eq!(status["actionstatus"], "failed");
    let details = app.get(&format!("/v2/clusters/{id}"), &t.user).await;
    let installs: Vec<&Value> = details.body["nodes"][0]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "INSTALL")
        .collect();
    assert_eq!(installs.len(), 3, "three attempts: {details:?}");
    assert!(installs.iter().all(|a| a["status"] == "failed"));
    assert!(
        installs[0]["stderr"]
            .as_str()
            .unwrap()
            .contains("reports a failure")
    );
    assert!(
        details.body["message"]
            .as_str()
            .unwrap()
            .contains("INSTALL"),
        "{details:?}"
    );

    // the admin fixes the service; resume runs the failed stage again, not the whole job
    let fixed = app
        .put(
            "/v2/services/app",
            &t.admin,
            json!({"name": "app", "dependencies": {"runtime": {"requires": ["base"]}},
                   "provisioner": {"actions": {"install": {"type": "test-capabilities"}}}}),
        )
        .await;
    assert_eq!(fixed.status, StatusCode::OK, "{fixed:?}");
    let resumed = app
        .post(&format!("/v2/clusters/{id}/resume"), &t.user, json!({}))
        .await;
    assert_eq!(resumed.status, StatusCode::OK, "{resumed:?}");
    wait_for(&app, &t.user, &id, "active").await;
    let details = app.get(&format!("/v2/clusters/{id}"), &t.user).await;
    let creates = details.body["nodes"][0]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "CREATE")
        .count();
    assert_eq!(creates, 1, "the node was not created again: {details:?}");
}

async fn quotas_and_bad_requests(backend: Backend) {
    let app = TestApp::with_workers(backend, 1).await;
    let t = setup(&app, "acme", 0, json!({"type": "test-capabilities"})).await;
    let put = app
        .put(
            "/v2/tenants/acme",
            SUPERADMIN_TOKEN,
            json!({"tenant": {"name": "acme", "workers": 0, "maxClusters": 1, "maxNodes": 3}}),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{put:?}");
    let too_big = app
        .post(
            "/v2/clusters",
            &t.user,
            json!({"name": "big", "clusterTemplate": "basic", "numMachines": 4}),
        )
        .await;
    assert_eq!(too_big.status, StatusCode::CONFLICT, "{too_big:?}");
    assert!(too_big.body["error"].as_str().unwrap().contains("quota"));
    create(
        &app,
        &t.user,
        json!({"name": "one", "clusterTemplate": "basic", "numMachines": 2}),
    )
    .await;
    let second = app
        .post(
            "/v2/clusters",
            &t.user,
            json!({"name": "two", "clusterTemplate": "basic", "numMachines": 1}),
        )
        .await;
    assert_eq!(second.status, StatusCode::CONFLICT, "{second:?}");
    // nothing half-written
    let listed = app.get("/v2/clusters", &t.admin).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1);

    let missing = app
        .post(
            "/v2/clusters",
            &t.user,
            json!({"clusterTemplate": "basic", "numMachines": 1}),
        )
        .await;
    crate::harness::assert_invalid(&missing, "name");
    let abort = app
        .post("/v2/clusters/00009999/abort", &t.user, json!({}))
        .await;
    assert_eq!(abort.status, StatusCode::NOT_FOUND);
}

async fn pause_resume_and_abort(backend: Backend) {
    let app = TestApp::with_workers(backend, 2).await;
    let t = setup(&app, "acme", 0, json!({"type": "test-capabilities"})).await;
    let id = create(
        &app,
        &t.user,
        json!({"name": "p", "clusterTemplate": "basic", "numMachines": 2}),
    )
    .await;
    let paused = app
        .post(&format!("/v2/clusters/{id}/pause"), &t.user, json!({}))
        .await;
    assert_eq!(paused.status, StatusCode::NO_CONTENT, "{paused:?}");
    set_workers(&app, "acme", 2).await;
    // the queued first stage runs; nothing after it starts while paused
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let plans = app.get(&format!("/v2/clusters/{id}/plans"), &t.user).await;
    assert_eq!(plans.body[0]["status"], "paused", "{plans:?}");
    assert!(
        plans.body[0]["stages"][1]
            .as_array()
            .unwrap()
            .iter()
            .all(|task| task["status"] == "not_submitted"),
        "{plans:?}"
    );
    let resumed = app
        .post(&format!("/v2/clusters/{id}/resume"), &t.user, json!({}))
        .await;
    assert_eq!(resumed.status, StatusCode::OK, "{resumed:?}");
    wait_for(&app, &t.user, &id, "active").await;

    // abort: a create that cannot run is aborted and the cluster is left incomplete
    set_workers(&app, "acme", 0).await;
    let id = create(
        &app,
        &t.user,
        json!({"name": "q", "clusterTemplate": "basic", "numMachines": 1}),
    )
    .await;
    let aborted = app
        .post(&format!("/v2/clusters/{id}/abort"), &t.user, json!({}))
        .await;
    assert_eq!(aborted.status, StatusCode::NO_CONTENT, "{aborted:?}");
    let status = wait_for(&app, &t.user, &id, "incomplete").await;
    assert_eq!(status["message"], "Aborted by user.");
    // only a create can be aborted
    let again = app
        .post(&format!("/v2/clusters/{id}/abort"), &t.user, json!({}))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{again:?}");
}

/// The actions of each node, in order.
async fn node_actions(app: &TestApp, token: &str, id: &str) -> Vec<Vec<(String, String)>> {
    let details = app.get(&format!("/v2/clusters/{id}"), token).await;
    details.body["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| {
            node["actions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| {
                    (
                        a["action"].as_str().unwrap().to_string(),
                        a["status"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .collect()
}

async fn a_failed_confirm_rolls_back_and_recreates_the_machine(backend: Backend) {
    let app = TestApp::with_workers(backend, 4).await;
    let t = setup(&app, "acme", 4, json!({"type": "test-capabilities"})).await;
    // every node's first machine never comes up
    let flaky = app
        .put(
            "/v2/providers/sim",
            &t.admin,
            json!({"name": "sim", "providertype": "test-provider", "provisioner": {"flaky_confirm": "true"}}),
        )
        .await;
    assert_eq!(flaky.status, StatusCode::OK, "{flaky:?}");
    let id = create(
        &app,
        &t.user,
        json!({"name": "r", "clusterTemplate": "basic", "numMachines": 2}),
    )
    .await;
    wait_for(&app, &t.user, &id, "active").await;
    for actions in node_actions(&app, &t.user, &id).await {
        let want: Vec<(String, String)> = [
            ("CREATE", "complete"),
            ("CONFIRM", "failed"),
            ("DELETE", "complete"),
            ("CREATE", "complete"),
            ("CONFIRM", "complete"),
        ]
        .iter()
        .map(|(a, s)| (a.to_string(), s.to_string()))
        .collect();
        assert_eq!(actions[..5], want[..], "{actions:?}");
    }
    let details = app.get(&format!("/v2/clusters/{id}"), &t.user).await;
    for node in details.body["nodes"].as_array().unwrap() {
        assert_eq!(
            node["provisionerResults"]["recreated"],
            json!(true),
            "{node}"
        );
    }
}

async fn a_task_past_the_timeout_fails_and_is_retried(backend: Backend) {
    let app = TestApp::with_workers_and(backend, 4, |config| {
        config.task_timeout = Duration::from_secs(1);
    })
    .await;
    let t = setup(
        &app,
        "acme",
        4,
        json!({"type": "test-misbehave", "fields": {"mode": "sleep"}}),
    )
    .await;
    let id = create(
        &app,
        &t.user,
        json!({"name": "slow", "clusterTemplate": "basic", "numMachines": 1, "services": ["base", "app"]}),
    )
    .await;
    let status = wait_for(&app, &t.user, &id, "incomplete").await;
    assert_eq!(status["actionstatus"], "failed");
    let installs: Vec<(String, String)> = node_actions(&app, &t.user, &id).await[0]
        .iter()
        .filter(|(action, _)| action == "INSTALL")
        .cloned()
        .collect();
    assert_eq!(installs.len(), 3, "three attempts: {installs:?}");
    let details = app.get(&format!("/v2/clusters/{id}"), &t.user).await;
    let install = details.body["nodes"][0]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action"] == "INSTALL")
        .unwrap()
        .clone();
    assert!(
        install["stderr"].as_str().unwrap().contains("Timed out"),
        "{install}"
    );
}

async fn an_expired_lease_deletes_the_cluster(backend: Backend) {
    let app = TestApp::with_workers(backend, 4).await;
    let t = setup(&app, "acme", 4, json!({"type": "test-capabilities"})).await;
    let id = create(
        &app,
        &t.user,
        json!({"name": "short", "clusterTemplate": "leased", "numMachines": 1}),
    )
    .await;
    let details = app.get(&format!("/v2/clusters/{id}"), &t.user).await;
    let (created, expires) = (
        details.body["createTime"].as_i64().unwrap(),
        details.body["expireTime"].as_i64().unwrap(),
    );
    assert_eq!(expires - created, 1500, "{details:?}");
    // the janitor deletes it when the lease ends
    wait_for(&app, &t.user, &id, "terminated").await;
    let actions = node_actions(&app, &t.user, &id).await;
    assert!(
        actions[0].iter().any(|(action, _)| action == "DELETE"),
        "{actions:?}"
    );
    let plans = app.get(&format!("/v2/clusters/{id}/plans"), &t.user).await;
    assert_eq!(plans.body[1]["action"], "CLUSTER_DELETE", "{plans:?}");
}

async fn an_idle_cluster_outlives_no_inactivity_lease(backend: Backend) {
    let app = TestApp::with_workers(backend, 4).await;
    let t = setup(&app, "acme", 4, json!({"type": "test-capabilities"})).await;
    let keep = app.tenant("globex").await;
    set_workers(&app, "globex", 2).await;
    assert_eq!(
        app.post(
            "/v2/import",
            &keep.admin,
            catalog(json!({"type": "test-capabilities"}))
        )
        .await
        .status,
        StatusCode::OK
    );
    // acme's clusters may idle 5 s; globex sets nothing
    let put = app
        .put(
            "/v2/tenants/acme",
            SUPERADMIN_TOKEN,
            json!({"tenant": {"name": "acme", "workers": 4, "inactivityLease": 5000}}),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{put:?}");
    assert_eq!(put.body["inactivityLease"], 5000, "{put:?}");
    let idle = create(
        &app,
        &t.user,
        json!({"name": "idle", "clusterTemplate": "basic", "numMachines": 1}),
    )
    .await;
    let kept = create(
        &app,
        &keep.user,
        json!({"name": "kept", "clusterTemplate": "basic", "numMachines": 1}),
    )
    .await;
    wait_for(&app, &t.user, &idle, "active").await;
    wait_for(&app, &keep.user, &kept, "active").await;
    // activity (a restart) starts the idle time again
    let restarted = app
        .post(
            &format!("/v2/clusters/{idle}/services/restart"),
            &t.user,
            json!({}),
        )
        .await;
    assert_eq!(restarted.status, StatusCode::OK, "{restarted:?}");
    let restarted_at = Instant::now();
    wait_for(&app, &t.user, &idle, "active").await;
    wait_for(&app, &t.user, &idle, "terminated").await;
    assert!(
        restarted_at.elapsed() >= Duration::from_millis(4900),
        "deleted {:?} after its last job",
        restarted_at.elapsed()
    );
    let plans = app
        .get(&format!("/v2/clusters/{idle}/plans"), &t.user)
        .await;
    let last = plans.body.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "CLUSTER_DELETE", "{plans:?}");
    // the other tenant's cluster, as old, is still there
    let status = app
        .get(&format!("/v2/clusters/{kept}/status"), &keep.user)
        .await;
    assert_eq!(status.body["status"], "active", "{status:?}");
}

/// The `test-cloud` provider and a template `oncloud` on it, in `t`'s catalog.
async fn import_test_cloud(app: &TestApp, t: &Tenant) {
    let up = app
        .upload(
            "/v2/plugins?approve=requested",
            SUPERADMIN_TOKEN,
            weft_test_plugins::component("test-cloud"),
        )
        .await;
    assert!(
        up.status == StatusCode::CREATED || up.status == StatusCode::CONFLICT,
        "{up:?}"
    );
    let imported = app
        .post(
            "/v2/import?mode=merge",
            &t.admin,
            json!({
                "providers": [{"name": "cloud", "providertype": "test-cloud", "provisioner": {}}],
                "hardwaretypes": [{"name": "cloudy", "providermap": {"cloud": {"flavor": "c1"}}}],
                "imagetypes": [{"name": "cloudimg", "providermap": {"cloud": {"image": "i1"}}}],
                "clustertemplates": [{
                    "name": "oncloud",
                    "defaults": {"services": ["base"], "provider": "cloud", "hardwaretype": "cloudy",
                                 "imagetype": "cloudimg", "config": {}},
                    "compatibility": {"services": ["base"]}
                }]
            }),
        )
        .await;
    assert_eq!(imported.status, StatusCode::OK, "{imported:?}");
}

async fn missing_provider_fields_are_named(backend: Backend) {
    let app = TestApp::with_workers(backend, 1).await;
    let t = setup(&app, "acme", 0, json!({"type": "test-capabilities"})).await;
    import_test_cloud(&app, &t).await;
    let request = json!({"name": "m", "clusterTemplate": "oncloud", "numMachines": 1});
    let missing = app.post("/v2/clusters", &t.user, request.clone()).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST, "{missing:?}");
    // Coopr's shape: one map per required set, each missing field with its schema
    let sets = missing.body["missingFields"].as_array().unwrap();
    assert_eq!(sets.len(), 1, "{missing:?}");
    assert_eq!(sets[0]["project"]["label"], "Project", "{missing:?}");
    assert_eq!(
        app.get("/v2/clusters", &t.admin).await.body,
        json!([]),
        "nothing half-written"
    );
    let mut complete = request;
    complete["providerFields"] = json!({"project": "p1"});
    let created = app.post("/v2/clusters", &t.user, complete).await;
    assert_eq!(created.status, StatusCode::OK, "{created:?}");
}

/// Coopr's rule: a create whose every failure is a CREATE, and which made no machine, ends
/// terminated ("Unable to create nodes"), so it neither needs a delete nor counts against the
/// quota. Here no cloud answers the provider.
async fn a_create_that_makes_no_machine_ends_terminated(backend: Backend) {
    let app = TestApp::with_workers(backend, 2).await;
    let t = setup(&app, "acme", 2, json!({"type": "test-capabilities"})).await;
    import_test_cloud(&app, &t).await;
    let id = create(
        &app,
        &t.user,
        json!({"name": "nowhere", "clusterTemplate": "oncloud", "numMachines": 2,
               "providerFields": {"project": "p1"}}),
    )
    .await;
    let status = wait_for(&app, &t.user, &id, "terminated").await;
    assert_eq!(
        status["message"], "Unable to create nodes, please check your provider settings",
        "{status}"
    );
    assert_eq!(status["actionstatus"], "failed", "{status}");
    let creates: Vec<(String, String)> = node_actions(&app, &t.user, &id).await[0].clone();
    assert!(
        creates
            .iter()
            .all(|(action, status)| action == "CREATE" && status == "failed"),
        "{creates:?}"
    );
    // a create that did make machines, and then failed, is incomplete: see the retry tests
}

both_backends!(
    tasks_read_the_live_plugin_resources_of_their_tenant,
    a_failed_confirm_rolls_back_and_recreates_the_machine,
    a_task_past_the_timeout_fails_and_is_retried,
    an_expired_lease_deletes_the_cluster,
    an_idle_cluster_outlives_no_inactivity_lease,
    missing_provider_fields_are_named,
    a_create_that_makes_no_machine_ends_terminated,
    creates_runs_and_deletes_a_cluster,
    retries_fail_the_job_and_resume_runs_from_the_failed_stage,
    quotas_and_bad_requests,
    pause_resume_and_abort,
);

/// The install step's result on the cluster's only node.
async fn installed(app: &TestApp, token: &str, id: &str) -> Value {
    let details = app.get(&format!("/v2/clusters/{id}"), token).await;
    details.body["nodes"][0]["provisionerResults"]["step-0"].clone()
}

async fn tasks_read_the_live_plugin_resources_of_their_tenant(backend: Backend) {
    let app = TestApp::with_workers(backend, 2).await;
    let install = json!({"type": "test-capabilities", "fields": {"steps": "read files/motd"}});
    let t = setup(&app, "acme", 2, install.clone()).await;
    let files = "/v2/plugins/automatortypes/test-capabilities/files/motd";
    for text in ["first", "second"] {
        let up = app.upload(files, &t.admin, text.as_bytes().to_vec()).await;
        assert_eq!(up.status, StatusCode::OK, "{up:?}");
    }
    let stage = |v: u32| format!("{files}/versions/{v}/stage");
    app.call(axum::http::Method::POST, &stage(1), Some(&t.admin), None)
        .await;
    app.call(
        axum::http::Method::POST,
        "/v2/plugins/sync",
        Some(&t.admin),
        None,
    )
    .await;
    // version 2 is staged, not synced: tasks still get version 1
    app.call(axum::http::Method::POST, &stage(2), Some(&t.admin), None)
        .await;
    let body = json!({"name": "c", "clusterTemplate": "basic", "numMachines": 1,
                      "services": ["base", "app"]});
    let first = create(&app, &t.user, body.clone()).await;
    wait_for(&app, &t.user, &first, "active").await;
    assert_eq!(installed(&app, &t.user, &first).await, "first");
    // after the sync, new tasks get version 2
    app.call(
        axum::http::Method::POST,
        "/v2/plugins/sync",
        Some(&t.admin),
        None,
    )
    .await;
    let second = create(
        &app,
        &t.user,
        json!({"name": "d", "clusterTemplate": "basic",
        "numMachines": 1, "services": ["base", "app"]}),
    )
    .await;
    wait_for(&app, &t.user, &second, "active").await;
    assert_eq!(installed(&app, &t.user, &second).await, "second");

    // another tenant's tasks of the same plugin get none of acme's resources
    let g = setup(&app, "globex", 2, install).await;
    let theirs = create(
        &app,
        &g.user,
        json!({"name": "g", "clusterTemplate": "basic",
        "numMachines": 1, "services": ["base", "app"]}),
    )
    .await;
    let started = Instant::now();
    loop {
        let status = app
            .get(&format!("/v2/clusters/{theirs}/status"), &g.user)
            .await;
        if status.body["actionstatus"] == "failed" {
            break;
        }
        assert_ne!(
            status.body["status"], "active",
            "globex read acme's resource"
        );
        assert!(started.elapsed() < Duration::from_secs(60), "{status:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let details = app.get(&format!("/v2/clusters/{theirs}"), &g.user).await;
    assert!(!details.body.to_string().contains("first"), "{details:?}");
    assert!(
        details.body.to_string().contains("none are granted"),
        "{details:?}"
    );
}
