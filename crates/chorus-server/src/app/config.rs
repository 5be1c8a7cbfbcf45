//! The running configuration as admins see it (secrets redacted, plugin states and
//! settings as the cluster holds them), the one part of it changeable at runtime
//! (`PluginSettings.Plugins`, checked against each plugin's `settings_schema`), and
//! the cluster's live nodes; and the client configuration every client reads at start-up.

use super::permissions::require_admin;
use super::Actor;
use crate::error::{AppError, AppResult, Code};
use crate::security::digest::sha256_hex;
use crate::AppState;
use chorus_model::ClusterNode;
use std::collections::BTreeMap;

/// What `GET /config/client` answers (Mattermost's "old format": every value a string),
/// and the `X-Version-Id` header that carries its hash so that clients notice a change.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub values: BTreeMap<&'static str, String>,
    pub version_id: String,
}

impl ClientConfig {
    pub fn new(config: &crate::Config) -> ClientConfig {
        let flag = |on: bool| if on { "true" } else { "false" }.to_string();
        let service = &config.service_settings;
        let team = &config.team_settings;
        let build_number = format!("chorus-{}", crate::SERVER_VERSION);
        let values: BTreeMap<&'static str, String> = [
            ("Version", crate::MATTERMOST_VERSION.to_string()),
            ("BuildNumber", build_number.clone()),
            ("BuildDate", String::new()),
            ("BuildHash", String::new()),
            ("BuildHashEnterprise", "none".into()),
            ("BuildEnterpriseReady", flag(false)),
            ("SiteURL", service.site_url.clone()),
            ("SiteName", "Chorus".into()),
            (
                "EnableUserAccessTokens",
                flag(service.enable_user_access_tokens),
            ),
            (
                "EnableBotAccountCreation",
                flag(service.enable_bot_account_creation),
            ),
            ("EnableUserCreation", flag(team.enable_user_creation)),
            ("EnableOpenServer", flag(team.enable_open_server)),
            ("EnableSignUpWithEmail", flag(team.enable_user_creation)),
            ("EnableSignInWithEmail", flag(true)),
            ("EnableSignInWithUsername", flag(true)),
            ("EnableMultifactorAuthentication", flag(false)),
            ("EnableGuestAccounts", flag(false)),
            ("EnableCommands", flag(service.enable_commands)),
            (
                "EnableOutgoingWebhooks",
                flag(service.enable_outgoing_webhooks),
            ),
            (
                "EnableIncomingWebhooks",
                flag(service.enable_incoming_webhooks),
            ),
            (
                "EnablePostUsernameOverride",
                flag(service.enable_post_username_override),
            ),
            (
                "EnablePostIconOverride",
                flag(service.enable_post_icon_override),
            ),
            ("PluginsEnabled", flag(config.plugin_settings.enable)),
            (
                "EnableFileAttachments",
                flag(config.file_settings.enable_file_attachments),
            ),
            (
                "EnableMobileFileUpload",
                flag(config.file_settings.enable_file_attachments),
            ),
            ("EnableMobileFileDownload", flag(true)),
            (
                "EnablePublicLink",
                flag(config.file_settings.enable_public_link),
            ),
            (
                "MaxFileSize",
                config.file_settings.max_file_size.to_string(),
            ),
            // What Chorus does not serve yet is reported off, so clients hide it.
            ("EnableCustomEmoji", flag(false)),
            ("CollapsedThreads", "disabled".into()),
            ("TeammateNameDisplay", "username".into()),
        ]
        .into_iter()
        .collect();
        let serialized = serde_json::to_vec(&values).unwrap_or_default();
        let hash = sha256_hex(&serialized, 16);
        // Mattermost's layout: version, build number, client config hash, licensed.
        let version_id = format!("{}.{build_number}.{hash}.false", crate::MATTERMOST_VERSION);
        ClientConfig { values, version_id }
    }
}

impl AppState {
    /// The configuration as the admin sees it: `PluginSettings.Plugins` holds the file's
    /// values with the settings saved since (through the API or by plugins) laid over them,
    /// and `PluginSettings.PluginStates` the enabled states in force for the cluster.
    pub async fn running_config(&self, actor: Actor<'_>) -> AppResult<serde_json::Value> {
        require_admin(actor)?;
        let mut config =
            serde_json::to_value(&self.config).map_err(|e| AppError::Internal(e.to_string()))?;
        config["SqlSettings"]["DataSource"] = serde_json::Value::String("********".into());
        config["FileSettings"]["PublicLinkSalt"] = serde_json::Value::String("********".into());
        // The enabled states chosen through the API (stored for the cluster) win over
        // the file's, as they do when plugins start.
        let states = &mut config["PluginSettings"]["PluginStates"];
        if !states.is_object() {
            *states = serde_json::json!({});
        }
        for (plugin_id, enabled) in self.store.plugin_states().await? {
            states[plugin_id.as_str()] = serde_json::json!({ "Enable": enabled });
        }
        let plugins = &mut config["PluginSettings"]["Plugins"];
        if !plugins.is_object() {
            *plugins = serde_json::json!({});
        }
        for (plugin_id, saved) in self.store.all_plugin_configs().await? {
            let entry = &mut plugins[plugin_id.as_str()];
            if !entry.is_object() {
                *entry = serde_json::json!({});
            }
            if let Some(entry) = entry.as_object_mut() {
                entry.extend(saved);
            }
        }
        Ok(config)
    }

