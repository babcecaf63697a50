//! Plugin resources (Coopr's §1.15): versions of named files per tenant, plugin and resource
//! type, with the bytes kept in the database so every server replica and worker sees the same
//! set. Status changes run in one transaction each, so two admins staging at once leave one
//! consistent state.

use std::collections::BTreeMap;

use weft_model::{PluginKind, ResourceMeta, ResourceRef, ResourceStatus};

use crate::{Result, Store, StoreError, execute, now_ms, on_pool};

/// Which resource: tenant, plugin and type.
#[derive(Debug, Clone, Copy)]
pub struct ResourceScope<'a> {
    pub tenant_id: &'a str,
    pub kind: PluginKind,
    pub plugin: &'a str,
    pub resource_type: &'a str,
}

fn meta(name: String, version: i64, status: &str) -> Result<ResourceMeta> {
    let status = ResourceStatus::parse(status).ok_or_else(|| {
        StoreError::Corrupt(format!(
            "resource '{name}' version {version} has unknown status '{status}'"
        ))
    })?;
    Ok(ResourceMeta {
        name,
        version,
        status,
    })
}

/// The statuses after staging (`stage`) or recalling one version, as (version, new status)
/// changes, following Coopr's state machine.
fn transitions(
    versions: &[(i64, ResourceStatus)],
    target: i64,
    stage: bool,
) -> Vec<(i64, ResourceStatus)> {
    use ResourceStatus::*;
    let Some(&(_, current)) = versions.iter().find(|(v, _)| *v == target) else {
        return Vec::new();
    };
    let mut changes = Vec::new();
    if stage {
        let next = match current {
            Inactive => Staged,
            Recalled => Active,
            Staged | Active => return Vec::new(),
        };
        changes.push((target, next));
        for &(v, status) in versions.iter().filter(|(v, _)| *v != target) {
            match status {
                Active => changes.push((v, Recalled)),
                Staged => changes.push((v, Inactive)),
                Inactive | Recalled => {}
            }
        }
    } else {
        match current {
            Active => changes.push((target, Recalled)),
            Staged => changes.push((target, Inactive)),
            Inactive | Recalled => {}
        }
    }
    changes
}

