//! The Chorus app server as a library.
//!
//! [`run`] is the one entry point, used by the `chorus` binary and by tests: it opens
//! the store (running migrations), builds the shared [`AppState`], and serves the HTTP
//! API and the websocket on the given listener until `shutdown` resolves.
//!
//! Modules: `config` (settings and overrides), `store` (all SQL), `cluster` (node
//! membership), `api` (one router per
//! resource), `ws` (the websocket hub), `events` (who sees which event), `commands`
//! (slash commands), `plugins` (the plugin host), `error` (Mattermost-shaped errors).

pub mod api;
pub mod cluster;
pub mod commands;
pub mod config;
pub mod error;
pub mod events;
pub mod plugins;
pub mod store;
pub mod ws;

pub use config::Config;
pub use store::Store;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// The version reported in `X-Version-Id`, `hello` and `pong`.
pub const SERVER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Everything a request handler can reach.
pub struct AppState {
    pub config: Config,
    pub store: Store,
    pub hub: Arc<ws::Hub>,
    pub commands: commands::CommandRegistry,
    pub plugins: plugins::PluginManager,
    /// This process's id in a cluster, and its hostname in `hello`.
    pub node_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("the server stopped with an error: {0}")]
    Serve(std::io::Error),
    #[error("cannot prepare the plugin host: {0}")]
    Plugins(std::io::Error),
}

/// Builds the application state: opens the database and runs migrations.
pub async fn build_state(config: Config) -> Result<Arc<AppState>, ServerError> {
    let store = Store::open(&config.sql_settings).await?;
    let node_id = chorus_model::new_id();
    let hub = Arc::new(ws::Hub::new(
        node_id.clone(),
        Duration::from_secs(config.service_settings.websocket_resume_seconds),
    ));
    let plugins = plugins::PluginManager::new(config.plugin_settings.clone(), &node_id)
        .map_err(ServerError::Plugins)?;
    Ok(Arc::new(AppState {
        config,
        store,
        hub,
        commands: commands::CommandRegistry::with_builtins(),
        plugins,
        node_id,
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
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    state.plugins.start(&state).await;
    let address = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let membership = cluster::start_membership(state.clone(), address).await;
    let sweeper = ws::spawn_sweeper(state.hub.clone());
    let session_sweeper = spawn_session_sweeper(state.clone());
    let app = api::router(state.clone());
    let hub = state.hub.clone();
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            // Upgraded websockets are not tracked by the HTTP server; close them here.
            hub.close_all();
        })
        .await
        .map_err(ServerError::Serve);
    sweeper.abort();
    session_sweeper.abort();
    membership.abort();
    if let Err(err) = state.store.remove_node(&state.node_id).await {
        tracing::warn!(error = %err, "cannot remove this node from cluster_nodes");
    }
    state.plugins.stop_all().await;
    state.store.close().await;
    result
}

/// Reclaims expired sessions and plugin KV keys (both are already refused or invisible
/// when expired; this only frees space).
fn spawn_session_sweeper(state: Arc<AppState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            if let Err(err) = state.store.delete_expired_sessions().await {
                tracing::warn!(error = %err, "could not sweep expired sessions");
            }
            if let Err(err) = state.store.kv_sweep_expired().await {
                tracing::warn!(error = %err, "could not sweep expired plugin keys");
            }
        }
    })
}

impl AppState {
    /// Sends a plugin's cluster event to its copies on the other nodes. A single node has
    /// none; the cluster layer replaces this delivery when clustering is on.
    pub fn publish_plugin_cluster_event(
        &self,
        plugin_id: &str,
        event: chorus_plugin_protocol::v1::PublishPluginClusterEventRequest,
    ) {
        tracing::debug!(plugin_id, event_id = %event.id, "plugin cluster event with no other node to reach");
    }
}
