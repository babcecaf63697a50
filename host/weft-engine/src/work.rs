//! Handing tasks to workers and taking their reports.
//!
//! Takes and finishes are coalesced (`coalesce.rs`): the calls that arrive together form a
//! batch, whose reports are applied and whose takes are claimed in one store transaction, the
//! reports first (an embedded slot sends both at once: `finish_and_take`). A take claims tasks (their attempts are
//! written in the same transaction) and builds what each worker needs: the task in Coopr's
//! shape, the plugin versions with their approved grants, the sensitive fields (only now, never
//! in the queue) and, for tasks on a reachable node, the node's SSH endpoint with the cluster
//! key. What a batch looks up in the catalog it looks up once ([`Memo`]). What a stage of a job
//! sees of its cluster (its body, its nodes for macros and for the task's `nodes`, its key and
//! sealed fields) is read once per stage and shared by the stage's tasks ([`ClusterView`]): the
//! stage barrier keeps every task whose results a stage uses in an earlier stage, and a node
//! changes its properties only by its own task's success. The task's own node is read fresh,
//! for the results of its failed attempts. A task that cannot run at all (no plugin, a macro
//! that cannot expand) fails on the spot and its slot takes the next one.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use tokio::sync::oneshot;
use weft_model::{
    EntityKind, NodeProperties, ParameterRole, PluginKind, PluginRef, PluginStatus, PluginTypeSpec,
    PoolTarget, ResourceRef, Service, SshEndpoint, TaskAssignment, TaskReport, TaskService,
};
use weft_store::{AttemptEnd, ClaimGroup, ClaimedJobTask, ClusterRow, FinishInput, JobTaskRow};

use crate::coalesce::Coalescer;
use crate::create::key_context;
use crate::model::{ClusterBody, NodeBody, parse, to_json};
use crate::pools::{POOL_FIELD, POOL_TASK_FIELD};
use crate::{Engine, EngineError, now_ms};

/// Who takes: one slot of one worker process, limited to one tenant or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerIdentity {
    /// Unique per slot: `provisioner/slot`.
    pub worker: String,
    pub tenant_id: Option<String>,
}

/// What became of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finished {
    Accepted,
    /// The lease expired or the task was failed by the janitor: the report is dropped (417).
    LeaseLost,
}

/// A JSON value as plugin input text: strings as themselves, anything else as JSON.
pub(crate) fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The provider field carrying the cluster's public SSH key (`authorized_keys` form).
pub const SSH_PUBLIC_KEY_FIELD: &str = "weft-ssh-public-key";

/// Why a claimed task cannot be handed out.
struct Unrunnable(String);

pub(crate) struct TakeRequest {
    who: WorkerIdentity,
    reply: oneshot::Sender<Result<Option<TaskAssignment>, EngineError>>,
}

pub(crate) struct FinishRequest {
    who: WorkerIdentity,
    report: TaskReport,
    /// None for the engine's own reports (a task that could not be handed out).
    reply: Option<oneshot::Sender<Result<Finished, EngineError>>>,
}

/// A call to the engine's hot path.
pub(crate) enum WorkRequest {
    Take(TakeRequest),
    Finish(FinishRequest),
    /// A slot's report and its next take: in one batch, so in one transaction.
    Cycle(FinishRequest, TakeRequest),
}

/// The engine's coalesced calls: the takes and finishes that arrive together are one batch
/// and one store transaction (finishes first, then claims).
#[derive(Default)]
pub(crate) struct Batches {
    work: Coalescer<WorkRequest>,
    /// What the last batch looked up, for the next.
    lookups: KeptLookups,
}

/// Takes limited alike (to one tenant, or not), claimed together.
type TakeGroup = (Option<String>, Vec<TakeRequest>);

/// What became of a group's takes once its claims were answered.
struct Answered {
    /// Takes whose task could not run (it failed on the spot): they claim again.
    retry: Vec<TakeRequest>,
    /// Those tasks' failure reports.
    failed: Vec<FinishRequest>,
    /// Takes that got no claim, not answered yet.
    unclaimed: Vec<TakeRequest>,
}

/// What one stage of a job sees of its cluster; shared by the stage's tasks.
pub(crate) struct ClusterView {
    cluster: ClusterRow,
    body: ClusterBody,
    nodes: Arc<BTreeMap<String, NodeProperties>>,
    macro_nodes: Vec<weft_expand::Node>,
    /// Public key and sealed private key.
    key: Option<(String, String)>,
    /// Sealed sensitive fields.
    sensitive: Option<String>,
}

