//! A worker: slots that take tasks from a [`TaskSource`], run each in the plugin runtime with
//! exactly the capabilities its assignment grants, stream its log, keep its lease by heartbeat,
//! and report how it ended.
//!
//! The reconciler (`reconcile`) runs the providers' listings and the deletes of what no node
//! owns in the same way, outside any job.
//!
//! The source is the engine itself for embedded workers (`weft server`) or the server's worker
//! API for `weft worker` processes; this crate knows neither, only the protocol types of
//! `weft_model::worker`.
//!
//! Architecture invariant: no HTTP server, and no SQL of its own (the embedded source goes
//! through the engine). A worker holds a cluster's SSH key
//! only while a task of that cluster runs, and hands the plugin a named target, never the key.

mod embedded;
mod execute;
mod reconcile;
mod remote;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

pub use embedded::EngineSource;
pub use execute::Executor;
pub use reconcile::{RECONCILE_WINDOW, ReconcileReport, reconcile, reconcile_pass};
pub use remote::HttpSource;
use weft_model::{PluginRef, ResourceRef, TaskAssignment, TaskLogLine, TaskReport};

/// Why a source call failed (the server is unreachable, a body did not parse...).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SourceError(pub String);

/// What [`TaskSource::finish_and_take`] answers: whether the report was accepted (`false`: the
/// lease was lost and the report dropped), and the slot's next task.
pub type FinishAndTake = (
    Result<bool, SourceError>,
    Result<Option<TaskAssignment>, SourceError>,
);

/// Where tasks come from and reports go.
pub trait TaskSource: Send + Sync + 'static {
    /// The next task for slot `slot`, or `None`.
    fn take(
        &self,
        slot: usize,
    ) -> impl Future<Output = Result<Option<TaskAssignment>, SourceError>> + Send;
    /// Keeps the lease; `false` when it is lost.
    fn heartbeat(
        &self,
        slot: usize,
        task_id: &str,
    ) -> impl Future<Output = Result<bool, SourceError>> + Send;
    /// Appends log lines of a running attempt, the first numbered `first_seq`.
    fn log(
        &self,
        slot: usize,
        task_id: &str,
        attempt: i64,
        first_seq: i64,
        lines: Vec<TaskLogLine>,
    ) -> impl Future<Output = Result<(), SourceError>> + Send;
    /// Reports the end of a task; `false` when the lease was lost and the report dropped.
    fn finish(
        &self,
        slot: usize,
        report: TaskReport,
    ) -> impl Future<Output = Result<bool, SourceError>> + Send;
    /// [`TaskSource::finish`], then, when `take_next`, [`TaskSource::take`] for the same slot:
    /// the report's fate and the next task, apart (a report delivered stays delivered when the
    /// take fails). A source that can do both in one exchange does.
    fn finish_and_take(
        &self,
        slot: usize,
        report: TaskReport,
        take_next: bool,
    ) -> impl Future<Output = FinishAndTake> + Send {
        async move {
            let finished = self.finish(slot, report).await;
            let next = if take_next {
                self.take(slot).await
            } else {
                Ok(None)
            };
            (finished, next)
        }
    }
    /// The component bytes of a plugin version.
    fn component(
        &self,
        plugin: &PluginRef,
    ) -> impl Future<Output = Result<Vec<u8>, SourceError>> + Send;
    /// The bytes of a live plugin resource, by its digest.
    fn resource(
        &self,
        resource: &ResourceRef,
    ) -> impl Future<Output = Result<Vec<u8>, SourceError>> + Send;
    /// Resolves when work may be waiting (or after a poll interval).
    fn idle(&self) -> impl Future<Output = ()> + Send;
}

/// How a worker behaves.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub slots: usize,
    /// Heartbeat period while a task runs (a third of the lease or less).
    pub heartbeat: Duration,
    /// Wait after a source error before trying again.
    pub error_backoff: Duration,
}

/// Waits for `until`, or for `stop` to change.
async fn wait(until: impl Future<Output = ()>, stop: &mut tokio::sync::watch::Receiver<bool>) {
    tokio::select! {
        _ = until => {}
        _ = stop.changed() => {}
    }
}

/// Runs `config.slots` slots until `stop` is set; each finishes its current task first.
pub async fn run<S: TaskSource>(
    source: Arc<S>,
    executor: Arc<Executor>,
    config: WorkerConfig,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut slots = tokio::task::JoinSet::new();
    for slot in 0..config.slots {
        let (source, executor, config, mut stop) = (
            source.clone(),
            executor.clone(),
            config.clone(),
            stop.clone(),
        );
        slots.spawn(async move {
            // a task taken with the last report; run even when a stop came meanwhile (it is
            // claimed: the slot finishes it first)
            let mut next: Option<TaskAssignment> = None;
            loop {
                let assignment = match next.take() {
                    Some(assignment) => assignment,
                    None if *stop.borrow() => break,
                    None => match source.take(slot).await {
                        Ok(Some(assignment)) => assignment,
                        Ok(None) => {
                            wait(source.idle(), &mut stop).await;
                            continue;
                        }
                        Err(e) => {
                            tracing::warn!(slot, error = %e, "taking a task failed");
                            wait(tokio::time::sleep(config.error_backoff), &mut stop).await;
                            continue;
                        }
                    },
                };
                let report = executor.execute(&*source, slot, &assignment, config.heartbeat).await;
                let take_next = !*stop.borrow();
                let (finished, taken) = source.finish_and_take(slot, report, take_next).await;
                match finished {
                    Ok(true) => {}
                    Ok(false) => tracing::warn!(task = %assignment.task_id, "lease lost: the report was dropped"),
                    Err(e) => tracing::warn!(task = %assignment.task_id, error = %e, "the report could not be delivered"),
                }
                match taken {
                    Ok(Some(assignment)) => next = Some(assignment),
                    // nothing ready: wait before asking again
                    Ok(None) if take_next => wait(source.idle(), &mut stop).await,
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(slot, error = %e, "taking a task failed");
                        wait(tokio::time::sleep(config.error_backoff), &mut stop).await;
                    }
                }
            }
        });
    }
    while slots.join_next().await.is_some() {}
}
