//! A plugin whose only hook, `MessageWillBePosted`, accepts every post unchanged: the
//! hook round trip it costs is the protocol's own overhead, which the benchmarks
//! measure.

use chorus_plugin::{Api, Context, Hook, HookError, Plugin, Post, PostDecision};

struct Noop;

impl Plugin for Noop {
    fn implemented(&self) -> Vec<Hook> {
        vec![Hook::MessageWillBePosted]
    }

    async fn message_will_be_posted(
        &self,
        _api: &Api,
        _ctx: &Context,
        _post: Post,
    ) -> Result<PostDecision, HookError> {
        Ok(PostDecision::Accept)
    }
}

fn main() {
    chorus_plugin::serve(Noop)
}
