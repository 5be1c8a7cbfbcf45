//! Statuses, cluster-wide: a user is `online` while any of their websockets is open
//! on any live node, `away` once idle for `TeamSettings.UserStatusAwayTimeout`,
//! `offline` when the last socket anywhere closes or the node holding it dies; `dnd`
//! (optionally until a time) and the other manual statuses stay until changed.
//!
//! Each node records which users it holds a live socket of (`user_presence`); the
//! periodic [`sweep_forever`] on every node rewrites its own rows (repairing any
//! write that raced), removes the rows of nodes that stopped heartbeating and turns
//! their users offline, and applies the away timeout and the end of timed `dnd`.
//! Every change the user could hear is announced once, by the node whose write made
//! it, with a `status_change` event to the user (other users' clients ask with
//! `POST /users/status/ids`, as Mattermost's do); going offline is not announced, as
//! no socket is left to hear it.

use super::events::event;
use super::permissions::require_self_or_admin;
use super::validate::require_id;
use super::Actor;
use crate::error::{AppError, AppResult, Code};
use crate::lifecycle::Stage;
use crate::AppState;
use chorus_model::{
    events, now_millis, Broadcast, Status, STATUS_AWAY, STATUS_DND, STATUS_OFFLINE, STATUS_ONLINE,
};
use std::sync::Arc;
use std::time::Duration;

/// Most users one `POST /users/status/ids` may ask about.
pub const STATUS_IDS_MAX: usize = 1000;

/// Serialises this node's presence writes per user, so that a socket opening and
/// another closing for the same user land in the order they happened. Users are
/// spread over a few locks so that a storm of reconnections is not written one at a
/// time.
pub struct PresenceLock(Vec<tokio::sync::Mutex<()>>);

const PRESENCE_SHARDS: usize = 32;

impl Default for PresenceLock {
    fn default() -> Self {
        PresenceLock((0..PRESENCE_SHARDS).map(|_| Default::default()).collect())
    }
}

impl PresenceLock {
    /// Held while a socket of `user_id` attaches to the hub and its presence is
    /// recorded, or while its closing is.
    pub async fn order(&self, user_id: &str) -> tokio::sync::MutexGuard<'_, ()> {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        user_id.hash(&mut hasher);
        self.0[hasher.finish() as usize % PRESENCE_SHARDS]
            .lock()
            .await
    }

    /// Every shard, for rewriting the node's whole presence.
    async fn all(&self) -> Vec<tokio::sync::MutexGuard<'_, ()>> {
        let mut guards = Vec::with_capacity(PRESENCE_SHARDS);
        for shard in &self.0 {
            guards.push(shard.lock().await);
        }
        guards
    }
}

impl AppState {
    /// Tells the user's sockets (but `quiet_connection`, which already knows).
    fn announce_status(&self, status: &Status, quiet_connection: Option<&str>) {
        let mut broadcast = Broadcast::to_user(&status.user_id);
        broadcast.omit_connection_id = quiet_connection.unwrap_or_default().to_string();
        self.publish_to(
            event(
                events::STATUS_CHANGE,
                serde_json::json!({"status": status.status, "user_id": status.user_id}),
                broadcast,
            ),
            std::slice::from_ref(&status.user_id),
        );
    }

    /// Heartbeats older than this mean the node is gone.
    fn live_since(&self) -> i64 {
        now_millis() - (self.config.cluster_settings.node_timeout_seconds as i64) * 1000
    }

    /// A socket of `user_id` attached to this node: plugins hear of it.
    pub fn socket_opened(&self, user_id: &str, connection_id: &str) {
        self.plugins.on_web_socket_connect(connection_id, user_id);
    }

    /// A socket of `user_id` closed on this node.
    pub async fn socket_closed(&self, user_id: &str, connection_id: &str) {
        {
            let _order = self.presence_lock.order(user_id).await;
            self.record_presence(user_id, None).await;
        }
        self.plugins
            .on_web_socket_disconnect(connection_id, user_id);
    }

