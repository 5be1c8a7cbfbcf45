//! The SDK for Chorus server plugins written in Rust.
//!
//! A Chorus plugin is an executable the server starts, one copy per app server; it
//! speaks gRPC over Unix sockets (the protocol of `chorus-plugin-protocol`, whose
//! proto files are the spec). This crate hides the protocol:
//!
//! - [`Plugin`]: one async method per hook, each with a default that does nothing;
//!   list the ones you implement in [`Plugin::implemented`].
//! - [`Api`]: a typed client of the server's API (KV store, posts, users, channels,
//!   commands, bots, websocket and cluster events, configuration, logging).
//! - [`ClusterMutex`] and [`ClusterJob`] (module [`cluster`]): a lock shared by every
//!   copy of the plugin across a cluster, and a periodic job exactly one copy runs,
//!   both built on the KV store's compare-and-set.
//! - [`serve`]: the whole process life (handshake, socket, health, shutdown) for `main`.
//! - [`testing`]: an in-memory server and a harness to unit-test a plugin.
//!
//! ```no_run
//! use chorus_plugin::{Api, Context, Hook, HookError, Plugin, Post, PostDecision};
//!
//! struct Polite;
//!
//! impl Plugin for Polite {
//!     fn implemented(&self) -> Vec<Hook> {
//!         vec![Hook::OnActivate, Hook::MessageWillBePosted]
//!     }
//!
//!     async fn on_activate(&self, api: &Api) -> Result<(), HookError> {
//!         api.log_info("polite plugin started").await;
//!         Ok(())
//!     }
//!
//!     async fn message_will_be_posted(&self, _api: &Api, _ctx: &Context, post: Post) -> Result<PostDecision, HookError> {
//!         if post.message.contains("rude") {
//!             return Ok(PostDecision::Reject("please be polite".into()));
//!         }
//!         Ok(PostDecision::Accept)
//!     }
//! }
//!
//! fn main() {
//!     chorus_plugin::serve(Polite)
//! }
//! ```

mod api;
pub mod cluster;
mod http;
mod plugin;
mod server;
pub mod testing;
mod types;
mod wire;

pub use api::{Api, ApiError, ApiResult, FileQuery, KvSetOptions, LogLevel};
/// The data types hooks receive and API calls take: `chorus-model`'s, the same the
/// server and its REST API use, so a plugin can store what it sees with
/// [`Api::kv_set_json`] in Mattermost's JSON shape.
pub use chorus_model::{
    Bot, BotPatch, Broadcast, Channel, ChannelMember, Command, CommandArgs, CommandResponse,
    FileInfo, PluginStatus, Post, PostList, Preference, Reaction, Status, Team, TeamMember, User,
    WebSocketEvent,
};
pub use cluster::{ClusterJob, ClusterMutex, ClusterMutexGuard, JobHandle};
pub use http::{HttpRequest, HttpResponse, HTTP_CHUNK_SIZE};
pub use plugin::{FileDecision, Hook, HookError, HookKind, LoginDecision, Plugin, PostDecision};
pub use server::{serve, NOT_STARTED_BY_SERVER};
pub use types::{ClusterEvent, Context};

/// `chorus-model`, for its other types and constants (`RESPONSE_TYPE_EPHEMERAL`, ...).
pub use chorus_model as model;

/// The protocol crate, for what the SDK does not wrap (generated clients, constants).
pub use chorus_plugin_protocol as protocol;
/// Re-exported so plugins can name JSON values without depending on `serde_json`.
pub use serde_json;
