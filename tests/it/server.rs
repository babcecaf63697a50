//! `weft server` as the README runs it: an empty data dir, a generated superadmin token, the
//! catalog imported with `weft catalog import`, and a restart that keeps everything.

use std::os::unix::fs::PermissionsExt;

use weft_testkit::{Backend, TestDb, fixtures_dir};

use crate::process::{Server, weft, weft_output};

#[tokio::test]
async fn fresh_server_on_sqlite_serves_the_readme_flow() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("weft-data");
    let server = Server::start(&data, &[], &[]).await;

    let token_file = data.join("superadmin.token");
    let mode = std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the token file is private");
    let token = std::fs::read_to_string(&token_file)
        .unwrap()
        .trim()
        .to_string();
    assert!(token.starts_with("weft_"));

    assert_eq!(server.get("/v2/providers", None).await.0, 401);
    assert_eq!(
        server.get("/v2/providers", Some(&token)).await,
        (200, serde_json::json!([]))
    );

    let token_path = token_file.to_str().unwrap();
    for folder in ["coopr-plugin-specs", "coopr-templates"] {
        let path = fixtures_dir().join(folder);
        let (ok, stderr) = weft(
            &[
                "catalog",
                "import",
                path.to_str().unwrap(),
                "--server",
                &server.url,
                "--token-file",
                token_path,
            ],
            &[],
        );
        assert!(ok, "weft catalog import {folder}: {stderr}");
    }
    let (status, templates) = server.get("/v2/clustertemplates", Some(&token)).await;
    assert_eq!((status, templates.as_array().unwrap().len()), (200, 15));
    let (_, types) = server.get("/v2/plugins/providertypes", Some(&token)).await;
    assert_eq!(types.as_array().unwrap().len(), 5);

    let (ok, stderr) = weft(
        &[
            "catalog",
            "import",
            "/nonexistent",
            "--server",
            &server.url,
            "--token",
            &token,
        ],
        &[],
    );
    assert!(!ok && stderr.contains("none of the folders"), "{stderr}");
    let (ok, stderr) = weft(
        &[
            "catalog",
            "import",
            fixtures_dir().to_str().unwrap(),
            "--server",
            &server.url,
        ],
        &[],
    );
    assert!(!ok && stderr.contains("no token"), "{stderr}");

    let exported = dir.path().join("exported");
    let (ok, stderr) = weft(
        &[
            "catalog",
            "export",
            exported.to_str().unwrap(),
            "--server",
            &server.url,
            "--token",
            &token,
        ],
        &[],
    );
    assert!(ok, "{stderr}");
    assert_eq!(
        std::fs::read_dir(exported.join("services"))
            .unwrap()
            .count(),
        53
    );

    // a plugin component registered through the CLI publishes its type
    let component = format!("{}/test_capabilities.wasm", weft_test_plugins::PLUGINS_DIR);
    let (ok, stdout, stderr) = weft_output(&[
        "plugin",
        "register",
        &component,
        "--approve",
        "--server",
        &server.url,
        "--token-file",
        token_path,
    ]);
    assert!(ok, "weft plugin register: {stderr}");
    let registered: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (
            registered["version"].as_i64(),
            registered["approved"]["ssh"].as_bool()
        ),
        (Some(1), Some(true))
    );
    let (ok, _, stderr) = weft_output(&[
        "plugin",
        "register",
        &component,
        "--server",
        &server.url,
        "--token-file",
        token_path,
    ]);
    assert!(!ok && stderr.contains("already registered"), "{stderr}");

    server.stop();
    let restarted = Server::start(&data, &[], &[]).await;
    assert_eq!(
        std::fs::read_to_string(&token_file).unwrap().trim(),
        token,
        "the token survives a restart"
    );
    let (status, plugin) = restarted
        .get("/v2/plugins/components/test-capabilities/1", Some(&token))
        .await;
    assert_eq!(
        (status, plugin["status"].as_str()),
        (200, Some("active")),
        "and the plugin"
    );
    let (_, types) = restarted
        .get("/v2/plugins/automatortypes/test-capabilities", Some(&token))
        .await;
    assert_eq!(types["name"], "test-capabilities");
    let (status, templates) = restarted.get("/v2/clustertemplates", Some(&token)).await;
    assert_eq!(
        (status, templates.as_array().unwrap().len()),
        (200, 15),
        "so does the catalog"
    );
    restarted.stop();
}

