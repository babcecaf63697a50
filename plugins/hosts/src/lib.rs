//! The `hosts` provider: each node is a machine drawn from a pool of existing machines (Coopr's
//! users asked for node pools). An admin registers the pool on the server (`/v2/pools`): the
//! machines' addresses and pinned host keys, and the login the host uses to reach them. The
//! provider's `pool` field names the pool; the host hands this plugin each machine as an SSH
//! target `pool/<machine>` and keeps the login key itself.
//!
//! - CREATE claims a free machine for the node. The claim lives on the machine itself: a
//!   symbolic link `~/.weft-pool/claim` whose target names the tenant, cluster and node.
//!   Making a link is atomic, so two nodes never claim one machine, even from two workers; a
//!   retry or a restart finds the claim it made instead of taking a second machine. Then the
//!   cluster's public key is authorised for the pool's login user, marked with the node's id,
//!   and the node's addresses are reported: `access_v4` and `ssh_port` from the pool, `bind_v4`
//!   the machine's own first address (for services to talk to each other).
//! - CONFIRM waits until the node answers on SSH with the cluster's key.
//! - DELETE runs the pool's cleanup command, removes the node's key and the claim, and the
//!   machine is free again. Deleting a node whose claim is gone succeeds.

use std::time::Duration;

use serde_json::Value;
use weft_plugin_sdk::{
    CapabilityRequest, FieldError, FieldSchema, KeyValue, ParameterSet, PluginError, PluginSpec,
    Provider, Task, TaskResult, export_provider, log, ssh,
};

/// The provider task field with the pool's machines (names, addresses, host keys) and cleanup.
const POOL_TASK_FIELD: &str = "weft-pool";
/// The provider task field with the cluster's public key.
const PUBLIC_KEY_FIELD: &str = "weft-ssh-public-key";
/// How long CONFIRM waits for the node to take the cluster's key.
const SSH_WAIT: Duration = Duration::from_secs(30);

struct Hosts;

fn failed(message: impl Into<String>) -> PluginError {
    PluginError::Failed(message.into())
}

/// Quotes text for `sh` as one word.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

struct Machine {
    name: String,
    address: String,
    host_key: String,
}

impl Machine {
    fn target(&self) -> String {
        format!("pool/{}", self.name)
    }

    /// The host and port of the address (`host:port`, `[v6]:port`).
    fn host_port(&self) -> (String, String) {
        match self.address.rsplit_once(':') {
            Some((host, port)) => (
                host.trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_string(),
                port.to_string(),
            ),
            None => (self.address.clone(), "22".into()),
        }
    }

    fn session(&self) -> Result<ssh::Session, PluginError> {
        ssh::open(&self.target()).map_err(|e| {
            PluginError::Transient(format!(
                "machine '{}' ({}) cannot be reached: {e:?}",
                self.name, self.address
            ))
        })
    }

    fn exec(&self, command: &str) -> Result<String, PluginError> {
        let out = self
            .session()?
            .exec(command)
            .map_err(|e| PluginError::Transient(format!("on machine '{}': {e:?}", self.name)))?;
        if out.exit_code != 0 {
            return Err(failed(format!(
                "on machine '{}' a command exited with {}: {}",
                self.name,
                out.exit_code,
                out.stderr.trim()
            )));
        }
        Ok(out.stdout)
    }
}

struct Pool {
    name: String,
    cleanup: Option<String>,
    machines: Vec<Machine>,
}

impl Pool {
    fn of(task: &Task) -> Result<Pool, PluginError> {
        let text = task.provider_field(POOL_TASK_FIELD).ok_or_else(|| {
            failed("the task carries no pool: set the provider's 'pool' field to a pool registered at /v2/pools")
        })?;
        let pool: Value = serde_json::from_str(text)
            .map_err(|e| failed(format!("the task's pool is not JSON: {e}")))?;
        let text_of = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
        let machines = pool
            .get("machines")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|m| {
                Some(Machine {
                    name: text_of(m, "name")?,
                    address: text_of(m, "address")?,
                    host_key: text_of(m, "hostKey")?,
                })
            })
            .collect();
        Ok(Pool {
            name: text_of(&pool, "name").unwrap_or_default(),
            cleanup: text_of(&pool, "cleanup"),
            machines,
        })
    }
}

