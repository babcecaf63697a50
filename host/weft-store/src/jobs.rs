//! Jobs and their tasks: reading them, advancing a job in one locked transaction, heartbeats,
//! timeouts and logs. Claims and finishes, the hot path, are in `batch.rs`.
//!
//! [`Store::advance_job`] takes the job's lock (an update of its row: a row lock on PostgreSQL,
//! the write lock on SQLite), hands a snapshot to the engine's pure scheduling function and
//! applies what it decides in the same transaction, so two servers can never advance one job
//! at once and a crash leaves either all or none of a step.

use std::collections::BTreeMap;

use sqlx::FromRow;

use crate::batch::{CHUNK, PG_BEGIN, tuples};
use crate::clusters::{JOB_COLUMNS, JobRow, JobTaskRow, TASK_COLUMNS, insert_task};
use crate::queue::LeaseLost;
use crate::{Backend, Result, Store, StoreError, execute, on_pool};

/// What the scheduler sees of a job.
#[derive(Debug, Clone)]
pub struct JobSnapshot {
    pub job: JobRow,
    /// The job's tasks by stage and id: all of them when `whole`, else only the job's front.
    pub tasks: Vec<JobTaskRow>,
    /// Whether `tasks` holds every task of the job. If not, it holds the front: the current
    /// stage's tasks that are not complete and every task of the next stage (the lowest stage
    /// above the current one), which is what a step that meets no failure reads.
    pub whole: bool,
    pub cluster_status: String,
    /// Tasks of the job claimed by a worker right now.
    pub claimed: Vec<String>,
}

/// A task to put in the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enqueue {
    pub task_id: String,
    pub not_before: i64,
}

/// A changed task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskUpdate {
    pub id: String,
    pub status: String,
    pub stage: i64,
}

/// How the cluster ends a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterUpdate {
    pub status: String,
    pub message: Option<String>,
    /// Wipe the sealed sensitive fields (a delete succeeded).
    pub wipe_sensitive: bool,
}

/// What one scheduling step changes; applied in the step's transaction.
#[derive(Debug, Clone, Default)]
pub struct JobChanges {
    pub job_status: Option<String>,
    pub current_stage: Option<i64>,
    pub message: Option<String>,
    pub task_updates: Vec<TaskUpdate>,
    pub new_tasks: Vec<JobTaskRow>,
    pub enqueue: Vec<Enqueue>,
    /// Remove the job's tasks that wait in the queue unclaimed.
    pub drop_queued: bool,
    pub cluster: Option<ClusterUpdate>,
    /// Lifecycle events for webhooks: (kind, JSON body).
    pub events: Vec<(String, String)>,
}

impl JobChanges {
    pub fn is_empty(&self) -> bool {
        self.job_status.is_none()
            && self.current_stage.is_none()
            && self.message.is_none()
            && self.task_updates.is_empty()
            && self.new_tasks.is_empty()
            && self.enqueue.is_empty()
            && !self.drop_queued
            && self.cluster.is_none()
            && self.events.is_empty()
    }
}

/// A task claimed for a worker, with the attempt written for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJobTask {
    pub task: JobTaskRow,
    pub attempt: i64,
    pub lease_until: i64,
    /// The worker slot that holds the claim.
    pub worker: String,
    /// The task's node's body as it was at the claim; none if the node is gone.
    pub node_body: Option<String>,
}

/// How an attempt ended, as its worker reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptEnd {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
    /// Log lines the worker did not stream: (at, level, line).
    pub log: Vec<(i64, String, String)>,
}

/// One line of a task's log.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct LogRow {
    pub attempt: i64,
    pub seq: i64,
    pub at: i64,
    pub level: String,
    pub line: String,
}

/// One attempt in a node's history.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct NodeActionRow {
    pub task_id: String,
    pub attempt: i64,
    pub node_id: String,
    pub service: String,
    pub action: String,
    pub submit_time: i64,
    pub status_time: i64,
    pub status: String,
    pub stdout: String,
    pub stderr: String,
}

