//! The demo tested with the SDK's harness: no server, real gRPC over sockets.

use crate::demo::{Demo, BOT_USERNAME, TRIGGER};
use chorus_plugin::testing::Harness;
use chorus_plugin::Team;
use chorus_plugin::{
    Channel, ChannelMember, ClusterEvent, CommandArgs, CommandResponse, FileDecision, FileInfo,
    HttpRequest, HttpResponse, Post, PostDecision, TeamMember, User,
};
use serde_json::{json, Value};
use std::time::Duration;

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
async fn uploads_are_refused_or_renamed_by_name() {
    let (harness, alice, town) = started().await;
    let info = |name: &str| FileInfo {
        name: name.into(),
        user_id: alice.id.clone(),
        channel_id: town.id.clone(),
        size: 3,
        ..FileInfo::default()
    };
    assert!(matches!(
        harness
            .file_will_be_uploaded(info("blocked.exe"))
            .await
            .unwrap(),
        FileDecision::Reject(_)
    ));
    assert_eq!(
        harness
            .file_will_be_uploaded(info("rename-me.txt"))
            .await
            .unwrap(),
        FileDecision::Rename("renamed.txt".into())
    );
    assert_eq!(
        harness
            .file_will_be_uploaded(info("fine.txt"))
            .await
            .unwrap(),
        FileDecision::Accept
    );
    let record = harness
        .server()
        .kv_json("hook:FileWillBeUploaded:last")
        .unwrap();
    assert_eq!(record["name"], "fine.txt");
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

    let uploaded = run("/demo file some notes").await.unwrap().text;
    assert!(uploaded.contains("(10 bytes) as note.txt"), "{uploaded}");
    let (file, content) = server.files().pop().expect("the plugin uploaded a file");
    assert_eq!(content, b"some notes");
    let post_id = uploaded.rsplit(' ').next().unwrap();
    assert_eq!(server.post(post_id).unwrap().file_ids, vec![file.id]);

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
    assert_eq!(
        run("/demo version").await.unwrap().text,
        "Server version 1.2.3"
    );
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

fn post_json(path: &str, user_id: &str, body: Value) -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        path: path.into(),
        headers: vec![
            ("Mattermost-User-Id".into(), user_id.into()),
            ("Content-Type".into(), "application/json".into()),
        ],
        user_id: Some(user_id.into()),
        body: serde_json::to_vec(&body).unwrap(),
        ..HttpRequest::default()
    }
}

