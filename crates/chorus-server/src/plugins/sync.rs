//! Bringing this node in line with the cluster: reading the plugin folders, the
//! enabled states and stored uploads from the database, and the sync task that
//! applies changes made through other nodes one at a time.

use super::admin::installed_upload;
use super::{manifest, PluginError, PluginManager, PluginSlot};
use crate::store::Store;
use crate::AppState;
use chorus_model::PluginState;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Work for the sync task, which applies the cluster's plugin state to this node one
/// request at a time.
pub(super) enum SyncRequest {
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

impl PluginManager {
    /// Reads every plugin folder; folders without a valid manifest are logged and skipped.
    pub(super) fn scan(&self) {
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
    pub(super) async fn rescan(&self) {
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
    pub(super) async fn sync_locked(
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
                    PluginState::FailedToStart | PluginState::FailedToStayRunning
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
                slot.set_status(PluginState::NotRunning, "");
            }
        }
        Ok(())
    }

    /// Unpacks the stored bundle of `plugin_id` and swaps it in.
    pub(super) async fn install_stored(
        &self,
        store: &Store,
        plugin_id: &str,
    ) -> Result<(), PluginError> {
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

    /// Ids that should run: the database's states, else `PluginSettings.PluginStates`.
    pub(super) async fn enabled_ids(
        &self,
        store: &Store,
    ) -> crate::store::StoreResult<std::collections::HashSet<String>> {
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

    pub(super) fn configured_enabled(&self, plugin_id: &str) -> bool {
        self.context
            .settings
            .plugin_states
            .get(plugin_id)
            .and_then(|state| state.get("Enable"))
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    }

    pub(super) async fn is_enabled(
        &self,
        store: &Store,
        plugin_id: &str,
    ) -> crate::store::StoreResult<bool> {
        let stored = store.plugin_states().await?;
        Ok(stored
            .into_iter()
            .find(|(id, _)| id == plugin_id)
            .map(|(_, on)| on)
            .unwrap_or_else(|| self.configured_enabled(plugin_id)))
    }

    /// Whether `plugin_id` is installed on this node, stored for the cluster, or
    /// reported by another node (deployed there by an operator).
    pub async fn is_known(
        &self,
        store: &Store,
        plugin_id: &str,
    ) -> crate::store::StoreResult<bool> {
        self.scan();
        Ok(self.slot(plugin_id).is_some() || store.plugin_known_to_cluster(plugin_id).await?)
    }
}

/// Applies sync requests one at a time, under the admin-operation lock, so a change
/// from another node never interleaves with one made here.
pub(super) async fn sync_loop(
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
