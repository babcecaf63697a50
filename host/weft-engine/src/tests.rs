use weft_store::{JobChanges, JobRow, JobSnapshot, JobTaskRow};

use crate::schedule::{self, RetryPolicy};

/// The job's front, as the store reads it first: the current stage's tasks that are not
/// complete and every task of the next stage.
fn front_of(whole: &JobSnapshot) -> JobSnapshot {
    let current = whole.job.current_stage;
    let next = whole
        .tasks
        .iter()
        .map(|t| t.stage)
        .filter(|s| *s > current)
        .min();
    let mut front = whole.clone();
    front.whole = false;
    front
        .tasks
        .retain(|t| (t.stage == current && t.status != "complete") || Some(t.stage) == next);
    front
}

/// The step on the whole job; on the way, the step on its front either asks for the whole job
/// or decides exactly the same.
fn decide(whole: &JobSnapshot, now: i64, policy: RetryPolicy) -> JobChanges {
    let changes = schedule::decide(whole, now, policy).expect("a whole job always answers");
    if let Some(on_front) = schedule::decide(&front_of(whole), now, policy) {
        assert_eq!(format!("{on_front:?}"), format!("{changes:?}"));
    }
    changes
}

/// Whether the step on the job's front answers, without the whole job.
fn on_front(whole: &JobSnapshot) -> bool {
    schedule::decide(&front_of(whole), 1000, POLICY).is_some()
}

fn task(id: &str, name: &str, stage: i64, status: &str, failures: i64) -> JobTaskRow {
    JobTaskRow {
        id: id.into(),
        job_id: "j".into(),
        cluster_id: "c".into(),
        tenant_id: "t".into(),
        node_id: "n1".into(),
        service: String::new(),
        task_name: name.into(),
        stage,
        status: status.into(),
        failures,
        attempt: 0,
        status_time: 0,
    }
}

fn snapshot(status: &str, stage: i64, tasks: Vec<JobTaskRow>) -> JobSnapshot {
    JobSnapshot {
        job: JobRow {
            id: "j".into(),
            cluster_id: "c".into(),
            tenant_id: "t".into(),
            action: "CLUSTER_CREATE".into(),
            status: status.into(),
            current_stage: stage,
            message: None,
            body: "{}".into(),
            created_at: 0,
            updated_at: 0,
        },
        tasks,
        whole: true,
        cluster_status: "pending".into(),
        claimed: vec![],
    }
}

const POLICY: RetryPolicy = RetryPolicy {
    max_attempts: 3,
    backoff_ms: 100,
};

#[test]
fn a_new_job_starts_its_first_stage_only() {
    let s = snapshot(
        "not_submitted",
        0,
        vec![
            task("a", "CREATE", 0, "not_submitted", 0),
            task("b", "CONFIRM", 1, "not_submitted", 0),
        ],
    );
    let c = decide(&s, 1000, POLICY);
    assert_eq!(c.job_status.as_deref(), Some("running"));
    assert_eq!(c.enqueue.len(), 1);
    assert_eq!(c.enqueue[0].task_id, "a");
    assert_eq!(c.events[0].0, "start");
}

#[test]
fn a_complete_stage_opens_the_next_and_the_last_completes_the_job() {
    let s = snapshot(
        "running",
        0,
        vec![
            task("a", "CREATE", 0, "complete", 0),
            task("b", "CONFIRM", 1, "not_submitted", 0),
        ],
    );
    let c = decide(&s, 1000, POLICY);
    assert_eq!(c.current_stage, Some(1));
    assert_eq!(c.enqueue[0].task_id, "b");
    let s = snapshot(
        "running",
        1,
        vec![
            task("a", "CREATE", 0, "complete", 0),
            task("b", "CONFIRM", 1, "complete", 0),
        ],
    );
    let c = decide(&s, 1000, POLICY);
    assert_eq!(c.job_status.as_deref(), Some("complete"));
    assert_eq!(c.cluster.map(|c| c.status).as_deref(), Some("active"));
}

#[test]
fn failures_retry_with_growing_backoff_until_the_limit() {
    let s = snapshot("running", 0, vec![task("a", "INSTALL", 0, "failed", 1)]);
    let c = decide(&s, 1000, POLICY);
    assert_eq!(c.enqueue[0].not_before, 1100);
    let s = snapshot("running", 0, vec![task("a", "INSTALL", 0, "failed", 2)]);
    assert_eq!(decide(&s, 1000, POLICY).enqueue[0].not_before, 1200);
    let s = snapshot("running", 0, vec![task("a", "INSTALL", 0, "failed", 3)]);
    let c = decide(&s, 1000, POLICY);
    assert_eq!(c.job_status.as_deref(), Some("failed"));
    assert!(c.enqueue.is_empty());
    assert_eq!(c.cluster.map(|c| c.status).as_deref(), Some("incomplete"));
}

#[test]
fn a_create_that_made_no_machine_ends_terminated() {
    let mut s = snapshot(
        "running",
        0,
        vec![
            task("a", "CREATE", 0, "failed", 3),
            task("b", "CREATE", 0, "failed", 1),
            task("c", "CONFIRM", 1, "not_submitted", 0),
        ],
    );
    s.job.action = "CLUSTER_CREATE".into();
    let c = decide(&s, 1000, POLICY);
    let cluster = c.cluster.expect("the cluster changes");
    assert_eq!(cluster.status, "terminated");
    assert_eq!(
        cluster.message.as_deref(),
        Some(crate::schedule::UNABLE_TO_CREATE)
    );
    // one CREATE made its machine: the cluster is incomplete, and can be deleted
    s.tasks[1].status = "complete".into();
    let c = decide(&s, 1000, POLICY);
    assert_eq!(c.cluster.map(|c| c.status).as_deref(), Some("incomplete"));
    // another task failed too: more than the creates went wrong
    s.tasks[1].status = "failed".into();
    s.tasks[2] = task("c", "BOOTSTRAP", 0, "failed", 3);
    let c = decide(&s, 1000, POLICY);
    assert_eq!(c.cluster.map(|c| c.status).as_deref(), Some("incomplete"));
    // only a create ends this way
    s.tasks[2].status = "dropped".into();
    s.job.action = "CLUSTER_ADD_SERVICES".into();
    let c = decide(&s, 1000, POLICY);
    assert_eq!(c.cluster.map(|c| c.status).as_deref(), Some("inconsistent"));
}

