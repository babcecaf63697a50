//! Tenants and their users (token digests only).

use sqlx::FromRow;
use weft_model::{EntityKind, Role, SUPERADMIN_TENANT, TenantSpec};

use crate::{Result, Store, StoreError, execute, now_ms, on_pool};

/// A tenant row.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantRecord {
    pub id: String,
    pub spec: TenantSpec,
    pub created_at: i64,
}

/// The inactivity lease as stored: `NULL` for none (absent or 0).
fn inactivity(spec: &TenantSpec) -> Option<i64> {
    spec.inactivity_lease
        .filter(|ms| *ms > 0)
        .map(|ms| i64::try_from(ms).unwrap_or(i64::MAX))
}

#[derive(FromRow)]
struct TenantRow {
    id: String,
    name: String,
    description: Option<String>,
    workers: i64,
    max_clusters: Option<i64>,
    max_nodes: Option<i64>,
    inactivity_lease: Option<i64>,
    created_at: i64,
}

impl From<TenantRow> for TenantRecord {
    fn from(row: TenantRow) -> Self {
        let narrow = |v: i64| u32::try_from(v).unwrap_or(u32::MAX);
        TenantRecord {
            id: row.id,
            spec: TenantSpec {
                name: row.name,
                description: row.description,
                workers: narrow(row.workers),
                max_clusters: row.max_clusters.map(narrow),
                max_nodes: row.max_nodes.map(narrow),
                inactivity_lease: row.inactivity_lease.and_then(|v| u64::try_from(v).ok()),
            },
            created_at: row.created_at,
        }
    }
}

/// A user row, without its token digest.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub name: String,
    pub role: Role,
    pub created_at: i64,
}

/// The owner of a token: a user and the tenant it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    pub tenant_id: String,
    pub tenant_name: String,
    pub user: String,
    pub role: Role,
}

#[derive(FromRow)]
struct UserRow {
    name: String,
    role: String,
    created_at: i64,
}

#[derive(FromRow)]
struct CallerRow {
    tenant_id: String,
    tenant_name: String,
    user_name: String,
    role: String,
}

fn parse_role(role: &str) -> Result<Role> {
    Role::parse(role).ok_or_else(|| StoreError::Corrupt(format!("unknown role '{role}'")))
}

const TENANT_COLUMNS: &str =
    "id, name, description, workers, max_clusters, max_nodes, inactivity_lease, created_at";

impl Store {
    /// Creates the superadmin tenant if it is missing, and its user `admin` with the token whose
    /// digest is given if that tenant has no user yet. Returns whether the user was created, so
    /// the caller knows whether its token is the live one. Safe to run from several replicas.
    pub async fn ensure_superadmin(&self, admin_token_digest: &str) -> Result<bool> {
        let now = now_ms();
        let id = uuid::Uuid::new_v4().to_string();
        execute!(self, sqlx::query("INSERT INTO tenants (id, name, workers, created_at) VALUES ($1, $2, 0, $3) ON CONFLICT (name) DO NOTHING")
                .bind(&id)
                .bind(SUPERADMIN_TENANT)
                .bind(now))?;
        let tenant = self.tenant_by_name(SUPERADMIN_TENANT).await?;
        let inserted = execute!(self, sqlx::query(
                "INSERT INTO users (tenant_id, name, role, token_digest, created_at) \
                 SELECT $1, 'admin', 'admin', $2, $3 WHERE NOT EXISTS (SELECT 1 FROM users WHERE tenant_id = $1) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(&tenant.id)
            .bind(admin_token_digest)
            .bind(now))?;
        Ok(inserted == 1)
    }

    /// Whether the superadmin tenant has a user (the first start is over).
    pub async fn superadmin_exists(&self) -> Result<bool> {
        let count: i64 = on_pool!(self, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE t.name = $1")
                .bind(SUPERADMIN_TENANT)
                .fetch_one(pool)
                .await
        })?;
        Ok(count > 0)
    }

