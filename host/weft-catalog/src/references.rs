//! The rules that need the rest of the catalog: does a referenced entity exist?
//!
//! Hard references fail the write: a template's default provider, hardware type and image type,
//! its layout sets, service constraints and per-service types, its parent and partials; a hardware
//! or image type's providers; a service's `requires` (by name or `provides`) and, when its
//! automator type is registered, that type's required fields. Soft references only warn:
//! compatibility lists, default services, `conflicts` and `uses`, unregistered plugin types and
//! fields a plugin type does not declare. Coopr's own catalog dangles in exactly those soft places
//! and still works (an allowed-but-absent image type allows nothing), so it imports unchanged.

use std::collections::{BTreeMap, BTreeSet};

use weft_model::{
    ClusterTemplate, Compatibility, Constraints, EntityKind, FieldError, HardwareType, ImageType,
    ParameterRole, PartialTemplate, PluginTypeSpec, Provider, Service, TemplateDefaults,
};

use crate::Entity;

/// A snapshot of one tenant's latest catalog plus the global plugin types.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub providers: BTreeMap<String, Provider>,
    pub hardwaretypes: BTreeMap<String, HardwareType>,
    pub imagetypes: BTreeMap<String, ImageType>,
    pub services: BTreeMap<String, Service>,
    pub clustertemplates: BTreeMap<String, ClusterTemplate>,
    pub partialtemplates: BTreeMap<String, PartialTemplate>,
    pub providertypes: BTreeMap<String, PluginTypeSpec>,
    pub automatortypes: BTreeMap<String, PluginTypeSpec>,
}

impl Catalog {
    /// Adds or replaces an entity in the snapshot.
    pub fn insert(&mut self, entity: Entity) {
        match entity {
            Entity::Provider(e) => _ = self.providers.insert(e.name.clone(), e),
            Entity::HardwareType(e) => _ = self.hardwaretypes.insert(e.name.clone(), e),
            Entity::ImageType(e) => _ = self.imagetypes.insert(e.name.clone(), e),
            Entity::Service(e) => _ = self.services.insert(e.name.clone(), e),
            Entity::ClusterTemplate(e) => _ = self.clustertemplates.insert(e.name.clone(), e),
            Entity::PartialTemplate(e) => _ = self.partialtemplates.insert(e.name.clone(), e),
            Entity::PluginType(EntityKind::Automatortypes, e) => {
                _ = self.automatortypes.insert(e.name.clone(), e)
            }
            Entity::PluginType(_, e) => _ = self.providertypes.insert(e.name.clone(), e),
        }
    }

    /// Removes every entity of one catalog kind (an import that replaces it).
    pub fn clear(&mut self, kind: EntityKind) {
        match kind {
            EntityKind::Providers => self.providers.clear(),
            EntityKind::Hardwaretypes => self.hardwaretypes.clear(),
            EntityKind::Imagetypes => self.imagetypes.clear(),
            EntityKind::Services => self.services.clear(),
            EntityKind::Clustertemplates => self.clustertemplates.clear(),
            EntityKind::Partialtemplates => self.partialtemplates.clear(),
            EntityKind::Providertypes => self.providertypes.clear(),
            EntityKind::Automatortypes => self.automatortypes.clear(),
        }
    }

    /// Whether an entity of `kind` named `name` is in the snapshot.
    pub fn contains(&self, kind: EntityKind, name: &str) -> bool {
        match kind {
            EntityKind::Providers => self.providers.contains_key(name),
            EntityKind::Hardwaretypes => self.hardwaretypes.contains_key(name),
            EntityKind::Imagetypes => self.imagetypes.contains_key(name),
            EntityKind::Services => self.services.contains_key(name),
            EntityKind::Clustertemplates => self.clustertemplates.contains_key(name),
            EntityKind::Partialtemplates => self.partialtemplates.contains_key(name),
            EntityKind::Providertypes => self.providertypes.contains_key(name),
            EntityKind::Automatortypes => self.automatortypes.contains_key(name),
        }
    }

    /// Every name a service in this catalog satisfies: its own name and what it `provides`.
    fn satisfiable_names(&self) -> BTreeSet<&str> {
        self.services
            .values()
            .flat_map(|s| {
                std::iter::once(s.name.as_str())
                    .chain(s.dependencies.provides.iter().map(String::as_str))
            })
            .collect()
    }

