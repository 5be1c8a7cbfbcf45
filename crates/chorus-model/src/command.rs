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
    /// Lets a plugin open a dialog for the user who ran the command, for a short
    /// while. Set by the server; a request body's value is ignored.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub trigger_id: String,
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
    /// Another channel to post the answer in (the caller must be able to post there).
    pub channel_id: String,
    pub icon_url: String,
    #[serde(rename = "type")]
    pub post_type: String,
    pub goto_location: String,
    /// Whether `text` is posted as it is, without turning Slack's `<url|label>` links
    /// into Markdown.
    pub skip_slack_parsing: bool,
    pub props: serde_json::Map<String, serde_json::Value>,
    pub attachments: Vec<serde_json::Value>,
    /// More answers delivered after this one, each with its own type.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra_responses: Vec<CommandResponse>,
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

/// A slash command, in Mattermost's shape: a built-in one, a plugin's (`plugin_id`
/// set), or a team's custom command that the server runs by calling `url` (`id`,
/// `token` and the rest set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Command {
    pub id: String,
    /// Sent with every call to `url`, so the integration knows the call is ours.
    pub token: String,
    pub create_at: i64,
    pub update_at: i64,
    pub delete_at: i64,
    pub creator_id: String,
    pub team_id: String,
    pub trigger: String,
    /// `P` (POST, the default) or `G` (GET) for custom commands.
    pub method: String,
    pub username: String,
    pub icon_url: String,
    pub auto_complete: bool,
    pub auto_complete_desc: String,
    pub auto_complete_hint: String,
    pub display_name: String,
    pub description: String,
    pub url: String,
    /// Empty for built-in and custom commands; the plugin id for plugin commands.
    pub plugin_id: String,
    /// A plugin command's sub-commands and arguments, for suggestions as one types.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autocomplete_data: Option<AutocompleteData>,
    /// An icon (a data URL or SVG) shown beside the command's suggestions.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub autocomplete_icon_data: String,
}

/// Mattermost's `model.AutocompleteData`: what a command (or sub-command) offers as
/// one types it. The JSON keys are Go's field names, as Mattermost sends them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct AutocompleteData {
    pub trigger: String,
    pub hint: String,
    pub help_text: String,
    /// `system_user` (everyone, also when empty) or `system_admin`.
    #[serde(rename = "RoleID")]
    pub role_id: String,
    pub arguments: Vec<AutocompleteArg>,
    pub sub_commands: Vec<AutocompleteData>,
}

/// `TextInput`: `data` is `{"Hint", "Pattern"}`.
pub const AUTOCOMPLETE_TEXT_INPUT: &str = "TextInput";
/// `StaticList`: `data` is `{"PossibleArguments": [{"Item", "Hint", "HelpText"}]}`.
pub const AUTOCOMPLETE_STATIC_LIST: &str = "StaticList";
/// `DynamicList`: `data` is `{"FetchURL"}`, a path of the plugin's HTTP handler.
pub const AUTOCOMPLETE_DYNAMIC_LIST: &str = "DynamicList";

/// One argument of an [`AutocompleteData`]: positional (no `name`) or `--name value`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct AutocompleteArg {
    pub name: String,
    pub help_text: String,
    #[serde(rename = "Type")]
    pub arg_type: String,
    pub required: bool,
    pub data: serde_json::Value,
}

/// One entry of `GET /teams/{id}/commands/autocomplete_suggestions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct AutocompleteSuggestion {
    /// The whole command line once this suggestion is taken (without the slash).
    pub complete: String,
    pub suggestion: String,
    pub hint: String,
    pub description: String,
    pub icon_data: String,
}

/// `method` of a custom command called with a form POST.
pub const COMMAND_METHOD_POST: &str = "P";
/// `method` of a custom command called with a GET and query parameters.
pub const COMMAND_METHOD_GET: &str = "G";

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
