//! [`TestServer`]: the handle a test starts, registers users, teams, channels and posts
//! with, and inspects afterwards (KV store, posts, records of what the plugin sent);
//! it serves [`super::fake_api`] on a Unix socket.

use super::fake_api::FakeApi;
use super::state::{EphemeralPost, LogEntry, PublishedClusterEvent, State};
use super::{serve_on, SocketDir};
use crate::api::Api;
use crate::server::server_builder;
use crate::{
    Bot, Channel, ChannelMember, Command, FileInfo, Post, Preference, Reaction, Team, TeamMember,
    User, WebSocketEvent,
};
use chorus_model::new_id;
use chorus_plugin_protocol::v1::plugin_api_server::PluginApiServer;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// An in-memory `PluginApi` server on a Unix socket. Register the users, teams and
/// channels your test needs; inspect what the plugin did afterwards. Every accessor
/// returns a copy of the current state.
#[derive(Debug)]
pub struct TestServer {
    state: Arc<Mutex<State>>,
    socket: PathBuf,
    api: Api,
    task: tokio::task::JoinHandle<()>,
    // Last: dropped after the server task is stopped.
    _dir: Arc<SocketDir>,
}

impl TestServer {
    /// Starts a test server on a socket in a new temporary folder. Call it inside a
    /// tokio runtime (e.g. a `#[tokio::test]`); it stops when dropped.
    pub async fn start() -> TestServer {
        let dir = Arc::new(
            SocketDir::create().expect("could not create a temporary folder for the test sockets"),
        );
        TestServer::start_in(dir).await
    }

