//! The Chorus app server as a library.
//!
//! [`run`] is the one entry point, used by the `chorus` binary and by tests: it opens
//! the store (running migrations), builds the shared [`AppState`], and serves the HTTP
//! API and the websocket on the given listener until `shutdown` resolves.
//!
//! Three layers, data flowing downwards only:
//! - front doors: `api` (one REST router per resource, and `/plugins/{id}/…`), the
//!   websocket protocol in `ws`, and the plugin API server in `plugins::host_api`;
//! - the domain layer, `app`: every rule and permission, once, for an explicit actor;
//!   it fires plugin hooks and publishes websocket events;
//! - infrastructure: `store` (all SQL), `cluster` (node membership and the
//!   LISTEN/NOTIFY bus between nodes), `files` (where uploaded files are kept),
//!   `plugins` (the plugin host), `ws`'s hub,
//!   `commands` (the trigger registry), `security`, `metrics`.
//!
//! Beside them: `config` (settings and overrides), `error` (the error-code table and
//! Mattermost-shaped errors), `http_server` (the accept loop), `web` (the web app
//! served at `/`).

pub mod api;
pub mod app;
pub mod cluster;
pub mod commands;
pub mod config;
pub mod error;
pub mod files;
pub mod http_server;
pub mod lifecycle;
pub mod metrics;
pub mod plugins;
pub mod security;
pub mod store;
pub mod web;
pub mod ws;

pub use config::Config;
pub use store::Store;

use lifecycle::Stage;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Chorus's own version: the build in `X-Version-Id`, `/system/ping` and the cluster's
/// node list.
pub const SERVER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The Mattermost release whose API Chorus speaks. Clients, bots and plugins see it as
/// "the server version" (`X-Version-Id`, `hello`, `GetServerVersion`, `/config/client`)
/// and plugin manifests' `min_server_version` is checked against it, because they
/// decide what they may call from it.
pub const MATTERMOST_VERSION: &str = "10.11.0";

/// The most an integration's answer may weigh (commands and webhooks answer a message,
/// not a file).
const INTEGRATION_RESPONSE_MAX_BYTES: usize = 1024 * 1024;