#[tokio::test]
async fn buttons_dialogs_and_ephemeral_updates() {
    let (harness, alice, town) = started().await;
    let server = harness.server();
    let run = |line: &str| {
        let mut args = command(&alice, &town, line);
        args.trigger_id = "trigger-from-command".into();
        harness.execute_command(args)
    };

    // The question carries two buttons whose integrations are the plugin's routes.
    let asked = run("/demo ask Lunch at noon?").await.unwrap().text;
    let post_id = asked.rsplit(' ').next().unwrap();
    let question = server.post(post_id).unwrap();
    let actions = &question.props["attachments"][0]["actions"];
    assert_eq!(
        actions[0]["integration"]["url"],
        "/plugins/com.chorus.demo/interactive/answer"
    );
    assert_eq!(
        actions[1]["integration"]["context"]["question"],
        "Lunch at noon?"
    );

    // "Answer" opens the dialog with the click's trigger id.
    let click = json!({"user_id": alice.id, "user_name": "alice", "channel_id": town.id,
                       "post_id": post_id, "trigger_id": "trigger-from-click", "type": "button",
                       "context": {"question": "Lunch at noon?"}});
    let answer = harness
        .serve_http(post_json("/interactive/answer", &alice.id, click.clone()))
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    let answer: Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(answer["ephemeral_text"], "Answering: Lunch at noon?");
    let dialog = server.opened_dialogs().pop().unwrap();
    assert_eq!(dialog.trigger_id, "trigger-from-click");
    assert_eq!(dialog.url, "/plugins/com.chorus.demo/interactive/submit");
    assert_eq!(dialog.dialog.state, "Lunch at noon?");

    // "Close" replaces the question, without buttons.
    let closed = harness
        .serve_http(post_json("/interactive/close", &alice.id, click))
        .await
        .unwrap();
    let closed: Value = serde_json::from_slice(&closed.body).unwrap();
    assert_eq!(
        closed["update"]["message"],
        "Lunch at noon? (closed by @alice)"
    );
    assert_eq!(closed["update"]["props"], json!({}));

    // A blank answer keeps the dialog open; a real one is posted by the bot.
    let submit = |answer: &str| {
        post_json(
            "/interactive/submit",
            &alice.id,
            json!({"type": "dialog_submission", "callback_id": "answer", "state": "Lunch?",
                   "user_id": alice.id, "channel_id": town.id, "team_id": town.team_id,
                   "submission": {"answer": answer}, "cancelled": false}),
        )
    };
    let refused = harness.serve_http(submit("  ")).await.unwrap();
    let refused: Value = serde_json::from_slice(&refused.body).unwrap();
    assert_eq!(refused["errors"]["answer"], "An answer is required.");
    let accepted = harness.serve_http(submit("yes")).await.unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&accepted.body).unwrap(),
        json!({})
    );
    assert!(server
        .posts()
        .iter()
        .any(|p| p.message == "@alice answered \"Lunch?\": yes"));
    assert_eq!(
        server.kv_json("dialog:last").unwrap()["submission"]["answer"],
        "yes"
    );
    let garbage = HttpRequest {
        body: b"{".to_vec(),
        ..submit("x")
    };
    assert_eq!(harness.serve_http(garbage).await.unwrap().status, 400);

    // `/demo dialog` uses the command's trigger id.
    run("/demo dialog").await.unwrap();
    assert_eq!(
        server.opened_dialogs().pop().unwrap().trigger_id,
        "trigger-from-command"
    );

    // `/demo vanish` leaves nothing shown.
    let vanished = run("/demo vanish now you see me").await.unwrap().text;
    assert!(
        vanished.starts_with("showed, updated and deleted"),
        "{vanished}"
    );
    assert!(server.ephemeral_posts().is_empty());
}

#[tokio::test]
async fn the_demo_reads_teams_channels_permissions_bots_and_the_server() {
    let (harness, alice, town) = started().await;
    let server = harness.server();
    let run = |line: &str| harness.execute_command(command(&alice, &town, line));
    let text = |response: Result<CommandResponse, _>| response.unwrap().text;
    let core = &town.team_id;
    server.add_team(Team {
        name: "other".into(),
        ..Team::default()
    });

    assert_eq!(
        text(run("/demo jointeam core").await),
        "you joined core as team_user"
    );
    assert_eq!(
        text(run("/demo team").await),
        "team core (same by name: yes), 2 teams, you are team_user, 1 members"
    );
    assert_eq!(server.team_members(core).len(), 1);

    let bob = server.add_user(User {
        username: "bob".into(),
        ..User::default()
    });
    for user in [&alice, &bob] {
        server
            .api()
            .add_channel_member(&town.id, &user.id)
            .await
            .unwrap();
    }
    assert_eq!(
        text(run("/demo members").await),
        "~town-square (same by team name: yes): 2 members (alice, bob), 1 users in the team"
    );
    assert_eq!(
        text(run("/demo kick @bob").await),
        "removed @bob from this channel"
    );
    assert_eq!(server.channel_members(&town.id).len(), 1);

    server.grant_permission(&alice.id, "create_post", core);
    assert_eq!(
        text(run("/demo can create_post").await),
        "create_post: system no, team yes, channel yes"
    );
    assert_eq!(
        text(run("/demo can manage_system").await),
        "manage_system: system no, team no, channel no"
    );

    let created = text(run("/demo newchannel plans").await);
    assert!(created.starts_with("created ~plans"), "{created}");
    let plans = server
        .channels()
        .into_iter()
        .find(|c| c.name == "plans")
        .unwrap();
    assert_eq!(plans.channel_type, "P");
    assert_eq!(plans.creator_id, alice.id);

    let root = server.add_post(Post::new(&town.id, "root"));
    server.add_post(Post {
        root_id: root.id.clone(),
        ..Post::new(&town.id, "reply")
    });
    assert_eq!(
        text(run(&format!("/demo thread {}", root.id)).await),
        "the thread has 2 posts"
    );
    let since = root.create_at - 1;
    assert_eq!(
        text(run(&format!("/demo since {since}")).await),
        format!("2 posts changed since {since}")
    );
    assert!(text(run("/demo since soon").await).contains("not a time"));

    let bot = text(run("/demo bot helper").await);
    assert!(bot.starts_with("bot @helper"), "{bot}");
    assert!(bot.ends_with("description \"patched\""), "{bot}");
    assert_eq!(server.bots()[0].username, "helper");

    server.set_server_config(json!({"SqlSettings": {"DataSource": "********"}}));
    server.set_plugin_status(chorus_plugin::PluginStatus {
        plugin_id: "com.chorus.demo".into(),
        state: chorus_plugin::model::PluginState::Running,
        ..Default::default()
    });
    let report = text(run("/demo server").await);
    assert!(
        report.starts_with("data source \"********\", licence none, diagnostic id "),
        "{report}"
    );
    assert!(report.ends_with("com.chorus.demo is running"), "{report}");
}