/// What a claim link points at: the node, with its tenant and cluster for people reading it.
fn owner(task: &Task) -> Result<String, PluginError> {
    let tag = |name: &str| {
        task.provider_field(name)
            .map(str::to_string)
            .ok_or_else(|| failed(format!("the task has no '{name}' tag")))
    };
    Ok(format!(
        "weft:{}:{}:{}",
        tag("weft-tenant")?,
        tag("weft-cluster")?,
        tag("weft-node")?
    ))
}

/// Prints the claim's owner, or nothing when the machine is free.
const READ_CLAIM: &str = "readlink \"$HOME/.weft-pool/claim\" 2>/dev/null || true";

/// Claims the machine for `owner` unless another holds it; prints `claimed` or `taken`.
fn claim_script(owner: &str) -> String {
    format!(
        "mkdir -p \"$HOME/.weft-pool\" && \
         if ln -s {o} \"$HOME/.weft-pool/claim\" 2>/dev/null; then echo claimed; \
         elif [ \"$(readlink \"$HOME/.weft-pool/claim\")\" = {o} ]; then echo claimed; \
         else echo taken; fi",
        o = quote(owner)
    )
}

/// Authorises the cluster's key for the login user, marked with the node, once; prints the
/// machine's first address.
fn authorize_script(public_key: &str, node: &str) -> String {
    let key: Vec<&str> = public_key.split_whitespace().take(2).collect();
    let line = format!("{} weft-node={node}", key.join(" "));
    format!(
        "umask 077 && mkdir -p \"$HOME/.ssh\" && touch \"$HOME/.ssh/authorized_keys\" && \
         {{ grep -qF {mark} \"$HOME/.ssh/authorized_keys\" || printf '%s\\n' {line} >> \"$HOME/.ssh/authorized_keys\"; }} && \
         {{ hostname -I 2>/dev/null | awk '{{print $1}}'; }}",
        mark = quote(&format!("weft-node={node}")),
        line = quote(&line),
    )
}

/// Removes the node's key and then the claim.
fn release_script(owner: &str, node: &str) -> String {
    format!(
        "if [ -f \"$HOME/.ssh/authorized_keys\" ]; then \
           grep -vF {mark} \"$HOME/.ssh/authorized_keys\" > \"$HOME/.ssh/authorized_keys.weft\" || true; \
           cat \"$HOME/.ssh/authorized_keys.weft\" > \"$HOME/.ssh/authorized_keys\"; \
           rm -f \"$HOME/.ssh/authorized_keys.weft\"; fi && \
         if [ \"$(readlink \"$HOME/.weft-pool/claim\" 2>/dev/null)\" = {o} ]; then rm -f \"$HOME/.weft-pool/claim\"; fi",
        mark = quote(&format!("weft-node={node}")),
        o = quote(owner)
    )
}

/// The machine this node holds: the one CREATE reported, else whichever claim names it.
/// Machines that cannot be reached are listed, not fatal: one dead machine must not stop a pool.
fn held<'a>(
    pool: &'a Pool,
    owner: &str,
    hint: Option<&str>,
) -> Result<(Option<&'a Machine>, Vec<&'a Machine>), PluginError> {
    let mut order: Vec<&Machine> = pool.machines.iter().collect();
    if let Some(hint) = hint {
        order.sort_by_key(|m| m.name != hint);
    }
    let mut unreachable = Vec::new();
    for machine in order {
        match machine.exec(READ_CLAIM) {
            Ok(claim) if claim.trim() == owner => return Ok((Some(machine), unreachable)),
            Ok(_) => {}
            Err(PluginError::Transient(why)) => {
                log::warn(&why);
                unreachable.push(machine);
            }
            Err(other) => return Err(other),
        }
    }
    Ok((None, unreachable))
}

