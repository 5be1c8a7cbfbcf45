//! Who may do what. Mattermost's rules, reduced to the roles Chorus has: system admins
//! may do anything; channel content (posts, members) is for channel members; an open
//! channel's metadata is visible to its team; users act for themselves only.

use super::auth::Auth;
use crate::error::{AppError, AppResult};
use crate::AppState;
use chorus_model::{Channel, Team, CHANNEL_OPEN};

/// `me` in a path means the caller.
pub fn resolve_user_id(param: &str, auth: &Auth) -> String {
    if param == "me" {
        auth.user.id.clone()
    } else {
        param.to_string()
    }
}

pub fn require_self_or_admin(auth: &Auth, user_id: &str) -> AppResult<()> {
    if auth.user.id == user_id || auth.is_admin() {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "You do not have the appropriate permissions: you can only do this for your own account.",
        ))
    }
}

pub fn require_admin(auth: &Auth) -> AppResult<()> {
    if auth.is_admin() {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "You do not have the appropriate permissions: this needs a system admin.",
        ))
    }
}

pub async fn load_channel(state: &AppState, channel_id: &str) -> AppResult<Channel> {
    super::extract::require_id(channel_id, "channel_id")?;
    state
        .store
        .get_channel(channel_id)
        .await?
        .filter(|c| c.delete_at == 0)
        .ok_or_else(|| AppError::not_found("app.channel.get.existing.app_error", "channel"))
}

pub async fn load_team(state: &AppState, team_id: &str) -> AppResult<Team> {
    super::extract::require_id(team_id, "team_id")?;
    state
        .store
        .get_team(team_id)
        .await?
        .ok_or_else(|| AppError::not_found("app.team.get.find.app_error", "team"))
}

pub async fn is_channel_member(
    state: &AppState,
    auth: &Auth,
    channel: &Channel,
) -> AppResult<bool> {
    Ok(state
        .store
        .get_channel_member(&channel.id, auth.user_id())
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

/// Reading and writing a channel's posts and members: members and admins.
pub async fn require_channel_member(
    state: &AppState,
    auth: &Auth,
    channel: &Channel,
) -> AppResult<()> {
    if auth.is_admin() || is_channel_member(state, auth, channel).await? {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "You do not have the appropriate permissions: you are not a member of this channel.",
        ))
    }
}

/// Seeing a channel exists: members, admins, and for open channels the team.
pub async fn require_channel_visible(
    state: &AppState,
    auth: &Auth,
    channel: &Channel,
) -> AppResult<()> {
    if auth.is_admin() || is_channel_member(state, auth, channel).await? {
        return Ok(());
    }
    if channel.channel_type == CHANNEL_OPEN
        && is_team_member(state, auth.user_id(), &channel.team_id).await?
    {
        return Ok(());
    }
    Err(AppError::forbidden(
        "You do not have the appropriate permissions to see this channel.",
    ))
}

/// Seeing a team: members, admins, and anyone for open teams.
pub async fn require_team_visible(state: &AppState, auth: &Auth, team: &Team) -> AppResult<()> {
    if auth.is_admin()
        || team.allow_open_invite
        || is_team_member(state, auth.user_id(), &team.id).await?
    {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "You do not have the appropriate permissions: you are not a member of this team.",
        ))
    }
}

pub async fn require_team_member(state: &AppState, auth: &Auth, team_id: &str) -> AppResult<()> {
    if auth.is_admin() || is_team_member(state, auth.user_id(), team_id).await? {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "You do not have the appropriate permissions: you are not a member of this team.",
        ))
    }
}
