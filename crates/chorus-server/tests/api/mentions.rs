//! Mentions and unread counts: `@username`, `@channel`/`@all`, `@here` (online members
//! only) and direct messages raise the mentioned members' counts (root posts also
//! among root counts); the author and system messages never; reading a channel
//! clears them.

use crate::both_backends;
use crate::common::{assert_error, id, Backend, Endpoint, TestServer, Ws};
use reqwest::StatusCode;
use serde_json::{json, Value};

both_backends!(
    mentions_raise_counts_until_read,
    notify_props_decide_who_is_mentioned,
    marking_unread_recounts_from_a_post,
);

async fn marking_unread_recounts_from_a_post(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (alice, alice_user) = server.user("alice").await;
    let team_id = id(&alice.team("crew").await);
    let (bob, bob_user) = server.member(&alice, &team_id, "bob").await;
    let (carol, _) = server.member(&alice, &team_id, "carol").await;
    let channel_id = id(&alice.channel(&team_id, "plans", "O").await);
    alice.add_to_channel(&channel_id, &id(&bob_user)).await;
    alice.create_post(&channel_id, "hello").await;
    let mark = alice.create_post(&channel_id, "@bob look").await;
    alice.create_post(&channel_id, "more").await;
    let (status, _) = alice
        .post(
            "/posts",
            json!({"channel_id": channel_id, "root_id": mark["id"], "message": "@bob again"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    bob.post(
        "/channels/members/me/view",
        json!({"channel_id": channel_id}),
    )
    .await;
    assert_eq!(counts(&bob, &channel_id).await, (0, 0, 0));

    let mut bob_ws = Ws::ready(&server, bob.token()).await;
    let (status, state) = bob
        .post(
            &format!("/users/me/posts/{}/set_unread", id(&mark)),
            json!({"collapsed_threads_supported": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{state}");
    assert_eq!(
        state,
        json!({"team_id": team_id, "channel_id": channel_id, "msg_count": 3,
               "mention_count": 2, "mention_count_root": 1, "urgent_mention_count": 0,
               "msg_count_root": 2, "last_viewed_at": mark["create_at"].as_i64().unwrap() - 1})
    );
    let event = bob_ws.next_event("post_unread").await;
    assert_eq!(event["data"]["post_id"], mark["id"]);
    assert_eq!(event["data"]["mention_count"], 2);
    assert_eq!(counts(&bob, &channel_id).await, (2, 1, 3));
    let (_, teams) = bob.get("/users/me/teams/unread").await;
    assert_eq!(teams[0]["mention_count"], 2, "{teams}");
    // Reading clears it again.
    bob.post(
        "/channels/members/me/view",
        json!({"channel_id": channel_id}),
    )
    .await;
    assert_eq!(counts(&bob, &channel_id).await, (0, 0, 0));

    // Others' read state, channels one is not in, malformed posts: refused.
    let reply = bob
        .post(
            &format!("/users/{}/posts/{}/set_unread", id(&alice_user), id(&mark)),
            json!({}),
        )
        .await;
    assert_error(
        &reply,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    let reply = carol
        .post(
            &format!("/users/me/posts/{}/set_unread", id(&mark)),
            json!({}),
        )
        .await;
    assert_error(
        &reply,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    let reply = bob.post("/users/me/posts/nope/set_unread", json!({})).await;
    assert_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_url_param.app_error",
    );
    server.stop().await;
}

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

async fn notify_props_decide_who_is_mentioned(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (alice, _) = server.user("alice").await;
    let team_id = id(&alice.team("crew").await);
    let (bob, bob_user) = server.member(&alice, &team_id, "bob").await;
    let (carol, carol_user) = server.member(&alice, &team_id, "carol").await;
    let channel_id = id(&alice.channel(&team_id, "plans", "O").await);
    for user in [&bob_user, &carol_user] {
        alice.add_to_channel(&channel_id, &id(user)).await;
    }

    // Bob's own mention keys and first name; he turns channel-wide mentions off.
    let (status, patched) = bob
        .put(
            "/users/me/patch",
            json!({"first_name": "Bob", "notify_props": {
                "mention_keys": "Deploy, ,@OnCall", "first_name": "true", "channel": "false"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["notify_props"]["mention_keys"], "deploy,@oncall");
    assert_eq!(
        patched["notify_props"]["email"], "true",
        "defaults filled in"
    );
    let (_, seen_by_carol) = carol.get(&format!("/users/{}", id(&bob_user))).await;
    assert_eq!(seen_by_carol["notify_props"], json!({}), "private to bob");
    let refused = bob
        .put(
            "/users/me/patch",
            json!({"notify_props": {"channel": false}}),
        )
        .await;
    assert_error(
        &refused,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_body_param.app_error",
    );

    for (message, bob_count) in [
        ("the deploy is finished", 1),
        ("@oncall please look", 2),
        ("Bob, lunch?", 3),
        ("bob, lowercase is not his first name", 3),
        ("@channel standup", 3),
    ] {
        alice.create_post(&channel_id, message).await;
        assert_eq!(counts(&bob, &channel_id).await.0, bob_count, "{message}");
    }
    assert_eq!(
        counts(&carol, &channel_id).await.0,
        1,
        "carol hears @channel"
    );

    // Carol mutes the channel (an unknown key is dropped); @channel no longer reaches
    // her, a mention by name still counts, and the team does not count its messages.
    let mut carol_ws = Ws::ready(&server, carol.token()).await;
    let path = format!("/channels/{channel_id}/members/me/notify_props");
    let (status, body) = carol
        .put(&path, json!({"mark_unread": "mention", "made_up": "x"}))
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "OK"})));
    let updated = carol_ws.expect_event("channel_member_updated").await;
    let member: Value =
        serde_json::from_str(updated["data"]["channelMember"].as_str().unwrap()).unwrap();
    assert_eq!(member["notify_props"]["mark_unread"], "mention");
    assert_eq!(member["notify_props"]["desktop"], "default");
    assert!(member["notify_props"].get("made_up").is_none());
    alice.create_post(&channel_id, "@all hands").await;
    assert_eq!(counts(&carol, &channel_id).await.0, 1);
    alice.create_post(&channel_id, "@carol you too").await;
    assert_eq!(counts(&carol, &channel_id).await.0, 2);
    let (_, teams) = carol.get("/users/me/teams/unread").await;
    assert_eq!(teams[0]["msg_count"], 0, "{teams}");
    assert_eq!(teams[0]["mention_count"], 2, "{teams}");
    // Unmuted with ignore_channel_mentions off, @here (she is online) reaches her.
    let (status, _) = carol
        .put(
            &path,
            json!({"mark_unread": "all", "ignore_channel_mentions": "off"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    alice.create_post(&channel_id, "@here quick one").await;
    assert_eq!(counts(&carol, &channel_id).await.0, 3);

    // Bad values, other people's settings and non-members change nothing.
    for (body, error_id) in [
        (
            json!({"desktop": "loud"}),
            "model.channel_member.is_valid.notify_level.app_error",
        ),
        (
            json!({"mark_unread": "never"}),
            "model.channel_member.is_valid.unread_level.app_error",
        ),
        (
            json!({"push": "sometimes"}),
            "model.channel_member.is_valid.push_level.app_error",
        ),
        (
            json!({"email": "maybe"}),
            "model.channel_member.is_valid.email_value.app_error",
        ),
        (
            json!({"ignore_channel_mentions": "yes"}),
            "model.channel_member.is_valid.ignore_channel_mentions_value.app_error",
        ),
        (
            json!({"email": true}),
            "api.context.invalid_body_param.app_error",
        ),
    ] {
        let reply = carol.put(&path, body).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, error_id);
    }
    let other = bob
        .put(
            &format!(
                "/channels/{channel_id}/members/{}/notify_props",
                id(&carol_user)
            ),
            json!({"mark_unread": "mention"}),
        )
        .await;
    assert_error(
        &other,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    let private = id(&alice.channel(&team_id, "inner", "P").await);
    let outsider = carol
        .put(
            &format!("/channels/{private}/members/me/notify_props"),
            json!({"mark_unread": "mention"}),
        )
        .await;
    assert_error(
        &outsider,
        StatusCode::NOT_FOUND,
        "app.channel.get_member.missing.app_error",
    );
    let (_, members) = carol
        .get(&format!("/users/me/teams/{team_id}/channels/members"))
        .await;
    let mine = members
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["channel_id"] == json!(channel_id))
        .unwrap()
        .clone();
    assert_eq!(mine["notify_props"]["mark_unread"], "all");
    assert_eq!(mine["notify_props"]["ignore_channel_mentions"], "off");
    server.stop().await;
}
