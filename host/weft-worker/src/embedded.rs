//! The source of embedded workers: the engine in the same process.

use std::time::Duration;

use weft_engine::{Engine, Finished, WorkerIdentity};
use weft_model::{PluginRef, ResourceRef, TaskAssignment, TaskLogLine, TaskReport};

use crate::{FinishAndTake, SourceError, TaskSource};

/// Takes tasks straight from the engine, as worker `name`.
#[derive(Debug, Clone)]
pub struct EngineSource {
    engine: Engine,
    name: String,
}

impl EngineSource {
    pub fn new(engine: Engine, name: impl Into<String>) -> EngineSource {
        EngineSource {
            engine,
            name: name.into(),
        }
    }

    fn who(&self, slot: usize) -> WorkerIdentity {
        WorkerIdentity {
            worker: format!("{}/{slot}", self.name),
            tenant_id: None,
        }
    }
}

fn source_error(e: weft_engine::EngineError) -> SourceError {
    SourceError(e.to_string())
}

impl TaskSource for EngineSource {
    async fn take(&self, slot: usize) -> Result<Option<TaskAssignment>, SourceError> {
        self.engine
            .take(&self.who(slot))
            .await
            .map_err(source_error)
    }

    async fn heartbeat(&self, slot: usize, task_id: &str) -> Result<bool, SourceError> {
        self.engine
            .heartbeat(&self.who(slot), task_id)
            .await
            .map_err(source_error)
    }

    async fn log(
        &self,
        _slot: usize,
        task_id: &str,
        attempt: i64,
        first_seq: i64,
        lines: Vec<TaskLogLine>,
    ) -> Result<(), SourceError> {
        self.engine
            .append_log(task_id, attempt, first_seq, &lines)
            .await
            .map_err(source_error)
    }

    async fn finish(&self, slot: usize, report: TaskReport) -> Result<bool, SourceError> {
        Ok(self
            .engine
            .finish(&self.who(slot), &report)
            .await
            .map_err(source_error)?
            == Finished::Accepted)
    }

    async fn finish_and_take(
        &self,
        slot: usize,
        report: TaskReport,
        take_next: bool,
    ) -> FinishAndTake {
        if !take_next {
            return (self.finish(slot, report).await, Ok(None));
        }
        let (finished, taken) = self.engine.finish_and_take(&self.who(slot), &report).await;
        (
            finished
                .map(|f| f == Finished::Accepted)
                .map_err(source_error),
            taken.map_err(source_error),
        )
    }

    async fn component(&self, plugin: &PluginRef) -> Result<Vec<u8>, SourceError> {
        let found = self
            .engine
            .store()
            .plugin_component_by_digest(&plugin.digest)
            .await
            .map_err(|e| SourceError(e.to_string()))?;
        found
            .map(|(_, bytes)| bytes)
            .ok_or_else(|| SourceError(format!("no component with digest {}", plugin.digest)))
    }

    async fn resource(&self, resource: &ResourceRef) -> Result<Vec<u8>, SourceError> {
        let found = self
            .engine
            .store()
            .resource_by_digest(&resource.digest)
            .await
            .map_err(|e| SourceError(e.to_string()))?;
        found.map(|(_, bytes)| bytes).ok_or_else(|| {
            SourceError(format!(
                "{} resource '{}' version {} is gone",
                resource.resource_type, resource.name, resource.version
            ))
        })
    }

    async fn idle(&self) {
        tokio::select! {
            _ = self.engine.queued() => {}
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}
