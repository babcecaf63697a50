//! Pools of existing machines (the `hosts` provider): the pool without its key as JSON text,
//! and the login key as the vault sealed it. This crate never sees the key in the clear.

use crate::{Result, Store, StoreError, execute, now_ms, on_pool};

/// One stored pool.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolRow {
    pub name: String,
    /// The pool as JSON text, without its key.
    pub body: String,
    /// The login key, sealed.
    pub sealed_key: String,
}

impl Store {
    /// Writes a pool, replacing one of the same name. With no `sealed_key` the stored one is
    /// kept, and the pool must exist (`NotFound` otherwise).
    pub async fn put_pool(
        &self,
        tenant_id: &str,
        name: &str,
        body: &str,
        sealed_key: Option<&str>,
    ) -> Result<()> {
        let now = now_ms();
        let touched = match sealed_key {
            Some(key) => execute!(
                self,
                sqlx::query(
                    "INSERT INTO host_pools (tenant_id, name, body, sealed_key, updated_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, name) DO UPDATE \
                     SET body = excluded.body, sealed_key = excluded.sealed_key, updated_at = excluded.updated_at"
                )
                .bind(tenant_id)
                .bind(name)
                .bind(body)
                .bind(key)
                .bind(now)
            )?,
            None => execute!(
                self,
                sqlx::query(
                    "UPDATE host_pools SET body = $3, updated_at = $4 WHERE tenant_id = $1 AND name = $2"
                )
                .bind(tenant_id)
                .bind(name)
                .bind(body)
                .bind(now)
            )?,
        };
        if touched == 0 {
            return Err(StoreError::NotFound(format!(
                "pool '{name}' does not exist, so its privateKey is required"
            )));
        }
        Ok(())
    }

    pub async fn get_pool(&self, tenant_id: &str, name: &str) -> Result<PoolRow> {
        let row: Option<(String, String, String)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT name, body, sealed_key FROM host_pools WHERE tenant_id = $1 AND name = $2",
            )
            .bind(tenant_id)
            .bind(name)
            .fetch_optional(pool)
            .await
        })?;
        row.map(|(name, body, sealed_key)| PoolRow {
            name,
            body,
            sealed_key,
        })
        .ok_or_else(|| StoreError::NotFound(format!("pool '{name}' does not exist")))
    }

    pub async fn list_pools(&self, tenant_id: &str) -> Result<Vec<PoolRow>> {
        let rows: Vec<(String, String, String)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT name, body, sealed_key FROM host_pools WHERE tenant_id = $1 ORDER BY name",
            )
            .bind(tenant_id)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows
            .into_iter()
            .map(|(name, body, sealed_key)| PoolRow {
                name,
                body,
                sealed_key,
            })
            .collect())
    }

    pub async fn delete_pool(&self, tenant_id: &str, name: &str) -> Result<()> {
        let touched = execute!(
            self,
            sqlx::query("DELETE FROM host_pools WHERE tenant_id = $1 AND name = $2")
                .bind(tenant_id)
                .bind(name)
        )?;
        if touched == 0 {
            return Err(StoreError::NotFound(format!(
                "pool '{name}' does not exist"
            )));
        }
        Ok(())
    }
}
