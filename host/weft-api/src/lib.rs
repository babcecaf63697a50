//! Weft's HTTP API: Coopr's v2 paths and JSON, with bearer-token authentication, roles and
//! tenant isolation on every route, field-named errors and a generated OpenAPI document.
//!
//! Layout: `routes/` holds one module per resource, each contributing an `OpenApiRouter` whose
//! handlers carry `#[utoipa::path]`, so the OpenAPI document is built from the same list of
//! routes the server serves; `auth` turns a bearer token into a [`Caller`]; `body` parses JSON
//! bodies with field-named errors; `error` is the only place that knows HTTP statuses.
//!
//! Architecture invariant: handlers never trust a tenant named by the client; the tenant is the
//! token's. An entity of another tenant is reported as absent (404), never as forbidden.

mod audit;
mod auth;
mod body;
pub mod bundled;
mod catalog_access;
mod error;
mod routes;

use std::time::Duration;

use axum::Router;
use axum::http::Request;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use weft_store::Store;

pub use auth::Caller;
pub use error::{ApiError, ErrorBody};

/// What every handler can reach.
#[derive(Clone, Debug)]
pub struct AppState {
    pub store: Store,
    /// The superadmin tenant's id, where global plugin types live.
    pub superadmin_tenant_id: String,
    /// Loads uploaded plugin components (the server's runtime); none: uploads are refused.
    pub inspector: Option<PluginInspector>,
    /// The cluster lifecycle engine.
    pub engine: weft_engine::Engine,
}

impl AppState {
    /// Wraps an opened store whose superadmin tenant exists (see `Store::ensure_superadmin`).
    pub async fn new(store: Store) -> Result<AppState, ApiError> {
        let superadmin = store.tenant_by_name(weft_model::SUPERADMIN_TENANT).await?;
        // an engine whose vault key lives only in memory; `with_engine` puts in the server's
        let key: Vec<u8> = [uuid_bytes(), uuid_bytes()].concat();
        let vault = weft_vault::Vault::new(&key)
            .map_err(|e| ApiError::Internal(format!("the vault: {e}")))?;
        let engine = weft_engine::Engine::new(
            store.clone(),
            vault,
            superadmin.id.clone(),
            weft_engine::EngineConfig::default(),
        );
        Ok(AppState {
            store,
            superadmin_tenant_id: superadmin.id,
            inspector: None,
            engine,
        })
    }

    /// Serves clusters with `engine`.
    pub fn with_engine(mut self, engine: weft_engine::Engine) -> AppState {
        self.engine = engine;
        self
    }

    /// Accepts plugin uploads, inspecting them with `inspector`.
    pub fn with_inspector(mut self, inspector: PluginInspector) -> AppState {
        self.inspector = Some(inspector);
        self
    }
}

fn uuid_bytes() -> [u8; 16] {
    *uuid::Uuid::new_v4().as_bytes()
}

/// The future an inspection returns.
pub type InspectFuture = std::pin::Pin<
    Box<
        dyn std::future::Future<
                Output = Result<weft_model::InspectedPlugin, weft_model::InspectError>,
            > + Send,
    >,
>;

/// Inspects an uploaded component. The API runs no wasm itself: the binary hands it the
/// runtime's inspection (`weft-registry`) as this function.
#[derive(Clone)]
pub struct PluginInspector(std::sync::Arc<dyn Fn(Vec<u8>) -> InspectFuture + Send + Sync>);

impl PluginInspector {
    pub fn new(inspect: impl Fn(Vec<u8>) -> InspectFuture + Send + Sync + 'static) -> Self {
        PluginInspector(std::sync::Arc::new(inspect))
    }

    pub fn inspect(&self, wasm: Vec<u8>) -> InspectFuture {
        (self.0)(wasm)
    }
}

impl std::fmt::Debug for PluginInspector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PluginInspector")
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Weft", description = "Cluster provisioning with sandboxed plugins; Coopr v2 compatible API"),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    components(schemas(ErrorBody))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("weft token")
                    .build(),
            ),
        );
    }
}

/// The routes and the OpenAPI document that describes exactly them.
fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = routes::all(utoipa_axum::router::OpenApiRouter::with_openapi(
        ApiDoc::openapi(),
    ))
    .split_for_parts();
    unique_operation_ids(&mut doc);
    (router, doc)
}

