//! Slash commands: running one (a built-in, a plugin's `ExecuteCommand`, or a team's
//! custom command, whose URL `custom_commands` calls, and which may answer later
//! through its `response_url`) and
//! delivering its answer (`in_channel` text becomes a post by the caller, `ephemeral`
//! text a message only the caller sees, as Mattermost does); listing them; plugins
//! registering their own triggers; and ephemeral posts.

use super::custom_commands::CustomCommandCall;
use super::permissions::{load_member_channel, require_team_member};
use super::posts::check_user_post_type;
use super::validate::require_id;
use super::webhooks::{slack_links_to_markdown, with_attachments, without_override_props};
use super::{Actor, Auth};
use crate::commands::{parse_command_line, CommandHandler};
use crate::error::{AppResult, Code};
use crate::AppState;
use chorus_model::{
    events, new_id, now_millis, Command, CommandArgs, CommandResponse, Post, User,
    POST_TYPE_EPHEMERAL, RESPONSE_TYPE_EPHEMERAL, RESPONSE_TYPE_IN_CHANNEL,
};

/// How a custom command's answers are shown: as an integration's posts, with the
/// name and icon the command was registered with.
#[derive(Debug, Default)]
pub(super) struct CommandOverrides {
    from_integration: bool,
    username: String,
    icon_url: String,
}

impl CommandOverrides {
    pub(super) fn for_custom(command: &Command) -> CommandOverrides {
        CommandOverrides {
            from_integration: true,
            username: command.username.clone(),
            icon_url: command.icon_url.clone(),
        }
    }
}

/// Whom a command's answer is delivered for: the user running it now, through their
/// session, or the user who ran it, when its integration answers later
/// (`response_url`), who must still belong to the channel.
#[derive(Debug, Clone, Copy)]
pub(super) enum CommandCaller<'a> {
    Session(&'a Auth),
    Later(&'a User),
}

impl CommandCaller<'_> {
    fn user_id(&self) -> &str {
        match self {
            CommandCaller::Session(auth) => auth.user_id(),
            CommandCaller::Later(user) => &user.id,
        }
    }
}

impl AppState {
    /// Runs `args.command` for a signed-in user in a channel they belong to, and
    /// delivers the answer. `site` is the server's address as the caller reached it,
    /// for the `response_url` of custom commands.
    pub async fn execute_command(
        &self,
        auth: &Auth,
        args: CommandArgs,
        site: &str,
    ) -> AppResult<CommandResponse> {
        let actor = auth.actor();
        let channel = load_member_channel(self, actor, &args.channel_id).await?;
        // A team channel's command runs in that channel's team, whatever the client said
        // (as Mattermost overwrites it); in a direct channel the client's team must be one
        // of the user's own.
        let team_id = if !channel.team_id.is_empty() {
            channel.team_id.clone()
        } else if !args.team_id.is_empty() {
            require_id(&args.team_id, "team_id")?;
            require_team_member(self, actor, &args.team_id).await?;
            args.team_id.clone()
        } else {
            String::new()
        };
        let Some((trigger, rest)) = parse_command_line(&args.command) else {
            return Err(Code::CommandFormat.with_message(
                "A command must start with '/' followed by its trigger, as in \"/echo hello\".",
            ));
        };
        let root_id = if args.root_id.is_empty() {
            args.parent_id.clone()
        } else {
            args.root_id.clone()
        };
        let mut overrides = CommandOverrides::default();
        let response = match self.commands.get(&trigger) {
            Some(registered) => match registered.handler {
                CommandHandler::Builtin(run) => run(&rest),
                CommandHandler::Plugin(plugin_id) => {
                    let context = actor.hook_context();
                    let hook_args = chorus_plugin_protocol::v1::CommandArgs {
                        user_id: auth.user.id.clone(),
                        channel_id: channel.id.clone(),
                        team_id: team_id.clone(),
                        root_id: args.root_id.clone(),
                        command: args.command.clone(),
                        trigger: trigger.clone(),
                        trigger_id: self.new_trigger_id(&auth.user.id).await?.1,
                    };
                    self.plugins
                        .execute_command(&plugin_id, &context, hook_args)
                        .await
                        .ok_or_else(|| {
                            Code::CommandFailed.with_message(format!(
                                "The plugin behind /{trigger} failed to answer."
                            ))
                        })?
                }
            },
            None => {
                let Some(custom) = self.find_custom_command(&team_id, &trigger).await? else {
                    return Err(Code::CommandNotFound.with_message(format!(
                        "Command with a trigger of '{trigger}' not found."
                    )));
                };
                overrides = CommandOverrides::for_custom(&custom);
                let (_, trigger_id) = self.new_trigger_id(&auth.user.id).await?;
                let call = CustomCommandCall {
                    user: &auth.user,
                    channel: &channel,
                    root_id: &root_id,
                    text: &rest,
                    trigger_id: &trigger_id,
                    site,
                };
                self.call_custom_command(&custom, call).await?
            }
        };
        self.deliver_command_responses(
            CommandCaller::Session(auth),
            &channel.id,
            &root_id,
            &overrides,
            &response,
        )
        .await?;
        Ok(response)
    }

