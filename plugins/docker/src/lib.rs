//! The `docker` provider: each node is a container on a Docker engine, reached through the
//! Engine API over the Unix socket the host grants (`/var/run/docker.sock`).
//!
//! - Hardware types give the flavor `cpus=N,memory=SIZE` (`memory=512m`, `1g`); image types
//!   give a local image (Weft's node image: `just node-image`).
//! - CREATE puts the container on the cluster's own bridge network (made by the first node,
//!   named `weft-<tenant>-<cluster>`), with the node's hostname as its alias there, the cluster's public
//!   key in root's `authorized_keys` and sshd published on `127.0.0.1` at a free port. The
//!   container's name is `weft-<node id>`, so a retry or a restart after a crash finds the one
//!   it made instead of making a second (Docker refuses a duplicate name).
//! - Everything it makes carries the labels `io.weft.tenant`, `io.weft.cluster`,
//!   `io.weft.node` and `io.weft.attempt`.
//! - CONFIRM waits for sshd through the host's SSH (which pins the host key it sees) and
//!   reports the node's addresses: `access_v4` 127.0.0.1 with result `ssh_port`, and
//!   `bind_v4`, its address on the cluster network, for services to talk to each other.
//! - DELETE removes the container and its anonymous volumes, then the cluster network once no
//!   container uses it. Deleting what is already gone succeeds.
//! - LIST (the inventory) answers the cluster's labelled containers with their labels as tags.

use std::time::Duration;

use serde_json::{Value, json};
use weft_plugin_sdk::{
    CapabilityRequest, FieldError, FieldSchema, KeyValue, Machine, ParameterSet, PluginError,
    PluginSpec, Provider, Task, TaskResult, export_provider, http, log, ssh,
};

/// The socket the plugin asks to be granted.
const DEFAULT_SOCKET: &str = "/var/run/docker.sock";
/// Label keys on everything the plugin makes.
const LABEL_TENANT: &str = "io.weft.tenant";
const LABEL_CLUSTER: &str = "io.weft.cluster";
const LABEL_NODE: &str = "io.weft.node";
const LABEL_ATTEMPT: &str = "io.weft.attempt";
/// How long CONFIRM waits for sshd before it asks for a retry.
const SSH_WAIT: Duration = Duration::from_secs(60);
/// How long a node waits for the node with the lowest number to make the cluster network.
const NETWORK_WAIT: Duration = Duration::from_secs(30);

/// Starts sshd as the container's main process, with the cluster's key authorised and host
/// keys of its own (the node image ships none).
const ENTRYPOINT: &str = "mkdir -p /root/.ssh /run/sshd && chmod 700 /root/.ssh \
    && printf '%s\\n' \"$WEFT_AUTHORIZED_KEY\" > /root/.ssh/authorized_keys \
    && chmod 600 /root/.ssh/authorized_keys \
    && { test -f /etc/ssh/ssh_host_ed25519_key \
         || ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key; } \
    && exec /usr/sbin/sshd -D -e";

struct Docker;

fn failed(message: impl Into<String>) -> PluginError {
    PluginError::Failed(message.into())
}

/// The machine tags the engine hands every provider task.
struct Tags {
    tenant: String,
    cluster: String,
    node: String,
    attempt: String,
}

impl Tags {
    fn of(task: &Task) -> Result<Tags, PluginError> {
        let tag = |name: &str| {
            task.provider_field(name)
                .map(str::to_string)
                .ok_or_else(|| failed(format!("the task has no '{name}' tag")))
        };
        Ok(Tags {
            tenant: tag("weft-tenant")?,
            cluster: tag("weft-cluster")?,
            node: tag("weft-node")?,
            attempt: task
                .provider_field("weft-attempt")
                .unwrap_or("0")
                .to_string(),
        })
    }

    fn labels(&self, with_node: bool) -> Value {
        let mut labels = json!({
            LABEL_TENANT: self.tenant,
            LABEL_CLUSTER: self.cluster,
        });
        if with_node {
            labels[LABEL_NODE] = json!(self.node);
            labels[LABEL_ATTEMPT] = json!(self.attempt);
        }
        labels
    }

    fn container_name(&self) -> String {
        format!("weft-{}", self.node)
    }

    /// Cluster ids are per tenant (and per Weft installation), so the tenant is part of it.
    fn network_name(&self) -> String {
        format!("weft-{}-{}", self.tenant, self.cluster)
    }

    /// The Engine API filter for what this cluster owns.
    fn filter(&self) -> String {
        json!({"label": [
            format!("{LABEL_TENANT}={}", self.tenant),
            format!("{LABEL_CLUSTER}={}", self.cluster),
        ]})
        .to_string()
    }
}

