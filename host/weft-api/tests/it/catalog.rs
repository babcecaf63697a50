//! Catalog CRUD, versions, validation, import/export of Coopr's real catalog, resolve.

use axum::http::StatusCode;
use serde_json::{Value, json};
use weft_testkit::{Backend, both_backends, fixture_files};

use crate::harness::{SUPERADMIN_TOKEN, TestApp, assert_invalid, small_catalog};

both_backends!(
    coopr_catalog_imports_unchanged_and_reads_back_equal,
    entities_are_versioned,
    bad_bodies_name_the_field_and_write_nothing,
    import_is_all_or_nothing,
    import_merge_keeps_history,
    soft_references_come_back_as_warnings,
    plugin_types_are_global_and_superadmin_written,
    resolve_merges_partials,
    bootstrap_copies_the_superadmin_catalog,
);

fn without_version(mut entity: Value) -> Value {
    entity.as_object_mut().unwrap().remove("version");
    entity
}

async fn coopr_catalog_imports_unchanged_and_reads_back_equal(backend: Backend) {
    let app = TestApp::new(backend).await;
    let acme = app.tenant("acme").await;
    for (folder, kind) in [
        ("providertypes", "providertypes"),
        ("automatortypes", "automatortypes"),
    ] {
        for spec in fixture_files(&format!("coopr-plugin-specs/{folder}")) {
            let name = spec["name"].as_str().unwrap();
            let answer = app
                .put(
                    &format!("/v2/plugins/{kind}/{name}"),
                    SUPERADMIN_TOKEN,
                    spec.clone(),
                )
                .await;
            assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
        }
    }
    let kinds = [
        "providers",
        "hardwaretypes",
        "imagetypes",
        "services",
        "clustertemplates",
    ];
    let mut bundle = serde_json::Map::new();
    for kind in kinds {
        bundle.insert(
            kind.to_string(),
            Value::Array(fixture_files(&format!("coopr-templates/{kind}"))),
        );
    }
    let answer = app
        .post("/v2/import", &acme.admin, Value::Object(bundle.clone()))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    assert_eq!(
        answer.body["imported"],
        json!({"providers": 8, "hardwaretypes": 5, "imagetypes": 11, "services": 53, "clustertemplates": 15})
    );
    for kind in kinds {
        let originals = bundle[kind].as_array().unwrap();
        let listed = app.get(&format!("/v2/{kind}"), &acme.user).await;
        assert_eq!(
            listed.body.as_array().unwrap().len(),
            originals.len(),
            "{kind}"
        );
        for original in originals {
            let name = original["name"].as_str().unwrap();
            let read = app.get(&format!("/v2/{kind}/{name}"), &acme.user).await;
            assert_eq!(read.status, StatusCode::OK, "{kind}/{name}");
            assert_eq!(read.body["version"], 1);
            assert_eq!(
                without_version(read.body),
                *original,
                "{kind}/{name} reads back as written"
            );
        }
    }
    let exported = app.get("/v2/export", &acme.user).await;
    for kind in kinds {
        let exported: Vec<Value> = exported.body[kind]
            .as_array()
            .unwrap()
            .iter()
            .cloned()
            .map(without_version)
            .collect();
        let mut originals = bundle[kind].as_array().unwrap().clone();
        originals.sort_by_key(|e| e["name"].as_str().unwrap().to_string());
        assert_eq!(exported, originals, "export of {kind}");
    }
    assert_eq!(exported.body["partialtemplates"], json!([]));
}

