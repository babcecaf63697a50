//! API tokens and the principal a token stands for.
//!
//! A token is `weft_` followed by 32 random bytes in URL-safe base64. Only its SHA-256 digest is
//! stored: a token has 256 bits of entropy, so a fast hash is enough and a lookup by digest is
//! exact. Architecture invariant: no I/O; the store keeps digests, the API turns a presented
//! token into a [`Principal`].

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use weft_model::{Role, SUPERADMIN_TENANT};

/// The prefix of every token Weft issues, so a leaked one is easy to recognise.
pub const TOKEN_PREFIX: &str = "weft_";

/// The shortest bootstrap token an operator may choose.
pub const MIN_CHOSEN_TOKEN_LEN: usize = 16;

/// A new random API token.
pub fn generate_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// The digest under which a token is stored (lowercase hex SHA-256).
pub fn token_digest(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

/// Lowercase hex SHA-256 of bytes: how tokens are stored and plugin components are named.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Who is calling: a user of one tenant with one role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub tenant_id: String,
    pub tenant_name: String,
    pub user: String,
    pub role: Role,
}

impl Principal {
    /// Admins of the `superadmin` tenant manage tenants and global plugin types.
    pub fn is_superadmin(&self) -> bool {
        self.role == Role::Admin && self.tenant_name == SUPERADMIN_TENANT
    }

    /// Admins write their tenant's catalog and manage its users.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Whether this principal may see anything of the tenant named `tenant`.
    pub fn can_see_tenant(&self, tenant: &str) -> bool {
        self.is_superadmin() || self.tenant_name == tenant
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_prefixed_and_hash_stably() {
        let a = generate_token();
        let b = generate_token();
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() == TOKEN_PREFIX.len() + 43);
        assert_eq!(
            token_digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_ne!(token_digest(&a), token_digest(&b));
    }

    #[test]
    fn roles() {
        let p = |tenant: &str, role| Principal {
            tenant_id: "x".into(),
            tenant_name: tenant.into(),
            user: "u".into(),
            role,
        };
        assert!(p("superadmin", Role::Admin).is_superadmin());
        assert!(!p("superadmin", Role::User).is_superadmin());
        assert!(!p("acme", Role::Admin).is_superadmin());
        assert!(p("acme", Role::Admin).can_see_tenant("acme"));
        assert!(!p("acme", Role::Admin).can_see_tenant("other"));
        assert!(p("superadmin", Role::Admin).can_see_tenant("other"));
    }
}