/// The Engine API on the granted socket.
struct Engine {
    socket: String,
}

/// An answer of the Engine API: status and JSON body (`null` when there is none).
struct Answer {
    status: u16,
    body: Value,
}

impl Answer {
    fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The engine's own message for an error answer.
    fn message(&self) -> String {
        self.body
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| self.body.to_string())
    }
}

impl Engine {
    fn of(task: &Task) -> Engine {
        Engine {
            socket: task
                .provider_field("socket")
                .filter(|s| !s.is_empty())
                .unwrap_or(DEFAULT_SOCKET)
                .to_string(),
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Answer, PluginError> {
        let mut request = http::Request::unix_socket(&self.socket, method, path);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string().into_bytes());
        }
        let response = request.send().map_err(|e| {
            PluginError::Transient(format!(
                "the Docker engine at {} did not answer {method} {path}: {e}",
                self.socket
            ))
        })?;
        let body = if response.body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&response.body).unwrap_or(Value::String(response.text()))
        };
        Ok(Answer {
            status: response.status,
            body,
        })
    }

    /// A container by id or name, or `None` when there is none.
    fn inspect(&self, id: &str) -> Result<Option<Value>, PluginError> {
        let found = self.call("GET", &format!("/containers/{}/json", encode(id)), None)?;
        match found.status {
            200 => Ok(Some(found.body)),
            404 => Ok(None),
            _ => Err(failed(format!(
                "inspecting container {id}: {} {}",
                found.status,
                found.message()
            ))),
        }
    }

    /// The cluster's network (its id), made if there is none. The nodes of a cluster are
    /// created at once and Docker allows two networks of one name, so only the node with the
    /// lowest number makes it while the others wait for it (making it themselves only if it
    /// never comes); should two exist all the same, every node keeps the oldest.
    fn cluster_network(&self, tags: &Tags, maker: bool) -> Result<String, PluginError> {
        let mut found = self.networks(tags)?;
        if found.is_empty() && !maker {
            let waited = std::time::Instant::now();
            while found.is_empty() && waited.elapsed() < NETWORK_WAIT {
                std::thread::sleep(Duration::from_millis(100));
                found = self.networks(tags)?;
            }
        }
        if found.is_empty() {
            let created = self.call(
                "POST",
                "/networks/create",
                Some(&json!({
                    "Name": tags.network_name(),
                    "CheckDuplicate": true,
                    "Driver": "bridge",
                    "Labels": tags.labels(false),
                })),
            )?;
            if !created.ok() && created.status != 409 {
                return Err(failed(format!(
                    "creating network {}: {} {}",
                    tags.network_name(),
                    created.status,
                    created.message()
                )));
            }
            found = self.networks(tags)?;
        }
        found.sort();
        let Some((_, chosen)) = found.first().cloned() else {
            return Err(PluginError::Transient(format!(
                "network {} vanished while it was made",
                tags.network_name()
            )));
        };
        for (_, extra) in &found[1..] {
            let _ = self.call("DELETE", &format!("/networks/{extra}"), None);
        }
        Ok(chosen)
    }

    /// The networks labelled for the cluster: (creation time, id), oldest first.
    fn networks(&self, tags: &Tags) -> Result<Vec<(String, String)>, PluginError> {
        let listed = self.call(
            "GET",
            &format!("/networks?filters={}", encode(&tags.filter())),
            None,
        )?;
        if !listed.ok() {
            return Err(failed(format!(
                "listing networks: {} {}",
                listed.status,
                listed.message()
            )));
        }
        let mut found: Vec<(String, String)> = listed
            .body
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| {
                let id = n.get("Id").and_then(Value::as_str)?;
                let created = n.get("Created").and_then(Value::as_str).unwrap_or("");
                Some((created.to_string(), id.to_string()))
            })
            .collect();
        found.sort();
        Ok(found)
    }

    /// Ids of the containers labelled for the cluster, running or not.
    fn cluster_containers(&self, tags: &Tags) -> Result<Vec<String>, PluginError> {
        Ok(self
            .labelled_containers(tags)?
            .into_iter()
            .map(|machine| machine.id)
            .collect())
    }

    /// The containers labelled for the cluster, running or not, with Weft's tags from their
    /// labels.
    fn labelled_containers(&self, tags: &Tags) -> Result<Vec<Machine>, PluginError> {
        let listed = self.call(
            "GET",
            &format!(
                "/containers/json?all=true&filters={}",
                encode(&tags.filter())
            ),
            None,
        )?;
        if !listed.ok() {
            return Err(failed(format!(
                "listing containers: {} {}",
                listed.status,
                listed.message()
            )));
        }
        Ok(listed
            .body
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| {
                let id = c.get("Id").and_then(Value::as_str)?;
                let label = |key: &str| c["Labels"][key].as_str().unwrap_or_default();
                Some(Machine::new(
                    id,
                    &[
                        ("weft-tenant", label(LABEL_TENANT)),
                        ("weft-cluster", label(LABEL_CLUSTER)),
                        ("weft-node", label(LABEL_NODE)),
                        ("weft-attempt", label(LABEL_ATTEMPT)),
                    ],
                ))
            })
            .collect())
    }

    fn start(&self, id: &str) -> Result<(), PluginError> {
        let started = self.call("POST", &format!("/containers/{id}/start"), None)?;
        // 304: already running
        if started.ok() || started.status == 304 {
            Ok(())
        } else {
            Err(failed(format!(
                "starting container {id}: {} {}",
                started.status,
                started.message()
            )))
        }
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// CPU and memory limits from a flavor `cpus=N,memory=SIZE`: (nano CPUs, bytes); 0 is no limit.
fn limits(flavor: &str) -> Result<(i64, i64), String> {
    let mut nano_cpus = 0;
    let mut memory = 0;
    for part in flavor.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = part
            .split_once('=')
            .ok_or_else(|| format!("'{part}' is not key=value"))?;
        match key.trim() {
            "cpus" => {
                let cpus: f64 = value
                    .trim()
                    .parse()
                    .map_err(|_| format!("cpus '{value}' is not a number"))?;
                if !(cpus > 0.0 && cpus <= 1024.0) {
                    return Err(format!("cpus must be above 0, got {value}"));
                }
                nano_cpus = (cpus * 1e9) as i64;
            }
            "memory" => memory = bytes(value.trim())?,
            other => return Err(format!("unknown key '{other}' (cpus, memory)")),
        }
    }
    Ok((nano_cpus, memory))
}

