//! The cluster lifecycle engine: turns a user's request into a cluster, its nodes and a job of
//! staged tasks; hands tasks to workers and takes their reports; advances jobs (Coopr's job
//! scheduler, coopr-notes §4.5) and keeps them moving after crashes (the janitor).
//!
//! Layout: `catalog` (a tenant's catalog snapshot, template resolution, the preview token),
//! `model` (the JSON bodies of stored clusters, nodes and jobs), `schedule` (one pure
//! scheduling step), `create` and `actions` (requests that start jobs), `work` (take and
//! finish, in batches gathered by `coalesce`), `janitor` (leases, timeouts, recovery, cluster leases, webhooks),
//! `reconcile` (which listed machines no node owns).
//!
//! Architecture invariant: no HTTP and no wasm. The engine works on the store and is driven by
//! the API (requests), workers (take, finish) and its own janitor. Every state change is one
//! store transaction, so a crash at any point leaves a state the janitor's sweep continues from.

mod actions;
mod catalog;
mod coalesce;
mod create;
mod janitor;
mod model;
mod pools;
mod reconcile;
pub mod schedule;
mod work;

use std::time::Duration;

pub use actions::{ClusterOp, LeaseChange};
pub use catalog::{catalog_token, load_catalog, plan_inputs, resolved_template};
pub use create::{CreateOutcome, nodes_of_layout};
pub use janitor::JanitorReport;
pub use model::{ClusterBody, JobBody, NodeBody};
pub use pools::{POOL_FIELD, POOL_TASK_FIELD};
pub use reconcile::{
    LIST_TASK, ListedMachine, MACHINES_RESULT, Orphan, PROVIDER_ID_RESULT, SettledCluster,
    listed_machines,
};
pub use schedule::RetryPolicy;
pub use work::{Finished, SSH_PUBLIC_KEY_FIELD, WorkerIdentity};

use weft_model::FieldError;
use weft_store::{Store, StoreError};
use weft_vault::Vault;

/// Timings and limits of the engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub retry: RetryPolicy,
    /// A claim lasts this long unless its worker heartbeats.
    pub lease: Duration,
    /// A task running longer fails (and is retried); Coopr: 1800 s.
    pub task_timeout: Duration,
    /// Workers silent this long are dropped from the worker list.
    pub worker_timeout: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            retry: RetryPolicy::default(),
            lease: Duration::from_secs(60),
            task_timeout: Duration::from_secs(1800),
            worker_timeout: Duration::from_secs(120),
        }
    }
}

/// The engine: cheap to clone.
#[derive(Clone)]
pub struct Engine {
    store: Store,
    vault: std::sync::Arc<Vault>,
    superadmin_tenant_id: String,
    config: EngineConfig,
    /// Woken when tasks are queued, so idle embedded workers take them at once.
    queued: std::sync::Arc<tokio::sync::Notify>,
    /// What each running stage sees of its cluster, read once per stage.
    views: std::sync::Arc<work::Views>,
    /// Concurrent takes and finishes, handled in batches.
    batches: std::sync::Arc<work::Batches>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.config)
            .finish()
    }
}

/// Why the engine refused or failed a request.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// 400: a field breaks a rule.
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// 400 in Coopr's shape: required provider fields are missing.
    /// One map per alternative required set: its missing fields and their schemas.
    #[error("missing provider fields: {}", .0.iter().map(|s| s.keys().cloned().collect::<Vec<_>>().join(" + ")).collect::<Vec<_>>().join(" or "))]
    MissingFields(Vec<serde_json::Map<String, serde_json::Value>>),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// 422: the catalog cannot satisfy the request.
    #[error("{error}: {explanation}")]
    Unprocessable { error: String, explanation: String },
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for EngineError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(m) => EngineError::NotFound(m),
            StoreError::Conflict(m) => EngineError::Conflict(m),
            other => EngineError::Internal(other.to_string()),
        }
    }
}

impl From<weft_vault::VaultError> for EngineError {
    fn from(error: weft_vault::VaultError) -> Self {
        EngineError::Internal(format!("the vault: {error}"))
    }
}

impl Engine {
    pub fn new(
        store: Store,
        vault: Vault,
        superadmin_tenant_id: String,
        config: EngineConfig,
    ) -> Engine {
        Engine {
            store,
            vault: std::sync::Arc::new(vault),
            superadmin_tenant_id,
            config,
            queued: std::sync::Arc::new(tokio::sync::Notify::new()),
            views: Default::default(),
            batches: Default::default(),
        }
    }

    /// This engine without its batches, for the tasks that handle them: they hold this, not
    /// the engine, so the tasks end when the last engine goes.
    fn detached(&self) -> Engine {
        Engine {
            batches: Default::default(),
            ..self.clone()
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    pub fn superadmin_tenant_id(&self) -> &str {
        &self.superadmin_tenant_id
    }

    /// Resolves when tasks may have been queued since the last call.
    pub async fn queued(&self) {
        self.queued.notified().await
    }

    /// One scheduling step of a job; wakes idle workers when it queued tasks.
    pub async fn advance(&self, job_id: &str) -> Result<(), EngineError> {
        self.advance_job(job_id).await.map(|_| ())
    }

    /// [`Engine::advance`]; answers whether the step queued tasks.
    pub(crate) async fn advance_job(&self, job_id: &str) -> Result<bool, EngineError> {
        let policy = self.config.retry;
        let now = now_ms();
        let changes = self
            .store
            .advance_job(job_id, now, |snapshot| {
                schedule::decide(snapshot, now, policy)
            })
            .await?;
        let queued = !changes.enqueue.is_empty();
        if queued {
            self.queued.notify_waiters();
        }
        if let Some(cluster) = &changes.cluster {
            tracing::info!(job = job_id, status = %cluster.status, "job ended");
        }
        Ok(queued)
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
