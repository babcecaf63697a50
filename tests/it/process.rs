//! Running the `weft` binary: built once per test run, servers on free loopback ports.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The path of a freshly built `weft` binary.
pub(crate) fn weft_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let built = escargot::CargoBuild::new()
            .package("weft")
            .bin("weft")
            .run()
            .expect("cargo builds the weft binary");
        built.path().to_path_buf()
    })
}

/// A `weft server` process, killed when dropped.
pub(crate) struct Server {
    pub url: String,
    child: Child,
    pub log: PathBuf,
}

impl Server {
    /// Starts `weft server` on a free port with `data_dir` and extra arguments and environment,
    /// and waits until `/status` answers 200.
    pub(crate) async fn start(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let listen = format!("127.0.0.1:{port}");
        let log = data_dir.with_extension("log");
        let mut command = Command::new(weft_binary());
        command
            .args(["server", "--listen", &listen, "--data-dir"])
            .arg(data_dir)
            .args(args)
            .env_remove("WEFT_BOOTSTRAP_TOKEN")
            .env_remove("DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().unwrap();
        let server = Server {
            url: format!("http://{listen}"),
            child,
            log,
        };
        server.wait_ready().await;
        server
    }

    /// Runs `weft server` expecting it to refuse to start; returns its stderr.
    pub(crate) fn start_expecting_failure(data_dir: &Path, env: &[(&str, &str)]) -> String {
        let mut command = Command::new(weft_binary());
        command
            .args(["server", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env_remove("DATABASE_URL");
        for (key, value) in env {
            command.env(key, value);
        }
        let output = command.output().unwrap();
        assert!(
            !output.status.success(),
            "weft server should have refused to start"
        );
        String::from_utf8_lossy(&output.stderr).into_owned()
    }

    async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(response) = reqwest::get(format!("{}/status", self.url)).await
                && response.status() == 200
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "weft server did not become ready; its log:\n{}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }

    /// Stops the server with SIGTERM and waits for it to exit cleanly.
    pub(crate) fn stop(mut self) {
        Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "weft server exited with {status}");
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("weft server did not stop on SIGTERM");
    }

    pub(crate) async fn get(&self, path: &str, token: Option<&str>) -> (u16, serde_json::Value) {
        let mut request = reqwest::Client::new().get(format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (
            status,
            response.json().await.unwrap_or(serde_json::Value::Null),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `weft` with arguments; returns (success, stdout, stderr).
pub(crate) fn weft_output(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(weft_binary()).args(args).output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Runs `weft` with arguments against a server; returns (success, stderr).
pub(crate) fn weft(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let mut command = Command::new(weft_binary());
    command
        .args(args)
        .env_remove("WEFT_TOKEN")
        .env_remove("WEFT_TOKEN_FILE");
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
