//! Merging a template's parent (`extends`) and partials (`includes`) into the template clusters
//! are created from (coopr-notes §1.8).
//!
//! Merge order, each later step winning: (recursively) the parent's includes, the parent, the
//! template's own includes, the template's own body. A partial contributes `defaults` and
//! `compatibility`; a cluster template also `constraints` and `administration`. Lists are
//! unioned; provider, hardware type, image type and DNS suffix are taken from the last source
//! that sets them; `defaults.config` is merged by top-level key, except that a key set by an
//! `immutable` partial may not be changed by any later source.

use std::collections::BTreeMap;

use weft_model::{
    Administration, ClusterTemplate, Compatibility, Constraints, EntityKind, FieldError, Link,
    PartialTemplate, TemplateDefaults,
};

use crate::Catalog;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ResolveError {
    /// A parent template or partial named by `field` does not exist.
    #[error("{field}: {} '{name}' does not exist", kind.noun())]
    Missing {
        kind: EntityKind,
        name: String,
        field: String,
    },
    #[error(transparent)]
    Invalid(#[from] FieldError),
}

/// Merges `template`'s parents and partials into one template without `extends`/`includes`.
pub fn resolve(
    template: &ClusterTemplate,
    catalog: &Catalog,
) -> Result<ClusterTemplate, ResolveError> {
    let mut merged = Merged::default();
    let mut chain = Vec::new();
    merged.apply_template(template, catalog, &mut chain, "")?;
    Ok(ClusterTemplate {
        name: template.name.clone(),
        label: template.label.clone(),
        description: template.description.clone(),
        icon: template.icon.clone(),
        version: template.version,
        compatibility: merged.compatibility,
        defaults: merged.defaults,
        constraints: merged.constraints,
        administration: merged.administration,
        links: merged.links,
        extends: None,
        includes: Vec::new(),
    })
}

/// [`resolve`], then the rules a template that clusters are created from must meet: it names
/// default services and a default provider.
pub fn resolve_checked(
    template: &ClusterTemplate,
    catalog: &Catalog,
) -> Result<ClusterTemplate, ResolveError> {
    let resolved = resolve(template, catalog)?;
    if resolved.defaults.services.is_empty() {
        return Err(FieldError::new(
            "defaults.services",
            "required",
            "the resolved template names no default services",
        )
        .into());
    }
    if resolved
        .defaults
        .provider
        .as_deref()
        .is_none_or(str::is_empty)
    {
        return Err(FieldError::new(
            "defaults.provider",
            "required",
            "the resolved template names no default provider",
        )
        .into());
    }
    Ok(resolved)
}

#[derive(Default)]
struct Merged {
    compatibility: Compatibility,
    defaults: TemplateDefaults,
    constraints: Constraints,
    administration: Administration,
    links: Vec<Link>,
    /// Top-level config keys set by an immutable partial → that partial's name.
    frozen_config: BTreeMap<String, String>,
}

impl Merged {
    fn apply_template(
        &mut self,
        template: &ClusterTemplate,
        catalog: &Catalog,
        chain: &mut Vec<String>,
        via: &str,
    ) -> Result<(), ResolveError> {
        if chain.contains(&template.name) {
            chain.push(template.name.clone());
            return Err(FieldError::new(
                format!("{via}extends.name"),
                "no cycle",
                format!(
                    "templates extend each other in a cycle: {}",
                    chain.join(" -> ")
                ),
            )
            .into());
        }
        chain.push(template.name.clone());
        if let Some(parent_ref) = &template.extends {
            let field = format!("{via}extends.name");
            let parent = catalog
                .clustertemplates
                .get(&parent_ref.name)
                .ok_or_else(|| ResolveError::Missing {
                    kind: EntityKind::Clustertemplates,
                    name: parent_ref.name.clone(),
                    field: field.clone(),
                })?;
            self.apply_template(parent, catalog, chain, &format!("{field}:{}.", parent.name))?;
        }
        for (i, include) in template.includes.iter().enumerate() {
            let field = format!("{via}includes[{i}].name");
            let partial = catalog.partialtemplates.get(&include.name).ok_or_else(|| {
                ResolveError::Missing {
                    kind: EntityKind::Partialtemplates,
                    name: include.name.clone(),
                    field: field.clone(),
                }
            })?;
            self.apply_partial(partial)?;
        }
        let source = format!("template '{}'", template.name);
        self.merge_defaults(&template.defaults, &source, None)?;
        self.merge_compatibility(&template.compatibility);
        self.merge_constraints(&template.constraints);
        if template.administration != Administration::default() {
            self.administration = template.administration.clone();
        }
        for link in &template.links {
            if !self.links.contains(link) {
                self.links.push(link.clone());
            }
        }
        chain.pop();
        Ok(())
    }

    fn apply_partial(&mut self, partial: &PartialTemplate) -> Result<(), ResolveError> {
        let source = format!("partial template '{}'", partial.name);
        let freezes = partial.immutable.then_some(partial.name.as_str());
        self.merge_defaults(&partial.defaults, &source, freezes)?;
        self.merge_compatibility(&partial.compatibility);
        Ok(())
    }

    fn merge_defaults(
        &mut self,
        from: &TemplateDefaults,
        source: &str,
        freezes: Option<&str>,
    ) -> Result<(), ResolveError> {
        for service in &from.services {
            if !self
                .defaults
                .services
                .iter()
                .any(|s| s.name() == service.name())
            {
                self.defaults.services.push(service.clone());
            }
        }
        for (target, value) in [
            (&mut self.defaults.provider, &from.provider),
            (&mut self.defaults.hardwaretype, &from.hardwaretype),
            (&mut self.defaults.imagetype, &from.imagetype),
            (&mut self.defaults.dns_suffix, &from.dns_suffix),
        ] {
            if let Some(v) = value.as_ref().filter(|v| !v.trim().is_empty()) {
                *target = Some(v.clone());
            }
        }
        for (key, value) in &from.config {
            if let Some(owner) = self.frozen_config.get(key)
                && Some(owner.as_str()) != freezes
                && self.defaults.config.get(key) != Some(value)
            {
                return Err(FieldError::new(
                    format!("defaults.config.{key}"),
                    "immutable",
                    format!("config key '{key}' is set by immutable partial template '{owner}' and can't be overridden by {source}"),
                )
                .into());
            }
            self.defaults.config.insert(key.clone(), value.clone());
            if let Some(partial) = freezes {
                self.frozen_config.insert(key.clone(), partial.to_string());
            }
        }
        Ok(())
    }

    fn merge_compatibility(&mut self, from: &Compatibility) {
        union(&mut self.compatibility.hardwaretypes, &from.hardwaretypes);
        union(&mut self.compatibility.imagetypes, &from.imagetypes);
        union(&mut self.compatibility.services, &from.services);
    }

    fn merge_constraints(&mut self, from: &Constraints) {
        if from.size.min.is_some() || from.size.max.is_some() {
            self.constraints.size = from.size.clone();
        }
        union(
            &mut self.constraints.layout.mustcoexist,
            &from.layout.mustcoexist,
        );
        union(
            &mut self.constraints.layout.cantcoexist,
            &from.layout.cantcoexist,
        );
        for (service, constraint) in &from.services {
            self.constraints
                .services
                .insert(service.clone(), constraint.clone());
        }
    }
}

fn union<T: PartialEq + Clone>(into: &mut Vec<T>, from: &[T]) {
    for item in from {
        if !into.contains(item) {
            into.push(item.clone());
        }
    }
}
