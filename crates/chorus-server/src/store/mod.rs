//! The store: every read and write of chat data, on PostgreSQL or embedded SQLite,
//! each through its own native sqlx driver.
//!
//! One [`Store`] serves both backends: each query is written once where the two
//! dialects agree (numbered `$n` placeholders, `ON CONFLICT` upserts, millisecond
//! `BIGINT` timestamps) and the [`on_writer!`] / [`on_reader!`] macros compile it for
//! each driver, so rows decode into typed [`sqlx::FromRow`] structs with native
//! booleans, JSON (`jsonb` on PostgreSQL) and byte strings. Where the dialects differ
//! (lists of ids are one array parameter, `= ANY($1)`, on PostgreSQL and a JSON array,
//! `IN (SELECT value FROM json_each($1))`, on SQLite; row locks; one-statement posts)
//! the query says so with [`Backend`].
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

mod access_tokens;
mod bots;
mod channels;
mod cluster;
mod commands;
mod dialogs;
mod files;
mod plugins;
mod posts;
mod preferences;
mod reactions;
mod search;
mod sessions;
mod statuses;
mod teams;
mod users;
mod webhooks;

pub use bots::BotFilter;
pub use channels::PostedMember;
pub use commands::CommandWebhook;
pub use files::{FileFilter, StoredFile};
pub use plugins::{KvWrite, StoredBundle};
pub use posts::PostWindow;
pub use reactions::ReactionAdded;
pub use search::{PostSearchQuery, SearchWord};
pub use sessions::Session;
pub use users::{LoginRecord, UserFilter, UserProp};

use crate::config::SqlSettings;
use sqlx::pool::PoolOptions;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use std::str::FromStr;
use std::time::Duration;

/// A JSON object as stored in a JSON column (`props`, plugin settings).
pub type JsonObject = serde_json::Map<String, serde_json::Value>;

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

    /// A row the store had just written was not found again.
    fn vanished() -> StoreError {
        StoreError(sqlx::Error::RowNotFound)
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The connection pools of one backend.
#[derive(Clone)]
enum Pools {
    /// Reads and writes share the pool.
    Postgres(PgPool),
    Sqlite {
        /// Writes, transactions and migrations: one connection.
        writer: SqlitePool,
        /// Plain reads.
        reader: SqlitePool,
    },
}

/// Runs `$body` once per backend with `$pool` bound to the pool named by `$role`
/// (SQLite's `writer` or `reader`; PostgreSQL has one pool for both) and `$backend`,
/// when named, to the backend, so that one query text is compiled for both native
/// drivers.
macro_rules! on_pool {
    ($store:expr, $role:ident, $pool:ident, $backend:ident => $body:expr) => {
        match &$store.pools {
            $crate::store::Pools::Postgres($pool) => {
                #[allow(unused_variables, reason = "not every query differs per backend")]
                let $backend = $crate::store::Backend::Postgres;
                $body
            }
            $crate::store::Pools::Sqlite { $role: $pool, .. } => {
                #[allow(unused_variables, reason = "not every query differs per backend")]
                let $backend = $crate::store::Backend::Sqlite;
                $body
            }
        }
    };
}

/// [`on_pool!`] on the pool for writes and transactions.
macro_rules! on_writer {
    ($store:expr, $pool:ident => $body:expr) => {
        $crate::store::on_pool!($store, writer, $pool, _backend => $body)
    };
    ($store:expr, $pool:ident, $backend:ident => $body:expr) => {
        $crate::store::on_pool!($store, writer, $pool, $backend => $body)
    };
}

/// [`on_pool!`] for plain reads, which go to SQLite's reader connections.
macro_rules! on_reader {
    ($store:expr, $pool:ident => $body:expr) => {
        $crate::store::on_pool!($store, reader, $pool, _backend => $body)
    };
    ($store:expr, $pool:ident, $backend:ident => $body:expr) => {
        $crate::store::on_pool!($store, reader, $pool, $backend => $body)
    };
}
pub(crate) use {on_pool, on_reader, on_writer};

#[derive(Clone)]
pub struct Store {
    pools: Pools,
    files: Vec<std::path::PathBuf>,
}

/// Reader connections of an SQLite store.
const SQLITE_READERS: u32 = 4;

static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");

impl Store {
    /// Opens the database named by `SqlSettings` and brings its schema up to date.
    pub async fn open(settings: &SqlSettings) -> Result<Store, OpenError> {
        if settings.driver_name == "postgres" {
            // While PostgreSQL is unreachable sqlx keeps trying to connect until the
            // acquire timeout, so that timeout is how long a request takes to get its
            // 503: short enough for clients to retry soon and for requests not to pile
            // up, and still far above any wait for a connection in normal operation.
            let pool = PgPoolOptions::new()
                .acquire_timeout(Duration::from_secs(3))
                .max_connections(settings.max_open_conns.max(2))
                .connect(&settings.data_source)
                .await
                .map_err(OpenError::Connect)?;
            POSTGRES_MIGRATIONS.run(&pool).await?;
            return Ok(Store {
                pools: Pools::Postgres(pool),
                files: Vec::new(),
            });
        }
        let (options, path) = sqlite_options(&settings.data_source)?;
        // SQLite cannot go away, but its one writer connection can be queued for under
        // load, so it keeps a longer wait.
        let pool_options = |connections: u32| -> PoolOptions<sqlx::Sqlite> {
            SqlitePoolOptions::new()
                .acquire_timeout(Duration::from_secs(10))
                .max_connections(connections)
        };
        let writer = pool_options(1)
            .connect_with(options.clone())
            .await
            .map_err(OpenError::Connect)?;
        SQLITE_MIGRATIONS.run(&writer).await?;
        let reader = pool_options(SQLITE_READERS)
            .connect_with(options)
            .await
            .map_err(OpenError::Connect)?;
        let files = ["", "-wal", "-shm"]
            .iter()
            .map(|suffix| std::path::PathBuf::from(format!("{path}{suffix}")))
            .collect();
        Ok(Store {
            pools: Pools::Sqlite { writer, reader },
            files,
        })
    }

    /// The database's files on this machine (SQLite's file and its journals), which no
    /// plugin may touch; none for PostgreSQL.
    pub fn files(&self) -> Vec<std::path::PathBuf> {
        self.files.clone()
    }

    pub fn backend(&self) -> Backend {
        match self.pools {
            Pools::Postgres(_) => Backend::Postgres,
            Pools::Sqlite { .. } => Backend::Sqlite,
        }
    }

    /// A cheap round trip, for health checks.
    pub async fn ping(&self) -> StoreResult<()> {
        on_writer!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(drop))?;
        Ok(())
    }

    /// Runs one statement of raw SQL with no parameters, for tests and diagnostics
    /// that look under the store (to show that a refused request wrote nothing, or to
    /// age a row); answers the rows it changed.
    pub async fn execute_raw(&self, sql: &str) -> StoreResult<u64> {
        let done = on_writer!(self, pool => sqlx::query(sql).execute(pool).await.map(|d| d.rows_affected()))?;
        Ok(done)
    }

    /// The one integer a raw query answers (`SELECT COUNT(*) …`), beside
    /// [`Store::execute_raw`].
    pub async fn scalar_raw(&self, sql: &str) -> StoreResult<i64> {
        let value = on_writer!(self, pool => sqlx::query_scalar(sql).fetch_one(pool).await)?;
        Ok(value)
    }

    pub async fn close(&self) {
        match &self.pools {
            Pools::Postgres(pool) => pool.close().await,
            Pools::Sqlite { writer, reader } => {
                reader.close().await;
                writer.close().await;
            }
        }
    }
}

