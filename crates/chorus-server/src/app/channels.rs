//! Channels: open and private channels, direct messages, membership and read
//! positions, with the `channel_created`, `direct_added`, `user_added`,
//! `user_removed`, `channel_updated` and `channel_viewed` events, the system messages
//! of a channel's changes, and the channel hooks.

use super::events::{event, json_text};
use super::permissions::{
    is_channel_member, is_team_member, load_channel, load_member_channel, load_team,
    require_channel_member, require_channel_visible, require_self_or_admin, require_team_member,
};
use super::teams::DEFAULT_CHANNELS;
use super::validate::{self, require_id};
use super::Actor;
use crate::error::{AppError, AppResult, Code};
use crate::plugins::HookContext;
use crate::AppState;
use chorus_model::{
    events, new_id, now_millis, Broadcast, Channel, ChannelMember, ChannelUnread, Post, User,
    CHANNEL_DIRECT, CHANNEL_NOTIFY_KEYS, CHANNEL_OPEN, CHANNEL_PRIVATE, MARK_UNREAD_MENTION,
    POST_TYPE_DISPLAYNAME_CHANGE, POST_TYPE_HEADER_CHANGE, POST_TYPE_PURPOSE_CHANGE,
};

/// What a user asks for when creating a channel.
#[derive(Debug, Default)]
pub struct ChannelDraft {
    pub team_id: String,
    pub name: String,
    pub display_name: String,
    pub channel_type: String,
    pub header: String,
    pub purpose: String,
    /// Who made it: the signed-in user; a plugin may name a user, who becomes its first
    /// member.
    pub creator_id: String,
}

/// What a channel update changes; `None` keeps the old value. `channel_type`, when
/// given, must be the channel's own (privacy changes have their own route).
#[derive(Debug, Default)]
pub struct ChannelPatch {
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub header: Option<String>,
    pub purpose: Option<String>,
    pub channel_type: Option<String>,
}

/// One channel notify prop's value, by Mattermost's `IsChannelMemberNotifyPropsValid`.
fn check_channel_notify_prop(key: &str, value: &str) -> AppResult<()> {
    let (allowed, code): (&[&str], Code) = match key {
        "desktop" => (
            &["default", "all", "mention", "none"],
            Code::NotifyLevelInvalid,
        ),
        "mark_unread" => (&["all", MARK_UNREAD_MENTION], Code::UnreadLevelInvalid),
        "push" => (
            &["default", "all", "mention", "none"],
            Code::PushLevelInvalid,
        ),
        "email" => (&["default", "true", "false"], Code::EmailValueInvalid),
        "ignore_channel_mentions" => (
            &["default", "on", "off"],
            Code::IgnoreChannelMentionsInvalid,
        ),
        "channel_auto_follow_threads" => (&["on", "off"], Code::AutoFollowThreadsInvalid),
        // Sounds and thread settings are free text in Mattermost; kept short here.
        _ if value.len() > NOTIFY_VALUE_MAX => return Err(Code::NotifyPropsTooLarge.into()),
        _ => return Ok(()),
    };
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(code.with_message(format!(
            "{key} cannot be {value:?}: it is one of {}.",
            allowed.join(", ")
        )))
    }
}

/// Longest value of a free-text notify prop (a sound's name).
const NOTIFY_VALUE_MAX: usize = 100;

/// A store failure, as Mattermost's "name taken" when another channel of the team has
/// the name.
fn name_taken_or(err: crate::store::StoreError) -> AppError {
    if err.is_unique_violation() {
        Code::ChannelNameTaken
            .with_message("A channel with that name already exists on the same team.")
    } else {
        err.into()
    }
}

/// The system message telling a channel that `what` changed from `old` to `new`, in
/// Mattermost's words.
fn change_message(username: &str, what: &str, old: &str, new: &str) -> String {
    match (old.is_empty(), new.is_empty()) {
        (true, _) => format!("{username} updated the channel {what} to: {new}"),
        (false, true) => format!("{username} removed the channel {what} (was: {old})"),
        (false, false) => format!("{username} updated the channel {what} from: {old} to: {new}"),
    }
}

