//! The cluster: membership here; what nodes tell each other in [`messages`], carried
//! by the [`bus`] and applied by the [`dispatch`]er.
//!
//! Every node, clustered or not, records itself in the `cluster_nodes` table at start,
//! heartbeats every `ClusterSettings.HeartbeatSeconds`, and removes itself at a clean
//! stop. `GET /cluster/status` lists the nodes whose heartbeat is younger than
//! `NodeTimeoutSeconds`, so a killed node drops out on its own. The heartbeat also
//! rewrites this node's plugin statuses, so the cluster-wide picture stays fresh even
//! if a change notification was missed.

pub mod bus;
pub mod dispatch;
mod messages;

pub use messages::ClusterMessage;

use crate::lifecycle::Stage;
use crate::AppState;
use chorus_model::{now_millis, ClusterNode};
use std::sync::Arc;
use std::time::Duration;

/// This machine's host name, for operators reading the node list.
pub fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Records this node and keeps its heartbeat fresh until the node's services stop.
pub async fn start_membership(state: Arc<AppState>, address: String) {
    let now = now_millis();
    let node = ClusterNode {
        id: state.node_id.clone(),
        cluster_name: state.config.cluster_settings.cluster_name.clone(),
        hostname: hostname(),
        version: crate::SERVER_VERSION.to_string(),
        ipaddress: address,
        started_at: now,
        last_heartbeat_at: now,
    };
    if let Err(err) = state.store.register_node(&node).await {
        tracing::warn!(error = %err, "cannot record this node in cluster_nodes; retrying with the heartbeat");
    }
    let interval = Duration::from_secs(state.config.cluster_settings.heartbeat_seconds.max(1));
    let heartbeat_state = state.clone();
    let heartbeat = async move {
        let state = heartbeat_state;
        let mut tick = tokio::time::interval(interval);
        tick.tick().await;
        loop {
            tick.tick().await;
            let node = ClusterNode {
                last_heartbeat_at: now_millis(),
                ..node.clone()
            };
            // An upsert, so a node whose row was lost (database restored) comes back.
            if let Err(err) = state.store.register_node(&node).await {
                tracing::warn!(error = %err, "cluster heartbeat failed");
            }
        }
    };
    state.lifecycle.spawn(Stage::Services, heartbeat);
}

/// Live nodes of this node's cluster.
pub async fn live_nodes(state: &AppState) -> crate::store::StoreResult<Vec<ClusterNode>> {
    let settings = &state.config.cluster_settings;
    let since = now_millis() - (settings.node_timeout_seconds as i64) * 1000;
    state.store.live_nodes(&settings.cluster_name, since).await
}