/// utoipa names an operation after its handler, and many handlers share a name (`list`,
/// `create`...); OpenAPI wants unique ids, and client generators key types by them. A shared
/// name becomes the method and the path (`get /v2/clusters/{id}/plans` → `getClustersIdPlans`).
fn unique_operation_ids(doc: &mut utoipa::openapi::OpenApi) {
    use std::collections::HashMap;
    fn operations(
        item: &mut utoipa::openapi::PathItem,
    ) -> impl Iterator<Item = (&'static str, &mut utoipa::openapi::path::Operation)> {
        [
            ("get", item.get.as_mut()),
            ("put", item.put.as_mut()),
            ("post", item.post.as_mut()),
            ("delete", item.delete.as_mut()),
            ("patch", item.patch.as_mut()),
        ]
        .into_iter()
        .filter_map(|(method, op)| op.map(|op| (method, op)))
    }
    let mut count: HashMap<String, usize> = HashMap::new();
    for item in doc.paths.paths.values_mut() {
        for (_, op) in operations(item) {
            if let Some(id) = &op.operation_id {
                *count.entry(id.clone()).or_default() += 1;
            }
        }
    }
    for (path, item) in doc.paths.paths.iter_mut() {
        for (method, op) in operations(item) {
            let shared = op
                .operation_id
                .as_ref()
                .is_none_or(|id| count.get(id).copied().unwrap_or(0) > 1);
            if shared {
                let mut id = method.to_string();
                for word in path
                    .trim_start_matches("/v2")
                    .split(|c: char| !c.is_ascii_alphanumeric())
                    .filter(|w| !w.is_empty())
                {
                    let mut chars = word.chars();
                    if let Some(first) = chars.next() {
                        id.push(first.to_ascii_uppercase());
                        id.extend(chars);
                    }
                }
                op.operation_id = Some(id);
            }
        }
    }
}

/// The OpenAPI document of every endpoint.
pub fn openapi() -> &'static utoipa::openapi::OpenApi {
    static OPENAPI: std::sync::OnceLock<utoipa::openapi::OpenApi> = std::sync::OnceLock::new();
    OPENAPI.get_or_init(|| routes().1)
}

/// Unknown API paths get a JSON 404; every other path belongs to the web UI, which only
/// answers reads.
async fn fallback(method: axum::http::Method, uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    let path = uri.path();
    let read = method == axum::http::Method::GET || method == axum::http::Method::HEAD;
    if path == "/v2" || path.starts_with("/v2/") || path == "/status" || !read {
        ApiError::NotFound("no such endpoint".into()).into_response()
    } else {
        weft_web::serve(uri).await
    }
}

/// The whole application, ready to serve or to call in tests with `tower::ServiceExt::oneshot`.
pub fn app(state: AppState) -> Router {
    let (router, _) = routes();
    router
        .fallback(fallback)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            audit::record,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                let request_id = request
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                tracing::info_span!(
                    "request",
                    method = %request.method(),
                    path = %request.uri().path(),
                    request_id,
                    tenant = tracing::field::Empty,
                    user = tracing::field::Empty,
                )
            }),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// Serves `app` on an already bound listener until `shutdown` completes, then drains open
/// requests for at most `drain`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    drain: Duration,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let mut stopped = stop_rx.clone();
    tokio::select! {
        result = server => result,
        _ = async {
            let _ = stopped.wait_for(|s| *s).await;
            tokio::time::sleep(drain).await;
        } => {
            tracing::warn!("open requests did not finish within the drain period");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    fn walk<'a>(value: &'a Value, at: String, out: &mut Vec<(String, &'a Value)>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    out.push((format!("{at}/{k}"), v));
                    walk(v, format!("{at}/{k}"), out);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(v, format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
    }

    /// Clients (the web UI among them) generate their types from this document: every `$ref`
    /// must resolve and every path parameter must be in its path.
    #[test]
    fn the_openapi_document_is_self_consistent() {
        let doc = serde_json::to_value(super::openapi()).expect("serialises");
        let mut all = Vec::new();
        walk(&doc, String::new(), &mut all);
        for (at, value) in &all {
            if at.ends_with("/$ref") {
                let target = value.as_str().expect("a $ref is a string");
                let pointer = target.trim_start_matches('#');
                assert!(
                    doc.pointer(pointer).is_some(),
                    "{at} refers to {target}, which does not exist"
                );
            }
        }
        let mut ids = std::collections::BTreeSet::new();
        for item in doc["paths"].as_object().expect("paths").values() {
            for op in item.as_object().expect("operations").values() {
                if let Some(id) = op["operationId"].as_str() {
                    assert!(
                        ids.insert(id.to_string()),
                        "operationId '{id}' is not unique"
                    );
                }
            }
        }
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("operations") {
                for param in op["parameters"].as_array().into_iter().flatten() {
                    if param["in"] == "path" {
                        let name = param["name"].as_str().unwrap_or_default();
                        assert!(
                            path.contains(&format!("{{{name}}}")),
                            "{method} {path}: path parameter '{name}' is not in the path"
                        );
                    }
                }
            }
        }
    }
}
