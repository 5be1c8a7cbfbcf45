//! Conversions between the wire types of `chorus-model` (the REST API's JSON shapes)
//! and the protocol's messages, so the host and the SDK translate the same way.
//! JSON objects (`props`) travel as text; an empty or malformed text reads as `{}`.
//!
//! This is the only place that converts between the two: the host, the SDK and its
//! test harness all go through it. Fields the wire does not carry (a post's
//! `metadata`, a user's `auth_data`, ...) read as their defaults.

use crate::v1;
use chorus_model as model;

fn props_to_json(props: &serde_json::Map<String, serde_json::Value>) -> String {
    if props.is_empty() {
        String::new()
    } else {
        serde_json::Value::Object(props.clone()).to_string()
    }
}

/// Parses a `*_json` field as an object; empty or invalid text gives an empty map.
pub fn json_object(text: &str) -> serde_json::Map<String, serde_json::Value> {
    strict_json_object(text).unwrap_or_default()
}

/// Parses a `*_json` field the sender must fill with an object (websocket event data,
/// plugin settings): empty text is `{}`, anything but an object `None`, to refuse.
pub fn strict_json_object(text: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    if text.trim().is_empty() {
        return Some(Default::default());
    }
    match serde_json::from_str(text) {
        Ok(serde_json::Value::Object(map)) => Some(map),
        _ => None,
    }
}

impl From<&model::Post> for v1::Post {
    fn from(p: &model::Post) -> Self {
        v1::Post {
            id: p.id.clone(),
            create_at: p.create_at,
            update_at: p.update_at,
            edit_at: p.edit_at,
            delete_at: p.delete_at,
            is_pinned: p.is_pinned,
            user_id: p.user_id.clone(),
            channel_id: p.channel_id.clone(),
            root_id: p.root_id.clone(),
            original_id: p.original_id.clone(),
            message: p.message.clone(),
            r#type: p.post_type.clone(),
            props_json: props_to_json(&p.props),
            hashtags: p.hashtags.clone(),
            pending_post_id: p.pending_post_id.clone(),
            reply_count: p.reply_count,
            has_reactions: p.has_reactions,
            file_ids: p.file_ids.clone(),
        }
    }
}

impl From<v1::Post> for model::Post {
    fn from(p: v1::Post) -> Self {
        model::Post {
            props: json_object(&p.props_json),
            id: p.id,
            create_at: p.create_at,
            update_at: p.update_at,
            edit_at: p.edit_at,
            delete_at: p.delete_at,
            is_pinned: p.is_pinned,
            user_id: p.user_id,
            channel_id: p.channel_id,
            root_id: p.root_id,
            original_id: p.original_id,
            message: p.message,
            post_type: p.r#type,
            hashtags: p.hashtags,
            pending_post_id: p.pending_post_id,
            reply_count: p.reply_count,
            has_reactions: p.has_reactions,
            file_ids: p.file_ids,
            // The wire post does not carry it; the server's own copy does.
            last_reply_at: 0,
            metadata: Default::default(),
        }
    }
}

impl From<&model::FileInfo> for v1::FileInfo {
    fn from(f: &model::FileInfo) -> Self {
        v1::FileInfo {
            id: f.id.clone(),
            user_id: f.user_id.clone(),
            post_id: f.post_id.clone(),
            channel_id: f.channel_id.clone(),
            create_at: f.create_at,
            update_at: f.update_at,
            delete_at: f.delete_at,
            name: f.name.clone(),
            extension: f.extension.clone(),
            size: f.size,
            mime_type: f.mime_type.clone(),
            width: f.width,
            height: f.height,
            has_preview_image: f.has_preview_image,
            mini_preview: f.mini_preview.clone().unwrap_or_default(),
        }
    }
}

