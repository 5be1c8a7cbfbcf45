//! The plugin host of one node: which plugins are installed (the folders of
//! `PluginSettings.Directory`), which are enabled (the database, seeded from
//! `PluginSettings.PluginStates`), and one supervisor per enabled plugin.
//!
//! Submodules: `manifest` (reading and validating manifests), `bundle` (safe
//! unpacking and atomic install), `supervisor` (process lifecycle), `host_api` (the
//! gRPC API served to each plugin), `hooks` (calling hooks with deadlines). The HTTP
//! door to plugins (`/plugins/{id}/…`) is `api::plugin_http`.
//!
//! Nothing a plugin needs lives only in this node's memory: enabled states, settings
//! and KV data are in the database, so every node of a cluster can run the same plugin
//! the same way. Admin operations (install, enable, disable, remove) are serialised per
//! node so that two of them never interleave on one plugin folder.

pub mod bundle;
pub mod hooks;
pub mod host_api;
pub mod manifest;
pub mod supervisor;

use crate::cluster::bus::ClusterMessage;
use crate::config::PluginSettings;
use crate::lifecycle::Stage;
use crate::store::{Store, StoredBundle};
use crate::AppState;
use chorus_model::{plugin_state, Manifest, PluginStatus};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use supervisor::RunningPlugin;
use tokio::sync::watch;

pub use hooks::{HookContext, Rejection};

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

/// One installed plugin on this node.
pub struct PluginSlot {
    pub manifest: Manifest,
    pub path: PathBuf,
    status: Mutex<(i32, String)>,
    running: RwLock<Option<Arc<RunningPlugin>>>,
    supervisor: tokio::sync::Mutex<Option<Supervisor>>,
    pub hook_failures: AtomicU64,
    pub crashes: AtomicU64,
    /// Output lines dropped by the log rate limit.
    pub log_lines_dropped: AtomicU64,
    status_changed: Arc<tokio::sync::Notify>,
}

struct Supervisor {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl PluginSlot {
    fn new(
        manifest: Manifest,
        path: PathBuf,
        status_changed: Arc<tokio::sync::Notify>,
    ) -> PluginSlot {
        PluginSlot {
            status_changed,
            manifest,
            path,
            status: Mutex::new((plugin_state::NOT_RUNNING, String::new())),
            running: RwLock::new(None),
            supervisor: tokio::sync::Mutex::new(None),
            hook_failures: AtomicU64::new(0),
            crashes: AtomicU64::new(0),
            log_lines_dropped: AtomicU64::new(0),
        }
    }

    fn set_status(&self, state: i32, error: &str) {
        *self.status.lock().expect("status lock") = (state, error.to_string());
        self.status_changed.notify_one();
    }

    /// Whether a supervisor is looking after this plugin (running, starting or
    /// restarting it).
    async fn is_supervised(&self) -> bool {
        self.supervisor
            .lock()
            .await
            .as_ref()
            .is_some_and(|s| !s.task.is_finished())
    }

    pub fn status(&self) -> (i32, String) {
        self.status.lock().expect("status lock").clone()
    }

    fn set_running(&self, running: Option<Arc<RunningPlugin>>) {
        *self.running.write().expect("running lock") = running;
    }

    pub fn running(&self) -> Option<Arc<RunningPlugin>> {
        self.running.read().expect("running lock").clone()
    }

    /// Starts the supervisor unless one is already running.
    async fn start(self: &Arc<Self>, context: &Arc<SharedContext>) {
        let mut supervisor = self.supervisor.lock().await;
        if supervisor.as_ref().is_some_and(|s| !s.task.is_finished()) {
            return;
        }
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(supervisor::supervise(
            self.clone(),
            context.clone(),
            stop_rx,
        ));
        *supervisor = Some(Supervisor { stop, task });
    }

