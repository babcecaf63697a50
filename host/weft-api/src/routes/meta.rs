//! `/status`, `/v2/me` and `/v2/openapi.json`.

use axum::Json;
use axum::http::header;
use axum::response::IntoResponse;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use weft_model::Whoami;

use crate::{AppState, Caller};

pub(super) fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(status))
        .routes(routes!(me))
        .routes(routes!(openapi_json))
}

/// Liveness: `OK` once the server is ready. The only route that needs no token.
#[utoipa::path(get, path = "/status", tag = "status", security(()),
    responses((status = 200, description = "ready", body = String, content_type = "text/plain")))]
async fn status() -> impl IntoResponse {
    ([(header::CONNECTION, "close")], "OK")
}

/// Who the token belongs to.
#[utoipa::path(get, path = "/v2/me", tag = "auth", responses((status = 200, body = Whoami), (status = 401, body = crate::ErrorBody)))]
async fn me(caller: Caller) -> Json<Whoami> {
    Json(Whoami {
        tenant: caller.tenant_name.clone(),
        user: caller.user.clone(),
        role: caller.role,
        superadmin: caller.is_superadmin(),
    })
}

/// This document.
#[utoipa::path(get, path = "/v2/openapi.json", tag = "status", responses((status = 200, body = Object), (status = 401, body = crate::ErrorBody)))]
async fn openapi_json(_caller: Caller) -> Json<&'static utoipa::openapi::OpenApi> {
    Json(crate::openapi())
}
