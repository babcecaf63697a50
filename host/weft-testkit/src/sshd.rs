//! A real OpenSSH server on loopback, run as the current user, for SSH tests.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `sshd` that accepts `authorized_keys` for the current user; killed on drop.
pub struct Sshd {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub address: String,
    /// The server's host key, `ssh-ed25519 AAAA...`.
    pub host_key: String,
    /// The user to log in as (the one running the tests).
    pub user: String,
    _dir: tempfile::TempDir,
}

const SSHD: &str = "/usr/sbin/sshd";

impl Sshd {
    /// Starts sshd. Panics when OpenSSH's server is not installed: CI installs it, and a
    /// missing dependency is a failure, not a skip.
    pub fn start(authorized_keys: &str) -> Sshd {
        assert!(
            std::path::Path::new(SSHD).exists(),
            "{SSHD} is missing: install openssh-server (apt-get install -y openssh-server)"
        );
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = |name: &str| -> PathBuf { dir.path().join(name) };
        let status = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(path("host_key"))
            .status()
            .expect("ssh-keygen runs");
        assert!(status.success(), "ssh-keygen failed");
        std::fs::write(path("authorized_keys"), authorized_keys).expect("write authorized_keys");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        std::fs::write(
            path("sshd_config"),
            format!(
                "ListenAddress 127.0.0.1\nPort {port}\nHostKey {}\nAuthorizedKeysFile {}\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n\
                 StrictModes no\nPermitRootLogin prohibit-password\nPidFile none\nLogLevel FATAL\n",
                path("host_key").display(),
                path("authorized_keys").display()
            ),
        )
        .expect("write sshd_config");
        // privilege separation wants this directory when sshd runs as root
        let _ = std::fs::create_dir_all("/run/sshd");
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(path("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("sshd starts");
        let address = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(&address).is_err() {
            assert!(
                Instant::now() < deadline,
                "sshd did not listen on {address}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let host_key = std::fs::read_to_string(path("host_key.pub"))
            .expect("the host key")
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        let user = Command::new("id")
            .arg("-un")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .expect("id -un");
        Sshd {
            child,
            address,
            host_key,
            user,
            _dir: dir,
        }
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