    /// Stops the plugin and waits until its process is gone.
    async fn stop(&self) {
        let supervisor = self.supervisor.lock().await.take();
        if let Some(supervisor) = supervisor {
            let _ = supervisor.stop.send(true);
            let _ = supervisor.task.await;
        }
        let (state, _) = self.status();
        if state != plugin_state::FAILED_TO_START {
            self.set_status(plugin_state::NOT_RUNNING, "");
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
    Store(#[from] sqlx::Error),
    #[error("{0}")]
    Internal(String),
}

/// Names, inside an installed plugin's folder, the stored upload it was unpacked from.
/// A folder without it was deployed by an operator into `PluginSettings.Directory`.
const UPLOAD_MARKER: &str = ".chorus-upload";

/// Work for the sync task, which applies the cluster's plugin state to this node one
/// request at a time.
enum SyncRequest {
    /// Re-read one plugin (`Some`) or all of them from the database.
    Plugins {
        plugin_id: Option<String>,
        retry_failed: bool,
    },
    /// Stop and delete the local copy of a plugin removed through another node.
    Remove(String),
    /// Compare saved plugin settings with those last seen and tell changed plugins.
    Configurations,
}

pub struct PluginManager {
    pub context: Arc<SharedContext>,
    directory: PathBuf,
    slots: RwLock<BTreeMap<String, Arc<PluginSlot>>>,
    operations: tokio::sync::Mutex<()>,
    sync_requests: tokio::sync::mpsc::UnboundedSender<SyncRequest>,
    sync_queue: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<SyncRequest>>>,
    /// Saved settings last seen per plugin, to fire `OnConfigurationChange` once per change.
    seen_configs: tokio::sync::Mutex<Option<BTreeMap<String, String>>>,
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
            .filter(|slot| slot.status().0 == plugin_state::RUNNING)
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
                .spawn(Stage::Services, sync_loop(app.clone(), queue));
        }
        // One task waits on `status_changed`: the status writer in a cluster (which
        // also announces web parts), the announcer alone otherwise.
        let changed = self.status_changed.clone();
        if app.bus.is_some() {
            app.lifecycle
                .spawn(Stage::Services, status_writer(app.clone(), changed));
        } else {
            app.lifecycle
                .spawn(Stage::Services, webapp_announcer(app.clone(), changed));
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

    /// Reads every plugin folder; folders without a valid manifest are logged and skipped.
    fn scan(&self) {
        let mut found = BTreeMap::new();
        let entries = match std::fs::read_dir(&self.directory) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return,
            Err(err) => {
                tracing::error!(directory = %self.directory.display(), error = %err, "cannot read the plugin directory");
                return;
            }
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !path.is_dir() {
                continue;
            }
            match manifest::read_manifest(&path) {
                Ok(manifest) => {
                    found.insert(manifest.id.clone(), (manifest, path));
                }
                Err(err) => {
                    tracing::warn!(folder = %path.display(), error = %err, "skipping plugin folder")
                }
            }
        }
        let mut slots = self.slots.write().expect("slots lock");
        for (id, (manifest, path)) in found {
            slots.entry(id).or_insert_with(|| {
                Arc::new(PluginSlot::new(manifest, path, self.status_changed.clone()))
            });
        }
    }

    /// Follows what an operator did in the directory: new plugin folders are added,
    /// a folder replaced by another version (`chorus plugin deploy`) replaces the plugin
    /// (restarted if it was running), and a deleted folder removes it. Folders installed
    /// from an upload are left to the upload logic. Call with the operations lock held.
    async fn rescan(&self) {
        self.scan();
        for slot in self.slots() {
            if installed_upload(&slot.path).is_some() {
                continue;
            }
            let id = slot.manifest.id.clone();
            match manifest::read_manifest(&slot.path) {
                Ok(on_disk) if on_disk != slot.manifest && on_disk.id == id => {
                    let was_running = slot.is_supervised().await;
                    slot.stop().await;
                    let replacement = self.new_slot(on_disk, slot.path.clone());
                    self.slots
                        .write()
                        .expect("slots lock")
                        .insert(id.clone(), replacement.clone());
                    tracing::info!(plugin_id = %id, version = %replacement.manifest.version, "plugin folder changed; reloaded");
                    if was_running {
                        replacement.start(&self.context).await;
                    }
                }
                Err(_) if !slot.path.exists() => {
                    self.slots.write().expect("slots lock").remove(&id);
                    slot.stop().await;
                    self.status_changed.notify_one();
                    tracing::info!(plugin_id = %id, "plugin folder deleted; plugin removed");
                }
                _ => {}
            }
        }
    }

    /// Brings one plugin (or every plugin) on this node in line with the database:
    /// installs the stored bundle when this node has another upload (or none), deletes
    /// a copy whose stored bundle was removed, and starts or stops it as its enabled
    /// state says. Failed copies are restarted only with `retry_failed`.
    async fn sync_locked(
        &self,
        store: &Store,
        plugin_id: Option<&str>,
        retry_failed: bool,
    ) -> Result<(), PluginError> {
        // Operators may have changed the directory since the last look.
        self.rescan().await;
        let stored: BTreeMap<String, String> = store
            .plugin_bundle_ids()
            .await?
            .into_iter()
            .filter(|(id, _)| plugin_id.is_none_or(|wanted| wanted == id))
            .collect();
        for (id, upload_id) in &stored {
            let local = self.slot(id).and_then(|slot| installed_upload(&slot.path));
            if local.as_deref() != Some(upload_id.as_str()) {
                if let Err(err) = self.install_stored(store, id).await {
                    tracing::error!(plugin_id = %id, error = %err, "cannot install the stored bundle on this node");
                }
            }
        }
        let uploaded_but_gone: Vec<Arc<PluginSlot>> = self
            .slots()
            .into_iter()
            .filter(|slot| plugin_id.is_none_or(|wanted| wanted == slot.manifest.id))
            .filter(|slot| {
                !stored.contains_key(&slot.manifest.id) && installed_upload(&slot.path).is_some()
            })
            .collect();
        for slot in uploaded_but_gone {
            self.remove_local(&slot.manifest.id).await?;
        }
        let enabled = self.enabled_ids(store).await?;
        for slot in self.slots() {
            if plugin_id.is_some_and(|wanted| wanted != slot.manifest.id) {
                continue;
            }
            if enabled.contains(&slot.manifest.id) {
                let failed = matches!(
                    slot.status().0,
                    plugin_state::FAILED_TO_START | plugin_state::FAILED_TO_STAY_RUNNING
                );
                if failed && !retry_failed {
                    continue;
                }
                if failed {
                    slot.stop().await;
                }
                slot.start(&self.context).await;
            } else if slot.is_supervised().await {
                slot.stop().await;
                slot.set_status(plugin_state::NOT_RUNNING, "");
            }
        }
        Ok(())
    }

    /// Unpacks the stored bundle of `plugin_id` and swaps it in.
    async fn install_stored(&self, store: &Store, plugin_id: &str) -> Result<(), PluginError> {
        let Some(stored) = store.plugin_bundle(plugin_id).await? else {
            return Ok(());
        };
        let staged = self.stage(stored.bundle).await?;
        if staged.manifest.id != plugin_id {
            staged.discard();
            return Err(PluginError::Internal(format!(
                "the stored bundle of {plugin_id:?} holds plugin {:?}",
                staged.manifest.id
            )));
        }
        self.swap_in(store, staged, &stored.upload_id, true).await?;
        Ok(())
    }

    /// Unpacks and validates a bundle in a staging folder.
    async fn stage(&self, bundle: Vec<u8>) -> Result<bundle::StagedPlugin, PluginError> {
        let directory = self.directory.clone();
        let limits = bundle::BundleLimits {
            max_unpacked_bytes: self.context.settings.max_unpacked_size_bytes,
            ..Default::default()
        };
        Ok(tokio::task::spawn_blocking(move || {
            bundle::stage_bundle(&bundle[..], &directory, limits)
        })
        .await
        .map_err(|e| PluginError::Internal(e.to_string()))??)
    }

    /// Swaps a staged plugin in place of the installed one (stopped just before), marks
    /// it with its upload id, and starts it if enabled. On failure the old version is
    /// back in place and running as before.
    async fn swap_in(
        &self,
        store: &Store,
        staged: bundle::StagedPlugin,
        upload_id: &str,
        force: bool,
    ) -> Result<Manifest, PluginError> {
        let id = staged.manifest.id.clone();
        if let Err(err) = std::fs::write(staged.root.join(UPLOAD_MARKER), upload_id) {
            staged.discard();
            return Err(bundle::BundleError::Io(err).into());
        }
        let previous = self.slot(&id);
        if let Some(previous) = &previous {
            previous.stop().await;
        }
        let directory = self.directory.clone();
        let installed = tokio::task::spawn_blocking(move || {
            let result = bundle::install_staged(&staged, &directory, force);
            result.map(|path| (path, staged.manifest))
        })
        .await
        .map_err(|e| PluginError::Internal(e.to_string()))?;
        let (path, manifest) = match installed {
            Ok(done) => done,
            Err(err) => {
                if let Some(previous) = previous {
                    if self.is_enabled(store, &id).await.unwrap_or(false) {
                        previous.start(&self.context).await;
                    }
                }
                return Err(err.into());
            }
        };
        let slot = self.new_slot(manifest.clone(), path);
        self.slots
            .write()
            .expect("slots lock")
            .insert(id.clone(), slot.clone());
        if self.is_enabled(store, &id).await? {
            slot.start(&self.context).await;
        }
        tracing::info!(plugin_id = %id, version = %manifest.version, "plugin installed");
        Ok(manifest)
    }

    /// Stops and deletes this node's copy of a plugin, if it has one.
    async fn remove_local(&self, plugin_id: &str) -> Result<(), PluginError> {
        // Out of the list first, so that no status report lists a plugin on its way out.
        let Some(slot) = self.slots.write().expect("slots lock").remove(plugin_id) else {
            return Ok(());
        };
        slot.stop().await;
        let path = slot.path.clone();
        tokio::task::spawn_blocking(move || match std::fs::remove_dir_all(&path) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err),
            _ => Ok(()),
        })
        .await
        .map_err(|e| PluginError::Internal(e.to_string()))?
        .map_err(|e| PluginError::Internal(format!("cannot delete the plugin folder: {e}")))?;
        self.status_changed.notify_one();
        tracing::info!(plugin_id, "plugin removed from this node");
        Ok(())
    }

