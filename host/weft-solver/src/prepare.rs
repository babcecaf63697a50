//! Coopr's pre-checks (coopr-notes §3.1): from a resolved template, a request and the catalog to
//! a [`Problem`]. What the request names wrongly is a [`SolveError::Request`] naming its field;
//! what the template cannot provide is [`SolveError::Infeasible`].

use std::collections::BTreeSet;

use weft_catalog::Catalog;
use weft_model::{ClusterTemplate, FieldError};

use crate::{Limits, Problem, ServiceLimits, SolveError};

/// The largest cluster a request may ask for (Coopr's `server.max.cluster.size`).
pub const MAX_CLUSTER_SIZE: u32 = 10_000;

/// What a cluster create (or preview) asks for, beyond the template.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterRequest {
    pub num_machines: u32,
    pub provider: Option<String>,
    pub hardwaretype: Option<String>,
    pub imagetype: Option<String>,
    /// Replaces the template's default services when given.
    pub services: Option<Vec<String>>,
}

/// Checks `request` against the resolved `template` and `catalog` and builds the problem.
pub fn prepare(
    template: &ClusterTemplate,
    request: &ClusterRequest,
    catalog: &Catalog,
) -> Result<Problem, SolveError> {
    let nodes = request.num_machines;
    let size = &template.constraints.size;
    let min = size.min.unwrap_or(1).max(1);
    if nodes == 0 || i64::from(nodes) < min {
        return Err(FieldError::new(
            "numMachines",
            "size",
            format!(
                "template '{}' needs at least {min} nodes, got {nodes}",
                template.name
            ),
        )
        .into());
    }
    if let Some(max) = size.max
        && i64::from(nodes) > max
    {
        return Err(FieldError::new(
            "numMachines",
            "size",
            format!(
                "template '{}' allows at most {max} nodes, got {nodes}",
                template.name
            ),
        )
        .into());
    }
    if nodes > MAX_CLUSTER_SIZE {
        return Err(FieldError::new(
            "numMachines",
            "size",
            format!("at most {MAX_CLUSTER_SIZE} nodes per cluster, got {nodes}"),
        )
        .into());
    }

    let provider = match (&request.provider, &template.defaults.provider) {
        (Some(p), _) => (p.clone(), "provider"),
        (None, Some(p)) if !p.is_empty() => (p.clone(), "clusterTemplate"),
        _ => {
            return Err(FieldError::new(
                "provider",
                "required",
                format!(
                    "template '{}' names no default provider: choose one",
                    template.name
                ),
            )
            .into());
        }
    };
    if !catalog.providers.contains_key(&provider.0) {
        return Err(SolveError::Missing {
            field: provider.1.into(),
            what: format!("provider '{}' does not exist", provider.0),
        });
    }
    let provider = provider.0;

    let compat = &template.compatibility;
    let hardwaretypes = pick_types(
        "hardwaretype",
        request
            .hardwaretype
            .as_ref()
            .or(template.defaults.hardwaretype.as_ref()),
        request.hardwaretype.is_some(),
        catalog.hardwaretypes.iter().map(|(name, h)| {
            (
                name,
                h.providermap
                    .get(&provider)
                    .and_then(|m| m.get("flavor"))
                    .is_some(),
            )
        }),
        &compat.hardwaretypes,
        &provider,
        "hardware type",
        "flavor",
    )?;
    let imagetypes = pick_types(
        "imagetype",
        request
            .imagetype
            .as_ref()
            .or(template.defaults.imagetype.as_ref()),
        request.imagetype.is_some(),
        catalog.imagetypes.iter().map(|(name, i)| {
            (
                name,
                i.providermap
                    .get(&provider)
                    .and_then(|m| m.get("image"))
                    .is_some(),
            )
        }),
        &compat.imagetypes,
        &provider,
        "image type",
        "image",
    )?;

    let (names, from_request): (Vec<String>, bool) = match &request.services {
        Some(services) => (services.clone(), true),
        None => (
            template
                .defaults
                .services
                .iter()
                .map(|s| s.name().to_string())
                .collect(),
            false,
        ),
    };
    let mut seen = BTreeSet::new();
    let mut services = Vec::new();
    for (i, name) in names.iter().enumerate() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let problem = if !catalog.services.contains_key(name) {
            Some(format!("service '{name}' does not exist"))
        } else if !compat.services.is_empty() && !compat.services.contains(name) {
            Some(format!(
                "service '{name}' is not compatible with template '{}'",
                template.name
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(if from_request {
                FieldError::new(format!("services[{i}]"), "reference", problem).into()
            } else {
                SolveError::infeasible(format!(
                    "the template's default services are broken: {problem}"
                ))
            });
        }
        services.push(name.clone());
    }
    if services.is_empty() {
        return Err(FieldError::new(
            "services",
            "required",
            "a cluster needs at least one service",
        )
        .into());
    }
    check_dependencies(&services, catalog)?;

    let constraints = &template.constraints;
    let services = services
        .into_iter()
        .map(|name| {
            let limits = constraints.services.get(&name).map(|c| Limits {
                hardwaretypes: c.hardwaretypes.clone(),
                imagetypes: c.imagetypes.clone(),
                min: u32::try_from(c.quantities.min.unwrap_or(0).max(0)).unwrap_or(u32::MAX),
                max: c
                    .quantities
                    .max
                    .map(|m| u32::try_from(m.max(0)).unwrap_or(u32::MAX)),
            });
            ServiceLimits { name, limits }
        })
        .collect();
    Ok(Problem {
        num_machines: nodes,
        hardwaretypes,
        imagetypes,
        services,
        mustcoexist: constraints.layout.mustcoexist.clone(),
        cantcoexist: constraints.layout.cantcoexist.clone(),
    })
}

/// The usable types: the one named (by the request or the template), or every compatible type
/// the provider has a `key` for.
#[allow(clippy::too_many_arguments)]
fn pick_types<'a>(
    field: &str,
    named: Option<&String>,
    named_by_request: bool,
    available: impl Iterator<Item = (&'a String, bool)>,
    compatible: &[String],
    provider: &str,
    noun: &str,
    key: &str,
) -> Result<Vec<String>, SolveError> {
    let available: Vec<(&String, bool)> = available.collect();
    if let Some(name) = named {
        let fail = |message: String| -> SolveError {
            if named_by_request {
                FieldError::new(field, "reference", message).into()
            } else {
                SolveError::infeasible(format!(
                    "the template's default {noun} is unusable: {message}"
                ))
            }
        };
        return match available.iter().find(|(n, _)| *n == name) {
            None => Err(fail(format!("{noun} '{name}' does not exist"))),
            Some((_, false)) => Err(fail(format!(
                "{noun} '{name}' has no {key} for provider '{provider}'"
            ))),
            // as in Coopr, a template's own default is not held to its compatibility list
            Some(_) if named_by_request && !compatible.is_empty() && !compatible.contains(name) => {
                Err(fail(format!(
                    "{noun} '{name}' is not compatible with the template"
                )))
            }
            Some(_) => Ok(vec![name.clone()]),
        };
    }
    let usable: Vec<String> = available
        .into_iter()
        .filter(|(name, has_key)| *has_key && (compatible.is_empty() || compatible.contains(name)))
        .map(|(name, _)| name.clone())
        .collect();
    if usable.is_empty() {
        return Err(SolveError::infeasible(format!(
            "no {noun} is available: none that the template allows has a {key} for provider '{provider}'"
        )));
    }
    Ok(usable)
}

/// Every `requires` is on the cluster (by name or `provides`); no `conflicts` names a service
/// on it. Lists every violation.
fn check_dependencies(services: &[String], catalog: &Catalog) -> Result<(), SolveError> {
    let on_cluster: Vec<&weft_model::Service> = services
        .iter()
        .filter_map(|s| catalog.services.get(s))
        .collect();
    let satisfied: BTreeSet<&str> = on_cluster
        .iter()
        .flat_map(|s| {
            std::iter::once(s.name.as_str())
                .chain(s.dependencies.provides.iter().map(String::as_str))
        })
        .collect();
    let mut problems = Vec::new();
    for service in &on_cluster {
        let deps = &service.dependencies;
        for required in deps.install.requires.iter().chain(&deps.runtime.requires) {
            if !satisfied.contains(required.as_str()) {
                problems.push(format!(
                    "{} requires {required}, which no service on the cluster is or provides",
                    service.name
                ));
            }
        }
        for conflict in &deps.conflicts {
            if services.contains(conflict) {
                problems.push(format!("{} conflicts with {conflict}", service.name));
            }
        }
    }
    problems.dedup();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(SolveError::infeasible(format!(
            "service dependencies are not met: {}",
            problems.join("; ")
        )))
    }
}
