//! Registered plugin components and their versions. Registering a version also writes the
//! plugin's type spec (kind `providertypes` or `automatortypes`) in the same tenant, in one
//! transaction.

use serde_json::{Map, Value};
use sqlx::FromRow;
use weft_model::{EntityKind, PluginGrants, PluginKind, PluginStatus};

use crate::{Result, Store, StoreError, execute, now_ms, on_pool};

/// One stored plugin version, without its bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginRecord {
    pub tenant_id: String,
    pub name: String,
    pub version: i64,
    pub kind: PluginKind,
    pub digest: String,
    pub wit_version: String,
    pub size_bytes: i64,
    pub description: String,
    pub requested: PluginGrants,
    pub approved: PluginGrants,
    pub status: PluginStatus,
    pub created_by: String,
    pub created_at: i64,
}

/// A version to register.
#[derive(Debug, Clone)]
pub struct NewPlugin<'a> {
    pub name: &'a str,
    pub kind: PluginKind,
    pub digest: &'a str,
    pub wit_version: &'a str,
    pub description: &'a str,
    pub requested: &'a PluginGrants,
    pub approved: &'a PluginGrants,
    pub component: &'a [u8],
    pub created_by: &'a str,
    /// The type spec written with it.
    pub type_spec: &'a Map<String, Value>,
}

#[derive(FromRow)]
struct PluginRow {
    tenant_id: String,
    name: String,
    version: i64,
    kind: String,
    digest: String,
    wit_version: String,
    size_bytes: i64,
    description: String,
    requested: String,
    approved: String,
    status: String,
    created_by: String,
    created_at: i64,
}

const COLUMNS: &str = "tenant_id, name, version, kind, digest, wit_version, size_bytes, \
                       description, requested, approved, status, created_by, created_at";

impl TryFrom<PluginRow> for PluginRecord {
    type Error = StoreError;

    fn try_from(row: PluginRow) -> Result<PluginRecord> {
        let corrupt = |what: &str| {
            StoreError::Corrupt(format!(
                "plugin '{}' version {}: {what}",
                row.name, row.version
            ))
        };
        let grants = |text: &str| -> Result<PluginGrants> {
            serde_json::from_str(text).map_err(|_| corrupt("grants are not valid JSON"))
        };
        Ok(PluginRecord {
            kind: PluginKind::parse(&row.kind).ok_or_else(|| corrupt("unknown kind"))?,
            status: PluginStatus::parse(&row.status).ok_or_else(|| corrupt("unknown status"))?,
            requested: grants(&row.requested)?,
            approved: grants(&row.approved)?,
            tenant_id: row.tenant_id,
            name: row.name,
            version: row.version,
            digest: row.digest,
            wit_version: row.wit_version,
            size_bytes: row.size_bytes,
            description: row.description,
            created_by: row.created_by,
            created_at: row.created_at,
        })
    }
}

fn json(grants: &PluginGrants) -> String {
    serde_json::to_string(grants).unwrap_or_else(|_| "{}".into())
}

/// How a registration went inside its transaction.
enum Registered {
    Version(i64),
    Duplicate,
    OtherKind,
}

fn type_kind(kind: PluginKind) -> EntityKind {
    match kind {
        PluginKind::Provider => EntityKind::Providertypes,
        PluginKind::Automator => EntityKind::Automatortypes,
    }
}