impl Store {
    /// Stores the bytes as the next version of the resource, inactive.
    pub async fn upload_resource(
        &self,
        scope: ResourceScope<'_>,
        name: &str,
        data: &[u8],
        digest: &str,
        created_by: &str,
    ) -> Result<ResourceMeta> {
        let _changes = self.catalog_write();
        let version: std::result::Result<i64, sqlx::Error> = on_pool!(self, |pool| {
            sqlx::query_scalar(
                "INSERT INTO plugin_resources (tenant_id, plugin_kind, plugin, resource_type, name, \
                 version, status, digest, size_bytes, data, created_by, created_at) \
                 SELECT $1, $2, $3, $4, $5, COALESCE(MAX(version), 0) + 1, 'inactive', $6, $7, $8, $9, $10 \
                 FROM plugin_resources WHERE tenant_id = $1 AND plugin_kind = $2 AND plugin = $3 \
                 AND resource_type = $4 AND name = $5 RETURNING version",
            )
            .bind(scope.tenant_id)
            .bind(scope.kind.as_str())
            .bind(scope.plugin)
            .bind(scope.resource_type)
            .bind(name)
            .bind(digest)
            .bind(data.len() as i64)
            .bind(data)
            .bind(created_by)
            .bind(now_ms())
            .fetch_one(pool)
            .await
        });
        match version {
            Ok(version) => Ok(ResourceMeta {
                name: name.into(),
                version,
                status: ResourceStatus::Inactive,
            }),
            Err(e) if StoreError::is_unique_violation(&e) => Err(StoreError::Conflict(format!(
                "another upload of resource '{name}' was stored at the same time; try again"
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Every resource of the scope, by name, each with its versions (oldest first), keeping only
    /// versions whose status is in `statuses` when given.
    pub async fn list_resources(
        &self,
        scope: ResourceScope<'_>,
        statuses: Option<&[ResourceStatus]>,
    ) -> Result<BTreeMap<String, Vec<ResourceMeta>>> {
        let rows: Vec<(String, i64, String)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT name, version, status FROM plugin_resources WHERE tenant_id = $1 \
                 AND plugin_kind = $2 AND plugin = $3 AND resource_type = $4 ORDER BY name, version",
            )
            .bind(scope.tenant_id)
            .bind(scope.kind.as_str())
            .bind(scope.plugin)
            .bind(scope.resource_type)
            .fetch_all(pool)
            .await
        })?;
        let mut listed: BTreeMap<String, Vec<ResourceMeta>> = BTreeMap::new();
        for (name, version, status) in rows {
            let meta = meta(name, version, &status)?;
            if statuses.is_none_or(|keep| keep.contains(&meta.status)) {
                listed.entry(meta.name.clone()).or_default().push(meta);
            }
        }
        Ok(listed)
    }

    /// The versions of one resource, oldest first; `NotFound` if it has none.
    pub async fn resource_versions(
        &self,
        scope: ResourceScope<'_>,
        name: &str,
    ) -> Result<Vec<ResourceMeta>> {
        let rows: Vec<(String, i64, String)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT name, version, status FROM plugin_resources WHERE tenant_id = $1 \
                 AND plugin_kind = $2 AND plugin = $3 AND resource_type = $4 AND name = $5 ORDER BY version",
            )
            .bind(scope.tenant_id)
            .bind(scope.kind.as_str())
            .bind(scope.plugin)
            .bind(scope.resource_type)
            .bind(name)
            .fetch_all(pool)
            .await
        })?;
        if rows.is_empty() {
            return Err(StoreError::NotFound(format!(
                "{} resource '{name}' of plugin '{}' does not exist",
                scope.resource_type, scope.plugin
            )));
        }
        rows.into_iter().map(|(n, v, s)| meta(n, v, &s)).collect()
    }

    /// Stages (`stage`) or recalls one version; answers the resource's versions afterwards.
    pub async fn change_resource(
        &self,
        scope: ResourceScope<'_>,
        name: &str,
        version: i64,
        stage: bool,
    ) -> Result<Vec<ResourceMeta>> {
        let _changes = self.catalog_write();
        let done: std::result::Result<Option<()>, StoreError> = on_pool!(self, |pool| {
            async {
                let mut tx = pool.begin().await?;
                // take the write lock first (SQLite), and lock the rows (PostgreSQL)
                sqlx::query(
                    "UPDATE plugin_resources SET status = status WHERE tenant_id = $1 \
                     AND plugin_kind = $2 AND plugin = $3 AND resource_type = $4 AND name = $5",
                )
                .bind(scope.tenant_id)
                .bind(scope.kind.as_str())
                .bind(scope.plugin)
                .bind(scope.resource_type)
                .bind(name)
                .execute(&mut *tx)
                .await?;
                let rows: Vec<(i64, String)> = sqlx::query_as(
                    "SELECT version, status FROM plugin_resources WHERE tenant_id = $1 \
                     AND plugin_kind = $2 AND plugin = $3 AND resource_type = $4 AND name = $5",
                )
                .bind(scope.tenant_id)
                .bind(scope.kind.as_str())
                .bind(scope.plugin)
                .bind(scope.resource_type)
                .bind(name)
                .fetch_all(&mut *tx)
                .await?;
                let mut versions = Vec::new();
                for (v, s) in rows {
                    versions.push((v, meta(name.into(), v, &s)?.status));
                }
                if !versions.iter().any(|(v, _)| *v == version) {
                    return Ok(None);
                }
                for (v, status) in transitions(&versions, version, stage) {
                    sqlx::query(
                        "UPDATE plugin_resources SET status = $7 WHERE tenant_id = $1 \
                         AND plugin_kind = $2 AND plugin = $3 AND resource_type = $4 AND name = $5 AND version = $6",
                    )
                    .bind(scope.tenant_id)
                    .bind(scope.kind.as_str())
                    .bind(scope.plugin)
                    .bind(scope.resource_type)
                    .bind(name)
                    .bind(v)
                    .bind(status.as_str())
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(Some(()))
            }
            .await
        });
        if done?.is_none() {
            return Err(StoreError::NotFound(format!(
                "{} resource '{name}' of plugin '{}' has no version {version}",
                scope.resource_type, scope.plugin
            )));
        }
        self.resource_versions(scope, name).await
    }

    /// Deletes one version, or every version of the resource.
    pub async fn delete_resource(
        &self,
        scope: ResourceScope<'_>,
        name: &str,
        version: Option<i64>,
    ) -> Result<()> {
        let _changes = self.catalog_write();
        let touched = execute!(
            self,
            sqlx::query(
                "DELETE FROM plugin_resources WHERE tenant_id = $1 AND plugin_kind = $2 \
                 AND plugin = $3 AND resource_type = $4 AND name = $5 AND ($6 IS NULL OR version = $6)"
            )
            .bind(scope.tenant_id)
            .bind(scope.kind.as_str())
            .bind(scope.plugin)
            .bind(scope.resource_type)
            .bind(name)
            .bind(version)
        )?;
        if touched == 0 {
            return Err(StoreError::NotFound(match version {
                Some(v) => format!(
                    "{} resource '{name}' of plugin '{}' has no version {v}",
                    scope.resource_type, scope.plugin
                ),
                None => format!(
                    "{} resource '{name}' of plugin '{}' does not exist",
                    scope.resource_type, scope.plugin
                ),
            }));
        }
        Ok(())
    }

    /// Coopr's sync for a tenant: staged versions become active and recalled ones inactive, in
    /// one transaction. Answers how many versions changed.
    pub async fn sync_resources(&self, tenant_id: &str) -> Result<u64> {
        let _changes = self.catalog_write();
        let changed: std::result::Result<u64, sqlx::Error> = on_pool!(self, |pool| {
            async {
                let mut tx = pool.begin().await?;
                let mut changed = 0;
                for (from, to) in [("staged", "active"), ("recalled", "inactive")] {
                    changed += sqlx::query(
                        "UPDATE plugin_resources SET status = $3 WHERE tenant_id = $1 AND status = $2",
                    )
                    .bind(tenant_id)
                    .bind(from)
                    .bind(to)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                }
                tx.commit().await?;
                Ok(changed)
            }
            .await
        });
        Ok(changed?)
    }

    /// What tasks of `plugin` in the tenant get: its live versions (active or recalled).
    pub async fn live_resources(
        &self,
        tenant_id: &str,
        kind: PluginKind,
        plugin: &str,
    ) -> Result<Vec<ResourceRef>> {
        let rows: Vec<(String, String, i64, String)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT resource_type, name, version, digest FROM plugin_resources \
                 WHERE tenant_id = $1 AND plugin_kind = $2 AND plugin = $3 \
                 AND status IN ('active', 'recalled') ORDER BY resource_type, name",
            )
            .bind(tenant_id)
            .bind(kind.as_str())
            .bind(plugin)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows
            .into_iter()
            .map(|(resource_type, name, version, digest)| ResourceRef {
                plugin: plugin.into(),
                resource_type,
                name,
                version,
                digest,
            })
            .collect())
    }

    /// A resource's bytes by digest, with the tenants that hold it.
    pub async fn resource_by_digest(&self, digest: &str) -> Result<Option<(Vec<String>, Vec<u8>)>> {
        let tenants: Vec<String> = on_pool!(self, |pool| sqlx::query_scalar(
            "SELECT DISTINCT tenant_id FROM plugin_resources WHERE digest = $1"
        )
        .bind(digest)
        .fetch_all(pool)
        .await)?;
        let bytes: Option<Vec<u8>> = on_pool!(self, |pool| sqlx::query_scalar(
            "SELECT data FROM plugin_resources WHERE digest = $1 LIMIT 1"
        )
        .bind(digest)
        .fetch_optional(pool)
        .await)?;
        Ok(bytes.map(|b| (tenants, b)))
    }
}

#[cfg(test)]
mod tests {
    use super::transitions;
    use weft_model::ResourceStatus::*;

    #[test]
    fn staging_follows_coopr() {
        // staging a new version recalls the active one and unstages a staged one
        assert_eq!(
            transitions(&[(1, Active), (2, Staged), (3, Inactive)], 3, true),
            vec![(3, Staged), (1, Recalled), (2, Inactive)]
        );
        // staging a recalled version makes it active again
        assert_eq!(
            transitions(&[(1, Recalled), (2, Staged)], 1, true),
            vec![(1, Active), (2, Inactive)]
        );
        // staging what is staged or active changes nothing
        assert!(transitions(&[(1, Active)], 1, true).is_empty());
        assert!(transitions(&[(1, Staged)], 1, true).is_empty());
    }

    #[test]
    fn recalling_follows_coopr() {
        assert_eq!(transitions(&[(1, Active)], 1, false), vec![(1, Recalled)]);
        assert_eq!(transitions(&[(1, Staged)], 1, false), vec![(1, Inactive)]);
        assert!(transitions(&[(1, Inactive)], 1, false).is_empty());
        assert!(transitions(&[(1, Recalled)], 1, false).is_empty());
    }
}
