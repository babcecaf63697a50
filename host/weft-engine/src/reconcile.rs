//! The reconciler's side in the engine: which clusters to sweep, the LIST task that asks a
//! provider what it holds for one, and which of the listed machines no node owns.
//!
//! A provider tags every machine with `weft-tenant`, `weft-cluster`, `weft-node` and
//! `weft-attempt` (its CREATE task's fields). Adoption by those tags keeps a retry or a
//! restart from making a second machine; the reconciler deletes what adoption could not
//! prevent: a second machine a crash left for one node, a machine of a node that no longer
//! exists, anything left of a terminated cluster. It sweeps only settled clusters (the latest
//! job ended and none of its tasks is queued or running), so it never races a CREATE.
//!
//! A machine is deleted only when its tags name this tenant and this cluster, and then only
//! when the cluster is terminated, its node is not in the cluster, or its node recorded
//! another machine as its `providerid`. A node that recorded none keeps whatever is tagged
//! for it: nothing tells which machine it would have adopted. The deletes are the provider's
//! own DELETE, with the listed machine as the node's `providerid`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use weft_model::{ClusterStatus, JobStatus, TaskAssignment};
use weft_store::{JobTaskRow, NodeRow};

use crate::model::{NodeBody, parse};
use crate::work::text;
use crate::{Engine, EngineError, now_ms};

/// The task name of a provider's listing (`weft:plugin@0.2.0`'s inventory). Never queued.
pub const LIST_TASK: &str = "LIST";
/// The result key of a LIST: a JSON array of [`ListedMachine`].
pub const MACHINES_RESULT: &str = "machines";
/// The node result a provider's CREATE names its machine in.
pub const PROVIDER_ID_RESULT: &str = "providerid";

/// A machine a provider listed: its id and the tags it carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedMachine {
    pub id: String,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

impl ListedMachine {
    fn tag(&self, name: &str) -> Option<&str> {
        self.tags.get(name).map(String::as_str)
    }
}

/// A cluster to sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettledCluster {
    pub tenant_id: String,
    pub cluster_id: String,
    pub status: String,
}

/// A listed machine no node owns, with the DELETE that removes it.
#[derive(Debug, Clone)]
pub struct Orphan {
    pub machine: ListedMachine,
    /// Why it is an orphan, for the log.
    pub why: String,
    pub delete: TaskAssignment,
}

/// The machines of `listed` that no node of a settled cluster owns, and why. `owners` maps each
/// node of the cluster to the machine it recorded, if any.
pub(crate) fn orphaned<'a>(
    tenant: &str,
    cluster: &str,
    terminated: bool,
    owners: &BTreeMap<String, Option<String>>,
    listed: &'a [ListedMachine],
) -> Vec<(&'a ListedMachine, String)> {
    listed
        .iter()
        // only what is tagged for this tenant's cluster is ours to judge
        .filter(|m| m.tag("weft-tenant") == Some(tenant) && m.tag("weft-cluster") == Some(cluster))
        .filter_map(|m| {
            let node = m.tag("weft-node").unwrap_or_default();
            let why = if terminated {
                "its cluster is terminated".to_string()
            } else {
                match owners.get(node) {
                    None => format!("node '{node}' is not in the cluster"),
                    Some(Some(owned)) if *owned != m.id => {
                        format!("node '{node}' owns machine '{owned}'")
                    }
                    // the node's machine, or a node that recorded none: kept
                    Some(_) => return None,
                }
            };
            Some((m, why))
        })
        .collect()
}

/// The listing a LIST task's report carries.
pub fn listed_machines(
    result: &serde_json::Map<String, Value>,
) -> Result<Vec<ListedMachine>, String> {
    let value = result
        .get(MACHINES_RESULT)
        .ok_or_else(|| format!("the listing has no '{MACHINES_RESULT}' result"))?;
    // a result arrives as JSON text or as the JSON it parses to
    let parsed = match value {
        Value::String(text) => serde_json::from_str(text),
        other => serde_json::from_value(other.clone()),
    };
    parsed.map_err(|e| format!("the listing's '{MACHINES_RESULT}' is not a list of machines: {e}"))
}

