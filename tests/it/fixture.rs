//! The fixture every process test shares: a tenant, a test provider, a plain template.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::process::Server;

pub(crate) const TOKEN: &str = "crash-test-superadmin-token";

/// A tenant `acme` with 4 workers, a provider of `provider_type` (a test plugin) with the
/// given provisioner fields, a template `machines` of up to 20 plain nodes; returns the token of
/// the tenant's admin.
pub(crate) async fn setup(server: &Server, provider_type: &str, provisioner: Value) -> String {
    let uploaded = server
        .upload_plugin(TOKEN, weft_test_plugins::component(provider_type))
        .await;
    assert_eq!(uploaded, 201);
    let (status, body) = server
        .call(
            Method::POST,
            "/v2/tenants",
            TOKEN,
            Some(json!({"tenant": {"name": "acme", "workers": 4}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = server
        .call(
            Method::POST,
            "/v2/tenants/acme/users",
            TOKEN,
            Some(json!({"name": "ann", "role": "admin"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let admin = body["token"].as_str().unwrap().to_string();
    let catalog = json!({
        "providers": [{"name": "cloud", "providertype": provider_type, "provisioner": provisioner}],
        "hardwaretypes": [{"name": "small", "providermap": {"cloud": {"flavor": "s1"}}}],
        "imagetypes": [{"name": "img", "providermap": {"cloud": {"image": "i1"}}}],
        "services": [{"name": "base"}],
        "partialtemplates": [],
        "clustertemplates": [{
            "name": "machines",
            "defaults": {"services": ["base"], "provider": "cloud", "hardwaretype": "small",
                         "imagetype": "img", "config": {}},
            "compatibility": {"services": ["base"]},
            "constraints": {"size": {"min": 1, "max": 20}}
        }]
    });
    let (status, body) = server
        .call(Method::POST, "/v2/import", &admin, Some(catalog))
        .await;
    assert_eq!(status, 200, "{body}");
    admin
}

pub(crate) async fn create(server: &Server, token: &str, size: u32) -> String {
    let (status, body) = server
        .call(
            Method::POST,
            "/v2/clusters",
            token,
            Some(json!({"name": "crashy", "clusterTemplate": "machines", "numMachines": size})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["id"].as_str().unwrap().to_string()
}

pub(crate) async fn wait_until(what: &str, limit: Duration, mut done: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed() < limit, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) async fn wait_for_status(server: &Server, token: &str, id: &str, want: &str) -> Value {
    let started = Instant::now();
    loop {
        let (status, body) = server
            .get(&format!("/v2/clusters/{id}/status"), Some(token))
            .await;
        if status == 200 && body["status"] == want {
            return body;
        }
        if started.elapsed() > Duration::from_secs(120) {
            let (_, plans) = server
                .get(&format!("/v2/clusters/{id}/plans"), Some(token))
                .await;
            panic!("cluster {id} never became {want}: {body}; plans: {plans}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
