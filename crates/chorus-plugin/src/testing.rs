//! Unit-testing plugins without a server: [`TestServer`], an in-memory implementation
//! of the `PluginApi` gRPC service, and [`Harness`], which serves a plugin's hooks the
//! way the real server reaches them and calls them for you.
//!
//! Both listen on real Unix sockets in a temporary folder, in-process, so a test
//! exercises the same gRPC path, conversions and HTTP chunking as production.
//!
//! The test server keeps real key-value semantics (expiry, compare-and-set,
//! compare-and-delete, sorted paged listing, the 150-character key and 1 MiB value
//! limits), stores posts, knows the users, teams and channels a test registers, and
//! records what a plugin sends out (ephemeral posts, websocket events, cluster events,
//! log lines, registered commands) for assertions. Its clock can be moved forward with
//! [`TestServer::advance_time`], so expiry is tested without sleeping.
//!
//! ```
//! use chorus_plugin::testing::Harness;
//! use chorus_plugin::{Api, Context, Hook, HookError, Plugin, Post, User};
//!
//! /// Counts each user's posts in the KV store.
//! struct Counter;
//!
//! impl Plugin for Counter {
//!     fn implemented(&self) -> Vec<Hook> {
//!         vec![Hook::MessageHasBeenPosted]
//!     }
//!
//!     async fn message_has_been_posted(&self, api: &Api, _ctx: &Context, post: Post) -> Result<(), HookError> {
//!         let key = format!("count:{}", post.user_id);
//!         let count: u64 = api.kv_get_json(&key).await?.unwrap_or(0);
//!         api.kv_set_json(&key, &(count + 1)).await?;
//!         Ok(())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let harness = Harness::start(Counter).await;
//! let alice = harness.server().add_user(User { username: "alice".into(), ..User::default() });
//! let town_square = harness.server().add_channel(Default::default());
//!
//! let post = harness.server().add_post(Post { user_id: alice.id.clone(), ..Post::new(&town_square.id, "hi") });
//! harness.message_has_been_posted(post.clone()).await.unwrap();
//! harness.message_has_been_posted(post).await.unwrap();
//!
//! let count: Option<u64> = harness.api().kv_get_json(format!("count:{}", alice.id)).await.unwrap();
//! assert_eq!(count, Some(2));
//! # }
//! ```

use crate::api::Api;
use crate::http::{HttpRequest, HttpResponse};
use crate::plugin::{Hook, Plugin, PostDecision};
use crate::server::{hooks_server, server_builder, unique_socket_path};
use crate::wire::{HarnessArg, HookReply, HookRequest};
use crate::LogLevel;
use crate::{
    Broadcast, Channel, ChannelMember, ClusterEvent, Command, CommandArgs, CommandResponse,
    Context, Post, Team, TeamMember, User, WebSocketEvent,
};
use chorus_model::new_id;
use chorus_plugin_protocol::v1::{
    self, hooks_client::HooksClient, plugin_api_server::PluginApiServer,
};
use chorus_plugin_protocol::{convert, kv};
use serde_json::Value;
use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tonic::transport::Channel as GrpcChannel;
use tonic::{Request, Response, Status};

/// A folder for the sockets of one test, removed when dropped.
#[derive(Debug)]
struct SocketDir(PathBuf);

impl SocketDir {
    fn create() -> std::io::Result<SocketDir> {
        // Short names: a Unix socket path may not exceed ~107 bytes.
        let path = unique_socket_path(&std::env::temp_dir(), "chorus-test").with_extension("d");
        std::fs::create_dir_all(&path)?;
        Ok(SocketDir(path))
    }
}

impl Drop for SocketDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

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
struct KvEntry {
    value: Vec<u8>,
    /// Milliseconds since the epoch on the server's clock; 0 never expires.
    expire_at: i64,
}

#[derive(Debug, Default)]
struct State {
    clock_offset: Duration,
    kv: BTreeMap<String, KvEntry>,
    posts: Vec<Post>,
    users: Vec<User>,
    teams: Vec<Team>,
    channels: Vec<Channel>,
    members: Vec<ChannelMember>,
    commands: BTreeMap<String, Command>,
    ephemeral_posts: Vec<EphemeralPost>,
    websocket_events: Vec<WebSocketEvent>,
    cluster_events: Vec<PublishedClusterEvent>,
    logs: Vec<LogEntry>,
    config: serde_json::Map<String, Value>,
    server_version: String,
}

