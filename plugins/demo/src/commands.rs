//! `/demo`: the slash command whose subcommands between them call every API method.

use crate::cluster::increment;
use crate::demo::{Demo, TRIGGER};
use chorus_plugin::model::{
    AutocompleteArg, AutocompleteData, AUTOCOMPLETE_DYNAMIC_LIST, AUTOCOMPLETE_STATIC_LIST,
    AUTOCOMPLETE_TEXT_INPUT,
};
use chorus_plugin::{
    Api, ApiError, Broadcast, CommandArgs, CommandResponse, KvSetOptions, Post, Preference,
    Reaction,
};
use serde_json::{json, Value};
use std::time::Duration;

pub(crate) const HELP: &str = "\
/demo greet                  greet you with the configured Greeting
/demo echo <text>            post <text> in the channel as you
/demo post <text>            have demo-bot post <text> here
/demo edit <post id> <text>  edit a post
/demo delete <post id>       delete a post
/demo react <post id> <emoji>  react to a post as you (unreact: take it back)
/demo pref set|del <category> <name> [value]  change one of your preferences
/demo status [online|away|offline|dnd]        show (or set) your status
/demo file <text>  upload <text> as note.txt, read it back and post it as the bot
/demo whisper <text>         an ephemeral post from demo-bot, only you see it
/demo vanish <text>          an ephemeral post, updated, then taken back
/demo ask <question>         demo-bot asks with Answer and Close buttons
/demo dialog                 open a dialog (its answer is posted by demo-bot)
/demo dm <username>          demo-bot sends <username> a direct message
/demo join <channel name>    add you to a channel of this team
/demo channel                about this channel
/demo team                   this team, every team, and your membership
/demo jointeam <team name>   join another team
/demo members                this channel's members and the team's users
/demo can <permission>       whether you hold a permission, system, team, channel
/demo newchannel <name>      the plugin makes a private channel with you in it
/demo kick <username>        take someone out of this channel
/demo header <text>          the plugin sets this channel's header
/demo nickname <text>        the plugin sets your nickname
/demo avatar                 your profile picture becomes demo-bot's
/demo leaveteam              leave this team (and all its channels)
/demo thread <post id>       how many posts a thread has
/demo since <ms>             how many posts of this channel changed since then
/demo bot <username>         the plugin makes, patches and reads a bot
/demo server                 configuration, licence, telemetry id, plugin status
/demo kv get|set|del|list|incr|expire|cas-del|clear ...  the plugin's KV store
/demo config greeting <text> change the Greeting setting
/demo cluster <text>         send <text> to the plugin on the other servers
/demo ws <event>             send you a websocket event custom_com.chorus.demo_<event>
/demo version                the server's version
/demo unregister             remove /demo until the plugin is activated again";

