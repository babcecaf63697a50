//! The engine's hot path: claiming and finishing job tasks in batches.
//!
//! A claim for many worker slots at once, and the finish of many reports at once, is each one
//! transaction of a few statements whatever the batch's size (multi-row `VALUES`, `IN` lists,
//! `UPDATE ... FROM`), so a batch costs about what one task used to, and no statement reads more
//! than the rows it touches: queue rows are found by index (tenant and age for a claim, task id
//! for a finish), a finish updates the node it reports on and takes one off its job's
//! `stage_pending`, and only a finish that ends the stage (or fails, or meets a job that is no
//! longer simply running) asks for a whole scheduling step ([`Store::advance_job`]).
//!
//! On SQLite a transaction that has read may take the write lock only if no other writer
//! committed in between, so a read first would fail under load ("database is locked"): a
//! finish writes first, and a claim, which reads the tenants' counts first, begins `IMMEDIATE`
//! (with the write lock). Both take the process's write turn ([`Store::write_turn`]).

use std::collections::{BTreeMap, HashMap, HashSet};

use sqlx::FromRow;

use crate::clusters::{JobTaskRow, NodeRow, TASK_COLUMNS};
use crate::jobs::{ACTION_OUTPUT_CHARS, AttemptEnd, ClaimedJobTask, tail};
use crate::queue::LeaseLost;
use crate::{Backend, Result, Store, StoreError, on_pool};

/// The most rows one statement writes; larger batches are cut into chunks of this size.
pub(crate) const CHUNK: usize = 200;

/// `$first, $first+1, ...`: `n` numbered placeholders.
pub(crate) fn placeholders(n: usize, first: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `($f, $f+1), ($f+2, $f+3)...`: `rows` tuples of `cols` numbered placeholders.
pub(crate) fn tuples(rows: usize, cols: usize, first: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", placeholders(cols, first + r * cols)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How a batch's transaction begins on PostgreSQL: every statement of the hot path finds its
/// rows through an index, and the planner is told not to scan instead. Its statistics for
/// tables that churn by the second (the queue) or grow by thousands of rows a minute (tasks,
/// node actions) are always stale, and with them it scans a whole table for 64 keys.
pub(crate) const PG_BEGIN: &str = "BEGIN; SET LOCAL enable_seqscan = off; SET LOCAL jit = off";

/// A tenant that may take tasks now.
#[derive(Debug, Clone, FromRow)]
struct Candidate {
    id: String,
    /// How many more of its tasks may be claimed (`tenants.workers` less those claimed).
    room: i64,
    claimed: i64,
    /// When its oldest ready task was queued; none: nothing is ready.
    oldest: Option<i64>,
}

/// Tenants (one, when `$2` names it) with their capacity, claimed count and oldest ready
/// task. Both are index seeks per tenant (`task_queue_next`): nothing here reads the whole
/// queue. Materialized, so each is counted once per tenant (a subquery the planner inlines is
/// run once for the filter and again for the answer).
const CANDIDATES: &str = "WITH s AS MATERIALIZED (\
     SELECT t.id, t.workers, \
     (SELECT COUNT(*) FROM task_queue c WHERE c.tenant_id = t.id AND c.state = 'claimed') \
        AS claimed, \
     (SELECT q.enqueued_at FROM task_queue q WHERE q.tenant_id = t.id AND q.state = 'queued' \
        AND q.not_before <= $1 ORDER BY q.enqueued_at LIMIT 1) AS oldest \
     FROM tenants t WHERE ($2 IS NULL OR t.id = $2)) \
     SELECT id, workers - claimed AS room, claimed, oldest FROM s \
     WHERE workers > claimed AND oldest IS NOT NULL";

/// Claims tenant `$3`'s oldest ready tasks for the workers of `WORKERS` (`($w, 1), ($w, 2)...`:
/// each worker with its place; `$4` of them), the oldest task to the first worker: one
/// statement, each row with its own worker. The rows are locked by the innermost select on
/// PostgreSQL (skipping rows another claimer holds) and found by primary key in the update.
/// SQLite, which plans without statistics, is told which index finds them (`NEXT_INDEX`): left
/// to itself it may scan every queued row.
const CLAIM_FOR_TENANT: &str = "UPDATE task_queue SET state = 'claimed', worker = w.column1, \
     lease_until = $1, claimed_at = $2, attempts = attempts + 1 \
     FROM (SELECT p.id, row_number() OVER (ORDER BY p.enqueued_at, p.id) AS n FROM \
        (SELECT q.id, q.enqueued_at FROM task_queue q NEXT_INDEX WHERE q.tenant_id = $3 \
         AND q.state = 'queued' AND q.not_before <= $2 ORDER BY q.enqueued_at, q.id LIMIT $4 \
         LOCKING) p) AS picked, \
     (VALUES WORKERS) AS w \
     WHERE task_queue.id = picked.id AND w.column2 = picked.n \
     RETURNING task_queue.id, task_queue.payload, task_queue.worker";

/// How many tasks each candidate gets of `wanted`: one at a time to the tenant with the fewest
/// claimed (counting what this batch gave it), the oldest ready task breaking ties, none beyond
/// a tenant's room.
fn shares(candidates: &[Candidate], wanted: usize) -> Vec<(String, usize)> {
    let ready: Vec<&Candidate> = candidates.iter().filter(|c| c.oldest.is_some()).collect();
    let mut given = vec![0usize; ready.len()];
    for _ in 0..wanted {
        let pick = (0..ready.len())
            .filter(|&i| (given[i] as i64) < ready[i].room)
            .min_by_key(|&i| {
                (
                    ready[i].claimed + given[i] as i64,
                    ready[i].oldest,
                    &ready[i].id,
                )
            });
        match pick {
            Some(i) => given[i] += 1,
            None => break,
        }
    }
    let mut out: Vec<(String, usize)> = ready
        .iter()
        .zip(given)
        .filter(|(_, n)| *n > 0)
        .map(|(c, n)| (c.id.clone(), n))
        .collect();
    // one lock order for every claimer
    out.sort();
    out
}

/// A log line as an attempt's end carries it: (at, level, line).
type LogLine = (i64, String, String);

/// A claimed task as read in the claim.
#[derive(FromRow)]
struct ClaimedRow {
    #[sqlx(flatten)]
    task: JobTaskRow,
    node_body: Option<String>,
    attempts: i64,
}

/// One report to apply.
#[derive(Debug, Clone, Copy)]
pub struct FinishInput<'a> {
    pub worker: &'a str,
    pub task_id: &'a str,
    pub attempt: i64,
    pub end: &'a AttemptEnd,
    /// Whether the report may change its node's body: only then is the node read (and, on
    /// PostgreSQL, locked) for the merge.
    pub changes_node: bool,
}

/// A report that was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedTask {
    pub job_id: String,
    pub tenant_id: String,
}