    /// Ids that should run: the database's states, else `PluginSettings.PluginStates`.
    async fn enabled_ids(
        &self,
        store: &Store,
    ) -> Result<std::collections::HashSet<String>, sqlx::Error> {
        let stored: BTreeMap<String, bool> = store.plugin_states().await?.into_iter().collect();
        let mut enabled = std::collections::HashSet::new();
        for slot in self.slots() {
            let id = &slot.manifest.id;
            let on = stored
                .get(id)
                .copied()
                .unwrap_or_else(|| self.configured_enabled(id));
            if on {
                enabled.insert(id.clone());
            }
        }
        Ok(enabled)
    }

    fn configured_enabled(&self, plugin_id: &str) -> bool {
        self.context
            .settings
            .plugin_states
            .get(plugin_id)
            .and_then(|state| state.get("Enable"))
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    }

    async fn is_enabled(&self, store: &Store, plugin_id: &str) -> Result<bool, sqlx::Error> {
        let stored = store.plugin_states().await?;
        Ok(stored
            .into_iter()
            .find(|(id, _)| id == plugin_id)
            .map(|(_, on)| on)
            .unwrap_or_else(|| self.configured_enabled(plugin_id)))
    }

    /// Whether `plugin_id` is installed on this node, stored for the cluster, or
    /// reported by another node (deployed there by an operator).
    pub async fn is_known(&self, store: &Store, plugin_id: &str) -> Result<bool, sqlx::Error> {
        self.scan();
        Ok(self.slot(plugin_id).is_some() || store.plugin_known_to_cluster(plugin_id).await?)
    }

