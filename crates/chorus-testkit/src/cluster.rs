//! Clusters for tests and benchmarks: `chorus_launcher`'s clusters with the test
//! defaults (this workspace's `chorus`, the shared test PostgreSQL server), setup
//! failures as panics carrying the node's log, and an unreachable PostgreSQL as a
//! skip outside CI (see `database`). Everything else about a [`Cluster`] (its nodes,
//! killing, stopping) is the launcher's, reached through `Deref`.

use crate::database::{postgres_admin_url, skip_or_fail};
use std::ops::{Deref, DerefMut};
use std::path::PathBuf;

pub use chorus_launcher::{free_port, Node};

/// The `chorus` executable: `CHORUS_BIN` when set, else this workspace's build of the
/// same profile, built once per run when needed.
pub fn chorus_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("CHORUS_BIN") {
        return PathBuf::from(path);
    }
    crate::plugins::built_package("chorus")
}

pub struct ClusterBuilder {
    nodes: usize,
    sqlite: bool,
    admin_url: Option<String>,
    binary: Option<PathBuf>,
    env: Vec<(String, String)>,
}

impl ClusterBuilder {
    pub fn nodes(mut self, nodes: usize) -> Self {
        self.nodes = nodes;
        self
    }

    /// The `chorus` executable to run (default [`chorus_binary`]).
    pub fn binary(mut self, path: impl Into<PathBuf>) -> Self {
        self.binary = Some(path.into());
        self
    }

    /// The PostgreSQL server to create the cluster's database on (its admin URL);
    /// default the shared test server.
    pub fn postgres(mut self, admin_url: &str) -> Self {
        self.admin_url = Some(admin_url.to_string());
        self
    }

    /// One node on its own SQLite file instead of a cluster on PostgreSQL.
    pub fn sqlite(mut self) -> Self {
        self.sqlite = true;
        self.nodes = 1;
        self
    }

    /// An extra `CHORUS_<SECTION>_<KEY>` setting for every node.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Starts the nodes one after the other (the first one migrates the database) and
    /// waits until each answers. `None` when PostgreSQL is unreachable outside CI.
    pub async fn start(self) -> Option<Cluster> {
        let admin_url = self.admin_url.unwrap_or_else(postgres_admin_url);
        let binary = self.binary.unwrap_or_else(chorus_binary);
        let mut builder = chorus_launcher::Cluster::builder(binary, &admin_url);
        if self.sqlite {
            builder = builder.sqlite();
        }
        builder = builder.nodes(self.nodes);
        for (key, value) in &self.env {
            builder = builder.env(key, value);
        }
        match builder.start().await {
            Ok(launched) => Some(Cluster { launched }),
            Err(error) => skip_or_fail(error),
        }
    }
}

pub struct Cluster {
    launched: chorus_launcher::Cluster,
}

impl Deref for Cluster {
    type Target = chorus_launcher::Cluster;

    fn deref(&self) -> &Self::Target {
        &self.launched
    }
}

impl DerefMut for Cluster {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.launched
    }
}

impl Cluster {
    pub fn builder() -> ClusterBuilder {
        ClusterBuilder {
            nodes: 3,
            sqlite: false,
            admin_url: None,
            binary: None,
            env: Vec::new(),
        }
    }

    /// `nodes` nodes with the default settings.
    pub async fn start(nodes: usize) -> Option<Cluster> {
        Cluster::builder().nodes(nodes).start().await
    }

    /// Starts node `index` again, on the same port and folder, and waits until ready.
    pub async fn restart(&mut self, index: usize) {
        if let Err(error) = self.launched.restart(index).await {
            panic!("{error}");
        }
    }

    /// Adds a node (a late joiner) and waits until it is ready; returns its index.
    pub async fn add_node(&mut self) -> usize {
        self.launched
            .add_node()
            .await
            .unwrap_or_else(|error| panic!("{error}"))
    }

    /// Stops every node politely and drops the database.
    pub async fn shutdown(self) {
        self.launched.shutdown().await
    }
}

impl crate::client::Endpoint for Node {
    fn base_url(&self) -> String {
        Node::base_url(self)
    }
}