/// A stage of a job: (job id, stage number).
type Stage = (String, i64);

/// A task's view of a machine pool (the `weft-pool` field) and its machines as SSH targets, or
/// why the task cannot use the pool.
type PoolForTask = Result<(String, Vec<PoolTarget>), String>;

/// The views in use, by cluster; each is for one (job, stage) and is replaced by the next.
#[derive(Default)]
pub(crate) struct Views {
    map: Mutex<HashMap<String, (Stage, Arc<ClusterView>)>>,
}

/// Views kept at most; past that the cache starts again (each costs a read of a cluster).
const MAX_VIEWS: usize = 256;

impl Views {
    fn get(&self, cluster: &str, stage: &Stage) -> Option<Arc<ClusterView>> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(cluster)
            .filter(|(key, _)| key == stage)
            .map(|(_, view)| view.clone())
    }

    fn put(&self, cluster: &str, stage: Stage, view: Arc<ClusterView>) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_VIEWS && !map.contains_key(cluster) {
            map.clear();
        }
        map.insert(cluster.to_string(), (stage, view));
    }
}

/// How long a batch's lookups of the catalog, plugins and resources are kept at most: a
/// change this store did not make (another server's) is seen within this.
const KEEP_LOOKUPS_FOR: Duration = Duration::from_secs(1);

/// Lookups kept from one batch to the next while the store has ended no write to what they
/// looked up (its [`weft_store::Store::catalog_version`] holds), and for [`KEEP_LOOKUPS_FOR`]
/// at most from the first of them; a pool's machines are looked up again by each batch.
#[derive(Default)]
pub(crate) struct KeptLookups {
    kept: Mutex<Option<(u64, Instant, Memo)>>,
}

impl KeptLookups {
    /// The lookups still good at catalog `version`, with when the first of them was made (now,
    /// when none are).
    fn take(&self, version: u64) -> (Memo, Instant) {
        let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner()).take();
        match kept {
            Some((kept_at, since, memo))
                if kept_at == version && since.elapsed() < KEEP_LOOKUPS_FOR =>
            {
                (
                    Memo {
                        pools: BTreeMap::new(),
                        ..memo
                    },
                    since,
                )
            }
            _ => (Memo::default(), Instant::now()),
        }
    }

    fn keep(&self, version: u64, since: Instant, memo: Memo) {
        *self.kept.lock().unwrap_or_else(|e| e.into_inner()) = Some((version, since, memo));
    }
}

/// What one batch of takes has looked up, each thing once.
#[derive(Default)]
struct Memo {
    plugin_types: BTreeMap<(String, &'static str, String), Option<PluginTypeSpec>>,
    plugins: BTreeMap<(String, String, PluginKind), Result<PluginRef, String>>,
    services: BTreeMap<(String, String), Option<Service>>,
    resources: BTreeMap<(String, PluginKind, String), Vec<ResourceRef>>,
    pools: BTreeMap<(String, String), PoolForTask>,
}

fn stopped() -> EngineError {
    EngineError::Internal("the engine stopped handing out and taking back tasks".into())
}

/// The report of a task that could not be handed out.
fn unrunnable_report(claimed: &ClaimedJobTask, why: String, now: i64) -> TaskReport {
    TaskReport {
        task_id: claimed.task.id.clone(),
        attempt: claimed.attempt,
        status: 1,
        stderr: why.clone(),
        log: vec![weft_model::TaskLogLine {
            at: now,
            level: "error".into(),
            line: why,
        }],
        ..TaskReport::default()
    }
}

/// Whether the report has anything to merge into its node's body ([`merge_report`]).
fn changes_node(report: &TaskReport) -> bool {
    !report.result.is_empty()
        || !report.host_keys.is_empty()
        || (report.status == 0 && (!report.ipaddresses.is_empty() || report.hostname.is_some()))
}

/// The node's body with the report merged in, or `None` when the report changes nothing.
/// Results merge for failures too (Coopr); addresses and hostname only on success.
fn merge_report(report: &TaskReport, body: &str) -> Option<String> {
    if !changes_node(report) {
        return None;
    }
    let success = report.status == 0;
    let mut body: NodeBody = parse("node", body).ok()?;
    for (k, v) in &report.result {
        body.provisioner_results.insert(k.clone(), v.clone());
    }
    if let Some(key) = report.host_keys.values().next() {
        body.provisioner_results
            .insert("ssh_host_key".into(), Value::String(key.clone()));
    }
    if success {
        for (k, v) in &report.ipaddresses {
            body.properties.ipaddresses.insert(k.clone(), v.clone());
        }
        if let Some(hostname) = &report.hostname {
            body.properties.hostname = hostname.clone();
        }
    }
    Some(to_json(&body))
}

impl Engine {
    /// The next task for `who`, or `None` when nothing is ready for it. Concurrent takes are
    /// claimed together.
    pub async fn take(&self, who: &WorkerIdentity) -> Result<Option<TaskAssignment>, EngineError> {
        let (reply, answer) = oneshot::channel();
        self.send_work(WorkRequest::Take(TakeRequest {
            who: who.clone(),
            reply,
        }))?;
        answer.await.map_err(|_| stopped())?
    }

