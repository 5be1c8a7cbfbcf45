//! Custom slash commands: team admins register a trigger and a URL; running it calls a
//! real HTTP integration on loopback with Mattermost's form fields, and its answer
//! becomes a post, an ephemeral message, or a clear error when the integration
//! fails, hangs, redirects somewhere forbidden or answers garbage.

use crate::both_backends;
use crate::common::{assert_error, event_post, id, Backend, Endpoint, TestServer, Ws};
use chorus_testkit::integration::{IntegrationPeer, Reply};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

both_backends!(
    custom_commands_call_their_integration,
    custom_command_failures_are_clear_errors,
    custom_commands_are_managed_by_team_admins,
    custom_commands_answer_later_through_their_response_url,
);

/// A server that may call integrations on 127.0.0.1 only, giving up after 2 s.
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

async fn run(api: &crate::common::Api, channel_id: &str, line: &str) -> (StatusCode, Value) {
    api.post(
        "/commands/execute",
        json!({"command": line, "channel_id": channel_id}),
    )
    .await
}

async fn custom_commands_call_their_integration(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let peer = IntegrationPeer::start().await;
    let (admin, _) = server.user("admin").await;
    let team = admin.team("crew").await;
    let team_id = id(&team);
    let channel_id = id(&admin.channel(&team_id, "ops", "O").await);
    let (alice, alice_user) = server.member(&admin, &team_id, "alice").await;
    admin.add_to_channel(&channel_id, &id(&alice_user)).await;
    let mut alice_ws = Ws::ready(&server, alice.token()).await;

    let (status, command) = admin
        .post(
            "/commands",
            json!({"team_id": team_id, "trigger": "Deploy", "url": format!("{}/deploy", peer.url),
                   "username": "deployer", "display_name": "Deploy", "auto_complete": true,
                   "auto_complete_desc": "Deploys a build", "auto_complete_hint": "[env]"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{command}");
    assert_eq!(command["trigger"], "deploy");
    assert_eq!(command["method"], "P");
    let token = command["token"].as_str().unwrap().to_string();
    assert_eq!(token.len(), 26);

    // An in_channel answer is posted as the caller, marked as an integration's post,
    // with Slack links made Markdown and the command's name override.
    peer.reply(
        "/deploy",
        Reply::json(json!({"response_type": "in_channel",
                           "text": "Deploying <https://ci.example.com/7|build 7>",
                           "attachments": [{"text": "7 jobs", "color": "#00ff00"}],
                           "props": {"keep": "yes", "override_username": "spoofed",
                                     "from_webhook": "false"},
                           "extra_responses": [{"text": "only you see this"}]})),
    );
    let (status, answer) = run(&alice, &channel_id, "/deploy  prod now").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let call = &peer.wait_for("/deploy", 1).await[0];
    assert_eq!(call.method, "POST");
    assert_eq!(call.header("authorization"), format!("Token {token}"));
    assert_eq!(
        call.header("content-type"),
        "application/x-www-form-urlencoded"
    );
    call.assert_form(&[
        ("token", token.as_str()),
        ("team_id", team_id.as_str()),
        ("team_domain", "crew"),
        ("channel_id", channel_id.as_str()),
        ("channel_name", "ops"),
        ("user_id", alice_user["id"].as_str().unwrap()),
        ("user_name", "alice"),
        ("command", "/deploy"),
        ("text", "prod now"),
    ]);
    let posted = event_post(&alice_ws.next_event("posted").await);
    assert_eq!(
        posted["message"],
        "Deploying [build 7](https://ci.example.com/7)"
    );
    assert_eq!(posted["user_id"], alice_user["id"]);
    assert_eq!(posted["props"]["from_webhook"], "true");
    assert_eq!(posted["props"]["override_username"], "deployer");
    assert_eq!(posted["props"]["keep"], "yes");
    assert_eq!(posted["type"], "slack_attachment");
    assert_eq!(posted["props"]["attachments"][0]["text"], "7 jobs");
    let extra = alice_ws.next_event("ephemeral_message").await;
    let extra: Value = serde_json::from_str(extra["data"]["post"].as_str().unwrap()).unwrap();
    assert_eq!(extra["message"], "only you see this");
    assert_eq!(admin.post_order(&channel_id).await.len(), 1);

    // Plain text is an ephemeral answer; GET commands get the fields as a query.
    let (_, changed) = admin
        .put(
            &format!("/commands/{}", id(&command)),
            json!({"id": id(&command), "team_id": team_id, "trigger": "deploy", "method": "G",
                   "url": format!("{}/deploy-get", peer.url), "auto_complete": true,
                   "auto_complete_hint": "[env]"}),
        )
        .await;
    assert_eq!(changed["method"], "G", "{changed}");
    assert_eq!(changed["token"], json!(token));
    peer.reply(
        "/deploy-get",
        Reply::text(200, "text/plain; charset=utf-8", "queued"),
    );
    let (status, _) = run(&alice, &channel_id, "/deploy staging").await;
    assert_eq!(status, StatusCode::OK);
    let call = &peer.wait_for("/deploy-get", 1).await[0];
    assert_eq!(call.method, "GET");
    assert_eq!(call.form()["text"], "staging");
    let ephemeral = alice_ws.next_event("ephemeral_message").await;
    let ephemeral: Value =
        serde_json::from_str(ephemeral["data"]["post"].as_str().unwrap()).unwrap();
    assert_eq!(ephemeral["message"], "queued");
    assert_eq!(admin.post_order(&channel_id).await.len(), 1);

    // A new token is sent from the next call on.
    let (status, regenerated) = admin
        .put(
            &format!("/commands/{}/regen_token", id(&command)),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let new_token = regenerated["token"].as_str().unwrap().to_string();
    assert_ne!(new_token, token);
    run(&alice, &channel_id, "/deploy again").await;
    let calls = peer.wait_for("/deploy-get", 2).await;
    assert_eq!(calls[1].form()["token"], new_token);

    // Members see the command for autocomplete, without its token.
    let (_, listed) = alice.get(&format!("/commands?team_id={team_id}")).await;
    let mine = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["trigger"] == "deploy")
        .expect("the custom command is listed");
    assert_eq!(mine["token"], "");
    let (_, autocomplete) = alice
        .get(&format!("/teams/{team_id}/commands/autocomplete"))
        .await;
    assert!(autocomplete
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["trigger"] == "deploy" && c["auto_complete_hint"] == "[env]"));

    // Deleted, the trigger is unknown at once.
    assert_eq!(
        admin.delete(&format!("/commands/{}", id(&command))).await.0,
        StatusCode::OK
    );
    assert_error(
        &run(&alice, &channel_id, "/deploy x").await,
        StatusCode::NOT_FOUND,
        "api.command.execute_command.not_found.app_error",
    );
}

async fn custom_command_failures_are_clear_errors(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let peer = IntegrationPeer::start().await;
    let (admin, _) = server.user("admin").await;
    let team_id = id(&admin.team("crew").await);
    let channel_id = id(&admin.channel(&team_id, "ops", "O").await);
    let port = peer.url.rsplit(':').next().unwrap().to_string();
    for (trigger, path, reply) in [
        ("broken", "/broken", Reply::text(500, "text/plain", "boom")),
        (
            "garbage",
            "/garbage",
            Reply::text(200, "application/json", "{not json"),
        ),
        (
            "slow",
            "/slow",
            Reply::json(json!({"text": "too late"})).after(Duration::from_secs(6)),
        ),
        (
            "sneaky",
            "/sneaky",
            Reply::redirect(&format!("http://127.0.0.2:{port}/inside")),
        ),
        (
            "huge",
            "/huge",
            Reply::text(200, "text/plain", vec![b'x'; 2 * 1024 * 1024]),
        ),
    ] {
        peer.reply(path, reply);
        let (status, created) = admin
            .post(
                "/commands",
                json!({"team_id": team_id, "trigger": trigger, "url": format!("{}{path}", peer.url)}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
    }
    let expect = |reply: (StatusCode, Value), id: &str, words: &str| {
        assert_error(&reply, StatusCode::INTERNAL_SERVER_ERROR, id);
        let message = reply.1["message"].as_str().unwrap().to_string();
        assert!(message.contains(words), "{message:?} lacks {words:?}");
    };
    expect(
        run(&admin, &channel_id, "/broken").await,
        "api.command.execute_command.failed_resp.app_error",
        "500",
    );
    expect(
        run(&admin, &channel_id, "/garbage").await,
        "api.command.execute_command.failed_resp.app_error",
        "JSON",
    );
    expect(
        run(&admin, &channel_id, "/slow").await,
        "api.command.execute_command.failed.app_error",
        "2 seconds",
    );
    expect(
        run(&admin, &channel_id, "/sneaky").await,
        "api.command.execute_command.failed.app_error",
        "AllowedUntrustedInternalConnections",
    );
    assert!(peer.requests("/inside").is_empty());
    expect(
        run(&admin, &channel_id, "/huge").await,
        "api.command.execute_command.failed.app_error",
        "larger than",
    );
    assert!(admin.post_order(&channel_id).await.is_empty());

    // With the default settings, loopback is off limits altogether.
    let Some(strict) = TestServer::start(backend).await else {
        return;
    };
    let (admin, _) = strict.user("admin").await;
    let team_id = id(&admin.team("crew").await);
    let channel_id = id(&admin.channel(&team_id, "ops", "O").await);
    admin
        .post(
            "/commands",
            json!({"team_id": team_id, "trigger": "local", "url": format!("{}/local", peer.url)}),
        )
        .await;
    expect(
        run(&admin, &channel_id, "/local").await,
        "api.command.execute_command.failed.app_error",
        "address forbidden",
    );
    assert!(peer.requests("/local").is_empty());
    // And the server is still well.
    assert_eq!(strict.client().get("/system/ping").await.0, StatusCode::OK);
}

async fn custom_commands_are_managed_by_team_admins(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    let team_id = id(&admin.team("crew").await);
    let other_team = id(&admin.team("other").await);
    let (alice, _) = server.member(&admin, &team_id, "alice").await;
    let body = |trigger: &str| json!({"team_id": team_id, "trigger": trigger, "url": "https://hooks.example.com/x"});
    assert_error(
        &alice.post("/commands", body("mine")).await,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    for (trigger, error) in [
        ("/slash", "model.command.is_valid.trigger.app_error"),
        ("two words", "model.command.is_valid.trigger.app_error"),
        ("", "model.command.is_valid.trigger.app_error"),
    ] {
        assert_error(
            &admin.post("/commands", body(trigger)).await,
            StatusCode::BAD_REQUEST,
            error,
        );
    }
    for url in ["", "ftp://example.com/x", "not a url"] {
        assert_error(
            &admin
                .post(
                    "/commands",
                    json!({"team_id": team_id, "trigger": "t", "url": url}),
                )
                .await,
            StatusCode::BAD_REQUEST,
            "model.command.is_valid.url.app_error",
        );
    }
    assert_error(
        &admin
            .post(
                "/commands",
                json!({"team_id": team_id, "trigger": "t", "url": "https://x.example", "method": "D"}),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "model.command.is_valid.method.app_error",
    );
    // Built-in triggers and the team's own are taken; another team may reuse one.
    assert_error(
        &admin.post("/commands", body("echo")).await,
        StatusCode::BAD_REQUEST,
        "api.command.duplicate_trigger.app_error",
    );
    let (status, command) = admin.post("/commands", body("weather")).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_error(
        &admin.post("/commands", body("Weather")).await,
        StatusCode::BAD_REQUEST,
        "api.command.duplicate_trigger.app_error",
    );
    let (status, _) = admin
        .post(
            "/commands",
            json!({"team_id": other_team, "trigger": "weather", "url": "https://x.example"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let command_id = id(&command);
    let path = format!("/commands/{command_id}");
    assert_error(
        &alice.get(&path).await,
        StatusCode::NOT_FOUND,
        "app.command.getcommand.app_error",
    );
    assert_error(
        &alice
            .get(&format!("/commands?team_id={team_id}&custom_only=true"))
            .await,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    let (_, listed) = admin
        .get(&format!("/commands?team_id={team_id}&custom_only=true"))
        .await;
    assert_eq!(listed, json!([command]));
    assert_error(
        &admin
            .put(
                &path,
                json!({"team_id": other_team, "trigger": "weather", "url": "https://x.example"}),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "api.command.team_mismatch.app_error",
    );
    assert_error(
        &admin
            .put(
                &path,
                json!({"id": "a".repeat(26), "trigger": "weather", "url": "https://x.example"}),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_param.app_error",
    );
    assert_error(
        &alice.delete(&path).await,
        StatusCode::NOT_FOUND,
        "app.command.getcommand.app_error",
    );
    // Moving: into a team where the trigger is taken is refused; elsewhere it goes.
    assert_error(
        &admin
            .put(&format!("{path}/move"), json!({"team_id": other_team}))
            .await,
        StatusCode::BAD_REQUEST,
        "api.command.duplicate_trigger.app_error",
    );
    let third_team = id(&admin.team("third").await);
    assert_error(
        &alice
            .put(&format!("{path}/move"), json!({"team_id": third_team}))
            .await,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    let (status, _) = admin
        .put(&format!("{path}/move"), json!({"team_id": third_team}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(admin.get(&path).await.1["team_id"], json!(third_team));
    let (status, _) = admin
        .put(&format!("{path}/move"), json!({"team_id": team_id}))
        .await;
    assert_eq!(status, StatusCode::OK);
    // Nothing changed by the refused calls (the moves there and back aside).
    let now = admin.get(&path).await.1;
    assert_eq!(
        json!({"token": now["token"], "trigger": now["trigger"], "url": now["url"],
               "team_id": now["team_id"]}),
        json!({"token": command["token"], "trigger": command["trigger"], "url": command["url"],
               "team_id": command["team_id"]})
    );

    // Switched off, custom commands cannot be made.
    let Some(off) = TestServer::start_with(backend, |config| {
        config.service_settings.enable_commands = false;
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
                "/commands",
                json!({"team_id": team_id, "trigger": "t", "url": "https://x.example"}),
            )
            .await,
        StatusCode::NOT_IMPLEMENTED,
        "api.command.disabled.app_error",
    );
}

async fn custom_commands_answer_later_through_their_response_url(backend: Backend) {
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
    let (status, _) = admin
        .post(
            "/commands",
            json!({"team_id": team_id, "trigger": "build", "url": format!("{}/build", peer.url),
                   "username": "builder"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    peer.reply("/build", Reply::json(json!({"text": "started"})));
    let (status, _) = run(&alice, &channel_id, "/build").await;
    assert_eq!(status, StatusCode::OK);
    alice_ws.expect_event("ephemeral_message").await;
    let response_url = peer.wait_for("/build", 1).await[0].form()["response_url"].clone();
    let prefix = format!("{}/hooks/commands/", server.base_url());
    assert!(response_url.starts_with(&prefix), "{response_url}");

    // The integration answers later: JSON posts as alice, as the command's answer would.
    let answer = |content_type: &str, body: Vec<u8>| {
        reqwest::Client::new()
            .post(&response_url)
            .header("Content-Type", content_type.to_string())
            .body(body)
            .send()
    };
    let reply = answer(
        "application/json",
        json!({"response_type": "in_channel", "text": "Build <https://ci.example.com/9|9> passed"})
            .to_string()
            .into_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    assert_eq!(reply.text().await.unwrap(), "ok");
    let posted = event_post(&alice_ws.expect_event("posted").await);
    assert_eq!(
        posted["message"],
        "Build [9](https://ci.example.com/9) passed"
    );
    assert_eq!(posted["user_id"], alice_user["id"]);
    assert_eq!(posted["props"]["from_webhook"], "true");
    assert_eq!(posted["props"]["override_username"], "builder");
    // Plain text is for alice alone.
    let reply = answer("text/plain", b"log attached".to_vec())
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    let ephemeral = alice_ws.expect_event("ephemeral_message").await;
    let ephemeral: Value =
        serde_json::from_str(ephemeral["data"]["post"].as_str().unwrap()).unwrap();
    assert_eq!(ephemeral["message"], "log attached");

    // Broken answers count no post; a system type is refused.
    let reply = answer("application/json", b"{nope".to_vec()).await.unwrap();
    assert_eq!(reply.status(), StatusCode::BAD_REQUEST);
    let body: Value = reply.json().await.unwrap();
    assert_eq!(body["id"], "web.command_webhook.parse.app_error");
    let reply = answer(
        "application/json",
        json!({"response_type": "in_channel", "text": "x", "type": "system_join_channel"})
            .to_string()
            .into_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(reply.status(), StatusCode::BAD_REQUEST);
    assert_eq!(admin.post_order(&channel_id).await.len(), 1);

    // Five answers at most: an unreadable body never reached the URL, the refused
    // system post was its third use.
    for text in ["four", "five"] {
        let reply = answer("text/plain", text.as_bytes().to_vec())
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::OK);
    }
    let reply = answer("text/plain", b"six".to_vec()).await.unwrap();
    assert_eq!(reply.status(), StatusCode::BAD_REQUEST);
    let body: Value = reply.json().await.unwrap();
    assert_eq!(body["id"], "app.command_webhook.try_use.invalid");

    // An unknown URL is 404; a run whose user has left the channel posts nothing.
    let unknown = format!("{prefix}{}", chorus_model::new_id());
    let reply = reqwest::Client::new()
        .post(&unknown)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::NOT_FOUND);
    let body: Value = reply.json().await.unwrap();
    assert_eq!(body["id"], "app.command_webhook.get.missing");
    let (status, _) = run(&alice, &channel_id, "/build").await;
    assert_eq!(status, StatusCode::OK);
    let second_url = peer.wait_for("/build", 2).await[1].form()["response_url"].clone();
    assert_ne!(second_url, response_url);
    let (status, _) = alice
        .delete(&format!(
            "/channels/{channel_id}/members/{}",
            id(&alice_user)
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let reply = reqwest::Client::new()
        .post(&second_url)
        .header("Content-Type", "application/json")
        .body(json!({"response_type": "in_channel", "text": "too late"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::FORBIDDEN);
    assert_eq!(admin.post_order(&channel_id).await.len(), 1);
    server.stop().await;
}
