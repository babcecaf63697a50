//! Registering plugin components through the API: global and tenant plugins, versions, grant
//! approval within the request, status, and the type specs they publish.

use axum::http::StatusCode;
use serde_json::json;
use weft_testkit::{Backend, both_backends};

use crate::harness::{SUPERADMIN_TOKEN, TestApp};

both_backends!(plugins_register_version_and_publish_their_types);
both_backends!(grants_are_approved_within_the_request_by_the_owner);
both_backends!(what_is_not_a_plugin_is_refused_with_the_field);

fn component(name: &str) -> Vec<u8> {
    weft_test_plugins::component(name)
}

async fn plugins_register_version_and_publish_their_types(backend: Backend) {
    let app = TestApp::new(backend).await;
    let acme = app.tenant("acme").await;
    let globex = app.tenant("globex").await;

    // a superadmin's upload is global, approved as requested on demand
    let global = app
        .upload(
            "/v2/plugins?approve=requested",
            SUPERADMIN_TOKEN,
            component("test-provider"),
        )
        .await;
    assert_eq!(global.status, StatusCode::CREATED, "{global:?}");
    assert_eq!(global.body["name"], "test-provider");
    assert_eq!(global.body["kind"], "provider");
    assert_eq!(global.body["scope"], "global");
    assert_eq!(global.body["version"], 1);
    assert_eq!(global.body["witVersion"], "0.2.0");
    assert_eq!(global.body["status"], "active");
    assert_eq!(global.body["createdBy"], "admin");
    // its type spec is visible to every tenant
    let types = app.get("/v2/plugins/providertypes", &globex.user).await;
    assert!(
        types
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "test-provider"),
        "{types:?}"
    );
    // the same component twice is a conflict, naming the registered version
    let again = app
        .upload("/v2/plugins", SUPERADMIN_TOKEN, component("test-provider"))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.body["error"].as_str().unwrap().contains("version 1"));

    // a tenant admin's upload belongs to that tenant, nothing approved until asked
    let own = app
        .upload("/v2/plugins", &acme.admin, component("test-capabilities"))
        .await;
    assert_eq!(own.status, StatusCode::CREATED, "{own:?}");
    assert_eq!(own.body["scope"], "tenant");
    assert_eq!(
        own.body["approved"],
        json!({"http": [], "unixSockets": [], "ssh": false})
    );
    assert_eq!(
        own.body["requested"],
        json!({"http": ["https://api.example.com"], "unixSockets": ["/var/run/docker.sock"], "ssh": true})
    );
    let acme_types = app
        .get("/v2/plugins/automatortypes/test-capabilities", &acme.user)
        .await;
    assert_eq!(acme_types.status, StatusCode::OK);
    assert_eq!(acme_types.body["name"], "test-capabilities");
    // another tenant sees neither the plugin nor its type
    for path in [
        "/v2/plugins/components/test-capabilities",
        "/v2/plugins/components/test-capabilities/1",
        "/v2/plugins/automatortypes/test-capabilities",
    ] {
        assert_eq!(
            app.get(path, &globex.admin).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let listed = app.get("/v2/plugins", &globex.user).await;
    let names: Vec<&str> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["test-provider"]);
    let listed = app.get("/v2/plugins", &acme.user).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 2);

    // a tenant plugin may not take a global plugin's name
    let clash = app
        .upload("/v2/plugins", &acme.admin, component("test-provider"))
        .await;
    assert_eq!(clash.status, StatusCode::CONFLICT, "{clash:?}");
    // users do not register plugins
    let user = app
        .upload("/v2/plugins", &acme.user, component("test-misbehave"))
        .await;
    assert_eq!(user.status, StatusCode::FORBIDDEN);

    // versions: one per component; both kept
    let versions = app
        .get("/v2/plugins/components/test-provider", &acme.user)
        .await;
    assert_eq!(versions.body.as_array().unwrap().len(), 1);
    assert_eq!(
        app.get("/v2/plugins/components/test-provider/2", &acme.user)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

async fn grants_are_approved_within_the_request_by_the_owner(backend: Backend) {
    let app = TestApp::new(backend).await;
    let acme = app.tenant("acme").await;
    assert_eq!(
        app.upload("/v2/plugins", &acme.admin, component("test-capabilities"))
            .await
            .status,
        StatusCode::CREATED
    );
    assert_eq!(
        app.upload("/v2/plugins", SUPERADMIN_TOKEN, component("test-provider"))
            .await
            .status,
        StatusCode::CREATED
    );
    let grants = "/v2/plugins/components/test-capabilities/1/grants";
    let wider = app
        .put(
            grants,
            &acme.admin,
            json!({"http": ["https://api.example.org"]}),
        )
        .await;
    assert_eq!(
        (wider.status, wider.body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("http[0]"))
    );
    let narrower = app
        .put(
            grants,
            &acme.admin,
            json!({"http": ["https://api.example.com"], "ssh": true}),
        )
        .await;
    assert_eq!(narrower.status, StatusCode::OK, "{narrower:?}");
    assert_eq!(
        narrower.body["approved"]["http"],
        json!(["https://api.example.com"])
    );
    assert_eq!(
        app.put(grants, &acme.user, json!({})).await.status,
        StatusCode::FORBIDDEN
    );
    // a global plugin is changed by superadmins only
    let global = app
        .put(
            "/v2/plugins/components/test-provider/1/grants",
            &acme.admin,
            json!({}),
        )
        .await;
    assert_eq!(global.status, StatusCode::FORBIDDEN);

    let status = "/v2/plugins/components/test-capabilities/1/status";
    let disabled = app
        .put(status, &acme.admin, json!({"status": "disabled"}))
        .await;
    assert_eq!(disabled.body["status"], "disabled");
    let refused = app
        .put(status, &acme.admin, json!({"status": "quarantined"}))
        .await;
    assert_eq!(
        (refused.status, refused.body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("status"))
    );
    let active = app
        .put(status, &acme.admin, json!({"status": "active"}))
        .await;
    assert_eq!(active.body["status"], "active");
}

async fn what_is_not_a_plugin_is_refused_with_the_field(backend: Backend) {
    let app = TestApp::new(backend).await;
    let not_wasm = app
        .upload("/v2/plugins", SUPERADMIN_TOKEN, b"#!/bin/sh".to_vec())
        .await;
    assert_eq!(
        (not_wasm.status, not_wasm.body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("component"))
    );
    let no_world = app
        .upload(
            "/v2/plugins",
            SUPERADMIN_TOKEN,
            b"\0asm\x0d\0\x01\0".to_vec(),
        )
        .await;
    assert_eq!(no_world.status, StatusCode::BAD_REQUEST);
    assert!(
        no_world.body["error"]
            .as_str()
            .unwrap()
            .contains("exports neither"),
        "{no_world:?}"
    );
    let bad_query = app
        .upload(
            "/v2/plugins?approve=everything",
            SUPERADMIN_TOKEN,
            component("test-provider"),
        )
        .await;
    assert_eq!(bad_query.body["field"], "approve");
    // nothing was written
    assert_eq!(
        app.get("/v2/plugins", SUPERADMIN_TOKEN).await.body,
        json!([])
    );
}
