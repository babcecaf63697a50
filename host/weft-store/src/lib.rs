//! Persistence for Weft: tenants, users, the versioned catalog and registered plugins, on SQLite (the embedded
//! default) or PostgreSQL (scale-out).
//!
//! Both backends sit behind one [`Store`]; each query is written once in portable SQL and run on
//! whichever pool is open (the `on_pool!` macro expands the same code for each). Queries are
//! checked at run time (`sqlx::query`), so building needs no database. Migrations live per
//! backend under `migrations/` and run when a store opens.
//!
//! Architecture invariant: this crate knows nothing about HTTP or validation. It stores what it
//! is given; the catalog rules live in `weft-catalog` and are applied before a write.

mod audit;
mod batch;
mod catalog;
mod clusters;
mod error;
mod events;
mod jobs;
mod plugins;
mod pools;
mod queue;
mod resources;
mod tenants;
mod tidy;
mod workers;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use audit::AuditEntry;
pub use batch::{ClaimGroup, FinishInput, FinishOutcome, FinishedTask};
pub use catalog::{NamedBody, StoredEntity};
pub use clusters::{ClusterRow, JobRow, JobTaskRow, NewCluster, NewJob, NodeRow, QuotaCheck};
pub use error::StoreError;
pub use events::JobEventRow;
pub use jobs::{
    AttemptEnd, ClaimedJobTask, ClusterUpdate, Enqueue, JobChanges, JobSnapshot, LogRow,
    NodeActionRow, TaskUpdate, tail,
};
pub use plugins::{NewPlugin, PluginRecord};
pub use pools::PoolRow;
pub use queue::{ClaimedTask, Finished, LeaseLost};
pub use resources::ResourceScope;
pub use tenants::{Caller, TenantRecord, UserRecord};
pub use tidy::VACUUM_AFTER_ROWS;
pub use workers::{ProvisionerRow, WorkerTokenRow};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Runs `$body` with `$pool` bound to whichever pool the store has open.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.backend {
            $crate::Backend::Sqlite($pool) => $body,
            $crate::Backend::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// Runs a statement (built anew for each backend) and answers the number of rows it touched.
macro_rules! execute {
    ($store:expr, $query:expr) => {
        $crate::on_pool!($store, |pool| $query
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
    };
}
pub(crate) use execute;

/// See [`Store::catalog_write`].
pub(crate) struct CatalogWrite<'a>(&'a std::sync::atomic::AtomicU64);

impl Drop for CatalogWrite<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }
}

#[derive(Clone)]
enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    /// SQLite has one writer at a time, and a writer that finds the lock taken sleeps (1 ms,
    /// then longer) before it tries again. The engine's busy transactions queue here instead.
    writer: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// When the queue table was last vacuumed (PostgreSQL).
    tidy: std::sync::Arc<tidy::QueueTidy>,
    /// [`Store::catalog_version`].
    catalog_version: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend_name())
            .finish()
    }
}

impl Store {
    /// Opens the database at `url` (`sqlite://PATH` or `postgres://...`), creating a SQLite file
    /// if missing, and applies pending migrations.
    pub async fn open(url: &str) -> Result<Store> {
        let backend = if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|e| StoreError::Config(format!("bad SQLite URL: {e}")))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true);
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(options)
                .await?;
            sqlx::migrate!("migrations/sqlite").run(&pool).await?;
            Backend::Sqlite(pool)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await?;
            sqlx::migrate!("migrations/postgres").run(&pool).await?;
            Backend::Postgres(pool)
        } else {
            return Err(StoreError::Config(format!(
                "unsupported database URL '{}': use sqlite://PATH or postgres://...",
                redact_url(url)
            )));
        };
        Ok(Store {
            backend,
            writer: Default::default(),
            tidy: Default::default(),
            catalog_version: Default::default(),
        })
    }

    /// Held around the engine's frequent write transactions: on SQLite they take turns in
    /// the process instead of sleeping on the database's lock; PostgreSQL needs no turn.
    pub(crate) async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.backend {
            Backend::Sqlite(_) => Some(self.writer.lock().await),
            Backend::Postgres(_) => None,
        }
    }

    /// A number that grows each time this store (any of its clones) ends a write to the
    /// catalog, the plugins or their resources: a cache of them filled while it held one value
    /// is good while it still does. Writes by another process are not counted.
    pub fn catalog_version(&self) -> u64 {
        self.catalog_version
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// Held across a write to the catalog, the plugins or their resources: dropped (the write
    /// has ended, committed or not), it moves [`Store::catalog_version`] on.
    pub(crate) fn catalog_write(&self) -> CatalogWrite<'_> {
        CatalogWrite(&self.catalog_version)
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<()> {
        on_pool!(self, |pool| sqlx::query("SELECT 1")
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    pub async fn close(&self) {
        on_pool!(self, |pool| pool.close().await)
    }
}

/// The URL with any password replaced, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            super::redact_url("postgres://weft:s3cret@db:5432/weft"),
            "postgres://weft:***@db:5432/weft"
        );
        assert_eq!(
            super::redact_url("sqlite:///data/weft.db"),
            "sqlite:///data/weft.db"
        );
    }
}