fn names(machines: &[&Machine]) -> String {
    machines
        .iter()
        .map(|m| m.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn result_for(machine: &Machine, bind: &str, task: &Task) -> TaskResult {
    let (host, port) = machine.host_port();
    let mut result = TaskResult::empty()
        .with("providerid", &machine.name)
        .with("ssh_port", &port)
        .with("ssh_host_key", &machine.host_key);
    result.ip_addresses = vec![
        KeyValue {
            key: "access_v4".into(),
            value: host.clone(),
        },
        KeyValue {
            key: "bind_v4".into(),
            value: if bind.is_empty() { host } else { bind.into() },
        },
    ];
    result.hostname = task.node.hostname.clone();
    result
}

impl Provider for Hosts {
    fn describe() -> PluginSpec {
        PluginSpec {
            admin: ParameterSet {
                fields: vec![FieldSchema {
                    name: "pool".into(),
                    label: "Machine pool".into(),
                    input_type: "text".into(),
                    tip: Some("the pool registered at /v2/pools that nodes are drawn from".into()),
                    options: vec![],
                    default_json: None,
                    overridable: false,
                    sensitive: false,
                }],
                required: vec![vec!["pool".into()]],
            },
            needs: CapabilityRequest {
                http_hosts: vec![],
                unix_sockets: vec![],
                ssh: true,
            },
            ..PluginSpec::new(
                "hosts",
                "cluster nodes drawn from a pool of existing machines reached over SSH",
            )
        }
    }

    fn validate(fields: Vec<KeyValue>) -> Result<(), Vec<FieldError>> {
        let errors: Vec<FieldError> = fields
            .iter()
            .filter(|kv| kv.key == "pool" && kv.value.trim_matches('"').trim().is_empty())
            .map(|_| FieldError {
                field: "pool".into(),
                message: "must name a pool".into(),
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn create(task: Task) -> Result<TaskResult, PluginError> {
        let pool = Pool::of(&task)?;
        let owner = owner(&task)?;
        let node = task.node.id.clone();
        let public_key = task
            .provider_field(PUBLIC_KEY_FIELD)
            .ok_or_else(|| failed("the task carries no cluster public key"))?
            .to_string();
        // a claim this node made before (a retry, a restart) comes first
        let machine = match held(&pool, &owner, task.prior_result("providerid"))? {
            (Some(machine), _) => machine,
            (None, unreachable) => {
                let mut claimed = None;
                for machine in pool
                    .machines
                    .iter()
                    .filter(|m| !unreachable.iter().any(|u| u.name == m.name))
                {
                    match machine.exec(&claim_script(&owner)) {
                        Ok(answer) if answer.trim() == "claimed" => {
                            claimed = Some(machine);
                            break;
                        }
                        Ok(_) => {}
                        Err(PluginError::Transient(why)) => log::warn(&why),
                        Err(other) => return Err(other),
                    }
                }
                claimed.ok_or_else(|| {
                    let why = format!(
                        "pool '{}' has no free machine: of {}, the reachable ones are held by other nodes",
                        pool.name,
                        pool.machines.len()
                    );
                    if unreachable.is_empty() {
                        failed(why)
                    } else {
                        // a machine that comes back may be free
                        PluginError::Transient(format!(
                            "{why}, and {} cannot be reached",
                            names(&unreachable)
                        ))
                    }
                })?
            }
        };
        let bind = machine.exec(&authorize_script(&public_key, &node))?;
        log::with_fields(
            log::Level::Info,
            "claimed a machine",
            &[
                ("pool", &pool.name),
                ("machine", &machine.name),
                ("address", &machine.address),
            ],
        );
        Ok(result_for(machine, bind.trim(), &task))
    }

    fn confirm(task: Task) -> Result<TaskResult, PluginError> {
        let target = task
            .ssh_target
            .clone()
            .ok_or_else(|| failed("the host granted no SSH target for the node"))?;
        let waited = std::time::Instant::now();
        loop {
            match ssh::open(&target).and_then(|s| s.run("true").map(|_| ())) {
                Ok(()) => break,
                Err(e) if waited.elapsed() < SSH_WAIT => {
                    log::debug(&format!(
                        "the node does not take the cluster key yet: {e:?}"
                    ));
                    std::thread::sleep(Duration::from_millis(300));
                }
                Err(e) => {
                    return Err(PluginError::Transient(format!(
                        "the node did not answer with the cluster key within {}s: {e:?}",
                        SSH_WAIT.as_secs()
                    )));
                }
            }
        }
        Ok(TaskResult::empty())
    }

    fn delete(task: Task) -> Result<TaskResult, PluginError> {
        let pool = Pool::of(&task)?;
        let owner = owner(&task)?;
        let machine = match held(&pool, &owner, task.prior_result("providerid"))? {
            (Some(machine), _) => machine,
            (None, unreachable) if unreachable.is_empty() => {
                log::info("the node holds no machine of the pool; nothing to return");
                return Ok(TaskResult::empty());
            }
            // the claim may be on a machine that is down: never report it returned
            (None, unreachable) => {
                return Err(PluginError::Transient(format!(
                    "the node's machine was not found, and {} cannot be reached",
                    names(&unreachable)
                )));
            }
        };
        if let Some(cleanup) = &pool.cleanup {
            machine.exec(cleanup).map_err(|e| {
                failed(format!(
                    "the pool's cleanup failed, so machine '{}' stays held: {e:?}",
                    machine.name
                ))
            })?;
        }
        machine.exec(&release_script(&owner, &task.node.id))?;
        log::with_fields(
            log::Level::Info,
            "returned the machine to the pool",
            &[("pool", &pool.name), ("machine", &machine.name)],
        );
        Ok(TaskResult::empty())
    }
}

export_provider!(Hosts);

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a script in a real `sh` with `HOME` set to `home`.
    fn sh(home: &std::path::Path, script: &str) -> String {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .env("HOME", home)
            .output()
            .expect("sh runs");
        assert!(
            out.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn temp_home(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("weft-hosts-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp home");
        dir
    }

    #[test]
    fn a_machine_is_claimed_once_and_released_by_its_owner() {
        let home = temp_home("claim");
        assert_eq!(sh(&home, READ_CLAIM), "");
        assert_eq!(sh(&home, &claim_script("weft:t:c:n1")), "claimed");
        // the same node again (a retry) keeps it; another node does not get it
        assert_eq!(sh(&home, &claim_script("weft:t:c:n1")), "claimed");
        assert_eq!(sh(&home, &claim_script("weft:t:c:n2")), "taken");
        assert_eq!(sh(&home, READ_CLAIM), "weft:t:c:n1");
        // another node's release leaves the claim alone
        sh(&home, &release_script("weft:t:c:n2", "n2"));
        assert_eq!(sh(&home, READ_CLAIM), "weft:t:c:n1");
        sh(&home, &release_script("weft:t:c:n1", "n1"));
        assert_eq!(sh(&home, READ_CLAIM), "");
        assert_eq!(sh(&home, &claim_script("weft:t:c:n2")), "claimed");
        let _ = std::fs::remove_dir_all(&home);
    }

    #[test]
    fn the_cluster_key_is_authorised_once_and_removed_with_the_node() {
        let home = temp_home("keys");
        std::fs::create_dir_all(home.join(".ssh")).expect("ssh dir");
        std::fs::write(
            home.join(".ssh/authorized_keys"),
            "ssh-ed25519 AAAAadmin admin\n",
        )
        .expect("keys");
        let key = "ssh-ed25519 AAAAcluster weft-cluster";
        sh(&home, &authorize_script(key, "n1"));
        sh(&home, &authorize_script(key, "n1"));
        let keys = std::fs::read_to_string(home.join(".ssh/authorized_keys")).expect("keys");
        assert_eq!(
            keys,
            "ssh-ed25519 AAAAadmin admin\nssh-ed25519 AAAAcluster weft-node=n1\n"
        );
        sh(&home, &release_script("weft:t:c:n1", "n1"));
        let keys = std::fs::read_to_string(home.join(".ssh/authorized_keys")).expect("keys");
        assert_eq!(keys, "ssh-ed25519 AAAAadmin admin\n");
        let _ = std::fs::remove_dir_all(&home);
    }
}
