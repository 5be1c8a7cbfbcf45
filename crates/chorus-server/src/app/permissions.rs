//! Who may do what. Mattermost's rules, reduced to the roles Chorus has: system admins
//! (and plugins and the server itself) may do anything; channel content (posts,
//! members) is for channel members; an open channel's metadata is visible to its team;
//! users act for themselves only.

use super::validate::require_id;
use super::Actor;
use crate::error::{AppError, AppResult, Code};
use crate::AppState;
use chorus_model::{Channel, Team, CHANNEL_OPEN};

/// Where a permission is asked about: the system, a team, or a channel.
#[derive(Debug, Clone, Copy)]
pub enum PermissionScope<'a> {
    System,
    Team(&'a str),
    Channel(&'a str),
}

impl AppState {
    /// Whether a user holds a Mattermost permission: through their system roles, and in
    /// a team or channel also through their membership roles there (a channel's team
    /// roles count in the channel), as Mattermost's `HasPermissionTo…` do. A
    /// deactivated or unknown user holds none.
    pub async fn user_has_permission(
        &self,
        user_id: &str,
        permission: &str,
        scope: PermissionScope<'_>,
    ) -> AppResult<bool> {
        require_id(user_id, "user_id")?;
        let Some(user) = self.store.get_user(user_id).await? else {
            return Ok(false);
        };
        if user.delete_at != 0 {
            return Ok(false);
        }
        if super::roles::roles_grant(&user.roles, permission) {
            return Ok(true);
        }
        let (team_id, channel_roles) = match scope {
            PermissionScope::System => return Ok(false),
            PermissionScope::Team(team_id) => {
                require_id(team_id, "team_id")?;
                (team_id.to_string(), String::new())
            }
            PermissionScope::Channel(channel_id) => {
                let channel = load_channel(self, channel_id).await?;
                let roles = self
                    .store
                    .get_channel_member(&channel.id, user_id)
                    .await?
                    .map(|m| m.roles)
                    .unwrap_or_default();
                (channel.team_id, roles)
            }
        };
        if super::roles::roles_grant(&channel_roles, permission) {
            return Ok(true);
        }
        if team_id.is_empty() {
            return Ok(false);
        }
        let team_roles = self
            .store
            .get_team_member(&team_id, user_id)
            .await?
            .filter(|m| m.delete_at == 0)
            .map(|m| m.roles)
            .unwrap_or_default();
        Ok(super::roles::roles_grant(&team_roles, permission))
    }
}

/// `me` in a path means the caller.
pub fn resolve_user_id(param: &str, actor: Actor<'_>) -> String {
    match actor.user_id() {
        Some(me) if param == "me" => me.to_string(),
        _ => param.to_string(),
    }
}

pub fn require_self_or_admin(actor: Actor<'_>, user_id: &str) -> AppResult<()> {
    if actor.user_id() == Some(user_id) || actor.is_admin() {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "You do not have the appropriate permissions: you can only do this for your own account.",
        ))
    }
}

pub fn require_admin(actor: Actor<'_>) -> AppResult<()> {
    if actor.is_admin() {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "You do not have the appropriate permissions: this needs a system admin.",
        ))
    }
}

/// A live channel, or Mattermost's 404.
pub async fn load_channel(state: &AppState, channel_id: &str) -> AppResult<Channel> {
    require_id(channel_id, "channel_id")?;
    state
        .store
        .get_channel(channel_id)
        .await?
        .filter(|c| c.delete_at == 0)
        .ok_or_else(|| Code::ChannelNotFound.into())
}

pub async fn load_team(state: &AppState, team_id: &str) -> AppResult<Team> {
    require_id(team_id, "team_id")?;
    state
        .store
        .get_team(team_id)
        .await?
        .ok_or_else(|| Code::TeamNotFound.into())
}