impl From<v1::FileInfo> for model::FileInfo {
    fn from(f: v1::FileInfo) -> Self {
        model::FileInfo {
            id: f.id,
            user_id: f.user_id,
            post_id: f.post_id,
            channel_id: f.channel_id,
            create_at: f.create_at,
            update_at: f.update_at,
            delete_at: f.delete_at,
            name: f.name,
            extension: f.extension,
            size: f.size,
            mime_type: f.mime_type,
            width: f.width,
            height: f.height,
            has_preview_image: f.has_preview_image,
            mini_preview: (!f.mini_preview.is_empty()).then_some(f.mini_preview),
            remote_id: String::new(),
            archived: false,
        }
    }
}

impl From<&model::Reaction> for v1::Reaction {
    fn from(r: &model::Reaction) -> Self {
        v1::Reaction {
            user_id: r.user_id.clone(),
            post_id: r.post_id.clone(),
            emoji_name: r.emoji_name.clone(),
            create_at: r.create_at,
            channel_id: r.channel_id.clone(),
        }
    }
}

impl From<v1::Reaction> for model::Reaction {
    fn from(r: v1::Reaction) -> Self {
        model::Reaction {
            user_id: r.user_id,
            post_id: r.post_id,
            emoji_name: r.emoji_name,
            create_at: r.create_at,
            update_at: r.create_at,
            channel_id: r.channel_id,
            ..Default::default()
        }
    }
}

impl From<&model::Preference> for v1::Preference {
    fn from(p: &model::Preference) -> Self {
        v1::Preference {
            user_id: p.user_id.clone(),
            category: p.category.clone(),
            name: p.name.clone(),
            value: p.value.clone(),
        }
    }
}

impl From<v1::Preference> for model::Preference {
    fn from(p: v1::Preference) -> Self {
        model::Preference {
            user_id: p.user_id,
            category: p.category,
            name: p.name,
            value: p.value,
        }
    }
}

