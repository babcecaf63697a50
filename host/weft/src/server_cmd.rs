//! `weft server`: open the store, make sure a superadmin exists, serve the API.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;

#[derive(Args)]
pub(crate) struct ServerArgs {
    /// Address to listen on.
    #[arg(long, env = "WEFT_LISTEN", default_value = "127.0.0.1:55054")]
    listen: SocketAddr,
    /// Folder for the SQLite database, the superadmin token and other local state.
    #[arg(long, env = "WEFT_DATA_DIR", default_value = "./weft-data")]
    data_dir: PathBuf,
    /// Database URL (`postgres://...` for scale-out); default: SQLite in the data dir.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// Embedded worker slots (tasks run at once in this process); 0 runs none.
    #[arg(long, env = "WEFT_WORKERS", default_value_t = 4)]
    workers: usize,
    /// Seconds between janitor sweeps (expired leases, timeouts, recovery).
    #[arg(long, env = "WEFT_JANITOR_SECS", default_value_t = 2)]
    janitor_secs: u64,
    /// Seconds between reconciler passes, which delete machines no node owns (listed by
    /// providers built against weft:plugin 0.2); 0 runs none.
    #[arg(long, env = "WEFT_RECONCILE_SECS", default_value_t = 300)]
    reconcile_secs: u64,
    /// A claimed task's lease, in seconds, renewed by heartbeat.
    #[arg(long, env = "WEFT_LEASE_SECS", default_value_t = 30)]
    lease_secs: u64,
    /// Milliseconds before the first retry of a failed task (doubling after).
    #[arg(long, env = "WEFT_RETRY_BACKOFF_MS", default_value_t = 2000)]
    retry_backoff_ms: i64,
    /// Register the bundled plugins (the docker provider, the shell automator; their requested
    /// grants approved, the local Docker socket among them) as global plugins, and import the
    /// bundled catalog into the superadmin tenant. Again on later starts: only what changed.
    #[arg(long, env = "WEFT_BUNDLED")]
    bundled: bool,
    #[command(flatten)]
    webhooks: WebhookArgs,
}

/// Lifecycle webhooks (Coopr's `server.callback.http.*`): `{cluster, job, nodes}` is POSTed
/// when a job starts, succeeds or fails.
#[derive(Args)]
pub(crate) struct WebhookArgs {
    /// URL to POST to when a job starts.
    #[arg(long, env = "WEFT_WEBHOOK_START_URL")]
    webhook_start_url: Option<String>,
    /// Cluster actions whose start is posted, comma-separated (default: all).
    #[arg(long, env = "WEFT_WEBHOOK_START_TRIGGERS", default_value = "")]
    webhook_start_triggers: String,
    /// URL to POST to when a job succeeds.
    #[arg(long, env = "WEFT_WEBHOOK_SUCCESS_URL")]
    webhook_success_url: Option<String>,
    /// Cluster actions whose success is posted, comma-separated (default: all).
    #[arg(long, env = "WEFT_WEBHOOK_SUCCESS_TRIGGERS", default_value = "")]
    webhook_success_triggers: String,
    /// URL to POST to when a job fails.
    #[arg(long, env = "WEFT_WEBHOOK_FAILURE_URL")]
    webhook_failure_url: Option<String>,
    /// Cluster actions whose failure is posted, comma-separated (default: all).
    #[arg(long, env = "WEFT_WEBHOOK_FAILURE_TRIGGERS", default_value = "")]
    webhook_failure_triggers: String,
}

impl WebhookArgs {
    fn config(&self) -> anyhow::Result<weft_webhooks::WebhookConfig> {
        let hook = |url: &Option<String>, triggers: &str| -> anyhow::Result<_> {
            url.as_ref()
                .map(|u| weft_webhooks::Hook::new(u.clone(), triggers))
                .transpose()
                .context("bad webhook setting")
        };
        Ok(weft_webhooks::WebhookConfig {
            start: hook(&self.webhook_start_url, &self.webhook_start_triggers)?,
            success: hook(&self.webhook_success_url, &self.webhook_success_triggers)?,
            failure: hook(&self.webhook_failure_url, &self.webhook_failure_triggers)?,
            ..weft_webhooks::WebhookConfig::default()
        })
    }
}

/// Plugin calls the server runs at once (instance pool size).
const PLUGIN_SLOTS: u32 = 16;
/// The largest plugin component accepted (Python components are about 20 MB).
const MAX_COMPONENT_BYTES: usize = 64 << 20;

