//! Suggestions while a slash command is typed
//! (`GET /teams/{id}/commands/autocomplete_suggestions`), from the commands'
//! [`AutocompleteData`] as Mattermost computes them: the triggers that start with
//! what was typed, then a command's sub-commands, then its arguments (a text input's
//! hint, a static list's items, `--name` for named arguments). Commands without data
//! (built-in, custom, or plugins' that give none) suggest their trigger, hint and
//! description.

use super::permissions::require_team_member;
use super::validate::require_id;
use super::Actor;
use crate::error::{AppError, AppResult};
use crate::AppState;
use chorus_model::{
    AutocompleteArg, AutocompleteData, AutocompleteSuggestion, Command, AUTOCOMPLETE_STATIC_LIST,
    AUTOCOMPLETE_TEXT_INPUT,
};

const ROLE_ADMIN: &str = "system_admin";

/// A command's data, or what its plain fields say.
fn data_of(command: &Command) -> AutocompleteData {
    command
        .autocomplete_data
        .clone()
        .unwrap_or_else(|| AutocompleteData {
            trigger: command.trigger.clone(),
            hint: command.auto_complete_hint.clone(),
            help_text: command.auto_complete_desc.clone(),
            ..AutocompleteData::default()
        })
}

fn visible(data: &AutocompleteData, admin: bool) -> bool {
    admin || data.role_id != ROLE_ADMIN
}

/// What to suggest for `input` (the command line without its slash).
pub fn suggest(input: &str, commands: &[Command], admin: bool) -> Vec<AutocompleteSuggestion> {
    let mut all: Vec<(AutocompleteData, &str)> = commands
        .iter()
        .filter(|c| c.auto_complete || c.autocomplete_data.is_some())
        .map(|c| (data_of(c), c.autocomplete_icon_data.as_str()))
        .collect();
    all.sort_by_key(|(data, _)| data.trigger.to_lowercase());
    let mut found = Vec::new();
    match input.split_once(' ') {
        None => {
            let typed = input.to_lowercase();
            for (data, icon) in &all {
                if visible(data, admin) && data.trigger.to_lowercase().starts_with(&typed) {
                    found.push(AutocompleteSuggestion {
                        complete: data.trigger.clone(),
                        suggestion: data.trigger.clone(),
                        hint: data.hint.clone(),
                        description: data.help_text.clone(),
                        icon_data: icon.to_string(),
                    });
                }
            }
        }
        Some((first, rest)) => {
            let first = first.to_lowercase();
            if let Some((data, icon)) = all
                .iter()
                .find(|(d, _)| visible(d, admin) && d.trigger.to_lowercase() == first)
            {
                found = suggest_within(&format!("{first} "), rest, data, admin);
                for suggestion in &mut found {
                    suggestion.icon_data = icon.to_string();
                }
            }
        }
    }
    found
}

/// Suggestions inside one command or sub-command; `parsed` is the line so far.
fn suggest_within(
    parsed: &str,
    rest: &str,
    data: &AutocompleteData,
    admin: bool,
) -> Vec<AutocompleteSuggestion> {
    if data.sub_commands.is_empty() {
        return suggest_arguments(parsed, rest, &data.arguments);
    }
    match rest.split_once(' ') {
        None => {
            let typed = rest.to_lowercase();
            data.sub_commands
                .iter()
                .filter(|s| visible(s, admin) && s.trigger.to_lowercase().starts_with(&typed))
                .map(|s| AutocompleteSuggestion {
                    complete: format!("{parsed}{}", s.trigger),
                    suggestion: s.trigger.clone(),
                    hint: s.hint.clone(),
                    description: s.help_text.clone(),
                    icon_data: String::new(),
                })
                .collect()
        }
        Some((word, after)) => data
            .sub_commands
            .iter()
            .find(|s| visible(s, admin) && s.trigger.eq_ignore_ascii_case(word))
            .map(|s| suggest_within(&format!("{parsed}{word} "), after, s, admin))
            .unwrap_or_default(),
    }
}

