//! What the system tests share: clusters of this build's `chorus`, and `chorus`
//! commands that inherit nothing from the caller's environment that could change their
//! behaviour (a `CHORUS_URL` or `CHORUS_TOKEN`, say).

use chorus_testkit::cluster::ClusterBuilder;
use chorus_testkit::Cluster;

pub fn cluster_builder(nodes: usize) -> ClusterBuilder {
    Cluster::builder()
        .nodes(nodes)
        .binary(env!("CARGO_BIN_EXE_chorus"))
}

/// `nodes` nodes on a fresh database; `None` skips the test (only outside CI, when
/// PostgreSQL is unreachable).
pub async fn start_cluster(nodes: usize) -> Option<Cluster> {
    cluster_builder(nodes).start().await
}

/// `chorus`, without the caller's `CHORUS_*` variables.
pub fn chorus_command() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_chorus"));
    for (key, _) in std::env::vars() {
        if key.starts_with("CHORUS_") {
            command.env_remove(key);
        }
    }
    command
}
