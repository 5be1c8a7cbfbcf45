//! Teams: creating them, reading them (with what only their managers may see hidden),
//! and membership (joining and leaving). A new team gets the channels Mattermost users
//! expect (`town-square`, `off-topic`), and everyone who joins the team joins those
//! channels.

use super::events::event;
use super::permissions::{
    is_team_admin, load_team, require_self_or_admin, require_team_member, require_team_visible,
};
use super::validate::{self, require_id};
use super::{Actor, Auth};
use crate::error::{AppError, AppResult, Code};
use crate::AppState;
use chorus_model::{
    events, new_id, now_millis, Broadcast, Channel, Post, Team, TeamMember, TeamUnread,
    CHANNEL_OPEN, POST_TYPE_LEAVE_TEAM, POST_TYPE_REMOVE_FROM_TEAM, TEAM_INVITE, TEAM_OPEN,
};

/// Channels every team starts with, and every new team member joins.
pub const DEFAULT_CHANNELS: [(&str, &str); 2] =
    [("town-square", "Town Square"), ("off-topic", "Off-Topic")];

/// What a user asks for when creating a team.
#[derive(Debug, Default)]
pub struct TeamDraft {
    pub name: String,
    pub display_name: String,
    pub team_type: String,
    pub description: String,
    pub email: String,
    pub allow_open_invite: Option<bool>,
}

impl AppState {
    /// A team owned by `auth`'s user, with its default channels.
    pub async fn create_team(&self, auth: &Auth, draft: TeamDraft) -> AppResult<Team> {
        if !self.config.team_settings.enable_team_creation && !auth.is_admin() {
            return Err(AppError::forbidden(
                "Team creation is disabled on this server (TeamSettings.EnableTeamCreation).",
            ));
        }
        let name = draft.name.trim().to_string();
        validate::url_name("team", Code::TeamNameInvalid, &name)?;
        validate::display_name(Code::TeamNameInvalid, &draft.display_name)?;
        validate::max_len(
            Code::TeamDescriptionInvalid,
            "description",
            &draft.description,
            255,
        )?;
        let team_type = match draft.team_type.as_str() {
            "" | TEAM_OPEN => TEAM_OPEN,
            TEAM_INVITE => TEAM_INVITE,
            _ => {
                return Err(Code::TeamTypeInvalid
                    .with_message("type must be \"O\" (open) or \"I\" (invite only)."))
            }
        };
        let now = now_millis();
        let team = Team {
            id: new_id(),
            create_at: now,
            update_at: now,
            name,
            display_name: draft.display_name.trim().to_string(),
            description: draft.description,
            email: draft.email,
            team_type: team_type.to_string(),
            allow_open_invite: draft.allow_open_invite.unwrap_or(team_type == TEAM_OPEN),
            invite_id: new_id(),
            ..Team::default()
        };
        let channels: Vec<Channel> = DEFAULT_CHANNELS
            .iter()
            .map(|(name, display_name)| Channel {
                id: new_id(),
                create_at: now,
                update_at: now,
                team_id: team.id.clone(),
                channel_type: CHANNEL_OPEN.into(),
                name: name.to_string(),
                display_name: display_name.to_string(),
                creator_id: auth.user.id.clone(),
                ..Channel::default()
            })
            .collect();
        self.store
            .create_team(&team, auth.user_id(), &channels)
            .await
            .map_err(|err| {
                if err.is_unique_violation() {
                    Code::TeamNameTaken.with_message("A team with that name already exists.")
                } else {
                    err.into()
                }
            })?;
        Ok(team)
    }

    pub async fn get_team(&self, actor: Actor<'_>, team_id: &str) -> AppResult<Team> {
        let team = load_team(self, team_id).await?;
        require_team_visible(self, actor, &team).await?;
        self.sanitize_team(actor, team).await
    }