impl AppState {
    /// An open or private channel in a team the actor belongs to; the creator is its
    /// first member.
    pub async fn create_channel(
        &self,
        actor: Actor<'_>,
        draft: ChannelDraft,
    ) -> AppResult<Channel> {
        let creator_id = match actor {
            Actor::User(auth) => auth.user.id.clone(),
            Actor::Plugin(_) | Actor::System if draft.creator_id.is_empty() => String::new(),
            Actor::Plugin(_) | Actor::System => self.require_user(&draft.creator_id).await?.id,
        };
        require_id(&draft.team_id, "team_id")?;
        let team = load_team(self, &draft.team_id).await?;
        require_team_member(self, actor, &team.id).await?;
        let name = draft.name.trim().to_string();
        validate::url_name("channel", Code::ChannelNameInvalid, &name)?;
        validate::display_name(Code::ChannelDisplayNameInvalid, &draft.display_name)?;
        validate::max_len(
            Code::ChannelHeaderInvalid,
            "header",
            &draft.header,
            validate::HEADER_MAX,
        )?;
        validate::max_len(
            Code::ChannelPurposeInvalid,
            "purpose",
            &draft.purpose,
            validate::PURPOSE_MAX,
        )?;
        let channel_type = match draft.channel_type.as_str() {
            CHANNEL_OPEN | CHANNEL_PRIVATE => draft.channel_type.clone(),
            _ => {
                return Err(Code::ChannelTypeInvalid.with_message(
                    "type must be \"O\" (open) or \"P\" (private); use /channels/direct for direct messages.",
                ))
            }
        };
        let now = now_millis();
        let channel = Channel {
            id: new_id(),
            create_at: now,
            update_at: now,
            team_id: team.id.clone(),
            channel_type,
            name,
            display_name: draft.display_name.trim().to_string(),
            header: draft.header,
            purpose: draft.purpose,
            creator_id: creator_id.clone(),
            ..Channel::default()
        };
        // A plugin's channel starts empty, as in Mattermost (its creator is recorded only).
        let members: Vec<&str> = actor.user_id().into_iter().collect();
        self.store
            .create_channel(&channel, &members)
            .await
            .map_err(name_taken_or)?;
        let audience = match (channel.channel_type == CHANNEL_OPEN, members.first()) {
            (true, _) => Some(Broadcast::to_team(&team.id)),
            (false, Some(member)) => Some(Broadcast::to_user(*member)),
            // A private channel nobody is in yet: nobody to tell.
            (false, None) => None,
        };
        if let Some(audience) = audience {
            self.publish(event(
                events::CHANNEL_CREATED,
                serde_json::json!({"channel_id": channel.id, "team_id": team.id}),
                audience,
            ))
            .await?;
        }
        self.plugins
            .channel_has_been_created(&actor.hook_context(), &channel);
        Ok(channel)
    }

