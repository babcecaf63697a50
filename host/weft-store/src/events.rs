//! The lifecycle outbox: `job_events` rows are written in the same transaction as the job
//! change they report (see `jobs.rs`); the webhook dispatcher claims them, sends them, and
//! deletes them once delivered. Delivery is at least once.

use crate::{Backend, Result, Store, execute, on_pool};

/// One lifecycle event waiting for delivery.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct JobEventRow {
    pub id: String,
    pub tenant_id: String,
    /// `start`, `success` or `failure`.
    pub kind: String,
    /// `{"event", "clusterId", "jobId", "action", "status"}`.
    pub body: String,
    pub created_at: i64,
    /// Attempts so far, this claim included.
    pub attempts: i64,
}

/// The oldest ready event, held until `hold_until` and counted as an attempt.
const CLAIM: &str = "UPDATE job_events SET not_before = $1, attempts = attempts + 1 \
     WHERE id = (SELECT id FROM job_events WHERE not_before <= $2 \
        ORDER BY created_at, id LIMIT 1 LOCKING) \
     AND not_before <= $2 \
     RETURNING id, tenant_id, kind, body, created_at, attempts";

impl Store {
    /// Claims up to `limit` ready events, oldest first, holding each until `hold_until`.
    pub async fn claim_job_events(
        &self,
        now: i64,
        hold_until: i64,
        limit: usize,
    ) -> Result<Vec<JobEventRow>> {
        let sql = match self.backend {
            Backend::Postgres(_) => CLAIM.replace("LOCKING", "FOR UPDATE SKIP LOCKED"),
            Backend::Sqlite(_) => CLAIM.replace("LOCKING", ""),
        };
        let mut out = Vec::new();
        while out.len() < limit {
            let claimed: Option<JobEventRow> = on_pool!(self, |pool| sqlx::query_as(&sql)
                .bind(hold_until)
                .bind(now)
                .fetch_optional(pool)
                .await)?;
            match claimed {
                Some(row) => out.push(row),
                None => break,
            }
        }
        Ok(out)
    }

    /// An event delivered (or given up on) leaves the outbox.
    pub async fn delete_job_event(&self, id: &str) -> Result<()> {
        execute!(
            self,
            sqlx::query("DELETE FROM job_events WHERE id = $1").bind(id)
        )?;
        Ok(())
    }

    /// Puts a claimed event back, ready again at `not_before`.
    pub async fn retry_job_event(&self, id: &str, not_before: i64) -> Result<()> {
        execute!(
            self,
            sqlx::query("UPDATE job_events SET not_before = $1 WHERE id = $2")
                .bind(not_before)
                .bind(id)
        )?;
        Ok(())
    }

    /// Events still waiting, for tests and operators.
    pub async fn pending_job_events(&self) -> Result<i64> {
        Ok(on_pool!(self, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM job_events"
        )
        .fetch_one(pool)
        .await)?)
    }
}