    pub async fn team_by_name(&self, actor: Actor<'_>, name: &str) -> AppResult<Team> {
        let team = self
            .store
            .get_team_by_name(name)
            .await?
            .ok_or_else(|| AppError::from(Code::TeamNameNotFound))?;
        require_team_visible(self, actor, &team).await?;
        self.sanitize_team(actor, team).await
    }

    /// Hides what only those who manage a team may see (its invite id, which lets
    /// anyone join, and its contact email), as Mattermost's `Team.Sanitize` does for
    /// users without `manage_team`.
    async fn sanitize_team(&self, actor: Actor<'_>, mut team: Team) -> AppResult<Team> {
        if actor.is_admin() {
            return Ok(team);
        }
        let manages = match actor.user_id() {
            Some(me) => is_team_admin(self, me, &team.id).await?,
            None => false,
        };
        if !manages {
            team.invite_id.clear();
            team.email.clear();
        }
        Ok(team)
    }

    async fn sanitize_teams(&self, actor: Actor<'_>, teams: Vec<Team>) -> AppResult<Vec<Team>> {
        let mut sanitized = Vec::with_capacity(teams.len());
        for team in teams {
            sanitized.push(self.sanitize_team(actor, team).await?);
        }
        Ok(sanitized)
    }

    pub async fn teams_for_user(&self, actor: Actor<'_>, user_id: &str) -> AppResult<Vec<Team>> {
        require_id(user_id, "user_id")?;
        require_self_or_admin(actor, user_id)?;
        let teams = self.store.teams_for_user(user_id).await?;
        self.sanitize_teams(actor, teams).await
    }

    /// `GET /users/{id}/teams/members`: the user's memberships, left ones included.
    pub async fn team_members_of_user(
        &self,
        actor: Actor<'_>,
        user_id: &str,
    ) -> AppResult<Vec<TeamMember>> {
        require_id(user_id, "user_id")?;
        require_self_or_admin(actor, user_id)?;
        Ok(self.store.team_members_of_user(user_id).await?)
    }

    /// `GET /users/{id}/teams/unread`: unread messages and mentions per team. Thread
    /// counts stay 0: Chorus does not offer collapsed reply threads yet.
    pub async fn teams_unread(
        &self,
        actor: Actor<'_>,
        user_id: &str,
        exclude_team: &str,
    ) -> AppResult<Vec<TeamUnread>> {
        require_id(user_id, "user_id")?;
        require_self_or_admin(actor, user_id)?;
        let mut unread = self.store.teams_unread(user_id).await?;
        unread.retain(|team| team.team_id != exclude_team);
        Ok(unread)
    }

    /// Every team for admins; for others the open teams (which they may join) and the
    /// teams they belong to.
    pub async fn visible_teams(
        &self,
        actor: Actor<'_>,
        page: i64,
        per_page: i64,
    ) -> AppResult<Vec<Team>> {
        let teams = self
            .store
            .visible_teams(
                actor.user_id().unwrap_or_default(),
                actor.is_admin(),
                page * per_page,
                per_page,
            )
            .await?;
        self.sanitize_teams(actor, teams).await
    }

    /// Adds a user to a team and its default channels: admins and team admins add
    /// anyone, users join open teams themselves.
    pub async fn add_team_member(
        &self,
        actor: Actor<'_>,
        team_id: &str,
        user_id: &str,
    ) -> AppResult<TeamMember> {
        let team = load_team(self, team_id).await?;
        let target = self.require_user(user_id).await?;
        let me = actor.user_id().unwrap_or_default();
        let team_admin = is_team_admin(self, me, &team.id).await?;
        let joining_open_team = target.id == me && team.allow_open_invite;
        if !(actor.is_admin() || team_admin || joining_open_team) {
            return Err(AppError::forbidden(
                "You do not have the appropriate permissions to add members to this team.",
            ));
        }
        let default_names: Vec<&str> = DEFAULT_CHANNELS.iter().map(|(name, _)| *name).collect();
        let (member, is_new) = self
            .store
            .add_team_member(&team.id, &target.id, &default_names)
            .await?;
        if is_new {
            self.plugins
                .user_has_joined_team(&actor.hook_context(), &team.id, &target.id, me);
            self.publish(event(
                events::ADDED_TO_TEAM,
                serde_json::json!({"team_id": team.id, "user_id": target.id}),
                Broadcast::to_user(&target.id),
            ))
            .await?;
            for name in default_names {
                if let Some(channel) = self.store.get_channel_by_name(&team.id, name).await? {
                    self.publish(event(
                        events::USER_ADDED,
                        serde_json::json!({"user_id": target.id, "team_id": team.id}),
                        Broadcast::to_channel(&channel.id),
                    ))
                    .await?;
                }
            }
        }
        Ok(member)
    }

