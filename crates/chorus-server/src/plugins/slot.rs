//! One installed plugin on this node: its manifest and folder, its status, the
//! running process (when there is one) and the supervisor looking after it.

use super::supervisor::{self, RunningPlugin};
use super::SharedContext;
use chorus_model::{Manifest, PluginState};
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::watch;

/// One installed plugin on this node.
pub struct PluginSlot {
    pub manifest: Manifest,
    pub path: PathBuf,
    pub(super) status: Mutex<(PluginState, String)>,
    pub(super) running: RwLock<Option<Arc<RunningPlugin>>>,
    pub(super) supervisor: tokio::sync::Mutex<Option<Supervisor>>,
    pub hook_failures: AtomicU64,
    pub crashes: AtomicU64,
    /// Output lines dropped by the log rate limit.
    pub log_lines_dropped: AtomicU64,
    pub(super) status_changed: Arc<tokio::sync::Notify>,
}

pub(super) struct Supervisor {
    pub(super) stop: watch::Sender<bool>,
    pub(super) task: tokio::task::JoinHandle<()>,
}

impl PluginSlot {
    pub(super) fn new(
        manifest: Manifest,
        path: PathBuf,
        status_changed: Arc<tokio::sync::Notify>,
    ) -> PluginSlot {
        PluginSlot {
            status_changed,
            manifest,
            path,
            status: Mutex::new((PluginState::NotRunning, String::new())),
            running: RwLock::new(None),
            supervisor: tokio::sync::Mutex::new(None),
            hook_failures: AtomicU64::new(0),
            crashes: AtomicU64::new(0),
            log_lines_dropped: AtomicU64::new(0),
        }
    }

    pub(super) fn set_status(&self, state: PluginState, error: &str) {
        *self.status.lock().expect("status lock") = (state, error.to_string());
        self.status_changed.notify_one();
    }

    /// Whether a supervisor is looking after this plugin (running, starting or
    /// restarting it).
    pub(super) async fn is_supervised(&self) -> bool {
        self.supervisor
            .lock()
            .await
            .as_ref()
            .is_some_and(|s| !s.task.is_finished())
    }

    pub fn status(&self) -> (PluginState, String) {
        self.status.lock().expect("status lock").clone()
    }

    pub(super) fn set_running(&self, running: Option<Arc<RunningPlugin>>) {
        *self.running.write().expect("running lock") = running;
    }

    pub fn running(&self) -> Option<Arc<RunningPlugin>> {
        self.running.read().expect("running lock").clone()
    }

    /// Starts the supervisor unless one is already running.
    pub(super) async fn start(self: &Arc<Self>, context: &Arc<SharedContext>) {
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
    pub(super) async fn stop(&self) {
        let supervisor = self.supervisor.lock().await.take();
        if let Some(supervisor) = supervisor {
            let _ = supervisor.stop.send(true);
            let _ = supervisor.task.await;
        }
        let (state, _) = self.status();
        if state != PluginState::FailedToStart {
            self.set_status(PluginState::NotRunning, "");
        }
    }
}
