//! The durable task queue: tasks wait in `task_queue` until a worker claims one; a claim is a
//! lease the worker renews by heartbeat; an expired lease puts the task back (the janitor's
//! [`Store::requeue_expired`]); a finish is accepted only from the worker holding a live lease
//! and moves the task to `task_history`.
//!
//! Claiming is one statement: on PostgreSQL the candidate row is locked with
//! `FOR UPDATE SKIP LOCKED`, so concurrent claimers never wait on or take the same row; SQLite
//! runs one writer at a time, so the same `UPDATE ... WHERE id = (SELECT ...)` is atomic there.
//! Among ready tasks, the tenant with the fewest claimed tasks goes first (fairness), and a
//! tenant at its cap of claimed tasks waits.

use sqlx::FromRow;

use crate::{Backend, Result, Store, StoreError, execute, on_pool};

/// A task handed to a worker.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ClaimedTask {
    pub id: String,
    pub tenant_id: String,
    pub job_id: String,
    pub payload: String,
    /// 1 for the first claim, 2 for the second...
    pub attempts: i64,
    pub lease_until: i64,
}

/// How a task ended, as its worker reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished<'a> {
    pub outcome: &'a str,
    pub result: &'a str,
}

/// Why a claim, heartbeat or finish was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("task '{0}' is not leased to this worker any more")]
pub struct LeaseLost(pub String);

/// The next task: first the tenant (with ready work and under its cap) that has the fewest
/// claimed tasks, then that tenant's oldest ready task. Counting per tenant, not per row, keeps
/// a claim at one pass over the ready rows.
const CLAIM: &str = "UPDATE task_queue SET state = 'claimed', worker = $1, lease_until = $2, \
     attempts = attempts + 1 \
     WHERE id = (SELECT q.id FROM task_queue q \
        WHERE q.state = 'queued' AND q.not_before <= $3 AND q.tenant_id = ( \
            SELECT r.tenant_id FROM task_queue r \
            LEFT JOIN (SELECT tenant_id, COUNT(*) AS claimed FROM task_queue \
                       WHERE state = 'claimed' GROUP BY tenant_id) c ON c.tenant_id = r.tenant_id \
            WHERE r.state = 'queued' AND r.not_before <= $3 AND ($4 IS NULL OR r.tenant_id = $4) \
            AND COALESCE(c.claimed, 0) < $5 \
            GROUP BY r.tenant_id, c.claimed \
            ORDER BY COALESCE(c.claimed, 0), MIN(r.enqueued_at) \
            LIMIT 1) \
        ORDER BY q.enqueued_at, q.id \
        LIMIT 1 LOCKING) \
     AND state = 'queued' \
     RETURNING id, tenant_id, job_id, payload, attempts, lease_until";

