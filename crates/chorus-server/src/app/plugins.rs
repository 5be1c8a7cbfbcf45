//! What a plugin may do through its API, whichever protocol it speaks: its own KV
//! keys (under the rules of `chorus_plugin_protocol::kv`), its settings, websocket
//! events under its own name, and cluster events to its copies on other nodes. Posts,
//! channels and users go through the same operations as everyone else's, with
//! [`Actor::Plugin`](super::Actor::Plugin).

use crate::cluster::ClusterMessage;
use crate::error::{AppError, AppResult, Code};
use crate::store::{JsonObject, KvWrite};
use crate::AppState;
use chorus_model::{Broadcast, WebSocketEvent};
use chorus_plugin_protocol::kv::{self, KvRuleError};

impl From<KvRuleError> for AppError {
    fn from(err: KvRuleError) -> AppError {
        let code = match err {
            KvRuleError::Key { .. } => Code::KvKeyInvalid,
            KvRuleError::ValueTooLarge(_) => Code::KvValueTooLarge,
            KvRuleError::NegativeExpiry | KvRuleError::TooManyKeys(_) => Code::InvalidParam,
        };
        code.with_message(err.to_string())
    }
}

/// A plugin's websocket event, before it is named and sent.
#[derive(Debug, Default)]
pub struct PluginEvent {
    pub event: String,
    pub data: serde_json::Map<String, serde_json::Value>,
    pub broadcast: Broadcast,
}

impl AppState {
    /// Sets, deletes (`write.value` is `None`) or compare-and-sets one of the plugin's
    /// keys; `false` when a compare-and-set found another value.
    pub async fn kv_write(&self, plugin_id: &str, key: &str, write: KvWrite) -> AppResult<bool> {
        kv::check_write(key, write.value.as_deref(), write.expire_in_seconds)?;
        Ok(self.store.kv_write(plugin_id, key, &write).await?)
    }

    pub async fn kv_get(&self, plugin_id: &str, key: &str) -> AppResult<Option<Vec<u8>>> {
        kv::check_key(key)?;
        Ok(self.store.kv_get(plugin_id, key).await?)
    }

    pub async fn kv_get_many(
        &self,
        plugin_id: &str,
        keys: &[String],
    ) -> AppResult<Vec<(String, Vec<u8>)>> {
        kv::check_keys(keys)?;
        Ok(self.store.kv_get_many(plugin_id, keys).await?)
    }

    pub async fn kv_delete_all(&self, plugin_id: &str) -> AppResult<()> {
        Ok(self.store.kv_delete_all(plugin_id).await?)
    }

    /// One page of the plugin's keys starting with `prefix`, sorted.
    pub async fn kv_list(
        &self,
        plugin_id: &str,
        prefix: &str,
        page: u32,
        per_page: u32,
    ) -> AppResult<Vec<String>> {
        let per_page = kv::list_page_size(per_page);
        Ok(self
            .store
            .kv_list(plugin_id, prefix, i64::from(page), i64::from(per_page))
            .await?)
    }

    /// A plugin's settings: `settings_schema` defaults, overlaid by
    /// `PluginSettings.Plugins[id]`, overlaid by what was saved through the API.
    pub async fn plugin_settings(
        &self,
        plugin_id: &str,
    ) -> AppResult<serde_json::Map<String, serde_json::Value>> {
        self.plugins
            .plugin_config(&self.store, plugin_id)
            .await
            .map_err(|e| AppError::Internal(e.to_string()))
    }

    /// Saves a plugin's settings for the cluster. Every copy of the plugin, on every
    /// node, gets `OnConfigurationChange`: this node's through the same content check
    /// the bus triggers elsewhere.
    pub async fn save_plugin_config(&self, plugin_id: &str, config: &JsonObject) -> AppResult<()> {
        self.store.save_plugin_config(plugin_id, config).await?;
        self.plugins.request_configuration_check();
        self.tell_cluster(ClusterMessage::PluginConfigChanged {
            plugin_id: plugin_id.to_string(),
        });
        Ok(())
    }

    /// Publishes `custom_<plugin id>_<event>` to the broadcast's audience.
    pub async fn publish_plugin_event(&self, plugin_id: &str, event: PluginEvent) -> AppResult<()> {
        if event.event.is_empty() {
            return Err(Code::WebsocketEventInvalid.with_message("the event name is required"));
        }
        self.publish(WebSocketEvent {
            event: format!("custom_{plugin_id}_{}", event.event),
            data: event.data,
            broadcast: event.broadcast,
            seq: 0,
        })
        .await
    }

    /// Sends a plugin's cluster event to its copies on the other nodes (all of them,
    /// or the one it names). A single node has no other copy to reach.
    pub fn publish_plugin_cluster_event(
        &self,
        plugin_id: &str,
        id: String,
        data: Vec<u8>,
        target_node_id: String,
    ) -> AppResult<()> {
        if id.is_empty() {
            return Err(Code::InvalidParam.with_message("the event id is required"));
        }
        if target_node_id == self.node_id {
            return Ok(());
        }
        self.tell_cluster(ClusterMessage::PluginClusterEvent {
            plugin_id: plugin_id.to_string(),
            target_node_id,
            id,
            data,
        });
        Ok(())
    }
}

/// The `systems` row of the deployment's telemetry id (Mattermost's name).
const DIAGNOSTIC_ID: &str = "DiagnosticId";

impl AppState {
    /// The plugin API's `GetDiagnosticId`: made by whichever node asks first.
    pub async fn diagnostic_id(&self) -> AppResult<String> {
        Ok(self
            .store
            .system_value_or_insert(DIAGNOSTIC_ID, &chorus_model::new_id())
            .await?)
    }

    /// The plugin API's `GetPluginStatus`: a plugin's status on this node.
    pub fn plugin_status_here(&self, plugin_id: &str) -> AppResult<chorus_model::PluginStatus> {
        self.plugins
            .statuses()
            .into_iter()
            .find(|s| s.plugin_id == plugin_id)
            .ok_or_else(|| {
                Code::PluginNotFound
                    .with_message(format!("No plugin with id {plugin_id:?} is installed."))
            })
    }
}
