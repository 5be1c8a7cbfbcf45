//! Custom slash commands: a team's admins register a trigger and a URL; running the
//! trigger calls that URL (through [`crate::security::outbound`]) with Mattermost's
//! form fields, and its answer is delivered like any command's (see `commands`); it may
//! answer again later through the run's `response_url`.
//! They live in the shared database, so every node runs the same ones.

use super::commands::{CommandCaller, CommandOverrides};
use super::permissions::{load_team, require_team_admin, require_team_member};
use super::validate::{self, require_id};
use super::Actor;
use crate::error::{AppError, AppResult, Code};
use crate::security::outbound::{OutboundError, OutboundResponse};
use crate::store::CommandWebhook;
use crate::AppState;
use chorus_model::{
    new_id, now_millis, Channel, Command, CommandResponse, User, COMMAND_METHOD_GET,
    COMMAND_METHOD_POST,
};

pub const TRIGGER_MAX: usize = 128;
pub const DISPLAY_NAME_MAX: usize = 64;
pub const DESCRIPTION_MAX: usize = 128;
pub const AUTOCOMPLETE_TEXT_MAX: usize = 1024;
pub const USERNAME_MAX: usize = 64;
pub const ICON_URL_MAX: usize = 1024;
pub const URL_MAX: usize = 1024;

/// Mattermost's rules for a command's fields, with its error ids.
fn check_command(command: &Command) -> AppResult<()> {
    let trigger = &command.trigger;
    if trigger.is_empty()
        || trigger.chars().count() > TRIGGER_MAX
        || trigger.starts_with('/')
        || trigger.contains(char::is_whitespace)
    {
        return Err(Code::CommandTriggerInvalid.with_message(format!(
            "A trigger is one word of 1 to {TRIGGER_MAX} characters, without a leading '/'."
        )));
    }
    if command.url.chars().count() > URL_MAX || !validate::is_http_url(&command.url) {
        return Err(Code::CommandUrlInvalid.into());
    }
    if command.method != COMMAND_METHOD_POST && command.method != COMMAND_METHOD_GET {
        return Err(Code::CommandMethodInvalid.into());
    }
    for (code, name, value, max) in [
        (
            Code::CommandDisplayNameInvalid,
            "display_name",
            &command.display_name,
            DISPLAY_NAME_MAX,
        ),
        (
            Code::CommandDescriptionInvalid,
            "description",
            &command.description,
            DESCRIPTION_MAX,
        ),
        (
            Code::CommandAutocompleteInvalid,
            "auto_complete_desc",
            &command.auto_complete_desc,
            AUTOCOMPLETE_TEXT_MAX,
        ),
        (
            Code::CommandAutocompleteInvalid,
            "auto_complete_hint",
            &command.auto_complete_hint,
            AUTOCOMPLETE_TEXT_MAX,
        ),
        (
            Code::CommandUsernameInvalid,
            "username",
            &command.username,
            USERNAME_MAX,
        ),
        (
            Code::CommandIconUrlInvalid,
            "icon_url",
            &command.icon_url,
            ICON_URL_MAX,
        ),
    ] {
        validate::max_len(code, name, value, max)?;
    }
    Ok(())
}

/// A custom command as its team's members see it when listing: without its token.
pub fn without_token(mut command: Command) -> Command {
    command.token.clear();
    command
}

/// Who runs a custom command, where, and with what.
#[derive(Debug, Clone, Copy)]
pub(super) struct CustomCommandCall<'a> {
    pub user: &'a User,
    pub channel: &'a Channel,
    pub root_id: &'a str,
    pub text: &'a str,
    /// Lets the integration open a dialog for the user.
    pub trigger_id: &'a str,
    /// The server's address, for the `response_url`.
    pub site: &'a str,
}

/// How long a command's `response_url` works, and how many answers it takes
/// (Mattermost's `CommandWebhookLifetime` and its limit).
pub const COMMAND_WEBHOOK_LIFETIME_MILLIS: i64 = 30 * 60 * 1000;
pub const COMMAND_WEBHOOK_MAX_USES: i32 = 5;

impl AppState {
    fn require_commands(&self) -> AppResult<()> {
        if self.config.service_settings.enable_commands {
            Ok(())
        } else {
            Err(Code::CommandsDisabled.into())
        }
    }

