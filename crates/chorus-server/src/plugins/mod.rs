//! The plugin host of one node: which plugins are installed (the folders of
//! `PluginSettings.Directory`), which are enabled (the database, seeded from
//! `PluginSettings.PluginStates`), and one supervisor per enabled plugin.
//!
//! Submodules: `manifest` (reading and validating manifests), `bundle` (safe
//! unpacking and atomic install), `supervisor` (process lifecycle), `host_api` (the
//! gRPC API served to each plugin), `hooks` (calling hooks with deadlines), `http`
//! (routing `/plugins/{id}/…` to `ServeHTTP`).
//!
//! Nothing a plugin needs lives only in this node's memory: enabled states, settings
//! and KV data are in the database, so every node of a cluster can run the same plugin
//! the same way. Admin operations (install, enable, disable, remove) are serialised per
//! node so that two of them never interleave on one plugin folder.

pub mod bundle;
pub mod hooks;
pub mod host_api;
pub mod http;
pub mod manifest;
pub mod supervisor;

use crate::config::PluginSettings;
use crate::store::Store;
use crate::AppState;
use chorus_model::{plugin_state, Manifest, PluginStatus};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};
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
    app: OnceLock<Weak<AppState>>,
}

impl SharedContext {
    fn next_launch_number(&self) -> u64 {
        self.launches.fetch_add(1, Ordering::Relaxed)
    }

    /// The server, while it runs.
    pub fn app(&self) -> Option<Arc<AppState>> {
        self.app.get().and_then(Weak::upgrade)
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
}

struct Supervisor {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl PluginSlot {
    fn new(manifest: Manifest, path: PathBuf) -> PluginSlot {
        PluginSlot {
            manifest,
            path,
            status: Mutex::new((plugin_state::NOT_RUNNING, String::new())),
            running: RwLock::new(None),
            supervisor: tokio::sync::Mutex::new(None),
            hook_failures: AtomicU64::new(0),
            crashes: AtomicU64::new(0),
        }
    }

