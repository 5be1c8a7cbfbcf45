//! Emoji reactions: adding, removing and reading them, the events, the post's
//! `has_reactions` and `metadata.reactions`, and what is refused.

use crate::both_backends;
use crate::common::{assert_error, id, Backend, Endpoint, TestServer, Ws};
use reqwest::StatusCode;
use serde_json::{json, Value};

both_backends!(
    reactions_are_added_read_and_removed,
    reactions_are_refused_where_they_should_be,
    different_emoji_per_post_are_limited,
);

fn reaction(user: &Value, post_id: &str, emoji: &str) -> Value {
    json!({"user_id": user["id"], "post_id": post_id, "emoji_name": emoji})
}

fn event_reaction(event: &Value) -> Value {
    serde_json::from_str(event["data"]["reaction"].as_str().unwrap()).unwrap()
}

async fn reactions_are_added_read_and_removed(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    let team = id(&admin.team("crew").await);
    let channel = id(&admin.channel(&team, "town", "O").await);
    let (bob, bob_user) = server.member(&admin, &team, "bob").await;
    let (alice, alice_user) = server.member(&admin, &team, "alice").await;
    admin.add_to_channel(&channel, &id(&bob_user)).await;
    admin.add_to_channel(&channel, &id(&alice_user)).await;
    let post = alice.create_post(&channel, "ship it").await;
    let other = alice.create_post(&channel, "no reactions here").await;
    let post_id = id(&post);
    let mut alice_socket = Ws::ready(&server, alice.token()).await;

    let (status, added) = bob
        .post("/reactions", reaction(&bob_user, &post_id, "+1"))
        .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    assert_eq!(added["user_id"], bob_user["id"]);
    assert_eq!(added["post_id"], json!(post_id));
    assert_eq!(added["emoji_name"], "+1");
    assert_eq!(added["channel_id"], json!(channel));
    assert!(added["create_at"].as_i64().unwrap() > 0);
    let event = alice_socket.next_event("reaction_added").await;
    assert_eq!(event["broadcast"]["channel_id"], json!(channel));
    assert_eq!(event_reaction(&event), added);

    // Twice the same: the first reaction stands, nothing is added.
    let (status, again) = bob
        .post("/reactions", reaction(&bob_user, &post_id, "+1"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["create_at"], added["create_at"]);
    assert_eq!(server.count("reactions").await, 1);
    let (status, _) = alice
        .post(
            "/reactions",
            reaction(&alice_user, &post_id, "white_check_mark"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let event = alice_socket.next_event("reaction_added").await;
    assert_eq!(event_reaction(&event)["emoji_name"], "white_check_mark");

    // The post says so wherever it is read.
    let (_, read) = bob.get(&format!("/posts/{post_id}")).await;
    assert_eq!(read["has_reactions"], true);
    assert!(read["update_at"].as_i64().unwrap() > post["update_at"].as_i64().unwrap());
    let names: Vec<&str> = read["metadata"]["reactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["emoji_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["+1", "white_check_mark"]);
    let (_, history) = bob.get(&format!("/channels/{channel}/posts")).await;
    assert_eq!(
        history["posts"][&post_id]["metadata"]["reactions"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert!(history["posts"][&id(&other)].get("has_reactions").is_none());
    let (_, thread) = bob.get(&format!("/posts/{post_id}/thread")).await;
    assert_eq!(thread["posts"][&post_id]["has_reactions"], true);
    let since = post["update_at"].as_i64().unwrap();
    let (_, changed) = bob
        .get(&format!("/channels/{channel}/posts?since={since}"))
        .await;
    assert!(changed["order"]
        .as_array()
        .unwrap()
        .contains(&json!(post_id)));

    let (status, listed) = bob.get(&format!("/posts/{post_id}/reactions")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let (status, by_post) = bob
        .post("/posts/ids/reactions", json!([post_id, id(&other)]))
        .await;
    assert_eq!(status, StatusCode::OK, "{by_post}");
    assert_eq!(by_post[&post_id].as_array().unwrap().len(), 2);
    assert_eq!(by_post[&id(&other)], json!([]));

    // Removing: only one's own (admins any), once.
    assert_error(
        &alice
            .delete(&format!(
                "/users/{}/posts/{post_id}/reactions/+1",
                id(&bob_user)
            ))
            .await,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    let (status, body) = bob
        .delete(&format!("/users/me/posts/{post_id}/reactions/+1"))
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "OK"})));
    let event = alice_socket.next_event("reaction_removed").await;
    let removed = event_reaction(&event);
    assert_eq!(
        (removed["emoji_name"].as_str(), removed["user_id"].clone()),
        (Some("+1"), bob_user["id"].clone())
    );
    // Already gone: the outcome holds, so 200 (as Mattermost answers), and no event.
    let (status, _) = bob
        .delete(&format!("/users/me/posts/{post_id}/reactions/+1"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = admin
        .delete(&format!(
            "/users/{}/posts/{post_id}/reactions/white_check_mark",
            id(&alice_user)
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let event = alice_socket.next_event("reaction_removed").await;
    assert_eq!(event_reaction(&event)["emoji_name"], "white_check_mark");
    let (_, read) = bob.get(&format!("/posts/{post_id}")).await;
    assert!(read.get("has_reactions").is_none(), "{read}");
    assert!(read["metadata"].get("reactions").is_none(), "{read}");
    assert_eq!(server.count("reactions").await, 0);
    server.stop().await;
}

async fn reactions_are_refused_where_they_should_be(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (admin, _) = server.user("admin").await;
    let team = id(&admin.team("crew").await);
    let channel = id(&admin.channel(&team, "private", "P").await);
    let (bob, bob_user) = server.member(&admin, &team, "bob").await;
    let (carol, carol_user) = server.member(&admin, &team, "carol").await;
    admin.add_to_channel(&channel, &id(&bob_user)).await;
    let post_id = id(&bob.create_post(&channel, "members only").await);

    // Carol is not in the channel: she can neither react nor read reactions.
    let refused = carol
        .post("/reactions", reaction(&carol_user, &post_id, "smile"))
        .await;
    assert!(
        matches!(refused.0, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
        "{refused:?}"
    );
    assert!(carol
        .get(&format!("/posts/{post_id}/reactions"))
        .await
        .0
        .is_client_error());
    assert!(carol
        .post("/posts/ids/reactions", json!([post_id]))
        .await
        .0
        .is_client_error());
    // Bob reacts as himself only, with a real emoji.
    assert_error(
        &bob.post("/reactions", reaction(&carol_user, &post_id, "smile"))
            .await,
        StatusCode::FORBIDDEN,
        "api.reaction.save_reaction.user_id.app_error",
    );
    assert_error(
        &bob.post(
            "/reactions",
            reaction(&bob_user, &post_id, "not_an_emoji_at_all"),
        )
        .await,
        StatusCode::NOT_FOUND,
        "app.emoji.get_by_name.no_result",
    );
    assert_error(
        &bob.post("/reactions", reaction(&bob_user, &post_id, &"a".repeat(65)))
            .await,
        StatusCode::BAD_REQUEST,
        "api.reaction.save_reaction.invalid.app_error",
    );
    assert_error(
        &bob.post("/reactions", reaction(&bob_user, &post_id, "<script>"))
            .await,
        StatusCode::BAD_REQUEST,
        "model.reaction.is_valid.emoji_name.app_error",
    );
    assert_error(
        &bob.post("/reactions", reaction(&bob_user, "short", "smile"))
            .await,
        StatusCode::BAD_REQUEST,
        "api.reaction.save_reaction.invalid.app_error",
    );
    assert_error(
        &bob.post(
            "/reactions",
            reaction(&bob_user, &chorus_model::new_id(), "smile"),
        )
        .await,
        StatusCode::NOT_FOUND,
        "app.post.get.app_error",
    );
    // A deleted post takes no reactions.
    bob.delete(&format!("/posts/{post_id}")).await;
    assert_error(
        &bob.post("/reactions", reaction(&bob_user, &post_id, "smile"))
            .await,
        StatusCode::NOT_FOUND,
        "app.post.get.app_error",
    );
    assert_eq!(server.count("reactions").await, 0);
    server.stop().await;
}

async fn different_emoji_per_post_are_limited(backend: Backend) {
    let Some(server) = TestServer::start_with(backend, |config| {
        config.service_settings.unique_emoji_reaction_limit_per_post = 2;
    })
    .await
    else {
        return;
    };
    let (admin, admin_user) = server.user("admin").await;
    let team = id(&admin.team("crew").await);
    let channel = id(&admin.channel(&team, "town", "O").await);
    let (bob, bob_user) = server.member(&admin, &team, "bob").await;
    admin.add_to_channel(&channel, &id(&bob_user)).await;
    let post_id = id(&admin.create_post(&channel, "vote").await);
    for emoji in ["+1", "-1"] {
        let (status, _) = admin
            .post("/reactions", reaction(&admin_user, &post_id, emoji))
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    assert_error(
        &bob.post("/reactions", reaction(&bob_user, &post_id, "100"))
            .await,
        StatusCode::BAD_REQUEST,
        "app.reaction.save.save.too_many_reactions",
    );
    // An emoji already there is no new one.
    let (status, _) = bob
        .post("/reactions", reaction(&bob_user, &post_id, "-1"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(server.count("reactions").await, 3);
    server.stop().await;
}