    /// Whether a team already answers to `trigger`: a built-in or plugin command, or
    /// another of its custom commands (`except` is the one being changed).
    async fn trigger_taken(&self, team_id: &str, trigger: &str, except: &str) -> AppResult<bool> {
        if self.commands.get(trigger).is_some() {
            return Ok(true);
        }
        Ok(self
            .store
            .get_command_by_trigger(team_id, trigger)
            .await?
            .is_some_and(|c| c.id != except))
    }

    /// `POST /commands`: a team admin registers a trigger for their team.
    pub async fn create_command(&self, actor: Actor<'_>, draft: Command) -> AppResult<Command> {
        self.require_commands()?;
        require_id(&draft.team_id, "team_id")?;
        load_team(self, &draft.team_id).await?;
        require_team_admin(self, actor, &draft.team_id, "slash commands").await?;
        let Some(creator) = actor.user_id() else {
            return Err(AppError::forbidden("Custom commands belong to a user."));
        };
        let now = now_millis();
        let command = Command {
            id: new_id(),
            token: new_id(),
            create_at: now,
            update_at: now,
            delete_at: 0,
            creator_id: creator.to_string(),
            trigger: draft.trigger.to_lowercase(),
            method: if draft.method.is_empty() {
                COMMAND_METHOD_POST.into()
            } else {
                draft.method.to_uppercase()
            },
            plugin_id: String::new(),
            ..draft
        };
        check_command(&command)?;
        if self
            .trigger_taken(&command.team_id, &command.trigger, "")
            .await?
        {
            return Err(Code::CommandTriggerTaken.into());
        }
        match self.store.insert_command(&command).await {
            Err(e) if e.is_unique_violation() => Err(Code::CommandTriggerTaken.into()),
            other => other.map_err(AppError::from),
        }?;
        Ok(command)
    }

    /// A live custom command the actor manages; others get the same 404 as a command
    /// that does not exist, as in Mattermost.
    async fn managed_command(&self, actor: Actor<'_>, command_id: &str) -> AppResult<Command> {
        require_id(command_id, "command_id")?;
        let command = self
            .store
            .get_command(command_id)
            .await?
            .ok_or_else(|| AppError::from(Code::CustomCommandNotFound))?;
        require_team_admin(self, actor, &command.team_id, "slash commands")
            .await
            .map_err(|_| AppError::from(Code::CustomCommandNotFound))?;
        Ok(command)
    }

    /// `GET /commands/{id}`.
    pub async fn custom_command(&self, actor: Actor<'_>, command_id: &str) -> AppResult<Command> {
        self.require_commands()?;
        self.managed_command(actor, command_id).await
    }

    /// `GET /commands?team_id&custom_only`: with `custom_only`, the team's custom
    /// commands for its admins (with tokens); otherwise every command a member of the
    /// team can run, custom ones without their tokens.
    pub async fn team_commands(
        &self,
        actor: Actor<'_>,
        team_id: &str,
        custom_only: bool,
    ) -> AppResult<Vec<Command>> {
        require_id(team_id, "team_id")?;
        if custom_only {
            self.require_commands()?;
            require_team_admin(self, actor, team_id, "slash commands").await?;
            return Ok(self.store.list_team_commands(team_id).await?);
        }
        require_team_member(self, actor, team_id).await?;
        let mut commands = self.list_commands();
        if self.config.service_settings.enable_commands {
            commands.extend(
                self.store
                    .list_team_commands(team_id)
                    .await?
                    .into_iter()
                    .map(without_token),
            );
        }
        commands.sort_by(|a, b| a.trigger.cmp(&b.trigger));
        Ok(commands)
    }

