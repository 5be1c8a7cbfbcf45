//! The dispatcher: applies to this node what the other nodes tell it through the bus
//! (websocket events to deliver, sessions to close, plugin changes to pick up), in
//! the order it arrives, and re-reads the shared state after the bus may have lost
//! messages: plugin bundles, states and settings, and the sessions behind this
//! node's websockets. Websocket events missed in that window are not replayed;
//! clients learn of the gap as after any reconnection.

use super::bus::Delivery;
use super::ClusterMessage;
use crate::AppState;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Applies deliveries until the bus stops handing them over.
pub async fn run(state: Arc<AppState>, mut deliveries: mpsc::Receiver<Delivery>) {
    while let Some(delivery) = deliveries.recv().await {
        match delivery {
            Delivery::Message { origin, message } => apply(&state, &origin, message),
            Delivery::Reconnected => resync(&state).await,
        }
    }
}

/// Applies one message from the node `origin`.
fn apply(state: &AppState, origin: &str, message: ClusterMessage) {
    match message {
        ClusterMessage::WebsocketEvent { event, audience } => {
            let audience = audience.unwrap_or_else(|| state.hub.connected_users());
            state.hub.deliver(&event, &audience);
        }
        ClusterMessage::SessionRevoked { session_id } => state.hub.close_session_id(&session_id),
        ClusterMessage::PluginChanged {
            plugin_id,
            retry_failed,
        } => state.plugins.request_sync(Some(plugin_id), retry_failed),
        ClusterMessage::PluginRemoved { plugin_id } => state.plugins.request_removal(plugin_id),
        ClusterMessage::PluginConfigChanged { .. } => state.plugins.request_configuration_check(),
        ClusterMessage::PluginClusterEvent {
            plugin_id,
            target_node_id,
            id,
            data,
        } => {
            if target_node_id.is_empty() || target_node_id == state.node_id {
                state.plugins.deliver_plugin_cluster_event(
                    &plugin_id,
                    chorus_plugin_protocol::v1::PluginClusterEvent {
                        id,
                        data,
                        source_node_id: origin.to_string(),
                    },
                );
            }
        }
    }
}

/// Re-reads what this node may have missed while it was not listening.
async fn resync(state: &AppState) {
    state.plugins.request_sync(None, false);
    state.plugins.request_configuration_check();
    let sessions = state.hub.session_ids();
    match state.store.live_session_ids(&sessions).await {
        Ok(live) => {
            for session_id in sessions.iter().filter(|id| !live.contains(id)) {
                state.hub.close_session_id(session_id);
            }
        }
        Err(err) => tracing::warn!(error = %err, "cannot re-check websocket sessions"),
    }
}
