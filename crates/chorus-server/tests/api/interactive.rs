//! Interactive messages against real integrations on loopback: clicks on buttons and
//! menus reach the action's URL with Mattermost's request, the answer updates the post
//! or shows an ephemeral message; trigger ids open dialogs, whose submissions reach
//! the integration only for a dialog the server opened; ephemeral posts carry their
//! actions sealed; and every forged or broken piece gets a clear error.

use crate::both_backends;
use crate::common::{assert_error, id, plugin_bundle, Backend, Endpoint, TestServer, Ws};
use chorus_testkit::integration::{IntegrationPeer, Reply};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

both_backends!(
    buttons_and_menus_call_their_integration,
    dialogs_open_by_trigger_id_and_submit_only_when_open,
    ephemeral_posts_carry_sealed_actions,
    interactive_failures_are_clear_errors,
);

/// A server that may call integrations on 127.0.0.1 only, giving up after 2 s.
async fn start(backend: Backend) -> Option<TestServer> {
    start_with_plugins(backend, false).await
}

async fn start_with_plugins(backend: Backend, plugin_uploads: bool) -> Option<TestServer> {
    TestServer::start_with(backend, |config| {
        config.plugin_settings.enable_uploads = plugin_uploads;
        config
            .service_settings
            .allowed_untrusted_internal_connections = "127.0.0.1".into();
        config
            .service_settings
            .outgoing_integration_requests_timeout = 2;
    })
    .await
}