    /// Whether a user is (still) a member of a channel.
    async fn belongs_to(&self, user_id: &str, channel_id: &str) -> AppResult<bool> {
        Ok(self
            .store
            .get_channel_member(channel_id, user_id)
            .await?
            .is_some())
    }

    /// A command's answer and its `extra_responses`.
    pub(super) async fn deliver_command_responses(
        &self,
        caller: CommandCaller<'_>,
        channel_id: &str,
        root_id: &str,
        overrides: &CommandOverrides,
        response: &CommandResponse,
    ) -> AppResult<()> {
        if let CommandCaller::Later(user) = caller {
            if !self.belongs_to(&user.id, channel_id).await? {
                return Err(Code::CommandPostForbidden
                    .with_message("The user who ran the command is no longer in its channel."));
            }
        }
        self.deliver_command_response(caller, channel_id, root_id, overrides, response)
            .await?;
        for extra in &response.extra_responses {
            self.deliver_command_response(caller, channel_id, root_id, overrides, extra)
                .await?;
        }
        Ok(())
    }

    /// Turns a command's answer into a post or an ephemeral message, as Mattermost's
    /// `HandleCommandResponsePost`.
    async fn deliver_command_response(
        &self,
        caller: CommandCaller<'_>,
        channel_id: &str,
        root_id: &str,
        overrides: &CommandOverrides,
        response: &CommandResponse,
    ) -> AppResult<()> {
        if response.text.is_empty() && response.attachments.is_empty() {
            return Ok(());
        }
        let channel_id = if response.channel_id.is_empty() || response.channel_id == channel_id {
            channel_id.to_string()
        } else {
            require_id(&response.channel_id, "channel_id")?;
            let allowed = match caller {
                CommandCaller::Session(auth) => {
                    load_member_channel(self, auth.actor(), &response.channel_id)
                        .await
                        .is_ok()
                }
                CommandCaller::Later(user) => {
                    self.belongs_to(&user.id, &response.channel_id).await?
                }
            };
            if !allowed {
                return Err(Code::CommandPostForbidden.into());
            }
            response.channel_id.clone()
        };
        let mut props = if overrides.from_integration {
            without_override_props(response.props.clone())
        } else {
            response.props.clone()
        };
        let settings = &self.config.service_settings;
        let username = [overrides.username.as_str(), response.username.as_str()]
            .into_iter()
            .find(|u| !u.is_empty());
        if let (true, Some(username)) = (settings.enable_post_username_override, username) {
            props.insert("override_username".into(), username.into());
        }
        let icon_url = [overrides.icon_url.as_str(), response.icon_url.as_str()]
            .into_iter()
            .find(|u| !u.is_empty());
        if let (true, Some(icon_url)) = (settings.enable_post_icon_override, icon_url) {
            props.insert("override_icon_url".into(), icon_url.into());
        }
        if overrides.from_integration {
            props.insert("from_webhook".into(), "true".into());
        }
        let post_type = with_attachments(
            &mut props,
            response.post_type.clone(),
            response.attachments.clone(),
        );
        let message = if overrides.from_integration && !response.skip_slack_parsing {
            slack_links_to_markdown(&response.text)
        } else {
            response.text.clone()
        };
        let post = Post {
            channel_id,
            root_id: root_id.to_string(),
            message,
            post_type,
            props,
            ..Post::default()
        };
        match response.response_type.as_str() {
            RESPONSE_TYPE_IN_CHANNEL => match caller {
                CommandCaller::Session(auth) => {
                    self.create_post(auth.actor(), post).await?;
                }
                // The server posts for the user, by the rules the user would post by.
                CommandCaller::Later(user) => {
                    check_user_post_type(&post.post_type)?;
                    let post = Post {
                        user_id: user.id.clone(),
                        ..post
                    };
                    self.create_post(Actor::System, post).await?;
                }
            },
            RESPONSE_TYPE_EPHEMERAL | "" => {
                self.send_ephemeral_post(caller.user_id(), post).await?;
            }
            other => {
                tracing::warn!(
                    response_type = other,
                    "command answered with an unknown response_type"
                );
            }
        }
        Ok(())
    }