    /// Records whether this node holds a live socket of `user_id`, and turns the user
    /// online or (with none left anywhere) offline. Called with the presence lock
    /// held; `new_connection` is the socket that just attached, if one did.
    pub async fn record_presence(&self, user_id: &str, new_connection: Option<&str>) {
        let present = self.hub.live_sockets_of(user_id) > 0;
        let result = async {
            self.store
                .set_presence(&self.node_id, user_id, present)
                .await?;
            if present {
                self.mark_active(user_id, new_connection).await
            } else if !self.store.is_present(user_id, self.live_since()).await? {
                // Not announced: the user has no socket left to hear it (and a
                // dropped one waiting to resume should not replay it).
                self.store.mark_offline(user_id, now_millis()).await?;
                Ok(())
            } else {
                Ok(())
            }
        }
        .await;
        if let Err(err) = result {
            tracing::warn!(%user_id, error = %err, "cannot record the user's presence; the next sweep repairs it");
        }
    }

    async fn mark_active(&self, user_id: &str, quiet_connection: Option<&str>) -> AppResult<()> {
        if self.store.mark_active(user_id, now_millis()).await? {
            let status = Status {
                user_id: user_id.into(),
                status: STATUS_ONLINE.into(),
                ..Status::default()
            };
            self.announce_status(&status, quiet_connection);
        }
        Ok(())
    }

    /// The user did something (posted, viewed a channel, said they are active):
    /// while they have a socket somewhere, they are `online` unless they chose their
    /// status by hand. Without one (a bot or script on REST alone) nothing changes:
    /// nobody is there to be online.
    pub async fn record_activity(&self, user_id: &str) -> AppResult<()> {
        if self.hub.live_sockets_of(user_id) == 0
            && !self.store.is_present(user_id, self.live_since()).await?
        {
            return Ok(());
        }
        self.mark_active(user_id, None).await
    }

    /// `GET /users/{id}/status`: anyone signed in may ask.
    pub async fn user_status(&self, user_id: &str) -> AppResult<Status> {
        require_id(user_id, "user_id")?;
        Ok(self
            .store
            .get_status(user_id)
            .await?
            .unwrap_or_else(|| Status::offline(user_id)))
    }

    /// The plugin API's `GetUserStatus`: a user that does not exist is an error there.
    pub async fn existing_user_status(&self, user_id: &str) -> AppResult<Status> {
        require_id(user_id, "user_id")?;
        if self.store.get_user(user_id).await?.is_none() {
            return Err(Code::UserNotFound.into());
        }
        self.user_status(user_id).await
    }

    /// `POST /users/status/ids`: in the order asked, `offline` for users never seen.
    pub async fn user_statuses(&self, user_ids: &[String]) -> AppResult<Vec<Status>> {
        if user_ids.is_empty() || user_ids.len() > STATUS_IDS_MAX {
            return Err(AppError::invalid_param("user_ids"));
        }
        for id in user_ids {
            require_id(id, "user_ids")?;
        }
        let found = self.store.get_statuses(user_ids).await?;
        Ok(user_ids
            .iter()
            .map(|id| {
                found
                    .iter()
                    .find(|s| s.user_id == *id)
                    .cloned()
                    .unwrap_or_else(|| Status::offline(id))
            })
            .collect())
    }

    /// Everyone not offline, for the websocket's `get_statuses`.
    pub async fn present_statuses(&self) -> AppResult<Vec<Status>> {
        Ok(self.store.present_statuses().await?)
    }

