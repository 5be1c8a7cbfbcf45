//! What this node reports about its plugins: their statuses (written to the database
//! in a cluster, so any node can list every node's), hook failure counts, and the web
//! parts announced to open pages as they start and stop.

use super::{PluginManager, PluginSlot};
use crate::AppState;
use chorus_model::PluginStatus;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

impl PluginManager {
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
}

/// Writes this node's plugin statuses to the database when they change, and at every
/// heartbeat (after re-reading the shared plugin state and the plugin directory), so
/// `GET /plugins/statuses` on any node shows every node.
pub(super) async fn status_writer(app: Arc<AppState>, changed: Arc<tokio::sync::Notify>) {
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
pub(super) async fn webapp_announcer(app: Arc<AppState>, changed: Arc<tokio::sync::Notify>) {
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
