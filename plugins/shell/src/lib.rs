//! The `shell` automator, compatible with Coopr's type of that name (fields `script` and
//! `args`; resource types `scripts` and `archives`).
//!
//! - BOOTSTRAP makes the automator's folder on the node (`/var/cache/weft/shell`), uploads
//!   the helper library and the tenant's live `scripts` (executable) and `archives` (unpacked
//!   under `archives/`).
//! - Every service action uploads the task in Coopr's JSON shape (`taskId`, `config` with the
//!   macro-expanded `cluster` config, this node's properties, `nodes`, `service`, earlier
//!   results) and runs `script args` through `sh` on the node, in `scripts/` and with it on
//!   `PATH`, after sourcing the helper library: `coopr_lookup_key config/cluster/a/b` (or
//!   `weft_lookup_key`) prints a value of the task. The command's output goes to the task log;
//!   a non-zero exit fails the task with its stderr.
//! - A node whose SSH user is not root runs the command with `sudo -E`.

use serde_json::{Map, Value, json};
use weft_plugin_sdk::{
    Automator, CapabilityRequest, FieldError, FieldSchema, KeyValue, ParameterSet, PluginError,
    PluginSpec, ResourceFormat, ResourceType, Task, TaskResult, export_automator, log, resources,
    ssh,
};

struct Shell;

/// The helper library sourced before every command.
const LIBRARY: &str = r#"# Weft's shell automator helpers (Coopr's coopr_lookup_key).
# coopr_lookup_key PATH prints the task's value at PATH (config/cluster/a/b, config/hostname,
# config/nodes/<id>/hostname, ...); it fails when the task has none.
coopr_lookup_key() {
    awk -F '\t' -v k="$1" '
        $1 == k {
            v = substr($0, length(k) + 2); out = ""
            for (i = 1; i <= length(v); i++) {
                c = substr(v, i, 1)
                if (c == "\\" && i < length(v)) {
                    i++; c = substr(v, i, 1)
                    if (c == "n") c = "\n"; else if (c == "t") c = "\t"
                }
                out = out c
            }
            print out; found = 1; exit
        }
        END { exit !found }' "$WEFT_TASK_KV"
}
weft_lookup_key() { coopr_lookup_key "$@"; }
"#;

fn failed(message: impl Into<String>) -> PluginError {
    PluginError::Failed(message.into())
}

fn ssh_failed(what: &str, e: ssh::SshError) -> PluginError {
    match e {
        ssh::SshError::Unreachable(m) => {
            PluginError::Transient(format!("{what}: unreachable: {m}"))
        }
        other => failed(format!("{what}: {other:?}")),
    }
}

/// Quotes text for `sh` as one word.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The automator's folder on the node: root's cache, or the SSH user's own.
fn base_dir(task: &Task) -> &'static str {
    if is_root(task) {
        "/var/cache/weft/shell"
    } else {
        "/tmp/weft-shell"
    }
}

fn is_root(task: &Task) -> bool {
    matches!(
        task.node.ssh_user.as_deref(),
        None | Some("") | Some("root")
    )
}

fn open(task: &Task) -> Result<ssh::Session, PluginError> {
    let target = task
        .ssh_target
        .as_deref()
        .ok_or_else(|| failed("the host granted no SSH target: the node has no address yet"))?;
    ssh::open(target).map_err(|e| ssh_failed("opening SSH to the node", e))
}

/// Makes the folders and writes the helper library.
fn prepare(session: &ssh::Session, dir: &str) -> Result<(), PluginError> {
    session
        .run(&format!(
            "mkdir -p {d}/scripts {d}/archives {d}/tasks",
            d = quote(dir)
        ))
        .map_err(|e| ssh_failed("preparing the node", e))?;
    session
        .upload(&format!("{dir}/lib.sh"), LIBRARY.as_bytes(), 0o644)
        .map_err(|e| ssh_failed("uploading the helper library", e))
}

