//! The data types hooks receive and API calls take and return, in friendly Rust form,
//! with conversions from and to the generated protocol types.
//!
//! The protocol carries JSON objects (post props, command response props) as JSON text;
//! here they are `serde_json::Map`s. Every type serializes to Mattermost's JSON shape,
//! so a plugin can store what it sees in the KV store with [`crate::Api::kv_set_json`].

use chorus_plugin_protocol::v1;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Parses a `*_json` field of the protocol; empty or invalid text (which a conforming
/// host never sends) gives an empty object rather than failing the hook.
pub(crate) fn json_object(text: &str) -> Map<String, Value> {
    if text.is_empty() {
        return Map::new();
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// The protocol's JSON text for an object; the empty object travels as "" ("means {}").
pub(crate) fn json_text(map: &Map<String, Value>) -> String {
    if map.is_empty() {
        String::new()
    } else {
        Value::Object(map.clone()).to_string()
    }
}

/// Facts about the request that caused a hook. Fields are empty when unknown (for
/// example `user_id` for a system action).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Context {
    pub request_id: String,
    /// The user whose action caused the hook; empty for system actions.
    pub user_id: String,
    pub session_id: String,
    /// The app server (cluster node) the hook runs on.
    pub node_id: String,
}

impl From<v1::Context> for Context {
    fn from(c: v1::Context) -> Self {
        Context {
            request_id: c.request_id,
            user_id: c.user_id,
            session_id: c.session_id,
            node_id: c.node_id,
        }
    }
}

impl From<Context> for v1::Context {
    fn from(c: Context) -> Self {
        v1::Context {
            request_id: c.request_id,
            user_id: c.user_id,
            session_id: c.session_id,
            node_id: c.node_id,
        }
    }
}

pub(crate) fn context(c: Option<v1::Context>) -> Context {
    c.map(Context::from).unwrap_or_default()
}

/// A post (message). `props` is the free-form JSON object of Mattermost's posts.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Post {
    pub id: String,
    pub create_at: i64,
    pub update_at: i64,
    pub edit_at: i64,
    pub delete_at: i64,
    pub is_pinned: bool,
    pub user_id: String,
    pub channel_id: String,
    pub root_id: String,
    pub original_id: String,
    pub message: String,
    /// Empty for an ordinary post; `"system_..."` or `"custom_..."` otherwise.
    #[serde(rename = "type")]
    pub post_type: String,
    pub props: Map<String, Value>,
    pub hashtags: String,
    pub pending_post_id: String,
    pub reply_count: i64,
}

impl Post {
    /// A new post to create with [`crate::Api::create_post`]; set `user_id` (for
    /// example to your bot's id) before sending it.
    pub fn new(channel_id: impl Into<String>, message: impl Into<String>) -> Post {
        Post {
            channel_id: channel_id.into(),
            message: message.into(),
            ..Post::default()
        }
    }
}

impl From<v1::Post> for Post {
    fn from(p: v1::Post) -> Self {
        Post {
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
        }
    }
}

impl From<Post> for v1::Post {
    fn from(p: Post) -> Self {
        v1::Post {
            props_json: json_text(&p.props),
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
            r#type: p.post_type,
            hashtags: p.hashtags,
            pending_post_id: p.pending_post_id,
            reply_count: p.reply_count,
        }
    }
}

pub(crate) fn post(p: Option<v1::Post>) -> Post {
    p.map(Post::from).unwrap_or_default()
}

/// A user account (people and bots).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct User {
    pub id: String,
    pub create_at: i64,
    pub update_at: i64,
    pub delete_at: i64,
    pub username: String,
    pub email: String,
    pub nickname: String,
    pub first_name: String,
    pub last_name: String,
    pub position: String,
    /// Space-separated roles: `"system_user"`, `"system_user system_admin"`.
    pub roles: String,
    pub locale: String,
    pub is_bot: bool,
}

impl From<v1::User> for User {
    fn from(u: v1::User) -> Self {
        User {
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
        }
    }
}

impl From<User> for v1::User {
    fn from(u: User) -> Self {
        v1::User {
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
        }
    }
}

/// A channel. `channel_type` is `"O"` (open), `"P"` (private) or `"D"` (direct).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Channel {
    pub id: String,
    pub create_at: i64,
    pub update_at: i64,
    pub delete_at: i64,
    pub team_id: String,
    #[serde(rename = "type")]
    pub channel_type: String,
    pub display_name: String,
    pub name: String,
    pub header: String,
    pub purpose: String,
    pub last_post_at: i64,
    pub total_msg_count: i64,
    pub creator_id: String,
}

impl From<v1::Channel> for Channel {
    fn from(c: v1::Channel) -> Self {
        Channel {
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
        }
    }
}

