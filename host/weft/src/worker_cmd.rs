//! `weft worker`: a worker process on another machine, taking tasks from a server over HTTP.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;

#[derive(Args)]
pub(crate) struct WorkerArgs {
    /// The server's base URL.
    #[arg(long, env = "WEFT_SERVER", default_value = "http://127.0.0.1:55054")]
    server: String,
    /// A worker token (`POST /v2/workers/tokens`).
    #[arg(long, env = "WEFT_WORKER_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// A file holding the worker token.
    #[arg(long, env = "WEFT_WORKER_TOKEN_FILE")]
    token_file: Option<PathBuf>,
    /// Tasks this worker runs at once.
    #[arg(long, env = "WEFT_WORKER_SLOTS", default_value_t = 4)]
    slots: u32,
    /// This worker's name on the server (default: host name and process id).
    #[arg(long, env = "WEFT_WORKER_NAME")]
    name: Option<String>,
    /// Folder for the compiled-plugin cache.
    #[arg(
        long,
        env = "WEFT_WORKER_DATA_DIR",
        default_value = "./weft-worker-data"
    )]
    data_dir: PathBuf,
    /// Seconds between heartbeats (of the worker, and of each running task's lease).
    #[arg(long, env = "WEFT_WORKER_HEARTBEAT_SECS", default_value_t = 5)]
    heartbeat_secs: u64,
    /// Milliseconds between polls while no task is ready.
    #[arg(long, env = "WEFT_WORKER_POLL_MS", default_value_t = 500)]
    poll_ms: u64,
}

pub(crate) async fn run(args: WorkerArgs) -> anyhow::Result<()> {
    let token = match (&args.token, &args.token_file) {
        (Some(token), _) => token.clone(),
        (None, Some(file)) => std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?
            .trim()
            .to_string(),
        (None, None) => bail!(
            "no worker token: pass --token, --token-file, WEFT_WORKER_TOKEN or WEFT_WORKER_TOKEN_FILE"
        ),
    };
    if args.slots == 0 {
        bail!("--slots must be at least 1");
    }
    let host = hostname();
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| format!("{host}-{}", std::process::id()));
    weft_catalog::check_name("--name", &name).map_err(|e| anyhow::anyhow!("{e}"))?;
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create {}", args.data_dir.display()))?;
    let runtime = Arc::new(
        weft_runtime::Runtime::new(crate::server_cmd::runtime_config(
            args.data_dir.join("plugin-cache"),
        ))
        .context("cannot start the plugin runtime")?,
    );
    let client = weft_client::Client::new(&args.server, &token);
    let source = Arc::new(
        weft_worker::HttpSource::connect(
            client,
            &name,
            &host,
            args.slots,
            Duration::from_millis(args.poll_ms.max(10)),
        )
        .await
        .with_context(|| format!("cannot register with {}", args.server))?,
    );
    tracing::info!(worker = %name, server = %args.server, slots = args.slots, "worker registered");
    let heartbeat = Duration::from_secs(args.heartbeat_secs.max(1));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let beats = {
        let source = source.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(heartbeat);
            loop {
                tokio::select! {
                    _ = every.tick() => {
                        if let Err(e) = source.heartbeat_worker().await {
                            tracing::warn!(error = %e, "worker heartbeat failed");
                        }
                    }
                    _ = stop.changed() => break,
                }
            }
        })
    };
    let executor = Arc::new(weft_worker::Executor::new(
        runtime,
        crate::server_cmd::task_limits(),
    ));
    let config = weft_worker::WorkerConfig {
        slots: args.slots as usize,
        heartbeat,
        error_backoff: Duration::from_secs(2),
    };
    let slots = tokio::spawn(weft_worker::run(source, executor, config, stop_rx));
    crate::server_cmd::shutdown_signal().await;
    let _ = stop_tx.send(true);
    tracing::info!("finishing running tasks");
    let _ = slots.await;
    let _ = beats.await;
    tracing::info!("weft worker stopped");
    Ok(())
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "worker".to_string())
}
