//! Throwaway clusters of real `chorus server` processes, for `chorus plugin check-ha`
//! and, through `chorus-testkit`, for tests and benchmarks: a fresh database on a
//! PostgreSQL server (`database`), and N nodes on it (`cluster`) that can be killed,
//! stopped, restarted and added to. Nothing here is test code: failures are
//! [`LaunchError`]s for the caller to report.

mod cluster;
mod database;

pub use cluster::{free_port, Cluster, ClusterBuilder, Node, LOGINS_PER_MINUTE};
pub use database::{create_database, drop_database, with_database};

/// Why a cluster (or one of its nodes, or its database) could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("PostgreSQL is unreachable at {url}: {reason}")]
    PostgresUnreachable { url: String, reason: String },
    #[error("cannot create a database: {0}")]
    Database(String),
    #[error("cannot start {binary}: {reason}")]
    Spawn { binary: String, reason: String },
    #[error("node {index} did not become ready; its log:\n{log}")]
    NotReady { index: usize, log: String },
    #[error("{what}: {source}")]
    Io {
        what: &'static str,
        source: std::io::Error,
    },
}
