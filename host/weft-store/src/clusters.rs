//! Clusters, their nodes, sealed sensitive fields and SSH keys, and the start of every job.
//!
//! A cluster takes a job only through [`Store::insert_cluster`] or [`Store::start_job`], and
//! both are one transaction that first locks (the tenant's row, or the cluster's), so quotas
//! and "one job per cluster" hold under concurrent requests and several server replicas. The
//! store keeps JSON bodies as given; what they mean is the engine's business.

use sqlx::FromRow;

use crate::{Result, Store, StoreError, on_pool};

/// A cluster row. `body` is the cluster's JSON (provider and template copies, config...).
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ClusterRow {
    pub id: String,
    pub tenant_id: String,
    pub owner: String,
    pub name: String,
    pub status: String,
    pub node_count: i64,
    pub create_time: i64,
    pub expire_time: i64,
    pub active_time: i64,
    pub latest_job_id: Option<String>,
    pub message: Option<String>,
    pub body: String,
}

/// A node row. `body` holds the node's properties and accumulated provisioner results.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct NodeRow {
    pub id: String,
    pub cluster_id: String,
    pub tenant_id: String,
    pub nodenum: i64,
    pub body: String,
}

/// A job row.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct JobRow {
    pub id: String,
    pub cluster_id: String,
    pub tenant_id: String,
    pub action: String,
    pub status: String,
    pub current_stage: i64,
    pub message: Option<String>,
    pub body: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A task of a job.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct JobTaskRow {
    pub id: String,
    pub job_id: String,
    pub cluster_id: String,
    pub tenant_id: String,
    pub node_id: String,
    pub service: String,
    pub task_name: String,
    pub stage: i64,
    pub status: String,
    pub failures: i64,
    pub attempt: i64,
    pub status_time: i64,
}

/// The tenant's limits, checked in the same transaction that adds clusters or nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaCheck {
    /// Live clusters this write adds (1 for a create).
    pub clusters: i64,
    /// Nodes this write adds.
    pub nodes: i64,
}

/// Everything a cluster create writes.
#[derive(Debug, Clone)]
pub struct NewCluster {
    pub cluster: ClusterRow,
    pub nodes: Vec<NodeRow>,
    pub job: JobRow,
    pub tasks: Vec<JobTaskRow>,
    /// Sealed sensitive provider fields.
    pub sensitive: Option<String>,
    /// The cluster's SSH key pair: public, and sealed private.
    pub key: (String, String),
}

/// A job to start on an existing cluster.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub job: JobRow,
    pub tasks: Vec<JobTaskRow>,
    /// The cluster's statuses that allow this job.
    pub allowed: &'static [&'static str],
    /// A new cluster body (reconfigure, added services...), or keep the stored one.
    pub cluster_body: Option<String>,
    /// Nodes the job adds (add nodes).
    pub new_nodes: Vec<NodeRow>,
    /// Nodes whose bodies change (services added or removed), by id.
    pub node_bodies: Vec<(String, String)>,
    /// Sealed sensitive fields given with the request; they replace the stored ones.
    pub sensitive: Option<String>,
}

const CLUSTER_COLUMNS: &str = "id, tenant_id, owner, name, status, node_count, create_time, \
     expire_time, active_time, latest_job_id, message, body";
pub(crate) const JOB_COLUMNS: &str = "id, cluster_id, tenant_id, action, status, current_stage, \
     message, body, created_at, updated_at";
pub(crate) const TASK_COLUMNS: &str = "id, job_id, cluster_id, tenant_id, node_id, service, \
     task_name, stage, status, failures, attempt, status_time";

