//! A test application on a real database, with a helper to call it and to make tenants and users.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use weft_testkit::{Backend, TestDb};

pub(crate) const SUPERADMIN_TOKEN: &str = "test-superadmin-token-0123456789";

/// One plugin runtime for every test of the process (as one server has one).
fn runtime() -> std::sync::Arc<weft_runtime::Runtime> {
    static RUNTIME: std::sync::OnceLock<std::sync::Arc<weft_runtime::Runtime>> =
        std::sync::OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            let cache = tempfile::tempdir().unwrap().keep();
            std::sync::Arc::new(
                weft_runtime::Runtime::new(weft_runtime::RuntimeConfig {
                    cache_dir: cache,
                    slots: 32,
                    max_memory_bytes: 64 << 20,
                    epoch_tick: std::time::Duration::from_millis(10),
                    max_component_bytes: 32 << 20,
                    quarantine_after: 5,
                })
                .unwrap(),
            )
        })
        .clone()
}

fn inspector() -> weft_api::PluginInspector {
    let inspector = weft_registry::Inspector::new(runtime());
    weft_api::PluginInspector::new(move |wasm| {
        let inspector = inspector.clone();
        Box::pin(async move { inspector.inspect(wasm).await })
    })
}

pub(crate) struct TestApp {
    app: Router,
    _db: TestDb,
    /// Set to stop the embedded workers.
    stop: Option<tokio::sync::watch::Sender<bool>>,
    /// The store, for tests that run more of the server beside the API (webhooks).
    pub(crate) store: weft_store::Store,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = &self.stop {
            let _ = stop.send(true);
        }
    }
}

pub(crate) struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub headers: HeaderMap,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.body)
    }
}

/// A tenant with an admin and a plain user, and their tokens.
pub(crate) struct Tenant {
    pub admin: String,
    pub user: String,
}

impl TestApp {
    pub(crate) async fn new(backend: Backend) -> TestApp {
        let db = TestDb::new(backend).await;
        let store = weft_store::Store::open(&db.url).await.unwrap();
        store
            .ensure_superadmin(&weft_auth::token_digest(SUPERADMIN_TOKEN))
            .await
            .unwrap();
        let state = weft_api::AppState::new(store)
            .await
            .unwrap()
            .with_inspector(inspector());
        TestApp {
            store: state.store.clone(),
            app: weft_api::app(state),
            _db: db,
            stop: None,
        }
    }

    /// An app whose engine retries fast, with `slots` embedded workers running its tasks in the
    /// plugin runtime, and a janitor.
    pub(crate) async fn with_workers(backend: Backend, slots: usize) -> TestApp {
        TestApp::with_workers_and(backend, slots, |_| {}).await
    }

    /// Like `with_workers`, with the engine's configuration changed by `configure`.
    pub(crate) async fn with_workers_and(
        backend: Backend,
        slots: usize,
        configure: impl FnOnce(&mut weft_engine::EngineConfig),
    ) -> TestApp {
        let db = TestDb::new(backend).await;
        let store = weft_store::Store::open(&db.url).await.unwrap();
        store
            .ensure_superadmin(&weft_auth::token_digest(SUPERADMIN_TOKEN))
            .await
            .unwrap();
        let state = weft_api::AppState::new(store.clone())
            .await
            .unwrap()
            .with_inspector(inspector());
        let mut config = weft_engine::EngineConfig {
            retry: weft_engine::RetryPolicy {
                max_attempts: 3,
                backoff_ms: 20,
            },
            lease: std::time::Duration::from_secs(10),
            ..weft_engine::EngineConfig::default()
        };
        configure(&mut config);
        let engine = weft_engine::Engine::new(
            store,
            weft_vault::Vault::new(&[7u8; 32]).unwrap(),
            state.superadmin_tenant_id.clone(),
            config,
        );
        let state = state.with_engine(engine.clone());
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let executor = std::sync::Arc::new(weft_worker::Executor::new(
            runtime(),
            weft_runtime::TaskLimits {
                memory_bytes: 64 << 20,
                cpu: std::time::Duration::from_secs(10),
                wall: std::time::Duration::from_secs(30),
                output_bytes: 1 << 20,
                result_bytes: 1 << 20,
                table_entries: 256,
                file_bytes: 1 << 20,
            },
        ));
        let source = std::sync::Arc::new(weft_worker::EngineSource::new(engine.clone(), "test"));
        tokio::spawn(weft_worker::run(
            source,
            executor,
            weft_worker::WorkerConfig {
                slots,
                heartbeat: std::time::Duration::from_secs(3),
                error_backoff: std::time::Duration::from_millis(200),
            },
            stop_rx.clone(),
        ));
        let mut janitor_stop = stop_rx;
        tokio::spawn(async move {
            engine
                .run_janitor(std::time::Duration::from_millis(200), async move {
                    let _ = janitor_stop.wait_for(|s| *s).await;
                })
                .await
        });
        TestApp {
            store: state.store.clone(),
            app: weft_api::app(state),
            _db: db,
            stop: Some(stop),
        }
    }

