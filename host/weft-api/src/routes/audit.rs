//! `GET /v2/audit`: the tenant's audit log, newest first (admins; a superadmin may name a tenant).

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::{ApiError, AppState, Caller, ErrorBody};

pub(super) fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router.routes(routes!(list))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    /// Only entries older than this time (ms), to page back.
    before: Option<i64>,
    /// At most this many entries (1-1000, default 100).
    limit: Option<i64>,
    /// Another tenant's log, by name (superadmin only).
    tenant: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct AuditView {
    id: String,
    /// The user's name.
    actor: String,
    method: String,
    path: String,
    status: i64,
    at: i64,
}

/// Who changed what, and when.
#[utoipa::path(get, path = "/v2/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = Vec<AuditView>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<AuditQuery>,
) -> Result<Json<Vec<AuditView>>, ApiError> {
    caller.require_admin("read the audit log")?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            "range",
            "must be between 1 and 1000",
        ));
    }
    let tenant_id = match &query.tenant {
        None => caller.tenant_id.clone(),
        Some(name) => {
            caller.require_superadmin("read another tenant's audit log")?;
            state.store.tenant_by_name(name).await?.id
        }
    };
    Ok(Json(
        state
            .store
            .audit_log(&tenant_id, query.before, limit)
            .await?
            .into_iter()
            .map(|e| AuditView {
                id: e.id,
                actor: e.actor,
                method: e.method,
                path: e.path,
                status: e.status,
                at: e.at,
            })
            .collect(),
    ))
}
