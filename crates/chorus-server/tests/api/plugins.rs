//! The plugin host with real plugin processes: install, enable, disable, remove,
//! upgrade, bad bundles, crashes, crash loops, hanging hooks, HTTP routing, the KV
//! store, web bundles, and the reference plugin trigger-alert.

use crate::both_backends;
use crate::common::{
    assert_error, id, plugin_bundle, process_alive, Backend, Endpoint, TestServer, Ws,
};
use chorus_server::store::KvWrite;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

const FAULTY: &str = "com.chorus.test.faulty";
const TRIGGER_ALERT: &str = "com.chorus.trigger-alert";

async fn plugin_server(backend: Backend) -> Option<TestServer> {
    TestServer::start_with(backend, |c| {
        c.plugin_settings.enable_uploads = true;
        c.plugin_settings.hook_timeout_milliseconds = 500;
        c.plugin_settings.health_check_interval_seconds = 1;
    })
    .await
}

async fn pid_of(api: &crate::common::Api, plugin_id: &str) -> Option<u32> {
    let response = api
        .plugin_request(Method::GET, plugin_id, "/pid")
        .send()
        .await
        .ok()?;
    if response.status() != StatusCode::OK {
        return None;
    }
    let body: Value = response.json().await.ok()?;
    body["pid"].as_u64().map(|p| p as u32)
}

both_backends!(lifecycle_upload_enable_disable_remove);

async fn lifecycle_upload_enable_disable_remove(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    let bundle = plugin_bundle("faulty", "faulty");
    let refused = admin.upload_plugin(bundle.clone(), false).await;
    assert_error(
        &refused,
        StatusCode::NOT_IMPLEMENTED,
        "app.plugin.upload_disabled.app_error",
    );
    server.stop().await;

    let Some(server) = plugin_server(backend).await else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    let (plain, _) = server.user("plain").await;
    let forbidden = plain.upload_plugin(bundle.clone(), false).await;
    assert_eq!(forbidden.0, StatusCode::FORBIDDEN);
    assert!(!server.plugin_dir().join(FAULTY).exists());

    let (status, manifest) = admin.upload_plugin(bundle, false).await;
    assert_eq!(status, StatusCode::CREATED, "{manifest}");
    assert_eq!(manifest["id"], FAULTY);
    let status = admin
        .plugin_status(FAULTY)
        .await
        .expect("listed after upload");
    assert_eq!(
        status["state"], 0,
        "uploaded plugins start disabled: {status}"
    );
    assert_eq!(status["version"], "0.1.0");
    assert_eq!(status["cluster_id"], json!(server.state.node_id));
    let (_, lists) = admin.get("/plugins").await;
    assert!(
        lists["inactive"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == FAULTY),
        "{lists}"
    );

    let (status, body) = plain
        .post(&format!("/plugins/{FAULTY}/enable"), json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = admin
        .send(admin.request(Method::POST, &format!("/plugins/{FAULTY}/enable")))
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "OK"})));
    admin.wait_for_plugin_state(FAULTY, 2).await;
    let (_, lists) = admin.get("/plugins").await;
    assert!(
        lists["active"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == FAULTY),
        "{lists}"
    );
    let pid = pid_of(&admin, FAULTY).await.expect("the plugin answers");
    assert!(process_alive(pid));

    let (status, _) = admin
        .send(admin.request(Method::POST, &format!("/plugins/{FAULTY}/disable")))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(admin.plugin_status(FAULTY).await.unwrap()["state"], 0);
    assert!(
        !process_alive(pid),
        "a disabled plugin's process must be gone"
    );
    let stopped = admin
        .plugin_request(Method::GET, FAULTY, "/pid")
        .send()
        .await
        .unwrap();
    assert_eq!(stopped.status(), StatusCode::SERVICE_UNAVAILABLE);

    let (status, _) = admin
        .send(admin.request(Method::POST, &format!("/plugins/{FAULTY}/enable")))
        .await;
    assert_eq!(status, StatusCode::OK);
    admin.wait_for_plugin_state(FAULTY, 2).await;
    let pid = pid_of(&admin, FAULTY).await.unwrap();
    let (status, body) = admin.delete(&format!("/plugins/{FAULTY}")).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "OK"})));
    assert!(admin.plugin_status(FAULTY).await.is_none());
    assert!(!server.plugin_dir().join(FAULTY).exists());
    assert!(!process_alive(pid));
    let gone = admin
        .send(admin.request(Method::POST, &format!("/plugins/{FAULTY}/enable")))
        .await;
    assert_error(
        &gone,
        StatusCode::NOT_FOUND,
        "app.plugin.not_installed.app_error",
    );
    let missing = admin
        .plugin_request(Method::GET, FAULTY, "/pid")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    server.stop().await;
}