    /// Renames a channel or changes its header or purpose: its members (channel users
    /// hold `manage_*_channel_properties` by default) and admins may. A direct
    /// channel keeps its name and display name. Members see `channel_updated`; a user's change of the
    /// display name, header or purpose is also announced in the channel by a system
    /// message, as Mattermost's `PatchChannel` does (a plugin's is not, as there).
    pub async fn update_channel(
        &self,
        actor: Actor<'_>,
        channel_id: &str,
        patch: ChannelPatch,
    ) -> AppResult<Channel> {
        require_id(channel_id, "channel_id")?;
        let old = self
            .store
            .get_channel(channel_id)
            .await?
            .ok_or_else(|| AppError::from(Code::ChannelNotFound))?;
        if old.delete_at != 0 {
            return Err(Code::ChannelUpdateDeleted.into());
        }
        if !actor.is_admin() && !is_channel_member(self, actor, &old).await? {
            return Err(if old.channel_type == CHANNEL_DIRECT {
                Code::ChannelPatchForbidden.into()
            } else {
                AppError::forbidden(
                    "You do not have the appropriate permissions: only members of a channel may change it.",
                )
            });
        }
        if patch
            .channel_type
            .as_deref()
            .is_some_and(|t| !t.is_empty() && t != old.channel_type)
        {
            return Err(Code::ChannelTypeChange.into());
        }
        let mut channel = old.clone();
        if let Some(name) = patch.name.map(|n| n.trim().to_string()) {
            if name != old.name {
                if old.channel_type == CHANNEL_DIRECT {
                    return Err(Code::ChannelNameInvalid
                        .with_message("A direct message channel's name cannot be changed."));
                }
                if old.name == DEFAULT_CHANNELS[0].0 {
                    return Err(Code::DefaultChannelRename.with_message(format!(
                        "The team's default channel {} cannot be renamed.",
                        old.name
                    )));
                }
                validate::url_name("channel", Code::ChannelNameInvalid, &name)?;
                channel.name = name;
            }
        }
        if let Some(display_name) = patch.display_name.map(|n| n.trim().to_string()) {
            if display_name != old.display_name {
                if old.channel_type == CHANNEL_DIRECT {
                    return Err(Code::ChannelDisplayNameInvalid.with_message(
                        "A direct message channel's display name cannot be changed.",
                    ));
                }
                validate::display_name(Code::ChannelDisplayNameInvalid, &display_name)?;
                channel.display_name = display_name;
            }
        }
        if let Some(header) = patch.header {
            validate::max_len(
                Code::ChannelHeaderInvalid,
                "header",
                &header,
                validate::HEADER_MAX,
            )?;
            channel.header = header;
        }
        if let Some(purpose) = patch.purpose {
            validate::max_len(
                Code::ChannelPurposeInvalid,
                "purpose",
                &purpose,
                validate::PURPOSE_MAX,
            )?;
            channel.purpose = purpose;
        }
        channel.update_at = now_millis();
        let saved = self
            .store
            .update_channel_details(&channel)
            .await
            .map_err(name_taken_or)?;
        if !saved {
            return Err(Code::ChannelUpdateDeleted.into());
        }
        self.publish(event(
            events::CHANNEL_UPDATED,
            serde_json::json!({ "channel": json_text(&channel)? }),
            Broadcast::to_channel(&channel.id),
        ))
        .await?;
        if let Actor::User(auth) = actor {
            self.announce_channel_changes(&auth.user, &old, &channel)
                .await?;
        }
        Ok(channel)
    }

    /// The system messages for a user's change of a channel's display name, header or
    /// purpose, posted by that user.
    async fn announce_channel_changes(
        &self,
        user: &User,
        old: &Channel,
        new: &Channel,
    ) -> AppResult<()> {
        let username = user.username.as_str();
        let mut changes = Vec::new();
        if old.display_name != new.display_name {
            changes.push((
                POST_TYPE_DISPLAYNAME_CHANGE,
                format!(
                    "{username} updated the channel display name from: {} to: {}",
                    old.display_name, new.display_name
                ),
                serde_json::json!({
                    "old_displayname": old.display_name,
                    "new_displayname": new.display_name,
                }),
            ));
        }
        if old.header != new.header {
            changes.push((
                POST_TYPE_HEADER_CHANGE,
                change_message(username, "header", &old.header, &new.header),
                serde_json::json!({"old_header": old.header, "new_header": new.header}),
            ));
        }
        if old.purpose != new.purpose {
            changes.push((
                POST_TYPE_PURPOSE_CHANGE,
                change_message(username, "purpose", &old.purpose, &new.purpose),
                serde_json::json!({"old_purpose": old.purpose, "new_purpose": new.purpose}),
            ));
        }
        for (post_type, message, props) in changes {
            let mut props = props.as_object().cloned().unwrap_or_default();
            props.insert("username".into(), username.into());
            let post = Post {
                channel_id: new.id.clone(),
                user_id: user.id.clone(),
                post_type: post_type.to_string(),
                message,
                props,
                ..Post::default()
            };
            self.create_post(Actor::System, post).await?;
        }
        Ok(())
    }

    /// The direct channel of two users, created on first use. Users may only open
    /// their own; plugins any.
    pub async fn open_direct_channel(
        &self,
        actor: Actor<'_>,
        first: &str,
        second: &str,
    ) -> AppResult<Channel> {
        require_id(first, "user_ids")?;
        require_id(second, "user_ids")?;
        let creator_id = match actor.user_id() {
            Some(me) if !actor.is_admin() && first != me && second != me => {
                return Err(AppError::forbidden(
                    "You can only open direct channels that include yourself.",
                ));
            }
            Some(me) => me,
            None => first,
        };
        self.direct_channel(first, second, creator_id).await
    }

