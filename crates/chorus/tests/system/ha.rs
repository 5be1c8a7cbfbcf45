//! High availability, end to end: clusters of real `chorus server` processes on one
//! fresh PostgreSQL database (through `chorus-testkit`), with real plugin processes on
//! every node. Each test checks that the cluster behaves as one deployment for users,
//! plugins and operators, including when a node, a plugin or the bus connection dies.

use crate::support::start_cluster;
use chorus_testkit::client::{event_post, id};
use chorus_testkit::plugins::{child_processes, plugin_bundle, process_alive};
use chorus_testkit::private_postgres::PrivatePostgres;
use chorus_testkit::{Api, Cluster, Endpoint, Node, Ws};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TRIGGER_ALERT: &str = "com.chorus.trigger-alert";
const DEMO: &str = "com.chorus.demo";
const NOOP: &str = "com.chorus.test.noop";
const RUNNING: i64 = 2;
const NOT_RUNNING: i64 = 0;
/// How far before the last event it saw a reconnecting client asks for posts.
const CATCH_UP_MARGIN_MS: i64 = 30_000;

/// The admin (first user), a team and an open channel, with `users` in both.
struct World {
    admin: Api,
    team_id: String,
    channel_id: String,
    users: Vec<(Api, String)>,
}

async fn world(node: &Node, users: &[&str]) -> World {
    let (admin, _) = node.user("admin").await;
    let team_id = id(&admin.team("ha").await);
    let channel_id = id(&admin.channel(&team_id, "town", "O").await);
    let mut members = Vec::new();
    for name in users {
        let (api, user) = node.member(&admin, &team_id, name).await;
        admin.add_to_channel(&channel_id, &id(&user)).await;
        members.push((api, id(&user)));
    }
    World {
        admin,
        team_id,
        channel_id,
        users: members,
    }
}

/// Node ids by port, from `GET /cluster/status`.
async fn node_ids(admin: &Api, cluster: &Cluster) -> Vec<String> {
    let (status, nodes) = admin.get("/cluster/status").await;
    assert_eq!(status, StatusCode::OK, "{nodes}");
    cluster
        .nodes()
        .iter()
        .map(|node| {
            nodes
                .as_array()
                .unwrap()
                .iter()
                .find(|n| {
                    n["ipaddress"]
                        .as_str()
                        .is_some_and(|a| a.ends_with(&format!(":{}", node.port)))
                })
                .map(id)
                .unwrap_or_else(|| panic!("node {} missing from {nodes}", node.index))
        })
        .collect()
}

/// Statuses of `plugin_id` by node id, as one node reports them.
async fn statuses(api: &Api, plugin_id: &str) -> BTreeMap<String, Value> {
    let (status, list) = api.get("/plugins/statuses").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let mut by_node = BTreeMap::new();
    for entry in list.as_array().unwrap() {
        if entry["plugin_id"] == plugin_id {
            let node = entry["cluster_id"].as_str().unwrap().to_string();
            assert!(
                by_node.insert(node, entry.clone()).is_none(),
                "two statuses for one node: {list}"
            );
        }
    }
    by_node
}

