//! JSON → typed entity, with the rules that one entity can check on its own.

use std::collections::BTreeSet;

use serde::de::DeserializeOwned;
use serde_json::Value;
use weft_model::{
    ClusterTemplate, Constraints, EntityKind, FieldError, HardwareType, ImageType, LeaseDuration,
    Link, ParameterRole, PartialTemplate, PluginTypeSpec, Provider, ResourceFormat, Service,
    ServiceAction, TemplateDefaults,
};

/// A validated catalog entity.
#[derive(Debug, Clone, PartialEq)]
pub enum Entity {
    Provider(Provider),
    HardwareType(HardwareType),
    ImageType(ImageType),
    Service(Service),
    ClusterTemplate(ClusterTemplate),
    PartialTemplate(PartialTemplate),
    PluginType(EntityKind, PluginTypeSpec),
}

impl Entity {
    pub fn name(&self) -> &str {
        match self {
            Entity::Provider(e) => &e.name,
            Entity::HardwareType(e) => &e.name,
            Entity::ImageType(e) => &e.name,
            Entity::Service(e) => &e.name,
            Entity::ClusterTemplate(e) => &e.name,
            Entity::PartialTemplate(e) => &e.name,
            Entity::PluginType(_, e) => &e.name,
        }
    }

    pub fn kind(&self) -> EntityKind {
        match self {
            Entity::Provider(_) => EntityKind::Providers,
            Entity::HardwareType(_) => EntityKind::Hardwaretypes,
            Entity::ImageType(_) => EntityKind::Imagetypes,
            Entity::Service(_) => EntityKind::Services,
            Entity::ClusterTemplate(_) => EntityKind::Clustertemplates,
            Entity::PartialTemplate(_) => EntityKind::Partialtemplates,
            Entity::PluginType(kind, _) => *kind,
        }
    }
}

/// Parses `body` as an entity of `kind` and checks every rule that needs no other entity.
pub fn validate(kind: EntityKind, body: &Value) -> Result<Entity, FieldError> {
    if !body.is_object() {
        return Err(FieldError::new(
            "",
            "object",
            format!("a {} must be a JSON object", kind.noun()),
        ));
    }
    let entity = match kind {
        EntityKind::Providers => Entity::Provider(parse(body)?),
        EntityKind::Hardwaretypes => Entity::HardwareType(parse(body)?),
        EntityKind::Imagetypes => Entity::ImageType(parse(body)?),
        EntityKind::Services => Entity::Service(parse(body)?),
        EntityKind::Clustertemplates => Entity::ClusterTemplate(parse(body)?),
        EntityKind::Partialtemplates => Entity::PartialTemplate(parse(body)?),
        EntityKind::Providertypes | EntityKind::Automatortypes => {
            Entity::PluginType(kind, parse(body)?)
        }
    };
    check_name("name", entity.name())?;
    match &entity {
        Entity::Provider(p) => check_name("providertype", &p.providertype)?,
        Entity::HardwareType(h) => check_providermap(&h.providermap, "flavor")?,
        Entity::ImageType(i) => check_providermap(&i.providermap, "image")?,
        Entity::Service(s) => check_service(s)?,
        Entity::ClusterTemplate(t) => {
            check_template_body(
                &t.defaults,
                &t.constraints,
                &t.administration.leaseduration,
                &t.links,
            )?;
            if let Some(parent) = &t.extends {
                check_name("extends.name", &parent.name)?;
                if parent.name == t.name {
                    return Err(FieldError::new(
                        "extends.name",
                        "no self-reference",
                        "a template cannot extend itself",
                    ));
                }
            }
            for (i, include) in t.includes.iter().enumerate() {
                check_name(&format!("includes[{i}].name"), &include.name)?;
            }
        }
        Entity::PartialTemplate(t) => check_template_body(
            &t.defaults,
            &t.constraints,
            &t.administration.leaseduration,
            &t.links,
        )?,
        Entity::PluginType(_, spec) => check_plugin_type(spec)?,
    }
    Ok(entity)
}

fn parse<T: DeserializeOwned>(body: &Value) -> Result<T, FieldError> {
    serde_path_to_error::deserialize(body).map_err(|error| {
        let path = error.path().to_string();
        serde_field_error(&path, &error.into_inner().to_string())
    })
}

/// Turns a serde error at a `serde_path_to_error` path into a [`FieldError`]: the rule says
/// what kind of mistake it is, and a missing field's name is put into the path.
pub fn serde_field_error(path: &str, message: &str) -> FieldError {
    // An unnamed map key shows as `?`: the message names it, so drop it from the path.
    let path = path.replace(".?", "");
    let field = if path == "." || path == "?" {
        String::new()
    } else {
        path
    };
    let rule = if message.starts_with("unknown field") {
        "known field"
    } else if message.starts_with("unknown variant") {
        "allowed value"
    } else if message.starts_with("missing field") {
        "required"
    } else {
        "type"
    };
    let field = match message
        .strip_prefix("missing field `")
        .and_then(|m| m.split('`').next())
    {
        Some(missing) if field.is_empty() => missing.to_string(),
        Some(missing) => format!("{field}.{missing}"),
        None => field,
    };
    FieldError::new(field, rule, message)
}

