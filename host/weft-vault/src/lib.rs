//! Secrets at rest: sensitive provider fields and clusters' SSH private keys are stored sealed.
//!
//! [`Vault::seal`] encrypts with AES-256-GCM under a fresh random nonce and binds the
//! ciphertext to its *context* (say `tenant/cluster/field`) as associated data, so a sealed
//! value copied into another row does not open there. A sealed value is text:
//! `v1.<key id>.<base64 of nonce and ciphertext>`; the key id (8 hex digits of the key's
//! SHA-256) lets a vault hold retired keys for reading while sealing with the current one.
//!
//! The key comes from `WEFT_VAULT_KEY` (base64 of 32 bytes) or from `vault.key` in the data dir,
//! created with mode 0600 on first use. Plaintexts come back in [`Zeroizing`] buffers.
//!
//! Architecture invariant: pure apart from reading or creating the key file; no database.

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};
pub use zeroize::Zeroizing;

/// The environment variable holding the key (base64 of 32 bytes).
pub const KEY_VAR: &str = "WEFT_VAULT_KEY";
/// The key file in the data dir.
pub const KEY_FILE: &str = "vault.key";

const FORMAT: &str = "v1";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    #[error("the vault key is malformed: {0}")]
    BadKey(String),
    #[error("the vault key file {path}: {message}")]
    KeyFile { path: String, message: String },
    #[error("a sealed value is malformed: {0}")]
    Malformed(String),
    #[error("a sealed value was sealed with key {0}, which this vault does not hold")]
    UnknownKey(String),
    /// Wrong key, wrong context, or tampered ciphertext: AEAD cannot tell which.
    #[error("a sealed value does not open in context '{0}'")]
    Rejected(String),
    #[error("the value is too large to seal")]
    TooLarge,
}

struct VaultKey {
    id: String,
    cipher: Aes256Gcm,
}

impl VaultKey {
    fn new(bytes: &[u8]) -> Result<VaultKey, VaultError> {
        if bytes.len() != 32 {
            return Err(VaultError::BadKey(format!(
                "{} bytes; a key is 32 bytes",
                bytes.len()
            )));
        }
        let digest = Sha256::digest(bytes);
        let id = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
        let key = Key::<Aes256Gcm>::try_from(bytes)
            .map_err(|_| VaultError::BadKey("not 32 bytes".into()))?;
        Ok(VaultKey {
            id,
            cipher: Aes256Gcm::new(&key),
        })
    }
}

/// Seals and opens secrets.
pub struct Vault {
    current: VaultKey,
    retired: Vec<VaultKey>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("key", &self.current.id)
            .finish_non_exhaustive()
    }
}

fn decode_key(text: &str) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    BASE64
        .decode(text.trim())
        .map(Zeroizing::new)
        .map_err(|e| VaultError::BadKey(format!("not base64: {e}")))
}

impl Vault {
    /// A vault sealing with `key` (32 bytes).
    pub fn new(key: &[u8]) -> Result<Vault, VaultError> {
        Ok(Vault {
            current: VaultKey::new(key)?,
            retired: Vec::new(),
        })
    }

    /// Also opens values sealed with `key`, a key rotated out.
    pub fn with_retired(mut self, key: &[u8]) -> Result<Vault, VaultError> {
        self.retired.push(VaultKey::new(key)?);
        Ok(self)
    }

    /// The key from `WEFT_VAULT_KEY` if set, else `vault.key` in `data_dir`, created (mode
    /// 0600) when missing.
    pub fn from_env_or_data_dir(data_dir: &Path) -> Result<Vault, VaultError> {
        if let Ok(text) = std::env::var(KEY_VAR)
            && !text.trim().is_empty()
        {
            return Vault::new(&decode_key(&text)?);
        }
        let path = data_dir.join(KEY_FILE);
        let file_error = |message: String| VaultError::KeyFile {
            path: path.display().to_string(),
            message,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Vault::new(&decode_key(&text)?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Zeroizing::new(rand::random::<[u8; 32]>());
                write_private(&path, &BASE64.encode(*key))
                    .map_err(|e| file_error(e.to_string()))?;
                Vault::new(&*key)
            }
            Err(e) => Err(file_error(e.to_string())),
        }
    }

    /// The id of the key new values are sealed with.
    pub fn key_id(&self) -> &str {
        &self.current.id
    }

