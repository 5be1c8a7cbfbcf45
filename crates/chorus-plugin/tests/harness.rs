//! The test harness and the in-memory API server, over real Unix sockets: KV
//! semantics (compare-and-set under concurrency, expiry, limits, listing), the other
//! API calls, hook calls, and ServeHTTP streaming with bodies larger than one chunk.

use chorus_plugin::protocol::v1;
use chorus_plugin::testing::{Harness, HarnessError, TestServer};
use chorus_plugin::{
    Api, ApiError, Broadcast, Channel, ChannelMember, Command, CommandArgs, CommandResponse,
    Context, Hook, HookError, HttpRequest, HttpResponse, KvSetOptions, LogLevel, Plugin, Post,
    PostDecision, Preference, Reaction, Team, User, HTTP_CHUNK_SIZE,
};
use serde_json::json;
use std::time::Duration;

async fn increment(api: &Api, key: &str) -> Result<u64, ApiError> {
    loop {
        let current = api.kv_get(key).await?;
        let value: u64 = current
            .as_deref()
            .map(|v| std::str::from_utf8(v).unwrap().parse().unwrap())
            .unwrap_or(0);
        if api
            .kv_compare_and_set(key, current.as_deref(), (value + 1).to_string())
            .await?
        {
            return Ok(value + 1);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_compare_and_set_increments_end_at_fifty() {
    let server = TestServer::start().await;
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let api = server.api().clone();
            tokio::spawn(async move { increment(&api, "counter").await })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap().unwrap());
    }
    results.sort();
    assert_eq!(
        results,
        (1..=50).collect::<Vec<u64>>(),
        "each increment saw a distinct value"
    );
    assert_eq!(
        server.api().kv_get("counter").await.unwrap().as_deref(),
        Some(&b"50"[..])
    );
}

#[tokio::test]
async fn kv_values_expire() {
    let server = TestServer::start().await;
    let api = server.api();
    api.kv_set_with_expiry("session", "s1", Duration::from_secs(10))
        .await
        .unwrap();
    api.kv_set("forever", "f").await.unwrap();
    assert_eq!(
        api.kv_get("session").await.unwrap().as_deref(),
        Some(&b"s1"[..])
    );

    server.advance_time(Duration::from_secs(9));
    assert!(api.kv_get("session").await.unwrap().is_some());
    server.advance_time(Duration::from_secs(2));
    assert_eq!(api.kv_get("session").await.unwrap(), None);
    assert_eq!(
        api.kv_list("", 0, 0).await.unwrap(),
        ["forever"],
        "expired keys are not listed"
    );
    assert_eq!(
        api.kv_get("forever").await.unwrap().as_deref(),
        Some(&b"f"[..])
    );

    // An expired key counts as absent for an insert-if-absent.
    assert!(api.kv_compare_and_set("session", None, "s2").await.unwrap());
    assert!(!api.kv_compare_and_set("session", None, "s3").await.unwrap());

    // A TTL below one second is rounded up, not turned into "forever".
    let options = KvSetOptions {
        expire_in: Some(Duration::from_millis(1)),
        ..KvSetOptions::default()
    };
    assert!(api
        .kv_set_with_options("brief", Some(b"b".to_vec()), options)
        .await
        .unwrap());
    assert!(api.kv_get("brief").await.unwrap().is_some());
    server.advance_time(Duration::from_secs(1));
    assert_eq!(api.kv_get("brief").await.unwrap(), None);
}

#[tokio::test]
async fn kv_compare_and_delete_list_limits_and_json() {
    let server = TestServer::start().await;
    let api = server.api();
    api.kv_set("lock", "owner-a").await.unwrap();
    assert!(!api.kv_compare_and_delete("lock", b"owner-b").await.unwrap());
    assert!(api.kv_get("lock").await.unwrap().is_some());
    assert!(api.kv_compare_and_delete("lock", b"owner-a").await.unwrap());
    assert_eq!(api.kv_get("lock").await.unwrap(), None);
    assert!(
        !api.kv_compare_and_set("lock", Some(b"x"), "y")
            .await
            .unwrap(),
        "CAS on an absent key with a value"
    );

    for key in ["b:2", "a:1", "b:1", "b:3", "c:1"] {
        api.kv_set(key, "v").await.unwrap();
    }
    assert_eq!(api.kv_list("b:", 0, 2).await.unwrap(), ["b:1", "b:2"]);
    assert_eq!(api.kv_list("b:", 1, 2).await.unwrap(), ["b:3"]);
    assert_eq!(api.kv_list("b:", 2, 2).await.unwrap(), Vec::<String>::new());
    assert_eq!(
        api.kv_list("", 0, 0).await.unwrap(),
        ["a:1", "b:1", "b:2", "b:3", "c:1"]
    );

    let long_key = "k".repeat(151);
    assert!(matches!(
        api.kv_set(long_key, "v").await,
        Err(ApiError::InvalidArgument(_))
    ));
    assert!(matches!(
        api.kv_get("").await,
        Err(ApiError::InvalidArgument(_))
    ));
    api.kv_set("big", vec![7u8; 1024 * 1024])
        .await
        .expect("a 1 MiB value fits");
    assert_eq!(
        api.kv_get("big").await.unwrap().map(|v| v.len()),
        Some(1024 * 1024)
    );
    assert!(matches!(
        api.kv_set("bigger", vec![7u8; 1024 * 1024 + 1]).await,
        Err(ApiError::InvalidArgument(_))
    ));

    api.kv_set_json("json", &json!({"n": 1})).await.unwrap();
    assert_eq!(
        api.kv_get_json::<serde_json::Value>("json").await.unwrap(),
        Some(json!({"n": 1}))
    );
    assert!(matches!(
        api.kv_get_json::<u64>("json").await,
        Err(ApiError::Json(_))
    ));
    assert_eq!(api.kv_get_json::<u64>("absent").await.unwrap(), None);

    api.kv_delete("json").await.unwrap();
    assert_eq!(api.kv_get("json").await.unwrap(), None);
    api.kv_delete_all().await.unwrap();
    assert!(server.kv_keys().is_empty());
}

#[tokio::test]
async fn the_other_api_calls_work_against_the_test_server() {
    let server = TestServer::start().await;
    let api = server.api();
    let team = server.add_team(Team {
        name: "core".into(),
        ..Team::default()
    });
    let alice = server.add_user(User {
        username: "alice".into(),
        ..User::default()
    });
    let town = server.add_channel(Channel {
        team_id: team.id.clone(),
        name: "town-square".into(),
        ..Channel::default()
    });

    assert_eq!(api.get_team(&team.id).await.unwrap().name, "core");
    assert_eq!(api.get_user(&alice.id).await.unwrap().username, "alice");
    assert_eq!(
        api.get_user_by_username("alice").await.unwrap().id,
        alice.id
    );
    assert!(api.get_user("nobody").await.unwrap_err().is_not_found());
    assert_eq!(api.get_channel(&town.id).await.unwrap().name, "town-square");
    assert_eq!(
        api.get_channel_by_name(&team.id, "town-square")
            .await
            .unwrap()
            .id,
        town.id
    );

    let bot = api
        .ensure_bot_user("helper", "Helper", "helps")
        .await
        .unwrap();
    assert!(bot.is_bot);
    assert_eq!(
        api.ensure_bot_user("helper", "Helper", "helps")
            .await
            .unwrap()
            .id,
        bot.id,
        "idempotent"
    );
    assert!(matches!(
        api.ensure_bot_user("alice", "", "").await,
        Err(ApiError::AlreadyExists(_))
    ));

    let dm = api.get_direct_channel(&alice.id, &bot.id).await.unwrap();
    assert_eq!(dm.channel_type, "D");
    assert_eq!(
        api.get_direct_channel(&bot.id, &alice.id).await.unwrap().id,
        dm.id
    );
    let member = api.add_channel_member(&town.id, &bot.id).await.unwrap();
    assert_eq!(server.channel_members(&town.id), [member]);

    let mut post = Post::new(&town.id, "hello");
    post.user_id = bot.id.clone();
    post.props.insert("from_bot".into(), json!(true));
    let created = api.create_post(post).await.unwrap();
    assert!(!created.id.is_empty() && created.create_at > 0);
    assert_eq!(created.props["from_bot"], json!(true));
    let mut edited = created.clone();
    edited.message = "hello again".into();
    assert_eq!(
        api.update_post(edited).await.unwrap().message,
        "hello again"
    );
    assert_eq!(
        api.get_post(&created.id).await.unwrap().message,
        "hello again"
    );
    api.delete_post(&created.id).await.unwrap();
    assert!(api.get_post(&created.id).await.unwrap_err().is_not_found());
    assert!(server.post(&created.id).unwrap().delete_at > 0);
    let orphan = Post {
        user_id: bot.id.clone(),
        ..Post::new("no-such-channel", "x")
    };
    assert!(api.create_post(orphan).await.unwrap_err().is_not_found());

    api.send_ephemeral_post(&alice.id, Post::new(&town.id, "only you"))
        .await
        .unwrap();
    assert_eq!(server.ephemeral_posts()[0].user_id, alice.id);
    assert_eq!(server.ephemeral_posts()[0].post.message, "only you");

    api.register_command(Command::new("demo", "does demo things"))
        .await
        .unwrap();
    assert_eq!(server.commands()[0].trigger, "demo");
    assert!(matches!(
        api.register_command(Command::new("/bad", "")).await,
        Err(ApiError::InvalidArgument(_))
    ));
    api.unregister_command("demo").await.unwrap();
    assert!(server.commands().is_empty());

    api.publish_websocket_event(
        "alert",
        json!({"word": "hello"}),
        Broadcast::to_user(&alice.id),
    )
    .await
    .unwrap();
    let events = server.websocket_events();
    assert_eq!(
        (
            events[0].event.as_str(),
            serde_json::Value::Object(events[0].data.clone())
        ),
        ("alert", json!({"word": "hello"}))
    );
    assert_eq!(events[0].broadcast.user_id, alice.id);
    assert!(matches!(
        api.publish_websocket_event("bad", json!([1]), Broadcast::default())
            .await,
        Err(ApiError::InvalidArgument(_))
    ));
    api.publish_plugin_cluster_event("sync", b"data".to_vec(), None)
        .await
        .unwrap();
    assert_eq!(server.cluster_events()[0].id, "sync");
    assert_eq!(server.cluster_events()[0].target_node_id, None);

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Config {
        #[serde(rename = "Greeting")]
        greeting: String,
    }
    assert_eq!(api.get_plugin_config().await.unwrap(), json!({}));
    server.set_config(json!({"Greeting": "Hi"}));
    assert_eq!(
        api.get_plugin_config_as::<Config>().await.unwrap(),
        Config {
            greeting: "Hi".into()
        }
    );
    api.save_plugin_config(&json!({"Greeting": "Hey"}))
        .await
        .unwrap();
    assert_eq!(server.config(), json!({"Greeting": "Hey"}));

    api.log(LogLevel::Warn, "careful", [("key", "value")]).await;
    api.log_info("hello").await;
    let logs = server.logs();
    assert_eq!(
        (logs[0].level, logs[0].message.as_str()),
        (LogLevel::Warn, "careful")
    );
    assert_eq!(logs[0].fields["key"], "value");
    assert_eq!(logs[1].level, LogLevel::Info);

    server.set_server_version("9.9.9");
    assert_eq!(api.get_server_version().await.unwrap(), "9.9.9");
}

/// A plugin for the harness tests: echoes HTTP bodies, fails on demand, and leaves
/// `MessageHasBeenDeleted` out of `implemented()` on purpose.
struct Echo;

impl Plugin for Echo {
    fn implemented(&self) -> Vec<Hook> {
        vec![
            Hook::OnActivate,
            Hook::MessageWillBePosted,
            Hook::MessageHasBeenPosted,
            Hook::UserHasJoinedChannel,
            Hook::ExecuteCommand,
            Hook::ServeHttp,
        ]
    }

    async fn on_activate(&self, api: &Api) -> Result<(), HookError> {
        if api.get_plugin_config().await?.get("Broken").is_some() {
            return Err("the configuration is broken".into());
        }
        Ok(())
    }

    async fn message_will_be_posted(
        &self,
        _api: &Api,
        ctx: &Context,
        post: Post,
    ) -> Result<PostDecision, HookError> {
        assert_eq!(
            ctx.user_id, post.user_id,
            "the harness passes the author as the context's user"
        );
        match post.message.as_str() {
            "reject quietly" => Ok(PostDecision::Reject(String::new())),
            "fail" => Err("failing on purpose".into()),
            _ => Ok(PostDecision::Accept),
        }
    }

    async fn message_has_been_posted(
        &self,
        api: &Api,
        _ctx: &Context,
        post: Post,
    ) -> Result<(), HookError> {
        api.kv_set_json(format!("post:{}", post.id), &post).await?;
        Ok(())
    }

    async fn message_has_been_deleted(
        &self,
        _api: &Api,
        _ctx: &Context,
        _post: Post,
    ) -> Result<(), HookError> {
        unreachable!("not listed in implemented(), so never called")
    }

    async fn user_has_joined_channel(
        &self,
        api: &Api,
        _ctx: &Context,
        member: ChannelMember,
        actor_id: Option<String>,
    ) -> Result<(), HookError> {
        api.kv_set_json("joined", &json!({"member": member, "actor": actor_id}))
            .await?;
        Ok(())
    }

    async fn execute_command(
        &self,
        _api: &Api,
        _ctx: &Context,
        args: CommandArgs,
    ) -> Result<CommandResponse, HookError> {
        Ok(CommandResponse::ephemeral(format!(
            "{} {:?}",
            args.trigger,
            args.arguments()
        )))
    }

    async fn serve_http(&self, _api: &Api, request: HttpRequest) -> HttpResponse {
        match (request.method.as_str(), request.path.as_str()) {
            ("POST", "/echo") => HttpResponse::new(200)
                .with_header("X-User", request.user_id.clone().unwrap_or_default())
                .with_header("X-Query", request.query_param("q").unwrap_or_default())
                .with_body(request.body),
            _ => HttpResponse::not_found(),
        }
    }
}

#[tokio::test]
async fn serve_http_round_trips_bodies_larger_than_one_chunk() {
    let harness = Harness::start(Echo).await;
    let body: Vec<u8> = (0..HTTP_CHUNK_SIZE * 3 + 123)
        .map(|i| (i * 7 % 256) as u8)
        .collect();
    let request = HttpRequest {
        method: "POST".into(),
        path: "/echo".into(),
        query: "q=a%20b".into(),
        headers: vec![("Content-Type".into(), "application/octet-stream".into())],
        user_id: Some("u1".into()),
        body: body.clone(),
    };
    let response = harness.serve_http(request.clone()).await.unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.header("x-user"), Some("u1"));
    assert_eq!(response.header("X-Query"), Some("a b"));
    assert_eq!(response.body.len(), body.len());
    assert!(response.body == body, "the body comes back byte for byte");

    // On the wire: the head alone, then chunks of at most HTTP_CHUNK_SIZE bytes.
    let mut hooks = harness.hooks_client();
    let mut stream = hooks
        .serve_http(tokio_stream::iter(request.into_parts()))
        .await
        .unwrap()
        .into_inner();
    let mut parts: Vec<v1::HttpResponsePart> = Vec::new();
    while let Some(part) = stream.message().await.unwrap() {
        parts.push(part);
    }
    assert_eq!(parts[0].head.as_ref().map(|h| h.status), Some(200));
    assert!(parts[1..]
        .iter()
        .all(|p| p.head.is_none() && !p.body.is_empty() && p.body.len() <= HTTP_CHUNK_SIZE));
    assert_eq!(parts.len(), 1 + 4);

    let missing = HttpRequest {
        method: "GET".into(),
        path: "/nope".into(),
        ..HttpRequest::default()
    };
    assert_eq!(harness.serve_http(missing).await.unwrap().status, 404);
}