    /// The direct channel of two users, created (with both as members) on first use.
    async fn direct_channel(
        &self,
        first: &str,
        second: &str,
        creator_id: &str,
    ) -> AppResult<Channel> {
        for id in [first, second] {
            self.require_user(id).await?;
        }
        let name = Channel::direct_name(first, second);
        if let Some(existing) = self.store.get_channel_by_name("", &name).await? {
            return Ok(existing);
        }
        let now = now_millis();
        let channel = Channel {
            id: new_id(),
            create_at: now,
            update_at: now,
            channel_type: CHANNEL_DIRECT.into(),
            name: name.clone(),
            creator_id: creator_id.to_string(),
            ..Channel::default()
        };
        match self.store.create_channel(&channel, &[first, second]).await {
            Ok(()) => {}
            Err(err) if err.is_unique_violation() => {
                // Opened concurrently by the other person: theirs is ours.
                return self
                    .store
                    .get_channel_by_name("", &name)
                    .await?
                    .ok_or(AppError::Store(err));
            }
            Err(err) => return Err(err.into()),
        }
        for (member, teammate) in [(first, second), (second, first)] {
            self.publish_to(
                event(
                    events::DIRECT_ADDED,
                    serde_json::json!({"creator_id": creator_id, "teammate_id": teammate, "channel_id": channel.id}),
                    Broadcast::to_user(member),
                ),
                &[member.to_string()],
            );
            if first == second {
                break;
            }
        }
        self.plugins
            .channel_has_been_created(&HookContext::for_user(creator_id, ""), &channel);
        Ok(channel)
    }

    /// A channel the actor may know of.
    pub async fn get_channel(&self, actor: Actor<'_>, channel_id: &str) -> AppResult<Channel> {
        let channel = load_channel(self, channel_id).await?;
        require_channel_visible(self, actor, &channel).await?;
        Ok(channel)
    }

    /// A team's channel by URL name (the team id is empty for direct channels).
    pub async fn channel_by_name(
        &self,
        actor: Actor<'_>,
        team_id: &str,
        name: &str,
    ) -> AppResult<Channel> {
        // Plugins also look up direct channels, whose team id is empty.
        if actor.user_id().is_some() || !team_id.is_empty() {
            require_id(team_id, "team_id")?;
        }
        let channel = self
            .store
            .get_channel_by_name(team_id, name)
            .await?
            .filter(|c| c.delete_at == 0)
            .ok_or_else(|| AppError::from(Code::ChannelNameNotFound))?;
        require_channel_visible(self, actor, &channel).await?;
        Ok(channel)
    }

    /// The channels of a team (and the direct channels) a user belongs to.
    pub async fn channels_for_user(
        &self,
        actor: Actor<'_>,
        user_id: &str,
        team_id: &str,
    ) -> AppResult<Vec<Channel>> {
        require_id(user_id, "user_id")?;
        require_id(team_id, "team_id")?;
        require_self_or_admin(actor, user_id)?;
        Ok(self.store.channels_for_user(user_id, team_id).await?)
    }

    /// A team's open channels, to browse and join.
    pub async fn open_channels(
        &self,
        actor: Actor<'_>,
        team_id: &str,
        page: i64,
        per_page: i64,
    ) -> AppResult<Vec<Channel>> {
        require_id(team_id, "team_id")?;
        require_team_member(self, actor, team_id).await?;
        Ok(self
            .store
            .open_channels(team_id, page * per_page, per_page)
            .await?)
    }

    /// Read positions (`msg_count`, `last_viewed_at`) that clients compare with each
    /// channel's `total_msg_count` to show unread channels.
    pub async fn channel_memberships(
        &self,
        actor: Actor<'_>,
        user_id: &str,
        team_id: &str,
    ) -> AppResult<Vec<ChannelMember>> {
        require_id(user_id, "user_id")?;
        require_id(team_id, "team_id")?;
        require_self_or_admin(actor, user_id)?;
        Ok(self.store.channel_memberships(user_id, team_id).await?)
    }

