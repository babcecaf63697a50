//! An automator whose `install` runs the steps in the service action field `steps`, one per
//! line, so host tests can use every capability from a real component:
//!
//! ```text
//! get URL                  GET, result: status and body
//! get-with-auth URL        GET with an authorization header the plugin may not set
//! unix SOCKET PATH         GET over a granted Unix socket
//! exec COMMAND             over SSH to the task's target
//! exec-on TARGET COMMAND   over SSH to a named target
//! upload PATH TEXT         over SSH
//! download PATH            over SSH
//! read PATH                from the plugin's resources
//! entries DIR              of the plugin's resources
//! reveal NAME              a secret, returned as a result (the host scrubs it)
//! hold-secrets N NAME      N handles to one secret at once
//! ```
//!
//! Results are `step-N`; the first failing step fails the task with its error.

use weft_plugin_sdk::{
    Automator, CapabilityRequest, PluginError, PluginSpec, ResourceFormat, ResourceType, Task,
    TaskResult, export_automator, http, log, resources, secrets, ssh,
};

struct Capabilities;

fn step(task: &Task, line: &str) -> Result<String, String> {
    let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
    let target = || task.ssh_target.clone().unwrap_or_default();
    let ssh_err = |e: ssh::SshError| format!("{e:?}");
    match verb {
        "get" => http::get(rest)
            .map(|r| format!("{} {}", r.status, r.text()))
            .map_err(|e| e.to_string()),
        "get-with-auth" => http::Request::get(rest)
            .header("authorization", "Bearer stolen")
            .send()
            .map(|r| format!("{} {}", r.status, r.text()))
            .map_err(|e| e.to_string()),
        "unix" => {
            let (socket, path) = rest.split_once(' ').unwrap_or((rest, "/"));
            http::Request::unix_socket(socket, "GET", path)
                .send()
                .map(|r| format!("{} {}", r.status, r.text()))
                .map_err(|e| e.to_string())
        }
        "exec" => {
            let out = ssh::open(&target())
                .map_err(ssh_err)?
                .exec(rest)
                .map_err(ssh_err)?;
            Ok(format!("{} {}{}", out.exit_code, out.stdout, out.stderr))
        }
        "exec-on" => {
            let (name, command) = rest.split_once(' ').unwrap_or((rest, "true"));
            let out = ssh::open(name)
                .map_err(ssh_err)?
                .exec(command)
                .map_err(ssh_err)?;
            Ok(format!("{} {}", out.exit_code, out.stdout))
        }
        "upload" => {
            let (path, text) = rest.split_once(' ').unwrap_or((rest, ""));
            ssh::open(&target())
                .map_err(ssh_err)?
                .upload(path, text.as_bytes(), 0o600)
                .map_err(ssh_err)?;
            Ok("uploaded".into())
        }
        "download" => {
            let data = ssh::open(&target())
                .map_err(ssh_err)?
                .download(rest)
                .map_err(ssh_err)?;
            Ok(String::from_utf8_lossy(&data).into_owned())
        }
        "read" => resources::read_string(rest).map_err(|e| format!("{e:?}")),
        "entries" => resources::entries(rest)
            .map(|names| names.join(","))
            .map_err(|e| format!("{e:?}")),
        "reveal" => {
            let secret = secrets::get(rest).map_err(|e| format!("{e:?}"))?;
            let value = secret.reveal();
            log::info(&format!("revealed {}: {value}", secret.name()));
            Ok(value)
        }
        "hold-secrets" => {
            let (count, name) = rest.split_once(' ').unwrap_or(("1", rest));
            let count: usize = count
                .parse()
                .map_err(|_| format!("'{count}' is no count"))?;
            let mut held = Vec::new();
            for _ in 0..count {
                held.push(secrets::get(name).map_err(|e| format!("{e:?}"))?);
            }
            Ok(format!("holding {}", held.len()))
        }
        other => Err(format!("unknown step '{other}'")),
    }
}

impl Automator for Capabilities {
    fn describe() -> PluginSpec {
        PluginSpec {
            needs: CapabilityRequest {
                http_hosts: vec!["https://api.example.com".into()],
                unix_sockets: vec!["/var/run/docker.sock".into()],
                ssh: true,
            },
            resource_types: vec![ResourceType {
                name: "files".into(),
                format: ResourceFormat::File,
                permissions: None,
            }],
            ..PluginSpec::new(
                "test-capabilities",
                "uses the host's capabilities on request",
            )
        }
    }

    fn install(task: Task) -> Result<TaskResult, PluginError> {
        let steps = task.action_field("steps").unwrap_or_default().to_string();
        let mut result = TaskResult::empty();
        for (i, line) in steps.lines().filter(|l| !l.trim().is_empty()).enumerate() {
            match step(&task, line.trim()) {
                Ok(value) => result = result.with(&format!("step-{i}"), &value),
                Err(error) => {
                    return Err(PluginError::Failed(format!("step {i} ({line}): {error}")));
                }
            }
        }
        Ok(result)
    }
}

export_automator!(Capabilities);