impl From<Channel> for v1::Channel {
    fn from(c: Channel) -> Self {
        v1::Channel {
            id: c.id,
            create_at: c.create_at,
            update_at: c.update_at,
            delete_at: c.delete_at,
            team_id: c.team_id,
            r#type: c.channel_type,
            display_name: c.display_name,
            name: c.name,
            header: c.header,
            purpose: c.purpose,
            last_post_at: c.last_post_at,
            total_msg_count: c.total_msg_count,
            creator_id: c.creator_id,
        }
    }
}

/// A user's membership of a channel.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ChannelMember {
    pub channel_id: String,
    pub user_id: String,
    pub roles: String,
    pub last_viewed_at: i64,
    pub msg_count: i64,
    pub mention_count: i64,
    pub last_update_at: i64,
}

impl From<v1::ChannelMember> for ChannelMember {
    fn from(m: v1::ChannelMember) -> Self {
        ChannelMember {
            channel_id: m.channel_id,
            user_id: m.user_id,
            roles: m.roles,
            last_viewed_at: m.last_viewed_at,
            msg_count: m.msg_count,
            mention_count: m.mention_count,
            last_update_at: m.last_update_at,
        }
    }
}

impl From<ChannelMember> for v1::ChannelMember {
    fn from(m: ChannelMember) -> Self {
        v1::ChannelMember {
            channel_id: m.channel_id,
            user_id: m.user_id,
            roles: m.roles,
            last_viewed_at: m.last_viewed_at,
            msg_count: m.msg_count,
            mention_count: m.mention_count,
            last_update_at: m.last_update_at,
        }
    }
}

/// A user's membership of a team, as `UserHasJoinedTeam` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TeamMember {
    pub team_id: String,
    pub user_id: String,
}

/// A team. `team_type` is `"O"` (open) or `"I"` (invite only).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Team {
    pub id: String,
    pub create_at: i64,
    pub update_at: i64,
    pub delete_at: i64,
    pub display_name: String,
    pub name: String,
    pub description: String,
    pub email: String,
    #[serde(rename = "type")]
    pub team_type: String,
    pub allow_open_invite: bool,
}

impl From<v1::Team> for Team {
    fn from(t: v1::Team) -> Self {
        Team {
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
        }
    }
}

impl From<Team> for v1::Team {
    fn from(t: Team) -> Self {
        v1::Team {
            id: t.id,
            create_at: t.create_at,
            update_at: t.update_at,
            delete_at: t.delete_at,
            display_name: t.display_name,
            name: t.name,
            description: t.description,
            email: t.email,
            r#type: t.team_type,
            allow_open_invite: t.allow_open_invite,
        }
    }
}

/// A slash command to register with [`crate::Api::register_command`]. `trigger` is
/// without the slash.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Command {
    pub trigger: String,
    pub auto_complete: bool,
    pub auto_complete_desc: String,
    pub auto_complete_hint: String,
    pub display_name: String,
    pub description: String,
}

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

impl From<v1::Command> for Command {
    fn from(c: v1::Command) -> Self {
        Command {
            trigger: c.trigger,
            auto_complete: c.auto_complete,
            auto_complete_desc: c.auto_complete_desc,
            auto_complete_hint: c.auto_complete_hint,
            display_name: c.display_name,
            description: c.description,
        }
    }
}

impl From<Command> for v1::Command {
    fn from(c: Command) -> Self {
        v1::Command {
            trigger: c.trigger,
            auto_complete: c.auto_complete,
            auto_complete_desc: c.auto_complete_desc,
            auto_complete_hint: c.auto_complete_hint,
            display_name: c.display_name,
            description: c.description,
        }
    }
}

/// What `ExecuteCommand` receives: who ran which command line where.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CommandArgs {
    pub user_id: String,
    pub channel_id: String,
    pub team_id: String,
    pub root_id: String,
    /// The whole command line, slash included: `"/trigger add hello"`.
    pub command: String,
    /// The trigger, without the slash.
    pub trigger: String,
}

impl CommandArgs {
    /// The words after the trigger: `"/demo kv get x"` gives `["kv", "get", "x"]`.
    pub fn arguments(&self) -> Vec<&str> {
        self.command.split_whitespace().skip(1).collect()
    }
}

impl From<v1::CommandArgs> for CommandArgs {
    fn from(a: v1::CommandArgs) -> Self {
        CommandArgs {
            user_id: a.user_id,
            channel_id: a.channel_id,
            team_id: a.team_id,
            root_id: a.root_id,
            command: a.command,
            trigger: a.trigger,
        }
    }
}

impl From<CommandArgs> for v1::CommandArgs {
    fn from(a: CommandArgs) -> Self {
        v1::CommandArgs {
            user_id: a.user_id,
            channel_id: a.channel_id,
            team_id: a.team_id,
            root_id: a.root_id,
            command: a.command,
            trigger: a.trigger,
        }
    }
}

/// The answer to a slash command.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CommandResponse {
    /// `"ephemeral"` (only the caller sees `text`) or `"in_channel"` (`text` is posted
    /// as the caller).
    pub response_type: String,
    pub text: String,
    pub username: String,
    pub icon_url: String,
    pub goto_location: String,
    pub props: Map<String, Value>,
}

