//! `weft plugin describe|run`: load a component into the real runtime and run one call, printing
//! JSON. The task file mirrors the WIT `task` record in Coopr-style camelCase:
//!
//! ```json
//! {"id": "t1", "clusterId": "c1", "node": {"id": "n1", "nodenum": 1000, "hostname": null,
//!  "ipaddresses": {"bind_v4": "10.0.0.1"}, "hardwaretype": "small", "imagetype": "debian",
//!  "services": ["web"]}, "nodes": [], "config": {}, "providerFields": {},
//!  "service": {"name": "web", "fields": {"script": "install.sh"}}, "priorResults": {}}
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde::Deserialize;
use serde_json::{Value, json};
use weft_runtime::{
    KeyValue, NodeInfo, Operation, Runtime, RuntimeConfig, ServiceAction, Task, TaskLimits,
};

#[derive(Args)]
pub(crate) struct PluginArgs {
    #[command(subcommand)]
    command: PluginCommand,
    /// Where compiled components are cached.
    #[arg(long, global = true, default_value = "./weft-data/plugin-cache")]
    cache_dir: PathBuf,
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Upload a component to a server: a superadmin's is global, a tenant admin's the
    /// tenant's own. Prints the registered version.
    Register {
        plugin: PathBuf,
        /// Approve every grant the plugin requests (read them first with `describe`).
        #[arg(long)]
        approve: bool,
        #[command(flatten)]
        connection: crate::connect::ServerConnection,
    },
    /// Print the plugin's type spec.
    Describe { plugin: PathBuf },
    /// Run one task.
    Run {
        plugin: PathBuf,
        /// The task as JSON (see `weft plugin run --help`).
        #[arg(long)]
        task: PathBuf,
        /// The operation (create, confirm, delete, bootstrap, install, ...); default: create for
        /// providers, install for automators.
        #[arg(long)]
        operation: Option<Operation>,
        /// CPU budget in milliseconds.
        #[arg(long, default_value_t = 10_000)]
        cpu_ms: u64,
        /// Wall-clock limit in seconds.
        #[arg(long, default_value_t = 60)]
        timeout_s: u64,
        /// Memory limit in MiB.
        #[arg(long, default_value_t = 256)]
        memory_mb: usize,
        #[command(flatten)]
        grants: Box<GrantArgs>,
    },
}

/// What the task may reach; nothing unless granted here, as on a worker.
#[derive(Args)]
struct GrantArgs {
    /// An HTTP endpoint the plugin may call, `https://host[:port]` (repeatable).
    #[arg(long = "allow-http", value_name = "URL")]
    http: Vec<String>,
    /// A Unix socket the plugin may speak HTTP over (repeatable).
    #[arg(long = "allow-unix-socket", value_name = "PATH")]
    unix_sockets: Vec<String>,
    /// The `authorization` header the host adds for an endpoint: `https://host=Bearer ...`.
    #[arg(long = "credential", value_name = "URL=VALUE")]
    credentials: Vec<String>,
    /// An SSH target: `NAME=USER@HOST:PORT`; its host key is pinned on first use and printed.
    #[arg(long = "ssh", value_name = "NAME=USER@HOST:PORT")]
    ssh: Vec<String>,
    /// The private key (OpenSSH format) for the SSH targets.
    #[arg(long)]
    ssh_key: Option<PathBuf>,
    /// The plugin's resource folder (read-only).
    #[arg(long)]
    resources: Option<PathBuf>,
    /// A secret handed to the plugin as a handle: `NAME=VALUE` (repeatable).
    #[arg(long = "secret", value_name = "NAME=VALUE")]
    secrets: Vec<String>,
}

