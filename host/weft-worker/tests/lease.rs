//! A task whose lease is lost while its plugin runs is cancelled: the plugin stops, the slot is
//! free, and the report says why (the source then drops it, as the task runs elsewhere).

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;
use sha2::{Digest, Sha256};
use weft_model::{PluginRef, ResourceRef, TaskAssignment, TaskLogLine, TaskReport};
use weft_worker::{Executor, SourceError, TaskSource};

/// A source whose leases are all lost: every heartbeat answers `false`.
struct LostLease {
    component: Vec<u8>,
    heartbeats: AtomicUsize,
    logged: Mutex<Vec<TaskLogLine>>,
}

impl TaskSource for LostLease {
    async fn take(&self, _slot: usize) -> Result<Option<TaskAssignment>, SourceError> {
        Ok(None)
    }
    async fn heartbeat(&self, _slot: usize, _task_id: &str) -> Result<bool, SourceError> {
        self.heartbeats.fetch_add(1, Ordering::SeqCst);
        Ok(false)
    }
    async fn log(
        &self,
        _slot: usize,
        _task_id: &str,
        _attempt: i64,
        _first_seq: i64,
        lines: Vec<TaskLogLine>,
    ) -> Result<(), SourceError> {
        self.logged.lock().expect("lock").extend(lines);
        Ok(())
    }
    async fn finish(&self, _slot: usize, _report: TaskReport) -> Result<bool, SourceError> {
        Ok(false)
    }
    async fn component(&self, _plugin: &PluginRef) -> Result<Vec<u8>, SourceError> {
        Ok(self.component.clone())
    }
    async fn resource(&self, _resource: &ResourceRef) -> Result<Vec<u8>, SourceError> {
        Err(SourceError("no resources here".into()))
    }
    async fn idle(&self) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn runtime() -> std::sync::Arc<weft_runtime::Runtime> {
    let cache = tempfile::tempdir().expect("tempdir").keep();
    std::sync::Arc::new(
        weft_runtime::Runtime::new(weft_runtime::RuntimeConfig {
            cache_dir: cache,
            slots: 4,
            max_memory_bytes: 64 << 20,
            epoch_tick: Duration::from_millis(10),
            max_component_bytes: 32 << 20,
            quarantine_after: 5,
        })
        .expect("runtime"),
    )
}

#[tokio::test]
async fn a_lost_lease_cancels_the_running_plugin() {
    let component = weft_test_plugins::component("test-misbehave");
    let digest = hex(&Sha256::digest(&component));
    // `sleep` makes the plugin wait 5 s and then succeed: a report of success means it was
    // never cancelled
    let assignment: TaskAssignment = serde_json::from_value(json!({
        "taskId": "t-1", "jobId": "j-1", "clusterId": "c-1", "tenantId": "acme",
        "taskName": "INSTALL", "nodeId": "n-1", "attempt": 1, "leaseUntil": 0,
        "nodes": {}, "config": {}, "providerFields": {},
        "service": {"name": "app", "fields": {"mode": "sleep"}},
        "priorResults": {}, "secrets": {}, "ssh": null,
        "plugins": [{"name": "test-misbehave", "version": 1, "digest": digest, "kind": "automator",
                     "grants": {"http": [], "unixSockets": [], "ssh": false}}]
    }))
    .expect("an assignment");
    let source = LostLease {
        component,
        heartbeats: AtomicUsize::new(0),
        logged: Mutex::new(Vec::new()),
    };
    let executor = Executor::new(
        runtime(),
        weft_runtime::TaskLimits {
            memory_bytes: 64 << 20,
            cpu: Duration::from_secs(30),
            wall: Duration::from_secs(60),
            output_bytes: 1 << 20,
            result_bytes: 1 << 20,
            table_entries: 256,
            file_bytes: 1 << 20,
        },
    );
    let report = executor
        .execute(&source, 0, &assignment, Duration::from_millis(100))
        .await;
    assert_eq!(report.status, 1, "{report:?}");
    assert!(
        report.stderr.contains("lease was lost"),
        "the plugin was not cancelled: {report:?}"
    );
    assert_eq!(report.task_id, "t-1");
    assert!(source.heartbeats.load(Ordering::SeqCst) >= 1);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