async fn entities_are_versioned(backend: Backend) {
    let app = TestApp::new(backend).await;
    let acme = app.tenant("acme").await;
    app.post("/v2/import", &acme.admin, small_catalog()).await;
    let v1 = app
        .post(
            "/v2/services",
            &acme.admin,
            json!({"name": "web", "description": "one"}),
        )
        .await;
    assert_eq!(
        (v1.status, v1.body["version"].clone()),
        (StatusCode::OK, json!(1))
    );
    assert_eq!(
        app.post("/v2/services", &acme.admin, json!({"name": "web"}))
            .await
            .status,
        StatusCode::CONFLICT
    );
    let v2 = app
        .put(
            "/v2/services/web",
            &acme.admin,
            json!({"name": "web", "description": "two"}),
        )
        .await;
    assert_eq!(v2.body["version"], 2);
    assert_eq!(
        app.get("/v2/services/web", &acme.user).await.body["description"],
        "two"
    );
    assert_eq!(
        app.get("/v2/services/web/1", &acme.user).await.body["description"],
        "one"
    );
    assert_eq!(
        app.get("/v2/services/web/3", &acme.user).await.status,
        StatusCode::NOT_FOUND
    );
    assert_invalid(&app.get("/v2/services/web/0", &acme.user).await, "version");
    assert_invalid(&app.get("/v2/services/web/x", &acme.user).await, "version");
    let listed = app.get("/v2/services", &acme.user).await;
    let web: Vec<&Value> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["name"] == "web")
        .collect();
    assert_eq!(
        (web.len(), web[0]["version"].clone()),
        (1, json!(2)),
        "list shows the latest only"
    );
    // PUT without a name takes the path's; a different name is refused
    assert_eq!(
        app.put(
            "/v2/services/web",
            &acme.admin,
            json!({"description": "three"})
        )
        .await
        .body["version"],
        3
    );
    assert_invalid(
        &app.put("/v2/services/web", &acme.admin, json!({"name": "other"}))
            .await,
        "name",
    );
    assert_eq!(
        app.delete("/v2/services/web/3", &acme.admin).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/v2/services/web", &acme.user).await.body["version"],
        2
    );
    assert_eq!(
        app.delete("/v2/services/web", &acme.admin).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/v2/services/web/1", &acme.user).await.status,
        StatusCode::NOT_FOUND
    );
}

async fn bad_bodies_name_the_field_and_write_nothing(backend: Backend) {
    let app = TestApp::new(backend).await;
    let acme = app.tenant("acme").await;
    app.post("/v2/import", &acme.admin, small_catalog()).await;
    let cases = [
        (
            "/v2/providers",
            json!({"name": "bad name", "providertype": "docker"}),
            "name",
        ),
        (
            "/v2/providers",
            json!({"name": "p", "providertype": "docker", "provisioner": {}, "extra": 1}),
            "extra",
        ),
        ("/v2/providers", json!({"name": "p"}), "providertype"),
        (
            "/v2/hardwaretypes",
            json!({"name": "h", "providermap": {"nowhere": {"flavor": "x"}}}),
            "providermap.nowhere",
        ),
        (
            "/v2/imagetypes",
            json!({"name": "i", "providermap": {"local": {"image": 7}}}),
            "providermap.local.image",
        ),
        (
            "/v2/services",
            json!({"name": "s", "dependencies": {"runtime": {"requires": ["ghost"]}}}),
            "dependencies.runtime.requires[0]",
        ),
        (
            "/v2/services",
            json!({"name": "s", "provisioner": {"actions": {"install": {"fields": {}}}}}),
            "provisioner.actions.install.type",
        ),
        (
            "/v2/clustertemplates",
            json!({"name": "t", "constraints": {"size": {"min": 0}}}),
            "constraints.size.min",
        ),
        (
            "/v2/clustertemplates",
            json!({"name": "t", "constraints": {"size": {"min": 4, "max": 2}}}),
            "constraints.size.max",
        ),
        (
            "/v2/clustertemplates",
            json!({"name": "t", "administration": {"leaseduration": {"initial": 10, "max": 5}}}),
            "administration.leaseduration.initial",
        ),
        (
            "/v2/clustertemplates",
            json!({"name": "t", "constraints": {"layout": {"mustcoexist": [["base", "ghost"]]}}}),
            "constraints.layout.mustcoexist[0][1]",
        ),
        (
            "/v2/clustertemplates",
            json!({"name": "t", "constraints": {"layout": {"cantcoexist": [["base"]]}}}),
            "constraints.layout.cantcoexist[0]",
        ),
        (
            "/v2/clustertemplates",
            json!({"name": "t", "defaults": {"provider": "ghost"}}),
            "defaults.provider",
        ),
        (
            "/v2/clustertemplates",
            json!({"name": "t", "extends": {"name": "ghost"}}),
            "extends.name",
        ),
        (
            "/v2/partialtemplates",
            json!({"name": "pt", "immutable": "yes"}),
            "immutable",
        ),
    ];
    for (path, body, field) in cases {
        let name = body["name"].as_str().unwrap_or_default().to_string();
        assert_invalid(&app.post(path, &acme.admin, body.clone()).await, field);
        if !name.contains(' ') {
            assert_eq!(
                app.get(&format!("{path}/{name}"), &acme.admin).await.status,
                StatusCode::NOT_FOUND,
                "{path} {body} wrote nothing"
            );
        }
    }
    let not_json = app
        .call(
            axum::http::Method::POST,
            "/v2/services",
            Some(&acme.admin),
            None,
        )
        .await;
    assert_eq!(not_json.status, StatusCode::BAD_REQUEST, "{not_json:?}");
    let array = app.post("/v2/services", &acme.admin, json!([1, 2])).await;
    assert_eq!(array.status, StatusCode::BAD_REQUEST, "{array:?}");
}

