//! Server configuration: the `config.json` sections and keys, named as Mattermost names
//! them, their defaults, and the `CHORUS_<SECTION>_<KEY>` environment overrides.
//!
//! Loading is: defaults → the JSON file (if any; missing keys keep their defaults) →
//! environment variables. Overrides are applied on the JSON form of the configuration,
//! so every key is overridable without a hand-written list, and each value is parsed
//! according to the type the key already has (bool, number, string, or JSON).

use serde::{Deserialize, Serialize};
use std::path::Path;

/// Prefix of environment overrides, in the style of Mattermost's `MM_`.
pub const ENV_PREFIX: &str = "CHORUS_";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("configuration file {path} is not valid: {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("configuration is not valid: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct Config {
    pub service_settings: ServiceSettings,
    pub sql_settings: SqlSettings,
    pub team_settings: TeamSettings,
    pub plugin_settings: PluginSettings,
    pub cluster_settings: ClusterSettings,
    pub rate_limit_settings: RateLimitSettings,
    pub metrics_settings: MetricsSettings,
    pub file_settings: FileSettings,
}

/// Limits on how fast one client address may try logins and sign-ups. Mattermost's
/// section of the same name throttles every route and is off by default; Chorus always
/// throttles the two routes that cost a password hash, with its own keys.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RateLimitSettings {
    /// Login and sign-up attempts one client address may make per minute, on average
    /// (0 turns the limit off).
    pub login_per_minute: u32,
    /// Attempts one address may make at once before the per-minute rate applies.
    pub login_max_burst: u32,
    /// Most client addresses remembered; past that the quietest are forgotten.
    pub memory_store_size: usize,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        RateLimitSettings {
            login_per_minute: 60,
            login_max_burst: 20,
            memory_store_size: 10_000,
        }
    }
}

