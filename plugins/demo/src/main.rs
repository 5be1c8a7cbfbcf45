//! The Chorus demo plugin: every hook and every API call of the `chorus-plugin` SDK,
//! written to be read by someone learning to write plugins.
//!
//! What it does, so that you (and the server's tests) can watch each part work:
//!
//! - **Moderation** (`MessageWillBePosted`, `MessageWillBeUpdated`): a post containing
//!   the configured `RejectWord` (default "forbidden", case-insensitive) is rejected
//!   while `RejectWordEnabled` is on; otherwise a post containing `{{upper}}` is
//!   rewritten in upper case with the marker removed; anything else goes through
//!   unchanged.
//! - **Notification hooks** (`MessageHasBeenPosted` and every other `...Has...` hook,
//!   `OnPluginClusterEvent`, the lifecycle hooks, `ExecuteCommand`): each records what
//!   it saw in the KV store under `hook:<HookName>:<id>` as JSON
//!   `{"hook", "context", ...the data}`. The ids are listed in [`Demo::record`].
//! - **`/demo`**: a slash command registered on activation; `/demo help` lists its
//!   subcommands, which between them call every API method.
//! - **HTTP** at `/plugins/com.chorus.demo/...`: `GET /hello`, `GET /headers`,
//!   `POST /echo`, `GET /kv/<key>` and `PUT /kv/<key>` (see [`Demo::serve_http`]).
//! - **Cluster coordination** under `/cluster/...`: a compare-and-set counter and a
//!   critical section guarded by the SDK's `ClusterMutex`, which the server's cluster
//!   tests call on several nodes at once (see [`serve_cluster`]).
//! - **A bot**, `demo-bot`, ensured on activation, posts on the plugin's behalf.

