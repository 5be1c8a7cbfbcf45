//! What the [`TestServer`](super::TestServer) holds: its clock, the KV store with
//! expiry, the users, teams, channels, members and posts a test registered or a plugin
//! created, and the records of what the plugin sent out (ephemeral posts, websocket
//! and cluster events, log lines), with the rules shared by its accessors and its gRPC
//! service.

use crate::LogLevel;
use crate::{
    Bot, Channel, ChannelMember, Command, FileInfo, Post, Preference, Reaction, Team, TeamMember,
    User, WebSocketEvent,
};
use chorus_model::new_id;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tonic::Status;

/// An ephemeral post a plugin showed to one user.
#[derive(Debug, Clone, PartialEq)]
pub struct EphemeralPost {
    pub user_id: String,
    pub post: Post,
}

/// A cluster event a plugin published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedClusterEvent {
    pub id: String,
    pub data: Vec<u8>,
    /// `None`: every other node.
    pub target_node_id: Option<String>,
}

/// A line a plugin logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub level: LogLevel,
    pub message: String,
    pub fields: BTreeMap<String, String>,
}

#[derive(Debug)]
pub(super) struct KvEntry {
    pub(super) value: Vec<u8>,
    /// Milliseconds since the epoch on the server's clock; 0 never expires.
    pub(super) expire_at: i64,
}

#[derive(Debug, Default)]
pub(super) struct State {
    pub(super) clock_offset: Duration,
    pub(super) kv: BTreeMap<String, KvEntry>,
    pub(super) posts: Vec<Post>,
    pub(super) reactions: Vec<Reaction>,
    /// Uploaded files with their content, oldest first.
    pub(super) files: Vec<(FileInfo, Vec<u8>)>,
    pub(super) preferences: Vec<Preference>,
    /// Statuses set through the API (everyone else is offline).
    pub(super) statuses: Vec<chorus_model::Status>,
    pub(super) users: Vec<User>,
    pub(super) teams: Vec<Team>,
    pub(super) channels: Vec<Channel>,
    pub(super) members: Vec<ChannelMember>,
    pub(super) commands: BTreeMap<String, Command>,
    /// Ephemeral posts shown and not deleted, as last updated.
    pub(super) ephemeral_posts: Vec<EphemeralPost>,
    pub(super) opened_dialogs: Vec<chorus_model::OpenDialogRequest>,
    pub(super) websocket_events: Vec<WebSocketEvent>,
    pub(super) cluster_events: Vec<PublishedClusterEvent>,
    pub(super) logs: Vec<LogEntry>,
    pub(super) config: serde_json::Map<String, Value>,
    pub(super) server_version: String,
    pub(super) team_members: Vec<TeamMember>,
    pub(super) bots: Vec<Bot>,
    /// What `GetConfig` answers (the server's configuration).
    pub(super) server_config: Value,
    /// `(user_id, permission, team or channel id or "")` granted by the test; system
    /// admins hold every permission.
    pub(super) grants: Vec<(String, String, String)>,
    pub(super) diagnostic_id: String,
    pub(super) plugin_statuses: Vec<crate::PluginStatus>,
    /// Profile pictures set through the API, as given.
    pub(super) profile_images: BTreeMap<String, Vec<u8>>,
}

impl State {
    /// A user's status: what the API set, else offline.
    pub(super) fn status_of(&self, user_id: &str) -> chorus_model::Status {
        self.statuses
            .iter()
            .find(|s| s.user_id == user_id)
            .cloned()
            .unwrap_or_else(|| chorus_model::Status::offline(user_id))
    }

    pub(super) fn now_ms(&self) -> i64 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            + self.clock_offset;
        i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
    }

    pub(super) fn live_value(&self, key: &str) -> Option<&Vec<u8>> {
        let now = self.now_ms();
        self.kv
            .get(key)
            .filter(|e| e.expire_at == 0 || e.expire_at > now)
            .map(|e| &e.value)
    }

    pub(super) fn user(&self, id: &str) -> Result<&User, Status> {
        self.users
            .iter()
            .find(|u| u.id == id)
            .ok_or_else(|| Status::not_found(format!("no user with id {id:?}")))
    }

    pub(super) fn file(&self, id: &str) -> Result<&(FileInfo, Vec<u8>), Status> {
        self.files
            .iter()
            .find(|(f, _)| f.id == id && f.delete_at == 0)
            .ok_or_else(|| Status::not_found(format!("no file with id {id:?}")))
    }

    pub(super) fn team(&self, id: &str) -> Result<&Team, Status> {
        self.teams
            .iter()
            .find(|t| t.id == id)
            .ok_or_else(|| Status::not_found(format!("no team with id {id:?}")))
    }

    /// Whether a user holds a permission: every one for system admins, else those the
    /// test granted system-wide or in `scopes` (a team, a channel and its team).
    pub(super) fn holds(&self, user_id: &str, permission: &str, scopes: &[&str]) -> bool {
        let admin = self
            .users
            .iter()
            .any(|u| u.id == user_id && u.roles.split_whitespace().any(|r| r == "system_admin"));
        admin
            || self.grants.iter().any(|(user, granted, scope)| {
                user == user_id
                    && granted == permission
                    && (scope.is_empty() || scopes.contains(&scope.as_str()))
            })
    }

    pub(super) fn channel(&self, id: &str) -> Result<&Channel, Status> {
        self.channels
            .iter()
            .find(|c| c.id == id)
            .ok_or_else(|| Status::not_found(format!("no channel with id {id:?}")))
    }

    pub(super) fn add_user(&mut self, mut user: User) -> User {
        if user.id.is_empty() {
            user.id = new_id();
        }
        if user.create_at == 0 {
            user.create_at = self.now_ms();
            user.update_at = user.create_at;
        }
        if user.roles.is_empty() {
            user.roles = "system_user".into();
        }
        self.users.retain(|u| u.id != user.id);
        self.users.push(user.clone());
        user
    }

    pub(super) fn add_channel(&mut self, mut channel: Channel) -> Channel {
        if channel.id.is_empty() {
            channel.id = new_id();
        }
        if channel.name.is_empty() {
            channel.name = channel.id.clone();
        }
        if channel.channel_type.is_empty() {
            channel.channel_type = "O".into();
        }
        if channel.create_at == 0 {
            channel.create_at = self.now_ms();
            channel.update_at = channel.create_at;
        }
        self.channels.retain(|c| c.id != channel.id);
        self.channels.push(channel.clone());
        channel
    }

    pub(super) fn add_post(&mut self, mut post: Post) -> Post {
        if post.id.is_empty() {
            post.id = new_id();
        }
        if post.create_at == 0 {
            post.create_at = self.now_ms();
            post.update_at = post.create_at;
        }
        self.posts.retain(|p| p.id != post.id);
        self.posts.push(post.clone());
        post
    }
}