    /// A message only `user_id` sees, never stored, as Mattermost's `SendEphemeralPost`;
    /// its actions carry their integrations sealed (see `interactive`).
    pub async fn send_ephemeral_post(&self, user_id: &str, draft: Post) -> AppResult<Post> {
        require_id(user_id, "user_id")?;
        require_id(&draft.channel_id, "channel_id")?;
        let now = now_millis();
        let mut post = Post {
            id: new_id(),
            create_at: now,
            update_at: now,
            post_type: POST_TYPE_EPHEMERAL.into(),
            ..draft
        };
        self.seal_action_cookies(&mut post).await?;
        self.tell_user_about_post(events::EPHEMERAL_MESSAGE, user_id, &post)?;
        Ok(post)
    }

    /// The commands every team has (built-in and plugins'), sorted by trigger.
    pub fn list_commands(&self) -> Vec<Command> {
        self.commands.list()
    }

    /// Registers (or replaces) one of `plugin_id`'s own triggers.
    pub fn register_plugin_command(&self, plugin_id: &str, mut command: Command) -> AppResult<()> {
        command.trigger = command.trigger.trim_start_matches('/').to_lowercase();
        if command.trigger.is_empty() || command.trigger.contains(char::is_whitespace) {
            return Err(Code::CommandTriggerInvalid.into());
        }
        command.plugin_id = plugin_id.to_string();
        if let Some(existing) = self.commands.get(&command.trigger) {
            if existing.command.plugin_id != plugin_id {
                return Err(Code::CommandTriggerTaken.with_message(format!(
                    "the command /{} is already registered by {}",
                    command.trigger,
                    if existing.command.plugin_id.is_empty() {
                        "the server"
                    } else {
                        &existing.command.plugin_id
                    }
                )));
            }
        }
        self.commands
            .register(command, CommandHandler::Plugin(plugin_id.to_string()));
        Ok(())
    }

    /// Removes one of `plugin_id`'s own triggers.
    pub fn unregister_plugin_command(&self, plugin_id: &str, trigger: &str) -> AppResult<()> {
        let trigger = trigger.trim_start_matches('/').to_lowercase();
        match self.commands.get(&trigger) {
            Some(existing) if existing.command.plugin_id == plugin_id => {
                self.commands.unregister(&trigger);
                Ok(())
            }
            _ => Err(Code::CommandNotRegistered
                .with_message(format!("this plugin has no command /{trigger}"))),
        }
    }
}
