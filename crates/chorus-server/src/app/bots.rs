//! Bot accounts: created by admins through `POST /bots` (when
//! `EnableBotAccountCreation` is on) or by plugins, patched, disabled and enabled,
//! given a new owner, or made from a person's account. A bot is a user with `is_bot`
//! that never logs in with a password; it works through personal access tokens.
//!
//! Mattermost's default roles give the bot permissions (`create_bot`, `read_bots`,
//! `manage_bots`, …) to system admins alone, so here only admins, plugins and the
//! server may manage bots; to anyone else a bot looks as absent as a missing one.

use super::validate::{self, require_id, DISPLAY_NAME_MAX};
use super::Actor;
use crate::error::{AppError, AppResult, Code};
use crate::store::BotFilter;
use crate::AppState;
use chorus_model::{new_id, now_millis, Bot, BotPatch, User};

/// Mattermost's limit on a bot's description, in characters.
pub const BOT_DESCRIPTION_MAX: usize = 1024;

fn bot_not_found() -> AppError {
    Code::BotNotFound.into()
}

/// Admins, plugins and the server; everyone else is told the bot does not exist.
fn require_bot_admin(actor: Actor<'_>) -> AppResult<()> {
    if actor.is_admin() {
        Ok(())
    } else {
        Err(bot_not_found())
    }
}

/// Who a new bot belongs to: the creating user, or the plugin that made it.
fn owner_of(actor: Actor<'_>) -> String {
    match actor {
        Actor::User(auth) => auth.user.id.clone(),
        Actor::Plugin(plugin_id) => plugin_id.to_string(),
        Actor::System => "system".to_string(),
    }
}

fn check_username(username: &str) -> AppResult<()> {
    validate::username(username).map_err(|err| match err {
        AppError::Api { message, .. } => Code::BotUsernameInvalid.with_message(message),
        other => other,
    })
}

fn check_display_name(display_name: &str) -> AppResult<()> {
    if display_name.chars().count() > DISPLAY_NAME_MAX {
        return Err(Code::BotDisplayNameInvalid.with_message(format!(
            "display_name must be at most {DISPLAY_NAME_MAX} characters."
        )));
    }
    Ok(())
}

fn check_description(description: &str) -> AppResult<()> {
    if description.chars().count() > BOT_DESCRIPTION_MAX {
        return Err(Code::BotDescriptionInvalid.with_message(format!(
            "description must be at most {BOT_DESCRIPTION_MAX} characters."
        )));
    }
    Ok(())
}

fn username_taken() -> AppError {
    Code::UsernameTaken.with_message("An account with that username already exists.")
}

impl AppState {
    /// `POST /bots`, and plugins' `CreateBot`.
    pub async fn create_bot(&self, actor: Actor<'_>, patch: BotPatch) -> AppResult<Bot> {
        if let Actor::User(auth) = actor {
            if !auth.is_admin() || auth.user.is_bot {
                return Err(AppError::forbidden(
                    "You do not have the appropriate permissions: creating bots needs a system admin.",
                ));
            }
            if !self.config.service_settings.enable_bot_account_creation {
                return Err(Code::BotCreationDisabled.into());
            }
        }
        let username = patch.username.unwrap_or_default();
        let display_name = patch.display_name.unwrap_or_default();
        let description = patch.description.unwrap_or_default();
        check_username(&username)?;
        check_display_name(&display_name)?;
        check_description(&description)?;
        let now = now_millis();
        let bot = Bot {
            user_id: new_id(),
            username,
            display_name,
            description,
            owner_id: owner_of(actor),
            last_icon_update: 0,
            create_at: now,
            update_at: now,
            delete_at: 0,
        };
        let email = format!("{}@localhost", bot.username);
        match self.store.create_bot(&bot, &email).await {
            Ok(created) => {
                tracing::info!(bot_id = %created.user_id, username = %created.username, owner = %created.owner_id, "bot created");
                Ok(created)
            }
            Err(err) if err.is_unique_violation() => Err(username_taken()),
            Err(err) => Err(err.into()),
        }
    }

    /// The bot `username`, created on first use (plugins' `EnsureBotUser`).
    pub async fn ensure_bot_user(
        &self,
        plugin_id: &str,
        username: &str,
        display_name: &str,
        description: &str,
    ) -> AppResult<User> {
        let username = username.trim().to_lowercase();
        let existing = |user: Option<User>| match user {
            Some(user) if user.is_bot => Ok(Some(user)),
            Some(_) => Err(Code::BotUsernameTaken
                .with_message(format!("@{username} is a person's account, not a bot."))),
            None => Ok(None),
        };
        if let Some(user) = existing(self.store.get_user_by_username(&username).await?)? {
            return Ok(user);
        }
        let patch = BotPatch {
            username: Some(username.clone()),
            display_name: Some(display_name.chars().take(DISPLAY_NAME_MAX).collect()),
            description: Some(description.chars().take(BOT_DESCRIPTION_MAX).collect()),
        };
        let bot_id = match self.create_bot(Actor::Plugin(plugin_id), patch).await {
            Ok(bot) => bot.user_id,
            // Another node or plugin copy created it first.
            Err(err) if err.code() == Code::UsernameTaken => {
                return existing(self.store.get_user_by_username(&username).await?)?.ok_or(err);
            }
            Err(err) => return Err(err),
        };
        self.require_user(&bot_id).await
    }