pub(crate) fn raw_tar_entry(name: &str, kind: u8, link: &str, body: &[u8]) -> Vec<u8> {
    let mut header = [0u8; 512];
    header[..name.len()].copy_from_slice(name.as_bytes());
    header[100..107].copy_from_slice(b"0000644");
    header[108..115].copy_from_slice(b"0000000");
    header[116..123].copy_from_slice(b"0000000");
    header[124..135].copy_from_slice(format!("{:011o}", body.len()).as_bytes());
    header[136..147].copy_from_slice(b"00000000000");
    header[156] = kind;
    header[157..157 + link.len()].copy_from_slice(link.as_bytes());
    header[148..156].copy_from_slice(b"        ");
    let sum: u32 = header.iter().map(|b| u32::from(*b)).sum();
    header[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    let mut out = header.to_vec();
    out.extend_from_slice(body);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

pub(crate) fn gzip_tar(entries: &[Vec<u8>]) -> Vec<u8> {
    use std::io::Write;
    let mut tar = entries.concat();
    tar.extend_from_slice(&[0u8; 1024]);
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(&tar).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade_needs_force_and_bad_bundles_leave_the_running_version() {
    let Some(server) = plugin_server(Backend::Sqlite).await else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    admin
        .install_plugin(plugin_bundle("faulty", "faulty"))
        .await;
    let pid = pid_of(&admin, FAULTY).await.unwrap();

    let again = admin
        .upload_plugin(plugin_bundle("faulty", "faulty"), false)
        .await;
    assert_error(
        &again,
        StatusCode::BAD_REQUEST,
        "app.plugin.install_id.app_error",
    );
    assert_eq!(pid_of(&admin, FAULTY).await, Some(pid));

    let manifest = br#"{"id":"com.chorus.test.faulty","name":"Evil","version":"9.9.9","server":{"executable":"server/dist/plugin"}}"#;
    let exe = b"#!/bin/sh\nexit 0\n";
    let bad: Vec<(&str, Vec<u8>, &str)> = vec![
        ("traversal", gzip_tar(&[raw_tar_entry("plugin.json", b'0', "", manifest), raw_tar_entry("../../escaped.txt", b'0', "", b"x"), raw_tar_entry("server/dist/plugin", b'0', "", exe)]), "unsafe path"),
        ("absolute", gzip_tar(&[raw_tar_entry("plugin.json", b'0', "", manifest), raw_tar_entry("/tmp/chorus-absolute.txt", b'0', "", b"x")]), "unsafe path"),
        ("symlink", gzip_tar(&[raw_tar_entry("plugin.json", b'0', "", manifest), raw_tar_entry("server/dist/plugin", b'2', "/bin/sh", b"")]), "symbolic link"),
        ("hard link", gzip_tar(&[raw_tar_entry("plugin.json", b'0', "", manifest), raw_tar_entry("server/dist/plugin", b'1', "plugin.json", b"")]), "hard link"),
        ("device", gzip_tar(&[raw_tar_entry("plugin.json", b'0', "", manifest), raw_tar_entry("dev", b'3', "", b"")]), "device file"),
        ("bad json", gzip_tar(&[raw_tar_entry("plugin.json", b'0', "", b"{\"id\": ")]), "not valid JSON"),
        ("bad yaml", gzip_tar(&[raw_tar_entry("plugin.yaml", b'0', "", b"id: [oops")]), "not valid YAML"),
        ("invalid id", gzip_tar(&[raw_tar_entry("plugin.json", b'0', "", br#"{"id":"x","name":"X"}"#)]), "manifest field id"),
        ("missing executable", gzip_tar(&[raw_tar_entry("plugin.json", b'0', "", manifest)]), "not in the bundle"),
        ("wrong platform", gzip_tar(&[raw_tar_entry("plugin.json", b'0', "", br#"{"id":"com.chorus.test.faulty","name":"X","server":{"executables":{"darwin-arm64":"p"}}}"#), raw_tar_entry("p", b'0', "", exe)]), "no server executable for this platform"),
        ("not gzip", b"this is not a bundle".to_vec(), "not a readable .tar.gz"),
    ];
    for (name, bundle, expected) in bad {
        let (status, body) = admin.upload_plugin(bundle, true).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {body}");
        assert_eq!(body["id"], "app.plugin.extract.app_error", "{name}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains(expected),
            "{name}: {body}"
        );
        assert_eq!(
            pid_of(&admin, FAULTY).await,
            Some(pid),
            "{name}: the running version must be untouched"
        );
    }
    let root = server.plugin_dir();
    assert!(!root.join("../escaped.txt").exists() && !root.join("../../escaped.txt").exists());
    assert!(!std::path::Path::new("/tmp/chorus-absolute.txt").exists());
    let leftovers: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        leftovers,
        vec![FAULTY.to_string()],
        "no staging folders left behind"
    );
    assert_eq!(
        admin.plugin_status(FAULTY).await.unwrap()["version"],
        "0.1.0"
    );

    let (status, manifest) = admin
        .upload_plugin(plugin_bundle("faulty", "faulty"), true)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{manifest}");
    admin.wait_for_plugin_state(FAULTY, 2).await;
    let new_pid = pid_of(&admin, FAULTY).await.unwrap();
    assert_ne!(new_pid, pid, "a forced upgrade restarts the plugin");
    assert!(!process_alive(pid));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashed_plugins_restart_and_crash_loops_stop() {
    let Some(server) = plugin_server(Backend::Sqlite).await else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    admin
        .install_plugin(plugin_bundle("faulty", "faulty"))
        .await;
    let first = pid_of(&admin, FAULTY).await.unwrap();
    let crash = admin
        .plugin_request(Method::POST, FAULTY, "/crash")
        .send()
        .await
        .unwrap();
    assert_eq!(crash.status(), StatusCode::BAD_GATEWAY);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let second = loop {
        if let Some(pid) = pid_of(&admin, FAULTY).await {
            if pid != first {
                break pid;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the plugin was not restarted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(!process_alive(first));
    assert!(process_alive(second));
    assert_eq!(admin.plugin_status(FAULTY).await.unwrap()["state"], 2);

    let _ = admin
        .plugin_request(Method::POST, FAULTY, "/crash-loop")
        .send()
        .await;
    let status = admin.wait_for_plugin_state(FAULTY, 4).await;
    assert!(
        status["error"].as_str().unwrap().contains("crashed"),
        "{status}"
    );
    assert!(!process_alive(second));
    let down = admin
        .plugin_request(Method::GET, FAULTY, "/pid")
        .send()
        .await
        .unwrap();
    assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanging_or_crashing_hooks_let_posts_through() {
    let Some(server) = plugin_server(Backend::Sqlite).await else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    admin
        .install_plugin(plugin_bundle("faulty", "faulty"))
        .await;
    let team = admin.team("t1").await;
    let channel = admin.channel(team["id"].as_str().unwrap(), "c1", "O").await;
    let channel_id = channel["id"].as_str().unwrap();

    let post = admin
        .create_post(channel_id, "this will hang-hook the plugin")
        .await;
    assert_eq!(post["message"], "this will hang-hook the plugin");
    assert!(
        server.state.plugins.hook_failures(FAULTY) >= 1,
        "the missed deadline is counted"
    );
    let (status, stored) = admin
        .get(&format!("/posts/{}", post["id"].as_str().unwrap()))
        .await;
    assert_eq!(status, StatusCode::OK, "{stored}");

    let pid = pid_of(&admin, FAULTY).await.unwrap();
    let crashing = admin.create_post(channel_id, "crash-now please").await;
    assert_eq!(crashing["message"], "crash-now please");
    admin.wait_for_plugin_state(FAULTY, 2).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while pid_of(&admin, FAULTY).await.is_none_or(|p| p == pid) {
        assert!(
            std::time::Instant::now() < deadline,
            "the plugin was not restarted after crashing in a hook"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.stop().await;
}

both_backends!(kv_compare_and_set_under_concurrency);

async fn kv_compare_and_set_under_concurrency(backend: Backend) {
    let Some(server) = plugin_server(backend).await else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    admin
        .install_plugin(plugin_bundle("faulty", "faulty"))
        .await;
    const N: u64 = 40;
    let mut calls = Vec::new();
    for _ in 0..N {
        let request = admin.plugin_request(Method::POST, FAULTY, "/kv/incr/counter");
        calls.push(tokio::spawn(async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<Value>().await.unwrap()["value"]
                .as_u64()
                .unwrap()
        }));
    }
    let mut values = Vec::new();
    for call in calls {
        values.push(call.await.unwrap());
    }
    values.sort();
    assert_eq!(
        values,
        (1..=N).collect::<Vec<_>>(),
        "every increment saw a distinct value"
    );
    let final_value = admin
        .plugin_request(Method::GET, FAULTY, "/kv/counter")
        .send()
        .await
        .unwrap();
    assert_eq!(final_value.text().await.unwrap(), N.to_string());
    server.stop().await;
}

both_backends!(kv_store_semantics);

async fn kv_store_semantics(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let store = &server.state.store;
    let set = |value: &str| KvWrite {
        value: Some(value.as_bytes().to_vec()),
        ..Default::default()
    };
    assert!(store.kv_write("p1", "k", &set("v1")).await.unwrap());
    assert_eq!(store.kv_get("p1", "k").await.unwrap(), Some(b"v1".to_vec()));
    assert_eq!(
        store.kv_get("p2", "k").await.unwrap(),
        None,
        "plugins do not see each other's keys"
    );

    let insert_if_absent = KvWrite {
        value: Some(b"v2".to_vec()),
        atomic: true,
        ..Default::default()
    };
    assert!(!store.kv_write("p1", "k", &insert_if_absent).await.unwrap());
    assert!(store
        .kv_write("p1", "fresh", &insert_if_absent)
        .await
        .unwrap());
    let cas = |old: &str, new: &str| KvWrite {
        value: Some(new.as_bytes().to_vec()),
        atomic: true,
        old_value: Some(old.as_bytes().to_vec()),
        expire_in_seconds: 0,
    };
    assert!(!store
        .kv_write("p1", "k", &cas("wrong", "v3"))
        .await
        .unwrap());
    assert!(store.kv_write("p1", "k", &cas("v1", "v3")).await.unwrap());
    assert_eq!(store.kv_get("p1", "k").await.unwrap(), Some(b"v3".to_vec()));
    let cas_delete = |old: &str| KvWrite {
        value: None,
        atomic: true,
        old_value: Some(old.as_bytes().to_vec()),
        expire_in_seconds: 0,
    };
    assert!(!store.kv_write("p1", "k", &cas_delete("v1")).await.unwrap());
    assert!(store.kv_write("p1", "k", &cas_delete("v3")).await.unwrap());
    assert_eq!(store.kv_get("p1", "k").await.unwrap(), None);

    let expiring = KvWrite {
        value: Some(b"soon gone".to_vec()),
        expire_in_seconds: 1,
        ..Default::default()
    };
    assert!(store.kv_write("p1", "temp", &expiring).await.unwrap());
    assert_eq!(
        store.kv_get("p1", "temp").await.unwrap(),
        Some(b"soon gone".to_vec())
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        store.kv_get("p1", "temp").await.unwrap(),
        None,
        "expired keys read as absent"
    );
    assert!(
        store
            .kv_write("p1", "temp", &insert_if_absent)
            .await
            .unwrap(),
        "expired keys count as absent for insert-if-absent"
    );

    for i in 0..5 {
        store
            .kv_write("p1", &format!("list:{i}"), &set("x"))
            .await
            .unwrap();
    }
    store.kv_write("p2", "list:9", &set("x")).await.unwrap();
    assert_eq!(
        store.kv_list("p1", "list:", 0, 3).await.unwrap(),
        vec!["list:0", "list:1", "list:2"]
    );
    assert_eq!(
        store.kv_list("p1", "list:", 1, 3).await.unwrap(),
        vec!["list:3", "list:4"]
    );
    assert_eq!(store.kv_list("p1", "", 0, 100).await.unwrap().len(), 7);
    let many = store
        .kv_get_many(
            "p1",
            &[
                "list:1".into(),
                "list:3".into(),
                "absent".into(),
                "temp".into(),
            ],
        )
        .await
        .unwrap();
    let mut keys: Vec<&str> = many.iter().map(|(k, _)| k.as_str()).collect();
    keys.sort();
    assert_eq!(keys, vec!["list:1", "list:3", "temp"]);
    assert!(store
        .kv_get_many("p2", &["list:1".into()])
        .await
        .unwrap()
        .is_empty());
    store.kv_delete_all("p1").await.unwrap();
    assert!(store.kv_list("p1", "", 0, 100).await.unwrap().is_empty());
    assert_eq!(
        store.kv_list("p2", "", 0, 100).await.unwrap(),
        vec!["list:9"]
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_bundles_are_listed_and_served_while_enabled() {
    let Some(server) = plugin_server(Backend::Sqlite).await else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    let manifest = br#"{"id":"com.example.webonly","name":"Web only","version":"1.0.0","webapp":{"bundle_path":"webapp/dist/main.js"}}"#;
    let bundle = chorus_server::plugins::bundle::build_bundle(&[
        ("webonly/plugin.json", manifest, 0o644),
        (
            "webonly/webapp/dist/main.js",
            b"window.registerPlugin('com.example.webonly', {});",
            0o644,
        ),
    ])
    .unwrap();
    // Open pages hear of web parts starting and stopping, to load and unload them.
    let mut page = Ws::ready(&server, admin.token()).await;
    admin.install_plugin(bundle).await;
    let enabled = page.expect_event("plugin_enabled").await;
    assert_eq!(
        enabled["data"]["manifest"]["id"], "com.example.webonly",
        "{enabled}"
    );
    let anonymous = server.client();
    let (status, list) = anonymous.get("/plugins/webapp").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        list,
        json!([{"id": "com.example.webonly", "version": "1.0.0", "webapp": {"bundle_path": "/static/plugins/com.example.webonly/main.js"}}])
    );
    let script = reqwest::get(format!(
        "{}/static/plugins/com.example.webonly/main.js",
        server.url
    ))
    .await
    .unwrap();
    assert_eq!(script.status(), StatusCode::OK);
    assert_eq!(script.headers()["content-type"], "application/javascript");
    assert!(script.text().await.unwrap().contains("registerPlugin"));
    let escape = reqwest::get(format!(
        "{}/static/plugins/com.example.webonly/..%2Fplugin.json",
        server.url
    ))
    .await
    .unwrap();
    assert_eq!(escape.status(), StatusCode::NOT_FOUND);
    admin
        .send(admin.request(Method::POST, "/plugins/com.example.webonly/disable"))
        .await;
    let disabled = page.expect_event("plugin_disabled").await;
    assert_eq!(
        disabled["data"]["manifest"]["id"], "com.example.webonly",
        "{disabled}"
    );
    let (_, list) = anonymous.get("/plugins/webapp").await;
    assert_eq!(list, json!([]));
    let hidden = reqwest::get(format!(
        "{}/static/plugins/com.example.webonly/main.js",
        server.url
    ))
    .await
    .unwrap();
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_disabled_answer_501() {
    let Some(server) =
        TestServer::start_with(Backend::Sqlite, |c| c.plugin_settings.enable = false).await
    else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    assert_error(
        &admin.get("/plugins/statuses").await,
        StatusCode::NOT_IMPLEMENTED,
        "app.plugin.disabled.app_error",
    );
    assert_error(
        &admin.upload_plugin(b"x".to_vec(), false).await,
        StatusCode::NOT_IMPLEMENTED,
        "app.plugin.disabled.app_error",
    );
    server.stop().await;
}

both_backends!(trigger_alert_alerts_members_who_hold_the_word);

async fn trigger_alert_alerts_members_who_hold_the_word(backend: Backend) {
    let Some(server) = plugin_server(backend).await else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    admin
        .install_plugin(plugin_bundle("trigger-alert", "trigger-alert"))
        .await;
    let (alice, alice_user) = server.user("alice").await;
    let (bob, bob_user) = server.user("bob").await;
    let (carol, carol_user) = server.user("carol").await;
    let team = admin.team("t1").await;
    let team_id = team["id"].as_str().unwrap();
    for user in [&alice_user, &bob_user, &carol_user] {
        admin
            .add_to_team(team_id, user["id"].as_str().unwrap())
            .await;
    }
    let channel = admin.channel(team_id, "general", "O").await;
    let channel_id = channel["id"].as_str().unwrap();
    admin
        .add_to_channel(channel_id, alice_user["id"].as_str().unwrap())
        .await;
    admin
        .add_to_channel(channel_id, bob_user["id"].as_str().unwrap())
        .await;

    let anonymous = server
        .client()
        .plugin_request(Method::GET, TRIGGER_ALERT, "/api/v1/triggers")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    for (api, word) in [(&alice, "Hello"), (&carol, "hello")] {
        let response = api
            .plugin_request(Method::POST, TRIGGER_ALERT, "/api/v1/triggers")
            .json(&json!({"word": word}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({"words": ["hello"]})
        );
    }
    let invalid = alice
        .plugin_request(Method::POST, TRIGGER_ALERT, "/api/v1/triggers")
        .json(&json!({"word": "two words"}))
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status(), StatusCode::BAD_REQUEST);

    let mut alice_ws = Ws::connect(&server, alice.token(), "").await;
    alice_ws.expect_event("hello").await;
    let mut carol_ws = Ws::connect(&server, carol.token(), "").await;
    carol_ws.expect_event("hello").await;
    bob.create_post(channel_id, "well, HELLO there").await;
    let alert = alice_ws.expect_event("ephemeral_message").await;
    let post: Value = serde_json::from_str(alert["data"]["post"].as_str().unwrap()).unwrap();
    assert_eq!(post["channel_id"], channel_id);
    assert_eq!(post["props"]["trigger_word"], "hello");
    assert!(post["message"]
        .as_str()
        .unwrap()
        .contains("well, HELLO there"));
    // Carol holds the word but cannot read the channel: she gets nothing.
    let carol_saw = carol_ws.frame_within(Duration::from_millis(500)).await;
    assert!(
        carol_saw.is_none(),
        "a non-member was alerted: {carol_saw:?}"
    );

    let (status, response) = alice
        .post(
            "/commands/execute",
            json!({"command": "/trigger list", "channel_id": channel_id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{response}");
    assert_eq!(response["response_type"], "ephemeral");
    assert!(
        response["text"].as_str().unwrap().contains("hello"),
        "{response}"
    );
    let (_, response) = alice
        .post(
            "/commands/execute",
            json!({"command": "/trigger remove hello", "channel_id": channel_id}),
        )
        .await;
    assert!(
        response["text"]
            .as_str()
            .unwrap()
            .contains("no trigger words"),
        "{response}"
    );
    bob.create_post(channel_id, "hello again").await;
    // The command replies above are ephemeral messages too; no alert may follow them.
    while let Some(frame) = alice_ws.frame_within(Duration::from_millis(500)).await {
        if frame["event"] == "ephemeral_message" {
            let post: Value =
                serde_json::from_str(frame["data"]["post"].as_str().unwrap()).unwrap();
            assert!(
                post["props"].get("trigger_word").is_none(),
                "alerted after removing the word: {post}"
            );
        }
    }
    // Disabling the plugin stops the alerts and unregisters its command.
    admin
        .send(admin.request(Method::POST, &format!("/plugins/{TRIGGER_ALERT}/disable")))
        .await;
    let gone = alice
        .post(
            "/commands/execute",
            json!({"command": "/trigger list", "channel_id": channel_id}),
        )
        .await;
    assert_error(
        &gone,
        StatusCode::NOT_FOUND,
        "api.command.execute_command.not_found.app_error",
    );
    alice_ws.close().await;
    carol_ws.close().await;
    server.stop().await;
}

/// Whether `python3` with grpcio and grpcio-tools is available; under CI it must be.
fn python_with_grpc() -> bool {
    let found = std::process::Command::new("python3")
        .args(["-c", "import grpc, grpc_tools"])
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI needs python3 with plugins/python-echo/requirements.txt installed"
        );
        eprintln!("SKIPPED: python3 with grpcio and grpcio-tools not found (pip install -r plugins/python-echo/requirements.txt)");
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_plugin_runs_under_the_same_supervisor() {
    if !python_with_grpc() {
        return;
    }
    let Some(server) = TestServer::start_with(Backend::Sqlite, |c| {
        c.plugin_settings.enable_uploads = true;
        // First start generates the gRPC stubs, which takes a few seconds.
        c.plugin_settings.start_timeout_seconds = 60;
    })
    .await
    else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    let root = chorus_testkit::plugins::workspace_root();
    let folder = root.join("plugins/python-echo");
    let protos = root.join("crates/chorus-plugin-protocol/proto/chorus/plugin/v1");
    let mut files: Vec<(String, Vec<u8>, u32)> = vec![
        (
            "python-echo/plugin.json".into(),
            std::fs::read(folder.join("plugin.json")).unwrap(),
            0o644,
        ),
        (
            "python-echo/plugin.py".into(),
            std::fs::read(folder.join("plugin.py")).unwrap(),
            0o755,
        ),
    ];
    for name in ["types.proto", "hooks.proto", "api.proto"] {
        files.push((
            format!("python-echo/proto/chorus/plugin/v1/{name}"),
            std::fs::read(protos.join(name)).unwrap(),
            0o644,
        ));
    }
    let borrowed: Vec<(&str, &[u8], u32)> = files
        .iter()
        .map(|(p, b, m)| (p.as_str(), b.as_slice(), *m))
        .collect();
    let bundle = chorus_server::plugins::bundle::build_bundle(&borrowed).unwrap();
    admin.install_plugin(bundle).await;

    let team = admin.team("t1").await;
    let channel = admin.channel(team["id"].as_str().unwrap(), "c1", "O").await;
    let channel_id = channel["id"].as_str().unwrap();
    let changed = admin.create_post(channel_id, "py: hello from rust").await;
    assert_eq!(changed["message"], "py: hello from rust (via python)");
    let unchanged = admin.create_post(channel_id, "plain message").await;
    assert_eq!(unchanged["message"], "plain message");
    let pong = admin
        .plugin_request(Method::GET, "com.chorus.python-echo", "/ping")
        .send()
        .await
        .unwrap();
    assert_eq!(pong.status(), StatusCode::OK);
    assert_eq!(pong.text().await.unwrap(), "pong");
    server.stop().await;
}

const DEMO: &str = "com.chorus.demo";

/// Reads a hook record the demo plugin stores in its KV store, waiting for it (the
/// `...Has...` hooks run after the reply).
async fn demo_record(api: &crate::common::Api, key: &str) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let response = api
            .plugin_request(Method::GET, DEMO, &format!("/kv/{key}"))
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::OK {
            return response.json().await.unwrap();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the demo plugin never recorded {key}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hook_fires_with_its_data_and_http_identity_is_the_servers() {
    let Some(server) = plugin_server(Backend::Sqlite).await else {
        return;
    };
    let (admin, admin_user) = server.user("admin").await;
    let admin_id = admin_user["id"].as_str().unwrap().to_string();
    admin.install_plugin(plugin_bundle("demo", "demo")).await;
    let record = demo_record(&admin, "hook:OnActivate:last").await;
    assert_eq!(record["hook"], "OnActivate");

    // Will-be hooks: rejection and rewriting, before anything is stored.
    let team = admin.team("t1").await;
    let team_id = team["id"].as_str().unwrap().to_string();
    let channel = admin.channel(&team_id, "c1", "O").await;
    let channel_id = channel["id"].as_str().unwrap().to_string();
    let rejected = admin
        .post(
            "/posts",
            json!({"channel_id": channel_id, "message": "a forbidden word"}),
        )
        .await;
    assert_error(
        &rejected,
        StatusCode::BAD_REQUEST,
        "app.post.rejected_by_plugin.app_error",
    );
    let (_, posts) = admin.get(&format!("/channels/{channel_id}/posts")).await;
    assert!(
        posts["order"].as_array().unwrap().is_empty(),
        "a rejected post must not be stored"
    );
    let upper = admin
        .create_post(&channel_id, "make me {{upper}} loud")
        .await;
    assert_eq!(upper["message"], "MAKE ME  LOUD");

    // Has-been hooks, each with the object it is about.
    let post = admin.create_post(&channel_id, "plain words").await;
    let post_id = post["id"].as_str().unwrap();
    let seen = demo_record(&admin, &format!("hook:MessageHasBeenPosted:{post_id}")).await;
    assert!(seen.to_string().contains("plain words"), "{seen}");
    let (status, _) = admin
        .put(
            &format!("/posts/{post_id}/patch"),
            json!({"message": "edited words"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let seen = demo_record(&admin, &format!("hook:MessageHasBeenUpdated:{post_id}")).await;
    assert!(seen.to_string().contains("edited words"), "{seen}");
    let reactor = admin.get("/users/me").await.1["id"].clone();
    let (status, _) = admin
        .post(
            "/reactions",
            json!({"user_id": reactor, "post_id": post_id, "emoji_name": "tada"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let seen = demo_record(&admin, &format!("hook:ReactionHasBeenAdded:{post_id}")).await;
    assert!(seen.to_string().contains("\"tada\""), "{seen}");
    let (status, _) = admin
        .delete(&format!("/users/me/posts/{post_id}/reactions/tada"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let seen = demo_record(&admin, &format!("hook:ReactionHasBeenRemoved:{post_id}")).await;
    assert!(seen.to_string().contains("\"tada\""), "{seen}");
    admin.delete(&format!("/posts/{post_id}")).await;
    demo_record(&admin, &format!("hook:MessageHasBeenDeleted:{post_id}")).await;
    let seen = demo_record(&admin, &format!("hook:ChannelHasBeenCreated:{channel_id}")).await;
    assert!(seen.to_string().contains("c1"), "{seen}");
    let (bob, bob_user) = server.user("bob").await;
    let bob_id = bob_user["id"].as_str().unwrap().to_string();
    demo_record(&admin, &format!("hook:UserHasBeenCreated:{bob_id}")).await;
    demo_record(&admin, &format!("hook:UserHasLoggedIn:{bob_id}")).await;
    admin.add_to_team(&team_id, &bob_id).await;
    let joined = demo_record(
        &admin,
        &format!("hook:UserHasJoinedTeam:{team_id}:{bob_id}"),
    )
    .await;
    assert!(
        joined.to_string().contains(&admin_id),
        "the actor is recorded: {joined}"
    );
    admin.add_to_channel(&channel_id, &bob_id).await;
    demo_record(
        &admin,
        &format!("hook:UserHasJoinedChannel:{channel_id}:{bob_id}"),
    )
    .await;
    let (status, _) = bob
        .delete(&format!("/channels/{channel_id}/members/{bob_id}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    demo_record(
        &admin,
        &format!("hook:UserHasLeftChannel:{channel_id}:{bob_id}"),
    )
    .await;

    // ExecuteCommand, and API calls a command makes: a websocket event from the plugin
    // arrives as custom_<plugin id>_<event>.
    let mut ws = Ws::connect(&server, admin.token(), "").await;
    ws.expect_event("hello").await;
    let (status, reply) = admin
        .post(
            "/commands/execute",
            json!({"command": "/demo greet", "channel_id": channel_id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert!(
        reply["text"].as_str().unwrap().contains("Hello, @admin"),
        "{reply}"
    );
    demo_record(&admin, &format!("hook:ExecuteCommand:{admin_id}")).await;
    admin
        .post(
            "/commands/execute",
            json!({"command": "/demo ws ping", "channel_id": channel_id}),
        )
        .await;
    let custom = ws.expect_event("custom_com.chorus.demo_ping").await;
    assert_eq!(custom["data"]["from"], "demo");
    ws.close().await;

    // HTTP: the user id is the server's; spoofed identity headers and credentials are gone.
    let hello: Value = admin
        .plugin_request(Method::GET, DEMO, "/hello")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(hello, json!({"user_id": admin_id, "greeting": "Hello"}));
    let anonymous: Value = server
        .client()
        .plugin_request(Method::GET, DEMO, "/hello")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(anonymous["user_id"], Value::Null);
    let headers: Value = admin
        .plugin_request(Method::GET, DEMO, "/headers")
        .header("Mattermost-User-Id", "attacker")
        .header("Mattermost-Plugin-ID", "com.evil")
        .header("X-Custom", "kept")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(headers["mattermost-user-id"], json!(admin_id), "{headers}");
    assert!(headers.get("mattermost-plugin-id").is_none(), "{headers}");
    assert!(headers.get("authorization").is_none(), "{headers}");
    assert_eq!(headers["x-custom"], "kept");
    let spoofed: Value = server
        .client()
        .plugin_request(Method::GET, DEMO, "/headers")
        .header("Mattermost-User-Id", &admin_id)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        spoofed.get("mattermost-user-id").is_none(),
        "an anonymous caller cannot claim a user: {spoofed}"
    );

    // Cookie sessions: the auth cookie never reaches the plugin; a write without the
    // CSRF token carries no user.
    let root = server.url.clone();
    let cookie = format!("MMAUTHTOKEN={}; theme=dark", admin.token());
    let http = reqwest::Client::new();
    let via_cookie: Value = http
        .get(format!("{root}/plugins/{DEMO}/headers"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(via_cookie["mattermost-user-id"], json!(admin_id));
    assert_eq!(via_cookie["cookie"], "theme=dark", "{via_cookie}");
    let write = http
        .put(format!("{root}/plugins/{DEMO}/kv/x"))
        .header("Cookie", &cookie)
        .body("v")
        .send()
        .await
        .unwrap();
    assert_eq!(
        write.status(),
        StatusCode::UNAUTHORIZED,
        "a cookie write without CSRF token is anonymous"
    );

    // Bodies stream both ways, larger than one chunk.
    let body: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let echoed = admin
        .plugin_request(Method::POST, DEMO, "/echo")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.status(), StatusCode::OK);
    assert_eq!(echoed.bytes().await.unwrap().to_vec(), body);
    server.stop().await;
}

/// Runs `/demo <words>` in `channel_id` and returns the reply text.
/// The team of a channel.
async fn server_team_of(api: &crate::common::Api, channel_id: &str) -> String {
    let (_, channel) = api.get(&format!("/channels/{channel_id}")).await;
    channel["team_id"].as_str().unwrap().to_string()
}

async fn demo_command(api: &crate::common::Api, channel_id: &str, words: &str) -> String {
    let (status, reply) = api
        .post(
            "/commands/execute",
            json!({"command": format!("/demo {words}"), "channel_id": channel_id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "/demo {words}: {reply}");
    reply["text"].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plugin_api_works_against_the_real_server() {
    let Some(server) = plugin_server(Backend::Sqlite).await else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    admin.install_plugin(plugin_bundle("demo", "demo")).await;
    let (bob, bob_user) = server.user("bob").await;
    let bob_id = bob_user["id"].as_str().unwrap().to_string();
    let team = admin.team("t1").await;
    let team_id = team["id"].as_str().unwrap().to_string();
    admin.add_to_team(&team_id, &bob_id).await;
    let channel = admin.channel(&team_id, "c1", "O").await;
    let channel_id = channel["id"].as_str().unwrap().to_string();

    // EnsureBotUser ran at activation; CreatePost as the bot, then UpdatePost, DeletePost.
    let (status, bot) = admin.get("/users/username/demo-bot").await;
    assert_eq!(status, StatusCode::OK, "{bot}");
    assert_eq!(bot["is_bot"], true);
    let reply = demo_command(&admin, &channel_id, "post from the bot").await;
    let post_id = reply.rsplit(' ').next().unwrap().to_string();
    let (_, post) = admin.get(&format!("/posts/{post_id}")).await;
    assert_eq!(post["user_id"], bot["id"]);
    assert_eq!(post["message"], "from the bot");
    demo_command(
        &admin,
        &channel_id,
        &format!("edit {post_id} changed by the bot"),
    )
    .await;
    let (_, post) = admin.get(&format!("/posts/{post_id}")).await;
    assert_eq!(post["message"], "changed by the bot");
    assert!(post["edit_at"].as_i64().unwrap() > 0);
    demo_command(&admin, &channel_id, &format!("delete {post_id}")).await;
    let (status, _) = admin.get(&format!("/posts/{post_id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // in_channel command answers become posts by the caller.
    demo_command(&admin, &channel_id, "echo said through a command").await;
    let (_, posts) = admin.get(&format!("/channels/{channel_id}/posts")).await;
    let newest = &posts["posts"][posts["order"][0].as_str().unwrap()];
    assert_eq!(newest["message"], "said through a command");

    // SendEphemeralPost, GetDirectChannel + CreatePost, AddChannelMember, GetChannel.
    let mut bob_ws = Ws::connect(&server, bob.token(), "").await;
    bob_ws.expect_event("hello").await;
    assert_eq!(
        demo_command(&admin, &channel_id, "whisper secret").await,
        "whispered"
    );
    demo_command(&admin, &channel_id, "dm bob").await;
    let dm = bob_ws.expect_event("posted").await;
    assert_eq!(dm["data"]["channel_type"], "D");
    bob_ws.close().await;
    let (_, members) = admin.get(&format!("/channels/{channel_id}/members")).await;
    assert!(!members
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["user_id"] == json!(bob_id)));
    let (_, town_square) = bob
        .get(&format!("/teams/{team_id}/channels/name/town-square"))
        .await;
    demo_command(&bob, town_square["id"].as_str().unwrap(), "join c1").await;
    let (status, _) = admin.get(&format!("/channels/{channel_id}/members")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(server
        .state
        .store
        .get_channel_member(&channel_id, &bob_id)
        .await
        .unwrap()
        .is_some());
    assert!(demo_command(&admin, &channel_id, "channel")
        .await
        .contains("c1"));

    // KV through the API, settings, version, unregistering.
    assert!(demo_command(&admin, &channel_id, "kv set color blue")
        .await
        .contains("color"));
    assert_eq!(
        demo_command(&admin, &channel_id, "kv get color").await,
        "color = blue"
    );
    assert_eq!(
        demo_command(&admin, &channel_id, "kv incr n").await,
        "n = 1"
    );
    assert_eq!(
        demo_command(&admin, &channel_id, "kv incr n").await,
        "n = 2"
    );
    assert!(demo_command(&admin, &channel_id, "kv cas-del color red")
        .await
        .contains("left alone"));
    assert_eq!(
        demo_command(&admin, &channel_id, "kv cas-del color blue").await,
        "deleted color"
    );
    assert_eq!(
        demo_command(&admin, &channel_id, "kv get color").await,
        "color is not set"
    );
    demo_command(&admin, &channel_id, "config greeting Howdy").await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let hello: Value = admin
            .plugin_request(Method::GET, DEMO, "/hello")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if hello["greeting"] == "Howdy" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "SavePluginConfig did not reach OnConfigurationChange: {hello}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let saved = server
        .state
        .store
        .plugin_config(DEMO)
        .await
        .unwrap()
        .unwrap();
    assert!(
        Value::Object(saved).to_string().contains("Howdy"),
        "the saved settings hold the new greeting"
    );
    let target = admin.create_post(&channel_id, "react to me").await;
    let target_id = target["id"].as_str().unwrap();
    assert_eq!(
        demo_command(&admin, &channel_id, &format!("react {target_id} tada")).await,
        "the post has 1 reactions"
    );
    let (_, read) = admin.get(&format!("/posts/{target_id}")).await;
    assert_eq!(read["metadata"]["reactions"][0]["emoji_name"], "tada");
    assert_eq!(
        demo_command(&admin, &channel_id, &format!("unreact {target_id} tada")).await,
        "the post has 0 reactions"
    );
    let (status, reply) = admin
        .post(
            "/commands/execute",
            json!({"command": format!("/demo react {target_id} no_such_emoji_here"), "channel_id": channel_id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        reply["text"],
        "/demo failed: not found: :no_such_emoji_here: is not an emoji this server knows."
    );
    let mut admin_socket = Ws::ready(&server, admin.token()).await;
    assert_eq!(
        demo_command(
            &admin,
            &channel_id,
            "pref set display_settings use_military_time true"
        )
        .await,
        "you have 1 preferences"
    );
    let changed = admin_socket.expect_event("preferences_changed").await;
    assert!(changed["data"]["preferences"]
        .as_str()
        .unwrap()
        .contains("use_military_time"));
    let (_, saved) = admin
        .get("/users/me/preferences/display_settings/name/use_military_time")
        .await;
    assert_eq!(saved["value"], "true");
    assert_eq!(
        demo_command(
            &admin,
            &channel_id,
            "pref del display_settings use_military_time"
        )
        .await,
        "you have 0 preferences"
    );
    admin_socket.expect_event("preferences_deleted").await;
    // The command's AutocompleteData drives suggestions as one types.
    let team_id = server_team_of(&admin, &channel_id).await;
    let suggest = |input: &str| {
        format!(
            "/teams/{team_id}/commands/autocomplete_suggestions?user_input={}",
            input.replace(' ', "%20")
        )
    };
    let (status, found) = admin.get(&suggest("/dem")).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found[0]["Complete"], "demo");
    assert_eq!(found[0]["Hint"], "[greet|echo|status|whisper|version|kv]");
    let (_, found) = admin.get(&suggest("/demo st")).await;
    assert_eq!(
        found,
        json!([{"Complete": "demo status", "Suggestion": "status",
        "Hint": "[online|away|offline|dnd]", "Description": "show (or set) your status",
        "IconData": ""}])
    );
    let (_, found) = admin.get(&suggest("/demo status o")).await;
    let completes: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["Complete"].as_str().unwrap())
        .collect();
    assert_eq!(completes, ["demo status online", "demo status offline"]);
    // A dynamic list comes from the plugin's HTTP handler: its KV keys.
    demo_command(&admin, &channel_id, "kv set suggest-me 1").await;
    let (_, found) = admin.get(&suggest("/demo kv get sugg")).await;
    assert_eq!(found[0]["Complete"], "demo kv get suggest-me", "{found}");
    assert_eq!(found[0]["Description"], "a key of the demo plugin");
    let (_, found) = admin.get(&suggest("/demo kv get zzz")).await;
    assert_eq!(found, json!([]));
    assert_error(
        &admin.get(&suggest("")).await,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_url_param.app_error",
    );
    // Statuses: GetUserStatus, UpdateUserStatus, GetUserStatusesByIds.
    assert_eq!(
        demo_command(&admin, &channel_id, "status").await,
        "your status is online"
    );
    assert_eq!(
        demo_command(&admin, &channel_id, "status dnd").await,
        "your status is dnd"
    );
    let change = admin_socket.expect_event("status_change").await;
    assert_eq!(change["data"]["status"], "dnd");
    assert_eq!(admin.get("/users/me/status").await.1["manual"], true);
    assert_eq!(
        demo_command(&admin, &channel_id, "status asleep").await,
        "/demo failed: invalid argument: Invalid or missing status in request body."
    );
    assert_eq!(
        demo_command(&admin, &channel_id, "status online").await,
        "your status is online"
    );
    // Files: UploadFile, GetFile, GetFileInfo and a post carrying the upload.
    let reply = demo_command(&admin, &channel_id, "file hello from a plugin").await;
    assert!(reply.starts_with("uploaded "), "{reply}");
    assert!(reply.contains("(19 bytes) as note.txt"), "{reply}");
    let file_id = reply.split(' ').nth(1).unwrap().to_string();
    let post_id = reply.rsplit(' ').next().unwrap().to_string();
    let (_, post) = admin.get(&format!("/posts/{post_id}")).await;
    assert_eq!(post["file_ids"], json!([file_id]));
    assert_eq!(post["metadata"]["files"][0]["user_id"], "nouser");
    let download = admin.download(&format!("/files/{file_id}")).await;
    assert_eq!(download.body, b"hello from a plugin".to_vec());
    // FileWillBeUploaded saw it, and refuses or renames what users upload.
    let seen = demo_record(&admin, "hook:FileWillBeUploaded:last").await;
    assert_eq!(seen["size"], json!(download.body.len()));
    let before = server.count("file_infos").await;
    assert_error(
        &admin
            .upload_file(&channel_id, "blocked.txt", b"no".to_vec())
            .await,
        StatusCode::BAD_REQUEST,
        "app.upload.run_plugins_hook.rejected",
    );
    assert_eq!(server.count("file_infos").await, before);
    let (status, renamed) = admin
        .upload_file(&channel_id, "rename-me.png", b"yes".to_vec())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{renamed}");
    assert_eq!(renamed["file_infos"][0]["name"], "renamed.png");
    assert_eq!(renamed["file_infos"][0]["extension"], "png");
    assert_eq!(
        demo_command(&admin, &channel_id, "version").await,
        format!("Server version {}", chorus_server::MATTERMOST_VERSION)
    );
    demo_command(&admin, &channel_id, "unregister").await;
    let gone = admin
        .post(
            "/commands/execute",
            json!({"command": "/demo version", "channel_id": channel_id}),
        )
        .await;
    assert_error(
        &gone,
        StatusCode::NOT_FOUND,
        "api.command.execute_command.not_found.app_error",
    );
    server.stop().await;
}

/// A server running the faulty plugin beside the noop one (whose hook every post
/// passes through), with a channel to post in.
async fn faulty_beside_noop() -> Option<(TestServer, crate::common::Api, String)> {
    let server = plugin_server(Backend::Sqlite).await?;
    let (admin, _) = server.user("admin").await;
    admin
        .install_plugin(plugin_bundle("faulty", "faulty"))
        .await;
    admin.install_plugin(plugin_bundle("noop", "noop")).await;
    let team = admin.team("t1").await;
    let channel = admin.channel(team["id"].as_str().unwrap(), "c1", "O").await;
    let channel_id = channel["id"].as_str().unwrap().to_string();
    Some((server, admin, channel_id))
}

/// A plugin printing tens of megabytes of log lines: the server drops what is over its
/// log rate and counts it, keeps serving, and the plugin (whose pipe is still drained)
/// and the others keep working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_plugin_output_is_rate_limited() {
    let Some((server, admin, channel_id)) = faulty_beside_noop().await else {
        return;
    };
    let channel_id = channel_id.as_str();

    let reply = admin
        .plugin_request(Method::POST, FAULTY, "/flood?mb=32")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::ACCEPTED);
    // 32 MiB of 97-byte lines is about 346,000 lines; at most a few thousand may be
    // logged in the time it takes.
    let slot = server.state.plugins.slot(FAULTY).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while slot
        .log_lines_dropped
        .load(std::sync::atomic::Ordering::Relaxed)
        < 300_000
    {
        assert!(
            std::time::Instant::now() < deadline,
            "only {} lines dropped",
            slot.log_lines_dropped
                .load(std::sync::atomic::Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, _) = admin.get("/system/ping").await;
    assert_eq!(status, StatusCode::OK);
    let post = admin.create_post(channel_id, "still posting").await;
    assert_eq!(post["message"], "still posting");
    assert!(
        pid_of(&admin, FAULTY).await.is_some(),
        "the flooding plugin still serves"
    );
    for plugin_id in [FAULTY, "com.chorus.test.noop"] {
        assert_eq!(admin.plugin_status(plugin_id).await.unwrap()["state"], 2);
    }
    assert_eq!(
        server.state.plugins.hook_failures("com.chorus.test.noop"),
        0
    );
    server.stop().await;
}

/// A plugin hammering the plugin API (thousands of KV writes, 64 at a time) does not
/// take the server or the other plugins down with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_plugin_api_calls_leaves_the_server_serving() {
    let Some((server, admin, channel_id)) = faulty_beside_noop().await else {
        return;
    };

    let flooding = {
        let admin = admin.clone();
        tokio::spawn(async move {
            let reply = admin
                .plugin_request(Method::POST, FAULTY, "/api-flood?calls=5000")
                .timeout(Duration::from_secs(120))
                .send()
                .await
                .unwrap();
            assert_eq!(reply.status(), StatusCode::OK);
            reply.json::<Value>().await.unwrap()
        })
    };
    // Meanwhile the server keeps serving people and the other plugin's hook.
    for i in 0..20 {
        let post = admin
            .create_post(&channel_id, &format!("during the flood {i}"))
            .await;
        assert_eq!(post["message"], format!("during the flood {i}"));
        let (status, _) = admin.get("/system/ping").await;
        assert_eq!(status, StatusCode::OK);
    }
    let result = flooding.await.unwrap();
    assert_eq!(result["succeeded"], 5000, "{result}");
    assert_eq!(
        server.state.plugins.hook_failures("com.chorus.test.noop"),
        0
    );
    for plugin_id in [FAULTY, "com.chorus.test.noop"] {
        assert_eq!(admin.plugin_status(plugin_id).await.unwrap()["state"], 2);
    }
    server.stop().await;
}

/// One plugin cannot read or change another's KV keys: the plugin API knows which
/// plugin is calling from the connection it serves, so there is no id to forge. The
/// demo plugin's counter and the faulty plugin's key of the same name stay apart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_cannot_reach_each_others_kv_keys() {
    let Some((server, admin, _)) = faulty_beside_noop().await else {
        return;
    };
    admin.install_plugin(plugin_bundle("demo", "demo")).await;
    let call = |plugin: &str, method: Method, path: &str| {
        admin.plugin_request(method, plugin, path).send()
    };
    for _ in 0..2 {
        let reply = call("com.chorus.demo", Method::POST, "/cluster/increment")
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::OK);
    }
    let read = call("com.chorus.test.faulty", Method::GET, "/kv/counter")
        .await
        .unwrap();
    assert_eq!(
        read.status(),
        StatusCode::NOT_FOUND,
        "faulty saw demo's key"
    );
    let written = call("com.chorus.test.faulty", Method::POST, "/kv/incr/counter")
        .await
        .unwrap();
    assert_eq!(written.json::<Value>().await.unwrap()["value"], 1);
    let demo_counter = call("com.chorus.demo", Method::GET, "/cluster/counter")
        .await
        .unwrap();
    assert_eq!(demo_counter.status(), StatusCode::OK);
    let body: Value = demo_counter.json().await.unwrap();
    assert_eq!(body["value"], 2, "demo's counter changed: {body}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wider_plugin_api_reads_and_changes_the_real_server() {
    let Some(server) = plugin_server(Backend::Sqlite).await else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    admin.install_plugin(plugin_bundle("demo", "demo")).await;
    let team_id = id(&admin.team("t1").await);
    let other_team_id = id(&admin.team("t2").await);
    let channel_id = id(&admin.channel(&team_id, "c1", "O").await);
    let (bob, bob_user) = server.member(&admin, &team_id, "bob").await;
    let bob_id = id(&bob_user);
    admin.add_to_channel(&channel_id, &bob_id).await;
    let demo = |api: &crate::common::Api, words: &str| {
        let api = api.clone();
        let channel_id = channel_id.clone();
        let words = words.to_string();
        async move { demo_command(&api, &channel_id, &words).await }
    };

    // Teams: by name, all of them, members; CreateTeamMember joins the default channels.
    assert_eq!(
        demo(&bob, "team").await,
        "team t1 (same by name: yes), 2 teams, you are team_user, 2 members"
    );
    assert_eq!(
        demo(&bob, "jointeam t2").await,
        "you joined t2 as team_user"
    );
    let (_, my_teams) = bob.get("/users/me/teams").await;
    assert!(my_teams
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["id"] == json!(other_team_id)));
    let (_, town) = bob
        .get(&format!("/teams/{other_team_id}/channels/name/town-square"))
        .await;
    assert!(admin.channel_member_ids(&id(&town)).await.contains(&bob_id));

    // Channels and users as the plugin reads them.
    assert_eq!(
        demo(&bob, "members").await,
        "~c1 (same by team name: yes): 2 members (admin, bob), 2 users in the team"
    );

    // Permissions follow the built-in roles: posting comes with channel membership,
    // making channels with team membership (and reaches the team's channels), managing
    // the system with the system admin role alone.
    assert_eq!(
        demo(&bob, "can create_post").await,
        "create_post: system no, team no, channel yes"
    );
    assert_eq!(
        demo(&bob, "can create_public_channel").await,
        "create_public_channel: system no, team yes, channel yes"
    );
    assert_eq!(
        demo(&bob, "can manage_system").await,
        "manage_system: system no, team no, channel no"
    );
    assert_eq!(
        demo(&admin, "can manage_system").await,
        "manage_system: system yes, team yes, channel yes"
    );

    // A private channel made by the plugin: its creator recorded, and only the user
    // the plugin added is in it; nobody else was told of it.
    let created = demo(&bob, "newchannel plans").await;
    let plans_id = created.rsplit(['(', ')']).nth(1).unwrap().to_string();
    let (_, plans) = bob.get(&format!("/channels/{plans_id}")).await;
    assert_eq!(plans["type"], "P");
    assert_eq!(plans["creator_id"], json!(bob_id));
    assert_eq!(
        admin.channel_member_ids(&plans_id).await,
        vec![bob_id.clone()]
    );
    let reply = demo_command(&bob, &channel_id, "newchannel plans").await;
    assert!(reply.contains("failed"), "{reply}");

    // DeleteChannelMember, GetPostThread, GetPostsSince.
    let root = bob.create_post(&channel_id, "root").await;
    let (status, _) = bob
        .post(
            "/posts",
            json!({"channel_id": channel_id, "root_id": root["id"], "message": "reply"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        demo(&bob, &format!("thread {}", id(&root))).await,
        "the thread has 2 posts"
    );
    // Changed after `since`, as Mattermost's: the root at `since` itself is left out.
    let since = root["create_at"].as_i64().unwrap() - 1;
    let changed = demo(&bob, &format!("since {since}")).await;
    assert!(changed.starts_with("2 posts changed"), "{changed}");
    assert_eq!(
        demo(&admin, "kick bob").await,
        "removed @bob from this channel"
    );
    assert!(!admin
        .channel_member_ids(&channel_id)
        .await
        .contains(&bob_id));

    // CreateBot, PatchBot, GetBot: owned by the plugin.
    let bot = demo(&admin, "bot helper").await;
    assert!(
        bot.contains("owner com.chorus.demo, description \"patched\""),
        "{bot}"
    );
    let (_, helper) = admin.get("/users/username/helper").await;
    assert_eq!(helper["is_bot"], true);

    // GetConfig hides the data source; no licence; one diagnostic id; the plugin runs.
    let report = demo(&admin, "server").await;
    assert!(
        report.starts_with("data source \"********\", licence none, diagnostic id "),
        "{report}"
    );
    assert!(report.ends_with("com.chorus.demo is running"), "{report}");
    let diagnostic = |text: &str| text.split("diagnostic id ").nth(1).unwrap()[..26].to_string();
    assert_eq!(
        diagnostic(&report),
        diagnostic(&demo(&admin, "server").await)
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_may_refuse_logins_and_hear_of_sockets() {
    let Some(server) = plugin_server(Backend::Sqlite).await else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    admin.install_plugin(plugin_bundle("demo", "demo")).await;
    let (_, mallory_user) = server.user("mallory").await;
    let patch =
        json!({"PluginSettings": {"Plugins": {"com.chorus.demo": {"BlockedUsers": "mallory"}}}});
    let (status, config) = admin.put("/config/patch", patch).await;
    assert_eq!(status, StatusCode::OK, "{config}");

    // The plugin refuses mallory: no session is made, the reason is shown.
    let sessions_before = server.count("sessions").await;
    let login = json!({"login_id": "mallory", "password": "password-mallory"});
    let mut refused = None;
    for _ in 0..100 {
        let reply = server.client().post("/users/login", login.clone()).await;
        if reply.0 == StatusCode::BAD_REQUEST {
            refused = Some(reply);
            break;
        }
        // The new settings reach the plugin through OnConfigurationChange, just after.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let refused = refused.expect("the plugin never refused the login");
    assert_error(
        &refused,
        StatusCode::BAD_REQUEST,
        "app.user.login.rejected_by_plugin.app_error",
    );
    assert!(refused.1["message"]
        .as_str()
        .unwrap()
        .contains("@mallory may not log in"));
    let record = demo_record(&admin, &format!("hook:UserWillLogIn:{}", id(&mallory_user))).await;
    assert_eq!(record["blocked"], true);
    // Others still log in.
    let (bob, bob_user) = server.user("bob").await;
    assert_eq!(server.count("sessions").await, sessions_before + 1);

    // A socket's opening and closing reach the plugin with its connection id.
    let mut ws = Ws::connect(&server, bob.token(), "").await;
    let hello = ws.expect_event("hello").await;
    let connection_id = hello["data"]["connection_id"].as_str().unwrap().to_string();
    let opened = demo_record(
        &admin,
        &format!("hook:OnWebSocketConnect:{}", id(&bob_user)),
    )
    .await;
    assert_eq!(opened["connection_id"], json!(connection_id));
    ws.close().await;
    let closed = demo_record(
        &admin,
        &format!("hook:OnWebSocketDisconnect:{}", id(&bob_user)),
    )
    .await;
    assert_eq!(closed["connection_id"], json!(connection_id));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_change_channels_users_pictures_and_teams() {
    let Some(server) = plugin_server(Backend::Sqlite).await else {
        return;
    };
    let (admin, admin_user) = server.user("admin").await;
    admin.install_plugin(plugin_bundle("demo", "demo")).await;
    // OnInstall names the admin who installed it, once the plugin runs.
    let installed = demo_record(&admin, "hook:OnInstall:last").await;
    assert_eq!(installed["user_id"], admin_user["id"]);
    let team_id = id(&admin.team("t1").await);
    let channel_id = id(&admin.channel(&team_id, "c1", "O").await);
    let (bob, bob_user) = server.member(&admin, &team_id, "bob").await;
    let bob_id = id(&bob_user);
    admin.add_to_channel(&channel_id, &bob_id).await;

    // UpdateChannel saves the header; a plugin's change posts no system message.
    assert_eq!(
        demo_command(&bob, &channel_id, "header Weekly plans").await,
        "the header of ~c1 is now \"Weekly plans\""
    );
    let (_, channel) = bob.get(&format!("/channels/{channel_id}")).await;
    assert_eq!(channel["header"], "Weekly plans");
    let (_, posts) = bob.get(&format!("/channels/{channel_id}/posts")).await;
    assert!(
        !posts.to_string().contains("system_header_change"),
        "{posts}"
    );

    // UpdateUser, and GetProfileImage/SetProfileImage: bob gets the bot's picture.
    assert_eq!(
        demo_command(&bob, &channel_id, "nickname Bobby").await,
        "@bob is now known as \"Bobby\""
    );
    let (_, read) = admin.get(&format!("/users/{bob_id}")).await;
    assert_eq!(read["nickname"], "Bobby");
    let avatar = demo_command(&bob, &channel_id, "avatar").await;
    assert!(
        avatar.starts_with("your picture is now the bot's"),
        "{avatar}"
    );
    let (_, bot) = admin.get("/users/username/demo-bot").await;
    let pixels = |body: Vec<u8>| image::load_from_memory(&body).unwrap().to_rgb8();
    let bots = pixels(
        admin
            .download(&format!("/users/{}/image", id(&bot)))
            .await
            .body,
    );
    let bobs = pixels(admin.download(&format!("/users/{bob_id}/image")).await.body);
    assert_eq!(bobs, bots);
    let (_, read) = admin.get(&format!("/users/{bob_id}")).await;
    assert!(read["last_picture_update"].as_i64().unwrap() > 0);

    // DeleteTeamMember with bob as the requestor: he left, and UserHasLeftTeam says so.
    assert_eq!(
        demo_command(&bob, &channel_id, "leaveteam").await,
        "you left the team"
    );
    let left = demo_record(&admin, &format!("hook:UserHasLeftTeam:{team_id}:{bob_id}")).await;
    assert_eq!(left["actor_id"], Value::Null);
    assert!(!admin
        .channel_member_ids(&channel_id)
        .await
        .contains(&bob_id));
    let town = id(&admin.channel_named(&team_id, "town-square").await);
    let (_, town_posts) = admin.get(&format!("/channels/{town}/posts")).await;
    assert!(town_posts.to_string().contains("system_leave_team"));
    server.stop().await;
}
