//! The demo's `Plugin` implementation: every hook, each recording what it saw (see
//! [`Demo::record`]) and delegating the slash command to [`crate::commands`] and HTTP
//! to [`crate::http`].

use crate::demo::{Demo, TRIGGER};
use chorus_plugin::{
    Api, Channel, ChannelMember, ClusterEvent, Command, CommandArgs, CommandResponse, Context,
    FileDecision, FileInfo, Hook, HookError, HttpRequest, HttpResponse, LogLevel, LoginDecision,
    Plugin, Post, PostDecision, Reaction, TeamMember, User,
};
use serde_json::json;

impl Plugin for Demo {
    /// The server calls only the hooks listed here, whatever the trait's defaults.
    fn implemented(&self) -> Vec<Hook> {
        Hook::ALL.to_vec()
    }

    async fn on_activate(&self, api: &Api) -> Result<(), HookError> {
        // An error here keeps the plugin from starting and shows the administrator
        // why, so fail early on what the plugin cannot run without.
        let config = self.load_config(api).await?;
        let bot_id = self.bot_id(api).await?;
        api.register_command(Command {
            auto_complete_hint: "[help|greet|post|kv|...]".into(),
            display_name: "Demo".into(),
            autocomplete_data: Some(crate::commands::autocomplete_data()),
            ..Command::new(TRIGGER, "Try every API call of the demo plugin")
        })
        .await?;
        let version = api.get_server_version().await?;
        api.log(
            LogLevel::Info,
            "demo plugin activated",
            [("bot_id", bot_id.as_str()), ("server", version.as_str())],
        )
        .await;
        self.record(
            api,
            Hook::OnActivate,
            "last",
            None,
            json!({ "bot_id": bot_id, "server_version": version, "config": config }),
        )
        .await?;
        Ok(())
    }

    async fn on_deactivate(&self, api: &Api) -> Result<(), HookError> {
        // The command is not unregistered here: in a cluster, one server stopping its
        // copy of the plugin must not take `/demo` away from the others.
        api.log_info("demo plugin deactivated").await;
        self.record(api, Hook::OnDeactivate, "last", None, json!({}))
            .await?;
        Ok(())
    }

    async fn on_configuration_change(&self, api: &Api) -> Result<(), HookError> {
        let config = self.load_config(api).await?;
        self.record(
            api,
            Hook::OnConfigurationChange,
            "last",
            None,
            json!({ "config": config }),
        )
        .await?;
        // Per copy as well, so that a cluster test can see that every node's copy heard.
        self.record(
            api,
            Hook::OnConfigurationChange,
            &format!("copy:{}", std::process::id()),
            None,
            json!({ "config": config }),
        )
        .await?;
        Ok(())
    }

    async fn message_will_be_posted(
        &self,
        api: &Api,
        _ctx: &Context,
        post: Post,
    ) -> Result<PostDecision, HookError> {
        let decision = self.moderate(post);
        if let PostDecision::Reject(reason) = &decision {
            // Work the author need not wait for goes to a background task: the post's
            // round trip ends as soon as this hook returns.
            let (api, reason) = (api.clone(), reason.clone());
            tokio::spawn(async move { api.log_debug(format!("rejected a post: {reason}")).await });
        }
        Ok(decision)
    }

    async fn message_will_be_updated(
        &self,
        _api: &Api,
        _ctx: &Context,
        new_post: Post,
        _old_post: Post,
    ) -> Result<PostDecision, HookError> {
        Ok(self.moderate(new_post))
    }

    async fn message_has_been_posted(
        &self,
        api: &Api,
        ctx: &Context,
        post: Post,
    ) -> Result<(), HookError> {
        self.record(
            api,
            Hook::MessageHasBeenPosted,
            &post.id,
            Some(ctx),
            json!({ "post": post }),
        )
        .await?;
        Ok(())
    }

