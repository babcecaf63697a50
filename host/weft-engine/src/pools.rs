//! Pools of existing machines for the `hosts` provider: checked and sealed when an admin writes
//! one, opened only to hand a provider task its SSH targets.

use std::collections::BTreeSet;

use weft_model::{FieldError, PoolMachine, PoolRequest, PoolSpec, PoolTarget};
use weft_store::PoolRow;

use crate::{Engine, EngineError};

/// The provider field that names the pool a provider draws its machines from.
pub const POOL_FIELD: &str = "pool";
/// The provider field a task of such a provider gets: the pool's machines (names, addresses,
/// host keys) and its cleanup command, as JSON. The login key is not in it.
pub const POOL_TASK_FIELD: &str = "weft-pool";

fn pool_context(tenant_id: &str, name: &str) -> String {
    format!("weft:pool:{tenant_id}:{name}")
}

/// The stored body: the pool without its key, with the public half for display.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredPool {
    description: String,
    user: String,
    public_key: String,
    cleanup: Option<String>,
    machines: Vec<PoolMachine>,
}

fn check_address(field: &str, address: &str) -> Result<String, FieldError> {
    let bad = || {
        FieldError::new(
            field,
            "address",
            format!("'{address}' is not host or host:port"),
        )
    };
    let (host, port) = if address.matches(':').count() > 1 && !address.starts_with('[') {
        // a bare IPv6 address
        (address, 22)
    } else {
        match address.rsplit_once(':') {
            Some((host, port)) => (host, port.parse::<u16>().map_err(|_| bad())?),
            None => (address, 22),
        }
    };
    if host.is_empty() || host.chars().any(char::is_whitespace) || port == 0 {
        return Err(bad());
    }
    if host.contains(':') && !host.starts_with('[') {
        return Ok(format!("[{host}]:{port}"));
    }
    Ok(format!("{host}:{port}"))
}

/// Checks a pool and puts its addresses and host keys in canonical form.
fn check(request: &PoolRequest) -> Result<PoolRequest, FieldError> {
    weft_catalog::check_name("name", &request.name)?;
    if request.user.trim().is_empty() || request.user.chars().any(char::is_whitespace) {
        return Err(FieldError::new(
            "user",
            "name",
            "must be a login name without spaces",
        ));
    }
    if request.machines.is_empty() {
        return Err(FieldError::new(
            "machines",
            "required",
            "a pool needs at least one machine",
        ));
    }
    let mut names = BTreeSet::new();
    let mut addresses = BTreeSet::new();
    let mut machines = Vec::new();
    for (i, machine) in request.machines.iter().enumerate() {
        weft_catalog::check_name(&format!("machines[{i}].name"), &machine.name)?;
        if !names.insert(machine.name.clone()) {
            return Err(FieldError::new(
                format!("machines[{i}].name"),
                "unique",
                format!("machine '{}' is listed twice", machine.name),
            ));
        }
        let address = check_address(&format!("machines[{i}].address"), &machine.address)?;
        if !addresses.insert(address.clone()) {
            return Err(FieldError::new(
                format!("machines[{i}].address"),
                "unique",
                format!("address '{address}' is listed twice"),
            ));
        }
        let host_key = weft_ssh::normalize_public_key(&machine.host_key).map_err(|e| {
            FieldError::new(
                format!("machines[{i}].hostKey"),
                "ssh public key",
                format!("is not an OpenSSH public key ({e})"),
            )
        })?;
        machines.push(PoolMachine {
            name: machine.name.clone(),
            address,
            host_key,
        });
    }
    if let Some(cleanup) = &request.cleanup
        && cleanup.trim().is_empty()
    {
        return Err(FieldError::new(
            "cleanup",
            "not empty",
            "leave cleanup out rather than empty",
        ));
    }
    Ok(PoolRequest {
        machines,
        ..request.clone()
    })
}

