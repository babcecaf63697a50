//! The janitor: one sweep puts tasks of silent workers back in the queue, fails tasks that ran
//! past the task timeout (they are retried like any failure; a late report gets 417), advances
//! every running job that has been idle for a second (so a job continues after a crash or
//! restart at any point), deletes
//! clusters whose lease ended, and forgets workers that stopped heartbeating. Every replica may
//! run it: each step is a transaction that holds when repeated.

use std::time::Duration;

use crate::{ClusterOp, Engine, EngineError, now_ms};

/// A running job whose row has not changed for this long gets a scheduling step from the
/// sweep.
const JOB_IDLE: Duration = Duration::from_secs(1);

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JanitorReport {
    pub requeued: u64,
    pub timed_out: usize,
    pub advanced: usize,
    pub expired: usize,
}

impl Engine {
    /// One sweep.
    pub async fn janitor_sweep(&self) -> Result<JanitorReport, EngineError> {
        let now = now_ms();
        let mut report = JanitorReport {
            requeued: self.store.requeue_expired(now).await?,
            ..JanitorReport::default()
        };
        if report.requeued > 0 {
            tracing::warn!(
                count = report.requeued,
                "leases expired: tasks queued again"
            );
        }
        let timeout = self.config.task_timeout.as_millis() as i64;
        for task in self.store.claimed_since(now - timeout).await? {
            let message = format!("Timed out after {} secs", timeout / 1000);
            if let Some(job) = self.store.fail_claimed_task(&task, &message, now).await? {
                tracing::warn!(%task, "task timed out");
                report.timed_out += 1;
                self.advance(&job).await?;
            }
        }
        // a busy job is advanced by its own finishes; one idle for a while may have missed a
        // step (a crash between a finish and its step, a step that failed)
        let idle_since = now - JOB_IDLE.as_millis() as i64;
        for job in self.store.running_jobs().await? {
            if job.updated_at > idle_since {
                continue;
            }
            self.advance(&job.id).await?;
            report.advanced += 1;
        }
        for (tenant, cluster) in self.store.expired_clusters(now).await? {
            match self
                .start_op(&tenant, None, &cluster, &ClusterOp::Delete, None)
                .await
            {
                Ok(_) => {
                    tracing::info!(%cluster, "lease ended: deleting");
                    report.expired += 1;
                }
                Err(e) => tracing::warn!(%cluster, error = %e, "lease ended but delete failed"),
            }
        }
        let silent = now - self.config.worker_timeout.as_millis() as i64;
        self.store.remove_silent_provisioners(silent).await?;
        Ok(report)
    }

    /// Runs a sweep every `every` until `stop` resolves.
    pub async fn run_janitor(
        &self,
        every: std::time::Duration,
        stop: impl std::future::Future<Output = ()>,
    ) {
        tokio::pin!(stop);
        loop {
            if let Err(e) = self.janitor_sweep().await {
                tracing::error!(error = %e, "janitor sweep failed");
            }
            tokio::select! {
                _ = &mut stop => return,
                _ = tokio::time::sleep(every) => {}
            }
        }
    }
}