    /// Takes a worker's report; the job moves on. Concurrent reports are applied together.
    pub async fn finish(
        &self,
        who: &WorkerIdentity,
        report: &TaskReport,
    ) -> Result<Finished, EngineError> {
        let (reply, answer) = oneshot::channel();
        self.send_work(WorkRequest::Finish(FinishRequest {
            who: who.clone(),
            report: report.clone(),
            reply: Some(reply),
        }))?;
        answer.await.map_err(|_| stopped())?
    }

    /// [`Engine::finish`] then [`Engine::take`] for the same slot, in one transaction with the
    /// other calls of its batch: an embedded worker's slot reports and takes its next task for
    /// one commit. Answers the report's fate and the next task apart: a report on record stays
    /// so when the take fails.
    pub async fn finish_and_take(
        &self,
        who: &WorkerIdentity,
        report: &TaskReport,
    ) -> (
        Result<Finished, EngineError>,
        Result<Option<TaskAssignment>, EngineError>,
    ) {
        let (finish_reply, finished) = oneshot::channel();
        let (take_reply, taken) = oneshot::channel();
        let request = WorkRequest::Cycle(
            FinishRequest {
                who: who.clone(),
                report: report.clone(),
                reply: Some(finish_reply),
            },
            TakeRequest {
                who: who.clone(),
                reply: take_reply,
            },
        );
        if let Err(e) = self.send_work(request) {
            return (Err(e), Err(stopped()));
        }
        let finished = finished.await.map_err(|_| stopped()).and_then(|r| r);
        let taken = taken.await.map_err(|_| stopped()).and_then(|r| r);
        (finished, taken)
    }

    fn send_work(&self, request: WorkRequest) -> Result<(), EngineError> {
        self.batches
            .work
            .send(request, || {
                let engine = self.detached();
                move |batch| {
                    let engine = engine.clone();
                    async move { engine.work_batch(batch).await }
                }
            })
            .map_err(|_| stopped())
    }