    /// Checks `entity`'s references against this snapshot: `Err` for a dangling hard reference,
    /// otherwise the warnings for dangling soft ones.
    pub fn check_references(&self, entity: &Entity) -> Result<Vec<FieldError>, FieldError> {
        let mut warnings = Vec::new();
        match entity {
            Entity::Provider(provider) => self.check_provider(provider, &mut warnings),
            Entity::HardwareType(h) => self.require_providers(&h.providermap)?,
            Entity::ImageType(i) => self.require_providers(&i.providermap)?,
            Entity::Service(service) => self.check_service(service, &mut warnings)?,
            Entity::ClusterTemplate(t) => {
                self.check_template_body(
                    &t.defaults,
                    &t.constraints,
                    &t.compatibility,
                    &mut warnings,
                )?;
                if let Some(parent) = &t.extends {
                    self.require(EntityKind::Clustertemplates, &parent.name, "extends.name")?;
                }
                for (i, include) in t.includes.iter().enumerate() {
                    self.require(
                        EntityKind::Partialtemplates,
                        &include.name,
                        &format!("includes[{i}].name"),
                    )?;
                }
            }
            Entity::PartialTemplate(t) => self.check_template_body(
                &t.defaults,
                &t.constraints,
                &t.compatibility,
                &mut warnings,
            )?,
            Entity::PluginType(..) => {}
        }
        Ok(warnings)
    }

    fn require(&self, kind: EntityKind, name: &str, field: &str) -> Result<(), FieldError> {
        if self.contains(kind, name) {
            Ok(())
        } else {
            Err(FieldError::new(
                field,
                "reference",
                format!("{} '{name}' does not exist", kind.noun()),
            ))
        }
    }

    fn warn_unless(
        &self,
        kind: EntityKind,
        name: &str,
        field: String,
        warnings: &mut Vec<FieldError>,
    ) {
        if !self.contains(kind, name) {
            warnings.push(FieldError::new(
                field,
                "reference",
                format!("{} '{name}' does not exist", kind.noun()),
            ));
        }
    }

    fn require_providers<V>(&self, map: &BTreeMap<String, V>) -> Result<(), FieldError> {
        map.keys()
            .try_for_each(|p| self.require(EntityKind::Providers, p, &format!("providermap.{p}")))
    }

    fn check_provider(&self, provider: &Provider, warnings: &mut Vec<FieldError>) {
        let Some(spec) = self.providertypes.get(&provider.providertype) else {
            warnings.push(FieldError::new(
                "providertype",
                "reference",
                format!(
                    "provider type '{}' is not registered yet; its fields are not checked",
                    provider.providertype
                ),
            ));
            return;
        };
        let declared: BTreeSet<&String> = spec
            .parameters
            .values()
            .flat_map(|p| p.fields.keys())
            .collect();
        for field in provider
            .provisioner
            .keys()
            .filter(|f| !declared.contains(f))
        {
            warnings.push(FieldError::new(
                format!("provisioner.{field}"),
                "declared field",
                format!(
                    "'{field}' is not a field of provider type '{}'",
                    provider.providertype
                ),
            ));
        }
    }

