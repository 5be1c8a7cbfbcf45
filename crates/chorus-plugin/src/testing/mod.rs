//! Unit-testing plugins without a server: [`TestServer`], an in-memory implementation
//! of the `PluginApi` gRPC service, and [`Harness`], which serves a plugin's hooks the
//! way the real server reaches them and calls them for you.
//!
//! Both listen on real Unix sockets in a temporary folder, in-process, so a test
//! exercises the same gRPC path, conversions and HTTP chunking as production.
//!
//! The parts: [`TestServer`] (module `server`) is the handle a test registers data
//! with and inspects; its gRPC service is `fake_api`, over the state and records of
//! `state`; [`Harness`] (module `harness`) serves the plugin and calls its hooks.
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

mod fake_api;
mod harness;
mod server;
mod state;

pub use harness::{Harness, HarnessError};
pub use server::TestServer;
pub use state::{EphemeralPost, LogEntry, PublishedClusterEvent};

use crate::server::unique_socket_path;
use std::path::{Path, PathBuf};
use tonic::transport::server::Router;

/// A folder for the sockets of one test, removed when dropped.
#[derive(Debug)]
pub(crate) struct SocketDir(pub(crate) PathBuf);

impl SocketDir {
    pub(crate) fn create() -> std::io::Result<SocketDir> {
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

/// Serves `router` on a new Unix socket at `socket`, in a task of its own; `what` names
/// the server in the message printed should it stop with an error.
pub(crate) fn serve_on(
    socket: &Path,
    router: Router,
    what: &'static str,
) -> tokio::task::JoinHandle<()> {
    let listener = tokio::net::UnixListener::bind(socket)
        .unwrap_or_else(|e| panic!("could not listen on {}: {e}", socket.display()));
    tokio::spawn(async move {
        let incoming = chorus_plugin_protocol::unix_incoming(listener);
        if let Err(error) = router.serve_with_incoming(incoming).await {
            eprintln!("the test {what} server stopped: {error}");
        }
    })
}
