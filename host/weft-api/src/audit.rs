//! The audit log: every mutating request by an authenticated user is recorded (tenant, user,
//! method, path, status, time) after it is answered. Bodies and query strings are not kept:
//! they may hold secrets. The worker protocol (`/v2/tasks/...`, provisioner heartbeats) is
//! machine traffic, not an act of a user, and is not recorded.

use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

/// Where the `Caller` extractor leaves who the request is from, for the audit middleware.
#[derive(Debug, Clone, Default)]
pub(crate) struct AuditSlot(Arc<Mutex<Option<(String, String)>>>);

impl AuditSlot {
    pub(crate) fn set(&self, tenant_id: &str, user: &str) {
        if let Ok(mut who) = self.0.lock() {
            *who = Some((tenant_id.to_string(), user.to_string()));
        }
    }

    fn take(&self) -> Option<(String, String)> {
        self.0.lock().ok().and_then(|mut who| who.take())
    }
}

fn audited(method: &Method, path: &str) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::DELETE | Method::PATCH
    ) && !path.starts_with("/v2/tasks/")
        && !path.starts_with("/v2/provisioners/")
        // a preview changes nothing
        && path != "/v2/clusters/preview"
}

pub(crate) async fn record(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    if !audited(&method, &path) {
        return next.run(request).await;
    }
    let slot = AuditSlot::default();
    request.extensions_mut().insert(slot.clone());
    let response = next.run(request).await;
    if let Some((tenant_id, actor)) = slot.take() {
        let entry = weft_store::AuditEntry {
            // time-ordered and increasing within the process: entries of one millisecond
            // still list newest first
            id: uuid::Uuid::now_v7().to_string(),
            tenant_id,
            actor,
            method: method.to_string(),
            path,
            status: i64::from(response.status().as_u16()),
            at: weft_engine::now_ms(),
        };
        if let Err(error) = state.store.append_audit(&entry).await {
            tracing::error!(%error, method = %entry.method, path = %entry.path, "the audit entry could not be written");
        }
    }
    response
}
