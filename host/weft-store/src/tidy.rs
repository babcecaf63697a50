//! Keeping the queue table lean on PostgreSQL.
//!
//! Every claim and every finish leaves a dead row version in `task_queue` and dead entries in
//! its indexes, at the front of the ranges the next claim reads (`task_queue_next` orders a
//! tenant's rows by age, and claimed rows leave from the old end). Until a vacuum removes
//! them, each claim and each count of a tenant's claimed tasks walks past all of them: after
//! 20,000 tasks, a count that should read one index page reads 300. Autovacuum comes at most
//! once a minute by default, which at thousands of tasks a second is far too late. So the
//! store vacuums the queue itself after every [`VACUUM_AFTER_ROWS`] rows changed: in the
//! background, one vacuum at a time per process, and skipped when another process holds the
//! table's vacuum lock. SQLite removes rows and index entries in place, and needs none of
//! this.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::{Backend, Result, Store};

/// How many queue rows claimed, finished or put back call for a vacuum of the queue table.
pub const VACUUM_AFTER_ROWS: u64 = 2_000;

/// The queue's churn since its last vacuum, and whether one runs.
#[derive(Debug, Default)]
pub(crate) struct QueueTidy {
    churn: AtomicU64,
    running: Arc<AtomicBool>,
}

impl Store {
    /// Counts `rows` queue rows changed (claimed, removed, put back); starts a vacuum of the
    /// queue in the background when enough have.
    pub(crate) fn queue_churned(&self, rows: u64) {
        let Backend::Postgres(_) = self.backend else {
            return;
        };
        let before = self.tidy.churn.fetch_add(rows, Ordering::Relaxed);
        if before + rows < VACUUM_AFTER_ROWS {
            return;
        }
        if self.tidy.running.swap(true, Ordering::AcqRel) {
            // (one runs: the churn counts toward the next)
            return;
        }
        self.tidy.churn.store(0, Ordering::Relaxed);
        let store = self.clone();
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.tidy.running.store(false, Ordering::Release);
            return;
        };
        runtime.spawn(async move {
            if let Err(e) = store.vacuum_queue().await {
                tracing::warn!(error = %e, "vacuum of the task queue failed");
            }
            store.tidy.running.store(false, Ordering::Release);
        });
    }

    /// Vacuums the queue table now (PostgreSQL; nothing on SQLite). Skipped, not waited for,
    /// when another session vacuums it.
    pub async fn vacuum_queue(&self) -> Result<()> {
        if let Backend::Postgres(pool) = &self.backend {
            // (the simple protocol: VACUUM cannot run in the extended protocol's implicit
            // transaction)
            sqlx::raw_sql("VACUUM (SKIP_LOCKED) task_queue")
                .execute(pool)
                .await?;
        }
        Ok(())
    }
}