/// `512m`, `1g`, `65536k` or plain bytes; at least 6 MiB (Docker's floor).
fn bytes(text: &str) -> Result<i64, String> {
    let lower = text.to_ascii_lowercase();
    let (digits, unit) = match lower.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => lower.split_at(i),
        None => (lower.as_str(), ""),
    };
    let number: i64 = digits
        .parse()
        .map_err(|_| format!("memory '{text}' is not a size like 512m"))?;
    let scale = match unit.trim_end_matches('b') {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        _ => return Err(format!("memory '{text}' has an unknown unit (k, m, g)")),
    };
    let value = number
        .checked_mul(scale)
        .ok_or_else(|| format!("memory '{text}' is too large"))?;
    if value < 6 << 20 {
        return Err(format!("memory must be at least 6m, got {text}"));
    }
    Ok(value)
}

/// The container's published sshd port and its address on the cluster network.
fn addresses(container: &Value, network: Option<&str>) -> (Option<String>, Option<String>) {
    let port = container
        .pointer("/NetworkSettings/Ports/22~1tcp/0/HostPort")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
        .map(str::to_string);
    let networks = container
        .pointer("/NetworkSettings/Networks")
        .and_then(Value::as_object);
    let address = networks.and_then(|all| {
        all.values()
            .find(|n| match network {
                Some(id) => n.get("NetworkID").and_then(Value::as_str) == Some(id),
                None => true,
            })
            .and_then(|n| n.get("IPAddress").and_then(Value::as_str))
            .filter(|a| !a.is_empty())
            .map(str::to_string)
    });
    (port, address)
}

fn result_for(id: &str, port: &str, address: &str, hostname: Option<&str>) -> TaskResult {
    let mut result = TaskResult::empty()
        .with("providerid", id)
        .with("ssh_port", port);
    result.ip_addresses = vec![
        KeyValue {
            key: "access_v4".into(),
            value: "127.0.0.1".into(),
        },
        KeyValue {
            key: "bind_v4".into(),
            value: address.into(),
        },
    ];
    result.hostname = hostname.map(str::to_string);
    result
}

fn field(name: &str, label: &str, tip: &str, default: Option<&str>) -> FieldSchema {
    FieldSchema {
        name: name.into(),
        label: label.into(),
        input_type: "text".into(),
        tip: Some(tip.into()),
        options: vec![],
        default_json: default.map(|d| format!("\"{d}\"")),
        overridable: false,
        sensitive: false,
    }
}

