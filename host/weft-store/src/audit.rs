//! The audit log: who did what, when, to which path, with what outcome.

use sqlx::FromRow;

use crate::{Result, Store, execute, on_pool};

/// One mutating request.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct AuditEntry {
    pub id: String,
    pub tenant_id: String,
    /// The user's name.
    pub actor: String,
    pub method: String,
    pub path: String,
    /// The HTTP status answered.
    pub status: i64,
    pub at: i64,
}

impl Store {
    /// Appends an entry.
    pub async fn append_audit(&self, entry: &AuditEntry) -> Result<()> {
        execute!(
            self,
            sqlx::query(
                "INSERT INTO audit_log (id, tenant_id, actor, method, path, status, at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)"
            )
            .bind(&entry.id)
            .bind(&entry.tenant_id)
            .bind(&entry.actor)
            .bind(&entry.method)
            .bind(&entry.path)
            .bind(entry.status)
            .bind(entry.at)
        )?;
        Ok(())
    }

    /// A tenant's entries, newest first, older than `before` (ms) when given.
    pub async fn audit_log(
        &self,
        tenant_id: &str,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AuditEntry>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT id, tenant_id, actor, method, path, status, at FROM audit_log \
                 WHERE tenant_id = $1 AND at < $2 ORDER BY at DESC, id DESC LIMIT $3",
            )
            .bind(tenant_id)
            .bind(before.unwrap_or(i64::MAX))
            .bind(limit)
            .fetch_all(pool)
            .await
        })?)
    }
}