    async fn message_has_been_updated(
        &self,
        api: &Api,
        ctx: &Context,
        new_post: Post,
        old_post: Post,
    ) -> Result<(), HookError> {
        let data = json!({ "new_post": new_post, "old_post": old_post });
        self.record(
            api,
            Hook::MessageHasBeenUpdated,
            &new_post.id,
            Some(ctx),
            data,
        )
        .await?;
        Ok(())
    }

    async fn message_has_been_deleted(
        &self,
        api: &Api,
        ctx: &Context,
        post: Post,
    ) -> Result<(), HookError> {
        self.record(
            api,
            Hook::MessageHasBeenDeleted,
            &post.id,
            Some(ctx),
            json!({ "post": post }),
        )
        .await?;
        Ok(())
    }

    async fn reaction_has_been_added(
        &self,
        api: &Api,
        ctx: &Context,
        reaction: Reaction,
    ) -> Result<(), HookError> {
        self.record_reaction(api, Hook::ReactionHasBeenAdded, ctx, reaction)
            .await
    }

    async fn reaction_has_been_removed(
        &self,
        api: &Api,
        ctx: &Context,
        reaction: Reaction,
    ) -> Result<(), HookError> {
        self.record_reaction(api, Hook::ReactionHasBeenRemoved, ctx, reaction)
            .await
    }

    /// Refuses files named `blocked…` and renames `rename-me…` to `renamed…`, so that
    /// tests see both decisions; records the last file it was asked about.
    async fn file_will_be_uploaded(
        &self,
        api: &Api,
        ctx: &Context,
        info: FileInfo,
    ) -> Result<FileDecision, HookError> {
        self.record(
            api,
            Hook::FileWillBeUploaded,
            "last",
            Some(ctx),
            json!({ "name": info.name, "size": info.size, "channel_id": info.channel_id }),
        )
        .await?;
        if info.name.starts_with("blocked") {
            return Ok(FileDecision::Reject(format!(
                "the demo plugin refuses files named {:?}",
                info.name
            )));
        }
        if let Some(tail) = info.name.strip_prefix("rename-me") {
            return Ok(FileDecision::Rename(format!("renamed{tail}")));
        }
        Ok(FileDecision::Accept)
    }

    async fn channel_has_been_created(
        &self,
        api: &Api,
        ctx: &Context,
        channel: Channel,
    ) -> Result<(), HookError> {
        self.record(
            api,
            Hook::ChannelHasBeenCreated,
            &channel.id,
            Some(ctx),
            json!({ "channel": channel }),
        )
        .await?;
        Ok(())
    }

    async fn user_has_been_created(
        &self,
        api: &Api,
        ctx: &Context,
        user: User,
    ) -> Result<(), HookError> {
        self.record(
            api,
            Hook::UserHasBeenCreated,
            &user.id,
            Some(ctx),
            json!({ "user": user }),
        )
        .await?;
        Ok(())
    }

    async fn user_has_joined_channel(
        &self,
        api: &Api,
        ctx: &Context,
        member: ChannelMember,
        actor_id: Option<String>,
    ) -> Result<(), HookError> {
        let id = format!("{}:{}", member.channel_id, member.user_id);
        let data = json!({ "member": member, "actor_id": actor_id });
        self.record(api, Hook::UserHasJoinedChannel, &id, Some(ctx), data)
            .await?;
        Ok(())
    }

    async fn user_has_left_channel(
        &self,
        api: &Api,
        ctx: &Context,
        member: ChannelMember,
        actor_id: Option<String>,
    ) -> Result<(), HookError> {
        let id = format!("{}:{}", member.channel_id, member.user_id);
        let data = json!({ "member": member, "actor_id": actor_id });
        self.record(api, Hook::UserHasLeftChannel, &id, Some(ctx), data)
            .await?;
        Ok(())
    }

    async fn user_has_joined_team(
        &self,
        api: &Api,
        ctx: &Context,
        member: TeamMember,
        actor_id: Option<String>,
    ) -> Result<(), HookError> {
        let id = format!("{}:{}", member.team_id, member.user_id);
        let data = json!({ "member": member, "actor_id": actor_id });
        self.record(api, Hook::UserHasJoinedTeam, &id, Some(ctx), data)
            .await?;
        Ok(())
    }

