//! SSH to a cluster's nodes, where the host holds everything: the address, the user, the
//! cluster's private key and each node's pinned host key. Plugins name a target; they never see
//! a key.
//!
//! - [`KeyPair::generate`] makes a cluster's Ed25519 key pair; its OpenSSH private form is what
//!   the store keeps (encrypted).
//! - [`Session::connect`] refuses a node whose host key differs from the pinned one;
//!   [`HostKeyPolicy::PinOnFirstUse`] is for CONFIRM, which learns the key to pin.
//! - [`Session::exec`] bounds what it keeps of stdout and stderr; upload and download are
//!   `cat` over an exec channel, so any sshd with a POSIX shell serves them.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::client::{self, Handle};
use russh::keys::ssh_key::LineEnding;
use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::{PrivateKey, PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};
use russh::{ChannelMsg, Disconnect};

/// Why an SSH operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SshError {
    #[error("{address} is unreachable: {message}")]
    Unreachable { address: String, message: String },
    #[error("{address} presented host key {presented}, not the pinned {pinned}")]
    HostKeyMismatch {
        address: String,
        pinned: String,
        presented: String,
    },
    #[error("{address} refused the cluster key for user '{user}'")]
    AuthFailed { address: String, user: String },
    #[error("a key is malformed: {0}")]
    BadKey(String),
    #[error("ssh failed: {0}")]
    Failed(String),
}

/// A cluster's key pair.
#[derive(Clone)]
pub struct KeyPair {
    key: Arc<PrivateKey>,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("public", &self.public_openssh())
            .finish_non_exhaustive()
    }
}

impl KeyPair {
    /// A fresh Ed25519 key pair.
    pub fn generate() -> KeyPair {
        let seed: [u8; 32] = rand::random();
        let pair = Ed25519Keypair::from_seed(&seed);
        KeyPair {
            key: Arc::new(PrivateKey::from(pair)),
        }
    }

    /// Reads the OpenSSH private key form.
    pub fn from_openssh(text: &str) -> Result<KeyPair, SshError> {
        let key = PrivateKey::from_openssh(text).map_err(|e| SshError::BadKey(e.to_string()))?;
        Ok(KeyPair { key: Arc::new(key) })
    }

    /// The OpenSSH private key form: a secret, to be stored encrypted.
    pub fn private_openssh(&self) -> Result<String, SshError> {
        self.key
            .to_openssh(LineEnding::LF)
            .map(|text| text.to_string())
            .map_err(|e| SshError::BadKey(e.to_string()))
    }

    /// The `authorized_keys` line (`ssh-ed25519 AAAA... weft`).
    pub fn public_openssh(&self) -> String {
        openssh(self.key.public_key())
    }
}

fn openssh(key: &PublicKey) -> String {
    key.to_openssh()
        .unwrap_or_else(|_| format!("{:?}", key.algorithm()))
}

/// The algorithm and key of an `authorized_keys`-style line, without its comment.
pub fn normalize_public_key(text: &str) -> Result<String, SshError> {
    let key = PublicKey::from_openssh(text.trim()).map_err(|e| SshError::BadKey(e.to_string()))?;
    Ok(strip_comment(&openssh(&key)))
}

fn strip_comment(line: &str) -> String {
    line.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// What host key a connection accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKeyPolicy {
    /// Only this key (`ssh-ed25519 AAAA...`).
    Pinned(String),
    /// Whatever the node presents; the caller pins what [`Session::host_key`] reports. Only
    /// for the first contact with a node (CONFIRM).
    PinOnFirstUse,
}

/// A node as the host reaches it.
#[derive(Debug, Clone)]
pub struct Target {
    /// `host:port`.
    pub address: String,
    pub user: String,
    pub key: KeyPair,
    pub host_key: HostKeyPolicy,
}

/// What a command printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    /// The exit status; -1 when the command ended without one (killed by a signal).
    pub exit_code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// More output came than `keep` bytes per stream; the rest was dropped.
    pub truncated: bool,
}