    /// One batch: its reports applied and its takes claimed in one transaction, then each
    /// answered. A claimed task that cannot run fails on the spot and its slot claims again,
    /// with that failure, in the next transaction.
    async fn work_batch(&self, batch: Vec<WorkRequest>) {
        let mut finishes = Vec::new();
        let mut takes: BTreeMap<Option<String>, Vec<TakeRequest>> = BTreeMap::new();
        let mut take = |request: TakeRequest| {
            takes
                .entry(request.who.tenant_id.clone())
                .or_default()
                .push(request)
        };
        for request in batch {
            match request {
                WorkRequest::Take(t) => take(t),
                WorkRequest::Finish(f) => finishes.push(f),
                WorkRequest::Cycle(f, t) => {
                    finishes.push(f);
                    take(t);
                }
            }
        }
        let mut groups: Vec<TakeGroup> = takes.into_iter().collect();
        let version = self.store.catalog_version();
        let (mut memo, since) = self.batches.lookups.take(version);
        // takes that found nothing claim once more after a step that queued tasks (a stage
        // just ended): the slots that ended it go on with the next at once
        let mut retook = false;
        while !finishes.is_empty() || !groups.is_empty() {
            let now = now_ms();
            let (answers, claims, advance) = match self.apply(&finishes, &groups, now).await {
                Ok(done) => done,
                Err(e) => {
                    let message = e.to_string();
                    let error = || EngineError::Internal(message.clone());
                    for request in finishes {
                        if let Some(reply) = request.reply {
                            let _ = reply.send(Err(error()));
                        }
                    }
                    for request in groups.into_iter().flat_map(|(_, requests)| requests) {
                        let _ = request.reply.send(Err(error()));
                    }
                    return;
                }
            };
            let mut failed = Vec::new();
            let mut again: BTreeMap<Option<String>, Vec<TakeRequest>> = BTreeMap::new();
            let mut unclaimed = Vec::new();
            for ((tenant, requests), claimed) in groups.into_iter().zip(claims) {
                let answered = self.answer_claims(requests, claimed, now, &mut memo).await;
                failed.extend(answered.failed);
                again
                    .entry(tenant.clone())
                    .or_default()
                    .extend(answered.retry);
                unclaimed.push((tenant, answered.unclaimed));
            }
            // the reports are on record; a step that fails now is taken by the janitor's
            // sweep. A report is answered after its job's step: the job has moved on.
            let mut queued = false;
            for job in &advance {
                match self.advance_job(job).await {
                    Ok(more) => queued |= more,
                    Err(e) => {
                        tracing::warn!(%job, error = %e, "a scheduling step failed; the janitor retries it")
                    }
                }
            }
            for (request, answer) in finishes.into_iter().zip(answers) {
                if let Some(reply) = request.reply {
                    let _ = reply.send(Ok(answer));
                }
            }
            for (tenant, requests) in unclaimed {
                if queued && !retook {
                    again.entry(tenant).or_default().extend(requests);
                } else {
                    for request in requests {
                        let _ = request.reply.send(Ok(None));
                    }
                }
            }
            retook |= queued;
            finishes = failed;
            groups = again.into_iter().filter(|(_, r)| !r.is_empty()).collect();
        }
        self.batches.lookups.keep(version, since, memo);
    }

    /// Answers each take of a group that got a claim with its task.
    async fn answer_claims(
        &self,
        requests: Vec<TakeRequest>,
        claimed: Vec<ClaimedJobTask>,
        now: i64,
        memo: &mut Memo,
    ) -> Answered {
        let mut again = Vec::new();
        let mut failed = Vec::new();
        let mut own_nodes = HashMap::new();
        for claim in &claimed {
            if let Some(body) = &claim.node_body {
                match parse::<NodeBody>("node", body) {
                    Ok(node) => {
                        own_nodes.insert(claim.task.node_id.clone(), node);
                    }
                    Err(e) => {
                        tracing::warn!(node = %claim.task.node_id, error = %e, "a node's body does not parse")
                    }
                }
            }
        }
        // each claim names the worker slot it is for
        let mut requests: Vec<Option<TakeRequest>> = requests.into_iter().map(Some).collect();
        for claim in &claimed {
            let Some(request) = requests
                .iter_mut()
                .find(|r| r.as_ref().is_some_and(|r| r.who.worker == claim.worker))
                .and_then(Option::take)
            else {
                tracing::error!(task = %claim.task.id, worker = %claim.worker, "a claim for no waiting take; its lease expires");
                continue;
            };
            match self.assignment(claim, &own_nodes, memo).await {
                Ok(Ok(assignment)) => {
                    let _ = request.reply.send(Ok(Some(assignment)));
                }
                Ok(Err(Unrunnable(why))) => {
                    tracing::warn!(task = %claim.task.id, %why, "task cannot run");
                    failed.push(FinishRequest {
                        who: request.who.clone(),
                        report: unrunnable_report(claim, why, now),
                        reply: None,
                    });
                    again.push(request);
                }
                Err(e) => {
                    let _ = request.reply.send(Err(e));
                }
            }
        }
        Answered {
            retry: again,
            failed,
            unclaimed: requests.into_iter().flatten().collect(),
        }
    }