    /// Encrypts `plaintext` for `context`.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Result<String, VaultError> {
        let nonce_bytes: [u8; 12] = rand::random();
        let nonce = Nonce::from(nonce_bytes);
        let ciphertext = self
            .current
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| VaultError::TooLarge)?;
        let mut sealed = nonce_bytes.to_vec();
        sealed.extend_from_slice(&ciphertext);
        Ok(format!(
            "{FORMAT}.{}.{}",
            self.current.id,
            BASE64.encode(sealed)
        ))
    }

    /// Decrypts a value sealed for `context`.
    pub fn open(&self, context: &str, sealed: &str) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some(FORMAT), Some(id), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(VaultError::Malformed("expected v1.<key id>.<data>".into()));
        };
        let key = std::iter::once(&self.current)
            .chain(&self.retired)
            .find(|k| k.id == id)
            .ok_or_else(|| VaultError::UnknownKey(id.to_string()))?;
        let bytes = BASE64
            .decode(body)
            .map_err(|e| VaultError::Malformed(format!("not base64: {e}")))?;
        if bytes.len() < 12 + 16 {
            return Err(VaultError::Malformed("too short".into()));
        }
        let (nonce, ciphertext) = bytes.split_at(12);
        let nonce = Nonce::try_from(nonce).map_err(|_| VaultError::Malformed("nonce".into()))?;
        key.cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| VaultError::Rejected(context.to_string()))
    }

    /// [`Vault::open`] for text.
    pub fn open_string(
        &self,
        context: &str,
        sealed: &str,
    ) -> Result<Zeroizing<String>, VaultError> {
        let bytes = self.open(context, sealed)?;
        String::from_utf8(bytes.to_vec())
            .map(Zeroizing::new)
            .map_err(|_| VaultError::Malformed("not UTF-8 text".into()))
    }
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sealed_values_open_only_in_their_context_and_vault() {
        let vault = Vault::new(&[7u8; 32]).unwrap();
        let sealed = vault.seal("acme/c1/api_key", b"sk-live-1").unwrap();
        assert!(sealed.starts_with(&format!("v1.{}.", vault.key_id())));
        assert!(!sealed.contains("sk-live"));
        assert_eq!(
            vault.open("acme/c1/api_key", &sealed).unwrap().as_slice(),
            b"sk-live-1"
        );
        // nonces are fresh
        assert_ne!(
            vault.seal("x", b"same").unwrap(),
            vault.seal("x", b"same").unwrap()
        );
        // another row's context, another key, a flipped byte: refused
        assert_eq!(
            vault.open("globex/c1/api_key", &sealed).unwrap_err(),
            VaultError::Rejected("globex/c1/api_key".into())
        );
        let other = Vault::new(&[8u8; 32]).unwrap();
        assert!(matches!(
            other.open("acme/c1/api_key", &sealed),
            Err(VaultError::UnknownKey(_))
        ));
        let mut bytes = BASE64.decode(sealed.rsplit('.').next().unwrap()).unwrap();
        bytes[20] ^= 1;
        let tampered = format!("v1.{}.{}", vault.key_id(), BASE64.encode(bytes));
        assert!(matches!(
            vault.open("acme/c1/api_key", &tampered),
            Err(VaultError::Rejected(_))
        ));
        assert!(matches!(
            vault.open("x", "plain text"),
            Err(VaultError::Malformed(_))
        ));
    }

    #[test]
    fn a_rotated_vault_reads_old_values_and_seals_with_the_new_key() {
        let old = Vault::new(&[1u8; 32]).unwrap();
        let sealed = old.seal("ctx", b"kept").unwrap();
        let rotated = Vault::new(&[2u8; 32])
            .unwrap()
            .with_retired(&[1u8; 32])
            .unwrap();
        assert_eq!(rotated.open("ctx", &sealed).unwrap().as_slice(), b"kept");
        assert!(
            rotated
                .seal("ctx", b"new")
                .unwrap()
                .contains(rotated.key_id())
        );
        assert_ne!(rotated.key_id(), old.key_id());
    }

    #[test]
    fn the_key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = Vault::from_env_or_data_dir(dir.path()).unwrap();
        let sealed = first.seal("ctx", b"v").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = Vault::from_env_or_data_dir(dir.path()).unwrap();
        assert_eq!(again.open("ctx", &sealed).unwrap().as_slice(), b"v");
        assert!(Vault::new(&[0u8; 16]).is_err());
    }
}