impl CommandResponse {
    /// A reply only the caller sees.
    pub fn ephemeral(text: impl Into<String>) -> CommandResponse {
        CommandResponse {
            response_type: "ephemeral".into(),
            text: text.into(),
            ..CommandResponse::default()
        }
    }

    /// A reply posted in the channel as the caller.
    pub fn in_channel(text: impl Into<String>) -> CommandResponse {
        CommandResponse {
            response_type: "in_channel".into(),
            text: text.into(),
            ..CommandResponse::default()
        }
    }
}

impl From<v1::CommandResponse> for CommandResponse {
    fn from(r: v1::CommandResponse) -> Self {
        CommandResponse {
            props: json_object(&r.props_json),
            response_type: r.response_type,
            text: r.text,
            username: r.username,
            icon_url: r.icon_url,
            goto_location: r.goto_location,
        }
    }
}

impl From<CommandResponse> for v1::CommandResponse {
    fn from(r: CommandResponse) -> Self {
        v1::CommandResponse {
            props_json: json_text(&r.props),
            response_type: r.response_type,
            text: r.text,
            username: r.username,
            icon_url: r.icon_url,
            goto_location: r.goto_location,
        }
    }
}

/// Who a websocket event is for; empty fields do not restrict, so
/// `Broadcast::default()` reaches everyone.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Broadcast {
    pub user_id: String,
    pub channel_id: String,
    pub team_id: String,
    pub omit_user_ids: Vec<String>,
}

impl Broadcast {
    pub fn to_user(user_id: impl Into<String>) -> Broadcast {
        Broadcast {
            user_id: user_id.into(),
            ..Broadcast::default()
        }
    }

    pub fn to_channel(channel_id: impl Into<String>) -> Broadcast {
        Broadcast {
            channel_id: channel_id.into(),
            ..Broadcast::default()
        }
    }

    pub fn to_team(team_id: impl Into<String>) -> Broadcast {
        Broadcast {
            team_id: team_id.into(),
            ..Broadcast::default()
        }
    }
}

impl From<v1::Broadcast> for Broadcast {
    fn from(b: v1::Broadcast) -> Self {
        Broadcast {
            user_id: b.user_id,
            channel_id: b.channel_id,
            team_id: b.team_id,
            omit_user_ids: b.omit_user_ids,
        }
    }
}

impl From<Broadcast> for v1::Broadcast {
    fn from(b: Broadcast) -> Self {
        v1::Broadcast {
            user_id: b.user_id,
            channel_id: b.channel_id,
            team_id: b.team_id,
            omit_user_ids: b.omit_user_ids,
        }
    }
}

/// A message from another running copy of this plugin, sent with
/// [`crate::Api::publish_plugin_cluster_event`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterEvent {
    pub id: String,
    pub data: Vec<u8>,
    /// The node the event was published on.
    pub source_node_id: String,
}

impl From<v1::PluginClusterEvent> for ClusterEvent {
    fn from(e: v1::PluginClusterEvent) -> Self {
        ClusterEvent {
            id: e.id,
            data: e.data,
            source_node_id: e.source_node_id,
        }
    }
}

impl From<ClusterEvent> for v1::PluginClusterEvent {
    fn from(e: ClusterEvent) -> Self {
        v1::PluginClusterEvent {
            id: e.id,
            data: e.data,
            source_node_id: e.source_node_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn post_props_travel_as_json_text() {
        let mut post = Post::new("c1", "hi");
        post.props.insert("from_plugin".into(), json!(true));
        let wire: v1::Post = post.clone().into();
        assert_eq!(wire.props_json, r#"{"from_plugin":true}"#);
        assert_eq!(Post::from(wire), post);

        let empty: v1::Post = Post::new("c1", "hi").into();
        assert_eq!(
            empty.props_json, "",
            "an empty object travels as the empty string"
        );
        let garbage = v1::Post {
            props_json: "not json".into(),
            ..v1::Post::default()
        };
        assert!(Post::from(garbage).props.is_empty());
    }

    #[test]
    fn types_serialize_in_mattermost_shape() {
        let post = Post {
            post_type: "custom_demo".into(),
            ..Post::new("c1", "hi")
        };
        let value = serde_json::to_value(&post).unwrap();
        assert_eq!(value["type"], "custom_demo");
        assert_eq!(value["props"], json!({}));
        let channel = Channel {
            channel_type: "O".into(),
            ..Channel::default()
        };
        assert_eq!(serde_json::to_value(&channel).unwrap()["type"], "O");
    }

    #[test]
    fn command_arguments_skip_the_trigger() {
        let args = CommandArgs {
            command: "/demo  kv get   x".into(),
            ..CommandArgs::default()
        };
        assert_eq!(args.arguments(), ["kv", "get", "x"]);
    }
}
