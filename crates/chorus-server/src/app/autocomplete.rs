//! Suggestions while a slash command is typed
//! (`GET /teams/{id}/commands/autocomplete_suggestions`), from the commands'
//! [`AutocompleteData`] as Mattermost computes them: the triggers that start with
//! what was typed, then a command's sub-commands, then its arguments (a text input's
//! hint, a static list's items, a dynamic list's items fetched from the command's
//! plugin, `--name` for named arguments). Commands without data
//! (built-in, custom, or plugins' that give none) suggest their trigger, hint and
//! description.

use super::permissions::require_team_member;
use super::validate::require_id;
use super::Actor;
use crate::error::{AppError, AppResult};
use crate::plugins::ServerPluginRequest;
use crate::AppState;
use chorus_model::{
    AutocompleteArg, AutocompleteData, AutocompleteSuggestion, Command, AUTOCOMPLETE_DYNAMIC_LIST,
    AUTOCOMPLETE_STATIC_LIST, AUTOCOMPLETE_TEXT_INPUT,
};

const ROLE_ADMIN: &str = "system_admin";
/// The most a plugin's dynamic list may weigh.
const DYNAMIC_LIST_MAX_BYTES: usize = 256 * 1024;

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

/// What suggesting needs: the suggestions, or a dynamic list to fetch from the
/// command's plugin first.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    Ready(Vec<AutocompleteSuggestion>),
    Fetch(DynamicList),
}

/// A dynamic list argument being typed: where its items come from and how to show
/// the matching ones.
#[derive(Debug, PartialEq)]
pub struct DynamicList {
    pub plugin_id: String,
    pub fetch_url: String,
    /// The line before the argument, and what was typed of it.
    pub parsed: String,
    pub typed: String,
    pub icon_data: String,
}

impl Outcome {
    fn map(self, f: impl FnOnce(&mut Vec<AutocompleteSuggestion>)) -> Outcome {
        match self {
            Outcome::Ready(mut found) => {
                f(&mut found);
                Outcome::Ready(found)
            }
            fetch => fetch,
        }
    }
}

