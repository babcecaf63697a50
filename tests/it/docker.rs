//! Real clusters on a real Docker engine: the bundled `docker` provider and `shell` automator
//! (WebAssembly components in the server's runtime) create containers from Weft's node image,
//! configure them over SSH, and the bundled catalog's services run in them. Every check is made
//! from outside, with `docker` itself.
//!
//! These tests need a Docker engine and the node image. They are `#[ignore]`d so a plain
//! `cargo test` without Docker lists them as not run; `just test` (and CI) starts dockerd,
//! builds the image and runs them with `--ignored` (`just test-docker`), where a missing engine
//! fails them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::fixture::{TOKEN, wait_for_status, wait_until};
use crate::process::{Server, weft};

const IMAGE: &str = "weft-node:bookworm";

/// Runs `docker` and answers its stdout; panics (with stderr) when it fails.
fn docker(args: &[&str]) -> String {
    let output = Command::new("docker")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("docker cannot run ({e}): start it with scripts/start-docker.sh")
        });
    assert!(
        output.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// Fails loudly unless the engine answers and the node image is there.
fn require_docker() {
    docker(&["info", "--format", "{{.ServerVersion}}"]);
    let image = Command::new("docker")
        .args(["image", "inspect", IMAGE])
        .output()
        .unwrap();
    assert!(
        image.status.success(),
        "the node image {IMAGE} is missing: build it with `just node-image`"
    );
}

fn catalog_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../catalog")
}

/// A server with the docker, hosts and shell plugins registered, a tenant `acme` with 4 workers and
/// the bundled catalog imported by its admin; answers the server and the admin's token.
async fn docker_server(data: &Path, extra: &[&str]) -> (Server, String) {
    require_docker();
    let mut args = vec![
        "--workers",
        "4",
        "--janitor-secs",
        "1",
        "--retry-backoff-ms",
        "500",
    ];
    args.extend_from_slice(extra);
    let server = Server::start(data, &args, &[("WEFT_BOOTSTRAP_TOKEN", TOKEN)]).await;
    for plugin in ["docker-provider", "hosts-provider", "shell-automator"] {
        let uploaded = server
            .upload_plugin(TOKEN, weft_test_plugins::component(plugin))
            .await;
        assert_eq!(uploaded, 201, "{plugin} registers");
    }
    let admin = tenant_admin(&server, "acme").await;
    let catalog = catalog_dir();
    let (ok, stderr) = weft(
        &[
            "catalog",
            "import",
            catalog.to_str().unwrap(),
            "--server",
            &server.url,
            "--token",
            &admin,
        ],
        &[],
    );
    assert!(ok, "the bundled catalog imports: {stderr}");
    (server, admin)
}

