//! Mentions and unread counts: `@username`, `@channel`/`@all`, `@here` (online members
//! only) and direct messages raise the mentioned members' counts (root posts also
//! among root counts); the author and system messages never; reading a channel
//! clears them.

use crate::both_backends;
use crate::common::{assert_error, id, Backend, Endpoint, TestServer, Ws};
use reqwest::StatusCode;
use serde_json::{json, Value};

both_backends!(mentions_raise_counts_until_read);

async fn unread(api: &crate::common::Api, channel_id: &str) -> Value {
    let (status, unread) = api
        .get(&format!("/users/me/channels/{channel_id}/unread"))
        .await;
    assert_eq!(status, StatusCode::OK, "{unread}");
    unread
}

/// `(mention_count, mention_count_root, msg_count)` of the caller in a channel.
async fn counts(api: &crate::common::Api, channel_id: &str) -> (i64, i64, i64) {
    let unread = unread(api, channel_id).await;
    (
        unread["mention_count"].as_i64().unwrap(),
        unread["mention_count_root"].as_i64().unwrap(),
        unread["msg_count"].as_i64().unwrap(),
    )
}

async fn mentions_raise_counts_until_read(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (alice, alice_user) = server.user("alice").await;
    let team_id = id(&alice.team("crew").await);
    let (bob, bob_user) = server.member(&alice, &team_id, "bob").await;
    let (carol, carol_user) = server.member(&alice, &team_id, "carol").await;
    let channel_id = id(&alice.channel(&team_id, "plans", "O").await);
    for user in [&bob_user, &carol_user] {
        alice.add_to_channel(&channel_id, &id(user)).await;
    }
    let (bob_id, carol_id) = (id(&bob_user), id(&carol_user));
    // Bob is online (a socket open), carol is not.
    let mut bob_ws = Ws::ready(&server, bob.token()).await;

    let root = alice.create_post(&channel_id, "hi @bob, see this").await;
    let posted = bob_ws.expect_event("posted").await;
    let mentions: Vec<String> =
        serde_json::from_str(posted["data"]["mentions"].as_str().unwrap()).unwrap();
    assert_eq!(mentions, vec![bob_id.clone()]);
    assert_eq!(counts(&bob, &channel_id).await, (1, 1, 1));
    assert_eq!(counts(&carol, &channel_id).await, (0, 0, 1));
    assert_eq!(
        counts(&alice, &channel_id).await.0,
        0,
        "no one mentions themselves"
    );

    // A reply counts a mention, not a root mention.
    let (status, _) = alice
        .post(
            "/posts",
            json!({"channel_id": channel_id, "root_id": root["id"], "message": "@bob again"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(counts(&bob, &channel_id).await, (2, 1, 2));
    let bob_unread = unread(&bob, &channel_id).await;
    assert_eq!(bob_unread["msg_count_root"], 1);
    assert_eq!(bob_unread["team_id"], json!(team_id));
    assert_eq!(bob_unread["urgent_mention_count"], 0);

    // @here: online members only; @channel and @all: everyone but the author.
    alice.create_post(&channel_id, "anyone @here?").await;
    assert_eq!(counts(&bob, &channel_id).await.0, 3);
    assert_eq!(counts(&carol, &channel_id).await.0, 0);
    alice.create_post(&channel_id, "@channel lunch").await;
    alice.create_post(&channel_id, "and @all.").await;
    assert_eq!(counts(&bob, &channel_id).await.0, 5);
    assert_eq!(counts(&carol, &channel_id).await.0, 2);

    // A system message naming someone mentions nobody.
    let (status, _) = alice
        .put(
            &format!("/channels/{channel_id}/patch"),
            json!({"header": "ask @carol"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(counts(&carol, &channel_id).await.0, 2);

    // Every message of a direct channel mentions the other member.
    let (_, direct) = alice
        .post("/channels/direct", json!([id(&alice_user), bob_id]))
        .await;
    let direct_id = id(&direct);
    alice.create_post(&direct_id, "just us").await;
    assert_eq!(counts(&bob, &direct_id).await, (1, 1, 1));

    // The team's unread sums its channels (direct channels belong to no team).
    let (_, teams) = bob.get("/users/me/teams/unread").await;
    let team = teams
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["team_id"] == json!(team_id))
        .unwrap()
        .clone();
    assert_eq!(team["mention_count"], 5);
    assert_eq!(team["mention_count_root"], 4);
    let (_, members) = bob
        .get(&format!("/users/me/teams/{team_id}/channels/members"))
        .await;
    let member = members
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["channel_id"] == json!(channel_id))
        .unwrap()
        .clone();
    assert_eq!(member["mention_count"], 5);
    assert_eq!(member["mention_count_root"], 4);

    // Reading clears them; the channel one comes from is marked read too.
    let (status, viewed) = bob
        .post(
            "/channels/members/me/view",
            json!({"channel_id": channel_id, "prev_channel_id": direct_id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{viewed}");
    assert!(
        viewed["last_viewed_at_times"][&channel_id]
            .as_i64()
            .unwrap()
            > 0
    );
    assert!(viewed["last_viewed_at_times"][&direct_id].as_i64().unwrap() > 0);
    let seen = bob_ws.expect_event("multiple_channels_viewed").await;
    assert!(seen["data"]["channel_times"][&channel_id]
        .as_i64()
        .is_some());
    assert_eq!(counts(&bob, &channel_id).await, (0, 0, 0));
    assert_eq!(unread(&bob, &channel_id).await["msg_count_root"], 0);
    assert_eq!(counts(&bob, &direct_id).await, (0, 0, 0));
    let (_, teams) = bob.get("/users/me/teams/unread").await;
    assert!(teams.to_string().contains("\"mention_count\":0"), "{teams}");

    // Only the user (or an admin) reads their counts, and only in their channels.
    let other = carol
        .get(&format!("/users/{bob_id}/channels/{channel_id}/unread"))
        .await;
    assert_error(
        &other,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    let outsider = carol
        .get(&format!("/users/{carol_id}/channels/{direct_id}/unread"))
        .await;
    assert_error(
        &outsider,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    let (status, _) = alice
        .get(&format!("/users/{bob_id}/channels/{channel_id}/unread"))
        .await;
    assert_eq!(status, StatusCode::OK, "the first user is an admin");
    server.stop().await;
}