/// A post of `api`'s in `channel_id` with a button and a menu calling `peer`.
async fn interactive_post(api: &crate::common::Api, channel_id: &str, peer: &str) -> Value {
    let (status, post) = api
        .post(
            "/posts",
            json!({"channel_id": channel_id, "message": "Deploy?", "props": {
            "from_webhook": "true",
            "attachments": [{"text": "Pick one", "actions": [
                {"id": "approve", "name": "Approve", "type": "button",
                 "integration": {"url": format!("{peer}/approve"), "context": {"ticket": 7}}},
                {"name": "Environment", "type": "select", "data_source": "",
                 "options": [{"text": "Staging", "value": "staging"}],
                 "integration": {"url": format!("{peer}/pick"), "context": {"menu": true}}},
                {"id": "inert", "name": "Inert", "type": "button"}
            ]}]}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{post}");
    post
}

fn expect_error(status: StatusCode, body: &Value, code: u16, error_id: &str) {
    let status_wanted = StatusCode::from_u16(code).expect("a status");
    assert_error(&(status, body.clone()), status_wanted, error_id);
}

fn actions(post: &Value) -> &Vec<Value> {
    post["props"]["attachments"][0]["actions"]
        .as_array()
        .expect("the post's actions")
}

fn parse(event: &Value, field: &str) -> Value {
    serde_json::from_str(event["data"][field].as_str().expect("a JSON text")).unwrap()
}

async fn buttons_and_menus_call_their_integration(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let peer = IntegrationPeer::start().await;
    let (admin, _) = server.user("admin").await;
    let team_id = id(&admin.team("crew").await);
    let channel_id = id(&admin.channel(&team_id, "ops", "O").await);
    let (alice, alice_user) = server.member(&admin, &team_id, "alice").await;
    admin.add_to_channel(&channel_id, &id(&alice_user)).await;
    let mut alice_ws = Ws::ready(&server, alice.token()).await;

    // Actions get ids; no client ever sees an integration.
    let post = interactive_post(&admin, &channel_id, &peer.url).await;
    let post_id = id(&post);
    assert!(!post.to_string().contains("integration"), "{post}");
    assert_eq!(actions(&post)[0]["id"], "approve");
    let menu_id = actions(&post)[1]["id"].as_str().unwrap().to_string();
    assert_eq!(menu_id.len(), 26);
    let posted = alice_ws.expect_event("posted").await;
    assert!(!posted.to_string().contains("integration"), "{posted}");
    let (_, fetched) = alice.get(&format!("/posts/{post_id}")).await;
    assert!(!fetched.to_string().contains("integration"), "{fetched}");

    // A click: Mattermost's request to the URL, the post replaced (with the props an
    // update may not take away), an ephemeral message with Slack links made Markdown.
    peer.reply(
        "/approve",
        Reply::json(json!({
            "update": {"message": "Approved", "props": {"from_webhook": "false", "approved": true}},
            "ephemeral_text": "See <https://ci.example.com/7|build 7>"
        })),
    );
    let (status, answer) = alice
        .post(&format!("/posts/{post_id}/actions/approve"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["status"], "OK");
    let client_trigger_id = answer["trigger_id"].as_str().unwrap();
    assert_eq!(client_trigger_id.len(), 26);
    let call = &peer.wait_for("/approve", 1).await[0];
    assert_eq!(call.method, "POST");
    assert_eq!(call.header("content-type"), "application/json");
    let request = call.json();
    assert_eq!(request["user_id"], alice_user["id"]);
    assert_eq!(request["user_name"], "alice");
    assert_eq!(request["channel_id"], json!(channel_id));
    assert_eq!(request["channel_name"], "ops");
    assert_eq!(request["team_id"], json!(team_id));
    assert_eq!(request["team_domain"], "crew");
    assert_eq!(request["post_id"], json!(post_id));
    assert_eq!(request["type"], "button");
    assert_eq!(request["context"], json!({"ticket": 7}));
    assert!(request["trigger_id"].as_str().unwrap().len() > 26);
    let edited = parse(&alice_ws.expect_event("post_edited").await, "post");
    assert_eq!(edited["message"], "Approved");
    assert_eq!(edited["user_id"], post["user_id"]);
    assert_eq!(edited["props"]["approved"], true);
    assert_eq!(edited["props"]["from_webhook"], "true");
    assert!(edited["props"].get("attachments").is_none());
    let ephemeral = parse(&alice_ws.expect_event("ephemeral_message").await, "post");
    assert_eq!(
        ephemeral["message"],
        "See [build 7](https://ci.example.com/7)"
    );
    assert_eq!(ephemeral["root_id"], json!(post_id));
    assert_eq!(ephemeral["type"], "system_ephemeral");
    assert_eq!(admin.post_order(&channel_id).await.len(), 1);

    // A menu choice carries the option; `props: null` keeps the post's props, so its
    // actions (and their integrations) still work afterwards.
    let post = interactive_post(&admin, &channel_id, &peer.url).await;
    let post_id = id(&post);
    let menu_id = actions(&post)[1]["id"].as_str().unwrap().to_string();
    peer.reply(
        "/pick",
        Reply::json(json!({"update": {"message": "Going to staging", "props": null}})),
    );
    for round in 1..=2 {
        let (status, answer) = alice
            .post(
                &format!("/posts/{post_id}/actions/{menu_id}"),
                json!({"selected_option": "staging"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let request = peer.wait_for("/pick", round).await[round - 1].json();
        assert_eq!(request["type"], "select");
        assert_eq!(
            request["context"],
            json!({"menu": true, "selected_option": "staging"})
        );
    }
    let (_, kept) = alice.get(&format!("/posts/{post_id}")).await;
    assert_eq!(kept["message"], "Going to staging");
    assert_eq!(actions(&kept).len(), 3);
    assert!(!kept.to_string().contains("integration"));

    // An edit by the author (whose client never saw the integrations) keeps them.
    let (status, patched) = admin
        .put(
            &format!("/posts/{post_id}/patch"),
            json!({"message": "Deploy where?", "props": kept["props"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    let (status, _) = alice
        .post(&format!("/posts/{post_id}/actions/approve"), Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(peer.wait_for("/approve", 2).await.len(), 2);
    server.stop().await;
}

async fn dialogs_open_by_trigger_id_and_submit_only_when_open(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let peer = IntegrationPeer::start().await;
    let (admin, _) = server.user("admin").await;
    let team_id = id(&admin.team("crew").await);
    let channel_id = id(&admin.channel(&team_id, "ops", "O").await);
    let (alice, alice_user) = server.member(&admin, &team_id, "alice").await;
    let (bob, bob_user) = server.member(&admin, &team_id, "bob").await;
    admin.add_to_channel(&channel_id, &id(&alice_user)).await;
    admin.add_to_channel(&channel_id, &id(&bob_user)).await;
    let mut alice_ws = Ws::ready(&server, alice.token()).await;

    // A custom command's integration gets a trigger id and opens a dialog with it.
    let (status, _) = admin
        .post(
            "/commands",
            json!({"team_id": team_id, "trigger": "survey", "url": format!("{}/survey", peer.url)}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    peer.reply("/survey", Reply::json(json!({"text": "opening"})));
    let (status, _) = alice
        .post(
            "/commands/execute",
            json!({"command": "/survey", "channel_id": channel_id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let trigger_id = peer.wait_for("/survey", 1).await[0].form()["trigger_id"].clone();
    let dialog_url = format!("{}/dialog", peer.url);
    let open = |trigger_id: &str| {
        json!({"trigger_id": trigger_id, "url": dialog_url, "dialog": {
            "callback_id": "survey-1", "title": "Survey", "submit_label": "Send",
            "state": "s1", "elements": [{"display_name": "Name", "name": "name", "type": "text"}],
            "future_option": {"kept": true}}})
    };
    // Opening needs no session: the trigger id is the credential.
    let (status, body) = server
        .client()
        .post("/actions/dialogs/open", open(&trigger_id))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "OK");
    alice_ws.expect_event("ephemeral_message").await;
    let opened = alice_ws.expect_event("open_dialog").await;
    assert_eq!(opened["broadcast"]["user_id"], alice_user["id"]);
    let dialog = parse(&opened, "dialog");
    assert_eq!(dialog["url"], json!(dialog_url));
    assert_eq!(dialog["dialog"]["title"], "Survey");
    assert_eq!(dialog["dialog"]["future_option"], json!({"kept": true}));
    let client_trigger_id = dialog["trigger_id"].as_str().unwrap();
    assert_eq!(client_trigger_id.len(), 26);
    assert_ne!(client_trigger_id, trigger_id);

    // The integration's errors keep the dialog open; then it is accepted and closed.
    let submit = |callback_id: &str| {
        json!({"url": dialog_url, "callback_id": callback_id, "state": "s1",
               "channel_id": channel_id, "team_id": team_id, "user_id": "someone-else",
               "submission": {"name": "A"}, "cancelled": false})
    };
    peer.reply(
        "/dialog",
        Reply::json(json!({"errors": {"name": "Too short"}})),
    );
    let (status, answer) = alice
        .post("/actions/dialogs/submit", submit("survey-1"))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer, json!({"errors": {"name": "Too short"}}));
    let sent = peer.wait_for("/dialog", 1).await[0].json();
    assert_eq!(sent["type"], "dialog_submission");
    assert_eq!(sent["user_id"], alice_user["id"]);
    assert_eq!(sent["callback_id"], "survey-1");
    assert_eq!(sent["submission"], json!({"name": "A"}));
    assert!(sent.get("url").is_none(), "{sent}");

    // Someone else, or another callback id, cannot submit alice's dialog.
    let (status, body) = bob
        .post("/actions/dialogs/submit", submit("survey-1"))
        .await;
    expect_error(status, &body, 403, "api.dialog.submit.not_open.app_error");
    let (status, body) = alice
        .post("/actions/dialogs/submit", submit("forged"))
        .await;
    expect_error(status, &body, 403, "api.dialog.submit.not_open.app_error");
    assert_eq!(peer.requests("/dialog").len(), 1);

    // A multi-step dialog: the next form is open once the first is accepted.
    peer.reply(
        "/dialog",
        Reply::json(
            json!({"type": "form", "form": {"callback_id": "survey-2", "title": "Step 2"}}),
        ),
    );
    let (status, answer) = alice
        .post("/actions/dialogs/submit", submit("survey-1"))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["form"]["callback_id"], "survey-2");
    let (status, body) = alice
        .post("/actions/dialogs/submit", submit("survey-1"))
        .await;
    expect_error(status, &body, 403, "api.dialog.submit.not_open.app_error");
    peer.reply("/dialog", Reply::text(200, "application/json", ""));
    let (status, answer) = alice
        .post("/actions/dialogs/submit", submit("survey-2"))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer, json!({}));
    let (status, body) = alice
        .post("/actions/dialogs/submit", submit("survey-2"))
        .await;
    expect_error(status, &body, 403, "api.dialog.submit.not_open.app_error");

    // Submitting needs a session and a channel the user can read.
    let (status, body) = server
        .client()
        .post("/actions/dialogs/submit", submit("survey-1"))
        .await;
    expect_error(status, &body, 401, "api.context.session_expired.app_error");
    let secret = id(&admin.channel(&team_id, "secret", "P").await);
    let mut elsewhere = submit("survey-1");
    elsewhere["channel_id"] = json!(secret);
    let (status, _) = alice.post("/actions/dialogs/submit", elsewhere).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let mut no_url = submit("survey-1");
    no_url["url"] = json!("");
    let (status, body) = alice.post("/actions/dialogs/submit", no_url).await;
    expect_error(status, &body, 400, "api.context.invalid_param.app_error");

    // The trigger id is still valid for a moment, but a forged one never is.
    let decoded = String::from_utf8(base64_decode(&trigger_id)).unwrap();
    let forged = decoded.replace(
        alice_user["id"].as_str().unwrap(),
        bob_user["id"].as_str().unwrap(),
    );
    for (trigger, error) in [
        (
            base64_encode(&forged),
            "interactive_message.decode_trigger_id.verify_signature_failed",
        ),
        (
            "%%%".to_string(),
            "interactive_message.decode_trigger_id.base64_decode_failed",
        ),
        (
            base64_encode("just:three:parts"),
            "interactive_message.decode_trigger_id.missing_data",
        ),
    ] {
        let (status, body) = server
            .client()
            .post("/actions/dialogs/open", open(&trigger))
            .await;
        expect_error(status, &body, 400, error);
    }
    let mut no_url = open(&trigger_id);
    no_url["url"] = json!("");
    let (status, body) = server.client().post("/actions/dialogs/open", no_url).await;
    expect_error(status, &body, 400, "api.context.invalid_param.app_error");
    let (status, body) = server
        .client()
        .send(
            server
                .client()
                .request(reqwest::Method::POST, "/actions/dialogs/open")
                .body("{not json"),
        )
        .await;
    expect_error(status, &body, 400, "api.context.invalid_param.app_error");

    // After OutgoingIntegrationRequestsTimeout (2 s here) the trigger id has expired.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let (status, body) = server
        .client()
        .post("/actions/dialogs/open", open(&trigger_id))
        .await;
    expect_error(
        status,
        &body,
        400,
        "interactive_message.decode_trigger_id.expired",
    );
    alice_ws.expect_silence().await;
    server.stop().await;
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("base64")
}

fn base64_encode(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

async fn ephemeral_posts_carry_sealed_actions(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let peer = IntegrationPeer::start().await;
    let (admin, admin_user) = server.user("admin").await;
    let team_id = id(&admin.team("crew").await);
    let channel_id = id(&admin.channel(&team_id, "ops", "O").await);
    let (alice, alice_user) = server.member(&admin, &team_id, "alice").await;
    admin.add_to_channel(&channel_id, &id(&alice_user)).await;
    let mut alice_ws = Ws::ready(&server, alice.token()).await;
    let ephemeral = json!({"user_id": alice_user["id"], "post": {
        "channel_id": channel_id, "message": "Only you",
        "props": {"attachments": [{"actions": [
            {"id": "ack", "name": "Ack", "type": "button",
             "integration": {"url": format!("{}/ack", peer.url), "context": {"n": 1}}}]}]}}});

    // Only system admins send ephemeral posts over REST.
    let (status, body) = alice.post("/posts/ephemeral", ephemeral.clone()).await;
    expect_error(status, &body, 403, "api.context.permissions.app_error");
    let (status, body) = admin
        .post(
            "/posts/ephemeral",
            json!({"post": {"channel_id": channel_id, "message": "x"}}),
        )
        .await;
    expect_error(status, &body, 400, "api.context.invalid_param.app_error");
    let (status, sent) = admin.post("/posts/ephemeral", ephemeral).await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    assert_eq!(sent["user_id"], admin_user["id"]);
    let shown = parse(&alice_ws.expect_event("ephemeral_message").await, "post");
    assert_eq!(shown["type"], "system_ephemeral");
    let action = &actions(&shown)[0];
    assert!(action.get("integration").is_none(), "{shown}");
    let cookie = action["cookie"]
        .as_str()
        .expect("a sealed cookie")
        .to_string();
    assert!(!cookie.contains(&peer.url));
    let post_id = id(&shown);
    assert_eq!(server.count("posts").await, 0);

    // The click brings the cookie back: the integration is reached from it, and its
    // update replaces the ephemeral post for alice alone.
    peer.reply(
        "/ack",
        Reply::json(json!({"update": {"message": "Acknowledged"}, "ephemeral_text": "thanks"})),
    );
    let click = |cookie: &str| json!({"cookie": cookie});
    let (status, answer) = alice
        .post(&format!("/posts/{post_id}/actions/ack"), click(&cookie))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let request = peer.wait_for("/ack", 1).await[0].json();
    assert_eq!(request["post_id"], json!(post_id));
    assert_eq!(request["channel_id"], json!(channel_id));
    assert_eq!(request["team_domain"], "crew");
    assert_eq!(request["context"], json!({"n": 1}));
    let edited = parse(&alice_ws.expect_event("post_edited").await, "post");
    assert_eq!(edited["id"], json!(post_id));
    assert_eq!(edited["message"], "Acknowledged");
    assert_eq!(edited["type"], "system_ephemeral");
    let thanks = parse(&alice_ws.expect_event("ephemeral_message").await, "post");
    assert_eq!(thanks["message"], "thanks");
    assert_eq!(thanks["root_id"], "");
    assert_eq!(server.count("posts").await, 0);

    // A cookie is bound to its post, sealed with the cluster's key, and of no use to
    // someone who cannot read the channel.
    let other_post = chorus_model::new_id();
    let (status, body) = alice
        .post(&format!("/posts/{other_post}/actions/ack"), click(&cookie))
        .await;
    expect_error(
        status,
        &body,
        400,
        "api.post.do_action.action_integration.app_error",
    );
    let mut tampered = base64_decode(&cookie);
    let middle = tampered.len() / 2;
    tampered[middle] ^= 0x40;
    let tampered = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(tampered)
    };
    let (status, body) = alice
        .post(&format!("/posts/{post_id}/actions/ack"), click(&tampered))
        .await;
    expect_error(
        status,
        &body,
        400,
        "api.post.do_action.action_integration.app_error",
    );
    let (outsider, _) = server.member(&admin, &team_id, "outsider").await;
    let (status, _) = outsider
        .post(&format!("/posts/{post_id}/actions/ack"), click(&cookie))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(peer.requests("/ack").len(), 1);
    server.stop().await;
}

async fn interactive_failures_are_clear_errors(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let peer = IntegrationPeer::start().await;
    let (admin, _) = server.user("admin").await;
    let team_id = id(&admin.team("crew").await);
    let channel_id = id(&admin.channel(&team_id, "ops", "O").await);
    let private = id(&admin.channel(&team_id, "private", "P").await);
    let (alice, alice_user) = server.member(&admin, &team_id, "alice").await;
    admin.add_to_channel(&channel_id, &id(&alice_user)).await;
    let post = interactive_post(&admin, &channel_id, &peer.url).await;
    let post_id = id(&post);
    let click = |action: &str| format!("/posts/{post_id}/actions/{action}");
    let action_error = "api.post.do_action.action_integration.app_error";

    // No such action, an action without integration, no such post.
    let (status, body) = alice.post(&click("missing"), json!({})).await;
    expect_error(status, &body, 404, "api.post.do_action.action_id.app_error");
    let (status, body) = alice.post(&click("inert"), json!({})).await;
    expect_error(status, &body, 404, "api.post.do_action.action_id.app_error");
    let nowhere = chorus_model::new_id();
    let (status, _) = alice
        .post(&format!("/posts/{nowhere}/actions/approve"), json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = alice
        .send(
            alice
                .request(reqwest::Method::POST, &click("approve"))
                .body("{broken"),
        )
        .await;
    expect_error(status, &body, 400, "api.context.invalid_param.app_error");

    // Integrations that fail, answer garbage, redirect inward or hang: a 400 with the
    // reason, and the post is unchanged.
    for (reply, why) in [
        (Reply::text(500, "text/plain", "boom"), "status 500"),
        (
            Reply::text(200, "application/json", "{not json"),
            "action response",
        ),
        (Reply::redirect("http://10.0.0.1/"), ""),
        (Reply::json(json!({})).after(Duration::from_secs(4)), ""),
    ] {
        peer.reply("/approve", reply);
        let (status, body) = alice.post(&click("approve"), json!({})).await;
        expect_error(status, &body, 400, action_error);
        assert!(body["message"].as_str().unwrap().contains(why), "{body}");
    }
    let (_, unchanged) = alice.get(&format!("/posts/{post_id}")).await;
    assert_eq!(unchanged["message"], "Deploy?");
    assert_eq!(unchanged["edit_at"], 0);

    // A user who cannot read the channel cannot click.
    let (bob, _) = server.member(&admin, &team_id, "bob").await;
    let (status, _) = bob.post(&click("approve"), json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let hidden = interactive_post(&admin, &private, &peer.url).await;
    let (status, _) = alice
        .post(
            &format!("/posts/{}/actions/approve", id(&hidden)),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = server.client().post(&click("approve"), json!({})).await;
    expect_error(status, &body, 401, "api.context.session_expired.app_error");

    // Integrations on addresses the server may not call are refused before any call.
    let (status, inward) = admin
        .post(
            "/posts",
            json!({"channel_id": channel_id, "props": {"attachments": [{"actions": [
                {"id": "in", "name": "In", "type": "button",
                 "integration": {"url": "http://10.1.2.3/hook"}}]}]}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{inward}");
    let (status, body) = alice
        .post(&format!("/posts/{}/actions/in", id(&inward)), json!({}))
        .await;
    expect_error(status, &body, 400, action_error);
    // An integration on a plugin that is not installed.
    let (_, to_plugin) = admin
        .post(
            "/posts",
            json!({"channel_id": channel_id, "props": {"attachments": [{"actions": [
                {"id": "p", "name": "P", "type": "button",
                 "integration": {"url": "/plugins/com.example.absent/act"}}]}]}}),
        )
        .await;
    let (status, body) = alice
        .post(&format!("/posts/{}/actions/p", id(&to_plugin)), json!({}))
        .await;
    expect_error(status, &body, 400, action_error);
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("com.example.absent"));
    server.stop().await;
}

/// Plugin-served actions read the store no differently: SQLite only, as the other
/// plugin tests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_buttons_and_dialogs() {
    let Some(server) = start_with_plugins(Backend::Sqlite, true).await else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    admin.install_plugin(plugin_bundle("demo", "demo")).await;
    let team_id = id(&admin.team("crew").await);
    let channel_id = id(&admin.channel(&team_id, "ops", "O").await);
    let (alice, alice_user) = server.member(&admin, &team_id, "alice").await;
    admin.add_to_channel(&channel_id, &id(&alice_user)).await;
    let mut alice_ws = Ws::ready(&server, alice.token()).await;
    let run = |line: &str| {
        alice.post(
            "/commands/execute",
            json!({"command": line, "channel_id": channel_id}),
        )
    };

    // The plugin posts buttons whose integrations are its own routes.
    let (status, _) = run("/demo ask Lunch at noon?").await;
    assert_eq!(status, StatusCode::OK);
    let question = parse(&alice_ws.expect_event("posted").await, "post");
    assert_eq!(actions(&question).len(), 2);
    assert!(!question.to_string().contains("integration"));
    alice_ws.expect_event("ephemeral_message").await;

    // "Answer" reaches the plugin's ServeHTTP as alice, which opens a dialog with the
    // click's trigger id; the dialog's submission goes back to the plugin.
    let (status, answer) = alice
        .post(
            &format!("/posts/{}/actions/answer", id(&question)),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let opened = alice_ws.expect_event("open_dialog").await;
    let dialog = parse(&opened, "dialog");
    assert_eq!(dialog["trigger_id"], answer["trigger_id"]);
    assert_eq!(dialog["url"], "/plugins/com.chorus.demo/interactive/submit");
    assert_eq!(dialog["dialog"]["state"], "Lunch at noon?");
    let told = parse(&alice_ws.expect_event("ephemeral_message").await, "post");
    assert_eq!(told["message"], "Answering: Lunch at noon?");
    let submit = |answer: &str| {
        json!({"url": dialog["url"], "callback_id": "answer", "state": dialog["dialog"]["state"],
               "channel_id": channel_id, "team_id": team_id, "submission": {"answer": answer}})
    };
    let (status, refused) = alice.post("/actions/dialogs/submit", submit(" ")).await;
    assert_eq!(status, StatusCode::OK, "{refused}");
    assert_eq!(refused["errors"]["answer"], "An answer is required.");
    let (status, accepted) = alice.post("/actions/dialogs/submit", submit("yes")).await;
    assert_eq!(status, StatusCode::OK, "{accepted}");
    let answered = parse(&alice_ws.expect_event("posted").await, "post");
    assert_eq!(
        answered["message"],
        "@alice answered \"Lunch at noon?\": yes"
    );

    // "Close": the plugin's update replaces the question and drops the buttons.
    let (status, _) = alice
        .post(
            &format!("/posts/{}/actions/close", id(&question)),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let closed = parse(&alice_ws.expect_event("post_edited").await, "post");
    assert_eq!(closed["message"], "Lunch at noon? (closed by @alice)");
    assert!(closed["props"].get("attachments").is_none(), "{closed}");
    let (status, body) = alice
        .post(
            &format!("/posts/{}/actions/close", id(&question)),
            json!({}),
        )
        .await;
    expect_error(status, &body, 404, "api.post.do_action.action_id.app_error");

    // A plugin command's trigger id opens a dialog through OpenInteractiveDialog.
    let (status, _) = run("/demo dialog").await;
    assert_eq!(status, StatusCode::OK);
    let dialog = parse(&alice_ws.expect_event("open_dialog").await, "dialog");
    assert_eq!(dialog["dialog"]["title"], "Answer");
    let reply = parse(&alice_ws.expect_event("ephemeral_message").await, "post");
    assert_eq!(reply["message"], "opened a dialog");

    // UpdateEphemeralPost and DeleteEphemeralPost reach alice's clients only.
    let (status, _) = run("/demo vanish now you see me").await;
    assert_eq!(status, StatusCode::OK);
    let shown = parse(&alice_ws.expect_event("ephemeral_message").await, "post");
    assert_eq!(shown["message"], "now you see me");
    let updated = parse(&alice_ws.expect_event("post_edited").await, "post");
    assert_eq!(updated["id"], shown["id"]);
    assert_eq!(updated["message"], "now you see me (updated)");
    let deleted = parse(&alice_ws.expect_event("post_deleted").await, "post");
    assert_eq!(deleted["id"], shown["id"]);
    server.stop().await;
}
