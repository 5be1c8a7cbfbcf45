//! Calling plugin hooks. Synchronous hooks (`MessageWillBePosted`,
//! `MessageWillBeUpdated`, `FileWillBeUploaded`, `ExecuteCommand`) run plugin by plugin, in plugin id order,
//! each under the configured deadline; a plugin that misses it, fails or crashes is
//! skipped (the post goes through as it stands), logged and counted. Notification
//! hooks (`...Has...`) are sent from background tasks after the commit and never delay
//! the caller. Only plugins that listed a hook in `Implemented` are ever called for it.
//! Hooks are named, and their kind (hence their deadline) told, by the protocol's hook
//! table ([`Hook`]).

use super::supervisor::RunningPlugin;
use super::PluginManager;
use chorus_model::{Channel, ChannelMember, CommandResponse, FileInfo, Post, Reaction, User};
use chorus_plugin_protocol::hooks::{Hook, HookKind};
use chorus_plugin_protocol::v1;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// Who and what caused a hook.
#[derive(Debug, Clone, Default)]
pub struct HookContext {
    pub user_id: String,
    pub session_id: String,
    pub request_id: String,
}

impl HookContext {
    pub fn for_user(user_id: &str, session_id: &str) -> HookContext {
        HookContext {
            user_id: user_id.to_string(),
            session_id: session_id.to_string(),
            request_id: crate::error::current_request_id(),
        }
    }

    fn to_wire(&self, node_id: &str) -> v1::Context {
        v1::Context {
            request_id: self.request_id.clone(),
            user_id: self.user_id.clone(),
            session_id: self.session_id.clone(),
            node_id: node_id.to_string(),
        }
    }
}

/// A post or file a plugin refused, with its reason.
#[derive(Debug, Clone)]
pub struct Rejection(pub String);

/// What the server sends to a plugin's HTTP handler on its own behalf.
#[derive(Debug, Clone, Copy)]
pub struct ServerPluginRequest<'a> {
    pub method: &'a str,
    /// Below the plugin's root, starting with `/`.
    pub path: &'a str,
    pub query: &'a str,
    /// Who the request is for (`Mattermost-User-Id`).
    pub user_id: &'a str,
    pub content_type: Option<&'a str>,
    pub body: &'a [u8],
}

impl PluginManager {
    /// How long a call of `hook` may take: the configured deadline for synchronous
    /// hooks, five times that for notifications, which nobody waits for.
    fn deadline(&self, hook: Hook) -> Duration {
        let deadline =
            Duration::from_millis(self.context.settings.hook_timeout_milliseconds.max(1));
        match hook.kind() {
            HookKind::Notification => deadline * 5,
            HookKind::Synchronous | HookKind::Lifecycle => deadline,
        }
    }

    /// Running plugins implementing `hook`, in plugin id order.
    pub(crate) fn implementing(&self, hook: Hook) -> Vec<Arc<RunningPlugin>> {
        self.slots()
            .into_iter()
            .filter_map(|slot| slot.running())
            .filter(|running| running.implements(hook))
            .collect()
    }

    fn count_failure(&self, plugin_id: &str, hook: Hook, reason: &str) {
        if let Some(slot) = self.slot(plugin_id) {
            slot.hook_failures.fetch_add(1, Ordering::Relaxed);
        }
        let hook = hook.name();
        tracing::warn!(plugin_id, hook, reason, "plugin hook failed; skipped");
    }

    /// Runs a synchronous hook call under the deadline, turning every failure into
    /// `None` (logged and counted).
    async fn call_sync<T>(
        &self,
        plugin: &RunningPlugin,
        hook: Hook,
        call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    ) -> Option<T> {
        debug_assert_eq!(hook.kind(), HookKind::Synchronous, "{hook}");
        let started = std::time::Instant::now();
        let outcome = tokio::time::timeout(self.deadline(hook), call).await;
        let seconds = started.elapsed().as_secs_f64();
        let metrics = &self.context.metrics;
        match outcome {
            Ok(Ok(reply)) => {
                metrics.observe_hook(&plugin.plugin_id, hook.name(), seconds, false);
                Some(reply.into_inner())
            }
            Ok(Err(status)) => {
                metrics.observe_hook(&plugin.plugin_id, hook.name(), seconds, true);
                self.count_failure(&plugin.plugin_id, hook, status.message());
                None
            }
            Err(_) => {
                metrics.observe_hook(&plugin.plugin_id, hook.name(), seconds, true);
                self.count_failure(&plugin.plugin_id, hook, "missed the deadline");
                None
            }
        }
    }

