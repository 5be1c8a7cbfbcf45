//! Plugin manifests (`plugin.json` / `plugin.yaml`), plugin statuses and the plugin
//! lists of the REST API, in Mattermost's shapes.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A plugin's manifest. Unknown fields are kept out; `props` carries free-form data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Manifest {
    pub id: String,
    pub name: String,
    pub description: String,
    pub homepage_url: String,
    pub support_url: String,
    pub release_notes_url: String,
    pub icon_path: String,
    pub version: String,
    pub min_server_version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<ManifestServer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webapp: Option<ManifestWebapp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settings_schema: Option<SettingsSchema>,
    pub props: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ManifestServer {
    /// Executables keyed `<os>-<arch>` with Go's names: `linux-amd64`, `darwin-arm64`…
    pub executables: BTreeMap<String, String>,
    /// Used when no entry of `executables` matches the host.
    pub executable: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ManifestWebapp {
    pub bundle_path: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct SettingsSchema {
    pub header: String,
    pub footer: String,
    pub settings: Vec<PluginSetting>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct PluginSetting {
    pub key: String,
    pub display_name: String,
    #[serde(rename = "type")]
    pub setting_type: String,
    pub help_text: String,
    pub placeholder: String,
    pub default: serde_json::Value,
    pub options: Vec<PluginOption>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct PluginOption {
    pub display_name: String,
    pub value: String,
}

/// Plugin states as Mattermost numbers them.
pub mod plugin_state {
    pub const NOT_RUNNING: i32 = 0;
    pub const STARTING: i32 = 1;
    pub const RUNNING: i32 = 2;
    pub const FAILED_TO_START: i32 = 3;
    pub const FAILED_TO_STAY_RUNNING: i32 = 4;
    pub const STOPPING: i32 = 5;
}

/// One plugin on one node, as `GET /plugins/statuses` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct PluginStatus {
    pub plugin_id: String,
    pub cluster_id: String,
    pub plugin_path: String,
    pub state: i32,
    pub error: String,
    pub name: String,
    pub description: String,
    pub version: String,
}

/// `GET /plugins`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct PluginsResponse {
    pub active: Vec<Manifest>,
    pub inactive: Vec<Manifest>,
}

/// One entry of `GET /plugins/webapp`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct WebappPlugin {
    pub id: String,
    pub version: String,
    pub webapp: ManifestWebapp,
}

/// One live node of a deployment, as `GET /cluster/status` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ClusterNode {
    pub id: String,
    pub cluster_name: String,
    pub hostname: String,
    pub version: String,
    /// The address the node's HTTP server listens on.
    pub ipaddress: String,
    pub started_at: i64,
    pub last_heartbeat_at: i64,
}
