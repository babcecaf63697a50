//! One scheduling step of a job (Coopr's JobScheduler, coopr-notes §4.5), as a pure function
//! from the job as stored to what changes. The store runs it under the job's lock.
//!
//! Rules: stages run behind a barrier (stage i+1 starts when every task of stage i is
//! complete); a failed task is retried up to `max_attempts` times with exponential backoff; a
//! failed CONFIRM rolls the node back (DELETE in its place, then CREATE and CONFIRM as stages of
//! their own right after); a task failed `max_attempts` times fails the job, whose queued tasks
//! are dropped; when no task of a failed job is still running, the cluster takes the action's
//! failure status, except that a create that failed before any node had a machine (every
//! failure a CREATE, no CREATE complete) ends terminated with Coopr's "Unable to create
//! nodes" message. A paused job submits nothing.

use weft_model::{ClusterStatus, JobStatus, TaskStatus};
use weft_store::{ClusterUpdate, Enqueue, JobChanges, JobSnapshot, JobTaskRow, TaskUpdate};

/// Retry policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts of a task before the job fails (Coopr: 3).
    pub max_attempts: i64,
    /// Wait before the first retry; doubles with each further one.
    pub backoff_ms: i64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            backoff_ms: 2_000,
        }
    }
}

/// The cluster's status when a job of `action` fails (coopr-notes §1.9).
pub fn failure_status(action: &str) -> ClusterStatus {
    match action {
        "CLUSTER_CREATE" | "CLUSTER_DELETE" => ClusterStatus::Incomplete,
        _ => ClusterStatus::Inconsistent,
    }
}

/// The cluster's status when a job of `action` succeeds.
pub fn success_status(action: &str) -> ClusterStatus {
    match action {
        "CLUSTER_DELETE" => ClusterStatus::Terminated,
        _ => ClusterStatus::Active,
    }
}

fn status(task: &JobTaskRow) -> Option<TaskStatus> {
    TaskStatus::parse(&task.status)
}

fn event(kind: &str, snapshot: &JobSnapshot, status: &str) -> (String, String) {
    let job = &snapshot.job;
    let body = serde_json::json!({
        "event": kind,
        "clusterId": job.cluster_id,
        "jobId": job.id,
        "action": job.action,
        "status": status,
    });
    (kind.to_string(), body.to_string())
}

/// What one step of the job changes, at time `now`. `None` when the snapshot holds only the
/// job's front ([`JobSnapshot::whole`] false) and the step needs the whole job: a job that
/// failed, a task out of attempts, a CONFIRM to roll back, or a stage to pass beyond the next.
/// On the whole job it always answers.
pub fn decide(snapshot: &JobSnapshot, now: i64, policy: RetryPolicy) -> Option<JobChanges> {
    let job = &snapshot.job;
    let mut changes = JobChanges::default();
    if snapshot.cluster_status != ClusterStatus::Pending.as_str() {
        return Some(changes);
    }
    let job_status = JobStatus::parse(&job.status);
    match job_status {
        Some(JobStatus::Paused) | Some(JobStatus::Complete) | None => return Some(changes),
        Some(JobStatus::NotSubmitted) => {
            changes.job_status = Some(JobStatus::Running.as_str().into());
            changes.events.push(event("start", snapshot, "running"));
        }
        Some(JobStatus::Running) | Some(JobStatus::Failed) => {}
    }
    let mut failed = job_status == Some(JobStatus::Failed);
    if failed && !snapshot.whole {
        return None;
    }
    let mut stage = job.current_stage;
    let mut tasks: Vec<JobTaskRow> = snapshot.tasks.clone();

    if !failed {
        // retries and rollbacks for the current stage's failed tasks
        let failed_now: Vec<JobTaskRow> = tasks
            .iter()
            .filter(|t| t.stage == stage && status(t) == Some(TaskStatus::Failed))
            .cloned()
            .collect();
        for task in failed_now {
            let rolls_back = task.task_name == "CONFIRM";
            if !snapshot.whole && (task.failures >= policy.max_attempts || rolls_back) {
                // the job fails (every waiting task drops) or later stages move down
                return None;
            }
            if task.failures >= policy.max_attempts {
                failed = true;
                changes.message = Some(format!(
                    "{} of node {}{} failed {} times",
                    task.task_name,
                    task.node_id,
                    if task.service.is_empty() {
                        String::new()
                    } else {
                        format!(" (service {})", task.service)
                    },
                    task.failures
                ));
                break;
            }
            if rolls_back {
                rollback(&mut tasks, &mut changes, &task, now);
            } else {
                let wait = policy
                    .backoff_ms
                    .saturating_mul(1 << (task.failures - 1).clamp(0, 16));
                changes.enqueue.push(Enqueue {
                    task_id: task.id.clone(),
                    not_before: now + wait,
                });
                set_status(&mut tasks, &task.id, TaskStatus::InProgress);
            }
        }
    }

    if failed {
        changes.job_status = Some(JobStatus::Failed.as_str().into());
        changes.drop_queued = true;
        for task in &tasks {
            let waiting = matches!(status(task), Some(TaskStatus::NotSubmitted))
                || (status(task) == Some(TaskStatus::InProgress)
                    && !snapshot.claimed.contains(&task.id));
            if waiting {
                changes.task_updates.push(TaskUpdate {
                    id: task.id.clone(),
                    status: TaskStatus::Dropped.as_str().into(),
                    stage: task.stage,
                });
            }
        }
        // a task dropped above does not run; only claimed ones are still in flight
        changes.enqueue.clear();
        if snapshot.claimed.is_empty() {
            let (to, message) = if job.action == "CLUSTER_CREATE" && no_machine_made(&tasks) {
                // nothing to delete (the reconciler deletes whatever a provider made anyway),
                // and the cluster no longer counts against the quota
                (
                    ClusterStatus::Terminated,
                    Some(UNABLE_TO_CREATE.to_string()),
                )
            } else {
                (
                    failure_status(&job.action),
                    changes.message.clone().or_else(|| job.message.clone()),
                )
            };
            changes.message = message.clone();
            changes.cluster = Some(ClusterUpdate {
                status: to.as_str().into(),
                message,
                wipe_sensitive: false,
            });
            changes.events.push(event("failure", snapshot, "failed"));
        }
        return Some(changes);
    }

    loop {
        let mut all_complete = true;
        for task in tasks.iter_mut().filter(|t| t.stage == stage) {
            match status(task) {
                Some(TaskStatus::Complete | TaskStatus::Replaced | TaskStatus::Dropped) => {}
                Some(TaskStatus::NotSubmitted) => {
                    // submitted tasks are in progress: the stage is not complete
                    all_complete = false;
                    changes.enqueue.push(Enqueue {
                        task_id: task.id.clone(),
                        not_before: now,
                    });
                    task.status = TaskStatus::InProgress.as_str().into();
                }
                _ => all_complete = false,
            }
        }
        if !all_complete {
            break;
        }
        if !snapshot.whole && stage != job.current_stage {
            // the front ends at the next stage: what comes after it is not in the snapshot
            return None;
        }
        match tasks.iter().map(|t| t.stage).filter(|s| *s > stage).min() {
            Some(next) => {
                stage = next;
                changes.current_stage = Some(stage);
            }
            None => {
                changes.job_status = Some(JobStatus::Complete.as_str().into());
                let to = success_status(&job.action);
                changes.cluster = Some(ClusterUpdate {
                    status: to.as_str().into(),
                    message: None,
                    wipe_sensitive: to == ClusterStatus::Terminated,
                });
                changes.events.push(event("success", snapshot, "complete"));
                break;
            }
        }
    }
    Some(changes)
}

