//! The [`Plugin`] trait a plugin implements, one method per hook of the protocol, each
//! named as the hook's RPC method in the hook table
//! (`chorus_plugin_protocol::for_each_hook!`), which generates the [`Hook`] names a
//! plugin lists in [`Plugin::implemented`] and the dispatch to these methods.
//!
//! Every hook has a default that does nothing (lets a post through unchanged, answers
//! 404 to HTTP requests). Rust cannot tell which defaults a plugin overrode, so the
//! plugin says it: the SDK reports exactly [`Plugin::implemented`] to the server,
//! which never calls any other hook. A hook you implement but forget to list is
//! therefore never called; [`crate::testing::Harness`] refuses to call it too, so a
//! test catches the mistake.

use crate::http::{HttpRequest, HttpResponse};
use crate::Api;
use crate::{
    Channel, ChannelMember, ClusterEvent, CommandArgs, CommandResponse, Context, FileInfo, Post,
    Reaction, TeamMember, User,
};
pub use chorus_plugin_protocol::hooks::{Hook, HookKind};
use std::future::Future;

/// What a hook returns when it fails: anything that is an error (API errors, JSON
/// errors, `"some text".into()`). The server logs it; for `OnActivate` it is the reason
/// the plugin does not start; synchronous hooks that fail are skipped (the post goes
/// through unchanged).
pub type HookError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What `MessageWillBePosted` / `MessageWillBeUpdated` decide about a post.
#[allow(
    clippy::large_enum_variant,
    reason = "one short-lived value per hook call: `Replace(post)` reads better than boxing it"
)]
#[derive(Debug, Clone, PartialEq)]
pub enum PostDecision {
    /// Let the post through unchanged.
    Accept,
    /// Store this post instead.
    Replace(Post),
    /// Refuse the post; the reason is shown to the author.
    Reject(String),
}

/// What `FileWillBeUploaded` decides about a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileDecision {
    /// Store the file as it is.
    Accept,
    /// Store it under this name (the rest of the info is the server's).
    Rename(String),
    /// Refuse the upload; the reason is shown to the uploader.
    Reject(String),
}

/// What `UserWillLogIn` decides about a login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginDecision {
    Allow,
    /// Refuse it; the reason is shown to the user.
    Reject(String),
}