impl Engine {
    /// Clusters whose latest job settled at or after `since`, oldest first.
    pub async fn settled_clusters(&self, since: i64) -> Result<Vec<SettledCluster>, EngineError> {
        Ok(self
            .store
            .settled_clusters(since)
            .await?
            .into_iter()
            .map(|(tenant_id, cluster_id, status)| SettledCluster {
                tenant_id,
                cluster_id,
                status,
            })
            .collect())
    }

    /// The cluster's nodes if it is still settled (its latest job ended and none of its tasks
    /// is waiting or running), else `None`.
    async fn settled_nodes(
        &self,
        tenant: &str,
        cluster: &str,
    ) -> Result<Option<(String, Vec<NodeRow>)>, EngineError> {
        let Some(row) = self.store.get_cluster(tenant, cluster).await? else {
            return Ok(None);
        };
        let Some(job_id) = &row.latest_job_id else {
            return Ok(None);
        };
        let Some(job) = self.store.get_job(tenant, job_id).await? else {
            return Ok(None);
        };
        let ended = [JobStatus::Complete.as_str(), JobStatus::Failed.as_str()];
        if !ended.contains(&job.status.as_str())
            || !self.store.queued_job_tasks(job_id).await?.is_empty()
        {
            return Ok(None);
        }
        Ok(Some((row.status, self.store.cluster_nodes(cluster).await?)))
    }

    /// A provider task outside any job, for `node`, run as `task_name`: no SSH to the node
    /// (neither a listing nor a reconciler's delete logs in to it).
    async fn reconciler_task(
        &self,
        tenant: &str,
        cluster: &str,
        node: &NodeRow,
        task_name: &str,
    ) -> Result<Result<TaskAssignment, String>, EngineError> {
        let task = JobTaskRow {
            id: format!("reconcile-{}", uuid::Uuid::new_v4()),
            job_id: String::new(),
            cluster_id: cluster.into(),
            tenant_id: tenant.into(),
            node_id: node.id.clone(),
            service: String::new(),
            task_name: "DELETE".into(),
            stage: 0,
            status: "in_progress".into(),
            failures: 0,
            attempt: 0,
            status_time: now_ms(),
        };
        Ok(self.jobless_assignment(task, node).await?.map(|mut a| {
            a.task_name = task_name.into();
            a.ssh = None;
            a
        }))
    }

    /// The LIST of a settled cluster's provider, as a task for the cluster's first node; `None`
    /// when the cluster is not settled or has no node.
    pub async fn reconcile_list(
        &self,
        tenant: &str,
        cluster: &str,
    ) -> Result<Option<Result<TaskAssignment, String>>, EngineError> {
        let Some((_, nodes)) = self.settled_nodes(tenant, cluster).await? else {
            return Ok(None);
        };
        let Some(first) = nodes.iter().min_by_key(|n| n.nodenum) else {
            return Ok(None);
        };
        Ok(Some(
            self.reconciler_task(tenant, cluster, first, LIST_TASK)
                .await?,
        ))
    }