/// The environment variable that sets the first superadmin token.
const BOOTSTRAP_TOKEN_VAR: &str = "WEFT_BOOTSTRAP_TOKEN";
/// Where a generated superadmin token is written, inside the data dir.
const TOKEN_FILE: &str = "superadmin.token";

pub(crate) async fn run(args: ServerArgs) -> anyhow::Result<()> {
    create_private_dir(&args.data_dir)?;
    let url = match &args.database_url {
        Some(url) => url.clone(),
        None => format!("sqlite://{}", args.data_dir.join("weft.db").display()),
    };
    let store = weft_store::Store::open(&url).await.with_context(|| {
        format!(
            "cannot open the database at {}",
            weft_store::redact_url(&url)
        )
    })?;
    tracing::info!(backend = store.backend_name(), database = %weft_store::redact_url(&url), "database ready");
    bootstrap_superadmin(&store, &args.data_dir).await?;

    let runtime = weft_runtime::Runtime::new(runtime_config(args.data_dir.join("plugin-cache")))
        .context("cannot start the plugin runtime")?;
    let runtime = std::sync::Arc::new(runtime);
    let inspector = weft_registry::Inspector::new(runtime.clone());
    let state = weft_api::AppState::new(store.clone())
        .await
        .context("cannot read the superadmin tenant")?
        .with_inspector(weft_api::PluginInspector::new(move |wasm| {
            let inspector = inspector.clone();
            Box::pin(async move { inspector.inspect(wasm).await })
        }));
    let vault = weft_vault::Vault::from_env_or_data_dir(&args.data_dir)
        .context("cannot open the vault key")?;
    let lease = Duration::from_secs(args.lease_secs.max(1));
    let engine = weft_engine::Engine::new(
        store.clone(),
        vault,
        state.superadmin_tenant_id.clone(),
        weft_engine::EngineConfig {
            lease,
            retry: weft_engine::RetryPolicy {
                backoff_ms: args.retry_backoff_ms.max(0),
                ..weft_engine::RetryPolicy::default()
            },
            ..weft_engine::EngineConfig::default()
        },
    );
    let state = state.with_engine(engine.clone());
    if args.bundled {
        load_bundled(&state).await?;
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut background = tokio::task::JoinSet::new();
    {
        let engine = engine.clone();
        let mut stop = stop_rx.clone();
        let every = Duration::from_secs(args.janitor_secs.max(1));
        background.spawn(async move {
            engine
                .run_janitor(every, async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await
        });
    }
    {
        // the outbox is drained even without hooks, so it does not grow
        let webhooks = args.webhooks.config()?;
        if webhooks.any() {
            tracing::info!("lifecycle webhooks configured");
        }
        let store = state.store.clone();
        let mut stop = stop_rx.clone();
        background.spawn(async move {
            let stopped = async move {
                let _ = stop.wait_for(|s| *s).await;
            };
            if let Err(e) = weft_webhooks::run(store, webhooks, stopped).await {
                tracing::error!(error = %e, "webhook delivery stopped");
            }
        });
    }
    let executor = std::sync::Arc::new(weft_worker::Executor::new(runtime, task_limits()));
    if args.reconcile_secs > 0 {
        let every = Duration::from_secs(args.reconcile_secs);
        background.spawn(weft_worker::reconcile(
            engine.clone(),
            executor.clone(),
            every,
            stop_rx.clone(),
        ));
    }
    if args.workers > 0 {
        let source = std::sync::Arc::new(weft_worker::EngineSource::new(
            engine.clone(),
            format!("embedded-{}", std::process::id()),
        ));
        let config = weft_worker::WorkerConfig {
            slots: args.workers,
            heartbeat: lease / 3,
            error_backoff: Duration::from_secs(2),
        };
        tracing::info!(slots = args.workers, "embedded workers started");
        background.spawn(weft_worker::run(source, executor, config, stop_rx.clone()));
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    tracing::info!(address = %listener.local_addr()?, "weft server listening");
    weft_api::serve(
        listener,
        weft_api::app(state),
        shutdown_signal(),
        Duration::from_secs(10),
    )
    .await
    .context("server failed")?;
    let _ = stop_tx.send(true);
    // running tasks finish first; a task still running after the drain is retried elsewhere
    let _ = tokio::time::timeout(Duration::from_secs(30), async {
        while background.join_next().await.is_some() {}
    })
    .await;
    store.close().await;
    tracing::info!("weft server stopped");
    Ok(())
}

/// Registers the bundled plugins and imports the bundled catalog (`--bundled`).
async fn load_bundled(state: &weft_api::AppState) -> anyhow::Result<()> {
    let catalog = weft_bundled::catalog().context("the bundled catalog is broken")?;
    let report = weft_api::bundled::load(
        state,
        weft_model::SUPERADMIN_USER,
        &weft_bundled::components(),
        &catalog,
    )
    .await
    .map_err(|e| anyhow::anyhow!("cannot load the bundled plugins and catalog: {e}"))?;
    tracing::info!(
        registered = ?report.registered,
        imported = report.imported.len(),
        "bundled plugins and catalog loaded"
    );
    Ok(())
}

/// The plugin runtime of a server or a worker process.
pub(crate) fn runtime_config(cache_dir: PathBuf) -> weft_runtime::RuntimeConfig {
    weft_runtime::RuntimeConfig {
        cache_dir,
        slots: PLUGIN_SLOTS,
        max_memory_bytes: 256 << 20,
        epoch_tick: Duration::from_millis(10),
        max_component_bytes: MAX_COMPONENT_BYTES,
        quarantine_after: 5,
    }
}

/// Limits of every task a worker runs.
pub(crate) fn task_limits() -> weft_runtime::TaskLimits {
    weft_runtime::TaskLimits {
        memory_bytes: 256 << 20,
        cpu: Duration::from_secs(600),
        wall: Duration::from_secs(1800),
        output_bytes: 1 << 20,
        result_bytes: 1 << 20,
        table_entries: 1024,
        file_bytes: 64 << 20,
    }
}

fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the data dir {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot restrict the data dir {}", dir.display()))?;
    }
    Ok(())
}

/// On the first start, creates the superadmin `admin` with the token from
/// `WEFT_BOOTSTRAP_TOKEN`, or a generated one written to `<data-dir>/superadmin.token` (0600).
/// Later starts, and other replicas of a shared database, leave the superadmin alone.
async fn bootstrap_superadmin(store: &weft_store::Store, data_dir: &Path) -> anyhow::Result<()> {
    let chosen = std::env::var(BOOTSTRAP_TOKEN_VAR)
        .ok()
        .filter(|t| !t.is_empty());
    if let Some(token) = &chosen
        && token.len() < weft_auth::MIN_CHOSEN_TOKEN_LEN
    {
        bail!(
            "{BOOTSTRAP_TOKEN_VAR} must be at least {} characters long",
            weft_auth::MIN_CHOSEN_TOKEN_LEN
        );
    }
    if store
        .superadmin_exists()
        .await
        .context("cannot look up the superadmin")?
    {
        if chosen.is_some() {
            tracing::info!("{BOOTSTRAP_TOKEN_VAR} is not used: the superadmin exists already");
        }
        return Ok(());
    }
    let token_file = data_dir.join(TOKEN_FILE);
    let (token, generated) = match chosen {
        Some(token) => (token, false),
        None => {
            let token = weft_auth::generate_token();
            // Written before the database row, so a crash in between cannot lose the only token.
            write_secret_file(&token_file, &token)?;
            (token, true)
        }
    };
    let created = store
        .ensure_superadmin(&weft_auth::token_digest(&token))
        .await
        .context("cannot create the superadmin")?;
    match (created, generated) {
        (true, false) => {
            tracing::info!("superadmin 'admin' created with the token from {BOOTSTRAP_TOKEN_VAR}")
        }
        (true, true) => {
            tracing::info!(file = %token_file.display(), "superadmin 'admin' created; its token is in the file")
        }
        (false, true) => {
            // Another replica created the superadmin first; this token never worked.
            let _ = std::fs::remove_file(&token_file);
            tracing::info!("another replica created the superadmin");
        }
        (false, false) => tracing::info!("another replica created the superadmin"),
    }
    Ok(())
}

fn write_secret_file(path: &Path, contents: &str) -> anyhow::Result<()> {
    let temporary = path.with_extension("tmp");
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options
            .open(&temporary)
            .with_context(|| format!("cannot write {}", temporary.display()))?;
        file.write_all(format!("{contents}\n").as_bytes())?;
        file.sync_all()?;
    }
    std::fs::rename(&temporary, path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

pub(crate) async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
