//! A plugin unit-tested natively against the mock host (feature `testing`).
#![cfg(feature = "testing")]

use weft_plugin_sdk::http::{self, HttpError, Response};
use weft_plugin_sdk::ssh::{self, ExecOutput, SshError};
use weft_plugin_sdk::testing::MockHost;
use weft_plugin_sdk::{
    Automator, CapabilityRequest, KeyValue, NodeInfo, PluginError, PluginSpec, ServiceAction, Task,
    TaskResult, log, resources, secrets,
};

struct Deployer;

impl Automator for Deployer {
    fn describe() -> PluginSpec {
        PluginSpec {
            needs: CapabilityRequest {
                http_hosts: vec!["https://registry.example.com".into()],
                unix_sockets: vec![],
                ssh: true,
            },
            ..PluginSpec::new("deployer", "installs a package and registers the node")
        }
    }

    fn install(task: Task) -> Result<TaskResult, PluginError> {
        let package = task.action_field("package").unwrap_or("nginx");
        let node = ssh::open(task.ssh_target.as_deref().unwrap_or_default())
            .map_err(|e| PluginError::Failed(format!("{e:?}")))?;
        node.run(&format!("apt-get install -y {package}"))
            .map_err(|e| PluginError::Transient(format!("{e:?}")))?;
        let config = resources::read_string("templates/site.conf")
            .map_err(|e| PluginError::Failed(format!("{e:?}")))?;
        node.upload("/etc/nginx/site.conf", config.as_bytes(), 0o644)
            .map_err(|e| PluginError::Failed(format!("{e:?}")))?;
        let token = secrets::get("registry_token")
            .map_err(|e| PluginError::Failed(format!("{e:?}")))?
            .reveal();
        let registered = http::Request::post("https://registry.example.com/nodes")
            .header("x-registry-token", &token)
            .body(task.node.id.clone())
            .send()
            .map_err(|e| PluginError::Transient(e.to_string()))?;
        log::info(&format!("registered: {}", registered.status));
        Ok(TaskResult::empty().with("registered", &registered.text()))
    }
}

fn task() -> Task {
    let node = NodeInfo {
        id: "node-1".into(),
        nodenum: 1001,
        hostname: None,
        ip_addresses: vec![],
        hardwaretype: "small".into(),
        imagetype: "debian".into(),
        flavor: None,
        image: None,
        ssh_user: None,
        services: vec!["web".into()],
        automators: vec!["deployer".into()],
    };
    Task {
        id: "t-1".into(),
        cluster_id: "c-1".into(),
        node: node.clone(),
        nodes: vec![node],
        config_json: "{}".into(),
        provider_fields: vec![],
        service: Some(ServiceAction {
            name: "web".into(),
            fields: vec![KeyValue {
                key: "package".into(),
                value: "nginx-light".into(),
            }],
        }),
        prior_results: vec![],
        ssh_target: Some("node-1".into()),
    }
}

#[test]
fn a_plugin_runs_natively_against_the_mock_host() {
    let host = MockHost::new()
        .ssh_target("node-1", |command| ExecOutput::ok(format!("ran {command}")))
        .resource("templates/site.conf", "server {}")
        .secret("registry_token", "t0ken")
        .http(
            "POST",
            "https://registry.example.com/nodes",
            Response::new(201, "ok"),
        );
    host.install();
    let result = Deployer::install(task()).unwrap();
    assert_eq!(result.results[0].value, "ok");
    assert_eq!(
        host.commands(),
        vec![("node-1".into(), "apt-get install -y nginx-light".into())]
    );
    assert_eq!(host.uploads()[0].1, "/etc/nginx/site.conf");
    assert_eq!(host.uploads()[0].2, b"server {}");
    assert_eq!(host.reveals(), vec!["registry_token".to_string()]);
    assert_eq!(host.requests()[0].body, b"node-1");
    assert_eq!(host.logs()[0].message, "registered: 201");
}

#[test]
fn the_mock_host_keeps_the_real_hosts_rules() {
    MockHost::new()
        .ssh_target("node-1", |_| ExecOutput::failed(1, "no"))
        .install();
    assert!(matches!(ssh::open("node-2"), Err(SshError::Denied(_))));
    let node = ssh::open("node-1").unwrap();
    assert!(node.run("false").is_err());
    assert!(matches!(
        http::get("https://elsewhere.example.com/"),
        Err(HttpError::Denied(_))
    ));
    assert!(matches!(
        http::Request::get("https://elsewhere.example.com/")
            .header("Authorization", "Bearer x")
            .send(),
        Err(HttpError::ForbiddenHeader(_))
    ));
    assert!(resources::read("../../etc/passwd").is_err());
    assert!(secrets::get("nothing").is_err());
    // the plugin's unimplemented operations answer Unsupported
    assert!(matches!(
        Deployer::start(task()),
        Err(PluginError::Unsupported(_))
    ));
}