#[test]
fn a_failed_confirm_rolls_back_with_delete_create_confirm() {
    let s = snapshot(
        "running",
        1,
        vec![
            task("a", "CREATE", 0, "complete", 0),
            task("b", "CONFIRM", 1, "failed", 1),
            task("x", "BOOTSTRAP", 2, "not_submitted", 0),
        ],
    );
    let c = decide(&s, 1000, POLICY);
    let names: Vec<(&str, i64)> = c
        .new_tasks
        .iter()
        .map(|t| (t.task_name.as_str(), t.stage))
        .collect();
    assert_eq!(names, [("DELETE", 1), ("CREATE", 2), ("CONFIRM", 3)]);
    assert_eq!(
        c.new_tasks[2].failures, 1,
        "the new confirm carries the failures"
    );
    assert!(
        c.task_updates
            .iter()
            .any(|u| u.id == "b" && u.status == "replaced")
    );
    assert!(c.task_updates.iter().any(|u| u.id == "x" && u.stage == 4));
    assert_eq!(c.enqueue.len(), 1, "the delete runs now");
    assert_eq!(c.enqueue[0].task_id, c.new_tasks[0].id);
}

#[test]
fn a_failed_job_waits_for_running_tasks_before_the_cluster_fails() {
    let mut s = snapshot(
        "failed",
        0,
        vec![
            task("a", "CREATE", 0, "in_progress", 0),
            task("b", "CREATE", 0, "in_progress", 0),
        ],
    );
    s.claimed = vec!["a".into()];
    let c = decide(&s, 1000, POLICY);
    assert!(c.drop_queued);
    assert!(
        c.task_updates
            .iter()
            .any(|u| u.id == "b" && u.status == "dropped")
    );
    assert!(c.cluster.is_none(), "a is still running");
    s.claimed.clear();
    assert!(decide(&s, 1000, POLICY).cluster.is_some());
}

#[test]
fn a_paused_job_submits_nothing() {
    let s = snapshot(
        "paused",
        0,
        vec![task("a", "CREATE", 0, "not_submitted", 0)],
    );
    assert!(decide(&s, 1000, POLICY).is_empty());
}

#[test]
fn a_step_without_failures_is_decided_on_the_jobs_front() {
    let stage_end = snapshot(
        "running",
        1,
        vec![
            task("a", "CREATE", 0, "complete", 0),
            task("b", "CONFIRM", 1, "complete", 0),
            task("c", "CONFIRM", 1, "replaced", 1),
            task("x", "BOOTSTRAP", 2, "not_submitted", 0),
            task("y", "INSTALL", 3, "not_submitted", 0),
        ],
    );
    assert!(on_front(&stage_end));
    let c = decide(&stage_end, 1000, POLICY);
    assert_eq!(c.current_stage, Some(2));
    assert_eq!(c.enqueue.len(), 1);
    assert_eq!(c.enqueue[0].task_id, "x");
    // the last stage's end completes the job: nothing lies beyond the front
    let last = snapshot("running", 3, vec![task("y", "INSTALL", 3, "complete", 0)]);
    assert!(on_front(&last));
    assert_eq!(
        decide(&last, 1000, POLICY).job_status.as_deref(),
        Some("complete")
    );
    // a retry with attempts left needs only the current stage
    let retry = snapshot(
        "running",
        0,
        vec![
            task("a", "CREATE", 0, "failed", 1),
            task("b", "CONFIRM", 1, "not_submitted", 0),
        ],
    );
    assert!(on_front(&retry));
    assert_eq!(decide(&retry, 1000, POLICY).enqueue[0].task_id, "a");
}

#[test]
fn a_step_that_needs_more_than_the_front_asks_for_the_whole_job() {
    let base = || {
        vec![
            task("a", "CREATE", 0, "complete", 0),
            task("b", "CONFIRM", 1, "not_submitted", 0),
            task("x", "BOOTSTRAP", 2, "not_submitted", 0),
        ]
    };
    // out of attempts: every waiting task of every stage drops
    let mut tasks = base();
    tasks[1] = task("b", "CONFIRM", 1, "failed", 3);
    assert!(!on_front(&snapshot("running", 1, tasks)));
    // a CONFIRM to roll back: later stages move down
    let mut tasks = base();
    tasks[1] = task("b", "CONFIRM", 1, "failed", 1);
    assert!(!on_front(&snapshot("running", 1, tasks.clone())));
    // a failed job
    assert!(!on_front(&snapshot("failed", 1, tasks)));
    // the next stage is complete already (a resumed job): the stage after it is not in the front
    let mut tasks = base();
    tasks[1].status = "complete".into();
    let resumed = snapshot("running", 0, tasks);
    assert!(!on_front(&resumed));
    let c = decide(&resumed, 1000, POLICY);
    assert_eq!(c.current_stage, Some(2));
    assert_eq!(c.enqueue[0].task_id, "x");
}
