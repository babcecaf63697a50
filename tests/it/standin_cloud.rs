//! A stand-in cloud for the `test-cloud` provider plugin: an HTTP server on loopback whose
//! machines are rows in memory. It lives in the test process, so its machines outlive a killed
//! Weft server and the test can count them. (A stand-in: no real cloud API is reachable here;
//! the Docker provider of the next issue creates real machines.)
//!
//! Only one runs at a time (the plugin's grant names its fixed port); `start` waits for the
//! port.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;

/// The port the `test-cloud` plugin is granted.
pub(crate) const PORT: u16 = 29411;

#[derive(Debug, Clone)]
pub(crate) struct Machine {
    pub id: String,
    pub tenant: String,
    pub cluster: String,
    pub node: String,
    pub attempt: String,
    pub deleted: bool,
}

#[derive(Default)]
struct Cloud {
    machines: Vec<Machine>,
}

type Shared = Arc<Mutex<Cloud>>;

pub(crate) struct StandInCloud {
    cloud: Shared,
    server: tokio::task::JoinHandle<()>,
}

async fn create(
    State(cloud): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<String, StatusCode> {
    let tag = |k: &str| q.get(k).cloned().ok_or(StatusCode::BAD_REQUEST);
    let machine = Machine {
        id: String::new(),
        tenant: tag("tenant")?,
        cluster: tag("cluster")?,
        node: tag("node")?,
        attempt: q.get("attempt").cloned().unwrap_or_default(),
        deleted: false,
    };
    let id = add(&cloud, machine);
    // the machine exists from now on, even if the caller dies waiting for the answer
    let delay: u64 = q.get("delay_ms").and_then(|d| d.parse().ok()).unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(delay)).await;
    Ok(id)
}

fn add(cloud: &Shared, machine: Machine) -> String {
    let mut cloud = cloud.lock().unwrap();
    let id = format!("m-{}", cloud.machines.len() + 1);
    cloud.machines.push(Machine {
        id: id.clone(),
        ..machine
    });
    id
}

/// Live machines matching the query's tags: an id per line, or with `detail=1`
/// `id node attempt` (tab-separated).
async fn list(State(cloud): State<Shared>, Query(q): Query<HashMap<String, String>>) -> String {
    let cloud = cloud.lock().unwrap();
    let matches = |m: &&Machine| {
        !m.deleted
            && q.get("tenant").is_none_or(|t| *t == m.tenant)
            && q.get("cluster").is_none_or(|c| *c == m.cluster)
            && q.get("node").is_none_or(|n| *n == m.node)
    };
    cloud
        .machines
        .iter()
        .filter(matches)
        .map(|m| match q.get("detail") {
            Some(_) => format!("{}\t{}\t{}\n", m.id, m.node, m.attempt),
            None => format!("{}\n", m.id),
        })
        .collect()
}

fn index(id: &str) -> Option<usize> {
    id.strip_prefix("m-")?.parse::<usize>().ok()?.checked_sub(1)
}

async fn show(State(cloud): State<Shared>, Path(id): Path<String>) -> Result<String, StatusCode> {
    let cloud = cloud.lock().unwrap();
    match index(&id).and_then(|i| cloud.machines.get(i)) {
        Some(m) if !m.deleted => {
            let n = index(&id).unwrap_or(0) + 1;
            Ok(format!("10.9.{}.{}", n / 250, n % 250 + 1))
        }
        _ => Err(StatusCode::NOT_FOUND),
    }
}

async fn delete(State(cloud): State<Shared>, Path(id): Path<String>) -> StatusCode {
    let mut cloud = cloud.lock().unwrap();
    match index(&id).and_then(|i| cloud.machines.get_mut(i)) {
        Some(m) if !m.deleted => {
            m.deleted = true;
            StatusCode::NO_CONTENT
        }
        _ => StatusCode::NOT_FOUND,
    }
}

impl StandInCloud {
    /// Serves on 127.0.0.1:[`PORT`], waiting up to two minutes for another test's cloud to go.
    pub(crate) async fn start() -> StandInCloud {
        let deadline = Instant::now() + Duration::from_secs(120);
        let listener = loop {
            match tokio::net::TcpListener::bind(("127.0.0.1", PORT)).await {
                Ok(listener) => break listener,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("the stand-in cloud cannot listen on port {PORT}: {e}"),
            }
        };
        let cloud: Shared = Arc::default();
        let app = axum::Router::new()
            .route("/machines", get(list).post(create))
            .route("/machines/{id}", get(show).delete(delete))
            .with_state(cloud.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        StandInCloud { cloud, server }
    }

    /// Makes a machine with these tags behind Weft's back (a crash's leftover, a stray), and
    /// answers its id.
    pub(crate) fn inject(&self, tenant: &str, cluster: &str, node: &str, attempt: &str) -> String {
        add(
            &self.cloud,
            Machine {
                id: String::new(),
                tenant: tenant.into(),
                cluster: cluster.into(),
                node: node.into(),
                attempt: attempt.into(),
                deleted: false,
            },
        )
    }

    /// Every machine ever created, deleted ones too.
    pub(crate) fn machines(&self) -> Vec<Machine> {
        self.cloud.lock().unwrap().machines.clone()
    }
}

impl Drop for StandInCloud {
    fn drop(&mut self) {
        self.server.abort();
    }
}