impl State {
    fn now_ms(&self) -> i64 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            + self.clock_offset;
        i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
    }

    fn live_value(&self, key: &str) -> Option<&Vec<u8>> {
        let now = self.now_ms();
        self.kv
            .get(key)
            .filter(|e| e.expire_at == 0 || e.expire_at > now)
            .map(|e| &e.value)
    }

    fn user(&self, id: &str) -> Result<&User, Status> {
        self.users
            .iter()
            .find(|u| u.id == id)
            .ok_or_else(|| Status::not_found(format!("no user with id {id:?}")))
    }

    fn channel(&self, id: &str) -> Result<&Channel, Status> {
        self.channels
            .iter()
            .find(|c| c.id == id)
            .ok_or_else(|| Status::not_found(format!("no channel with id {id:?}")))
    }

    fn add_user(&mut self, mut user: User) -> User {
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

    fn add_channel(&mut self, mut channel: Channel) -> Channel {
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

    fn add_post(&mut self, mut post: Post) -> Post {
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

    async fn start_in(dir: Arc<SocketDir>) -> TestServer {
        let socket = dir.0.join("api.sock");
        let listener = tokio::net::UnixListener::bind(&socket)
            .unwrap_or_else(|e| panic!("could not listen on {}: {e}", socket.display()));
        let state = Arc::new(Mutex::new(State {
            server_version: "0.0.0-test".into(),
            ..State::default()
        }));
        let service = PluginApiServer::new(FakeApi {
            state: state.clone(),
        });
        let task = tokio::spawn(async move {
            let incoming = chorus_plugin_protocol::unix_incoming(listener);
            if let Err(error) = server_builder()
                .add_service(service)
                .serve_with_incoming(incoming)
                .await
            {
                eprintln!("the test API server stopped: {error}");
            }
        });
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

/// The gRPC service behind [`TestServer`].
struct FakeApi {
    state: Arc<Mutex<State>>,
}

impl FakeApi {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The host's KV rules, refused with the status the host gives.
fn kv_rule(result: Result<(), kv::KvRuleError>) -> Result<(), Status> {
    result.map_err(|err| Status::invalid_argument(err.to_string()))
}

fn check_key(key: &str) -> Result<(), Status> {
    kv_rule(kv::check_key(key))
}

fn required<T>(value: Option<T>, what: &str) -> Result<T, Status> {
    value.ok_or_else(|| Status::invalid_argument(format!("{what} is required")))
}

fn json_object(text: &str, what: &str) -> Result<serde_json::Map<String, Value>, Status> {
    convert::strict_json_object(text)
        .ok_or_else(|| Status::invalid_argument(format!("{what} must be a JSON object")))
}

fn ok<T>(value: T) -> Result<Response<T>, Status> {
    Ok(Response::new(value))
}

#[tonic::async_trait]
impl v1::plugin_api_server::PluginApi for FakeApi {
    async fn kv_set(
        &self,
        request: Request<v1::KvSetRequest>,
    ) -> Result<Response<v1::KvSetResponse>, Status> {
        let request = request.into_inner();
        kv_rule(kv::check_write(
            &request.key,
            request.value.as_deref(),
            request.expire_in_seconds,
        ))?;
        let mut state = self.state();
        if request.atomic && state.live_value(&request.key) != request.old_value.as_ref() {
            return ok(v1::KvSetResponse { written: false });
        }
        match request.value {
            Some(value) => {
                let expire_at = if request.expire_in_seconds > 0 {
                    state.now_ms() + request.expire_in_seconds * 1000
                } else {
                    0
                };
                state.kv.insert(request.key, KvEntry { value, expire_at });
            }
            None => {
                state.kv.remove(&request.key);
            }
        }
        ok(v1::KvSetResponse { written: true })
    }

    async fn kv_get(
        &self,
        request: Request<v1::KvGetRequest>,
    ) -> Result<Response<v1::KvGetResponse>, Status> {
        let request = request.into_inner();
        check_key(&request.key)?;
        ok(v1::KvGetResponse {
            value: self.state().live_value(&request.key).cloned(),
        })
    }

    async fn kv_get_many(
        &self,
        request: Request<v1::KvGetManyRequest>,
    ) -> Result<Response<v1::KvGetManyResponse>, Status> {
        let keys = request.into_inner().keys;
        kv_rule(kv::check_keys(&keys))?;
        let state = self.state();
        let values = keys
            .into_iter()
            .filter_map(|key| state.live_value(&key).cloned().map(|value| (key, value)))
            .collect();
        ok(v1::KvGetManyResponse { values })
    }

    async fn kv_delete(
        &self,
        request: Request<v1::KvDeleteRequest>,
    ) -> Result<Response<v1::Empty>, Status> {
        let request = request.into_inner();
        check_key(&request.key)?;
        self.state().kv.remove(&request.key);
        ok(v1::Empty {})
    }

    async fn kv_delete_all(&self, _: Request<v1::Empty>) -> Result<Response<v1::Empty>, Status> {
        self.state().kv.clear();
        ok(v1::Empty {})
    }

    async fn kv_list(
        &self,
        request: Request<v1::KvListRequest>,
    ) -> Result<Response<v1::KvListResponse>, Status> {
        let request = request.into_inner();
        let per_page = kv::list_page_size(request.per_page) as usize;
        let state = self.state();
        let keys = state
            .kv
            .range(request.prefix.clone()..)
            .take_while(|(key, _)| key.starts_with(&request.prefix))
            .filter(|(key, _)| state.live_value(key).is_some())
            .map(|(key, _)| key.clone())
            .skip(request.page as usize * per_page)
            .take(per_page)
            .collect();
        ok(v1::KvListResponse { keys })
    }

    async fn create_post(
        &self,
        request: Request<v1::PostRequest>,
    ) -> Result<Response<v1::Post>, Status> {
        let post = Post::from(required(request.into_inner().post, "post")?);
        let mut state = self.state();
        if post.user_id.is_empty() {
            return Err(Status::invalid_argument(
                "a post needs a user_id (for example your bot's id)",
            ));
        }
        state.user(&post.user_id)?;
        state.channel(&post.channel_id)?;
        let post = state.add_post(Post {
            id: String::new(),
            create_at: 0,
            ..post
        });
        ok(post.into())
    }

    async fn update_post(
        &self,
        request: Request<v1::PostRequest>,
    ) -> Result<Response<v1::Post>, Status> {
        let update = Post::from(required(request.into_inner().post, "post")?);
        let mut state = self.state();
        let now = state.now_ms();
        let stored = state
            .posts
            .iter_mut()
            .find(|p| p.id == update.id && p.delete_at == 0)
            .ok_or_else(|| Status::not_found(format!("no post with id {:?}", update.id)))?;
        stored.message = update.message;
        stored.props = update.props;
        stored.is_pinned = update.is_pinned;
        stored.hashtags = update.hashtags;
        stored.update_at = now;
        stored.edit_at = now;
        ok(stored.clone().into())
    }

    async fn delete_post(
        &self,
        request: Request<v1::PostIdRequest>,
    ) -> Result<Response<v1::Empty>, Status> {
        let id = request.into_inner().post_id;
        let mut state = self.state();
        let now = state.now_ms();
        let stored = state
            .posts
            .iter_mut()
            .find(|p| p.id == id && p.delete_at == 0)
            .ok_or_else(|| Status::not_found(format!("no post with id {id:?}")))?;
        stored.delete_at = now;
        stored.update_at = now;
        ok(v1::Empty {})
    }

    async fn get_post(
        &self,
        request: Request<v1::PostIdRequest>,
    ) -> Result<Response<v1::Post>, Status> {
        let id = request.into_inner().post_id;
        let state = self.state();
        let post = state
            .posts
            .iter()
            .find(|p| p.id == id && p.delete_at == 0)
            .ok_or_else(|| Status::not_found(format!("no post with id {id:?}")))?;
        ok(post.clone().into())
    }

    async fn send_ephemeral_post(
        &self,
        request: Request<v1::SendEphemeralPostRequest>,
    ) -> Result<Response<v1::Post>, Status> {
        let request = request.into_inner();
        let mut post = Post::from(required(request.post, "post")?);
        let mut state = self.state();
        state.user(&request.user_id)?;
        post.id = new_id();
        post.create_at = state.now_ms();
        post.update_at = post.create_at;
        post.post_type = "system_ephemeral".into();
        state.ephemeral_posts.push(EphemeralPost {
            user_id: request.user_id,
            post: post.clone(),
        });
        ok(post.into())
    }

    async fn get_user(
        &self,
        request: Request<v1::UserIdRequest>,
    ) -> Result<Response<v1::User>, Status> {
        let id = request.into_inner().user_id;
        ok(self.state().user(&id)?.clone().into())
    }

    async fn get_user_by_username(
        &self,
        request: Request<v1::UsernameRequest>,
    ) -> Result<Response<v1::User>, Status> {
        let username = request.into_inner().username;
        let state = self.state();
        let user = state
            .users
            .iter()
            .find(|u| u.username == username)
            .ok_or_else(|| Status::not_found(format!("no user named {username:?}")))?;
        ok(user.clone().into())
    }

    async fn get_channel(
        &self,
        request: Request<v1::ChannelIdRequest>,
    ) -> Result<Response<v1::Channel>, Status> {
        let id = request.into_inner().channel_id;
        ok(self.state().channel(&id)?.clone().into())
    }

    async fn get_channel_by_name(
        &self,
        request: Request<v1::ChannelByNameRequest>,
    ) -> Result<Response<v1::Channel>, Status> {
        let request = request.into_inner();
        let state = self.state();
        let channel = state
            .channels
            .iter()
            .find(|c| c.team_id == request.team_id && c.name == request.name)
            .ok_or_else(|| {
                Status::not_found(format!(
                    "no channel {:?} in team {:?}",
                    request.name, request.team_id
                ))
            })?;
        ok(channel.clone().into())
    }

    async fn get_direct_channel(
        &self,
        request: Request<v1::DirectChannelRequest>,
    ) -> Result<Response<v1::Channel>, Status> {
        let request = request.into_inner();
        let mut state = self.state();
        state.user(&request.user_id_1)?;
        state.user(&request.user_id_2)?;
        let name = Channel::direct_name(&request.user_id_1, &request.user_id_2);
        let ids = [request.user_id_1, request.user_id_2];
        if let Some(channel) = state
            .channels
            .iter()
            .find(|c| c.channel_type == "D" && c.name == name)
        {
            return ok(channel.clone().into());
        }
        let channel = state.add_channel(Channel {
            name,
            channel_type: "D".into(),
            ..Channel::default()
        });
        for user_id in ids {
            state.members.push(ChannelMember {
                channel_id: channel.id.clone(),
                user_id,
                roles: "channel_user".into(),
                ..ChannelMember::default()
            });
        }
        ok(channel.into())
    }

    async fn add_channel_member(
        &self,
        request: Request<v1::AddChannelMemberRequest>,
    ) -> Result<Response<v1::ChannelMember>, Status> {
        let request = request.into_inner();
        let mut state = self.state();
        state.user(&request.user_id)?;
        state.channel(&request.channel_id)?;
        if let Some(member) = state
            .members
            .iter()
            .find(|m| m.channel_id == request.channel_id && m.user_id == request.user_id)
        {
            return ok(member.clone().into());
        }
        let member = ChannelMember {
            channel_id: request.channel_id,
            user_id: request.user_id,
            roles: "channel_user".into(),
            last_update_at: state.now_ms(),
            ..ChannelMember::default()
        };
        state.members.push(member.clone());
        ok(member.into())
    }

    async fn get_channel_member(
        &self,
        request: Request<v1::ChannelMemberRequest>,
    ) -> Result<Response<v1::ChannelMember>, Status> {
        let request = request.into_inner();
        let state = self.state();
        let member = state
            .members
            .iter()
            .find(|m| m.channel_id == request.channel_id && m.user_id == request.user_id)
            .cloned()
            .ok_or_else(|| Status::not_found("the user is not a member of that channel"))?;
        ok(member.into())
    }

    async fn get_team(
        &self,
        request: Request<v1::TeamIdRequest>,
    ) -> Result<Response<v1::Team>, Status> {
        let id = request.into_inner().team_id;
        let state = self.state();
        let team = state
            .teams
            .iter()
            .find(|t| t.id == id)
            .ok_or_else(|| Status::not_found(format!("no team with id {id:?}")))?;
        ok(team.clone().into())
    }

    async fn register_command(
        &self,
        request: Request<v1::Command>,
    ) -> Result<Response<v1::Empty>, Status> {
        let command = Command::from(request.into_inner());
        let trigger = &command.trigger;
        if trigger.is_empty() || trigger.starts_with('/') || trigger.contains(char::is_whitespace) {
            return Err(Status::invalid_argument(format!(
                "a command trigger is one word without the slash, not {trigger:?}"
            )));
        }
        self.state()
            .commands
            .insert(command.trigger.clone(), command);
        ok(v1::Empty {})
    }

    async fn unregister_command(
        &self,
        request: Request<v1::UnregisterCommandRequest>,
    ) -> Result<Response<v1::Empty>, Status> {
        self.state().commands.remove(&request.into_inner().trigger);
        ok(v1::Empty {})
    }

    async fn ensure_bot_user(
        &self,
        request: Request<v1::EnsureBotUserRequest>,
    ) -> Result<Response<v1::User>, Status> {
        let request = request.into_inner();
        if request.username.is_empty() {
            return Err(Status::invalid_argument("a bot needs a username"));
        }
        let mut state = self.state();
        if let Some(user) = state.users.iter().find(|u| u.username == request.username) {
            if !user.is_bot {
                return Err(Status::already_exists(format!(
                    "the username {:?} belongs to a person, not a bot",
                    request.username
                )));
            }
            return ok(user.clone().into());
        }
        let bot = state.add_user(User {
            username: request.username,
            nickname: request.display_name,
            position: request.description,
            is_bot: true,
            ..User::default()
        });
        ok(bot.into())
    }

    async fn publish_web_socket_event(
        &self,
        request: Request<v1::PublishWebSocketEventRequest>,
    ) -> Result<Response<v1::Empty>, Status> {
        let request = request.into_inner();
        if request.event.is_empty() {
            return Err(Status::invalid_argument("a websocket event needs a name"));
        }
        let data = json_object(&request.data_json, "websocket event data")?;
        let broadcast = request.broadcast.map(Broadcast::from).unwrap_or_default();
        // As the plugin named it: clients would receive `custom_<plugin id>_<event>`.
        self.state().websocket_events.push(WebSocketEvent {
            event: request.event,
            data,
            broadcast,
            seq: 0,
        });
        ok(v1::Empty {})
    }

    async fn publish_plugin_cluster_event(
        &self,
        request: Request<v1::PublishPluginClusterEventRequest>,
    ) -> Result<Response<v1::Empty>, Status> {
        let request = request.into_inner();
        let target_node_id = Some(request.target_node_id).filter(|id| !id.is_empty());
        self.state().cluster_events.push(PublishedClusterEvent {
            id: request.id,
            data: request.data,
            target_node_id,
        });
        ok(v1::Empty {})
    }

    async fn get_plugin_config(
        &self,
        _: Request<v1::Empty>,
    ) -> Result<Response<v1::PluginConfig>, Status> {
        let config_json = Value::Object(self.state().config.clone()).to_string();
        ok(v1::PluginConfig { config_json })
    }

    async fn save_plugin_config(
        &self,
        request: Request<v1::PluginConfig>,
    ) -> Result<Response<v1::Empty>, Status> {
        let config = json_object(
            &request.into_inner().config_json,
            "the plugin configuration",
        )?;
        self.state().config = config;
        ok(v1::Empty {})
    }

    async fn log(&self, request: Request<v1::LogRequest>) -> Result<Response<v1::Empty>, Status> {
        let request = request.into_inner();
        let level = match v1::LogLevel::try_from(request.level) {
            Ok(v1::LogLevel::Debug) => LogLevel::Debug,
            Ok(v1::LogLevel::Warn) => LogLevel::Warn,
            Ok(v1::LogLevel::Error) => LogLevel::Error,
            _ => LogLevel::Info,
        };
        let fields: BTreeMap<String, String> = request.fields.into_iter().collect();
        // Shown by cargo test when the test fails.
        eprintln!("plugin log {level:?}: {} {fields:?}", request.message);
        self.state().logs.push(LogEntry {
            level,
            message: request.message,
            fields,
        });
        ok(v1::Empty {})
    }

    async fn get_server_version(
        &self,
        _: Request<v1::Empty>,
    ) -> Result<Response<v1::ServerVersion>, Status> {
        ok(v1::ServerVersion {
            version: self.state().server_version.clone(),
        })
    }
}

/// Why a [`Harness`] hook call failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HarnessError {
    /// The plugin does not list the hook in [`Plugin::implemented`], so a real server
    /// would never call it.
    #[error("{0} is not in the plugin's implemented() list, so the server would never call it")]
    NotImplemented(Hook),
    /// The hook returned an error (or the call failed).
    #[error("the hook failed: {0}")]
    Failed(String),
}

impl From<Status> for HarnessError {
    fn from(status: Status) -> Self {
        HarnessError::Failed(status.message().to_string())
    }
}

/// A plugin served in-process on a Unix socket, with a [`TestServer`] as its API, and
/// one method per hook to call it as the server would (over gRPC, through the SDK's
/// conversions). Every call carries a [`Context`] with a fresh `request_id`, `node_id`
/// `"test-node"` and, as `user_id`, the user the event is about (the post's author,
/// the command's caller, the member, ...).
///
/// Calling a hook the plugin does not list in [`Plugin::implemented`] fails with
/// [`HarnessError::NotImplemented`], as the real server would never call it.
pub struct Harness<P> {
    server: TestServer,
    hooks: HooksClient<GrpcChannel>,
    implemented: Vec<Hook>,
    plugin: std::marker::PhantomData<fn() -> P>,
    task: tokio::task::JoinHandle<()>,
}

impl<P: Plugin> Harness<P> {
    /// Serves `plugin` and a fresh [`TestServer`]. Call it inside a tokio runtime;
    /// everything stops when the harness is dropped. Does not call `OnActivate`: call
    /// [`Harness::on_activate`] when your test wants it.
    pub async fn start(plugin: P) -> Harness<P> {
        let dir = Arc::new(
            SocketDir::create().expect("could not create a temporary folder for the test sockets"),
        );
        let server = TestServer::start_in(dir.clone()).await;
        let implemented = plugin.implemented();
        let socket = dir.0.join("hooks.sock");
        let listener = tokio::net::UnixListener::bind(&socket)
            .unwrap_or_else(|e| panic!("could not listen on {}: {e}", socket.display()));
        let service = hooks_server(plugin, server.api().clone());
        let task = tokio::spawn(async move {
            let incoming = chorus_plugin_protocol::unix_incoming(listener);
            if let Err(error) = server_builder()
                .add_service(service)
                .serve_with_incoming(incoming)
                .await
            {
                eprintln!("the test hooks server stopped: {error}");
            }
        });
        let channel = chorus_plugin_protocol::connect_unix(&socket)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "could not connect to the plugin at {}: {e}",
                    socket.display()
                )
            });
        Harness {
            server,
            hooks: HooksClient::new(channel),
            implemented,
            plugin: std::marker::PhantomData,
            task,
        }
    }

    /// The test server: register users and channels, inspect what the plugin did.
    pub fn server(&self) -> &TestServer {
        &self.server
    }

    /// An [`Api`] connected to the test server, as the plugin has.
    pub fn api(&self) -> &Api {
        self.server.api()
    }

    /// A raw gRPC client of the plugin's `Hooks` service, for what the typed methods
    /// do not cover.
    pub fn hooks_client(&self) -> HooksClient<GrpcChannel> {
        self.hooks.clone()
    }

    fn check(&self, hook: Hook) -> Result<HooksClient<GrpcChannel>, HarnessError> {
        if self.implemented.contains(&hook) {
            Ok(self.hooks.clone())
        } else {
            Err(HarnessError::NotImplemented(hook))
        }
    }

    /// Calls a unary hook as the server would: `args` packed into its request with a
    /// context naming the user who acted, the answer unpacked.
    async fn call<R, A, F, Fut>(
        &self,
        hook: Hook,
        args: R::Args,
        send: F,
    ) -> Result<A::Output, HarnessError>
    where
        R: HookRequest,
        A: HookReply,
        F: FnOnce(HooksClient<GrpcChannel>, R) -> Fut,
        Fut: Future<Output = Result<Response<A>, Status>>,
    {
        let hooks = self.check(hook)?;
        let context = Context {
            request_id: new_id(),
            user_id: R::acting_user(&args).to_string(),
            session_id: String::new(),
            node_id: "test-node".into(),
        };
        let reply = send(hooks, R::from_args(context, args)).await?;
        reply
            .into_inner()
            .into_output()
            .map_err(HarnessError::Failed)
    }

    /// The hook names the plugin reports through the `Implemented` RPC.
    pub async fn implemented(&self) -> Result<Vec<String>, HarnessError> {
        Ok(self
            .hooks
            .clone()
            .implemented(v1::Empty {})
            .await?
            .into_inner()
            .hooks)
    }

    /// Sends an HTTP request through `ServeHTTP` (streamed in chunks, as the server
    /// does) and collects the streamed response.
    pub async fn serve_http(&self, request: HttpRequest) -> Result<HttpResponse, HarnessError> {
        let mut hooks = self.check(Hook::ServeHttp)?;
        let parts = tokio_stream::iter(request.into_parts());
        let mut stream = hooks.serve_http(parts).await?.into_inner();
        let mut received = Vec::new();
        while let Some(part) = stream.message().await? {
            received.push(part);
        }
        HttpResponse::from_parts(received).ok_or_else(|| {
            HarnessError::Failed("ServeHTTP answered without a response head".into())
        })
    }
}

/// A harness type of a hook parameter: the one after `as` in the hook table, else the
/// `Plugin` method's own.
macro_rules! harness_type {
    ($harness:ty; $own:ty) => {
        $harness
    };
    (; $own:ty) => {
        $own
    };
}

/// One method per unary hook of the hook table, calling it through [`Harness::call`].
/// (`ServeHTTP`, the streaming hook, is [`Harness::serve_http`].)
macro_rules! harness_calls {
    (@munch [$($done:tt)*]) => {
        impl<P: Plugin> Harness<P> {
            $($done)*
        }
    };
    (@munch [$($done:tt)*] streaming $variant:ident = $name:literal, $rpc:ident: $kind:ident,
        $request:ident => $response:ident, ($($params:tt)*) -> $output:ty; $($rest:tt)*) => {
        harness_calls! { @munch [$($done)*] $($rest)* }
    };
    (@munch [$($done:tt)*] unary $variant:ident = $name:literal, $rpc:ident: $kind:ident,
        $request:ident => $response:ident,
        ($(&$ctx:ident,)? $($arg:ident: $ty:ty $(as $harness_ty:ty)?),*) -> $output:ty;
        $($rest:tt)*) => {
        harness_calls! { @munch [$($done)*
            #[doc = concat!("Calls `", $name, "` as the server would (see [`Harness`]).")]
            pub async fn $rpc(
                &self,
                $($arg: harness_type!($($harness_ty)?; $ty)),*
            ) -> Result<$output, HarnessError> {
                let args = ($(<_ as HarnessArg<$ty>>::into_arg($arg),)*);
                self.call::<v1::$request, v1::$response, _, _>(
                    Hook::$variant,
                    args,
                    |mut hooks, request| async move { hooks.$rpc(request).await },
                )
                .await
            }
        ] $($rest)* }
    };
    ([] $($table:tt)*) => {
        harness_calls! { @munch [] $($table)* }
    };
}

chorus_plugin_protocol::for_each_hook!(harness_calls);

impl<P> Drop for Harness<P> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl<P> std::fmt::Debug for Harness<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("server", &self.server)
            .field("implemented", &self.implemented)
            .finish()
    }
}
