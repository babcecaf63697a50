//! Lifecycle webhooks, as Coopr's `HttpPostClusterCallback` (coopr-notes §2.4): when a job
//! starts, succeeds or fails, `{cluster, job, nodes}` is POSTed to the URL configured for that
//! event, if the job's action is among the event's triggers (all actions when none are given).
//!
//! The engine writes each event to the `job_events` outbox in the transaction that changes the
//! job, so no event is lost to a crash. [`run`] claims events (a claim holds an event for a
//! while, so several servers can run it), sends them, and deletes each once a 2xx answers.
//! A failed send is retried with exponential backoff up to `max_attempts`, then dropped with
//! an error in the log. Delivery is at least once: a receiver may see an event twice.
//!
//! Unlike Coopr, a start hook cannot veto the job: the event is sent after the job started.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};
use weft_engine::{ClusterBody, NodeBody};
use weft_store::{JobEventRow, Store};

/// Where one kind of event goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    pub url: String,
    /// Cluster actions (`CLUSTER_CREATE`, `RESTART_SERVICES`...) whose jobs fire the hook;
    /// empty means every action.
    pub triggers: BTreeSet<String>,
}

impl Hook {
    /// A hook from a URL and Coopr's comma-separated trigger list.
    pub fn new(url: impl Into<String>, triggers: &str) -> Result<Hook, WebhookError> {
        let url = url.into();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(WebhookError::Config(format!(
                "webhook URL '{url}' must start with http:// or https://"
            )));
        }
        reqwest::Url::parse(&url)
            .map_err(|e| WebhookError::Config(format!("webhook URL '{url}': {e}")))?;
        Ok(Hook {
            url,
            triggers: triggers
                .split(',')
                .map(|t| t.trim().to_ascii_uppercase())
                .filter(|t| !t.is_empty())
                .collect(),
        })
    }

    fn fires_for(&self, action: &str) -> bool {
        self.triggers.is_empty() || self.triggers.contains(action)
    }
}

/// The webhooks of a server.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    pub start: Option<Hook>,
    pub success: Option<Hook>,
    pub failure: Option<Hook>,
    /// Per request (Coopr: 10 s).
    pub timeout: Duration,
    /// Sends before an event is dropped.
    pub max_attempts: i64,
    /// Wait after the first failed send; doubles after each further one, up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
    /// Pause between looks at an empty outbox.
    pub poll: Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            start: None,
            success: None,
            failure: None,
            timeout: Duration::from_secs(10),
            max_attempts: 10,
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            poll: Duration::from_millis(500),
        }
    }
}

impl WebhookConfig {
    /// Whether any hook is configured.
    pub fn any(&self) -> bool {
        self.start.is_some() || self.success.is_some() || self.failure.is_some()
    }

    fn hook(&self, kind: &str) -> Option<&Hook> {
        match kind {
            "start" => self.start.as_ref(),
            "success" => self.success.as_ref(),
            "failure" => self.failure.as_ref(),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] weft_store::StoreError),
    #[error("cannot make the HTTP client: {0}")]
    Client(String),
}

/// What a receiver gets.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    event: String,
    tenant_id: String,
    cluster: Value,
    job: Value,
    nodes: Vec<Value>,
}

/// The event as a receiver sees it, or `None` when its cluster or job is gone. Provider fields
/// and plugin results are left out: they may hold what only the host should see.
async fn payload(
    store: &Store,
    event: &JobEventRow,
    body: &Value,
) -> Result<Option<Payload>, WebhookError> {
    let cluster_id = body["clusterId"].as_str().unwrap_or_default();
    let job_id = body["jobId"].as_str().unwrap_or_default();
    let Some(cluster) = store.get_cluster(&event.tenant_id, cluster_id).await? else {
        return Ok(None);
    };
    let Some(job) = store.get_job(&event.tenant_id, job_id).await? else {
        return Ok(None);
    };
    let stored: Option<ClusterBody> = serde_json::from_str(&cluster.body).ok();
    let nodes = store
        .cluster_nodes(&cluster.id)
        .await?
        .into_iter()
        .map(|n| {
            let properties = serde_json::from_str::<NodeBody>(&n.body)
                .map(|b| serde_json::to_value(b.properties).unwrap_or(Value::Null))
                .unwrap_or(Value::Null);
            json!({"id": n.id, "properties": properties})
        })
        .collect();
    Ok(Some(Payload {
        event: event.kind.clone(),
        tenant_id: event.tenant_id.clone(),
        cluster: json!({
            "id": cluster.id,
            "name": cluster.name,
            "ownerId": cluster.owner,
            "status": cluster.status,
            "message": cluster.message,
            "createTime": cluster.create_time,
            "expireTime": cluster.expire_time,
            "numNodes": cluster.node_count,
            "clusterTemplate": stored.as_ref().map(|b| b.cluster_template.name.clone()),
            "provider": stored.as_ref().map(|b| json!({"name": b.provider.name, "providertype": b.provider.providertype})),
            "services": stored.as_ref().map(|b| b.services.clone()),
        }),
        job: json!({
            "id": job.id,
            "action": job.action,
            "status": job.status,
            "message": job.message,
            "currentStage": job.current_stage,
            "createdAt": job.created_at,
            "updatedAt": job.updated_at,
        }),
        nodes,
    }))
}

