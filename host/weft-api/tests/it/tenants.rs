//! Tenants, users, tokens and roles.

use axum::http::StatusCode;
use serde_json::json;
use weft_testkit::{Backend, both_backends};

use crate::harness::{SUPERADMIN_TOKEN, TestApp, assert_invalid};

both_backends!(
    tenants_crud,
    users_and_tokens,
    tenant_admins_manage_only_their_users,
    whoami_and_openapi,
    unknown_api_paths_are_json_and_the_ui_only_answers_reads
);

async fn unknown_api_paths_are_json_and_the_ui_only_answers_reads(backend: Backend) {
    let app = TestApp::new(backend).await;
    for (method, path) in [
        (axum::http::Method::GET, "/v2/no-such-thing"),
        (axum::http::Method::GET, "/v2"),
        (axum::http::Method::POST, "/clusters/new"),
        (axum::http::Method::DELETE, "/"),
    ] {
        let answer = app.call(method.clone(), path, None, None).await;
        assert_eq!(
            answer.status,
            StatusCode::NOT_FOUND,
            "{method} {path}: {answer:?}"
        );
        assert_eq!(
            answer.body["error"], "no such endpoint",
            "{method} {path}: {answer:?}"
        );
    }
    // a UI route needs no token: the page itself signs in
    let page = app
        .call(axum::http::Method::GET, "/clusters/42", None, None)
        .await;
    assert_ne!(page.status, StatusCode::UNAUTHORIZED, "{page:?}");
    assert!(page.body.get("error").is_none(), "{page:?}");
}

async fn tenants_crud(backend: Backend) {
    let app = TestApp::new(backend).await;
    let spec = json!({"name": "acme", "description": "widgets", "workers": 2, "maxClusters": 10, "maxNodes": 50});
    let created = app
        .post("/v2/tenants", SUPERADMIN_TOKEN, json!({"tenant": spec}))
        .await;
    assert_eq!(
        (created.status, created.body.clone()),
        (StatusCode::OK, spec.clone())
    );
    assert_eq!(
        app.post(
            "/v2/tenants",
            SUPERADMIN_TOKEN,
            json!({"tenant": {"name": "acme"}})
        )
        .await
        .status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        app.get("/v2/tenants/acme", SUPERADMIN_TOKEN).await.body,
        spec
    );
    let names: Vec<_> = app
        .get("/v2/tenants", SUPERADMIN_TOKEN)
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].clone())
        .collect();
    assert_eq!(names, [json!("acme"), json!("superadmin")]);
    assert_invalid(
        &app.put(
            "/v2/tenants/acme",
            SUPERADMIN_TOKEN,
            json!({"tenant": {"name": "other"}}),
        )
        .await,
        "tenant.name",
    );
    assert_invalid(
        &app.post(
            "/v2/tenants",
            SUPERADMIN_TOKEN,
            json!({"tenant": {"name": "a/b"}}),
        )
        .await,
        "tenant.name",
    );
    assert_invalid(
        &app.post(
            "/v2/tenants",
            SUPERADMIN_TOKEN,
            json!({"tenant": {"name": "x", "workers": -1}}),
        )
        .await,
        "tenant.workers",
    );
    assert_invalid(
        &app.post("/v2/tenants", SUPERADMIN_TOKEN, json!({"name": "x"}))
            .await,
        "name",
    );
    assert_eq!(
        app.delete("/v2/tenants/acme", SUPERADMIN_TOKEN)
            .await
            .status,
        StatusCode::CONFLICT,
        "workers assigned"
    );
    let updated = app
        .put(
            "/v2/tenants/acme",
            SUPERADMIN_TOKEN,
            json!({"tenant": {"name": "acme", "workers": 0}}),
        )
        .await;
    assert_eq!(updated.body, json!({"name": "acme", "workers": 0}));
    assert_eq!(
        app.delete("/v2/tenants/acme", SUPERADMIN_TOKEN)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/v2/tenants/acme", SUPERADMIN_TOKEN).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.delete("/v2/tenants/superadmin", SUPERADMIN_TOKEN)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.put(
            "/v2/tenants/ghost",
            SUPERADMIN_TOKEN,
            json!({"tenant": {"name": "ghost"}})
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
}