    pub(crate) async fn call(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let body = match body {
            Some(body) => Body::from(body.to_string()),
            None => Body::empty(),
        };
        self.send(request.body(body).unwrap()).await
    }

    pub(crate) async fn get_with_headers(
        &self,
        uri: &str,
        token: &str,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = Request::builder()
            .uri(uri)
            .header("authorization", format!("Bearer {token}"));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Answer {
            status,
            body,
            headers,
        }
    }

    /// The status and the first frame of a streamed answer (server-sent events that stay open).
    pub(crate) async fn first_frame(&self, uri: &str, token: &str) -> (StatusCode, String) {
        let request = Request::builder()
            .uri(uri)
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let mut body = response.into_body();
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), body.frame())
            .await
            .expect("a first frame within 10 s");
        let text = frame
            .and_then(|f| f.ok())
            .and_then(|f| f.into_data().ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        (status, text)
    }

    /// Uploads a component, as `weft` or curl would (`application/wasm`).
    pub(crate) async fn upload(&self, uri: &str, token: &str, wasm: Vec<u8>) -> Answer {
        let request = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/wasm")
            .body(Body::from(wasm))
            .unwrap();
        self.send(request).await
    }

    pub(crate) async fn get(&self, uri: &str, token: &str) -> Answer {
        self.call(Method::GET, uri, Some(token), None).await
    }

    pub(crate) async fn post(&self, uri: &str, token: &str, body: Value) -> Answer {
        self.call(Method::POST, uri, Some(token), Some(body)).await
    }

    pub(crate) async fn put(&self, uri: &str, token: &str, body: Value) -> Answer {
        self.call(Method::PUT, uri, Some(token), Some(body)).await
    }

    pub(crate) async fn delete(&self, uri: &str, token: &str) -> Answer {
        self.call(Method::DELETE, uri, Some(token), None).await
    }

    /// Creates a tenant through the API, with an admin `ann` and a user `bob`.
    pub(crate) async fn tenant(&self, name: &str) -> Tenant {
        let created = self
            .post(
                "/v2/tenants",
                SUPERADMIN_TOKEN,
                json!({"tenant": {"name": name}}),
            )
            .await;
        assert_eq!(created.status, StatusCode::OK, "{created:?}");
        let admin = self.user(name, "ann", "admin").await;
        let user = self.user(name, "bob", "user").await;
        Tenant { admin, user }
    }

    pub(crate) async fn user(&self, tenant: &str, name: &str, role: &str) -> String {
        let created = self
            .post(
                &format!("/v2/tenants/{tenant}/users"),
                SUPERADMIN_TOKEN,
                json!({"name": name, "role": role}),
            )
            .await;
        assert_eq!(created.status, StatusCode::OK, "{created:?}");
        created.body["token"].as_str().unwrap().to_string()
    }
}

/// Asserts a 400 that names `field`.
#[track_caller]
pub(crate) fn assert_invalid(answer: &Answer, field: &str) {
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{answer:?}");
    assert_eq!(answer.body["field"], field, "{answer:?}");
    assert!(
        answer.body["rule"].is_string() && answer.body["error"].is_string(),
        "{answer:?}"
    );
}

/// A small valid catalog: provider, hardware and image types, two services and a template.
pub(crate) fn small_catalog() -> Value {
    json!({
        "providers": [{"name": "local", "providertype": "docker", "provisioner": {"endpoint": "unix:///var/run/docker.sock"}}],
        "hardwaretypes": [{"name": "small", "providermap": {"local": {"flavor": "1cpu"}}}],
        "imagetypes": [{"name": "debian", "providermap": {"local": {"image": "weft-node"}}}],
        "services": [
            {"name": "base"},
            {"name": "redis", "dependencies": {"install": {"requires": ["base"]}}}
        ],
        "partialtemplates": [],
        "clustertemplates": [{
            "name": "redis",
            "defaults": {"services": ["base", "redis"], "provider": "local", "hardwaretype": "small", "imagetype": "debian"},
            "constraints": {"size": {"min": 1, "max": 5}}
        }]
    })
}