    async fn user_has_left_team(
        &self,
        api: &Api,
        ctx: &Context,
        member: TeamMember,
        actor_id: Option<String>,
    ) -> Result<(), HookError> {
        let id = format!("{}:{}", member.team_id, member.user_id);
        let data = json!({ "member": member, "actor_id": actor_id });
        self.record(api, Hook::UserHasLeftTeam, &id, Some(ctx), data)
            .await?;
        Ok(())
    }

    async fn on_install(&self, api: &Api, ctx: &Context, user_id: String) -> Result<(), HookError> {
        let data = json!({ "user_id": user_id });
        self.record(api, Hook::OnInstall, "last", Some(ctx), data)
            .await?;
        Ok(())
    }

    async fn user_has_logged_in(
        &self,
        api: &Api,
        ctx: &Context,
        user: User,
    ) -> Result<(), HookError> {
        self.record(
            api,
            Hook::UserHasLoggedIn,
            &user.id,
            Some(ctx),
            json!({ "user": user }),
        )
        .await?;
        Ok(())
    }

    /// Refuses the users listed in `BlockedUsers` (usernames, comma-separated).
    async fn user_will_log_in(
        &self,
        api: &Api,
        ctx: &Context,
        user: User,
    ) -> Result<LoginDecision, HookError> {
        let blocked = self
            .config()
            .blocked_users
            .split(',')
            .any(|name| name.trim() == user.username);
        self.record(
            api,
            Hook::UserWillLogIn,
            &user.id,
            Some(ctx),
            json!({ "user": user, "blocked": blocked }),
        )
        .await?;
        Ok(if blocked {
            LoginDecision::Reject(format!("@{} may not log in (BlockedUsers)", user.username))
        } else {
            LoginDecision::Allow
        })
    }

    async fn on_web_socket_connect(
        &self,
        api: &Api,
        connection_id: String,
        user_id: String,
    ) -> Result<(), HookError> {
        let data = json!({ "connection_id": connection_id, "user_id": user_id });
        self.record(api, Hook::OnWebSocketConnect, &user_id, None, data)
            .await?;
        Ok(())
    }

    async fn on_web_socket_disconnect(
        &self,
        api: &Api,
        connection_id: String,
        user_id: String,
    ) -> Result<(), HookError> {
        let data = json!({ "connection_id": connection_id, "user_id": user_id });
        self.record(api, Hook::OnWebSocketDisconnect, &user_id, None, data)
            .await?;
        Ok(())
    }

    async fn execute_command(
        &self,
        api: &Api,
        ctx: &Context,
        args: CommandArgs,
    ) -> Result<CommandResponse, HookError> {
        self.record(
            api,
            Hook::ExecuteCommand,
            &args.user_id,
            Some(ctx),
            json!({ "args": args }),
        )
        .await?;
        // A failed API call becomes a reply the user can read, rather than a hook
        // failure the server would only log.
        match self.run_command(api, &args).await {
            Ok(response) => Ok(response),
            Err(error) => Ok(CommandResponse::ephemeral(format!(
                "/{TRIGGER} failed: {error}"
            ))),
        }
    }

    /// The plugin's HTTP routes: see [`crate::http::serve`].
    async fn serve_http(&self, api: &Api, request: HttpRequest) -> HttpResponse {
        crate::http::serve(self, api, request).await
    }

    async fn on_plugin_cluster_event(
        &self,
        api: &Api,
        event: ClusterEvent,
    ) -> Result<(), HookError> {
        let data = json!({
            "id": event.id,
            "data": String::from_utf8_lossy(&event.data),
            "source_node_id": event.source_node_id,
        });
        let copy_id = format!(
            "copy:{}:{}",
            std::process::id(),
            String::from_utf8_lossy(&event.data)
        );
        self.record(
            api,
            Hook::OnPluginClusterEvent,
            &event.id,
            None,
            data.clone(),
        )
        .await?;
        self.record(api, Hook::OnPluginClusterEvent, &copy_id, None, data)
            .await?;
        Ok(())
    }
}