async fn import_is_all_or_nothing(backend: Backend) {
    let app = TestApp::new(backend).await;
    let acme = app.tenant("acme").await;
    assert_eq!(
        app.post("/v2/import", &acme.admin, small_catalog())
            .await
            .status,
        StatusCode::OK
    );
    let before = app.get("/v2/export", &acme.user).await.body;
    let mut broken = small_catalog();
    broken["services"] = json!([{"name": "base"}, {"name": "cache", "dependencies": {"install": {"requires": ["ghost"]}}}]);
    assert_invalid(
        &app.post("/v2/import", &acme.admin, broken).await,
        "services[1].dependencies.install.requires[0]",
    );
    let mut duplicate = small_catalog();
    duplicate["hardwaretypes"] = json!([{"name": "small"}, {"name": "small"}]);
    assert_invalid(
        &app.post("/v2/import", &acme.admin, duplicate).await,
        "hardwaretypes[1].name",
    );
    let mut malformed = small_catalog();
    malformed["imagetypes"] = json!([{"name": "debian", "colour": "blue"}]);
    assert_invalid(
        &app.post("/v2/import", &acme.admin, malformed).await,
        "imagetypes[0].colour",
    );
    assert_invalid(
        &app.post("/v2/import", &acme.admin, json!({"nodes": []}))
            .await,
        "nodes",
    );
    assert_invalid(
        &app.call(
            axum::http::Method::POST,
            "/v2/import?mode=sideways",
            Some(&acme.admin),
            Some(small_catalog()),
        )
        .await,
        "mode",
    );
    assert_eq!(
        app.get("/v2/export", &acme.user).await.body,
        before,
        "a failed import writes nothing"
    );
    // replacing one type leaves the others as they were
    let only_services = json!({"services": [{"name": "base"}]});
    let answer = app.post("/v2/import", &acme.admin, only_services).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    assert_eq!(
        app.get("/v2/export", &acme.user).await.body["providers"],
        before["providers"],
        "unlisted types are untouched"
    );
}

async fn import_merge_keeps_history(backend: Backend) {
    let app = TestApp::new(backend).await;
    let acme = app.tenant("acme").await;
    app.post("/v2/import", &acme.admin, small_catalog()).await;
    app.post("/v2/services", &acme.admin, json!({"name": "extra"}))
        .await;
    let merged = app
        .call(
            axum::http::Method::POST,
            "/v2/import?mode=merge",
            Some(&acme.admin),
            Some(json!({"services": [{"name": "base", "description": "new"}]})),
        )
        .await;
    assert_eq!(merged.status, StatusCode::OK, "{merged:?}");
    assert_eq!(
        app.get("/v2/services/base", &acme.user).await.body["version"],
        2
    );
    assert_eq!(
        app.get("/v2/services/extra", &acme.user).await.status,
        StatusCode::OK
    );
    app.post(
        "/v2/import",
        &acme.admin,
        json!({"services": [{"name": "base"}]}),
    )
    .await;
    assert_eq!(
        app.get("/v2/services/extra", &acme.user).await.status,
        StatusCode::NOT_FOUND,
        "replace removes the rest"
    );
}