#[tokio::test]
async fn the_demo_changes_channels_users_pictures_and_teams() {
    let (harness, alice, town) = started().await;
    let server = harness.server();
    let run = |line: &str| harness.execute_command(command(&alice, &town, line));
    let text = |response: Result<CommandResponse, _>| response.unwrap().text;

    assert_eq!(
        text(run("/demo header Plans for the week").await),
        "the header of ~town-square is now \"Plans for the week\""
    );
    let channel = server
        .channels()
        .into_iter()
        .find(|c| c.id == town.id)
        .unwrap();
    assert_eq!(channel.header, "Plans for the week");

    assert_eq!(
        text(run("/demo nickname Ally").await),
        "@alice is now known as \"Ally\""
    );
    let stored = server
        .users()
        .into_iter()
        .find(|u| u.id == alice.id)
        .unwrap();
    assert_eq!(stored.nickname, "Ally");

    // The fake server has no picture for the bot: setting an empty one is refused.
    let refused = text(run("/demo avatar").await);
    assert!(refused.contains("the picture is empty"), "{refused}");

    assert_eq!(
        text(run("/demo jointeam core").await),
        "you joined core as team_user"
    );
    assert_eq!(text(run("/demo leaveteam").await), "you left the team");
    assert!(server.team_members(&town.team_id).is_empty());
    assert!(server.channel_members(&town.id).is_empty());

    let member = TeamMember {
        team_id: town.team_id.clone(),
        user_id: alice.id.clone(),
        ..Default::default()
    };
    harness
        .user_has_left_team(member, Some("admin-id"))
        .await
        .unwrap();
    let recorded = server
        .kv_json(&format!(
            "hook:UserHasLeftTeam:{}:{}",
            town.team_id, alice.id
        ))
        .unwrap();
    assert_eq!(recorded["actor_id"], "admin-id");
    harness.on_install("admin-id").await.unwrap();
    assert_eq!(
        server.kv_json("hook:OnInstall:last").unwrap()["user_id"],
        "admin-id"
    );
}

#[tokio::test]
async fn logins_of_blocked_users_are_refused_and_sockets_recorded() {
    let (harness, alice, _) = started().await;
    let server = harness.server();
    assert_eq!(
        harness.user_will_log_in(alice.clone()).await.unwrap(),
        chorus_plugin::LoginDecision::Allow
    );
    server.set_config(json!({"Greeting": "Hi", "BlockedUsers": "mallory, alice"}));
    harness.on_configuration_change().await.unwrap();
    assert_eq!(
        harness.user_will_log_in(alice.clone()).await.unwrap(),
        chorus_plugin::LoginDecision::Reject("@alice may not log in (BlockedUsers)".into())
    );
    assert_eq!(
        server
            .kv_json(&format!("hook:UserWillLogIn:{}", alice.id))
            .unwrap()["blocked"],
        true
    );
    harness
        .on_web_socket_connect("conn-1", &alice.id)
        .await
        .unwrap();
    harness
        .on_web_socket_disconnect("conn-1", &alice.id)
        .await
        .unwrap();
    for hook in ["OnWebSocketConnect", "OnWebSocketDisconnect"] {
        let record = server
            .kv_json(&format!("hook:{hook}:{}", alice.id))
            .unwrap();
        assert_eq!(record["connection_id"], "conn-1", "{hook}");
    }
}