/// A tenant with 4 workers and an admin; answers the admin's token.
async fn tenant_admin(server: &Server, tenant: &str) -> String {
    let (status, body) = server
        .call(
            Method::POST,
            "/v2/tenants",
            TOKEN,
            Some(json!({"tenant": {"name": tenant, "workers": 4}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = server
        .call(
            Method::POST,
            &format!("/v2/tenants/{tenant}/users"),
            TOKEN,
            Some(json!({"name": "ann", "role": "admin"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["token"].as_str().unwrap().to_string()
}

async fn create(server: &Server, token: &str, name: &str, template: &str, size: u32) -> String {
    let (status, body) = server
        .call(
            Method::POST,
            "/v2/clusters",
            token,
            Some(json!({"name": name, "clusterTemplate": template, "numMachines": size})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["id"].as_str().unwrap().to_string()
}

/// Starts an operation and waits until the cluster is active again.
async fn operate(server: &Server, token: &str, id: &str, method: Method, path: &str, body: Value) {
    let (status, answer) = server
        .call(
            method,
            &format!("/v2/clusters/{id}{path}"),
            token,
            Some(body),
        )
        .await;
    assert_eq!(status, 200, "{path}: {answer}");
    // the job is started: the cluster is pending until it ends
    wait_for_status(server, token, id, "active").await;
    let (_, plans) = server
        .get(&format!("/v2/clusters/{id}/plans"), Some(token))
        .await;
    let last = plans
        .as_array()
        .and_then(|p| p.last())
        .cloned()
        .unwrap_or_default();
    assert_eq!(last["status"], "complete", "{path}: {last}");
}

/// The cluster's nodes: (node id, hostname, services, bind address).
async fn nodes(
    server: &Server,
    token: &str,
    id: &str,
) -> Vec<(String, String, Vec<String>, String)> {
    let (status, details) = server.get(&format!("/v2/clusters/{id}"), Some(token)).await;
    assert_eq!(status, 200, "{details}");
    details["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| {
            let props = &node["properties"];
            (
                node["id"].as_str().unwrap().to_string(),
                props["hostname"].as_str().unwrap_or_default().to_string(),
                props["services"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap().to_string())
                    .collect(),
                props["ipaddresses"]["bind_v4"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

fn container(node_id: &str) -> String {
    format!("weft-{node_id}")
}

/// `docker exec` in a node's container.
fn exec(node_id: &str, command: &str) -> String {
    docker(&["exec", &container(node_id), "sh", "-c", command])
}

/// Whose Docker objects a cluster's are: the tenant and cluster labels of one of its
/// containers (cluster ids repeat across tenants and servers; the pair does not).
#[derive(Debug, Clone)]
struct Owner {
    tenant: String,
    cluster: String,
}

fn owner(node_id: &str) -> Owner {
    let label = |key: &str| {
        docker(&[
            "inspect",
            "-f",
            &format!("{{{{index .Config.Labels \"{key}\"}}}}"),
            &container(node_id),
        ])
    };
    Owner {
        tenant: label("io.weft.tenant"),
        cluster: label("io.weft.cluster"),
    }
}

/// Docker objects labelled for the cluster: (containers, networks, volumes).
fn labelled(owner: &Owner) -> (Vec<String>, Vec<String>, Vec<String>) {
    let tenant = format!("label=io.weft.tenant={}", owner.tenant);
    let cluster = format!("label=io.weft.cluster={}", owner.cluster);
    let lines = |out: String| out.lines().map(str::to_string).collect::<Vec<_>>();
    let list = |what: &[&str]| {
        let mut args = what.to_vec();
        args.extend(["--filter", &tenant, "--filter", &cluster]);
        lines(docker(&args))
    };
    (
        list(&["ps", "-aq"]),
        list(&["network", "ls", "-q"]),
        list(&["volume", "ls", "-q"]),
    )
}

/// Removes what a test's clusters left when the test failed half way.
struct Leftovers(Vec<Owner>);

impl Drop for Leftovers {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        for owner in &self.0 {
            let (containers, networks, _) = labelled(owner);
            for id in containers {
                let _ = Command::new("docker")
                    .args(["rm", "-f", "-v", &id])
                    .output();
            }
            for id in networks {
                let _ = Command::new("docker").args(["network", "rm", &id]).output();
            }
        }
    }
}

async fn delete_and_check_nothing_remains(server: &Server, token: &str, id: &str, owner: &Owner) {
    let (status, body) = server
        .call(Method::DELETE, &format!("/v2/clusters/{id}"), token, None)
        .await;
    assert_eq!(status, 200, "{body}");
    wait_for_status(server, token, id, "terminated").await;
    let (containers, networks, volumes) = labelled(owner);
    assert!(
        containers.is_empty() && networks.is_empty() && volumes.is_empty(),
        "cluster {id} left containers {containers:?}, networks {networks:?}, volumes {volumes:?}"
    );
}

/// Polls `check` for up to 30 s until it answers true.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < Duration::from_secs(30), "never: {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[tokio::test]
#[ignore = "needs a Docker engine and the node image (just test runs it)"]
async fn redis_replicated_replicates_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let (server, admin) = docker_server(&dir.path().join("data"), &[]).await;
    let id = create(&server, &admin, "cache", "redis-replicated", 3).await;
    let status = wait_for_status(&server, &admin, &id, "active").await;
    assert_eq!(status["stepscompleted"], status["stepstotal"], "{status}");

    let nodes = nodes(&server, &admin, &id).await;
    assert_eq!(nodes.len(), 3);
    let primary: Vec<_> = nodes
        .iter()
        .filter(|n| n.2.contains(&"redis-primary".to_string()))
        .collect();
    let replicas: Vec<_> = nodes
        .iter()
        .filter(|n| n.2.contains(&"redis-replica".to_string()))
        .collect();
    assert_eq!((primary.len(), replicas.len()), (1, 2), "{nodes:?}");
    let owner = owner(&nodes[0].0);
    let _leftovers = Leftovers(vec![owner.clone()]);
    let (containers, networks, _) = labelled(&owner);
    assert_eq!(
        (containers.len(), networks.len()),
        (3, 1),
        "one container per node, one network"
    );

    // the replicas follow the primary at its address on the cluster network (the macro's value)
    for replica in &replicas {
        let config = exec(&replica.0, "cat /etc/redis/weft.conf");
        assert!(
            config.contains(&format!("replicaof {} 6379", primary[0].3)),
            "{config}"
        );
    }
    exec(&primary[0].0, "redis-cli set greeting 'hello from weft'");
    for replica in &replicas {
        eventually("the replica has the key", || {
            exec(&replica.0, "redis-cli get greeting") == "hello from weft"
        });
        assert!(exec(&replica.0, "redis-cli info replication").contains("role:slave"));
    }
    // a replica refuses writes: it really is one
    assert!(exec(&replicas[0].0, "redis-cli set x 1 2>&1 || true").contains("READONLY"));

    delete_and_check_nothing_remains(&server, &admin, &id, &owner).await;
    server.stop();
}

/// Whether `url` answers with a success from inside a node's container.
fn answers(node_id: &str, url: &str) -> bool {
    Command::new("docker")
        .args([
            "exec",
            &container(node_id),
            "curl",
            "-sf",
            "-o",
            "/dev/null",
            url,
        ])
        .status()
        .unwrap()
        .success()
}

/// The (task, service) pairs of the cluster's latest job.
async fn last_plan_tasks(server: &Server, token: &str, id: &str) -> BTreeSet<(String, String)> {
    let (_, plans) = server
        .get(&format!("/v2/clusters/{id}/plans"), Some(token))
        .await;
    let last = plans
        .as_array()
        .and_then(|p| p.last())
        .cloned()
        .unwrap_or_default();
    last["stages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|stage| stage.as_array().cloned().unwrap_or_default())
        .map(|t| {
            (
                t["taskName"].as_str().unwrap_or_default().to_string(),
                t["service"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The pages the load balancer serves over `tries` requests.
fn pages_through_lb(lb: &str, tries: usize) -> BTreeSet<String> {
    (0..tries)
        .map(|_| exec(lb, "curl -sf http://127.0.0.1/"))
        .collect()
}

#[tokio::test]
#[ignore = "needs a Docker engine and the node image (just test runs it)"]
async fn web_lb_balances_and_changes_as_each_plan_says() {
    let dir = tempfile::tempdir().unwrap();
    let (server, admin) = docker_server(&dir.path().join("data"), &[]).await;
    let id = create(&server, &admin, "site", "web-lb", 4).await;
    wait_for_status(&server, &admin, &id, "active").await;

    let all = nodes(&server, &admin, &id).await;
    let owner = owner(&all[0].0);
    let _leftovers = Leftovers(vec![owner.clone()]);
    let webs: Vec<_> = all.iter().filter(|n| n.2 == ["web"]).cloned().collect();
    let lb = all.iter().find(|n| n.2 == ["lb"]).cloned().unwrap();
    assert_eq!(webs.len(), 3, "{all:?}");
    let expected = |greeting: &str, webs: &[(String, String, Vec<String>, String)]| {
        webs.iter()
            .map(|w| format!("{greeting} from {}", w.1))
            .collect::<BTreeSet<_>>()
    };
    // round robin over three backends: nine requests reach each
    assert_eq!(pages_through_lb(&lb.0, 9), expected("served", &webs));

    // reconfigure with restart: every backend serves the new greeting
    let mut config: Value = server
        .get(&format!("/v2/clusters/{id}/config"), Some(&admin))
        .await
        .1;
    config["web"]["greeting"] = json!("hello");
    operate(
        &server,
        &admin,
        &id,
        Method::PUT,
        "/config",
        json!({"config": config, "restart": true}),
    )
    .await;
    assert_eq!(pages_through_lb(&lb.0, 9), expected("hello", &webs));

    // stop one service: Coopr stops what depends on it too, so the balancer stops first
    operate(
        &server,
        &admin,
        &id,
        Method::POST,
        "/services/web/stop",
        json!({}),
    )
    .await;
    assert_eq!(
        last_plan_tasks(&server, &admin, &id).await,
        [("STOP", "lb"), ("STOP", "web")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .into_iter()
            .collect()
    );
    for web in &webs {
        assert!(
            !answers(&lb.0, &format!("http://{}:8080/", web.3)),
            "web on {} is stopped",
            web.1
        );
    }
    assert!(
        !answers(&lb.0, "http://127.0.0.1/"),
        "the balancer is stopped"
    );
    // start it: only it (and what it needs) starts; the balancer stays down until started
    operate(
        &server,
        &admin,
        &id,
        Method::POST,
        "/services/web/start",
        json!({}),
    )
    .await;
    for web in &webs {
        assert!(
            answers(&lb.0, &format!("http://{}:8080/", web.3)),
            "web on {} runs",
            web.1
        );
    }
    assert!(
        !answers(&lb.0, "http://127.0.0.1/"),
        "the balancer is still stopped"
    );
    operate(
        &server,
        &admin,
        &id,
        Method::POST,
        "/services/lb/start",
        json!({}),
    )
    .await;
    assert_eq!(pages_through_lb(&lb.0, 9), expected("hello", &webs));

    // add a service: the solver places it, and it configures the nodes it lands on
    operate(
        &server,
        &admin,
        &id,
        Method::POST,
        "/services",
        json!({"services": ["motd"]}),
    )
    .await;
    let with_motd: Vec<_> = nodes(&server, &admin, &id)
        .await
        .into_iter()
        .filter(|n| n.2.contains(&"motd".to_string()))
        .collect();
    assert!(!with_motd.is_empty());
    for node in &with_motd {
        assert_eq!(
            exec(&node.0, "cat /etc/motd"),
            format!("Weft node {} of cluster {id}", node.1)
        );
    }

    // add a node: a fourth backend, and the balancer reconfigured to use it
    operate(
        &server,
        &admin,
        &id,
        Method::POST,
        "/nodes",
        json!({"numMachines": 1}),
    )
    .await;
    let all = nodes(&server, &admin, &id).await;
    let webs: Vec<_> = all
        .iter()
        .filter(|n| n.2.contains(&"web".to_string()))
        .cloned()
        .collect();
    assert_eq!((all.len(), webs.len()), (5, 4), "{all:?}");
    assert_eq!(pages_through_lb(&lb.0, 12), expected("hello", &webs));
    assert_eq!(labelled(&owner).0.len(), 5);

    delete_and_check_nothing_remains(&server, &admin, &id, &owner).await;
    server.stop();
}

#[tokio::test]
#[ignore = "needs a Docker engine and the node image (just test runs it)"]
async fn server_killed_mid_create_ends_with_exactly_five_containers() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let args = ["--lease-secs", "3"];
    let (server, admin) = docker_server(&data, &args).await;
    let id = create(&server, &admin, "survivor", "redis-replicated", 5).await;
    let node_ids: Vec<String> = nodes(&server, &admin, &id)
        .await
        .into_iter()
        .map(|n| n.0)
        .collect();
    let exists = |node: &String| {
        !docker(&[
            "ps",
            "-aq",
            "--filter",
            &format!("name=^{}$", container(node)),
        ])
        .is_empty()
    };
    wait_until(
        "the first containers exist",
        Duration::from_secs(60),
        async || node_ids.iter().any(exists),
    )
    .await;
    server.kill();
    let before = node_ids.iter().filter(|n| exists(n)).count();
    let owner = owner(node_ids.iter().find(|n| exists(n)).unwrap());
    let _leftovers = Leftovers(vec![owner.clone()]);

    let server = Server::start(
        &data,
        &[
            "--workers",
            "4",
            "--janitor-secs",
            "1",
            "--retry-backoff-ms",
            "500",
            "--lease-secs",
            "3",
            "--reconcile-secs",
            "1",
        ],
        &[("WEFT_BOOTSTRAP_TOKEN", TOKEN)],
    )
    .await;
    wait_for_status(&server, &admin, &id, "active").await;
    let (containers, networks, _) = labelled(&owner);
    assert_eq!(
        (containers.len(), networks.len()),
        (5, 1),
        "exactly five containers and one network after the restart ({before} existed at the kill)"
    );
    // and every replica works
    let nodes = nodes(&server, &admin, &id).await;
    let primary = nodes.iter().find(|n| n.2 == ["redis-primary"]).unwrap();
    exec(&primary.0, "redis-cli set k v");
    for replica in nodes.iter().filter(|n| n.2 == ["redis-replica"]) {
        eventually("the replica has the key", || {
            exec(&replica.0, "redis-cli get k") == "v"
        });
    }
    // a container labelled for the cluster that no node owns is removed by the reconciler
    // (through the provider's inventory and DELETE); the nodes' own stay
    let stray = format!("weft-stray-{}", owner.cluster);
    let labels = [
        format!("io.weft.tenant={}", owner.tenant),
        format!("io.weft.cluster={}", owner.cluster),
        "io.weft.node=no-such-node".to_string(),
        "io.weft.attempt=1".to_string(),
    ];
    let mut args = vec!["create", "--name", &stray];
    for label in &labels {
        args.extend(["--label", label]);
    }
    args.extend([IMAGE, "true"]);
    docker(&args);
    wait_until(
        "the reconciler removes the stray container",
        Duration::from_secs(60),
        async || docker(&["ps", "-aq", "--filter", &format!("name=^{stray}$")]).is_empty(),
    )
    .await;
    assert_eq!(labelled(&owner).0.len(), 5, "the nodes' containers stay");
    delete_and_check_nothing_remains(&server, &admin, &id, &owner).await;
    server.stop();
}

#[tokio::test]
#[ignore = "needs a Docker engine and the node image (just test runs it)"]
async fn python_and_javascript_automators_each_run_a_task_on_a_real_node() {
    let dir = tempfile::tempdir().unwrap();
    let (server, admin) = docker_server(&dir.path().join("data"), &[]).await;
    for example in ["python-automator", "js-automator"] {
        let uploaded = server
            .upload_plugin(TOKEN, weft_test_plugins::example(example))
            .await;
        assert_eq!(uploaded, 201, "{example} registers");
    }
    let catalog = json!({
        "services": [
            {"name": "note-python", "provisioner": {"actions": {"configure": {"type": "python-probe"}}}},
            {"name": "note-js", "provisioner": {"actions": {"configure": {"type": "js-probe"}}}}
        ],
        "clustertemplates": [{
            "name": "notes",
            "defaults": {"services": ["note-python", "note-js"], "provider": "docker-local",
                         "hardwaretype": "docker-small", "imagetype": "weft-node", "config": {}},
            "compatibility": {"services": ["note-python", "note-js"]},
            "constraints": {"size": {"min": 1, "max": 1}}
        }]
    });
    let (status, body) = server
        .call(Method::POST, "/v2/import?mode=merge", &admin, Some(catalog))
        .await;
    assert_eq!(status, 200, "{body}");
    let id = create(&server, &admin, "notes", "notes", 1).await;
    wait_for_status(&server, &admin, &id, "active").await;
    let node = nodes(&server, &admin, &id).await.remove(0);
    let owner = owner(&node.0);
    let _leftovers = Leftovers(vec![owner.clone()]);
    let hostname = exec(&node.0, "hostname");
    assert_eq!(
        exec(&node.0, "cat /etc/weft-python"),
        format!("python was here on {hostname}")
    );
    assert_eq!(
        exec(&node.0, "cat /etc/weft-js"),
        format!("javascript was here on {hostname}")
    );
    delete_and_check_nothing_remains(&server, &admin, &id, &owner).await;
    server.stop();
}

/// Machines that exist before Weft: sshd containers the test starts itself, on a network of
/// their own, reachable from the host on loopback and with the pool's login key authorised.
/// Removed when dropped.
struct PoolMachines {
    label: String,
    network: String,
    names: Vec<String>,
}

impl PoolMachines {
    fn start(count: usize, login_public_key: &str) -> PoolMachines {
        let tag = format!("{}-{}", std::process::id(), uuid_suffix());
        let label = format!("io.weft.test=pool-{tag}");
        let network = format!("weft-test-pool-{tag}");
        docker(&["network", "create", "--label", &label, &network]);
        let entry = "mkdir -p /root/.ssh /run/sshd && chmod 700 /root/.ssh \
            && printf '%s\\n' \"$LOGIN_KEY\" > /root/.ssh/authorized_keys \
            && chmod 600 /root/.ssh/authorized_keys \
            && ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key \
            && exec /usr/sbin/sshd -D -e";
        let names: Vec<String> = (0..count)
            .map(|i| format!("weft-test-m{i}-{tag}"))
            .collect();
        let machines = PoolMachines {
            label,
            network,
            names,
        };
        for name in &machines.names {
            docker(&[
                "run",
                "-d",
                "--init",
                "--name",
                name,
                "--label",
                &machines.label,
                "--network",
                &machines.network,
                "--hostname",
                name,
                "-p",
                "127.0.0.1::22",
                "-e",
                &format!("LOGIN_KEY={login_public_key}"),
                "--entrypoint",
                "sh",
                IMAGE,
                "-c",
                entry,
            ]);
        }
        machines
    }

    /// Each machine as the pool API takes it: name, loopback address, host key.
    fn pool_entries(&self) -> Vec<Value> {
        self.names
            .iter()
            .map(|name| {
                let port = docker(&["port", name, "22/tcp"]);
                let port = port
                    .lines()
                    .next()
                    .unwrap()
                    .rsplit(':')
                    .next()
                    .unwrap()
                    .to_string();
                let mut host_key = String::new();
                eventually("the machine has a host key", || {
                    host_key = Command::new("docker")
                        .args(["exec", name, "cat", "/etc/ssh/ssh_host_ed25519_key.pub"])
                        .output()
                        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                        .unwrap_or_default();
                    !host_key.is_empty()
                });
                json!({"name": name, "address": format!("127.0.0.1:{port}"), "hostKey": host_key})
            })
            .collect()
    }
}

impl Drop for PoolMachines {
    fn drop(&mut self) {
        for name in &self.names {
            let _ = Command::new("docker")
                .args(["rm", "-f", "-v", name])
                .output();
        }
        let _ = Command::new("docker")
            .args(["network", "rm", &self.network])
            .output();
    }
}

fn uuid_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{nanos:08x}")
}

/// A fresh ed25519 key pair from `ssh-keygen`: (private key text, public key line).
fn login_key(dir: &Path) -> (String, String) {
    let path = dir.join("pool-login");
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "pool-login", "-f"])
        .arg(&path)
        .status()
        .expect("ssh-keygen runs (openssh-client)");
    assert!(made.success());
    (
        std::fs::read_to_string(&path).unwrap(),
        std::fs::read_to_string(path.with_extension("pub"))
            .unwrap()
            .trim()
            .to_string(),
    )
}

#[tokio::test]
#[ignore = "needs a Docker engine and the node image (just test runs it)"]
async fn hosts_provider_runs_redis_on_a_pool_of_existing_machines() {
    let dir = tempfile::tempdir().unwrap();
    let (server, admin) = docker_server(&dir.path().join("data"), &[]).await;
    let (private_key, public_key) = login_key(dir.path());
    let machines = PoolMachines::start(3, &public_key);
    let entries = machines.pool_entries();

    // a host key that is not one is refused, naming the field; nothing is stored
    let mut bad = entries.clone();
    bad[1]["hostKey"] = json!("ssh-ed25519 not-base64!");
    let pool = |machines: Vec<Value>| {
        json!({
            "name": "lab", "user": "root", "privateKey": private_key, "machines": machines,
            "cleanup": "redis-cli shutdown nosave >/dev/null 2>&1 || true; rm -f /etc/redis/weft.conf"
        })
    };
    let (status, body) = server
        .call(Method::POST, "/v2/pools", &admin, Some(pool(bad)))
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (400, Some("machines[1].hostKey")),
        "{body}"
    );
    assert_eq!(server.get("/v2/pools/lab", Some(&admin)).await.0, 404);

    let (status, body) = server
        .call(Method::POST, "/v2/pools", &admin, Some(pool(entries)))
        .await;
    assert_eq!(status, 200, "{body}");
    // the login key is never shown again: only its public half
    let (_, shown) = server.get("/v2/pools/lab", Some(&admin)).await;
    assert!(!shown.to_string().contains("PRIVATE KEY"), "{shown}");
    assert_eq!(
        shown["publicKey"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .nth(1),
        public_key.split_whitespace().nth(1)
    );

    // a script resource for the shell automator, staged and synced, reaches every node
    let script = b"#!/bin/sh\necho from a plugin resource\n".to_vec();
    let uploaded = reqwest::Client::new()
        .post(format!(
            "{}/v2/plugins/automatortypes/shell/scripts/greet.sh",
            server.url
        ))
        .bearer_auth(&admin)
        .body(script.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), 200);
    let (status, body) = server
        .call(
            Method::POST,
            "/v2/plugins/automatortypes/shell/scripts/greet.sh/versions/1/stage",
            &admin,
            None,
        )
        .await;
    assert_eq!(
        (status, body[0]["status"].as_str()),
        (200, Some("staged")),
        "{body}"
    );
    let (status, body) = server
        .call(Method::POST, "/v2/plugins/sync", &admin, None)
        .await;
    assert_eq!((status, body["changed"].as_u64()), (200, Some(1)), "{body}");

    // a provider drawing from the pool; the hardware and image types map it
    let catalog = json!({
        "providers": [{"name": "lab-hosts", "providertype": "hosts", "provisioner": {"pool": "lab"}}],
        "hardwaretypes": [{"name": "docker-small", "providermap": {
            "docker-local": {"flavor": "cpus=1,memory=256m"}, "lab-hosts": {"flavor": "as-is"}}}],
        "imagetypes": [{"name": "weft-node", "providermap": {
            "docker-local": {"image": IMAGE, "sshuser": "root"}, "lab-hosts": {"image": "as-is", "sshuser": "root"}}}]
    });
    let (status, body) = server
        .call(Method::POST, "/v2/import?mode=merge", &admin, Some(catalog))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = server
        .call(
            Method::POST,
            "/v2/clusters",
            &admin,
            Some(
                json!({"name": "pooled", "clusterTemplate": "redis-replicated", "numMachines": 3,
                        "provider": "lab-hosts"}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    wait_for_status(&server, &admin, &id, "active").await;

    // every machine holds one node: its claim names the node, the cluster key is authorised
    let nodes = nodes(&server, &admin, &id).await;
    let (status, details) = server
        .get(&format!("/v2/clusters/{id}"), Some(&admin))
        .await;
    assert_eq!(status, 200);
    let machine_of = |node_id: &str| -> String {
        details["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["id"] == node_id)
            .and_then(|n| {
                n["provisionerResults"]["providerid"]
                    .as_str()
                    .or(n["properties"]["providerid"].as_str())
            })
            .map(str::to_string)
            .unwrap_or_else(|| panic!("node {node_id} names no machine: {details}"))
    };
    let held: BTreeSet<String> = nodes.iter().map(|n| machine_of(&n.0)).collect();
    assert_eq!(
        held,
        machines.names.iter().cloned().collect::<BTreeSet<_>>()
    );
    let on = |machine: &str, command: &str| docker(&["exec", machine, "sh", "-c", command]);
    for node in &nodes {
        let machine = machine_of(&node.0);
        assert!(on(&machine, "readlink /root/.weft-pool/claim").ends_with(&node.0));
        assert!(
            on(&machine, "cat /root/.ssh/authorized_keys")
                .contains(&format!("weft-node={}", node.0))
        );
        assert_eq!(
            on(&machine, "cat /var/cache/weft/shell/scripts/greet.sh").as_bytes(),
            String::from_utf8_lossy(&script).trim().as_bytes()
        );
    }

    // redis replicates between the machines, at their own addresses
    let primary = nodes
        .iter()
        .find(|n| n.2.contains(&"redis-primary".to_string()))
        .unwrap();
    let replicas: Vec<_> = nodes
        .iter()
        .filter(|n| n.2.contains(&"redis-replica".to_string()))
        .collect();
    assert_eq!(replicas.len(), 2);
    let primary_machine = machine_of(&primary.0);
    let primary_ip = docker(&[
        "inspect",
        "-f",
        "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
        &primary_machine,
    ]);
    assert_eq!(
        primary.3, primary_ip,
        "bind_v4 is the machine's own address"
    );
    on(
        &primary_machine,
        "redis-cli set greeting 'hello from a pool'",
    );
    for replica in &replicas {
        let machine = machine_of(&replica.0);
        eventually("the replica has the key", || {
            on(&machine, "redis-cli get greeting") == "hello from a pool"
        });
    }

    // a fourth node finds the pool empty: the create fails with the pool's reason
    let (status, body) = server
        .call(
            Method::POST,
            "/v2/clusters",
            &admin,
            Some(
                json!({"name": "too-many", "clusterTemplate": "redis-replicated", "numMachines": 2,
                        "provider": "lab-hosts"}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let full = body["id"].as_str().unwrap().to_string();
    let started = Instant::now();
    let ended = loop {
        let (_, status) = server
            .get(&format!("/v2/clusters/{full}/status"), Some(&admin))
            .await;
        let now = status["status"].as_str().unwrap_or_default().to_string();
        if !["pending", "requested", ""].contains(&now.as_str()) {
            break now;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the create never ended: {status}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_ne!(ended, "active", "a cluster cannot be made from a full pool");
    let (_, plans) = server
        .get(&format!("/v2/clusters/{full}/plans"), Some(&admin))
        .await;
    let (_, details) = server
        .get(&format!("/v2/clusters/{full}"), Some(&admin))
        .await;
    let said = format!("{plans}{details}");
    assert!(
        said.contains("no free machine"),
        "the failure names the full pool: {said}"
    );
    // the machines still belong to the first cluster
    for node in &nodes {
        assert!(on(&machine_of(&node.0), "readlink /root/.weft-pool/claim").ends_with(&node.0));
    }

    // the delete returns every machine: cleanup ran, the key and the claim are gone
    let (status, body) = server
        .call(Method::DELETE, &format!("/v2/clusters/{id}"), &admin, None)
        .await;
    assert_eq!(status, 200, "{body}");
    wait_for_status(&server, &admin, &id, "terminated").await;
    for machine in &machines.names {
        assert_eq!(on(machine, "readlink /root/.weft-pool/claim || true"), "");
        assert!(!on(machine, "cat /root/.ssh/authorized_keys").contains("weft-node="));
        assert!(
            !on(machine, "redis-cli ping 2>&1 || true").contains("PONG"),
            "cleanup stopped redis on {machine}"
        );
        // the machines themselves are still there, reachable with the pool's login
        assert!(on(machine, "cat /root/.ssh/authorized_keys").contains("pool-login"));
    }
    server.stop();
}
