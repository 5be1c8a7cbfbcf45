//! Slash commands: execution, ephemeral answers and autocomplete.

use crate::both_backends;
use crate::common::{assert_error, event_post, id, Backend, Endpoint, TestServer, Ws};
use reqwest::StatusCode;
use serde_json::json;

both_backends!(
    echo_posts_as_the_caller,
    unknown_or_malformed_commands_refused,
    echo_without_text_answers_the_caller_alone,
    autocomplete_lists_builtins,
);

async fn echo_posts_as_the_caller(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.user("alice").await;
    let (bob, _) = server.user("bob").await;
    let team_id = id(&bob.team("crew").await);
    let (carol, carol_user) = server.member(&bob, &team_id, "carol").await;
    let channel_id = id(&bob.channel_named(&team_id, "town-square").await);
    let mut bob_ws = Ws::ready(&server, bob.token()).await;

    let (status, response) = carol
        .post(
            "/commands/execute",
            json!({"command": "/echo hi there", "channel_id": channel_id, "team_id": team_id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{response}");
    assert_eq!(response["response_type"], "in_channel");
    assert_eq!(response["text"], "hi there");

    let (_, list) = bob.get(&format!("/channels/{channel_id}/posts")).await;
    let order = list["order"].as_array().unwrap();
    assert_eq!(order.len(), 1);
    let post = &list["posts"][order[0].as_str().unwrap()];
    assert_eq!(post["message"], "hi there");
    assert_eq!(post["user_id"], carol_user["id"]);
    assert_eq!(post["type"], "");

    let posted = bob_ws.next_event("posted").await;
    assert_eq!(event_post(&posted), *post);
    assert_eq!(posted["data"]["sender_name"], "@carol");

    // Triggers are case-insensitive, and a reply stays in its thread.
    let (status, _) = carol
        .post(
            "/commands/execute",
            json!({"command": "/ECHO  in the thread ", "channel_id": channel_id, "team_id": team_id, "root_id": post["id"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let reply = event_post(&bob_ws.next_event("posted").await);
    assert_eq!(
        (&reply["message"], &reply["root_id"]),
        (&json!("in the thread"), &post["id"])
    );
    assert_eq!(server.count("posts").await, 2);
    server.stop().await;
}

async fn unknown_or_malformed_commands_refused(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.user("alice").await;
    let (bob, _) = server.user("bob").await;
    let team_id = id(&bob.team("crew").await);
    let channel_id = id(&bob.channel_named(&team_id, "town-square").await);
    let (dave, _) = server.user("dave").await;

    let execute =
        |command: &str| json!({"command": command, "channel_id": channel_id, "team_id": team_id});
    let unknown = bob
        .post("/commands/execute", execute("/nosuchcommand with text"))
        .await;
    assert_error(
        &unknown,
        StatusCode::NOT_FOUND,
        "api.command.execute_command.not_found.app_error",
    );
    for malformed in ["echo without a slash", "/", "/ echo", ""] {
        let reply = bob.post("/commands/execute", execute(malformed)).await;
        assert_error(
            &reply,
            StatusCode::BAD_REQUEST,
            "api.command.execute_command.format.app_error",
        );
    }
    let outsider = dave
        .post("/commands/execute", execute("/echo let me in"))
        .await;
    assert_error(
        &outsider,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    let no_channel = bob
        .post(
            "/commands/execute",
            json!({"command": "/echo x", "channel_id": chorus_model::new_id()}),
        )
        .await;
    assert_error(
        &no_channel,
        StatusCode::NOT_FOUND,
        "app.channel.get.existing.app_error",
    );
    assert_eq!(server.count("posts").await, 0);
    server.stop().await;
}

async fn echo_without_text_answers_the_caller_alone(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.user("alice").await;
    let (bob, bob_user) = server.user("bob").await;
    let team_id = id(&bob.team("crew").await);
    let (carol, _) = server.member(&bob, &team_id, "carol").await;
    let channel_id = id(&bob.channel_named(&team_id, "town-square").await);
    let mut bob_ws = Ws::ready(&server, bob.token()).await;
    // A second socket of the caller gets it too; another member does not.
    let mut bob_second_ws = Ws::ready(&server, bob.token()).await;
    let mut carol_ws = Ws::ready(&server, carol.token()).await;

    let (status, response) = bob
        .post(
            "/commands/execute",
            json!({"command": "/echo", "channel_id": channel_id, "team_id": team_id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{response}");
    assert_eq!(response["response_type"], "ephemeral");
    for ws in [&mut bob_ws, &mut bob_second_ws] {
        let event = ws.next_event("ephemeral_message").await;
        let post = event_post(&event);
        assert_eq!(post["type"], "system_ephemeral");
        assert_eq!(post["channel_id"], json!(channel_id));
        assert_eq!(post["message"], response["text"]);
        assert!(post["message"].as_str().unwrap().contains("/echo"));
        assert_eq!(event["broadcast"]["user_id"], bob_user["id"]);
    }
    assert!(bob.post_order(&channel_id).await.is_empty());
    assert_eq!(server.count("posts").await, 0);

    // Carol's first event is the next real post, not the ephemeral message.
    let marker = bob.create_post(&channel_id, "marker").await;
    let first = carol_ws.next_frame().await.expect("an event for carol");
    assert_eq!(first["event"], "posted", "{first}");
    assert_eq!(event_post(&first)["id"], marker["id"]);
    assert_eq!(first["seq"], 1);
    server.stop().await;
}

async fn autocomplete_lists_builtins(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.user("alice").await;
    let (bob, _) = server.user("bob").await;
    let team_id = id(&bob.team("crew").await);
    let (dave, _) = server.user("dave").await;

    let (status, commands) = bob
        .get(&format!("/teams/{team_id}/commands/autocomplete"))
        .await;
    assert_eq!(status, StatusCode::OK, "{commands}");
    let echo = commands
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["trigger"] == "echo")
        .unwrap_or_else(|| panic!("no echo in {commands}"));
    assert_eq!(echo["auto_complete"], true);
    assert!(!echo["auto_complete_desc"].as_str().unwrap().is_empty());
    assert_eq!(echo["auto_complete_hint"], "[text]");
    let (status, listed) = bob.get(&format!("/commands?team_id={team_id}")).await;
    assert_eq!((status, &listed), (StatusCode::OK, &commands));

    let refused = dave
        .get(&format!("/teams/{team_id}/commands/autocomplete"))
        .await;
    assert_error(
        &refused,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    let invalid = bob.get("/teams/nope/commands/autocomplete").await;
    assert_error(
        &invalid,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_url_param.app_error",
    );
    server.stop().await;
}