    /// Applies `finishes` and claims for `groups` in one transaction (tried once more on a
    /// failure: it wrote nothing, and a passing conflict, another replica's batch on the same
    /// job, clears on its own), then quarantines what the reports ask. Answers each report's
    /// fate, each group's claims, and the jobs that need a scheduling step.
    async fn apply(
        &self,
        finishes: &[FinishRequest],
        groups: &[TakeGroup],
        now: i64,
    ) -> Result<(Vec<Finished>, Vec<Vec<ClaimedJobTask>>, Vec<String>), EngineError> {
        let ends: Vec<AttemptEnd> = finishes
            .iter()
            .map(|f| AttemptEnd {
                success: f.report.status == 0,
                stdout: f.report.stdout.clone(),
                stderr: f.report.stderr.clone(),
                log: f
                    .report
                    .log
                    .iter()
                    .map(|l| (l.at, l.level.clone(), l.line.clone()))
                    .collect(),
            })
            .collect();
        let inputs: Vec<FinishInput<'_>> = finishes
            .iter()
            .zip(&ends)
            .map(|(f, end)| FinishInput {
                worker: &f.who.worker,
                task_id: &f.report.task_id,
                attempt: f.report.attempt,
                end,
                changes_node: changes_node(&f.report),
            })
            .collect();
        let workers: Vec<Vec<String>> = groups
            .iter()
            .map(|(_, requests)| requests.iter().map(|r| r.who.worker.clone()).collect())
            .collect();
        let claim_groups: Vec<ClaimGroup<'_>> = groups
            .iter()
            .zip(&workers)
            .map(|((tenant, _), workers)| ClaimGroup {
                tenant_id: tenant.as_deref(),
                workers,
            })
            .collect();
        let merge = |i: usize, body: &str| merge_report(&finishes[i].report, body);
        let lease = self.config.lease.as_millis() as i64;
        let (outcome, claims) = match self
            .store
            .finish_and_claim(&inputs, &claim_groups, now, now + lease, merge)
            .await
        {
            Ok(done) => done,
            Err(e) => {
                tracing::warn!(error = %e, reports = inputs.len(), takes = workers.iter().map(Vec::len).sum::<usize>(), "a batch failed; trying once more");
                let now = now_ms();
                self.store
                    .finish_and_claim(&inputs, &claim_groups, now, now + lease, merge)
                    .await?
            }
        };
        let mut answers = Vec::with_capacity(finishes.len());
        for (finish, result) in finishes.iter().zip(&outcome.results) {
            match result {
                Ok(done) => {
                    if let Some((name, version)) = &finish.report.quarantine {
                        self.quarantine(&done.tenant_id, name, *version).await;
                    }
                    answers.push(Finished::Accepted);
                }
                Err(_) => answers.push(Finished::LeaseLost),
            }
        }
        Ok((answers, claims, outcome.advance))
    }

    /// What a task's stage sees of its cluster: from the cache, or read now.
    async fn view(&self, task: &JobTaskRow) -> Result<Arc<ClusterView>, EngineError> {
        let stage = (task.job_id.clone(), task.stage);
        // the reconciler's tasks have no job: their view is read fresh and not kept
        let cached = !task.job_id.is_empty();
        if cached && let Some(view) = self.views.get(&task.cluster_id, &stage) {
            return Ok(view);
        }
        let cluster = self
            .store
            .get_cluster(&task.tenant_id, &task.cluster_id)
            .await?
            .ok_or_else(|| EngineError::Internal(format!("task {} has no cluster", task.id)))?;
        let body: ClusterBody = parse("cluster", &cluster.body)?;
        let mut nodes = BTreeMap::new();
        let mut macro_nodes = Vec::new();
        for row in self.store.cluster_nodes(&task.cluster_id).await? {
            let node: NodeBody = parse("node", &row.body)?;
            macro_nodes.push(weft_expand::Node {
                id: row.id.clone(),
                nodenum: node.properties.nodenum,
                hostname: Some(node.properties.hostname.clone()),
                ipaddresses: node.properties.ipaddresses.clone(),
                services: node.properties.services.clone(),
            });
            nodes.insert(row.id, node.properties);
        }
        let view = Arc::new(ClusterView {
            key: self.store.cluster_key(&task.cluster_id).await?,
            sensitive: self.store.sensitive_fields(&task.cluster_id).await?,
            cluster,
            body,
            nodes: Arc::new(nodes),
            macro_nodes,
        });
        if cached {
            self.views.put(&task.cluster_id, stage, view.clone());
        }
        Ok(view)
    }