    /// `GET /bots/{id}`.
    pub async fn get_bot(
        &self,
        actor: Actor<'_>,
        bot_id: &str,
        include_deleted: bool,
    ) -> AppResult<Bot> {
        require_id(bot_id, "bot_user_id")?;
        require_bot_admin(actor)?;
        self.store
            .get_bot(bot_id)
            .await?
            .filter(|bot| include_deleted || bot.delete_at == 0)
            .ok_or_else(bot_not_found)
    }

    /// `GET /bots`.
    pub async fn list_bots(
        &self,
        actor: Actor<'_>,
        filter: &BotFilter,
        page: i64,
        per_page: i64,
    ) -> AppResult<Vec<Bot>> {
        if !actor.is_admin() {
            return Err(AppError::forbidden(
                "You do not have the appropriate permissions: listing bots needs a system admin.",
            ));
        }
        Ok(self
            .store
            .list_bots(filter, page * per_page, per_page)
            .await?)
    }

    /// `PUT /bots/{id}`: absent fields stay as they are.
    pub async fn patch_bot(
        &self,
        actor: Actor<'_>,
        bot_id: &str,
        patch: BotPatch,
    ) -> AppResult<Bot> {
        let mut bot = self.get_bot(actor, bot_id, true).await?;
        if patch.username.is_none() && patch.display_name.is_none() && patch.description.is_none() {
            return Ok(bot);
        }
        if let Some(username) = patch.username {
            check_username(&username)?;
            bot.username = username;
        }
        if let Some(display_name) = patch.display_name {
            check_display_name(&display_name)?;
            bot.display_name = display_name;
        }
        if let Some(description) = patch.description {
            check_description(&description)?;
            bot.description = description;
        }
        bot.update_at = now_millis();
        match self.store.update_bot(&bot).await {
            Ok(bot) => Ok(bot),
            Err(err) if err.is_unique_violation() => Err(username_taken()),
            Err(err) => Err(err.into()),
        }
    }

    /// `POST /bots/{id}/disable|enable`. A disabled bot's sessions end on every node;
    /// its tokens are kept but authenticate nothing until it is enabled again.
    pub async fn set_bot_active(
        &self,
        actor: Actor<'_>,
        bot_id: &str,
        active: bool,
    ) -> AppResult<Bot> {
        let bot = self.get_bot(actor, bot_id, true).await?;
        if (bot.delete_at == 0) == active {
            return Ok(bot);
        }
        let now = now_millis();
        self.store
            .set_bot_delete_at(&bot.user_id, if active { 0 } else { now }, now)
            .await?;
        if !active {
            self.end_all_sessions_of(&bot.user_id).await?;
        }
        tracing::info!(bot_id, active, "bot activity changed");
        self.get_bot(actor, bot_id, true).await
    }

    /// `POST /bots/{id}/assign/{user_id}`: gives the bot to another (human) owner.
    pub async fn assign_bot(
        &self,
        actor: Actor<'_>,
        bot_id: &str,
        owner_id: &str,
    ) -> AppResult<Bot> {
        let mut bot = self.get_bot(actor, bot_id, true).await?;
        let owner = self.require_user(owner_id).await?;
        if owner.is_bot {
            return Err(Code::BotOwnerIsBot.into());
        }
        bot.owner_id = owner.id;
        bot.update_at = now_millis();
        Ok(self.store.update_bot(&bot).await?)
    }

    /// `POST /users/{id}/convert_to_bot`: the account keeps its id, username, posts and
    /// memberships, loses its password, roles and login sessions, and owns itself.
    pub async fn convert_user_to_bot(&self, actor: Actor<'_>, user_id: &str) -> AppResult<Bot> {
        let user = self.require_user(user_id).await?;
        super::permissions::require_admin(actor)?;
        if user.is_bot {
            return Err(Code::AlreadyBot.into());
        }
        if user.is_system_admin() {
            // A bot holds no admin role: converting an admin could leave the server
            // without one. Take the role away first (PUT /users/{id}/roles).
            return Err(AppError::forbidden(
                "A system admin cannot become a bot; remove the system_admin role first.",
            ));
        }
        let sessions = self.store.session_ids_of_user(&user.id).await?;
        let bot = self
            .store
            .convert_user_to_bot(&user, &user.id, now_millis())
            .await?;
        for session_id in sessions {
            self.close_sockets_of_session(&session_id);
        }
        tracing::info!(user_id, "user converted to a bot");
        Ok(bot)
    }
}
