//! The plugin host of one node: which plugins are installed (the folders of
//! `PluginSettings.Directory`), which are enabled (the database, seeded from
//! `PluginSettings.PluginStates`), and one supervisor per enabled plugin.
//!
//! This module holds the manager and what its parts share; the submodules, by
//! concern: `slot` (one installed plugin and its supervisor handle), `sync` (reading
//! folders and the cluster's state, and the task applying changes made elsewhere),
//! `admin` (install, swap in, remove, enable, disable), `settings` (the values a
//! plugin sees, and telling it of changes), `status` (status reports and web-part
//! announcements), `manifest` (reading and validating manifests), `bundle` (safe
//! unpacking), `supervisor` (process lifecycle), `host_api` (the gRPC API served to
//! each plugin), `hooks` (calling hooks with deadlines). The HTTP door to plugins
//! (`/plugins/{id}/…`) is `api::plugin_http`.
//!
//! Nothing a plugin needs lives only in this node's memory: enabled states, settings
//! and KV data are in the database, so every node of a cluster can run the same plugin
//! the same way. Admin operations (install, enable, disable, remove) are serialised per
//! node so that two of them never interleave on one plugin folder.

mod admin;
pub mod bundle;
pub mod hooks;
pub mod host_api;
pub mod manifest;
mod settings;
mod slot;
mod status;
pub mod supervisor;
mod sync;

use crate::cluster::ClusterMessage;
use crate::config::PluginSettings;
use crate::lifecycle::Stage;
use crate::AppState;
use chorus_model::{Manifest, PluginState};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

pub use hooks::{HookContext, Rejection, ServerPluginRequest};
pub use slot::PluginSlot;
use sync::SyncRequest;

/// What the supervisors and the plugin API servers share.
pub struct SharedContext {
    pub settings: PluginSettings,
    pub node_id: String,
    /// Sockets of this node's plugins (kept short: Unix socket paths are limited).
    pub socket_root: PathBuf,
    launches: AtomicU64,
    /// The server, from `PluginManager::start` until `stop_all`: plugin API servers
    /// reach the domain layer through it. It is dropped at `stop_all`, which ends
    /// the reference cycle through the server's own plugin manager.
    app: RwLock<Option<Arc<AppState>>>,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Files no plugin may reach (see `security::confine`).
    pub confidential: Vec<PathBuf>,
    /// `PluginSettings.Directory`, absolute.
    pub plugin_root: PathBuf,
}

impl SharedContext {
    fn next_launch_number(&self) -> u64 {
        self.launches.fetch_add(1, Ordering::Relaxed)
    }

    /// The server, while it runs.
    pub fn app(&self) -> Option<Arc<AppState>> {
        self.app.read().expect("app lock").clone()
    }