    /// The machines of `listed` that no node owns, each with its DELETE. Nothing when the
    /// cluster is no longer settled (a job started since the listing).
    pub async fn reconcile_orphans(
        &self,
        tenant: &str,
        cluster: &str,
        listed: &[ListedMachine],
    ) -> Result<Vec<Result<Orphan, String>>, EngineError> {
        let Some((status, nodes)) = self.settled_nodes(tenant, cluster).await? else {
            return Ok(Vec::new());
        };
        let mut owners = BTreeMap::new();
        let mut by_id = BTreeMap::new();
        for row in &nodes {
            let body: NodeBody = parse("node", &row.body)?;
            let owned = body.provisioner_results.get(PROVIDER_ID_RESULT).map(text);
            owners.insert(row.id.clone(), owned);
            by_id.insert(row.id.clone(), row);
        }
        let Some(first) = nodes.iter().min_by_key(|n| n.nodenum) else {
            return Ok(Vec::new());
        };
        let terminated = status == ClusterStatus::Terminated.as_str();
        let mut orphans = Vec::new();
        for (machine, why) in orphaned(tenant, cluster, terminated, &owners, listed) {
            let node = machine.tag("weft-node").unwrap_or_default();
            // the tagged node when the cluster has it (its image, flavor, hostname), else any
            let context = by_id.get(node).copied().unwrap_or(first);
            let delete = self
                .reconciler_task(tenant, cluster, context, "DELETE")
                .await?
                .map(|mut delete| {
                    delete.prior_results =
                        BTreeMap::from([(PROVIDER_ID_RESULT.to_string(), machine.id.clone())]);
                    for key in ["weft-node", "weft-attempt"] {
                        if let Some(value) = machine.tag(key) {
                            delete.provider_fields.insert(key.into(), value.into());
                        }
                    }
                    Orphan {
                        machine: machine.clone(),
                        why,
                        delete,
                    }
                });
            orphans.push(delete);
        }
        Ok(orphans)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn machine(id: &str, tenant: &str, cluster: &str, node: &str) -> ListedMachine {
        ListedMachine {
            id: id.into(),
            tags: BTreeMap::from([
                ("weft-tenant".to_string(), tenant.to_string()),
                ("weft-cluster".to_string(), cluster.to_string()),
                ("weft-node".to_string(), node.to_string()),
                ("weft-attempt".to_string(), "1".to_string()),
            ]),
        }
    }

    #[test]
    fn only_machines_no_node_owns_are_orphans() {
        let owners = BTreeMap::from([
            ("n1".to_string(), Some("m1".to_string())),
            ("n2".to_string(), None),
        ]);
        let listed = vec![
            machine("m1", "t", "c", "n1"),
            // a second machine for n1: a crash's leftover
            machine("m1b", "t", "c", "n1"),
            // n2 recorded nothing: kept, nothing says which it would adopt
            machine("m2", "t", "c", "n2"),
            // a node the cluster does not have
            machine("m9", "t", "c", "n9"),
            // another tenant's and another cluster's: not ours to judge
            machine("x1", "other", "c", "n9"),
            machine("x2", "t", "other", "n9"),
            ListedMachine {
                id: "untagged".into(),
                tags: BTreeMap::new(),
            },
        ];
        let found: Vec<(&str, String)> = orphaned("t", "c", false, &owners, &listed)
            .into_iter()
            .map(|(m, why)| (m.id.as_str(), why))
            .collect();
        assert_eq!(
            found,
            vec![
                ("m1b", "node 'n1' owns machine 'm1'".to_string()),
                ("m9", "node 'n9' is not in the cluster".to_string()),
            ]
        );
        // a terminated cluster owns nothing, but still only its own tags are judged
        let gone: Vec<&str> = orphaned("t", "c", true, &owners, &listed)
            .into_iter()
            .map(|(m, _)| m.id.as_str())
            .collect();
        assert_eq!(gone, vec!["m1", "m1b", "m2", "m9"]);
    }

    #[test]
    fn listings_parse_from_text_or_json() {
        let text = serde_json::json!({
            "machines": r#"[{"id":"m1","tags":{"weft-node":"n1"}}]"#
        });
        let json = serde_json::json!({"machines": [{"id": "m1", "tags": {"weft-node": "n1"}}]});
        for result in [text, json] {
            let listed = listed_machines(result.as_object().unwrap()).unwrap();
            assert_eq!(listed.len(), 1);
            assert_eq!(listed[0].tag("weft-node"), Some("n1"));
        }
        let bad = serde_json::json!({"machines": "[1]"});
        assert!(
            listed_machines(bad.as_object().unwrap())
                .unwrap_err()
                .contains("not a list of machines")
        );
        assert!(listed_machines(&serde_json::Map::new()).is_err());
    }
}