/// Coopr's message for a create whose every failure was a CREATE and that made no node.
pub const UNABLE_TO_CREATE: &str = "Unable to create nodes, please check your provider settings";

/// A failed job whose only failed tasks are CREATEs, with no CREATE complete: it failed before
/// any node had a machine (bad credentials, a quota, a wrong image).
fn no_machine_made(tasks: &[JobTaskRow]) -> bool {
    let mut failed_create = false;
    for task in tasks {
        match (task.task_name.as_str(), status(task)) {
            ("CREATE", Some(TaskStatus::Complete)) => return false,
            ("CREATE", Some(TaskStatus::Failed)) => failed_create = true,
            (_, Some(TaskStatus::Failed)) => return false,
            _ => {}
        }
    }
    failed_create
}

fn set_status(tasks: &mut [JobTaskRow], id: &str, to: TaskStatus) {
    if let Some(task) = tasks.iter_mut().find(|t| t.id == id) {
        task.status = to.as_str().into();
    }
}

/// A failed CONFIRM: the node is deleted in its place, created and confirmed again in two new
/// stages right after; later stages move down by two. The new CONFIRM carries the failures so
/// far, so rollbacks stop at the attempt limit.
fn rollback(tasks: &mut Vec<JobTaskRow>, changes: &mut JobChanges, confirm: &JobTaskRow, now: i64) {
    let stage = confirm.stage;
    for task in tasks.iter_mut().filter(|t| t.stage > stage) {
        task.stage += 2;
        changes.task_updates.push(TaskUpdate {
            id: task.id.clone(),
            status: task.status.clone(),
            stage: task.stage,
        });
    }
    set_status(tasks, &confirm.id, TaskStatus::Replaced);
    changes.task_updates.push(TaskUpdate {
        id: confirm.id.clone(),
        status: TaskStatus::Replaced.as_str().into(),
        stage,
    });
    let make = |suffix: &str, name: &str, stage: i64, failures: i64| JobTaskRow {
        id: format!("{}-r{}{}", confirm.id, confirm.failures, suffix),
        job_id: confirm.job_id.clone(),
        cluster_id: confirm.cluster_id.clone(),
        tenant_id: confirm.tenant_id.clone(),
        node_id: confirm.node_id.clone(),
        service: String::new(),
        task_name: name.into(),
        stage,
        status: TaskStatus::NotSubmitted.as_str().into(),
        failures,
        attempt: 0,
        status_time: now,
    };
    for task in [
        make("d", "DELETE", stage, 0),
        make("c", "CREATE", stage + 1, 0),
        make("f", "CONFIRM", stage + 2, confirm.failures),
    ] {
        tasks.push(task.clone());
        changes.new_tasks.push(task);
    }
}