/// Inserts a job and its tasks inside `$tx`.
macro_rules! insert_job {
    ($tx:expr, $job:expr, $tasks:expr) => {{
        let job = $job;
        sqlx::query(
            "INSERT INTO jobs (id, cluster_id, tenant_id, action, status, current_stage, message, \
             body, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&job.id)
        .bind(&job.cluster_id)
        .bind(&job.tenant_id)
        .bind(&job.action)
        .bind(&job.status)
        .bind(job.current_stage)
        .bind(&job.message)
        .bind(&job.body)
        .bind(job.created_at)
        .bind(job.updated_at)
        .execute(&mut *$tx)
        .await?;
        for task in $tasks {
            crate::clusters::insert_task!($tx, task);
        }
    }};
}

macro_rules! insert_task {
    ($tx:expr, $task:expr) => {{
        let task = $task;
        sqlx::query(
            "INSERT INTO job_tasks (id, job_id, cluster_id, tenant_id, node_id, service, task_name, \
             stage, status, failures, attempt, status_time) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&task.id)
        .bind(&task.job_id)
        .bind(&task.cluster_id)
        .bind(&task.tenant_id)
        .bind(&task.node_id)
        .bind(&task.service)
        .bind(&task.task_name)
        .bind(task.stage)
        .bind(&task.status)
        .bind(task.failures)
        .bind(task.attempt)
        .bind(task.status_time)
        .execute(&mut *$tx)
        .await?;
    }};
}
pub(crate) use insert_task;

macro_rules! insert_node {
    ($tx:expr, $node:expr) => {{
        let node = $node;
        sqlx::query(
            "INSERT INTO nodes (id, cluster_id, tenant_id, nodenum, body) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&node.id)
        .bind(&node.cluster_id)
        .bind(&node.tenant_id)
        .bind(node.nodenum)
        .bind(&node.body)
        .execute(&mut *$tx)
        .await?;
    }};
}

/// Locks the tenant's row (PostgreSQL) or the database (SQLite: the first write takes the write
/// lock) and checks its quotas with `$check` added.
macro_rules! lock_tenant_and_check_quota {
    ($tx:expr, $tenant:expr, $check:expr) => {{
        let tenant: &str = $tenant;
        let check: Option<QuotaCheck> = $check;
        sqlx::query("UPDATE tenants SET workers = workers WHERE id = $1")
            .bind(tenant)
            .execute(&mut *$tx)
            .await?;
        if let Some(check) = check {
            let (max_clusters, max_nodes): (Option<i64>, Option<i64>) =
                sqlx::query_as("SELECT max_clusters, max_nodes FROM tenants WHERE id = $1")
                    .bind(tenant)
                    .fetch_one(&mut *$tx)
                    .await?;
            let (clusters, nodes): (i64, Option<i64>) = sqlx::query_as(
                "SELECT COUNT(*), CAST(SUM(node_count) AS BIGINT) FROM clusters \
                 WHERE tenant_id = $1 AND status <> 'terminated'",
            )
            .bind(tenant)
            .fetch_one(&mut *$tx)
            .await?;
            let nodes = nodes.unwrap_or(0);
            if let Some(max) = max_clusters
                && clusters + check.clusters > max
            {
                return Err(StoreError::Conflict(format!(
                    "quota: the tenant may have at most {max} live clusters and has {clusters}"
                )));
            }
            if let Some(max) = max_nodes
                && nodes + check.nodes > max
            {
                return Err(StoreError::Conflict(format!(
                    "quota: the tenant may have at most {max} nodes in live clusters; it has \
                     {nodes} and this adds {}",
                    check.nodes
                )));
            }
        }
    }};
}

impl Store {
    /// The next cluster number (1, 2, ...), unique across replicas.
    pub async fn next_cluster_number(&self) -> Result<i64> {
        Ok(on_pool!(self, |pool| sqlx::query_scalar(
            "UPDATE counters SET value = value + 1 WHERE name = 'cluster' RETURNING value"
        )
        .fetch_one(pool)
        .await)?)
    }

    /// Writes a new cluster with its nodes, first job and tasks, if the tenant's quotas allow
    /// (otherwise [`StoreError::Conflict`] and nothing is written).
    pub async fn insert_cluster(&self, new: &NewCluster) -> Result<()> {
        let check = QuotaCheck {
            clusters: 1,
            nodes: new.cluster.node_count,
        };
        on_pool!(self, |pool| {
            async {
                let mut tx = pool.begin().await?;
                lock_tenant_and_check_quota!(tx, &new.cluster.tenant_id, Some(check));
                let c = &new.cluster;
                sqlx::query(&format!(
                    "INSERT INTO clusters ({CLUSTER_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
                ))
                .bind(&c.id)
                .bind(&c.tenant_id)
                .bind(&c.owner)
                .bind(&c.name)
                .bind(&c.status)
                .bind(c.node_count)
                .bind(c.create_time)
                .bind(c.expire_time)
                .bind(c.active_time)
                .bind(&c.latest_job_id)
                .bind(&c.message)
                .bind(&c.body)
                .execute(&mut *tx)
                .await?;
                for node in &new.nodes {
                    insert_node!(tx, node);
                }
                insert_job!(tx, &new.job, &new.tasks);
                if let Some(sealed) = &new.sensitive {
                    sqlx::query(
                        "INSERT INTO sensitive_fields (cluster_id, tenant_id, sealed, updated_at) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(&c.id)
                    .bind(&c.tenant_id)
                    .bind(sealed)
                    .bind(c.create_time)
                    .execute(&mut *tx)
                    .await?;
                }
                sqlx::query(
                    "INSERT INTO cluster_keys (cluster_id, public_key, private_key) VALUES ($1, $2, $3)",
                )
                .bind(&c.id)
                .bind(&new.key.0)
                .bind(&new.key.1)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok::<(), StoreError>(())
            }
            .await
        })
    }

    /// Starts `new.job` on a cluster whose status is one of `new.allowed`, marking it pending;
    /// [`StoreError::Conflict`] if it is not (a job is running, or the status forbids it).
    /// Added nodes are checked against the tenant's node quota in the same transaction.
    pub async fn start_job(&self, tenant_id: &str, cluster_id: &str, new: &NewJob) -> Result<()> {
        let allowed = new
            .allowed
            .iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let added = new.new_nodes.len() as i64;
        let check = (added > 0).then_some(QuotaCheck {
            clusters: 0,
            nodes: added,
        });
        on_pool!(self, |pool| {
            async {
                let mut tx = pool.begin().await?;
                lock_tenant_and_check_quota!(tx, tenant_id, check);
                let updated = sqlx::query(&format!(
                    "UPDATE clusters SET status = 'pending', latest_job_id = $3, \
                     message = NULL, body = COALESCE($4, body), node_count = node_count + $5, active_time = $6 \
                     WHERE id = $1 AND tenant_id = $2 AND status IN ({allowed})"
                ))
                .bind(cluster_id)
                .bind(tenant_id)
                .bind(&new.job.id)
                .bind(&new.cluster_body)
                .bind(added)
                .bind(new.job.created_at)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if updated == 0 {
                    let status: Option<String> =
                        sqlx::query_scalar("SELECT status FROM clusters WHERE id = $1 AND tenant_id = $2")
                            .bind(cluster_id)
                            .bind(tenant_id)
                            .fetch_optional(&mut *tx)
                            .await?;
                    return Err(match status {
                        None => StoreError::NotFound(format!("cluster '{cluster_id}' does not exist")),
                        Some(status) if status == "pending" => StoreError::Conflict(format!(
                            "cluster '{cluster_id}' is pending: a job is running on it; one job at a time"
                        )),
                        Some(status) => StoreError::Conflict(format!(
                            "cluster '{cluster_id}' is {status}; {} needs it to be {}",
                            new.job.action,
                            new.allowed.join(" or ")
                        )),
                    });
                }
                for node in &new.new_nodes {
                    insert_node!(tx, node);
                }
                for (id, body) in &new.node_bodies {
                    sqlx::query("UPDATE nodes SET body = $2 WHERE id = $1")
                        .bind(id)
                        .bind(body)
                        .execute(&mut *tx)
                        .await?;
                }
                insert_job!(tx, &new.job, &new.tasks);
                if let Some(sealed) = &new.sensitive {
                    sqlx::query("DELETE FROM sensitive_fields WHERE cluster_id = $1")
                        .bind(cluster_id)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(
                        "INSERT INTO sensitive_fields (cluster_id, tenant_id, sealed, updated_at) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(cluster_id)
                    .bind(tenant_id)
                    .bind(sealed)
                    .bind(new.job.created_at)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok::<(), StoreError>(())
            }
            .await
        })
    }

    /// A cluster of the tenant, or `None`.
    pub async fn get_cluster(&self, tenant_id: &str, id: &str) -> Result<Option<ClusterRow>> {
        Ok(on_pool!(self, |pool| sqlx::query_as(&format!(
            "SELECT {CLUSTER_COLUMNS} FROM clusters WHERE id = $1 AND tenant_id = $2"
        ))
        .bind(id)
        .bind(tenant_id)
        .fetch_optional(pool)
        .await)?)
    }

    /// The tenant's clusters, newest first; only `owner`'s when given.
    pub async fn list_clusters(
        &self,
        tenant_id: &str,
        owner: Option<&str>,
    ) -> Result<Vec<ClusterRow>> {
        Ok(on_pool!(self, |pool| sqlx::query_as(&format!(
            "SELECT {CLUSTER_COLUMNS} FROM clusters WHERE tenant_id = $1 \
             AND ($2 IS NULL OR owner = $2) ORDER BY create_time DESC, id DESC"
        ))
        .bind(tenant_id)
        .bind(owner)
        .fetch_all(pool)
        .await)?)
    }

    /// Live clusters (any tenant) whose lease ended before `now`, or which were idle since
    /// before their tenant's inactivity limit: (tenant id, cluster id).
    pub async fn expired_clusters(&self, now: i64) -> Result<Vec<(String, String)>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT c.tenant_id, c.id FROM clusters c JOIN tenants t ON t.id = c.tenant_id \
             WHERE c.status IN ('active', 'inconsistent', 'incomplete') \
             AND ((c.expire_time > 0 AND c.expire_time < $1) \
                  OR (t.inactivity_lease IS NOT NULL AND c.active_time < $1 - t.inactivity_lease))",
            )
            .bind(now)
            .fetch_all(pool)
            .await
        })?)
    }

    /// Clusters the reconciler may sweep: their latest job ended (complete or failed) at or
    /// after `since` and none of its tasks is still queued or claimed, oldest first:
    /// (tenant id, cluster id, cluster status).
    pub async fn settled_clusters(&self, since: i64) -> Result<Vec<(String, String, String)>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT c.tenant_id, c.id, c.status FROM clusters c \
                 JOIN jobs j ON j.id = c.latest_job_id \
                 WHERE j.status IN ('complete', 'failed') AND j.updated_at >= $1 \
                 AND NOT EXISTS (SELECT 1 FROM task_queue q WHERE q.job_id = j.id) \
                 ORDER BY j.updated_at, c.id",
            )
            .bind(since)
            .fetch_all(pool)
            .await
        })?)
    }

    /// Sets a cluster's lease end; a change of lease counts as activity (inactivity leases).
    pub async fn set_expire_time(&self, tenant_id: &str, id: &str, expire_time: i64) -> Result<()> {
        crate::execute!(
            self,
            sqlx::query(
                "UPDATE clusters SET expire_time = $3, active_time = $4 WHERE id = $1 AND tenant_id = $2"
            )
            .bind(id)
            .bind(tenant_id)
            .bind(expire_time)
            .bind(crate::now_ms())
        )?;
        Ok(())
    }

    /// The nodes of a cluster in node-number order.
    pub async fn cluster_nodes(&self, cluster_id: &str) -> Result<Vec<NodeRow>> {
        Ok(on_pool!(self, |pool| sqlx::query_as(
            "SELECT id, cluster_id, tenant_id, nodenum, body FROM nodes WHERE cluster_id = $1 \
             ORDER BY nodenum"
        )
        .bind(cluster_id)
        .fetch_all(pool)
        .await)?)
    }

    /// The sealed sensitive fields of a cluster.
    pub async fn sensitive_fields(&self, cluster_id: &str) -> Result<Option<String>> {
        Ok(on_pool!(self, |pool| sqlx::query_scalar(
            "SELECT sealed FROM sensitive_fields WHERE cluster_id = $1"
        )
        .bind(cluster_id)
        .fetch_optional(pool)
        .await)?)
    }

    /// A cluster's SSH key pair: (public, sealed private).
    pub async fn cluster_key(&self, cluster_id: &str) -> Result<Option<(String, String)>> {
        Ok(on_pool!(self, |pool| sqlx::query_as(
            "SELECT public_key, private_key FROM cluster_keys WHERE cluster_id = $1"
        )
        .bind(cluster_id)
        .fetch_optional(pool)
        .await)?)
    }
}