/// The running container of this node with its port and address, started if it stopped.
fn running(
    engine: &Engine,
    id: &str,
    network: Option<&str>,
) -> Result<(Value, String, String), PluginError> {
    let Some(container) = engine.inspect(id)? else {
        return Err(failed(format!("container {id} does not exist")));
    };
    let container = if container.pointer("/State/Running") == Some(&Value::Bool(true)) {
        container
    } else {
        engine.start(id)?;
        engine
            .inspect(id)?
            .ok_or_else(|| failed(format!("container {id} vanished after it started")))?
    };
    match addresses(&container, network) {
        (Some(port), Some(address)) => Ok((container, port, address)),
        _ => Err(PluginError::Transient(format!(
            "container {id} has no published sshd port or network address yet"
        ))),
    }
}

/// The engine, the tags and the node's container: the id CREATE reported, else its name.
fn node_container(task: &Task) -> Result<(Engine, Tags, String), PluginError> {
    let tags = Tags::of(task)?;
    let id = task
        .prior_result("providerid")
        .map(str::to_string)
        .unwrap_or_else(|| tags.container_name());
    Ok((Engine::of(task), tags, id))
}

impl Provider for Docker {
    fn describe() -> PluginSpec {
        PluginSpec {
            admin: ParameterSet {
                fields: vec![field(
                    "socket",
                    "Docker socket",
                    "the Docker Engine API's Unix socket (it must be granted to the plugin)",
                    Some(DEFAULT_SOCKET),
                )],
                required: vec![],
            },
            needs: CapabilityRequest {
                http_hosts: vec![],
                unix_sockets: vec![DEFAULT_SOCKET.into()],
                ssh: true,
            },
            ..PluginSpec::new(
                "docker",
                "cluster nodes as containers on a local Docker engine, one network per cluster",
            )
        }
    }