/// The queue row of a task's attempt, `TASK#ATTEMPT`, as an SQL expression over `job_tasks`.
const QUEUE_ID: &str = "id || '#' || attempt";

/// Keeps the last `limit` characters (coopr-notes §1.10: 2048).
pub fn tail(text: &str, limit: usize) -> String {
    let count = text.chars().count();
    if count <= limit {
        text.to_string()
    } else {
        text.chars().skip(count - limit).collect()
    }
}

pub(crate) const ACTION_OUTPUT_CHARS: usize = 2048;

impl Store {
    pub async fn get_job(&self, tenant_id: &str, id: &str) -> Result<Option<JobRow>> {
        Ok(on_pool!(self, |pool| sqlx::query_as(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1 AND tenant_id = $2"
        ))
        .bind(id)
        .bind(tenant_id)
        .fetch_optional(pool)
        .await)?)
    }

    /// A cluster's jobs, oldest first.
    pub async fn cluster_jobs(&self, cluster_id: &str) -> Result<Vec<JobRow>> {
        Ok(on_pool!(self, |pool| sqlx::query_as(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE cluster_id = $1 ORDER BY created_at, id"
        ))
        .bind(cluster_id)
        .fetch_all(pool)
        .await)?)
    }

    /// Jobs that are running (for the recovery sweep after a restart and the janitor).
    pub async fn running_jobs(&self) -> Result<Vec<JobRow>> {
        Ok(on_pool!(self, |pool| sqlx::query_as(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE status = 'running' ORDER BY created_at"
        ))
        .fetch_all(pool)
        .await)?)
    }

    /// A job's tasks in stage order.
    pub async fn job_tasks(&self, job_id: &str) -> Result<Vec<JobTaskRow>> {
        Ok(on_pool!(self, |pool| sqlx::query_as(&format!(
            "SELECT {TASK_COLUMNS} FROM job_tasks WHERE job_id = $1 ORDER BY stage, id"
        ))
        .bind(job_id)
        .fetch_all(pool)
        .await)?)
    }

    pub async fn get_job_task(&self, tenant_id: &str, id: &str) -> Result<Option<JobTaskRow>> {
        Ok(on_pool!(self, |pool| sqlx::query_as(&format!(
            "SELECT {TASK_COLUMNS} FROM job_tasks WHERE id = $1 AND tenant_id = $2"
        ))
        .bind(id)
        .bind(tenant_id)
        .fetch_optional(pool)
        .await)?)
    }

    /// Sets a job's status if it is one of `from` (pause, resume); answers whether it changed.
    pub async fn set_job_status(
        &self,
        tenant_id: &str,
        job_id: &str,
        from: &[&str],
        to: &str,
        message: Option<&str>,
        now: i64,
    ) -> Result<bool> {
        let from = from
            .iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let changed = execute!(
            self,
            sqlx::query(&format!(
                "UPDATE jobs SET status = $3, message = COALESCE($4, message), updated_at = $5 \
                 WHERE id = $1 AND tenant_id = $2 AND status IN ({from})"
            ))
            .bind(job_id)
            .bind(tenant_id)
            .bind(to)
            .bind(message)
            .bind(now)
        )?;
        Ok(changed == 1)
    }

    /// Reopens the failed job `job_id` of a cluster left incomplete or inconsistent by it: the
    /// cluster is pending again, the job running, and its failed and dropped tasks wait to run
    /// with fresh attempts. Answers whether it was reopened.
    pub async fn reopen_failed_job(
        &self,
        tenant_id: &str,
        cluster_id: &str,
        job_id: &str,
        now: i64,
    ) -> Result<bool> {
        on_pool!(self, |pool| {
            async {
                let mut tx = pool.begin().await?;
                let reopened = sqlx::query(
                    "UPDATE clusters SET status = 'pending', message = NULL WHERE id = $1 \
                     AND tenant_id = $2 AND latest_job_id = $3 \
                     AND status IN ('incomplete', 'inconsistent')",
                )
                .bind(cluster_id)
                .bind(tenant_id)
                .bind(job_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                let job = sqlx::query(
                    "UPDATE jobs SET status = 'running', message = NULL, updated_at = $2 \
                     WHERE id = $1 AND status = 'failed'",
                )
                .bind(job_id)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if reopened == 0 || job == 0 {
                    return Ok::<bool, StoreError>(false);
                }
                sqlx::query(
                    "UPDATE job_tasks SET status = 'not_submitted', failures = 0, status_time = $2 \
                     WHERE job_id = $1 AND status IN ('failed', 'dropped')",
                )
                .bind(job_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(true)
            }
            .await
        })
    }

    /// One scheduling step of a job under its lock: `decide` gets the job as it is and answers
    /// what changes; everything is written in the same transaction. Answers the changes.
    ///
    /// `decide` first gets the job's front (see [`JobSnapshot::whole`]): a stage's end reads the
    /// next stage's tasks, not every task of the job. If it answers `None` (the step needs more,
    /// a failure say), it gets the whole job.
    pub async fn advance_job<F>(&self, job_id: &str, now: i64, mut decide: F) -> Result<JobChanges>
    where
        F: FnMut(&JobSnapshot) -> Option<JobChanges>,
    {
        let _turn = self.write_turn().await;
        // the ids to queue go as one JSON array, however many
        let ids_in = match self.backend {
            Backend::Postgres(_) => "SELECT json_array_elements_text($2::json)",
            Backend::Sqlite(_) => "SELECT value FROM json_each($2)",
        };
        on_pool!(self, |pool| {
            async {
                let mut tx = match self.backend {
                    Backend::Sqlite(_) => pool.begin().await?,
                    Backend::Postgres(_) => pool.begin_with(PG_BEGIN).await?,
                };
                let locked = sqlx::query("UPDATE jobs SET updated_at = updated_at WHERE id = $1")
                    .bind(job_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if locked == 0 {
                    return Err(StoreError::NotFound(format!("job '{job_id}' does not exist")));
                }
                let job: JobRow = sqlx::query_as(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"))
                    .bind(job_id)
                    .fetch_one(&mut *tx)
                    .await?;
                let front: Vec<JobTaskRow> = sqlx::query_as(&format!(
                    "SELECT {TASK_COLUMNS} FROM job_tasks WHERE job_id = $1 \
                     AND ((stage = $2 AND status <> 'complete') OR stage = \
                     (SELECT MIN(stage) FROM job_tasks WHERE job_id = $1 AND stage > $2)) \
                     ORDER BY stage, id"
                ))
                .bind(job_id)
                .bind(job.current_stage)
                .fetch_all(&mut *tx)
                .await?;
                let cluster_status: String =
                    sqlx::query_scalar("SELECT status FROM clusters WHERE id = $1")
                        .bind(&job.cluster_id)
                        .fetch_one(&mut *tx)
                        .await?;
                let claimed: Vec<String> = sqlx::query_scalar(
                    "SELECT payload FROM task_queue WHERE job_id = $1 AND state = 'claimed'",
                )
                .bind(job_id)
                .fetch_all(&mut *tx)
                .await?;
                let mut snapshot = JobSnapshot {
                    job,
                    tasks: front,
                    whole: false,
                    cluster_status,
                    claimed,
                };
                let changes = match decide(&snapshot) {
                    Some(changes) => changes,
                    None => {
                        snapshot.tasks = sqlx::query_as(&format!(
                            "SELECT {TASK_COLUMNS} FROM job_tasks WHERE job_id = $1 ORDER BY stage, id"
                        ))
                        .bind(job_id)
                        .fetch_all(&mut *tx)
                        .await?;
                        snapshot.whole = true;
                        decide(&snapshot).unwrap_or_default()
                    }
                };
                if changes.is_empty() {
                    count_stage_pending!(tx, job_id);
                    tx.commit().await?;
                    return Ok(changes);
                }
                let job = &snapshot.job;
                sqlx::query(
                    "UPDATE jobs SET status = COALESCE($2, status), \
                     current_stage = COALESCE($3, current_stage), message = COALESCE($4, message), \
                     updated_at = $5 WHERE id = $1",
                )
                .bind(job_id)
                .bind(&changes.job_status)
                .bind(changes.current_stage)
                .bind(&changes.message)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                // many rows to one statement (a stage's tasks at once); each statement is a
                // round trip, taken while every other writer waits
                for chunk in changes.task_updates.chunks(CHUNK) {
                    let sql = format!(
                        "UPDATE job_tasks SET status = v.column2, stage = v.column3, status_time = $1 \
                         FROM (VALUES {}) AS v WHERE job_tasks.id = v.column1",
                        tuples(chunk.len(), 3, 2)
                    );
                    let mut query = sqlx::query(&sql).bind(now);
                    for update in chunk {
                        query = query.bind(&update.id).bind(&update.status).bind(update.stage);
                    }
                    query.execute(&mut *tx).await?;
                }
                for task in &changes.new_tasks {
                    insert_task!(tx, task);
                }
                if changes.drop_queued {
                    sqlx::query("DELETE FROM task_queue WHERE job_id = $1 AND state = 'queued'")
                        .bind(job_id)
                        .execute(&mut *tx)
                        .await?;
                }
                // the tasks to queue, grouped by when they may run (a stage's start: all of them
                // at once), two statements a group whatever its size: the tasks' new attempt,
                // then their queue rows, named by it. By id alone: with `job_id = ..` as well,
                // PostgreSQL's stale statistics chose the job's index and matched each of its
                // tasks against the whole list (2.7 s for a stage of 2,000, seen in a benchmark)
                let mut by_time: BTreeMap<i64, Vec<&str>> = BTreeMap::new();
                for enqueue in &changes.enqueue {
                    by_time.entry(enqueue.not_before).or_default().push(&enqueue.task_id);
                }
                for (not_before, ids) in by_time {
                    let count = ids.len() as u64;
                    let list = serde_json::Value::from(ids).to_string();
                    let bumped = sqlx::query(&format!(
                        "UPDATE job_tasks SET attempt = attempt + 1, status = 'in_progress', \
                         status_time = $1 WHERE id IN ({ids_in})"
                    ))
                    .bind(now)
                    .bind(&list)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if bumped != count {
                        return Err(StoreError::NotFound(format!(
                            "{} of the {count} tasks to queue do not exist",
                            count.saturating_sub(bumped)
                        )));
                    }
                    sqlx::query(&format!(
                        "INSERT INTO task_queue \
                         (id, tenant_id, job_id, payload, state, not_before, enqueued_at) \
                         SELECT {QUEUE_ID}, tenant_id, job_id, id, 'queued', $3, $1 \
                         FROM job_tasks WHERE id IN ({ids_in})"
                    ))
                    .bind(now)
                    .bind(&list)
                    .bind(not_before)
                    .execute(&mut *tx)
                    .await?;
                }
                if let Some(cluster) = &changes.cluster {
                    sqlx::query(
                        "UPDATE clusters SET status = $2, message = $3 WHERE id = $1",
                    )
                    .bind(&job.cluster_id)
                    .bind(&cluster.status)
                    .bind(&cluster.message)
                    .execute(&mut *tx)
                    .await?;
                    if cluster.wipe_sensitive {
                        sqlx::query("DELETE FROM sensitive_fields WHERE cluster_id = $1")
                            .bind(&job.cluster_id)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                for (kind, body) in &changes.events {
                    sqlx::query(
                        "INSERT INTO job_events (id, tenant_id, kind, body, created_at) \
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(uuid::Uuid::new_v4().to_string())
                    .bind(&job.tenant_id)
                    .bind(kind)
                    .bind(body)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                count_stage_pending!(tx, job_id);
                tx.commit().await?;
                Ok::<JobChanges, StoreError>(changes)
            }
            .await
        })
    }

    /// Extends the lease of a claimed task.
    pub async fn heartbeat_job_task(
        &self,
        worker: &str,
        task_id: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<Result<(), LeaseLost>> {
        let renewed = execute!(
            self,
            sqlx::query(
                "UPDATE task_queue SET lease_until = $4 WHERE payload = $1 AND worker = $2 \
                 AND state = 'claimed' AND lease_until >= $3"
            )
            .bind(task_id)
            .bind(worker)
            .bind(now)
            .bind(lease_until)
        )?;
        Ok(if renewed == 1 {
            Ok(())
        } else {
            Err(LeaseLost(task_id.to_string()))
        })
    }

    /// Fails the claimed attempt of a task that ran too long (the janitor): its queue row goes,
    /// so a late finish gets [`LeaseLost`]. Answers the job id, or `None` if no longer claimed.
    pub async fn fail_claimed_task(
        &self,
        task_id: &str,
        message: &str,
        now: i64,
    ) -> Result<Option<String>> {
        on_pool!(self, |pool| {
            async {
                let mut tx = pool.begin().await?;
                let removed = sqlx::query(
                    "DELETE FROM task_queue WHERE payload = $1 AND state = 'claimed'",
                )
                .bind(task_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if removed == 0 {
                    return Ok::<_, StoreError>(None);
                }
                let job_id: String = sqlx::query_scalar(
                    "UPDATE job_tasks SET status = 'failed', failures = failures + 1, status_time = $2 \
                     WHERE id = $1 RETURNING job_id",
                )
                .bind(task_id)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                let attempt: i64 =
                    sqlx::query_scalar("SELECT COALESCE(MAX(attempt), 0) FROM node_actions WHERE task_id = $1")
                        .bind(task_id)
                        .fetch_one(&mut *tx)
                        .await?;
                let end = AttemptEnd {
                    success: false,
                    stdout: String::new(),
                    stderr: message.to_string(),
                    log: vec![(now, "error".into(), message.to_string())],
                };
                end_attempt!(tx, task_id, attempt, "failed", &end, now);
                tx.commit().await?;
                Ok(Some(job_id))
            }
            .await
        })
    }

    /// Claimed tasks whose claim started before `since` (they ran longer than the task
    /// timeout), as task ids.
    pub async fn claimed_since(&self, since: i64) -> Result<Vec<String>> {
        Ok(on_pool!(self, |pool| sqlx::query_scalar(
            "SELECT payload FROM task_queue WHERE state = 'claimed' AND claimed_at < $1"
        )
        .bind(since)
        .fetch_all(pool)
        .await)?)
    }

    /// Appends log lines to a task's attempt; `first_seq` numbers the first.
    pub async fn append_task_log(
        &self,
        task_id: &str,
        attempt: i64,
        first_seq: i64,
        lines: &[(i64, String, String)],
    ) -> Result<()> {
        on_pool!(self, |pool| {
            async {
                let mut tx = pool.begin().await?;
                for (i, (at, level, line)) in lines.iter().enumerate() {
                    sqlx::query(
                        "INSERT INTO task_logs (task_id, attempt, seq, at, level, line) \
                         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                    )
                    .bind(task_id)
                    .bind(attempt)
                    .bind(first_seq + i as i64)
                    .bind(at)
                    .bind(level)
                    .bind(line)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok::<(), StoreError>(())
            }
            .await
        })
    }

    /// A task's log lines after (attempt, seq), in order.
    pub async fn task_log(
        &self,
        task_id: &str,
        after: (i64, i64),
        limit: i64,
    ) -> Result<Vec<LogRow>> {
        Ok(on_pool!(self, |pool| sqlx::query_as(
            "SELECT attempt, seq, at, level, line FROM task_logs WHERE task_id = $1 \
             AND (attempt > $2 OR (attempt = $2 AND seq > $3)) ORDER BY attempt, seq LIMIT $4"
        )
        .bind(task_id)
        .bind(after.0)
        .bind(after.1)
        .bind(limit)
        .fetch_all(pool)
        .await)?)
    }

    /// The action history of a node, newest last.
    pub async fn node_actions(&self, node_id: &str) -> Result<Vec<NodeActionRow>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT task_id, attempt, node_id, service, action, submit_time, status_time, status, \
             stdout, stderr FROM node_actions WHERE node_id = $1 ORDER BY submit_time, task_id, attempt"
        )
        .bind(node_id)
        .fetch_all(pool)
        .await
        })?)
    }

    /// The node of a task's id, for authorisation of log reads: (tenant, cluster) of the task.
    pub async fn task_owner(&self, task_id: &str) -> Result<Option<(String, String)>> {
        Ok(on_pool!(self, |pool| sqlx::query_as(
            "SELECT tenant_id, cluster_id FROM job_tasks WHERE id = $1"
        )
        .bind(task_id)
        .fetch_optional(pool)
        .await)?)
    }

    /// Why each queued task of a job waits: (task id, reason).
    pub async fn queued_job_tasks(&self, job_id: &str) -> Result<Vec<(String, String, i64)>> {
        Ok(on_pool!(self, |pool| sqlx::query_as(
            "SELECT payload, state, not_before FROM task_queue WHERE job_id = $1"
        )
        .bind(job_id)
        .fetch_all(pool)
        .await)?)
    }

    /// Tasks claimed by the tenant's workers now, and the tenant's cap.
    pub async fn tenant_load(&self, tenant_id: &str) -> Result<(i64, i64)> {
        Ok(on_pool!(self, |pool| sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM task_queue WHERE tenant_id = $1 AND state = 'claimed'), \
             workers FROM tenants WHERE id = $1"
        )
        .bind(tenant_id)
        .fetch_one(pool)
        .await)?)
    }
}

/// Writes the end of an attempt inside `$tx`: the history entry's status and output, and its
/// log lines.
macro_rules! end_attempt {
    ($tx:expr, $task_id:expr, $attempt:expr, $status:expr, $end:expr, $now:expr) => {{
        let (task_id, attempt, status, end, now): (&str, i64, &str, &AttemptEnd, i64) =
            ($task_id, $attempt, $status, $end, $now);
        sqlx::query(
            "UPDATE node_actions SET status = $3, stdout = $4, stderr = $5, status_time = $6 \
             WHERE task_id = $1 AND attempt = $2",
        )
        .bind(task_id)
        .bind(attempt)
        .bind(status)
        .bind(tail(&end.stdout, ACTION_OUTPUT_CHARS))
        .bind(tail(&end.stderr, ACTION_OUTPUT_CHARS))
        .bind(now)
        .execute(&mut *$tx)
        .await?;
        let first: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM task_logs WHERE task_id = $1 AND attempt = $2",
        )
        .bind(task_id)
        .bind(attempt)
        .fetch_one(&mut *$tx)
        .await?;
        for (i, (at, level, line)) in end.log.iter().enumerate() {
            sqlx::query(
                "INSERT INTO task_logs (task_id, attempt, seq, at, level, line) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(task_id)
            .bind(attempt)
            .bind(first + i as i64)
            .bind(*at)
            .bind(level)
            .bind(line)
            .execute(&mut *$tx)
            .await?;
        }
    }};
}
use end_attempt;

/// Sets a job's `stage_pending` inside `$tx` from its tasks: those of the current stage not
/// complete, replaced or dropped. The last statement of every scheduling step.
macro_rules! count_stage_pending {
    ($tx:expr, $job_id:expr) => {{
        sqlx::query(
            "UPDATE jobs SET stage_pending = (SELECT COUNT(*) FROM job_tasks t \
             WHERE t.job_id = jobs.id AND t.stage = jobs.current_stage \
             AND t.status NOT IN ('complete', 'replaced', 'dropped')) WHERE id = $1",
        )
        .bind($job_id)
        .execute(&mut *$tx)
        .await?;
    }};
}
use count_stage_pending;
