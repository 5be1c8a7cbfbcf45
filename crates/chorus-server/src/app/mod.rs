//! The domain layer: every rule, permission check and validation of Chorus, written
//! once. The front doors (REST handlers in `api`, websocket actions in `ws`, slash
//! commands, the plugin API servers in `plugins`) parse what they receive, call an
//! operation here with an explicit [`Actor`], and shape the reply; none of them
//! decides who may do what. Operations fire plugin hooks and publish websocket events
//! (locally and over the cluster bus) from here, as Mattermost's `app` package does.
//!
//! Submodules, one per resource: `sessions` (tokens to signed-in users),
//! `access_tokens` (personal access tokens), `bots` (bot accounts), `users`,
//! `teams`, `channels`, `posts`, `reactions`, `files` (uploads and who may read them),
//! `interactive` (message buttons and menus, dialogs, ephemeral post updates),
//! `preferences`, `statuses` (presence, cluster-wide), `custom_statuses` (the emoji and text beside a name), `roles` (the built-in roles), `categories` (the channel sidebar),
//! `commands` (slash commands), `autocomplete` (suggestions as one types them), `custom_commands` (a team's commands served by URL), `config` (the running configuration), `plugins` (what
//! plugins may do through their API), `plugins_admin` (installing and enabling them),
//! `permissions` (the rules), `validate` (field rules), `webhooks` (incoming webhooks), `outgoing_webhooks` (posts sent to integrations),
//! `events` (who sees which websocket event).

pub mod access_tokens;
pub mod autocomplete;
pub mod bots;
pub mod categories;
pub mod channels;
pub mod commands;
pub mod config;
pub mod custom_commands;
pub mod custom_statuses;
pub mod directory;
pub mod events;
pub mod files;
pub mod interactive;
pub mod outgoing_webhooks;
pub mod permissions;
pub mod pins;
pub mod plugins;
pub mod plugins_admin;
pub mod posts;
pub mod preferences;
pub mod profile_images;
pub mod reactions;
pub mod roles;
pub mod search;
pub mod sessions;
pub mod statuses;
pub mod teams;
pub mod users;
pub mod validate;
pub mod webhooks;

pub use sessions::Auth;

use crate::plugins::HookContext;

/// Who asks for an operation. Permission checks look only at this.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    /// A signed-in user, through one of their sessions.
    User(&'a Auth),
    /// A plugin, through its API: it acts for the server, so membership rules do not
    /// bind it, but what it does is attributed to it.
    Plugin(&'a str),
    /// The server itself.
    System,
}

impl<'a> Actor<'a> {
    /// System admins, plugins and the server may do anything.
    pub fn is_admin(self) -> bool {
        match self {
            Actor::User(auth) => auth.is_admin(),
            Actor::Plugin(_) | Actor::System => true,
        }
    }

    /// The user acting, if a user is.
    pub fn user_id(self) -> Option<&'a str> {
        match self {
            Actor::User(auth) => Some(&auth.user.id),
            Actor::Plugin(_) | Actor::System => None,
        }
    }

    /// What hooks are told about who triggered them.
    pub fn hook_context(self) -> HookContext {
        match self {
            Actor::User(auth) => HookContext::for_user(&auth.user.id, &auth.session.id),
            Actor::Plugin(_) | Actor::System => HookContext::default(),
        }
    }
}