    fn set_status(&self, state: i32, error: &str) {
        *self.status.lock().expect("status lock") = (state, error.to_string());
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
    #[error("no plugin with id {0:?} is installed")]
    NotFound(String),
    #[error(transparent)]
    Bundle(#[from] bundle::BundleError),
    #[error("database error: {0}")]
    Store(#[from] sqlx::Error),
    #[error("{0}")]
    Internal(String),
}

pub struct PluginManager {
    pub context: Arc<SharedContext>,
    directory: PathBuf,
    slots: RwLock<BTreeMap<String, Arc<PluginSlot>>>,
    operations: tokio::sync::Mutex<()>,
}

impl PluginManager {
    pub fn new(settings: PluginSettings, node_id: &str) -> std::io::Result<PluginManager> {
        let socket_root = std::env::temp_dir().join(format!("chorus-{}", &node_id[..8]));
        std::fs::create_dir_all(&socket_root)?;
        Ok(PluginManager {
            directory: PathBuf::from(&settings.directory),
            context: Arc::new(SharedContext {
                settings,
                node_id: node_id.to_string(),
                socket_root,
                launches: AtomicU64::new(0),
                app: OnceLock::new(),
            }),
            slots: RwLock::new(BTreeMap::new()),
            operations: tokio::sync::Mutex::new(()),
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

    pub fn slot(&self, plugin_id: &str) -> Option<Arc<PluginSlot>> {
        self.slots
            .read()
            .expect("slots lock")
            .get(plugin_id)
            .cloned()
    }

    /// Connects the manager to the server and starts every enabled plugin.
    pub async fn start(&self, app: &Arc<AppState>) {
        let _ = self.context.app.set(Arc::downgrade(app));
        if !self.enabled() {
            return;
        }
        let _guard = self.operations.lock().await;
        self.scan();
        let enabled = match self.enabled_ids(&app.store).await {
            Ok(ids) => ids,
            Err(err) => {
                tracing::error!(error = %err, "cannot read plugin states; no plugin started");
                return;
            }
        };
        for slot in self.slots() {
            if enabled.contains(&slot.manifest.id) {
                slot.start(&self.context).await;
            }
        }
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
                    found.insert(
                        manifest.id.clone(),
                        Arc::new(PluginSlot::new(manifest, path)),
                    );
                }
                Err(err) => {
                    tracing::warn!(folder = %path.display(), error = %err, "skipping plugin folder")
                }
            }
        }
        let mut slots = self.slots.write().expect("slots lock");
        for (id, slot) in found {
            slots.entry(id).or_insert(slot);
        }
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

    pub async fn enable(&self, store: &Store, plugin_id: &str) -> Result<(), PluginError> {
        if !self.enabled() {
            return Err(PluginError::Disabled);
        }
        let _guard = self.operations.lock().await;
        let slot = self
            .slot(plugin_id)
            .ok_or_else(|| PluginError::NotFound(plugin_id.into()))?;
        store.set_plugin_state(plugin_id, true).await?;
        // A plugin that failed is retried from scratch.
        if matches!(
            slot.status().0,
            plugin_state::FAILED_TO_START | plugin_state::FAILED_TO_STAY_RUNNING
        ) {
            slot.stop().await;
        }
        slot.start(&self.context).await;
        Ok(())
    }

    pub async fn disable(&self, store: &Store, plugin_id: &str) -> Result<(), PluginError> {
        if !self.enabled() {
            return Err(PluginError::Disabled);
        }
        let _guard = self.operations.lock().await;
        let slot = self
            .slot(plugin_id)
            .ok_or_else(|| PluginError::NotFound(plugin_id.into()))?;
        store.set_plugin_state(plugin_id, false).await?;
        slot.stop().await;
        slot.set_status(plugin_state::NOT_RUNNING, "");
        Ok(())
    }

    /// Installs a bundle: unpacked and validated aside, then swapped in; the old version
    /// (if any, and only with `force`) is stopped just before the swap and the new one
    /// started if the plugin is enabled.
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
        let directory = self.directory.clone();
        let limits = bundle::BundleLimits {
            max_unpacked_bytes: self.context.settings.max_unpacked_size_bytes,
            ..Default::default()
        };
        let staged = tokio::task::spawn_blocking(move || {
            bundle::stage_bundle(&bundle[..], &directory, limits)
        })
        .await
        .map_err(|e| PluginError::Internal(e.to_string()))??;
        let id = staged.manifest.id.clone();
        let previous = self.slot(&id);
        if previous.is_some() && !force {
            staged.discard();
            return Err(bundle::BundleError::AlreadyInstalled(id).into());
        }
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
                // The old folder is back in place; bring the old version back up.
                if let Some(previous) = previous {
                    if self.is_enabled(store, &id).await.unwrap_or(false) {
                        previous.start(&self.context).await;
                    }
                }
                return Err(err.into());
            }
        };
        let slot = Arc::new(PluginSlot::new(manifest.clone(), path));
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

    /// Stops and deletes a plugin, its folder and its enabled state.
    pub async fn remove(&self, store: &Store, plugin_id: &str) -> Result<(), PluginError> {
        if !self.enabled() {
            return Err(PluginError::Disabled);
        }
        let _guard = self.operations.lock().await;
        let slot = self
            .slot(plugin_id)
            .ok_or_else(|| PluginError::NotFound(plugin_id.into()))?;
        slot.stop().await;
        let path = slot.path.clone();
        tokio::task::spawn_blocking(move || std::fs::remove_dir_all(path))
            .await
            .map_err(|e| PluginError::Internal(e.to_string()))?
            .map_err(|e| PluginError::Internal(format!("cannot delete the plugin folder: {e}")))?;
        self.slots.write().expect("slots lock").remove(plugin_id);
        store.delete_plugin_state(plugin_id).await?;
        tracing::info!(plugin_id, "plugin removed");
        Ok(())
    }

    /// Stops every plugin, at shutdown.
    pub async fn stop_all(&self) {
        let _guard = self.operations.lock().await;
        let slots = self.slots();
        futures_util::future::join_all(slots.iter().map(|slot| slot.stop())).await;
        let _ = std::fs::remove_dir_all(&self.context.socket_root);
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