/// What `/demo` offers as one types it (a few of its subcommands, with their
/// arguments), as Mattermost's AutocompleteData.
pub(crate) fn autocomplete_data() -> AutocompleteData {
    let sub =
        |trigger: &str, hint: &str, help: &str, arguments: Vec<AutocompleteArg>| AutocompleteData {
            trigger: trigger.into(),
            hint: hint.into(),
            help_text: help.into(),
            arguments,
            ..AutocompleteData::default()
        };
    let text = |help: &str, hint: &str| AutocompleteArg {
        help_text: help.into(),
        arg_type: AUTOCOMPLETE_TEXT_INPUT.into(),
        required: true,
        data: json!({"Hint": hint, "Pattern": ""}),
        ..AutocompleteArg::default()
    };
    let statuses = ["online", "away", "offline", "dnd"]
        .map(|s| json!({"Item": s, "Hint": "", "HelpText": format!("set your status to {s}")}));
    AutocompleteData {
        trigger: TRIGGER.into(),
        hint: "[greet|echo|status|whisper|version|kv]".into(),
        help_text: "Try every API call of the demo plugin".into(),
        sub_commands: vec![
            sub(
                "greet",
                "",
                "greet you with the configured Greeting",
                vec![],
            ),
            sub(
                "echo",
                "<text>",
                "post <text> in the channel as you",
                vec![text("what to post", "text")],
            ),
            sub(
                "status",
                "[online|away|offline|dnd]",
                "show (or set) your status",
                vec![AutocompleteArg {
                    help_text: "the status to set".into(),
                    arg_type: AUTOCOMPLETE_STATIC_LIST.into(),
                    data: json!({"PossibleArguments": statuses}),
                    ..AutocompleteArg::default()
                }],
            ),
            sub(
                "whisper",
                "<text>",
                "an ephemeral post from demo-bot",
                vec![text("what to whisper", "text")],
            ),
            sub("version", "", "the server's version", vec![]),
            AutocompleteData {
                sub_commands: vec![sub(
                    "get",
                    "<key>",
                    "read a key",
                    vec![AutocompleteArg {
                        help_text: "one of the plugin's keys".into(),
                        arg_type: AUTOCOMPLETE_DYNAMIC_LIST.into(),
                        required: true,
                        data: json!({"FetchURL": "/autocomplete/kv-keys"}),
                        ..AutocompleteArg::default()
                    }],
                )],
                ..sub(
                    "kv",
                    "get|set|del|list|...",
                    "the plugin's KV store",
                    vec![],
                )
            },
        ],
        ..AutocompleteData::default()
    }
}