/// The items of a static (or fetched dynamic) list that start with `typed`.
fn list_items(parsed: &str, typed: &str, items: &serde_json::Value) -> Vec<AutocompleteSuggestion> {
    let typed = typed.to_lowercase();
    items
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

/// What to suggest for `input` (the command line without its slash).
pub fn suggest(input: &str, commands: &[Command], admin: bool) -> Outcome {
    let mut all: Vec<(AutocompleteData, &Command)> = commands
        .iter()
        .filter(|c| c.auto_complete || c.autocomplete_data.is_some())
        .map(|c| (data_of(c), c))
        .collect();
    all.sort_by_key(|(data, _)| data.trigger.to_lowercase());
    let mut found = Vec::new();
    match input.split_once(' ') {
        None => {
            let typed = input.to_lowercase();
            for (data, command) in &all {
                if visible(data, admin) && data.trigger.to_lowercase().starts_with(&typed) {
                    found.push(AutocompleteSuggestion {
                        complete: data.trigger.clone(),
                        suggestion: data.trigger.clone(),
                        hint: data.hint.clone(),
                        description: data.help_text.clone(),
                        icon_data: command.autocomplete_icon_data.clone(),
                    });
                }
            }
        }
        Some((first, rest)) => {
            let first = first.to_lowercase();
            if let Some((data, command)) = all
                .iter()
                .find(|(d, _)| visible(d, admin) && d.trigger.to_lowercase() == first)
            {
                let icon = command.autocomplete_icon_data.clone();
                return match suggest_within(&format!("{first} "), rest, data, admin) {
                    Outcome::Fetch(list) => Outcome::Fetch(DynamicList {
                        plugin_id: command.plugin_id.clone(),
                        icon_data: icon,
                        ..list
                    }),
                    ready => ready.map(|found| {
                        for suggestion in found {
                            suggestion.icon_data = icon.clone();
                        }
                    }),
                };
            }
        }
    }
    Outcome::Ready(found)
}

/// Suggestions inside one command or sub-command; `parsed` is the line so far.
fn suggest_within(parsed: &str, rest: &str, data: &AutocompleteData, admin: bool) -> Outcome {
    if data.sub_commands.is_empty() {
        return suggest_arguments(parsed, rest, &data.arguments);
    }
    match rest.split_once(' ') {
        None => {
            let typed = rest.to_lowercase();
            let found = data
                .sub_commands
                .iter()
                .filter(|s| visible(s, admin) && s.trigger.to_lowercase().starts_with(&typed))
                .map(|s| AutocompleteSuggestion {
                    complete: format!("{parsed}{}", s.trigger),
                    suggestion: s.trigger.clone(),
                    hint: s.hint.clone(),
                    description: s.help_text.clone(),
                    icon_data: String::new(),
                })
                .collect();
            Outcome::Ready(found)
        }
        Some((word, after)) => data
            .sub_commands
            .iter()
            .find(|s| visible(s, admin) && s.trigger.eq_ignore_ascii_case(word))
            .map(|s| suggest_within(&format!("{parsed}{word} "), after, s, admin))
            .unwrap_or(Outcome::Ready(Vec::new())),
    }
}

/// Suggestions for the argument being typed, after the complete ones before it.
fn suggest_arguments(parsed: &str, rest: &str, arguments: &[AutocompleteArg]) -> Outcome {
    let Some((argument, later)) = arguments.split_first() else {
        return Outcome::Ready(Vec::new());
    };
    if let Some((word, after)) = rest.split_once(' ') {
        // This argument is complete: go on with the next one.
        return suggest_arguments(&format!("{parsed}{word} "), after, later);
    }
    if !argument.name.is_empty() {
        let flag = format!("--{}", argument.name);
        let found = if flag.starts_with(rest) {
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
        return Outcome::Ready(found);
    }
    let text = |field: &str| {
        argument.data[field]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    match argument.arg_type.as_str() {
        AUTOCOMPLETE_TEXT_INPUT => Outcome::Ready(vec![AutocompleteSuggestion {
            complete: format!("{parsed}{rest}"),
            suggestion: String::new(),
            hint: text("Hint"),
            description: argument.help_text.clone(),
            icon_data: String::new(),
        }]),
        AUTOCOMPLETE_STATIC_LIST => Outcome::Ready(list_items(
            parsed,
            rest,
            &argument.data["PossibleArguments"],
        )),
        AUTOCOMPLETE_DYNAMIC_LIST => Outcome::Fetch(DynamicList {
            plugin_id: String::new(),
            fetch_url: text("FetchURL"),
            parsed: parsed.to_string(),
            typed: rest.to_string(),
            icon_data: String::new(),
        }),
        _ => Outcome::Ready(Vec::new()),
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
        match suggest(input, &commands, actor.is_admin()) {
            Outcome::Ready(found) => Ok(found),
            Outcome::Fetch(list) => Ok(self.fetch_dynamic_list(actor, team_id, list).await),
        }
    }

    /// A dynamic list's items, from the plugin's HTTP handler at `FetchURL` (a path
    /// of the plugin), asked with Mattermost's query parameters; nothing when the
    /// plugin does not answer a JSON list in time.
    async fn fetch_dynamic_list(
        &self,
        actor: Actor<'_>,
        team_id: &str,
        list: DynamicList,
    ) -> Vec<AutocompleteSuggestion> {
        let user_id = actor.user_id().unwrap_or_default();
        let path = match list.fetch_url.split_once('?') {
            Some((path, _)) => path,
            None => list.fetch_url.as_str(),
        };
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("user_input", &format!("{}{}", list.parsed, list.typed))
            .append_pair("parsed", &list.parsed)
            .append_pair("team_id", team_id)
            .append_pair("user_id", user_id)
            .finish();
        let path = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };
        let Some((200, body)) = self
            .plugins
            .call_plugin_http(
                &list.plugin_id,
                ServerPluginRequest {
                    method: "GET",
                    path: &path,
                    query: &query,
                    user_id,
                    content_type: None,
                    body: &[],
                },
                DYNAMIC_LIST_MAX_BYTES,
            )
            .await
        else {
            return Vec::new();
        };
        let items: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let mut found = list_items(&list.parsed, &list.typed, &items);
        for suggestion in &mut found {
            suggestion.icon_data = list.icon_data.clone();
        }
        found
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
                {"Trigger": "pick", "Hint": "<choice>", "HelpText": "Pick one", "RoleID": "",
                 "Arguments": [{"Name": "", "HelpText": "a choice", "Type": "DynamicList",
                                "Required": true, "Data": {"FetchURL": "/choices"}}],
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
            plugin_id: "com.example.demo".into(),
            ..Command::default()
        }
    }

    fn ready(outcome: Outcome) -> Vec<AutocompleteSuggestion> {
        match outcome {
            Outcome::Ready(found) => found,
            Outcome::Fetch(list) => panic!("expected suggestions, got a fetch of {list:?}"),
        }
    }

    fn completes(outcome: Outcome) -> Vec<String> {
        ready(outcome).into_iter().map(|s| s.complete).collect()
    }

    #[test]
    fn triggers_then_sub_commands_then_arguments() {
        let echo = Command::new("echo", "Echo back");
        let commands = [echo, demo()];
        assert_eq!(completes(suggest("", &commands, false)), ["demo", "echo"]);
        let found = ready(suggest("DE", &commands, false));
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].complete.as_str(), found[0].icon_data.as_str()),
            ("demo", "icon")
        );
        assert_eq!(
            completes(suggest("demo ", &commands, false)),
            ["demo status", "demo say", "demo pick"]
        );
        assert_eq!(
            completes(suggest("demo ", &commands, true)),
            ["demo status", "demo say", "demo pick", "demo reset"]
        );
        let found = ready(suggest("demo status o", &commands, false));
        assert_eq!(
            found
                .iter()
                .map(|s| s.complete.as_str())
                .collect::<Vec<_>>(),
            ["demo status online", "demo status offline"]
        );
        assert_eq!(found[0].description, "Around");
        let found = ready(suggest("demo say hel", &commands, false));
        assert_eq!(
            (found[0].complete.as_str(), found[0].hint.as_str()),
            ("demo say hel", "text")
        );
        assert_eq!(
            completes(suggest("demo say hello --", &commands, false)),
            ["demo say hello --loud"]
        );
        assert_eq!(
            suggest("demo pick ab", &commands, false),
            Outcome::Fetch(DynamicList {
                plugin_id: "com.example.demo".into(),
                fetch_url: "/choices".into(),
                parsed: "demo pick ".into(),
                typed: "ab".into(),
                icon_data: "icon".into(),
            })
        );
        assert!(completes(suggest("demo nothing here", &commands, false)).is_empty());
        assert!(completes(suggest("nope", &commands, false)).is_empty());
    }

    #[test]
    fn list_items_match_what_was_typed() {
        let items = json!([{"Item": "Alpha", "Hint": "h", "HelpText": "first"},
                           {"Item": "beta", "Hint": "", "HelpText": ""}, {"no": "item"}]);
        let found = list_items("cmd ", "al", &items);
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].complete.as_str(), found[0].description.as_str()),
            ("cmd Alpha", "first")
        );
        assert_eq!(list_items("cmd ", "", &items).len(), 2);
        assert!(list_items("cmd ", "x", &json!("not a list")).is_empty());
    }
}