    /// Takes a user out of a team: they leave themselves, team admins and admins
    /// remove anyone. The user leaves every channel of the team at once, as in
    /// Mattermost (no `user_removed` per channel: `leave_team` tells the team and the
    /// user); the team's default channel is told who left, and plugins get
    /// `UserHasLeftTeam`. A plugin may name who asked in `requestor_id`.
    pub async fn remove_team_member(
        &self,
        actor: Actor<'_>,
        team_id: &str,
        user_id: &str,
        requestor_id: Option<&str>,
    ) -> AppResult<()> {
        let team = load_team(self, team_id).await?;
        let user = self.any_user(user_id).await?;
        let me = match actor {
            Actor::User(auth) => auth.user.id.as_str(),
            Actor::Plugin(_) | Actor::System => requestor_id.unwrap_or_default(),
        };
        if user.id != me && !actor.is_admin() && !is_team_admin(self, me, &team.id).await? {
            return Err(AppError::forbidden(
                "You do not have the appropriate permissions: only team admins remove other members.",
            ));
        }
        let Some(member) = self
            .store
            .remove_team_member(&team.id, &user.id, now_millis())
            .await?
        else {
            return Err(Code::NotTeamMember.into());
        };
        let data = serde_json::json!({"user_id": user.id, "team_id": team.id});
        let to_team = Broadcast {
            omit_users: Some([(user.id.clone(), true)].into_iter().collect()),
            ..Broadcast::to_team(&team.id)
        };
        self.publish(event(events::LEAVE_TEAM, data.clone(), to_team))
            .await?;
        self.publish(event(
            events::LEAVE_TEAM,
            data,
            Broadcast::to_user(&user.id),
        ))
        .await?;
        let (post_type, message) = if user.id == me {
            (
                POST_TYPE_LEAVE_TEAM,
                format!("{} left the team.", user.username),
            )
        } else {
            (
                POST_TYPE_REMOVE_FROM_TEAM,
                format!("{} removed from the team.", user.username),
            )
        };
        if let Some(town_square) = self
            .store
            .get_channel_by_name(&team.id, DEFAULT_CHANNELS[0].0)
            .await?
            .filter(|c| c.delete_at == 0)
        {
            let mut props = serde_json::Map::new();
            props.insert("username".into(), user.username.clone().into());
            let post = Post {
                channel_id: town_square.id,
                user_id: user.id.clone(),
                post_type: post_type.into(),
                message,
                props,
                ..Post::default()
            };
            // The member has gone either way; a message that cannot be posted is only
            // logged, as in Mattermost.
            if let Err(err) = self.create_post(Actor::System, post).await {
                tracing::warn!(team_id = %team.id, user_id = %user.id, error = %err, "cannot post that a user left the team");
            }
        }
        self.plugins
            .user_has_left_team(&actor.hook_context(), &member.team_id, &user.id, me);
        Ok(())
    }

    pub async fn team_members(
        &self,
        actor: Actor<'_>,
        team_id: &str,
        page: i64,
        per_page: i64,
    ) -> AppResult<Vec<TeamMember>> {
        let team = load_team(self, team_id).await?;
        require_team_member(self, actor, &team.id).await?;
        Ok(self.store.team_members(&team.id, page, per_page).await?)
    }
}