impl Store {
    /// Adds a task, ready at `not_before` (milliseconds since the epoch).
    pub async fn enqueue_task(
        &self,
        id: &str,
        tenant_id: &str,
        job_id: &str,
        payload: &str,
        not_before: i64,
        now: i64,
    ) -> Result<()> {
        let added = execute!(self, sqlx::query(
            "INSERT INTO task_queue (id, tenant_id, job_id, payload, state, not_before, enqueued_at) \
             VALUES ($1, $2, $3, $4, 'queued', $5, $6)"
        )
        .bind(id)
        .bind(tenant_id)
        .bind(job_id)
        .bind(payload)
        .bind(not_before)
        .bind(now));
        match added {
            Ok(_) => Ok(()),
            Err(e) if StoreError::is_unique_violation(&e) => Err(StoreError::Conflict(format!(
                "task '{id}' is already queued"
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Claims the next ready task for `worker` until `lease_until`, from one tenant or any, with
    /// at most `tenant_cap` tasks claimed per tenant. `None` when nothing is ready.
    pub async fn claim_task(
        &self,
        worker: &str,
        tenant_id: Option<&str>,
        tenant_cap: i64,
        now: i64,
        lease_until: i64,
    ) -> Result<Option<ClaimedTask>> {
        let sql = match self.backend {
            Backend::Postgres(_) => CLAIM.replace("LOCKING", "FOR UPDATE SKIP LOCKED"),
            Backend::Sqlite(_) => CLAIM.replace("LOCKING", ""),
        };
        // a claimer that lost a race for the row it picked sees no row; it looks again
        for _ in 0..5 {
            let claimed: Option<ClaimedTask> = on_pool!(self, |pool| sqlx::query_as(&sql)
                .bind(worker)
                .bind(lease_until)
                .bind(now)
                .bind(tenant_id)
                .bind(tenant_cap)
                .fetch_optional(pool)
                .await)?;
            if claimed.is_some() {
                self.queue_churned(1);
                return Ok(claimed);
            }
            if !self.has_ready_task(tenant_id, now).await? {
                return Ok(None);
            }
        }
        Ok(None)
    }

    async fn has_ready_task(&self, tenant_id: Option<&str>, now: i64) -> Result<bool> {
        let count: i64 = on_pool!(self, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM task_queue WHERE state = 'queued' AND not_before <= $1 \
             AND ($2 IS NULL OR tenant_id = $2)"
        )
        .bind(now)
        .bind(tenant_id)
        .fetch_one(pool)
        .await)?;
        Ok(count > 0)
    }

    /// Extends a live lease.
    pub async fn heartbeat_task(
        &self,
        worker: &str,
        id: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<Result<(), LeaseLost>> {
        let renewed = execute!(
            self,
            sqlx::query(
                "UPDATE task_queue SET lease_until = $4 WHERE id = $1 AND worker = $2 \
             AND state = 'claimed' AND lease_until >= $3"
            )
            .bind(id)
            .bind(worker)
            .bind(now)
            .bind(lease_until)
        )?;
        Ok(if renewed == 1 {
            Ok(())
        } else {
            Err(LeaseLost(id.to_string()))
        })
    }

    /// Records a finished task and removes it from the queue, if `worker` still holds its
    /// lease; otherwise nothing changes (the task runs, or ran, elsewhere).
    pub async fn finish_task(
        &self,
        worker: &str,
        id: &str,
        finished: &Finished<'_>,
        now: i64,
    ) -> Result<Result<(), LeaseLost>> {
        let done: Result<bool, sqlx::Error> = on_pool!(self, |pool| {
            async {
                let mut tx = pool.begin().await?;
                let row: Option<(String, String, i64)> = sqlx::query_as(
                    "DELETE FROM task_queue WHERE id = $1 AND worker = $2 AND state = 'claimed' \
                     AND lease_until >= $3 RETURNING tenant_id, job_id, attempts",
                )
                .bind(id)
                .bind(worker)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((tenant_id, job_id, attempts)) = row else {
                    return Ok(false);
                };
                sqlx::query(
                    "INSERT INTO task_history (id, tenant_id, job_id, attempts, outcome, result, worker, finished_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(id)
                .bind(&tenant_id)
                .bind(&job_id)
                .bind(attempts)
                .bind(finished.outcome)
                .bind(finished.result)
                .bind(worker)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(true)
            }
            .await
        });
        Ok(if done? {
            self.queue_churned(1);
            Ok(())
        } else {
            Err(LeaseLost(id.to_string()))
        })
    }

    /// Puts every task whose lease expired before `now` back in the queue; answers how many.
    pub async fn requeue_expired(&self, now: i64) -> Result<u64> {
        let requeued = execute!(
            self,
            sqlx::query(
                "UPDATE task_queue SET state = 'queued', worker = NULL, lease_until = NULL \
             WHERE state = 'claimed' AND lease_until < $1"
            )
            .bind(now)
        )?;
        self.queue_churned(requeued);
        Ok(requeued)
    }

    /// Finished attempts of a job's tasks, as (task id, attempt, outcome), oldest first.
    pub async fn task_history(
        &self,
        tenant_id: &str,
        job_id: &str,
    ) -> Result<Vec<(String, i64, String)>> {
        Ok(on_pool!(self, |pool| sqlx::query_as(
            "SELECT id, attempts, outcome FROM task_history WHERE tenant_id = $1 AND job_id = $2 \
             ORDER BY finished_at, id"
        )
        .bind(tenant_id)
        .bind(job_id)
        .fetch_all(pool)
        .await)?)
    }
}