impl GrantArgs {
    fn capabilities(&self) -> anyhow::Result<weft_runtime::Capabilities> {
        let split = |text: &str, flag: &str| -> anyhow::Result<(String, String)> {
            text.split_once('=')
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .with_context(|| format!("--{flag} '{text}': expected NAME=VALUE"))
        };
        let mut caps = weft_runtime::Capabilities::none();
        for url in &self.http {
            caps.grants.http.push(weft_grants::HttpGrant::parse(url)?);
        }
        caps.grants.unix_sockets = self.unix_sockets.clone();
        for text in &self.credentials {
            let (url, value) = split(text, "credential")?;
            caps.credentials.push(weft_runtime::Credential {
                endpoint: weft_grants::HttpGrant::parse(&url)?,
                authorization: value,
            });
        }
        if !self.ssh.is_empty() {
            let path = self
                .ssh_key
                .as_ref()
                .context("--ssh needs --ssh-key with the private key")?;
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let key = weft_ssh::KeyPair::from_openssh(&text)?;
            for spec in &self.ssh {
                let (name, destination) = split(spec, "ssh")?;
                let (user, address) = destination
                    .split_once('@')
                    .with_context(|| format!("--ssh '{spec}': expected NAME=USER@HOST:PORT"))?;
                caps.ssh.insert(
                    name,
                    weft_ssh::Target {
                        address: address.to_string(),
                        user: user.to_string(),
                        key: key.clone(),
                        host_key: weft_ssh::HostKeyPolicy::PinOnFirstUse,
                    },
                );
            }
        }
        caps.resources = self.resources.clone();
        for text in &self.secrets {
            let (name, value) = split(text, "secret")?;
            caps.secrets.insert(name, value);
        }
        Ok(caps)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TaskFile {
    id: String,
    cluster_id: String,
    node: NodeFile,
    #[serde(default)]
    nodes: Vec<NodeFile>,
    #[serde(default)]
    config: Value,
    #[serde(default)]
    provider_fields: BTreeMap<String, Value>,
    #[serde(default)]
    service: Option<ServiceFile>,
    #[serde(default)]
    prior_results: BTreeMap<String, Value>,
    #[serde(default)]
    ssh_target: Option<String>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct NodeFile {
    id: String,
    nodenum: u32,
    #[serde(default)]
    hostname: Option<String>,
    #[serde(default)]
    ipaddresses: BTreeMap<String, String>,
    #[serde(default)]
    hardwaretype: String,
    #[serde(default)]
    imagetype: String,
    #[serde(default)]
    flavor: Option<String>,
    #[serde(default)]
    image: Option<String>,
    #[serde(default)]
    sshuser: Option<String>,
    #[serde(default)]
    services: Vec<String>,
    #[serde(default)]
    automators: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceFile {
    name: String,
    #[serde(default)]
    fields: BTreeMap<String, String>,
}

/// JSON values as text, strings as themselves.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn pairs<V>(map: &BTreeMap<String, V>, value: impl Fn(&V) -> String) -> Vec<KeyValue> {
    map.iter()
        .map(|(k, v)| KeyValue {
            key: k.clone(),
            value: value(v),
        })
        .collect()
}

fn node(file: &NodeFile) -> NodeInfo {
    NodeInfo {
        id: file.id.clone(),
        nodenum: file.nodenum,
        hostname: file.hostname.clone(),
        ip_addresses: pairs(&file.ipaddresses, String::clone),
        hardwaretype: file.hardwaretype.clone(),
        imagetype: file.imagetype.clone(),
        flavor: file.flavor.clone(),
        image: file.image.clone(),
        ssh_user: file.sshuser.clone(),
        services: file.services.clone(),
        automators: file.automators.clone(),
    }
}

fn task(file: TaskFile) -> Task {
    let nodes = if file.nodes.is_empty() {
        vec![file.node.clone()]
    } else {
        file.nodes.clone()
    };
    Task {
        id: file.id,
        cluster_id: file.cluster_id,
        node: node(&file.node),
        nodes: nodes.iter().map(node).collect(),
        config_json: if file.config.is_null() {
            "{}".into()
        } else {
            file.config.to_string()
        },
        provider_fields: pairs(&file.provider_fields, text),
        service: file.service.map(|s| ServiceAction {
            name: s.name,
            fields: pairs(&s.fields, String::clone),
        }),
        prior_results: pairs(&file.prior_results, text),
        ssh_target: file.ssh_target,
    }
}

fn runtime(cache_dir: PathBuf, memory_mb: usize) -> anyhow::Result<Runtime> {
    Runtime::new(RuntimeConfig {
        cache_dir,
        slots: 2,
        max_memory_bytes: memory_mb << 20,
        epoch_tick: Duration::from_millis(10),
        max_component_bytes: 128 << 20,
        quarantine_after: u32::MAX,
    })
    .context("cannot start the plugin runtime")
}

pub(crate) async fn run(args: PluginArgs) -> anyhow::Result<()> {
    match args.command {
        PluginCommand::Register {
            plugin,
            approve,
            connection,
        } => {
            let bytes = std::fs::read(&plugin)
                .with_context(|| format!("cannot read {}", plugin.display()))?;
            let registered = connection
                .client()?
                .register_plugin(bytes, approve)
                .await
                .with_context(|| format!("cannot register {}", plugin.display()))?;
            println!("{}", serde_json::to_string_pretty(&registered)?);
            Ok(())
        }
        PluginCommand::Describe { plugin } => {
            let runtime = runtime(args.cache_dir, 64)?;
            let bytes = std::fs::read(&plugin)
                .with_context(|| format!("cannot read {}", plugin.display()))?;
            let loaded = runtime
                .load(&bytes)
                .with_context(|| format!("cannot load {}", plugin.display()))?;
            let spec = runtime.describe(&loaded).await.context("describe failed")?;
            let fields = |set: &weft_runtime::ParameterSet| -> Value {
                json!({"fields": set.fields.iter().map(|f| (f.name.clone(), json!({"label": f.label, "type": f.input_type,
                    "tip": f.tip, "options": f.options, "override": f.overridable, "sensitive": f.sensitive}))).collect::<serde_json::Map<_, _>>(),
                    "required": set.required})
            };
            let out = json!({"name": spec.name, "description": spec.description,
                "parameters": {"admin": fields(&spec.admin), "user": fields(&spec.user)},
                "needs": {"httpHosts": spec.needs.http_hosts, "unixSockets": spec.needs.unix_sockets, "ssh": spec.needs.ssh}});
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(())
        }
        PluginCommand::Run {
            plugin,
            task: task_path,
            operation,
            cpu_ms,
            timeout_s,
            memory_mb,
            grants,
        } => {
            let capabilities = grants.capabilities()?;
            let runtime = runtime(args.cache_dir, memory_mb)?;
            let bytes = std::fs::read(&plugin)
                .with_context(|| format!("cannot read {}", plugin.display()))?;
            let loaded = runtime
                .load(&bytes)
                .with_context(|| format!("cannot load {}", plugin.display()))?;
            let text = std::fs::read_to_string(&task_path)
                .with_context(|| format!("cannot read {}", task_path.display()))?;
            let file: TaskFile = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a task", task_path.display()))?;
            let operation: Operation = match (operation, loaded.kind()) {
                (Some(op), _) => op,
                (None, weft_runtime::PluginKind::Provider) => Operation::Create,
                (None, weft_runtime::PluginKind::Automator) => Operation::Install,
            };
            let limits = TaskLimits {
                memory_bytes: memory_mb << 20,
                cpu: Duration::from_millis(cpu_ms),
                wall: Duration::from_secs(timeout_s),
                output_bytes: 1 << 20,
                result_bytes: 1 << 20,
                table_entries: 256,
                file_bytes: 16 << 20,
            };
            let outcome = runtime
                .run(&loaded, operation, &task(file), &capabilities, &limits)
                .await;
            let log: Vec<Value> = outcome
                .log
                .iter()
                .map(|l| json!({"level": l.level, "message": l.message, "fields": l.fields}))
                .collect();
            let (status, body) = match &outcome.result {
                Ok(result) => (
                    "ok",
                    json!({"results": result.results.iter().map(|kv| (kv.key.clone(), json!(kv.value))).collect::<serde_json::Map<_, _>>(),
                    "hostname": result.hostname,
                    "ipaddresses": result.ip_addresses.iter().map(|kv| (kv.key.clone(), json!(kv.value))).collect::<serde_json::Map<_, _>>()}),
                ),
                Err(failure) => (
                    "failed",
                    json!({"kind": failure.kind(), "message": failure.to_string()}),
                ),
            };
            println!(
                "{}",
                serde_json::to_string_pretty(
                    &json!({"status": status, "outcome": body, "log": log,
                "stdout": outcome.stdout, "stderr": outcome.stderr, "truncated": outcome.truncated,
                "elapsedMs": outcome.elapsed.as_millis() as u64,
                "audit": outcome.audit.iter().map(|a| json!({"action": a.action, "detail": a.detail})).collect::<Vec<_>>(),
                "learnedHostKeys": outcome.learned_host_keys.iter().map(|(t, k)| (t.clone(), json!(k))).collect::<serde_json::Map<_, _>>()})
                )?
            );
            if outcome.result.is_err() {
                bail!("the task failed");
            }
            Ok(())
        }
    }
}