/// The outcome of one event.
enum Delivery {
    /// Sent (2xx), not wanted (no hook, action not a trigger) or moot (cluster gone).
    Done,
    Retry(String),
}

async fn deliver(
    store: &Store,
    client: &reqwest::Client,
    config: &WebhookConfig,
    event: &JobEventRow,
) -> Result<Delivery, WebhookError> {
    let Some(hook) = config.hook(&event.kind) else {
        return Ok(Delivery::Done);
    };
    let body: Value = serde_json::from_str(&event.body).unwrap_or(Value::Null);
    let action = body["action"].as_str().unwrap_or_default();
    if !hook.fires_for(action) {
        return Ok(Delivery::Done);
    }
    let Some(payload) = payload(store, event, &body).await? else {
        return Ok(Delivery::Done);
    };
    let sent = client
        .post(&hook.url)
        .header("x-weft-event", &event.kind)
        .header("x-weft-delivery", &event.id)
        .json(&payload)
        .send()
        .await;
    Ok(match sent {
        Ok(r) if r.status().is_success() => Delivery::Done,
        Ok(r) => Delivery::Retry(format!("answered {}", r.status())),
        Err(e) => Delivery::Retry(e.to_string()),
    })
}

/// One pass over the ready events; answers how many were claimed.
pub async fn deliver_ready(
    store: &Store,
    client: &reqwest::Client,
    config: &WebhookConfig,
) -> Result<usize, WebhookError> {
    let now = weft_engine::now_ms();
    // a claim outlives a send (the timeout) with room to spare
    let hold = now + (config.timeout.as_millis() as i64) * 3;
    let events = store.claim_job_events(now, hold, 32).await?;
    for event in &events {
        match deliver(store, client, config, event).await? {
            Delivery::Done => store.delete_job_event(&event.id).await?,
            Delivery::Retry(why) if event.attempts >= config.max_attempts => {
                tracing::error!(event = %event.id, kind = %event.kind, attempts = event.attempts, %why,
                    "webhook not delivered; giving up on the event");
                store.delete_job_event(&event.id).await?;
            }
            Delivery::Retry(why) => {
                let shift = (event.attempts - 1).clamp(0, 20) as u32;
                let wait = config
                    .backoff
                    .saturating_mul(1u32 << shift)
                    .min(config.max_backoff);
                tracing::warn!(event = %event.id, kind = %event.kind, attempts = event.attempts, %why,
                    retry_in_ms = wait.as_millis() as u64, "webhook not delivered; will retry");
                store
                    .retry_job_event(&event.id, weft_engine::now_ms() + wait.as_millis() as i64)
                    .await?;
            }
        }
    }
    Ok(events.len())
}

/// Delivers events until `stop` resolves. Without any hook configured, events are still
/// taken out of the outbox, so it does not grow.
pub async fn run(
    store: Store,
    config: WebhookConfig,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), WebhookError> {
    let client = reqwest::Client::builder()
        .timeout(config.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| WebhookError::Client(e.to_string()))?;
    tokio::pin!(stop);
    loop {
        let claimed = match deliver_ready(&store, &client, &config).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "webhook delivery pass failed");
                0
            }
        };
        if claimed == 0 {
            tokio::select! {
                _ = &mut stop => return Ok(()),
                _ = tokio::time::sleep(config.poll) => {}
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn hooks_parse_coopr_trigger_lists() {
        let hook = Hook::new(
            "http://127.0.0.1:9/hook",
            " cluster_create, CLUSTER_DELETE ,",
        )
        .unwrap();
        assert_eq!(
            hook.triggers,
            BTreeSet::from(["CLUSTER_CREATE".to_string(), "CLUSTER_DELETE".to_string()])
        );
        assert!(hook.fires_for("CLUSTER_CREATE"));
        assert!(!hook.fires_for("RESTART_SERVICES"));
        let all = Hook::new("https://example.test/x", "").unwrap();
        assert!(all.fires_for("RESTART_SERVICES"));
    }

    #[test]
    fn a_hook_needs_an_http_url() {
        for bad in ["ftp://x/y", "localhost:80", "http://", ""] {
            assert!(Hook::new(bad, "").is_err(), "{bad}");
        }
    }
}
