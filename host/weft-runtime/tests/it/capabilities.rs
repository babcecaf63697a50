//! Every capability from a real component (`test-capabilities`), against real endpoints: an
//! HTTP server on loopback, one on a Unix socket, a real sshd, a resource folder. Each refusal
//! is checked, and after each the runtime still serves other tasks.

use std::collections::BTreeMap;
use std::path::Path;

use axum::Router;
use axum::http::HeaderMap;
use weft_grants::{Grants, HttpGrant};
use weft_runtime::{
    Capabilities, Credential, Operation, Plugin, TaskFailure, TaskOutcome, UNIX_SOCKET_HEADER,
};
use weft_ssh::{HostKeyPolicy, KeyPair, Target};
use weft_testkit::sshd::Sshd;

use super::{Fixture, fixture, kv, limits, task};

async fn echo(headers: HeaderMap, uri: axum::http::Uri, _body: String) -> String {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("none");
    format!("{} auth={auth}", uri.path())
}

/// An HTTP server on 127.0.0.1; returns its port.
async fn http_server() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        axum::serve(listener, Router::new().fallback(echo))
            .await
            .unwrap()
    });
    port
}

async fn unix_server(path: &Path) {
    let listener = tokio::net::UnixListener::bind(path).unwrap();
    tokio::spawn(async move {
        axum::serve(listener, Router::new().fallback(echo))
            .await
            .unwrap()
    });
}

fn grants(http: &[&str]) -> Grants {
    Grants {
        http: http.iter().map(|g| HttpGrant::parse(g).unwrap()).collect(),
        ..Grants::none()
    }
}

struct Capable {
    f: Fixture,
    plugin: Plugin,
}

async fn capable() -> Capable {
    let f = fixture(50);
    let plugin = f
        .runtime
        .load(&weft_test_plugins::component("test-capabilities"))
        .unwrap();
    Capable { f, plugin }
}

impl Capable {
    async fn steps(&self, steps: &str, caps: &Capabilities) -> TaskOutcome {
        let mut t = task("");
        t.service.as_mut().unwrap().fields = vec![kv("steps", steps)];
        t.ssh_target = Some("node-a".into());
        self.f
            .runtime
            .run(&self.plugin, Operation::Install, &t, caps, &limits())
            .await
    }

    async fn ok(&self, steps: &str, caps: &Capabilities) -> Vec<String> {
        let outcome = self.steps(steps, caps).await;
        let result = outcome.result.unwrap_or_else(|e| panic!("{steps}: {e}"));
        result.results.into_iter().map(|kv| kv.value).collect()
    }

