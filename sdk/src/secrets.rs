//! Sensitive fields the plugin must hold itself (for example to sign requests). A [`Secret`]
//! is an opaque handle; [`Secret::reveal`] returns the value and the host audits it. Prefer
//! letting the host use a credential for you: it adds `authorization` to granted endpoints.

pub use crate::bindings::provider::weft::plugin0_1_0::secrets::SecretError;

/// A handle to one secret of the task.
pub struct Secret {
    pub(crate) inner: crate::backend::SecretHandle,
}

/// Names of the secrets the task carries.
pub fn names() -> Vec<String> {
    crate::backend::secret_names()
}

/// The handle of a secret, by field name.
pub fn get(name: &str) -> Result<Secret, SecretError> {
    crate::backend::secret_get(name).map(|inner| Secret { inner })
}

impl Secret {
    pub fn name(&self) -> String {
        crate::backend::secret_name(&self.inner)
    }

    /// The value; the host records that this task revealed it.
    pub fn reveal(&self) -> String {
        crate::backend::secret_reveal(&self.inner)
    }
}