struct Checker {
    policy: HostKeyPolicy,
    presented: Arc<Mutex<Option<String>>>,
}

impl client::Handler for Checker {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let key = match server_key {
            PublicKeyOrCertificate::PublicKey { key, .. } => key.clone(),
            PublicKeyOrCertificate::Certificate(cert) => cert.public_key().clone().into(),
        };
        let presented = strip_comment(&openssh(&key));
        let accepted = match &self.policy {
            HostKeyPolicy::Pinned(pinned) => strip_comment(pinned) == presented,
            HostKeyPolicy::PinOnFirstUse => true,
        };
        if let Ok(mut slot) = self.presented.lock() {
            *slot = Some(presented);
        }
        Ok(accepted)
    }
}

/// An authenticated connection to one node.
pub struct Session {
    handle: Handle<Checker>,
    address: String,
    host_key: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Connects, checks the host key, and authenticates with the cluster key.
    pub async fn connect(target: &Target, timeout: Duration) -> Result<Session, SshError> {
        let presented = Arc::new(Mutex::new(None));
        let checker = Checker {
            policy: target.host_key.clone(),
            presented: presented.clone(),
        };
        let config = Arc::new(client::Config {
            inactivity_timeout: Some(timeout.max(Duration::from_secs(30))),
            ..Default::default()
        });
        let unreachable = |message: String| SshError::Unreachable {
            address: target.address.clone(),
            message,
        };
        let connected =
            tokio::time::timeout(timeout, client::connect(config, &*target.address, checker))
                .await
                .map_err(|_| unreachable(format!("no answer within {timeout:?}")))?;
        let presented_key = presented.lock().ok().and_then(|k| k.clone());
        let mut handle = match connected {
            Ok(handle) => handle,
            Err(russh::Error::UnknownKey) => {
                return Err(SshError::HostKeyMismatch {
                    address: target.address.clone(),
                    pinned: match &target.host_key {
                        HostKeyPolicy::Pinned(pinned) => strip_comment(pinned),
                        HostKeyPolicy::PinOnFirstUse => String::new(),
                    },
                    presented: presented_key.unwrap_or_default(),
                });
            }
            Err(error) => return Err(unreachable(error.to_string())),
        };
        let hash = handle
            .best_supported_rsa_hash()
            .await
            .map_err(|e| SshError::Failed(e.to_string()))?
            .flatten();
        let auth = handle
            .authenticate_publickey(
                target.user.clone(),
                PrivateKeyWithHashAlg::new(target.key.key.clone(), hash),
            )
            .await
            .map_err(|e| SshError::Failed(e.to_string()))?;
        if !auth.success() {
            return Err(SshError::AuthFailed {
                address: target.address.clone(),
                user: target.user.clone(),
            });
        }
        Ok(Session {
            handle,
            address: target.address.clone(),
            host_key: presented_key.unwrap_or_default(),
        })
    }

    /// The host key the node presented (`ssh-ed25519 AAAA...`), to pin after first use.
    pub fn host_key(&self) -> &str {
        &self.host_key
    }

    /// Runs `command`, feeding `stdin` when given, and keeps at most `keep` bytes of each of
    /// stdout and stderr.
    pub async fn exec(
        &self,
        command: &str,
        stdin: Option<&[u8]>,
        keep: usize,
    ) -> Result<ExecOutput, SshError> {
        let failed = |e: russh::Error| SshError::Failed(format!("{}: {e}", self.address));
        let mut channel = self.handle.channel_open_session().await.map_err(failed)?;
        channel.exec(true, command).await.map_err(failed)?;
        if let Some(bytes) = stdin {
            channel.data(bytes).await.map_err(failed)?;
        }
        channel.eof().await.map_err(failed)?;
        let mut output = ExecOutput {
            exit_code: -1,
            stdout: Vec::new(),
            stderr: Vec::new(),
            truncated: false,
        };
        let keep_into = |buffer: &mut Vec<u8>, data: &[u8]| {
            let room = keep.saturating_sub(buffer.len());
            if data.len() > room {
                buffer.extend_from_slice(&data[..room]);
                true
            } else {
                buffer.extend_from_slice(data);
                false
            }
        };
        while let Some(message) = channel.wait().await {
            match message {
                ChannelMsg::Data { data } => {
                    output.truncated |= keep_into(&mut output.stdout, &data);
                }
                ChannelMsg::ExtendedData { data, ext: 1 } => {
                    output.truncated |= keep_into(&mut output.stderr, &data);
                }
                ChannelMsg::ExitStatus { exit_status } => {
                    output.exit_code = i32::try_from(exit_status).unwrap_or(i32::MAX);
                }
                _ => {}
            }
        }
        Ok(output)
    }

