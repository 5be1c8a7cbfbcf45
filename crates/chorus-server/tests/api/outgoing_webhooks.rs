//! Outgoing webhooks: made by team admins for a channel or for trigger words; a
//! matching post is sent (as a form or JSON) to a real HTTP integration on loopback,
//! and what it answers is posted back as the hook's owner. Integrations that hang,
//! fail or answer garbage post nothing, and hooks never answer themselves.

use crate::both_backends;
use crate::common::{assert_error, event_post, id, Backend, Endpoint, TestServer, Ws};
use chorus_testkit::integration::{IntegrationPeer, Reply};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

both_backends!(
    outgoing_webhooks_send_matching_posts,
    outgoing_webhooks_are_managed_by_team_admins,
);

async fn start(backend: Backend) -> Option<TestServer> {
    TestServer::start_with(backend, |config| {
        config
            .service_settings
            .allowed_untrusted_internal_connections = "127.0.0.1".into();
        config
            .service_settings
            .outgoing_integration_requests_timeout = 2;
        config.service_settings.enable_post_username_override = true;
    })
    .await
}

async fn outgoing_webhooks_send_matching_posts(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let peer = IntegrationPeer::start().await;
    let (admin, admin_user) = server.user("admin").await;
    let team_id = id(&admin.team("crew").await);
    let town = id(&admin.channel_named(&team_id, "town-square").await);
    let ops = id(&admin.channel(&team_id, "ops", "O").await);
    let secret = id(&admin.channel(&team_id, "secret", "P").await);
    let (alice, alice_user) = server.member(&admin, &team_id, "alice").await;
    admin.add_to_channel(&ops, &id(&alice_user)).await;
    admin.add_to_channel(&secret, &id(&alice_user)).await;
    let mut ws = Ws::ready(&server, admin.token()).await;

    let (status, words_hook) = admin
        .post(
            "/hooks/outgoing",
            json!({"team_id": team_id, "trigger_words": ["deploy", "build"],
                   "callback_urls": [format!("{}/words", peer.url)], "display_name": "CI",
                   "username": "ci"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{words_hook}");
    assert_eq!(
        words_hook["content_type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(words_hook["creator_id"], admin_user["id"]);
    let token = words_hook["token"].as_str().unwrap().to_string();
    let (status, channel_hook) = admin
        .post(
            "/hooks/outgoing",
            json!({"team_id": team_id, "channel_id": ops, "content_type": "application/json",
                   "callback_urls": [format!("{}/ops", peer.url)]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{channel_hook}");

    // A first word that is a trigger word: the post goes out as a form, and a
    // `comment` answer replies in its thread as the hook's owner.
    peer.reply(
        "/words",
        Reply::json(json!({"text": "on it: <https://ci.example.com/1|job 1>",
                           "response_type": "comment"})),
    );
    let trigger = alice.create_post(&town, "deploy prod now").await;
    let call = &peer.wait_for("/words", 1).await[0];
    assert_eq!(call.method, "POST");
    assert_eq!(
        call.header("content-type"),
        "application/x-www-form-urlencoded"
    );
    call.assert_form(&[
        ("token", token.as_str()),
        ("team_id", team_id.as_str()),
        ("team_domain", "crew"),
        ("channel_id", town.as_str()),
        ("channel_name", "town-square"),
        ("user_id", alice_user["id"].as_str().unwrap()),
        ("user_name", "alice"),
        ("post_id", trigger["id"].as_str().unwrap()),
        ("text", "deploy prod now"),
        ("trigger_word", "deploy"),
        ("file_ids", ""),
    ]);
    // Seconds in forms, as Mattermost sends them.
    assert_eq!(
        call.form()["timestamp"],
        (trigger["create_at"].as_i64().unwrap() / 1000).to_string()
    );
    let mut answer = event_post(&ws.next_event("posted").await);
    if answer["id"] == trigger["id"] {
        answer = event_post(&ws.next_event("posted").await);
    }
    assert_eq!(answer["root_id"], trigger["id"]);
    assert_eq!(answer["user_id"], admin_user["id"]);
    assert_eq!(
        answer["message"],
        "on it: [job 1](https://ci.example.com/1)"
    );
    assert_eq!(answer["props"]["from_webhook"], "true");
    assert_eq!(answer["props"]["override_username"], "ci");
    assert_eq!(answer["props"]["webhook_display_name"], "CI");

    // Not a trigger word, a private channel, or a second word: nothing is sent. The
    // next match proves the ones before it were passed over.
    peer.reply("/words", Reply::text(200, "application/json", ""));
    alice.create_post(&town, "deploying later").await;
    alice.create_post(&secret, "deploy the secret").await;
    alice.create_post(&town, "please deploy").await;
    alice.create_post(&town, "build 42").await;
    let calls = peer.wait_for("/words", 2).await;
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1].form()["text"], "build 42");
    assert_eq!(calls[1].form()["trigger_word"], "build");

    // Every post of the hook's channel goes out as JSON; its answer is posted, and
    // that answer is not sent again.
    peer.reply(
        "/ops",
        Reply::json(json!({"text": "seen",
                           "props": {"from_webhook": "no", "override_username": "spoofed"}})),
    );
    let in_ops = alice.create_post(&ops, "anything at all").await;
    let call = &peer.wait_for("/ops", 1).await[0];
    assert_eq!(call.header("content-type"), "application/json");
    let body = call.json();
    assert_eq!(body["post_id"], in_ops["id"]);
    assert_eq!(body["trigger_word"], "");
    assert_eq!(body["channel_name"], "ops");
    assert_eq!(body["timestamp"], in_ops["create_at"]);
    let seen = loop {
        let post = event_post(&ws.next_event("posted").await);
        if post["message"] == "seen" {
            break post;
        }
    };
    assert_eq!(seen["root_id"], "");
    // Only the server sets these: the hook has no username, so Mattermost's default.
    assert_eq!(seen["props"]["from_webhook"], "true");
    assert_eq!(seen["props"]["override_username"], "webhook");
    assert_eq!(seen["channel_id"], json!(ops));

    // Hanging, failing and garbage callbacks post nothing; the server stays well.
    peer.reply(
        "/ops",
        Reply::json(json!({"text": "too late"})).after(Duration::from_secs(5)),
    );
    alice.create_post(&ops, "slow one").await;
    peer.wait_for("/ops", 2).await;
    peer.reply(
        "/ops",
        Reply::text(500, "application/json", r#"{"text":"error"}"#),
    );
    alice.create_post(&ops, "failing one").await;
    peer.wait_for("/ops", 3).await;
    peer.reply("/ops", Reply::text(200, "application/json", "{garbage"));
    alice.create_post(&ops, "garbage one").await;
    peer.wait_for("/ops", 4).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (_, posts) = admin.get(&format!("/channels/{ops}/posts")).await;
    let messages: Vec<&str> = posts["posts"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages.len(), 5, "{messages:?}");
    assert!(!messages.contains(&"too late") && !messages.contains(&"error"));
    assert_eq!(peer.requests("/ops").len(), 4);

    // A new token goes out from the next post on; a deleted hook is silent.
    let (status, regenerated) = admin
        .post(
            &format!("/hooks/outgoing/{}/regen_token", id(&words_hook)),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let new_token = regenerated["token"].as_str().unwrap().to_string();
    assert_ne!(new_token, token);
    alice.create_post(&town, "build 43").await;
    let calls = peer.wait_for("/words", 3).await;
    assert_eq!(calls[2].form()["token"], new_token);
    admin
        .delete(&format!("/hooks/outgoing/{}", id(&channel_hook)))
        .await;
    alice.create_post(&ops, "after the delete").await;
    alice.create_post(&town, "build 44").await;
    peer.wait_for("/words", 4).await;
    assert_eq!(peer.requests("/ops").len(), 4);
}

async fn outgoing_webhooks_are_managed_by_team_admins(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    let team_id = id(&admin.team("crew").await);
    let other_team = id(&admin.team("other").await);
    let ops = id(&admin.channel(&team_id, "ops", "O").await);
    let secret = id(&admin.channel(&team_id, "secret", "P").await);
    let elsewhere = id(&admin.channel(&other_team, "elsewhere", "O").await);
    let (alice, _) = server.member(&admin, &team_id, "alice").await;
    let hook = |extra: Value| {
        let mut body =
            json!({"team_id": team_id, "callback_urls": ["https://hooks.example.com/x"]});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    assert_error(
        &alice
            .post("/hooks/outgoing", hook(json!({"trigger_words": ["x"]})))
            .await,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    for (body, status, error) in [
        (
            hook(json!({})),
            StatusCode::BAD_REQUEST,
            "api.webhook.create_outgoing.triggers.app_error",
        ),
        (
            hook(json!({"channel_id": secret})),
            StatusCode::FORBIDDEN,
            "api.webhook.create_outgoing.not_open.app_error",
        ),
        (
            hook(json!({"channel_id": elsewhere})),
            StatusCode::FORBIDDEN,
            "api.webhook.create_outgoing.permissions.app_error",
        ),
        (
            hook(json!({"trigger_words": ["x"], "callback_urls": []})),
            StatusCode::BAD_REQUEST,
            "model.outgoing_hook.is_valid.callback.app_error",
        ),
        (
            hook(json!({"trigger_words": ["x"], "callback_urls": ["gopher://x"]})),
            StatusCode::BAD_REQUEST,
            "model.outgoing_hook.is_valid.url.app_error",
        ),
        (
            hook(json!({"trigger_words": ["two words"]})),
            StatusCode::BAD_REQUEST,
            "model.outgoing_hook.is_valid.words.app_error",
        ),
        (
            hook(json!({"trigger_words": ["x"], "trigger_when": 2})),
            StatusCode::BAD_REQUEST,
            "model.outgoing_hook.is_valid.trigger_when.app_error",
        ),
        (
            hook(json!({"trigger_words": ["x"], "display_name": "d".repeat(65)})),
            StatusCode::BAD_REQUEST,
            "model.outgoing_hook.is_valid.display_name.app_error",
        ),
    ] {
        assert_error(&admin.post("/hooks/outgoing", body).await, status, error);
    }
    assert_eq!(server.count("outgoing_webhooks").await, 0);

    let (status, first) = admin
        .post(
            "/hooks/outgoing",
            hook(json!({"channel_id": ops, "trigger_words": ["go", "run"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_error(
        &admin
            .post(
                "/hooks/outgoing",
                hook(json!({"channel_id": ops, "trigger_words": ["run"]})),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "api.webhook.create_outgoing.intersect.app_error",
    );
    // The same word is fine for another callback, or for a hook listening elsewhere
    // (team-wide here).
    let (status, elsewhere_called) = admin
        .post(
            "/hooks/outgoing",
            hook(json!({"channel_id": ops, "trigger_words": ["run"],
                        "callback_urls": ["https://other.example.com/y"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{elsewhere_called}");
    admin
        .delete(&format!("/hooks/outgoing/{}", id(&elsewhere_called)))
        .await;
    let (status, second) = admin
        .post("/hooks/outgoing", hook(json!({"trigger_words": ["run"]})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_error(
        &admin
            .put(
                &format!("/hooks/outgoing/{}", id(&second)),
                hook(json!({"channel_id": ops, "trigger_words": ["go"]})),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "api.webhook.update_outgoing.intersect.app_error",
    );
    assert_error(
        &admin
            .put(
                &format!("/hooks/outgoing/{}", id(&second)),
                json!({"team_id": other_team, "trigger_words": ["run"],
                       "callback_urls": ["https://x.example"]}),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "api.webhook.team_mismatch.app_error",
    );
    let (status, changed) = admin
        .put(
            &format!("/hooks/outgoing/{}", id(&second)),
            hook(json!({"trigger_words": ["walk"], "trigger_when": 1, "display_name": "Walker"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["trigger_words"], json!(["walk"]));
    assert_eq!(changed["token"], second["token"]);

    let (_, listed) = admin
        .get(&format!("/hooks/outgoing?team_id={team_id}"))
        .await;
    assert_eq!(listed, json!([first, changed]));
    let (_, in_ops) = admin
        .get(&format!("/hooks/outgoing?channel_id={ops}"))
        .await;
    assert_eq!(in_ops, json!([first]));
    assert_error(
        &alice
            .get(&format!("/hooks/outgoing?team_id={team_id}"))
            .await,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    assert_error(
        &alice.get(&format!("/hooks/outgoing/{}", id(&first))).await,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    assert_error(
        &admin
            .get(&format!("/hooks/outgoing/{}", "a".repeat(26)))
            .await,
        StatusCode::NOT_FOUND,
        "app.webhooks.get_outgoing.app_error",
    );

    let Some(off) = TestServer::start_with(backend, |config| {
        config.service_settings.enable_outgoing_webhooks = false;
    })
    .await
    else {
        return;
    };
    let (admin, _) = off.user("admin").await;
    let team_id = id(&admin.team("crew").await);
    assert_error(
        &admin
            .post(
                "/hooks/outgoing",
                json!({"team_id": team_id, "trigger_words": ["x"],
                       "callback_urls": ["https://x.example"]}),
            )
            .await,
        StatusCode::NOT_IMPLEMENTED,
        "api.outgoing_webhook.disabled.app_error",
    );
}
