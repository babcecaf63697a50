//! Test support: real databases, a real sshd, and the shared fixtures.
//!
//! PostgreSQL tests need `WEFT_TEST_DATABASE_URL` (`just test` starts a server and sets it); a
//! missing URL is a loud failure, never a skip. Each test gets its own schema, so tests run in
//! parallel against one server.

pub mod sshd;

use std::path::PathBuf;

use sqlx::Connection;

/// The environment variable naming the PostgreSQL server tests use.
pub const POSTGRES_URL_VAR: &str = "WEFT_TEST_DATABASE_URL";

/// A database for one test; the SQLite file is removed when this is dropped.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

/// The backends every store and API test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => TestDb::sqlite(),
            Backend::Postgres => TestDb::postgres().await,
        }
    }

    /// A fresh SQLite database file in a temporary folder.
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("a temporary folder for the test database");
        let url = format!("sqlite://{}", dir.path().join("weft.db").display());
        TestDb {
            url,
            _dir: Some(dir),
        }
    }

    /// A fresh schema on the PostgreSQL server named by `WEFT_TEST_DATABASE_URL`.
    pub async fn postgres() -> TestDb {
        let base = std::env::var(POSTGRES_URL_VAR).unwrap_or_else(|_| {
            panic!(
                "{POSTGRES_URL_VAR} is not set: PostgreSQL tests need a server. Run `just test`, which starts one, \
                 or set {POSTGRES_URL_VAR}=postgres://USER:PASSWORD@127.0.0.1:5432/DB"
            )
        });
        let schema = format!("weft_test_{}", uuid::Uuid::new_v4().simple());
        let mut connection = sqlx::PgConnection::connect(&base)
            .await
            .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {POSTGRES_URL_VAR}: {e}"));
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&mut connection)
            .await
            .unwrap_or_else(|e| panic!("cannot create a test schema: {e}"));
        let _ = connection.close().await;
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
        TestDb { url, _dir: None }
    }
}

/// `../shared/fixtures` beside the checkout.
pub fn fixtures_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures");
    assert!(
        dir.is_dir(),
        "{} is missing: ../shared must sit beside the checkout",
        dir.display()
    );
    dir
}

/// The JSON files of a fixture folder (relative to `../shared/fixtures`), sorted by file name.
pub fn fixture_files(folder: &str) -> Vec<serde_json::Value> {
    let dir = fixtures_dir().join(folder);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()));
            serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{} is not JSON: {e}", p.display()))
        })
        .collect()
}

/// Coopr's whole catalog (`coopr-templates`) as a validated snapshot.
pub fn coopr_catalog() -> weft_catalog::Catalog {
    let mut catalog = weft_catalog::Catalog::default();
    for kind in weft_model::EntityKind::CATALOG {
        if fixtures_dir()
            .join("coopr-templates")
            .join(kind.as_str())
            .is_dir()
        {
            for body in fixture_files(&format!("coopr-templates/{kind}")) {
                let entity = weft_catalog::validate(kind, &body)
                    .unwrap_or_else(|e| panic!("{kind} {}: {e}", body["name"]));
                catalog.insert(entity);
            }
        }
    }
    catalog
}

/// Declares one `#[tokio::test]` per backend for each named async test function taking a
/// [`Backend`]: `both_backends!(creates_tenants, ...)` makes `creates_tenants::sqlite` and
/// `creates_tenants::postgres`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    super::$name($crate::Backend::Sqlite).await
                }
                #[tokio::test]
                async fn postgres() {
                    super::$name($crate::Backend::Postgres).await
                }
            }
        )*
    };
}
