//! What the nodes of a deployment tell each other: the vocabulary shared by the bus
//! (which carries it) and the dispatcher (which applies it).

use chorus_model::WebSocketEvent;
use serde::{Deserialize, Serialize};

/// What nodes tell each other.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ClusterMessage {
    /// A websocket event for `audience` (`None`: every user connected to the node).
    WebsocketEvent {
        event: WebSocketEvent,
        audience: Option<Vec<String>>,
    },
    /// A session ended (logout): close its websockets.
    SessionRevoked { session_id: String },
    /// A plugin's stored bundle or enabled state changed: re-read it from the database.
    /// `retry_failed` restarts a copy that failed (an admin enabled it).
    PluginChanged {
        plugin_id: String,
        retry_failed: bool,
    },
    /// A plugin was removed: stop and delete the local copy, however it was deployed.
    PluginRemoved { plugin_id: String },
    /// A plugin's settings were saved: tell the local copy.
    PluginConfigChanged { plugin_id: String },
    /// `PublishPluginClusterEvent`: for the copies of `plugin_id` on every other node,
    /// or only on `target_node_id` when it is not empty.
    PluginClusterEvent {
        plugin_id: String,
        target_node_id: String,
        id: String,
        data: Vec<u8>,
    },
}