    pub(super) async fn start_in(dir: Arc<SocketDir>) -> TestServer {
        let socket = dir.0.join("api.sock");
        let state = Arc::new(Mutex::new(State {
            server_version: "0.0.0-test".into(),
            ..State::default()
        }));
        let router =
            server_builder().add_service(PluginApiServer::new(FakeApi::new(state.clone())));
        let task = serve_on(&socket, router, "API");
        let api = Api::connect_lazy(&socket);
        TestServer {
            state,
            socket,
            api,
            task,
            _dir: dir,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// An [`Api`] connected to this server.
    pub fn api(&self) -> &Api {
        &self.api
    }

    /// The socket path, to pass as `CHORUS_PLUGIN_API_SOCKET` to a plugin process.
    pub fn socket_path(&self) -> &Path {
        &self.socket
    }

    /// Moves the server's clock forward (KV expiry and new timestamps follow it).
    pub fn advance_time(&self, by: Duration) {
        self.state().clock_offset += by;
    }

    /// Registers a user; an empty `id` gets a fresh one. Returns the stored user.
    pub fn add_user(&self, user: User) -> User {
        self.state().add_user(user)
    }

    /// Registers a team; an empty `id` gets a fresh one.
    pub fn add_team(&self, mut team: Team) -> Team {
        if team.id.is_empty() {
            team.id = new_id();
        }
        if team.team_type.is_empty() {
            team.team_type = "O".into();
        }
        let mut state = self.state();
        state.teams.retain(|t| t.id != team.id);
        state.teams.push(team.clone());
        team
    }

    /// Registers a channel; an empty `id` gets a fresh one, an empty `name` the id,
    /// an empty type `"O"`.
    pub fn add_channel(&self, channel: Channel) -> Channel {
        self.state().add_channel(channel)
    }

    /// Stores a post as if a user had posted it (no hooks run); an empty `id` gets a
    /// fresh one. Returns the stored post, ready to hand to a hook.
    pub fn add_post(&self, post: Post) -> Post {
        self.state().add_post(post)
    }

    /// A team's members (added with the API's `create_team_member`).
    pub fn team_members(&self, team_id: &str) -> Vec<TeamMember> {
        self.state()
            .team_members
            .iter()
            .filter(|m| m.team_id == team_id)
            .cloned()
            .collect()
    }

    /// The bots the plugin created with `create_bot`.
    pub fn bots(&self) -> Vec<Bot> {
        self.state().bots.clone()
    }

    /// What `get_plugin_status` answers for `status.plugin_id` (replacing any earlier).
    pub fn set_plugin_status(&self, status: crate::PluginStatus) {
        let mut state = self.state();
        state
            .plugin_statuses
            .retain(|s| s.plugin_id != status.plugin_id);
        state.plugin_statuses.push(status);
    }

    /// What `get_config` answers.
    pub fn set_server_config(&self, config: Value) {
        self.state().server_config = config;
    }

    /// Grants a user a permission system-wide (`scope` empty) or in a team or channel
    /// (a channel's grants do not reach its team; a team's reach its channels).
    pub fn grant_permission(&self, user_id: &str, permission: &str, scope: &str) {
        self.state()
            .grants
            .push((user_id.into(), permission.into(), scope.into()));
    }

    /// Sets the plugin's settings, as `get_plugin_config` returns them.
    pub fn set_config(&self, config: Value) {
        self.state().config = match config {
            Value::Object(map) => map,
            other => panic!("a plugin configuration is a JSON object, not {other}"),
        };
    }

    pub fn config(&self) -> Value {
        Value::Object(self.state().config.clone())
    }

    pub fn set_server_version(&self, version: impl Into<String>) {
        self.state().server_version = version.into();
    }

    /// The live (unexpired) value under a KV key.
    pub fn kv_value(&self, key: &str) -> Option<Vec<u8>> {
        self.state().live_value(key).cloned()
    }

    /// The live KV value decoded from JSON; panics if it is not valid JSON.
    pub fn kv_json(&self, key: &str) -> Option<Value> {
        self.kv_value(key).map(|bytes| {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("KV value of {key:?} is not JSON: {e}"))
        })
    }

    /// Every live KV key, sorted.
    pub fn kv_keys(&self) -> Vec<String> {
        let state = self.state();
        state
            .kv
            .keys()
            .filter(|key| state.live_value(key).is_some())
            .cloned()
            .collect()
    }

    /// Every post, deleted ones included (with `delete_at` set), oldest first.
    pub fn posts(&self) -> Vec<Post> {
        self.state().posts.clone()
    }

    pub fn post(&self, id: &str) -> Option<Post> {
        self.state().posts.iter().find(|p| p.id == id).cloned()
    }

    /// Every user's preferences as plugins left them.
    pub fn preferences(&self) -> Vec<Preference> {
        self.state().preferences.clone()
    }

    /// Every file plugins uploaded (or copied), oldest first, with its content.
    pub fn files(&self) -> Vec<(FileInfo, Vec<u8>)> {
        self.state().files.clone()
    }

    /// Every reaction plugins added, oldest first.
    pub fn reactions(&self) -> Vec<Reaction> {
        self.state().reactions.clone()
    }

    pub fn users(&self) -> Vec<User> {
        self.state().users.clone()
    }

    pub fn channels(&self) -> Vec<Channel> {
        self.state().channels.clone()
    }

    pub fn channel_members(&self, channel_id: &str) -> Vec<ChannelMember> {
        self.state()
            .members
            .iter()
            .filter(|m| m.channel_id == channel_id)
            .cloned()
            .collect()
    }

    /// The registered slash commands, by trigger.
    pub fn commands(&self) -> Vec<Command> {
        self.state().commands.values().cloned().collect()
    }

    pub fn ephemeral_posts(&self) -> Vec<EphemeralPost> {
        self.state().ephemeral_posts.clone()
    }

    /// The dialogs the plugin opened, oldest first (the fake does not check trigger
    /// ids beyond their being present).
    pub fn opened_dialogs(&self) -> Vec<chorus_model::OpenDialogRequest> {
        self.state().opened_dialogs.clone()
    }

    pub fn websocket_events(&self) -> Vec<WebSocketEvent> {
        self.state().websocket_events.clone()
    }

    pub fn cluster_events(&self) -> Vec<PublishedClusterEvent> {
        self.state().cluster_events.clone()
    }

    pub fn logs(&self) -> Vec<LogEntry> {
        self.state().logs.clone()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
