//! `weft cluster` and `weft template preview` against a real server with embedded workers,
//! reading the server and token from a config file.

use std::process::Command;

use serde_json::json;

use crate::fixture::{TOKEN, setup};
use crate::process::{Server, weft_binary};

/// Runs `weft` with the config file `config`; returns (success, stdout, stderr).
fn weft_with_config(config: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(weft_binary())
        .args(args)
        .env_remove("WEFT_TOKEN")
        .env_remove("WEFT_TOKEN_FILE")
        .env_remove("WEFT_SERVER")
        .env("WEFT_CONFIG", config)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_cli_previews_creates_shows_logs_and_deletes_a_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &dir.path().join("weft-data"),
        &["--workers", "4", "--janitor-secs", "1"],
        &[("WEFT_BOOTSTRAP_TOKEN", TOKEN)],
    )
    .await;
    let admin = setup(&server, "test-provider", json!({})).await;
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        json!({"server": server.url, "token": admin}).to_string(),
    )
    .unwrap();

    let (ok, out, err) =
        weft_with_config(&config, &["template", "preview", "machines", "--size", "3"]);
    assert!(ok, "{err}");
    assert!(out.contains("3 x small / img: base"), "{out}");
    assert!(
        out.contains("CREATE x3") && out.contains("token: "),
        "{out}"
    );

    let (ok, out, err) = weft_with_config(
        &config,
        &[
            "cluster",
            "create",
            "--template",
            "machines",
            "--size",
            "3",
            "--name",
            "c1",
            "--wait",
        ],
    );
    assert!(ok, "{err}");
    let id = out.trim().to_string();
    assert!(
        err.contains("stage 1/") && err.contains("3/3 CREATE x3"),
        "{err}"
    );
    assert!(
        err.contains("CLUSTER_CREATE") && err.contains("active"),
        "{err}"
    );

    let (ok, out, err) = weft_with_config(&config, &["cluster", "list", "--status", "active"]);
    assert!(ok, "{err}");
    assert!(
        out.lines()
            .any(|l| l.contains(&id) && l.contains("c1") && l.contains("active")),
        "{out}"
    );

    let (ok, out, err) = weft_with_config(&config, &["cluster", "show", &id]);
    assert!(ok, "{err}");
    assert!(
        out.contains("status    active") && out.contains("node-1000.test"),
        "{out}"
    );

    let (ok, out, err) = weft_with_config(&config, &["cluster", "logs", &id]);
    assert!(ok, "{err}");
    assert!(
        out.contains("== CREATE") && out.contains("creating"),
        "{out}"
    );

    // an error from the server is printed as the server said it
    let (ok, _, err) = weft_with_config(
        &config,
        &["cluster", "create", "--template", "nope", "--size", "1"],
    );
    assert!(!ok);
    assert!(err.contains("404") && err.contains("nope"), "{err}");

    let (ok, _, err) = weft_with_config(&config, &["cluster", "delete", &id, "--wait"]);
    assert!(ok, "{err}");
    assert!(
        err.contains("CLUSTER_DELETE") && err.contains("terminated"),
        "{err}"
    );

    // flags win over the config file
    let (ok, _, err) = weft_with_config(&config, &["cluster", "list", "--token", "weft_wrong"]);
    assert!(!ok && err.contains("401"), "{err}");
    server.stop();
}
