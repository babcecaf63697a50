//! Worker credentials and registrations (Coopr's provisioners).

use sqlx::FromRow;

use crate::{Result, Store, StoreError, execute, on_pool};

/// A worker token: shared by every tenant (`tenant_id` `None`) or one tenant's own.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct WorkerTokenRow {
    pub name: String,
    pub tenant_id: Option<String>,
    pub created_at: i64,
}

/// A registered worker process.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ProvisionerRow {
    pub id: String,
    pub token_name: String,
    pub host: String,
    pub capacity: i64,
    pub usage: i64,
    pub registered_at: i64,
    pub heartbeat_at: i64,
}

impl Store {
    /// Adds a worker token by its digest; [`StoreError::Conflict`] if the name is taken.
    pub async fn create_worker_token(
        &self,
        name: &str,
        tenant_id: Option<&str>,
        digest: &str,
        now: i64,
    ) -> Result<()> {
        let added = execute!(
            self,
            sqlx::query(
                "INSERT INTO worker_tokens (name, tenant_id, token_digest, created_at) \
                 VALUES ($1, $2, $3, $4)"
            )
            .bind(name)
            .bind(tenant_id)
            .bind(digest)
            .bind(now)
        );
        match added {
            Ok(_) => Ok(()),
            Err(e) if StoreError::is_unique_violation(&e) => Err(StoreError::Conflict(format!(
                "a worker token named '{name}' exists"
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Worker tokens visible to a tenant (its own), or all (`None`: superadmin).
    pub async fn list_worker_tokens(&self, tenant_id: Option<&str>) -> Result<Vec<WorkerTokenRow>> {
        Ok(on_pool!(self, |pool| sqlx::query_as(
            "SELECT name, tenant_id, created_at FROM worker_tokens \
             WHERE $1 IS NULL OR tenant_id = $1 ORDER BY name"
        )
        .bind(tenant_id)
        .fetch_all(pool)
        .await)?)
    }

    /// Deletes a worker token (of the tenant, when given); answers whether it existed.
    pub async fn delete_worker_token(&self, name: &str, tenant_id: Option<&str>) -> Result<bool> {
        let deleted = execute!(
            self,
            sqlx::query(
                "DELETE FROM worker_tokens WHERE name = $1 AND ($2 IS NULL OR tenant_id = $2)"
            )
            .bind(name)
            .bind(tenant_id)
        )?;
        Ok(deleted == 1)
    }

    /// The worker token with this digest.
    pub async fn worker_by_digest(&self, digest: &str) -> Result<Option<WorkerTokenRow>> {
        Ok(on_pool!(self, |pool| sqlx::query_as(
            "SELECT name, tenant_id, created_at FROM worker_tokens WHERE token_digest = $1"
        )
        .bind(digest)
        .fetch_optional(pool)
        .await)?)
    }

    /// Registers (or re-registers) a worker process.
    pub async fn register_provisioner(&self, row: &ProvisionerRow) -> Result<()> {
        on_pool!(self, |pool| {
            async {
                let mut tx = pool.begin().await?;
                sqlx::query("DELETE FROM provisioners WHERE id = $1")
                    .bind(&row.id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO provisioners (id, token_name, host, capacity, usage, registered_at, heartbeat_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&row.id)
                .bind(&row.token_name)
                .bind(&row.host)
                .bind(row.capacity)
                .bind(row.usage)
                .bind(row.registered_at)
                .bind(row.heartbeat_at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok::<(), StoreError>(())
            }
            .await
        })
    }

    /// Records a heartbeat; answers whether the worker is registered (Coopr: 404 otherwise,
    /// and the worker registers again).
    pub async fn heartbeat_provisioner(
        &self,
        id: &str,
        token_name: &str,
        usage: i64,
        now: i64,
    ) -> Result<bool> {
        let beat = execute!(
            self,
            sqlx::query(
                "UPDATE provisioners SET usage = $3, heartbeat_at = $4 WHERE id = $1 AND token_name = $2"
            )
            .bind(id)
            .bind(token_name)
            .bind(usage)
            .bind(now)
        )?;
        Ok(beat == 1)
    }

    pub async fn get_provisioner(&self, id: &str) -> Result<Option<ProvisionerRow>> {
        Ok(on_pool!(self, |pool| sqlx::query_as(
            "SELECT id, token_name, host, capacity, usage, registered_at, heartbeat_at \
             FROM provisioners WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(pool)
        .await)?)
    }

    pub async fn list_provisioners(&self) -> Result<Vec<ProvisionerRow>> {
        Ok(on_pool!(self, |pool| sqlx::query_as(
            "SELECT id, token_name, host, capacity, usage, registered_at, heartbeat_at \
             FROM provisioners ORDER BY id"
        )
        .fetch_all(pool)
        .await)?)
    }

    /// Removes workers silent since before `since`; their leases expire on their own.
    pub async fn remove_silent_provisioners(&self, since: i64) -> Result<u64> {
        Ok(execute!(
            self,
            sqlx::query("DELETE FROM provisioners WHERE heartbeat_at < $1").bind(since)
        )?)
    }
}
