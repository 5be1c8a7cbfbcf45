//! One lifecycle for every background task of a node. Each task is spawned into a
//! stage; stopping a stage cancels its token (every task ends at its next await point)
//! and waits until all of its tasks have ended, so `run` returns only after everything
//! it started has drained. Stages stop in order, because some work must end before
//! other work: the services (sweepers, heartbeats, status reports, plugin sync) before
//! this node leaves the nodes table, the transport (the cluster bus and the sweeper of
//! orphaned plugin processes) only after the plugins have stopped.

use std::future::Future;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The stages of a node's background work, in the order they stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Periodic and event-driven work that needs the store and the cluster.
    Services,
    /// What carries messages between nodes, and what outlives the plugins.
    Transport,
}

struct StageTasks {
    token: CancellationToken,
    tracker: TaskTracker,
}

/// The background tasks of one node.
pub struct Lifecycle {
    /// Parent of every stage's token: cancelling it stops everything at once.
    shutdown: CancellationToken,
    services: StageTasks,
    transport: StageTasks,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle::new()
    }
}

impl Lifecycle {
    pub fn new() -> Lifecycle {
        let shutdown = CancellationToken::new();
        let stage = || StageTasks {
            token: shutdown.child_token(),
            tracker: TaskTracker::new(),
        };
        Lifecycle {
            services: stage(),
            transport: stage(),
            shutdown,
        }
    }

    fn stage(&self, stage: Stage) -> &StageTasks {
        match stage {
            Stage::Services => &self.services,
            Stage::Transport => &self.transport,
        }
    }

    /// Runs `task` until it ends or its stage stops.
    pub fn spawn(&self, stage: Stage, task: impl Future<Output = ()> + Send + 'static) {
        let stage = self.stage(stage);
        let token = stage.token.clone();
        stage.tracker.spawn(async move {
            tokio::select! {
                _ = token.cancelled() => {}
                _ = task => {}
            }
        });
    }

    /// Whether the node is stopping (or `stage` already stopped).
    pub fn is_stopping(&self, stage: Stage) -> bool {
        self.stage(stage).token.is_cancelled()
    }

    /// Stops `stage` and waits until every one of its tasks has ended.
    pub async fn stop(&self, stage: Stage) {
        let stage = self.stage(stage);
        stage.token.cancel();
        stage.tracker.close();
        stage.tracker.wait().await;
    }

    /// Stops every stage, in order.
    pub async fn stop_all(&self) {
        self.stop(Stage::Services).await;
        self.stop(Stage::Transport).await;
        self.shutdown.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    #[tokio::test]
    async fn stopping_a_stage_waits_for_its_tasks_and_leaves_the_others() {
        let lifecycle = Lifecycle::new();
        let dropped = Arc::new(AtomicBool::new(false));
        struct Flag(Arc<AtomicBool>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let flag = Flag(dropped.clone());
        lifecycle.spawn(Stage::Services, async move {
            let _flag = flag;
            std::future::pending::<()>().await;
        });
        let transport_ran = Arc::new(AtomicBool::new(false));
        let ran = transport_ran.clone();
        lifecycle.spawn(Stage::Transport, async move {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            ran.store(true, Ordering::SeqCst);
        });
        lifecycle.stop(Stage::Services).await;
        assert!(dropped.load(Ordering::SeqCst), "the service task ended");
        assert!(!lifecycle.is_stopping(Stage::Transport));
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert!(
            transport_ran.load(Ordering::SeqCst),
            "transport kept running"
        );
        lifecycle.stop_all().await;
        assert!(lifecycle.is_stopping(Stage::Transport));
    }
}