/// What a batch of finishes did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FinishOutcome {
    /// One per input, in order: applied, or dropped because its lease was lost (or the same
    /// task was reported twice in the batch).
    pub results: Vec<Result<FinishedTask, LeaseLost>>,
    /// Jobs that need a whole scheduling step now, each once.
    pub advance: Vec<String>,
}

/// Claims tasks for `$workers` in transaction `$tx` (one each at most, answered in the workers'
/// order; fewer when fewer are ready), of `$tenant_id` only when it names one: the step of [`Store::finish_and_claim`] that
/// claims. A macro, not a function, because the transaction's type is the backend's.
macro_rules! claim_step {
    ($tx:ident, $workers:expr, $tenant_id:expr, $now:expr, $lease_until:expr, $claim_sql:expr) => {
        async {
            let candidates: Vec<Candidate> = sqlx::query_as(CANDIDATES)
                .bind($now)
                .bind($tenant_id)
                .fetch_all(&mut *$tx)
                .await?;
            let shares = shares(&candidates, $workers.len());
            // (queue row, task id, worker); each tenant's share goes to the next workers
            let mut rows: Vec<(String, String, String)> = Vec::new();
            let mut next_worker = 0;
            for (tenant, n) in &shares {
                // (the shares add up to no more than the workers)
                let workers = $workers
                    .get(next_worker..next_worker + n)
                    .unwrap_or_default();
                next_worker += n;
                let sql = $claim_sql.replace(
                    "WORKERS",
                    &(0..workers.len())
                        .map(|i| format!("(${}, {})", 5 + i, i + 1))
                        .collect::<Vec<_>>()
                        .join(", "),
                );
                let mut query = sqlx::query_as(&sql)
                    .bind($lease_until)
                    .bind($now)
                    .bind(tenant)
                    .bind(*n as i64);
                for worker in workers {
                    query = query.bind(worker.as_str());
                }
                let mut claimed: Vec<(String, String, String)> = query.fetch_all(&mut *$tx).await?;
                rows.append(&mut claimed);
            }
            if rows.is_empty() {
                return Ok::<_, StoreError>(Vec::new());
            }
            let ids: Vec<&str> = rows.iter().map(|(_, task, _)| task.as_str()).collect();
            // the tasks, with their nodes as they are now and their attempts so far
            let found: Vec<ClaimedRow> = {
                let sql = format!(
                    "SELECT {}, n.body AS node_body, \
                     (SELECT COUNT(*) FROM node_actions a WHERE a.task_id = t.id) AS attempts \
                     FROM job_tasks t LEFT JOIN nodes n ON n.id = t.node_id \
                     WHERE t.id IN ({})",
                    TASK_COLUMNS
                        .split(", ")
                        .map(|c| format!("t.{c}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    placeholders(ids.len(), 1)
                );
                let mut query = sqlx::query_as(&sql);
                for id in &ids {
                    query = query.bind(*id);
                }
                query.fetch_all(&mut *$tx).await?
            };
            let mut tasks: HashMap<String, ClaimedRow> = found
                .into_iter()
                .map(|row| (row.task.id.clone(), row))
                .collect();
            // a queue row whose task is gone (its cluster was removed) leaves the queue
            let orphans: Vec<&str> = rows
                .iter()
                .filter(|(_, task, _)| !tasks.contains_key(task))
                .map(|(queue, _, _)| queue.as_str())
                .collect();
            if !orphans.is_empty() {
                let sql = format!(
                    "DELETE FROM task_queue WHERE id IN ({})",
                    placeholders(orphans.len(), 1)
                );
                let mut query = sqlx::query(&sql);
                for id in &orphans {
                    query = query.bind(*id);
                }
                query.execute(&mut *$tx).await?;
            }
            // in the workers' order
            let place: HashMap<&str, usize> = $workers
                .iter()
                .enumerate()
                .map(|(i, w)| (w.as_str(), i))
                .collect();
            rows.sort_by_key(|(_, _, worker)| place.get(worker.as_str()).copied());
            // (worker, task)
            let claimed: Vec<(String, ClaimedRow)> = rows
                .into_iter()
                .filter_map(|(_, task, worker)| tasks.remove(&task).map(|t| (worker, t)))
                .collect();
            if claimed.is_empty() {
                return Ok(Vec::new());
            }
            // the new attempts on record
            let attempts: Vec<i64> = claimed.iter().map(|(_, row)| row.attempts + 1).collect();
            for chunk in claimed
                .iter()
                .zip(&attempts)
                .collect::<Vec<_>>()
                .chunks(CHUNK)
            {
                let values = (0..chunk.len())
                    .map(|r| {
                        let f = 2 + r * 6;
                        format!(
                            "(${}, ${}, ${}, ${}, ${}, ${}, $1, $1, 'in_progress', '', '')",
                            f,
                            f + 1,
                            f + 2,
                            f + 3,
                            f + 4,
                            f + 5
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                let sql = format!(
                    "INSERT INTO node_actions (task_id, attempt, node_id, cluster_id, service, \
                     action, submit_time, status_time, status, stdout, stderr) VALUES {values}"
                );
                let mut query = sqlx::query(&sql).bind($now);
                for ((_, ClaimedRow { task, .. }), attempt) in chunk {
                    query = query
                        .bind(task.id.as_str())
                        .bind(**attempt)
                        .bind(task.node_id.as_str())
                        .bind(task.cluster_id.as_str())
                        .bind(task.service.as_str())
                        .bind(task.task_name.as_str());
                }
                query.execute(&mut *$tx).await?;
            }
            Ok(claimed
                .into_iter()
                .zip(attempts)
                .map(|((worker, row), attempt)| ClaimedJobTask {
                    task: row.task,
                    node_body: row.node_body,
                    attempt,
                    lease_until: $lease_until,
                    worker,
                })
                .collect())
        }
        .await?
    };
}

/// Applies `$inputs` in transaction `$tx`, but for their jobs' rows: the step of
/// [`Store::finish_and_claim`] that finishes. Answers the outcome (its `advance`: the jobs with a
/// failure) and, for `count_down_step`, how many tasks of each (job, stage) succeeded. A macro
/// for the same reason as `claim_step`.
macro_rules! finish_step {
    ($tx:ident, $inputs:expr, $now:expr, $merge:expr, $task_index:expr, $node_lock:expr) => {
        async {
            // the leases: the write comes first
            let mut held: HashSet<String> = HashSet::new();
            for chunk in $inputs.chunks(CHUNK) {
                let sql = format!(
                    "DELETE FROM task_queue {} WHERE payload IN ({}) \
                     AND (payload, worker) IN (VALUES {}) \
                     AND lease_until >= $1 RETURNING payload",
                    $task_index,
                    placeholders(chunk.len(), 2 + 2 * chunk.len()),
                    tuples(chunk.len(), 2, 2)
                );
                let mut query = sqlx::query_scalar::<_, String>(&sql).bind($now);
                for input in chunk {
                    query = query.bind(input.task_id).bind(input.worker);
                }
                for input in chunk {
                    query = query.bind(input.task_id);
                }
                held.extend(query.fetch_all(&mut *$tx).await?);
            }
            // a task reported twice in one batch counts once
            let mut accepted: Vec<usize> = Vec::new();
            for (i, input) in $inputs.iter().enumerate() {
                if held.remove(input.task_id) {
                    accepted.push(i);
                }
            }
            let mut outcome = FinishOutcome {
                results: $inputs
                    .iter()
                    .map(|i| Err(LeaseLost(i.task_id.to_string())))
                    .collect(),
                advance: Vec::new(),
            };
            if accepted.is_empty() {
                return Ok::<_, StoreError>((outcome, BTreeMap::new()));
            }

            // the tasks: (id, job, tenant, node, stage)
            let mut updated: HashMap<String, (String, String, String, i64)> = HashMap::new();
            for success in [true, false] {
                let ids: Vec<&str> = accepted
                    .iter()
                    .filter(|&&i| $inputs[i].end.success == success)
                    .map(|&i| $inputs[i].task_id)
                    .collect();
                for chunk in ids.chunks(CHUNK) {
                    let set = if success {
                        "status = 'complete'"
                    } else {
                        "status = 'failed', failures = failures + 1"
                    };
                    let sql = format!(
                        "UPDATE job_tasks SET {set}, status_time = $1 WHERE id IN ({}) \
                         RETURNING id, job_id, tenant_id, node_id, stage",
                        placeholders(chunk.len(), 2)
                    );
                    let mut query =
                        sqlx::query_as::<_, (String, String, String, String, i64)>(&sql)
                            .bind($now);
                    for id in chunk {
                        query = query.bind(*id);
                    }
                    for (id, job, tenant, node, stage) in query.fetch_all(&mut *$tx).await? {
                        updated.insert(id, (job, tenant, node, stage));
                    }
                }
            }

            // the attempts' history entries
            for chunk in accepted.chunks(CHUNK) {
                let sql = format!(
                    "UPDATE node_actions SET status = v.column3, stdout = v.column4, \
                     stderr = v.column5, status_time = $1 FROM (VALUES {}) AS v \
                     WHERE node_actions.task_id = v.column1 AND node_actions.attempt = v.column2 \
                     AND node_actions.task_id IN ({})",
                    tuples(chunk.len(), 5, 2),
                    // (the same ids again: a probe of the key for each, not a join with all)
                    placeholders(chunk.len(), 2 + 5 * chunk.len())
                );
                let mut query = sqlx::query(&sql).bind($now);
                for &i in chunk {
                    let input = &$inputs[i];
                    query = query
                        .bind(input.task_id)
                        .bind(input.attempt)
                        .bind(if input.end.success { "complete" } else { "failed" })
                        .bind(tail(&input.end.stdout, ACTION_OUTPUT_CHARS))
                        .bind(tail(&input.end.stderr, ACTION_OUTPUT_CHARS));
                }
                for &i in chunk {
                    query = query.bind($inputs[i].task_id);
                }
                query.execute(&mut *$tx).await?;
            }

            // log lines the workers did not stream, after those they did
            let logged: Vec<usize> = accepted
                .iter()
                .copied()
                .filter(|&i| !$inputs[i].end.log.is_empty())
                .collect();
            if !logged.is_empty() {
                let mut next: HashMap<(String, i64), i64> = HashMap::new();
                for chunk in logged.chunks(CHUNK) {
                    let sql = format!(
                        "SELECT task_id, attempt, MAX(seq) FROM task_logs \
                         WHERE (task_id, attempt) IN (VALUES {}) GROUP BY task_id, attempt",
                        tuples(chunk.len(), 2, 1)
                    );
                    let mut query = sqlx::query_as::<_, (String, i64, i64)>(&sql);
                    for &i in chunk {
                        query = query.bind($inputs[i].task_id).bind($inputs[i].attempt);
                    }
                    for (task, attempt, seq) in query.fetch_all(&mut *$tx).await? {
                        next.insert((task, attempt), seq + 1);
                    }
                }
                // (task, attempt, seq, (at, level, line))
                let mut lines: Vec<(&str, i64, i64, &LogLine)> = Vec::new();
                for &i in &logged {
                    let input = &$inputs[i];
                    let first = next
                        .get(&(input.task_id.to_string(), input.attempt))
                        .copied()
                        .unwrap_or(1);
                    for (n, line) in input.end.log.iter().enumerate() {
                        lines.push((input.task_id, input.attempt, first + n as i64, line));
                    }
                }
                for chunk in lines.chunks(CHUNK) {
                    let sql = format!(
                        "INSERT INTO task_logs (task_id, attempt, seq, at, level, line) VALUES {}",
                        tuples(chunk.len(), 6, 1)
                    );
                    let mut query = sqlx::query(&sql);
                    for (task, attempt, seq, (at, level, line)) in chunk {
                        query = query
                            .bind(*task)
                            .bind(*attempt)
                            .bind(*seq)
                            .bind(*at)
                            .bind(level.as_str())
                            .bind(line.as_str());
                    }
                    query.execute(&mut *$tx).await?;
                }
            }

            // the nodes the reports that may change them are on (a report with nothing to merge
            // costs its node no read and no lock), locked in one order on PostgreSQL: another
            // server's batch may merge a report on the same node, and neither may lose the
            // other's
            let node_ids: Vec<String> = accepted
                .iter()
                .filter(|&&i| $inputs[i].changes_node)
                .filter_map(|&i| updated.get($inputs[i].task_id).map(|u| u.2.clone()))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            let mut bodies: BTreeMap<String, (String, bool)> = BTreeMap::new();
            for chunk in node_ids.chunks(CHUNK) {
                let sql = format!(
                    "SELECT id, cluster_id, tenant_id, nodenum, body FROM nodes WHERE id IN ({}){}",
                    placeholders(chunk.len(), 1),
                    $node_lock
                );
                let mut query = sqlx::query_as::<_, NodeRow>(&sql);
                for id in chunk {
                    query = query.bind(id.as_str());
                }
                for node in query.fetch_all(&mut *$tx).await? {
                    bodies.insert(node.id, (node.body, false));
                }
            }
            for &i in &accepted {
                let Some((_, _, node, _)) = updated.get($inputs[i].task_id) else {
                    continue;
                };
                if let Some((body, changed)) = bodies.get_mut(node)
                    && let Some(merged) = $merge(i, body)
                {
                    *body = merged;
                    *changed = true;
                }
            }
            let changed: Vec<(&String, &String)> = bodies
                .iter()
                .filter(|(_, (_, changed))| *changed)
                .map(|(id, (body, _))| (id, body))
                .collect();
            for chunk in changed.chunks(CHUNK) {
                let sql = format!(
                    "UPDATE nodes SET body = v.column2 FROM (VALUES {}) AS v \
                     WHERE nodes.id = v.column1",
                    tuples(chunk.len(), 2, 1)
                );
                let mut query = sqlx::query(&sql);
                for (id, body) in chunk {
                    query = query.bind(id.as_str()).bind(body.as_str());
                }
                query.execute(&mut *$tx).await?;
            }

            // what the jobs' rows get (`count_down_step`, last): a failure needs a scheduling
            // step; a stage whose last task ended will
            let mut advance: std::collections::BTreeSet<String> = Default::default();
            let mut done: BTreeMap<(String, i64), i64> = BTreeMap::new();
            for &i in &accepted {
                let Some((job, tenant, _, stage)) = updated.get($inputs[i].task_id) else {
                    continue;
                };
                outcome.results[i] = Ok(FinishedTask {
                    job_id: job.clone(),
                    tenant_id: tenant.clone(),
                });
                if $inputs[i].end.success {
                    *done.entry((job.clone(), *stage)).or_default() += 1;
                } else {
                    advance.insert(job.clone());
                }
            }
            outcome.advance = advance.into_iter().collect();
            Ok((outcome, done))
        }
        .await?
    };
}

/// Takes the successes of `$done` (`(job, stage)` → how many) off their jobs' `stage_pending`
/// in transaction `$tx`, in one order; answers the jobs that need a scheduling step now (their
/// stage ended, or they are no longer simply running). The step of
/// [`Store::finish_and_claim`] that comes last: the jobs' rows are the most contended, and a
/// batch on the same job waits here until this one commits.
macro_rules! count_down_step {
    ($tx:ident, $done:expr, $now:expr) => {
        async {
            let mut advance = Vec::new();
            for ((job, stage), count) in $done {
                let left: Option<(i64, String)> = sqlx::query_as(
                    "UPDATE jobs SET stage_pending = stage_pending - $3, updated_at = $4 \
                     WHERE id = $1 AND current_stage = $2 RETURNING stage_pending, status",
                )
                .bind(job)
                .bind(*stage)
                .bind(*count)
                .bind($now)
                .fetch_optional(&mut *$tx)
                .await?;
                match left {
                    Some((pending, status)) if pending > 0 && status == "running" => {}
                    _ => advance.push(job.clone()),
                }
            }
            Ok::<_, StoreError>(advance)
        }
        .await?
    };
}

/// Worker slots that want tasks: of one tenant only, or of any.
#[derive(Debug, Clone, Copy)]
pub struct ClaimGroup<'a> {
    pub tenant_id: Option<&'a str>,
    /// One task each at most; the claims answer in this order.
    pub workers: &'a [String],
}

impl Store {
    /// Claims ready tasks for `workers` (one each at most, in their order; fewer when fewer
    /// are ready), of `tenant_id` only when given, until `lease_until`, sharing them fairly
    /// between tenants under each tenant's cap (`tenants.workers`). Each claim's attempt (its
    /// node action history entry) is written in the same transaction, before any plugin can
    /// run it. Each claim names its worker.
    pub async fn claim_job_tasks(
        &self,
        workers: &[String],
        tenant_id: Option<&str>,
        now: i64,
        lease_until: i64,
    ) -> Result<Vec<ClaimedJobTask>> {
        let group = ClaimGroup { tenant_id, workers };
        let (_, mut claims) = self
            .finish_and_claim(&[], &[group], now, lease_until, |_, _| None)
            .await?;
        Ok(claims.pop().unwrap_or_default())
    }

    /// Applies reports in one transaction. A report counts only from the worker holding a live
    /// lease on its task: its queue row goes, the task and its node action get their status and
    /// output, its log lines are appended, and its node's body becomes `merge(i, old body)`
    /// when that answers one (asked only of reports that may change it; reports on one node
    /// apply in order). Answers each report's fate and the jobs that need a scheduling step.
    pub async fn finish_job_tasks<M>(
        &self,
        inputs: &[FinishInput<'_>],
        now: i64,
        merge: M,
    ) -> Result<FinishOutcome>
    where
        M: FnMut(usize, &str) -> Option<String>,
    {
        Ok(self.finish_and_claim(inputs, &[], now, 0, merge).await?.0)
    }

    /// [`Store::finish_job_tasks`] for `inputs`, then [`Store::claim_job_tasks`] for each
    /// group, in one transaction: a worker slot's report and its next claim cost one commit,
    /// and the slots that report together claim together. The finishes come first, so what they
    /// free (a tenant's cap, the slot's own lease) the claims may use. Answers the finishes'
    /// outcome and one list of claims per group.
    pub async fn finish_and_claim<M>(
        &self,
        inputs: &[FinishInput<'_>],
        groups: &[ClaimGroup<'_>],
        now: i64,
        lease_until: i64,
        mut merge: M,
    ) -> Result<(FinishOutcome, Vec<Vec<ClaimedJobTask>>)>
    where
        M: FnMut(usize, &str) -> Option<String>,
    {
        let mut claims: Vec<Vec<ClaimedJobTask>> = groups.iter().map(|_| Vec::new()).collect();
        if inputs.is_empty() && groups.iter().all(|g| g.workers.is_empty()) {
            return Ok((FinishOutcome::default(), claims));
        }
        let _turn = self.write_turn().await;
        let claim_sql = match self.backend {
            Backend::Postgres(_) => CLAIM_FOR_TENANT
                .replace("NEXT_INDEX", "")
                .replace("LOCKING", "FOR UPDATE SKIP LOCKED"),
            Backend::Sqlite(_) => CLAIM_FOR_TENANT
                .replace("NEXT_INDEX", "INDEXED BY task_queue_next")
                .replace("LOCKING", ""),
        };
        // a finish finds its queue row by task id (SQLite is told the index, as for claims)
        let task_index = match self.backend {
            Backend::Postgres(_) => "",
            Backend::Sqlite(_) => "INDEXED BY task_queue_task",
        };
        // (SQLite's write lock is taken at the start)
        let node_lock = match self.backend {
            Backend::Postgres(_) => " ORDER BY id FOR UPDATE",
            Backend::Sqlite(_) => "",
        };
        on_pool!(self, |pool| {
            async {
                // SQLite: the write lock from the start, so the counts a claim reads are the
                // counts it changes (caps hold exactly); PostgreSQL: a concurrent claimer may
                // read the same counts, and rows are never claimed twice (SKIP LOCKED)
                let mut tx = match self.backend {
                    Backend::Sqlite(_) => pool.begin_with("BEGIN IMMEDIATE").await?,
                    Backend::Postgres(_) => pool.begin_with(PG_BEGIN).await?,
                };
                let (mut outcome, done) = if inputs.is_empty() {
                    (FinishOutcome::default(), BTreeMap::new())
                } else {
                    finish_step!(tx, inputs, now, merge, task_index, node_lock)
                };
                for (group, claimed) in groups.iter().zip(claims.iter_mut()) {
                    if !group.workers.is_empty() {
                        *claimed = claim_step!(
                            tx,
                            group.workers,
                            group.tenant_id,
                            now,
                            lease_until,
                            claim_sql
                        );
                    }
                }
                for job in count_down_step!(tx, &done, now) {
                    if !outcome.advance.contains(&job) {
                        outcome.advance.push(job);
                    }
                }
                tx.commit().await?;
                Ok::<_, StoreError>((outcome, claims))
            }
            .await
        })
        .inspect(|(outcome, claims)| {
            let finished = outcome.results.iter().filter(|r| r.is_ok()).count();
            let claimed: usize = claims.iter().map(Vec::len).sum();
            self.queue_churned((finished + claimed) as u64);
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(id: &str, room: i64, claimed: i64, oldest: Option<i64>) -> Candidate {
        Candidate {
            id: id.into(),
            room,
            claimed,
            oldest,
        }
    }

    #[test]
    fn placeholders_are_numbered_from_the_first() {
        assert_eq!(placeholders(3, 2), "$2, $3, $4");
        assert_eq!(tuples(2, 2, 1), "($1, $2), ($3, $4)");
    }

    #[test]
    fn shares_go_to_the_least_loaded_tenant_within_its_room() {
        let candidates = [
            candidate("a", 10, 4, Some(1)),
            candidate("b", 2, 0, Some(5)),
            candidate("c", 5, 0, None),
        ];
        // b first (0 claimed) up to its room of 2, then a and b are level at... b is full
        assert_eq!(
            shares(&candidates, 8),
            vec![("a".to_string(), 6), ("b".to_string(), 2)]
        );
        assert_eq!(shares(&candidates, 1), vec![("b".to_string(), 1)]);
        // nothing ready, or no room: nothing
        assert!(shares(&[candidate("c", 5, 0, None)], 3).is_empty());
        assert!(shares(&[candidate("a", 0, 3, Some(1))], 3).is_empty());
    }

    #[test]
    fn equal_loads_share_alike_and_the_oldest_goes_first() {
        let candidates = [
            candidate("a", 10, 0, Some(9)),
            candidate("b", 10, 0, Some(1)),
        ];
        assert_eq!(
            shares(&candidates, 4),
            vec![("a".to_string(), 2), ("b".to_string(), 2)]
        );
        assert_eq!(shares(&candidates, 1), vec![("b".to_string(), 1)]);
    }
}