/// Prometheus metrics, served on a listener of their own as in Mattermost.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct MetricsSettings {
    pub enable: bool,
    /// `host:port` of the metrics listener; a bare `:port` listens on every interface.
    pub listen_address: String,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        MetricsSettings {
            enable: false,
            listen_address: ":8067".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ClusterSettings {
    /// Run as a member of a cluster of nodes sharing one PostgreSQL database.
    pub enable: bool,
    pub cluster_name: String,
    /// How often each node records that it is alive.
    pub heartbeat_seconds: u64,
    /// A node whose last heartbeat is older than this is considered gone.
    pub node_timeout_seconds: u64,
}

impl Default for ClusterSettings {
    fn default() -> Self {
        ClusterSettings {
            enable: false,
            cluster_name: "chorus".into(),
            heartbeat_seconds: 5,
            node_timeout_seconds: 20,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ServiceSettings {
    /// `host:port`; a bare `:port` listens on every interface, as in Mattermost.
    pub listen_address: String,
    /// The URL people reach the server at; only used in messages when set.
    #[serde(rename = "SiteURL")]
    pub site_url: String,
    /// How long a login session lasts.
    pub session_length_web_in_hours: i64,
    /// Largest request body accepted, in bytes.
    pub maximum_payload_size_bytes: usize,
    /// How long a dropped websocket connection can be resumed with its `connection_id`.
    pub websocket_resume_seconds: u64,
    /// How long a client may take to send a request's headers before its connection is
    /// closed (against slow-header attacks).
    pub header_read_timeout_seconds: u64,
    /// Failed logins in a row after which an account is locked (0: never locked).
    pub maximum_login_attempts: u32,
    /// How long a locked account stays locked after its last failed login; 0 keeps it
    /// locked until its password is set again (`PUT /users/{id}/password`), as in
    /// Mattermost.
    pub login_lockout_minutes: u64,
    /// Password hashes computed at once (each takes 19 MiB for about 30 ms); 0 means one
    /// per CPU core. Logins beyond wait for a slot.
    pub maximum_concurrent_password_hashes: usize,
    /// How long a login waits for a hashing slot before it is refused with a 503.
    pub password_hash_wait_milliseconds: u64,
    /// Headers naming the client's address, set by a trusted load balancer
    /// (`X-Forwarded-For`, `X-Real-IP`), read in this order; empty means the peer
    /// address of the connection is the client's.
    #[serde(rename = "TrustedProxyIPHeader")]
    pub trusted_proxy_ip_header: Vec<String>,
    /// Space-separated origins, besides the server's own, whose pages may open a
    /// websocket with a user's cookie (`*` for any).
    pub allow_cors_from: String,
    /// Websockets open at once per user and per session; one more is refused.
    pub maximum_websockets_per_user: usize,
    pub maximum_websockets_per_session: usize,
    /// Sockets waiting for an `authentication_challenge` on this node at once.
    pub maximum_unauthenticated_websockets: usize,
    /// Events, and bytes of events, kept per connection for resuming a dropped socket.
    pub websocket_resume_events: usize,
    pub websocket_resume_bytes: usize,
    /// Bytes of resume backlog this node keeps for all its connections together; past
    /// it the state of the connections dropped longest ago is forgotten first.
    pub websocket_hub_resume_bytes: usize,
    /// Whether users may create personal access tokens (bots always may, through
    /// their owners or admins), as in Mattermost; off by default there too.
    pub enable_user_access_tokens: bool,
    /// Whether bot accounts may be created through `POST /bots` (plugins always may).
    pub enable_bot_account_creation: bool,
    /// Different emoji one post may carry as reactions.
    pub unique_emoji_reaction_limit_per_post: i64,
    /// Mattermost's: incoming webhooks may be made and used.
    pub enable_incoming_webhooks: bool,
    /// Mattermost's: webhook posts may show another name than their owner's.
    pub enable_post_username_override: bool,
    /// Mattermost's: webhook posts may show another icon than their owner's.
    pub enable_post_icon_override: bool,
    /// Mattermost's: outgoing webhooks may be made and fire.
    pub enable_outgoing_webhooks: bool,
    /// Mattermost's: custom slash commands may be made and run.
    pub enable_commands: bool,
    /// Host names, IP addresses and CIDR blocks (separated by spaces or commas) of the
    /// internal network that integrations may be called at; loopback, private and other
    /// reserved addresses are refused otherwise.
    pub allowed_untrusted_internal_connections: String,
    /// How long a call to an integration (outgoing webhook, custom command) may take.
    pub outgoing_integration_requests_timeout: u64,
}

impl Default for ServiceSettings {
    fn default() -> Self {
        ServiceSettings {
            listen_address: ":8065".into(),
            site_url: String::new(),
            session_length_web_in_hours: 720,
            maximum_payload_size_bytes: 300_000,
            websocket_resume_seconds: 300,
            header_read_timeout_seconds: 30,
            maximum_login_attempts: 10,
            login_lockout_minutes: 30,
            maximum_concurrent_password_hashes: 0,
            password_hash_wait_milliseconds: 2000,
            trusted_proxy_ip_header: Vec::new(),
            allow_cors_from: String::new(),
            maximum_websockets_per_user: 64,
            maximum_websockets_per_session: 32,
            maximum_unauthenticated_websockets: 1024,
            websocket_resume_events: 128,
            websocket_resume_bytes: 1024 * 1024,
            websocket_hub_resume_bytes: 256 * 1024 * 1024,
            enable_user_access_tokens: false,
            enable_bot_account_creation: false,
            unique_emoji_reaction_limit_per_post: 50,
            enable_incoming_webhooks: true,
            enable_post_username_override: false,
            enable_post_icon_override: false,
            enable_outgoing_webhooks: true,
            enable_commands: true,
            allowed_untrusted_internal_connections: String::new(),
            outgoing_integration_requests_timeout: 30,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SqlSettings {
    /// `sqlite` (the embedded default) or `postgres`.
    pub driver_name: String,
    /// A file path or `sqlite://` URL for SQLite; a `postgres://` URL for PostgreSQL.
    pub data_source: String,
    pub max_open_conns: u32,
}

impl Default for SqlSettings {
    fn default() -> Self {
        SqlSettings {
            driver_name: "sqlite".into(),
            data_source: "./data/chorus.db".into(),
            max_open_conns: 20,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TeamSettings {
    /// Master switch for sign-ups; system admins can always create users.
    pub enable_user_creation: bool,
    /// Anyone may sign up without being signed in (after the first user, who is admin).
    pub enable_open_server: bool,
    pub enable_team_creation: bool,
    /// Mattermost's: seconds without activity after which an online user is away.
    pub user_status_away_timeout: u64,
    /// Whether users may set custom statuses (`PUT /users/{id}/status/custom`).
    pub enable_custom_user_statuses: bool,
}

impl Default for TeamSettings {
    fn default() -> Self {
        TeamSettings {
            enable_user_creation: true,
            enable_open_server: true,
            enable_team_creation: true,
            user_status_away_timeout: 300,
            enable_custom_user_statuses: true,
        }
    }
}

/// Uploaded files, with Mattermost's keys and defaults.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct FileSettings {
    /// Whether users may upload files at all (plugins always may).
    pub enable_file_attachments: bool,
    /// Where files are kept: `local` (a folder, `Directory`) or `database` (chunks in
    /// the database, which every node of a cluster shares). Unset, it is `database`
    /// when `ClusterSettings.Enable` is on and `local` otherwise.
    pub driver_name: Option<String>,
    /// The `local` driver's folder.
    pub directory: String,
    /// Largest file, in bytes, counted while the upload streams in.
    pub max_file_size: u64,
    /// Images with more pixels than this are refused before they are decoded.
    pub max_image_resolution: u64,
    /// Images decoded at once for thumbnails and previews (-1: one per CPU).
    pub max_image_decoder_concurrency: i64,
    /// Whether `GET /files/{id}/link` hands out links that work without a login.
    pub enable_public_link: bool,
    /// Salt of public links; empty, the cluster generates one and keeps it in the
    /// database.
    pub public_link_salt: String,
}

impl Default for FileSettings {
    fn default() -> Self {
        FileSettings {
            enable_file_attachments: true,
            driver_name: None,
            directory: "./data/".into(),
            max_file_size: 100 * 1024 * 1024,
            max_image_resolution: 7680 * 4320,
            max_image_decoder_concurrency: -1,
            enable_public_link: false,
            public_link_salt: String::new(),
        }
    }
}

/// Where files are kept (`FileSettings.DriverName`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileDriver {
    Local,
    Database,
}

impl Config {
    /// The file driver in use: the configured one, else the one that suits the
    /// deployment (a cluster's nodes share only the database).
    pub fn file_driver(&self) -> FileDriver {
        match self.file_settings.driver_name.as_deref() {
            Some("database") => FileDriver::Database,
            Some(_) => FileDriver::Local,
            None if self.cluster_settings.enable => FileDriver::Database,
            None => FileDriver::Local,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PluginSettings {
    /// Master switch: with `false` no plugin runs and the plugin API answers 501.
    pub enable: bool,
    /// Whether bundles may be uploaded through the API.
    pub enable_uploads: bool,
    /// Whether uploads are accepted when `ClusterSettings.Enable` is on. Operators who
    /// deploy plugins into `Directory` on every node themselves turn this off, and
    /// uploads then answer 501.
    pub allow_uploads_in_cluster: bool,
    /// Where server plugins live, one folder each.
    pub directory: String,
    /// Mattermost's folder for web bundles; Chorus serves web bundles straight from
    /// each plugin's folder and keeps the key for compatibility.
    pub client_directory: String,
    /// Settings per plugin id (a JSON object each), merged over the schema defaults.
    pub plugins: serde_json::Map<String, serde_json::Value>,
    /// `{"<plugin id>": {"Enable": true}}`: the initial state of each plugin; enabling
    /// or disabling through the API is stored in the database and wins.
    pub plugin_states: serde_json::Map<String, serde_json::Value>,
    /// Deadline of synchronous hooks (MessageWillBePosted, ExecuteCommand...).
    pub hook_timeout_milliseconds: u64,
    /// Deadline for a plugin's ServeHTTP to start answering.
    pub http_timeout_seconds: u64,
    /// How long a plugin may take to print its handshake line and activate.
    pub start_timeout_seconds: u64,
    /// Seconds between health checks of each running plugin.
    pub health_check_interval_seconds: u64,
    /// Crashes within `CrashWindowSeconds` after which a plugin is left stopped as
    /// "failed to stay running".
    pub max_restarts: u32,
    pub crash_window_seconds: u64,
    /// Largest upload, and largest unpacked size, of a bundle.
    pub max_bundle_size_bytes: u64,
    pub max_unpacked_size_bytes: u64,
    /// Confine plugin processes with Landlock where the kernel has it: no access to
    /// the SQLite files, other plugins' folders or the server's sockets, and writes only
    /// in the plugin's own folder and its temporary folder.
    pub confine_file_access: bool,
}

impl Default for PluginSettings {
    fn default() -> Self {
        PluginSettings {
            enable: true,
            enable_uploads: false,
            allow_uploads_in_cluster: true,
            directory: "./plugins".into(),
            client_directory: "./client/plugins".into(),
            plugins: Default::default(),
            plugin_states: Default::default(),
            hook_timeout_milliseconds: 2000,
            http_timeout_seconds: 30,
            start_timeout_seconds: 10,
            health_check_interval_seconds: 2,
            max_restarts: 3,
            crash_window_seconds: 300,
            max_bundle_size_bytes: 50 * 1024 * 1024,
            max_unpacked_size_bytes: 256 * 1024 * 1024,
            confine_file_access: true,
        }
    }
}

impl Config {
    /// Reads `path` (when given) over the defaults, then applies environment overrides
    /// from `env` (normally `std::env::vars()`).
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut value = serde_json::to_value(Config::default()).expect("defaults serialise");
        if let Some(path) = path {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.display().to_string(),
                source,
            })?;
            let file: serde_json::Value =
                serde_json::from_str(&text).map_err(|source| ConfigError::Parse {
                    path: path.display().to_string(),
                    source,
                })?;
            merge(&mut value, file);
        }
        apply_env_overrides(&mut value, env)?;
        let config: Config =
            serde_json::from_value(value).map_err(|e| ConfigError::Invalid(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        match self.sql_settings.driver_name.as_str() {
            "sqlite" | "postgres" => {}
            other => {
                return Err(ConfigError::Invalid(format!(
                    "SqlSettings.DriverName must be \"sqlite\" or \"postgres\", not {other:?}"
                )))
            }
        }
        if self.cluster_settings.enable && self.sql_settings.driver_name != "postgres" {
            return Err(ConfigError::Invalid(
                "ClusterSettings.Enable needs PostgreSQL (SqlSettings.DriverName = \"postgres\"): \
                 the nodes of a cluster share one database, and SQLite serves a single node"
                    .into(),
            ));
        }
        if self.cluster_settings.heartbeat_seconds == 0
            || self.cluster_settings.node_timeout_seconds <= self.cluster_settings.heartbeat_seconds
        {
            return Err(ConfigError::Invalid(
                "ClusterSettings.NodeTimeoutSeconds must be longer than a positive HeartbeatSeconds".into(),
            ));
        }
        if self.service_settings.session_length_web_in_hours <= 0 {
            return Err(ConfigError::Invalid(
                "ServiceSettings.SessionLengthWebInHours must be positive".into(),
            ));
        }
        match self.file_settings.driver_name.as_deref() {
            None | Some("local") | Some("database") => {}
            Some(other) => {
                return Err(ConfigError::Invalid(format!(
                    "FileSettings.DriverName must be \"local\" or \"database\", not {other:?}"
                )))
            }
        }
        if self.file_settings.max_file_size == 0 || self.file_settings.max_image_resolution == 0 {
            return Err(ConfigError::Invalid(
                "FileSettings.MaxFileSize and MaxImageResolution must be positive".into(),
            ));
        }
        self.listen_address()?;
        if self.metrics_settings.enable {
            parse_listen_address(
                "MetricsSettings.ListenAddress",
                &self.metrics_settings.listen_address,
            )?;
        }
        Ok(())
    }

    /// `MetricsSettings.ListenAddress` as a socket address.
    pub fn metrics_listen_address(&self) -> Result<std::net::SocketAddr, ConfigError> {
        parse_listen_address(
            "MetricsSettings.ListenAddress",
            &self.metrics_settings.listen_address,
        )
    }

    /// `ServiceSettings.ListenAddress` as a socket address (`:8065` → `0.0.0.0:8065`).
    pub fn listen_address(&self) -> Result<std::net::SocketAddr, ConfigError> {
        parse_listen_address(
            "ServiceSettings.ListenAddress",
            &self.service_settings.listen_address,
        )
    }
}

/// `host:port`, or a bare `:port` for every interface, as Mattermost writes addresses.
fn parse_listen_address(key: &str, raw: &str) -> Result<std::net::SocketAddr, ConfigError> {
    let full = if raw.starts_with(':') {
        format!("0.0.0.0{raw}")
    } else {
        raw.to_string()
    };
    full.parse().map_err(|_| {
        ConfigError::Invalid(format!(
            "{key} {raw:?} is not host:port (for example \":8065\" or \"127.0.0.1:8065\")"
        ))
    })
}

/// Deep-merges `overlay` into `base`: objects key by key, anything else replaced.
fn merge(base: &mut serde_json::Value, overlay: serde_json::Value) {
    match (base, overlay) {
        (serde_json::Value::Object(base), serde_json::Value::Object(overlay)) => {
            for (key, value) in overlay {
                match base.get_mut(&key) {
                    Some(slot) => merge(slot, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (slot, value) => *slot = value,
    }
}

fn apply_env_overrides(
    config: &mut serde_json::Value,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    let sections = config.as_object_mut().expect("config is an object");
    for (var, raw) in env {
        let Some(rest) = var.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let target = sections.iter_mut().find_map(|(section, keys)| {
            let key_part = rest
                .strip_prefix(&section.to_uppercase())?
                .strip_prefix('_')?;
            let (key, slot) = keys
                .as_object_mut()?
                .iter_mut()
                .find(|(key, _)| key.to_uppercase() == key_part)?;
            Some((format!("{section}.{key}"), slot))
        });
        let Some((name, slot)) = target else {
            // Variables such as CHORUS_BIN belong to tools, not to the configuration.
            continue;
        };
        *slot = parse_like(slot, &raw).map_err(|message| ConfigError::Env {
            var: var.clone(),
            message: format!("{name} {message}"),
        })?;
    }
    Ok(())
}

fn parse_like(current: &serde_json::Value, raw: &str) -> Result<serde_json::Value, String> {
    use serde_json::Value;
    match current {
        Value::Bool(_) => match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(Value::Bool(true)),
            "false" | "0" | "no" => Ok(Value::Bool(false)),
            _ => Err(format!("expects true or false, got {raw:?}")),
        },
        Value::Number(_) => raw
            .trim()
            .parse::<serde_json::Number>()
            .map(Value::Number)
            .map_err(|_| format!("expects a number, got {raw:?}")),
        // Unset optional keys (FileSettings.DriverName) are text when set.
        Value::String(_) | Value::Null => Ok(Value::String(raw.to_string())),
        _ => serde_json::from_str(raw).map_err(|e| format!("expects JSON: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_are_embedded_sqlite_on_8065() {
        let config = Config::load(None, vars(&[])).unwrap();
        assert_eq!(config.sql_settings.driver_name, "sqlite");
        assert_eq!(config.sql_settings.data_source, "./data/chorus.db");
        assert_eq!(config.listen_address().unwrap().port(), 8065);
    }

    #[test]
    fn env_overrides_parse_by_type() {
        let config = Config::load(
            None,
            vars(&[
                ("CHORUS_SERVICESETTINGS_LISTENADDRESS", "127.0.0.1:8066"),
                ("CHORUS_TEAMSETTINGS_ENABLEOPENSERVER", "false"),
                ("CHORUS_SQLSETTINGS_MAXOPENCONNS", "7"),
                ("CHORUS_BIN", "/ignored"),
            ]),
        )
        .unwrap();
        assert_eq!(
            config.listen_address().unwrap().to_string(),
            "127.0.0.1:8066"
        );
        assert!(!config.team_settings.enable_open_server);
        assert_eq!(config.sql_settings.max_open_conns, 7);
    }

    #[test]
    fn bad_env_value_names_the_key() {
        let err = Config::load(
            None,
            vars(&[("CHORUS_TEAMSETTINGS_ENABLEOPENSERVER", "maybe")]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("TeamSettings.EnableOpenServer"), "{err}");
    }

    #[test]
    fn file_overrides_defaults_and_env_overrides_file() {
        let dir = std::env::temp_dir().join(format!("chorus-config-{}", chorus_model::new_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.json");
        std::fs::write(
            &path,
            r#"{"SqlSettings":{"DriverName":"postgres","DataSource":"postgres://x"},"ServiceSettings":{"ListenAddress":":9000"}}"#,
        )
        .unwrap();
        let config = Config::load(
            Some(&path),
            vars(&[("CHORUS_SERVICESETTINGS_LISTENADDRESS", "127.0.0.1:9001")]),
        )
        .unwrap();
        assert_eq!(config.sql_settings.driver_name, "postgres");
        assert_eq!(config.service_settings.listen_address, "127.0.0.1:9001");
        assert_eq!(config.service_settings.session_length_web_in_hours, 720);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn clusters_are_refused_on_sqlite() {
        let err = Config::load(None, vars(&[("CHORUS_CLUSTERSETTINGS_ENABLE", "true")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ClusterSettings.Enable needs PostgreSQL"),
            "{err}"
        );
        let ok = Config::load(
            None,
            vars(&[
                ("CHORUS_CLUSTERSETTINGS_ENABLE", "true"),
                ("CHORUS_SQLSETTINGS_DRIVERNAME", "postgres"),
            ]),
        );
        assert!(ok.is_ok());
    }

    #[test]
    fn unknown_driver_is_refused() {
        let err = Config::load(None, vars(&[("CHORUS_SQLSETTINGS_DRIVERNAME", "mysql")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("DriverName"), "{err}");
    }
}