/// Coopr's name rule: `[\w.-]+` (ASCII word characters, dot, dash), fewer than 256 characters.
pub fn check_name(field: &str, name: &str) -> Result<(), FieldError> {
    if name.is_empty() {
        return Err(FieldError::new(field, "name", "must not be empty"));
    }
    if name.len() >= 256 {
        return Err(FieldError::new(
            field,
            "name",
            "must be shorter than 256 characters",
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Err(FieldError::new(
            field,
            "name",
            format!("'{name}' contains '{bad}': use only letters, digits, '_', '.' and '-'"),
        ));
    }
    Ok(())
}

fn check_providermap(
    map: &std::collections::BTreeMap<String, serde_json::Map<String, Value>>,
    key: &str,
) -> Result<(), FieldError> {
    for (provider, entry) in map {
        check_name(&format!("providermap.{provider}"), provider)?;
        for (field, value) in entry {
            let must_be_text = field == key || field == "sshuser";
            if must_be_text && !value.is_string() {
                return Err(FieldError::new(
                    format!("providermap.{provider}.{field}"),
                    "type",
                    "must be a string",
                ));
            }
        }
        if let Some(Value::String(s)) = entry.get(key)
            && s.trim().is_empty()
        {
            return Err(FieldError::new(
                format!("providermap.{provider}.{key}"),
                "required",
                "must not be empty",
            ));
        }
    }
    Ok(())
}

fn check_service(service: &Service) -> Result<(), FieldError> {
    let deps = &service.dependencies;
    let lists = [
        ("dependencies.provides", &deps.provides),
        ("dependencies.conflicts", &deps.conflicts),
        ("dependencies.install.requires", &deps.install.requires),
        ("dependencies.install.uses", &deps.install.uses),
        ("dependencies.runtime.requires", &deps.runtime.requires),
        ("dependencies.runtime.uses", &deps.runtime.uses),
    ];
    for (field, names) in lists {
        for (i, name) in names.iter().enumerate() {
            check_name(&format!("{field}[{i}]"), name)?;
        }
    }
    for (field, names) in [
        ("dependencies.install.requires", &deps.install.requires),
        ("dependencies.runtime.requires", &deps.runtime.requires),
        ("dependencies.conflicts", &deps.conflicts),
    ] {
        if let Some(i) = names.iter().position(|n| *n == service.name) {
            return Err(FieldError::new(
                format!("{field}[{i}]"),
                "no self-reference",
                format!("service '{}' cannot name itself here", service.name),
            ));
        }
    }
    for (action, spec) in &service.provisioner.actions {
        let at = format!("provisioner.actions.{action}");
        if ServiceAction::parse(action).is_none() {
            let allowed: Vec<&str> = ServiceAction::ALL.iter().map(|a| a.as_str()).collect();
            return Err(FieldError::new(
                at,
                "allowed value",
                format!(
                    "'{action}' is not an action: use one of {}",
                    allowed.join(", ")
                ),
            ));
        }
        check_name(&format!("{at}.type"), &spec.automator_type)?;
        if spec.fields.keys().any(|k| k.is_empty()) {
            return Err(FieldError::new(
                format!("{at}.fields"),
                "name",
                "field names must not be empty",
            ));
        }
    }
    check_links(&service.links)
}

fn check_links(links: &[Link]) -> Result<(), FieldError> {
    for (i, link) in links.iter().enumerate() {
        if link.label.trim().is_empty() {
            return Err(FieldError::new(
                format!("links[{i}].label"),
                "required",
                "must not be empty",
            ));
        }
        if link.url.trim().is_empty() {
            return Err(FieldError::new(
                format!("links[{i}].url"),
                "required",
                "must not be empty",
            ));
        }
    }
    Ok(())
}

fn check_template_body(
    defaults: &TemplateDefaults,
    constraints: &Constraints,
    lease: &LeaseDuration,
    links: &[Link],
) -> Result<(), FieldError> {
    let size = &constraints.size;
    if let Some(min) = size.min
        && min < 1
    {
        return Err(FieldError::new(
            "constraints.size.min",
            "min >= 1",
            format!("must be at least 1, got {min}"),
        ));
    }
    if let Some(max) = size.max {
        let min = size.min.unwrap_or(1);
        if max < min {
            return Err(FieldError::new(
                "constraints.size.max",
                "max >= min",
                format!("must be at least constraints.size.min ({min}), got {max}"),
            ));
        }
    }
    for (kind, sets) in [
        ("mustcoexist", &constraints.layout.mustcoexist),
        ("cantcoexist", &constraints.layout.cantcoexist),
    ] {
        for (i, set) in sets.iter().enumerate() {
            let field = format!("constraints.layout.{kind}[{i}]");
            for (j, name) in set.iter().enumerate() {
                check_name(&format!("{field}[{j}]"), name)?;
            }
            if set.iter().collect::<BTreeSet<_>>().len() < 2 {
                return Err(FieldError::new(
                    field,
                    "at least two services",
                    "a layout set must name at least two different services",
                ));
            }
        }
    }
    for (service, constraint) in &constraints.services {
        let field = format!("constraints.services.{service}");
        check_name(&field, service)?;
        let quantities = &constraint.quantities;
        if let Some(min) = quantities.min
            && min < 0
        {
            return Err(FieldError::new(
                format!("{field}.quantities.min"),
                "min >= 0",
                format!("must not be negative, got {min}"),
            ));
        }
        if let Some(max) = quantities.max {
            let min = quantities.min.unwrap_or(0);
            if max < min.max(0) {
                return Err(FieldError::new(
                    format!("{field}.quantities.max"),
                    "max >= min",
                    format!("must be at least quantities.min ({min}), got {max}"),
                ));
            }
        }
    }
    if lease.initial.0 != 0 && lease.max.0 != 0 && lease.initial > lease.max {
        return Err(FieldError::new(
            "administration.leaseduration.initial",
            "initial <= max",
            format!(
                "initial lease {} ms exceeds the maximum {} ms",
                lease.initial.0, lease.max.0
            ),
        ));
    }
    for (i, service) in defaults.services.iter().enumerate() {
        check_name(&format!("defaults.services[{i}]"), service.name())?;
    }
    for (field, value) in [
        ("defaults.provider", &defaults.provider),
        ("defaults.hardwaretype", &defaults.hardwaretype),
        ("defaults.imagetype", &defaults.imagetype),
    ] {
        if let Some(name) = value.as_deref().filter(|n| !n.is_empty()) {
            check_name(field, name)?;
        }
    }
    if let Some(suffix) = defaults.dns_suffix.as_deref() {
        check_dns_suffix(suffix)?;
    }
    check_macros(&Value::Object(defaults.config.clone()), "defaults.config")?;
    check_links(links)
}

/// Macro syntax in every string of a config, so a typo fails the write, not a task later.
fn check_macros(value: &Value, path: &str) -> Result<(), FieldError> {
    match value {
        Value::String(text) => weft_expand::check(text).map_err(|e| {
            FieldError::new(
                path,
                "macro syntax",
                format!("{} (at position {})", e.message, e.position),
            )
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, item)| check_macros(item, &format!("{path}[{i}]"))),
        Value::Object(map) => map
            .iter()
            .try_for_each(|(key, item)| check_macros(item, &format!("{path}.{key}"))),
        _ => Ok(()),
    }
}

fn check_dns_suffix(suffix: &str) -> Result<(), FieldError> {
    let field = "defaults.dnsSuffix";
    if suffix.len() > 253 {
        return Err(FieldError::new(
            field,
            "dns suffix",
            "must be at most 253 characters",
        ));
    }
    for label in suffix.split('.') {
        let valid = !label.is_empty()
            && label.len() <= 63
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !valid {
            return Err(FieldError::new(
                field,
                "dns suffix",
                format!(
                    "'{suffix}' is not a DNS suffix: labels of 1-63 letters, digits or inner '-', joined by '.'"
                ),
            ));
        }
    }
    Ok(())
}

fn check_plugin_type(spec: &PluginTypeSpec) -> Result<(), FieldError> {
    for (role, parameters) in &spec.parameters {
        if role != ParameterRole::Admin.as_str() && role != ParameterRole::User.as_str() {
            return Err(FieldError::new(
                format!("parameters.{role}"),
                "allowed value",
                format!("'{role}' is not a parameter role: use admin or user"),
            ));
        }
        for (i, set) in parameters.required.iter().enumerate() {
            for (j, name) in set.iter().enumerate() {
                if !parameters.fields.contains_key(name) {
                    return Err(FieldError::new(
                        format!("parameters.{role}.required[{i}][{j}]"),
                        "declared field",
                        format!("'{name}' is not one of the declared {role} fields"),
                    ));
                }
            }
        }
        for (name, field) in &parameters.fields {
            if field.input_type == "select" && field.options.as_ref().is_none_or(|o| o.is_empty()) {
                return Err(FieldError::new(
                    format!("parameters.{role}.fields.{name}.options"),
                    "required",
                    "a select field needs options",
                ));
            }
        }
    }
    for (name, resource) in &spec.resource_types {
        let field = format!("resourceTypes.{name}");
        check_name(&field, name)?;
        if let Some(permissions) = &resource.permissions {
            if resource.format != ResourceFormat::File {
                return Err(FieldError::new(
                    format!("{field}.permissions"),
                    "file only",
                    "permissions apply only to file resources",
                ));
            }
            let octal = (3..=4).contains(&permissions.len())
                && permissions.chars().all(|c| ('0'..='7').contains(&c));
            if !octal {
                return Err(FieldError::new(
                    format!("{field}.permissions"),
                    "octal mode",
                    format!("'{permissions}' is not an octal file mode of 3 or 4 digits"),
                ));
            }
        }
    }
    Ok(())
}