    /// `PUT /commands/{id}`: the team, creator, token and dates stay; the rest is the
    /// request's.
    pub async fn update_command(
        &self,
        actor: Actor<'_>,
        command_id: &str,
        changes: Command,
    ) -> AppResult<Command> {
        self.require_commands()?;
        let old = self.managed_command(actor, command_id).await?;
        if !changes.team_id.is_empty() && changes.team_id != old.team_id {
            return Err(Code::CommandTeamMismatch.into());
        }
        let command = Command {
            trigger: changes.trigger.to_lowercase(),
            method: changes.method.to_uppercase(),
            username: changes.username,
            icon_url: changes.icon_url,
            auto_complete: changes.auto_complete,
            auto_complete_desc: changes.auto_complete_desc,
            auto_complete_hint: changes.auto_complete_hint,
            display_name: changes.display_name,
            description: changes.description,
            url: changes.url,
            update_at: now_millis().max(old.update_at + 1),
            ..old
        };
        check_command(&command)?;
        if self
            .trigger_taken(&command.team_id, &command.trigger, &command.id)
            .await?
        {
            return Err(Code::CommandTriggerTaken.into());
        }
        match self.store.update_command(&command).await {
            Err(e) if e.is_unique_violation() => Err(Code::CommandTriggerTaken.into()),
            Ok(false) => Err(Code::CustomCommandNotFound.into()),
            Ok(true) => Ok(command),
            Err(e) => Err(e.into()),
        }
    }

    /// `PUT /commands/{id}/regen_token`: the old token stops matching at once.
    pub async fn regenerate_command_token(
        &self,
        actor: Actor<'_>,
        command_id: &str,
    ) -> AppResult<String> {
        self.require_commands()?;
        let old = self.managed_command(actor, command_id).await?;
        let command = Command {
            token: new_id(),
            update_at: now_millis().max(old.update_at + 1),
            ..old
        };
        if !self.store.update_command(&command).await? {
            return Err(Code::CustomCommandNotFound.into());
        }
        Ok(command.token)
    }