    /// Enables a plugin for the whole cluster; a copy that had failed is retried.
    pub async fn enable(&self, store: &Store, plugin_id: &str) -> Result<(), PluginError> {
        self.set_enabled(store, plugin_id, true).await
    }

    /// Disables a plugin for the whole cluster.
    pub async fn disable(&self, store: &Store, plugin_id: &str) -> Result<(), PluginError> {
        self.set_enabled(store, plugin_id, false).await
    }

    async fn set_enabled(
        &self,
        store: &Store,
        plugin_id: &str,
        enabled: bool,
    ) -> Result<(), PluginError> {
        if !self.enabled() {
            return Err(PluginError::Disabled);
        }
        let _guard = self.operations.lock().await;
        if !self.is_known(store, plugin_id).await? {
            return Err(PluginError::NotFound(plugin_id.into()));
        }
        store.set_plugin_state(plugin_id, enabled).await?;
        self.sync_locked(store, Some(plugin_id), enabled).await?;
        self.tell_cluster(ClusterMessage::PluginChanged {
            plugin_id: plugin_id.to_string(),
            retry_failed: enabled,
        });
        Ok(())
    }

    /// Installs an uploaded bundle for the whole cluster: validated aside, stored in the
    /// database (the truth every node installs from, now or when it joins), then
    /// swapped in here; the old version (only with `force`) is stopped just before.
    pub async fn install(
        &self,
        store: &Store,
        bundle: Vec<u8>,
        force: bool,
    ) -> Result<Manifest, PluginError> {
        if !self.enabled() {
            return Err(PluginError::Disabled);
        }
        let _guard = self.operations.lock().await;
        let staged = self.stage(bundle.clone()).await?;
        let id = staged.manifest.id.clone();
        let exists = match self.is_known(store, &id).await {
            Ok(exists) => exists,
            Err(err) => {
                staged.discard();
                return Err(err.into());
            }
        };
        if exists && !force {
            staged.discard();
            return Err(bundle::BundleError::AlreadyInstalled(id).into());
        }
        let upload_id = chorus_model::new_id();
        let stored = StoredBundle {
            plugin_id: id.clone(),
            upload_id: upload_id.clone(),
            version: staged.manifest.version.clone(),
            bundle,
        };
        if let Err(err) = store.save_plugin_bundle(&stored).await {
            staged.discard();
            return Err(err.into());
        }
        let manifest = self.swap_in(store, staged, &upload_id, true).await?;
        self.tell_cluster(ClusterMessage::PluginChanged {
            plugin_id: id,
            retry_failed: false,
        });
        Ok(manifest)
    }