/// A Chorus server plugin. Implement the hooks you need with `async fn`, list them in
/// [`Plugin::implemented`], and hand the plugin to [`crate::serve`] in `main`.
///
/// Every hook receives an [`Api`] handle to call the server back. Hooks run
/// concurrently (the server may call a hook again before the previous call
/// returned), so keep shared state behind a lock or in the KV store; in a cluster, the
/// same plugin runs on every app server, so state that must be the same everywhere
/// belongs in the KV store, not in memory.
///
/// ```
/// use chorus_plugin::{Api, Context, Hook, HookError, Plugin, Post, PostDecision};
///
/// struct NoShouting;
///
/// impl Plugin for NoShouting {
///     fn implemented(&self) -> Vec<Hook> {
///         vec![Hook::MessageWillBePosted, Hook::MessageHasBeenPosted]
///     }
///
///     async fn message_will_be_posted(&self, _api: &Api, _ctx: &Context, mut post: Post) -> Result<PostDecision, HookError> {
///         if post.message.chars().any(char::is_lowercase) {
///             return Ok(PostDecision::Accept);
///         }
///         post.message = post.message.to_lowercase();
///         Ok(PostDecision::Replace(post))
///     }
///
///     async fn message_has_been_posted(&self, api: &Api, _ctx: &Context, post: Post) -> Result<(), HookError> {
///         api.kv_set(format!("seen:{}", post.id), post.message).await?;
///         Ok(())
///     }
/// }
/// ```
pub trait Plugin: Send + Sync + 'static {
    /// The hooks this plugin implements; the server calls no others.
    fn implemented(&self) -> Vec<Hook>;

    /// The plugin was started (or enabled). An error keeps the plugin from running
    /// and is shown to the administrator.
    fn on_activate(&self, api: &Api) -> impl Future<Output = Result<(), HookError>> + Send {
        let _ = api;
        async { Ok(()) }
    }

    /// The plugin is being stopped (disabled, upgraded or the server shuts down).
    fn on_deactivate(&self, api: &Api) -> impl Future<Output = Result<(), HookError>> + Send {
        let _ = api;
        async { Ok(()) }
    }

    /// The plugin's settings changed; read them again with
    /// [`Api::get_plugin_config_as`].
    fn on_configuration_change(
        &self,
        api: &Api,
    ) -> impl Future<Output = Result<(), HookError>> + Send {
        let _ = api;
        async { Ok(()) }
    }

    /// A post is about to be stored: accept, replace or reject it. Runs under a
    /// deadline on the path of every post, so keep it fast.
    fn message_will_be_posted(
        &self,
        api: &Api,
        ctx: &Context,
        post: Post,
    ) -> impl Future<Output = Result<PostDecision, HookError>> + Send {
        let _ = (api, ctx, post);
        async { Ok(PostDecision::Accept) }
    }

    /// A post is about to be edited into `new_post`: accept, replace or reject it.
    fn message_will_be_updated(
        &self,
        api: &Api,
        ctx: &Context,
        new_post: Post,
        old_post: Post,
    ) -> impl Future<Output = Result<PostDecision, HookError>> + Send {
        let _ = (api, ctx, new_post, old_post);
        async { Ok(PostDecision::Accept) }
    }

    /// A post was stored.
    fn message_has_been_posted(
        &self,
        api: &Api,
        ctx: &Context,
        post: Post,
    ) -> impl Future<Output = Result<(), HookError>> + Send {
        let _ = (api, ctx, post);
        async { Ok(()) }
    }

    /// A post was edited.
    fn message_has_been_updated(
        &self,
        api: &Api,
        ctx: &Context,
        new_post: Post,
        old_post: Post,
    ) -> impl Future<Output = Result<(), HookError>> + Send {
        let _ = (api, ctx, new_post, old_post);
        async { Ok(()) }
    }

    /// A post was deleted.
    fn message_has_been_deleted(
        &self,
        api: &Api,
        ctx: &Context,
        post: Post,
    ) -> impl Future<Output = Result<(), HookError>> + Send {
        let _ = (api, ctx, post);
        async { Ok(()) }
    }

    /// Someone reacted to a post with an emoji.
    fn reaction_has_been_added(
        &self,
        api: &Api,
        ctx: &Context,
        reaction: Reaction,
    ) -> impl Future<Output = Result<(), HookError>> + Send {
        let _ = (api, ctx, reaction);
        async { Ok(()) }
    }

    /// Someone took back an emoji reaction (`delete_at` says when).
    fn reaction_has_been_removed(
        &self,
        api: &Api,
        ctx: &Context,
        reaction: Reaction,
    ) -> impl Future<Output = Result<(), HookError>> + Send {
        let _ = (api, ctx, reaction);
        async { Ok(()) }
    }

    /// A file has arrived whole and is about to be stored (`info` has its name, size,
    /// type, channel and uploader; its content is not sent): accept, rename or reject
    /// it. Rejecting one file refuses the whole upload it came in.
    fn file_will_be_uploaded(
        &self,
        api: &Api,
        ctx: &Context,
        info: FileInfo,
    ) -> impl Future<Output = Result<FileDecision, HookError>> + Send {
        let _ = (api, ctx, info);
        async { Ok(FileDecision::Accept) }
    }

    /// A channel was created.
    fn channel_has_been_created(
        &self,
        api: &Api,
        ctx: &Context,
        channel: Channel,
    ) -> impl Future<Output = Result<(), HookError>> + Send {
        let _ = (api, ctx, channel);
        async { Ok(()) }
    }

    /// A user account was created.
    fn user_has_been_created(
        &self,
        api: &Api,
        ctx: &Context,
        user: User,
    ) -> impl Future<Output = Result<(), HookError>> + Send {
        let _ = (api, ctx, user);
        async { Ok(()) }
    }

    /// A user joined a channel; `actor_id` is who added them, `None` when they joined
    /// themselves.
    fn user_has_joined_channel(
        &self,
        api: &Api,
        ctx: &Context,
        member: ChannelMember,
        actor_id: Option<String>,
    ) -> impl Future<Output = Result<(), HookError>> + Send {
        let _ = (api, ctx, member, actor_id);
        async { Ok(()) }
    }

    /// A user left (or was removed from) a channel; `actor_id` is who removed them,
    /// `None` when they left themselves.
    fn user_has_left_channel(
        &self,
        api: &Api,
        ctx: &Context,
        member: ChannelMember,
        actor_id: Option<String>,
    ) -> impl Future<Output = Result<(), HookError>> + Send {
        let _ = (api, ctx, member, actor_id);
        async { Ok(()) }
    }

    /// An admin (`user_id`) installed this plugin: called once per installation, on
    /// one node, when the installed version first runs.
    fn on_install(
        &self,
        api: &Api,
        ctx: &Context,
        user_id: String,
    ) -> impl Future<Output = Result<(), HookError>> + Send {
        let _ = (api, ctx, user_id);
        async { Ok(()) }
    }

    /// A user joined a team; `actor_id` is who added them, `None` when they joined
    /// themselves.
    fn user_has_joined_team(
        &self,
        api: &Api,
        ctx: &Context,
        member: TeamMember,
        actor_id: Option<String>,
    ) -> impl Future<Output = Result<(), HookError>> + Send {
        let _ = (api, ctx, member, actor_id);
        async { Ok(()) }
    }

    /// A user left a team; `actor_id` is who removed them, `None` when they left
    /// themselves.
    fn user_has_left_team(
        &self,
        api: &Api,
        ctx: &Context,
        member: TeamMember,
        actor_id: Option<String>,
    ) -> impl Future<Output = Result<(), HookError>> + Send {
        let _ = (api, ctx, member, actor_id);
        async { Ok(()) }
    }

    /// A user logged in.
    fn user_has_logged_in(
        &self,
        api: &Api,
        ctx: &Context,
        user: User,
    ) -> impl Future<Output = Result<(), HookError>> + Send {
        let _ = (api, ctx, user);
        async { Ok(()) }
    }

    /// A user gave the right password and is about to be let in (no session exists
    /// yet): allow or refuse the login. Bots and personal access tokens do not log in.
    fn user_will_log_in(
        &self,
        api: &Api,
        ctx: &Context,
        user: User,
    ) -> impl Future<Output = Result<LoginDecision, HookError>> + Send {
        let _ = (api, ctx, user);
        async { Ok(LoginDecision::Allow) }
    }

    /// A websocket of `user_id` attached to this node (`connection_id` is the one its
    /// `hello` carries).
    fn on_web_socket_connect(
        &self,
        api: &Api,
        connection_id: String,
        user_id: String,
    ) -> impl Future<Output = Result<(), HookError>> + Send {
        let _ = (api, connection_id, user_id);
        async { Ok(()) }
    }

    /// A websocket of `user_id` closed on this node.
    fn on_web_socket_disconnect(
        &self,
        api: &Api,
        connection_id: String,
        user_id: String,
    ) -> impl Future<Output = Result<(), HookError>> + Send {
        let _ = (api, connection_id, user_id);
        async { Ok(()) }
    }

    /// A user ran one of the slash commands this plugin registered with
    /// [`Api::register_command`].
    fn execute_command(
        &self,
        api: &Api,
        ctx: &Context,
        args: CommandArgs,
    ) -> impl Future<Output = Result<CommandResponse, HookError>> + Send {
        let _ = (api, ctx, args);
        async { Ok(CommandResponse::default()) }
    }

    /// An HTTP request to `/plugins/<plugin id>/...`. The body is collected before
    /// the call; the response body is streamed back in chunks.
    fn serve_http(
        &self,
        api: &Api,
        request: HttpRequest,
    ) -> impl Future<Output = HttpResponse> + Send {
        let _ = (api, request);
        async { HttpResponse::not_found() }
    }

    /// Another running copy of this plugin published an event with
    /// [`Api::publish_plugin_cluster_event`].
    fn on_plugin_cluster_event(
        &self,
        api: &Api,
        event: ClusterEvent,
    ) -> impl Future<Output = Result<(), HookError>> + Send {
        let _ = (api, event);
        async { Ok(()) }
    }
}
