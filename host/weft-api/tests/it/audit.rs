//! The audit log records every mutating request of a user, with its outcome, per tenant.

use axum::http::StatusCode;
use serde_json::json;
use weft_testkit::{Backend, both_backends};

use crate::harness::{SUPERADMIN_TOKEN, TestApp};

async fn mutating_requests_are_audited_per_tenant(backend: Backend) {
    let app = TestApp::new(backend).await;
    let acme = app.tenant("acme").await;
    let globex = app.tenant("globex").await;
    let made = app
        .post(
            "/v2/hardwaretypes",
            &acme.admin,
            json!({"name": "small", "providermap": {}}),
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{made:?}");
    let refused = app
        .post("/v2/hardwaretypes", &acme.user, json!({"name": "big"}))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // reads are not audited
    app.get("/v2/hardwaretypes", &acme.admin).await;

    let log = app.get("/v2/audit", &acme.admin).await;
    assert_eq!(log.status, StatusCode::OK, "{log:?}");
    let entries = log.body.as_array().unwrap();
    let seen: Vec<(String, String, String, u64)> = entries
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_string(),
                e["method"].as_str().unwrap().to_string(),
                e["path"].as_str().unwrap().to_string(),
                e["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("bob".into(), "POST".into(), "/v2/hardwaretypes".into(), 403),
            ("ann".into(), "POST".into(), "/v2/hardwaretypes".into(), 200),
        ],
        "newest first, refusals too, no reads"
    );
    assert!(!log.body.to_string().contains(&acme.admin), "no token");

    // paging back, bad limits, roles and tenants
    let at = entries[0]["at"].as_i64().unwrap();
    let older = app
        .get(&format!("/v2/audit?before={at}&limit=1"), &acme.admin)
        .await;
    assert!(older.body.as_array().unwrap().len() <= 1, "{older:?}");
    let bad = app.get("/v2/audit?limit=0", &acme.admin).await;
    crate::harness::assert_invalid(&bad, "limit");
    assert_eq!(
        app.get("/v2/audit", &acme.user).await.status,
        StatusCode::FORBIDDEN
    );
    let other = app.get("/v2/audit", &globex.admin).await;
    assert!(
        !other.body.to_string().contains("hardwaretypes"),
        "{other:?}"
    );
    assert_eq!(
        app.get("/v2/audit?tenant=acme", &globex.admin).await.status,
        StatusCode::FORBIDDEN
    );
    let by_superadmin = app.get("/v2/audit?tenant=acme", SUPERADMIN_TOKEN).await;
    assert_eq!(by_superadmin.body.as_array().unwrap().len(), 2);
    // the superadmin's own acts (creating the tenants and users) are in its own log
    let own = app.get("/v2/audit", SUPERADMIN_TOKEN).await;
    assert!(own.body.to_string().contains("/v2/tenants"), "{own:?}");
}

both_backends!(mutating_requests_are_audited_per_tenant);
