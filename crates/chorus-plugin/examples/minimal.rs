//! The smallest useful plugin, started as a real child process by the SDK's tests
//! (`tests/process.rs`): it turns a post saying exactly "ping" into "pong", and
//! remembers every post it saw in the KV store under `seen:<post id>`.
//!
//! Run it as the server would, by hand:
//! `CHORUS_PLUGIN=<MAGIC_COOKIE_VALUE> cargo run -p chorus-plugin --example minimal`
//! prints the handshake line and serves until you close its standard input (Ctrl-D).

use chorus_plugin::{Api, Context, Hook, HookError, Plugin, Post, PostDecision};

struct Minimal;

impl Plugin for Minimal {
    fn implemented(&self) -> Vec<Hook> {
        vec![Hook::MessageWillBePosted, Hook::MessageHasBeenPosted]
    }

    async fn message_will_be_posted(
        &self,
        _api: &Api,
        _ctx: &Context,
        mut post: Post,
    ) -> Result<PostDecision, HookError> {
        if post.message != "ping" {
            return Ok(PostDecision::Accept);
        }
        post.message = "pong".into();
        Ok(PostDecision::Replace(post))
    }

    async fn message_has_been_posted(
        &self,
        api: &Api,
        _ctx: &Context,
        post: Post,
    ) -> Result<(), HookError> {
        api.kv_set(format!("seen:{}", post.id), post.message)
            .await?;
        Ok(())
    }
}

fn main() {
    chorus_plugin::serve(Minimal)
}