fn kv_map(pairs: &[KeyValue]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|kv| (kv.key.clone(), json!(kv.value)))
        .collect()
}

fn node_json(node: &weft_plugin_sdk::NodeInfo) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("nodenum".into(), json!(node.nodenum));
    if let Some(hostname) = &node.hostname {
        out.insert("hostname".into(), json!(hostname));
    }
    out.insert(
        "ipaddresses".into(),
        Value::Object(kv_map(&node.ip_addresses)),
    );
    out.insert("hardwaretype".into(), json!(node.hardwaretype));
    out.insert("imagetype".into(), json!(node.imagetype));
    for (key, value) in [
        ("flavor", &node.flavor),
        ("image", &node.image),
        ("sshuser", &node.ssh_user),
    ] {
        if let Some(value) = value {
            out.insert(key.into(), json!(value));
        }
    }
    out.insert("services".into(), json!(node.services));
    out.insert("automators".into(), json!(node.automators));
    out
}

/// The task in Coopr's shape (coopr-notes §5.5).
fn task_json(task: &Task, action: &str) -> Value {
    let mut config = Map::new();
    // earlier results first, so the node's own properties win
    for kv in &task.prior_results {
        let value = serde_json::from_str(&kv.value).unwrap_or_else(|_| json!(kv.value));
        config.insert(kv.key.clone(), value);
    }
    config.extend(node_json(&task.node));
    let cluster: Value = serde_json::from_str(&task.config_json).unwrap_or_else(|_| json!({}));
    config.insert("cluster".into(), cluster);
    config.insert(
        "nodes".into(),
        Value::Object(
            task.nodes
                .iter()
                .map(|n| (n.id.clone(), Value::Object(node_json(n))))
                .collect(),
        ),
    );
    if let Some(service) = &task.service {
        config.insert(
            "service".into(),
            json!({"name": service.name, "action": {"type": "shell", "fields": kv_map(&service.fields)}}),
        );
    }
    json!({
        "taskId": task.id,
        "clusterId": task.cluster_id,
        "nodeId": task.node.id,
        "taskName": action.to_ascii_uppercase(),
        "config": config,
    })
}

/// One line `path<TAB>value` per scalar (arrays of scalars also joined with commas); newlines,
/// tabs and backslashes escaped.
fn flatten(value: &Value, path: &str, out: &mut String) {
    let escaped = |text: &str| {
        text.replace('\\', r"\\")
            .replace('\n', r"\n")
            .replace('\t', r"\t")
    };
    let scalar = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    };
    let join = |p: &str, k: &str| {
        if p.is_empty() {
            k.to_string()
        } else {
            format!("{p}/{k}")
        }
    };
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                flatten(child, &join(path, key), out);
            }
        }
        Value::Array(items) => {
            let scalars: Option<Vec<String>> = items.iter().map(scalar).collect();
            if let Some(scalars) = scalars {
                out.push_str(&format!(
                    "{}\t{}\n",
                    escaped(path),
                    escaped(&scalars.join(","))
                ));
            }
            for (i, child) in items.iter().enumerate() {
                flatten(child, &join(path, &i.to_string()), out);
            }
        }
        other => {
            if let Some(text) = scalar(other) {
                out.push_str(&format!("{}\t{}\n", escaped(path), escaped(&text)));
            }
        }
    }
}

/// Logs a command's output, a line each.
fn log_output(stdout: &str, stderr: &str) {
    for line in stdout.lines() {
        log::info(line);
    }
    for line in stderr.lines() {
        log::warn(line);
    }
}

