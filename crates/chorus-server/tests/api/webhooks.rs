//! Incoming webhooks: made and managed by team admins, then posting Slack-shaped JSON
//! and `payload=` forms as their owner, with Mattermost's errors for what is refused.

use crate::both_backends;
use crate::common::{assert_error, id, Backend, Endpoint, TestServer, Ws};
use reqwest::StatusCode;
use serde_json::{json, Value};

both_backends!(
    incoming_webhooks_post_as_their_owner,
    incoming_webhooks_can_be_switched_off
);

/// `POST /hooks/{id}` as an integration sends it, without a session: its status and
/// body text.
async fn send(request: reqwest::RequestBuilder) -> (StatusCode, String) {
    let reply = request.send().await.expect("webhook request");
    (reply.status(), reply.text().await.unwrap_or_default())
}

fn hook_url(server: &TestServer, hook_id: &str) -> String {
    format!("{}/hooks/{hook_id}", server.base_url())
}

async fn last_post(api: &crate::common::Api, channel_id: &str) -> Value {
    let (_, list) = api.get(&format!("/channels/{channel_id}/posts")).await;
    let first = list["order"][0].as_str().expect("a post").to_string();
    list["posts"][&first].clone()
}

async fn incoming_webhooks_post_as_their_owner(backend: Backend) {
    let Some(server) = TestServer::start_with(backend, |config| {
        config.service_settings.enable_post_username_override = true;
    })
    .await
    else {
        return;
    };
    let (admin, admin_user) = server.user("admin").await;
    let team = id(&admin.team("crew").await);
    let channel = id(&admin.channel(&team, "builds", "O").await);
    let other = id(&admin.channel(&team, "other", "O").await);
    let (alice, alice_user) = server.member(&admin, &team, "alice").await;
    admin.add_to_channel(&channel, &id(&alice_user)).await;
    let hidden = id(&alice.channel(&team, "hidden", "P").await);

    // Only team admins (and system admins) manage hooks.
    let hook_body = json!({"channel_id": channel, "display_name": "CI", "description": "builds",
                           "username": "ci-bot", "icon_url": "https://example.com/ci.png"});
    assert_error(
        &alice.post("/hooks/incoming", hook_body.clone()).await,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    assert_error(
        &admin
            .post(
                "/hooks/incoming",
                json!({"channel_id": channel, "display_name": "x".repeat(65)}),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "model.incoming_hook.display_name.app_error",
    );
    let (status, hook) = admin.post("/hooks/incoming", hook_body).await;
    assert_eq!(status, StatusCode::CREATED, "{hook}");
    assert_eq!(hook["user_id"], admin_user["id"]);
    assert_eq!(hook["team_id"], json!(team));
    assert_eq!(hook["channel_locked"], false);
    let hook_id = id(&hook);
    let (_, listed) = admin.get(&format!("/hooks/incoming?team_id={team}")).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(
        admin.get(&format!("/hooks/incoming/{hook_id}")).await.1,
        hook
    );
    assert_eq!(
        alice.get(&format!("/hooks/incoming/{hook_id}")).await.0,
        StatusCode::FORBIDDEN
    );

    // JSON, as Slack integrations send it: posted as the owner, with the overrides.
    let client = reqwest::Client::new();
    let mut socket = Ws::ready(&server, alice.token()).await;
    let (status, text) =
        send(client.post(hook_url(&server, &hook_id)).json(
            &json!({"text": "build <https://ci.example.com/42|#42> passed", "username": "ci"}),
        ))
        .await;
    assert_eq!((status, text.as_str()), (StatusCode::OK, "ok"));
    let post = last_post(&admin, &channel).await;
    assert_eq!(post["user_id"], admin_user["id"]);
    assert_eq!(
        post["message"],
        "build [#42](https://ci.example.com/42) passed"
    );
    assert_eq!(post["props"]["from_webhook"], "true");
    assert_eq!(post["props"]["webhook_display_name"], "CI");
    assert_eq!(post["props"]["override_username"], "ci");
    assert!(
        post["props"].get("override_icon_url").is_none(),
        "icon overrides are off"
    );
    let event = socket.expect_event("posted").await;
    assert!(event["data"]["post"].as_str().unwrap().contains("#42"));

    // A `payload=` form naming another channel; a DM by @username; attachments only.
    let payload = json!({"text": "from a form", "channel": "other"}).to_string();
    let (status, _) = send(
        client
            .post(hook_url(&server, &hook_id))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!("payload={}", urlencode(&payload))),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(last_post(&admin, &other).await["message"], "from a form");
    let (status, _) = send(
        client
            .post(hook_url(&server, &hook_id))
            .json(&json!({"text": "psst", "channel": "@alice"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let event = socket.expect_event("posted").await;
    assert_eq!(event["data"]["channel_type"], "D");
    let (status, _) = send(
        client
            .post(hook_url(&server, &hook_id))
            .json(&json!({"attachments": [{"fallback": "deploy", "text": "deployed v2"}]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let post = last_post(&admin, &channel).await;
    assert_eq!(post["type"], "slack_attachment");
    assert_eq!(post["props"]["attachments"][0]["text"], "deployed v2");

    // What is refused.
    let posts_before = server.count("posts").await;
    let refused = |body: reqwest::RequestBuilder| send(body);
    let error_id = |text: &str| -> String {
        serde_json::from_str::<Value>(text).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (status, text) = refused(client.post(hook_url(&server, &hook_id)).json(&json!({}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_id(&text), "web.incoming_webhook.text.app_error");
    let (status, text) = refused(client.post(hook_url(&server, &hook_id)).body("not json")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_id(&text), "web.incoming_webhook.parse.app_error");
    let (status, text) = refused(
        client
            .post(hook_url(&server, &chorus_model::new_id()))
            .json(&json!({"text": "hi"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_id(&text), "web.incoming_webhook.invalid.app_error");
    let (status, text) = refused(
        client
            .post(hook_url(&server, &hook_id))
            .json(&json!({"text": "hi", "channel": "no-such-channel"})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_id(&text), "web.incoming_webhook.channel.app_error");
    let (status, text) = refused(
        client
            .post(hook_url(&server, &hook_id))
            .json(&json!({"text": "hi", "channel": "hidden"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{hidden}");
    assert_eq!(
        error_id(&text),
        "web.incoming_webhook.permissions.app_error"
    );

    // Locked to its channel after an update; deleted, its URL stops working.
    let (status, updated) = admin
        .put(
            &format!("/hooks/incoming/{hook_id}"),
            json!({"channel_id": channel, "display_name": "CI", "channel_locked": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{updated}");
    assert_eq!(updated["channel_locked"], true);
    assert!(updated["update_at"].as_i64() > hook["update_at"].as_i64());
    let (status, text) = refused(
        client
            .post(hook_url(&server, &hook_id))
            .json(&json!({"text": "hi", "channel": "other"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        error_id(&text),
        "web.incoming_webhook.channel_locked.app_error"
    );
    assert_eq!(server.count("posts").await, posts_before);
    let (status, _) = admin.delete(&format!("/hooks/incoming/{hook_id}")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, text) = refused(
        client
            .post(hook_url(&server, &hook_id))
            .json(&json!({"text": "hi"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_id(&text), "web.incoming_webhook.invalid.app_error");
    assert_error(
        &admin.get(&format!("/hooks/incoming/{hook_id}")).await,
        StatusCode::NOT_FOUND,
        "app.webhooks.get_incoming.app_error",
    );
    server.stop().await;
}

/// Form encoding of a value (every byte but letters and digits escaped).
fn urlencode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn incoming_webhooks_can_be_switched_off(backend: Backend) {
    let Some(server) = TestServer::start_with(backend, |config| {
        config.service_settings.enable_incoming_webhooks = false;
    })
    .await
    else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    let team = id(&admin.team("crew").await);
    let channel = id(&admin.channel(&team, "builds", "O").await);
    assert_error(
        &admin
            .post("/hooks/incoming", json!({"channel_id": channel}))
            .await,
        StatusCode::NOT_IMPLEMENTED,
        "api.incoming_webhook.disabled.app_error",
    );
    let reply = reqwest::Client::new()
        .post(hook_url(&server, &chorus_model::new_id()))
        .json(&json!({"text": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::NOT_IMPLEMENTED);
    server.stop().await;
}