    async fn denied(&self, steps: &str, caps: &Capabilities) -> String {
        match self.steps(steps, caps).await.result {
            Err(TaskFailure::Denied(reason)) => reason,
            other => panic!("{steps}: expected a denial, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn http_reaches_only_granted_endpoints_and_addresses() {
    let c = capable().await;
    let port = http_server().await;
    let url = format!("http://127.0.0.1:{port}/v1/things");

    // an empty grant denies everything
    let reason = c.denied(&format!("get {url}"), &Capabilities::none()).await;
    assert!(reason.contains("is not granted"), "{reason}");
    // an ungranted host, though another one is granted
    let other = Capabilities {
        grants: grants(&["https://api.example.com"]),
        ..Capabilities::none()
    };
    let reason = c.denied(&format!("get {url}"), &other).await;
    assert!(reason.contains("is not granted"), "{reason}");
    // the cloud metadata address
    let reason = c
        .denied("get http://169.254.169.254/latest/meta-data/", &other)
        .await;
    assert!(reason.contains("169.254.169.254"), "{reason}");
    // a granted name that resolves to a loopback address
    let by_name = Capabilities {
        grants: grants(&[&format!("http://localhost:{port}")]),
        ..Capabilities::none()
    };
    let reason = c
        .denied(&format!("get http://localhost:{port}/x"), &by_name)
        .await;
    assert!(
        reason.contains("loopback") && reason.contains("only a grant naming"),
        "{reason}"
    );

    // loopback is reachable when the grant names the address itself
    let named = Capabilities {
        grants: grants(&[&format!("http://127.0.0.1:{port}")]),
        ..Capabilities::none()
    };
    assert_eq!(
        c.ok(&format!("get {url}"), &named).await,
        vec!["200 /v1/things auth=none"]
    );
    // ... on that port only
    let reason = c
        .denied(&format!("get http://127.0.0.1:{}/", port + 1), &named)
        .await;
    assert!(reason.contains("is not granted"), "{reason}");
    c.f.still_serves().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_host_owns_the_authorization_header() {
    let c = capable().await;
    let port = http_server().await;
    let endpoint = format!("http://127.0.0.1:{port}");
    let caps = Capabilities {
        grants: grants(&[&endpoint]),
        credentials: vec![Credential {
            endpoint: HttpGrant::parse(&endpoint).unwrap(),
            authorization: "Bearer host-held".into(),
        }],
        ..Capabilities::none()
    };
    // the plugin may not set it ...
    let reason = c.denied(&format!("get-with-auth {endpoint}/"), &caps).await;
    assert!(reason.contains("authorization"), "{reason}");
    // ... the host sets it for the granted endpoint
    let outcome = c.steps(&format!("get {endpoint}/me"), &caps).await;
    let result = outcome.result.unwrap();
    assert_eq!(result.results[0].value, "200 /me auth=Bearer host-held");
    assert_eq!(outcome.audit[0].action, "http.request");
    assert_eq!(outcome.audit[0].detail, format!("GET {endpoint}/me"));
    c.f.still_serves().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_granted_unix_socket_speaks_http() {
    let c = capable().await;
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("engine.sock");
    unix_server(&socket).await;
    let socket = socket.to_str().unwrap().to_string();
    let step = format!("unix {socket} /v1.43/containers/json");
    let reason = c.denied(&step, &Capabilities::none()).await;
    assert!(reason.contains("is not granted"), "{reason}");
    let caps = Capabilities {
        grants: Grants {
            unix_sockets: vec![socket.clone()],
            ..Grants::none()
        },
        ..Capabilities::none()
    };
    assert_eq!(
        c.ok(&step, &caps).await,
        vec!["200 /v1.43/containers/json auth=none"]
    );
    assert!(!UNIX_SOCKET_HEADER.is_empty());
    c.f.still_serves().await;
}

fn ssh_caps(sshd: &Sshd, key: &KeyPair, host_key: HostKeyPolicy) -> Capabilities {
    Capabilities {
        ssh: BTreeMap::from([(
            "node-a".to_string(),
            Target {
                address: sshd.address.clone(),
                user: sshd.user.clone(),
                key: key.clone(),
                host_key,
            },
        )]),
        ..Capabilities::none()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ssh_reaches_the_granted_node_with_its_pinned_host_key_only() {
    let c = capable().await;
    let key = KeyPair::generate();
    let sshd = Sshd::start(&key.public_openssh());
    let pinned = ssh_caps(&sshd, &key, HostKeyPolicy::Pinned(sshd.host_key.clone()));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("note.txt");
    let file = file.to_str().unwrap();

    let outcome = c
        .steps(
            &format!("exec echo hello\nupload {file} from the plugin\ndownload {file}"),
            &pinned,
        )
        .await;
    let values: Vec<String> = outcome
        .result
        .unwrap()
        .results
        .into_iter()
        .map(|kv| kv.value)
        .collect();
    assert_eq!(values, vec!["0 hello\n", "uploaded", "from the plugin"]);
    let actions: Vec<&str> = outcome.audit.iter().map(|a| a.action).collect();
    assert_eq!(
        actions,
        vec![
            "ssh.open",
            "ssh.exec",
            "ssh.open",
            "ssh.upload",
            "ssh.open",
            "ssh.download"
        ]
    );
    // every command is in the task's log
    assert!(
        outcome.log.iter().any(|l| l.message == "ssh exec"
            && l.fields.contains(&("command".into(), "echo hello".into())))
    );
    assert!(outcome.learned_host_keys.is_empty());

    // another target is not granted
    let reason = c.denied("exec-on node-b true", &pinned).await;
    assert_eq!(reason, "ssh target 'node-b' is not granted to this task");
    // a node whose host key changed is refused
    let stale = ssh_caps(
        &sshd,
        &key,
        HostKeyPolicy::Pinned(KeyPair::generate().public_openssh()),
    );
    let reason = c.denied("exec true", &stale).await;
    assert!(reason.contains("not the pinned"), "{reason}");
    // first contact (CONFIRM) learns the key to pin
    let first = ssh_caps(&sshd, &key, HostKeyPolicy::PinOnFirstUse);
    let outcome = c.steps("exec true", &first).await;
    assert!(outcome.result.is_ok(), "{:?}", outcome.result);
    assert_eq!(
        outcome.learned_host_keys,
        vec![("node-a".to_string(), sshd.host_key.clone())]
    );
    c.f.still_serves().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn resources_are_read_only_and_confined_to_the_plugin_folder() {
    let c = capable().await;
    let tenant = tempfile::tempdir().unwrap();
    let root = tenant.path().join("plugins/test-capabilities");
    std::fs::create_dir_all(root.join("cookbooks")).unwrap();
    std::fs::write(root.join("cookbooks/base.rb"), "package 'nginx'").unwrap();
    std::fs::write(tenant.path().join("other-plugin-secret.txt"), "keep out").unwrap();
    std::os::unix::fs::symlink(
        tenant.path().join("other-plugin-secret.txt"),
        root.join("escape"),
    )
    .unwrap();
    let caps = Capabilities {
        resources: Some(root.clone()),
        ..Capabilities::none()
    };
    assert_eq!(
        c.ok("read cookbooks/base.rb\nentries .", &caps).await,
        vec!["package 'nginx'", "cookbooks/,escape"]
    );
    for outside in [
        "read ../../other-plugin-secret.txt",
        "read /etc/passwd",
        "read escape",
    ] {
        let reason = c.denied(outside, &caps).await;
        assert!(reason.contains("outside"), "{outside}: {reason}");
    }
    let reason = c
        .denied("read cookbooks/base.rb", &Capabilities::none())
        .await;
    assert!(reason.contains("none are granted"), "{reason}");
    c.f.still_serves().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_are_handles_whose_reveals_are_audited_and_scrubbed() {
    let c = capable().await;
    let caps = Capabilities {
        secrets: BTreeMap::from([("api_key".to_string(), "sk-live-12345".to_string())]),
        ..Capabilities::none()
    };
    let outcome = c.steps("reveal api_key", &caps).await;
    let result = outcome.result.unwrap();
    // the plugin got the value, but nothing it returned or logged keeps it
    assert_eq!(result.results[0].value, "[redacted]");
    assert_eq!(outcome.log[0].message, "revealed api_key: [redacted]");
    assert_eq!(outcome.audit.len(), 1);
    assert_eq!(
        (outcome.audit[0].action, outcome.audit[0].detail.as_str()),
        ("secret.reveal", "api_key")
    );
    let missing = c.steps("reveal other", &caps).await;
    assert!(matches!(missing.result, Err(TaskFailure::Plugin(_))));
    c.f.still_serves().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_wall_clock_cancels_a_hung_ssh_command_or_http_call() {
    let c = capable().await;
    let short = weft_runtime::TaskLimits {
        wall: std::time::Duration::from_secs(1),
        ..limits()
    };
    let run = |steps: &str, caps: Capabilities| {
        let mut t = task("");
        t.service.as_mut().unwrap().fields = vec![kv("steps", steps)];
        t.ssh_target = Some("node-a".into());
        let c = &c;
        let short = short.clone();
        async move {
            let started = std::time::Instant::now();
            let outcome =
                c.f.runtime
                    .run(&c.plugin, Operation::Install, &t, &caps, &short)
                    .await;
            (outcome, started.elapsed())
        }
    };
    let key = KeyPair::generate();
    let sshd = Sshd::start(&key.public_openssh());
    let ssh = ssh_caps(&sshd, &key, HostKeyPolicy::Pinned(sshd.host_key.clone()));
    let (outcome, took) = run("exec sleep 30", ssh.clone()).await;
    assert_eq!(
        outcome.result.unwrap_err(),
        TaskFailure::Timeout(std::time::Duration::from_secs(1))
    );
    assert!(took < std::time::Duration::from_secs(5), "{took:?}");

    // the log streams while the task runs: the command's line arrives before the timeout
    let (live, mut lines) = tokio::sync::mpsc::unbounded_channel();
    let mut t = task("");
    t.service.as_mut().unwrap().fields = vec![kv("steps", "exec sleep 30")];
    t.ssh_target = Some("node-a".into());
    let running =
        c.f.runtime
            .run_streaming(&c.plugin, Operation::Install, &t, &ssh, &short, Some(live));
    let started = std::time::Instant::now();
    let ((first, seen), ended) =
        tokio::join!(async { (lines.recv().await, started.elapsed()) }, async {
            running.await;
            started.elapsed()
        });
    assert!(
        seen + std::time::Duration::from_millis(500) < ended,
        "the line came at {seen:?}, the task ended at {ended:?}"
    );
    let first = first.unwrap();
    assert_eq!(first.message, "ssh exec");
    assert!(
        first
            .fields
            .contains(&("command".into(), "sleep 30".into()))
    );

    // a server that accepts and never answers
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let http = Capabilities {
        grants: grants(&[&format!("http://127.0.0.1:{port}")]),
        ..Capabilities::none()
    };
    let (outcome, took) = run(&format!("get http://127.0.0.1:{port}/"), http).await;
    assert_eq!(
        outcome.result.unwrap_err(),
        TaskFailure::Timeout(std::time::Duration::from_secs(1))
    );
    assert!(took < std::time::Duration::from_secs(5), "{took:?}");
    c.f.still_serves().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn host_resources_a_task_holds_are_capped() {
    let c = capable().await;
    let caps = Capabilities {
        secrets: BTreeMap::from([("token".to_string(), "value-1234".to_string())]),
        ..Capabilities::none()
    };
    assert_eq!(c.ok("hold-secrets 5 token", &caps).await, vec!["holding 5"]);
    let outcome = c.steps("hold-secrets 500 token", &caps).await;
    assert_eq!(
        outcome.result.unwrap_err(),
        TaskFailure::TooManyResources(32)
    );
    c.f.still_serves().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_python_plugin_speaks_http_through_the_same_checks() {
    let f = fixture(5);
    let python = f
        .runtime
        .load(&weft_test_plugins::example("python-provider"))
        .unwrap();
    let port = http_server().await;
    let endpoint = format!("http://127.0.0.1:{port}");
    let mut t = task("");
    t.provider_fields = vec![kv("endpoint", &format!("{endpoint}/nodes"))];
    let caps = Capabilities {
        grants: grants(&[&endpoint]),
        credentials: vec![Credential {
            endpoint: HttpGrant::parse(&endpoint).unwrap(),
            authorization: "Bearer from-the-host".into(),
        }],
        ..Capabilities::none()
    };
    let outcome = f
        .runtime
        .run(&python, Operation::Create, &t, &caps, &limits())
        .await;
    let result = outcome
        .result
        .unwrap_or_else(|e| panic!("{e}\n{}", outcome.stderr));
    assert!(
        result
            .results
            .contains(&kv("registered", "200 /nodes auth=Bearer from-the-host")),
        "{:?}",
        result.results
    );
    // ungranted: the plugin's error names the refusal, and the task is a denial
    let outcome = f
        .runtime
        .run(
            &python,
            Operation::Create,
            &t,
            &Capabilities::none(),
            &limits(),
        )
        .await;
    assert!(
        matches!(&outcome.result, Err(TaskFailure::Denied(m)) if m.contains("is not granted")),
        "{:?}",
        outcome.result
    );
    f.still_serves().await;
}