    /// The assignment of a task outside any job (the reconciler's LIST and DELETE): built as a
    /// claimed task's would be, for `node` of the cluster.
    pub(crate) async fn jobless_assignment(
        &self,
        task: JobTaskRow,
        node: &weft_store::NodeRow,
    ) -> Result<Result<TaskAssignment, String>, EngineError> {
        let claimed = ClaimedJobTask {
            task,
            attempt: 0,
            lease_until: now_ms() + self.config.lease.as_millis() as i64,
            worker: String::new(),
            node_body: Some(node.body.clone()),
        };
        let own = HashMap::from([(node.id.clone(), parse::<NodeBody>("node", &node.body)?)]);
        Ok(self
            .assignment(&claimed, &own, &mut Memo::default())
            .await?
            .map_err(|Unrunnable(why)| why))
    }

    async fn assignment(
        &self,
        claimed: &ClaimedJobTask,
        own_nodes: &HashMap<String, NodeBody>,
        memo: &mut Memo,
    ) -> Result<Result<TaskAssignment, Unrunnable>, EngineError> {
        let task = &claimed.task;
        let tenant = task.tenant_id.as_str();
        let view = self.view(task).await?;
        let body = &view.body;
        let Some(node) = own_nodes.get(&task.node_id) else {
            return Ok(Err(Unrunnable(format!(
                "node {} is not part of the cluster",
                task.node_id
            ))));
        };
        let provider_spec = self
            .plugin_type(
                memo,
                tenant,
                EntityKind::Providertypes,
                &body.provider.providertype,
            )
            .await?;
        let sensitive_names: Vec<String> = provider_spec
            .as_ref()
            .map(|spec| {
                [ParameterRole::Admin, ParameterRole::User]
                    .into_iter()
                    .flat_map(|role| spec.parameters_for(role).fields.into_iter())
                    .filter(|(_, f)| f.sensitive)
                    .map(|(name, _)| name)
                    .collect()
            })
            .unwrap_or_default();

        let is_provider_task = matches!(task.task_name.as_str(), "CREATE" | "CONFIRM" | "DELETE");
        let mut service = None;
        let plugin_names: Vec<(String, PluginKind)> = if is_provider_task {
            vec![(body.provider.providertype.clone(), PluginKind::Provider)]
        } else if task.task_name == "BOOTSTRAP" {
            node.properties
                .automators
                .iter()
                .map(|a| (a.clone(), PluginKind::Automator))
                .collect()
        } else {
            let Some(definition) = self.service(memo, tenant, &task.service).await? else {
                return Ok(Err(Unrunnable(format!(
                    "service '{}' is no longer in the catalog",
                    task.service
                ))));
            };
            let action_name = task.task_name.to_lowercase();
            let Some(action) = definition.provisioner.actions.get(&action_name) else {
                return Ok(Err(Unrunnable(format!(
                    "service '{}' has no {action_name} action",
                    task.service
                ))));
            };
            service = Some(TaskService {
                name: task.service.clone(),
                fields: action.fields.clone(),
            });
            vec![(action.automator_type.clone(), PluginKind::Automator)]
        };
        let mut plugins = Vec::new();
        for (name, kind) in plugin_names {
            match self.plugin_ref(memo, tenant, &name, kind).await? {
                Ok(plugin) => plugins.push(plugin),
                Err(why) => return Ok(Err(Unrunnable(why))),
            }
        }

        // the cluster config, macros expanded for this node (service tasks)
        let config = if is_provider_task || task.task_name == "BOOTSTRAP" {
            body.config.clone()
        } else {
            let scope = weft_expand::Cluster {
                nodes: &view.macro_nodes,
                owner: &view.cluster.owner,
                this_node: Some(&task.node_id),
            };
            match weft_expand::expand_value(&Value::Object(body.config.clone()), &scope) {
                Ok(Value::Object(map)) => map,
                Ok(_) => Map::new(),
                Err(e) => {
                    return Ok(Err(Unrunnable(format!(
                        "Exception while expanding macros: {e}"
                    ))));
                }
            }
        };

        let mut provider_fields: BTreeMap<String, String> = BTreeMap::new();
        let mut secrets: BTreeMap<String, String> = BTreeMap::new();
        // sensitive fields reach only provider tasks, and only as secrets
        for (name, value) in &body.provider.provisioner {
            if !sensitive_names.contains(name) {
                provider_fields.insert(name.clone(), text(value));
            } else if is_provider_task {
                secrets.insert(name.clone(), text(value));
            }
        }
        if is_provider_task && let Some(sealed) = &view.sensitive {
            for (name, value) in self.open_fields(&task.cluster_id, sealed)? {
                secrets.insert(name, text(&value));
            }
        }
        // a provider puts the cluster's public key on the machines it creates (the private
        // half stays sealed on the host)
        if is_provider_task && let Some((public, _)) = &view.key {
            provider_fields.insert(SSH_PUBLIC_KEY_FIELD.into(), public.clone());
        }
        for (key, value) in [
            ("weft-tenant", tenant.to_string()),
            ("weft-cluster", task.cluster_id.clone()),
            ("weft-node", task.node_id.clone()),
            ("weft-attempt", claimed.attempt.to_string()),
        ] {
            provider_fields.insert(key.into(), value);
        }

        let prior_results = node
            .provisioner_results
            .iter()
            .map(|(k, v)| (k.clone(), text(v)))
            .collect();
        // a provider that draws from a pool gets the pool's machines as SSH targets
        let mut pool = Vec::new();
        if is_provider_task
            && plugins.iter().any(|p| p.grants.ssh)
            && let Some(name) = body
                .provider
                .provisioner
                .get(POOL_FIELD)
                .and_then(Value::as_str)
        {
            match self.pool(memo, tenant, name).await? {
                Ok((view, targets)) => {
                    provider_fields.insert(POOL_TASK_FIELD.into(), view);
                    pool = targets;
                }
                Err(why) => return Ok(Err(Unrunnable(why))),
            }
        }
        let mut resources = Vec::new();
        for plugin in &plugins {
            resources.extend(self.resources(memo, tenant, plugin).await?);
        }
        let ssh = self.ssh_endpoint(&view, node, &plugins)?;
        Ok(Ok(TaskAssignment {
            task_id: task.id.clone(),
            job_id: task.job_id.clone(),
            cluster_id: task.cluster_id.clone(),
            tenant_id: tenant.into(),
            task_name: task.task_name.clone(),
            node_id: task.node_id.clone(),
            attempt: claimed.attempt,
            lease_until: claimed.lease_until,
            nodes: view.nodes.clone(),
            config,
            provider_fields,
            service,
            prior_results,
            plugins,
            secrets,
            ssh,
            pool,
            resources,
        }))
    }