impl From<&model::User> for v1::User {
    fn from(u: &model::User) -> Self {
        v1::User {
            id: u.id.clone(),
            create_at: u.create_at,
            update_at: u.update_at,
            delete_at: u.delete_at,
            username: u.username.clone(),
            email: u.email.clone(),
            nickname: u.nickname.clone(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            position: u.position.clone(),
            roles: u.roles.clone(),
            locale: u.locale.clone(),
            is_bot: u.is_bot,
        }
    }
}

impl From<v1::User> for model::User {
    fn from(u: v1::User) -> Self {
        model::User {
            id: u.id,
            create_at: u.create_at,
            update_at: u.update_at,
            delete_at: u.delete_at,
            username: u.username,
            email: u.email,
            nickname: u.nickname,
            first_name: u.first_name,
            last_name: u.last_name,
            position: u.position,
            roles: u.roles,
            locale: u.locale,
            is_bot: u.is_bot,
            ..Default::default()
        }
    }
}

impl From<&model::Channel> for v1::Channel {
    fn from(c: &model::Channel) -> Self {
        v1::Channel {
            id: c.id.clone(),
            create_at: c.create_at,
            update_at: c.update_at,
            delete_at: c.delete_at,
            team_id: c.team_id.clone(),
            r#type: c.channel_type.clone(),
            display_name: c.display_name.clone(),
            name: c.name.clone(),
            header: c.header.clone(),
            purpose: c.purpose.clone(),
            last_post_at: c.last_post_at,
            total_msg_count: c.total_msg_count,
            creator_id: c.creator_id.clone(),
        }
    }
}

impl From<v1::Channel> for model::Channel {
    fn from(c: v1::Channel) -> Self {
        model::Channel {
            id: c.id,
            create_at: c.create_at,
            update_at: c.update_at,
            delete_at: c.delete_at,
            team_id: c.team_id,
            channel_type: c.r#type,
            display_name: c.display_name,
            name: c.name,
            header: c.header,
            purpose: c.purpose,
            last_post_at: c.last_post_at,
            total_msg_count: c.total_msg_count,
            creator_id: c.creator_id,
            ..Default::default()
        }
    }
}

impl From<&model::ChannelMember> for v1::ChannelMember {
    fn from(m: &model::ChannelMember) -> Self {
        v1::ChannelMember {
            channel_id: m.channel_id.clone(),
            user_id: m.user_id.clone(),
            roles: m.roles.clone(),
            last_viewed_at: m.last_viewed_at,
            msg_count: m.msg_count,
            mention_count: m.mention_count,
            last_update_at: m.last_update_at,
        }
    }
}

impl From<v1::ChannelMember> for model::ChannelMember {
    fn from(m: v1::ChannelMember) -> Self {
        model::ChannelMember {
            channel_id: m.channel_id,
            user_id: m.user_id,
            roles: m.roles,
            last_viewed_at: m.last_viewed_at,
            msg_count: m.msg_count,
            mention_count: m.mention_count,
            last_update_at: m.last_update_at,
            ..Default::default()
        }
    }
}

impl From<&model::Team> for v1::Team {
    fn from(t: &model::Team) -> Self {
        v1::Team {
            id: t.id.clone(),
            create_at: t.create_at,
            update_at: t.update_at,
            delete_at: t.delete_at,
            display_name: t.display_name.clone(),
            name: t.name.clone(),
            description: t.description.clone(),
            email: t.email.clone(),
            r#type: t.team_type.clone(),
            allow_open_invite: t.allow_open_invite,
        }
    }
}

impl From<v1::Team> for model::Team {
    fn from(t: v1::Team) -> Self {
        model::Team {
            id: t.id,
            create_at: t.create_at,
            update_at: t.update_at,
            delete_at: t.delete_at,
            display_name: t.display_name,
            name: t.name,
            description: t.description,
            email: t.email,
            team_type: t.r#type,
            allow_open_invite: t.allow_open_invite,
            ..Default::default()
        }
    }
}

impl From<&model::CommandResponse> for v1::CommandResponse {
    fn from(r: &model::CommandResponse) -> Self {
        v1::CommandResponse {
            response_type: r.response_type.clone(),
            text: r.text.clone(),
            username: r.username.clone(),
            icon_url: r.icon_url.clone(),
            goto_location: r.goto_location.clone(),
            props_json: props_to_json(&r.props),
        }
    }
}

impl From<v1::CommandResponse> for model::CommandResponse {
    fn from(r: v1::CommandResponse) -> Self {
        model::CommandResponse {
            props: json_object(&r.props_json),
            response_type: r.response_type,
            text: r.text,
            username: r.username,
            icon_url: r.icon_url,
            goto_location: r.goto_location,
            ..model::CommandResponse::default()
        }
    }
}

impl From<v1::Command> for model::Command {
    fn from(c: v1::Command) -> Self {
        model::Command {
            trigger: c.trigger,
            auto_complete: c.auto_complete,
            auto_complete_desc: c.auto_complete_desc,
            auto_complete_hint: c.auto_complete_hint,
            display_name: c.display_name,
            description: c.description,
            // Malformed data only loses the suggestions: the command still runs.
            autocomplete_data: serde_json::from_str(&c.autocomplete_data_json).ok(),
            autocomplete_icon_data: c.autocomplete_icon_data,
            ..model::Command::default()
        }
    }
}

impl From<&model::Command> for v1::Command {
    fn from(c: &model::Command) -> Self {
        v1::Command {
            trigger: c.trigger.clone(),
            auto_complete: c.auto_complete,
            auto_complete_desc: c.auto_complete_desc.clone(),
            auto_complete_hint: c.auto_complete_hint.clone(),
            display_name: c.display_name.clone(),
            description: c.description.clone(),
            autocomplete_data_json: c
                .autocomplete_data
                .as_ref()
                .map(|d| serde_json::to_string(d).expect("autocomplete data is JSON"))
                .unwrap_or_default(),
            autocomplete_icon_data: c.autocomplete_icon_data.clone(),
        }
    }
}

impl From<v1::CommandArgs> for model::CommandArgs {
    fn from(a: v1::CommandArgs) -> Self {
        model::CommandArgs {
            user_id: a.user_id,
            channel_id: a.channel_id,
            team_id: a.team_id,
            root_id: a.root_id,
            command: a.command,
            trigger: a.trigger,
            trigger_id: a.trigger_id,
            parent_id: String::new(),
        }
    }
}

impl From<&model::CommandArgs> for v1::CommandArgs {
    fn from(a: &model::CommandArgs) -> Self {
        v1::CommandArgs {
            user_id: a.user_id.clone(),
            channel_id: a.channel_id.clone(),
            team_id: a.team_id.clone(),
            root_id: a.root_id.clone(),
            command: a.command.clone(),
            trigger: a.trigger.clone(),
            trigger_id: a.trigger_id.clone(),
        }
    }
}

/// The wire lists the users to leave out; the model keeps them as a set (`omit_users`).
impl From<v1::Broadcast> for model::Broadcast {
    fn from(b: v1::Broadcast) -> Self {
        let omit_users = Some(b.omit_user_ids)
            .filter(|ids| !ids.is_empty())
            .map(|ids| ids.into_iter().map(|id| (id, true)).collect());
        model::Broadcast {
            user_id: b.user_id,
            channel_id: b.channel_id,
            team_id: b.team_id,
            omit_users,
            ..Default::default()
        }
    }
}

impl From<&model::Broadcast> for v1::Broadcast {
    fn from(b: &model::Broadcast) -> Self {
        let mut omit_user_ids: Vec<String> = b
            .omit_users
            .iter()
            .flatten()
            .filter(|(_, omitted)| **omitted)
            .map(|(id, _)| id.clone())
            .collect();
        omit_user_ids.sort();
        v1::Broadcast {
            user_id: b.user_id.clone(),
            channel_id: b.channel_id.clone(),
            team_id: b.team_id.clone(),
            omit_user_ids,
        }
    }
}

/// The membership a `UserHasJoinedTeam` event is about (the wire carries its two ids).
impl From<&v1::TeamMemberEvent> for model::TeamMember {
    fn from(e: &v1::TeamMemberEvent) -> Self {
        model::TeamMember {
            team_id: e.team_id.clone(),
            user_id: e.user_id.clone(),
            ..Default::default()
        }
    }
}

/// Owned values convert as their references do: the SDK hands values over by move.
macro_rules! by_value {
    ($($name:ident),*) => {$(
        impl From<model::$name> for v1::$name {
            fn from(value: model::$name) -> Self {
                v1::$name::from(&value)
            }
        }
    )*};
}

by_value!(
    Post,
    FileInfo,
    Preference,
    Reaction,
    User,
    Channel,
    ChannelMember,
    Team,
    Command,
    CommandArgs,
    CommandResponse,
    Broadcast,
    TeamMember,
    Bot,
    PostList,
    PluginStatus
);

impl From<&model::TeamMember> for v1::TeamMember {
    fn from(m: &model::TeamMember) -> Self {
        v1::TeamMember {
            team_id: m.team_id.clone(),
            user_id: m.user_id.clone(),
            roles: m.roles.clone(),
            delete_at: m.delete_at,
        }
    }
}

impl From<v1::TeamMember> for model::TeamMember {
    fn from(m: v1::TeamMember) -> Self {
        model::TeamMember {
            team_id: m.team_id,
            user_id: m.user_id,
            roles: m.roles,
            delete_at: m.delete_at,
            ..Default::default()
        }
    }
}

impl From<&model::Bot> for v1::Bot {
    fn from(b: &model::Bot) -> Self {
        v1::Bot {
            user_id: b.user_id.clone(),
            username: b.username.clone(),
            display_name: b.display_name.clone(),
            description: b.description.clone(),
            owner_id: b.owner_id.clone(),
            create_at: b.create_at,
            update_at: b.update_at,
            delete_at: b.delete_at,
        }
    }
}

impl From<v1::Bot> for model::Bot {
    fn from(b: v1::Bot) -> Self {
        model::Bot {
            user_id: b.user_id,
            username: b.username,
            display_name: b.display_name,
            description: b.description,
            owner_id: b.owner_id,
            create_at: b.create_at,
            update_at: b.update_at,
            delete_at: b.delete_at,
            ..Default::default()
        }
    }
}

impl From<v1::BotPatch> for model::BotPatch {
    fn from(p: v1::BotPatch) -> Self {
        model::BotPatch {
            username: p.username,
            display_name: p.display_name,
            description: p.description,
        }
    }
}

impl From<&model::BotPatch> for v1::BotPatch {
    fn from(p: &model::BotPatch) -> Self {
        v1::BotPatch {
            username: p.username.clone(),
            display_name: p.display_name.clone(),
            description: p.description.clone(),
        }
    }
}

/// The wire lists the posts in `order`; the model keeps them by id.
impl From<&model::PostList> for v1::PostList {
    fn from(list: &model::PostList) -> Self {
        v1::PostList {
            order: list.order.clone(),
            posts: list
                .order
                .iter()
                .filter_map(|id| list.posts.get(id))
                .map(v1::Post::from)
                .collect(),
        }
    }
}

impl From<v1::PostList> for model::PostList {
    fn from(list: v1::PostList) -> Self {
        model::PostList {
            order: list.order,
            posts: list
                .posts
                .into_iter()
                .map(|p| (p.id.clone(), model::Post::from(p)))
                .collect(),
            ..Default::default()
        }
    }
}

impl From<&model::PluginStatus> for v1::PluginStatus {
    fn from(s: &model::PluginStatus) -> Self {
        v1::PluginStatus {
            plugin_id: s.plugin_id.clone(),
            cluster_id: s.cluster_id.clone(),
            state: s.state.number(),
            error: s.error.clone(),
            name: s.name.clone(),
            description: s.description.clone(),
            version: s.version.clone(),
        }
    }
}

impl From<v1::PluginStatus> for model::PluginStatus {
    fn from(s: v1::PluginStatus) -> Self {
        model::PluginStatus {
            plugin_id: s.plugin_id,
            cluster_id: s.cluster_id,
            state: s.state.into(),
            error: s.error,
            name: s.name,
            description: s.description,
            version: s.version,
            ..Default::default()
        }
    }
}

impl From<&model::Status> for v1::Status {
    fn from(s: &model::Status) -> Self {
        v1::Status {
            user_id: s.user_id.clone(),
            status: s.status.clone(),
            manual: s.manual,
            last_activity_at: s.last_activity_at,
            dnd_end_time: s.dnd_end_time,
        }
    }
}

impl From<v1::Status> for model::Status {
    fn from(s: v1::Status) -> Self {
        model::Status {
            user_id: s.user_id,
            status: s.status,
            manual: s.manual,
            last_activity_at: s.last_activity_at,
            dnd_end_time: s.dnd_end_time,
            prev_status: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_round_trips_with_props() {
        let mut post = model::Post {
            id: model::new_id(),
            message: "hello".into(),
            post_type: "custom_x".into(),
            reply_count: 3,
            ..Default::default()
        };
        post.props.insert("k".into(), serde_json::json!([1, 2]));
        let wire = v1::Post::from(&post);
        assert_eq!(wire.props_json, r#"{"k":[1,2]}"#);
        assert_eq!(model::Post::from(wire), post);
        assert!(json_object("not json").is_empty());
        assert!(json_object("[1]").is_empty());
        let empty = v1::Post::from(model::Post::new("c1", "hi"));
        assert_eq!(
            empty.props_json, "",
            "an empty object travels as the empty string"
        );
    }

    #[test]
    fn broadcast_omissions_travel_as_a_sorted_list() {
        let wire = v1::Broadcast {
            user_id: "u".into(),
            omit_user_ids: vec!["b".into(), "a".into()],
            ..Default::default()
        };
        let broadcast = model::Broadcast::from(wire);
        assert_eq!(broadcast.omit_users.as_ref().map(|m| m.len()), Some(2));
        assert_eq!(v1::Broadcast::from(&broadcast).omit_user_ids, ["a", "b"]);
        assert_eq!(
            model::Broadcast::from(v1::Broadcast::default()).omit_users,
            None
        );
    }
}
