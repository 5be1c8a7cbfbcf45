//! Slash commands: the execute request and the response a command handler returns.

use serde::{Deserialize, Serialize};

pub const RESPONSE_TYPE_EPHEMERAL: &str = "ephemeral";
pub const RESPONSE_TYPE_IN_CHANNEL: &str = "in_channel";

/// Body of `POST /commands/execute`, and what a plugin's `ExecuteCommand` hook
/// receives: who ran which command line where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct CommandArgs {
    /// The whole command line, slash included: `"/trigger add hello"`.
    pub command: String,
    pub channel_id: String,
    pub team_id: String,
    pub root_id: String,
    pub parent_id: String,
    /// Who ran the command. The server sets it from the session; a request body's
    /// value is ignored.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub user_id: String,
    /// The trigger, without the slash and lower-cased, as the server matched it. Set
    /// for plugins' `ExecuteCommand`; a request body's value is ignored.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub trigger: String,
}

impl CommandArgs {
    /// The words after the trigger: `"/demo kv get x"` gives `["kv", "get", "x"]`.
    pub fn arguments(&self) -> Vec<&str> {
        self.command.split_whitespace().skip(1).collect()
    }
}

/// What a command answers; `in_channel` text becomes a post, `ephemeral` text a
/// message shown only to the caller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct CommandResponse {
    pub response_type: String,
    pub text: String,
    pub username: String,
    pub icon_url: String,
    pub goto_location: String,
    pub props: serde_json::Map<String, serde_json::Value>,
}

impl CommandResponse {
    /// A reply only the caller sees.
    pub fn ephemeral(text: impl Into<String>) -> CommandResponse {
        CommandResponse {
            response_type: RESPONSE_TYPE_EPHEMERAL.into(),
            text: text.into(),
            ..CommandResponse::default()
        }
    }

    /// A reply posted in the channel as the caller.
    pub fn in_channel(text: impl Into<String>) -> CommandResponse {
        CommandResponse {
            response_type: RESPONSE_TYPE_IN_CHANNEL.into(),
            text: text.into(),
            ..CommandResponse::default()
        }
    }
}

/// A command as listed for autocomplete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Command {
    pub trigger: String,
    pub auto_complete: bool,
    pub auto_complete_desc: String,
    pub auto_complete_hint: String,
    pub display_name: String,
    pub description: String,
    /// Empty for built-in commands; the plugin id for plugin commands.
    pub plugin_id: String,
}

impl Command {
    /// A command `/trigger` with autocomplete on and the given description.
    pub fn new(trigger: impl Into<String>, description: impl Into<String>) -> Command {
        let description = description.into();
        Command {
            trigger: trigger.into(),
            auto_complete: true,
            auto_complete_desc: description.clone(),
            description,
            ..Command::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_arguments_skip_the_trigger() {
        let args = CommandArgs {
            command: "/demo  kv get   x".into(),
            ..CommandArgs::default()
        };
        assert_eq!(args.arguments(), ["kv", "get", "x"]);
    }

    #[test]
    fn plugin_only_fields_stay_out_of_request_bodies() {
        let body = serde_json::to_value(CommandArgs::default()).unwrap();
        assert!(body.get("user_id").is_none() && body.get("trigger").is_none());
    }
}