    /// Marks a channel read; the user's other sessions learn it from `channel_viewed`.
    /// Returns when it was viewed.
    /// A member's unread messages and mentions in one channel (the user themselves,
    /// or an admin, asks).
    pub async fn channel_unread(
        &self,
        actor: Actor<'_>,
        user_id: &str,
        channel_id: &str,
    ) -> AppResult<ChannelUnread> {
        require_id(user_id, "user_id")?;
        require_self_or_admin(actor, user_id)?;
        let channel = load_channel(self, channel_id).await?;
        let Some(member) = self.store.get_channel_member(&channel.id, user_id).await? else {
            return Err(AppError::forbidden(
                "You do not have the appropriate permissions: you are not a member of this channel.",
            ));
        };
        Ok(ChannelUnread {
            team_id: channel.team_id.clone(),
            channel_id: channel.id.clone(),
            msg_count: (channel.total_msg_count - member.msg_count).max(0),
            mention_count: member.mention_count,
            mention_count_root: member.mention_count_root,
            urgent_mention_count: member.urgent_mention_count,
            msg_count_root: (channel.total_msg_count_root - member.msg_count_root).max(0),
            notify_props: member.notify_props,
        })
    }

    /// Changes a member's notification settings for one channel (the user, or an
    /// admin): only Mattermost's keys are taken (others are dropped, as there), each
    /// checked against its values; the rest stay as they were. The user's clients get
    /// `channel_member_updated`.
    pub async fn update_channel_notify_props(
        &self,
        actor: Actor<'_>,
        channel_id: &str,
        user_id: &str,
        wanted: serde_json::Map<String, serde_json::Value>,
    ) -> AppResult<ChannelMember> {
        require_id(user_id, "user_id")?;
        require_self_or_admin(actor, user_id)?;
        let channel = load_channel(self, channel_id).await?;
        let mut props = serde_json::Map::new();
        for (key, value) in wanted {
            if !CHANNEL_NOTIFY_KEYS.contains(&key.as_str()) {
                continue;
            }
            let Some(text) = value.as_str() else {
                return Err(
                    Code::InvalidBody.with_message(format!("notify_props.{key} must be a string."))
                );
            };
            check_channel_notify_prop(&key, text)?;
            props.insert(key, value);
        }
        let Some(member) = self
            .store
            .merge_member_notify_props(&channel.id, user_id, &props, now_millis())
            .await?
        else {
            return Err(Code::ChannelMemberNotFound.into());
        };
        self.publish(event(
            events::CHANNEL_MEMBER_UPDATED,
            serde_json::json!({ "channelMember": json_text(&member)? }),
            Broadcast::to_user(user_id),
        ))
        .await?;
        Ok(member)
    }

    pub async fn view_channel(
        &self,
        actor: Actor<'_>,
        user_id: &str,
        channel_id: &str,
    ) -> AppResult<i64> {
        require_id(user_id, "user_id")?;
        require_self_or_admin(actor, user_id)?;
        require_id(channel_id, "channel_id")?;
        let Some(viewed_at) = self.store.view_channel(channel_id, user_id).await? else {
            return Err(AppError::forbidden(
                "You do not have the appropriate permissions: you are not a member of this channel.",
            ));
        };
        // Current Mattermost clients listen for the second; older ones for the first.
        self.publish_to(
            event(
                events::CHANNEL_VIEWED,
                serde_json::json!({"channel_id": channel_id}),
                Broadcast::to_user(user_id),
            ),
            &[user_id.to_string()],
        );
        self.publish_to(
            event(
                events::MULTIPLE_CHANNELS_VIEWED,
                serde_json::json!({"channel_times": {channel_id: viewed_at}}),
                Broadcast::to_user(user_id),
            ),
            &[user_id.to_string()],
        );
        if actor.user_id() == Some(user_id) {
            self.record_activity(user_id).await?;
        }
        Ok(viewed_at)
    }

