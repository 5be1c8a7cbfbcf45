//! Slash commands: the registry of triggers and what each one runs.
//!
//! A command answers with a [`CommandResponse`]; the API layer turns `in_channel` text
//! into a post by the caller and `ephemeral` text into a message only the caller sees,
//! as Mattermost does, so that a command never needs to write posts itself. Built-in
//! commands are plain functions; the registry is keyed by trigger so that plugins can
//! add their own handlers beside them.

use chorus_model::{Command, CommandResponse, RESPONSE_TYPE_EPHEMERAL, RESPONSE_TYPE_IN_CHANNEL};
use std::collections::BTreeMap;
use std::sync::RwLock;

/// What runs when a trigger is invoked.
#[derive(Clone)]
pub enum CommandHandler {
    /// Built into the server: gets the text after the trigger.
    Builtin(fn(&str) -> CommandResponse),
    /// Registered by the plugin with this id: runs its `ExecuteCommand` hook.
    Plugin(String),
}

#[derive(Clone)]
pub struct RegisteredCommand {
    pub command: Command,
    pub handler: CommandHandler,
}

#[derive(Default)]
pub struct CommandRegistry {
    commands: RwLock<BTreeMap<String, RegisteredCommand>>,
}

impl CommandRegistry {
    pub fn with_builtins() -> CommandRegistry {
        let registry = CommandRegistry::default();
        registry.register(
            builtin("echo", "Echo back text from your account", "[text]"),
            CommandHandler::Builtin(echo),
        );
        registry.register(
            builtin("shrug", "Adds ¯\\_(ツ)_/¯ to your message", "[message]"),
            CommandHandler::Builtin(shrug),
        );
        registry
    }

    /// Adds or replaces a trigger (lower-cased, without the slash).
    pub fn register(&self, mut command: Command, handler: CommandHandler) {
        command.trigger = command.trigger.trim_start_matches('/').to_lowercase();
        self.commands
            .write()
            .expect("command registry lock")
            .insert(
                command.trigger.clone(),
                RegisteredCommand { command, handler },
            );
    }

    pub fn unregister(&self, trigger: &str) -> bool {
        self.commands
            .write()
            .expect("command registry lock")
            .remove(&trigger.trim_start_matches('/').to_lowercase())
            .is_some()
    }

    /// Removes every command a plugin registered (when it stops or crashes).
    pub fn unregister_plugin(&self, plugin_id: &str) {
        self.commands
            .write()
            .expect("command registry lock")
            .retain(|_, c| c.command.plugin_id != plugin_id);
    }

    pub fn get(&self, trigger: &str) -> Option<RegisteredCommand> {
        self.commands
            .read()
            .expect("command registry lock")
            .get(&trigger.to_lowercase())
            .cloned()
    }

    /// Every command, sorted by trigger, for autocomplete.
    pub fn list(&self) -> Vec<Command> {
        self.commands
            .read()
            .expect("command registry lock")
            .values()
            .map(|c| c.command.clone())
            .collect()
    }
}

/// Splits `/trigger rest of text` into the lower-cased trigger and the rest.
pub fn parse_command_line(line: &str) -> Option<(String, String)> {
    let line = line.trim_start().strip_prefix('/')?;
    let (trigger, rest) = match line.find(char::is_whitespace) {
        Some(at) => (&line[..at], line[at..].trim()),
        None => (line, ""),
    };
    if trigger.is_empty() {
        return None;
    }
    Some((trigger.to_lowercase(), rest.to_string()))
}

fn builtin(trigger: &str, description: &str, hint: &str) -> Command {
    Command {
        trigger: trigger.into(),
        auto_complete: true,
        auto_complete_desc: description.into(),
        auto_complete_hint: hint.into(),
        display_name: trigger.into(),
        description: description.into(),
        ..Command::default()
    }
}

fn echo(text: &str) -> CommandResponse {
    if text.is_empty() {
        return CommandResponse {
            response_type: RESPONSE_TYPE_EPHEMERAL.into(),
            text: "Usage: /echo [text]".into(),
            ..Default::default()
        };
    }
    CommandResponse {
        response_type: RESPONSE_TYPE_IN_CHANNEL.into(),
        text: text.into(),
        ..Default::default()
    }
}

fn shrug(text: &str) -> CommandResponse {
    let message = if text.is_empty() {
        "¯\\\\\\_(ツ)\\_/¯".to_string()
    } else {
        format!("{text} ¯\\\\\\_(ツ)\\_/¯")
    };
    CommandResponse {
        response_type: RESPONSE_TYPE_IN_CHANNEL.into(),
        text: message,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_trigger_and_rest() {
        assert_eq!(
            parse_command_line("/Echo  hello world "),
            Some(("echo".into(), "hello world".into()))
        );
        assert_eq!(
            parse_command_line("/echo"),
            Some(("echo".into(), "".into()))
        );
        assert_eq!(parse_command_line("echo"), None);
        assert_eq!(parse_command_line("/ x"), None);
    }

    #[test]
    fn registry_replaces_and_removes() {
        let registry = CommandRegistry::with_builtins();
        assert!(registry.get("echo").is_some());
        assert!(registry.unregister("/ECHO"));
        assert!(registry.get("echo").is_none());
        assert!(!registry.unregister("echo"));
    }
}