async fn soft_references_come_back_as_warnings(backend: Backend) {
    let app = TestApp::new(backend).await;
    let acme = app.tenant("acme").await;
    app.post("/v2/import", &acme.admin, small_catalog()).await;
    let answer = app
        .post(
            "/v2/clustertemplates",
            &acme.admin,
            json!({"name": "t", "compatibility": {"imagetypes": ["ubuntu16"]}}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    let warnings: Vec<_> = answer
        .headers
        .get_all("weft-warning")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert_eq!(
        warnings,
        ["compatibility.imagetypes[0]: image type 'ubuntu16' does not exist"]
    );
}

async fn plugin_types_are_global_and_superadmin_written(backend: Backend) {
    let app = TestApp::new(backend).await;
    let acme = app.tenant("acme").await;
    let spec = json!({"name": "shell", "parameters": {"admin": {"fields": {"script": {"label": "Script", "type": "text"}}, "required": [["script"]]}}});
    assert_eq!(
        app.put(
            "/v2/plugins/automatortypes/shell",
            &acme.admin,
            spec.clone()
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.put("/v2/plugins/automatortypes/shell", SUPERADMIN_TOKEN, spec)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/v2/plugins/automatortypes/shell", &acme.user)
            .await
            .body["version"],
        1
    );
    // services are now checked against the registered schema
    let missing = app.post("/v2/services", &acme.admin, json!({"name": "s", "provisioner": {"actions": {"install": {"type": "shell", "fields": {"args": "-x"}}}}})).await;
    assert_invalid(&missing, "provisioner.actions.install.fields");
    let ok = app.post("/v2/services", &acme.admin, json!({"name": "s", "provisioner": {"actions": {"install": {"type": "shell", "fields": {"script": "i.sh"}}}}})).await;
    assert_eq!(ok.status, StatusCode::OK, "{ok:?}");
    assert_invalid(
        &app.put(
            "/v2/plugins/providertypes/x",
            SUPERADMIN_TOKEN,
            json!({"name": "x", "parameters": {"user": {"required": [["a"]]}}}),
        )
        .await,
        "parameters.user.required[0][0]",
    );
    assert_eq!(
        app.delete("/v2/plugins/automatortypes/shell", &acme.admin)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.delete("/v2/plugins/automatortypes/shell", SUPERADMIN_TOKEN)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/v2/plugins/automatortypes", &acme.user).await.body,
        json!([])
    );
}

async fn resolve_merges_partials(backend: Backend) {
    let app = TestApp::new(backend).await;
    let acme = app.tenant("acme").await;
    app.post("/v2/import", &acme.admin, small_catalog()).await;
    let partial = json!({"name": "secure", "immutable": true, "defaults": {"services": ["base"], "config": {"tls": true}}});
    assert_eq!(
        app.post("/v2/partialtemplates", &acme.admin, partial)
            .await
            .status,
        StatusCode::OK
    );
    let template = json!({"name": "child", "extends": {"name": "redis"}, "includes": [{"name": "secure"}], "defaults": {"config": {"port": 6379}}});
    let resolved = app.post("/v2/resolve", &acme.user, template).await;
    assert_eq!(resolved.status, StatusCode::OK, "{resolved:?}");
    assert_eq!(
        resolved.body["defaults"]["services"],
        json!(["base", "redis"])
    );
    assert_eq!(
        resolved.body["defaults"]["config"],
        json!({"tls": true, "port": 6379})
    );
    assert_eq!(
        resolved.body["constraints"]["size"],
        json!({"min": 1, "max": 5})
    );
    assert!(resolved.body.get("extends").is_none());
    let missing = app
        .post(
            "/v2/resolve",
            &acme.user,
            json!({"name": "t", "includes": [{"name": "ghost"}]}),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{missing:?}");
    let overriding = json!({"name": "t", "extends": {"name": "redis"}, "includes": [{"name": "secure"}], "defaults": {"config": {"tls": false}}});
    assert_invalid(
        &app.post("/v2/resolve", &acme.user, overriding.clone())
            .await,
        "defaults.config.tls",
    );
    assert_invalid(
        &app.post("/v2/clustertemplates", &acme.admin, overriding)
            .await,
        "defaults.config.tls",
    );
    assert_invalid(
        &app.post(
            "/v2/resolve",
            &acme.user,
            json!({"name": "t", "defaults": {"provider": "local"}}),
        )
        .await,
        "defaults.services",
    );
}

async fn bootstrap_copies_the_superadmin_catalog(backend: Backend) {
    let app = TestApp::new(backend).await;
    assert_eq!(
        app.post("/v2/import", SUPERADMIN_TOKEN, small_catalog())
            .await
            .status,
        StatusCode::OK
    );
    app.post(
        "/v2/tenants",
        SUPERADMIN_TOKEN,
        json!({"tenant": {"name": "booted"}, "bootstrap": true}),
    )
    .await;
    app.post(
        "/v2/tenants",
        SUPERADMIN_TOKEN,
        json!({"tenant": {"name": "empty"}}),
    )
    .await;
    let booted = app.user("booted", "ann", "user").await;
    let empty = app.user("empty", "ann", "user").await;
    assert_eq!(
        app.get("/v2/clustertemplates/redis", &booted).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/v2/clustertemplates/redis", &empty).await.status,
        StatusCode::NOT_FOUND
    );
}