    /// Adds a member of the channel's team. Members add others; anyone in the team
    /// joins an open channel; plugins add anyone in the team.
    pub async fn add_channel_member(
        &self,
        actor: Actor<'_>,
        channel_id: &str,
        user_id: &str,
    ) -> AppResult<ChannelMember> {
        let channel = load_channel(self, channel_id).await?;
        if channel.channel_type == CHANNEL_DIRECT {
            return Err(Code::AddMemberToDirect
                .with_message("Members cannot be added to a direct message channel."));
        }
        let target = self.require_user(user_id).await?;
        let joining_open = match actor.user_id() {
            Some(me) => {
                target.id == me
                    && channel.channel_type == CHANNEL_OPEN
                    && is_team_member(self, me, &channel.team_id).await?
            }
            None => false,
        };
        if !joining_open {
            require_channel_member(self, actor, &channel).await?;
        }
        if !is_team_member(self, &target.id, &channel.team_id).await? {
            return Err(Code::AddMemberNotInTeam.with_message(
                "The user is not a member of this channel's team; add them to the team first.",
            ));
        }
        let (member, is_new) = self
            .store
            .add_channel_member(&channel.id, &target.id)
            .await?;
        if is_new {
            self.publish(event(
                events::USER_ADDED,
                serde_json::json!({"user_id": target.id, "team_id": channel.team_id}),
                Broadcast::to_channel(&channel.id),
            ))
            .await?;
            let by = actor.user_id().filter(|me| *me != target.id).unwrap_or("");
            self.plugins
                .user_has_joined_channel(&actor.hook_context(), &member, by);
        }
        Ok(member)
    }

    pub async fn channel_members(
        &self,
        actor: Actor<'_>,
        channel_id: &str,
    ) -> AppResult<Vec<ChannelMember>> {
        let channel = load_member_channel(self, actor, channel_id).await?;
        Ok(self.store.channel_members(&channel.id).await?)
    }

    /// One member of a channel, as its members (and admins) may read it.
    pub async fn channel_member(
        &self,
        actor: Actor<'_>,
        channel_id: &str,
        user_id: &str,
    ) -> AppResult<ChannelMember> {
        let channel = load_member_channel(self, actor, channel_id).await?;
        require_id(user_id, "user_id")?;
        self.store
            .get_channel_member(&channel.id, user_id)
            .await?
            .ok_or_else(|| AppError::from(Code::ChannelMemberNotFound))
    }

    /// Removes a member: anyone leaves, members remove others; nobody leaves direct
    /// channels or the team's default channel.
    pub async fn remove_channel_member(
        &self,
        actor: Actor<'_>,
        channel_id: &str,
        user_id: &str,
    ) -> AppResult<()> {
        let channel = load_channel(self, channel_id).await?;
        require_id(user_id, "user_id")?;
        if channel.channel_type == CHANNEL_DIRECT {
            return Err(Code::RemoveFromDirect
                .with_message("Nobody can be removed from a direct message channel."));
        }
        // Everyone in a team is in its default channel, as in Mattermost: nobody leaves it
        // and nobody, admins included, removes anyone from it.
        if channel.name == DEFAULT_CHANNELS[0].0 {
            return Err(Code::RemoveFromDefault.with_message(format!(
                "Nobody can leave or be removed from the default channel {}.",
                channel.name
            )));
        }
        let remover_id = actor.user_id().unwrap_or_default();
        if user_id != remover_id {
            require_channel_member(self, actor, &channel).await?;
        }
        let member = self.store.get_channel_member(&channel.id, user_id).await?;
        if !self
            .store
            .remove_channel_member(&channel.id, user_id)
            .await?
        {
            return Err(AppError::from(Code::ChannelMemberNotFound));
        }
        self.publish(event(
            events::USER_REMOVED,
            serde_json::json!({"user_id": user_id, "remover_id": remover_id}),
            Broadcast::to_channel(&channel.id),
        ))
        .await?;
        self.publish(event(
            events::USER_REMOVED,
            serde_json::json!({"channel_id": channel.id, "remover_id": remover_id}),
            Broadcast::to_user(user_id),
        ))
        .await?;
        if let Some(member) = member {
            let by = if remover_id == user_id {
                ""
            } else {
                remover_id
            };
            self.plugins
                .user_has_left_channel(&actor.hook_context(), &member, by);
        }
        Ok(())
    }
}
