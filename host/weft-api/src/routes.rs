//! One module per resource; [`all`] registers every route with its OpenAPI description.

mod audit;
mod catalog;
mod cluster_ops;
mod clusters;
mod meta;
mod plugin_types;
pub(crate) mod plugins;
mod pools;
mod resources;
mod tenants;
pub(crate) mod transfer;
mod users;
mod workers;

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

pub(crate) fn all(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    let router = meta::routes(router);
    let router = catalog::routes(router);
    let router = clusters::routes(router);
    let router = cluster_ops::routes(router);
    let router = workers::routes(router);
    let router = audit::routes(router);
    let router = plugin_types::routes(router);
    let router = plugins::routes(router);
    let router = resources::routes(router);
    let router = pools::routes(router);
    let router = tenants::routes(router);
    let router = users::routes(router);
    transfer::routes(router)
}

/// Parses a `{version}` path segment: a positive integer.
pub(crate) fn parse_version(text: &str) -> Result<i64, crate::ApiError> {
    match text.parse::<i64>() {
        Ok(v) if v > 0 => Ok(v),
        _ => Err(crate::ApiError::invalid(
            "version",
            "positive integer",
            format!("'{text}' is not a positive integer"),
        )),
    }
}