    /// `MessageWillBePosted`: each plugin may replace the post or reject it. The
    /// post's identity (id, channel, author, creation time) cannot be changed.
    pub async fn message_will_be_posted(
        &self,
        context: &HookContext,
        post: Post,
    ) -> Result<Post, Rejection> {
        let mut post = post;
        for plugin in self.implementing(Hook::MessageWillBePosted) {
            let request = v1::MessageWillBePostedRequest {
                context: Some(context.to_wire(&self.context.node_id)),
                post: Some(v1::Post::from(&post)),
            };
            let mut hooks = plugin.hooks.clone();
            let Some(reply) = self
                .call_sync(
                    &plugin,
                    Hook::MessageWillBePosted,
                    hooks.message_will_be_posted(request),
                )
                .await
            else {
                continue;
            };
            if !reply.rejection_reason.is_empty() {
                return Err(Rejection(reply.rejection_reason));
            }
            if let Some(replacement) = reply.post {
                post = keep_identity(&post, replacement.into());
            }
        }
        Ok(post)
    }

    /// `MessageWillBeUpdated`: as `MessageWillBePosted`, seeing the old post too.
    pub async fn message_will_be_updated(
        &self,
        context: &HookContext,
        new_post: Post,
        old_post: &Post,
    ) -> Result<Post, Rejection> {
        let mut post = new_post;
        for plugin in self.implementing(Hook::MessageWillBeUpdated) {
            let request = v1::MessageWillBeUpdatedRequest {
                context: Some(context.to_wire(&self.context.node_id)),
                new_post: Some(v1::Post::from(&post)),
                old_post: Some(v1::Post::from(old_post)),
            };
            let mut hooks = plugin.hooks.clone();
            let Some(reply) = self
                .call_sync(
                    &plugin,
                    Hook::MessageWillBeUpdated,
                    hooks.message_will_be_updated(request),
                )
                .await
            else {
                continue;
            };
            if !reply.rejection_reason.is_empty() {
                return Err(Rejection(reply.rejection_reason));
            }
            if let Some(replacement) = reply.post {
                post = keep_identity(&post, replacement.into());
            }
        }
        Ok(post)
    }

    /// `FileWillBeUploaded`: each plugin may rename the file (answering its new name,
    /// if any) or reject the upload.
    pub async fn file_will_be_uploaded(
        &self,
        context: &HookContext,
        info: &FileInfo,
    ) -> Result<Option<String>, Rejection> {
        let mut info = info.clone();
        let mut renamed = None;
        for plugin in self.implementing(Hook::FileWillBeUploaded) {
            let request = v1::FileWillBeUploadedRequest {
                context: Some(context.to_wire(&self.context.node_id)),
                info: Some(v1::FileInfo::from(&info)),
            };
            let mut hooks = plugin.hooks.clone();
            let Some(reply) = self
                .call_sync(
                    &plugin,
                    Hook::FileWillBeUploaded,
                    hooks.file_will_be_uploaded(request),
                )
                .await
            else {
                continue;
            };
            if !reply.rejection_reason.is_empty() {
                return Err(Rejection(reply.rejection_reason));
            }
            if let Some(name) = reply.info.map(|i| i.name).filter(|n| !n.is_empty()) {
                info.name = name.clone();
                renamed = Some(name);
            }
        }
        Ok(renamed)
    }

    /// `ExecuteCommand` of one plugin; `None` when it failed or missed the deadline.
    pub async fn execute_command(
        &self,
        plugin_id: &str,
        context: &HookContext,
        args: v1::CommandArgs,
    ) -> Option<CommandResponse> {
        let plugin = self.slot(plugin_id)?.running()?;
        if !plugin.implements(Hook::ExecuteCommand) {
            return None;
        }
        let request = v1::ExecuteCommandRequest {
            context: Some(context.to_wire(&self.context.node_id)),
            args: Some(args),
        };
        let mut hooks = plugin.hooks.clone();
        self.call_sync(
            &plugin,
            Hook::ExecuteCommand,
            hooks.execute_command(request),
        )
        .await
        .map(CommandResponse::from)
    }