    /// Writes `data` to `path` with `mode` (as `cat` through the node's shell).
    pub async fn upload(&self, path: &str, data: &[u8], mode: u32) -> Result<(), SshError> {
        let quoted = shell_quote(path);
        let command = format!("umask 077 && cat > {quoted} && chmod {mode:o} {quoted}");
        let output = self.exec(&command, Some(data), 64 << 10).await?;
        if output.exit_code != 0 {
            return Err(SshError::Failed(format!(
                "writing {path} exited with {}: {}",
                output.exit_code,
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        Ok(())
    }

    /// Reads `path`, at most `limit` bytes.
    pub async fn download(&self, path: &str, limit: usize) -> Result<Vec<u8>, SshError> {
        let output = self
            .exec(&format!("cat {}", shell_quote(path)), None, limit)
            .await?;
        if output.exit_code != 0 {
            return Err(SshError::Failed(format!(
                "reading {path} exited with {}: {}",
                output.exit_code,
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        if output.truncated {
            return Err(SshError::Failed(format!(
                "{path} is larger than {limit} bytes"
            )));
        }
        Ok(output.stdout)
    }

    pub async fn close(self) {
        let _ = self
            .handle
            .disconnect(Disconnect::ByApplication, "", "en")
            .await;
    }
}

/// Quotes `text` as one POSIX shell word.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The host key a node presents, for pinning it when the node is confirmed.
pub async fn scan_host_key(address: &str, timeout: Duration) -> Result<String, SshError> {
    let presented = Arc::new(Mutex::new(None));
    let checker = Checker {
        policy: HostKeyPolicy::PinOnFirstUse,
        presented: presented.clone(),
    };
    let config = Arc::new(client::Config::default());
    let handle = tokio::time::timeout(timeout, client::connect(config, address, checker))
        .await
        .map_err(|_| SshError::Unreachable {
            address: address.to_string(),
            message: format!("no answer within {timeout:?}"),
        })?
        .map_err(|e| SshError::Unreachable {
            address: address.to_string(),
            message: e.to_string(),
        })?;
    let key = presented.lock().ok().and_then(|k| k.clone());
    let _ = handle.disconnect(Disconnect::ByApplication, "", "en").await;
    key.ok_or_else(|| SshError::Failed(format!("{address} presented no host key")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_pairs_round_trip_through_openssh_text() {
        let pair = KeyPair::generate();
        let text = pair.private_openssh().unwrap_or_default();
        let again = KeyPair::from_openssh(&text).map(|k| k.public_openssh());
        assert_eq!(again, Ok(pair.public_openssh()));
        assert!(pair.public_openssh().starts_with("ssh-ed25519 "));
        assert_ne!(KeyPair::generate().public_openssh(), pair.public_openssh());
    }

    #[test]
    fn public_keys_compare_without_comments() {
        let pair = KeyPair::generate();
        let line = format!("{} someone@somewhere", pair.public_openssh());
        assert_eq!(
            normalize_public_key(&line),
            Ok(strip_comment(&pair.public_openssh()))
        );
        assert!(normalize_public_key("ssh-ed25519 not-base64").is_err());
    }

    #[test]
    fn shell_quoting_survives_quotes() {
        assert_eq!(shell_quote("/tmp/a b"), "'/tmp/a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
