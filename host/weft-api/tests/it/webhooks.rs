//! Lifecycle webhooks end to end: jobs run by the embedded workers, the outbox drained by
//! `weft_webhooks::run`, a real HTTP receiver on loopback.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use weft_testkit::{Backend, both_backends};

use crate::engine::{create, setup, wait_for};
use crate::harness::TestApp;

#[derive(Clone, Default)]
struct Received {
    events: Arc<Mutex<Vec<(String, String, Value)>>>,
    /// Answers 500 to this many requests first.
    refuse: Arc<Mutex<usize>>,
}

async fn receive(
    State(r): State<Received>,
    Path(kind): Path<String>,
    headers: HeaderMap,
    body: axum::Json<Value>,
) -> StatusCode {
    {
        let mut refuse = r.refuse.lock().unwrap();
        if *refuse > 0 {
            *refuse -= 1;
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
    }
    let header = headers
        .get("x-weft-event")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    r.events.lock().unwrap().push((kind, header, body.0));
    StatusCode::NO_CONTENT
}

async fn receiver(received: Received) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .route("/hooks/{kind}", axum::routing::post(receive))
        .with_state(received);
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}/hooks")
}

async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn lifecycle_webhooks_post_cluster_job_and_nodes(backend: Backend) {
    let app = TestApp::with_workers(backend, 2).await;
    let received = Received::default();
    let base = receiver(received.clone()).await;
    let config = weft_webhooks::WebhookConfig {
        start: Some(weft_webhooks::Hook::new(format!("{base}/start"), "").unwrap()),
        success: Some(
            weft_webhooks::Hook::new(format!("{base}/success"), "CLUSTER_CREATE").unwrap(),
        ),
        failure: Some(weft_webhooks::Hook::new(format!("{base}/failure"), "").unwrap()),
        backoff: Duration::from_millis(100),
        poll: Duration::from_millis(50),
        ..weft_webhooks::WebhookConfig::default()
    };
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(weft_webhooks::run(app.store.clone(), config, async move {
        let _ = stopped.wait_for(|s| *s).await;
    }));

    let t = setup(
        &app,
        "acme",
        2,
        json!({"type": "test-misbehave", "fields": {"mode": "error"}}),
    )
    .await;
    // the receiver refuses the next two requests: start (sent at once) and a retry of it
    *received.refuse.lock().unwrap() = 2;
    let id = create(
        &app,
        &t.user,
        json!({"name": "hooked", "clusterTemplate": "basic", "numMachines": 2}),
    )
    .await;
    wait_for(&app, &t.user, &id, "active").await;
    until("start and success delivered", || {
        received.events.lock().unwrap().len() >= 2
    })
    .await;
    {
        let events = received.events.lock().unwrap();
        // a refused event is retried later, so deliveries need not keep their order
        let mut kinds: Vec<&str> = events.iter().map(|(k, _, _)| k.as_str()).collect();
        kinds.sort();
        assert_eq!(kinds, ["start", "success"], "{events:?}");
        for (kind, header, body) in events.iter() {
            assert_eq!(header, kind);
            assert_eq!(body["event"], json!(kind));
            assert_eq!(body["cluster"]["id"], json!(id));
            assert_eq!(body["cluster"]["name"], "hooked");
            assert_eq!(body["cluster"]["clusterTemplate"], "basic");
            assert_eq!(body["job"]["action"], "CLUSTER_CREATE");
            assert_eq!(body["nodes"].as_array().unwrap().len(), 2, "{body}");
            // nothing a plugin returned or a provider field holds goes out
            assert!(
                body["nodes"][0].get("provisionerResults").is_none(),
                "{body}"
            );
            assert!(
                body["cluster"]["provider"].get("provisioner").is_none(),
                "{body}"
            );
        }
        let success = &events.iter().find(|(k, _, _)| k == "success").unwrap().2;
        assert_eq!(success["cluster"]["status"], "active");
        assert_eq!(success["job"]["status"], "complete");
        assert!(
            success["nodes"][0]["properties"]["hostname"]
                .as_str()
                .unwrap()
                .ends_with(".test")
        );
    }

    // a delete's success is not among the success hook's triggers: its start goes out, its
    // success is dropped from the outbox unsent
    let deleted = app
        .call(
            axum::http::Method::DELETE,
            &format!("/v2/clusters/{id}"),
            Some(&t.user),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{deleted:?}");
    wait_for(&app, &t.user, &id, "terminated").await;
    let store = app.store.clone();
    let start = Instant::now();
    while store.pending_job_events().await.unwrap() > 0 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the outbox never drained"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    {
        let events = received.events.lock().unwrap();
        let mut kinds: Vec<(&str, &str)> = events
            .iter()
            .map(|(k, _, b)| (k.as_str(), b["job"]["action"].as_str().unwrap_or_default()))
            .collect();
        kinds.sort();
        assert_eq!(
            kinds,
            [
                ("start", "CLUSTER_CREATE"),
                ("start", "CLUSTER_DELETE"),
                ("success", "CLUSTER_CREATE")
            ]
        );
    }

    // a job that fails: its failure goes out with the cluster's failure status and message
    let failing = create(
        &app,
        &t.user,
        json!({"name": "broken", "clusterTemplate": "basic", "numMachines": 1, "services": ["base", "app"]}),
    )
    .await;
    wait_for(&app, &t.user, &failing, "incomplete").await;
    until("failure delivered", || {
        received
            .events
            .lock()
            .unwrap()
            .iter()
            .any(|(k, _, b)| k == "failure" && b["cluster"]["id"] == json!(failing))
    })
    .await;
    let events = received.events.lock().unwrap();
    let failure = events
        .iter()
        .find(|(k, _, _)| k == "failure")
        .map(|(_, _, b)| b.clone())
        .unwrap();
    assert_eq!(failure["cluster"]["status"], "incomplete");
    assert_eq!(failure["job"]["status"], "failed");
    assert!(
        failure["cluster"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("INSTALL"),
        "{failure}"
    );
    let _ = stop.send(true);
}

both_backends!(lifecycle_webhooks_post_cluster_job_and_nodes);