impl Demo {
    pub(crate) async fn run_command(
        &self,
        api: &Api,
        args: &CommandArgs,
    ) -> Result<CommandResponse, ApiError> {
        let words = args.arguments();
        // The text after the first `n` words, spacing kept.
        let rest = |n: usize| -> String {
            let mut text = args.command.trim_start();
            for _ in 0..=n {
                text = text
                    .split_once(char::is_whitespace)
                    .map_or("", |(_, after)| after)
                    .trim_start();
            }
            text.to_string()
        };
        fn reply(text: impl Into<String>) -> CommandResponse {
            CommandResponse::ephemeral(text)
        }
        let response = match words.as_slice() {
            [] | ["help"] => reply(HELP),
            ["greet"] => {
                let user = api.get_user(&args.user_id).await?;
                reply(format!("{}, @{}!", self.config().greeting, user.username))
            }
            ["echo", ..] => CommandResponse::in_channel(rest(1)),
            ["post", ..] => {
                let post = Post {
                    user_id: self.bot_id(api).await?,
                    ..Post::new(&args.channel_id, rest(1))
                };
                let post = api.create_post(post).await?;
                reply(format!("demo-bot posted {}", post.id))
            }
            ["edit", post_id, ..] => {
                let mut post = api.get_post(*post_id).await?;
                post.message = rest(2);
                let post = api.update_post(post).await?;
                reply(format!("edited {}", post.id))
            }
            ["delete", post_id] => {
                api.delete_post(*post_id).await?;
                reply(format!("deleted {post_id}"))
            }
            ["whisper", ..] => {
                let post = Post {
                    user_id: self.bot_id(api).await?,
                    ..Post::new(&args.channel_id, rest(1))
                };
                api.send_ephemeral_post(&args.user_id, post).await?;
                reply("whispered")
            }
            ["vanish", _, ..] => reply(self.vanish(api, args, rest(1)).await?),
            ["ask", _, ..] => reply(self.ask(api, args, rest(1)).await?),
            ["dialog"] => reply(self.open_dialog(api, args).await?),
            ["dm", username] => {
                let user = api
                    .get_user_by_username(username.trim_start_matches('@'))
                    .await?;
                let bot_id = self.bot_id(api).await?;
                let channel = api.get_direct_channel(&bot_id, &user.id).await?;
                let greeting = format!(
                    "{} from the demo plugin, @{}!",
                    self.config().greeting,
                    user.username
                );
                api.create_post(Post {
                    user_id: bot_id,
                    ..Post::new(&channel.id, greeting)
                })
                .await?;
                reply(format!("sent @{} a direct message", user.username))
            }
            ["join", name] => {
                let team = api.get_team(&args.team_id).await?;
                let channel = api.get_channel_by_name(&team.id, *name).await?;
                api.add_channel_member(&channel.id, &args.user_id).await?;
                reply(format!(
                    "added you to ~{} in {}",
                    channel.name, team.display_name
                ))
            }
            ["react" | "unreact", post_id, emoji] => {
                let reaction = Reaction {
                    user_id: args.user_id.clone(),
                    post_id: post_id.to_string(),
                    emoji_name: emoji.to_string(),
                    ..Reaction::default()
                };
                if words[0] == "react" {
                    api.add_reaction(reaction).await?;
                } else {
                    api.remove_reaction(reaction).await?;
                }
                let count = api.get_reactions(*post_id).await?.len();
                reply(format!("the post has {count} reactions"))
            }
            ["pref", action @ ("set" | "del"), category, name, ..] => {
                let preference = Preference {
                    user_id: args.user_id.clone(),
                    category: category.to_string(),
                    name: name.to_string(),
                    value: rest(4),
                };
                if *action == "set" {
                    api.update_preferences_for_user(&args.user_id, vec![preference])
                        .await?;
                } else {
                    api.delete_preferences_for_user(&args.user_id, vec![preference])
                        .await?;
                }
                let count = api.get_preferences_for_user(&args.user_id).await?.len();
                reply(format!("you have {count} preferences"))
            }
            ["status"] => {
                let status = api.get_user_status(&args.user_id).await?;
                reply(format!("your status is {}", status.status))
            }
            ["status", wanted] => {
                api.update_user_status(&args.user_id, *wanted, 0).await?;
                let statuses = api
                    .get_user_statuses_by_ids(std::slice::from_ref(&args.user_id))
                    .await?;
                reply(format!("your status is {}", statuses[0].status))
            }
            ["file", _, ..] => {
                // Upload, read back and post a file as the bot.
                let text = rest(1);
                let info = api
                    .upload_file(text.clone().into_bytes(), &args.channel_id, "note.txt")
                    .await?;
                let content = api.get_file(&info.id).await?;
                if content != text.as_bytes() {
                    return Ok(reply("the file read back differs from the one uploaded"));
                }
                let bot_id = self.bot_id(api).await?;
                let post = api
                    .create_post(Post {
                        user_id: bot_id,
                        file_ids: vec![info.id.clone()],
                        ..Post::new(&args.channel_id, "a file from the demo plugin")
                    })
                    .await?;
                let attached = api.get_file_info(&info.id).await?;
                reply(format!(
                    "uploaded {} ({} bytes) as {}, attached to {}",
                    info.id, info.size, attached.name, post.id
                ))
            }
            ["team"] => reply(self.team_report(api, args).await?),
            ["jointeam", name] => reply(self.join_team(api, args, name).await?),
            ["members"] => reply(self.members_report(api, args).await?),
            ["can", permission] => reply(self.permission_report(api, args, permission).await?),
            ["newchannel", name] => reply(self.new_channel(api, args, name).await?),
            ["kick", username] => reply(self.kick(api, args, username).await?),
            ["header", ..] => reply(self.set_header(api, args, &rest(1)).await?),
            ["nickname", ..] => reply(self.set_nickname(api, args, &rest(1)).await?),
            ["avatar"] => reply(self.avatar_report(api, args).await?),
            ["leaveteam"] => reply(self.leave_team(api, args).await?),
            ["thread", post_id] => reply(self.thread_report(api, post_id).await?),
            ["since", since] => reply(self.since_report(api, args, since).await?),
            ["bot", username] => reply(self.make_bot(api, username).await?),
            ["server"] => reply(self.server_report(api).await?),
            ["channel"] => {
                let channel = api.get_channel(&args.channel_id).await?;
                reply(format!(
                    "~{} ({}), type {}",
                    channel.name, channel.display_name, channel.channel_type
                ))
            }
            ["kv", ..] => reply(self.kv_command(api, &words[1..], rest(3)).await?),
            ["config", "greeting", ..] => {
                // Read-modify-write the whole settings object: other settings stay as
                // they are. Every copy of the plugin then gets OnConfigurationChange.
                let mut config = api.get_plugin_config().await?;
                config["Greeting"] = Value::String(rest(2));
                api.save_plugin_config(&config).await?;
                reply(format!("Greeting is now {:?}", rest(2)))
            }
            ["cluster", ..] => {
                api.publish_plugin_cluster_event("demo", rest(1), None)
                    .await?;
                reply("sent to the other servers")
            }
            ["cluster-to", node_id, ..] => {
                api.publish_plugin_cluster_event("demo", rest(2), Some(node_id))
                    .await?;
                reply(format!("sent to server {node_id}"))
            }
            ["ws", event] => {
                let data = json!({ "from": "demo", "user_id": args.user_id });
                api.publish_websocket_event(*event, data, Broadcast::to_user(&args.user_id))
                    .await?;
                reply(format!("sent custom_com.chorus.demo_{event}"))
            }
            ["version"] => reply(format!(
                "Server version {}",
                api.get_server_version().await?
            )),
            ["unregister"] => {
                api.unregister_command(TRIGGER).await?;
                reply(format!(
                    "/{TRIGGER} is gone until the plugin is activated again"
                ))
            }
            _ => reply(format!("unknown subcommand; try:\n{HELP}")),
        };
        Ok(response)
    }