/// Suggestions for the argument being typed, after the complete ones before it.
fn suggest_arguments(
    parsed: &str,
    rest: &str,
    arguments: &[AutocompleteArg],
) -> Vec<AutocompleteSuggestion> {
    let Some((argument, later)) = arguments.split_first() else {
        return Vec::new();
    };
    if let Some((word, after)) = rest.split_once(' ') {
        // This argument is complete: go on with the next one.
        return suggest_arguments(&format!("{parsed}{word} "), after, later);
    }
    if !argument.name.is_empty() {
        let flag = format!("--{}", argument.name);
        return if flag.starts_with(rest) {
            vec![AutocompleteSuggestion {
                complete: format!("{parsed}{flag}"),
                suggestion: flag,
                hint: String::new(),
                description: argument.help_text.clone(),
                icon_data: String::new(),
            }]
        } else {
            Vec::new()
        };
    }
    let text = |field: &str| {
        argument.data[field]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    match argument.arg_type.as_str() {
        AUTOCOMPLETE_TEXT_INPUT => vec![AutocompleteSuggestion {
            complete: format!("{parsed}{rest}"),
            suggestion: String::new(),
            hint: text("Hint"),
            description: argument.help_text.clone(),
            icon_data: String::new(),
        }],
        AUTOCOMPLETE_STATIC_LIST => {
            let typed = rest.to_lowercase();
            argument.data["PossibleArguments"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|item| {
                    let name = item["Item"].as_str()?;
                    name.to_lowercase()
                        .starts_with(&typed)
                        .then(|| AutocompleteSuggestion {
                            complete: format!("{parsed}{name}"),
                            suggestion: name.to_string(),
                            hint: item["Hint"].as_str().unwrap_or_default().to_string(),
                            description: item["HelpText"].as_str().unwrap_or_default().to_string(),
                            icon_data: String::new(),
                        })
                })
                .collect()
        }
        // Dynamic lists would be fetched from the plugin; not served yet.
        _ => Vec::new(),
    }
}

impl AppState {
    /// `GET /teams/{id}/commands/autocomplete_suggestions?user_input=`: for a member of
    /// the team, over its commands (built-in, plugins', its custom ones).
    pub async fn command_suggestions(
        &self,
        actor: Actor<'_>,
        team_id: &str,
        user_input: &str,
    ) -> AppResult<Vec<AutocompleteSuggestion>> {
        require_id(team_id, "team_id")?;
        require_team_member(self, actor, team_id).await?;
        let input = user_input.strip_prefix('/').unwrap_or(user_input);
        if input.is_empty() {
            return Err(AppError::invalid_url_param("user_input"));
        }
        let commands = self.team_commands(actor, team_id, false).await?;
        Ok(suggest(input, &commands, actor.is_admin()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn demo() -> Command {
        let data: AutocompleteData = serde_json::from_value(json!({
            "Trigger": "demo", "Hint": "[action]", "HelpText": "The demo", "RoleID": "system_user",
            "Arguments": [],
            "SubCommands": [
                {"Trigger": "status", "Hint": "[status]", "HelpText": "Show or set", "RoleID": "",
                 "Arguments": [{"Name": "", "HelpText": "the status", "Type": "StaticList",
                                "Required": false, "Data": {"PossibleArguments": [
                                    {"Item": "online", "Hint": "", "HelpText": "Around"},
                                    {"Item": "offline", "Hint": "", "HelpText": "Gone"},
                                    {"Item": "dnd", "Hint": "", "HelpText": "Busy"}]}}],
                 "SubCommands": []},
                {"Trigger": "say", "Hint": "<text>", "HelpText": "Says it", "RoleID": "",
                 "Arguments": [{"Name": "", "HelpText": "what to say", "Type": "TextInput",
                                "Required": true, "Data": {"Hint": "text", "Pattern": ".+"}},
                               {"Name": "loud", "HelpText": "shout", "Type": "TextInput",
                                "Required": false, "Data": {"Hint": "", "Pattern": ""}}],
                 "SubCommands": []},
                {"Trigger": "reset", "Hint": "", "HelpText": "Admins only", "RoleID": "system_admin",
                 "Arguments": [], "SubCommands": []}
            ]
        }))
        .unwrap();
        Command {
            trigger: "demo".into(),
            autocomplete_data: Some(data),
            autocomplete_icon_data: "icon".into(),
            ..Command::default()
        }
    }

    fn completes(found: &[AutocompleteSuggestion]) -> Vec<&str> {
        found.iter().map(|s| s.complete.as_str()).collect()
    }

    #[test]
    fn triggers_then_sub_commands_then_arguments() {
        let echo = Command::new("echo", "Echo back");
        let commands = [echo, demo()];
        assert_eq!(completes(&suggest("", &commands, false)), ["demo", "echo"]);
        let found = suggest("DE", &commands, false);
        assert_eq!(completes(&found), ["demo"]);
        assert_eq!(found[0].icon_data, "icon");
        assert_eq!(
            completes(&suggest("demo ", &commands, false)),
            ["demo status", "demo say"]
        );
        assert_eq!(
            completes(&suggest("demo ", &commands, true)),
            ["demo status", "demo say", "demo reset"]
        );
        let found = suggest("demo status o", &commands, false);
        assert_eq!(
            completes(&found),
            ["demo status online", "demo status offline"]
        );
        assert_eq!(found[0].description, "Around");
        let found = suggest("demo say hel", &commands, false);
        assert_eq!(completes(&found), ["demo say hel"]);
        assert_eq!(found[0].hint, "text");
        assert_eq!(
            completes(&suggest("demo say hello --", &commands, false)),
            ["demo say hello --loud"]
        );
        assert!(suggest("demo nothing here", &commands, false).is_empty());
        assert!(suggest("nope", &commands, false).is_empty());
    }
}