    /// A request to one plugin's HTTP handler made by the server itself (a command's
    /// dynamic autocomplete list, a click on a plugin's message button), as its
    /// `user_id`: the status and at most `limit` bytes of the body, within the plugin
    /// HTTP deadline; `None` when the plugin is not running, does not serve HTTP,
    /// fails, is late, or answers more.
    pub async fn call_plugin_http(
        &self,
        plugin_id: &str,
        call: ServerPluginRequest<'_>,
        limit: usize,
    ) -> Option<(u16, Vec<u8>)> {
        let path = call.path;
        let plugin = self.slot(plugin_id)?.running()?;
        if !plugin.implements(Hook::ServeHttp) {
            return None;
        }
        let mut headers = vec![v1::Header {
            name: "Mattermost-User-Id".into(),
            value: call.user_id.to_string(),
        }];
        if let Some(content_type) = call.content_type {
            headers.push(v1::Header {
                name: "Content-Type".into(),
                value: content_type.to_string(),
            });
        }
        let head = v1::HttpRequestHead {
            method: call.method.to_string(),
            path: path.to_string(),
            query: call.query.to_string(),
            headers,
            user_id: call.user_id.to_string(),
        };
        let request =
            futures_util::stream::once(futures_util::future::ready(v1::HttpRequestPart {
                head: Some(head),
                body: call.body.to_vec(),
            }));
        let deadline = Duration::from_secs(self.settings().http_timeout_seconds.max(1));
        let mut hooks = plugin.hooks.clone();
        let answer = async move {
            let mut incoming = hooks.serve_http(request).await.ok()?.into_inner();
            let mut status = None;
            let mut body = Vec::new();
            while let Some(part) = incoming.message().await.ok()? {
                if let Some(head) = part.head {
                    status = Some(head.status as u16);
                }
                if body.len() + part.body.len() > limit {
                    return None;
                }
                body.extend_from_slice(&part.body);
            }
            Some((status?, body))
        };
        let result = tokio::time::timeout(deadline, answer).await.ok().flatten();
        if result.is_none() {
            tracing::warn!(
                plugin_id,
                path,
                "a server request to the plugin's HTTP handler failed"
            );
        }
        result
    }

