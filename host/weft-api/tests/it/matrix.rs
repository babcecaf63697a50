//! Every endpoint of the OpenAPI document, checked for the same promises: 401 without a valid
//! token, 403 for a role that may not, 404 (not 403) for another tenant's entity, 400 naming the
//! field for a bad body, 409 for a duplicate. The table must list exactly the documented
//! endpoints, so a new endpoint cannot be added without its row.

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use weft_testkit::{Backend, both_backends};

use crate::harness::{SUPERADMIN_TOKEN, TestApp, small_catalog};

both_backends!(every_endpoint_keeps_the_access_promises);

#[derive(Clone, Copy, Debug, PartialEq)]
enum Min {
    Any,
    Admin,
    Superadmin,
}

struct Row {
    method: Method,
    template: &'static str,
    /// The concrete path, naming an entity of tenant acme.
    path: String,
    body: Option<Value>,
    min: Min,
    /// Whether an admin of another tenant must get 404 here.
    tenant_scoped: bool,
    /// A body that must be refused with 400 naming this field.
    bad_body: Option<(Value, &'static str)>,
    /// A body that already exists: 409.
    duplicate: Option<Value>,
}

fn row(method: Method, template: &'static str, path: impl Into<String>, min: Min) -> Row {
    Row {
        method,
        template,
        path: path.into(),
        body: None,
        min,
        tenant_scoped: false,
        bad_body: None,
        duplicate: None,
    }
}

impl Row {
    fn body(mut self, body: Value) -> Row {
        self.body = Some(body);
        self
    }
    fn scoped(mut self) -> Row {
        self.tenant_scoped = true;
        self
    }
    fn bad(mut self, body: Value, field: &'static str) -> Row {
        self.bad_body = Some((body, field));
        self
    }
    fn duplicate(mut self, body: Value) -> Row {
        self.duplicate = Some(body);
        self
    }
}

fn table() -> Vec<Row> {
    let mut rows = vec![
        row(Method::GET, "/v2/me", "/v2/me", Min::Any),
        row(
            Method::GET,
            "/v2/openapi.json",
            "/v2/openapi.json",
            Min::Any,
        ),
        row(Method::GET, "/v2/export", "/v2/export", Min::Any),
        row(Method::POST, "/v2/import", "/v2/import", Min::Admin)
            .body(json!({}))
            .bad(json!({"services": [{"name": "a b"}]}), "services[0].name"),
        row(Method::POST, "/v2/resolve", "/v2/resolve", Min::Any)
            .body(json!({"name": "x"}))
            .bad(json!({"name": "x", "size": 1}), "size"),
        row(
            Method::POST,
            "/v2/clusters/preview",
            "/v2/clusters/preview",
            Min::Any,
        )
        .scoped()
        .body(json!({"name": "c", "clusterTemplate": "redis", "numMachines": 1}))
        .bad(
            json!({"name": "c", "clusterTemplate": "redis", "numMachines": "x"}),
            "numMachines",
        ),
        row(Method::GET, "/v2/tenants", "/v2/tenants", Min::Superadmin),
        row(Method::POST, "/v2/tenants", "/v2/tenants", Min::Superadmin)
            .body(json!({"tenant": {"name": "new"}}))
            .bad(
                json!({"tenant": {"name": "new", "maxNodes": "many"}}),
                "tenant.maxNodes",
            )
            .duplicate(json!({"tenant": {"name": "acme"}})),
        row(
            Method::GET,
            "/v2/tenants/{name}",
            "/v2/tenants/acme",
            Min::Any,
        )
        .scoped(),
        row(
            Method::PUT,
            "/v2/tenants/{name}",
            "/v2/tenants/acme",
            Min::Superadmin,
        )
        .body(json!({"tenant": {"name": "acme"}}))
        .bad(json!({"tenant": {"name": "other"}}), "tenant.name"),
        row(
            Method::DELETE,
            "/v2/tenants/{name}",
            "/v2/tenants/acme",
            Min::Superadmin,
        ),
        row(
            Method::GET,
            "/v2/tenants/{tenant}/users",
            "/v2/tenants/acme/users",
            Min::Admin,
        )
        .scoped(),
        row(
            Method::POST,
            "/v2/tenants/{tenant}/users",
            "/v2/tenants/acme/users",
            Min::Admin,
        )
        .scoped()
        .body(json!({"name": "new", "role": "user"}))
        .bad(json!({"name": "new"}), "role")
        .duplicate(json!({"name": "bob", "role": "user"})),
        row(
            Method::DELETE,
            "/v2/tenants/{tenant}/users/{name}",
            "/v2/tenants/acme/users/bob",
            Min::Admin,
        )
        .scoped(),
        row(
            Method::POST,
            "/v2/tenants/{tenant}/users/{name}/token",
            "/v2/tenants/acme/users/bob/token",
            Min::Admin,
        )
        .scoped(),
        row(Method::GET, "/v2/plugins", "/v2/plugins", Min::Any),
        row(Method::POST, "/v2/plugins", "/v2/plugins", Min::Admin)
            .body(json!({}))
            .bad(json!({}), "component"),
        row(
            Method::GET,
            "/v2/plugins/components/{name}",
            "/v2/plugins/components/test-capabilities",
            Min::Any,
        )
        .scoped(),
        row(
            Method::GET,
            "/v2/plugins/components/{name}/{version}",
            "/v2/plugins/components/test-capabilities/1",
            Min::Any,
        )
        .scoped(),
        row(
            Method::PUT,
            "/v2/plugins/components/{name}/{version}/grants",
            "/v2/plugins/components/test-capabilities/1/grants",
            Min::Admin,
        )
        .scoped()
        .body(json!({}))
        .bad(json!({"ssh": true, "http": ["ftp://x"]}), "http[0]"),
        row(
            Method::PUT,
            "/v2/plugins/components/{name}/{version}/status",
            "/v2/plugins/components/test-capabilities/1/status",
            Min::Admin,
        )
        .scoped()
        .body(json!({"status": "active"}))
        .bad(json!({"status": "quarantined"}), "status"),
    ];
    let kinds: [(&str, &str, Min, bool, Value); 8] = [
        (
            "providers",
            "local",
            Min::Admin,
            true,
            json!({"providertype": "docker"}),
        ),
        ("hardwaretypes", "small", Min::Admin, true, json!({})),
        ("imagetypes", "debian", Min::Admin, true, json!({})),
        ("services", "base", Min::Admin, true, json!({})),
        ("clustertemplates", "redis", Min::Admin, true, json!({})),
        ("partialtemplates", "part", Min::Admin, true, json!({})),
        (
            "plugins/providertypes",
            "docker",
            Min::Superadmin,
            false,
            json!({}),
        ),
        (
            "plugins/automatortypes",
            "shell",
            Min::Superadmin,
            false,
            json!({}),
        ),
    ];
    for (kind, name, writer, scoped, extra) in kinds {
        let with_name = |n: &str| {
            let mut body = extra.clone();
            body["name"] = json!(n);
            body
        };
        let templates = templates_for(kind);
        let scope = |r: Row| if scoped { r.scoped() } else { r };
        rows.push(row(
            Method::GET,
            templates[0],
            format!("/v2/{kind}"),
            Min::Any,
        ));
        rows.push(
            row(Method::POST, templates[0], format!("/v2/{kind}"), writer)
                .body(with_name("fresh"))
                .bad(with_name("bad name"), "name")
                .duplicate(with_name(name)),
        );
        rows.push(scope(row(
            Method::GET,
            templates[1],
            format!("/v2/{kind}/{name}"),
            Min::Any,
        )));
        rows.push(
            row(
                Method::PUT,
                templates[1],
                format!("/v2/{kind}/{name}"),
                writer,
            )
            .body(with_name(name))
            .bad(with_name("other"), "name"),
        );
        rows.push(scope(row(
            Method::DELETE,
            templates[1],
            format!("/v2/{kind}/{name}"),
            writer,
        )));
        rows.push(scope(row(
            Method::GET,
            templates[2],
            format!("/v2/{kind}/{name}/1"),
            Min::Any,
        )));
        rows.push(scope(row(
            Method::DELETE,
            templates[2],
            format!("/v2/{kind}/{name}/1"),
            writer,
        )));
    }
    // clusters: owner or admin of the tenant; another tenant's are absent
    let c = "/v2/clusters/00000001";
    let cluster_rows = [
        (Method::GET, "/v2/clusters/{id}", c.to_string(), None),
        (Method::DELETE, "/v2/clusters/{id}", c.to_string(), None),
        (
            Method::POST,
            "/v2/clusters/{id}",
            c.to_string(),
            Some(json!({"expireTime": 1})),
        ),
        (
            Method::GET,
            "/v2/clusters/{id}/status",
            format!("{c}/status"),
            None,
        ),
        (
            Method::GET,
            "/v2/clusters/{id}/events",
            format!("{c}/events"),
            None,
        ),
        (
            Method::GET,
            "/v2/clusters/{id}/plans",
            format!("{c}/plans"),
            None,
        ),
        (
            Method::GET,
            "/v2/clusters/{id}/plans/{job}",
            format!("{c}/plans/00000001-001"),
            None,
        ),
        (
            Method::GET,
            "/v2/clusters/{id}/config",
            format!("{c}/config"),
            None,
        ),
        (
            Method::PUT,
            "/v2/clusters/{id}/config",
            format!("{c}/config"),
            Some(json!({"config": {}})),
        ),
        (
            Method::GET,
            "/v2/clusters/{id}/services",
            format!("{c}/services"),
            None,
        ),
        (
            Method::POST,
            "/v2/clusters/{id}/services",
            format!("{c}/services"),
            Some(json!({"services": ["redis"]})),
        ),
        (
            Method::POST,
            "/v2/clusters/{id}/services/{service}",
            format!("{c}/services/restart"),
            None,
        ),
        (
            Method::DELETE,
            "/v2/clusters/{id}/services/{service}",
            format!("{c}/services/redis"),
            None,
        ),
        (
            Method::POST,
            "/v2/clusters/{id}/services/{service}/{action}",
            format!("{c}/services/redis/restart"),
            None,
        ),
        (
            Method::POST,
            "/v2/clusters/{id}/nodes",
            format!("{c}/nodes"),
            Some(json!({"numMachines": 1})),
        ),
        (
            Method::POST,
            "/v2/clusters/{id}/pause",
            format!("{c}/pause"),
            None,
        ),
        (
            Method::POST,
            "/v2/clusters/{id}/resume",
            format!("{c}/resume"),
            None,
        ),
        (
            Method::POST,
            "/v2/clusters/{id}/abort",
            format!("{c}/abort"),
            None,
        ),
        (
            Method::GET,
            "/v2/clusters/{id}/tasks/{task}/log",
            format!("{c}/tasks/00000001-001-001/log"),
            None,
        ),
        (
            Method::GET,
            "/v2/clusters/{id}/tasks/{task}/log/stream",
            format!("{c}/tasks/00000001-001-001/log/stream"),
            None,
        ),
        (
            Method::GET,
            "/v2/nodes/{id}",
            "/v2/nodes/n1".to_string(),
            None,
        ),
    ];
    for (method, template, path, body) in cluster_rows {
        let mut r = row(method, template, path, Min::Any).scoped();
        r.body = body;
        rows.push(r);
    }
    rows.push(row(Method::GET, "/v2/nodes", "/v2/nodes", Min::Any));
    rows.push(row(Method::GET, "/v2/clusters", "/v2/clusters", Min::Any));
    rows.push(
        row(Method::POST, "/v2/clusters", "/v2/clusters", Min::Any)
            .scoped()
            .body(json!({"name": "c", "clusterTemplate": "redis", "numMachines": 1}))
            .bad(
                json!({"name": "c", "clusterTemplate": "redis", "numMachines": "x"}),
                "numMachines",
            ),
    );
    // the worker protocol: worker tokens only (user tokens are not worker credentials)
    for (method, template, path, body) in [
        (
            Method::PUT,
            "/v2/provisioners/{id}",
            "/v2/provisioners/p1",
            json!({"host": "h", "capacityTotal": 1}),
        ),
        (
            Method::POST,
            "/v2/provisioners/{id}/heartbeat",
            "/v2/provisioners/p1/heartbeat",
            json!({"usage": 0}),
        ),
        (
            Method::POST,
            "/v2/tasks/take",
            "/v2/tasks/take",
            json!({"provisionerId": "p1", "workerId": "w"}),
        ),
        (
            Method::POST,
            "/v2/tasks/heartbeat",
            "/v2/tasks/heartbeat",
            json!({"provisionerId": "p1", "workerId": "w", "taskId": "t"}),
        ),
        (
            Method::POST,
            "/v2/tasks/log",
            "/v2/tasks/log",
            json!({"provisionerId": "p1", "workerId": "w", "taskId": "t", "attempt": 1, "firstSeq": 1, "lines": []}),
        ),
        (
            Method::POST,
            "/v2/tasks/finish",
            "/v2/tasks/finish",
            json!({"provisionerId": "p1", "workerId": "w", "taskId": "t", "attempt": 1, "status": 0}),
        ),
        (
            Method::GET,
            "/v2/tasks/components/{digest}",
            "/v2/tasks/components/abc",
            Value::Null,
        ),
        (
            Method::GET,
            "/v2/tasks/resources/{digest}",
            "/v2/tasks/resources/abc",
            Value::Null,
        ),
    ] {
        let mut r = row(method, template, path, Min::Any);
        r.body = (!body.is_null()).then_some(body);
        rows.push(r);
    }
    rows.push(row(
        Method::GET,
        "/v2/provisioners",
        "/v2/provisioners",
        Min::Superadmin,
    ));
    // plugin resources: acme's own plugin type (absent for globex), and a global type whose
    // resources acme has and globex has not
    for (types, resource) in [
        ("automatortypes", "test-capabilities/files/motd"),
        ("providertypes", "keyed/keys/k1"),
    ] {
        let base = format!("/v2/plugins/{types}/{resource}");
        let template = |suffix: &str| -> &'static str {
            Box::leak(
                format!("/v2/plugins/{types}/{{plugin}}/{{resourceType}}/{{name}}{suffix}")
                    .into_boxed_str(),
            )
        };
        let upload = row(Method::POST, template(""), base.clone(), Min::Admin);
        rows.push(if types == "automatortypes" {
            upload.scoped()
        } else {
            upload
        });
        for (method, suffix) in [
            (Method::GET, ""),
            (Method::DELETE, ""),
            (Method::DELETE, "/versions/{version}"),
            (Method::POST, "/versions/{version}/stage"),
            (Method::POST, "/versions/{version}/recall"),
        ] {
            let path = format!("{base}{}", suffix.replace("{version}", "1"));
            rows.push(row(method, template(suffix), path, Min::Admin).scoped());
        }
    }
    rows.push(row(
        Method::POST,
        "/v2/plugins/sync",
        "/v2/plugins/sync",
        Min::Admin,
    ));
    // machine pools
    let pool = |name: &str, machines: Value| {
        json!({"name": name, "privateKey": weft_ssh::KeyPair::generate().private_openssh().unwrap(),
               "machines": machines})
    };
    let machines = json!([{"name": "m1", "address": "127.0.0.1:2201",
                           "hostKey": weft_ssh::KeyPair::generate().public_openssh()}]);
    rows.push(row(Method::GET, "/v2/pools", "/v2/pools", Min::Admin));
    rows.push(
        row(Method::POST, "/v2/pools", "/v2/pools", Min::Admin)
            .body(pool("other", machines.clone()))
            .bad(pool("other", json!([])), "machines")
            .duplicate(pool("lab", machines.clone())),
    );
    rows.push(row(Method::GET, "/v2/pools/{name}", "/v2/pools/lab", Min::Admin).scoped());
    rows.push(
        row(Method::PUT, "/v2/pools/{name}", "/v2/pools/lab", Min::Admin)
            .body(pool("lab", machines.clone()))
            .bad(pool("lab", json!([])), "machines"),
    );
    rows.push(
        row(
            Method::DELETE,
            "/v2/pools/{name}",
            "/v2/pools/lab",
            Min::Admin,
        )
        .scoped(),
    );
    rows.push(row(
        Method::GET,
        "/v2/workers/tokens",
        "/v2/workers/tokens",
        Min::Admin,
    ));
    rows.push(
        row(
            Method::POST,
            "/v2/workers/tokens",
            "/v2/workers/tokens",
            Min::Admin,
        )
        .body(json!({"name": "w1"}))
        .bad(json!({"name": "a b"}), "name"),
    );
    rows.push(row(
        Method::DELETE,
        "/v2/workers/tokens/{name}",
        "/v2/workers/tokens/w0",
        Min::Admin,
    ));
    rows.push(row(Method::GET, "/v2/audit", "/v2/audit", Min::Admin));
    rows
}