/// Everything a request handler can reach.
pub struct AppState {
    pub config: Config,
    pub store: Store,
    pub hub: Arc<ws::Hub>,
    pub commands: commands::CommandRegistry,
    pub plugins: plugins::PluginManager,
    /// This process's id in a cluster, and its hostname in `hello`.
    pub node_id: String,
    /// The cluster bus, when `ClusterSettings.Enable` is on.
    pub bus: Option<Arc<cluster::bus::Bus>>,
    pub passwords: security::passwords::Passwords,
    pub login_throttle: security::throttle::LoginThrottle,
    pub metrics: Arc<metrics::Metrics>,
    /// Every background task of this node.
    pub lifecycle: lifecycle::Lifecycle,
    /// What `/config/client` shows, and `X-Version-Id` (which carries its hash), both
    /// fixed for the life of the process.
    pub client_config: app::config::ClientConfig,
    /// Where uploaded files are kept (`FileSettings.DriverName`).
    pub files: files::FileStorage,
    /// Makes thumbnails and previews, a few images at a time.
    pub previewer: app::files::Previewer,
    /// The public-link salt the cluster generated, once read.
    pub public_link_salt: tokio::sync::OnceCell<String>,
    /// Calls to integrations, kept off internal addresses.
    pub outbound: security::outbound::OutboundClient,
    /// Posts waiting for their outgoing webhooks to be called.
    pub outgoing: app::outgoing_webhooks::OutgoingQueue,
    /// Orders this node's presence writes (see `app::statuses`).
    pub presence_lock: app::statuses::PresenceLock,
    /// The cluster's keys for action cookies and trigger ids, once read.
    pub interactive_keys: tokio::sync::OnceCell<app::interactive::InteractiveKeys>,
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Store(#[from] store::OpenError),
    #[error("the server stopped with an error: {0}")]
    Serve(std::io::Error),
    #[error("cannot prepare the plugin host: {0}")]
    Plugins(std::io::Error),
    #[error("cannot serve metrics on MetricsSettings.ListenAddress: {0}")]
    Metrics(std::io::Error),
    #[error("cannot prepare the cluster bus (SqlSettings.DataSource): {0}")]
    Bus(sqlx::Error),
}

/// Builds the application state: opens the database and runs migrations.
pub async fn build_state(config: Config) -> Result<Arc<AppState>, ServerError> {
    let store = Store::open(&config.sql_settings).await?;
    let node_id = chorus_model::new_id();
    let metrics = Arc::new(metrics::Metrics::new());
    let client_config = app::config::ClientConfig::new(&config);
    let hub = Arc::new(ws::Hub::new(
        node_id.clone(),
        client_config.version_id.clone(),
        ws::HubLimits::from_settings(&config.service_settings),
        metrics.clone(),
    ));
    let plugins = plugins::PluginManager::new(
        config.plugin_settings.clone(),
        &node_id,
        metrics.clone(),
        store.files(),
    )
    .map_err(ServerError::Plugins)?;
    let passwords = security::passwords::Passwords::new(
        config.service_settings.maximum_concurrent_password_hashes,
        Duration::from_millis(config.service_settings.password_hash_wait_milliseconds),
    );
    let login_throttle = security::throttle::LoginThrottle::new(&config.rate_limit_settings);
    let files = files::FileStorage::new(&config, store.clone());
    let previewer = app::files::Previewer::new(&config, files.clone(), store.clone());
    let bus = if config.cluster_settings.enable {
        let bus = cluster::bus::Bus::new(&node_id, &config.sql_settings.data_source)
            .map_err(ServerError::Bus)?;
        Some(Arc::new(bus))
    } else {
        None
    };
    let outbound = security::outbound::OutboundClient::new(
        &config
            .service_settings
            .allowed_untrusted_internal_connections,
        config
            .service_settings
            .outgoing_integration_requests_timeout,
        INTEGRATION_RESPONSE_MAX_BYTES,
    );
    Ok(Arc::new(AppState {
        config,
        store,
        hub,
        commands: commands::CommandRegistry::with_builtins(),
        plugins,
        node_id,
        bus,
        passwords,
        login_throttle,
        metrics,
        lifecycle: lifecycle::Lifecycle::new(),
        client_config,
        files,
        previewer,
        public_link_salt: tokio::sync::OnceCell::new(),
        outbound,
        outgoing: Default::default(),
        presence_lock: Default::default(),
        interactive_keys: tokio::sync::OnceCell::new(),
    }))
}

/// Serves Chorus on `listener` until `shutdown` completes, then closes websockets and
/// the database pool.
pub async fn run(
    listener: tokio::net::TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let state = build_state(config).await?;
    serve(listener, state, shutdown).await
}

/// Serves an already-built state; split from [`run`] so tests can reach the state.
/// Returns after every background task it started has ended (see `lifecycle`).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    if let Some(bus) = &state.bus {
        let deliveries = bus.start(
            &state.lifecycle,
            state.store.clone(),
            state.metrics.bus_lag.clone(),
        );
        state.lifecycle.spawn(
            Stage::Transport,
            cluster::dispatch::run(state.clone(), deliveries),
        );
        // Listen before reading the plugin state, so that no change falls between.
        if !bus.wait_connected(Duration::from_secs(10)).await {
            tracing::warn!("cluster bus: not listening yet; starting anyway and re-reading state once connected");
        }
    }
    state.plugins.start(&state).await;
    let address = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    cluster::start_membership(state.clone(), address).await;
    let lifecycle = &state.lifecycle;
    lifecycle.spawn(Stage::Services, ws::sweep_forever(state.hub.clone()));
    lifecycle.spawn(Stage::Services, sweep_expired(state.clone()));
    lifecycle.spawn(Stage::Services, app::outgoing_webhooks::run(state.clone()));
    lifecycle.spawn(Stage::Services, app::statuses::sweep_forever(state.clone()));
    let reaper = security::process::is_plugin_reaper();
    if reaper {
        // Transport: it must outlive the plugins it cleans up after.
        lifecycle.spawn(Stage::Transport, sweep_orphans_forever());
    }
    if state.config.metrics_settings.enable {
        let metrics = metrics_server(state.clone()).await?;
        lifecycle.spawn(Stage::Services, metrics);
    }
    let app = api::router(state.clone());
    let hub = state.hub.clone();
    let header_read_timeout = Duration::from_secs(
        state
            .config
            .service_settings
            .header_read_timeout_seconds
            .max(1),
    );
    let result = http_server::serve(listener, app, header_read_timeout, async move {
        shutdown.await;
        // Upgraded websockets are not tracked by the HTTP server; close them here.
        hub.close_all();
    })
    .await
    .map_err(ServerError::Serve);
    // No heartbeat or status report may land after this node's rows are removed.
    lifecycle.stop(Stage::Services).await;
    if let Err(err) = state.store.remove_node(&state.node_id).await {
        tracing::warn!(error = %err, "cannot remove this node from cluster_nodes");
    }
    state.plugins.stop_all().await;
    lifecycle.stop_all().await;
    if reaper {
        let _ = tokio::task::spawn_blocking(security::process::sweep_orphans).await;
    }
    if let Some(bus) = &state.bus {
        bus.close().await;
    }
    state.store.close().await;
    result
}

/// Ends what plugins daemonised while they run (see `security::process`).
async fn sweep_orphans_forever() {
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    loop {
        tick.tick().await;
        let _ = tokio::task::spawn_blocking(security::process::sweep_orphans).await;
    }
}

/// Binds `MetricsSettings.ListenAddress` and returns the task serving `/metrics` there.
async fn metrics_server(
    state: Arc<AppState>,
) -> Result<impl Future<Output = ()> + Send + 'static, ServerError> {
    let address = state
        .config
        .metrics_listen_address()
        .map_err(|e| ServerError::Metrics(std::io::Error::other(e.to_string())))?;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(ServerError::Metrics)?;
    tracing::info!(%address, "serving metrics");
    let app = metrics::router(state);
    Ok(async move {
        if let Err(err) = axum::serve(listener, app).await {
            tracing::warn!(error = %err, "metrics listener stopped");
        }
    })
}

/// Reclaims expired sessions and plugin KV keys (both are already refused or invisible
/// when expired; this only frees space).
async fn sweep_expired(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        if let Err(err) = state.store.delete_expired_sessions().await {
            tracing::warn!(error = %err, "could not sweep expired sessions");
        }
        if let Err(err) = state.store.kv_sweep_expired().await {
            tracing::warn!(error = %err, "could not sweep expired plugin keys");
        }
        cluster::bus::sweep_large_messages(&state.store).await;
        if let Err(err) = state.files.sweep().await {
            tracing::warn!(error = %err, "could not sweep unfinished uploads");
        }
    }
}

impl AppState {
    /// Tells the other nodes, if this node is clustered.
    pub fn tell_cluster(&self, message: cluster::ClusterMessage) {
        if let Some(bus) = &self.bus {
            bus.send(message);
        }
    }
}
