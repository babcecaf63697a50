//! The reconciler: every pass, each settled cluster's provider lists what it holds for the
//! cluster (`weft:plugin@0.2.0`'s inventory), and what no node owns is deleted through the
//! provider's own DELETE. Which clusters, and which machines, the engine decides
//! (`weft_engine::reconcile`); this runs the tasks, in the process's plugin runtime.
//!
//! A provider built against `weft:plugin@0.1.0`, or one that does not implement `list`, is
//! left alone. Passes of several server replicas may overlap: a provider's DELETE of what is
//! already gone succeeds.

use std::sync::Arc;
use std::time::Duration;

use weft_engine::{Engine, listed_machines};
use weft_model::{PluginRef, ResourceRef, TaskAssignment, TaskLogLine, TaskReport};

use crate::{EngineSource, Executor, SourceError, TaskSource};

/// How far back a pass looks: clusters whose latest job settled within this window.
pub const RECONCILE_WINDOW: Duration = Duration::from_secs(24 * 3600);
/// A listing or a delete runs at most this long without a lease to keep (no heartbeat).
const NO_HEARTBEAT: Duration = Duration::from_secs(3600);

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Clusters whose provider listed its machines.
    pub listed: usize,
    /// Machines deleted because no node owned them: (cluster id, machine id).
    pub deleted: Vec<(String, String)>,
    /// Listings and deletes that failed (they are tried again next pass).
    pub failures: usize,
}

/// The reconciler's tasks belong to no job: nothing to heartbeat or report to; plugins come
/// from the engine's store; the log goes to the server's log.
struct ReconcileSource {
    store: EngineSource,
}

impl TaskSource for ReconcileSource {
    async fn take(&self, _slot: usize) -> Result<Option<TaskAssignment>, SourceError> {
        Ok(None)
    }

    async fn heartbeat(&self, _slot: usize, _task_id: &str) -> Result<bool, SourceError> {
        Ok(true)
    }

    async fn log(
        &self,
        _slot: usize,
        task_id: &str,
        _attempt: i64,
        _first_seq: i64,
        lines: Vec<TaskLogLine>,
    ) -> Result<(), SourceError> {
        for line in lines {
            tracing::debug!(task = task_id, level = %line.level, "{}", line.line);
        }
        Ok(())
    }

    async fn finish(&self, _slot: usize, _report: TaskReport) -> Result<bool, SourceError> {
        Ok(true)
    }

    async fn component(&self, plugin: &PluginRef) -> Result<Vec<u8>, SourceError> {
        self.store.component(plugin).await
    }

    async fn resource(&self, resource: &ResourceRef) -> Result<Vec<u8>, SourceError> {
        self.store.resource(resource).await
    }

    async fn idle(&self) {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// A failed listing that only says the provider has no inventory.
fn no_inventory(report: &TaskReport) -> bool {
    report.stderr.contains("Unsupported(")
}

/// Sweeps every cluster whose latest job settled since `since` (ms since the epoch).
pub async fn reconcile_pass(engine: &Engine, executor: &Executor, since: i64) -> ReconcileReport {
    let source = ReconcileSource {
        store: EngineSource::new(engine.clone(), "reconciler"),
    };
    let mut report = ReconcileReport::default();
    let clusters = match engine.settled_clusters(since).await {
        Ok(clusters) => clusters,
        Err(e) => {
            tracing::warn!(error = %e, "the reconciler cannot read the settled clusters");
            report.failures += 1;
            return report;
        }
    };
    for cluster in clusters {
        let (tenant, id) = (cluster.tenant_id.as_str(), cluster.cluster_id.as_str());
        let list = match engine.reconcile_list(tenant, id).await {
            Ok(Some(Ok(list))) => list,
            Ok(None) => continue,
            Ok(Some(Err(why))) => {
                tracing::debug!(cluster = id, why, "the reconciler cannot list this cluster");
                continue;
            }
            Err(e) => {
                tracing::warn!(cluster = id, error = %e, "the reconciler cannot list this cluster");
                report.failures += 1;
                continue;
            }
        };
        let listing = executor.execute(&source, 0, &list, NO_HEARTBEAT).await;
        if listing.status != 0 {
            if no_inventory(&listing) {
                tracing::debug!(cluster = id, "the provider has no inventory");
            } else {
                tracing::warn!(cluster = id, stderr = %listing.stderr, "listing the cluster's machines failed");
                report.failures += 1;
            }
            continue;
        }
        let machines = match listed_machines(&listing.result) {
            Ok(machines) => machines,
            Err(why) => {
                tracing::warn!(cluster = id, why, "the provider's listing is unusable");
                report.failures += 1;
                continue;
            }
        };
        report.listed += 1;
        let orphans = match engine.reconcile_orphans(tenant, id, &machines).await {
            Ok(orphans) => orphans,
            Err(e) => {
                tracing::warn!(cluster = id, error = %e, "the reconciler cannot judge the listing");
                report.failures += 1;
                continue;
            }
        };
        for orphan in orphans {
            let orphan = match orphan {
                Ok(orphan) => orphan,
                Err(why) => {
                    tracing::warn!(cluster = id, why, "an orphaned machine cannot be deleted");
                    report.failures += 1;
                    continue;
                }
            };
            let deleted = executor
                .execute(&source, 0, &orphan.delete, NO_HEARTBEAT)
                .await;
            if deleted.status == 0 {
                tracing::info!(
                    tenant,
                    cluster = id,
                    machine = %orphan.machine.id,
                    why = %orphan.why,
                    "the reconciler deleted a machine no node owns"
                );
                report
                    .deleted
                    .push((id.to_string(), orphan.machine.id.clone()));
            } else {
                tracing::warn!(
                    cluster = id,
                    machine = %orphan.machine.id,
                    stderr = %deleted.stderr,
                    "deleting a machine no node owns failed"
                );
                report.failures += 1;
            }
        }
    }
    report
}

/// A pass every `every` until `stop` is set, each over the clusters settled within
/// [`RECONCILE_WINDOW`].
pub async fn reconcile(
    engine: Engine,
    executor: Arc<Executor>,
    every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let since = weft_engine::now_ms() - RECONCILE_WINDOW.as_millis() as i64;
        let report = tokio::select! {
            report = reconcile_pass(&engine, &executor, since) => report,
            _ = stop.wait_for(|s| *s) => return,
        };
        if !report.deleted.is_empty() || report.failures > 0 {
            tracing::info!(
                listed = report.listed,
                deleted = report.deleted.len(),
                failures = report.failures,
                "reconciler pass"
            );
        }
    }
}
