//! What the web app needs from the server beyond the core API: its own files and the
//! page fallback, the team and channel lists to browse and join, read positions and
//! unread counts, and plugin settings saved from the System Console.

use crate::both_backends;
use crate::common::{assert_error, id, ids, plugin_bundle, Backend, Endpoint, TestServer, Ws};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_app_is_served_at_every_page_and_assets_revalidate() {
    let Some(server) = TestServer::start(Backend::Sqlite).await else {
        return;
    };
    let http = reqwest::Client::new();
    for page in [
        "/",
        "/login",
        "/bench/channels/town-square",
        "/admin_console/plugins",
    ] {
        let reply = http
            .get(format!("{}{page}", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::OK, "{page}");
        assert_eq!(
            reply.headers()["content-type"],
            "text/html; charset=utf-8",
            "{page}"
        );
        assert!(reply.text().await.unwrap().contains("<html"), "{page}");
    }
    let index = http.get(format!("{}/", server.url)).send().await.unwrap();
    let etag = index.headers()["etag"].to_str().unwrap().to_string();
    let again = http
        .get(format!("{}/login", server.url))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    // The emoji table the web app shows reactions with: the server's own emoji data.
    let emoji = http
        .get(format!("{}/static/emoji.json", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(emoji.status(), StatusCode::OK);
    assert_eq!(emoji.headers()["content-type"], "application/json");
    let etag = emoji.headers()["etag"].to_str().unwrap().to_string();
    let table: serde_json::Value = emoji.json().await.unwrap();
    assert_eq!(table["+1"], "👍");
    assert_eq!(table["tada"], "🎉");
    assert!(table.as_object().unwrap().len() > 1500);
    let again = http
        .get(format!("{}/static/emoji.json", server.url))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    // Unknown API routes, unknown assets and other methods keep Mattermost's 404.
    for path in [
        "/api/v4/nothing-here",
        "/static/no-such-file.js",
        "/plugins/x/y",
    ] {
        let reply = http
            .get(format!("{}{path}", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            reply.headers()["content-type"],
            "application/json",
            "{path}"
        );
    }
    let post = http
        .post(format!("{}/some-page", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), StatusCode::NOT_FOUND);
    let escape = http
        .get(format!("{}/static/..%2F..%2FCargo.toml", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(escape.status(), StatusCode::NOT_FOUND);
    server.stop().await;
}

async fn browsing_and_unread(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    let (alice, alice_user) = server.user("alice").await;
    let open_team = admin.team("open").await;
    let (status, invite_only) = admin
        .post(
            "/teams",
            json!({"name": "closed", "display_name": "Closed", "type": "I"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{invite_only}");

    // A plain user sees the open team (to join it) but not the invite-only one; the
    // admin sees both.
    let (status, teams) = alice.get("/teams").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&teams), vec![id(&open_team)]);
    let (_, teams) = admin.get("/teams").await;
    assert_eq!(ids(&teams).len(), 2);

    let team_id = id(&open_team);
    let extra = admin.channel(&team_id, "extra", "O").await;
    admin.channel(&team_id, "secret", "P").await;
    // Not a member yet: the channel list of the team is refused.
    assert_error(
        &alice.get(&format!("/teams/{team_id}/channels")).await,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    admin.add_to_team(&team_id, &id(&alice_user)).await;
    let (status, open) = alice.get(&format!("/teams/{team_id}/channels")).await;
    assert_eq!(status, StatusCode::OK, "{open}");
    let names: Vec<&str> = open
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["extra", "off-topic", "town-square"]);
    let (status, _) = alice
        .post(
            &format!("/channels/{}/members", id(&extra)),
            json!({"user_id": id(&alice_user)}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // Unread: the channel's total_msg_count runs ahead of the member's msg_count
    // until the member views the channel.
    let unread = |channels: &serde_json::Value, members: &serde_json::Value| {
        let mut unread = Vec::new();
        for channel in channels.as_array().unwrap() {
            let member = members
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["channel_id"] == channel["id"])
                .expect("a membership per channel");
            if channel["total_msg_count"].as_i64() > member["msg_count"].as_i64() {
                unread.push(channel["name"].as_str().unwrap().to_string());
            }
        }
        unread
    };
    let read_state = || async {
        let (status, channels) = alice
            .get(&format!("/users/me/teams/{team_id}/channels"))
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, members) = alice
            .get(&format!("/users/me/teams/{team_id}/channels/members"))
            .await;
        assert_eq!(status, StatusCode::OK, "{members}");
        unread(&channels, &members)
    };
    assert!(read_state().await.is_empty());
    admin.create_post(&id(&extra), "one").await;
    admin.create_post(&id(&extra), "two").await;
    assert_eq!(read_state().await, vec!["extra"]);

    let mut other_tab = Ws::ready(&server, alice.token()).await;
    let (status, viewed) = alice
        .post(
            "/channels/members/me/view",
            json!({"channel_id": id(&extra)}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{viewed}");
    assert!(viewed["last_viewed_at_times"][id(&extra)].as_i64().unwrap() > 0);
    assert!(read_state().await.is_empty());
    let event = other_tab.expect_event("channel_viewed").await;
    assert_eq!(event["data"]["channel_id"], id(&extra));

    // Viewing a channel one is not in, or for someone else, is refused.
    let secret = admin.channel_named(&team_id, "secret").await;
    assert_error(
        &alice
            .post(
                "/channels/members/me/view",
                json!({"channel_id": id(&secret)}),
            )
            .await,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    let (_, admin_user) = admin.get("/users/me").await;
    assert_error(
        &alice
            .post(
                &format!("/channels/members/{}/view", id(&admin_user)),
                json!({"channel_id": id(&extra)}),
            )
            .await,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    assert_error(
        &alice
            .get(&format!(
                "/users/{}/teams/{team_id}/channels/members",
                id(&admin_user)
            ))
            .await,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    server.stop().await;
}

async fn plugin_settings_from_the_console(backend: Backend) {
    let Some(server) = TestServer::start_with(backend, |c| {
        c.plugin_settings.enable_uploads = true;
    })
    .await
    else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    let (plain, _) = server.user("plain").await;
    admin
        .install_plugin(plugin_bundle("trigger-alert", "trigger-alert"))
        .await;
    const ID: &str = "com.chorus.trigger-alert";
    let patch =
        |settings: serde_json::Value| json!({"PluginSettings": {"Plugins": {ID: settings}}});

    let (status, config) = admin
        .put("/config/patch", patch(json!({"MaxWordsPerUser": 2})))
        .await;
    assert_eq!(status, StatusCode::OK, "{config}");
    assert_eq!(
        config["PluginSettings"]["Plugins"][ID]["MaxWordsPerUser"],
        2
    );
    let (_, config) = admin.get("/config").await;
    assert_eq!(
        config["PluginSettings"]["Plugins"][ID]["MaxWordsPerUser"],
        2
    );
    assert_eq!(config["SqlSettings"]["DataSource"], "********");

    // The plugin runs with the new value: a third word is refused.
    for word in ["one", "two"] {
        let reply = plain
            .plugin_request(Method::POST, ID, "/api/v1/triggers")
            .json(&json!({"word": word}))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::OK);
    }
    let third = plain
        .plugin_request(Method::POST, ID, "/api/v1/triggers")
        .json(&json!({"word": "three"}))
        .send()
        .await
        .unwrap();
    assert!(third.status().is_client_error(), "{}", third.status());

    // Bad input is refused whole, with a message naming the problem, and changes nothing.
    for (body, mentions) in [
        (
            patch(json!({"MaxWordsPerUser": "lots"})),
            "must be a number",
        ),
        (
            patch(json!({"NoSuchSetting": 1})),
            "NoSuchSetting is not a setting",
        ),
        (
            json!({"ServiceSettings": {"ListenAddress": ":1"}}),
            "ServiceSettings cannot be changed",
        ),
        (
            json!({"PluginSettings": {"Enable": false}}),
            "PluginSettings.Enable cannot be changed",
        ),
        (
            json!({"PluginSettings": {"Plugins": {ID: 5}}}),
            "must be an object",
        ),
    ] {
        let (status, error) = admin.put("/config/patch", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {error}");
        assert!(
            error["message"].as_str().unwrap().contains(mentions),
            "{body}: {error}"
        );
    }
    let (status, error) = admin
        .put(
            "/config/patch",
            json!({"PluginSettings": {"Plugins": {ID: {"MaxWordsPerUser": 9}, "com.example.absent": {}}}}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{error}");
    let (_, config) = admin.get("/config").await;
    assert_eq!(
        config["PluginSettings"]["Plugins"][ID]["MaxWordsPerUser"],
        2
    );

    assert_error(
        &plain
            .put("/config/patch", patch(json!({"MaxWordsPerUser": 9})))
            .await,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    server.stop().await;
}

both_backends!(browsing_and_unread, plugin_settings_from_the_console);