#[tokio::test]
async fn the_harness_calls_hooks_as_the_server_would() {
    let harness = Harness::start(Echo).await;
    let mut implemented = harness.implemented().await.unwrap();
    implemented.sort();
    assert_eq!(
        implemented,
        [
            "ExecuteCommand",
            "MessageHasBeenPosted",
            "MessageWillBePosted",
            "OnActivate",
            "ServeHTTP",
            "UserHasJoinedChannel"
        ]
    );

    harness.on_activate().await.unwrap();
    harness.server().set_config(json!({"Broken": true}));
    assert_eq!(
        harness.on_activate().await,
        Err(HarnessError::Failed("the configuration is broken".into()))
    );

    let author = harness.server().add_user(User {
        username: "bob".into(),
        ..User::default()
    });
    let channel = harness.server().add_channel(Channel::default());
    let post = |message: &str| Post {
        user_id: author.id.clone(),
        ..Post::new(&channel.id, message)
    };
    assert_eq!(
        harness.message_will_be_posted(post("fine")).await.unwrap(),
        PostDecision::Accept
    );
    assert_eq!(
        harness
            .message_will_be_posted(post("reject quietly"))
            .await
            .unwrap(),
        PostDecision::Reject("rejected by a plugin".into()),
        "an empty rejection reason still rejects"
    );
    assert_eq!(
        harness.message_will_be_posted(post("fail")).await,
        Err(HarnessError::Failed("failing on purpose".into()))
    );

    let stored = harness.server().add_post(post("seen"));
    harness
        .message_has_been_posted(stored.clone())
        .await
        .unwrap();
    let recorded = harness
        .server()
        .kv_json(&format!("post:{}", stored.id))
        .unwrap();
    assert_eq!(recorded["message"], "seen");
    assert_eq!(recorded["channel_id"], channel.id.as_str());

    assert_eq!(
        harness.message_has_been_deleted(stored).await,
        Err(HarnessError::NotImplemented(Hook::MessageHasBeenDeleted))
    );

    let member = ChannelMember {
        channel_id: channel.id.clone(),
        user_id: author.id.clone(),
        ..Default::default()
    };
    harness
        .user_has_joined_channel(member, Some("admin"))
        .await
        .unwrap();
    let joined = harness.server().kv_json("joined").unwrap();
    assert_eq!(joined["actor"], "admin");
    assert_eq!(joined["member"]["user_id"], author.id.as_str());

    let args = CommandArgs {
        user_id: author.id.clone(),
        command: "/echo a  b".into(),
        ..CommandArgs::default()
    };
    let response = harness.execute_command(args).await.unwrap();
    assert_eq!(response, CommandResponse::ephemeral(r#"echo ["a", "b"]"#));
}

#[tokio::test]
async fn reactions_through_the_test_server() {
    let server = TestServer::start().await;
    let api = server.api();
    let user = server.add_user(User {
        username: "rita".into(),
        ..User::default()
    });
    let post = server.add_post(Post {
        user_id: user.id.clone(),
        channel_id: chorus_plugin::model::new_id(),
        message: "react".into(),
        ..Post::default()
    });
    let reaction = Reaction {
        user_id: user.id.clone(),
        post_id: post.id.clone(),
        emoji_name: "tada".into(),
        ..Reaction::default()
    };
    let added = api.add_reaction(reaction.clone()).await.unwrap();
    assert_eq!(added.channel_id, post.channel_id);
    assert!(added.create_at > 0);
    assert_eq!(api.add_reaction(reaction.clone()).await.unwrap(), added);
    assert_eq!(server.reactions().len(), 1);
    assert!(server.post(&post.id).unwrap().has_reactions);
    assert_eq!(api.get_reactions(&post.id).await.unwrap(), vec![added]);
    api.remove_reaction(reaction).await.unwrap();
    assert!(api.get_reactions(&post.id).await.unwrap().is_empty());
    assert!(!server.post(&post.id).unwrap().has_reactions);
    assert!(api
        .get_reactions(chorus_plugin::model::new_id())
        .await
        .is_err());
}

#[tokio::test]
async fn preferences_through_the_test_server() {
    let server = TestServer::start().await;
    let api = server.api();
    let user = server.add_user(User {
        username: "pat".into(),
        ..User::default()
    });
    let preference = |name: &str, value: &str| Preference {
        user_id: user.id.clone(),
        category: "display_settings".into(),
        name: name.into(),
        value: value.into(),
    };
    api.update_preferences_for_user(&user.id, vec![preference("a", "1"), preference("b", "2")])
        .await
        .unwrap();
    api.update_preferences_for_user(&user.id, vec![preference("a", "3")])
        .await
        .unwrap();
    let mut saved = api.get_preferences_for_user(&user.id).await.unwrap();
    saved.sort_by(|x, y| x.name.cmp(&y.name));
    assert_eq!(saved, vec![preference("a", "3"), preference("b", "2")]);
    let someone_else = Preference {
        user_id: chorus_plugin::model::new_id(),
        ..preference("c", "4")
    };
    assert!(api
        .update_preferences_for_user(&user.id, vec![someone_else])
        .await
        .is_err());
    api.delete_preferences_for_user(&user.id, vec![preference("a", "")])
        .await
        .unwrap();
    assert_eq!(server.preferences(), vec![preference("b", "2")]);
}

#[tokio::test]
async fn statuses_through_the_test_server() {
    let server = TestServer::start().await;
    let api = server.api();
    let user = server.add_user(User {
        username: "sam".into(),
        ..User::default()
    });
    assert_eq!(
        api.get_user_status(&user.id).await.unwrap().status,
        "offline"
    );
    let dnd = api
        .update_user_status(&user.id, "dnd", 1_900_000_030)
        .await
        .unwrap();
    assert_eq!((dnd.status.as_str(), dnd.manual), ("dnd", true));
    assert_eq!(dnd.dnd_end_time, 1_900_000_020);
    let unknown = chorus_plugin::model::new_id();
    let both = api
        .get_user_statuses_by_ids(&[user.id.clone(), unknown.clone()])
        .await
        .unwrap();
    assert_eq!(
        both.iter().map(|s| s.status.as_str()).collect::<Vec<_>>(),
        ["dnd", "offline"]
    );
    assert!(api.update_user_status(&user.id, "asleep", 0).await.is_err());
    assert!(api.get_user_status(&unknown).await.is_err());
}