    fn validate(fields: Vec<KeyValue>) -> Result<(), Vec<FieldError>> {
        let errors: Vec<FieldError> = fields
            .iter()
            .filter(|kv| kv.key == "socket" && !kv.value.is_empty() && !kv.value.starts_with('/'))
            .map(|kv| FieldError {
                field: "socket".into(),
                message: format!("must be an absolute path, got '{}'", kv.value),
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn create(task: Task) -> Result<TaskResult, PluginError> {
        let engine = Engine::of(&task);
        let tags = Tags::of(&task)?;
        let image = task
            .node
            .image
            .clone()
            .filter(|i| !i.is_empty())
            .ok_or_else(|| failed("the image type names no image for this provider"))?;
        let (nano_cpus, memory) = limits(task.node.flavor.as_deref().unwrap_or(""))
            .map_err(|e| failed(format!("flavor: {e}")))?;
        let public_key = task
            .provider_field("weft-ssh-public-key")
            .ok_or_else(|| failed("the task carries no cluster public key"))?
            .to_string();
        // the node with the lowest number makes the cluster's network
        let maker = task.nodes.iter().all(|n| n.nodenum >= task.node.nodenum);
        let network = engine.cluster_network(&tags, maker)?;
        let hostname = task
            .node
            .hostname
            .clone()
            .unwrap_or_else(|| tags.node.clone());
        let short: String = hostname
            .split('.')
            .next()
            .unwrap_or("node")
            .chars()
            .take(63)
            .collect();
        let name = tags.container_name();

        let id = match engine.inspect(&name)? {
            Some(existing) => {
                let id = existing["Id"].as_str().unwrap_or(&name).to_string();
                log::with_fields(
                    log::Level::Info,
                    "adopting the node's container",
                    &[("container", &id)],
                );
                id
            }
            None => {
                let body = json!({
                    "Image": image,
                    "Hostname": short,
                    "Cmd": ["/bin/sh", "-c", ENTRYPOINT],
                    "Env": [format!("WEFT_AUTHORIZED_KEY={public_key}")],
                    "Labels": tags.labels(true),
                    "ExposedPorts": {"22/tcp": {}},
                    "HostConfig": {
                        "Init": true,
                        "NanoCpus": nano_cpus,
                        "Memory": memory,
                        "PortBindings": {"22/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]},
                        "NetworkMode": network,
                    },
                    "NetworkingConfig": {
                        "EndpointsConfig": {network.as_str(): {"Aliases": [hostname, short]}}
                    },
                });
                let created = engine.call(
                    "POST",
                    &format!("/containers/create?name={}", encode(&name)),
                    Some(&body),
                )?;
                match created.status {
                    201 => {
                        let id = created.body["Id"].as_str().unwrap_or(&name).to_string();
                        log::with_fields(
                            log::Level::Info,
                            "created the node's container",
                            &[("container", &id), ("image", &image)],
                        );
                        id
                    }
                    // made by an attempt running at the same time: adopt it
                    409 => name.clone(),
                    404 => {
                        return Err(failed(format!(
                            "image '{image}' is not on the Docker engine (build Weft's node image with `just node-image`): {}",
                            created.message()
                        )));
                    }
                    status => {
                        return Err(failed(format!(
                            "creating container {name}: {status} {}",
                            created.message()
                        )));
                    }
                }
            }
        };
        engine.start(&id)?;
        let (container, port, address) = running(&engine, &id, Some(&network))?;
        let id = container["Id"].as_str().unwrap_or(&id).to_string();
        Ok(result_for(
            &id,
            &port,
            &address,
            task.node.hostname.as_deref(),
        ))
    }

    fn confirm(task: Task) -> Result<TaskResult, PluginError> {
        let (engine, tags, id) = node_container(&task)?;
        let network = engine.networks(&tags)?.into_iter().next().map(|(_, id)| id);
        let (_, port, address) = running(&engine, &id, network.as_deref())?;
        if task.prior_result("ssh_port") != Some(port.as_str()) {
            return Err(PluginError::Transient(format!(
                "container {id} publishes sshd on port {port} now, not on the port CREATE reported"
            )));
        }
        let target = task
            .ssh_target
            .clone()
            .ok_or_else(|| failed("the host granted no SSH target to wait for sshd"))?;
        let waited = std::time::Instant::now();
        loop {
            let reached = ssh::open(&target).and_then(|s| s.run("true").map(|_| ()));
            match reached {
                Ok(()) => break,
                Err(e) if waited.elapsed() < SSH_WAIT => {
                    log::debug(&format!("sshd not ready yet: {e:?}"));
                    std::thread::sleep(Duration::from_millis(300));
                }
                Err(e) => {
                    return Err(PluginError::Transient(format!(
                        "sshd on container {id} did not answer within {}s: {e:?}",
                        SSH_WAIT.as_secs()
                    )));
                }
            }
        }
        log::with_fields(
            log::Level::Info,
            "node is up",
            &[("container", &id), ("address", &address)],
        );
        Ok(result_for(
            &id,
            &port,
            &address,
            task.node.hostname.as_deref(),
        ))
    }

    fn delete(task: Task) -> Result<TaskResult, PluginError> {
        let (engine, tags, id) = node_container(&task)?;
        let removed = engine.call(
            "DELETE",
            &format!("/containers/{}?force=true&v=true", encode(&id)),
            None,
        )?;
        match removed.status {
            200..=299 => log::with_fields(
                log::Level::Info,
                "removed the node's container",
                &[("container", &id)],
            ),
            404 => log::with_fields(
                log::Level::Info,
                "the node's container was already gone",
                &[("container", &id)],
            ),
            // 409: a removal is already in progress
            409 => {}
            status => {
                return Err(failed(format!(
                    "removing container {id}: {status} {}",
                    removed.message()
                )));
            }
        }
        // the last node out removes the network (Docker refuses while a container is on it)
        if engine.cluster_containers(&tags)?.is_empty() {
            for (_, network) in engine.networks(&tags)? {
                let gone = engine.call("DELETE", &format!("/networks/{network}"), None)?;
                if gone.ok() {
                    log::with_fields(
                        log::Level::Info,
                        "removed the cluster network",
                        &[("network", &network)],
                    );
                }
            }
        }
        Ok(TaskResult::empty())
    }

    /// The cluster's containers, running or not, by their labels; the reconciler deletes
    /// those no node owns through DELETE (which then removes the network if it was the last).
    fn list(task: Task) -> Result<Vec<Machine>, PluginError> {
        let tags = Tags::of(&task)?;
        Engine::of(&task).labelled_containers(&tags)
    }
}

export_provider!(Docker);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flavors_give_limits() {
        assert_eq!(limits("cpus=1,memory=512m"), Ok((1_000_000_000, 512 << 20)));
        assert_eq!(limits("cpus=0.5"), Ok((500_000_000, 0)));
        assert_eq!(limits(""), Ok((0, 0)));
        assert_eq!(limits("memory=1g"), Ok((0, 1 << 30)));
        assert!(limits("cpus=0").is_err());
        assert!(limits("memory=1m").is_err());
        assert!(limits("memory=12q").is_err());
        assert!(limits("disk=1g").is_err());
        assert!(limits("cpus").is_err());
    }

    #[test]
    fn filters_are_percent_encoded() {
        assert_eq!(
            encode(r#"{"a":["b=c"]}"#),
            "%7B%22a%22%3A%5B%22b%3Dc%22%5D%7D"
        );
        assert_eq!(encode("weft-1.x_~"), "weft-1.x_~");
    }
}