/// Connection options for a plain path (`./data/chorus.db`) or an `sqlite:` URL,
/// creating the file (and a path's parent folder) when missing, with the pragmas every
/// connection needs, and the file's path. WAL lets readers proceed during a write;
/// NORMAL sync is durable across process crashes (not power loss), as most embedded
/// deployments want.
fn sqlite_options(data_source: &str) -> Result<(SqliteConnectOptions, String), OpenError> {
    let options = if data_source.starts_with("sqlite:") {
        SqliteConnectOptions::from_str(data_source).map_err(OpenError::Connect)?
    } else {
        let path = std::path::Path::new(data_source);
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| OpenError::DataDir {
                path: parent.display().to_string(),
                source,
            })?;
        }
        SqliteConnectOptions::new().filename(path)
    };
    let path = options.get_filename().display().to_string();
    let options = options
        .create_if_missing(true)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5));
    Ok((options, path))
}

/// A list of ids (or keys) bound as one parameter, whatever its length: an array on
/// PostgreSQL (for `= ANY($n)`), a JSON array on SQLite, which has no arrays (for
/// `IN (SELECT value FROM json_each($n))`).
pub(super) struct IdList<'a>(pub &'a [String]);

impl sqlx::Type<sqlx::Postgres> for IdList<'_> {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <&[String] as sqlx::Type<sqlx::Postgres>>::type_info()
    }
}

impl<'q> sqlx::Encode<'q, sqlx::Postgres> for IdList<'_> {
    fn encode_by_ref(
        &self,
        buf: &mut sqlx::postgres::PgArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <&[String] as sqlx::Encode<'q, sqlx::Postgres>>::encode_by_ref(&self.0, buf)
    }
}

impl sqlx::Type<sqlx::Sqlite> for IdList<'_> {
    fn type_info() -> sqlx::sqlite::SqliteTypeInfo {
        <String as sqlx::Type<sqlx::Sqlite>>::type_info()
    }
}

impl<'q> sqlx::Encode<'q, sqlx::Sqlite> for IdList<'_> {
    fn encode_by_ref(
        &self,
        buf: &mut Vec<sqlx::sqlite::SqliteArgumentValue<'q>>,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        let json = serde_json::to_string(self.0)?;
        <String as sqlx::Encode<'q, sqlx::Sqlite>>::encode(json, buf)
    }
}
