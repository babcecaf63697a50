//! The source of `weft worker` processes: a server's worker API over HTTP (Coopr's provisioner
//! protocol). The worker registers with its capacity, heartbeats with its usage, and
//! registers again when the server has forgotten it.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use weft_client::{Client, ClientError};
use weft_model::{
    FinishRequest, PluginRef, ResourceRef, TakeRequest, TaskAssignment, TaskHeartbeat,
    TaskLogBatch, TaskLogLine, TaskReport, WorkerHeartbeat, WorkerRegistration,
};

use crate::{SourceError, TaskSource};

/// Takes tasks from a server as worker `id`.
#[derive(Debug)]
pub struct HttpSource {
    client: Client,
    id: String,
    registration: WorkerRegistration,
    poll: Duration,
    running: AtomicU32,
}

fn source_error(e: ClientError) -> SourceError {
    SourceError(e.to_string())
}

impl HttpSource {
    /// Registers worker `id` (on `host`, with `slots` slots) with the server; tasks are polled
    /// every `poll` while none is ready.
    pub async fn connect(
        client: Client,
        id: &str,
        host: &str,
        slots: u32,
        poll: Duration,
    ) -> Result<HttpSource, SourceError> {
        let source = HttpSource {
            client,
            id: id.to_string(),
            registration: WorkerRegistration {
                host: host.to_string(),
                capacity_total: slots,
            },
            poll,
            running: AtomicU32::new(0),
        };
        source.register().await?;
        Ok(source)
    }

    async fn register(&self) -> Result<(), SourceError> {
        self.client
            .register_worker(&self.id, &self.registration)
            .await
            .map_err(source_error)
    }

    /// One heartbeat with the current usage; registers again when the server forgot us.
    pub async fn heartbeat_worker(&self) -> Result<(), SourceError> {
        let usage = self.running.load(Ordering::Relaxed);
        let known = self
            .client
            .worker_heartbeat(&self.id, &WorkerHeartbeat { usage })
            .await
            .map_err(source_error)?;
        if !known {
            tracing::info!(worker = %self.id, "the server forgot this worker: registering again");
            self.register().await?;
        }
        Ok(())
    }

    fn slot_name(slot: usize) -> String {
        slot.to_string()
    }
}

impl TaskSource for HttpSource {
    async fn take(&self, slot: usize) -> Result<Option<TaskAssignment>, SourceError> {
        let request = TakeRequest {
            provisioner_id: self.id.clone(),
            worker_id: Self::slot_name(slot),
        };
        let taken = match self.client.take_task(&request).await {
            // forgotten (its registration expired while it was away): register and retry once
            Err(ClientError::Api { status, .. }) if status.as_u16() == 403 => {
                self.register().await?;
                self.client.take_task(&request).await
            }
            other => other,
        }
        .map_err(source_error)?;
        if taken.is_some() {
            self.running.fetch_add(1, Ordering::Relaxed);
        }
        Ok(taken)
    }

    async fn heartbeat(&self, slot: usize, task_id: &str) -> Result<bool, SourceError> {
        self.client
            .task_heartbeat(&TaskHeartbeat {
                provisioner_id: self.id.clone(),
                worker_id: Self::slot_name(slot),
                task_id: task_id.to_string(),
            })
            .await
            .map_err(source_error)
    }

    async fn log(
        &self,
        slot: usize,
        task_id: &str,
        attempt: i64,
        first_seq: i64,
        lines: Vec<TaskLogLine>,
    ) -> Result<(), SourceError> {
        let sent = self
            .client
            .task_log(&TaskLogBatch {
                provisioner_id: self.id.clone(),
                worker_id: Self::slot_name(slot),
                task_id: task_id.to_string(),
                attempt,
                first_seq,
                lines,
            })
            .await
            .map_err(source_error)?;
        if sent {
            Ok(())
        } else {
            Err(SourceError(format!("lease of task {task_id} lost")))
        }
    }

    async fn finish(&self, slot: usize, report: TaskReport) -> Result<bool, SourceError> {
        let finished = self
            .client
            .finish_task(&FinishRequest {
                provisioner_id: self.id.clone(),
                worker_id: Self::slot_name(slot),
                report,
            })
            .await;
        self.running.fetch_sub(1, Ordering::Relaxed);
        finished.map_err(source_error)
    }

    async fn component(&self, plugin: &PluginRef) -> Result<Vec<u8>, SourceError> {
        self.client
            .task_component(&plugin.digest)
            .await
            .map_err(source_error)
    }

    async fn resource(&self, resource: &ResourceRef) -> Result<Vec<u8>, SourceError> {
        self.client
            .task_resource(&resource.digest)
            .await
            .map_err(source_error)
    }

    async fn idle(&self) {
        tokio::time::sleep(self.poll).await;
    }
}
