//! The store: every read and write of chat data, on PostgreSQL or embedded SQLite
//! through one `sqlx` Any pool, so both backends run the same SQL (numbered `$n`
//! placeholders, `ON CONFLICT` upserts, millisecond `BIGINT` timestamps).
//!
//! Migrations live per backend under `migrations/{postgres,sqlite}` and run at start;
//! on PostgreSQL sqlx takes an advisory lock, so several nodes starting together
//! migrate once. Each submodule adds the queries of one resource to [`Store`].
//!
//! SQLite gets a single pooled connection for writes: it has one writer anyway, and a
//! single connection rules out the `SQLITE_BUSY` upgrade failures of concurrent deferred
//! transactions. Code holding a transaction therefore never acquires a second writer
//! connection. Plain reads (every `fetch_*` of a SELECT) go to a small pool of reader
//! connections, which WAL mode lets run beside the writer; each read is its own
//! statement after the writes it depends on committed, so it sees them. On PostgreSQL
//! both are the same pool.

mod channels;
mod cluster;
mod plugins;
mod posts;
mod sessions;
mod teams;
mod users;

pub use channels::MemberName;
pub use plugins::{KvWrite, StoredBundle};
pub use posts::PostWindow;
pub use sessions::Session;
pub use users::{LoginRecord, UserFilter};

use crate::config::SqlSettings;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot create the data folder {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot open the database: {0}")]
    Connect(sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// A failed read or write. sqlx stays inside the store: callers ask what kind of
/// failure it is, never look at the database's own error.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct StoreError(#[from] sqlx::Error);

impl StoreError {
    /// A duplicate of something unique (a name, an email).
    pub fn is_unique_violation(&self) -> bool {
        matches!(&self.0, sqlx::Error::Database(db) if db.is_unique_violation())
    }

    /// An outage (the client should retry) rather than a bug: no connection, a
    /// closed pool, or PostgreSQL shutting down or restarting ("57P…") or losing the
    /// connection ("08…").
    pub fn is_outage(&self) -> bool {
        match &self.0 {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => true,
            sqlx::Error::Database(err) => err
                .code()
                .is_some_and(|c| c.starts_with("57P") || c.starts_with("08")),
            _ => false,
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Clone)]
pub struct Store {
    /// Writes, transactions and migrations.
    pool: AnyPool,
    /// Plain reads.
    reader: AnyPool,
    backend: Backend,
    files: Vec<std::path::PathBuf>,
}

/// Reader connections of an SQLite store.
const SQLITE_READERS: u32 = 4;

/// WAL lets readers proceed during a write; NORMAL sync is durable across process
/// crashes (not power loss), as most embedded deployments want.
const SQLITE_PRAGMAS: [&str; 4] = [
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA busy_timeout = 5000",
];

static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");

impl Store {
    /// Opens the database named by `SqlSettings` and brings its schema up to date.
    pub async fn open(settings: &SqlSettings) -> Result<Store, OpenError> {
        sqlx::any::install_default_drivers();
        let (backend, url) = match settings.driver_name.as_str() {
            "postgres" => (Backend::Postgres, settings.data_source.clone()),
            _ => (Backend::Sqlite, sqlite_url(&settings.data_source)?),
        };
        let pool = pool_options(backend, settings.max_open_conns, 1)
            .connect(&url)
            .await
            .map_err(OpenError::Connect)?;
        match backend {
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&pool).await?,
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&pool).await?,
        }
        let reader = match backend {
            Backend::Postgres => pool.clone(),
            Backend::Sqlite => pool_options(backend, 0, SQLITE_READERS)
                .connect(&url)
                .await
                .map_err(OpenError::Connect)?,
        };
        let files = match backend {
            Backend::Postgres => Vec::new(),
            Backend::Sqlite => {
                let path = settings
                    .data_source
                    .trim_start_matches("sqlite://")
                    .trim_start_matches("sqlite:");
                let path = path.split('?').next().unwrap_or(path);
                ["", "-wal", "-shm"]
                    .iter()
                    .map(|suffix| std::path::PathBuf::from(format!("{path}{suffix}")))
                    .collect()
            }
        };
        Ok(Store {
            pool,
            reader,
            backend,
            files,
        })
    }

    /// The database's files on this machine (SQLite's file and its journals), which no
    /// plugin may touch; none for PostgreSQL.
    pub fn files(&self) -> Vec<std::path::PathBuf> {
        self.files.clone()
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A cheap round trip, for health checks.
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(StoreError::from)
    }

    pub async fn close(&self) {
        self.reader.close().await;
        self.pool.close().await;
    }
}

/// Pool settings: PostgreSQL gets `max_open_conns`; SQLite gets `sqlite_connections`
/// connections, each set up with the pragmas.
///
/// While PostgreSQL is unreachable sqlx keeps trying to connect until the acquire
/// timeout, so that timeout is how long a request takes to get its 503: short enough
/// for clients to retry soon and for requests not to pile up, and still far above any
/// wait for a connection in normal operation. SQLite cannot go away, but its one
/// writer connection can be queued for under load, so it keeps a longer wait.
fn pool_options(backend: Backend, max_open_conns: u32, sqlite_connections: u32) -> AnyPoolOptions {
    let options = AnyPoolOptions::new();
    match backend {
        Backend::Postgres => options
            .acquire_timeout(Duration::from_secs(3))
            .max_connections(max_open_conns.max(2)),
        Backend::Sqlite => options
            .acquire_timeout(Duration::from_secs(10))
            .max_connections(sqlite_connections)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    for pragma in SQLITE_PRAGMAS {
                        sqlx::query(pragma).execute(&mut *conn).await?;
                    }
                    Ok(())
                })
            }),
    }
}

/// Accepts a plain path (`./data/chorus.db`) or an `sqlite:` URL, creates the parent
/// folder of a path, and returns a URL that creates the file when missing.
fn sqlite_url(data_source: &str) -> Result<String, OpenError> {
    if data_source.starts_with("sqlite:") {
        return Ok(data_source.to_string());
    }
    let path = std::path::Path::new(data_source);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| OpenError::DataDir {
            path: parent.display().to_string(),
            source,
        })?;
    }
    Ok(format!("sqlite://{data_source}?mode=rwc"))
}

/// `$start, $start+1, …` for `count` values, to build `IN (…)` lists that both
/// backends accept.
fn placeholders(start: usize, count: usize) -> String {
    (start..start + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn get_str(row: &AnyRow, column: &str) -> StoreResult<String> {
    row.try_get::<String, _>(column).map_err(StoreError::from)
}

fn get_i64(row: &AnyRow, column: &str) -> StoreResult<i64> {
    row.try_get::<i64, _>(column).map_err(StoreError::from)
}

fn get_bool(row: &AnyRow, column: &str) -> StoreResult<bool> {
    // SQLite may hand back a BOOLEAN as an integer when it loses the declared type.
    row.try_get::<bool, _>(column)
        .or_else(|_| row.try_get::<i64, _>(column).map(|v| v != 0))
        .map_err(StoreError::from)
}
