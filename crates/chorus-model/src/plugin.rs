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

/// A plugin's state on one node. On the wire (and in the database) it is Mattermost's
/// number for it; a number this version does not know reads as `NotRunning`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(into = "i32", from = "i32")]
pub enum PluginState {
    #[default]
    NotRunning,
    Starting,
    Running,
    FailedToStart,
    FailedToStayRunning,
    Stopping,
}

impl PluginState {
    /// Every state, in Mattermost's numbering order.
    pub const ALL: [PluginState; 6] = [
        PluginState::NotRunning,
        PluginState::Starting,
        PluginState::Running,
        PluginState::FailedToStart,
        PluginState::FailedToStayRunning,
        PluginState::Stopping,
    ];

    /// Mattermost's number for this state.
    pub const fn number(self) -> i32 {
        match self {
            PluginState::NotRunning => 0,
            PluginState::Starting => 1,
            PluginState::Running => 2,
            PluginState::FailedToStart => 3,
            PluginState::FailedToStayRunning => 4,
            PluginState::Stopping => 5,
        }
    }

    /// How a person reads it.
    pub const fn name(self) -> &'static str {
        match self {
            PluginState::NotRunning => "not running",
            PluginState::Starting => "starting",
            PluginState::Running => "running",
            PluginState::FailedToStart => "failed to start",
            PluginState::FailedToStayRunning => "failed to stay running",
            PluginState::Stopping => "stopping",
        }
    }

    /// Failed, and waiting for an admin.
    pub const fn is_failed(self) -> bool {
        matches!(
            self,
            PluginState::FailedToStart | PluginState::FailedToStayRunning
        )
    }
}

impl From<PluginState> for i32 {
    fn from(state: PluginState) -> i32 {
        state.number()
    }
}

impl From<i32> for PluginState {
    fn from(number: i32) -> PluginState {
        PluginState::ALL
            .into_iter()
            .find(|state| state.number() == number)
            .unwrap_or_default()
    }
}

/// One plugin on one node, as `GET /plugins/statuses` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct PluginStatus {
    pub plugin_id: String,
    pub cluster_id: String,
    pub plugin_path: String,
    pub state: PluginState,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_states_travel_as_mattermost_numbers() {
        for (number, state) in PluginState::ALL.into_iter().enumerate() {
            let number = number as i32;
            assert_eq!(state.number(), number);
            assert_eq!(serde_json::to_string(&state).unwrap(), number.to_string());
            assert_eq!(
                serde_json::from_str::<PluginState>(&number.to_string()).unwrap(),
                state
            );
        }
        let status: PluginStatus = serde_json::from_str(r#"{"state":4}"#).unwrap();
        assert_eq!(status.state, PluginState::FailedToStayRunning);
        assert!(status.state.is_failed());
        assert_eq!(PluginState::from(99), PluginState::NotRunning);
    }
}