/// Waits (up to 30 s) until `check` accepts the statuses of `plugin_id`.
async fn wait_statuses(
    api: &Api,
    plugin_id: &str,
    what: &str,
    check: impl Fn(&BTreeMap<String, Value>) -> bool,
) -> BTreeMap<String, Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let current = statuses(api, plugin_id).await;
        if check(&current) {
            return current;
        }
        assert!(
            Instant::now() < deadline,
            "{plugin_id}: never {what}; last statuses {current:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `plugin_id` is in `state` on exactly the nodes `node_ids`.
async fn wait_state_on(api: &Api, plugin_id: &str, state: i64, node_ids: &[String]) {
    let wanted: BTreeSet<&String> = node_ids.iter().collect();
    wait_statuses(
        api,
        plugin_id,
        &format!("state {state} on {wanted:?}"),
        |s| s.keys().collect::<BTreeSet<_>>() == wanted && s.values().all(|v| v["state"] == state),
    )
    .await;
}

async fn plugin_action(api: &Api, plugin_id: &str, action: &str) {
    let reply = api
        .send(api.request(Method::POST, &format!("/plugins/{plugin_id}/{action}")))
        .await;
    assert_eq!(reply, (StatusCode::OK, json!({"status": "OK"})));
}

/// Reads frames until `name` arrives, checking that every frame's `seq` follows the
/// previous one.
async fn next_event_in_sequence(ws: &mut Ws, last_seq: &mut i64, name: &str) -> Value {
    loop {
        let frame = ws
            .next_frame()
            .await
            .unwrap_or_else(|| panic!("socket ended while waiting for {name}"));
        if frame.get("seq_reply").is_some() {
            continue;
        }
        assert_eq!(frame["seq"], *last_seq + 1, "seq gap before {frame}");
        *last_seq += 1;
        if frame["event"] == name {
            return frame;
        }
    }
}

/// A plugin's own HTTP reply, which need not have Mattermost's error shape; `None`
/// when the plugin died mid-request.
async fn plugin_call(
    api: &Api,
    method: Method,
    plugin_id: &str,
    path: &str,
) -> Option<(StatusCode, Value)> {
    let reply = api
        .plugin_request(method, plugin_id, path)
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .ok()?;
    let status = reply.status();
    let body = reply.json().await.unwrap_or(Value::Null);
    Some((status, body))
}

/// Waits (up to 30 s) until the demo plugin's KV holds `key_path` (`/kv/<key>`);
/// returns the value.
async fn wait_key(api: &Api, key_path: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some((StatusCode::OK, value)) = plugin_call(api, Method::GET, DEMO, key_path).await {
            return value;
        }
        assert!(Instant::now() < deadline, "{key_path} never appeared");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// DESIGN.md's reference scenario: trigger-alert uploaded through node 1, the word set
/// through node 1, the post through node 2, the alert on a websocket held by node 3;
/// then, disabled through node 3, no alert anywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_scenario_on_three_nodes() {
    let Some(cluster) = start_cluster(3).await else {
        return;
    };
    let (n1, n2, n3) = (cluster.node(0), cluster.node(1), cluster.node(2));
    let world = world(n1, &["alice", "bob"]).await;
    let (alice, _) = &world.users[0];
    let (bob, _) = &world.users[1];
    let admin = &world.admin;
    let nodes = node_ids(admin, &cluster).await;

    let manifest = admin
        .install_plugin(plugin_bundle("trigger-alert", "trigger-alert"))
        .await;
    assert_eq!(manifest["id"], TRIGGER_ALERT);
    // One status per node, all running, whichever node is asked.
    wait_state_on(&admin.at(n2), TRIGGER_ALERT, RUNNING, &nodes).await;

    let (status, words) = alice
        .send(
            alice
                .plugin_request(Method::POST, TRIGGER_ALERT, "/api/v1/triggers")
                .json(&json!({"word": "hello"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{words}");
    assert_eq!(words["words"], json!(["hello"]));

    let mut alice_ws = Ws::ready(n3, alice.token()).await;
    let mut seq = 0;
    let post = bob
        .at(n2)
        .create_post(&world.channel_id, "hello there")
        .await;
    let posted = next_event_in_sequence(&mut alice_ws, &mut seq, "posted").await;
    assert_eq!(event_post(&posted)["id"], post["id"]);
    let alert = next_event_in_sequence(&mut alice_ws, &mut seq, "ephemeral_message").await;
    let alert_post = event_post(&alert);
    assert_eq!(alert_post["channel_id"], json!(world.channel_id));
    assert!(
        alert_post["message"].as_str().unwrap().contains("hello"),
        "{alert_post}"
    );

    plugin_action(&admin.at(n3), TRIGGER_ALERT, "disable").await;
    wait_state_on(&admin.at(n1), TRIGGER_ALERT, NOT_RUNNING, &nodes).await;
    let post = bob
        .at(n2)
        .create_post(&world.channel_id, "hello again")
        .await;
    let posted = next_event_in_sequence(&mut alice_ws, &mut seq, "posted").await;
    assert_eq!(event_post(&posted)["id"], post["id"]);
    // Any alert would come right after the post, from node 2; give it a second.
    while let Some(frame) = alice_ws.frame_within(Duration::from_secs(1)).await {
        assert_ne!(frame["event"], "ephemeral_message", "alert while disabled");
    }
    cluster.shutdown().await;
}

/// Sessions and websocket events are cluster-wide: a token from node 1 works on node 2,
/// posts through node 2 reach a socket on node 3 in order with contiguous `seq`, and a
/// logout on node 2 ends the session everywhere and closes its socket on node 3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_and_events_span_the_cluster() {
    let Some(cluster) = start_cluster(3).await else {
        return;
    };
    let (n1, n2, n3) = (cluster.node(0), cluster.node(1), cluster.node(2));
    let world = world(n1, &["alice", "bob"]).await;
    let (alice, alice_id) = &world.users[0];
    let (bob, _) = &world.users[1];

    let (status, me) = alice.at(n2).get("/users/me").await;
    assert_eq!(
        (status, me["id"].clone()),
        (StatusCode::OK, json!(alice_id))
    );

    let mut alice_ws = Ws::ready(n3, alice.token()).await;
    let bob_on_2 = bob.at(n2);
    let mut sent = Vec::new();
    for i in 0..30 {
        sent.push(id(&bob_on_2
            .create_post(&world.channel_id, &format!("m{i}"))
            .await));
    }
    let mut seq = 0;
    let mut received = Vec::new();
    while received.len() < sent.len() {
        let event = next_event_in_sequence(&mut alice_ws, &mut seq, "posted").await;
        received.push(id(&event_post(&event)));
    }
    assert_eq!(received, sent, "posts arrive in the order they were made");

    let (status, _) = alice.at(n2).post("/users/logout", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    for node in [n1, n3] {
        let (status, body) = alice.at(node).get("/users/me").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    alice_ws.expect_closed().await;
    cluster.shutdown().await;
}

/// A bot made on one node works through every node with its access token (its posts,
/// reactions and files reach the others: a file uploaded through node 1, in the
/// cluster's default `database` file driver, downloads byte for byte through node 3
/// and gets its thumbnail through node 2), and losing
/// the token (revoked) or the bot (disabled) on one node is refused by the others at
/// once, their websockets closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_tokens_and_bots_span_the_cluster() {
    let Some(cluster) = crate::support::cluster_builder(3)
        .env("CHORUS_SERVICESETTINGS_ENABLEUSERACCESSTOKENS", "true")
        .env("CHORUS_SERVICESETTINGS_ENABLEBOTACCOUNTCREATION", "true")
        .start()
        .await
    else {
        return;
    };
    let (n1, n2, n3) = (cluster.node(0), cluster.node(1), cluster.node(2));
    let world = world(n1, &[]).await;
    let (status, bot) = world
        .admin
        .post(
            "/bots",
            json!({"username": "relay-bot", "display_name": "Relay"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{bot}");
    let bot_id = bot["user_id"].as_str().unwrap().to_string();
    world.admin.add_to_team(&world.team_id, &bot_id).await;
    world.admin.add_to_channel(&world.channel_id, &bot_id).await;
    let (status, token) = world
        .admin
        .post(
            &format!("/users/{bot_id}/tokens"),
            json!({"description": "relay"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{token}");
    let secret = token["token"].as_str().unwrap().to_string();
    let token_id = id(&token);

    let as_bot = world.admin.at(n2).with_token(&secret);
    let mut socket = Ws::ready(n3, &secret).await;
    let post = as_bot.create_post(&world.channel_id, "relayed").await;
    assert_eq!(post["user_id"], json!(bot_id));
    let event = socket.next_event("posted").await;
    assert_eq!(id(&event_post(&event)), id(&post));

    // A reaction added through node 2 reaches the socket on node 3.
    let (status, _) = as_bot
        .post(
            "/reactions",
            json!({"user_id": bot_id, "post_id": id(&post), "emoji_name": "rocket"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let event = socket.next_event("reaction_added").await;
    assert!(
        event["data"]["reaction"]
            .as_str()
            .unwrap()
            .contains("rocket"),
        "{event}"
    );

    // A file uploaded through node 1, attached through node 2, read through node 3.
    let data: Vec<u8> = (0..1_500_000u32).map(|i| (i % 251) as u8).collect();
    let (status, uploaded) = as_bot
        .at(n1)
        .upload_file(&world.channel_id, "report.bin", data.clone())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{uploaded}");
    let file_id = id(&uploaded["file_infos"][0]);
    let (status, attached) = as_bot
        .post(
            "/posts",
            json!({"channel_id": world.channel_id, "message": "report", "file_ids": [file_id]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{attached}");
    let event = socket.next_event("posted").await;
    assert_eq!(
        event_post(&event)["metadata"]["files"][0]["id"],
        json!(file_id)
    );
    let download = as_bot.at(n3).download(&format!("/files/{file_id}")).await;
    assert_eq!(download.status, StatusCode::OK);
    assert!(
        download.body == data,
        "node 3 served other bytes than node 1 took"
    );
    // A 1×1 GIF: its thumbnail is made by whichever node is asked first.
    let gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;".to_vec();
    let (_, uploaded) = as_bot
        .at(n1)
        .upload_file(&world.channel_id, "dot.gif", gif)
        .await;
    let gif_id = id(&uploaded["file_infos"][0]);
    let thumbnail = as_bot
        .at(n2)
        .download(&format!("/files/{gif_id}/thumbnail"))
        .await;
    assert_eq!(thumbnail.status, StatusCode::OK);
    assert_eq!(thumbnail.headers["content-type"], "image/jpeg");
    assert_eq!(&thumbnail.body[..2], [0xff, 0xd8], "a JPEG thumbnail");

    let (status, _) = world
        .admin
        .post("/users/tokens/revoke", json!({"token_id": token_id}))
        .await;
    assert_eq!(status, StatusCode::OK);
    for node in [n2, n3] {
        let (status, body) = as_bot.at(node).get("/users/me").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    socket.expect_closed().await;

    // A second token, then the bot disabled through node 2: refused on node 3 too.
    let (_, token) = world
        .admin
        .at(n3)
        .post(
            &format!("/users/{bot_id}/tokens"),
            json!({"description": "again"}),
        )
        .await;
    let as_bot = world
        .admin
        .at(n3)
        .with_token(token["token"].as_str().unwrap());
    assert_eq!(as_bot.get("/users/me").await.0, StatusCode::OK);
    let mut socket = Ws::ready(n1, token["token"].as_str().unwrap()).await;
    let (status, _) = world
        .admin
        .at(n2)
        .post(&format!("/bots/{bot_id}/disable"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(as_bot.get("/users/me").await.0, StatusCode::UNAUTHORIZED);
    socket.expect_closed().await;
    cluster.shutdown().await;
}

/// Uploads go to the database and every node, including one that joins later; enable,
/// disable and remove through any node apply everywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_lifecycle_reaches_every_node_and_late_joiners() {
    let Some(mut cluster) = start_cluster(2).await else {
        return;
    };
    let (admin, _) = cluster.node(0).user("admin").await;
    let admin_on = |cluster: &Cluster, i: usize| admin.at(cluster.node(i));

    let (status, manifest) = admin_on(&cluster, 1)
        .upload_plugin(plugin_bundle("noop", "noop"), false)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{manifest}");
    plugin_action(&admin_on(&cluster, 0), NOOP, "enable").await;
    let nodes = node_ids(&admin, &cluster).await;
    wait_state_on(&admin, NOOP, RUNNING, &nodes).await;
    // A second upload of the same id needs force, whichever node is asked.
    let (status, _) = admin_on(&cluster, 0)
        .upload_plugin(plugin_bundle("noop", "noop"), false)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let late = cluster.add_node().await;
    assert!(cluster.node(late).plugin_dir().join(NOOP).is_dir());
    let nodes = node_ids(&admin, &cluster).await;
    assert_eq!(nodes.len(), 3);
    wait_state_on(&admin_on(&cluster, late), NOOP, RUNNING, &nodes).await;

    plugin_action(&admin_on(&cluster, late), NOOP, "disable").await;
    wait_state_on(&admin, NOOP, NOT_RUNNING, &nodes).await;
    plugin_action(&admin_on(&cluster, 1), NOOP, "enable").await;
    wait_state_on(&admin, NOOP, RUNNING, &nodes).await;

    let (status, body) = admin_on(&cluster, late)
        .delete(&format!("/plugins/{NOOP}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    wait_statuses(&admin, NOOP, "removed everywhere", BTreeMap::is_empty).await;
    for node in cluster.nodes() {
        let deadline = Instant::now() + Duration::from_secs(30);
        while node.plugin_dir().join(NOOP).exists() {
            assert!(
                Instant::now() < deadline,
                "node {} kept the plugin",
                node.index
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // A node that starts after the removal does not bring it back.
    cluster.restart(0).await;
    let (status, list) = admin.get("/plugins").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list, json!({"active": [], "inactive": []}));
    cluster.shutdown().await;
}

/// Plugins unpacked by an operator into each node's directory work too, and statuses
/// show each node's own copy: here node 3 has none and node 2 runs another version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_deployed_plugins_are_reported_per_node() {
    let Some(cluster) = start_cluster(3).await else {
        return;
    };
    let (admin, _) = cluster.node(0).user("admin").await;
    let nodes = node_ids(&admin, &cluster).await;
    let bundle = plugin_bundle("noop", "noop");
    deploy_version(&bundle, &cluster.node(0).plugin_dir(), None);
    deploy_version(&bundle, &cluster.node(1).plugin_dir(), Some("9.9.9"));
    // Nodes notice what operators unpack within a heartbeat, and report it.
    wait_state_on(&admin, NOOP, NOT_RUNNING, &nodes[..2]).await;
    // Enabled through the node that has no copy.
    plugin_action(&admin.at(cluster.node(2)), NOOP, "enable").await;
    wait_state_on(&admin, NOOP, RUNNING, &nodes[..2]).await;
    let statuses = statuses(&admin.at(cluster.node(2)), NOOP).await;
    assert_eq!(statuses[&nodes[0]]["version"], statuses_version(&bundle));
    assert_eq!(statuses[&nodes[1]]["version"], "9.9.9");
    assert!(!statuses.contains_key(&nodes[2]));

    // The operator swaps another version into node 1's directory (as `chorus plugin
    // deploy` does) and deletes node 2's folder: node 1 restarts the new version, node 2
    // drops the plugin.
    deploy_version(&bundle, &cluster.node(0).plugin_dir(), Some("10.0.0"));
    std::fs::remove_dir_all(cluster.node(1).plugin_dir().join(NOOP)).unwrap();
    wait_statuses(
        &admin,
        NOOP,
        "redeployed on node 1 and gone from node 2",
        |s| {
            s.len() == 1
                && s.get(&nodes[0])
                    .is_some_and(|v| v["version"] == "10.0.0" && v["state"] == RUNNING)
        },
    )
    .await;
    cluster.shutdown().await;
}

/// Unpacks `bundle` into `dir` as an operator would, optionally as another version,
/// swapping out what is there.
fn deploy_version(bundle: &[u8], dir: &std::path::Path, version: Option<&str>) {
    let staged = chorus_server::plugins::bundle::stage_bundle(bundle, dir, Default::default())
        .expect("stage");
    if let Some(version) = version {
        let path = staged.root.join("plugin.json");
        let mut manifest: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        manifest["version"] = json!(version);
        std::fs::write(&path, manifest.to_string()).unwrap();
    }
    chorus_server::plugins::bundle::install_staged(&staged, dir, true).expect("install");
}

fn statuses_version(bundle: &[u8]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let staged =
        chorus_server::plugins::bundle::stage_bundle(bundle, dir.path(), Default::default())
            .unwrap();
    json!(staged.manifest.version)
}

/// The demo plugin on three nodes: cluster events reach the other copies; a KV counter
/// incremented by compare-and-set from all copies at once ends exact; the SDK's
/// cluster mutex is never held twice, also when its holder's process is killed; and the
/// killed plugin is restarted on its node while the others are untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_copies_share_state_events_and_locks() {
    let Some(cluster) = start_cluster(3).await else {
        return;
    };
    let world = world(cluster.node(0), &["alice"]).await;
    let admin = &world.admin;
    let nodes = node_ids(admin, &cluster).await;
    admin.install_plugin(plugin_bundle("demo", "demo")).await;
    wait_state_on(admin, DEMO, RUNNING, &nodes).await;
    let on = |i: usize| admin.at(cluster.node(i));

    // PublishPluginClusterEvent from node 1 reaches another node's copy.
    let (status, reply) = admin
        .post(
            "/commands/execute",
            json!({"channel_id": world.channel_id, "team_id": world.team_id, "command": "/demo cluster ping"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let record = loop {
        let reply = plugin_call(
            admin,
            Method::GET,
            DEMO,
            "/kv/hook:OnPluginClusterEvent:demo",
        )
        .await;
        if let Some((StatusCode::OK, record)) = reply {
            break record;
        }
        assert!(Instant::now() < deadline, "no copy heard the cluster event");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(record["data"], "ping");
    assert_eq!(record["source_node_id"], json!(nodes[0]));
    let copies: Vec<u32> = (0..3)
        .map(|i| child_processes(cluster.node(i).pid().unwrap(), "demo")[0])
        .collect();
    // Both other copies heard the broadcast; the sender's own copy did not.
    for (i, pid) in copies.iter().enumerate() {
        let key = format!("/kv/hook:OnPluginClusterEvent:copy:{pid}:ping");
        if i == 0 {
            let reply = plugin_call(admin, Method::GET, DEMO, &key).await;
            assert_eq!(reply.map(|r| r.0), Some(StatusCode::NOT_FOUND));
        } else {
            wait_key(admin, &key).await;
        }
    }
    // Sent to node 3 only, then to everyone: once node 2 has the second, it shows that
    // it never got the first (one node's messages arrive in order).
    let run = |command: String| {
        let admin = admin.clone();
        let (channel_id, team_id) = (world.channel_id.clone(), world.team_id.clone());
        async move {
            let (status, reply) = admin
                .post(
                    "/commands/execute",
                    json!({"channel_id": channel_id, "team_id": team_id, "command": command}),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{reply}");
        }
    };
    run(format!("/demo cluster-to {} only-3", nodes[2])).await;
    run("/demo cluster after".into()).await;
    wait_key(
        admin,
        &format!("/kv/hook:OnPluginClusterEvent:copy:{}:only-3", copies[2]),
    )
    .await;
    wait_key(
        admin,
        &format!("/kv/hook:OnPluginClusterEvent:copy:{}:after", copies[1]),
    )
    .await;
    let reply = plugin_call(
        admin,
        Method::GET,
        DEMO,
        &format!("/kv/hook:OnPluginClusterEvent:copy:{}:only-3", copies[1]),
    )
    .await;
    assert_eq!(
        reply.map(|r| r.0),
        Some(StatusCode::NOT_FOUND),
        "node 2 got node 3's event"
    );

    // Settings saved through one copy reach every copy's OnConfigurationChange.
    run("/demo config greeting bonjour".into()).await;
    for pid in &copies {
        let record = wait_key(admin, &format!("/kv/hook:OnConfigurationChange:copy:{pid}")).await;
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut record = record;
        while record["config"]["Greeting"] != "bonjour" {
            assert!(Instant::now() < deadline, "copy {pid} kept {record}");
            tokio::time::sleep(Duration::from_millis(50)).await;
            record = wait_key(admin, &format!("/kv/hook:OnConfigurationChange:copy:{pid}")).await;
        }
    }

    // Concurrent compare-and-set increments from the three copies.
    let increments = 60;
    let tasks: Vec<_> = (0..increments)
        .map(|i| {
            let api = on(i % 3);
            tokio::spawn(async move {
                let reply = plugin_call(&api, Method::POST, DEMO, "/cluster/increment").await;
                assert_eq!(reply.map(|r| r.0), Some(StatusCode::OK));
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let (_, counter) = plugin_call(admin, Method::GET, DEMO, "/cluster/counter")
        .await
        .unwrap();
    assert_eq!(counter["value"], increments);

    // Critical sections through all three nodes at once.
    let critical = |i: usize, hold_ms: u64, ttl_s: u64| {
        let api = on(i % 3);
        tokio::spawn(async move {
            let path = format!("/cluster/critical?hold_ms={hold_ms}&ttl_s={ttl_s}");
            plugin_call(&api, Method::POST, DEMO, &path).await
        })
    };
    let sections: Vec<_> = (0..12).map(|i| critical(i, 30, 2)).collect();
    for section in sections {
        let reply = section.await.unwrap();
        assert_eq!(reply.map(|r| r.0), Some(StatusCode::OK));
    }

    // Kill the holder's process while it is inside: nobody else gets in until its
    // lease runs out, and the node restarts its copy.
    let node0_pid = cluster.node(0).pid().unwrap();
    let before: Vec<Vec<u32>> = (0..3)
        .map(|i| child_processes(cluster.node(i).pid().unwrap(), "demo"))
        .collect();
    assert!(before.iter().all(|pids| pids.len() == 1), "{before:?}");
    let holder = critical(0, 1500, 4);
    let deadline = Instant::now() + Duration::from_secs(30);
    while plugin_call(admin, Method::GET, DEMO, "/kv/inside")
        .await
        .map(|r| r.0)
        != Some(StatusCode::OK)
    {
        assert!(Instant::now() < deadline, "the holder never got inside");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // SAFETY: killing the plugin process our node 1 started.
    unsafe {
        libc::kill(before[0][0] as libc::pid_t, libc::SIGKILL);
    }
    let holder = holder.await.unwrap();
    assert_ne!(
        holder.map(|r| r.0),
        Some(StatusCode::OK),
        "the killed holder cannot have finished"
    );
    let waiters: Vec<_> = (1..5).map(|i| critical(1 + i % 2, 30, 4)).collect();
    for waiter in waiters {
        let reply = waiter.await.unwrap();
        assert_eq!(reply.map(|r| r.0), Some(StatusCode::OK));
    }
    let (_, violations) = plugin_call(&on(1), Method::GET, DEMO, "/cluster/violations")
        .await
        .unwrap();
    assert_eq!(violations["value"], 0, "the mutex was held twice at once");

    wait_statuses(admin, DEMO, "running again on node 1", |s| {
        s.values().all(|v| v["state"] == RUNNING) && s.len() == 3
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = child_processes(node0_pid, "demo");
        if now.len() == 1 && now[0] != before[0][0] {
            break;
        }
        assert!(Instant::now() < deadline, "node 1 never restarted its copy");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!process_alive(before[0][0]));
    for (i, pids) in before.iter().enumerate().skip(1) {
        assert_eq!(
            &child_processes(cluster.node(i).pid().unwrap(), "demo"),
            pids,
            "node {} restarted a healthy copy",
            i + 1
        );
    }
    cluster.shutdown().await;
}

/// `kill -9` of one node while clients post through all three: the others keep
/// serving, every acknowledged post is stored exactly once, and a websocket client of
/// the dead node reconnects to another node and catches up on what it missed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_loses_no_acknowledged_post() {
    let Some(mut cluster) = start_cluster(3).await else {
        return;
    };
    let names: Vec<String> = (0..6).map(|i| format!("poster{i}")).collect();
    let mut all: Vec<&str> = names.iter().map(String::as_str).collect();
    all.push("watcher");
    let world = world(cluster.node(0), &all).await;
    let channel_id = world.channel_id.clone();
    let (watcher, _) = &world.users[6];
    let mut watcher_ws = Ws::ready(cluster.node(1), watcher.token()).await;

    let stop = Arc::new(AtomicBool::new(false));
    let killed = Arc::new(AtomicBool::new(false));
    // (post id, message, acknowledged after the kill)
    let acknowledged = Arc::new(Mutex::new(Vec::<(String, String, bool)>::new()));
    let posters: Vec<_> = (0..6)
        .map(|i| {
            let api = world.users[i].0.at(cluster.node(i % 3));
            let (stop, killed, acknowledged) = (stop.clone(), killed.clone(), acknowledged.clone());
            let channel_id = channel_id.clone();
            tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let message = format!("poster{i}-{n}");
                    n += 1;
                    let after_kill = killed.load(Ordering::Relaxed);
                    let reply = api
                        .request(Method::POST, "/posts")
                        .json(&json!({"channel_id": channel_id, "message": message}))
                        .timeout(Duration::from_secs(10))
                        .send()
                        .await;
                    match reply {
                        Ok(reply) if reply.status() == StatusCode::CREATED => {
                            let post: Value = reply.json().await.unwrap();
                            acknowledged
                                .lock()
                                .unwrap()
                                .push((id(&post), message, after_kill));
                        }
                        _ => tokio::time::sleep(Duration::from_millis(20)).await,
                    }
                }
            })
        })
        .collect();

    // The watcher keeps what node 2 delivered until it dies.
    let mut seen = BTreeSet::new();
    let mut last_create_at = 0;
    let started = Instant::now();
    while acknowledged.lock().unwrap().len() < 60 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "posting stalled"
        );
        if let Some(frame) = watcher_ws.frame_within(Duration::from_millis(50)).await {
            if frame["event"] == "posted" {
                let post = event_post(&frame);
                last_create_at = post["create_at"].as_i64().unwrap();
                seen.insert(id(&post));
            }
        }
    }
    cluster.kill(1);
    killed.store(true, Ordering::Relaxed);
    // Drain what node 2 sent before dying; the socket then ends.
    while let Some(frame) = watcher_ws.next_frame().await {
        if frame["event"] == "posted" {
            let post = event_post(&frame);
            last_create_at = post["create_at"].as_i64().unwrap();
            seen.insert(id(&post));
        }
    }
    let survivors_before = acknowledged.lock().unwrap().iter().filter(|a| a.2).count();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acknowledged.lock().unwrap().iter().filter(|a| a.2).count() < survivors_before + 30 {
        assert!(
            Instant::now() < deadline,
            "the surviving nodes stopped serving"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // The watcher moves to node 1 and catches up: a new connection (hello), then the
    // posts since a little before the last one it saw. The margin matters: events from
    // different nodes are not ordered by creation time (a post made on node 1 can reach
    // node 2's sockets after a later post made on node 2), so "since the last one seen"
    // alone can miss a post whose event was still on its way when node 2 died.
    let mut watcher_ws = Ws::ready(cluster.node(0), watcher.token()).await;
    stop.store(true, Ordering::Relaxed);
    for poster in posters {
        poster.await.unwrap();
    }
    let watcher_on_1 = watcher.at(cluster.node(0));
    let (status, missed) = watcher_on_1
        .get(&format!(
            "/channels/{channel_id}/posts?since={}",
            last_create_at.saturating_sub(CATCH_UP_MARGIN_MS)
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{missed}");
    seen.extend(missed["posts"].as_object().unwrap().keys().cloned());
    while let Some(frame) = watcher_ws.frame_within(Duration::from_millis(300)).await {
        if frame["event"] == "posted" {
            seen.insert(id(&event_post(&frame)));
        }
    }

    let acknowledged = acknowledged.lock().unwrap().clone();
    let mut db = connect(cluster.database_url()).await;
    let stored: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, message FROM posts WHERE channel_id = $1 AND message LIKE 'poster%'",
    )
    .bind(&channel_id)
    .fetch_all(&mut db)
    .await
    .unwrap();
    let mut copies: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, message) in &stored {
        *copies.entry(message.as_str()).or_default() += 1;
    }
    let stored_ids: BTreeSet<&str> = stored.iter().map(|(id, _)| id.as_str()).collect();
    for (post_id, message, _) in &acknowledged {
        assert!(
            stored_ids.contains(post_id.as_str()),
            "acknowledged {message} is lost"
        );
        assert_eq!(copies[message.as_str()], 1, "{message} is stored twice");
        assert!(seen.contains(post_id), "the watcher never saw {message}");
    }
    cluster.shutdown().await;
}

async fn connect(url: &str) -> sqlx::PgConnection {
    use sqlx::Connection;
    sqlx::PgConnection::connect(url).await.expect("connect")
}

/// Changes whose notification never arrives are not lost: a node re-reads plugin
/// states at every heartbeat and when its LISTEN connection comes back, and re-checks
/// the sessions behind its websockets on reconnect. The changes here are written
/// straight into the database, so no notification exists at all; the listeners are
/// then cut.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_reread_state_when_their_bus_connection_returns() {
    let Some(cluster) = start_cluster(2).await else {
        return;
    };
    let world = world(cluster.node(0), &["alice"]).await;
    let admin = &world.admin;
    let (alice, _) = &world.users[0];
    let nodes = node_ids(admin, &cluster).await;
    admin.install_plugin(plugin_bundle("noop", "noop")).await;
    wait_state_on(admin, NOOP, RUNNING, &nodes).await;
    let mut alice_ws = Ws::ready(cluster.node(1), alice.token()).await;

    let mut db = connect(cluster.database_url()).await;
    sqlx::query("UPDATE plugin_states SET enabled = false WHERE plugin_id = $1")
        .bind(NOOP)
        .execute(&mut db)
        .await
        .unwrap();
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(&world.users[0].1)
        .execute(&mut db)
        .await
        .unwrap();
    let terminated: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name LIKE 'chorus-bus-listen-%'",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    assert_eq!(terminated, vec![true, true]);

    wait_state_on(admin, NOOP, NOT_RUNNING, &nodes).await;
    alice_ws.expect_closed().await;
    cluster.shutdown().await;
}

/// PostgreSQL restarts under a running cluster while clients post through both nodes
/// (a private server, so the machine's shared one is not disturbed): while it is away
/// every request fails cleanly (503 in Mattermost's error shape, never a 500, a reset
/// connection or a panic); once it is back the nodes reconnect, every acknowledged
/// post is stored exactly once, and the nodes converge on a plugin enabled right then,
/// while their bus connections are still coming back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_converge_after_postgres_restarts() {
    let Some(postgres) = PrivatePostgres::start() else {
        return;
    };
    let Some(cluster) = crate::support::cluster_builder(2)
        .postgres(&postgres.admin_url())
        .start()
        .await
    else {
        return;
    };
    let world = world(
        cluster.node(0),
        &["poster0", "poster1", "poster2", "poster3"],
    )
    .await;
    let admin = world.admin.clone();
    let nodes = node_ids(&admin, &cluster).await;
    let (status, manifest) = admin
        .upload_plugin(plugin_bundle("noop", "noop"), false)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{manifest}");

    // Posters on both nodes, until told to stop. Each records the posts acknowledged
    // (201) and every other answer.
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(Mutex::new(Vec::<(String, String)>::new()));
    let refused = Arc::new(Mutex::new(Vec::<(StatusCode, Value)>::new()));
    let mut posters = Vec::new();
    for (i, (api, _)) in world.users.iter().enumerate() {
        let api = api.at(cluster.node(i % 2));
        let (stop, acknowledged, refused) = (stop.clone(), acknowledged.clone(), refused.clone());
        let channel_id = world.channel_id.clone();
        posters.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let message = format!("poster {i} post {n}");
                // A request that hangs is a failure too: it shows as a transport error.
                let reply = api
                    .request(Method::POST, "/posts")
                    .json(&json!({"channel_id": channel_id, "message": message}))
                    .timeout(Duration::from_secs(10))
                    .send()
                    .await;
                match reply {
                    Ok(reply) => {
                        let status = reply.status();
                        let body: Value = reply.json().await.unwrap_or(Value::Null);
                        if status == StatusCode::CREATED {
                            acknowledged.lock().unwrap().push((id(&body), message));
                        } else {
                            refused.lock().unwrap().push((status, body));
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                    Err(err) => refused.lock().unwrap().push((
                        StatusCode::IM_A_TEAPOT,
                        json!({"transport": err.to_string()}),
                    )),
                }
            }
        }));
    }
    let wait_for = |count: usize| {
        let acknowledged = acknowledged.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(60);
            while acknowledged.lock().unwrap().len() < count {
                assert!(Instant::now() < deadline, "posting stalled");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };
    wait_for(20).await;

    let postgres = Arc::new(postgres);
    let stopping = postgres.clone();
    tokio::task::spawn_blocking(move || stopping.stop())
        .await
        .unwrap();
    for node in cluster.nodes() {
        let (status, body) = admin.at(node).get("/users/me").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(body["id"], "app.store.unavailable.app_error", "{body}");
    }
    // The posters keep going against the dead database for a while.
    let refused_before = refused.lock().unwrap().len();
    let deadline = Instant::now() + Duration::from_secs(30);
    while refused.lock().unwrap().len() < refused_before + 12 {
        assert!(
            Instant::now() < deadline,
            "the posters got no answers while PostgreSQL was down: {:?}; node 0 log:\n{}",
            refused.lock().unwrap(),
            cluster.node(0).log()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let acknowledged_while_down = acknowledged.lock().unwrap().len();
    let starting = postgres.clone();
    tokio::task::spawn_blocking(move || starting.start_again())
        .await
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = admin
            .send(admin.request(Method::POST, &format!("/plugins/{NOOP}/enable")))
            .await;
        if status == StatusCode::OK {
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert!(Instant::now() < deadline, "node 1 never reconnected");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Posting resumes through both nodes.
    wait_for(acknowledged_while_down + 20).await;
    stop.store(true, Ordering::SeqCst);
    for poster in posters {
        poster.await.unwrap();
    }
    for (status, body) in refused.lock().unwrap().iter() {
        assert_eq!(
            *status,
            StatusCode::SERVICE_UNAVAILABLE,
            "while PostgreSQL was away a post got {status}: {body}"
        );
        chorus_testkit::client::assert_error_shape(*status, body);
    }
    let mut db = connect(cluster.database_url()).await;
    let stored: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, message FROM posts WHERE channel_id = $1 AND message LIKE 'poster%'",
    )
    .bind(&world.channel_id)
    .fetch_all(&mut db)
    .await
    .unwrap();
    let mut copies: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, message) in &stored {
        *copies.entry(message.as_str()).or_default() += 1;
    }
    assert!(copies.values().all(|&n| n == 1), "a post is stored twice");
    let stored_ids: BTreeSet<&str> = stored.iter().map(|(id, _)| id.as_str()).collect();
    for (post_id, message) in acknowledged.lock().unwrap().iter() {
        assert!(
            stored_ids.contains(post_id.as_str()),
            "acknowledged {message} is lost"
        );
    }
    for node in cluster.nodes() {
        assert!(
            !node.log().contains("panicked"),
            "node {} panicked: {}",
            node.index,
            node.log()
        );
    }
    wait_state_on(&admin.at(cluster.node(1)), NOOP, RUNNING, &nodes).await;
    cluster.shutdown().await;
}

/// Polls a user's status through `api` until it is `expected` (within 60 s).
async fn wait_for_status(api: &Api, user_id: &str, expected: &str) {
    let started = Instant::now();
    loop {
        let (_, status) = api.get(&format!("/users/{user_id}/status")).await;
        if status["status"] == expected {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{user_id} is still {status}, not {expected}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Statuses are the cluster's, not a node's: a socket on one node makes its user
/// online everywhere, closing it makes them offline everywhere at once, and a user
/// whose only socket was on a killed node goes offline once the others see the node's
/// heartbeat stop, while a user with a socket left on another node stays online.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statuses_follow_sockets_across_the_cluster_and_a_killed_node() {
    // The launcher's nodes heartbeat every second and time out after 4.
    let Some(mut cluster) = start_cluster(3).await else {
        return;
    };
    let world = world(cluster.node(0), &["alice", "bob", "carol"]).await;
    let (alice, alice_id) = &world.users[0];
    let (bob, bob_id) = &world.users[1];
    let (carol, carol_id) = &world.users[2];
    let observer = world.admin.at(cluster.node(2));

    // Bob's socket on node 1: online as seen through node 3; closed, offline.
    let bob_ws = Ws::ready(cluster.node(0), bob.token()).await;
    wait_for_status(&observer, bob_id, "online").await;
    bob_ws.close().await;
    wait_for_status(&observer, bob_id, "offline").await;

    // Alice only on node 2; Carol on nodes 2 and 1.
    let _alice_ws = Ws::ready(cluster.node(1), alice.token()).await;
    let _carol_on_2 = Ws::ready(cluster.node(1), carol.token()).await;
    let _carol_on_1 = Ws::ready(cluster.node(0), carol.token()).await;
    wait_for_status(&observer, alice_id, "online").await;
    wait_for_status(&observer, carol_id, "online").await;
    let (_, both) = observer
        .post("/users/status/ids", json!([alice_id, carol_id]))
        .await;
    assert_eq!(both[0]["status"], "online");
    assert_eq!(both[1]["status"], "online");

    cluster.kill(1);
    wait_for_status(&observer, alice_id, "offline").await;
    let (_, carol_status) = observer.get(&format!("/users/{carol_id}/status")).await;
    assert_eq!(carol_status["status"], "online", "{carol_status}");
    // Node 1 agrees.
    let (_, seen_by_1) = world.admin.get(&format!("/users/{alice_id}/status")).await;
    assert_eq!(seen_by_1["status"], "offline");
    cluster.shutdown().await;
}
