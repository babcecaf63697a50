//! The cluster preview: Coopr's real catalog solved and planned through the API.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use serde_json::{Value, json};
use weft_testkit::{Backend, both_backends, fixture_files};

use crate::harness::{TestApp, assert_invalid, small_catalog};

both_backends!(
    preview_solves_and_plans_hadoop,
    preview_errors_say_why,
    preview_token_tracks_the_catalog
);

async fn coopr_tenant(app: &TestApp) -> crate::harness::Tenant {
    let acme = app.tenant("acme").await;
    let mut bundle = serde_json::Map::new();
    for kind in [
        "providers",
        "hardwaretypes",
        "imagetypes",
        "services",
        "clustertemplates",
    ] {
        bundle.insert(
            kind.into(),
            Value::Array(fixture_files(&format!("coopr-templates/{kind}"))),
        );
    }
    assert_eq!(
        app.post("/v2/import", &acme.admin, Value::Object(bundle))
            .await
            .status,
        StatusCode::OK
    );
    acme
}

fn request(template: &str, nodes: u32) -> Value {
    json!({"name": "preview", "clusterTemplate": template, "numMachines": nodes})
}

async fn preview_solves_and_plans_hadoop(backend: Backend) {
    let app = TestApp::new(backend).await;
    let acme = coopr_tenant(&app).await;
    for nodes in [5u64, 50, 500] {
        let answer = app
            .post(
                "/v2/clusters/preview",
                &acme.user,
                request("hadoop-distributed", nodes as u32),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
        let layout = answer.body["layout"].as_array().unwrap();
        let count = |service: &str| -> u64 {
            layout
                .iter()
                .filter(|g| g["services"].as_array().unwrap().contains(&json!(service)))
                .map(|g| g["count"].as_u64().unwrap())
                .sum()
        };
        assert_eq!(
            layout
                .iter()
                .map(|g| g["count"].as_u64().unwrap())
                .sum::<u64>(),
            nodes
        );
        // the template's constraints: exactly one master of each kind, at least two datanodes
        for master in [
            "hadoop-hdfs-namenode",
            "hadoop-yarn-resourcemanager",
            "zookeeper-server",
            "hbase-master",
        ] {
            assert_eq!(count(master), 1, "{master} at {nodes} nodes");
        }
        assert!(count("hadoop-hdfs-datanode") >= 2);
        assert_eq!(count("base"), nodes, "base is on every node");
        for group in layout {
            let services: BTreeSet<&str> = group["services"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap())
                .collect();
            for (a, b) in [
                ("hadoop-yarn-resourcemanager", "hadoop-yarn-nodemanager"),
                ("hadoop-hdfs-namenode", "hadoop-hdfs-datanode"),
                ("hbase-master", "hbase-regionserver"),
            ] {
                assert!(
                    !(services.contains(a) && services.contains(b)),
                    "cantcoexist {a}/{b}"
                );
            }
            assert_eq!(
                (group["hardwaretype"].as_str(), group["imagetype"].as_str()),
                (Some("standard-large"), Some("ubuntu12"))
            );
        }
        let stages = answer.body["stages"].as_array().unwrap();
        let tasks: usize = stages.iter().map(|s| s.as_array().unwrap().len()).sum();
        assert!(
            tasks as u64 > nodes * 3,
            "every node is created, confirmed and bootstrapped"
        );
        assert!(
            stages[0]
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t["taskName"] == "CREATE" && t["service"] == "")
        );
        for stage in stages {
            let nodes: BTreeSet<&str> = stage
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["nodeId"].as_str().unwrap())
                .collect();
            assert_eq!(
                nodes.len(),
                stage.as_array().unwrap().len(),
                "one task per node per stage"
            );
        }
        assert!(answer.body["token"].as_str().unwrap().starts_with("v1."));
    }
}

async fn preview_errors_say_why(backend: Backend) {
    let app = TestApp::new(backend).await;
    let acme = coopr_tenant(&app).await;
    let preview = |body: Value| app.post("/v2/clusters/preview", &acme.user, body);
    assert_invalid(
        &preview(request("hadoop-distributed", 2)).await,
        "numMachines",
    );
    assert_invalid(
        &preview(json!({"name": "x", "clusterTemplate": "hadoop-distributed"})).await,
        "numMachines",
    );
    assert_invalid(
        &preview(json!({"name": "a b", "clusterTemplate": "hadoop-distributed", "numMachines": 3}))
            .await,
        "name",
    );
    let mut unknown_service = request("hadoop-distributed", 5);
    unknown_service["services"] = json!(["base", "nginx"]);
    assert_invalid(&preview(unknown_service).await, "services[1]");
    assert_eq!(
        preview(request("no-such-template", 5)).await.status,
        StatusCode::NOT_FOUND
    );
    let mut unknown_provider = request("hadoop-distributed", 5);
    unknown_provider["provider"] = json!("nowhere");
    assert_eq!(
        preview(unknown_provider).await.status,
        StatusCode::NOT_FOUND
    );
    let mut missing_base = request("hadoop-distributed", 5);
    missing_base["services"] = json!(["hadoop-hdfs-namenode", "hadoop-hdfs-datanode"]);
    let answer = preview(missing_base).await;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{answer:?}"
    );
    assert!(
        answer.body["explanation"]
            .as_str()
            .unwrap()
            .contains("requires base"),
        "{answer:?}"
    );
    // a template whose constraints cannot be met says which and by how much
    let tight = json!({"name": "tight", "defaults": {"services": ["base", "hadoop-hdfs-namenode", "hadoop-hdfs-datanode"], "provider": "rackspace",
        "hardwaretype": "standard-large", "imagetype": "ubuntu12"},
        "constraints": {"layout": {"cantcoexist": [["hadoop-hdfs-namenode", "hadoop-hdfs-datanode"]]},
        "services": {"hadoop-hdfs-datanode": {"quantities": {"min": 3}}}}});
    assert_eq!(
        app.post("/v2/clustertemplates", &acme.admin, tight)
            .await
            .status,
        StatusCode::OK
    );
    let answer = preview(request("tight", 3)).await;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{answer:?}"
    );
    let explanation = answer.body["explanation"].as_str().unwrap();
    assert!(
        explanation.contains("need at least 4 nodes but 3 were requested")
            && explanation.contains("cantcoexist"),
        "{explanation}"
    );
}

async fn preview_token_tracks_the_catalog(backend: Backend) {
    let app = TestApp::new(backend).await;
    let acme = app.tenant("acme").await;
    app.post("/v2/import", &acme.admin, small_catalog()).await;
    let first = preview_token(&app, &acme.user).await;
    assert_eq!(
        preview_token(&app, &acme.user).await,
        first,
        "nothing changed: same token"
    );
    app.put("/v2/services/tool", &acme.admin, json!({"name": "tool"}))
        .await;
    assert_eq!(
        preview_token(&app, &acme.user).await,
        first,
        "a service the cluster does not use changes nothing"
    );
    app.put("/v2/services/redis", &acme.admin, json!({"name": "redis", "description": "v2", "dependencies": {"install": {"requires": ["base"]}}})).await;
    assert_ne!(
        preview_token(&app, &acme.user).await,
        first,
        "a service the cluster uses changed"
    );
}

async fn preview_token(app: &TestApp, token: &str) -> String {
    let answer = app
        .post("/v2/clusters/preview", token, request("redis", 2))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    answer.body["token"].as_str().unwrap().to_string()
}
