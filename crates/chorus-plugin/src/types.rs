//! The data types that only plugins have: the [`Context`] of a hook call and the
//! [`ClusterEvent`] one copy of a plugin sends the others. Everything else a hook
//! receives or an API call takes (posts, users, channels, commands, ...) is
//! `chorus-model`'s type, re-exported at the crate root, converted by
//! `chorus_plugin_protocol::convert`.

use chorus_plugin_protocol::v1;
use serde::{Deserialize, Serialize};

/// Facts about the request that caused a hook. Fields are empty when unknown (for
/// example `user_id` for a system action).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Context {
    pub request_id: String,
    /// The user whose action caused the hook; empty for system actions.
    pub user_id: String,
    pub session_id: String,
    /// The app server (cluster node) the hook runs on.
    pub node_id: String,
}

impl From<v1::Context> for Context {
    fn from(c: v1::Context) -> Self {
        Context {
            request_id: c.request_id,
            user_id: c.user_id,
            session_id: c.session_id,
            node_id: c.node_id,
        }
    }
}

impl From<Context> for v1::Context {
    fn from(c: Context) -> Self {
        v1::Context {
            request_id: c.request_id,
            user_id: c.user_id,
            session_id: c.session_id,
            node_id: c.node_id,
        }
    }
}

/// A message from another running copy of this plugin, sent with
/// [`crate::Api::publish_plugin_cluster_event`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterEvent {
    pub id: String,
    pub data: Vec<u8>,
    /// The node the event was published on.
    pub source_node_id: String,
}

impl From<v1::PluginClusterEvent> for ClusterEvent {
    fn from(e: v1::PluginClusterEvent) -> Self {
        ClusterEvent {
            id: e.id,
            data: e.data,
            source_node_id: e.source_node_id,
        }
    }
}

impl From<ClusterEvent> for v1::PluginClusterEvent {
    fn from(e: ClusterEvent) -> Self {
        v1::PluginClusterEvent {
            id: e.id,
            data: e.data,
            source_node_id: e.source_node_id,
        }
    }
}
