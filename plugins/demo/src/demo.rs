//! The demo plugin's state: its settings ([`Config`]), the bot's id, and the helpers
//! every part uses (recording a hook in the KV store, the moderation rule).

use chorus_plugin::{Api, ApiError, Context, Hook, HookError, Post, PostDecision, Reaction};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::RwLock;

/// The plugin's settings, as declared in `plugin.json`'s `settings_schema`.
///
/// The server sends the administrator's values merged over the manifest's defaults.
/// Mattermost stores setting keys lower-cased in `config.json`, so each field also
/// accepts its lower-case spelling; `#[serde(default)]` keeps the plugin working when
/// a key is missing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Config {
    #[serde(rename = "Greeting", alias = "greeting")]
    pub(crate) greeting: String,
    #[serde(rename = "RejectWordEnabled", alias = "rejectwordenabled")]
    pub(crate) reject_word_enabled: bool,
    #[serde(rename = "RejectWord", alias = "rejectword")]
    pub(crate) reject_word: String,
    /// Usernames (comma-separated) whose logins `UserWillLogIn` refuses.
    #[serde(rename = "BlockedUsers", alias = "blockedusers")]
    pub(crate) blocked_users: String,
}

impl Default for Config {
    /// The same defaults as the manifest, for a server that sends none.
    fn default() -> Self {
        Config {
            greeting: "Hello".into(),
            reject_word_enabled: true,
            reject_word: "forbidden".into(),
            blocked_users: String::new(),
        }
    }
}

pub(crate) const BOT_USERNAME: &str = "demo-bot";
pub(crate) const TRIGGER: &str = "demo";
pub(crate) const UPPER_MARKER: &str = "{{upper}}";

/// The plugin's state. Hooks run concurrently, so shared state sits behind locks.
/// Only what can be rebuilt at any time lives in memory (the settings, the bot's id);
/// anything that must be the same on every app server of a cluster goes in the KV
/// store, because each server runs its own copy of the plugin.
#[derive(Default)]
pub(crate) struct Demo {
    /// Read on every post, so kept in memory rather than fetched per call; refreshed
    /// by `OnActivate` and `OnConfigurationChange`.
    config: RwLock<Config>,
    bot_id: RwLock<Option<String>>,
}

impl Demo {
    pub(crate) fn config(&self) -> Config {
        self.config
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) async fn load_config(&self, api: &Api) -> Result<Config, ApiError> {
        let config: Config = api.get_plugin_config_as().await?;
        *self.config.write().unwrap_or_else(|e| e.into_inner()) = config.clone();
        Ok(config)
    }

    /// The bot's user id. `ensure_bot_user` is idempotent, so calling it again after a
    /// failed activation is safe.
    pub(crate) async fn bot_id(&self, api: &Api) -> Result<String, ApiError> {
        if let Some(id) = self
            .bot_id
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
        {
            return Ok(id);
        }
        let bot = api
            .ensure_bot_user(BOT_USERNAME, "Demo Bot", "Posts for the demo plugin")
            .await?;
        *self.bot_id.write().unwrap_or_else(|e| e.into_inner()) = Some(bot.id.clone());
        Ok(bot.id)
    }

    /// Records that `hook` fired, under `hook:<HookName>:<id>`, with `data` merged into
    /// `{"hook": ..., "context": ...}`. The ids:
    ///
    /// | hook | id |
    /// | --- | --- |
    /// | `OnActivate`, `OnDeactivate`, `OnConfigurationChange` | `last` |
    /// | `OnConfigurationChange`, again per copy | `copy:<process id>` |
    /// | `MessageHasBeenPosted/Updated/Deleted` | the post id |
    /// | `ReactionHasBeenAdded/Removed` | the post id |
    /// | `ChannelHasBeenCreated` | the channel id |
    /// | `UserHasBeenCreated`, `UserHasLoggedIn`, `UserWillLogIn` | the user id |
    /// | `OnWebSocketConnect`, `OnWebSocketDisconnect` | the user id |
    /// | `UserHasJoinedChannel`, `UserHasLeftChannel` | `<channel id>:<user id>` |
    /// | `UserHasJoinedTeam` | `<team id>:<user id>` |
    /// | `ExecuteCommand` | the caller's user id |
    /// | `OnPluginClusterEvent` | the event id, and `copy:<process id>:<data>` |
    pub(crate) async fn record(
        &self,
        api: &Api,
        hook: Hook,
        id: &str,
        context: Option<&Context>,
        data: Value,
    ) -> Result<(), ApiError> {
        let mut record = json!({ "hook": hook.name(), "context": context });
        if let (Value::Object(record), Value::Object(data)) = (&mut record, data) {
            record.extend(data);
        }
        api.kv_set_json(format!("hook:{}:{id}", hook.name()), &record)
            .await
    }

    /// Records a reaction hook under the reaction's post id.
    pub(crate) async fn record_reaction(
        &self,
        api: &Api,
        hook: Hook,
        context: &Context,
        reaction: Reaction,
    ) -> Result<(), HookError> {
        let post_id = reaction.post_id.clone();
        let data = json!({ "reaction": reaction });
        self.record(api, hook, &post_id, Some(context), data)
            .await?;
        Ok(())
    }

    /// The moderation rule of both "will be" hooks. It calls no API: it runs on the
    /// path of every post, under the server's deadline, so it stays in memory.
    pub(crate) fn moderate(&self, mut post: Post) -> PostDecision {
        let config = self.config();
        let word = config.reject_word.trim().to_lowercase();
        if config.reject_word_enabled
            && !word.is_empty()
            && post.message.to_lowercase().contains(&word)
        {
            return PostDecision::Reject(format!(
                "Your message contains \"{}\", which the demo plugin does not allow.",
                config.reject_word.trim()
            ));
        }
        if post.message.contains(UPPER_MARKER) {
            post.message = post.message.replace(UPPER_MARKER, "").trim().to_uppercase();
            return PostDecision::Replace(post);
        }
        PostDecision::Accept
    }
}