use chorus_plugin::{
    Api, ApiError, Broadcast, Channel, ChannelMember, ClusterEvent, ClusterMutex, Command,
    CommandArgs, CommandResponse, Context, Hook, HookError, HttpRequest, HttpResponse,
    KvSetOptions, LogLevel, Plugin, Post, PostDecision, TeamMember, User,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::RwLock;
use std::time::Duration;

/// The plugin's settings, as declared in `plugin.json`'s `settings_schema`.
///
/// The server sends the administrator's values merged over the manifest's defaults.
/// Mattermost stores setting keys lower-cased in `config.json`, so each field also
/// accepts its lower-case spelling; `#[serde(default)]` keeps the plugin working when
/// a key is missing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
struct Config {
    #[serde(rename = "Greeting", alias = "greeting")]
    greeting: String,
    #[serde(rename = "RejectWordEnabled", alias = "rejectwordenabled")]
    reject_word_enabled: bool,
    #[serde(rename = "RejectWord", alias = "rejectword")]
    reject_word: String,
}

impl Default for Config {
    /// The same defaults as the manifest, for a server that sends none.
    fn default() -> Self {
        Config {
            greeting: "Hello".into(),
            reject_word_enabled: true,
            reject_word: "forbidden".into(),
        }
    }
}

const BOT_USERNAME: &str = "demo-bot";
const TRIGGER: &str = "demo";
const UPPER_MARKER: &str = "{{upper}}";

/// The plugin's state. Hooks run concurrently, so shared state sits behind locks.
/// Only what can be rebuilt at any time lives in memory (the settings, the bot's id);
/// anything that must be the same on every app server of a cluster goes in the KV
/// store, because each server runs its own copy of the plugin.
#[derive(Default)]
struct Demo {
    /// Read on every post, so kept in memory rather than fetched per call; refreshed
    /// by `OnActivate` and `OnConfigurationChange`.
    config: RwLock<Config>,
    bot_id: RwLock<Option<String>>,
}

impl Demo {
    fn config(&self) -> Config {
        self.config
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    async fn load_config(&self, api: &Api) -> Result<Config, ApiError> {
        let config: Config = api.get_plugin_config_as().await?;
        *self.config.write().unwrap_or_else(|e| e.into_inner()) = config.clone();
        Ok(config)
    }

    /// The bot's user id. `ensure_bot_user` is idempotent, so calling it again after a
    /// failed activation is safe.
    async fn bot_id(&self, api: &Api) -> Result<String, ApiError> {
        if let Some(id) = self
            .bot_id
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
        {
            return Ok(id);
        }
        let bot = api
            .ensure_bot_user(BOT_USERNAME, "Demo Bot", "Posts for the demo plugin")
            .await?;
        *self.bot_id.write().unwrap_or_else(|e| e.into_inner()) = Some(bot.id.clone());
        Ok(bot.id)
    }

    /// Records that `hook` fired, under `hook:<HookName>:<id>`, with `data` merged into
    /// `{"hook": ..., "context": ...}`. The ids:
    ///
    /// | hook | id |
    /// | --- | --- |
    /// | `OnActivate`, `OnDeactivate`, `OnConfigurationChange` | `last` |
    /// | `OnConfigurationChange`, again per copy | `copy:<process id>` |
    /// | `MessageHasBeenPosted/Updated/Deleted` | the post id |
    /// | `ChannelHasBeenCreated` | the channel id |
    /// | `UserHasBeenCreated`, `UserHasLoggedIn` | the user id |
    /// | `UserHasJoinedChannel`, `UserHasLeftChannel` | `<channel id>:<user id>` |
    /// | `UserHasJoinedTeam` | `<team id>:<user id>` |
    /// | `ExecuteCommand` | the caller's user id |
    /// | `OnPluginClusterEvent` | the event id, and `copy:<process id>:<data>` |
    async fn record(
        &self,
        api: &Api,
        hook: Hook,
        id: &str,
        context: Option<&Context>,
        data: Value,
    ) -> Result<(), ApiError> {
        let mut record = json!({ "hook": hook.name(), "context": context });
        if let (Value::Object(record), Value::Object(data)) = (&mut record, data) {
            record.extend(data);
        }
        api.kv_set_json(format!("hook:{}:{id}", hook.name()), &record)
            .await
    }

    /// The moderation rule of both "will be" hooks. It calls no API: it runs on the
    /// path of every post, under the server's deadline, so it stays in memory.
    fn moderate(&self, mut post: Post) -> PostDecision {
        let config = self.config();
        let word = config.reject_word.trim().to_lowercase();
        if config.reject_word_enabled
            && !word.is_empty()
            && post.message.to_lowercase().contains(&word)
        {
            return PostDecision::Reject(format!(
                "Your message contains \"{}\", which the demo plugin does not allow.",
                config.reject_word.trim()
            ));
        }
        if post.message.contains(UPPER_MARKER) {
            post.message = post.message.replace(UPPER_MARKER, "").trim().to_uppercase();
            return PostDecision::Replace(post);
        }
        PostDecision::Accept
    }
}

impl Plugin for Demo {
    /// The server calls only the hooks listed here, whatever the trait's defaults.
    fn implemented(&self) -> Vec<Hook> {
        Hook::ALL.to_vec()
    }

    async fn on_activate(&self, api: &Api) -> Result<(), HookError> {
        // An error here keeps the plugin from starting and shows the administrator
        // why, so fail early on what the plugin cannot run without.
        let config = self.load_config(api).await?;
        let bot_id = self.bot_id(api).await?;
        api.register_command(Command {
            auto_complete_hint: "[help|greet|post|kv|...]".into(),
            display_name: "Demo".into(),
            ..Command::new(TRIGGER, "Try every API call of the demo plugin")
        })
        .await?;
        let version = api.get_server_version().await?;
        api.log(
            LogLevel::Info,
            "demo plugin activated",
            [("bot_id", bot_id.as_str()), ("server", version.as_str())],
        )
        .await;
        self.record(
            api,
            Hook::OnActivate,
            "last",
            None,
            json!({ "bot_id": bot_id, "server_version": version, "config": config }),
        )
        .await?;
        Ok(())
    }

    async fn on_deactivate(&self, api: &Api) -> Result<(), HookError> {
        // The command is not unregistered here: in a cluster, one server stopping its
        // copy of the plugin must not take `/demo` away from the others.
        api.log_info("demo plugin deactivated").await;
        self.record(api, Hook::OnDeactivate, "last", None, json!({}))
            .await?;
        Ok(())
    }

    async fn on_configuration_change(&self, api: &Api) -> Result<(), HookError> {
        let config = self.load_config(api).await?;
        self.record(
            api,
            Hook::OnConfigurationChange,
            "last",
            None,
            json!({ "config": config }),
        )
        .await?;
        // Per copy as well, so that a cluster test can see that every node's copy heard.
        self.record(
            api,
            Hook::OnConfigurationChange,
            &format!("copy:{}", std::process::id()),
            None,
            json!({ "config": config }),
        )
        .await?;
        Ok(())
    }

    async fn message_will_be_posted(
        &self,
        api: &Api,
        _ctx: &Context,
        post: Post,
    ) -> Result<PostDecision, HookError> {
        let decision = self.moderate(post);
        if let PostDecision::Reject(reason) = &decision {
            // Work the author need not wait for goes to a background task: the post's
            // round trip ends as soon as this hook returns.
            let (api, reason) = (api.clone(), reason.clone());
            tokio::spawn(async move { api.log_debug(format!("rejected a post: {reason}")).await });
        }
        Ok(decision)
    }

    async fn message_will_be_updated(
        &self,
        _api: &Api,
        _ctx: &Context,
        new_post: Post,
        _old_post: Post,
    ) -> Result<PostDecision, HookError> {
        Ok(self.moderate(new_post))
    }

    async fn message_has_been_posted(
        &self,
        api: &Api,
        ctx: &Context,
        post: Post,
    ) -> Result<(), HookError> {
        self.record(
            api,
            Hook::MessageHasBeenPosted,
            &post.id,
            Some(ctx),
            json!({ "post": post }),
        )
        .await?;
        Ok(())
    }

    async fn message_has_been_updated(
        &self,
        api: &Api,
        ctx: &Context,
        new_post: Post,
        old_post: Post,
    ) -> Result<(), HookError> {
        let data = json!({ "new_post": new_post, "old_post": old_post });
        self.record(
            api,
            Hook::MessageHasBeenUpdated,
            &new_post.id,
            Some(ctx),
            data,
        )
        .await?;
        Ok(())
    }

    async fn message_has_been_deleted(
        &self,
        api: &Api,
        ctx: &Context,
        post: Post,
    ) -> Result<(), HookError> {
        self.record(
            api,
            Hook::MessageHasBeenDeleted,
            &post.id,
            Some(ctx),
            json!({ "post": post }),
        )
        .await?;
        Ok(())
    }

    async fn channel_has_been_created(
        &self,
        api: &Api,
        ctx: &Context,
        channel: Channel,
    ) -> Result<(), HookError> {
        self.record(
            api,
            Hook::ChannelHasBeenCreated,
            &channel.id,
            Some(ctx),
            json!({ "channel": channel }),
        )
        .await?;
        Ok(())
    }

    async fn user_has_been_created(
        &self,
        api: &Api,
        ctx: &Context,
        user: User,
    ) -> Result<(), HookError> {
        self.record(
            api,
            Hook::UserHasBeenCreated,
            &user.id,
            Some(ctx),
            json!({ "user": user }),
        )
        .await?;
        Ok(())
    }

    async fn user_has_joined_channel(
        &self,
        api: &Api,
        ctx: &Context,
        member: ChannelMember,
        actor_id: Option<String>,
    ) -> Result<(), HookError> {
        let id = format!("{}:{}", member.channel_id, member.user_id);
        let data = json!({ "member": member, "actor_id": actor_id });
        self.record(api, Hook::UserHasJoinedChannel, &id, Some(ctx), data)
            .await?;
        Ok(())
    }

    async fn user_has_left_channel(
        &self,
        api: &Api,
        ctx: &Context,
        member: ChannelMember,
        actor_id: Option<String>,
    ) -> Result<(), HookError> {
        let id = format!("{}:{}", member.channel_id, member.user_id);
        let data = json!({ "member": member, "actor_id": actor_id });
        self.record(api, Hook::UserHasLeftChannel, &id, Some(ctx), data)
            .await?;
        Ok(())
    }

    async fn user_has_joined_team(
        &self,
        api: &Api,
        ctx: &Context,
        member: TeamMember,
        actor_id: Option<String>,
    ) -> Result<(), HookError> {
        let id = format!("{}:{}", member.team_id, member.user_id);
        let data = json!({ "member": member, "actor_id": actor_id });
        self.record(api, Hook::UserHasJoinedTeam, &id, Some(ctx), data)
            .await?;
        Ok(())
    }

    async fn user_has_logged_in(
        &self,
        api: &Api,
        ctx: &Context,
        user: User,
    ) -> Result<(), HookError> {
        self.record(
            api,
            Hook::UserHasLoggedIn,
            &user.id,
            Some(ctx),
            json!({ "user": user }),
        )
        .await?;
        Ok(())
    }

    async fn execute_command(
        &self,
        api: &Api,
        ctx: &Context,
        args: CommandArgs,
    ) -> Result<CommandResponse, HookError> {
        self.record(
            api,
            Hook::ExecuteCommand,
            &args.user_id,
            Some(ctx),
            json!({ "args": args }),
        )
        .await?;
        // A failed API call becomes a reply the user can read, rather than a hook
        // failure the server would only log.
        match self.run_command(api, &args).await {
            Ok(response) => Ok(response),
            Err(error) => Ok(CommandResponse::ephemeral(format!(
                "/{TRIGGER} failed: {error}"
            ))),
        }
    }

    /// The plugin's HTTP routes, under `/plugins/com.chorus.demo`:
    ///
    /// - `GET /hello`: `{"user_id": <the signed-in user or null>, "greeting": <Greeting>}`.
    /// - `GET /headers`: the request headers as a JSON object (lower-cased names,
    ///   repeated headers joined with ", "), to see what the server passes on.
    /// - `POST /echo`: the body back, with the request's `Content-Type`.
    /// - `GET /kv/<key>`: the value (`application/json` if it is JSON), 404 if absent.
    /// - `PUT /kv/<key>`: stores the body; 204.
    /// - `/cluster/...`: see [`serve_cluster`].
    ///
    /// The `/kv` routes need a signed-in user (401 otherwise): a plugin's KV store is
    /// its own business, not the public's.
    async fn serve_http(&self, api: &Api, request: HttpRequest) -> HttpResponse {
        // The server sets Mattermost-User-Id for a signed-in user (and strips any the
        // client sent); `user_id` carries the same value.
        let user_id = request
            .header("Mattermost-User-Id")
            .map(str::to_string)
            .or_else(|| request.user_id.clone());
        let method = request.method.as_str();
        match (method, request.path.as_str()) {
            ("GET", "/hello") => HttpResponse::json(
                200,
                &json!({ "user_id": user_id, "greeting": self.config().greeting }),
            ),
            ("GET", "/headers") => {
                let mut headers = serde_json::Map::new();
                for (name, value) in &request.headers {
                    let name = name.to_ascii_lowercase();
                    let joined = match headers.get(&name).and_then(Value::as_str) {
                        Some(previous) => format!("{previous}, {value}"),
                        None => value.clone(),
                    };
                    headers.insert(name, Value::String(joined));
                }
                HttpResponse::json(200, &headers)
            }
            ("POST", "/echo") => {
                let content_type = request
                    .header("Content-Type")
                    .unwrap_or("application/octet-stream")
                    .to_string();
                HttpResponse::new(200)
                    .with_header("Content-Type", content_type)
                    .with_body(request.body)
            }
            (_, path) if path.starts_with("/kv/") && path.len() > "/kv/".len() => {
                if user_id.is_none() {
                    return HttpResponse::json(
                        401,
                        &json!({ "error": "sign in to use the demo plugin's KV routes" }),
                    );
                }
                let key = request.decoded_path()["/kv/".len()..].to_string();
                match method {
                    "GET" => match api.kv_get(&key).await {
                        Ok(Some(value)) => {
                            let content_type = if serde_json::from_slice::<Value>(&value).is_ok() {
                                "application/json"
                            } else {
                                "application/octet-stream"
                            };
                            HttpResponse::new(200)
                                .with_header("Content-Type", content_type)
                                .with_body(value)
                        }
                        Ok(None) => {
                            HttpResponse::json(404, &json!({ "error": format!("no key {key:?}") }))
                        }
                        Err(error) => api_error_response(&error),
                    },
                    "PUT" => match api.kv_set(&key, request.body).await {
                        Ok(()) => HttpResponse::new(204),
                        Err(error) => api_error_response(&error),
                    },
                    _ => HttpResponse::json(405, &json!({ "error": "use GET or PUT" }))
                        .with_header("Allow", "GET, PUT"),
                }
            }
            (_, path) if path.starts_with("/cluster/") => serve_cluster(api, &request).await,
            _ => HttpResponse::not_found(),
        }
    }

    async fn on_plugin_cluster_event(
        &self,
        api: &Api,
        event: ClusterEvent,
    ) -> Result<(), HookError> {
        let data = json!({
            "id": event.id,
            "data": String::from_utf8_lossy(&event.data),
            "source_node_id": event.source_node_id,
        });
        let copy_id = format!(
            "copy:{}:{}",
            std::process::id(),
            String::from_utf8_lossy(&event.data)
        );
        self.record(
            api,
            Hook::OnPluginClusterEvent,
            &event.id,
            None,
            data.clone(),
        )
        .await?;
        self.record(api, Hook::OnPluginClusterEvent, &copy_id, None, data)
            .await?;
        Ok(())
    }
}

/// An API failure as an HTTP answer, with the status that means the same thing.
fn api_error_response(error: &ApiError) -> HttpResponse {
    let status = match error {
        ApiError::NotFound(_) => 404,
        ApiError::InvalidArgument(_) | ApiError::Json(_) => 400,
        ApiError::PermissionDenied(_) => 403,
        ApiError::AlreadyExists(_) => 409,
        ApiError::Unavailable(_) => 503,
        ApiError::Other { .. } => 500,
    };
    HttpResponse::json(status, &json!({ "error": error.to_string() }))
}

const HELP: &str = "\
/demo greet                  greet you with the configured Greeting
/demo echo <text>            post <text> in the channel as you
/demo post <text>            have demo-bot post <text> here
/demo edit <post id> <text>  edit a post
/demo delete <post id>       delete a post
/demo whisper <text>         an ephemeral post from demo-bot, only you see it
/demo dm <username>          demo-bot sends <username> a direct message
/demo join <channel name>    add you to a channel of this team
/demo channel                about this channel
/demo kv get|set|del|list|incr|expire|cas-del|clear ...  the plugin's KV store
/demo config greeting <text> change the Greeting setting
/demo cluster <text>         send <text> to the plugin on the other servers
/demo ws <event>             send you a websocket event custom_com.chorus.demo_<event>
/demo version                the server's version
/demo unregister             remove /demo until the plugin is activated again";

impl Demo {
    async fn run_command(
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
            ["version"] => reply(format!("Chorus {}", api.get_server_version().await?)),
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
    async fn kv_command(
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

/// A counter that stays right when several copies of the plugin increment it at
/// once: read, then write only if nobody wrote in between (compare-and-set), else
/// retry. `kv_get_json` / `kv_set_json` would read nicer, but compare-and-set compares
/// bytes, so the bytes read are the bytes compared.
async fn increment(api: &Api, key: &str) -> Result<u64, ApiError> {
    loop {
        let current = api.kv_get(key).await?;
        let value = match &current {
            Some(bytes) => serde_json::from_slice::<u64>(bytes)?,
            None => 0,
        };
        if api
            .kv_compare_and_set(key, current.as_deref(), (value + 1).to_string())
            .await?
        {
            return Ok(value + 1);
        }
    }
}

/// The KV keys of the `/cluster` routes.
const COUNTER_KEY: &str = "counter";
const VIOLATIONS_KEY: &str = "violations";
const INSIDE_KEY: &str = "inside";
/// The name of the [`ClusterMutex`] around the critical section (KV key `mutex_demo`).
const MUTEX_NAME: &str = "demo";

/// Bounds on the `/cluster/critical` parameters, so that a typo cannot park a request
/// (and the lock) for hours.
const MAX_HOLD_MS: u64 = 60_000;
const MAX_TTL_S: u64 = 600;

/// The routes under `/cluster`, for the server's cluster tests, which run a copy of the
/// demo on each of several nodes and call these on all of them at once. No sign-in
/// needed; every answer is JSON.
///
/// - `POST /cluster/increment`: adds 1 to the KV counter `counter` by compare-and-set
///   (see [`increment`]); `{"value": <the new value>}`.
/// - `GET /cluster/counter`: `{"value": <counter>}`, 0 when never incremented.
/// - `POST /cluster/critical?hold_ms=<n>&ttl_s=<n>`: a critical section under the
///   [`ClusterMutex`] `demo` with a TTL of `ttl_s` seconds (default 2, 1 to 600),
///   held for `hold_ms` milliseconds (default 0, at most 60000); `{"ok": true}`.
///   Finding another copy's marker inside counts a violation (see [`critical_section`]).
/// - `GET /cluster/violations`: `{"value": <violations>}`, 0 when none.
///
/// A malformed parameter answers 400, a known path with the wrong method 405, an API
/// failure the status that means the same (see [`api_error_response`]).
async fn serve_cluster(api: &Api, request: &HttpRequest) -> HttpResponse {
    let result = match (request.method.as_str(), request.path.as_str()) {
        ("POST", "/cluster/increment") => increment(api, COUNTER_KEY).await,
        ("GET", "/cluster/counter") => read_counter(api, COUNTER_KEY).await,
        ("GET", "/cluster/violations") => read_counter(api, VIOLATIONS_KEY).await,
        ("POST", "/cluster/critical") => {
            let hold_ms = match query_number(request, "hold_ms", 0, 0..=MAX_HOLD_MS) {
                Ok(n) => n,
                Err(response) => return response,
            };
            let ttl_s = match query_number(request, "ttl_s", 2, 1..=MAX_TTL_S) {
                Ok(n) => n,
                Err(response) => return response,
            };
            let hold = Duration::from_millis(hold_ms);
            return match critical_section(api, hold, ttl_s).await {
                Ok(()) => HttpResponse::json(200, &json!({ "ok": true })),
                Err(error) => api_error_response(&error),
            };
        }
        (_, "/cluster/increment" | "/cluster/critical") => {
            return HttpResponse::json(405, &json!({ "error": "use POST" }))
                .with_header("Allow", "POST")
        }
        (_, "/cluster/counter" | "/cluster/violations") => {
            return HttpResponse::json(405, &json!({ "error": "use GET" }))
                .with_header("Allow", "GET")
        }
        _ => return HttpResponse::not_found(),
    };
    match result {
        Ok(value) => HttpResponse::json(200, &json!({ "value": value })),
        Err(error) => api_error_response(&error),
    }
}

/// The query parameter `name` as a number in `range`, `default` when absent; a 400
/// answer otherwise.
fn query_number(
    request: &HttpRequest,
    name: &str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, HttpResponse> {
    let Some(text) = request.query_param(name) else {
        return Ok(default);
    };
    match text.parse::<u64>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(HttpResponse::json(
            400,
            &json!({ "error": format!(
                "{name} must be a whole number from {} to {}, not {text:?}",
                range.start(),
                range.end()
            ) }),
        )),
    }
}

/// The value of a counter [`increment`] keeps, 0 when absent.
async fn read_counter(api: &Api, key: &str) -> Result<u64, ApiError> {
    match api.kv_get(key).await? {
        Some(bytes) => Ok(serde_json::from_slice::<u64>(&bytes)?),
        None => Ok(0),
    }
}

/// A critical section that reports its own failures: while a copy holds the cluster
/// mutex, the KV key `inside` holds its token. Finding the key already set on entry
/// means two copies were inside at once, and counts in `violations`.
async fn critical_section(api: &Api, hold: Duration, ttl_s: u64) -> Result<(), ApiError> {
    let mutex = ClusterMutex::new(api.clone(), MUTEX_NAME).with_ttl(Duration::from_secs(ttl_s));
    let guard = mutex.lock().await?;
    if api.kv_get(INSIDE_KEY).await?.is_some() {
        increment(api, VIOLATIONS_KEY).await?;
    }
    // The marker expires after half the lock's TTL: a copy that dies in here leaves
    // its lock for one TTL, and the marker must be gone by the time the next copy
    // gets in, or that copy would count a violation that never happened. (So keep
    // `hold_ms` below that, or the marker disappears while its holder is inside.)
    let marker_ttl = Duration::from_secs(ttl_s.div_ceil(2));
    api.kv_set_with_expiry(INSIDE_KEY, guard.token(), marker_ttl)
        .await?;
    tokio::time::sleep(hold).await;
    // Only our own marker: should the mutex have failed, another copy's stays put
    // for the next one to find.
    api.kv_compare_and_delete(INSIDE_KEY, guard.token().as_bytes())
        .await?;
    // An early return above drops the guard, which releases the lock in the
    // background.
    guard.unlock().await?;
    Ok(())
}

fn main() {
    chorus_plugin::serve(Demo::default())
}

#[cfg(test)]
mod tests {
    //! The demo tested with the SDK's harness: no server, real gRPC over sockets.

    use super::*;
    use chorus_plugin::testing::Harness;
    use chorus_plugin::Team;

    async fn started() -> (Harness<Demo>, User, Channel) {
        let harness = Harness::start(Demo::default()).await;
        harness.server().set_config(
            json!({"Greeting": "Hi", "RejectWordEnabled": true, "RejectWord": "forbidden"}),
        );
        harness.on_activate().await.expect("activate");
        let team = harness.server().add_team(Team {
            name: "core".into(),
            display_name: "Core".into(),
            ..Team::default()
        });
        let alice = harness.server().add_user(User {
            username: "alice".into(),
            ..User::default()
        });
        let town = harness.server().add_channel(Channel {
            team_id: team.id,
            name: "town-square".into(),
            ..Channel::default()
        });
        (harness, alice, town)
    }

    fn command(harness_user: &User, channel: &Channel, line: &str) -> CommandArgs {
        CommandArgs {
            user_id: harness_user.id.clone(),
            channel_id: channel.id.clone(),
            team_id: channel.team_id.clone(),
            command: line.into(),
            ..CommandArgs::default()
        }
    }

    #[tokio::test]
    async fn activation_ensures_the_bot_and_the_command() {
        let (harness, _, _) = started().await;
        let server = harness.server();
        let bot = server
            .users()
            .into_iter()
            .find(|u| u.username == BOT_USERNAME)
            .expect("the bot exists");
        assert!(bot.is_bot);
        assert_eq!(server.commands()[0].trigger, TRIGGER);
        let record = server.kv_json("hook:OnActivate:last").unwrap();
        assert_eq!(record["bot_id"], bot.id.as_str());
        assert_eq!(record["config"]["Greeting"], "Hi");
        assert!(server
            .logs()
            .iter()
            .any(|l| l.message == "demo plugin activated"));
        // Activating again (another node, a restart) finds the same bot.
        harness.on_activate().await.unwrap();
        assert_eq!(server.users().iter().filter(|u| u.is_bot).count(), 1);
    }

    #[tokio::test]
    async fn moderation_rejects_the_word_and_upper_cases_on_request() {
        let (harness, alice, town) = started().await;
        let post = |text: &str| Post {
            user_id: alice.id.clone(),
            ..Post::new(&town.id, text)
        };
        assert!(matches!(
            harness.message_will_be_posted(post("this is FORBIDDEN")).await.unwrap(),
            PostDecision::Reject(reason) if reason.contains("forbidden")
        ));
        match harness
            .message_will_be_posted(post("{{upper}} shout"))
            .await
            .unwrap()
        {
            PostDecision::Replace(replaced) => assert_eq!(replaced.message, "SHOUT"),
            other => panic!("expected a replacement, got {other:?}"),
        }
        assert_eq!(
            harness.message_will_be_posted(post("hello")).await.unwrap(),
            PostDecision::Accept
        );
        assert_eq!(
            harness
                .message_will_be_updated(post("{{upper}}x"), post("x"))
                .await
                .unwrap(),
            PostDecision::Replace(post("X"))
        );

        harness
            .server()
            .set_config(json!({"rejectwordenabled": false, "rejectword": "forbidden"}));
        harness.on_configuration_change().await.unwrap();
        assert_eq!(
            harness
                .message_will_be_posted(post("forbidden"))
                .await
                .unwrap(),
            PostDecision::Accept
        );
        assert_eq!(
            harness
                .server()
                .kv_json("hook:OnConfigurationChange:last")
                .unwrap()["config"]["RejectWordEnabled"],
            false
        );
    }

    #[tokio::test]
    async fn notification_hooks_record_what_they_saw() {
        let (harness, alice, town) = started().await;
        let server = harness.server();
        let post = server.add_post(Post {
            user_id: alice.id.clone(),
            ..Post::new(&town.id, "hello")
        });
        harness.message_has_been_posted(post.clone()).await.unwrap();
        let record = server
            .kv_json(&format!("hook:MessageHasBeenPosted:{}", post.id))
            .unwrap();
        assert_eq!(record["post"]["message"], "hello");
        assert_eq!(record["context"]["user_id"], alice.id.as_str());

        let edited = Post {
            message: "hello!".into(),
            ..post.clone()
        };
        harness
            .message_has_been_updated(edited, post.clone())
            .await
            .unwrap();
        let record = server
            .kv_json(&format!("hook:MessageHasBeenUpdated:{}", post.id))
            .unwrap();
        assert_eq!(
            (
                record["new_post"]["message"].as_str(),
                record["old_post"]["message"].as_str()
            ),
            (Some("hello!"), Some("hello"))
        );
        harness
            .message_has_been_deleted(post.clone())
            .await
            .unwrap();
        assert!(server
            .kv_json(&format!("hook:MessageHasBeenDeleted:{}", post.id))
            .is_some());

        harness
            .channel_has_been_created(town.clone())
            .await
            .unwrap();
        assert_eq!(
            server
                .kv_json(&format!("hook:ChannelHasBeenCreated:{}", town.id))
                .unwrap()["channel"]["name"],
            "town-square"
        );
        harness.user_has_been_created(alice.clone()).await.unwrap();
        harness.user_has_logged_in(alice.clone()).await.unwrap();
        assert!(server
            .kv_json(&format!("hook:UserHasBeenCreated:{}", alice.id))
            .is_some());
        assert_eq!(
            server
                .kv_json(&format!("hook:UserHasLoggedIn:{}", alice.id))
                .unwrap()["user"]["username"],
            "alice"
        );

        let member = ChannelMember {
            channel_id: town.id.clone(),
            user_id: alice.id.clone(),
            ..ChannelMember::default()
        };
        harness
            .user_has_joined_channel(member.clone(), Some("admin-id"))
            .await
            .unwrap();
        harness.user_has_left_channel(member, None).await.unwrap();
        let key = format!("{}:{}", town.id, alice.id);
        assert_eq!(
            server
                .kv_json(&format!("hook:UserHasJoinedChannel:{key}"))
                .unwrap()["actor_id"],
            "admin-id"
        );
        assert_eq!(
            server
                .kv_json(&format!("hook:UserHasLeftChannel:{key}"))
                .unwrap()["actor_id"],
            Value::Null
        );

        let team_member = TeamMember {
            team_id: town.team_id.clone(),
            user_id: alice.id.clone(),
            ..TeamMember::default()
        };
        harness
            .user_has_joined_team(team_member, None)
            .await
            .unwrap();
        assert!(server
            .kv_json(&format!(
                "hook:UserHasJoinedTeam:{}:{}",
                town.team_id, alice.id
            ))
            .is_some());

        let event = ClusterEvent {
            id: "demo".into(),
            data: b"hi".to_vec(),
            source_node_id: "node-2".into(),
        };
        harness.on_plugin_cluster_event(event).await.unwrap();
        let record = server.kv_json("hook:OnPluginClusterEvent:demo").unwrap();
        assert_eq!(
            (record["data"].as_str(), record["source_node_id"].as_str()),
            (Some("hi"), Some("node-2"))
        );

        harness.on_deactivate().await.unwrap();
        assert!(server.kv_json("hook:OnDeactivate:last").is_some());
        assert_eq!(
            server.commands().len(),
            1,
            "deactivation leaves /demo to the other nodes"
        );
    }

    #[tokio::test]
    async fn the_demo_command_calls_the_api() {
        let (harness, alice, town) = started().await;
        let server = harness.server();
        let run = |line: &str| harness.execute_command(command(&alice, &town, line));

        assert_eq!(run("/demo greet").await.unwrap().text, "Hi, @alice!");
        assert!(server
            .kv_json(&format!("hook:ExecuteCommand:{}", alice.id))
            .is_some());
        assert_eq!(
            run("/demo echo  a  b").await.unwrap(),
            CommandResponse::in_channel("a  b")
        );

        let posted = run("/demo post hello there").await.unwrap().text;
        let post_id = posted.rsplit(' ').next().unwrap().to_string();
        assert_eq!(server.post(&post_id).unwrap().message, "hello there");
        run(&format!("/demo edit {post_id} changed")).await.unwrap();
        assert_eq!(server.post(&post_id).unwrap().message, "changed");
        run(&format!("/demo delete {post_id}")).await.unwrap();
        assert!(server.post(&post_id).unwrap().delete_at > 0);
        assert!(run(&format!("/demo delete {post_id}"))
            .await
            .unwrap()
            .text
            .contains("failed"));

        run("/demo whisper psst").await.unwrap();
        assert_eq!(server.ephemeral_posts()[0].post.message, "psst");
        run("/demo dm @alice").await.unwrap();
        assert!(server
            .posts()
            .iter()
            .any(|p| p.message == "Hi from the demo plugin, @alice!"));
        let other = server.add_channel(Channel {
            team_id: town.team_id.clone(),
            name: "other".into(),
            ..Channel::default()
        });
        run("/demo join other").await.unwrap();
        assert_eq!(server.channel_members(&other.id)[0].user_id, alice.id);
        assert!(run("/demo channel")
            .await
            .unwrap()
            .text
            .contains("town-square"));

        run("/demo kv set color deep blue").await.unwrap();
        assert_eq!(
            run("/demo kv get color").await.unwrap().text,
            "color = deep blue"
        );
        assert_eq!(run("/demo kv incr n").await.unwrap().text, "n = 1");
        assert_eq!(run("/demo kv incr n").await.unwrap().text, "n = 2");
        run("/demo kv expire brief 5 short lived").await.unwrap();
        assert_eq!(
            server.kv_value("brief").as_deref(),
            Some(&b"short lived"[..])
        );
        server.advance_time(Duration::from_secs(6));
        assert_eq!(server.kv_value("brief"), None);
        assert!(run("/demo kv cas-del color red")
            .await
            .unwrap()
            .text
            .contains("left alone"));
        run("/demo kv cas-del color deep blue").await.unwrap();
        assert_eq!(server.kv_value("color"), None);
        assert!(run("/demo kv list hook:")
            .await
            .unwrap()
            .text
            .contains("hook:OnActivate:last"));
        run("/demo kv del n").await.unwrap();
        run("/demo kv clear").await.unwrap();
        assert!(
            server.kv_keys().is_empty(),
            "even the record of `kv clear` itself"
        );

        run("/demo config greeting Howdy").await.unwrap();
        assert_eq!(server.config()["Greeting"], "Howdy");
        assert_eq!(
            server.config()["RejectWord"],
            "forbidden",
            "other settings kept"
        );
        run("/demo cluster ping").await.unwrap();
        assert_eq!(server.cluster_events()[0].data, b"ping");
        run("/demo ws alert").await.unwrap();
        assert_eq!(server.websocket_events()[0].event, "alert");
        assert_eq!(server.websocket_events()[0].broadcast.user_id, alice.id);
        server.set_server_version("1.2.3");
        assert_eq!(run("/demo version").await.unwrap().text, "Chorus 1.2.3");
        run("/demo unregister").await.unwrap();
        assert!(server.commands().is_empty());
        assert!(run("/demo").await.unwrap().text.contains("/demo greet"));
    }

    #[tokio::test]
    async fn http_routes() {
        let (harness, alice, _) = started().await;
        let get = |path: &str, user: Option<&str>| HttpRequest {
            method: "GET".into(),
            path: path.into(),
            headers: user
                .map(|u| vec![("Mattermost-User-Id".to_string(), u.to_string())])
                .unwrap_or_default(),
            user_id: user.map(str::to_string),
            ..HttpRequest::default()
        };

        let hello = harness
            .serve_http(get("/hello", Some(&alice.id)))
            .await
            .unwrap();
        assert_eq!(hello.header("Content-Type"), Some("application/json"));
        let body: Value = serde_json::from_slice(&hello.body).unwrap();
        assert_eq!(body, json!({"user_id": alice.id, "greeting": "Hi"}));
        let anonymous: Value =
            serde_json::from_slice(&harness.serve_http(get("/hello", None)).await.unwrap().body)
                .unwrap();
        assert_eq!(anonymous["user_id"], Value::Null);

        let mut headers = get("/headers", None);
        headers.headers = vec![
            ("X-A".into(), "1".into()),
            ("x-a".into(), "2".into()),
            ("Accept".into(), "*/*".into()),
        ];
        let echoed: Value =
            serde_json::from_slice(&harness.serve_http(headers).await.unwrap().body).unwrap();
        assert_eq!(echoed, json!({"x-a": "1, 2", "accept": "*/*"}));

        let big: Vec<u8> = (0..200_000).map(|i| (i % 256) as u8).collect();
        let echo = HttpRequest {
            method: "POST".into(),
            path: "/echo".into(),
            headers: vec![("Content-Type".into(), "image/png".into())],
            body: big.clone(),
            ..HttpRequest::default()
        };
        let response = harness.serve_http(echo).await.unwrap();
        assert_eq!(
            (response.header("content-type"), response.body == big),
            (Some("image/png"), true)
        );

        assert_eq!(
            harness.serve_http(get("/kv/x", None)).await.unwrap().status,
            401
        );
        assert_eq!(
            harness
                .serve_http(get("/kv/x", Some(&alice.id)))
                .await
                .unwrap()
                .status,
            404
        );
        let put = HttpRequest {
            method: "PUT".into(),
            body: b"hello".to_vec(),
            ..get("/kv/trigger%20word", Some(&alice.id))
        };
        assert_eq!(harness.serve_http(put).await.unwrap().status, 204);
        assert_eq!(
            harness.server().kv_value("trigger word").as_deref(),
            Some(&b"hello"[..])
        );
        let read = harness
            .serve_http(get("/kv/trigger%20word", Some(&alice.id)))
            .await
            .unwrap();
        assert_eq!((read.status, read.body.as_slice()), (200, &b"hello"[..]));
        let record = harness
            .serve_http(get("/kv/hook:OnActivate:last", Some(&alice.id)))
            .await
            .unwrap();
        assert_eq!(record.header("Content-Type"), Some("application/json"));

        assert_eq!(
            harness
                .serve_http(get("/nowhere", None))
                .await
                .unwrap()
                .status,
            404
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cluster_routes() {
        let (harness, _, _) = started().await;
        let call = |method: &str, path: &str, query: &str| {
            harness.serve_http(HttpRequest {
                method: method.into(),
                path: path.into(),
                query: query.into(),
                ..HttpRequest::default()
            })
        };
        fn body(response: HttpResponse) -> Value {
            assert_eq!(response.status, 200, "{response:?}");
            assert_eq!(response.header("Content-Type"), Some("application/json"));
            serde_json::from_slice(&response.body).unwrap()
        }

        assert_eq!(
            body(call("GET", "/cluster/counter", "").await.unwrap()),
            json!({"value": 0})
        );
        let (a, b, c) = tokio::join!(
            call("POST", "/cluster/increment", ""),
            call("POST", "/cluster/increment", ""),
            call("POST", "/cluster/increment", ""),
        );
        let mut values: Vec<u64> = [a, b, c]
            .into_iter()
            .map(|r| body(r.unwrap())["value"].as_u64().unwrap())
            .collect();
        values.sort();
        assert_eq!(values, [1, 2, 3], "each increment saw a distinct value");
        assert_eq!(
            body(call("GET", "/cluster/counter", "").await.unwrap()),
            json!({"value": 3})
        );

        let (a, b, c) = tokio::join!(
            call("POST", "/cluster/critical", "hold_ms=20&ttl_s=1"),
            call("POST", "/cluster/critical", "hold_ms=20&ttl_s=1"),
            call("POST", "/cluster/critical", "hold_ms=20"),
        );
        for response in [a, b, c] {
            assert_eq!(body(response.unwrap()), json!({"ok": true}));
        }
        assert_eq!(
            body(call("GET", "/cluster/violations", "").await.unwrap()),
            json!({"value": 0})
        );
        let server = harness.server();
        assert_eq!(server.kv_value("inside"), None, "each removed its marker");
        assert_eq!(
            server.kv_value("mutex_demo"),
            None,
            "each released the lock"
        );

        // A marker someone else left inside is what a failed mutex looks like.
        harness.api().kv_set("inside", "other").await.unwrap();
        body(call("POST", "/cluster/critical", "").await.unwrap());
        assert_eq!(
            body(call("GET", "/cluster/violations", "").await.unwrap()),
            json!({"value": 1})
        );
        assert_eq!(server.kv_value("inside"), None, "replaced, then removed");

        for query in ["hold_ms=soon", "ttl_s=0", "hold_ms=600000"] {
            let response = call("POST", "/cluster/critical", query).await.unwrap();
            assert_eq!(response.status, 400, "{query}");
        }
        let wrong = call("GET", "/cluster/increment", "").await.unwrap();
        assert_eq!((wrong.status, wrong.header("Allow")), (405, Some("POST")));
        let wrong = call("POST", "/cluster/counter", "").await.unwrap();
        assert_eq!((wrong.status, wrong.header("Allow")), (405, Some("GET")));
        assert_eq!(
            call("GET", "/cluster/nowhere", "").await.unwrap().status,
            404
        );
    }
}