    pub async fn list_tenants(&self) -> Result<Vec<TenantRecord>> {
        let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants ORDER BY name");
        let rows: Vec<TenantRow> =
            on_pool!(self, |pool| sqlx::query_as(&sql).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(TenantRecord::from).collect())
    }

    /// The tenant named `name`, or `NotFound`.
    pub async fn tenant_by_name(&self, name: &str) -> Result<TenantRecord> {
        let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE name = $1");
        let row: Option<TenantRow> = on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(name)
            .fetch_optional(pool)
            .await)?;
        row.map(TenantRecord::from)
            .ok_or_else(|| StoreError::NotFound(format!("tenant '{name}' does not exist")))
    }

    /// Creates a tenant; with `bootstrap`, copies the latest version of every catalog entity of
    /// the superadmin tenant into it, in the same transaction.
    pub async fn create_tenant(&self, spec: &TenantSpec, bootstrap: bool) -> Result<TenantRecord> {
        let _changes = self.catalog_write();
        let id = uuid::Uuid::new_v4().to_string();
        let now = now_ms();
        let kinds: Vec<&str> = EntityKind::CATALOG.iter().map(|k| k.as_str()).collect();
        let copy = format!(
            "INSERT INTO catalog_entities (tenant_id, kind, name, version, body, created_at) \
             SELECT $1, e.kind, e.name, 1, e.body, $2 FROM catalog_entities e JOIN tenants t ON t.id = e.tenant_id \
             WHERE t.name = $3 AND e.kind IN ('{}') \
             AND e.version = (SELECT MAX(l.version) FROM catalog_entities l \
                              WHERE l.tenant_id = e.tenant_id AND l.kind = e.kind AND l.name = e.name)",
            kinds.join("', '")
        );
        let result: Result<(), sqlx::Error> = on_pool!(self, |pool| {
            async {
                let mut tx = pool.begin().await?;
                sqlx::query(
                    "INSERT INTO tenants (id, name, description, workers, max_clusters, max_nodes, inactivity_lease, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $8, $7)",
                )
                .bind(&id)
                .bind(&spec.name)
                .bind(&spec.description)
                .bind(i64::from(spec.workers))
                .bind(spec.max_clusters.map(i64::from))
                .bind(spec.max_nodes.map(i64::from))
                .bind(now)
                .bind(inactivity(spec))
                .execute(&mut *tx)
                .await?;
                if bootstrap {
                    sqlx::query(&copy).bind(&id).bind(now).bind(SUPERADMIN_TENANT).execute(&mut *tx).await?;
                }
                tx.commit().await
            }
            .await
        });
        match result {
            Ok(()) => self.tenant_by_name(&spec.name).await,
            Err(e) if StoreError::is_unique_violation(&e) => Err(StoreError::Conflict(format!(
                "tenant '{}' already exists",
                spec.name
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Replaces a tenant's description, workers and quotas.
    pub async fn update_tenant(&self, spec: &TenantSpec) -> Result<TenantRecord> {
        let updated = execute!(self, sqlx::query("UPDATE tenants SET description = $2, workers = $3, max_clusters = $4, max_nodes = $5, \
                 inactivity_lease = $6 WHERE name = $1")
                .bind(&spec.name)
                .bind(&spec.description)
                .bind(i64::from(spec.workers))
                .bind(spec.max_clusters.map(i64::from))
                .bind(spec.max_nodes.map(i64::from))
                .bind(inactivity(spec)))?;
        if updated == 0 {
            return Err(StoreError::NotFound(format!(
                "tenant '{}' does not exist",
                spec.name
            )));
        }
        self.tenant_by_name(&spec.name).await
    }

    /// Deletes a tenant with its users and catalog. The superadmin tenant cannot be deleted, nor
    /// one that still has workers assigned.
    pub async fn delete_tenant(&self, name: &str) -> Result<()> {
        let _changes = self.catalog_write();
        let tenant = self.tenant_by_name(name).await?;
        if tenant.spec.workers > 0 {
            return Err(StoreError::Conflict(format!(
                "tenant '{name}' still has {} workers assigned: set workers to 0 first",
                tenant.spec.workers
            )));
        }
        let deleted = execute!(
            self,
            sqlx::query("DELETE FROM tenants WHERE id = $1 AND workers = 0 AND name <> $2")
                .bind(&tenant.id)
                .bind(SUPERADMIN_TENANT)
        )?;
        if deleted == 0 {
            return Err(StoreError::Conflict(format!(
                "tenant '{name}' cannot be deleted now"
            )));
        }
        Ok(())
    }

    /// Adds a user whose token has the given digest.
    pub async fn create_user(
        &self,
        tenant_id: &str,
        name: &str,
        role: Role,
        token_digest: &str,
    ) -> Result<UserRecord> {
        let now = now_ms();
        let result = execute!(self, sqlx::query("INSERT INTO users (tenant_id, name, role, token_digest, created_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(tenant_id)
                .bind(name)
                .bind(role.as_str())
                .bind(token_digest)
                .bind(now));
        match result {
            Ok(_) => Ok(UserRecord {
                name: name.to_string(),
                role,
                created_at: now,
            }),
            Err(e) if StoreError::is_unique_violation(&e) => Err(StoreError::Conflict(format!(
                "user '{name}' already exists"
            ))),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn list_users(&self, tenant_id: &str) -> Result<Vec<UserRecord>> {
        let rows: Vec<UserRow> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT name, role, created_at FROM users WHERE tenant_id = $1 ORDER BY name",
            )
            .bind(tenant_id)
            .fetch_all(pool)
            .await
        })?;
        rows.into_iter()
            .map(|r| {
                Ok(UserRecord {
                    role: parse_role(&r.role)?,
                    name: r.name,
                    created_at: r.created_at,
                })
            })
            .collect()
    }

    /// Deletes a user, which revokes its token.
    pub async fn delete_user(&self, tenant_id: &str, name: &str) -> Result<()> {
        let deleted = execute!(
            self,
            sqlx::query("DELETE FROM users WHERE tenant_id = $1 AND name = $2")
                .bind(tenant_id)
                .bind(name)
        )?;
        if deleted == 0 {
            return Err(StoreError::NotFound(format!(
                "user '{name}' does not exist"
            )));
        }
        Ok(())
    }

    /// Gives a user a new token digest, revoking the old token.
    pub async fn replace_token(
        &self,
        tenant_id: &str,
        name: &str,
        token_digest: &str,
    ) -> Result<UserRecord> {
        let updated = execute!(
            self,
            sqlx::query("UPDATE users SET token_digest = $3 WHERE tenant_id = $1 AND name = $2")
                .bind(tenant_id)
                .bind(name)
                .bind(token_digest)
        )?;
        if updated == 0 {
            return Err(StoreError::NotFound(format!(
                "user '{name}' does not exist"
            )));
        }
        self.list_users(tenant_id)
            .await?
            .into_iter()
            .find(|u| u.name == name)
            .ok_or_else(|| StoreError::NotFound(format!("user '{name}' does not exist")))
    }

    /// The user whose token has this digest, if any.
    pub async fn caller_by_token_digest(&self, digest: &str) -> Result<Option<Caller>> {
        let row: Option<CallerRow> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT u.tenant_id, t.name AS tenant_name, u.name AS user_name, u.role \
                 FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE u.token_digest = $1",
            )
            .bind(digest)
            .fetch_optional(pool)
            .await
        })?;
        row.map(|r| {
            Ok(Caller {
                role: parse_role(&r.role)?,
                tenant_id: r.tenant_id,
                tenant_name: r.tenant_name,
                user: r.user_name,
            })
        })
        .transpose()
    }
}