/// The OpenAPI path templates of one entity kind (static strings, to compare with the document).
fn templates_for(kind: &str) -> [&'static str; 3] {
    let all: [[&'static str; 3]; 8] = [
        [
            "/v2/providers",
            "/v2/providers/{name}",
            "/v2/providers/{name}/{version}",
        ],
        [
            "/v2/hardwaretypes",
            "/v2/hardwaretypes/{name}",
            "/v2/hardwaretypes/{name}/{version}",
        ],
        [
            "/v2/imagetypes",
            "/v2/imagetypes/{name}",
            "/v2/imagetypes/{name}/{version}",
        ],
        [
            "/v2/services",
            "/v2/services/{name}",
            "/v2/services/{name}/{version}",
        ],
        [
            "/v2/clustertemplates",
            "/v2/clustertemplates/{name}",
            "/v2/clustertemplates/{name}/{version}",
        ],
        [
            "/v2/partialtemplates",
            "/v2/partialtemplates/{name}",
            "/v2/partialtemplates/{name}/{version}",
        ],
        [
            "/v2/plugins/providertypes",
            "/v2/plugins/providertypes/{name}",
            "/v2/plugins/providertypes/{name}/{version}",
        ],
        [
            "/v2/plugins/automatortypes",
            "/v2/plugins/automatortypes/{name}",
            "/v2/plugins/automatortypes/{name}/{version}",
        ],
    ];
    all.into_iter()
        .find(|t| t[0] == format!("/v2/{kind}"))
        .unwrap()
}

fn documented_endpoints() -> BTreeSet<(String, String)> {
    let doc = serde_json::to_value(weft_api::openapi()).unwrap();
    let mut endpoints = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "delete", "patch"].contains(&method.as_str())
                && path != "/status"
            {
                endpoints.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    endpoints
}

async fn every_endpoint_keeps_the_access_promises(backend: Backend) {
    let app = TestApp::new(backend).await;
    let acme = app.tenant("acme").await;
    let globex = app.tenant("globex").await;
    assert_eq!(
        app.post("/v2/import", &acme.admin, small_catalog())
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.post("/v2/partialtemplates", &acme.admin, json!({"name": "part"}))
            .await
            .status,
        StatusCode::OK
    );
    for (kind, name) in [("providertypes", "docker"), ("automatortypes", "shell")] {
        assert_eq!(
            app.put(
                &format!("/v2/plugins/{kind}/{name}"),
                SUPERADMIN_TOKEN,
                json!({"name": name})
            )
            .await
            .status,
            StatusCode::OK
        );
    }

    let registered = app
        .upload(
            "/v2/plugins",
            &acme.admin,
            weft_test_plugins::component("test-capabilities"),
        )
        .await;
    assert_eq!(registered.status, StatusCode::CREATED, "{registered:?}");
    // resources and a pool of acme's for the rows that name them
    let keyed = app
        .put(
            "/v2/plugins/providertypes/keyed",
            SUPERADMIN_TOKEN,
            json!({"name": "keyed", "resourceTypes": {"keys": {"format": "file"}}}),
        )
        .await;
    assert_eq!(keyed.status, StatusCode::OK, "{keyed:?}");
    for resource in [
        "automatortypes/test-capabilities/files/motd",
        "providertypes/keyed/keys/k1",
    ] {
        let up = app
            .upload(
                &format!("/v2/plugins/{resource}"),
                &acme.admin,
                b"x".to_vec(),
            )
            .await;
        assert_eq!(up.status, StatusCode::OK, "{up:?}");
    }
    let lab = app
        .post(
            "/v2/pools",
            &acme.admin,
            json!({"name": "lab", "privateKey": weft_ssh::KeyPair::generate().private_openssh().unwrap(),
                   "machines": [{"name": "m1", "address": "127.0.0.1:2201",
                                 "hostKey": weft_ssh::KeyPair::generate().public_openssh()}]}),
        )
        .await;
    assert_eq!(lab.status, StatusCode::OK, "{lab:?}");

    let rows = table();
    let tabled: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| (r.method.to_string(), r.template.to_string()))
        .collect();
    assert_eq!(
        tabled,
        documented_endpoints(),
        "the table and the OpenAPI document must list the same endpoints"
    );

    for row in &rows {
        let what = format!("{} {}", row.method, row.path);
        let call = |token: Option<&str>, body: Option<Value>| {
            let token = token.map(str::to_string);
            let app = &app;
            async move {
                app.call(row.method.clone(), &row.path, token.as_deref(), body)
                    .await
            }
        };
        assert_eq!(
            call(None, row.body.clone()).await.status,
            StatusCode::UNAUTHORIZED,
            "{what} without a token"
        );
        assert_eq!(
            call(Some("weft_not-a-real-token"), row.body.clone())
                .await
                .status,
            StatusCode::UNAUTHORIZED,
            "{what} with a bad token"
        );
        let refused: &[&str] = match row.min {
            Min::Any => &[],
            Min::Admin => &[&acme.user],
            Min::Superadmin => &[&acme.user, &acme.admin],
        };
        for token in refused {
            let answer = call(Some(token), row.body.clone()).await;
            assert_eq!(
                answer.status,
                StatusCode::FORBIDDEN,
                "{what} for a role that may not: {answer:?}"
            );
        }
        if row.tenant_scoped {
            for token in [&globex.admin, &globex.user] {
                let answer = call(Some(token), row.body.clone()).await;
                assert_eq!(
                    answer.status,
                    StatusCode::NOT_FOUND,
                    "{what} by another tenant: {answer:?}"
                );
            }
        }
        let allowed = match row.min {
            Min::Any => acme.user.as_str(),
            Min::Admin => acme.admin.as_str(),
            Min::Superadmin => SUPERADMIN_TOKEN,
        };
        if let Some((body, field)) = &row.bad_body {
            let answer = call(Some(allowed), Some(body.clone())).await;
            assert_eq!(
                (answer.status, answer.body["field"].as_str()),
                (StatusCode::BAD_REQUEST, Some(*field)),
                "{what} bad body: {answer:?}"
            );
        }
        if let Some(body) = &row.duplicate {
            let answer = call(Some(allowed), Some(body.clone())).await;
            assert_eq!(
                answer.status,
                StatusCode::CONFLICT,
                "{what} duplicate: {answer:?}"
            );
        }
    }
    // nothing above changed acme's catalog
    for (kind, name) in [
        ("providers", "local"),
        ("services", "base"),
        ("clustertemplates", "redis"),
        ("partialtemplates", "part"),
    ] {
        let answer = app.get(&format!("/v2/{kind}/{name}"), &acme.user).await;
        assert_eq!(
            (answer.status, answer.body["version"].clone()),
            (StatusCode::OK, json!(1)),
            "{kind}/{name}"
        );
    }
}