/// Runs a service action: the task goes to the node, then `script args`.
fn action(task: Task, name: &str) -> Result<TaskResult, PluginError> {
    let script = task
        .action_field("script")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| failed(format!("the service's {name} action has no 'script'")))?
        .to_string();
    let args = task.action_field("args").unwrap_or("").to_string();
    let dir = base_dir(&task);
    let session = open(&task)?;
    prepare(&session, dir)?;
    let document = task_json(&task, name);
    let mut flat = String::new();
    flatten(&document, "", &mut flat);
    let json_path = format!("{dir}/tasks/{}.json", task.id);
    let kv_path = format!("{dir}/tasks/{}.kv", task.id);
    session
        .upload(&json_path, document.to_string().as_bytes(), 0o600)
        .map_err(|e| ssh_failed("uploading the task", e))?;
    session
        .upload(&kv_path, flat.as_bytes(), 0o600)
        .map_err(|e| ssh_failed("uploading the task", e))?;
    let body = format!(
        "cd {d}/scripts || exit 1\nPATH={d}/scripts:$PATH\nWEFT_TASK_JSON={json}\nWEFT_TASK_KV={kv}\n\
         export PATH WEFT_TASK_JSON WEFT_TASK_KV\n. {d}/lib.sh\n{script} {args}\n",
        d = quote(dir),
        json = quote(&json_path),
        kv = quote(&kv_path),
    );
    let sudo = if is_root(&task) { "" } else { "sudo -E " };
    let command = format!("{sudo}sh -c {}", quote(&body));
    log::with_fields(
        log::Level::Info,
        "running",
        &[("action", name), ("script", &script)],
    );
    let out = session
        .exec(&command)
        .map_err(|e| ssh_failed("running the script", e))?;
    log_output(&out.stdout, &out.stderr);
    if out.exit_code != 0 {
        let tail: String = out
            .stderr
            .trim()
            .chars()
            .rev()
            .take(2000)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        return Err(failed(format!(
            "{name}: '{script}' exited with {}{}",
            out.exit_code,
            if tail.is_empty() {
                String::new()
            } else {
                format!(": {tail}")
            }
        )));
    }
    Ok(TaskResult::empty())
}

/// Uploads the live resources of one type; a task with no resources granted uploads none.
fn upload_resources(session: &ssh::Session, dir: &str, kind: &str) -> Result<usize, PluginError> {
    let entries = match resources::entries(&format!("{kind}/")) {
        Ok(entries) => entries,
        Err(resources::ResourceError::NotFound(_)) | Err(resources::ResourceError::Denied(_)) => {
            return Ok(0);
        }
        Err(e) => return Err(failed(format!("reading {kind} resources: {e:?}"))),
    };
    let mut count = 0;
    for entry in entries.iter().filter(|e| !e.ends_with('/')) {
        let name = entry.rsplit('/').next().unwrap_or(entry);
        let bytes = resources::read(&format!("{kind}/{name}"))
            .map_err(|e| failed(format!("reading {kind}/{name}: {e:?}")))?;
        let path = format!("{dir}/{kind}/{name}");
        let mode = if kind == "scripts" { 0o755 } else { 0o644 };
        session
            .upload(&path, &bytes, mode)
            .map_err(|e| ssh_failed(&format!("uploading {kind}/{name}"), e))?;
        if kind == "archives" {
            session
                .run(&format!(
                    "tar -xzf {} -C {}",
                    quote(&path),
                    quote(&format!("{dir}/archives"))
                ))
                .map_err(|e| ssh_failed(&format!("unpacking {name}"), e))?;
        }
        count += 1;
    }
    Ok(count)
}

impl Automator for Shell {
    fn describe() -> PluginSpec {
        let text = |name: &str, label: &str, tip: &str| FieldSchema {
            name: name.into(),
            label: label.into(),
            input_type: "text".into(),
            tip: Some(tip.into()),
            options: vec![],
            default_json: None,
            overridable: false,
            sensitive: false,
        };
        PluginSpec {
            admin: ParameterSet {
                fields: vec![
                    text("script", "Script", "The script or command to run"),
                    text("args", "Arguments", "The arguments to the script"),
                ],
                required: vec![vec!["script".into()]],
            },
            resource_types: vec![
                ResourceType {
                    name: "scripts".into(),
                    format: ResourceFormat::File,
                    permissions: Some("0755".into()),
                },
                ResourceType {
                    name: "archives".into(),
                    format: ResourceFormat::Archive,
                    permissions: None,
                },
            ],
            needs: CapabilityRequest {
                http_hosts: vec![],
                unix_sockets: vec![],
                ssh: true,
            },
            ..PluginSpec::new(
                "shell",
                "service actions as shell commands run on the node over SSH",
            )
        }
    }

