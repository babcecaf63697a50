//! Global provider and automator type specs: readable by every tenant, written by superadmins.
//! The same versioned CRUD as catalog entities, stored in the superadmin tenant.

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;
use crate::routes::catalog::entity_routes;

entity_routes!(
    providertypes,
    weft_model::EntityKind::Providertypes,
    weft_model::PluginTypeSpec,
    "plugins",
    "/v2/plugins/providertypes",
    "/v2/plugins/providertypes/{name}",
    "/v2/plugins/providertypes/{name}/{version}"
);
entity_routes!(
    automatortypes,
    weft_model::EntityKind::Automatortypes,
    weft_model::PluginTypeSpec,
    "plugins",
    "/v2/plugins/automatortypes",
    "/v2/plugins/automatortypes/{name}",
    "/v2/plugins/automatortypes/{name}/{version}"
);

pub(super) fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    automatortypes::routes(providertypes::routes(router))
}