    fn plugin_stopped(&self, slot: &PluginSlot) {
        if let Some(app) = self.app() {
            app.commands.unregister_plugin(&slot.manifest.id);
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("plugins are disabled on this server (PluginSettings.Enable)")]
    Disabled,
    #[error("plugin uploads are disabled on this server (PluginSettings.EnableUploads)")]
    UploadsDisabled,
    #[error("plugin uploads are refused in this cluster (PluginSettings.AllowUploadsInCluster is false); deploy the bundle into PluginSettings.Directory on every node instead")]
    UploadsRefusedInCluster,
    #[error("no plugin with id {0:?} is installed")]
    NotFound(String),
    #[error(transparent)]
    Bundle(#[from] bundle::BundleError),
    #[error("database error: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("{0}")]
    Internal(String),
}

pub struct PluginManager {
    pub context: Arc<SharedContext>,
    directory: PathBuf,
    slots: RwLock<BTreeMap<String, Arc<PluginSlot>>>,
    operations: tokio::sync::Mutex<()>,
    sync_requests: tokio::sync::mpsc::UnboundedSender<SyncRequest>,
    sync_queue: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<SyncRequest>>>,
    /// Saved settings last seen per plugin, to fire `OnConfigurationChange` once per change.
    seen_configs: tokio::sync::Mutex<Option<BTreeMap<String, crate::store::JsonObject>>>,
    /// Woken whenever a plugin's status changes, so the status writer reports it.
    status_changed: Arc<tokio::sync::Notify>,
}

impl PluginManager {
    /// `confidential`: files of the server's that no plugin may reach (the SQLite
    /// database), besides the plugin folders and sockets.
    pub fn new(
        settings: PluginSettings,
        node_id: &str,
        metrics: Arc<crate::metrics::Metrics>,
        confidential: Vec<PathBuf>,
    ) -> std::io::Result<PluginManager> {
        let socket_root = std::env::temp_dir().join(format!("chorus-{}", &node_id[..8]));
        std::fs::create_dir_all(&socket_root)?;
        let (sync_requests, sync_queue) = tokio::sync::mpsc::unbounded_channel();
        // Absolute once and for all: plugins run with their own folder as working
        // directory, where a path relative to the server's would point elsewhere.
        let directory = std::path::absolute(&settings.directory)?;
        Ok(PluginManager {
            directory: directory.clone(),
            context: Arc::new(SharedContext {
                plugin_root: directory,
                settings,
                node_id: node_id.to_string(),
                socket_root,
                launches: AtomicU64::new(0),
                app: RwLock::new(None),
                metrics,
                confidential,
            }),
            slots: RwLock::new(BTreeMap::new()),
            operations: tokio::sync::Mutex::new(()),
            sync_requests,
            sync_queue: Mutex::new(Some(sync_queue)),
            seen_configs: tokio::sync::Mutex::new(None),
            status_changed: Arc::new(tokio::sync::Notify::new()),
        })
    }

    pub fn enabled(&self) -> bool {
        self.context.settings.enable
    }

    pub fn settings(&self) -> &PluginSettings {
        &self.context.settings
    }

    pub fn directory(&self) -> &std::path::Path {
        &self.directory
    }

    pub fn slots(&self) -> Vec<Arc<PluginSlot>> {
        self.slots
            .read()
            .expect("slots lock")
            .values()
            .cloned()
            .collect()
    }

    /// The plugins whose web part this node serves: running, with a `webapp` bundle.
    /// `GET /plugins/webapp` lists them, and open pages hear when the set changes.
    pub fn running_web_parts(&self) -> Vec<Arc<PluginSlot>> {
        self.slots()
            .into_iter()
            .filter(|slot| slot.manifest.webapp.is_some())
            .filter(|slot| slot.status().0 == PluginState::Running)
            .collect()
    }

    pub fn slot(&self, plugin_id: &str) -> Option<Arc<PluginSlot>> {
        self.slots
            .read()
            .expect("slots lock")
            .get(plugin_id)
            .cloned()
    }

    fn new_slot(&self, manifest: Manifest, path: PathBuf) -> Arc<PluginSlot> {
        Arc::new(PluginSlot::new(manifest, path, self.status_changed.clone()))
    }

    fn tell_cluster(&self, message: ClusterMessage) {
        if let Some(app) = self.context.app() {
            app.tell_cluster(message);
        }
    }

    /// Connects the manager to the server, brings this node in line with the
    /// database (installing stored bundles it lacks) and starts every enabled plugin.
    pub async fn start(&self, app: &Arc<AppState>) {
        *self.context.app.write().expect("app lock") = Some(app.clone());
        if !self.enabled() {
            return;
        }
        self.check_configurations(&app.store).await;
        {
            let _guard = self.operations.lock().await;
            if let Err(err) = self.sync_locked(&app.store, None, false).await {
                tracing::error!(error = %err, "cannot read the plugin state; starting the plugins found on disk");
                self.scan();
                for slot in self.slots() {
                    if self.configured_enabled(&slot.manifest.id) {
                        slot.start(&self.context).await;
                    }
                }
            }
        }
        if let Some(queue) = self.sync_queue.lock().expect("sync lock").take() {
            app.lifecycle
                .spawn(Stage::Services, sync::sync_loop(app.clone(), queue));
        }
        // One task waits on `status_changed`: the status writer in a cluster (which
        // also announces web parts), the announcer alone otherwise.
        let changed = self.status_changed.clone();
        if app.bus.is_some() {
            app.lifecycle
                .spawn(Stage::Services, status::status_writer(app.clone(), changed));
        } else {
            app.lifecycle.spawn(
                Stage::Services,
                status::webapp_announcer(app.clone(), changed),
            );
        }
    }

    /// Asks the sync task to re-read one plugin (or all) from the database.
    pub fn request_sync(&self, plugin_id: Option<String>, retry_failed: bool) {
        let _ = self.sync_requests.send(SyncRequest::Plugins {
            plugin_id,
            retry_failed,
        });
    }

    /// Asks the sync task to delete the local copy of a plugin removed elsewhere.
    pub fn request_removal(&self, plugin_id: String) {
        let _ = self.sync_requests.send(SyncRequest::Remove(plugin_id));
    }

    /// Asks the sync task to look for plugin settings saved elsewhere.
    pub fn request_configuration_check(&self) {
        let _ = self.sync_requests.send(SyncRequest::Configurations);
    }

    /// Stops every plugin, at shutdown (after the lifecycle's services, which include
    /// this manager's sync and status tasks).
    pub async fn stop_all(&self) {
        let _guard = self.operations.lock().await;
        let slots = self.slots();
        futures_util::future::join_all(slots.iter().map(|slot| slot.stop())).await;
        let _ = std::fs::remove_dir_all(&self.context.socket_root);
        self.context.app.write().expect("app lock").take();
    }
}