impl Store {
    /// Stores the next version of a plugin and writes its type spec, atomically. `Conflict` if
    /// the tenant already has this very component, or the name belongs to a plugin of the other
    /// kind.
    pub async fn register_plugin(
        &self,
        tenant_id: &str,
        plugin: &NewPlugin<'_>,
    ) -> Result<PluginRecord> {
        let _changes = self.catalog_write();
        let now = now_ms();
        let spec_text = Value::Object(plugin.type_spec.clone()).to_string();
        let result: Result<Registered, sqlx::Error> = on_pool!(self, |pool| {
            async {
                let mut tx = pool.begin().await?;
                // take the write lock first: on SQLite a read-then-write transaction fails
                // with "database is locked" when another writer commits in between
                sqlx::query("UPDATE tenants SET workers = workers WHERE id = $1")
                    .bind(tenant_id)
                    .execute(&mut *tx)
                    .await?;
                let existing: Option<(String, i64)> = sqlx::query_as(
                    "SELECT name, version FROM plugins WHERE tenant_id = $1 AND digest = $2",
                )
                .bind(tenant_id)
                .bind(plugin.digest)
                .fetch_optional(&mut *tx)
                .await?;
                if existing.is_some() {
                    return Ok(Registered::Duplicate);
                }
                let other_kind: Option<String> = sqlx::query_scalar(
                    "SELECT kind FROM plugins WHERE tenant_id = $1 AND name = $2 AND kind <> $3 LIMIT 1",
                )
                .bind(tenant_id)
                .bind(plugin.name)
                .bind(plugin.kind.as_str())
                .fetch_optional(&mut *tx)
                .await?;
                if other_kind.is_some() {
                    return Ok(Registered::OtherKind);
                }
                let version: i64 = sqlx::query_scalar(
                    "INSERT INTO plugins (tenant_id, name, version, kind, digest, wit_version, size_bytes, \
                     description, requested, approved, status, component, created_by, created_at) \
                     SELECT $1, $2, COALESCE(MAX(version), 0) + 1, $3, $4, $5, $6, $7, $8, $9, 'active', $10, $11, $12 \
                     FROM plugins WHERE tenant_id = $1 AND name = $2 RETURNING version",
                )
                .bind(tenant_id)
                .bind(plugin.name)
                .bind(plugin.kind.as_str())
                .bind(plugin.digest)
                .bind(plugin.wit_version)
                .bind(plugin.component.len() as i64)
                .bind(plugin.description)
                .bind(json(plugin.requested))
                .bind(json(plugin.approved))
                .bind(plugin.component)
                .bind(plugin.created_by)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                sqlx::query(crate::catalog::NEXT_VERSION)
                    .bind(tenant_id)
                    .bind(type_kind(plugin.kind).as_str())
                    .bind(plugin.name)
                    .bind(&spec_text)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(Registered::Version(version))
            }
            .await
        });
        match result {
            Ok(Registered::OtherKind) => Err(StoreError::Conflict(format!(
                "a plugin named '{}' of the other kind is registered; a name keeps its kind",
                plugin.name
            ))),
            Ok(Registered::Version(version)) => {
                self.get_plugin(tenant_id, plugin.name, Some(version)).await
            }
            Ok(Registered::Duplicate) => {
                let (name, version): (String, i64) = on_pool!(self, |pool| sqlx::query_as(
                    "SELECT name, version FROM plugins WHERE tenant_id = $1 AND digest = $2"
                )
                .bind(tenant_id)
                .bind(plugin.digest)
                .fetch_one(pool)
                .await)?;
                Err(StoreError::Conflict(format!(
                    "this component is already registered as plugin '{name}' version {version}"
                )))
            }
            Err(e) if StoreError::is_unique_violation(&e) => Err(StoreError::Conflict(format!(
                "plugin '{}' changed during the upload; nothing was written, try again",
                plugin.name
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Every version of every plugin of a tenant, by name then version.
    pub async fn list_plugins(&self, tenant_id: &str) -> Result<Vec<PluginRecord>> {
        let rows: Vec<PluginRow> = on_pool!(self, |pool| sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM plugins WHERE tenant_id = $1 ORDER BY name, version"
        ))
        .bind(tenant_id)
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(PluginRecord::try_from).collect()
    }

    /// One version (the latest without `version`).
    pub async fn get_plugin(
        &self,
        tenant_id: &str,
        name: &str,
        version: Option<i64>,
    ) -> Result<PluginRecord> {
        let row: Option<PluginRow> = on_pool!(self, |pool| {
            sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM plugins WHERE tenant_id = $1 AND name = $2 AND \
             version = COALESCE($3, (SELECT MAX(version) FROM plugins WHERE tenant_id = $1 AND name = $2))"
        ))
        .bind(tenant_id)
        .bind(name)
        .bind(version)
        .fetch_optional(pool)
        .await
        })?;
        match row {
            Some(row) => row.try_into(),
            None => Err(StoreError::NotFound(match version {
                None => format!("plugin '{name}' is not registered"),
                Some(v) => format!("plugin '{name}' has no version {v}"),
            })),
        }
    }

    /// The latest version of the plugin `name` that `tenant_id` registered, or else that
    /// `fallback_tenant_id` did (the global one): one query, the tenant's first.
    pub async fn get_plugin_own_or(
        &self,
        tenant_id: &str,
        fallback_tenant_id: &str,
        name: &str,
    ) -> Result<Option<PluginRecord>> {
        let row: Option<PluginRow> = on_pool!(self, |pool| {
            sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM plugins p WHERE p.tenant_id IN ($1, $2) AND p.name = $3 \
                 AND p.version = (SELECT MAX(l.version) FROM plugins l \
                 WHERE l.tenant_id = p.tenant_id AND l.name = $3) \
                 ORDER BY CASE WHEN p.tenant_id = $1 THEN 0 ELSE 1 END LIMIT 1"
            ))
            .bind(tenant_id)
            .bind(fallback_tenant_id)
            .bind(name)
            .fetch_optional(pool)
            .await
        })?;
        row.map(TryInto::try_into).transpose()
    }