    /// Sends a notification hook to every plugin implementing it, in the background.
    fn notify<F, Fut>(&self, hook: Hook, call: F)
    where
        F: Fn(Arc<RunningPlugin>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<tonic::Response<v1::Empty>, tonic::Status>> + Send + 'static,
    {
        let plugins = self.implementing(hook);
        if plugins.is_empty() {
            return;
        }
        debug_assert_eq!(hook.kind(), HookKind::Notification, "{hook}");
        let deadline = self.deadline(hook);
        for plugin in plugins {
            let call = call(plugin.clone());
            let slot = self.slot(&plugin.plugin_id);
            let metrics = self.context.metrics.clone();
            tokio::spawn(async move {
                let started = std::time::Instant::now();
                let outcome = tokio::time::timeout(deadline, call).await;
                metrics.observe_hook(
                    &plugin.plugin_id,
                    hook.name(),
                    started.elapsed().as_secs_f64(),
                    !matches!(outcome, Ok(Ok(_))),
                );
                let failure = match outcome {
                    Ok(Ok(_)) => None,
                    Ok(Err(status)) => Some(status.message().to_string()),
                    Err(_) => Some("missed the deadline".to_string()),
                };
                if let Some(reason) = failure {
                    if let Some(slot) = slot {
                        slot.hook_failures.fetch_add(1, Ordering::Relaxed);
                    }
                    tracing::warn!(plugin_id = %plugin.plugin_id, hook = hook.name(), %reason, "notification hook failed");
                }
            });
        }
    }

    pub fn message_has_been_posted(&self, context: &HookContext, post: &Post) {
        let event = v1::PostEvent {
            context: Some(context.to_wire(&self.context.node_id)),
            post: Some(post.into()),
        };
        self.notify(Hook::MessageHasBeenPosted, move |plugin| {
            let event = event.clone();
            async move { plugin.hooks.clone().message_has_been_posted(event).await }
        });
    }

    pub fn message_has_been_updated(
        &self,
        context: &HookContext,
        new_post: &Post,
        old_post: &Post,
    ) {
        let event = v1::PostUpdatedEvent {
            context: Some(context.to_wire(&self.context.node_id)),
            new_post: Some(new_post.into()),
            old_post: Some(old_post.into()),
        };
        self.notify(Hook::MessageHasBeenUpdated, move |plugin| {
            let event = event.clone();
            async move { plugin.hooks.clone().message_has_been_updated(event).await }
        });
    }

    pub fn message_has_been_deleted(&self, context: &HookContext, post: &Post) {
        let event = v1::PostEvent {
            context: Some(context.to_wire(&self.context.node_id)),
            post: Some(post.into()),
        };
        self.notify(Hook::MessageHasBeenDeleted, move |plugin| {
            let event = event.clone();
            async move { plugin.hooks.clone().message_has_been_deleted(event).await }
        });
    }

    pub fn reaction_has_been_added(&self, context: &HookContext, reaction: &Reaction) {
        self.notify_reaction(Hook::ReactionHasBeenAdded, context, reaction);
    }

    pub fn reaction_has_been_removed(&self, context: &HookContext, reaction: &Reaction) {
        self.notify_reaction(Hook::ReactionHasBeenRemoved, context, reaction);
    }

    fn notify_reaction(&self, hook: Hook, context: &HookContext, reaction: &Reaction) {
        let event = v1::ReactionEvent {
            context: Some(context.to_wire(&self.context.node_id)),
            reaction: Some(reaction.into()),
        };
        self.notify(hook, move |plugin| {
            let event = event.clone();
            async move {
                if hook == Hook::ReactionHasBeenAdded {
                    plugin.hooks.clone().reaction_has_been_added(event).await
                } else {
                    plugin.hooks.clone().reaction_has_been_removed(event).await
                }
            }
        });
    }

    pub fn channel_has_been_created(&self, context: &HookContext, channel: &Channel) {
        let event = v1::ChannelEvent {
            context: Some(context.to_wire(&self.context.node_id)),
            channel: Some(channel.into()),
        };
        self.notify(Hook::ChannelHasBeenCreated, move |plugin| {
            let event = event.clone();
            async move { plugin.hooks.clone().channel_has_been_created(event).await }
        });
    }

    pub fn user_has_been_created(&self, context: &HookContext, user: &User) {
        let event = v1::UserEvent {
            context: Some(context.to_wire(&self.context.node_id)),
            user: Some(user.into()),
        };
        self.notify(Hook::UserHasBeenCreated, move |plugin| {
            let event = event.clone();
            async move { plugin.hooks.clone().user_has_been_created(event).await }
        });
    }

    /// `UserWillLogIn`: every plugin implementing it, in turn; the first rejection
    /// refuses the login. A plugin that fails or is late lets it through (fail open).
    pub async fn user_will_log_in(
        &self,
        context: &HookContext,
        user: &User,
    ) -> Result<(), Rejection> {
        for plugin in self.implementing(Hook::UserWillLogIn) {
            let request = v1::UserEvent {
                context: Some(context.to_wire(&self.context.node_id)),
                user: Some(user.into()),
            };
            let mut hooks = plugin.hooks.clone();
            let Some(reply) = self
                .call_sync(
                    &plugin,
                    Hook::UserWillLogIn,
                    hooks.user_will_log_in(request),
                )
                .await
            else {
                continue;
            };
            if !reply.rejection_reason.is_empty() {
                return Err(Rejection(reply.rejection_reason));
            }
        }
        Ok(())
    }

    pub fn on_web_socket_connect(&self, connection_id: &str, user_id: &str) {
        let event = v1::WebSocketConnection {
            connection_id: connection_id.to_string(),
            user_id: user_id.to_string(),
        };
        self.notify(Hook::OnWebSocketConnect, move |plugin| {
            let event = event.clone();
            async move { plugin.hooks.clone().on_web_socket_connect(event).await }
        });
    }

    pub fn on_web_socket_disconnect(&self, connection_id: &str, user_id: &str) {
        let event = v1::WebSocketConnection {
            connection_id: connection_id.to_string(),
            user_id: user_id.to_string(),
        };
        self.notify(Hook::OnWebSocketDisconnect, move |plugin| {
            let event = event.clone();
            async move { plugin.hooks.clone().on_web_socket_disconnect(event).await }
        });
    }

    pub fn user_has_logged_in(&self, context: &HookContext, user: &User) {
        let event = v1::UserEvent {
            context: Some(context.to_wire(&self.context.node_id)),
            user: Some(user.into()),
        };
        self.notify(Hook::UserHasLoggedIn, move |plugin| {
            let event = event.clone();
            async move { plugin.hooks.clone().user_has_logged_in(event).await }
        });
    }

    pub fn user_has_joined_channel(
        &self,
        context: &HookContext,
        member: &ChannelMember,
        actor_id: &str,
    ) {
        let event = v1::ChannelMemberEvent {
            context: Some(context.to_wire(&self.context.node_id)),
            member: Some(member.into()),
            actor_id: actor_id.to_string(),
        };
        self.notify(Hook::UserHasJoinedChannel, move |plugin| {
            let event = event.clone();
            async move { plugin.hooks.clone().user_has_joined_channel(event).await }
        });
    }

    pub fn user_has_left_channel(
        &self,
        context: &HookContext,
        member: &ChannelMember,
        actor_id: &str,
    ) {
        let event = v1::ChannelMemberEvent {
            context: Some(context.to_wire(&self.context.node_id)),
            member: Some(member.into()),
            actor_id: actor_id.to_string(),
        };
        self.notify(Hook::UserHasLeftChannel, move |plugin| {
            let event = event.clone();
            async move { plugin.hooks.clone().user_has_left_channel(event).await }
        });
    }

    /// A team membership event; a user acting on their own membership is no actor.
    fn team_member_event(
        &self,
        context: &HookContext,
        team_id: &str,
        user_id: &str,
        actor_id: &str,
    ) -> v1::TeamMemberEvent {
        v1::TeamMemberEvent {
            context: Some(context.to_wire(&self.context.node_id)),
            team_id: team_id.to_string(),
            user_id: user_id.to_string(),
            actor_id: if actor_id == user_id {
                String::new()
            } else {
                actor_id.to_string()
            },
        }
    }

    pub fn user_has_joined_team(
        &self,
        context: &HookContext,
        team_id: &str,
        user_id: &str,
        actor_id: &str,
    ) {
        let event = self.team_member_event(context, team_id, user_id, actor_id);
        self.notify(Hook::UserHasJoinedTeam, move |plugin| {
            let event = event.clone();
            async move { plugin.hooks.clone().user_has_joined_team(event).await }
        });
    }

    pub fn user_has_left_team(
        &self,
        context: &HookContext,
        team_id: &str,
        user_id: &str,
        actor_id: &str,
    ) {
        let event = self.team_member_event(context, team_id, user_id, actor_id);
        self.notify(Hook::UserHasLeftTeam, move |plugin| {
            let event = event.clone();
            async move { plugin.hooks.clone().user_has_left_team(event).await }
        });
    }

    pub fn on_configuration_change(&self, plugin_id: &str) {
        let Some(plugin) = self.slot(plugin_id).and_then(|s| s.running()) else {
            return;
        };
        if !plugin.implements(Hook::OnConfigurationChange) {
            return;
        }
        tokio::spawn(async move {
            let mut hooks = plugin.hooks.clone();
            if let Err(status) = hooks.on_configuration_change(v1::Empty {}).await {
                tracing::warn!(plugin_id = %plugin.plugin_id, reason = %status.message(), "OnConfigurationChange failed");
            }
        });
    }

    /// Calls `OnInstall` of this node's running copy of `plugin_id`; false when it is
    /// not running here.
    pub fn on_install(&self, plugin_id: &str, context: &HookContext, user_id: &str) -> bool {
        let Some(plugin) = self.slot(plugin_id).and_then(|s| s.running()) else {
            return false;
        };
        if !plugin.implements(Hook::OnInstall) {
            return true;
        }
        let event = v1::InstallEvent {
            context: Some(context.to_wire(&self.context.node_id)),
            user_id: user_id.to_string(),
        };
        let deadline = self.deadline(Hook::OnInstall);
        tokio::spawn(async move {
            let mut hooks = plugin.hooks.clone();
            match tokio::time::timeout(deadline, hooks.on_install(event)).await {
                Ok(Ok(_)) => {}
                Ok(Err(status)) => {
                    tracing::warn!(plugin_id = %plugin.plugin_id, reason = %status.message(), "OnInstall failed");
                }
                Err(_) => {
                    tracing::warn!(plugin_id = %plugin.plugin_id, "OnInstall missed the deadline");
                }
            }
        });
        true
    }

    /// Delivers a plugin cluster event to this node's copy of `plugin_id`.
    pub fn deliver_plugin_cluster_event(&self, plugin_id: &str, event: v1::PluginClusterEvent) {
        let Some(plugin) = self.slot(plugin_id).and_then(|s| s.running()) else {
            return;
        };
        if !plugin.implements(Hook::OnPluginClusterEvent) {
            return;
        }
        tokio::spawn(async move {
            let mut hooks = plugin.hooks.clone();
            if let Err(status) = hooks.on_plugin_cluster_event(event).await {
                tracing::warn!(plugin_id = %plugin.plugin_id, reason = %status.message(), "OnPluginClusterEvent failed");
            }
        });
    }
}

/// A plugin's replacement post, with the fields a plugin may not change restored.
fn keep_identity(original: &Post, mut replacement: Post) -> Post {
    replacement.id = original.id.clone();
    replacement.channel_id = original.channel_id.clone();
    replacement.user_id = original.user_id.clone();
    replacement.create_at = original.create_at;
    replacement.root_id = original.root_id.clone();
    replacement.delete_at = original.delete_at;
    replacement
}