    /// `PUT /commands/{id}/move`: to another team the actor also administers, where
    /// the trigger must be free.
    pub async fn move_command(
        &self,
        actor: Actor<'_>,
        command_id: &str,
        team_id: &str,
    ) -> AppResult<()> {
        self.require_commands()?;
        require_id(team_id, "team_id")?;
        load_team(self, team_id).await?;
        require_team_admin(self, actor, team_id, "slash commands").await?;
        let command = self.managed_command(actor, command_id).await?;
        if command.team_id == team_id {
            return Ok(());
        }
        if self
            .trigger_taken(team_id, &command.trigger, &command.id)
            .await?
        {
            return Err(Code::CommandTriggerTaken.into());
        }
        let at = now_millis().max(command.update_at + 1);
        match self.store.move_command(&command.id, team_id, at).await {
            Err(e) if e.is_unique_violation() => Err(Code::CommandTriggerTaken.into()),
            Ok(false) => Err(Code::CustomCommandNotFound.into()),
            Ok(true) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// `DELETE /commands/{id}`.
    pub async fn delete_command(&self, actor: Actor<'_>, command_id: &str) -> AppResult<()> {
        self.require_commands()?;
        let command = self.managed_command(actor, command_id).await?;
        if !self.store.delete_command(&command.id, now_millis()).await? {
            return Err(Code::CustomCommandNotFound.into());
        }
        Ok(())
    }

    /// The team's custom command for `trigger`, when commands are on.
    pub(super) async fn find_custom_command(
        &self,
        team_id: &str,
        trigger: &str,
    ) -> AppResult<Option<Command>> {
        if team_id.is_empty() || !self.config.service_settings.enable_commands {
            return Ok(None);
        }
        Ok(self.store.get_command_by_trigger(team_id, trigger).await?)
    }

    /// Calls a custom command's URL for a user in a channel and reads its answer:
    /// JSON when the integration says so, the body as plain text otherwise.
    pub(super) async fn call_custom_command(
        &self,
        command: &Command,
        call: CustomCommandCall<'_>,
    ) -> AppResult<CommandResponse> {
        let CustomCommandCall {
            user,
            channel,
            root_id,
            text,
            trigger_id,
            site,
        } = call;
        let team = load_team(self, &command.team_id).await?;
        let hook = CommandWebhook {
            id: new_id(),
            command_id: command.id.clone(),
            user_id: user.id.clone(),
            channel_id: channel.id.clone(),
            root_id: root_id.to_string(),
            create_at: now_millis(),
        };
        self.store
            .insert_command_webhook(&hook, hook.create_at - COMMAND_WEBHOOK_LIFETIME_MILLIS)
            .await?;
        let response_url = format!("{}/hooks/commands/{}", site.trim_end_matches('/'), hook.id);
        let fields = [
            ("token", command.token.as_str()),
            ("team_id", command.team_id.as_str()),
            ("team_domain", team.name.as_str()),
            ("channel_id", channel.id.as_str()),
            ("channel_name", channel.name.as_str()),
            ("user_id", user.id.as_str()),
            ("user_name", user.username.as_str()),
            ("command", &format!("/{}", command.trigger)),
            ("text", text),
            ("root_id", root_id),
            ("trigger_id", trigger_id),
            ("response_url", &response_url),
        ];
        let failed = |e: OutboundError| {
            Code::CommandFailed.with_message(format!(
                "Command with a trigger of '{}' failed: {e}",
                command.trigger
            ))
        };
        let request = if command.method == COMMAND_METHOD_GET {
            self.outbound
                .request(reqwest::Method::GET, &command.url)
                .map_err(failed)?
                .query(&fields)
        } else {
            self.outbound
                .request(reqwest::Method::POST, &command.url)
                .map_err(failed)?
                .form(&fields)
        }
        .header(reqwest::header::ACCEPT, "application/json")
        .header(
            reqwest::header::AUTHORIZATION,
            format!("Token {}", command.token),
        );
        let answer = self.outbound.send(request).await.map_err(failed)?;
        parse_command_answer(&command.trigger, answer)
    }

    /// `POST /hooks/commands/{id}`: a custom command's integration answering later,
    /// within [`COMMAND_WEBHOOK_LIFETIME_MILLIS`] and at most
    /// [`COMMAND_WEBHOOK_MAX_USES`] times, as if it had answered at once.
    pub async fn execute_command_webhook(
        &self,
        hook_id: &str,
        response: CommandResponse,
    ) -> AppResult<()> {
        let not_before = now_millis() - COMMAND_WEBHOOK_LIFETIME_MILLIS;
        let hook = match chorus_model::is_valid_id(hook_id) {
            true => {
                self.store
                    .use_command_webhook(hook_id, not_before, COMMAND_WEBHOOK_MAX_USES)
                    .await?
            }
            false => None,
        }
        .ok_or_else(|| AppError::from(Code::CommandWebhookMissing))?
        .ok_or_else(|| AppError::from(Code::CommandWebhookUsedUp))?;
        let command = self
            .store
            .get_command(&hook.command_id)
            .await?
            .ok_or_else(|| AppError::from(Code::CommandWebhookCommand))?;
        let caller = self
            .store
            .get_user(&hook.user_id)
            .await?
            .filter(|u| u.delete_at == 0)
            .ok_or_else(|| {
                Code::CommandPostForbidden.with_message(
                    "The user who ran the command no longer exists or was deactivated.",
                )
            })?;
        self.deliver_command_responses(
            CommandCaller::Later(&caller),
            &hook.channel_id,
            &hook.root_id,
            &CommandOverrides::for_custom(&command),
            &response,
        )
        .await
    }
}

/// An integration's answer to a command: 200 with JSON (`application/json`) or text.
fn parse_command_answer(trigger: &str, answer: OutboundResponse) -> AppResult<CommandResponse> {
    if answer.status != 200 {
        return Err(Code::CommandFailedResponse.with_message(format!(
            "Command with a trigger of '{trigger}' returned response {}.",
            answer.status
        )));
    }
    command_response_from_body(&answer.content_type, answer.body).map_err(|why| {
        Code::CommandFailedResponse.with_message(format!(
            "Command with a trigger of '{trigger}' answered {why}."
        ))
    })
}

/// A command response as an integration sends it: JSON when its type says
/// `application/json`, otherwise the body is the text (as Mattermost's
/// `CommandResponseFromHTTPBody`). The error says what the body was instead.
pub fn command_response_from_body(
    content_type: &str,
    body: Vec<u8>,
) -> Result<CommandResponse, String> {
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if media_type == "application/json" {
        return serde_json::from_slice(&body)
            .map_err(|e| format!("JSON that is not a command response: {e}"));
    }
    let text = String::from_utf8(body).map_err(|_| "text that is not UTF-8".to_string())?;
    Ok(CommandResponse {
        text,
        ..CommandResponse::default()
    })
}
