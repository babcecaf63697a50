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

    /// Kills the server with SIGKILL: no shutdown, no drain.
    pub(crate) fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Sends a JSON request; returns the status and the JSON answer (`null` when there is none).
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut request = reqwest::Client::new()
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (
            status,
            response.json().await.unwrap_or(serde_json::Value::Null),
        )
    }

    /// Uploads a plugin component, approving the grants it requests.
    pub(crate) async fn upload_plugin(&self, token: &str, component: Vec<u8>) -> u16 {
        reqwest::Client::new()
            .post(format!("{}/v2/plugins?approve=requested", self.url))
            .bearer_auth(token)
            .header("content-type", "application/wasm")
            .body(component)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
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

/// A `weft worker` process, killed when dropped.
pub(crate) struct Worker {
    child: Child,
}

impl Worker {
    /// Starts `weft worker` named `name` against `server` with a worker token.
    pub(crate) fn start(
        server: &Server,
        token: &str,
        name: &str,
        data_dir: &Path,
        slots: u32,
    ) -> Worker {
        let log = data_dir.with_extension("log");
        let child = Command::new(weft_binary())
            .args(["worker", "--server", &server.url, "--name", name])
            .args([
                "--slots",
                &slots.to_string(),
                "--heartbeat-secs",
                "1",
                "--poll-ms",
                "100",
            ])
            .arg("--data-dir")
            .arg(data_dir)
            .env("WEFT_WORKER_TOKEN", token)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap();
        Worker { child }
    }

    /// Kills the worker with SIGKILL.
    pub(crate) fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Worker {
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