    /// Removes a plugin from the whole cluster: its stored bundle and enabled state,
    /// and every node's copy, however it was deployed.
    pub async fn remove(&self, store: &Store, plugin_id: &str) -> Result<(), PluginError> {
        if !self.enabled() {
            return Err(PluginError::Disabled);
        }
        let _guard = self.operations.lock().await;
        if !self.is_known(store, plugin_id).await? {
            return Err(PluginError::NotFound(plugin_id.into()));
        }
        store.delete_plugin(plugin_id).await?;
        self.remove_local(plugin_id).await?;
        self.tell_cluster(ClusterMessage::PluginRemoved {
            plugin_id: plugin_id.to_string(),
        });
        tracing::info!(plugin_id, "plugin removed");
        Ok(())
    }

    /// Compares saved plugin settings with those last seen; changed plugins get
    /// `OnConfigurationChange`. The first call only records what it sees.
    pub async fn check_configurations(&self, store: &Store) {
        let configs: BTreeMap<String, String> = match store.all_plugin_configs().await {
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

    /// Stops every plugin, at shutdown (after the lifecycle's services, which include
    /// this manager's sync and status tasks).
    pub async fn stop_all(&self) {
        let _guard = self.operations.lock().await;
        let slots = self.slots();
        futures_util::future::join_all(slots.iter().map(|slot| slot.stop())).await;
        let _ = std::fs::remove_dir_all(&self.context.socket_root);
        self.context.app.write().expect("app lock").take();
    }

    /// This node's status of every installed plugin.
    pub fn statuses(&self) -> Vec<PluginStatus> {
        self.slots()
            .into_iter()
            .map(|slot| {
                let (state, error) = slot.status();
                PluginStatus {
                    plugin_id: slot.manifest.id.clone(),
                    cluster_id: self.context.node_id.clone(),
                    plugin_path: slot.path.display().to_string(),
                    state,
                    error,
                    name: slot.manifest.name.clone(),
                    description: slot.manifest.description.clone(),
                    version: slot.manifest.version.clone(),
                }
            })
            .collect()
    }

    /// Hook failures counted per plugin (deadline missed, error, crash mid-call), for
    /// synchronous and notification hooks alike.
    pub fn hook_failures(&self, plugin_id: &str) -> u64 {
        self.slot(plugin_id)
            .map_or(0, |s| s.hook_failures.load(Ordering::Relaxed))
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
            if let Ok(serde_json::Value::Object(values)) = serde_json::from_str(&saved) {
                overlay(&values);
            }
        }
        Ok(config)
    }
}

/// The upload a plugin folder was unpacked from, if it came from an upload.
fn installed_upload(plugin_path: &std::path::Path) -> Option<String> {
    std::fs::read_to_string(plugin_path.join(UPLOAD_MARKER))
        .ok()
        .map(|id| id.trim().to_string())
        .filter(|id| !id.is_empty())
}

/// Applies sync requests one at a time, under the admin-operation lock, so a change
/// from another node never interleaves with one made here.
async fn sync_loop(
    app: Arc<AppState>,
    mut queue: tokio::sync::mpsc::UnboundedReceiver<SyncRequest>,
) {
    while let Some(request) = queue.recv().await {
        let manager = &app.plugins;
        match request {
            SyncRequest::Plugins {
                plugin_id,
                retry_failed,
            } => {
                let _guard = manager.operations.lock().await;
                if let Err(err) = manager
                    .sync_locked(&app.store, plugin_id.as_deref(), retry_failed)
                    .await
                {
                    tracing::warn!(plugin_id = ?plugin_id, error = %err, "cannot apply the cluster's plugin state; it will be re-read");
                    // Retry later rather than leave this node out of step.
                    let requests = manager.sync_requests.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                        let _ = requests.send(SyncRequest::Plugins {
                            plugin_id,
                            retry_failed,
                        });
                    });
                }
            }
            SyncRequest::Remove(plugin_id) => {
                let _guard = manager.operations.lock().await;
                if let Err(err) = manager.remove_local(&plugin_id).await {
                    tracing::error!(%plugin_id, error = %err, "cannot remove this node's copy of a removed plugin");
                }
            }
            SyncRequest::Configurations => manager.check_configurations(&app.store).await,
        }
    }
}

