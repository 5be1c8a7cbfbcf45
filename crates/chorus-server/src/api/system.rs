//! `/system`, `/config`, `/cluster`: the health check load balancers poll, the running
//! configuration for admins (with plugin settings changeable at runtime), and the
//! cluster's live nodes.

use super::extract::Query;
use super::SharedState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Deserialize;

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/system/ping", get(ping))
        .route("/config", get(get_config))
        .route("/config/patch", put(patch_config))
        .route("/cluster/status", get(cluster_status))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct PingQuery {
    get_server_status: bool,
}

/// `{"status":"OK"}` while the process serves HTTP. With `get_server_status=true` the
/// database is checked too, and an unreachable one answers 503 so that a load balancer
/// can take the node out of rotation.
async fn ping(
    State(state): State<SharedState>,
    Query(query): Query<PingQuery>,
) -> (StatusCode, Json<serde_json::Value>) {
    let mut body = serde_json::json!({
        "status": "OK",
        "version": crate::SERVER_VERSION,
        "node_id": state.node_id,
    });
    if !query.get_server_status {
        return (StatusCode::OK, Json(body));
    }
    let database_ok = tokio::time::timeout(std::time::Duration::from_secs(2), state.store.ping())
        .await
        .is_ok_and(|r| r.is_ok());
    body["database_status"] =
        serde_json::Value::String(if database_ok { "OK" } else { "UNHEALTHY" }.into());
    if database_ok {
        (StatusCode::OK, Json(body))
    } else {
        body["status"] = serde_json::Value::String("UNHEALTHY".into());
        (StatusCode::SERVICE_UNAVAILABLE, Json(body))
    }
}

/// `GET /config`: the running configuration, for admins, with secrets redacted.
pub async fn get_config(
    State(state): State<SharedState>,
    auth: super::auth::Auth,
) -> crate::error::AppResult<Json<serde_json::Value>> {
    super::permissions::require_admin(&auth)?;
    Ok(Json(running_config(&state).await?))
}

/// The configuration as the admin sees it: `PluginSettings.Plugins` holds the file's
/// values with the settings saved since (through the API or by plugins) laid over them,
/// and `PluginSettings.PluginStates` the enabled states in force for the cluster.
async fn running_config(state: &SharedState) -> crate::error::AppResult<serde_json::Value> {
    let mut config = serde_json::to_value(&state.config)
        .map_err(|e| crate::error::AppError::Internal(e.to_string()))?;
    config["SqlSettings"]["DataSource"] = serde_json::Value::String("********".into());
    // The enabled states chosen through the API (stored for the cluster) win over
    // the file's, as they do when plugins start.
    let states = &mut config["PluginSettings"]["PluginStates"];
    if !states.is_object() {
        *states = serde_json::json!({});
    }
    for (plugin_id, enabled) in state.store.plugin_states().await? {
        states[plugin_id.as_str()] = serde_json::json!({ "Enable": enabled });
    }
    let plugins = &mut config["PluginSettings"]["Plugins"];
    if !plugins.is_object() {
        *plugins = serde_json::json!({});
    }
    for (plugin_id, saved) in state.store.all_plugin_configs().await? {
        let Ok(serde_json::Value::Object(saved)) = serde_json::from_str(&saved) else {
            continue;
        };
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

/// `PUT /config/patch`: changes plugin settings, the one part of the configuration
/// that is kept in the database (the rest comes from each node's file and environment,
/// see configuration.md). Values are checked against the plugin's `settings_schema`
/// when this node has the plugin, merged into its saved settings, and every copy of
/// the plugin on every node gets `OnConfigurationChange`.
async fn patch_config(
    State(state): State<SharedState>,
    auth: super::auth::Auth,
    super::extract::Body(patch): super::extract::Body<serde_json::Map<String, serde_json::Value>>,
) -> crate::error::AppResult<Json<serde_json::Value>> {
    use crate::error::AppError;
    super::permissions::require_admin(&auth)?;
    const ID: &str = "api.config.patch_config.restricted.app_error";
    let refuse = |what: &str| {
        AppError::bad_request(
            ID,
            format!(
                "{what} cannot be changed at runtime: only PluginSettings.Plugins can. \
                 Change the other settings in each node's config file or environment."
            ),
        )
    };
    let mut plugins = serde_json::Map::new();
    for (section, value) in patch {
        if section != "PluginSettings" {
            return Err(refuse(&section));
        }
        let serde_json::Value::Object(settings) = value else {
            return Err(AppError::bad_request(
                ID,
                "PluginSettings must be an object.",
            ));
        };
        for (key, value) in settings {
            if key != "Plugins" {
                return Err(refuse(&format!("PluginSettings.{key}")));
            }
            let serde_json::Value::Object(by_plugin) = value else {
                return Err(AppError::bad_request(
                    ID,
                    "PluginSettings.Plugins must be an object keyed by plugin id.",
                ));
            };
            plugins.extend(by_plugin);
        }
    }
    let mut changes = Vec::new();
    for (plugin_id, values) in plugins {
        let serde_json::Value::Object(values) = values else {
            return Err(AppError::bad_request(
                ID,
                format!("PluginSettings.Plugins.{plugin_id} must be an object of settings."),
            ));
        };
        if !state.plugins.is_known(&state.store, &plugin_id).await? {
            return Err(AppError::new(
                StatusCode::NOT_FOUND,
                "app.plugin.not_installed.app_error",
                format!("Plugin {plugin_id} is not installed."),
            ));
        }
        if let Some(slot) = state.plugins.slot(&plugin_id) {
            if let Some(schema) = &slot.manifest.settings_schema {
                check_plugin_settings(&plugin_id, schema, &values)
                    .map_err(|message| AppError::bad_request(ID, message))?;
            }
        }
        changes.push((plugin_id, values));
    }
    // Everything was checked before anything is written: a bad value changes nothing.
    for (plugin_id, values) in changes {
        let mut saved = match state.store.plugin_config(&plugin_id).await? {
            Some(text) => match serde_json::from_str(&text) {
                Ok(serde_json::Value::Object(saved)) => saved,
                _ => serde_json::Map::new(),
            },
            None => serde_json::Map::new(),
        };
        saved.extend(values);
        state
            .save_plugin_config(&plugin_id, &serde_json::Value::Object(saved).to_string())
            .await?;
    }
    Ok(Json(running_config(&state).await?))
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

/// `GET /cluster/status`: the live nodes of this deployment, for admins.
pub async fn cluster_status(
    State(state): State<SharedState>,
    auth: super::auth::Auth,
) -> crate::error::AppResult<Json<Vec<chorus_model::ClusterNode>>> {
    super::permissions::require_admin(&auth)?;
    Ok(Json(crate::cluster::live_nodes(&state).await?))
}