#[tokio::test]
async fn server_on_postgres_takes_the_bootstrap_token_from_the_environment() {
    let db = TestDb::new(Backend::Postgres).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("weft-data");
    let chosen = "a-chosen-bootstrap-token-of-some-length";
    let server = Server::start(
        &data,
        &["--database-url", &db.url],
        &[("WEFT_BOOTSTRAP_TOKEN", chosen)],
    )
    .await;
    assert!(
        !data.join("superadmin.token").exists(),
        "a chosen token is not written to disk"
    );
    let (status, me) = server.get("/v2/me", Some(chosen)).await;
    assert_eq!(
        (status, me["superadmin"].clone()),
        (200, serde_json::json!(true))
    );
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(
        log.contains("postgres") && !log.contains(chosen),
        "the log names the backend and never the token"
    );
    server.stop();

    // a second replica on the same database keeps the first superadmin
    let other = dir.path().join("replica");
    let replica = Server::start(&other, &["--database-url", &db.url], &[]).await;
    assert_eq!(replica.get("/v2/me", Some(chosen)).await.0, 200);
    assert!(
        !other.join("superadmin.token").exists(),
        "no token is minted when a superadmin exists"
    );
    replica.stop();

    let short = Server::start_expecting_failure(&data, &[("WEFT_BOOTSTRAP_TOKEN", "short")]);
    assert!(short.contains("at least 16 characters"), "{short}");
}

/// `--bundled` registers the docker and shell plugins (grants approved) and imports the bundled
/// catalog into the superadmin tenant; a new tenant bootstrapped from it gets the catalog; a
/// restart with the flag writes nothing new.
#[tokio::test]
async fn bundled_flag_loads_plugins_and_catalog_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("weft-data");
    let env = [("WEFT_BOOTSTRAP_TOKEN", crate::fixture::TOKEN)];
    let token = crate::fixture::TOKEN;
    let server = Server::start(&data, &["--bundled", "--workers", "0"], &env).await;

    let (status, plugins) = server.get("/v2/plugins", Some(token)).await;
    assert_eq!(status, 200, "{plugins}");
    let plugins = plugins.as_array().unwrap().clone();
    let docker = plugins.iter().find(|p| p["name"] == "docker").unwrap();
    assert_eq!(docker["scope"], "global");
    assert_eq!(
        docker["approved"]["unixSockets"],
        serde_json::json!(["/var/run/docker.sock"])
    );
    assert_eq!(docker["approved"]["ssh"], true);
    assert!(
        plugins
            .iter()
            .any(|p| p["name"] == "shell" && p["kind"] == "automator")
    );
    let (status, template) = server
        .get("/v2/clustertemplates/redis-replicated", Some(token))
        .await;
    assert_eq!(
        (status, template["version"].as_i64()),
        (200, Some(1)),
        "{template}"
    );

    // a tenant bootstrapped from the superadmin catalog can use it at once
    let (status, body) = server
        .call(
            reqwest::Method::POST,
            "/v2/tenants",
            token,
            Some(serde_json::json!({"tenant": {"name": "acme"}, "bootstrap": true})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = server
        .call(
            reqwest::Method::POST,
            "/v2/tenants/acme/users",
            token,
            Some(serde_json::json!({"name": "ann", "role": "user"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let user = body["token"].as_str().unwrap().to_string();
    let (status, preview) = server
        .call(
            reqwest::Method::POST,
            "/v2/clusters/preview",
            &user,
            Some(serde_json::json!({"name": "c", "clusterTemplate": "web-lb", "numMachines": 4})),
        )
        .await;
    assert_eq!(status, 200, "{preview}");
    server.stop();

    // again: nothing changed, so nothing new is written
    let server = Server::start(&data, &["--bundled", "--workers", "0"], &env).await;
    let (_, again) = server.get("/v2/plugins", Some(token)).await;
    assert_eq!(again.as_array().unwrap(), &plugins);
    let (_, template) = server
        .get("/v2/clustertemplates/redis-replicated", Some(token))
        .await;
    assert_eq!(template["version"], 1);
    server.stop();
}