    fn validate(fields: Vec<KeyValue>) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if !fields
            .iter()
            .any(|kv| kv.key == "script" && !kv.value.trim().is_empty())
        {
            errors.push(FieldError {
                field: "script".into(),
                message: "is required".into(),
            });
        }
        for kv in &fields {
            if kv.key != "script" && kv.key != "args" {
                errors.push(FieldError {
                    field: kv.key.clone(),
                    message: "is not a field of the shell automator (script, args)".into(),
                });
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn bootstrap(task: Task) -> Result<TaskResult, PluginError> {
        let dir = base_dir(&task);
        let session = open(&task)?;
        prepare(&session, dir)?;
        let scripts = upload_resources(&session, dir, "scripts")?;
        let archives = upload_resources(&session, dir, "archives")?;
        log::with_fields(
            log::Level::Info,
            "bootstrapped",
            &[
                ("scripts", &scripts.to_string()),
                ("archives", &archives.to_string()),
            ],
        );
        Ok(TaskResult::empty())
    }

    fn install(task: Task) -> Result<TaskResult, PluginError> {
        action(task, "install")
    }
    fn configure(task: Task) -> Result<TaskResult, PluginError> {
        action(task, "configure")
    }
    fn initialize(task: Task) -> Result<TaskResult, PluginError> {
        action(task, "initialize")
    }
    fn start(task: Task) -> Result<TaskResult, PluginError> {
        action(task, "start")
    }
    fn stop(task: Task) -> Result<TaskResult, PluginError> {
        action(task, "stop")
    }
    fn remove(task: Task) -> Result<TaskResult, PluginError> {
        action(task, "remove")
    }
}

export_automator!(Shell);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattening_escapes_and_joins() {
        let mut out = String::new();
        flatten(
            &json!({"config": {"cluster": {"a": "x\ty\nz\\"}, "services": ["s1", "s2"], "n": 3}}),
            "",
            &mut out,
        );
        assert_eq!(
            out,
            "config/cluster/a\tx\\ty\\nz\\\\\nconfig/n\t3\nconfig/services\ts1,s2\n\
             config/services/0\ts1\nconfig/services/1\ts2\n"
        );
    }

    /// The helper library in a real `sh` and `awk` reads back what `flatten` wrote.
    #[test]
    fn lookup_reads_flattened_values_back() {
        let dir = std::env::temp_dir().join(format!("weft-shell-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut flat = String::new();
        let value = "two\nlines and a \\ backslash\ttab";
        flatten(
            &json!({"config": {"cluster": {"redis": {"replicaof": "10.0.0.5 6379"}, "odd": value}}}),
            "",
            &mut flat,
        );
        std::fs::write(dir.join("task.kv"), flat).unwrap();
        std::fs::write(dir.join("lib.sh"), LIBRARY).unwrap();
        let lookup = |key: &str| {
            std::process::Command::new("sh")
                .arg("-c")
                .arg(format!(". ./lib.sh && coopr_lookup_key {}", quote(key)))
                .current_dir(&dir)
                .env("WEFT_TASK_KV", dir.join("task.kv"))
                .output()
                .unwrap()
        };
        let found = lookup("config/cluster/redis/replicaof");
        assert!(found.status.success());
        assert_eq!(String::from_utf8_lossy(&found.stdout), "10.0.0.5 6379\n");
        assert_eq!(
            String::from_utf8_lossy(&lookup("config/cluster/odd").stdout),
            format!("{value}\n")
        );
        assert!(!lookup("config/cluster/missing").status.success());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn quoting_survives_single_quotes() {
        assert_eq!(quote("it's"), r"'it'\''s'");
    }
}
