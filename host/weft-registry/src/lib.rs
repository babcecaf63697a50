//! Registering plugins: an uploaded component is loaded by the real runtime (size, imports,
//! world and WIT version checked, compiled once into the cache), asked to `describe` itself,
//! and its answer becomes a provider or automator type spec in Coopr's shape plus the grants it
//! requests. The API stores both; an admin approves the grants.
//!

use std::sync::Arc;

use serde_json::{Map, Value, json};
use weft_model::{
    EntityKind, InspectError, InspectedPlugin, PluginGrants, PluginKind, PluginTypeSpec,
};
use weft_runtime::{LoadError, ParameterSet, PluginSpec, Runtime};

/// Inspects components with one runtime (the server's).
#[derive(Clone)]
pub struct Inspector {
    runtime: Arc<Runtime>,
}

impl Inspector {
    pub fn new(runtime: Arc<Runtime>) -> Inspector {
        Inspector { runtime }
    }

    /// Loads `wasm` and reads its self-description.
    pub async fn inspect(&self, wasm: Vec<u8>) -> Result<InspectedPlugin, InspectError> {
        let runtime = self.runtime.clone();
        // compiling is CPU work: off the async threads
        let loaded = tokio::task::spawn_blocking(move || runtime.load(&wasm))
            .await
            .map_err(|e| InspectError::Internal(format!("the compile task failed: {e}")))?;
        let plugin = loaded.map_err(|error| match error {
            LoadError::Cache(_) | LoadError::Engine(_) => InspectError::Internal(error.to_string()),
            refused => InspectError::Refused(refused.to_string()),
        })?;
        let spec = self
            .runtime
            .describe(&plugin)
            .await
            .map_err(|failure| InspectError::Refused(format!("describe failed: {failure}")))?;
        let kind = match plugin.kind() {
            weft_runtime::PluginKind::Provider => PluginKind::Provider,
            weft_runtime::PluginKind::Automator => PluginKind::Automator,
        };
        let requested = requested_grants(&spec)?;
        let type_spec = type_spec(kind, &spec)?;
        Ok(InspectedPlugin {
            name: spec.name.clone(),
            kind,
            digest: plugin.digest.clone(),
            wit_version: plugin.wit_version.clone(),
            description: spec.description.clone(),
            spec: type_spec,
            requested,
        })
    }
}

fn refused(message: String) -> InspectError {
    InspectError::Refused(message)
}

fn parameters(role: &str, set: &ParameterSet) -> Result<Value, InspectError> {
    let mut fields = Map::new();
    for field in &set.fields {
        let mut schema = json!({
            "label": field.label,
            "type": field.input_type,
            "override": field.overridable,
            "sensitive": field.sensitive,
        });
        if let Some(tip) = &field.tip {
            schema["tip"] = json!(tip);
        }
        if !field.options.is_empty() {
            schema["options"] = json!(field.options);
        }
        if let Some(text) = &field.default_json {
            let default: Value = serde_json::from_str(text).map_err(|_| {
                refused(format!(
                    "describe: parameters.{role}.fields.{}: the default is not JSON",
                    field.name
                ))
            })?;
            schema["default"] = default;
        }
        fields.insert(field.name.clone(), schema);
    }
    Ok(json!({"fields": fields, "required": set.required}))
}

/// The spec a plugin described, as Coopr's provider or automator type, validated as one.
pub fn type_spec(kind: PluginKind, spec: &PluginSpec) -> Result<PluginTypeSpec, InspectError> {
    let resource_types: Map<String, Value> = spec
        .resource_types
        .iter()
        .map(|r| {
            let format = match r.format {
                weft_runtime::ResourceFormat::File => "file",
                weft_runtime::ResourceFormat::Archive => "archive",
            };
            let mut body = json!({"format": format});
            if let Some(permissions) = &r.permissions {
                body["permissions"] = json!(permissions);
            }
            (r.name.clone(), body)
        })
        .collect();
    let body = json!({
        "name": spec.name,
        "description": spec.description,
        "parameters": {
            "admin": parameters("admin", &spec.admin)?,
            "user": parameters("user", &spec.user)?,
        },
        "resourceTypes": resource_types,
    });
    let entity_kind = match kind {
        PluginKind::Provider => EntityKind::Providertypes,
        PluginKind::Automator => EntityKind::Automatortypes,
    };
    weft_catalog::validate(entity_kind, &body)
        .map_err(|e| refused(format!("describe returned an invalid type spec: {e}")))?;
    serde_json::from_value(body)
        .map_err(|e| refused(format!("describe returned an invalid type spec: {e}")))
}

/// The grants a plugin asks for, each checked for form.
pub fn requested_grants(spec: &PluginSpec) -> Result<PluginGrants, InspectError> {
    let grants = PluginGrants {
        http: spec.needs.http_hosts.clone(),
        unix_sockets: spec.needs.unix_sockets.clone(),
        ssh: spec.needs.ssh,
    };
    weft_grants::check_plugin_grants(&grants)
        .map_err(|(field, message)| refused(format!("describe: needs.{field}: {message}")))?;
    Ok(grants)
}