async fn users_and_tokens(backend: Backend) {
    let app = TestApp::new(backend).await;
    let acme = app.tenant("acme").await;
    let users = app.get("/v2/tenants/acme/users", &acme.admin).await;
    let listed: Vec<_> = users
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["name"].clone(), u["role"].clone()))
        .collect();
    assert_eq!(
        listed,
        [
            (json!("ann"), json!("admin")),
            (json!("bob"), json!("user"))
        ]
    );
    assert!(
        !users.body.to_string().contains("token"),
        "tokens are never listed"
    );
    assert_eq!(
        app.post(
            "/v2/tenants/acme/users",
            &acme.admin,
            json!({"name": "bob", "role": "user"})
        )
        .await
        .status,
        StatusCode::CONFLICT
    );
    assert_invalid(
        &app.post(
            "/v2/tenants/acme/users",
            &acme.admin,
            json!({"name": "eve", "role": "root"}),
        )
        .await,
        "role",
    );
    let rotated = app
        .post("/v2/tenants/acme/users/bob/token", &acme.admin, json!({}))
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{rotated:?}");
    assert_eq!(
        app.get("/v2/providers", &acme.user).await.status,
        StatusCode::UNAUTHORIZED,
        "the old token stops working"
    );
    let new_token = rotated.body["token"].as_str().unwrap().to_string();
    assert_eq!(
        app.get("/v2/providers", &new_token).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.delete("/v2/tenants/acme/users/bob", &acme.admin)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/v2/providers", &new_token).await.status,
        StatusCode::UNAUTHORIZED,
        "deleting revokes"
    );
    assert_eq!(
        app.delete("/v2/tenants/superadmin/users/admin", SUPERADMIN_TOKEN)
            .await
            .status,
        StatusCode::CONFLICT,
        "the last superadmin stays"
    );
    let second = app.user("superadmin", "root2", "admin").await;
    assert_eq!(
        app.get("/v2/tenants", &second).await.status,
        StatusCode::OK,
        "an admin of the superadmin tenant is a superadmin"
    );
    assert_eq!(
        app.delete("/v2/tenants/superadmin/users/admin", &second)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/v2/tenants", SUPERADMIN_TOKEN).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.delete("/v2/tenants/acme", &second).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/v2/providers", &acme.admin).await.status,
        StatusCode::UNAUTHORIZED,
        "deleting a tenant revokes its users"
    );
}

async fn tenant_admins_manage_only_their_users(backend: Backend) {
    let app = TestApp::new(backend).await;
    let acme = app.tenant("acme").await;
    let globex = app.tenant("globex").await;
    let made = app
        .post(
            "/v2/tenants/acme/users",
            &acme.admin,
            json!({"name": "cy", "role": "user"}),
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{made:?}");
    assert!(made.body["token"].as_str().unwrap().starts_with("weft_"));
    assert_eq!(
        app.post(
            "/v2/tenants/acme/users",
            &acme.user,
            json!({"name": "dee", "role": "admin"})
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get("/v2/tenants/acme/users", &globex.admin)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.delete("/v2/tenants/acme/users/cy", &globex.admin)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/v2/tenants/acme", &acme.user).await.status,
        StatusCode::OK,
        "members read their tenant"
    );
    assert_eq!(
        app.get("/v2/tenants/acme", &globex.admin).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/v2/tenants", &acme.admin).await.status,
        StatusCode::FORBIDDEN
    );
}

async fn whoami_and_openapi(backend: Backend) {
    let app = TestApp::new(backend).await;
    let acme = app.tenant("acme").await;
    assert_eq!(
        app.get("/v2/me", &acme.user).await.body,
        json!({"tenant": "acme", "user": "bob", "role": "user", "superadmin": false})
    );
    assert_eq!(
        app.get("/v2/me", SUPERADMIN_TOKEN).await.body["superadmin"],
        true
    );
    let status = app
        .call(axum::http::Method::GET, "/status", None, None)
        .await;
    assert_eq!((status.status, status.body), (StatusCode::OK, json!("OK")));
    assert_eq!(
        app.call(axum::http::Method::GET, "/v2/openapi.json", None, None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let doc = app.get("/v2/openapi.json", &acme.user).await;
    assert!(
        doc.body["paths"]["/v2/clustertemplates/{name}/{version}"]["get"].is_object(),
        "{}",
        doc.body["paths"]
    );
    assert!(doc.body["components"]["schemas"]["ClusterTemplate"].is_object());
    // the tenant is the token's: Coopr's tenant and user headers change nothing
    let globex = app.tenant("globex").await;
    app.post("/v2/services", &globex.admin, json!({"name": "secret"}))
        .await;
    let headers = [("Coopr-TenantID", "globex"), ("Coopr-UserID", "admin")];
    assert_eq!(
        app.get_with_headers("/v2/services/secret", &acme.user, &headers)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get_with_headers("/v2/services/secret", &globex.user, &headers)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.call(
            axum::http::Method::GET,
            "/v2/services",
            Some("weft_forged"),
            None
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );
}