    /// The component with this digest and the tenants that registered it.
    pub async fn plugin_component_by_digest(
        &self,
        digest: &str,
    ) -> Result<Option<(Vec<String>, Vec<u8>)>> {
        let tenants: Vec<String> = on_pool!(self, |pool| sqlx::query_scalar(
            "SELECT tenant_id FROM plugins WHERE digest = $1"
        )
        .bind(digest)
        .fetch_all(pool)
        .await)?;
        let bytes: Option<Vec<u8>> = on_pool!(self, |pool| sqlx::query_scalar(
            "SELECT component FROM plugins WHERE digest = $1 LIMIT 1"
        )
        .bind(digest)
        .fetch_optional(pool)
        .await)?;
        Ok(bytes.map(|b| (tenants, b)))
    }

    /// The component bytes of one version.
    pub async fn plugin_component(
        &self,
        tenant_id: &str,
        name: &str,
        version: i64,
    ) -> Result<Vec<u8>> {
        let bytes: Option<Vec<u8>> = on_pool!(self, |pool| sqlx::query_scalar(
            "SELECT component FROM plugins WHERE tenant_id = $1 AND name = $2 AND version = $3"
        )
        .bind(tenant_id)
        .bind(name)
        .bind(version)
        .fetch_optional(pool)
        .await)?;
        bytes.ok_or_else(|| {
            StoreError::NotFound(format!("plugin '{name}' has no version {version}"))
        })
    }

    /// Replaces the approved grants of one version.
    pub async fn set_plugin_grants(
        &self,
        tenant_id: &str,
        name: &str,
        version: i64,
        approved: &PluginGrants,
    ) -> Result<PluginRecord> {
        let _changes = self.catalog_write();
        let changed = execute!(self, sqlx::query(
            "UPDATE plugins SET approved = $4 WHERE tenant_id = $1 AND name = $2 AND version = $3"
        )
        .bind(tenant_id)
        .bind(name)
        .bind(version)
        .bind(json(approved)))?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!(
                "plugin '{name}' has no version {version}"
            )));
        }
        self.get_plugin(tenant_id, name, Some(version)).await
    }

    /// Sets the status of one version (the host quarantines; an admin re-enables or disables).
    pub async fn set_plugin_status(
        &self,
        tenant_id: &str,
        name: &str,
        version: i64,
        status: PluginStatus,
    ) -> Result<PluginRecord> {
        let _changes = self.catalog_write();
        let changed =
            execute!(self, sqlx::query(
            "UPDATE plugins SET status = $4 WHERE tenant_id = $1 AND name = $2 AND version = $3"
        )
        .bind(tenant_id)
        .bind(name)
        .bind(version)
        .bind(status.as_str()))?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!(
                "plugin '{name}' has no version {version}"
            )));
        }
        self.get_plugin(tenant_id, name, Some(version)).await
    }
}