/// Writes this node's plugin statuses to the database when they change, and at every
/// heartbeat (after re-reading the shared plugin state and the plugin directory), so
/// `GET /plugins/statuses` on any node shows every node.
async fn status_writer(app: Arc<AppState>, changed: Arc<tokio::sync::Notify>) {
    let mut web_parts = WebParts::default();
    let mut last_written: Option<Vec<PluginStatus>> = None;
    let mut last_write = std::time::Instant::now();
    loop {
        let refresh =
            std::time::Duration::from_secs(app.config.cluster_settings.heartbeat_seconds.max(1));
        let woken = tokio::time::timeout(refresh, changed.notified())
            .await
            .is_ok();
        {
            // Under the operations lock, so a scan never resurrects a plugin being
            // removed. At each heartbeat the whole plugin state is re-read too: a node
            // converges even on a change whose notification it missed while its bus
            // connection stayed up (a dropped connection triggers the same re-read).
            let _guard = app.plugins.operations.lock().await;
            if woken {
                app.plugins.rescan().await;
            } else if let Err(err) = app.plugins.sync_locked(&app.store, None, false).await {
                tracing::warn!(error = %err, "cannot re-read the cluster's plugin state");
            }
        }
        web_parts.announce_changes(&app);
        let statuses = app.plugins.statuses();
        if last_written.as_ref() == Some(&statuses) && last_write.elapsed() < refresh {
            continue;
        }
        match app
            .store
            .save_node_plugin_statuses(&app.node_id, &statuses)
            .await
        {
            Ok(()) => {
                last_written = Some(statuses);
                last_write = std::time::Instant::now();
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot report plugin statuses");
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
        }
    }
}

/// Announces web parts starting and stopping on a single node (in a cluster the status
/// writer does it).
async fn webapp_announcer(app: Arc<AppState>, changed: Arc<tokio::sync::Notify>) {
    let mut web_parts = WebParts::default();
    loop {
        changed.notified().await;
        web_parts.announce_changes(&app);
    }
}

/// The plugins with a web part running on this node, as last announced. Open pages
/// load a web part on `plugin_enabled` and unload it on `plugin_disabled`; each node
/// tells only its own sockets, since `GET /plugins/webapp` answers for that node.
#[derive(Default)]
struct WebParts {
    running: BTreeMap<String, Arc<PluginSlot>>,
}

impl WebParts {
    fn announce_changes(&mut self, app: &AppState) {
        let now: BTreeMap<String, Arc<PluginSlot>> = app
            .plugins
            .running_web_parts()
            .into_iter()
            .map(|slot| (slot.manifest.id.clone(), slot))
            .collect();
        let announce = |name: &str, slot: &PluginSlot| {
            let event = crate::app::events::event(
                name,
                serde_json::json!({ "manifest": slot.manifest }),
                Default::default(),
            );
            app.hub.deliver(&event, &app.hub.connected_users());
        };
        for (id, slot) in &self.running {
            let replaced = now.get(id).is_some_and(|new| !Arc::ptr_eq(new, slot));
            if !now.contains_key(id) || replaced {
                announce(chorus_model::events::PLUGIN_DISABLED, slot);
            }
        }
        for (id, slot) in &now {
            let same = self
                .running
                .get(id)
                .is_some_and(|old| Arc::ptr_eq(old, slot));
            if !same {
                announce(chorus_model::events::PLUGIN_ENABLED, slot);
            }
        }
        self.running = now;
    }
}
