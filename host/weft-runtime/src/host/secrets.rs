//! `weft:plugin/secrets`: sensitive fields as opaque handles. A value leaves the host only
//! through `reveal`, which is audited; the runtime also scrubs revealed values from the task's
//! log, output and results.

use wasmtime::Result;
use wasmtime::component::Resource;

use super::TaskState;
use crate::bindings::secrets;

/// A handle to one of the task's secrets; holds only the name.
#[allow(
    unreachable_pub,
    reason = "bindgen re-exports it as the secrets.secret resource type"
)]
pub struct Secret {
    name: String,
}

impl secrets::Host for TaskState {
    async fn names(&mut self) -> Result<Vec<String>> {
        Ok(self.secrets.keys().cloned().collect())
    }

    async fn get(
        &mut self,
        name: String,
    ) -> Result<std::result::Result<Resource<Secret>, secrets::SecretError>> {
        if !self.secrets.contains_key(&name) {
            return Ok(Err(secrets::SecretError::NotFound(format!(
                "this task carries no secret named '{name}'"
            ))));
        }
        Ok(Ok(self.table.push(Secret { name })?))
    }

    async fn reveal(&mut self, secret: Resource<Secret>) -> Result<String> {
        let name = self.table.get(&secret)?.name.clone();
        self.audit("secret.reveal", name.clone());
        Ok(self.secrets.get(&name).cloned().unwrap_or_default())
    }
}

impl secrets::HostSecret for TaskState {
    async fn name(&mut self, secret: Resource<Secret>) -> Result<String> {
        Ok(self.table.get(&secret)?.name.clone())
    }

    async fn drop(&mut self, secret: Resource<Secret>) -> Result<()> {
        self.table.delete(secret)?;
        Ok(())
    }
}
