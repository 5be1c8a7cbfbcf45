//! Pinned and saved posts: any member pins a post (the channel sees it edited, not
//! marked edited), the pinned list and the channel's stats follow, and a user's saved
//! (flagged) posts are listed from the channels they may still read.

use crate::both_backends;
use crate::common::{assert_error, id, ids, Backend, Endpoint, TestServer, Ws};
use reqwest::StatusCode;
use serde_json::{json, Value};

both_backends!(members_pin_posts_and_list_them, saved_posts_are_listed,);

fn order(list: &Value) -> Vec<String> {
    serde_json::from_value(list["order"].clone()).unwrap()
}

async fn members_pin_posts_and_list_them(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (alice, _) = server.user("alice").await;
    let team_id = id(&alice.team("crew").await);
    let (bob, bob_user) = server.member(&alice, &team_id, "bob").await;
    let (carol, _) = server.member(&alice, &team_id, "carol").await;
    let channel_id = id(&alice.channel(&team_id, "plans", "O").await);
    alice.add_to_channel(&channel_id, &id(&bob_user)).await;
    let first = id(&alice.create_post(&channel_id, "first").await);
    let second = id(&alice.create_post(&channel_id, "second").await);
    let mut alice_ws = Ws::ready(&server, alice.token()).await;

    // Bob pins alice's post: any member may, and it is not an edit.
    let (status, ok) = bob.post(&format!("/posts/{first}/pin"), json!({})).await;
    assert_eq!((status, &ok), (StatusCode::OK, &json!({"status": "OK"})));
    let edited = alice_ws.next_event("post_edited").await;
    let post: Value = serde_json::from_str(edited["data"]["post"].as_str().unwrap()).unwrap();
    assert_eq!(post["id"], json!(first));
    assert_eq!(post["is_pinned"], true);
    assert_eq!(post["edit_at"], 0, "pinning is no edit: {post}");
    let (_, read) = alice.get(&format!("/posts/{first}")).await;
    assert_eq!(
        (read["is_pinned"].clone(), read["edit_at"].clone()),
        (json!(true), json!(0))
    );
    // Pinning twice changes nothing.
    let (status, _) = bob.post(&format!("/posts/{first}/pin"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    alice.post(&format!("/posts/{second}/pin"), json!({})).await;

    let (status, pinned) = bob.get(&format!("/channels/{channel_id}/pinned")).await;
    assert_eq!(status, StatusCode::OK, "{pinned}");
    assert_eq!(order(&pinned), vec![second.clone(), first.clone()]);
    assert_eq!(pinned["posts"][&first]["message"], "first");
    let (status, stats) = bob.get(&format!("/channels/{channel_id}/stats")).await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    assert_eq!(
        stats,
        json!({"channel_id": channel_id, "member_count": 2, "guest_count": 0,
               "pinnedpost_count": 2, "files_count": 0})
    );
    let (_, stats) = bob
        .get(&format!(
            "/channels/{channel_id}/stats?exclude_files_count=true"
        ))
        .await;
    assert_eq!(stats["files_count"], -1);

    // Unpinning and deleting take posts off the list.
    let (status, _) = alice
        .post(&format!("/posts/{second}/unpin"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, pinned) = bob.get(&format!("/channels/{channel_id}/pinned")).await;
    assert_eq!(order(&pinned), vec![first.clone()]);
    alice.delete(&format!("/posts/{first}")).await;
    let (_, pinned) = bob.get(&format!("/channels/{channel_id}/pinned")).await;
    assert!(order(&pinned).is_empty(), "{pinned}");
    let (_, stats) = bob.get(&format!("/channels/{channel_id}/stats")).await;
    assert_eq!(stats["pinnedpost_count"], 0);

    // Outsiders may not pin or look; deleted and malformed posts are refused.
    let reply = carol.post(&format!("/posts/{second}/pin"), json!({})).await;
    assert_error(
        &reply,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    let reply = carol.get(&format!("/channels/{channel_id}/pinned")).await;
    assert_error(
        &reply,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    let reply = bob.post(&format!("/posts/{first}/pin"), json!({})).await;
    assert_error(&reply, StatusCode::NOT_FOUND, "app.post.get.app_error");
    let reply = bob.post("/posts/nope/pin", json!({})).await;
    assert_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_url_param.app_error",
    );
    server.stop().await;
}

async fn saved_posts_are_listed(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (alice, alice_user) = server.user("alice").await;
    let team_id = id(&alice.team("crew").await);
    let (bob, bob_user) = server.member(&alice, &team_id, "bob").await;
    let bob_id = id(&bob_user);
    let plans = id(&alice.channel(&team_id, "plans", "O").await);
    let ideas = id(&alice.channel(&team_id, "ideas", "O").await);
    for channel in [&plans, &ideas] {
        alice.add_to_channel(channel, &bob_id).await;
    }
    let (_, direct) = alice
        .post("/channels/direct", json!([id(&alice_user), bob_id]))
        .await;
    let in_plans = id(&alice.create_post(&plans, "plan").await);
    let in_ideas = id(&alice.create_post(&ideas, "idea").await);
    let in_direct = id(&alice.create_post(&id(&direct), "psst").await);
    let not_saved = id(&alice.create_post(&plans, "noise").await);
    let flags: Vec<Value> = [&in_plans, &in_ideas, &in_direct]
        .iter()
        .map(|post| json!({"user_id": bob_id, "category": "flagged_post", "name": post, "value": "true"}))
        .collect();
    let (status, _) = bob.put("/users/me/preferences", json!(flags)).await;
    assert_eq!(status, StatusCode::OK);

    let (status, saved) = bob.get("/users/me/posts/flagged").await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(
        order(&saved),
        vec![in_direct.clone(), in_ideas.clone(), in_plans.clone()]
    );
    assert!(saved["posts"].get(&not_saved).is_none());
    // A team's saved posts take the direct channel's too; a channel's only its own.
    let (_, saved) = bob
        .get(&format!("/users/{bob_id}/posts/flagged?team_id={team_id}"))
        .await;
    assert_eq!(order(&saved).len(), 3);
    let (_, saved) = bob
        .get(&format!("/users/me/posts/flagged?channel_id={ideas}"))
        .await;
    assert_eq!(order(&saved), vec![in_ideas.clone()]);
    let (_, saved) = bob.get("/users/me/posts/flagged?per_page=1&page=1").await;
    assert_eq!(order(&saved), vec![in_ideas.clone()]);
    let other_team = id(&bob.team("elsewhere").await);
    let (_, saved) = bob
        .get(&format!("/users/me/posts/flagged?team_id={other_team}"))
        .await;
    assert_eq!(order(&saved), vec![in_direct.clone()]);

    // Leaving a channel hides its saved posts; deleting a post too.
    let (status, _) = bob
        .delete(&format!("/channels/{ideas}/members/{bob_id}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    alice.delete(&format!("/posts/{in_direct}")).await;
    let (_, saved) = bob.get("/users/me/posts/flagged").await;
    assert_eq!(order(&saved), vec![in_plans.clone()]);
    assert_eq!(
        ids(&json!(saved["posts"]
            .as_object()
            .unwrap()
            .values()
            .collect::<Vec<_>>())),
        vec![in_plans.clone()]
    );

    // Others' saved posts are private; bad ids are refused.
    let reply = alice.get(&format!("/users/{bob_id}/posts/flagged")).await;
    assert_eq!(
        reply.0,
        StatusCode::OK,
        "the first user is the system admin: {}",
        reply.1
    );
    let (carol, _) = server.member(&alice, &team_id, "carol").await;
    let reply = carol.get(&format!("/users/{bob_id}/posts/flagged")).await;
    assert_error(
        &reply,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    let reply = bob.get("/users/me/posts/flagged?team_id=bad").await;
    assert_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_url_param.app_error",
    );
    let reply = bob.get("/users/me/posts/flagged?page=-1").await;
    assert_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_url_param.app_error",
    );
    server.stop().await;
}