    /// `PUT /users/{id}/status`, as Mattermost's: `online` hands the status back to
    /// activity; `away` and `offline` are kept until changed; `dnd` too, or until
    /// `dnd_end_time` (seconds; rounded down to the minute) when given.
    pub async fn set_user_status(
        &self,
        actor: Actor<'_>,
        user_id: &str,
        requested: &str,
        dnd_end_time: i64,
    ) -> AppResult<Status> {
        require_id(user_id, "user_id")?;
        require_self_or_admin(actor, user_id)?;
        if self.store.get_user(user_id).await?.is_none() {
            return Err(Code::UserNotFound.into());
        }
        let now = now_millis();
        let old = self
            .store
            .get_status(user_id)
            .await?
            .unwrap_or_else(|| Status::offline(user_id));
        let status = match requested {
            STATUS_ONLINE => Status {
                status: STATUS_ONLINE.into(),
                manual: false,
                last_activity_at: now,
                dnd_end_time: 0,
                prev_status: String::new(),
                ..old.clone()
            },
            STATUS_AWAY | STATUS_OFFLINE => Status {
                status: requested.into(),
                manual: true,
                dnd_end_time: 0,
                prev_status: String::new(),
                ..old.clone()
            },
            STATUS_DND => {
                if dnd_end_time < 0 || (dnd_end_time > 0 && dnd_end_time * 1000 <= now) {
                    return Err(AppError::invalid_param("dnd_end_time"));
                }
                let prev_status = if old.status == STATUS_DND {
                    old.prev_status.clone()
                } else {
                    old.status.clone()
                };
                Status {
                    status: STATUS_DND.into(),
                    manual: true,
                    dnd_end_time: dnd_end_time - dnd_end_time % 60,
                    prev_status,
                    ..old.clone()
                }
            }
            _ => return Err(AppError::invalid_param("status")),
        };
        self.store.save_status(&status).await?;
        if status.status != old.status {
            self.announce_status(&status, None);
        }
        Ok(status)
    }

    /// `user_update_active_status` from a socket: active means online; inactive means
    /// away (kept when `manual`), unless the status was chosen by hand.
    pub async fn update_active_status(
        &self,
        user_id: &str,
        active: bool,
        manual: bool,
    ) -> AppResult<()> {
        if active {
            return self.record_activity(user_id).await;
        }
        let Some(old) = self.store.get_status(user_id).await? else {
            return Ok(());
        };
        if (old.manual && !manual) || old.status == STATUS_AWAY || old.status == STATUS_OFFLINE {
            return Ok(());
        }
        let status = Status {
            status: STATUS_AWAY.into(),
            manual,
            ..old
        };
        self.store.save_status(&status).await?;
        self.announce_status(&status, None);
        Ok(())
    }

    /// One pass of the sweep (see the module's comment).
    async fn sweep_statuses(&self) -> crate::store::StoreResult<()> {
        {
            let _order = self.presence_lock.all().await;
            let mine: Vec<String> = self
                .hub
                .connected_users()
                .into_iter()
                .filter(|u| self.hub.live_sockets_of(u) > 0)
                .collect();
            self.store.replace_presence(&self.node_id, &mine).await?;
        }
        let since = self.live_since();
        let mut orphaned = self.store.sweep_dead_presence(since).await?;
        orphaned.sort();
        orphaned.dedup();
        for user_id in orphaned {
            if !self.store.is_present(&user_id, since).await? {
                self.store.mark_offline(&user_id, now_millis()).await?;
            }
        }
        let away_after = self.config.team_settings.user_status_away_timeout as i64 * 1000;
        for status in self.store.mark_idle_away(now_millis() - away_after).await? {
            self.announce_status(&status, None);
        }
        for status in self.store.end_expired_dnd(now_millis() / 1000).await? {
            self.announce_status(&status, None);
        }
        Ok(())
    }
}

/// Sweeps statuses every heartbeat until the node's services stop.
pub async fn sweep_forever(state: Arc<AppState>) {
    let interval = Duration::from_secs(state.config.cluster_settings.heartbeat_seconds.max(1));
    let mut tick = tokio::time::interval(interval);
    loop {
        tick.tick().await;
        if state.lifecycle.is_stopping(Stage::Services) {
            return;
        }
        if let Err(err) = state.sweep_statuses().await {
            tracing::warn!(error = %err, "status sweep failed");
        }
    }
}