    /// `/demo kv ...`: the KV store by hand. `value` is the text after the key.
    pub(crate) async fn kv_command(
        &self,
        api: &Api,
        words: &[&str],
        value: String,
    ) -> Result<String, ApiError> {
        Ok(match words {
            ["get", key] => match api.kv_get(*key).await? {
                Some(bytes) => format!("{key} = {}", String::from_utf8_lossy(&bytes)),
                None => format!("{key} is not set"),
            },
            ["set", key, ..] => {
                api.kv_set(*key, value).await?;
                format!("set {key}")
            }
            ["del", key] => {
                api.kv_delete(*key).await?;
                format!("deleted {key}")
            }
            ["list"] | ["list", _] => {
                let prefix = words.get(1).copied().unwrap_or("");
                let keys = api.kv_list(prefix, 0, 100).await?;
                format!("{} keys: {}", keys.len(), keys.join(", "))
            }
            ["incr", key] => format!("{key} = {}", increment(api, key).await?),
            ["expire", key, seconds, ..] => {
                let seconds: u64 = seconds.parse().map_err(|_| ApiError::InvalidArgument("seconds?".into()))?;
                // `value` starts after the key; drop the seconds word from it.
                let text = value.split_once(char::is_whitespace).map_or("", |(_, v)| v).to_string();
                let options = KvSetOptions { expire_in: Some(Duration::from_secs(seconds)), ..KvSetOptions::default() };
                api.kv_set_with_options(*key, Some(text.into_bytes()), options).await?;
                format!("set {key} for {seconds} s")
            }
            ["cas-del", key, ..] => match api.kv_compare_and_delete(*key, value.as_bytes()).await? {
                true => format!("deleted {key}"),
                false => format!("{key} did not hold {value:?}; left alone"),
            },
            ["clear"] => {
                api.kv_delete_all().await?;
                "deleted every key".into()
            }
            _ => "usage: /demo kv get <key> | set <key> <value> | del <key> | list [prefix] | incr <key> | \
                  expire <key> <seconds> <value> | cas-del <key> <value> | clear"
                .into(),
        })
    }
}
