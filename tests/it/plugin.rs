//! `weft plugin describe|run`: a plugin author runs a component against the real host.

use serde_json::{Value, json};

use crate::process::weft_output;

fn component(name: &str) -> String {
    format!(
        "{}/{}.wasm",
        weft_test_plugins::PLUGINS_DIR,
        name.replace('-', "_")
    )
}

fn task_file(dir: &std::path::Path, mode: &str) -> String {
    let task = json!({
        "id": "t1", "clusterId": "c1",
        "node": {"id": "n1", "nodenum": 1000, "ipaddresses": {"bind_v4": "10.0.0.1"}, "hardwaretype": "small", "imagetype": "debian", "services": ["svc"]},
        "config": {"redis": {"port": 6379}},
        "service": {"name": "svc", "fields": {"mode": mode}}
    });
    let path = dir.join(format!("task-{mode}.json"));
    std::fs::write(&path, task.to_string()).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn authors_describe_and_run_plugins_locally() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let cache = cache.to_str().unwrap();

    let (ok, stdout, stderr) = weft_output(&[
        "plugin",
        "describe",
        &component("test-provider"),
        "--cache-dir",
        cache,
    ]);
    assert!(ok, "{stderr}");
    let spec: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (spec["name"].as_str(), spec["needs"]["ssh"].as_bool()),
        (Some("test-provider"), Some(false))
    );

    let task = task_file(dir.path(), "");
    let (ok, stdout, stderr) = weft_output(&[
        "plugin",
        "run",
        &component("test-provider"),
        "--task",
        &task,
        "--cache-dir",
        cache,
    ]);
    assert!(ok, "{stderr}");
    let run: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(run["status"], "ok");
    assert_eq!(run["outcome"]["results"]["providerid"], "test-1000");
    assert_eq!(run["log"][0]["message"], "creating");

    let panicking = task_file(dir.path(), "panic");
    let (ok, stdout, _) = weft_output(&[
        "plugin",
        "run",
        &component("test-misbehave"),
        "--task",
        &panicking,
        "--operation",
        "install",
        "--cache-dir",
        cache,
    ]);
    assert!(!ok, "a failed task exits non-zero");
    let run: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(run["outcome"]["kind"], "panic");
    assert!(
        run["outcome"]["message"]
            .as_str()
            .unwrap()
            .contains("gave up on purpose")
    );

    let looping = task_file(dir.path(), "loop");
    let (_, stdout, _) = weft_output(&[
        "plugin",
        "run",
        &component("test-misbehave"),
        "--task",
        &looping,
        "--cpu-ms",
        "200",
        "--cache-dir",
        cache,
    ]);
    assert_eq!(
        serde_json::from_str::<Value>(&stdout).unwrap()["outcome"]["kind"],
        "cpu"
    );

    // grants on the command line: a resource folder and a secret
    let resources = dir.path().join("resources");
    std::fs::create_dir_all(&resources).unwrap();
    std::fs::write(resources.join("motd"), "hello from resources").unwrap();
    let steps = dir.path().join("steps.json");
    std::fs::write(
        &steps,
        json!({"id": "t1", "clusterId": "c1",
            "node": {"id": "n1", "nodenum": 1000, "hardwaretype": "small", "imagetype": "debian"},
            "service": {"name": "svc", "fields": {"steps": "read motd\nreveal token"}}})
        .to_string(),
    )
    .unwrap();
    let (ok, stdout, stderr) = weft_output(&[
        "plugin",
        "run",
        &component("test-capabilities"),
        "--task",
        steps.to_str().unwrap(),
        "--resources",
        resources.to_str().unwrap(),
        "--secret",
        "token=tok-98765",
        "--cache-dir",
        cache,
    ]);
    assert!(ok, "{stdout}{stderr}");
    let run: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(run["outcome"]["results"]["step-0"], "hello from resources");
    assert_eq!(run["outcome"]["results"]["step-1"], "[redacted]");
    assert_eq!(run["audit"][0]["action"], "secret.reveal");
    assert!(!stdout.contains("tok-98765"));

    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, r#"{"id": "t1"}"#).unwrap();
    let (ok, _, stderr) = weft_output(&[
        "plugin",
        "run",
        &component("test-provider"),
        "--task",
        broken.to_str().unwrap(),
        "--cache-dir",
        cache,
    ]);
    assert!(!ok && stderr.contains("is not a task"), "{stderr}");
}
