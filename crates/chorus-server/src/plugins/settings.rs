//! Plugin settings: the values a plugin sees (schema defaults, the config file, what
//! was saved for the cluster) and telling each plugin when its saved settings change.

use super::{PluginError, PluginManager};
use crate::store::{JsonObject, Store};
use std::collections::BTreeMap;

impl PluginManager {
    /// Compares saved plugin settings with those last seen; changed plugins get
    /// `OnConfigurationChange`. The first call only records what it sees.
    pub async fn check_configurations(&self, store: &Store) {
        let configs: BTreeMap<String, JsonObject> = match store.all_plugin_configs().await {
            Ok(configs) => configs.into_iter().collect(),
            Err(err) => {
                tracing::warn!(error = %err, "cannot read plugin settings");
                return;
            }
        };
        let mut seen = self.seen_configs.lock().await;
        if let Some(previous) = seen.as_ref() {
            for (id, config) in &configs {
                if previous.get(id) != Some(config) {
                    self.on_configuration_change(id);
                }
            }
        }
        *seen = Some(configs);
    }

    /// A plugin's settings: `settings_schema` defaults, overlaid by
    /// `PluginSettings.Plugins[id]`, overlaid by what was saved through the API. Keys
    /// match case-insensitively and keep the schema's spelling.
    pub async fn plugin_config(
        &self,
        store: &Store,
        plugin_id: &str,
    ) -> Result<serde_json::Map<String, serde_json::Value>, PluginError> {
        let slot = self
            .slot(plugin_id)
            .ok_or_else(|| PluginError::NotFound(plugin_id.into()))?;
        let mut config = serde_json::Map::new();
        if let Some(schema) = &slot.manifest.settings_schema {
            for setting in &schema.settings {
                if !setting.key.is_empty() {
                    config.insert(setting.key.clone(), setting.default.clone());
                }
            }
        }
        let mut overlay = |values: &serde_json::Map<String, serde_json::Value>| {
            for (key, value) in values {
                let existing = config.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned();
                config.insert(existing.unwrap_or_else(|| key.clone()), value.clone());
            }
        };
        if let Some(serde_json::Value::Object(values)) =
            self.context.settings.plugins.get(plugin_id)
        {
            overlay(values);
        }
        if let Some(saved) = store.plugin_config(plugin_id).await? {
            overlay(&saved);
        }
        Ok(config)
    }
}