pub async fn is_channel_member(
    state: &AppState,
    actor: Actor<'_>,
    channel: &Channel,
) -> AppResult<bool> {
    let Some(user_id) = actor.user_id() else {
        return Ok(false);
    };
    Ok(state
        .store
        .get_channel_member(&channel.id, user_id)
        .await?
        .is_some())
}

pub async fn is_team_member(state: &AppState, user_id: &str, team_id: &str) -> AppResult<bool> {
    Ok(state
        .store
        .get_team_member(team_id, user_id)
        .await?
        .is_some())
}

/// Whether `user_id` administers the team (its creator, or one made team admin).
pub async fn is_team_admin(state: &AppState, user_id: &str, team_id: &str) -> AppResult<bool> {
    Ok(state
        .store
        .get_team_member(team_id, user_id)
        .await?
        .is_some_and(|m| m.scheme_admin))
}

/// Managing a team's integrations (webhooks, custom commands): system admins and the
/// team's admins.
pub async fn require_team_admin(
    state: &AppState,
    actor: Actor<'_>,
    team_id: &str,
    what: &str,
) -> AppResult<()> {
    if actor.is_admin() {
        return Ok(());
    }
    match actor.user_id() {
        Some(me) if is_team_admin(state, me, team_id).await? => Ok(()),
        _ => Err(AppError::forbidden(format!(
            "Only team admins and system admins manage {what}."
        ))),
    }
}

async fn actor_in_team(state: &AppState, actor: Actor<'_>, team_id: &str) -> AppResult<bool> {
    match actor.user_id() {
        Some(user_id) => is_team_member(state, user_id, team_id).await,
        None => Ok(false),
    }
}

/// A live channel whose posts and members the actor may read and write (members and
/// admins), loaded and checked in one query.
pub async fn load_member_channel(
    state: &AppState,
    actor: Actor<'_>,
    channel_id: &str,
) -> AppResult<Channel> {
    require_id(channel_id, "channel_id")?;
    let (channel, is_member) = state
        .store
        .get_channel_with_member(channel_id, actor.user_id().unwrap_or_default())
        .await?
        .filter(|(c, _)| c.delete_at == 0)
        .ok_or_else(|| AppError::from(Code::ChannelNotFound))?;
    if is_member || actor.is_admin() {
        Ok(channel)
    } else {
        Err(not_a_member())
    }
}

fn not_a_member() -> AppError {
    AppError::forbidden(
        "You do not have the appropriate permissions: you are not a member of this channel.",
    )
}

/// Reading and writing a channel's posts and members: members and admins.
pub async fn require_channel_member(
    state: &AppState,
    actor: Actor<'_>,
    channel: &Channel,
) -> AppResult<()> {
    if actor.is_admin() || is_channel_member(state, actor, channel).await? {
        Ok(())
    } else {
        Err(not_a_member())
    }
}

/// Seeing a channel exists: members, admins, and for open channels the team.
pub async fn require_channel_visible(
    state: &AppState,
    actor: Actor<'_>,
    channel: &Channel,
) -> AppResult<()> {
    if actor.is_admin() || is_channel_member(state, actor, channel).await? {
        return Ok(());
    }
    if channel.channel_type == CHANNEL_OPEN && actor_in_team(state, actor, &channel.team_id).await?
    {
        return Ok(());
    }
    Err(AppError::forbidden(
        "You do not have the appropriate permissions to see this channel.",
    ))
}

/// Seeing a team: members, admins, and anyone for open teams.
pub async fn require_team_visible(
    state: &AppState,
    actor: Actor<'_>,
    team: &Team,
) -> AppResult<()> {
    if actor.is_admin() || team.allow_open_invite || actor_in_team(state, actor, &team.id).await? {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "You do not have the appropriate permissions: you are not a member of this team.",
        ))
    }
}

pub async fn require_team_member(
    state: &AppState,
    actor: Actor<'_>,
    team_id: &str,
) -> AppResult<()> {
    if actor.is_admin() || actor_in_team(state, actor, team_id).await? {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "You do not have the appropriate permissions: you are not a member of this team.",
        ))
    }
}