impl Engine {
    /// Checks and stores a pool; the key is sealed (and required unless the pool exists).
    pub async fn put_pool(
        &self,
        tenant_id: &str,
        request: &PoolRequest,
    ) -> Result<PoolSpec, EngineError> {
        let request = check(request)?;
        let (public_key, sealed) = match &request.private_key {
            Some(text) => {
                let key = weft_ssh::KeyPair::from_openssh(text).map_err(|_| {
                    FieldError::new(
                        "privateKey",
                        "openssh private key",
                        "is not an unencrypted OpenSSH private key",
                    )
                })?;
                let sealed = self.vault.seal(
                    &pool_context(tenant_id, &request.name),
                    text.trim().as_bytes(),
                )?;
                (key.public_openssh(), Some(sealed))
            }
            None => match self.store.get_pool(tenant_id, &request.name).await {
                Ok(row) => (parse(&row)?.public_key, None),
                Err(weft_store::StoreError::NotFound(_)) => {
                    return Err(FieldError::new(
                        "privateKey",
                        "required",
                        format!(
                            "pool '{}' is new, so its login key is required",
                            request.name
                        ),
                    )
                    .into());
                }
                Err(e) => return Err(e.into()),
            },
        };
        let stored = StoredPool {
            description: request.description.clone(),
            user: request.user.clone(),
            public_key,
            cleanup: request.cleanup.clone(),
            machines: request.machines.clone(),
        };
        let body = serde_json::to_string(&stored)
            .map_err(|e| EngineError::Internal(format!("a pool: {e}")))?;
        self.store
            .put_pool(tenant_id, &request.name, &body, sealed.as_deref())
            .await?;
        Ok(spec(&request.name, stored))
    }

    pub async fn get_pool(&self, tenant_id: &str, name: &str) -> Result<PoolSpec, EngineError> {
        let row = self.store.get_pool(tenant_id, name).await?;
        Ok(spec(&row.name, parse(&row)?))
    }

    pub async fn list_pools(&self, tenant_id: &str) -> Result<Vec<PoolSpec>, EngineError> {
        let mut pools = Vec::new();
        for row in self.store.list_pools(tenant_id).await? {
            pools.push(spec(&row.name, parse(&row)?));
        }
        Ok(pools)
    }

    /// A provider task's view of the pool (for [`POOL_TASK_FIELD`]) and its SSH targets.
    pub(crate) async fn pool_for_task(
        &self,
        tenant_id: &str,
        name: &str,
    ) -> Result<Result<(String, Vec<PoolTarget>), String>, EngineError> {
        let row = match self.store.get_pool(tenant_id, name).await {
            Ok(row) => row,
            Err(weft_store::StoreError::NotFound(_)) => {
                return Ok(Err(format!(
                    "the provider draws from pool '{name}', which does not exist"
                )));
            }
            Err(e) => return Err(e.into()),
        };
        let stored = parse(&row)?;
        let key = self
            .vault
            .open_string(&pool_context(tenant_id, name), &row.sealed_key)?;
        let view = serde_json::json!({
            "name": name,
            "user": stored.user,
            "cleanup": stored.cleanup,
            "machines": stored.machines,
        });
        let targets = stored
            .machines
            .iter()
            .map(|m| PoolTarget {
                machine: m.name.clone(),
                user: stored.user.clone(),
                address: m.address.clone(),
                host_key: m.host_key.clone(),
                private_key: key.to_string(),
            })
            .collect();
        Ok(Ok((view.to_string(), targets)))
    }
}

fn parse(row: &PoolRow) -> Result<StoredPool, EngineError> {
    serde_json::from_str(&row.body)
        .map_err(|e| EngineError::Internal(format!("pool '{}' is corrupt: {e}", row.name)))
}

fn spec(name: &str, stored: StoredPool) -> PoolSpec {
    PoolSpec {
        name: name.into(),
        description: stored.description,
        user: stored.user,
        public_key: stored.public_key,
        cleanup: stored.cleanup,
        machines: stored.machines,
    }
}

#[cfg(test)]
mod tests {
    use super::check_address;

    #[test]
    fn addresses_get_a_port() {
        let ok = |text: &str| check_address("a", text).map_err(|e| e.message);
        assert_eq!(ok("10.0.0.5"), Ok("10.0.0.5:22".into()));
        assert_eq!(ok("127.0.0.1:2222"), Ok("127.0.0.1:2222".into()));
        assert_eq!(ok("[::1]:2222"), Ok("[::1]:2222".into()));
        assert_eq!(ok("::1"), Ok("[::1]:22".into()));
        let error = check_address("machines[0].address", "host:notaport").map(|_| ());
        assert_eq!(
            error.map_err(|e| e.field),
            Err("machines[0].address".to_string())
        );
        assert!(ok("").is_err());
        assert!(ok("host:0").is_err());
    }
}
