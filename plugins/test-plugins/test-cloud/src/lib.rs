//! A provider for crash-safety tests: its machines live in a stand-in cloud, an HTTP server the
//! test runs on loopback (port [`CLOUD`]), so they outlive the Weft server and can be counted.
//!
//! CREATE adopts the machine already tagged with this tenant, cluster and node (a retry or a
//! restart after a crash) before it creates one; DELETE finds the machine by its id or its tags
//! and is idempotent. LIST answers every live machine tagged with the task's tenant and
//! cluster, for the host's reconciler. The provider field `delay_ms` makes the cloud slow, so a
//! test can kill Weft in the middle of a create.

use weft_plugin_sdk::{
    CapabilityRequest, FieldSchema, Machine, ParameterSet, PluginError, PluginSpec, Provider, Task,
    TaskResult, export_provider, http, log,
};

/// The stand-in cloud's address (below Linux's ephemeral port range).
const CLOUD: &str = "http://127.0.0.1:29411";

struct TestCloud;

fn failed(message: String) -> PluginError {
    PluginError::Failed(message)
}

/// `tenant=..&cluster=..&node=..` of this task, from the tags the engine hands every task.
fn tags(task: &Task) -> Result<String, PluginError> {
    let mut query = Vec::new();
    for (key, field) in [
        ("tenant", "weft-tenant"),
        ("cluster", "weft-cluster"),
        ("node", "weft-node"),
    ] {
        let value = task
            .provider_field(field)
            .ok_or_else(|| failed(format!("the task has no '{field}' tag")))?;
        query.push(format!("{key}={value}"));
    }
    Ok(query.join("&"))
}

fn send(request: http::Request) -> Result<http::Response, PluginError> {
    request
        .send()
        .map_err(|e| failed(format!("the cloud is unreachable: {e:?}")))
}

/// The id of the machine tagged for this node, if there is one.
fn tagged(task: &Task) -> Result<Option<String>, PluginError> {
    let found = send(http::Request::get(&format!(
        "{CLOUD}/machines?{}",
        tags(task)?
    )))?;
    if !found.is_success() {
        return Err(failed(format!("listing machines: {}", found.status)));
    }
    Ok(found.text().lines().next().map(str::to_string))
}

impl Provider for TestCloud {
    fn describe() -> PluginSpec {
        PluginSpec {
            needs: CapabilityRequest {
                http_hosts: vec![CLOUD.into()],
                unix_sockets: vec![],
                ssh: false,
            },
            user: ParameterSet {
                fields: vec![FieldSchema {
                    name: "project".into(),
                    label: "Project".into(),
                    input_type: "text".into(),
                    tip: Some("the cloud project the machines are billed to".into()),
                    options: vec![],
                    default_json: None,
                    overridable: false,
                    sensitive: false,
                }],
                required: vec![vec!["project".into()]],
            },
            ..PluginSpec::new(
                "test-cloud",
                "machines in the test's stand-in cloud, adopted by their tags",
            )
        }
    }

    fn create(task: Task) -> Result<TaskResult, PluginError> {
        let id = match tagged(&task)? {
            Some(id) => {
                log::with_fields(log::Level::Info, "adopting", &[("machine", &id)]);
                id
            }
            None => {
                let attempt = task.provider_field("weft-attempt").unwrap_or("0");
                let delay = task.provider_field("delay_ms").unwrap_or("0");
                let created = send(http::Request::post(&format!(
                    "{CLOUD}/machines?{}&attempt={attempt}&delay_ms={delay}",
                    tags(&task)?
                )))?;
                if !created.is_success() {
                    return Err(failed(format!("creating a machine: {}", created.status)));
                }
                let id = created.text().trim().to_string();
                log::with_fields(log::Level::Info, "created", &[("machine", &id)]);
                id
            }
        };
        Ok(TaskResult::empty().with("providerid", &id))
    }

    fn confirm(task: Task) -> Result<TaskResult, PluginError> {
        let id = task
            .prior_result("providerid")
            .ok_or_else(|| failed("confirm needs the providerid that create returned".into()))?
            .to_string();
        let found = send(http::Request::get(&format!("{CLOUD}/machines/{id}")))?;
        if !found.is_success() {
            return Err(failed(format!("machine {id}: {}", found.status)));
        }
        let address = found.text().trim().to_string();
        let mut result = TaskResult::empty().with("confirmed", &id);
        result.ip_addresses.push(weft_plugin_sdk::KeyValue {
            key: "bind_v4".into(),
            value: address,
        });
        Ok(result)
    }

    fn delete(task: Task) -> Result<TaskResult, PluginError> {
        let id = match task.prior_result("providerid") {
            Some(id) => Some(id.to_string()),
            None => tagged(&task)?,
        };
        if let Some(id) = id {
            let gone = send(http::Request::delete(&format!("{CLOUD}/machines/{id}")))?;
            if !gone.is_success() && gone.status != 404 {
                return Err(failed(format!("deleting machine {id}: {}", gone.status)));
            }
        }
        Ok(TaskResult::empty())
    }

    fn list(task: Task) -> Result<Vec<Machine>, PluginError> {
        let tag = |field: &str| {
            task.provider_field(field)
                .ok_or_else(|| failed(format!("the task has no '{field}' tag")))
        };
        let (tenant, cluster) = (tag("weft-tenant")?, tag("weft-cluster")?);
        let found = send(http::Request::get(&format!(
            "{CLOUD}/machines?tenant={tenant}&cluster={cluster}&detail=1"
        )))?;
        if !found.is_success() {
            return Err(failed(format!("listing machines: {}", found.status)));
        }
        let text = found.text();
        let mut machines = Vec::new();
        for line in text.lines().filter(|l| !l.is_empty()) {
            let mut parts = line.split('\t');
            let (Some(id), Some(node), attempt) = (parts.next(), parts.next(), parts.next()) else {
                return Err(failed(format!(
                    "the cloud listed an unreadable line: {line}"
                )));
            };
            machines.push(Machine::new(
                id,
                &[
                    ("weft-tenant", tenant),
                    ("weft-cluster", cluster),
                    ("weft-node", node),
                    ("weft-attempt", attempt.unwrap_or("")),
                ],
            ));
        }
        Ok(machines)
    }
}

export_provider!(TestCloud);