    /// The node's SSH endpoint, when a plugin of the task may use SSH and the node has an
    /// address: `ipaddresses.access_v4` and the port in result `ssh_port` (default 22), the
    /// pinned key from result `ssh_host_key`.
    fn ssh_endpoint(
        &self,
        view: &ClusterView,
        node: &NodeBody,
        plugins: &[PluginRef],
    ) -> Result<Option<SshEndpoint>, EngineError> {
        if !plugins.iter().any(|p| p.grants.ssh) {
            return Ok(None);
        }
        let Some(host) = node.properties.ipaddresses.get("access_v4") else {
            return Ok(None);
        };
        let port = node
            .provisioner_results
            .get("ssh_port")
            .and_then(|v| {
                v.as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            })
            .unwrap_or(22);
        let Some((_, sealed)) = &view.key else {
            return Ok(None);
        };
        let private = self
            .vault
            .open_string(&key_context(&view.cluster.id), sealed)?;
        Ok(Some(SshEndpoint {
            user: node
                .properties
                .sshuser
                .clone()
                .unwrap_or_else(|| "root".into()),
            address: format!("{host}:{port}"),
            host_key: node
                .provisioner_results
                .get("ssh_host_key")
                .and_then(Value::as_str)
                .map(String::from),
            private_key: private.to_string(),
        }))
    }

    /// The latest version of the plugin named `name`: the tenant's own, or else the global one.
    async fn plugin_ref(
        &self,
        memo: &mut Memo,
        tenant: &str,
        name: &str,
        kind: PluginKind,
    ) -> Result<Result<PluginRef, String>, EngineError> {
        let key = (tenant.to_string(), name.to_string(), kind);
        if let Some(found) = memo.plugins.get(&key) {
            return Ok(found.clone());
        }
        let found = self.find_plugin(tenant, name, kind).await?;
        memo.plugins.insert(key, found.clone());
        Ok(found)
    }