    fn check_service(
        &self,
        service: &Service,
        warnings: &mut Vec<FieldError>,
    ) -> Result<(), FieldError> {
        let deps = &service.dependencies;
        let satisfiable = self.satisfiable_names();
        for (field, names) in [
            ("dependencies.install.requires", &deps.install.requires),
            ("dependencies.runtime.requires", &deps.runtime.requires),
        ] {
            for (i, name) in names.iter().enumerate() {
                // A service may satisfy another's requirement only through the catalog, or through itself.
                if !satisfiable.contains(name.as_str()) && !deps.provides.contains(name) {
                    return Err(FieldError::new(
                        format!("{field}[{i}]"),
                        "reference",
                        format!("no service is named or provides '{name}'"),
                    ));
                }
            }
        }
        for (field, names) in [
            ("dependencies.install.uses", &deps.install.uses),
            ("dependencies.runtime.uses", &deps.runtime.uses),
        ] {
            for (i, name) in names.iter().enumerate() {
                if !satisfiable.contains(name.as_str()) {
                    warnings.push(FieldError::new(
                        format!("{field}[{i}]"),
                        "reference",
                        format!("no service is named or provides '{name}'"),
                    ));
                }
            }
        }
        for (i, name) in deps.conflicts.iter().enumerate() {
            self.warn_unless(
                EntityKind::Services,
                name,
                format!("dependencies.conflicts[{i}]"),
                warnings,
            );
        }
        for (action, spec) in &service.provisioner.actions {
            let at = format!("provisioner.actions.{action}");
            let Some(automator) = self.automatortypes.get(&spec.automator_type) else {
                warnings.push(FieldError::new(
                    format!("{at}.type"),
                    "reference",
                    format!(
                        "automator type '{}' is not registered yet; its fields are not checked",
                        spec.automator_type
                    ),
                ));
                continue;
            };
            let admin = automator.parameters_for(ParameterRole::Admin);
            for field in spec
                .fields
                .keys()
                .filter(|f| !admin.fields.contains_key(*f))
            {
                warnings.push(FieldError::new(
                    format!("{at}.fields.{field}"),
                    "declared field",
                    format!(
                        "'{field}' is not a field of automator type '{}'",
                        spec.automator_type
                    ),
                ));
            }
            let satisfied = admin.required.is_empty()
                || admin
                    .required
                    .iter()
                    .any(|set| set.iter().all(|f| spec.fields.contains_key(f)));
            if !satisfied {
                let sets: Vec<String> = admin.required.iter().map(|set| set.join(", ")).collect();
                return Err(FieldError::new(
                    format!("{at}.fields"),
                    "required",
                    format!(
                        "automator type '{}' requires one of these field sets: [{}]",
                        spec.automator_type,
                        sets.join("] or [")
                    ),
                ));
            }
        }
        Ok(())
    }

    fn check_template_body(
        &self,
        defaults: &TemplateDefaults,
        constraints: &Constraints,
        compatibility: &Compatibility,
        warnings: &mut Vec<FieldError>,
    ) -> Result<(), FieldError> {
        for (field, kind, value) in [
            (
                "defaults.provider",
                EntityKind::Providers,
                &defaults.provider,
            ),
            (
                "defaults.hardwaretype",
                EntityKind::Hardwaretypes,
                &defaults.hardwaretype,
            ),
            (
                "defaults.imagetype",
                EntityKind::Imagetypes,
                &defaults.imagetype,
            ),
        ] {
            if let Some(name) = value.as_deref().filter(|n| !n.is_empty()) {
                self.require(kind, name, field)?;
            }
        }
        for (kind, sets) in [
            ("mustcoexist", &constraints.layout.mustcoexist),
            ("cantcoexist", &constraints.layout.cantcoexist),
        ] {
            for (i, set) in sets.iter().enumerate() {
                for (j, name) in set.iter().enumerate() {
                    let field = format!("constraints.layout.{kind}[{i}][{j}]");
                    self.require(EntityKind::Services, name, &field)?;
                    if set[..j].contains(name) {
                        warnings.push(FieldError::new(
                            field,
                            "distinct",
                            format!("'{name}' appears twice in this set"),
                        ));
                    }
                }
            }
        }
        for (service, constraint) in &constraints.services {
            let field = format!("constraints.services.{service}");
            self.require(EntityKind::Services, service, &field)?;
            for (i, name) in constraint.hardwaretypes.iter().enumerate() {
                self.require(
                    EntityKind::Hardwaretypes,
                    name,
                    &format!("{field}.hardwaretypes[{i}]"),
                )?;
            }
            for (i, name) in constraint.imagetypes.iter().enumerate() {
                self.require(
                    EntityKind::Imagetypes,
                    name,
                    &format!("{field}.imagetypes[{i}]"),
                )?;
            }
        }
        for (i, name) in compatibility.hardwaretypes.iter().enumerate() {
            self.warn_unless(
                EntityKind::Hardwaretypes,
                name,
                format!("compatibility.hardwaretypes[{i}]"),
                warnings,
            );
        }
        for (i, name) in compatibility.imagetypes.iter().enumerate() {
            self.warn_unless(
                EntityKind::Imagetypes,
                name,
                format!("compatibility.imagetypes[{i}]"),
                warnings,
            );
        }
        for (i, name) in compatibility.services.iter().enumerate() {
            self.warn_unless(
                EntityKind::Services,
                name,
                format!("compatibility.services[{i}]"),
                warnings,
            );
        }
        for (i, service) in defaults.services.iter().enumerate() {
            self.warn_unless(
                EntityKind::Services,
                service.name(),
                format!("defaults.services[{i}]"),
                warnings,
            );
        }
        Ok(())
    }
}