    /// Changes plugin settings, the one part of the configuration
    /// that is kept in the database (the rest comes from each node's file and environment,
    /// see configuration.md). Values are checked against the plugin's `settings_schema`
    /// when this node has the plugin, merged into its saved settings, and every copy of
    /// the plugin on every node gets `OnConfigurationChange`.
    pub async fn patch_config(
        &self,
        actor: Actor<'_>,
        patch: serde_json::Map<String, serde_json::Value>,
    ) -> AppResult<serde_json::Value> {
        require_admin(actor)?;
        let refuse = |what: &str| {
            Code::ConfigRestricted.with_message(format!(
                "{what} cannot be changed at runtime: only PluginSettings.Plugins can. \
                 Change the other settings in each node's config file or environment."
            ))
        };
        let mut plugins = serde_json::Map::new();
        for (section, value) in patch {
            if section != "PluginSettings" {
                return Err(refuse(&section));
            }
            let serde_json::Value::Object(settings) = value else {
                return Err(
                    Code::ConfigRestricted.with_message("PluginSettings must be an object.")
                );
            };
            for (key, value) in settings {
                if key != "Plugins" {
                    return Err(refuse(&format!("PluginSettings.{key}")));
                }
                let serde_json::Value::Object(by_plugin) = value else {
                    return Err(Code::ConfigRestricted.with_message(
                        "PluginSettings.Plugins must be an object keyed by plugin id.",
                    ));
                };
                plugins.extend(by_plugin);
            }
        }
        let mut changes = Vec::new();
        for (plugin_id, values) in plugins {
            let serde_json::Value::Object(values) = values else {
                return Err(Code::ConfigRestricted.with_message(format!(
                    "PluginSettings.Plugins.{plugin_id} must be an object of settings."
                )));
            };
            if !self.plugins.is_known(&self.store, &plugin_id).await? {
                return Err(Code::PluginNotInstalled
                    .with_message(format!("Plugin {plugin_id} is not installed.")));
            }
            if let Some(slot) = self.plugins.slot(&plugin_id) {
                if let Some(schema) = &slot.manifest.settings_schema {
                    check_plugin_settings(&plugin_id, schema, &values)
                        .map_err(|message| Code::ConfigRestricted.with_message(message))?;
                }
            }
            changes.push((plugin_id, values));
        }
        // Everything was checked before anything is written: a bad value changes nothing.
        for (plugin_id, values) in changes {
            let mut saved = self
                .store
                .plugin_config(&plugin_id)
                .await?
                .unwrap_or_default();
            saved.extend(values);
            self.save_plugin_config(&plugin_id, &saved).await?;
        }
        self.running_config(actor).await
    }

    /// The live nodes of this deployment.
    pub async fn cluster_nodes(&self, actor: Actor<'_>) -> AppResult<Vec<ClusterNode>> {
        require_admin(actor)?;
        Ok(crate::cluster::live_nodes(self).await?)
    }
}

/// Checks each value against the type its manifest declares; keys the schema does not
/// declare are refused, since a typo would otherwise be saved and silently ignored.
fn check_plugin_settings(
    plugin_id: &str,
    schema: &chorus_model::SettingsSchema,
    values: &serde_json::Map<String, serde_json::Value>,
) -> Result<(), String> {
    use serde_json::Value;
    for (key, value) in values {
        let Some(setting) = schema
            .settings
            .iter()
            .find(|setting| !setting.key.is_empty() && setting.key.eq_ignore_ascii_case(key))
        else {
            return Err(format!("{key} is not a setting of plugin {plugin_id}."));
        };
        let name = if setting.display_name.is_empty() {
            &setting.key
        } else {
            &setting.display_name
        };
        let fits = match setting.setting_type.as_str() {
            "bool" => value.is_boolean(),
            "number" => value.is_number(),
            "dropdown" | "radio" => value.as_str().is_some_and(|chosen| {
                setting.options.is_empty()
                    || setting.options.iter().any(|option| option.value == chosen)
            }),
            "text" | "longtext" | "username" | "generated" | "color" => value.is_string(),
            _ => !matches!(value, Value::Object(_)),
        };
        if !fits {
            let expected = match setting.setting_type.as_str() {
                "bool" => "true or false".to_string(),
                "number" => "a number".to_string(),
                "dropdown" | "radio" => format!(
                    "one of {}",
                    setting
                        .options
                        .iter()
                        .map(|option| format!("\"{}\"", option.value))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                _ => "text".to_string(),
            };
            return Err(format!(
                "{name} ({plugin_id}) must be {expected}, not {value}."
            ));
        }
    }
    Ok(())
}
