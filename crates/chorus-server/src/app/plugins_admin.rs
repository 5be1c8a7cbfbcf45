//! Plugin administration, for system admins and for the whole cluster whichever node
//! is asked: installing uploads (where the settings allow them, with `OnInstall` once
//! the installed version runs), enabling, disabling and removing plugins; their statuses, one per plugin per node; and the web bundles
//! of running plugins (public, since the web app loads them before login).

use super::permissions::require_admin;
use super::Actor;
use crate::error::{AppError, AppResult, Code};
use crate::plugins::bundle::BundleError;
use crate::plugins::PluginError;
use crate::AppState;
use chorus_model::{Manifest, PluginState, PluginStatus, PluginsResponse, WebappPlugin};
use std::sync::Arc;

impl From<PluginError> for AppError {
    fn from(err: PluginError) -> AppError {
        let message = err.to_string();
        match err {
            PluginError::Disabled => Code::PluginsDisabled.with_message(message),
            PluginError::UploadsDisabled => Code::PluginUploadsDisabled.with_message(message),
            PluginError::UploadsRefusedInCluster => {
                Code::PluginUploadsRefusedInCluster.with_message(message)
            }
            PluginError::NotFound(_) => Code::PluginNotInstalled.with_message(message),
            PluginError::Bundle(BundleError::AlreadyInstalled(_)) => {
                Code::PluginInstallId.with_message(message)
            }
            PluginError::Bundle(BundleError::Io(_)) => {
                tracing::error!(error = %message, "plugin install failed on the file system");
                AppError::Internal(message)
            }
            PluginError::Bundle(BundleError::TooLarge(_)) => {
                Code::PluginBundleTooLarge.with_message(message)
            }
            PluginError::Bundle(_) => Code::PluginExtract.with_message(message),
            PluginError::Store(err) => AppError::Store(err),
            PluginError::Internal(message) => AppError::Internal(message),
        }
    }
}

/// How long after an installation or an enable `OnInstall` waits for the plugin to
/// start on this node, and how often it looks.
const INSTALL_HOOK_WAIT: std::time::Duration = std::time::Duration::from_secs(120);
const INSTALL_HOOK_POLL: std::time::Duration = std::time::Duration::from_millis(200);

fn require_plugins(state: &AppState) -> AppResult<()> {
    if state.plugins.enabled() {
        Ok(())
    } else {
        Err(PluginError::Disabled.into())
    }
}

impl AppState {
    /// Whether `actor` may upload a bundle here; checked before the upload is read.
    pub fn may_upload_plugins(&self, actor: Actor<'_>) -> AppResult<()> {
        require_admin(actor)?;
        require_plugins(self)?;
        let settings = self.plugins.settings();
        if !settings.enable_uploads {
            Err(PluginError::UploadsDisabled.into())
        } else if self.bus.is_some() && !settings.allow_uploads_in_cluster {
            Err(PluginError::UploadsRefusedInCluster.into())
        } else {
            Ok(())
        }
    }

    /// Installs an uploaded bundle on every node (`force` replaces one installed).
    pub async fn install_plugin(
        self: &Arc<Self>,
        actor: Actor<'_>,
        bundle: Vec<u8>,
        force: bool,
    ) -> AppResult<Manifest> {
        self.may_upload_plugins(actor)?;
        let manifest = self.plugins.install(&self.store, bundle, force).await?;
        if let Some(admin) = actor.user_id() {
            self.store.mark_install_pending(&manifest.id, admin).await?;
            self.deliver_owed_install(&manifest.id);
        }
        Ok(manifest)
    }

    /// Calls `OnInstall` once the installed plugin runs on this node (it may be
    /// enabled already, or only later: [`AppState::enable_plugin`] tries again), taking
    /// the owed call from the store so that it happens once in the cluster.
    fn deliver_owed_install(self: &Arc<Self>, plugin_id: &str) {
        let (state, plugin_id) = (self.clone(), plugin_id.to_string());
        tokio::spawn(async move {
            let (plugins, store) = (&state.plugins, &state.store);
            let deadline = tokio::time::Instant::now() + INSTALL_HOOK_WAIT;
            while tokio::time::Instant::now() < deadline {
                let running = plugins
                    .slot(&plugin_id)
                    .is_some_and(|slot| slot.status().0 == PluginState::Running);
                if running {
                    match store.take_install_pending(&plugin_id).await {
                        Ok(Some(admin)) => {
                            let context = crate::plugins::HookContext::for_user(&admin, "");
                            if !plugins.on_install(&plugin_id, &context, &admin) {
                                // Stopped in between: owe it again.
                                let _ = store.mark_install_pending(&plugin_id, &admin).await;
                                continue;
                            }
                        }
                        Ok(None) => {}
                        Err(err) => {
                            tracing::warn!(%plugin_id, error = %err, "cannot read the owed OnInstall");
                        }
                    }
                    return;
                }
                tokio::time::sleep(INSTALL_HOOK_POLL).await;
            }
        });
    }

    /// Installed plugins, running (`active`) or not.
    pub fn list_plugins(&self, actor: Actor<'_>) -> AppResult<PluginsResponse> {
        require_admin(actor)?;
        require_plugins(self)?;
        let mut response = PluginsResponse::default();
        for slot in self.plugins.slots() {
            if slot.status().0 == PluginState::Running {
                response.active.push(slot.manifest.clone());
            } else {
                response.inactive.push(slot.manifest.clone());
            }
        }
        Ok(response)
    }

    /// One status per plugin per live node.
    pub async fn plugin_statuses(&self, actor: Actor<'_>) -> AppResult<Vec<PluginStatus>> {
        require_admin(actor)?;
        require_plugins(self)?;
        let mut statuses = self.plugins.statuses();
        if self.bus.is_some() {
            let settings = &self.config.cluster_settings;
            let since = chorus_model::now_millis() - (settings.node_timeout_seconds as i64) * 1000;
            statuses.extend(
                self.store
                    .other_nodes_plugin_statuses(&settings.cluster_name, since, &self.node_id)
                    .await?,
            );
        }
        Ok(statuses)
    }

    /// Web bundles of running plugins, each at the URL `bundle_url` gives it.
    pub fn plugin_web_bundles(
        &self,
        bundle_url: impl Fn(&str, &str) -> String,
    ) -> Vec<WebappPlugin> {
        if !self.plugins.enabled() {
            return Vec::new();
        }
        self.plugins
            .running_web_parts()
            .into_iter()
            .filter_map(|slot| {
                let webapp = slot.manifest.webapp.as_ref()?;
                Some(WebappPlugin {
                    id: slot.manifest.id.clone(),
                    version: slot.manifest.version.clone(),
                    webapp: chorus_model::ManifestWebapp {
                        bundle_path: bundle_url(&slot.manifest.id, &webapp.bundle_path),
                    },
                })
            })
            .collect()
    }

    pub async fn enable_plugin(
        self: &Arc<Self>,
        actor: Actor<'_>,
        plugin_id: &str,
    ) -> AppResult<()> {
        require_admin(actor)?;
        self.plugins.enable(&self.store, plugin_id).await?;
        self.deliver_owed_install(plugin_id);
        Ok(())
    }

    pub async fn disable_plugin(&self, actor: Actor<'_>, plugin_id: &str) -> AppResult<()> {
        require_admin(actor)?;
        Ok(self.plugins.disable(&self.store, plugin_id).await?)
    }

    pub async fn remove_plugin(&self, actor: Actor<'_>, plugin_id: &str) -> AppResult<()> {
        require_admin(actor)?;
        Ok(self.plugins.remove(&self.store, plugin_id).await?)
    }
}