    async fn find_plugin(
        &self,
        tenant: &str,
        name: &str,
        kind: PluginKind,
    ) -> Result<Result<PluginRef, String>, EngineError> {
        let Some(record) = self
            .store
            .get_plugin_own_or(tenant, &self.superadmin_tenant_id, name)
            .await?
        else {
            return Ok(Err(format!(
                "no plugin component is registered for type '{name}'"
            )));
        };
        if record.kind != kind {
            return Ok(Err(format!(
                "plugin '{name}' is a {}, not a {}",
                record.kind.as_str(),
                kind.as_str()
            )));
        }
        if record.status != PluginStatus::Active {
            return Ok(Err(format!(
                "plugin '{name}' version {} is {}",
                record.version,
                record.status.as_str()
            )));
        }
        Ok(Ok(PluginRef {
            name: record.name,
            version: record.version,
            digest: record.digest,
            kind,
            grants: record.approved,
        }))
    }

    async fn plugin_type(
        &self,
        memo: &mut Memo,
        tenant: &str,
        kind: EntityKind,
        name: &str,
    ) -> Result<Option<PluginTypeSpec>, EngineError> {
        let key = (tenant.to_string(), kind.as_str(), name.to_string());
        if let Some(found) = memo.plugin_types.get(&key) {
            return Ok(found.clone());
        }
        let found = self
            .store
            .get_entity_own_or(tenant, &self.superadmin_tenant_id, kind, name)
            .await?
            .and_then(|stored| serde_json::from_value(stored.to_json()).ok());
        memo.plugin_types.insert(key, found.clone());
        Ok(found)
    }

    async fn service(
        &self,
        memo: &mut Memo,
        tenant: &str,
        name: &str,
    ) -> Result<Option<Service>, EngineError> {
        let key = (tenant.to_string(), name.to_string());
        if let Some(found) = memo.services.get(&key) {
            return Ok(found.clone());
        }
        let found = match self
            .store
            .get_entity(tenant, EntityKind::Services, name, None)
            .await
        {
            Ok(stored) => serde_json::from_value(stored.to_json()).ok(),
            Err(weft_store::StoreError::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        };
        memo.services.insert(key, found.clone());
        Ok(found)
    }

    async fn resources(
        &self,
        memo: &mut Memo,
        tenant: &str,
        plugin: &PluginRef,
    ) -> Result<Vec<ResourceRef>, EngineError> {
        let key = (tenant.to_string(), plugin.kind, plugin.name.clone());
        if let Some(found) = memo.resources.get(&key) {
            return Ok(found.clone());
        }
        let found = self
            .store
            .live_resources(tenant, plugin.kind, &plugin.name)
            .await?;
        memo.resources.insert(key, found.clone());
        Ok(found)
    }

    async fn pool(
        &self,
        memo: &mut Memo,
        tenant: &str,
        name: &str,
    ) -> Result<PoolForTask, EngineError> {
        let key = (tenant.to_string(), name.to_string());
        if let Some(found) = memo.pools.get(&key) {
            return Ok(found.clone());
        }
        let found = self.pool_for_task(tenant, name).await?;
        memo.pools.insert(key, found.clone());
        Ok(found)
    }

    /// Keeps a worker's lease on a task.
    pub async fn heartbeat(
        &self,
        who: &WorkerIdentity,
        task_id: &str,
    ) -> Result<bool, EngineError> {
        let now = now_ms();
        let until = now + self.config.lease.as_millis() as i64;
        Ok(self
            .store
            .heartbeat_job_task(&who.worker, task_id, now, until)
            .await?
            .is_ok())
    }

    /// Appends streamed log lines to a running attempt.
    pub async fn append_log(
        &self,
        task_id: &str,
        attempt: i64,
        first_seq: i64,
        lines: &[weft_model::TaskLogLine],
    ) -> Result<(), EngineError> {
        let rows: Vec<(i64, String, String)> = lines
            .iter()
            .map(|l| (l.at, l.level.clone(), l.line.clone()))
            .collect();
        self.store
            .append_task_log(task_id, attempt, first_seq, &rows)
            .await?;
        Ok(())
    }

    /// Marks a plugin version quarantined, wherever it is registered.
    async fn quarantine(&self, tenant: &str, name: &str, version: i64) {
        for owner in [tenant, self.superadmin_tenant_id.as_str()] {
            if self
                .store
                .set_plugin_status(owner, name, version, PluginStatus::Quarantined)
                .await
                .is_ok()
            {
                tracing::warn!(
                    plugin = name,
                    version,
                    "plugin quarantined after repeated traps"
                );
                return;
            }
        }
    }
}
