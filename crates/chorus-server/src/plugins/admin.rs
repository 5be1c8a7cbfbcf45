//! Admin operations on this node's plugin folders: unpacking an upload, swapping a
//! new version in atomically, removing a plugin, and enabling or disabling one for the
//! whole cluster. They run under the manager's operations lock, one at a time.

use super::{bundle, PluginError, PluginManager};
use crate::cluster::ClusterMessage;
use crate::store::{Store, StoredBundle};
use chorus_model::Manifest;

/// Names, inside an installed plugin's folder, the stored upload it was unpacked from.
/// A folder without it was deployed by an operator into `PluginSettings.Directory`.
pub(super) const UPLOAD_MARKER: &str = ".chorus-upload";

impl PluginManager {
    /// Unpacks and validates a bundle in a staging folder.
    pub(super) async fn stage(&self, bundle: Vec<u8>) -> Result<bundle::StagedPlugin, PluginError> {
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
    pub(super) async fn swap_in(
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
    pub(super) async fn remove_local(&self, plugin_id: &str) -> Result<(), PluginError> {
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

    /// Enables a plugin for the whole cluster; a copy that had failed is retried.
    pub async fn enable(&self, store: &Store, plugin_id: &str) -> Result<(), PluginError> {
        self.set_enabled(store, plugin_id, true).await
    }

    /// Disables a plugin for the whole cluster.
    pub async fn disable(&self, store: &Store, plugin_id: &str) -> Result<(), PluginError> {
        self.set_enabled(store, plugin_id, false).await
    }

    pub(super) async fn set_enabled(
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
}

/// The upload a plugin folder was unpacked from, if it came from an upload.
pub(super) fn installed_upload(plugin_path: &std::path::Path) -> Option<String> {
    std::fs::read_to_string(plugin_path.join(UPLOAD_MARKER))
        .ok()
        .map(|id| id.trim().to_string())
        .filter(|id| !id.is_empty())
}
